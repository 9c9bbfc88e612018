/**
 * One `coordination.k8s.io/v1` Lease over the API: GET, POST (create) and PUT (update, guarded by the Lease's
 * resourceVersion, so a write based on a stale read fails with 409 Conflict). The connection (server, TLS,
 * credentials read per request) is the one discovery uses (`kubeconfigConnection`); nothing here logs a header.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { errorMessage } from '@promfleet/model';
import { ApiError, type ApiConnection } from '../discovery/kubernetes/client.js';

/** The fields of a Lease's spec that leader election reads and writes (client-go's `LeaderElectionRecord`). */
export interface LeaseSpec {
  /** Who holds the Lease; empty or absent when no one does (released). */
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  /** RFC 3339 with microseconds (`MicroTime`). */
  readonly acquireTime?: string;
  readonly renewTime?: string;
  /** How many times the holder changed: the basis of the leader term. */
  readonly leaseTransitions?: number;
}

/** A Lease as the API server returns it; fields this code does not know are kept and sent back on update. */
export interface Lease {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string; readonly resourceVersion: string } & Readonly<Record<string, unknown>>;
  readonly spec: LeaseSpec;
}

/** Where the Lease is: `namespace/name`. */
export interface LeaseRef {
  readonly namespace: string;
  readonly name: string;
}

/** One Lease request, for metrics: the verb and the HTTP status (0: no response). */
export interface LeaseRequestRecord {
  readonly verb: 'get' | 'create' | 'update';
  readonly status: number;
}

/**
 * Reads and writes one Lease. Every method rejects with an {@link ApiError} (`status` 409 for a conflict, 0 for a
 * network error or an aborted request) when the API server does not do what was asked.
 */
export interface LeaseClient {
  /** The Lease, or undefined when it does not exist (404). */
  get(signal: AbortSignal): Promise<Lease | undefined>;
  /** Creates the Lease with `spec`; 409 when it exists already. */
  create(spec: LeaseSpec, signal: AbortSignal): Promise<Lease>;
  /** Replaces the Lease; 409 when its resourceVersion is no longer the stored one. */
  update(lease: Lease, signal: AbortSignal): Promise<Lease>;
}

/** Parses `NAMESPACE/NAME` (both DNS labels or subdomains, as Kubernetes names are); throws a RangeError naming the fault. */
export function parseLeaseRef(text: string): LeaseRef {
  const parts = text.split('/');
  const name = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
  const namespace = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
  if (parts.length !== 2 || !namespace.test(parts[0] ?? '') || !name.test(parts[1] ?? '')) {
    throw new RangeError(`want NAMESPACE/NAME (lowercase letters, digits and "-"; "." too in the name), got ${JSON.stringify(text)}`);
  }
  return { namespace: parts[0] ?? '', name: parts[1] ?? '' };
}

/** Options of {@link KubeLeaseClient}. */
export interface KubeLeaseClientOptions {
  readonly connection: ApiConnection;
  readonly lease: LeaseRef;
  /** Each request's timeout, besides its signal; 10 s by default. */
  readonly timeoutMs?: number;
  readonly onRequest?: (record: LeaseRequestRecord) => void;
}

/** A {@link LeaseClient} over HTTP(S) to an API server. */
export class KubeLeaseClient implements LeaseClient {
  readonly #collection: string;
  readonly #path: string;

  constructor(private readonly options: KubeLeaseClientOptions) {
    const { namespace, name } = options.lease;
    this.#collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
    this.#path = `${this.#collection}/${encodeURIComponent(name)}`;
  }

  async get(signal: AbortSignal): Promise<Lease | undefined> {
    const res = await this.#send({ verb: 'get', method: 'GET', path: this.#path, signal });
    if (res.status === 404) return undefined;
    return this.#lease(res, 200);
  }

  async create(spec: LeaseSpec, signal: AbortSignal): Promise<Lease> {
    const { namespace, name } = this.options.lease;
    const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec };
    return this.#lease(await this.#send({ verb: 'create', method: 'POST', path: this.#collection, body, signal }), 201);
  }

  async update(lease: Lease, signal: AbortSignal): Promise<Lease> {
    return this.#lease(await this.#send({ verb: 'update', method: 'PUT', path: this.#path, body: lease, signal }), 200);
  }

  #lease(res: { status: number; body: string }, expected: number): Lease {
    const what = `lease ${this.options.lease.namespace}/${this.options.lease.name}`;
    if (res.status !== expected) throw new ApiError(`${what}: HTTP ${res.status}: ${statusMessage(res.body)}`, { status: res.status });
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body);
    } catch (err) {
      throw new ApiError(`${what}: the answer is not JSON: ${errorMessage(err)}`, { status: res.status, cause: err });
    }
    return asLease(parsed, what, res.status);
  }

  async #send(request: { verb: LeaseRequestRecord['verb']; method: string; path: string; body?: unknown; signal: AbortSignal }): Promise<{ status: number; body: string }> {
    const { connection } = this.options;
    const url = new URL(request.path, connection.server);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const fail = (err: unknown): ApiError => new ApiError(`${request.verb} lease ${this.options.lease.namespace}/${this.options.lease.name}: ${errorMessage(err)}`, { status: 0, cause: err });
    let base;
    try {
      base = await connection.requestOptions();
    } catch (err) {
      throw fail(err);
    }
    const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          ...base,
          method: request.method,
          signal: request.signal,
          headers: {
            ...base.headers,
            accept: 'application/json',
            'user-agent': connection.userAgent,
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          this.options.onRequest?.({ verb: request.verb, status });
          res.setEncoding('utf8');
          let body = '';
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status, body }));
          res.on('error', (err) => reject(fail(err)));
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
      req.on('error', (err) => {
        this.options.onRequest?.({ verb: request.verb, status: 0 });
        reject(fail(err));
      });
      req.end(payload);
    });
  }
}

/** A Status object's message, or the body's start when it is none. */
function statusMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // Not a Status object: its start says enough.
  }
  return body.slice(0, 200);
}

/** Checks the shape leader election relies on: metadata with a resourceVersion, and a spec object. */
function asLease(value: unknown, what: string, status: number): Lease {
  const bad = (why: string) => new ApiError(`${what}: the answer is not a Lease: ${why}`, { status });
  if (typeof value !== 'object' || value === null) throw bad('not an object');
  const { metadata, spec } = value as { metadata?: unknown; spec?: unknown };
  if (typeof metadata !== 'object' || metadata === null || typeof (metadata as { resourceVersion?: unknown }).resourceVersion !== 'string') throw bad('no metadata.resourceVersion');
  if (spec !== undefined && (typeof spec !== 'object' || spec === null)) throw bad('spec is not an object');
  const s = (spec ?? {}) as Record<string, unknown>;
  const optional = (key: string, type: 'string' | 'number') => {
    if (s[key] !== undefined && s[key] !== null && typeof s[key] !== type) throw bad(`spec.${key} is not a ${type}`);
  };
  optional('holderIdentity', 'string');
  optional('leaseDurationSeconds', 'number');
  optional('leaseTransitions', 'number');
  optional('acquireTime', 'string');
  optional('renewTime', 'string');
  return { ...(value as Lease), spec: s };
}
