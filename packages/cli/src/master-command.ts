/**
 * `promfleet master`: its flags and the command, which logs to stderr and runs until the process is asked to stop
 * (SIGINT, SIGTERM). SIGHUP, `POST /-/reload` and `--config.auto-reload-interval` reload the config file. Loaded
 * only when this command runs (cli.ts): no other command carries the master's code and the Kubernetes client.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import { errorMessage, fixedPort, formatDuration, type PrometheusConfig } from '@promfleet/model';
import {
  KubernetesAccessError,
  checkKubernetesAccess,
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  parseLeaseRef,
  startMaster,
  type ApiEncoding,
  type LeaderElectionOptions,
} from '@promfleet/master';
import { type FlagTable, type FlagValues, switchOn, wholeNumber } from './flags.js';
import { type CommandIO, UsageError } from './io.js';
import { masterLinkFlags, masterLinkOptions } from './master-link-flags.js';
import { aborted, duration, logFlags, logFromFlags, optionalDuration } from './serve.js';
import { readOperatorSelection } from './targets.js';
import { configWarnings, loadValidConfig } from './tools.js';

/** `promfleet master`'s flags. Dotted names as Prometheus spells its flags. */
export const masterFlags = {
  'config.file': { value: 'FILE', required: true, help: 'the Prometheus configuration file' },
  'web.listen-address': { value: 'ADDRESS', default: '0.0.0.0:9095', help: 'status page /, /api/v1/targets, /api/v1/workers, /metrics, /-/healthy, /-/ready' },
  'grpc.listen-address': { value: 'ADDRESS', default: '0.0.0.0:9096', help: 'the fleet protocol, for workers' },
  kubeconfig: { value: 'FILE', defaultText: 'in-cluster', help: 'credentials for kubernetes_sd_configs naming neither api_server nor kubeconfig_file, and for the Lease' },
  'master.id': { value: 'NAME', defaultText: '$POD_NAME, else the hostname', help: "this master's name: in Welcome, and its identity in the Lease" },
  'kubernetes.api-encoding': { value: 'ENCODING', default: 'protobuf', help: 'how kubernetes_sd_configs read built-in kinds: protobuf as client-go (JSON when the server answers JSON), or json' },
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
} as const satisfies FlagTable;

type MasterFlags = FlagValues<typeof masterFlags>;

/** The namespace a pod runs in, from its service account mount; undefined outside a cluster. */
async function podNamespace(): Promise<string | undefined> {
  try {
    return (await readFile('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** `--kubernetes.api-encoding`. */
function apiEncoding(text: string): ApiEncoding {
  if (text === 'protobuf' || text === 'json') return text;
  throw new UsageError(`--kubernetes.api-encoding must be protobuf or json, got ${JSON.stringify(text)}`);
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
  const kubernetesEncoding = apiEncoding(f['kubernetes.api-encoding']);
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
    kubernetesEncoding,
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
