/**
 * Test fixtures for allocation: a seeded PRNG, random fleets with realistic cost skew, and checks of the
 * allocator's invariants through its public API only. Used by the allocation tests; not part of the package API.
 */
import type { TargetId } from '@promfleet/model';
import type { Allocator } from './allocator.js';
import type { Assignment, WorkerId, WorkerInfo } from './types.js';

/** A seeded PRNG (mulberry32): uniform in [0, 1), the same sequence for the same seed. */
export function prng(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** An integer in [min, max]. */
export function between(rand: () => number, range: { readonly min: number; readonly max: number }): number {
  return range.min + Math.floor(rand() * (range.max - range.min + 1));
}

/** A random target id: 16 lowercase hex digits. */
export function randomTargetId(rand: () => number): TargetId {
  const half = () => Math.floor(rand() * 2 ** 32).toString(16).padStart(8, '0');
  return half() + half();
}

/** A copy of `items` in random order. */
export function shuffled<T>(rand: () => number, items: Iterable<T>): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const a = out[i];
    const b = out[j];
    if (a === undefined || b === undefined) continue;
    out[i] = b;
    out[j] = a;
  }
  return out;
}

/** Options of {@link randomTargets}. */
export interface TargetMix {
  readonly count: number;
  /** The fraction of targets that cost `heavyFactor` times the typical cost; 0.001 by default. */
  readonly heavyShare?: number;
  /** 100 by default: "a few targets 100× the rest". */
  readonly heavyFactor?: number;
}

/**
 * Random targets with realistic skew: most cost about 100 samples (log-uniform between 37 and 272, as pods
 * differ), a few cost 100 times that, like kube-state-metrics next to node exporters.
 */
export function randomTargets(rand: () => number, mix: TargetMix): Map<TargetId, number> {
  const heavyShare = mix.heavyShare ?? 0.001;
  const heavyFactor = mix.heavyFactor ?? 100;
  const targets = new Map<TargetId, number>();
  while (targets.size < mix.count) {
    const cost = rand() < heavyShare ? 100 * heavyFactor : Math.round(100 * Math.exp(2 * rand() - 1));
    targets.set(randomTargetId(rand), cost);
  }
  return targets;
}

/** Workers `w-000`, `w-001`, … (from `first`), with no limits. */
export function workerList(count: number, first = 0): WorkerInfo[] {
  return Array.from({ length: count }, (_, i) => ({ id: `w-${String(first + i).padStart(3, '0')}` }));
}

/** The spread of cost over live workers. */
export interface Balance {
  readonly max: number;
  readonly min: number;
  readonly mean: number;
  /** max/mean; 1 with no cost. */
  readonly ratio: number;
  readonly idle: number;
}

export function balanceOf(allocator: Allocator): Balance {
  let max = 0;
  let min = Infinity;
  let sum = 0;
  let idle = 0;
  const loads = allocator.loads();
  for (const load of loads.values()) {
    max = Math.max(max, load.cost);
    min = Math.min(min, load.cost);
    sum += load.cost;
    if (load.targets === 0) idle++;
  }
  const mean = loads.size === 0 ? 0 : sum / loads.size;
  return { max, min: loads.size === 0 ? 0 : min, mean, ratio: mean === 0 ? 1 : max / mean, idle };
}

/** The total cost of the targets that changed from one worker to another (not added or removed ones). */
export function movedCost(allocator: Allocator, changes: readonly Assignment[]): number {
  let cost = 0;
  for (const c of changes) if (c.from !== undefined && c.to !== undefined) cost += allocator.costOf(c.target) ?? 0;
  return cost;
}

/** A plain copy of the assignment, for comparing two allocators or two moments. */
export function snapshot(allocator: Allocator): Map<TargetId, WorkerId> {
  return new Map(allocator.assignment());
}

/** An assignment as sorted `target worker` lines: cheap to compare, readable in a failed expectation. */
export function lines(assignment: ReadonlyMap<TargetId, WorkerId>): string[] {
  return [...assignment].map(([target, worker]) => `${target} ${worker}`).sort();
}

