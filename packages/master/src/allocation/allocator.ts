/**
 * The allocator: keeps which worker owns each target and turns every change of workers, targets, costs or limits
 * into the owner changes it causes. Pure and synchronous: no I/O, no timers; the caller decides when to call.
 *
 * Why a table repaired minimally rather than a hash function of the inputs: no pure function of (targets, workers,
 * costs) can at once keep max/mean cost ≤ 1.05, move only new and removed targets when the target set changes, and
 * move costs only at a rate the caller sets (BENCHMARKS.md has the measurements). So the assignment is kept, and
 * every change repairs it with the fewest moves: new targets go to the least loaded workers, a leaving worker's
 * targets are spread over the least loaded, a joining worker takes the mean from the most loaded, drift waits for
 * {@link Allocator.rebalance}. What stays a pure function is each step: its result depends only on the assignment it
 * starts from and its input, never on input order or on the history behind that assignment.
 */
import type { TargetId } from '@promfleet/model';
import { isTargetId } from './hash.js';
import { adoptClaims, fillIdle, fillNewcomer, placeUnassigned, rebalance, shed, type Step } from './placement.js';
import type { AllocationStrategy } from './strategy.js';
import { ChangeLog, NONE, Table, costUnits } from './table.js';
import {
  AllocationInputError,
  AllocationStateError,
  type Assignment,
  type RebalanceOptions,
  type TargetUpdate,
  type WorkerCapacity,
  type WorkerId,
  type WorkerInfo,
  type WorkerLoad,
} from './types.js';

/** Rebalancing leaves workers within this fraction of the mean cost (see {@link RebalanceOptions.tolerance}). */
const defaultTolerance = 0.02;

/** A membership change may move at most this multiple of its ideal share of the cost (1/N per worker). */
const movementBound = 1.1;

/** Options of {@link Allocator}. */
export interface AllocatorOptions {
  /**
   * Start recovering (false by default): the master has just started and live workers may still hold targets from
   * its previous run. Until {@link Allocator.settle}, nothing is assigned; workers report what they hold through
   * {@link Allocator.adopt}. A master should start recovering and settle once reconnecting workers had their grace
   * period; then a restart moves nothing, and a fresh fleet (no reports) gets the canonical placement.
   */
  readonly recovering?: boolean;
}

/** A read-only view of the assignment: target id → worker id, for assigned targets only. Reflects later calls. */
class AssignmentView implements ReadonlyMap<TargetId, WorkerId> {
  constructor(private readonly t: Table) {}

  get size(): number {
    return this.t.assignedCount;
  }
  get(target: TargetId): WorkerId | undefined {
    const slot = this.t.slotOf(target);
    return slot === undefined ? undefined : this.t.workerIdOf(this.t.ownerOf(slot));
  }
  has(target: TargetId): boolean {
    return this.get(target) !== undefined;
  }
  *entries(): MapIterator<[TargetId, WorkerId]> {
    for (let slot = 0; slot < this.t.slotLimit; slot++) {
      const id = this.t.liveId(slot);
      const worker = this.t.workerIdOf(this.t.ownerOf(slot));
      if (id !== undefined && worker !== undefined) yield [id, worker];
    }
  }
  *keys(): MapIterator<TargetId> {
    for (const [id] of this.entries()) yield id;
  }
  *values(): MapIterator<WorkerId> {
    for (const [, worker] of this.entries()) yield worker;
  }
  [Symbol.iterator](): MapIterator<[TargetId, WorkerId]> {
    return this.entries();
  }
  forEach(callback: (worker: WorkerId, target: TargetId, map: ReadonlyMap<TargetId, WorkerId>) => void): void {
    for (const [id, worker] of this.entries()) callback(worker, id, this);
  }
}

/**
 * Ends every operation: gives idle workers a target, then places unassigned targets into any room the operation's
 * moves freed (placing only adds, so it leaves no worker idle). Returns the operation's changes.
 */
function finish(step: Step): Assignment[] {
  fillIdle(step);
  placeUnassigned(step, 'capacity');
  return step.log.finish();
}

function checkCapacity(capacity: WorkerCapacity | undefined): void {
  const maxTargets = capacity?.maxTargets;
  if (maxTargets !== undefined && !(Number.isSafeInteger(maxTargets) && maxTargets >= 0)) throw new AllocationInputError('maxTargets', maxTargets);
  const maxSamples = capacity?.maxSamples;
  if (maxSamples !== undefined && !(Number.isFinite(maxSamples) && maxSamples >= 0)) throw new AllocationInputError('maxSamples', maxSamples);
}

