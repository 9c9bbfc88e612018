/**
 * One remote_write endpoint's queue: series references, sharded batching into compressed records, a per-shard FIFO
 * of records in memory followed by a bounded one on disk, retries with backoff, drops counted by reason, and a
 * bounded flush on stop that leaves what it could not send on disk for the next start. The counterpart of
 * Prometheus' `QueueManager` and `shards` (`storage/remote/queue_manager.go`); the disk queue stands in for the WAL
 * Prometheus replays, as vmagent's persistent queue does.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleepMs } from 'node:timers/promises';
import { compressSync } from 'snappy';
import type { SecretFilePolicy } from '@promfleet/credentials';
import { errorMessage, type Labels, type RemoteWriteConfig, type RemoteWriteMessage } from '@promfleet/model';
import { configureHttpClient, type ConfiguredHttpClient } from '../http-client.js';
import type { Exemplar, FamilyMetadata } from '../scrape/sink.js';
import { RemoteWriteClient } from './client.js';
import { createRequestEncoder, dropOlderThan, encodeMetadataRequest, type RequestEncoder } from './encode.js';
import { RemoteWriteRecoverableError, RemoteWriteRejectedError } from './errors.js';
import type { DropReason, MeteredQueue, QueueStats, RemoteWriteMetrics } from './metrics.js';
import { ExemplarBuffer, SampleFlag, SampleRing } from './ring.js';
import { buildSeriesRef, type SeriesRef } from './series.js';
import { Spool, type QueueRecord, type SpoolDrop, type SpoolFs } from './spool.js';

/** Where an endpoint's queue keeps its records on disk. */
export interface RemoteWriteDiskOptions {
  /** The endpoint's directory (see {@link endpointQueueDirName}); `shard-<i>` directories are made in it. */
  readonly dir: string;
  /** The size limit of the endpoint's disk queue, split evenly over its shards. */
  readonly maxBytes: number;
  /** The segment size of each shard's spool; the spool's default by default. */
  readonly segmentBytes?: number;
  /** The filesystem the spools use; `node:fs` by default (tests inject failures). */
  readonly fs?: SpoolFs;
}

/** Settings of a {@link RemoteWriteQueue}. */
export interface RemoteWriteQueueOptions {
  /** The endpoint, as `remoteWriteFromProto` gives it; `name` must be set (the master always sets it). */
  readonly config: RemoteWriteConfig;
  /** The global external labels, added to every series that lacks them. */
  readonly externalLabels: Labels;
  readonly metrics: RemoteWriteMetrics;
  /** The `User-Agent` of every request, for example `promfleet/0.1.0`. */
  readonly userAgent: string;
  /** The disk queue; without it the queue holds records in memory only (`--remote-write.queue-dir=""`). */
  readonly disk?: RemoteWriteDiskOptions;
  /** The wall clock in Unix ms, against which `sample_age_limit` is measured; `Date.now` by default. */
  readonly now?: () => number;
  /**
   * Waits `ms` (a retry's backoff, the metadata interval), resolving early, never rejecting, when `signal` aborts.
   * Real timers by default; tests pass a clock they advance.
   */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Receives the queue's events, for logs. Events carry no URL but the redacted one and never a header value. */
  readonly log?: (event: RemoteWriteEvent) => void;
  /** Which files the endpoint's HTTP client may read; unrestricted by default (see `configureHttpClient`). */
  readonly secretFiles?: SecretFilePolicy;
}

/** Something that happened to a queue, for logs. */
export type RemoteWriteEvent =
  | { readonly kind: 'retrying'; readonly samples: number; readonly attempt: number; readonly delayMs: number; readonly error: string }
  /** The first drop of an episode of drops for `reason`; an episode ends when a record is sent again, or at stop. */
  | { readonly kind: 'dropping'; readonly samples: number; readonly reason: DropReason; readonly error: string }
  /** The end of an episode: every sample it dropped, and how long it lasted. */
  | { readonly kind: 'dropped'; readonly samples: number; readonly reason: DropReason; readonly durationMs: number }
  /** What the disk queue held at start, sent before any new record. */
  | { readonly kind: 'replaying'; readonly samples: number; readonly bytes: number; readonly corruptSamples: number }
  /** The disk queue could not be opened (the records that needed it are dropped, `disk_full`); tried again later. */
  | { readonly kind: 'disk-unavailable'; readonly error: string }
  | { readonly kind: 'metadata-failed'; readonly entries: number; readonly error: string }
  | {
      readonly kind: 'stopped';
      /** Whether everything was sent before the flush deadline. */
      readonly flushed: boolean;
      /** Samples dropped at the deadline (`shutdown`: only without a disk queue). */
      readonly droppedSamples: number;
      /** Samples and bytes left on disk for the next start. */
      readonly spooledSamples: number;
      readonly spooledBytes: number;
    };

/** Input of {@link RemoteWriteQueue.start}. */
export interface RemoteWriteStartOptions {
  /**
   * Send nothing and open no disk queue before this settles (samples are still accepted, within the memory bound):
   * the flush of the queue this one replaces at the same URL, so that the receiver gets each series' older samples
   * first, and so that the old queue has closed the directory both use before this one opens it.
   */
  readonly sendAfter?: Promise<unknown>;
}

