/**
 * The fake API server's storage: etcd's part (one global revision, optimistic concurrency, consistent snapshots of
 * recent revisions) and the watch cache's part (a bounded per-resource event history with its "too old" floor).
 *
 * Objects are kept as the JS objects they were written as and never copied on read; every write builds a new
 * object. Serialization happens per response, in the server.
 */
import { randomUUID } from 'node:crypto';
import { jsonEqual, kubeTimestamp, objectKey, type KubeObject, type ObjectMeta, type ObjectRef } from './objects.js';
import { allResources, resourceByKind, resourceByName, type ResourceDescriptor, type ResourceName } from './resources.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  invalid,
  notFound,
  optimisticLockMessage,
  tooOldResourceVersion,
} from './status.js';

/** The kind of a change, as watch events name it. */
export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change to one object, as the watch cache records it (`watchCacheEvent`). */
export interface StoreEvent {
  readonly resourceVersion: number;
  readonly type: StoreEventType;
  readonly key: string;
  /** The object after the change; for DELETED, its last state stamped with the deletion's resourceVersion. */
  readonly object: KubeObject;
  /** The object before the change; undefined for ADDED. */
  readonly previous: KubeObject | undefined;
}

/** Called synchronously, in resourceVersion order, for every change to one resource. */
export type StoreListener = (event: StoreEvent) => void;

/** Conditions a delete must meet (`metav1.Preconditions`). */
export interface DeletePreconditions {
  readonly uid?: string;
  readonly resourceVersion?: string;
}

/** Options of {@link ObjectStore}. */
export interface ObjectStoreOptions {
  /** Events kept per resource for watches that resume from a resourceVersion. Defaults to 1000. */
  readonly historyWindow?: number;
  /** The clock for `creationTimestamp`. Defaults to the system clock. */
  readonly now?: () => Date;
}

/** What {@link ObjectStore.select} returns: one page of objects in key order. */
export interface Selection {
  readonly items: readonly KubeObject[];
  /** The key of the last item returned, where a continuation starts after. */
  readonly lastKey: string | undefined;
  /** Whether any object follows the full page in the scanned range, matching or not (as the cacher decides it). */
  readonly hasMore: boolean;
  /** How many objects follow the page in the range, counted when the caller asked for it. */
  readonly remaining: number | undefined;
}

/** What to select: a key range, an optional past revision, a filter and a page size. */
export interface SelectOptions {
  /** Only keys starting with this prefix (`namespace/` for a namespaced request). */
  readonly prefix: string;
  /** The first key to consider (inclusive); defaults to the start of the range. */
  readonly startKey?: string;
  /** Read the state as of this resourceVersion instead of the current one. */
  readonly atResourceVersion?: number;
  readonly filter: (obj: KubeObject) => boolean;
  readonly limit?: number;
  /** Count the objects after the page (`remainingItemCount`); only meaningful without a filter. */
  readonly countRemaining?: boolean;
}

const nameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** `utilrand.String(5)` as `generateName` uses it: five characters from the alphabet without vowels. */
function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += nameAlphabet.charAt(Math.floor(Math.random() * nameAlphabet.length));
  return s;
}

function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] ?? '') < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The smallest string above every string that starts with `prefix`. */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** One resource's objects, sorted key index and event history. */
class ResourceTable {
  readonly objects = new Map<string, KubeObject>();
  readonly listeners = new Set<StoreListener>();
  /** Undefined after a bulk load; rebuilt by the next read that needs order. */
  private sorted: string[] | undefined = [];
  private events: StoreEvent[] = [];
  private start = 0;
  /** A watch from a resourceVersion below this gets 410: the history no longer holds every event after it. */
  floor: number;

  constructor(
    readonly descriptor: ResourceDescriptor,
    private readonly capacity: number,
    initialResourceVersion: number,
  ) {
    this.floor = initialResourceVersion;
  }

  sortedKeys(): readonly string[] {
    this.sorted ??= [...this.objects.keys()].sort();
    return this.sorted;
  }

  /** Stops maintaining the sorted index until the next read, so a bulk load does not shift the array per key. */
  deferSorting(): void {
    this.sorted = undefined;
  }

