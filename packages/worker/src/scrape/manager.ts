/**
 * The scrape manager: turns the assignment the worker holds into running scrape loops, one per target, with one
 * HTTP client per job and one remote-write queue per endpoint. It acts on each applied snapshot or delta
 * (AssignmentChange) in the order the protocol gives, and answers the health report the master asks for.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SecretFilePolicy } from '@promfleet/credentials';
import { errorMessage, type ScrapeConfig, type TargetId } from '@promfleet/model';
import { sameItems, type AssignedEndpoint, type AssignedJob, type AssignmentChange, type AssignmentState, type HeldTarget, type TargetHealthRecord } from '../assignment/state.js';
import type { RemoteWriteMetrics } from '../remote/metrics.js';
import { RemoteWriteQueue, endpointQueueDirName, type RemoteWriteEvent } from '../remote/queue.js';
import { Spool } from '../remote/spool.js';
import { ScrapeLoop, type ScrapeHealth, type ScrapeObserver, type Scraper } from './loop.js';
import { TargetScraper, type ScrapeResponse } from './scraper.js';

/** Something the manager reports for logs; never a URL with credentials or a header value. */
export type ScrapeManagerEvent =
  | { readonly kind: 'job-rejected'; readonly job: string; readonly error: string }
  | { readonly kind: 'job-unusable'; readonly job: string; readonly error: string }
  | { readonly kind: 'endpoint-rejected'; readonly endpoint: string; readonly error: string }
  | { readonly kind: 'target-without-job'; readonly target: TargetId; readonly job: string }
  | { readonly kind: 'remote-write'; readonly endpoint: string; readonly event: RemoteWriteEvent }
  /** A directory of the queue dir that belongs to no configured endpoint was removed, with what it held. */
  | { readonly kind: 'queue-dir-removed'; readonly dir: string; readonly samples: number; readonly bytes: number }
  | { readonly kind: 'queue-dir-unreadable'; readonly dir: string; readonly error: string };

/** Options of {@link ScrapeManager}. */
export interface ScrapeManagerOptions {
  readonly userAgent: string;
  /** Which files the jobs' and endpoints' HTTP clients may read: the settings come from the master. */
  readonly secretFiles: SecretFilePolicy;
  readonly remoteWriteMetrics: RemoteWriteMetrics;
  readonly observer?: ScrapeObserver;
  readonly log?: (event: ScrapeManagerEvent) => void;
  /** How long stopping may spend sending what the queues hold; 10 s by default. */
  readonly flushDeadlineMs?: number;
  /**
   * The directory of the disk queues (`--remote-write.queue-dir`), one directory per endpoint in it; undefined or ""
   * keeps the queues in memory only.
   */
  readonly queueDir?: string;
  /** The size limit of each endpoint's disk queue, in bytes (`--remote-write.queue-max-size`). */
  readonly queueMaxBytes?: number;
  /**
   * The body size limit of the jobs whose `body_size_limit` is 0 (unset), in decompressed bytes; 0 means none.
   * `DEFAULT_MAX_BODY_SIZE_BYTES` (64 MiB) by default. A job's own limit wins, above or below it.
   */
  readonly maxBodySizeBytes?: number;
  readonly now?: () => number;
}

interface JobRuntime {
  /** The job as the state held it when the runtime was last brought up to date. */
  readonly job: AssignedJob;
  readonly config: ScrapeConfig;
  readonly scraper: JobScraper;
}

/** What a job's loops scrape through; closed when the job goes or changes. */
type JobScraper = Scraper & { close(): Promise<void> };

/**
 * The scraper of a job whose HTTP client could not be built (a TLS file unreadable, a file the secret file policy
 * refuses): every scrape fails with that error, so each target reports up=0 and the error as its last error, as a
 * credentials file that cannot be read does at each scrape.
 */
class UnusableJobScraper implements JobScraper {
  constructor(private readonly error: unknown) {}

