import { describe, expect, it } from '@jest/globals';
import { startFakeApiServer } from './server.js';
import { openWatch, pod, send } from './test-http.js';

describe('request accounting', () => {
  it('counts requests by user agent, verb and resource, also at /debug/requests', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('a', 'p'));
    await send(api.url, { path: '/api/v1/pods', userAgent: 'master/1' });
    await send(api.url, { path: '/api/v1/pods?limit=1', userAgent: 'master/1' });
    await send(api.url, { path: '/api/v1/namespaces/a/pods/p', userAgent: 'master/1' });
    await send(api.url, { method: 'POST', path: '/api/v1/namespaces/a/pods', body: pod('a', 'q'), userAgent: 'kubectl' });
    await send(api.url, { method: 'PUT', path: '/api/v1/namespaces/a/pods/q/status', body: pod('a', 'q'), userAgent: 'kubectl' });
    await send(api.url, { path: '/version', userAgent: 'kubectl' });
    const w = await openWatch(api.url, '/api/v1/nodes?watch=true', 'master/1');
    const expected = [
      { userAgent: 'kubectl', verb: 'get', resource: '/version', count: 1 },
      { userAgent: 'kubectl', verb: 'create', resource: 'pods', count: 1 },
      { userAgent: 'kubectl', verb: 'update', resource: 'pods/status', count: 1 },
      { userAgent: 'master/1', verb: 'watch', resource: 'nodes', count: 1 },
      { userAgent: 'master/1', verb: 'get', resource: 'pods', count: 1 },
      { userAgent: 'master/1', verb: 'list', resource: 'pods', count: 2 },
    ];
    expect(api.requests()).toEqual(expected);
    const debug = (await send(api.url, { path: '/debug/requests' })).json as { requests: unknown; watches: unknown[] };
    expect(debug.requests).toEqual(expected);
    expect(debug.watches).toMatchObject([{ userAgent: 'master/1', resource: 'nodes' }]);
    api.resetRequests();
    expect(api.requests()).toEqual([]);
    w.close();
  });
});

describe('request faults', () => {
  it('fails the next N matching requests with 500, leaving other requests alone', async () => {
    await using api = await startFakeApiServer();
    api.faults.failNext({ count: 2, status: 500, verb: 'list', resource: 'pods' });
    expect((await send(api.url, { path: '/api/v1/nodes' })).status).toBe(200);
    const failed = await send(api.url, { path: '/api/v1/pods' });
    expect(failed.status).toBe(500);
    expect(failed.json).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
    expect((await send(api.url, { path: '/api/v1/namespaces/a/pods' })).status).toBe(500);
    expect((await send(api.url, { path: '/api/v1/pods' })).status).toBe(200);
  });

  it('answers 429 with Retry-After, as API Priority and Fairness does', async () => {
    await using api = await startFakeApiServer();
    api.faults.failNext({ count: 1, status: 429, retryAfterSeconds: 7 });
    const r = await send(api.url, { path: '/api/v1/pods' });
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBe('7');
    expect(r.json).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 7 } });
  });

  it('fails watches before they start', async () => {
    await using api = await startFakeApiServer();
    api.faults.failNext({ count: 1, status: 500, verb: 'watch' });
    expect((await send(api.url, { path: '/api/v1/pods?watch=true' })).status).toBe(500);
  });

  it('removes a fault when it is disposed, and clears them all', async () => {
    await using api = await startFakeApiServer();
    const fault = api.faults.failNext({ count: 5, status: 500 });
    expect((await send(api.url, { path: '/api/v1/pods' })).status).toBe(500);
    fault[Symbol.dispose]();
    expect((await send(api.url, { path: '/api/v1/pods' })).status).toBe(200);
    api.faults.failNext({ count: 5, status: 500 });
    api.faults.clear();
    expect((await send(api.url, { path: '/api/v1/pods' })).status).toBe(200);
  });

  it('adds latency to matching requests', async () => {
    await using api = await startFakeApiServer();
    const slow = api.faults.addLatency({ delayMs: 150, resource: 'pods' });
    const start = Date.now();
    await send(api.url, { path: '/api/v1/pods' });
    expect(Date.now() - start).toBeGreaterThanOrEqual(140);
    const other = Date.now();
    await send(api.url, { path: '/api/v1/nodes' });
    expect(Date.now() - other).toBeLessThan(140);
    slow[Symbol.dispose]();
    const after = Date.now();
    await send(api.url, { path: '/api/v1/pods' });
    expect(Date.now() - after).toBeLessThan(140);
  });

  it('rejects a non-positive count', async () => {
    await using api = await startFakeApiServer();
    expect(() => api.faults.failNext({ count: 0, status: 500 })).toThrow(RangeError);
  });
});

