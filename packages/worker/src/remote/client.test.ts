import { afterEach, describe, expect, it } from '@jest/globals';
import { compressSync } from 'snappy';
import type { RemoteWriteMessage } from '@promfleet/model';
import { httpConfig } from '../http-fixtures.js';
import { configureHttpClient, type ConfiguredHttpClient } from '../http-client.js';
import { RemoteWriteClient, retryAfterToMs, writtenStats, type RemoteWriteRequest } from './client.js';
import { createRequestEncoder } from './encode.js';
import { RemoteWriteRecoverableError, RemoteWriteRejectedError } from './errors.js';
import { startReceiver, type ReceiverOptions, type TestReceiver } from './receiver-fixture.js';
import { ExemplarBuffer, SampleRing } from './ring.js';
import { buildSeriesRef } from './series.js';

const opened: ConfiguredHttpClient[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((http) => http.close()));
});

function clientFor(receiver: TestReceiver, retryOnHttp429 = false): RemoteWriteClient {
  const http = configureHttpClient(httpConfig({ enableHttp2: false }), { context: 'test' });
  opened.push(http);
  return new RemoteWriteClient({ url: receiver.url, timeoutMs: 5_000, headers: new Map(), retryOnHttp429, userAgent: 'promfleet/test', http });
}

/** A request of `protocol` with two samples of one series and one exemplar. */
function request(protocol: RemoteWriteMessage): RemoteWriteRequest {
  const ref = buildSeriesRef(new Map([['__name__', 'up']]), { externalLabels: new Map(), writeRelabelConfigs: [], protocol, metadata: undefined });
  if (ref === undefined) throw new Error('series dropped');
  const ring = new SampleRing(16);
  ring.push(ref, { timestampMs: 1000, value: 1, flags: 0 });
  ring.push(ref, { timestampMs: 2000, value: 1, flags: 0 });
  const exemplars = new ExemplarBuffer();
  exemplars.push(ref, { labels: new Map([['trace_id', 'abc']]), value: 1, timestampMs: 2000 });
  const batch = createRequestEncoder({ protocol, maxSamples: 16 }).encode(ring, 2, exemplars);
  return { body: compressSync(Buffer.from(batch.body)), protocol, samples: batch.samples, exemplars: batch.exemplars };
}

async function receiver(options?: ReceiverOptions): Promise<TestReceiver> {
  return startReceiver(options);
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (err: unknown) => err,
  );
}

