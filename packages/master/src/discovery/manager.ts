/**
 * The discovery manager: runs every job's discoverers (static, file, Kubernetes), keeps their groups by provider
 * and source as Prometheus' `discovery/manager.go` does, and turns them into each job's targets with the job's
 * relabel_configs (`buildTarget`). Work is incremental: a changed group rebuilds only its own targets, and the
 * consumer is told which jobs changed at most once per `throttleMs` (Prometheus' `sender` throttles the same way).
 */
import { setMaxListeners } from 'node:events';
import { buildTarget, type PrometheusConfig, type ScrapeConfig, type Target, type TargetBuildResult, type TargetGroup, type TargetId } from '@promfleet/model';
import type { Discoverer } from './discoverer.js';
import { FileDiscoverer } from './file.js';
import { whenAborted } from './kubernetes/client.js';
import type { KubernetesDiscovery } from './kubernetes/discovery.js';
import { staticGroups } from './static.js';

/** One job's discovery outcome. `targets` are distinct: targets with the same id (same labels) are one. */
export interface JobTargets {
  readonly job: ScrapeConfig;
  readonly targets: ReadonlyMap<TargetId, Target>;
  /** Discovered label sets, and how many relabeling dropped or Prometheus would refuse. */
  readonly discovered: number;
  readonly dropped: number;
  readonly invalid: number;
  /**
   * Whether every discoverer of the job has sent its initial set. Until then the targets are partial: a consumer
   * must not treat a target missing from an unsynced job as gone (for example, must not write staleness markers).
   */
  readonly synced: boolean;
}

/** Options of {@link DiscoveryManager}. */
export interface DiscoveryManagerOptions {
  readonly config: PrometheusConfig;
  /** The shared Kubernetes discovery; required when a job has kubernetes_sd_configs. Run by the manager. */
  readonly kubernetes?: KubernetesDiscovery;
  /** Minimum time between two updates to the consumer; 1 s by default. */
  readonly throttleMs?: number;
  readonly onFileError?: (file: string, err: Error) => void;
  /** A target could not be built because of a bug (never bad input, which is counted as invalid). */
  readonly onInternalError?: (job: string, err: unknown) => void;
}

/** Sends a job's static_configs once, then holds. */
class StaticDiscoverer implements Discoverer {
  constructor(private readonly groups: readonly TargetGroup[]) {}
  async run(signal: AbortSignal, update: (groups: readonly TargetGroup[]) => void): Promise<void> {
    if (signal.aborted) return;
    update(this.groups);
    await whenAborted(signal);
  }
}

/**
 * What a job keeps per discovered label set: the kept target's id, or the outcome. Not the discovered labels:
 * they are the discoverer's, and a copy per target (about 50 labels each) would dominate the master's memory.
 */
type Outcome = TargetId | typeof DROPPED | typeof INVALID;
const DROPPED = 0;
const INVALID = 1;

class JobState implements JobTargets {
  readonly #results = new Map<string, readonly Outcome[]>();
  readonly #refs = new Map<TargetId, number>();
  readonly targets = new Map<TargetId, Target>();
  discovered = 0;
  dropped = 0;
  invalid = 0;
  /** Providers that have not sent their initial set yet. */
  pending = 0;

  constructor(readonly job: ScrapeConfig) {}

  get synced(): boolean {
    return this.pending === 0;
  }

