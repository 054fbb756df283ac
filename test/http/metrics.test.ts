// GET /metrics: talk2me's families and the default process metrics, values that follow what the
// service did, no GPU series without a GPU, the exposition checked by promtool when it is
// installed, and METRICS_TOKEN.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clip } from './helpers/audio.js';
import { ADMIN_TOKEN, METRICS_TOKEN, errorCode, injectApp, makeRoot, type InjectInstance, type Root } from './helpers/harness.js';
import { form } from './helpers/multipart.js';

let root: Root;
let server: InjectInstance;

beforeAll(async () => {
  root = await makeRoot('metrics');
  server = await injectApp(root, 'metrics', { ADMIN_TOKEN });
});

afterAll(async () => {
  await server?.close();
  await root?.remove();
});

const FAMILIES: Record<string, 'gauge' | 'counter' | 'histogram'> = {
  talk2me_temp_files: 'gauge',
  talk2me_temp_files_bytes: 'gauge',
  talk2me_model_reloads_total: 'counter',
  talk2me_memory_cleanups_total: 'counter',
  talk2me_memory_cleanup_duration_seconds: 'histogram',
  talk2me_transcription_duration_seconds: 'histogram',
  talk2me_audio_seconds_total: 'counter',
  talk2me_queue_depth: 'gauge',
  talk2me_inflight_transcriptions: 'gauge',
  talk2me_whisper_states: 'gauge',
  talk2me_whisper_states_max: 'gauge',
  talk2me_ready: 'gauge',
  talk2me_memory_pressure: 'gauge',
  talk2me_admission_memory_total: 'counter',
  talk2me_whisper_state_cost_bytes: 'gauge',
  talk2me_http_requests_total: 'counter',
  talk2me_http_request_duration_seconds: 'histogram',
  talk2me_sessions_active: 'gauge',
  talk2me_temp_files_oldest_age_seconds: 'gauge',
  talk2me_memory_threshold_bytes: 'gauge',
  talk2me_gpu_memory_threshold_bytes: 'gauge',
  talk2me_model_reload_min_interval_seconds: 'gauge',
  talk2me_temp_file_max_age_seconds: 'gauge',
  talk2me_queue_depth_max: 'gauge',
};
const GPU_FAMILIES = ['talk2me_gpu_memory_used_bytes', 'talk2me_gpu_memory_total_bytes'];
const PROCESS_FAMILIES = ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds'];

async function scrape(headers: Record<string, string> = {}): Promise<string> {
  const response = await server.app.inject({ method: 'GET', url: '/metrics', headers });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.body;
}

/** The value of one sample, e.g. sample(text, 'talk2me_audio_seconds_total{route="transcribe"}'); undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The sample lines of a family (not its # HELP / # TYPE lines). */
const samplesOf = (text: string, family: string): string[] => text.split('\n').filter((l) => l.startsWith(`${family} `) || l.startsWith(`${family}{`));

async function post(url: string, fields: Array<[string, string | { data: Buffer; filename: string }]>) {
  const body = await form(fields);
  return server.app.inject({ method: 'POST', url, payload: body.payload, headers: { 'content-type': body.contentType } });
}

