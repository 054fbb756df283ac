// The real talk2me server for the browser tests: a synthetic `mini` model (gibberish transcripts,
// real whisper.cpp inference), uploads and logs in a temp directory, the built page as WEB_ROOT.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pino from 'pino';

import { readServerConfig, startServer, type RunningServer } from '../../../src/server/index.js';
import { writeSyntheticModel } from '../../../src/model/synthetic.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestServer {
  url: string;
  server: RunningServer;
  dir: string;
  close(): Promise<void>;
}

export async function startTestServer(webRoot: string, env: Record<string, string> = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'talk2me-web-server-'));
  const model = join(dir, 'mini.bin');
  await writeSyntheticModel(model, { dims: 'mini' });
  const config = readServerConfig({
    WHISPER_MODEL: model,
    WEB_ROOT: webRoot,
    HOST: '127.0.0.1',
    PORT: '0',
    UPLOAD_DIR: join(dir, 'uploads'),
    LOG_FILE: join(dir, 'talk2me.log'),
    LOG_LEVEL: 'warn',
    MAX_CONCURRENCY: '1',
    ADMIN_TOKEN,
    // The page is also opened under a name (not a secure context): the loopback Host check lets it in.
    ALLOWED_HOSTS: 'talk2me.test',
    ...env,
  });
  const logger = pino({ level: 'warn' }, pino.destination({ dest: config.logFile ?? '/dev/null', sync: true, mkdir: true }));
  const server = await startServer(config, { logger });
  return {
    url: server.url,
    server,
    dir,
    async close() {
      await server.shutdown('test done');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
