import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@promfleet/model';
import { startFakeApiServer, type FakeApiServer, type KubeObject } from '@promfleet/testkit';
import { startMaster, type RunningMaster } from './master.js';
import { parseOperatorConfig } from './operator/selection.js';

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function cluster(): Promise<{ api: FakeApiServer; kubeconfig: string }> {
  const api = await startFakeApiServer();
  const dir = await mkdtemp(join(tmpdir(), 'promfleet-operator-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, api.kubeconfigYaml());
  cleanups.push(async () => {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });
  api.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop' } } });
  api.store.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'metrics', port: 9100, protocol: 'TCP' }] } });
  for (const [name, ip] of [['web-1', '10.0.0.1'], ['web-2', '10.0.0.2']] as const) {
    api.store.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'shop', uid: name, labels: { app: 'web' } },
      spec: { nodeName: 'n1', containers: [{ name: 'app', image: 'app:1', ports: [{ name: 'metrics', containerPort: 8080, protocol: 'TCP' }] }] },
      status: { phase: 'Running', podIP: ip, hostIP: '192.168.0.1' },
    });
  }
  api.store.create({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'web', namespace: 'shop' },
    subsets: [
      {
        addresses: [
          { ip: '10.0.0.1', targetRef: { kind: 'Pod', name: 'web-1', namespace: 'shop' } },
          { ip: '10.0.0.2', targetRef: { kind: 'Pod', name: 'web-2', namespace: 'shop' } },
        ],
        ports: [{ name: 'metrics', port: 8080, protocol: 'TCP' }],
      },
    ],
  });
  return { api, kubeconfig };
}

function serviceMonitor(name: string, endpoint: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name, namespace: 'shop', labels: { release: 'prod' } },
    spec: { selector: { matchLabels: { app: 'web' } }, endpoints: [{ port: 'metrics', ...endpoint }] },
  };
}

async function master(kubeconfig: string, log: string[]): Promise<RunningMaster> {
  const parsed = parseConfig('global: {scrape_interval: 15s}\n', { file: 'prometheus.yml' });
  if (!parsed.ok) throw new Error('bad config');
  const running = await startMaster({
    config: parsed.config,
    kubeconfig,
    operator: parseOperatorConfig('serviceMonitorSelector: {matchLabels: {release: prod}}\nserviceMonitorNamespaceSelector: {}\n', 'prometheus-resource.yaml'),
    webListenAddress: '127.0.0.1:0',
    grpcListenAddress: '127.0.0.1:0',
    discoveryThrottleMs: 10,
    fleet: { masterId: 'm', softwareVersion: 'test', startupGraceMs: 0, startupWaitMs: 0 },
    log: (level, message, fields) => log.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`),
  });
  cleanups.push(() => running.stop());
  return running;
}

const targetsOf = (m: RunningMaster) =>
  [...(m.fleet?.targets() ?? [])].map((t) => `${t.job} ${t.labels.get('instance') ?? ''} ${t.labels.get('service') ?? ''}`).sort();

const gauge = async (m: RunningMaster, series: string) => {
  const line = (await m.registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('a master with --operator.config', () => {
  it('turns selected ServiceMonitors into jobs and targets as they come and go, and reports the one it cannot turn into a job', async () => {
    const { api, kubeconfig } = await cluster();
    api.store.create(serviceMonitor('web', {}));
    api.store.create({ ...serviceMonitor('ignored', {}), metadata: { name: 'ignored', namespace: 'shop', labels: { release: 'canary' } } });
    const log: string[] = [];
    const m = await master(kubeconfig, log);

    await until(() => targetsOf(m).length === 2, 'the ServiceMonitor’s targets');
    expect(targetsOf(m)).toEqual(['serviceMonitor/shop/web/0 10.0.0.1:8080 web', 'serviceMonitor/shop/web/0 10.0.0.2:8080 web']);

    // A Secret that does not exist: the resource is reported and skipped; the other one keeps its targets.
    api.store.create(serviceMonitor('broken', { basicAuth: { username: { name: 'missing', key: 'user' }, password: { name: 'missing', key: 'password' } } }));
    await until(async () => (await gauge(m, 'promfleet_operator_resources{kind="ServiceMonitor",state="rejected"}')) === 1, 'the rejection to be counted');
    expect(log.some((l) => l.startsWith('warn') && l.includes('broken'))).toBe(true);
    expect(targetsOf(m)).toHaveLength(2);
    // The status API lists it, with each kind's list state.
    const body = (await (await fetch(`http://127.0.0.1:${m.webPort}/api/v1/operator/rejected`)).json()) as { data: { rejected: { kind: string; name: string }[]; kinds?: unknown } };
    expect(body.data.rejected.map((r) => `${r.kind} ${r.name}`)).toEqual(['ServiceMonitor broken']);
    expect(body.data.kinds).toBeDefined();

    api.store.delete({ resource: 'servicemonitors', namespace: 'shop', name: 'web' });
    await until(() => targetsOf(m).length === 0, 'the deleted ServiceMonitor’s targets to go');
  });
});
