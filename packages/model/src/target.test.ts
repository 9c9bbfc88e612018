import { describe, expect, it } from '@jest/globals';
import { labelsFromObject, labelsToObject } from './labels.js';
import { parseRelabelRules, type RelabelRule } from './relabel.js';
import { buildTarget, nextScrapeSlotMs, publicLabels, scrapeOffsetMs, scrapeUrl, targetId, type TargetSettings } from './target.js';

function rules(raw: unknown): RelabelRule[] {
  const parsed = parseRelabelRules(raw);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.rules;
}

const base: TargetSettings = {
  jobName: 'node',
  scrapeIntervalMs: 30_000,
  scrapeTimeoutMs: 10_000,
  metricsPath: '/metrics',
  scheme: 'http',
  params: new Map(),
  relabelConfigs: [],
  metricNameValidationScheme: 'utf8',
};
const L = (o: Record<string, string>) => labelsFromObject(o);

describe('buildTarget', () => {
  it('seeds job, interval, timeout, path and scheme, and defaults instance to __address__', () => {
    const r = buildTarget(base, L({ __address__: 'db:9100', __meta_x: 'y' }), L({ env: 'prod' }));
    expect(r.kind).toBe('kept');
    if (r.kind !== 'kept') return;
    expect(labelsToObject(r.discoveredLabels)).toEqual({
      __address__: 'db:9100',
      __meta_x: 'y',
      __metrics_path__: '/metrics',
      __scheme__: 'http',
      __scrape_interval__: '30s',
      __scrape_timeout__: '10s',
      env: 'prod',
      job: 'node',
    });
    expect(labelsToObject(r.target.labels)).toEqual({
      __address__: 'db:9100',
      __metrics_path__: '/metrics',
      __scheme__: 'http',
      __scrape_interval__: '30s',
      __scrape_timeout__: '10s',
      env: 'prod',
      instance: 'db:9100',
      job: 'node',
    });
    expect(labelsToObject(publicLabels(r.target.labels))).toEqual({ env: 'prod', instance: 'db:9100', job: 'node' });
  });

  it('lets target labels win over group labels, and discovered job/scheme/path win over the config', () => {
    const r = buildTarget(base, L({ __address__: 'a:1', env: 'target', job: 'custom', __scheme__: 'https' }), L({ env: 'group' }));
    if (r.kind !== 'kept') throw new Error(r.kind);
    expect(r.target.labels.get('env')).toBe('target');
    expect(r.target.labels.get('job')).toBe('custom');
    expect(r.target.labels.get('__scheme__')).toBe('https');
    expect(r.target.job).toBe('node');
  });

  it('seeds __param_ labels from the first value of each param unless discovered', () => {
    const settings = { ...base, params: new Map([['module', ['http_2xx', 'other']], ['target', ['x']]]) };
    const r = buildTarget(settings, L({ __address__: 'a:1', __param_target: 'from-sd' }), L({}));
    if (r.kind !== 'kept') throw new Error(r.kind);
    expect(r.target.labels.get('__param_module')).toBe('http_2xx');
    expect(r.target.labels.get('__param_target')).toBe('from-sd');
  });

  it('keeps the address as discovered: Prometheus 3 adds no default port', () => {
    const r = buildTarget({ ...base, scheme: 'https' }, L({ __address__: 'example.com' }), L({}));
    if (r.kind !== 'kept') throw new Error(r.kind);
    expect(r.target.labels.get('__address__')).toBe('example.com');
    expect(r.target.labels.get('instance')).toBe('example.com');
  });

  it('keeps an explicit instance label', () => {
    const r = buildTarget(base, L({ __address__: 'a:1', instance: 'nice-name' }), L({}));
    if (r.kind !== 'kept') throw new Error(r.kind);
    expect(r.target.labels.get('instance')).toBe('nice-name');
  });

  it('reports a target dropped by relabeling with its discovered labels', () => {
    const settings = { ...base, relabelConfigs: rules([{ action: 'drop', source_labels: ['env'], regex: 'dev' }]) };
    const r = buildTarget(settings, L({ __address__: 'a:1', env: 'dev' }), L({}));
    expect(r.kind).toBe('dropped');
    expect(r.discoveredLabels.get('env')).toBe('dev');
  });

  it.each([
    ['no address', { __address__: '' }, [], 'no address'],
    ['an address with a path', { __address__: 'http://a:1/metrics' }, [], '"http://a:1/metrics" is not a valid hostname'],
    ['a bad interval', { __address__: 'a:1', __scrape_interval__: '1x' }, [], 'error parsing scrape interval: unknown unit "x"'],
    ['a zero interval', { __address__: 'a:1', __scrape_interval__: '0s' }, [], 'scrape interval cannot be 0'],
    ['a zero timeout', { __address__: 'a:1', __scrape_timeout__: '0' }, [], 'scrape timeout cannot be 0'],
    ['a timeout above the interval', { __address__: 'a:1', __scrape_timeout__: '1m' }, [], 'scrape timeout cannot be greater than scrape interval ("1m" > "30s")'],
    [
      'an address removed by relabeling',
      { __address__: 'a:1' },
      [{ action: 'labeldrop', regex: '__address__' }],
      'no address',
    ],
  ])('marks a target with %s invalid', (_what, labels, relabelConfigs, reason) => {
    const r = buildTarget({ ...base, relabelConfigs: rules(relabelConfigs) }, L(labels), L({}));
    expect(r).toMatchObject({ kind: 'invalid', reason: expect.stringContaining(reason) as unknown });
  });

  it('relabels the address from a port annotation, as the classic Kubernetes example does', () => {
    const settings = {
      ...base,
      relabelConfigs: rules([
        {
          source_labels: ['__address__', '__meta_kubernetes_pod_annotation_prometheus_io_port'],
          action: 'replace',
          regex: '([^:]+)(?::\\d+)?;(\\d+)',
          replacement: '$1:$2',
          target_label: '__address__',
        },
      ]),
    };
    const r = buildTarget(settings, L({ __address__: '10.0.0.7:8080', __meta_kubernetes_pod_annotation_prometheus_io_port: '9102' }), L({}));
    if (r.kind !== 'kept') throw new Error(r.kind);
    expect(r.target.labels.get('__address__')).toBe('10.0.0.7:9102');
    expect(r.target.labels.get('instance')).toBe('10.0.0.7:9102');
  });
});

