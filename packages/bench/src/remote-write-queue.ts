/**
 * The remote-write disk queue benchmark: a real `RemoteWriteQueue` with a disk queue, its receiver down, takes
 * samples of the shared harness's payloads (node-exporter, `../shared/bench/payloads/node`, 927 series per target,
 * or its kube-state-metrics-like one, `gen-ksm-payload.py`, 10,000), the payload's four value variants in turn, 5 s
 * apart, `job` and `instance` added as the scrape loop adds them, each series with its family's metadata as the
 * scrape loop gives it, until every one is on disk; then the receiver comes up and the
 * queue replays them. For Remote-Write 1.0, 2.0, and 2.0 with series given no metadata (what 2.0's per-series
 * metadata costs), in turn, `--repeats` times; prints medians as markdown to stdout. Also the size of 1.0's
 * metadata requests (`metadata_config`: the union of the targets' families, once per `send_interval`).
 *
 *   pnpm build && pnpm --filter @promfleet/bench remote-write-queue [--payload node|ksm] [--targets N] [--samples N] [--repeats N] [--dir DIR]
 *
 * Measured: the queue's append path with the receiver down (samples/s: encode, snappy, spool append, on the
 * caller's thread), the bytes its disk queue's files hold per sample, the spool alone on copies of those files
 * (open with its CRC scan, peek + ack, append), and the replay when the receiver is back (samples/s confirmed by a
 * counting receiver in a worker thread, with the queue's default shards), and from the bytes per sample the minutes
 * of a receiver outage the default `--remote-write.queue-max-size` holds.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { parseConfig, type RemoteWriteConfig, type RemoteWriteMessage } from '@promfleet/model';
import {
  DEFAULT_QUEUE_MAX_BYTES,
  RemoteWriteMetrics,
  RemoteWriteQueue,
  Spool,
  createParser,
  type FamilyMetadata,
  type MetricType,
  type QueueRecord,
  type RemoteWriteEvent,
  type SeriesRef,
} from '@promfleet/worker';
import { TOTALS, Total } from './counting-receiver.js';
import { SHARED_BENCH_DIR, median } from './measure.js';

const usage = `usage: pnpm --filter @promfleet/bench remote-write-queue [--payload node|ksm] [--targets N] [--samples N] [--repeats N] [--dir DIR]
  --payload P    node (node-exporter, 927 series per target; default) or ksm (kube-state-metrics-like, 10,000)
  --targets N    targets (default 50 for node, 10 for ksm)
  --samples N    samples queued per protocol, at least 200000 (default 2000000, rounded up to whole scrapes of every target)
  --repeats N    runs of each protocol, interleaved; medians are shown (default 3)
  --dir DIR      where the temporary queue directories go (default the OS temp dir)`;

/** Samples per second of a worker the issue sizes the queue for, and of the harness's s1 scale (200 × 927 / 5 s). */
const RATES = [
  { name: '100k samples/s', perSecond: 100_000 },
  { name: 's1: 37,080 samples/s', perSecond: 37_080 },
] as const;
const SCRAPE_INTERVAL_MS = 5_000;

/** A flag the benchmark does not know, or a value it cannot use. */
class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'PROMFLEET_BENCH_USAGE';
}

type PayloadKind = 'node' | 'ksm';

function options(): { payload: PayloadKind; targets: number; samples: number; repeats: number; dir: string } {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        payload: { type: 'string' },
        targets: { type: 'string' },
        samples: { type: 'string' },
        repeats: { type: 'string' },
        dir: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
  }
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const payload = values.payload ?? 'node';
  if (payload !== 'node' && payload !== 'ksm') throw new UsageError(`--payload: want node or ksm, got ${payload}\n${usage}`);
  const targets = Number(values.targets ?? (payload === 'node' ? '50' : '10'));
  const samples = Number(values.samples ?? '2000000');
  if (!Number.isSafeInteger(targets) || targets < 1) throw new UsageError(`--targets: want a positive integer, got ${values.targets}\n${usage}`);
  const repeats = Number(values.repeats ?? '3');
  // Below a few times the memory part (capacity 10,000 samples per shard) some shards would never spill to disk.
  if (!Number.isSafeInteger(samples) || samples < 200_000) throw new UsageError(`--samples: want an integer ≥ 200000, got ${values.samples}\n${usage}`);
  if (!Number.isSafeInteger(repeats) || repeats < 1) throw new UsageError(`--repeats: want a positive integer, got ${values.repeats}\n${usage}`);
  return { payload, targets, samples, repeats, dir: values.dir ?? tmpdir() };
}