/** Input of {@link RemoteWriteQueue.stop}. */
export interface RemoteWriteStopOptions {
  /** How long to keep sending what is queued; the rest then goes to disk, or without one is dropped. Default 1 minute. */
  readonly flushDeadlineMs?: number;
}

/**
 * Shards when `min_shards` asks for no more: four requests in flight hide the receiver's latency while the main
 * thread encodes and compresses the next records; more would only queue behind them.
 */
const DEFAULT_SHARDS = 4;
const DEFAULT_FLUSH_DEADLINE_MS = 60_000;

/**
 * The directory name of an endpoint's disk queue: its name made filesystem-safe, `-`, and the first 8 hex digits of
 * the SHA-256 of its URL, so that two endpoints never share one and the URL (which may hold credentials) is never
 * written in clear.
 */
export function endpointQueueDirName(name: string, url: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_').slice(0, 64);
  return `${safe}-${createHash('sha256').update(url).digest('hex').slice(0, 8)}`;
}

/** The record a shard's sender holds: taken from memory, or the disk queue's head (`spoolId`). */
interface InFlight {
  record: QueueRecord;
  /** Its id in the shard's disk queue while it is that queue's head; undefined while only the sender holds it. */
  spoolId: number | undefined;
  /** It was on disk and the disk queue's size limit dropped it: only the sender holds it, older than all on disk. */
  overflowed: boolean;
  /** Read back from disk. */
  replayed: boolean;
}

interface Shard {
  readonly index: number;
  readonly ring: SampleRing;
  readonly exemplars: ExemplarBuffer;
  readonly encoder: RequestEncoder;
  /** The memory part of the FIFO, oldest first, from `memoryHead` on. */
  memory: (QueueRecord | undefined)[];
  memoryHead: number;
  /** Samples of the memory part, and of the record in flight while it is on no disk. */
  memorySamples: number;
  inFlight: InFlight | undefined;
  /** The disk part, once open. */
  spool: Spool | undefined;
  /** Why the disk part could not be opened the last time it was tried; logged when it changes. */
  diskError: string | undefined;
  /** Samples of the disk part's `discarded` (torn or corrupt records) already counted as dropped. */
  discardedSamples: number;
  /** Cuts a record from the ring at `batch_send_deadline`. */
  cutTimer: NodeJS.Timeout | undefined;
  /** Ends the sender's wait for a record, if it waits. */
  wake: (() => void) | undefined;
  /** The record in flight has failed at least once: the receiver is down or slow, so records go to disk. */
  retrying: boolean;
}

type State = 'new' | 'running' | 'stopping' | 'stopped';

/** A request as the client sends it. */
interface Request {
  readonly body: Buffer;
  readonly protocol: RemoteWriteMessage;
  readonly samples: number;
  readonly exemplars: number;
}

type SendOutcome = { readonly kind: 'sent' } | { readonly kind: 'rejected'; readonly error: string } | { readonly kind: 'aborted' };

/**
 * The queue of one remote_write endpoint. The scrape loop calls {@link seriesRef} once per series and
 * {@link append} per sample; nothing it calls blocks or throws, whatever the receiver does.
 *
 * **Shards.** A fixed number of shards, `min_shards` raised to 4 and capped at `max_shards`, each sending one
 * request at a time; a series always hashes to the same shard, so its samples are sent in order. Prometheus
 * reshards from measured throughput; in a single-threaded worker a shard is only an outstanding request, and four
 * keep the receiver busy while the next records are encoded, so the count stays fixed.
 *
 * **Records.** A shard's samples wait in columns (its `SampleRing`, 25 bytes a sample) until it holds
 * `max_samples_per_send` or `batch_send_deadline` passed; they are then encoded once in the endpoint's protocol and
 * snappy-compressed into a record, which is what is queued, sent, retried and written to disk from then on.
 *
 * **The FIFO of records.** Per shard, a memory part of at most `capacity` samples' worth, followed by a disk part (a
 * `Spool`, bounded by the endpoint's share of `--remote-write.queue-max-size`). A record goes to memory while the
 * disk part is empty, memory has room and the record in flight has not failed; when memory is full, or the record
 * in flight fails (the receiver is down or slow), every record of the memory part (the one in flight included)
 * moves to disk ahead of it, so at any time the shard's records are all in memory or all on disk, and the sender,
 * taking the head, sends every series in order. During an outage a crash thus loses only what the rings held. Beyond the disk limit the oldest records are dropped
 * (`queue_full`, exact counts); a write the filesystem refuses drops that record (`disk_full`). Without a disk
 * queue, memory holds `capacity × max_shards` samples per endpoint and the oldest records beyond are dropped.
 *
 * **Sending.** The head record is sent until the receiver takes or rejects it (Prometheus' `sendWriteRequestWithBackoff`):
 * recoverable failures (network, 5xx, 429 with `retry_on_http_429`) wait `min_backoff`, doubling up to
 * `max_backoff`; a `Retry-After` is the wait, whatever `max_backoff` says, and the next backoff is twice the wait
 * taken, capped at `max_backoff`. Other answers drop the record (`non_retryable`). Before each attempt a record
 * older than `sample_age_limit` is dropped (`too_old`), one partly older cut down to its newer samples.
 *
 * **Stop and start.** Stopping cuts what the rings hold into records and keeps sending for the flush deadline; then
 * every record still in memory, the one in flight included, is written to disk, and the disk queue is closed: the
 * next start replays it first. Without a disk queue what is left is dropped (`shutdown`).
 */
