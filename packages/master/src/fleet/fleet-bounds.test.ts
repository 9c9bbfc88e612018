/**
 * The fleet keeps what crosses a stream bounded: health reports in parts applied per target with errors cut, jobs
 * too large for any message left out (with their targets) instead of breaking every stream, and a worker's report of
 * a stream cut for size counted.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { buildTarget, parseConfig, type ScrapeConfig, type Target } from '@promfleet/model';
import {
  MAX_ERROR_BYTES,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  RelabelAction,
  ScrapeJob,
  WorkerMessage,
  healthReportParts,
  scrapeJobToProto,
  targetIdToBytes,
  type Hello,
  type MasterMessage,
  type TargetHealth,
} from '@promfleet/protocol';
import { Fleet, type FleetObserver, type FleetOptions, type WorkerSession } from './fleet.js';
import { JobFeed } from './fixtures.js';
import { MAX_SETTING_BYTES } from './outbox.js';

const config = (() => {
  const parsed = parseConfig('scrape_configs:\n  - job_name: node\n    scrape_interval: 10s\n  - job_name: huge\n', { file: 't.yml' });
  if (!parsed.ok) throw new Error('config');
  return parsed.config;
})();
const [node, huge] = config.scrapeConfigs as [ScrapeConfig, ScrapeConfig];

function makeTarget(job: ScrapeConfig, i: number): Target {
  const result = buildTarget(job, new Map([['__address__', `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:9100`]]), new Map());
  if (result.kind !== 'kept') throw new Error('target');
  return result.target;
}

class FakeSession implements WorkerSession {
  readonly messages: MasterMessage[] = [];
  readonly identity = 'anonymous';
  constructor(readonly peer: string) {}
  send(message: MasterMessage): boolean {
    this.messages.push(message);
    return true;
  }
  close(): void {
    // Nothing to close: the test drives the fleet directly.
  }
}

function hello(workerId: string, extra: Partial<Hello> = {}): Hello {
  return { workerId, softwareVersion: 'test', protocolVersion: PROTOCOL_VERSION, heldGeneration: 0, heldTargets: [], previousStreamResourceExhausted: '', heldTargetsContinued: false, highestLeaderTerm: 0, ...extra };
}

const fleets: Fleet[] = [];
afterEach(() => {
  for (const f of fleets.splice(0)) f.stop();
});

function newFleet(options: Partial<FleetOptions> & { jobs?: ScrapeJob[] } = {}): Fleet {
  const fleet = new Fleet({ masterId: 'm', softwareVersion: 'test', graceMs: 40, startupGraceMs: 0, startupWaitMs: 200, heartbeatIntervalMs: 1_000, ...options });
  fleet.configure({ jobs: options.jobs ?? [scrapeJobToProto(node)], remoteWrite: [] });
  fleets.push(fleet);
  return fleet;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('Fleet bounds', () => {
  it('takes a health report in parts under the limit, per target, and keeps every error cut (100k targets: packages/bench message-bounds)', async () => {
    const fleet = newFleet();
    fleet.start();
    const targets = Array.from({ length: 5_000 }, (_, i) => makeTarget(node, i));
    fleet.updateJobs([new JobFeed(node).update(targets)]);
    const worker = new FakeSession('a:1');
    fleet.accept(worker, hello('a'));
    await until(() => fleet.ready(), 'the fleet to settle');

    const longError = `invalid label set: {${Array.from({ length: 480 }, (_, i) => `label_${i}="value ${i}"`).join(', ')}}`;
    expect(Buffer.byteLength(longError)).toBeGreaterThan(10_000);
    const report: TargetHealth[] = targets.map((t, i) => ({
      targetId: targetIdToBytes(t.id),
      lastScrapeUnixMs: 1_767_225_600_000 + i,
      lastScrapeDurationSeconds: 0.002,
      samplesScraped: 0,
      samplesPostMetricRelabeling: 0,
      up: false,
      lastError: longError,
    }));
    let largest = 0;
    const parts = healthReportParts({ generation: 1, targets: report });
    for (const healthReport of parts) {
      // What the master's gRPC layer gets: the encoded message, under its receive limit.
      const bytes = WorkerMessage.encode({ kind: { $case: 'healthReport', healthReport } }).finish();
      largest = Math.max(largest, bytes.length);
      expect(bytes.length).toBeLessThan(MAX_MESSAGE_BYTES);
      fleet.receive(worker, WorkerMessage.decode(bytes));
    }
    expect(parts.length).toBeGreaterThan(4);
    expect(largest).toBeGreaterThan(MAX_MESSAGE_BYTES / 5);
    const cut = /^invalid label set: \{label_0="value 0".*…\(\d+ bytes truncated\)$/;
    const wrong: string[] = [];
    let down = 0;
    for (const status of fleet.targets()) {
      const health = status.health;
      if (health?.health !== 'down' || Buffer.byteLength(health.lastError) > MAX_ERROR_BYTES || !cut.test(health.lastError)) wrong.push(status.id);
      else down++;
    }
    expect(wrong).toEqual([]);
    expect(down).toBe(5_000);
  });

  it('cuts an error a worker sent uncut before it keeps it', async () => {
    const fleet = newFleet();
    fleet.start();
    const target = makeTarget(node, 1);
    fleet.updateJobs([new JobFeed(node).update([target])]);
    const worker = new FakeSession('a:1');
    fleet.accept(worker, hello('a'));
    await until(() => fleet.ready(), 'the fleet to settle');
    const entry = { targetId: targetIdToBytes(target.id), lastScrapeUnixMs: 1, lastScrapeDurationSeconds: 0, samplesScraped: 0, samplesPostMetricRelabeling: 0, up: false, lastError: 'é'.repeat(100_000) };
    fleet.receive(worker, { kind: { $case: 'healthReport', healthReport: { generation: 1, targets: [entry], continued: false } } });
    const kept = fleet.target(target.id)?.health?.lastError ?? '';
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(MAX_ERROR_BYTES);
    expect(kept).toMatch(/^é+…\(\d+ bytes truncated\)$/);
  });

  it('leaves out a job too large for any message, and its targets, telling the observer; the rest is assigned', async () => {
    const rejected: Parameters<NonNullable<FleetObserver['settingRejected']>>[] = [];
    const tooLarge = ScrapeJob.fromPartial({
      ...scrapeJobToProto(huge),
      metricRelabelConfigs: Array.from({ length: 60_000 }, (_, r) => ({ sourceLabels: ['__name__'], separator: ';', regex: `metric_${r}_.*`, replacement: '$1', action: RelabelAction.DROP })),
    });
    const fleet = newFleet({ jobs: [scrapeJobToProto(node), tooLarge], observer: { settingRejected: (...args) => rejected.push(args) } });
    expect(rejected).toEqual([['job', 'huge', { bytes: ScrapeJob.encode(tooLarge).finish().length, limitBytes: MAX_SETTING_BYTES }]]);
    fleet.start();
    fleet.updateJobs([new JobFeed(node).update([makeTarget(node, 1)]), new JobFeed(huge).update([makeTarget(huge, 2)])]);
    const worker = new FakeSession('a:1');
    fleet.accept(worker, hello('a'));
    await until(() => fleet.ready(), 'the fleet to settle');
    const snapshots = worker.messages.flatMap((m) => (m.kind?.$case === 'assignmentSnapshot' ? [m.kind.assignmentSnapshot] : []));
    expect(snapshots.flatMap((s) => s.jobs.map((j) => j.name))).toEqual(['node']);
    expect(snapshots.flatMap((s) => s.targets.map((t) => t.job))).toEqual(['node']);
    expect([...fleet.jobCounts().keys()]).toEqual(['node']);
  });

  it('assigns every current target of a left-out job again once a reload makes it small enough, though discovery reports no change of them', async () => {
    const tooLarge = ScrapeJob.fromPartial({
      ...scrapeJobToProto(huge),
      metricRelabelConfigs: Array.from({ length: 60_000 }, (_, r) => ({ sourceLabels: ['__name__'], separator: ';', regex: `metric_${r}_.*`, replacement: '$1', action: RelabelAction.DROP })),
    });
    const fleet = newFleet({ jobs: [scrapeJobToProto(node), scrapeJobToProto(huge)] });
    fleet.start();
    const feed = new JobFeed(huge);
    fleet.updateJobs([new JobFeed(node).update([makeTarget(node, 1)]), feed.update([makeTarget(huge, 2), makeTarget(huge, 3)])]);
    fleet.accept(new FakeSession('a:1'), hello('a'));
    await until(() => fleet.ready(), 'the fleet to settle');
    expect(fleet.jobCounts().get('huge')?.targets).toBe(2);

    // A reload makes the job too large: its targets leave; discovery relabels it and reports what changed: nothing.
    fleet.configure({ jobs: [scrapeJobToProto(node), tooLarge], remoteWrite: [] });
    fleet.updateJobs([feed.update([makeTarget(huge, 2), makeTarget(huge, 3)])]);
    expect(fleet.jobCounts().get('huge')?.targets ?? 0).toBe(0);

    // The next reload shrinks it back; discovery again reports no change, and a later one a change of one target.
    fleet.configure({ jobs: [scrapeJobToProto(node), scrapeJobToProto(huge)], remoteWrite: [] });
    fleet.updateJobs([feed.update([makeTarget(huge, 2), makeTarget(huge, 3)])]);
    expect(fleet.jobCounts().get('huge')?.targets).toBe(2);
    fleet.updateJobs([feed.update([makeTarget(huge, 3), makeTarget(huge, 4)])]);
    expect(fleet.jobCounts().get('huge')?.targets).toBe(2);
    expect([...fleet.targets('huge')].map((t) => t.labels.get('instance')).sort()).toEqual(['10.0.0.3:9100', '10.0.0.4:9100']);
  });

  it('tells the observer once a worker is welcomed that its previous stream ended with RESOURCE_EXHAUSTED', () => {
    const reports: [string, string][] = [];
    const fleet = newFleet({ observer: { resourceExhausted: (worker, details) => reports.push([worker, details]) } });
    const details = 'Received message larger than max (5000000 vs. 4194304)';
    fleet.accept(new FakeSession('a:1'), hello('a', { previousStreamResourceExhausted: details }));
    // A refused stream is not counted: the worker says it again on the stream that is welcomed.
    fleet.accept(new FakeSession('a:2'), hello('a', { previousStreamResourceExhausted: details }));
    fleet.accept(new FakeSession('b:1'), hello('b'));
    expect(reports).toEqual([['a', details]]);
  });
});

