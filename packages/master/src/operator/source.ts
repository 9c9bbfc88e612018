/**
 * The live source of prometheus-operator jobs: one cluster-wide list+watch per kind (ServiceMonitor, PodMonitor,
 * Probe, ScrapeConfig) and one of Namespaces, each a shared {@link Reflector}; the Secrets and ConfigMaps the
 * selected resources reference are read with GET, never watched (a master that watched every Secret of a cluster
 * would hold them all). Every change regenerates the whole job list, at most once per `throttleMs`, and hands it to
 * `onJobs` when it differs from the last one.
 *
 * Referenced Secrets and ConfigMaps are read when first needed, read again when any operator resource of their
 * namespace changes (a changed reference, or a resource re-applied after its Secret was rotated), and every
 * `assetRefreshMs` (5 minutes by default), so a rotated Secret reaches the workers within that period.
 *
 * A kind whose CRD is not installed (404 on list), or whose list the master's RBAC forbids (403), counts as having no
 * resources: it is logged once, and its reflector keeps retrying with backoff, so installing the CRD or granting the
 * rule later needs no restart. Namespaces are listed only when a namespace selector needs their labels. Any other
 * failure (5xx, network, API server down) holds the first job list back until the kind is listed: jobs generated
 * without a kind's resources would make the workers drop their targets.
 */
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Gauge, type Registry } from 'prom-client';
import { errorMessage, type GlobalConfig, type ScrapeConfig } from '@promfleet/model';
import { ApiError, sleep, type ApiClient } from '../discovery/kubernetes/client.js';
import { BadObjectError } from '../discovery/kubernetes/errors.js';
import { slimNamespace, type SlimNamespace } from '../discovery/kubernetes/objects.js';
import { kubeResources, Reflector, type KubeResource, type ReflectorOptions } from '../discovery/kubernetes/reflector.js';
import type { FleetLinkOptions } from '../fleet/link.js';
import { globalSection } from './decode.js';
import { internalErrorReason, operatorJobs, type OperatorJobs } from './jobs.js';
import { BadResourceError, operatorKinds, ResourceRejectedError, readAssetData, readOperatorResource, type AssetLookup, type AssetRef, type OperatorKind, type OperatorResource } from './resource.js';
import type { OperatorSelection } from './selection.js';

/** A log record: level, message, fields (never secret values). */
export type OperatorLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Readonly<Record<string, string | number>>) => void;

/** A selected resource that could not be turned into scrape jobs, for the status page. */
export interface RejectedOperatorResource {
  readonly kind: OperatorKind;
  readonly namespace: string;
  readonly name: string;
  readonly reason: string;
  /** When this resource version was first rejected for this reason. */
  readonly sinceUnixMs: number;
}

/**
 * How a kind's list/watch went last: `pending` until its first answer, `listed`, `forbidden` (403: the master's
 * RBAC lacks list/watch on it) or `absent` (404: its CRD is not installed). The last two count as no resources.
 */
export type OperatorKindState = 'pending' | 'listed' | 'forbidden' | 'absent';

/** Options of {@link OperatorJobSource}. */
export interface OperatorJobSourceOptions {
  readonly client: ApiClient;
  readonly selection: OperatorSelection;
  /** The global section of promfleet's config, which the generated jobs inherit from. */
  readonly global: GlobalConfig;
  /** The master's namespace (the Prometheus resource's namespace when its file names none). */
  readonly ownNamespace?: string;
  /** The fleet link: resources whose Secrets it would not keep are rejected (see `OperatorJobsInput.fleetLink`). */
  readonly fleetLink?: FleetLinkOptions;
  readonly log: OperatorLog;
  /** Where `promfleet_operator_resources` is registered; none when undefined. */
  readonly registry?: Registry;
  /** Least time between two regenerations. Default 1 s. */
  readonly throttleMs?: number;
  /** How often referenced Secrets and ConfigMaps are read again. Default 5 min. */
  readonly assetRefreshMs?: number;
  readonly now?: () => number;
  /** Reflector tuning (backoff, timeouts), for tests. */
  readonly reflector?: Pick<ReflectorOptions<unknown>, 'initialBackoffMs' | 'maxBackoffMs' | 'watchTimeoutSeconds' | 'random'>;
}

