/**
 * `promfleet demo`: the whole system on this machine (a fake API server with a synthetic cluster, the target farm
 * and the node exporter as its pods, a real Prometheus as the receiver, one master and three workers), with a line
 * per step while it comes up, the URLs to open and queries to try, and a clean stop on Ctrl-C.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { write, type CommandIO } from './io.js';
import type { DemoChild } from './demo-processes.js';
import { requiredPrograms, startDemoSystem, waitForTargetsUp, type DemoSystem } from './demo-system.js';

const workerCount = 3;
/** One line per process or group started, then the fleet and the first scrapes. */
const steps = 7 + workerCount;

/** Whether `command` is an executable on PATH. */
function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A link that opens Prometheus' graph page on `query`, over the last 15 minutes. */
function graphUrl(prometheusUrl: string, query: string): string {
  return `${prometheusUrl}/graph?g0.expr=${encodeURIComponent(query)}&g0.tab=0&g0.range_input=15m`;
}

/** What the demo prints once every target is up: the URLs, queries to try, and how to stop. */
function ready(system: DemoSystem, targets: number): string {
  const workers = [...system.workers.values()];
  const lines = [
    '',
    `promfleet is running: ${workers.length} workers scrape ${targets} targets every ${system.scrapeIntervalMs / 1000}s and remote-write to Prometheus.`,
    '',
    `  Prometheus      ${system.prometheus.url}`,
    `  master          ${system.master.url}/   (JSON: /api/v1/workers, /api/v1/targets)`,
    ...workers.map((w) => `  ${w.id.padEnd(15)} ${w.url}/   (pid ${w.process.pid})`),
    '',
    `Try in Prometheus (${system.prometheus.url}/graph), for example:`,
    '  sum by (job) (up)                                     targets up, per job',
    '  count by (namespace, node) (up)                       targets per namespace and node',
    '  sum by (namespace) (rate(http_requests_total[1m]))    scrapes per second the farm served',
    '  avg by (mode) (rate(node_cpu_seconds_total[1m]))      this machine, through the node exporter',
    `  open the first: ${graphUrl(system.prometheus.url, 'sum by (job) (up)')}`,
    '',
    `Stop a worker (kill ${workers[0]?.process.pid ?? 'PID'}): the master hands its targets to the others, no sample lost.`,
    `Config, TSDB and logs: ${system.dir} (removed on exit)`,
    'Press Ctrl-C to stop.',
    '',
  ];
  return lines.join('\n');
}

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Kills every process still running at once, for a second Ctrl-C while the demo stops. */
function killNow(children: readonly DemoChild[]): void {
  for (const c of children) if (c.running()) void c.stop({ signal: 'SIGKILL' });
}

/**
 * Runs the live demo until `io.shutdown` aborts (Ctrl-C) or the terminal hangs up; returns the exit code (1 when it
 * could not start). The children run in process groups of their own, so a hangup that ends only this process would
 * leave them running: it stops them as Ctrl-C does.
 */
export async function runLiveDemo(io: CommandIO): Promise<number> {
  const hangup = new AbortController();
  const onHangup = () => hangup.abort();
  process.once('SIGHUP', onHangup);
  try {
    return await runUntil(io, AbortSignal.any([io.shutdown, hangup.signal]));
  } finally {
    process.off('SIGHUP', onHangup);
  }
}

/** Starts the system, says where to look, and stops it all when `shutdown` aborts. */
async function runUntil(io: CommandIO, shutdown: AbortSignal): Promise<number> {
  const missing = Object.values(requiredPrograms).filter((c) => !onPath(c));
  if (missing.length > 0) {
    await write(io.stderr, `promfleet demo: ${missing.join(' and ')} not found on PATH; bash scripts/demo.sh installs them (Debian packages of the same names), or run promfleet demo --offline for the offline tools\n`);
    return 1;
  }
  await write(io.stdout, 'promfleet demo: starting the whole system on this machine (Ctrl-C stops it)\n');
  let step = 0;
  const progress = (line: string) => io.stdout.write(`[${++step}/${steps}] ${line}\n`);
  let system: DemoSystem;
  try {
    system = await startDemoSystem({
      cluster: { nodes: 3, namespaces: 3, servicesPerNamespace: 4, pods: 30, seed: 42 },
      series: 40,
      workers: workerCount,
      scrapeIntervalMs: 5_000,
      ports: 'well-known',
      progress,
      signal: shutdown,
    });
  } catch (err) {
    if (shutdown.aborted) {
      await write(io.stdout, 'stopped before the system was up; everything started was stopped\n');
      return 0;
    }
    await write(io.stderr, `promfleet demo: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const onSecondSignal = () => killNow(system.processes);
  let failed = false;
  try {
    const targets = await waitForTargetsUp(system, { timeoutMs: 60_000, signal: shutdown });
    progress(`first scrapes in Prometheus: up == 1 for all ${targets} targets`);
    await write(io.stdout, ready(system, targets));
    await aborted(shutdown);
  } catch (err) {
    failed = !shutdown.aborted;
    if (failed) await write(io.stderr, `promfleet demo: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.on('SIGINT', onSecondSignal);
  try {
    await write(io.stdout, '\nstopping: workers (handing their targets back), master, Prometheus, node exporter, farm, API server; Ctrl-C again kills them\n');
  } finally {
    await system.stop();
    process.off('SIGINT', onSecondSignal);
  }
  await write(io.stdout, `stopped: ${system.processes.length} processes ended, ${system.dir} removed\n`);
  return failed ? 1 : 0;
}
