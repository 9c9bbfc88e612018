/**
 * Pins the remote-write messages to Prometheus' field numbers (prompb/types.proto and
 * prompb/remote.proto) by comparing our encoder's output with bytes assembled by hand from the
 * protobuf wire format: a tag byte is (field number << 3) | wire type, where wire type 0 is a
 * varint, 1 is 8 bytes little-endian, and 2 is a length-delimited run.
 */
import { describe, expect, it } from '@jest/globals';
import {
  Histogram_ResetHint,
  MetricMetadata_MetricType,
  WriteRequest,
} from './index.js';

function ascii(s: string): number[] {
  return [...Buffer.from(s, 'utf8')];
}

/** A length-delimited field whose content is shorter than 128 bytes (a one-byte length). */
function delimited(tag: number, ...parts: number[][]): number[] {
  const content = parts.flat();
  expect(content.length).toBeLessThan(128);
  return [tag, content.length, ...content];
}

describe('WriteRequest wire format', () => {
  it('encodes one series with two labels and one sample exactly as Prometheus does', () => {
    const request = WriteRequest.fromPartial({
      timeseries: [
        {
          labels: [
            { name: '__name__', value: 'up' },
            { name: 'job', value: 'node' },
          ],
          samples: [{ value: 1, timestamp: 1_700_000_000_000 }],
        },
      ],
    });

    const expected = [
      0x0a, 47,                                   // WriteRequest.timeseries (1), 47 bytes
        0x0a, 14,                                 //   TimeSeries.labels (1), 14 bytes
          0x0a, 8, ...ascii('__name__'),          //     Label.name (1)
          0x12, 2, ...ascii('up'),                //     Label.value (2)
        0x0a, 11,                                 //   TimeSeries.labels (1), 11 bytes
          0x0a, 3, ...ascii('job'),               //     Label.name (1)
          0x12, 4, ...ascii('node'),              //     Label.value (2)
        0x12, 16,                                 //   TimeSeries.samples (2), 16 bytes
          0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,     //     Sample.value (1), double 1.0
          0x10, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31, //     Sample.timestamp (2), varint 1700000000000
    ];

    expect([...WriteRequest.encode(request).finish()]).toEqual(expected);
    expect(WriteRequest.decode(Uint8Array.from(expected))).toEqual(request);
  });

  it('encodes exemplars, native histograms and metadata with Prometheus field numbers', () => {
    const request = WriteRequest.fromPartial({
      timeseries: [
        {
          labels: [{ name: '__name__', value: 'rpc' }],
          exemplars: [{ labels: [{ name: 'trace_id', value: 'abc123' }], value: 0.25, timestamp: 1_700_000_015_000 }],
          histograms: [
            {
              count: { $case: 'countInt', countInt: 5 },
              sum: 2.5,
              schema: 3,
              zeroCount: { $case: 'zeroCountInt', zeroCountInt: 1 },
              positiveSpans: [{ offset: -1, length: 2 }],
              positiveDeltas: [2, -1],
              resetHint: Histogram_ResetHint.NO,
              timestamp: 1_700_000_000_000,
            },
          ],
        },
      ],
      metadata: [
        { type: MetricMetadata_MetricType.HISTOGRAM, metricFamilyName: 'rpc', help: 'RPC latency.', unit: 'seconds' },
      ],
    });

    const timestamp1700000000000 = [0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31];
    const timestamp1700000015000 = [0x98, 0xc5, 0x96, 0xff, 0xbc, 0x31];
    const expected = [
      ...delimited(0x0a,                                         // WriteRequest.timeseries (1)
        delimited(0x0a,                                          //   TimeSeries.labels (1)
          delimited(0x0a, ascii('__name__')), delimited(0x12, ascii('rpc'))),
        delimited(0x1a,                                          //   TimeSeries.exemplars (3)
          delimited(0x0a,                                        //     Exemplar.labels (1)
            delimited(0x0a, ascii('trace_id')), delimited(0x12, ascii('abc123'))),
          [0x11, 0, 0, 0, 0, 0, 0, 0xd0, 0x3f],                  //     Exemplar.value (2), double 0.25
          [0x18, ...timestamp1700000015000]),                    //     Exemplar.timestamp (3)
        delimited(0x22,                                          //   TimeSeries.histograms (4)
          [0x08, 5],                                             //     Histogram.count_int (1)
          [0x19, 0, 0, 0, 0, 0, 0, 0x04, 0x40],                  //     Histogram.sum (3), double 2.5
          [0x20, 6],                                             //     Histogram.schema (4), sint32 3 zigzags to 6
          [0x30, 1],                                             //     Histogram.zero_count_int (6)
          delimited(0x5a, [0x08, 1], [0x10, 2]),                 //     Histogram.positive_spans (11): offset sint32 -1 -> 1, length 2
          delimited(0x62, [4, 1]),                               //     Histogram.positive_deltas (12), packed sint64 2 -> 4, -1 -> 1
          [0x70, 2],                                             //     Histogram.reset_hint (14), NO
          [0x78, ...timestamp1700000000000])),                   //     Histogram.timestamp (15)
      ...delimited(0x1a,                                         // WriteRequest.metadata (3)
        [0x08, 3],                                               //   MetricMetadata.type (1), HISTOGRAM = 3
        delimited(0x12, ascii('rpc')),                           //   MetricMetadata.metric_family_name (2)
        delimited(0x22, ascii('RPC latency.')),                  //   MetricMetadata.help (4)
        delimited(0x2a, ascii('seconds'))),                      //   MetricMetadata.unit (5)
    ];

    expect([...WriteRequest.encode(request).finish()]).toEqual(expected);
    expect(WriteRequest.decode(Uint8Array.from(expected))).toEqual(request);
  });

  it.each([
    ['UNKNOWN', 0],
    ['COUNTER', 1],
    ['GAUGE', 2],
    ['HISTOGRAM', 3],
    ['GAUGEHISTOGRAM', 4],
    ['SUMMARY', 5],
    ['INFO', 6],
    ['STATESET', 7],
  ] as const)('numbers metric type %s %i, as Prometheus does', (name, wire) => {
    expect(MetricMetadata_MetricType[name]).toBe(wire);
  });

  it('skips field 2, which Prometheus reserves, when decoding', () => {
    // A Cortex-era sender's WriteRequest.Source (2) = RULE (1), then an empty series.
    const bytes = Uint8Array.of(0x10, 1, 0x0a, 0);
    expect(WriteRequest.decode(bytes)).toEqual(
      WriteRequest.fromPartial({ timeseries: [{}] }),
    );
  });

  it('keeps the staleness marker NaN bit-exact through encode and decode', () => {
    // Prometheus' StaleNaN is 0x7ff0000000000002, a signalling NaN. Read and write it through a
    // DataView: V8 quiets it to 0x7ff8000000000002 when it goes through a Float64Array
    // constructor, so that is not a way to observe the bits.
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, 0x7ff0000000000002n, true);
    const staleNaN = view.getFloat64(0, true);
    const request = WriteRequest.fromPartial({
      timeseries: [{ labels: [{ name: '__name__', value: 'up' }], samples: [{ value: staleNaN, timestamp: 1 }] }],
    });

    const bytes = WriteRequest.encode(request).finish();
    const valueAt = bytes.indexOf(0x09) + 1;
    expect([...bytes.subarray(valueAt, valueAt + 8)]).toEqual([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);

    view.setFloat64(0, WriteRequest.decode(bytes).timeseries[0]?.samples[0]?.value ?? 0, true);
    expect(view.getBigUint64(0, true)).toBe(0x7ff0000000000002n);
  });
});
