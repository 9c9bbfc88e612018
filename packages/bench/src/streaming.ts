/**
 * The assignment-streaming benchmark: the master's fleet (Fleet + FleetGrpcServer, streaming-master.ts) in a
 * process of its own, and N worker assignment clients (streaming-workers.ts) in one or more other processes, each
 * client on a TCP connection of its own, all on loopback. Prints a JSON summary, then markdown tables, to stdout;
 * progress to stderr.
 *
 *   pnpm build && pnpm --filter @promfleet/bench streaming [--quick] [flags]      (see `--help`; BENCHMARKS.md)
 *
 * Phases, in one fleet:
 * 1. start: the clients connect to a recovering master, the targets are set (the job synced), the allocator
 *    settles and every worker gets its snapshot: time to the last acknowledgement, CPU, memory, bytes.
 * 2. idle: the cost of N open streams (heartbeats, keepalive).
 * 3. new targets at a steady rate, then a burst: creation → the owning worker's onChange, per target (issue #4's
 *    streaming goal), with `Fleet.updateJobs` called directly, so the discovery throttle is not included.
 * 4. one worker joins, then one leaves (stream closed, grace period short): owner changes against the ideal, and
 *    the time until every handover is acknowledged.
 * After each phase, what the workers hold is checked: every target held by exactly one worker.
 *
 * `--tls on` secures the fleet link as production does: the master serves mutual TLS (its certificate, and a client
 * CA every client's certificate must be signed by), and every client presents a client certificate, one shared by
 * all (`--token` adds a bearer token); a throwaway PKI (`makePki`) is made for the invocation. `--tls compare`
 * runs plaintext and TLS fleets in turn, `--repeats` pairs of them, each pair's order the reverse of the last's
 * (plain, TLS, TLS, plain, …) so that drift in the machine's load falls on both alike, and reports their ratios and
 * what TLS costs per worker.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { FleetLinkOptions } from '@promfleet/master';
import { makePki, type Pki } from '@promfleet/testkit';
import type { MasterLinkOptions } from '@promfleet/worker';
import { ChildHandle } from './ipc.js';
import { procCpuSeconds, procMemory } from './measure.js';
import type { AddReport, MasterCommands, MasterReady, MasterWindow, WorkersCommands } from './streaming-protocol.js';
import {
  compareLinks,
  comparisonMarkdown,
  latencySummary,
  linkName,
  ownershipProblems,
  streamingMarkdown,
  type AddPhase,
  type LinkComparisonSummary,
  type LinkSetup,
  type MasterCost,
  type MembershipPhase,
  type StartPhase,
  type StreamingSummary,
} from './streaming-report.js';

interface Options {
  readonly workers: number;
  readonly targets: number;
  readonly workerProcesses: number;
  readonly churnRate: number;
  readonly churnSeconds: number;
  readonly tickMs: number;
  readonly burst: number;
  readonly graceMs: number;
  readonly idleSeconds: number;
  readonly jsonFile: string | undefined;
  readonly cpuProfileDir: string | undefined;
  /** `off`: plaintext; `on`: mutual TLS; `compare`: both, in pairs. */
  readonly tls: 'off' | 'on' | 'compare';
  /** A bearer token on every stream of the TLS runs, too. */
  readonly token: boolean;
  /** Pairs of runs with `--tls compare`. */
  readonly repeats: number;
}

const usage = `usage: pnpm --filter @promfleet/bench streaming [--quick] [flags]
  --quick               200 workers × 20,000 targets, 10 s of churn, a burst of 2,000
  --workers N           worker clients (default 1000)
  --targets N           targets set at start (default 100000)
  --worker-processes N  processes the clients are spread over, 1..8 (default 2)
  --churn-rate N        new targets a second in the steady phase (default 200)
  --churn-seconds N     length of the steady phase (default 20)
  --tick-ms N           one updateJobs call every N ms in the steady phase (default 100)
  --burst N             targets added at once in the burst phase (default 5000)
  --grace-ms N          the fleet's grace period for a worker whose stream closed (default 1000)
  --idle-seconds N      length of the idle window (default 5)
  --tls MODE            the fleet link: off (plaintext, the default), on (mutual TLS: a server certificate and client CA
                        on the master, one client certificate shared by every client), or compare (plaintext and TLS
                        runs in pairs, each pair in the reverse order of the last; prints their ratios)
  --token               with --tls on or compare: the TLS runs also carry a bearer token on every stream
  --repeats N           pairs of runs with --tls compare (default 2: plaintext, TLS, TLS, plaintext)
  --json FILE           also write the JSON summary to FILE
  --cpu-prof-dir DIR    write a V8 CPU profile of the master process into DIR (one file per run)`;

