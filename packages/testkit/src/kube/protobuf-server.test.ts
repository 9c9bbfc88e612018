import { request as httpRequest } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import { startFakeApiServer, type FakeApiServer } from './server.js';
import { pod, send } from './test-http.js';
import { all, frames, one, str, unwrap, watchEvent } from './test-protobuf.js';

const pb = 'application/vnd.kubernetes.protobuf';
const accept = `${pb}, application/json`;

/** The names of a protobuf PodList's items, and its ListMeta. */
function readPodList(bytes: Buffer): { names: string[]; resourceVersion: string; continueToken: string; remaining: number | undefined } {
  const list = unwrap(bytes);
  expect(list).toMatchObject({ apiVersion: 'v1', kind: 'PodList', contentEncoding: '', contentType: '' });
  const listMeta = one(list.raw, 1).bytes;
  const remaining = all(listMeta, 4)[0];
  return {
    names: all(list.raw, 2).map((item) => {
      const meta = one(item.bytes, 1).bytes;
      return `${str(meta, 3)}/${str(meta, 1)}`;
    }),
    resourceVersion: str(listMeta, 2),
    continueToken: str(listMeta, 3),
    remaining: remaining === undefined ? undefined : Number(remaining.int),
  };
}

/** A raw watch: its bytes so far, and a way to wait for a number of frames or the end. */
class RawWatch {
  chunks: Buffer[] = [];
  contentType = '';
  status = 0;
  ended = false;
  readonly #waiters: (() => void)[] = [];
  close: () => void = () => undefined;

