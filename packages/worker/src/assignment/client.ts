/**
 * The worker's side of `Fleet.Connect` (docs/protocol.md, "Lifecycle of a stream"): one stream to the master at a
 * time, Hello first, then heartbeats, health reports and acks, and a new stream with jittered backoff whenever the
 * old one ends. The assignment lives in an {@link AssignmentState} that outlives every stream: nothing is cleared
 * because the master is gone (static stability).
 */
import { credentials as grpcCredentials, status as GrpcStatus, type ChannelCredentials, type ClientOptions, type Metadata, type StatusObject } from '@grpc/grpc-js';
import {
  FleetClient,
  HEARTBEAT_DEAD_AFTER_INTERVALS,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  RefusalReason,
  healthReportParts,
  helloParts,
  targetIdToBytes,
  type FleetClientStream,
  type MasterMessage,
  type Refusal,
  type TargetHealth,
  type Welcome,
  type WorkerMessage,
} from '@promfleet/protocol';
import { backoffDelayMs } from './backoff.js';
import { errorMessage } from '@promfleet/model';
import { PartialSnapshotTooLargeError } from './errors.js';
import { AssignmentState, type AssignmentChange, type TargetHealthRecord } from './state.js';

/** Settings of an {@link AssignmentClient}. */
export interface AssignmentClientOptions {
  /** The master's gRPC address, `host:port`. */
  readonly address: string;
  /** The worker's stable id (usually its pod name); empty asks the master to assign one. */
  readonly workerId: string;
  /** The worker's software version, sent in Hello; informational. */
  readonly softwareVersion: string;
  /** The port of the worker's status page, sent in Hello so that the master links it; absent when unknown. */
  readonly webPort?: number;
  /** The channel credentials; insecure when absent. Production runs TLS: the stream carries secrets. */
  readonly credentials?: ChannelCredentials;
  /**
   * The metadata of each new stream, asked for at every connect: the bearer token (link.ts), so that a rotated
   * token goes out on the next stream. None when absent.
   */
  readonly callMetadata?: () => Metadata;
  /**
   * grpc-js channel options merged over the client's own (keepalive, receive limit, reconnect backoff, a connection of
   * its own through `grpc.use_local_subchannel_pool`, as a worker in its own pod has): a key given here wins.
   */
  readonly channelOptions?: Partial<ClientOptions>;
  /**
   * The health of every held target, called every `Welcome.health_report_interval_ms`. When absent, reports carry
   * no targets. It must not throw; if it does, that report is skipped. Errors may be of any length: the client turns
   * the records into `TargetHealth` messages, cuts the errors and splits the report into messages under the gRPC
   * limit (`healthReportParts` in @promfleet/protocol).
   */
  readonly healthReport?: () => TargetHealthRecord[];
  /**
   * The most a snapshot split into parts may hold before its last part arrives, in estimated bytes (see
   * {@link AssignmentState}); 256 MiB by default. A larger one is dropped and the client reconnects.
   */
  readonly maxPartialSnapshotBytes?: number;
  /**
   * The reconnect backoff: full jitter over `[0, min(maxMs, initialMs · 2^attempt))`, defaults 500 ms and 10 s (a
   * starting master waits 15 s for workers to come back: `--fleet.startup-grace`; a thousand workers spread over 10 s
   * make 100 connections a second). The attempt count starts over once a stream stayed welcomed for `resetAfterMs`
   * (default 10 s).
   */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number; readonly resetAfterMs?: number };
  /** How long to wait for the Welcome (or Refusal) after Hello before giving up on the stream; default 30 s. */
  readonly welcomeTimeoutMs?: number;
  /** The wall clock in Unix ms (heartbeat times, last slots, drain deadlines); `Date.now` by default. */
  readonly now?: () => number;
  /** A `Math.random` stand-in for the backoff jitter, returning values in [0, 1); for tests. */
  readonly random?: () => number;
  /**
   * Called synchronously with every applied snapshot or delta, before it is acknowledged: an ack tells the master the
   * targets are scheduled, so the scrape manager acts on the change inside this call. It must not throw; if it does,
   * the error is logged and the generation is acknowledged anyway (the state already holds it).
   */
  readonly onChange?: (change: AssignmentChange) => void;
  /** Receives the client's events, for logs and metrics. Events never contain fleet messages or secrets. */
  readonly log?: (event: ClientEvent) => void;
}

