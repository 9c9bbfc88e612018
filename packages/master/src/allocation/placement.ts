/**
 * The placement core: deterministic routines over a {@link Table}, with no I/O, no clock and no randomness. Each
 * reads only the assignment, the costs, worker ids, limits and rendezvous scores, never slot numbers or list order
 * (see table.ts), so the same starting assignment and input give the same moves on every master.
 *
 * - {@link placeBatch}: longest-processing-time-first greedy. Targets by cost, largest first, each to the least
 *   loaded worker with room. It is the canonical placement of a fresh fleet and of every target that needs an owner.
 * - {@link fillNewcomer}: a joining worker takes targets, one at a time, from whichever worker is most loaded, until it
 *   holds the mean. It picks the donor's targets in the order of their rendezvous score for the newcomer: a choice
 *   that depends on the newcomer's id and the donor's targets, not on how the donor came to hold them.
 * - {@link rebalance}, {@link fillIdle}, {@link shed}: bounded repairs for cost drift, idle workers and limits.
 */
import type { TargetId } from '@promfleet/model';
import { WorkerHeap } from './heap.js';
import { NONE, type ChangeLog, type Table } from './table.js';
import type { MoveReason, WorkerId } from './types.js';

/** The table an operation works on and the log of its changes. */
export interface Step {
  readonly table: Table;
  readonly log: ChangeLog;
}

/** Less loaded first; equal loads by worker id. */
function lighter(t: Table): (a: number, b: number) => boolean {
  return (a, b) => {
    const d = t.loadOf(a) - t.loadOf(b);
    return d < 0 || (d === 0 && t.rankOf(a) < t.rankOf(b));
  };
}

/** More loaded first; equal loads by worker id. */
function heavier(t: Table): (a: number, b: number) => boolean {
  return (a, b) => {
    const d = t.loadOf(a) - t.loadOf(b);
    return d > 0 || (d === 0 && t.rankOf(a) < t.rankOf(b));
  };
}

/**
 * Gives each of `slots` (unassigned, in {@link Table.sortByCostDesc} order) to the least loaded worker that has room for
 * it; a target no worker has room for stays unassigned. With costs sorted largest first this is LPT scheduling: each
 * worker ends within one target's cost of the mean, and the last targets placed are the smallest.
 */
export function placeBatch(step: Step, slots: Int32Array, reason: MoveReason): void {
  const t = step.table;
  const heap = new WorkerHeap(lighter(t));
  for (const w of t.members) if (t.countOf(w) < t.maxTargetsOf(w)) heap.push(w);
  const aside: number[] = [];
  // Loads only grow while placing, so a cost that fitted nowhere fits nowhere later: skip it and anything larger.
  let failedCost = Infinity;
  for (const s of slots) {
    const cost = t.costOf(s);
    if (cost >= failedCost) continue;
    let w = heap.top;
    while (w !== NONE) {
      if (t.countOf(w) >= t.maxTargetsOf(w)) heap.pop();
      else if (t.loadOf(w) + cost > t.maxSamplesOf(w)) aside.push(heap.pop());
      else break;
      w = heap.top;
    }
    if (w === NONE) {
      failedCost = cost;
    } else {
      step.log.move(s, w, reason);
      heap.fix();
    }
    for (const a of aside) heap.push(a);
    aside.length = 0;
  }
}

/** Places every unassigned target that some worker has room for (see {@link placeBatch}). */
export function placeUnassigned(step: Step, reason: MoveReason): void {
  if (step.table.unassignedCount === 0 || step.table.members.length === 0) return;
  placeBatch(step, step.table.sortByCostDesc(step.table.slotsOf(NONE)), reason);
}

/**
 * The cost level `L` at which the donors' loads above it add up to `need`: `Σ max(0, load − L) = need`. It sizes
 * how many of a donor's targets a newcomer is likely to take.
 */