  static open(api: FakeApiServer, path: string, userAgent = 'pb-test'): Promise<RawWatch> {
    const w = new RawWatch();
    return new Promise((resolve, reject) => {
      const req = httpRequest(new URL(path, api.url), { agent: false, headers: { Accept: accept, 'User-Agent': userAgent } }, (res) => {
        w.status = res.statusCode ?? 0;
        w.contentType = res.headers['content-type'] ?? '';
        res.on('data', (c: Buffer) => {
          w.chunks.push(c);
          w.#wake();
        });
        res.on('end', () => {
          w.ended = true;
          w.#wake();
        });
        res.on('error', () => undefined);
        resolve(w);
      });
      w.close = () => req.destroy();
      req.on('error', reject);
      req.end();
    });
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  events(): ReturnType<typeof watchEvent>[] {
    return frames(this.bytes).map(watchEvent);
  }

  async until(done: (w: RawWatch) => boolean): Promise<void> {
    while (!done(this)) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

describe('protobuf over HTTP', () => {
  it('lists in protobuf page by page, with continue and remainingItemCount as in JSON', async () => {
    await using api = await startFakeApiServer();
    for (let i = 0; i < 5; i++) api.store.create(pod('ns', `p${i}`));
    const first = await send(api.url, { path: '/api/v1/pods?limit=2', accept });
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe(pb);
    const page1 = readPodList(first.bytes);
    expect(page1).toMatchObject({ names: ['ns/p0', 'ns/p1'], resourceVersion: String(api.store.resourceVersion), remaining: 3 });
    const json = (await send(api.url, { path: '/api/v1/pods?limit=2' })).json as { metadata: { continue: string } };
    expect(page1.continueToken).toBe(json.metadata.continue);
    const second = readPodList((await send(api.url, { path: `/api/v1/pods?limit=2&continue=${encodeURIComponent(page1.continueToken)}`, accept })).bytes);
    expect(second.names).toEqual(['ns/p2', 'ns/p3']);
    const all0 = readPodList((await send(api.url, { path: '/api/v1/pods?limit=2&resourceVersion=0', accept })).bytes);
    expect(all0).toMatchObject({ names: ['ns/p0', 'ns/p1', 'ns/p2', 'ns/p3', 'ns/p4'], continueToken: '', remaining: undefined });
  });

  it('streams a large list in several writes with the same bytes as one', async () => {
    await using api = await startFakeApiServer({ cacheListEncodings: true });
    for (let i = 0; i < 600; i++) api.store.create({ ...pod('big', `p${String(i).padStart(4, '0')}`), metadata: { name: `p${String(i).padStart(4, '0')}`, namespace: 'big', annotations: { note: 'x'.repeat(200) } } });
    const cold = await send(api.url, { path: '/api/v1/pods', accept });
    expect(cold.bytes.length).toBeGreaterThan(128 * 1024);
    expect(readPodList(cold.bytes).names).toHaveLength(600);
    api.warmListEncodings(['pods'], ['json', 'protobuf']);
    expect((await send(api.url, { path: '/api/v1/pods', accept })).bytes.equals(cold.bytes)).toBe(true);
    expect(api.traffic().find((r) => r.verb === 'list')).toMatchObject({ requests: 2, responseBytes: 2 * cold.bytes.length });
  });

  it('gzips a list over 128 KiB when asked and configured to, as kube-apiserver; smaller ones and others go plain', async () => {
    await using api = await startFakeApiServer({ gzipLists: true });
    for (let i = 0; i < 600; i++) api.store.create({ ...pod('big', `p${i}`), metadata: { name: `p${i}`, namespace: 'big', annotations: { note: `${i}`.repeat(100) } } });
    api.store.create(pod('small', 'only'));
    let received = 0;
    for (const type of [accept, 'application/json']) {
      const plain = await send(api.url, { path: '/api/v1/namespaces/big/pods', accept: type });
      const zipped = await send(api.url, { path: '/api/v1/namespaces/big/pods', accept: type, acceptEncoding: 'gzip, deflate' });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(zipped.headers['content-encoding']).toBe('gzip');
      // Buffer.equals: a deep equality of 300 KB byte by byte is slow.
      expect(gunzipSync(zipped.bytes).equals(plain.bytes)).toBe(true);
      expect(zipped.bytes.length).toBeLessThan(plain.bytes.length / 4);
      const small = await send(api.url, { path: '/api/v1/namespaces/small/pods', accept: type, acceptEncoding: 'gzip' });
      expect(small.headers['content-encoding']).toBeUndefined();
      received += plain.bytes.length + zipped.bytes.length + small.bytes.length;
    }
    // Bytes are counted as sent: the compressed sizes for the compressed answers.
    expect(api.traffic().filter((r) => r.verb === 'list')).toEqual([expect.objectContaining({ requests: 6, responseBytes: received })]);
  });

  it('gets, creates and deletes with protobuf answers', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('ns', 'a'));
    const got = await send(api.url, { path: '/api/v1/namespaces/ns/pods/a', accept });
    expect(got.headers['content-type']).toBe(pb);
    expect(unwrap(got.bytes)).toMatchObject({ apiVersion: 'v1', kind: 'Pod' });
    const created = await send(api.url, { method: 'POST', path: '/api/v1/namespaces/ns/pods', body: pod('ns', 'b'), accept });
    expect(created.status).toBe(201);
    expect(str(one(unwrap(created.bytes).raw, 1).bytes, 1)).toBe('b');
    const removed = await send(api.url, { method: 'DELETE', path: '/apis/discovery.k8s.io/v1/namespaces/ns/endpointslices/none', accept });
    expect(removed.status).toBe(404);
  });

  it('answers errors as a protobuf Status: 404, 410 on an expired continue, 500 and 429 from faults', async () => {
    await using api = await startFakeApiServer();
    for (let i = 0; i < 3; i++) api.store.create(pod('ns', `p${i}`));
    const missing = await send(api.url, { path: '/api/v1/namespaces/ns/pods/nope', accept });
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toBe(pb);
    const notFound = unwrap(missing.bytes);
    expect(notFound).toMatchObject({ apiVersion: 'v1', kind: 'Status' });
    expect([str(notFound.raw, 2), str(notFound.raw, 3), str(notFound.raw, 4), Number(one(notFound.raw, 6).int)]).toEqual(['Failure', 'pods "nope" not found', 'NotFound', 404]);
    const details = one(notFound.raw, 5).bytes;
    expect([str(details, 1), str(details, 3)]).toEqual(['nope', 'pods']);

    const page = readPodList((await send(api.url, { path: '/api/v1/pods?limit=1', accept })).bytes);
    api.store.create(pod('ns', 'later'));
    api.faults.expireResourceVersions();
    const gone = await send(api.url, { path: `/api/v1/pods?limit=1&continue=${encodeURIComponent(page.continueToken)}`, accept });
    expect(gone.status).toBe(410);
    const expired = unwrap(gone.bytes).raw;
    expect([str(expired, 4), Number(one(expired, 6).int)]).toEqual(['Expired', 410]);
    expect(str(one(expired, 1).bytes, 3)).not.toBe('');

    api.faults.failNext({ count: 1, status: 500 });
    const failed = await send(api.url, { path: '/api/v1/pods', accept });
    expect([failed.status, failed.headers['content-type'], str(unwrap(failed.bytes).raw, 4)]).toEqual([500, pb, 'InternalError']);
    api.faults.failNext({ count: 1, status: 429, retryAfterSeconds: 2 });
    const slow = await send(api.url, { path: '/api/v1/pods', accept });
    expect([slow.status, slow.headers['retry-after'], str(unwrap(slow.bytes).raw, 4)]).toEqual([429, '2', 'TooManyRequests']);
    expect(Number(one(one(unwrap(slow.bytes).raw, 5).bytes, 5).int)).toBe(2);
  });

  it('watches in length-prefixed WatchEvent frames, with bookmarks of the watched kind', async () => {
    await using api = await startFakeApiServer({ bookmarkIntervalMs: 20 });
    api.store.create(pod('ns', 'a'));
    const w = await RawWatch.open(api, '/api/v1/pods?watch=1&allowWatchBookmarks=true');
    expect([w.status, w.contentType]).toEqual([200, `${pb};stream=watch`]);
    await w.until((x) => x.events().length >= 1);
    api.store.create(pod('ns', 'b'));
    api.store.delete({ resource: 'pods', namespace: 'ns', name: 'a' });
    await w.until((x) => x.events().some((e) => e.type === 'BOOKMARK'));
    w.close();
    const events = w.events();
    const changes = events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.kind} ${str(one(e.object.raw, 1).bytes, 1)}`);
    expect(changes).toEqual(['ADDED Pod a', 'ADDED Pod b', 'DELETED Pod a']);
    const bookmark = events.find((e) => e.type === 'BOOKMARK');
    expect(bookmark?.object).toMatchObject({ apiVersion: 'v1', kind: 'Pod' });
    const meta = one(bookmark?.object.raw ?? Buffer.alloc(0), 1).bytes;
    expect([str(meta, 1), str(meta, 6)]).toEqual(['', String(api.store.resourceVersion)]);
  });

  it('ends a watch from a compacted resourceVersion with one ERROR frame holding a 410 Status', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('ns', 'a'));
    const old = api.store.resourceVersion;
    api.store.create(pod('ns', 'b'));
    api.faults.expireResourceVersions();
    const w = await RawWatch.open(api, `/apis/discovery.k8s.io/v1/endpointslices?watch=1&resourceVersion=${old}`);
    await w.until((x) => x.ended);
    expect(w.status).toBe(200);
    const [event, ...rest] = w.events();
    expect(rest).toEqual([]);
    expect(event?.type).toBe('ERROR');
    expect(event?.object).toMatchObject({ apiVersion: 'v1', kind: 'Status' });
    const status = event?.object.raw ?? Buffer.alloc(0);
    expect([str(status, 2), str(status, 4), Number(one(status, 6).int)]).toEqual(['Failure', 'Expired', 410]);
    expect(str(status, 3)).toMatch(/^too old resource version: /);
  });

  it('counts response bytes per client, verb and resource, watch bytes as they are written', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('ns', 'a'));
    const asJson = await send(api.url, { path: '/api/v1/pods', userAgent: 'json-client' });
    const asProtobuf = await send(api.url, { path: '/api/v1/pods', userAgent: 'pb-client', accept });
    const w = await RawWatch.open(api, '/api/v1/pods?watch=1', 'pb-client');
    await w.until((x) => x.events().length >= 1);
    api.store.create(pod('ns', 'b'));
    await w.until((x) => x.events().length >= 2);
    const watchRow = () => api.traffic().find((r) => r.userAgent === 'pb-client' && r.verb === 'watch');
    expect(watchRow()).toEqual({ userAgent: 'pb-client', verb: 'watch', resource: 'pods', requests: 1, responseBytes: w.bytes.length, watchEvents: 2 });
    w.close();
    expect(api.traffic().filter((r) => r.verb === 'list')).toEqual([
      { userAgent: 'json-client', verb: 'list', resource: 'pods', requests: 1, responseBytes: asJson.bytes.length, watchEvents: 0 },
      { userAgent: 'pb-client', verb: 'list', resource: 'pods', requests: 1, responseBytes: asProtobuf.bytes.length, watchEvents: 0 },
    ]);
    expect(asProtobuf.bytes.length).toBeLessThan(asJson.bytes.length);
    expect(api.requests().find((r) => r.userAgent === 'json-client')).toEqual({ userAgent: 'json-client', verb: 'list', resource: 'pods', count: 1 });
    api.resetRequests();
    expect(api.traffic()).toEqual([]);
  });
});
