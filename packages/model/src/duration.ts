/**
 * Prometheus durations (`model.Duration` in prometheus/common `model/time.go`): `1y2w3d4h5m6s7ms`, units from
 * largest to smallest, each at most once, `0` without a unit. promfleet keeps durations as milliseconds.
 */

/** A duration string that Prometheus would reject. */
export class DurationError extends Error {
  override readonly name = 'DurationError';
  readonly code = 'PROMFLEET_INVALID_DURATION';
  constructor(
    message: string,
    readonly input: string,
  ) {
    super(message);
  }
}

const MS_PER = { y: 365 * 24 * 3600_000, w: 7 * 24 * 3600_000, d: 24 * 3600_000, h: 3600_000, m: 60_000, s: 1000, ms: 1 } as const;
type Unit = keyof typeof MS_PER;
const UNIT_ORDER: readonly Unit[] = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
/** Go's time.Duration is int64 nanoseconds; Prometheus rejects anything beyond it. */
const MAX_MS = Number((2n ** 63n - 1n) / 1_000_000n);

function isUnit(u: string): u is Unit {
  return Object.hasOwn(MS_PER, u);
}

/**
 * Parses a Prometheus duration into milliseconds.
 *
 * @throws DurationError naming the input, with Prometheus' reason (empty, not a valid duration, unknown unit,
 *   out of range).
 */
export function parseDuration(input: string): number {
  if (input === '0') return 0;
  if (input === '') throw new DurationError('empty duration string', input);
  const part = /([0-9]+)([^0-9]*)/y;
  let total = 0;
  let lastUnit = -1;
  let pos = 0;
  while (pos < input.length) {
    part.lastIndex = pos;
    const m = part.exec(input);
    const digits = m?.[1];
    const unit = m?.[2];
    if (m === null || digits === undefined || unit === undefined || unit === '') {
      throw new DurationError(`not a valid duration string: ${JSON.stringify(input)}`, input);
    }
    if (!isUnit(unit)) throw new DurationError(`unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(input)}`, input);
    const order = UNIT_ORDER.indexOf(unit);
    if (order <= lastUnit) throw new DurationError(`not a valid duration string: ${JSON.stringify(input)}`, input);
    lastUnit = order;
    total += Number(digits) * MS_PER[unit];
    if (!Number.isSafeInteger(total) || total > MAX_MS) throw new DurationError(`duration out of range: ${JSON.stringify(input)}`, input);
    pos = part.lastIndex;
  }
  return total;
}

/**
 * Formats milliseconds as Prometheus' `Duration.String()` does: `0s` for zero; years and weeks only when they
 * divide the remainder exactly (`90d`, not `12w6d`); then d, h, m, s, ms.
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of UNIT_ORDER) {
    const mult = MS_PER[unit];
    if ((unit === 'y' || unit === 'w') && rest % mult !== 0) continue;
    const v = Math.floor(rest / mult);
    if (v > 0) {
      out += `${v}${unit}`;
      rest -= v * mult;
    }
  }
  return out;
}
