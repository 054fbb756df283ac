// The monitoring deploy files against promtool and against the server: deploy/prometheus's rules
// pass `promtool check rules` and their unit tests (`promtool test rules`), every alert is tested
// firing and silent, every recording rule is tested; every PromQL expression of the Grafana
// dashboard parses; and rules and dashboard name only metrics a real talk2me exports (or the rules
// record, or Prometheus makes itself).
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

import { exportedMetricNames, metricNamesInExposition, metricNamesInPromQL, unknownMetricNames, type PromQLSource } from '../helpers/exported-metrics.js';
import { tempDir } from '../helpers/temp-dir.js';

const PROMETHEUS = 'deploy/prometheus';
const RULES = join(PROMETHEUS, 'rules');
const RULE_TESTS = join(PROMETHEUS, 'tests');
const DASHBOARD = 'deploy/grafana/talk2me.json';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleFile {
  file: string;
  groups: Array<{ name: string; rules: Rule[] }>;
}

async function yamlFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.yml')).sort().map((f) => join(dir, f));
}

async function ruleFiles(): Promise<RuleFile[]> {
  return Promise.all((await yamlFiles(RULES)).map(async (file) => ({ file, ...(parse(await readFile(file, 'utf8')) as Omit<RuleFile, 'file'>) })));
}

const rulesOf = (files: RuleFile[]): Rule[] => files.flatMap((f) => f.groups.flatMap((g) => g.rules));

/** Exit code and output of a command; null when it is not installed. */
function run(command: string, args: string[]): Promise<{ code: number | null; output: string } | null> {
  return new Promise((resolve) => {
    const child = execFile(command, args, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') resolve(null);
      else resolve({ code: child.exitCode, output: `${stdout}${stderr}` });
    });
  });
}

/** promtool's answer, or a skipped test where it is not installed. */
async function promtool(context: { skip: (note: string) => void }, ...args: string[]): Promise<{ code: number | null; output: string }> {
  const result = await run('promtool', args);
  if (result === null) context.skip('promtool is not installed (apt-get install prometheus provides it)');
  return result!;
}

