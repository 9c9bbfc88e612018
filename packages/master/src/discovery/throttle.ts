/**
 * The throttle of discovery updates, shared by the Kubernetes role views and used by the discovery manager.
 *
 * Tasks requested within one interval run together in one turn, at most once per interval: at once (on a timer of
 * 0) when the previous run was due an interval ago or more, else when the interval ends. Intervals count from when
 * a run was due, not from when a busy event loop got to it, as a ticker does (Prometheus' `updatert`): a run that
 * started late does not push every later one back.
 *
 * Why the Kubernetes views and the discovery manager share one: with a throttle each, two views dirtied in the same
 * second (a pod's own group, and the EndpointSlice that lists it) would reach the manager at different moments of
 * its interval, and the second would wait for the manager's next interval, up to a full one after its own; and a
 * manager with an interval of its own, however aligned, waits whenever a view's run started later than the one
 * before. Sharing one, the views rebuild their batches in one run and the manager sends them in the same run.
 */
export class Throttle {
  readonly #intervalMs: number;
  readonly #pending = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  /** When the last run was due. */
  #last = -Infinity;
  #due = 0;
  /** The tasks that ran in the run under way, if one is. */
  #running: Set<() => void> | undefined;
  readonly #now: () => number;

  /** `now` is the clock in ms, `performance.now` unless a test gives its own. */
  constructor(intervalMs: number, now: () => number = () => performance.now()) {
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /**
   * Runs `task` with the others requested before the next run; a task requested twice runs once. A task requested
   * by a task of the run under way joins that run (the discovery manager's send, after the views' batches), unless
   * it ran in it already.
   */
  request(task: () => void): void {
    this.#pending.add(task);
    if (this.#timer !== undefined || this.#running !== undefined) return;
    this.#schedule();
  }

  #schedule(): void {
    const now = this.#now();
    this.#due = Math.max(now, this.#last + this.#intervalMs);
    this.#timer = setTimeout(() => this.#run(), this.#due - now);
  }

  /** Forgets a requested task (its owner stopped). */
  cancel(task: () => void): void {
    this.#pending.delete(task);
    if (this.#pending.size === 0) this.#clear();
  }

  /** Counts the next interval from now: the caller sent an update of its own, outside the throttle. */
  restart(): void {
    this.#last = this.#now();
    if (this.#timer === undefined) return;
    this.#clear();
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const task of pending) this.request(task);
  }

  /** Stops the timer; nothing requested runs. */
  stop(): void {
    this.#pending.clear();
    this.#clear();
  }

  #clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #run(): void {
    this.#timer = undefined;
    this.#last = this.#due;
    const ran = new Set<() => void>();
    this.#running = ran;
    try {
      // A Set's iteration also visits what is added to it meanwhile.
      for (const task of this.#pending) {
        if (ran.has(task)) continue;
        this.#pending.delete(task);
        ran.add(task);
        task();
      }
    } finally {
      this.#running = undefined;
      if (this.#pending.size > 0 && this.#timer === undefined) this.#schedule();
    }
  }
}
