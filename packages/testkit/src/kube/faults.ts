/**
 * Request faults a test switches on: failing the next requests with 500 or 429, and added latency. Each returns a
 * `Disposable`, so `using fault = api.faults.failNext(…)` scopes it to a block; `clear()` removes them all.
 */
import type { Verb } from './routing.js';
import { internalError, tooManyRequests, type KubeApiError } from './status.js';

/** Which requests a fault applies to; an omitted field matches every request. */
export interface RequestMatch {
  readonly verb?: Verb;
  /** A resource such as `pods` (which also matches its subresources, `pods/status`). */
  readonly resource?: string;
}

/** Options of `failNext`. */
export interface FailNextOptions extends RequestMatch {
  /** How many matching requests fail. */
  readonly count: number;
  /** 500 answers `InternalError`; 429 answers `TooManyRequests` with a `Retry-After` header. */
  readonly status: 500 | 429;
  /** The `Retry-After` of a 429, in seconds. Defaults to 1. */
  readonly retryAfterSeconds?: number;
}

/** Options of `addLatency`. */
export interface LatencyOptions extends RequestMatch {
  /** Delay before the server starts handling each matching request. */
  readonly delayMs: number;
}

/** What the fault injector decided for one request. */
export interface FaultDecision {
  readonly delayMs: number;
  readonly error: KubeApiError | undefined;
}

interface FailRule extends FailNextOptions {
  remaining: number;
}

function matches(rule: RequestMatch, verb: Verb, resource: string): boolean {
  if (rule.verb !== undefined && rule.verb !== verb) return false;
  return rule.resource === undefined || rule.resource === resource || resource.startsWith(`${rule.resource}/`);
}

/** Holds the active request faults and decides, per request, whether it is delayed or fails. */
export class FaultInjector {
  readonly #failures = new Set<FailRule>();
  readonly #latencies = new Set<LatencyOptions>();

  /** Makes the next `count` matching requests fail. */
  failNext(options: FailNextOptions): Disposable {
    if (!Number.isInteger(options.count) || options.count < 1) throw new RangeError(`count must be a positive integer, got ${options.count}`);
    const rule: FailRule = { ...options, remaining: options.count };
    this.#failures.add(rule);
    return { [Symbol.dispose]: () => this.#failures.delete(rule) };
  }

  /** Delays every matching request by `delayMs` until disposed. */
  addLatency(options: LatencyOptions): Disposable {
    const rule = { ...options };
    this.#latencies.add(rule);
    return { [Symbol.dispose]: () => this.#latencies.delete(rule) };
  }

  /** Removes every fault. */
  clear(): void {
    this.#failures.clear();
    this.#latencies.clear();
  }

  /** The decision for one request; a matching failure rule is used up by it. */
  decide(verb: Verb, resource: string): FaultDecision {
    let delayMs = 0;
    for (const rule of this.#latencies) if (matches(rule, verb, resource)) delayMs += rule.delayMs;
    for (const rule of this.#failures) {
      if (!matches(rule, verb, resource)) continue;
      rule.remaining--;
      if (rule.remaining <= 0) this.#failures.delete(rule);
      const error = rule.status === 429 ? tooManyRequests(rule.retryAfterSeconds ?? 1) : internalError('injected fault');
      return { delayMs, error };
    }
    return { delayMs, error: undefined };
  }
}
