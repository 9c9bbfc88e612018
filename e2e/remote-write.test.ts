/**
 * Issue #12 on real processes: remote write that loses nothing. Three fleets write to one real Prometheus, R1, behind
 * a {@link ReceiverGate}; R1 is stopped for 3 minutes and started again on the same data and port, while:
 *
 * - fleet A (2 workers) also writes to R2, a second Prometheus that stays up: R1 gets every sample of the outage
 *   from the workers' disk queues, none twice, and R2 every sample throughout (a dead endpoint never holds back a
 *   healthy one);
 * - fleet B (2 workers, one shard each) has a disk queue far smaller than the outage: exactly the samples counted
 *   `queue_full` are missing at R1, and they are the oldest of the outage;
 * - fleet D (1 worker) has its worker killed with SIGKILL in the middle of the outage and started again on the same
 *   queue: the samples it had queued on disk arrive.
 *
 * Every scrape slot is judged from the targets' own request logs (scraping never stops for a dead receiver) and every
 * series' samples through PromQL on the receivers. Duplicates are judged from R1's own count of appended samples
 * (`prometheus_tsdb_head_samples_appended_total`, read before it stops and after it is back, as the counter starts
 * again at 0) against what the workers counted as accepted (`promfleet_remote_write_samples_total`): a sample sent
 * twice is counted twice by a worker and appended once; R1 answers a resent older sample with 400, which the gate
 * counts. The fleets run concurrently around the one outage, about 4.5 minutes. Figures go to
 * `PROMFLEET_FAULT_REPORT` as recordRemoteWrite writes them. Needs `pnpm build` first.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { httpGet } from '../packages/cli/src/demo-processes.js';
import { startTargetFarm, type TargetFarm } from '../packages/testkit/src/index.js';
import {
  FaultHarness,
  ReceiverGate,
  judgeLogs,
  judgeSeries,
  judged,
  metricSum,
  recordRemoteWrite,
  sleep,
  slotWindow,
  staticConfig,
  waitAllUp,
  type JudgedTarget,
  type LogVerdict,
  type MasterProcess,
  type PrometheusProcess,
  type RemoteWriteEntry,
  type SeriesVerdict,
  type WorkerProcess,
} from './faults/harness.js';

const intervalMs = 2_000;
const outageMs = 180_000;
const targets = 10;
/** The `up` and `scrape_*` series the worker adds to each target's own. */
const reportSeries = 5;
/** Fleet B's disk queue: far below what 3 minutes of its samples take on disk (its measured figure is recorded). */
const fleetBQueueMaxSize = '256KB';
/** Small memory parts, so that the outage is held on disk within seconds. */
const queueA = { batch_send_deadline: '1s', capacity: 500, max_samples_per_send: 500 };
const queueB = { batch_send_deadline: '1s', capacity: 100, max_samples_per_send: 100, max_shards: 1 };
const queueD = { batch_send_deadline: '1s', capacity: 100, max_samples_per_send: 100 };

/** One fleet: its farm, master and workers, writing `job`. */
interface Fleet {
  readonly job: string;
  readonly farm: TargetFarm;
  readonly master: MasterProcess;
  readonly workers: Map<string, WorkerProcess>;
  readonly seriesPerTarget: number;
}

/** What the outage left, judged; the tests below assert on it. */
interface OutageResult {
  readonly r1Url: string;
  readonly outageStartMs: number;
  readonly outageEndMs: number;
  readonly drainMs: number;
  /** The length of the window A and B are judged over, the outage inside it. */
  readonly windowMs: number;
  readonly a: { readonly logs: LogVerdict; readonly r1: SeriesVerdict; readonly r1Outage: SeriesVerdict; readonly r2: SeriesVerdict; readonly diskBytesPerSample: number; readonly peakDiskSamples: number; readonly peakDiskBytes: number };
  readonly b: { readonly logs: LogVerdict; readonly r1: SeriesVerdict; readonly dropped: Readonly<Record<string, number>>; readonly peakDiskBytes: number; readonly diskMaxBytes: number };
  readonly d: {
    readonly logsBeforeKill: LogVerdict;
    readonly beforeKill: SeriesVerdict;
    readonly afterRestart: SeriesVerdict;
    readonly killAtMs: number;
    readonly diskSamplesAtKill: number;
    /** Samples the restarted worker found on disk (`queue_samples{where="disk"}` before R1 came back). */
    readonly diskSamplesAtRestart: number;
    readonly replayed: number;
    /** At most what the memory part and the request in flight held at the kill (shards × (capacity + max_samples_per_send)). */
    readonly memoryBound: number;
  };
  readonly duplicates: { readonly sent: number; readonly appended: number; readonly rejectedWrites: number };
}

