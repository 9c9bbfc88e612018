/**
 * Fast 32-bit hashing for allocation. A target id is 16 hex digits of a SHA-256 (`targetId` in @promfleet/model),
 * so its two 32-bit halves are already uniform: they order targets, and mixed with a worker's seed they rank a
 * worker's targets for that worker (a rendezvous score), with no strings built and no BigInt on the hot path.
 */

/** The murmur3 finalizer (fmix32): a bijective avalanche mix of a 32-bit integer. */
export function mix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Reads 8 lowercase hex digits of `id` from `start` as an unsigned 32-bit integer, or returns -1 if any of them is
 * not `0-9a-f`. Call it with 0 and 8 for a target id's two halves.
 */
export function hexHalf(id: string, start: number): number {
  let value = 0;
  for (let i = start; i < start + 8; i++) {
    const c = id.charCodeAt(i);
    let digit: number;
    if (c >= 48 && c <= 57) digit = c - 48;
    else if (c >= 97 && c <= 102) digit = c - 87;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** Whether `id` is a target id: 16 lowercase hex digits. */
export function isTargetId(id: unknown): id is string {
  return typeof id === 'string' && id.length === 16 && hexHalf(id, 0) !== -1 && hexHalf(id, 8) !== -1;
}

/** A worker's seed: FNV-1a over the id's UTF-16 code units, finalized with {@link mix32}. The same on every master. */
export function workerSeed(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/**
 * The rendezvous score of a target (its id halves `hi`, `lo`) for a worker (its {@link workerSeed}): an unsigned
 * 32-bit integer, uniform over targets for a fixed worker and independent between workers.
 */
export function score(hi: number, lo: number, seed: number): number {
  return mix32(Math.imul(mix32(hi ^ seed), 0x9e3779b1) ^ lo);
}
