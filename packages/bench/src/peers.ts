/**
 * The worker benchmark: promfleet (one master and one worker, `packages/bench/peers-promfleet.sh`) beside vmagent
 * and Prometheus in agent mode, each scraping the same nginx target farm and remote-writing to the same kind of
 * receiver, through the shared harness `../shared/bench/peer-scrape.sh` (README there). The harness measures CPU
 * and RSS over the collector's whole process session and confirms every sample at the receiver; this driver runs it
 * for every collector and scale, interleaved, reads `/proc` for promfleet's worker and master apart, and prints the
 * medians and the ratios of promfleet to the peers measured in this invocation.
 *
 *   pnpm build && pnpm --filter @promfleet/bench peers [--repeats N] [--scales s1,s2] [--collectors ...]
 *
 * promfleet variants: `promfleet-rw2` sends Remote-Write 2.0 (`protobuf_message: io.prometheus.write.v2.Request`)
 * through `rw2-bridge.ts`, which forwards the same samples as 1.0 to the harness's receiver (VictoriaMetrics 1.79
 * takes no 2.0), so that delivery is counted at the receiver as for every collector; `promfleet-nometa` sends
 * Remote-Write 1.0 without the metadata requests (`metadata_config: {send: false}`).
 *
 * Scales (the issue's): s1 = 200 targets × 927 node-exporter series @ 5 s; s2 = 50 × 10,000 kube-state-metrics-like
 * series @ 5 s; s3 = 600 × 927 node-exporter series @ 15 s. One run takes 2–5 minutes (warm-up, a 60 or 90 s window,
 * drain, queries); the default, 2 repeats of 3 collectors at the 3 scales, takes ~1 hour (printed at start). Raw
 * results go to a JSON-lines file outside the repository (`--results`); the tables, the issue's goals checked, and a
 * plot of CPU per sample and bytes per series (`--plot`, else beside the results) come at the end, or from
 * `--report FILE`.
 *
 * `--idle` measures instead the RSS of an idle worker: connected to a master that has no targets, 10 s after start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SHARED_BENCH_DIR, median, procCpuSeconds, procMemory } from './measure.js';
import { peersChart, peersMarkdown, workerScrapeCounts, type HarnessRun, type ProcessSplit, type WorkerScrapeCounts } from './peers-report.js';
import { estimateSeconds, scaleArgs, scaleNames, scales, type Scale, type ScaleName } from './peers-plan.js';
import { renderBarChart } from './plot-svg.js';

const here = dirname(fileURLToPath(import.meta.url));
const wrapper = resolve(here, '..', 'peers-promfleet.sh');
const bridgeScript = join(here, 'rw2-bridge-run.js');
/** Where `promfleet-rw2`'s worker sends, and where the bridge forwards: the harness's receiver (its default address). */
const BRIDGE_LISTEN = '127.0.0.1:18432';
const HARNESS_RECEIVER_URL = 'http://127.0.0.1:18428/api/v1/write';
/** Where the harness tells the collector to serve its /metrics (its default `--listen`): the worker's web address. */
const HARNESS_LISTEN = '127.0.0.1:18429';

const collectorNames = ['promfleet', 'promfleet-rw2', 'promfleet-nometa', 'vmagent', 'prom-agent'] as const;
type CollectorName = (typeof collectorNames)[number];
const promfleetNames: readonly string[] = ['promfleet', 'promfleet-rw2', 'promfleet-nometa'];
const defaultCollectors: readonly CollectorName[] = ['promfleet', 'vmagent', 'prom-agent'];

/** promfleet as measured, and its variants: the lines added to its remote_write entry, and whether it needs the bridge. */
const promfleetVariants: Readonly<Partial<Record<CollectorName, { readonly keys: string; readonly bridge: boolean }>>> = {
  promfleet: { keys: '', bridge: false },
  'promfleet-rw2': { keys: '    protobuf_message: io.prometheus.write.v2.Request', bridge: true },
  'promfleet-nometa': { keys: '    metadata_config:\n      send: false', bridge: false },
};

