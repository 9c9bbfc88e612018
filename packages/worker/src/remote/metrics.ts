/**
 * Remote-write self-metrics, one set for all queues, each series labelled `remote_name` and `url` (redacted). The
 * counterparts of Prometheus' `prometheus_remote_storage_*` (`storage/remote/queue_manager.go` `newQueueManagerMetrics`).
 *
 * Queues count in plain numbers and the metrics read them when scraped, so the hot path never hashes a label set;
 * a stopped queue's series disappear, as Prometheus unregisters a stopped queue's metrics.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Why samples were dropped: `queue_full` (the oldest records beyond the queue's bound: the disk queue's size limit, or
 * the memory bound without a disk queue), `disk_full` (a record the filesystem refused to store), `non_retryable`
 * (a request the receiver rejected with a status that is not retried), `shutdown` (left when the flush deadline
 * passed, only without a disk queue), `too_old` (older than `sample_age_limit`).
 */
export type DropReason = 'queue_full' | 'disk_full' | 'non_retryable' | 'shutdown' | 'too_old';

/** Every {@link DropReason}: each has a series (at 0) from a queue's start, so that alerts need no `or vector(0)`. */
export const dropReasons: readonly DropReason[] = ['queue_full', 'disk_full', 'non_retryable', 'shutdown', 'too_old'];

/** A queue's counts, as {@link RemoteWriteMetrics} reads them. Counters only ever grow. */
export interface QueueStats {
  /** Samples the receiver accepted. */
  readonly samplesSent: number;
  /** Samples of requests that failed for good (a non-recoverable status); also counted as dropped, `non_retryable`. */
  readonly samplesFailed: number;
  /** Samples sent again after a recoverable failure, once per retry. */
  readonly samplesRetried: number;
  /** Samples that will never be sent, by reason. */
  readonly samplesDropped: ReadonlyMap<DropReason, number>;
  /** Samples held in memory: not yet cut into a record, or in records of the memory part (the one in flight included). */
  readonly memorySamples: number;
  /** Samples in the records of the disk queue. */
  readonly diskSamples: number;
  /** The samples the memory part holds at most before records go to disk (or, without a disk queue, are dropped). */
  readonly capacitySamples: number;
  /** The disk queue's size, in bytes of its files. */
  readonly diskBytes: number;
  /** The disk queue's size limit (`--remote-write.queue-max-size`); 0 without a disk queue. */
  readonly diskMaxBytes: number;
  /** Exemplars the receiver accepted. */
  readonly exemplarsSent: number;
  /** Metadata entries the receiver accepted (Remote-Write 1.0 `metadata_config`). */
  readonly metadataSent: number;
  /** Samples read back from the disk queue that the receiver accepted. */
  readonly replayedSamples: number;
  readonly shards: number;
  /** The newest sample timestamp the receiver accepted, in Unix seconds; 0 before the first. */
  readonly highestSentTimestampSeconds: number;
  /** The newest sample timestamp handed to the queue (dropped ones included), in Unix seconds; 0 before the first. */
  readonly highestInTimestampSeconds: number;
  /** Compressed request bytes the receiver accepted. */
  readonly bytesSent: number;
}

/** What the metrics need from a queue. */
export interface MeteredQueue {
  /** The endpoint's name. */
  readonly name: string;
  /** The endpoint's URL, redacted. */
  readonly redactedUrl: string;
  stats(): QueueStats;
}

/**
 * The remote-write metrics on a prom-client registry. Create one per process; every `RemoteWriteQueue` given it
 * reports through it from `start()` until `stop()` resolves.
 */
export class RemoteWriteMetrics {
  readonly #queues = new Set<MeteredQueue>();
  readonly #batchDuration: Histogram<'remote_name' | 'url'>;