/** Applies a call's changes to a copy of the assignment before it, as a stream consumer would. */
export function applyChanges(before: ReadonlyMap<TargetId, WorkerId>, changes: readonly Assignment[]): Map<TargetId, WorkerId> {
  const after = new Map(before);
  for (const c of changes) {
    if (after.get(c.target) !== c.from) throw new Error(`change of ${c.target} says from ${c.from} but it was on ${after.get(c.target)}`);
    if (c.to === undefined) after.delete(c.target);
    else after.set(c.target, c.to);
  }
  return after;
}

/**
 * Every invariant the allocator keeps after every call, as a list of problems (empty when all hold): the view,
 * loads, per-worker lists and unassigned list agree; each target is held once or listed unassigned once; no
 * worker exceeds its limits; an unassigned target fits no worker; no worker idles while another holds two or more
 * targets it could take.
 */
export function invariantProblems(allocator: Allocator, workers: readonly WorkerInfo[]): string[] {
  const problems: string[] = [];
  const view = allocator.assignment();
  const loads = allocator.loads();
  const limits = new Map(workers.map((w) => [w.id, w.capacity]));
  if (!allocator.recovering && [...loads.keys()].join() !== [...limits.keys()].sort().join()) problems.push('loads() lists other workers');
  const seen = new Set<TargetId>();
  let assigned = 0;
  for (const [id, load] of loads) {
    const held = allocator.targetsOf(id);
    let cost = 0;
    for (const t of held) {
      if (seen.has(t)) problems.push(`${t} is held twice`);
      seen.add(t);
      if (view.get(t) !== id) problems.push(`${t} is listed by ${id} but assigned to ${view.get(t)}`);
      cost += allocator.costOf(t) ?? NaN;
    }
    assigned += held.length;
    if (held.length !== load.targets || cost !== load.cost) problems.push(`${id}: loads() says ${load.targets}/${load.cost}, holds ${held.length}/${cost}`);
    const capacity = limits.get(id);
    if (load.targets > (capacity?.maxTargets ?? Infinity)) problems.push(`${id} holds ${load.targets} targets over its maxTargets`);
    if (load.cost > (capacity?.maxSamples ?? Infinity)) problems.push(`${id} holds ${load.cost} samples over its maxSamples`);
  }
  if (view.size !== assigned || [...view.keys()].length !== assigned) problems.push(`assignment() has ${view.size} targets, workers hold ${assigned}`);
  for (const t of allocator.unassigned()) {
    if (seen.has(t)) problems.push(`${t} is both held and unassigned`);
    seen.add(t);
    if (allocator.recovering) continue;
    const cost = allocator.costOf(t) ?? 0;
    for (const [id, load] of loads) {
      const capacity = limits.get(id);
      if (load.targets < (capacity?.maxTargets ?? Infinity) && load.cost + cost <= (capacity?.maxSamples ?? Infinity)) {
        problems.push(`${t} (cost ${cost}) is unassigned but fits ${id}`);
        break;
      }
    }
  }
  if (!allocator.recovering) problems.push(...idleProblems(allocator, limits));
  return problems;
}

function idleProblems(allocator: Allocator, limits: ReadonlyMap<WorkerId, WorkerInfo['capacity']>): string[] {
  const loads = allocator.loads();
  for (const [idle, load] of loads) {
    if (load.targets > 0) continue;
    const capacity = limits.get(idle);
    for (const [busy, other] of loads) {
      if (other.targets < 2) continue;
      const fitting = allocator.targetsOf(busy).find((t) => (allocator.costOf(t) ?? Infinity) <= (capacity?.maxSamples ?? Infinity));
      if (fitting !== undefined && (capacity?.maxTargets ?? Infinity) > 0) return [`${idle} is idle while ${busy} holds ${other.targets} targets`];
    }
  }
  return [];
}
