/**
 * The soak's request mix for bench/http.ts: about 70% good requests and 30% bad ones, in an order
 * drawn from a seeded generator (the same every run). Each kind says what talk2me should answer;
 * anything else is counted and shown, and a 5xx fails the soak whatever the kind.
 *
 * Good:  /transcribe with the clip (with the client's session id, or none at all: a client that
 *        keeps no cookies, like the OpenAI SDK; those share the session of their address, so a
 *        third one at once is refused with 429), /v1/audio/transcriptions with the clip, and a
 *        large upload within MAX_UPLOAD_MB (a long clip: more audio decoded, more to transcribe).
 * Bad:   garbage bytes as the audio (goes to ffmpeg), a WAV cut short (the header promises more
 *        data), a WAV cut inside its header, no file field, a JSON body, a raw audio/wav body,
 *        a malformed multipart body, parameters out of range or unknown, an upload over
 *        MAX_UPLOAD_MB, a client that drops the connection half-way through its upload, and one
 *        that sends the long clip whole and hangs up while it is transcribed (the abort reaches
 *        whisper mid-decode).
 */
import { garbageBytes, seededRandom, truncatedWav } from './http-audio.js';
import { multipartRequest, type PreparedRequest } from './http-client.js';

export interface SoakAudio {
  /** The clip the good requests send. */
  clip: Buffer;
  /** A WAV larger than the server's MAX_UPLOAD_MB. */
  oversized: Buffer;
  /** A long WAV within MAX_UPLOAD_MB. */
  long: Buffer;
  /** How long after sending the long clip a client that gives up waits before hanging up. */
  hangUpAfterMs: number;
}

export interface SoakKind {
  name: string;
  /** Share of the requests, in percent. */
  percent: number;
  good: boolean;
  /** Statuses that are the right answer ("none": the client hung up, there is no answer). */
  expected: string;
  make(variant: number): PreparedRequest;
}

const WAV = 'audio/wav';

