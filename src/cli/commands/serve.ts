import { ALL_SETTINGS, flagOf, MEMORY_SETTINGS, readServerConfig, SERVER_SETTINGS, startServer, type SettingSpec } from '../../server/index.js';
import { CliUsageError, parseCommand, type Command } from '../args.js';
import { ProgressBar } from '../progress-bar.js';

const table = (specs: SettingSpec[]): string =>
  specs.map((s) => `  --${flagOf(s.env).padEnd(32)}${s.env.padEnd(32)}${s.help} (default: ${s.shown})`).join('\n');

const usage = `Usage: talk2me serve [options]

Starts the speech-to-text server: POST /transcribe, OpenAI-compatible /v1/audio/transcriptions and
/v1/audio/translations, /health, /ready, /metrics, /admin/* (with ADMIN_TOKEN), and the browser
client at /. Every option is also an environment variable; a flag wins over the variable.

Server:                           variable
${table(SERVER_SETTINGS)}

Memory management:
${table(MEMORY_SETTINGS)}

  -h, --help                        show this help
`;

export const serveCommand: Command = {
  name: 'serve',
  usage,
  async run(argv, io) {
    const options = Object.fromEntries(ALL_SETTINGS.map((s) => [flagOf(s.env), { type: 'string' as const }]));
    const parsed = parseCommand(argv, options, usage, io);
    if (!parsed) return;
    if (parsed.positionals.length > 0) throw new CliUsageError(`Unexpected argument "${parsed.positionals[0]}"`, usage);
    const values = parsed.values as Record<string, string | undefined>;
    const flags: Record<string, string> = {};
    for (const s of ALL_SETTINGS) {
      const value = values[flagOf(s.env)];
      if (value !== undefined) flags[s.env] = value;
    }
    const config = readServerConfig(process.env, flags);
    const server = await startServer(config, { handleSignals: true, download: (file) => new ProgressBar({ label: file }) });
    // Runs until a signal: the exit cleanup handler shuts the server down and exits 0.
    io.signal.addEventListener('abort', () => void server.shutdown('interrupted'), { once: true });
    await new Promise(() => undefined);
  },
};