/** Something that happened to the client, for logs and metrics. */
export type ClientEvent =
  | {
      readonly kind: 'connecting';
      readonly attempt: number;
      readonly heldGeneration: number;
      readonly heldTargets: number;
      /** The Hello and the HeldTargets parts that carry the held targets it has no room for. */
      readonly helloMessages: number;
    }
  | { readonly kind: 'welcomed'; readonly masterId: string; readonly leaderTerm: number; readonly workerId: string }
  | {
      readonly kind: 'refused';
      readonly reason: string;
      readonly message: string;
      readonly retryAfterMs: number;
      readonly leaderAddress: string;
    }
  | { readonly kind: 'applied'; readonly generation: number; readonly snapshot: boolean; readonly added: number; readonly removed: number }
  | { readonly kind: 'disconnected'; readonly reason: string; readonly reconnectInMs: number }
  | { readonly kind: 'pruned'; readonly targets: number }
  | { readonly kind: 'draining'; readonly deadlineUnixMs: number }
  | { readonly kind: 'drained'; readonly complete: boolean }
  | { readonly kind: 'stopped' }
  | {
      /** A snapshot in parts outgrew `maxPartialSnapshotBytes`: it was dropped and the stream is closed. */
      readonly kind: 'partialSnapshotDropped';
      readonly generation: number;
      readonly bytes: number;
      readonly limitBytes: number;
    }
  | {
      /**
       * The stream ended with RESOURCE_EXHAUSTED: a message exceeded a gRPC message size limit (the master's for a
       * message from this worker, or this worker's for one from the master). Told to the master in the next Hello.
       */
      readonly kind: 'resourceExhausted';
      readonly details: string;
      readonly limitBytes: number;
    }
  | { readonly kind: 'callbackFailed'; readonly callback: 'onChange' | 'healthReport'; readonly error: string };

/** How long `stop()` lets the master end the stream after the worker half-closed it, before cancelling it. */
const STOP_GRACE_MS = 1_000;

/** Node's largest timer delay; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One `Fleet.Connect` call and what the client knows about it. */
interface Session {
  readonly call: FleetClientStream;
  /** Settles once the call ended and the client has reacted (backoff scheduled, or nothing when stopped). */
  finished: Promise<void>;
  welcome: Welcome | undefined;
  /** When the Welcome arrived, on the monotonic clock. */
  welcomedAtMs: number;
  refusal: Refusal | undefined;
  /** Why the client closed the call, if it did. */
  closeReason: string | undefined;
  /** The error grpc-js reported for the call, if any. */
  grpcError: string | undefined;
  /** Set once the client stops reading the call: later messages are ignored and nothing more is written. */
  closing: boolean;
  /** Set when the call's status arrived: nothing more is written. */
  done: boolean;
  heartbeats: number;
  /** Before the Welcome: the welcome timeout. After it: the dead-stream timer, refreshed by every message. */
  liveness: NodeJS.Timeout;
  readonly intervals: NodeJS.Timeout[];
}

interface Drain {
  readonly deadlineUnixMs: number;
  readonly reason: string;
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly timer: NodeJS.Timeout;
  finishing: boolean;
}

/**
 * Holds the worker's one `Fleet.Connect` stream to the master and keeps the assignment it was given.
 *
 * `start()` connects and keeps reconnecting until `stop()`. Every stream begins with a Hello that lists the held
 * generation and targets (those that do not fit it follow in HeldTargets parts), so a new or restarted master adopts
 * them; after the Welcome the client sends heartbeats and
 * health reports, applies snapshots and deltas to {@link state}, tells `onChange`, and acknowledges each generation.
 * Any end of a stream (refusal, error, a master gone silent for `HEARTBEAT_DEAD_AFTER_INTERVALS` heartbeat intervals,
 * a delta on the wrong base, a malformed message) leads to a new stream after a backoff with full jitter; the state
 * is never cleared.
 */
