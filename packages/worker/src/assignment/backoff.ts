/**
 * The reconnect delay of the assignment client: exponential backoff with full jitter.
 */

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry after a failure): a uniformly random time in
 * `[0, min(maxMs, initialMs · 2^attempt))`, from `random` (a `Math.random` stand-in returning values in [0, 1)).
 *
 * Full jitter rather than grpc-js' ±20 % (`backoff-timeout.ts`): when the master goes away, a thousand workers lose
 * their streams at the same instant, and only a delay drawn from the whole window keeps them from coming back in
 * lockstep (the "full jitter" of AWS' "Exponential Backoff And Jitter").
 */
export function backoffDelayMs(options: {
  readonly attempt: number;
  readonly initialMs: number;
  readonly maxMs: number;
  readonly random: () => number;
}): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** options.attempt);
  return Math.floor(options.random() * ceiling);
}
