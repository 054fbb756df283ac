// The two Dockerfiles read side by side: the CPU image is built and run in `npm run test:image`;
// the CUDA one cannot be built here (no cuBLAS, no GPU), so this holds it to the same runtime
// contract and checks what makes it a CUDA image.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { ALL_SETTINGS, DEFAULT_MODEL_PATH, readServerConfig } from '../../src/server/settings.js';
import { argsOf, envOf, execForm, finalStage, lastArgs, readDockerfile, stageNamed, type Dockerfile, type Stage } from './helpers/dockerfile.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cpu = readDockerfile(join(root, 'Dockerfile'));
const cuda = readDockerfile(join(root, 'Dockerfile.cuda'));
const images: Array<[string, Dockerfile]> = [
  ['Dockerfile', cpu],
  ['Dockerfile.cuda', cuda],
];

// What differs on purpose between the two runtime stages: the GPU for the NVIDIA Container Toolkit.
const GPU_ONLY_ENV = ['NVIDIA_VISIBLE_DEVICES', 'NVIDIA_DRIVER_CAPABILITIES'];
// The default stop grace of `docker stop` and `podman stop`, in seconds.
const RUNTIME_STOP_GRACE_S = 10;

/** What the image ships: COPY instructions of the runtime stage, sources and destinations. */
function shipped(stage: Stage): string[] {
  return argsOf(stage, 'COPY').filter((args) => !args.startsWith('--from=node'));
}

function runtimeEnv(file: Dockerfile): Map<string, string> {
  const env = envOf(finalStage(file));
  for (const name of GPU_ONLY_ENV) env.delete(name);
  return env;
}

/** Bare imports of src/: the packages the server loads at run time. */
function packagesImportedBySrc(): Set<string> {
  const found = new Set<string>();
  const visit = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) visit(path);
      else if (path.endsWith('.ts')) {
        for (const match of readFileSync(path, 'utf8').matchAll(/(?<![.\w])(?:(?:from|import)\s+|import\s*\(\s*)'([^'.][^']*)'/g)) {
          const specifier = match[1]!;
          if (specifier.startsWith('node:') || specifier.includes(':')) continue;
          const parts = specifier.split('/');
          found.add(specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
        }
      }
    }
  };
  visit(join(root, 'src'));
  return found;
}

