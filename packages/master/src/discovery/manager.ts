/**
 * The discovery manager: runs every job's discoverers (static, file, Kubernetes), keeps their groups by provider
 * and source as Prometheus' `discovery/manager.go` does, and turns them into each job's targets with the job's
 * relabel_configs (`buildTarget`). Work is incremental: a changed group rebuilds only its own targets, and the
 * consumer is told which jobs changed at most once per `throttleMs` (Prometheus' `sender` throttles the same way).
 */
import { setMaxListeners } from 'node:events';
import { buildTarget, discoveredLabels, LabelName, labelsFingerprint, type Labels, type PrometheusConfig, type RelabelRule, type ScrapeConfig, type Target, type TargetBuildResult, type TargetGroup, type TargetId } from '@promfleet/model';
import { fingerprintOf } from './deferred-labels.js';
import type { Discoverer } from './discoverer.js';
import { FileDiscoverer } from './file.js';
import { whenAborted } from './kubernetes/client.js';
import type { KubernetesDiscovery } from './kubernetes/discovery.js';
import { canonical } from './kubernetes/watches.js';
import { staticGroups } from './static.js';
import { Throttle } from './throttle.js';

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
  /**
   * Minimum time between two updates to the consumer; 1 s by default. With `kubernetes`, the manager sends on that
   * discovery's throttle instead (see throttle.ts), whose interval the master sets to the same.
   */
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
  /** Of the group labels relabeling can read (see JobState's `#readFingerprint`). */
  readonly groupFingerprint: number;
  readonly fingerprints: Float64Array;
  readonly outcomes: readonly Outcome[];
}

class JobState implements JobTargets {
  #results = new Map<string, GroupOutcomes>();
  #refs = new Map<TargetId, number>();
  /** Label name → whether the job's relabeling can read it ({@link #isRead}); for the job's current rules. */
  #reads = new Map<string, boolean>();
  readonly targets = new Map<TargetId, Target>();
  readonly added = new Set<TargetId>();
  readonly removed = new Set<TargetId>();
  discovered = 0;
  dropped = 0;
  invalid = 0;
  /** Providers that have not sent their initial set yet. */
  pending = 0;
  /** The job's settings in canonical form ({@link jobKey}): what a reload compares. */
  key: string;

  constructor(public job: ScrapeConfig) {
    this.key = jobKey(job);
  }

  /**
   * Takes new settings and relabels every group of `groups` (the job's providers' current groups) with them. What
   * the consumer is told is the difference to what it was told before: a target whose id is unchanged stays.
   */
  reconfigure(job: ScrapeConfig, groups: Iterable<{ provider: string; group: TargetGroup }>): void {
    const told = this.#told();
    this.job = job;
    this.key = jobKey(job);
    this.#reads = new Map();
    this.#clear();
    for (const { provider, group } of groups) this.apply(provider, group);
    this.#tellSince(told);
  }

  /** Forgets every target (the job left the config): the consumer is told each one it knew is removed. */
  removeAll(): void {
    const told = this.#told();
    this.#clear();
    this.#tellSince(told);
  }

  /** Forgets the groups of one provider (one that stopped). */
  dropProvider(provider: string): void {
    const prefix = `${provider}\u0000`;
    for (const [key, result] of this.#results) {
      if (!key.startsWith(prefix)) continue;
      for (const o of result.outcomes) this.#count(o, -1);
      this.#results.delete(key);
    }
  }

