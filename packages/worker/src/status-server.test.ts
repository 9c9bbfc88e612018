import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import type { ScrapeHealth } from './scrape/loop.js';
import { WorkerStatusServer, type WorkerStatusSource } from './status-server.js';

const health = (h: Partial<ScrapeHealth>): ScrapeHealth => ({ lastScrapeUnixMs: 0, durationSeconds: 0, samplesScraped: 0, samplesPostMetricRelabeling: 0, up: false, lastError: '', ...h });

let server: WorkerStatusServer | undefined;
afterEach(async () => {
  await server?.close();
});

async function start(source: Partial<WorkerStatusSource>): Promise<string> {
  const full: WorkerStatusSource = {
    workerId: 'w-1',
    masterAddress: 'master:9096',
    connected: () => false,
    masterId: () => undefined,
    masterWebPort: () => undefined,
    lastError: () => '',
    generation: () => 0,
    ready: () => false,
    loops: () => [],
    ...source,
  };
  const registry = new Registry();
  registry.setDefaultLabels({});
  server = new WorkerStatusServer({ source: full, registry, now: () => 10_000 });
  const port = await server.listen('127.0.0.1:0');
  return `http://127.0.0.1:${port}`;
}

describe('WorkerStatusServer', () => {
  it('is healthy always and ready once it holds an assignment', async () => {
    let ready = false;
    const base = await start({ ready: () => ready });
    expect((await fetch(`${base}/-/healthy`)).status).toBe(200);
    expect((await fetch(`${base}/-/ready`)).status).toBe(503);
    ready = true;
    const res = await fetch(`${base}/-/ready`);
    expect([res.status, await res.text()]).toEqual([200, 'promfleet worker is Ready.\n']);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('lists targets on its page, unhealthy first, escaped, with passwords redacted', async () => {
    const base = await start({
      connected: () => true,
      masterId: () => 'master-0',
      generation: () => 7,
      loops: () => [
        { id: '0000000000000001', job: 'ok', url: 'http://a:1/metrics', health: health({ up: true, lastScrapeUnixMs: 9_000, samplesScraped: 12 }) },
        { id: '0000000000000002', job: '<b>', url: 'http://u:hunter2@b:1/metrics', health: health({ lastScrapeUnixMs: 9_500, lastError: 'bad <thing>' }) },
      ],
    });
    const html = await (await fetch(`${base}/`)).text();
    expect(html).toContain('connected to master-0 at master:9096');
    expect(html).toContain('Assignment generation 7');
    expect(html).not.toContain('<a href');
    expect(html).toContain('&#60;b&#62;');
    expect(html).toContain('bad &#60;thing&#62;');
    expect(html).not.toContain('hunter2');
    expect(html.indexOf('bad &#60;thing')).toBeLessThan(html.indexOf('http://a:1/metrics'));
  });

  it.each<[string, { url: string; lastError: string }]>([
    ['a scrape URL with a / in its password', { url: 'http://user:pa/ss@b:1/metrics', lastError: 'down' }],
    ['an address with user info and no scheme', { url: 'http://b:1/metrics', lastError: 'target {__address__="user:pa/ss@b:1"} refused' }],
    ['an error quoting the URL', { url: 'http://b:1/metrics', lastError: 'Get "https://user:pa/ss@b:1/metrics": connect ECONNREFUSED' }],
  ])('shows no password on its page: %s', async (_case, target) => {
    const base = await start({
      masterAddress: 'https://user:pa/ss@master:9096',
      lastError: () => 'Get "https://user:pa/ss@master:9096": refused',
      loops: () => [{ id: '0000000000000002', job: 'j', url: target.url, health: health({ lastScrapeUnixMs: 9_500, lastError: target.lastError }) }],
    });
    const html = await (await fetch(`${base}/`)).text();
    expect(html).toContain('user:xxxxx@');
    expect(html).not.toContain('pa/ss');
  });

  it('says it keeps scraping when the master is away', async () => {
    const base = await start({ lastError: () => 'connection refused' });
    expect(await (await fetch(`${base}/`)).text()).toContain('not connected to master:9096: connection refused (scraping the last assignment)');
  });

  it('links the master\u2019s status page: the host it dialed, the port the Welcome gave', async () => {
    const base = await start({ connected: () => true, masterId: () => 'master-0', masterWebPort: () => 9095 });
    expect(await (await fetch(`${base}/`)).text()).toContain('connected to <a href="http://master:9095/">master-0</a> at master:9096');
  });
});
