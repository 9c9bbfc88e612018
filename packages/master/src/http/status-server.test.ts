import { afterEach, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { Counter, Registry } from 'prom-client';
import { DiscoveryManager } from '../discovery/manager.js';
import { FakeFleet, loadConfig, startStatus, type RunningStatus } from './fixtures.js';
import { ListenAddressError } from '@promfleet/model';
import { StatusServer } from './status-server.js';

const config = `
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['a:9100', 'b:9100']}]
`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(text = config, options: Parameters<typeof startStatus>[1] = {}): Promise<RunningStatus> {
  const status = await startStatus(text, options);
  cleanups.push(() => status.stop());
  return status;
}

/** A raw GET, to see the bytes as sent (fetch would decompress them). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('StatusServer routing', () => {
  // Prometheus' router (httprouter): unknown paths are a plain 404; known paths with another method a 405 with Allow.
  it.each([
    ['GET', '/nope', 404, undefined],
    ['GET', '/api/v1/nope', 404, undefined],
    ['GET', '/metrics/', 404, undefined],
    ['POST', '/api/v1/targets', 405, 'GET'],
    ['HEAD', '/api/v1/targets', 405, 'GET'],
    ['HEAD', '/metrics', 405, 'GET'],
    ['PUT', '/', 405, 'GET'],
    ['DELETE', '/-/healthy', 405, 'GET, HEAD'],
    ['POST', '/-/ready', 405, 'GET, HEAD'],
    ['POST', '/api/v1/targets/0123456789abcdef', 405, 'GET'],
  ])('%s %s is %p', async (method, path, code, allow) => {
    const status = await start();
    const res = await fetch(`${status.url}${path}`, { method });
    expect(res.status).toBe(code);
    expect(res.headers.get('allow') ?? undefined).toBe(allow);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    if (method !== 'HEAD') expect(await res.text()).toBe(code === 404 ? '404 page not found\n' : 'Method Not Allowed\n');
  });

  it('answers a path that is not valid percent-encoding with 400', async () => {
    const status = await start();
    const res = await rawGet(`${status.url}/api/v1/targets/%zz`, {});
    expect(res.status).toBe(400);
  });

  it('is always healthy, with Prometheus’ texts, for GET and HEAD', async () => {
    const status = await start();
    const get = await fetch(`${status.url}/-/healthy`);
    expect([get.status, get.headers.get('content-type'), await get.text()]).toEqual([200, 'text/plain; charset=utf-8', 'promfleet master is Healthy.\n']);
    const head = await fetch(`${status.url}/-/healthy`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
  });

  it('is ready as its readiness says: 503 "Service Unavailable" with the reasons, or 200 with what a ready master lacks', async () => {
    const status = await start();
    const ready = async (method: string) => {
      const res = await fetch(`${status.url}/-/ready`, { method });
      return [res.status, await res.text()];
    };
    expect(await ready('GET')).toEqual([503, 'Service Unavailable\nstandby: master-b leads in term 3\n']);
    expect(await ready('HEAD')).toEqual([503, '']);
    status.readiness = { ready: true, reasons: [] };
    expect(await ready('GET')).toEqual([200, 'promfleet master is Ready.\n']);
    expect(await ready('HEAD')).toEqual([200, '']);
    status.readiness = { ready: true, reasons: ['leader in term 4', 'discovery of pods is stale since 2026-01-01T00:00:00.000Z'] };
    expect(await ready('GET')).toEqual([200, 'promfleet master is Ready.\nleader in term 4\ndiscovery of pods is stale since 2026-01-01T00:00:00.000Z\n']);
  });

  it('serves the registry at /metrics in its content type', async () => {
    const status = await start();
    new Counter({ name: 'promfleet_test_requests_total', help: 'Requests in the test.', registers: [status.registry] }).inc(3);
    const res = await fetch(`${status.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(status.registry.contentType);
    expect(await res.text()).toContain('promfleet_test_requests_total 3\n');
  });
});

describe('StatusServer: the target listing as a stream', () => {
  it('sends gzip to a client that accepts it, and the same JSON as without', async () => {
    const status = await start();
    const plain = await rawGet(`${status.url}/api/v1/targets`, {});
    expect(plain.headers['content-encoding']).toBeUndefined();
    const zipped = await rawGet(`${status.url}/api/v1/targets`, { 'accept-encoding': 'br;q=1, gzip;q=0.5' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers['vary']).toBe('Accept-Encoding');
    expect(JSON.parse(gunzipSync(zipped.body).toString('utf8'))).toEqual(JSON.parse(plain.body.toString('utf8')));
    const refused = await rawGet(`${status.url}/api/v1/targets`, { 'accept-encoding': 'gzip;q=0' });
    expect(refused.headers['content-encoding']).toBeUndefined();
  });

  it('streams a listing of many pieces, and survives a client that leaves in the middle', async () => {
    const targets = Array.from({ length: 3000 }, (_, i) => `host-${i}.example.com:9100`);
    const errors: unknown[] = [];
    const status = await start(`scrape_configs:\n  - job_name: many\n    static_configs: [{targets: ${JSON.stringify(targets)}}]\n`, { onError: (err) => errors.push(err) });
    const res = await rawGet(`${status.url}/api/v1/targets`, {});
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.body.length).toBeGreaterThan(3 * 64 * 1024);
    const body = JSON.parse(res.body.toString('utf8')) as { data: { activeTargets: unknown[] } };
    expect(body.data.activeTargets).toHaveLength(3000);

    await new Promise<void>((resolve, reject) => {
      const req = request(`${status.url}/api/v1/targets`, (r) => {
        r.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      req.end();
    });
    const healthy = await fetch(`${status.url}/-/healthy`);
    expect(healthy.status).toBe(200);
    expect(errors).toEqual([]);
  });

  it('answers 500 and reports a listing that fails before anything was sent', async () => {
    const errors: unknown[] = [];
    const status = await start(config, { onError: (err) => errors.push(err) });
    status.fleet.targets = () => {
      throw new Error('boom');
    };
    const res = await fetch(`${status.url}/api/v1/targets`);
    expect([res.status, await res.text()]).toEqual([500, 'Internal Server Error\n']);
    expect(errors).toEqual([new Error('boom')]);
  });
});

describe('StatusServer.listen and close', () => {
  function server(): StatusServer {
    const discovery = new DiscoveryManager({ config: loadConfig('scrape_configs: []\n') });
    const s = new StatusServer({ fleet: new FakeFleet(), discovery, registry: new Registry(), readiness: () => ({ ready: true, reasons: [] }) });
    cleanups.push(() => s.close());
    return s;
  }

  it('listens on every interface for ":port", and closes idle keep-alive connections at once', async () => {
    const s = server();
    const { port } = await s.listen(':0');
    expect(port).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${port}/-/healthy`, { headers: { connection: 'keep-alive' } });
    expect(res.status).toBe(200);
    await s.close();
    await expect(fetch(`http://127.0.0.1:${port}/-/healthy`)).rejects.toThrow();
    await s.close();
  });

  it('rejects with the system error when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const address = taken.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    await expect(server().listen(`127.0.0.1:${address.port}`)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('throws ListenAddressError for an address that is not host:port', async () => {
    await expect(server().listen('9090')).rejects.toBeInstanceOf(ListenAddressError);
  });
});