  addKey(key: string): void {
    if (this.sorted === undefined) return;
    this.sorted.splice(lowerBound(this.sorted, key), 0, key);
  }

  removeKey(key: string): void {
    if (this.sorted === undefined) return;
    const i = lowerBound(this.sorted, key);
    if (this.sorted[i] === key) this.sorted.splice(i, 1);
  }

  record(event: StoreEvent): void {
    this.events.push(event);
    if (this.events.length - this.start > this.capacity) {
      this.start++;
      // watch_cache.go: once events have left the buffer, the oldest deliverable event is the first one kept.
      this.floor = (this.events[this.start]?.resourceVersion ?? event.resourceVersion) - 1;
      if (this.start >= this.capacity) {
        this.events = this.events.slice(this.start);
        this.start = 0;
      }
    }
    for (const listener of this.listeners) listener(event);
  }

  /** The recorded events after `resourceVersion`, oldest first. */
  eventsAfter(resourceVersion: number): StoreEvent[] {
    let lo = this.start;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.events[mid]?.resourceVersion ?? 0) <= resourceVersion) lo = mid + 1;
      else hi = mid;
    }
    return this.events.slice(lo);
  }

  dropHistory(floor: number): void {
    this.events = [];
    this.start = 0;
    this.floor = floor;
  }
}

/**
 * All objects of the fake cluster and their history. Every write takes the next value of one global
 * resourceVersion counter (etcd's revision), stamps it into `metadata.resourceVersion` and is delivered to the
 * resource's listeners before the write returns.
 *
 * Writes fail with `KubeApiError` exactly as the same write over HTTP: 409 `AlreadyExists`, 409 `Conflict`
 * for a stale `metadata.resourceVersion`, 404 `NotFound`. The store takes ownership of the objects passed in and
 * never mutates them; objects it returns are shared and must not be mutated either.
 */
export class ObjectStore {
  #resourceVersion = 1;
  readonly #tables = new Map<ResourceName, ResourceTable>();
  readonly #waiters = new Set<() => void>();
  readonly #now: () => Date;
  readonly #historyWindow: number;

