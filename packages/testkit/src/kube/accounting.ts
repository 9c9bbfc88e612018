/** Request counting by client, verb and resource: how tests check that a component is gentle with the API server. */
import type { Verb } from './routing.js';

/** One row of request counts. */
export interface RequestCount {
  /** The request's `User-Agent` header ('' when absent). */
  readonly userAgent: string;
  readonly verb: Verb;
  /** `pods`, `pods/status`, or the path of a non-resource request such as `/version`. */
  readonly resource: string;
  readonly count: number;
}

/** Counts requests; rows come back sorted by user agent, resource and verb. */
export class RequestLog {
  readonly #counts = new Map<string, { userAgent: string; verb: Verb; resource: string; count: number }>();

  /** Counts one request. */
  record(userAgent: string, verb: Verb, resource: string): void {
    const key = `${userAgent}\u0000${verb}\u0000${resource}`;
    const row = this.#counts.get(key);
    if (row === undefined) this.#counts.set(key, { userAgent, verb, resource, count: 1 });
    else row.count++;
  }

  /** The counts so far, as fresh rows. */
  rows(): RequestCount[] {
    return [...this.#counts.values()]
      .map((row) => ({ ...row }))
      .sort((a, b) => a.userAgent.localeCompare(b.userAgent) || a.resource.localeCompare(b.resource) || a.verb.localeCompare(b.verb));
  }

  /** Forgets all counts. */
  reset(): void {
    this.#counts.clear();
  }
}