describe('watch faults', () => {
  it('drops open watches cleanly, by resource', async () => {
    await using api = await startFakeApiServer();
    const pods = await openWatch(api.url, '/api/v1/pods?watch=true');
    const nodes = await openWatch(api.url, '/api/v1/nodes?watch=true');
    expect(api.faults.dropWatches({ resource: 'pods' })).toBe(1);
    expect(await pods.ended).toBe('end');
    expect(api.watches().map((w) => w.resource)).toEqual(['nodes']);
    expect(api.faults.dropWatches()).toBe(1);
    expect(await nodes.ended).toBe('end');
  });

  it('resets a watch mid-stream', async () => {
    await using api = await startFakeApiServer();
    const w = await openWatch(api.url, '/api/v1/pods?watch=true');
    api.store.create(pod('a', 'p'));
    await w.waitFor((l) => l.type === 'ADDED');
    expect(api.faults.resetWatches()).toBe(1);
    expect(await w.ended).toBe('error');
  });

  it('expires resourceVersions: a watch from before gets ERROR 410', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('a', 'p'));
    const rv = api.store.resourceVersion;
    api.store.create(pod('a', 'q'));
    api.faults.expireResourceVersions();
    const w = await openWatch(api.url, `/api/v1/pods?watch=true&resourceVersion=${rv}`);
    await w.ended;
    expect(w.lines[0]).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });
  });
});

describe('stop, start and restart', () => {
  it('stops and starts on the same port, keeping the objects', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('a', 'p'));
    const url = api.url;
    const w = await openWatch(api.url, '/api/v1/pods?watch=true');
    await api.stop();
    expect(await w.ended).toBe('end');
    await expect(send(url, { path: '/api/v1/pods' })).rejects.toThrow(/ECONNREFUSED/);
    await api.start();
    expect(api.url).toBe(url);
    expect((await send(url, { path: '/api/v1/pods' })).json).toMatchObject({ items: [{ metadata: { name: 'p' } }] });
  });

  it('restarts like a real API server: objects stay, the watch history does not', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('a', 'p'));
    const rv = api.store.resourceVersion;
    api.store.create(pod('a', 'q'));
    await api.restart();
    const old = await openWatch(api.url, `/api/v1/pods?watch=true&resourceVersion=${rv}`);
    await old.ended;
    expect(old.lines[0]).toMatchObject({ type: 'ERROR', object: { code: 410 } });
    const current = await openWatch(api.url, `/api/v1/pods?watch=true&resourceVersion=${api.store.resourceVersion}`);
    api.store.create(pod('a', 'r'));
    expect((await current.waitFor(() => true)).map((l) => l.object.metadata?.name)).toEqual(['r']);
    current.close();
  });

  it('restarts keeping the history, or wiped, when asked', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('a', 'p'));
    const rv = api.store.resourceVersion;
    api.store.create(pod('a', 'q'));
    await api.restart({ keepHistory: true, downtimeMs: 20 });
    const replay = await openWatch(api.url, `/api/v1/pods?watch=true&resourceVersion=${rv}`);
    expect((await replay.waitFor(() => true)).map((l) => l.object.metadata?.name)).toEqual(['q']);
    replay.close();
    await api.restart({ wipe: true });
    expect((await send(api.url, { path: '/api/v1/pods' })).json).toMatchObject({ items: [] });
  });
});
