/**
 * The master process, assembled: discovery (static, file, Kubernetes with one shared list/watch per resource) feeds
 * the fleet, the fleet assigns targets to the workers connected over gRPC, and an HTTP server shows it all.
 *
 * With leader election the master starts as a standby: both servers listen, but it runs no discovery and refuses
 * every worker as NOT_LEADER. When it acquires the Lease it starts a term: a fresh fleet under the Lease's term
 * (which recovers by adopting what the workers hold) and fresh discovery. When it stops leading (its renew deadline
 * passed, the Lease was taken, or a worker showed it a higher term) the term ends at once: discovery stops, every
 * worker stream is closed (the workers keep scraping and reconnect through the Service to the leader), and the
 * master stands by again, in the same process.
 */
import { RemoteWriteEndpoint, remoteWriteToProto, scrapeJobToProto } from '@promfleet/protocol';
import { errorMessage, redactingLog, type KubernetesSDConfig, type PrometheusConfig, type ScrapeConfig } from '@promfleet/model';
import { Registry } from 'prom-client';
import { DiscoveryManager, type ConfigChanges } from './discovery/manager.js';
import { DiscoveryMetrics } from './discovery/metrics.js';
import { ApiClient, RateLimiter, type ApiEncoding } from './discovery/kubernetes/client.js';
import { kubeConnection, kubeconfigConnection } from './discovery/kubernetes/connection.js';
import { KubernetesDiscovery } from './discovery/kubernetes/discovery.js';
import { connectionOf } from './discovery/kubernetes/watches.js';
import { OperatorJobSource } from './operator/source.js';
import type { OperatorSelection } from './operator/selection.js';
import { Fleet, type FleetOptions } from './fleet/fleet.js';
import { FleetMetrics, registerProcessMetrics } from './fleet/metrics.js';
import { checkInlineSecrets, describeSecrets, loadFleetLink, type FleetLinkOptions } from './fleet/link.js';
import type { FleetSettings } from './fleet/outbox.js';
import { RefusalLog } from './fleet/refusal-log.js';
import { FleetGrpcServer } from './fleet/server.js';
import type { Readiness } from './http/status-server.js';
import { StatusServer } from './http/status-server.js';
import { pause, systemClock, type Clock } from './leader/clock.js';
import { LeaderElector, type LeaderView, type LeaseAttempt } from './leader/elector.js';
import { KubeLeaseClient, type LeaseRef } from './leader/lease.js';
import { LeaderMetrics } from './leader/metrics.js';
import { FleetRouter } from './leader/router.js';
import { ReloadMetrics, effectiveConfig, type JobSource } from './reload.js';
/** A log record: a level, a message and a few fields (never secrets: {@link startMaster} redacts every record). */
export type MasterLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Readonly<Record<string, string | number>>) => void;

/** Leader election among the masters that share a Lease (leader/elector.ts has the semantics). */
export interface LeaderElectionOptions {
  /** The Lease, reached over `kubeconfig` when given, else the in-cluster configuration. */
  readonly lease: LeaseRef;
  /** 15 s, 10 s and 2 s by default, as client-go's. */
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
}

