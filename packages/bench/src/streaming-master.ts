/**
 * The streaming benchmark's measured process: the master's fleet — `Fleet` and `FleetGrpcServer` on loopback, as
 * `startMaster` wires them — with no discovery: the driver's commands stand in for the discovery manager and call
 * `Fleet.updateJobs` directly (so the 1 s discovery throttle is not in any figure; BENCHMARKS.md adds it).
 *
 * One job, `kubernetes-pods`, with pod-like targets (namespace, pod, node, app, container). The base targets are
 * built before anything is measured; targets added later carry their creation time in the {@link createdLabel}
 * label, stamped before they are built, so the workers can tell how long each took to arrive.
 *
 * The fleet link is secured as `startMaster` secures it (`loadFleetLink`: TLS credentials from files, client
 * certificate and token admission), from the `FleetLinkOptions` given as JSON; `{}` is the plaintext link. The
 * connection-rate limit is off in every mode, so that the connect figures are the link's own.
 *
 * Usage (forked by streaming.ts): `node streaming-master.js <grace-ms> [<fleet-link-options-json>]`.
 */
import { readFile } from 'node:fs/promises';
import { Fleet, FleetGrpcServer, loadFleetLink, type FleetLinkOptions, type FleetObserver, type JobTargets } from '@promfleet/master';
import { buildTarget, parseConfig, type ScrapeConfig, type Target, type TargetId } from '@promfleet/model';
import { scrapeJobToProto } from '@promfleet/protocol';
import { emitToParent, serveParent, type Handlers } from './ipc.js';
import { createdLabel, type AddReport, type MasterCommands, type MasterReady, type MasterWindow } from './streaming-protocol.js';

const jobName = 'kubernetes-pods';

function loadJob(): ScrapeConfig {
  const parsed = parseConfig(`scrape_configs:\n  - job_name: ${jobName}\n    scrape_interval: 15s\n`, { file: 'streaming.yml' });
  if (!parsed.ok) throw new Error('the benchmark configuration does not parse');
  const job = parsed.config.scrapeConfigs[0];
  if (job === undefined) throw new Error('the benchmark configuration has no job');
  return job;
}

/** Target `i`: a pod's metrics port, with the labels the usual kubernetes-pods relabeling leaves. */
function makeTarget(options: { job: ScrapeConfig; i: number; createdMs?: number }): Target {
  const { i } = options;
  const labels = new Map([
    ['__address__', `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:9100`],
    ['namespace', `namespace-${i % 600}`],
    ['pod', `app-${i % 600}-7d9c6b5f4-${i.toString(36).padStart(5, '0')}`],
    ['node', `node-${i % 5_000}`],
    ['app', `app-${i % 600}`],
    ['container', 'main'],
  ]);
  if (options.createdMs !== undefined) labels.set(createdLabel, String(options.createdMs));
  const result = buildTarget(options.job, labels, new Map());
  if (result.kind !== 'kept') throw new Error(`target ${i} was not kept: ${result.kind}`);
  return result.target;
}

