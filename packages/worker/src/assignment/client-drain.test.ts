/**
 * Handing targets over: pending MOVED removals pruned after their last slot, and `drain()` on SIGTERM (the
 * DrainRequest, on every stream until done, and when it resolves).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { A, B, Resources, assignAB, moved, startClient, startMaster, waitFor } from './client-fixtures.js';

const resources = new Resources();
afterEach(() => resources.closeAll());


describe('AssignmentClient pending MOVED removals', () => {
  it('keeps a moved target until its last slot has passed, then prunes it on a timer', async () => {
    const master = await startMaster(resources);
    const { client, events } = startClient(resources, master);
    const connection = await master.connection(0);
    await assignAB(connection);
    const lastSlot = Date.now() + 120;
    connection.delta({ generation: 2, baseGeneration: 1, removedTargets: [moved(A, lastSlot)] });
    await connection.next('ack');
    expect(client.state.pendingRemovals.has(A)).toBe(true);
    await waitFor(() => client.state.pendingRemovals.size === 0, 'the prune');
    expect(Date.now()).toBeGreaterThan(lastSlot);
    expect(events).toContainEqual({ kind: 'pruned', targets: 1 });
    expect([...client.state.targets.keys()]).toEqual([B]);
  });
});

describe('AssignmentClient.drain', () => {
  it('sends a DrainRequest and resolves once every moved target is past its last slot, then stops', async () => {
    const master = await startMaster(resources);
    const { client, events } = startClient(resources, master);
    const connection = await master.connection(0);
    await assignAB(connection);
    const deadlineUnixMs = Date.now() + 10_000;
    let drained = false;
    const draining = client.drain({ deadlineUnixMs, reason: 'SIGTERM' }).then(() => {
      drained = true;
    });
    expect((await connection.next('drainRequest')).drainRequest).toEqual({ deadlineUnixMs, reason: 'SIGTERM' });

    const lastA = Date.now() + 100;
    const lastB = Date.now() + 200;
    connection.delta({ generation: 2, baseGeneration: 1, removedTargets: [moved(A, lastA), moved(B, lastB)] });
    expect((await connection.next('ack')).ack.generation).toBe(2);
    expect(drained).toBe(false);
    await draining;
    expect(Date.now()).toBeGreaterThan(lastB);
    expect(client.state.targets.size + client.state.pendingRemovals.size).toBe(0);
    expect(events).toContainEqual({ kind: 'drained', complete: true });
    expect(events.at(-1)).toEqual({ kind: 'stopped' });
    expect(connection.endedByWorker).toBe(true);
    expect(client.connected).toBe(false);
  });

  it('resolves at the deadline when the master does not move every target', async () => {
    const master = await startMaster(resources);
    const { client, events } = startClient(resources, master);
    const connection = await master.connection(0);
    await assignAB(connection);
    const deadlineUnixMs = Date.now() + 150;
    await client.drain({ deadlineUnixMs, reason: 'SIGTERM' });
    expect(Date.now()).toBeGreaterThanOrEqual(deadlineUnixMs);
    expect(events).toContainEqual({ kind: 'drained', complete: false });
    expect(client.state.targets.size).toBe(2);
    expect(connection.endedByWorker).toBe(true);
  });

  it('sends the DrainRequest again on the next stream', async () => {
    const master = await startMaster(resources);
    const { client } = startClient(resources, master, { backoff: { initialMs: 200, maxMs: 200 } });
    const first = await master.connection(0);
    await assignAB(first);
    first.end();
    await waitFor(() => !client.connected, 'the disconnect');
    const draining = client.drain({ deadlineUnixMs: Date.now() + 10_000, reason: 'SIGTERM' });
    const second = await master.connection(1);
    await second.next('hello');
    expect(second.received.some((m) => m.kind?.$case === 'drainRequest')).toBe(false);
    second.welcome();
    await second.next('drainRequest');
    // Last slot 0: the master could not wait, the worker stops at once.
    second.delta({ generation: 2, baseGeneration: 1, removedTargets: [moved(A, 0), moved(B, 0)] });
    await draining;
    expect(first.received.some((m) => m.kind?.$case === 'drainRequest')).toBe(false);
  });

  it('resolves at once when the worker holds nothing, and returns the same promise when called again', async () => {
    const master = await startMaster(resources);
    const { client, events } = startClient(resources, master);
    const connection = await master.connection(0);
    await connection.next('hello');
    connection.welcome();
    await waitFor(() => client.connected, 'the welcome');
    const options = { deadlineUnixMs: Date.now() + 10_000, reason: 'SIGTERM' };
    const first = client.drain(options);
    expect(client.drain(options)).toBe(first);
    await first;
    expect(events.filter((e) => e.kind === 'draining')).toHaveLength(1);
    await connection.next('drainRequest');
    await client.drain(options);
  });
});
