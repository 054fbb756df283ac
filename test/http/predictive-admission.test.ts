// Predictive admission over real HTTP, with a real model (its whisper states built by the native
// pool, their cost as whisper.cpp accounts it) and simulated RSS: under the threshold a request
// that needs a new state is admitted; when RSS plus a state's cost would cross the threshold, a
// request waits for a running one's state, or, with nothing running, is refused with 503
// MEMORY_PRESSURE and Retry-After, building no state and triggering no reload. The decisions show
// in /metrics and GET /admin/memory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clip } from './helpers/audio.js';
import { getJson, send, type Answer } from './helpers/client.js';
import { ADMIN_TOKEN, errorCode, listen, makeRoot, waitFor, type HttpInstance, type Root } from './helpers/harness.js';
import { form, type Body } from './helpers/multipart.js';
import { metric, SimulatedMemory } from './helpers/simulated-memory.js';

const MB = 1024 * 1024;
const THRESHOLD_MB = 1000;

let root: Root;
let server: HttpInstance;
const memory = new SimulatedMemory();
let long: Body;
let short: Body;

beforeAll(async () => {
  root = await makeRoot('admission');
  long = await form([['audio', { data: clip(30), filename: 'long.wav', type: 'audio/wav' }]]);
  short = await form([['audio', { data: clip(2), filename: 'short.wav', type: 'audio/wav' }]]);
  memory.rssMb = 300;
  server = await listen(
    root,
    'admission',
    { ADMIN_TOKEN, MAX_CONCURRENCY: '2', MAX_QUEUE: '4', WHISPER_THREADS: '1', MEMORY_THRESHOLD_MB: String(THRESHOLD_MB) },
    { probes: memory },
  );
});

afterAll(async () => {
  await server?.close();
  await root?.remove();
});

const states = async () => (await server.services.model.memory())?.states;
const adminMemory = async () => (await getJson(`${server.url}/admin/memory`, { 'x-admin-token': ADMIN_TOKEN })).body;
const decisions = () => server.services.memory.admission.stats().decisions;
const transcribe = (body: Body, session: string) => send(`${server.url}/transcribe`, { body, headers: { 'x-session-id': session } });

/** RSS that leaves less room under the threshold than one state costs. */
function rssWithoutRoomForAState(): number {
  const cost = server.services.memory.admission.stateCostBytes;
  expect(cost).not.toBeNull();
  return THRESHOLD_MB - (cost as number) / MB / 2;
}

