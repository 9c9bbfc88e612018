/**
 * When the assignment client connects again: refusals (and their retry delay), exponential backoff with full jitter,
 * the attempt count starting over after a stable stream, and `stop()` ending it all.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { RefusalReason } from '@promfleet/protocol';
import { backoffDelayMs } from './backoff.js';
import { Resources, disconnects, startClient, startMaster, waitFor, type FakeConnection } from './client-fixtures.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A master script that refuses every worker after its hello. */
function refuseAll(fields: Parameters<FakeConnection['refuse']>[0]): (connection: FakeConnection) => void {
  return (connection) => {
    void connection.next('hello').then(() => connection.refuse(fields));
  };
}

describe('backoffDelayMs', () => {
  it.each([
    [0, 0.5, 250],
    [0, 0, 0],
    [3, 0.999, 3_996],
    [5, 0.5, 8_000],
    [10, 0.999, 29_970],
    [5_000, 0.5, 15_000],
  ])('attempt %d with random %d waits %d ms (initial 500 ms, max 30 s)', (attempt, random, expected) => {
    expect(backoffDelayMs({ attempt, initialMs: 500, maxMs: 30_000, random: () => random })).toBe(expected);
  });

  it('spreads delays over the whole window', () => {
    const delays = Array.from({ length: 1_000 }, () => backoffDelayMs({ attempt: 4, initialMs: 500, maxMs: 30_000, random: Math.random }));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(8_000);
    expect(Math.min(...delays)).toBeLessThan(1_000);
    expect(Math.max(...delays)).toBeGreaterThan(7_000);
    expect(new Set(delays).size).toBeGreaterThan(900);
  });
});

describe('AssignmentClient reconnects', () => {
  it('waits the retry delay a refusal asks for, then connects again', async () => {
    const master = await startMaster(resources);
    const { client, events } = startClient(resources, master);
    const first = await master.connection(0);
    await first.next('hello');
    const refusedAt = performance.now();
    first.refuse({ reason: RefusalReason.UNAVAILABLE, message: 'starting up', retryAfterMs: 250 });
    await master.connection(1);
    expect(performance.now() - refusedAt).toBeGreaterThanOrEqual(245);
    expect(events.find((e) => e.kind === 'refused')).toEqual({
      kind: 'refused',
      reason: 'UNAVAILABLE',
      message: 'starting up',
      retryAfterMs: 250,
      leaderAddress: '',
    });
    expect(disconnects(events)[0]).toEqual({ kind: 'disconnected', reason: 'refused: UNAVAILABLE: starting up', reconnectInMs: 250 });
    expect(client.lastError).toBe('refused: UNAVAILABLE: starting up');
  });

  it.each([
    ['DUPLICATE_WORKER_ID', RefusalReason.DUPLICATE_WORKER_ID, 'worker-0 is connected', '', 'refused: DUPLICATE_WORKER_ID: worker-0 is connected'],
    ['NOT_LEADER', RefusalReason.NOT_LEADER, 'master-1 leads', 'master-1:9095', 'refused: NOT_LEADER: master-1 leads (leader: master-1:9095)'],
    ['UNSPECIFIED', RefusalReason.UNSPECIFIED, 'no reason', '', 'refused: UNSPECIFIED: no reason'],
  ])('retries after its own backoff when refused as %s without a retry delay', async (_name, reason, message, leaderAddress, lastError) => {
    const master = await startMaster(resources, refuseAll({ reason, message, leaderAddress }));
    const { client, events } = startClient(resources, master);
    await master.connection(2);
    expect(disconnects(events).slice(0, 2).map((e) => e.reconnectInMs)).toEqual([10, 20]);
    expect(client.lastError).toBe(lastError);
  });

  it('dials a new connection after a NOT_LEADER refusal or a master it will not follow, and keeps it otherwise', async () => {
    const master = await startMaster(resources);
    startClient(resources, master);
    const unavailable = await master.connection(0);
    await unavailable.next('hello');
    unavailable.refuse({ reason: RefusalReason.UNAVAILABLE, message: 'starting up', retryAfterMs: 10 });
    const standby = await master.connection(1);
    // Behind a Service, the same connection reaches the same master: fine for a master that is starting.
    expect(standby.peer).toBe(unavailable.peer);
    await standby.next('hello');
    standby.refuse({ reason: RefusalReason.NOT_LEADER, message: 'master-0 stands by' });
    const leader = await master.connection(2);
    // A standby's connection would bring every retry back to the standby.
    expect(leader.peer).not.toBe(standby.peer);
    await leader.next('hello');
    leader.welcome({ leaderTerm: 5 });
    leader.end();
    const deposed = await master.connection(3);
    await deposed.next('hello');
    deposed.welcome({ leaderTerm: 4 });
    const next = await master.connection(4);
    expect(next.peer).not.toBe(deposed.peer);
  });

  it('backs off exponentially up to the maximum, with the jitter drawn from random()', async () => {
    const master = await startMaster(resources, refuseAll({}));
    const { events } = startClient(resources, master, { backoff: { initialMs: 10, maxMs: 80 }, random: () => 0.999 });
    await master.connection(5);
    expect(disconnects(events).slice(0, 5).map((e) => e.reconnectInMs)).toEqual([9, 19, 39, 79, 79]);
  });

  it('starts the attempt count over after a stream stayed welcomed long enough, and only then', async () => {
    const master = await startMaster(resources);
    const { events } = startClient(resources, master, { backoff: { initialMs: 10, maxMs: 1_000, resetAfterMs: 250 }, random: () => 0.999 });
    for (const index of [0, 1]) {
      const refused = await master.connection(index);
      await refused.next('hello');
      refused.refuse({});
    }
    const stable = await master.connection(2);
    await stable.next('hello');
    stable.welcome();
    await sleep(300);
    stable.end();
    const brief = await master.connection(3);
    await brief.next('hello');
    brief.welcome();
    await waitFor(() => disconnects(events).length === 3, 'the third disconnect');
    brief.end();
    await master.connection(4);
    expect(disconnects(events).map((e) => e.reconnectInMs)).toEqual([9, 19, 9, 19]);
  });

  it('stops reconnecting on stop() during a backoff', async () => {
    const master = await startMaster(resources, refuseAll({ retryAfterMs: 150 }));
    const { client, events } = startClient(resources, master);
    await waitFor(() => disconnects(events).length === 1, 'the refusal');
    await client.stop();
    await sleep(300);
    expect(master.connections).toHaveLength(1);
    expect(events.at(-1)).toEqual({ kind: 'stopped' });
  });

  it('stops reconnecting on stop() while connected, and cancels a stream the master does not end', async () => {
    const master = await startMaster(resources);
    const { client } = startClient(resources, master);
    const connection = await master.connection(0);
    await connection.next('hello');
    connection.welcome();
    await waitFor(() => client.connected, 'the welcome');
    connection.answerWorkerEnd = false;
    const stopping = performance.now();
    await client.stop();
    expect(performance.now() - stopping).toBeGreaterThanOrEqual(900);
    expect(connection.endedByWorker).toBe(true);
    await waitFor(() => connection.cancelled, 'the cancellation to reach the master');
    await sleep(150);
    expect(master.connections).toHaveLength(1);
  });

  it('can be started again after stop()', async () => {
    const master = await startMaster(resources);
    const { client } = startClient(resources, master);
    await (await master.connection(0)).next('hello');
    await client.stop();
    client.start();
    await (await master.connection(1)).next('hello');
  });
});
