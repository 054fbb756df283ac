// Headers every response carries, the page's and the API's, errors included: no content sniffing,
// no referrer, no framing, and a Content-Security-Policy that lets the page load its own script,
// style and recorded clips (blob: URLs) and nothing else.

/** What the page needs: its own files, `data:` for the empty favicon, blob: clips for playback, fetch to this origin. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': CONTENT_SECURITY_POLICY,
});
