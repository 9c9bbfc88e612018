import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '@promfleet/model';
import { generateCluster, type KubeObject } from '@promfleet/testkit';
import { clusterOnLocalhost, demoMasterConfig, farmPodCount } from './demo-cluster.js';
import { UsageError, type CommandIO } from './io.js';
import { listTargets } from './targets.js';

const example = readFileSync(fileURLToPath(new URL('../../../examples/prometheus.yml', import.meta.url)), 'utf8');
const cluster = generateCluster({ nodes: 2, namespaces: 2, servicesPerNamespace: 4, pods: 20, seed: 3 });
const farmPorts = Array.from({ length: farmPodCount(cluster) }, (_, i) => 20_000 + i);
const nodeExporterPort = 19_100;

const annotations = (o: KubeObject) => o.metadata.annotations ?? {};
const status = (o: KubeObject) => o['status'] as { podIP?: string; hostIP?: string };
const isDaemon = (o: KubeObject) => o.metadata.ownerReferences?.some((r) => r.kind === 'DaemonSet') === true;

/** `promfleet targets` in memory: the kept targets' public labels and scrape URLs. */
async function discovered(files: Record<string, string>): Promise<{ code: number; stderr: string; targets: { labels: Record<string, string>; scrapeUrl: string }[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => new PassThrough().on('data', (chunk: Buffer) => into.push(chunk.toString('utf8')));
  const io: CommandIO = {
    stdin: Readable.from(['']),
    stdout: sink(out),
    stderr: sink(err),
    shutdown: new AbortController().signal,
    readFile: (path) => {
      const text = files[path];
      return text === undefined ? Promise.reject(new UsageError(`cannot read ${path}`, 1)) : Promise.resolve(text);
    },
  };
  const code = await listTargets(io, { configFile: 'promfleet.yml', objectsFile: 'objects.json', ownNamespace: undefined });
  const lines = out.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { labels: Record<string, string> | null; scrapeUrl: string });
  const kept = new Map(lines.flatMap((l) => (l.labels === null ? [] : [[JSON.stringify(l.labels), { labels: l.labels, scrapeUrl: l.scrapeUrl }] as const])));
  return { code, stderr: err.join(''), targets: [...kept.values()] };
}

describe('clusterOnLocalhost', () => {
  const { objects, scraped } = clusterOnLocalhost({ cluster, farmPorts, nodeExporterPort });

  it('gives each scrapable Deployment pod a farm port of its own and every node-exporter pod the node exporter', () => {
    const farm = scraped.filter((p) => p.kind === 'farm');
    expect(farm.map((p) => p.address)).toEqual(farmPorts.map((port) => `127.0.0.1:${port}`));
    expect(scraped.filter((p) => p.kind === 'node-exporter').map((p) => p.address)).toEqual(['127.0.0.1:19100', '127.0.0.1:19100']);
    const pods = objects.filter((o) => o.kind === 'Pod');
    expect(pods).toHaveLength(cluster.pods.length);
    for (const pod of pods.filter((p) => annotations(p)['prometheus.io/scrape'] === 'true')) {
      const entry = scraped.find((p) => p.pod === pod.metadata.name);
      expect(status(pod).podIP).toBe('127.0.0.1');
      expect(`127.0.0.1:${annotations(pod)['prometheus.io/port'] ?? ''}`).toBe(entry?.address);
      if (isDaemon(pod)) expect(status(pod).hostIP).toBe('127.0.0.1');
    }
  });

  it('leaves the pods that are not scraped, and the generated objects, as they were', () => {
    const before = JSON.stringify(cluster.pods);
    const again = clusterOnLocalhost({ cluster, farmPorts, nodeExporterPort });
    expect(JSON.stringify(cluster.pods)).toBe(before);
    const untouched = cluster.pods.filter((p) => annotations(p)['prometheus.io/scrape'] !== 'true');
    expect(untouched.length).toBeGreaterThan(0);
    for (const pod of untouched) expect(again.objects).toContain(pod);
    expect(again.objects.filter((o) => o.kind === 'EndpointSlice')).toEqual([]);
  });

  it('needs a farm port for every scrapable Deployment pod', () => {
    expect(() => clusterOnLocalhost({ cluster, farmPorts: farmPorts.slice(1), nodeExporterPort })).toThrow(
      new RangeError(`the cluster has ${farmPorts.length} pods to scrape but the farm has ${farmPorts.length - 1} ports`),
    );
  });

  it('makes, with the demo config, exactly the targets it lists, as Prometheus would discover them', async () => {
    const config = demoMasterConfig({ example, scrapeIntervalMs: 2_000, remoteWriteUrl: 'http://127.0.0.1:9090/api/v1/write' });
    const result = await discovered({ 'promfleet.yml': config, 'objects.json': JSON.stringify({ kind: 'List', items: objects }) });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.targets.map((t) => [t.labels['namespace'], t.labels['pod'], t.labels['node'], t.labels['instance']]).sort()).toEqual(
      scraped.map((p) => [p.namespace, p.pod, p.node, p.address]).sort(),
    );
    for (const t of result.targets) expect(t.scrapeUrl).toBe(`http://${t.labels['instance'] ?? ''}/metrics`);
  });
});

describe('demoMasterConfig', () => {
  const text = demoMasterConfig({
    example,
    scrapeIntervalMs: 2_500,
    remoteWriteUrl: 'http://127.0.0.1:9090/api/v1/write',
    externalLabels: { cluster: 'e2e' },
  });

  it('is a valid Prometheus config with the example kubernetes-pods job, pointed at the fake API server', () => {
    const parsed = parseConfig(text, { file: 'promfleet.yml' });
    if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('; '));
    const { config } = parsed;
    expect(config.scrapeConfigs.map((j) => j.jobName)).toEqual(['kubernetes-pods']);
    const job = config.scrapeConfigs[0];
    expect([job?.scrapeIntervalMs, job?.scrapeTimeoutMs]).toEqual([2_500, 2_500]);
    expect(job?.kubernetesSdConfigs.map((sd) => [sd.role, sd.apiServer])).toEqual([['pod', undefined]]);
    const fromExample = parseConfig(example, { file: 'examples/prometheus.yml' });
    if (!fromExample.ok) throw new Error('the example does not load');
    const exampleJob = fromExample.config.scrapeConfigs.find((j) => j.jobName === 'kubernetes-pods');
    expect(JSON.stringify(job?.relabelConfigs)).toBe(JSON.stringify(exampleJob?.relabelConfigs));
    expect(config.remoteWrite.map((rw) => [rw.url, rw.queueConfig.batchSendDeadlineMs])).toEqual([['http://127.0.0.1:9090/api/v1/write', 1_000]]);
    expect(config.global.externalLabels).toEqual(new Map([['cluster', 'e2e']]));
  });

  it('needs the kubernetes-pods job', () => {
    expect(() => demoMasterConfig({ example: 'scrape_configs: []\n', scrapeIntervalMs: 1_000, remoteWriteUrl: 'http://x/api/v1/write' })).toThrow(
      'examples/prometheus.yml has no kubernetes-pods job',
    );
  });
});
