/**
 * Property tests of the allocator over random fleets (seeded, so a failure names its seed and replays): the
 * issue's goals of determinism, balance, minimal movement, rebalancing within budget and worker limits.
 */
import { describe, expect, it } from '@jest/globals';
import type { TargetId } from '@promfleet/model';
import { Allocator } from './allocator.js';
import {
  applyChanges,
  balanceOf,
  between,
  invariantProblems,
  lines,
  movedCost,
  prng,
  randomTargetId,
  randomTargets,
  shuffled,
  snapshot,
  workerList,
} from './fixtures.js';
import type { Assignment, WorkerCapacity, WorkerInfo } from './types.js';

const seeds = (count: number, first = 1): number[] => Array.from({ length: count }, (_, i) => first + i);

/** A call's changes as sorted `target from→to reason` lines in one string: cheap to compare, diffed by line. */
function sortedChanges(changes: readonly Assignment[]): string {
  return changes
    .map((c) => `${c.target} ${c.from ?? '-'}→${c.to ?? '-'} ${c.reason}`)
    .sort()
    .join('\n');
}

/** The assignment as one string of sorted lines (see {@link lines}). */
function text(assignment: ReadonlyMap<TargetId, string>): string {
  return lines(assignment).join('\n');
}

function maxCost(targets: ReadonlyMap<TargetId, number>): number {
  return Math.max(0, ...targets.values());
}

/** A random fleet: 1–40 workers (some with limits), 0–2,000 targets with heavy ones. */
function randomFleet(rand: () => number, limits: boolean): { workers: WorkerInfo[]; targets: Map<TargetId, number> } {
  const targets = randomTargets(rand, { count: between(rand, { min: 0, max: 2000 }), heavyShare: 0.01 });
  const workers = workerList(between(rand, { min: 1, max: 40 })).map((w) => (limits && rand() < 0.3 ? { ...w, capacity: randomCapacity(rand) } : w));
  return { workers, targets };
}

function randomCapacity(rand: () => number): WorkerCapacity {
  const r = rand();
  if (r < 0.4) return { maxTargets: between(rand, { min: 0, max: 80 }) };
  if (r < 0.8) return { maxSamples: between(rand, { min: 0, max: 10_000 }) };
  return { maxTargets: between(rand, { min: 1, max: 80 }), maxSamples: between(rand, { min: 500, max: 20_000 }) };
}

/** One random operation, given as the inputs for two allocators: in order, and shuffled. */
interface Operation {
  readonly name: string;
  readonly apply: (allocator: Allocator, rand: (() => number) | undefined) => Assignment[];
}

/** Random operations on a fleet: joins, leaves, target churn, cost drift, limit changes, rebalancing. */
function randomOperation(rand: () => number, state: { workers: WorkerInfo[]; targets: Map<TargetId, number>; nextWorker: number }, limits: boolean): Operation {
  const order = <T,>(items: Iterable<T>, shuffle: (() => number) | undefined): T[] => (shuffle === undefined ? [...items] : shuffled(shuffle, items));
  const pick = rand();
  if (pick < 0.2) {
    const joining = workerList(between(rand, { min: 1, max: 3 }), state.nextWorker).map((w) => (limits && rand() < 0.3 ? { ...w, capacity: randomCapacity(rand) } : w));
    state.nextWorker += joining.length;
    state.workers = [...state.workers, ...joining];
    const workers = state.workers;
    return { name: 'join', apply: (a, s) => a.setWorkers(order(workers, s)) };
  }
  if (pick < 0.35) {
    const leaving = new Set(shuffled(rand, state.workers).slice(0, between(rand, { min: 1, max: 2 })).map((w) => w.id));
    state.workers = state.workers.filter((w) => !leaving.has(w.id));
    const workers = state.workers;
    return { name: 'leave', apply: (a, s) => a.setWorkers(order(workers, s)) };
  }
  if (pick < 0.55) {
    const next = new Map([...state.targets].filter(() => rand() > 0.1));
    for (const [id, cost] of randomTargets(rand, { count: between(rand, { min: 0, max: 200 }), heavyShare: 0.01 })) next.set(id, cost);
    state.targets = next;
    return { name: 'churn', apply: (a, s) => a.setTargets(new Map(order(next, s))) };
  }
  if (pick < 0.75) {
    const drift = new Map([...state.targets].filter(() => rand() < 0.3).map(([id, cost]): [TargetId, number] => [id, Math.round(cost * (0.2 + 2 * rand()))]));
    for (const [id, cost] of drift) state.targets.set(id, cost);
    const remove = [...state.targets.keys()].filter((id) => rand() < 0.02 && !drift.has(id));
    for (const id of remove) state.targets.delete(id);
    return { name: 'drift', apply: (a, s) => a.updateTargets({ upsert: new Map(order(drift, s)), remove: order(remove, s) }) };
  }
  if (pick < 0.85 && limits && state.workers.length > 0) {
    const i = between(rand, { min: 0, max: state.workers.length - 1 });
    state.workers = state.workers.map((w, j) => (j === i ? { id: w.id, capacity: randomCapacity(rand) } : w));
    const workers = state.workers;
    return { name: 'limits', apply: (a, s) => a.setWorkers(order(workers, s)) };
  }
  const budget = between(rand, { min: 0, max: 30 });
  return { name: 'rebalance', apply: (a) => a.rebalance({ moveBudget: budget }) };
}

