// Prometheus and Alertmanager for the fleet test: their configurations, the rule files copied with
// shorter `for:` durations, the Prometheus HTTP API, and the webhook receiver Alertmanager
// delivers to.
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { basename, join } from 'node:path';

import { parse, stringify } from 'yaml';

export const SCRAPE_JOB = 'talk2me';

/** Scrape and evaluate every second: the test waits for seconds, not minutes. */
export function prometheusConfig(options: { targets: string[]; ruleFiles: string[]; alertmanager: string }): string {
  return stringify({
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: options.ruleFiles,
    alerting: { alertmanagers: [{ static_configs: [{ targets: [options.alertmanager] }] }] },
    scrape_configs: [{ job_name: SCRAPE_JOB, static_configs: [{ targets: options.targets }] }],
  });
}

/** Every alert to the test's webhook at once (group_wait 1s), never repeated within the test. */
export function alertmanagerConfig(webhookUrl: string): string {
  return stringify({
    route: { receiver: 'test', group_by: ['alertname', 'instance'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
    receivers: [{ name: 'test', webhook_configs: [{ url: webhookUrl, send_resolved: false }] }],
  });
}

interface RuleGroup {
  name: string;
  rules: Array<{ alert?: string; record?: string; for?: string }>;
}

/**
 * Copies rule files into `dir` with every alert's `for:` cut to `forDuration` (the real ones wait
 * minutes to ride out blips; the test cannot). Expressions, names and labels stay as they are.
 */
export async function copyRulesWithShortFor(files: string[], dir: string, forDuration: string): Promise<string[]> {
  const copies: string[] = [];
  for (const file of files) {
    const doc = parse(await readFile(file, 'utf8')) as { groups: RuleGroup[] };
    for (const group of doc.groups) {
      for (const rule of group.rules) if (rule.alert !== undefined && rule.for !== undefined) rule.for = forDuration;
    }
    const copy = join(dir, `short-for-${basename(file)}`);
    await writeFile(copy, stringify(doc));
    copies.push(copy);
  }
  return copies;
}

export interface Sample {
  metric: Record<string, string>;
  /** [unix seconds, value as text] pairs. */
  values: Array<[number, string]>;
}

/** The Prometheus HTTP API at `base`. */
export class PrometheusApi {
  constructor(readonly base: string) {}

  async #get(path: string, params: Record<string, string> = {}): Promise<any> {
    const url = new URL(path, this.base);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const response = await fetch(url);
    const body = (await response.json()) as { status: string; data: unknown; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${url}: ${body.error ?? response.status}`);
    return body.data;
  }

  /** An instant query whose result is a range vector (`expr[5s]`): raw samples with their timestamps. */
  async rawSamples(selector: string, range: string, time?: number): Promise<Sample[]> {
    const data = await this.#get('/api/v1/query', { query: `${selector}[${range}]`, ...(time !== undefined && { time: String(time) }) });
    if (data.resultType !== 'matrix') throw new Error(`Expected a matrix for ${selector}[${range}] but received ${data.resultType}`);
    return data.result as Sample[];
  }

  async instant(query: string, time?: number): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const data = await this.#get('/api/v1/query', { query, ...(time !== undefined && { time: String(time) }) });
    return data.result;
  }

  async targets(): Promise<Array<{ labels: Record<string, string>; health: string }>> {
    return (await this.#get('/api/v1/targets')).activeTargets;
  }

  async ruleGroups(): Promise<Array<{ name: string; file: string; rules: Array<{ name: string; type: string; health: string; lastError?: string }> }>> {
    return (await this.#get('/api/v1/rules')).groups;
  }

  async alerts(): Promise<Array<{ labels: Record<string, string>; state: string }>> {
    return (await this.#get('/api/v1/alerts')).alerts;
  }
}

export interface DeliveredAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** When the receiver got it (ms since the epoch). */
  receivedAt: number;
}

/** The HTTP endpoint Alertmanager's webhook_config posts to; keeps every alert it is sent. */
export class WebhookReceiver {
  readonly alerts: DeliveredAlert[] = [];
  readonly #server: Server;
  port = 0;

  constructor() {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        try {
          const payload = JSON.parse(Buffer.concat(chunks).toString()) as { alerts: Array<Omit<DeliveredAlert, 'receivedAt'>> };
          for (const alert of payload.alerts) this.alerts.push({ status: alert.status, labels: alert.labels, annotations: alert.annotations, receivedAt: Date.now() });
          response.writeHead(200).end();
        } catch {
          response.writeHead(400).end();
        }
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    if (typeof address !== 'object' || !address) throw new Error('webhook receiver: no address');
    this.port = address.port;
    return `http://127.0.0.1:${this.port}/alerts`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
