// Files through the page in Chromium against the real server (synthetic `mini` model): chosen with
// the file input (also by keyboard) or dropped; transcripts with timestamps, copied and downloaded
// as txt / srt / vtt through object URLs the page revokes; every whisper language, Detect and
// Translate sent as chosen; the server's errors as sentences; the page opened over plain HTTP under
// a name (not a secure context: no microphone API) still uploads and says why it cannot record;
// axe-core finds nothing on the idle page and with transcripts shown.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildWeb } from '../../web/build.js';
import { formatTranscript, type Transcript } from '../../web/src/transcript-formats.js';
import { syllableTones } from '../helpers/signals.js';
import { tempDir } from '../helpers/temp-dir.js';
import { axeViolations } from './helpers/axe.js';
import { useChromiumPage } from './helpers/chromium-page.js';
import { hasChromium, launchChromium, NO_CHROMIUM_REASON, type Chromium } from './helpers/chromium.js';
import { wavBytes } from './helpers/fake-microphone.js';
import { liveTracked, playToEnd, READY } from './helpers/page-driver.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

if (!hasChromium) console.warn(`Skipping the Chromium tests: ${NO_CHROMIUM_REASON}`);

const SPEECH = wavBytes(syllableTones(2));
const FILE_READY = 'Ready. Choose or drop a file to transcribe.';
const isTranscribe = (r: Response): boolean => new URL(r.url()).pathname === '/transcribe';

interface SentForm {
  fields: Record<string, string>;
  file: { field: string; name: string; bytes: number[] } | null;
}

