// SafeMediaRecorder over fake media: every way a recording ends leaves no live track, no registered
// resource and no chunk behind.
import { afterEach, describe, expect, it, vi } from 'vitest';

import { MemoryManager } from '../../web/src/memory-manager.js';
import { RecorderError } from '../../web/src/recorder-error.js';
import { SafeMediaRecorder, type SafeMediaRecorderOptions } from '../../web/src/safe-media-recorder.js';
import { FakeMedia, FakeWindow } from './helpers/fake-media.js';

const managers: MemoryManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.dispose();
  vi.useRealTimers();
});

function setup(options: SafeMediaRecorderOptions = {}) {
  const media = new FakeMedia();
  const target = new FakeWindow();
  const memory = new MemoryManager({ target, log: () => undefined });
  managers.push(memory);
  const recorder = new SafeMediaRecorder({ memory, media, ...options });
  const nothingLive = (): void => {
    expect(media.liveTracks).toBe(0);
    const s = memory.getStats();
    expect(s.mediaStreams.live + s.mediaStreams.closed).toBe(0);
    expect(s.mediaRecorders.live + s.mediaRecorders.closed).toBe(0);
    for (const r of media.recorders) {
      expect(r.state).toBe('inactive');
      expect(r.ondataavailable).toBeNull();
    }
  };
  return { media, memory, target, recorder, nothingLive };
}

async function rejection(promise: Promise<unknown>): Promise<RecorderError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RecorderError);
  return err as RecorderError;
}

