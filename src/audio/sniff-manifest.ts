/**
 * Finds text manifests among uploads: playlists, concat scripts, session descriptions and XML
 * documents are not audio but lists of other things to open, and ffmpeg follows them (an HLS
 * playlist naming file:///etc/... makes it read a file of the server's). Uploads are refused on
 * sight, before ffmpeg starts; ffmpeg's own whitelists (ffmpeg.ts) hold should this miss one.
 */

/** How many leading bytes of an upload are searched for a manifest. */
export const MANIFEST_SNIFF_BYTES = 4096;

// What a manifest starts with, once a byte-order mark and leading white space are skipped; the
// text is lower-cased first. Real audio never starts with text like this.
const LEADING: ReadonlyArray<readonly [prefix: string, kind: string]> = [
  ['#ext', 'an M3U/HLS playlist'],
  ['ffconcat', 'an ffconcat script'],
  ['v=0', 'an SDP session description'],
  ['[playlist]', 'a PLS playlist'],
  ['[reference]', 'an ASF reference file'],
  ['<', 'an XML/HTML document (DASH, SMIL, ASX and the like)'],
];

// Markers that do not turn up by chance in audio, searched anywhere in the head of an upload whose
// container is not recognised, so a few junk bytes or UTF-16 in front of a manifest do not hide it.
// A recognised container (RIFF, Ogg, ID3...) is not searched: its metadata may quote any text, and
// ffmpeg reads it with that container's demuxer, which follows no links.
const ANYWHERE: ReadonlyArray<readonly [marker: RegExp, kind: string]> = [
  [/#extm3u|#ext-x-|#extinf:/, 'an M3U/HLS playlist'],
  [/ffconcat version/, 'an ffconcat script'],
  [/<\?xml[\s?]/, 'an XML document'],
  [/<mpd[\s>]/, 'a DASH manifest'],
  [/<smil[\s>]/, 'a SMIL document'],
  [/<asx[\s>]/, 'an ASX playlist'],
  [/\[playlist\]/, 'a PLS playlist'],
];

// UTF-8 and UTF-16 byte-order marks; UTF-16's NUL bytes are dropped by asciiView.
const BYTE_ORDER_MARKS = [Uint8Array.of(0xef, 0xbb, 0xbf), Uint8Array.of(0xff, 0xfe), Uint8Array.of(0xfe, 0xff)];

function withoutByteOrderMark(head: Uint8Array): Uint8Array {
  const mark = BYTE_ORDER_MARKS.find((bom) => bom.every((byte, i) => head[i] === byte));
  return mark ? head.subarray(mark.length) : head;
}

/**
 * The head as lower-case ASCII: NUL bytes dropped (so UTF-16 text reads like ASCII), other bytes
 * outside printable ASCII and white space turned into one placeholder that matches no marker.
 */
function asciiView(head: Uint8Array): string {
  let text = '';
  for (const byte of head) {
    if (byte === 0) continue;
    const printable = (byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a || byte === 0x0d;
    text += printable ? String.fromCharCode(byte).toLowerCase() : '\u0001';
  }
  return text;
}

/**
 * What kind of text manifest `head` (an upload's first bytes) is, or undefined when it is none.
 * `container` is what sniffContainer made of the same bytes.
 */
export function textManifestKind(head: Uint8Array, container: string): string | undefined {
  const start = asciiView(withoutByteOrderMark(head)).trimStart();
  const leading = LEADING.find(([prefix]) => start.startsWith(prefix));
  if (leading) return leading[1];
  if (container !== 'unknown') return undefined;
  const text = asciiView(head);
  return ANYWHERE.find(([marker]) => marker.test(text))?.[1];
}
