import { describe, expect, it } from '@jest/globals';
import type { TargetId } from '@promfleet/model';
import { Allocator } from './allocator.js';
import { applyChanges, invariantProblems, snapshot, workerList } from './fixtures.js';
import { AllocationErrorCode, AllocationInputError, AllocationStateError, type Assignment, type WorkerInfo } from './types.js';

/** Target id number `n`: 16 hex digits. */
function tid(n: number): TargetId {
  return n.toString(16).padStart(16, '0');
}

/** `count` targets from `first`, each costing `cost`. */
function targets(count: number, cost = 10, first = 0): Map<TargetId, number> {
  return new Map(Array.from({ length: count }, (_, i) => [tid(first + i), cost]));
}

function reasons(changes: readonly Assignment[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of changes) out[c.reason] = (out[c.reason] ?? 0) + 1;
  return out;
}

describe('Allocator: placement', () => {
  it('holds targets unassigned until a worker exists, then places them all', () => {
    const a = new Allocator();
    expect(a.setTargets(targets(10))).toEqual([]);
    expect(a.unassigned()).toHaveLength(10);
    const changes = a.setWorkers(workerList(2));
    expect(changes).toHaveLength(10);
    expect(reasons(changes)).toEqual({ 'worker-joined': 10 });
    expect(a.unassigned()).toEqual([]);
    expect([...a.loads().values()]).toEqual([
      { targets: 5, cost: 50 },
      { targets: 5, cost: 50 },
    ]);
  });

  it('places new targets on the least loaded workers, largest first', () => {
    const a = new Allocator();
    a.setWorkers(workerList(3));
    const changes = a.setTargets(new Map([[tid(1), 30], [tid(2), 20], [tid(3), 10], [tid(4), 10], [tid(5), 5]]));
    expect(changes.every((c) => c.reason === 'added' && c.from === undefined)).toBe(true);
    // LPT: 30→w-000, 20→w-001, 10→w-002, 10→w-002 (10 < 20), 5→w-001 (20 < 25 … ) — loads 30, 25, 20.
    expect(a.assignment().get(tid(1))).toBe('w-000');
    expect(a.assignment().get(tid(2))).toBe('w-001');
    expect(a.assignment().get(tid(3))).toBe('w-002');
    expect(a.assignment().get(tid(4))).toBe('w-002');
    expect(a.assignment().get(tid(5))).toBe('w-001');
    expect([...a.loads().values()].map((l) => l.cost)).toEqual([30, 25, 20]);
  });

  it('moves only the added and removed targets when the target set changes', () => {
    const a = new Allocator();
    a.setWorkers(workerList(4));
    a.setTargets(targets(40));
    const before = snapshot(a);
    const next = targets(40, 10, 5);
    const changes = a.setTargets(next);
    expect(reasons(changes)).toEqual({ removed: 5, added: 5 });
    for (const c of changes) {
      if (c.reason === 'removed') expect(c).toEqual({ target: c.target, from: before.get(c.target), reason: 'removed' });
      else expect(c.from).toBeUndefined();
    }
    for (const [id, worker] of before) if (next.has(id)) expect(a.assignment().get(id)).toBe(worker);
  });

  it('rounds costs to whole samples, at least 1', () => {
    const a = new Allocator();
    a.setTargets(new Map([[tid(1), 0], [tid(2), 0.4], [tid(3), 2.5], [tid(4), 7.49]]));
    expect([1, 2, 3, 4].map((n) => a.costOf(tid(n)))).toEqual([1, 1, 3, 7]);
    expect(a.costOf(tid(5))).toBeUndefined();
  });

  it('changes loads but moves nothing when only costs change', () => {
    const a = new Allocator();
    a.setWorkers(workerList(2));
    a.setTargets(targets(10));
    const before = snapshot(a);
    expect(a.updateTargets({ upsert: new Map([[tid(0), 500]]) })).toEqual([]);
    expect(snapshot(a)).toEqual(before);
    const owner = before.get(tid(0)) ?? '';
    expect(a.loads().get(owner)?.cost).toBe(540);
  });

  it('keeps a target both removed and upserted in one update, and ignores unknown removals', () => {
    const a = new Allocator();
    a.setWorkers(workerList(1));
    a.setTargets(targets(2));
    const changes = a.updateTargets({ upsert: new Map([[tid(0), 99]]), remove: [tid(0), tid(77)] });
    expect(changes).toEqual([]);
    expect(a.costOf(tid(0))).toBe(99);
  });
});

