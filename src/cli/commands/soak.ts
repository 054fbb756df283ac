import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MODEL_DIMS, type ModelDimsName } from '../../model/dims.js';
import { writeSyntheticModel } from '../../model/synthetic.js';
import { invalidValue, Talk2meError } from '../../shared/errors.js';
import { CliUsageError, nonNegativeInteger, numberAbove, parseCommand, positiveInteger, type Command } from '../args.js';
import { KIND_NAMES, soakKinds, type MixEntry, type SoakKind } from '../soak/kinds.js';
import { buildReport, formatReport, type SoakLimits } from '../soak/report.js';
import { runSoak } from '../soak/run.js';
import { inProcessTarget, urlTarget, type SoakTarget } from '../soak/target.js';

const dimsNames = Object.keys(MODEL_DIMS) as ModelDimsName[];
const kindTable = soakKinds({ seconds: 0, uploadLimitMb: 1, seed: 1 })
  .map((k) => `  ${k.name.padEnd(21)}${`${k.weight}%`.padStart(4)}  ${k.good ? 'good' : 'bad '}  ${k.summary}`)
  .join('\n');

const usage = `Usage: talk2me soak (--url URL | --model PATH | --synthetic ${dimsNames.join('|')}) [options]

Sends a long run of good and bad requests, C at a time, and reports what the server kept: its RSS
growth per 1000 requests after a warm-up (least-squares slope over readings taken through the run),
open file descriptors, temporary files left, the latency of the first and the last tenth of the
good requests, 5xx and every other answer by kind. Exits 1 when a --max-* limit is exceeded.

Against a deployment (--url), figures come from its /metrics: point it at one instance, not at a
load balancer. With --model or --synthetic the server runs in this process (settings from the
environment, as for \`talk2me serve\`; uploads in a temporary directory, MAX_UPLOAD_MB=1 unless set),
and its RSS is read after a full garbage collection.

Target:
      --url URL               a running server, e.g. http://10.0.0.5:5005
      --model PATH            start a server in this process on this model
      --synthetic DIMS        ... on a synthetic model written for the run: ${dimsNames.join(' or ')}
      --api-key KEY           sent as Authorization: Bearer KEY (the server's API_KEY)
      --metrics-token TOKEN   bearer token for /metrics (the server's METRICS_TOKEN)
      --upload-limit-mb N     the server's MAX_UPLOAD_MB, for the oversized uploads (--url; default 25)
      --server-log FILE       the in-process server's log (default: written at LOG_LEVEL, then discarded)

Load:
  -n, --requests N            requests measured (default 1000)
      --warmup N              requests sent first, not measured (default: --requests, at most 1000)
  -c, --concurrency N         clients at once (default 4)
      --mix LIST              kinds and weights, e.g. wav=3,ffmpeg=1 (a kind alone weighs 1; default: the shares below)
      --audio-s S             length of the clip the good requests send (default 1)
      --samples N             readings of the server over the measured requests (default 40)
      --timeout-s S           a request without an answer by then counts as no answer (default 120)
      --seed N                the mix's order and the garbage bytes (default 1)

Limits (exit 1 when one is exceeded):
      --max-rss-slope-mb X    RSS growth in MB per 1000 requests after the warm-up
      --max-5xx N             5xx answers, warm-up included
      --max-unexpected N      answers other than the right ones, and no answer where one was due
      --max-latency-growth R  median latency of the last tenth of good requests over the first tenth's
      --max-temp-files N      temporary upload files left once the run is over
      --max-fd-growth N       open file descriptors gained over the measured requests

Output:
      --json                  the report as JSON on standard output
  -q, --quiet                 no progress on standard error
  -h, --help                  show this help

Kinds (share in the default mix):
${kindTable}
`;

export class SoakLimitError extends Talk2meError<'SOAK_LIMIT_EXCEEDED'> {
  constructor(readonly exceeded: readonly string[]) {
    super('SOAK_LIMIT_EXCEEDED', `Soak limit${exceeded.length === 1 ? '' : 's'} exceeded: ${exceeded.join('; ')}`);
  }
}

/** `wav=3,ffmpeg=1`, `wav,ffmpeg` or `default`. */
function parseMix(text: string | undefined, kinds: readonly SoakKind[]): MixEntry[] {
  if (text === undefined || text === 'default') return kinds.map((kind) => ({ kind, weight: kind.weight }));
  const expected = `comma-separated KIND or KIND=WEIGHT with KIND one of ${KIND_NAMES.join(', ')}`;
  const entries = new Map<string, MixEntry>();
  for (const item of text.split(',')) {
    const [name = '', weightText, ...rest] = item.trim().split('=');
    const kind = kinds.find((k) => k.name === name);
    const weight = weightText === undefined ? 1 : Number(weightText);
    if (!kind || rest.length > 0 || !Number.isFinite(weight) || weight <= 0 || entries.has(name)) throw new CliUsageError(invalidValue('--mix', expected, text), usage);
    entries.set(name, { kind, weight });
  }
  return [...entries.values()];
}

function parseUrl(text: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new CliUsageError(invalidValue('--url', 'an http:// or https:// URL without a query', text), usage);
  }
  return url;
}

