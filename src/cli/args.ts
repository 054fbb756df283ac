// Argument parsing shared by the commands: node's parseArgs, --help on every command, and usage
// errors that the entry point turns into exit code 1 with the command's usage.
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { invalidValue, Talk2meError } from '../shared/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type HelpOption = { help: { type: 'boolean'; short: 'h' } };
export type ParsedCommand<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O & HelpOption; allowPositionals: true; strict: true }>>;

export class CliUsageError extends Talk2meError<'USAGE'> {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super('USAGE', message);
  }
}

/** A command's code; its summary lives in commands/index.ts, which lists the commands without loading them. */
export interface Command {
  name: string;
  usage: string;
  run(argv: string[], io: CliIo): Promise<void>;
}

export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  signal: AbortSignal;
}

/** Parses `argv`; returns null when --help was asked for (the usage has been printed). */
export function parseCommand<O extends Options>(argv: string[], options: O, usage: string, io: CliIo): ParsedCommand<O> | null {
  let parsed: ParsedCommand<O>;
  try {
    const help: HelpOption = { help: { type: 'boolean', short: 'h' } };
    parsed = parseArgs({ args: argv, options: { ...options, ...help }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliUsageError((err as Error).message, usage);
  }
  if ((parsed.values as Record<string, unknown>).help) {
    io.stdout.write(usage);
    return null;
  }
  return parsed;
}

export function positiveInteger(name: string, value: string | undefined, usage: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliUsageError(invalidValue(`--${name}`, 'a positive integer', value), usage);
  return n;
}

export function nonNegativeInteger(name: string, value: string | undefined, usage: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new CliUsageError(invalidValue(`--${name}`, 'a non-negative integer', value), usage);
  return n;
}

/** A finite number above `min` (any finite number when `min` is -Infinity). */
export function numberAbove(name: string, value: string | undefined, min: number, usage: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= min) {
    throw new CliUsageError(invalidValue(`--${name}`, min === -Infinity ? 'a number' : `a number above ${min}`, value), usage);
  }
  return n;
}
