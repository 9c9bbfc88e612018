import { afterEach, describe, expect, it } from '@jest/globals';
import { parseConfig, type PrometheusConfig } from '@promfleet/model';
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

/** What one update said, per job: the instances added and removed. */
type Told = Record<string, { added: string[]; removed: string[] }>;

function run(manager: DiscoveryManager) {
  const updates: Told[] = [];
  /** Every target id ever told of, with its instance: removals name ids that left `targets`. */
  const instances = new Map<string, string>();
  const controller = new AbortController();
  const done = manager.run(controller.signal, (changed: readonly JobTargets[]) => {
    const told: Told = {};
    for (const job of changed) {
      for (const [id, target] of job.targets) instances.set(id, `${target.labels.get('instance') ?? ''}${target.labels.has('tier') ? `/${target.labels.get('tier') ?? ''}` : ''}`);
      told[job.job.jobName] = {
        added: [...job.added].map((id) => instances.get(id) ?? id).sort(),
        removed: [...job.removed].map((id) => instances.get(id) ?? id).sort(),
      };
    }
    updates.push(told);
  });
  cleanups.push(async () => {
    controller.abort();
    await done;
  });
  return updates;
}

const before = `
scrape_configs:
  - job_name: same
    static_configs: [{targets: [s1:1, s2:2]}]
  - job_name: gone
    static_configs: [{targets: [g1:1, g2:2]}]
  - job_name: relabeled
    static_configs: [{targets: [r1:1, r2:2]}]
`;

