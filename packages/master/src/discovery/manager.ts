/**
 * The discovery manager: runs every job's discoverers (static, file, Kubernetes), keeps their groups by provider
 * and source as Prometheus' `discovery/manager.go` does, and turns them into each job's targets with the job's
 * relabel_configs (`buildTarget`). Work is incremental: a changed group rebuilds only its own targets, and the
 * consumer is told which jobs changed at most once per `throttleMs` (Prometheus' `sender` throttles the same way).
 */
import { setMaxListeners } from 'node:events';
import { buildTarget, discoveredLabels, labelsFingerprint, type Labels, type PrometheusConfig, type ScrapeConfig, type Target, type TargetBuildResult, type TargetGroup, type TargetId } from '@promfleet/model';
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
  /**
   * The targets added to and removed from `targets` since the previous update, so a consumer pays for the change,
   * not for the job's size. Valid during the update callback only: they start over after it returns.
   */
  readonly added: ReadonlySet<TargetId>;
  readonly removed: ReadonlySet<TargetId>;
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

/**
 * One discovered label set of a job as {@link DiscoveryManager.discovered} rebuilds it: the labels as Prometheus
 * shows them (`discoveredLabels`: the group's and the target's labels seeded with the job's defaults, before
 * relabeling), and what relabeling made of them.
 */
export type DiscoveredTarget =
  | { readonly outcome: 'kept'; readonly labels: Labels; readonly targetId: TargetId }
  | { readonly outcome: 'dropped'; readonly labels: Labels }
  | { readonly outcome: 'invalid'; readonly labels: Labels; readonly reason: string };

/** Sends a job's static_configs once, then holds. */
class StaticDiscoverer implements Discoverer {
  #sent = false;
  constructor(private readonly all: readonly TargetGroup[]) {}
  async run(signal: AbortSignal, update: (groups: readonly TargetGroup[]) => void): Promise<void> {
    if (signal.aborted) return;
    update(this.all);
    this.#sent = true;
    await whenAborted(signal);
  }
  groups(): readonly TargetGroup[] {
    return this.#sent ? this.all.filter((g) => g.targets.length > 0) : [];
  }
}

/**
 * What a job keeps per discovered label set: the kept target's id, or the outcome. Not the discovered labels:
 * they are the discoverer's, and a copy per target (about 50 labels each) would dominate the master's memory.
 */
type Outcome = TargetId | typeof DROPPED | typeof INVALID;
const DROPPED = 0;
const INVALID = 1;

/**
 * One group's outcomes, with a fingerprint of each discovered label set: when a group is rebuilt (an EndpointSlice
 * of ~230 targets rebuilt because one endpoint changed), label sets whose fingerprint is unchanged keep their
 * outcome instead of being relabeled again. `buildTarget` is a pure function of the job and the labels, so this is
 * exact up to a fingerprint collision between two label sets of one group (53-bit fingerprints: about one in
 * 10^11 for the largest groups).
 */
interface GroupOutcomes {
  readonly groupFingerprint: number;
  readonly fingerprints: Float64Array;
  readonly outcomes: readonly Outcome[];
}

class JobState implements JobTargets {
  readonly #results = new Map<string, GroupOutcomes>();
  readonly #refs = new Map<TargetId, number>();
  readonly targets = new Map<TargetId, Target>();
  readonly added = new Set<TargetId>();
  readonly removed = new Set<TargetId>();
  discovered = 0;
  dropped = 0;
  invalid = 0;
  /** Providers that have not sent their initial set yet. */
  pending = 0;

  constructor(readonly job: ScrapeConfig) {}

  get synced(): boolean {
    return this.pending === 0;
  }

  /** Replaces the targets of one provider's group, relabeling only the label sets that changed. */
  apply(provider: string, group: TargetGroup): void {
    const key = `${provider}\u0000${group.source}`;
    const old = this.#results.get(key);
    if (group.targets.length === 0) {
      for (const o of old?.outcomes ?? []) this.#count(o, -1);
      this.#results.delete(key);
      return;
    }
    const groupFingerprint = labelsFingerprint(group.labels);
    const previous = new Map<number, Outcome>();
    if (old !== undefined && old.groupFingerprint === groupFingerprint) {
      old.fingerprints.forEach((f, i) => {
        const outcome = old.outcomes[i];
        if (outcome !== undefined) previous.set(f, outcome);
      });
    }
    const fingerprints = new Float64Array(group.targets.length);
    const outcomes = group.targets.map((labels, i): Outcome => {
      const f = labelsFingerprint(labels);
      fingerprints[i] = f;
      return previous.get(f) ?? this.#build(labels, group.labels);
    });
    // New counts first: a target kept by both versions never drops to zero references on the way.
    for (const o of outcomes) this.#count(o, +1);
    for (const o of old?.outcomes ?? []) this.#count(o, -1);
    this.#results.set(key, { groupFingerprint, fingerprints, outcomes });
  }

  #build(labels: Labels, groupLabels: Labels): Outcome {
    let result: TargetBuildResult;
    try {
      result = buildTarget(this.job, labels, groupLabels);
    } catch (err) {
      // A bug, not bad input: keep going with the other targets.
      this.onInternalError?.(err);
      return INVALID;
    }
    if (result.kind !== 'kept') return result.kind === 'dropped' ? DROPPED : INVALID;
    if (!this.targets.has(result.target.id)) this.targets.set(result.target.id, result.target);
    return result.target.id;
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
        if (!this.added.delete(outcome)) this.removed.add(outcome);
      } else {
        if (n === 1 && delta === 1 && !this.removed.delete(outcome)) this.added.add(outcome);
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
   * Every label set the discoverers of `job` hold now, relabeled again to tell kept, dropped and invalid apart; empty
   * for an unknown job. For the status API: the manager keeps no discovered labels (about 50 per target), so they
   * are rebuilt here from the discoverers' own state (see {@link Discoverer.groups}), one group at a time. Costs a
   * relabeling per label set; a caller that stops iterating early pays only for what it took. The discoverers may
   * be a throttle interval ahead of {@link jobs}.
   */
  *discovered(job: string): Iterable<DiscoveredTarget> {
    const state = this.#jobs.find((j) => j.job.jobName === job);
    if (state === undefined) return;
    for (const p of this.#providers) {
      if (p.job !== state) continue;
      for (const group of p.discoverer.groups?.() ?? []) {
        for (const labels of group.targets) yield classify(state.job, labels, group.labels);
      }
    }
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
      for (const job of jobs) {
        job.added.clear();
        job.removed.clear();
      }
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

/** One label set through `buildTarget`, as a {@link DiscoveredTarget}; a bug in building it shows as invalid. */
function classify(job: ScrapeConfig, labels: Labels, groupLabels: Labels): DiscoveredTarget {
  let result: TargetBuildResult;
  try {
    result = buildTarget(job, labels, groupLabels);
  } catch (err) {
    // The same label set failed in JobState.apply, which reported it through onInternalError.
    return { outcome: 'invalid', labels: discoveredLabels(job, labels, groupLabels), reason: `internal error: ${err instanceof Error ? err.message : String(err)}` };
  }
  switch (result.kind) {
    case 'kept':
      return { outcome: 'kept', labels: result.discoveredLabels, targetId: result.target.id };
    case 'dropped':
      return { outcome: 'dropped', labels: result.discoveredLabels };
    case 'invalid':
      return { outcome: 'invalid', labels: result.discoveredLabels, reason: result.reason };
  }
}
