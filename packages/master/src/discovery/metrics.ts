/**
 * The master's discovery self-metrics, on a prom-client registry. Names follow Prometheus' conventions (checked by
 * `promtool check metrics` in the tests): a `promfleet_` prefix, base units, `_total` for counters.
 */
import type { ScrapeConfig } from '@promfleet/model';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ApiRequestRecord } from './kubernetes/client.js';
import type { KubernetesDiscovery, KubernetesDiscoveryObserver } from './kubernetes/discovery.js';
import { needsOf, resourceOfKind, type WatchSpec } from './kubernetes/watches.js';
import type { JobTargets } from './manager.js';

/** A resource whose list/watch is failing: discovery serves what it last knew of it, since `sinceUnixMs`. */
export interface StaleResource {
  readonly resource: string;
  readonly sinceUnixMs: number;
  /** The last error seen for it: the watch's error, else the HTTP status of its last failed request. */
  readonly error: string;
}

/**
 * Metrics of the API requests, watches and discovered targets; wire `observer` and `onRequest` into discovery. Also
 * tells which resources are stale: their last request failed (no answer, or an error status other than the routine
 * 410 Gone), or their watch broke with an error, and no request for them has succeeded since. Discovery keeps serving
 * the last known state of a stale resource (the reflector retries with backoff); this only says so.
 */
export class DiscoveryMetrics {
  readonly #requests: Counter<'verb' | 'resource' | 'code'>;
  readonly #restarts: Counter<'resource' | 'reason'>;
  readonly #relists: Counter<'resource'>;
  readonly #badObjects: Counter<'resource'>;
  readonly #latency: Histogram;
  readonly #targets: Gauge<'scrape_job' | 'state'>;
  readonly #listed = new Set<string>();
  /** Resource → since when (Unix ms) it is stale and its last error; every resource seen, stale or not, is in `#resources`. */
  readonly #stale = new Map<string, { sinceUnixMs: number; error: string }>();
  readonly #resources = new Set<string>();
  readonly #now: () => number;
  #kubernetes: KubernetesDiscovery | undefined;