describe('metricNamesInPromQL', () => {
  const cases: Array<[string, string[]]> = [
    ['up', ['up']],
    ['talk2me:queue_depth:sum{job="talk2me"}', ['talk2me:queue_depth:sum']],
    // Functions, aggregations, by/without lists, durations, offsets and subqueries.
    ['sum by (instance, job) (rate(foo_total{route!~"/metrics|/health"}[5m] offset 1h))', ['foo_total']],
    ['histogram_quantile(0.95, sum without (pod) (rate(a_bucket{le!="+Inf"}[5m:30s])))', ['a_bucket']],
    ['SUM BY (job) (Foo) / ignoring (code) group_left (version) bar_info', ['Foo', 'bar_info']],
    ['a / on (instance) group_left b', ['a', 'b']],
    ['sum(x) without (le) > bool 0.9 and y unless z or w', ['x', 'y', 'z', 'w']],
    // Strings are never names, nor are the label names in matchers and label_replace's arguments.
    ['label_replace(m, "dst", "not_a_metric", "instance", "(.*)") * on () group_right count_values("version", build_info)', ['m', 'build_info']],
    ["max_over_time(g{job='x', instance=~`a|b`}[1h])", ['g']],
    // Numbers and the number keywords.
    ['1e3 * 0x1F + 1.5 - .5 * c > Inf or d < -NaN', ['c', 'd']],
    ['increase(r[1h]) > 1.5 + 3600 / interval_seconds', ['r', 'interval_seconds']],
    // A name given as __name__, a comment, and the @ modifier.
    ['{__name__="via_name", job="j"} # not_a_name here\n + e @ start()', ['via_name', 'e']],
    ['{__name__=~"talk2me_.*"}', []],
    ['h and h', ['h']],
  ];
  for (const [expr, names] of cases) it(JSON.stringify(expr), () => expect(metricNamesInPromQL(expr)).toEqual(names));

  it('refuses what it cannot read rather than guessing', () => {
    expect(() => metricNamesInPromQL('sum(x{job="a)')).toThrow(/Unterminated string|Unclosed/);
    expect(() => metricNamesInPromQL('rate(x[5m)')).toThrow(/Unclosed \[/);
  });
});

describe('metricNamesInExposition', () => {
  it('takes sample names and the series names of every declared family', () => {
    const text = [
      '# HELP h_seconds A histogram',
      '# TYPE h_seconds histogram',
      '# TYPE s summary',
      '# TYPE g gauge',
      '# TYPE c_total counter',
      'c_total{route="x"} 1',
      'plain 2',
      '',
    ].join('\n');
    expect([...metricNamesInExposition(text)].sort()).toEqual(['c_total', 'g', 'h_seconds_bucket', 'h_seconds_count', 'h_seconds_sum', 'plain', 's', 's_count', 's_sum'].sort());
  });
});

// The server's names, from one real scrape: shared by the rules and the dashboard checks.
let exported: Set<string>;
let recorded: Set<string>;
let files: RuleFile[];

beforeAll(async () => {
  exported = await exportedMetricNames();
  files = await ruleFiles();
  recorded = new Set(rulesOf(files).flatMap((r) => (r.record ? [r.record] : [])));
});

describe('exported metric names (a real scrape)', () => {
  it('has the families the rules rely on, with histogram series, GPU gauges and Prometheus own series', () => {
    for (const name of [
      'process_resident_memory_bytes',
      'talk2me_memory_threshold_bytes',
      'talk2me_gpu_memory_threshold_bytes',
      'talk2me_gpu_memory_used_bytes',
      'talk2me_model_reload_min_interval_seconds',
      'talk2me_http_requests_total',
      'talk2me_transcription_duration_seconds_bucket',
      'talk2me_transcription_duration_seconds_sum',
      'talk2me_transcription_duration_seconds_count',
      // Readiness and predictive admission: the cost gauge is there once a transcription built a state.
      'talk2me_ready',
      'talk2me_memory_pressure',
      'talk2me_admission_memory_total',
      'talk2me_whisper_state_cost_bytes',
      'up',
      'ALERTS',
    ]) {
      expect(exported.has(name), name).toBe(true);
    }
    // A histogram family itself is no series.
    expect(exported.has('talk2me_transcription_duration_seconds')).toBe(false);
  });

  it('catches a made-up name, a misspelt one and a recording rule that does not exist', () => {
    const known = new Set([...exported, ...recorded]);
    const sources: PromQLSource[] = [
      { where: 'made up', expr: 'sum(rate(talk2me_made_up_total[5m]))' },
      { where: 'misspelt', expr: 'process_resident_memory_bytes / talk2me_memory_treshold_bytes > 0.9' },
      { where: 'not recorded', expr: 'talk2me:nothing:sum{job="talk2me"}' },
      { where: 'fine', expr: 'talk2me:queue_depth:sum / talk2me:queue_depth_max:sum' },
    ];
    expect(unknownMetricNames(sources, known).map((u) => [u.where, u.name])).toEqual([
      ['made up', 'talk2me_made_up_total'],
      ['misspelt', 'talk2me_memory_treshold_bytes'],
      ['not recorded', 'talk2me:nothing:sum'],
    ]);
  });
});

/** PromQL a rule's annotations run through `query` (printf "..." with %q for label values). */
function annotationQueries(rule: Rule): string[] {
  const texts = Object.values(rule.annotations ?? {});
  return texts.flatMap((text) => [...text.matchAll(/printf "((?:[^"\\]|\\.)*)"[^|}]*\|\s*query/g)].map((m) => m[1]!.replace(/\\"/g, '"').replace(/%q/g, '"x"')));
}