describe('Allocator: membership', () => {
  it('gives a joining worker the mean, taken from the others', () => {
    const a = new Allocator();
    a.setWorkers(workerList(3));
    a.setTargets(targets(300));
    const changes = a.setWorkers(workerList(4));
    expect(reasons(changes)).toEqual({ 'worker-joined': 75 });
    expect(changes.every((c) => c.to === 'w-003')).toBe(true);
    expect([...a.loads().values()].map((l) => l.targets)).toEqual([75, 75, 75, 75]);
  });

  it("spreads a leaving worker's targets over the least loaded ones", () => {
    const a = new Allocator();
    a.setWorkers(workerList(4));
    a.setTargets(targets(300));
    const held = new Set(a.targetsOf('w-001'));
    const changes = a.setWorkers(workerList(4).filter((w) => w.id !== 'w-001'));
    expect(changes.map((c) => c.target).sort()).toEqual([...held].sort());
    expect(changes.every((c) => c.from === 'w-001' && c.reason === 'worker-left')).toBe(true);
    expect([...a.loads().values()].map((l) => l.targets)).toEqual([100, 100, 100]);
  });

  it("moves one worker's worth when a worker is replaced in the same call", () => {
    const a = new Allocator();
    a.setWorkers(workerList(4));
    a.setTargets(targets(400));
    const changes = a.setWorkers([...workerList(3), { id: 'w-new' }]);
    expect(changes).toHaveLength(100);
    expect(changes.every((c) => c.from === 'w-003' && c.to === 'w-new')).toBe(true);
  });

  it('ignores the order workers are listed in', () => {
    const a = new Allocator();
    const b = new Allocator();
    a.setWorkers(workerList(5));
    b.setWorkers(workerList(5).reverse());
    a.setTargets(targets(50));
    b.setTargets(new Map([...targets(50)].reverse()));
    expect(snapshot(a)).toEqual(snapshot(b));
  });

  it('moves nothing when the same workers are set again', () => {
    const a = new Allocator();
    a.setWorkers(workerList(3));
    a.setTargets(targets(30));
    expect(a.setWorkers(workerList(3))).toEqual([]);
  });

  it('gives an idle worker a target when removals empty it', () => {
    const a = new Allocator();
    a.setWorkers(workerList(2));
    a.setTargets(targets(6));
    const emptied = a.targetsOf('w-000');
    const changes = a.updateTargets({ remove: emptied });
    expect(reasons(changes)).toEqual({ removed: 3, rebalance: 1 });
    expect([...a.loads().values()].map((l) => l.targets)).toEqual([1, 2]);
  });
});