/** One series of the payload: its labels, its family's metadata, and its value in each variant. */
interface PayloadSeries {
  readonly labels: ReadonlyMap<string, string>;
  readonly metadata: FamilyMetadata | undefined;
  readonly values: number[];
}

/** The `_total`, `_bucket`… suffixes a family's series may add, by type (Prometheus' `isSeriesPartOfFamily`). */
const suffixes: Readonly<Record<MetricType, readonly string[]>> = {
  counter: ['_total'],
  histogram: ['_bucket', '_sum', '_count'],
  gaugehistogram: ['_bucket', '_gsum', '_gcount'],
  summary: ['_sum', '_count'],
  info: ['_info'],
  gauge: [],
  stateset: [],
  unknown: [],
};

function partOfFamily(name: string, family: FamilyMetadata): boolean {
  if (!name.startsWith(family.family)) return false;
  const base = family.type === 'counter' && family.family.endsWith('_total') ? family.family.slice(0, -6) : family.family;
  const suffix = suffixes[family.type].find((s) => name.endsWith(s)) ?? '';
  return name.slice(0, name.length - suffix.length) === base;
}

/** One of the four value variants of a payload, as the harness's farm serves it. */
function payloadText(kind: PayloadKind, variant: number): string {
  if (kind === 'node') return readFileSync(join(SHARED_BENCH_DIR, 'payloads', 'node', `v${variant}.prom`), 'utf8');
  const script = join(SHARED_BENCH_DIR, 'gen-ksm-payload.py');
  return execFileSync('python3', [script, '--series', '10000', '--variant', String(variant)], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
}

/** The payload's series, with the value of each of the four variants (a series missing from one keeps v0's). */
function readPayload(kind: PayloadKind): PayloadSeries[] {
  const byKey = new Map<string, PayloadSeries>();
  for (let variant = 0; variant < 4; variant++) {
    const body = payloadText(kind, variant);
    const parser = createParser({ body, format: 'text' });
    let family: { family: string; type: MetricType; help: string } = { family: '', type: 'unknown', help: '' };
    for (let entry = parser.next(); entry !== undefined; entry = parser.next()) {
      switch (entry) {
        case 'help': {
          const [name, help] = parser.help();
          family = name === family.family ? { ...family, help } : { family: name, type: 'unknown', help };
          break;
        }
        case 'type': {
          const [name, type] = parser.type();
          family = name === family.family ? { ...family, type } : { family: name, type, help: '' };
          break;
        }
        case 'series': {
          const key = parser.detachedSeries();
          const known = byKey.get(key);
          if (known !== undefined) {
            known.values[variant] = parser.value();
            break;
          }
          if (variant > 0) break;
          const labels = parser.labels();
          const metadata = { ...family, unit: '' };
          byKey.set(key, { labels, metadata: partOfFamily(labels.get('__name__') ?? '', metadata) ? metadata : undefined, values: [parser.value()] });
          break;
        }
        case 'unit':
        case 'comment':
          break;
      }
    }
  }
  return [...byKey.values()];
}

/** One remote_write entry with Prometheus' defaults but for `protobuf_message` and `metadata_config`. */
function endpointConfig(url: string, protocol: RemoteWriteMessage, metadata: string): RemoteWriteConfig {
  const text = `remote_write:\n  - url: ${JSON.stringify(url)}\n    name: bench\n    protobuf_message: ${protocol}\n    metadata_config: ${metadata}\n`;
  const result = parseConfig(text, { file: 'remote-write-queue.yml' });
  if (!result.ok) throw new Error(`the benchmark's remote_write config is invalid: ${result.errors.map((e) => e.message).join('; ')}`);
  const [config] = result.config.remoteWrite;
  if (config === undefined) throw new Error('the benchmark config has no remote_write entry');
  return config;
}

/** A port nothing listens on (yet): taken from the kernel and released. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function filesUnder(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    files++;
    bytes += statSync(join(entry.parentPath, entry.name)).size;
  }
  return { files, bytes };
}

/** Resolves once `check()` holds, polling every 50 ms; rejects after `timeoutMs` with `what`. */
async function until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface SpoolFigures {
  readonly records: number;
  readonly samples: number;
  readonly bytes: number;
  readonly openSeconds: number;
  readonly readSeconds: number;
  readonly appendSeconds: number;
}

/** The spool alone, on a copy of the queue's shard directories: open (CRC scan), read everything, append it all again. */
function spoolFigures(queueDir: string, scratch: string): SpoolFigures {
  cpSync(queueDir, join(scratch, 'copy'), { recursive: true });
  const shardDirs = readdirSync(join(scratch, 'copy'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name.startsWith('shard-'))
    .map((e) => join(e.parentPath, e.name));
  const records: QueueRecord[] = [];
  let openSeconds = 0;
  let readSeconds = 0;
  for (const dir of shardDirs) {
    let start = process.hrtime.bigint();
    const { spool } = Spool.open(dir, { maxBytes: Number.MAX_SAFE_INTEGER });
    openSeconds += Number(process.hrtime.bigint() - start) / 1e9;
    start = process.hrtime.bigint();
    for (let head = spool.peek(); head !== undefined; head = spool.peek()) {
      records.push(head);
      spool.ack(head.id);
    }
    readSeconds += Number(process.hrtime.bigint() - start) / 1e9;
    spool.close();
  }
  const { spool } = Spool.open(join(scratch, 'append'), { maxBytes: Number.MAX_SAFE_INTEGER });
  const start = process.hrtime.bigint();
  for (const record of records) spool.append(record);
  const appendSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  spool.close();
  return {
    records: records.length,
    samples: records.reduce((sum, r) => sum + r.samples, 0),
    bytes: records.reduce((sum, r) => sum + r.body.length, 0),
    openSeconds,
    readSeconds,
    appendSeconds,
  };
}

/** What is measured: a protocol, and whether series carry their family's metadata. */
interface Variant {
  readonly name: string;
  readonly protocol: RemoteWriteMessage;
  readonly metadata: boolean;
}

const variants: readonly Variant[] = [
  { name: '1.0', protocol: 'prometheus.WriteRequest', metadata: true },
  { name: '2.0', protocol: 'io.prometheus.write.v2.Request', metadata: true },
  { name: '2.0, series without metadata', protocol: 'io.prometheus.write.v2.Request', metadata: false },
];

interface ProtocolFigures {
  readonly variant: Variant;
  readonly samples: number;
  readonly appendSeconds: number;
  readonly appendCpuSeconds: number;
  readonly diskSamples: number;
  readonly diskFiles: number;
  readonly diskFileBytes: number;
  /** What the queue reports (`promfleet_remote_write_queue_disk_bytes`). */
  readonly queueDiskBytes: number;
  readonly spool: SpoolFigures;
  /** From the receiver's start to the last sample confirmed, and from its first request to its last. */
  readonly replaySeconds: number;
  readonly replayActiveSeconds: number;
  readonly replayRequests: number;
  readonly replayedSamples: number;
  readonly receivedSamples: number;
  readonly shards: number;
}

/** Starts the counting receiver in a worker thread on `port`; resolves once it listens. */
async function startReceiverThread(port: number, totals: Float64Array): Promise<Worker> {
  const receiver = new Worker(new URL('./counting-receiver-thread.js', import.meta.url), { workerData: { port, totals } });
  await new Promise<void>((resolve, reject) => {
    receiver.once('message', () => resolve());
    receiver.once('error', reject);
  });
  return receiver;
}

async function closeReceiverThread(receiver: Worker): Promise<void> {
  const exited = new Promise((resolve) => receiver.once('exit', resolve));
  receiver.postMessage('close');
  await exited;
}

async function measureProtocol(o: { variant: Variant; targets: number; samples: number; parent: string; payload: readonly PayloadSeries[] }): Promise<ProtocolFigures> {
  const scratch = mkdtempSync(join(o.parent, 'promfleet-rw-queue-bench-'));
  const port = await freePort();
  const events: RemoteWriteEvent[] = [];
  const queue = new RemoteWriteQueue({
    // No 1.0 metadata requests here: they would be counted as replayed bytes (their size is measured apart).
    config: endpointConfig(`http://127.0.0.1:${port}/api/v1/write`, o.variant.protocol, '{send: false}'),
    externalLabels: new Map(),
    metrics: new RemoteWriteMetrics(new Registry()),
    userAgent: 'promfleet-bench/remote-write-queue',
    disk: { dir: join(scratch, 'queue'), maxBytes: Number.MAX_SAFE_INTEGER },
    log: (event) => events.push(event),
  });
  const totals = new Float64Array(new SharedArrayBuffer(TOTALS * Float64Array.BYTES_PER_ELEMENT));
  let receiver: Worker | undefined;
  try {
    queue.start();
    const refs: { ref: SeriesRef; values: readonly number[] }[] = [];
    for (let t = 0; t < o.targets; t++) {
      for (const series of o.payload) {
        const labels = new Map([...series.labels, ['job', 'bench'], ['instance', `127.0.0.1:${20_000 + t}`]]);
        const ref = queue.seriesRef(labels, o.variant.metadata ? series.metadata : undefined);
        if (ref !== undefined) refs.push({ ref, values: series.values });
      }
    }
    const rounds = Math.ceil(o.samples / refs.length);
    const t0 = Date.now() - rounds * SCRAPE_INTERVAL_MS;
    const cpu0 = process.cpuUsage();
    const wall0 = process.hrtime.bigint();
    for (let round = 0; round < rounds; round++) {
      const ts = t0 + round * SCRAPE_INTERVAL_MS;
      for (const { ref, values } of refs) queue.append(ref, ts, values[round % values.length] ?? 0);
      // A scrape round at a time, so that the senders' retries run between them as they would.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const appendSeconds = Number(process.hrtime.bigint() - wall0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const samples = rounds * refs.length;
    // What the rings still hold is cut at batch_send_deadline (5 s) and follows the rest to disk.
    await until(() => queue.stats().diskSamples === samples, 60_000, () => `${queue.stats().diskSamples} of ${samples} samples on disk`);
    const queueDir = join(scratch, 'queue');
    const onDisk = filesUnder(queueDir);
    const stats = queue.stats();
    const spool = spoolFigures(queueDir, scratch);

    const up = performance.timeOrigin + performance.now();
    receiver = await startReceiverThread(port, totals);
    await until(() => (totals[Total.samples] ?? 0) >= samples, 600_000, () => `the receiver got ${totals[Total.samples]} of ${samples} samples`);
    const replayed = queue.stats();
    return {
      variant: o.variant,
      samples,
      appendSeconds,
      appendCpuSeconds: (cpu.user + cpu.system) / 1e6,
      diskSamples: stats.diskSamples,
      diskFiles: onDisk.files,
      diskFileBytes: onDisk.bytes,
      queueDiskBytes: stats.diskBytes,
      spool,
      replaySeconds: ((totals[Total.lastMs] ?? 0) - up) / 1000,
      replayActiveSeconds: ((totals[Total.lastMs] ?? 0) - (totals[Total.firstMs] ?? 0)) / 1000,
      replayRequests: totals[Total.requests] ?? 0,
      replayedSamples: replayed.replayedSamples,
      receivedSamples: totals[Total.samples] ?? 0,
      shards: replayed.shards,
    };
  } finally {
    await queue.stop({ flushDeadlineMs: 1_000 });
    if (receiver !== undefined) await closeReceiverThread(receiver);
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** One 1.0 metadata send (`metadata_config`) for `targets` targets of the payload: entries, requests, compressed bytes. */
async function measureMetadata(o: { targets: number; payload: readonly PayloadSeries[] }): Promise<{ families: number; entries: number; requests: number; bytes: number }> {
  const port = await freePort();
  const totals = new Float64Array(new SharedArrayBuffer(TOTALS * Float64Array.BYTES_PER_ELEMENT));
  const receiver = await startReceiverThread(port, totals);
  const queue = new RemoteWriteQueue({
    config: endpointConfig(`http://127.0.0.1:${port}/api/v1/write`, 'prometheus.WriteRequest', '{send: true, send_interval: 1s}'),
    externalLabels: new Map(),
    metrics: new RemoteWriteMetrics(new Registry()),
    userAgent: 'promfleet-bench/remote-write-queue',
  });
  try {
    const families = new Map<string, FamilyMetadata>();
    for (const series of o.payload) if (series.metadata !== undefined) families.set(series.metadata.family, series.metadata);
    queue.start();
    // Each target's loop reports its own copy of the families, as the scrape loop does.
    for (let t = 0; t < o.targets; t++) queue.targetMetadata({ target: t }, [...families.values()].map((m) => ({ ...m })));
    await until(() => queue.stats().metadataSent > 0 && (totals[Total.metadata] ?? 0) >= queue.stats().metadataSent, 30_000, () => 'no metadata request arrived');
    return { families: families.size, entries: totals[Total.metadata] ?? 0, requests: totals[Total.requests] ?? 0, bytes: totals[Total.bytes] ?? 0 };
  } finally {
    await queue.stop({ flushDeadlineMs: 1_000 });
    await closeReceiverThread(receiver);
  }
}

function n(value: number | undefined, digits = 0): string {
  return value === undefined ? '–' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The median over `runs` of `pick`, and its range when the runs differ. */
function med(runs: readonly ProtocolFigures[], pick: (f: ProtocolFigures) => number, digits = 0): string {
  const values = runs.map(pick);
  const mid = median(values);
  const low = Math.min(...values);
  const high = Math.max(...values);
  return n(low, digits) === n(high, digits) ? n(mid, digits) : `${n(mid, digits)} (${n(low, digits)}–${n(high, digits)})`;
}

function markdown(byVariant: ReadonlyMap<Variant, readonly ProtocolFigures[]>, o: { payload: PayloadKind; targets: number; series: number; repeats: number }): string {
  const first = [...byVariant.values()][0]?.[0];
  const lines = [
    `${o.targets} ${o.payload === 'node' ? 'node-exporter' : 'kube-state-metrics-like'} targets × ${o.series} series, one sample per series every 5 s (the harness's v0–v3 in turn), ` +
      `${n(first?.samples)} samples per run; records of max_samples_per_send (2,000) samples, snappy-compressed; default ` +
      `queue_config (${first?.shards ?? '?'} shards); medians of ${o.repeats} runs per row (range in brackets); Node ${process.version}.`,
    '',
    '| Remote-Write | disk bytes/sample (files) | queue-reported bytes/sample | samples/record | append with the receiver down: samples/s | CPU µs/sample |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const [variant, runs] of byVariant) {
    lines.push(
      `| ${variant.name} | ${med(runs, (f) => f.diskFileBytes / f.diskSamples, 2)} | ${med(runs, (f) => f.queueDiskBytes / f.diskSamples, 2)} | ` +
        `${med(runs, (f) => f.spool.samples / f.spool.records)} | ${med(runs, (f) => f.samples / f.appendSeconds)} | ${med(runs, (f) => (f.appendCpuSeconds * 1e6) / f.samples, 2)} |`,
    );
  }
  lines.push(
    '',
    'The spool alone, on copies of those files (page cache; MB of record bodies):',
    '',
    '| Remote-Write | open (CRC scan) MB/s | read (peek + ack) MB/s | read samples/s | append MB/s | append samples/s |',
    '|---|---:|---:|---:|---:|---:|',
  );
  for (const [variant, runs] of byVariant) {
    lines.push(
      `| ${variant.name} | ${med(runs, (f) => f.spool.bytes / 1e6 / f.spool.openSeconds)} | ${med(runs, (f) => f.spool.bytes / 1e6 / f.spool.readSeconds)} | ` +
        `${med(runs, (f) => f.spool.samples / f.spool.readSeconds)} | ${med(runs, (f) => f.spool.bytes / 1e6 / f.spool.appendSeconds)} | ` +
        `${med(runs, (f) => f.spool.samples / f.spool.appendSeconds)} |`,
    );
  }
  lines.push(
    '',
    'Replay when the receiver comes back (a counting receiver in a worker thread; the queue was retrying with its backoff, up to max_backoff 5 s):',
    '',
    '| Remote-Write | samples confirmed | requests | seconds from receiver up | replay samples/s from receiver up | from its first request |',
    '|---|---:|---:|---:|---:|---:|',
  );
  for (const [variant, runs] of byVariant) {
    lines.push(
      `| ${variant.name} | ${med(runs, (f) => f.receivedSamples)} | ${med(runs, (f) => f.replayRequests)} | ${med(runs, (f) => f.replaySeconds, 2)} | ` +
        `${med(runs, (f) => f.receivedSamples / f.replaySeconds)} | ${med(runs, (f) => f.receivedSamples / f.replayActiveSeconds)} |`,
    );
  }
  const mib = DEFAULT_QUEUE_MAX_BYTES / 2 ** 20;
  lines.push(
    '',
    `The default --remote-write.queue-max-size (${n(mib)} MiB per endpoint) in minutes of a receiver outage, at the median disk bytes per sample:`,
    '',
    `| Remote-Write | ${RATES.map((r) => r.name).join(' | ')} |`,
    `|---|${RATES.map(() => '---:').join('|')}|`,
  );
  for (const [variant, runs] of byVariant) {
    const perSample = median(runs.map((f) => f.diskFileBytes / f.diskSamples)) ?? Number.NaN;
    lines.push(`| ${variant.name} | ${RATES.map((r) => n(DEFAULT_QUEUE_MAX_BYTES / perSample / r.perSecond / 60, 1)).join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<number> {
  let o;
  try {
    o = options();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const payload = readPayload(o.payload);
  const byVariant = new Map<Variant, ProtocolFigures[]>(variants.map((v) => [v, []]));
  for (let repeat = 0; repeat < o.repeats; repeat++) {
    // The order turns each repeat, so that warm-up and drifts in the host's load fall on each in turn.
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(i + repeat) % variants.length] as Variant;
      process.stderr.write(`[remote-write-queue] ${repeat + 1}/${o.repeats} Remote-Write ${variant.name}: queueing ${n(o.samples)} samples with the receiver down\n`);
      byVariant.get(variant)?.push(await measureProtocol({ variant, targets: o.targets, samples: o.samples, parent: o.dir, payload }));
    }
  }
  const metadata = await measureMetadata({ targets: 200, payload });
  process.stdout.write(markdown(byVariant, { payload: o.payload, targets: o.targets, series: payload.length, repeats: o.repeats }));
  process.stdout.write(
    `\nRemote-Write 1.0 metadata (metadata_config, every send_interval, 1m by default) for 200 targets: the union of their ${n(metadata.families)} ` +
      `families, ${n(metadata.entries)} entries in ${n(metadata.requests)} request(s), ${n(metadata.bytes)} bytes compressed.\n`,
  );
  return 0;
}

process.exitCode = await main();
