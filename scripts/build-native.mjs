#!/usr/bin/env node
// Builds build/Release/talk2me.node: lays out the pinned whisper.cpp source, checks the tools the
// build needs and names what is missing, then runs cmake-js. `npm install` runs this.
//
//   TALK2ME_WHISPER_DIR=/path/to/whisper.cpp   build against your own checkout (see vendor/prepare.mjs)
//   TALK2ME_CUDA=1                             build ggml's CUDA backend (needs the CUDA toolkit with cuBLAS)
//   CMAKE_CUDA_ARCHITECTURES=90                the GPU architectures to compile for, with TALK2ME_CUDA=1
//   TALK2ME_PORTABLE=1                         compile ggml for any x86-64 with AVX2 rather than this CPU (images)
//   TALK2ME_BUILD_TYPE=Debug                   a debug build (default Release)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function fail(lines) {
  console.error(['', 'talk2me: the native addon cannot be built.', ...lines.map((l) => `  ${l}`), ''].join('\n'));
  process.exit(1);
}

function versionOf(command, args = ['--version']) {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error || result.status !== 0) return null;
  return result.stdout.split('\n')[0].trim();
}

function checkTools() {
  const missing = [];
  const cmake = versionOf('cmake');
  if (!cmake) missing.push('cmake (3.18 or newer) is not on PATH: install it, e.g. `apt-get install cmake` or `brew install cmake`.');
  const cxx = process.env.CXX || 'c++';
  if (!versionOf(cxx)) missing.push(`no C++ compiler (${cxx}) on PATH: install g++ or clang, e.g. \`apt-get install build-essential\`.`);
  if (process.env.TALK2ME_CUDA === '1' && !versionOf('nvcc')) {
    missing.push('TALK2ME_CUDA=1 needs the CUDA toolkit: nvcc is not on PATH.');
  }
  if (missing.length > 0) fail(missing);
}

function prepareSource() {
  const result = spawnSync(process.execPath, [join(root, 'vendor', 'prepare.mjs')], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function cmakeJsArgs() {
  const args = ['compile', '--log-level', 'warn'];
  if (process.env.TALK2ME_BUILD_TYPE === 'Debug') args.push('--debug');
  // ggml compiles for the building CPU (-march=native) by default; an image built on one machine
  // and run on another could then die of an illegal instruction.
  if (process.env.TALK2ME_PORTABLE === '1') args.push('--CDGGML_NATIVE=OFF');
  if (process.env.TALK2ME_CUDA === '1') {
    args.push('--CDTALK2ME_CUDA=ON');
    if (process.env.CMAKE_CUDA_ARCHITECTURES) args.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.CMAKE_CUDA_ARCHITECTURES}`);
  }
  return args;
}

function build() {
  const require = createRequire(import.meta.url);
  let cli;
  try {
    cli = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  } catch {
    fail(['cmake-js is not installed: run `npm install` in the repository.']);
  }
  console.log('talk2me: building the native addon (whisper.cpp + ggml, a few minutes the first time)...');
  const result = spawnSync(process.execPath, [cli, ...cmakeJsArgs()], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    fail([
      'cmake-js failed; the compiler output is above.',
      'Run `npm run build:native` to try again after fixing it.',
    ]);
  }
  const addon = join(root, 'build', process.env.TALK2ME_BUILD_TYPE === 'Debug' ? 'Debug' : 'Release', 'talk2me.node');
  if (!existsSync(addon)) fail([`the build finished but ${addon} is missing.`]);
  console.log(`talk2me: built ${addon}`);
}

checkTools();
prepareSource();
build();
