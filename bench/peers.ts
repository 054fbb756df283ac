/**
 * Builds the peers the benchmarks compare the addon with: whisper.cpp's own `whisper-cli` and
 * `whisper-server`, compiled from the same vendored source as the addon, in a separate build
 * directory (build-peers/) so the addon's cmake-js build (build/) is never touched.
 *
 *   npx -y tsx bench/peers.ts            builds (incrementally) and prints where the binaries are
 *
 * The build uses the root CMakeLists.txt with TALK2ME_BUILD_PEERS=ON, Release, Ninja, and the same
 * TALK2ME_CUDA and whisper.cpp tree as the addon's build. Afterwards `comparePeerBuild` checks that
 * both builds compiled whisper.cpp and ggml identically (CMake cache options and compile commands).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const addonBuildDir = join(repoRoot, 'build');
export const peersBuildDir = join(repoRoot, 'build-peers');

export type PeerTarget = 'whisper-cli' | 'whisper-server';

export interface PeerBinaries {
  cli: string;
  server: string | null;
}

export interface BuildPeersOptions {
  targets?: readonly PeerTarget[];
  /** Parallel compile jobs (default 2: the benchmark machine has 2 cores). */
  jobs?: number;
  /** Where progress lines go (default stderr). */
  log?: (line: string) => void;
}

/** Runs a command with inherited output; rejects on a non-zero exit. */
function run(command: string, args: readonly string[], log: (line: string) => void): Promise<void> {
  log(`$ ${command} ${args.join(' ')}`);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${String(code)}`})`));
    });
  });
}

/** Reads a CMakeCache.txt into KEY -> value (the type after the colon is dropped). */
export function readCMakeCache(buildDir: string): Map<string, string> {
  const file = join(buildDir, 'CMakeCache.txt');
  const entries = new Map<string, string>();
  if (!existsSync(file)) return entries;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('#') || line.startsWith('//')) continue;
    const match = /^([^:=]+)(?::[A-Z_]+)?=(.*)$/.exec(line);
    if (match?.[1] !== undefined) entries.set(match[1], match[2] ?? '');
  }
  return entries;
}

