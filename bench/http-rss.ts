/**
 * A server's resident memory over a run of requests, as bench/http.ts measures it: the samples, the
 * least-squares growth per request with its standard error, and how they are printed.
 */
import { rssBytes } from './http-procfs.js';
import type { RunningPeer } from './http-servers.js';
import { f2, f3, linearFit } from './stats.js';

/** Bytes in MB, one decimal. */
export const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

export interface RssSeries {
  label: string;
  requests: number[];
  rss: number[];
  bytesPerRequest: number;
  r2: number;
  /** Standard error of the slope: the samples' scatter decides how small a growth the run can see. */
  bytesPerRequestError: number;
  /** The slope over the second half of the samples alone: growth that goes on, not settling. */
  secondHalfBytesPerRequest: number;
}

function rssSeries(label: string, requests: number[], rss: number[]): RssSeries {
  const fit = linearFit(requests, rss);
  const half = Math.floor(requests.length / 2);
  const late = linearFit(requests.slice(half), rss.slice(half));
  return { label, requests, rss, bytesPerRequest: fit.slope, r2: fit.r2, bytesPerRequestError: fit.slopeError, secondHalfBytesPerRequest: late.slope };
}

export const mbPer1000 = (bytesPerRequest: number): number => (bytesPerRequest * 1000) / 1024 / 1024;

/** Every sample, in MB, so the shape (steady growth, a step, a plateau) can be seen. */
export function rssSamples(series: RssSeries): string {
  return `${series.label}, samples (MB, every ${series.requests[1] ?? 0} requests): ${series.rss.map((b) => mb(b)).join(' ')}`;
}

export function describeRss(series: RssSeries): string {
  const first = series.rss[0] ?? 0;
  const last = series.rss[series.rss.length - 1] ?? 0;
  return (
    `${series.label}: RSS ${mb(first)} -> ${mb(last)} MB (min ${mb(Math.min(...series.rss))}, max ${mb(Math.max(...series.rss))}) over ` +
    `${series.requests[series.requests.length - 1] ?? 0} requests, ${series.rss.length} samples; slope ${f2(series.bytesPerRequest / 1024)} KB/request = ` +
    `${f3(mbPer1000(series.bytesPerRequest))} ± ${f3(2 * mbPer1000(series.bytesPerRequestError))} (2 SE) MB per 1000 requests (r² ${f2(series.r2)}); second half alone ${f3(mbPer1000(series.secondHalfBytesPerRequest))} MB per 1000`
  );
}

/**
 * RSS samples of one server: VmRSS as read, and for talk2me also VmRSS right after a full garbage
 * collection (V8's young generation alone swings talk2me's RSS by 10-30 MB from one sample to the
 * next, which buries a growth of a few KB per request; after a GC what is left is what the process
 * keeps). whisper-server has no garbage collector: both series are the same reading.
 */
export class RssSampler {
  readonly requests: number[] = [];
  readonly raw: number[] = [];
  readonly settled: number[] = [];
  /** talk2me: V8's heap in use and memory outside it (Buffers, ArrayBuffers), after the GC. */
  readonly heapUsed: number[] = [];
  readonly external: number[] = [];
  constructor(private readonly server: RunningPeer) {}

  async sample(requestsSoFar: number): Promise<void> {
    const raw = rssBytes(this.server.pid);
    let settled = raw;
    if (this.server.settle) {
      const memory = await this.server.settle();
      settled = rssBytes(this.server.pid);
      this.heapUsed.push(memory.heapUsed);
      this.external.push(memory.external);
    }
    this.requests.push(requestsSoFar);
    this.raw.push(raw);
    this.settled.push(settled);
  }

  /** What a GC'd talk2me holds in JavaScript, so RSS growth can be told apart from JS heap growth. */
  describeHeap(): string | null {
    if (this.heapUsed.length < 2) return null;
    const heap = linearFit(this.requests, this.heapUsed);
    const external = linearFit(this.requests, this.external);
    const ends = (xs: number[]): string => `${mb(xs[0] ?? 0)} -> ${mb(xs[xs.length - 1] ?? 0)} MB`;
    return (
      `${this.server.label}, after a full GC: V8 heap used ${ends(this.heapUsed)}, ${f2(heap.slope / 1024)} KB/request (r² ${f2(heap.r2)}); ` +
      `external (Buffers, ArrayBuffers) ${ends(this.external)}, ${f2(external.slope / 1024)} KB/request (r² ${f2(external.r2)})`
    );
  }

  get done(): number {
    return this.requests[this.requests.length - 1] ?? 0;
  }

  series(): { raw: RssSeries; settled: RssSeries } {
    return {
      raw: rssSeries(`${this.server.label}, VmRSS`, this.requests, this.raw),
      settled: rssSeries(`${this.server.label}, VmRSS after a full GC`, this.requests, this.settled),
    };
  }
}
