/**
 * One measured run of promfleet's master discovery: fork the master process against the running fake API server,
 * wait for the full target set, read its memory and the requests it made, optionally churn the cluster and take
 * the window's CPU and latencies, stop it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestCount } from '@promfleet/testkit';
import { ChildHandle } from './ipc.js';
import { changeLatencies } from './latency.js';
import { procCpuSeconds, procMemory, quantile, wallClockMs } from './measure.js';
import type { FakeCommands, JobTargets, MasterCommands, MasterSynced, MasterWindow } from './protocol.js';
import { trafficOf, watchDelta, type BenchEncoding, type TrafficFigures } from './traffic.js';
import { scrapeConfigText, type BenchRole } from './workload.js';

/** The user agent the measured master sends, by which the fake counts its requests. */
export const masterUserAgent = 'promfleet-master/bench';

/** p50 and p99 of a set of latencies, with how many there were. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
}

/** What a churn window measured. */
export interface ChurnResult {
  readonly eventsPerSecond: number;
  readonly seconds: number;
  /** Store writes the churner made (pods and EndpointSlices). */
  readonly storeWrites: number;
  readonly podWrites: number;
  /** Watch events the master received in the window (bookmarks apart). */
  readonly watchEvents: number;
  readonly bookmarks: number;
  readonly cpuMs: number;
  readonly cpuMsPer1000Events: number | undefined;
  /** Pod write in the fake → the pod's targets rebuilt in the master. */
  readonly rebuilt: LatencySummary;
  /** Pod write → the discovery manager's next notification of its consumer. */
  readonly notified: LatencySummary;
  /** The discovery observer's figure: first event of a batch → its groups handed on, inside the master. */
  readonly batch: LatencySummary;
  readonly unmatchedWrites: number;
}

/** One run's figures. */
export interface PromfleetRun {
  /** From forking the process to its `synced` message. */
  readonly spawnToFullSetMs: number;
  /** From the start of discovery to the full set, inside the process. */
  readonly fullSetMs: number;
  readonly cpuSecondsToFullSet: number;
  readonly targets: number;
  readonly jobs: readonly JobTargets[];
  /** Heap after GC while holding the full set, minus the heap after GC before discovery started. */
  readonly heapHeldBytes: number;
  readonly heapBytesPerPod: number | undefined;
  /** Memory a few seconds after the full set (before any churn). */
  readonly rssBytes: number;
  readonly peakRssBytes: number;
  /** The master's requests, counted by the fake: a few seconds after the full set, or after the churn window. */
  readonly requests: readonly RequestCount[];
  readonly churn: ChurnResult | undefined;
  /** The encoding the master asked the API server for. */
  readonly encoding: BenchEncoding;
  /** Bytes the fake sent the master: until a few seconds after the full set, and in the churn window. */
  readonly traffic: TrafficFigures;
}

/** Options of {@link runPromfleet}. */
export interface PromfleetRunOptions {
  readonly fake: ChildHandle<FakeCommands>;
  readonly apiServer: string;
  readonly roles: readonly BenchRole[];
  /** A directory for the configuration file. */
  readonly dir: string;
  readonly pods: number;
  readonly throttleMs: number;
  readonly timeoutMs: number;
  /** How long after the full set to read memory and requests. */
  readonly settleMs: number;
  /** Where to write a V8 CPU profile of the master process, or undefined for none. */
  readonly cpuProfileDir: string | undefined;
  /** Churn to measure under, or undefined for none. */
  readonly churn: { readonly eventsPerSecond: number; readonly seconds: number } | undefined;
  /** The encoding the master asks the API server for. */
  readonly encoding: BenchEncoding;
}

function summarize(values: readonly number[]): LatencySummary {
  return { count: values.length, p50Ms: quantile(values, 0.5), p99Ms: quantile(values, 0.99) };
}