  constructor(registry: Registry, options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    const registers = [registry];
    const resources = () => [...this.#resources].map((resource) => ({ resource, since: this.#stale.get(resource)?.sinceUnixMs }));
    new Gauge({
      name: 'promfleet_kubernetes_discovery_stale',
      help: "1 when the master's list/watch of a resource is failing and discovery serves the last state it knew, by resource; 0 when it is current.",
      labelNames: ['resource'],
      registers,
      collect() {
        this.reset();
        for (const { resource, since } of resources()) this.set({ resource }, since === undefined ? 0 : 1);
      },
    });
    new Gauge({
      name: 'promfleet_kubernetes_discovery_stale_since_timestamp_seconds',
      help: 'When the list/watch of a resource started failing (Unix seconds), by resource; 0 when it is current.',
      labelNames: ['resource'],
      registers,
      collect() {
        this.reset();
        for (const { resource, since } of resources()) this.set({ resource }, since === undefined ? 0 : since / 1000);
      },
    });
    const objectCounts = () => this.#kubernetes?.objectCounts() ?? [];
    this.#requests = new Counter({
      name: 'promfleet_kubernetes_api_requests_total',
      help: 'Requests the master made to the Kubernetes API server, by verb, resource and HTTP status code (0: no response).',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    });
    this.#restarts = new Counter({
      name: 'promfleet_kubernetes_watch_restarts_total',
      help: 'Watches restarted, by resource and reason (closed by the server, error, inactive, expired resourceVersion).',
      labelNames: ['resource', 'reason'],
      registers,
    });
    this.#relists = new Counter({
      name: 'promfleet_kubernetes_relists_total',
      help: 'Full lists made after the first one of a watch, by resource (each follows a 410 Gone).',
      labelNames: ['resource'],
      registers,
    });
    this.#badObjects = new Counter({
      name: 'promfleet_kubernetes_bad_objects_total',
      help: 'Objects from the API server that discovery could not read and skipped, by resource.',
      labelNames: ['resource'],
      registers,
    });
    new Gauge({
      name: 'promfleet_kubernetes_objects',
      help: 'Objects held by the master, by resource and watch namespace ("" for all namespaces).',
      labelNames: ['resource', 'watch_namespace'],
      registers,
      collect() {
        this.reset();
        for (const { spec, count } of objectCounts()) this.inc({ resource: spec.resource.plural, watch_namespace: spec.namespace ?? '' }, count);
      },
    });
    this.#latency = new Histogram({
      name: 'promfleet_kubernetes_event_to_groups_seconds',
      help: 'Time from the first watch event of a batch to the updated target groups being handed on (includes the discovery throttle).',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 5, 10],
      registers,
    });
    this.#targets = new Gauge({
      name: 'promfleet_discovered_targets',
      help: 'Targets of each job: active (distinct targets after relabeling), dropped by relabeling, or invalid.',
      labelNames: ['scrape_job', 'state'],
      registers,
    });
  }

  /** Reports the objects `kubernetes` holds in `promfleet_kubernetes_objects`. */
  track(kubernetes: KubernetesDiscovery): void {
    this.#kubernetes = kubernetes;
  }

  /** Counts one API request; pass as the ApiClient's `onRequest`. */
  readonly onRequest = (record: ApiRequestRecord): void => {
    this.#requests.inc({ verb: record.verb, resource: record.resource, code: String(record.status) });
    if (record.status === 200) this.#fresh(record.resource);
    // 410 Gone is routine: the reflector relists, and that list's answer tells.
    else if (record.status !== 410) this.#failing(record.resource, record.status === 0 ? undefined : `${record.verb} answered HTTP ${record.status}`);
  };

  /** The resources discovery serves from its last known state, oldest first. */
  staleResources(): StaleResource[] {
    return [...this.#stale]
      .map(([resource, { sinceUnixMs, error }]) => ({ resource, sinceUnixMs, error }))
      .sort((a, b) => a.sinceUnixMs - b.sinceUnixMs || (a.resource < b.resource ? -1 : 1));
  }

  /**
   * Why `job`'s Kubernetes discovery is stale, if it is: the longest-failing of the resources its
   * `kubernetes_sd_configs` read (the role's own and those it attaches), with that resource's last error.
   */
  jobError(job: ScrapeConfig): StaleResource | undefined {
    const resources = new Set(job.kubernetesSdConfigs.flatMap((sd) => [...needsOf(sd).keys()].map((kind) => resourceOfKind[kind].plural)));
    return this.staleResources().find((stale) => resources.has(stale.resource));
  }

  /**
   * Forgets the watches and the discovery tracked: discovery stopped (the master stands by), so it holds no objects,
   * nothing it holds can be stale, and the next run's first lists are not relists.
   */
  forgetWatches(): void {
    this.#kubernetes = undefined;
    this.#stale.clear();
    this.#resources.clear();
    this.#listed.clear();
  }

  #fresh(resource: string): void {
    this.#resources.add(resource);
    this.#stale.delete(resource);
  }

  /** Marks `resource` stale from now unless it already is; `error` replaces its last error (none: "no answer"). */
  #failing(resource: string, error?: string): void {
    this.#resources.add(resource);
    const stale = this.#stale.get(resource);
    if (stale === undefined) this.#stale.set(resource, { sinceUnixMs: this.#now(), error: error ?? 'no answer from the API server' });
    else if (error !== undefined) stale.error = error;
  }

  /** The observer to give KubernetesDiscovery. */
  readonly observer: KubernetesDiscoveryObserver = {
    watchRestarted: (watch, reason, error) => {
      this.#restarts.inc({ resource: watch.resource.plural, reason });
      if (reason === 'error') this.#failing(watch.resource.plural, error);
    },
    watchFailed: (watch, reason) => this.#failing(watch.resource.plural, reason),
    listed: (watch: WatchSpec) => {
      if (this.#listed.has(watch.id)) this.#relists.inc({ resource: watch.resource.plural });
      this.#listed.add(watch.id);
    },
    badObject: (watch) => this.#badObjects.inc({ resource: watch.resource.plural }),
    groupsUpdated: (seconds) => this.#latency.observe(seconds),
  };

  /** Records the jobs' target counts; call with the jobs the discovery manager reports as changed. */
  updateJobs(jobs: readonly JobTargets[]): void {
    for (const j of jobs) {
      this.#targets.set({ scrape_job: j.job.jobName, state: 'active' }, j.targets.size);
      this.#targets.set({ scrape_job: j.job.jobName, state: 'dropped' }, j.dropped);
      this.#targets.set({ scrape_job: j.job.jobName, state: 'invalid' }, j.invalid);
    }
  }

  /** Drops the series of jobs that left the config (ConfigChanges.removed), rather than keeping them at 0. */
  forgetJobs(jobs: readonly string[]): void {
    for (const job of jobs) for (const state of ['active', 'dropped', 'invalid']) this.#targets.remove({ scrape_job: job, state });
  }
}
