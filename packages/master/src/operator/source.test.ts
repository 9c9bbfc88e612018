import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { buildTarget, labelsToObject, parseConfig, publicLabels, type ScrapeConfig, type TargetGroup } from '@promfleet/model';
import { promtoolCheckMetrics, startFakeApiServer, type FakeApiServer, type KubeObject } from '@promfleet/testkit';
import { ApiClient, ApiError, RateLimiter, type ApiRequestRecord } from '../discovery/kubernetes/client.js';
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

/** A client whose lists of `forbidden` resources answer 403, and whose GET of a `buggy` object throws a TypeError. */
class TroubledClient extends ApiClient {
  readonly forbidden = new Set<string>();
  readonly buggy = new Set<string>();
  forbiddenAnswers = 0;

  override list(pathAndQuery: string, options: Parameters<ApiClient['list']>[1]): ReturnType<ApiClient['list']> {
    if (this.forbidden.has(options.resource)) {
      this.forbiddenAnswers++;
      return Promise.reject(new ApiError(`${options.resource} is forbidden`, { status: 403 }));
    }
    return super.list(pathAndQuery, options);
  }

  override get(pathAndQuery: string, options: Parameters<ApiClient['get']>[1]): Promise<unknown> {
    if (this.buggy.has(pathAndQuery.slice(pathAndQuery.lastIndexOf('/') + 1))) return Promise.reject(new TypeError('cannot read hunter2'));
    return super.get(pathAndQuery, options);
  }
}

interface SourceOptions {
  readonly assetRefreshMs?: number;
  readonly registry?: Registry;
  readonly selection?: string;
  /** Resources whose lists answer 403 from the start. */
  readonly forbidden?: readonly string[];
  /** Objects whose GET throws a TypeError. */
  readonly buggy?: readonly string[];
}

function startSource(server: FakeApiServer, options: SourceOptions = {}) {
  const logs: { level: string; message: string; fields: Readonly<Record<string, string | number>> }[] = [];
  const log: OperatorLog = (level, message, fields = {}) => logs.push({ level, message, fields });
  const requests: ApiRequestRecord[] = [];
  const client = new TroubledClient({ server: server.url, requestOptions: () => Promise.resolve({}), userAgent: 'promfleet-master/test' }, new RateLimiter(100, 100), { onRequest: (r) => requests.push(r) });
  for (const r of options.forbidden ?? []) client.forbidden.add(r);
  for (const name of options.buggy ?? []) client.buggy.add(name);
  const source = new OperatorJobSource({
    client,
    selection: parseOperatorConfig(options.selection ?? allKinds, 'prom.yaml'),
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
  return { source, client, updates, latest, logs, requests, running, controller };
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

  it('treats a kind whose list is forbidden as empty, logs the missing rule once, and picks it up once granted', async () => {
    api = await startFakeApiServer();
    api.store.create(serviceMonitor('web', { selector: {}, endpoints: [{ port: 'http' }] }));
    api.store.create({ apiVersion: 'monitoring.coreos.com/v1alpha1', kind: 'ScrapeConfig', metadata: { name: 'static', namespace: 'shop' }, spec: { staticConfigs: [{ targets: ['a:9100'] }] } });
    const s = startSource(api, { forbidden: ['scrapeconfigs'] });
    await until(() => s.updates.length > 0, 'the first job list without ScrapeConfigs');
    expect(s.latest()).toEqual(['serviceMonitor/shop/web/0']);
    expect(s.source.kindStates()).toEqual({ ServiceMonitor: 'listed', PodMonitor: 'listed', Probe: 'listed', ScrapeConfig: 'forbidden' });
    await until(() => s.client.forbiddenAnswers >= 3, 'retries');
    expect(s.logs.filter((l) => l.message.includes('forbidden'))).toEqual([
      {
        level: 'warn',
        message:
          'operator: list/watch on monitoring.coreos.com scrapeconfigs is forbidden: grant it (deploy/operator/rbac.yaml) or leave ScrapeConfig out of --operator.config; no ScrapeConfig resources until then, retrying',
        fields: { kind: 'ScrapeConfig' },
      },
    ]);
    s.client.forbidden.delete('scrapeconfigs');
    await until(() => s.latest()?.length === 2, 'the ScrapeConfig once granted');
    expect(s.latest()).toEqual(['serviceMonitor/shop/web/0', 'scrapeConfig/shop/static']);
    expect(s.source.kindStates().ScrapeConfig).toBe('listed');
  });

  it('lists Namespaces only when a namespace selector needs their labels', async () => {
    api = await startFakeApiServer();
    api.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'web' } } });
    api.store.create(serviceMonitor('web', { selector: {}, endpoints: [{ port: 'http' }] }));
    const any = startSource(api, { forbidden: ['namespaces'] });
    await until(() => any.updates.length > 0, 'the jobs without Namespaces');
    expect(any.latest()).toEqual(['serviceMonitor/shop/web/0']);
    expect(any.requests.filter((r) => r.resource === 'namespaces')).toEqual([]);

    const labelled = startSource(api, { selection: 'serviceMonitorSelector: {}\nserviceMonitorNamespaceSelector: {matchLabels: {team: web}}', forbidden: ['namespaces'] });
    await until(() => labelled.logs.some((l) => l.message.startsWith('operator: list/watch on namespaces is forbidden')), 'the namespaces log');
    expect(labelled.updates).toEqual([]);
    labelled.client.forbidden.delete('namespaces');
    await until(() => labelled.updates.length > 0, 'the jobs once Namespaces are listed');
    expect(labelled.latest()).toEqual(['serviceMonitor/shop/web/0']);
  });

  it('rejects only the resource whose Secret read throws unexpectedly, and keeps running', async () => {
    api = await startFakeApiServer();
    api.store.create(secret('good', { token: 'a' }));
    api.store.create(secret('bad', { token: 'hunter2' }));
    api.store.create(serviceMonitor('ok', { selector: {}, endpoints: [{ port: 'http', bearerTokenSecret: { name: 'good', key: 'token' } }] }));
    api.store.create(serviceMonitor('bugged', { selector: {}, endpoints: [{ port: 'http', bearerTokenSecret: { name: 'bad', key: 'token' } }] }));
    const s = startSource(api, { buggy: ['bad'] });
    await until(() => s.updates.length > 0, 'the first job list');
    expect(s.latest()).toEqual(['serviceMonitor/shop/ok/0']);
    expect(s.source.rejected()).toEqual([
      { kind: 'ServiceMonitor', namespace: 'shop', name: 'bugged', reason: expect.stringMatching(/^internal error reading Secret shop\/bad: TypeError at .*\(a bug in promfleet, please report it\)$/), sinceUnixMs: expect.any(Number) },
    ]);
    expect(s.logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual(['operator: reading a Secret or ConfigMap failed unexpectedly: a bug, please report it']);
    expect(JSON.stringify(s.logs)).not.toContain('hunter2');
    s.controller.abort();
    await expect(s.running).resolves.toBeUndefined();
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