// Playwright does not report a multipart body that holds a File, so the page's fetch is watched:
// every FormData it sends is kept, and read back here.
async function watchForms(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    if (globalThis.__forms) return;
    globalThis.__forms = [];
    const send = globalThis.fetch;
    globalThis.fetch = (url, init) => {
      if (init && init.body instanceof FormData) globalThis.__forms.push(init.body);
      return send(url, init);
    };
  })()`);
}

async function lastForm(page: Page): Promise<SentForm> {
  return (await page.evaluate(`(async () => {
    const form = globalThis.__forms.at(-1);
    const sent = { fields: {}, file: null };
    for (const [field, value] of form) {
      if (typeof value === 'string') sent.fields[field] = value;
      else sent.file = { field, name: value.name, bytes: [...new Uint8Array(await value.arrayBuffer())] };
    }
    return sent;
  })()`)) as SentForm;
}

/** Chooses `name` with the file input; resolves the request and the JSON the server answered. */
async function chooseFile(page: Page, name: string, buffer: Buffer, mimeType = 'audio/wav'): Promise<{ form: SentForm; json: Transcript & { language: string } }> {
  await watchForms(page);
  const response = page.waitForResponse(isTranscribe);
  await page.getByLabel('Audio or video file').setInputFiles({ name, mimeType, buffer });
  const answered = await response;
  await page.getByRole('status').getByText(`${name} transcribed.`).waitFor({ timeout: 60_000 });
  return { form: await lastForm(page), json: (await answered.json()) as Transcript & { language: string } };
}

async function failedUpload(page: Page, name: string, buffer: Buffer, mimeType: string): Promise<string> {
  await page.getByLabel('Audio or video file').setInputFiles({ name, mimeType, buffer });
  const alert = page.getByRole('alert');
  await alert.getByText(`${name} was not transcribed.`).waitFor({ timeout: 60_000 });
  return (await alert.textContent()) ?? '';
}

const entryOf = (page: Page, name: string) => page.getByRole('listitem').filter({ has: page.getByRole('group', { name: `Transcript of ${name}` }) });

describe.skipIf(!hasChromium)(hasChromium ? 'files in the page, in Chromium' : `files in the page (skipped: ${NO_CHROMIUM_REASON})`, () => {
  const fixture = useChromiumPage('web-upload');

  it('a file chosen by keyboard is uploaded as it is and transcribed; its segments show their times; it plays back', async () => {
    const { page } = fixture.chromium;
    await page.goto(fixture.server.url);
    await expect.poll(() => page.getByRole('status').textContent()).toBe(READY);

    // Record, then (Stop is disabled) the file input: Tab reaches it, Space opens the chooser.
    await page.getByRole('button', { name: 'Record' }).focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.id')).toBe('file');
    await watchForms(page);
    const chooser = page.waitForEvent('filechooser');
    await page.keyboard.press('Space');
    const response = page.waitForResponse(isTranscribe);
    await (await chooser).setFiles({ name: 'speech.wav', mimeType: 'audio/wav', buffer: SPEECH });
    const answered = await response;
    await page.getByRole('status').getByText('speech.wav transcribed.').waitFor({ timeout: 60_000 });

    const form = await lastForm(page);
    expect(form.fields).toEqual({ language: 'auto' });
    expect(form.file?.field).toBe('audio');
    expect(form.file?.name).toBe('speech.wav');
    expect(Buffer.from(form.file?.bytes ?? []).equals(SPEECH)).toBe(true); // the file itself, not a conversion

    const json = (await answered.json()) as Transcript;
    const entry = entryOf(page, 'speech.wav');
    const spoken = json.segments.filter((s) => s.text.trim());
    expect(await entry.locator('time.stamp').count()).toBe(spoken.length);
    if (spoken.length > 0) {
      expect(await entry.locator('.clip-text').textContent()).toContain(spoken[0]?.text.trim());
      expect(await entry.locator('time.stamp').first().textContent()).toMatch(/^\d+:\d\d$/);
    }
    expect(await entry.locator('.clip-meta').textContent()).toMatch(/^speech\.wav · [\d.]+ s · \w+ · [\d.]+ K?B sent as chosen · transcribed in \d+ ms$/);
    const played = await playToEnd(entry.getByLabel('speech.wav', { exact: true }));
    expect(played).toBeGreaterThan(1.5);
    expect(await liveTracked(page)).toEqual({ audioContexts: 0, mediaStreams: 0, mediaRecorders: 0, objectURLs: 1 });
  });

  it('a file dropped on the page is taken (the browser does not open it) and transcribed', async () => {
    const { page } = fixture.chromium;
    await page.goto(fixture.server.url);
    await watchForms(page);
    const handled = await page.evaluate(`(() => {
      const data = new DataTransfer();
      data.items.add(new File([new Uint8Array(${JSON.stringify([...SPEECH])})], 'dropped.wav', { type: 'audio/wav' }));
      const target = document.querySelector('#transcripts-heading');
      const over = new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true });
      target.dispatchEvent(over);
      const highlighted = document.body.classList.contains('dropping');
      const drop = new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true });
      target.dispatchEvent(drop);
      return { over: over.defaultPrevented, highlighted, drop: drop.defaultPrevented, after: document.body.classList.contains('dropping') };
    })()`);
    expect(handled).toEqual({ over: true, highlighted: true, drop: true, after: false });
    await page.getByRole('status').getByText('dropped.wav transcribed.').waitFor({ timeout: 60_000 });
    const form = await lastForm(page);
    expect(form.file?.name).toBe('dropped.wav');
    expect(Buffer.from(form.file?.bytes ?? []).equals(SPEECH)).toBe(true);
    expect(await entryOf(page, 'dropped.wav').count()).toBe(1);
  });

  it('downloads are the transcript as txt, srt and vtt, from object URLs revoked afterwards', async () => {
    const { page } = fixture.chromium;
    await page.goto(fixture.server.url);
    const { json } = await chooseFile(page, 'talk.wav', SPEECH);
    const actions = page.getByRole('group', { name: 'Transcript of talk.wav' });
    for (const format of ['txt', 'srt', 'vtt'] as const) {
      const download = page.waitForEvent('download');
      await actions.getByRole('button', { name: `Download .${format}` }).click();
      const saved = await download;
      expect(saved.suggestedFilename()).toBe(`talk.${format}`);
      expect(await readFile((await saved.path()) as string, 'utf8')).toBe(formatTranscript(json, format));
      const url = saved.url();
      expect(url).toMatch(/^blob:/);
      // The clip's URL stays; the download's goes once the browser has it.
      await expect.poll(() => liveTracked(page).then((t) => t.objectURLs), { timeout: 5000 }).toBe(1);
      expect(await page.evaluate((u) => fetch(u).then(() => 'resolves', () => 'revoked'), url)).toBe('revoked');
    }
    expect((await liveTracked(page)).objectURLs).toBe(1);
  });

  it('Copy puts the transcript on the clipboard (Clipboard API on a secure page)', async () => {
    const { page, context } = fixture.chromium;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: fixture.server.url });
    await page.goto(fixture.server.url);
    const { json } = await chooseFile(page, 'copy.wav', SPEECH);
    await page.evaluate('navigator.clipboard.writeText("before")');
    await page.getByRole('group', { name: 'Transcript of copy.wav' }).getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('status').getByText('The transcript of copy.wav is on the clipboard.').waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(json.text.trim());
  });

  it('every whisper language, Detect first; the language and Translate go with the upload', async () => {
    const { page } = fixture.chromium;
    await page.goto(fixture.server.url);
    const language = page.getByRole('combobox', { name: 'Language' });
    const options = (await language.locator('option').evaluateAll((all) => all.map((o) => [(o as unknown as { value: string }).value, o.textContent]))) as [string, string][];
    expect(options[0]).toEqual(['auto', 'Detect']);
    expect(options).toHaveLength(101);
    const values = options.map(([value]) => value);
    for (const code of ['en', 'de', 'ja', 'zh', 'yue', 'haw']) expect(values).toContain(code);
    expect(Object.fromEntries(options)).toMatchObject({ en: 'English', de: 'German', ja: 'Japanese', jw: 'Javanese' });
    const names = options.slice(1).map(([, name]) => name);
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b, 'en')));

    await language.selectOption('en');
    await page.getByRole('checkbox', { name: 'Translate to English' }).check();
    const { form } = await chooseFile(page, 'translate.wav', SPEECH);
    expect(form.fields).toEqual({ language: 'en', translate: 'true' });

    // The mini model is English-only: German is refused, and the page says what to do.
    await language.selectOption('de');
    await page.getByRole('checkbox', { name: 'Translate to English' }).uncheck();
    expect(await failedUpload(page, 'german.wav', SPEECH, 'audio/wav')).toBe(
      'german.wav was not transcribed. The server’s model knows English only: choose English or Detect as the language.',
    );
  });

  it('errors read as sentences: a file that is not audio, an empty one', async () => {
    const { page } = fixture.chromium;
    await page.goto(fixture.server.url);
    expect(await failedUpload(page, 'notes.txt', Buffer.from('These are my notes, not a recording.\n'.repeat(40)), 'text/plain')).toBe(
      'notes.txt was not transcribed. That file is not audio the server can read: it may be damaged or not a sound or video file.',
    );
    const entry = page.getByRole('listitem').first();
    expect(await entry.locator('.clip-text').textContent()).toBe('Not transcribed: That file is not audio the server can read: it may be damaged or not a sound or video file.');
    expect(await entry.getByRole('button', { name: 'Try again to transcribe notes.txt' }).count()).toBe(1);
    expect(await failedUpload(page, 'empty.wav', Buffer.alloc(0), 'audio/wav')).toBe('empty.wav was not transcribed. That file holds no audio.');
    expect(await page.getByRole('status').textContent()).toBe(READY);
  });

  describe('a server that takes up to 1 MB', () => {
    let small: TestServer;
    let dir: Awaited<ReturnType<typeof tempDir>>;
    beforeAll(async () => {
      dir = await tempDir('web-upload-small');
      await buildWeb(join(dir.path, 'dist'));
      small = await startTestServer(join(dir.path, 'dist'), { MAX_UPLOAD_MB: '1' });
    });
    afterAll(async () => {
      await small?.close();
      await dir?.remove();
    });

    it('a larger file: "That file is too large (the server takes up to 1 MB)."', async () => {
      const { page } = fixture.chromium;
      await page.goto(small.url);
      const big = wavBytes(syllableTones(40)); // 16 kHz 16-bit: over 1 MB
      expect(big.length).toBeGreaterThan(1024 * 1024);
      expect(await failedUpload(page, 'long.wav', big, 'audio/wav')).toBe('long.wav was not transcribed. That file is too large (the server takes up to 1 MB).');
    });
  });

  describe('opened over plain HTTP under a name (not a secure context)', () => {
    let remote: Chromium;
    let origin: string;
    beforeAll(async () => {
      // Chromium counts localhost and 127.0.0.0/8 as secure; a name that merely resolves there is not.
      remote = await launchChromium({ microphone: fixture.microphone, args: ['--host-resolver-rules=MAP talk2me.test 127.0.0.1'] });
      origin = `http://talk2me.test:${new URL(fixture.server.url).port}`;
    });
    afterAll(async () => remote?.close());

    it('says why it cannot record, and still uploads, copies and downloads', async () => {
      const { page } = remote;
      await page.goto(origin);
      expect(await page.evaluate('[isSecureContext, typeof navigator.mediaDevices, typeof navigator.clipboard]')).toEqual([false, 'undefined', 'undefined']);
      await expect.poll(() => page.getByRole('status').textContent()).toBe(FILE_READY);
      expect(await page.locator('#drop-hint').textContent()).toBe('Recording needs HTTPS or localhost; you can still upload a file, or drop one anywhere on the page.');
      expect(await page.getByLabel('Audio or video file').getAttribute('aria-describedby')).toBe('drop-hint');
      expect(await page.getByRole('button', { name: 'Record' }).isDisabled()).toBe(true);
      expect(await page.getByRole('alert').isHidden()).toBe(true);

      const { json } = await chooseFile(page, 'remote.wav', SPEECH);
      expect(await page.getByRole('status').textContent()).toBe('remote.wav transcribed.');

      // No Clipboard API here: the copy goes through a selected text area and execCommand('copy').
      await page.evaluate(`document.addEventListener('copy', () => {
        const area = document.activeElement;
        globalThis.__copied = area.value.slice(area.selectionStart, area.selectionEnd);
      })`);
      const actions = page.getByRole('group', { name: 'Transcript of remote.wav' });
      await actions.getByRole('button', { name: 'Copy' }).click();
      await page.getByRole('status').getByText('The transcript of remote.wav is on the clipboard.').waitFor();
      expect(await page.evaluate('globalThis.__copied')).toBe(json.text.trim());
      expect(await page.evaluate('document.activeElement.textContent')).toBe('Copy'); // focus came back to the button
      expect(await page.locator('textarea').count()).toBe(0);

      const download = page.waitForEvent('download');
      await actions.getByRole('button', { name: 'Download .vtt' }).click();
      expect(await readFile((await (await download).path()) as string, 'utf8')).toBe(formatTranscript(json, 'vtt'));
      await expect.poll(() => liveTracked(page).then((t) => t.objectURLs), { timeout: 5000 }).toBe(1);

      expect(await axeViolations(page)).toEqual([]);
    });
  });

  it('axe-core: no violations on the idle page, nor with transcripts and a failure shown', async () => {
    const { page } = fixture.chromium;
    await page.goto(fixture.server.url);
    await expect.poll(() => page.getByRole('status').textContent()).toBe(READY);
    expect(await axeViolations(page)).toEqual([]);
    await chooseFile(page, 'axe.wav', SPEECH);
    await failedUpload(page, 'axe.txt', Buffer.from('not audio'), 'text/plain');
    expect(await page.getByRole('group', { name: 'Transcript of axe.wav' }).getByRole('button').count()).toBe(4);
    expect(await axeViolations(page)).toEqual([]);
  });
});
