// Copy and download for one transcript. A download is a Blob behind an object URL the page's
// MemoryManager tracks; it is revoked once the browser has begun saving it (revoking at once can
// cut a download short in some browsers), and on pagehide with everything else.
import type { MemoryManager } from '../memory-manager.js';
import { formatTranscript, MIME_TYPES, type DownloadFormat, type Transcript } from '../transcript-formats.js';
import { el } from './dom.js';

export const REVOKE_AFTER_MS = 1000;
const FORMATS: DownloadFormat[] = ['txt', 'srt', 'vtt'];

/** Clipboard API where the page may use it (a secure context); else the older execCommand('copy'). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // no Clipboard API on plain HTTP, or permission refused: the old way still works from a click
  }
  const back = document.activeElement as HTMLElement | null;
  const area = el('textarea', { value: text, readOnly: true });
  area.setAttribute('aria-hidden', 'true');
  area.style.cssText = 'position:fixed;top:0;left:0;opacity:0';
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  area.remove();
  back?.focus();
  return copied;
}

export function downloadText(memory: MemoryManager, filename: string, text: string, type: string): void {
  const url = memory.createObjectURL(new Blob([text], { type }));
  el('a', { href: url, download: filename }).click();
  setTimeout(() => memory.revokeObjectURL(url), REVOKE_AFTER_MS);
}

/** "Recording 3" → "recording-3", "talk.mp3" → "talk". */
export function baseName(name: string): string {
  return name.replace(/\.[^.\s]{1,8}$/, '').replace(/[^\p{L}\p{N}._-]+/gu, '-').toLowerCase() || 'transcript';
}

export function transcriptActions(name: string, transcript: Transcript, memory: MemoryManager, tell: (message: string, failed: boolean) => void): HTMLElement {
  const group = el('div', { className: 'actions' });
  group.setAttribute('role', 'group');
  group.setAttribute('aria-label', `Transcript of ${name}`);
  const copy = el('button', { type: 'button', textContent: 'Copy' });
  copy.addEventListener('click', async () => {
    const copied = await copyText(transcript.text.trim());
    tell(copied ? `The transcript of ${name} is on the clipboard.` : 'This browser would not copy: select the text and copy it by hand.', !copied);
  });
  group.append(copy);
  for (const format of FORMATS) {
    const button = el('button', { type: 'button', textContent: `Download .${format}` });
    button.addEventListener('click', () => downloadText(memory, `${baseName(name)}.${format}`, formatTranscript(transcript, format), MIME_TYPES[format]));
    group.append(button);
  }
  return group;
}
