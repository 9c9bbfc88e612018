/**
 * The remote-write 1.0 `WriteRequest` encoder: protobuf written by hand from a shard's sample columns, reusing each
 * series' pre-encoded label bytes. No object is made per sample; measured in ../shared/LIBRARIES.md §4 at about a
 * tenth of protobufjs reflection's cost.
 */
import { SampleFlag, type SampleRing } from './ring.js';
import { fieldSize, varintSize, writeVarint, type SeriesRef } from './series.js';

/** One encoded, uncompressed `WriteRequest`. */
export interface EncodedBatch {
  /** The protobuf bytes, in the encoder's scratch buffer: valid until the encoder's next {@link BatchEncoder.encode}. */
  readonly body: Buffer;
  /** The samples in it (those flagged dropped are not). */
  readonly samples: number;
  /** The highest sample timestamp in it, in Unix ms; `-Infinity` when it holds no sample. */
  readonly highestTimestampMs: number;
}

/** `WriteRequest.timeseries`: field 1, length-delimited. */
const TAG_TIMESERIES = 0x0a;
/** `TimeSeries.samples`: field 2, length-delimited. */
const TAG_SAMPLES = 0x12;
/** `Sample.value`: field 1, 64-bit. */
const TAG_VALUE = 0x09;
/** `Sample.timestamp`: field 2, varint. */
const TAG_TIMESTAMP = 0x10;

/**
 * Prometheus' staleness marker `StaleNaN` (`model/value/value.go`), bits 0x7ff0000000000002, little-endian. Written
 * as bytes: a signalling NaN does not reliably keep its payload through a JS number, since V8 may quiet it.
 */
