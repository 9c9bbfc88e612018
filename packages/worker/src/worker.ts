/**
 * The worker process, assembled: the assignment client (one stream to the master), the scrape manager (one loop
 * per target, one queue per remote-write endpoint), self-metrics and the status server. A worker needs no
 * Kubernetes credentials and no configuration file: everything arrives from the master.
 *
 * Static stability: losing the master changes nothing the worker does; it keeps scraping its last assignment and
 * writing, and reconnects with jittered backoff.
 */
import { SecretFilePolicy } from '@promfleet/credentials';
import { errorMessage, fixedPort, formatDuration, redactingLog } from '@promfleet/model';
import { Counter, Gauge, Registry } from 'prom-client';
import { AssignmentClient, type ClientEvent } from './assignment/client.js';
import { loadMasterLink, type MasterLinkOptions } from './assignment/link.js';
import { RemoteWriteMetrics } from './remote/metrics.js';
import type { RemoteWriteEvent } from './remote/queue.js';
import { ScrapeManager, type ScrapeManagerEvent } from './scrape/manager.js';
import { ScrapeMetrics, registerProcessMetrics } from './scrape/metrics.js';
import { WorkerStatusServer } from './status-server.js';

/** A log record: a level, a message and a few fields (never secrets: {@link startWorker} redacts every record). */
export type WorkerLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Readonly<Record<string, string | number>>) => void;

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  /** The master's fleet address, `host:port` (a Kubernetes Service name resolves). */
  readonly master: string;
  /** The worker's stable id, usually its pod name. */
  readonly workerId: string;
  readonly webListenAddress: string;
  readonly softwareVersion: string;
  readonly log: WorkerLog;
  /**
   * The directories under which the worker reads the files its jobs and endpoints name (credentials, passwords,
   * header files, TLS files): a master can name any path, so the worker, not the master, decides what it may read.
   * {@link DEFAULT_SECRET_DIRS} by default.
   */
  readonly secretDirs?: readonly string[];
  /** TLS to the master and the bearer token; a plaintext link without a token by default. */
  readonly masterLink?: MasterLinkOptions;
  /** How long a drain may take; 20 s by default, which with the 10 s queue flush fits Kubernetes' default 30 s grace period. */
  readonly drainTimeoutMs?: number;
  /** `--scrape.max-body-size`: the body size limit of jobs without `body_size_limit`; 0 means none; 64 MiB by default. */
  readonly scrapeMaxBodySizeBytes?: number;
  /** `--remote-write.queue-dir`: the disk queues' directory; "" or undefined keeps the queues in memory only. */
  readonly remoteWriteQueueDir?: string;
  /** `--remote-write.queue-max-size`: each endpoint's disk queue limit in bytes; `DEFAULT_QUEUE_MAX_BYTES` by default. */
  readonly remoteWriteQueueMaxBytes?: number;
  /** `--remote-write.flush-deadline`: how long stopping sends what the queues hold before spooling it; 10 s by default. */
  readonly remoteWriteFlushDeadlineMs?: number;
}

/**
 * Where a worker reads secret files unless told otherwise: the one directory the documentation tells operators to
 * mount their scrape and remote-write secrets at. The service-account token's directory is deliberately not in it: a
 * master must not be able to make a worker send its token anywhere unless the operator says so.
 */
export const DEFAULT_SECRET_DIRS: readonly string[] = Object.freeze(['/etc/promfleet/secrets']);

/** The flag that sets {@link WorkerOptions.secretDirs}, named by every refusal. */
export const SECRET_DIRS_FLAG = '--worker.secret-dirs';

/** A running worker. */
export interface RunningWorker {
  readonly webPort: number;
  readonly client: AssignmentClient;
  readonly manager: ScrapeManager;
  /**
   * Shuts down as on SIGTERM: asks the master to hand every target over, keeps scraping each through its last slot,
   * then stops the loops and flushes the remote-write queues.
   */
  drainAndStop(): Promise<void>;
  /** Stops at once: no handover, no staleness markers (the master moves the targets after its grace period). */
  stop(): Promise<void>;
}

/** The assignment client's counters, fed from its events. */
interface ClientCounters {
  readonly partialSnapshotsDropped: Counter;
  readonly resourceExhausted: Counter;
}