describe('Dockerfile and Dockerfile.cuda', () => {
  it.each(images)('%s takes every base image from a build argument, so a local base can stand in', (_, file) => {
    for (const stage of file.stages) {
      const arg = /^\$\{(\w+)\}$/.exec(stage.from)?.[1];
      const isStage = file.stages.some((s) => s.name === stage.from);
      expect(arg !== undefined || isStage, `FROM ${stage.from}`).toBe(true);
      if (arg) expect(file.globalArgs.get(arg), `ARG ${arg} has a public default`).toMatch(/^docker\.io\//);
    }
  });

  it('agree on the runtime contract: user, volume, workdir, port, healthcheck, stop signal, entrypoint', () => {
    const [a, b] = [finalStage(cpu), finalStage(cuda)];
    for (const keyword of ['USER', 'VOLUME', 'WORKDIR', 'EXPOSE', 'HEALTHCHECK', 'STOPSIGNAL', 'ENTRYPOINT', 'CMD']) {
      expect(lastArgs(b, keyword), keyword).toBeDefined();
      expect(lastArgs(b, keyword), keyword).toBe(lastArgs(a, keyword));
    }
    expect(Object.fromEntries(runtimeEnv(cuda))).toEqual(Object.fromEntries(runtimeEnv(cpu)));
    expect(shipped(finalStage(cuda))).toEqual(shipped(finalStage(cpu)));
  });

  it.each(images)('%s runs as a fixed non-root UID that its runtime stage creates', (_, file) => {
    const stage = finalStage(file);
    expect(lastArgs(stage, 'USER')).toBe('10001:10001');
    const run = argsOf(stage, 'RUN').join('\n');
    expect(run).toMatch(/groupadd [^\n]*--gid 10001 talk2me/);
    expect(run).toMatch(/useradd [^\n]*--uid 10001 /);
    // The model volume is the user's; everything else stays root's.
    expect(run).toContain('chown talk2me:talk2me /app/models');
  });

  it.each(images)("%s: the model volume holds WHISPER_MODEL's default, so the first-run download lands in it", (_, file) => {
    const stage = finalStage(file);
    expect(execForm(lastArgs(stage, 'VOLUME'))).toEqual(['/app/models']);
    const workdir = lastArgs(stage, 'WORKDIR')!;
    expect(posix.dirname(posix.join(workdir, DEFAULT_MODEL_PATH))).toBe('/app/models');
    expect(envOf(stage).has('WHISPER_MODEL')).toBe(false);
  });

  it.each(images)('%s is configured by settings talk2me reads, with values it accepts', (_, file) => {
    const env = runtimeEnv(file);
    const known = new Set(ALL_SETTINGS.map((s) => s.env));
    for (const name of env.keys()) expect(known, `${name} is a setting`).toContain(name);
    const config = readServerConfig(Object.fromEntries(env));
    expect(config.host).toBe('0.0.0.0'); // reachable through a published port; the Host check is off
    expect(config.logFile).toBeNull(); // stdout only
    expect(lastArgs(finalStage(file), 'EXPOSE')).toBe(String(config.port));
    // Not ready for READY_DRAIN_S, then drained within SHUTDOWN_TIMEOUT_S: both before the runtime's SIGKILL.
    expect(config.readyDrainS + config.shutdownTimeoutS).toBeLessThan(RUNTIME_STOP_GRACE_S);
  });

  it.each(images)('%s stops by SIGTERM and starts `talk2me serve` as PID 1', (_, file) => {
    const stage = finalStage(file);
    expect(lastArgs(stage, 'STOPSIGNAL')).toBe('SIGTERM');
    expect(execForm(lastArgs(stage, 'ENTRYPOINT'))).toEqual(['node', 'dist/cli.js']);
    expect(execForm(lastArgs(stage, 'CMD'))).toEqual(['serve']);
  });

  it.each(images)('%s checks health with Node against /health (no curl in the image)', (_, file) => {
    const healthcheck = lastArgs(finalStage(file), 'HEALTHCHECK')!;
    const command = execForm(healthcheck.slice(healthcheck.indexOf('CMD ') + 4));
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    expect(command[2]).toContain("'/health'");
    expect(command[2]).toContain('process.env.PORT');
    expect(argsOf(finalStage(file), 'RUN').join('\n')).not.toMatch(/\bcurl\b|\bwget\b/);
  });

  it.each(images)('%s ships the runtime and nothing of the build: no compiler, only production packages', (_, file) => {
    const stage = finalStage(file);
    const install = argsOf(stage, 'RUN').find((r) => r.includes('apt-get install'))!;
    expect(install).toMatch(/\bffmpeg\b/);
    expect(install).toMatch(/\blibgomp1\b/);
    expect(install).not.toMatch(/\b(cmake|g\+\+|gcc|make|build-essential)\b/);
    const copies = shipped(stage).map((c) => c.split(/\s+/));
    const destinations = copies.map((c) => c.at(-1));
    expect(destinations).toEqual(['node_modules/', 'dist/', 'web/dist/', 'build/Release/', './']);
    expect(copies[0]![0]).toBe('--from=deps');
    // The server reads web/dist (WEB_ROOT) and build/Release/talk2me.node relative to /app.
    expect(readServerConfig({}).webRoot).toBe('web/dist');
  });

  it.each(images)('%s drops exactly the build-only packages: the rest are what src/ imports', (_, file) => {
    const deps = stageNamed(file, 'deps');
    const run = argsOf(deps, 'RUN').join(' ');
    expect(run).toContain('npm ci --omit=dev --ignore-scripts');
    const dropped = /npm uninstall (?:--\S+\s+)*([^&]+)/.exec(run)![1]!.trim().split(/\s+/);
    const dependencies = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
    const imported = packagesImportedBySrc();
    expect([...dropped].sort()).toEqual(dependencies.filter((d) => !imported.has(d)).sort());
    for (const name of imported) expect(dependencies, `${name} is a dependency`).toContain(name);
  });

  it.each(images)('%s builds the addon portably, in parallel, before the JavaScript', (_, file) => {
    const build = stageNamed(file, 'build');
    expect(envOf(build).get('TALK2ME_PORTABLE')).toBe('1');
    const runs = argsOf(build, 'RUN');
    const native = runs.findIndex((r) => r.includes('npm run build:native'));
    const js = runs.findIndex((r) => r === 'npm run build');
    expect(native).toBeGreaterThanOrEqual(0);
    expect(runs[native]).toContain('CMAKE_BUILD_PARALLEL_LEVEL');
    expect(js).toBeGreaterThan(native);
    expect(runs.find((r) => r.includes('npm ci'))).toContain('--ignore-scripts');
  });

  it('Dockerfile.cuda builds the CUDA backend on a CUDA devel image and runs on the matching runtime image', () => {
    const build = stageNamed(cuda, 'build');
    const env = envOf(build);
    expect(env.get('TALK2ME_CUDA')).toBe('1');
    // No GPU in a build: ggml cannot pick "native", so the architectures are named.
    expect(env.get('CMAKE_CUDA_ARCHITECTURES')).toBe('${CMAKE_CUDA_ARCHITECTURES}');
    expect(argsOf(build, 'ARG').find((a) => a.startsWith('CMAKE_CUDA_ARCHITECTURES='))).toMatch(/="\d+(;\d+)*"$/);
    expect(build.from).toBe('${CUDA_BUILD_BASE}');
    expect(finalStage(cuda).from).toBe('${CUDA_RUNTIME_BASE}');
    expect(cuda.globalArgs.get('CUDA_BUILD_BASE')).toBe('docker.io/nvidia/cuda:${CUDA_VERSION}-devel-ubuntu${UBUNTU_VERSION}');
    // The runtime flavour carries cudart and cuBLAS, which the addon links dynamically.
    expect(cuda.globalArgs.get('CUDA_RUNTIME_BASE')).toBe('docker.io/nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu${UBUNTU_VERSION}');
    const gpu = envOf(finalStage(cuda));
    expect(gpu.get('NVIDIA_VISIBLE_DEVICES')).toBe('all');
    expect(gpu.get('NVIDIA_DRIVER_CAPABILITIES')?.split(',')).toContain('compute');
    // Node comes onto the CUDA images from the Node image, at the path the CPU image has it.
    expect(shipped(finalStage(cuda)).length).toBe(argsOf(finalStage(cuda), 'COPY').length - 1);
    expect(argsOf(finalStage(cuda), 'COPY')).toContain('--from=node /usr/local/bin/node /usr/local/bin/node');
    expect(cpu.stages.some((s) => envOf(s).has('TALK2ME_CUDA'))).toBe(false);
  });

  it('.dockerignore keeps this checkout\'s builds out of the context, and every COPY source is in it', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const entry of ['node_modules', 'build', 'dist', 'vendor/whisper.cpp', 'web/dist', 'models', '.git']) expect(ignored).toContain(entry);
    for (const [name, file] of images) {
      for (const stage of file.stages) {
        for (const copy of argsOf(stage, 'COPY').filter((c) => !c.startsWith('--from='))) {
          for (const source of copy.split(/\s+/).slice(0, -1)) {
            const path = source.replace(/\/$/, '');
            expect(existsSync(join(root, path)), `${name}: COPY ${source}`).toBe(true);
            expect(ignored.some((entry) => path === entry || path.startsWith(`${entry}/`)), `${name}: ${source} is ignored`).toBe(false);
          }
        }
      }
    }
  });
});
