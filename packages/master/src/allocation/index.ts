/**
 * Target allocation: which worker scrapes which target. Deterministic, balanced on cost, minimal movement, with
 * worker limits and adoption after a master restart. Pure: no I/O, no timers.
 */
export { Allocator, type AllocatorOptions } from './allocator.js';
export type { AllocationStrategy } from './strategy.js';
export {
  AllocationErrorCode,
  AllocationInputError,
  AllocationStateError,
  type Assignment,
  type MoveReason,
  type RebalanceOptions,
  type TargetUpdate,
  type WorkerCapacity,
  type WorkerId,
  type WorkerInfo,
  type WorkerLoad,
} from './types.js';
