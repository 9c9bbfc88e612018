/**
 * The two stateless designs the issue asks to weigh against promfleet's repaired table, as pure functions of
 * (targets, costs, workers), measured by the allocation benchmark only:
 *
 * - a cost-aware bounded-load consistent-hashing ring (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with
 *   Bounded Loads", 2017): each target, in id order, walks clockwise from its hash to the first worker whose load
 *   plus the target's cost stays within `(1+ε)·mean`;
 * - weighted rendezvous hashing with a capacity bound: each target, largest cost first, goes to the worker with the
 *   highest score for it among those with room under `(1+ε)·mean`.
 *
 * Both are deterministic. Being functions of the whole input, a join or a leave is a full recompute, and the bound
 * makes moves cascade: when one worker's set changes, the targets it turns away shift others'.
 */
import type { Fleet, Owners } from './allocation-workload.js';

/** The murmur3 finalizer. */
function mix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the name's code units, finalized. */
function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return mix32(h);
}

/** Options of the bounded designs. */
export interface BoundOptions {
  /** The load bound is `(1 + epsilon) · mean cost`. */
  readonly epsilon: number;
}

/** The bounded-load ring, with `vnodes` points per worker. */
export function boundedLoadRing(fleet: Fleet, options: BoundOptions & { readonly vnodes: number; readonly members: readonly string[] }): Owners {
  const { members, vnodes } = options;
  const n = fleet.ids.length;
  const points = new Float64Array(members.length * vnodes);
  members.forEach((name, w) => {
    const seed = seedOf(name);
    // Position (32 bits) and member index packed in one double, so a plain numeric sort orders the ring.
    for (let v = 0; v < vnodes; v++) points[w * vnodes + v] = mix32(seed ^ mix32(v + 1)) * 2 ** 20 + w;
  });
  points.sort();
  const positions = new Float64Array(points.length);
  const memberAt = new Int32Array(points.length);
  points.forEach((p, i) => {
    positions[i] = Math.floor(p / 2 ** 20);
    memberAt[i] = p % 2 ** 20;
  });
  const cap = (1 + options.epsilon) * (fleet.totalCost / members.length);
  const loads = new Float64Array(members.length);
  const owner = new Int32Array(n).fill(-1);
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => (fleet.hi[a] ?? 0) - (fleet.hi[b] ?? 0) || (fleet.lo[a] ?? 0) - (fleet.lo[b] ?? 0));
  for (const i of order) {
    const cost = fleet.costs[i] ?? 0;
    let idx = lowerBound(positions, fleet.hi[i] ?? 0);
    let fallback = -1;
    for (let step = 0; step < positions.length; step++, idx++) {
      if (idx >= positions.length) idx = 0;
      const w = memberAt[idx] ?? 0;
      if ((loads[w] ?? 0) + cost <= cap) {
        fallback = w;
        break;
      }
      if (fallback === -1 || (loads[w] ?? 0) < (loads[fallback] ?? 0)) fallback = w;
    }
    owner[i] = fallback;
    loads[fallback] = (loads[fallback] ?? 0) + cost;
  }
  return { owner, members };
}

/** Weighted rendezvous hashing with a capacity bound. */
export function boundedRendezvous(fleet: Fleet, options: BoundOptions & { readonly members: readonly string[] }): Owners {
  const { members } = options;
  const n = fleet.ids.length;
  const seeds = Uint32Array.from(members, seedOf);
  const cap = (1 + options.epsilon) * (fleet.totalCost / members.length);
  const loads = new Float64Array(members.length);
  const owner = new Int32Array(n).fill(-1);
  const order = Int32Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (fleet.costs[b] ?? 0) - (fleet.costs[a] ?? 0) || (fleet.hi[a] ?? 0) - (fleet.hi[b] ?? 0) || (fleet.lo[a] ?? 0) - (fleet.lo[b] ?? 0),
  );
  for (const i of order) {
    const cost = fleet.costs[i] ?? 0;
    const hi = fleet.hi[i] ?? 0;
    const lo = fleet.lo[i] ?? 0;
    let best = -1;
    let bestScore = -1;
    let lightest = 0;
    for (let w = 0; w < seeds.length; w++) {
      if ((loads[w] ?? 0) < (loads[lightest] ?? 0)) lightest = w;
      if ((loads[w] ?? 0) + cost > cap) continue;
      const score = mix32(Math.imul(mix32(hi ^ (seeds[w] ?? 0)), 0x9e3779b1) ^ lo);
      if (score > bestScore) {
        best = w;
        bestScore = score;
      }
    }
    const w = best === -1 ? lightest : best;
    owner[i] = w;
    loads[w] = (loads[w] ?? 0) + cost;
  }
  return { owner, members };
}

function lowerBound(sorted: Float64Array, value: number): number {
  let a = 0;
  let b = sorted.length;
  while (a < b) {
    const mid = (a + b) >> 1;
    if ((sorted[mid] ?? 0) < value) a = mid + 1;
    else b = mid;
  }
  return a;
}