function sameCapacity(t: Table, w: number, capacity: WorkerCapacity | undefined): boolean {
  return t.maxTargetsOf(w) + t.reservedCountOf(w) === (capacity?.maxTargets ?? Infinity) && t.maxSamplesOf(w) === (capacity?.maxSamples ?? Infinity);
}

/**
 * Assigns targets to workers: deterministic, balanced on cost, moving as little as possible. One instance per
 * master; not safe to call re-entrantly (it is synchronous, so an event loop never does).
 *
 * Every mutating call returns the owner changes it made ({@link Assignment}), each target at most once; applied to
 * the previous {@link Allocator.assignment} they give the new one. A call that throws changed nothing.
 *
 * Guarantees, each checked by property tests (allocator.properties.test.ts) and measured at 1,000 workers ×
 * 1,000,000 targets in the allocation benchmark:
 * - Balance: placement leaves every worker within one target's cost of the mean (LPT), so max/mean ≤ 1 + c/mean for
 *   the largest cost c; at realistic sizes that is ≤ 1.05. No worker idles while another holds two or more.
 * - Movement: a set of targets that changes moves only the targets added or removed (and one target per worker left
 *   idle by removals); a worker that joins receives the mean plus at most half a target, all of it moved to it; a
 *   worker that leaves gives up what it held, plus leveling moves only up to 1.1× its ideal share (1/N of the cost)
 *   in all; rebalance moves at most its budget.
 * - Limits: no worker ever exceeds its maxTargets or maxSamples; a target that fits nowhere is unassigned and
 *   listed by {@link Allocator.unassigned}, and is placed as soon as some worker has room.
 */
export class Allocator implements AllocationStrategy {
  readonly #t = new Table();
  readonly #view = new AssignmentView(this.#t);
  readonly #claims = new Map<WorkerId, readonly TargetId[]>();
  readonly #reserved = new Map<WorkerId, WorkerLoad>();
  #recovering: boolean;

  constructor(options: AllocatorOptions = {}) {
    this.#recovering = options.recovering ?? false;
  }

  /** Whether the allocator is waiting for {@link Allocator.settle}. */
  get recovering(): boolean {
    return this.#recovering;
  }