const usage = `usage: pnpm --filter @promfleet/bench peers [flags]
  --repeats N            runs of every collector at every scale, interleaved (default 2)
  --scales LIST          s1 (200 × 927 node @ 5s), s2 (50 × 10k ksm @ 5s), s3 (600 × 927 node @ 15s); default all
  --collectors LIST      promfleet, promfleet-rw2 (Remote-Write 2.0 through rw2-bridge), promfleet-nometa (1.0
                         without metadata), vmagent, prom-agent (default promfleet, vmagent, prom-agent)
  --harness DIR          the shared harness (default ../shared/bench, beside the repository)
  --results FILE         JSON lines of the harness's results (default /tmp/promfleet-bench/peers-<time>.jsonl);
                         promfleet's per-process split goes to FILE.split.jsonl
  --quiet-wait S         seconds the harness waits for a quiet host before each run (default 45)
  --warmup S             seconds from the collector's start to the window, instead of the scale's (s1 30, s2 60, s3 60)
  --worker-node-flags=F  Node flags for the worker, e.g. --worker-node-flags="--cpu-prof --cpu-prof-dir=/tmp/prof"
                         (with "=": a value that starts with "-" is otherwise read as a flag)
  --plot FILE            where to write the SVG plot of CPU per sample and bytes per series (default: the results
                         file with .svg; with --report, only when given). The docs' copy: docs/images/worker-peers.svg
  --report FILE          print the tables of an earlier results file (and its .split.jsonl), write --plot, and exit
  --idle                 instead: the RSS of an idle worker (a master with no targets), 10 s after its start, --repeats
                         times (the harness is not used)`;

/** A flag the benchmark does not know, or a value it cannot use. */
class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'PROMFLEET_BENCH_USAGE';
}

interface Options {
  readonly repeats: number;
  readonly scales: readonly ScaleName[];
  readonly collectors: readonly CollectorName[];
  readonly harness: string;
  readonly results: string;
  readonly quietWait: number;
  readonly warmup: number | undefined;
  readonly workerNodeFlags: string;
  readonly report: string | undefined;
  readonly plot: string | undefined;
  readonly idle: boolean;
}

function list<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').filter((s) => s !== '');
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) throw new UsageError(`${flag}: ${JSON.stringify(item)} is not one of ${allowed.join(', ')}\n${usage}`);
  }
  return items as T[];
}

