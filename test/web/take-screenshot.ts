// Writes web/screenshot.png: the page in headless Chromium after two recordings and a chosen file, with the server's
// memory shown. The server runs a synthetic model, so the transcripts are what it makes of the fake
// microphone's tones, not words.
//
//   npx tsx test/web/take-screenshot.ts [out.png]
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { buildWeb, WEB_DIR } from '../../web/build.js';
import { syllableTones } from '../helpers/signals.js';
import { tempDir } from '../helpers/temp-dir.js';
import { hasChromium, launchChromium, NO_CHROMIUM_REASON } from './helpers/chromium.js';
import { wavBytes, writeFakeMicrophone } from './helpers/fake-microphone.js';
import { recordClip } from './helpers/page-driver.js';
import { ADMIN_TOKEN, startTestServer } from './helpers/test-server.js';

const out = resolve(process.argv[2] ?? join(WEB_DIR, 'screenshot.png'));
if (!hasChromium) throw new Error(NO_CHROMIUM_REASON);
const dir = await tempDir('web-screenshot');
const webRoot = join(dir.path, 'dist');
await buildWeb(webRoot);
const server = await startTestServer(webRoot);
const chromium = await launchChromium({ microphone: await writeFakeMicrophone(join(dir.path, 'microphone.wav'), 8), viewport: { width: 760, height: 600 } });
try {
  const { page } = chromium;
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(server.url);
  await recordClip(page, 1, 2500);
  await recordClip(page, 2, 4000);
  await page.getByLabel('Audio or video file').setInputFiles({ name: 'interview.wav', mimeType: 'audio/wav', buffer: wavBytes(syllableTones(6)) });
  await page.getByRole('status').getByText('interview.wav transcribed.').waitFor({ timeout: 60_000 });
  const token = page.getByLabel('Admin token');
  await token.fill(ADMIN_TOKEN);
  await token.press('Enter');
  await page.getByRole('definition').first().waitFor();
  await page.getByRole('button', { name: 'Record' }).focus();
  await page.screenshot({ path: out, fullPage: true });
  console.log(`${out}: ${(await stat(out)).size} bytes`);
} finally {
  await chromium.close();
  await server.close();
  await dir.remove();
}