describe('deploy/prometheus', () => {
  it('passes promtool check rules', async (context) => {
    const ruleFilePaths = files.map((f) => f.file);
    const result = await promtool(context, 'check', 'rules', ...ruleFilePaths);
    expect(result.code, result.output).toBe(0);
    expect(result.output.match(/SUCCESS/g)).toHaveLength(ruleFilePaths.length);
  });

  it('passes its unit tests (promtool test rules)', async (context) => {
    const tests = await yamlFiles(RULE_TESTS);
    expect(tests.length).toBeGreaterThan(0);
    const result = await promtool(context, 'test', 'rules', ...tests);
    expect(result.code, result.output).toBe(0);
    expect(result.output).not.toMatch(/FAILED/);
  });

  it('unit-tests every alert firing and silent, and every recording rule', async () => {
    const firing = new Set<string>();
    const silent = new Set<string>();
    const tested: string[] = [];
    for (const file of await yamlFiles(RULE_TESTS)) {
      const doc = parse(await readFile(file, 'utf8')) as {
        tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>; promql_expr_test?: Array<{ expr: string }> }>;
      };
      for (const test of doc.tests) {
        for (const alert of test.alert_rule_test ?? []) (alert.exp_alerts?.length ? firing : silent).add(alert.alertname);
        for (const expr of test.promql_expr_test ?? []) tested.push(...metricNamesInPromQL(expr.expr));
      }
    }
    for (const rule of rulesOf(files)) {
      if (rule.alert) {
        expect(firing.has(rule.alert), `${rule.alert} fires in a test`).toBe(true);
        expect(silent.has(rule.alert), `${rule.alert} stays silent in a test`).toBe(true);
      } else {
        expect(tested, `${rule.record} is tested`).toContain(rule.record);
      }
    }
  });

  it('alerts have a severity, a summary and a description naming the instance, and a plain for: duration', () => {
    const alerts = rulesOf(files).filter((r) => r.alert);
    expect(alerts.length).toBeGreaterThanOrEqual(7);
    for (const rule of alerts) {
      expect(rule.alert).toMatch(/^Talk2me[A-Z][A-Za-z0-9]+$/);
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toContain('{{ $labels.instance }}');
      expect(rule.annotations?.description, rule.alert).toContain('{{ $labels.instance }}');
      // A fleet test may shorten it in a copy, so it stays one duration, never a template.
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
    }
  });

  it('recording rules are named level:metric:operations', () => {
    for (const rule of rulesOf(files).filter((r) => r.record)) expect(rule.record).toMatch(/^(talk2me|instance):[a-z0-9_]+:[a-z0-9_]+$/);
  });

  it('rules and the queries in their annotations name only exported or recorded metrics', () => {
    const sources = files.flatMap((f) =>
      f.groups.flatMap((g) =>
        g.rules.flatMap((r) => [
          { where: `${f.file} ${r.alert ?? r.record}`, expr: r.expr },
          ...annotationQueries(r).map((expr) => ({ where: `${f.file} ${r.alert} annotation`, expr })),
        ]),
      ),
    );
    expect(sources.filter((s) => s.where.endsWith('annotation')).length).toBeGreaterThan(5);
    expect(unknownMetricNames(sources, new Set([...exported, ...recorded]))).toEqual([]);
  });

  it('README names every alert and recording rule', async () => {
    const readme = await readFile(join(PROMETHEUS, 'README.md'), 'utf8');
    for (const rule of rulesOf(files)) expect(readme, rule.alert ?? rule.record).toContain(`\`${rule.alert ?? rule.record}\``);
  });

  it('the example prometheus.yml loads the rules (promtool check config)', async (context) => {
    const result = await promtool(context, 'check', 'config', join(PROMETHEUS, 'prometheus.yml'));
    expect(result.code, result.output).toBe(0);
    for (const file of files) expect(result.output).toContain(file.file.slice(PROMETHEUS.length + 1));
  });

  it('the example alertmanager.yml is valid (amtool check-config)', async (context) => {
    const result = await run('amtool', ['check-config', join(PROMETHEUS, 'alertmanager.yml')]);
    if (result === null) {
      context.skip('amtool is not installed (apt-get install prometheus-alertmanager provides it)');
      return;
    }
    expect(result.code, result.output).toBe(0);
    // Its inhibitions name alerts that exist.
    const config = parse(await readFile(join(PROMETHEUS, 'alertmanager.yml'), 'utf8')) as { inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[] }> };
    const alerts = new Set(rulesOf(files).flatMap((r) => (r.alert ? [r.alert] : [])));
    for (const rule of config.inhibit_rules) {
      for (const matcher of [...rule.source_matchers, ...rule.target_matchers]) expect(alerts).toContain(/alertname="(\w+)"/.exec(matcher)?.[1]);
    }
  });
});

// ---------------------------------------------------------------- Grafana

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ refId: string; expr: string; datasource?: { uid: string } }>;
  panels?: Panel[];
}

interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  id?: number | null;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: string | { query: string }; datasource?: { uid: string } }> };
  annotations: { list: Array<{ name: string; expr?: string; datasource?: { uid: string } }> };
}

// Grafana's built-in variables, with values that make valid PromQL where they stand.
const GRAFANA_BUILT_INS: Record<string, string> = { __rate_interval: '5m', __interval: '1m', __range: '1h', __range_s: '3600', __interval_ms: '60000' };

/** `expr` with Grafana's variables ($name, ${name}, ${name:format}, [[name]]) replaced; an undefined one throws. */
function substitute(expr: string, variables: Record<string, string>): string {
  return expr.replace(/\$\{([a-zA-Z_]\w*)(?::[^}]*)?\}|\$([a-zA-Z_]\w*)|\[\[([a-zA-Z_]\w*)\]\]/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    const value = variables[name] ?? GRAFANA_BUILT_INS[name];
    if (value === undefined) throw new Error(`${whole} is no variable of the dashboard (in ${expr})`);
    return value;
  });
}

