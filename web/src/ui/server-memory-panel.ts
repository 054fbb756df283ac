// The server's GET /admin/memory, for whoever holds the admin token. The token lives in this tab's
// sessionStorage only (gone when the tab closes), goes out only as X-Admin-Token, and is dropped
// when the server refuses it.
import { el } from './dom.js';

const TOKEN_KEY = 'talk2me.adminToken';
const REFRESH_MS = 5000;

interface ServerStats {
  timestamp: string;
  memory: { process_mb: number; heap_used_mb: number; heap_total_mb: number; gpu_mb: number | null; gpu_total_mb: number | null; threshold_mb: number };
  temp_files: { count: number; size_mb: number };
  model: { state: string; weights_mb: number | null; inflight: number; queued: number; reload_count: number };
  sessions: { active: number } | null;
}

export class ServerMemoryPanel {
  readonly #input: HTMLInputElement;
  readonly #output: HTMLDListElement;
  readonly #onError: (message: string) => void;
  /** Mirrors sessionStorage, so a browser that blocks storage still works for this page's life. */
  #token: string | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(form: HTMLFormElement, forget: HTMLButtonElement, output: HTMLDListElement, onError: (message: string) => void) {
    this.#input = form.querySelector('input') as HTMLInputElement;
    this.#output = output;
    this.#onError = onError;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const token = this.#input.value.trim();
      if (!token) {
        onError('Enter the admin token first.');
        return;
      }
      this.#store(token);
      this.#input.value = '';
      void this.refresh();
      this.#poll();
    });
    forget.addEventListener('click', () => this.forget());
    document.addEventListener('visibilitychange', () => (document.hidden ? this.#stopPolling() : this.#token && this.#poll()));
    try {
      this.#token = sessionStorage.getItem(TOKEN_KEY);
    } catch {
      // storage blocked: nothing was kept
    }
    if (this.#token) {
      this.#input.placeholder = 'saved for this tab';
      void this.refresh();
      this.#poll();
    }
  }

  forget(): void {
    this.#token = null;
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // storage blocked: nothing was kept
    }
    this.#stopPolling();
    this.#input.value = '';
    this.#input.placeholder = '';
    this.#output.hidden = true;
    this.#output.replaceChildren();
  }

  async refresh(): Promise<void> {
    const token = this.#token;
    if (!token) return;
    let response: Response;
    try {
      response = await fetch('admin/memory', { headers: { 'X-Admin-Token': token }, cache: 'no-store', credentials: 'same-origin' });
    } catch {
      this.#onError('Server memory: the server could not be reached.');
      return;
    }
    if (response.status === 401 || response.status === 404) {
      this.forget();
      this.#onError(
        response.status === 401 ? 'Server memory: the admin token was refused.' : 'Server memory: this server has no admin routes (ADMIN_TOKEN is not set).',
      );
      return;
    }
    if (!response.ok) {
      this.#onError(`Server memory: the server answered ${response.status}.`);
      return;
    }
    this.#render((await response.json()) as ServerStats);
  }

  #render(s: ServerStats): void {
    const m = s.memory;
    const rows: [string, string][] = [
      ['Process', `${m.process_mb} MB (trims above ${m.threshold_mb} MB)`],
      ['JS heap', `${m.heap_used_mb} of ${m.heap_total_mb} MB`],
      ['GPU', m.gpu_mb === null ? 'none' : `${m.gpu_mb} of ${m.gpu_total_mb} MB`],
      ['Model', `${s.model.state}${s.model.weights_mb === null ? '' : `, ${s.model.weights_mb} MB weights`}, ${s.model.reload_count} reloads`],
      ['Transcriptions', `${s.model.inflight} running, ${s.model.queued} queued`],
      ['Temp files', `${s.temp_files.count} (${s.temp_files.size_mb} MB)`],
      ['Sessions', String(s.sessions?.active ?? 0)],
      ['Updated', new Date(s.timestamp).toLocaleTimeString()],
    ];
    this.#output.replaceChildren(...rows.flatMap(([name, value]) => [el('dt', { textContent: name }), el('dd', { textContent: value })]));
    this.#output.hidden = false;
  }

  #store(token: string): void {
    this.#token = token;
    this.#input.placeholder = 'saved for this tab';
    try {
      sessionStorage.setItem(TOKEN_KEY, token);
    } catch {
      // storage blocked: the token lives as long as this page
    }
  }

  #poll(): void {
    this.#stopPolling();
    this.#timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  #stopPolling(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
