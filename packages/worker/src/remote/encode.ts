/**
 * The remote-write request encoders: protobuf written by hand from a shard's sample columns, for Remote-Write 1.0
 * (`prometheus.WriteRequest`, reusing each series' pre-encoded label bytes) and 2.0 (`io.prometheus.write.v2.Request`,
 * interning each series' label strings into the request's symbol table). No object is made per sample; the 1.0
 * encoder is measured in ../shared/LIBRARIES.md §4 at about a tenth of protobufjs reflection's cost.
 */
import type { RemoteWriteMessage } from '@promfleet/model';
import type { MetricType } from '../scrape/parser-core.js';
import type { FamilyMetadata } from '../scrape/sink.js';
import { SampleFlag, type ExemplarBuffer, type SampleRing } from './ring.js';
import { fieldSize, varintSize, writeVarint, type SeriesRef } from './series.js';

/** One encoded, uncompressed request. */
export interface EncodedBatch {
  /** The protobuf bytes, in the encoder's scratch buffer: valid until the encoder's next {@link RequestEncoder.encode}. */
  readonly body: Buffer;
  /** The float samples in it, staleness markers included (those flagged dropped are not in it). */
  readonly samples: number;
  readonly exemplars: number;
  /** The lowest and highest timestamp of its samples and exemplars, in Unix ms; ±Infinity when it holds none. */
  readonly oldestTimestampMs: number;
  readonly newestTimestampMs: number;
}

/** Encodes a shard's buffered samples and exemplars as one request of the endpoint's protocol. */
export interface RequestEncoder {
  /**
   * Encodes the `count` oldest samples of `ring` (at most `maxSamples`) and every exemplar in `exemplars`, then
   * clears `exemplars`. Samples flagged {@link SampleFlag.dropped} are skipped. Samples and exemplars of one series
   * become one `TimeSeries`, samples in timestamp order (stable: equal timestamps keep their queue order), series in
   * the order of their first sample, then series that only have exemplars. The ring is only read.
   */
  encode(ring: SampleRing, count: number, exemplars: ExemplarBuffer): EncodedBatch;
}

/**
 * An encoder for `protocol`. One per shard: it keeps scratch arrays for `maxSamples` samples and its output buffer
 * between calls, so a batch allocates no memory of its own once the buffer has grown to the batches' size.
 */
export function createRequestEncoder(options: { readonly protocol: RemoteWriteMessage; readonly maxSamples: number }): RequestEncoder {
  switch (options.protocol) {
    case 'prometheus.WriteRequest':
      return new WriteRequestEncoder(options.maxSamples);
    case 'io.prometheus.write.v2.Request':
      return new RequestV2Encoder(options.maxSamples);
  }
}

export { dropOlderThan, RemoteWriteBodyError, type TrimmableRecord } from './trim.js';

/** `WriteRequest.timeseries`: field 1, length-delimited. */
const TAG_TIMESERIES = 0x0a;
/** `TimeSeries.samples` (both versions): field 2, length-delimited. */
const TAG_SAMPLES = 0x12;
/** 1.0 `WriteRequest.metadata`: field 3, length-delimited. */
const TAG_METADATA = 0x1a;
/** 1.0 `MetricMetadata` fields: type (1, varint), metric_family_name (2), help (4), unit (5). */
const TAG_METADATA_TYPE = 0x08;
const TAG_METADATA_FAMILY = 0x12;
const TAG_METADATA_HELP = 0x22;
const TAG_METADATA_UNIT = 0x2a;
/** 1.0 `TimeSeries.exemplars`: field 3, length-delimited. */
const TAG_EXEMPLARS = 0x1a;
/** `Sample.value`: field 1, 64-bit. */
const TAG_VALUE = 0x09;
/** `Sample.timestamp`: field 2, varint. */
const TAG_TIMESTAMP = 0x10;
/** 2.0 `Sample.start_timestamp`: field 3, varint. */
const TAG_START_TIMESTAMP = 0x18;
/** 1.0 `Exemplar.labels` and 2.0 `Exemplar.labels_refs`: field 1, length-delimited. */
const TAG_EXEMPLAR_LABELS = 0x0a;
/** `Exemplar.value`: field 2, 64-bit. */
const TAG_EXEMPLAR_VALUE = 0x11;
/** `Exemplar.timestamp`: field 3, varint. */
const TAG_EXEMPLAR_TIMESTAMP = 0x18;
/** 2.0 `Request.symbols`: field 4, length-delimited. */
const TAG_V2_SYMBOLS = 0x22;
/** 2.0 `Request.timeseries`: field 5, length-delimited. */
const TAG_V2_TIMESERIES = 0x2a;
/** 2.0 `TimeSeries.labels_refs`: field 1, packed varints. */
const TAG_V2_LABELS_REFS = 0x0a;
/** 2.0 `TimeSeries.exemplars`: field 4, length-delimited. */
const TAG_V2_EXEMPLARS = 0x22;
/** 2.0 `TimeSeries.metadata`: field 5, length-delimited. */
const TAG_V2_METADATA = 0x2a;
/** 2.0 `Metadata.type`: field 1, varint. */
const TAG_V2_METADATA_TYPE = 0x08;
/** 2.0 `Metadata.help_ref`: field 3, varint. */
const TAG_V2_METADATA_HELP = 0x18;
/** 2.0 `Metadata.unit_ref`: field 4, varint. */
const TAG_V2_METADATA_UNIT = 0x20;