let harness: FaultHarness | undefined;
let outage: Promise<OutageResult>;

beforeAll(() => {
  outage = runOutage();
  // Each test awaits it and fails with its error; this keeps an early failure from being unhandled meanwhile.
  outage.catch(() => undefined);
});

afterAll(async () => {
  await outage.catch(() => undefined);
  await harness?.stop();
}, 120_000);

/** The `/metrics` text of a worker. */
async function metricsOf(w: WorkerProcess): Promise<string> {
  return (await httpGet(`${w.url}/metrics`)).body;
}

/** The sum over `workers` of a metric of the endpoint `url`. */
async function sumOver(workers: Iterable<WorkerProcess>, name: string, labels: Readonly<Record<string, string>>): Promise<number> {
  let sum = 0;
  for (const w of workers) sum += metricSum(await metricsOf(w), name, labels);
  return sum;
}

async function startFleet(h: FaultHarness, input: { job: string; series: number; remoteWrite: readonly RemoteWriteEntry[]; workers: readonly string[]; workerFlags?: readonly string[] }): Promise<Fleet> {
  const farm = await startTargetFarm({ targets, series: input.series });
  h.onStop(() => farm.stop());
  const configFile = await h.file(`${input.job}.yml`, staticConfig({ job: input.job, addresses: farm.targets.map((t) => t.address), intervalMs, remoteWrite: input.remoteWrite }));
  const master = await h.master({ id: `master-${input.job}`, configFile });
  const workers = new Map<string, WorkerProcess>();
  await Promise.all(input.workers.map(async (id) => workers.set(id, await h.worker({ id, master: master.grpcAddress, flags: input.workerFlags ?? [] }))));
  await h.wait(
    `${master.id} to be ready with ${input.workers.join(', ')}, each acknowledged`,
    async () => {
      const ws = await master.workers();
      const settled = (await master.ready()) && ws.length === input.workers.length && ws.every((w) => w.state === 'connected' && w.targets > 0 && w.generation === w.ackedGeneration);
      return settled ? true : undefined;
    },
    { timeoutMs: 60_000 },
  );
  return { job: input.job, farm, master, workers, seriesPerTarget: input.series + reportSeries };
}

async function judgedOf(f: Fleet): Promise<JudgedTarget[]> {
  return judged(f.farm.targets, await f.master.targets(), intervalMs);
}

