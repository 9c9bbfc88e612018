/**
 * The live demo's cluster and configuration: a synthetic cluster whose scrapable pods all live on 127.0.0.1 (each
 * Deployment pod on a port of the target farm, each node-exporter pod on the one real node exporter), and the
 * master's prometheus.yml, made from the `kubernetes-pods` job of examples/prometheus.yml.
 */
import type { KubeObject, SyntheticCluster } from '@promfleet/testkit';
import { parse, stringify } from 'yaml';

/** A pod the demo's config scrapes, and where. */
export interface ScrapedPod {
  readonly namespace: string;
  readonly pod: string;
  readonly node: string;
  /** `127.0.0.1:port`. */
  readonly address: string;
  readonly kind: 'farm' | 'node-exporter';
}

const scrapeAnnotation = 'prometheus.io/scrape';
const portAnnotation = 'prometheus.io/port';

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function isDaemonPod(pod: KubeObject): boolean {
  return pod.metadata.ownerReferences?.some((o) => o.kind === 'DaemonSet') ?? false;
}

/** The pods of `cluster` that ask to be scraped and run a Deployment's pod template: each needs a farm target. */
export function farmPodCount(cluster: SyntheticCluster): number {
  return cluster.pods.filter((p) => !isDaemonPod(p) && p.metadata.annotations?.[scrapeAnnotation] === 'true').length;
}

/**
 * Copies `pod` to run on 127.0.0.1 with its metrics on `port`: the pod IP (and, for host-network pods, the host
 * IP), the `prometheus.io/port` annotation and the container port named `metrics` all change. The cluster's shared
 * parts are copied, never mutated.
 */
function relocate(pod: KubeObject, port: number): KubeObject {
  const spec = record(pod['spec']);
  const status = record(pod['status']);
  const hostNetwork = spec['hostNetwork'] === true;
  const containers = Array.isArray(spec['containers']) ? (spec['containers'] as unknown[]) : [];
  return {
    ...pod,
    metadata: { ...pod.metadata, annotations: { ...pod.metadata.annotations, [portAnnotation]: String(port) } },
    spec: {
      ...spec,
      containers: containers.map((c) => {
        const container = record(c);
        const ports = Array.isArray(container['ports']) ? (container['ports'] as unknown[]) : [];
        return {
          ...container,
          ports: ports.map((p) => {
            const containerPort = record(p);
            if (containerPort['name'] !== 'metrics') return containerPort;
            return { ...containerPort, containerPort: port, ...(containerPort['hostPort'] === undefined ? {} : { hostPort: port }) };
          }),
        };
      }),
    },
    status: {
      ...status,
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      ...(hostNetwork ? { hostIP: '127.0.0.1', hostIPs: [{ ip: '127.0.0.1' }] } : {}),
    },
  };
}

/**
 * Points the cluster's scrapable pods at this machine: Deployment pods that ask to be scraped get the farm's ports
 * in order (`farmPorts` must have {@link farmPodCount} of them), node-exporter pods get `nodeExporterPort`. Pods
 * that do not ask to be scraped keep their addresses. EndpointSlices are left out: they would still list the old
 * addresses, and the demo's config does not read them.
 *
 * @throws RangeError when `farmPorts` has too few ports.
 */
export function clusterOnLocalhost(input: { readonly cluster: SyntheticCluster; readonly farmPorts: readonly number[]; readonly nodeExporterPort: number }): {
  objects: KubeObject[];
  scraped: ScrapedPod[];
} {
  const { cluster, farmPorts, nodeExporterPort } = input;
  if (farmPorts.length < farmPodCount(cluster)) throw new RangeError(`the cluster has ${farmPodCount(cluster)} pods to scrape but the farm has ${farmPorts.length} ports`);
  const scraped: ScrapedPod[] = [];
  let next = 0;
  const pods = cluster.pods.map((pod) => {
    if (pod.metadata.annotations?.[scrapeAnnotation] !== 'true') return pod;
    const daemon = isDaemonPod(pod);
    const nodeName = record(pod['spec'])['nodeName'];
    const port = daemon ? nodeExporterPort : (farmPorts[next++] ?? 0);
    scraped.push({
      namespace: pod.metadata.namespace ?? '',
      pod: pod.metadata.name ?? '',
      node: typeof nodeName === 'string' ? nodeName : '',
      address: `127.0.0.1:${port}`,
      kind: daemon ? 'node-exporter' : 'farm',
    });
    return relocate(pod, port);
  });
  return { objects: [...cluster.namespaces, ...cluster.nodes, ...cluster.services, ...pods], scraped };
}

/** A duration in Prometheus' notation: whole seconds as `5s`, anything else in milliseconds. */
function promDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** What {@link demoMasterConfig} needs. */
export interface DemoConfigInput {
  /** The text of examples/prometheus.yml. */
  readonly example: string;
  readonly scrapeIntervalMs: number;
  /** The receiver's remote-write URL. */
  readonly remoteWriteUrl: string;
  /** `global.external_labels`; the example's (`cluster: demo`) when omitted. */
  readonly externalLabels?: Readonly<Record<string, string>>;
}

/**
 * The master's prometheus.yml: the example's `global` with `scrape_interval` and `scrape_timeout` set to the demo's
 * interval, its `kubernetes-pods` job unchanged (the master reaches the fake API server through `--kubeconfig`, as
 * it would reach a real cluster from outside), and one `remote_write` to the receiver, flushing every second so
 * samples show up promptly.
 *
 * @throws Error when the example has no `kubernetes-pods` job.
 */
export function demoMasterConfig(input: DemoConfigInput): string {
  const example = record(parse(input.example));
  const jobs = Array.isArray(example['scrape_configs']) ? (example['scrape_configs'] as unknown[]) : [];
  const job = jobs.map(record).find((j) => j['job_name'] === 'kubernetes-pods');
  if (job === undefined) throw new Error('examples/prometheus.yml has no kubernetes-pods job');
  const global = record(example['global']);
  const interval = promDuration(input.scrapeIntervalMs);
  const config = {
    global: { ...global, scrape_interval: interval, scrape_timeout: interval, external_labels: input.externalLabels ?? global['external_labels'] },
    scrape_configs: [job],
    remote_write: [{ url: input.remoteWriteUrl, name: 'demo-prometheus', queue_config: { batch_send_deadline: '1s' } }],
  };
  return `# Written by promfleet's live demo from the kubernetes-pods job of examples/prometheus.yml.\n${stringify(config)}`;
}
