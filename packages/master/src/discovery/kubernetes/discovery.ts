/**
 * Kubernetes discovery at run time: one reflector per planned watch (see watches.ts), shared by every job's
 * `kubernetes_sd_config`, and per SD config a role view that turns the shared stores into target groups.
 *
 * Updates are level-triggered and coalesced, as Prometheus' `process()` and the discovery manager's throttled
 * sender: an event only marks a group source dirty; at most once per `throttleMs` the views rebuild their dirty
 * groups from the current objects and hand them on, all in one turn (they share one throttle: see throttle.ts). A
 * burst of 10,000 events on one pod costs one rebuild of that pod's group. Joins follow the lookups a group
 * actually made: when a group is built, every object it looked up (the pod behind an endpoint, the node of a pod,
 * the namespace) is recorded, and a change to any of them marks the group dirty again — also for lookups that found
 * nothing yet. EndpointSlice and Endpoints groups are rebuilt per endpoint (memo.ts).
 */
import { setMaxListeners } from 'node:events';
import { errorMessage, type KubernetesSDConfig, type TargetGroup } from '@promfleet/model';
import type { Discoverer } from '../discoverer.js';
import { Throttle } from '../throttle.js';
import { whenAborted, type ApiClient } from './client.js';
import type { BadObjectError, KubernetesKind } from './errors.js';
import { kindOfRole, objectGroup, slimConverters } from './groups.js';
import { deletedGroup, groupSource, nodeGroupSource, type DiscoveryContext } from './meta.js';
import { TargetMemo } from './memo.js';
import type { SlimNamespace, SlimNode, SlimObject, SlimPod, SlimService, SlimWorkload } from './objects.js';
import { Reflector, type ReflectorOptions, type RestartReason } from './reflector.js';
import { needKey, needsOf, planWatches, type ServedNeed, type WatchNeed, type WatchSpec } from './watches.js';

/** What Kubernetes discovery reports about itself; the master wires these to its /metrics. */
export interface KubernetesDiscoveryObserver {
  /** A watch ended and will be restarted; `error` says why when it failed (never holding credentials). */
  watchRestarted?(watch: WatchSpec, reason: RestartReason, error?: string): void;
  /** A watch cannot start at all (its connection could not be set up); its jobs stay unsynced. */
  watchFailed?(watch: WatchSpec, error: string): void;
  /** Building a group failed unexpectedly; the group keeps its previous state and is retried on its next change. */
  groupFailed?(source: string, error: string): void;
  listed?(watch: WatchSpec): void;
  badObject?(watch: WatchSpec, error: BadObjectError): void;
  /** Seconds from the first event that dirtied a batch to the batch's groups being handed on. */
  groupsUpdated?(seconds: number, groups: number): void;
}

/** Options of {@link KubernetesDiscovery}. */
export interface KubernetesDiscoveryOptions {
  /** The API client for a connection key (`in-cluster`, `api:<url>`, `kubeconfig:<file>`). */
  readonly clientFor: (connection: string) => ApiClient;
  /** Stands in for `own_namespace: true`: the namespace the master runs in. */
  readonly ownNamespace?: string;
  /** Minimum time between two updates of the views, which share one throttle; 1 s by default. */
  readonly throttleMs?: number;
  /** Reflector tuning (timeouts, backoff); the defaults suit a production API server. */
  readonly reflector?: Partial<Pick<ReflectorOptions<unknown>, 'pageSize' | 'watchTimeoutSeconds' | 'inactivityTimeoutMs' | 'initialBackoffMs' | 'maxBackoffMs' | 'minWatchMs' | 'listTimeoutMs'>>;
  readonly observer?: KubernetesDiscoveryObserver;
}


interface SharedWatch {
  readonly spec: WatchSpec;
  /** Undefined when the watch's connection could not be set up: it never runs, and its views stay unsynced. */
  readonly reflector: Reflector<SlimObject> | undefined;
  synced: boolean;
  /** The views that receive this watch's changes: those it serves now, and those switching to it. */
  readonly views: Set<RoleView>;
  readonly controller: AbortController;
}

