/**
 * The long-running commands: `promfleet master` and `promfleet worker`. They log logfmt lines to stderr, as
 * Prometheus does, and stop cleanly when the process is asked to (SIGINT, SIGTERM): a worker first hands its
 * targets over.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { isAbsolute } from 'node:path';
import { readFile } from 'node:fs/promises';
import { DurationError, errorMessage, fixedPort, formatDuration, parseDuration, parseSize, type PrometheusConfig } from '@promfleet/model';
import {
  KubernetesAccessError,
  checkKubernetesAccess,
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  parseLeaseRef,
  startMaster,
  type LeaderElectionOptions,
  type MasterLog,
} from '@promfleet/master';
import { DEFAULT_MAX_BODY_SIZE_BYTES, DEFAULT_QUEUE_MAX_BYTES, DEFAULT_SECRET_DIRS, QUEUE_SIZE_NOTE, startWorker } from '@promfleet/worker';
import { masterLinkFlags, masterLinkOptions, wholeNumber, workerLinkFlags, workerLinkOptions } from './fleet-link-flags.js';
import { type CommandSpec, type FlagTable, type FlagValues, switchOn } from './flags.js';
import { type CommandIO, UsageError } from './io.js';
import { readOperatorSelection } from './targets.js';
import { configWarnings, loadValidConfig } from './tools.js';

const levels = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof levels)[number];

const logFormats = ['logfmt', 'json'] as const;
type LogFormat = (typeof logFormats)[number];

/** `--log.level` and `--log.format` as Prometheus spells them. */
function oneOf<T extends string>(flag: string, allowed: readonly T[], value: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${flag}: want one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

interface LogOptions {
  readonly minimum?: Level;
  readonly now?: () => Date;
}

/**
 * A logfmt line writer, `time=… level=… msg="…" key=value`, that drops records below `minimum`. Values are quoted
 * when they need it.
 */
export function logfmt(out: CommandIO['stderr'], options: LogOptions = {}): MasterLog {
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

/**
 * A JSON line writer as Prometheus' `--log.format=json` (Go's slog JSON handler): `{"time":"…","level":"INFO",
 * "msg":"…",…}`, the time in RFC 3339 with milliseconds, the level in capitals, then the fields with their types
 * kept. Go's `source` (a file and line in the Go code) has no counterpart here and is left out.
 */
export function jsonLog(out: CommandIO['stderr'], options: LogOptions = {}): MasterLog {
  const floor = levels.indexOf(options.minimum ?? 'info');
  const now = options.now ?? (() => new Date());
  return (level, message, fields = {}) => {
    if (levels.indexOf(level) < floor) return;
    out.write(`${JSON.stringify({ time: now().toISOString(), level: level.toUpperCase(), msg: message, ...fields })}\n`);
  };
}

/** The log writer `--log.level` and `--log.format` ask for. */
function logFromFlags(out: CommandIO['stderr'], f: { readonly 'log.level': string; readonly 'log.format': string }): MasterLog {
  const minimum = oneOf('log.level', levels, f['log.level']);
  const format: LogFormat = oneOf('log.format', logFormats, f['log.format']);
  return format === 'json' ? jsonLog(out, { minimum }) : logfmt(out, { minimum });
}

const logFlags = {
  'log.level': { value: 'LEVEL', default: 'info', help: `the least severe log lines written: ${levels.join(', ')}` },
  'log.format': { value: 'FORMAT', default: 'logfmt', help: `log line format: ${logFormats.join(' or ')} (as Prometheus' --log.format)` },
} as const satisfies FlagTable;

/** `promfleet master`: its flags. Dotted names as Prometheus spells its flags. */
export const masterCommand = {
  usage: 'promfleet master --config.file=FILE [FLAGS]',
  summary: 'Runs the master: Kubernetes discovery, allocation of targets to workers, the fleet protocol, the status page and API.',
  flags: {
    'config.file': { value: 'FILE', required: true, help: 'the Prometheus configuration file' },
    'web.listen-address': { value: 'ADDRESS', default: '0.0.0.0:9095', help: 'status page /, /api/v1/targets, /api/v1/workers, /metrics, /-/healthy, /-/ready' },
    'grpc.listen-address': { value: 'ADDRESS', default: '0.0.0.0:9096', help: 'the fleet protocol, for workers' },
    kubeconfig: { value: 'FILE', defaultText: 'in-cluster', help: 'credentials for kubernetes_sd_configs naming neither api_server nor kubeconfig_file, and for the Lease' },
    'master.id': { value: 'NAME', defaultText: '$POD_NAME, else the hostname', help: "this master's name: in Welcome, and its identity in the Lease" },
    'kubernetes.own-namespace': { value: 'NAMESPACE', defaultText: "the pod's namespace", help: 'the namespace of namespaces.own_namespace in kubernetes_sd_configs' },
    'fleet.grace-period': { value: 'DURATION', default: '10s', help: 'how long a worker whose stream broke may take to come back before its targets move' },
    'fleet.startup-grace': { value: 'DURATION', default: '15s', help: "how long a starting master waits, from the first worker's return, for the others to report what they hold" },
    'fleet.startup-wait': { value: 'DURATION', default: '2m', help: 'the longest a starting master waits for discovery to sync before it assigns' },
    'fleet.handover-lead': { value: 'DURATION', default: '2s', help: "how far ahead a handover's first slot lies" },
    'fleet.heartbeat-interval': { value: 'DURATION', default: '5s', help: 'heartbeats both ways; 3 missed ones end a stream' },
    'fleet.worker-max-targets': { value: 'N', defaultText: 'none', help: 'targets per worker at most; what fits nowhere is reported as unassigned' },
    'fleet.worker-max-samples': { value: 'N', defaultText: 'none', help: 'cost (samples per scrape) per worker at most; what fits nowhere is reported as unassigned' },
    'fleet.rebalance-moves-per-minute': { value: 'N', defaultText: '1% of the targets', help: 'how fast cost drift is rebalanced' },
    ...masterLinkFlags,
    'leader-election.lease': { value: 'NAMESPACE/NAME', defaultText: 'none', help: 'elect a leader on this Lease: only the leader discovers and assigns, and only it is ready' },
    'leader-election.lease-duration': { value: 'DURATION', defaultText: formatDuration(DEFAULT_LEASE_DURATION_MS), help: 'how long a Lease holds without renewal (needs --leader-election.lease)' },
    'leader-election.renew-deadline': { value: 'DURATION', defaultText: formatDuration(DEFAULT_RENEW_DEADLINE_MS), help: 'a leader that could not renew for this long stops leading; below the lease duration' },
    'leader-election.retry-period': { value: 'DURATION', defaultText: formatDuration(DEFAULT_RETRY_PERIOD_MS), help: 'how often to try to acquire or renew the Lease; below the renew deadline' },
    'web.enable-lifecycle': { help: 'POST or PUT /-/reload reloads the config (as SIGHUP does)' },
    'config.auto-reload-interval': { value: 'DURATION', default: '0s', help: "reload when the config file's content changes, checked this often; 0s: never" },
    'operator.config': { value: 'FILE', defaultText: 'none', help: 'watch ServiceMonitors, PodMonitors, Probes and ScrapeConfigs, selected as this Prometheus resource does (docs/operator.md)' },
    ...logFlags,
  },
} as const satisfies CommandSpec;

type MasterFlags = FlagValues<typeof masterCommand.flags>;

/** A duration flag's value in ms. */
function duration(flag: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new UsageError(`--${flag}: ${err instanceof DurationError ? err.message : String(err)}`);
  }
}

function optionalDuration(flag: string, value: string | undefined): number | undefined {
  return value === undefined ? undefined : duration(flag, value);
}

/** A flag's `<size>` in bytes, in Prometheus' units (`64MB`, `512KiB`, `0`). */
function size(flag: string, value: string): number {
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

/** `promfleet worker`: its flags. */
export const workerCommand = {
  usage: 'promfleet worker --master=HOST:PORT [FLAGS]',
  summary: 'Runs a worker: scrapes the targets the master assigns and remote-writes the samples. On SIGTERM it hands its targets over, then exits.',
  flags: {
    master: { value: 'HOST:PORT', defaultText: '$PROMFLEET_MASTER', help: "the master's gRPC address" },
    'worker.id': { value: 'NAME', defaultText: '$POD_NAME, else the hostname', help: "the worker's stable id" },
    'web.listen-address': { value: 'ADDRESS', default: '0.0.0.0:9097', help: 'status page /, /metrics, /-/healthy, /-/ready' },
    'worker.drain-timeout': { value: 'DURATION', default: '20s', help: 'how long the handover on SIGTERM may take' },
    'worker.secret-dirs': { value: 'DIRS', default: DEFAULT_SECRET_DIRS.join(','), help: 'the only directories (absolute, comma-separated) credential files named by jobs are read from' },
    'scrape.max-body-size': { value: 'SIZE', default: `${DEFAULT_MAX_BODY_SIZE_BYTES / 2 ** 20}MB`, help: 'body size limit (decompressed) of jobs without body_size_limit; 0: none' },
    'remote-write.queue-dir': {
      value: 'DIR',
      default: 'data/remote-write',
      help: 'where samples the receivers cannot take wait, one directory per remote_write endpoint (relative to the working directory); "": in memory only',
    },
    'remote-write.queue-max-size': {
      value: 'SIZE',
      default: `${DEFAULT_QUEUE_MAX_BYTES / 2 ** 20}MB`,
      help: `disk queue size limit per endpoint, beyond which the oldest samples are dropped; ${QUEUE_SIZE_NOTE}`,
    },
    'remote-write.flush-deadline': {
      value: 'DURATION',
      default: '10s',
      help: 'on shutdown, how long the queues keep sending; what is left then stays in the disk queue for the next start (dropped without one)',
    },
    ...workerLinkFlags,
    ...logFlags,
  },
} as const satisfies CommandSpec;

type WorkerFlags = FlagValues<typeof workerCommand.flags>;

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
function secretDirs(value: string): readonly string[] {
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
  const scrapeMaxBodySizeBytes = size('scrape.max-body-size', f['scrape.max-body-size']);
  const masterLink = workerLinkOptions(f);
  const log = logFromFlags(io.stderr, f);
  const unsubscribe = io.onReload?.(() => log('info', 'SIGHUP received: a worker has no configuration to reload (the master sends it); ignored'));
  const worker = await startWorker({
    masterLink,
    master,
    workerId: f['worker.id'] ?? process.env['POD_NAME'] ?? hostname(),
    webListenAddress: f['web.listen-address'],
    softwareVersion: version,
    drainTimeoutMs: duration('worker.drain-timeout', f['worker.drain-timeout']),
    secretDirs: secretDirs(f['worker.secret-dirs']),
    scrapeMaxBodySizeBytes,
    remoteWriteQueueDir: f['remote-write.queue-dir'],
    remoteWriteQueueMaxBytes: size('remote-write.queue-max-size', f['remote-write.queue-max-size']),
    remoteWriteFlushDeadlineMs: duration('remote-write.flush-deadline', f['remote-write.flush-deadline']),
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
  const leaseDurationMs = optionalDuration('leader-election.lease-duration', f['leader-election.lease-duration']) ?? DEFAULT_LEASE_DURATION_MS;
  const renewDeadlineMs = optionalDuration('leader-election.renew-deadline', f['leader-election.renew-deadline']) ?? DEFAULT_RENEW_DEADLINE_MS;
  const retryPeriodMs = optionalDuration('leader-election.retry-period', f['leader-election.retry-period']) ?? DEFAULT_RETRY_PERIOD_MS;
  if (!(renewDeadlineMs < leaseDurationMs)) {
    throw new UsageError(`--leader-election.renew-deadline (${renewDeadlineMs / 1000}s) must be below --leader-election.lease-duration (${leaseDurationMs / 1000}s)`);
  }
  if (!(retryPeriodMs > 0 && retryPeriodMs < renewDeadlineMs)) {
    throw new UsageError(`--leader-election.retry-period (${retryPeriodMs / 1000}s) must be above 0 and below --leader-election.renew-deadline (${renewDeadlineMs / 1000}s)`);
  }
  return { lease, leaseDurationMs, renewDeadlineMs, retryPeriodMs };
}

/** The SHA-256 of a config file's text, to tell whether it changed. */
function textDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * `--config.auto-reload-interval`: reloads when the config file's content changes, as Prometheus' option does: the
 * file is read every interval and its SHA-256 compared with `loaded()`, the digest of the text last loaded or tried
 * (at start, or by any reload), so a bad config is tried once, not every interval, and an edit made while the master
 * was starting is seen. Runs until `io.shutdown` aborts.
 */
async function pollConfigFile(context: { io: CommandIO; file: string; intervalMs: number; loaded: () => string | undefined; reload: () => Promise<unknown> }): Promise<void> {
  const { io, file } = context;
  const digest = async (): Promise<string | undefined> => {
    try {
      return textDigest(await io.readFile(file));
    } catch {
      // An unreadable file is the reload's to report, once its content (here: its absence) is tried.
      return undefined;
    }
  };
  while (!io.shutdown.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, context.intervalMs);
      io.shutdown.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    if (io.shutdown.aborted) return;
    if ((await digest()) === context.loaded()) continue;
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
  const enableLifecycle = switchOn('web.enable-lifecycle', f['web.enable-lifecycle']);
  const autoReloadMs = duration('config.auto-reload-interval', f['config.auto-reload-interval']);
  /** The digest of the config text last read (undefined: the last read failed), for the auto-reload poller. */
  let loadedDigest: string | undefined;
  const loadConfigFile = (): Promise<PrometheusConfig> => {
    loadedDigest = undefined;
    return loadValidConfig(io, configFile, (text) => (loadedDigest = textDigest(text)));
  };
  const config = await loadConfigFile();
  const { maxWorkers, link: fleetLink } = masterLinkOptions(f);
  const workerMaxTargets = wholeNumber('fleet.worker-max-targets', f['fleet.worker-max-targets']);
  const workerMaxSamples = wholeNumber('fleet.worker-max-samples', f['fleet.worker-max-samples']);
  const rebalanceMovesPerMinute = wholeNumber('fleet.rebalance-moves-per-minute', f['fleet.rebalance-moves-per-minute']);
  const ownNamespace = f['kubernetes.own-namespace'] ?? (await podNamespace());
  const log = logFromFlags(io.stderr, f);
  const operatorFile = f['operator.config'];
  const operatorSelection = operatorFile === undefined ? undefined : await readOperatorSelection(io, operatorFile, { namespace: ownNamespace, flag: '--kubernetes.own-namespace' });
  try {
    checkKubernetesAccess(config, { kubeconfig: f.kubeconfig, operator: operatorSelection !== undefined });
  } catch (err) {
    if (err instanceof KubernetesAccessError) throw new UsageError(`cannot start the master: ${err.message}`, 1);
    throw err;
  }
  if (operatorSelection !== undefined) {
    log('info', 'prometheus-operator resource selection read', { file: operatorFile ?? '', namespace: operatorSelection.namespace ?? ownNamespace ?? '' });
    for (const notice of operatorSelection.notices) log('warn', notice);
  }
  for (const warning of configWarnings(config)) log('warn', warning, { file: f['config.file'] });
  const webPort = fixedPort(f['web.listen-address']);
  // Subscribed before the master starts: from here on SIGHUP reloads instead of ending the process.
  const started: { reload?: () => Promise<unknown>; reloadAsked?: boolean } = {};
  const unsubscribe = io.onReload?.(() => {
    if (started.reload !== undefined) void started.reload().catch(() => undefined);
    else if (started.reloadAsked !== true) {
      started.reloadAsked = true;
      log('info', 'SIGHUP received while starting: reloading once the master has started');
    }
  });
  const master = await startMaster({
    config,
    // A reloaded config that cannot reach Kubernetes is rejected whole, as at start.
    loadConfig: async () => {
      const reloaded = await loadConfigFile();
      checkKubernetesAccess(reloaded, { kubeconfig: f.kubeconfig, operator: operatorSelection !== undefined });
      for (const warning of configWarnings(reloaded)) log('warn', warning, { file: configFile });
      return reloaded;
    },
    enableLifecycle,
    webListenAddress: f['web.listen-address'],
    grpcListenAddress: f['grpc.listen-address'],
    ...(f.kubeconfig === undefined ? {} : { kubeconfig: f.kubeconfig }),
    ...(ownNamespace === undefined ? {} : { ownNamespace }),
    ...(operatorSelection === undefined ? {} : { operator: operatorSelection }),
    fleetLink,
    ...(election === undefined ? {} : { leaderElection: election }),
    fleet: {
      maxWorkers,
      masterId: f['master.id'] ?? process.env['POD_NAME'] ?? hostname(),
      softwareVersion: version,
      ...(webPort === undefined ? {} : { webPort }),
      graceMs: duration('fleet.grace-period', f['fleet.grace-period']),
      startupGraceMs: duration('fleet.startup-grace', f['fleet.startup-grace']),
      startupWaitMs: duration('fleet.startup-wait', f['fleet.startup-wait']),
      handoverLeadMs: duration('fleet.handover-lead', f['fleet.handover-lead']),
      heartbeatIntervalMs: duration('fleet.heartbeat-interval', f['fleet.heartbeat-interval']),
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
  if (started.reloadAsked === true) void started.reload().catch(() => undefined);
  const polling = autoReloadMs > 0 ? pollConfigFile({ io, file: configFile, intervalMs: autoReloadMs, loaded: () => loadedDigest, reload: () => master.reload() }) : undefined;
  await aborted(io.shutdown);
  log('info', 'shutting down');
  unsubscribe?.();
  await polling;
  await master.stop();
  return 0;
}
