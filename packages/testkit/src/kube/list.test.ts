import { describe, expect, it } from '@jest/globals';
import { startFakeApiServer } from './server.js';
import { pod, send } from './test-http.js';

interface ListBody {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: { kind?: string; apiVersion?: string; metadata: { name: string; namespace?: string } }[];
}

function names(body: unknown): string[] {
  return (body as ListBody).items.map((i) => (i.metadata.namespace === undefined ? i.metadata.name : `${i.metadata.namespace}/${i.metadata.name}`));
}

async function seeded(count = 5, options: { resourceVersionWaitMs?: number; historyWindow?: number } = {}) {
  const api = await startFakeApiServer(options);
  for (let i = 0; i < count; i++) api.store.create(pod(i % 2 === 0 ? 'even' : 'odd', `p${i}`, { index: String(i), parity: i % 2 === 0 ? 'even' : 'odd' }));
  return api;
}

describe('list', () => {
  it('answers a typed list at the current revision, sorted, items without kind and apiVersion', async () => {
    await using api = await seeded();
    const r = await send(api.url, { path: '/api/v1/pods' });
    expect(r.status).toBe(200);
    const body = r.json as ListBody;
    expect(body).toMatchObject({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(api.store.resourceVersion) } });
    expect(names(body)).toEqual(['even/p0', 'even/p2', 'even/p4', 'odd/p1', 'odd/p3']);
    expect(body.items[0]).not.toHaveProperty('kind');
    expect(body.items[0]).not.toHaveProperty('apiVersion');
  });

  it('lists one namespace, grouped resources and cluster-scoped ones', async () => {
    await using api = await seeded();
    api.store.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    api.store.create({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's', namespace: 'odd' }, endpoints: [] });
    expect(names((await send(api.url, { path: '/api/v1/namespaces/odd/pods' })).json)).toEqual(['odd/p1', 'odd/p3']);
    expect(names((await send(api.url, { path: '/api/v1/nodes' })).json)).toEqual(['n1']);
    const slices = await send(api.url, { path: '/apis/discovery.k8s.io/v1/namespaces/odd/endpointslices' });
    expect(slices.json).toMatchObject({ kind: 'EndpointSliceList', apiVersion: 'discovery.k8s.io/v1' });
    expect(names(slices.json)).toEqual(['odd/s']);
  });

  it('pages with limit and continue from one consistent snapshot', async () => {
    await using api = await seeded();
    const first = (await send(api.url, { path: '/api/v1/pods?limit=2' })).json as ListBody;
    expect(names(first)).toEqual(['even/p0', 'even/p2']);
    expect(first.metadata.remainingItemCount).toBe(3);
    const listRv = first.metadata.resourceVersion;
    api.store.delete({ resource: 'pods', namespace: 'odd', name: 'p3' });
    api.store.create(pod('even', 'p3'));
    const collected = [...names(first)];
    let token = first.metadata.continue;
    while (token !== undefined) {
      const page = (await send(api.url, { path: `/api/v1/pods?limit=2&continue=${encodeURIComponent(token)}` })).json as ListBody;
      expect(page.metadata.resourceVersion).toBe(listRv);
      collected.push(...names(page));
      token = page.metadata.continue;
    }
    expect(collected).toEqual(['even/p0', 'even/p2', 'even/p4', 'odd/p1', 'odd/p3']);
  });

  it('ignores limit for resourceVersion=0, as the watch cache does', async () => {
    await using api = await seeded();
    const body = (await send(api.url, { path: '/api/v1/pods?resourceVersion=0&limit=2' })).json as ListBody;
    expect(body.items).toHaveLength(5);
    expect(body.metadata.continue).toBeUndefined();
  });

  it('filters by label and field selectors, and then gives no remaining count', async () => {
    await using api = await seeded();
    expect(names((await send(api.url, { path: '/api/v1/pods?labelSelector=parity%3Dodd' })).json)).toEqual(['odd/p1', 'odd/p3']);
    expect(names((await send(api.url, { path: '/api/v1/pods?labelSelector=index%20in%20(0,3),parity!%3Dodd' })).json)).toEqual(['even/p0']);
    expect(names((await send(api.url, { path: '/api/v1/pods?fieldSelector=metadata.name%3Dp4' })).json)).toEqual(['even/p4']);
    const page = (await send(api.url, { path: '/api/v1/pods?labelSelector=parity&limit=1' })).json as ListBody;
    expect(page.metadata.continue).toBeDefined();
    expect(page.metadata.remainingItemCount).toBeUndefined();
  });

  it.each([
    ['a bad label selector', '/api/v1/pods?labelSelector=a%20in%20b', 400, 'BadRequest'],
    ['an unsupported field', '/api/v1/pods?fieldSelector=spec.foo%3Dx', 400, 'BadRequest'],
    ['continue with a resourceVersion', '/api/v1/pods?continue=abc&resourceVersion=5', 400, 'BadRequest'],
    ['a garbage continue token', '/api/v1/pods?continue=not-a-token', 400, 'BadRequest'],
    ['resourceVersionMatch without resourceVersion', '/api/v1/pods?resourceVersionMatch=Exact', 422, 'Invalid'],
    ['Exact with resourceVersion 0', '/api/v1/pods?resourceVersionMatch=Exact&resourceVersion=0', 422, 'Invalid'],
    ['sendInitialEvents on a list', '/api/v1/pods?sendInitialEvents=true', 422, 'Invalid'],
    ['a bad limit', '/api/v1/pods?limit=-1', 400, 'BadRequest'],
  ])('rejects %s', async (_name, path, code, reason) => {
    await using api = await seeded(1);
    const r = await send(api.url, { path });
    expect(r.status).toBe(code);
    expect(r.json).toMatchObject({ kind: 'Status', status: 'Failure', reason, code });
  });

  it('answers an expired continue token with 410 and an inconsistent continuation', async () => {
    await using api = await seeded();
    const first = (await send(api.url, { path: '/api/v1/pods?limit=2' })).json as ListBody;
    api.store.create(pod('odd', 'p9'));
    api.faults.expireResourceVersions();
    const expired = await send(api.url, { path: `/api/v1/pods?limit=2&continue=${encodeURIComponent(first.metadata.continue ?? '')}` });
    expect(expired.status).toBe(410);
    const status = expired.json as { reason: string; message: string; metadata: { continue?: string } };
    expect(status.reason).toBe('Expired');
    expect(status.message).toMatch(/^The provided continue parameter is too old to display a consistent list result\./);
    const rest: string[] = [];
    let token = status.metadata.continue;
    while (token !== undefined) {
      const page = (await send(api.url, { path: `/api/v1/pods?limit=2&continue=${encodeURIComponent(token)}` })).json as ListBody;
      expect(page.metadata.resourceVersion).toBe(String(api.store.resourceVersion));
      rest.push(...names(page));
      token = page.metadata.continue;
    }
    expect(rest).toEqual(['even/p4', 'odd/p1', 'odd/p3', 'odd/p9']);
  });

  it('reads an exact earlier revision, and 410s one older than the history', async () => {
    await using api = await seeded(3, { historyWindow: 3 });
    const before = api.store.resourceVersion;
    api.store.delete({ resource: 'pods', namespace: 'even', name: 'p0' });
    const exact = await send(api.url, { path: `/api/v1/pods?resourceVersion=${before}&resourceVersionMatch=Exact` });
    expect(exact.json).toMatchObject({ metadata: { resourceVersion: String(before) } });
    expect(names(exact.json)).toEqual(['even/p0', 'even/p2', 'odd/p1']);
    for (let i = 0; i < 3; i++) api.store.create(pod('x', `n${i}`));
    const tooOld = await send(api.url, { path: `/api/v1/pods?resourceVersion=${before}&resourceVersionMatch=Exact` });
    expect(tooOld.status).toBe(410);
    expect(tooOld.json).toMatchObject({ reason: 'Expired', message: 'The resourceVersion for the provided list is too old.' });
  });

  it('serves resourceVersion=N with limit (legacy exact) at N, and NotOlderThan at the current revision', async () => {
    await using api = await seeded(2);
    const n = api.store.resourceVersion;
    api.store.create(pod('odd', 'late'));
    const legacy = (await send(api.url, { path: `/api/v1/pods?resourceVersion=${n}&limit=10` })).json as ListBody;
    expect(legacy.metadata.resourceVersion).toBe(String(n));
    expect(legacy.items).toHaveLength(2);
    const notOlder = (await send(api.url, { path: `/api/v1/pods?resourceVersion=${n}&resourceVersionMatch=NotOlderThan` })).json as ListBody;
    expect(notOlder.metadata.resourceVersion).toBe(String(api.store.resourceVersion));
    expect(notOlder.items).toHaveLength(3);
  });

  it('waits for a future resourceVersion, then answers 504 Too large resource version', async () => {
    await using api = await seeded(1, { resourceVersionWaitMs: 50 });
    const future = api.store.resourceVersion + 10;
    const r = await send(api.url, { path: `/api/v1/pods?resourceVersion=${future}&resourceVersionMatch=NotOlderThan` });
    expect(r.status).toBe(504);
    expect(r.json).toMatchObject({
      reason: 'Timeout',
      message: `Too large resource version: ${future}, current: ${api.store.resourceVersion}`,
      details: { causes: [{ reason: 'ResourceVersionTooLarge' }], retryAfterSeconds: 1 },
    });
  });

  it('answers once a future resourceVersion is reached while it waits', async () => {
    await using api = await seeded(1, { resourceVersionWaitMs: 2000 });
    const next = api.store.resourceVersion + 1;
    const pending = send(api.url, { path: `/api/v1/pods?resourceVersion=${next}&resourceVersionMatch=NotOlderThan` });
    setTimeout(() => api.store.create(pod('odd', 'arrives')), 20);
    const r = await pending;
    expect(r.status).toBe(200);
    expect((r.json as ListBody).metadata.resourceVersion).toBe(String(next));
  });
});

