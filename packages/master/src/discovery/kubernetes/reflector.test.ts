import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClient, RateLimiter } from './client.js';
import { slimPod, type SlimPod } from './objects.js';
import { kubeResources, Reflector, resourcePath, type RestartReason } from './reflector.js';

/** A scripted API server: each request is answered by the next handler; requests are recorded. */
async function scriptedServer(handlers: ((req: IncomingMessage, res: ServerResponse) => void)[]) {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const handler = handlers.shift();
    if (handler === undefined) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('');
      return; // hold any further watch open until the test ends
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const pod = (name: string, rv: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: rv },
  spec: { nodeName: 'n', containers: [{ name: 'c', image: 'i' }] },
  status: { phase: 'Running', podIP: '10.0.0.1', ...extra },
});
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const list = (rv: string, items: unknown[], cont?: string) => json({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: rv, ...(cont ? { continue: cont } : {}) }, items });
/** A watch that sends `events` and then closes normally (or stays open when `hold`). */
const watch = (events: unknown[], hold = false) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  for (const e of events) res.write(`${JSON.stringify(e)}\n`);
  if (!hold) res.end();
};

interface Harness {
  reflector: Reflector<SlimPod>;
  changes: string[];
  restarts: RestartReason[];
  bad: string[];
  synced: number;
  done: Promise<void>;
  stop: () => Promise<void>;
}

