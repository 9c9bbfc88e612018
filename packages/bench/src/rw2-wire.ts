/**
 * Remote-Write 2.0 → 1.0 on the wire, for the worker benchmark's bridge (`rw2-bridge.ts`): the shared harness's
 * receiver (VictoriaMetrics 1.79) takes only 1.0, so a 2.0 request is rewritten into the 1.0 request that carries
 * the same float samples (each series' labels resolved through the symbol table, every sample's value and timestamp
 * as they are) and forwarded. Works on the protobuf wire directly (string bytes are copied, never decoded), so the
 * bridge's CPU stays small beside the worker it measures. Metadata, exemplars and start timestamps are not carried
 * (VictoriaMetrics 1.79 stores none of them); native histograms are counted and not carried.
 */

/** A request that is not well-formed protobuf of the message it claims, or references symbols it lacks. */
export class WireError extends Error {
  override readonly name = 'WireError';
  readonly code = 'PROMFLEET_BENCH_WIRE';
}

/** What {@link v2ToV1} made, and what the 2.0 request held. */
export interface Converted {
  /** The 1.0 `prometheus.WriteRequest`, uncompressed. */
  readonly body: Buffer;
  readonly series: number;
  /** Float samples, all carried into `body`. */
  readonly samples: number;
  /** Counted only: not carried. */
  readonly histograms: number;
  readonly exemplars: number;
  readonly metadata: number;
}

/** A byte range of the input. */
interface Span {
  readonly start: number;
  readonly end: number;
}

interface Series {
  readonly refs: number[];
  /** Each sample's value offset (8 bytes, a little-endian double; -1 when absent: 0) and its timestamp's varint range. */
  readonly samples: { value: number; ts: Span | undefined }[];
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** A reader over one protobuf message's bytes. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint that fits a double exactly (lengths, tags, references). */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError(`truncated varint at byte ${this.pos}`);
      const byte = this.buf[this.pos++] as number;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new WireError(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** The range of the next varint, without its value (int64 timestamps are copied, not read). */
  varintSpan(): Span {
    const start = this.pos;
    while (this.pos < this.end && ((this.buf[this.pos] as number) & 0x80) !== 0) this.pos++;
    if (this.pos >= this.end) throw new WireError(`truncated varint at byte ${start}`);
    this.pos++;
    return { start, end: this.pos };
  }

  /** The range of a length-delimited field's payload. */
  bytes(): Span {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end) throw new WireError(`a ${length}-byte field at byte ${start} runs past its message`);
    this.pos += length;
    return { start, end: this.pos };
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varintSpan();
        return;
      case WIRE_I64:
        this.pos += 8;
        break;
      case WIRE_LEN:
        this.bytes();
        return;
      case WIRE_I32:
        this.pos += 4;
        break;
      default:
        throw new WireError(`wire type ${wireType} at byte ${this.pos}`);
    }
    if (this.pos > this.end) throw new WireError('a fixed-size field runs past its message');
  }
}

function readSample(buf: Buffer, span: Span): Series['samples'][number] {
  const r = new Reader(buf, span.start, span.end);
  let value = -1;
  let ts: Span | undefined;
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 1 && wireType === WIRE_I64) {
      value = r.pos;
      r.skip(WIRE_I64);
    } else if (field === 2 && wireType === WIRE_VARINT) {
      ts = r.varintSpan();
    } else {
      r.skip(wireType);
    }
  }
  return { value, ts };
}

function readSeries(buf: Buffer, span: Span, counts: { histograms: number; exemplars: number; metadata: number }): Series {
  const r = new Reader(buf, span.start, span.end);
  const series: Series = { refs: [], samples: [] };
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 1 && wireType === WIRE_LEN) {
      const packed = r.bytes();
      const p = new Reader(buf, packed.start, packed.end);
      while (!p.done) series.refs.push(p.varint());
    } else if (field === 1 && wireType === WIRE_VARINT) {
      series.refs.push(r.varint());
    } else if (field === 2 && wireType === WIRE_LEN) {
      series.samples.push(readSample(buf, r.bytes()));
    } else {
      if (wireType === WIRE_LEN && field === 3) counts.histograms++;
      else if (wireType === WIRE_LEN && field === 4) counts.exemplars++;
      else if (wireType === WIRE_LEN && field === 5) counts.metadata++;
      r.skip(wireType);
    }
  }
  if (series.refs.length % 2 !== 0) throw new WireError(`a series with an odd number (${series.refs.length}) of label references`);
  return series;
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 128; v = Math.floor(v / 128)) size++;
  return size;
}

/** A writer into a buffer sized beforehand. */
class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(value: number): void {
    let v = value;
    while (v >= 128) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  copy(from: Buffer, span: Span): void {
    this.pos += from.copy(this.buf, this.pos, span.start, span.end);
  }
}

/**
 * The 1.0 `prometheus.WriteRequest` holding the float samples of the 2.0 `io.prometheus.write.v2.Request` `body`
 * (both uncompressed), and what the 2.0 request held.
 *
 * @throws WireError when `body` is not a well-formed 2.0 request (truncated fields, a label reference past the symbol
 *   table, an odd number of label references).
 */
