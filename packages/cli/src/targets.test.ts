import { describe, expect, it } from '@jest/globals';
import { PassThrough, Readable } from 'node:stream';
import { type CommandIO, UsageError } from './io.js';
import { listTargets } from './targets.js';

const config = `
scrape_configs:
  - job_name: pods
    scrape_interval: 30s
    kubernetes_sd_configs:
      - role: pod
        namespaces:
          own_namespace: true
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        action: keep
        regex: "true"
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
  - job_name: static
    static_configs:
      - targets: [localhost:9100, slow:9100]
    relabel_configs:
      - source_labels: [__address__]
        regex: slow:.*
        target_label: __scrape_timeout__
        replacement: 5m
  - job_name: files
    file_sd_configs:
      - files: [/sd/*.json, /sd/extra.yml]
`;

function pod(namespace: string, name: string, scrape: boolean): Record<string, unknown> {
  return {
    kind: 'Pod',
    metadata: { name, namespace, uid: `uid-${name}`, annotations: scrape ? { 'prometheus.io/scrape': 'true' } : {} },
    spec: { nodeName: 'n1', containers: [{ name: 'app', image: 'app:1', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }] },
    status: { phase: 'Running', podIP: '10.0.0.1', hostIP: '192.168.0.1' },
  };
}

const objects = JSON.stringify({
  kind: 'List',
  items: [pod('mon', 'scraped', true), pod('mon', 'quiet', false), pod('other', 'elsewhere', true), { kind: 'Pod', metadata: { name: 'broken', namespace: 'mon' }, spec: { containers: 3 } }, { kind: 'ConfigMap', metadata: { name: 'x' } }],
});

function quietIO(files: Record<string, string>): CommandIO {
  return {
    stdin: Readable.from(['']),
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    shutdown: new AbortController().signal,
    readFile: (path) => (Object.hasOwn(files, path) ? Promise.resolve(files[path] ?? '') : Promise.reject(new UsageError(`cannot read ${path}: no such file`, 1))),
  };
}

async function targets(files: Record<string, string>, dirs: Record<string, string[]> = {}, operatorConfigFile?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => new PassThrough().on('data', (chunk: Buffer) => into.push(chunk.toString('utf8')));
  const io: CommandIO = {
    stdin: Readable.from(['']),
    stdout: sink(out),
    stderr: sink(err),
    shutdown: new AbortController().signal,
    readFile: (path) => (Object.hasOwn(files, path) ? Promise.resolve(files[path] ?? '') : Promise.reject(new UsageError(`cannot read ${path}: no such file`, 1))),
  };
  const code = await listTargets(io, {
    configFile: 'p.yml',
    objectsFile: 'objects.json',
    ownNamespace: 'mon',
    operatorConfigFile,
    listDir: (dir) => (Object.hasOwn(dirs, dir) ? Promise.resolve(dirs[dir] ?? []) : Promise.reject(new Error(`ENOENT: ${dir}`))),
  });
  return { code, lines: out.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>), stderr: err.join('') };
}

