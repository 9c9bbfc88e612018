/**
 * The allocation benchmark's workload and measures: a seeded fleet of targets with realistic cost skew, and the
 * balance and movement of an assignment given as one owner index per target.
 */
import type { TargetId } from '@promfleet/model';

/** A seeded PRNG (mulberry32): uniform in [0, 1). */
export function prng(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Targets by index: id, the id's two 32-bit halves, and cost. */
export interface Fleet {
  readonly ids: readonly TargetId[];
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  readonly costs: Float64Array;
  /** id → cost, as the master would pass it. */
  readonly byId: ReadonlyMap<TargetId, number>;
  readonly totalCost: number;
}

/** The share of targets that cost 100× the typical: 1 in 10,000 ("a few targets 100× the rest"). */
export const heavyShare = 0.0001;

/**
 * `count` targets with random 16-hex ids. Costs: log-uniform between 37 and 272 samples per scrape (mean about
 * 117, as pods differ), and a few targets at 10,000 (100× the median: kube-state-metrics next to pods).
 */
export function makeFleet(count: number, seed: number): Fleet {
  const rand = prng(seed);
  const ids: TargetId[] = [];
  const hi = new Uint32Array(count);
  const lo = new Uint32Array(count);
  const costs = new Float64Array(count);
  const byId = new Map<TargetId, number>();
  const buf = Buffer.alloc(8);
  let totalCost = 0;
  while (ids.length < count) {
    const h = Math.floor(rand() * 2 ** 32);
    const l = Math.floor(rand() * 2 ** 32);
    buf.writeUInt32BE(h, 0);
    buf.writeUInt32BE(l, 4);
    const id = buf.toString('hex');
    if (byId.has(id)) continue;
    const cost = rand() < heavyShare ? 10_000 : Math.round(100 * Math.exp(2 * rand() - 1));
    const i = ids.length;
    ids.push(id);
    hi[i] = h;
    lo[i] = l;
    costs[i] = cost;
    byId.set(id, cost);
    totalCost += cost;
  }
  return { ids, hi, lo, costs, byId, totalCost };
}

/** Worker names `w-0000`, `w-0001`, … from `first`. */
export function workerNames(count: number, first = 0): string[] {
  return Array.from({ length: count }, (_, i) => `w-${String(first + i).padStart(4, '0')}`);
}

/** An assignment: each target's owner as an index into `members` (-1: unassigned). */
export interface Owners {
  readonly owner: Int32Array;
  readonly members: readonly string[];
}

/** max/mean and min/mean of the cost per member. */
export function balance(owners: Owners, costs: Float64Array): { readonly maxOverMean: number; readonly minOverMean: number } {
  const loads = new Float64Array(owners.members.length);
  let total = 0;
  owners.owner.forEach((w, i) => {
    if (w < 0) return;
    loads[w] = (loads[w] ?? 0) + (costs[i] ?? 0);
    total += costs[i] ?? 0;
  });
  const mean = total / owners.members.length;
  let max = 0;
  let min = Infinity;
  for (const load of loads) {
    max = Math.max(max, load);
    min = Math.min(min, load);
  }
  return { maxOverMean: max / mean, minOverMean: min / mean };
}

/** The cost of the targets whose owner (by name) differs between two assignments. */
export function movedCost(before: Owners, after: Owners, costs: Float64Array): number {
  let moved = 0;
  for (let i = 0; i < before.owner.length; i++) {
    const a = before.members[before.owner[i] ?? -1];
    const b = after.members[after.owner[i] ?? -1];
    if (a !== undefined && b !== undefined && a !== b) moved += costs[i] ?? 0;
  }
  return moved;
}
