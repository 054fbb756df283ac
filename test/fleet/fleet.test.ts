// The fleet, for real (npm run test:fleet): three `talk2me serve` processes behind HAProxy, which
// health-checks /ready; Prometheus scraping them with the rule files of deploy/prometheus/rules
// loaded (alerts' `for:` cut to 1 s, nothing else changed); Alertmanager delivering to a webhook
// receiver in this file. A fourth instance, outside HAProxy, runs with MEMORY_THRESHOLD_MB below
// its resident memory for the memory alert: its cleanup ladder trims every 2 s and may not reload
// (MODEL_RELOAD_MIN_INTERVAL_S), so it stays up, not ready, refusing the work it has no memory
// for, while the alert fires.
//
// It shows: load spread over the three; a rolling restart (SIGTERM one at a time) under load with
// 0 failed requests; a forced model reload under load with 0 failed requests, HAProxy marking the
// instance down while it reloads and up after; the memory alert reaching the receiver; the fleet
// recording rule equal to the sum of the instances' figures.
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeSyntheticModel } from '../../src/model/synthetic.js';
import { send } from '../http/helpers/client.js';
import type { Body } from '../http/helpers/multipart.js';
import { freePort } from '../helpers/network.js';
import { tempDir } from '../helpers/temp-dir.js';
import { ChildGroup, onPath, waitUntil, type Child } from './children.js';
import { haproxyConfig, serverStats, type ServerStat } from './haproxy.js';
import { ADMIN_TOKEN, ClientLoad, counterValue, Talk2meInstance, transcribeThrough, uploadBody } from './instances.js';
import { alertmanagerConfig, copyRulesWithShortFor, prometheusConfig, PrometheusApi, SCRAPE_JOB, WebhookReceiver, type Sample } from './monitoring.js';

const RULES_DIR = join(import.meta.dirname, '..', '..', 'deploy', 'prometheus', 'rules');
const BACKEND = 'talk2me';
// Longer than HAProxy takes to mark an instance down (2 failed checks 200 ms apart, see haproxy.ts).
const READY_DRAIN_S = 1;
const MEMORY_ALERT_THRESHOLD_MB = 64; // the least MEMORY_THRESHOLD_MB takes; a mini-model server holds ~130 MB

const children = new ChildGroup();
const webhook = new WebhookReceiver();
let removeDir: (() => Promise<void>) | undefined;
let fleet: Talk2meInstance[] = [];
let memoryInstance: Talk2meInstance;
let haproxy: Child;
let haproxyUrl: string;
let statsSocket: string;
let prometheus: PrometheusApi;
let body: Body;

const stats = async (): Promise<Map<string, ServerStat>> => serverStats(statsSocket, BACKEND);
const statOf = async (name: string): Promise<ServerStat> => {
  const stat = (await stats()).get(name);
  if (!stat) throw new Error(`HAProxy has no server ${name}`);
  return stat;
};
const haproxyDetail = (): string => `HAProxy output:\n${haproxy?.output() ?? ''}`;

async function waitForStatus(name: string, status: 'UP' | 'DOWN', timeoutMs: number): Promise<void> {
  await waitUntil(async () => (await statOf(name)).status === status, `HAProxy to see ${name} ${status}`, timeoutMs, 50, haproxyDetail);
}

