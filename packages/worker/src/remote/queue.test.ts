import { afterEach, describe, expect, it } from '@jest/globals';
import * as nodeFs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** A fresh directory for a disk queue, removed after the test. */
async function queueDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'promfleet-queue-'));
  stops.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A clock for the queue's waits (backoff, Retry-After, the metadata interval): every wait is recorded; waits shorter
 * than `autoResolveBelowMs` end at once, the others when {@link ManualSleep.release} is called for their length.
 */
class ManualSleep {
  readonly waits: number[] = [];
  readonly #pending: { readonly ms: number; readonly resolve: () => void }[] = [];

  constructor(private readonly autoResolveBelowMs = Infinity) {}

  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> => {
    this.waits.push(ms);
    if (ms < this.autoResolveBelowMs) return Promise.resolve();
    return new Promise((resolve) => {
      this.#pending.push({ ms, resolve });
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  };

  /** Whether a wait of `ms` is pending. */
  waiting(ms: number): boolean {
    return this.#pending.some((p) => p.ms === ms);
  }

  /** Ends every pending wait of `ms`. */
  release(ms: number): void {
    for (const p of this.#pending.filter((w) => w.ms === ms)) {
      this.#pending.splice(this.#pending.indexOf(p), 1);
      p.resolve();
    }
  }
}

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

/** Samples the queue holds, in memory or on disk. */
function held(queue: RemoteWriteQueue): number {
  const stats = queue.stats();
  return stats.memorySamples + stats.diskSamples;
}

/** Waits until the queue holds nothing: the receiver counts a batch before the queue has read the answer. */
function drained(queue: RemoteWriteQueue): Promise<void> {
  return waitUntil(() => held(queue) === 0, 'the queue to drain');
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
    ['a number of seconds, beyond max_backoff', '2', 2000],
    // Whole seconds from when the answer arrives: an hour ahead when the tests were collected, minus the time since.
    ['an HTTP date, beyond max_backoff', new Date(Date.now() + 3_600_500).toUTCString(), expect.any(Number)],
    ['a past date: the backoff applies', new Date(Date.now() - 10_000).toUTCString(), 5],
    ['garbage: the backoff applies', 'soon', 5],
  ])('honours Retry-After given as %s, uncapped', async (_name, retryAfter, expected) => {
    await using receiver = await startReceiver();
    receiver.script({ status: 429, headers: { 'Retry-After': retryAfter } });
    const clock = new ManualSleep(0);
    const { queue } = newQueue(remoteWriteConfig(receiver.url, { queue: { retryOnHttp429: true } }), { sleep: clock.sleep });
    queue.start();
    queue.append(refOf(queue, { __name__: 'up' }), 1000, 1);
    await waitUntil(() => clock.waits.length === 1, 'the retry wait');
    expect(clock.waits).toEqual([expected]);
    const delayMs = clock.waits[0] ?? 0;
    expect(delayMs % 1000 === 0 || delayMs === 5).toBe(true);
    if (typeof expected !== 'number') expect(delayMs).toBeGreaterThan(3_500_000);
    expect(receiver.requests).toHaveLength(1);
    clock.release(delayMs);
    await receiver.waitForAccepted(1);
  });

  it('takes Retry-After beyond max_backoff as the wait, and backs off from twice it, capped, after', async () => {
    await using receiver = await startReceiver();
    receiver.script(
      { status: 503, headers: { 'Retry-After': '0' } },
      { status: 503, headers: { 'Retry-After': '1' } },
      { status: 503 },
      { status: 503, headers: { 'Retry-After': '30' } },
      { status: 503 },
    );
    const clock = new ManualSleep();
    const { queue } = newQueue(remoteWriteConfig(receiver.url, { queue: { minBackoffMs: 5, maxBackoffMs: 100 } }), { sleep: clock.sleep });
    queue.start();
    queue.append(refOf(queue, { __name__: 'up' }), 1000, 1);
    await receiver.waitForAccepted(1);
    // Prometheus: the wait is the Retry-After when there is one, else the backoff; the next backoff is twice the wait, capped.
    expect(clock.waits).toEqual([5, 1000, 100, 30_000, 100]);
  });
});

