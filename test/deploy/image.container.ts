// `npm run test:image`: the CPU image (Dockerfile) built with podman and run for real. A synthetic
// model in the model volume, the port published; then what an operator relies on: /health, the
// image's HEALTHCHECK, a real transcription, the non-root user, JSON logs on stdout, nothing
// written as root, and `podman stop` (SIGTERM) draining a transcription in flight and exiting 0
// within the stop grace.
//
// Needs root, podman (runc where crun fails, see helpers/podman.ts) and, without
// TALK2ME_IMAGE_BASE, debootstrap for the local stand-in of the public base
// (scripts/container-base.sh). The image is kept, so a rerun reuses its layers.
import { spawn } from 'node:child_process';
import { chmod, chown, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeWav } from '../../src/audio/decode-wav.js';
import { buildWav } from '../audio/helpers/wav-builder.js';
import { freePort } from '../helpers/network.js';
import { tempDir } from '../helpers/temp-dir.js';
import { podman, podmanEnv, podmanOk } from './helpers/podman.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGE = process.env.TALK2ME_TEST_IMAGE ?? 'localhost/talk2me:image-test';
const BASE = process.env.TALK2ME_IMAGE_BASE ?? 'localhost/talk2me-node-base:bookworm';
const NAME = `talk2me-image-test-${process.pid}`;
const UID = 10001;
// docker stop's and podman stop's default; the image's SHUTDOWN_TIMEOUT_S drains within it.
const STOP_GRACE_S = 10;
const HELLO = join(root, 'samples', 'hello.wav');

/** hello.wav three times over (10 s): a transcription long enough to be caught in flight. */
async function longerClip(): Promise<Uint8Array> {
  const { pcm } = decodeWav(await readFile(HELLO));
  const tiled = new Float32Array(pcm.length * 3);
  for (let i = 0; i < 3; i++) tiled.set(pcm, i * pcm.length);
  return buildWav([tiled], { sampleRate: 16000, encoding: 'int', bitsPerSample: 16 });
}

let modelDir: Awaited<ReturnType<typeof tempDir>>;
let url = '';

