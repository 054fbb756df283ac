/**
 * A progress display for the CLI, written to stderr by default: bytes of a download, or (unit
 * 'percent') the percent done of a transcription.
 *
 * On a TTY it redraws one line in place (bar, percent, bytes, rate, ETA), at most every
 * `redrawIntervalMs`. When the stream is not a TTY (a log file, CI, a pipe) it prints a plain line
 * only every `plainIntervalMs`, so logs get a handful of lines instead of thousands of redraws.
 * No dependencies; the clock is injectable so the output can be tested exactly.
 */

/** The slice of a writable stream the bar needs. `process.stderr` satisfies it. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressBarOptions {
  /** Where to draw. Default: process.stderr. */
  stream?: ProgressStream;
  /** Text in front of the bar, e.g. the file name. */
  label?: string;
  /** Force TTY or plain mode; default: the stream's own `isTTY`. */
  tty?: boolean;
  /** Milliseconds since some fixed point; default performance.now(). */
  now?: () => number;
  /** TTY mode: least time between two redraws. Default 100 ms. */
  redrawIntervalMs?: number;
  /** Plain mode: least time between two progress lines. Default 5000 ms. */
  plainIntervalMs?: number;
  /** Rate is measured over roughly this much recent time. Default 5000 ms. */
  rateWindowMs?: number;
  /** What is counted: bytes (default) or percent, where `received` runs from 0 to a total of 100. */
  unit?: 'bytes' | 'percent';
  /**
   * Plain mode, percent unit: also a line each time progress moved this many points. Default 10.
   * A transcription reports progress once per window of audio, so a time interval alone may print
   * nothing for a run of many seconds.
   */
  plainStepPercent?: number;
}

