import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { parseRelabelRules, type Labels, type RemoteWriteConfig } from '@promfleet/model';
import { RemoteWriteMetrics } from './metrics.js';
import { RemoteWriteQueue, type RemoteWriteEvent, type RemoteWriteQueueOptions } from './queue.js';
import { remoteWriteConfig, samplesOf, startReceiver, type ReceivedSample, type TestReceiver } from './receiver-fixture.js';
import type { SeriesRef } from './series.js';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** A queue whose events are recorded; stopped after the test at once (no flush) if the test did not stop it. */
function newQueue(config: RemoteWriteConfig, options: Partial<RemoteWriteQueueOptions> = {}) {
  const events: RemoteWriteEvent[] = [];
  const queue = new RemoteWriteQueue({
    config,
    externalLabels: new Map(),
    metrics: new RemoteWriteMetrics(new Registry()),
    userAgent: 'promfleet-test/1.0',
    log: (event) => events.push(event),
    ...options,
  });
  stops.push(() => queue.stop({ flushDeadlineMs: 0 }));
  return { queue, events };
}

function refOf(queue: RemoteWriteQueue, labels: Record<string, string>): SeriesRef {
  const ref = queue.seriesRef(new Map(Object.entries(labels)));
  if (ref === undefined) throw new Error('series dropped by write relabeling');
  return ref;
}

