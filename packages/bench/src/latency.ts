/**
 * From timestamps taken in two processes to change latencies: when the fake API server wrote a pod, and when the
 * master had rebuilt that pod's targets (and when it next told its consumer).
 */
import type { PodWrite } from './protocol.js';

/** Latencies of the pod writes that reached the master, and how many did not. */
export interface ChangeLatencies {
  /** Write → the pod's targets rebuilt, in ms, one per matched write. */
  readonly rebuiltMs: number[];
  /** Write → the first consumer notification at or after the rebuild, in ms, one per matched write. */
  readonly notifiedMs: number[];
  /** Writes with no later rebuild of their pod (the window closed first, or the update was lost). */
  readonly unmatched: number;
}

/** The index of the first value in ascending `sorted` that is at least `at`, or `sorted.length`. */
function firstAtOrAfter(sorted: readonly number[], at: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? Infinity) < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Matches every pod write to the first rebuild of the same pod at or after it. Several writes to one pod that a
 * rebuild coalesces all match that rebuild, each with its own latency: this is the time from a change to the
 * targets reflecting it. Every time must come from `wallClockMs` (measure.ts), in whichever process.
 */
export function changeLatencies(input: {
  readonly writes: readonly PodWrite[];
  readonly rebuilds: readonly PodWrite[];
  readonly notifiedAtMs: readonly number[];
}): ChangeLatencies {
  const rebuildsByKey = new Map<string, number[]>();
  for (const r of input.rebuilds) {
    const list = rebuildsByKey.get(r.key);
    if (list === undefined) rebuildsByKey.set(r.key, [r.atMs]);
    else list.push(r.atMs);
  }
  for (const list of rebuildsByKey.values()) list.sort((a, b) => a - b);
  const notified = [...input.notifiedAtMs].sort((a, b) => a - b);

  const rebuiltMs: number[] = [];
  const notifiedMs: number[] = [];
  let unmatched = 0;
  for (const w of input.writes) {
    const list = rebuildsByKey.get(w.key) ?? [];
    const rebuilt = list[firstAtOrAfter(list, w.atMs)];
    if (rebuilt === undefined) {
      unmatched++;
      continue;
    }
    rebuiltMs.push(rebuilt - w.atMs);
    const told = notified[firstAtOrAfter(notified, rebuilt)];
    if (told !== undefined) notifiedMs.push(told - w.atMs);
  }
  return { rebuiltMs, notifiedMs, unmatched };
}
