/**
 * Cutting a queued request down to its samples and exemplars not older than a cutoff (`sample_age_limit`), for
 * either protocol: the compressed body is decompressed, walked field by field and re-encoded with only what is
 * kept. Fields it does not look into (labels, symbols, metadata) are copied byte for byte.
 */
import { compressSync, uncompressSync } from 'snappy';
import type { RemoteWriteMessage } from '@promfleet/model';
import { writeVarint } from './series.js';

/** A queued request as `dropOlderThan` reads and returns it: the fields of the spool's `QueueRecord`. */
export interface TrimmableRecord {
  readonly protocol: RemoteWriteMessage;
  /** The snappy-compressed request. */
  readonly body: Buffer;
  readonly samples: number;
  readonly exemplars: number;
  readonly oldestTimestampMs: number;
  readonly newestTimestampMs: number;
}

/** A request body that is not the protobuf it claims to be. */
export class RemoteWriteBodyError extends Error {
  override readonly name = 'RemoteWriteBodyError';
  readonly code = 'PROMFLEET_REMOTE_WRITE_BODY';

  /** Creates the error for the problem `message` at byte `offset` of the uncompressed body. */
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset} of the uncompressed request`);
  }
}

/** Where each protocol keeps its series and their data. */
interface Layout {
  readonly timeseries: number;
  readonly samples: number;
  readonly exemplars: number;
  readonly histograms: number;
}

const LAYOUTS: Readonly<Record<RemoteWriteMessage, Layout>> = {
  'prometheus.WriteRequest': { timeseries: 1, samples: 2, exemplars: 3, histograms: 4 },
  'io.prometheus.write.v2.Request': { timeseries: 5, samples: 2, exemplars: 4, histograms: 3 },
};

/** `Sample.timestamp`, `Exemplar.timestamp` and `Histogram.timestamp` field numbers (the same in 1.0 and 2.0). */
const SAMPLE_TIMESTAMP = 2;
const EXEMPLAR_TIMESTAMP = 3;
const HISTOGRAM_TIMESTAMP = 15;

/**
 * `record` without its samples, exemplars and histograms older than `cutoffMs` (Unix ms; a timestamp equal to it is
 * kept), and without the series left with none; undefined when nothing is left. The record itself when nothing in it
 * is older.
 *
 * @throws RemoteWriteBodyError when the body does not decompress or decode.
 */
export function dropOlderThan(record: TrimmableRecord, cutoffMs: number): TrimmableRecord | undefined {
  if (record.oldestTimestampMs >= cutoffMs) return record;
  if (record.newestTimestampMs < cutoffMs) return undefined;
  let input: Buffer;
  try {
    const body = uncompressSync(record.body, { asBuffer: true });
    input = typeof body === 'string' ? Buffer.from(body) : body;
  } catch (err) {
    throw new RemoteWriteBodyError(`the record does not decompress (${err instanceof Error ? err.message : String(err)})`, 0);
  }
  const layout = LAYOUTS[record.protocol];
  const kept = { samples: 0, exemplars: 0, oldest: Infinity, newest: -Infinity };
  const out: Buffer[] = [];
  let series = 0;
  for (const field of fields(input, { start: 0, end: input.length })) {
    if (field.number !== layout.timeseries || field.wireType !== WIRE_LEN) {
      out.push(input.subarray(field.start, field.end));
      continue;
    }
    const parts: Buffer[] = [];
    let data = 0;
    for (const inner of fields(input, { start: field.valueStart, end: field.end })) {
      const raw = input.subarray(inner.start, inner.end);
      const kind = inner.wireType !== WIRE_LEN ? 'other' : dataKind(layout, inner.number);
      if (kind === 'other') {
        parts.push(raw);
        continue;
      }
      const ts = timestampOf(input, { start: inner.valueStart, end: inner.end, field: timestampField(kind) });
      if (ts < cutoffMs) continue;
      parts.push(raw);
      data++;
      if (kind === 'samples') kept.samples++;
      if (kind === 'exemplars') kept.exemplars++;
      if (ts < kept.oldest) kept.oldest = ts;
      if (ts > kept.newest) kept.newest = ts;
    }
    if (data === 0) continue;
    series++;
    out.push(lengthDelimited(layout.timeseries, parts));
  }
  if (series === 0) return undefined;
  return {
    protocol: record.protocol,
    body: compressSync(Buffer.concat(out), { copyOutputData: true }),
    samples: kept.samples,
    exemplars: kept.exemplars,
    oldestTimestampMs: kept.oldest,
    newestTimestampMs: kept.newest,
  };
}

type DataKind = 'samples' | 'exemplars' | 'histograms' | 'other';

function dataKind(layout: Layout, field: number): DataKind {
  if (field === layout.samples) return 'samples';
  if (field === layout.exemplars) return 'exemplars';
  if (field === layout.histograms) return 'histograms';
  return 'other';
}

function timestampField(kind: Exclude<DataKind, 'other'>): number {
  switch (kind) {
    case 'samples':
      return SAMPLE_TIMESTAMP;
    case 'exemplars':
      return EXEMPLAR_TIMESTAMP;
    case 'histograms':
      return HISTOGRAM_TIMESTAMP;
  }
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

interface Field {
  readonly number: number;
  readonly wireType: number;
  /** Where the field starts (its tag), where its value starts (after a length prefix) and ends. */
  readonly start: number;
  readonly valueStart: number;
  readonly end: number;
}

/** The fields of the message in `input[range.start, range.end)`, in order. */
function* fields(input: Buffer, range: { readonly start: number; readonly end: number }): Generator<Field> {
  let pos = range.start;
  while (pos < range.end) {
    const start = pos;
    const tag = readVarint(input, { pos, end: range.end });
    pos = tag.next;
    const wireType = tag.value % 8;
    const number = Math.floor(tag.value / 8);
    let valueStart = pos;
    switch (wireType) {
      case WIRE_VARINT:
        pos = readVarint(input, { pos, end: range.end }).next;
        break;
      case WIRE_I64:
        pos += 8;
        break;
      case WIRE_I32:
        pos += 4;
        break;
      case WIRE_LEN: {
        const length = readVarint(input, { pos, end: range.end });
        valueStart = length.next;
        pos = length.next + length.value;
        break;
      }
      default:
        throw new RemoteWriteBodyError(`unsupported protobuf wire type ${wireType}`, start);
    }
    if (pos > range.end) throw new RemoteWriteBodyError(`field ${number} runs past the end of its message`, start);
    yield { number, wireType, start, valueStart, end: pos };
  }
}

/** The int64 varint `field` of the message in `[start, end)`, 0 when absent (protobuf's default). */
function timestampOf(input: Buffer, at: { readonly start: number; readonly end: number; readonly field: number }): number {
  let ts = 0;
  for (const f of fields(input, at)) {
    if (f.number === at.field && f.wireType === WIRE_VARINT) ts = readInt64(input, f.valueStart);
  }
  return ts;
}

/** A varint up to 2^53 at `pos`; `next` is the position after it. */
function readVarint(input: Buffer, at: { readonly pos: number; readonly end: number }): { readonly value: number; readonly next: number } {
  let value = 0;
  let scale = 1;
  let pos = at.pos;
  for (;;) {
    if (pos >= at.end) throw new RemoteWriteBodyError('truncated varint', at.pos);
    const byte = input[pos++] ?? 0;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value, next: pos };
    scale *= 0x80;
    if (pos - at.pos >= 10) throw new RemoteWriteBodyError('varint longer than 10 bytes', at.pos);
  }
}

/** An int64 varint at `pos`, negative values (ten bytes, two's complement) included. */
function readInt64(input: Buffer, pos: number): number {
  const small = readVarint(input, { pos, end: input.length });
  // Seven bytes hold 49 bits: a millisecond timestamp, exact as a number.
  if (small.next - pos <= 7) return small.value;
  let value = 0n;
  let shift = 0n;
  for (let i = pos; i < pos + 10; i++) {
    const byte = input[i] ?? 0;
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) break;
    shift += 7n;
  }
  return Number(BigInt.asIntN(64, value));
}

/** A length-delimited field `number` holding `parts`. */
function lengthDelimited(number: number, parts: readonly Buffer[]): Buffer {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const head = Buffer.alloc(11);
  const headEnd = writeVarint(head, { pos: writeVarint(head, { pos: 0, value: number * 8 + WIRE_LEN }), value: length });
  return Buffer.concat([head.subarray(0, headEnd), ...parts]);
}