const STALE_NAN_LE = Buffer.from([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);

/**
 * The id of the next batch any encoder encodes. Series remember the batch that last grouped them
 * ({@link SeriesRef.batch}); ids are unique across encoders, so a series used by two encoders (tests do that) is
 * never mistaken for one already grouped.
 */
let nextBatch = 1;

/**
 * Encodes batches of a shard's samples. One encoder per shard: it keeps scratch arrays for `maxSamples` samples and
 * its output buffer between calls, so a batch allocates no memory of its own once the buffer has grown to the
 * batches' size, and grouping a sample costs a field check on its series.
 */
export class BatchEncoder {
  #scratch: Buffer = Buffer.alloc(0);
  readonly #groupRefs: (SeriesRef | undefined)[];
  readonly #first: Int32Array;
  readonly #last: Int32Array;
  readonly #next: Int32Array;
  readonly #unsorted: Uint8Array;
  /** Per series: the size of its `TimeSeries` content. */
  readonly #content: Int32Array;

  /** Creates an encoder for batches of up to `maxSamples` samples. */
  constructor(maxSamples: number) {
    this.#groupRefs = new Array<SeriesRef | undefined>(maxSamples).fill(undefined);
    this.#first = new Int32Array(maxSamples);
    this.#last = new Int32Array(maxSamples);
    this.#next = new Int32Array(maxSamples);
    this.#unsorted = new Uint8Array(maxSamples);
    this.#content = new Int32Array(maxSamples);
  }

  /**
   * Encodes the `count` oldest samples of `ring` (at most the `maxSamples` given to the constructor) as one
   * `WriteRequest`, skipping samples flagged {@link SampleFlag.dropped}. Samples of one series become one
   * `TimeSeries` in timestamp order (stable: equal timestamps keep their queue order), series in the order of their
   * first sample. The ring is only read.
   */
  encode(ring: SampleRing, count: number): EncodedBatch {
    const groups = this.#group(ring, count);
    const { timestamps } = ring;
    let total = 0;
    let samples = 0;
    let highest = -Infinity;
    for (let g = 0; g < groups; g++) {
      let content = this.#groupRef(g).labels.length;
      for (let i = this.#first[g] ?? -1; i >= 0; i = this.#next[i] ?? -1) {
        const ts = timestamps[ring.index(i)] ?? 0;
        content += fieldSize(sampleSize(ts));
        samples++;
        if (ts > highest) highest = ts;
      }
      this.#content[g] = content;
      total += fieldSize(content);
    }

    if (this.#scratch.length < total) this.#scratch = Buffer.allocUnsafe(Math.max(total, Math.ceil(this.#scratch.length * 1.5)));
    const body = this.#scratch.subarray(0, total);
    let pos = 0;
    for (let g = 0; g < groups; g++) {
      body[pos++] = TAG_TIMESERIES;
      pos = writeVarint(body, { pos, value: this.#content[g] ?? 0 });
      pos += body.write(this.#groupRef(g).labels, pos, 'latin1');
      if (this.#unsorted[g] === 1) {
        for (const i of this.#sortedPositions(ring, g)) pos = writeSample(body, { pos, ring, at: ring.index(i) });
      } else {
        for (let i = this.#first[g] ?? -1; i >= 0; i = this.#next[i] ?? -1) {
          pos = writeSample(body, { pos, ring, at: ring.index(i) });
        }
      }
    }
    this.#groupRefs.fill(undefined, 0, groups);
    return { body, samples, highestTimestampMs: highest };
  }

  /** Links the samples of each series in queue order; returns the number of series. */
  #group(ring: SampleRing, count: number): number {
    const { refs, timestamps, flags } = ring;
    const batch = nextBatch++;
    let groups = 0;
    for (let i = 0; i < count; i++) {
      const at = ring.index(i);
      const ref = refs[at];
      if (ref === undefined || ((flags[at] ?? 0) & SampleFlag.dropped) !== 0) continue;
      this.#next[i] = -1;
      if (ref.batch !== batch) {
        ref.batch = batch;
        ref.group = groups;
        this.#groupRefs[groups] = ref;
        this.#first[groups] = i;
        this.#last[groups] = i;
        this.#unsorted[groups] = 0;
        groups++;
        continue;
      }
      const g = ref.group;
      const last = this.#last[g] ?? i;
      this.#next[last] = i;
      this.#last[g] = i;
      if ((timestamps[at] ?? 0) < (timestamps[ring.index(last)] ?? 0)) this.#unsorted[g] = 1;
    }
    return groups;
  }

  #groupRef(g: number): SeriesRef {
    const ref = this.#groupRefs[g];
    if (ref === undefined) throw new RangeError(`series group ${g} does not exist`);
    return ref;
  }

  /** The sample positions of series `g` sorted by timestamp, for the rare series whose queue order is not that. */
  #sortedPositions(ring: SampleRing, g: number): number[] {
    const order: number[] = [];
    for (let i = this.#first[g] ?? -1; i >= 0; i = this.#next[i] ?? -1) order.push(i);
    const { timestamps } = ring;
    return order.sort((a, b) => (timestamps[ring.index(a)] ?? 0) - (timestamps[ring.index(b)] ?? 0));
  }
}

/** Writes the `TimeSeries.samples` field of the sample at column position `at`; returns the position after it. */
function writeSample(out: Buffer, { pos: start, ring, at }: { pos: number; ring: SampleRing; at: number }): number {
  const ts = ring.timestamps[at] ?? 0;
  let pos = start;
  out[pos++] = TAG_SAMPLES;
  out[pos++] = sampleSize(ts);
  out[pos++] = TAG_VALUE;
  if (((ring.flags[at] ?? 0) & SampleFlag.stale) !== 0) pos += STALE_NAN_LE.copy(out, pos);
  else pos = out.writeDoubleLE(ring.values[at] ?? 0, pos);
  out[pos++] = TAG_TIMESTAMP;
  return writeInt64(out, { pos, value: ts });
}

/** The encoded size of a `Sample` with timestamp `ts`: the 8-byte value and the varint timestamp with their tags. */
function sampleSize(ts: number): number {
  const ms = Math.trunc(ts);
  return 1 + 8 + 1 + (ms < 0 ? 10 : varintSize(ms));
}

/**
 * Writes an int64 varint: a non-negative value as is, a negative one as its 64-bit two's complement (always ten
 * bytes), as protobuf encodes `int64`. Timestamps are integral milliseconds; a fraction is truncated.
 */
function writeInt64(out: Buffer, at: { readonly pos: number; readonly value: number }): number {
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