describe('promfleet targets', () => {
  it('prints every discovered target per job, and reports what it skipped', async () => {
    const r = await targets(
      { 'p.yml': config, 'objects.json': objects, '/sd/a.json': '[{"targets":["f:1"],"labels":{"team":"x"}}]', '/sd/extra.yml': '- targets: [g:2]\n' },
      { '/sd': ['b.txt', 'a.json'] },
    );
    expect(r.stderr).toBe('objects.json: items[3]: skipped: bad Pod mon/broken: spec.containers: expected array, got number\nobjects.json: ignored 1 item: ConfigMap without metadata.name and metadata.namespace\n');
    expect(r.code).toBe(1);
    expect(r.lines.map((l) => [l['job'], l['labels'] === null ? null : (l['labels'] as Record<string, string>)['instance'], l['error'] ?? null])).toEqual([
      ['pods', '10.0.0.1:8080', null],
      ['pods', null, null],
      ['static', 'localhost:9100', null],
      ['static', null, 'scrape timeout cannot be greater than scrape interval ("5m" > "1m")'],
      ['files', 'f:1', null],
      ['files', 'g:2', null],
    ]);
    const kept = r.lines[0] ?? {};
    expect(kept).toEqual({
      job: 'pods',
      discoveredLabels: expect.objectContaining({ __address__: '10.0.0.1:8080', __meta_kubernetes_pod_name: 'scraped', __scrape_interval__: '30s', job: 'pods' }) as unknown,
      labels: { instance: '10.0.0.1:8080', job: 'pods', pod: 'scraped' },
      id: expect.stringMatching(/^[0-9a-f]{16}$/) as unknown,
      scrapeUrl: 'http://10.0.0.1:8080/metrics',
    });
    expect(Object.keys(kept)).toEqual(['job', 'discoveredLabels', 'labels', 'id', 'scrapeUrl']);
    expect(r.lines[4]?.['labels']).toEqual({ instance: 'f:1', job: 'files', team: 'x' });
  });

  it('reports a bad file_sd file and a missing directory, and still prints the rest', async () => {
    const r = await targets({ 'p.yml': config, 'objects.json': '{"kind":"List","items":[]}', '/sd/extra.yml': '- targets: 5\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('job "files": file_sd: /sd: ENOENT: /sd\njob "files": file_sd: /sd/extra.yml:1: group 0: "targets" must be a list of strings\n');
    expect(r.lines.map((l) => l['job'])).toEqual(['static', 'static']);
  });

  it.each([
    ['objects that are not JSON', { 'objects.json': '{' }, /^objects\.json: not JSON: /],
    ['a List without items', { 'objects.json': '{"kind":"PodList"}' }, /^objects\.json: a PodList without an "items" array$/],
    ['an invalid config', { 'p.yml': 'scrape_configs: 3\n' }, /^invalid config:\np\.yml:1: scrape_configs: /],
  ])('fails on %s with exit 1', async (_what, files, message) => {
    const all = { 'p.yml': config, 'objects.json': '{"items":[]}', ...files };
    await expect(targets(all)).rejects.toMatchObject({ exitCode: 1, message: expect.stringMatching(message) as unknown });
  });

  describe('with prometheus-operator resources in the dump', () => {
    const web = {
      kind: 'Service',
      metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
      spec: { clusterIP: '10.96.0.10', ports: [{ name: 'metrics', port: 9100, protocol: 'TCP' }] },
    };
    const webPod = { ...pod('shop', 'web-1', false), metadata: { name: 'web-1', namespace: 'shop', uid: 'u1', labels: { app: 'web', team: 'a' } } };
    const endpoints = {
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: 'shop' },
      subsets: [{ addresses: [{ ip: '10.0.0.1', targetRef: { kind: 'Pod', name: 'web-1', namespace: 'shop' } }], ports: [{ name: 'metrics', port: 8080, protocol: 'TCP' }] }],
    };
    const monitor = (name: string, endpoint: Record<string, unknown>, labels: Record<string, string> = {}) => ({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name, namespace: 'shop', labels },
      spec: { selector: { matchLabels: { app: 'web' } }, podTargetLabels: ['team'], endpoints: [endpoint] },
    });
    const dump = JSON.stringify({
      kind: 'List',
      items: [
        { kind: 'Namespace', metadata: { name: 'shop', labels: { env: 'prod' } } },
        web,
        webPod,
        endpoints,
        { kind: 'Secret', metadata: { name: 'creds', namespace: 'shop' }, data: { token: Buffer.from('s3cret').toString('base64') } },
        monitor('web', { port: 'metrics', authorization: { credentials: { name: 'creds', key: 'token' } } }, { release: 'prod' }),
        monitor('no-secret', { port: 'metrics', bearerTokenSecret: { name: 'gone', key: 'token' } }),
        { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'pods', namespace: 'shop' }, spec: { selector: { matchLabels: { team: 'a' } }, podMetricsEndpoints: [{ port: 'http' }] } },
        { apiVersion: 'monitoring.coreos.com/v1', kind: 'Probe', metadata: { name: 'bb', namespace: 'shop' }, spec: { prober: { url: 'blackbox:9115' }, module: 'http_2xx', targets: { staticConfig: { static: ['https://example.com'] } } } },
      ],
    });

    it('discovers the jobs prometheus-operator would generate, from the same dump, beside the config jobs', async () => {
      const r = await targets({ 'p.yml': 'scrape_configs: []\n', 'objects.json': dump });
      expect(r.stderr).toBe('ServiceMonitor shop/no-secret: rejected: spec.endpoints[0].bearerTokenSecret: Secret shop/gone key "token" not found\n');
      expect(r.code).toBe(1);
      expect(r.lines.map((l) => [l['job'], l['labels']])).toEqual([
        [
          'serviceMonitor/shop/web/0',
          { container: 'app', endpoint: 'metrics', instance: '10.0.0.1:8080', job: 'web', namespace: 'shop', pod: 'web-1', service: 'web', team: 'a' },
        ],
        ['podMonitor/shop/pods/0', { container: 'app', endpoint: 'http', instance: '10.0.0.1:8080', job: 'shop/pods', namespace: 'shop', pod: 'web-1' }],
        ['probe/shop/bb', { instance: 'https://example.com', job: 'probe/shop/bb', namespace: 'shop' }],
      ]);
      expect(r.lines[2]?.['scrapeUrl']).toBe('http://blackbox:9115/probe?module=http_2xx&target=https%3A%2F%2Fexample.com');
      expect(JSON.stringify(r.lines)).not.toContain('s3cret');
    });

    it('selects with --operator.config as a Prometheus resource would', async () => {
      const prometheus = 'kind: Prometheus\nmetadata: {name: k8s, namespace: monitoring}\nspec:\n  serviceMonitorSelector: {matchLabels: {release: prod}}\n  serviceMonitorNamespaceSelector: {matchLabels: {env: prod}}\n';
      const r = await targets({ 'p.yml': 'scrape_configs: []\n', 'objects.json': dump, 'prom.yaml': prometheus }, {}, 'prom.yaml');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.lines.map((l) => l['job'])).toEqual(['serviceMonitor/shop/web/0']);
    });

    it('fails with exit 1 when the Prometheus resource namespace is needed and unknown', async () => {
      const files = { 'p.yml': 'scrape_configs: []\n', 'objects.json': dump, 'prom.yaml': 'serviceMonitorSelector: {}\nprobeSelector: {}\nprobeNamespaceSelector: {}\n' };
      const r = await targets(files, {}, 'prom.yaml');
      expect(r.lines.map((l) => l['job'])).toEqual(['probe/shop/bb']);
      const io = { ...files, 'objects.json': dump };
      await expect(listTargets(quietIO(io), { configFile: 'p.yml', objectsFile: 'objects.json', ownNamespace: undefined, operatorConfigFile: 'prom.yaml' })).rejects.toMatchObject({
        exitCode: 1,
        message: "prom.yaml: ServiceMonitor resources are selected in the Prometheus resource's namespace, which is unknown: set metadata.namespace or a namespace selector in the file, or pass --own-namespace",
      });
    });

    it('fails with exit 1 naming the file and the field of a bad --operator.config', async () => {
      const files = { 'p.yml': 'scrape_configs: []\n', 'objects.json': dump, 'prom.yaml': 'podMonitorSelector: [app]\n' };
      await expect(targets(files, {}, 'prom.yaml')).rejects.toMatchObject({ exitCode: 1, message: 'prom.yaml: podMonitorSelector: expected a label selector (matchLabels, matchExpressions)' });
    });
  });
});