/**
 * Prometheus' staleness marker `StaleNaN` (`model/value/value.go`), bits 0x7ff0000000000002, little-endian. Written
 * as bytes: a signalling NaN does not reliably keep its payload through a JS number, since V8 may quiet it.
 */
const STALE_NAN_LE = Buffer.from([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);

/**
 * The `MetricType` enum value of a family type; the same numbers in 1.0 `MetricMetadata.MetricType` and 2.0
 * `Metadata.MetricType` (where 0 is `METRIC_TYPE_UNSPECIFIED`, 1.0's `UNKNOWN`).
 */
export function metricTypeNumber(type: MetricType): number {
  switch (type) {
    case 'unknown':
      return 0;
    case 'counter':
      return 1;
    case 'gauge':
      return 2;
    case 'histogram':
      return 3;
    case 'gaugehistogram':
      return 4;
    case 'summary':
      return 5;
    case 'info':
      return 6;
    case 'stateset':
      return 7;
  }
}

/**
 * A 1.0 `WriteRequest` holding only `metadata` (uncompressed), as Prometheus' `sendMetadataWithBackoff` sends
 * `metadata_config`: each family's type (`prompb.FromMetadataType`: the type's name upper-cased, `UNKNOWN` for any
 * other), name, help and unit. Empty strings and the `UNKNOWN` type are left out, as protobuf does with defaults.
 */
export function encodeMetadataRequest(metadata: readonly FamilyMetadata[]): Buffer {
  const entries = metadata.map((m) => {
    const type = metricTypeNumber(m.type);
    const strings = [
      [TAG_METADATA_FAMILY, m.family],
      [TAG_METADATA_HELP, m.help],
      [TAG_METADATA_UNIT, m.unit],
    ] as const;
    let size = type === 0 ? 0 : 1 + varintSize(type);
    for (const [, value] of strings) if (value !== '') size += fieldSize(Buffer.byteLength(value, 'utf8'));
    return { type, strings, size };
  });
  const out = Buffer.allocUnsafe(entries.reduce((sum, e) => sum + fieldSize(e.size), 0));
  let pos = 0;
  for (const entry of entries) {
    out[pos++] = TAG_METADATA;
    pos = writeVarint(out, { pos, value: entry.size });
    if (entry.type !== 0) pos = writeTagged(out, { pos, tag: TAG_METADATA_TYPE, value: entry.type });
    for (const [tag, value] of entry.strings) {
      if (value === '') continue;
      pos = writeTagged(out, { pos, tag, value: Buffer.byteLength(value, 'utf8') });
      pos += out.write(value, pos, 'utf8');
    }
  }
  return out;
}

/**
 * The id of the next batch any encoder encodes. Series remember the batch that last grouped them
 * ({@link SeriesRef.batch}); ids are unique across encoders, so a series used by two encoders (tests do that) is
 * never mistaken for one already grouped.
 */
let nextBatch = 1;

/** The epoch of the next string table any 2.0 encoder starts ({@link SeriesRef.symbolEpoch}); unique across encoders. */
let nextEpoch = 1;

/**
 * The strings a 2.0 encoder's table holds before it starts over: a shard of the s1 benchmark (200 node exporters, 4
 * shards) uses ~120,000; at ~100 bytes per string a table then holds at most ~25 MB per shard, and series churn
 * cannot grow it beyond that.
 */
const MAX_STRINGS = 1 << 18;

/**
 * Groups a batch's samples and exemplars by series, as linked lists over their positions: grouping a sample costs a
 * field check on its series rather than a map lookup.
 */
abstract class GroupingEncoder {
  protected scratch: Buffer = Buffer.alloc(0);
  protected groupRefs: (SeriesRef | undefined)[] = [];
  /** Per group: its first and last sample position (-1: none), whether its samples are out of timestamp order. */
  protected first = new Int32Array(0);
  protected last = new Int32Array(0);
  protected unsorted = new Uint8Array(0);
  /** Per group: its first and last exemplar (-1: none). */
  protected exemplarFirst = new Int32Array(0);
  protected exemplarLast = new Int32Array(0);
  /** Per group: the size of its `TimeSeries` content. */
  protected content = new Int32Array(0);
  /** Per sample position: the next position of the same series, -1 at the end. */
  protected readonly next: Int32Array;
  /** Per exemplar: the next exemplar of the same series, -1 at the end. */
  protected exemplarNext = new Int32Array(0);
  protected samples = 0;
  protected oldest = Infinity;
  protected newest = -Infinity;

  constructor(readonly maxSamples: number) {
    this.next = new Int32Array(maxSamples);
    this.reserveGroups(maxSamples);
  }

  /** Links the samples and exemplars of each series in queue order; returns the number of series. */
  protected group(ring: SampleRing, count: number, exemplars: ExemplarBuffer): number {
    if (count > this.maxSamples) throw new RangeError(`a batch holds at most ${this.maxSamples} samples, not ${count}`);
    if (this.groupRefs.length < count + exemplars.size) this.reserveGroups(count + exemplars.size);
    if (this.exemplarNext.length < exemplars.size) this.exemplarNext = new Int32Array(exemplars.size * 2);
    const { refs, timestamps, flags } = ring;
    const batch = nextBatch++;
    let groups = 0;
    this.samples = 0;
    this.oldest = Infinity;
    this.newest = -Infinity;
    for (let i = 0; i < count; i++) {
      const at = ring.index(i);
      const ref = refs[at];
      if (ref === undefined || ((flags[at] ?? 0) & SampleFlag.dropped) !== 0) continue;
      this.next[i] = -1;
      this.samples++;
      const ts = timestamps[at] ?? 0;
      if (ts < this.oldest) this.oldest = ts;
      if (ts > this.newest) this.newest = ts;
      if (ref.batch !== batch) {
        groups = this.#newGroup(ref, { batch, groups });
        this.first[groups - 1] = i;
        this.last[groups - 1] = i;
        continue;
      }
      const g = ref.group;
      const last = this.last[g] ?? i;
      this.next[last] = i;
      this.last[g] = i;
      if (ts < (timestamps[ring.index(last)] ?? 0)) this.unsorted[g] = 1;
    }
    for (let e = 0; e < exemplars.size; e++) {
      const ref = exemplars.refs[e];
      if (ref === undefined) continue;
      this.exemplarNext[e] = -1;
      const ts = exemplars.timestamps[e] ?? 0;
      if (ts < this.oldest) this.oldest = ts;
      if (ts > this.newest) this.newest = ts;
      if (ref.batch !== batch) groups = this.#newGroup(ref, { batch, groups });
      const g = ref.group;
      const last = this.exemplarLast[g] ?? -1;
      if (last < 0) this.exemplarFirst[g] = e;
      else this.exemplarNext[last] = e;
      this.exemplarLast[g] = e;
    }
    return groups;
  }

  #newGroup(ref: SeriesRef, at: { readonly batch: number; readonly groups: number }): number {
    const g = at.groups;
    ref.batch = at.batch;
    ref.group = g;
    this.groupRefs[g] = ref;
    this.first[g] = -1;
    this.last[g] = -1;
    this.unsorted[g] = 0;
    this.exemplarFirst[g] = -1;
    this.exemplarLast[g] = -1;
    return g + 1;
  }

  protected groupRef(g: number): SeriesRef {
    const ref = this.groupRefs[g];
    if (ref === undefined) throw new RangeError(`series group ${g} does not exist`);
    return ref;
  }

  /** The output buffer grown to at least `size` bytes, keeping its first `used` bytes; returns it whole. */
  protected grow(size: number, used: number): Buffer {
    const next = Buffer.allocUnsafe(Math.max(size, Math.ceil(this.scratch.length * 1.5), 4096));
    this.scratch.copy(next, 0, 0, used);
    this.scratch = next;
    return next;
  }

  /** The output buffer, grown to at least `size` bytes, cut to `size`. */
  protected output(size: number): Buffer {
    if (this.scratch.length < size) this.scratch = Buffer.allocUnsafe(Math.max(size, Math.ceil(this.scratch.length * 1.5)));
    return this.scratch.subarray(0, size);
  }

  /** Ends a batch: releases the series and the exemplars. */
  protected finish(body: Buffer, at: { readonly groups: number; readonly exemplars: ExemplarBuffer }): EncodedBatch {
    this.groupRefs.fill(undefined, 0, at.groups);
    const exemplars = at.exemplars.size;
    at.exemplars.clear();
    return { body, samples: this.samples, exemplars, oldestTimestampMs: this.oldest, newestTimestampMs: this.newest };
  }

  /** The sample positions of series `g` sorted by timestamp, for the rare series whose queue order is not that. */
  protected positions(ring: SampleRing, g: number): number[] {
    const order: number[] = [];
    for (let i = this.first[g] ?? -1; i >= 0; i = this.next[i] ?? -1) order.push(i);
    const { timestamps } = ring;
    return order.sort((a, b) => (timestamps[ring.index(a)] ?? 0) - (timestamps[ring.index(b)] ?? 0));
  }

  private reserveGroups(size: number): void {
    const grow = <T extends Int32Array | Uint8Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.groupRefs = [...this.groupRefs, ...new Array<undefined>(size - this.groupRefs.length).fill(undefined)];
    this.first = grow(this.first, new Int32Array(size));
    this.last = grow(this.last, new Int32Array(size));
    this.unsorted = grow(this.unsorted, new Uint8Array(size));
    this.exemplarFirst = grow(this.exemplarFirst, new Int32Array(size));
    this.exemplarLast = grow(this.exemplarLast, new Int32Array(size));
    this.content = grow(this.content, new Int32Array(size));
  }
}