function clientLog(log: WorkerLog, counters: ClientCounters, event: ClientEvent): void {
  switch (event.kind) {
    case 'partialSnapshotDropped':
      counters.partialSnapshotsDropped.inc();
      log('error', 'dropped a snapshot in parts that outgrew the buffer; reconnecting and scraping the last assignment', {
        generation: event.generation,
        bytes: event.bytes,
        limit_bytes: event.limitBytes,
      });
      break;
    case 'resourceExhausted':
      counters.resourceExhausted.inc();
      log('error', 'the stream to the master ended: a message exceeded the gRPC message size limit (RESOURCE_EXHAUSTED)', {
        details: event.details,
        limit_bytes: event.limitBytes,
      });
      break;
    case 'welcomed':
      log('info', 'connected to the master', { master: event.masterId, worker: event.workerId, leader_term: event.leaderTerm });
      break;
    case 'refused':
      log('warn', 'the master refused the stream', {
        reason: event.reason,
        message: event.message,
        retry_after_ms: event.retryAfterMs,
        ...(event.leaderAddress === '' ? {} : { leader: event.leaderAddress }),
      });
      break;
    case 'disconnected':
      log('warn', 'lost the master; scraping the last assignment', { reason: event.reason, reconnect_in_ms: event.reconnectInMs });
      break;
    case 'applied':
      log('debug', 'assignment applied', { generation: event.generation, added: event.added, removed: event.removed });
      break;
    case 'callbackFailed':
      log('error', 'assignment callback failed (a bug, please report)', { callback: event.callback, err: event.error });
      break;
    case 'draining':
    case 'drained':
    case 'stopped':
    case 'connecting':
    case 'pruned':
      log('debug', `assignment client: ${event.kind}`);
      break;
  }
}

function managerLog(log: WorkerLog, event: ScrapeManagerEvent): void {
  switch (event.kind) {
    case 'job-rejected':
      log('error', 'a scrape job from the master could not be used; its targets are not scraped', { job: event.job, err: event.error });
      break;
    case 'job-unusable':
      log('error', 'a scrape job from the master could not be used; its targets report up=0 with this error', { job: event.job, err: event.error });
      break;
    case 'endpoint-rejected':
      log('error', 'a remote_write endpoint from the master could not be used', { endpoint: event.endpoint, err: event.error });
      break;
    case 'target-without-job':
      log('error', 'a target names a job the worker does not have', { target: event.target, job: event.job });
      break;
    case 'remote-write':
      remoteWriteLog(log, event.endpoint, event.event);
      break;
    case 'queue-dir-removed':
      log('warn', 'removed the disk queue of a remote_write endpoint that is no longer configured; its samples are lost', {
        dir: event.dir,
        samples: event.samples,
        bytes: event.bytes,
      });
      break;
    case 'queue-dir-unreadable':
      log('error', 'cannot clean up the remote-write queue directory', { dir: event.dir, err: event.error });
      break;
  }
}

function remoteWriteLog(log: WorkerLog, endpoint: string, event: RemoteWriteEvent): void {
  switch (event.kind) {
    case 'retrying':
      if (event.attempt === 1) log('warn', 'remote write failed; retrying', { endpoint, err: event.error });
      break;
    case 'dropping':
      log('warn', 'remote write is dropping samples', { endpoint, reason: event.reason, samples: event.samples, err: event.error });
      break;
    case 'dropped':
      log('warn', 'remote write dropped samples', { endpoint, reason: event.reason, samples: event.samples, duration: formatDuration(event.durationMs) });
      break;
    case 'replaying':
      log('info', 'remote write replays its disk queue', { endpoint, samples: event.samples, bytes: event.bytes, corrupt_samples: event.corruptSamples });
      break;
    case 'disk-unavailable':
      log('error', 'remote write cannot open its disk queue; what does not fit in memory is dropped (disk_full)', { endpoint, err: event.error });
      break;
    case 'metadata-failed':
      log('warn', 'remote write metadata was rejected', { endpoint, entries: event.entries, err: event.error });
      break;
    case 'stopped':
      log('info', 'remote write queue stopped', {
        endpoint,
        flushed: String(event.flushed),
        dropped_samples: event.droppedSamples,
        spooled_samples: event.spooledSamples,
        spooled_bytes: event.spooledBytes,
      });
      break;
  }
}