export class RemoteWriteQueue implements MeteredQueue {
  /** The endpoint's name (`config.name`). */
  readonly name: string;
  /** The endpoint's URL with its password replaced by `xxxxx`. */
  readonly redactedUrl: string;
  /** Whether this queue sends exemplars (`send_exemplars`). */
  readonly sendsExemplars: boolean;
  readonly #config: RemoteWriteConfig;
  readonly #protocol: RemoteWriteMessage;
  readonly #externalLabels: Labels;
  readonly #metrics: RemoteWriteMetrics;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #log: (event: RemoteWriteEvent) => void;
  readonly #http: ConfiguredHttpClient;
  readonly #client: RemoteWriteClient;
  readonly #disk: RemoteWriteDiskOptions | undefined;
  readonly #shards: Shard[];
  readonly #maxPerSend: number;
  /** Samples' worth of records a shard's memory part holds while a disk queue is open. */
  readonly #memoryCapacity: number;
  /** The same without a disk queue (or before it is open): the endpoint's `capacity × max_shards`, split over shards. */
  readonly #memoryOnlyCapacity: number;
  readonly #hardStop = new AbortController();
  /** Ends the metadata sender: at stop, as Prometheus stops its MetadataWatcher with the queue. */
  readonly #metadataStop = new AbortController();
  #state: State = 'new';
  #loops: Promise<void>[] = [];
  #stopping: Promise<void> | undefined;
  #sendAfter: Promise<unknown> = Promise.resolve();
  /** Settles once `sendAfter` has and the disk queues are open. */
  #ready: Promise<void> = Promise.resolve();
  #diskOpen = false;
  readonly #metadata = new Map<object, readonly FamilyMetadata[]>();
  #sent = 0;
  #failed = 0;
  #retried = 0;
  #bytes = 0;
  #exemplarsSent = 0;
  #metadataSent = 0;
  #replayed = 0;
  #highestSentMs = 0;
  #highestInMs = 0;
  readonly #dropped = new Map<DropReason, number>();
  /** Drop episodes in progress, by reason: samples so far and when the first was dropped (Unix ms). */
  readonly #episodes = new Map<DropReason, { samples: number; readonly sinceMs: number }>();

