/**
 * The worker's memory per series and CPU per sample, in one process: `--targets` targets' real scrape loops, fed the
 * shared harness's payload (node-exporter, `../shared/bench/payloads/node`, or the kube-state-metrics-like one of
 * `gen-ksm-payload.py`; its four value variants in turn) without HTTP, append into a real `RemoteWriteQueue` whose
 * receiver (a child process) discards what it gets. Measured per run: the heap after a forced GC, minus the heap
 * before the loops existed, divided by the series the loops hold; and `process.cpuUsage` per appended sample over
 * the scrapes after the first (the cache's steady state: every series known).
 *
 * `--compare DIR` also runs another build of `@promfleet/worker` (a copy of its `dist` directory, kept inside
 * `packages/worker` so that its imports resolve, e.g. the build before a change); the builds' runs alternate, and
 * medians per build and their ratios are printed.
 *
 *   node --expose-gc dist/series-memory.js [--payload node|ksm] [--targets N] [--scrapes N] [--repeats N] [--protocol 1|2] [--compare DIR]
 *   pnpm build && pnpm --filter @promfleet/bench series-memory [flags]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { buildTarget, parseConfig, type RemoteWriteConfig, type ScrapeConfig, type Target } from '@promfleet/model';
import * as current from '@promfleet/worker';
import { SHARED_BENCH_DIR, median } from './measure.js';

const usage = `usage: pnpm --filter @promfleet/bench series-memory [--payload node|ksm] [--targets N] [--scrapes N] [--repeats N] [--protocol 1|2] [--compare DIR]
  --payload P    node (node-exporter, 927 series per target; default) or ksm (kube-state-metrics-like, 10,000)
  --targets N    targets (default 100 for node, 10 for ksm)
  --scrapes N    scrapes of every target measured for CPU, after the first (default 16)
  --repeats N    runs per build, alternating (default 3)
  --protocol V   remote-write protocol: 1 (1.0, default) or 2 (2.0)
  --compare DIR  another build's worker dist directory (e.g. packages/worker/dist-base), run alternately with this one`;

/** A flag the benchmark does not know, or a value it cannot use. */
class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'PROMFLEET_BENCH_USAGE';
}

type PayloadKind = 'node' | 'ksm';

interface Options {
  readonly payload: PayloadKind;
  readonly targets: number;
  readonly scrapes: number;
  readonly repeats: number;
  readonly protocol: '1' | '2';
  readonly compare: string | undefined;
}