async function runOutage(): Promise<OutageResult> {
  const h = await FaultHarness.create('remote-write');
  harness = h;
  const [r1, r2] = await Promise.all([h.prometheus({ name: 'r1' }), h.prometheus({ name: 'r2' })]);
  const gate = await ReceiverGate.start(r1.url);
  h.onStop(() => gate.stop());
  const r1Url = `${gate.url}/api/v1/write`;
  const r1Endpoint = { url: r1Url };

  const [a, b, d] = await Promise.all([
    startFleet(h, {
      job: 'fleet-a',
      series: 20,
      remoteWrite: [
        { name: 'r1', url: r1Url, queue_config: queueA },
        { name: 'r2', url: `${r2.url}/api/v1/write`, queue_config: queueA },
      ],
      workers: ['worker-a1', 'worker-a2'],
    }),
    startFleet(h, { job: 'fleet-b', series: 60, remoteWrite: [{ name: 'r1', url: r1Url, queue_config: queueB }], workers: ['worker-b1', 'worker-b2'], workerFlags: [`--remote-write.queue-max-size=${fleetBQueueMaxSize}`] }),
    startFleet(h, { job: 'fleet-d', series: 20, remoteWrite: [{ name: 'r1', url: r1Url, queue_config: queueD }], workers: ['worker-d1'] }),
  ]);
  for (const f of [a, b, d]) await waitAllUp(h, { receiverUrl: r1.url, job: f.job, addresses: f.farm.targets.map((t) => t.address), intervalMs });
  await waitAllUp(h, { receiverUrl: r2.url, job: a.job, addresses: a.farm.targets.map((t) => t.address), intervalMs });
  const fromMs = Date.now();
  await sleep(5 * intervalMs);

  // The outage: nothing reaches R1 from here on, then R1 stops having answered everything it took.
  await gate.close();
  const outageStartMs = Date.now();
  const appendedBefore = metricSum((await httpGet(`${r1.url}/metrics`)).body, 'prometheus_tsdb_head_samples_appended_total');
  const r1Exit = await r1.process.stop();
  if (r1Exit.code !== 0) throw new Error(`R1 did not stop cleanly: ${JSON.stringify(r1Exit)}`);

  // Fleet D: its worker killed a minute in, with samples on disk, and started again on the same queue.
  await sleep(60_000);
  const dWorker = d.workers.get('worker-d1');
  if (dWorker === undefined) throw new Error('no worker-d1');
  const dMetrics = await metricsOf(dWorker);
  const dSentBeforeKill = metricSum(dMetrics, 'promfleet_remote_write_samples_total', r1Endpoint);
  const diskSamplesAtKill = metricSum(dMetrics, 'promfleet_remote_write_queue_samples', { ...r1Endpoint, where: 'disk' });
  const dShards = metricSum(dMetrics, 'promfleet_remote_write_shards', r1Endpoint);
  const killAtMs = Date.now();
  const dExit = await dWorker.process.stop({ signal: 'SIGKILL' });
  if (dExit.signal !== 'SIGKILL') throw new Error(`worker-d1 did not die of SIGKILL: ${JSON.stringify(dExit)}`);
  await sleep(5_000);
  const dRestarted = await h.worker({ id: 'worker-d1', master: d.master.grpcAddress });
  d.workers.set('worker-d1', dRestarted);
  const restartedAtMs = Date.now();
  const diskSamplesAtRestart = await h.wait('the restarted worker-d1 to report its disk queue', async () => {
    const text = await metricsOf(dRestarted);
    return text.includes('promfleet_remote_write_queue_samples{') ? metricSum(text, 'promfleet_remote_write_queue_samples', { ...r1Endpoint, where: 'disk' }) : undefined;
  });

  // The outage's peak: what the disk queues hold just before R1 returns.
  await sleep(outageStartMs + outageMs - 10_000 - Date.now());
  const peakDiskBytes = await sumOver(a.workers.values(), 'promfleet_remote_write_queue_disk_bytes', r1Endpoint);
  const peakDiskSamples = await sumOver(a.workers.values(), 'promfleet_remote_write_queue_samples', { ...r1Endpoint, where: 'disk' });
  const bPeakDiskBytes = await sumOver(b.workers.values(), 'promfleet_remote_write_queue_disk_bytes', r1Endpoint);
  const bDiskMaxBytes = await sumOver(b.workers.values(), 'promfleet_remote_write_queue_disk_max_bytes', r1Endpoint);
  await sleep(outageStartMs + outageMs - Date.now());

  const r1Back: PrometheusProcess = await h.prometheus({ name: 'r1', port: r1.port });
  gate.open();
  const outageEndMs = Date.now();
  const everyWorker = () => [...a.workers.values(), ...b.workers.values(), ...d.workers.values()];
  await h.wait(
    'every disk queue for R1 to be empty',
    async () => ((await sumOver(everyWorker(), 'promfleet_remote_write_queue_samples', { ...r1Endpoint, where: 'disk' })) === 0 ? true : undefined),
    { timeoutMs: 120_000, everyMs: 500 },
  );
  const drainMs = Date.now() - outageEndMs;
  await sleep(3 * intervalMs);

  // Judge [fromMs, now - 1 interval] for A and B, and D around its kill.
  const [allA, allB, allD] = await Promise.all([judgedOf(a), judgedOf(b), judgedOf(d)]);
  const toMs = Date.now() - intervalMs;
  const windowOf = (all: readonly JudgedTarget[], from: number, to: number) => slotWindow({ fromMs: from, toMs: to, offsets: all.map((t) => t.offsetMs), intervalMs });
  const wA = windowOf(allA, fromMs, toMs);
  const wB = windowOf(allB, fromMs, toMs);
  const series = (receiverUrl: string, f: Fleet, all: readonly JudgedTarget[], window: ReturnType<typeof windowOf>, settleMs?: number) =>
    judgeSeries({ receiverUrl, selector: `{job="${f.job}"}`, targets: all, seriesPerTarget: f.seriesPerTarget, window, intervalMs, ...(settleMs === undefined ? {} : { settleMs }) });
  const aR1 = await series(r1Back.url, a, allA, wA, 30_000);
  const aR1Outage = await series(r1Back.url, a, allA, windowOf(allA, outageStartMs, outageEndMs), 0);
  const aR2 = await series(r2.url, a, allA, wA);
  const bR1 = await series(r1Back.url, b, allB, wB, 5_000);
  const dropped: Record<string, number> = {};
  for (const reason of ['queue_full', 'disk_full', 'non_retryable', 'shutdown', 'too_old']) {
    dropped[reason] = await sumOver(b.workers.values(), 'promfleet_remote_write_samples_dropped_total', { ...r1Endpoint, reason });
  }
  // D: before the kill (sent live, then queued on disk), and after its restart once the master gave it its targets
  // back (its scrapes resume at the first slot after that).
  const dBefore = windowOf(allD, fromMs, killAtMs - 5_000);
  const dAfter = windowOf(allD, restartedAtMs + 15_000, toMs);
  const dBeforeKill = await series(r1Back.url, d, allD, dBefore, 15_000);
  const dAfterRestart = await series(r1Back.url, d, allD, dAfter, 15_000);
  const replayed = metricSum(await metricsOf(dRestarted), 'promfleet_remote_write_replayed_samples_total', r1Endpoint);

  const appendedAfter = metricSum((await httpGet(`${r1Back.url}/metrics`)).body, 'prometheus_tsdb_head_samples_appended_total');
  const sent = dSentBeforeKill + (await sumOver(everyWorker(), 'promfleet_remote_write_samples_total', r1Endpoint));
  return {
    r1Url,
    outageStartMs,
    outageEndMs,
    drainMs,
    windowMs: wA.to - wA.from,
    a: { logs: judgeLogs(allA, wA, intervalMs), r1: aR1, r1Outage: aR1Outage, r2: aR2, diskBytesPerSample: peakDiskSamples > 0 ? peakDiskBytes / peakDiskSamples : 0, peakDiskSamples, peakDiskBytes },
    b: { logs: judgeLogs(allB, wB, intervalMs), r1: bR1, dropped, peakDiskBytes: bPeakDiskBytes, diskMaxBytes: bDiskMaxBytes },
    d: {
      logsBeforeKill: judgeLogs(allD, dBefore, intervalMs),
      beforeKill: dBeforeKill,
      afterRestart: dAfterRestart,
      killAtMs,
      diskSamplesAtKill,
      diskSamplesAtRestart,
      replayed,
      memoryBound: Math.max(1, dShards) * (queueD.capacity + queueD.max_samples_per_send),
    },
    duplicates: { sent, appended: appendedBefore + appendedAfter, rejectedWrites: gate.rejected },
  };
}