describe('SafeMediaRecorder', () => {
  it('records chunks into one Blob, then stops every track and drops the chunks', async () => {
    const { media, memory, recorder, nothingLive } = setup({ timesliceMs: 250 });
    await recorder.start();
    expect(recorder.state).toBe('recording');
    expect(media.liveTracks).toBe(1);
    expect(memory.getStats().mediaRecorders.live).toBe(1);
    const fake = media.recorders[0];
    expect(fake?.timeslice).toBe(250);
    fake?.emit(100);
    fake?.emit(50);

    const blob = await recorder.stop();
    expect(blob.size).toBe(160); // 100 + 50 + the 10-byte chunk flushed by stop()
    expect(blob.type).toBe('audio/webm;codecs=opus');
    expect(recorder.bytes).toBe(160);
    expect(recorder.stopReason).toBe('stop');
    expect(recorder.state).toBe('done');
    expect(recorder.stream).toBeNull();
    nothingLive();
  });

  it('stop() is idempotent: every call resolves the same Blob', async () => {
    const { recorder } = setup();
    await recorder.start();
    const first = recorder.stop();
    const second = recorder.stop();
    expect(second).toBe(first);
    expect(await recorder.stop()).toBe(await first);
    expect(await recorder.ended).toBe(await first);
  });

  it('asks for the first supported container, or lets the browser choose', async () => {
    const a = setup();
    a.media.supported = ['audio/mp4'];
    await a.recorder.start();
    expect(a.media.recorders[0]?.options).toEqual({ mimeType: 'audio/mp4' });
    expect(a.recorder.mimeType).toBe('audio/mp4');

    const b = setup({ audioBitsPerSecond: 32_000 });
    b.media.supported = [];
    await b.recorder.start();
    expect(b.media.recorders[0]?.options).toEqual({ audioBitsPerSecond: 32_000 });
  });

  it.each([
    ['NotAllowedError', 'PERMISSION_DENIED', /denied/],
    ['SecurityError', 'PERMISSION_DENIED', /denied/],
    ['NotFoundError', 'NO_DEVICE', /No microphone/],
    ['OverconstrainedError', 'NO_DEVICE', /No microphone/],
    ['NotReadableError', 'DEVICE_BUSY', /could not be started/],
    ['TypeError', 'RECORDER_FAILED', /could not be opened/],
  ])('getUserMedia rejecting with %s → %s, nothing live', async (name, code, message) => {
    const { media, recorder, nothingLive } = setup();
    media.failWith = new DOMException('from the browser', name);
    const err = await rejection(recorder.start());
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(err.cause).toBe(media.failWith);
    expect((await rejection(recorder.ended)).code).toBe(code);
    expect(media.recorders).toHaveLength(0);
    expect(recorder.state).toBe('done');
    nothingLive();
  });

  it('a recorder that cannot be created rejects start() and stops the microphone', async () => {
    const { media, recorder, nothingLive } = setup();
    media.createFails = new DOMException('unsupported', 'NotSupportedError');
    expect((await rejection(recorder.start())).code).toBe('RECORDER_FAILED');
    expect(media.streams).toHaveLength(1);
    nothingLive();
  });

  it('a recorder error ends the recording: ended and stop() reject, tracks stopped, chunks dropped', async () => {
    const { media, recorder, nothingLive } = setup();
    await recorder.start();
    media.recorders[0]?.emit(100);
    media.recorders[0]?.fail(new Error('encoder crashed'));
    const err = await rejection(recorder.ended);
    expect(err.code).toBe('RECORDER_FAILED');
    expect(err.message).toMatch(/encoder crashed/);
    expect(await rejection(recorder.stop())).toBe(err);
    nothingLive();
  });

  it('stops by itself at the byte cap and resolves what it has', async () => {
    const { media, recorder, nothingLive } = setup({ maxBytes: 100 });
    await recorder.start();
    media.recorders[0]?.emit(60);
    expect(recorder.state).toBe('recording');
    media.recorders[0]?.emit(60);
    expect(recorder.state).toBe('stopping');
    const blob = await recorder.ended;
    expect(recorder.stopReason).toBe('max-bytes');
    expect(blob.size).toBe(130);
    nothingLive();
  });

  it('stops by itself at the length cap', async () => {
    vi.useFakeTimers();
    const { recorder, nothingLive } = setup({ maxDurationMs: 60_000 });
    await recorder.start();
    vi.advanceTimersByTime(59_999);
    expect(recorder.state).toBe('recording');
    vi.advanceTimersByTime(1);
    await recorder.ended;
    expect(recorder.stopReason).toBe('max-duration');
    expect(recorder.durationMs).toBe(60_000);
    nothingLive();
  });

  it('when the microphone goes away, the recording ends with what was recorded', async () => {
    const { media, recorder, nothingLive } = setup();
    await recorder.start();
    media.recorders[0]?.emit(40);
    media.recorders[0]?.endByItself();
    expect((await recorder.ended).size).toBe(50);
    expect(recorder.stopReason).toBe('ended-elsewhere');
    nothingLive();
  });

  it('a recorder that never fires stop is given up on: ended rejects, nothing live', async () => {
    vi.useFakeTimers();
    const { media, recorder, nothingLive } = setup({ stopTimeoutMs: 1000 });
    await recorder.start();
    const fake = media.recorders[0];
    if (fake) fake.firesStop = false;
    const stopped = recorder.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect((await rejection(stopped)).message).toMatch(/did not finish/);
    nothingLive();
  });

  it('pagehide mid-recording aborts it: tracks stopped, chunks dropped, ended rejects ABORTED', async () => {
    const { media, target, recorder, nothingLive, memory } = setup();
    await recorder.start();
    media.recorders[0]?.emit(500);
    target.dispatch('pagehide', { persisted: false });
    const err = await rejection(recorder.ended);
    expect(err.code).toBe('ABORTED');
    expect(err.message).toMatch(/page was hidden/);
    expect(memory.getStats().releases).toBe(1);
    nothingLive();
  });

  it('aborted while the permission prompt is up: the stream that arrives late is stopped at once', async () => {
    const { media, recorder, nothingLive } = setup();
    let grant!: () => void;
    media.gate = new Promise((resolve) => (grant = resolve));
    const starting = recorder.start();
    expect(recorder.state).toBe('starting');
    const stopped = recorder.stop(); // Stop pressed before the prompt was answered
    grant();
    expect((await rejection(starting)).code).toBe('ABORTED');
    expect((await rejection(stopped)).code).toBe('ABORTED');
    expect(media.streams).toHaveLength(1);
    expect(media.recorders).toHaveLength(0);
    nothingLive();
  });

  it('abort() is idempotent and a recorder is used once', async () => {
    const { recorder, nothingLive } = setup();
    await recorder.start();
    recorder.abort();
    recorder.abort();
    expect((await rejection(recorder.ended)).code).toBe('ABORTED');
    expect((await rejection(recorder.start())).code).toBe('ALREADY_STARTED');
    nothingLive();
  });

  it('stop() before start() rejects NOT_RECORDING and leaves the recorder usable', async () => {
    const { recorder } = setup();
    expect((await rejection(recorder.stop())).code).toBe('NOT_RECORDING');
    await recorder.start();
    expect(recorder.state).toBe('recording');
    await recorder.stop();
  });

  it('nobody awaiting a failed recording is not an unhandled rejection', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const { media, recorder } = setup();
      media.failWith = new DOMException('no', 'NotAllowedError');
      await recorder.start().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});