/** Starts a worker: binds its HTTP server, then connects to the master. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const log = redactingLog(options.log);
  const linkController = new AbortController();
  const link = await loadMasterLink(options.masterLink ?? {}, {
    signal: linkController.signal,
    onRefresh: (what, outcome) => {
      if ('error' in outcome) log('warn', `fleet link: cannot reload the ${what === 'tls' ? 'TLS files' : 'token file'}; keeping the last good one`, { err: errorMessage(outcome.error) });
      else log('info', `fleet link: ${what === 'tls' ? 'TLS certificate or CA' : 'bearer token'} reloaded; the next stream uses it`);
    },
  });
  if (options.masterLink?.tokenFile !== undefined && options.masterLink.tls === undefined) {
    log('warn', 'the fleet link has no TLS: the bearer token travels in clear (--master.tls.ca-file, --master.tls.server-name)');
  }
  const registry = new Registry();
  registerProcessMetrics(registry, options.softwareVersion);
  const userAgent = `promfleet/${options.softwareVersion}`;
  const scrapeMetrics = new ScrapeMetrics(registry, () => scrapes.targets);
  const secretFiles = SecretFilePolicy.allowDirs(options.secretDirs ?? DEFAULT_SECRET_DIRS, { flag: SECRET_DIRS_FLAG });
  const scrapes: ScrapeManager = new ScrapeManager({
    userAgent,
    secretFiles,
    remoteWriteMetrics: new RemoteWriteMetrics(registry),
    observer: scrapeMetrics.observer,
    log: (event) => managerLog(log, event),
    ...(options.scrapeMaxBodySizeBytes === undefined ? {} : { maxBodySizeBytes: options.scrapeMaxBodySizeBytes }),
    ...(options.remoteWriteQueueDir === undefined ? {} : { queueDir: options.remoteWriteQueueDir }),
    ...(options.remoteWriteQueueMaxBytes === undefined ? {} : { queueMaxBytes: options.remoteWriteQueueMaxBytes }),
    ...(options.remoteWriteFlushDeadlineMs === undefined ? {} : { flushDeadlineMs: options.remoteWriteFlushDeadlineMs }),
  });
  const counters: ClientCounters = {
    partialSnapshotsDropped: new Counter({
      name: 'promfleet_worker_partial_snapshots_dropped_total',
      help: 'Snapshots in parts dropped before their last part because they outgrew the buffer (256 MiB estimated); each closes the stream.',
      registers: [registry],
    }),
    resourceExhausted: new Counter({
      name: 'promfleet_worker_master_streams_resource_exhausted_total',
      help: 'Streams to the master that ended with RESOURCE_EXHAUSTED: a message above the gRPC message size limit, either way.',
      registers: [registry],
    }),
  };
  const ownWebPort = fixedPort(options.webListenAddress);
  const client = new AssignmentClient({
    address: options.master,
    workerId: options.workerId,
    softwareVersion: options.softwareVersion,
    ...(ownWebPort === undefined ? {} : { webPort: ownWebPort }),
    ...(link.credentials === undefined ? {} : { credentials: link.credentials }),
    channelOptions: link.channelOptions,
    ...(link.callMetadata === undefined ? {} : { callMetadata: link.callMetadata }),
    healthReport: () => scrapes.healthReport(),
    onChange: (change) => scrapes.apply(change, client.state),
    log: (event) => clientLog(log, counters, event),
  });
  new Gauge({
    name: 'promfleet_worker_assignment_generation',
    help: 'The assignment generation the worker holds (0 before its first assignment).',
    registers: [registry],
    collect() {
      this.set(client.state.generation);
    },
  });
  new Gauge({
    name: 'promfleet_worker_master_connected',
    help: '1 while the worker has a welcomed stream to the master, else 0 (it keeps scraping its last assignment).',
    registers: [registry],
    collect() {
      this.set(client.connected ? 1 : 0);
    },
  });
  const status = new WorkerStatusServer({
    registry,
    source: {
      workerId: options.workerId,
      masterAddress: options.master,
      connected: () => client.connected,
      masterId: () => client.masterId,
      masterWebPort: () => client.masterWebPort,
      lastError: () => client.lastError,
      generation: () => client.state.generation,
      ready: () => client.state.generation > 0,
      loops: () => scrapes.loops(),
    },
  });
  let webPort: number;
  try {
    webPort = await status.listen(options.webListenAddress);
  } catch (err) {
    linkController.abort();
    throw err;
  }
  client.start();
  log('info', 'worker started', {
    worker: options.workerId,
    master: options.master,
    web: webPort,
    secret_dirs: String(secretFiles),
    master_tls: options.masterLink?.tls === undefined ? 'off' : options.masterLink.tls.certFile === undefined ? 'server' : 'mutual',
    master_token: options.masterLink?.tokenFile === undefined ? 'off' : 'on',
  });
  const stop = async (drain: boolean) => {
    const deadline = Date.now() + (options.drainTimeoutMs ?? 20_000);
    if (drain) await client.drain({ deadlineUnixMs: deadline, reason: 'SIGTERM' });
    await client.stop();
    linkController.abort();
    // The drain resolves once every last slot has passed; the scrapes of those slots may still be running.
    await scrapes.stop({ handoverWaitMs: drain ? deadline - Date.now() : 0 });
    await status.close();
    log('info', 'worker stopped');
  };
  return { webPort, client, manager: scrapes, drainAndStop: () => stop(true), stop: () => stop(false) };
}
