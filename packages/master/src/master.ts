/**
 * The master process, assembled: discovery (static, file, Kubernetes with one shared list/watch per resource) feeds
 * the fleet, the fleet assigns targets to the workers connected over gRPC, and an HTTP server shows it all.
 */
import { remoteWriteToProto, scrapeJobToProto } from '@promfleet/protocol';
import { errorMessage, redactingLog, type KubernetesSDConfig, type PrometheusConfig } from '@promfleet/model';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { DiscoveryManager } from './discovery/manager.js';
import { DiscoveryMetrics } from './discovery/metrics.js';
import { ApiClient, RateLimiter } from './discovery/kubernetes/client.js';
import { kubeConnection } from './discovery/kubernetes/connection.js';
import { KubernetesDiscovery } from './discovery/kubernetes/discovery.js';
import { connectionOf } from './discovery/kubernetes/watches.js';
import { Fleet, type FleetOptions } from './fleet/fleet.js';
import { FleetMetrics } from './fleet/metrics.js';
import { checkInlineSecrets, describeSecrets, loadFleetLink, type FleetLinkOptions } from './fleet/link.js';
import { RefusalLog } from './fleet/refusal-log.js';
import { FleetGrpcServer } from './fleet/server.js';
import { StatusServer } from './http/status-server.js';

/** A log record: a level, a message and a few fields (never secrets: {@link startMaster} redacts every record). */
export type MasterLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Readonly<Record<string, string | number>>) => void;

/** Options of {@link startMaster}. */
export interface MasterOptions {
  readonly config: PrometheusConfig;
  /** HTTP status and metrics address (host:port; port 0 picks one). */
  readonly webListenAddress: string;
  /** Fleet protocol address (host:port; port 0 picks one). */
  readonly grpcListenAddress: string;
  /** A kubeconfig to use for kubernetes_sd_configs that name neither api_server nor kubeconfig_file. */
  readonly kubeconfig?: string;
  /** The namespace the master runs in, for `own_namespace`. */
  readonly ownNamespace?: string;
  /** The fleet's settings (grace period, limits, ...); masterId and softwareVersion are required. */
  readonly fleet: FleetOptions;
  /** The fleet link's TLS, token and limits; a plaintext link anyone may join by default. */
  readonly fleetLink?: FleetLinkOptions;
  /** Discovery throttle; 1 s by default (Prometheus' updatert). */
  readonly discoveryThrottleMs?: number;
  readonly log: MasterLog;
}

/** A running master. */
export interface RunningMaster {
  readonly webPort: number;
  readonly grpcPort: number;
  readonly fleet: Fleet;
  readonly registry: Registry;
  /** Stops serving and discovery; workers keep scraping and reconnect to the next master. */
  stop(): Promise<void>;
}

