import { describe, expect, it } from '@jest/globals';
import { compressSync } from 'snappy';
import { Request } from './gen/io/prometheus/write/v2/types.js';
import { decodedV2, startRemoteWriteReceiver } from './remote-write-receiver.js';

const v2Headers = {
  'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
  'Content-Encoding': 'snappy',
  'X-Prometheus-Remote-Write-Version': '2.0.0',
};

function body(request: Request): Buffer {
  return compressSync(Buffer.from(Request.encode(request).finish()));
}

describe('decodedV2', () => {
  it('resolves label, exemplar and metadata references through the symbol table', () => {
    const decoded = decodedV2(
      Request.fromPartial({
        symbols: ['', '__name__', 'up', 'trace_id', 'abc', 'Up or not.'],
        timeseries: [
          {
            labelsRefs: [1, 2],
            samples: [{ value: 1, timestamp: 1000, startTimestamp: 500 }],
            exemplars: [{ labelsRefs: [3, 4], value: 1, timestamp: 1000 }],
            metadata: { type: 2, helpRef: 5, unitRef: 0 },
          },
        ],
      }),
    );
    expect(decoded.samples).toEqual([{ labels: '__name__=up', value: 1, timestampMs: 1000, startTimestampMs: 500 }]);
    expect(decoded.exemplars).toEqual([{ series: '__name__=up', labels: 'trace_id=abc', value: 1, timestampMs: 1000 }]);
    expect(decoded.metadata).toEqual([{ series: '__name__=up', type: 'gauge', help: 'Up or not.', unit: '' }]);
  });

  it('refuses a table not starting with "", a reference past it, and an odd number of label references', () => {
    expect(() => decodedV2(Request.fromPartial({ symbols: ['x'] }))).toThrow(/symbols\[0\]/);
    expect(() => decodedV2(Request.fromPartial({ symbols: [''], timeseries: [{ labelsRefs: [1, 2] }] }))).toThrow(/past the table/);
    expect(() => decodedV2(Request.fromPartial({ symbols: ['', 'a'], timeseries: [{ labelsRefs: [1] }] }))).toThrow(/odd number/);
  });
});

describe('RemoteWriteReceiver', () => {
  it('answers 2.0 with the written counts, or what the script says', async () => {
    await using receiver = await startRemoteWriteReceiver();
    receiver.script({ status: 204 }, { status: 204, written: { samples: 0 } }, { status: 204, written: 'omit' });
    const request = body(Request.fromPartial({ symbols: ['', '__name__', 'up'], timeseries: [{ labelsRefs: [1, 2], samples: [{ value: 1, timestamp: 1 }] }] }));
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(receiver.url, { method: 'POST', headers: v2Headers, body: request });
      answers.push(res.headers.get('x-prometheus-remote-write-samples-written'));
    }
    expect(answers).toEqual(['1', '0', null]);
    expect(receiver.accepted()).toHaveLength(3);
  });

  it('answers 415 to a message it is told not to accept, and records an undecodable body as empty', async () => {
    await using receiver = await startRemoteWriteReceiver({ protocols: ['prometheus.WriteRequest'] });
    const refused = await fetch(receiver.url, { method: 'POST', headers: v2Headers, body: body(Request.fromPartial({ symbols: [''] })) });
    expect(refused.status).toBe(415);
    const garbage = await fetch(receiver.url, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: 'not snappy' });
    expect(garbage.status).toBe(204);
    expect(receiver.requests[1]).toMatchObject({ protocol: 'prometheus.WriteRequest', request: undefined, samples: [] });
  });
});