/** The PromQL inside a Prometheus variable query: label_values(selector, label) and query_result(expr); none in label_names() or metrics(). */
function variableQueryPromQL(query: string): string | null {
  const labelValues = /^\s*label_values\(\s*(.*),\s*[a-zA-Z_]\w*\s*\)\s*$/s.exec(query);
  if (labelValues) return labelValues[1]!;
  if (/^\s*label_values\(\s*[a-zA-Z_]\w*\s*\)\s*$/.test(query) || /^\s*(label_names|metrics)\(/.test(query)) return null;
  const result = /^\s*query_result\((.*)\)\s*$/s.exec(query);
  return result ? result[1]! : query;
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

describe('deploy/grafana', () => {
  let dashboard: Dashboard;
  let sources: PromQLSource[];

  beforeAll(async () => {
    dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
    // Example values for the dashboard's own variables: they stand inside label matchers' strings.
    const variables: Record<string, string> = {};
    for (const v of dashboard.templating.list) variables[v.name] = v.name === 'instance' ? '127.0.0.1:5005' : 'talk2me';
    const raw: PromQLSource[] = [
      ...allPanels(dashboard.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr }))),
      ...dashboard.annotations.list.flatMap((a) => (a.expr ? [{ where: `annotation "${a.name}"`, expr: a.expr }] : [])),
      ...dashboard.templating.list.flatMap((v) => {
        if (v.type !== 'query' || v.query === undefined) return [];
        const promql = variableQueryPromQL(typeof v.query === 'string' ? v.query : v.query.query);
        return promql === null ? [] : [{ where: `variable $${v.name}`, expr: promql }];
      }),
    ];
    sources = raw.map((s) => ({ where: s.where, expr: substitute(s.expr, variables) }));
  });

  it('is a dashboard Grafana can provision: uid, no id, unique panel ids, every query on the $datasource variable', () => {
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.title).toBe('talk2me');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.id ?? null).toBeNull();
    const panels = allPanels(dashboard.panels);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')?.type).toBe('datasource');
    for (const panel of panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource?.uid ?? '${datasource}', panel.title).toBe('${datasource}');
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
    }
  });

  it('has a fleet view and a per-instance view over memory, readiness, admission, queue, requests, reloads, cleanups, temp files and sessions', () => {
    const text = sources.map((s) => s.expr).join('\n');
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(expect.arrayContaining(['job', 'instance']));
    expect(allPanels(dashboard.panels).filter((p) => p.type === 'row').map((p) => p.title)).toEqual(['Fleet: job $job', 'Instance: $instance']);
    for (const name of [
      'talk2me:process_resident_memory_bytes:sum',
      'talk2me:queue_depth:sum',
      'talk2me:transcriptions:rate5m',
      'talk2me:ready:sum',
      'talk2me:memory_pressure:sum',
      'talk2me:admission_memory:rate5m',
      'talk2me:admission_memory_refused:ratio_rate5m',
      'process_resident_memory_bytes',
      'talk2me_memory_threshold_bytes',
      'nodejs_heap_size_used_bytes',
      'talk2me_gpu_memory_used_bytes',
      'talk2me_whisper_states',
      'talk2me_queue_depth',
      'talk2me_inflight_transcriptions',
      'talk2me_http_requests_total',
      'talk2me_http_request_duration_seconds_bucket',
      'talk2me_transcription_duration_seconds_bucket',
      'talk2me_model_reloads_total',
      'talk2me_memory_cleanups_total',
      'talk2me_temp_files',
      'talk2me_sessions_active',
      'talk2me_ready',
      'talk2me_memory_pressure',
      'talk2me_admission_memory_total',
      'talk2me_whisper_state_cost_bytes',
    ]) {
      expect(text, name).toContain(name);
    }
  });

  it('every PromQL expression in it parses (promtool check rules)', async (context) => {
    expect(sources.length).toBeGreaterThan(40);
    const dir = await tempDir('dashboard-promql');
    try {
      const file = join(dir.path, 'dashboard.yml');
      const rules = sources.map((s, i) => ({ record: `dashboard:expr_${i}:check`, expr: s.expr }));
      await writeFile(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      const result = await promtool(context, 'check', 'rules', file);
      const listing = sources.map((s, i) => `${i}: ${s.where}: ${s.expr}`).join('\n');
      expect(result.code, `${result.output}\n${listing}`).toBe(0);
      expect(result.output).toContain(`SUCCESS: ${sources.length} rules found`);
    } finally {
      await dir.remove();
    }
  });

  it('names only metrics the server exports or the rules record', () => {
    expect(unknownMetricNames(sources, new Set([...exported, ...recorded]))).toEqual([]);
  });

  it('refuses a variable it does not define', () => {
    expect(() => substitute('rate(x{pod="$pod"}[$__rate_interval])', { job: 'talk2me' })).toThrow(/\$pod is no variable/);
    expect(substitute('rate(x{job="${job:regex}"}[$__rate_interval]) * [[job]]', { job: 'j' })).toBe('rate(x{job="j"}[5m]) * j');
  });
});
