/**
 * What the scrape loop hands its samples to: one remote-write queue per endpoint. The contract between the scrape
 * side (parsing, relabeling, the series cache) and the remote-write side (queues, encoding, the disk queue).
 */
import type { Labels } from '@promfleet/model';
import type { MetricType } from './parser-core.js';

/**
 * A metric family's metadata as a target exposes it (`# HELP`, `# TYPE`, `# UNIT`). Immutable: when a target's
 * metadata for a family changes, the loop makes a new object, so identity tells a change.
 */
export interface FamilyMetadata {
  /** The family name as the exposition's TYPE/HELP line writes it (`http_requests` in OpenMetrics, `http_requests_total` in the text format). */
  readonly family: string;
  /** `unknown` when the exposition gave no TYPE. */
  readonly type: MetricType;
  /** "" when none. */
  readonly help: string;
  /** "" when none. */
  readonly unit: string;
}

/** One exemplar of a sample (OpenMetrics `# {labels} value [timestamp]`). */
export interface Exemplar {
  readonly labels: Labels;
  readonly value: number;
  /** Unix ms: the exemplar's own, or the sample's when the exposition gave none (as Prometheus does). */
  readonly timestampMs: number;
}

/**
 * A remote-write endpoint as the scrape loop sees it. Nothing here blocks or throws: a sink that cannot take a
 * sample drops and counts it itself, so one endpoint never holds back another, and the loop never skips a scrape
 * for a full queue.
 */
export interface SampleSink {
  /**
   * The series' reference at this sink, or undefined when the sink drops it (write relabeling). Called once per
   * series, and again when the series' family metadata changes (`metadata` is that of the family whose HELP/TYPE/UNIT
   * lines precede the series, when the series belongs to it by Prometheus' rule (`isSeriesPartOfFamily`): the series
   * name without its type's suffix (`_total`, `_bucket`, `_count`, `_sum`, `_info`, `_gcount`, `_gsum`) is the family
   * name; undefined otherwise, also for OpenMetrics `_created` series, which that rule gives none).
   */
  seriesRef(labels: Labels, metadata: FamilyMetadata | undefined): unknown;
  /** Queues a sample; `stale` writes Prometheus' staleness marker instead of `value`. */
  append(ref: unknown, timestampMs: number, value: number, stale?: boolean): void;
  /** Whether this sink sends exemplars (`send_exemplars`); the loop reads exemplars only when some sink does. */
  readonly sendsExemplars: boolean;
  /** Queues an exemplar of the series `ref`, after the sample it belongs to was appended. */
  appendExemplar(ref: unknown, exemplar: Exemplar): void;
  /**
   * The created timestamp (Unix ms) of a counter, histogram or summary series, from OpenMetrics `_created`, when it
   * is known and differs from the last one given for `ref`. Remote-Write 2.0 sends it with the series.
   */
  setCreatedTimestamp(ref: unknown, createdMs: number): void;
  /**
   * A target's metadata as of its last successful scrape, given when it changed (`owner` identifies the target's
   * loop; compare by identity); `undefined` once the loop ends. Remote-Write 1.0 sends the union every
   * `metadata_config.send_interval`.
   */
  targetMetadata(owner: object, families: readonly FamilyMetadata[] | undefined): void;
}
