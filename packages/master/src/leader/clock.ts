/**
 * The time leader election runs on, injectable so that tests drive it by hand (fixtures.ts `FakeClock`): a
 * monotonic clock for every duration the election measures, the wall clock only for the times it writes into the
 * Lease for people to read.
 */

/** Monotonic milliseconds, timers on them, and the wall clock. */
export interface Clock {
  /** Monotonic milliseconds (any origin): observed times and deadlines. */
  now(): number;
  /** Unix milliseconds: the Lease's `acquireTime` and `renewTime`, which no one compares across clocks. */
  unixNowMs(): number;
  /** Calls `callback` once after `ms`; the returned function cancels it. The timer keeps no process alive. */
  setTimeout(callback: () => void, ms: number): () => void;
}

/** The process's clocks: `performance.now`, `Date.now`, unref'd timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  unixNowMs: () => Date.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** Resolves after `ms` on `clock`, or at once (resolving, not rejecting) when `signal` aborts. */
export function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = () => {
      cancel();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const cancel = clock.setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