function runScript(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [file], { env: podmanEnv(), stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited ${code}`))));
  });
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** POST a WAV to /transcribe as the README shows (multipart field `audio`). */
async function transcribe(wav: Uint8Array, base = url): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append('audio', new Blob([wav], { type: 'audio/wav' }), 'clip.wav');
  const response = await fetch(`${base}/transcribe`, { method: 'POST', body: form });
  return { status: response.status, body: await response.json() };
}

async function containerState(): Promise<{ running: boolean; exitCode: number }> {
  const out = await podmanOk(['inspect', NAME, '--format', '{{.State.Running}} {{.State.ExitCode}}']);
  const [running, exitCode] = out.trim().split(' ');
  return { running: running === 'true', exitCode: Number(exitCode) };
}

async function logLines(): Promise<{ stdout: any[]; stderr: string }> {
  const logs = await podman(['logs', NAME]);
  const lines = logs.stdout.split('\n').filter((l) => l.trim() !== '');
  return { stdout: lines.map((l) => JSON.parse(l)), stderr: logs.stderr };
}

beforeAll(async () => {
  // Rootful podman: the test gives the model directory to the image's UID, which needs root.
  if (process.getuid?.() !== 0) throw new Error('npm run test:image needs root (rootful podman, debootstrap, chown to the image UID)');
  const started = Date.now();
  if (!process.env.TALK2ME_IMAGE_BASE) await runScript(join(root, 'scripts', 'container-base.sh'));
  const baseReady = Date.now();
  // Overwritten by each run; kept after it, for a failed build's whole output.
  const log = join(tmpdir(), 'talk2me-image-build.log');
  // --format docker: the OCI format has no HEALTHCHECK. --network host: apt and npm reach their
  // registries the way this machine does.
  const build = await podman(
    ['build', '--format', 'docker', '--network', 'host', '--build-arg', `BASE=${BASE}`, '-t', IMAGE, '-f', join(root, 'Dockerfile'), root],
    { log },
  );
  if (build.code !== 0) {
    const tail = (await readFile(log, 'utf8')).split('\n').slice(-60).join('\n');
    throw new Error(`podman build failed (${log}):\n${tail}`);
  }
  console.log(`image test: base ${Math.round((baseReady - started) / 1000)} s, image build ${Math.round((Date.now() - baseReady) / 1000)} s (${log})`);

  // A bind-mounted model directory as an operator gives it: owned by the image's UID.
  modelDir = await tempDir('image-models');
  await chown(modelDir.path, UID, UID);
  await chmod(modelDir.path, 0o755);
}, 40 * 60_000);

afterAll(async () => {
  await podman(['rm', '--force', '--time', '0', NAME]);
  await modelDir?.remove();
});

describe('the CPU image', () => {
  it('carries the runtime contract in its config (docker format, so the HEALTHCHECK is kept)', async () => {
    const [image] = JSON.parse(await podmanOk(['image', 'inspect', IMAGE])) as any[];
    const config = image.Config;
    expect(config.User).toBe(`${UID}:${UID}`);
    expect(Object.keys(config.Volumes ?? {})).toEqual(['/app/models']);
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual(['5005/tcp']);
    expect(config.StopSignal).toBe('SIGTERM');
    expect(config.Entrypoint).toEqual(['node', 'dist/cli.js']);
    expect(config.Cmd).toEqual(['serve']);
    expect(config.Env).toEqual(expect.arrayContaining(['HOST=0.0.0.0', 'LOG_FILE=off']));
    expect(image.Healthcheck?.Test?.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
  });

  it('ships what runs and nothing of the build: no compiler, no dev or build-only packages, the app read-only to its user', async () => {
    const run = (script: string): Promise<string> => podmanOk(['run', '--rm', '--entrypoint', 'sh', IMAGE, '-c', script]);
    expect((await run('ls -A /app')).trim().split('\n')).toEqual(['build', 'dist', 'models', 'node_modules', 'package.json', 'web']);
    const packages = (await run('ls /app/node_modules')).trim().split('\n');
    expect(packages).toEqual(expect.arrayContaining(['fastify', 'pino', 'prom-client']));
    for (const name of ['nodejs-whisper', 'cmake-js', 'node-addon-api', 'typescript', 'vitest', 'esbuild', 'tsx']) expect(packages).not.toContain(name);
    expect(await run('for t in cmake gcc g++ make cc curl wget; do command -v "$t"; done; true')).toBe('');
    expect(await run('ffmpeg -hide_banner -version | head -n 1')).toMatch(/^ffmpeg version/);
    expect((await run('find /app -user 10001')).trim()).toBe('/app/models');
  });

  it("writes a synthetic model into the volume with the image's own CLI, as its user", async () => {
    await podmanOk(['run', '--rm', '-v', `${modelDir.path}:/app/models`, IMAGE, 'model', 'synth', '/app/models/mini.bin', '--dims', 'mini']);
    expect((await stat(join(modelDir.path, 'mini.bin'))).uid).toBe(UID);
  });

  it('serves /health through a published port (the Host check is off on 0.0.0.0)', async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    await podmanOk(['run', '--detach', '--name', NAME, '-p', `127.0.0.1:${port}:5005`, '-v', `${modelDir.path}:/app/models`, '-e', 'WHISPER_MODEL=/app/models/mini.bin', IMAGE]);
    const health = await waitFor('/health', 90_000, async () => {
      const response = await fetch(`${url}/health`);
      return response.status === 200 ? response : undefined;
    });
    expect(health.status).toBe(200);
    expect((await fetch(`${url}/ready`)).status).toBe(200);
  });

  // Without systemd (these machines) podman cannot schedule the periodic check and says so on
  // `podman run`; `podman healthcheck run` runs the image's check command once, as the timer would.
  it('passes its own HEALTHCHECK', async () => {
    const check = await podman(['healthcheck', 'run', NAME]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(await podmanOk(['inspect', NAME, '--format', '{{.State.Health.Status}}'])).toBe('healthy\n');
  });

  it('transcribes samples/hello.wav with real whisper.cpp inference', async () => {
    const { status, body } = await transcribe(await readFile(HELLO));
    expect(status).toBe(200);
    expect(typeof body.text).toBe('string');
    expect(body.segments.length).toBeGreaterThan(0);
    expect(body.duration_s).toBeCloseTo(3.37, 1);
  });

  it('runs the server as PID 1 under the non-root UID', async () => {
    const status = await podmanOk(['exec', NAME, 'cat', '/proc/1/status']);
    expect(/^Uid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/)).toEqual([`${UID}`, `${UID}`, `${UID}`, `${UID}`]);
    expect(/^Gid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/)).toEqual([`${UID}`, `${UID}`, `${UID}`, `${UID}`]);
    expect((await podmanOk(['exec', NAME, 'cat', '/proc/1/cmdline'])).split('\0').filter(Boolean)).toEqual(['node', 'dist/cli.js', 'serve']);
  });

  it('logs JSON lines on stdout and nothing on stderr', async () => {
    const { stdout, stderr } = await logLines();
    expect(stderr).toBe('');
    for (const line of stdout) {
      expect(typeof line.level).toBe('number');
      expect(typeof line.msg).toBe('string');
    }
    const listening = stdout.find((l) => l.msg === 'talk2me is listening');
    expect(listening?.url).toBe('http://0.0.0.0:5005');
    expect(stdout.some((l) => l.msg === 'request completed' && l.res?.statusCode === 200)).toBe(true);
  });

  it('writes nothing as root: every file it added is its own, in the container and in the volume', async () => {
    const diff = JSON.parse(await podmanOk(['diff', '--format', 'json', NAME])) as { added?: string[]; changed?: string[]; deleted?: string[] };
    const paths = [...(diff.added ?? []), ...(diff.changed ?? [])];
    expect(diff.added ?? []).toContain('/tmp/talk2me-uploads'); // UPLOAD_DIR, made by the server
    const owners = await podmanOk(['exec', NAME, 'stat', '-c', '%u %F %n', ...paths]);
    for (const line of owners.trim().split('\n')) {
      const [uid, ...rest] = line.split(' ');
      const path = rest.slice(-1)[0]!;
      const isChangedDir = (diff.changed ?? []).includes(path) && line.includes(' directory ');
      // A directory that existed (/tmp) changes because something was added in it; a file that
      // existed must not change, and whatever was added must be the server's.
      expect(isChangedDir || uid === String(UID), line).toBe(true);
    }
    for (const entry of await readdir(modelDir.path)) expect((await stat(join(modelDir.path, entry))).uid, entry).toBe(UID);
  });

  it(`stops on SIGTERM within ${STOP_GRACE_S} s with exit code 0, after finishing a transcription in flight`, async () => {
    const inflight = transcribe(await longerClip());
    await waitFor('a transcription in flight', 30_000, async () => {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      return /^talk2me_inflight_transcriptions(?:\{[^}]*\})? [1-9]/m.test(metrics) ? true : undefined;
    });
    const started = Date.now();
    const stop = await podman(['stop', '--time', String(STOP_GRACE_S), NAME]);
    const seconds = (Date.now() - started) / 1000;
    expect(stop.code).toBe(0);
    const answer = await inflight;
    expect(answer.status).toBe(200);
    expect(typeof answer.body.text).toBe('string');
    expect(await containerState()).toEqual({ running: false, exitCode: 0 });
    console.log(`image test: podman stop took ${seconds.toFixed(1)} s; the transcription in flight ${answer.body.processing_ms} ms`);
    expect(seconds).toBeLessThan(STOP_GRACE_S);
    const { stdout } = await logLines();
    expect(stdout.find((l) => l.msg?.startsWith('Shutting down'))?.inflight).toBe(1);
    // Drained, not cut off by SHUTDOWN_TIMEOUT_S (the test's keep-alive connections included).
    expect(stdout.filter((l) => l.msg?.startsWith('Shutdown timeout'))).toEqual([]);
    expect(stdout.at(-1)?.msg).toBe('Shut down');
  });
});

describe('the CPU image as deploy/kubernetes runs it', () => {
  // Read-only root file system, /tmp an emptyDir, the models at /models with WHISPER_MODEL naming one,
  // and a preStop `sleep` (deploy/kubernetes/base/deployment.yaml).
  const name = `${NAME}-readonly`;
  afterAll(async () => {
    await podman(['rm', '--force', '--time', '0', name]);
  });

  it('serves a transcription with a read-only root file system and stops with exit code 0', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    await podmanOk([
      'run', '--detach', '--name', name, '--read-only', '--tmpfs', '/tmp', '-p', `127.0.0.1:${port}:5005`,
      '-v', `${modelDir.path}:/models:ro`, '-e', 'WHISPER_MODEL=/models/mini.bin', IMAGE,
    ]);
    await waitFor('/health', 90_000, async () => ((await fetch(`${base}/health`)).status === 200 ? true : undefined));
    const { status, body } = await transcribe(await readFile(HELLO), base);
    expect(status).toBe(200);
    expect(typeof body.text).toBe('string');
    expect((await podman(['exec', name, 'sleep', '0'])).code).toBe(0);
    expect((await podman(['stop', '--time', String(STOP_GRACE_S), name])).code).toBe(0);
    expect(await podmanOk(['inspect', name, '--format', '{{.State.ExitCode}}'])).toBe('0\n');
  });
});

// The CUDA image needs NVIDIA's CUDA images and cuBLAS, which this machine lacks. What can be checked
// here is checked with the real builder: it reads Dockerfile.cuda, builds the stages that need no
// CUDA, and runs the build stage on the plain base up to the addon's build, which must then ask for
// the CUDA toolkit (TALK2ME_CUDA=1 reached it) rather than fail earlier.
describe('Dockerfile.cuda, as far as it builds without CUDA', () => {
  const cudaBuild = (target: string, extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    podman([
      'build', '--format', 'docker', '--network', 'host', '-f', join(root, 'Dockerfile.cuda'), '--target', target,
      '--build-arg', `NODE_IMAGE=${BASE}`, ...extra, '-t', `localhost/talk2me:cuda-check-${target}`, root,
    ]);

  it('builds its production dependencies as the CPU image does', async () => {
    const result = await cudaBuild('deps', []);
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    const packages = (await podmanOk(['run', '--rm', '--entrypoint', 'ls', 'localhost/talk2me:cuda-check-deps', '/app/node_modules'])).trim().split('\n');
    expect(packages).toContain('fastify');
    expect(packages).not.toContain('nodejs-whisper');
  }, 10 * 60_000);

  it('brings Node into the build stage and reaches the CUDA build, which wants nvcc', async () => {
    const result = await cudaBuild('build', ['--build-arg', `CUDA_BUILD_BASE=${BASE}`, '--build-arg', 'CMAKE_CUDA_ARCHITECTURES=90']);
    const output = result.stdout + result.stderr;
    expect(result.code).not.toBe(0);
    expect(output).toContain('TALK2ME_CUDA=1 needs the CUDA toolkit: nvcc is not on PATH.');
    expect(output).toMatch(/STEP \d+\/\d+: RUN CMAKE_BUILD_PARALLEL_LEVEL=.*npm run build:native/);
  }, 10 * 60_000);
});
