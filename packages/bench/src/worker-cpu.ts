/**
 * The worker's CPU per sample in one process: real `ScrapeLoop`s scrape N targets of the shared harness's payloads
 * (node-exporter, `../shared/bench/payloads/node`, or the kube-state-metrics-like one of `gen-ksm-payload.py`) served
 * gzip-compressed over loopback HTTP, through a real `TargetScraper`, and hand their samples to a real
 * `RemoteWriteQueue` (disk queue on, as the worker's default) that posts to a receiver which reads and discards each
 * request. The targets and the receiver run in another process, so the measured process holds only the worker's
 * hot path. After a warm-up, `process.cpuUsage` and `performance.eventLoopUtilization` are read over a window and
 * divided by the samples the loops appended (report series and staleness markers included).
 *
 * To compare builds, `--worker A,B` names built worker entry points (`packages/worker/dist/index.js` of each
 * checkout; `current` is this checkout's): each repeat runs every one in a fresh process, the order turned every
 * repeat, and the medians and the ratios to the first are printed as markdown.
 *
 *   pnpm build && pnpm --filter @promfleet/bench worker-cpu [--payload node|ksm] [--targets N] [--interval-ms N]
 *     [--warmup S] [--seconds S] [--repeats N] [--worker current,/other/checkout/packages/worker/dist/index.js]
 *     [--profile DIR]
 *
 * `--profile DIR` writes a V8 CPU profile (`.cpuprofile`) and a sampling heap profile (`.heapprofile`, bytes
 * allocated by function) of each measured window into DIR, for Chrome DevTools (Performance and Memory panels).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { buildTarget, parseConfig, type ScrapeConfig } from '@promfleet/model';
import type * as WorkerModule from '@promfleet/worker';
import { SHARED_BENCH_DIR, median } from './measure.js';

type PayloadKind = 'node' | 'ksm';

/** What the driver passes to a measuring process (as JSON in argv). */
interface MeasureSpec {
  readonly worker: string;
  readonly ports: readonly number[];
  readonly receiverUrl: string;
  readonly intervalMs: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly profile: string | undefined;
  readonly label: string;
}

/** What a measuring process reports. */
interface MeasureResult {
  readonly label: string;
  readonly samples: number;
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  readonly elu: number;
  readonly usPerSample: number;
  readonly sent: number;
  readonly dropped: number;
  readonly scrapeFailures: number;
}

/** A flag the benchmark does not know, or a value it cannot use. */
class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'PROMFLEET_BENCH_USAGE';
}

const usage = `usage: pnpm --filter @promfleet/bench worker-cpu [flags]
  --payload P       node (927 series per target; default) or ksm (10,000)
  --targets N       targets (default 50 for node, 5 for ksm)
  --interval-ms N   scrape interval (default 1000)
  --warmup S        seconds before the window (default 8)
  --seconds S       the measured window (default 20)
  --repeats N       runs of each build, interleaved; medians shown (default 3)
  --worker LIST     comma-separated worker entry points (dist/index.js) to compare; "current" is this checkout's (default current)
  --profile DIR     write a CPU profile and a sampling heap profile of each window into DIR`;

/** How long the targets and the receiver keep an idle connection open. */
const KEEP_ALIVE_MS = 300_000;

const CURRENT_WORKER = fileURLToPath(new URL('../../worker/dist/index.js', import.meta.url));

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name}: expected a positive number, got ${JSON.stringify(text)}`);
  return value;
}

function payloadBodies(kind: PayloadKind): string[] {
  if (kind === 'node') {
    return [0, 1, 2, 3].map((v) => {
      const file = join(SHARED_BENCH_DIR, 'payloads', 'node', `v${v}.prom`);
      try {
        return readFileSync(file, 'utf8');
      } catch (err) {
        throw new UsageError(`the node-exporter payload ${file} cannot be read: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }
  const generator = join(SHARED_BENCH_DIR, 'gen-ksm-payload.py');
  return [0, 1, 2, 3].map((v) => execFileSync('python3', [generator, '--series', '10000', '--variant', String(v)], { encoding: 'utf8', maxBuffer: 64 << 20 }));
}

/**
 * The other process: one HTTP server per target serving the payload's variants gzip-compressed (each request the
 * next variant, so every scrape reads new values), and a remote-write receiver that reads each request and answers
 * 204. Prints `{ports, receiverUrl}` as one JSON line, then serves until stdin closes.
 */
