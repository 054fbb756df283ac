#!/usr/bin/env node
// Lays out the pinned whisper.cpp source for the native build.
//
// The source comes from the npm package nodejs-whisper (pinned at exactly 0.3.1 in package.json),
// which ships whisper.cpp's upstream tree, CMake files included, under cpp/whisper.cpp. We copy only
// what the build needs (the library, ggml, and the two example programs the benchmarks compare
// against) into vendor/whisper.cpp, which git ignores, and refuse a tree whose version is not the pin.
//
// TALK2ME_WHISPER_DIR=/path/to/whisper.cpp builds against your own checkout instead: nothing is
// copied, the version is reported, and a mismatch is a warning rather than an error.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PINNED_VERSION = '1.9.1';
const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, 'whisper.cpp');
const stampFile = join(target, '.talk2me-vendor.json');

// Paths inside the upstream tree that the build reads. examples/ is partial: whisper.cpp's
// examples/CMakeLists.txt adds these subdirectories unconditionally on a desktop build.
const NEEDED = [
  'CMakeLists.txt',
  'LICENSE',
  'cmake',
  'include',
  'src',
  'ggml/CMakeLists.txt',
  'ggml/cmake',
  'ggml/include',
  'ggml/src',
  'examples/CMakeLists.txt',
  'examples/common.h',
  'examples/common.cpp',
  'examples/common-ggml.h',
  'examples/common-ggml.cpp',
  'examples/common-whisper.h',
  'examples/common-whisper.cpp',
  'examples/grammar-parser.h',
  'examples/grammar-parser.cpp',
  'examples/json.hpp',
  'examples/miniaudio.h',
  'examples/stb_vorbis.c',
  'examples/cli',
  'examples/bench',
  'examples/server',
  'examples/quantize',
  'examples/vad-speech-segments',
  'examples/parakeet-cli',
  'examples/parakeet-quantize',
  'examples/deprecation-warning',
];

/** Reads `project("whisper.cpp" VERSION x.y.z)` from a tree's top CMakeLists.txt. */
export function readWhisperVersion(dir) {
  const cmake = join(dir, 'CMakeLists.txt');
  if (!existsSync(cmake)) return null;
  const match = /project\("whisper\.cpp"\s+VERSION\s+([0-9.]+)\)/.exec(readFileSync(cmake, 'utf8'));
  return match ? match[1] : null;
}

function fail(message) {
  console.error(`talk2me: ${message}`);
  process.exit(1);
}

function findPackagedSource() {
  const require = createRequire(import.meta.url);
  let pkgJson;
  try {
    pkgJson = require.resolve('nodejs-whisper/package.json');
  } catch {
    fail('the npm package nodejs-whisper@0.3.1 (the pinned whisper.cpp source) is not installed; run `npm install`.');
  }
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8'));
  if (pkg.version !== '0.3.1') {
    fail(`expected nodejs-whisper 0.3.1 for the whisper.cpp pin but found ${pkg.version}; run \`npm ci\`.`);
  }
  return join(dirname(pkgJson), 'cpp', 'whisper.cpp');
}

function layOut(source) {
  const version = readWhisperVersion(source);
  if (version !== PINNED_VERSION) {
    fail(`expected whisper.cpp ${PINNED_VERSION} in ${source} but found ${version ?? 'no version'}.`);
  }
  const stamp = JSON.stringify({ source, version, files: NEEDED });
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return version;
  rmSync(target, { recursive: true, force: true });
  for (const rel of NEEDED) {
    const from = join(source, rel);
    if (!existsSync(from)) fail(`the whisper.cpp source in ${source} lacks ${rel}.`);
    mkdirSync(dirname(join(target, rel)), { recursive: true });
    cpSync(from, join(target, rel), { recursive: true });
  }
  writeFileSync(stampFile, stamp);
  return version;
}

function main() {
  const own = process.env.TALK2ME_WHISPER_DIR;
  if (own) {
    const dir = resolve(own);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(`TALK2ME_WHISPER_DIR=${own} is not a directory.`);
    const version = readWhisperVersion(dir);
    if (!version) fail(`TALK2ME_WHISPER_DIR=${own} has no whisper.cpp CMakeLists.txt.`);
    if (version !== PINNED_VERSION) {
      console.warn(`talk2me: building against whisper.cpp ${version} from ${dir}; talk2me is tested with ${PINNED_VERSION}.`);
    }
    console.log(`talk2me: using whisper.cpp ${version} from ${dir}`);
    return;
  }
  const version = layOut(findPackagedSource());
  console.log(`talk2me: whisper.cpp ${version} laid out in vendor/whisper.cpp`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