/** Options of {@link startMaster}. */
export interface MasterOptions {
  readonly config: PrometheusConfig;
  /** HTTP status and metrics address (host:port; port 0 picks one). */
  readonly webListenAddress: string;
  /** Fleet protocol address (host:port; port 0 picks one). */
  readonly grpcListenAddress: string;
  /** A kubeconfig to use for kubernetes_sd_configs that name neither api_server nor kubeconfig_file, and for the Lease. */
  readonly kubeconfig?: string;
  /** The namespace the master runs in, for `own_namespace`. */
  readonly ownNamespace?: string;
  /** How kubernetes_sd_configs ask the API server for built-in kinds; protobuf (JSON when answered JSON) by default. */
  readonly kubernetesEncoding?: ApiEncoding;
  /**
   * The fleet's settings (grace period, limits, ...); masterId (the identity in the Lease too) and softwareVersion
   * are required. `leaderTerm` is ignored with leader election: each term's fleet gets the Lease's.
   */
  readonly fleet: FleetOptions;
  /** The fleet link's TLS, token and limits; a plaintext link anyone may join by default. */
  readonly fleetLink?: FleetLinkOptions;
  /** Discovery throttle; 1 s by default (Prometheus' updatert). */
  readonly discoveryThrottleMs?: number;
  /** Elect a leader on a Lease; without it this master always leads, in term 1. */
  readonly leaderElection?: LeaderElectionOptions;
  /**
   * Reads and validates the config file again, for {@link RunningMaster.reload}: rejects, with a message that says
   * what is wrong and where, for a config that must not be applied. Without it, reloads fail.
   */
  readonly loadConfig?: () => Promise<PrometheusConfig>;
  /** `--web.enable-lifecycle`: `POST`/`PUT /-/reload` reloads; without it they answer 403. */
  readonly enableLifecycle?: boolean;
  /**
   * prometheus-operator resources to turn into jobs (`--operator.config`): ServiceMonitors, PodMonitors, Probes and
   * ScrapeConfigs are watched over `kubeconfig` when given, else the in-cluster configuration (operator/source.ts).
   */
  readonly operator?: OperatorSelection;
  /**
   * Jobs besides the file's; a job named like a file job is left out, and logged. The operator's source when
   * `operator` is given and this is not.
   */
  readonly jobSource?: JobSource;
  /** The time the master waits on (the job source's restart backoff, the log while it waits for the source); the process's by default. */
  readonly clock?: Clock;
  readonly log: MasterLog;
}

/** What a reload changed: jobs by name, and whether the remote-write endpoints did. */
export interface ReloadSummary extends ConfigChanges {
  readonly remoteWriteChanged: boolean;
}

/** A running master. */
export interface RunningMaster {
  readonly webPort: number;
  readonly grpcPort: number;
  /** The fleet of the current term; undefined while the master stands by. */
  readonly fleet: Fleet | undefined;
  readonly registry: Registry;
  /**
   * Reads the config file again ({@link MasterOptions.loadConfig}) and applies it to the current term and to the
   * standby state a later term starts from: unchanged jobs and watches keep running, the workers get only what
   * changed. A config that cannot be read or applied is rejected whole, the previous one keeps running, and the
   * promise rejects with the reason. Reloads run one at a time, in the order asked.
   */
  reload(): Promise<ReloadSummary>;
  /** Stops serving and discovery, and releases the Lease; workers keep scraping and reconnect to the next master. */
  stop(): Promise<void>;
}

/** One term of leadership: its fleet and its discovery. */
interface Term {
  readonly term: number;
  readonly fleet: Fleet;
  readonly discovery: DiscoveryManager;
  readonly controller: AbortController;
  readonly running: Promise<void>;
}

