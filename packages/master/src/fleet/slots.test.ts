/**
 * Master and worker agree on every slot of a target: its interval is parsed once, when the master builds the target,
 * and travels as a number (`Target.scrape_interval_ms`). The master plans handovers with that number and both
 * workers of a handover scrape with it, whatever text relabeling left in `__scrape_interval__`.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { buildTarget, nextScrapeSlotMs, parseConfig, type ScrapeConfig, type Target } from '@promfleet/model';
import { MasterMessage, PROTOCOL_VERSION, RemovalReason, scrapeJobToProto, targetIdFromBytes, targetIdToBytes, type Hello } from '@promfleet/protocol';
import { AssignmentState, ScrapeLoop } from '@promfleet/worker';
import { Fleet, type WorkerSession } from './fleet.js';
import { JobFeed } from './fixtures.js';

const job = (() => {
  const parsed = parseConfig(
    [
      'scrape_configs:',
      '  - job_name: node',
      '    scrape_interval: 10s',
      '    relabel_configs:',
      '      - {source_labels: [__meta_interval], target_label: __scrape_interval__}',
      '      - {source_labels: [__meta_timeout], target_label: __scrape_timeout__}',
      '',
    ].join('\n'),
    { file: 's.yml' },
  );
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('; '));
  return parsed.config.scrapeConfigs[0] as ScrapeConfig;
})();

/** Interval texts relabeling may leave, none of them the job's, with the number each stands for. */
const intervals: readonly [string, number][] = [
  ['1m30s', 90_000],
  ['90000ms', 90_000],
  ['1h1m', 3_660_000],
];

function makeTarget(i: number): Target {
  const [text] = intervals[i % intervals.length] ?? ['1m'];
  const labels = new Map([['__address__', `10.0.0.${i}:9100`], ['__meta_interval', text], ['__meta_timeout', '20s']]);
  const result = buildTarget(job, labels, new Map());
  if (result.kind !== 'kept') throw new Error(`target ${i}`);
  return result.target;
}

/** Records what the fleet sends, as the bytes a worker receives would decode. */
class RecordingSession implements WorkerSession {
  readonly messages: MasterMessage[] = [];
  constructor(
    readonly peer: string,
    readonly identity = 'anonymous',
  ) {}
  send(message: MasterMessage): boolean {
    this.messages.push(MasterMessage.decode(MasterMessage.encode(message).finish()));
    return true;
  }
  close(): void {}
  /** A worker's assignment state after applying everything received. */
  applied(): AssignmentState {
    const state = new AssignmentState();
    for (const { kind } of this.messages) {
      if (kind?.$case === 'assignmentSnapshot') state.applySnapshot(kind.assignmentSnapshot);
      if (kind?.$case === 'assignmentDelta') state.applyDelta(kind.assignmentDelta);
    }
    return state;
  }
}

function hello(workerId: string, held: readonly Target[]): Hello {
  return {
    workerId,
    softwareVersion: 'test',
    protocolVersion: PROTOCOL_VERSION,
    heldGeneration: held.length === 0 ? 0 : 9,
    heldTargets: held.map((t) => ({ id: targetIdToBytes(t.id), job: t.job })),
    previousStreamResourceExhausted: '',
    heldTargetsContinued: false,
    highestLeaderTerm: 0,
  };
}

const fleets: Fleet[] = [];
afterEach(() => {
  for (const f of fleets.splice(0)) f.stop();
});

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('one interval for master and worker', () => {
  it('builds each target with the interval its relabeled label says, parsed once', () => {
    intervals.forEach(([, ms], i) => expect(makeTarget(i)).toMatchObject({ intervalMs: ms, timeoutMs: 20_000 }));
  });

  it('hands targets over at slots that both workers compute from the number the master planned with', async () => {
    const targets = Array.from({ length: 12 }, (_, i) => makeTarget(i));
    const fleet = new Fleet({ masterId: 'm', softwareVersion: 'test', graceMs: 40, startupGraceMs: 0, startupWaitMs: 200, heartbeatIntervalMs: 1_000, handoverLeadMs: 2_000 });
    fleets.push(fleet);
    fleet.configure({ jobs: [scrapeJobToProto(job)], remoteWrite: [] });
    fleet.start();
    fleet.updateJobs([new JobFeed(job).update(targets)]);
    const from = new RecordingSession('a:1');
    const to = new RecordingSession('b:1');
    fleet.accept(from, hello('a', targets));
    fleet.accept(to, hello('b', []));
    await until(() => fleet.ready(), 'settle');
    await new Promise((r) => setImmediate(r));

    const oldOwner = from.applied();
    const newOwner = to.applied();
    const handedOver = [...oldOwner.pendingRemovals.values()];
    expect(handedOver.length).toBeGreaterThan(0);
    const moved = from.messages.flatMap(({ kind }) => (kind?.$case === 'assignmentDelta' ? kind.assignmentDelta.removedTargets : []));
    expect(moved.every((r) => r.reason === RemovalReason.MOVED)).toBe(true);
    expect(moved.map((r) => targetIdFromBytes(r.id)).sort()).toEqual(handedOver.map((p) => p.target.id).sort());

    for (const { target: old, lastSlotUnixMs } of handedOver) {
      const built = targets.find((t) => t.id === old.id);
      const held = newOwner.targets.get(old.id);
      if (built === undefined || held === undefined) throw new Error(`target ${old.id} was not handed to b`);
      // The master planned with the number target building parsed; both workers hold that very number.
      expect(held.intervalMs).toBe(built.intervalMs);
      expect(old.intervalMs).toBe(built.intervalMs);
      expect(held.firstSlotUnixMs).toBe(lastSlotUnixMs + built.intervalMs);
      // The old owner's last slot and the new owner's first are consecutive slots of the one schedule.
      expect(nextScrapeSlotMs({ id: old.id, intervalMs: old.intervalMs, nowMs: lastSlotUnixMs })).toBe(lastSlotUnixMs);
      expect(nextScrapeSlotMs({ id: old.id, intervalMs: old.intervalMs, nowMs: lastSlotUnixMs + 1 })).toBe(held.firstSlotUnixMs);
      expect(nextScrapeSlotMs({ id: held.id, intervalMs: held.intervalMs, nowMs: held.firstSlotUnixMs })).toBe(held.firstSlotUnixMs);
      const loop = new ScrapeLoop({ target: held, firstSlotUnixMs: held.firstSlotUnixMs, job, scraper: { scrape: () => Promise.reject(new Error('not started')) }, sinks: [] });
      expect(loop.intervalMs).toBe(built.intervalMs);
    }
  });
});