  /**
   * Prepares the queue; nothing is sent and no file opened before {@link start}.
   *
   * @throws CredentialsConfigError when a TLS file of `config.httpClient` cannot be read, and its subclass
   *   SecretFileRefusedError when `options.secretFiles` refuses a file the endpoint names.
   */
  constructor(options: RemoteWriteQueueOptions) {
    const { config } = options;
    this.name = config.name;
    this.#config = config;
    this.#protocol = config.protobufMessage;
    this.sendsExemplars = config.sendExemplars;
    this.#externalLabels = options.externalLabels;
    this.#metrics = options.metrics;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms, signal) => sleepMs(ms, undefined, { signal }).catch(() => undefined));
    this.#log = options.log ?? (() => undefined);
    this.#disk = options.disk;
    const q = config.queueConfig;
    this.#maxPerSend = Math.max(1, q.maxSamplesPerSend);
    const maxShards = Math.max(1, q.maxShards);
    const shards = Math.min(maxShards, Math.max(DEFAULT_SHARDS, q.minShards));
    this.#memoryCapacity = Math.max(1, q.capacity);
    this.#memoryOnlyCapacity = Math.ceil((Math.max(1, q.capacity) * maxShards) / shards);
    this.#shards = Array.from({ length: shards }, (_, index) => ({
      index,
      ring: new SampleRing(this.#maxPerSend),
      exemplars: new ExemplarBuffer(),
      encoder: createRequestEncoder({ protocol: this.#protocol, maxSamples: this.#maxPerSend }),
      memory: [],
      memoryHead: 0,
      memorySamples: 0,
      inFlight: undefined,
      spool: undefined,
      diskError: undefined,
      discardedSamples: 0,
      cutTimer: undefined,
      wake: undefined,
      retrying: false,
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
   * encoded for the endpoint's protocol with `metadata` (Remote-Write 2.0 sends it per series). Undefined when write
   * relabeling drops the series. Call once per series (and again when its metadata changes) and keep the result; it
   * is only valid for this queue.
   */
  seriesRef(labels: Labels, metadata?: FamilyMetadata): SeriesRef | undefined {
    return buildSeriesRef(labels, {
      externalLabels: this.#externalLabels,
      writeRelabelConfigs: this.#config.writeRelabelConfigs,
      protocol: this.#protocol,
      metadata,
    });
  }

  /**
   * Queues one sample of `ref` (integral Unix ms). With `stale` the staleness marker is sent and `value` is ignored.
   * Never blocks and never throws: once stopped, or older than `sample_age_limit`, the sample is dropped and counted.
   */
  // eslint-disable-next-line max-params -- the scrape loop's per-sample call: an options object would allocate per sample.
  append(ref: SeriesRef, timestampMs: number, value: number, stale?: boolean): void {
    if (timestampMs > this.#highestInMs) this.#highestInMs = timestampMs;
    if (this.#state === 'stopped') return this.#drop('shutdown', 1, 'the queue has stopped');
    const ageLimit = this.#config.queueConfig.sampleAgeLimitMs;
    if (ageLimit > 0 && this.#now() - timestampMs > ageLimit) return this.#drop('too_old', 1, 'older than sample_age_limit');
    const shard = this.#shardOf(ref);
    shard.ring.push(ref, { timestampMs, value, flags: stale === true ? SampleFlag.stale : 0 });
    if (shard.ring.size >= this.#maxPerSend) this.#cut(shard);
    else if (shard.cutTimer === undefined) this.#armCut(shard);
  }

  /** Queues an exemplar of `ref` with the next record of its shard; ignored unless `send_exemplars` is set. */
  appendExemplar(ref: SeriesRef, exemplar: Exemplar): void {
    if (!this.sendsExemplars || this.#state === 'stopped') return;
    const shard = this.#shardOf(ref);
    shard.exemplars.push(ref, exemplar);
    if (shard.cutTimer === undefined) this.#armCut(shard);
  }

  /** Records the series' created timestamp, which Remote-Write 2.0 sends with it; 1.0 has no place for it. */
  setCreatedTimestamp(ref: SeriesRef, createdMs: number): void {
    ref.createdTimestampMs = createdMs;
  }

  /**
   * A target's metadata (`owner` is its loop), kept for the Remote-Write 1.0 metadata requests sent every
   * `metadata_config.send_interval`; `undefined` forgets the target. Ignored when the endpoint sends no metadata.
   */
  targetMetadata(owner: object, families: readonly FamilyMetadata[] | undefined): void {
    if (!this.#sendsMetadata) return;
    if (families === undefined) this.#metadata.delete(owner);
    else this.#metadata.set(owner, families);
  }

  /**
   * Starts reporting metrics; once `options.sendAfter` has settled, opens the disk queue (its records are sent
   * first) and starts sending. Samples appended before are sent too. Calling it again does nothing.
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
    if (options.sendAfter === undefined) {
      this.#openDisk();
      this.#ready = Promise.resolve();
    } else {
      this.#ready = this.#sendAfter.then(() => this.#openDisk());
    }
    this.#loops = this.#shards.map((shard) => this.#runShard(shard));
    if (this.#sendsMetadata) void this.#runMetadata();
  }

  /**
   * Stops: samples are still taken until it resolves; what the rings hold is cut into records at once, and the
   * records are sent for up to `flushDeadlineMs`, counted from when the queue may send (a queue held back by
   * `sendAfter` flushes after it, as Prometheus stops one queue after the other on reload). Then the requests in
   * flight are aborted and every record not sent is written to the disk queue, which is closed; without a disk
   * queue those records are dropped (`shutdown`). Resolves once every shard has ended and the HTTP client is
   * closed; the queue's metrics are then removed. Calling it again returns the same promise. A queue that was never
   * started is started, so its samples get the same chance.
   */
  stop(options?: RemoteWriteStopOptions): Promise<void> {
    this.#stopping ??= this.#stop(options?.flushDeadlineMs ?? DEFAULT_FLUSH_DEADLINE_MS);
    return this.#stopping;
  }

  /** The queue's counts, as the metrics read them. */
  stats(): QueueStats {
    let memorySamples = 0;
    let diskSamples = 0;
    let diskBytes = 0;
    for (const shard of this.#shards) {
      memorySamples += shard.ring.size + shard.memorySamples;
      diskSamples += shard.spool?.samples ?? 0;
      diskBytes += shard.spool?.diskBytes ?? 0;
    }
    return {
      samplesSent: this.#sent,
      samplesFailed: this.#failed,
      samplesRetried: this.#retried,
      samplesDropped: this.#dropped,
      memorySamples,
      diskSamples,
      capacitySamples: (this.#disk === undefined ? this.#memoryOnlyCapacity : this.#memoryCapacity) * this.#shards.length,
      diskBytes,
      diskMaxBytes: this.#disk?.maxBytes ?? 0,
      shards: this.#shards.length,
      highestSentTimestampSeconds: this.#highestSentMs / 1000,
      highestInTimestampSeconds: this.#highestInMs / 1000,
      bytesSent: this.#bytes,
      exemplarsSent: this.#exemplarsSent,
      metadataSent: this.#metadataSent,
      replayedSamples: this.#replayed,
    };
  }

  get #sendsMetadata(): boolean {
    return this.#config.metadataConfig.send && this.#protocol === 'prometheus.WriteRequest';
  }

  async #stop(flushDeadlineMs: number): Promise<void> {
    this.start();
    this.#state = 'stopping';
    this.#metadataStop.abort();
    for (const shard of this.#shards) {
      this.#cut(shard);
      shard.wake?.();
    }
    await this.#ready;
    const deadline = setTimeout(() => this.#hardStop.abort(), flushDeadlineMs);
    await Promise.all(this.#loops);
    clearTimeout(deadline);
    this.#state = 'stopped';
    let spooledSamples = 0;
    let spooledBytes = 0;
    for (const shard of this.#shards) {
      // Oldest first: the record in flight, the memory part, then what the ring took since.
      this.#persist(shard);
      this.#cut(shard);
      spooledSamples += shard.spool?.samples ?? 0;
      spooledBytes += shard.spool?.bytes ?? 0;
      shard.spool?.close();
    }
    await this.#http.close().catch(() => undefined);
    this.#endEpisodes();
    this.#log({
      kind: 'stopped',
      flushed: !this.#hardStop.signal.aborted,
      droppedSamples: this.#dropped.get('shutdown') ?? 0,
      spooledSamples,
      spooledBytes,
    });
    this.#metrics.untrack(this);
  }

  /** At stop, after the sender ended: the record in flight and the memory part go to disk, or are dropped without one. */
  #persist(shard: Shard): void {
    const inFlight = shard.inFlight;
    shard.inFlight = undefined;
    if (inFlight !== undefined && inFlight.spoolId === undefined) {
      // A record the disk limit dropped while it was in flight is older than everything left on disk: written
      // after it, it would reach the receiver out of order. It is dropped as the overflow it was.
      if (inFlight.overflowed) this.#drop('queue_full', inFlight.record.samples, 'the disk queue is full');
      else this.#store(shard, inFlight.record);
    }
    for (let i = shard.memoryHead; i < shard.memory.length; i++) {
      const record = shard.memory[i];
      if (record !== undefined) this.#store(shard, record);
    }
    shard.memory = [];
    shard.memoryHead = 0;
    shard.memorySamples = 0;
  }

  /**
   * Writes `record` to the shard's disk queue at stop; drops it without a disk queue (`shutdown`), or when the disk
   * queue cannot be opened (`disk_full`).
   */
  #store(shard: Shard, record: QueueRecord): void {
    if (this.#disk === undefined) this.#drop('shutdown', record.samples, 'the flush deadline passed');
    else if (this.#ensureSpool(shard)) this.#appendToDisk(shard, record);
    else this.#drop('disk_full', record.samples, shard.diskError ?? 'the disk queue cannot be opened');
  }

  #shardOf(ref: SeriesRef): Shard {
    const shard = this.#shards[ref.hash % this.#shards.length];
    if (shard === undefined) throw new RangeError('no shard for series');
    return shard;
  }

  #armCut(shard: Shard): void {
    shard.cutTimer = setTimeout(() => {
      shard.cutTimer = undefined;
      this.#cut(shard);
    }, this.#config.queueConfig.batchSendDeadlineMs);
  }

  /** Turns every sample and exemplar the shard's ring holds into records, queued at the shard's tail. */
  #cut(shard: Shard): void {
    clearTimeout(shard.cutTimer);
    shard.cutTimer = undefined;
    while (shard.ring.size > 0 || shard.exemplars.size > 0) {
      const count = Math.min(shard.ring.size, this.#maxPerSend);
      const batch = shard.encoder.encode(shard.ring, count, shard.exemplars);
      shard.ring.shift(count);
      if (batch.samples === 0 && batch.exemplars === 0) continue;
      // Synchronous, into a buffer Node allocates: compressing a 2,000-sample batch takes ~0.1 ms, less than the
      // asynchronous call's thread hop, and snappy's natively allocated outputs held ~60 MB of RSS at 50
      // node-exporter targets (BENCHMARKS.md, "Worker").
      const body = compressSync(batch.body, { copyOutputData: true });
      this.#enqueue(shard, {
        protocol: this.#protocol,
        body,
        samples: batch.samples,
        exemplars: batch.exemplars,
        oldestTimestampMs: batch.oldestTimestampMs,
        newestTimestampMs: batch.newestTimestampMs,
      });
    }
  }

  /** Queues a record at the shard's tail: memory while it has room and the disk part is empty, else disk. */
  #enqueue(shard: Shard, record: QueueRecord): void {
    if (this.#state === 'stopped') {
      this.#store(shard, record);
      return;
    }
    const spool = shard.spool;
    const capacity = this.#disk !== undefined && this.#diskOpen ? this.#memoryCapacity : this.#memoryOnlyCapacity;
    if ((spool === undefined || spool.records === 0) && !(shard.retrying && spool !== undefined) && shard.memorySamples + record.samples <= capacity) {
      this.#pushMemory(shard, record);
    } else if (this.#disk === undefined || !this.#diskOpen) {
      // Memory only (or the disk queue not open yet): the oldest records not in flight make room.
      this.#pushMemory(shard, record);
      // The newest record stays, even alone above the bound (a `capacity` below `max_samples_per_send`).
      while (shard.memorySamples > capacity && shard.memory.length - shard.memoryHead > 1) {
        const oldest = this.#shiftMemory(shard);
        if (oldest !== undefined) this.#drop('queue_full', oldest.samples, 'the memory queue is full');
      }
    } else if (this.#ensureSpool(shard)) {
      // Memory stays as it is when the disk takes nothing: only the new record is then lost.
      const refused = shard.spool?.records === 0 ? this.#spill(shard) : undefined;
      if (refused === undefined) this.#appendToDisk(shard, record);
      else this.#drop('disk_full', record.samples, refused);
    } else {
      this.#drop('disk_full', record.samples, shard.diskError ?? 'the disk queue cannot be opened');
    }
    shard.wake?.();
  }

  #pushMemory(shard: Shard, record: QueueRecord): void {
    shard.memory.push(record);
    shard.memorySamples += record.samples;
  }

  /** Removes the memory part's oldest record. */
  #shiftMemory(shard: Shard): QueueRecord | undefined {
    const record = shard.memory[shard.memoryHead];
    if (record === undefined) return undefined;
    shard.memory[shard.memoryHead++] = undefined;
    shard.memorySamples -= record.samples;
    if (shard.memoryHead === shard.memory.length) {
      shard.memory = [];
      shard.memoryHead = 0;
    } else if (shard.memoryHead > 64 && shard.memoryHead * 2 > shard.memory.length) {
      shard.memory = shard.memory.slice(shard.memoryHead);
      shard.memoryHead = 0;
    }
    return record;
  }

  /**
   * Moves the memory part to the (empty) disk part, the record in flight first, so that the shard's records stay in
   * one FIFO: the sender then acknowledges the record in flight on disk when it is done with it. When the disk
   * refuses the first record, nothing moves and the error is returned; a later record it refuses is dropped
   * (`disk_full`).
   */
  #spill(shard: Shard): string | undefined {
    const spool = shard.spool;
    if (spool === undefined) return 'the disk queue is not open';
    let first = true;
    const inFlight = shard.inFlight;
    if (inFlight !== undefined && inFlight.spoolId === undefined && !inFlight.overflowed) {
      const refused = this.#appendToDisk(shard, inFlight.record, 'keep');
      if (refused !== undefined) return refused;
      inFlight.spoolId = spool.peek()?.id;
      shard.memorySamples -= inFlight.record.samples;
      first = false;
    }
    for (let record = shard.memory[shard.memoryHead]; record !== undefined; record = shard.memory[shard.memoryHead]) {
      const refused = this.#appendToDisk(shard, record, first ? 'keep' : 'drop');
      if (refused !== undefined && first) return refused;
      this.#shiftMemory(shard);
      first = false;
    }
    return undefined;
  }

  /**
   * Appends `record` to the shard's disk queue, counting what its size limit dropped (`queue_full`) or the record
   * itself when the filesystem refused it (`disk_full`; with `refused` 'keep' the caller still holds it and nothing
   * is counted). Returns undefined once written, else why the disk refused it.
   */
  #appendToDisk(shard: Shard, record: QueueRecord, refused: 'drop' | 'keep' = 'drop'): string | undefined {
    const spool = shard.spool;
    let dropped: SpoolDrop;
    try {
      if (spool === undefined) throw new Error('the disk queue is not open');
      dropped = spool.append(record);
    } catch (err) {
      if (refused === 'drop') this.#drop('disk_full', record.samples, errorMessage(err));
      return errorMessage(err);
    }
    if (dropped.records > 0) {
      let samples = dropped.samples;
      const inFlight = shard.inFlight;
      // The record in flight was the disk queue's head: if the limit dropped it, the sender still holds it and
      // may yet deliver it; it is counted when it is sent or, at stop, dropped.
      if (inFlight?.spoolId !== undefined && spool.peek()?.id !== inFlight.spoolId) {
        samples -= inFlight.record.samples;
        inFlight.spoolId = undefined;
        inFlight.overflowed = true;
        shard.memorySamples += inFlight.record.samples;
      }
      this.#drop('queue_full', samples, `the disk queue is full (${dropped.bytes} bytes dropped, oldest first)`);
    }
    return undefined;
  }

  /** Opens the shard's disk queue if it is not: a directory that could not be opened before is tried again. */
  #ensureSpool(shard: Shard): boolean {
    if (shard.spool !== undefined) return true;
    const disk = this.#disk;
    if (disk === undefined) return false;
    try {
      const { spool, recovered, discarded } = Spool.open(join(disk.dir, `shard-${shard.index}`), {
        maxBytes: Math.max(1, Math.floor(disk.maxBytes / this.#shards.length)),
        ...(disk.segmentBytes === undefined ? {} : { segmentBytes: disk.segmentBytes }),
        ...(disk.fs === undefined ? {} : { fs: disk.fs }),
      });
      shard.spool = spool;
      shard.diskError = undefined;
      shard.discardedSamples = discarded.samples;
      if (discarded.samples > 0) this.#drop('disk_full', discarded.samples, `the disk queue held ${discarded.records} torn or corrupt records`);
      if (recovered.records > 0 || discarded.samples > 0) {
        this.#log({ kind: 'replaying', samples: recovered.samples, bytes: recovered.bytes, corruptSamples: discarded.samples });
      }
      return true;
    } catch (err) {
      const error = errorMessage(err);
      if (shard.diskError !== error) this.#log({ kind: 'disk-unavailable', error });
      shard.diskError = error;
      return false;
    }
  }

  /**
   * Opens every shard's disk queue, once the queue it replaces closed them. Records taken meanwhile were held in
   * memory; they are newer than anything on disk, so they follow it there.
   */
  #openDisk(): void {
    if (this.#disk === undefined) return;
    for (const shard of this.#shards) {
      if (!this.#ensureSpool(shard)) continue;
      if ((shard.spool?.records ?? 0) > 0) this.#spill(shard);
    }
    this.#diskOpen = true;
  }

  /** The shard's sender (Prometheus `runShard`): the head record, until stopped and drained or aborted. */
  async #runShard(shard: Shard): Promise<void> {
    await this.#ready;
    const signal = this.#hardStop.signal;
    while (!signal.aborted) {
      const next = shard.inFlight ?? this.#take(shard);
      if (next === undefined) {
        if (this.#state === 'stopping') {
          if (shard.ring.size === 0 && shard.exemplars.size === 0) break;
          this.#cut(shard);
          continue;
        }
        await this.#waitForRecord(shard);
        continue;
      }
      if ((await this.#sendRecord(shard, next)) === 'aborted') break;
      shard.retrying = false;
      if (next.spoolId !== undefined) shard.spool?.ack(next.spoolId);
      else shard.memorySamples -= next.record.samples;
      shard.inFlight = undefined;
    }
  }

  /**
   * The shard's record in flight failed for the first time: while the receiver does not take it, what memory holds
   * moves to disk (the record in flight first) and new records follow, so that a crash (`kill -9`) during an outage
   * loses at most what the ring has not cut yet, not the memory part.
   */
  #failing(shard: Shard): void {
    if (shard.retrying) return;
    shard.retrying = true;
    if (this.#diskOpen && this.#ensureSpool(shard) && shard.spool?.records === 0) this.#spill(shard);
  }

  /** Makes the shard's head record the one in flight: memory first, then disk. */
  #take(shard: Shard): InFlight | undefined {
    const fromMemory = this.#shiftMemory(shard);
    if (fromMemory !== undefined) {
      // Still counted in memory while the sender holds it.
      shard.memorySamples += fromMemory.samples;
      shard.inFlight = { record: fromMemory, spoolId: undefined, overflowed: false, replayed: false };
      return shard.inFlight;
    }
    const spool = shard.spool;
    const head = spool?.peek();
    if (spool !== undefined && spool.discarded.samples > shard.discardedSamples) {
      // Reading found records the disk did not keep intact (corrupt, or unreadable): lost with the disk.
      this.#drop('disk_full', spool.discarded.samples - shard.discardedSamples, 'the disk queue could not read back some records');
      shard.discardedSamples = spool.discarded.samples;
    }
    if (head === undefined) return undefined;
    shard.inFlight = { record: head, spoolId: head.id, overflowed: false, replayed: true };
    return shard.inFlight;
  }

  #waitForRecord(shard: Shard): Promise<void> {
    return new Promise((resolve) => {
      shard.wake = () => {
        shard.wake = undefined;
        resolve();
      };
    });
  }

  /**
   * Sends a record until the receiver takes or rejects it, dropping it (or its older part) once it is older than
   * `sample_age_limit`. Resolves to 'aborted' when the flush deadline ended it first (it is then still queued).
   */
  async #sendRecord(shard: Shard, inFlight: InFlight): Promise<'done' | 'aborted'> {
    const ageLimit = this.#config.queueConfig.sampleAgeLimitMs;
    let record: QueueRecord | undefined = inFlight.record;
    const outcome = await this.#sendWithBackoff(() => {
      if (record === undefined) return undefined;
      if (ageLimit > 0 && record.samples > 0) {
        const cutoff = this.#now() - ageLimit;
        if (record.newestTimestampMs < cutoff) {
          this.#drop('too_old', record.samples, 'older than sample_age_limit');
          record = undefined;
        } else if (record.oldestTimestampMs < cutoff) {
          const kept: QueueRecord | undefined = dropOlderThan(record, cutoff);
          this.#drop('too_old', record.samples - (kept?.samples ?? 0), 'older than sample_age_limit');
          record = kept;
        }
      }
      return record;
    }, this.#hardStop.signal, () => this.#failing(shard));
    if (outcome === undefined) return 'done';
    switch (outcome.kind) {
      case 'aborted':
        return 'aborted';
      case 'rejected':
        if (record !== undefined) {
          this.#failed += record.samples;
          this.#drop('non_retryable', record.samples, outcome.error);
        }
        return 'done';
      case 'sent':
        if (record !== undefined) {
          this.#sent += record.samples;
          this.#exemplarsSent += record.exemplars;
          this.#bytes += record.body.length;
          if (inFlight.replayed) this.#replayed += record.samples;
          if (record.samples > 0) this.#highestSentMs = Math.max(this.#highestSentMs, record.newestTimestampMs);
        }
        this.#endEpisodes();
        return 'done';
    }
  }

