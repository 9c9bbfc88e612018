/**
 * The master's discovery self-metrics, on a prom-client registry. Names follow Prometheus' conventions (checked by
 * `promtool check metrics` in the tests): a `promfleet_` prefix, base units, `_total` for counters.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ApiRequestRecord } from './kubernetes/client.js';
import type { KubernetesDiscovery, KubernetesDiscoveryObserver } from './kubernetes/discovery.js';
import type { WatchSpec } from './kubernetes/watches.js';
import type { JobTargets } from './manager.js';

/** Metrics of the API requests, watches and discovered targets; wire `observer` and `onRequest` into discovery. */
export class DiscoveryMetrics {
  readonly #requests: Counter<'verb' | 'resource' | 'code'>;
  readonly #restarts: Counter<'resource' | 'reason'>;
  readonly #relists: Counter<'resource'>;
  readonly #badObjects: Counter<'resource'>;
  readonly #latency: Histogram;
  readonly #targets: Gauge<'job' | 'state'>;
  readonly #listed = new Set<string>();
  #kubernetes: KubernetesDiscovery | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
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
      labelNames: ['resource', 'namespace'],
      registers,
      collect() {
        this.reset();
        for (const { spec, count } of objectCounts()) this.inc({ resource: spec.resource.plural, namespace: spec.namespace ?? '' }, count);
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
      labelNames: ['job', 'state'],
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
  };

  /** The observer to give KubernetesDiscovery. */
  readonly observer: KubernetesDiscoveryObserver = {
    watchRestarted: (watch, reason) => this.#restarts.inc({ resource: watch.resource.plural, reason }),
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
      this.#targets.set({ job: j.job.jobName, state: 'active' }, j.targets.size);
      this.#targets.set({ job: j.job.jobName, state: 'dropped' }, j.dropped);
      this.#targets.set({ job: j.job.jobName, state: 'invalid' }, j.invalid);
    }
  }
}