  /**
   * Sets the live workers and their limits. Workers not listed leave: their targets are spread over the least
   * loaded workers (`worker-left`), and if that overloads one (a large target landing on a worker already at the
   * mean), `rebalance` moves level it within the movement bound. New workers join: each receives the mean cost,
   * taken from the most loaded workers (`worker-joined`). A worker whose limits shrank sheds targets (`capacity`).
   * Order does not matter.
   *
   * @throws AllocationInputError for an empty or duplicate worker id or a bad limit.
   */
  setWorkers(workers: readonly WorkerInfo[]): Assignment[] {
    const t = this.#t;
    const wanted = new Map<WorkerId, WorkerCapacity | undefined>();
    for (const worker of workers) {
      if (typeof worker.id !== 'string' || worker.id === '' || wanted.has(worker.id)) throw new AllocationInputError('worker id', worker.id);
      checkCapacity(worker.capacity);
      wanted.set(worker.id, worker.capacity);
    }
    const step: Step = { table: t, log: new ChangeLog(t) };
    const before = { count: t.assignedCount, cost: t.assignedCost, members: t.members.length };
    let leftCost = 0;
    let leftWorkers = 0;
    for (const w of t.members) {
      const id = t.workerIdOf(w) ?? '';
      if (wanted.has(id)) continue;
      leftCost += t.loadOf(w);
      leftWorkers++;
      for (const s of t.slotsOf(w)) step.log.move(s, NONE, 'worker-left');
      t.removeWorker(w);
      this.#claims.delete(id);
      this.#reserved.delete(id);
    }
    const joined: number[] = [];
    const relimited: number[] = [];
    for (const [id, capacity] of wanted) {
      const w = t.workerIndexOf(id);
      if (w === undefined) {
        const added = t.addWorker(id, capacity);
        const reserved = this.#reserved.get(id);
        if (reserved !== undefined) t.setReserved(added, reserved);
        joined.push(added);
      } else if (!sameCapacity(t, w, capacity)) {
        t.setCapacity(w, capacity);
        relimited.push(w);
      }
    }
    t.sortMembers();
    if (this.#recovering) return step.log.finish();
    const byRank = (a: number, b: number) => t.rankOf(a) - t.rankOf(b);
    for (const w of relimited.sort(byRank)) shed(step, w);
    placeUnassigned(step, joined.length > 0 ? 'worker-joined' : 'capacity');
    // Joiners of a fleet that held nothing are done: the placement above spread everything evenly.
    if (before.count > 0 && joined.length > 0) {
      const goals = { goal: t.assignedCost / t.members.length, minCost: t.minCost() };
      for (const j of joined.sort(byRank)) fillNewcomer(step, j, goals);
    }
    if (leftCost > 0) {
      // A large target of the leaver lands on a worker already at the mean. Level that out now, but only with what
      // the movement bound leaves: moving the leaver's targets cost `leftCost` of an allowed 1.1 × its ideal share.
      const ideal = (before.cost * leftWorkers) / before.members;
      rebalance(step, { budget: Infinity, costBudget: movementBound * ideal - leftCost, tolerance: defaultTolerance });
    }
    return finish(step);
  }

  /**
   * Sets the whole target set: target id → cost in samples per scrape (what its worker last reported, or until
   * then the job's average, or 1). Costs are rounded to whole samples, at least 1. Targets not listed are removed
   * (`removed`), new ones are placed on the least loaded workers (`added`), and a cost change moves nothing unless
   * it takes a worker over its maxSamples (`capacity`). Order does not matter.
   *
   * @throws AllocationInputError for a target id that is not 16 lowercase hex digits or a cost that is not a finite
   *   number ≥ 0.
   */
  setTargets(targets: ReadonlyMap<TargetId, number>): Assignment[] {
    const t = this.#t;
    const remove: TargetId[] = [];
    for (let slot = 0; slot < t.slotLimit; slot++) {
      const id = t.liveId(slot);
      if (id !== undefined && !targets.has(id)) remove.push(id);
    }
    return this.updateTargets({ upsert: targets, remove });
  }

  /**
   * Changes part of the target set, like {@link Allocator.setTargets}: `remove` removes targets, `upsert` adds
   * targets or changes their cost. An id in both is kept, with its new cost: a target id names the same target.
   * Removing an unknown id does nothing.
   *
   * @throws AllocationInputError as {@link Allocator.setTargets} does.
   */
  updateTargets(update: TargetUpdate): Assignment[] {
    const t = this.#t;
    const upsert = update.upsert ?? new Map<TargetId, number>();
    const remove = update.remove === undefined ? [] : [...update.remove];
    for (const [id, cost] of upsert) {
      costUnits(cost);
      if (!isTargetId(id)) throw new AllocationInputError('target id', id);
    }
    const step: Step = { table: t, log: new ChangeLog(t) };
    for (const id of remove) {
      const s = t.slotOf(id);
      if (s !== undefined && !upsert.has(id)) t.removeTarget(s, step.log);
    }
    const overLimit = new Set<number>();
    for (const [id, cost] of upsert) {
      const units = costUnits(cost);
      const s = t.slotOf(id);
      if (s === undefined) {
        step.log.record(t.addTarget(id, units), 'added');
      } else if (t.costOf(s) !== units) {
        t.setCost(s, units);
        const w = t.ownerOf(s);
        if (w !== NONE && t.loadOf(w) > t.maxSamplesOf(w)) overLimit.add(w);
      }
    }
    if (this.#recovering) return step.log.finish();
    for (const w of [...overLimit].sort((a, b) => t.rankOf(a) - t.rankOf(b))) shed(step, w);
    placeUnassigned(step, 'capacity');
    return finish(step);
  }

  /**
   * Records what a reconnecting worker reports it holds, while recovering; a later report from the same worker
   * replaces its earlier one. Nothing is assigned until {@link Allocator.settle}, so the order in which workers and
   * discovery report does not matter. Ids that are not (or no longer) targets are ignored then.
   *
   * @throws AllocationStateError after {@link Allocator.settle}: the settled assignment is authoritative, and a
   *   worker's report then only tells the stream what to resend.
   */
  adopt(worker: WorkerId, held: Iterable<TargetId>): void {
    if (!this.#recovering) throw new AllocationStateError('adopt');
    this.#claims.set(worker, [...held]);
  }

  /**
   * Ends recovery. Each target a live worker reported goes to that worker (`adopted`; if two report the same
   * target, the one with the higher rendezvous score keeps it), as far as its limits allow. Everything else is
   * placed on the least loaded workers (`added`), a live worker that adopted nothing joins and takes the mean
   * (`worker-joined`), and no worker is left idle. Unbalanced adopted loads stay until {@link Allocator.rebalance}.
   * Returns nothing new when not recovering.
   */
  settle(): Assignment[] {
    const t = this.#t;
    const step: Step = { table: t, log: new ChangeLog(t) };
    if (!this.#recovering) return step.log.finish();
    this.#recovering = false;
    const adopters = adoptClaims(step, this.#claims);
    this.#claims.clear();
    if (adopters.size > 0) {
      const goals = { goal: t.assignedCost / t.members.length, minCost: t.minCost() };
      for (const j of t.members) if (!adopters.has(j)) fillNewcomer(step, j, goals);
    }
    return finish(step);
  }

  /**
   * Starts recovering again, as a master that has just started: when no worker is live, nothing is assigned, and the
   * first workers back (from a partition, or a master they reached first) may hold targets the allocator would
   * otherwise give, all at once, to whichever comes first. Returns false, doing nothing, while a worker is live or
   * when already recovering.
   */
  recover(): boolean {
    if (this.#recovering || this.#t.members.length > 0) return false;
    this.#recovering = true;
    this.#claims.clear();
    return true;
  }

  /**
   * Sets the load `worker` carries besides the targets assigned here: targets it keeps scraping that the allocator
   * cannot place (the master does not know them yet). They count in its load and against its limits, so placement and
   * balancing see the worker as it is, and they never move. Replaces the worker's earlier reservation; moves nothing
   * itself. A worker that is not live yet gets it when {@link Allocator.setWorkers} adds it; one that leaves loses it.
   *
   * @throws AllocationInputError for a count that is not a non-negative integer or a cost that is not a finite
   *   number ≥ 0.
   */
  reserve(worker: WorkerId, load: WorkerLoad): void {
    if (!(Number.isSafeInteger(load.targets) && load.targets >= 0)) throw new AllocationInputError('reserved targets', load.targets);
    if (!(Number.isFinite(load.cost) && load.cost >= 0)) throw new AllocationInputError('reserved cost', load.cost);
    if (load.targets === 0 && load.cost === 0) this.#reserved.delete(worker);
    else this.#reserved.set(worker, load);
    const w = this.#t.workerIndexOf(worker);
    if (w !== undefined) this.#t.setReserved(w, load);
  }

  /**
   * Corrects cost drift: moves at most `moveBudget` targets from the most to the least loaded workers while some
   * worker is more than `tolerance` from the mean (`rebalance`), then places unassigned targets that now fit. Moves
   * nothing while recovering. The caller rate-limits calls (a budget per minute) so the fleet never churns.
   *
   * @throws AllocationInputError for a budget that is not a non-negative integer or a tolerance that is not ≥ 0.
   */
  rebalance(options: RebalanceOptions): Assignment[] {
    const { moveBudget } = options;
    const tolerance = options.tolerance ?? defaultTolerance;
    if (!(Number.isSafeInteger(moveBudget) && moveBudget >= 0)) throw new AllocationInputError('moveBudget', moveBudget);
    if (!(Number.isFinite(tolerance) && tolerance >= 0)) throw new AllocationInputError('tolerance', tolerance);
    const step: Step = { table: this.#t, log: new ChangeLog(this.#t) };
    if (this.#recovering) return step.log.finish();
    rebalance(step, { budget: moveBudget, tolerance });
    return finish(step);
  }

  /** The current assignment, target id → worker id, assigned targets only: a live read-only view, O(1) lookups. */
  assignment(): ReadonlyMap<TargetId, WorkerId> {
    return this.#view;
  }

  /** Each live worker's target count and cost, reserved ones included, workers in id order. A new map each call. */
  loads(): Map<WorkerId, WorkerLoad> {
    const t = this.#t;
    const loads = new Map<WorkerId, WorkerLoad>();
    for (const w of t.members) loads.set(t.workerIdOf(w) ?? '', { targets: t.countOf(w) + t.reservedCountOf(w), cost: t.loadOf(w) });
    return loads;
  }

  /** Targets no worker holds: over every worker's limits, with no workers, or recovering. In no particular order. */
  unassigned(): TargetId[] {
    return this.#idsOf(NONE);
  }

  /** The targets `worker` holds, in no particular order; empty for an unknown worker. */
  targetsOf(worker: WorkerId): TargetId[] {
    const w = this.#t.workerIndexOf(worker);
    return w === undefined ? [] : this.#idsOf(w);
  }

  /** The cost of a target as the allocator counts it (whole samples), or undefined for an unknown target. */
  costOf(target: TargetId): number | undefined {
    const s = this.#t.slotOf(target);
    return s === undefined ? undefined : this.#t.costOf(s);
  }

  #idsOf(w: number): TargetId[] {
    const t = this.#t;
    const ids: TargetId[] = [];
    for (let s = t.headOf(w); s !== NONE; s = t.nextOf(s)) ids.push(t.idOf(s));
    return ids;
  }
}

