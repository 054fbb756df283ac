// The server's log: a file rotated by size (a server left alone for weeks cannot fill its disk
// with logs), off for containers, and probes kept out of it at info.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readServerConfig, rotatingLogFile } from '../../src/server/index.js';
import { listen, makeRoot, type HttpInstance, type Root } from '../http/helpers/harness.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('the log file', () => {
  it('rotates at its size: path.1 is the newest, no more than `keep` are kept, no line is lost or split', async () => {
    const dir = await tempDir('log-rotation');
    try {
      const path = join(dir.path, 'logs', 'talk2me.log');
      const file = rotatingLogFile({ path, maxBytes: 1000, keep: 2, sync: true });
      const lines = Array.from({ length: 100 }, (_, i) => `${JSON.stringify({ n: i, msg: 'x'.repeat(40) })}\n`);
      for (const line of lines) file.write(line);
      file.end();
      expect((await readdir(join(dir.path, 'logs'))).sort()).toEqual(['talk2me.log', 'talk2me.log.1', 'talk2me.log.2']);
      const current = await readFile(path, 'utf8');
      const newest = await readFile(`${path}.1`, 'utf8');
      const older = await readFile(`${path}.2`, 'utf8');
      for (const text of [current, newest, older]) expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1000);
      // Whole lines, in order, across the three files; the oldest beyond `keep` are gone.
      const kept = [older, newest, current].join('').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { n: number }).n);
      expect(kept.at(-1)).toBe(99);
      expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 100 - kept.length + i));
    } finally {
      await dir.remove();
    }
  });

  it('is off with LOG_FILE=off (stdout only, for containers)', () => {
    expect(readServerConfig({ LOG_FILE: 'off' }).logFile).toBeNull();
    expect(readServerConfig({}).logFile).toBe(join('logs', 'talk2me.log'));
  });
});

describe('probes and scrapes', () => {
  let root: Root;
  let server: HttpInstance;
  beforeAll(async () => {
    root = await makeRoot('log-probes');
    server = await listen(root, 'log-probes', { LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    await server?.close();
    await root?.remove();
  });

  it('leave no request lines at info, while other requests do', async () => {
    for (const path of ['/health', '/ready', '/metrics', '/health']) expect((await fetch(`${server.url}${path}`)).status).toBe(200);
    expect((await fetch(`${server.url}/no-such-page`)).status).toBe(404);
    const log = await server.logText();
    expect(log).toContain('/no-such-page');
    expect(log).not.toMatch(/"url":"\/(health|ready|metrics)"/);
  });
});