const servers: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function start(url: string, options: { inactivityTimeoutMs?: number; maxBackoffMs?: number } = {}): Harness {
  const controller = new AbortController();
  const h = { changes: [] as string[], restarts: [] as RestartReason[], bad: [] as string[], synced: 0 };
  const client = new ApiClient({ server: url, requestOptions: () => Promise.resolve({}), userAgent: 'promfleet-test' }, new RateLimiter(1000, 1000));
  const reflector = new Reflector<SlimPod>({
    client,
    resource: kubeResources.pods,
    convert: slimPod,
    initialBackoffMs: 5,
    maxBackoffMs: options.maxBackoffMs ?? 20,
    minWatchMs: 50,
    watchTimeoutSeconds: [300, 300],
    inactivityTimeoutMs: options.inactivityTimeoutMs ?? 60_000,
    random: () => 0.5,
    pageSize: 2,
    events: {
      onChange: (key, obj) => h.changes.push(`${obj === undefined ? 'delete' : 'set'} ${key}`),
      onRestart: (reason) => h.restarts.push(reason),
      onBadObject: (err) => h.bad.push(err.message),
      onSynced: () => h.synced++,
    },
  });
  const done = reflector.run(controller.signal);
  return { reflector, ...h, get synced() { return h.synced; }, done, stop: async () => { controller.abort(); await done; } };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('resourcePath', () => {
  it.each([
    ['pods', kubeResources.pods, undefined, '/api/v1/pods'],
    ['pods', kubeResources.pods, 'shop', '/api/v1/namespaces/shop/pods'],
    ['endpointslices', kubeResources.endpointslices, 'shop', '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices'],
    ['nodes', kubeResources.nodes, 'shop', '/api/v1/nodes'],
  ])('%s in namespace %s', (_name, resource, namespace, path) => {
    expect(resourcePath(resource, namespace)).toBe(path);
  });
});

describe('Reflector', () => {
  it('lists from the watch cache in pages, then watches from the list resourceVersion with bookmarks', async () => {
    const s = await scriptedServer([
      list('10', [pod('a', '5'), pod('b', '6')], 'tok'),
      list('10', [pod('c', '7')]),
      watch([{ type: 'ADDED', object: pod('d', '11') }, { type: 'MODIFIED', object: pod('a', '12') }, { type: 'DELETED', object: pod('b', '13') }, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '20' } } }], true),
    ]);
    servers.push(s);
    const h = start(s.url);
    await until(() => h.changes.length === 6, 'six changes');
    expect(h.changes).toEqual(['set ns/a', 'set ns/b', 'set ns/c', 'set ns/d', 'set ns/a', 'delete ns/b']);
    expect([...h.reflector.store.keys()].sort()).toEqual(['ns/a', 'ns/c', 'ns/d']);
    await until(() => h.reflector.resourceVersion === '20', 'the bookmark');
    expect(s.requests).toEqual([
      '/api/v1/pods?resourceVersion=0&limit=2',
      '/api/v1/pods?limit=2&continue=tok',
      '/api/v1/pods?watch=true&resourceVersion=10&allowWatchBookmarks=true&timeoutSeconds=300',
    ]);
    expect(h.synced).toBe(1);
    await h.stop();
  });

  it('resumes a closed watch from the last resourceVersion, without relisting', async () => {
    const s = await scriptedServer([list('10', [pod('a', '5')]), watch([{ type: 'ADDED', object: pod('b', '11') }, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } }])]);
    servers.push(s);
    const h = start(s.url);
    await until(() => s.requests.length === 3, 'the second watch');
    expect(s.requests[2]).toContain('watch=true&resourceVersion=15&');
    expect(h.restarts).toEqual(['closed']);
    await h.stop();
  });

  it('relists after 410 Gone from no older than what it saw, and reports only what changed', async () => {
    const s = await scriptedServer([
      list('10', [pod('a', '5'), pod('b', '6')]),
      watch([{ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 10 (50)' } }]),
      list('60', [pod('a', '5'), pod('c', '55')]),
    ]);
    servers.push(s);
    const h = start(s.url);
    await until(() => h.synced === 2, 'the relist');
    expect(h.restarts).toEqual(['expired']);
    expect(h.changes).toEqual(['set ns/a', 'set ns/b', 'delete ns/b', 'set ns/c']);
    expect(s.requests[2]).toBe('/api/v1/pods?resourceVersion=10&resourceVersionMatch=NotOlderThan&limit=2');
    await until(() => s.requests.length === 4, 'the watch after the relist');
    expect(s.requests[3]).toContain('resourceVersion=60');
    await h.stop();
  });

  it('backs off on errors, honouring Retry-After, and keeps its store', async () => {
    const s = await scriptedServer([
      list('10', [pod('a', '5')]),
      json({ kind: 'Status', code: 500, message: 'etcd is sad' }, 500),
      json({ kind: 'Status', code: 429, message: 'slow down' }, 429, { 'retry-after': '1' }),
    ]);
    servers.push(s);
    const h = start(s.url, { maxBackoffMs: 5_000 });
    const t0 = Date.now();
    await until(() => s.requests.length === 4, 'the third watch');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(h.restarts).toEqual(['error', 'error']);
    expect([...h.reflector.store.keys()]).toEqual(['ns/a']);
    await h.stop();
  });

  it('treats a watch that closes at once as an error, so a broken server sees no hot loop', async () => {
    const s = await scriptedServer([list('10', []), ...Array.from({ length: 50 }, () => watch([]))]);
    servers.push(s);
    const h = start(s.url);
    await new Promise((r) => setTimeout(r, 300));
    // Backoff 5, 10, 20, 20, … ms (drawn from the upper half): at most ~25 attempts in 300 ms, never thousands.
    expect(s.requests.length).toBeLessThan(30);
    expect(h.restarts.every((r) => r === 'error')).toBe(true);
    await h.stop();
  });

  it('restarts a watch that has gone silent', async () => {
    const s = await scriptedServer([list('10', []), watch([], true)]);
    servers.push(s);
    const h = start(s.url, { inactivityTimeoutMs: 100 });
    await until(() => h.restarts.includes('inactive'), 'an inactivity restart');
    await until(() => s.requests.length >= 3, 'a new watch');
    expect(s.requests[2]).toContain('resourceVersion=10');
    await h.stop();
  });

  it('skips objects it cannot read and keeps the last good version of one that turns bad', async () => {
    const s = await scriptedServer([
      list('10', [pod('a', '5'), { metadata: { name: 'bad', namespace: 'ns' }, spec: { containers: 'x' } }]),
      watch([{ type: 'MODIFIED', object: { ...pod('a', '11'), spec: { containers: 7 } } }, { type: 'ADDED', object: { kind: 'Pod' } }], true),
    ]);
    servers.push(s);
    const h = start(s.url);
    await until(() => h.bad.length === 3, 'three bad objects');
    expect(h.bad[0]).toContain('bad Pod ns/bad');
    expect(h.bad[2]).toContain('ADDED event without metadata.name');
    expect([...h.reflector.store.keys()]).toEqual(['ns/a']);
    expect(h.changes).toEqual(['set ns/a']);
    await h.stop();
  });

  it('stops promptly when aborted, even inside a backoff', async () => {
    const s = await scriptedServer([json({ message: 'down' }, 503, { 'retry-after': '3600' })]);
    servers.push(s);
    const h = start(s.url, { maxBackoffMs: 60_000 });
    await until(() => h.restarts.length === 1, 'the first failure');
    const t0 = Date.now();
    await h.stop();
    expect(Date.now() - t0).toBeLessThan(500);
  });

  it('caps Retry-After at the maximum backoff, so a server asking for days cannot stall discovery', async () => {
    const s = await scriptedServer([json({ message: 'later' }, 429, { 'retry-after': '86400' }), list('10', [pod('a', '5')])]);
    servers.push(s);
    const h = start(s.url, { maxBackoffMs: 100 });
    await until(() => h.reflector.store.size === 1, 'the list after the capped wait');
    await h.stop();
  });

  it('falls back to the watch cache when the version it had seen is gone too', async () => {
    const gone = json({ kind: 'Status', code: 410, reason: 'Expired', message: 'too old' }, 410);
    const s = await scriptedServer([
      list('10', [pod('a', '5')]),
      watch([{ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version' } }]),
      gone,
      list('99', [pod('a', '5')]),
    ]);
    servers.push(s);
    const h = start(s.url);
    await until(() => s.requests.length >= 4, 'the fallback list');
    expect(s.requests.slice(2, 4)).toEqual(['/api/v1/pods?resourceVersion=10&resourceVersionMatch=NotOlderThan&limit=2', '/api/v1/pods?resourceVersion=0&limit=2']);
    await h.stop();
  });
});

describe('RateLimiter', () => {
  it('lets a burst through, then one request per 1/qps', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const clock = {
      now: () => now,
      sleep: (ms: number) => {
        sleeps.push(ms);
        now += ms;
        return Promise.resolve();
      },
    };
    const limiter = new RateLimiter(10, 3, clock);
    const signal = new AbortController().signal;
    const times: number[] = [];
    await Promise.all(Array.from({ length: 6 }, () => limiter.take(signal).then(() => times.push(now))));
    // Three at once, then three more each 100 ms (of the limiter's clock) after the one before.
    expect(times).toEqual([0, 0, 0, 100, 200, 300]);
    expect(sleeps).toEqual([100, 100, 100]);
    // Time saved up refills the bucket, up to the burst.
    now += 10_000;
    await Promise.all(Array.from({ length: 4 }, () => limiter.take(signal)));
    expect(sleeps).toEqual([100, 100, 100, 100]);
  });

  it('rejects nonsense limits', () => {
    expect(() => new RateLimiter(0, 1)).toThrow(RangeError);
  });
});
