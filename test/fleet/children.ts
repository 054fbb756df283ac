// The fleet test's child processes (talk2me, HAProxy, Prometheus, Alertmanager): each in a process
// group of its own, its output kept for the failure message, and none outliving the test. A reaper
// process holds every group's id and kills the groups when its stdin closes, which happens however
// the test's process ends, SIGKILL and a crashed worker included, and then removes the test's
// temp directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

// Plain JavaScript for `node -e`: reads "+PGID" / "-PGID" lines and "dPATH" (a directory to remove);
// at end of input kills the groups left, then removes the directories.
const REAPER = `
const groups = new Set();
const dirs = [];
let rest = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (rest + chunk).split('\\n');
  rest = lines.pop();
  for (const line of lines) {
    if (line[0] === 'd') dirs.push(line.slice(1));
    else if (line[0] === '+') groups.add(Number(line.slice(1)));
    else groups.delete(Number(line.slice(1)));
  }
});
process.stdin.on('close', () => {
  for (const pgid of groups) {
    try { process.kill(-pgid, 'SIGKILL'); } catch {}
  }
  // Killed processes may still be writing into their directories for a moment.
  setTimeout(() => {
    for (const dir of dirs) require('node:fs').rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }, groups.size > 0 ? 500 : 0);
});
`;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  /** The last 64 KB of stdout and stderr together. */
  output(): string;
  /** Resolves once `text` appears in the output; rejects if the process exits first or after `timeoutMs`. */
  waitForOutput(text: string, timeoutMs: number): Promise<void>;
}

const OUTPUT_KEPT = 64 * 1024;

export class ChildGroup {
  readonly #children = new Set<Child>();
  #reaper: ChildProcess | null = null;
  readonly #onExit = (): void => this.killAllNow();

  constructor() {
    process.on('exit', this.#onExit);
  }

  #reaperStdin(): NodeJS.WritableStream {
    if (!this.#reaper) {
      this.#reaper = spawn(process.execPath, ['-e', REAPER], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
      this.#reaper.unref();
    }
    return this.#reaper.stdin!;
  }

  /** Starts `command` in a process group of its own. */
  start(name: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Child {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid === undefined) throw new Error(`${name}: ${command} could not be started`);
    const pid = child.pid;
    this.#reaperStdin().write(`+${pid}\n`);
    let output = '';
    const keep = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.length > 2 * OUTPUT_KEPT) output = output.slice(-OUTPUT_KEPT);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        // The group may still hold children of its own (none of ours fork, but be sure).
        killGroup(pid, 'SIGKILL');
        this.#reaper?.stdin?.write(`-${pid}\n`);
        this.#children.delete(entry);
        resolve({ code, signal });
      });
    });
    const entry: Child = {
      name,
      process: child,
      pid,
      exited,
      output: () => output.slice(-OUTPUT_KEPT),
      waitForOutput: (text, timeoutMs) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => done(new Error(`${name}: no "${text}" after ${timeoutMs} ms. Output:\n${entry.output()}`)), timeoutMs);
          const check = (): void => {
            if (output.includes(text)) done();
          };
          const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
            done(new Error(`${name} exited (code ${code}, signal ${signal}) before "${text}". Output:\n${entry.output()}`));
          function done(err?: Error): void {
            clearTimeout(timer);
            child.stdout!.off('data', check);
            child.stderr!.off('data', check);
            child.off('exit', onExit);
            if (err) reject(err);
            else resolve();
          }
          child.stdout!.on('data', check);
          child.stderr!.on('data', check);
          child.once('exit', onExit);
          check();
        }),
    };
    this.#children.add(entry);
    return entry;
  }

  /** Has `dir` removed after the processes, also when this process dies without its afterAll. */
  removeWithChildren(dir: string): void {
    this.#reaperStdin().write(`d${dir}\n`);
  }

  /** Kills every process group still running and waits for them; ends the reaper. */
  async stopAll(): Promise<void> {
    const running = [...this.#children];
    for (const child of running) killGroup(child.pid, 'SIGKILL');
    await Promise.all(running.map((child) => child.exited));
    this.#reaper?.stdin?.end();
    this.#reaper = null;
    process.off('exit', this.#onExit);
  }

  /** Synchronous, for the 'exit' event. */
  killAllNow(): void {
    for (const child of this.#children) killGroup(child.pid, 'SIGKILL');
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** Polls `condition` until it holds, failing after `timeoutMs` with `what` and `detail()`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs: number, everyMs = 50, detail?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await condition()) return;
    } catch {
      // not yet answering: try again
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${detail ? `\n${detail()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** The first of `names` found as an executable on PATH (Debian names some tools differently). */
export function onPath(...names: string[]): string {
  for (const name of names) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  throw new Error(`${names.join(' or ')} is not installed (Debian: apt-get install haproxy prometheus prometheus-alertmanager)`);
}
