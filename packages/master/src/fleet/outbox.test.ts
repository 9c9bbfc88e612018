import { describe, expect, it } from '@jest/globals';
import { targetId, type Target } from '@promfleet/model';
import { AssignmentDelta, AssignmentSnapshot, MasterMessage, MAX_MESSAGE_BYTES, RelabelAction, RemovalReason, RemoteWriteProtocol, ScrapeJob, targetIdFromBytes, type RemoteWriteEndpoint } from '@promfleet/protocol';
import { ASSIGNMENT_PART_BYTES, WorkerOutbox } from './outbox.js';

function target(i: number, padding = 0): Target {
  const labels = new Map([
    ['__address__', `10.1.${i >> 8}.${i & 255}:9100`],
    ['job', 'node'],
    ['pod', `pod-${i}-${'x'.repeat(padding)}`],
  ]);
  return { id: targetId('node', labels), job: 'node', labels, intervalMs: 15_000, timeoutMs: 10_000 };
}

const settings = { jobs: [], remoteWrite: [] };

/** A job with a few metric relabel rules, as real configs have. */
function manyRulesJob(i: number, rules = 4): ScrapeJob {
  return ScrapeJob.fromPartial({
    name: `team-${i}/service-${i}`,
    scrapeIntervalMs: 30_000,
    scrapeTimeoutMs: 10_000,
    metricsPath: '/metrics',
    scheme: 'https',
    metricRelabelConfigs: Array.from({ length: rules }, (_, r) => ({
      sourceLabels: ['__name__', 'le'],
      separator: ';',
      regex: `(go_gc_duration_seconds|http_request_duration_seconds_bucket|process_.*_${r});.*`,
      targetLabel: '',
      replacement: '$1',
      action: RelabelAction.DROP,
    })),
  });
}

function endpoint(name: string): RemoteWriteEndpoint {
  return { name, url: `https://${name}.example/api/v1/write`, remoteTimeoutMs: 30_000, headers: new Map(), writeRelabelConfigs: [], sendExemplars: false, externalLabels: [], protocol: RemoteWriteProtocol.V1 };
}

function snapshotMessageBytes(part: AssignmentSnapshot): number {
  return MasterMessage.encode({ kind: { $case: 'assignmentSnapshot', assignmentSnapshot: part } }).finish().length;
}

function deltaMessageBytes(delta: AssignmentDelta): number {
  return MasterMessage.encode({ kind: { $case: 'assignmentDelta', assignmentDelta: delta } }).finish().length;
}

describe('WorkerOutbox', () => {
  it('splits a large snapshot into parts that each fit a message, the last one not continued', () => {
    const outbox = new WorkerOutbox(1);
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
    const outbox = new WorkerOutbox(1);
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
    const outbox = new WorkerOutbox(1);
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
    const outbox = new WorkerOutbox(1);
    outbox.snapshot({ settings, heldGeneration: 0, held: new Map() });
    outbox.upsertJob(ScrapeJob.fromPartial({ name: 'node', forcedError: 'first' }));
    outbox.upsertJob(ScrapeJob.fromPartial({ name: 'node', forcedError: 'second' }));
    expect(outbox.hasChanges).toBe(true);
    const [delta, ...rest] = outbox.deltas();
    expect(rest).toEqual([]);
    expect(delta).toEqual(expect.objectContaining({ baseGeneration: 1, generation: 2, addedTargets: [], upsertedJobs: [ScrapeJob.fromPartial({ name: 'node', forcedError: 'second' })] }));
    expect(outbox.hasChanges).toBe(false);
  });

  it('counts jobs and endpoints in the part budget: 5,000 jobs spill over parts, every one sent once, in order', () => {
    const outbox = new WorkerOutbox(1);
    const jobs = Array.from({ length: 5_000 }, (_, i) => manyRulesJob(i));
    const remoteWrite = [endpoint('mimir'), endpoint('thanos')];
    for (let i = 0; i < 2_000; i++) outbox.add(target(i, 100), 0);
    const parts = outbox.snapshot({ settings: { jobs, remoteWrite }, heldGeneration: 0, held: new Map() });
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(snapshotMessageBytes(part)).toBeLessThanOrEqual(ASSIGNMENT_PART_BYTES);
    expect(parts.flatMap((p) => p.jobs)).toEqual(jobs);
    expect(parts.flatMap((p) => p.remoteWrite)).toEqual(remoteWrite);
    expect(parts.flatMap((p) => p.targets)).toHaveLength(2_000);
    expect(parts.map((p) => p.continued)).toEqual([...parts.slice(1).map(() => true), false]);
  });

  it('sends a job that fills a part on its own in a part of its own', () => {
    const outbox = new WorkerOutbox(1);
    // About 1.9 MiB encoded: under the largest setting the master sends, more than fits beside anything.
    const big = manyRulesJob(0, 19_000);
    expect(ScrapeJob.encode(big).finish().length).toBeGreaterThan(ASSIGNMENT_PART_BYTES * 0.85);
    outbox.add(target(1), 0);
    const parts = outbox.snapshot({ settings: { jobs: [manyRulesJob(1, 2_000), big, manyRulesJob(2, 2_000)], remoteWrite: [] }, heldGeneration: 0, held: new Map() });
    expect(parts.map((p) => p.jobs.length)).toEqual([1, 1, 1]);
    for (const part of parts) expect(snapshotMessageBytes(part)).toBeLessThanOrEqual(ASSIGNMENT_PART_BYTES);
  });

  it('splits job upserts too large for one delta over deltas that come before the targets that use them', () => {
    const outbox = new WorkerOutbox(1);
    outbox.snapshot({ settings, heldGeneration: 0, held: new Map() });
    const jobs = Array.from({ length: 5_000 }, (_, i) => manyRulesJob(i));
    for (const job of jobs) outbox.upsertJob(job);
    for (let i = 0; i < 5_000; i++) outbox.add(target(i, 400), 0);
    const deltas = outbox.deltas();
    expect(deltas.length).toBeGreaterThan(2);
    for (const delta of deltas) expect(deltaMessageBytes(delta)).toBeLessThanOrEqual(ASSIGNMENT_PART_BYTES);
    expect(deltas.flatMap((d) => d.upsertedJobs)).toEqual(jobs);
    expect(deltas.flatMap((d) => d.addedTargets)).toHaveLength(5_000);
    const lastWithJobs = deltas.findLastIndex((d) => d.upsertedJobs.length > 0);
    const firstWithTargets = deltas.findIndex((d) => d.addedTargets.length > 0);
    expect(firstWithTargets).toBeGreaterThanOrEqual(lastWithJobs);
    deltas.forEach((d, i) => expect([d.baseGeneration, d.generation]).toEqual([1 + i, 2 + i]));
  });

  it('ignores acks of generations never sent and acks older than the newest', () => {
    const outbox = new WorkerOutbox(1);
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
