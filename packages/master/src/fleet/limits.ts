/**
 * The master's connection-rate limit: a token bucket. Every new stream takes one token; tokens come back at
 * `ratePerSecond` up to `burst`. The defaults (`--fleet.max-connection-rate=200`, a burst of five seconds' worth,
 * 1,000) let 1,000 workers reconnect at once after a master restart, and sustain what a larger fleet makes with the
 * workers' reconnect backoff (full jitter up to 10 s: 10,000 workers make about 1,000 attempts a second at first,
 * so the ones refused here come back a little later, spread out by their backoff).
 */

/** Options of {@link TokenBucket}. */
export interface TokenBucketOptions {
  /** Tokens added per second; 0 or less means no limit. */
  readonly ratePerSecond: number;
  /** The most tokens the bucket holds (the largest burst); 5 s worth of `ratePerSecond` by default. */
  readonly burst?: number;
  /** A monotonic clock in ms; `performance.now` by default. */
  readonly now?: () => number;
}

/** A token bucket; starts full. */
export class TokenBucket {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedMs: number;

  constructor(options: TokenBucketOptions) {
    this.#ratePerMs = options.ratePerSecond / 1000;
    this.#burst = Math.max(1, options.burst ?? options.ratePerSecond * 5);
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = this.#burst;
    this.#updatedMs = this.#now();
  }

  /** Takes one token: true when there was one (the connection may go on), false when the limit is hit. */
  take(): boolean {
    if (this.#ratePerMs <= 0) return true;
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#updatedMs) * this.#ratePerMs);
    this.#updatedMs = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