async function serve(kind: PayloadKind, targets: number): Promise<void> {
  const bodies = payloadBodies(kind).map((body) => gzipSync(body, { level: 6 }));
  const servers: Server[] = [];
  const ports: number[] = [];
  for (let t = 0; t < targets; t++) {
    let next = t;
    const server = createServer((_req, res) => {
      const body = bodies[next++ % bodies.length] as Buffer;
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Encoding': 'gzip', 'Content-Length': body.length });
      res.end(body);
    });
    // As the shared harness's nginx (keepalive_timeout 300s): Node's default of 5 s would close every connection
    // between scrapes at intervals of 5 s and more, and the worker would measure a TCP connect per scrape.
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    servers.push(server);
    ports.push((server.address() as AddressInfo).port);
  }
  const receiver = createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => res.writeHead(204).end());
  });
  receiver.keepAliveTimeout = KEEP_ALIVE_MS;
  await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
  process.stdout.write(`${JSON.stringify({ ports, receiverUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/api/v1/write` })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

function jobConfig(intervalMs: number, receiverUrl: string): { job: ScrapeConfig; remoteWrite: ReturnType<typeof parseConfig> } {
  const text = [
    'scrape_configs:',
    '  - job_name: node',
    `    scrape_interval: ${intervalMs}ms`,
    `    scrape_timeout: ${intervalMs}ms`,
    'remote_write:',
    `  - url: ${JSON.stringify(receiverUrl)}`,
    '    name: bench',
  ].join('\n');
  const parsed = parseConfig(`${text}\n`, { file: 'worker-cpu.yml' });
  if (!parsed.ok) throw new Error(`the benchmark's config is invalid: ${parsed.errors.map((e) => e.message).join('; ')}`);
  const job = parsed.config.scrapeConfigs[0];
  if (job === undefined) throw new Error('the benchmark config has no scrape config');
  return { job, remoteWrite: parsed };
}

/** The measuring process: the worker's loops and queue, one window, a JSON line with the figures. */
async function measure(spec: MeasureSpec): Promise<void> {
  const worker = (await import(pathToFileURL(spec.worker).href)) as typeof WorkerModule;
  const { job, remoteWrite } = jobConfig(spec.intervalMs, spec.receiverUrl);
  if (!remoteWrite.ok) throw new Error('unreachable: checked in jobConfig');
  const endpoint = remoteWrite.config.remoteWrite[0];
  if (endpoint === undefined) throw new Error('the benchmark config has no remote_write entry');
  const scratch = mkdtempSync(join(tmpdir(), 'promfleet-worker-cpu-'));
  const queue = new worker.RemoteWriteQueue({
    config: endpoint,
    externalLabels: new Map(),
    metrics: new worker.RemoteWriteMetrics(new Registry()),
    userAgent: 'promfleet-bench/worker-cpu',
    disk: { dir: join(scratch, 'queue'), maxBytes: 1 << 30 },
  });
  queue.start();
  const scraper = new worker.TargetScraper({ job, userAgent: 'promfleet-bench/worker-cpu' });
  let samples = 0;
  let scrapeFailures = 0;
  const observer = {
    appended(appended: number, stale: number): void {
      samples += appended + stale;
    },
    scraped(result: 'success' | 'failure'): void {
      if (result === 'failure') scrapeFailures++;
    },
  };
  const loops = spec.ports.map((port) => {
    const built = buildTarget(job, new Map([['__address__', `127.0.0.1:${port}`]]), new Map());
    if (built.kind !== 'kept') throw new Error(`target 127.0.0.1:${port} was not kept: ${built.kind}`);
    const loop = new worker.ScrapeLoop({ target: built.target, firstSlotUnixMs: 0, job, scraper, sinks: [queue], observer });
    loop.start();
    return loop;
  });
  await new Promise((done) => setTimeout(done, spec.warmupSeconds * 1000));
  let session: Session | undefined;
  if (spec.profile !== undefined) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', { samplingInterval: 16_384 });
  }
  const samples0 = samples;
  const failures0 = scrapeFailures;
  const sent0 = queue.stats().samplesSent;
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  await new Promise((done) => setTimeout(done, spec.seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  const windowSamples = samples - samples0;
  const stats = queue.stats();
  if (session !== undefined && spec.profile !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    const heap = await session.post('HeapProfiler.stopSampling');
    mkdirSync(spec.profile, { recursive: true });
    const stem = join(spec.profile, `${spec.label}-${process.pid}`);
    writeFileSync(`${stem}.cpuprofile`, JSON.stringify(profile));
    writeFileSync(`${stem}.heapprofile`, JSON.stringify(heap.profile));
    session.disconnect();
  }
  const result: MeasureResult = {
    label: spec.label,
    samples: windowSamples,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    elu: elu.utilization,
    usPerSample: (cpu.user + cpu.system) / windowSamples,
    sent: stats.samplesSent - sent0,
    dropped: [...stats.samplesDropped.values()].reduce((a, b) => a + b, 0),
    scrapeFailures: scrapeFailures - failures0,
  };
  await Promise.all(loops.map((loop) => loop.stop('shutdown')));
  await queue.stop({ flushDeadlineMs: 5_000 });
  rmSync(scratch, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Runs this file as a child in `mode`, resolving to its first stdout line; `keep` leaves it running (stdin open). */
function child(args: readonly string[], keep: boolean): Promise<{ line: string; stop(): void }> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((done, fail) => {
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const newline = out.indexOf('\n');
      if (newline >= 0) {
        if (!keep) proc.stdin.end();
        done({ line: out.slice(0, newline), stop: () => proc.stdin.end() });
      }
    });
    proc.once('exit', (code) => {
      if (!out.includes('\n')) fail(new Error(`worker-cpu ${args[0] ?? ''} exited with ${String(code)} before reporting`));
    });
  });
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined ? '—' : value.toFixed(digits);
}

