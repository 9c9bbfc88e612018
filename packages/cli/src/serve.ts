/**
 * The long-running commands: `promfleet master` and `promfleet worker`. They log logfmt lines to stderr, as
 * Prometheus does, and stop cleanly when the process is asked to (SIGINT, SIGTERM): a worker first hands its
 * targets over.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { isAbsolute } from 'node:path';
import { readFile } from 'node:fs/promises';
import { DurationError, errorMessage, parseDuration, parseSize } from '@promfleet/model';
import {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  parseLeaseRef,
  startMaster,
  type LeaderElectionOptions,
  type MasterLog,
} from '@promfleet/master';
import { DEFAULT_MAX_BODY_SIZE_BYTES, DEFAULT_SECRET_DIRS, startWorker } from '@promfleet/worker';
import { bool, masterLinkFlags, masterLinkOptions, wholeNumber, workerLinkFlags, workerLinkOptions } from './fleet-link-flags.js';
import { type CommandIO, UsageError } from './io.js';
import { readOperatorSelection } from './targets.js';
import { loadValidConfig } from './tools.js';

const levels = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof levels)[number];

/** `--log.level` as Prometheus spells it. */
function logLevel(value: string | undefined): Level {
  const level = value ?? 'info';
  if (!(levels as readonly string[]).includes(level)) throw new UsageError(`--log.level: want one of ${levels.join(', ')}, got ${JSON.stringify(level)}`);
  return level as Level;
}

/**
 * A logfmt line writer, `time=… level=… msg="…" key=value`, that drops records below `minimum`. Values are quoted
 * when they need it.
 */