describe('determinism', () => {
  it.each(seeds(100))('seed %d: input order never changes the outcome, through a random history', (seed) => {
    const rand = prng(seed);
    const limits = seed % 2 === 0;
    const { workers, targets } = randomFleet(rand, limits);
    const state = { workers, targets, nextWorker: workers.length };
    const a = new Allocator();
    const b = new Allocator();
    a.setWorkers(workers);
    b.setWorkers(shuffled(rand, workers));
    expect(sortedChanges(a.setTargets(targets))).toEqual(sortedChanges(b.setTargets(new Map(shuffled(rand, targets)))));
    for (let step = 0; step < 8; step++) {
      const op = randomOperation(rand, state, limits);
      const before = snapshot(a);
      const changes = op.apply(a, undefined);
      const other = op.apply(b, rand);
      expect({ op: op.name, changes: sortedChanges(other) }).toEqual({ op: op.name, changes: sortedChanges(changes) });
      expect(text(snapshot(b))).toBe(text(snapshot(a)));
      expect(new Set(b.unassigned())).toEqual(new Set(a.unassigned()));
      expect(text(applyChanges(before, changes))).toBe(text(snapshot(a)));
      expect(new Set(changes.map((c) => c.target)).size).toBe(changes.length);
      expect({ op: op.name, problems: invariantProblems(a, state.workers) }).toEqual({ op: op.name, problems: [] });
    }
  });

  it.each(seeds(50, 1000))('seed %d: the outcome depends on the assignment, not on the history behind it', (seed) => {
    const rand = prng(seed);
    const { workers, targets } = randomFleet(rand, false);
    const state = { workers, targets, nextWorker: workers.length };
    const a = new Allocator();
    a.setWorkers(workers);
    a.setTargets(targets);
    for (let step = 0; step < 5; step++) randomOperation(rand, state, false).apply(a, undefined);
    // A restarted master adopts a's assignment: nothing moves, and it is the same state.
    const b = new Allocator({ recovering: true });
    b.setWorkers(shuffled(rand, state.workers));
    b.setTargets(new Map(shuffled(rand, state.targets)));
    for (const w of shuffled(rand, state.workers)) b.adopt(w.id, a.targetsOf(w.id));
    expect(b.settle().filter((c) => c.reason !== 'adopted')).toEqual([]);
    expect(text(snapshot(b))).toBe(text(snapshot(a)));
    for (let step = 0; step < 4; step++) {
      const op = randomOperation(rand, state, false);
      expect({ op: op.name, changes: sortedChanges(op.apply(b, rand)) }).toEqual({ op: op.name, changes: sortedChanges(op.apply(a, undefined)) });
      expect(text(snapshot(b))).toBe(text(snapshot(a)));
    }
  });

  it.each(seeds(60, 2000))('seed %d: adoption ignores report order, contested and unknown claims included', (seed) => {
    const rand = prng(seed);
    const { workers, targets } = randomFleet(rand, seed % 3 === 0);
    const previous = new Allocator();
    previous.setWorkers(workers);
    previous.setTargets(targets);
    // Reports as after a failover race: some targets claimed by two workers, some ids no longer targets.
    const ids = [...targets.keys()];
    const reports = workers.map((w) => ({
      id: w.id,
      held: [...previous.targetsOf(w.id), ...ids.filter(() => rand() < 0.02), randomTargetId(rand)],
    }));
    const settled = (shuffle: (() => number) | undefined) => {
      const c = new Allocator({ recovering: true });
      const inOrder = <T,>(items: readonly T[]): T[] => (shuffle === undefined ? [...items] : shuffled(shuffle, items));
      for (const r of inOrder(reports).slice(0, reports.length >> 1)) c.adopt(r.id, inOrder(r.held));
      c.setTargets(new Map(inOrder([...targets])));
      c.setWorkers(inOrder(workers));
      for (const r of inOrder(reports).slice(reports.length >> 1)) c.adopt(r.id, inOrder(r.held));
      if (shuffle !== undefined) for (const r of inOrder(reports)) c.adopt(r.id, inOrder(r.held));
      return { changes: sortedChanges(c.settle()), assignment: text(snapshot(c)), problems: invariantProblems(c, workers) };
    };
    const forward = settled(undefined);
    expect(settled(rand)).toEqual(forward);
    expect(forward.problems).toEqual([]);
  });
});

