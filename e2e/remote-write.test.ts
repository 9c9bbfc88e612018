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
 * counts. (The gate forwards only: a copy to a recording receiver decoded in this process slowed every answer enough
 * that one-shard queues could not catch up after the outage.) The fleets run concurrently around the one outage,
 * about 4.5 minutes.
 *
 * Meanwhile, a fourth fleet scrapes OpenMetrics targets (UNIT lines, exemplars, `_created`) and writes Remote-Write
 * 2.0 to the testkit's recording receiver (Debian's Prometheus 2.42 cannot receive 2.0), and 1.0 with exemplars and
 * metadata to a real Prometheus with exemplar storage and to a second recording receiver: Prometheus 2.42 stores
 * remote-written exemplars but not metadata (its `/api/v1/metadata` lists only what it scrapes itself), so 1.0
 * metadata is judged at the recording receiver.
 *
 * Figures go to `PROMFLEET_FAULT_REPORT` as recordRemoteWrite writes them. Needs `pnpm build` first.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { httpGet } from '../packages/cli/src/demo-processes.js';
import { startRemoteWriteReceiver, startTargetFarm, type FarmExemplar, type ReceivedSample, type TargetFarm } from '../packages/testkit/src/index.js';
import { scrapeSlots } from './slots.js';
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
    /** What may have reached the disk between reading the metrics and the kill: shards × (capacity + max_samples_per_send). */
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

/** The sum over `workers` of the samples of `name` whose labels include `labels`. */
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

  // Closed, the gate lets nothing more be accepted: R1's count and the workers' are read at the same point.
  await gate.close();
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

/** The slots of a target with `offsetMs` in `window`. */
const scrapeSlotsBetween = (offsetMs: number, window: { from: number; to: number }): number[] => scrapeSlots(intervalMs).between(offsetMs, window);

/** A recorded sample's labels (`name=value` pairs joined by commas) as a map. */
function labelMap(labels: string): Map<string, string> {
  return new Map(
    labels.split(',').map((pair) => {
      const eq = pair.indexOf('=');
      return [pair.slice(0, eq), pair.slice(eq + 1)] as const;
    }),
  );
}

/** The family (OpenMetrics name) a farm series belongs to, by Prometheus' suffix rule. */
function familyOf(name: string, families: readonly string[]): string | undefined {
  if (families.includes(name)) return name;
  const stripped = name.replace(/_(total|bucket|count|sum|created)$/, '');
  return families.includes(stripped) ? stripped : undefined;
}

