import { describe, expect, it } from '@jest/globals';
import { WriteRequest } from '@promfleet/protocol';
import { createRequestEncoder, type RequestEncoder } from './encode.js';
import { ExemplarBuffer, SampleFlag, SampleRing } from './ring.js';
import { buildSeriesRef, type SeriesRef } from './series.js';
import { samplesOf } from './receiver-fixture.js';

function series(name: string, extra: Record<string, string> = {}): SeriesRef {
  const ref = buildSeriesRef(new Map([['__name__', name], ...Object.entries(extra)]), {
    externalLabels: new Map(),
    writeRelabelConfigs: [],
    protocol: 'prometheus.WriteRequest',
    metadata: undefined,
  });
  if (ref === undefined) throw new Error('series dropped');
  return ref;
}

type Row = [ref: SeriesRef, timestampMs: number, value: number, flags?: number];

function ringOf(rows: readonly Row[], initialCapacity = 16): SampleRing {
  const ring = new SampleRing(initialCapacity);
  for (const [ref, timestampMs, value, flags] of rows) ring.push(ref, { timestampMs, value, flags: flags ?? 0 });
  return ring;
}

function v1(maxSamples: number): RequestEncoder {
  return createRequestEncoder({ protocol: 'prometheus.WriteRequest', maxSamples });
}

