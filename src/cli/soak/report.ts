// What a soak found, as a report for people and as JSON for machines, and the limits it is held
// to. RSS growth is the least-squares slope over every reading after the warm-up (first and last
// alone would take the young generation's swing for growth), in MB per 1000 requests, with two
// standard errors; latency compares the first and the last tenth of the good requests.
import { linearFit, median, quantile } from '../../shared/stats.js';
import type { SoakKind } from './kinds.js';
import type { Answers, SoakRun } from './run.js';

/** What each request's answer counts as. */
export const OUTCOMES = ['ok', 'expected', 'hung up', 'closed', 'busy', '5xx', 'no answer', 'unexpected'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Limits given as flags; each undefined one is not checked. */
export interface SoakLimits {
  rssSlopeMb?: number;
  fiveXx?: number;
  unexpected?: number;
  latencyGrowth?: number;
  tempFiles?: number;
  fdGrowth?: number;
}

export interface LimitCheck {
  flag: string;
  limit: number;
  /** null when the run could not measure it (which fails the check). */
  value: number | null;
  exceeded: boolean;
}

export interface Tenth {
  requests: number;
  medianMs: number;
  p90Ms: number;
}

export interface SoakReport {
  target: string;
  interrupted: boolean;
  requests: { measured: number; warmup: number; concurrency: number; wallS: number; perS: number };
  /** Kind → its share of the mix, in percent. */
  mix: Record<string, number>;
  /** Measured requests by outcome. */
  outcomes: Record<Outcome, number>;
  kinds: Array<{ kind: string; requests: number; statuses: Record<string, number>; outcomes: Partial<Record<Outcome, number>> }>;
  fiveXx: { measured: number; warmup: number; total: number };
  /** Unexpected answers and missing ones where one was due, warm-up included. */
  unexpected: { measured: number; warmup: number; total: number };
  rss: {
    source: string;
    startMb: number;
    endMb: number;
    slopeMbPer1000: number;
    /** Two standard errors of the slope: the readings' scatter decides how small a growth the run can see. */
    slopeErrorMbPer1000: number | null;
    r2: number;
    /** The same over the second half of the readings: growth that goes on, not settling. */
    secondHalfSlopeMbPer1000: number;
    everyRequests: number;
    samplesMb: number[];
  };
  heap: { startMb: number; endMb: number; slopeMbPer1000: number } | null;
  fds: { before: number; after: number; growth: number } | null;
  tempFilesLeft: number | null;
  latency: { goodRequests: number; firstTenth: Tenth | null; lastTenth: Tenth | null; growth: number | null };
  limits: LimitCheck[];
  exceeded: string[];
  examples: Record<string, string>;
}

const MB = 1024 * 1024;
const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;
const perThousandMb = (bytesPerRequest: number): number => (bytesPerRequest * 1000) / MB;

export function classify(kind: SoakKind, status: number, hungUp: boolean): Outcome {
  if (status === 0) {
    if (hungUp) return 'hung up';
    return kind.noAnswerOk ? 'closed' : 'no answer';
  }
  if (kind.expected.includes(status)) return kind.good ? 'ok' : 'expected';
  if (status === 429) return 'busy';
  if (status >= 500) return '5xx';
  return 'unexpected';
}

const emptyOutcomes = (): Record<Outcome, number> => Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;

function tally(answers: Answers): Record<Outcome, number> {
  const out = emptyOutcomes();
  for (let i = 0; i < answers.sent; i++) out[classify(answers.schedule.kind(i), answers.status[i] as number, answers.hungUp[i] === 1)]++;
  return out;
}

const badAnswers = (o: Record<Outcome, number>): number => o.unexpected + o['no answer'];

function tenth(ms: readonly number[]): Tenth | null {
  if (ms.length === 0) return null;
  const sorted = [...ms].sort((a, b) => a - b);
  return { requests: ms.length, medianMs: round(median(sorted), 1), p90Ms: round(quantile(sorted, 0.9), 1) };
}

function latency(measured: Answers): SoakReport['latency'] {
  const good: number[] = [];
  for (let i = 0; i < measured.sent; i++) {
    const kind = measured.schedule.kind(i);
    if (kind.good && kind.expected.includes(measured.status[i] as number)) good.push(measured.ms[i] as number);
  }
  const n = Math.max(1, Math.floor(good.length / 10));
  const first = tenth(good.slice(0, n));
  const last = tenth(good.slice(good.length - n));
  return { goodRequests: good.length, firstTenth: first, lastTenth: last, growth: first && last && first.medianMs > 0 ? round(last.medianMs / first.medianMs, 3) : null };
}

function kindsOf(measured: Answers): SoakReport['kinds'] {
  return measured.schedule.mix.map(({ kind }, k) => {
    const statuses: Record<string, number> = {};
    const outcomes: Partial<Record<Outcome, number>> = {};
    let requests = 0;
    for (let i = 0; i < measured.sent; i++) {
      if (measured.schedule.kindOf[i] !== k) continue;
      requests++;
      const status = measured.status[i] as number;
      const key = status === 0 ? (measured.hungUp[i] === 1 ? 'hung up' : 'no answer') : String(status);
      statuses[key] = (statuses[key] ?? 0) + 1;
      const outcome = classify(kind, status, measured.hungUp[i] === 1);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    return { kind: kind.name, requests, statuses, outcomes };
  });
}

function checkLimits(limits: SoakLimits, report: Omit<SoakReport, 'limits' | 'exceeded'>): LimitCheck[] {
  const checks: Array<[string, number | undefined, number | null]> = [
    ['--max-rss-slope-mb', limits.rssSlopeMb, report.rss.slopeMbPer1000],
    ['--max-5xx', limits.fiveXx, report.fiveXx.total],
    ['--max-unexpected', limits.unexpected, report.unexpected.total],
    ['--max-latency-growth', limits.latencyGrowth, report.latency.growth],
    ['--max-temp-files', limits.tempFiles, report.tempFilesLeft],
    ['--max-fd-growth', limits.fdGrowth, report.fds?.growth ?? null],
  ];
  return checks
    .filter((c): c is [string, number, number | null] => c[1] !== undefined)
    .map(([flag, limit, value]) => ({ flag, limit, value, exceeded: value === null || value > limit }));
}

export function buildReport(run: SoakRun, context: { target: string; rssSource: string; concurrency: number; limits: SoakLimits }): SoakReport {
  const { measured, warmup, samples } = run;
  const outcomes = tally(measured);
  const warmupOutcomes = tally(warmup);
  const xs = samples.map((s) => s.requests);
  const fit = linearFit(xs, samples.map((s) => s.rssBytes));
  const half = Math.floor(samples.length / 2);
  const late = linearFit(xs.slice(half), samples.slice(half).map((s) => s.rssBytes));
  const heaps = samples.map((s) => s.heapUsedBytes);
  const first = samples[0];
  const last = samples.at(-1);
  const wallS = measured.wallMs / 1000;
  const total = run.measured.schedule.mix.reduce((sum, m) => sum + m.weight, 0);
  const body: Omit<SoakReport, 'limits' | 'exceeded'> = {
    target: context.target,
    interrupted: run.interrupted,
    requests: { measured: measured.sent, warmup: warmup.sent, concurrency: context.concurrency, wallS: round(wallS, 1), perS: wallS > 0 ? round(measured.sent / wallS, 2) : 0 },
    mix: Object.fromEntries(measured.schedule.mix.map((m) => [m.kind.name, round((100 * m.weight) / total, 1)])),
    outcomes,
    kinds: kindsOf(measured),
    fiveXx: { measured: outcomes['5xx'], warmup: warmupOutcomes['5xx'], total: outcomes['5xx'] + warmupOutcomes['5xx'] },
    unexpected: { measured: badAnswers(outcomes), warmup: badAnswers(warmupOutcomes), total: badAnswers(outcomes) + badAnswers(warmupOutcomes) },
    rss: {
      source: context.rssSource,
      startMb: round((first?.rssBytes ?? 0) / MB, 1),
      endMb: round((last?.rssBytes ?? 0) / MB, 1),
      slopeMbPer1000: round(perThousandMb(fit.slope), 3),
      slopeErrorMbPer1000: Number.isFinite(fit.slopeError) ? round(2 * perThousandMb(fit.slopeError), 3) : null,
      r2: round(fit.r2, 2),
      secondHalfSlopeMbPer1000: round(perThousandMb(late.slope), 3),
      everyRequests: samples[1]?.requests ?? 0,
      samplesMb: samples.map((s) => round(s.rssBytes / MB, 1)),
    },
    heap: heaps.every((h): h is number => h !== null) && heaps.length > 0
      ? { startMb: round((heaps[0] as number) / MB, 1), endMb: round((heaps.at(-1) as number) / MB, 1), slopeMbPer1000: round(perThousandMb(linearFit(xs, heaps).slope), 3) }
      : null,
    fds: run.before.fds !== null && run.after.fds !== null ? { before: run.before.fds, after: run.after.fds, growth: run.after.fds - run.before.fds } : null,
    tempFilesLeft: run.after.tempFiles,
    latency: latency(measured),
    examples: Object.fromEntries(run.examples),
  };
  const limits = checkLimits(context.limits, body);
  const exceeded = limits.filter((l) => l.exceeded).map((l) => (l.value === null ? `${l.flag} ${l.limit}: not measured by this run` : `${l.flag} ${l.limit}: measured ${l.value}`));
  return { ...body, limits, exceeded };
}

// ---------------------------------------------------------------------------------------------
// For people

const n1 = (x: number): string => x.toFixed(1);
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x}`;

function describeTenth(t: Tenth | null): string {
  return t ? `median ${n1(t.medianMs)} ms, p90 ${n1(t.p90Ms)} ms (${t.requests} requests)` : 'none';
}

export function formatReport(report: SoakReport): string {
  const lines: string[] = [];
  const r = report.requests;
  lines.push(`talk2me soak: ${r.measured} requests after a warm-up of ${r.warmup}, ${r.concurrency} clients, against ${report.target}${report.interrupted ? ' (INTERRUPTED)' : ''}`);
  lines.push(`wall ${n1(r.wallS)} s, ${r.perS} requests/s`);
  lines.push('');
  const width = Math.max(4, ...report.kinds.map((k) => k.kind.length));
  lines.push(`${'kind'.padEnd(width)}  share  requests  answers`);
  for (const k of report.kinds) {
    const answers = Object.entries(k.statuses).sort((a, b) => b[1] - a[1]).map(([s, count]) => `${s}: ${count}`).join(', ');
    lines.push(`${k.kind.padEnd(width)}  ${`${report.mix[k.kind] ?? 0}%`.padStart(5)}  ${String(k.requests).padStart(8)}  ${answers || '-'}`);
  }
  lines.push(`outcomes: ${OUTCOMES.map((o) => `${o} ${report.outcomes[o]}`).join(', ')}`);
  lines.push('');
  const rss = report.rss;
  const error = rss.slopeErrorMbPer1000 === null ? '' : ` ± ${rss.slopeErrorMbPer1000}`;
  lines.push(`RSS (${rss.source}): ${n1(rss.startMb)} -> ${n1(rss.endMb)} MB; slope ${rss.slopeMbPer1000}${error} MB per 1000 requests (least squares over ${rss.samplesMb.length} readings, r² ${rss.r2}; second half alone ${rss.secondHalfSlopeMbPer1000})`);
  lines.push(`RSS readings (MB, every ${rss.everyRequests} requests): ${rss.samplesMb.map(n1).join(' ')}`);
  if (report.heap) lines.push(`V8 heap used: ${n1(report.heap.startMb)} -> ${n1(report.heap.endMb)} MB; ${report.heap.slopeMbPer1000} MB per 1000 requests`);
  lines.push(`open fds: ${report.fds ? `${report.fds.before} -> ${report.fds.after} (${signed(report.fds.growth)})` : 'not measured'}`);
  lines.push(`temp files left: ${report.tempFilesLeft ?? 'not measured'}`);
  const l = report.latency;
  lines.push(`latency of the ${l.goodRequests} good requests: first tenth ${describeTenth(l.firstTenth)}; last tenth ${describeTenth(l.lastTenth)}; growth ${l.growth ?? '-'}`);
  lines.push(`5xx: ${report.fiveXx.total} (${report.fiveXx.warmup} in the warm-up); unexpected or missing answers: ${report.unexpected.total} (${report.unexpected.warmup} in the warm-up)`);
  const examples = Object.entries(report.examples);
  if (examples.length > 0) {
    lines.push('');
    lines.push('One answer of each kind and status that is not a 2xx:');
    for (const [key, body] of examples) lines.push(`  ${key}: ${body.replace(/\s+/g, ' ').slice(0, 200)}`);
  }
  if (report.limits.length > 0) {
    lines.push('');
    lines.push(`limits: ${report.limits.map((c) => `${c.flag} ${c.limit}: ${c.value ?? 'not measured'} ${c.exceeded ? 'EXCEEDED' : 'ok'}`).join('; ')}`);
  }
  return `${lines.join('\n')}\n`;
}