describe('GET /metrics', () => {
  it("has talk2me's families and the default process metrics", async () => {
    const text = await scrape();
    for (const [family, type] of Object.entries(FAMILIES)) {
      expect(text, family).toContain(`# TYPE ${family} ${type}\n`);
      expect(text, family).toMatch(new RegExp(`# HELP ${family} \\S`));
    }
    for (const family of PROCESS_FAMILIES) expect(text, family).toMatch(new RegExp(`^${family}(\\{[^}]*\\})? `, 'm'));
    expect(sample(text, 'talk2me_temp_files')).toBe(0);
    expect(sample(text, 'talk2me_queue_depth')).toBe(0);
    expect(sample(text, 'talk2me_inflight_transcriptions')).toBe(0);
    expect(sample(text, 'talk2me_ready')).toBe(1);
    expect(sample(text, 'talk2me_memory_pressure')).toBe(0);
  });

  it('has no GPU series on a machine without a GPU (by design), and has them with one', async () => {
    const gpu = (await server.services.model.memory())?.gpu ?? null;
    const text = await scrape();
    for (const family of GPU_FAMILIES) {
      const lines = samplesOf(text, family);
      if (gpu === null) expect(lines, family).toEqual([]);
      else expect(lines.length, family).toBe(1);
    }
  });

  it('values follow the work: audio seconds, transcriptions, states, sessions, rejections', async () => {
    const before = await scrape();
    expect(sample(before, 'talk2me_audio_seconds_total{route="transcribe"}')).toBeUndefined();

    expect((await post('/transcribe', [['audio', { data: clip(3), filename: 'a.wav' }]])).statusCode).toBe(200);
    expect((await post('/v1/audio/transcriptions', [['file', { data: clip(2), filename: 'a.wav' }]])).statusCode).toBe(200);
    expect((await post('/transcribe', [['audio', { data: clip(2), filename: 'a.wav' }], ['language', 'klingon']])).statusCode).toBe(400);

    // One reading of the model's memory serves a scrape's gauges for 250 ms: past it, the states
    // the transcriptions created are seen.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await scrape();
    expect(sample(after, 'talk2me_audio_seconds_total{route="transcribe"}')).toBeCloseTo(3, 3);
    expect(sample(after, 'talk2me_audio_seconds_total{route="openai_transcriptions"}')).toBeCloseTo(2, 3);
    expect(sample(after, 'talk2me_transcription_duration_seconds_count{route="transcribe"}')).toBe(1);
    expect(sample(after, 'talk2me_transcription_duration_seconds_count{route="openai_transcriptions"}')).toBe(1);
    expect(sample(after, 'talk2me_transcription_duration_seconds_sum{route="transcribe"}')).toBeGreaterThan(0);
    expect(sample(after, 'talk2me_requests_rejected_total{code="INVALID_PARAMETER"}')).toBe(1);
    // idle + busy is every state: no "total" series for sum() to count twice.
    expect(sample(after, 'talk2me_whisper_states{state="idle"}')).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'talk2me_whisper_states{state="busy"}')).toBe(0);
    expect(samplesOf(after, 'talk2me_whisper_states')).toHaveLength(2);
    expect(sample(after, 'talk2me_whisper_states_max')).toBeGreaterThanOrEqual(1);
    // Requests by route pattern, method and status, and their latency.
    expect(sample(after, 'talk2me_http_requests_total{route="/transcribe",method="POST",status="200"}')).toBe(1);
    expect(sample(after, 'talk2me_http_requests_total{route="/transcribe",method="POST",status="400"}')).toBe(1);
    expect(sample(after, 'talk2me_http_requests_total{route="/v1/audio/transcriptions",method="POST",status="200"}')).toBe(1);
    expect(sample(after, 'talk2me_http_request_duration_seconds_count{route="/transcribe",method="POST"}')).toBe(2);
    expect(sample(after, 'talk2me_sessions_active')).toBeGreaterThanOrEqual(1);
  });

  it("counts a scanner's random paths under one series, never one per path", async () => {
    for (const url of ['/wp-admin/setup.php', '/.env', '/x/../../etc/passwd']) expect((await server.app.inject({ method: 'GET', url })).statusCode).toBe(404);
    const text = await scrape();
    expect(sample(text, 'talk2me_http_requests_total{route="unmatched",method="GET",status="404"}')).toBe(3);
    expect(text).not.toMatch(/wp-admin|\.env|passwd/);
  });

  it('temp file gauges count tracked files and their bytes', async () => {
    await using ctx = server.services.memory.audioProcessing();
    const path = ctx.createTempPath('wav');
    await writeFile(path, Buffer.alloc(12_345));
    server.services.files.setSize(path, 12_345);
    const during = await scrape();
    expect(sample(during, 'talk2me_temp_files')).toBe(1);
    expect(sample(during, 'talk2me_temp_files_bytes')).toBe(12_345);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const later = await scrape();
    expect(sample(later, 'talk2me_temp_files_oldest_age_seconds')).toBeGreaterThanOrEqual(0.04);
    expect(sample(later, 'talk2me_temp_files_oldest_age_seconds')).toBeLessThan(60);
    await ctx.dispose();
    const after = await scrape();
    expect(sample(after, 'talk2me_temp_files')).toBe(0);
    expect(sample(after, 'talk2me_temp_files_bytes')).toBe(0);
    expect(sample(after, 'talk2me_temp_files_oldest_age_seconds')).toBe(0);
  });

  it('the configured limits, which alert rules compare figures with, follow the settings', async () => {
    const defaults = await scrape();
    expect(sample(defaults, 'talk2me_memory_threshold_bytes')).toBe(4096 * 1024 * 1024);
    expect(sample(defaults, 'talk2me_gpu_memory_threshold_bytes')).toBe(2048 * 1024 * 1024);
    expect(sample(defaults, 'talk2me_model_reload_min_interval_seconds')).toBe(300);
    expect(sample(defaults, 'talk2me_temp_file_max_age_seconds')).toBe(300);
    expect(sample(defaults, 'talk2me_queue_depth_max')).toBe(16);

    const limits = {
      MEMORY_THRESHOLD_MB: '300.5',
      GPU_MEMORY_THRESHOLD_MB: '1000',
      MODEL_RELOAD_MIN_INTERVAL_S: '0',
      TEMP_FILE_MAX_AGE_S: '120',
      TEMP_FILE_MAX_AGE_AGGRESSIVE_S: '60',
      MAX_QUEUE: '3',
    };
    const other = await injectApp(root, 'metrics-limits', limits);
    try {
      const text = (await other.app.inject({ method: 'GET', url: '/metrics' })).body;
      // MB as the memory manager counts it (2^20), so RSS compares with the threshold the ladder uses.
      expect(sample(text, 'talk2me_memory_threshold_bytes')).toBe(300.5 * 1024 * 1024);
      expect(sample(text, 'talk2me_gpu_memory_threshold_bytes')).toBe(1000 * 1024 * 1024);
      expect(sample(text, 'talk2me_model_reload_min_interval_seconds')).toBe(0);
      expect(sample(text, 'talk2me_temp_file_max_age_seconds')).toBe(120);
      expect(sample(text, 'talk2me_queue_depth_max')).toBe(3);
      // One series each, without labels: a rule divides by them with plain one-to-one matching.
      for (const family of ['talk2me_memory_threshold_bytes', 'talk2me_gpu_memory_threshold_bytes', 'talk2me_model_reload_min_interval_seconds']) {
        expect(samplesOf(text, family), family).toEqual([`${family} ${sample(text, family)}`]);
      }
    } finally {
      await other.close();
    }
  });

  it('reloads and cleanups through the admin routes show up', async () => {
    const admin = (url: string, payload: object) =>
      server.app.inject({ method: 'POST', url, payload, headers: { 'x-admin-token': ADMIN_TOKEN } });
    const before = await scrape();
    const reloads = sample(before, 'talk2me_model_reloads_total')!;
    expect(reloads).toBe(0);
    expect(samplesOf(before, 'talk2me_memory_cleanups_total')).toEqual([]);

    expect((await admin('/admin/model/reload', {})).statusCode).toBe(200);
    expect((await admin('/admin/memory/cleanup', { aggressive: true })).statusCode).toBe(200);

    const after = await scrape();
    expect(sample(after, 'talk2me_model_reloads_total')).toBe(reloads + 1);
    expect(sample(after, 'talk2me_memory_cleanups_total{level="aggressive"}')).toBe(1);
    expect(sample(after, 'talk2me_memory_cleanup_duration_seconds_count{level="aggressive"}')).toBe(1);

    // A cleanup with a reload counts as one cleanup at level reload, and one more model reload.
    expect((await admin('/admin/memory/cleanup', { reload_model: true })).statusCode).toBe(200);
    const again = await scrape();
    expect(sample(again, 'talk2me_model_reloads_total')).toBe(reloads + 2);
    expect(sample(again, 'talk2me_memory_cleanups_total{level="reload"}')).toBe(1);
    // Counters never go down between scrapes.
    expect(sample(await scrape(), 'talk2me_model_reloads_total')).toBe(reloads + 2);
  });

  it('passes promtool check metrics', async (context) => {
    const text = await scrape();
    const full = await promtool(text);
    if (full === null) {
      context.skip('promtool is not installed (apt-get install prometheus provides it)');
      return;
    }
    // Exit 1 is a parse error; 3 means lint findings only. prom-client's own default metrics have
    // some (nodejs_active_handles_total is a gauge named like a counter); talk2me's have none.
    expect([0, 3], full.output).toContain(full.code);
    const findings = full.output.split('\n').filter((l) => l.trim().length > 0);
    for (const finding of findings) expect(finding).toMatch(/^(nodejs|process)_/);
    const ours = text.split('\n').filter((l) => /^(# (HELP|TYPE) )?talk2me_/.test(l)).join('\n') + '\n';
    expect(ours.split('\n').length).toBeGreaterThan(40);
    const strict = await promtool(ours);
    expect(strict?.code, strict?.output).toBe(0);
  });
});

