// The page: record, or choose or drop a file; upload; show the transcript; the memory panel shows
// what the page holds.
import { AudioBlobHandler } from './audio-blob-handler.js';
import { formatBytes, formatClock } from './format.js';
import { LevelMeter } from './level-meter.js';
import { pageMemory } from './memory-manager.js';
import { SafeMediaRecorder } from './safe-media-recorder.js';
import { transcribe } from './transcribe-client.js';
import { ClipList, type ClipEntry } from './ui/clip-list.js';
import { byId } from './ui/dom.js';
import { fillLanguages } from './ui/language-select.js';
import { PageMemoryPanel } from './ui/page-memory-panel.js';
import { ServerMemoryPanel } from './ui/server-memory-panel.js';
import { convertToWav } from './wav-converter.js';

/** Opus at 32 kb/s: plenty for speech the server resamples to 16 kHz (measured: web/README.md). */
const AUDIO_BITS_PER_SECOND = 32_000;

const memory = pageMemory();
// A handle for the console (and the browser tests): talk2me.memory.getStats()
(globalThis as { talk2me?: unknown }).talk2me = { memory };

const ui = {
  record: byId<HTMLButtonElement>('record'),
  stop: byId<HTMLButtonElement>('stop'),
  level: byId<HTMLMeterElement>('level'),
  elapsed: byId<HTMLElement>('elapsed'),
  language: byId<HTMLSelectElement>('language'),
  translate: byId<HTMLInputElement>('translate'),
  file: byId<HTMLInputElement>('file'),
  status: byId<HTMLElement>('status'),
  error: byId<HTMLElement>('error'),
  clear: byId<HTMLButtonElement>('clear'),
};
const clips = new ClipList(byId('transcripts'), byId('no-transcripts'), memory, {
  tell: (message, failed) => (failed ? showError(message) : say(message)),
});
const pagePanel = new PageMemoryPanel(byId<HTMLTableElement>('page-memory').tBodies[0] as HTMLTableSectionElement, byId('page-heap'), memory);
new ServerMemoryPanel(byId('admin-form'), byId('admin-forget'), byId('server-memory'), showError);

let recorder: SafeMediaRecorder | null = null;
let meter: LevelMeter | null = null;
let ticker: ReturnType<typeof setInterval> | undefined;
let stoppedBeforeStart = false;
/** What the status line says when nothing is going on. */
let idle = 'Ready. Press Record to start.';

function say(message: string): void {
  ui.status.textContent = message;
}

function showError(message: string): void {
  ui.error.textContent = message;
  ui.error.hidden = false;
}

function clearError(): void {
  ui.error.hidden = true;
  ui.error.textContent = '';
}

function setRecording(on: boolean): void {
  const moveFocus = document.activeElement === (on ? ui.record : ui.stop);
  ui.record.disabled = on;
  ui.stop.disabled = !on;
  // The pressed button is disabled now, which would drop keyboard focus on the floor.
  if (moveFocus) (on ? ui.stop : ui.record).focus();
}

