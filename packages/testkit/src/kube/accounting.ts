/**
 * Request counting by client, verb and resource: how tests check that a component is gentle with the API server.
 * Beside the counts, the response body bytes the server wrote to each client (as written to the socket, without
 * headers and chunk framing); a watch's bytes count as they are written.
 */
import type { ServerResponse } from 'node:http';
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

/** One row of traffic: requests and the response body bytes written for them. */
export interface TrafficRow {
  readonly userAgent: string;
  readonly verb: Verb;
  readonly resource: string;
  readonly requests: number;
  readonly responseBytes: number;
  /** Watch events written (bookmarks and ERROR events included); 0 for other verbs. */
  readonly watchEvents: number;
}

/** Where one request's response bytes and watch events are counted. */
export interface TrafficCounter {
  bytes(n: number): void;
  watchEvents(n: number): void;
}

interface Row {
  readonly userAgent: string;
  readonly verb: Verb;
  readonly resource: string;
  count: number;
  responseBytes: number;
  watchEvents: number;
}

function byClientAndResource(a: { userAgent: string; resource: string; verb: Verb }, b: { userAgent: string; resource: string; verb: Verb }): number {
  return a.userAgent.localeCompare(b.userAgent) || a.resource.localeCompare(b.resource) || a.verb.localeCompare(b.verb);
}

/** Counts requests and response bytes; rows come back sorted by user agent, resource and verb. */
export class RequestLog {
  readonly #rows = new Map<string, Row>();

  /** Counts one request; the returned counter adds to the same row (and does nothing after a reset). */
  record(userAgent: string, verb: Verb, resource: string): TrafficCounter {
    const key = `${userAgent}\u0000${verb}\u0000${resource}`;
    let row = this.#rows.get(key);
    if (row === undefined) {
      row = { userAgent, verb, resource, count: 0, responseBytes: 0, watchEvents: 0 };
      this.#rows.set(key, row);
    }
    row.count++;
    const counted = row;
    const live = () => this.#rows.get(key) === counted;
    return {
      bytes: (n) => {
        if (live()) counted.responseBytes += n;
      },
      watchEvents: (n) => {
        if (live()) counted.watchEvents += n;
      },
    };
  }

  /** The counts so far, as fresh rows. */
  rows(): RequestCount[] {
    return [...this.#rows.values()].map(({ userAgent, verb, resource, count }) => ({ userAgent, verb, resource, count })).sort(byClientAndResource);
  }

  /** Requests and response bytes so far, as fresh rows. */
  traffic(): TrafficRow[] {
    return [...this.#rows.values()]
      .map(({ userAgent, verb, resource, count, responseBytes, watchEvents }) => ({ userAgent, verb, resource, requests: count, responseBytes, watchEvents }))
      .sort(byClientAndResource);
  }

  /** Forgets all counts; bytes still being written for earlier requests are not counted any more. */
  reset(): void {
    this.#rows.clear();
  }
}

function chunkBytes(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

/** Makes every body write of `res` (`write` and `end`) report its byte count to `onBytes`. */
export function countResponseBytes(res: ServerResponse, onBytes: (bytes: number) => void): void {
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.write = ((...args: unknown[]) => {
    onBytes(chunkBytes(args[0], args[1]));
    return write(...args);
  }) as typeof res.write;
  res.end = ((...args: unknown[]) => {
    if (typeof args[0] !== 'function') onBytes(chunkBytes(args[0], args[1]));
    return end(...args);
  }) as typeof res.end;
}