export function waterLevel(loads: readonly number[], need: number): number {
  const sorted = [...loads].sort((a, b) => b - a);
  let sum = 0;
  for (let k = 0; k < sorted.length; k++) {
    sum += sorted[k] ?? 0;
    const level = (sum - need) / (k + 1);
    if (level >= (sorted[k + 1] ?? -Infinity)) return Math.max(0, level);
  }
  return 0;
}

/**
 * One donor's targets in the order a newcomer takes them: highest rendezvous score for the newcomer first, ties by
 * target id. Scores are uniform, so it collects bands of the score range, top band first, sized from how much the
 * donor is expected to give, instead of sorting all the donor's targets.
 */
class DonorCursor {
  #band: number[] = [];
  #pos = 0;
  /** Scores at or above this were collected; 2^32 before the first band. */
  #threshold = 2 ** 32;
  #fraction: number;

  private readonly donor: number;
  private readonly newcomer: number;

  /** `fraction`: the share of the score range in the first band. */
  constructor(
    private readonly t: Table,
    of: { readonly donor: number; readonly newcomer: number; readonly fraction: number },
  ) {
    this.donor = of.donor;
    this.newcomer = of.newcomer;
    this.#fraction = Math.min(1, of.fraction);
  }

  /** The next target of the donor whose cost is below `limit`, or `NONE`; targets passed over are not offered again. */
  next(limit: number): number {
    const t = this.t;
    for (;;) {
      while (this.#pos < this.#band.length) {
        const s = this.#band[this.#pos++] ?? NONE;
        if (t.ownerOf(s) === this.donor && t.costOf(s) < limit) return s;
      }
      if (this.#threshold === 0) return NONE;
      this.#nextBand();
    }
  }

  #nextBand(): void {
    const t = this.t;
    const upper = this.#threshold;
    const lower = this.#fraction >= 1 ? 0 : Math.floor((1 - this.#fraction) * 2 ** 32);
    this.#fraction = Math.min(1, this.#fraction * 2);
    const band: number[] = [];
    for (let s = t.headOf(this.donor); s !== NONE; s = t.nextOf(s)) {
      const sc = t.scoreOf(s, this.newcomer);
      if (sc >= lower && sc < upper) band.push(s);
    }
    const n = this.newcomer;
    band.sort((a, b) => t.scoreOf(b, n) - t.scoreOf(a, n) || t.hiOf(a) - t.hiOf(b) || t.loOf(a) - t.loOf(b));
    this.#band = band;
    this.#pos = 0;
    this.#threshold = lower;
  }
}

/**
 * Moves targets to newcomer `j` until it holds about `goal` cost. Each move takes from the most loaded worker, so
 * donors are levelled down, and takes a target only if it brings `j` closer to the goal (cost below twice what is
 * missing) and leaves `j` below the donor. So `j` ends at most half a target above the goal, and the cost moved is
 * at most the goal plus half a target: the ideal 1/N of the work.
 *
 * `goals.goal` is the cost `j` should reach; `goals.minCost` the lowest target cost, to stop as soon as no target
 * can help.
 */
export function fillNewcomer(step: Step, j: number, goals: { readonly goal: number; readonly minCost: number }): void {
  const t = step.table;
  const { goal, minCost } = goals;
  const heap = new WorkerHeap(heavier(t));
  const donorLoads: number[] = [];
  for (const d of t.members) {
    if (d !== j && t.countOf(d) > 0) {
      heap.push(d);
      donorLoads.push(t.loadOf(d));
    }
  }
  const level = waterLevel(donorLoads, goal - t.loadOf(j));
  const cursors = new Map<number, DonorCursor>();
  while (heap.size > 0) {
    const d = heap.top;
    // Take a target below twice what j misses, below the gap to the donor, within j's maxSamples. Donors come most
    // loaded first, so once no target could pass for this one, none can for the rest.
    const room = Math.floor(t.maxSamplesOf(j) - t.loadOf(j)) + 1;
    const limit = Math.min(2 * (goal - t.loadOf(j)), t.loadOf(d) - t.loadOf(j), room);
    if (limit <= minCost || t.countOf(j) >= t.maxTargetsOf(j)) break;
    let cursor = cursors.get(d);
    if (cursor === undefined) {
      const load = t.loadOf(d);
      cursor = new DonorCursor(t, { donor: d, newcomer: j, fraction: (2 * Math.max(0, load - level)) / load + 4 / t.countOf(d) });
      cursors.set(d, cursor);
    }
    const s = cursor.next(limit);
    if (s === NONE) {
      heap.pop();
      continue;
    }
    step.log.move(s, j, 'worker-joined');
    heap.fix();
  }
}