/** Bytes written with write(2) so far (`wchar` of /proc/self/io), or undefined where /proc has no such file. */
async function bytesWritten(): Promise<number | undefined> {
  try {
    const match = /^wchar:\s+(\d+)$/m.exec(await readFile('/proc/self/io', 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** What the fleet reported during the current window. */
class Recorder {
  snapshots = 0;
  deltas = 0;
  ackMs: number[] = [];
  moved: Record<string, number> = {};
  firstMoveAtMs: number | undefined;
  settledAtMs: number | undefined;
  memberLeftAtMs: number | undefined;
  refused = 0;
  /** Not reset by windows: the quiescence check reports the last acknowledgement ever. */
  lastAckAtMs: number | undefined;

  reset(): void {
    this.snapshots = 0;
    this.deltas = 0;
    this.ackMs = [];
    this.moved = {};
    this.firstMoveAtMs = undefined;
    this.settledAtMs = undefined;
    this.memberLeftAtMs = undefined;
    this.refused = 0;
  }

  readonly observer: FleetObserver = {
    sent: (kind, count) => {
      if (kind === 'snapshot') this.snapshots += count;
      else this.deltas += count;
    },
    acked: (seconds) => {
      this.lastAckAtMs = Date.now();
      this.ackMs.push(seconds * 1000);
    },
    moved: (reason, count) => {
      this.firstMoveAtMs ??= Date.now();
      this.moved[reason] = (this.moved[reason] ?? 0) + count;
    },
    settled: () => {
      this.settledAtMs = Date.now();
    },
    memberLeft: () => {
      this.memberLeftAtMs = Date.now();
    },
    refused: () => {
      this.refused++;
    },
  };
}

async function main(): Promise<void> {
  const graceMs = Number(process.argv[2] ?? '1000');
  const linkOptions = JSON.parse(process.argv[3] ?? '{}') as FleetLinkOptions;
  const job = loadJob();
  const recorder = new Recorder();
  const fleet = new Fleet({
    masterId: 'bench-master',
    softwareVersion: 'bench',
    graceMs,
    startupGraceMs: graceMs,
    // Settle only once the driver has set the targets (the job counts as synced from then on).
    startupWaitMs: 3_600_000,
    // Every target costs the default 1 and no worker reports health: rebalancing would find nothing to do.
    rebalanceIntervalMs: 3_600_000,
    observer: recorder.observer,
  });
  fleet.configure({ jobs: [scrapeJobToProto(job)], remoteWrite: [] });
  const linkController = new AbortController();
  const link = await loadFleetLink(
    { ...linkOptions, maxConnectionRatePerSecond: 0 },
    {
      signal: linkController.signal,
      onRefresh: (what, outcome) => {
        if ('error' in outcome) process.stderr.write(`streaming-master: cannot reload the fleet link's ${what} files\n`);
      },
    },
  );
  const server = new FleetGrpcServer({
    fleet,
    observer: recorder.observer,
    admission: link.admission,
    connectionRate: link.connectionRate,
    ...(link.credentials === undefined ? {} : { credentials: link.credentials }),
  });
  const port = await server.listen('127.0.0.1:0');
  fleet.start();

  const targets = new Map<TargetId, Target>();
  let next = 0;
  /** Targets added since the last update, as the discovery manager reports them (the bench never removes any). */
  const added = new Set<TargetId>();
  const jobTargets = (): JobTargets => ({ job, targets, discovered: targets.size, dropped: 0, invalid: 0, synced: true, added, removed: new Set() });
  let base: Target[] = [];

  /** Builds `count` new targets stamped with the time now, then hands the whole job to the fleet. */
  const add = (count: number, report: { lastCreatedAtMs: number; buildMs: number[]; updateMs: number[] }): void => {
    const createdMs = Date.now();
    report.lastCreatedAtMs = createdMs;
    const started = performance.now();
    for (let k = 0; k < count; k++, next++) {
      const target = makeTarget({ job, i: next, createdMs });
      targets.set(target.id, target);
      added.add(target.id);
    }
    const built = performance.now();
    fleet.updateJobs([jobTargets()]);
    added.clear();
    report.buildMs.push(built - started);
    report.updateMs.push(performance.now() - built);
  };

  let window: { cpu: NodeJS.CpuUsage; written: number | undefined } | undefined;
  const handlers: Handlers<MasterCommands> = {
    prepare: ({ targets: count }) => {
      const started = performance.now();
      base = [];
      for (let k = 0; k < count; k++, next++) base.push(makeTarget({ job, i: next }));
      return Promise.resolve({ buildMs: performance.now() - started });
    },
    streams: () => Promise.resolve(fleet.streams()),
    windowStart: async () => {
      recorder.reset();
      window = { cpu: process.cpuUsage(), written: await bytesWritten() };
      return null;
    },
    windowEnd: async () => {
      if (window === undefined) throw new Error('windowEnd without windowStart');
      const cpu = process.cpuUsage(window.cpu);
      const written = await bytesWritten();
      const result: MasterWindow = {
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        rssBytes: process.memoryUsage().rss,
        bytesWritten: written === undefined || window.written === undefined ? undefined : written - window.written,
        snapshots: recorder.snapshots,
        deltas: recorder.deltas,
        ackMs: recorder.ackMs,
        moved: recorder.moved,
        firstMoveAtMs: recorder.firstMoveAtMs,
        settledAtMs: recorder.settledAtMs,
        memberLeftAtMs: recorder.memberLeftAtMs,
        refused: recorder.refused,
      };
      window = undefined;
      return result;
    },
    setTargets: () => {
      for (const target of base) {
        targets.set(target.id, target);
        added.add(target.id);
      }
      base = [];
      const atMs = Date.now();
      fleet.updateJobs([jobTargets()]);
      added.clear();
      return Promise.resolve({ atMs });
    },
    waitAcked: async ({ workers, timeoutMs }) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        // Polled, not observed: a pending flush (setImmediate) or a grace timer may still change the picture.
        await new Promise((resolve) => setTimeout(resolve, 20));
        const members = fleet.workers();
        const quiet =
          fleet.ready() &&
          members.length === workers &&
          members.every((m) => m.state === 'connected' && m.generation > 0 && m.generation === m.ackedGeneration) &&
          fleet.unassigned() === 0;
        if (quiet) return { lastAckAtMs: recorder.lastAckAtMs, workers: members.length, targets: targets.size, unassigned: 0 };
        if (performance.now() > deadline) {
          const behind = members.filter((m) => m.state !== 'connected' || m.generation !== m.ackedGeneration).length;
          throw new Error(`not quiescent after ${timeoutMs} ms: ${members.length} of ${workers} members, ${behind} not connected or behind on acks, ${fleet.unassigned()} targets unassigned`);
        }
      }
    },
    churn: ({ ratePerSecond, seconds, tickMs }) => {
      const report = { added: 0, lastCreatedAtMs: 0, buildMs: [] as number[], updateMs: [] as number[] };
      const total = Math.round(ratePerSecond * seconds);
      const started = performance.now();
      return new Promise<AddReport>((resolve) => {
        // Each tick adds what is due by now, so a late timer does not lower the rate.
        const timer = setInterval(() => {
          const due = Math.min(total, Math.floor(((performance.now() - started) * ratePerSecond) / 1000));
          if (due > report.added) {
            add(due - report.added, report);
            report.added = due;
          }
          if (report.added >= total) {
            clearInterval(timer);
            resolve(report);
          }
        }, tickMs);
      });
    },
    burst: ({ count }) => {
      const report = { added: count, lastCreatedAtMs: 0, buildMs: [] as number[], updateMs: [] as number[] };
      add(count, report);
      return Promise.resolve(report);
    },
  };
  const stop = () => {
    linkController.abort();
    fleet.stop();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  serveParent(handlers);
  emitToParent('ready', { port } satisfies MasterReady);
}

await main();
