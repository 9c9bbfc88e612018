/**
 * The fleet: the master's members (one per open worker stream), the allocator that assigns discovered targets to
 * them, and each member's outbox. Transport-free: the gRPC layer (server.ts) hands it sessions and messages, and
 * it writes MasterMessages back through {@link WorkerSession}; so membership, handover and flow control are tested
 * without sockets.
 *
 * Lifecycle of a master: it starts *recovering*. Workers that connect are welcomed and keep scraping what they
 * hold (they get no assignment yet); what they report holding is adopted. Once the startup grace has passed since the
 * first worker joined and every job's discovery has synced (or the startup wait ran out), the allocator settles and every member gets its
 * snapshot: a master restart moves nothing, and a target that changes holder is handed over slot by slot. Held
 * targets of jobs not synced yet stay with their holders until discovery settles them. From then on, every discovery update, membership change, cost report
 * and rebalance turns into the few owner changes the allocator makes, and each into a delta for the workers
 * concerned.
 *
 * The fleet drives; its parts each own one thing: members.ts the members, their streams and flow control;
 * catalog.ts the known targets and their costs; the allocation strategy (allocation/strategy.ts) who owns each
 * target; holdings.ts what workers reported holding that is not settled yet; handover.ts the slots of an owner
 * change; outbox.ts and messages.ts what goes on the wire.
 */
import { errorMessage, type Target, type TargetId } from '@promfleet/model';
import {
  PROTOCOL_VERSION,
  RemoteWriteEndpoint,
  ScrapeJob,
  targetIdFromBytes,
  truncateError,
  type HealthReport,
  type Hello,
  type WorkerMessage,
} from '@promfleet/protocol';
import { randomBytes } from 'node:crypto';
import { Allocator, type AllocationStrategy, type Assignment, type WorkerId, type WorkerInfo } from '../allocation/index.js';
import type { JobTargets } from '../discovery/manager.js';
import { RefusedReason, type RefusalEvent } from './admission.js';
import { TargetCatalog, type TargetEntry } from './catalog.js';
import { planHandover } from './handover.js';
import { Holdings, type Holding } from './holdings.js';
import { Members, type JoinEvent, type Member, type WorkerSession } from './members.js';
import { refusalMessage, welcomeMessage } from './messages.js';
import { MAX_SETTING_BYTES, endpointBytes, jobBytes, type FleetSettings } from './outbox.js';
import type { FleetStatusSource, TargetMove, TargetStatus, WorkerStatus } from './status.js';

export type { JoinEvent, WorkerSession } from './members.js';

/** Things the fleet reports as they happen: for metrics and logs. */
export interface FleetObserver {
  refused?(event: RefusalEvent): void;
  joined?(event: JoinEvent): void;
  disconnected?(reason: 'ack-timeout' | 'protocol-error', workerId: string): void;
  moved?(reason: TargetMove['reason'], count: number): void;
  allocated?(operation: string, seconds: number): void;
  acked?(seconds: number): void;
  sent?(kind: 'snapshot' | 'delta', count: number): void;
  settled?(assigned: number): void;
  /**
   * The fleet recovers again, as after a start: its last worker left (`no-workers`), so the next ones to join may hold
   * targets; it adopts what they report and settles a startup grace after the first of them joined.
   */
  recovering?(cause: 'no-workers'): void;
  memberLeft?(workerId: string, cause: 'grace-expired' | 'drained'): void;
  /**
   * A job or remote-write endpoint too large to send in any message (`bytes` encoded, above `limitBytes`): it is left
   * out of every assignment, and so are a job's targets.
   */
  settingRejected?(kind: 'job' | 'remote-write', name: string, sizes: { readonly bytes: number; readonly limitBytes: number }): void;
  /**
   * A worker says in its Hello that its previous stream ended with RESOURCE_EXHAUSTED (a message above a gRPC size
   * limit), which grpc-js never tells the master's code. `details` is the gRPC status text.
   */
  resourceExhausted?(workerId: string, details: string): void;
  /**
   * A worker's Hello names a leader term above this fleet's: another master was elected after this one and this one
   * has not noticed (a partition, a paused process). The worker was refused as NOT_LEADER; the master must stop
   * leading now (fencing).
   */
  deposed?(event: { readonly workerId: string; readonly term: number }): void;
}