/** Starts a master: binds both servers, then leads (runs discovery and the fleet) or stands by until {@link RunningMaster.stop}. */
export async function startMaster(options: MasterOptions): Promise<RunningMaster> {
  const log = redactingLog(options.log);
  const fleetLink = options.fleetLink ?? {};
  // A config whose inline secrets would go out in clear stops here: at start, and at a reload, before anything changes.
  const checkSecrets = (config: PrometheusConfig): (() => void) => {
    const insecure = checkInlineSecrets(config, fleetLink);
    return () => {
      if (insecure.secrets.length === 0) return;
      const how = insecure.weakness === 'no-tls' ? 'in clear' : 'to any client that connects, unauthenticated';
      log('warn', `inline secrets are sent to workers ${how} (--fleet.allow-insecure-secrets)`, { secrets: describeSecrets(insecure.secrets) });
    };
  };
  checkSecrets(options.config)();
  /** The config file's, as last loaded; the job source's jobs; and what the master runs: both together. */
  let fileConfig = options.config;
  let sourceJobs: readonly ScrapeConfig[] = [];
  let config = options.config;
  /** Every kubernetes_sd_config applied so far, by connection key, for the API clients a watch needs. */
  const sdConfigs = new Map<string, KubernetesSDConfig>();
  const registerSdConfigs = (c: PrometheusConfig) => {
    for (const job of c.scrapeConfigs) for (const sd of job.kubernetesSdConfigs) sdConfigs.set(connectionOf(sd), sd);
  };
  registerSdConfigs(config);
  const registry = new Registry();
  registerProcessMetrics(registry, options.fleet.softwareVersion);
  const discoveryMetrics = new DiscoveryMetrics(registry);
  const fleetMetrics = new FleetMetrics(registry);
  const userAgent = `promfleet-master/${options.fleet.softwareVersion}`;
  const throttleMs = options.discoveryThrottleMs ?? 1_000;
  const operatorSource =
    options.operator === undefined
      ? undefined
      : new OperatorJobSource({
          // client-go's defaults, as every discovery connection: 5 requests/s, bursts of 10.
          client: new ApiClient(kubeconfigConnection(options.kubeconfig, { userAgent }), new RateLimiter(5, 10), { onRequest: discoveryMetrics.onRequest }),
          selection: options.operator,
          global: config.global,
          ...(options.ownNamespace === undefined ? {} : { ownNamespace: options.ownNamespace }),
          fleetLink,
          log,
          registry,
        });
  const jobSource = options.jobSource ?? operatorSource;
  const election = options.leaderElection;
  // Built before anything listens, so bad election settings or an unreadable kubeconfig stop the start here.
  const leadership = election === undefined ? undefined : leaderElection({ election, options, registry, userAgent });
  const elector = leadership?.elector;
  const linkController = new AbortController();
  const link = await loadFleetLink(fleetLink, {
    signal: linkController.signal,
    onRefresh: (what, outcome) => {
      if ('error' in outcome) log('warn', `fleet link: cannot reload the ${what === 'tls' ? 'TLS files' : 'token file'}; keeping the last good one`, { err: errorMessage(outcome.error) });
      else log('info', `fleet link: ${what === 'tls' ? 'TLS certificate or CA' : 'bearer token'} reloaded; new connections use it`);
    },
  });
  if (fleetLink.tls === undefined && fleetLink.tokenFile !== undefined) log('warn', 'the fleet link has no TLS: the bearer token travels in clear (--fleet.tls.cert-file)');
  if (fleetLink.tls?.clientCaFile === undefined && fleetLink.tokenFile === undefined) {
    log('warn', 'the fleet link authenticates no one: any peer that reaches the gRPC port can join (--fleet.tls.client-ca-file, --fleet.token-file)');
  }

  // Kubernetes discovery is there even for a config without kubernetes_sd_configs: a reload may add one. It opens
  // nothing until a job needs a watch.
  const discovery = (): { manager: DiscoveryManager; kubernetes: KubernetesDiscovery } => {
    const kubernetes = kubernetesDiscovery({ options: { ...options, log }, sdConfigs, userAgent, metrics: discoveryMetrics, throttleMs });
    const manager = new DiscoveryManager({
      config,
      kubernetes,
      throttleMs,
      onFileError: (file, err) => log('warn', 'file_sd: keeping the last good targets', { file, err: err.message }),
      onInternalError: (job, err) => log('error', 'target could not be built (a bug, please report)', { job, err: errorMessage(err) }),
    });
    return { manager, kubernetes };
  };

  const refusals = new RefusalLog({ log });
  const observer = fleetObserver(fleetMetrics.observer, { log, refusals });
  let settings = settingsOf(config);
  // What a standby shows and counts: a fleet never started and discovery never run (every job empty, unsynced).
  const idle = { fleet: new Fleet({ ...options.fleet, observer: {} }), discovery: discovery().manager };
  idle.fleet.configure(settings);
  fleetMetrics.track(idle.fleet);
  const router = new FleetRouter({
    masterId: options.fleet.masterId,
    heartbeatIntervalMs: idle.fleet.heartbeatIntervalMs,
    maxWorkers: idle.fleet.maxWorkers,
    retryAfterMs: elector?.retryPeriodMs ?? 5_000,
    observer,
  });

  let current: Term | undefined;
  let stopping = false;
  const ended: Promise<void>[] = [];
  const startTerm = (term: number) => {
    const { manager, kubernetes } = discovery();
    discoveryMetrics.track(kubernetes);
    const fleet = new Fleet({ ...options.fleet, leaderTerm: term, observer: { ...observer, deposed: (event) => deposed(term, event) } });
    fleet.configure(settings);
    fleetMetrics.track(fleet);
    fleet.start();
    router.lead(fleet);
    const controller = new AbortController();
    const running = manager.run(controller.signal, (changed) => {
      discoveryMetrics.updateJobs(changed);
      fleet.updateJobs(changed);
    });
    current = { term, fleet, discovery: manager, controller, running };
  };
  const endTerm = (leader: LeaderView) => {
    const term = current;
    if (term === undefined) return;
    current = undefined;
    router.standBy(leader);
    term.fleet.stop();
    term.controller.abort();
    ended.push(term.running);
    fleetMetrics.track(idle.fleet);
    discoveryMetrics.forgetWatches();
  };
  // A worker's Hello showed a higher term: another master was elected since. Stop leading, but not from inside the
  // fleet's own call (the fleet is refusing that worker as it tells us).
  const deposed = (term: number, event: { readonly workerId: string; readonly term: number }) => {
    log('warn', 'a worker knows a higher leader term: another master leads; stopping leading', { term, worker: event.workerId, worker_term: event.term });
    queueMicrotask(() => {
      if (elector !== undefined) elector.stepDown('deposed', event.term);
      else log('error', 'this master runs without leader election but another master leads: run every master with --leader-election.lease');
    });
  };

  const reloadMetrics = new ReloadMetrics(registry);
  reloadMetrics.succeeded(Date.now());
  /**
   * Applies the file's config and the source's jobs: to the standby state, and to the term's fleet first (upserted
   * jobs and removals go out before discovery's targets) and discovery after. Synchronous: nothing interleaves.
   * Throws, changing nothing, when the settings cannot be built for the workers.
   */
  const apply = (file: PrometheusConfig, jobs: readonly ScrapeConfig[]): ReloadSummary => {
    const { config: next, clashes } = effectiveConfig(file, jobs);
    const warnSecrets = checkSecrets(next);
    const nextSettings = settingsOf(next);
    if (clashes.length > 0) log('warn', 'jobs of the job source are named like jobs of the config file: the file wins', { jobs: clashes.join(',') });
    registerSdConfigs(next);
    const remoteWriteChanged = !sameEndpoints(settings, nextSettings);
    fileConfig = file;
    sourceJobs = jobs;
    config = next;
    settings = nextSettings;
    warnSecrets();
    idle.fleet.configure(settings);
    const idleChanges = idle.discovery.applyConfig(config);
    const term = current;
    if (term === undefined) {
      discoveryMetrics.forgetJobs(idleChanges.removed);
      return { ...idleChanges, remoteWriteChanged };
    }
    term.fleet.configure(settings);
    const changes = term.discovery.applyConfig(config);
    discoveryMetrics.forgetJobs(changes.removed);
    return { ...changes, remoteWriteChanged };
  };
  const describe = (summary: ReloadSummary) => ({
    jobs: config.scrapeConfigs.length,
    jobs_added: summary.added.join(','),
    jobs_changed: summary.changed.join(','),
    jobs_removed: summary.removed.join(','),
    remote_write: summary.remoteWriteChanged ? 'changed' : 'unchanged',
  });
  let reloads: Promise<unknown> = Promise.resolve();
  const reload = (): Promise<ReloadSummary> => {
    const attempt = async (): Promise<ReloadSummary> => {
      try {
        if (options.loadConfig === undefined) throw new Error('this master has no config file to reload');
        const file = await options.loadConfig();
        const summary = apply(file, sourceJobs);
        reloadMetrics.succeeded(Date.now());
        log('info', 'configuration reloaded', describe(summary));
        jobSource?.setGlobal?.(file.global);
        return summary;
      } catch (err) {
        reloadMetrics.failed();
        log('error', 'configuration reload failed: the previous configuration keeps running', { err: errorMessage(err) });
        throw err;
      }
    };
    const result = reloads.then(attempt, attempt);
    reloads = result.catch(() => undefined);
    return result;
  };
  const clock = options.clock ?? systemClock;
  const sourceController = new AbortController();
  /**
   * Whether the job source has listed its jobs once. A master that led without them would not know the jobs of the
   * targets the workers hold and would drop them (staleness markers, a gap): it leads, or campaigns, only after.
   */
  let sourceReported = jobSource === undefined;
  let onFirstJobs: () => void = () => undefined;
  const onJobs = (jobs: readonly ScrapeConfig[]) => {
    if (sourceController.signal.aborted) return;
    try {
      const summary = apply(fileConfig, jobs);
      if (summary.added.length + summary.changed.length + summary.removed.length > 0) log('info', 'jobs of the job source applied', describe(summary));
    } catch (err) {
      log('error', 'the job source’s jobs cannot be applied: the previous ones keep running', { err: errorMessage(err) });
    }
    if (!sourceReported) {
      sourceReported = true;
      onFirstJobs();
    }
  };
  const sourceRunning = jobSource === undefined ? Promise.resolve() : runJobSource({ source: jobSource, signal: sourceController.signal, onJobs, clock, log });

  const leaseName = election === undefined ? '' : `${election.lease.namespace}/${election.lease.name}`;
  const startedAt = clock.now();
  const waitingForSource = () => `waiting for the prometheus-operator resources to be listed (for ${formatSeconds(clock.now() - startedAt)})`;
  const readiness = (): Readiness => {
    if (stopping) return { ready: false, reasons: ['the master is stopping'] };
    if (!sourceReported) return { ready: false, reasons: [`${waitingForSource()}: this master ${elector === undefined ? 'leads' : 'campaigns for the lease'} only once it knows their jobs, so that the workers keep their targets`] };
    if (current === undefined) {
      const { holder, term } = elector?.leader() ?? {};
      const who = holder === undefined || holder === options.fleet.masterId ? 'no master leads yet' : `${holder} leads in term ${String(term)}`;
      return { ready: false, reasons: [`standby: ${who} (lease ${leaseName})`] };
    }
    const reasons: string[] = [];
    if (elector !== undefined) reasons.push(`leader in term ${current.term} (lease ${leaseName})`);
    if (!current.fleet.ready()) reasons.push('recovering: adopting what the workers hold, waiting for discovery to sync before assigning');
    for (const stale of discoveryMetrics.staleResources()) {
      reasons.push(`discovery of ${stale.resource} is stale since ${new Date(stale.sinceUnixMs).toISOString()}: the API server fails; serving the last known targets`);
    }
    return { ready: true, reasons };
  };

  const grpc = new FleetGrpcServer({
    fleet: router,
    observer,
    admission: link.admission,
    connectionRate: link.connectionRate,
    ...(link.credentials === undefined ? {} : { credentials: link.credentials }),
    ...(link.maxStreams === undefined ? {} : { maxStreams: link.maxStreams }),
    ...(link.maxConnections === undefined ? {} : { maxConnections: link.maxConnections }),
  });
  const status = new StatusServer({
    ...(options.enableLifecycle === true ? { reload: async () => void (await reload()) } : {}),
    fleet: {
      workers: () => (current?.fleet ?? idle.fleet).workers(),
      targets: (job) => (current?.fleet ?? idle.fleet).targets(job),
      target: (id) => (current?.fleet ?? idle.fleet).target(id),
      ready: () => (current?.fleet ?? idle.fleet).ready(),
    },
    discovery: {
      jobs: () => (current?.discovery ?? idle.discovery).jobs(),
      discovered: (job) => (current?.discovery ?? idle.discovery).discovered(job),
      jobError: (job) => discoveryMetrics.jobError(job),
    },
    registry,
    readiness,
    ...(operatorSource === undefined ? {} : { operatorRejected: () => operatorSource.rejected(), operatorKindStates: () => operatorSource.kindStates() }),
  });
  let grpcPort: number;
  let webPort: number;
  try {
    grpcPort = await grpc.listen(options.grpcListenAddress);
    webPort = (await status.listen(options.webListenAddress)).port;
  } catch (err) {
    linkController.abort();
    sourceController.abort();
    await Promise.allSettled([grpc.close(), status.close(), sourceRunning]);
    throw err;
  }
  const summaries = setInterval(() => refusals.flush(), refusals.summaryIntervalMs);
  summaries.unref();
  const electionController = new AbortController();
  let lastFailure: LeaseAttempt | undefined;
  let electing: Promise<void> = Promise.resolve();
  const lead = () => {
    if (stopping) return;
    if (leadership === undefined) {
      startTerm(1);
      return;
    }
    electing = leadership.elector.run(
      electionController.signal,
      leadership.metrics.observe({
        started: (term) => {
          log('info', 'leading: starting discovery and the fleet', { term, lease: leaseName });
          startTerm(term);
        },
        stopped: (reason) => {
          log(reason === 'stopping' ? 'info' : 'warn', 'stopped leading: discovery stopped, worker streams closed; standing by', { reason, lease: leaseName });
          endTerm(leadership.elector.leader());
        },
        leaderChanged: (view) => {
          router.leaderChanged(view);
          log('info', 'the lease changed hands', { leader: view.holder ?? '', term: view.term ?? 0, lease: leaseName });
        },
        attempted: (outcome, error) => {
          if (outcome === 'fenced-jump') {
            log('warn', 'took a Lease whose term was at or below one a worker showed, raising its term past it: check that every master uses the same API server and Lease', { lease: leaseName });
          }
          // One line when requests start failing and one when they work again, not one per retry period.
          const failed = outcome === 'error' || outcome === 'conflict';
          if (failed && lastFailure === undefined) log('warn', 'lease request failed; retrying every retry period', { outcome, lease: leaseName, err: error ?? '' });
          if (!failed && lastFailure !== undefined) log('info', 'lease requests work again', { lease: leaseName });
          lastFailure = failed ? outcome : undefined;
        },
      }),
    );
  };
  if (sourceReported) lead();
  else {
    let cancelNotice: () => void = () => undefined;
    const notice = (afterMs: number) => {
      cancelNotice = clock.setTimeout(() => {
        log('warn', `still ${waitingForSource()}: this master ${elector === undefined ? 'leads' : 'campaigns for the lease'} only once it knows their jobs, so that the workers keep their targets; the job source's own lines say what fails`);
        notice(SOURCE_WAIT_NOTICE_INTERVAL_MS);
      }, afterMs);
    };
    notice(SOURCE_WAIT_NOTICE_FIRST_MS);
    sourceController.signal.addEventListener('abort', () => cancelNotice(), { once: true });
    onFirstJobs = () => {
      cancelNotice();
      log('info', 'the job source listed its jobs', { waited_ms: Math.round(clock.now() - startedAt), jobs: config.scrapeConfigs.length });
      lead();
    };
  }
  log('info', elector === undefined ? 'master started' : 'master started as a standby; electing on the lease', {
    web: webPort,
    grpc: grpcPort,
    jobs: config.scrapeConfigs.length,
    fleet_tls: fleetLink.tls === undefined ? 'off' : fleetLink.tls.clientCaFile === undefined ? 'server' : 'mutual',
    fleet_token: fleetLink.tokenFile === undefined ? 'off' : 'on',
    ...(elector === undefined ? {} : { lease: leaseName, identity: options.fleet.masterId }),
    ...(sourceReported ? {} : { waiting_for: 'the job source to list its jobs' }),
  });
  return {
    webPort,
    grpcPort,
    get fleet() {
      return current?.fleet;
    },
    registry,
    reload,
    async stop() {
      stopping = true;
      sourceController.abort();
      // The elector ends the term (endTerm) before it releases the Lease: this master stops leading first.
      electionController.abort();
      await electing;
      endTerm({});
      clearInterval(summaries);
      linkController.abort();
      refusals.flush();
      await Promise.allSettled([...ended, grpc.close(), status.close(), sourceRunning, reloads]);
      log('info', 'master stopped');
    },
  };
}

