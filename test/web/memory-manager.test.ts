// The page's memory manager with fakes for the media objects and Node's real object URLs
// (URL.createObjectURL; resolveObjectURL tells whether one still resolves).
import { resolveObjectURL } from 'node:buffer';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { MemoryManager, SWEEP_INTERVAL_MS } from '../../web/src/memory-manager.js';
import { FakeAudioContext, FakeRecorder, FakeStorage, FakeStream, FakeWindow } from './helpers/fake-media.js';

const managers: MemoryManager[] = [];
function manager(options: ConstructorParameters<typeof MemoryManager>[0] = {}): MemoryManager {
  const m = new MemoryManager({ log: () => undefined, ...options });
  managers.push(m);
  return m;
}

afterEach(() => {
  for (const m of managers.splice(0)) m.dispose();
  vi.useRealTimers();
});

function recording(): FakeRecorder {
  const recorder = new FakeRecorder(new FakeStream(), {});
  recorder.start();
  return recorder;
}

describe('MemoryManager', () => {
  it('counts live and closed resources per kind, and what was ever registered', async () => {
    const m = manager();
    const contexts = [new FakeAudioContext(), new FakeAudioContext()];
    const streams = [new FakeStream(2), new FakeStream()];
    const recorders = [recording(), recording()];
    contexts.forEach((c) => m.registerAudioContext(c));
    streams.forEach((s) => m.registerMediaStream(s));
    recorders.forEach((r) => m.registerMediaRecorder(r));
    const url = m.createObjectURL(new Blob(['x']));

    await contexts[0]?.close(); // closed behind the manager's back
    streams[0]?.tracks.forEach((t) => t.stop());
    recorders[0]?.stop();

    expect(m.getStats()).toEqual({
      audioContexts: { live: 1, closed: 1, registered: 2 },
      mediaStreams: { live: 1, closed: 1, registered: 2 },
      mediaRecorders: { live: 1, closed: 1, registered: 2 },
      objectURLs: { live: 1, closed: 0, registered: 1 },
      sweeps: 0,
      releases: 0,
    });
    expect(url).toMatch(/^blob:/);
  });

  it('a stream with one live track is live', () => {
    const m = manager();
    const stream = m.registerMediaStream(new FakeStream(2));
    stream.tracks[0]?.stop();
    expect(m.getStats().mediaStreams).toMatchObject({ live: 1, closed: 0 });
  });

  it('sweeps every 30 s, forgetting closed contexts, ended streams and inactive recorders', async () => {
    vi.useFakeTimers();
    const m = manager();
    const closed = m.registerAudioContext(new FakeAudioContext());
    m.registerAudioContext(new FakeAudioContext());
    const ended = m.registerMediaStream(new FakeStream());
    const stopped = m.registerMediaRecorder(recording());
    await closed.close();
    ended.tracks[0]?.stop();
    stopped.stop();

    vi.advanceTimersByTime(SWEEP_INTERVAL_MS - 1);
    expect(m.getStats().sweeps).toBe(0);
    vi.advanceTimersByTime(1);
    const stats = m.getStats();
    expect(stats.sweeps).toBe(1);
    expect(stats.audioContexts).toEqual({ live: 1, closed: 0, registered: 2 });
    expect(stats.mediaStreams).toEqual({ live: 0, closed: 0, registered: 1 });
    expect(stats.mediaRecorders).toEqual({ live: 0, closed: 0, registered: 1 });
    expect(m.sweep()).toBe(0);
  });

  it('closes a context once and forgets it; one closed already, or with no close() (offline), is just forgotten', async () => {
    const m = manager();
    const open = m.registerAudioContext(new FakeAudioContext());
    const closedAlready = m.registerAudioContext(new FakeAudioContext());
    await closedAlready.close();
    const offline = m.registerAudioContext({ state: 'closed' });

    await m.closeAudioContext(open);
    await m.closeAudioContext(closedAlready);
    await m.closeAudioContext(offline);
    await m.closeAudioContext(open); // twice: no second close(), no rejection

    expect(open.state).toBe('closed');
    expect(open.closes).toBe(1);
    expect(closedAlready.closes).toBe(1);
    expect(m.getStats().audioContexts).toEqual({ live: 0, closed: 0, registered: 3 });
  });

  it('a close() that rejects is logged, not thrown', async () => {
    const log = vi.fn();
    const m = manager({ log });
    const broken = m.registerAudioContext({ state: 'running', close: () => Promise.reject(new Error('boom')) });
    await expect(m.closeAudioContext(broken)).resolves.toBeUndefined();
    expect(log).toHaveBeenCalledWith('AudioContext.close failed', expect.anything());
  });

  it('stopMediaStream stops every track; stopMediaRecorder stops a recording one and leaves an inactive one alone', () => {
    const m = manager();
    const stream = m.registerMediaStream(new FakeStream(2));
    m.stopMediaStream(stream);
    expect(stream.tracks.map((t) => t.readyState)).toEqual(['ended', 'ended']);

    const recorder = m.registerMediaRecorder(recording());
    m.stopMediaRecorder(recorder);
    expect(recorder.state).toBe('inactive');
    expect(() => m.stopMediaRecorder(recorder)).not.toThrow(); // FakeRecorder.stop() throws when inactive, like the real one
    expect(m.getStats().mediaStreams.live + m.getStats().mediaRecorders.live).toBe(0);
  });

  it('object URLs are real: they resolve until revoked', () => {
    const m = manager();
    const url = m.createObjectURL(new Blob(['hello']));
    expect(resolveObjectURL(url)).toBeDefined();
    m.revokeObjectURL(url);
    expect(resolveObjectURL(url)).toBeUndefined();
    expect(m.getStats().objectURLs).toEqual({ live: 0, closed: 0, registered: 1 });
  });

  it('on pagehide: release hooks first, then recorders and tracks stopped, contexts closed, URLs revoked', () => {
    const target = new FakeWindow();
    const m = manager({ target });
    const order: string[] = [];
    const context = m.registerAudioContext(new FakeAudioContext());
    const stream = m.registerMediaStream(new FakeStream(2));
    const recorder = m.registerMediaRecorder(new FakeRecorder(stream, {}));
    recorder.start();
    const urls = [m.createObjectURL(new Blob(['a'])), m.createObjectURL(new Blob(['b']))];
    m.addReleaseHook(() => order.push(`hook saw recorder ${recorder.state}`));
    const unsubscribed = vi.fn();
    m.addReleaseHook(unsubscribed)();

    target.dispatch('pagehide', { persisted: true });

    expect(order).toEqual(['hook saw recorder recording']);
    expect(unsubscribed).not.toHaveBeenCalled();
    expect(recorder.state).toBe('inactive');
    expect(stream.tracks.every((t) => t.readyState === 'ended')).toBe(true);
    expect(context.state).toBe('closed');
    for (const url of urls) expect(resolveObjectURL(url)).toBeUndefined();
    const stats = m.getStats();
    expect([stats.audioContexts, stats.mediaStreams, stats.mediaRecorders, stats.objectURLs].map((s) => s.live + s.closed)).toEqual([0, 0, 0, 0]);
    expect(stats.releases).toBe(1);

    // The page can come back (back/forward cache) and go on registering.
    m.registerAudioContext(new FakeAudioContext());
    expect(m.getStats().audioContexts.live).toBe(1);
  });

  it('releaseAll reports what it let go of, and goes on past a hook that throws', () => {
    const log = vi.fn();
    const m = manager({ log });
    m.registerAudioContext(new FakeAudioContext());
    m.registerMediaStream(new FakeStream(3));
    m.registerMediaRecorder(recording());
    m.createObjectURL(new Blob(['a']));
    m.addReleaseHook(() => {
      throw new Error('hook failed');
    });
    expect(m.releaseAll('test')).toEqual({ reason: 'test', audioContexts: 1, tracks: 3, mediaRecorders: 1, objectURLs: 1, hooks: 1, forced: 6 });
    expect(log).toHaveBeenCalledWith('Release hook failed', expect.anything());
  });

  it('counts what owners let go of in their release hooks, and forces only what they left', () => {
    const m = manager();
    const stream = m.registerMediaStream(new FakeStream());
    const url = m.createObjectURL(new Blob(['a']));
    m.addReleaseHook(() => {
      m.stopMediaStream(stream);
      m.revokeObjectURL(url);
    });
    const forgotten = m.registerAudioContext(new FakeAudioContext());
    expect(m.releaseAll('pagehide')).toEqual({ reason: 'pagehide', audioContexts: 1, tracks: 1, mediaRecorders: 0, objectURLs: 1, hooks: 1, forced: 1 });
    expect(forgotten.state).toBe('closed');
  });

  it('with DEBUG_MEMORY, keeps the last release report in the journal (sessionStorage)', () => {
    const storage = new FakeStorage();
    storage.items.set('DEBUG_MEMORY', 'true');
    const journal = new Map<string, string>();
    const m = manager({ storage, journal: { getItem: (k) => journal.get(k) ?? null, setItem: (k, v) => void journal.set(k, v) } });
    m.registerMediaStream(new FakeStream());
    m.releaseAll('pagehide');
    expect(JSON.parse(journal.get('talk2me.lastRelease') ?? '{}')).toMatchObject({ reason: 'pagehide', tracks: 1, forced: 1, at: expect.any(Number) });
  });

  it('logs only when localStorage.DEBUG_MEMORY is "true", read again at every sweep', () => {
    const storage = new FakeStorage();
    const log = vi.fn();
    const target = new FakeWindow();
    const m = manager({ storage, log, target });
    m.registerAudioContext(new FakeAudioContext());
    m.sweep();
    expect(log).not.toHaveBeenCalled();
    expect(m.debug).toBe(false);

    storage.items.set('DEBUG_MEMORY', 'true');
    m.sweep();
    expect(m.debug).toBe(true);
    m.registerMediaStream(new FakeStream());
    target.dispatch('pagehide');
    const messages = log.mock.calls.map((c) => c[0]);
    expect(messages).toEqual(['Sweep', 'MediaStream registered', 'Released on pagehide']);
  });

  it('storage that throws (blocked by the browser) means no logging, not an error', () => {
    const m = manager({
      storage: {
        getItem() {
          throw new Error('SecurityError');
        },
      },
    });
    expect(m.debug).toBe(false);
    expect(() => m.sweep()).not.toThrow();
  });

  it('dispose() stops the sweep timer and the pagehide listener', () => {
    vi.useFakeTimers();
    const target = new FakeWindow();
    const m = manager({ target });
    m.dispose();
    vi.advanceTimersByTime(10 * SWEEP_INTERVAL_MS);
    expect(m.getStats().sweeps).toBe(0);
    expect(target.listeners.get('pagehide')?.size).toBe(0);
  });

  it('registration costs at most 5 µs', () => {
    const n = 20_000;
    const contexts = Array.from({ length: n }, () => new FakeAudioContext());
    const streams = Array.from({ length: n }, () => new FakeStream());
    const recorders = Array.from({ length: n }, () => new FakeRecorder(new FakeStream(), {}));
    const urls = Array.from({ length: n }, (_, i) => `blob:nodedata:${i}`);
    // n registrations into a fresh manager, 5 rounds; the median round, so a GC pause in one round does not decide
    const microsPerCall = (register: (m: MemoryManager, i: number) => void): number => {
      const rounds: number[] = [];
      for (let round = 0; round < 5; round++) {
        const m = manager();
        const t0 = performance.now();
        for (let i = 0; i < n; i++) register(m, i);
        rounds.push(((performance.now() - t0) * 1000) / n);
        m.dispose();
      }
      return rounds.sort((a, b) => a - b)[2] as number;
    };
    const costs = {
      audioContext: microsPerCall((m, i) => m.registerAudioContext(contexts[i] as FakeAudioContext)),
      mediaStream: microsPerCall((m, i) => m.registerMediaStream(streams[i] as FakeStream)),
      mediaRecorder: microsPerCall((m, i) => m.registerMediaRecorder(recorders[i] as FakeRecorder)),
      objectURL: microsPerCall((m, i) => m.registerObjectURL(urls[i] as string)),
    };
    console.log(`registration, µs per call (median of 5 rounds of ${n}): ${Object.entries(costs).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
    for (const cost of Object.values(costs)) expect(cost).toBeLessThanOrEqual(5);
  });
});
