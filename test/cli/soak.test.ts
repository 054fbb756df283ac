// `talk2me soak` as CI and operators run it: the built CLI (dist/cli.js) in a process of its own,
// against a server it starts in its own process on a synthetic model, and against a server at a
// URL (one this test starts, METRICS_TOKEN set). Real whisper.cpp, real HTTP, a few hundred
// requests of every kind.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SoakReport } from '../../src/cli/soak/report.js';
import { listen, makeRoot, METRICS_TOKEN, type HttpInstance, type Root } from '../http/helpers/harness.js';

const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function soak(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'soak', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A soak that hangs fails its test instead of stalling the run.
    const backstop = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(backstop);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The lines the CLI prints as its one error message. */
const errorLines = (stderr: string): string[] => stderr.split('\n').filter((line) => line.startsWith('talk2me: '));

// Small and quick: one whisper state, little logging, and one thread: on a shared machine two
// threads spend their time spinning at ggml's barriers while the other is descheduled (the same
// 50 requests took 104 s with two, 11 s with one, on this 2-core machine under load).
const SERVER_ENV = { MAX_CONCURRENCY: '1', WHISPER_THREADS: '1', LOG_LEVEL: 'warn' };

describe('talk2me soak against a server in its own process', () => {
  let report: SoakReport;
  let run: Run;

  beforeAll(async () => {
    run = await soak(
      ['--synthetic', 'mini', '-n', '150', '--warmup', '30', '--samples', '10', '--concurrency', '3', '--json', '--max-5xx', '0', '--max-unexpected', '0', '--max-temp-files', '0', '--max-fd-growth', '10', '--max-rss-slope-mb', '500', '--max-latency-growth', '50'],
      SERVER_ENV,
    );
    if (!run.stdout.startsWith('{')) throw new Error(`the soak printed no report (exit ${String(run.code)}): ${run.stderr.slice(-2000)}`);
    report = JSON.parse(run.stdout) as SoakReport;
  });

  it('exits 0 within its limits and reports the run as JSON', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(errorLines(run.stderr)).toEqual([]);
    expect(report.requests).toMatchObject({ measured: 150, warmup: 30, concurrency: 3 });
    expect(report.target).toMatch(/a server in this process on .*synthetic-mini\.bin/);
    expect(report.limits.map((l) => l.flag)).toEqual(['--max-rss-slope-mb', '--max-5xx', '--max-unexpected', '--max-latency-growth', '--max-temp-files', '--max-fd-growth']);
    expect(report.limits.every((l) => !l.exceeded)).toBe(true);
    expect(report.exceeded).toEqual([]);
  });

  it('sends every kind of the default mix and gets the right answer to each', () => {
    expect(report.kinds.map((k) => k.kind)).toEqual(Object.keys(report.mix));
    expect(report.kinds.reduce((sum, k) => sum + k.requests, 0)).toBe(150);
    const byKind = new Map(report.kinds.map((k) => [k.kind, k]));
    // The default seed draws the same 150 requests every run, these kinds among them; each gets what it should.
    expect(byKind.get('wav')?.statuses).toEqual({ 200: byKind.get('wav')?.requests });
    expect(byKind.get('ffmpeg')?.statuses).toEqual({ 200: byKind.get('ffmpeg')?.requests });
    expect(Object.keys(byKind.get('garbage')?.statuses ?? {})).toEqual(['400']);
    expect(Object.keys(byKind.get('unknown-path')?.statuses ?? {})).toEqual(['404']);
    expect(Object.keys(byKind.get('abort-upload')?.statuses ?? {})).toEqual(['hung up']);
    expect(report.outcomes.unexpected + report.outcomes['no answer'] + report.outcomes['5xx']).toBe(0);
    expect(report.outcomes.ok).toBeGreaterThan(70);
    expect(report.fiveXx).toEqual({ measured: 0, warmup: 0, total: 0 });
  });

  it('reports RSS growth, fds, temp files and latency tenths', () => {
    expect(report.rss.samplesMb).toHaveLength(11); // the reading before, then one per chunk
    expect(report.rss.everyRequests).toBe(15);
    expect(report.rss.startMb).toBeGreaterThan(50);
    expect(Number.isFinite(report.rss.slopeMbPer1000)).toBe(true);
    expect(report.rss.slopeErrorMbPer1000).toBeGreaterThanOrEqual(0);
    expect(report.heap?.startMb).toBeGreaterThan(1);
    expect(report.fds?.before).toBeGreaterThan(3);
    expect(report.tempFilesLeft).toBe(0);
    const { firstTenth, lastTenth, growth, goodRequests } = report.latency;
    expect(goodRequests).toBe(report.outcomes.ok);
    expect(firstTenth?.requests).toBe(Math.floor(goodRequests / 10));
    expect(firstTenth?.medianMs).toBeGreaterThan(0);
    expect(lastTenth?.p90Ms).toBeGreaterThanOrEqual(lastTenth?.medianMs ?? Infinity);
    expect(growth).toBeCloseTo((lastTenth?.medianMs ?? 0) / (firstTenth?.medianMs ?? 1), 2);
  });
});

