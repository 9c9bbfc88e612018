import { afterEach, describe, expect, it } from '@jest/globals';
import { goJson, goTime, labelsJson, zeroTime } from './api.js';
import { startStatus, worker, type RunningStatus } from './fixtures.js';

const config = `
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:9100', '10.0.0.2:9100']
        labels: {env: prod}
      - targets: ['10.0.0.3:9100']
        labels: {env: dev}
    relabel_configs:
      - {source_labels: [env], regex: dev, action: drop}
  - job_name: blackbox
    scrape_interval: 30s
    scrape_timeout: 5s
    metrics_path: /probe
    params: {module: [http_2xx]}
    static_configs: [{targets: [example.com]}]
    relabel_configs:
      - {source_labels: [__address__], target_label: __param_target}
      - {source_labels: [__param_target], target_label: instance}
      - {target_label: __address__, replacement: 'blackbox:9115'}
  - job_name: broken
    static_configs: [{targets: ['x:1']}]
    relabel_configs:
      - {target_label: __address__, replacement: ''}
`;

const running: RunningStatus[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

async function start(text = config): Promise<RunningStatus> {
  const status = await startStatus(text);
  running.push(status);
  return status;
}

interface Json {
  readonly status: number;
  readonly text: string;
  readonly body: Record<string, unknown>;
}

async function getJson(status: RunningStatus, path: string): Promise<Json> {
  const res = await fetch(`${status.url}${path}`);
  expect(res.headers.get('content-type')).toBe('application/json');
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown> };
}

/** `data` of a successful answer. */
function data(json: Json): Record<string, unknown> {
  expect(json.status).toBe(200);
  expect(json.body['status']).toBe('success');
  return json.body['data'] as Record<string, unknown>;
}

type Row = Record<string, unknown>;
const active = (d: Record<string, unknown>) => d['activeTargets'] as Row[];
const dropped = (d: Record<string, unknown>) => d['droppedTargets'] as Row[];

/** The id of the kept target of `job` whose instance label is `instance`. */
function idOf(status: RunningStatus, job: string, instance: string): string {
  const target = [...status.fleet.targets(job)].find((t) => t.labels.get('instance') === instance);
  if (target === undefined) throw new Error(`no target ${instance} in ${job}`);
  return target.id;
}

describe('goTime, goJson, labelsJson: values as Go marshals them', () => {
  it.each([
    [undefined, zeroTime],
    [Number.NaN, zeroTime],
    [0, '1970-01-01T00:00:00Z'],
    [Date.UTC(2024, 0, 2, 3, 4, 5), '2024-01-02T03:04:05Z'],
    [Date.UTC(2024, 0, 2, 3, 4, 5, 120), '2024-01-02T03:04:05.12Z'],
    [Date.UTC(2024, 0, 2, 3, 4, 5, 100), '2024-01-02T03:04:05.1Z'],
    [Date.UTC(2024, 0, 2, 3, 4, 5, 7), '2024-01-02T03:04:05.007Z'],
  ])('goTime(%p) is %p', (ms, text) => {
    expect(goTime(ms)).toBe(text);
  });

  it('escapes <, >, &, U+2028 and U+2029 inside JSON strings, which still parse to the same text', () => {
    const value = { v: '<script>&\u2028\u2029' };
    const text = goJson(JSON.stringify(value));
    expect(text).toBe('{"v":"\\u003cscript\\u003e\\u0026\\u2028\\u2029"}');
    expect(JSON.parse(text)).toEqual(value);
  });

  it('orders label names by their UTF-8 bytes, with numeric-looking and prototype names as plain keys', () => {
    const labels = new Map([
      ['a', '1'],
      ['__proto__', '2'],
      ['9', '3'],
      ['10', '4'],
    ]);
    expect(labelsJson(labels)).toBe('{"10":"4","9":"3","__proto__":"2","a":"1"}');
  });
});

