/**
 * A reflector: one list+watch of one resource kind, kept as a store of slim objects. It is what client-go's
 * reflector is to Prometheus, written for the API server's sake (see docs/discovery.md):
 *
 * - lists with `resourceVersion=0` (served from the watch cache, not etcd) in pages of `limit`;
 * - watches from the list's resourceVersion with `allowWatchBookmarks=true` and a randomised `timeoutSeconds`, and
 *   resumes from the last resourceVersion it saw (bookmarks included) when a watch ends: no relist;
 * - relists only on `410 Gone` (an expired resourceVersion), after a jittered delay;
 * - backs off exponentially with jitter on every error, honouring `Retry-After`, and treats a watch that closes at
 *   once with nothing in it as an error, so a misbehaving server never sees a hot loop;
 * - restarts a watch that has been silent for longer than `inactivityTimeoutMs` (bookmarks count as activity);
 * - skips objects it cannot read, reporting them, and keeps the last good version of an object that turns bad.
 */
import { BadObjectError, type KubernetesKind, type OperatorKind } from './errors.js';
import { ApiError, sleep, type ApiClient, type ApiWatchEvent } from './client.js';

/** A Kubernetes resource as the API paths name it. */
export interface KubeResource {
  readonly kind: KubernetesKind | OperatorKind;
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

/** The resources discovery reads. */
export const kubeResources = {
  pods: { kind: 'Pod', group: '', version: 'v1', plural: 'pods', namespaced: true },
  services: { kind: 'Service', group: '', version: 'v1', plural: 'services', namespaced: true },
  endpoints: { kind: 'Endpoints', group: '', version: 'v1', plural: 'endpoints', namespaced: true },
  endpointslices: { kind: 'EndpointSlice', group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', namespaced: true },
  nodes: { kind: 'Node', group: '', version: 'v1', plural: 'nodes', namespaced: false },
  namespaces: { kind: 'Namespace', group: '', version: 'v1', plural: 'namespaces', namespaced: false },
  ingresses: { kind: 'Ingress', group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', namespaced: true },
  replicasets: { kind: 'ReplicaSet', group: 'apps', version: 'v1', plural: 'replicasets', namespaced: true },
  jobs: { kind: 'Job', group: 'batch', version: 'v1', plural: 'jobs', namespaced: true },
} as const satisfies Record<string, KubeResource>;

/** The collection path: `/api/v1/pods`, `/api/v1/namespaces/shop/pods`, `/apis/discovery.k8s.io/v1/...`. */
export function resourcePath(resource: KubeResource, namespace: string | undefined): string {
  const base = resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
  const ns = resource.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${resource.plural}`;
}

/** Why a watch was restarted, for metrics. */
export type RestartReason = 'closed' | 'error' | 'inactive' | 'expired';

/** What a reflector tells its owner. All callbacks are synchronous and must not throw. */
export interface ReflectorEvents<T> {
  /** `key` (`namespace/name`) changed to `object`, or was deleted (`undefined`). The store is already updated. */
  onChange(key: string, object: T | undefined): void;
  /** The store now holds a complete list (after the first list and after each relist). */
  onSynced?(): void;
  /** An object that could not be read was skipped. */
  onBadObject?(error: BadObjectError): void;
  /** A watch ended and will be restarted, and why. */
  onRestart?(reason: RestartReason, error?: unknown): void;
  /** A full list is about to be made (the first, or after `410 Gone`). */
  onList?(): void;
}

/** How one reflector lists and watches. Times are in ms unless the name says otherwise. */
export interface ReflectorOptions<T> {
  readonly client: ApiClient;
  readonly resource: KubeResource;
  /** One namespace, or all when undefined (or for cluster-scoped kinds). */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Turns an API object into the slim object kept in the store; throws BadObjectError for an unreadable one. */
  readonly convert: (raw: unknown) => T;
  readonly events: ReflectorEvents<T>;
  /** Page size of a list (`limit`); 500 as client-go. */
  readonly pageSize?: number;
  /** `timeoutSeconds` of each watch is drawn from this range, so many watches do not end together. */
  readonly watchTimeoutSeconds?: readonly [min: number, max: number];
  /** A watch with no event or bookmark for this long is presumed dead and restarted. */
  readonly inactivityTimeoutMs?: number;
  /** Upper bound of a list request's wait for its answer. */
  readonly listTimeoutMs?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** A watch that ends sooner than this with no event counts as a failure (and so backs off). */
  readonly minWatchMs?: number;
  readonly random?: () => number;
}

class ExpiredError extends Error {
  override readonly name = 'ExpiredError';
}

interface ObjectMeta {
  readonly key: string;
  readonly resourceVersion: string;
}

/** Reads `namespace/name` and `resourceVersion` from raw API JSON, or undefined when they are missing. */
function metaOf(raw: unknown): ObjectMeta | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const meta = (raw as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const { name, namespace, resourceVersion } = meta as { name?: unknown; namespace?: unknown; resourceVersion?: unknown };
  if (typeof name !== 'string' || name === '') return undefined;
  return { key: `${typeof namespace === 'string' ? namespace : ''}/${name}`, resourceVersion: typeof resourceVersion === 'string' ? resourceVersion : '' };
}

/**
 * One list+watch loop and its store. Create it, read `store` at any time, and `run(signal)` until the signal
 * aborts; `run` only returns then, whatever the API server does.
 */
export class Reflector<T> {
  /** The current objects by `namespace/name` (`/name` for cluster-scoped kinds). Read-only for callers. */
  readonly store = new Map<string, T>();
  readonly #versions = new Map<string, string>();
  #resourceVersion: string | undefined;
  /** The newest resourceVersion seen; kept across a 410, unlike `#resourceVersion`. */
  #lastSeen: string | undefined;
  #failures = 0;
  readonly #o: Required<Omit<ReflectorOptions<T>, 'namespace' | 'labelSelector' | 'fieldSelector'>> & ReflectorOptions<T>;

  constructor(options: ReflectorOptions<T>) {
    this.#o = {
      pageSize: 500,
      watchTimeoutSeconds: [300, 600],
      inactivityTimeoutMs: 5 * 60_000,
      listTimeoutMs: 60_000,
      initialBackoffMs: 800,
      maxBackoffMs: 30_000,
      minWatchMs: 1_000,
      random: Math.random,
      ...options,
    };
  }

  /** The resourceVersion the next watch starts from; undefined before the first list and after a 410. */
  get resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  /** Lists and watches until `signal` aborts. Never rejects for API-server trouble: it backs off and retries. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        if (this.#resourceVersion === undefined) {
          this.#o.events.onList?.();
          await this.#list(signal);
          this.#o.events.onSynced?.();
        }
        const reason = await this.#watch(signal);
        if (signal.aborted) return;
        this.#o.events.onRestart?.(reason);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ExpiredError || (err instanceof ApiError && err.status === 410)) {
          this.#resourceVersion = undefined;
          this.#o.events.onRestart?.('expired', err);
        } else {
          this.#o.events.onRestart?.('error', err);
        }
        await this.#pause(signal, err instanceof ApiError ? err.retryAfterMs : undefined).catch(() => undefined);
      }
    }
  }

  /** Waits the next backoff step: initial·2^(failures−1), capped, drawn from its upper half; at least Retry-After. */
  async #pause(signal: AbortSignal, retryAfterMs: number | undefined): Promise<void> {
    this.#failures++;
    const step = Math.min(this.#o.maxBackoffMs, this.#o.initialBackoffMs * 2 ** (this.#failures - 1));
    // Retry-After is honoured up to the backoff cap: a server asking for days would otherwise overflow setTimeout.
    const delay = Math.max(step / 2 + (step / 2) * this.#o.random(), Math.min(retryAfterMs ?? 0, this.#o.maxBackoffMs));
    await sleep(delay, signal);
  }

  #query(params: Record<string, string | undefined>): string {
    const q = new URLSearchParams();
    if (this.#o.labelSelector) q.set('labelSelector', this.#o.labelSelector);
    if (this.#o.fieldSelector) q.set('fieldSelector', this.#o.fieldSelector);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
    return `${resourcePath(this.#o.resource, this.#o.namespace)}?${q.toString()}`;
  }

  /**
   * A full list, replacing the store and reporting the difference. The first list reads the watch cache
   * (`resourceVersion=0`); a relist after 410 asks for data no older than what this reflector has already seen
   * (`resourceVersionMatch=NotOlderThan`), so a lagging API server behind a load balancer cannot take it back in
   * time, and falls back to the watch cache if that version is gone too.
   */
  async #list(signal: AbortSignal): Promise<void> {
    const fresh = new Map<string, T>();
    const versions = new Map<string, string>();
    let token: string | undefined;
    let listVersion = '';
    const seen = this.#lastSeen;
    const first = seen === undefined ? { resourceVersion: '0' } : { resourceVersion: seen, resourceVersionMatch: 'NotOlderThan' };
    const onItem = (raw: unknown) => {
      const meta = metaOf(raw);
      if (meta === undefined) {
        this.#o.events.onBadObject?.(new BadObjectError({ kind: this.#o.resource.kind, reason: 'metadata.name: missing' }));
        return;
      }
      const known = this.#versions.get(meta.key);
      const current = this.store.get(meta.key);
      if (known === meta.resourceVersion && current !== undefined) {
        fresh.set(meta.key, current);
        versions.set(meta.key, known);
        return;
      }
      const object = this.#convert(raw) ?? current;
      if (object === undefined) return;
      fresh.set(meta.key, object);
      versions.set(meta.key, meta.resourceVersion);
    };
    do {
      let page: Record<string, unknown>;
      try {
        page = await this.#o.client.list(
          this.#query(token === undefined ? { ...first, limit: String(this.#o.pageSize) } : { limit: String(this.#o.pageSize), continue: token }),
          { resource: this.#o.resource.plural, kind: this.#o.resource.kind, signal, timeoutMs: this.#o.listTimeoutMs, onItem },
        );
      } catch (err) {
        // The version we had seen is gone as well (or our continue token expired): next time, start afresh.
        if (err instanceof ApiError && err.status === 410) this.#lastSeen = undefined;
        throw err;
      }
      const metadata = page['metadata'] as { resourceVersion?: unknown; continue?: unknown } | undefined;
      listVersion = typeof metadata?.resourceVersion === 'string' ? metadata.resourceVersion : listVersion;
      token = typeof metadata?.continue === 'string' && metadata.continue !== '' ? metadata.continue : undefined;
    } while (token !== undefined);

    for (const key of [...this.store.keys()]) {
      if (fresh.has(key)) continue;
      this.store.delete(key);
      this.#versions.delete(key);
      this.#o.events.onChange(key, undefined);
    }
    for (const [key, object] of fresh) {
      const changed = this.#versions.get(key) !== versions.get(key) || !this.store.has(key);
      this.store.set(key, object);
      this.#versions.set(key, versions.get(key) ?? '');
      if (changed) this.#o.events.onChange(key, object);
    }
    this.#resourceVersion = listVersion;
    this.#lastSeen = listVersion;
    this.#failures = 0;
  }

  #convert(raw: unknown): T | undefined {
    try {
      return this.#o.convert(raw);
    } catch (err) {
      if (!(err instanceof BadObjectError)) throw err;
      this.#o.events.onBadObject?.(err);
      return undefined;
    }
  }

  /** One watch, until the server ends it, it goes silent, or it fails. Returns why it ended. */
  async #watch(signal: AbortSignal): Promise<RestartReason> {
    const [min, max] = this.#o.watchTimeoutSeconds;
    const timeoutSeconds = Math.floor(min + (max - min + 1) * this.#o.random());
    const watch = new AbortController();
    const stop = () => watch.abort(signal.reason);
    // An owner may abort from a callback (onSynced) just before the watch starts.
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    let inactive = false;
    const arm = () =>
      setTimeout(() => {
        inactive = true;
        watch.abort(new Error('watch inactive'));
      }, this.#o.inactivityTimeoutMs);
    let timer = arm();
    const started = performance.now();
    let events = 0;
    try {
      const path = this.#query({ watch: 'true', resourceVersion: this.#resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) });
      for await (const event of this.#o.client.watch(path, { resource: this.#o.resource.plural, kind: this.#o.resource.kind, signal: watch.signal })) {
        clearTimeout(timer);
        timer = arm();
        events++;
        this.#apply(event);
      }
    } catch (err) {
      if (inactive) return 'inactive';
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
    }
    if (inactive) return 'inactive';
    if (events === 0 && performance.now() - started < this.#o.minWatchMs) {
      throw new ApiError(`watch ${this.#o.resource.plural}: closed at once with no event`, { status: 200 });
    }
    this.#failures = 0;
    return 'closed';
  }

  /** Applies one watch event to the store. */
  #apply(event: ApiWatchEvent): void {
    const { type, object } = event;
    if (type === 'ERROR') {
      const status = object as { code?: unknown; message?: unknown } | undefined;
      if (status?.code === 410) throw new ExpiredError(typeof status.message === 'string' ? status.message : 'resource version expired');
      throw new ApiError(`watch ${this.#o.resource.plural}: ${typeof status?.message === 'string' ? status.message : 'error event'}`, { status: typeof status?.code === 'number' ? status.code : 0 });
    }
    const meta = metaOf(object);
    if (type === 'BOOKMARK') {
      const rv = (object as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata?.resourceVersion;
      if (typeof rv === 'string' && rv !== '') {
        this.#resourceVersion = rv;
        this.#lastSeen = rv;
      }
      return;
    }
    if (meta === undefined) {
      this.#o.events.onBadObject?.(new BadObjectError({ kind: this.#o.resource.kind, reason: `${type} event without metadata.name` }));
      return;
    }
    if (meta.resourceVersion !== '') {
      this.#resourceVersion = meta.resourceVersion;
      this.#lastSeen = meta.resourceVersion;
    }
    if (type === 'DELETED') {
      if (this.store.delete(meta.key)) {
        this.#versions.delete(meta.key);
        this.#o.events.onChange(meta.key, undefined);
      }
      return;
    }
    if (type !== 'ADDED' && type !== 'MODIFIED') return;
    const converted = this.#convert(object);
    if (converted === undefined) return;
    this.store.set(meta.key, converted);
    this.#versions.set(meta.key, meta.resourceVersion);
    this.#o.events.onChange(meta.key, converted);
  }
}
