import { decodeAudioFile } from '../../audio/index.js';
import { MAX_BEAM_SIZE, WhisperModel } from '../../native/index.js';
import { formatTranscript, isTranscriptFormat, TRANSCRIPT_FORMATS } from '../../transcript/formats.js';
import { CliUsageError, parseCommand, positiveInteger, type Command } from '../args.js';
import { invalidValue } from '../../shared/errors.js';

const usage = `Usage: talk2me transcribe FILE --model PATH [options]

Transcribes an audio file. WAV is read natively; other formats need ffmpeg on PATH.

Options:
  -m, --model PATH        whisper.cpp ggml model (required), e.g. models/ggml-tiny.en.bin
  -f, --format FORMAT     ${TRANSCRIPT_FORMATS.join(' | ')} (default: text)
  -l, --language LANG     language code such as en, or auto (default: auto)
  -t, --threads N         threads for the transcription (default: min(4, cores))
      --translate         translate into English
      --prompt TEXT       initial prompt: names, spelling, style
      --beam-size N       beam search width, 1-${MAX_BEAM_SIZE} (default: 1, greedy)
  -h, --help              show this help
`;

export const transcribeCommand: Command = {
  name: 'transcribe',
  summary: 'transcribe an audio file',
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
    const audio = await decodeAudioFile(file, { signal: io.signal });
    await using model = await WhisperModel.load(modelPath, threads === undefined ? {} : { threads });
    const transcription = await model.transcribe(
      audio.pcm,
      {
        ...(values.language !== undefined && { language: values.language }),
        ...(values.translate === true && { translate: true }),
        ...(values.prompt !== undefined && { initialPrompt: values.prompt }),
        ...(beamSize !== undefined && { beamSize }),
      },
      { signal: io.signal },
    );
    io.stdout.write(formatTranscript(transcription, format));
  },
};
