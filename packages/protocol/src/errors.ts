/**
 * Errors for malformed protocol values. Each failure has its own class with a stable `code`, so
 * callers branch on the code rather than on message text.
 */

/** Stable codes of this package's errors, one per failure. */
export const ProtocolErrorCode = {
  invalidTargetId: 'PROMFLEET_PROTOCOL_INVALID_TARGET_ID',
  duplicateLabel: 'PROMFLEET_PROTOCOL_DUPLICATE_LABEL',
} as const;

/** The union of this package's error codes. */
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

/**
 * A target id that is not 16 lowercase hex digits (TypeScript side) or not exactly 8 bytes (wire
 * side). `received` describes the offending value: the string itself, or the byte length.
 */
export class InvalidTargetIdError extends Error {
  override readonly name = 'InvalidTargetIdError';
  readonly code = ProtocolErrorCode.invalidTargetId;

  /** Creates the error for the value described by `received`. */
  constructor(
    message: string,
    readonly received: string,
  ) {
    super(message);
  }
}

/**
 * A label set on the wire that names the same label twice. A Prometheus label set has at most one
 * value per name, so the message cannot be turned into `Labels` without losing data.
 */
export class DuplicateLabelError extends Error {
  override readonly name = 'DuplicateLabelError';
  readonly code = ProtocolErrorCode.duplicateLabel;

  /** Creates the error for the label called `labelName`. */
  constructor(readonly labelName: string) {
    super(`label ${JSON.stringify(labelName)} appears more than once; a label set has one value per name`);
  }
}
