// whisper.cpp's server, dropped in: the form its users send to POST /inference (real HTTP, FormData
// as curl -F builds it), its response formats, the fields it takes for its own tuning accepted,
// POST /load as the guarded reload; and OpenAI's model listing with the official client.
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';

import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clip } from './helpers/audio.js';
import { ADMIN_TOKEN, listen, makeRoot, type HttpInstance, type Root } from './helpers/harness.js';

let root: Root;
let server: HttpInstance;

beforeAll(async () => {
  root = await makeRoot('whisper-server');
  server = await listen(root, 'whisper-server', { ADMIN_TOKEN });
});

afterAll(async () => {
  await server?.close();
  await root?.remove();
});

function whisperForm(fields: Record<string, string>): FormData {
  const form = new FormData();
  form.append('file', new Blob([clip(2)], { type: 'audio/wav' }), 'jfk.wav');
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return form;
}

const post = (path: string, body: FormData, headers: Record<string, string> = {}) => fetch(`${server.url}${path}`, { method: 'POST', body, headers });

describe('POST /inference (whisper.cpp server)', () => {
  it('answers json, text, srt, vtt and verbose_json as whisper.cpp does', async () => {
    const json = await post('/inference', whisperForm({ response_format: 'json', temperature: '0.0', temperature_inc: '0.2' }));
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual({ text: expect.any(String) });
    const text = await post('/inference', whisperForm({ response_format: 'text' }));
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await text.text()).not.toMatch(/^\{/);
    const srt = await post('/inference', whisperForm({ response_format: 'srt' }));
    expect(await srt.text()).toMatch(/^1\n\d\d:\d\d:\d\d,\d{3} --> /);
    const vtt = await post('/inference', whisperForm({ response_format: 'vtt' }));
    expect(await vtt.text()).toMatch(/^WEBVTT\n\n/);
    const verbose = await post('/inference', whisperForm({ response_format: 'verbose_json', translate: 'true' }));
    expect(await verbose.json()).toMatchObject({ task: 'translate', language: 'english', duration: 2, segments: expect.any(Array) });
  });

  it("accepts the fields whisper.cpp's server takes for its own tuning, as its clients send them", async () => {
    const res = await post(
      '/inference',
      whisperForm({ language: 'en', beam_size: '2', best_of: '2', no_timestamps: 'false', offset_t: '0', max_len: '0', split_on_word: 'false', vad: 'false', no_speech_thold: '0.6', prompt: 'Names: Ada.' }),
    );
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it('refuses what it cannot take, with the JSON error shape', async () => {
    const typo = await post('/inference', whisperForm({ langauge: 'en' }));
    expect(typo.status).toBe(400);
    expect(await typo.json()).toMatchObject({ error: { code: 'UNKNOWN_PARAMETER' } });
    const beam = await post('/inference', whisperForm({ beam_size: '99' }));
    expect(beam.status).toBe(400);
    expect(((await beam.json()) as { error: { message: string } }).error.message).toMatch(/beam_size/);
    const noFile = new FormData();
    noFile.append('response_format', 'json');
    expect((await post('/inference', noFile)).status).toBe(400);
  });
});

describe('POST /load (whisper.cpp server), the guarded reload', () => {
  const loadForm = (model: string) => {
    const form = new FormData();
    form.append('model', model);
    return form;
  };

  it('needs the admin token', async () => {
    const res = await post('/load', loadForm(root.model));
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('loads another model while the current one keeps serving, and refuses a missing one', async () => {
    const other = join(root.path, 'ggml-other.bin');
    await copyFile(root.model, other);
    const ok = await post('/load', loadForm(other), { 'x-admin-token': ADMIN_TOKEN });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(await ok.json()).toMatchObject({ reloaded: true, path: other });
    const missing = await post('/load', loadForm(join(root.path, 'nope.bin')), { 'x-admin-token': ADMIN_TOKEN });
    expect(missing.status).toBe(422);
    expect(await missing.json()).toMatchObject({ error: { code: 'MODEL_NOT_FOUND' } });
    expect((await post('/inference', whisperForm({}))).status).toBe(200);
    const back = await post('/load', loadForm(root.model), { 'x-admin-token': ADMIN_TOKEN });
    expect(back.status).toBe(200);
    const nul = await post('/load', loadForm(`${root.model}\u0000.txt`), { 'x-admin-token': ADMIN_TOKEN });
    expect(nul.status).toBe(400);
    expect(await nul.json()).toMatchObject({ error: { code: 'INVALID_PARAMETER' } });
  });
});

describe('GET /v1/models (OpenAI)', () => {
  it('lists the loaded model and retrieves it by its id and as whisper-1', async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models).toEqual([{ id: 'mini', object: 'model', created: expect.any(Number), owned_by: 'talk2me' }]);
    expect(Math.abs((models[0]?.created ?? 0) - Date.now() / 1000)).toBeLessThan(3600); // the file's own time, written by this test run
    expect(await client.models.retrieve('mini')).toMatchObject({ id: 'mini', object: 'model' });
    expect(await client.models.retrieve('whisper-1')).toMatchObject({ id: 'whisper-1', object: 'model' });
    const err = await client.models.retrieve('gpt-4o-transcribe').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('accepts the fields OpenAI clients send that change nothing here, and streams on stream=true', async () => {
    const form = whisperForm({});
    const openaiForm = new FormData();
    openaiForm.append('file', form.get('file') as Blob, 'a.wav');
    for (const [name, value] of [['model', 'whisper-1'], ['stream', 'false'], ['include[]', 'logprobs'], ['chunking_strategy', 'auto']]) openaiForm.append(name as string, value as string);
    const ok = await post('/v1/audio/transcriptions', openaiForm);
    expect(ok.status, await ok.clone().text()).toBe(200);
    openaiForm.set('stream', 'true');
    const streaming = await post('/v1/audio/transcriptions', openaiForm);
    expect(streaming.status).toBe(200);
    expect(streaming.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    // The hooks that set these do not run on a streamed answer: the route sets them itself.
    expect(streaming.headers.get('x-content-type-options')).toBe('nosniff');
    expect(streaming.headers.get('x-request-id')).toMatch(/./);
    expect(await streaming.text()).toMatch(/data: \{"type":"transcript\.text\.done","text":.*\}\n\n$/);
  });
});
