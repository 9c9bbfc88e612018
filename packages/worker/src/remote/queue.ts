/**
 * One remote_write endpoint's queue: series references, sharded in-memory buffering with a soft and a hard bound,
 * batching, retries with backoff, and a bounded flush on stop. The counterpart of Prometheus' `QueueManager` and
 * `shards` (`storage/remote/queue_manager.go`), without the WAL: a worker is stateless, so what does not fit the
 * bound is dropped and counted, and the scrape loop skips scrapes while the queue is full.
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import { compressSync } from 'snappy';
import type { SecretFilePolicy } from '@promfleet/credentials';
import { errorMessage, type Labels, type RemoteWriteConfig } from '@promfleet/model';
import { configureHttpClient, type ConfiguredHttpClient } from '../http-client.js';
import { RemoteWriteClient } from './client.js';
import { createRequestEncoder, type EncodedBatch, type RequestEncoder } from './encode.js';
import { RemoteWriteRecoverableError, RemoteWriteRejectedError } from './errors.js';
import type { FamilyMetadata } from '../scrape/sink.js';
import type { DropReason, MeteredQueue, QueueStats, RemoteWriteMetrics } from './metrics.js';
import { ExemplarBuffer, SampleFlag, SampleRing } from './ring.js';
import { buildSeriesRef, type SeriesRef } from './series.js';

/** Settings of a {@link RemoteWriteQueue}. */
export interface RemoteWriteQueueOptions {
  /** The endpoint, as `remoteWriteFromProto` gives it; `name` must be set (the master always sets it). */
  readonly config: RemoteWriteConfig;
  /** The global external labels, added to every series that lacks them. */
  readonly externalLabels: Labels;
  readonly metrics: RemoteWriteMetrics;
  /** The `User-Agent` of every request, for example `promfleet/0.1.0`. */
  readonly userAgent: string;
  /** The wall clock in Unix ms, against which `sample_age_limit` is measured; `Date.now` by default. */
  readonly now?: () => number;
  /** Receives the queue's events, for logs. Events carry no URL but the redacted one and never a header value. */
  readonly log?: (event: RemoteWriteEvent) => void;
  /** Which files the endpoint's HTTP client may read; unrestricted by default (see `configureHttpClient`). */
  readonly secretFiles?: SecretFilePolicy;
}

/** Something that happened to a queue, for logs. */
export type RemoteWriteEvent =
  | { readonly kind: 'retrying'; readonly samples: number; readonly attempt: number; readonly delayMs: number; readonly error: string }
  | { readonly kind: 'dropped'; readonly samples: number; readonly reason: DropReason; readonly error: string }
  | { readonly kind: 'stopped'; readonly flushed: boolean; readonly droppedSamples: number };

/** Input of {@link RemoteWriteQueue.start}. */
export interface RemoteWriteStartOptions {
  /**
   * Send nothing before this settles (samples are still accepted, within the queue's bounds): the flush of the queue
   * this one replaces at the same URL, so that the receiver gets each series' older samples first.
   */
  readonly sendAfter?: Promise<unknown>;
}

/** Input of {@link RemoteWriteQueue.stop}. */
export interface RemoteWriteStopOptions {
  /** How long to keep sending what is queued; the rest is then dropped. Prometheus' `--storage.remote.flush-deadline`, default 1 minute. */
  readonly flushDeadlineMs?: number;
}

/**
 * Shards when `min_shards` asks for no more: four requests in flight hide the receiver's latency while the main
 * thread encodes and compresses the next batches; more would only queue behind them.
 */
const DEFAULT_SHARDS = 4;
/** The hard bound as a multiple of the soft one: room for the scrapes already running when the soft bound is hit. */
const HARD_BOUND_FACTOR = 2;
const DEFAULT_FLUSH_DEADLINE_MS = 60_000;

interface Shard {
  readonly ring: SampleRing;
  readonly encoder: RequestEncoder;
  readonly exemplars: ExemplarBuffer;
  /** Samples at the head of the ring that form the batch being sent. */
  inFlight: number;
  /** When the oldest sample not yet in a batch arrived, on the monotonic clock. */
  unsentSinceMs: number;
  /** Ends the shard's current wait, if it waits. */
  wake: (() => void) | undefined;
}