  /** Replaces the targets of one provider's group. */
  apply(provider: string, group: TargetGroup): void {
    const key = `${provider}\u0000${group.source}`;
    for (const r of this.#results.get(key) ?? []) this.#count(r, -1);
    if (group.targets.length === 0) {
      this.#results.delete(key);
      return;
    }
    const results = group.targets.map((labels): Outcome => {
      let result: TargetBuildResult;
      try {
        result = buildTarget(this.job, labels, group.labels);
      } catch (err) {
        // A bug, not bad input: keep going with the other targets.
        this.onInternalError?.(err);
        return INVALID;
      }
      if (result.kind !== 'kept') return result.kind === 'dropped' ? DROPPED : INVALID;
      if (!this.targets.has(result.target.id)) this.targets.set(result.target.id, result.target);
      return result.target.id;
    });
    for (const r of results) this.#count(r, +1);
    this.#results.set(key, results);
  }

  /** Reports a target that could not be built because of a bug; set by the manager. */
  onInternalError: ((err: unknown) => void) | undefined;

  #count(outcome: Outcome, delta: 1 | -1): void {
    this.discovered += delta;
    if (outcome === DROPPED) this.dropped += delta;
    else if (outcome === INVALID) this.invalid += delta;
    else {
      const n = (this.#refs.get(outcome) ?? 0) + delta;
      if (n === 0) {
        this.#refs.delete(outcome);
        this.targets.delete(outcome);
      } else {
        this.#refs.set(outcome, n);
      }
    }
  }
}

/** Runs discovery for a whole config and keeps every job's targets. */
export class DiscoveryManager {
  readonly #jobs: JobState[];
  readonly #providers: { job: JobState; name: string; discoverer: Discoverer }[] = [];

  constructor(private readonly options: DiscoveryManagerOptions) {
    this.#jobs = options.config.scrapeConfigs.map((job) => {
      const state = new JobState(job);
      const report = options.onInternalError;
      if (report !== undefined) state.onInternalError = (err) => report(job.jobName, err);
      return state;
    });
    for (const state of this.#jobs) {
      const { job } = state;
      if (job.staticConfigs.length > 0) this.#providers.push({ job: state, name: 'static', discoverer: new StaticDiscoverer(staticGroups(job.staticConfigs)) });
      job.fileSdConfigs.forEach((config, i) => {
        const onError = options.onFileError;
        this.#providers.push({ job: state, name: `file/${i}`, discoverer: new FileDiscoverer({ config, ...(onError === undefined ? {} : { onError }) }) });
      });
      job.kubernetesSdConfigs.forEach((config, i) => {
        if (options.kubernetes === undefined) throw new Error(`job ${JSON.stringify(job.jobName)} has kubernetes_sd_configs but no Kubernetes discovery was given`);
        this.#providers.push({ job: state, name: `kubernetes/${i}`, discoverer: options.kubernetes.discoverer(config) });
      });
    }
  }

  /** Every job's current targets, in config order. */
  jobs(): readonly JobTargets[] {
    return this.#jobs;
  }

  /**
   * Runs all discoverers until `signal` aborts. `onUpdate` gets the jobs whose targets changed, at most once per
   * throttle interval, from the first update on: a job whose API server is unreachable does not hold back the
   * others (see {@link JobTargets.synced}).
   */
  async run(signal: AbortSignal, onUpdate: (changed: readonly JobTargets[]) => void): Promise<void> {
    const throttleMs = this.options.throttleMs ?? 1000;
    // Every discoverer waits on this one signal: dozens of listeners are expected, not a leak.
    setMaxListeners(0, signal);
    const changed = new Set<JobState>();
    const waiting = new Set(this.#providers);
    for (const p of this.#providers) p.job.pending++;
    let timer: NodeJS.Timeout | undefined;
    let last = -Infinity;
    const flush = () => {
      timer = undefined;
      last = performance.now();
      const jobs = [...changed];
      changed.clear();
      onUpdate(jobs);
    };
    const schedule = () => {
      if (timer !== undefined || signal.aborted) return;
      timer = setTimeout(flush, Math.max(0, last + throttleMs - performance.now()));
    };
    const runs = this.#providers.map((p) =>
      p.discoverer.run(signal, (groups) => {
        for (const g of groups) p.job.apply(p.name, g);
        changed.add(p.job);
        if (waiting.delete(p)) p.job.pending--;
        schedule();
      }),
    );
    if (this.options.kubernetes !== undefined) runs.push(this.options.kubernetes.run(signal));
    if (this.#providers.length === 0) onUpdate([]);
    await Promise.all(runs);
    clearTimeout(timer);
  }
}
