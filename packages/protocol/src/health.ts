/**
 * Health reports that fit the gRPC message limit by construction: every error is cut to
 * {@link MAX_ERROR_BYTES}, and a report is split into parts of at most {@link HEALTH_REPORT_PART_BYTES}
 * (`HealthReport.continued`). The worker builds its reports with {@link healthReportParts}; the master
 * cuts a stored error with {@link truncateError} too, whatever a peer sent.
 */
import type { HealthReport, TargetHealth } from './gen/promfleet/fleet/v1/fleet.js';
import { packBySize } from './parts.js';
import { MAX_MESSAGE_BYTES } from './version.js';

/**
 * The longest `TargetHealth.last_error`, in bytes of UTF-8. Prometheus' own errors are a line or two;
 * what runs longer is an echo of the input (an invalid label prints the whole label set, a parse
 * error quotes the line), and the first kilobyte says what went wrong. 100k failing targets then
 * send at most ~110 MB per report instead of whatever the targets answered.
 */
export const MAX_ERROR_BYTES = 1024;

/**
 * The largest health report message a worker sends, in bytes: a quarter of the receive limit, so a
 * report never comes near it and acks and heartbeats are not stuck behind one huge message.
 */
export const HEALTH_REPORT_PART_BYTES = MAX_MESSAGE_BYTES / 4;

/**
 * An upper bound of what a `WorkerMessage` holding a `HealthReport` adds around its entries: the
 * oneof tag and length (1 + 5), the generation (1 + 10) and `continued` (2).
 */
const REPORT_OVERHEAD_BYTES = 19;

/**
 * `text` cut to at most `maxBytes` bytes of UTF-8, ending with `…(N bytes truncated)`; returned as
 * is when it fits. The cut never splits a character: it falls on a UTF-8 sequence boundary, so a
 * surrogate pair or a multibyte character is kept whole or dropped whole. `maxBytes` must leave room
 * for the marker (at least 64).
 */
export function truncateError(text: string, maxBytes: number = MAX_ERROR_BYTES): string {
  // Every UTF-16 unit takes at most 3 bytes: a short string cannot be too long, and needs no count.
  if (text.length * 3 <= maxBytes) return text;
  const total = Buffer.byteLength(text, 'utf8');
  if (total <= maxBytes) return text;
  // The marker's length with the largest N it can show; the actual N has no more digits.
  const keep = maxBytes - Buffer.byteLength(marker(total), 'utf8');
  // A prefix of `maxBytes` units encodes to at least `maxBytes` bytes (more than `keep`), and its
  // last unit, possibly half a surrogate pair, starts at or after byte `maxBytes - 3`: past the cut.
  const head = Buffer.from(text.slice(0, maxBytes), 'utf8');
  let end = keep;
  // Back up over continuation bytes (10xxxxxx) to the start of the character at the cut.
  while (end > 0 && ((head[end] ?? 0) & 0xc0) === 0x80) end--;
  return head.toString('utf8', 0, end) + marker(total - end);
}

function marker(truncatedBytes: number): string {
  return `…(${truncatedBytes} bytes truncated)`;
}

/**
 * An upper bound of one entry's encoded size inside a `HealthReport`, in bytes: each field's tag and
 * widest varint (the id's and the error's lengths, the int64 and uint32 values), plus the entry's own
 * tag and length. Exact for the error's bytes, which dominate.
 */
export function targetHealthMaxBytes(health: TargetHealth): number {
  // entry tag+length 6; id 1+5+n; int64 1+10; double 1+8; two uint32 2·(1+5); bool 2; error 1+5+n.
  return 6 + (6 + health.targetId.length) + 11 + 9 + 12 + 2 + (6 + Buffer.byteLength(health.lastError, 'utf8'));
}

/**
 * The health report of `targets`, split into consecutive parts that each encode, wrapped in a
 * `WorkerMessage`, to at most `partBytes` (default {@link HEALTH_REPORT_PART_BYTES}); `continued` is
 * set on all but the last. Errors longer than {@link MAX_ERROR_BYTES} are cut with
 * {@link truncateError}; the entries are copied when cut, never changed. Always at least one part
 * (an empty report says no target was scraped yet).
 */
export function healthReportParts(options: { readonly generation: number; readonly targets: readonly TargetHealth[]; readonly partBytes?: number }): HealthReport[] {
  const budget = (options.partBytes ?? HEALTH_REPORT_PART_BYTES) - REPORT_OVERHEAD_BYTES;
  const cut = options.targets.map((entry) => {
    const lastError = truncateError(entry.lastError);
    return lastError === entry.lastError ? entry : { ...entry, lastError };
  });
  const parts = packBySize(cut, { sizeOf: targetHealthMaxBytes, budget: () => budget });
  return parts.map((targets, i) => ({ generation: options.generation, targets, continued: i < parts.length - 1 }));
}