/** When the first line saying the master still waits for the job source comes, and how often the next ones do. */
const SOURCE_WAIT_NOTICE_FIRST_MS = 30_000;
const SOURCE_WAIT_NOTICE_INTERVAL_MS = 5 * 60_000;
/** The job source's restart backoff after it failed: doubling from the first to the most. */
const SOURCE_RESTART_FIRST_MS = 1_000;
const SOURCE_RESTART_MAX_MS = 60_000;

/**
 * Runs the job source until `signal` aborts. A source that throws (a bug: trouble outside the process is its own to
 * retry) or returns early is logged and run again after a backoff; the jobs it last listed keep running meanwhile.
 */
async function runJobSource(context: { source: JobSource; signal: AbortSignal; onJobs: (jobs: readonly ScrapeConfig[]) => void; clock: Clock; log: MasterLog }): Promise<void> {
  const { source, signal, clock, log } = context;
  let backoffMs = SOURCE_RESTART_FIRST_MS;
  const onJobs = (jobs: readonly ScrapeConfig[]) => {
    backoffMs = SOURCE_RESTART_FIRST_MS;
    context.onJobs(jobs);
  };
  while (!signal.aborted) {
    let failure: string;
    try {
      await source.run(signal, onJobs);
      if (signal.aborted) return;
      failure = 'it returned before the master stopped';
    } catch (err) {
      if (signal.aborted) return;
      failure = errorMessage(err);
    }
    log('error', 'the job source failed (a bug, please report); its last jobs keep running; restarting it after a backoff', { err: failure, retry_in_ms: backoffMs });
    await pause(clock, backoffMs, signal);
    backoffMs = Math.min(backoffMs * 2, SOURCE_RESTART_MAX_MS);
  }
}