describe('Allocator: limits', () => {
  it('never stacks over maxTargets or maxSamples, and reports the overflow as unassigned', () => {
    const a = new Allocator();
    const workers: WorkerInfo[] = [
      { id: 'a', capacity: { maxTargets: 2 } },
      { id: 'b', capacity: { maxSamples: 25 } },
    ];
    a.setWorkers(workers);
    a.setTargets(targets(6));
    expect(a.loads()).toEqual(
      new Map([
        ['a', { targets: 2, cost: 20 }],
        ['b', { targets: 2, cost: 20 }],
      ]),
    );
    expect(a.unassigned()).toHaveLength(2);
    expect(invariantProblems(a, workers)).toEqual([]);
  });

  it('places unassigned targets when room appears: a join, a raised limit, a removal, a lower cost', () => {
    const a = new Allocator();
    a.setWorkers([{ id: 'a', capacity: { maxTargets: 1 } }]);
    a.setTargets(targets(4));
    expect(a.unassigned()).toHaveLength(3);
    expect(reasons(a.setWorkers([{ id: 'a', capacity: { maxTargets: 2 } }]))).toEqual({ capacity: 1 });
    expect(reasons(a.setWorkers([{ id: 'a', capacity: { maxTargets: 2 } }, { id: 'b', capacity: { maxSamples: 10 } }]))).toEqual({
      'worker-joined': 1,
    });
    const onA = a.targetsOf('a');
    expect(reasons(a.updateTargets({ remove: onA.slice(0, 1) }))).toEqual({ removed: 1, capacity: 1 });
    expect(a.unassigned()).toEqual([]);
    const onB = a.targetsOf('b')[0] ?? '';
    const [kept, given] = a.targetsOf('a').sort();
    // Over b's 10 samples: shed, and a is full. b, now idle, gets one of a's two targets, which makes room on a.
    expect(a.updateTargets({ upsert: new Map([[onB, 20]]) })).toEqual([
      { target: onB, from: 'b', to: 'a', reason: 'capacity' },
      { target: given, from: 'a', to: 'b', reason: 'rebalance' },
    ]);
    expect(a.unassigned()).toEqual([]);
    expect(a.targetsOf('a').sort()).toEqual([kept, onB].sort());
  });

  it('sheds targets when a limit shrinks: the cheapest for maxTargets, the one covering the excess for maxSamples', () => {
    const a = new Allocator();
    a.setWorkers([{ id: 'a' }]);
    a.setTargets(new Map([[tid(1), 5], [tid(2), 10], [tid(3), 40], [tid(4), 100]]));
    const byCount = a.setWorkers([{ id: 'a', capacity: { maxTargets: 3 } }]);
    expect(byCount).toEqual([{ target: tid(1), from: 'a', reason: 'capacity' }]);
    const bySamples = a.setWorkers([{ id: 'a', capacity: { maxTargets: 3, maxSamples: 120 } }]);
    // 150 − 120 = 30: the cheapest single target covering 30 costs 40. Then the first shed target fits again.
    expect(bySamples).toEqual([
      { target: tid(3), from: 'a', reason: 'capacity' },
      { target: tid(1), to: 'a', reason: 'capacity' },
    ]);
    expect(a.unassigned()).toEqual([tid(3)]);
  });

  it('sheds a target whose cost grew past its worker limit to a worker with room', () => {
    const a = new Allocator();
    const workers = [
      { id: 'a', capacity: { maxSamples: 100 } },
      { id: 'b', capacity: { maxSamples: 100 } },
    ];
    a.setWorkers(workers);
    a.setTargets(targets(4, 10));
    const [grown, other] = a.targetsOf('a');
    // 95 + 10 > 100: the cheapest single target covering the excess of 5 is the other one, which fits on b.
    expect(a.updateTargets({ upsert: new Map([[grown ?? '', 95]]) })).toEqual([{ target: other, from: 'a', to: 'b', reason: 'capacity' }]);
    expect(invariantProblems(a, workers)).toEqual([]);
  });
});

describe('Allocator: rebalance', () => {
  it('moves at most the budget, only while a worker is outside the tolerance', () => {
    const a = new Allocator();
    a.setWorkers(workerList(2));
    a.setTargets(targets(100, 10));
    const drift = new Map(a.targetsOf('w-000').map((id) => [id, 20]));
    a.updateTargets({ upsert: drift });
    const first = a.rebalance({ moveBudget: 3 });
    expect(first).toHaveLength(3);
    expect(first.every((c) => c.from === 'w-000' && c.to === 'w-001' && c.reason === 'rebalance')).toBe(true);
    let calls = 0;
    while (a.rebalance({ moveBudget: 3 }).length > 0) calls++;
    expect(calls).toBeLessThan(20);
    const [x, y] = [...a.loads().values()].map((l) => l.cost);
    expect(Math.abs((x ?? 0) - (y ?? 0)) / 1500).toBeLessThanOrEqual(0.04);
    expect(a.rebalance({ moveBudget: 100 })).toEqual([]);
  });

  it('does nothing with a zero budget', () => {
    const a = new Allocator();
    a.setWorkers(workerList(2));
    a.setTargets(targets(10));
    a.updateTargets({ upsert: new Map(a.targetsOf('w-000').map((id) => [id, 100])) });
    expect(a.rebalance({ moveBudget: 0 })).toEqual([]);
  });
});

