// Owns one recorded clip: its Blob and, once asked for, one tracked object URL for playback.
// cleanup() revokes the URL and drops the Blob, so the browser can free the bytes.
import { pageMemory, type MemoryManager } from './memory-manager.js';

export class AudioBlobHandler {
  readonly #memory: MemoryManager;
  #blob: Blob | null;
  #url: string | null = null;
  readonly size: number;
  readonly type: string;

  constructor(blob: Blob, memory: MemoryManager = pageMemory()) {
    this.#blob = blob;
    this.#memory = memory;
    this.size = blob.size;
    this.type = blob.type;
  }

  /** The clip, or null after cleanup(). */
  get blob(): Blob | null {
    return this.#blob;
  }

  get cleanedUp(): boolean {
    return this.#blob === null;
  }

  /** One object URL for the clip, created on first call and tracked by the memory manager. */
  getObjectURL(): string {
    if (!this.#blob) throw new Error('This clip has been cleaned up');
    this.#url ??= this.#memory.createObjectURL(this.#blob);
    return this.#url;
  }

  /** Revokes the URL and drops the Blob. Idempotent. */
  cleanup(): void {
    if (this.#url !== null) this.#memory.revokeObjectURL(this.#url);
    this.#url = null;
    this.#blob = null;
  }
}
