import type { TargetId } from '@promfleet/model';
import { InvalidTargetIdError } from './errors.js';

/** A target id in TypeScript: the 64-bit identity hash as 16 lowercase hex digits. */
const targetIdPattern = /^[0-9a-f]{16}$/;

/** The length of a target id on the wire: one big-endian 64-bit integer. */
const targetIdByteLength = 8;

/**
 * Converts a target id from its TypeScript form (16 lowercase hex digits, as `targetId` in
 * @promfleet/model produces) to the 8 big-endian bytes the fleet protocol carries.
 *
 * Uppercase digits are rejected rather than folded: ids are compared as strings everywhere else,
 * so a second spelling of the same id would be a different target.
 *
 * @throws InvalidTargetIdError if `hex` is not exactly 16 lowercase hex digits.
 * @returns A new array owned by the caller.
 */
export function targetIdToBytes(hex: string): Uint8Array {
  if (!targetIdPattern.test(hex)) {
    throw new InvalidTargetIdError(
      `target id ${JSON.stringify(hex)} is not 16 lowercase hex digits`,
      hex,
    );
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/**
 * Converts a target id from the wire (exactly 8 bytes, big-endian) to its TypeScript form, 16
 * lowercase hex digits.
 *
 * @throws InvalidTargetIdError if `bytes` is not exactly 8 bytes long.
 */
export function targetIdFromBytes(bytes: Uint8Array): TargetId {
  if (bytes.length !== targetIdByteLength) {
    throw new InvalidTargetIdError(
      `target id has ${bytes.length} bytes; the fleet protocol carries exactly ${targetIdByteLength}`,
      `${bytes.length} bytes`,
    );
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