/** `ms` as whole seconds, for people: "42s". */
function formatSeconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

/** The elector for `election`, on the Lease over `--kubeconfig` or the in-cluster configuration, and its metrics. */
function leaderElection(context: { election: LeaderElectionOptions; options: MasterOptions; registry: Registry; userAgent: string }): { elector: LeaderElector; metrics: LeaderMetrics } {
  const { election, options } = context;
  const metrics = new LeaderMetrics(context.registry);
  const elector = new LeaderElector({
    client: new KubeLeaseClient({ connection: kubeconfigConnection(options.kubeconfig, { userAgent: context.userAgent }), lease: election.lease, onRequest: metrics.onRequest }),
    identity: options.fleet.masterId,
    ...(election.leaseDurationMs === undefined ? {} : { leaseDurationMs: election.leaseDurationMs }),
    ...(election.renewDeadlineMs === undefined ? {} : { renewDeadlineMs: election.renewDeadlineMs }),
    ...(election.retryPeriodMs === undefined ? {} : { retryPeriodMs: election.retryPeriodMs }),
  });
  return { elector, metrics };
}

/** The settings every worker receives for `config`; throws for a value the protocol cannot carry. */
function settingsOf(config: PrometheusConfig): FleetSettings {
  return {
    jobs: config.scrapeConfigs.map((job) => scrapeJobToProto(job)),
    remoteWrite: config.remoteWrite.map((rw, index) => remoteWriteToProto({ config: rw, index, externalLabels: config.global.externalLabels })),
  };
}