async function startRecording(): Promise<void> {
  clearError();
  stoppedBeforeStart = false;
  const current = new SafeMediaRecorder({ memory, audioBitsPerSecond: AUDIO_BITS_PER_SECOND });
  recorder = current;
  ui.elapsed.textContent = formatClock(0);
  setRecording(true);
  say('Asking for the microphone…');
  try {
    await current.start({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
  } catch {
    // finishRecording() reports it: `ended` rejects with the same error
  }
  void finishRecording(current);
  if (current.state !== 'recording') return;
  say('Recording… press Stop when you are done.');
  try {
    meter = current.stream ? new LevelMeter(current.stream as MediaStream, memory) : null;
  } catch {
    meter = null; // no level bar is no reason not to record
  }
  ticker = setInterval(() => {
    ui.elapsed.textContent = formatClock(current.durationMs);
    ui.level.value = meter?.level() ?? 0;
  }, 200);
  pagePanel.render();
}

function stopRecording(): void {
  if (recorder?.state === 'starting') stoppedBeforeStart = true;
  ui.stop.disabled = true;
  recorder?.stop().catch(() => undefined); // finishRecording() handles the outcome
}

async function finishRecording(current: SafeMediaRecorder): Promise<void> {
  let blob: Blob | null = null;
  let failure: unknown = null;
  try {
    blob = await current.ended;
  } catch (err) {
    failure = err;
  }
  if (recorder !== current) return;
  recorder = null;
  clearInterval(ticker);
  ui.level.value = 0;
  const closing = meter?.close();
  meter = null;
  setRecording(false);
  await closing;
  pagePanel.render();
  if (!blob) {
    say(idle);
    if (!stoppedBeforeStart) showError(failure instanceof Error ? failure.message : String(failure));
    return;
  }
  if (blob.size === 0) {
    say(idle);
    showError('The recording is empty: nothing came from the microphone. Try again and speak for a moment.');
    return;
  }
  if (current.stopReason === 'max-duration' || current.stopReason === 'max-bytes') {
    showError(`Recording stopped at the ${current.stopReason === 'max-duration' ? formatClock(current.durationMs) : formatBytes(current.bytes)} limit; it is being transcribed.`);
  }
  const entry = clips.add(new AudioBlobHandler(blob, memory), current.durationMs);
  ui.clear.disabled = false;
  await upload(entry);
}

async function upload(entry: ClipEntry): Promise<void> {
  const blob = entry.clip?.blob;
  if (!blob) return;
  say(`Transcribing ${entry.name} (${formatBytes(blob.size)})…`);
  try {
    const outcome = await transcribe(blob, {
      language: ui.language.value,
      translate: ui.translate.checked,
      ...(entry.durationMs !== undefined && { durationMs: entry.durationMs }),
      toWav: (clip) => convertToWav(clip, memory),
    });
    clips.showTranscript(entry, outcome);
    say(`${entry.name} transcribed.`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    clips.showFailure(entry, message, () => {
      clearError();
      void upload(entry);
    });
    showError(`${entry.name} was not transcribed. ${message}`);
    say(idle);
  }
  pagePanel.render();
}

/** Chosen or dropped files, one after another, each sent as it is (the server decodes it). */
async function uploadFiles(files: FileList | File[]): Promise<void> {
  clearError();
  for (const file of Array.from(files)) {
    const entry = clips.add(new AudioBlobHandler(file, memory), undefined, file.name || 'Unnamed file');
    ui.clear.disabled = false;
    await upload(entry);
  }
}

ui.record.addEventListener('click', () => void startRecording());
ui.file.addEventListener('change', () => {
  const files = Array.from(ui.file.files ?? []);
  ui.file.value = ''; // the same file chosen again is a new upload, and the input holds no File meanwhile
  void uploadFiles(files);
});
// A file dropped anywhere is taken: left to the browser, it would open it and leave the page.
const dragging = (event: DragEvent): boolean => Array.from(event.dataTransfer?.types ?? []).includes('Files');
addEventListener('dragover', (event) => {
  if (!dragging(event)) return;
  event.preventDefault();
  if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
  document.body.classList.add('dropping');
});
addEventListener('dragleave', (event) => {
  if (!event.relatedTarget) document.body.classList.remove('dropping');
});
addEventListener('drop', (event) => {
  document.body.classList.remove('dropping');
  if (!dragging(event)) return;
  event.preventDefault();
  void uploadFiles(event.dataTransfer?.files ?? []);
});
ui.stop.addEventListener('click', stopRecording);
ui.clear.addEventListener('click', () => {
  clips.clear();
  ui.clear.disabled = true;
  (ui.record.disabled ? ui.file : ui.record).focus(); // where the next clip comes from
  say('Transcripts cleared.');
  pagePanel.render();
});
addEventListener('pageshow', (event) => {
  if (event.persisted) pagePanel.render(); // back from the back/forward cache: everything was released on pagehide
});
setInterval(() => {
  if (!document.hidden) pagePanel.render();
}, 2000);

fillLanguages(ui.language);
const g = globalThis as { MediaRecorder?: unknown; isSecureContext?: boolean };
if (!navigator.mediaDevices?.getUserMedia || !g.MediaRecorder) {
  // Not an error: the page still works for files, so the reason sits in the hint, not the alert.
  idle = 'Ready. Choose or drop a file to transcribe.';
  byId('drop-hint').textContent =
    g.isSecureContext === false
      ? 'Recording needs HTTPS or localhost; you can still upload a file, or drop one anywhere on the page.'
      : 'This browser cannot record audio; you can still upload a file, or drop one anywhere on the page.';
  say(idle);
} else {
  ui.record.disabled = false;
  say(idle);
}
pagePanel.render();
