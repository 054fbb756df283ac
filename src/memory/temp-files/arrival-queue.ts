/**
 * Items in the order they arrived, oldest first, so "is anything due?" looks at the head only.
 * Items that leave from the middle are not searched for: the owner flips them to not live and
 * calls `markStale()`; they are skipped when they reach the head, and the array is compacted
 * once stale slots are the majority, so memory stays proportional to the live items and every
 * operation is O(1) amortised.
 */
export class ArrivalQueue<T> {
  #items: T[] = [];
  #head = 0;
  #stale = 0;
  readonly #isLive: (item: T) => boolean;

  constructor(isLive: (item: T) => boolean) {
    this.#isLive = isLive;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** Slots held, live or stale; for tests and diagnostics. */
  get slots(): number {
    return this.#items.length - this.#head;
  }

  /** Call once for each queued item that stopped being live. */
  markStale(): void {
    this.#stale++;
    const held = this.#items.length - this.#head;
    if (this.#stale > 64 && this.#stale * 2 > held) this.#compact();
  }

  /** The oldest live item, left in place. */
  peek(): T | undefined {
    this.#dropStaleHead();
    return this.#items[this.#head];
  }

  /** Removes and returns the oldest live item. */
  shift(): T | undefined {
    this.#dropStaleHead();
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined as T; // let it be collected before the next compaction
    this.#head++;
    if (this.#head >= this.#items.length) this.#reset();
    else if (this.#head > 1024 && this.#head * 2 > this.#items.length) this.#compact();
    return item;
  }

  /** Removes and returns the live items from the head for as long as `due` holds. */
  shiftWhile(due: (item: T) => boolean): T[] {
    const taken: T[] = [];
    for (let item = this.peek(); item !== undefined && due(item); item = this.peek()) {
      taken.push(this.shift() as T);
    }
    return taken;
  }

  /** Removes and returns every live item, oldest first. */
  drain(): T[] {
    const live = this.#items.slice(this.#head).filter(this.#isLive);
    this.#reset();
    return live;
  }

  #dropStaleHead(): void {
    while (this.#head < this.#items.length && !this.#isLive(this.#items[this.#head] as T)) {
      this.#items[this.#head] = undefined as T;
      this.#head++;
      this.#stale--;
    }
    if (this.#head >= this.#items.length && this.#head > 0) this.#reset();
  }

  #compact(): void {
    this.#items = this.#items.slice(this.#head).filter(this.#isLive);
    this.#head = 0;
    this.#stale = 0;
  }

  #reset(): void {
    this.#items = [];
    this.#head = 0;
    this.#stale = 0;
  }
}