/** Starts a master: binds both servers, then runs discovery until {@link RunningMaster.stop}. */
export async function startMaster(options: MasterOptions): Promise<RunningMaster> {
  const { config } = options;
  const log = redactingLog(options.log);
  const fleetLink = options.fleetLink ?? {};
  // Before anything starts: a config whose inline secrets would go out in clear stops here.
  const insecure = checkInlineSecrets(config, fleetLink);
  if (insecure.secrets.length > 0) {
    const how = insecure.weakness === 'no-tls' ? 'in clear' : 'to any client that connects, unauthenticated';
    log('warn', `inline secrets are sent to workers ${how} (--fleet.allow-insecure-secrets)`, { secrets: describeSecrets(insecure.secrets) });
  }
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
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const discoveryMetrics = new DiscoveryMetrics(registry);
  const fleetMetrics = new FleetMetrics(registry);
  const userAgent = `promfleet-master/${options.fleet.softwareVersion}`;
  const throttleMs = options.discoveryThrottleMs ?? 1_000;

  const kubernetes = needsKubernetes(config) ? kubernetesDiscovery({ options: { ...options, log }, userAgent, metrics: discoveryMetrics, throttleMs }) : undefined;
  if (kubernetes !== undefined) discoveryMetrics.track(kubernetes);
  const discovery = new DiscoveryManager({
    config,
    ...(kubernetes === undefined ? {} : { kubernetes }),
    throttleMs,
    onFileError: (file, err) => log('warn', 'file_sd: keeping the last good targets', { file, err: err.message }),
    onInternalError: (job, err) => log('error', 'target could not be built (a bug, please report)', { job, err: errorMessage(err) }),
  });

  const refusals = new RefusalLog({ log });
  const observer = fleetObserver(fleetMetrics.observer, { log, refusals });
  const fleet = new Fleet({ ...options.fleet, observer });
  fleetMetrics.track(fleet);
  fleet.configure({
    jobs: config.scrapeConfigs.map((job) => scrapeJobToProto(job)),
    remoteWrite: config.remoteWrite.map((rw, index) => remoteWriteToProto({ config: rw, index, externalLabels: config.global.externalLabels })),
  });

  const grpc = new FleetGrpcServer({
    fleet,
    observer,
    admission: link.admission,
    connectionRate: link.connectionRate,
    ...(link.credentials === undefined ? {} : { credentials: link.credentials }),
    ...(link.maxStreams === undefined ? {} : { maxStreams: link.maxStreams }),
    ...(link.maxConnections === undefined ? {} : { maxConnections: link.maxConnections }),
  });
  const status = new StatusServer({ fleet, discovery, registry });
  let grpcPort: number;
  let webPort: number;
  try {
    grpcPort = await grpc.listen(options.grpcListenAddress);
    webPort = (await status.listen(options.webListenAddress)).port;
  } catch (err) {
    linkController.abort();
    await Promise.allSettled([grpc.close(), status.close()]);
    throw err;
  }
  fleet.start();
  const summaries = setInterval(() => refusals.flush(), refusals.summaryIntervalMs);
  summaries.unref();
  const controller = new AbortController();
  const running = discovery.run(controller.signal, (changed) => {
    discoveryMetrics.updateJobs(changed);
    fleet.updateJobs(changed);
  });
  log('info', 'master started', {
    web: webPort,
    grpc: grpcPort,
    jobs: config.scrapeConfigs.length,
    fleet_tls: fleetLink.tls === undefined ? 'off' : fleetLink.tls.clientCaFile === undefined ? 'server' : 'mutual',
    fleet_token: fleetLink.tokenFile === undefined ? 'off' : 'on',
  });
  return {
    webPort,
    grpcPort,
    fleet,
    registry,
    async stop() {
      fleet.stop();
      clearInterval(summaries);
      linkController.abort();
      refusals.flush();
      controller.abort();
      await Promise.allSettled([running, grpc.close(), status.close()]);
      log('info', 'master stopped');
    },
  };
}

function needsKubernetes(config: PrometheusConfig): boolean {
  return config.scrapeConfigs.some((job) => job.kubernetesSdConfigs.length > 0);
}

/** One API client per connection key (API server and credentials), shared by every watch that uses it. */
function kubernetesDiscovery(context: { options: MasterOptions; userAgent: string; metrics: DiscoveryMetrics; throttleMs: number }): KubernetesDiscovery {
  const { options, userAgent, metrics } = context;
  const sdConfigs = new Map<string, KubernetesSDConfig>();
  for (const job of options.config.scrapeConfigs) for (const sd of job.kubernetesSdConfigs) sdConfigs.set(connectionOf(sd), sd);
  return new KubernetesDiscovery({
    clientFor: (key) => {
      const sd = sdConfigs.get(key);
      if (sd === undefined) throw new Error(`no kubernetes_sd_config for connection ${key}`);
      const useFlag = key === 'in-cluster' && options.kubeconfig !== undefined;
      const connection = kubeConnection(useFlag ? { ...sd, kubeconfigFile: options.kubeconfig } : sd, { userAgent });
      // client-go's defaults: 5 requests/s, bursts of 10, per connection.
      return new ApiClient(connection, new RateLimiter(5, 10), metrics.onRequest);
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
      watchFailed: (watch, reason) => options.log('error', 'kubernetes watch cannot start; its jobs stay unsynced', { resource: watch.resource.plural, namespace: watch.namespace ?? '', reason }),
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