export class AssignmentClient {
  readonly #options: AssignmentClientOptions;
  readonly #state: AssignmentState;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #resetAfterMs: number;
  readonly #welcomeTimeoutMs: number;
  #running = false;
  #grpc: FleetClient | undefined;
  #session: Session | undefined;
  #attempt = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  #stopped: Promise<void> = Promise.resolve();
  #drain: Drain | undefined;
  #workerId: string;
  #masterId: string | undefined;
  #masterWebPort: number | undefined;
  #leaderTerm = 0;
  #lastError = '';
  /** The RESOURCE_EXHAUSTED details of the last stream, for the next Hello; cleared once a Welcome arrives. */
  #resourceExhausted = '';

  /** Creates a client; nothing happens until `start()`. */
  constructor(options: AssignmentClientOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#initialBackoffMs = options.backoff?.initialMs ?? 500;
    this.#maxBackoffMs = options.backoff?.maxMs ?? 10_000;
    this.#resetAfterMs = options.backoff?.resetAfterMs ?? 10_000;
    this.#welcomeTimeoutMs = options.welcomeTimeoutMs ?? 30_000;
    this.#workerId = options.workerId;
    this.#state = new AssignmentState(options.maxPartialSnapshotBytes === undefined ? {} : { maxPartialSnapshotBytes: options.maxPartialSnapshotBytes });
  }

  /** The assignment held: kept across streams, and after `stop()`. */
  get state(): AssignmentState {
    return this.#state;
  }

  /** Whether a stream is open and welcomed. */
  get connected(): boolean {
    const session = this.#session;
    return session !== undefined && session.welcome !== undefined && !session.closing && !session.done;
  }

  /** The id the master knows this worker by: the one the last Welcome named, else the configured one. */
  get workerId(): string {
    return this.#workerId;
  }

  /** The id of the master that last welcomed this worker, if any did. */
  /** The port of the master's status page, from the last Welcome; undefined before one or when the master did not say. */
  get masterWebPort(): number | undefined {
    return this.#masterWebPort;
  }

  get masterId(): string | undefined {
    return this.#masterId;
  }

  /** Why the last stream ended or was refused; empty until one did. Never contains secrets. */
  get lastError(): string {
    return this.#lastError;
  }

  /** Connects, and keeps reconnecting until `stop()`. Does nothing when already started. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#attempt = 0;
    this.#grpc = this.#dial();
    this.#schedulePrune();
    this.#connect();
  }

  /**
   * A channel to the master address with a connection of its own: a redial must not get the pooled connection of the
   * channel it replaces.
   */
  #dial(): FleetClient {
    const options: Partial<ClientOptions> = {
      // Dead connections are noticed within 15 s even between heartbeats, and pings keep NATs and proxies open.
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      // grpc-js' own reconnect backoff (1 s up to 120 s) would otherwise fail our calls fast long after the master
      // is back; keep it within ours.
      'grpc.initial_reconnect_backoff_ms': this.#initialBackoffMs,
      'grpc.max_reconnect_backoff_ms': this.#maxBackoffMs,
      'grpc.use_local_subchannel_pool': 1,
      ...this.#options.channelOptions,
    };
    return new FleetClient(this.#options.address, this.#options.credentials ?? grpcCredentials.createInsecure(), options);
  }