export function v2ToV1(body: Buffer): Converted {
  const symbols: Span[] = [];
  const seriesSpans: Span[] = [];
  const top = new Reader(body, 0, body.length);
  while (!top.done) {
    const tag = top.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 4 && wireType === WIRE_LEN) symbols.push(top.bytes());
    else if (field === 5 && wireType === WIRE_LEN) seriesSpans.push(top.bytes());
    else top.skip(wireType);
  }
  const counts = { histograms: 0, exemplars: 0, metadata: 0 };
  const allSeries = seriesSpans.map((span) => readSeries(body, span, counts));
  const symbolLength = (ref: number): number => {
    const span = symbols[ref];
    if (span === undefined) throw new WireError(`label reference ${ref} is past the symbol table's ${symbols.length} entries`);
    return span.end - span.start;
  };

  // Sizes first, so that the request is written once into a buffer of its exact size.
  let total = 0;
  let samples = 0;
  const sizes: { labels: number[]; samples: number[]; series: number }[] = [];
  for (const series of allSeries) {
    const labels: number[] = [];
    let seriesSize = 0;
    for (let i = 0; i < series.refs.length; i += 2) {
      const name = symbolLength(series.refs[i] as number);
      const value = symbolLength(series.refs[i + 1] as number);
      const label = 1 + varintSize(name) + name + 1 + varintSize(value) + value;
      labels.push(label);
      seriesSize += 1 + varintSize(label) + label;
    }
    const sampleSizes: number[] = [];
    for (const s of series.samples) {
      const size = 1 + 8 + 1 + (s.ts === undefined ? 1 : s.ts.end - s.ts.start);
      sampleSizes.push(size);
      seriesSize += 1 + varintSize(size) + size;
    }
    samples += series.samples.length;
    sizes.push({ labels, samples: sampleSizes, series: seriesSize });
    total += 1 + varintSize(seriesSize) + seriesSize;
  }

  const w = new Writer(Buffer.allocUnsafe(total));
  allSeries.forEach((series, index) => {
    const size = sizes[index] as (typeof sizes)[number];
    w.varint((1 << 3) | WIRE_LEN);
    w.varint(size.series);
    for (let i = 0; i < series.refs.length; i += 2) {
      const name = symbols[series.refs[i] as number] as Span;
      const value = symbols[series.refs[i + 1] as number] as Span;
      w.varint((1 << 3) | WIRE_LEN);
      w.varint(size.labels[i / 2] as number);
      w.varint((1 << 3) | WIRE_LEN);
      w.varint(name.end - name.start);
      w.copy(body, name);
      w.varint((2 << 3) | WIRE_LEN);
      w.varint(value.end - value.start);
      w.copy(body, value);
    }
    series.samples.forEach((s, i) => {
      w.varint((2 << 3) | WIRE_LEN);
      w.varint(size.samples[i] as number);
      w.varint((1 << 3) | WIRE_I64);
      if (s.value < 0) {
        w.buf.fill(0, w.pos, w.pos + 8);
        w.pos += 8;
      } else {
        w.copy(body, { start: s.value, end: s.value + 8 });
      }
      w.varint((2 << 3) | WIRE_VARINT);
      if (s.ts === undefined) w.varint(0);
      else w.copy(body, s.ts);
    });
  });
  if (w.pos !== total) throw new WireError(`wrote ${w.pos} bytes of a ${total}-byte request`);
  return { body: w.buf, series: allSeries.length, samples, ...counts };
}

/** What a remote-write request holds, counted without decoding it. */
export interface RequestCounts {
  readonly series: number;
  readonly samples: number;
  readonly histograms: number;
  readonly exemplars: number;
  /** 1.0: `WriteRequest.metadata` entries; 2.0: series that carry metadata. */
  readonly metadata: number;
}

/**
 * Counts the series, samples, histograms, exemplars and metadata of an uncompressed 1.0 `prometheus.WriteRequest`
 * (`v2` false) or 2.0 `io.prometheus.write.v2.Request` (`v2` true), walking the wire without decoding strings.
 *
 * @throws WireError when `body` is not well-formed protobuf.
 */
export function countRequest(body: Buffer, v2: boolean): RequestCounts {
  const top = new Reader(body, 0, body.length);
  const counts = { series: 0, samples: 0, histograms: 0, exemplars: 0, metadata: 0 };
  while (!top.done) {
    const tag = top.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === WIRE_LEN && field === (v2 ? 5 : 1)) {
      counts.series++;
      const span = top.bytes();
      const r = new Reader(body, span.start, span.end);
      while (!r.done) {
        const inner = r.varint();
        const innerWire = inner & 7;
        const innerField = Math.floor(inner / 8);
        if (innerWire === WIRE_LEN && innerField === 2) counts.samples++;
        else if (innerWire === WIRE_LEN && innerField === (v2 ? 3 : 4)) counts.histograms++;
        else if (innerWire === WIRE_LEN && innerField === (v2 ? 4 : 3)) counts.exemplars++;
        else if (innerWire === WIRE_LEN && innerField === 5 && v2) counts.metadata++;
        r.skip(innerWire);
      }
    } else {
      if (wireType === WIRE_LEN && field === 3 && !v2) counts.metadata++;
      top.skip(wireType);
    }
  }
  return counts;
}
