import { describe, expect, it } from '@jest/globals';
import { startFakeApiServer } from './server.js';
import { openWatch, pod, send } from './test-http.js';

interface Obj {
  metadata: { name: string; uid: string; resourceVersion: string; generation: number; labels?: Record<string, string> };
  spec?: unknown;
  status?: unknown;
}

const podsPath = '/api/v1/namespaces/shop/pods';

describe('create (POST)', () => {
  it('creates with server-set metadata and the pod strategy status', async () => {
    await using api = await startFakeApiServer();
    const body = { ...pod('shop', 'web-1'), metadata: { name: 'web-1', uid: 'client-uid', generation: 7 }, status: { phase: 'Running' } };
    const r = await send(api.url, { method: 'POST', path: podsPath, body });
    expect(r.status).toBe(201);
    const created = r.json as Obj & { metadata: { namespace: string } };
    expect(created.metadata).toMatchObject({ name: 'web-1', namespace: 'shop', generation: 1, resourceVersion: String(api.store.resourceVersion) });
    expect(created.metadata.uid).not.toBe('client-uid');
    expect(created.status).toEqual({ phase: 'Pending' });
  });

  it('keeps the status a node registers with', async () => {
    await using api = await startFakeApiServer();
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] } };
    const r = await send(api.url, { method: 'POST', path: '/api/v1/nodes', body: node });
    expect((r.json as Obj).status).toEqual(node.status);
  });

  it('generates names from generateName and fills kind and namespace from the request', async () => {
    await using api = await startFakeApiServer();
    const r = await send(api.url, { method: 'POST', path: podsPath, body: { metadata: { generateName: 'web-' }, spec: {} } });
    expect(r.json).toMatchObject({ kind: 'Pod', apiVersion: 'v1', metadata: { namespace: 'shop', name: expect.stringMatching(/^web-.{5}$/) as unknown } });
  });

  it.each([
    ['a taken name', pod('shop', 'dup'), 409, 'AlreadyExists', 'pods "dup" already exists'],
    ['another namespace', pod('other', 'x'), 400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'],
    ['a resourceVersion', { ...pod('shop', 'x'), metadata: { name: 'x', resourceVersion: '5' } }, 500, 'InternalError', 'resourceVersion should not be set on objects to be created'],
    ['another kind', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } }, 400, 'BadRequest', 'the object provided is unrecognized'],
    ['no name', { metadata: {} }, 422, 'Invalid', 'Pod "" is invalid: metadata.name: Required value: name or generateName is required'],
    ['labels that are not strings', { metadata: { name: 'x', labels: { a: 1 } } }, 400, 'BadRequest', 'metadata.labels must map strings to strings'],
  ])('rejects %s', async (_name, body, code, reason, message) => {
    await using api = await startFakeApiServer();
    api.store.create(pod('shop', 'dup'));
    const r = await send(api.url, { method: 'POST', path: podsPath, body });
    expect(r.status).toBe(code);
    expect(r.json).toMatchObject({ kind: 'Status', reason });
    expect((r.json as { message: string }).message).toContain(message);
  });

  it.each([
    ['malformed JSON', '{"metadata":', 'application/json', 400],
    ['YAML', 'metadata: {}', 'application/yaml', 415],
  ])('rejects a body of %s', async (_name, body, contentType, code) => {
    await using api = await startFakeApiServer();
    expect((await send(api.url, { method: 'POST', path: podsPath, body, contentType })).status).toBe(code);
  });

  it('refuses POST to a cluster-wide path of a namespaced resource', async () => {
    await using api = await startFakeApiServer();
    expect((await send(api.url, { method: 'POST', path: '/api/v1/pods', body: pod('shop', 'x') })).status).toBe(405);
  });
});

describe('update (PUT)', () => {
  it('updates with optimistic concurrency: the current resourceVersion wins, a stale one is 409 Conflict', async () => {
    await using api = await startFakeApiServer();
    const created = api.store.create(pod('shop', 'web-1'));
    const changed = { ...created, metadata: { ...created.metadata, labels: { v: '2' } } };
    const ok = await send(api.url, { method: 'PUT', path: `${podsPath}/web-1`, body: changed });
    expect(ok.status).toBe(200);
    expect((ok.json as Obj).metadata.labels).toEqual({ v: '2' });
    const stale = await send(api.url, { method: 'PUT', path: `${podsPath}/web-1`, body: changed });
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({ reason: 'Conflict', details: { name: 'web-1', kind: 'pods' } });
  });

  it('keeps status on the main resource and changes only status through /status', async () => {
    await using api = await startFakeApiServer();
    const created = api.store.create({ ...pod('shop', 'web-1'), status: { phase: 'Pending' } });
    const main = await send(api.url, { method: 'PUT', path: `${podsPath}/web-1`, body: { ...created, metadata: { ...created.metadata, labels: { a: 'b' } }, status: { phase: 'Running' } } });
    expect(main.json).toMatchObject({ metadata: { labels: { a: 'b' } }, status: { phase: 'Pending' } });
    const current = main.json as Obj;
    const status = await send(api.url, {
      method: 'PUT',
      path: `${podsPath}/web-1/status`,
      body: { ...current, metadata: { ...current.metadata, labels: { ignored: 'yes' } }, status: { phase: 'Running' } },
    });
    expect(status.json).toMatchObject({ metadata: { labels: { a: 'b' } }, status: { phase: 'Running' } });
  });

  it.each([
    ['a name that differs from the URL', `${podsPath}/other`, 400],
    ['a missing object', `${podsPath}/web-1`, 404],
  ])('rejects %s', async (_name, path, code) => {
    await using api = await startFakeApiServer();
    expect((await send(api.url, { method: 'PUT', path, body: pod('shop', 'web-1') })).status).toBe(code);
  });

  it('creates on update where the resource allows it', async () => {
    await using api = await startFakeApiServer();
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'leader' }, spec: { holderIdentity: 'a' } };
    const r = await send(api.url, { method: 'PUT', path: '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/leader', body: lease });
    expect(r.status).toBe(201);
  });
});

