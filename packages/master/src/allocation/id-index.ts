/**
 * Target id → slot, keyed by the id's 64 bits as two 32-bit halves: an open-addressing hash table with linear
 * probing in typed arrays. It replaces a `Map<string, number>`, whose inserts and lookups dominated placing a
 * million targets (string hashing and a table that grows by rehashing), at about the same memory.
 */
import { mix32 } from './hash.js';

const EMPTY = -1;

export class IdIndex {
  #hi = new Uint32Array(16);
  #lo = new Uint32Array(16);
  #slot = new Int32Array(16).fill(EMPTY);
  #mask = 15;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The slot stored for (hi, lo), or -1. */
  get(hi: number, lo: number): number {
    for (let i = this.#home(hi, lo); ; i = (i + 1) & this.#mask) {
      const slot = this.#slot[i] ?? EMPTY;
      if (slot === EMPTY || (this.#hi[i] === hi && this.#lo[i] === lo)) return slot;
    }
  }

  /** Stores `slot` for (hi, lo), which must not be present. */
  add(hi: number, lo: number, slot: number): void {
    // Kept at most half full, so probe runs stay short.
    if (2 * (this.#size + 1) > this.#slot.length) this.#grow();
    this.#put(hi, lo, slot);
    this.#size++;
  }

  /** Removes (hi, lo) if present, shifting later entries of its probe run back so none becomes unreachable. */
  delete(hi: number, lo: number): void {
    const mask = this.#mask;
    let i = this.#home(hi, lo);
    for (;;) {
      const slot = this.#slot[i] ?? EMPTY;
      if (slot === EMPTY) return;
      if (this.#hi[i] === hi && this.#lo[i] === lo) break;
      i = (i + 1) & mask;
    }
    this.#size--;
    let hole = i;
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const slot = this.#slot[j] ?? EMPTY;
      if (slot === EMPTY) break;
      const home = this.#home(this.#hi[j] ?? 0, this.#lo[j] ?? 0);
      // The entry at j may fill the hole only if its home is not cyclically within (hole, j].
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        this.#hi[hole] = this.#hi[j] ?? 0;
        this.#lo[hole] = this.#lo[j] ?? 0;
        this.#slot[hole] = slot;
        hole = j;
      }
    }
    this.#slot[hole] = EMPTY;
  }

  #home(hi: number, lo: number): number {
    return mix32(lo ^ mix32(hi)) & this.#mask;
  }

  #put(hi: number, lo: number, slot: number): void {
    let i = this.#home(hi, lo);
    while ((this.#slot[i] ?? EMPTY) !== EMPTY) i = (i + 1) & this.#mask;
    this.#hi[i] = hi;
    this.#lo[i] = lo;
    this.#slot[i] = slot;
  }

  #grow(): void {
    const [hi, lo, slots] = [this.#hi, this.#lo, this.#slot];
    const size = slots.length * 2;
    this.#hi = new Uint32Array(size);
    this.#lo = new Uint32Array(size);
    this.#slot = new Int32Array(size).fill(EMPTY);
    this.#mask = size - 1;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i] ?? EMPTY;
      if (slot !== EMPTY) this.#put(hi[i] ?? 0, lo[i] ?? 0, slot);
    }
  }
}