/** The most a 1.0 `TimeSeries.samples` field takes: tag, length, the 8-byte value and a ten-byte timestamp with tags. */
const MAX_SAMPLE_FIELD = 1 + 1 + 1 + 8 + 1 + 10;

/**
 * The bytes kept for a `TimeSeries`' length before its content is written: two, enough below 16 KiB (node-exporter's
 * series take ~140 bytes); a series whose length needs another count is moved once it is known.
 */
const RESERVED_LENGTH = 2;

/**
 * Remote-Write 1.0: a `prometheus.WriteRequest`, written in one pass: each series' content is written after room for
 * its length, which is filled in once known. A first pass to size the request would read every series' label
 * string twice, and on a batch of 2,000 series that do not fit the CPU cache the first read of each is a miss.
 */
class WriteRequestEncoder extends GroupingEncoder implements RequestEncoder {
  encode(ring: SampleRing, count: number, exemplars: ExemplarBuffer): EncodedBatch {
    const groups = this.group(ring, count, exemplars);
    let body = this.scratch;
    let pos = 0;
    for (let g = 0; g < groups; g++) {
      const labels = this.groupRef(g).labels;
      const start = pos;
      const contentStart = start + 1 + RESERVED_LENGTH;
      if (contentStart + labels.length > body.length) body = this.grow(contentStart + labels.length, start);
      body[start] = TAG_TIMESERIES;
      pos = contentStart + body.write(labels, contentStart, 'latin1');
      if (this.unsorted[g] === 1) {
        for (const i of this.positions(ring, g)) {
          if (pos + MAX_SAMPLE_FIELD > body.length) body = this.grow(pos + MAX_SAMPLE_FIELD, pos);
          pos = writeSample(body, { pos, ring, at: ring.index(i) });
        }
      } else {
        for (let i = this.first[g] ?? -1; i >= 0; i = this.next[i] ?? -1) {
          if (pos + MAX_SAMPLE_FIELD > body.length) body = this.grow(pos + MAX_SAMPLE_FIELD, pos);
          pos = writeSample(body, { pos, ring, at: ring.index(i) });
        }
      }
      for (let e = this.exemplarFirst[g] ?? -1; e >= 0; e = this.exemplarNext[e] ?? -1) {
        const size = exemplarV1Size(exemplars, e);
        if (pos + fieldSize(size) > body.length) body = this.grow(pos + fieldSize(size), pos);
        body[pos++] = TAG_EXEMPLARS;
        pos = writeVarint(body, { pos, value: size });
        pos += body.write(exemplars.encodedLabels[e] ?? '', pos, 'latin1');
        pos = writeExemplarPoint(body, { pos, exemplars, e });
      }
      const content = pos - contentStart;
      const lengthSize = varintSize(content);
      if (lengthSize !== RESERVED_LENGTH) {
        // Moving right needs room for the extra bytes; left never does.
        if (lengthSize > RESERVED_LENGTH && pos + lengthSize - RESERVED_LENGTH > body.length) body = this.grow(pos + lengthSize - RESERVED_LENGTH, pos);
        body.copyWithin(start + 1 + lengthSize, contentStart, pos);
        pos += lengthSize - RESERVED_LENGTH;
      }
      writeVarint(body, { pos: start + 1, value: content });
    }
    return this.finish(body.subarray(0, pos), { groups, exemplars });
  }
}