/** Samples HAProxy's view of one server every 50 ms until stopped. */
function watchServer(name: string): { samples: Array<ServerStat & { at: number }>; stop(): Promise<void> } {
  const samples: Array<ServerStat & { at: number }> = [];
  let watching = true;
  const loop = (async () => {
    while (watching) {
      samples.push({ ...(await statOf(name)), at: Date.now() });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    samples,
    stop: async () => {
      watching = false;
      await loop;
    },
  };
}

beforeAll(async () => {
  const tools = { haproxy: onPath('haproxy'), prometheus: onPath('prometheus'), alertmanager: onPath('prometheus-alertmanager', 'alertmanager') };
  const dir = await tempDir('fleet');
  removeDir = dir.remove;
  children.removeWithChildren(dir.path);
  // Seed 7: this synthetic mini model decodes the test signal in a fraction of a second (see test/http/helpers/harness.ts).
  const model = join(dir.path, 'mini.bin');
  await writeSyntheticModel(model, { dims: 'mini', seed: 7 });
  body = await uploadBody();

  const common = {
    WHISPER_MODEL: model,
    LOG_FILE: 'off',
    LOG_LEVEL: 'info',
    ADMIN_TOKEN,
    MAX_CONCURRENCY: '1',
    WHISPER_THREADS: '1',
    MAX_QUEUE: '32',
    READY_DRAIN_S: String(READY_DRAIN_S),
    STATS_LOG_INTERVAL_S: '3600',
    WEB_ROOT: join(dir.path, 'no-web-root'),
  };
  const names = ['a', 'b', 'c'];
  fleet = await Promise.all(names.map(async (name) => new Talk2meInstance(name, await freePort(), { ...common, UPLOAD_DIR: join(dir.path, `uploads-${name}`) }, children)));
  memoryInstance = new Talk2meInstance(
    'm',
    await freePort(),
    {
      ...common,
      UPLOAD_DIR: join(dir.path, 'uploads-m'),
      MEMORY_THRESHOLD_MB: String(MEMORY_ALERT_THRESHOLD_MB),
      CLEANUP_INTERVAL_S: '2',
      MODEL_RELOAD_MIN_INTERVAL_S: '3600',
    },
    children,
  );
  const starting = [...fleet, memoryInstance].map((instance) => instance.start());

  // Alertmanager → the webhook receiver in this process.
  const webhookUrl = await webhook.listen();
  const alertmanagerPort = await freePort();
  await writeFile(join(dir.path, 'alertmanager.yml'), alertmanagerConfig(webhookUrl));
  const alertmanager = children.start('alertmanager', tools.alertmanager, [
    `--config.file=${join(dir.path, 'alertmanager.yml')}`,
    `--storage.path=${join(dir.path, 'alertmanager-data')}`,
    `--web.listen-address=127.0.0.1:${alertmanagerPort}`,
    '--cluster.listen-address=', // no gossip port: a single Alertmanager
    '--log.level=warn',
  ]);

  // Prometheus with deploy/prometheus's rule files, alerts' `for:` shortened.
  const realRules = readdirSync(RULES_DIR).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(RULES_DIR, f));
  expect(realRules.length, `rule files in ${RULES_DIR}`).toBeGreaterThan(0);
  const ruleFiles = await copyRulesWithShortFor(realRules, dir.path, '1s');
  const prometheusPort = await freePort();
  await writeFile(
    join(dir.path, 'prometheus.yml'),
    prometheusConfig({ targets: [...fleet, memoryInstance].map((i) => i.target), ruleFiles, alertmanager: `127.0.0.1:${alertmanagerPort}` }),
  );
  const prometheusChild = children.start('prometheus', tools.prometheus, [
    `--config.file=${join(dir.path, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir.path, 'prometheus-data')}`,
    `--web.listen-address=127.0.0.1:${prometheusPort}`,
    '--log.level=warn',
  ]);
  prometheus = new PrometheusApi(`http://127.0.0.1:${prometheusPort}`);

  // HAProxy in front of a, b and c.
  const haproxyPort = await freePort();
  statsSocket = join(dir.path, 'haproxy.sock');
  await writeFile(join(dir.path, 'haproxy.cfg'), haproxyConfig({ port: haproxyPort, statsSocket, backends: fleet.map((i) => ({ name: i.name, port: i.port })) }));
  haproxy = children.start('haproxy', tools.haproxy, ['-f', join(dir.path, 'haproxy.cfg'), '-db']);
  haproxyUrl = `http://127.0.0.1:${haproxyPort}`;

  await Promise.all(starting);
  const ready = async (child: Child, url: string): Promise<void> =>
    waitUntil(async () => (await fetch(url)).status === 200, `${child.name} to be ready`, 30_000, 100, () => child.output());
  await Promise.all([ready(alertmanager, `http://127.0.0.1:${alertmanagerPort}/-/ready`), ready(prometheusChild, `${prometheus.base}/-/ready`)]);
  for (const instance of fleet) await waitForStatus(instance.name, 'UP', 15_000);
  await waitUntil(async () => (await prometheus.targets()).filter((t) => t.health === 'up').length === 4, 'Prometheus to scrape the four instances', 30_000, 200);
});

afterAll(async () => {
  await children.stopAll();
  await webhook.close();
  await removeDir?.();
});

describe('a talk2me fleet behind HAProxy, watched by Prometheus and Alertmanager', () => {
  it('spreads load over the three instances', async () => {
    const requests = 30;
    const before = await Promise.all(fleet.map((i) => i.transcriptionsServed()));
    const haproxyBefore = await stats();
    // Three clients, as many as instances, each sending its share one after another.
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 3 }, async (_, client) => {
        for (let n = 0; n < requests / 3; n++) {
          statuses.push((await transcribeThrough(haproxyUrl, body, `spread-${client}`)).status);
        }
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const after = await Promise.all(fleet.map((i) => i.transcriptionsServed()));
    const served = after.map((n, i) => n - before[i]!);
    const haproxyAfter = await stats();
    const routed = fleet.map((i) => haproxyAfter.get(i.name)!.hrsp2xx - haproxyBefore.get(i.name)!.hrsp2xx);
    console.log(`fleet: ${requests} transcriptions through HAProxy, served per instance ${served.join(' / ')}`);
    expect(served.reduce((a, b) => a + b, 0)).toBe(requests);
    // HAProxy's own count of what it routed agrees with each instance's.
    expect(routed).toEqual(served);
    // A fair share: none served less than half of a third, nor more than twice a third.
    for (const count of served) {
      expect(count).toBeGreaterThanOrEqual(requests / 3 / 2);
      expect(count).toBeLessThanOrEqual((requests / 3) * 2);
    }
  });

  it('restarts the instances one at a time (SIGTERM) under load with 0 failed requests', async () => {
    const load = new ClientLoad(haproxyUrl, 3, body);
    load.start();
    try {
      await waitUntil(() => load.ok >= 3, 'the clients to be served', 20_000);
      for (const instance of fleet) {
        const okBefore = load.ok;
        const watch = watchServer(instance.name);
        const signalledAt = Date.now();
        const output = instance.child?.output.bind(instance.child);
        const exit = await instance.terminate();
        await watch.stop();
        expect(exit, output?.()).toEqual({ code: 0, signal: null });
        // Out of rotation before it stopped taking connections: /ready answered 503 for
        // READY_DRAIN_S before the listener closed, and HAProxy saw it within that time.
        const firstDown = watch.samples.find((s) => s.status === 'DOWN');
        expect(firstDown, JSON.stringify(watch.samples)).toBeDefined();
        expect(firstDown!.at - signalledAt).toBeLessThan(READY_DRAIN_S * 1000);

        await instance.start();
        await waitForStatus(instance.name, 'UP', 15_000);
        expect(load.ok).toBeGreaterThan(okBefore);
      }
      // The last one back takes work again.
      const last = fleet[fleet.length - 1]!;
      await waitUntil(async () => (await last.transcriptionsServed()) >= 2, `${last.name} to serve again`, 20_000, 100);
    } finally {
      const result = await load.stop();
      console.log(`fleet: rolling restart, ${result.ok} transcriptions served, ${result.failures.length} failed`);
      expect(result.failures).toEqual([]);
    }
    for (const instance of fleet) expect(await instance.transcriptionsServed()).toBeGreaterThan(0);
  });

  it('routes around an instance while it reloads its model (forced, under load): 0 failed requests', async () => {
    const target = fleet[1]!;
    const load = new ClientLoad(haproxyUrl, 3, body);
    load.start();
    try {
      await waitUntil(() => load.ok >= 3, 'the clients to be served', 20_000);
      const before = await statOf(target.name);
      expect(before.status).toBe('UP');
      const watch = watchServer(target.name);
      const answer = await send(`${target.url}/admin/model/reload`, { method: 'POST', headers: { 'x-admin-token': ADMIN_TOKEN } }).answer;
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json()).toMatchObject({ reloaded: true });
      await waitForStatus(target.name, 'UP', 10_000);
      await watch.stop();

      const down = watch.samples.filter((s) => s.status === 'DOWN');
      expect(down.length, JSON.stringify(watch.samples)).toBeGreaterThan(0);
      // While it was down, HAProxy sent it nothing new.
      expect(new Set(down.map((s) => s.stot)).size).toBe(1);
      const after = await statOf(target.name);
      expect(after.chkdown).toBe(before.chkdown + 1);
      // Back in rotation: it takes new work again.
      await waitUntil(async () => (await statOf(target.name)).stot > after.stot, `${target.name} to take work again`, 20_000, 100);
      expect(counterValue(await target.metricsText(), 'talk2me_model_reloads_total', {})).toBe(1);
    } finally {
      const result = await load.stop();
      console.log(`fleet: forced reload, ${result.ok} transcriptions served, ${result.failures.length} failed`);
      expect(result.failures).toEqual([]);
    }
  });

  it('fires the memory alert, and Alertmanager delivers it to the webhook receiver', async () => {
    // Every rule file loaded and evaluating without error.
    const groups = await prometheus.ruleGroups();
    expect(groups.length).toBeGreaterThan(0);
    for (const group of groups) for (const rule of group.rules) expect(rule.health, `${rule.name}: ${rule.lastError}`).toBe('ok');

    await waitUntil(
      () => webhook.alerts.some((a) => a.labels.alertname === 'Talk2meMemoryNearThreshold' && a.labels.instance === memoryInstance.target),
      'Talk2meMemoryNearThreshold at the webhook receiver',
      60_000,
      200,
      () => `received: ${JSON.stringify(webhook.alerts.map((a) => a.labels))}`,
    );
    const alert = webhook.alerts.find((a) => a.labels.alertname === 'Talk2meMemoryNearThreshold' && a.labels.instance === memoryInstance.target)!;
    expect(alert.status).toBe('firing');
    expect(alert.labels).toMatchObject({ job: SCRAPE_JOB, severity: 'warning' });
    expect(alert.annotations.summary).toContain(memoryInstance.target); // the rule's templates rendered
    // Only the instance whose threshold is low: the fleet's RSS is far below its 4096 MB.
    const fleetTargets = fleet.map((i) => i.target);
    expect(webhook.alerts.filter((a) => a.labels.alertname === 'Talk2meMemoryNearThreshold' && fleetTargets.includes(a.labels.instance ?? ''))).toEqual([]);

    // The instance over its threshold is alive and says so: /ready is 503 (a load balancer would
    // send its work elsewhere), a transcription that needs a whisper state is refused with 503 and
    // Retry-After (predictive admission), the ladder trims, and may not reload yet.
    expect((await fetch(`${memoryInstance.url}/health`)).status).toBe(200);
    const ready = await fetch(`${memoryInstance.url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reason: string }).reason).toMatch(/^memory /);
    const answer = await send(`${memoryInstance.url}/transcribe`, { body }).answer;
    expect(answer.status, answer.text).toBe(503);
    expect(answer.json().error.code).toBe('MEMORY_PRESSURE');
    expect(answer.headers['retry-after']).toBeDefined();
    const metrics = await memoryInstance.metricsText();
    expect(counterValue(metrics, 'talk2me_memory_cleanups_total', { level: 'aggressive' })).toBeGreaterThan(0);
    expect(counterValue(metrics, 'talk2me_model_reloads_total', {})).toBe(0);
  });

  it('records the fleet memory as the sum of the instances figures', async () => {
    const rule = 'talk2me:process_resident_memory_bytes:sum';
    const window = '30s';
    await waitUntil(async () => ((await prometheus.rawSamples(rule, window))[0]?.values.length ?? 0) >= 10, `${rule} to be recorded`, 30_000, 500);
    const now = Date.now() / 1000;
    const [recorded] = await prometheus.rawSamples(rule, window, now);
    const selector = (name: string): string => `${name}{job="${SCRAPE_JOB}"}`;
    const [rss, up, durations] = await Promise.all(
      ['process_resident_memory_bytes', 'up', 'scrape_duration_seconds'].map((name) => prometheus.rawSamples(selector(name), '40s', now)),
    );
    expect(recorded!.metric).toEqual({ __name__: rule, job: SCRAPE_JOB });
    const targets = [...fleet, memoryInstance].map((i) => i.target).sort();
    expect(rss!.map((s) => s.metric.instance).sort()).toEqual(targets);

    // The rule evaluated at T summed each instance's latest sample at or before T, but a sample is
    // there only once its scrape has finished, a little after its timestamp (the scrape's start):
    // for a scrape that began just before T the rule may have summed the one before. So each
    // instance contributes its latest sample, or either of its last two when the latest began
    // within its scrape's duration + 200 ms of T, and the recorded value must be one of those sums
    // exactly. Evaluations where an instance's latest scrape failed (restarting: its series is
    // stale) or is older than 1.5 intervals are not compared.
    const valuesOf = (series: Sample[], instance: string): Array<[number, string]> => series.find((s) => s.metric.instance === instance)?.values ?? [];
    const choices = (instance: string, t: number): number[] | null => {
      const samples = valuesOf(rss!, instance).filter(([ts]) => ts <= t);
      const sample = samples.at(-1);
      const scrape = valuesOf(up!, instance).filter(([ts]) => ts <= t).at(-1);
      const duration = valuesOf(durations!, instance).find(([ts]) => ts === sample?.[0]);
      if (!sample || !scrape || !duration || scrape[0] !== sample[0] || scrape[1] !== '1' || t - sample[0] >= 1.5) return null;
      const previous = samples.at(-2);
      const maybeLate = t - sample[0] < Number(duration[1]) + 0.2;
      return maybeLate && previous && sample[0] - previous[0] < 1.5 ? [Number(sample[1]), Number(previous[1])] : [Number(sample[1])];
    };
    let unambiguous = 0;
    const compared: Array<{ t: number; recorded: number; sums: number[] }> = [];
    for (const [t, value] of recorded!.values) {
      const perTarget = targets.map((instance) => choices(instance, t));
      if (perTarget.some((c) => c === null)) continue;
      const sums = perTarget.reduce<number[]>((partial, options) => partial.flatMap((s) => options!.map((o) => s + o)), [0]);
      if (sums.length === 1) unambiguous++;
      compared.push({ t, recorded: Number(value), sums });
    }
    console.log(`fleet: ${rule} compared at ${compared.length} of ${recorded!.values.length} evaluations (${unambiguous} with one possible sum); last ${JSON.stringify(compared.at(-1))}`);
    expect(compared.length).toBeGreaterThanOrEqual(5);
    for (const { recorded: r, sums } of compared) expect(sums).toContain(r);
    // Four processes of at least tens of MB each: a real figure, not an empty sum.
    expect(compared.at(-1)!.recorded).toBeGreaterThan(4 * 50 * 1024 * 1024);
  });
});