export interface ProgressSnapshot {
  received: number;
  total: number | null;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 0 → "0 B", 1536 → "1.5 KiB", 3095033483 → "2.9 GiB" (binary units, one decimal above bytes). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '? B';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  // 1023.96 KiB would print as "1024.0 KiB"; carry it into the next unit instead.
  if (Number(value.toFixed(1)) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Bytes per second as "12.3 MiB/s"; "-- B/s" when unknown. */
export function formatRate(bytesPerSecond: number | null): string {
  if (bytesPerSecond === null || !Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) {
    return '-- B/s';
  }
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Seconds as "7s", "3m05s", "2h04m"; "--" when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}h${String(m).padStart(2, '0')}m`;
}

/** Percent with one decimal, clamped to 0..100: "42.3%". */
export function formatPercent(received: number, total: number): string {
  if (total <= 0) return '100.0%';
  const pct = Math.min(100, Math.max(0, (received / total) * 100));
  // Never show 100.0% before the last byte arrived.
  const shown = received < total ? Math.min(pct, 99.9) : pct;
  return `${shown.toFixed(1)}%`;
}

interface Sample {
  t: number;
  received: number;
}

export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly label: string;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly redrawIntervalMs: number;
  private readonly plainIntervalMs: number;
  private readonly rateWindowMs: number;
  private readonly unit: 'bytes' | 'percent';
  private readonly plainStepPercent: number;
  private lastPlainReceived = 0;

  private readonly startedAt: number;
  private samples: Sample[] = [];
  private last: ProgressSnapshot = { received: 0, total: null };
  private lastDrawAt = Number.NEGATIVE_INFINITY;
  private lastPlainAt: number;
  private lastLineLength = 0;
  private done = false;

  constructor(options: ProgressBarOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.label = options.label ?? '';
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.now = options.now ?? (() => performance.now());
    this.redrawIntervalMs = options.redrawIntervalMs ?? 100;
    this.plainIntervalMs = options.plainIntervalMs ?? 5000;
    this.rateWindowMs = options.rateWindowMs ?? 5000;
    this.unit = options.unit ?? 'bytes';
    this.plainStepPercent = options.plainStepPercent ?? 10;
    this.startedAt = this.now();
    this.lastPlainAt = this.startedAt;
    this.samples.push({ t: this.startedAt, received: 0 });
  }

  /** Shaped to be passed straight as fetchModel's `onProgress`. */
  readonly onProgress = (p: ProgressSnapshot): void => {
    this.update(p);
  };

  /** Percent unit: `percent` of 100 done. */
  readonly onPercent = (percent: number): void => {
    this.update({ received: percent, total: 100 });
  };

  update(p: ProgressSnapshot): void {
    if (this.done) return;
    const t = this.now();
    this.last = { received: p.received, total: p.total };
    this.record(t, p.received);

    if (this.tty) {
      if (t - this.lastDrawAt >= this.redrawIntervalMs) {
        this.drawTty(t);
      }
      return;
    }
    const stepped = this.unit === 'percent' && p.received - this.lastPlainReceived >= this.plainStepPercent;
    if (stepped || t - this.lastPlainAt >= this.plainIntervalMs) {
      this.lastPlainAt = t;
      this.lastPlainReceived = p.received;
      this.stream.write(`${this.plainLine(t)}\n`);
    }
  }

  /** Ends the display with a summary line. `message` replaces the default summary text. */
  finish(message?: string): void {
    if (this.done) return;
    this.done = true;
    const t = this.now();
    const elapsedS = Math.max(0, (t - this.startedAt) / 1000);
    const bytes = this.last.received;
    const avg = elapsedS > 0 ? bytes / elapsedS : null;
    const summary =
      message ??
      (this.unit === 'percent' ? `done in ${formatDuration(elapsedS)}` : `done, ${formatBytes(bytes)} in ${formatDuration(elapsedS)} (${formatRate(avg)})`);
    this.endWith(`${this.prefix()}${summary}`);
  }

  /** Ends the display after a failure, leaving the message on its own line. */
  fail(message: string): void {
    if (this.done) return;
    this.done = true;
    this.endWith(`${this.prefix()}${message}`);
  }

  /** Bytes per second over the recent window, or null before there is anything to measure. */
  rate(at: number = this.now()): number | null {
    const first = this.samples[0];
    const lastSample = this.samples[this.samples.length - 1];
    if (first === undefined || lastSample === undefined) return null;
    const dt = (Math.max(at, lastSample.t) - first.t) / 1000;
    if (dt <= 0) return null;
    return (lastSample.received - first.received) / dt;
  }

  private record(t: number, received: number): void {
    this.samples.push({ t, received });
    // Keep one sample at or before the window start, so the window always spans rateWindowMs.
    while (this.samples.length > 2) {
      const second = this.samples[1];
      if (second === undefined || t - second.t < this.rateWindowMs) break;
      this.samples.shift();
    }
  }

  private prefix(): string {
    return this.label === '' ? '' : `${this.label}: `;
  }

  private eta(t: number): number | null {
    const { received, total } = this.last;
    if (total === null) return null;
    const r = this.rate(t);
    if (r === null || r <= 0) return null;
    return Math.max(0, total - received) / r;
  }

  /** One plain-text progress line (no bar), as written in non-TTY mode. */
  plainLine(t: number = this.now()): string {
    const { received, total } = this.last;
    if (this.unit === 'percent') return `${this.prefix()}${formatPercent(received, 100)}, ETA ${formatDuration(this.eta(t))}`;
    const rate = formatRate(this.rate(t));
    if (total === null) {
      return `${this.prefix()}${formatBytes(received)} at ${rate}`;
    }
    return (
      `${this.prefix()}${formatPercent(received, total)} ` +
      `(${formatBytes(received)} of ${formatBytes(total)}) at ${rate}, ETA ${formatDuration(this.eta(t))}`
    );
  }

  private drawTty(t: number): void {
    this.lastDrawAt = t;
    const { received, total } = this.last;
    const rate = formatRate(this.rate(t));
    let stats: string;
    let fraction: number | null = null;
    if (this.unit === 'percent') {
      fraction = Math.min(1, received / 100);
      stats = `${formatPercent(received, 100).padStart(6)}  ETA ${formatDuration(this.eta(t))}`;
    } else if (total === null) {
      stats = `${formatBytes(received)}  ${rate}`;
    } else {
      fraction = total > 0 ? Math.min(1, received / total) : 1;
      stats =
        `${formatPercent(received, total).padStart(6)}  ` +
        `${formatBytes(received)} / ${formatBytes(total)}  ${rate}  ETA ${formatDuration(this.eta(t))}`;
    }
    const columns = this.stream.columns && this.stream.columns > 20 ? this.stream.columns : 80;
    const head = this.prefix();
    // Leave one column spare so the terminal never wraps the line.
    const room = columns - 1 - head.length - stats.length - 3;
    let line: string;
    if (fraction !== null && room >= 10) {
      const width = Math.min(40, room);
      const filled = Math.round(fraction * width);
      line = `${head}[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${stats}`;
    } else {
      line = `${head}${stats}`;
    }
    line = line.slice(0, columns - 1);
    this.writeInPlace(line);
  }

  private writeInPlace(line: string): void {
    const pad = this.lastLineLength > line.length ? ' '.repeat(this.lastLineLength - line.length) : '';
    this.stream.write(`\r${line}${pad}`);
    this.lastLineLength = line.length;
  }

  private endWith(line: string): void {
    if (this.tty) {
      this.writeInPlace(line);
      this.stream.write('\n');
    } else {
      this.stream.write(`${line}\n`);
    }
  }
}
