/**
 * Leader election on a Lease, with client-go's semantics (`tools/leaderelection`): a candidate takes the Lease only
 * when it is free, already its own, or has not changed for a whole lease duration as observed on the candidate's
 * own monotonic clock (so clocks may be skewed; only their rates must roughly agree); the leader renews every retry
 * period and stops leading once it has gone a renew deadline without a successful renewal; on a graceful stop it
 * releases the Lease (an empty holder), so a standby takes over at its next try instead of after a lease duration.
 *
 * Two departures, both on the safe side: a leader that sees another holder in the Lease steps down at once instead
 * of retrying until its renew deadline; and every acquisition by a process that was not leading counts as a holder
 * change, even when the Lease names its own identity (a restarted pod), so that each stint of leadership gets a
 * term of its own. The term is the Lease's `leaseTransitions + 1` after the acquiring write; `leaseTransitions`
 * only grows, so terms strictly increase from one leader to the next.
 */
import { errorMessage } from '@promfleet/model';
import { ApiError } from '../discovery/kubernetes/client.js';
import { pause, systemClock, type Clock } from './clock.js';
import type { Lease, LeaseClient, LeaseSpec } from './lease.js';

/** client-go's defaults, as the Kubernetes control plane uses them. */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;

/** client-go's `JitterFactor`: a candidate's retries wait between 1 and 2.2 retry periods. */
const JITTER_FACTOR = 1.2;

/** How long (in lease durations) a deposed candidate refuses a Lease that would give it a term it was fenced at. */
export const FENCE_HOLD_LEASE_DURATIONS = 5;

/** Why a leader stopped leading. */
export type LeadershipLoss = 'renew-deadline' | 'lease-taken' | 'deposed' | 'stopping';

/** Who leads, as this candidate last saw the Lease; `holder` undefined when no one does. */
export interface LeaderView {
  readonly holder?: string;
  /** The holder's term (`leaseTransitions + 1`); undefined when no one holds the Lease. */
  readonly term?: number;
}

/** The outcome of one Lease request, for metrics and logs. */
/**
 * `fenced`: the Lease would give this candidate a term no higher than one a worker has shown it (the Lease is not the
 * one the fleet follows, see {@link LeaderElector.stepDown}), so it did not take it.
 */
/** `fenced-jump`: acquired past the fence, with the Lease's transitions raised (see {@link LeaderElector.stepDown}). */
export type LeaseAttempt = 'acquired' | 'fenced-jump' | 'renewed' | 'released' | 'held-by-other' | 'fenced' | 'conflict' | 'error';

/** What the elector reports. All callbacks are synchronous and must not throw. */
export interface LeaderElectorEvents {
  /** This candidate now leads in `term`. Called before any other work of the new term. */
  started(term: number): void;
  /** This candidate no longer leads; whatever it did as leader must stop now. Called before the Lease is released. */
  stopped(reason: LeadershipLoss): void;
  /** Another holder (or none) was seen in the Lease. */
  leaderChanged?(view: LeaderView): void;
  /** One try of acquiring or renewing ended so; `error` says why for `conflict` and `error`. */
  attempted?(outcome: LeaseAttempt, error?: string): void;
}

/** Options of {@link LeaderElector}. */
export interface LeaderElectorOptions {
  readonly client: LeaseClient;
  /** This candidate's identity (the pod name); must differ between candidates. */
  readonly identity: string;
  /** How long a non-leader waits on an unchanged Lease before taking it; 15 s by default. */
  readonly leaseDurationMs?: number;
  /** How long a leader keeps leading without a successful renewal; 10 s by default, below the lease duration. */
  readonly renewDeadlineMs?: number;
  /** The time between tries; 2 s by default, below the renew deadline. */
  readonly retryPeriodMs?: number;
  readonly clock?: Clock;
  /** Uniform in [0, 1): the retries' jitter. */
  readonly random?: () => number;
}

/** Timings that cannot work (renew deadline not below the lease duration, retry period not below the renew deadline). */
export class LeaderElectionConfigError extends Error {
  override readonly name = 'LeaderElectionConfigError';
  readonly code = 'PROMFLEET_LEADER_ELECTION_CONFIG';
}

/** Elects one leader among the candidates that share a Lease. `run` once. */
export class LeaderElector {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly #clock: Clock;
  readonly #random: () => number;
  /** The Lease as last read or written, and when (our clock) its spec was first seen as it is. */
  #lease: Lease | undefined;
  #observedSpec = '';
  #observedAt = 0;
  #leading = false;
  #term = 0;
  /** The highest term a worker has shown this candidate: it leads in no term at or below it (see stepDown). */
  #fencedTerm = 0;
  /** When (our clock) the fence was last raised. */
  #fencedAt = 0;
  /** When (our clock) the latest try of acquiring or renewing was sent: the renew deadline counts from there. */
  #triedAt = 0;
  /** Ends the leader's current stint: aborts a renewal in flight and wakes the renew loop. */
  #stint: AbortController | undefined;
  #events: LeaderElectorEvents | undefined;