describe('talk2me soak against a URL', () => {
  let root: Root;
  let server: HttpInstance;

  beforeAll(async () => {
    root = await makeRoot('soak');
    server = await listen(root, 'soak', { ...SERVER_ENV, METRICS_TOKEN, MAX_UPLOAD_MB: '1' });
  });

  afterAll(async () => {
    await server?.close();
    await root?.remove();
  });

  it('reads the server through /metrics, and says which limit was exceeded: exit 1, the report still printed, one error line', async () => {
    // Any latency growth is above 0.001: this limit cannot be met.
    const run = await soak(['--url', server.url, '--metrics-token', METRICS_TOKEN, '--upload-limit-mb', '1', '-n', '40', '--warmup', '10', '--samples', '4', '-q', '--max-5xx', '0', '--max-latency-growth', '0.001']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^talk2me soak: 40 requests after a warm-up of 10, 4 clients, against http:\/\/127\.0\.0\.1:\d+\/ \(figures from its \/metrics\)/);
    expect(run.stdout).toMatch(/RSS \(process_resident_memory_bytes of \/metrics/);
    expect(run.stdout).toMatch(/open fds: \d+ -> \d+/);
    expect(run.stdout).toMatch(/temp files left: 0/);
    expect(run.stdout).toMatch(/limits: --max-5xx 0: 0 ok; --max-latency-growth 0.001: [\d.]+ EXCEEDED/);
    expect(errorLines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^talk2me: Soak limit exceeded: --max-latency-growth 0.001: measured [\d.]+ \[SOAK_LIMIT_EXCEEDED\]$/m);
    expect(run.stderr).not.toMatch(/^soak: /m); // -q
  }, 240_000);

  it('refuses a /metrics it may not read, before sending anything', async () => {
    const run = await soak(['--url', server.url, '-n', '10']);
    expect(run.code).toBe(1);
    expect(errorLines(run.stderr)).toEqual([`talk2me: ${server.url}/metrics answered 401: pass the server's METRICS_TOKEN as --metrics-token [SOAK_TARGET]`]);
    expect(run.stdout).toBe('');
  });
});

describe('talk2me soak settings', () => {
  it('is listed by talk2me --help, and its own help lists the kinds and the limits', async () => {
    const main = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [cli, '--help'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(out));
    });
    expect(main).toMatch(/^ {2}soak {10}send a long run of good and bad requests/m);
    const help = await soak(['--help']);
    expect(help.code).toBe(0);
    for (const text of ['--max-rss-slope-mb', '--max-5xx', '--max-latency-growth', '--max-temp-files', '--max-fd-growth', '--json', 'abort-transcription', 'unknown-path']) {
      expect(help.stdout).toContain(text);
    }
  });

  it.each([
    [['--synthetic', 'mini', '--max-5xx=-1'], 'Expected a non-negative integer for --max-5xx but received "-1"'],
    [['--synthetic', 'mini', '--max-latency-growth', '0'], 'Expected a number above 0 for --max-latency-growth but received "0"'],
    [['--synthetic', 'mini', '--max-rss-slope-mb', 'lots'], 'Expected a number for --max-rss-slope-mb but received "lots"'],
    [['--synthetic', 'mini', '--requests', '0'], 'Expected a positive integer for --requests but received "0"'],
    [['--synthetic', 'huge'], 'Expected tiny or mini for --synthetic but received "huge"'],
    [['--synthetic', 'mini', '--mix', 'wav=2,nope'], 'Expected comma-separated KIND or KIND=WEIGHT with KIND one of wav, openai, '],
    [['--url', 'ftp://example.com'], 'Expected an http:// or https:// URL without a query for --url but received "ftp://example.com"'],
    [['--url', 'http://127.0.0.1:1', '--synthetic', 'mini'], 'Expected exactly one of --url, --model and --synthetic'],
    [['--synthetic', 'mini', '--upload-limit-mb', '5'], '--upload-limit-mb is for --url; the server started here reads MAX_UPLOAD_MB'],
  ])('%j is refused with one message and the usage', async (args, message) => {
    const run = await soak(args);
    expect(run.code).toBe(1);
    const lines = errorLines(run.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(message);
    expect(run.stderr).toContain('Usage: talk2me soak');
    expect(run.stdout).toBe('');
  });
});