function firstExisting(candidates: readonly string[]): string | null {
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** Where a target's executable lands: bin/ when whisper.cpp is the top project, else next to its CMakeLists. */
export function peerBinaryPath(target: PeerTarget): string | null {
  const sub = target === 'whisper-cli' ? 'cli' : 'server';
  return firstExisting([
    join(peersBuildDir, 'bin', target),
    join(peersBuildDir, 'whisper.cpp', 'bin', target),
    join(peersBuildDir, 'whisper.cpp', 'examples', sub, target),
  ]);
}

/**
 * Configures build-peers/ (first time only) and builds the targets. Ninja's incremental build makes
 * this a no-op when nothing changed.
 */
export async function buildPeers(options: BuildPeersOptions = {}): Promise<PeerBinaries> {
  const targets = options.targets ?? ['whisper-cli', 'whisper-server'];
  const jobs = options.jobs ?? 2;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  if (!existsSync(join(repoRoot, 'vendor', 'whisper.cpp', 'CMakeLists.txt')) && !process.env.TALK2ME_WHISPER_DIR) {
    await run(process.execPath, ['vendor/prepare.mjs'], log);
  }

  const addonCache = readCMakeCache(addonBuildDir);
  const peersCache = readCMakeCache(peersBuildDir);
  if (peersCache.get('TALK2ME_BUILD_PEERS') !== 'ON' || peersCache.get('CMAKE_EXPORT_COMPILE_COMMANDS') !== 'ON') {
    const args = [
      '-S', '.', '-B', peersBuildDir, '-G', 'Ninja',
      '-DCMAKE_BUILD_TYPE=Release',
      '-DTALK2ME_BUILD_PEERS=ON',
      // Only records the compile commands, so comparePeerBuild can diff them with the addon's.
      '-DCMAKE_EXPORT_COMPILE_COMMANDS=ON',
    ];
    // Mirror the addon build's choices that change how whisper.cpp is compiled.
    const cuda = addonCache.get('TALK2ME_CUDA');
    if (cuda !== undefined) args.push(`-DTALK2ME_CUDA=${cuda}`);
    const whisperDir = addonCache.get('TALK2ME_WHISPER_DIR');
    if (whisperDir !== undefined && !process.env.TALK2ME_WHISPER_DIR) args.push(`-DTALK2ME_WHISPER_DIR=${whisperDir}`);
    await run('cmake', args, log);
  }
  await run('cmake', ['--build', peersBuildDir, '--target', ...targets, `-j${jobs}`], log);

  const cli = peerBinaryPath('whisper-cli');
  if (!cli) throw new Error(`whisper-cli was built but not found under ${peersBuildDir}`);
  return { cli, server: targets.includes('whisper-server') ? peerBinaryPath('whisper-server') : null };
}

export interface BuildComparison {
  /** Cache entries that shape how whisper.cpp/ggml compile and differ between build/ and build-peers/. */
  cacheDifferences: Array<{ key: string; addon: string | undefined; peers: string | undefined }>;
  /** GGML_NATIVE etc. as both caches hold them (equal unless listed in cacheDifferences). */
  keyOptions: Record<string, string | undefined>;
  /** whisper.cpp/ggml sources compiled with different flags (paths and the addon-only define removed). */
  flagDifferences: string[];
  /** Sources compared; 0 when a build has no compile_commands.json. */
  sourcesCompared: number;
  /**
   * Sources whose flags differ only in -DGGML_COMMIT: the git commit each build directory was
   * configured at, baked into a version string, which changes no code. Counted, not listed.
   */
  commitOnlyDifferences: number;
}

// Cache keys that decide how the shared whisper.cpp/ggml code is compiled. The addon's extra
// CMAKE_CXX_FLAGS define (-DBUILDING_NODE_EXTENSION, cmake-js) and the examples switches
// (WHISPER_BUILD_EXAMPLES/SERVER) are expected to differ and are left out.
const RELEVANT_KEY = /^(GGML_(?!.*_FOUND$)|WHISPER_(?!BUILD_EXAMPLES$|BUILD_SERVER$|BIN_|LIB_|INCLUDE_)|CMAKE_BUILD_TYPE$|CMAKE_C_COMPILER$|CMAKE_CXX_COMPILER$|CMAKE_C_FLAGS|CMAKE_CXX_FLAGS_|CMAKE_POSITION_INDEPENDENT_CODE$|TALK2ME_CUDA$|TALK2ME_WHISPER_DIR$)/;

const KEY_OPTIONS = ['CMAKE_BUILD_TYPE', 'CMAKE_C_COMPILER', 'CMAKE_CXX_COMPILER', 'CMAKE_CXX_FLAGS_RELEASE', 'GGML_NATIVE', 'GGML_AVX2', 'GGML_AVX512', 'GGML_OPENMP', 'GGML_BLAS', 'GGML_LTO', 'GGML_CPU_REPACK', 'GGML_CUDA'];

interface CompileCommand {
  file: string;
  command?: string;
  arguments?: string[];
}

function compileFlags(buildDir: string): Map<string, string> {
  const file = join(buildDir, 'compile_commands.json');
  const flags = new Map<string, string>();
  if (!existsSync(file)) return flags;
  const commands = JSON.parse(readFileSync(file, 'utf8')) as CompileCommand[];
  for (const c of commands) {
    if (!/\/(ggml|src)\//.test(c.file) || !c.file.includes('whisper.cpp')) continue;
    const words = c.arguments ?? (c.command ?? '').split(/\s+/);
    const kept: string[] = [];
    for (let i = 0; i < words.length; i++) {
      const w = words[i] as string;
      if (w === '-o' || w === '-c') {
        i++;
        continue;
      }
      if (w === '-DBUILDING_NODE_EXTENSION' || w.startsWith('-I') || w === '') continue;
      kept.push(w);
    }
    flags.set(c.file, kept.join(' '));
  }
  return flags;
}

/** Compares the addon's build (build/) with the peers' (build-peers/). */
export function comparePeerBuild(): BuildComparison {
  const addon = readCMakeCache(addonBuildDir);
  const peers = readCMakeCache(peersBuildDir);
  const keys = new Set([...addon.keys(), ...peers.keys()].filter((k) => RELEVANT_KEY.test(k)));
  const cacheDifferences = [...keys]
    .sort()
    .filter((key) => addon.get(key) !== peers.get(key))
    .map((key) => ({ key, addon: addon.get(key), peers: peers.get(key) }));
  const keyOptions: Record<string, string | undefined> = {};
  for (const key of KEY_OPTIONS) keyOptions[key] = addon.get(key) === peers.get(key) ? addon.get(key) : `${String(addon.get(key))} / ${String(peers.get(key))}`;

  const addonFlags = compileFlags(addonBuildDir);
  const peersFlags = compileFlags(peersBuildDir);
  const flagDifferences: string[] = [];
  let sourcesCompared = 0;
  let commitOnlyDifferences = 0;
  const withoutCommit = (flags: string): string => flags.replace(/-DGGML_COMMIT=\S+/g, '');
  for (const [file, flags] of addonFlags) {
    const other = peersFlags.get(file);
    if (other === undefined) continue;
    sourcesCompared++;
    if (other === flags) continue;
    if (withoutCommit(other) === withoutCommit(flags)) commitOnlyDifferences++;
    else flagDifferences.push(`${file}: addon "${flags}" vs peers "${other}"`);
  }
  return { cacheDifferences, keyOptions, flagDifferences, sourcesCompared, commitOnlyDifferences };
}

export function describeComparison(c: BuildComparison): string[] {
  const lines = [`same options in build/ and build-peers/: ${Object.entries(c.keyOptions).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`];
  if (c.cacheDifferences.length === 0) lines.push('CMake caches: no difference in GGML_*/WHISPER_*/compiler/flags entries');
  for (const d of c.cacheDifferences) lines.push(`CMake cache DIFFERS: ${d.key}: build/=${String(d.addon)} build-peers/=${String(d.peers)}`);
  if (c.sourcesCompared === 0) lines.push('compile commands: not compared (a build has no compile_commands.json)');
  else {
    const commitOnly = c.commitOnlyDifferences > 0 ? ` (${c.commitOnlyDifferences} apart from -DGGML_COMMIT, the commit each build dir was configured at)` : '';
    if (c.flagDifferences.length === 0) lines.push(`compile commands: same flags for the ${c.sourcesCompared} whisper.cpp/ggml sources both builds compile${commitOnly}`);
    else for (const d of c.flagDifferences) lines.push(`compile flags DIFFER: ${d}`);
  }
  return lines;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const binaries = await buildPeers();
  console.log(`whisper-cli:    ${binaries.cli}`);
  console.log(`whisper-server: ${String(binaries.server)}`);
  for (const line of describeComparison(comparePeerBuild())) console.log(line);
}
