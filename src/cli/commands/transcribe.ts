import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

import { AudioDecodeError, decodeAudioFile, type DecodedAudio } from '../../audio/index.js';
import { MAX_BEAM_SIZE, WhisperModel } from '../../native/index.js';
import { formatTranscript, isTranscriptFormat, TRANSCRIPT_FORMATS } from '../../transcript/formats.js';
import { CliUsageError, parseCommand, positiveInteger, type CliIo, type Command } from '../args.js';
import { ProgressBar } from '../progress-bar.js';
import { invalidValue } from '../../shared/errors.js';

const usage = `Usage: talk2me transcribe FILE --model PATH [options]

Transcribes an audio file (FILE - reads it from standard input). WAV is read natively; other
formats need ffmpeg on PATH. Progress goes to standard error: a bar on a terminal, a line every
tenth of the way otherwise.

Options:
  -m, --model PATH        whisper.cpp ggml model (required), e.g. models/ggml-tiny.en.bin
  -f, --format FORMAT     ${TRANSCRIPT_FORMATS.join(' | ')} (default: text)
  -l, --language LANG     language code such as en, or auto (default: auto)
  -t, --threads N         threads for the transcription (default: min(4, cores))
      --translate         translate into English
      --prompt TEXT       initial prompt: names, spelling, style
      --beam-size N       beam search width, 1-${MAX_BEAM_SIZE} (default: 1, greedy)
  -q, --quiet             no progress on standard error
  -h, --help              show this help

Decoding: greedy (one candidate), temperature 0, and whisper's fallback to higher temperatures
(steps of 0.2) for a window that fails its quality thresholds; flash attention on. With --language
auto a multilingual model spends one more encoder pass detecting the language (English-only .en
models skip it): name the language when you know it.
`;

// Standard input is spooled to a private temporary file first: a container may need seeking (MP4
// keeps its index at the end), and the WAV and ffmpeg paths both read files.
async function decodeStdin(io: CliIo): Promise<DecodedAudio> {
  const dir = await mkdtemp(join(tmpdir(), 'talk2me-stdin-'));
  try {
    const path = join(dir, 'input');
    await pipeline(io.stdin, createWriteStream(path, { mode: 0o600 }), { signal: io.signal });
    return await decodeAudioFile(path, { signal: io.signal }).catch((err: unknown) => {
      if (err instanceof AudioDecodeError) throw new AudioDecodeError(err.code, err.message.replaceAll(path, 'standard input'), { cause: err });
      throw err;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const transcribeCommand: Command = {
  name: 'transcribe',
  usage,
  async run(argv, io) {
    const parsed = parseCommand(
      argv,
      {
        model: { type: 'string', short: 'm' },
        format: { type: 'string', short: 'f', default: 'text' },
        language: { type: 'string', short: 'l' },
        threads: { type: 'string', short: 't' },
        translate: { type: 'boolean' },
        prompt: { type: 'string' },
        'beam-size': { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
      },
      usage,
      io,
    );
    if (!parsed) return;
    const values = parsed.values;
    const [file, ...extra] = parsed.positionals;
    if (!file) throw new CliUsageError('Expected an audio FILE', usage);
    if (extra.length > 0) throw new CliUsageError(`Unexpected argument "${extra[0]}"`, usage);
    const modelPath = values.model;
    if (!modelPath) throw new CliUsageError('Expected --model PATH', usage);
    const format = values.format;
    if (!isTranscriptFormat(format)) throw new CliUsageError(invalidValue('--format', TRANSCRIPT_FORMATS.join(', '), format), usage);
    const threads = positiveInteger('threads', values.threads, usage);
    const beamSize = positiveInteger('beam-size', values['beam-size'], usage);

    // Decode first: a bad audio file should not cost a model load.
    const audio = file === '-' ? await decodeStdin(io) : await decodeAudioFile(file, { signal: io.signal });
    performance.mark('talk2me:audio-decoded'); // bench/cli.ts splits the time by these marks
    // Not disposed: the entry point exits as soon as the output is out, and the system takes
    // the memory back faster than whisper_free and malloc_trim would (bench/cli-exit.ts).
    const model = await WhisperModel.load(modelPath, threads === undefined ? {} : { threads });
    performance.mark('talk2me:model-loaded');
    const bar = values.quiet === true ? undefined : new ProgressBar({ stream: io.stderr, label: 'transcribing', unit: 'percent' });
    let transcription;
    try {
      transcription = await model.transcribe(
        audio.pcm,
        {
          ...(values.language !== undefined && { language: values.language }),
          ...(values.translate === true && { translate: true }),
          ...(values.prompt !== undefined && { initialPrompt: values.prompt }),
          ...(beamSize !== undefined && { beamSize }),
        },
        { signal: io.signal, ...(bar && { onProgress: bar.onPercent }) },
      );
    } catch (err) {
      // The error itself is reported by the CLI; the bar only ends its line.
      bar?.fail('stopped');
      throw err;
    }
    performance.mark('talk2me:transcribed');
    bar?.finish();
    io.stdout.write(formatTranscript(transcription, format));
    performance.mark('talk2me:written');
  },
};