/**
 * The target of `donor` to give `receiver`: cost below `limit`, room on the receiver, cost closest to `ideal`;
 * ties by the receiver's rendezvous score, then target id. `NONE` if there is none.
 */
function pickTarget(t: Table, move: { readonly donor: number; readonly receiver: number; readonly ideal: number; readonly limit: number }): number {
  const { donor, receiver, ideal, limit } = move;
  let best = NONE;
  let bestDistance = Infinity;
  let bestScore = 0;
  for (let s = t.headOf(donor); s !== NONE; s = t.nextOf(s)) {
    const cost = t.costOf(s);
    if (cost >= limit || !t.fits(receiver, cost)) continue;
    const distance = Math.abs(cost - ideal);
    if (distance > bestDistance) continue;
    const sc = t.scoreOf(s, receiver);
    if (distance === bestDistance) {
      if (sc < bestScore) continue;
      if (sc === bestScore && (t.hiOf(s) > t.hiOf(best) || (t.hiOf(s) === t.hiOf(best) && t.loOf(s) > t.loOf(best)))) continue;
    }
    best = s;
    bestDistance = distance;
    bestScore = sc;
  }
  return best;
}

/**
 * Gives every idle worker one target, from the most loaded worker holding two or more whose targets fit it (the one
 * closest to half that worker's load), so no worker idles while another holds several. Capacity permitting.
 */
export function fillIdle(step: Step): void {
  const t = step.table;
  let donors: number[] | undefined;
  for (const r of t.members) {
    // A worker that only keeps reserved targets is not idle.
    if (t.countOf(r) + t.reservedCountOf(r) > 0 || t.maxTargetsOf(r) <= 0) continue;
    donors ??= t.members.filter((d) => t.countOf(d) >= 2);
    const before = heavier(t);
    donors.sort((a, b) => (before(a, b) ? -1 : 1));
    for (const d of donors) {
      if (t.countOf(d) < 2) continue;
      const s = pickTarget(t, { donor: d, receiver: r, ideal: t.loadOf(d) / 2, limit: Infinity });
      if (s !== NONE) {
        step.log.move(s, r, 'rebalance');
        break;
      }
    }
  }
}

/** Limits of one {@link rebalance}. */
export interface RebalanceLimits {
  /** The most targets to move. */
  readonly budget: number;
  /** The total cost the moved targets may add up to; no limit by default. */
  readonly costBudget?: number;
  /** The fraction of the mean cost within which a worker counts as balanced. */
  readonly tolerance: number;
}

/**
 * Moves up to `budget` targets, each from the most loaded worker to the least loaded one that can take a target
 * from it, while some worker is more than `tolerance` (a fraction of the mean) above or below the mean. Each move
 * takes the target closest to half the gap between the two and never one as large as the gap, so the larger of the
 * two loads always drops: the sum of squared loads falls with every move and repeated calls never cycle. Returns
 * the number of moves made.
 */