describe('predictive admission', () => {
  it('under the threshold: a request needing a new state is admitted, and the cost of a state is measured', async () => {
    expect((await states())?.total).toBe(0);
    expect(await metric(server.url, 'talk2me_whisper_state_cost_bytes')).toBeUndefined();
    const answer = await transcribe(short, 'c').answer;
    expect(answer.status, answer.text).toBe(200);
    expect((await states())?.total).toBe(1);
    expect(decisions()).toEqual({ admitted: 1, waited: 0, refused: 0 });

    const native = await server.services.model.memory();
    expect(native?.bytesPerState).toBeGreaterThan(MB);
    expect(server.services.memory.admission.stateCostBytes).toBe(native?.bytesPerState);
    expect(await metric(server.url, 'talk2me_whisper_state_cost_bytes')).toBe(native?.bytesPerState);
    expect(await metric(server.url, 'talk2me_admission_memory_total{outcome="admitted"}')).toBe(1);
    const block = (await adminMemory()).predictive_admission;
    expect(block).toMatchObject({ enabled: true, decisions: { admitted: 1, waited: 0, refused: 0 }, waiting: 0, held_for_state: false, last_refusal: null });
    expect(block.state_cost_mb).toBeCloseTo((native?.bytesPerState ?? 0) / MB, 0);
  });

  it('RSS + cost over the threshold with a state busy: the next request waits for it and completes after the first', async () => {
    const first = transcribe(long, 'a1');
    // The first runs on the idle state; a second would need a state of its own.
    await waitFor(async () => server.services.model.inflight === 1 && (await states())?.busy === 1, 'the first transcription running');
    memory.rssMb = rssWithoutRoomForAState();
    const finished: string[] = [];
    const firstDone = first.answer.then((a) => (finished.push('first'), a));
    const second = transcribe(short, 'a2');
    const secondDone = second.answer.then((a) => (finished.push('second'), a));
    await waitFor(() => server.services.memory.admission.stats().heldForState, 'the second to wait for a state');
    expect((await adminMemory()).predictive_admission).toMatchObject({ waiting: 1, held_for_state: true });
    expect(server.services.model.inflight).toBe(1);

    const answers: Answer[] = await Promise.all([firstDone, secondDone]);
    for (const answer of answers) expect(answer.status, answer.text).toBe(200);
    expect(finished).toEqual(['first', 'second']);
    // It ran on the first one's state: none was built for it.
    expect((await states())?.total).toBe(1);
    expect(decisions()).toEqual({ admitted: 2, waited: 1, refused: 0 });
    expect(await metric(server.url, 'talk2me_admission_memory_total{outcome="waited"}')).toBe(1);
  });

  it('RSS + cost over the threshold with nothing running: 503 MEMORY_PRESSURE with Retry-After, no state built, no reload', async () => {
    // No idle state left (the ladder trims them under pressure): the next request would build one.
    await server.services.model.trim();
    expect((await states())?.total).toBe(0);
    memory.rssMb = rssWithoutRoomForAState();
    const reloads = server.services.model.stats().reloadCount;

    const refused = await transcribe(short, 'b').answer;
    expect(refused.status, refused.text).toBe(503);
    expect(errorCode(refused.json())).toBe('MEMORY_PRESSURE');
    expect(refused.json().error.message).toMatch(/short of memory.*new whisper state/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await states())?.total).toBe(0);
    expect(server.services.model.stats().reloadCount).toBe(reloads);
    // The refusal makes the ladder trim the heap (the memory that can still come down with no state
    // in use), at the aggressive level, never a reload.
    await waitFor(() => server.services.memory.counters.byLevel.aggressive === 1, 'a heap trim after the refusal');
    expect(server.services.memory.counters.byLevel.reload).toBe(0);
    expect(server.services.model.stats().reloadCount).toBe(reloads);
    expect(decisions()).toEqual({ admitted: 2, waited: 1, refused: 1 });
    expect(await metric(server.url, 'talk2me_admission_memory_total{outcome="refused"}')).toBe(1);
    expect(await metric(server.url, 'talk2me_requests_rejected_total{code="MEMORY_PRESSURE"}')).toBe(1);
    expect((await adminMemory()).predictive_admission.last_refusal).toMatchObject({ at: expect.any(String), reason: expect.stringMatching(/^RSS .* over 1000 MB$/) });
    expect(await server.uploads()).toEqual([]);
    // The instance stays up, and says it is not ready while new work would be refused, so a load
    // balancer sends it elsewhere.
    expect((await getJson(`${server.url}/health`)).status).toBe(200);
    const ready = await getJson(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ ready: false, reason: 'memory short of a new whisper state', memory: expect.stringMatching(/^RSS .* over 1000 MB$/) });
  });

  it('readiness comes back by itself once a fresh reading would admit a new state', async () => {
    memory.rssMb = 300;
    const ready = await getJson(`${server.url}/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ ready: true });
  });

  it('once memory is back under the threshold, the same request is admitted and builds its state', async () => {
    memory.rssMb = 300;
    const answer = await transcribe(short, 'b').answer;
    expect(answer.status, answer.text).toBe(200);
    expect((await states())?.total).toBe(1);
    expect(decisions()).toEqual({ admitted: 3, waited: 1, refused: 1 });
  });
});
