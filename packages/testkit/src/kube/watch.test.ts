import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from './objects.js';
import { startFakeApiServer, type FakeApiServer } from './server.js';
import { openWatch, pod, send, type WatchLine } from './test-http.js';

const summary = (l: WatchLine): string => `${l.type} ${l.object.metadata?.name ?? ''}`;

function relabel(api: FakeApiServer, namespace: string, name: string, labels: Record<string, string>): KubeObject {
  const current = api.store.get({ resource: 'pods', namespace, name });
  if (current === undefined) throw new Error(`${namespace}/${name} missing`);
  return api.store.update({ ...current, metadata: { ...current.metadata, labels } });
}

describe('watch', () => {
  it('starts with the current objects as ADDED, then streams changes with their resourceVersions', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('a', 'old'));
    const w = await openWatch(api.url, '/api/v1/pods?watch=true');
    expect(w.status).toBe(200);
    await w.waitFor((l) => l.type === 'ADDED');
    const created = api.store.create(pod('a', 'new'));
    const updated = relabel(api, 'a', 'new', { v: '2' });
    const deleted = api.store.delete({ resource: 'pods', namespace: 'a', name: 'old' });
    const lines = await w.waitFor(() => true, { count: 4 });
    expect(lines.map(summary)).toEqual(['ADDED old', 'ADDED new', 'MODIFIED new', 'DELETED old']);
    expect(lines.slice(1).map((l) => l.object.metadata?.resourceVersion)).toEqual([
      created.metadata.resourceVersion,
      updated.metadata.resourceVersion,
      deleted.metadata.resourceVersion,
    ]);
    expect(lines[0]?.object).toMatchObject({ kind: 'Pod', apiVersion: 'v1' });
    w.close();
  });

  it('replays every event after resourceVersion N, and only those', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('a', 'before'));
    const n = api.store.resourceVersion;
    api.store.create(pod('a', 'after-1'));
    api.store.delete({ resource: 'pods', namespace: 'a', name: 'before' });
    const w = await openWatch(api.url, `/api/v1/pods?watch=1&resourceVersion=${n}`);
    expect((await w.waitFor(() => true, { count: 2 })).map(summary)).toEqual(['ADDED after-1', 'DELETED before']);
    w.close();
  });

  it('answers a resourceVersion older than the history with an ERROR 410 event, then ends', async () => {
    await using api = await startFakeApiServer({ historyWindow: 2 });
    const early = api.store.resourceVersion;
    for (let i = 0; i < 4; i++) api.store.create(pod('a', `p${i}`));
    const w = await openWatch(api.url, `/api/v1/pods?watch=true&resourceVersion=${early}`);
    expect(w.status).toBe(200);
    expect(await w.ended).toBe('end');
    expect(w.lines).toEqual([
      {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${early} (${api.store.resourceVersion - 2})`,
          reason: 'Expired',
          code: 410,
        },
      },
    ]);
  });

  it('sends bookmarks with only kind, apiVersion and the current resourceVersion when allowed', async () => {
    await using api = await startFakeApiServer({ bookmarkIntervalMs: 30 });
    const w = await openWatch(api.url, '/api/v1/namespaces/a/pods?watch=true&allowWatchBookmarks=true&resourceVersion=1');
    api.store.create(pod('elsewhere', 'x'));
    const [bookmark] = await w.waitFor((l) => l.type === 'BOOKMARK');
    expect(bookmark?.object).toEqual({ kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(api.store.resourceVersion) } });
    const plain = await openWatch(api.url, '/api/v1/namespaces/a/pods?watch=true&resourceVersion=1');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(plain.lines).toEqual([]);
    w.close();
    plain.close();
  });

  it('ends the stream cleanly after timeoutSeconds', async () => {
    await using api = await startFakeApiServer();
    const started = Date.now();
    const w = await openWatch(api.url, '/api/v1/pods?watch=true&timeoutSeconds=1');
    expect(await w.ended).toBe('end');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(api.watches()).toEqual([]);
  });

  it('applies label selectors: starting to match is ADDED, stopping is DELETED with the old object', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('a', 'web', { app: 'web' }));
    api.store.create(pod('a', 'db', { app: 'db' }));
    const w = await openWatch(api.url, '/api/v1/pods?watch=true&labelSelector=app%3Dweb');
    await w.waitFor((l) => l.type === 'ADDED');
    relabel(api, 'a', 'db', { app: 'web' });
    const moved = relabel(api, 'a', 'web', { app: 'api' });
    relabel(api, 'a', 'db', { app: 'db' });
    const lines = await w.waitFor(() => true, { count: 4 });
    expect(lines.map(summary)).toEqual(['ADDED web', 'ADDED db', 'DELETED web', 'DELETED db']);
    const gone = lines[2]?.object as { metadata: { labels: Record<string, string>; resourceVersion: string } };
    expect(gone.metadata.labels).toEqual({ app: 'web' });
    expect(gone.metadata.resourceVersion).toBe(moved.metadata.resourceVersion);
    w.close();
  });

  it('applies field selectors and the namespace of the path', async () => {
    await using api = await startFakeApiServer();
    const w = await openWatch(api.url, '/api/v1/namespaces/a/pods?watch=true&fieldSelector=spec.nodeName%3Dnode-1');
    const onNode = (ns: string, name: string, node: string): KubeObject => ({ ...pod(ns, name), spec: { nodeName: node } });
    api.store.create(onNode('a', 'here', 'node-1'));
    api.store.create(onNode('a', 'other-node', 'node-2'));
    api.store.create(onNode('b', 'other-namespace', 'node-1'));
    api.store.create(onNode('a', 'here-too', 'node-1'));
    expect((await w.waitFor(() => true, { count: 2 })).map(summary)).toEqual(['ADDED here', 'ADDED here-too']);
    w.close();
  });

  it('streams initial events closed by an initial-events-end bookmark (sendInitialEvents)', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('a', 'x'));
    const rv = api.store.resourceVersion;
    const w = await openWatch(api.url, '/api/v1/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true');
    const lines = await w.waitFor(() => true, { count: 2 });
    expect(lines.map((l) => l.type)).toEqual(['ADDED', 'BOOKMARK']);
    expect(lines[1]?.object.metadata).toEqual({ resourceVersion: String(rv), annotations: { 'k8s.io/initial-events-end': 'true' } });
    w.close();
    const bad = await send(api.url, { path: '/api/v1/pods?watch=true&sendInitialEvents=true' });
    expect(bad.status).toBe(422);
  });

  it('watches one object through its own URL and through the legacy /watch/ prefix', async () => {
    await using api = await startFakeApiServer();
    const single = await openWatch(api.url, '/api/v1/namespaces/a/pods/one?watch=true');
    const legacy = await openWatch(api.url, '/api/v1/watch/namespaces/a/pods');
    api.store.create(pod('a', 'two'));
    api.store.create(pod('a', 'one'));
    expect((await single.waitFor(() => true)).map(summary)).toEqual(['ADDED one']);
    expect((await legacy.waitFor(() => true, { count: 2 })).map(summary)).toEqual(['ADDED two', 'ADDED one']);
    single.close();
    legacy.close();
  });

  it('lists open watches with their client and parameters, and forgets closed ones', async () => {
    await using api = await startFakeApiServer();
    const w = await openWatch(api.url, '/apis/discovery.k8s.io/v1/endpointslices?watch=true&labelSelector=a%3Db&resourceVersion=0', 'reflector/1.0');
    expect(api.watches()).toMatchObject([{ userAgent: 'reflector/1.0', resource: 'endpointslices', labelSelector: 'a=b', resourceVersion: '0' }]);
    w.close();
    await w.ended;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(api.watches()).toEqual([]);
  });

  it('closes a watch whose client does not keep up', async () => {
    await using api = await startFakeApiServer({ maxPendingWatchEvents: 5 });
    const w = await openWatch(api.url, '/api/v1/pods?watch=true&resourceVersion=1');
    const big = 'x'.repeat(256 * 1024);
    for (let i = 0; i < 200 && api.watches().length > 0; i++) {
      api.store.create({ ...pod('a', `p${i}`), metadata: { name: `p${i}`, namespace: 'a', annotations: { big } } });
    }
    expect(api.watches()).toEqual([]);
    w.close();
  });
});
