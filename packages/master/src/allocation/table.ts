/**
 * The allocator's state: targets in slots of typed arrays (cost, id halves, owner, and a doubly linked list per
 * owner) found through an {@link IdIndex}, workers by index, and a change log that coalesces a call's moves. No
 * per-target objects are kept beyond the id string.
 *
 * Slots and worker indices are storage only: which slot or index a target or worker got depends on history, so no
 * placement decision may depend on them, nor on list order. Every choice in placement.ts orders by cost, target id,
 * worker id or a rendezvous score, so the result of an operation depends only on the assignment it starts from.
 */
import type { TargetId } from '@promfleet/model';
import { hexHalf, score, workerSeed } from './hash.js';
import { IdIndex } from './id-index.js';
import { AllocationInputError, type Assignment, type MoveReason, type WorkerCapacity, type WorkerId } from './types.js';

/** No slot, no worker, no list entry. */
export const NONE = -1;

/**
 * A cost in whole samples per scrape, at least 1. Whole numbers make every load an exact integer sum, the same on
 * every master whatever order it added them in, so ties break the same way everywhere.
 *
 * @throws AllocationInputError if `cost` is not a finite number ≥ 0.
 */
export function costUnits(cost: number): number {
  if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) throw new AllocationInputError('cost', cost);
  return Math.max(1, Math.round(cost));
}

/**
 * The owner changes of one call. The first record of a target keeps its `from` and reason; its `to` is read from
 * the table when the call ends, so a target moved twice in one call is reported once, and not at all if it ends
 * where it started.
 */
export class ChangeLog {
  readonly #targets: TargetId[] = [];
  readonly #slots: number[] = [];
  readonly #from: (WorkerId | undefined)[] = [];
  readonly #reasons: MoveReason[] = [];

  constructor(private readonly table: Table) {}

  /** Notes that `slot` is about to change owner, unless it already changed in this call. */
  record(slot: number, reason: MoveReason): void {
    const t = this.table;
    if (t.logIndex(slot) !== NONE) return;
    t.setLogIndex(slot, this.#slots.length);
    this.#targets.push(t.idOf(slot));
    this.#slots.push(slot);
    this.#from.push(t.workerIdOf(t.ownerOf(slot)));
    this.#reasons.push(reason);
  }

  /** Gives `slot` to worker `w`, or takes it from its owner for `NONE`, and records the change. */
  move(slot: number, w: number, reason: MoveReason): void {
    if (this.table.ownerOf(slot) === w) return;
    this.record(slot, reason);
    this.table.setOwner(slot, w);
  }

  /** Notes that `slot` was freed (its target removed): the target ends with no owner. */
  forget(slot: number): void {
    const i = this.table.logIndex(slot);
    if (i === NONE) return;
    this.#slots[i] = NONE;
    this.table.setLogIndex(slot, NONE);
  }

  /** The call's changes, in the order they were first recorded. Ends the log. */
  finish(): Assignment[] {
    const t = this.table;
    const changes: Assignment[] = [];
    for (let i = 0; i < this.#slots.length; i++) {
      const slot = this.#slots[i] ?? NONE;
      const target = this.#targets[i] ?? '';
      const reason = this.#reasons[i] ?? 'rebalance';
      const from = this.#from[i];
      let to: WorkerId | undefined;
      if (slot !== NONE) {
        t.setLogIndex(slot, NONE);
        to = t.workerIdOf(t.ownerOf(slot));
      }
      if (from === to) continue;
      if (from === undefined) changes.push(to === undefined ? { target, reason } : { target, to, reason });
      else changes.push(to === undefined ? { target, from, reason } : { target, from, to, reason });
    }
    return changes;
  }
}

function grow<T extends Float64Array | Int32Array | Uint32Array>(array: T, size: number, make: (n: number) => T): T {
  const next = make(size);
  next.set(array);
  return next;
}

/** The allocator's state. Internal to allocation; every method keeps the loads, counts and lists consistent. */
export class Table {
  // Targets, by slot.
  readonly #ids: (TargetId | undefined)[] = [];
  readonly #index = new IdIndex();
  #cost = new Float64Array(0);
  #hi = new Uint32Array(0);
  #lo = new Uint32Array(0);
  #owner = new Int32Array(0);
  #next = new Int32Array(0);
  #prev = new Int32Array(0);
  #log = new Int32Array(0);
  #scratch = new Int32Array(0);
  readonly #freeSlots: number[] = [];
  #slotCount = 0;

