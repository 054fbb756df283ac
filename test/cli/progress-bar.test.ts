// ProgressBar's percent unit (a transcription's progress), with an injected clock and stream.
import { describe, expect, it } from 'vitest';

import { ProgressBar } from '../../src/cli/progress-bar.js';

function capture(tty: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { write: (c: string) => chunks.push(c), isTTY: tty, columns: 80 } };
}

describe('ProgressBar, percent unit', () => {
  it('on a TTY redraws one line with a bar and the percent, and ends it with the time taken', () => {
    let now = 0;
    const { chunks, stream } = capture(true);
    const bar = new ProgressBar({ stream, label: 'transcribing', unit: 'percent', now: () => now });
    now = 1000;
    bar.onPercent(50);
    expect(chunks.at(-1)).toMatch(/^\rtranscribing: \[#{20}-{20}\]  50\.0%  ETA 1s$/);
    now = 2000;
    bar.finish();
    expect(chunks.slice(-2).join('')).toMatch(/^\rtranscribing: done in 2s +\n$/);
    expect(chunks.join('')).not.toMatch(/B\/s|KiB| B /);
  });

  it('off a TTY writes a whole line each tenth of the way, however little time passed', () => {
    let now = 0;
    const { chunks, stream } = capture(false);
    const bar = new ProgressBar({ stream, label: 'transcribing', unit: 'percent', now: () => now });
    for (const p of [0, 5, 12, 15, 33, 100]) {
      now += 10;
      bar.onPercent(p);
    }
    bar.finish();
    expect(chunks).toEqual(['transcribing: 12.0%, ETA 0s\n', 'transcribing: 33.0%, ETA 0s\n', 'transcribing: 100.0%, ETA 0s\n', 'transcribing: done in 0s\n']);
  });
});
