import { MODEL_DIMS, type ModelDimsName } from '../../model/dims.js';
import {
  SPEECHLIKE_SEGMENT_SECONDS,
  SPEECHLIKE_TOKENS_PER_SECOND,
  SPEECHLIKE_TOKENS_PER_SEGMENT,
  SPEECHLIKE_TOKENS_PER_WINDOW,
} from '../../model/speechlike.js';
import { SYNTHETIC_DECODERS, writeSyntheticModel, type SyntheticDecoder } from '../../model/synthetic.js';
import { CliUsageError, parseCommand, type Command } from '../args.js';
import { invalidValue } from '../../shared/errors.js';

const names = Object.keys(MODEL_DIMS) as ModelDimsName[];

const usage = `Usage: talk2me model synth OUT [--dims ${names.join('|')}] [--seed N] [--decoder ${SYNTHETIC_DECODERS.join('|')}]

Writes a synthetic whisper.cpp model: real dimensions, random weights. It runs exactly like a real
model (same memory, same speed) and knows no speech, so its transcripts are gibberish. It is for
offline smoke tests and benchmarks, never for real transcription.

Options:
      --dims NAME   tiny (tiny.en dimensions, ~78 MB, the default) or mini (width 64, 1 layer, ~8 MB)
      --seed N      seed of the weights (default 24301): the same seed writes the same bytes
      --decoder D   what the decoder does:
                      encoder-bound (default) all weights random: a token or two per 30 s
                        window, so the encoder is nearly all the work
                      speechlike  random words at ${SPEECHLIKE_TOKENS_PER_SECOND} text tokens per second of audio, like
                        speech: ${SPEECHLIKE_TOKENS_PER_SEGMENT} per started ${SPEECHLIKE_SEGMENT_SECONDS} s segment, with timestamps; the same
                        words in every 30 s window (all ${SPEECHLIKE_TOKENS_PER_WINDOW} of a window without timestamps)
  -h, --help        show this help
`;

export const modelSynthCommand: Command = {
  name: 'synth',
  usage,
  async run(argv, io) {
    const parsed = parseCommand(
      argv,
      { dims: { type: 'string', default: 'tiny' }, seed: { type: 'string' }, decoder: { type: 'string', default: 'encoder-bound' } },
      usage,
      io,
    );
    if (!parsed) return;
    const values = parsed.values;
    const [out, ...extra] = parsed.positionals;
    if (!out) throw new CliUsageError('Expected the OUT path', usage);
    if (extra.length > 0) throw new CliUsageError(`Unexpected argument "${extra[0]}"`, usage);
    const dims = values.dims;
    if (!(names as string[]).includes(dims)) throw new CliUsageError(invalidValue('--dims', names.join(' or '), dims), usage);
    let seed: number | undefined;
    if (values.seed !== undefined) {
      seed = Number(values.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new CliUsageError(invalidValue('--seed', 'a non-negative integer', values.seed), usage);
    }
    const decoder = values.decoder;
    if (!(SYNTHETIC_DECODERS as readonly string[]).includes(decoder)) {
      throw new CliUsageError(invalidValue('--decoder', SYNTHETIC_DECODERS.join(' or '), decoder), usage);
    }
    const result = await writeSyntheticModel(out, {
      dims: dims as ModelDimsName,
      decoder: decoder as SyntheticDecoder,
      ...(seed !== undefined && { seed }),
    });
    const load = decoder === 'speechlike' ? ', speech-like decoder' : '';
    io.stderr.write(`Wrote ${result.path} (${result.bytes} bytes, synthetic ${dims}${load}: knows no speech)\n`);
  },
};
