// Memory-aware readiness over real HTTP, with a real model and simulated RSS: /ready answers 503
// while memory is over its threshold and the cleanup ladder works on it, the requests already
// accepted still complete, /health stays 200 throughout, and readiness comes back by itself once
// memory is under the clear level (not in the band just under the threshold) or once a later
// check finds memory under the threshold. talk2me_ready and talk2me_memory_pressure say the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clip } from './helpers/audio.js';
import { getJson, send, type Answer } from './helpers/client.js';
import { ADMIN_TOKEN, listen, makeRoot, waitFor, type HttpInstance, type Root } from './helpers/harness.js';
import { form, type Body } from './helpers/multipart.js';
import { metric, SimulatedMemory } from './helpers/simulated-memory.js';

let root: Root;
let server: HttpInstance;
const memory = new SimulatedMemory();
let long: Body;
let short: Body;

beforeAll(async () => {
  root = await makeRoot('readiness');
  long = await form([['audio', { data: clip(15), filename: 'long.wav', type: 'audio/wav' }]]);
  short = await form([['audio', { data: clip(2), filename: 'short.wav', type: 'audio/wav' }]]);
  memory.rssMb = 500;
  // One transcription at a time, so the second request queues; the ladder may not reload (the
  // minimum interval has not passed since the load), so its run ends still over the threshold.
  server = await listen(
    root,
    'readiness',
    { ADMIN_TOKEN, MAX_CONCURRENCY: '1', MAX_QUEUE: '4', MEMORY_THRESHOLD_MB: '1000', MODEL_RELOAD_MIN_INTERVAL_S: '3600' },
    { probes: memory },
  );
});

afterAll(async () => {
  await server?.close();
  await root?.remove();
});

const ready = () => getJson(`${server.url}/ready`);
const healthy = async () => (await getJson(`${server.url}/health`)).status;

describe('readiness under memory pressure', () => {
  it('is 503 while memory is over the threshold and the ladder works on it; queued work completes; ready again under the clear level', async () => {
    expect(await ready()).toEqual({ status: 200, body: { ready: true, model: 'ready' } });
    expect(await metric(server.url, 'talk2me_ready')).toBe(1);

    const running = send(`${server.url}/transcribe`, { body: long, headers: { 'x-session-id': 'first' } });
    const queued = send(`${server.url}/transcribe`, { body: short, headers: { 'x-session-id': 'second' } });
    await waitFor(() => server.services.queue.running === 1 && server.services.queue.queued === 1 && server.services.model.inflight === 1, 'one transcribing, one queued');

    // Memory crosses the threshold; the next check trims and cannot reload yet.
    memory.rssMb = 1200;
    const run = await server.services.memory.check();
    expect(run.level).toBe('aggressive');
    expect(run.rungs.find((r) => r.level === 'reload')?.reload?.deferredS).toBeGreaterThan(0);

    expect(await ready()).toEqual({ status: 503, body: { ready: false, model: 'ready', reason: 'memory above threshold', memory: 'RSS 1200 MB over 1000 MB' } });
    expect(await healthy()).toBe(200);
    expect(await metric(server.url, 'talk2me_ready')).toBe(0);
    expect(await metric(server.url, 'talk2me_memory_pressure')).toBe(1);
    const stats = await getJson(`${server.url}/admin/memory`, { 'x-admin-token': ADMIN_TOKEN });
    expect(stats.body.pressure).toMatchObject({ active: true, reason: 'RSS 1200 MB over 1000 MB', since: expect.any(String), clear_below_mb: 950 });

    // The queue drains while not ready: both requests already accepted complete.
    const answers: Answer[] = [];
    for (const sent of [running, queued]) {
      const answer = await sent.answer;
      expect(answer.status, answer.text).toBe(200);
      answers.push(answer);
      expect((await ready()).status).toBe(503);
      expect(await healthy()).toBe(200);
    }
    expect(server.services.queue.running + server.services.queue.queued).toBe(0);

    // Just under the threshold is not enough: no flapping at the edge.
    memory.rssMb = 980;
    expect((await ready()).status).toBe(503);
    // Under the clear level (95% of the threshold), /ready's own reading ends it.
    memory.rssMb = 900;
    expect(await ready()).toEqual({ status: 200, body: { ready: true, model: 'ready' } });
    expect(await healthy()).toBe(200);
    expect(await metric(server.url, 'talk2me_ready')).toBe(1);
    expect(await metric(server.url, 'talk2me_memory_pressure')).toBe(0);
    expect(server.services.model.stats().reloadCount).toBe(0);
  });

  it('memory that settles just under the threshold: ready again at the next check that finds nothing to do', async () => {
    memory.rssMb = 1100;
    await server.services.memory.check();
    expect((await ready()).body).toMatchObject({ ready: false, reason: 'memory above threshold' });
    memory.rssMb = 990;
    expect((await ready()).status).toBe(503);
    await server.services.memory.check();
    expect(await ready()).toEqual({ status: 200, body: { ready: true, model: 'ready' } });
    expect(await healthy()).toBe(200);
  });
});