  /** The targets the consumer knows: those it was told of, before the changes waiting for the next update. */
  #told(): Set<TargetId> {
    const told = new Set(this.targets.keys());
    for (const id of this.added) told.delete(id);
    for (const id of this.removed) told.add(id);
    return told;
  }

  #clear(): void {
    this.#results = new Map();
    this.#refs = new Map();
    this.targets.clear();
    this.added.clear();
    this.removed.clear();
    this.discovered = 0;
    this.dropped = 0;
    this.invalid = 0;
  }

  /** Sets `added` and `removed` to the difference between `told` and the targets now. */
  #tellSince(told: ReadonlySet<TargetId>): void {
    this.added.clear();
    this.removed.clear();
    for (const id of this.targets.keys()) if (!told.has(id)) this.added.add(id);
    for (const id of told) if (!this.targets.has(id)) this.removed.add(id);
  }

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
    const groupFingerprint = this.#readFingerprint(group.labels);
    const previous = new Map<number, Outcome>();
    if (old !== undefined && old.groupFingerprint === groupFingerprint) {
      old.fingerprints.forEach((f, i) => {
        const outcome = old.outcomes[i];
        if (outcome !== undefined) previous.set(f, outcome);
      });
    }
    const fingerprints = new Float64Array(group.targets.length);
    const outcomes = group.targets.map((labels, i): Outcome => {
      const f = fingerprintOf(labels);
      fingerprints[i] = f;
      return previous.get(f) ?? this.#build(labels, group.labels);
    });
    // New counts first: a target kept by both versions never drops to zero references on the way.
    for (const o of outcomes) this.#count(o, +1);
    for (const o of old?.outcomes ?? []) this.#count(o, -1);
    this.#results.set(key, { groupFingerprint, fingerprints, outcomes });
  }

  /**
   * The fingerprint of the group labels relabeling can tell apart: all but the `__meta_*` labels no rule of the job
   * reads, which are deleted after relabeling and so cannot change an outcome. Kubernetes rewrites an EndpointSlice's
   * `endpoints.kubernetes.io/last-change-trigger-time` annotation with every endpoint change; a group whose only
   * change is such a label keeps the outcomes of its unchanged label sets.
   */
  #readFingerprint(groupLabels: Labels): number {
    const read = new Map<string, string>();
    for (const [name, value] of groupLabels) if (this.#isRead(name)) read.set(name, value);
    return labelsFingerprint(read);
  }

  #isRead(name: string): boolean {
    let read = this.#reads.get(name);
    if (read === undefined) {
      read = !name.startsWith(LabelName.metaPrefix) || this.job.relabelConfigs.some((rule) => ruleReads(rule, name));
      this.#reads.set(name, read);
    }
    return read;
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

/** Whether `rule` reads the value or the presence of label `name`. */
function ruleReads(rule: RelabelRule, name: string): boolean {
  if (rule.sourceLabels.includes(name)) return true;
  switch (rule.action) {
    case 'keepequal':
    case 'dropequal':
      return rule.targetLabel === name;
    case 'labelmap':
      return rule.regex.test(name);
    case 'drop':
    case 'keep':
    case 'replace':
    case 'lowercase':
    case 'uppercase':
    case 'hashmod':
    case 'labeldrop':
    case 'labelkeep':
      // labeldrop and labelkeep remove labels by name; a `__meta_*` label nobody reads is deleted afterwards anyway.
      return false;
  }
}

/** The jobs a {@link DiscoveryManager.applyConfig} added, changed and removed, by name. */
export interface ConfigChanges {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
}

/** One SD config of one job (or the job's static_configs), and the discoverer that serves it. */
interface Provider {
  job: JobState;
  /** Unique in the manager for its lifetime: the prefix of its groups' keys in the job. */
  readonly name: string;
  /** The kind and the SD config in canonical form: a reload keeps a provider whose key the new job still has. */
  readonly key: string;
  readonly discoverer: Discoverer;
  /** Has not sent its initial set yet. */
  waiting: boolean;
  /**
   * Replaced by a reload that changed the job's SD configs: it keeps serving the job's targets until the job's new
   * providers have all sent their initial set, so that targets both find do not go and come back.
   */
  retiring: boolean;
  /** Aborts its run; undefined before the manager runs. */
  controller: AbortController | undefined;
}

/** What the manager uses while it runs. */
interface Running {
  readonly signal: AbortSignal;
  readonly changed: Set<JobState>;
  readonly schedule: () => void;
  readonly flush: () => void;
}

/**
 * Runs discovery for a config and keeps every job's targets. The config can be replaced while it runs
 * ({@link applyConfig}): unchanged jobs and SD configs keep running as they are.
 */
export class DiscoveryManager {
  #jobs: JobState[] = [];
  #providers: Provider[] = [];
  #sequence = 0;
  #running: Running | undefined;
  readonly #tasks = new Set<Promise<void>>();

  constructor(private readonly options: DiscoveryManagerOptions) {
    this.applyConfig(options.config);
  }

  /** Every job's current targets, in config order. */
  jobs(): readonly JobTargets[] {
    return this.#jobs;
  }

