// What a soak sends: good requests (WAV read by the server, .au through ffmpeg, the OpenAI route,
// streamed answers, clients without a session) and bad ones (garbage, damaged WAVs, the wrong
// content type, malformed forms, bad and unknown fields, uploads over the limit, unknown paths,
// clients that hang up mid-upload or mid-transcription), each with the answers that are right
// for it. The mix is drawn from a seeded generator, so two runs send the same requests in the same
// order.
import { garbageBytes, pcm16Au, pcm16Wav, seededRandom, silentWav, syllableTones, truncatedWav } from './audio.js';
import { multipartRequest, type FilePart, type SoakRequest } from './client.js';

export interface SoakKind {
  /** The name --mix uses. */
  name: string;
  summary: string;
  /** Share in the default mix, in percent. */
  weight: number;
  /** A request that should be transcribed: its latency is measured. */
  good: boolean;
  /** The statuses that are right for it. */
  expected: readonly number[];
  /** Whether no answer at all is right: the client hangs up on purpose (or the server closes on an oversized upload). */
  noAnswerOk: boolean;
  /** A new request for every index (its path changes); otherwise up to MAX_VARIANTS are built and reused. */
  fresh?: boolean;
  build(variant: number): SoakRequest;
}

export interface SoakAudio {
  /** Length of the clip the good requests send. */
  seconds: number;
  /** The server's MAX_UPLOAD_MB: the oversized upload is a little over it. */
  uploadLimitMb: number;
  seed: number;
}

const WAV = 'audio/wav';
/** Different bodies a kind is asked for at most; each is built once and reused. */
const MAX_VARIANTS = 16;

/** Every kind, in the order the help lists them; the weights add up to 100. */
export function soakKinds(audio: SoakAudio): SoakKind[] {
  const random = seededRandom(audio.seed ^ 0x5eed);
  const signal = syllableTones(audio.seconds);
  const wav = pcm16Wav(signal);
  const au = pcm16Au(signal);
  const garbage = garbageBytes(4096, random);
  let oversized: Buffer | undefined; // tens of MB against a deployment: built when first asked for
  const file = (data: Buffer, name = 'audio', filename = 'clip.wav', contentType = WAV): FilePart => ({ name, filename, contentType, data });
  const transcribe = (fields: Array<[string, string]>, part: FilePart): SoakRequest => multipartRequest('/transcribe', fields, [part]);
  const openai = (fields: Array<[string, string]>, part: FilePart = file(wav, 'file')): SoakRequest =>
    multipartRequest('/v1/audio/transcriptions', [['model', 'whisper-1'], ...fields], [part]);
  const badFields: Array<() => SoakRequest> = [
    () => transcribe([['no_such_field', '1']], file(wav)),
    () => openai([['temperature', '5']]),
    () => transcribe([['language', 'not-a-language-code']], file(wav)),
    () => transcribe([['response_format', 'docx']], file(wav)),
    () => openai([['prompt', 'x'.repeat(5000)]]),
    () => openai([['timestamp_granularities[]', 'word']]),
    () => transcribe([['language', 'en'], ['language', 'de']], file(wav)),
    () => openai([['stream', 'true'], ['response_format', 'srt']]),
  ];
  return [
    {
      name: 'wav',
      summary: 'POST /transcribe, a WAV the server reads itself',
      weight: 40,
      good: true,
      expected: [200],
      noAnswerOk: false,
      build: () => transcribe([['language', 'en']], file(wav)),
    },
    {
      name: 'openai',
      summary: 'POST /v1/audio/transcriptions, the same WAV',
      weight: 12,
      good: true,
      expected: [200],
      noAnswerOk: false,
      build: () => openai([['language', 'en'], ['response_format', 'json']]),
    },
    {
      name: 'anonymous',
      summary: 'the WAV without a session header (a client that keeps no cookies)',
      weight: 6,
      good: true,
      expected: [200],
      noAnswerOk: false,
      build: () => ({ ...transcribe([['language', 'en']], file(wav)), anonymous: true }),
    },
    {
      name: 'ffmpeg',
      summary: 'the clip as a Sun .au file: decoded through ffmpeg',
      weight: 8,
      good: true,
      expected: [200],
      noAnswerOk: false,
      build: () => transcribe([['language', 'en']], file(au, 'audio', 'clip.au', 'audio/basic')),
    },
    {
      name: 'stream',
      summary: 'the OpenAI route with stream=true (Server-Sent Events)',
      weight: 2,
      good: true,
      expected: [200],
      noAnswerOk: false,
      build: () => openai([['language', 'en'], ['stream', 'true']]),
    },
    {
      name: 'garbage',
      summary: 'random bytes as the audio (ffmpeg refuses them)',
      weight: 5,
      good: false,
      expected: [400, 415, 422],
      noAnswerOk: false,
      build: () => transcribe([], file(garbage, 'audio', 'noise.bin', 'application/octet-stream')),
    },
    {
      name: 'truncated',
      summary: 'a WAV cut short: its header promises more data',
      weight: 3,
      good: false,
      expected: [400],
      noAnswerOk: false,
      build: () => transcribe([], file(truncatedWav(wav, Math.floor(wav.length / 3)))),
    },
    {
      name: 'header-cut',
      summary: 'a WAV cut inside its header',
      weight: 2,
      good: false,
      expected: [400, 415, 422],
      noAnswerOk: false,
      build: () => transcribe([], file(truncatedWav(wav, 30))),
    },
    {
      name: 'no-file',
      summary: 'a form without the file field',
      weight: 2,
      good: false,
      expected: [400],
      noAnswerOk: false,
      build: () => multipartRequest('/transcribe', [['language', 'en']], []),
    },
    {
      name: 'json',
      summary: 'a JSON body instead of a form (wrong content type)',
      weight: 2,
      good: false,
      expected: [415],
      noAnswerOk: false,
      build: () => ({
        method: 'POST',
        path: '/transcribe',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ audio: wav.subarray(0, 64).toString('base64') })),
      }),
    },
    {
      name: 'raw-wav',
      summary: 'the WAV as the whole body, audio/wav (wrong content type)',
      weight: 2,
      good: false,
      expected: [415],
      noAnswerOk: false,
      build: () => ({ method: 'POST', path: '/transcribe', headers: { 'content-type': WAV }, body: wav }),
    },
    {
      name: 'malformed',
      summary: 'a multipart body whose boundary never comes',
      weight: 1,
      good: false,
      expected: [400],
      noAnswerOk: false,
      build: () => ({
        method: 'POST',
        path: '/transcribe',
        headers: { 'content-type': 'multipart/form-data; boundary=nothing-like-this' },
        body: Buffer.concat([Buffer.from('--other\r\nContent-Disposition: form-data; name="audio"\r\n\r\n'), wav.subarray(0, 2000)]),
      }),
    },
    {
      name: 'bad-params',
      summary: 'unknown, duplicated and out-of-range fields, in turn',
      weight: 4,
      good: false,
      expected: [400],
      noAnswerOk: false,
      build: (variant) => (badFields[variant % badFields.length] as () => SoakRequest)(),
    },
    {
      name: 'oversized',
      summary: 'an upload a little over the server\'s MAX_UPLOAD_MB (--upload-limit-mb)',
      weight: 2,
      good: false,
      expected: [413],
      // The server answers 413 and closes: a client still writing may see the reset first.
      noAnswerOk: true,
      build: () => {
        oversized ??= silentWav(Math.ceil((audio.uploadLimitMb * 1024 * 1024) / 2) + 16000);
        return transcribe([], file(oversized));
      },
    },
    {
      name: 'abort-upload',
      summary: 'the client hangs up half-way through its upload',
      weight: 3,
      good: false,
      expected: [],
      noAnswerOk: true,
      build: () => {
        const request = transcribe([['language', 'en']], file(wav));
        return { ...request, abortAfterBytes: Math.floor(request.body.length / 2) };
      },
    },
    {
      name: 'abort-transcription',
      summary: 'the client sends it all, then hangs up 0-60 ms later (mid-decode or mid-transcription)',
      weight: 3,
      good: false,
      // An answer that came before the client hung up is as right as none.
      expected: [200],
      noAnswerOk: true,
      build: (variant) => ({ ...transcribe([['language', 'en']], file(wav)), abortAfterSentMs: [0, 5, 15, 30, 60][variant % 5] as number }),
    },
    {
      name: 'unknown-path',
      summary: 'GET of a path that does not exist, a new one every time (a scanner)',
      weight: 3,
      good: false,
      expected: [404],
      noAnswerOk: false,
      fresh: true,
      build: (variant) => ({ method: 'GET', path: `/soak-no-such-page-${variant.toString(36)}`, headers: {}, body: Buffer.alloc(0) }),
    },
  ];
}

