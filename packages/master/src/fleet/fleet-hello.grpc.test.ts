/**
 * A Hello too large for one message, over real gRPC on 127.0.0.1: a worker holding 300,000 targets (a Hello of some 9
 * MB, over the master's 4 MiB receive limit) sends them in a Hello and HeldTargets parts, the master's transport joins
 * them, and a recovering master adopts every one: nothing moves. Also what the transport refuses: more held targets or
 * parts than it takes, another message before the last part, parts that stop coming, and HeldTargets after the Welcome.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { buildTarget, parseConfig, type ScrapeConfig, type Target, type TargetId } from '@promfleet/model';
import {
  FleetClient,
  PROTOCOL_VERSION,
  RefusalReason,
  scrapeJobToProto,
  targetIdToBytes,
  targetToProto,
  type HeldTarget,
  type MasterMessage,
  type WorkerMessage,
} from '@promfleet/protocol';
import { AssignmentClient, type AssignmentChange, type ClientEvent } from '@promfleet/worker';
import type { RefusalEvent } from './admission.js';
import { Fleet, type FleetObserver, type FleetOptions, type JoinEvent } from './fleet.js';
import { JobFeed } from './fixtures.js';
import { FleetGrpcServer, type FleetGrpcServerOptions } from './server.js';

const parsed = parseConfig('scrape_configs:\n  - job_name: kubernetes-pods\n    scrape_interval: 30s\n', { file: 'h.yml' });
if (!parsed.ok) throw new Error('config');
const job = parsed.config.scrapeConfigs[0] as ScrapeConfig;

function makeTarget(i: number): Target {
  const result = buildTarget(job, new Map([['__address__', `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:8080`]]), new Map());
  if (result.kind !== 'kept') throw new Error('target');
  return result.target;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}, 60_000);

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Master {
  readonly address: string;
  readonly fleet: Fleet;
  readonly refusals: RefusalEvent[];
  readonly joins: JoinEvent[];
  readonly disconnects: { reason: string; workerId: string }[];
  readonly moves: Map<string, number>;
  /** Moves the fleet's clock forward (its startup grace, never the test's timers). */
  advance(ms: number): void;
}

async function startMaster(options: { fleet?: Partial<FleetOptions>; server?: Partial<FleetGrpcServerOptions> } = {}): Promise<Master> {
  const refusals: RefusalEvent[] = [];
  const joins: JoinEvent[] = [];
  const disconnects: { reason: string; workerId: string }[] = [];
  const moves = new Map<string, number>();
  let offset = 0;
  const observer: FleetObserver = {
    refused: (e) => refusals.push(e),
    joined: (e) => joins.push(e),
    disconnected: (reason, workerId) => disconnects.push({ reason, workerId }),
    moved: (reason, count) => moves.set(reason, (moves.get(reason) ?? 0) + count),
  };
  const fleet = new Fleet({
    masterId: 'master-1',
    softwareVersion: 'test',
    heartbeatIntervalMs: 1_000,
    rebalanceIntervalMs: 3_600_000,
    now: () => Date.now() + offset,
    observer,
    ...options.fleet,
  });
  fleet.configure({ jobs: [scrapeJobToProto(job)], remoteWrite: [] });
  fleet.start();
  const server = new FleetGrpcServer({ fleet, observer, ...options.server });
  const port = await server.listen('127.0.0.1:0');
  cleanups.push(async () => {
    fleet.stop();
    await server.close();
  });
  return {
    address: `127.0.0.1:${port}`,
    fleet,
    refusals,
    joins,
    disconnects,
    moves,
    advance: (ms) => {
      offset += ms;
    },
  };
}

interface Worker {
  readonly client: AssignmentClient;
  readonly events: ClientEvent[];
  readonly changes: AssignmentChange[];
}

/** A worker that holds `targets` at generation 41, as a previous master left it, connecting to `master`. */
function startWorker(master: Master, id: string, targets: readonly Target[]): Worker {
  const events: ClientEvent[] = [];
  const changes: AssignmentChange[] = [];
  const client = new AssignmentClient({
    address: master.address,
    workerId: id,
    softwareVersion: 'test',
    backoff: { initialMs: 20, maxMs: 100 },
    channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
    log: (event) => events.push(event),
    onChange: (change) => changes.push(change),
  });
  client.state.applySnapshot({
    generation: 41,
    jobs: [scrapeJobToProto(job)],
    remoteWrite: [],
    targets: targets.map((target) => targetToProto({ target, firstSlotUnixMs: 0 })),
    continued: false,
    leaderTerm: 1,
    unsyncedJobs: [],
  });
  client.start();
  cleanups.push(() => client.stop());
  return { client, events, changes };
}

/** A raw Fleet.Connect call, driven message by message. */
interface RawStream {
  readonly received: MasterMessage[];
  send(kind: NonNullable<WorkerMessage['kind']>): void;
  /** Whether the master ended the call. */
  ended(): boolean;
}