/** A flag value the benchmark cannot use. */
class StreamingUsageError extends Error {
  override readonly name = 'StreamingUsageError';
  readonly code = 'PROMFLEET_BENCH_USAGE';
}

function parseOptions(argv: readonly string[]): Options | undefined {
  const text = { type: 'string' } as const;
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean' },
      help: { type: 'boolean' },
      json: text,
      'cpu-prof-dir': text,
      workers: text,
      targets: text,
      'worker-processes': text,
      'churn-rate': text,
      'churn-seconds': text,
      'tick-ms': text,
      burst: text,
      'grace-ms': text,
      'idle-seconds': text,
      tls: text,
      token: { type: 'boolean' },
      repeats: text,
    },
    strict: true,
  });
  if (values.help === true) return undefined;
  const quick = values.quick === true;
  type Flag = Exclude<keyof typeof values, 'quick' | 'help' | 'json' | 'cpu-prof-dir' | 'tls' | 'token'>;
  const integer = (flag: Flag, fallback: number, range: { min: number; max: number }): number => {
    const given = values[flag];
    if (typeof given !== 'string') return fallback;
    const n = Number(given);
    if (given.trim() === '' || !Number.isInteger(n) || n < range.min || n > range.max) {
      throw new StreamingUsageError(`--${flag} ${JSON.stringify(given)}: expected an integer from ${range.min} to ${range.max}\n${usage}`);
    }
    return n;
  };
  const tls = values.tls ?? 'off';
  if (tls !== 'off' && tls !== 'on' && tls !== 'compare') throw new StreamingUsageError(`--tls ${JSON.stringify(tls)}: expected off, on or compare\n${usage}`);
  const token = values.token === true;
  if (token && tls === 'off') throw new StreamingUsageError(`--token needs --tls on or --tls compare\n${usage}`);
  return {
    tls,
    token,
    repeats: integer('repeats', 2, { min: 1, max: 10 }),
    workers: integer('workers', quick ? 200 : 1_000, { min: 2, max: 10_000 }),
    targets: integer('targets', quick ? 20_000 : 100_000, { min: 1, max: 2_000_000 }),
    workerProcesses: integer('worker-processes', 2, { min: 1, max: 8 }),
    churnRate: integer('churn-rate', 200, { min: 1, max: 100_000 }),
    churnSeconds: integer('churn-seconds', quick ? 10 : 20, { min: 1, max: 600 }),
    tickMs: integer('tick-ms', 100, { min: 1, max: 10_000 }),
    burst: integer('burst', quick ? 2_000 : 5_000, { min: 1, max: 1_000_000 }),
    graceMs: integer('grace-ms', 1_000, { min: 1, max: 60_000 }),
    idleSeconds: integer('idle-seconds', 5, { min: 1, max: 600 }),
    jsonFile: typeof values.json === 'string' ? values.json : undefined,
    cpuProfileDir: typeof values['cpu-prof-dir'] === 'string' ? values['cpu-prof-dir'] : undefined,
  };
}

