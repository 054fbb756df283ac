// Holds PromQL written for talk2me (alert and recording rules, the Grafana dashboard, autoscaler
// queries) to the metrics the server really exports: the names come from a real scrape of /metrics
// of the real app, in-process on a synthetic model, after one transcription.
import { injectApp, makeRoot } from '../http/helpers/harness.js';
import { clip } from '../http/helpers/audio.js';
import { form } from '../http/helpers/multipart.js';
import { metricNamesInPromQL } from './promql-names.js';

export { metricNamesInPromQL } from './promql-names.js';

/**
 * Series Prometheus makes itself rather than scrapes: per target (up, scrape_*) and for alerting
 * rules (ALERTS, ALERTS_FOR_STATE).
 */
export const PROMETHEUS_SERIES: readonly string[] = [
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
  'ALERTS',
  'ALERTS_FOR_STATE',
];

/**
 * The series names an exposition in Prometheus' text format gives: every sample's name, and for
 * every family its # TYPE line declares, the names it can have (a histogram's _bucket, _sum and
 * _count). The TYPE lines count too because some families have no sample in a given process: the
 * GPU gauges without a GPU, a labelled histogram before its first observation.
 */
export function metricNamesInExposition(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      const [, family, kind] = type as unknown as [string, string, string];
      if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(family + suffix);
      else if (kind === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(family + suffix);
      else names.add(family);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]!);
  }
  return names;
}

/** The text of /metrics of a real talk2me app (in-process, a synthetic mini model) after one transcription. */
export async function scrapeAfterTranscription(): Promise<string> {
  const root = await makeRoot('exported-metrics');
  const server = await injectApp(root, 'exported-metrics');
  try {
    const body = await form([['audio', { data: clip(2), filename: 'a.wav' }]]);
    const transcribed = await server.app.inject({ method: 'POST', url: '/transcribe', payload: body.payload, headers: { 'content-type': body.contentType } });
    if (transcribed.statusCode !== 200) throw new Error(`The transcription before the scrape failed: ${transcribed.statusCode} ${transcribed.body}`);
    const scraped = await server.app.inject({ method: 'GET', url: '/metrics' });
    if (scraped.statusCode !== 200) throw new Error(`GET /metrics answered ${scraped.statusCode}`);
    return scraped.body;
  } finally {
    await server.close();
    await root.remove();
  }
}

let exported: Promise<Set<string>> | undefined;

/** Every series name the server exports, plus Prometheus' own (up, ALERTS, ...); one scrape per process. */
export function exportedMetricNames(): Promise<Set<string>> {
  exported ??= scrapeAfterTranscription().then((text) => new Set([...metricNamesInExposition(text), ...PROMETHEUS_SERIES]));
  return exported;
}

export interface PromQLSource {
  /** Where the expression is, for the failure message (a file and a rule or panel). */
  where: string;
  expr: string;
}

export interface UnknownMetric {
  where: string;
  name: string;
  expr: string;
}

/** The names `sources` select that are not in `known`: empty when every one is exported (or recorded). */
export function unknownMetricNames(sources: readonly PromQLSource[], known: ReadonlySet<string>): UnknownMetric[] {
  return sources.flatMap(({ where, expr }) => metricNamesInPromQL(expr).filter((name) => !known.has(name)).map((name) => ({ where, name, expr })));
}
