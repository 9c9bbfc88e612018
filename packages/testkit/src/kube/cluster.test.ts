import { describe, expect, it } from '@jest/globals';
import { generateCluster, maxEndpointsPerSlice } from './cluster.js';
import { ObjectStore } from './store.js';

describe('generateCluster', () => {
  const small = { nodes: 4, podsPerNode: 10, namespaces: 2, servicesPerNamespace: 3, seed: 7 } as const;

  it('is deterministic for a seed and differs across seeds', () => {
    expect(JSON.stringify(generateCluster(small).objects())).toBe(JSON.stringify(generateCluster(small).objects()));
    expect(JSON.stringify(generateCluster({ ...small, seed: 8 }).objects())).not.toBe(JSON.stringify(generateCluster(small).objects()));
  });

  it('has the requested sizes', () => {
    const c = generateCluster(small);
    expect(c.nodes).toHaveLength(4);
    expect(c.pods).toHaveLength(40);
    expect(c.namespaces.map((n) => n.metadata.name)).toEqual(['default', 'kube-system', 'shop', 'payments']);
    expect(c.services).toHaveLength(1 + 2 * 3);
    expect(c.workloads.filter((w) => w.kind === 'DaemonSet')).toHaveLength(1);
    expect(c.pods.filter((p) => p.metadata.ownerReferences?.[0]?.kind === 'DaemonSet')).toHaveLength(4);
    expect(generateCluster({ nodes: 4, pods: 13, namespaces: 2, servicesPerNamespace: 3, seed: 7, daemonSets: 0 }).pods).toHaveLength(13);
  });

  it('builds nodes with addresses, the kubelet port and topology labels', () => {
    const [node] = generateCluster(small).nodes;
    expect(node).toMatchObject({
      kind: 'Node',
      metadata: { labels: { 'kubernetes.io/os': 'linux', 'topology.kubernetes.io/zone': 'eu-west-1a' } },
      status: {
        addresses: [{ type: 'InternalIP', address: '10.128.0.1' }, { type: 'Hostname' }],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      },
    });
  });

  it('builds running, ready pods owned by a ReplicaSet, with scrape annotations and container ports', () => {
    const c = generateCluster(small);
    const p = c.pods.find((x) => x.metadata.ownerReferences?.[0]?.kind === 'ReplicaSet');
    if (p === undefined) throw new Error('no ReplicaSet pod');
    const owner = p.metadata.ownerReferences?.[0];
    expect(p.metadata.name).toMatch(new RegExp(`^${owner?.name ?? ''}-[a-z0-9]{5}$`));
    expect(p.metadata.labels?.['pod-template-hash']).toBe(owner?.name.split('-').at(-1));
    expect(p.metadata.labels?.['app.kubernetes.io/name']).toBeDefined();
    expect(p.metadata.annotations).toMatchObject({ 'prometheus.io/port': '9090' });
    expect(p).toMatchObject({
      spec: { containers: [{ ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }] }] },
      status: { phase: 'Running', podIP: expect.stringMatching(/^10\.0\./) as unknown, hostIP: expect.stringMatching(/^10\.128\./) as unknown },
    });
    const ready = (p['status'] as { conditions: { type: string; status: string }[] }).conditions.find((x) => x.type === 'Ready');
    expect(ready?.status).toBe('True');
  });

  it('gives every pod a unique IP, and DaemonSet pods their node IP', () => {
    const c = generateCluster({ ...small, podsPerNode: 50 });
    const ips = c.pods.filter((p) => p.metadata.ownerReferences?.[0]?.kind === 'ReplicaSet').map((p) => (p['status'] as { podIP: string }).podIP);
    expect(new Set(ips).size).toBe(ips.length);
    const ds = c.pods.find((p) => p.metadata.ownerReferences?.[0]?.kind === 'DaemonSet');
    const status = ds?.['status'] as { podIP: string; hostIP: string };
    expect(status.podIP).toBe(status.hostIP);
  });

  it('has services that select their pods, and EndpointSlices of at most 100 endpoints covering every pod', () => {
    const c = generateCluster({ nodes: 20, podsPerNode: 30, namespaces: 1, servicesPerNamespace: 2, seed: 1 });
    for (const svc of c.services) {
      const selector = (svc['spec'] as { selector: Record<string, string> }).selector;
      const selected = c.pods.filter(
        (p) => p.metadata.namespace === svc.metadata.namespace && Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v),
      );
      const slices = c.endpointSlices.filter(
        (s) => s.metadata.namespace === svc.metadata.namespace && s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name,
      );
      const endpoints = slices.flatMap((s) => s['endpoints'] as { targetRef: { uid: string } }[]);
      expect(slices.every((s) => (s['endpoints'] as unknown[]).length <= maxEndpointsPerSlice)).toBe(true);
      expect(endpoints.map((e) => e.targetRef.uid).sort()).toEqual(selected.map((p) => p.metadata.uid).sort());
    }
    expect(Math.max(...c.endpointSlices.map((s) => (s['endpoints'] as unknown[]).length))).toBe(maxEndpointsPerSlice);
  });

  it('loads into a store', () => {
    const c = generateCluster(small);
    const store = new ObjectStore();
    expect(store.load(c.objects())).toBe(c.objects().length);
    expect(store.count('pods')).toBe(40);
  });

  it.each([
    ['negative nodes', { ...small, nodes: -1 }, 'nodes must be a non-negative integer'],
    ['pods without deployments', { nodes: 2, pods: 5, namespaces: 0, servicesPerNamespace: 0, seed: 1 }, 'no Deployment to belong to'],
    ['pods without nodes', { nodes: 0, pods: 5, namespaces: 1, servicesPerNamespace: 1, seed: 1 }, 'at least one node'],
    ['an overfull node', { nodes: 1, pods: 300, namespaces: 1, servicesPerNamespace: 1, seed: 1 }, 'more than 253 pods'],
  ])('rejects %s', (_name, options, message) => {
    expect(() => generateCluster(options)).toThrow(message);
  });
});
