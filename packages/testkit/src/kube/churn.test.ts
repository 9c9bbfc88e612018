import { describe, expect, it } from '@jest/globals';
import { churn } from './churn.js';
import { generateCluster, maxEndpointsPerSlice } from './cluster.js';
import type { KubeObject } from './objects.js';
import { resourceByName } from './resources.js';
import { ObjectStore, type StoreEventType } from './store.js';

const pods = resourceByName('pods');
if (pods === undefined) throw new Error('pods missing');

function seededStore(seed: number) {
  const cluster = generateCluster({ nodes: 20, podsPerNode: 15, namespaces: 3, servicesPerNamespace: 4, seed });
  const store = new ObjectStore();
  store.load(cluster.objects());
  return { cluster, store };
}

async function churnFor(options: { store: ObjectStore; cluster: ReturnType<typeof generateCluster>; eventsPerSecond: number; ms: number }) {
  const controller = new AbortController();
  const running = churn({ ...options, signal: controller.signal });
  await new Promise((resolve) => setTimeout(resolve, options.ms));
  controller.abort();
  return running;
}

function ownerCounts(list: readonly KubeObject[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of list) {
    const owner = p.metadata.ownerReferences?.[0]?.uid ?? '';
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  return counts;
}

describe('churn', () => {
  it('writes at roughly the requested rate', async () => {
    const { cluster, store } = seededStore(3);
    const before = store.resourceVersion;
    const started = performance.now();
    const stats = await churnFor({ store, cluster, eventsPerSecond: 500, ms: 2000 });
    const seconds = (performance.now() - started) / 1000;
    const written = store.resourceVersion - before;
    expect(stats.events).toBe(written);
    expect(written / seconds).toBeGreaterThan(400);
    expect(written / seconds).toBeLessThan(560);
    expect(stats.podsCreated).toBe(stats.podsDeleted);
    expect(stats.podsCreated).toBeGreaterThan(0);
    expect(stats.podsUpdated).toBeGreaterThan(0);
  });

  it('keeps the cluster consistent: replica counts, one endpoint per pod, full slices at most 100, unique IPs', async () => {
    const { cluster, store } = seededStore(4);
    const replicas = ownerCounts(store.list('pods'));
    const seen = new Map<StoreEventType, number>();
    store.subscribe(pods, (e) => seen.set(e.type, (seen.get(e.type) ?? 0) + 1));
    await churnFor({ store, cluster, eventsPerSecond: 2000, ms: 300 });

    const current = store.list('pods');
    expect(ownerCounts(current)).toEqual(replicas);
    const endpoints = store.list('endpointslices').flatMap((s) => {
      const list = s['endpoints'] as { targetRef: { uid: string }; conditions: { ready: boolean } }[];
      expect(list.length).toBeLessThanOrEqual(maxEndpointsPerSlice);
      return list;
    });
    expect(endpoints.map((e) => e.targetRef.uid).sort()).toEqual(current.map((p) => p.metadata.uid).sort());
    const readyPods = new Set(
      current
        .filter((p) => (p['status'] as { conditions: { type: string; status: string }[] }).conditions.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((p) => p.metadata.uid),
    );
    expect(endpoints.every((e) => e.conditions.ready === readyPods.has(e.targetRef.uid))).toBe(true);
    const ips = current.filter((p) => !(p['spec'] as { hostNetwork?: boolean }).hostNetwork).map((p) => (p['status'] as { podIP: string }).podIP);
    expect(new Set(ips).size).toBe(ips.length);
    expect([...seen.keys()].sort()).toEqual(['ADDED', 'DELETED', 'MODIFIED']);
  });

  it('stops at once when the signal is already aborted', async () => {
    const { cluster, store } = seededStore(5);
    const before = store.resourceVersion;
    const stats = await churn({ store, cluster, eventsPerSecond: 500, signal: AbortSignal.abort() });
    expect(stats.events).toBe(0);
    expect(store.resourceVersion).toBe(before);
  });

  it('rejects a rate that is not positive', async () => {
    const { cluster, store } = seededStore(6);
    await expect(churn({ store, cluster, eventsPerSecond: 0, signal: AbortSignal.abort() })).rejects.toThrow(RangeError);
  });
});
