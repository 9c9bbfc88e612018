import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from './objects.js';
import { resourceByName } from './resources.js';
import { KubeApiError } from './status.js';
import { ObjectStore, type StoreEvent } from './store.js';
import { pod } from './test-http.js';

const pods = resourceByName('pods');
if (pods === undefined) throw new Error('pods missing');

function apiError(fn: () => unknown): KubeApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof KubeApiError) return error;
    throw error;
  }
  throw new Error('expected a KubeApiError');
}

function names(items: readonly KubeObject[]): string[] {
  return items.map((o) => o.metadata.name ?? '');
}

describe('ObjectStore writes', () => {
  it('stamps uid, creationTimestamp, generation and a fresh resourceVersion on create', () => {
    const store = new ObjectStore({ now: () => new Date('2025-03-04T05:06:07.890Z') });
    const created = store.create(pod('shop', 'web-1'));
    expect(created.metadata).toMatchObject({ name: 'web-1', namespace: 'shop', generation: 1, creationTimestamp: '2025-03-04T05:06:07Z' });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.resourceVersion).toBe(String(store.resourceVersion));
  });

  it('keeps uid and creationTimestamp that the caller gives', () => {
    const store = new ObjectStore();
    const created = store.create({ ...pod('shop', 'x'), metadata: { name: 'x', namespace: 'shop', uid: 'u-1', creationTimestamp: '2020-01-01T00:00:00Z' } });
    expect(created.metadata).toMatchObject({ uid: 'u-1', creationTimestamp: '2020-01-01T00:00:00Z' });
  });

  it('gives every write the next revision of one global counter', () => {
    const store = new ObjectStore();
    const start = store.resourceVersion;
    store.create(pod('a', 'p'));
    store.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } });
    store.delete({ resource: 'pods', namespace: 'a', name: 'p' });
    expect(store.resourceVersion).toBe(start + 3);
  });

  it('rejects a duplicate with 409 AlreadyExists', () => {
    const store = new ObjectStore();
    store.create(pod('shop', 'web-1'));
    const error = apiError(() => store.create(pod('shop', 'web-1')));
    expect(error.status).toMatchObject({ code: 409, reason: 'AlreadyExists', message: 'pods "web-1" already exists', details: { name: 'web-1', kind: 'pods' } });
  });

  it('generates a name from generateName', () => {
    const store = new ObjectStore();
    const created = store.create({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-', namespace: 'shop' } });
    expect(created.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it.each([
    ['no name', { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'shop' } }, 422, 'metadata.name: Required value'],
    ['no namespace', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } }, 422, 'metadata.namespace: Required value'],
    ['an unknown kind', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', namespace: 'a' } }, 400, 'does not serve'],
  ])('rejects an object with %s', (_name, obj, code, message) => {
    const error = apiError(() => new ObjectStore().create(obj));
    expect(error.httpStatus).toBe(code);
    expect(error.message).toContain(message);
  });

  it('drops the namespace of a cluster-scoped object', () => {
    const created = new ObjectStore().create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', namespace: 'oops' } });
    expect(created.metadata.namespace).toBeUndefined();
  });

  it('updates with optimistic concurrency', () => {
    const store = new ObjectStore();
    const v1 = store.create(pod('shop', 'web-1'));
    const v2 = store.update({ ...v1, metadata: { ...v1.metadata, labels: { a: 'b' } } });
    expect(Number(v2.metadata.resourceVersion)).toBeGreaterThan(Number(v1.metadata.resourceVersion));
    expect(v2.metadata.uid).toBe(v1.metadata.uid);
    const stale = apiError(() => store.update({ ...v1, metadata: { ...v1.metadata, labels: { a: 'c' } } }));
    expect(stale.status).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on pods "web-1": the object has been modified; please apply your changes to the latest version and try again',
    });
  });

  it('updates unconditionally without a resourceVersion', () => {
    const store = new ObjectStore();
    store.create(pod('shop', 'web-1'));
    const updated = store.update({ ...pod('shop', 'web-1'), metadata: { name: 'web-1', namespace: 'shop', labels: { x: 'y' } } });
    expect(updated.metadata.labels).toEqual({ x: 'y' });
  });

  it('writes nothing for an update that changes nothing', () => {
    const store = new ObjectStore();
    const v1 = store.create(pod('shop', 'web-1'));
    const rv = store.resourceVersion;
    expect(store.update({ ...v1 })).toBe(v1);
    expect(store.resourceVersion).toBe(rv);
  });

  it('bumps generation only when spec changes', () => {
    const store = new ObjectStore();
    const v1 = store.create(pod('shop', 'web-1'));
    const labelled = store.update({ ...v1, metadata: { ...v1.metadata, labels: { a: 'b' } } });
    expect(labelled.metadata.generation).toBe(1);
    const respecced = store.update({ ...labelled, spec: { containers: [] } });
    expect(respecced.metadata.generation).toBe(2);
  });

  it('answers 404 for updates and deletes of missing objects, except where the resource creates on update', () => {
    const store = new ObjectStore();
    expect(apiError(() => store.update(pod('shop', 'nope'))).status).toMatchObject({ code: 404, message: 'pods "nope" not found' });
    expect(apiError(() => store.delete({ resource: 'pods', namespace: 'shop', name: 'nope' })).httpStatus).toBe(404);
    const lease = store.update({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'kube-system' } });
    expect(lease.metadata.generation).toBe(1);
  });

  it('names grouped resources with their group in messages', () => {
    const store = new ObjectStore();
    const error = apiError(() => store.delete({ resource: 'endpointslices', namespace: 'a', name: 'x' }));
    expect(error.status).toMatchObject({ message: 'endpointslices.discovery.k8s.io "x" not found', details: { group: 'discovery.k8s.io', kind: 'endpointslices' } });
  });

  it('deletes with preconditions and stamps the deletion revision on the final object', () => {
    const store = new ObjectStore();
    const created = store.create(pod('shop', 'web-1'));
    const wrongUid = apiError(() => store.delete({ resource: 'pods', namespace: 'shop', name: 'web-1' }, { uid: 'other' }));
    expect(wrongUid.status.message).toContain('Precondition failed: UID in precondition: other');
    const final = store.delete({ resource: 'pods', namespace: 'shop', name: 'web-1' }, { resourceVersion: created.metadata.resourceVersion ?? '' });
    expect(final.metadata.resourceVersion).toBe(String(store.resourceVersion));
    expect(store.get({ resource: 'pods', namespace: 'shop', name: 'web-1' })).toBeUndefined();
  });

  it('modifies through a function and refuses a rename', () => {
    const store = new ObjectStore();
    store.create(pod('shop', 'web-1'));
    const ref = { resource: 'pods', namespace: 'shop', name: 'web-1' };
    expect(store.modify(ref, (o) => ({ ...o, metadata: { ...o.metadata, labels: { m: '1' } } })).metadata.labels).toEqual({ m: '1' });
    expect(apiError(() => store.modify(ref, (o) => ({ ...o, metadata: { ...o.metadata, name: 'other' } }))).httpStatus).toBe(400);
  });

  it('tells listeners about every write, in order, before the write returns', () => {
    const store = new ObjectStore();
    const seen: StoreEvent[] = [];
    const unsubscribe = store.subscribe(pods, (e) => seen.push(e));
    const created = store.create(pod('shop', 'web-1'));
    store.update({ ...created, metadata: { ...created.metadata, labels: { a: 'b' } } });
    store.delete({ resource: 'pods', namespace: 'shop', name: 'web-1' });
    unsubscribe();
    store.create(pod('shop', 'web-2'));
    expect(seen.map((e) => [e.type, e.previous === undefined])).toEqual([
      ['ADDED', true],
      ['MODIFIED', false],
      ['DELETED', false],
    ]);
  });
});