/**
 * Remote-Write 2.0: an `io.prometheus.write.v2.Request`. Each request has its own symbol table (symbols[0] = ""),
 * built with a map reused across requests; a series costs a lookup per label string, an exemplar per label string,
 * its metadata two more.
 */
class RequestV2Encoder extends GroupingEncoder implements RequestEncoder {
  /**
   * The encoder's string table, kept across requests: each string's number, UTF-8 size and, for the current request,
   * its symbol index (valid where `#stamp` is the request's number). Started over past {@link MAX_STRINGS} strings,
   * under a new epoch, so series churn cannot grow it without bound.
   */
  #epoch = nextEpoch++;
  readonly #ids = new Map<string, number>();
  #strings: string[] = [];
  #bytes = new Int32Array(1024);
  #stamp = new Int32Array(1024);
  #symbolOf = new Int32Array(1024);
  #request = 0;
  /** The request's symbols, as string numbers, in symbol order. */
  #symbols: number[] = [];
  #symbolsSize = 0;
  /** The label refs of every series, then of every exemplar, of the batch, and where each one's start. */
  #refs = new Uint32Array(1024);
  #refsUsed = 0;
  #seriesRefsStart = new Int32Array(0);
  #exemplarRefsStart = new Int32Array(0);
  /** Per series: `Metadata.help_ref` and `unit_ref`, and the `labels_refs` payload size. */
  #helpRef = new Int32Array(0);
  #unitRef = new Int32Array(0);
  #labelsRefsSize = new Int32Array(0);