describe('balance', () => {
  it.each(seeds(150))('seed %d: placement keeps every worker within one target of the mean (LPT)', (seed) => {
    const rand = prng(seed);
    const { workers, targets } = randomFleet(rand, false);
    const a = new Allocator();
    a.setWorkers(workers);
    a.setTargets(targets);
    const b = balanceOf(a);
    expect(b.max).toBeLessThanOrEqual(b.mean + maxCost(targets));
    expect(invariantProblems(a, workers)).toEqual([]);
  });

  // The bound, max/mean ≤ 1.05, at sizes a unit test affords; the benchmark checks 1,000 × 1,000,000.
  // Heavy targets cost 100× the rest; it holds while one heavy target is under about 5% of a worker's mean.
  it.each([
    [10, 20_000, 0.001],
    [20, 50_000, 0.0005],
    [50, 50_000, 0.0002],
    [100, 50_000, 0],
  ])('%d workers × %d targets (heavy share %d): max/mean ≤ 1.05 after placement, a join and a leave', (workers, count, heavyShare) => {
    const rand = prng(workers + count);
    const targets = randomTargets(rand, { count, heavyShare });
    const a = new Allocator();
    a.setWorkers(workerList(workers));
    a.setTargets(targets);
    expect(balanceOf(a).ratio).toBeLessThanOrEqual(1.05);
    a.setWorkers(workerList(workers + 1));
    expect(balanceOf(a).ratio).toBeLessThanOrEqual(1.05);
    a.setWorkers(workerList(workers + 1).filter((_, i) => i !== 3));
    expect(balanceOf(a).ratio).toBeLessThanOrEqual(1.05);
  });
});

describe('minimal movement', () => {
  it.each(seeds(150, 3000))('seed %d: a joining worker receives at most the mean plus half a moved target, all of it moved to it', (seed) => {
    const rand = prng(seed);
    const { workers, targets } = randomFleet(rand, false);
    const a = new Allocator();
    a.setWorkers(workers);
    a.setTargets(targets);
    const total = balanceOf(a).mean * workers.length;
    const joined = workerList(1, 500)[0] ?? { id: '' };
    const changes = a.setWorkers([...workers, joined]);
    expect(changes.every((c) => c.to === joined.id && c.reason === 'worker-joined')).toBe(true);
    // Each target taken costs less than twice what the newcomer still missed, so the last one taken (changes come in
    // the order they were made) overshoots the mean by less than half its cost.
    const last = a.costOf(changes.at(-1)?.target ?? '') ?? 0;
    expect(movedCost(a, changes)).toBeLessThan(total / (workers.length + 1) + last / 2 + 1e-9);
    expect(invariantProblems(a, [...workers, joined])).toEqual([]);
  });

  it.each(seeds(150, 4000))('seed %d: a leaving worker moves what it held, plus at most what 1.1× its share allows', (seed) => {
    const rand = prng(seed);
    const { workers, targets } = randomFleet(rand, false);
    if (workers.length < 2) workers.push({ id: 'w-extra' });
    const a = new Allocator();
    a.setWorkers(workers);
    a.setTargets(targets);
    const total = balanceOf(a).mean * workers.length;
    const leaving = workers[between(rand, { min: 0, max: workers.length - 1 })]?.id ?? '';
    const held = a.loads().get(leaving)?.cost ?? 0;
    const staying = workers.filter((w) => w.id !== leaving);
    const changes = a.setWorkers(staying);
    expect(changes.filter((c) => (c.from === leaving) !== (c.reason === 'worker-left'))).toEqual([]);
    expect(movedCost(a, changes)).toBeLessThanOrEqual(Math.max(held, (1.1 * total) / workers.length));
    expect(invariantProblems(a, staying)).toEqual([]);
  });

  // The bound: 1.1 × the ideal 1/N share, at sizes where one target is small next to a worker's share.
  it.each([
    [10, 20_000],
    [30, 30_000],
    [60, 30_000],
  ])('%d workers × %d targets: joining and leaving move at most 1.1× the ideal share', (workers, count) => {
    const rand = prng(workers * count);
    const a = new Allocator();
    a.setWorkers(workerList(workers));
    a.setTargets(randomTargets(rand, { count, heavyShare: 0.0005 }));
    const total = balanceOf(a).mean * workers;
    const join = a.setWorkers(workerList(workers + 1));
    expect(movedCost(a, join) / (total / (workers + 1))).toBeLessThanOrEqual(1.1);
    for (const leaving of [0, workers >> 1, workers]) {
      const members = a.loads().size;
      const current = [...a.loads().keys()];
      const leave = a.setWorkers(current.filter((_, i) => i !== Math.min(leaving, members - 1)).map((id) => ({ id })));
      expect(movedCost(a, leave) / (total / members)).toBeLessThanOrEqual(1.1);
    }
  });

  it.each(seeds(150, 5000))('seed %d: adding and removing targets moves no other target, but for idle workers', (seed) => {
    const rand = prng(seed);
    const { workers, targets } = randomFleet(rand, false);
    const a = new Allocator();
    a.setWorkers(workers);
    a.setTargets(targets);
    const before = snapshot(a);
    const next = new Map([...targets].filter(() => rand() > between(rand, { min: 0, max: 1 }) * 0.5));
    for (const [id, cost] of randomTargets(rand, { count: between(rand, { min: 0, max: 300 }) })) next.set(id, cost);
    const emptied = workers.filter((w) => a.targetsOf(w.id).every((id) => !next.has(id))).length;
    const changes = a.setTargets(next);
    const unexpected = changes.filter((c) => {
      if (c.from !== undefined && c.to !== undefined) return c.reason !== 'rebalance';
      if (c.from === undefined) return c.reason !== 'added' || !next.has(c.target);
      return c.reason !== 'removed' || next.has(c.target) || before.get(c.target) !== c.from;
    });
    expect(unexpected).toEqual([]);
    expect(changes.filter((c) => c.reason === 'rebalance').length).toBeLessThanOrEqual(emptied);
    expect(invariantProblems(a, workers)).toEqual([]);
  });
});

