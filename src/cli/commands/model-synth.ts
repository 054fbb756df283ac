import { MODEL_DIMS, type ModelDimsName } from '../../model/dims.js';
import { writeSyntheticModel } from '../../model/synthetic.js';
import { CliUsageError, parseCommand, type Command } from '../args.js';
import { invalidValue } from '../../shared/errors.js';

const names = Object.keys(MODEL_DIMS) as ModelDimsName[];

const usage = `Usage: talk2me model synth OUT [--dims ${names.join('|')}] [--seed N]

Writes a synthetic whisper.cpp model: real dimensions, random weights. It runs exactly like a real
model (same memory, same speed) and knows no speech, so its transcripts are gibberish. It is for
offline smoke tests and benchmarks, never for real transcription.

Options:
      --dims NAME   tiny (tiny.en dimensions, ~78 MB, the default) or mini (width 64, 1 layer, ~8 MB)
      --seed N      seed of the weights (default 1): the same seed writes the same bytes
  -h, --help        show this help
`;

export const modelSynthCommand: Command = {
  name: 'synth',
  usage,
  async run(argv, io) {
    const parsed = parseCommand(argv, { dims: { type: 'string', default: 'tiny' }, seed: { type: 'string' } }, usage, io);
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
    const result = await writeSyntheticModel(out, { dims: dims as ModelDimsName, ...(seed !== undefined && { seed }) });
    io.stderr.write(`Wrote ${result.path} (${result.bytes} bytes, synthetic ${dims}: knows no speech)\n`);
  },
};
