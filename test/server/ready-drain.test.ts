// READY_DRAIN_S through HTTP: before a shutdown closes the listener and before a model reload swaps
// contexts, /ready answers 503 for that long while the server still takes and serves requests, so
// a load balancer checking /ready moves new work elsewhere first (test/fleet shows it with HAProxy).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModelHost } from '../../src/model/host.js';
import { refused } from '../helpers/network.js';
import { clip } from '../http/helpers/audio.js';
import { getJson, send } from '../http/helpers/client.js';
import { ADMIN_TOKEN, listen, makeRoot, waitFor, type Root } from '../http/helpers/harness.js';
import { form } from '../http/helpers/multipart.js';

// Long enough for the checks made during the drain on a loaded 2-core machine.
const DRAIN_S = 3;

let root: Root;

beforeAll(async () => {
  root = await makeRoot('ready-drain');
});

afterAll(async () => {
  await root?.remove();
});

async function transcribe(url: string): Promise<number> {
  const answer = await send(`${url}/transcribe`, { body: await form([['audio', { data: clip(1), filename: 'a.wav' }]]) }).answer;
  return answer.status;
}

describe('READY_DRAIN_S', () => {
  it('at shutdown: /ready is 503 for the drain while new connections are still served, then the listener closes', async () => {
    const instance = await listen(root, 'shutdown', { READY_DRAIN_S: String(DRAIN_S) });
    const { url } = instance;
    expect((await getJson(`${url}/ready`)).status).toBe(200);
    expect(await transcribe(url)).toBe(200); // the first transcription's one-off cost, paid outside the drain

    const began = performance.now();
    const closing = instance.server.shutdown('test');
    // Sent at the start of the drain: a fresh connection is accepted (a transcription takes
    // seconds on a loaded machine, so its answer is awaited after the listener has closed).
    const served = transcribe(url);
    expect(await getJson(`${url}/ready`)).toEqual({ status: 503, body: { ready: false, model: 'ready', reason: 'shutting down' } });
    expect((await getJson(`${url}/health`)).status).toBe(200);

    await waitFor(() => refused(url), 'the listener to close', DRAIN_S * 1000 + 10_000, 20);
    expect(performance.now() - began).toBeGreaterThanOrEqual(DRAIN_S * 1000 - 20);
    expect(await served).toBe(200);
    await closing;
    const log = await instance.logText();
    expect(log).toContain('still serving while load balancers move new work elsewhere');
  });

  it('at a reload: /ready is 503 and transcriptions are served during the drain; ready again after the swap', async () => {
    const instance = await listen(root, 'reload', { READY_DRAIN_S: String(DRAIN_S), ADMIN_TOKEN });
    const { url } = instance;
    try {
      expect(await transcribe(url)).toBe(200);
      const began = performance.now();
      const reload = send(`${url}/admin/model/reload`, { method: 'POST', headers: { 'x-admin-token': ADMIN_TOKEN } }).answer;
      await waitFor(async () => (await getJson(`${url}/ready`)).status === 503, '/ready to turn 503', 5000, 20);
      expect(instance.services.model.stats().reloadCount).toBe(0); // the swap waits for the drain
      const served = transcribe(url);
      expect((await getJson(`${url}/ready`)).body).toEqual({ ready: false, model: 'reloading', reason: 'model reload draining' });
      expect(await served).toBe(200);

      const answer = await reload;
      expect(answer.status, answer.text).toBe(200);
      expect(performance.now() - began).toBeGreaterThanOrEqual(DRAIN_S * 1000 - 20);
      expect(answer.json()).toMatchObject({ reloaded: true });
      expect(instance.services.model.stats().reloadCount).toBe(1);
      expect(await getJson(`${url}/ready`)).toEqual({ status: 200, body: { ready: true, model: 'ready' } });
      expect(await transcribe(url)).toBe(200);
    } finally {
      await instance.close();
    }
  });

  it('a model host disposed during a reload drain does not reload', async () => {
    const host = new ModelHost({ path: root.model, loadOptions: { threads: 1, maxStates: 1 }, reloadDrainMs: 500 });
    await host.acquire();
    const reload = host.recreate('test');
    expect(host.state).toBe('reloading');
    await host.dispose(); // what the shutdown timeout does
    await expect(reload).rejects.toMatchObject({ code: 'MODEL_DISPOSED' });
    expect(host.stats()).toMatchObject({ state: 'disposed', reloadCount: 0, reloadFailures: 0 });
  });
});