describe('Allocator: recovery after a master restart', () => {
  function fleet(): { before: Allocator; workers: WorkerInfo[] } {
    const before = new Allocator();
    const workers = workerList(4);
    before.setWorkers(workers);
    before.setTargets(targets(100, 10));
    before.updateTargets({ upsert: new Map(before.targetsOf('w-002').map((id) => [id, 30])) });
    return { before, workers };
  }

  it('adopts what workers report, whatever the order of reports, discovery and membership: a restart moves nothing', () => {
    const { before, workers } = fleet();
    const all = new Map([...before.assignment().keys()].map((id) => [id, before.costOf(id) ?? 1]));
    const orders: ((a: Allocator) => void)[] = [
      (a) => {
        a.setTargets(all);
        a.setWorkers(workers);
        for (const w of workers) a.adopt(w.id, before.targetsOf(w.id));
      },
      (a) => {
        for (const w of [...workers].reverse()) a.adopt(w.id, before.targetsOf(w.id));
        a.setWorkers(workers);
        a.setTargets(all);
      },
    ];
    for (const order of orders) {
      const a = new Allocator({ recovering: true });
      order(a);
      expect(a.assignment().size).toBe(0);
      const changes = a.settle();
      expect(reasons(changes)).toEqual({ adopted: 100 });
      expect(snapshot(a)).toEqual(snapshot(before));
      expect(a.recovering).toBe(false);
    }
  });

  it('gives a contested target to the same claimant whichever reports first', () => {
    const { before, workers } = fleet();
    const contested = before.targetsOf('w-000').slice(0, 10);
    const settleWith = (order: readonly WorkerInfo[]) => {
      const a = new Allocator({ recovering: true });
      a.setWorkers(workers);
      a.setTargets(new Map([...before.assignment().keys()].map((id) => [id, 10])));
      for (const w of order) a.adopt(w.id, w.id === 'w-001' ? [...before.targetsOf(w.id), ...contested] : before.targetsOf(w.id));
      a.settle();
      return snapshot(a);
    };
    const forward = settleWith(workers);
    expect(settleWith([...workers].reverse())).toEqual(forward);
    const winners = new Set(contested.map((id) => forward.get(id)));
    expect([...winners].every((w) => w === 'w-000' || w === 'w-001')).toBe(true);
  });

  it('ignores reports of unknown targets, places unreported ones, and lets a worker that reported nothing join', () => {
    const { before } = fleet();
    const a = new Allocator({ recovering: true });
    const workers = [...workerList(4), { id: 'w-new' }];
    a.setWorkers(workers);
    a.setTargets(new Map([...[...before.assignment().keys()].map((id): [TargetId, number] => [id, 10]), [tid(9999), 10]]));
    for (const w of workerList(4)) a.adopt(w.id, [...before.targetsOf(w.id), tid(123456)]);
    const changes = a.settle();
    expect(changes.find((c) => c.target === tid(9999))).toMatchObject({ reason: 'added' });
    expect(changes.some((c) => c.target === tid(123456))).toBe(false);
    expect(a.loads().get('w-new')?.targets).toBeGreaterThanOrEqual(19);
    expect(invariantProblems(a, workers)).toEqual([]);
  });

  it('recovers again only when no worker is live, and then adopts as after a start', () => {
    const a = new Allocator();
    a.setTargets(targets(6));
    a.setWorkers(workerList(2));
    expect(a.recover()).toBe(false);
    a.setWorkers([]);
    expect(a.unassigned()).toHaveLength(6);
    expect(a.recover()).toBe(true);
    expect(a.recover()).toBe(false);
    a.setWorkers(workerList(2));
    expect(a.assignment().size).toBe(0);
    a.adopt('w-001', [tid(0), tid(1), tid(2), tid(3), tid(4)]);
    const changes = a.settle();
    // What w-001 holds is adopted; w-000, which held nothing, then takes its share of the mean by handover.
    expect(changes.filter((c) => c.reason === 'adopted').map((c) => c.target)).toEqual([0, 1, 2, 3, 4].map((n) => tid(n)));
    expect(a.recovering).toBe(false);
    expect(a.unassigned()).toEqual([]);
  });

  it('places a fresh fleet canonically when no worker reports anything', () => {
    const recovering = new Allocator({ recovering: true });
    recovering.setWorkers(workerList(3));
    recovering.setTargets(targets(30));
    expect(recovering.rebalance({ moveBudget: 10 })).toEqual([]);
    expect(reasons(recovering.settle())).toEqual({ added: 30 });
    const fresh = new Allocator();
    fresh.setWorkers(workerList(3));
    fresh.setTargets(targets(30));
    expect(snapshot(recovering)).toEqual(snapshot(fresh));
    expect(recovering.settle()).toEqual([]);
  });

  it('refuses adopt after settle', () => {
    const a = new Allocator();
    expect(() => a.adopt('w-000', [])).toThrow(AllocationStateError);
    expect(() => a.adopt('w-000', [])).toThrow(expect.objectContaining({ code: AllocationErrorCode.notRecovering, operation: 'adopt' }));
  });
});