export const KIND_NAMES: readonly string[] = soakKinds({ seconds: 0, uploadLimitMb: 1, seed: 1 }).map((k) => k.name);

/** A kind and its share of this run. */
export interface MixEntry {
  kind: SoakKind;
  weight: number;
}

/**
 * The requests of a run as kind indices into `mix`, drawn by weight in a seeded order, and the
 * request each index sends (bodies built once per variant).
 */
export class SoakSchedule {
  readonly kindOf: Uint8Array;
  readonly #variantOf: Uint32Array;
  readonly #built = new Map<string, SoakRequest>();

  /**
   * `firstFresh`: where the numbers of fresh requests (new paths) start, so that a run after a
   * warm-up sends paths the warm-up did not.
   */
  constructor(
    readonly mix: readonly MixEntry[],
    count: number,
    seed: number,
    readonly firstFresh = 0,
  ) {
    const random = seededRandom(seed);
    const total = mix.reduce((sum, m) => sum + m.weight, 0);
    const seen = new Uint32Array(mix.length);
    this.kindOf = new Uint8Array(count);
    this.#variantOf = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      let pick = random() * total;
      let k = mix.length - 1;
      for (let j = 0; j < mix.length; j++) {
        const weight = (mix[j] as MixEntry).weight;
        if (pick < weight) {
          k = j;
          break;
        }
        pick -= weight;
      }
      this.kindOf[i] = k;
      this.#variantOf[i] = seen[k] as number;
      seen[k] = (seen[k] as number) + 1;
    }
  }

  get length(): number {
    return this.kindOf.length;
  }

  kind(index: number): SoakKind {
    return (this.mix[this.kindOf[index] as number] as MixEntry).kind;
  }

  request(index: number): SoakRequest {
    const kind = this.kind(index);
    const n = this.#variantOf[index] as number;
    if (kind.fresh) return kind.build(this.firstFresh + n);
    const variant = n % MAX_VARIANTS;
    const key = `${kind.name}#${variant}`;
    let request = this.#built.get(key);
    if (request === undefined) {
      request = kind.build(variant);
      this.#built.set(key, request);
    }
    return request;
  }
}