/** Options of {@link Fleet}. */
export interface FleetOptions {
  /** The master's identity (its pod name), sent in Welcome. */
  readonly masterId: string;
  readonly softwareVersion: string;
  /** The port of the master's status page, sent in Welcome so that workers link it; absent when unknown. */
  readonly webPort?: number;
  /**
   * The leader term this fleet serves under (leader election's term, from the Lease), sent in Welcome and with every
   * assignment; 1 when the master runs alone, without election.
   */
  readonly leaderTerm?: number;
  /** How long a worker whose stream broke may take to come back before its targets move; 10 s by default. */
  readonly graceMs?: number;
  /**
   * How long a starting master waits for workers to reconnect and report what they hold before it assigns; 15 s by
   * default, above the workers' longest reconnect backoff (10 s), so that a restart moves nothing even when the
   * master was away long enough for workers to back off fully. At least the grace period.
   */
  readonly startupGraceMs?: number;
  /** The longest a starting master waits for discovery to sync before it settles anyway; 120 s by default. */
  readonly startupWaitMs?: number;
  /** Heartbeat interval both sides use; 5 s by default. */
  readonly heartbeatIntervalMs?: number;
  /** How often workers report target health; 15 s by default. */
  readonly healthReportIntervalMs?: number;
  /** How far ahead of now a handover's first slot must lie, so both workers have it in time; 2 s by default. */
  readonly handoverLeadMs?: number;
  /** Generations a worker may have unacknowledged before changes wait (coalesced) for its acks; 4 by default. */
  readonly maxUnackedGenerations?: number;
  /** A worker that leaves a generation unacknowledged this long is disconnected; 60 s by default. */
  readonly ackTimeoutMs?: number;
  /** How often cost drift is rebalanced, and how many targets each time (default: 1 % of targets per minute). */
  readonly rebalanceIntervalMs?: number;
  readonly rebalanceMovesPerMinute?: number;
  /**
   * The most members (workers connected, draining or within their grace period); a Hello naming a new worker beyond
   * it is refused (`max_workers`). 10,000 by default.
   */
  readonly maxWorkers?: number;
  /** Limits that apply to every worker. */
  readonly workerMaxTargets?: number;
  readonly workerMaxSamples?: number;
  /** Owner changes kept per target; 4 by default. */
  readonly historyPerTarget?: number;
  /**
   * Assigns targets to workers, and is the one place that knows a target's owner; an {@link Allocator} that starts
   * recovering by default. One per fleet.
   */
  readonly strategy?: AllocationStrategy;
  readonly observer?: FleetObserver;
  /** The wall clock (Unix ms); Date.now by default. */
  readonly now?: () => number;
}

/** The default of {@link FleetOptions.maxWorkers}. */
export const DEFAULT_MAX_WORKERS = 10_000;

const workerIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$/;

/** The master's fleet of workers. One instance per master process. */
export class Fleet implements FleetStatusSource {
  readonly #allocator: AllocationStrategy;
  readonly #members: Members;
  readonly #targets = new TargetCatalog();
  /** Configured jobs → whether their discovery has synced once on this master. */
  readonly #synced = new Map<string, boolean>();
  /** What workers reported holding that is not settled yet (see holdings.ts). */
  readonly #holdings = new Holdings();
  /** Jobs left out because they are too large to send: their targets are ignored. */
  readonly #rejectedJobs = new Set<string>();
  /**
   * Jobs accepted again after being left out: the fleet has none of their targets, and discovery reports only what
   * changes, so their next update is taken whole.
   */
  readonly #readmittedJobs = new Set<string>();
  readonly #now: () => number;
  readonly #timers: NodeJS.Timeout[] = [];
  #settings: FleetSettings = { jobs: [], remoteWrite: [] };
  /**
   * When the current recovery window opened: when the first worker joined the recovering fleet (or at the start, for
   * workers that joined before it). Undefined while recovering with no worker yet (the window waits for one).
   */
  #recoveryOpenedAt: number | undefined;
  #settleTimer: NodeJS.Timeout | undefined;
  #started = false;
  #stopping = false;
  /** The higher term a worker reported, once one did: this fleet no longer leads (fencing). */
  #deposedBy: number | undefined;