export function soakKinds(audio: SoakAudio, seed: number): SoakKind[] {
  const random = seededRandom(seed ^ 0x5eed);
  const garbage = garbageBytes(4096, random);
  const clipFile = (data: Buffer, filename = 'clip.wav', contentType = WAV) => ({ name: 'audio', filename, contentType, data });
  const badParams: Array<[string, Array<[string, string]>, 'audio' | 'file']> = [
    ['/v1/audio/transcriptions', [['model', 'whisper-1'], ['temperature', '5']], 'file'],
    ['/transcribe', [['language', 'not-a-language-code']], 'audio'],
    ['/transcribe', [['response_format', 'docx']], 'audio'],
    ['/transcribe', [['beam_size', '64']], 'audio'],
    ['/v1/audio/transcriptions', [['model', 'whisper-1'], ['prompt', 'x'.repeat(5000)]], 'file'],
    ['/v1/audio/transcriptions', [['model', 'whisper-1'], ['timestamp_granularities[]', 'word']], 'file'],
    ['/transcribe', [['language', 'en'], ['language', 'de']], 'audio'],
  ];
  return [
    {
      name: 'good /transcribe',
      percent: 47,
      good: true,
      expected: '200',
      make: () => multipartRequest('good /transcribe', '/transcribe', [['language', 'en']], [clipFile(audio.clip)]),
    },
    {
      name: 'good /transcribe, no session',
      percent: 8,
      good: true,
      expected: '200 or 429',
      make: () => ({ ...multipartRequest('good /transcribe, no session', '/transcribe', [['language', 'en']], [clipFile(audio.clip)]), anonymous: true }),
    },
    {
      name: 'good /v1/audio/transcriptions',
      percent: 12,
      good: true,
      expected: '200',
      make: () =>
        multipartRequest(
          'good /v1/audio/transcriptions',
          '/v1/audio/transcriptions',
          [['model', 'whisper-1'], ['language', 'en'], ['temperature', '0'], ['response_format', 'json']],
          [{ ...clipFile(audio.clip), name: 'file' }],
        ),
    },
    {
      name: 'good long clip (large upload)',
      percent: 3,
      good: true,
      expected: '200',
      make: () => multipartRequest('good long clip (large upload)', '/transcribe', [['language', 'en']], [clipFile(audio.long, 'long.wav')]),
    },
    {
      name: 'garbage bytes',
      percent: 4,
      good: false,
      expected: '400/415/422',
      make: () => multipartRequest('garbage bytes', '/transcribe', [], [clipFile(garbage, 'noise.bin', 'application/octet-stream')]),
    },
    {
      name: 'WAV cut short',
      percent: 3,
      good: false,
      expected: '200 or 400',
      make: () => multipartRequest('WAV cut short', '/transcribe', [], [clipFile(truncatedWav(audio.clip, 1000))]),
    },
    {
      name: 'WAV cut in its header',
      percent: 2,
      good: false,
      expected: '400/415/422',
      make: () => multipartRequest('WAV cut in its header', '/transcribe', [], [clipFile(truncatedWav(audio.clip, 30))]),
    },
    {
      name: 'no file field',
      percent: 4,
      good: false,
      expected: '400',
      make: () => multipartRequest('no file field', '/transcribe', [['language', 'en']], []),
    },
    {
      name: 'JSON body',
      percent: 2,
      good: false,
      expected: '415',
      make: () => ({
        kind: 'JSON body',
        path: '/transcribe',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ audio: audio.clip.subarray(0, 64).toString('base64') })),
      }),
    },
    {
      name: 'raw audio/wav body',
      percent: 2,
      good: false,
      expected: '415',
      make: () => ({ kind: 'raw audio/wav body', path: '/transcribe', headers: { 'content-type': WAV }, body: audio.clip }),
    },
    {
      name: 'malformed multipart',
      percent: 1,
      good: false,
      expected: '400',
      make: () => ({
        kind: 'malformed multipart',
        path: '/transcribe',
        headers: { 'content-type': 'multipart/form-data; boundary=nothing-like-this' },
        body: Buffer.concat([Buffer.from('--other\r\nContent-Disposition: form-data; name="audio"\r\n\r\n'), audio.clip.subarray(0, 2000)]),
      }),
    },
    {
      name: 'parameters out of range / unknown',
      percent: 6,
      good: false,
      expected: '400',
      make: (variant) => {
        const [path, fields, fileField] = badParams[variant % badParams.length] as (typeof badParams)[number];
        return multipartRequest('parameters out of range / unknown', path, fields, [{ ...clipFile(audio.clip), name: fileField }]);
      },
    },
    {
      name: 'upload over MAX_UPLOAD_MB',
      percent: 2,
      good: false,
      expected: '413',
      make: () => multipartRequest('upload over MAX_UPLOAD_MB', '/transcribe', [], [clipFile(audio.oversized)]),
    },
    {
      name: 'client hangs up mid-upload',
      percent: 2,
      good: false,
      expected: 'none',
      make: () => {
        const request = multipartRequest('client hangs up mid-upload', '/transcribe', [['language', 'en']], [clipFile(audio.clip)]);
        return { ...request, abortAfterBytes: Math.floor(request.body.length / 2) };
      },
    },
    {
      name: 'client hangs up mid-transcription',
      percent: 2,
      good: false,
      // An answer may still win the race when the server is quick or the line was short.
      expected: 'none or 200',
      make: () => ({ ...multipartRequest('client hangs up mid-transcription', '/transcribe', [['language', 'en']], [clipFile(audio.long, 'long.wav')]), abortAfterMs: audio.hangUpAfterMs }),
    },
  ];
}

/** Different variants a kind is asked for; each is built once and its body reused. */
const MAX_VARIANTS = 16;

/** `count` requests drawn from the kinds by their shares, in a seeded order. */
export function soakSchedule(kinds: readonly SoakKind[], count: number, seed: number): PreparedRequest[] {
  const random = seededRandom(seed);
  const total = kinds.reduce((sum, k) => sum + k.percent, 0);
  const variants = new Map<string, number>();
  const built = new Map<string, PreparedRequest>();
  const out: PreparedRequest[] = [];
  for (let i = 0; i < count; i++) {
    let pick = random() * total;
    let kind = kinds[kinds.length - 1] as SoakKind;
    for (const k of kinds) {
      if (pick < k.percent) {
        kind = k;
        break;
      }
      pick -= k.percent;
    }
    const variant = (variants.get(kind.name) ?? 0) % MAX_VARIANTS;
    variants.set(kind.name, variant + 1);
    const key = `${kind.name}#${variant}`;
    let request = built.get(key);
    if (request === undefined) {
      request = kind.make(variant);
      built.set(key, request);
    }
    out.push(request);
  }
  return out;
}