  constructor(private readonly options: LeaderElectorOptions) {
    this.leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryPeriodMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    if (!(this.renewDeadlineMs < this.leaseDurationMs)) {
      throw new LeaderElectionConfigError(`the renew deadline (${this.renewDeadlineMs} ms) must be below the lease duration (${this.leaseDurationMs} ms)`);
    }
    if (!(this.retryPeriodMs > 0 && this.retryPeriodMs < this.renewDeadlineMs)) {
      throw new LeaderElectionConfigError(`the retry period (${this.retryPeriodMs} ms) must be above 0 and below the renew deadline (${this.renewDeadlineMs} ms)`);
    }
    if (options.identity === '') throw new LeaderElectionConfigError('the candidate identity must not be empty');
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
  }

  /** Whether this candidate leads now. */
  get leading(): boolean {
    return this.#leading;
  }

  /** The term this candidate leads in; 0 when it does not lead. */
  get term(): number {
    return this.#leading ? this.#term : 0;
  }

  /** Who leads as the Lease last said (this candidate included). */
  leader(): LeaderView {
    const spec = this.#lease?.spec;
    const holder = spec?.holderIdentity ?? '';
    return holder === '' ? {} : { holder, term: (spec?.leaseTransitions ?? 0) + 1 };
  }

  /**
   * Stops leading now, for `reason` (a worker knows of a higher term: another candidate leads). The elector goes on
   * as a candidate, but leads in no term at or below `knownTerm`, the term the worker showed. Terms of one Lease only
   * grow, so a Lease that would give it such a term is either not the Lease the fleet's leader holds (a master pointed
   * at another API server or Lease by mistake: leading on it would make two leaders) or one that was deleted and
   * created again while no master ran. For {@link FENCE_HOLD_LEASE_DURATIONS} lease durations it takes no such
   * Lease; after that it takes it with its transitions raised past `knownTerm` (`fenced-jump`, logged), so that a
   * recreated Lease cannot leave the fleet without a leader for ever.
   */
  stepDown(reason: LeadershipLoss, knownTerm = 0): void {
    if (knownTerm > this.#fencedTerm) {
      this.#fencedTerm = knownTerm;
      this.#fencedAt = this.#clock.now();
    }
    this.#lose(reason);
  }