describe('ObjectStore reads', () => {
  function seeded(): ObjectStore {
    const store = new ObjectStore();
    for (const [ns, name] of [['b', 'x'], ['a', 'z'], ['a', 'y'], ['a-b', 'q'], ['c', 'w']] as const) store.create(pod(ns, name));
    return store;
  }

  it('lists in namespace/name order, also within one namespace', () => {
    const store = seeded();
    expect(store.list('pods').map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['a-b/q', 'a/y', 'a/z', 'b/x', 'c/w']);
    expect(names(store.list('pods', 'a'))).toEqual(['y', 'z']);
    expect(store.count('pods')).toBe(5);
  });

  it('keeps order after a bulk load and later single writes', () => {
    const store = new ObjectStore();
    store.load([pod('n', 'c'), pod('n', 'a')]);
    store.create(pod('n', 'b'));
    expect(names(store.list('pods'))).toEqual(['a', 'b', 'c']);
  });

  it('pages: any object past a full page means more, and the remainder is counted', () => {
    const store = seeded();
    const first = store.select(pods, { prefix: '', filter: () => true, limit: 2, countRemaining: true });
    expect(names(first.items)).toEqual(['q', 'y']);
    expect(first).toMatchObject({ lastKey: 'a/y', hasMore: true, remaining: 3 });
    const last = store.select(pods, { prefix: '', startKey: 'b/x', filter: () => true, limit: 2 });
    expect(last).toMatchObject({ hasMore: false, lastKey: 'c/w' });
  });

  it('counts the remainder within a namespace, now and at an earlier revision', () => {
    const store = seeded();
    store.create(pod('a', 'zz'));
    const page = (atResourceVersion?: number) =>
      store.select(pods, { prefix: 'a/', filter: () => true, limit: 1, countRemaining: true, ...(atResourceVersion === undefined ? {} : { atResourceVersion }) });
    expect(page().remaining).toBe(2);
    const rv = store.resourceVersion;
    store.delete({ resource: 'pods', namespace: 'a', name: 'z' });
    expect(page(rv).remaining).toBe(2);
    expect(page().remaining).toBe(1);
  });

  it('reads an earlier revision from the history', () => {
    const store = seeded();
    const before = store.resourceVersion;
    store.delete({ resource: 'pods', namespace: 'a', name: 'y' });
    store.create(pod('a', 'new'));
    const z = store.get({ resource: 'pods', namespace: 'a', name: 'z' });
    if (z === undefined) throw new Error('z missing');
    store.update({ ...z, metadata: { ...z.metadata, labels: { changed: 'yes' } } });
    const past = store.select(pods, { prefix: 'a/', filter: () => true, atResourceVersion: before });
    expect(names(past.items)).toEqual(['y', 'z']);
    expect(past.items[1]?.metadata.labels).toEqual({});
    expect(names(store.select(pods, { prefix: 'a/', filter: () => true }).items)).toEqual(['new', 'z']);
  });

  it('expires revisions that left the history window', () => {
    const store = new ObjectStore({ historyWindow: 2 });
    store.create(pod('a', '1'));
    const early = store.resourceVersion;
    store.create(pod('a', '2'));
    store.create(pod('a', '3'));
    store.create(pod('a', '4'));
    expect(() => store.select(pods, { prefix: '', filter: () => true, atResourceVersion: early })).toThrow('The resourceVersion for the provided list is too old.');
    const error = apiError(() => store.eventsAfter(pods, early));
    expect(error.status).toMatchObject({ code: 410, reason: 'Expired', message: `too old resource version: ${early} (${early + 1})` });
    expect(store.eventsAfter(pods, early + 1).map((e) => e.object.metadata.name)).toEqual(['3', '4']);
  });

  it('has a per-resource history, so a quiet resource keeps its old revisions', () => {
    const store = new ObjectStore({ historyWindow: 2 });
    store.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    const early = store.resourceVersion;
    for (let i = 0; i < 5; i++) store.create(pod('a', String(i)));
    const nodes = resourceByName('nodes');
    if (nodes === undefined) throw new Error('nodes missing');
    expect(store.eventsAfter(nodes, early)).toEqual([]);
  });

  it('compacts: every older revision expires, the current one still works', () => {
    const store = seeded();
    const early = store.resourceVersion - 1;
    store.compact();
    expect(() => store.eventsAfter(pods, early)).toThrow('too old resource version');
    expect(store.eventsAfter(pods, store.resourceVersion)).toEqual([]);
  });

  it('clears every object without events but keeps counting revisions', () => {
    const store = seeded();
    const rv = store.resourceVersion;
    const seen: StoreEvent[] = [];
    store.subscribe(pods, (e) => seen.push(e));
    store.clear();
    expect(store.count('pods')).toBe(0);
    expect(seen).toEqual([]);
    expect(store.create(pod('a', 'again')).metadata.resourceVersion).toBe(String(rv + 1));
  });

  it('waits for a future revision, and gives up after the timeout', async () => {
    const store = new ObjectStore();
    const signal = new AbortController().signal;
    const target = store.resourceVersion + 1;
    const reached = store.waitFor(target, { timeoutMs: 1000, signal });
    store.create(pod('a', 'b'));
    await expect(reached).resolves.toBe(true);
    await expect(store.waitFor(store.resourceVersion + 5, { timeoutMs: 10, signal })).resolves.toBe(false);
  });

  it('rejects a non-positive history window', () => {
    expect(() => new ObjectStore({ historyWindow: 0 })).toThrow(RangeError);
  });
});
