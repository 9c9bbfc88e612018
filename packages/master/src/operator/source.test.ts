import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { buildTarget, labelsToObject, parseConfig, publicLabels, type ScrapeConfig, type TargetGroup } from '@promfleet/model';
import { promtoolCheckMetrics, startFakeApiServer, type FakeApiServer, type KubeObject } from '@promfleet/testkit';
import { ApiClient, RateLimiter, type ApiRequestRecord } from '../discovery/kubernetes/client.js';
import { KubernetesDiscovery } from '../discovery/kubernetes/discovery.js';
import { discoverFromObjects, dumpAssetLookup, readObjectList } from '../discovery/kubernetes/offline.js';
import { operatorJobs } from './jobs.js';
import { parseOperatorConfig } from './selection.js';
import { OperatorJobSource, type OperatorLog } from './source.js';

const allKinds = `
serviceMonitorSelector: {matchLabels: {release: prod}}
serviceMonitorNamespaceSelector: {}
podMonitorSelector: {}
podMonitorNamespaceSelector: {}
probeSelector: {}
probeNamespaceSelector: {}
scrapeConfigSelector: {}
scrapeConfigNamespaceSelector: {}
`;

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function serviceMonitor(name: string, spec: Record<string, unknown>, labels: Record<string, string> = { release: 'prod' }): KubeObject {
  return { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name, namespace: 'shop', labels }, spec };
}

function secret(name: string, data: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'shop' },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

let api: FakeApiServer | undefined;
const controllers: AbortController[] = [];
afterEach(async () => {
  for (const c of controllers.splice(0)) c.abort();
  await api?.stop();
  api = undefined;
});

function promfleetGlobal() {
  const parsed = parseConfig('', { file: 'p.yml' });
  if (!parsed.ok) throw new Error('bad config');
  return parsed.config.global;
}

function startSource(server: FakeApiServer, options: { assetRefreshMs?: number; registry?: Registry } = {}) {
  const logs: { level: string; message: string; fields: Readonly<Record<string, string | number>> }[] = [];
  const log: OperatorLog = (level, message, fields = {}) => logs.push({ level, message, fields });
  const requests: ApiRequestRecord[] = [];
  const source = new OperatorJobSource({
    client: new ApiClient({ server: server.url, requestOptions: () => Promise.resolve({}), userAgent: 'promfleet-master/test' }, new RateLimiter(100, 100), (r) => requests.push(r)),
    selection: parseOperatorConfig(allKinds, 'prom.yaml'),
    global: promfleetGlobal(),
    ownNamespace: 'promfleet',
    log,
    throttleMs: 20,
    ...(options.assetRefreshMs === undefined ? {} : { assetRefreshMs: options.assetRefreshMs }),
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    reflector: { initialBackoffMs: 20, maxBackoffMs: 200 },
  });
  const updates: (readonly ScrapeConfig[])[] = [];
  const controller = new AbortController();
  controllers.push(controller);
  const running = source.run(controller.signal, (jobs) => updates.push(jobs));
  const latest = () => updates.at(-1)?.map((j) => j.jobName);
  return { source, updates, latest, logs, requests, running, controller };
}

