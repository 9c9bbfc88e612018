import { describe, expect, it } from '@jest/globals';
import { targetId, type Target } from '@promfleet/model';
import { AssignmentDelta, AssignmentSnapshot, MAX_MESSAGE_BYTES, RemovalReason, targetIdFromBytes, type ScrapeJob } from '@promfleet/protocol';
import { WorkerOutbox } from './outbox.js';

function target(i: number, padding = 0): Target {
  const labels = new Map([
    ['__address__', `10.1.${i >> 8}.${i & 255}:9100`],
    ['job', 'node'],
    ['pod', `pod-${i}-${'x'.repeat(padding)}`],
  ]);
  return { id: targetId('node', labels), job: 'node', labels };
}

const settings = { jobs: [], remoteWrite: [] };

describe('WorkerOutbox', () => {
  it('splits a large snapshot into parts that each fit a message, the last one not continued', () => {
    const outbox = new WorkerOutbox();
    const targets = Array.from({ length: 20_000 }, (_, i) => target(i, 400));
    for (const t of targets) outbox.add(t, 0);
    const parts = outbox.snapshot({ settings, heldGeneration: 0, held: new Map() });
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(AssignmentSnapshot.encode(part).finish().length).toBeLessThan(MAX_MESSAGE_BYTES);
    expect(parts.map((p) => p.continued)).toEqual([...parts.slice(1).map(() => true), false]);
    expect(new Set(parts.map((p) => p.generation))).toEqual(new Set([1]));
    expect(parts.flatMap((p) => p.targets).length).toBe(20_000);
  });

  it('splits a large delta into deltas chained by base generation', () => {
    const outbox = new WorkerOutbox();
    outbox.snapshot({ settings, heldGeneration: 0, held: new Map() });
    for (let i = 0; i < 20_000; i++) outbox.add(target(i, 400), 0);
    const deltas = outbox.deltas();
    expect(deltas.length).toBeGreaterThan(1);
    deltas.forEach((d, i) => {
      expect(d.baseGeneration).toBe(1 + i);
      expect(d.generation).toBe(2 + i);
      expect(AssignmentDelta.encode(d).finish().length).toBeLessThan(MAX_MESSAGE_BYTES);
    });
  });

  it('numbers a snapshot above what the worker holds, and sends nothing for a change that cancelled out', () => {
    const outbox = new WorkerOutbox();
    const [a, b] = [target(1), target(2)];
    outbox.add(a, 0);
    expect(outbox.hasChanges).toBe(false);
    expect(outbox.snapshot({ settings, heldGeneration: 41, held: new Map() })[0]?.generation).toBe(42);
    outbox.add(b, 0);
    outbox.remove(b.id, { reason: 'gone', lastSlotUnixMs: 0 });
    expect(outbox.deltas()).toEqual([]);
    outbox.remove(a.id, { reason: 'moved', lastSlotUnixMs: 123 });
    outbox.add(a, 456);
    expect(outbox.deltas()).toEqual([]);
    outbox.remove(a.id, { reason: 'moved', lastSlotUnixMs: 789 });
    const [delta] = outbox.deltas();
    expect(delta?.removedTargets.map((r) => [targetIdFromBytes(r.id), r.reason, r.lastSlotUnixMs])).toEqual([[a.id, RemovalReason.MOVED, 789]]);
    // The changes that cancelled out used no generation: this delta applies to the snapshot the worker holds.
    expect([delta?.baseGeneration, delta?.generation]).toEqual([42, 43]);
  });

  it('carries changed job settings in the next delta, before its targets', () => {
    const outbox = new WorkerOutbox();
    outbox.snapshot({ settings, heldGeneration: 0, held: new Map() });
    outbox.upsertJob({ name: 'node', forcedError: 'first' } as ScrapeJob);
    outbox.upsertJob({ name: 'node', forcedError: 'second' } as ScrapeJob);
    expect(outbox.hasChanges).toBe(true);
    const [delta, ...rest] = outbox.deltas();
    expect(rest).toEqual([]);
    expect(delta).toEqual(expect.objectContaining({ baseGeneration: 1, generation: 2, addedTargets: [], upsertedJobs: [{ name: 'node', forcedError: 'second' }] }));
    expect(outbox.hasChanges).toBe(false);
  });

  it('ignores acks of generations never sent and acks older than the newest', () => {
    const outbox = new WorkerOutbox();
    outbox.add(target(1), 0);
    outbox.snapshot({ settings, heldGeneration: 0, held: new Map() });
    outbox.ack(5);
    expect(outbox.ackedGeneration).toBe(0);
    outbox.ack(1);
    outbox.ack(0);
    expect(outbox.ackedGeneration).toBe(1);
    expect(outbox.canResume(1)).toBe(true);
    expect(outbox.canResume(0)).toBe(false);
  });
});