export function rebalance(step: Step, limits: RebalanceLimits): number {
  const t = step.table;
  const n = t.members.length;
  let moves = 0;
  if (n < 2) return moves;
  const ascending = lighter(t);
  const receivers = [...t.members];
  let costLeft = limits.costBudget ?? Infinity;
  while (moves < limits.budget && costLeft >= 1) {
    const mean = t.assignedCost / n;
    receivers.sort((a, b) => (ascending(a, b) ? -1 : 1));
    const donor = receivers[n - 1] ?? NONE;
    const lowest = receivers[0] ?? NONE;
    if (t.loadOf(donor) <= mean * (1 + limits.tolerance) && t.loadOf(lowest) >= mean * (1 - limits.tolerance)) break;
    let moved = false;
    for (const r of receivers) {
      const gap = t.loadOf(donor) - t.loadOf(r);
      if (gap <= 0) break;
      const s = pickTarget(t, { donor, receiver: r, ideal: gap / 2, limit: Math.min(gap, Math.floor(costLeft) + 1) });
      if (s !== NONE) {
        costLeft -= t.costOf(s);
        step.log.move(s, r, 'rebalance');
        moves++;
        moved = true;
        break;
      }
    }
    if (!moved) break;
  }
  return moves;
}

/**
 * Unassigns targets of worker `w` until it is within its limits: the cheapest ones while it holds too many, then
 * while its load is too high the cheapest single target that covers the excess, or else the most expensive one.
 * The caller places them again.
 */
export function shed(step: Step, w: number): void {
  const t = step.table;
  if (t.countOf(w) <= t.maxTargetsOf(w) && t.loadOf(w) <= t.maxSamplesOf(w)) return;
  const slots = t.sortByCostDesc(t.slotsOf(w)).reverse();
  const taken = new Uint8Array(slots.length);
  let next = 0;
  let shedCount = 0;
  // Reserved load (Table.setReserved) cannot be shed: stop once every target is.
  while (next < slots.length && t.countOf(w) > t.maxTargetsOf(w)) {
    shedCount++;
    taken[next] = 1;
    step.log.move(slots[next++] ?? NONE, NONE, 'capacity');
  }
  while (shedCount < slots.length && t.loadOf(w) > t.maxSamplesOf(w)) {
    shedCount++;
    const excess = t.loadOf(w) - t.maxSamplesOf(w);
    let lo = next;
    let hi = slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (t.costOf(slots[mid] ?? NONE) < excess) lo = mid + 1;
      else hi = mid;
    }
    while (lo < slots.length && taken[lo] === 1) lo++;
    if (lo === slots.length) {
      lo = slots.length - 1;
      while (taken[lo] === 1) lo--;
    }
    taken[lo] = 1;
    step.log.move(slots[lo] ?? NONE, NONE, 'capacity');
  }
}

/**
 * A recovering master's adoption: each known target that live workers report holding goes to the claimant with the
 * highest rendezvous score (one claimant in all but a failover race), in {@link Table.sortByCostDesc} order while the
 * claimant has room; the rest are placed by {@link placeBatch}. Returns the workers that adopted at least one
 * target. The outcome depends only on the sets of claims, not on the order workers reported in.
 */
export function adoptClaims(step: Step, claims: ReadonlyMap<WorkerId, readonly TargetId[]>): Set<number> {
  const t = step.table;
  const claimed: number[] = [];
  for (const m of t.members) {
    for (const id of claims.get(t.workerIdOf(m) ?? '') ?? []) {
      const s = t.slotOf(id);
      if (s === undefined) continue;
      const current = t.scratchOf(s);
      if (current === NONE) claimed.push(s);
      // Members come by rank, so on equal scores the lower rank keeps the target.
      if (current === NONE || t.scoreOf(s, m) > t.scoreOf(s, current)) t.setScratch(s, m);
    }
  }
  const adopters = new Set<number>();
  const all = t.sortByCostDesc(t.slotsOf(NONE));
  const rest = new Int32Array(all.length);
  let restCount = 0;
  for (const s of all) {
    const w = t.scratchOf(s);
    if (w !== NONE && t.fits(w, t.costOf(s))) {
      step.log.move(s, w, 'adopted');
      adopters.add(w);
    } else {
      if (w !== NONE) step.log.record(s, 'capacity');
      rest[restCount++] = s;
    }
  }
  for (const s of claimed) t.setScratch(s, NONE);
  placeBatch(step, rest.subarray(0, restCount), 'added');
  return adopters;
}
