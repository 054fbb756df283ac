#!/usr/bin/env node
// The talk2me command line. Exit codes: 0 done, 1 a clean error on stderr. Ctrl-C cancels the
// work in progress (downloads are cleaned up) and also exits 1, never by the signal.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { modelFetchCommand } from './cli/commands/model-fetch.js';
import { modelSynthCommand } from './cli/commands/model-synth.js';
import { serveCommand } from './cli/commands/serve.js';
import { soakCommand } from './cli/commands/soak.js';
import { transcribeCommand } from './cli/commands/transcribe.js';
import { CliUsageError, type CliIo, type Command } from './cli/args.js';

const modelCommands: Command[] = [modelSynthCommand, modelFetchCommand];

const modelUsage = `Usage: talk2me model <command> [options]

Commands:
${modelCommands.map((c) => `  ${c.name.padEnd(12)}${c.summary}`).join('\n')}

Run \`talk2me model <command> --help\` for its options.
`;

const usage = `Usage: talk2me <command> [options]

Self-hosted speech-to-text over whisper.cpp.

Commands:
  serve         ${serveCommand.summary}
  transcribe    ${transcribeCommand.summary}
  model synth   ${modelSynthCommand.summary}
  model fetch   ${modelFetchCommand.summary}
  soak          ${soakCommand.summary}

Run \`talk2me <command> --help\` for its options; \`talk2me --version\` prints the version.
`;

/** The version of the installed package (dist/ and src/ both sit next to package.json). */
function version(): string {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

async function dispatch(argv: string[], io: CliIo): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage);
    return;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    io.stdout.write(`talk2me ${version()}\n`);
    return;
  }
  if (name === 'serve') return serveCommand.run(rest, io);
  if (name === 'transcribe') return transcribeCommand.run(rest, io);
  if (name === 'soak') return soakCommand.run(rest, io);
  if (name === 'model') {
    const [sub, ...subRest] = rest;
    if (sub === undefined || sub === '--help' || sub === '-h') {
      io.stdout.write(modelUsage);
      return;
    }
    const command = modelCommands.find((c) => c.name === sub);
    if (!command) throw new CliUsageError(`Unknown model command "${sub}"`, modelUsage);
    return command.run(subRest, io);
  }
  throw new CliUsageError(`Unknown command "${name}"`, usage);
}

async function main(): Promise<number> {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(1); // a second Ctrl-C: stop waiting for clean-up
    process.stderr.write('\nInterrupted; cleaning up...\n');
    controller.abort();
  };
  // `serve` installs its own handlers: a graceful shutdown that exits 0.
  const ownSignals = process.argv[2] !== 'serve';
  if (ownSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, signal: controller.signal };
  try {
    await dispatch(process.argv.slice(2), io);
    return controller.signal.aborted ? 1 : 0;
  } catch (err) {
    if (err instanceof CliUsageError) {
      process.stderr.write(`talk2me: ${err.message}\n\n${err.usage}`);
    } else {
      const code = (err as { code?: unknown }).code;
      const modelPath = (err as { modelPath?: unknown }).modelPath;
      const message = `${err instanceof Error ? err.message : String(err)}${typeof modelPath === 'string' ? ` (${modelPath})` : ''}`;
      process.stderr.write(`talk2me: ${message}${typeof code === 'string' ? ` [${code}]` : ''}\n`);
      if (process.env.TALK2ME_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    }
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await main();