describe('RemoteWriteQueue rejections', () => {
  it.each([
    ['400', { status: 400, body: 'out of order sample\nmore' }, false],
    ['404', { status: 404 }, false],
    ['429 without retry_on_http_429', { status: 429, headers: { 'Retry-After': '1' } }, false],
  ] as const)('drops the record on %s and counts it non_retryable', async (_name, answer, retryOnHttp429) => {
    await using receiver = await startReceiver();
    receiver.script(answer);
    const { queue, events } = newQueue(remoteWriteConfig(receiver.url, { queue: { retryOnHttp429 } }));
    const ref = refOf(queue, { __name__: 'up' });
    queue.append(ref, 1000, 1);
    queue.append(ref, 2000, 1);
    queue.start();
    await receiver.waitForRequests(1);
    await drained(queue);
    expect(receiver.requests).toHaveLength(1);
    expect(queue.stats()).toMatchObject({ samplesSent: 0, samplesFailed: 2, samplesRetried: 0 });
    expect(queue.stats().samplesDropped.get('non_retryable')).toBe(2);
    expect(retryDelays(events)).toEqual([]);
    const dropping = events.find((e) => e.kind === 'dropping');
    expect(dropping).toMatchObject({ samples: 2, reason: 'non_retryable', error: expect.stringContaining(`HTTP status ${answer.status}`) });
    if (answer.status === 400) expect(dropping).toMatchObject({ error: expect.stringMatching(/: out of order sample$/) });

    queue.append(ref, 3000, 1);
    await receiver.waitForAccepted(1);
    expect(receiver.accepted()).toEqual([{ labels: '__name__=up', value: 1, timestampMs: 3000 }]);
    // The episode ends with the next record sent, and its summary says what it dropped.
    await waitUntil(() => events.some((e) => e.kind === 'dropped'), 'the end of the episode');
    expect(events.filter((e) => e.kind === 'dropping' || e.kind === 'dropped').map((e) => [e.kind, e.samples])).toEqual([
      ['dropping', 2],
      ['dropped', 2],
    ]);
  });
});

