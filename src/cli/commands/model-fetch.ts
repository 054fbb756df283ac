import { DEFAULT_MODEL_DIR, fetchModel, MODEL_BASE_URL_ENV } from '../../model/fetch.js';
import { knownModelNames } from '../../model/known-models.js';
import { ProgressBar } from '../progress-bar.js';
import { invalidValue } from '../../shared/errors.js';
import { CliUsageError, parseCommand, type Command } from '../args.js';

const usage = `Usage: talk2me model fetch NAME [--dir D] [--base-url URL] [--sha256 HEX] [--force]

Downloads ggml-NAME.bin (whisper.cpp's converted Whisper models) from Hugging Face, with a progress
bar. The file is written under a temporary name and renamed when complete; for known models its
SHA-256 is checked and a mismatch leaves nothing behind.

Known models: ${knownModelNames().join(', ')}

Options:
      --dir D          directory to write to (default: ${DEFAULT_MODEL_DIR})
      --base-url URL   a mirror to download from (also ${MODEL_BASE_URL_ENV})
      --sha256 HEX     the file's expected SHA-256, checked instead of the known one (a mirror's own build)
      --force          download even when a verified copy is already there
  -h, --help           show this help
`;

export const modelFetchCommand: Command = {
  name: 'fetch',
  usage,
  async run(argv, io) {
    const parsed = parseCommand(argv, { dir: { type: 'string' }, 'base-url': { type: 'string' }, sha256: { type: 'string' }, force: { type: 'boolean' } }, usage, io);
    if (!parsed) return;
    const values = parsed.values;
    const [name, ...extra] = parsed.positionals;
    if (!name) throw new CliUsageError('Expected a model NAME, e.g. tiny.en', usage);
    if (extra.length > 0) throw new CliUsageError(`Unexpected argument "${extra[0]}"`, usage);
    const sha256 = values.sha256?.toLowerCase();
    if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) throw new CliUsageError(invalidValue('--sha256', '64 hexadecimal digits', values.sha256), usage);
    const bar = new ProgressBar({ stream: io.stderr, label: `ggml-${name}.bin` });
    try {
      const result = await fetchModel(name, {
        ...(values.dir !== undefined && { dir: values.dir }),
        ...(values['base-url'] !== undefined && { baseUrl: values['base-url'] }),
        ...(sha256 !== undefined && { expectedSha256: sha256 }),
        ...(values.force === true && { force: true }),
        signal: io.signal,
        onProgress: bar.onProgress,
      });
      const how = result.skipped ? 'already present' : 'downloaded';
      bar.finish(`${result.path}: ${how}, ${result.verified ? 'SHA-256 verified' : 'not verified (no known checksum)'}`);
      io.stdout.write(`${result.path}\n`);
    } catch (err) {
      bar.fail('failed'); // the message itself is printed once, by the entry point
      throw err;
    }
  },
};