describe('OperatorJobSource against the fake API server', () => {
  it('follows ServiceMonitors as they are created, changed and deleted, reading their Secrets with GET', async () => {
    api = await startFakeApiServer();
    api.store.create(secret('creds', { user: 'bob', password: 'hunter2' }));
    api.store.create(serviceMonitor('web', { selector: {}, endpoints: [{ port: 'http', basicAuth: { username: { name: 'creds', key: 'user' }, password: { name: 'creds', key: 'password' } } }] }));
    api.store.create(serviceMonitor('other-release', { selector: {}, endpoints: [{ port: 'http' }] }, { release: 'dev' }));
    const registry = new Registry();
    const s = startSource(api, { registry });

    await until(() => s.updates.length > 0, 'the first job list');
    expect(s.latest()).toEqual(['serviceMonitor/shop/web/0']);
    expect(s.updates.at(-1)?.[0]?.httpClient.basicAuth?.password?.reveal()).toBe('hunter2');
    expect(s.requests.filter((r) => r.verb === 'get')).toEqual([{ verb: 'get', resource: 'secrets', status: 200 }]);

    api.store.update(serviceMonitor('web', { selector: {}, endpoints: [{ port: 'http' }, { port: 'admin', path: '/admin' }] }));
    await until(() => s.latest()?.length === 2, 'the second endpoint');
    expect(s.latest()).toEqual(['serviceMonitor/shop/web/0', 'serviceMonitor/shop/web/1']);

    // A bad resource is rejected, logged once for its version, and the others keep their jobs.
    api.store.create(serviceMonitor('broken', { selector: {}, endpoints: [{ port: 'http', bearerTokenSecret: { name: 'missing', key: 'token' } }] }));
    await until(() => s.source.rejected().length === 1, 'the rejection');
    expect(s.source.rejected()).toEqual([
      { kind: 'ServiceMonitor', namespace: 'shop', name: 'broken', reason: 'spec.endpoints[0].bearerTokenSecret: Secret shop/missing key "token" not found', sinceUnixMs: expect.any(Number) },
    ]);
    api.store.create(serviceMonitor('late', { selector: {}, endpoints: [{ port: 'http' }] }));
    await until(() => s.latest()?.includes('serviceMonitor/shop/late/0') === true, 'a resource after the rejection');
    expect(s.latest()).toEqual(['serviceMonitor/shop/late/0', 'serviceMonitor/shop/web/0', 'serviceMonitor/shop/web/1']);
    expect(s.logs.filter((l) => l.message === 'operator resource rejected')).toEqual([
      { level: 'warn', message: 'operator resource rejected', fields: { kind: 'ServiceMonitor', namespace: 'shop', name: 'broken', reason: expect.stringContaining('not found') } },
    ]);
    const metrics = await registry.metrics();
    expect(metrics).toContain('promfleet_operator_resources{kind="ServiceMonitor",state="selected"} 3');
    expect(metrics).toContain('promfleet_operator_resources{kind="ServiceMonitor",state="rejected"} 1');
    await expect(promtoolCheckMetrics(metrics)).resolves.toEqual({ code: 0, output: '' });

    // The missing Secret appears and the resource changes: it is read again and the resource accepted.
    api.store.create(secret('missing', { token: 't0ken' }));
    api.store.update(serviceMonitor('broken', { selector: {}, endpoints: [{ port: 'http', bearerTokenSecret: { name: 'missing', key: 'token' } }], jobLabel: 'app' }));
    await until(() => s.source.rejected().length === 0, 'the fixed resource');
    expect(s.latest()).toContain('serviceMonitor/shop/broken/0');

    api.store.delete({ resource: 'servicemonitors', namespace: 'shop', name: 'web' });
    await until(() => s.latest()?.length === 2, 'the deletion');
    expect(s.latest()).toEqual(['serviceMonitor/shop/broken/0', 'serviceMonitor/shop/late/0']);
    expect(s.logs.filter((l) => l.message.includes('secret') || JSON.stringify(l.fields).includes('hunter2'))).toEqual([]);
  });

  it('reads a rotated Secret again within the refresh period', async () => {
    api = await startFakeApiServer();
    api.store.create(secret('creds', { password: 'one' }));
    api.store.create(serviceMonitor('web', { selector: {}, endpoints: [{ port: 'http', authorization: { credentials: { name: 'creds', key: 'password' } } }] }));
    const s = startSource(api, { assetRefreshMs: 100 });
    const credentials = () => s.updates.at(-1)?.[0]?.httpClient.authorization?.credentials?.reveal();
    await until(() => credentials() === 'one', 'the first credentials');
    api.store.update(secret('creds', { password: 'two' }));
    await until(() => credentials() === 'two', 'the rotated credentials');
  });

  it('logs a failing list once while it keeps failing the same way, and recovers', async () => {
    api = await startFakeApiServer();
    api.store.create(serviceMonitor('web', { selector: {}, endpoints: [{ port: 'http' }] }));
    api.faults.failNext({ verb: 'list', resource: 'servicemonitors', count: 3, status: 500 });
    const s = startSource(api);
    await until(() => s.latest()?.length === 1, 'the jobs after the failures');
    expect(s.requests.filter((r) => r.resource === 'servicemonitors' && r.status === 500)).toHaveLength(3);
    expect(s.logs.filter((l) => l.message.startsWith('operator: list/watch failed'))).toEqual([
      { level: 'warn', message: 'operator: list/watch failed; retrying with backoff', fields: { kind: 'ServiceMonitor', err: expect.stringContaining('HTTP 500') } },
    ]);
  });

  it('generates the jobs again with a reloaded global section', async () => {
    api = await startFakeApiServer();
    api.store.create(serviceMonitor('web', { selector: {}, endpoints: [{ port: 'http' }] }));
    const s = startSource(api);
    await until(() => s.updates.length > 0, 'the first job list');
    expect(s.updates.at(-1)?.[0]?.scrapeIntervalMs).toBe(60_000);
    const reloaded = parseConfig('global: {scrape_interval: 20s}\n', { file: 'p.yml' });
    if (!reloaded.ok) throw new Error('bad config');
    s.source.setGlobal(reloaded.config.global);
    await until(() => s.updates.at(-1)?.[0]?.scrapeIntervalMs === 20_000, 'the new interval');
  });

  it('treats a kind whose CRD is not installed as empty, logs it once, and picks it up once installed', async () => {
    api = await startFakeApiServer({ withoutResources: ['servicemonitors', 'podmonitors', 'probes', 'scrapeconfigs'] });
    api.store.create(serviceMonitor('web', { selector: {}, endpoints: [{ port: 'http' }] }));
    const s = startSource(api);
    await until(() => s.updates.length > 0, 'the first (empty) job list');
    expect(s.latest()).toEqual([]);
    await until(() => s.requests.filter((r) => r.resource === 'servicemonitors').length >= 3, 'retries');
    expect(s.logs.filter((l) => l.message.includes('servicemonitors.monitoring.coreos.com/v1 is not served'))).toHaveLength(1);
    api.installResource('servicemonitors');
    await until(() => s.latest()?.length === 1, 'the ServiceMonitor once its CRD is there');
    expect(s.latest()).toEqual(['serviceMonitor/shop/web/0']);
  });

  it('gives the same targets live as the offline tool gives from a dump of the same objects', async () => {
    api = await startFakeApiServer();
    const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } }) as KubeObject;
    api.store.create(ns('shop'));
    api.store.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'metrics', port: 9100, protocol: 'TCP' }] } });
    api.store.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-1', namespace: 'shop', uid: 'u1', labels: { app: 'web', team: 'a' } },
      spec: { nodeName: 'n1', containers: [{ name: 'app', image: 'app:1', ports: [{ name: 'metrics', containerPort: 8080, protocol: 'TCP' }] }] },
      status: { phase: 'Running', podIP: '10.0.0.1', hostIP: '192.168.0.1' },
    });
    api.store.create({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: 'shop' },
      subsets: [{ addresses: [{ ip: '10.0.0.1', targetRef: { kind: 'Pod', name: 'web-1', namespace: 'shop' } }], ports: [{ name: 'metrics', port: 8080, protocol: 'TCP' }] }],
    });
    api.store.create(secret('creds', { token: 't' }));
    api.store.create(serviceMonitor('web', { selector: { matchLabels: { app: 'web' } }, podTargetLabels: ['team'], endpoints: [{ port: 'metrics', authorization: { credentials: { name: 'creds', key: 'token' } } }] }));
    api.store.create({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'pods', namespace: 'shop' }, spec: { selector: { matchLabels: { team: 'a' } }, podMetricsEndpoints: [{ port: 'metrics', path: '/m' }] } });

    const s = startSource(api);
    await until(() => s.updates.length > 0, 'the generated jobs');
    const jobs = s.updates.at(-1) ?? [];
    expect(jobs.map((j) => j.jobName)).toEqual(['serviceMonitor/shop/web/0', 'podMonitor/shop/pods/0']);

    const server = api;
    const discovery = new KubernetesDiscovery({
      clientFor: () => new ApiClient({ server: server.url, requestOptions: () => Promise.resolve({}), userAgent: 'promfleet-master/test' }, new RateLimiter(100, 100)),
      throttleMs: 20,
      reflector: { initialBackoffMs: 20, maxBackoffMs: 200, minWatchMs: 20 },
    });
    const live = new Map<string, Map<string, TargetGroup>>();
    const controller = new AbortController();
    controllers.push(controller);
    const discoverers = jobs.map((job) => {
      const sd = job.kubernetesSdConfigs[0];
      if (sd === undefined) throw new Error(`${job.jobName} has no kubernetes_sd_configs`);
      return { job, discoverer: discovery.discoverer(sd) };
    });
    void discovery.run(controller.signal);
    for (const { job, discoverer } of discoverers) {
      void discoverer.run(controller.signal, (groups) => {
        const held = live.get(job.jobName) ?? new Map<string, TargetGroup>();
        for (const g of groups) held.set(g.source, g);
        live.set(job.jobName, held);
      });
    }
    await until(() => live.size === jobs.length, 'live discovery of the generated jobs');

    const targets = (job: ScrapeConfig, groups: readonly TargetGroup[]) =>
      groups.flatMap((g) =>
        g.targets.flatMap((t) => {
          const built = buildTarget(job, t, g.labels);
          return built.kind === 'kept' ? [labelsToObject(publicLabels(built.target.labels))] : [];
        }),
      );
    const liveTargets = jobs.map((job) => targets(job, [...(live.get(job.jobName)?.values() ?? [])]));
    const dump = readObjectList({ kind: 'List', items: ['namespaces', 'services', 'pods', 'endpoints', 'secrets', 'servicemonitors', 'podmonitors'].flatMap((r) => server.store.list(r)) });
    const offline = operatorJobs({
      resources: dump.operator.resources,
      namespaceLabels: (n) => dump.objects.namespaces.find((o) => o.meta.name === n)?.meta.labels,
      lookup: dumpAssetLookup(dump.operator),
      selection: parseOperatorConfig(allKinds, 'prom.yaml'),
      global: promfleetGlobal(),
      ownNamespace: 'promfleet',
    });
    const offlineTargets = offline.jobs.map((job) => targets(job, job.kubernetesSdConfigs.flatMap((sd) => discoverFromObjects(sd, dump.objects))));
    expect(liveTargets).toEqual(offlineTargets);
    expect(liveTargets).toEqual([
      [{ container: 'app', endpoint: 'metrics', instance: '10.0.0.1:8080', job: 'web', namespace: 'shop', pod: 'web-1', service: 'web', team: 'a' }],
      [{ container: 'app', endpoint: 'metrics', instance: '10.0.0.1:8080', job: 'shop/pods', namespace: 'shop', pod: 'web-1' }],
    ]);
  });
});
