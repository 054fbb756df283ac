// Which container MediaRecorder writes. Opus first: made for speech, small, and decoded by the
// server's ffmpeg path; Chromium and Firefox write WebM or Ogg, Safari MP4.
export const RECORDING_TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4;codecs=opus', 'audio/webm', 'audio/mp4'] as const;

/** The first supported type, or '' to let the browser choose. */
export function pickMimeType(isTypeSupported: (type: string) => boolean): string {
  for (const type of RECORDING_TYPES) {
    try {
      if (isTypeSupported(type)) return type;
    } catch {
      // an old implementation that throws on parameters: try the next one
    }
  }
  return '';
}

/** A file extension for an upload's name (the server sniffs the bytes; the name is for the logs). */
export function extensionFor(mimeType: string): string {
  const type = mimeType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'audio/wav' || type === 'audio/x-wav' || type === 'audio/wave') return 'wav';
  if (type.endsWith('/ogg')) return 'ogg';
  if (type.endsWith('/mp4')) return 'm4a';
  return 'webm';
}
