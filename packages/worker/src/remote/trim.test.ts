import { describe, expect, it } from '@jest/globals';
import { compressSync, uncompressSync } from 'snappy';
import type { RemoteWriteMessage } from '@promfleet/model';
import { WriteRequest, writeV2 } from '@promfleet/protocol';
import { decodedV1, decodedV2 } from '@promfleet/testkit';
import { createRequestEncoder, dropOlderThan, RemoteWriteBodyError, type TrimmableRecord } from './encode.js';
import { ExemplarBuffer, SampleFlag, SampleRing } from './ring.js';
import { buildSeriesRef, type SeriesRef } from './series.js';

function series(name: string, protocol: RemoteWriteMessage): SeriesRef {
  const metadata = { family: name, type: 'counter', help: `Help of ${name}.`, unit: '' } as const;
  const ref = buildSeriesRef(new Map([['__name__', name]]), { externalLabels: new Map(), writeRelabelConfigs: [], protocol, metadata });
  if (ref === undefined) throw new Error('series dropped');
  return ref;
}

/** A record as the queue makes it: `a` with samples at 1000, 2000, 3000 (the last stale), `b` at 1000, exemplars of `a` at 1500 and 2500. */
function record(protocol: RemoteWriteMessage): TrimmableRecord {
  const a = series('a', protocol);
  const b = series('b', protocol);
  const ring = new SampleRing(16);
  ring.push(a, { timestampMs: 1000, value: 1, flags: 0 });
  ring.push(b, { timestampMs: 1000, value: 10, flags: 0 });
  ring.push(a, { timestampMs: 2000, value: 2, flags: 0 });
  ring.push(a, { timestampMs: 3000, value: 0, flags: SampleFlag.stale });
  const exemplars = new ExemplarBuffer();
  exemplars.push(a, { labels: new Map([['trace_id', 'x']]), value: 1, timestampMs: 1500 });
  exemplars.push(a, { labels: new Map([['trace_id', 'y']]), value: 2, timestampMs: 2500 });
  const batch = createRequestEncoder({ protocol, maxSamples: 16 }).encode(ring, 4, exemplars);
  return {
    protocol,
    body: compressSync(Buffer.from(batch.body)),
    samples: batch.samples,
    exemplars: batch.exemplars,
    oldestTimestampMs: batch.oldestTimestampMs,
    newestTimestampMs: batch.newestTimestampMs,
  };
}

function decode(r: TrimmableRecord) {
  const raw = uncompressSync(r.body, { asBuffer: true }) as Buffer;
  return r.protocol === 'prometheus.WriteRequest' ? decodedV1(WriteRequest.decode(raw)) : decodedV2(writeV2.Request.decode(raw));
}

describe.each(['prometheus.WriteRequest', 'io.prometheus.write.v2.Request'] as const)('dropOlderThan (%s)', (protocol) => {
  const full = record(protocol);

  it('drops samples and exemplars older than the cutoff and the series left empty; a staleness marker keeps its bits', () => {
    const cut = dropOlderThan(full, 2000);
    expect(cut).toBeDefined();
    if (cut === undefined) return;
    expect([cut.samples, cut.exemplars, cut.oldestTimestampMs, cut.newestTimestampMs]).toEqual([2, 1, 2000, 3000]);
    const decoded = decode(cut);
    expect(decoded.samples.map((s) => [s.labels, s.value, s.timestampMs])).toEqual([
      ['__name__=a', 2, 2000],
      ['__name__=a', Number.NaN, 3000],
    ]);
    expect(decoded.exemplars.map((e) => [e.labels, e.timestampMs])).toEqual([['trace_id=y', 2500]]);
    const raw = uncompressSync(cut.body, { asBuffer: true }) as Buffer;
    expect(raw.indexOf(Buffer.from([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]))).toBeGreaterThan(0);
    if (protocol === 'io.prometheus.write.v2.Request') {
      expect(decoded.metadata).toEqual([{ series: '__name__=a', type: 'counter', help: 'Help of a.', unit: '' }]);
    }
  });

  it('keeps a series that only has exemplars left', () => {
    const cut = dropOlderThan(full, 2500);
    expect([cut?.samples, cut?.exemplars, cut?.oldestTimestampMs]).toEqual([1, 1, 2500]);
  });

  it('returns the record itself when nothing is older, and undefined when everything is', () => {
    expect(dropOlderThan(full, 1000)).toBe(full);
    expect(dropOlderThan(full, 3001)).toBeUndefined();
  });

  it('returns undefined when what is left in range holds nothing', () => {
    // The record claims a newer sample than it holds: the walk finds nothing at or after the cutoff.
    expect(dropOlderThan({ ...full, newestTimestampMs: 5000 }, 4000)).toBeUndefined();
  });

  it('fails with the offset on a body that is not protobuf', () => {
    const garbage = { ...full, body: compressSync(Buffer.from([0x0a, 0x7f, 0x01])) };
    expect(() => dropOlderThan(garbage, 2000)).toThrow(RemoteWriteBodyError);
    expect(() => dropOlderThan({ ...full, body: Buffer.from('not snappy') }, 2000)).toThrow(RemoteWriteBodyError);
  });
});
