/**
 * Measuring helpers: a wall clock shared by processes, order statistics, and a process's memory and CPU as the
 * kernel reports them in `/proc` (the same reading for a Node child and for vmagent).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * The shared benchmark folder (harness, payloads, generators) that sits beside the repository checkout, as
 * `../shared/bench` from its root; from `src/` and `dist/` alike.
 */
export const SHARED_BENCH_DIR = fileURLToPath(new URL('../../../../shared/bench', import.meta.url));

/**
 * Milliseconds since the epoch with sub-millisecond resolution. Every process on the machine derives it from the
 * same system clock, so times taken in the fake API server's process and in the master's can be subtracted.
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The `q` quantile (0..1) of `values` by the nearest-rank method, or undefined for no values. Nearest rank, so a
 * p99 is always a value that was observed.
 */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be within [0, 1], got ${q}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}

/** The median of `values` (the mean of the middle two for an even count), or undefined for no values. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid];
  const lower = sorted[sorted.length % 2 === 0 ? mid - 1 : mid];
  return upper === undefined || lower === undefined ? undefined : (upper + lower) / 2;
}

/** A process's memory as `/proc/<pid>/status` reports it. */
export interface ProcMemory {
  /** Resident set size now (`VmRSS`). */
  readonly rssBytes: number;
  /** The peak resident set size so far (`VmHWM`). */
  readonly peakRssBytes: number;
}

/** Reads `VmRSS` and `VmHWM` (kB) from the text of `/proc/<pid>/status`. */
export function parseProcStatus(text: string): ProcMemory {
  const kb = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
    if (match?.[1] === undefined) throw new Error(`/proc status has no ${field}`);
    return Number(match[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** The memory of process `pid` now. */
export async function procMemory(pid: number): Promise<ProcMemory> {
  return parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
}

/**
 * User plus system CPU seconds of a process (all its threads), from the text of `/proc/<pid>/stat`: fields 14 and
 * 15 in clock ticks. The command name (field 2) may hold spaces and parentheses, so fields are counted after its
 * closing parenthesis.
 */
export function parseProcStatCpuSeconds(text: string, ticksPerSecond: number): number {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name, field 3 (state) is at index 0, so utime (14) and stime (15) are at 11 and 12.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('/proc stat has no utime/stime');
  return (utime + stime) / ticksPerSecond;
}

/** Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`), 100 on every Linux architecture Node runs on. */
const userHz = 100;

/** CPU seconds process `pid` has used so far. */
export async function procCpuSeconds(pid: number): Promise<number> {
  return parseProcStatCpuSeconds(await readFile(`/proc/${pid}/stat`, 'utf8'), userHz);
}

/**
 * The heap in use after a full garbage collection, when Node runs with `--expose-gc` (two passes, so objects
 * freed by finalizers of the first go too); undefined without it.
 */
export function heapUsedAfterGc(): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return undefined;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