  constructor(options: ObjectStoreOptions = {}) {
    this.#historyWindow = options.historyWindow ?? 1000;
    if (!Number.isInteger(this.#historyWindow) || this.#historyWindow < 1) {
      throw new RangeError(`historyWindow must be a positive integer, got ${this.#historyWindow}`);
    }
    this.#now = options.now ?? (() => new Date());
    for (const d of allResources()) this.#tables.set(d.name, new ResourceTable(d, this.#historyWindow, this.#resourceVersion));
  }

  /** The current revision: the resourceVersion of the latest write, or 1 before any write. */
  get resourceVersion(): number {
    return this.#resourceVersion;
  }

  /**
   * Creates an object, taking `apiVersion`/`kind` to find its resource. A missing `name` is generated from
   * `generateName`; `uid`, `creationTimestamp` and `generation` are kept when given (so seeded objects stay
   * deterministic) and filled in otherwise.
   *
   * @throws KubeApiError 409 AlreadyExists, 422 Invalid without name or namespace, 400 for an unknown kind.
   */
  create(obj: KubeObject): KubeObject {
    const d = this.#descriptorOf(obj);
    const table = this.#table(d);
    const meta = this.#normalizedMeta(d, obj);
    let name = meta.name ?? '';
    if (name === '') {
      if (meta.generateName === undefined || meta.generateName === '') {
        throw invalid(d, '', { field: 'metadata.name', message: 'Required value: name or generateName is required' });
      }
      do name = meta.generateName + randomSuffix();
      while (table.objects.has(objectKey(meta.namespace, name)));
    }
    const key = objectKey(meta.namespace, name);
    if (table.objects.has(key)) throw alreadyExists(d, name);
    const resourceVersion = this.#nextResourceVersion();
    const created: KubeObject = {
      ...obj,
      metadata: {
        ...meta,
        name,
        uid: meta.uid ?? randomUUID(),
        resourceVersion: String(resourceVersion),
        generation: meta.generation ?? 1,
        creationTimestamp: meta.creationTimestamp ?? kubeTimestamp(this.#now()),
      },
    };
    table.objects.set(key, created);
    table.addKey(key);
    this.#emit(table, { resourceVersion, type: 'ADDED', key, object: created, previous: undefined });
    return created;
  }

  /**
   * Creates many objects at once, each with its own resourceVersion and ADDED event, without keeping the sorted
   * index up to date per object. Use it to seed large clusters.
   *
   * @returns how many objects were created.
   * @throws KubeApiError as {@link create}; objects before the failing one stay created.
   */
  load(objects: Iterable<KubeObject>): number {
    for (const table of this.#tables.values()) table.deferSorting();
    let n = 0;
    for (const obj of objects) {
      this.create(obj);
      n++;
    }
    return n;
  }

  /**
   * Replaces an object. A `metadata.resourceVersion` in `obj` is a precondition: when it is not the stored one the
   * update fails with 409 Conflict, as the real server's optimistic concurrency. Without one the update is
   * unconditional. `uid` and `creationTimestamp` are kept; `generation` grows when `spec` changes. An update that
   * changes nothing writes nothing and returns the stored object with its old resourceVersion.
   *
   * @throws KubeApiError 404 NotFound (unless the resource allows create-on-update), 409 Conflict.
   */
  update(obj: KubeObject): KubeObject {
    const d = this.#descriptorOf(obj);
    const table = this.#table(d);
    const meta = this.#normalizedMeta(d, obj);
    const name = meta.name ?? '';
    const key = objectKey(meta.namespace, name);
    const old = table.objects.get(key);
    if (old === undefined) {
      if (d.allowCreateOnUpdate && meta.resourceVersion === undefined) return this.create(obj);
      throw notFound(d, name);
    }
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '' && meta.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(d, name, optimisticLockMessage);
    }
    const kept: ObjectMeta = {
      ...meta,
      uid: old.metadata.uid ?? '',
      creationTimestamp: old.metadata.creationTimestamp ?? '',
      resourceVersion: old.metadata.resourceVersion ?? '',
      generation: old.metadata.generation ?? 1,
    };
    const candidate: KubeObject = { ...obj, metadata: kept };
    if (jsonEqual(candidate, old)) return old;
    const resourceVersion = this.#nextResourceVersion();
    const generation = (old.metadata.generation ?? 1) + (jsonEqual(obj['spec'], old['spec']) ? 0 : 1);
    const updated: KubeObject = { ...obj, metadata: { ...kept, resourceVersion: String(resourceVersion), generation } };
    table.objects.set(key, updated);
    this.#emit(table, { resourceVersion, type: 'MODIFIED', key, object: updated, previous: old });
    return updated;
  }

  /**
   * Changes an object through `change`, which gets the stored object and returns the new one (for patches and
   * read-modify-write helpers). The result goes through {@link update}, so a resourceVersion the function leaves in
   * place is the precondition and a changed name is rejected.
   *
   * @throws KubeApiError 404 NotFound, 409 Conflict, 400 when `change` renames the object.
   */
  modify(ref: ObjectRef, change: (current: KubeObject) => KubeObject): KubeObject {
    const current = this.get(ref);
    const d = this.#descriptorByName(ref.resource);
    if (current === undefined) throw notFound(d, ref.name);
    const next = change(current);
    if (next.metadata.name !== current.metadata.name || (next.metadata.namespace ?? '') !== (current.metadata.namespace ?? '')) {
      throw badRequest(`the name or namespace of ${ref.name} cannot be changed`);
    }
    if (next.apiVersion !== current.apiVersion || next.kind !== current.kind) {
      throw badRequest(`the kind of ${ref.name} cannot be changed`);
    }
    return this.update(next);
  }

  /**
   * Deletes an object at once (no graceful deletion, no finalizers) and emits DELETED with its last state stamped
   * with the deletion's resourceVersion.
   *
   * @throws KubeApiError 404 NotFound, 409 Conflict when a precondition does not hold.
   */
  delete(ref: ObjectRef, preconditions: DeletePreconditions = {}): KubeObject {
    const d = this.#descriptorByName(ref.resource);
    const table = this.#table(d);
    const key = objectKey(d.namespaced ? ref.namespace : undefined, ref.name);
    const old = table.objects.get(key);
    if (old === undefined) throw notFound(d, ref.name);
    if (preconditions.uid !== undefined && preconditions.uid !== old.metadata.uid) {
      throw conflict(d, ref.name, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${old.metadata.uid ?? ''}`);
    }
    if (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(
        d,
        ref.name,
        `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion ?? ''}`,
      );
    }
    const resourceVersion = this.#nextResourceVersion();
    const final: KubeObject = { ...old, metadata: { ...old.metadata, resourceVersion: String(resourceVersion) } };
    table.objects.delete(key);
    table.removeKey(key);
    this.#emit(table, { resourceVersion, type: 'DELETED', key, object: final, previous: old });
    return final;
  }

  /** The stored object, or undefined. */
  get(ref: ObjectRef): KubeObject | undefined {
    const d = this.#descriptorByName(ref.resource);
    return this.#table(d).objects.get(objectKey(d.namespaced ? ref.namespace : undefined, ref.name));
  }

  /** The stored objects of a resource, in key order, optionally of one namespace. */
  list(resource: string, namespace?: string): KubeObject[] {
    const d = this.#descriptorByName(resource);
    return [...this.select(d, { prefix: namespace === undefined ? '' : objectKey(namespace, ''), filter: () => true }).items];
  }

  /** How many objects of a resource are stored. */
  count(resource: string): number {
    return this.#table(this.#descriptorByName(resource)).objects.size;
  }

  /**
   * Forgets every event: a watch from any resourceVersion older than the current one gets 410 Expired, and so does
   * a list continuation started before now. This is what an etcd compaction plus a watch-cache re-initialisation
   * (an API server restart) look like to clients.
   */
  compact(): void {
    for (const table of this.#tables.values()) table.dropHistory(this.#resourceVersion);
  }

  /**
   * Removes every object without events, as a wiped etcd. The resourceVersion counter keeps counting, so no client
   * is told an old revision is new again.
   */
  clear(): void {
    for (const table of this.#tables.values()) {
      table.objects.clear();
      table.deferSorting();
      table.dropHistory(this.#resourceVersion);
    }
  }

  /**
   * Selects one page of objects of `d` in key order, from the current state or from an earlier revision. An
   * earlier revision is rebuilt from the event history: the value of each key changed since is the `previous` of the
   * first event after that revision.
   *
   * @throws KubeApiError 410 Expired when `atResourceVersion` is older than the history reaches.
   */
  select(d: ResourceDescriptor, options: SelectOptions): Selection {
    const table = this.#table(d);
    const { prefix } = options;
    const startKey = options.startKey !== undefined && options.startKey > prefix ? options.startKey : prefix;
    const keys = table.sortedKeys();
    const at = options.atResourceVersion;
    let overlay: Map<string, KubeObject | undefined> | undefined;
    let extra: string[] = [];
    if (at !== undefined && at < this.#resourceVersion) {
      if (at < table.floor) throw expired('The resourceVersion for the provided list is too old.');
      overlay = new Map();
      for (const event of table.eventsAfter(at)) if (!overlay.has(event.key)) overlay.set(event.key, event.previous);
      extra = [...overlay.keys()].filter((k) => !table.objects.has(k) && k >= startKey && k.startsWith(prefix)).sort();
    }
    const valueOf = (key: string): KubeObject | undefined => (overlay?.has(key) ? overlay.get(key) : table.objects.get(key));

    let i = lowerBound(keys, startKey);
    let j = 0;
    const nextKey = (): string | undefined => {
      const a = keys[i];
      const inRange = a !== undefined && a.startsWith(prefix);
      const b = extra[j];
      if (!inRange && b === undefined) return undefined;
      if (!inRange || (b !== undefined && b < a)) {
        j++;
        return b;
      }
      i++;
      return a;
    };

    const items: KubeObject[] = [];
    let lastKey: string | undefined;
    let hasMore = false;
    for (let key = nextKey(); key !== undefined; key = nextKey()) {
      const obj = valueOf(key);
      if (obj === undefined) continue;
      // cacher.go GetList: reaching any object past a full page is how a continuation is known to be needed.
      if (options.limit !== undefined && items.length >= options.limit) {
        hasMore = true;
        break;
      }
      if (!options.filter(obj)) continue;
      items.push(obj);
      lastKey = key;
    }
    let remaining: number | undefined;
    if (options.countRemaining === true && hasMore) {
      if (overlay === undefined) {
        // The current state has no holes: the keys left in the range are the count (one was already taken).
        remaining = 1 + (prefix === '' ? keys.length : lowerBound(keys, prefixEnd(prefix))) - i;
      } else {
        remaining = 1;
        for (let key = nextKey(); key !== undefined; key = nextKey()) if (valueOf(key) !== undefined) remaining++;
      }
    }
    return { items, lastKey, hasMore, remaining };
  }

  /**
   * The recorded events of `d` after `resourceVersion`, oldest first.
   *
   * @throws KubeApiError 410 Expired (`too old resource version: N (M)`) when the history no longer reaches back.
   */
  eventsAfter(d: ResourceDescriptor, resourceVersion: number): StoreEvent[] {
    const table = this.#table(d);
    if (resourceVersion < table.floor) throw tooOldResourceVersion(resourceVersion, table.floor);
    return table.eventsAfter(resourceVersion);
  }

  /** Registers a listener for every later change of `d`; returns the function that removes it. */
  subscribe(d: ResourceDescriptor, listener: StoreListener): () => void {
    const table = this.#table(d);
    table.listeners.add(listener);
    return () => table.listeners.delete(listener);
  }

  /**
   * Resolves true once the store's resourceVersion reaches `resourceVersion`, or false after `timeoutMs` or when
   * `signal` aborts. The real server waits the same way (3 s) before answering a too-new resourceVersion with 504.
   */
  async waitFor(resourceVersion: number, options: { readonly timeoutMs: number; readonly signal: AbortSignal }): Promise<boolean> {
    if (this.#resourceVersion >= resourceVersion) return true;
    return new Promise<boolean>((resolve) => {
      const finish = (reached: boolean): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        options.signal.removeEventListener('abort', onAbort);
        resolve(reached);
      };
      const check = (): void => {
        if (this.#resourceVersion >= resourceVersion) finish(true);
      };
      const onAbort = (): void => finish(false);
      const timer = setTimeout(() => finish(false), options.timeoutMs);
      this.#waiters.add(check);
      options.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #nextResourceVersion(): number {
    this.#resourceVersion++;
    return this.#resourceVersion;
  }

  #emit(table: ResourceTable, event: StoreEvent): void {
    table.record(event);
    for (const waiter of [...this.#waiters]) waiter();
  }

  #table(d: ResourceDescriptor): ResourceTable {
    const table = this.#tables.get(d.name);
    if (table === undefined) throw badRequest(`the fake API server does not serve ${d.name}`);
    return table;
  }

  #descriptorByName(resource: string): ResourceDescriptor {
    const d = resourceByName(resource);
    if (d === undefined) throw badRequest(`the fake API server does not serve resource ${JSON.stringify(resource)}`);
    return d;
  }

  #descriptorOf(obj: KubeObject): ResourceDescriptor {
    const d = resourceByKind(obj.apiVersion, obj.kind);
    if (d === undefined) throw badRequest(`the fake API server does not serve apiVersion ${JSON.stringify(obj.apiVersion)} kind ${JSON.stringify(obj.kind)}`);
    return d;
  }

  /** Namespaced objects must name a namespace; cluster-scoped ones lose any they carry (`rest.BeforeCreate`). */
  #normalizedMeta(d: ResourceDescriptor, obj: KubeObject): ObjectMeta {
    const { namespace, ...rest } = obj.metadata;
    if (!d.namespaced) return rest;
    if (namespace === undefined || namespace === '') {
      throw invalid(d, obj.metadata.name ?? '', { field: 'metadata.namespace', message: 'Required value' });
    }
    return { ...rest, namespace };
  }
}
