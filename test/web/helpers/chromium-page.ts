// The set-up the Chromium tests share: the page built into a temp dir, the real server (synthetic
// model) serving it, a fake microphone file, and Chromium launched with it. Call inside a
// describe(); beforeAll/afterAll are registered there, and the fields are read once they ran.
import { join } from 'node:path';

import { afterAll, beforeAll } from 'vitest';

import { buildWeb } from '../../../web/build.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { launchChromium, type Chromium } from './chromium.js';
import { writeFakeMicrophone } from './fake-microphone.js';
import { startTestServer, type TestServer } from './test-server.js';

export interface ChromiumPage {
  readonly server: TestServer;
  readonly chromium: Chromium;
  /** The fake microphone's WAV, for another launchChromium() in the same test file. */
  readonly microphone: string;
}

export function useChromiumPage(name: string): ChromiumPage {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  let state: ChromiumPage | undefined;
  let server: TestServer | undefined;
  let chromium: Chromium | undefined;

  beforeAll(async () => {
    dir = await tempDir(name);
    const webRoot = join(dir.path, 'dist');
    await buildWeb(webRoot);
    const microphone = await writeFakeMicrophone(join(dir.path, 'microphone.wav'));
    server = await startTestServer(webRoot);
    chromium = await launchChromium({ microphone });
    state = { server, chromium, microphone };
  });

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    await dir?.remove();
  });

  const ready = (): ChromiumPage => {
    if (!state) throw new Error('useChromiumPage: the set-up has not run (read the fields inside tests or hooks)');
    return state;
  };
  return {
    get server() {
      return ready().server;
    },
    get chromium() {
      return ready().chromium;
    },
    get microphone() {
      return ready().microphone;
    },
  };
}