  /** List heads: list 0 holds the unassigned targets, list `w + 1` worker `w`'s. */
  readonly #head: number[] = [NONE];

  // Workers, by index.
  readonly #workerIds: (WorkerId | undefined)[] = [];
  readonly #workerIndex = new Map<WorkerId, number>();
  readonly #seed: number[] = [];
  readonly #load: number[] = [];
  readonly #count: number[] = [];
  readonly #maxTargets: number[] = [];
  readonly #maxSamples: number[] = [];
  /** Load a worker carries outside the table (targets it keeps that the allocator cannot place): counts, never moves. */
  readonly #reservedCost: number[] = [];
  readonly #reservedCount: number[] = [];
  readonly #rank: number[] = [];
  readonly #freeWorkers: number[] = [];
  #members: number[] = [];

  #assignedCost = 0;
  #reservedTotal = 0;
  #assignedCount = 0;
  #unassignedCount = 0;

  /** Live workers' indices, ordered by worker id; a worker's position is its rank, the tie-breaker of last resort. */
  get members(): readonly number[] {
    return this.#members;
  }
  get targetCount(): number {
    return this.#index.size;
  }
  /** Slots are below this; a slot holds a target when {@link Table.liveId} is defined. */
  get slotLimit(): number {
    return this.#slotCount;
  }
  /** The cost the workers carry: their targets' and what is reserved on them. */
  get assignedCost(): number {
    return this.#assignedCost + this.#reservedTotal;
  }
  get assignedCount(): number {
    return this.#assignedCount;
  }
  get unassignedCount(): number {
    return this.#unassignedCount;
  }

  slotOf(id: TargetId): number | undefined {
    const hi = id.length === 16 ? hexHalf(id, 0) : NONE;
    const lo = hi === NONE ? NONE : hexHalf(id, 8);
    const slot = lo === NONE ? NONE : this.#index.get(hi, lo);
    return slot === NONE ? undefined : slot;
  }
  idOf(slot: number): TargetId {
    return this.#ids[slot] ?? '';
  }
  /** The target in `slot`, or undefined for a free slot. */
  liveId(slot: number): TargetId | undefined {
    return this.#ids[slot];
  }
  costOf(slot: number): number {
    return this.#cost[slot] ?? 0;
  }
  hiOf(slot: number): number {
    return this.#hi[slot] ?? 0;
  }
  loOf(slot: number): number {
    return this.#lo[slot] ?? 0;
  }
  ownerOf(slot: number): number {
    return this.#owner[slot] ?? NONE;
  }
  nextOf(slot: number): number {
    return this.#next[slot] ?? NONE;
  }
  /** The first target of worker `w`'s list (or of the unassigned list for `NONE`). */
  headOf(w: number): number {
    return this.#head[w + 1] ?? NONE;
  }
  logIndex(slot: number): number {
    return this.#log[slot] ?? NONE;
  }
  setLogIndex(slot: number, index: number): void {
    this.#log[slot] = index;
  }
  /** A per-slot integer for one routine's use; every routine leaves it back at `NONE`. */
  scratchOf(slot: number): number {
    return this.#scratch[slot] ?? NONE;
  }
  setScratch(slot: number, value: number): void {
    this.#scratch[slot] = value;
  }

