/**
 * The client keeps what crosses the stream bounded: health reports cut and split under the gRPC limit, held targets
 * beyond what a Hello takes sent in HeldTargets parts, a snapshot
 * in parts that outgrows the buffer dropped, and a stream cut for an oversized message logged with the limit and
 * told to the master in the next Hello.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  HEALTH_REPORT_PART_BYTES,
  HELLO_PART_BYTES,
  MAX_ERROR_BYTES,
  MAX_MESSAGE_BYTES,
  WorkerMessage,
  targetIdFromBytes,
  type HeldTargets,
} from '@promfleet/protocol';
import type { TargetHealthRecord } from './state.js';
import { A, B, Resources, assignAB, disconnects, job, startClient, startMaster, target, waitFor } from './client-fixtures.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

function failing(index: number, lastError: string): TargetHealthRecord {
  return {
    id: index.toString(16).padStart(16, '0'),
    health: { lastScrapeUnixMs: 1_767_225_600_000, durationSeconds: 0.01, samplesScraped: 0, samplesPostMetricRelabeling: 0, up: false, lastError },
  };
}

describe('AssignmentClient bounds', () => {
  it('sends a large health report in parts under the budget, errors cut, every target once', async () => {
    const master = await startMaster(resources);
    const targets = Array.from({ length: 2_500 }, (_, i) => failing(i, `label set too long: ${'x'.repeat(5_000)}`));
    startClient(resources, master, { healthReport: () => targets });
    const connection = await master.connection(0);
    await connection.next('hello');
    connection.welcome({ healthReportIntervalMs: 500 });
    // One whole report: parts up to the first with `continued` unset.
    await waitFor(() => connection.received.some((m) => m.kind?.$case === 'healthReport' && !m.kind.healthReport.continued), 'a whole health report', 10_000);
    const parts: WorkerMessage[] = [];
    for (const message of connection.received) {
      if (message.kind?.$case !== 'healthReport') continue;
      parts.push(message);
      if (!message.kind.healthReport.continued) break;
    }
    expect(parts.length).toBeGreaterThan(2);
    const entries = parts.flatMap((m) => (m.kind?.$case === 'healthReport' ? m.kind.healthReport.targets : []));
    expect(entries).toHaveLength(targets.length);
    for (const part of parts) expect(WorkerMessage.encode(part).finish().length).toBeLessThanOrEqual(HEALTH_REPORT_PART_BYTES);
    for (const entry of entries) {
      expect(Buffer.byteLength(entry.lastError)).toBeLessThanOrEqual(MAX_ERROR_BYTES);
      expect(entry.lastError).toMatch(/…\(\d+ bytes truncated\)$/);
    }
  }, 30_000);

  it('lists 120,000 held targets in a Hello and HeldTargets parts under the budget, in order, before the Welcome', async () => {
    const master = await startMaster(resources);
    const { client, events } = startClient(resources, master);
    // 120,000 targets in 4 snapshot parts under the worker's receive limit.
    const ids = Array.from({ length: 120_000 }, (_, i) => (0x10_0000 + i).toString(16).padStart(16, '0'));
    const targets = ids.map((id) => target(id));
    const first = await master.connection(0);
    await first.next('hello');
    // Heartbeats every 5 s: this thread, which plays master and worker, is busy for a while with 120,000 targets.
    first.welcome({ heartbeatIntervalMs: 5_000 });
    for (let p = 0; p < 4; p++) {
      first.snapshot({ generation: 1, jobs: p === 0 ? [job('node')] : [], targets: targets.slice(p * 30_000, (p + 1) * 30_000), continued: p < 3 });
    }
    expect((await first.next('ack', 20_000)).ack.generation).toBe(1);
    // The master restarts: the next stream lists all 120,000 (a Hello of over 2 MiB in one message).
    first.end();
    const second = await master.connection(1, 10_000);
    const { hello } = await second.next('hello', 10_000);
    expect(hello.heldGeneration).toBe(1);
    expect(hello.heldTargetsContinued).toBe(true);
    const parts: HeldTargets[] = [];
    for (;;) {
      const { heldTargets } = await second.next('heldTargets', 10_000);
      parts.push(heldTargets);
      if (!heldTargets.continued) break;
    }
    // Nothing else came before the last part: the worker waits for the Welcome.
    expect(second.received.map((m) => m.kind?.$case)).toEqual(['hello', ...parts.map(() => 'heldTargets')]);
    const messages = second.received;
    for (const message of messages) expect(WorkerMessage.encode(message).finish().length).toBeLessThanOrEqual(HELLO_PART_BYTES);
    const listed = [...hello.heldTargets, ...parts.flatMap((p) => p.targets)].map((t) => targetIdFromBytes(t.id));
    expect(listed).toEqual(client.state.held().map((t) => t.id));
    expect(new Set(listed).size).toBe(120_000);
    expect(events.filter((e) => e.kind === 'connecting').map((e) => e.kind === 'connecting' && [e.heldTargets, e.helloMessages])).toEqual([
      [0, 1],
      [120_000, messages.length],
    ]);
    expect(messages.length).toBe(3);
    // Welcomed, the worker carries on as usual.
    second.welcome({ heartbeatIntervalMs: 5_000 });
    second.snapshot({ generation: 2, jobs: [job('node')], targets: [target(A), target(B)] });
    expect((await second.next('ack', 10_000)).ack.generation).toBe(2);
  }, 120_000);

  it('drops a snapshot in parts that outgrows its buffer, keeps what it holds, and reconnects', async () => {
    const master = await startMaster(resources);
    const { client, events } = startClient(resources, master, { maxPartialSnapshotBytes: 10_000 });
    const first = await master.connection(0);
    await assignAB(first);
    // A master that keeps sending parts and never the last one.
    for (let part = 0; part < 100; part++) {
      first.snapshot({ generation: 2, jobs: [job(`job-${part}`)], targets: [target((0x1000 + part).toString(16).padStart(16, '0'), `job-${part}`)], continued: true });
    }
    const second = await master.connection(1);
    expect((await second.next('hello')).hello.heldGeneration).toBe(1);
    const dropped = events.find((e) => e.kind === 'partialSnapshotDropped');
    expect(dropped).toMatchObject({ kind: 'partialSnapshotDropped', generation: 2, limitBytes: 10_000 });
    expect(disconnects(events)[0]?.reason).toMatch(/^assignment rejected: snapshot 2 in parts holds about \d+ bytes/);
    expect(client.state.generation).toBe(1);
    expect([...client.state.targets.keys()]).toEqual([A, B]);
  }, 30_000);

  it('logs a stream cut for an oversized message with the limit, and tells the master in the next Hello', async () => {
    const master = await startMaster(resources);
    const { events } = startClient(resources, master);
    const first = await master.connection(0);
    await first.next('hello');
    first.welcome();
    // A master with a larger send limit than the worker's receive limit.
    const labels = Array.from({ length: 5 }, (_, i) => ({ name: `big_${i}`, value: 'v'.repeat(1024 * 1024) }));
    first.snapshot({ generation: 1, jobs: [job('node')], targets: [{ ...target(A), labels: [...target(A).labels, ...labels] }] });
    const second = await master.connection(1);
    const { hello } = await second.next('hello');
    expect(hello.previousStreamResourceExhausted).toMatch(/larger than max/);
    const exhausted = events.find((e) => e.kind === 'resourceExhausted');
    expect(exhausted).toMatchObject({ kind: 'resourceExhausted', limitBytes: MAX_MESSAGE_BYTES });
    // Once welcomed, the next Hello no longer repeats it.
    second.welcome();
    second.end();
    const third = await master.connection(2);
    expect((await third.next('hello')).hello.previousStreamResourceExhausted).toBe('');
  }, 30_000);
});
