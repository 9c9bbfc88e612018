/**
 * A series' identity at one remote-write endpoint: its final label set (external labels, then
 * write_relabel_configs), sorted and prepared once for the endpoint's protocol (encoded `TimeSeries.labels` fields
 * for 1.0, the label strings for 2.0), so that sending a sample never encodes a label again.
 */
import { compareLabelNames, relabel, type Labels, type RelabelRule, type RemoteWriteMessage } from '@promfleet/model';
import type { FamilyMetadata } from '../scrape/sink.js';

/**
 * A series as one remote-write queue sends it. Made by {@link buildSeriesRef} (through `RemoteWriteQueue.seriesRef`)
 * once per series and held by the scrape cache; valid only for the queue that made it.
 *
 * For Remote-Write 1.0, `labels` holds the encoded `TimeSeries.labels` fields (field 1, each a `Label{name=1,
 * value=2}`) in label-name order, one byte per character: a latin1 string costs about a third of what a `Uint8Array`
 * does per series in V8 (~150 against ~310 bytes measured with object and array slot, for a 70-byte label set), and
 * `Buffer.write(…, 'latin1')` copies it into a request at native speed. For Remote-Write 2.0 `symbols` holds the
 * label names and values instead, which the encoder interns into each request's symbol table.
 *
 * A 1.0 reference has none of the fields only 2.0 uses (`symbols`, `metadata`, `symbolIds`, `symbolEpoch`): they
 * read as undefined, and leaving them out saves 32 bytes per series (one reference per series and endpoint).
 */
export interface SeriesRef {
  /** 1.0: the encoded label fields as a latin1 string (each character one byte); "" for 2.0. */
  readonly labels: string;
  /** 2.0: name, value, name, value… in label-name order; undefined for 1.0. */
  readonly symbols?: readonly string[];
  /**
   * FNV-1a over the 1.0 encoding of the labels, cut to 30 bits: which shard the series' samples go to. 30 bits keep
   * it a small integer in V8, stored in the object itself rather than in a separate 16-byte number box.
   */
  readonly hash: number;
  /** The family's metadata, sent with the series in 2.0; undefined when the target exposes none, and for 1.0. */
  readonly metadata?: FamilyMetadata | undefined;
  /**
   * The counter's (histogram's, summary's) created timestamp in Unix ms, 0 when unknown. 2.0 sends it as each
   * sample's `start_timestamp`; set by the queue's `setCreatedTimestamp`, read when a batch is encoded.
   */
  createdTimestampMs: number;
  /**
   * Scratch of the 2.0 encoder that batches this series: its strings' (label names and values, then the metadata's
   * help and unit) numbers in that encoder's string table, valid while `symbolEpoch` is the table's. Turns a
   * series' per-request symbol lookups into array reads.
   */
  symbolIds?: readonly number[] | undefined;
  symbolEpoch?: number;
  /**
   * Scratch of the encoder that batches this series (a series always goes to the same shard, so one encoder at a
   * time): the batch that last grouped it, and its group in that batch. This replaces a map lookup per sample.
   */
  batch: number;
  group: number;
}

/** Input of {@link buildSeriesRef}. */
export interface SeriesRefOptions {
  /** The global external labels; empty values are ignored. */
  readonly externalLabels: Labels;
  /** The endpoint's `write_relabel_configs`. */
  readonly writeRelabelConfigs: readonly RelabelRule[];
  /** The endpoint's `protobuf_message`: what the reference is prepared for. */
  readonly protocol: RemoteWriteMessage;
  /** The series' family metadata, if the target exposes it. */
  readonly metadata: FamilyMetadata | undefined;
}

/**
 * The series `labels` becomes at an endpoint, or undefined when write relabeling drops it or leaves no label.
 *
 * Mirrors Prometheus' `QueueManager.StoreSeries` (`storage/remote/queue_manager.go`): `processExternalLabels` adds
 * each external label the series lacks (the series' own value wins), then `relabel.Process` runs the
 * write_relabel_configs on the result, and an empty result drops the series. A label with an empty value counts as
 * absent everywhere (Prometheus' label sets never hold one), so it is neither encoded nor keeps an external label
 * out; the remote-write specs forbid empty values and ask for names sorted by byte order, which this does.
 */
export function buildSeriesRef(labels: Labels, options: SeriesRefOptions): SeriesRef | undefined {
  let merged = new Map<string, string>();
  for (const [name, value] of labels) {
    if (value !== '') merged.set(name, value);
  }
  for (const [name, value] of options.externalLabels) {
    if (value !== '' && !merged.has(name)) merged.set(name, value);
  }
  if (options.writeRelabelConfigs.length > 0) {
    const result = relabel(merged, options.writeRelabelConfigs);
    if (!result.keep) return undefined;
    merged = result.labels;
  }
  const names = [...merged.keys()].filter((name) => merged.get(name) !== '').sort(compareLabelNames);
  if (names.length === 0) return undefined;
  const pairs = names.map((name): [string, string] => [name, merged.get(name) ?? '']);
  const size = encodeIntoScratch(pairs);
  const hash = fnv1a(scratch, size) & 0x3fffffff;
  if (options.protocol !== 'io.prometheus.write.v2.Request') return { labels: scratch.toString('latin1', 0, size), hash, createdTimestampMs: 0, batch: 0, group: 0 };
  return { labels: '', symbols: pairs.flat(), hash, metadata: options.metadata, createdTimestampMs: 0, symbolIds: undefined, symbolEpoch: 0, batch: 0, group: 0 };
}

