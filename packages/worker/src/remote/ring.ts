/**
 * The samples and exemplars one shard holds, as columns in a growable ring buffer rather than an object per sample.
 */
import { compareLabelNames } from '@promfleet/model';
import type { Exemplar } from '../scrape/sink.js';
import { encodeLabelsLatin1, type SeriesRef } from './series.js';

/** Bits of {@link SampleRing.flags}. */
export const SampleFlag = {
  /** The sample is a staleness marker: its value is ignored and StaleNaN is sent. */
  stale: 1,
  /** The sample was dropped while its batch was in flight (too old); it is skipped when the batch is encoded again. */
  dropped: 2,
} as const;

/**
 * A FIFO of samples in four columns — series, timestamp, value, flags — in a ring whose size is a power of two, so a
 * position is `(head + i) & mask`. Memory per held sample: 8 bytes for the series pointer, 8 for the timestamp, 8 for
 * the value and 1 for the flags, 25 bytes; the ring doubles when full, so up to 50 bytes per sample until it drains
 * and shrinks back. The series themselves are shared with the scrape cache and cost nothing here.
 *
 * The owner reads the oldest `n` samples in place through {@link SampleRing.index} and removes them with
 * {@link SampleRing.shift} once their batch is done; growing keeps the order, so positions read before a push are
 * found again through `index` after it.
 */
export class SampleRing {
  refs: (SeriesRef | undefined)[];
  timestamps: Float64Array;
  values: Float64Array;
  flags: Uint8Array;
  #mask: number;
  #head = 0;
  #size = 0;
  readonly #initialCapacity: number;

  /** Creates an empty ring with room for `initialCapacity` samples (rounded up to a power of two) before it grows. */
  constructor(initialCapacity: number) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity)));
    this.#initialCapacity = capacity;
    this.refs = new Array<SeriesRef | undefined>(capacity).fill(undefined);
    this.timestamps = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.#mask = capacity - 1;
  }

  /** The number of samples held. */
  get size(): number {
    return this.#size;
  }

  /** The number of samples the ring holds before it has to grow. */
  get capacity(): number {
    return this.#mask + 1;
  }

  /** Appends one sample; `flags` is a combination of {@link SampleFlag} bits. */
  push(ref: SeriesRef, sample: { readonly timestampMs: number; readonly value: number; readonly flags: number }): void {
    if (this.#size > this.#mask) this.#resize((this.#mask + 1) * 2);
    const at = (this.#head + this.#size) & this.#mask;
    this.refs[at] = ref;
    this.timestamps[at] = sample.timestampMs;
    this.values[at] = sample.value;
    this.flags[at] = sample.flags;
    this.#size++;
  }

  /** The column position of the `i`-th oldest sample (0 is the oldest); `i` must be below {@link size}. */
  index(i: number): number {
    return (this.#head + i) & this.#mask;
  }

  /**
   * Removes the `n` oldest samples, releasing their series. An emptied ring that had grown beyond four times its
   * initial capacity shrinks back, so the memory of an outage is given back once the backlog is sent.
   */
  shift(n: number): void {
    const count = Math.min(n, this.#size);
    for (let i = 0; i < count; i++) this.refs[(this.#head + i) & this.#mask] = undefined;
    this.#head = (this.#head + count) & this.#mask;
    this.#size -= count;
    if (this.#size === 0) {
      this.#head = 0;
      if (this.capacity > this.#initialCapacity * 4) this.#resize(this.#initialCapacity);
    }
  }

  #resize(capacity: number): void {
    const refs = new Array<SeriesRef | undefined>(capacity).fill(undefined);
    for (let i = 0; i < this.#size; i++) refs[i] = this.refs[(this.#head + i) & this.#mask];
    this.refs = refs;
    this.timestamps = this.#unwrap(this.timestamps, new Float64Array(capacity));
    this.values = this.#unwrap(this.values, new Float64Array(capacity));
    this.flags = this.#unwrap(this.flags, new Uint8Array(capacity));
    this.#mask = capacity - 1;
    this.#head = 0;
  }

  /** Copies the held part of column `from` to the start of `to`, oldest first. */
  #unwrap<T extends Float64Array | Uint8Array>(from: T, to: T): T {
    const first = Math.min(this.#size, this.#mask + 1 - this.#head);
    to.set(from.subarray(this.#head, this.#head + first), 0);
    to.set(from.subarray(0, this.#size - first), first);
    return to;
  }
}

/**
 * The exemplars one shard holds until its next request, as columns. Their labels are prepared once, at
 * {@link ExemplarBuffer.push}, for the series' protocol: encoded `Label` fields (1.0) or sorted name/value strings
 * for the request's symbol table (2.0). The encoder takes them all with each request and clears the buffer.
 */
export class ExemplarBuffer {
  refs: SeriesRef[] = [];
  /** 1.0: the encoded `Exemplar.labels` fields (latin1, one character per byte). */
  encodedLabels: string[] = [];
  /** 2.0: the label names and values, name first, sorted by name. */
  labelStrings: (readonly string[])[] = [];
  timestamps: number[] = [];
  values: number[] = [];

  /** The number of exemplars held. */
  get size(): number {
    return this.refs.length;
  }

  /** Appends one exemplar of series `ref`. */
  push(ref: SeriesRef, exemplar: Exemplar): void {
    const pairs = [...exemplar.labels].filter(([, value]) => value !== '').sort(([a], [b]) => compareLabelNames(a, b));
    this.refs.push(ref);
    if (ref.symbols === undefined) this.encodedLabels.push(encodeLabelsLatin1(pairs));
    else this.labelStrings.push(pairs.flat());
    this.timestamps.push(exemplar.timestampMs);
    this.values.push(exemplar.value);
  }

  /** Removes every exemplar. */
  clear(): void {
    this.refs.length = 0;
    this.encodedLabels.length = 0;
    this.labelStrings.length = 0;
    this.timestamps.length = 0;
    this.values.length = 0;
  }
}