function openStream(address: string): RawStream {
  const client = new FleetClient(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const call: ClientDuplexStream<WorkerMessage, MasterMessage> = client.connect();
  const received: MasterMessage[] = [];
  let over = false;
  call.on('data', (message: MasterMessage) => received.push(message));
  call.on('status', () => {
    over = true;
  });
  call.on('error', () => undefined);
  cleanups.push(() => {
    call.cancel();
    client.close();
  });
  return { received, send: (kind) => call.write({ kind }), ended: () => over };
}

function heldTargets(from: number, count: number): HeldTarget[] {
  return Array.from({ length: count }, (_, i) => ({ id: targetIdToBytes((from + i).toString(16).padStart(16, '0')), job: 'node' }));
}

function hello(workerId: string, held: HeldTarget[], continued: boolean): NonNullable<WorkerMessage['kind']> {
  return {
    $case: 'hello',
    hello: { workerId, softwareVersion: 'test', protocolVersion: PROTOCOL_VERSION, heldGeneration: 7, heldTargets: held, previousStreamResourceExhausted: '', heldTargetsContinued: continued, highestLeaderTerm: 0 },
  };
}

function part(held: HeldTarget[], continued: boolean): NonNullable<WorkerMessage['kind']> {
  return { $case: 'heldTargets', heldTargets: { targets: held, continued } };
}

/** The Refusal the master sent on `stream`, once the call ended. */
async function refusalOf(stream: RawStream): Promise<{ reason: RefusalReason; message: string }> {
  await until(() => stream.ended(), 'the master to end the call', 10_000);
  const kinds = stream.received.map((m) => m.kind?.$case);
  expect(kinds).toEqual(['refusal']);
  const first = stream.received[0]?.kind;
  if (first?.$case !== 'refusal') throw new Error('no refusal');
  return first.refusal;
}

describe('a Hello in parts over gRPC', () => {
  it('lets a worker holding 300,000 targets reconnect to a recovering master, which adopts them all: nothing moves', async () => {
    const startupGraceMs = 30_000;
    // Heartbeats every 10 s: master and workers share this process's thread, which settling 300,000 targets and
    // encoding and applying their snapshot keep busy for seconds.
    const master = await startMaster({ fleet: { graceMs: startupGraceMs, startupGraceMs, heartbeatIntervalMs: 10_000 } });
    const all = Array.from({ length: 302_000 }, (_, i) => makeTarget(i));
    // An unbalanced split a fresh assignment would never make: the restarted master keeps it as it is.
    const heldByBig = all.slice(0, 300_000);
    const heldBySmall = all.slice(300_000);
    master.fleet.updateJobs([new JobFeed(job).update(all)]);
    const big = startWorker(master, 'worker-big', heldByBig);
    const small = startWorker(master, 'worker-small', heldBySmall);
    await until(() => master.joins.length === 2, 'both workers to join');
    expect(master.refusals).toEqual([]);
    const connecting = big.events.find((e) => e.kind === 'connecting');
    expect(connecting).toMatchObject({ heldTargets: 300_000 });
    // 300,000 entries of 29 bytes in parts of at most 1 MiB: the Hello and 8 HeldTargets parts.
    expect(connecting?.kind === 'connecting' && connecting.helloMessages).toBe(9);
    expect(small.events.find((e) => e.kind === 'connecting')).toMatchObject({ heldTargets: 2_000, helloMessages: 1 });
    expect(master.fleet.ready()).toBe(false);

    // The startup grace passes (on the fleet's clock): the master settles with what the workers hold.
    master.advance(startupGraceMs + 1_000);
    await until(() => master.fleet.ready(), 'the master to settle', 120_000);
    await until(
      () => master.fleet.workers().every((w) => w.generation > 0 && w.ackedGeneration === w.generation),
      'both workers to acknowledge their snapshots',
      120_000,
    );
    expect(master.fleet.workers().map((w) => [w.id, w.targets, w.generation])).toEqual([
      ['worker-big', 300_000, 42],
      ['worker-small', 2_000, 42],
    ]);
    expect([...master.moves]).toEqual([['adopted', 302_000]]);
    const misplaced: TargetId[] = [];
    for (const [holder, held] of [['worker-big', heldByBig], ['worker-small', heldBySmall]] as const) {
      for (const t of held) if (master.fleet.target(t.id)?.owner !== holder) misplaced.push(t.id);
    }
    expect(misplaced).toEqual([]);
    // Each worker applied a snapshot that keeps everything it held: nothing added, nothing removed.
    for (const [worker, count] of [[big, 300_000], [small, 2_000]] as const) {
      expect(worker.changes.map((c) => [c.generation, c.added.length, c.removed.length])).toEqual([[42, 0, 0]]);
      expect(worker.client.state.targets.size).toBe(count);
    }
    expect(big.events.filter((e) => e.kind === 'disconnected' || e.kind === 'resourceExhausted')).toEqual([]);
  }, 300_000);

  it('refuses a Hello whose parts list more held targets than the master takes, as invalid_hello, once', async () => {
    const master = await startMaster({ server: { maxHeldTargets: 1_000 } });
    const stream = openStream(master.address);
    stream.send(hello('w-cap', heldTargets(0, 600), true));
    stream.send(part(heldTargets(600, 300), true));
    stream.send(part(heldTargets(900, 300), true));
    // More parts already on their way after the one past the cap.
    stream.send(part(heldTargets(1_200, 300), false));
    const refusal = await refusalOf(stream);
    expect(refusal.reason).toBe(RefusalReason.INVALID_HELLO);
    expect(refusal.message).toBe('the Hello lists more than 1000 held targets, the most this master takes (1200 so far)');
    expect(master.refusals).toEqual([expect.objectContaining({ reason: 'invalid_hello', workerId: 'w-cap', message: refusal.message })]);
    expect(master.joins).toEqual([]);
  });

  it('refuses a Hello that lists more held targets than the master takes in itself', async () => {
    const master = await startMaster({ server: { maxHeldTargets: 1_000 } });
    const stream = openStream(master.address);
    stream.send(hello('w-cap', heldTargets(0, 1_001), false));
    expect((await refusalOf(stream)).message).toMatch(/^the Hello lists more than 1000 held targets/);
    expect(master.refusals.map((r) => r.reason)).toEqual(['invalid_hello']);
  });

  it('refuses more HeldTargets parts than the master takes', async () => {
    const master = await startMaster({ server: { maxHelloParts: 3 } });
    const stream = openStream(master.address);
    stream.send(hello('w-parts', [], true));
    for (let i = 0; i < 4; i++) stream.send(part(heldTargets(i, 1), true));
    const refusal = await refusalOf(stream);
    expect(refusal).toMatchObject({ reason: RefusalReason.INVALID_HELLO, message: 'more than 3 HeldTargets parts follow the Hello, the most this master takes' });
    expect(master.refusals.map((r) => r.reason)).toEqual(['invalid_hello']);
  });

  it('refuses any other message before the last part, as it refuses a stream that does not start with a Hello', async () => {
    const master = await startMaster();
    const stream = openStream(master.address);
    stream.send(hello('w-early', heldTargets(0, 10), true));
    stream.send(part(heldTargets(10, 10), true));
    stream.send({ $case: 'heartbeat', heartbeat: { sequence: 1, sentUnixMs: Date.now() } });
    const refusal = await refusalOf(stream);
    expect(refusal).toMatchObject({
      reason: RefusalReason.INVALID_HELLO,
      message: 'a Hello with held_targets_continued must be followed by HeldTargets parts up to the last one; got heartbeat after 1 parts',
    });
    expect(master.refusals.map((r) => [r.reason, r.workerId])).toEqual([['invalid_hello', 'w-early']]);

    // A HeldTargets part instead of the Hello is refused as any message but a Hello is.
    const first = openStream(master.address);
    first.send(part(heldTargets(0, 10), false));
    expect((await refusalOf(first)).message).toBe('the first message of a stream must be a Hello');
  });

  it('refuses a Hello whose last part does not come within the Hello deadline', async () => {
    const master = await startMaster({ server: { helloTimeoutMs: 200 } });
    const stream = openStream(master.address);
    stream.send(hello('w-slow', heldTargets(0, 10), true));
    stream.send(part(heldTargets(10, 5), true));
    const refusal = await refusalOf(stream);
    expect(refusal.message).toBe('the stream sent its Hello but not all its HeldTargets parts in time (15 held targets in 1 parts so far)');
    expect(master.refusals.map((r) => [r.reason, r.workerId])).toEqual([['hello_timeout', 'w-slow']]);
  });

  it('welcomes a worker once its last part arrives (an empty part included), and ends a stream that sends HeldTargets after the Welcome', async () => {
    const master = await startMaster({ fleet: { startupGraceMs: 60_000 } });
    const stream = openStream(master.address);
    stream.send(hello('w-late', heldTargets(0, 3), true));
    stream.send(part(heldTargets(3, 4), true));
    stream.send(part([], true));
    stream.send(part(heldTargets(7, 2), false));
    await until(() => stream.received.length > 0, 'the Welcome');
    expect(stream.received[0]?.kind?.$case).toBe('welcome');
    expect(master.joins.map((j) => j.workerId)).toEqual(['w-late']);
    stream.send(part(heldTargets(9, 1), false));
    await until(() => stream.ended(), 'the master to end the stream');
    expect(master.disconnects).toEqual([{ reason: 'protocol-error', workerId: 'w-late' }]);
    expect(master.refusals).toEqual([]);
  });
});
