/**
 * Helpers shared by the assignment client's tests: a real grpc-js server on 127.0.0.1 that plays the master, driven
 * message by message from the test, and builders for the messages it sends.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import {
  FleetService,
  PROTOCOL_VERSION,
  RefusalReason,
  RemovalReason,
  ScrapeJob,
  labelsToProto,
  targetIdToBytes,
  type AssignmentDelta,
  type AssignmentSnapshot,
  type FleetServer,
  type FleetServerStream,
  type MasterMessage,
  type Refusal,
  type RemovedTarget,
  type Target,
  type Welcome,
  type WorkerMessage,
} from '@promfleet/protocol';
import { AssignmentClient, type AssignmentClientOptions, type ClientEvent } from './client.js';
import type { AssignmentChange } from './state.js';

/** One kind of worker message, as the `kind` union member (`{ $case: 'ack', ack: {...} }`). */
export type WorkerKind<K extends NonNullable<WorkerMessage['kind']>['$case']> = Extract<NonNullable<WorkerMessage['kind']>, { $case: K }>;

/** Polls `predicate` every few milliseconds until it holds; rejects after `timeoutMs` naming `what`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The master's side of one worker stream: records what the worker sends and writes what the test says. */
export class FakeConnection {
  /** Every message the worker sent, in order. */
  readonly received: WorkerMessage[] = [];
  /** Whether the worker half-closed the stream (the master then ends it, as the real one does). */
  endedByWorker = false;
  /** Whether the worker cancelled the call. */
  cancelled = false;
  /** Whether the master ends the call when the worker half-closes it, as the real one does. */
  answerWorkerEnd = true;
  readonly #call: FleetServerStream;
  readonly #consumed = new Map<string, number>();
  #heartbeats: NodeJS.Timeout | undefined;
  #over = false;
  /** The leader term of the Welcome sent, which snapshots and deltas carry unless a test says otherwise. */
  #leaderTerm = 1;
  /** The worker's end of the connection the stream came on (grpc-js' `ipv4:127.0.0.1:PORT`). */
  readonly peer: string;