describe('RemoteWriteClient', () => {
  it('sends 1.0 with the 1.0 headers, and takes a 2xx without written headers', async () => {
    await using server = await receiver();
    const stats = await clientFor(server).store(request('prometheus.WriteRequest'), AbortSignal.timeout(5_000));
    expect(stats).toEqual({ samples: 0, histograms: 0, exemplars: 0, confirmed: false });
    const [received] = server.requests;
    expect(received?.headers).toMatchObject({
      'content-type': 'application/x-protobuf',
      'content-encoding': 'snappy',
      'user-agent': 'promfleet/test',
      'x-prometheus-remote-write-version': '0.1.0',
    });
    expect([received?.protocol, received?.samples.length, received?.exemplars.length]).toEqual(['prometheus.WriteRequest', 2, 1]);
  });

  it('sends 2.0 with the 2.0 headers and returns the written counts', async () => {
    await using server = await receiver();
    const stats = await clientFor(server).store(request('io.prometheus.write.v2.Request'), AbortSignal.timeout(5_000));
    expect(stats).toEqual({ samples: 2, histograms: 0, exemplars: 1, confirmed: true });
    expect(server.requests[0]?.headers).toMatchObject({
      'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
      'content-encoding': 'snappy',
      'x-prometheus-remote-write-version': '2.0.0',
    });
    expect(server.requests[0]?.protocol).toBe('io.prometheus.write.v2.Request');
  });

  it('resolves a 2.0 partial write with the lower counts (Prometheus counts the rest failed, and does not resend)', async () => {
    await using server = await receiver();
    server.script({ status: 200, written: { samples: 1, exemplars: 0 } });
    const stats = await clientFor(server).store(request('io.prometheus.write.v2.Request'), AbortSignal.timeout(5_000));
    expect(stats).toEqual({ samples: 1, histograms: 0, exemplars: 0, confirmed: true });
  });

  it.each([
    ['missing', 'omit' as const, /nothing \(they are missing\)/],
    ['all 0', { samples: 0, histograms: 0, exemplars: 0 }, /say nothing was written/],
  ])('rejects a 2.0 2xx whose written headers are %s, naming protobuf_message', async (_what, written, reason) => {
    await using server = await receiver();
    server.script({ status: 204, written });
    const err = await failure(clientFor(server).store(request('io.prometheus.write.v2.Request'), AbortSignal.timeout(5_000)));
    expect(err).toBeInstanceOf(RemoteWriteRejectedError);
    expect((err as RemoteWriteRejectedError).status).toBe(204);
    expect((err as Error).message).toMatch(reason);
    expect((err as Error).message).toMatch(/protobuf_message: prometheus\.WriteRequest/);
  });

  it('rejects a 415 to 2.0 without retrying, telling to switch protobuf_message', async () => {
    await using server = await receiver({ protocols: ['prometheus.WriteRequest'] });
    const err = await failure(clientFor(server).store(request('io.prometheus.write.v2.Request'), AbortSignal.timeout(5_000)));
    expect(err).toBeInstanceOf(RemoteWriteRejectedError);
    expect((err as RemoteWriteRejectedError).status).toBe(415);
    expect((err as Error).message).toMatch(/does not accept Remote-Write 2\.0: set protobuf_message: prometheus\.WriteRequest/);
  });

  it.each([
    ['a 5xx', { status: 503, headers: { 'Retry-After': '600' } }, false, 600_000],
    ['a 5xx without Retry-After', { status: 500 }, false, undefined],
    ['a 429 with retry_on_http_429', { status: 429, headers: { 'Retry-After': '7' } }, true, 7_000],
  ])('makes %s recoverable with its uncapped Retry-After', async (_what, answer, retryOn429, retryAfterMs) => {
    await using server = await receiver();
    server.script(answer);
    const err = await failure(clientFor(server, retryOn429).store(request('prometheus.WriteRequest'), AbortSignal.timeout(5_000)));
    expect(err).toBeInstanceOf(RemoteWriteRecoverableError);
    expect((err as RemoteWriteRecoverableError).details).toEqual({ status: answer.status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
  });

  it.each([
    ['a 429 without retry_on_http_429', 429],
    ['a 400', 400],
  ])('rejects %s', async (_what, status) => {
    await using server = await receiver();
    server.script({ status, headers: { 'Retry-After': '5' }, body: 'out of order sample\nsecond line' });
    const err = await failure(clientFor(server).store(request('prometheus.WriteRequest'), AbortSignal.timeout(5_000)));
    expect(err).toBeInstanceOf(RemoteWriteRejectedError);
    expect((err as RemoteWriteRejectedError).status).toBe(status);
    expect((err as Error).message).toMatch(new RegExp(`HTTP status ${status} .*: out of order sample$`));
  });
});

describe('writtenStats', () => {
  it('reads the headers as Prometheus does: absent or empty is 0, unparsable is 0 but confirms', () => {
    expect(writtenStats({})).toEqual({ samples: 0, histograms: 0, exemplars: 0, confirmed: false });
    expect(writtenStats({ 'x-prometheus-remote-write-samples-written': '' })).toEqual({ samples: 0, histograms: 0, exemplars: 0, confirmed: false });
    expect(writtenStats({ 'x-prometheus-remote-write-exemplars-written': 'many' })).toEqual({ samples: 0, histograms: 0, exemplars: 0, confirmed: true });
    expect(
      writtenStats({ 'x-prometheus-remote-write-samples-written': '12', 'x-prometheus-remote-write-histograms-written': '3' }),
    ).toEqual({ samples: 12, histograms: 3, exemplars: 0, confirmed: true });
  });
});

describe('retryAfterToMs', () => {
  it('reads seconds and HTTP dates, and ignores what is in the past or unparsable', () => {
    const nowMs = Date.parse('Mon, 07 Dec 2026 06:00:00 GMT');
    expect(retryAfterToMs({ header: '120', nowMs })).toBe(120_000);
    expect(retryAfterToMs({ header: 'Mon, 07 Dec 2026 06:10:00 GMT', nowMs })).toBe(600_000);
    expect(retryAfterToMs({ header: 'Mon, 07 Dec 2026 05:00:00 GMT', nowMs })).toBeUndefined();
    expect(retryAfterToMs({ header: 'soon', nowMs })).toBeUndefined();
    expect(retryAfterToMs({ header: undefined, nowMs })).toBeUndefined();
  });
});
