// Debian's Chromium driven by playwright-core: headless, a fresh profile per launch, a fake
// microphone playing a WAV the test wrote. The tests skip, saying why, only where
// /usr/bin/chromium is missing (CI installs the `chromium` package).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);
export const NO_CHROMIUM_REASON = `${CHROMIUM_PATH} is missing: install Debian's chromium package (apt-get install chromium) to run the browser tests`;

export interface LaunchOptions {
  /** The WAV the fake microphone plays; null: no fake device (no microphone at all). */
  microphone: string | null;
  /** Accept permission prompts (--use-fake-ui-for-media-stream); false: they are answered by the browser. */
  acceptPrompts?: boolean;
  viewport?: { width: number; height: number };
  /** More command-line switches, e.g. --host-resolver-rules to open the page under another name. */
  args?: string[];
}

export interface Chromium {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  close(): Promise<void>;
}

export async function launchChromium(options: LaunchOptions): Promise<Chromium> {
  const profile = await mkdtemp(join(tmpdir(), 'talk2me-chromium-'));
  const args = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  if (options.acceptPrompts !== false) args.push('--use-fake-ui-for-media-stream');
  if (options.microphone) args.push('--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${options.microphone}`);
  args.push(...(options.args ?? []));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args,
    // Playwright turns the back/forward cache off; the pagehide tests want the real behaviour.
    ignoreDefaultArgs: ['--disable-back-forward-cache'],
    viewport: options.viewport ?? { width: 900, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const cdp = await context.newCDPSession(page);
  return {
    context,
    page,
    cdp,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