export const soakCommand: Command = {
  name: 'soak',
  usage,
  async run(argv, io) {
    const parsed = parseCommand(
      argv,
      {
        url: { type: 'string' },
        model: { type: 'string' },
        synthetic: { type: 'string' },
        'api-key': { type: 'string' },
        'metrics-token': { type: 'string' },
        'upload-limit-mb': { type: 'string' },
        'server-log': { type: 'string' },
        requests: { type: 'string', short: 'n' },
        warmup: { type: 'string' },
        concurrency: { type: 'string', short: 'c' },
        mix: { type: 'string' },
        'audio-s': { type: 'string' },
        samples: { type: 'string' },
        'timeout-s': { type: 'string' },
        seed: { type: 'string' },
        'max-rss-slope-mb': { type: 'string' },
        'max-5xx': { type: 'string' },
        'max-unexpected': { type: 'string' },
        'max-latency-growth': { type: 'string' },
        'max-temp-files': { type: 'string' },
        'max-fd-growth': { type: 'string' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
      },
      usage,
      io,
    );
    if (!parsed) return;
    const v = parsed.values;
    if (parsed.positionals.length > 0) throw new CliUsageError(`Unexpected argument "${parsed.positionals[0]}"`, usage);
    const targets = [v.url, v.model, v.synthetic].filter((t) => t !== undefined);
    if (targets.length !== 1) throw new CliUsageError('Expected exactly one of --url, --model and --synthetic', usage);
    if (v.synthetic !== undefined && !(dimsNames as string[]).includes(v.synthetic)) throw new CliUsageError(invalidValue('--synthetic', dimsNames.join(' or '), v.synthetic), usage);
    const url = v.url === undefined ? undefined : parseUrl(v.url);
    if (url === undefined && v['upload-limit-mb'] !== undefined) throw new CliUsageError('--upload-limit-mb is for --url; the server started here reads MAX_UPLOAD_MB', usage);
    if (url !== undefined && v['server-log'] !== undefined) throw new CliUsageError('--server-log is for the server started here, not for --url', usage);

    const requests = positiveInteger('requests', v.requests, usage) ?? 1000;
    const warmup = nonNegativeInteger('warmup', v.warmup, usage) ?? Math.min(1000, requests);
    const concurrency = positiveInteger('concurrency', v.concurrency, usage) ?? 4;
    const samples = Math.min(requests, positiveInteger('samples', v.samples, usage) ?? 40);
    const audioS = numberAbove('audio-s', v['audio-s'], 0, usage) ?? 1;
    const timeoutS = numberAbove('timeout-s', v['timeout-s'], 0, usage) ?? 120;
    const seed = nonNegativeInteger('seed', v.seed, usage) ?? 1;
    const uploadLimitMb = numberAbove('upload-limit-mb', v['upload-limit-mb'], 0, usage) ?? 25;
    const limits: SoakLimits = {};
    const setLimit = (key: keyof SoakLimits, value: number | undefined): void => {
      if (value !== undefined) limits[key] = value;
    };
    setLimit('rssSlopeMb', numberAbove('max-rss-slope-mb', v['max-rss-slope-mb'], -Infinity, usage));
    setLimit('fiveXx', nonNegativeInteger('max-5xx', v['max-5xx'], usage));
    setLimit('unexpected', nonNegativeInteger('max-unexpected', v['max-unexpected'], usage));
    setLimit('latencyGrowth', numberAbove('max-latency-growth', v['max-latency-growth'], 0, usage));
    setLimit('tempFiles', nonNegativeInteger('max-temp-files', v['max-temp-files'], usage));
    setLimit('fdGrowth', numberAbove('max-fd-growth', v['max-fd-growth'], -Infinity, usage));
    // Checked here, with the other settings, rather than after the run: it names the kinds.
    const mixKinds = soakKinds({ seconds: audioS, uploadLimitMb: 1, seed });
    parseMix(v.mix, mixKinds);

    const progress = v.quiet === true ? undefined : (line: string): void => void io.stderr.write(`soak: ${line}\n`);
    const dir = url === undefined ? await mkdtemp(join(tmpdir(), 'talk2me-soak-')) : undefined;
    let target: SoakTarget | undefined;
    try {
      if (url !== undefined) {
        target = await urlTarget(url, { uploadLimitMb, ...(v['metrics-token'] !== undefined && { metricsToken: v['metrics-token'] }) });
      } else {
        let modelPath = v.model as string;
        if (v.synthetic !== undefined) {
          modelPath = join(dir as string, `synthetic-${v.synthetic}.bin`);
          progress?.(`writing a synthetic ${v.synthetic} model`);
          await writeSyntheticModel(modelPath, { dims: v.synthetic as ModelDimsName });
        }
        target = await inProcessTarget({ modelPath, dir: dir as string, serverLog: v['server-log'] ?? null, env: process.env });
      }
      // The kinds again, now that the server's upload limit is known.
      const mix = parseMix(v.mix, soakKinds({ seconds: audioS, uploadLimitMb: target.uploadLimitMb, seed }));
      progress?.(`${requests} requests after a warm-up of ${warmup}, ${concurrency} clients, against ${target.url.href}`);
      const run = await runSoak(target, {
        mix,
        requests,
        warmup,
        concurrency,
        samples,
        timeoutMs: timeoutS * 1000,
        seed,
        ...(v['api-key'] !== undefined && { apiKey: v['api-key'] }),
        sessionPrefix: `soak-${randomBytes(4).toString('hex')}-`,
        signal: io.signal,
        ...(progress && { progress }),
      });
      const report = buildReport(run, { target: target.description, rssSource: target.rssSource, concurrency, limits });
      io.stdout.write(v.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      if (report.exceeded.length > 0 && !run.interrupted) throw new SoakLimitError(report.exceeded);
    } finally {
      await target?.close();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    }
  },
};