function sameEndpoints(a: FleetSettings, b: FleetSettings): boolean {
  const encode = (s: FleetSettings) => s.remoteWrite.map((e) => Buffer.from(RemoteWriteEndpoint.encode(e).finish()).toString('base64')).join(',');
  return encode(a) === encode(b);
}

/**
 * One API client per connection key (API server and credentials), shared by every watch that uses it. `sdConfigs`
 * holds every SD config applied so far by connection key: a reload adds to it before its watches open.
 */
function kubernetesDiscovery(context: { options: MasterOptions; sdConfigs: ReadonlyMap<string, KubernetesSDConfig>; userAgent: string; metrics: DiscoveryMetrics; throttleMs: number }): KubernetesDiscovery {
  const { options, userAgent, metrics, sdConfigs } = context;
  return new KubernetesDiscovery({
    clientFor: (key) => {
      const sd = sdConfigs.get(key);
      if (sd === undefined) throw new Error(`no kubernetes_sd_config for connection ${key}`);
      const useFlag = key === 'in-cluster' && options.kubeconfig !== undefined;
      const connection = kubeConnection(useFlag ? { ...sd, kubeconfigFile: options.kubeconfig } : sd, { userAgent });
      // client-go's defaults: 5 requests/s, bursts of 10, per connection.
      return new ApiClient(connection, new RateLimiter(5, 10), { onRequest: metrics.onRequest, ...(options.kubernetesEncoding === undefined ? {} : { encoding: options.kubernetesEncoding }) });
    },
    ...(options.ownNamespace === undefined ? {} : { ownNamespace: options.ownNamespace }),
    throttleMs: context.throttleMs,
    observer: {
      ...metrics.observer,
      watchRestarted: (watch, reason, error) => {
        metrics.observer.watchRestarted?.(watch, reason, error);
        // A server that ends a watch is routine; a failure is worth a line (rate-limited by the reflector's backoff).
        if (error !== undefined) options.log('warn', 'kubernetes list/watch failed; retrying with backoff', { resource: watch.resource.plural, namespace: watch.namespace ?? '', reason, err: error });
      },
      watchFailed: (watch, reason) => {
        metrics.observer.watchFailed?.(watch, reason);
        options.log('error', 'kubernetes watch cannot start; its jobs stay unsynced', { resource: watch.resource.plural, namespace: watch.namespace ?? '', reason });
      },
      groupFailed: (source, error) => options.log('error', 'building a target group failed (a bug, please report)', { source, err: error }),
    },
  });
}

