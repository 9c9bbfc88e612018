/**
 * The assignment client against a scripted master on a real grpc-js server: what a stream carries (Hello, acks,
 * heartbeats, health reports), when the client gives up on a stream, and that the assignment survives every
 * disconnect.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Server, ServerCredentials, type ClientOptions } from '@grpc/grpc-js';
import { FleetService, PROTOCOL_VERSION, RefusalReason, labelsToProto, targetIdFromBytes, targetIdToBytes, type FleetServerStream, type TargetHealth } from '@promfleet/protocol';
import { AssignmentClient } from './client.js';
import {
  A,
  B,
  C,
  Resources,
  assignAB,
  disconnects,
  gone,
  job,
  startClient,
  startMaster,
  target,
  waitFor,
  type FakeConnection,
} from './client-fixtures.js';

const resources = new Resources();
afterEach(() => resources.closeAll());


describe('AssignmentClient stream', () => {
  it('says hello, acks every generation after telling onChange, and lists what it holds in the next hello', async () => {
    const master = await startMaster(resources);
    const { client, changes } = startClient(resources, master);
    const first = await master.connection(0);
    expect((await first.next('hello')).hello).toEqual({
      workerId: 'worker-0',
      softwareVersion: '0.1.0',
      protocolVersion: PROTOCOL_VERSION,
      heldGeneration: 0,
      heldTargets: [],
      previousStreamResourceExhausted: '',
      heldTargetsContinued: false,
      highestLeaderTerm: 0,
    });
    first.welcome();
    first.snapshot({ generation: 1, jobs: [job('node')], targets: [target(A), target(B)] });
    expect((await first.next('ack')).ack.generation).toBe(1);
    expect(changes.map((c) => c.generation)).toEqual([1]);
    first.delta({ generation: 2, baseGeneration: 1, addedTargets: [target(C)] });
    expect((await first.next('ack')).ack.generation).toBe(2);
    expect(client.connected).toBe(true);
    expect(client.masterId).toBe('master-0');

    first.end();
    const second = await master.connection(1);
    const hello = (await second.next('hello')).hello;
    expect(hello.heldGeneration).toBe(2);
    expect(hello.heldTargets.map((t) => [targetIdFromBytes(t.id), t.job]).sort()).toEqual([
      [A, 'node'],
      [B, 'node'],
      [C, 'node'],
    ]);
    // The master still knows what the worker holds, so it answers with a delta instead of a snapshot.
    second.welcome();
    second.delta({ generation: 3, baseGeneration: 2, removedTargets: [gone(A)] });
    expect((await second.next('ack')).ack.generation).toBe(3);
    expect(changes.at(-1)?.removed).toEqual([{ id: A, reason: 'gone', lastSlotUnixMs: 0 }]);
    expect([...client.state.targets.keys()].sort()).toEqual([B, C]);
  });

  it('applies a split snapshot once and acks its generation once', async () => {
    const master = await startMaster(resources);
    const { client, changes } = startClient(resources, master);
    const connection = await master.connection(0);
    await connection.next('hello');
    connection.welcome();
    connection.snapshot({ generation: 4, jobs: [job('node')], targets: [target(A)], continued: true });
    connection.snapshot({ generation: 4, targets: [target(B)], continued: true });
    connection.snapshot({ generation: 4, targets: [target(C)] });
    expect((await connection.next('ack')).ack.generation).toBe(4);
    expect(changes.map((c) => c.added.length)).toEqual([3]);
    expect(connection.received.filter((m) => m.kind?.$case === 'ack')).toHaveLength(1);
    expect(client.state.targets.size).toBe(3);
  });

  it('sends heartbeats numbered from 1 and complete health reports at the welcomed intervals, in their wire form', async () => {
    const master = await startMaster(resources);
    const record = {
      id: A,
      health: { lastScrapeUnixMs: 1_767_225_600_000, durationSeconds: 0.012, samplesScraped: 420, samplesPostMetricRelabeling: 400, up: true, lastError: '' },
    };
    const health: TargetHealth = {
      targetId: targetIdToBytes(A),
      lastScrapeUnixMs: 1_767_225_600_000,
      lastScrapeDurationSeconds: 0.012,
      samplesScraped: 420,
      samplesPostMetricRelabeling: 400,
      up: true,
      lastError: '',
    };
    startClient(resources, master, { now: () => 1_767_225_612_345, healthReport: () => [record] });
    const connection = await master.connection(0);
    await connection.next('hello');
    connection.welcome({ heartbeatIntervalMs: 30, healthReportIntervalMs: 40 });
    connection.snapshot({ generation: 1, jobs: [job('node')], targets: [target(A)] });
    await connection.next('ack');
    const heartbeats = [await connection.next('heartbeat'), await connection.next('heartbeat'), await connection.next('heartbeat')];
    expect(heartbeats.map((h) => h.heartbeat)).toEqual([1, 2, 3].map((sequence) => ({ sequence, sentUnixMs: 1_767_225_612_345 })));
    await waitFor(
      () => connection.received.some((m) => m.kind?.$case === 'healthReport' && m.kind.healthReport.generation === 1),
      'a health report of generation 1',
    );
    const report = connection.received.flatMap((m) => (m.kind?.$case === 'healthReport' ? [m.kind.healthReport] : [])).at(-1);
    expect(report).toEqual({ generation: 1, targets: [health], continued: false });
    // The master's own heartbeats keep the stream alive through many heartbeat intervals.
    expect(master.connections).toHaveLength(1);
  });

  it('sends health reports with no targets when it has no health source', async () => {
    const master = await startMaster(resources);
    startClient(resources, master);
    const connection = await master.connection(0);
    await connection.next('hello');
    connection.welcome({ healthReportIntervalMs: 20 });
    expect((await connection.next('healthReport')).healthReport).toEqual({ generation: 0, targets: [], continued: false });
  });

  it('treats a stream with nothing received for three heartbeat intervals as dead and reconnects', async () => {
    const master = await startMaster(resources);
    const { events } = startClient(resources, master);
    const first = await master.connection(0);
    await first.next('hello');
    const welcomedAt = performance.now();
    first.welcome({ heartbeatIntervalMs: 40 }, { heartbeats: false });
    await master.connection(1);
    expect(performance.now() - welcomedAt).toBeGreaterThanOrEqual(115);
    await waitFor(() => first.cancelled, 'the dead stream to be cancelled');
    expect(disconnects(events)[0]?.reason).toBe('nothing received for 120 ms (3 heartbeat intervals)');
  });

  it('gives up on a stream whose master does not answer the hello in time', async () => {
    const master = await startMaster(resources);
    const { client } = startClient(resources, master, { welcomeTimeoutMs: 80 });
    const first = await master.connection(0);
    await master.connection(1);
    expect(first.cancelled).toBe(true);
    expect(client.lastError).toBe('no Welcome within 80 ms');
  });

  it('uses the worker id the master assigned in the hellos that follow', async () => {
    const master = await startMaster(resources);
    const { client } = startClient(resources, master, { workerId: '' });
    const first = await master.connection(0);
    expect((await first.next('hello')).hello.workerId).toBe('');
    first.welcome({ workerId: 'worker-7f3a' });
    await waitFor(() => client.connected, 'the welcome');
    expect(client.workerId).toBe('worker-7f3a');
    first.end();
    expect((await (await master.connection(1)).next('hello')).hello.workerId).toBe('worker-7f3a');
  });
});

describe('AssignmentClient rejects what it cannot follow and reconnects with its assignment intact', () => {
  it.each<[string, (connection: FakeConnection) => void, string]>([
    [
      'a delta on another base generation',
      (c) => c.delta({ generation: 9, baseGeneration: 7, addedTargets: [target(C)] }),
      'assignment rejected: assignment delta to generation 9 is based on generation 7, but the worker holds generation 1',
    ],
    [
      'a malformed delta',
      (c) => c.delta({ generation: 2, baseGeneration: 1, addedTargets: [{ ...target(C), labels: [{ name: 'a', value: '1' }, { name: 'a', value: '2' }] }] }),
      'assignment rejected: assignment_delta.added_targets[0].labels: label "a" appears more than once; a label set has one value per name',
    ],
    [
      'a snapshot of another leader term than the Welcome',
      (c) => c.snapshot({ generation: 2, jobs: [job('node')], targets: [target(C)], leaderTerm: 2 }),
      "assignment rejected: assignment_snapshot.leader_term is 2, but the stream's Welcome has leader term 1",
    ],
    [
      'a delta of another leader term than the Welcome',
      (c) => c.delta({ generation: 2, baseGeneration: 1, removedTargets: [gone(A)], leaderTerm: 0 }),
      "assignment rejected: assignment_delta.leader_term is 0, but the stream's Welcome has leader term 1",
    ],
    ['a second welcome', (c) => c.welcome(), 'the master sent a second Welcome'],
    ['a refusal after the welcome', (c) => c.refuse({}), 'the master sent a Refusal after its Welcome'],
  ])('%s', async (_name, send, reason) => {
    const master = await startMaster(resources);
    const { client, events } = startClient(resources, master);
    const first = await master.connection(0);
    await assignAB(first);
    send(first);
    const second = await master.connection(1);
    expect(disconnects(events)[0]?.reason).toBe(reason);
    expect(client.lastError).toBe(reason);
    expect(client.state.generation).toBe(1);
    const hello = (await second.next('hello')).hello;
    expect(hello.heldGeneration).toBe(1);
    expect(hello.heldTargets.map((t) => targetIdFromBytes(t.id)).sort()).toEqual([A, B]);
  });

  it.each<[string, Parameters<FakeConnection['welcome']>[0], string]>([
    ['another protocol version', { protocolVersion: 2 }, `the master chose protocol version 2; this worker speaks ${PROTOCOL_VERSION}`],
    ['no heartbeat interval', { heartbeatIntervalMs: 0 }, 'welcome.heartbeat_interval_ms is 0'],
    ['no health report interval', { healthReportIntervalMs: 0 }, 'welcome.health_report_interval_ms is 0'],
  ])('a welcome with %s', async (_name, fields, reason) => {
    const master = await startMaster(resources);
    const { client } = startClient(resources, master);
    const first = await master.connection(0);
    await first.next('hello');
    first.welcome(fields);
    await master.connection(1);
    expect(client.lastError).toBe(reason);
  });

  it('an assignment before the welcome', async () => {
    const master = await startMaster(resources);
    const { client } = startClient(resources, master);
    const first = await master.connection(0);
    await first.next('hello');
    first.snapshot({ generation: 1, jobs: [job('node')], targets: [target(A)] });
    await master.connection(1);
    expect(client.lastError).toBe('the master sent an assignment before its Welcome');
    expect(client.state.generation).toBe(0);
  });

  it('a master with a lower leader term than one seen before', async () => {
    const master = await startMaster(resources);
    const { client } = startClient(resources, master);
    const first = await master.connection(0);
    await first.next('hello');
    first.welcome({ leaderTerm: 5 });
    await waitFor(() => client.connected, 'the first welcome');
    first.end();
    const second = await master.connection(1);
    await second.next('hello');
    second.welcome({ leaderTerm: 3 });
    const third = await master.connection(2);
    expect(client.lastError).toBe("the master's leader term 3 is below term 5 seen before");
    await third.next('hello');
    third.welcome({ leaderTerm: 6 });
    await waitFor(() => client.connected, 'the welcome of term 6');
  });
});

describe('AssignmentClient static stability', () => {
  it('keeps its assignment while the master is gone and offers it to the master that comes back', async () => {
    const master = await startMaster(resources);
    const { client, changes } = startClient(resources, master);
    await assignAB(await master.connection(0));
    master.kill();
    await waitFor(() => !client.connected, 'the disconnect');
    expect(client.state.generation).toBe(1);
    expect([...client.state.targets.keys()].sort()).toEqual([A, B]);
    expect(client.lastError).not.toBe('');

    await master.restart();
    const back = await master.connection(1, 5_000);
    const hello = (await back.next('hello')).hello;
    expect(hello.heldGeneration).toBe(1);
    expect(hello.heldTargets.map((t) => targetIdFromBytes(t.id)).sort()).toEqual([A, B]);
    back.welcome({ masterId: 'master-1', leaderTerm: 2 });
    back.snapshot({ generation: 2, jobs: [job('node')], targets: [target(B)] });
    expect((await back.next('ack')).ack.generation).toBe(2);
    expect(changes.at(-1)).toMatchObject({ generation: 2, added: [], removed: [{ id: A, reason: 'gone' }] });
    expect(client.masterId).toBe('master-1');
  });

  it('keeps held targets of the jobs a new master has not synced yet until a delta settles them', async () => {
    const master = await startMaster(resources);
    const { client, changes } = startClient(resources, master);
    await assignAB(await master.connection(0));
    master.kill();
    await master.restart();
    const back = await master.connection(1, 5_000);
    await back.next('hello');
    back.welcome({ masterId: 'master-1', leaderTerm: 2 });
    back.snapshot({ generation: 2, jobs: [job('node')], unsyncedJobs: ['node'] });
    expect((await back.next('ack')).ack.generation).toBe(2);
    expect(changes.at(-1)).toEqual({ generation: 2, added: [], removed: [], jobsChanged: false, remoteWriteChanged: false });
    expect([...client.state.targets.keys()].sort()).toEqual([A, B]);

    // Discovery synced: A is still there and stays as it runs, B is gone.
    back.delta({ generation: 3, baseGeneration: 2, addedTargets: [target(A)], removedTargets: [gone(B)] });
    expect((await back.next('ack')).ack.generation).toBe(3);
    expect(changes.at(-1)).toMatchObject({ generation: 3, added: [], removed: [{ id: B, reason: 'gone', lastSlotUnixMs: 0 }] });
    expect([...client.state.targets.keys()]).toEqual([A]);
  });

  it('keeps its assignment when a standby refuses it as NOT_LEADER, and tries again after the delay asked for', async () => {
    const master = await startMaster(resources);
    const { client, events, changes } = startClient(resources, master);
    const first = await master.connection(0);
    await assignAB(first);
    first.end();
    const standby = await master.connection(1);
    await standby.next('hello');
    const refusedAt = performance.now();
    standby.refuse({ reason: RefusalReason.NOT_LEADER, message: 'master-0 is standby', retryAfterMs: 200, leaderAddress: 'master-1.promfleet:9096' });
    const leader = await master.connection(2);
    expect(performance.now() - refusedAt).toBeGreaterThanOrEqual(195);
    expect(events.find((e) => e.kind === 'refused')).toMatchObject({ reason: 'NOT_LEADER', retryAfterMs: 200, leaderAddress: 'master-1.promfleet:9096' });
    expect(disconnects(events).at(-1)).toEqual({
      kind: 'disconnected',
      reason: 'refused: NOT_LEADER: master-0 is standby (leader: master-1.promfleet:9096)',
      reconnectInMs: 200,
    });
    expect(changes).toHaveLength(1);
    expect([...client.state.targets.keys()].sort()).toEqual([A, B]);
    const hello = (await leader.next('hello')).hello;
    expect(hello.heldGeneration).toBe(1);
    expect(hello.highestLeaderTerm).toBe(1);
    expect(hello.heldTargets.map((t) => targetIdFromBytes(t.id)).sort()).toEqual([A, B]);
  });

  it('keeps its assignment after stop()', async () => {
    const master = await startMaster(resources);
    const { client } = startClient(resources, master);
    const connection = await master.connection(0);
    await assignAB(connection);
    await client.stop();
    expect(connection.endedByWorker).toBe(true);
    expect(client.connected).toBe(false);
    expect([...client.state.targets.keys()].sort()).toEqual([A, B]);
  });
});

describe('AssignmentClient channel options', () => {
  it('lets channelOptions override the client\'s own settings', async () => {
    const master = await startMaster(resources);
    const { client, events } = startClient(resources, master, { channelOptions: { 'grpc.max_receive_message_length': 1_024 } });
    const connection = await master.connection(0);
    await connection.next('hello');
    connection.welcome();
    const big = { ...target(A), labels: labelsToProto(new Map([['__address__', '10.0.0.1:9100'], ['padding', 'x'.repeat(2_000)]])) };
    connection.snapshot({ generation: 1, jobs: [job('node')], targets: [big] });
    await waitFor(() => disconnects(events).length > 0, 'the disconnect');
    expect(disconnects(events)[0]?.reason).toMatch(/larger than max/);
    expect(client.state.generation).toBe(0);
  });

  it.each<[string, Partial<ClientOptions> | undefined, number]>([
    ['open a connection each by default', undefined, 2],
    ['share one connection with the global subchannel pool', { 'grpc.use_local_subchannel_pool': 0 }, 1],
  ])('two clients in one process %s', async (_, channelOptions, connections) => {
    const peers: string[] = [];
    const server = new Server();
    server.addService(FleetService, {
      connect: (call: FleetServerStream) => {
        peers.push(call.getPeer());
        // Read the Hello and end the call when the client half-closes it, as the master does.
        call.resume();
        call.on('end', () => call.end());
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    resources.add(() => server.forceShutdown());
    for (const workerId of ['worker-0', 'worker-1']) {
      const client = new AssignmentClient({ address: `127.0.0.1:${port}`, workerId, softwareVersion: '0.1.0', ...(channelOptions === undefined ? {} : { channelOptions }) });
      client.start();
      resources.add(() => client.stop());
    }
    await waitFor(() => peers.length === 2, 'both calls');
    expect(new Set(peers).size).toBe(connections);
  });
});
