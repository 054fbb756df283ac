// The transcript list. Each entry keeps its text for good; its audio (Blob, object URL, player) only
// while it is among the last few clips, so an afternoon of recording holds a handful of clips, not
// all of them. Everything audio is let go when the page is hidden.
import type { AudioBlobHandler } from '../audio-blob-handler.js';
import { formatBytes, formatClock, formatSeconds } from '../format.js';
import type { MemoryManager } from '../memory-manager.js';
import type { TranscribeOutcome } from '../transcribe-client.js';
import { el } from './dom.js';
import { transcriptActions } from './transcript-actions.js';

export interface ClipEntry {
  readonly number: number;
  /** "Recording 3", or the chosen file's name. */
  readonly name: string;
  /** How long the recording ran (unknown for a file). */
  readonly durationMs: number | undefined;
  readonly item: HTMLLIElement;
  readonly text: HTMLParagraphElement;
  readonly meta: HTMLParagraphElement;
  clip: AudioBlobHandler | null;
  player: HTMLAudioElement | null;
  retry: HTMLButtonElement | null;
}

export interface ClipListOptions {
  /** Clips kept playable (default 10) ... */
  maxClips?: number;
  /** ... and at most this many bytes of them (default 50 MB); the newest clip is always kept. */
  maxBytes?: number;
  /** Where the copy button reports how it went. */
  tell?: (message: string, failed: boolean) => void;
}

export class ClipList {
  readonly #list: HTMLOListElement;
  readonly #empty: HTMLElement;
  readonly #memory: MemoryManager;
  readonly #maxClips: number;
  readonly #maxBytes: number;
  readonly #tell: (message: string, failed: boolean) => void;
  /** Entries that still hold audio, oldest first. */
  #playable: ClipEntry[] = [];
  #count = 0;
  #unhook: (() => void) | null = null;

  constructor(list: HTMLOListElement, empty: HTMLElement, memory: MemoryManager, options: ClipListOptions = {}) {
    this.#list = list;
    this.#empty = empty;
    this.#memory = memory;
    this.#maxClips = options.maxClips ?? 10;
    this.#maxBytes = options.maxBytes ?? 50 * 1024 * 1024;
    this.#tell = options.tell ?? (() => undefined);
  }

  get size(): number {
    return this.#list.childElementCount;
  }

  /** A new entry for a clip (a recording, or a file when `fileName` is given) being transcribed, playable at once. */
  add(clip: AudioBlobHandler, durationMs?: number, fileName?: string): ClipEntry {
    // Recordings are numbered among themselves; a file goes by its name.
    const number = fileName === undefined ? ++this.#count : this.#count;
    const name = fileName ?? `Recording ${number}`;
    const player = el('audio', { controls: true, preload: 'none', src: clip.getObjectURL() });
    player.setAttribute('aria-label', name);
    const entry: ClipEntry = {
      number,
      name,
      durationMs,
      item: el('li'),
      text: el('p', { className: 'clip-text', textContent: 'Transcribing…' }),
      meta: el('p', { className: 'clip-meta', textContent: `${name} · ${formatBytes(clip.size)}` }),
      clip,
      player,
      retry: null,
    };
    entry.item.append(entry.text, entry.meta, player);
    this.#list.append(entry.item);
    this.#empty.hidden = true;
    this.#playable.push(entry);
    this.#unhook ??= this.#memory.addReleaseHook(() => {
      this.#unhook = null;
      this.releaseAudio();
    });
    this.#trim();
    return entry;
  }

  showTranscript(entry: ClipEntry, outcome: TranscribeOutcome): void {
    this.#removeRetry(entry);
    entry.text.className = 'clip-text';
    // Each segment on a line of its own behind the time it starts at.
    const lines = outcome.segments.filter((s) => s.text.trim());
    if (lines.length === 0) entry.text.textContent = outcome.text.trim() || '(no speech recognised)';
    else {
      entry.text.replaceChildren(
        ...lines.flatMap((s, i) => [
          ...(i > 0 ? ['\n'] : []),
          el('time', { className: 'stamp', dateTime: `PT${s.start.toFixed(2)}S`, textContent: formatClock(s.start * 1000) }),
          ` ${s.text.trim()}`,
        ]),
      );
    }
    const sent = outcome.sent === 'wav' ? 'sent as WAV' : entry.durationMs === undefined ? 'sent as chosen' : 'sent as recorded';
    entry.meta.textContent =
      `${entry.name} · ${formatSeconds(outcome.duration_s)} · ${outcome.language} · ` +
      `${formatBytes(outcome.uploadedBytes)} ${sent} · transcribed in ${Math.round(outcome.processing_ms)} ms`;
    entry.item.querySelector('.actions')?.remove();
    entry.meta.after(transcriptActions(entry.name, outcome, this.#memory, this.#tell));
  }

  showFailure(entry: ClipEntry, message: string, retry: (() => void) | null): void {
    this.#removeRetry(entry);
    entry.text.className = 'clip-text clip-failed';
    entry.text.textContent = `Not transcribed: ${message}`;
    if (retry && entry.clip) {
      entry.retry = el('button', { type: 'button', textContent: 'Try again' });
      entry.retry.setAttribute('aria-label', `Try again to transcribe ${entry.name}`);
      entry.retry.addEventListener('click', retry, { once: true });
      entry.item.append(entry.retry);
    }
  }

  /** Lets go of every clip's audio; the text stays. */
  releaseAudio(): void {
    for (const entry of this.#playable) this.#release(entry);
    this.#playable = [];
    this.#unhook?.();
    this.#unhook = null;
  }

  clear(): void {
    this.releaseAudio();
    this.#list.replaceChildren();
    this.#empty.hidden = false;
  }

  #trim(): void {
    let bytes = 0;
    for (const entry of this.#playable) bytes += entry.clip?.size ?? 0;
    while (this.#playable.length > 1 && (this.#playable.length > this.#maxClips || bytes > this.#maxBytes)) {
      const oldest = this.#playable.shift();
      if (!oldest) break;
      bytes -= oldest.clip?.size ?? 0;
      this.#release(oldest);
    }
  }

  #release(entry: ClipEntry): void {
    const player = entry.player;
    if (player) {
      // Revoking the URL is not enough: the element keeps its media resource until its src is gone.
      player.pause();
      player.removeAttribute('src');
      player.load();
      player.remove();
      entry.player = null;
    }
    this.#removeRetry(entry);
    entry.clip?.cleanup();
    entry.clip = null;
    if (entry.item.isConnected) entry.meta.append(' · audio released');
  }

  #removeRetry(entry: ClipEntry): void {
    entry.retry?.remove();
    entry.retry = null;
  }
}