  /** Wraps `call`; called by the fake master's handler. */
  constructor(call: FleetServerStream) {
    this.#call = call;
    this.peer = call.getPeer();
    call.on('data', (message: WorkerMessage) => this.received.push(message));
    call.on('end', () => {
      this.endedByWorker = true;
      if (this.answerWorkerEnd) this.end();
    });
    call.on('cancelled', () => {
      this.cancelled = true;
      this.#stopHeartbeats();
    });
    call.on('error', () => this.#stopHeartbeats());
  }

  /** Whether the call is over for the master: ended by it, or cancelled by the worker. */
  get over(): boolean {
    return this.#over || this.cancelled;
  }

  /**
   * The next message of `kind` not returned before (messages of other kinds are left for their own `next` calls).
   * Rejects when none arrives within `timeoutMs`.
   */
  async next<K extends NonNullable<WorkerMessage['kind']>['$case']>(kind: K, timeoutMs = 3_000): Promise<WorkerKind<K>> {
    const index = this.#consumed.get(kind) ?? 0;
    const ofKind = (): WorkerKind<K>[] => this.received.flatMap((m) => (m.kind?.$case === kind ? [m.kind as WorkerKind<K>] : []));
    await waitFor(() => ofKind().length > index, `${kind} #${index + 1}`, timeoutMs);
    this.#consumed.set(kind, index + 1);
    const message = ofKind()[index];
    if (message === undefined) throw new Error(`no ${kind} #${index + 1}`);
    return message;
  }

  /** Sends one master message. */
  send(kind: NonNullable<MasterMessage['kind']>): void {
    if (!this.over) this.#call.write({ kind });
  }

  /**
   * Sends a Welcome (defaults: heartbeats every 100 ms, health reports every second, the worker id from the Hello)
   * and, unless `heartbeats` is false, a heartbeat every interval until the call ends.
   */
  welcome(fields: Partial<Welcome> = {}, options: { heartbeats?: boolean } = {}): void {
    const hello = this.received[0]?.kind;
    const welcome: Welcome = {
      masterId: 'master-0',
      leaderTerm: 1,
      protocolVersion: PROTOCOL_VERSION,
      heartbeatIntervalMs: 100,
      workerId: hello?.$case === 'hello' && hello.hello.workerId !== '' ? hello.hello.workerId : 'worker-assigned',
      healthReportIntervalMs: 1_000,
      softwareVersion: 'test',
      ...fields,
    };
    this.#leaderTerm = welcome.leaderTerm;
    this.send({ $case: 'welcome', welcome });
    if (options.heartbeats ?? true) {
      this.#stopHeartbeats();
      let sequence = 0;
      this.#heartbeats = setInterval(() => {
        sequence++;
        this.send({ $case: 'heartbeat', heartbeat: { sequence, sentUnixMs: Date.now() } });
      }, welcome.heartbeatIntervalMs);
    }
  }

  /** Sends a Refusal and ends the call, as the master does. */
  refuse(fields: Partial<Refusal>): void {
    const refusal: Refusal = {
      reason: RefusalReason.UNAVAILABLE,
      message: 'starting up',
      retryAfterMs: 0,
      leaderAddress: '',
      minProtocolVersion: 0,
      maxProtocolVersion: 0,
      ...fields,
    };
    this.send({ $case: 'refusal', refusal });
    this.end();
  }

  /** Sends a snapshot (or one part of it), of the Welcome's leader term unless `fields` names one. */
  snapshot(fields: Partial<AssignmentSnapshot> & { generation: number }): void {
    this.send({ $case: 'assignmentSnapshot', assignmentSnapshot: snapshot({ leaderTerm: this.#leaderTerm, ...fields }) });
  }

  /** Sends a delta, of the Welcome's leader term unless `fields` names one. */
  delta(fields: Partial<AssignmentDelta> & { generation: number; baseGeneration: number }): void {
    this.send({ $case: 'assignmentDelta', assignmentDelta: delta({ leaderTerm: this.#leaderTerm, ...fields }) });
  }

  /** Ends the call with status OK, as the master does when it lets a worker go. */
  end(): void {
    this.#stopHeartbeats();
    if (this.over) return;
    this.#over = true;
    this.#call.end();
  }

  /** Stops writing without ending the call, for a master that dies. */
  abandon(): void {
    this.#stopHeartbeats();
    this.#over = true;
  }

  #stopHeartbeats(): void {
    clearInterval(this.#heartbeats);
  }
}

/** A grpc-js server on 127.0.0.1 that accepts `Fleet.Connect` calls and hands each to the test as a FakeConnection. */
export class FakeMaster {
  /** Every call the master accepted, in order, across restarts. */
  readonly connections: FakeConnection[] = [];
  #server: Server | undefined;
  #port = 0;
  readonly #onConnection: ((connection: FakeConnection) => void) | undefined;

  private constructor(onConnection: ((connection: FakeConnection) => void) | undefined) {
    this.#onConnection = onConnection;
  }

  /** Starts a master on a free port; `onConnection` may script every new call. */
  static async start(onConnection?: (connection: FakeConnection) => void): Promise<FakeMaster> {
    const master = new FakeMaster(onConnection);
    await master.restart();
    return master;
  }

  /** `127.0.0.1:<port>`. */
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** The `index`-th call (0 for the first), once it arrived. */
  async connection(index: number, timeoutMs = 3_000): Promise<FakeConnection> {
    await waitFor(() => this.connections.length > index, `connection #${index + 1}`, timeoutMs);
    const connection = this.connections[index];
    if (connection === undefined) throw new Error(`no connection #${index + 1}`);
    return connection;
  }

  /** Kills the server at once: every open call fails, as when the master's pod dies. */
  kill(): void {
    for (const connection of this.connections) connection.abandon();
    this.#server?.forceShutdown();
    this.#server = undefined;
  }

  /** Starts the server again on the same port (a free one the first time). */
  async restart(): Promise<void> {
    const server = new Server();
    const handlers: FleetServer = {
      connect: (call: FleetServerStream) => {
        const connection = new FakeConnection(call);
        this.connections.push(connection);
        this.#onConnection?.(connection);
      },
    };
    server.addService(FleetService, handlers);
    this.#port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${this.#port}`, ServerCredentials.createInsecure(), (error, port) => {
        if (error) reject(error);
        else resolve(port);
      });
    });
    this.#server = server;
  }

  /** Stops the server and every call. */
  close(): void {
    this.kill();
  }
}

/** Three target ids. */
export const A = '00000000000000a1';
export const B = '00000000000000b2';
export const C = '00000000000000c3';

/** A scrape job, by default with a 15 s interval. */
export function job(name: string, scrapeIntervalMs = 15_000): ScrapeJob {
  return ScrapeJob.fromPartial({ name, scrapeIntervalMs, scrapeTimeoutMs: 10_000, metricsPath: '/metrics', scheme: 'http' });
}

/** A wire target of `jobName` with an address derived from its id, scraped every 15 s with a 10 s timeout. */
export function target(id: string, jobName = 'node', firstSlotUnixMs = 0): Target {
  return {
    id: targetIdToBytes(id),
    job: jobName,
    labels: labelsToProto(new Map([['__address__', `10.0.0.${id.slice(-1)}:9100`], ['job', jobName]])),
    firstSlotUnixMs,
    scrapeIntervalMs: 15_000,
    scrapeTimeoutMs: 10_000,
  };
}

/** A removal with reason MOVED. */
export function moved(id: string, lastSlotUnixMs: number): RemovedTarget {
  return { id: targetIdToBytes(id), reason: RemovalReason.MOVED, lastSlotUnixMs };
}

/** A removal with reason GONE. */
export function gone(id: string): RemovedTarget {
  return { id: targetIdToBytes(id), reason: RemovalReason.GONE, lastSlotUnixMs: 0 };
}

/** A snapshot with empty defaults. */
export function snapshot(fields: Partial<AssignmentSnapshot> & { generation: number }): AssignmentSnapshot {
  return { jobs: [], remoteWrite: [], targets: [], continued: false, leaderTerm: 1, unsyncedJobs: [], ...fields };
}

/** A delta with empty defaults. */
export function delta(fields: Partial<AssignmentDelta> & { generation: number; baseGeneration: number }): AssignmentDelta {
  return { upsertedJobs: [], removedJobs: [], addedTargets: [], removedTargets: [], leaderTerm: 1, ...fields };
}

/** Things a test opened, closed after it in reverse order (`afterEach(() => resources.closeAll())`). */
export class Resources {
  readonly #closers: (() => Promise<void> | void)[] = [];

  /** Registers `close` to run after the test. */
  add(close: () => Promise<void> | void): void {
    this.#closers.push(close);
  }

  /** Runs every registered close, newest first. */
  async closeAll(): Promise<void> {
    for (const close of this.#closers.splice(0).reverse()) await close();
  }
}

/** Starts a fake master that `resources` closes after the test. */
export async function startMaster(resources: Resources, onConnection?: (connection: FakeConnection) => void): Promise<FakeMaster> {
  const master = await FakeMaster.start(onConnection);
  resources.add(() => master.close());
  return master;
}

/** A started client with everything it logged and every change it applied. */
export interface TestClient {
  readonly client: AssignmentClient;
  readonly events: ClientEvent[];
  readonly changes: AssignmentChange[];
}

/**
 * Starts a client of `master` (worker id `worker-0`, backoff 20 ms to 100 ms, jitter fixed at one half) that
 * `resources` stops after the test.
 */
export function startClient(resources: Resources, master: FakeMaster, options: Partial<AssignmentClientOptions> = {}): TestClient {
  const events: ClientEvent[] = [];
  const changes: AssignmentChange[] = [];
  const client = new AssignmentClient({
    address: master.address,
    workerId: 'worker-0',
    softwareVersion: '0.1.0',
    backoff: { initialMs: 20, maxMs: 100 },
    random: () => 0.5,
    log: (event) => events.push(event),
    onChange: (change) => changes.push(change),
    ...options,
  });
  client.start();
  resources.add(() => client.stop());
  return { client, events, changes };
}

/** The `disconnected` events among `events`. */
export function disconnects(events: readonly ClientEvent[]): Extract<ClientEvent, { kind: 'disconnected' }>[] {
  return events.flatMap((event) => (event.kind === 'disconnected' ? [event] : []));
}

/** Welcomes the worker on `connection` and gives it targets A and B of job node as generation 1. */
export async function assignAB(connection: FakeConnection): Promise<void> {
  await connection.next('hello');
  connection.welcome();
  connection.snapshot({ generation: 1, jobs: [job('node')], targets: [target(A), target(B)] });
  const ack = await connection.next('ack');
  if (ack.ack.generation !== 1) throw new Error(`expected the ack of generation 1, got ${ack.ack.generation}`);
}
