/**
 * What the newer benchmarks share to talk to their user: a line on stdout, a positive integer
 * option, and the load average (printed with every figure taken on a shared machine).
 */
import { loadavg } from 'node:os';

export const log = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

export function positiveInt(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${String(text)}`);
  return n;
}

/** The 1, 5 and 15 minute load averages, e.g. "7.49 6.73 6.78". */
export const loadAverages = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
