import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, publicLabels, type PrometheusConfig } from '@promfleet/model';
import { generateCluster, startFakeApiServer, type FakeApiServer } from '@promfleet/testkit';
import { ApiClient, RateLimiter } from './kubernetes/client.js';
import { KubernetesDiscovery } from './kubernetes/discovery.js';
import { DiscoveryManager, type JobTargets } from './manager.js';

function config(text: string): PrometheusConfig {
  const result = parseConfig(text, { file: '/etc/prometheus/prometheus.yml' });
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.keyPath}: ${e.message}`).join('; '));
  return result.config;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function run(manager: DiscoveryManager) {
  const updates: (readonly JobTargets[])[] = [];
  const controller = new AbortController();
  const done = manager.run(controller.signal, (changed) => updates.push(changed));
  cleanups.push(async () => {
    controller.abort();
    await done;
  });
  return updates;
}

describe('DiscoveryManager', () => {
  it('builds each job’s distinct targets from static and file discovery, and follows file changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promfleet-manager-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'a.json'), JSON.stringify([{ targets: ['f1:1', 'f2:2'], labels: { team: 'x' } }]));
    const manager = new DiscoveryManager({
      throttleMs: 50,
      config: config(`
scrape_configs:
  - job_name: static
    static_configs:
      - targets: [a:1, a:1, b:2]
      - targets: [c:3]
        labels: {env: dev}
    relabel_configs:
      - {source_labels: [env], regex: dev, action: drop}
  - job_name: files
    file_sd_configs:
      - files: [${dir}/*.json]
`),
    });
    const updates = run(manager);
    await until(() => updates.length > 0 && manager.jobs().every((j) => j.synced), 'both jobs');
    const [statics, files] = manager.jobs();
    expect(statics?.discovered).toBe(4);
    expect(statics?.dropped).toBe(1);
    expect([...(statics?.targets.values() ?? [])].map((t) => publicLabels(t.labels).get('instance')).sort()).toEqual(['a:1', 'b:2']);
    expect(files?.targets.size).toBe(2);

    await writeFile(join(dir, 'a.json'), JSON.stringify([{ targets: ['f1:1'], labels: { team: 'x' } }]));
    await until(() => files?.targets.size === 1, 'the file change');
    expect(updates.at(-1)?.map((j) => j.job.jobName)).toEqual(['files']);
  });

  it('reports a Kubernetes job as unsynced while its API server is unreachable, without holding back the others', async () => {
    const kubernetes = new KubernetesDiscovery({
      clientFor: () => new ApiClient({ server: 'http://127.0.0.1:9', requestOptions: () => Promise.resolve({}), userAgent: 't' }, new RateLimiter(100, 100)),
      reflector: { initialBackoffMs: 10, maxBackoffMs: 50 },
    });
    const manager = new DiscoveryManager({
      kubernetes,
      throttleMs: 20,
      config: config('scrape_configs:\n  - job_name: pods\n    kubernetes_sd_configs: [{role: pod}]\n  - job_name: static\n    static_configs: [{targets: [a:1]}]\n'),
    });
    const updates = run(manager);
    await until(() => updates.length > 0, 'the first update');
    const [pods, statics] = manager.jobs();
    expect(statics?.synced).toBe(true);
    expect(statics?.targets.size).toBe(1);
    expect(pods?.synced).toBe(false);
  });

  it('builds Kubernetes targets with the job’s relabeling, and drops the targets of deleted pods', async () => {
    const api: FakeApiServer = await startFakeApiServer({ bookmarkIntervalMs: 200 });
    cleanups.push(() => api.stop());
    api.store.load(generateCluster({ nodes: 2, pods: 12, namespaces: 1, servicesPerNamespace: 2, seed: 9 }).objects());
    const kubernetes = new KubernetesDiscovery({
      clientFor: () => new ApiClient({ server: api.url, requestOptions: () => Promise.resolve({}), userAgent: 't' }, new RateLimiter(100, 100)),
      throttleMs: 20,
    });
    const manager = new DiscoveryManager({
      kubernetes,
      throttleMs: 20,
      config: config(`
scrape_configs:
  - job_name: pods
    kubernetes_sd_configs: [{role: pod}]
    relabel_configs:
      - {source_labels: [__meta_kubernetes_namespace], regex: kube-system, action: drop}
      - {source_labels: [__meta_kubernetes_pod_name], target_label: pod}
`),
    });
    run(manager);
    const job = manager.jobs()[0];
    await until(() => job?.synced === true, 'sync');
    const pods = api.store.list('pods').filter((p) => p.metadata.namespace !== 'kube-system');
    const withPorts = [...(job?.targets.values() ?? [])];
    expect(new Set(withPorts.map((t) => t.labels.get('pod')))).toEqual(new Set(pods.map((p) => p.metadata.name)));
    const victim = pods[0];
    if (victim === undefined) throw new Error('no pod');
    api.store.delete({ resource: 'pods', namespace: victim.metadata.namespace ?? '', name: victim.metadata.name ?? '' });
    await until(() => ![...(job?.targets.values() ?? [])].some((t) => t.labels.get('pod') === victim.metadata.name), 'the deleted pod’s targets to go');
  });

  it('follows a rebuilt group exactly: changed group labels relabel every target, a changed target only itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promfleet-manager-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'g.json');
    const write = (team: string, targets: string[]) => writeFile(file, JSON.stringify([{ targets, labels: { team } }]));
    await write('a', ['x:1', 'y:2', 'z:3']);
    const manager = new DiscoveryManager({
      throttleMs: 20,
      config: config(`
scrape_configs:
  - job_name: files
    file_sd_configs: [{files: [${dir}/*.json]}]
    relabel_configs:
      - {source_labels: [team], target_label: owner}
      - {source_labels: [__address__], regex: "z:.*", action: drop}
`),
    });
    const updates = run(manager);
    const job = manager.jobs()[0];
    const owners = () => [...(job?.targets.values() ?? [])].map((t) => `${t.labels.get('instance') ?? ''}=${t.labels.get('owner') ?? ''}`).sort();
    await until(() => updates.length > 0 && job?.synced === true, 'sync');
    expect(owners()).toEqual(['x:1=a', 'y:2=a']);
    expect(job?.dropped).toBe(1);
    await write('b', ['x:1', 'y:2', 'z:3']);
    await until(() => owners().join() === 'x:1=b,y:2=b', 'the new group labels on every target');
    await write('b', ['x:1', 'w:4', 'z:3']);
    await until(() => owners().join() === 'w:4=b,x:1=b', 'the changed target');
    expect(job?.discovered).toBe(3);
    expect(job?.dropped).toBe(1);
  });

  it('relabels a rebuilt group again when a group label its rules read changed, and not for `__meta_*` labels no rule reads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promfleet-manager-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'g.json');
    const group = { __meta_read: 'r1', __meta_mapped_zone: 'z1', __meta_equal: 'x:1', __meta_unread: 'u1' };
    const write = (labels: Record<string, string>) => writeFile(file, JSON.stringify([{ targets: ['x:1', 'y:2'], labels }]));
    await write(group);
    const manager = new DiscoveryManager({
      throttleMs: 20,
      config: config(`
scrape_configs:
  - job_name: files
    file_sd_configs: [{files: [${dir}/*.json]}]
    relabel_configs:
      - {source_labels: [__meta_read], target_label: read}
      - {action: labelmap, regex: "__meta_mapped_(.+)", replacement: "mapped_$1"}
      - {action: keepequal, source_labels: [__address__], target_label: __meta_equal}
`),
    });
    const updates = run(manager);
    const job = manager.jobs()[0];
    const seen = () => [...(job?.targets.values() ?? [])].map((t) => ['instance', 'read', 'mapped_zone'].map((n) => t.labels.get(n) ?? '').join(' ')).sort();
    await until(() => updates.length > 0 && job?.synced === true, 'sync');
    expect(seen()).toEqual(['x:1 r1 z1']);
    await write({ ...group, __meta_read: 'r2' });
    await until(() => seen().join() === 'x:1 r2 z1', 'the changed source label');
    await write({ ...group, __meta_read: 'r2', __meta_mapped_zone: 'z2' });
    await until(() => seen().join() === 'x:1 r2 z2', 'the changed label labelmap copies');
    await write({ ...group, __meta_read: 'r2', __meta_mapped_zone: 'z2', __meta_equal: 'y:2' });
    await until(() => seen().join() === 'y:2 r2 z2', 'the changed label keepequal compares');
    const count = updates.length;
    await write({ ...group, __meta_read: 'r2', __meta_mapped_zone: 'z2', __meta_equal: 'y:2', __meta_unread: 'u2' });
    await until(() => updates.length > count, 'the group with only an unread label changed');
    expect(seen()).toEqual(['y:2 r2 z2']);
    expect([job?.discovered, job?.dropped]).toEqual([2, 1]);
  });

  it('rebuilds each job’s discovered label sets on demand, with the outcome and id relabeling gives them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promfleet-manager-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'f.json');
    await writeFile(file, JSON.stringify([{ targets: ['f:1'], labels: { team: 'x' } }]));
    const manager = new DiscoveryManager({
      throttleMs: 20,
      config: config(`
scrape_configs:
  - job_name: mixed
    scrape_interval: 30s
    static_configs:
      - targets: [a:1, a:1, 'b:2']
      - targets: [c:3]
        labels: {env: dev}
    file_sd_configs: [{files: [${dir}/*.json]}]
    relabel_configs:
      - {source_labels: [env], regex: dev, action: drop}
      - {source_labels: [__address__], regex: 'b:2', target_label: __address__, replacement: ''}
`),
    });
    expect([...manager.discovered('mixed')]).toEqual([]);
    const updates = run(manager);
    const job = manager.jobs()[0];
    await until(() => updates.length > 0 && job?.synced === true, 'sync');
    const found = [...manager.discovered('mixed')];
    const idOf = (address: string) => [...(job?.targets.values() ?? [])].find((t) => t.labels.get('__address__') === address)?.id;
    const seeded = (labels: Record<string, string>) => new Map(Object.entries({ __address__: '', __metrics_path__: '/metrics', __scheme__: 'http', __scrape_interval__: '30s', __scrape_timeout__: '10s', job: 'mixed', ...labels }));
    expect(found).toEqual([
      { outcome: 'kept', labels: seeded({ __address__: 'a:1' }), targetId: idOf('a:1') },
      { outcome: 'kept', labels: seeded({ __address__: 'a:1' }), targetId: idOf('a:1') },
      { outcome: 'invalid', labels: seeded({ __address__: 'b:2' }), reason: 'no address' },
      { outcome: 'dropped', labels: seeded({ __address__: 'c:3', env: 'dev' }) },
      { outcome: 'kept', labels: seeded({ __address__: 'f:1', __meta_filepath: file, team: 'x' }), targetId: idOf('f:1') },
    ]);
    expect(new Set(found.flatMap((d) => (d.outcome === 'kept' ? [d.targetId] : [])))).toEqual(new Set(job?.targets.keys()));
    expect([job?.discovered, job?.dropped, job?.invalid]).toEqual([5, 1, 1]);
    expect([...manager.discovered('no-such-job')]).toEqual([]);

    await writeFile(file, JSON.stringify([{ targets: ['f:2'] }]));
    await until(() => [...manager.discovered('mixed')].some((d) => d.labels.get('__address__') === 'f:2'), 'the new file content');
    expect([...manager.discovered('mixed')].filter((d) => d.labels.has('__meta_filepath')).map((d) => d.labels.get('__address__'))).toEqual(['f:2']);
  });
});