/**
 * The master's Kubernetes discovery: {@link discoverer} registers an SD config (before or after `run`), and `run`
 * opens the watches the registered configs need. Each discoverer's `run` starts sending once its watches have listed.
 *
 * At run time the watches follow the configs: registering a config that needs a new watch opens it, and a view
 * whose last subscriber leaves stops, closing the watches no other view needs. A watch whose spec is unchanged keeps
 * running (no relist); a view whose serving changed (a wider watch now covers it, or it lost one) keeps its old
 * watches until the new ones have listed, then rebuilds its groups from them.
 */
export class KubernetesDiscovery {
  readonly #views = new Map<string, RoleView>();
  /** By spec id, which is a function of the watch's spec (see planWatches). */
  readonly #watches = new Map<string, SharedWatch>();
  readonly #clients = new Map<string, ApiClient | undefined>();
  readonly #clientErrors = new Map<string, string>();
  readonly #running = new Set<Promise<void>>();
  /** The signal of `run`, once it started. */
  #signal: AbortSignal | undefined;
  readonly #syncWaiters = new Set<() => void>();
  /**
   * Shared by every view, so that the batches of all views dirtied within one interval go out in the same turn, and
   * by the discovery manager that runs this discovery, which sends them on in that turn.
   */
  readonly throttle: Throttle;

  constructor(private readonly options: KubernetesDiscoveryOptions) {
    this.throttle = new Throttle(options.throttleMs ?? 1000);
  }

  /**
   * A Discoverer for one `kubernetes_sd_config`, registered before or during `run`. Jobs whose SD configs are the
   * same (role, API server and credentials, namespaces, selectors, attach_metadata) share one view: its groups are
   * built once and handed to each of them; only relabeling is per job. A view that has sent its full set gives a
   * new subscriber a full set of its own at once, from the stores: no list.
   */
  discoverer(config: KubernetesSDConfig): Discoverer {
    const { needs, key } = this.#viewOf(config);
    let view = this.#views.get(key);
    if (view === undefined) {
      const created = new RoleView(config, needs, {
        throttle: this.throttle,
        whenSynced: (v, signal) => this.#whenSynced(v, signal),
        idle: (v) => this.#viewIdle(key, v),
        ...(this.options.observer === undefined ? {} : { observer: this.options.observer }),
      });
      this.#views.set(key, created);
      view = created;
      const signal = this.#signal;
      if (signal !== undefined && !signal.aborted) {
        this.#replan(signal);
        this.#track(created.run(signal));
      }
    }
    const shared = view;
    return { run: (signal, update) => shared.subscribe(signal, update), groups: () => shared.groups() };
  }