export function logfmt(out: CommandIO['stderr'], options: { minimum?: Level; now?: () => Date } = {}): MasterLog {
  const quote = (v: string | number) => {
    const text = String(v);
    return /^[^\s"=\\]+$/.test(text) ? text : JSON.stringify(text);
  };
  const floor = levels.indexOf(options.minimum ?? 'info');
  const now = options.now ?? (() => new Date());
  return (level, message, fields = {}) => {
    if (levels.indexOf(level) < floor) return;
    const pairs = Object.entries(fields).map(([k, v]) => `${k}=${quote(v)}`);
    out.write(`${[`time=${now().toISOString()}`, `level=${level}`, `msg=${quote(message)}`, ...pairs].join(' ')}\n`);
  };
}

/** The master's flags: name → [required, default]. Dotted names as Prometheus spells its flags. */
export const masterFlags = {
  'config.file': true,
  'web.listen-address': false,
  'grpc.listen-address': false,
  kubeconfig: false,
  'master.id': false,
  'kubernetes.own-namespace': false,
  'fleet.grace-period': false,
  'fleet.startup-grace': false,
  'fleet.startup-wait': false,
  'fleet.handover-lead': false,
  'fleet.heartbeat-interval': false,
  'fleet.worker-max-targets': false,
  'fleet.worker-max-samples': false,
  'fleet.rebalance-moves-per-minute': false,
  ...masterLinkFlags,
  'leader-election.lease': false,
  'leader-election.lease-duration': false,
  'leader-election.renew-deadline': false,
  'leader-election.retry-period': false,
  'web.enable-lifecycle': false,
  'config.auto-reload-interval': false,
  'log.level': false,
  'operator.config': false,
} as const;

type MasterFlags = { [K in keyof typeof masterFlags]: (typeof masterFlags)[K] extends true ? string : string | undefined };

function duration(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  try {
    return parseDuration(value);
  } catch (err) {
    throw new UsageError(`--${flag}: ${err instanceof DurationError ? err.message : String(err)}`);
  }
}

/** A flag's `<size>` in bytes, in Prometheus' units (`64MB`, `512KiB`, `0`), or `fallback` when it is not given. */
function size(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = parseSize(value);
  if (typeof parsed !== 'number') throw new UsageError(`--${flag}: ${parsed.error}`);
  return parsed;
}

/** The namespace a pod runs in, from its service account mount; undefined outside a cluster. */
async function podNamespace(): Promise<string | undefined> {
  try {
    return (await readFile('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** The worker's flags. */
export const workerFlags = {
  master: false,
  'worker.id': false,
  'web.listen-address': false,
  'worker.drain-timeout': false,
  'worker.secret-dirs': false,
  'scrape.max-body-size': false,
  ...workerLinkFlags,
  'log.level': false,
} as const;

type WorkerFlags = { [K in keyof typeof workerFlags]: (typeof workerFlags)[K] extends true ? string : string | undefined };

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * `--worker.secret-dirs`: absolute directories, comma-separated; empty allows no file at all. Relative ones are refused
 * rather than taken from a working directory no one chose.
 */
function secretDirs(value: string | undefined): readonly string[] {
  if (value === undefined) return DEFAULT_SECRET_DIRS;
  const dirs = value
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '');
  const relative = dirs.find((d) => !isAbsolute(d));
  if (relative !== undefined) throw new UsageError(`--worker.secret-dirs: want absolute directories, got ${JSON.stringify(relative)}`);
  return dirs;
}

/**
 * `promfleet worker`: runs until `io.shutdown` aborts, then drains (hands its targets over, scrapes each through
 * its last slot) and flushes its queues; exit 0 then, 1 when it cannot start, 2 for bad flags.
 */
export async function runWorkerCommand(io: CommandIO, f: WorkerFlags, version: string): Promise<number> {
  const master = f.master ?? process.env['PROMFLEET_MASTER'];
  if (master === undefined) throw new UsageError('missing --master=HOST:PORT (or PROMFLEET_MASTER in the environment)');
  if (!/^[^:\s]+:\d{1,5}$/.test(master) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(master)) {
    throw new UsageError(`--master: want host:port, got ${JSON.stringify(master)}`);
  }
  const scrapeMaxBodySizeBytes = size('scrape.max-body-size', f['scrape.max-body-size'], DEFAULT_MAX_BODY_SIZE_BYTES);
  const masterLink = workerLinkOptions(f);
  const log = logfmt(io.stderr, { minimum: logLevel(f['log.level']) });
  const unsubscribe = io.onReload?.(() => log('info', 'SIGHUP received: a worker has no configuration to reload (the master sends it); ignored'));
  const worker = await startWorker({
    masterLink,
    master,
    workerId: f['worker.id'] ?? process.env['POD_NAME'] ?? hostname(),
    webListenAddress: f['web.listen-address'] ?? '0.0.0.0:9097',
    softwareVersion: version,
    drainTimeoutMs: duration('worker.drain-timeout', f['worker.drain-timeout'], 20_000),
    secretDirs: secretDirs(f['worker.secret-dirs']),
    scrapeMaxBodySizeBytes,
    log,
  }).catch((err: unknown) => {
    throw new UsageError(`cannot start the worker: ${errorMessage(err)}`, 1);
  });
  await aborted(io.shutdown);
  log('info', 'shutting down: handing targets over');
  await worker.drainAndStop();
  unsubscribe?.();
  return 0;
}

/**
 * `--leader-election.*`: undefined without `--leader-election.lease`, whose timing flags are then refused. The
 * timings must nest as client-go requires: retry period < renew deadline < lease duration.
 */
function leaderElection(f: MasterFlags): LeaderElectionOptions | undefined {
  const timings = ['leader-election.lease-duration', 'leader-election.renew-deadline', 'leader-election.retry-period'] as const;
  const text = f['leader-election.lease'];
  if (text === undefined) {
    const stray = timings.find((flag) => f[flag] !== undefined);
    if (stray !== undefined) throw new UsageError(`--${stray} needs --leader-election.lease=NAMESPACE/NAME`);
    return undefined;
  }
  let lease;
  try {
    lease = parseLeaseRef(text);
  } catch (err) {
    throw new UsageError(`--leader-election.lease: ${errorMessage(err)}`);
  }
  const leaseDurationMs = duration('leader-election.lease-duration', f['leader-election.lease-duration'], DEFAULT_LEASE_DURATION_MS);
  const renewDeadlineMs = duration('leader-election.renew-deadline', f['leader-election.renew-deadline'], DEFAULT_RENEW_DEADLINE_MS);
  const retryPeriodMs = duration('leader-election.retry-period', f['leader-election.retry-period'], DEFAULT_RETRY_PERIOD_MS);
  if (!(renewDeadlineMs < leaseDurationMs)) {
    throw new UsageError(`--leader-election.renew-deadline (${renewDeadlineMs / 1000}s) must be below --leader-election.lease-duration (${leaseDurationMs / 1000}s)`);
  }
  if (!(retryPeriodMs > 0 && retryPeriodMs < renewDeadlineMs)) {
    throw new UsageError(`--leader-election.retry-period (${retryPeriodMs / 1000}s) must be above 0 and below --leader-election.renew-deadline (${renewDeadlineMs / 1000}s)`);
  }
  return { lease, leaseDurationMs, renewDeadlineMs, retryPeriodMs };
}

/**
 * `--config.auto-reload-interval`: reloads when the config file's content changes, as Prometheus' option does: the
 * file is read every interval and its SHA-256 compared with the content last loaded or tried, so a bad config is
 * tried once, not every interval. Runs until `io.shutdown` aborts.
 */
async function pollConfigFile(context: { io: CommandIO; file: string; intervalMs: number; reload: () => Promise<unknown> }): Promise<void> {
  const { io, file } = context;
  const digest = async (): Promise<string | undefined> => {
    try {
      return createHash('sha256').update(await io.readFile(file)).digest('hex');
    } catch {
      // An unreadable file is the reload's to report, once its content (here: its absence) is tried.
      return undefined;
    }
  };
  let last = await digest();
  while (!io.shutdown.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, context.intervalMs);
      io.shutdown.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    if (io.shutdown.aborted) return;
    const now = await digest();
    if (now === last) continue;
    last = now;
    await context.reload().catch(() => undefined);
  }
}

/**
 * `promfleet master`: runs until `io.shutdown` aborts; exit 0 then, 1 for a bad config, 2 for bad flags. SIGHUP,
 * `POST /-/reload` (with `--web.enable-lifecycle`) and `--config.auto-reload-interval` reload the config file.
 */
export async function runMasterCommand(io: CommandIO, f: MasterFlags, version: string): Promise<number> {
  const election = leaderElection(f);
  const configFile = f['config.file'];
  const enableLifecycle = bool('web.enable-lifecycle', f['web.enable-lifecycle']);
  const autoReloadMs = duration('config.auto-reload-interval', f['config.auto-reload-interval'], 0);
  const config = await loadValidConfig(io, configFile);
  const { maxWorkers, link: fleetLink } = masterLinkOptions(f);
  const workerMaxTargets = wholeNumber('fleet.worker-max-targets', f['fleet.worker-max-targets']);
  const workerMaxSamples = wholeNumber('fleet.worker-max-samples', f['fleet.worker-max-samples']);
  const rebalanceMovesPerMinute = wholeNumber('fleet.rebalance-moves-per-minute', f['fleet.rebalance-moves-per-minute']);
  const ownNamespace = f['kubernetes.own-namespace'] ?? (await podNamespace());
  const log = logfmt(io.stderr, { minimum: logLevel(f['log.level']) });
  const operatorFile = f['operator.config'];
  const operatorSelection = operatorFile === undefined ? undefined : await readOperatorSelection(io, operatorFile, { namespace: ownNamespace, flag: '--kubernetes.own-namespace' });
  if (operatorSelection !== undefined) {
    log('info', 'prometheus-operator resource selection read', { file: operatorFile ?? '', namespace: operatorSelection.namespace ?? ownNamespace ?? '' });
    for (const notice of operatorSelection.notices) log('warn', notice);
  }
  // Subscribed before the master starts: from here on SIGHUP reloads instead of ending the process.
  const started: { reload?: () => Promise<unknown> } = {};
  const unsubscribe = io.onReload?.(() => {
    if (started.reload === undefined) log('info', 'SIGHUP received while starting: the config just read is the one that starts');
    else void started.reload().catch(() => undefined);
  });
  const master = await startMaster({
    config,
    loadConfig: () => loadValidConfig(io, configFile),
    enableLifecycle,
    webListenAddress: f['web.listen-address'] ?? '0.0.0.0:9095',
    grpcListenAddress: f['grpc.listen-address'] ?? '0.0.0.0:9096',
    ...(f.kubeconfig === undefined ? {} : { kubeconfig: f.kubeconfig }),
    ...(ownNamespace === undefined ? {} : { ownNamespace }),
    ...(operatorSelection === undefined ? {} : { operator: operatorSelection }),
    fleetLink,
    ...(election === undefined ? {} : { leaderElection: election }),
    fleet: {
      maxWorkers,
      masterId: f['master.id'] ?? process.env['POD_NAME'] ?? hostname(),
      softwareVersion: version,
      graceMs: duration('fleet.grace-period', f['fleet.grace-period'], 10_000),
      startupGraceMs: duration('fleet.startup-grace', f['fleet.startup-grace'], 15_000),
      startupWaitMs: duration('fleet.startup-wait', f['fleet.startup-wait'], 120_000),
      handoverLeadMs: duration('fleet.handover-lead', f['fleet.handover-lead'], 2_000),
      heartbeatIntervalMs: duration('fleet.heartbeat-interval', f['fleet.heartbeat-interval'], 5_000),
      ...(workerMaxTargets === undefined ? {} : { workerMaxTargets }),
      ...(workerMaxSamples === undefined ? {} : { workerMaxSamples }),
      ...(rebalanceMovesPerMinute === undefined ? {} : { rebalanceMovesPerMinute }),
    },
    log,
  }).catch((err: unknown) => {
    unsubscribe?.();
    throw new UsageError(`cannot start the master: ${errorMessage(err)}`, 1);
  });
  // A failed reload is logged and counted by the master; the process keeps running the previous config.
  started.reload = () => master.reload();
  const polling = autoReloadMs > 0 ? pollConfigFile({ io, file: configFile, intervalMs: autoReloadMs, reload: () => master.reload() }) : undefined;
  await aborted(io.shutdown);
  log('info', 'shutting down');
  unsubscribe?.();
  await polling;
  await master.stop();
  return 0;
}