/** The API resource of each kind. */
export const operatorResources: Readonly<Record<OperatorKind, KubeResource>> = {
  ServiceMonitor: { kind: 'ServiceMonitor', group: 'monitoring.coreos.com', version: 'v1', plural: 'servicemonitors', namespaced: true },
  PodMonitor: { kind: 'PodMonitor', group: 'monitoring.coreos.com', version: 'v1', plural: 'podmonitors', namespaced: true },
  Probe: { kind: 'Probe', group: 'monitoring.coreos.com', version: 'v1', plural: 'probes', namespaced: true },
  ScrapeConfig: { kind: 'ScrapeConfig', group: 'monitoring.coreos.com', version: 'v1alpha1', plural: 'scrapeconfigs', namespaced: true },
};

interface AssetEntry {
  /** The object's keys and values; undefined when it does not exist or could not be read. */
  readonly data: ReadonlyMap<string, string> | undefined;
  /** Why reading it failed unexpectedly (a bug): the resources that reference it are rejected with this reason. */
  readonly internalError?: string;
  readonly fetchedAtMs: number;
  stale: boolean;
}

interface RejectionRecord {
  readonly version: string;
  readonly reason: string;
  readonly sinceUnixMs: number;
}

const assetKey = (ref: Pick<AssetRef, 'kind' | 'namespace' | 'name'>): string => `${ref.kind}/${ref.namespace}/${ref.name}`;

/** Wakes the run loop when something changed. */
class Wakeup {
  #pending = false;
  #resolve: (() => void) | undefined;

  notify(): void {
    this.#pending = true;
    this.#resolve?.();
  }

  /** Resolves at the next notification (at once if one is pending), after `timeoutMs`, or when `signal` aborts. */
  async wait(signal: AbortSignal, timeoutMs: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return;
    }
    const nudged = new Promise<void>((resolve) => (this.#resolve = resolve));
    await Promise.race([nudged, sleep(timeoutMs, signal).catch(() => undefined)]);
    this.#resolve = undefined;
    this.#pending = false;
  }
}

/**
 * Watches prometheus-operator resources and turns them into scrape jobs. `run(signal, onJobs)` until the signal
 * aborts; `rejected()` lists the selected resources that could not be turned into jobs.
 */
export class OperatorJobSource {
  readonly #o: OperatorJobSourceOptions;
  readonly #now: () => number;
  readonly #reflectors = new Map<OperatorKind, Reflector<OperatorResource>>();
  readonly #namespaces: Reflector<SlimNamespace>;
  /** Whether some kind's namespace selector needs namespace labels; only then are Namespaces listed. */
  readonly #needsNamespaces: boolean;
  #namespacesSynced = false;
  #namespacesForbiddenLogged = false;
  readonly #states = new Map<OperatorKind, OperatorKindState>(operatorKinds.map((k) => [k, 'pending']));
  /** The kinds whose absence or 403 has been logged since they were last listed. */
  readonly #unlistedLogged = new Set<OperatorKind>();
  /** The last list/watch error logged per kind, so that a failing one is logged when it starts or changes. */
  readonly #lastError = new Map<OperatorKind, string>();
  readonly #assets = new Map<string, AssetEntry>();
  readonly #rejections = new Map<string, RejectionRecord & { resource: OperatorResource }>();
  readonly #wakeup = new Wakeup();
  readonly #gauge: Gauge<'kind' | 'state'> | undefined;
  #assetsRefreshedAtMs = 0;
  #global: GlobalConfig;

