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

async function targets(files: Record<string, string>, dirs: Record<string, string[]> = {}) {
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
    expect(r.stderr).toBe('objects.json: items[3]: skipped: bad Pod mon/broken: spec.containers: expected array, got number\nobjects.json: ignored 1 item: kind ConfigMap is not used by discovery\n');
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
});