describe('the 1.0 encoder', () => {
  const up = series('up', { job: 'node' });
  const load = series('load1', { job: 'node' });

  it('writes a WriteRequest the generated prompb code decodes, one TimeSeries per series', () => {
    const ring = ringOf([
      [up, 1_700_000_000_000, 1],
      [load, 1_700_000_000_000, 0.5],
      [up, 1_700_000_015_000, 0],
    ]);
    const batch = v1(8).encode(ring, 3, new ExemplarBuffer());
    const decoded = WriteRequest.decode(batch.body);
    expect(decoded).toEqual(
      WriteRequest.fromPartial({
        timeseries: [
          {
            labels: [
              { name: '__name__', value: 'up' },
              { name: 'job', value: 'node' },
            ],
            samples: [
              { value: 1, timestamp: 1_700_000_000_000 },
              { value: 0, timestamp: 1_700_000_015_000 },
            ],
          },
          {
            labels: [
              { name: '__name__', value: 'load1' },
              { name: 'job', value: 'node' },
            ],
            samples: [{ value: 0.5, timestamp: 1_700_000_000_000 }],
          },
        ],
      }),
    );
    expect(batch.samples).toBe(3);
    expect(batch.exemplars).toBe(0);
    expect(batch.oldestTimestampMs).toBe(1_700_000_000_000);
    expect(batch.newestTimestampMs).toBe(1_700_000_015_000);
  });

  it('matches the generated encoder byte for byte', () => {
    const ring = ringOf([
      [up, 1_700_000_000_000, 1],
      [load, 1_700_000_000_000, 0.25],
    ]);
    const decoded = WriteRequest.decode(v1(8).encode(ring, 2, new ExemplarBuffer()).body);
    expect(v1(8).encode(ring, 2, new ExemplarBuffer()).body).toEqual(Buffer.from(WriteRequest.encode(decoded).finish()));
  });

  it('puts a series\u2019 samples in timestamp order even when they were queued out of order', () => {
    const ring = ringOf([
      [up, 3000, 3],
      [up, 1000, 1],
      [up, 2000, 2],
      [up, 2000, 2.5],
    ]);
    const samples = samplesOf(WriteRequest.decode(v1(8).encode(ring, 4, new ExemplarBuffer()).body));
    expect(samples.map((s) => [s.timestampMs, s.value])).toEqual([
      [1000, 1],
      [2000, 2],
      [2000, 2.5],
      [3000, 3],
    ]);
  });

  it('writes staleness markers as the exact bits 0x7ff0000000000002', () => {
    const ring = ringOf([[up, 1000, 42, SampleFlag.stale]]);
    const body = v1(8).encode(ring, 1, new ExemplarBuffer()).body;
    // TimeSeries tag and length, the label fields, then the Sample field: tag, length, value tag.
    const valueTag = 2 + up.labels.length + 3;
    expect([...body.subarray(valueTag - 3, valueTag)]).toEqual([0x12, 12, 0x09]);
    expect([...body.subarray(valueTag, valueTag + 8)]).toEqual([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
    expect(body.readBigUInt64LE(valueTag)).toBe(0x7ff0000000000002n);
  });

  it('keeps special values: a plain NaN is not a staleness marker, infinities and -0 survive', () => {
    const ring = ringOf([
      [up, 1, Number.NaN],
      [up, 2, Infinity],
      [up, 3, -Infinity],
      [up, 4, -0],
    ]);
    const values = samplesOf(WriteRequest.decode(v1(8).encode(ring, 4, new ExemplarBuffer()).body)).map((s) => s.value);
    expect(values).toEqual([Number.NaN, Infinity, -Infinity, -0]);
    const bits = new DataView(new ArrayBuffer(8));
    bits.setFloat64(0, values[0] ?? 0, true);
    expect(bits.getBigUint64(0, true)).not.toBe(0x7ff0000000000002n);
  });

  it.each([0, 1, -1, -1_700_000_000_000, 2 ** 40])('round-trips timestamp %d (negative ones as int64)', (timestampMs) => {
    const ring = ringOf([[up, timestampMs, 1]]);
    const samples = samplesOf(WriteRequest.decode(v1(8).encode(ring, 1, new ExemplarBuffer()).body));
    expect(samples[0]?.timestampMs).toBe(timestampMs);
  });

  it('skips samples flagged dropped and encodes only the first count samples', () => {
    const ring = ringOf([
      [up, 1000, 1, SampleFlag.dropped],
      [load, 1000, 2],
      [up, 2000, 3],
      [load, 3000, 4],
    ]);
    const batch = v1(8).encode(ring, 3, new ExemplarBuffer());
    expect(samplesOf(WriteRequest.decode(batch.body)).map((s) => s.value)).toEqual([2, 3]);
    expect(batch.samples).toBe(2);
  });

  it('encodes an empty WriteRequest when every sample is dropped', () => {
    const batch = v1(8).encode(ringOf([[up, 1000, 1, SampleFlag.dropped]]), 1, new ExemplarBuffer());
    expect(batch).toEqual({ body: Buffer.alloc(0), samples: 0, exemplars: 0, oldestTimestampMs: Infinity, newestTimestampMs: -Infinity });
  });

  it('reads across the ring\u2019s wrap-around and growth without losing order', () => {
    const ring = new SampleRing(16);
    for (let i = 0; i < 10; i++) ring.push(up, { timestampMs: i, value: i, flags: 0 });
    ring.shift(10);
    for (let i = 10; i < 50; i++) ring.push(i % 2 === 0 ? up : load, { timestampMs: i, value: i, flags: 0 });
    expect(ring.capacity).toBe(64);
    const samples = samplesOf(WriteRequest.decode(v1(64).encode(ring, 40, new ExemplarBuffer()).body));
    expect(samples.filter((s) => s.labels.startsWith('__name__=up')).map((s) => s.value)).toEqual(
      Array.from({ length: 20 }, (_, i) => 10 + 2 * i),
    );
    expect(samples.filter((s) => s.labels.startsWith('__name__=load1')).map((s) => s.value)).toEqual(
      Array.from({ length: 20 }, (_, i) => 11 + 2 * i),
    );
  });
});

describe('SampleRing', () => {
  it('shrinks back to its initial capacity once a grown ring drains', () => {
    const ref = series('up');
    const ring = new SampleRing(16);
    for (let i = 0; i < 100; i++) ring.push(ref, { timestampMs: i, value: i, flags: 0 });
    expect(ring.capacity).toBe(128);
    ring.shift(99);
    expect(ring.capacity).toBe(128);
    ring.shift(1);
    expect([ring.size, ring.capacity]).toEqual([0, 16]);
  });

  it('releases the series of removed samples', () => {
    const ring = ringOf([[series('up'), 1, 1]]);
    ring.shift(1);
    expect(ring.refs.every((r) => r === undefined)).toBe(true);
  });
});