describe('get and non-resource paths', () => {
  it('gets one object with kind and apiVersion, and 404s a missing one', async () => {
    await using api = await seeded(1);
    expect((await send(api.url, { path: '/api/v1/namespaces/even/pods/p0' })).json).toMatchObject({ kind: 'Pod', apiVersion: 'v1', metadata: { name: 'p0' } });
    const missing = await send(api.url, { path: '/api/v1/namespaces/even/pods/nope' });
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'pods' },
      code: 404,
    });
  });

  it.each([
    ['/api/v1/widgets'],
    ['/api/v1/namespaces/a/nodes'],
    ['/apis/apps/v1/namespaces/a/deployments'],
    ['/api/v1/pods/x'],
    ['/apis/discovery.k8s.io/v2/endpointslices'],
    ['/nope'],
  ])('answers %s with 404 NotFound', async (path) => {
    await using api = await seeded(0);
    const r = await send(api.url, { path });
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ kind: 'Status', reason: 'NotFound' });
  });

  it('serves /version, health checks and discovery documents', async () => {
    await using api = await seeded(0);
    expect((await send(api.url, { path: '/version' })).json).toMatchObject({ major: '1', gitVersion: expect.stringMatching(/^v1\./) as unknown });
    expect((await send(api.url, { path: '/healthz' })).text).toBe('ok');
    expect((await send(api.url, { path: '/api' })).json).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const core = (await send(api.url, { path: '/api/v1' })).json as { resources: { name: string; namespaced: boolean }[] };
    expect(core.resources.map((r) => r.name)).toEqual(['pods', 'pods/status', 'services', 'services/status', 'endpoints', 'nodes', 'nodes/status', 'namespaces', 'namespaces/status', 'secrets', 'configmaps']);
    const groups = (await send(api.url, { path: '/apis' })).json as { groups: { name: string }[] };
    expect(groups.groups.map((g) => g.name)).toEqual(['discovery.k8s.io', 'networking.k8s.io', 'apps', 'batch', 'coordination.k8s.io', 'monitoring.coreos.com']);
    expect((await send(api.url, { path: '/apis/apps/v1' })).json).toMatchObject({ groupVersion: 'apps/v1', resources: [{ name: 'replicasets', kind: 'ReplicaSet' }, { name: 'replicasets/status' }] });
    expect((await send(api.url, { path: '/apis/coordination.k8s.io/v1' })).json).toMatchObject({ groupVersion: 'coordination.k8s.io/v1', resources: [{ name: 'leases', kind: 'Lease' }] });
    expect((await send(api.url, { path: '/apis/networking.k8s.io' })).json).toMatchObject({ kind: 'APIGroup', preferredVersion: { groupVersion: 'networking.k8s.io/v1' } });
    expect((await send(api.url, { path: '/apis/monitoring.coreos.com' })).json).toMatchObject({
      versions: [{ groupVersion: 'monitoring.coreos.com/v1' }, { groupVersion: 'monitoring.coreos.com/v1alpha1' }],
      preferredVersion: { groupVersion: 'monitoring.coreos.com/v1' },
    });
    const alpha = (await send(api.url, { path: '/apis/monitoring.coreos.com/v1alpha1' })).json as { resources: { name: string }[] };
    expect(alpha.resources.map((r) => r.name)).toEqual(['scrapeconfigs', 'scrapeconfigs/status']);
  });

  it('serves prometheus-operator resources, and answers 404 for those left out until installed', async () => {
    await using api = await startFakeApiServer({ withoutResources: ['probes'] });
    api.store.create({ apiVersion: 'monitoring.coreos.com/v1alpha1', kind: 'ScrapeConfig', metadata: { name: 'sc', namespace: 'ops' }, spec: {} });
    const list = await send(api.url, { path: '/apis/monitoring.coreos.com/v1alpha1/namespaces/ops/scrapeconfigs' });
    expect(list.json).toMatchObject({ kind: 'ScrapeConfigList', items: [{ metadata: { name: 'sc' } }] });
    expect((await send(api.url, { path: '/apis/monitoring.coreos.com/v1/scrapeconfigs' })).status).toBe(404);
    expect((await send(api.url, { path: '/apis/monitoring.coreos.com/v1/probes' })).status).toBe(404);
    api.installResource('probes');
    expect((await send(api.url, { path: '/apis/monitoring.coreos.com/v1/probes' })).status).toBe(200);
  });
});