  constructor(private readonly options: FleetOptions) {
    this.#now = options.now ?? Date.now;
    this.#allocator = options.strategy ?? new Allocator({ recovering: true });
    this.#members = new Members({
      now: this.#now,
      leaderTerm: this.leaderTerm,
      maxUnackedGenerations: options.maxUnackedGenerations ?? 4,
      ackTimeoutMs: options.ackTimeoutMs ?? 60_000,
      mayAssign: () => !this.#allocator.recovering && this.#deposedBy === undefined,
      ...(options.observer === undefined ? {} : { observer: options.observer }),
    });
  }

  get #graceMs(): number {
    return this.options.graceMs ?? 10_000;
  }

  /** The most members the fleet takes ({@link FleetOptions.maxWorkers}). */
  get maxWorkers(): number {
    return this.options.maxWorkers ?? DEFAULT_MAX_WORKERS;
  }

  /** The leader term this fleet serves under ({@link FleetOptions.leaderTerm}). */
  get leaderTerm(): number {
    return this.options.leaderTerm ?? 1;
  }

  get heartbeatIntervalMs(): number {
    return this.options.heartbeatIntervalMs ?? 5_000;
  }

  /**
   * Sets the jobs and remote-write endpoints every worker receives, before {@link Fleet.start} or while running (a
   * config reload). A job or endpoint that encodes to more than `MAX_SETTING_BYTES` (hundreds of thousands of relabel
   * rules) fits no message: it is left out, with `settingRejected` told, and a left-out job's targets are never
   * assigned. Sending it would end every worker's stream with RESOURCE_EXHAUSTED, again on every reconnect.
   *
   * While running, every worker's next delta carries the change: new and changed jobs as upserted jobs (the targets
   * of a changed job keep running with the new settings), removed ones (and ones now left out) after their targets,
   * which leave as GONE (staleness markers), and the whole remote-write list when it changed. Discovery tells the
   * fleet about the targets of new and changed jobs through {@link Fleet.updateJobs}, as ever; the targets of a
   * removed job leave here, and discovery's later word on that job is ignored.
   */
  configure(settings: FleetSettings): void {
    const previous = this.#settings;
    const leftOut = new Set(this.#rejectedJobs);
    this.#rejectedJobs.clear();
    const fits = (kind: 'job' | 'remote-write', name: string, bytes: number): boolean => {
      if (bytes <= MAX_SETTING_BYTES) return true;
      this.options.observer?.settingRejected?.(kind, name, { bytes, limitBytes: MAX_SETTING_BYTES });
      if (kind === 'job') this.#rejectedJobs.add(name);
      return false;
    };
    const before = new Map(previous.jobs.map((job) => [job.name, job]));
    // The fleet's own setting (target_limit's forced error) carries over; updateJobs settles it for a changed job.
    const jobs = settings.jobs
      .filter((job) => fits('job', job.name, jobBytes(job)))
      .map((job) => {
        const forcedError = before.get(job.name)?.forcedError ?? '';
        return forcedError === job.forcedError ? job : { ...job, forcedError };
      });
    let remoteWrite = settings.remoteWrite.filter((endpoint) => fits('remote-write', endpoint.name, endpointBytes(endpoint)));
    const remoteWriteChanged = !sameSettings(previous.remoteWrite, remoteWrite, endpointBytesOf);
    if (this.#started && remoteWriteChanged) {
      const bytes = remoteWrite.reduce((sum, endpoint) => sum + endpointBytes(endpoint), 0);
      // A delta carries the whole list: one that cannot fit a delta keeps the old list (snapshots would split it).
      if (!fits('remote-write', '(every endpoint)', bytes)) remoteWrite = [...previous.remoteWrite];
    }
    this.#settings = { jobs, remoteWrite };
    const names = new Set(jobs.map((job) => job.name));
    const removed = previous.jobs.filter((job) => !names.has(job.name)).map((job) => job.name);
    for (const name of this.#synced.keys()) if (!names.has(name)) this.#synced.delete(name);
    for (const job of jobs) if (!this.#synced.has(job.name)) this.#synced.set(job.name, false);
    for (const name of this.#readmittedJobs) if (!names.has(name)) this.#readmittedJobs.delete(name);
    for (const name of leftOut) if (names.has(name)) this.#readmittedJobs.add(name);
    if (!this.#started) return;

    for (const name of removed) this.#removeJobTargets(name);
    // Judged once for the fleet, not per worker: each comparison encodes both settings.
    const upserted = jobs.filter((job) => {
      const old = before.get(job.name);
      return old === undefined || !sameSettings([old], [job], jobBytesOf);
    });
    const sendRemoteWrite = !sameSettings(previous.remoteWrite, remoteWrite, endpointBytesOf);
    for (const m of this.#members.values()) {
      for (const job of upserted) m.outbox.upsertJob(job);
      for (const name of removed) m.outbox.removeJob(name);
      if (sendRemoteWrite) m.outbox.setRemoteWrite(remoteWrite);
    }
    this.#members.scheduleFlush();
  }

  /**
   * Takes every target of a job that left the config away from the workers, as GONE: the ones the fleet assigned and
   * the ones workers keep under the job while it had not synced.
   */
  #removeJobTargets(job: string): void {
    const remove = [...this.#targets.ofJob(job)].map((entry) => entry.target.id);
    for (const id of remove) this.#targets.drop(job, id);
    const changes = this.#allocate('targets', () => this.#allocator.updateTargets({ upsert: new Map(), remove }));
    if (!this.#allocator.recovering) this.#apply(changes);
    for (const id of remove) this.#targets.forget(id);
    for (const w of [...this.#holdings.workers()]) {
      const member = this.#members.get(w);
      for (const [id, holdingJob] of this.#holdings.of(w)) if (holdingJob === job) member?.outbox.remove(id, { reason: 'gone', lastSlotUnixMs: 0 });
    }
    this.#holdings.retain((_id, holdingJob) => holdingJob !== job);
  }

  /** Starts the settle timer and the periodic work (rebalancing, ack timeouts). */
  start(): void {
    this.#started = true;
    // The window opens with the first worker, not at the start: a newly elected leader is reachable only once it is
    // ready and the Service has it, and its workers then come back within their backoff of each other.
    if (this.#members.size > 0) {
      this.#recoveryOpenedAt = this.#now();
      this.#settleWhenReady();
    }
    const rebalanceMs = this.options.rebalanceIntervalMs ?? 10_000;
    this.#timers.push(setInterval(() => this.#rebalance(rebalanceMs), rebalanceMs));
    this.#timers.push(setInterval(() => this.#members.checkAcks(), Math.min(this.heartbeatIntervalMs, 1_000)));
  }

  /** Stops timers and refuses new workers; open sessions are left to the transport to close. */
  stop(): void {
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    clearTimeout(this.#settleTimer);
    for (const m of this.#members.values()) clearTimeout(m.grace);
  }

  // ---- discovery ----------------------------------------------------------------------------------------------

  /**
   * Applies the jobs whose targets changed (DiscoveryManager.run's callback). Costs what changed: each job's
   * `added` and `removed`, not its size.
   */
  updateJobs(changed: readonly JobTargets[]): void {
    const upsert = new Map<TargetId, number>();
    const remove: TargetId[] = [];
    const newlySynced = new Set<string>();
    const now = this.#now();
    for (const job of changed) {
      const name = job.job.jobName;
      // Only configured jobs are assigned: not a rejected one, nor one a reload removed (its targets left with configure).
      if (!this.#synced.has(name)) continue;
      if (job.synced && this.#synced.get(name) !== true) newlySynced.add(name);
      this.#synced.set(name, job.synced || this.#synced.get(name) === true);
      const whole = this.#readmittedJobs.delete(name);
      for (const id of whole ? [] : job.removed) {
        if (this.#targets.drop(name, id)) remove.push(id);
      }
      for (const id of whole ? job.targets.keys() : job.added) {
        const target = job.targets.get(id);
        const cost = target === undefined ? undefined : this.#targets.add(target, now);
        if (cost !== undefined) upsert.set(id, cost);
      }
    }
    for (const job of changed) if (this.#synced.has(job.job.jobName)) this.#checkTargetLimit(job);
    if (this.#allocator.recovering) {
      // Nothing is assigned before settling, which takes every worker's report as it then is.
      this.#allocate('targets', () => this.#allocator.updateTargets({ upsert, remove }));
      for (const id of remove) this.#targets.forget(id);
      return;
    }
    // Kept targets discovery now reports, and those of jobs that synced without them, leave their holders'
    // reserved load before the allocator places anything.
    const discovered = [...upsert.keys()].filter((id) => this.#holdings.holders(id) !== undefined);
    const affected = new Set<WorkerId>();
    for (const id of discovered) for (const w of this.#holdings.holders(id) ?? []) affected.add(w);
    if (newlySynced.size > 0) {
      for (const w of this.#holdings.workers()) for (const job of this.#holdings.of(w).values()) if (newlySynced.has(job)) affected.add(w);
    }
    for (const w of affected) this.#reserveKept(w);
    if (upsert.size > 0 || remove.length > 0) {
      this.#apply(this.#allocate('targets', () => this.#allocator.updateTargets({ upsert, remove })));
    }
    for (const id of remove) this.#targets.forget(id);
    this.#settleKept({ discovered, newlySynced });
  }

  /**
   * Settles kept targets (held, of a job not synced, unknown to the master) that discovery reported (`#apply` moved
   * them from their holders already; one placed nowhere stops now, as a target without room does), and those of
   * `newlySynced` jobs it did not report: gone, with staleness markers.
   */
  #settleKept(kept: { discovered: readonly TargetId[]; newlySynced: ReadonlySet<string> }): void {
    const assignment = this.#allocator.assignment();
    for (const id of kept.discovered) {
      if (!assignment.has(id)) {
        for (const w of this.#holdings.holders(id) ?? []) this.#members.get(w)?.outbox.remove(id, { reason: 'moved', lastSlotUnixMs: 0 });
      }
      this.#holdings.settle(id);
    }
    if (kept.discovered.length > 0) this.#members.scheduleFlush();
    if (kept.newlySynced.size === 0) return;
    for (const w of [...this.#holdings.workers()]) {
      const member = this.#members.get(w);
      for (const [id, job] of this.#holdings.of(w)) {
        if (kept.newlySynced.has(job) && !this.#targets.has(id)) member?.outbox.remove(id, { reason: 'gone', lastSlotUnixMs: 0 });
      }
    }
    this.#holdings.retain((id, job) => this.#isKept(id, job));
    this.#members.scheduleFlush();
  }

  /**
   * Whether a target a worker holds is kept as it is: its job has not synced once on this master, which does not
   * know the target (AssignmentSnapshot.unsynced_jobs).
   */
  #isKept(id: TargetId, job: string): boolean {
    return this.#synced.get(job) === false && !this.#targets.has(id);
  }

  /** The configured jobs whose discovery has not synced once. */
  #unsyncedJobs(): string[] {
    return this.#settings.jobs.filter((job) => this.#synced.get(job.name) !== true).map((job) => job.name);
  }

  /** Tells the allocator the load of what `worker` keeps: it counts, and never moves. */
  #reserveKept(worker: WorkerId): void {
    let targets = 0;
    let cost = 0;
    for (const [id, job] of this.#holdings.of(worker)) {
      if (!this.#isKept(id, job)) continue;
      targets++;
      cost += this.#targets.defaultCost(job);
    }
    this.#allocator.reserve(worker, { targets, cost });
  }

  /**
   * Prometheus' target_limit: a scrape pool with more targets than the limit scrapes none of them, and each reports
   * `up` 0 with the error (`scrapePool.sync` sets a forced error on every loop). The master counts the job's
   * targets and tells every worker through the job's `forced_error`; the targets stay assigned, so they resume
   * where they are once the job is back under its limit.
   */
  #checkTargetLimit(job: JobTargets): void {
    const limit = job.job.targetLimit;
    const count = this.#targets.count(job.job.jobName);
    const forcedError = limit > 0 && count > limit ? `target_limit exceeded (number of targets: ${count}, limit: ${limit})` : '';
    const index = this.#settings.jobs.findIndex((j) => j.name === job.job.jobName);
    const current = this.#settings.jobs[index];
    if (current === undefined || current.forcedError === forcedError) return;
    const updated = { ...current, forcedError };
    this.#settings = { ...this.#settings, jobs: this.#settings.jobs.map((j, i) => (i === index ? updated : j)) };
    for (const m of this.#members.values()) m.outbox.upsertJob(updated);
    this.#members.scheduleFlush();
  }

  // ---- sessions -----------------------------------------------------------------------------------------------

  /**
   * Handles a stream's Hello, whole: the transport joins the held targets of the HeldTargets parts that follow a Hello
   * too large for one message. Welcomes the worker (and, once settled, sends its assignment) or refuses it. Returns
   * false when refused: the transport ends the call after the Refusal.
   */
  accept(session: WorkerSession, hello: Hello): boolean {
    const refuse = (refusal: { reason: RefusedReason; wire: Parameters<typeof refusalMessage>[0]['reason']; message: string; retryAfterMs?: number }): false => {
      const { reason, wire, message } = refusal;
      // A peer's strings are cut before they reach a log or a page: an id may be megabytes long.
      this.options.observer?.refused?.({ reason, peer: session.peer, workerId: truncateError(hello.workerId), message });
      session.send(refusalMessage({ reason: wire, message, retryAfterMs: refusal.retryAfterMs ?? 0 }));
      return false;
    };
    if (this.#stopping) return refuse({ reason: RefusedReason.unavailable, wire: 'UNAVAILABLE', message: 'the master is shutting down', retryAfterMs: 5_000 });
    if (this.#deposedBy === undefined && hello.highestLeaderTerm > this.leaderTerm) {
      this.#deposedBy = hello.highestLeaderTerm;
      this.options.observer?.deposed?.({ workerId: truncateError(hello.workerId), term: hello.highestLeaderTerm });
    }
    if (this.#deposedBy !== undefined) {
      return refuse({
        reason: RefusedReason.notLeader,
        wire: 'NOT_LEADER',
        message: `this master leads term ${this.leaderTerm}, and a worker has seen term ${this.#deposedBy}: another master leads now`,
      });
    }
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      return refuse({
        reason: RefusedReason.protocolVersionMismatch,
        wire: 'PROTOCOL_VERSION_MISMATCH',
        message: `protocol version ${hello.protocolVersion} is not supported; this master speaks ${PROTOCOL_VERSION}`,
      });
    }
    const id = hello.workerId === '' ? `worker-${randomBytes(4).toString('hex')}` : hello.workerId;
    if (!workerIdPattern.test(id)) {
      return refuse({
        reason: RefusedReason.invalidHello,
        wire: 'INVALID_HELLO',
        message: `worker id ${JSON.stringify(truncateError(id))} is not a valid name (letters, digits, ".", "_", ":", "-"; at most 253)`,
      });
    }
    const held: Holding[] = [];
    try {
      for (const h of hello.heldTargets) held.push({ id: targetIdFromBytes(h.id), job: h.job });
    } catch (err) {
      return refuse({ reason: RefusedReason.invalidHello, wire: 'INVALID_HELLO', message: `held_targets: ${errorMessage(err)}` });
    }
    const member = this.#members.get(id);
    // The id belongs to the credential that first claimed it for as long as the member exists, connected or not:
    // another credential can neither take a live id nor one whose stream broke (its grace period).
    if (member !== undefined && member.identity !== session.identity) {
      return refuse({
        reason: RefusedReason.workerIdBound,
        wire: 'DUPLICATE_WORKER_ID',
        message: `worker id ${JSON.stringify(id)} is bound to another credential while the worker is a member (connected, draining or within its grace period)`,
        retryAfterMs: this.#graceMs,
      });
    }
    if (member?.session !== undefined) {
      return refuse({
        reason: RefusedReason.duplicateWorkerId,
        wire: 'DUPLICATE_WORKER_ID',
        message: `worker id ${JSON.stringify(id)} is held by a live stream from ${member.session.peer}`,
        retryAfterMs: this.heartbeatIntervalMs * 3,
      });
    }
    const maxWorkers = this.maxWorkers;
    if (member === undefined && this.#members.size >= maxWorkers) {
      return refuse({
        reason: RefusedReason.maxWorkers,
        wire: 'UNAVAILABLE',
        message: `the fleet has ${this.#members.size} members, the most this master takes (--fleet.max-workers=${maxWorkers})`,
        retryAfterMs: this.#graceMs,
      });
    }
    session.send(
      welcomeMessage({
        masterId: this.options.masterId,
        leaderTerm: this.leaderTerm,
        workerId: id,
        heartbeatIntervalMs: this.heartbeatIntervalMs,
        healthReportIntervalMs: this.options.healthReportIntervalMs ?? 15_000,
        softwareVersion: this.options.softwareVersion,
        ...(this.options.webPort === undefined ? {} : { webPort: this.options.webPort }),
      }),
    );
    const { member: joined, rejoined } = this.#members.join(session, { id, hello });
    const fingerprint = session.certificateFingerprint;
    this.options.observer?.joined?.({ workerId: id, peer: session.peer, identity: session.identity, ...(fingerprint === undefined ? {} : { certificateFingerprint: fingerprint }), rejoined });
    // Once welcomed, so a worker refused and retrying is counted once.
    if (hello.previousStreamResourceExhausted !== '') this.options.observer?.resourceExhausted?.(id, truncateError(hello.previousStreamResourceExhausted));
    this.#holdings.report(id, held);
    if (this.#allocator.recovering) {
      this.#setWorkers();
      this.#allocator.adopt(id, held.map((h) => h.id));
      if (this.#recoveryOpenedAt === undefined && this.#started) {
        this.#recoveryOpenedAt = this.#now();
        this.#settleWhenReady();
      }
      return true;
    }
    // A new worker joins; one back within its grace period, or from a drain, gets its capacity back. What it
    // reports holding tells who scrapes what while the changes are made; after its snapshot only what it keeps counts.
    this.#reserveKept(id);
    this.#apply(this.#setWorkers());
    this.#startStream(joined);
    this.#holdings.retain((target, job) => this.#isKept(target, job), id);
    return true;
  }

  /** Handles one message of an accepted session. */
  receive(session: WorkerSession, message: WorkerMessage): void {
    const member = this.#members.of(session);
    if (member === undefined) return;
    member.lastSeenUnixMs = this.#now();
    const kind = message.kind;
    switch (kind?.$case) {
      case 'ack':
        this.#members.ack(member, kind.ack.generation);
        break;
      case 'healthReport':
        this.#health(member, kind.healthReport);
        break;
      case 'drainRequest':
        this.#drain(member);
        break;
      case 'hello':
      case 'heldTargets':
        // The transport joins a Hello's HeldTargets parts before the Welcome; after it, either is a protocol error.
        this.options.observer?.disconnected?.('protocol-error', member.id);
        session.close(kind.$case === 'hello' ? 'a second Hello on the stream' : 'HeldTargets after the Welcome');
        break;
      case 'heartbeat':
      case undefined:
        // Heartbeats (and kinds from newer peers) only prove liveness.
        break;
    }
  }

  /** The session's transport can take more messages again. */
  writable(session: WorkerSession): void {
    const member = this.#members.of(session);
    if (member !== undefined) this.#members.writable(member);
  }

  /** The session ended, for whatever reason. A drained worker leaves now; any other gets its grace period. */
  closed(session: WorkerSession): void {
    const member = this.#members.detach(session);
    if (member === undefined) return;
    if (member.state === 'draining' && member.outbox.size === 0) {
      this.#leave(member, 'drained');
      return;
    }
    member.state = 'disconnected';
    member.grace = setTimeout(() => this.#leave(member, 'grace-expired'), this.#graceMs);
    member.grace.unref();
  }

  #leave(member: Member, cause: 'grace-expired' | 'drained'): void {
    if (this.#members.get(member.id) !== member || member.session !== undefined) return;
    this.#members.remove(member);
    this.#holdings.forget(member.id);
    this.options.observer?.memberLeft?.(member.id, cause);
    this.#apply(this.#setWorkers());
    // The last worker is gone: the next ones may come back holding targets (a partition healed, or a master they
    // reached first lost its lead). Recover as after a start rather than give every target to whichever comes first.
    if (this.#members.size === 0 && !this.#stopping && this.#allocator.recover()) {
      this.#recoveryOpenedAt = undefined;
      this.options.observer?.recovering?.('no-workers');
    }
  }

  #setWorkers(): Assignment[] {
    const workers: WorkerInfo[] = [];
    const { workerMaxTargets, workerMaxSamples } = this.options;
    for (const m of this.#members.values()) {
      const maxTargets = m.state === 'draining' ? 0 : workerMaxTargets;
      const capacity = { ...(maxTargets === undefined ? {} : { maxTargets }), ...(workerMaxSamples === undefined ? {} : { maxSamples: workerMaxSamples }) };
      workers.push({ id: m.id, capacity });
    }
    return this.#allocate('workers', () => this.#allocator.setWorkers(workers));
  }

  #startStream(member: Member): void {
    const { outbox } = member;
    if (this.#deposedBy !== undefined) return;
    if (outbox.canResume(member.hello.heldGeneration)) {
      outbox.resume();
    } else {
      const held = new Map<TargetId, Target>();
      const kept: TargetId[] = [];
      for (const h of member.hello.heldTargets) {
        const id = targetIdFromBytes(h.id);
        const entry = this.#targets.get(id);
        if (entry !== undefined) held.set(id, entry.target);
        else if (this.#isKept(id, h.job)) kept.push(id);
      }
      const parts = outbox.snapshot({ settings: this.#settings, heldGeneration: member.hello.heldGeneration, held, kept, unsyncedJobs: this.#unsyncedJobs() });
      this.#members.sendSnapshot(member, parts);
      return;
    }
    this.#members.flush(member);
  }

  #health(member: Member, report: HealthReport): void {
    const upsert = new Map<TargetId, number>();
    for (const h of report.targets) {
      let id: TargetId;
      try {
        id = targetIdFromBytes(h.targetId);
      } catch {
        continue;
      }
      const entry = this.#targets.get(id);
      if (entry === undefined || this.#allocator.assignment().get(id) !== member.id) continue;
      const cost = this.#targets.recordHealth(entry, h);
      if (cost !== undefined) upsert.set(id, cost);
    }
    if (upsert.size > 0) this.#apply(this.#allocate('costs', () => this.#allocator.updateTargets({ upsert })));
  }

  #drain(member: Member): void {
    if (member.state === 'draining') return;
    member.state = 'draining';
    this.#apply(this.#setWorkers());
  }

  // ---- allocation ---------------------------------------------------------------------------------------------

  #allocate(operation: string, run: () => Assignment[]): Assignment[] {
    const start = performance.now();
    const changes = run();
    this.options.observer?.allocated?.(operation, (performance.now() - start) / 1000);
    return changes;
  }

  #settleWhenReady(): void {
    this.#settleTimer = undefined;
    const opened = this.#recoveryOpenedAt;
    if (this.#stopping || !this.#allocator.recovering || opened === undefined) return;
    const synced = [...this.#synced.values()].every(Boolean);
    const elapsed = this.#now() - opened;
    const waitMs = this.options.startupWaitMs ?? 120_000;
    const startupGraceMs = Math.max(this.#graceMs, this.options.startupGraceMs ?? 15_000);
    if (elapsed < startupGraceMs || (!synced && elapsed < waitMs)) {
      this.#settleTimer = setTimeout(() => this.#settleWhenReady(), Math.min(250, this.#graceMs));
      this.#settleTimer.unref();
      return;
    }
    if (this.#members.size === 0) {
      // No worker came: nothing to assign to, and the first one to come opens a window of its own for the others.
      this.#recoveryOpenedAt = undefined;
      return;
    }
    for (const worker of this.#holdings.workers()) this.#reserveKept(worker);
    const changes = this.#allocate('settle', () => this.#allocator.settle());
    this.#apply(changes);
    this.options.observer?.settled?.(this.#allocator.assignment().size);
    for (const m of this.#members.values()) if (m.session !== undefined) this.#startStream(m);
    this.#holdings.retain((id, job) => this.#isKept(id, job));
  }

  #rebalance(intervalMs: number): void {
    // Not while a member is away: it would keep scraping what is moved from it until it is back or gone.
    if (this.#allocator.recovering || [...this.#members.values()].some((m) => m.session === undefined)) return;
    const perMinute = this.options.rebalanceMovesPerMinute ?? Math.max(1, Math.ceil(this.#targets.size / 100));
    const moveBudget = Math.max(1, Math.floor((perMinute * intervalMs) / 60_000));
    this.#apply(this.#allocate('rebalance', () => this.#allocator.rebalance({ moveBudget })));
  }

  /** Turns owner changes into outbox entries: handovers with slots, additions, removals. */
  #apply(changes: readonly Assignment[]): void {
    if (changes.length === 0) return;
    const now = this.#now();
    const lead = this.options.handoverLeadMs ?? 2_000;
    const limit = this.options.historyPerTarget ?? 4;
    const counts = new Map<TargetMove['reason'], number>();
    for (const change of changes) {
      const entry = this.#targets.get(change.target);
      if (entry === undefined) continue;
      const from = change.from === undefined ? undefined : this.#members.get(change.from);
      const to = change.to === undefined ? undefined : this.#members.get(change.to);
      // Who scrapes the target now: its owner, and the workers that reported holding it and are not settled yet
      // (at settle the allocator starts from nobody owning anything; a kept target has no owner).
      const holders = this.#holdings.holders(change.target);
      const sources = from === undefined ? [] : [from];
      for (const h of holders ?? []) {
        const holder = h === change.to || h === change.from ? undefined : this.#members.get(h);
        if (holder !== undefined) sources.push(holder);
      }
      const plan = planHandover({
        target: change.target,
        intervalMs: entry.target.intervalMs,
        nowMs: now,
        leadMs: lead,
        pendingFirstSlotUnixMs: entry.firstSlotUnixMs > now ? entry.firstSlotUnixMs : 0,
        newOwner: to === undefined ? 'none' : holders?.has(to.id) === true ? 'scraping' : 'starting',
        scrapedElsewhere: sources.length > 0,
        gone: change.reason === 'removed',
      });
      for (const source of sources) source.outbox.remove(change.target, plan.removal);
      if (to !== undefined) {
        to.outbox.add(entry.target, plan.firstSlotUnixMs);
        entry.firstSlotUnixMs = plan.firstSlotUnixMs;
      }
      const reason: TargetMove['reason'] = from?.state === 'draining' && change.reason === 'capacity' ? 'drained' : change.reason;
      counts.set(reason, (counts.get(reason) ?? 0) + 1);
      entry.sinceUnixMs = now;
      const previous = change.from ?? sources[0]?.id;
      if (change.to !== undefined || previous !== undefined) {
        entry.history.push({ atUnixMs: now, ...(previous === undefined ? {} : { from: previous }), ...(change.to === undefined ? {} : { to: change.to }), reason });
        if (entry.history.length > limit) entry.history.splice(0, entry.history.length - limit);
      }
    }
    for (const [reason, count] of counts) this.options.observer?.moved?.(reason, count);
    this.#members.scheduleFlush();
  }

  // ---- status -------------------------------------------------------------------------------------------------

  /** Whether the allocator is still waiting for workers and discovery after start. */
  get recovering(): boolean {
    return this.#allocator.recovering;
  }

  /** Targets no worker holds. */
  unassigned(): number {
    return this.#allocator.unassigned().length;
  }

  /** How many targets each job has, and how many of them are assigned. */
  jobCounts(): Map<string, { targets: number; assigned: number }> {
    const out = new Map<string, { targets: number; assigned: number }>();
    const owners = this.#allocator.assignment();
    for (const [id, entry] of this.#targets.entries()) {
      const c = out.get(entry.target.job) ?? { targets: 0, assigned: 0 };
      c.targets++;
      if (owners.has(id)) c.assigned++;
      out.set(entry.target.job, c);
    }
    return out;
  }

  /** Number of open streams. */
  streams(): number {
    return this.#members.streams;
  }

  workers(): WorkerStatus[] {
    const loads = this.#allocator.loads();
    return [...this.#members.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((m) => {
        const load = loads.get(m.id);
        const maxTargets = m.state === 'draining' ? 0 : this.options.workerMaxTargets;
        return {
          id: m.id,
          state: m.state,
          address: m.session?.peer ?? '',
          identity: m.identity,
          softwareVersion: truncateError(m.hello.softwareVersion),
          ...(m.hello.webPort === undefined ? {} : { webPort: m.hello.webPort }),
          connectedSinceUnixMs: m.connectedSinceUnixMs,
          lastSeenUnixMs: m.lastSeenUnixMs,
          generation: m.outbox.generation,
          ackedGeneration: m.outbox.ackedGeneration,
          targets: load?.targets ?? 0,
          cost: load?.cost ?? 0,
          ...(maxTargets === undefined ? {} : { maxTargets }),
          ...(this.options.workerMaxSamples === undefined ? {} : { maxSamples: this.options.workerMaxSamples }),
        };
      });
  }

  *targets(job?: string): Iterable<TargetStatus> {
    if (job === undefined) {
      for (const [, entry] of this.#targets.entries()) yield this.#statusOf(entry);
      return;
    }
    for (const entry of this.#targets.ofJob(job)) yield this.#statusOf(entry);
  }

  target(id: TargetId): TargetStatus | undefined {
    const entry = this.#targets.get(id);
    return entry === undefined ? undefined : this.#statusOf(entry);
  }

  ready(): boolean {
    return !this.#allocator.recovering && !this.#stopping && this.#deposedBy === undefined;
  }

  #statusOf(entry: TargetEntry): TargetStatus {
    const owner = this.#allocator.assignment().get(entry.target.id);
    return {
      id: entry.target.id,
      job: entry.target.job,
      labels: entry.target.labels,
      ...(owner === undefined ? {} : { owner }),
      sinceUnixMs: entry.sinceUnixMs,
      ...(entry.health === undefined ? {} : { health: entry.health }),
      history: entry.history,
    };
  }
}

function jobBytesOf(job: ScrapeJob): Uint8Array {
  return ScrapeJob.encode(job).finish();
}

function endpointBytesOf(endpoint: RemoteWriteEndpoint): Uint8Array {
  return RemoteWriteEndpoint.encode(endpoint).finish();
}

/** Whether two lists of settings are the same, in order, judged by their wire bytes. */
function sameSettings<T>(a: readonly T[], b: readonly T[], encode: (item: T) => Uint8Array): boolean {
  return a.length === b.length && a.every((item, i) => {
    const other = b[i];
    return other !== undefined && (item === other || Buffer.from(encode(item)).equals(encode(other)));
  });
}
