/**
 * What the fleet needs from an allocation strategy (like the OpenTelemetry target allocator's `Strategy`): it owns
 * which worker holds each target, and turns every change of workers, targets, costs and reservations into the owner
 * changes it makes. {@link Allocator} is the implementation; the fleet depends only on this.
 */
import type { TargetId } from '@promfleet/model';
import type { Assignment, RebalanceOptions, TargetUpdate, WorkerId, WorkerInfo, WorkerLoad } from './types.js';

export interface AllocationStrategy {
  /** Whether the strategy is waiting for {@link AllocationStrategy.settle} (a master that just started). */
  readonly recovering: boolean;
  /** Sets the live workers and their limits; returns the owner changes. */
  setWorkers(workers: readonly WorkerInfo[]): Assignment[];
  /** Adds, re-costs and removes targets; returns the owner changes. */
  updateTargets(update: TargetUpdate): Assignment[];
  /** While recovering: what a reconnecting worker holds, replacing its earlier report. */
  adopt(worker: WorkerId, held: Iterable<TargetId>): void;
  /** Ends recovery: reported targets stay with their holders where they can; returns the owner changes. */
  settle(): Assignment[];
  /** Recovers again, as after a start, when no worker is live (it assigns nothing then); false otherwise. */
  recover(): boolean;
  /** Corrects cost drift within a move budget; returns the owner changes. */
  rebalance(options: RebalanceOptions): Assignment[];
  /** Load a worker carries outside the strategy's targets (targets it keeps that cannot be placed): counts, never moves. */
  reserve(worker: WorkerId, load: WorkerLoad): void;
  /** The current owner of every assigned target: a live read-only view. The one place that knows a target's owner. */
  assignment(): ReadonlyMap<TargetId, WorkerId>;
  /** Each live worker's load, reservations included. */
  loads(): Map<WorkerId, WorkerLoad>;
  /** Targets no worker holds. */
  unassigned(): TargetId[];
}