async function waitUntil(predicate: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Waits until the queue holds nothing: the receiver counts a batch before the queue has read the answer. */
function drained(queue: RemoteWriteQueue): Promise<void> {
  return waitUntil(() => queue.stats().pendingSamples === 0, 'the queue to drain');
}

function retryDelays(events: readonly RemoteWriteEvent[]): number[] {
  return events.flatMap((e) => (e.kind === 'retrying' ? [e.delayMs] : []));
}

/** The samples of each series, in the order the receiver got them. */
function bySeries(samples: readonly ReceivedSample[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const s of samples) out.set(s.labels, [...(out.get(s.labels) ?? []), s.timestampMs]);
  return out;
}

describe('RemoteWriteQueue sending', () => {
  it('POSTs snappy-compressed protobuf with the headers the spec requires and the endpoint headers', async () => {
    await using receiver = await startReceiver();
    const { queue } = newQueue(remoteWriteConfig(receiver.url, { config: { headers: new Map([['X-Scope-OrgID', 'team-a']]) } }));
    queue.start();
    queue.append(refOf(queue, { __name__: 'up', job: 'node' }), 1_700_000_000_000, 1);
    await receiver.waitForAccepted(1);
    const headers = receiver.requests[0]?.headers;
    expect(headers).toMatchObject({
      'content-encoding': 'snappy',
      'content-type': 'application/x-protobuf',
      'user-agent': 'promfleet-test/1.0',
      'x-prometheus-remote-write-version': '0.1.0',
      'x-scope-orgid': 'team-a',
    });
    expect(receiver.accepted()).toEqual([{ labels: '__name__=up,job=node', value: 1, timestampMs: 1_700_000_000_000 }]);
  });

  it('sends sorted labels with external labels where the series lacks them, after which write relabeling runs', async () => {
    await using receiver = await startReceiver();
    const rules = parseRelabelRules([
      { source_labels: ['__name__'], regex: 'go_.*', action: 'drop' },
      { source_labels: ['cluster'], target_label: 'region', regex: '(.*)-\\d+', replacement: '$1' },
    ]);
    if (!rules.ok) throw new Error('bad rules');
    const externalLabels: Labels = new Map([
      ['cluster', 'eu-1'],
      ['replica', 'a'],
    ]);
    const { queue } = newQueue(remoteWriteConfig(receiver.url, { config: { writeRelabelConfigs: rules.rules } }), {
      externalLabels,
    });
    expect(queue.seriesRef(new Map([['__name__', 'go_goroutines']]))).toBeUndefined();
    queue.start();
    queue.append(refOf(queue, { job: 'node', __name__: 'up', instance: 'h:9100' }), 1000, 1);
    queue.append(refOf(queue, { __name__: 'up', cluster: 'us-2', job: 'api' }), 1000, 0);
    await receiver.waitForAccepted(2);
    expect(receiver.accepted().map((s) => s.labels).sort()).toEqual([
      '__name__=up,cluster=eu-1,instance=h:9100,job=node,region=eu,replica=a',
      '__name__=up,cluster=us-2,job=api,region=us,replica=a',
    ]);
  });

  it('groups a batch\u2019s samples by series, keeps each series in timestamp order, and respects max_samples_per_send', async () => {
    await using receiver = await startReceiver();
    const { queue } = newQueue(remoteWriteConfig(receiver.url, { queue: { maxSamplesPerSend: 10 } }));
    const refs = Array.from({ length: 5 }, (_, i) => refOf(queue, { __name__: 'm', i: String(i) }));
    for (let t = 1; t <= 8; t++) for (const ref of refs) queue.append(ref, t * 1000, t);
    queue.start();
    await receiver.waitForAccepted(40);
    for (const request of receiver.requests) {
      const series = request.request?.timeseries ?? [];
      expect(series.reduce((n, ts) => n + ts.samples.length, 0)).toBeLessThanOrEqual(10);
      expect(new Set(series.map((ts) => JSON.stringify(ts.labels))).size).toBe(series.length);
    }
    expect(receiver.requests.some((r) => (r.request?.timeseries ?? []).some((ts) => ts.samples.length > 1))).toBe(true);
    for (const timestamps of bySeries(receiver.accepted()).values()) {
      expect(timestamps).toEqual([1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000]);
    }
  });

  it('sends a partial batch once batch_send_deadline has passed', async () => {
    await using receiver = await startReceiver();
    const { queue } = newQueue(remoteWriteConfig(receiver.url, { queue: { batchSendDeadlineMs: 30 } }));
    queue.start();
    const started = performance.now();
    queue.append(refOf(queue, { __name__: 'up' }), 1000, 1);
    await receiver.waitForAccepted(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });
});

describe('RemoteWriteQueue retries', () => {
  it('resends the same batch after 5xx answers with doubling backoff, losing and duplicating nothing', async () => {
    await using receiver = await startReceiver();
    receiver.script({ status: 500 }, { status: 503 }, { status: 502 }, { status: 500 });
    const { queue, events } = newQueue(
      remoteWriteConfig(receiver.url, { queue: { minBackoffMs: 5, maxBackoffMs: 25, maxShards: 1 } }),
    );
    const refs = Array.from({ length: 10 }, (_, i) => refOf(queue, { __name__: 'm', i: String(i) }));
    for (let t = 1; t <= 10; t++) for (const ref of refs) queue.append(ref, t, t);
    queue.start();
    await receiver.waitForAccepted(100);
    await drained(queue);
    expect(receiver.accepted()).toHaveLength(100);
    expect(new Set(receiver.accepted().map((s) => `${s.labels}@${s.timestampMs}`)).size).toBe(100);
    expect(retryDelays(events)).toEqual([5, 10, 20, 25]);
    const failed = receiver.requests.filter((r) => r.status !== undefined && r.status >= 500);
    expect(failed.map((r) => r.body)).toEqual(Array.from({ length: 4 }, () => receiver.requests[0]?.body));
    expect(queue.stats()).toMatchObject({ samplesSent: 100, samplesRetried: 400, samplesFailed: 0 });
  });

  it('retries network errors until the receiver is back', async () => {
    const down = await startReceiver();
    const { url } = down;
    await down.close();
    const { queue, events } = newQueue(remoteWriteConfig(url));
    queue.start();
    queue.append(refOf(queue, { __name__: 'up' }), 1000, 1);
    await waitUntil(() => retryDelays(events).length >= 3, 'three retries');
    expect(events.find((e) => e.kind === 'retrying')).toMatchObject({ error: expect.stringContaining('ECONNREFUSED') });
    expect(queue.stats().samplesSent).toBe(0);

    await using back = await startReceiver({ port: Number(new URL(url).port) });
    await back.waitForAccepted(1);
    await drained(queue);
    expect(back.accepted()).toEqual([{ labels: '__name__=up', value: 1, timestampMs: 1000 }]);
    expect(queue.stats().samplesRetried).toBeGreaterThanOrEqual(3);
  });

  it.each([
    ['a number of seconds, capped at max_backoff', '2', 50],
    ['an HTTP date, capped at max_backoff', new Date(Date.now() + 10_000).toUTCString(), 50],
    ['a past date: the backoff applies', new Date(Date.now() - 10_000).toUTCString(), 5],
    ['garbage: the backoff applies', 'soon', 5],
  ])('honours Retry-After given as %s', async (_name, retryAfter, delayMs) => {
    await using receiver = await startReceiver();
    receiver.script({ status: 429, headers: { 'Retry-After': retryAfter } });
    const { queue, events } = newQueue(remoteWriteConfig(receiver.url, { queue: { retryOnHttp429: true } }));
    queue.start();
    queue.append(refOf(queue, { __name__: 'up' }), 1000, 1);
    await receiver.waitForAccepted(1);
    expect(retryDelays(events)).toEqual([delayMs]);
  });

  it('honours Retry-After on a 5xx answer and starts the next backoff from twice it', async () => {
    await using receiver = await startReceiver();
    receiver.script({ status: 503, headers: { 'Retry-After': '0' } }, { status: 503, headers: { 'Retry-After': '1' } }, { status: 503 });
    const { queue, events } = newQueue(remoteWriteConfig(receiver.url, { queue: { minBackoffMs: 5, maxBackoffMs: 100 } }));
    queue.start();
    queue.append(refOf(queue, { __name__: 'up' }), 1000, 1);
    await receiver.waitForAccepted(1);
    expect(retryDelays(events)).toEqual([5, 100, 100]);
  });
});

describe('RemoteWriteQueue rejections', () => {
  it.each([
    ['400', { status: 400, body: 'out of order sample\nmore' }, false, 'http_400'],
    ['404', { status: 404 }, false, 'http_404'],
    ['429 without retry_on_http_429', { status: 429, headers: { 'Retry-After': '1' } }, false, 'http_429'],
  ] as const)('drops the batch on %s and counts it', async (_name, answer, retryOnHttp429, reason) => {
    await using receiver = await startReceiver();
    receiver.script(answer);
    const { queue, events } = newQueue(remoteWriteConfig(receiver.url, { queue: { retryOnHttp429 } }));
    const ref = refOf(queue, { __name__: 'up' });
    queue.append(ref, 1000, 1);
    queue.append(ref, 2000, 1);
    queue.start();
    await drained(queue);
    expect(receiver.requests).toHaveLength(1);
    expect(queue.stats()).toMatchObject({ samplesSent: 0, samplesFailed: 2, samplesRetried: 0 });
    expect(queue.stats().samplesDropped.get(reason)).toBe(2);
    expect(retryDelays(events)).toEqual([]);
    const dropped = events.find((e) => e.kind === 'dropped');
    expect(dropped).toMatchObject({ samples: 2, reason, error: expect.stringContaining(`HTTP status ${answer.status}`) });
    if (answer.status === 400) expect(dropped).toMatchObject({ error: expect.stringMatching(/: out of order sample$/) });

    queue.append(ref, 3000, 1);
    await receiver.waitForAccepted(1);
    expect(receiver.accepted()).toEqual([{ labels: '__name__=up', value: 1, timestampMs: 3000 }]);
  });
});

describe('RemoteWriteQueue bounds', () => {
  it('reports no room from the soft bound, drops beyond the hard bound, and sends the rest once the receiver is back', async () => {
    await using receiver = await startReceiver();
    receiver.script(...Array.from({ length: 1000 }, () => ({ status: 503 })));
    // One shard: the soft bound is capacity × max_shards = 10, the hard bound 20.
    const { queue } = newQueue(remoteWriteConfig(receiver.url, { queue: { capacity: 10, maxShards: 1, maxSamplesPerSend: 5 } }));
    queue.start();
    const refs = Array.from({ length: 30 }, (_, i) => refOf(queue, { __name__: 'm', i: String(i) }));
    const room: boolean[] = [];
    for (const ref of refs) {
      room.push(queue.hasRoom());
      queue.append(ref, 1000, 1);
    }
    expect(room.indexOf(false)).toBe(10);
    expect(queue.stats()).toMatchObject({ pendingSamples: 20, capacitySamples: 10, shards: 1 });
    expect(queue.stats().samplesDropped.get('queue_full')).toBe(10);
    await receiver.waitForRequests(3);
    expect(queue.hasRoom()).toBe(false);

    receiver.clearScript();
    await receiver.waitForAccepted(20);
    await drained(queue);
    expect(queue.hasRoom()).toBe(true);
    expect(receiver.accepted().map((s) => s.labels)).toEqual(refs.slice(0, 20).map((_, i) => `__name__=m,i=${i}`));
  });

  it('drops samples older than sample_age_limit when appended and again before each retry', async () => {
    await using receiver = await startReceiver();
    receiver.script({ status: 500 });
    let now = 10_000;
    const { queue } = newQueue(remoteWriteConfig(receiver.url, { queue: { sampleAgeLimitMs: 1_000, minBackoffMs: 20 } }), {
      now: () => now,
      log: (event) => {
        if (event.kind === 'retrying') now = 10_800;
      },
    });
    const ref = refOf(queue, { __name__: 'up' });
    queue.append(ref, 8_000, 1);
    queue.append(ref, 9_500, 2);
    queue.append(ref, 10_000, 3);
    expect(queue.stats().samplesDropped.get('too_old')).toBe(1);
    queue.start();
    await receiver.waitForAccepted(1);
    await drained(queue);
    expect(receiver.accepted()).toEqual([{ labels: '__name__=up', value: 3, timestampMs: 10_000 }]);
    expect(queue.stats().samplesDropped.get('too_old')).toBe(2);
    expect(queue.stats().samplesSent).toBe(1);
  });
});

describe('RemoteWriteQueue stop', () => {
  it('flushes what is queued without waiting for the batch deadline', async () => {
    await using receiver = await startReceiver();
    const { queue, events } = newQueue(remoteWriteConfig(receiver.url, { queue: { batchSendDeadlineMs: 60_000 } }));
    queue.start();
    const ref = refOf(queue, { __name__: 'up' });
    for (let t = 1; t <= 7; t++) queue.append(ref, t, t);
    await queue.stop({ flushDeadlineMs: 5_000 });
    expect(receiver.accepted()).toHaveLength(7);
    expect(events.at(-1)).toEqual({ kind: 'stopped', flushed: true, droppedSamples: 0 });

    queue.append(ref, 8, 8);
    expect(queue.stats().samplesDropped.get('shutdown')).toBe(1);
  });

  it('aborts at the flush deadline and counts what was left as dropped', async () => {
    await using receiver = await startReceiver();
    receiver.script({ hang: true });
    const { queue, events } = newQueue(remoteWriteConfig(receiver.url, { queue: { maxSamplesPerSend: 3 } }));
    queue.start();
    const ref = refOf(queue, { __name__: 'up' });
    for (let t = 1; t <= 5; t++) queue.append(ref, t, t);
    await receiver.waitForRequests(1);
    await queue.stop({ flushDeadlineMs: 30 });
    expect(events.at(-1)).toEqual({ kind: 'stopped', flushed: false, droppedSamples: 5 });
    expect(queue.stats()).toMatchObject({ pendingSamples: 0, samplesSent: 0 });
  });

  it('returns the same promise when called twice and sends samples appended before start', async () => {
    await using receiver = await startReceiver();
    const { queue } = newQueue(remoteWriteConfig(receiver.url));
    queue.append(refOf(queue, { __name__: 'up' }), 1, 1);
    const first = queue.stop({ flushDeadlineMs: 5_000 });
    expect(queue.stop()).toBe(first);
    await first;
    expect(receiver.accepted()).toHaveLength(1);
  });
});

describe('RemoteWriteQueue held back by sendAfter', () => {
  /**
   * An old queue holding samples 1–5 of `up` (sent with header `x-queue: old`) whose first request gets no answer, so
   * that its flush ends only after its 200 ms remote timeout and a retry, and a new queue for the same URL held back
   * by that flush. Any request but the first is answered 204: a new queue sending at once would be accepted first.
   */
  async function replaced(receiver: TestReceiver) {
    receiver.script({ hang: true });
    const config = (queue: string) => remoteWriteConfig(receiver.url, { config: { remoteTimeoutMs: 200, headers: new Map([['x-queue', queue]]) } });
    const old = newQueue(config('old')).queue;
    old.start();
    const oldRef = refOf(old, { __name__: 'up' });
    for (let t = 1; t <= 5; t++) old.append(oldRef, t, t);
    await receiver.waitForRequests(1);
    const flushed = old.stop({ flushDeadlineMs: 5_000 });
    const next = newQueue(config('new')).queue;
    next.start({ sendAfter: flushed });
    return { old, next, flushed, ref: refOf(next, { __name__: 'up' }) };
  }

  /** Which queue sent each accepted sample, in the receiver's order. */
  function senders(receiver: TestReceiver): string[] {
    return receiver.requests.filter((r) => r.status !== undefined && r.status < 300).flatMap((r) => samplesOf(r.request).map(() => String(r.headers['x-queue'])));
  }

  it('takes samples at once but sends them only after the old queue has flushed, each series in timestamp order', async () => {
    await using receiver = await startReceiver();
    const { next, ref } = await replaced(receiver);
    for (let t = 6; t <= 10; t++) next.append(ref, t, t);
    expect(next.stats().pendingSamples).toBe(5);
    await receiver.waitForAccepted(10);
    await drained(next);
    expect(senders(receiver)).toEqual([...Array.from({ length: 5 }, () => 'old'), ...Array.from({ length: 5 }, () => 'new')]);
    expect(receiver.accepted().map((s) => s.timestampMs)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(next.stats().samplesDropped.get('queue_full')).toBeUndefined();
  });

  it('stopped while held back, flushes after the old queue with its whole flush deadline', async () => {
    await using receiver = await startReceiver();
    const { next, ref } = await replaced(receiver);
    for (let t = 6; t <= 8; t++) next.append(ref, t, t);
    // Counted from this call, 30 ms would be over long before the old queue's flush (over 200 ms) ends.
    await next.stop({ flushDeadlineMs: 30 });
    next.append(ref, 9, 9);
    expect(senders(receiver)).toEqual(['old', 'old', 'old', 'old', 'old', 'new', 'new', 'new']);
    expect(next.stats().samplesDropped.get('shutdown')).toBe(1);
  });

  it('sends once sendAfter rejects, as after a flush that failed', async () => {
    await using receiver = await startReceiver();
    const { queue } = newQueue(remoteWriteConfig(receiver.url));
    queue.start({ sendAfter: Promise.reject(new Error('flush failed')) });
    queue.append(refOf(queue, { __name__: 'up' }), 1000, 1);
    await receiver.waitForAccepted(1);
  });

  it('keeps its bounds while held back: no room from the soft bound, queue_full drops beyond the hard bound', async () => {
    await using receiver = await startReceiver();
    const { queue } = newQueue(remoteWriteConfig(receiver.url, { queue: { capacity: 10, maxShards: 1, maxSamplesPerSend: 5 } }));
    let release = (): void => undefined;
    queue.start({ sendAfter: new Promise<void>((resolve) => (release = resolve)) });
    const refs = Array.from({ length: 30 }, (_, i) => refOf(queue, { __name__: 'm', i: String(i) }));
    for (const ref of refs) queue.append(ref, 1000, 1);
    expect(queue.hasRoom()).toBe(false);
    expect(queue.stats()).toMatchObject({ pendingSamples: 20 });
    expect(queue.stats().samplesDropped.get('queue_full')).toBe(10);
    release();
    await receiver.waitForAccepted(20);
    await drained(queue);
    expect(queue.hasRoom()).toBe(true);
  });
});