describe('patch (PATCH)', () => {
  it.each([
    ['application/merge-patch+json', { metadata: { labels: { tier: 'web' } } }],
    ['application/strategic-merge-patch+json', { metadata: { labels: { tier: 'web' } } }],
    ['application/json-patch+json', [{ op: 'add', path: '/metadata/labels/tier', value: 'web' }]],
  ])('applies %s', async (contentType, body) => {
    await using api = await startFakeApiServer();
    api.store.create(pod('shop', 'web-1', { app: 'x' }));
    const r = await send(api.url, { method: 'PATCH', path: `${podsPath}/web-1`, body, contentType });
    expect(r.status).toBe(200);
    expect((r.json as Obj).metadata.labels).toEqual({ app: 'x', tier: 'web' });
  });

  it('treats a resourceVersion in the patch as a precondition', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('shop', 'web-1'));
    const body = { metadata: { resourceVersion: '1', labels: { a: 'b' } } };
    const r = await send(api.url, { method: 'PATCH', path: `${podsPath}/web-1`, body, contentType: 'application/merge-patch+json' });
    expect(r.status).toBe(409);
  });

  it.each([
    ['an apply patch', 'application/apply-patch+yaml', '{}', 415],
    ['a plain JSON body', 'application/json', '{}', 415],
    ['a failing JSON patch test', 'application/json-patch+json', [{ op: 'test', path: '/metadata/name', value: 'other' }], 422],
    ['a rename', 'application/merge-patch+json', { metadata: { name: 'other' } }, 400],
  ])('rejects %s', async (_name, contentType, body, code) => {
    await using api = await startFakeApiServer();
    api.store.create(pod('shop', 'web-1'));
    expect((await send(api.url, { method: 'PATCH', path: `${podsPath}/web-1`, body, contentType })).status).toBe(code);
  });

  it('answers 404 for a missing object', async () => {
    await using api = await startFakeApiServer();
    expect((await send(api.url, { method: 'PATCH', path: `${podsPath}/nope`, body: {}, contentType: 'application/merge-patch+json' })).status).toBe(404);
  });
});

describe('delete (DELETE)', () => {
  it('returns the deleted pod, and a Success status for resources that do not return the object', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('shop', 'web-1'));
    const slice = api.store.create({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's', namespace: 'shop' }, endpoints: [] });
    expect((await send(api.url, { method: 'DELETE', path: `${podsPath}/web-1` })).json).toMatchObject({ kind: 'Pod', metadata: { name: 'web-1' } });
    const status = await send(api.url, { method: 'DELETE', path: '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/s' });
    expect(status.json).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 's', group: 'discovery.k8s.io', kind: 'endpointslices', uid: slice.metadata.uid },
    });
  });

  it('checks preconditions from DeleteOptions', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('shop', 'web-1'));
    const body = { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: '1' } };
    const r = await send(api.url, { method: 'DELETE', path: `${podsPath}/web-1`, body });
    expect(r.status).toBe(409);
    expect((r.json as { message: string }).message).toContain('Precondition failed: ResourceVersion in precondition: 1');
  });

  it.each([
    ['a collection', podsPath, 405],
    ['a status subresource', `${podsPath}/web-1/status`, 405],
    ['an unknown subresource', `${podsPath}/web-1/log`, 404],
  ])('does not delete %s', async (_name, path, code) => {
    await using api = await startFakeApiServer();
    api.store.create(pod('shop', 'web-1'));
    expect((await send(api.url, { method: 'DELETE', path })).status).toBe(code);
    expect(api.store.count('pods')).toBe(1);
  });
});

it('delivers API writes to watches like store writes', async () => {
  await using api = await startFakeApiServer();
  const w = await openWatch(api.url, `${podsPath}?watch=true&resourceVersion=${api.store.resourceVersion}`);
  await send(api.url, { method: 'POST', path: podsPath, body: pod('shop', 'w') });
  await send(api.url, { method: 'PATCH', path: `${podsPath}/w`, body: { metadata: { labels: { a: 'b' } } }, contentType: 'application/merge-patch+json' });
  await send(api.url, { method: 'DELETE', path: `${podsPath}/w` });
  expect((await w.waitFor(() => true, { count: 3 })).map((l) => l.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
  w.close();
});
