/** The allocation vocabulary: workers, their limits, the changes an allocator reports, and its typed errors. */
import type { TargetId } from '@promfleet/model';

/** A worker's id: the name it connects with, unique among live workers. */
export type WorkerId = string;

/** Hard limits of one worker. A limit that is not set does not bind. */
export interface WorkerCapacity {
  /** The most targets the worker may hold; a non-negative integer. */
  readonly maxTargets?: number;
  /** The most samples per scrape (sum of target costs) the worker may hold; a non-negative number. */
  readonly maxSamples?: number;
}

/** A live worker as the allocator sees it. */
export interface WorkerInfo {
  readonly id: WorkerId;
  readonly capacity?: WorkerCapacity;
}

/**
 * Why a target's owner changed.
 * - `added`: the target is new and got its first owner.
 * - `removed`: the target left the target set.
 * - `worker-joined`: a new worker took its share, or a target nobody could hold found room on a new worker.
 * - `worker-left`: the target's owner left.
 * - `rebalance`: moved for cost drift, or to give an idle worker a target.
 * - `capacity`: the owner's limits no longer allowed it, or a target nobody could hold found room.
 * - `adopted`: after a master restart, the target stays with the worker that reported holding it.
 */
export type MoveReason = 'added' | 'removed' | 'worker-joined' | 'worker-left' | 'rebalance' | 'capacity' | 'adopted';

/**
 * One change of ownership. `from` is absent when the target had no owner (new, or unassigned), `to` when it has none
 * now (removed, or over every worker's capacity). Applying a call's changes in order to the previous
 * {@link Allocator.assignment} gives the new one; each target appears at most once per call.
 */
export interface Assignment {
  readonly target: TargetId;
  readonly from?: WorkerId;
  readonly to?: WorkerId;
  readonly reason: MoveReason;
}

/** What one worker holds. `cost` is the sum of its targets' costs, in whole samples per scrape. */
export interface WorkerLoad {
  readonly targets: number;
  readonly cost: number;
}

/** Options of {@link Allocator.rebalance}. */
export interface RebalanceOptions {
  /** The most targets this call may move (a non-negative integer); the caller rate-limits calls. */
  readonly moveBudget: number;
  /**
   * How far from the mean cost a worker may be before rebalancing moves anything, as a fraction of the mean;
   * 0.02 by default. Moves happen only while some worker is above `mean·(1+tolerance)` or below
   * `mean·(1−tolerance)`, so a balanced fleet is left alone.
   */
  readonly tolerance?: number;
}

/** A partial change of the target set: new or re-costed targets, and targets that are gone. */
export interface TargetUpdate {
  /** Target id → cost in samples per scrape; an id already known changes only its cost. */
  readonly upsert?: ReadonlyMap<TargetId, number>;
  readonly remove?: Iterable<TargetId>;
}

/** The stable codes of the errors allocation throws. */
export const AllocationErrorCode = {
  invalidInput: 'PROMFLEET_ALLOCATION_INVALID_INPUT',
  notRecovering: 'PROMFLEET_ALLOCATION_NOT_RECOVERING',
} as const;

/** A caller passed something the allocator cannot use: a malformed target id, a bad cost or limit, a duplicate worker. */
export class AllocationInputError extends Error {
  override readonly name = 'AllocationInputError';
  readonly code = AllocationErrorCode.invalidInput;

  constructor(
    /** What was wrong: `target id`, `cost`, `worker id`, `maxTargets`, `maxSamples`, `moveBudget`, `tolerance`, `reserved targets` or `reserved cost`. */
    readonly field: string,
    /** The offending value, as given. */
    readonly value: unknown,
  ) {
    super(`invalid ${field}: ${JSON.stringify(value) ?? String(value)}`);
  }
}

/** {@link Allocator.adopt} was called after the allocator settled: adoption is only for a master that is recovering. */
export class AllocationStateError extends Error {
  override readonly name = 'AllocationStateError';
  readonly code = AllocationErrorCode.notRecovering;

  constructor(readonly operation: string) {
    super(`${operation} is only allowed while the allocator is recovering (before settle())`);
  }
}