describe('Remote-Write 2.0, metadata and exemplars from OpenMetrics targets (issue #12)', () => {
  it('2.0 to a recording receiver carries every sample, each series\' metadata, the exemplars and created timestamps; 1.0 carries exemplars to Prometheus and metadata', async () => {
    const h = await FaultHarness.create('remote-write-v2');
    try {
      const farm = await startTargetFarm({ targets: 3, series: 20, format: 'openmetrics' });
      h.onStop(() => farm.stop());
      const v2 = await startRemoteWriteReceiver({ protocols: ['io.prometheus.write.v2.Request'] });
      h.onStop(() => v2.close());
      const v1 = await startRemoteWriteReceiver({ protocols: ['prometheus.WriteRequest'] });
      h.onStop(() => v1.close());
      const exemplarStore = await h.prometheus({ name: 'exemplars', flags: ['--enable-feature=exemplar-storage'] });
      const queue_config = { batch_send_deadline: '1s' };
      const metadata_config = { send: true, send_interval: '4s' };
      const job = 'fleet-e';
      const configFile = await h.file(
        'promfleet.yml',
        staticConfig({
          job,
          addresses: farm.targets.map((t) => t.address),
          intervalMs,
          remoteWrite: [
            { name: 'v2', url: v2.url, protobuf_message: 'io.prometheus.write.v2.Request', send_exemplars: true, queue_config },
            { name: 'v1-prometheus', url: `${exemplarStore.url}/api/v1/write`, send_exemplars: true, metadata_config, queue_config },
            { name: 'v1-recording', url: v1.url, metadata_config, queue_config },
          ],
        }),
      );
      const master = await h.master({ id: 'master', configFile });
      const worker = await h.worker({ id: 'worker-1', master: master.grpcAddress });
      await waitAllUp(h, { receiverUrl: exemplarStore.url, job, addresses: farm.targets.map((t) => t.address), intervalMs });
      const fromMs = Date.now();
      await sleep(7 * intervalMs);
      const all = judged(farm.targets, await master.targets(), intervalMs);
      const window = slotWindow({ fromMs, toMs: Date.now() - 2 * intervalMs, offsets: all.map((t) => t.offsetMs), intervalMs });
      await sleep(2 * intervalMs);
      const inWindow = (at: number) => at >= window.from && at <= window.to;
      const familyNames = farm.families.map((f) => f.family);

      // Every sample of every series (the exposition's and the five of the scrape), each once, at v2.
      const byTarget = new Map(all.map((t) => [t.address, t]));
      const series = new Map<string, ReceivedSample[]>();
      for (const sample of v2.accepted()) {
        const labels = labelMap(sample.labels);
        if (labels.get('job') !== job || !byTarget.has(labels.get('instance') ?? '') || /_created$/.test(labels.get('__name__') ?? '')) continue;
        series.set(sample.labels, [...(series.get(sample.labels) ?? []), sample]);
      }
      let expected = 0;
      let received = 0;
      let twice = 0;
      const missing: string[] = [];
      for (const t of all) {
        const slots = scrapeSlotsBetween(t.offsetMs, window);
        const own = [...series].filter(([labels]) => labelMap(labels).get('instance') === t.address);
        expect([t.address, own.length]).toEqual([t.address, farm.series + reportSeries]);
        for (const [labels, samples] of own) {
          const times = samples.map((s) => s.timestampMs).filter(inWindow);
          expected += slots.length;
          received += new Set(times).size;
          twice += times.length - new Set(times).size;
          for (const at of slots) if (!times.includes(at)) missing.push(`${labels} @ ${new Date(at).toISOString()}`);
        }
      }

      // Each exposition series' metadata, as the target gave it.
      const metadataProblems: string[] = [];
      const metadataBySeries = new Map(v2.acceptedMetadata().flatMap((m) => (m.series === undefined ? [] : [[m.series, m] as const])));
      for (const labels of series.keys()) {
        const family = farm.families.find((f) => f.family === familyOf(labelMap(labels).get('__name__') ?? '', familyNames));
        if (family === undefined) continue;
        const got = metadataBySeries.get(labels);
        const want = { type: family.type, help: family.help, unit: family.unit };
        if (got === undefined || got.type !== want.type || got.help !== want.help || got.unit !== want.unit) metadataProblems.push(`${labels}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
      }

      // Created timestamps: the counter's and the histogram's series carry the targets' _created, and nothing else does.
      const createdProblems: string[] = [];
      for (const [labels, samples] of series) {
        const name = labelMap(labels).get('__name__') ?? '';
        const hasCreated = name === 'http_requests_total' || name.startsWith('http_request_duration_seconds_');
        const starts = new Set(samples.flatMap((s) => (s.startTimestampMs === undefined ? [] : [s.startTimestampMs])));
        const want = hasCreated ? [farm.createdMs] : [];
        if (JSON.stringify([...starts]) !== JSON.stringify(want)) createdProblems.push(`${labels}: start timestamps ${JSON.stringify([...starts])}, want ${JSON.stringify(want)}`);
      }

      // Every exemplar the targets exposed in the window: at v2, and at the real Prometheus (1.0).
      const wantExemplars = farm.targets.flatMap((t) => t.exemplars.filter((e) => inWindow(e.timestampMs)).map((e) => ({ ...e, instance: t.address })));
      // A request's two exemplars (the counter's and a bucket's) share a trace id and a time: the key names the series.
      const exemplarKey = (instance: string, e: Pick<FarmExemplar, 'series' | 'traceId' | 'timestampMs'>) => `${instance} ${e.series.replace(/\{.*$/, '')} ${e.traceId} ${e.timestampMs}`;
      const v2Exemplars = new Set(
        v2.acceptedExemplars().map((e) => {
          const labels = labelMap(e.series);
          return exemplarKey(labels.get('instance') ?? '', { series: labels.get('__name__') ?? '', traceId: labelMap(e.labels).get('trace_id') ?? '', timestampMs: e.timestampMs });
        }),
      );
      const stored = new Set<string>();
      for (const name of ['http_requests_total', 'http_request_duration_seconds_bucket']) {
        const query = `${exemplarStore.url}/api/v1/query_exemplars?query=${encodeURIComponent(`${name}{job="${job}"}`)}&start=${window.from / 1000}&end=${window.to / 1000}`;
        const answer = JSON.parse((await httpGet(query)).body) as { data: { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; timestamp: number }[] }[] };
        for (const s of answer.data) {
          for (const e of s.exemplars) stored.add(exemplarKey(s.seriesLabels['instance'] ?? '', { series: s.seriesLabels['__name__'] ?? '', traceId: e.labels['trace_id'] ?? '', timestampMs: Math.round(e.timestamp * 1000) }));
        }
      }
      const exemplarsMissingV2 = wantExemplars.filter((e) => !v2Exemplars.has(exemplarKey(e.instance, e)));
      const exemplarsMissingV1 = wantExemplars.filter((e) => !stored.has(exemplarKey(e.instance, e)));

      // 1.0 metadata: every family, as the targets expose it, at the recording receiver.
      const v1Metadata = new Map(v1.acceptedMetadata().flatMap((m) => (m.family === undefined ? [] : [[m.family, { family: m.family, type: m.type, help: m.help, unit: m.unit }] as const])));
      const workerMetrics = (await httpGet(`${worker.url}/metrics`)).body;
      const exemplarsSent = metricSum(workerMetrics, 'promfleet_remote_write_exemplars_sent_total', { remote_name: 'v2' });
      const metadataSent = metricSum(workerMetrics, 'promfleet_remote_write_metadata_sent_total', { remote_name: 'v1-recording' });
      const v1Samples = await judgeSeries({ receiverUrl: exemplarStore.url, selector: `{job="${job}",__name__!~".*_created"}`, targets: all, seriesPerTarget: farm.series + reportSeries, window, intervalMs });
      await recordRemoteWrite({
        scenario: 'E-remote-write-2.0',
        targets: farm.targets.length,
        seriesPerTarget: farm.series + reportSeries,
        intervalMs,
        windowMs: window.to - window.from,
        expected,
        received,
        dropped: 0,
        duplicates: twice,
        notes: `2.0: ${metadataBySeries.size} series with metadata, ${v2Exemplars.size} exemplars (${wantExemplars.length} exposed in the window), ${metadataProblems.length} metadata and ${createdProblems.length} created-timestamp problems; 1.0 to Prometheus: samples ${v1Samples.received}/${v1Samples.expected}, exemplars stored ${wantExemplars.length - exemplarsMissingV1.length}/${wantExemplars.length}; 1.0 metadata: ${v1Metadata.size} families (${metadataSent} entries sent); worker exemplars sent to v2: ${exemplarsSent}`,
      });
      expect(missing).toEqual([]);
      expect(twice).toBe(0);
      expect(received).toBe(expected);
      expect(metadataProblems).toEqual([]);
      expect(createdProblems).toEqual([]);
      expect(wantExemplars.length).toBeGreaterThan(0);
      expect(exemplarsMissingV2).toEqual([]);
      expect(exemplarsMissingV1).toEqual([]);
      expect(v1Samples.missing).toEqual([]);
      expect(farm.families.map((f) => v1Metadata.get(f.family) ?? f.family)).toEqual(farm.families.map((f) => ({ family: f.family, type: f.type, help: f.help, unit: f.unit })));
      expect(exemplarsSent).toBeGreaterThan(0);
      expect(metadataSent).toBeGreaterThan(0);
    } finally {
      await h.stop();
    }
  }, 120_000);
});

describe('remote write across a 3-minute receiver outage (issue #12)', () => {
  it('A: every sample of the outage reaches R1 from the disk queues, none twice, and the scrapes never stop', async () => {
    const r = await outage;
    await recordRemoteWrite({
      scenario: 'A-outage-r1',
      targets,
      seriesPerTarget: r.a.r1.series / targets,
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
    // records were dropped (the memory part moves to disk ahead of new records once full, so it is the oldest too).
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
    expect(firstLeadMs).toBeLessThanOrEqual(2 * intervalMs);
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
      notes: `window from before the outage to 5 s before the kill; on disk at the kill ${r.d.diskSamplesAtKill} samples, found on restart ${r.d.diskSamplesAtRestart}, replayed ${r.d.replayed}; after the restart ${r.d.afterRestart.received}/${r.d.afterRestart.expected}`,
    });
    expect(r.d.logsBeforeKill.problems).toEqual([]);
    expect(r.d.diskSamplesAtKill).toBeGreaterThan(0);
    expect(r.d.diskSamplesAtRestart).toBeGreaterThan(0);
    expect(r.d.diskSamplesAtRestart).toBeLessThanOrEqual(r.d.diskSamplesAtKill + r.d.memoryBound);
    expect(r.d.replayed).toBeGreaterThanOrEqual(r.d.diskSamplesAtRestart);
    // Once the memory part was full its records moved to disk ahead of the new ones, so everything queued up to a
    // batch before the kill was on disk.
    expect(lost.map((at) => new Date(at).toISOString())).toEqual([]);
    expect(r.d.afterRestart.missing).toEqual([]);
    expect(r.d.afterRestart.received).toBe(r.d.afterRestart.expected);
  }, 400_000);
});