  /** Registers the metrics on `registry`. */
  constructor(registry: Registry) {
    const registers = [registry];
    const queues = this.#queues;
    const labelsOf = (q: MeteredQueue) => ({ remote_name: q.name, url: q.redactedUrl });
    const perQueue = (options: {
      readonly name: string;
      readonly help: string;
      readonly kind: 'counter' | 'gauge';
      readonly value: (stats: QueueStats) => number;
    }): void => {
      const collect = function (this: Counter<'remote_name' | 'url'> | Gauge<'remote_name' | 'url'>): void {
        this.reset();
        for (const q of queues) {
          const value = options.value(q.stats());
          if (this instanceof Counter) this.inc(labelsOf(q), value);
          else this.set(labelsOf(q), value);
        }
      };
      const config = { name: options.name, help: options.help, labelNames: ['remote_name', 'url'] as const, registers, collect };
      if (options.kind === 'counter') new Counter(config);
      else new Gauge(config);
    };
    perQueue({
      name: 'promfleet_remote_write_samples_total',
      help: 'Samples the remote-write receiver accepted.',
      kind: 'counter',
      value: (s) => s.samplesSent,
    });
    perQueue({
      name: 'promfleet_remote_write_samples_failed_total',
      help: 'Samples of requests the receiver rejected with a status that is not retried (also counted as dropped, reason non_retryable).',
      kind: 'counter',
      value: (s) => s.samplesFailed,
    });
    perQueue({
      name: 'promfleet_remote_write_samples_retried_total',
      help: 'Samples sent again after a recoverable failure (network error, 5xx, 429 with retry_on_http_429), once per retry.',
      kind: 'counter',
      value: (s) => s.samplesRetried,
    });
    new Counter({
      name: 'promfleet_remote_write_samples_dropped_total',
      help: 'Samples that will never be sent, by reason: queue_full (oldest beyond the queue size limit), disk_full (the filesystem refused the write), non_retryable (rejected by the receiver), shutdown (left at the flush deadline without a disk queue), too_old (sample_age_limit).',
      labelNames: ['remote_name', 'url', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const q of queues) {
          const dropped = q.stats().samplesDropped;
          for (const reason of dropReasons) this.inc({ ...labelsOf(q), reason }, dropped.get(reason) ?? 0);
        }
      },
    });
    new Gauge({
      name: 'promfleet_remote_write_queue_samples',
      help: 'Samples waiting to be sent, where they are: memory (not yet in a record, or in the memory part of the queue, in flight included) or disk.',
      labelNames: ['remote_name', 'url', 'where'],
      registers,
      collect() {
        this.reset();
        for (const q of queues) {
          const stats = q.stats();
          this.set({ ...labelsOf(q), where: 'memory' }, stats.memorySamples);
          this.set({ ...labelsOf(q), where: 'disk' }, stats.diskSamples);
        }
      },
    });
    perQueue({
      name: 'promfleet_remote_write_queue_capacity_samples',
      help: 'Samples the memory part of the queue holds at most (queue_config.capacity per shard); beyond, records go to disk, or without a disk queue the oldest are dropped (capacity times max_shards).',
      kind: 'gauge',
      value: (s) => s.capacitySamples,
    });
    perQueue({
      name: 'promfleet_remote_write_queue_disk_bytes',
      help: 'Bytes of the disk queue (--remote-write.queue-dir).',
      kind: 'gauge',
      value: (s) => s.diskBytes,
    });
    perQueue({
      name: 'promfleet_remote_write_queue_disk_max_bytes',
      help: 'The disk queue size limit (--remote-write.queue-max-size); 0 without a disk queue. Beyond it the oldest records are dropped (queue_full).',
      kind: 'gauge',
      value: (s) => s.diskMaxBytes,
    });
    perQueue({
      name: 'promfleet_remote_write_exemplars_sent_total',
      help: 'Exemplars the remote-write receiver accepted (send_exemplars).',
      kind: 'counter',
      value: (s) => s.exemplarsSent,
    });
    perQueue({
      name: 'promfleet_remote_write_metadata_sent_total',
      help: 'Metric metadata entries the remote-write receiver accepted (Remote-Write 1.0 metadata_config).',
      kind: 'counter',
      value: (s) => s.metadataSent,
    });
    perQueue({
      name: 'promfleet_remote_write_replayed_samples_total',
      help: 'Samples read back from the disk queue that the receiver accepted (also in samples_total).',
      kind: 'counter',
      value: (s) => s.replayedSamples,
    });
    perQueue({
      name: 'promfleet_remote_write_shards',
      help: 'Shards sending in parallel.',
      kind: 'gauge',
      value: (s) => s.shards,
    });
    perQueue({
      name: 'promfleet_remote_write_highest_timestamp_in_seconds',
      help: 'The newest sample timestamp handed to the queue, dropped samples included, in Unix seconds; minus highest_sent_timestamp_seconds, how far sending is behind.',
      kind: 'gauge',
      value: (s) => s.highestInTimestampSeconds,
    });
    perQueue({
      name: 'promfleet_remote_write_highest_sent_timestamp_seconds',
      help: 'The newest sample timestamp the receiver accepted, in Unix seconds.',
      kind: 'gauge',
      value: (s) => s.highestSentTimestampSeconds,
    });
    perQueue({
      name: 'promfleet_remote_write_bytes_total',
      help: 'Compressed request bytes the receiver accepted.',
      kind: 'counter',
      value: (s) => s.bytesSent,
    });
    this.#batchDuration = new Histogram({
      name: 'promfleet_remote_write_sent_batch_duration_seconds',
      help: 'Duration of one remote-write request, whatever its outcome.',
      labelNames: ['remote_name', 'url'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60],
      registers,
    });
  }

  /** Reports `queue` from now on. Called by the queue when it starts. */
  track(queue: MeteredQueue): void {
    this.#queues.add(queue);
  }

  /** Stops reporting `queue` and removes its series. Called by the queue when it has stopped. */
  untrack(queue: MeteredQueue): void {
    this.#queues.delete(queue);
    this.#batchDuration.remove({ remote_name: queue.name, url: queue.redactedUrl });
  }

  /** Records one request's duration. */
  observeBatch(queue: MeteredQueue, seconds: number): void {
    this.#batchDuration.observe({ remote_name: queue.name, url: queue.redactedUrl }, seconds);
  }
}
