/**
 * Test fixtures for leader election: a clock driven by hand, and an in-memory Lease with the API server's
 * optimistic concurrency (a write with a stale resourceVersion is a 409). Not part of the package's API.
 */
import { ApiError } from '../discovery/kubernetes/client.js';
import type { Clock } from './clock.js';
import type { Lease, LeaseClient, LeaseSpec } from './lease.js';

interface Timer {
  readonly at: number;
  readonly order: number;
  readonly callback: () => void;
}

/** A {@link Clock} that moves only when told; `advance` fires due timers in order and lets promises settle between. */
export class FakeClock implements Clock {
  #now = 0;
  #order = 0;
  readonly #timers = new Set<Timer>();

  constructor(readonly unixOriginMs = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.#now;
  }

  unixNowMs(): number {
    return this.unixOriginMs + this.#now;
  }

  setTimeout(callback: () => void, ms: number): () => void {
    const timer = { at: this.#now + Math.max(0, ms), order: this.#order++, callback };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  /** Moves time forward by `ms`, firing each timer at its time. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      const next = [...this.#timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (next === undefined) break;
      this.#timers.delete(next);
      this.#now = next.at;
      next.callback();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}

/** Lets pending promise chains (fake requests answer at once) run to their next wait. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** One Lease shared by every client made from it; counts requests and can fail them. */
export class FakeLeaseServer {
  #lease: Lease | undefined;
  #version = 0;
  /** Requests by client name and verb. */
  readonly requests: { client: string; verb: 'get' | 'create' | 'update' }[] = [];
  /** While true, every request fails as a network error would. */
  down = false;
  /** While set, requests of this client never answer (until their signal aborts). */
  hanging: string | undefined;

  get lease(): Lease | undefined {
    return this.#lease;
  }

  /** Writes the Lease as another party would (a new resourceVersion). */
  /** Deletes the Lease, as `kubectl delete lease` does. */
  delete(): void {
    this.#lease = undefined;
  }

  write(spec: LeaseSpec): Lease {
    this.#version++;
    this.#lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'lease', namespace: 'ns', resourceVersion: String(this.#version) }, spec };
    return this.#lease;
  }

  /** A client that records its requests under `name`. */
  client(name: string): LeaseClient {
    const call = async <T>(verb: 'get' | 'create' | 'update', signal: AbortSignal, act: () => T): Promise<T> => {
      this.requests.push({ client: name, verb });
      if (this.hanging === name) {
        await new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(new ApiError('aborted', { status: 0 })), { once: true }));
      }
      if (this.down) throw new ApiError(`${verb} lease: connect ECONNREFUSED`, { status: 0 });
      return act();
    };
    return {
      get: (signal) => call('get', signal, () => this.#lease),
      create: (spec, signal) =>
        call('create', signal, () => {
          if (this.#lease !== undefined) throw new ApiError('HTTP 409: leases "lease" already exists', { status: 409 });
          return this.write(spec);
        }),
      update: (lease, signal) =>
        call('update', signal, () => {
          if (this.#lease === undefined) throw new ApiError('HTTP 404: not found', { status: 404 });
          if (lease.metadata.resourceVersion !== this.#lease.metadata.resourceVersion) throw new ApiError('HTTP 409: the object has been modified', { status: 409 });
          return this.write(lease.spec);
        }),
    };
  }

  /** How many requests `client` made. */
  count(client: string): number {
    return this.requests.filter((r) => r.client === client).length;
  }
}
