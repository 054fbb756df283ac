// spawnPiped: children started with vfork instead of fork(). What they get (arguments,
// stdin, pipes, signal dispositions), how they end (exit codes, kill, with the server), and the reason it exists:
// starting one leaves this process's memory out of copy-on-write.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { spawnPiped, type PipedChild } from '../../src/native/child-process.js';

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

/** Whether `pid` names a running process (a zombie waiting for its reaper counts as gone). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function run(child: PipedChild): Promise<{ stdout: string; stderr: string; code: number | null; signal: NodeJS.Signals | null }> {
  const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (code, signal) => resolve([code, signal])));
  const [stdout, stderr, [code, signal]] = await Promise.all([text(child.stdout), text(child.stderr), closed]);
  return { stdout, stderr, code, signal };
}

describe('spawnPiped', () => {
  it('runs a program from PATH with its arguments as given, stdin empty, stdout and stderr apart', async () => {
    const child = spawnPiped('sh', ['-c', 'printf "%s|" "$@"; cat; printf oops >&2; exit 3', 'sh', 'two words', '$HOME', '; rm -rf /']);
    expect(child.pid).toBeGreaterThan(0);
    const result = await run(child);
    expect(result).toEqual({ stdout: 'two words|$HOME|; rm -rf /|', stderr: 'oops', code: 3, signal: null });
    expect(child.exitCode).toBe(3);
  });

  it('reports a kill by its signal, and kill() after the end does nothing', async () => {
    const child = spawnPiped('sleep', ['30']);
    const ended = run(child);
    expect(child.kill('SIGKILL')).toBe(true);
    expect(await ended).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(child.signalCode).toBe('SIGKILL');
    expect(child.kill('SIGKILL')).toBe(false);
  });

  it('gives the child default signal handling and no blocked signals (Node ignores SIGPIPE)', async () => {
    const status = (await run(spawnPiped('cat', ['/proc/self/status']))).stdout;
    const mask = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status)![1]}`);
    const SIGPIPE = 13n;
    expect(mask('SigIgn') & (1n << (SIGPIPE - 1n))).toBe(0n);
    expect(mask('SigBlk')).toBe(0n);
  });

  it('ends the child with the server: a SIGKILLed parent takes its child along', async () => {
    const helper = join(import.meta.dirname, 'helpers', 'spawn-and-hang.ts');
    const server = spawn(process.execPath, ['--import', 'tsx', helper], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (chunk) => {
        out += String(chunk);
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      server.once('exit', (code) => reject(new Error(`the helper exited (${code}) before printing a pid`)));
    });
    try {
      expect(running(pid)).toBe(true);
      server.kill('SIGKILL');
      const deadline = Date.now() + 3000;
      while (running(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(running(pid)).toBe(false);
    } finally {
      if (running(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('throws SPAWN_FAILED for a program that cannot be started', () => {
    expect(() => spawnPiped('talk2me-no-such-program', [])).toThrow(expect.objectContaining({ code: 'SPAWN_FAILED' }));
    expect(() => spawnPiped('/etc/hostname', [])).toThrow(expect.objectContaining({ code: 'SPAWN_FAILED', message: expect.stringMatching(/^spawn \/etc\/hostname: /) }));
    expect(() => spawnPiped('sh', ['-c', 'a\u0000b'])).toThrow(/NUL/);
  });

  it('does not make this process copy-on-write: rewriting 128 MB afterwards takes no page faults', async () => {
    const pages = (128 * 1024 * 1024) / 4096;
    const buffer = Buffer.alloc(pages * 4096, 1);
    const faultsWhenRewritten = async (spawnNow: () => Promise<unknown>): Promise<number> => {
      await spawnNow();
      const before = process.resourceUsage().minorPageFault;
      for (let i = 0; i < buffer.length; i += 4096) buffer[i] = (buffer[i]! + 1) & 0xff;
      return process.resourceUsage().minorPageFault - before;
    };
    const withPosixSpawn = await faultsWhenRewritten(() => run(spawnPiped('true', [])));
    const withFork = await faultsWhenRewritten(async () => spawnSync('true'));
    expect(withPosixSpawn).toBeLessThan(pages / 8);
    // The contrast that makes the test mean something: child_process forks. Transparent huge
    // pages set to "always" would turn the fork's faults into a few per 2 MB, so only then is it
    // not asserted.
    const thp = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    if (!thp.includes('[always]')) expect(withFork).toBeGreaterThan(pages / 2);
  });
});