  constructor(options: OperatorJobSourceOptions) {
    this.#o = options;
    this.#global = options.global;
    this.#now = options.now ?? Date.now;
    const tuning = options.reflector ?? {};
    for (const kind of operatorKinds) {
      this.#reflectors.set(
        kind,
        new Reflector<OperatorResource>({
          ...tuning,
          client: options.client,
          resource: operatorResources[kind],
          convert: (raw) => {
            try {
              return readOperatorResource(kind, raw);
            } catch (err) {
              // Skipped as unreadable either way: one resource that trips a bug must not stop the kind's list.
              throw new BadObjectError({ kind, reason: err instanceof BadResourceError ? err.message : internalErrorReason(err, 'reading the resource') });
            }
          },
          events: {
            onChange: (key) => this.#resourceChanged(key),
            onSynced: () => this.#settled(kind, 'listed'),
            onBadObject: (err) => options.log('warn', 'operator resource skipped: unreadable', { kind, err: err.message }),
            onRestart: (_reason, err) => this.#restarted(kind, err),
          },
        }),
      );
    }
    this.#namespaces = new Reflector<SlimNamespace>({
      ...tuning,
      client: options.client,
      resource: kubeResources.namespaces,
      convert: slimNamespace,
      events: {
        onChange: () => this.#wakeup.notify(),
        onSynced: () => {
          this.#namespacesSynced = true;
          this.#namespacesForbiddenLogged = false;
          this.#wakeup.notify();
        },
        onRestart: (reason, err) => this.#namespacesRestarted(reason, err),
      },
    });
    this.#needsNamespaces = operatorKinds.some((kind) => {
      const { resources, namespaces } = options.selection.kinds[kind];
      return resources !== undefined && namespaces !== 'own' && namespaces.requirements.length > 0;
    });
    this.#gauge =
      options.registry === undefined
        ? undefined
        : new Gauge({
            name: 'promfleet_operator_resources',
            help: 'prometheus-operator resources the selection picked (state="selected"), and of those the ones that could not be turned into scrape jobs (state="rejected"), by kind.',
            labelNames: ['kind', 'state'],
            registers: [options.registry],
          });
  }

  /** A reloaded config's global section: the jobs are generated again with it (and handed on if they change). */
  setGlobal(global: GlobalConfig): void {
    this.#global = global;
    this.#wakeup.notify();
  }

  /** How each kind's list/watch went last (see {@link OperatorKindState}). */
  kindStates(): Readonly<Record<OperatorKind, OperatorKindState>> {
    return Object.fromEntries(operatorKinds.map((k) => [k, this.#states.get(k) ?? 'pending'])) as Record<OperatorKind, OperatorKindState>;
  }

  /** The selected resources that could not be turned into jobs, and why (never a secret value). */
  rejected(): RejectedOperatorResource[] {
    return [...this.#rejections.values()].map((r) => ({ kind: r.resource.kind, namespace: r.resource.namespace, name: r.resource.name, reason: r.reason, sinceUnixMs: r.sinceUnixMs }));
  }

  /**
   * Watches until `signal` aborts, calling `onJobs` with the whole generated job list once every kind has been
   * listed (or found not installed or forbidden) and, when a namespace selector needs them, Namespaces too; then
   * whenever it changes. Never rejects, neither for API-server trouble nor for one resource that cannot be handled.
   */
  async run(outer: AbortSignal, onJobs: (jobs: readonly ScrapeConfig[]) => void): Promise<void> {
    // Five reflectors and this loop listen on one signal: more than Node's default warning threshold.
    const inner = new AbortController();
    setMaxListeners(32, inner.signal);
    const stop = () => inner.abort(outer.reason);
    if (outer.aborted) stop();
    else outer.addEventListener('abort', stop, { once: true });
    const signal = inner.signal;
    const reflectors: { run(signal: AbortSignal): Promise<void> }[] = [...this.#reflectors.values()];
    if (this.#needsNamespaces) reflectors.push(this.#namespaces);
    const watching = reflectors.map((r) => r.run(signal));
    const throttleMs = this.#o.throttleMs ?? 1000;
    const refreshMs = this.#o.assetRefreshMs ?? 5 * 60_000;
    let lastFingerprint: string | undefined;
    let lastBuildMs = -Infinity;
    this.#assetsRefreshedAtMs = this.#now();
    while (!signal.aborted) {
      await this.#wakeup.wait(signal, refreshMs);
      if (signal.aborted) break;
      if (!this.#ready()) continue;
      const wait = lastBuildMs + throttleMs - this.#now();
      if (wait > 0) await sleep(wait, signal).catch(() => undefined);
      if (signal.aborted) break;
      if (this.#now() - this.#assetsRefreshedAtMs >= refreshMs) {
        for (const entry of this.#assets.values()) entry.stale = true;
        this.#assetsRefreshedAtMs = this.#now();
      }
      lastBuildMs = this.#now();
      const built = await this.#build(signal);
      if (built === undefined) break;
      this.#report(built);
      // The jobs change with their mappings and with the global section they inherit from.
      const inherited = globalSection(this.#global, this.#o.selection.global);
      const fingerprint = createHash('sha256').update(JSON.stringify([inherited, built.rawJobs])).digest('hex');
      if (fingerprint !== lastFingerprint) {
        lastFingerprint = fingerprint;
        onJobs(built.jobs);
      }
    }
    await Promise.all(watching);
    outer.removeEventListener('abort', stop);
  }

  /** Whether every kind has answered (listed, absent or forbidden), and Namespaces have been listed if needed. */
  #ready(): boolean {
    return [...this.#states.values()].every((s) => s !== 'pending') && (!this.#needsNamespaces || this.#namespacesSynced);
  }

  #settled(kind: OperatorKind, state: Exclude<OperatorKindState, 'pending'>): void {
    this.#states.set(kind, state);
    if (state === 'listed') {
      this.#lastError.delete(kind);
      this.#unlistedLogged.delete(kind);
    }
    this.#wakeup.notify();
  }

  #restarted(kind: OperatorKind, err: unknown): void {
    const status = err instanceof ApiError ? err.status : undefined;
    if (status === 404 || status === 403) {
      if (!this.#unlistedLogged.has(kind)) {
        this.#unlistedLogged.add(kind);
        const r = operatorResources[kind];
        this.#o.log(
          'warn',
          status === 404
            ? `operator: ${r.plural}.${r.group}/${r.version} is not served (CRD not installed?); no ${kind} resources until it is, retrying`
            : `operator: list/watch on ${r.group} ${r.plural} is forbidden: grant it (deploy/operator/rbac.yaml) or leave ${kind} out of --operator.config; no ${kind} resources until then, retrying`,
          { kind },
        );
      }
      this.#settled(kind, status === 404 ? 'absent' : 'forbidden');
      return;
    }
    if (err === undefined) return;
    const message = errorMessage(err);
    if (this.#lastError.get(kind) === message) return;
    this.#lastError.set(kind, message);
    this.#o.log('warn', 'operator: list/watch failed; retrying with backoff', { kind, err: message });
  }

  #namespacesRestarted(reason: string, err: unknown): void {
    if (err === undefined) return;
    if (err instanceof ApiError && err.status === 403) {
      if (this.#namespacesForbiddenLogged) return;
      this.#namespacesForbiddenLogged = true;
      this.#o.log('warn', 'operator: list/watch on namespaces is forbidden: grant it (deploy/operator/rbac.yaml) or use namespace selectors without labels; no operator jobs until then, retrying');
      return;
    }
    this.#o.log('warn', 'operator: namespaces list/watch failed; retrying', { reason, err: errorMessage(err) });
  }

  /** A resource changed: its namespace's Secrets and ConfigMaps are read again at the next build. */
  #resourceChanged(key: string): void {
    const namespace = key.slice(0, key.indexOf('/'));
    for (const [k, entry] of this.#assets) if (k.split('/')[1] === namespace) entry.stale = true;
    this.#wakeup.notify();
  }

  #lookup(missing: Map<string, AssetRef>, used: Set<string>): AssetLookup {
    return (ref) => {
      const key = assetKey(ref);
      used.add(key);
      const entry = this.#assets.get(key);
      if (entry === undefined || entry.stale) missing.set(key, ref);
      if (entry?.internalError !== undefined) throw new ResourceRejectedError(entry.internalError);
      return entry?.data?.get(ref.key);
    };
  }

  /** Generates the jobs; reads the Secrets and ConfigMaps they need first, then generates again. */
  async #build(signal: AbortSignal): Promise<OperatorJobs | undefined> {
    const resources = [...this.#reflectors.values()].flatMap((r) => [...r.store.values()]);
    const namespaceLabels = (ns: string) => this.#namespaces.store.get(`/${ns}`)?.meta.labels;
    const generate = (lookup: AssetLookup) =>
      operatorJobs({
        resources,
        namespaceLabels,
        lookup,
        selection: this.#o.selection,
        global: this.#global,
        ownNamespace: this.#o.ownNamespace,
        ...(this.#o.fleetLink === undefined ? {} : { fleetLink: this.#o.fleetLink }),
      });
    const missing = new Map<string, AssetRef>();
    const used = new Set<string>();
    let result = generate(this.#lookup(missing, used));
    if (missing.size > 0) {
      await Promise.all([...missing.values()].map((ref) => this.#fetch(ref, signal)));
      if (signal.aborted) return undefined;
      used.clear();
      result = generate(this.#lookup(new Map(), used));
    }
    for (const key of [...this.#assets.keys()]) if (!used.has(key)) this.#assets.delete(key);
    return result;
  }

  async #fetch(ref: AssetRef, signal: AbortSignal): Promise<void> {
    const resource = ref.kind === 'Secret' ? 'secrets' : 'configmaps';
    const path = `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/${resource}/${encodeURIComponent(ref.name)}`;
    const previous = this.#assets.get(assetKey(ref));
    let data: ReadonlyMap<string, string> | undefined;
    let internalError: string | undefined;
    try {
      data = readAssetData(ref.kind, await this.#o.client.get(path, { resource, signal, timeoutMs: 30_000 }));
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError) {
        this.#o.log('warn', `operator: cannot read ${ref.kind} ${ref.namespace}/${ref.name}${err.status === 403 ? ' (RBAC: the master needs get on it)' : ''}`, { err: err.message });
        data = previous?.data;
      } else {
        internalError = internalErrorReason(err, `reading ${ref.kind} ${ref.namespace}/${ref.name}`);
        this.#o.log('error', 'operator: reading a Secret or ConfigMap failed unexpectedly: a bug, please report it', { kind: ref.kind, namespace: ref.namespace, name: ref.name, err: internalError });
      }
    }
    this.#assets.set(assetKey(ref), { data, fetchedAtMs: this.#now(), stale: false, ...(internalError === undefined ? {} : { internalError }) });
  }

  /** Logs each newly rejected resource version once, updates the gauge. */
  #report(built: OperatorJobs): void {
    const seen = new Set<string>();
    for (const { resource, reason, internal } of built.rejected) {
      const key = `${resource.kind}/${resource.namespace}/${resource.name}`;
      seen.add(key);
      const prior = this.#rejections.get(key);
      if (prior !== undefined && prior.version === resource.resourceVersion && prior.reason === reason) continue;
      const fields = { kind: resource.kind, namespace: resource.namespace, name: resource.name, reason };
      if (internal) this.#o.log('error', 'operator resource rejected by an internal error: a bug, please report it', fields);
      else this.#o.log('warn', 'operator resource rejected', fields);
      this.#rejections.set(key, { resource, version: resource.resourceVersion, reason, sinceUnixMs: this.#now() });
    }
    for (const key of [...this.#rejections.keys()]) if (!seen.has(key)) this.#rejections.delete(key);
    if (this.#gauge === undefined) return;
    for (const kind of operatorKinds) {
      this.#gauge.set({ kind, state: 'selected' }, built.selected.filter((r) => r.kind === kind).length);
      this.#gauge.set({ kind, state: 'rejected' }, built.rejected.filter((r) => r.resource.kind === kind).length);
    }
  }
}