  /**
   * Before `run`: forgets the views of SD configs not in `configs`. A manager that follows reloads without running
   * (a standby master's) registers a view per SD config it sees; only `run` stops views whose subscribers left.
   */
  retainOnly(configs: Iterable<KubernetesSDConfig>): void {
    if (this.#signal !== undefined) return;
    const keep = new Set([...configs].map((config) => this.#viewOf(config).key));
    for (const key of [...this.#views.keys()]) if (!keep.has(key)) this.#views.delete(key);
  }

  /** How many views wait for their watches' first list. */
  get viewsAwaitingSync(): number {
    return this.#syncWaiters.size;
  }

  #viewOf(config: KubernetesSDConfig): { needs: Map<KubernetesKind, WatchNeed[]>; key: string } {
    const needs = needsOf(config, this.options.ownNamespace === undefined ? {} : { ownNamespace: this.options.ownNamespace });
    return { needs, key: JSON.stringify([config.role, config.attachMetadata.node, config.attachMetadata.namespace, [...needs.values()].flat().map(needKey)]) };
  }

  /** The watches in use (after `run` started): one per kind and scope, however many jobs. */
  get watches(): readonly WatchSpec[] {
    return [...this.#watches.values()].map((w) => w.spec);
  }

  /** How many objects each watch holds now. */
  objectCounts(): { spec: WatchSpec; count: number }[] {
    return [...this.#watches.values()].map((w) => ({ spec: w.spec, count: w.reflector?.store.size ?? 0 }));
  }

  /** Opens the watches of the views registered so far and of those registered later, and keeps them until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    // One listener per watch on the run's signal.
    setMaxListeners(0, signal);
    this.#signal = signal;
    this.#replan(signal);
    for (const view of this.#views.values()) this.#track(view.run(signal));
    for (const wake of [...this.#syncWaiters]) wake();
    await whenAborted(signal);
    while (this.#running.size > 0) await Promise.all([...this.#running]);
    this.throttle.stop();
  }

  #track(running: Promise<void>): void {
    this.#running.add(running);
    void running.finally(() => this.#running.delete(running));
  }

  /**
   * Plans the watches of every live view again and moves to the plan: watches in both plans keep running, new
   * ones open, and the views are (re)connected; watches no view uses any longer stop once their views moved off.
   */
  #replan(signal: AbortSignal): void {
    const views = [...this.#views.values()];
    const { watches, served } = planWatches(views.flatMap((v) => v.needs()));
    for (const spec of watches) if (!this.#watches.has(spec.id)) this.#open(spec, signal);
    for (const view of views) {
      view.plan(
        view.needs().map((need) => {
          const s = served.get(needKey(need));
          const shared = s === undefined ? undefined : this.#watches.get(s.watch.id);
          if (s === undefined || shared === undefined) throw new Error(`no watch planned for ${needKey(need)}`);
          shared.views.add(view);
          return { need, served: s, shared };
        }),
      );
    }
    this.#switchViews();
  }

  /** Moves every view whose planned watches have all listed onto them, then stops the watches nobody uses. */
  #switchViews(): void {
    for (const view of this.#views.values()) view.switchWhenSynced();
    const used = new Set<SharedWatch>();
    for (const view of this.#views.values()) for (const shared of view.watchesInUse()) used.add(shared);
    for (const [id, shared] of this.#watches) {
      for (const view of shared.views) if (!view.uses(shared)) shared.views.delete(view);
      if (used.has(shared)) continue;
      this.#watches.delete(id);
      shared.controller.abort();
    }
  }

  #open(spec: WatchSpec, signal: AbortSignal): void {
    const observer = this.options.observer;
    const controller = new AbortController();
    const stop = () => controller.abort();
    signal.addEventListener('abort', stop, { once: true });
    const client = this.#clientFor(spec);
    const shared: SharedWatch = {
      spec,
      synced: false,
      views: new Set(),
      controller,
      reflector:
        client === undefined
          ? undefined
          : new Reflector<SlimObject>({
              client,
              resource: spec.resource,
              ...(spec.namespace === undefined ? {} : { namespace: spec.namespace }),
              ...(spec.labelSelector === '' ? {} : { labelSelector: spec.labelSelector }),
              ...(spec.fieldSelector === '' ? {} : { fieldSelector: spec.fieldSelector }),
              convert: slimConverters[spec.kind],
              ...this.options.reflector,
              events: {
                onChange: (key) => {
                  for (const view of shared.views) view.objectChanged(spec.kind, key);
                },
                onSynced: () => {
                  shared.synced = true;
                  if (!signal.aborted) this.#switchViews();
                  for (const wake of [...this.#syncWaiters]) wake();
                },
                onRestart: (reason, error) => observer?.watchRestarted?.(spec, reason, error === undefined ? undefined : errorMessage(error)),
                onList: () => observer?.listed?.(spec),
                onBadObject: (err) => observer?.badObject?.(spec, err),
              },
            }),
    };
    this.#watches.set(spec.id, shared);
    const running = shared.reflector?.run(controller.signal) ?? whenAborted(controller.signal);
    this.#track(running.finally(() => signal.removeEventListener('abort', stop)));
  }

  #clientFor(spec: WatchSpec): ApiClient | undefined {
    if (!this.#clients.has(spec.connection)) {
      try {
        this.#clients.set(spec.connection, this.options.clientFor(spec.connection));
      } catch (err) {
        this.#clients.set(spec.connection, undefined);
        this.#clientErrors.set(spec.connection, errorMessage(err));
      }
    }
    const client = this.#clients.get(spec.connection);
    if (client === undefined) this.options.observer?.watchFailed?.(spec, this.#clientErrors.get(spec.connection) ?? 'no API client');
    return client;
  }

  /** A view lost its last subscriber: unless one comes back in the same turn (a reload reusing it), it stops. */
  #viewIdle(key: string, view: RoleView): void {
    const signal = this.#signal;
    if (signal === undefined) return;
    queueMicrotask(() => {
      if (signal.aborted || view.subscribers > 0 || this.#views.get(key) !== view) return;
      this.#views.delete(key);
      view.stop();
      for (const shared of this.#watches.values()) shared.views.delete(view);
      this.#replan(signal);
    });
  }

  /** Resolves when every watch of `view` has listed once, or when `signal` aborts (the view stopped). */
  #whenSynced(view: RoleView, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#syncWaiters.delete(check);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const check = () => {
        if (this.#signal !== undefined && view.isSynced()) done();
      };
      if (signal.aborted) {
        resolve();
        return;
      }
      this.#syncWaiters.add(check);
      signal.addEventListener('abort', done, { once: true });
      check();
    });
  }
}

interface Connected {
  readonly need: WatchNeed;
  readonly served: ServedNeed;
  readonly shared: SharedWatch;
}

/** One SD config's view of the shared stores: its role's groups, rebuilt as objects change, for its subscribers. */
class RoleView {
  readonly #subscribers = new Set<(groups: readonly TargetGroup[]) => void>();
  /** Whether the initial full set has gone out; a subscriber that comes later gets a full set of its own. */
  #started = false;
  readonly #kind: KubernetesKind;
  /** The watches the view builds its groups from. */
  #sources: Connected[] = [];
  /** The watches it moves to once they have all listed, when a replan changed how it is served. */
  #planned: Connected[] | undefined;
  readonly #stopped = new AbortController();
  /** `kind|key` of a looked-up object → the primary keys whose groups looked it up. */
  readonly #dependents = new Map<string, Set<string>>();
  /** primary key → the `kind|key`s its group looked up. */
  readonly #lookups = new Map<string, string[]>();
  readonly #dirty = new Set<string>();
  /** primary key → what its group's last build was made of, for the roles that rebuild a group incrementally. */
  readonly #memos = new Map<string, TargetMemo>();
  /** Primary keys whose last group sent had targets: only those need a deleting group when they go away. */
  readonly #sent = new Set<string>();
  #dirtySince: number | undefined;
  #flush: (() => void) | undefined;

  constructor(
    readonly config: KubernetesSDConfig,
    private readonly needsByKind: Map<KubernetesKind, WatchNeed[]>,
    private readonly options: {
      throttle: Throttle;
      /** Resolves once the view's watches have listed, or when `signal` aborts. */
      whenSynced: (v: RoleView, signal: AbortSignal) => Promise<void>;
      /** The last subscriber left. */
      idle: (v: RoleView) => void;
      observer?: KubernetesDiscoveryObserver;
    },
  ) {
    this.#kind = kindOfRole[config.role];
  }

  needs(): WatchNeed[] {
    return [...this.needsByKind.values()].flat();
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  /**
   * Takes the watches a plan gives the view. The first time, or when the plan serves it as before, at once; else
   * the view keeps building from its current watches until {@link switchWhenSynced} finds the new ones listed.
   */
  plan(sources: Connected[]): void {
    const same = sources.length === this.#sources.length && sources.every((s, i) => s.shared === this.#sources[i]?.shared && s.served.watch.id === this.#sources[i]?.served.watch.id);
    if (same) {
      this.#planned = undefined;
      return;
    }
    if (this.#sources.length === 0 || !this.#started) {
      this.#sources = sources;
      this.#planned = undefined;
      return;
    }
    this.#planned = sources;
  }

  /** Moves to the planned watches once they have all listed, and rebuilds every group from them. */
  switchWhenSynced(): void {
    const planned = this.#planned;
    if (planned === undefined || !planned.every((s) => s.shared.synced)) return;
    this.#planned = undefined;
    this.#sources = planned;
    for (const key of this.#sent) this.#dirty.add(key);
    for (const key of this.#primaryKeys()) this.#dirty.add(key);
    this.#dirtySince ??= performance.now();
    this.#flush?.();
  }

  /** The watches the view builds from or is moving to. */
  watchesInUse(): SharedWatch[] {
    return [...this.#sources, ...(this.#planned ?? [])].map((s) => s.shared);
  }

  uses(shared: SharedWatch): boolean {
    return this.#sources.some((s) => s.shared === shared) || (this.#planned?.some((s) => s.shared === shared) ?? false);
  }

  /** Stops the view's run (it has no subscribers left). */
  stop(): void {
    this.#stopped.abort();
  }

  isSynced(): boolean {
    return this.#sources.length > 0 && this.#sources.every((s) => s.shared.synced);
  }

  /** Called by the shared watch for every change of an object of `kind` it holds. */
  objectChanged(kind: KubernetesKind, key: string): void {
    let touched = false;
    // An object of the primary kind matters if this view selects it now or had sent a group for it: a view that
    // shares a wider watch is not told about every change in the cluster.
    if (kind === this.#kind && (this.#sent.has(key) || this.#get(kind, key) !== undefined)) {
      this.#dirty.add(key);
      touched = true;
    }
    for (const primary of this.#dependents.get(`${kind}|${key}`) ?? []) {
      this.#dirty.add(primary);
      touched = true;
    }
    if (touched) {
      this.#dirtySince ??= performance.now();
      this.#flush?.();
    }
  }

  /** One Discoverer's run: the full set once the view has synced, then every change, until `signal` aborts. */
  async subscribe(signal: AbortSignal, update: (groups: readonly TargetGroup[]) => void): Promise<void> {
    if (signal.aborted) return;
    if (this.#started) update(this.#fullSet());
    this.#subscribers.add(update);
    await whenAborted(signal);
    this.#subscribers.delete(update);
    if (this.#subscribers.size === 0) this.options.idle(this);
  }

  /**
   * The view's non-empty groups, rebuilt one at a time from the objects the shared stores hold now: at least as new
   * as what was sent (a change still waiting for the throttle shows here first). Nothing is recorded: neither the
   * lookups (the next real build of a group records its own) nor what was sent. Empty until the full set went out.
   */
  *groups(): Generator<TargetGroup> {
    if (!this.#started) return;
    for (const key of this.#primaryKeys()) {
      const object = this.#get(this.#kind, key);
      if (object === undefined) continue;
      let group: TargetGroup | undefined;
      try {
        group = objectGroup(object, this.#context((kind, k) => this.#get(kind, k)));
      } catch {
        // The same build fails in #tryBuild, which reports it to the observer; this read-only walk skips the group.
        continue;
      }
      if (group !== undefined && group.targets.length > 0) yield group;
    }
  }

  #send(groups: readonly TargetGroup[]): void {
    for (const update of this.#subscribers) update(groups);
  }

  #fullSet(): TargetGroup[] {
    const all: TargetGroup[] = [];
    for (const key of this.#primaryKeys()) {
      const group = this.#tryBuild(key);
      if (group !== undefined) all.push(group);
    }
    return all;
  }

  /** Builds and sends the groups until `signal` aborts or the view is stopped; started once by KubernetesDiscovery. */
  async run(runSignal: AbortSignal): Promise<void> {
    const signal = AbortSignal.any([runSignal, this.#stopped.signal]);
    await this.options.whenSynced(this, signal);
    if (signal.aborted) return;
    this.#dirty.clear();
    this.#dirtySince = undefined;
    this.#send(this.#fullSet());
    this.#started = true;

    const flushNow = () => {
      const keys = [...this.#dirty];
      this.#dirty.clear();
      const groups = keys.flatMap((k) => this.#tryBuild(k) ?? []);
      const since = this.#dirtySince;
      this.#dirtySince = undefined;
      if (groups.length > 0) this.#send(groups);
      if (since !== undefined) this.options.observer?.groupsUpdated?.((performance.now() - since) / 1000, groups.length);
    };
    this.#flush = () => {
      if (!signal.aborted) this.options.throttle.request(flushNow);
    };
    if (this.#dirty.size > 0) this.#flush();
    await whenAborted(signal);
    this.options.throttle.cancel(flushNow);
    this.#flush = undefined;
  }

  /** {@link #build}, reporting instead of throwing: one bad object never stops discovery. */
  #tryBuild(key: string): TargetGroup | undefined {
    try {
      const group = this.#build(key);
      if (group !== undefined) {
        if (group.targets.length > 0) this.#sent.add(key);
        else this.#sent.delete(key);
      }
      return group;
    } catch (err) {
      this.options.observer?.groupFailed?.(this.#sourceOf(key), errorMessage(err));
      return undefined;
    }
  }

  /** Every primary object this view selects. */
  #primaryKeys(): string[] {
    const keys: string[] = [];
    for (const s of this.#sources) {
      if (s.need.kind !== this.#kind) continue;
      for (const [key, object] of s.shared.reflector?.store ?? []) {
        if (s.served.filter === undefined || s.served.filter(object)) keys.push(key);
      }
    }
    return keys;
  }

  /** The object of `kind` at `key` as this view sees it (its namespaces and selectors), or undefined. */
  #get(kind: KubernetesKind, key: string): SlimObject | undefined {
    for (const s of this.#sources) {
      if (s.need.kind !== kind) continue;
      if (s.need.namespace !== undefined && !key.startsWith(`${s.need.namespace}/`)) continue;
      const object = s.shared.reflector?.store.get(key);
      if (object !== undefined && (s.served.filter === undefined || s.served.filter(object))) return object;
    }
    return undefined;
  }

  /** Rebuilds the group of one primary key, recording what it looks up; a missing object gives the deleting group. */
  #build(key: string): TargetGroup | undefined {
    for (const dep of this.#lookups.get(key) ?? []) {
      const set = this.#dependents.get(dep);
      set?.delete(key);
      if (set?.size === 0) this.#dependents.delete(dep);
    }
    const looked: string[] = [];
    this.#lookups.set(key, looked);
    const object = this.#get(this.#kind, key);
    if (object === undefined) {
      this.#lookups.delete(key);
      this.#memos.delete(key);
      return deletedGroup(this.#sourceOf(key));
    }
    const lookup = (kind: KubernetesKind, k: string): SlimObject | undefined => {
      const dep = `${kind}|${k}`;
      looked.push(dep);
      let set = this.#dependents.get(dep);
      if (set === undefined) this.#dependents.set(dep, (set = new Set()));
      set.add(key);
      return this.#get(kind, k);
    };
    let memo = this.#memos.get(key);
    if (memo === undefined && (object.kind === 'EndpointSlice' || object.kind === 'Endpoints')) this.#memos.set(key, (memo = new TargetMemo()));
    return objectGroup(object, this.#context(lookup), memo);
  }

  /** The lookups a group build makes, each through `lookup` (by kind and `namespace/name` key). */
  #context(lookup: (kind: KubernetesKind, key: string) => SlimObject | undefined): DiscoveryContext {
    return {
      pod: (ns, name) => lookup('Pod', `${ns}/${name}`) as SlimPod | undefined,
      service: (ns, name) => lookup('Service', `${ns}/${name}`) as SlimService | undefined,
      node: (name) => lookup('Node', `/${name}`) as SlimNode | undefined,
      namespace: (name) => lookup('Namespace', `/${name}`) as SlimNamespace | undefined,
      workload: (kind, ns, name) => lookup(kind, `${ns}/${name}`) as SlimWorkload | undefined,
      attachMetadata: this.config.attachMetadata,
    };
  }

  #sourceOf(key: string): string {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    return this.#kind === 'Node' ? nodeGroupSource(name) : groupSource(this.#kind as Exclude<KubernetesKind, 'Node' | 'Namespace' | 'ReplicaSet' | 'Job'>, namespace, name);
  }
}