async function drive(): Promise<void> {
  const { values } = parseArgs({
    options: {
      payload: { type: 'string' },
      targets: { type: 'string' },
      'interval-ms': { type: 'string' },
      warmup: { type: 'string' },
      seconds: { type: 'string' },
      repeats: { type: 'string' },
      worker: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const payload = values.payload ?? 'node';
  if (payload !== 'node' && payload !== 'ksm') throw new UsageError(`--payload: expected node or ksm, got ${JSON.stringify(payload)}`);
  const targets = positive('targets', values.targets, payload === 'node' ? 50 : 5);
  const spec = {
    intervalMs: positive('interval-ms', values['interval-ms'], 1000),
    warmupSeconds: positive('warmup', values.warmup, 8),
    seconds: positive('seconds', values.seconds, 20),
    profile: values.profile === undefined ? undefined : resolve(values.profile),
  };
  const repeats = positive('repeats', values.repeats, 3);
  const workers = (values.worker ?? 'current').split(',').map((w) => (w === 'current' ? CURRENT_WORKER : resolve(w)));
  const farm = await child(['serve', payload, String(targets)], true);
  const { ports, receiverUrl } = JSON.parse(farm.line) as { ports: number[]; receiverUrl: string };
  const results = new Map<string, MeasureResult[]>(workers.map((w) => [w, []]));
  try {
    for (let r = 0; r < repeats; r++) {
      const order = workers.map((_, i) => workers[(i + r) % workers.length] as string);
      for (const [i, w] of order.entries()) {
        const label = `w${workers.indexOf(w)}-r${r}`;
        const measureSpec: MeasureSpec = { ...spec, worker: w, ports, receiverUrl, label };
        const { line } = await child(['measure', JSON.stringify(measureSpec)], false);
        const result = JSON.parse(line) as MeasureResult;
        results.get(w)?.push(result);
        process.stderr.write(`repeat ${r + 1}/${repeats} run ${i + 1}: ${w}: ${result.usPerSample.toFixed(3)} µs/sample, ELU ${result.elu.toFixed(3)}, ${result.samples} samples, ${result.sent} sent, ${result.dropped} dropped, ${result.scrapeFailures} failed scrapes\n`);
      }
    }
  } finally {
    farm.stop();
  }
  const base = median(results.get(workers[0] as string)?.map((m) => m.usPerSample) ?? []);
  process.stdout.write(`${payload}: ${targets} targets @ ${spec.intervalMs} ms, ${spec.seconds} s windows after ${spec.warmupSeconds} s, medians of ${repeats}\n\n`);
  process.stdout.write('| worker | µs/sample | user µs/sample | system µs/sample | ELU | ÷ first | runs (µs/sample) |\n|---|---:|---:|---:|---:|---:|---|\n');
  for (const w of workers) {
    const runs = results.get(w) ?? [];
    const us = median(runs.map((m) => m.usPerSample));
    process.stdout.write(
      `| ${w === CURRENT_WORKER ? 'current' : w} | ${fixed(us, 3)} | ${fixed(median(runs.map((m) => m.cpuUserUs / m.samples)), 3)} | ${fixed(median(runs.map((m) => m.cpuSystemUs / m.samples)), 3)} | ${fixed(median(runs.map((m) => m.elu)), 3)} | ${us === undefined || base === undefined ? '—' : fixed(us / base, 3)} | ${runs.map((m) => m.usPerSample.toFixed(3)).join(', ')} |\n`,
    );
  }
}

const [mode, ...rest] = process.argv.slice(2);
try {
  if (mode === 'serve') await serve(rest[0] === 'ksm' ? 'ksm' : 'node', Number(rest[1]));
  else if (mode === 'measure') await measure(JSON.parse(rest[0] ?? '{}') as MeasureSpec);
  else await drive();
} catch (err) {
  if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
    process.stderr.write(`${err.message}\n${usage}\n`);
    process.exit(2);
  }
  throw err;
}