describe('/api/v1/targets', () => {
  it('answers with Prometheus’ shape, field by field, plus worker and targetId', async () => {
    const status = await start();
    const json = await getJson(status, '/api/v1/targets');
    expect(Object.keys(json.body)).toEqual(['status', 'data']);
    const d = data(json);
    expect(Object.keys(d)).toEqual(['activeTargets', 'droppedTargets', 'droppedTargetCounts']);
    // Pools in name order; within a pool, discovery order.
    expect(active(d).map((t) => t['scrapeUrl'])).toEqual([
      'http://blackbox:9115/probe?module=http_2xx&target=example.com',
      'http://127.0.0.1:9100/metrics',
      'http://10.0.0.2:9100/metrics',
    ]);
    const [probe, node] = active(d);
    // The keys and their order of the documented example (docs/querying/api.md, "Targets"), then promfleet's.
    expect(Object.keys(node ?? {})).toEqual([
      'discoveredLabels',
      'labels',
      'scrapePool',
      'scrapeUrl',
      'globalUrl',
      'lastError',
      'lastScrape',
      'lastScrapeDuration',
      'health',
      'scrapeInterval',
      'scrapeTimeout',
      'worker',
      'targetId',
    ]);
    expect(node).toEqual({
      discoveredLabels: {
        __address__: '127.0.0.1:9100',
        __metrics_path__: '/metrics',
        __scheme__: 'http',
        __scrape_interval__: '1m',
        __scrape_timeout__: '10s',
        env: 'prod',
        job: 'node',
      },
      labels: { env: 'prod', instance: '127.0.0.1:9100', job: 'node' },
      scrapePool: 'node',
      scrapeUrl: 'http://127.0.0.1:9100/metrics',
      globalUrl: 'http://127.0.0.1:9100/metrics',
      lastError: '',
      lastScrape: '0001-01-01T00:00:00Z',
      lastScrapeDuration: 0,
      health: 'unknown',
      scrapeInterval: '1m',
      scrapeTimeout: '10s',
      worker: '',
      targetId: idOf(status, 'node', '127.0.0.1:9100'),
    });
    expect(probe?.['discoveredLabels']).toEqual({
      __address__: 'example.com',
      __metrics_path__: '/probe',
      __param_module: 'http_2xx',
      __scheme__: 'http',
      __scrape_interval__: '30s',
      __scrape_timeout__: '5s',
      job: 'blackbox',
    });
    expect(probe?.['labels']).toEqual({ instance: 'example.com', job: 'blackbox' });
    expect([probe?.['scrapeInterval'], probe?.['scrapeTimeout']]).toEqual(['30s', '5s']);
    // The documented dropped target: its discovered labels and its pool, nothing else.
    expect(dropped(d)).toEqual([
      {
        discoveredLabels: {
          __address__: '10.0.0.3:9100',
          __metrics_path__: '/metrics',
          __scheme__: 'http',
          __scrape_interval__: '1m',
          __scrape_timeout__: '10s',
          env: 'dev',
          job: 'node',
        },
        scrapePool: 'node',
      },
    ]);
    // Every pool, in name order; the invalid target of "broken" is neither active nor dropped.
    expect(json.text).toContain('"droppedTargetCounts":{"blackbox":0,"broken":0,"node":1}}');
  });

  it('shows the worker’s last scrape and the owner', async () => {
    const status = await start();
    const id = idOf(status, 'node', '10.0.0.2:9100');
    status.fleet.update(id, {
      owner: 'worker-1',
      health: {
        health: 'down',
        lastScrapeUnixMs: Date.UTC(2024, 0, 2, 3, 4, 5, 120),
        lastScrapeDurationSeconds: 0.050688943,
        samplesScraped: 0,
        samplesPostMetricRelabeling: 0,
        lastError: 'Get "http://10.0.0.2:9100/metrics": connection refused',
      },
    });
    const target = active(data(await getJson(status, '/api/v1/targets?state=active'))).find((t) => t['targetId'] === id);
    expect(target).toMatchObject({
      health: 'down',
      lastScrape: '2024-01-02T03:04:05.12Z',
      lastScrapeDuration: 0.050688943,
      lastError: 'Get "http://10.0.0.2:9100/metrics": connection refused',
      worker: 'worker-1',
    });
  });

  // web/api/v1/api.go targets(): the state is lowercased; any other value shows neither list.
  it.each([
    ['', true, true],
    ['any', true, true],
    ['ANY', true, true],
    ['active', true, false],
    ['Dropped', false, true],
    ['bogus', false, false],
  ])('state=%p lists active %p and dropped %p', async (state, showActive, showDropped) => {
    const status = await start();
    const json = await getJson(status, `/api/v1/targets?state=${state}`);
    const d = data(json);
    expect(active(d).length).toBe(showActive ? 3 : 0);
    expect(dropped(d).length).toBe(showDropped ? 1 : 0);
    expect(d['droppedTargetCounts']).toEqual(showDropped ? { blackbox: 0, broken: 0, node: 1 } : null);
  });

  it('keeps one pool with scrapePool, but counts the dropped targets of every pool', async () => {
    const status = await start();
    const node = data(await getJson(status, '/api/v1/targets?scrapePool=node'));
    expect(active(node).map((t) => t['scrapePool'])).toEqual(['node', 'node']);
    expect(dropped(node).map((t) => t['scrapePool'])).toEqual(['node']);
    expect(node['droppedTargetCounts']).toEqual({ blackbox: 0, broken: 0, node: 1 });
    const blackbox = data(await getJson(status, '/api/v1/targets?scrapePool=blackbox&state=dropped'));
    expect([active(blackbox), dropped(blackbox)]).toEqual([[], []]);
    const none = data(await getJson(status, '/api/v1/targets?scrapePool=nope'));
    expect([active(none), dropped(none)]).toEqual([[], []]);
  });

  it('lists dropped targets up to keep_dropped_targets and counts them all', async () => {
    const status = await start(`
scrape_configs:
  - job_name: few
    keep_dropped_targets: 2
    static_configs: [{targets: ['a:1', 'b:1', 'c:1', 'd:1', 'e:1']}]
    relabel_configs: [{action: drop, source_labels: [__address__], regex: '.*:1'}]
`);
    const d = data(await getJson(status, '/api/v1/targets?state=dropped'));
    expect(dropped(d).map((t) => (t['discoveredLabels'] as Row)['__address__'])).toEqual(['a:1', 'b:1']);
    expect(d['droppedTargetCounts']).toEqual({ few: 5 });
  });

  it('lists what the fleet has: a target discovery no longer holds has no discovered labels, one the fleet lacks is not active', async () => {
    const status = await start();
    const gone = 'ffffffffffffffff';
    status.fleet.set({ id: gone, job: 'node', labels: new Map([['__address__', 'old:1'], ['instance', 'old:1'], ['job', 'node']]), sinceUnixMs: 0, history: [] });
    status.fleet.delete(idOf(status, 'node', '10.0.0.2:9100'));
    const nodes = active(data(await getJson(status, '/api/v1/targets?scrapePool=node&state=active')));
    expect(nodes.map((t) => [t['targetId'] === gone, t['discoveredLabels']])).toEqual([
      [false, expect.objectContaining({ __address__: '127.0.0.1:9100' })],
      [true, {}],
    ]);
  });

  it('escapes HTML characters in the JSON text and keeps the values', async () => {
    const status = await start(`
scrape_configs:
  - job_name: x
    static_configs: [{targets: ['a:1'], labels: {note: '<script>alert(1)</script> & more'}}]
`);
    const json = await getJson(status, '/api/v1/targets');
    expect(json.text).not.toContain('<script>');
    expect(json.text).toContain('\\u003cscript\\u003e');
    expect((active(data(json))[0]?.['labels'] as Row)['note']).toBe('<script>alert(1)</script> & more');
  });
});

