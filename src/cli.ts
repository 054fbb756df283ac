#!/usr/bin/env node
// The talk2me command line. Exit codes: 0 done, 1 a clean error on stderr. Ctrl-C cancels the
// work in progress (downloads are cleaned up) and also exits 1, never by the signal.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { CliUsageError, type CliIo } from './cli/args.js';
import { MODEL_COMMANDS, TOP_COMMANDS, type CommandEntry } from './cli/commands/index.js';

// User Timing marks (free unless read): bench/cli.ts reads them to split the CLI's time.
performance.mark('talk2me:main');

const modelUsage = `Usage: talk2me model <command> [options]

Commands:
${Object.entries(MODEL_COMMANDS).map(([name, c]) => `  ${name.padEnd(12)}${c.summary}`).join('\n')}

Run \`talk2me model <command> --help\` for its options.
`;

const usage = `Usage: talk2me <command> [options]

Self-hosted speech-to-text over whisper.cpp.

Commands:
  serve         ${TOP_COMMANDS.serve.summary}
  transcribe    ${TOP_COMMANDS.transcribe.summary}
  model synth   ${MODEL_COMMANDS.synth.summary}
  model fetch   ${MODEL_COMMANDS.fetch.summary}
  soak          ${TOP_COMMANDS.soak.summary}

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
  if (name === 'serve' || name === 'transcribe' || name === 'soak') return run(TOP_COMMANDS[name], rest, io);
  if (name === 'model') {
    const [sub, ...subRest] = rest;
    if (sub === undefined || sub === '--help' || sub === '-h') {
      io.stdout.write(modelUsage);
      return;
    }
    if (sub !== 'synth' && sub !== 'fetch') throw new CliUsageError(`Unknown model command "${sub}"`, modelUsage);
    return run(MODEL_COMMANDS[sub], subRest, io);
  }
  throw new CliUsageError(`Unknown command "${name}"`, usage);
}

async function run(entry: CommandEntry, argv: string[], io: CliIo): Promise<void> {
  const command = await entry.load();
  performance.mark('talk2me:command-loaded');
  await command.run(argv, io);
  performance.mark('talk2me:done');
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

/** Resolves once everything written to `stream` before has been handed to the system. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

const exitCode = await main();
// Exit as soon as the work is done and the output is out, without waiting for Node to tear down:
// a finished command owns nothing the system does not clean up (transcribe leaves its model to it),
// and an idle keep-alive socket or timer of a library must not hold the prompt back.
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(exitCode);