describe('RemoteWriteQueue in memory only', () => {
  it('drops the oldest records beyond capacity × max_shards (queue_full) and sends the rest once the receiver is back', async () => {
    await using receiver = await startReceiver();
    receiver.script(...Array.from({ length: 1000 }, () => ({ status: 503 })));
    // One shard holding capacity × max_shards = 10 samples: records of 5.
    const { queue } = newQueue(remoteWriteConfig(receiver.url, { queue: { capacity: 10, maxShards: 1, maxSamplesPerSend: 5 } }));
    queue.start();
    const refs = Array.from({ length: 30 }, (_, i) => refOf(queue, { __name__: 'm', i: String(i) }));
    for (const ref of refs) queue.append(ref, 1000, 1);
    expect(queue.stats()).toMatchObject({ memorySamples: 10, diskSamples: 0, capacitySamples: 10, shards: 1, diskMaxBytes: 0 });
    expect(queue.stats().samplesDropped.get('queue_full')).toBe(20);
    await receiver.waitForRequests(3);

    receiver.clearScript();
    await receiver.waitForAccepted(10);
    await drained(queue);
    expect(receiver.accepted().map((s) => s.labels)).toEqual(refs.slice(20).map((_, i) => `__name__=m,i=${i + 20}`));
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
    expect(events.at(-1)).toEqual({ kind: 'stopped', flushed: true, droppedSamples: 0, spooledSamples: 0, spooledBytes: 0 });

    queue.append(ref, 8, 8);
    expect(queue.stats().samplesDropped.get('shutdown')).toBe(1);
  });

  it('without a disk queue, aborts at the flush deadline and counts what was left as dropped (shutdown)', async () => {
    await using receiver = await startReceiver();
    receiver.script({ hang: true });
    const { queue, events } = newQueue(remoteWriteConfig(receiver.url, { queue: { maxSamplesPerSend: 3 } }));
    queue.start();
    const ref = refOf(queue, { __name__: 'up' });
    for (let t = 1; t <= 5; t++) queue.append(ref, t, t);
    await receiver.waitForRequests(1);
    await queue.stop({ flushDeadlineMs: 30 });
    expect(events.at(-1)).toEqual({ kind: 'stopped', flushed: false, droppedSamples: 5, spooledSamples: 0, spooledBytes: 0 });
    expect(queue.stats()).toMatchObject({ memorySamples: 0, samplesSent: 0 });
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
    expect(next.stats().memorySamples).toBe(5);
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
    // Counted from this call, 150 ms would be over before the old queue's flush (over 200 ms) ends.
    await next.stop({ flushDeadlineMs: 150 });
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

  it('keeps the memory bound while held back, with or without a disk queue: the oldest records beyond are dropped', async () => {
    await using receiver = await startReceiver();
    const dir = await queueDir();
    for (const disk of [undefined, { dir, maxBytes: 1 << 20 }]) {
      const { queue } = newQueue(remoteWriteConfig(receiver.url, { queue: { capacity: 10, maxShards: 1, maxSamplesPerSend: 5 } }), disk === undefined ? {} : { disk });
      let release = (): void => undefined;
      queue.start({ sendAfter: new Promise<void>((resolve) => (release = resolve)) });
      const refs = Array.from({ length: 30 }, (_, i) => refOf(queue, { __name__: 'm', i: String(i) }));
      for (const ref of refs) queue.append(ref, 1000, 1);
      expect(queue.stats()).toMatchObject({ memorySamples: 10, diskSamples: 0 });
      expect(queue.stats().samplesDropped.get('queue_full')).toBe(20);
      release();
      await drained(queue);
      await queue.stop();
    }
    expect(receiver.accepted()).toHaveLength(20);
  });
});

/** `count` samples of one series per record, at timestamps `from`, `from + 1`, …, values equal to timestamps. */
function appendRange(queue: RemoteWriteQueue, ref: SeriesRef, range: { readonly from: number; readonly count: number }): void {
  for (let t = range.from; t < range.from + range.count; t++) queue.append(ref, t, t);
}

/** A receiver URL where nothing listens: every request fails to connect. */
async function deadUrl(): Promise<string> {
  const receiver = await startReceiver();
  await receiver.close();
  return receiver.url;
}

describe('RemoteWriteQueue disk queue', () => {
  it('keeps what the receiver cannot take on disk, then sends every sample once, each series in order', async () => {
    await using receiver = await startReceiver();
    receiver.script(...Array.from({ length: 10_000 }, () => ({ status: 503 })));
    const disk = { dir: await queueDir(), maxBytes: 1 << 20 };
    const { queue } = newQueue(remoteWriteConfig(receiver.url, { queue: { capacity: 10, maxShards: 2, maxSamplesPerSend: 5 } }), { disk });
    queue.start();
    const refs = Array.from({ length: 10 }, (_, i) => refOf(queue, { __name__: 'm', i: String(i) }));
    for (let t = 1; t <= 40; t++) {
      for (const ref of refs) queue.append(ref, t, t);
      if (t === 20) await receiver.waitForRequests(4);
    }
    await receiver.waitForRequests(receiver.requests.length + 2);
    const during = queue.stats();
    expect(during.diskSamples).toBeGreaterThan(300);
    expect(during.memorySamples).toBeLessThanOrEqual(2 * 10);
    expect(during.diskBytes).toBeGreaterThan(0);
    expect(nodeFs.readdirSync(disk.dir).sort()).toEqual(['shard-0', 'shard-1']);

    receiver.clearScript();
    await receiver.waitForAccepted(400);
    await drained(queue);
    const accepted = receiver.accepted();
    expect(accepted).toHaveLength(400);
    for (const timestamps of bySeries(accepted).values()) expect(timestamps).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(queue.stats()).toMatchObject({ samplesSent: 400, diskSamples: 0, memorySamples: 0 });
    expect(queue.stats().replayedSamples).toBeGreaterThan(300);
    expect([...queue.stats().samplesDropped.values()].reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('once the record in flight fails, keeps nothing but the rings in memory: a crash in an outage loses no record', async () => {
    await using receiver = await startReceiver();
    receiver.script(...Array.from({ length: 10_000 }, () => ({ status: 503 })));
    const disk = { dir: await queueDir(), maxBytes: 1 << 20 };
    const { queue } = newQueue(remoteWriteConfig(receiver.url, { queue: { capacity: 100, maxShards: 1, maxSamplesPerSend: 5 } }), { disk });
    queue.start();
    const ref = refOf(queue, { __name__: 'up' });
    appendRange(queue, ref, { from: 1, count: 10 });
    expect(queue.stats()).toMatchObject({ memorySamples: 10, diskSamples: 0 });
    await receiver.waitForRequests(1);
    await waitUntil(() => queue.stats().diskSamples === 10, 'the memory part on disk');
    appendRange(queue, ref, { from: 11, count: 10 });
    expect(queue.stats()).toMatchObject({ memorySamples: 0, diskSamples: 20 });

    receiver.clearScript();
    await drained(queue);
    expect(receiver.accepted().map((s) => s.timestampMs)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // Sending again, records stay in memory.
    appendRange(queue, ref, { from: 21, count: 5 });
    expect(queue.stats()).toMatchObject({ memorySamples: 5, diskSamples: 0 });
    await drained(queue);
  });

  it('beyond its size limit drops exactly the oldest records, counted queue_full, and sends the rest in order', async () => {
    await using receiver = await startReceiver();
    receiver.script(...Array.from({ length: 10_000 }, () => ({ status: 503 })));
    // One shard; a record of 10 samples of one series is about 150 bytes on disk, a segment holds about three.
    const disk = { dir: await queueDir(), maxBytes: 2048, segmentBytes: 512 };
    const { queue, events } = newQueue(remoteWriteConfig(receiver.url, { queue: { capacity: 10, maxShards: 1, maxSamplesPerSend: 10 } }), { disk });
    queue.start();
    const ref = refOf(queue, { __name__: 'up' });
    appendRange(queue, ref, { from: 1, count: 10 });
    await receiver.waitForRequests(1);
    // The first record is in flight; the others pass through memory to disk, whose limit drops the oldest.
    appendRange(queue, ref, { from: 11, count: 990 });
    const dropped = queue.stats().samplesDropped.get('queue_full') ?? 0;
    expect(dropped).toBeGreaterThan(500);
    expect(queue.stats().diskBytes).toBeLessThanOrEqual(2048);
    expect(events.find((e) => e.kind === 'dropping')).toMatchObject({ reason: 'queue_full' });

    receiver.clearScript();
    await drained(queue);
    // The record in flight is delivered; what follows it is exactly the newest 990 - dropped samples.
    const timestamps = receiver.accepted().map((s) => s.timestampMs);
    const kept = 990 - dropped;
    expect(timestamps).toEqual([...Array.from({ length: 10 }, (_, i) => i + 1), ...Array.from({ length: kept }, (_, i) => 1001 - kept + i)]);
    expect(queue.stats().samplesSent + dropped).toBe(1000);
    await waitUntil(() => events.some((e) => e.kind === 'dropped'), 'the summary of the episode');
    expect(events.find((e) => e.kind === 'dropped')).toMatchObject({ reason: 'queue_full', samples: dropped });
  });

  it('drops a record the filesystem refuses (ENOSPC) as disk_full, keeping what memory holds', async () => {
    await using receiver = await startReceiver();
    receiver.script(...Array.from({ length: 10_000 }, () => ({ status: 503 })));
    let full = false;
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    const writeSync = ((...args: Parameters<typeof nodeFs.writeSync>) => {
      if (full) throw enospc;
      return (nodeFs.writeSync as (...a: typeof args) => number)(...args);
    }) as typeof nodeFs.writeSync;
    const disk = { dir: await queueDir(), maxBytes: 1 << 20, fs: { ...nodeFs, writeSync } };
    const { queue, events } = newQueue(remoteWriteConfig(receiver.url, { queue: { capacity: 5, maxShards: 1, maxSamplesPerSend: 5 } }), { disk });
    queue.start();
    full = true;
    const ref = refOf(queue, { __name__: 'up' });
    appendRange(queue, ref, { from: 1, count: 30 });
    expect(queue.stats().samplesDropped.get('disk_full')).toBe(25);
    expect(queue.stats()).toMatchObject({ memorySamples: 5, diskSamples: 0 });
    expect(events.find((e) => e.kind === 'dropping')).toMatchObject({ reason: 'disk_full', samples: 5, error: expect.stringContaining('no space left') });

    receiver.clearScript();
    await receiver.waitForAccepted(5);
    expect(receiver.accepted().map((s) => s.timestampMs)).toEqual([1, 2, 3, 4, 5]);
  });

  it('stopped with the receiver down, spools what it holds; the next queue on the directory replays it first', async () => {
    const url = await deadUrl();
    const disk = { dir: await queueDir(), maxBytes: 1 << 20 };
    const config = remoteWriteConfig(url, { queue: { capacity: 10, maxShards: 1, maxSamplesPerSend: 5 } });
    const first = newQueue(config, { disk });
    first.queue.start();
    const ref = refOf(first.queue, { __name__: 'up' });
    appendRange(first.queue, ref, { from: 1, count: 23 });
    await waitUntil(() => retryDelays(first.events).length >= 1, 'a retry');
    await first.queue.stop({ flushDeadlineMs: 20 });
    expect(first.events.at(-1)).toMatchObject({ kind: 'stopped', flushed: false, droppedSamples: 0, spooledSamples: 23 });
    expect(first.queue.stats().samplesDropped.get('shutdown')).toBeUndefined();

    await using receiver = await startReceiver({ port: Number(new URL(url).port) });
    const second = newQueue(config, { disk });
    second.queue.start();
    const again = refOf(second.queue, { __name__: 'up' });
    appendRange(second.queue, again, { from: 24, count: 7 });
    await receiver.waitForAccepted(30);
    await drained(second.queue);
    expect(receiver.accepted().map((s) => s.timestampMs)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(second.events.find((e) => e.kind === 'replaying')).toMatchObject({ samples: 23, corruptSamples: 0 });
    // New records queue on disk behind the replayed ones while any are left, and are read back from it too; those
    // cut after the disk queue has drained go through memory.
    expect(second.queue.stats().replayedSamples).toBeGreaterThanOrEqual(23);
    expect(second.queue.stats().replayedSamples).toBeLessThanOrEqual(30);
  });

  it('replayed after a long outage, drops records older than sample_age_limit whole and cuts those partly older', async () => {
    const url = await deadUrl();
    const disk = { dir: await queueDir(), maxBytes: 1 << 20 };
    let now = 10_000;
    const config = remoteWriteConfig(url, { queue: { capacity: 5, maxShards: 1, maxSamplesPerSend: 5, sampleAgeLimitMs: 5_000 } });
    const first = newQueue(config, { disk, now: () => now });
    first.queue.start();
    const ref = refOf(first.queue, { __name__: 'up' });
    for (let t = 6_000; t <= 10_000; t += 1_000) first.queue.append(ref, t, t);
    for (let t = 6_100; t <= 10_100; t += 1_000) first.queue.append(ref, t, t);
    await first.queue.stop({ flushDeadlineMs: 0 });

    now = 14_500;
    await using receiver = await startReceiver({ port: Number(new URL(url).port) });
    const second = newQueue(config, { disk, now: () => now });
    second.queue.start();
    await receiver.waitForAccepted(1);
    await drained(second.queue);
    // Cut-off 9,500: the first record (6,000–10,000) keeps 10,000; the second (6,100–10,100) keeps 10,100.
    expect(receiver.accepted().map((s) => s.timestampMs)).toEqual([10_000, 10_100]);
    expect(second.queue.stats().samplesDropped.get('too_old')).toBe(8);
  });

  it('whole records older than sample_age_limit are dropped without a request', async () => {
    const url = await deadUrl();
    const disk = { dir: await queueDir(), maxBytes: 1 << 20 };
    let now = 10_000;
    const config = remoteWriteConfig(url, { queue: { capacity: 5, maxShards: 1, maxSamplesPerSend: 5, sampleAgeLimitMs: 5_000 } });
    const first = newQueue(config, { disk, now: () => now });
    first.queue.start();
    const ref = refOf(first.queue, { __name__: 'up' });
    for (let t = 6_000; t <= 10_000; t += 1_000) first.queue.append(ref, t, t);
    await first.queue.stop({ flushDeadlineMs: 0 });

    now = 20_000;
    await using receiver = await startReceiver({ port: Number(new URL(url).port) });
    const second = newQueue(config, { disk, now: () => now });
    second.queue.start();
    await drained(second.queue);
    second.queue.append(refOf(second.queue, { __name__: 'up' }), 20_000, 1);
    await receiver.waitForAccepted(1);
    expect(receiver.requests).toHaveLength(1);
    expect(second.queue.stats().samplesDropped.get('too_old')).toBe(5);
  });

  it('isolates endpoints: a dead receiver fills its own disk queue while the healthy one gets every sample', async () => {
    await using healthy = await startReceiver();
    const config = (url: string) => remoteWriteConfig(url, { config: { name: url }, queue: { capacity: 20, maxShards: 2, maxSamplesPerSend: 10 } });
    const good = newQueue(config(healthy.url), { disk: { dir: await queueDir(), maxBytes: 1 << 20 } }).queue;
    const dead = newQueue(config(await deadUrl()), { disk: { dir: await queueDir(), maxBytes: 1 << 20 } }).queue;
    good.start();
    dead.start();
    const series = Array.from({ length: 20 }, (_, i) => ({ __name__: 'm', i: String(i) }));
    const goodRefs = series.map((s) => refOf(good, s));
    const deadRefs = series.map((s) => refOf(dead, s));
    for (let t = 1; t <= 50; t++) {
      goodRefs.forEach((ref) => good.append(ref, t, t));
      deadRefs.forEach((ref) => dead.append(ref, t, t));
      if (t % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await healthy.waitForAccepted(1000);
    await drained(good);
    expect(healthy.accepted()).toHaveLength(1000);
    expect(held(dead)).toBe(1000);
    expect(dead.stats().diskSamples).toBeGreaterThan(900);
    expect([...dead.stats().samplesDropped.values()].reduce((a, b) => a + b, 0)).toBe(0);
  });
});

describe('RemoteWriteQueue metadata', () => {
  const family = (name: string) => ({ family: name, type: 'counter' as const, help: `${name} help`, unit: '' });

  it('sends the union of the targets\u2019 metadata every send_interval, in requests of max_samples_per_send', async () => {
    await using receiver = await startReceiver();
    const clock = new ManualSleep(60_000);
    const { queue } = newQueue(remoteWriteConfig(receiver.url, { config: { metadataConfig: { send: true, sendIntervalMs: 60_000, maxSamplesPerSend: 2 } } }), {
      sleep: clock.sleep,
    });
    const a = {};
    const b = {};
    queue.targetMetadata(a, [family('a_total'), family('b_total'), family('c_total')]);
    queue.targetMetadata(b, [family('c_total'), family('d_total')]);
    queue.start();
    const sent = () => receiver.requests.map((r) => (r.request?.metadata ?? []).map((m) => m.metricFamilyName));

    await waitUntil(() => clock.waiting(60_000), 'the metadata interval');
    expect(receiver.requests).toHaveLength(0);
    clock.release(60_000);
    await receiver.waitForRequests(2);
    expect(sent()).toEqual([
      ['a_total', 'b_total'],
      ['c_total', 'd_total'],
    ]);
    expect(receiver.requests[0]?.request?.metadata[0]).toMatchObject({ help: 'a_total help', unit: '' });

    queue.targetMetadata(a, undefined);
    await waitUntil(() => clock.waiting(60_000), 'the next interval');
    clock.release(60_000);
    await receiver.waitForRequests(3);
    expect(sent()[2]).toEqual(['c_total', 'd_total']);
    await waitUntil(() => queue.stats().metadataSent === 6, 'the metadata counted');
  });

  it('sends no metadata requests for Remote-Write 2.0, which carries metadata with each series', async () => {
    await using receiver = await startReceiver();
    const clock = new ManualSleep(60_000);
    const { queue } = newQueue(
      remoteWriteConfig(receiver.url, {
        config: { protobufMessage: 'io.prometheus.write.v2.Request', metadataConfig: { send: true, sendIntervalMs: 60_000, maxSamplesPerSend: 2 } },
      }),
      { sleep: clock.sleep },
    );
    queue.targetMetadata({}, [family('a_total')]);
    queue.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(clock.waits).toEqual([]);
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('RemoteWriteQueue exemplars and Remote-Write 2.0', () => {
  const metadata = { family: 'http_requests', type: 'counter' as const, help: 'Requests.', unit: '' };
  const exemplar = { labels: new Map([['trace_id', 'abc']]), value: 1, timestampMs: 1_500 };

  it('sends exemplars only with send_exemplars, and counts them', async () => {
    await using receiver = await startReceiver();
    for (const sendExemplars of [false, true]) {
      const { queue } = newQueue(remoteWriteConfig(receiver.url, { config: { sendExemplars } }));
      expect(queue.sendsExemplars).toBe(sendExemplars);
      queue.start();
      const ref = refOf(queue, { __name__: 'http_requests_total', send: String(sendExemplars) });
      queue.append(ref, 2_000, 5);
      queue.appendExemplar(ref, exemplar);
      await queue.stop({ flushDeadlineMs: 5_000 });
      expect(queue.stats().exemplarsSent).toBe(sendExemplars ? 1 : 0);
    }
    expect(receiver.acceptedExemplars()).toEqual([{ series: '__name__=http_requests_total,send=true', labels: 'trace_id=abc', value: 1, timestampMs: 1_500 }]);
  });

  it('sends 2.0 requests with per-series metadata, created timestamps and exemplars, through the disk queue too', async () => {
    const url = await deadUrl();
    const disk = { dir: await queueDir(), maxBytes: 1 << 20 };
    const config = remoteWriteConfig(url, { config: { protobufMessage: 'io.prometheus.write.v2.Request', sendExemplars: true } });
    const first = newQueue(config, { disk }).queue;
    first.start();
    const ref = first.seriesRef(new Map([['__name__', 'http_requests_total']]), metadata);
    if (ref === undefined) throw new Error('series dropped');
    first.setCreatedTimestamp(ref, 1_000);
    first.append(ref, 2_000, 5);
    first.appendExemplar(ref, exemplar);
    await first.stop({ flushDeadlineMs: 0 });
    expect(first.stats().diskSamples).toBe(1);

    await using receiver = await startReceiver({ port: Number(new URL(url).port), protocols: ['io.prometheus.write.v2.Request'] });
    const second = newQueue(config, { disk }).queue;
    second.start();
    await receiver.waitForAccepted(1);
    expect(receiver.requests[0]?.protocol).toBe('io.prometheus.write.v2.Request');
    expect(receiver.accepted()).toEqual([{ labels: '__name__=http_requests_total', value: 5, timestampMs: 2_000, startTimestampMs: 1_000 }]);
    expect(receiver.acceptedExemplars()).toEqual([{ series: '__name__=http_requests_total', labels: 'trace_id=abc', value: 1, timestampMs: 1_500 }]);
    expect(receiver.acceptedMetadata()).toEqual([{ series: '__name__=http_requests_total', type: 'counter', help: 'Requests.', unit: '' }]);
    await waitUntil(() => second.stats().exemplarsSent === 1, 'the exemplar counted');
  });
});
