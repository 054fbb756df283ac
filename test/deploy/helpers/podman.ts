// podman as the image test drives it. On these machines crun (podman's default runtime) fails and
// podman's default ulimits are refused (../shared/containers.md), so every call goes through runc
// with a containers.conf that sets none; PODMAN_RUNTIME='' keeps podman's own choice elsewhere.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const RUNC = '/usr/sbin/runc';

function runtimeArgs(): string[] {
  const runtime = process.env.PODMAN_RUNTIME ?? (existsSync(RUNC) ? RUNC : '');
  return runtime ? ['--runtime', runtime] : [];
}

let conf: string | undefined;
/** The environment podman runs with: CONTAINERS_CONF without default ulimits, unless one is given. */
export function podmanEnv(): NodeJS.ProcessEnv {
  if (process.env.CONTAINERS_CONF) return process.env;
  if (!conf) {
    // One fixed file, the same for every run, so reruns leave nothing behind.
    conf = join(tmpdir(), 'talk2me-podman-containers.conf');
    writeFileSync(conf, '[containers]\ndefault_ulimits = []\n');
  }
  return { ...process.env, CONTAINERS_CONF: conf };
}

/** Runs podman to the end and collects its output; never throws on a non-zero exit. */
export function podman(args: string[], options: { log?: string; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn('podman', [...runtimeArgs(), ...args], { env: podmanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const log = options.log ? createWriteStream(options.log) : undefined;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (log) log.write(chunk);
      else stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (log) log.write(chunk);
      else stderr += chunk.toString();
    });
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const finish = (): void => resolve({ code: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15), stdout, stderr });
      if (log) log.end(finish);
      else finish();
    });
  });
}

/** podman that must succeed: its stdout, or an error with what it printed. */
export async function podmanOk(args: string[], options: { timeoutMs?: number } = {}): Promise<string> {
  const result = await podman(args, options);
  if (result.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  return result.stdout;
}