  /**
   * Prometheus' `sendWriteRequestWithBackoff`: `prepare` gives the request before each attempt (undefined: nothing
   * left to send, resolves undefined); recoverable failures are retried after the backoff or the `Retry-After`.
   */
  async #sendWithBackoff(prepare: () => Request | undefined, signal: AbortSignal, onFailure?: () => void): Promise<SendOutcome | undefined> {
    const { minBackoffMs, maxBackoffMs } = this.#config.queueConfig;
    let backoffMs = minBackoffMs;
    for (let attempt = 0; !signal.aborted; attempt++) {
      const request = prepare();
      if (request === undefined) return undefined;
      const started = performance.now();
      try {
        await this.#client.store(request, signal);
        this.#metrics.observeBatch(this, (performance.now() - started) / 1000);
        return { kind: 'sent' };
      } catch (err) {
        this.#metrics.observeBatch(this, (performance.now() - started) / 1000);
        if (signal.aborted) return { kind: 'aborted' };
        if (!(err instanceof RemoteWriteRecoverableError)) {
          return { kind: 'rejected', error: err instanceof RemoteWriteRejectedError ? err.message : `remote write to ${this.redactedUrl}: ${errorMessage(err)}` };
        }
        onFailure?.();
        // client.go gives Retry-After only where Prometheus honours it; the wait is not capped by max_backoff.
        const delayMs = err.details.retryAfterMs ?? backoffMs;
        this.#log({ kind: 'retrying', samples: request.samples, attempt: attempt + 1, delayMs, error: err.message });
        await this.#sleep(delayMs, signal);
        if (signal.aborted) return { kind: 'aborted' };
        this.#retried += request.samples;
        backoffMs = Math.min(delayMs * 2, maxBackoffMs);
      }
    }
    return { kind: 'aborted' };
  }

  /**
   * Remote-Write 1.0 metadata, as Prometheus' `MetadataWatcher` and `sendMetadataWithBackoff`: every
   * `send_interval`, the union of what the targets expose, in requests of at most `max_samples_per_send` entries,
   * with the samples' retry rules; not kept on disk (the next interval sends it again).
   */
  async #runMetadata(): Promise<void> {
    const { sendIntervalMs, maxSamplesPerSend } = this.#config.metadataConfig;
    const signal = this.#metadataStop.signal;
    await this.#ready;
    while (!signal.aborted) {
      await this.#sleep(sendIntervalMs, signal);
      if (signal.aborted) break;
      const entries = this.#metadataUnion();
      const perRequest = Math.max(1, maxSamplesPerSend);
      for (let from = 0; from < entries.length && !signal.aborted; from += perRequest) {
        const chunk = entries.slice(from, from + perRequest);
        const body = compressSync(encodeMetadataRequest(chunk), { copyOutputData: true });
        const outcome = await this.#sendWithBackoff(() => ({ body, protocol: 'prometheus.WriteRequest', samples: 0, exemplars: 0 }), signal);
        if (outcome?.kind === 'sent') this.#metadataSent += chunk.length;
        else if (outcome?.kind === 'rejected') this.#log({ kind: 'metadata-failed', entries: chunk.length, error: outcome.error });
      }
    }
  }

  /** Every family's metadata over the targets, each distinct entry once. */
  #metadataUnion(): FamilyMetadata[] {
    const seen = new Set<string>();
    const out: FamilyMetadata[] = [];
    for (const families of this.#metadata.values()) {
      for (const m of families) {
        const key = `${m.family}\u0000${m.type}\u0000${m.help}\u0000${m.unit}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(m);
      }
    }
    return out;
  }

  /** Counts `samples` dropped for `reason`; the first drop of an episode is logged with its cause. */
  #drop(reason: DropReason, samples: number, error: string): void {
    if (samples <= 0) return;
    this.#dropped.set(reason, (this.#dropped.get(reason) ?? 0) + samples);
    const episode = this.#episodes.get(reason);
    if (episode !== undefined) {
      episode.samples += samples;
      return;
    }
    this.#episodes.set(reason, { samples, sinceMs: this.#now() });
    this.#log({ kind: 'dropping', samples, reason, error });
  }

  /** Ends the drop episodes in progress, logging what each dropped. */
  #endEpisodes(): void {
    if (this.#episodes.size === 0) return;
    const now = this.#now();
    for (const [reason, episode] of this.#episodes) this.#log({ kind: 'dropped', reason, samples: episode.samples, durationMs: now - episode.sinceMs });
    this.#episodes.clear();
  }
}
