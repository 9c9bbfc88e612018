import { afterAll, describe, expect, it } from '@jest/globals';
import { get } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { garbageBody, startTargetFarm, type TargetFarm } from './farm.js';
import { promtoolCheckMetrics } from './promtool.js';

const farms: TargetFarm[] = [];
afterAll(async () => {
  await Promise.all(farms.map((f) => f.stop()));
});

async function farm(targets: number, series: number): Promise<TargetFarm> {
  const started = await startTargetFarm({ targets, series });
  farms.push(started);
  return started;
}

async function scrape(address: string, path = '/metrics'): Promise<{ status: number; contentType: string; body: string }> {
  const res = await fetch(`http://${address}${path}`);
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}

/** The sample lines of an exposition: name and labels → value. */
function samples(body: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

describe('startTargetFarm', () => {
  it.each([
    [1, ['http_requests_total']],
    [6, ['http_requests_total', 'app_jobs_processed_total']],
    [7, ['http_requests_total', 'process_resident_memory_bytes', 'process_open_fds', 'app_queue_depth']],
    [15, ['http_requests_total', 'process_resident_memory_bytes', 'process_open_fds', 'app_queue_depth', 'http_request_duration_seconds_bucket', 'http_request_duration_seconds_sum', 'http_request_duration_seconds_count']],
    [40, ['http_requests_total', 'process_resident_memory_bytes', 'process_open_fds', 'app_queue_depth', 'http_request_duration_seconds_bucket', 'http_request_duration_seconds_sum', 'http_request_duration_seconds_count', 'app_jobs_processed_total']],
  ])('serves exactly %i series per target, of the families it names', async (series, names) => {
    const f = await farm(2, series);
    expect(f.metricNames).toEqual(names);
    for (const target of f.targets) {
      const r = await scrape(target.address);
      expect(r.status).toBe(200);
      expect(r.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
      const lines = samples(r.body);
      expect(lines.size).toBe(series);
      expect(new Set([...lines.keys()].map((k) => k.replace(/\{.*$/, '')))).toEqual(new Set(names));
    }
  });

  it('passes promtool check metrics', async () => {
    const f = await farm(1, 40);
    const target = f.targets[0];
    if (target === undefined) throw new Error('no target');
    await scrape(target.address);
    expect(await promtoolCheckMetrics((await scrape(target.address)).body)).toEqual({ code: 0, output: '' });
  });

  it('counts every request of each target on its own, with the time it arrived', async () => {
    const f = await farm(3, 15);
    const [a, b, c] = f.targets;
    if (a === undefined || b === undefined || c === undefined) throw new Error('want 3 targets');
    expect(new Set(f.targets.map((t) => t.port)).size).toBe(3);
    expect(a.address).toBe(`127.0.0.1:${a.port}`);
    const before = Date.now();
    const first = samples((await scrape(a.address)).body);
    const second = samples((await scrape(a.address)).body);
    const other = samples((await scrape(b.address)).body);
    const after = Date.now();
    const counter = 'http_requests_total{code="200",handler="/metrics",method="get"}';
    expect([first.get(counter), second.get(counter), other.get(counter)]).toEqual([1, 2, 1]);
    expect(second.get('http_request_duration_seconds_count{handler="/metrics"}')).toBe(2);
    expect(second.get('http_request_duration_seconds_bucket{handler="/metrics",le="+Inf"}')).toBe(2);
    expect([a.requests.length, b.requests.length, c.requests.length]).toEqual([2, 1, 0]);
    for (const t of [...a.requests, ...b.requests]) {
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(after);
    }
    expect(f.target(b.port)).toBe(b);
    expect(f.target(1)).toBeUndefined();
  });

  it('serves OpenMetrics with UNIT lines, exemplars it records and _created lines, the same series besides those', async () => {
    const started = await startTargetFarm({ targets: 2, series: 40, format: 'openmetrics' });
    farms.push(started);
    const [target] = started.targets;
    if (target === undefined) throw new Error('no target');
    const r = await scrape(target.address);
    expect(r.contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(r.body.endsWith('\n# EOF\n')).toBe(true);
    const lines = samples(r.body.replace(/ # \{.*$/gm, ''));
    const created = [...lines.keys()].filter((k) => /^[a-z_]+_created\{/.test(k));
    expect(created).toEqual(['http_requests_created{code="200",handler="/metrics",method="get"}', 'http_request_duration_seconds_created{handler="/metrics"}']);
    expect(lines.size - created.length).toBe(40);
    expect(started.createdMs).toBeDefined();
    for (const k of created) expect(lines.get(k)).toBe((started.createdMs ?? 0) / 1000);
    expect(r.body).toContain('# TYPE http_requests counter\n');
    expect(r.body).toContain('# UNIT process_resident_memory_bytes bytes\n');
    expect(r.body).toContain('# UNIT http_request_duration_seconds seconds\n');
    expect(started.families.map((f) => [f.family, f.type, f.unit])).toEqual([
      ['http_requests', 'counter', ''],
      ['process_resident_memory_bytes', 'gauge', 'bytes'],
      ['process_open_fds', 'gauge', ''],
      ['app_queue_depth', 'gauge', ''],
      ['http_request_duration_seconds', 'histogram', 'seconds'],
      ['app_jobs_processed', 'counter', ''],
    ]);
    // One exemplar on the counter and one on the bucket the request's observation fell in, as recorded.
    const exemplarLines = r.body.split('\n').filter((l) => l.includes(' # {'));
    expect(exemplarLines).toHaveLength(2);
    expect(target.exemplars.map((e) => e.series)).toEqual(exemplarLines.map((l) => l.slice(0, l.lastIndexOf('}', l.indexOf(' # {')) + 1)));
    for (const [k, e] of target.exemplars.entries()) {
      expect(exemplarLines[k]).toContain(` # {trace_id="${e.traceId}"} ${e.value} ${(e.timestampMs / 1000).toFixed(3)}`);
      expect(e.timestampMs).toBe(target.requests[0]);
    }
    expect(target.exemplars[0]?.series).toBe('http_requests_total{code="200",handler="/metrics",method="get"}');
  });

  it('names its families for the text format without units', async () => {
    const f = await farm(1, 15);
    expect(f.format).toBe('text');
    expect(f.createdMs).toBeUndefined();
    expect(f.families.map((m) => [m.family, m.type, m.unit])).toEqual([
      ['http_requests_total', 'counter', ''],
      ['process_resident_memory_bytes', 'gauge', ''],
      ['process_open_fds', 'gauge', ''],
      ['app_queue_depth', 'gauge', ''],
      ['http_request_duration_seconds', 'histogram', ''],
    ]);
    const [target] = f.targets;
    if (target === undefined) throw new Error('no target');
    expect((await scrape(target.address)).body).not.toContain(' # {');
    expect(target.exemplars).toEqual([]);
  });

  it('keeps histogram buckets cumulative', async () => {
    const f = await farm(1, 15);
    const target = f.targets[0];
    if (target === undefined) throw new Error('no target');
    let last = new Map<string, number>();
    for (let i = 0; i < 20; i++) last = samples((await scrape(target.address)).body);
    const buckets = [...last].filter(([k]) => k.startsWith('http_request_duration_seconds_bucket')).map(([, v]) => v);
    expect(buckets).toEqual([...buckets].sort((x, y) => x - y));
    expect(buckets.at(-1)).toBe(20);
    expect(buckets[0]).toBeGreaterThan(0);
    expect(buckets.at(-2)).toBeLessThan(20);
  });

  it('answers 404 elsewhere, without counting it', async () => {
    const f = await farm(1, 1);
    const target = f.targets[0];
    if (target === undefined) throw new Error('no target');
    expect((await scrape(target.address, '/')).status).toBe(404);
    expect((await scrape(target.address, '/metrics/x')).status).toBe(404);
    expect(target.requests).toEqual([]);
    expect((await scrape(target.address, '/metrics?x=1')).status).toBe(200);
    expect(target.requests).toHaveLength(1);
  });

  it('answers 401 to a scrape without its basic auth credentials, logging it apart', async () => {
    const f = await startTargetFarm({ targets: 1, series: 1, basicAuth: { username: 'prom', password: 'pa/ss@1' } });
    farms.push(f);
    const target = f.targets[0];
    if (target === undefined) throw new Error('no target');
    const withAuth = (authorization: string) => fetch(`http://${target.address}/metrics`, { headers: { authorization } });
    expect((await scrape(target.address)).status).toBe(401);
    expect((await withAuth(`Basic ${Buffer.from('prom:wrong').toString('base64')}`)).status).toBe(401);
    expect((await withAuth(`Basic ${Buffer.from('prom:pa/ss@1').toString('base64')}`)).status).toBe(200);
    expect([target.requests.length, target.unauthorized.length]).toEqual([1, 2]);
  });

  it('releases its ports on stop, and keeps the request logs', async () => {
    const f = await startTargetFarm({ targets: 2, series: 3 });
    const target = f.targets[0];
    if (target === undefined) throw new Error('no target');
    await scrape(target.address);
    await f.stop();
    await f.stop();
    await expect(fetch(`http://${target.address}/metrics`)).rejects.toThrow();
    expect(target.requests).toHaveLength(1);
  });

  it('serves gzip bombs besides its targets, counting their requests apart', async () => {
    const f = await startTargetFarm({ targets: 1, series: 1, gzipBombs: 2, gzipBombBytes: 8 * 2 ** 20 + 5 });
    farms.push(f);
    const [bomb, other] = f.gzipBombs;
    if (bomb === undefined || other === undefined) throw new Error('want 2 bombs');
    expect(f.targets).toHaveLength(1);
    expect(new Set([...f.targets, ...f.gzipBombs].map((t) => t.port)).size).toBe(3);
    expect([bomb.index, other.index]).toEqual([0, 1]);
    expect(f.target(other.port)).toBe(other);
    // Read raw: fetch would decompress it.
    const raw = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      get(`http://${bomb.address}/metrics`, { headers: { 'accept-encoding': 'identity' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
    expect(raw.headers).toMatchObject({ 'content-encoding': 'gzip', 'content-length': String(raw.body.length) });
    expect(raw.body.length).toBeLessThan(20_000);
    const inflated = gunzipSync(raw.body);
    expect(inflated.length).toBe(8 * 2 ** 20 + 5);
    expect(inflated.every((b) => b === 0)).toBe(true);
    expect([bomb.requests.length, other.requests.length, f.targets[0]?.requests.length]).toEqual([1, 0, 0]);
    expect((await scrape(bomb.address, '/')).status).toBe(404);
  });

  it('serves broken targets besides its targets: garbage, a hang and a 500, each logging its scrapes', async () => {
    const f = await startTargetFarm({ targets: 1, series: 1, broken: { garbage: 1, hang: 1, error: 2 } });
    farms.push(f);
    expect(f.broken.map((t) => [t.index, t.kind])).toEqual([
      [0, 'garbage'],
      [1, 'hang'],
      [2, 'error'],
      [3, 'error'],
    ]);
    const [garbage, hang, error] = f.broken;
    if (garbage === undefined || hang === undefined || error === undefined) throw new Error('want 4 broken targets');
    expect(new Set([...f.targets, ...f.broken].map((t) => t.port)).size).toBe(5);
    expect(f.target(hang.port)).toBe(hang);
    expect(await scrape(garbage.address)).toEqual({ status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: garbageBody });
    expect((await promtoolCheckMetrics(garbageBody)).code).not.toBe(0);
    expect((await scrape(error.address)).status).toBe(500);
    const abort = new AbortController();
    const answer = fetch(`http://${hang.address}/metrics`, { signal: abort.signal }).then(
      () => 'answered',
      () => 'aborted',
    );
    const waited = await Promise.race([answer, new Promise((resolve) => setTimeout(() => resolve('no answer'), 300))]);
    abort.abort();
    expect([waited, await answer]).toEqual(['no answer', 'aborted']);
    expect(f.broken.map((t) => t.requests.length)).toEqual([1, 1, 1, 0]);
    expect(f.targets[0]?.requests).toHaveLength(0);
    expect((await scrape(error.address, '/')).status).toBe(404);
  });

  it('stops with a hanging scrape open', async () => {
    const f = await startTargetFarm({ targets: 0, series: 1, broken: { hang: 1 } });
    const [hang] = f.broken;
    if (hang === undefined) throw new Error('no hanging target');
    const pending = fetch(`http://${hang.address}/metrics`).then(
      () => 'answered',
      () => 'closed',
    );
    while (hang.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await f.stop();
    expect(await pending).toBe('closed');
  });

  it.each([
    [{ targets: 1, series: 1, broken: { hang: -1 } }, 'broken.hang must be an integer ≥ 0, got -1'],
    [{ targets: 1, series: 1, gzipBombs: -1 }, 'gzipBombs must be an integer ≥ 0, got -1'],
    [{ targets: 1, series: 1, gzipBombs: 1, gzipBombBytes: 0 }, 'gzipBombBytes must be an integer ≥ 1, got 0'],
    [{ targets: -1, series: 1 }, 'targets must be an integer ≥ 0, got -1'],
    [{ targets: 1, series: 0 }, 'series must be an integer ≥ 1, got 0'],
    [{ targets: 1.5, series: 1 }, 'targets must be an integer ≥ 0, got 1.5'],
  ])('rejects %j', async (options, message) => {
    await expect(startTargetFarm(options)).rejects.toThrow(new RangeError(message));
  });
});