  /**
   * Runs the election until `signal` aborts: tries to acquire every retry period (jittered), leads while it renews,
   * and goes back to trying when it stops leading. On abort a leader stops leading, then releases the Lease. Never
   * rejects for API-server trouble.
   */
  async run(signal: AbortSignal, events: LeaderElectorEvents): Promise<void> {
    this.#events = events;
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew(signal)) {
        // Acquired as the stop came: release it below without leading.
        if (signal.aborted) break;
        await this.#lead(signal);
      }
      await pause(this.#clock, this.retryPeriodMs * (1 + JITTER_FACTOR * this.#random()), signal);
    }
    this.#lose('stopping');
    await this.#release();
  }

  /** Renews every retry period until the stint ends (renew deadline, Lease taken, step-down, or abort). */
  async #lead(signal: AbortSignal): Promise<void> {
    const stint = new AbortController();
    this.#stint = stint;
    this.#leading = true;
    this.#term = (this.#lease?.spec.leaseTransitions ?? 0) + 1;
    // From when the successful request was sent, not when its answer came: the Lease says we renewed at about then.
    const armDeadline = () => this.#clock.setTimeout(() => this.#lose('renew-deadline'), Math.max(0, this.renewDeadlineMs - (this.#clock.now() - this.#triedAt)));
    let cancelDeadline = armDeadline();
    this.#events?.started(this.#term);
    const onAbort = () => stint.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!stint.signal.aborted) {
        await pause(this.#clock, this.retryPeriodMs, stint.signal);
        if (stint.signal.aborted) break;
        if (await this.#tryAcquireOrRenew(stint.signal)) {
          cancelDeadline();
          cancelDeadline = armDeadline();
        } else if (this.leader().holder !== this.options.identity) {
          this.#lose('lease-taken');
        }
      }
    } finally {
      cancelDeadline();
      signal.removeEventListener('abort', onAbort);
    }
  }

  #lose(reason: LeadershipLoss): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#stint?.abort();
    this.#events?.stopped(reason);
  }

  /**
   * One try, as client-go's `tryAcquireOrRenew`: a leader first updates the Lease it last wrote (one request); if
   * that fails (a conflict, an error), or for a candidate, it reads the Lease and decides from what it shows.
   */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    this.#triedAt = this.#clock.now();
    const wallNow = this.#clock.unixNowMs();
    // A leader whose Lease was deleted creates it again at its own term: a Lease's terms never go back while it leads.
    const floor = this.#leading ? this.#term - 1 : 0;
    const spec = (previous: LeaseSpec | undefined, keep: boolean): LeaseSpec => ({
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      renewTime: microTime(wallNow),
      acquireTime: keep ? (previous?.acquireTime ?? microTime(wallNow)) : microTime(wallNow),
      leaseTransitions: keep ? (previous?.leaseTransitions ?? floor) : previous === undefined ? floor : (previous.leaseTransitions ?? 0) + 1,
    });
    const ours = this.#lease;
    if (this.#leading && ours !== undefined) {
      try {
        this.#observe(await this.options.client.update({ ...ours, spec: { ...ours.spec, ...spec(ours.spec, true) } }, signal));
        this.#events?.attempted?.('renewed');
        return true;
      } catch (err) {
        if (signal.aborted) return false;
        this.#report(err);
      }
    }
    let acquired: LeaseAttempt = 'acquired';
    /** The spec to acquire with, or undefined while the fence holds (see stepDown). */
    const unfenced = (next: LeaseSpec): LeaseSpec | undefined => {
      if ((next.leaseTransitions ?? 0) + 1 > this.#fencedTerm) return next;
      if (this.#clock.now() < this.#fencedAt + FENCE_HOLD_LEASE_DURATIONS * this.leaseDurationMs) {
        this.#events?.attempted?.('fenced');
        return undefined;
      }
      acquired = 'fenced-jump';
      return { ...next, leaseTransitions: this.#fencedTerm };
    };
    try {
      const current = await this.options.client.get(signal);
      if (current === undefined) {
        const created = this.#leading ? spec(undefined, false) : unfenced(spec(undefined, false));
        if (created === undefined) return false;
        this.#observe(await this.options.client.create(created, signal));
        this.#events?.attempted?.(this.#leading ? 'renewed' : acquired);
        return true;
      }
      this.#observe(current);
      const holder = current.spec.holderIdentity ?? '';
      // The longer of ours and the holder's own duration: a holder with a longer one (a rollout changing the flag) is
      // still within its lease when ours has run out.
      const holderDurationMs = (current.spec.leaseDurationSeconds ?? 0) * 1000;
      const expired = this.#clock.now() >= this.#observedAt + Math.max(this.leaseDurationMs, holderDurationMs);
      // A leader that finds the Lease in other hands (or released) has lost it, however old the record looks.
      if ((holder !== '' && holder !== this.options.identity && !expired) || (this.#leading && holder !== this.options.identity)) {
        this.#events?.attempted?.('held-by-other');
        return false;
      }
      const renewing = this.#leading && holder === this.options.identity;
      const next = renewing ? spec(current.spec, true) : unfenced(spec(current.spec, false));
      if (next === undefined) return false;
      this.#observe(await this.options.client.update({ ...current, spec: { ...current.spec, ...next } }, signal));
      this.#events?.attempted?.(renewing ? 'renewed' : acquired);
      return true;
    } catch (err) {
      if (!signal.aborted) this.#report(err);
      return false;
    }
  }

  #report(err: unknown): void {
    this.#events?.attempted?.(err instanceof ApiError && err.status === 409 ? 'conflict' : 'error', errorMessage(err));
  }

  /** Remembers the Lease; a spec not seen before restarts the observed time (client-go's `observedTime`). */
  #observe(lease: Lease): void {
    const before = this.leader();
    this.#lease = lease;
    const text = JSON.stringify([lease.spec.holderIdentity ?? '', lease.spec.renewTime ?? '', lease.spec.acquireTime ?? '', lease.spec.leaseTransitions ?? 0, lease.spec.leaseDurationSeconds ?? 0]);
    if (text !== this.#observedSpec) {
      this.#observedSpec = text;
      this.#observedAt = this.#clock.now();
    }
    const after = this.leader();
    if (before.holder !== after.holder || before.term !== after.term) this.#events?.leaderChanged?.(after);
  }

  /**
   * client-go's `release`: an empty holder, a one-second duration, the transitions kept. Only a Lease this candidate
   * wrote last (as leader, or acquired as it stopped). One try, best effort.
   */
  async #release(): Promise<void> {
    const ours = this.#lease;
    if (ours === undefined || ours.spec.holderIdentity !== this.options.identity) return;
    const wallNow = microTime(this.#clock.unixNowMs());
    const released: LeaseSpec = { ...ours.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: wallNow, renewTime: wallNow };
    const controller = new AbortController();
    const cancel = this.#clock.setTimeout(() => controller.abort(), this.retryPeriodMs);
    try {
      this.#observe(await this.options.client.update({ ...ours, spec: released }, controller.signal));
      this.#events?.attempted?.('released');
    } catch (err) {
      this.#report(err);
    } finally {
      cancel();
    }
  }
}

/** A Kubernetes `MicroTime`: RFC 3339 in UTC with microseconds. */
export function microTime(unixMs: number): string {
  return new Date(unixMs).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
