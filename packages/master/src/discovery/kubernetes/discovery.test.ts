import { afterEach, describe, expect, it } from '@jest/globals';
import { parseConfig, type KubernetesSDConfig, type TargetGroup } from '@promfleet/model';
import { generateCluster, startFakeApiServer, type FakeApiServer, type KubeObject } from '@promfleet/testkit';
import { ApiClient, RateLimiter, type ApiEncoding } from './client.js';
import { KubernetesDiscovery } from './discovery.js';
import { discoverFromObjects, readObjectList } from './offline.js';

const userAgent = 'promfleet-master/test';

/** kubernetes_sd_configs as the config loader produces them, one job each. */
function sdConfigs(...entries: Record<string, unknown>[]): KubernetesSDConfig[] {
  const text = JSON.stringify({ scrape_configs: entries.map((sd, i) => ({ job_name: `job-${i}`, kubernetes_sd_configs: [sd] })) });
  const result = parseConfig(text, { file: 'test.yml' });
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.keyPath}: ${e.message}`).join('; '));
  return result.config.scrapeConfigs.map((j) => {
    const sd = j.kubernetesSdConfigs[0];
    if (sd === undefined) throw new Error('no sd');
    return sd;
  });
}

/** The groups each discoverer holds: source → group, applying updates as the manager will. */
class GroupSink {
  readonly groups = new Map<string, TargetGroup>();
  updates = 0;
  readonly update = (groups: readonly TargetGroup[]) => {
    this.updates++;
    for (const g of groups) {
      if (g.targets.length === 0) this.groups.delete(g.source);
      else this.groups.set(g.source, g);
    }
  };
}

function plain(groups: Iterable<TargetGroup>): unknown[] {
  return [...groups]
    .filter((g) => g.targets.length > 0)
    .map((g) => ({ source: g.source, labels: Object.fromEntries([...g.labels].sort()), targets: g.targets.map((t) => Object.fromEntries([...t].sort())) }))
    .sort((a, b) => (a.source < b.source ? -1 : 1));
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let api: FakeApiServer | undefined;
const controllers: AbortController[] = [];
afterEach(async () => {
  for (const c of controllers.splice(0)) c.abort();
  await api?.stop();
  api = undefined;
});

async function startDiscovery(configs: KubernetesSDConfig[], options: { throttleMs?: number; encoding?: ApiEncoding; userAgent?: string } = {}) {
  const server = api;
  if (server === undefined) throw new Error('no api server');
  const discovery = new KubernetesDiscovery({
    clientFor: () =>
      new ApiClient({ server: server.url, requestOptions: () => Promise.resolve({}), userAgent: options.userAgent ?? userAgent }, new RateLimiter(100, 100), {
        encoding: options.encoding ?? 'protobuf',
      }),
    throttleMs: options.throttleMs ?? 50,
    reflector: { initialBackoffMs: 20, maxBackoffMs: 200, minWatchMs: 20 },
  });
  const sinks = configs.map((c) => ({ sink: new GroupSink(), discoverer: discovery.discoverer(c) }));
  const controller = new AbortController();
  controllers.push(controller);
  const running = Promise.all([discovery.run(controller.signal), ...sinks.map((s) => s.discoverer.run(controller.signal, s.sink.update))]);
  await until(() => sinks.every((s) => s.sink.updates > 0), 'the first full set');
  return { discovery, sinks: sinks.map((s) => s.sink), discoverers: sinks.map((s) => s.discoverer), running };
}

function offline(config: KubernetesSDConfig, objects: readonly KubeObject[]): unknown[] {
  return plain(discoverFromObjects(config, readObjectList({ kind: 'List', items: objects }).objects));
}

function allObjects(server: FakeApiServer): KubeObject[] {
  return ['namespaces', 'nodes', 'pods', 'services', 'endpointslices', 'endpoints', 'ingresses', 'replicasets', 'jobs'].flatMap((r) => server.store.list(r));
}

describe('KubernetesDiscovery', () => {
  it('discovers exactly what the offline tool finds, for every role, in protobuf and in JSON', async () => {
    api = await startFakeApiServer({ bookmarkIntervalMs: 200 });
    api.store.load(generateCluster({ nodes: 3, pods: 40, namespaces: 2, servicesPerNamespace: 2, seed: 7 }).objects());
    const configs = sdConfigs(
      { role: 'pod' },
      { role: 'endpointslice', attach_metadata: { node: true } },
      { role: 'service' },
      { role: 'node' },
      { role: 'pod', namespaces: { names: ['kube-system'] }, selectors: [{ role: 'pod', label: 'app.kubernetes.io/name' }] },
    );
    const objects = allObjects(api);
    for (const encoding of ['protobuf', 'json'] as const) {
      const { sinks } = await startDiscovery(configs, { encoding, userAgent: `promfleet-master/${encoding}` });
      configs.forEach((config, i) => {
        const expected = offline(config, objects);
        expect(expected.length).toBeGreaterThan(0);
        expect({ encoding, groups: plain(sinks[i]?.groups.values() ?? []) }).toEqual({ encoding, groups: expected });
      });
    }
    // The same lists cost fewer bytes in protobuf: the server did answer in it.
    const listBytes = (agent: string) => api?.traffic().filter((t) => t.userAgent === agent && t.verb === 'list' && t.resource === 'pods')[0]?.responseBytes ?? 0;
    expect(listBytes('promfleet-master/protobuf')).toBeGreaterThan(0);
    expect(listBytes('promfleet-master/protobuf')).toBeLessThan(listBytes('promfleet-master/json') * 0.8);
  });

  it('names the Deployment of each pod through its ReplicaSet, and follows the ReplicaSet\'s changes', async () => {
    api = await startFakeApiServer({ bookmarkIntervalMs: 200 });
    api.store.load(generateCluster({ nodes: 1, pods: 6, namespaces: 1, servicesPerNamespace: 1, seed: 11 }).objects());
    const pod = api.store.list('pods').find((p) => p.metadata.ownerReferences?.[0]?.kind === 'ReplicaSet');
    const rsName = pod?.metadata.ownerReferences?.[0]?.name;
    const namespace = pod?.metadata.namespace;
    if (pod === undefined || rsName === undefined || namespace === undefined) throw new Error('no pod of a ReplicaSet');
    const owner = (name: string) => [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: `uid-${name}`, controller: true }];
    api.store.create({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: rsName, namespace, ownerReferences: owner('web') } });
    const configs = sdConfigs({ role: 'pod', attach_metadata: { deployment: true } });
    const { sinks, discovery } = await startDiscovery(configs);
    const sink = sinks[0];
    if (sink === undefined) throw new Error('no sink');
    const source = `pod/${namespace}/${pod.metadata.name ?? ''}`;
    expect(sink.groups.get(source)?.labels.get('__meta_kubernetes_pod_deployment_name')).toBe('web');
    expect(plain(sink.groups.values())).toEqual(offline(configs[0] as KubernetesSDConfig, allObjects(api)));
    expect(discovery.watches.map((w) => w.kind).sort()).toEqual(['Pod', 'ReplicaSet']);
    api.store.modify({ resource: 'replicasets', namespace, name: rsName }, (rs) => ({ ...rs, metadata: { ...rs.metadata, ownerReferences: owner('web-v2') } }));
    await until(() => sink.groups.get(source)?.labels.get('__meta_kubernetes_pod_deployment_name') === 'web-v2', 'the new Deployment name');
    api.store.delete({ resource: 'replicasets', namespace, name: rsName });
    await until(() => sink.groups.get(source)?.labels.has('__meta_kubernetes_pod_deployment_name') === false, 'no Deployment name once the ReplicaSet is gone');
  });

  it('holds one watch per kind however many jobs use it, and the request count does not grow with jobs', async () => {
    api = await startFakeApiServer({ bookmarkIntervalMs: 200 });
    api.store.load(generateCluster({ nodes: 2, pods: 10, namespaces: 1, servicesPerNamespace: 1, seed: 1 }).objects());
    const jobs = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? { role: 'pod' } : { role: 'endpointslice' }));
    const { discovery } = await startDiscovery(sdConfigs(...jobs));
    expect(discovery.watches.map((w) => `${w.kind}:${w.namespace ?? '*'}`).sort()).toEqual(['EndpointSlice:*', 'Pod:*', 'Service:*']);
    const server = api;
    await until(() => server.watches().length === 3, 'three open watches');
    const mine = server.requests().filter((r) => r.userAgent === userAgent);
    expect(mine.map((r) => `${r.verb} ${r.resource} ${r.count}`).sort()).toEqual(['list endpointslices 1', 'list pods 1', 'list services 1', 'watch endpointslices 1', 'watch pods 1', 'watch services 1']);
  });

  it('coalesces a burst of changes into one update per source, and deletes groups of deleted objects', async () => {
    api = await startFakeApiServer({ bookmarkIntervalMs: 200 });
    api.store.load(generateCluster({ nodes: 1, pods: 5, namespaces: 1, servicesPerNamespace: 1, seed: 3 }).objects());
    const { sinks } = await startDiscovery(sdConfigs({ role: 'pod' }), { throttleMs: 300 });
    const sink = sinks[0];
    if (sink === undefined) throw new Error('no sink');
    const pod = api.store.list('pods').find((p) => p.metadata.namespace !== 'kube-system');
    if (pod === undefined) throw new Error('no pod');
    const ref = { resource: 'pods', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '' };
    const before = sink.updates;
    for (let i = 0; i < 200; i++) {
      api.store.modify(ref, (p) => ({ ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, burst: String(i) } } }));
    }
    await until(() => sink.groups.get(`pod/${ref.namespace}/${ref.name}`)?.labels.get('__meta_kubernetes_pod_label_burst') === '199', 'the last burst value');
    expect(sink.updates - before).toBeLessThanOrEqual(2);
    api.store.delete(ref);
    await until(() => !sink.groups.has(`pod/${ref.namespace}/${ref.name}`), 'the deleted group');
  });

  it('rebuilds a group when an object it joined with changes', async () => {
    api = await startFakeApiServer({ bookmarkIntervalMs: 200 });
    api.store.load(generateCluster({ nodes: 1, pods: 4, namespaces: 1, servicesPerNamespace: 1, seed: 5 }).objects());
    const { sinks } = await startDiscovery(sdConfigs({ role: 'pod', attach_metadata: { node: true } }));
    const sink = sinks[0];
    const node = api.store.list('nodes')[0];
    if (sink === undefined || node === undefined) throw new Error('setup');
    api.store.modify({ resource: 'nodes', name: node.metadata.name ?? '' }, (n) => ({ ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, rack: 'r42' } } }));
    await until(
      () => [...sink.groups.values()].every((g) => g.labels.get('__meta_kubernetes_node_label_rack') === 'r42'),
      'node labels on every pod group',
    );
  });

  it('recovers from an API server restart with no lost and no phantom targets', async () => {
    api = await startFakeApiServer({ bookmarkIntervalMs: 100 });
    api.store.load(generateCluster({ nodes: 2, pods: 20, namespaces: 1, servicesPerNamespace: 2, seed: 11 }).objects());
    const configs = sdConfigs({ role: 'pod' }, { role: 'endpointslice' });
    const { sinks } = await startDiscovery(configs);
    const server = api;
    // Changes while the server is down: the watch cache is gone, so the master must relist to see them.
    await server.stop();
    const [gone, changed] = server.store.list('pods').filter((p) => p.metadata.namespace !== 'kube-system');
    if (gone === undefined || changed === undefined) throw new Error('setup');
    server.store.delete({ resource: 'pods', namespace: gone.metadata.namespace ?? '', name: gone.metadata.name ?? '' });
    server.store.modify({ resource: 'pods', namespace: changed.metadata.namespace ?? '', name: changed.metadata.name ?? '' }, (p) => ({
      ...p,
      metadata: { ...p.metadata, annotations: { ...p.metadata.annotations, moved: 'yes' } },
    }));
    await server.start();
    const objects = () => allObjects(server);
    await until(() => configs.every((c, i) => JSON.stringify(plain(sinks[i]?.groups.values() ?? [])) === JSON.stringify(offline(c, objects()))), 'discovery to match the restarted server');
    expect(sinks[0]?.groups.has(`pod/${gone.metadata.namespace}/${gone.metadata.name}`)).toBe(false);
  });

  it('does not tell a narrow view about changes outside its scope, even on a shared watch', async () => {
    api = await startFakeApiServer({ bookmarkIntervalMs: 200 });
    api.store.load(generateCluster({ nodes: 1, pods: 6, namespaces: 2, servicesPerNamespace: 1, seed: 4 }).objects());
    const { discovery, sinks } = await startDiscovery(sdConfigs({ role: 'pod' }, { role: 'pod', namespaces: { names: ['kube-system'] } }), { throttleMs: 20 });
    expect(discovery.watches).toHaveLength(1);
    const [wide, narrow] = sinks;
    const outside = api.store.list('pods').find((p) => p.metadata.namespace !== 'kube-system');
    if (wide === undefined || narrow === undefined || outside === undefined) throw new Error('setup');
    const narrowUpdates = narrow.updates;
    const wideUpdates = wide.updates;
    api.store.modify({ resource: 'pods', namespace: outside.metadata.namespace ?? '', name: outside.metadata.name ?? '' }, (p) => ({
      ...p,
      metadata: { ...p.metadata, labels: { ...p.metadata.labels, touched: 'yes' } },
    }));
    await until(() => wide.updates > wideUpdates, 'the wide view to see the change');
    await new Promise((r) => setTimeout(r, 60));
    expect(narrow.updates).toBe(narrowUpdates);
  });

  it('rebuilds the groups it holds on demand, as sent, and recording nothing that would change later updates', async () => {
    api = await startFakeApiServer({ bookmarkIntervalMs: 200 });
    api.store.load(generateCluster({ nodes: 2, pods: 12, namespaces: 2, servicesPerNamespace: 2, seed: 12 }).objects());
    const configs = sdConfigs({ role: 'pod', attach_metadata: { node: true } }, { role: 'endpointslice' }, { role: 'pod', namespaces: { names: ['kube-system'] } });
    const { sinks, discoverers } = await startDiscovery(configs, { throttleMs: 20 });
    const onDemand = (i: number) => plain(discoverers[i]?.groups?.() ?? []);
    configs.forEach((_, i) => {
      expect(onDemand(i).length).toBeGreaterThan(0);
      expect(onDemand(i)).toEqual(plain(sinks[i]?.groups.values() ?? []));
    });
    // Lazy: taking one group builds one.
    const [firstGroup] = discoverers[0]?.groups?.() ?? [];
    expect(firstGroup?.targets.length).toBeGreaterThan(0);
    // The joined node still dirties the pod groups after the on-demand builds, and both ways show the change.
    const node = api.store.list('nodes')[0];
    const sink = sinks[0];
    if (node === undefined || sink === undefined) throw new Error('setup');
    api.store.modify({ resource: 'nodes', name: node.metadata.name ?? '' }, (n) => ({ ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, rack: 'r7' } } }));
    const onNode = (groups: Iterable<TargetGroup>) => [...groups].filter((g) => g.labels.get('__meta_kubernetes_pod_node_name') === node.metadata.name);
    await until(() => onNode(sink.groups.values()).every((g) => g.labels.get('__meta_kubernetes_node_label_rack') === 'r7'), 'the node label on its pods’ groups');
    expect(onNode(sink.groups.values()).length).toBeGreaterThan(0);
    expect(onDemand(0)).toEqual(plain(sink.groups.values()));
  });

  it('holds no groups before its view has sent the full set', () => {
    const discovery = new KubernetesDiscovery({ clientFor: () => new ApiClient({ server: 'http://127.0.0.1:9', requestOptions: () => Promise.resolve({}), userAgent }, new RateLimiter(1, 1)) });
    const [config] = sdConfigs({ role: 'pod' });
    if (config === undefined) throw new Error('setup');
    expect([...(discovery.discoverer(config).groups?.() ?? ['not implemented'])]).toEqual([]);
  });

  it('returns at once when started with an aborted signal', async () => {
    const discovery = new KubernetesDiscovery({ clientFor: () => new ApiClient({ server: 'http://127.0.0.1:9', requestOptions: () => Promise.resolve({}), userAgent }, new RateLimiter(1, 1)) });
    const [config] = sdConfigs({ role: 'pod' });
    if (config === undefined) throw new Error('setup');
    const view = discovery.discoverer(config);
    const controller = new AbortController();
    controller.abort();
    await expect(Promise.all([discovery.run(controller.signal), view.run(controller.signal, () => undefined)])).resolves.toBeDefined();
  });

  it('forgets the wait for a first list of a view whose last job left before it synced', async () => {
    const discovery = new KubernetesDiscovery({
      clientFor: () => {
        throw new Error('cannot load kubeconfig /missing');
      },
    });
    const [config] = sdConfigs({ role: 'pod' });
    if (config === undefined) throw new Error('setup');
    const controller = new AbortController();
    controllers.push(controller);
    const job = new AbortController();
    const running = discovery.run(controller.signal);
    const subscribed = discovery.discoverer(config).run(job.signal, () => undefined);
    await until(() => discovery.viewsAwaitingSync === 1, 'the view to wait');
    job.abort();
    await subscribed;
    await until(() => discovery.viewsAwaitingSync === 0, 'the stopped view to stop waiting');
    controller.abort();
    await running;
  });

  it('leaves jobs whose connection cannot be set up unsynced, and runs the others', async () => {
    api = await startFakeApiServer({ bookmarkIntervalMs: 200 });
    api.store.load(generateCluster({ nodes: 1, pods: 2, namespaces: 1, servicesPerNamespace: 1, seed: 8 }).objects());
    const server = api;
    const failed: string[] = [];
    const discovery = new KubernetesDiscovery({
      clientFor: (connection) => {
        if (connection.startsWith('kubeconfig:')) throw new Error('cannot load kubeconfig /missing');
        return new ApiClient({ server: server.url, requestOptions: () => Promise.resolve({}), userAgent }, new RateLimiter(100, 100));
      },
      throttleMs: 20,
      observer: { watchFailed: (_w, error) => failed.push(error) },
    });
    const [good, bad] = sdConfigs({ role: 'node' }, { role: 'node', kubeconfig_file: '/missing' });
    if (good === undefined || bad === undefined) throw new Error('setup');
    const sinks = [new GroupSink(), new GroupSink()];
    const controller = new AbortController();
    controllers.push(controller);
    const views = [discovery.discoverer(good), discovery.discoverer(bad)];
    void Promise.all([discovery.run(controller.signal), ...views.map((v, i) => v.run(controller.signal, (g) => sinks[i]?.update(g)))]);
    await until(() => (sinks[0]?.updates ?? 0) > 0, 'the good job');
    expect(sinks[1]?.updates).toBe(0);
    expect(failed).toEqual(['cannot load kubeconfig /missing']);
  });

  it('builds the groups of identical SD configs once, for every job that has one', async () => {
    api = await startFakeApiServer({ bookmarkIntervalMs: 200 });
    api.store.load(generateCluster({ nodes: 1, pods: 4, namespaces: 1, servicesPerNamespace: 1, seed: 6 }).objects());
    const { sinks } = await startDiscovery(sdConfigs(...Array.from({ length: 10 }, () => ({ role: 'endpointslice' }))));
    const [first, ...rest] = sinks;
    if (first === undefined) throw new Error('setup');
    expect(first.groups.size).toBeGreaterThan(0);
    for (const sink of rest) {
      for (const [source, group] of first.groups) expect(sink.groups.get(source)).toBe(group);
    }
  });
});
