// Starts test/memory/helpers/registry-child.ts (a registry with exit cleanup installed) in its own Node process (through tsx) and follows it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const script = join(import.meta.dirname, 'registry-child.ts');

export type ChildMode = 'hold' | 'exit' | 'throw' | 'reject' | 'handoff' | 'stall';

export interface ChildReady {
  pid: number;
  paths: string[];
  startupSweep: { removed: number; keptLive: number };
}

export interface ChildEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RegistryChild {
  process: ChildProcess;
  /** Resolves with the READY line's content; rejects if the child ends first. */
  ready: Promise<ChildReady>;
  ended: Promise<ChildEnd>;
  /** Resolves once the child's stdout matches `pattern`. */
  printed(pattern: RegExp): Promise<RegExpExecArray>;
}

export function startRegistryChild(dir: string, mode: ChildMode): RegistryChild {
  const child = spawn(process.execPath, ['--import', 'tsx', script, dir, mode], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let onReady: (ready: ChildReady) => void = () => {};
  let onEarlyEnd: (err: Error) => void = () => {};
  const ready = new Promise<ChildReady>((resolve, reject) => {
    onReady = resolve;
    onEarlyEnd = reject;
  });
  const watchers: Array<() => void> = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const match = /^READY (.*)$/m.exec(stdout);
    if (match) onReady(JSON.parse(match[1] as string) as ChildReady);
    for (const watch of watchers) watch();
  });
  const printed = (pattern: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve) => {
      const watch = (): void => {
        const match = pattern.exec(stdout);
        if (match) resolve(match);
      };
      watchers.push(watch);
      watch();
    });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // A child that hangs fails its test instead of stalling the run.
  const backstop = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const ended = new Promise<ChildEnd>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(backstop);
      onEarlyEnd(new Error(`child ended before READY (code ${code}, signal ${signal})\nstdout: ${stdout}\nstderr: ${stderr}`));
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { process: child, ready, ended, printed };
}

/** The JSON lines the child logged on stderr. */
export function loggedLines(stderr: string): Array<{ level: string; msg?: string; [key: string]: unknown }> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg?: string });
}