  /**
   * Closes the stream (half-closes it, and cancels it if the master has not ended it within a second) and stops
   * reconnecting. The state stays as it is. Resolves once the stream has ended; a pending `drain()` resolves too.
   */
  stop(): Promise<void> {
    if (!this.#running) return this.#stopped;
    this.#running = false;
    this.#stopped = this.#shutdown();
    return this.#stopped;
  }

  /**
   * Hands the worker's targets over before it exits: sends a DrainRequest (again on every new stream until done),
   * then resolves once the worker holds no targets and every pending MOVED removal's last slot has passed, or at
   * `deadlineUnixMs`, whichever comes first, and stops the client. Calling it again returns the same promise; after
   * `stop()` it resolves at once.
   */
  drain(options: { readonly deadlineUnixMs: number; readonly reason: string }): Promise<void> {
    if (this.#drain !== undefined) return this.#drain.promise;
    if (!this.#running) return Promise.resolve();
    const { promise, resolve } = deferred();
    const timer = setTimeout(() => this.#finishDrain(false), timerDelay(options.deadlineUnixMs - this.#now()));
    this.#drain = { deadlineUnixMs: options.deadlineUnixMs, reason: options.reason, promise, resolve, timer, finishing: false };
    this.#log({ kind: 'draining', deadlineUnixMs: options.deadlineUnixMs });
    const session = this.#session;
    if (session?.welcome !== undefined) this.#sendDrainRequest(session);
    this.#checkDrain();
    return promise;
  }

  #connect(): void {
    this.#reconnectTimer = undefined;
    const grpc = this.#grpc;
    if (!this.#running || grpc === undefined) return;
    const metadata = this.#options.callMetadata;
    const call = metadata === undefined ? grpc.connect() : grpc.connect(metadata());
    const session: Session = {
      call,
      finished: Promise.resolve(),
      welcome: undefined,
      welcomedAtMs: 0,
      refusal: undefined,
      closeReason: undefined,
      grpcError: undefined,
      closing: false,
      done: false,
      heartbeats: 0,
      liveness: setTimeout(() => this.#close(session, `no Welcome within ${this.#welcomeTimeoutMs} ms`), this.#welcomeTimeoutMs).unref(),
      intervals: [],
    };
    this.#session = session;
    // The call is over once the status arrived and every message before it was read: a Refusal may still be
    // buffered when the status comes in.
    const ended = new Promise<StatusObject>((resolve) => {
      let readAll = false;
      let status: StatusObject | undefined;
      call.on('end', () => {
        readAll = true;
        if (status !== undefined) resolve(status);
      });
      call.on('status', (final: StatusObject) => {
        status = final;
        session.done = true;
        clearIntervals(session);
        if (readAll) resolve(final);
      });
    });
    session.finished = ended.then((status) => this.#onFinished(session, status));
    // grpc-js emits 'error' for every non-OK status, and throws if nobody listens.
    call.on('error', (err: Error) => {
      session.grpcError = err.message;
    });
    call.on('data', (message: MasterMessage) => this.#onMessage(session, message));

    const held = this.#state.held();
    // A Hello listing hundreds of thousands of held targets would exceed the master's receive limit: as many as fit a
    // part go in the Hello, the rest in HeldTargets parts right behind it (docs/protocol.md, "Message size").
    const messages = helloParts({
      hello: {
        workerId: this.#workerId,
        softwareVersion: this.#options.softwareVersion,
        protocolVersion: PROTOCOL_VERSION,
        heldGeneration: this.#state.generation,
        previousStreamResourceExhausted: this.#resourceExhausted,
        highestLeaderTerm: this.#leaderTerm,
        ...(this.#options.webPort === undefined ? {} : { webPort: this.#options.webPort }),
      },
      heldTargets: held.map((target) => ({ id: targetIdToBytes(target.id), job: target.job })),
    });
    this.#log({ kind: 'connecting', attempt: this.#attempt, heldGeneration: this.#state.generation, heldTargets: held.length, helloMessages: messages.length });
    for (const message of messages) this.#send(session, message);
  }

  #onMessage(session: Session, message: MasterMessage): void {
    if (session.closing) return;
    if (session.welcome !== undefined) session.liveness.refresh();
    const kind = message.kind;
    switch (kind?.$case) {
      case 'welcome':
        this.#onWelcome(session, kind.welcome);
        return;
      case 'refusal':
        this.#onRefusal(session, kind.refusal);
        return;
      case 'assignmentSnapshot': {
        const part = kind.assignmentSnapshot;
        this.#onAssignment(session, { snapshot: true, leaderTerm: part.leaderTerm, apply: () => this.#state.applySnapshot(part) });
        return;
      }
      case 'assignmentDelta': {
        const delta = kind.assignmentDelta;
        this.#onAssignment(session, { snapshot: false, leaderTerm: delta.leaderTerm, apply: () => this.#state.applyDelta(delta) });
        return;
      }
      case 'heartbeat':
      case undefined:
        // A heartbeat only proves liveness; a kind from a newer master decodes as no kind and is ignored.
        return;
    }
  }

  #onWelcome(session: Session, welcome: Welcome): void {
    const problem = session.welcome !== undefined ? 'the master sent a second Welcome' : welcomeProblem(welcome, this.#leaderTerm);
    if (problem !== undefined) {
      this.#close(session, problem);
      return;
    }
    session.welcome = welcome;
    session.welcomedAtMs = performance.now();
    this.#leaderTerm = welcome.leaderTerm;
    this.#workerId = welcome.workerId;
    this.#masterId = welcome.masterId;
    this.#masterWebPort = welcome.webPort;
    this.#resourceExhausted = '';

    const deadAfterMs = HEARTBEAT_DEAD_AFTER_INTERVALS * welcome.heartbeatIntervalMs;
    clearTimeout(session.liveness);
    session.liveness = setTimeout(
      () => this.#close(session, `nothing received for ${deadAfterMs} ms (${HEARTBEAT_DEAD_AFTER_INTERVALS} heartbeat intervals)`),
      deadAfterMs,
    ).unref();
    session.intervals.push(
      setInterval(() => {
        session.heartbeats++;
        this.#send(session, { kind: { $case: 'heartbeat', heartbeat: { sequence: session.heartbeats, sentUnixMs: this.#now() } } });
      }, welcome.heartbeatIntervalMs).unref(),
      setInterval(() => this.#sendHealthReport(session), welcome.healthReportIntervalMs).unref(),
    );
    this.#log({ kind: 'welcomed', masterId: welcome.masterId, leaderTerm: welcome.leaderTerm, workerId: welcome.workerId });
    if (this.#drain !== undefined) this.#sendDrainRequest(session);
  }

  #onRefusal(session: Session, refusal: Refusal): void {
    if (session.welcome !== undefined) {
      this.#close(session, 'the master sent a Refusal after its Welcome');
      return;
    }
    // The master ends the call after a Refusal; the welcome timeout still cancels it should the master not.
    session.refusal = refusal;
    session.closing = true;
    this.#log({
      kind: 'refused',
      reason: refusalReasonName(refusal.reason),
      message: refusal.message,
      retryAfterMs: refusal.retryAfterMs,
      leaderAddress: refusal.leaderAddress,
    });
    if (!session.call.writableEnded) session.call.end();
  }

  #onAssignment(session: Session, message: { snapshot: boolean; leaderTerm: number; apply: () => AssignmentChange | undefined }): void {
    if (session.welcome === undefined) {
      this.#close(session, 'the master sent an assignment before its Welcome');
      return;
    }
    if (message.leaderTerm !== session.welcome.leaderTerm) {
      // fleet.proto: a worker applies no assignment whose term differs from the Welcome's. Not applied; the held
      // assignment stays, as for any protocol error.
      const field = message.snapshot ? 'assignment_snapshot.leader_term' : 'assignment_delta.leader_term';
      this.#close(session, `assignment rejected: ${field} is ${message.leaderTerm}, but the stream's Welcome has leader term ${session.welcome.leaderTerm}`);
      return;
    }
    let change: AssignmentChange | undefined;
    try {
      change = message.apply();
    } catch (err) {
      // The state is unchanged. Out of sync: the new stream starts from the held generation. Malformed: the master
      // may send something else next time, and the worker keeps scraping what it holds meanwhile. Too large a
      // snapshot in parts: its parts are dropped already.
      if (err instanceof PartialSnapshotTooLargeError) {
        this.#log({ kind: 'partialSnapshotDropped', generation: err.generation, bytes: err.bytes, limitBytes: err.limitBytes });
      }
      this.#close(session, `assignment rejected: ${errorMessage(err)}`);
      return;
    }
    if (change === undefined) return;
    this.#log({
      kind: 'applied',
      generation: change.generation,
      snapshot: message.snapshot,
      added: change.added.length,
      removed: change.removed.length,
    });
    try {
      this.#options.onChange?.(change);
    } catch (err) {
      this.#log({ kind: 'callbackFailed', callback: 'onChange', error: errorMessage(err) });
    }
    this.#send(session, { kind: { $case: 'ack', ack: { generation: change.generation } } });
    this.#schedulePrune();
    this.#checkDrain();
  }

  /** Stops reading `session` and cancels its call, remembering why; the call's end then schedules a reconnect. */
  #close(session: Session, reason: string): void {
    session.closeReason ??= reason;
    session.closing = true;
    clearTimeout(session.liveness);
    clearIntervals(session);
    session.call.cancel();
  }

  #onFinished(session: Session, status: StatusObject): void {
    clearTimeout(session.liveness);
    clearIntervals(session);
    if (this.#session !== session) return;
    this.#session = undefined;
    this.#state.discardPartialSnapshot();
    if (!this.#running) return;
    const reason = endReason(session, status);
    this.#lastError = reason;
    if (status.code === GrpcStatus.RESOURCE_EXHAUSTED) {
      this.#resourceExhausted = status.details;
      this.#log({ kind: 'resourceExhausted', details: status.details, limitBytes: MAX_MESSAGE_BYTES });
    }
    if (session.welcome !== undefined && performance.now() - session.welcomedAtMs >= this.#resetAfterMs) this.#attempt = 0;
    const retryAfterMs = session.refusal?.retryAfterMs ?? 0;
    const delay =
      retryAfterMs > 0
        ? retryAfterMs
        : backoffDelayMs({ attempt: this.#attempt, initialMs: this.#initialBackoffMs, maxMs: this.#maxBackoffMs, random: this.#random });
    this.#attempt++;
    if (session.welcome === undefined && (session.refusal === undefined || session.refusal.reason === RefusalReason.NOT_LEADER)) {
      // The next stream must not reuse this channel. After a standby, or a master this worker will not follow (a
      // lower term): behind a Service, a new connection is what reaches another master (kube-proxy picks the backend
      // per connection, and gRPC keeps streams on the connection it has). After a failed connection: the channel's
      // own reconnect backoff would fail the next stream at once and add a whole backoff of ours to it, and a master
      // back from a restart would hear from this worker after its startup grace; a new channel connects when asked.
      this.#grpc?.close();
      this.#grpc = this.#dial();
    }
    this.#log({ kind: 'disconnected', reason, reconnectInMs: delay });
    this.#reconnectTimer = setTimeout(() => this.#connect(), timerDelay(delay));
  }

  async #shutdown(): Promise<void> {
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#pruneTimer);
    const grpc = this.#grpc;
    this.#grpc = undefined;
    const session = this.#session;
    if (session !== undefined) {
      if (!session.closing) {
        session.closing = true;
        clearTimeout(session.liveness);
        clearIntervals(session);
        if (!session.call.writableEnded) session.call.end();
      }
      const grace = setTimeout(() => session.call.cancel(), STOP_GRACE_MS);
      await session.finished;
      clearTimeout(grace);
    }
    grpc?.close();
    const drain = this.#drain;
    this.#drain = undefined;
    if (drain !== undefined) {
      clearTimeout(drain.timer);
      drain.resolve();
    }
    this.#log({ kind: 'stopped' });
  }

  #send(session: Session, message: WorkerMessage): void {
    if (session.closing || session.done || session.call.writableEnded) return;
    session.call.write(message);
  }

  #sendHealthReport(session: Session): void {
    let targets: TargetHealth[] = [];
    if (this.#options.healthReport !== undefined) {
      try {
        targets = this.#options.healthReport().map(targetHealthToProto);
      } catch (err) {
        // A report is complete by definition (fleet.proto), so an empty one would claim nothing was scraped.
        this.#log({ kind: 'callbackFailed', callback: 'healthReport', error: errorMessage(err) });
        return;
      }
    }
    for (const healthReport of healthReportParts({ generation: this.#state.generation, targets })) {
      this.#send(session, { kind: { $case: 'healthReport', healthReport } });
    }
  }

  #sendDrainRequest(session: Session): void {
    const drain = this.#drain;
    if (drain === undefined) return;
    this.#send(session, { kind: { $case: 'drainRequest', drainRequest: { deadlineUnixMs: drain.deadlineUnixMs, reason: drain.reason } } });
  }

  /** Arms the timer that prunes pending MOVED removals just after the earliest last slot passes. */
  #schedulePrune(): void {
    clearTimeout(this.#pruneTimer);
    this.#pruneTimer = undefined;
    const next = this.#state.nextPruneUnixMs();
    if (next === undefined || !this.#running) return;
    this.#pruneTimer = setTimeout(() => {
      const pruned = this.#state.prune(this.#now());
      if (pruned.length > 0) this.#log({ kind: 'pruned', targets: pruned.length });
      this.#schedulePrune();
      this.#checkDrain();
    }, timerDelay(next + 1 - this.#now())).unref();
  }

  #checkDrain(): void {
    if (this.#drain !== undefined && this.#state.targets.size === 0 && this.#state.pendingRemovals.size === 0) this.#finishDrain(true);
  }

  #finishDrain(complete: boolean): void {
    const drain = this.#drain;
    if (drain === undefined || drain.finishing) return;
    drain.finishing = true;
    clearTimeout(drain.timer);
    this.#log({ kind: 'drained', complete });
    // stop() resolves the drain's promise once the stream has ended.
    void this.stop();
  }

  #log(event: ClientEvent): void {
    this.#options.log?.(event);
  }
}

/** A target's health record in its wire form. */
function targetHealthToProto({ id, health }: TargetHealthRecord): TargetHealth {
  return {
    targetId: targetIdToBytes(id),
    lastScrapeUnixMs: health.lastScrapeUnixMs,
    lastScrapeDurationSeconds: health.durationSeconds,
    samplesScraped: health.samplesScraped,
    samplesPostMetricRelabeling: health.samplesPostMetricRelabeling,
    up: health.up,
    lastError: health.lastError,
  };
}

/** Why a Welcome cannot be followed, or `undefined` when it can. */
function welcomeProblem(welcome: Welcome, highestLeaderTerm: number): string | undefined {
  if (welcome.protocolVersion !== PROTOCOL_VERSION) {
    return `the master chose protocol version ${welcome.protocolVersion}; this worker speaks ${PROTOCOL_VERSION}`;
  }
  if (welcome.leaderTerm < highestLeaderTerm) {
    // fleet.proto, Welcome.leader_term: a worker never follows a master with a lower term than one it has seen.
    return `the master's leader term ${welcome.leaderTerm} is below term ${highestLeaderTerm} seen before`;
  }
  if (welcome.heartbeatIntervalMs <= 0) return 'welcome.heartbeat_interval_ms is 0';
  if (welcome.healthReportIntervalMs <= 0) return 'welcome.health_report_interval_ms is 0';
  if (welcome.workerId === '') return 'welcome.worker_id is empty';
  return undefined;
}

function endReason(session: Session, status: StatusObject): string {
  const refusal = session.refusal;
  if (refusal !== undefined) {
    const leader = refusal.leaderAddress === '' ? '' : ` (leader: ${refusal.leaderAddress})`;
    return `refused: ${refusalReasonName(refusal.reason)}: ${refusal.message}${leader}`;
  }
  if (session.closeReason !== undefined) return session.closeReason;
  if (session.grpcError !== undefined) return session.grpcError;
  return status.details === '' ? 'the master ended the stream' : `the master ended the stream: ${status.details}`;
}

function refusalReasonName(reason: RefusalReason): string {
  return (RefusalReason as Record<number, string | undefined>)[reason] ?? `UNRECOGNIZED(${reason})`;
}

function clearIntervals(session: Session): void {
  for (const interval of session.intervals) clearInterval(interval);
  session.intervals.length = 0;
}

/** `ms` made a valid timer delay: at least 1 ms, at most Node's limit. */
function timerDelay(ms: number): number {
  return Math.min(Math.max(1, Math.ceil(ms)), MAX_TIMER_MS);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}