describe('Allocator: reserved load', () => {
  it('counts a worker’s reserved load in placement and joins, and never moves it', () => {
    const a = new Allocator();
    a.setWorkers(workerList(2));
    // w-000 keeps 4 targets of cost 10 the allocator cannot place: new targets go to w-001 until loads level.
    a.reserve('w-000', { targets: 4, cost: 40 });
    a.setTargets(targets(8));
    expect([...a.loads().values()]).toEqual([
      { targets: 6, cost: 60 },
      { targets: 6, cost: 60 },
    ]);
    expect(a.targetsOf('w-000')).toHaveLength(2);
    // A joining worker takes the mean (40) from what can move: the reserved load stays where it is.
    const joined = a.setWorkers(workerList(3));
    expect(joined.every((c) => c.to === 'w-002')).toBe(true);
    expect([...a.loads().values()].map((l) => l.cost)).toEqual([40, 40, 40]);
    expect(a.targetsOf('w-000')).toEqual([]);
  });

  it('counts reserved targets against maxTargets, and forgets a reservation with its worker', () => {
    const a = new Allocator();
    a.setWorkers([{ id: 'w-000', capacity: { maxTargets: 3 } }, { id: 'w-001' }]);
    a.reserve('w-000', { targets: 2, cost: 2 });
    a.setTargets(targets(6, 1));
    expect(a.targetsOf('w-000')).toHaveLength(1);
    // Same capacity again: nothing changes, the reservation is no capacity change.
    expect(a.setWorkers([{ id: 'w-000', capacity: { maxTargets: 3 } }, { id: 'w-001' }])).toEqual([]);
    a.setWorkers([{ id: 'w-001' }]);
    a.setWorkers([{ id: 'w-000', capacity: { maxTargets: 3 } }, { id: 'w-001' }]);
    expect(a.loads().get('w-000')?.targets).toBe(3);
    // A reservation larger than the limit sheds what can move, and only that.
    a.reserve('w-000', { targets: 5, cost: 5 });
    a.setWorkers([{ id: 'w-000', capacity: { maxTargets: 2 } }, { id: 'w-001' }]);
    expect(a.targetsOf('w-000')).toEqual([]);
    expect(a.loads().get('w-000')).toEqual({ targets: 5, cost: 5 });
  });

  it('rejects a bad reservation, and keeps one for a worker that is not live until it joins', () => {
    const a = new Allocator();
    a.setWorkers(workerList(1));
    expect(() => a.reserve('w-000', { targets: -1, cost: 0 })).toThrow(AllocationInputError);
    expect(() => a.reserve('w-000', { targets: 1, cost: Number.NaN })).toThrow(AllocationInputError);
    a.reserve('w-001', { targets: 5, cost: 50 });
    expect([...a.loads().keys()]).toEqual(['w-000']);
    a.setTargets(targets(5));
    // The joiner already carries the mean: it takes nothing.
    expect(a.setWorkers(workerList(2))).toEqual([]);
    expect(a.loads().get('w-001')).toEqual({ targets: 5, cost: 50 });
  });
});