  encode(ring: SampleRing, count: number, exemplars: ExemplarBuffer): EncodedBatch {
    const groups = this.group(ring, count, exemplars);
    this.#reserve(groups, exemplars.size);
    if (this.#strings.length > MAX_STRINGS) this.#startOver();
    this.#request++;
    this.#symbols.length = 0;
    this.#symbolsSize = 0;
    this.#refsUsed = 0;
    this.#symbol(this.#id(''));
    const { timestamps } = ring;
    let total = 0;
    for (let g = 0; g < groups; g++) {
      const ref = this.groupRef(g);
      const ids = this.#seriesIds(ref);
      this.#seriesRefsStart[g] = this.#refsUsed;
      const labelsRefsSize = this.#appendRefs(ids, ref.symbols?.length ?? 0);
      this.#labelsRefsSize[g] = labelsRefsSize;
      let content = fieldSize(labelsRefsSize);
      const startSize = ref.createdTimestampMs === 0 ? 0 : 1 + int64Size(ref.createdTimestampMs);
      for (let i = this.first[g] ?? -1; i >= 0; i = this.next[i] ?? -1) content += fieldSize(sampleSize(timestamps[ring.index(i)] ?? 0) + startSize);
      for (let e = this.exemplarFirst[g] ?? -1; e >= 0; e = this.exemplarNext[e] ?? -1) {
        this.#exemplarRefsStart[e] = this.#refsUsed;
        const labels = (exemplars.labelStrings[e] ?? []).map((s) => this.#id(s));
        content += fieldSize(this.#exemplarSize(exemplars, { e, refsSize: this.#appendRefs(labels, labels.length) }));
      }
      if (ref.metadata !== undefined) {
        const labelCount = ref.symbols?.length ?? 0;
        const help = this.#symbol(ids[labelCount] ?? 0);
        const unit = this.#symbol(ids[labelCount + 1] ?? 0);
        this.#helpRef[g] = help;
        this.#unitRef[g] = unit;
        content += fieldSize(metadataContentSize({ type: metricTypeNumber(ref.metadata.type), help, unit }));
      }
      this.content[g] = content;
      total += fieldSize(content);
    }
    total += this.#symbolsSize;

    const body = this.output(total);
    let pos = 0;
    for (const id of this.#symbols) {
      body[pos++] = TAG_V2_SYMBOLS;
      const size = this.#bytes[id] ?? 0;
      pos = writeVarint(body, { pos, value: size });
      pos += body.write(this.#strings[id] ?? '', pos, size, 'utf8');
    }
    for (let g = 0; g < groups; g++) pos = this.#writeSeries(body, { pos, ring, exemplars, g });
    return this.finish(body, { groups, exemplars });
  }

  #writeSeries(body: Buffer, at: { readonly pos: number; readonly ring: SampleRing; readonly exemplars: ExemplarBuffer; readonly g: number }): number {
    const { ring, exemplars, g } = at;
    const ref = this.groupRef(g);
    let pos = at.pos;
    body[pos++] = TAG_V2_TIMESERIES;
    pos = writeVarint(body, { pos, value: this.content[g] ?? 0 });
    const labelsRefsSize = this.#labelsRefsSize[g] ?? 0;
    body[pos++] = TAG_V2_LABELS_REFS;
    pos = writeVarint(body, { pos, value: labelsRefsSize });
    pos = this.#writeRefs(body, { pos, start: this.#seriesRefsStart[g] ?? 0, count: ref.symbols?.length ?? 0 });
    const startMs = ref.createdTimestampMs;
    if (this.unsorted[g] === 1) {
      for (const i of this.positions(ring, g)) pos = writeSampleV2(body, { pos, ring, at: ring.index(i), startMs });
    } else {
      for (let i = this.first[g] ?? -1; i >= 0; i = this.next[i] ?? -1) pos = writeSampleV2(body, { pos, ring, at: ring.index(i), startMs });
    }
    for (let e = this.exemplarFirst[g] ?? -1; e >= 0; e = this.exemplarNext[e] ?? -1) {
      const labelCount = exemplars.labelStrings[e]?.length ?? 0;
      const refsStart = this.#exemplarRefsStart[e] ?? 0;
      const refsSize = this.#refsSize(refsStart, labelCount);
      body[pos++] = TAG_V2_EXEMPLARS;
      pos = writeVarint(body, { pos, value: this.#exemplarSize(exemplars, { e, refsSize }) });
      if (labelCount > 0) {
        body[pos++] = TAG_EXEMPLAR_LABELS;
        pos = writeVarint(body, { pos, value: refsSize });
        pos = this.#writeRefs(body, { pos, start: refsStart, count: labelCount });
      }
      pos = writeExemplarPoint(body, { pos, exemplars, e });
    }
    if (ref.metadata !== undefined) {
      const type = metricTypeNumber(ref.metadata.type);
      const help = this.#helpRef[g] ?? 0;
      const unit = this.#unitRef[g] ?? 0;
      body[pos++] = TAG_V2_METADATA;
      pos = writeVarint(body, { pos, value: metadataContentSize({ type, help, unit }) });
      if (type !== 0) pos = writeTagged(body, { pos, tag: TAG_V2_METADATA_TYPE, value: type });
      if (help !== 0) pos = writeTagged(body, { pos, tag: TAG_V2_METADATA_HELP, value: help });
      if (unit !== 0) pos = writeTagged(body, { pos, tag: TAG_V2_METADATA_UNIT, value: unit });
    }
    return pos;
  }

  /** The number of `s` in the string table, adding it when new. */
  #id(s: string): number {
    let id = this.#ids.get(s);
    if (id === undefined) {
      id = this.#strings.length;
      this.#strings.push(s);
      this.#ids.set(s, id);
      if (id >= this.#bytes.length) {
        this.#bytes = grown(this.#bytes, id * 2);
        this.#stamp = grown(this.#stamp, id * 2);
        this.#symbolOf = grown(this.#symbolOf, id * 2);
      }
      this.#bytes[id] = Buffer.byteLength(s, 'utf8');
      this.#stamp[id] = 0;
    }
    return id;
  }

  /** The string numbers of `ref`'s labels, then its metadata's help and unit: looked up once per table epoch. */
  #seriesIds(ref: SeriesRef): readonly number[] {
    if (ref.symbolEpoch === this.#epoch && ref.symbolIds !== undefined) return ref.symbolIds;
    const ids = (ref.symbols ?? []).map((s) => this.#id(s));
    if (ref.metadata !== undefined) ids.push(this.#id(ref.metadata.help), this.#id(ref.metadata.unit));
    ref.symbolIds = ids;
    ref.symbolEpoch = this.#epoch;
    return ids;
  }

  /** The request's symbol index of string `id`, adding it to the request's symbols when new. */
  #symbol(id: number): number {
    if (this.#stamp[id] !== this.#request) {
      this.#stamp[id] = this.#request;
      this.#symbolOf[id] = this.#symbols.length;
      this.#symbols.push(id);
      this.#symbolsSize += fieldSize(this.#bytes[id] ?? 0);
    }
    return this.#symbolOf[id] ?? 0;
  }

  /** Appends the symbol indices of the first `count` strings `ids` to the batch's refs; returns their packed size. */
  #appendRefs(ids: readonly number[], count: number): number {
    if (this.#refs.length < this.#refsUsed + count) {
      const grownRefs = new Uint32Array(Math.max(this.#refs.length * 2, this.#refsUsed + count));
      grownRefs.set(this.#refs);
      this.#refs = grownRefs;
    }
    let size = 0;
    for (let i = 0; i < count; i++) {
      const index = this.#symbol(ids[i] ?? 0);
      this.#refs[this.#refsUsed++] = index;
      size += varintSize(index);
    }
    return size;
  }

  /** Forgets the string table; series made under the old epoch look their strings up again. */
  #startOver(): void {
    this.#epoch = nextEpoch++;
    this.#ids.clear();
    this.#strings = [];
    this.#request = 0;
    this.#stamp.fill(0);
  }

  #refsSize(start: number, count: number): number {
    let size = 0;
    for (let i = start; i < start + count; i++) size += varintSize(this.#refs[i] ?? 0);
    return size;
  }

  #writeRefs(body: Buffer, at: { readonly pos: number; readonly start: number; readonly count: number }): number {
    let pos = at.pos;
    for (let i = at.start; i < at.start + at.count; i++) {
      const value = this.#refs[i] ?? 0;
      if (value < 0x80) body[pos++] = value;
      else pos = writeVarint(body, { pos, value });
    }
    return pos;
  }

  #exemplarSize(exemplars: ExemplarBuffer, at: { readonly e: number; readonly refsSize: number }): number {
    const labels = (exemplars.labelStrings[at.e]?.length ?? 0) > 0 ? fieldSize(at.refsSize) : 0;
    return labels + exemplarPointSize(exemplars.timestamps[at.e] ?? 0);
  }

  #reserve(groups: number, exemplars: number): void {
    if (this.#seriesRefsStart.length < groups) {
      this.#seriesRefsStart = new Int32Array(groups * 2);
      this.#helpRef = new Int32Array(groups * 2);
      this.#unitRef = new Int32Array(groups * 2);
      this.#labelsRefsSize = new Int32Array(groups * 2);
    }
    if (this.#exemplarRefsStart.length < exemplars) this.#exemplarRefsStart = new Int32Array(exemplars * 2);
  }
}

function grown(from: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const to = new Int32Array(size);
  to.set(from);
  return to;
}

function metadataContentSize(fields: { readonly type: number; readonly help: number; readonly unit: number }): number {
  return (
    (fields.type === 0 ? 0 : 1 + varintSize(fields.type)) +
    (fields.help === 0 ? 0 : 1 + varintSize(fields.help)) +
    (fields.unit === 0 ? 0 : 1 + varintSize(fields.unit))
  );
}

/** Writes a one-byte tag and a varint value; returns the position after them. */
function writeTagged(out: Buffer, at: { readonly pos: number; readonly tag: number; readonly value: number }): number {
  out[at.pos] = at.tag;
  return writeVarint(out, { pos: at.pos + 1, value: at.value });
}

/** Writes the `TimeSeries.samples` field of the sample at column position `at`; returns the position after it. */
function writeSample(out: Buffer, { pos: start, ring, at }: { pos: number; ring: SampleRing; at: number }): number {
  const ts = ring.timestamps[at] ?? 0;
  let pos = start;
  out[pos++] = TAG_SAMPLES;
  out[pos++] = sampleSize(ts);
  return writeSampleFields(out, { pos, ring, at });
}

/** Writes a 2.0 `TimeSeries.samples` field, with `start_timestamp` unless `startMs` is 0. */
function writeSampleV2(out: Buffer, { pos: start, ring, at, startMs }: { pos: number; ring: SampleRing; at: number; startMs: number }): number {
  let pos = start;
  out[pos++] = TAG_SAMPLES;
  out[pos++] = sampleSize(ring.timestamps[at] ?? 0) + (startMs === 0 ? 0 : 1 + int64Size(startMs));
  pos = writeSampleFields(out, { pos, ring, at });
  if (startMs === 0) return pos;
  out[pos++] = TAG_START_TIMESTAMP;
  return writeInt64(out, { pos, value: startMs });
}

/** Writes `Sample.value` and `Sample.timestamp` of the sample at column position `at`. */
function writeSampleFields(out: Buffer, { pos: start, ring, at }: { pos: number; ring: SampleRing; at: number }): number {
  let pos = start;
  out[pos++] = TAG_VALUE;
  if (((ring.flags[at] ?? 0) & SampleFlag.stale) !== 0) pos += STALE_NAN_LE.copy(out, pos);
  else pos = out.writeDoubleLE(ring.values[at] ?? 0, pos);
  out[pos++] = TAG_TIMESTAMP;
  return writeInt64(out, { pos, value: ring.timestamps[at] ?? 0 });
}

/** Writes `Exemplar.value` and `Exemplar.timestamp` of exemplar `e`. */
function writeExemplarPoint(out: Buffer, { pos: start, exemplars, e }: { pos: number; exemplars: ExemplarBuffer; e: number }): number {
  let pos = start;
  out[pos++] = TAG_EXEMPLAR_VALUE;
  pos = out.writeDoubleLE(exemplars.values[e] ?? 0, pos);
  out[pos++] = TAG_EXEMPLAR_TIMESTAMP;
  return writeInt64(out, { pos, value: exemplars.timestamps[e] ?? 0 });
}

/** The encoded size of a `Sample` with timestamp `ts`: the 8-byte value and the varint timestamp with their tags. */
function sampleSize(ts: number): number {
  return 1 + 8 + 1 + int64Size(ts);
}

/** The size of a 1.0 `Exemplar`: its encoded labels, value and timestamp. */
function exemplarV1Size(exemplars: ExemplarBuffer, e: number): number {
  return (exemplars.encodedLabels[e]?.length ?? 0) + exemplarPointSize(exemplars.timestamps[e] ?? 0);
}

/** The size of an exemplar's value and timestamp fields. */
function exemplarPointSize(ts: number): number {
  return 1 + 8 + 1 + int64Size(ts);
}

/** The size of an int64 varint (ten bytes for a negative value). */
export function int64Size(value: number): number {
  const ms = Math.trunc(value);
  return ms < 0 ? 10 : varintSize(ms);
}

/**
 * Writes an int64 varint: a non-negative value as is, a negative one as its 64-bit two's complement (always ten
 * bytes), as protobuf encodes `int64`. Timestamps are integral milliseconds; a fraction is truncated.
 */
export function writeInt64(out: Buffer, at: { readonly pos: number; readonly value: number }): number {
  const value = Math.trunc(at.value);
  if (value >= 0) return writeVarint(out, { pos: at.pos, value });
  let pos = at.pos;
  let rest = BigInt.asUintN(64, BigInt(value));
  while (rest >= 0x80n) {
    out[pos++] = Number(rest & 0x7fn) | 0x80;
    rest >>= 7n;
  }
  out[pos++] = Number(rest);
  return pos;
}