  scrape(): Promise<ScrapeResponse> {
    return Promise.reject(this.error instanceof Error ? this.error : new Error(errorMessage(this.error)));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A running remote-write endpoint: the endpoint it runs for (unchanged while the same object), its queue and URL. */
interface RunningEndpoint {
  readonly endpoint: AssignedEndpoint;
  readonly url: string;
  /** Its directory's name in the queue dir. */
  readonly dirName: string;
  readonly queue: RemoteWriteQueue;
}

/**
 * The default of {@link ScrapeManagerOptions.queueMaxBytes}, 1.5 GiB: a receiver outage of at least 10 minutes at a
 * worker's 100,000 samples/s. Measured by queueing 1,000,233 samples of the shared harness' node-exporter payload (50
 * targets, 1,549 series each, the payload's four value variants in turn, 15 s apart) into a queue whose receiver is
 * down and reading the bytes its disk queue held: 22.9 bytes per sample with Remote-Write 1.0, 13.9 with 2.0
 * (records of 2,000 samples, snappy-compressed, frame headers included). 60 million samples then take 1.37 GB with
 * 1.0 (11.7 minutes fit) and 0.83 GB with 2.0 (19 minutes fit).
 */
export const DEFAULT_QUEUE_MAX_BYTES = 1536 * 2 ** 20;

/** How {@link DEFAULT_QUEUE_MAX_BYTES} was chosen, for the flag's help. */
export const QUEUE_SIZE_NOTE = 'the default holds 11 minutes of 100k samples/s of node-exporter data (23 bytes per sample queued with Remote-Write 1.0, 19 with 2.0), 5 minutes of label-heavy kube-state-metrics data (51 bytes per sample)';

/** A directory {@link endpointQueueDirName} made: the sweep removes nothing else. */
const ENDPOINT_DIR = /^[A-Za-z0-9_.-]+-[0-9a-f]{8}$/;

/** Runs the worker's scrape loops. One instance per worker. */
export class ScrapeManager {
  readonly #jobs = new Map<string, JobRuntime>();
  readonly #loops = new Map<TargetId, ScrapeLoop>();
  /** The running queues, in the master's order. */
  #endpoints: RunningEndpoint[] = [];
  /**
   * Per URL, settles once every queue stopped for that URL so far has flushed (or hit its flush deadline); a new
   * queue for the URL sends only then. Entries go when they settle.
   */
  readonly #flushing = new Map<string, Promise<void>>();
  /** Queue directories of stopped queues still flushing (a directory may be named twice). */
  readonly #retiringDirs: string[] = [];
  /**
   * Queue directories of every endpoint the master lists, whether or not its queue could be built (a TLS file not
   * mounted yet): the sweep never removes the backlog of an endpoint that is still configured.
   */
  #configuredDirs = new Set<string>();
  #swept = false;
  #stopping = false;

  constructor(private readonly options: ScrapeManagerOptions) {}

  get #queues(): RemoteWriteQueue[] {
    return this.#endpoints.map((e) => e.queue);
  }

  /** How many targets have a running loop (targets handed over but not past their last slot included). */
  get targets(): number {
    return this.#loops.size;
  }

  /** Acts on one applied assignment change; `state` is the assignment after it. */
  apply(change: AssignmentChange, state: AssignmentState): void {
    if (this.#stopping) return;
    if (change.remoteWriteChanged) this.#setEndpoints(state.remoteWrite);
    if (change.jobsChanged) {
      this.#setJobs(state.jobs);
      // Targets whose job was missing or unusable until now get their loops.
      for (const target of state.targets.values()) if (!this.#loops.has(target.id)) this.#add(target);
    }
    for (const removal of change.removed) {
      const loop = this.#loops.get(removal.id);
      if (loop === undefined) continue;
      if (removal.reason === 'moved') {
        loop.handOver(removal.lastSlotUnixMs);
      } else {
        this.#loops.delete(removal.id);
        void loop.stop('gone');
      }
    }
    for (const target of change.added) this.#add(target);
  }

  /** The health of every target with a loop, for the master's HealthReport. */
  healthReport(): TargetHealthRecord[] {
    const out: TargetHealthRecord[] = [];
    for (const [id, loop] of this.#loops) out.push({ id, health: loop.health() });
    return out;
  }

  /** Every target's loop, for the status page. */
  *loops(): Iterable<{ readonly id: TargetId; readonly job: string; readonly url: string; readonly health: ScrapeHealth }> {
    for (const [id, loop] of this.#loops) yield { id, job: loop.target.job, url: loop.url, health: loop.health() };
  }

  /**
   * Stops every loop without staleness markers (the series continue on a successor), then flushes the queues.
   * Loops handing a target over first finish their last slot's scrape (at most `handoverWaitMs`), so a drained
   * worker's last samples are not lost.
   */
  async stop(options: { handoverWaitMs?: number } = {}): Promise<void> {
    this.#stopping = true;
    const loops = [...this.#loops.values()];
    await Promise.all(loops.map((l) => l.handedOver(options.handoverWaitMs ?? 0)));
    await Promise.all(loops.map((l) => l.stop('shutdown')));
    this.#loops.clear();
    await Promise.all([...this.#queues.map((q) => q.stop({ flushDeadlineMs: this.#flushDeadlineMs })), ...this.#flushing.values()]);
    await Promise.all([...this.#jobs.values()].map((j) => j.scraper.close()));
  }

  #add(target: HeldTarget): void {
    const existing = this.#loops.get(target.id);
    if (existing?.keep(target.firstSlotUnixMs) === true) return;
    const job = this.#jobs.get(target.job);
    if (job === undefined) {
      this.options.log?.({ kind: 'target-without-job', target: target.id, job: target.job });
      return;
    }
    const loop = new ScrapeLoop({
      target,
      firstSlotUnixMs: target.firstSlotUnixMs,
      job: job.config,
      scraper: job.scraper,
      sinks: this.#queues,
      forcedError: job.job.forcedError,
      ...(this.options.observer === undefined ? {} : { observer: this.options.observer }),
      ...(this.options.now === undefined ? {} : { now: this.options.now }),
    });
    loop.onFinished = () => {
      if (this.#loops.get(target.id) === loop) this.#loops.delete(target.id);
    };
    this.#loops.set(target.id, loop);
    loop.start();
  }

  /** Builds each changed job's client and reconfigures its loops; a job whose settings were rejected keeps its old ones. */
  #setJobs(jobs: ReadonlyMap<string, AssignedJob>): void {
    for (const [name, job] of jobs) {
      const current = this.#jobs.get(name);
      if (current?.job === job) continue;
      if (current?.job.settings === job.settings) {
        // Only the forced error (target_limit) changed: the loops keep their caches, so the staleness markers
        // of a forced error cover every series, as in Prometheus.
        this.#jobs.set(name, { ...current, job });
        for (const loop of this.#loops.values()) if (loop.target.job === name) loop.setForcedError(job.forcedError);
        continue;
      }
      const settings = job.settings;
      if (settings.kind === 'rejected') {
        this.options.log?.({ kind: 'job-rejected', job: name, error: settings.error });
        continue;
      }
      const runtime: JobRuntime = { job, config: settings.config, scraper: this.#scraper(settings.config) };
      this.#jobs.set(name, runtime);
      for (const loop of this.#loops.values()) {
        if (loop.target.job === name) loop.reconfigure({ job: runtime.config, scraper: runtime.scraper, sinks: this.#queues, forcedError: job.forcedError });
      }
      if (current !== undefined) void current.scraper.close();
    }
    for (const [name, runtime] of this.#jobs) {
      if (jobs.has(name)) continue;
      this.#jobs.delete(name);
      void runtime.scraper.close();
    }
  }

  get #flushDeadlineMs(): number {
    return this.options.flushDeadlineMs ?? 10_000;
  }

  #scraper(job: ScrapeConfig): JobScraper {
    try {
      return new TargetScraper({
        job,
        userAgent: this.options.userAgent,
        secretFiles: this.options.secretFiles,
        ...(this.options.maxBodySizeBytes === undefined ? {} : { maxBodySizeBytes: this.options.maxBodySizeBytes }),
      });
    } catch (err) {
      this.options.log?.({ kind: 'job-unusable', job: job.jobName, error: errorMessage(err) });
      return new UnusableJobScraper(err);
    }
  }

  /**
   * Moves to new remote-write endpoints: a queue whose endpoint (name and settings) is unchanged keeps running with
   * the samples it holds; new endpoints get a queue, and the queues of endpoints that left or changed stop, sending
   * what they hold within the flush deadline. Loops move to the new list of sinks at once. A new queue for a URL whose
   * old queue still flushes takes samples but sends them only once that flush is over: the receiver would reject the
   * old queue's samples as out of order after newer ones of the same series, as Prometheus, which stops the old queue
   * before it starts the new, never has it do.
   */
  #setEndpoints(endpoints: readonly AssignedEndpoint[]): void {
    if (sameItems(endpoints, this.#endpoints.map((e) => e.endpoint))) return;
    const leaving = new Map(this.#endpoints.map((e) => [e.endpoint, e]));
    const next: RunningEndpoint[] = [];
    const started: RunningEndpoint[] = [];
    this.#configuredDirs = new Set(endpoints.filter((e) => e.name !== '' && e.url !== '').map((e) => endpointQueueDirName(e.name, e.url)));
    for (const endpoint of endpoints) {
      const kept = leaving.get(endpoint);
      if (kept !== undefined) {
        leaving.delete(endpoint);
        next.push(kept);
        continue;
      }
      const settings = endpoint.settings;
      if (settings.kind === 'rejected') {
        this.options.log?.({ kind: 'endpoint-rejected', endpoint: endpoint.name, error: settings.error });
        continue;
      }
      try {
        const { config, externalLabels } = settings;
        const dirName = endpointQueueDirName(config.name, config.url);
        const queueDir = this.options.queueDir ?? '';
        const queue = new RemoteWriteQueue({
          config,
          externalLabels,
          ...(queueDir === '' ? {} : { disk: { dir: join(queueDir, dirName), maxBytes: this.options.queueMaxBytes ?? DEFAULT_QUEUE_MAX_BYTES } }),
          metrics: this.options.remoteWriteMetrics,
          userAgent: this.options.userAgent,
          secretFiles: this.options.secretFiles,
          log: (event) => this.options.log?.({ kind: 'remote-write', endpoint: config.name, event }),
          ...(this.options.now === undefined ? {} : { now: this.options.now }),
        });
        const entry = { endpoint, url: config.url, dirName, queue };
        next.push(entry);
        started.push(entry);
      } catch (err) {
        this.options.log?.({ kind: 'endpoint-rejected', endpoint: endpoint.name, error: errorMessage(err) });
      }
    }
    this.#endpoints = next;
    const queues = this.#queues;
    for (const loop of this.#loops.values()) {
      const job = this.#jobs.get(loop.target.job);
      if (job !== undefined) loop.reconfigure({ job: job.config, scraper: job.scraper, sinks: queues, forcedError: job.job.forcedError });
    }
    for (const endpoint of leaving.values()) this.#retire(endpoint);
    for (const { url, queue } of started) {
      const flushing = this.#flushing.get(url);
      queue.start(flushing === undefined ? {} : { sendAfter: flushing });
    }
    if (!this.#swept) {
      this.#swept = true;
      this.#sweepQueueDir();
    }
  }

  /**
   * Removes the directories of the queue dir that belong to no endpoint (configured, or stopped and still flushing),
   * logging what each held: the data of an endpoint that is gone would otherwise fill the worker's disk for good.
   * Runs with the first remote-write settings and whenever a stopped queue's flush ends. Only directories named
   * as endpoint directories are touched.
   */
  #sweepQueueDir(): void {
    const root = this.options.queueDir ?? '';
    if (root === '' || this.#stopping) return;
    let names: string[];
    try {
      names = readdirSync(root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.options.log?.({ kind: 'queue-dir-unreadable', dir: root, error: errorMessage(err) });
      return;
    }
    const inUse = new Set([...this.#configuredDirs, ...this.#endpoints.map((e) => e.dirName), ...this.#retiringDirs]);
    for (const name of names) {
      if (inUse.has(name) || !ENDPOINT_DIR.test(name)) continue;
      const dir = join(root, name);
      try {
        if (!statSync(dir).isDirectory()) continue;
        const held = measureQueueDir(dir);
        rmSync(dir, { recursive: true, force: true });
        this.options.remoteWriteMetrics.countRemovedQueueDir(held.samples);
        this.options.log?.({ kind: 'queue-dir-removed', dir: name, ...held });
      } catch (err) {
        this.options.log?.({ kind: 'queue-dir-unreadable', dir: name, error: errorMessage(err) });
      }
    }
  }

  /** Stops `endpoint`'s queue; its flush joins the URL's, after the flushes of the queues stopped before it. */
  #retire(endpoint: RunningEndpoint): void {
    const before = this.#flushing.get(endpoint.url);
    this.#retiringDirs.push(endpoint.dirName);
    const flushed = Promise.all([before, endpoint.queue.stop({ flushDeadlineMs: this.#flushDeadlineMs })]).then(() => {
      if (this.#flushing.get(endpoint.url) === flushed) this.#flushing.delete(endpoint.url);
      this.#retiringDirs.splice(this.#retiringDirs.indexOf(endpoint.dirName), 1);
      this.#sweepQueueDir();
    });
    this.#flushing.set(endpoint.url, flushed);
  }
}

/**
 * What an endpoint directory's disk queues hold: bytes of every file, samples as each shard's spool reads them back
 * (opening a spool may cut a torn tail, which is harmless for a directory about to be removed).
 */
function measureQueueDir(dir: string): { samples: number; bytes: number } {
  const bytes = directoryBytes(dir);
  let samples = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    try {
      const { spool, recovered } = Spool.open(join(dir, entry.name), { maxBytes: Number.MAX_SAFE_INTEGER });
      samples += recovered.samples;
      spool.close();
    } catch {
      // Unreadable: only its bytes are known.
    }
  }
  return { samples, bytes };
}

/** The bytes of every file under `dir`. */
function directoryBytes(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) bytes += directoryBytes(path);
    else if (entry.isFile()) bytes += statSync(path).size;
  }
  return bytes;
}