  /**
   * Moves to `config`, before or while the manager runs. Jobs are matched by name and compared by their settings in
   * canonical form. An unchanged job keeps its providers and targets, and is not reported. A removed job's providers
   * stop, and the consumer is told that every target of it is removed. A new job's providers start. A changed job
   * keeps the providers whose SD config it still has (a Kubernetes view is shared by SD config: no relist) and is
   * relabeled from their current groups; targets whose id is unchanged stay. New SD configs of a changed job start,
   * and the ones it dropped keep serving until the new ones have sent their initial set.
   *
   * While running, the consumer gets the changes at once (not throttled), before this returns. Throws, changing
   * nothing, when a job has kubernetes_sd_configs and the manager has no Kubernetes discovery.
   */
  applyConfig(config: PrometheusConfig): ConfigChanges {
    const needsKubernetes = config.scrapeConfigs.find((job) => job.kubernetesSdConfigs.length > 0);
    if (needsKubernetes !== undefined && this.options.kubernetes === undefined) {
      throw new Error(`job ${JSON.stringify(needsKubernetes.jobName)} has kubernetes_sd_configs but no Kubernetes discovery was given`);
    }
    const old = new Map(this.#jobs.map((state) => [state.job.jobName, state]));
    const changes = { added: [] as string[], changed: [] as string[], removed: [] as string[] };
    const next: JobState[] = [];
    for (const job of config.scrapeConfigs) {
      const state = old.get(job.jobName);
      old.delete(job.jobName);
      if (state === undefined) {
        next.push(this.#addJob(job));
        changes.added.push(job.jobName);
      } else if (state.key === jobKey(job)) {
        state.job = job;
        next.push(state);
      } else {
        this.#changeJob(state, job);
        next.push(state);
        changes.changed.push(job.jobName);
      }
    }
    for (const state of old.values()) {
      for (const p of this.#providers) if (p.job === state) this.#stop(p);
      this.#providers = this.#providers.filter((p) => p.job !== state);
      state.removeAll();
      this.#running?.changed.add(state);
      changes.removed.push(state.job.jobName);
    }
    this.#jobs = next;
    // A manager that never runs (a standby master's) would otherwise keep a Kubernetes view of every SD config it saw.
    if (this.#running === undefined) this.options.kubernetes?.retainOnly(config.scrapeConfigs.flatMap((job) => job.kubernetesSdConfigs));
    const running = this.#running;
    if (running !== undefined && running.changed.size > 0) running.flush();
    return changes;
  }

  #addJob(job: ScrapeConfig): JobState {
    const state = new JobState(job);
    const report = this.options.onInternalError;
    if (report !== undefined) state.onInternalError = (err) => report(job.jobName, err);
    for (const { key, create } of this.#sources(job)) this.#startProvider(this.#provider(state, key, create));
    this.#running?.changed.add(state);
    return state;
  }

  #changeJob(state: JobState, job: ScrapeConfig): void {
    const unmatched = this.#providers.filter((p) => p.job === state);
    const added: Provider[] = [];
    for (const { key, create } of this.#sources(job)) {
      const index = unmatched.findIndex((p) => p.key === key);
      const kept = unmatched[index];
      if (kept !== undefined) {
        unmatched.splice(index, 1);
        kept.retiring = false;
        continue;
      }
      added.push(this.#provider(state, key, create));
    }
    for (const p of unmatched) {
      // Before the manager runs there is nothing to keep serving.
      if (added.length > 0 && this.#running !== undefined) p.retiring = true;
      else this.#retire(p);
    }
    state.pending = this.#providers.filter((p) => p.job === state && p.waiting && !p.retiring).length;
    const groups = function* (providers: readonly Provider[]) {
      for (const p of providers) {
        if (p.job !== state) continue;
        for (const group of p.discoverer.groups?.() ?? []) yield { provider: p.name, group };
      }
    };
    state.reconfigure(job, groups(this.#providers));
    this.#running?.changed.add(state);
    // Started last: one that sends its initial set at once (static_configs) retires the ones it replaces.
    for (const p of added) this.#startProvider(p);
  }

  /** The providers a job needs, each with its key and a way to create its discoverer. */
  #sources(job: ScrapeConfig): { key: string; create: () => Discoverer }[] {
    const out: { key: string; create: () => Discoverer }[] = [];
    if (job.staticConfigs.length > 0) out.push({ key: `static:${canonical(job.staticConfigs)}`, create: () => new StaticDiscoverer(staticGroups(job.staticConfigs)) });
    const onError = this.options.onFileError;
    for (const config of job.fileSdConfigs) {
      out.push({ key: `file:${canonical(config)}`, create: () => new FileDiscoverer({ config, ...(onError === undefined ? {} : { onError }) }) });
    }
    const kubernetes = this.options.kubernetes;
    for (const config of job.kubernetesSdConfigs) {
      if (kubernetes === undefined) throw new Error(`job ${JSON.stringify(job.jobName)} has kubernetes_sd_configs but no Kubernetes discovery was given`);
      out.push({ key: `kubernetes:${canonical(config)}`, create: () => kubernetes.discoverer(config) });
    }
    return out;
  }

  #provider(job: JobState, key: string, create: () => Discoverer): Provider {
    const p: Provider = { job, name: String(this.#sequence++), key, discoverer: create(), waiting: true, retiring: false, controller: undefined };
    this.#providers.push(p);
    job.pending++;
    return p;
  }

  /** Starts a provider's discoverer when the manager runs (else `run` starts it). */
  #startProvider(p: Provider): void {
    const running = this.#running;
    if (running === undefined || running.signal.aborted) return;
    const controller = new AbortController();
    p.controller = controller;
    const stop = () => controller.abort();
    running.signal.addEventListener('abort', stop, { once: true });
    const task = p.discoverer.run(controller.signal, (groups) => {
      if (controller.signal.aborted) return;
      for (const g of groups) p.job.apply(p.name, g);
      running.changed.add(p.job);
      if (p.waiting) {
        p.waiting = false;
        if (!p.retiring) p.job.pending--;
        if (p.job.pending === 0) for (const r of this.#providers.filter((q) => q.job === p.job && q.retiring)) this.#retire(r);
      }
      running.schedule();
    });
    this.#track(task.finally(() => running.signal.removeEventListener('abort', stop)));
  }

  /** Stops a provider the job no longer has and forgets its groups. */
  #retire(p: Provider): void {
    this.#stop(p);
    this.#providers = this.#providers.filter((q) => q !== p);
    p.job.dropProvider(p.name);
    if (p.waiting && !p.retiring) p.job.pending--;
    this.#running?.changed.add(p.job);
  }

  #stop(p: Provider): void {
    p.controller?.abort();
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
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
   * throttle interval ({@link Throttle}: at once when the last update was due an interval ago), from the first update on: a job whose API server is unreachable does not hold back the
   * others (see {@link JobTargets.synced}). Runs once.
   */
  async run(signal: AbortSignal, onUpdate: (changed: readonly JobTargets[]) => void): Promise<void> {
    if (this.#running !== undefined) throw new Error('DiscoveryManager.run was called twice');
    const throttleMs = this.options.throttleMs ?? 1000;
    // Every discoverer waits on this one signal: dozens of listeners are expected, not a leak.
    setMaxListeners(0, signal);
    const changed = new Set<JobState>();
    // With Kubernetes discovery, its views' throttle: a batch they rebuild goes out in the same run.
    const kubernetes = this.options.kubernetes;
    const throttle = kubernetes?.throttle ?? new Throttle(throttleMs);
    const send = () => {
      const jobs = [...changed];
      changed.clear();
      onUpdate(jobs);
      for (const job of jobs) {
        job.added.clear();
        job.removed.clear();
      }
    };
    const flush = () => {
      throttle.cancel(send);
      throttle.restart();
      send();
    };
    const schedule = () => {
      if (!signal.aborted) throttle.request(send);
    };
    this.#running = { signal, changed, schedule, flush };
    for (const p of this.#providers) this.#startProvider(p);
    if (kubernetes !== undefined) this.#track(kubernetes.run(signal));
    if (this.#providers.length === 0) onUpdate([]);
    await whenAborted(signal);
    while (this.#tasks.size > 0) await Promise.all([...this.#tasks]);
    throttle.cancel(send);
  }
}

/** A job's settings in canonical form, secrets included (compared, never shown); where it is defined left out. */
function jobKey(job: ScrapeConfig): string {
  return canonical({ ...job, source: undefined });
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