describe('Allocator: input errors', () => {
  it.each([
    ['a target id with capitals', () => new Allocator().setTargets(new Map([['ABCDEF0123456789', 1]])), 'target id'],
    ['a short target id', () => new Allocator().updateTargets({ upsert: new Map([['abc', 1]]) }), 'target id'],
    ['a negative cost', () => new Allocator().setTargets(new Map([[tid(1), -1]])), 'cost'],
    ['a NaN cost', () => new Allocator().setTargets(new Map([[tid(1), NaN]])), 'cost'],
    ['a duplicate worker', () => new Allocator().setWorkers([{ id: 'a' }, { id: 'a' }]), 'worker id'],
    ['an empty worker id', () => new Allocator().setWorkers([{ id: '' }]), 'worker id'],
    ['a fractional maxTargets', () => new Allocator().setWorkers([{ id: 'a', capacity: { maxTargets: 1.5 } }]), 'maxTargets'],
    ['a negative maxSamples', () => new Allocator().setWorkers([{ id: 'a', capacity: { maxSamples: -1 } }]), 'maxSamples'],
    ['a fractional budget', () => new Allocator().rebalance({ moveBudget: 0.5 }), 'moveBudget'],
    ['a negative tolerance', () => new Allocator().rebalance({ moveBudget: 1, tolerance: -0.1 }), 'tolerance'],
  ])('rejects %s', (_name, call, field) => {
    expect(call).toThrow(AllocationInputError);
    expect(call).toThrow(expect.objectContaining({ code: AllocationErrorCode.invalidInput, field }));
  });

  it('changes nothing in a call that throws', () => {
    const a = new Allocator();
    a.setWorkers(workerList(2));
    a.setTargets(targets(10));
    const before = snapshot(a);
    const bad = new Map([...targets(5, 10, 100), ['not-an-id', 1]]);
    expect(() => a.updateTargets({ upsert: bad, remove: [tid(0)] })).toThrow(AllocationInputError);
    expect(() => a.setWorkers([{ id: 'w-000' }, { id: 'x', capacity: { maxTargets: -1 } }])).toThrow(AllocationInputError);
    expect(snapshot(a)).toEqual(before);
    expect(a.loads().size).toBe(2);
  });
});

describe('Allocator: views', () => {
  it('exposes the assignment as a live read-only map', () => {
    const a = new Allocator();
    a.setWorkers(workerList(2));
    const view = a.assignment();
    expect(view.size).toBe(0);
    const changes = a.setTargets(targets(4));
    expect(view.size).toBe(4);
    expect(view.has(tid(0))).toBe(true);
    expect(view.has(tid(99))).toBe(false);
    expect(new Map(view)).toEqual(applyChanges(new Map(), changes));
    expect(new Set(view.values())).toEqual(new Set(['w-000', 'w-001']));
    const visited: string[] = [];
    view.forEach((worker, target, map) => {
      expect(map.get(target)).toBe(worker);
      visited.push(target);
    });
    expect(visited.sort()).toEqual([...view.keys()].sort());
  });

  it('lists nothing for an unknown worker', () => {
    expect(new Allocator().targetsOf('nobody')).toEqual([]);
  });
});
