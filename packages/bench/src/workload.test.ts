import { describe, expect, it } from '@jest/globals';
import { buildTarget, parseConfig, type PrometheusConfig } from '@promfleet/model';
import { clusterOptions, deadEndAddress, scrapeConfigText, typicalRoles, type BenchRole } from './workload.js';

function parsed(roles: readonly BenchRole[]): PrometheusConfig {
  const result = parseConfig(scrapeConfigText({ apiServer: 'http://127.0.0.1:6443', roles }), { file: 'bench.json' });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

function job(roles: readonly BenchRole[], index: number) {
  const j = parsed(roles).scrapeConfigs[index];
  if (j === undefined) throw new Error(`no job ${index}`);
  return j;
}

describe('clusterOptions', () => {
  it.each([
    [150_000, 5_000, 50],
    [10_000, 500, 4],
    [100, 10, 1],
    [0, 1, 1],
  ])('%d pods on %d nodes get %d application namespaces', (pods, nodes, namespaces) => {
    expect(clusterOptions({ pods, nodes }, 7)).toEqual({ pods, nodes, namespaces, servicesPerNamespace: 12, daemonSets: 1, seed: 7 });
  });
});

describe('scrapeConfigText', () => {
  it('is a configuration promfleet accepts, one job per role against the given API server', () => {
    const config = parsed(typicalRoles);
    expect(config.scrapeConfigs.map((j) => [j.jobName, j.kubernetesSdConfigs.map((sd) => [sd.role, sd.apiServer])])).toEqual([
      ['kubernetes-pods', [['pod', 'http://127.0.0.1:6443']]],
      ['kubernetes-service-endpoints', [['endpointslice', 'http://127.0.0.1:6443']]],
      ['kubernetes-nodes', [['node', 'http://127.0.0.1:6443']]],
    ]);
  });

  it('numbers the jobs of a repeated role', () => {
    expect(parsed(['endpointslice', 'endpointslice', 'node']).scrapeConfigs.map((j) => j.jobName)).toEqual([
      'kubernetes-service-endpoints-1',
      'kubernetes-service-endpoints-2',
      'kubernetes-nodes',
    ]);
  });

  const podMeta = (overrides: Record<string, string>) =>
    new Map(
      Object.entries({
        __address__: '10.0.3.7:8080',
        __meta_kubernetes_namespace: 'shop',
        __meta_kubernetes_pod_name: 'api-7d9f-x2x4q',
        __meta_kubernetes_pod_node_name: 'ip-10-128-0-4',
        __meta_kubernetes_pod_label_app_kubernetes_io_name: 'api',
        __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
        __meta_kubernetes_pod_annotation_prometheus_io_port: '9090',
        __meta_kubernetes_pod_annotation_prometheus_io_path: '/metrics',
        __meta_kubernetes_pod_container_port_name: 'metrics',
        ...overrides,
      }),
    );

  it('keeps an annotated pod once, on its metrics port, with the instance it was discovered at and a loopback address', () => {
    const result = buildTarget(job(typicalRoles, 0), podMeta({}), new Map());
    if (result.kind !== 'kept') throw new Error(`expected a kept target, got ${result.kind}`);
    expect(Object.fromEntries([...result.target.labels].filter(([name]) => !name.startsWith('__scrape')).sort())).toEqual({
      __address__: deadEndAddress,
      __metrics_path__: '/metrics',
      __scheme__: 'http',
      app_kubernetes_io_name: 'api',
      instance: '10.0.3.7:9090',
      job: 'kubernetes-pods',
      namespace: 'shop',
      node: 'ip-10-128-0-4',
      pod: 'api-7d9f-x2x4q',
    });
  });

  it.each([
    ['a pod not annotated for scraping', { __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'false' }],
    ['a port other than metrics', { __meta_kubernetes_pod_container_port_name: 'http' }],
  ])('drops %s', (_what, overrides) => {
    expect(buildTarget(job(typicalRoles, 0), podMeta(overrides), new Map()).kind).toBe('dropped');
  });

  it('scrapes a node through the API server proxy path, at the dead-end address', () => {
    const node = new Map([
      ['__address__', '10.128.0.5:10250'],
      ['__meta_kubernetes_node_name', 'ip-10-128-0-5'],
      ['__meta_kubernetes_node_label_topology_kubernetes_io_zone', 'eu-west-1a'],
    ]);
    const result = buildTarget(job(typicalRoles, 2), node, new Map());
    if (result.kind !== 'kept') throw new Error(`expected a kept target, got ${result.kind}`);
    expect(result.target.labels.get('__address__')).toBe(deadEndAddress);
    expect(result.target.labels.get('__metrics_path__')).toBe('/api/v1/nodes/ip-10-128-0-5/proxy/metrics');
    expect(result.target.labels.get('instance')).toBe('10.128.0.5:10250');
    expect(result.target.labels.get('topology_kubernetes_io_zone')).toBe('eu-west-1a');
  });
});