/** Logs membership events besides counting them; refusals once per peer and reason (refusal-log.ts). */
function fleetObserver(metrics: NonNullable<FleetOptions['observer']>, context: { log: MasterLog; refusals: RefusalLog }): NonNullable<FleetOptions['observer']> {
  const { log, refusals } = context;
  return {
    ...metrics,
    refused: (event) => {
      metrics.refused?.(event);
      refusals.refused(event);
    },
    joined: (event) => {
      metrics.joined?.(event);
      log('info', event.rejoined ? 'worker rejoined the fleet' : 'worker joined the fleet', {
        worker: event.workerId,
        peer: event.peer,
        identity: event.identity,
        ...(event.certificateFingerprint === undefined ? {} : { certificate_sha256: event.certificateFingerprint }),
      });
    },
    disconnected: (reason, workerId) => {
      metrics.disconnected?.(reason, workerId);
      log('warn', 'worker disconnected', { worker: workerId, reason });
    },
    memberLeft: (workerId, cause) => {
      metrics.memberLeft?.(workerId, cause);
      log('info', 'worker left the fleet', { worker: workerId, cause });
    },
    settled: (assigned) => {
      metrics.settled?.(assigned);
      log('info', 'assignment settled', { assigned });
    },
    recovering: (cause) => {
      metrics.recovering?.(cause);
      log('info', 'no worker left: the next workers to join open a recovery window, adopting what they hold before anything is assigned', { cause });
    },
    settingRejected: (kind, name, sizes) => {
      metrics.settingRejected?.(kind, name, sizes);
      log('error', `${kind === 'job' ? 'scrape job' : 'remote_write endpoint'} too large to send to workers; left out of every assignment`, {
        kind,
        name,
        bytes: sizes.bytes,
        limit_bytes: sizes.limitBytes,
      });
    },
    resourceExhausted: (workerId, details) => {
      metrics.resourceExhausted?.(workerId, details);
      log('warn', "a worker's previous stream ended with RESOURCE_EXHAUSTED (a message above the gRPC size limit)", { worker: workerId, details });
    },
  };
}