describe('targetId', () => {
  it('is 16 hex digits, independent of label insertion order', () => {
    const a = targetId('job', L({ b: '2', a: '1' }));
    const b = targetId('job', L({ a: '1', b: '2' }));
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(a).toBe(b);
  });

  it('is a fixed function of its inputs, so every master and release agrees', () => {
    // Pinned: a change here re-identifies (and so reshuffles) every target in every fleet.
    // Expected values from python3: hashlib.sha256(b'node\xff__address__\xffa:9100\xff…job\xffnode\xff').hexdigest()[:16]
    expect(targetId('node', L({ job: 'node', instance: 'a:9100', __address__: 'a:9100' }))).toBe('66ad08e3eaf7f41c');
    expect(targetId('j', L({}))).toBe('9707f847a90180d5');
  });

  it.each([
    ['another job', () => targetId('other', L({ a: '1' }))],
    ['another value', () => targetId('job', L({ a: '2' }))],
    ['another name', () => targetId('job', L({ b: '1' }))],
    ['a shifted boundary', () => targetId('job', L({ a1: '' }))],
  ])('differs for %s', (_what, make) => {
    expect(make()).not.toBe(targetId('job', L({ a: '1' })));
  });

  it('ignores meta labels, because buildTarget removes them before hashing', () => {
    const one = buildTarget(base, L({ __address__: 'a:1', __meta_pod: 'x' }), L({}));
    const two = buildTarget(base, L({ __address__: 'a:1', __meta_pod: 'y' }), L({}));
    if (one.kind !== 'kept' || two.kind !== 'kept') throw new Error('not kept');
    expect(one.target.id).toBe(two.target.id);
  });
});

describe('scrape phase', () => {
  it('is the id modulo the interval', () => {
    expect(scrapeOffsetMs('0000000000000000', 15_000)).toBe(0);
    expect(scrapeOffsetMs('00000000000003e9', 1000)).toBe(1);
    expect(scrapeOffsetMs('ffffffffffffffff', 30_000)).toBe(Number(0xffffffffffffffffn % 30_000n));
  });

  it('puts every slot on k·interval + offset, at or after now', () => {
    const id = 'a3f1c2d4e5b6a798';
    const offset = scrapeOffsetMs(id, 15_000);
    for (const nowMs of [0, 1, offset, offset + 1, 1_700_000_000_123]) {
      const slot = nextScrapeSlotMs({ id, intervalMs: 15_000, nowMs });
      expect(slot).toBeGreaterThanOrEqual(nowMs);
      expect(slot - nowMs).toBeLessThan(15_000);
      expect((slot - offset) % 15_000).toBe(0);
    }
  });

  it('rejects a non-positive interval', () => {
    expect(() => scrapeOffsetMs('00', 0)).toThrow(RangeError);
  });
});

describe('scrapeUrl', () => {
  it.each([
    [{ __scheme__: 'http', __address__: 'a:9100', __metrics_path__: '/metrics' }, [], 'http://a:9100/metrics'],
    [{ __scheme__: 'https', __address__: 'a', __metrics_path__: 'metrics' }, [], 'https://a/metrics'],
    [{ __scheme__: 'http', __address__: 'a:1', __metrics_path__: '/probe', __param_target: 'http://x/?y=1 2' }, [['module', ['http_2xx']]], 'http://a:1/probe?module=http_2xx&target=http%3A%2F%2Fx%2F%3Fy%3D1+2'],
    [{ __scheme__: 'http', __address__: 'a:1', __metrics_path__: '/m', __param_module: 'tcp' }, [['module', ['http', 'second']]], 'http://a:1/m?module=tcp&module=second'],
    [{ __scheme__: 'http', __address__: 'a:1', __metrics_path__: "/we ird/(x)!?" }, [], 'http://a:1/we%20ird/%28x%29%21%3F'],
  ] as const)('%j with params %j is %s', (labels, params, url) => {
    expect(scrapeUrl(L(labels), new Map(params.map(([k, v]) => [k, [...v]])))).toBe(url);
  });
});
