// The page's own figures: what the memory manager tracks, and Chromium's JS heap where it tells.
import { formatBytes } from '../format.js';
import type { MemoryManager, ResourceKind } from '../memory-manager.js';
import { el } from './dom.js';

const ROWS: [ResourceKind, string][] = [
  ['audioContexts', 'Audio contexts'],
  ['mediaStreams', 'Microphone streams'],
  ['mediaRecorders', 'Recorders'],
  ['objectURLs', 'Clip URLs'],
];

export class PageMemoryPanel {
  readonly #memory: MemoryManager;
  readonly #cells: Map<ResourceKind, HTMLTableCellElement[]> = new Map();
  readonly #heap: HTMLElement;

  constructor(body: HTMLTableSectionElement, heap: HTMLElement, memory: MemoryManager) {
    this.#memory = memory;
    this.#heap = heap;
    for (const [kind, label] of ROWS) {
      const cells = [el('td'), el('td'), el('td')];
      body.append(el('tr', {}, el('th', { scope: 'row', textContent: label }), ...cells));
      this.#cells.set(kind, cells);
    }
  }

  render(): void {
    const stats = this.#memory.getStats();
    for (const [kind, cells] of this.#cells) {
      const s = stats[kind];
      const values = [s.live, s.closed, s.registered];
      cells.forEach((cell, i) => {
        const text = String(values[i]);
        if (cell.textContent !== text) cell.textContent = text; // no needless layout every 2 s
      });
    }
    const heap = (performance as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize;
    const text = `${heap === undefined ? '' : `JS heap ${formatBytes(heap)} · `}${stats.sweeps} sweeps, ${stats.releases} releases`;
    if (this.#heap.textContent !== text) this.#heap.textContent = text;
  }
}