function options(): Options {
  let parsed;
  try {
    parsed = parseArgs({
    options: {
      repeats: { type: 'string' },
      scales: { type: 'string' },
      collectors: { type: 'string' },
      harness: { type: 'string' },
      results: { type: 'string' },
      'quiet-wait': { type: 'string' },
      warmup: { type: 'string' },
      'worker-node-flags': { type: 'string' },
      report: { type: 'string' },
      plot: { type: 'string' },
      idle: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
  }
  const { values } = parsed;
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const repeats = Number(values.repeats ?? '2');
  if (!Number.isSafeInteger(repeats) || repeats < 1 || repeats > 10) throw new UsageError(`--repeats: want 1..10, got ${values.repeats}\n${usage}`);
  const quietWait = Number(values['quiet-wait'] ?? '45');
  if (!Number.isSafeInteger(quietWait) || quietWait < 0) throw new UsageError(`--quiet-wait: want whole seconds ≥ 0, got ${values['quiet-wait']}\n${usage}`);
  const warmup = values.warmup === undefined ? undefined : Number(values.warmup);
  if (warmup !== undefined && (!Number.isSafeInteger(warmup) || warmup < 1)) throw new UsageError(`--warmup: want whole seconds ≥ 1, got ${values.warmup}\n${usage}`);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  return {
    repeats,
    scales: list('--scales', values.scales ?? scaleNames.join(','), scaleNames),
    collectors: list('--collectors', values.collectors ?? defaultCollectors.join(','), collectorNames),
    harness: values.harness ?? SHARED_BENCH_DIR,
    results: values.results ?? `/tmp/promfleet-bench/peers-${stamp}.jsonl`,
    quietWait,
    warmup,
    workerNodeFlags: values['worker-node-flags'] ?? '',
    report: values.report,
    plot: values.plot,
    idle: values.idle === true,
  };
}

function progress(message: string): void {
  process.stderr.write(`[peers ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** The harness's flags for one collector. */
function collectorArgs(collector: CollectorName): string[] {
  if (promfleetVariants[collector] === undefined) return ['--collector', collector];
  return [
    '--collector', 'custom',
    '--name', collector,
    '--cmd', `bash ${wrapper}`,
    '--version', promfleetVersion(),
    '--scraped-metric', 'promfleet_worker_samples_scraped_total',
    '--sent-samples-metric', 'promfleet_remote_write_samples_total',
    '--sent-bytes-metric', 'promfleet_remote_write_bytes_total',
  ];
}

/** The CLI package's version and the Node version that runs it, for the results. */
function promfleetVersion(): string {
  const cli = JSON.parse(readFileSync(resolve(here, '..', '..', 'cli', 'package.json'), 'utf8')) as { version?: string };
  return `${cli.version ?? '?'} (node ${process.version})`;
}

interface ProcSample {
  readonly t: number;
  readonly workerCpu: number;
  readonly masterCpu: number;
  readonly workerRss: number;
  readonly masterRss: number;
  /** The Remote-Write 2.0 bridge's CPU seconds, when it runs. */
  readonly bridgeCpu: number | undefined;
}

/**
 * Samples promfleet's worker and master (and the bridge, `bridgePid`) once a second from `/proc`, once the wrapper
 * has written their PIDs into the run directory; stops when `done()` says so or the processes are gone.
 */
async function sampleProcesses(runDir: string, done: () => boolean, bridgePid: number | undefined): Promise<ProcSample[]> {
  const samples: ProcSample[] = [];
  let pids: { worker: number; master: number } | undefined;
  while (!done()) {
    if (pids === undefined && existsSync(join(runDir, 'worker.pid')) && existsSync(join(runDir, 'master.pid'))) {
      pids = { worker: Number(readFileSync(join(runDir, 'worker.pid'), 'utf8')), master: Number(readFileSync(join(runDir, 'master.pid'), 'utf8')) };
    }
    if (pids !== undefined) {
      try {
        const [workerCpu, masterCpu, worker, master, bridgeCpu] = await Promise.all([
          procCpuSeconds(pids.worker),
          procCpuSeconds(pids.master),
          procMemory(pids.worker),
          procMemory(pids.master),
          bridgePid === undefined ? undefined : procCpuSeconds(bridgePid),
        ]);
        samples.push({ t: Date.now() / 1000, workerCpu, masterCpu, workerRss: worker.rssBytes, masterRss: master.rssBytes, bridgeCpu });
      } catch {
        pids = undefined;
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return samples;
}

/** The value of `pick` at time `t`, interpolated between the samples around it. */
function at(samples: readonly ProcSample[], t: number, pick: (s: ProcSample) => number | undefined): number | undefined {
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as ProcSample;
    const b = samples[i] as ProcSample;
    const va = pick(a);
    const vb = pick(b);
    if (va === undefined || vb === undefined) return undefined;
    if (a.t <= t && t <= b.t) return va + ((vb - va) * (t - a.t)) / (b.t - a.t || 1);
  }
  return undefined;
}

/**
 * promfleet's processes over the harness's window. The harness logs "window done" right after its end snapshot and
 * a host-speed probe (150 parses of the node payload, whose time it records), so the window ends that long before
 * the log line arrived and spans the window length it records.
 */
function splitOf(run: HarnessRun, samples: readonly ProcSample[], doneAt: number): ProcessSplit | undefined {
  const probeSeconds = ((run.calib_after?.wall_ns ?? 0) * 927 * 150) / 1e9;
  const end = doneAt - probeSeconds;
  const start = end - run.window_wall_s;
  const w0 = at(samples, start, (s) => s.workerCpu);
  const w1 = at(samples, end, (s) => s.workerCpu);
  const m0 = at(samples, start, (s) => s.masterCpu);
  const m1 = at(samples, end, (s) => s.masterCpu);
  const b0 = at(samples, start, (s) => s.bridgeCpu);
  const b1 = at(samples, end, (s) => s.bridgeCpu);
  const inside = samples.filter((s) => s.t >= start && s.t <= end);
  const workerRss = median(inside.map((s) => s.workerRss));
  const masterRss = median(inside.map((s) => s.masterRss));
  if (w0 === undefined || w1 === undefined || m0 === undefined || m1 === undefined || workerRss === undefined || masterRss === undefined) return undefined;
  return {
    run_id: run.run_id,
    worker_cpu_s: w1 - w0,
    master_cpu_s: m1 - m0,
    worker_rss_steady_bytes: workerRss,
    master_rss_steady_bytes: masterRss,
    window_s: run.window_wall_s,
    ...(b0 === undefined || b1 === undefined ? {} : { bridge_cpu_s: b1 - b0 }),
  };
}

/** The worker's `promfleet_worker_scrapes_total` by result, from its /metrics; undefined when it does not answer. */
async function workerScrapes(): Promise<WorkerScrapeCounts | undefined> {
  try {
    const response = await fetch(`http://${HARNESS_LISTEN}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) return undefined;
    return workerScrapeCounts(await response.text());
  } catch {
    return undefined;
  }
}

function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/** Runs the harness once; resolves to the run's result and, for promfleet, its per-process split. */
async function runOnce(o: Options, job: { collector: CollectorName; scale: ScaleName; repeat: number }): Promise<{ run: HarnessRun; split: ProcessSplit | undefined } | undefined> {
  const scale: Scale = scales[job.scale];
  const args = [
    join(o.harness, 'peer-scrape.sh'),
    ...collectorArgs(job.collector),
    ...scaleArgs(scale),
    // The harness takes the last value of a flag given twice.
    ...(o.warmup === undefined ? [] : ['--warmup', String(o.warmup)]),
    '--first-rep', String(job.repeat),
    '--quiet-wait', String(o.quietWait),
    '--results', o.results,
  ];
  const variant = promfleetVariants[job.collector];
  const env = {
    ...process.env,
    PEERS_WORKER_NODE_FLAGS: o.workerNodeFlags,
    PEERS_REMOTE_WRITE_KEYS: variant?.keys ?? '',
    PEERS_REMOTE_WRITE_URL: variant?.bridge === true ? `http://${BRIDGE_LISTEN}/api/v1/write` : '',
  };
  const bridge = variant?.bridge === true ? await startBridgeProcess() : undefined;
  const child = spawn('bash', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let runId: string | undefined;
  let doneAt: number | undefined;
  let exited = false;
  let sampling: Promise<ProcSample[]> = Promise.resolve([]);
  let pending = '';
  // The worker's scrape counters at the end of the warm-up and after the window (read when the harness says so).
  let scrapesAtWarmup: Promise<WorkerScrapeCounts | undefined> = Promise.resolve(undefined);
  let scrapesAtEnd: Promise<WorkerScrapeCounts | undefined> = Promise.resolve(undefined);
  let warmupTimer: NodeJS.Timeout | undefined;
  child.stdout.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const started = /\[(\S+)\] start collector:/.exec(line);
      if (started?.[1] !== undefined && runId === undefined) {
        runId = started[1];
        if (variant !== undefined) {
          const done = (): boolean => exited || (doneAt !== undefined && Date.now() / 1000 > doneAt + 2);
          sampling = sampleProcesses(join('/tmp/bench/runs', runId), done, bridge?.process.pid);
          scrapesAtWarmup = new Promise((resolveRead) => {
            warmupTimer = setTimeout(() => resolveRead(workerScrapes()), (o.warmup ?? scale.warmup) * 1000);
          });
        }
      }
      if (/window done/.test(line)) {
        doneAt = Date.now() / 1000;
        if (variant !== undefined) scrapesAtEnd = workerScrapes();
      }
    }
  });
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
  exited = true;
  clearTimeout(warmupTimer);
  const samples = await sampling;
  const [before, after] = await Promise.all([scrapesAtWarmup, scrapesAtEnd]);
  if (bridge !== undefined) progress(`rw2-bridge: ${await bridge.stop()}`);
  const run = readJsonLines<HarnessRun>(o.results).find((r) => r.run_id === runId);
  if (code !== 0 || run === undefined) {
    progress(`run failed: ${job.collector} ${job.scale} repeat ${job.repeat} (exit ${String(code)}); see /tmp/bench/runs/${runId ?? '?'}`);
    return undefined;
  }
  const windowSplit = variant !== undefined && doneAt !== undefined ? splitOf(run, samples, doneAt) : undefined;
  const split =
    windowSplit === undefined || before === undefined || after === undefined
      ? windowSplit
      : { ...windowSplit, worker_scrapes_after_warmup: { success: after.success - before.success, failure: after.failure - before.failure } };
  if (split !== undefined) appendFileSync(`${o.results}.split.jsonl`, `${JSON.stringify(split)}\n`);
  return { run, split };
}

/** Starts `rw2-bridge-run.js` on {@link BRIDGE_LISTEN}, forwarding to the harness's receiver; `stop` gives its totals. */
async function startBridgeProcess(): Promise<{ readonly process: ChildProcess; stop(): Promise<string> }> {
  const child = spawn(process.execPath, [bridgeScript, '--listen', BRIDGE_LISTEN, '--forward', HARNESS_RECEIVER_URL], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  await new Promise<void>((resolveStarted, reject) => {
    child.stderr?.once('data', () => resolveStarted());
    child.once('exit', (code) => reject(new Error(`rw2-bridge exited (${String(code)}) before listening on ${BRIDGE_LISTEN}`)));
  });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  return {
    process: child,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      return out.trim();
    },
  };
}

/** Writes the plot of `runs` to `file` and says so. */
function writePlot(file: string, data: { runs: readonly HarnessRun[]; splits: readonly ProcessSplit[]; results: string }): void {
  const days = [...new Set(data.runs.map((r) => `${r.run_id.slice(0, 4)}-${r.run_id.slice(4, 6)}-${r.run_id.slice(6, 8)}`))].sort();
  const source = `${basename(data.results)}, ${days.length === 0 ? 'no runs' : days.length === 1 ? days[0] : `${days[0]} to ${days[days.length - 1]}`}`;
  writeFileSync(file, renderBarChart(peersChart({ runs: data.runs, splits: data.splits, promfleet: promfleetNames, source })));
  progress(`plot: ${file}`);
}

/** The seconds after the worker's start at which `--idle` reads its RSS. */
const IDLE_AFTER_S = 10;

/**
 * `--idle`: a master with no scrape jobs and one worker connected to it, through the same wrapper script as the
 * benchmark; the worker's and the master's RSS {@link IDLE_AFTER_S} s after the start, `repeats` times.
 */
async function idleWorker(repeats: number): Promise<number> {
  const workerRss: number[] = [];
  for (let i = 1; i <= repeats; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'promfleet-idle-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
    const wrapperProcess = spawn('bash', [wrapper], {
      env: { ...process.env, BENCH_PROM_CONFIG: config, BENCH_LISTEN_ADDR: HARNESS_LISTEN, BENCH_RUN_DIR: dir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    wrapperProcess.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise((r) => wrapperProcess.once('exit', r));
    try {
      await new Promise((r) => setTimeout(r, IDLE_AFTER_S * 1000));
      if (!existsSync(join(dir, 'worker.pid')) || wrapperProcess.exitCode !== null) {
        process.stderr.write(`the idle master and worker did not stay up (bash ${wrapper}):\n${stderr}\n`);
        return 1;
      }
      const connected = (await fetch(`http://${HARNESS_LISTEN}/metrics`, { signal: AbortSignal.timeout(5000) }).then((r) => r.text())).match(/^promfleet_worker_master_connected (\S+)$/m)?.[1];
      const [worker, master] = await Promise.all([
        procMemory(Number(readFileSync(join(dir, 'worker.pid'), 'utf8'))),
        procMemory(Number(readFileSync(join(dir, 'master.pid'), 'utf8'))),
      ]);
      workerRss.push(worker.rssBytes);
      process.stdout.write(
        `idle ${i}/${repeats}: worker RSS ${(worker.rssBytes / 1024 / 1024).toFixed(1)} MiB, master RSS ${(master.rssBytes / 1024 / 1024).toFixed(1)} MiB ` +
          `${IDLE_AFTER_S} s after start (worker connected to the master: ${connected === '1' ? 'yes' : 'no'})\n`,
      );
    } finally {
      wrapperProcess.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`idle worker RSS, median of ${repeats}: ${((median(workerRss) ?? 0) / 1024 / 1024).toFixed(1)} MiB\n`);
  return 0;
}

async function main(): Promise<number> {
  let o: Options;
  try {
    o = options();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  if (o.idle) return idleWorker(o.repeats);
  if (o.report !== undefined) {
    const runs = readJsonLines<HarnessRun>(o.report);
    const splits = readJsonLines<ProcessSplit>(`${o.report}.split.jsonl`);
    process.stdout.write(peersMarkdown({ runs, splits, promfleet: promfleetNames }));
    if (o.plot !== undefined) writePlot(o.plot, { runs, splits, results: o.report });
    return 0;
  }
  if (o.collectors.some((c) => promfleetVariants[c] !== undefined) && !existsSync(resolve(here, '..', '..', 'cli', 'dist', 'main.js'))) {
    throw new Error('packages/cli is not built: run `pnpm build` first');
  }
  mkdirSync(dirname(o.results), { recursive: true });
  const estimate = estimateSeconds({
    repeats: o.repeats,
    scales: o.scales.map((name) => scales[name]),
    collectors: o.collectors.length,
    warmup: o.warmup,
    quietWait: o.quietWait,
  });
  progress(
    `${o.repeats} repeat(s) × ${o.scales.join(', ')} × ${o.collectors.join(', ')}: about ${Math.round(estimate.typical / 60)} min, ` +
      `up to ${Math.round((estimate.typical + estimate.quietWaitMax) / 60)} min if the host is never quiet; results ${o.results}`,
  );
  const started = Date.now();
  const load = loadavg()[0] ?? 0;
  const runs: HarnessRun[] = [];
  const splits: ProcessSplit[] = [];
  for (let repeat = 1; repeat <= o.repeats; repeat++) {
    for (const scale of o.scales) {
      // Interleaved, and the order turns each repeat, so drifts in the host's load hit every collector alike.
      const order = o.collectors.map((_, i) => o.collectors[(i + repeat - 1) % o.collectors.length] as CollectorName);
      for (const collector of order) {
        progress(`${collector} ${scale} repeat ${repeat}/${o.repeats}`);
        const result = await runOnce(o, { collector, scale, repeat });
        if (result === undefined) continue;
        runs.push(result.run);
        if (result.split !== undefined) splits.push(result.split);
      }
    }
  }
  const loadAfter = loadavg()[0] ?? 0;
  process.stdout.write(
    `Worker benchmark: ${o.repeats} repeat(s) × ${o.scales.join(', ')} × ${o.collectors.join(', ')}, ${((Date.now() - started) / 60_000).toFixed(0)} min, ` +
      `load average ${load.toFixed(2)} before and ${loadAfter.toFixed(2)} after; results ${o.results}\n\n`,
  );
  process.stdout.write(peersMarkdown({ runs, splits, promfleet: promfleetNames }));
  writePlot(o.plot ?? o.results.replace(/(\.jsonl)?$/, '.svg'), { runs, splits, results: o.results });
  return runs.length === o.repeats * o.scales.length * o.collectors.length ? 0 : 1;
}

process.exitCode = await main();