/** `promtool check metrics` over `text`; null when promtool is not installed. */
function promtool(text: string): Promise<{ code: number | null; output: string } | null> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') resolve(null);
      else resolve({ code: child.exitCode, output: `${stdout}${stderr}` });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(text);
  });
}

describe('METRICS_TOKEN', () => {
  it('without it /metrics is open; with it a bearer token is required', async () => {
    expect((await server.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    const guarded = await injectApp(root, 'metrics-token', { METRICS_TOKEN });
    try {
      const get = (headers: Record<string, string>) => guarded.app.inject({ method: 'GET', url: '/metrics', headers });
      const wrong: Array<Record<string, string>> = [
        {},
        { authorization: 'Bearer wrong-token-1234567890' },
        { authorization: `Bearer ${METRICS_TOKEN}x` },
        { authorization: METRICS_TOKEN },
        { authorization: `Basic ${METRICS_TOKEN}` },
        { 'x-admin-token': METRICS_TOKEN },
      ];
      for (const headers of wrong) {
        const refused = await get(headers);
        expect(refused.statusCode, JSON.stringify(headers)).toBe(401);
        expect(errorCode(refused.json())).toBe('UNAUTHORIZED');
      }
      for (const authorization of [`Bearer ${METRICS_TOKEN}`, `bearer ${METRICS_TOKEN}`]) {
        const ok = await get({ authorization });
        expect(ok.statusCode).toBe(200);
        expect(ok.body).toContain('# TYPE talk2me_queue_depth gauge');
      }
      // Health stays open for probes.
      expect((await guarded.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});