type State = 'new' | 'running' | 'stopping' | 'stopped';

/**
 * The queue of one remote_write endpoint. The scrape loop calls {@link seriesRef} once per series and
 * {@link append} per sample, and checks {@link hasRoom} before each scrape; nothing it calls blocks or throws for a
 * full queue.
 *
 * **Shards.** A fixed number of shards, `min_shards` raised to 4 and capped at `max_shards`, each sending one
 * request at a time; a series always hashes to the same shard, so its samples are sent in order. Prometheus
 * reshards from measured throughput, which needs all shards flushed before the count changes; in a single-threaded
 * worker a shard is only an outstanding request, and four keep the receiver busy while the next batches are encoded,
 * so the count stays fixed.
 *
 * **Bounds.** The soft bound is `capacity × max_shards` samples queued or in flight — what Prometheus holds in memory
 * per queue at full sharding (its `capacity` is per shard); Prometheus buffers more in its WAL, which a stateless
 * worker has not. {@link hasRoom} is false from the soft bound on; samples beyond twice the soft bound are dropped
 * (`queue_full`), so scrapes that were already running when the bound was hit still fit.
 *
 * **Memory.** 25 bytes per queued sample in columns (series pointer, timestamp, value, flags), up to 50 while a
 * shard's ring has just doubled: 12.5 MB at the default soft bound of 500,000 samples, 25 MB at the hard bound.
 * Series references are shared with the scrape cache.
 *
 * **Sending.** A shard sends when it holds `max_samples_per_send` samples, or `batch_send_deadline` after the oldest
 * unsent one arrived, or at once while stopping. Recoverable failures (network, 5xx, 429 with
 * `retry_on_http_429`) resend the same batch after `min_backoff`, doubling up to `max_backoff`; a `Retry-After`
 * replaces the delay, capped at `max_backoff`. Other answers drop the batch (`http_<status>`). Before every attempt
 * samples older than `sample_age_limit` are dropped (`too_old`), as Prometheus does from 2.49.
 */
export class RemoteWriteQueue implements MeteredQueue {
  /** The endpoint's name (`config.name`). */
  readonly name: string;
  /** The endpoint's URL with its password replaced by `xxxxx`. */
  readonly redactedUrl: string;
  readonly #config: RemoteWriteConfig;
  readonly #externalLabels: Labels;
  readonly #metrics: RemoteWriteMetrics;
  readonly #now: () => number;
  readonly #log: (event: RemoteWriteEvent) => void;
  readonly #http: ConfiguredHttpClient;
  readonly #client: RemoteWriteClient;
  readonly #shards: Shard[];
  readonly #maxPerSend: number;
  readonly #softBound: number;
  readonly #hardBound: number;
  readonly #hardStop = new AbortController();
  #state: State = 'new';
  #loops: Promise<void>[] = [];
  #stopping: Promise<void> | undefined;
  #sendAfter: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #sent = 0;
  #failed = 0;
  #retried = 0;
  #bytes = 0;
  #highestSentMs = 0;
  #highestInMs = 0;
  readonly #dropped = new Map<DropReason, number>();