describe('/api/v1/targets/<id>', () => {
  it('answers one target with its owner history', async () => {
    const status = await start();
    const id = idOf(status, 'node', '127.0.0.1:9100');
    status.fleet.update(id, {
      owner: 'worker-2',
      sinceUnixMs: Date.UTC(2024, 0, 3),
      history: [
        { atUnixMs: Date.UTC(2024, 0, 2), to: 'worker-1', reason: 'added' },
        { atUnixMs: Date.UTC(2024, 0, 3), from: 'worker-1', to: 'worker-2', reason: 'worker-left' },
      ],
      health: { health: 'up', lastScrapeUnixMs: Date.UTC(2024, 0, 3, 0, 0, 15), lastScrapeDurationSeconds: 0.01, samplesScraped: 120, samplesPostMetricRelabeling: 100, lastError: '' },
    });
    const d = data(await getJson(status, `/api/v1/targets/${id}`));
    expect(d).toMatchObject({
      discoveredLabels: expect.objectContaining({ __address__: '127.0.0.1:9100', env: 'prod' }),
      labels: { env: 'prod', instance: '127.0.0.1:9100', job: 'node' },
      scrapePool: 'node',
      health: 'up',
      worker: 'worker-2',
      targetId: id,
      ownerSince: '2024-01-03T00:00:00Z',
      samplesScraped: 120,
      samplesPostMetricRelabeling: 100,
      history: [
        { at: '2024-01-02T00:00:00Z', from: '', to: 'worker-1', reason: 'added' },
        { at: '2024-01-03T00:00:00Z', from: 'worker-1', to: 'worker-2', reason: 'worker-left' },
      ],
    });
  });

  it.each([
    ['0123456789abcdef', 404, 'not_found', 'target "0123456789abcdef" not found'],
    ['metadata', 400, 'bad_data', 'invalid target id "metadata": a target id is 16 lowercase hex digits'],
    ['0123456789ABCDEF', 400, 'bad_data', 'invalid target id "0123456789ABCDEF": a target id is 16 lowercase hex digits'],
  ])('answers %p with %p in Prometheus’ error shape', async (id, code, errorType, error) => {
    const status = await start();
    const json = await getJson(status, `/api/v1/targets/${id}`);
    expect(json.status).toBe(code);
    expect(Object.keys(json.body)).toEqual(['status', 'errorType', 'error']);
    expect(json.body).toEqual({ status: 'error', errorType, error });
  });
});

