// The built CLI (dist/cli.js, what `npx talk2me` runs) as a user runs it: real processes, real
// files, a loopback HTTP server standing in for Hugging Face.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { syllableTones } from '../helpers/signals.js';
import { tempDir } from '../helpers/temp-dir.js';

const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], options: { env?: NodeJS.ProcessEnv; interruptAfterMs?: number; stdin?: Buffer } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...options.env }, stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    child.stdin?.end(options.stdin);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const interrupt = options.interruptAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGINT'), options.interruptAfterMs);
    // A CLI that hangs fails its test instead of stalling the run.
    const backstop = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(interrupt);
      clearTimeout(backstop);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A 16-bit mono 16 kHz WAV file. */
function wav(samples: Float32Array): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 32767), i * 2));
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(16000, 24);
  header.writeUInt32LE(32000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

let dir: { path: string; remove: () => Promise<void> };
let model: string;
let clip: string;

beforeAll(async () => {
  dir = await tempDir('cli');
  model = join(dir.path, 'mini.bin');
  clip = join(dir.path, 'clip.wav');
  await writeFile(clip, wav(syllableTones(3)));
  const synth = await run(['model', 'synth', model, '--dims', 'mini']);
  expect(synth).toMatchObject({ code: 0, signal: null });
});

afterAll(async () => {
  await dir.remove();
});

describe('talk2me CLI', () => {
  it('prints help for every command and exits 0', async () => {
    for (const args of [['--help'], ['transcribe', '--help'], ['model', '--help'], ['model', 'synth', '--help'], ['model', 'fetch', '-h'], ['soak', '--help']]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/^Usage: talk2me/);
    }
    // The decoding defaults are stated where a user looks for them.
    const transcribe = await run(['transcribe', '--help']);
    expect(transcribe.stdout).toMatch(/Decoding: greedy .*temperature 0.*fallback/s);
    expect(transcribe.stdout).toContain('(default: min(4, cores))');
  });

  it('exits 1 with a message on stderr for usage errors', async () => {
    for (const args of [['frobnicate'], ['transcribe'], ['transcribe', clip], ['transcribe', clip, '--model', model, '--format', 'xml'], ['model', 'synth', '/tmp/x', '--dims', 'huge'], ['model', 'synth', '/tmp/x', '--decoder', 'loud'], ['transcribe', clip, '--model', model, '--threads', 'many']]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.signal).toBeNull();
      expect(r.stderr).toMatch(/^talk2me: /);
    }
  });

  it('prints its version', async () => {
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = await run([flag]);
      expect(r).toMatchObject({ code: 0, stdout: `talk2me ${pkg.version}\n` });
    }
  });

  it('model synth writes the same bytes for the same seed', async () => {
    const a = join(dir.path, 'a.bin');
    const b = join(dir.path, 'b.bin');
    await run(['model', 'synth', a, '--dims', 'mini', '--seed', '7']);
    await run(['model', 'synth', b, '--dims', 'mini', '--seed', '7']);
    const hash = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex');
    expect(await hash(a)).toBe(await hash(b));
    expect((await stat(a)).size).toBe((await stat(model)).size);
  });

  it('model synth --decoder speechlike writes the speech-like model, whose words transcribe prints', async () => {
    const speech = join(dir.path, 'speech.bin');
    const synth = await run(['model', 'synth', speech, '--dims', 'mini', '--decoder', 'speechlike']);
    expect(synth.code, synth.stderr).toBe(0);
    expect(synth.stderr).toContain('speech-like decoder');
    expect((await stat(speech)).size).toBe((await stat(model)).size);
    expect(await readFile(speech)).not.toEqual(await readFile(model));
    const r = await run(['transcribe', clip, '--model', speech, '--format', 'json', '--threads', '2']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { segments: { start: number; end: number; text: string }[] };
    // A 3 s clip starts one 5 s segment of the script: 12 words, cut at the clip's end.
    expect(json.segments).toHaveLength(1);
    expect(json.segments[0]).toMatchObject({ start: 0, end: 3 });
    expect(json.segments[0]?.text.trim().split(/\s+/)).toHaveLength(12);
    expect((await run(['model', 'synth', '--help'])).stdout).toContain('--decoder D');
  });

  it('transcribe prints JSON segments inside the clip', async () => {
    const r = await run(['transcribe', clip, '--model', model, '--format', 'json', '--threads', '2']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.duration_s).toBeCloseTo(3, 3);
    expect(json.segments.length).toBeGreaterThan(0);
    for (const s of json.segments) expect(s.end).toBeLessThanOrEqual(3);
  });

  it('transcribe reports progress on a non-TTY stderr as plain lines, up to 100% and done; -q keeps it quiet', async () => {
    const r = await run(['transcribe', clip, '--model', model, '--threads', '2']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    // No carriage returns: a log file gets whole lines, not redraws.
    expect(r.stderr).not.toContain('\r');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/^transcribing: \d{1,3}\.\d%, ETA /);
    expect(lines.at(-2)).toMatch(/^transcribing: 100\.0%/);
    expect(lines.at(-1)).toMatch(/^transcribing: done in \d+s$/);
    const quiet = await run(['transcribe', clip, '--model', model, '--threads', '2', '-q']);
    expect(quiet).toMatchObject({ code: 0, stderr: '' });
    expect(quiet.stdout).toBe(r.stdout);
  });

  it('transcribe loads none of the server\'s packages, marks its phases for bench:cli, and exits once done', async () => {
    // bench/cli-marks.mjs is what bench:cli preloads to split the CLI's time; it records the
    // CommonJS packages loaded (fastify, pino and prom-client are CommonJS) and the marks.
    const marksFile = join(dir.path, 'marks.jsonl');
    const probe = pathToFileURL(join(import.meta.dirname, '..', '..', 'bench', 'cli-marks.mjs')).href;
    const r = await run(['transcribe', clip, '--model', model, '-q'], { env: { NODE_OPTIONS: `--import=${probe}`, TALK2ME_CLI_MARKS: marksFile } });
    expect(r.code, r.stderr).toBe(0);
    const line = JSON.parse(await readFile(marksFile, 'utf8')) as { marks: Record<string, number>; exitMs: number; cjsPackages: string[] };
    expect(line.cjsPackages).toEqual([]);
    const order = ['main', 'command-loaded', 'audio-decoded', 'model-loaded', 'transcribed', 'written', 'done'];
    expect(Object.keys(line.marks)).toEqual(order);
    const times = order.map((m) => line.marks[m] as number);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(line.exitMs).toBeGreaterThanOrEqual(times.at(-1) as number);
  });

  it('transcribe - reads the audio from standard input, and names it so in errors', async () => {
    const r = await run(['transcribe', '-', '--model', model, '--format', 'json'], { stdin: await readFile(clip) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).duration_s).toBeCloseTo(3, 3);
    const bad = await run(['transcribe', '-', '--model', model], { stdin: Buffer.from('RIFF\0\0\0\0WAVEjunk') });
    expect(bad).toMatchObject({ code: 1, signal: null });
    expect(bad.stderr).toMatch(/^talk2me: .*\[AUDIO_INVALID\]\n$/);
    expect(bad.stderr).not.toContain('talk2me-stdin-');
  });

  it('transcribe writes SRT and WebVTT', async () => {
    const srt = await run(['transcribe', clip, '-m', model, '-f', 'srt']);
    expect(srt.stdout).toMatch(/^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n/);
    const vtt = await run(['transcribe', clip, '-m', model, '-f', 'vtt']);
    expect(vtt.stdout).toMatch(/^WEBVTT\n\n\d\d:\d\d:\d\d\.\d{3} --> /);
  });

  it('transcribe fails cleanly on a missing model, a corrupt model and a non-audio file', async () => {
    const missing = await run(['transcribe', clip, '--model', join(dir.path, 'none.bin')]);
    expect(missing).toMatchObject({ code: 1, signal: null });
    expect(missing.stderr).toContain('[MODEL_NOT_FOUND]');
    const corrupt = join(dir.path, 'corrupt.bin');
    await writeFile(corrupt, (await readFile(model)).subarray(0, 5000));
    const bad = await run(['transcribe', clip, '--model', corrupt]);
    expect(bad).toMatchObject({ code: 1, signal: null });
    expect(bad.stderr).toContain('[MODEL_INVALID]');
    const notAudio = join(dir.path, 'notes.txt');
    await writeFile(notAudio, 'not audio at all\n'.repeat(100));
    const noise = await run(['transcribe', notAudio, '--model', model]);
    expect(noise).toMatchObject({ code: 1, signal: null });
    expect(noise.stderr).toMatch(/\[AUDIO_(INVALID|UNSUPPORTED_FORMAT)\]/);
  });

  describe('model fetch against a loopback mirror', () => {
    let server: Server;
    let baseUrl: string;
    const body = Buffer.alloc(3 * 1024 * 1024, 7);

    beforeAll(async () => {
      server = createServer((req, res) => {
        if (req.url === '/ggml-good.bin') {
          res.writeHead(200, { 'content-length': body.length });
          res.end(body);
        } else if (req.url === '/ggml-slow.bin') {
          res.writeHead(200, { 'content-length': body.length });
          res.write(body.subarray(0, 1024)); // then stalls until the client goes away
        } else {
          res.writeHead(404).end('not found');
        }
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    it('downloads with progress and prints the path', async () => {
      const out = join(dir.path, 'fetched');
      const r = await run(['model', 'fetch', 'good', '--dir', out, '--base-url', baseUrl]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(join(out, 'ggml-good.bin'));
      expect(r.stderr).toContain('ggml-good.bin');
      expect((await stat(join(out, 'ggml-good.bin'))).size).toBe(body.length);
    });

    it("checks a mirror's own build against --sha256, and refuses a malformed one", async () => {
      const out = join(dir.path, 'pinned');
      const sha256 = createHash('sha256').update(body).digest('hex');
      const ok = await run(['model', 'fetch', 'good', '--dir', out, '--base-url', baseUrl, '--sha256', sha256.toUpperCase()]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stderr).toContain('SHA-256 verified');
      const wrong = await run(['model', 'fetch', 'good', '--dir', out, '--base-url', baseUrl, '--sha256', '0'.repeat(64), '--force']);
      expect(wrong).toMatchObject({ code: 1, signal: null });
      expect(wrong.stderr).toContain('[CHECKSUM_MISMATCH]');
      const malformed = await run(['model', 'fetch', 'good', '--dir', out, '--sha256', 'abc']);
      expect(malformed).toMatchObject({ code: 1, signal: null });
      expect(malformed.stderr).toMatch(/^talk2me: Expected 64 hexadecimal digits for --sha256 but received "abc"/);
    });

    it('exits 1 and leaves nothing behind on a 404 and on Ctrl-C', async () => {
      const out = join(dir.path, 'failed');
      const missing = await run(['model', 'fetch', 'absent', '--dir', out], { env: { TALK2ME_MODEL_BASE_URL: baseUrl } });
      expect(missing).toMatchObject({ code: 1, signal: null });
      expect(missing.stderr).toContain('404');
      // Printed once, by the entry point: the progress display only closes its line.
      const message = /^talk2me: (.*)$/m.exec(missing.stderr)?.[1] ?? '';
      expect(message).toContain('404');
      expect(missing.stderr.split(message).length - 1).toBe(1);
      const interrupted = await run(['model', 'fetch', 'slow', '--dir', out, '--base-url', baseUrl], {
        env: { TALK2ME_MODEL_BASE_URL: baseUrl },
        interruptAfterMs: 1500,
      });
      expect(interrupted).toMatchObject({ code: 1, signal: null });
      expect(interrupted.stderr).toContain('Interrupted');
      expect(await readdir(out).catch(() => [])).toEqual([]);
    });
  });
});