/** Runs the master once; see the module comment. The master process is always stopped, also on failure. */
export async function runPromfleet(options: PromfleetRunOptions): Promise<PromfleetRun> {
  // Every run starts from the generated cluster, so runs (and encodings) can be compared target for target.
  await options.fake.call('resetCluster', null);
  await options.fake.call('resetRequests', null);
  const configFile = join(options.dir, `promfleet-${options.roles.length}-jobs.json`);
  await writeFile(configFile, scrapeConfigText({ apiServer: options.apiServer, roles: options.roles }));
  const started = wallClockMs();
  await using master = ChildHandle.fork<MasterCommands>({
    module: new URL('./master-process.js', import.meta.url),
    name: 'master',
    args: [configFile, masterUserAgent, String(options.throttleMs), options.encoding],
    // The default old-space limit (about 4 GiB on this machine) is not a promfleet setting; a master at this scale
    // would be deployed with a larger one, so the limit must not be what is measured.
    execArgv: [
      '--expose-gc',
      '--max-old-space-size=12288',
      ...(options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`]),
    ],
  });
  const synced = (await master.event('synced', options.timeoutMs)) as MasterSynced;
  const spawnToFullSetMs = wallClockMs() - started;
  const cpuSecondsToFullSet = await procCpuSeconds(master.pid);
  // As for vmagent: memory and requests a few seconds after the full set, once the watches that follow the lists
  // have been opened (a master busy building targets opens them late).
  await sleep(options.settleMs);
  const memory = await procMemory(master.pid);
  const heapHeldBytes = synced.heldHeapBytes - synced.baselineHeapBytes;

  const { churn, traffic } = await churnWithTraffic(options, master);
  const requests = (await options.fake.call('requests', null)).filter((r) => r.userAgent === masterUserAgent);
  return {
    spawnToFullSetMs,
    fullSetMs: synced.fullSetMs,
    cpuSecondsToFullSet,
    targets: synced.jobs.reduce((sum, j) => sum + j.targets, 0),
    jobs: synced.jobs,
    heapHeldBytes,
    heapBytesPerPod: options.pods > 0 ? heapHeldBytes / options.pods : undefined,
    rssBytes: memory.rssBytes,
    peakRssBytes: memory.peakRssBytes,
    requests,
    churn,
    encoding: options.encoding,
    traffic,
  };
}

const isMaster = (userAgent: string): boolean => userAgent === masterUserAgent;

/** The churn window (when asked for), with the master's start-up traffic read before it and its watch traffic in it. */
async function churnWithTraffic(
  options: PromfleetRunOptions,
  master: ChildHandle<MasterCommands>,
): Promise<{ readonly churn: ChurnResult | undefined; readonly traffic: TrafficFigures }> {
  const startup = await trafficOf(options.fake, isMaster);
  if (options.churn === undefined) return { churn: undefined, traffic: { startup, churn: undefined } };
  const churn = await churnWindow(options.fake, master, { ...options.churn, throttleMs: options.throttleMs });
  return { churn, traffic: { startup, churn: watchDelta(startup, await trafficOf(options.fake, isMaster)) } };
}

async function churnWindow(
  fake: ChildHandle<FakeCommands>,
  master: ChildHandle<MasterCommands>,
  options: { readonly eventsPerSecond: number; readonly seconds: number; readonly throttleMs: number },
): Promise<ChurnResult> {
  await master.call('windowStart', null);
  const { stats, podWrites } = await fake.call('churn', { eventsPerSecond: options.eventsPerSecond, durationMs: options.seconds * 1000 });
  // The last writes reach the targets within two throttle periods (discovery's, then the manager's) plus transit.
  await sleep(2 * options.throttleMs + 1_000);
  const window: MasterWindow = await master.call('windowEnd', null);
  const latencies = changeLatencies({ writes: podWrites, rebuilds: window.podGroupUpdates, notifiedAtMs: window.consumerNotifiedAtMs });
  const cpuMs = window.cpuUserMs + window.cpuSystemMs;
  return {
    eventsPerSecond: options.eventsPerSecond,
    seconds: options.seconds,
    storeWrites: stats.events,
    podWrites: podWrites.length,
    watchEvents: window.watchEvents,
    bookmarks: window.bookmarks,
    cpuMs,
    cpuMsPer1000Events: window.watchEvents > 0 ? (cpuMs / window.watchEvents) * 1000 : undefined,
    rebuilt: summarize(latencies.rebuiltMs),
    notified: summarize(latencies.notifiedMs),
    batch: summarize(window.batchSeconds.map((s) => s * 1000)),
    unmatchedWrites: latencies.unmatched,
  };
}
