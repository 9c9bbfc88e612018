/**
 * Errors for assignment messages the worker cannot apply. Each failure has its own class with a stable `code`, so
 * callers branch on the code rather than on message text. Neither error ever carries a message's content beyond
 * field names, generations and target ids: fleet messages hold secrets.
 */

/** Stable codes of the assignment errors, one per failure. */
export const AssignmentErrorCode = {
  outOfSync: 'PROMFLEET_WORKER_ASSIGNMENT_OUT_OF_SYNC',
  protocol: 'PROMFLEET_WORKER_ASSIGNMENT_PROTOCOL',
  partialSnapshotTooLarge: 'PROMFLEET_WORKER_PARTIAL_SNAPSHOT_TOO_LARGE',
} as const;

/** The union of the assignment error codes. */
export type AssignmentErrorCode = (typeof AssignmentErrorCode)[keyof typeof AssignmentErrorCode];

/**
 * A delta built on a generation the worker does not hold: the worker missed something. docs/protocol.md: the worker
 * ignores the delta, closes the stream and reconnects, and the new stream starts from what it holds.
 */
export class AssignmentOutOfSyncError extends Error {
  override readonly name = 'AssignmentOutOfSyncError';
  readonly code = AssignmentErrorCode.outOfSync;
  /** The generation the worker holds. */
  readonly heldGeneration: number;
  /** The generation the rejected delta was built on. */
  readonly baseGeneration: number;

  /** Creates the error for a delta based on `baseGeneration` while the worker holds `heldGeneration`. */
  constructor(options: { readonly heldGeneration: number; readonly baseGeneration: number; readonly generation: number }) {
    super(
      `assignment delta to generation ${options.generation} is based on generation ${options.baseGeneration}, ` +
        `but the worker holds generation ${options.heldGeneration}`,
    );
    this.heldGeneration = options.heldGeneration;
    this.baseGeneration = options.baseGeneration;
  }
}

/**
 * An assignment message that breaks the protocol's rules (a malformed target id, an unspecified removal reason, a
 * duplicate label, a target id twice, a target of an unknown job, a generation going back). `field` names the
 * offending field as a path of proto field names, for example `assignment_delta.added_targets[2].labels`.
 */
export class AssignmentProtocolError extends Error {
  override readonly name = 'AssignmentProtocolError';
  readonly code = AssignmentErrorCode.protocol;

  /** Creates the error for `field`, with `problem` saying what is wrong with it. */
  constructor(
    readonly field: string,
    problem: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`${field}: ${problem}`, options);
  }
}

/**
 * A snapshot arriving in parts (`continued`) that outgrew what the worker buffers before the last part: a master
 * that never ends its snapshot, or sends one far beyond any real assignment, cannot grow the worker without bound.
 * The parts received are dropped; the worker keeps its last applied assignment and reconnects.
 */
export class PartialSnapshotTooLargeError extends Error {
  override readonly name = 'PartialSnapshotTooLargeError';
  readonly code = AssignmentErrorCode.partialSnapshotTooLarge;
  /** The generation of the dropped snapshot. */
  readonly generation: number;
  /** The estimated bytes its parts held, the offending part included. */
  readonly bytes: number;
  /** The limit it exceeded, in estimated bytes. */
  readonly limitBytes: number;

  /** Creates the error for snapshot `generation` whose parts reached `bytes`, above `limitBytes`. */
  constructor(options: { readonly generation: number; readonly bytes: number; readonly limitBytes: number; readonly parts: number }) {
    super(
      `snapshot ${options.generation} in parts holds about ${options.bytes} bytes after ${options.parts} parts, ` +
        `more than the ${options.limitBytes} bytes a worker buffers before the last part; dropped`,
    );
    this.generation = options.generation;
    this.bytes = options.bytes;
    this.limitBytes = options.limitBytes;
  }
}
