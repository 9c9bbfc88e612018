import { afterEach, describe, expect, it } from '@jest/globals';
import { compressSync } from 'snappy';
import { WriteRequest, writeV2 } from '@promfleet/protocol';
import { startRemoteWriteReceiver, type RemoteWriteReceiver } from '@promfleet/testkit';
import { startBridge, type Bridge } from './rw2-bridge.js';
import { WireError, countRequest, v2ToV1 } from './rw2-wire.js';

const SYMBOLS = ['', '__name__', 'node_cpu_seconds_total', 'cpu', '0', 'mode', 'idle', 'up', 'help text', 'trace_id', 'abc'];

/** A 2.0 request of two series: one counter with metadata, an exemplar and a start timestamp, and `up`. */
function request(): Buffer {
  return Buffer.from(
    writeV2.Request.encode(
      writeV2.Request.fromPartial({
        symbols: SYMBOLS,
        timeseries: [
          {
            labelsRefs: [1, 2, 3, 4, 5, 6],
            samples: [
              { value: 12.5, timestamp: 1_700_000_000_000, startTimestamp: 1_600_000_000_000 },
              { value: 13.25, timestamp: 1_700_000_005_000 },
            ],
            exemplars: [{ labelsRefs: [9, 10], value: 1, timestamp: 1_700_000_000_001 }],
            metadata: { type: writeV2.Metadata_MetricType.COUNTER, helpRef: 8, unitRef: 0 },
          },
          { labelsRefs: [1, 7], samples: [{ value: 1, timestamp: 1_700_000_000_000 }, { value: 0, timestamp: 0 }] },
        ],
      }),
    ).finish(),
  );
}

function labelsOf(ts: { labels: { name: string; value: string }[] }): string {
  return ts.labels.map((l) => `${l.name}=${l.value}`).join(',');
}

describe('v2ToV1', () => {
  it('carries every float sample with its series labels resolved, and counts what it does not carry', () => {
    const converted = v2ToV1(request());
    expect(converted).toMatchObject({ series: 2, samples: 4, histograms: 0, exemplars: 1, metadata: 1 });
    const decoded = WriteRequest.decode(converted.body);
    expect(decoded.timeseries.map((ts) => [labelsOf(ts), ts.samples.map((s) => [s.value, s.timestamp]), ts.exemplars.length])).toEqual([
      ['__name__=node_cpu_seconds_total,cpu=0,mode=idle', [[12.5, 1_700_000_000_000], [13.25, 1_700_000_005_000]], 0],
      ['__name__=up', [[1, 1_700_000_000_000], [0, 0]], 0],
    ]);
    expect(decoded.metadata).toEqual([]);
  });

  it('copies a value bit for bit (the staleness marker is a NaN with a payload)', () => {
    const body = request();
    const at = body.indexOf(Buffer.from(new Float64Array([12.5]).buffer));
    Buffer.from('020000000000f07f', 'hex').copy(body, at);
    const out = v2ToV1(body).body;
    expect(out.indexOf(Buffer.from('020000000000f07f', 'hex'))).toBeGreaterThan(0);
  });

  it('refuses a label reference past the symbol table', () => {
    const body = Buffer.from(writeV2.Request.encode(writeV2.Request.fromPartial({ symbols: ['', 'a'], timeseries: [{ labelsRefs: [1, 5] }] })).finish());
    expect(() => v2ToV1(body)).toThrow(WireError);
  });

  it('refuses a truncated request', () => {
    expect(() => v2ToV1(request().subarray(0, 40))).toThrow(WireError);
  });
});

describe('countRequest', () => {
  it('counts a 2.0 request and the 1.0 request made of it alike, metadata as each version carries it', () => {
    const v2 = request();
    expect(countRequest(v2, true)).toEqual({ series: 2, samples: 4, histograms: 0, exemplars: 1, metadata: 1 });
    expect(countRequest(v2ToV1(v2).body, false)).toEqual({ series: 2, samples: 4, histograms: 0, exemplars: 0, metadata: 0 });
  });

  it('counts 1.0 exemplars, histograms and metadata entries', () => {
    const body = Buffer.from(
      WriteRequest.encode(
        WriteRequest.fromPartial({
          timeseries: [{ labels: [{ name: '__name__', value: 'a' }], samples: [{ value: 1, timestamp: 1 }], exemplars: [{ value: 1, timestamp: 1 }], histograms: [{ timestamp: 1 }] }],
          metadata: [{ metricFamilyName: 'a', help: 'h' }, { metricFamilyName: 'b' }],
        }),
      ).finish(),
    );
    expect(countRequest(body, false)).toEqual({ series: 1, samples: 1, histograms: 1, exemplars: 1, metadata: 2 });
  });
});

describe('startBridge', () => {
  let downstream: RemoteWriteReceiver | undefined;
  let bridge: Bridge | undefined;
  afterEach(async () => {
    await bridge?.close();
    await downstream?.close();
  });

  const post = (url: string, body: Buffer, headers: Record<string, string>): Promise<Response> =>
    fetch(url, { method: 'POST', body, headers: { 'Content-Encoding': 'snappy', ...headers } });
  const v2Headers = { 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'X-Prometheus-Remote-Write-Version': '2.0.0' };

  it('forwards a 2.0 request as 1.0 and answers with the written counts', async () => {
    downstream = await startRemoteWriteReceiver({ protocols: ['prometheus.WriteRequest'] });
    bridge = await startBridge({ listen: '127.0.0.1:0', forwardUrl: downstream.url });
    const res = await post(bridge.url, compressSync(request()), v2Headers);
    expect(res.status).toBe(204);
    expect(res.headers.get('X-Prometheus-Remote-Write-Samples-Written')).toBe('4');
    expect(downstream.accepted().map((s) => `${s.labels} ${s.value}@${s.timestampMs}`)).toEqual([
      '__name__=node_cpu_seconds_total,cpu=0,mode=idle 12.5@1700000000000',
      '__name__=node_cpu_seconds_total,cpu=0,mode=idle 13.25@1700000005000',
      '__name__=up 1@1700000000000',
      '__name__=up 0@0',
    ]);
    expect(bridge.stats).toMatchObject({ requests: 1, failed: 0, samples: 4, exemplars: 1, metadata: 1 });
  });

  it('answers 415 to a 1.0 request and forwards nothing', async () => {
    downstream = await startRemoteWriteReceiver();
    bridge = await startBridge({ listen: '127.0.0.1:0', forwardUrl: downstream.url });
    const res = await post(bridge.url, compressSync(Buffer.alloc(0)), { 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0' });
    expect(res.status).toBe(415);
    expect(downstream.requests).toHaveLength(0);
  });

  it("passes the receiver's failure on, without written counts", async () => {
    downstream = await startRemoteWriteReceiver();
    downstream.script({ status: 503, body: 'busy' });
    bridge = await startBridge({ listen: '127.0.0.1:0', forwardUrl: downstream.url });
    const res = await post(bridge.url, compressSync(request()), v2Headers);
    expect(res.status).toBe(503);
    expect(res.headers.get('X-Prometheus-Remote-Write-Samples-Written')).toBeNull();
    expect(bridge.stats).toMatchObject({ requests: 1, failed: 1, samples: 0 });
  });

  it('answers 503 when the receiver cannot be reached', async () => {
    downstream = await startRemoteWriteReceiver();
    const url = downstream.url;
    await downstream.close();
    downstream = undefined;
    bridge = await startBridge({ listen: '127.0.0.1:0', forwardUrl: url });
    const res = await post(bridge.url, compressSync(request()), v2Headers);
    expect(res.status).toBe(503);
  });
});
