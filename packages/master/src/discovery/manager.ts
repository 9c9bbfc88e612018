/**
 * The discovery manager: runs every job's discoverers (static, file, Kubernetes), keeps their groups by provider
 * and source as Prometheus' `discovery/manager.go` does, and turns them into each job's targets with the job's
 * relabel_configs (`buildTarget`). Work is incremental: a changed group rebuilds only its own targets, and the
 * consumer is told which jobs changed at most once per `throttleMs` (Prometheus' `sender` throttles the same way).
 */
import { buildTarget, type PrometheusConfig, type ScrapeConfig, type Target, type TargetBuildResult, type TargetGroup, type TargetId } from '@promfleet/model';
import type { Discoverer } from './discoverer.js';
import { FileDiscoverer } from './file.js';
import { errorMessage, whenAborted } from './kubernetes/client.js';
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

class JobState implements JobTargets {
  readonly #results = new Map<string, readonly TargetBuildResult[]>();
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
    const results = group.targets.map((labels): TargetBuildResult => {
      try {
        return buildTarget(this.job, labels, group.labels);
      } catch (err) {
        // A bug, not bad input: keep going with the other targets, and say what happened in the target's place.
        return { kind: 'invalid', discoveredLabels: labels, reason: `internal error: ${errorMessage(err)}` };
      }
    });
    for (const r of results) this.#count(r, +1);
    this.#results.set(key, results);
  }

  #count(r: TargetBuildResult, delta: 1 | -1): void {
    this.discovered += delta;
    if (r.kind === 'dropped') this.dropped += delta;
    else if (r.kind === 'invalid') this.invalid += delta;
    else {
      const n = (this.#refs.get(r.target.id) ?? 0) + delta;
      if (n === 0) {
        this.#refs.delete(r.target.id);
        this.targets.delete(r.target.id);
      } else {
        this.#refs.set(r.target.id, n);
        if (delta > 0 && !this.targets.has(r.target.id)) this.targets.set(r.target.id, r.target);
      }
    }
  }
}

/** Runs discovery for a whole config and keeps every job's targets. */
export class DiscoveryManager {
  readonly #jobs: JobState[];
  readonly #providers: { job: JobState; name: string; discoverer: Discoverer }[] = [];

  constructor(private readonly options: DiscoveryManagerOptions) {
    this.#jobs = options.config.scrapeConfigs.map((job) => new JobState(job));
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