function positive(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: want a positive integer, got ${text}\n${usage}`);
  return n;
}

function options(): Options {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        payload: { type: 'string' },
        targets: { type: 'string' },
        scrapes: { type: 'string' },
        repeats: { type: 'string' },
        protocol: { type: 'string' },
        compare: { type: 'string' },
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
  const protocol = values.protocol ?? '1';
  if (protocol !== '1' && protocol !== '2') throw new UsageError(`--protocol: want 1 or 2, got ${protocol}\n${usage}`);
  return {
    payload,
    targets: positive('--targets', values.targets ?? (payload === 'node' ? '100' : '10')),
    scrapes: positive('--scrapes', values.scrapes ?? '16'),
    repeats: positive('--repeats', values.repeats ?? '3'),
    protocol,
    compare: values.compare,
  };
}

/** One of the four value variants of a payload, as the harness's farm serves it. */
function payloadText(kind: PayloadKind, variant: number): string {
  if (kind === 'node') return readFileSync(join(SHARED_BENCH_DIR, 'payloads', 'node', `v${variant}.prom`), 'utf8');
  const script = join(SHARED_BENCH_DIR, 'gen-ksm-payload.py');
  return execFileSync('python3', [script, '--series', '10000', '--variant', String(variant)], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
}

/** What a run needs of a build of `@promfleet/worker`. */
type WorkerBuild = Pick<typeof current, 'ScrapeLoop' | 'RemoteWriteQueue' | 'RemoteWriteMetrics'>;

interface RunFigures {
  readonly series: number;
  readonly heapBytesPerSeries: number;
  readonly cpuNsPerSample: number;
}

function scrapeJob(): ScrapeConfig {
  // The interval only paces the loops' timers; the scraper's gate decides when each scrape happens.
  const parsed = parseConfig('scrape_configs:\n  - job_name: bench\n    scrape_interval: 1s\n    scrape_timeout: 1s\n', { file: 'series-memory.yml' });
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('; '));
  const job = parsed.config.scrapeConfigs[0] as ScrapeConfig;
  return { ...job, scrapeIntervalMs: 1, scrapeTimeoutMs: 1 };
}

function endpointConfig(url: string, protocol: '1' | '2'): RemoteWriteConfig {
  const message = protocol === '2' ? 'io.prometheus.write.v2.Request' : 'prometheus.WriteRequest';
  const result = parseConfig(`remote_write:\n  - url: ${JSON.stringify(url)}\n    name: bench\n    protobuf_message: ${message}\n    metadata_config: {send: false}\n`, { file: 'series-memory.yml' });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('; '));
  const [config] = result.config.remoteWrite;
  if (config === undefined) throw new Error('the benchmark config has no remote_write entry');
  return config;
}

/** A receiver in a child process that answers every request 204 and keeps nothing: its CPU is not this process's. */
async function startReceiver(): Promise<{ child: ChildProcess; url: string }> {
  const script = `const s=require('node:http').createServer((q,r)=>{q.resume();q.on('end',()=>{r.statusCode=204;r.end();});});s.listen(0,'127.0.0.1',()=>process.stdout.write(s.address().port+'\\n'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolvePort, reject) => {
    child.stdout?.once('data', (data: Buffer) => resolvePort(data.toString().trim()));
    child.once('exit', (code) => reject(new Error(`the receiver exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/api/v1/write` };
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new UsageError('run with node --expose-gc (the bench script does)');
  collect();
  collect();
}

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

/**
 * One run of a build: the loops' first scrape (every series new), then `scrapes` more, measured for CPU; then the
 * heap, with the queue drained, after a forced GC.
 */
async function run(build: WorkerBuild, o: Options & { bodies: readonly string[]; url: string }): Promise<RunFigures> {
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const job = scrapeJob();
  const queue = new build.RemoteWriteQueue({ config: endpointConfig(o.url, o.protocol), externalLabels: new Map(), metrics: new build.RemoteWriteMetrics(new Registry()), userAgent: 'promfleet-bench/series-memory' });
  queue.start();
  /** Scrape k of every loop waits for gate k, opened by the driver's round k. */
  const gates: { promise: Promise<void>; open: () => void }[] = [];
  const gateOf = (k: number): { promise: Promise<void>; open: () => void } => {
    let gate = gates[k];
    if (gate === undefined) {
      let open: () => void = () => undefined;
      const promise = new Promise<void>((r) => (open = r));
      gate = { promise, open };
      gates[k] = gate;
    }
    return gate;
  };
  let round = 0;
  let scraped = 0;
  let appended = 0;
  const scraperOf = (): { scrape(): Promise<{ body: string; contentType: string; bytes: number }> } => {
    let scrapes = 0;
    return {
      async scrape() {
        const k = scrapes++;
        await gateOf(k).promise;
        const body = o.bodies[k % o.bodies.length] ?? '';
        return { body, contentType: 'text/plain; version=0.0.4', bytes: body.length };
      },
    };
  };
  const observer = {
    scraped: () => void scraped++,
    appended: (samples: number) => void (appended += samples),
  };
  const loops = Array.from({ length: o.targets }, (_, t) => {
    const built = buildTarget(job, new Map([['__address__', `127.0.0.1:${20_000 + t}`]]), new Map());
    if (built.kind !== 'kept') throw new Error('the benchmark target was not kept');
    const target: Target = built.target;
    return new build.ScrapeLoop({ target, firstSlotUnixMs: 0, job, scraper: scraperOf(), sinks: [queue], observer });
  });
  for (const loop of loops) loop.start();
  const scrapeRound = async (): Promise<void> => {
    const before = scraped;
    gateOf(round).open();
    await until(() => scraped - before >= o.targets, 60_000);
    if (scraped - before < o.targets) throw new Error(`only ${scraped - before} of ${o.targets} targets were scraped`);
    round++;
    // Lets the queue's senders run between scrapes, as they would.
    await new Promise((r) => setImmediate(r));
  };
  await scrapeRound();
  const appended0 = appended;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < o.scrapes; i++) await scrapeRound();
  const cpu = process.cpuUsage(cpu0);
  const samples = appended - appended0;
  // What the rings still hold is cut at batch_send_deadline (5 s).
  await until(() => queue.stats().memorySamples === 0, 30_000);
  gc();
  const heap = process.memoryUsage().heapUsed - heap0;
  const series = samples / o.scrapes;
  // The loops wait on the gate for their next scrape, which stopping waits for: open it.
  const stopped = Promise.all(loops.map((loop) => loop.stop('shutdown')));
  gateOf(round).open();
  await stopped;
  await queue.stop({ flushDeadlineMs: 1_000 });
  return { series, heapBytesPerSeries: heap / series, cpuNsPerSample: ((cpu.user + cpu.system) * 1000) / samples };
}

function format(n: number | undefined, digits = 0): string {
  return n === undefined ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const o = options();
  const builds: { name: string; build: WorkerBuild }[] = [{ name: 'this build', build: current }];
  if (o.compare !== undefined) {
    const dir = resolve(o.compare);
    builds.push({ name: o.compare, build: (await import(pathToFileURL(join(dir, 'index.js')).href)) as WorkerBuild });
  }
  const bodies = [0, 1, 2, 3].map((v) => payloadText(o.payload, v));
  const receiver = await startReceiver();
  const figures = new Map<string, RunFigures[]>(builds.map((b) => [b.name, []]));
  try {
    for (let r = 0; r < o.repeats; r++) {
      // Turned each repeat, so neither build always runs first.
      const order = r % 2 === 0 ? builds : [...builds].reverse();
      for (const { name, build } of order) {
        const f = await run(build, { ...o, bodies, url: receiver.url });
        figures.get(name)?.push(f);
        process.stderr.write(`${name}: ${format(f.series)} series, ${format(f.heapBytesPerSeries)} B/series, ${format(f.cpuNsPerSample)} ns/sample\n`);
      }
    }
  } finally {
    receiver.child.kill();
  }
  const rows = builds.map(({ name }) => {
    const runs = figures.get(name) ?? [];
    return { name, heap: median(runs.map((f) => f.heapBytesPerSeries)), cpu: median(runs.map((f) => f.cpuNsPerSample)), series: runs[0]?.series };
  });
  const lines = [
    `${o.targets} ${o.payload === 'node' ? 'node-exporter' : 'kube-state-metrics-like'} targets, Remote-Write ${o.protocol === '2' ? '2.0' : '1.0'}, ${o.scrapes} scrapes measured, medians of ${o.repeats}:`,
    '',
    '| build | series | heap B/series | CPU ns/sample |',
    '|---|---:|---:|---:|',
    ...rows.map((row) => `| ${row.name} | ${format(row.series)} | ${format(row.heap)} | ${format(row.cpu)} |`),
  ];
  const [mine, other] = rows;
  if (mine !== undefined && other !== undefined && other.heap !== undefined && other.cpu !== undefined) {
    lines.push('', `this build ÷ ${other.name}: heap ${format((mine.heap ?? 0) / other.heap, 3)}, CPU ${format((mine.cpu ?? 0) / other.cpu, 3)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof UsageError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