/** The missing samples of a verdict. */
const missingOf = (v: SeriesVerdict): number => v.expected - v.received;

describe('remote write across a 3-minute receiver outage (issue #12)', () => {
  it('A: every sample of the outage reaches R1 from the disk queues, none twice, and the scrapes never stop', async () => {
    const r = await outage;
    await recordRemoteWrite({
      scenario: 'A-outage-r1',
      targets,
      seriesPerTarget: r.a.r1.expected > 0 ? r.a.r1.series / targets : 0,
      intervalMs,
      windowMs: r.outageEndMs - r.outageStartMs,
      expected: r.a.r1Outage.expected,
      received: r.a.r1Outage.received,
      dropped: 0,
      duplicates: r.duplicates.sent - r.duplicates.appended,
      diskBytesPerSample: r.a.diskBytesPerSample,
      drainMs: r.drainMs,
      notes: `outage window only (whole run: ${r.a.r1.received}/${r.a.r1.expected}); peak disk queue of 2 workers ${r.a.peakDiskBytes} bytes for ${r.a.peakDiskSamples} samples; R1 appended ${r.duplicates.appended} samples, the workers of A, B and D counted ${r.duplicates.sent} accepted, R1 rejected ${r.duplicates.rejectedWrites} writes; drain: R1 back to every disk queue empty`,
    });
    expect(r.a.logs.problems).toEqual([]);
    expect(r.a.r1.missing).toEqual([]);
    expect(r.a.r1.offSlot).toBe(0);
    expect(r.a.r1.received).toBe(r.a.r1.expected);
    expect(r.a.r1Outage.expected).toBeGreaterThan(targets * 20 * (outageMs / intervalMs - 2));
    expect(r.a.r1Outage.received).toBe(r.a.r1Outage.expected);
    expect(r.a.peakDiskSamples).toBeGreaterThan(0);
    expect(r.duplicates.rejectedWrites).toBe(0);
    expect(r.duplicates.appended).toBe(r.duplicates.sent);
  }, 400_000);

  it('A: R2, healthy throughout, gets every sample while R1 is down', async () => {
    const r = await outage;
    await recordRemoteWrite({
      scenario: 'A-healthy-r2',
      targets,
      seriesPerTarget: r.a.r2.series / targets,
      intervalMs,
      windowMs: r.windowMs,
      expected: r.a.r2.expected,
      received: r.a.r2.received,
      dropped: 0,
      duplicates: 0,
      notes: 'the whole judged window, the outage of R1 inside it',
    });
    expect(r.a.r2.missing).toEqual([]);
    expect(r.a.r2.received).toBe(r.a.r2.expected);
  }, 400_000);

  it('B: with a disk queue below the outage, exactly the samples counted queue_full are missing, the oldest of the outage', async () => {
    const r = await outage;
    const missing = missingOf(r.b.r1);
    // Per series, the missing slots are one run inside the outage, with every later slot received: the oldest
    // records were dropped. The first records of the outage may survive in the memory part (queue_config.capacity).
    const runs = r.b.r1.missing.map((m) => {
      const contiguous = m.slots.every((at, i) => i === 0 || at - (m.slots[i - 1] ?? 0) === intervalMs);
      const last = m.slots[m.slots.length - 1] ?? 0;
      const laterReceived = (r.b.r1.receivedSlots.get(m.series) ?? []).filter((at) => at > last).length;
      return { series: m.series, contiguous, first: m.slots[0] ?? 0, last, laterReceived };
    });
    const firstLeadMs = Math.max(0, ...runs.map((run) => run.first - r.outageStartMs));
    await recordRemoteWrite({
      scenario: 'B-queue-full',
      targets,
      seriesPerTarget: r.b.r1.series / targets,
      intervalMs,
      windowMs: r.windowMs,
      expected: r.b.r1.expected,
      received: r.b.r1.received,
      dropped: r.b.dropped['queue_full'] ?? 0,
      duplicates: 0,
      notes: `--remote-write.queue-max-size=${fleetBQueueMaxSize} per worker (disk max ${r.b.diskMaxBytes} bytes over 2 workers, peak ${r.b.peakDiskBytes}); drops by reason ${JSON.stringify(r.b.dropped)}; ${runs.length} series lost one run each, starting at most ${firstLeadMs} ms into the outage`,
    });
    expect(r.b.logs.problems).toEqual([]);
    expect(missing).toBeGreaterThan(0);
    expect(r.b.dropped).toEqual({ queue_full: missing, disk_full: 0, non_retryable: 0, shutdown: 0, too_old: 0 });
    expect(r.b.peakDiskBytes).toBeLessThanOrEqual(r.b.diskMaxBytes);
    for (const run of runs) {
      expect([run.series, run.contiguous]).toEqual([run.series, true]);
      // Samples scraped up to a batch before the gate closed were queued, not sent: the outage's oldest.
      expect(run.first).toBeGreaterThanOrEqual(r.outageStartMs - 2 * intervalMs);
      expect(run.last).toBeLessThan(r.outageEndMs);
      expect(run.laterReceived).toBeGreaterThan(0);
    }
    expect(firstLeadMs).toBeLessThanOrEqual(5 * intervalMs);
  }, 400_000);

  it('D: a worker killed with SIGKILL during the outage and started again on its queue sends what it had on disk', async () => {
    const r = await outage;
    const lost = r.d.beforeKill.missing.flatMap((m) => m.slots);
    await recordRemoteWrite({
      scenario: 'D-sigkill',
      targets,
      seriesPerTarget: r.d.beforeKill.series / targets,
      intervalMs,
      windowMs: r.d.killAtMs - 5_000 - r.outageStartMs,
      expected: r.d.beforeKill.expected,
      received: r.d.beforeKill.received,
      dropped: missingOf(r.d.beforeKill),
      duplicates: 0,
      notes: `window from before the outage to 5 s before the kill; on disk at the kill ${r.d.diskSamplesAtKill} samples, found on restart ${r.d.diskSamplesAtRestart}, replayed ${r.d.replayed}; lost (the memory part and the request in flight at the kill, bound ${r.d.memoryBound}): ${missingOf(r.d.beforeKill)}; after the restart ${r.d.afterRestart.received}/${r.d.afterRestart.expected}`,
    });
    expect(r.d.logsBeforeKill.problems).toEqual([]);
    expect(r.d.diskSamplesAtKill).toBeGreaterThan(0);
    expect(r.d.diskSamplesAtRestart).toBeGreaterThan(0);
    expect(r.d.diskSamplesAtRestart).toBeLessThanOrEqual(r.d.diskSamplesAtKill + r.d.memoryBound);
    expect(r.d.replayed).toBeGreaterThanOrEqual(r.d.diskSamplesAtRestart);
    // What is lost is what was not on disk: at most the memory part, and all of it from the start of the outage.
    expect(missingOf(r.d.beforeKill)).toBeLessThanOrEqual(r.d.memoryBound);
    for (const at of lost) expect(at).toBeGreaterThanOrEqual(r.outageStartMs - 2 * intervalMs);
    expect(r.d.afterRestart.missing).toEqual([]);
    expect(r.d.afterRestart.received).toBe(r.d.afterRestart.expected);
  }, 400_000);
});