/** The protobuf `TimeSeries.labels` fields for `pairs`, in the given order. */
export function encodeLabels(pairs: readonly (readonly [string, string])[]): Buffer {
  return Buffer.from(scratch.subarray(0, encodeIntoScratch(pairs)));
}

/** The protobuf `Label` fields for `pairs` as a latin1 string (one character per byte), as {@link SeriesRef.labels}. */
export function encodeLabelsLatin1(pairs: readonly (readonly [string, string])[]): string {
  return scratch.toString('latin1', 0, encodeIntoScratch(pairs));
}

/**
 * Where labels are encoded: one buffer, grown as needed, so encoding a new series allocates no buffer per label
 * (series are encoded once each, but a target's first scrape meets all of its series at once).
 */
let scratch = Buffer.alloc(4096);

/** Encodes `pairs` as {@link encodeLabels} does into {@link scratch}; returns the size. */
function encodeIntoScratch(pairs: readonly (readonly [string, string])[]): number {
  let size = 0;
  for (const [name, value] of pairs) size += fieldSize(fieldSize(Buffer.byteLength(name, 'utf8')) + fieldSize(Buffer.byteLength(value, 'utf8')));
  if (scratch.length < size) scratch = Buffer.alloc(Math.max(size, scratch.length * 2));
  const out = scratch;
  let pos = 0;
  for (const [name, value] of pairs) {
    const nameSize = Buffer.byteLength(name, 'utf8');
    const valueSize = Buffer.byteLength(value, 'utf8');
    const labelSize = fieldSize(nameSize) + fieldSize(valueSize);
    // Lengths below 128 (nearly all) are one varint byte, written in place.
    out[pos++] = TAG_LABELS;
    if (labelSize < 0x80) out[pos++] = labelSize;
    else pos = writeVarint(out, { pos, value: labelSize });
    out[pos++] = TAG_LABEL_NAME;
    if (nameSize < 0x80) out[pos++] = nameSize;
    else pos = writeVarint(out, { pos, value: nameSize });
    pos += out.write(name, pos, 'utf8');
    out[pos++] = TAG_LABEL_VALUE;
    if (valueSize < 0x80) out[pos++] = valueSize;
    else pos = writeVarint(out, { pos, value: valueSize });
    pos += out.write(value, pos, 'utf8');
  }
  return size;
}

/** `TimeSeries.labels`: field 1, length-delimited. */
const TAG_LABELS = 0x0a;
/** `Label.name`: field 1, length-delimited. */
const TAG_LABEL_NAME = 0x0a;
/** `Label.value`: field 2, length-delimited. */
const TAG_LABEL_VALUE = 0x12;

/** The size of a length-delimited field with a one-byte tag and `length` bytes of content. */
export function fieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/**
 * The size of `value` (a non-negative integer below 2^64) as a protobuf varint. Above 2^53 a number is no longer
 * exact, but it is written as {@link writeVarint} writes it, so the size still matches: a nanosecond timestamp
 * (~1.7·10^18, an exporter's common mistake that the parser accepts as int64) takes nine bytes.
 */
export function varintSize(value: number): number {
  // Comparisons rather than a division loop: a millisecond timestamp needs six bytes, sized once per sample.
  if (value < 2 ** 7) return 1;
  if (value < 2 ** 14) return 2;
  if (value < 2 ** 21) return 3;
  if (value < 2 ** 28) return 4;
  if (value < 2 ** 35) return 5;
  if (value < 2 ** 42) return 6;
  if (value < 2 ** 49) return 7;
  if (value < 2 ** 56) return 8;
  if (value < 2 ** 63) return 9;
  return 10;
}

/** Writes `value` (a non-negative integer below 2^64) as a varint at `pos`; returns the position after it. */
export function writeVarint(out: Buffer, at: { readonly pos: number; readonly value: number }): number {
  let pos = at.pos;
  let rest = at.value;
  // Above 31 bits, bit operations see the value modulo 2^32, which keeps its low 7 bits exact. Below, a separate
  // small-integer variable takes over, so the shifts never see a float (V8 would deoptimize them).
  while (rest > 0x7fffffff) {
    out[pos++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  let small = rest | 0;
  while (small >= 0x80) {
    out[pos++] = (small & 0x7f) | 0x80;
    small >>>= 7;
  }
  out[pos++] = small;
  return pos;
}

/** 32-bit FNV-1a over the first `length` bytes: cheap and well spread over label bytes, which is all sharding needs. */
function fnv1a(bytes: Uint8Array, length: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < length; i++) {
    hash ^= bytes[i] ?? 0;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