  /**
   * Prepares the queue; nothing is sent before {@link start}.
   *
   * @throws CredentialsConfigError when a TLS file of `config.httpClient` cannot be read, and its subclass
   *   SecretFileRefusedError when `options.secretFiles` refuses a file the endpoint names.
   */
  constructor(options: RemoteWriteQueueOptions) {
    const { config } = options;
    this.name = config.name;
    this.#config = config;
    this.#externalLabels = options.externalLabels;
    this.#metrics = options.metrics;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => undefined);
    const q = config.queueConfig;
    this.#maxPerSend = Math.max(1, q.maxSamplesPerSend);
    const maxShards = Math.max(1, q.maxShards);
    const shards = Math.min(maxShards, Math.max(DEFAULT_SHARDS, q.minShards));
    this.#softBound = Math.max(1, q.capacity) * maxShards;
    this.#hardBound = this.#softBound * HARD_BOUND_FACTOR;
    this.#shards = Array.from({ length: shards }, () => ({
      ring: new SampleRing(Math.min(this.#maxPerSend * 2, this.#softBound)),
      encoder: createRequestEncoder({ protocol: config.protobufMessage, maxSamples: this.#maxPerSend }),
      exemplars: new ExemplarBuffer(),
      inFlight: 0,
      unsentSinceMs: 0,
      wake: undefined,
    }));
    this.#http = configureHttpClient(config.httpClient, {
      context: `remote_write ${config.name}`,
      ...(options.secretFiles === undefined ? {} : { secretFiles: options.secretFiles }),
    });
    this.#client = new RemoteWriteClient({
      url: config.url,
      timeoutMs: config.remoteTimeoutMs,
      headers: config.headers,
      retryOnHttp429: q.retryOnHttp429,
      userAgent: options.userAgent,
      http: this.#http,
    });
    this.redactedUrl = this.#client.redactedUrl;
  }

  /**
   * The series `labels` is at this endpoint: external labels added where absent, `write_relabel_configs` applied,
   * labels sorted and encoded. Undefined when write relabeling drops the series. Call once per series and keep the
   * result; it is only valid for this queue.
   */
  seriesRef(labels: Labels, metadata?: FamilyMetadata): SeriesRef | undefined {
    return buildSeriesRef(labels, {
      externalLabels: this.#externalLabels,
      writeRelabelConfigs: this.#config.writeRelabelConfigs,
      protocol: this.#config.protobufMessage,
      metadata,
    });
  }

  /**
   * Queues one sample of `ref` (integral Unix ms). With `stale` the staleness marker is sent and `value` is ignored.
   * Never blocks and never throws: beyond the hard bound, after {@link stop}, or older than `sample_age_limit`, the
   * sample is dropped and counted.
   */
  // eslint-disable-next-line max-params -- the scrape loop's per-sample call: an options object would allocate per sample.
  append(ref: SeriesRef, timestampMs: number, value: number, stale?: boolean): void {
    if (timestampMs > this.#highestInMs) this.#highestInMs = timestampMs;
    if (this.#state === 'stopping' || this.#state === 'stopped') return this.#drop('shutdown', 1);
    if (this.#pending >= this.#hardBound) return this.#drop('queue_full', 1);
    const ageLimit = this.#config.queueConfig.sampleAgeLimitMs;
    if (ageLimit > 0 && this.#now() - timestampMs > ageLimit) return this.#drop('too_old', 1);
    const shard = this.#shardOf(ref);
    shard.ring.push(ref, { timestampMs, value, flags: stale === true ? SampleFlag.stale : 0 });
    this.#pending++;
    const unsent = shard.ring.size - shard.inFlight;
    if (unsent === 1) {
      shard.unsentSinceMs = performance.now();
      shard.wake?.();
    } else if (unsent === this.#maxPerSend) {
      shard.wake?.();
    }
  }

  /** Exemplars are not sent yet. */
  readonly sendsExemplars = false;

  appendExemplar(): void {
    return undefined;
  }

  setCreatedTimestamp(): void {
    return undefined;
  }

  targetMetadata(): void {
    return undefined;
  }

  /** Whether the queue is below its soft bound. */
  hasRoom(): boolean {
    return this.#pending < this.#softBound;
  }

  /**
   * Starts reporting metrics, and sending once `options.sendAfter` has settled. Samples appended before are sent too.
   * Calling it again does nothing.
   */
  start(options: RemoteWriteStartOptions = {}): void {
    if (this.#state !== 'new') return;
    this.#state = 'running';
    if (options.sendAfter !== undefined) {
      this.#sendAfter = options.sendAfter.then(
        () => undefined,
        () => undefined,
      );
    }
    this.#metrics.track(this);
    this.#loops = this.#shards.map((shard) => this.#runShard(shard));
  }

  /**
   * Stops accepting samples and sends what is queued for up to `flushDeadlineMs`, as Prometheus' `shards.stop` does
   * with its flush deadline (counted from when the queue may send: a queue held back by `sendAfter` flushes after
   * it, as Prometheus stops one queue after the other on reload); then aborts the requests in flight and drops the
   * rest (`shutdown`). Resolves once every shard has ended and the HTTP client is closed; the queue's metrics are
   * then removed. Calling it again returns the same promise. A queue that was never started is started, so its
   * samples get the same chance.
   */
  stop(options?: RemoteWriteStopOptions): Promise<void> {
    this.#stopping ??= this.#stop(options?.flushDeadlineMs ?? DEFAULT_FLUSH_DEADLINE_MS);
    return this.#stopping;
  }

  /** The queue's counts, as the metrics read them. */
  stats(): QueueStats {
    return {
      samplesSent: this.#sent,
      samplesFailed: this.#failed,
      samplesRetried: this.#retried,
      samplesDropped: this.#dropped,
      pendingSamples: this.#pending,
      capacitySamples: this.#softBound,
      shards: this.#shards.length,
      highestSentTimestampSeconds: this.#highestSentMs / 1000,
      highestInTimestampSeconds: this.#highestInMs / 1000,
      bytesSent: this.#bytes,
    };
  }

  async #stop(flushDeadlineMs: number): Promise<void> {
    this.start();
    this.#state = 'stopping';
    for (const shard of this.#shards) shard.wake?.();
    await this.#sendAfter;
    const deadline = setTimeout(() => this.#hardStop.abort(), flushDeadlineMs);
    await Promise.all(this.#loops);
    clearTimeout(deadline);
    this.#state = 'stopped';
    await this.#http.close().catch(() => undefined);
    this.#log({ kind: 'stopped', flushed: !this.#hardStop.signal.aborted, droppedSamples: this.#dropped.get('shutdown') ?? 0 });
    this.#metrics.untrack(this);
  }

  #shardOf(ref: SeriesRef): Shard {
    const shard = this.#shards[ref.hash % this.#shards.length];
    if (shard === undefined) throw new RangeError('no shard for series');
    return shard;
  }

  /** One shard's send loop (Prometheus `runShard`): batch, send, repeat; ends when stopped and drained or aborted. */
  async #runShard(shard: Shard): Promise<void> {
    const deadlineMs = this.#config.queueConfig.batchSendDeadlineMs;
    await this.#sendAfter;
    while (!this.#hardStop.signal.aborted) {
      const unsent = shard.ring.size;
      const stopping = this.#state === 'stopping';
      if (unsent === 0) {
        if (stopping) break;
        await this.#wait(shard, undefined);
        continue;
      }
      const waitMs = shard.unsentSinceMs + deadlineMs - performance.now();
      if (unsent < this.#maxPerSend && !stopping && waitMs > 0) {
        await this.#wait(shard, waitMs);
        continue;
      }
      const count = Math.min(unsent, this.#maxPerSend);
      shard.inFlight = count;
      if (!(await this.#sendBatch(shard, count))) break;
      this.#release(shard, count);
    }
    // Aborted by the flush deadline: whatever is left, in flight or queued, is lost.
    this.#drop('shutdown', countKept(shard.ring, shard.ring.size));
    this.#release(shard, shard.ring.size);
  }

  #release(shard: Shard, count: number): void {
    shard.ring.shift(count);
    shard.inFlight = 0;
    this.#pending -= count;
  }

  /** Waits until `ms` passed (forever when undefined) or the shard is woken. */
  #wait(shard: Shard, ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        shard.wake = undefined;
        resolve();
      }
      shard.wake = done;
    });
  }

  /**
   * Sends the `count` oldest samples of `shard` until the receiver takes them or rejects them (Prometheus
   * `sendSamplesWithBackoff` + `sendWriteRequestWithBackoff`). Resolves to true once the batch is done with, false
   * when the flush deadline aborted it first (its samples are then still to be counted). Never throws.
   */
  async #sendBatch(shard: Shard, count: number): Promise<boolean> {
    const { minBackoffMs, maxBackoffMs } = this.#config.queueConfig;
    const signal = this.#hardStop.signal;
    let backoffMs = minBackoffMs;
    let request: { readonly batch: EncodedBatch; readonly body: Buffer } | undefined;
    for (let attempt = 0; !signal.aborted; attempt++) {
      if (this.#dropTooOld(shard, count) > 0) request = undefined;
      if (request === undefined) {
        const batch = shard.encoder.encode(shard.ring, count, shard.exemplars);
        if (batch.samples === 0) return true;
        try {
          // Synchronous, into a buffer Node allocates: compressing a 2,000-sample batch takes ~0.1 ms, less than
          // the asynchronous call's thread hop, and snappy's natively allocated outputs held ~60 MB of RSS at 50
          // node-exporter targets (BENCHMARKS.md, "Worker").
          request = { batch, body: compressSync(batch.body, { copyOutputData: true }) };
        } catch (err) {
          this.#fail({ samples: batch.samples, reason: 'error', error: errorMessage(err) });
          return true;
        }
      }
      const started = performance.now();
      try {
        await this.#client.store(
          { body: request.body, protocol: this.#config.protobufMessage, samples: request.batch.samples, exemplars: request.batch.exemplars },
          signal,
        );
        this.#metrics.observeBatch(this, (performance.now() - started) / 1000);
        this.#sent += request.batch.samples;
        this.#bytes += request.body.length;
        this.#highestSentMs = Math.max(this.#highestSentMs, request.batch.newestTimestampMs);
        return true;
      } catch (err) {
        this.#metrics.observeBatch(this, (performance.now() - started) / 1000);
        if (signal.aborted) return false;
        if (!(err instanceof RemoteWriteRecoverableError)) {
          const reason: DropReason = err instanceof RemoteWriteRejectedError ? `http_${err.status}` : 'error';
          this.#fail({ samples: request.batch.samples, reason, error: errorMessage(err) });
          return true;
        }
        const retryAfterMs = err.details.retryAfterMs;
        const delayMs = retryAfterMs === undefined ? backoffMs : Math.min(retryAfterMs, maxBackoffMs);
        this.#log({ kind: 'retrying', samples: request.batch.samples, attempt, delayMs, error: err.message });
        await sleepMs(delayMs, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) return false;
        this.#retried += request.batch.samples;
        backoffMs = Math.min(delayMs * 2, maxBackoffMs);
      }
    }
    return false;
  }

  /** A batch that will never be sent: failed (Prometheus' failed_samples_total) and dropped with its reason. */
  #fail(failure: { readonly samples: number; readonly reason: DropReason; readonly error: string }): void {
    this.#failed += failure.samples;
    this.#drop(failure.reason, failure.samples);
    this.#log({ kind: 'dropped', ...failure });
  }

  /** Flags the batch's samples older than `sample_age_limit` as dropped (Prometheus `isSampleOld`); returns how many. */
  #dropTooOld(shard: Shard, count: number): number {
    const limit = this.#config.queueConfig.sampleAgeLimitMs;
    if (limit <= 0) return 0;
    const now = this.#now();
    const { ring } = shard;
    let dropped = 0;
    for (let i = 0; i < count; i++) {
      const at = ring.index(i);
      const flags = ring.flags[at] ?? 0;
      if ((flags & SampleFlag.dropped) === 0 && now - (ring.timestamps[at] ?? 0) > limit) {
        ring.flags[at] = flags | SampleFlag.dropped;
        dropped++;
      }
    }
    this.#drop('too_old', dropped);
    return dropped;
  }

  #drop(reason: DropReason, samples: number): void {
    if (samples > 0) this.#dropped.set(reason, (this.#dropped.get(reason) ?? 0) + samples);
  }
}

/** The samples among the `count` oldest of `ring` not already flagged dropped. */
function countKept(ring: SampleRing, count: number): number {
  let kept = 0;
  for (let i = 0; i < count; i++) {
    if (((ring.flags[ring.index(i)] ?? 0) & SampleFlag.dropped) === 0) kept++;
  }
  return kept;
}
