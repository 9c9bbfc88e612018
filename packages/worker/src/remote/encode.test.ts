import { describe, expect, it } from '@jest/globals';
import { MetricMetadata_MetricType, WriteRequest, writeV2 } from '@promfleet/protocol';
import { decodedV2 } from '@promfleet/testkit';
import type { RemoteWriteMessage } from '@promfleet/model';
import type { FamilyMetadata } from '../scrape/sink.js';
import { createRequestEncoder, encodeMetadataRequest, type RequestEncoder } from './encode.js';
import { ExemplarBuffer, SampleFlag, SampleRing } from './ring.js';
import { buildSeriesRef, type SeriesRef } from './series.js';
import { samplesOf } from './receiver-fixture.js';

function series(name: string, extra: Record<string, string> = {}, options?: { protocol?: RemoteWriteMessage; metadata?: FamilyMetadata }): SeriesRef {
  const ref = buildSeriesRef(new Map([['__name__', name], ...Object.entries(extra)]), {
    externalLabels: new Map(),
    writeRelabelConfigs: [],
    protocol: options?.protocol ?? 'prometheus.WriteRequest',
    metadata: options?.metadata,
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

  it('writes each batch whole into its reused buffer, whatever the batch before it left there', () => {
    const encoder = v1(64);
    const many = Array.from({ length: 40 }, (_, i) => series('node_cpu_seconds_total', { cpu: String(i), mode: 'idle', instance: 'a-long-host-name:9100' }));
    const first = encoder.encode(ringOf(many.map((ref, i): Row => [ref, 1_700_000_000_000, i])), 40, new ExemplarBuffer());
    expect(WriteRequest.decode(first.body).timeseries).toHaveLength(40);
    const ring = ringOf([
      [up, 1_700_000_000_000, 1],
      [load, 1_700_000_000_000, 0.25],
    ]);
    const second = encoder.encode(ring, 2, new ExemplarBuffer());
    expect(second.body).toEqual(v1(8).encode(ring, 2, new ExemplarBuffer()).body);
  });

  it('writes the length of a series of any size: one byte, two, and three past 16 KiB', () => {
    const small = series('a');
    const medium = series('b', { text: 'x'.repeat(200) });
    const large = series('c', { text: 'y'.repeat(20_000) });
    const rows: Row[] = [
      [small, 1_700_000_000_000, 1],
      [medium, 1_700_000_000_000, 2],
      [large, 1_700_000_000_000, 3],
      [small, 1_700_000_015_000, 4],
    ];
    const body = v1(8).encode(ringOf(rows), 4, new ExemplarBuffer()).body;
    const decoded = WriteRequest.decode(body);
    expect(decoded.timeseries.map((ts) => [ts.labels.at(-1)?.value.length, ts.samples.map((s) => s.value)])).toEqual([
      [1, [1, 4]],
      [200, [2]],
      [20_000, [3]],
    ]);
    expect(body).toEqual(Buffer.from(WriteRequest.encode(decoded).finish()));
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

function exemplarsOf(rows: readonly [ref: SeriesRef, labels: Record<string, string>, value: number, timestampMs: number][]): ExemplarBuffer {
  const buffer = new ExemplarBuffer();
  for (const [ref, labels, value, timestampMs] of rows) buffer.push(ref, { labels: new Map(Object.entries(labels)), value, timestampMs });
  return buffer;
}

describe('the 1.0 encoder with exemplars', () => {
  const up = series('up', { job: 'node' });
  const load = series('load1', { job: 'node' });

  it('puts each exemplar in its series’ TimeSeries, series with only exemplars last, and clears the buffer', () => {
    const ring = ringOf([[up, 1000, 1]]);
    const exemplars = exemplarsOf([
      [load, { trace_id: 'abc', span_id: '1' }, 0.5, 900],
      [up, { trace_id: 'def' }, 1, 1000],
    ]);
    const batch = v1(8).encode(ring, 1, exemplars);
    expect(exemplars.size).toBe(0);
    expect([batch.samples, batch.exemplars, batch.oldestTimestampMs, batch.newestTimestampMs]).toEqual([1, 2, 900, 1000]);
    const decoded = WriteRequest.decode(batch.body);
    expect(decoded).toEqual(
      WriteRequest.fromPartial({
        timeseries: [
          {
            labels: [
              { name: '__name__', value: 'up' },
              { name: 'job', value: 'node' },
            ],
            samples: [{ value: 1, timestamp: 1000 }],
            exemplars: [{ labels: [{ name: 'trace_id', value: 'def' }], value: 1, timestamp: 1000 }],
          },
          {
            labels: [
              { name: '__name__', value: 'load1' },
              { name: 'job', value: 'node' },
            ],
            exemplars: [
              {
                labels: [
                  { name: 'span_id', value: '1' },
                  { name: 'trace_id', value: 'abc' },
                ],
                value: 0.5,
                timestamp: 900,
              },
            ],
          },
        ],
      }),
    );
    expect(batch.body).toEqual(Buffer.from(WriteRequest.encode(decoded).finish()));
  });
});

function v2(maxSamples: number): RequestEncoder {
  return createRequestEncoder({ protocol: 'io.prometheus.write.v2.Request', maxSamples });
}

describe('the 2.0 encoder', () => {
  const requests: FamilyMetadata = { family: 'http_requests', type: 'counter', help: 'Requests served.', unit: '' };
  const temperature: FamilyMetadata = { family: 'room_temperature_celsius', type: 'gauge', help: 'Temperature. °C', unit: 'celsius' };
  const v2Options = (metadata?: FamilyMetadata) => ({ protocol: 'io.prometheus.write.v2.Request' as const, ...(metadata === undefined ? {} : { metadata }) });

  it('writes a Request with a symbol table starting with "", label refs, samples, metadata and exemplars', () => {
    const get = series('http_requests_total', { code: '200', job: 'api' }, v2Options(requests));
    const post = series('http_requests_total', { code: '500', job: 'api' }, v2Options(requests));
    const room = series('room_temperature_celsius', { job: 'api' }, v2Options(temperature));
    const ring = ringOf([
      [get, 2000, 10],
      [room, 2000, 21.5],
      [post, 2000, 1],
      [get, 1000, 9],
    ]);
    const exemplars = exemplarsOf([[get, { trace_id: 'abc' }, 0.25, 1500]]);
    const batch = v2(8).encode(ring, 4, exemplars);
    expect([batch.samples, batch.exemplars, batch.oldestTimestampMs, batch.newestTimestampMs]).toEqual([4, 1, 1000, 2000]);
    const request = writeV2.Request.decode(batch.body);
    expect(request.symbols[0]).toBe('');
    expect(new Set(request.symbols).size).toBe(request.symbols.length);
    const decoded = decodedV2(request);
    expect(decoded.samples).toEqual([
      { labels: '__name__=http_requests_total,code=200,job=api', value: 9, timestampMs: 1000 },
      { labels: '__name__=http_requests_total,code=200,job=api', value: 10, timestampMs: 2000 },
      { labels: '__name__=room_temperature_celsius,job=api', value: 21.5, timestampMs: 2000 },
      { labels: '__name__=http_requests_total,code=500,job=api', value: 1, timestampMs: 2000 },
    ]);
    expect(decoded.exemplars).toEqual([
      { series: '__name__=http_requests_total,code=200,job=api', labels: 'trace_id=abc', value: 0.25, timestampMs: 1500 },
    ]);
    expect(decoded.metadata).toEqual([
      { series: '__name__=http_requests_total,code=200,job=api', type: 'counter', help: 'Requests served.', unit: '' },
      { series: '__name__=room_temperature_celsius,job=api', type: 'gauge', help: 'Temperature. °C', unit: 'celsius' },
      { series: '__name__=http_requests_total,code=500,job=api', type: 'counter', help: 'Requests served.', unit: '' },
    ]);
    expect(request.timeseries[0]?.metadata).toEqual({ type: writeV2.Metadata_MetricType.COUNTER, helpRef: request.symbols.indexOf('Requests served.'), unitRef: 0 });
    expect(batch.body).toEqual(Buffer.from(writeV2.Request.encode(request).finish()));
  });

  it('sends the created timestamp as every sample’s start_timestamp, and none when unknown', () => {
    const counter = series('jobs_total', {}, v2Options({ family: 'jobs', type: 'counter', help: '', unit: '' }));
    const gauge = series('queue_depth', {}, v2Options());
    counter.createdTimestampMs = 500;
    const request = writeV2.Request.decode(v2(8).encode(ringOf([[counter, 1000, 3], [counter, 2000, 4], [gauge, 1000, 7]]), 3, new ExemplarBuffer()).body);
    expect(request.timeseries.map((ts) => ts.samples.map((s) => s.startTimestamp))).toEqual([[500, 500], [0]]);
    expect(request.timeseries[1]?.metadata).toBeUndefined();
    expect(request.timeseries[0]?.metadata).toEqual({ type: writeV2.Metadata_MetricType.COUNTER, helpRef: 0, unitRef: 0 });
  });

  it('builds each request’s symbol table afresh', () => {
    const a = series('a', {}, v2Options());
    const b = series('b', {}, v2Options());
    const encoder = v2(8);
    const first = writeV2.Request.decode(encoder.encode(ringOf([[a, 1, 1]]), 1, new ExemplarBuffer()).body);
    const second = writeV2.Request.decode(encoder.encode(ringOf([[b, 1, 1]]), 1, new ExemplarBuffer()).body);
    expect(first.symbols).toEqual(['', '__name__', 'a']);
    expect(second.symbols).toEqual(['', '__name__', 'b']);
    expect(second.timeseries[0]?.labelsRefs).toEqual([1, 2]);
  });

  it('writes staleness markers as the exact bits 0x7ff0000000000002', () => {
    const ref = series('up', {}, v2Options());
    const body = v2(8).encode(ringOf([[ref, 1000, 42, SampleFlag.stale]]), 1, new ExemplarBuffer()).body;
    const at = body.indexOf(Buffer.from([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]));
    expect(at).toBeGreaterThan(0);
    expect(body[at - 1]).toBe(0x09);
    expect(body.readBigUInt64LE(at)).toBe(0x7ff0000000000002n);
  });

  it('encodes a series with only exemplars, and exemplars without labels', () => {
    const ref = series('latency_seconds_bucket', { le: '0.5' }, v2Options());
    const exemplars = exemplarsOf([[ref, {}, 0.3, 1000]]);
    const batch = v2(8).encode(ringOf([]), 0, exemplars);
    expect([batch.samples, batch.exemplars]).toEqual([0, 1]);
    const request = writeV2.Request.decode(batch.body);
    expect(request.timeseries).toEqual([{ labelsRefs: [1, 2, 3, 4], samples: [], histograms: [], exemplars: [{ labelsRefs: [], value: 0.3, timestamp: 1000 }] }]);
  });

  it('grows past one-byte symbol references and long strings', () => {
    const refs = Array.from({ length: 200 }, (_, i) => series('m', { id: `${i}`.padStart(3, '0'), long: 'x'.repeat(300) }, v2Options()));
    const ring = ringOf(refs.map((ref, i): Row => [ref, 1000 + i, i]), 256);
    const decoded = decodedV2(writeV2.Request.decode(v2(256).encode(ring, 200, new ExemplarBuffer()).body));
    expect(decoded.samples.map((s) => s.labels)).toEqual(refs.map((_, i) => `__name__=m,id=${`${i}`.padStart(3, '0')},long=${'x'.repeat(300)}`));
  });
});

describe('encodeMetadataRequest', () => {
  it('writes a 1.0 WriteRequest holding only metadata, each OpenMetrics type mapped as Prometheus does', () => {
    const families: FamilyMetadata[] = (['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown'] as const).map((type) => ({
      family: `m_${type}`,
      type,
      help: type === 'unknown' ? '' : `Help of ${type}.`,
      unit: type === 'gauge' ? 'seconds' : '',
    }));
    const body = encodeMetadataRequest(families);
    const decoded = WriteRequest.decode(body);
    expect(decoded.timeseries).toEqual([]);
    expect(decoded.metadata.map((m) => [m.metricFamilyName, MetricMetadata_MetricType[m.type], m.help, m.unit])).toEqual([
      ['m_counter', 'COUNTER', 'Help of counter.', ''],
      ['m_gauge', 'GAUGE', 'Help of gauge.', 'seconds'],
      ['m_histogram', 'HISTOGRAM', 'Help of histogram.', ''],
      ['m_gaugehistogram', 'GAUGEHISTOGRAM', 'Help of gaugehistogram.', ''],
      ['m_summary', 'SUMMARY', 'Help of summary.', ''],
      ['m_info', 'INFO', 'Help of info.', ''],
      ['m_stateset', 'STATESET', 'Help of stateset.', ''],
      ['m_unknown', 'UNKNOWN', '', ''],
    ]);
    expect(body).toEqual(Buffer.from(WriteRequest.encode(decoded).finish()));
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