describe('DiscoveryManager.applyConfig', () => {
  it('reports only what a reload changed: removed jobs lose every target, changed ones only the targets whose identity changed', async () => {
    const manager = new DiscoveryManager({ throttleMs: 10_000, config: config(before) });
    const updates = run(manager);
    await until(() => updates.length > 0, 'the first update');
    const changes = manager.applyConfig(
      config(`
scrape_configs:
  - job_name: same
    static_configs: [{targets: [s1:1, s2:2]}]
  - job_name: relabeled
    static_configs: [{targets: [r1:1, r2:2]}]
    relabel_configs:
      - {source_labels: [__address__], regex: "r2:2", target_label: tier, replacement: gold}
  - job_name: new
    static_configs: [{targets: [n1:1]}]
`),
    );
    expect(changes).toEqual({ added: ['new'], changed: ['relabeled'], removed: ['gone'] });
    // Not throttled: the reload's update went out before applyConfig returned.
    expect(updates).toHaveLength(2);
    expect(updates[1]).toEqual({
      gone: { added: [], removed: ['g1:1', 'g2:2'] },
      relabeled: { added: ['r2:2/gold'], removed: ['r2:2'] },
      new: { added: ['n1:1'], removed: [] },
    });
    expect(manager.jobs().map((j) => `${j.job.jobName}:${j.targets.size}:${String(j.synced)}`)).toEqual(['same:2:true', 'relabeled:2:true', 'new:1:true']);
    // The same config again changes nothing.
    expect(manager.applyConfig(config(`
scrape_configs:
  - job_name: same
    static_configs: [{targets: [s1:1, s2:2]}]
`))).toEqual({ added: [], changed: [], removed: ['relabeled', 'new'] });
    expect(manager.applyConfig(config(`
scrape_configs:
  - job_name: same
    static_configs: [{targets: [s1:1, s2:2]}]
`))).toEqual({ added: [], changed: [], removed: [] });
  });

  it('keeps the targets a changed SD config finds again: the old one serves until the new one has sent its set', async () => {
    const manager = new DiscoveryManager({ throttleMs: 10_000, config: config(before) });
    const updates = run(manager);
    await until(() => updates.length > 0, 'the first update');
    manager.applyConfig(
      config(`
scrape_configs:
  - job_name: same
    static_configs: [{targets: [s1:1, s2:2, s3:3]}]
`),
    );
    expect(updates.at(-1)?.['same']).toEqual({ added: ['s3:3'], removed: [] });
    expect(manager.jobs()[0]?.synced).toBe(true);
  });

  it('adds and removes Kubernetes jobs at run time without relisting the watches they share, and closes the ones no job needs', async () => {
    const api: FakeApiServer = await startFakeApiServer({ bookmarkIntervalMs: 200 });
    cleanups.push(() => api.stop());
    api.store.load(generateCluster({ nodes: 2, pods: 10, namespaces: 2, servicesPerNamespace: 2, seed: 5 }).objects());
    const userAgent = 'promfleet-master/reload-test';
    const kubernetes = new KubernetesDiscovery({
      clientFor: () => new ApiClient({ server: api.url, requestOptions: () => Promise.resolve({}), userAgent }, new RateLimiter(100, 100)),
      throttleMs: 20,
      reflector: { minWatchMs: 20 },
    });
    const pods = `
  - job_name: pods
    kubernetes_sd_configs: [{role: pod}]`;
    const manager = new DiscoveryManager({ kubernetes, throttleMs: 20, config: config(`scrape_configs:${pods}`) });
    const updates = run(manager);
    await until(() => manager.jobs()[0]?.synced === true && updates.length > 0, 'the pods job to sync');
    const podTargets = manager.jobs()[0]?.targets.size ?? 0;
    expect(podTargets).toBeGreaterThan(0);
    const lists = () => api.requests().filter((r) => r.userAgent === userAgent && r.verb === 'list').map((r) => `${r.resource} ${r.count}`).sort();
    const watching = () => api.watches().filter((w) => w.userAgent === userAgent).map((w) => w.resource).sort();
    expect(lists()).toEqual(['pods 1']);

    // A changed relabeling of the same SD config, a narrower pod job served by the same watch, and a new kind.
    const changes = manager.applyConfig(
      config(`
scrape_configs:${pods}
    relabel_configs: [{source_labels: [__meta_kubernetes_namespace], regex: kube-system, action: drop}]
  - job_name: system-pods
    kubernetes_sd_configs: [{role: pod, namespaces: {names: [kube-system]}}]
  - job_name: services
    kubernetes_sd_configs: [{role: service}]
`),
    );
    expect(changes).toEqual({ added: ['system-pods', 'services'], changed: ['pods'], removed: [] });
    // The changed job was relabeled from the view's groups at once: no list, no wait.
    const relabeled = manager.jobs()[0];
    expect(relabeled?.synced).toBe(true);
    expect(relabeled?.targets.size).toBeLessThan(podTargets);
    expect([...(relabeled?.targets.values() ?? [])].every((t) => t.labels.get('__address__') !== undefined)).toBe(true);
    await until(() => manager.jobs().every((j) => j.synced && j.targets.size > 0), 'the new jobs to sync');
    expect(lists()).toEqual(['pods 1', 'services 1']);
    await until(() => watching().join() === 'pods,services', 'the services watch to open');
    expect(kubernetes.watches.map((w) => w.kind).sort()).toEqual(['Pod', 'Service']);

    // Removing the only job of a kind closes its watch; the pods watch is untouched.
    const serviceTargets = manager.jobs()[2]?.targets.size ?? 0;
    const told = updates.length;
    manager.applyConfig(config(`scrape_configs:${pods}`));
    expect(updates[told]?.['services']?.removed).toHaveLength(serviceTargets);
    expect(updates[told]?.['system-pods']?.removed.length).toBeGreaterThan(0);
    await until(() => watching().join() === 'pods', 'the services watch to close');
    expect(kubernetes.watches.map((w) => w.kind)).toEqual(['Pod']);
    expect(lists()).toEqual(['pods 1', 'services 1']);
    expect(manager.jobs()[0]?.targets.size).toBe(podTargets);
  });

  it('keeps no Kubernetes view of an SD config a reload removed while the manager does not run (a standby master)', async () => {
    const api: FakeApiServer = await startFakeApiServer({ bookmarkIntervalMs: 200 });
    cleanups.push(() => api.stop());
    const kubernetes = new KubernetesDiscovery({
      clientFor: () => new ApiClient({ server: api.url, requestOptions: () => Promise.resolve({}), userAgent: 'promfleet-master/standby-test' }, new RateLimiter(100, 100)),
      throttleMs: 20,
    });
    const manager = new DiscoveryManager({ kubernetes, throttleMs: 20, config: config('scrape_configs: [{job_name: pods, kubernetes_sd_configs: [{role: pod}]}]') });
    manager.applyConfig(config('scrape_configs: [{job_name: nodes, kubernetes_sd_configs: [{role: node}]}]'));
    manager.applyConfig(config('scrape_configs: [{job_name: services, kubernetes_sd_configs: [{role: service}]}]'));
    const controller = new AbortController();
    const running = kubernetes.run(controller.signal);
    cleanups.push(async () => {
      controller.abort();
      await running;
    });
    expect(kubernetes.watches.map((w) => w.kind)).toEqual(['Service']);
  });

  it('moves a view onto a wider watch once it has listed, without losing a target, and closes the narrow one', async () => {
    const api: FakeApiServer = await startFakeApiServer({ bookmarkIntervalMs: 200 });
    cleanups.push(() => api.stop());
    api.store.load(generateCluster({ nodes: 2, pods: 10, namespaces: 2, servicesPerNamespace: 1, seed: 6 }).objects());
    const userAgent = 'promfleet-master/reload-test';
    const kubernetes = new KubernetesDiscovery({
      clientFor: () => new ApiClient({ server: api.url, requestOptions: () => Promise.resolve({}), userAgent }, new RateLimiter(100, 100)),
      throttleMs: 20,
      reflector: { minWatchMs: 20 },
    });
    const system = `
  - job_name: system-pods
    kubernetes_sd_configs: [{role: pod, namespaces: {names: [kube-system]}}]`;
    const manager = new DiscoveryManager({ kubernetes, throttleMs: 20, config: config(`scrape_configs:${system}`) });
    const updates = run(manager);
    await until(() => manager.jobs()[0]?.synced === true && updates.length > 0, 'the job to sync');
    const watching = () => api.watches().filter((w) => w.userAgent === userAgent).map((w) => `${w.resource}:${w.namespace ?? '*'}`).sort();
    await until(() => watching().join() === 'pods:kube-system', 'the narrow watch');
    const targets = [...(manager.jobs()[0]?.targets.keys() ?? [])].sort();
    const told = updates.length;
    manager.applyConfig(config(`scrape_configs:${system}
  - job_name: pods
    kubernetes_sd_configs: [{role: pod}]`));
    await until(() => watching().join() === 'pods:*', 'the wide watch alone');
    await until(() => manager.jobs()[1]?.synced === true, 'the new job');
    expect([...(manager.jobs()[0]?.targets.keys() ?? [])].sort()).toEqual(targets);
    for (const update of updates.slice(told)) expect(update['system-pods']?.removed ?? []).toEqual([]);
  });
});
