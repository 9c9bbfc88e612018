import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { checkSelfMetrics } from '@promfleet/testkit';
import { RemoteWriteMetrics } from './metrics.js';
import { RemoteWriteQueue } from './queue.js';
import { remoteWriteConfig, startReceiver } from './receiver-fixture.js';

async function valueOf(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value;
}

async function drained(queue: RemoteWriteQueue): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (queue.stats().memorySamples + queue.stats().diskSamples > 0) {
    if (performance.now() > deadline) throw new Error('the queue did not drain');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('RemoteWriteMetrics', () => {
  it('reports each queue by remote_name and redacted url, passes promtool, and forgets a stopped queue', async () => {
    await using receiver = await startReceiver();
    receiver.script({ status: 500 }, { status: 400 });
    const registry = new Registry();
    const metrics = new RemoteWriteMetrics(registry);
    const url = receiver.url.replace('http://', 'http://user:pass@');
    const queue = new RemoteWriteQueue({
      config: remoteWriteConfig(url, { config: { name: 'primary' }, queue: { capacity: 3, maxShards: 1, maxSamplesPerSend: 2 } }),
      externalLabels: new Map(),
      metrics,
      userAgent: 'promfleet-test/1.0',
    });
    queue.start();
    const ref = queue.seriesRef(new Map([['__name__', 'up']]));
    if (ref === undefined) throw new Error('series dropped');
    queue.append(ref, 1_700_000_000_000, 1);
    await receiver.waitForRequests(2);
    await drained(queue);
    // Records of 2 samples, memory for 3 without a disk queue: the records of 1–2 and 3–4 make room for the newer.
    for (let t = 1; t <= 7; t++) queue.append(ref, 1_700_000_000_000 + t * 1000, 1);
    await receiver.waitForAccepted(3);
    await drained(queue);

    const exposition = await registry.metrics();
    expect(await checkSelfMetrics(exposition)).toEqual({ code: 0, output: '' });
    expect(exposition).not.toContain('pass@');
    const labels = { remote_name: 'primary', url: receiver.url.replace('http://', 'http://user:xxxxx@') };
    const expected: [string, Record<string, string>, number][] = [
      ['promfleet_remote_write_samples_total', labels, 3],
      ['promfleet_remote_write_samples_failed_total', labels, 1],
      ['promfleet_remote_write_samples_retried_total', labels, 1],
      ['promfleet_remote_write_samples_dropped_total', { ...labels, reason: 'non_retryable' }, 1],
      ['promfleet_remote_write_samples_dropped_total', { ...labels, reason: 'queue_full' }, 4],
      ['promfleet_remote_write_samples_dropped_total', { ...labels, reason: 'disk_full' }, 0],
      ['promfleet_remote_write_samples_dropped_total', { ...labels, reason: 'too_old' }, 0],
      ['promfleet_remote_write_samples_dropped_total', { ...labels, reason: 'shutdown' }, 0],
      ['promfleet_remote_write_queue_samples', { ...labels, where: 'memory' }, 0],
      ['promfleet_remote_write_queue_samples', { ...labels, where: 'disk' }, 0],
      ['promfleet_remote_write_queue_capacity_samples', labels, 3],
      ['promfleet_remote_write_queue_disk_bytes', labels, 0],
      ['promfleet_remote_write_queue_disk_max_bytes', labels, 0],
      ['promfleet_remote_write_exemplars_sent_total', labels, 0],
      ['promfleet_remote_write_metadata_sent_total', labels, 0],
      ['promfleet_remote_write_replayed_samples_total', labels, 0],
      ['promfleet_remote_write_shards', labels, 1],
      ['promfleet_remote_write_highest_sent_timestamp_seconds', labels, 1_700_000_007],
      ['promfleet_remote_write_highest_timestamp_in_seconds', labels, 1_700_000_007],
      ['promfleet_remote_write_sent_batch_duration_seconds', { ...labels, le: '+Inf' }, receiver.requests.length],
    ];
    for (const [name, l, value] of expected) expect([name, l, await valueOf(registry, name, l)]).toEqual([name, l, value]);
    expect(await valueOf(registry, 'promfleet_remote_write_bytes_total', labels)).toBeGreaterThan(0);

    await queue.stop();
    expect(await registry.metrics()).not.toContain('remote_name="primary"');
  });
});