describe('/api/v1/workers', () => {
  it('lists every worker with RFC 3339 times, and the limits only of workers that have them', async () => {
    const status = await start();
    status.fleet.setWorkers([
      worker({ id: 'w-b', state: 'disconnected', address: '', targets: 0, cost: 0 }),
      worker({ id: 'w-a', targets: 2, cost: 1234.5, generation: 7, ackedGeneration: 6, maxTargets: 100, maxSamples: 50000 }),
    ]);
    const d = data(await getJson(status, '/api/v1/workers'));
    expect(d).toEqual({
      workers: [
        {
          id: 'w-a',
          state: 'connected',
          address: '10.0.0.9:40000',
          identity: 'x509:CN=worker',
          softwareVersion: '0.1.0',
          connectedSince: '2024-01-01T00:00:00Z',
          lastSeen: '2024-01-01T00:00:30Z',
          generation: 7,
          ackedGeneration: 6,
          targets: 2,
          cost: 1234.5,
          maxTargets: 100,
          maxSamples: 50000,
        },
        {
          id: 'w-b',
          state: 'disconnected',
          address: '',
          identity: 'x509:CN=worker',
          softwareVersion: '0.1.0',
          connectedSince: '2024-01-01T00:00:00Z',
          lastSeen: '2024-01-01T00:00:30Z',
          generation: 3,
          ackedGeneration: 3,
          targets: 0,
          cost: 0,
        },
      ],
    });
  });
});

describe('/api/v1/operator/rejected', () => {
  it('lists the rejected resources by kind then namespace/name, with the kinds that contribute nothing', async () => {
    const status = await startStatus(config, {
      operatorRejected: () => [
        { kind: 'ServiceMonitor', namespace: 'shop', name: 'web', reason: 'spec.scrapeClass: scrape classes are not supported by promfleet ("<tls>")', sinceUnixMs: Date.UTC(2024, 0, 2, 3, 4, 5, 600) },
        { kind: 'Probe', namespace: 'ops', name: 'ping', reason: 'spec.oauth2: OAuth 2 is not supported by promfleet', sinceUnixMs: Date.UTC(2024, 0, 1) },
      ],
      operatorKindStates: () => ({ ServiceMonitor: 'listed', PodMonitor: 'listed', Probe: 'listed', ScrapeConfig: 'forbidden' }),
    });
    running.push(status);
    const json = await getJson(status, '/api/v1/operator/rejected');
    expect(json.text).toContain('\\u003ctls\\u003e');
    expect(data(json)).toEqual({
      rejected: [
        { kind: 'ServiceMonitor', namespace: 'shop', name: 'web', reason: 'spec.scrapeClass: scrape classes are not supported by promfleet ("<tls>")', since: '2024-01-02T03:04:05.6Z' },
        { kind: 'Probe', namespace: 'ops', name: 'ping', reason: 'spec.oauth2: OAuth 2 is not supported by promfleet', since: '2024-01-01T00:00:00Z' },
      ],
      kinds: { ServiceMonitor: 'listed', PodMonitor: 'listed', Probe: 'listed', ScrapeConfig: 'forbidden' },
    });
  });

  it('is not served without the prometheus-operator source', async () => {
    const status = await start();
    const res = await fetch(`${status.url}/api/v1/operator/rejected`);
    expect(res.status).toBe(404);
  });
});