function progress(message: string): void {
  process.stderr.write(`[streaming ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** The soft limit on open files of this process (children inherit it), from /proc/self/limits. */
async function openFilesLimit(): Promise<number | undefined> {
  try {
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(await readFile('/proc/self/limits', 'utf8'));
    if (match?.[1] === undefined) return undefined;
    return match[1] === 'unlimited' ? Infinity : Number(match[1]);
  } catch {
    return undefined;
  }
}

function cost(w: MasterWindow): MasterCost {
  return { cpuSeconds: w.cpuSeconds, bytesWritten: w.bytesWritten, snapshots: w.snapshots, deltas: w.deltas, ack: latencySummary(w.ackMs) };
}

function since(at: number | undefined, from: number | undefined): number | undefined {
  return at === undefined || from === undefined || at < from ? undefined : at - from;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Splits `ids` into `parts` contiguous slices of (almost) equal length. */
function slices(ids: readonly string[], parts: number): string[][] {
  const size = Math.ceil(ids.length / parts);
  return Array.from({ length: parts }, (_, i) => ids.slice(i * size, (i + 1) * size)).filter((s) => s.length > 0);
}

/** The processes of one run and what the phases need to know about them. */
interface Processes {
  readonly master: ChildHandle<MasterCommands>;
  readonly workers: readonly ChildHandle<WorkersCommands>[];
  readonly address: string;
  /** How the clients connect: undefined for plaintext. */
  readonly link: MasterLinkOptions | undefined;
  readonly problems: string[];
}

/** The workers' processes' CPU so far, summed; undefined where /proc cannot be read. */
async function workersCpuSeconds(fleet: Processes): Promise<number | undefined> {
  try {
    const each = await Promise.all(fleet.workers.map((w) => procCpuSeconds(w.pid)));
    return each.reduce((a, b) => a + b, 0);
  } catch {
    return undefined;
  }
}

function difference(end: number | undefined, start: number | undefined): number | undefined {
  return end === undefined || start === undefined ? undefined : end - start;
}

async function checkOwnership(fleet: Processes, targets: number, when: string): Promise<void> {
  const held = await Promise.all(fleet.workers.map((w) => w.call('held', null)));
  const problems = ownershipProblems({ held, targets, when });
  for (const p of problems) progress(`PROBLEM ${p}`);
  fleet.problems.push(...problems);
}

async function startPhase(fleet: Processes, options: Options, ids: readonly string[][]): Promise<StartPhase> {
  const { master, workers } = fleet;
  progress(`starting ${options.workers} clients in ${workers.length} processes`);
  const link = fleet.link === undefined ? {} : { link: fleet.link };
  await master.call('windowStart', null);
  const workersBeforeConnect = await workersCpuSeconds(fleet);
  const connectStarted = performance.now();
  await Promise.all(workers.map((w, i) => w.call('start', { address: fleet.address, ids: ids[i] ?? [], timeoutMs: 120_000, ...link })));
  const connectMs = performance.now() - connectStarted;
  const workersAfterConnect = await workersCpuSeconds(fleet);
  const connectWindow = await master.call('windowEnd', null);
  const streams = await master.call('streams', null);
  if (streams !== options.workers) throw new Error(`the master has ${streams} streams, expected ${options.workers}`);
  progress(`all welcomed in ${connectMs.toFixed(0)} ms (master CPU ${connectWindow.cpuSeconds.toFixed(2)} s); setting ${options.targets} targets`);
  await master.call('windowStart', null);
  const workersBeforeSet = await workersCpuSeconds(fleet);
  const set = await master.call('setTargets', null);
  const acked = await master.call('waitAcked', { workers: options.workers, timeoutMs: 180_000 });
  const window = await master.call('windowEnd', null);
  const workersAfterAcked = await workersCpuSeconds(fleet);
  const takes = await Promise.all(workers.map((w) => w.call('take', null)));
  const applied = takes.flatMap((t) => t.snapshotsAtMs.map((at) => at - set.atMs));
  await checkOwnership(fleet, acked.targets, 'after start');
  const workerProcessRssBytes = await Promise.all(workers.map(async (w) => (await procMemory(w.pid)).rssBytes));
  const phase: StartPhase = {
    workers: options.workers,
    targets: acked.targets,
    connectMs,
    connect: {
      masterCpuSeconds: connectWindow.cpuSeconds,
      workersCpuSeconds: difference(workersAfterConnect, workersBeforeConnect),
      masterBytesWritten: connectWindow.bytesWritten,
      masterRssBytes: connectWindow.rssBytes,
      refused: connectWindow.refused,
    },
    settleMs: since(window.settledAtMs, set.atMs),
    allAckedMs: since(acked.lastAckAtMs, set.atMs),
    applied: latencySummary(applied),
    master: cost(window),
    workersCpuSeconds: difference(workersAfterAcked, workersBeforeSet),
    rssBytes: window.rssBytes,
    workerProcessRssBytes,
  };
  progress(`every snapshot acknowledged ${phase.allAckedMs ?? '?'} ms after the targets were set`);
  return phase;
}

async function addPhase(fleet: Processes, options: { label: string; workers: number; add: () => Promise<AddReport> }): Promise<AddPhase> {
  const { master, workers } = fleet;
  progress(`${options.label}: adding targets`);
  await Promise.all(workers.map((w) => w.call('record', { on: true })));
  await master.call('windowStart', null);
  const report = await options.add();
  const acked = await master.call('waitAcked', { workers: options.workers, timeoutMs: 120_000 });
  const window = await master.call('windowEnd', null);
  await Promise.all(workers.map((w) => w.call('record', { on: false })));
  const takes = await Promise.all(workers.map((w) => w.call('take', null)));
  const latency = latencySummary(takes.flatMap((t) => t.latenciesMs));
  await checkOwnership(fleet, acked.targets, `after ${options.label}`);
  progress(`${options.label}: ${latency.count} of ${report.added} received, p50 ${latency.p50Ms ?? '?'} ms, p99 ${latency.p99Ms ?? '?'} ms, max ${latency.maxMs ?? '?'} ms`);
  return {
    label: options.label,
    added: report.added,
    latency,
    buildMs: latencySummary(report.buildMs),
    updateMs: latencySummary(report.updateMs),
    updates: report.updateMs.length,
    allAckedMs: since(acked.lastAckAtMs, report.lastCreatedAtMs),
    master: cost(window),
  };
}

function movedTotal(w: MasterWindow): number {
  return Object.values(w.moved).reduce((a, b) => a + b, 0);
}

async function joinPhase(fleet: Processes, options: { workers: number }): Promise<MembershipPhase> {
  const { master, workers } = fleet;
  const joiner = workers[0];
  if (joiner === undefined) throw new Error('no workers process');
  progress('one worker joins');
  await master.call('windowStart', null);
  await joiner.call('start', { address: fleet.address, ids: ['worker-joiner'], timeoutMs: 60_000, ...(fleet.link === undefined ? {} : { link: fleet.link }) });
  const acked = await master.call('waitAcked', { workers: options.workers + 1, timeoutMs: 60_000 });
  const window = await master.call('windowEnd', null);
  await checkOwnership(fleet, acked.targets, 'after a worker joined');
  const phase: MembershipPhase = {
    label: `join (${options.workers} → ${options.workers + 1})`,
    moved: movedTotal(window),
    idealMoved: Math.round(acked.targets / (options.workers + 1)),
    graceWaitMs: undefined,
    allAckedMs: since(acked.lastAckAtMs, window.firstMoveAtMs),
    master: cost(window),
  };
  progress(`join: ${phase.moved} moved (ideal ${phase.idealMoved}), acknowledged in ${phase.allAckedMs ?? '?'} ms`);
  return phase;
}

async function leavePhase(fleet: Processes, options: { workers: number; leaver: string; process: ChildHandle<WorkersCommands> }): Promise<MembershipPhase> {
  const { master } = fleet;
  progress(`one worker leaves (${options.leaver})`);
  await master.call('windowStart', null);
  const stopped = await options.process.call('stop', { id: options.leaver });
  const acked = await master.call('waitAcked', { workers: options.workers, timeoutMs: 60_000 });
  const window = await master.call('windowEnd', null);
  await checkOwnership(fleet, acked.targets, 'after a worker left');
  const phase: MembershipPhase = {
    label: `leave (${options.workers + 1} → ${options.workers})`,
    moved: movedTotal(window),
    idealMoved: stopped.held,
    graceWaitMs: since(window.memberLeftAtMs, stopped.atMs),
    allAckedMs: since(acked.lastAckAtMs, window.memberLeftAtMs),
    master: cost(window),
  };
  progress(`leave: ${phase.moved} moved (ideal ${phase.idealMoved}), acknowledged ${phase.allAckedMs ?? '?'} ms after the grace period`);
  return phase;
}

/** A run's fleet link: what the summary says, and the master's and the clients' options. */
interface RunLink {
  readonly setup: LinkSetup;
  readonly master: FleetLinkOptions;
  readonly workers: MasterLinkOptions | undefined;
}

const plaintext: RunLink = { setup: { mutualTls: false, token: false }, master: {}, workers: undefined };

/**
 * Mutual TLS from `pki`: the master's certificate (`master.test`) and the CA as client CA; every client trusts the
 * CA and presents the `worker-1` certificate. With `token`, a token file in the PKI's directory too.
 */
async function tlsLink(pki: Pki, token: boolean): Promise<RunLink> {
  let tokenFile: string | undefined;
  if (token) {
    tokenFile = join(pki.dir, 'fleet-token');
    await writeFile(tokenFile, `bench-${Math.random().toString(36).slice(2)}\n`, { mode: 0o600 });
  }
  const tokenOption = tokenFile === undefined ? {} : { tokenFile };
  return {
    setup: { mutualTls: true, token },
    master: { tls: { certFile: pki.master.certFile, keyFile: pki.master.keyFile, clientCaFile: pki.caFile }, ...tokenOption },
    // The clients dial 127.0.0.1 and verify the name `master.test` (--master.tls.server-name), as a worker dialling
    // the master's Service by name verifies it; it is also the SNI, which an IP address cannot be.
    workers: { tls: { caFile: pki.caFile, certFile: pki.worker1.certFile, keyFile: pki.worker1.keyFile, serverName: 'master.test' }, ...tokenOption },
  };
}

async function run(options: Options, command: string, link: RunLink): Promise<StreamingSummary> {
  const started = Date.now();
  const loadAtStart = loadavg()[0] ?? 0;
  progress(`run with the fleet link ${linkName(link.setup)}`);
  const processes = Math.min(options.workerProcesses, options.workers);
  const limit = await openFilesLimit();
  const perProcess = Math.ceil(options.workers / processes) + 1;
  // Each client holds one socket; the master one per client. Leave room for everything else a process opens.
  if (limit !== undefined && limit < perProcess + 256) {
    throw new Error(`the open-files limit (${limit}, ulimit -n) is too low for ${perProcess} connections in one process: raise it or pass more --worker-processes`);
  }
  const master = ChildHandle.fork<MasterCommands>({
    module: new URL('./streaming-master.js', import.meta.url),
    name: 'streaming-master',
    args: [String(options.graceMs), JSON.stringify(link.master)],
    execArgv: options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`],
  });
  const workers: ChildHandle<WorkersCommands>[] = [];
  try {
    const ready = (await master.event('ready', 30_000)) as MasterReady;
    progress(`master at 127.0.0.1:${ready.port}; building ${options.targets} targets`);
    const prepared = await master.call('prepare', { targets: options.targets });
    progress(`built in ${prepared.buildMs.toFixed(0)} ms`);
    for (let i = 0; i < processes; i++) {
      workers.push(ChildHandle.fork<WorkersCommands>({ module: new URL('./streaming-workers.js', import.meta.url), name: `streaming-workers-${i}`, args: [] }));
    }
    await Promise.all(workers.map((w) => w.event('ready', 30_000)));
    const fleet: Processes = { master, workers, address: `127.0.0.1:${ready.port}`, link: link.workers, problems: [] };
    const ids = Array.from({ length: options.workers }, (_, i) => `worker-${String(i).padStart(4, '0')}`);
    const byProcess = slices(ids, processes);

    const start = await startPhase(fleet, options, byProcess);

    progress(`idle for ${options.idleSeconds} s`);
    await master.call('windowStart', null);
    const workersBeforeIdle = await workersCpuSeconds(fleet);
    await sleep(options.idleSeconds * 1000);
    const idleWindow = await master.call('windowEnd', null);
    const workersAfterIdle = await workersCpuSeconds(fleet);

    const adds = [
      await addPhase(fleet, {
        label: `steady ${options.churnRate}/s for ${options.churnSeconds} s`,
        workers: options.workers,
        add: () => master.call('churn', { ratePerSecond: options.churnRate, seconds: options.churnSeconds, tickMs: options.tickMs }),
      }),
      await addPhase(fleet, { label: `burst of ${options.burst}`, workers: options.workers, add: () => master.call('burst', { count: options.burst }) }),
    ];

    const join = await joinPhase(fleet, { workers: options.workers });
    const leaverProcess = workers[workers.length - 1];
    const leaver = byProcess[byProcess.length - 1]?.[0];
    if (leaverProcess === undefined || leaver === undefined) throw new Error('no worker to leave');
    const leave = await leavePhase(fleet, { workers: options.workers, leaver, process: leaverProcess });

    const cpu = cpus();
    return {
      machine: { cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', memoryBytes: totalmem(), node: process.version },
      command,
      startedAt: new Date(started).toISOString(),
      wallSeconds: (Date.now() - started) / 1000,
      loadAverage: { atStart: loadAtStart, atEnd: loadavg()[0] ?? 0 },
      link: link.setup,
      workerProcesses: processes,
      graceMs: options.graceMs,
      start,
      idle: {
        seconds: options.idleSeconds,
        cpuSeconds: idleWindow.cpuSeconds,
        bytesWritten: idleWindow.bytesWritten,
        workersCpuSeconds: difference(workersAfterIdle, workersBeforeIdle),
      },
      adds,
      membership: [join, leave],
      problems: fleet.problems,
    };
  } finally {
    await Promise.all([...workers.map((w) => w.stop(5_000)), master.stop(5_000)]);
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let options: Options | undefined;
  try {
    options = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  if (options === undefined) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const command = `node dist/streaming.js ${argv.join(' ')}`.trim();
  if (options.tls === 'off') {
    const summary = await run(options, command, plaintext);
    return report(options, { summary, markdown: streamingMarkdown(summary), problems: summary.problems.length });
  }
  const pki = makePki();
  try {
    const secured = await tlsLink(pki, options.token);
    if (options.tls === 'on') {
      const summary = await run(options, command, secured);
      return await report(options, { summary, markdown: streamingMarkdown(summary), problems: summary.problems.length });
    }
    const started = Date.now();
    const runs: StreamingSummary[] = [];
    for (let pair = 0; pair < options.repeats; pair++) {
      // Each pair in the reverse order of the last (plain, TLS, TLS, plain, …): a drift in the machine's load
      // then falls on both links alike.
      const order = pair % 2 === 0 ? [plaintext, secured] : [secured, plaintext];
      for (const link of order) runs.push(await run(options, command, link));
    }
    const summary: LinkComparisonSummary = {
      command,
      startedAt: new Date(started).toISOString(),
      wallSeconds: (Date.now() - started) / 1000,
      comparison: compareLinks(runs),
      runs,
    };
    return await report(options, { summary, markdown: comparisonMarkdown(summary), problems: runs.reduce((n, r) => n + r.problems.length, 0) });
  } finally {
    pki.remove();
  }
}

/** Prints the JSON summary and the markdown (and writes the JSON to --json's file); the exit code. */
async function report(options: Options, output: { summary: unknown; markdown: string; problems: number }): Promise<number> {
  const { summary, markdown, problems } = output;
  const json = JSON.stringify(summary, null, 2);
  process.stdout.write(`${json}\n\n${markdown}`);
  if (options.jsonFile !== undefined) await writeFile(options.jsonFile, `${json}\n`);
  return problems === 0 ? 0 : 1;
}

process.exitCode = await main();