  workerIndexOf(id: WorkerId): number | undefined {
    return this.#workerIndex.get(id);
  }
  workerIdOf(w: number): WorkerId | undefined {
    return w === NONE ? undefined : this.#workerIds[w];
  }
  /** Worker `w`'s cost: its targets' and its reserved cost. */
  loadOf(w: number): number {
    return (this.#load[w] ?? 0) + (this.#reservedCost[w] ?? 0);
  }
  /** How many targets of the table worker `w` holds (reserved ones not counted: they are not in its list). */
  countOf(w: number): number {
    return this.#count[w] ?? 0;
  }
  /** How many more table targets worker `w` may hold: its limit less what is reserved on it. */
  maxTargetsOf(w: number): number {
    return (this.#maxTargets[w] ?? 0) - (this.#reservedCount[w] ?? 0);
  }
  reservedCountOf(w: number): number {
    return this.#reservedCount[w] ?? 0;
  }
  /** Sets what worker `w` carries outside the table. */
  setReserved(w: number, reserved: { readonly targets: number; readonly cost: number }): void {
    this.#reservedTotal += reserved.cost - (this.#reservedCost[w] ?? 0);
    this.#reservedCost[w] = reserved.cost;
    this.#reservedCount[w] = reserved.targets;
  }
  maxSamplesOf(w: number): number {
    return this.#maxSamples[w] ?? 0;
  }
  rankOf(w: number): number {
    return this.#rank[w] ?? 0;
  }
  /** Whether worker `w` has room for one more target of cost `cost`. */
  fits(w: number, cost: number): boolean {
    return this.countOf(w) < this.maxTargetsOf(w) && this.loadOf(w) + cost <= this.maxSamplesOf(w);
  }
  /** The rendezvous score of `slot`'s target for worker `w`. */
  scoreOf(slot: number, w: number): number {
    return score(this.hiOf(slot), this.loOf(slot), this.#seed[w] ?? 0);
  }

  /**
   * Adds a target, unassigned, and returns its slot.
   *
   * @throws AllocationInputError if `id` is not 16 lowercase hex digits.
   */
  addTarget(id: TargetId, units: number): number {
    const hi = id.length === 16 ? hexHalf(id, 0) : NONE;
    const lo = hi === NONE ? NONE : hexHalf(id, 8);
    if (lo === NONE) throw new AllocationInputError('target id', id);
    const slot = this.#freeSlots.pop() ?? this.#newSlot();
    this.#ids[slot] = id;
    this.#index.add(hi, lo, slot);
    this.#cost[slot] = units;
    this.#hi[slot] = hi;
    this.#lo[slot] = lo;
    this.#owner[slot] = NONE;
    this.#link(slot, NONE);
    this.#unassignedCount++;
    return slot;
  }

  /** Removes a target, recording the change if it had an owner. */
  removeTarget(slot: number, log: ChangeLog): void {
    const w = this.ownerOf(slot);
    if (w !== NONE) log.record(slot, 'removed');
    this.#unlink(slot, w);
    this.#account(w, slot, -1);
    log.forget(slot);
    this.#index.delete(this.hiOf(slot), this.loOf(slot));
    this.#ids[slot] = undefined;
    this.#freeSlots.push(slot);
  }

  /** Changes a target's cost, and its owner's load with it. */
  setCost(slot: number, units: number): void {
    const w = this.ownerOf(slot);
    this.#account(w, slot, -1);
    this.#cost[slot] = units;
    this.#account(w, slot, 1);
  }

  /** Gives `slot` to worker `w`, or takes it from its owner for `NONE`. Changes go through {@link ChangeLog.move}. */
  setOwner(slot: number, w: number): void {
    const from = this.ownerOf(slot);
    this.#unlink(slot, from);
    this.#account(from, slot, -1);
    this.#owner[slot] = w;
    this.#link(slot, w);
    this.#account(w, slot, 1);
  }

  /** Orders slots by cost, largest first, then by target id (the two id halves are the id's order). In place. */
  sortByCostDesc(slots: Int32Array): Int32Array {
    const cost = this.#cost;
    const hi = this.#hi;
    const lo = this.#lo;
    return slots.sort((a, b) => (cost[b] ?? 0) - (cost[a] ?? 0) || (hi[a] ?? 0) - (hi[b] ?? 0) || (lo[a] ?? 0) - (lo[b] ?? 0));
  }

  /** Worker `w`'s targets (the unassigned ones for `NONE`), in no particular order. */
  slotsOf(w: number): Int32Array {
    const out = new Int32Array(w === NONE ? this.#unassignedCount : this.countOf(w));
    let i = 0;
    for (let s = this.headOf(w); s !== NONE; s = this.nextOf(s)) out[i++] = s;
    return out;
  }

  /** The lowest target cost, or `Infinity` with no targets. One pass over a typed array. */
  minCost(): number {
    let min = Infinity;
    for (let s = 0; s < this.#slotCount; s++) {
      if (this.#ids[s] !== undefined) min = Math.min(min, this.costOf(s));
    }
    return min;
  }

  /** Adds a worker with no targets and returns its index; call {@link Table.sortMembers} after membership changes. */
  addWorker(id: WorkerId, capacity: WorkerCapacity | undefined): number {
    const w = this.#freeWorkers.pop() ?? this.#workerIds.length;
    this.#workerIds[w] = id;
    this.#workerIndex.set(id, w);
    this.#seed[w] = workerSeed(id);
    this.#load[w] = 0;
    this.#count[w] = 0;
    this.#reservedCost[w] = 0;
    this.#reservedCount[w] = 0;
    this.#head[w + 1] = NONE;
    this.setCapacity(w, capacity);
    return w;
  }

  /** Removes a worker that holds no targets. */
  removeWorker(w: number): void {
    const id = this.#workerIds[w];
    if (id === undefined) return;
    this.setReserved(w, { targets: 0, cost: 0 });
    this.#workerIndex.delete(id);
    this.#workerIds[w] = undefined;
    this.#freeWorkers.push(w);
  }

  setCapacity(w: number, capacity: WorkerCapacity | undefined): void {
    this.#maxTargets[w] = capacity?.maxTargets ?? Infinity;
    this.#maxSamples[w] = capacity?.maxSamples ?? Infinity;
  }

  /** Recomputes the members' order (by worker id) and ranks. */
  sortMembers(): void {
    const ids = this.#workerIds;
    this.#members = [...this.#workerIndex.values()].sort((a, b) => ((ids[a] ?? '') < (ids[b] ?? '') ? -1 : 1));
    this.#members.forEach((w, i) => (this.#rank[w] = i));
  }

  #newSlot(): number {
    const slot = this.#slotCount++;
    if (slot >= this.#cost.length) {
      const size = Math.max(1024, this.#cost.length * 2);
      this.#cost = grow(this.#cost, size, (n) => new Float64Array(n));
      this.#hi = grow(this.#hi, size, (n) => new Uint32Array(n));
      this.#lo = grow(this.#lo, size, (n) => new Uint32Array(n));
      this.#owner = grow(this.#owner, size, (n) => new Int32Array(n));
      this.#next = grow(this.#next, size, (n) => new Int32Array(n));
      this.#prev = grow(this.#prev, size, (n) => new Int32Array(n));
      this.#log = grow(this.#log, size, (n) => new Int32Array(n).fill(NONE));
      this.#scratch = grow(this.#scratch, size, (n) => new Int32Array(n).fill(NONE));
    }
    return slot;
  }

  #link(slot: number, w: number): void {
    const head = this.#head[w + 1] ?? NONE;
    this.#next[slot] = head;
    this.#prev[slot] = NONE;
    if (head !== NONE) this.#prev[head] = slot;
    this.#head[w + 1] = slot;
  }

  #unlink(slot: number, w: number): void {
    const next = this.nextOf(slot);
    const prev = this.#prev[slot] ?? NONE;
    if (prev === NONE) this.#head[w + 1] = next;
    else this.#next[prev] = next;
    if (next !== NONE) this.#prev[next] = prev;
  }

  /** Adds (`sign` 1) or takes away (-1) `slot`'s cost and count from owner `w`'s totals. */
  #account(w: number, slot: number, sign: 1 | -1): void {
    if (w === NONE) {
      this.#unassignedCount += sign;
      return;
    }
    const cost = sign * this.costOf(slot);
    this.#load[w] = (this.#load[w] ?? 0) + cost;
    this.#count[w] = this.countOf(w) + sign;
    this.#assignedCost += cost;
    this.#assignedCount += sign;
  }
}