describe('rebalancing', () => {
  it.each(seeds(100, 6000))('seed %d: moves within budget, never raises the maximum, and settles', (seed) => {
    const rand = prng(seed);
    const { workers, targets } = randomFleet(rand, false);
    const a = new Allocator();
    a.setWorkers(workers);
    a.setTargets(targets);
    a.updateTargets({ upsert: new Map([...targets].filter(() => rand() < 0.4).map(([id, cost]): [TargetId, number] => [id, Math.round(cost * 4 * rand())])) });
    const budget = between(rand, { min: 0, max: 20 });
    let calls = 0;
    for (;;) {
      const before = balanceOf(a);
      const squares = [...a.loads().values()].reduce((sum, l) => sum + l.cost * l.cost, 0);
      const changes = a.rebalance({ moveBudget: budget });
      expect(changes.length).toBeLessThanOrEqual(budget);
      expect(changes.every((c) => c.reason === 'rebalance' && c.from !== undefined && c.to !== undefined)).toBe(true);
      expect(balanceOf(a).max).toBeLessThanOrEqual(before.max);
      if (changes.length === 0) break;
      expect([...a.loads().values()].reduce((sum, l) => sum + l.cost * l.cost, 0)).toBeLessThan(squares);
      calls++;
      expect(calls).toBeLessThan(2000);
    }
    expect(invariantProblems(a, workers)).toEqual([]);
  });
});

describe('limits', () => {
  it.each(seeds(100, 7000))('seed %d: limits hold and overflow is unassigned, through a random history', (seed) => {
    const rand = prng(seed);
    const workers = workerList(between(rand, { min: 1, max: 15 })).map((w) => ({ ...w, capacity: randomCapacity(rand) }));
    const targets = randomTargets(rand, { count: between(rand, { min: 0, max: 1500 }), heavyShare: 0.02 });
    const state = { workers, targets, nextWorker: workers.length };
    const a = new Allocator();
    a.setWorkers(workers);
    a.setTargets(targets);
    expect(invariantProblems(a, state.workers)).toEqual([]);
    for (let step = 0; step < 10; step++) {
      const op = randomOperation(rand, state, true);
      op.apply(a, undefined);
      expect({ op: op.name, problems: invariantProblems(a, state.workers) }).toEqual({ op: op.name, problems: [] });
      expect(a.assignment().size + a.unassigned().length).toBe(state.targets.size);
    }
  });
});
