/**
 * What the discovery benchmark feeds both discoverers: the synthetic cluster's shape for a pod and node count, and
 * the Prometheus configuration (the same text for promfleet's master and for vmagent).
 *
 * The jobs are the three of Prometheus' example `prometheus-kubernetes.yml` (`kubernetes-pods`,
 * `kubernetes-service-endpoints` on the endpointslice role, `kubernetes-nodes`) with the `prometheus.io/*`
 * annotation rules, plus two changes that keep the benchmark honest and local:
 *
 * - one target per pod or endpoint: pods and services here declare an `http` port besides `metrics`, and the example
 *   rules rewrite every port's address to the annotated one, which makes duplicate targets that Prometheus merges
 *   silently and vmagent reports as errors. A `keep` on the port named `metrics` avoids both.
 * - loopback only: the discovered addresses (10.x pod IPs, node IPs) exist nowhere, and vmagent scrapes what it
 *   discovers. The last two rules copy `__address__` to `instance` and point `__address__` at 127.0.0.1:1, where
 *   nothing listens, so a scrape fails at once on loopback instead of leaving the machine. Both discoverers apply
 *   them, so both do the same relabeling work.
 */
import type { GenerateClusterOptions } from '@promfleet/testkit';

/** The roles a benchmark job can use. */
export type BenchRole = 'pod' | 'endpointslice' | 'node';

/** The roles of the typical configuration, one job each. */
export const typicalRoles: readonly BenchRole[] = ['pod', 'endpointslice', 'node'];

/** The size of a synthetic cluster. */
export interface Scale {
  readonly pods: number;
  readonly nodes: number;
}

/** Pods per application namespace; each namespace has {@link servicesPerNamespace} Deployments behind Services. */
const podsPerNamespace = 3000;
const servicesPerNamespace = 12;

/**
 * The cluster for `scale`: namespaces grow with the pod count so a Service keeps about 250 pods (three
 * EndpointSlices), and one DaemonSet (node-exporter) runs on every node.
 */
export function clusterOptions(scale: Scale, seed: number): GenerateClusterOptions {
  return {
    pods: scale.pods,
    nodes: scale.nodes,
    namespaces: Math.max(1, Math.ceil(scale.pods / podsPerNamespace)),
    servicesPerNamespace,
    daemonSets: 1,
    seed,
  };
}

/** The address every target is pointed at: loopback, a port where nothing listens. */
export const deadEndAddress = '127.0.0.1:1';

/** One relabel rule in the configuration's (JSON) form. */
export type Rule = Readonly<Record<string, string | readonly string[]>>;

const loopbackRules: readonly Rule[] = [
  { source_labels: ['__address__'], target_label: 'instance' },
  { target_label: '__address__', replacement: deadEndAddress },
];

function annotationRules(object: 'pod' | 'service'): readonly Rule[] {
  const annotation = (name: string) => `__meta_kubernetes_${object}_annotation_prometheus_io_${name}`;
  return [
    { source_labels: [annotation('scrape')], action: 'keep', regex: 'true' },
    { source_labels: [annotation('scheme')], action: 'replace', target_label: '__scheme__', regex: '(https?)' },
    { source_labels: [annotation('path')], action: 'replace', target_label: '__metrics_path__', regex: '(.+)' },
    {
      source_labels: ['__address__', annotation('port')],
      action: 'replace',
      regex: '([^:]+)(?::\\d+)?;(\\d+)',
      replacement: '$1:$2',
      target_label: '__address__',
    },
  ];
}

const rulesByRole: Readonly<Record<BenchRole, readonly Rule[]>> = {
  pod: [
    ...annotationRules('pod'),
    { source_labels: ['__meta_kubernetes_pod_container_port_name'], action: 'keep', regex: 'metrics' },
    { action: 'labelmap', regex: '__meta_kubernetes_pod_label_(.+)' },
    { source_labels: ['__meta_kubernetes_namespace'], action: 'replace', target_label: 'namespace' },
    { source_labels: ['__meta_kubernetes_pod_name'], action: 'replace', target_label: 'pod' },
    { source_labels: ['__meta_kubernetes_pod_node_name'], action: 'replace', target_label: 'node' },
    ...loopbackRules,
  ],
  endpointslice: [
    ...annotationRules('service'),
    { source_labels: ['__meta_kubernetes_endpointslice_port_name'], action: 'keep', regex: 'metrics' },
    { action: 'labelmap', regex: '__meta_kubernetes_service_label_(.+)' },
    { source_labels: ['__meta_kubernetes_namespace'], action: 'replace', target_label: 'namespace' },
    { source_labels: ['__meta_kubernetes_service_name'], action: 'replace', target_label: 'service' },
    { source_labels: ['__meta_kubernetes_pod_name'], action: 'replace', target_label: 'pod' },
    { source_labels: ['__meta_kubernetes_pod_node_name'], action: 'replace', target_label: 'node' },
    ...loopbackRules,
  ],
  node: [
    { action: 'labelmap', regex: '__meta_kubernetes_node_label_(.+)' },
    { source_labels: ['__meta_kubernetes_node_name'], regex: '(.+)', target_label: '__metrics_path__', replacement: '/api/v1/nodes/$1/proxy/metrics' },
    ...loopbackRules,
  ],
};

const jobNameByRole: Readonly<Record<BenchRole, string>> = {
  pod: 'kubernetes-pods',
  endpointslice: 'kubernetes-service-endpoints',
  node: 'kubernetes-nodes',
};

/** Options of {@link scrapeConfigText}. */
export interface ScrapeConfigOptions {
  /** The fake API server's URL, plain HTTP on loopback. */
  readonly apiServer: string;
  /** One job per entry, in order; a role that repeats gets numbered job names. */
  readonly roles: readonly BenchRole[];
  /** Rules appended to the relabel_configs of every job on a role. */
  readonly extraRules?: Partial<Record<BenchRole, readonly Rule[]>>;
}

/**
 * The Prometheus configuration, as JSON text (which is YAML, and which both Prometheus-format parsers read). The
 * scrape interval is an hour: nothing here is meant to be scraped, and vmagent spreads first scrapes over the
 * interval, so it attempts few of its (failing, loopback) scrapes during a run.
 */
export function scrapeConfigText(options: ScrapeConfigOptions): string {
  const seen = new Map<BenchRole, number>();
  const jobs = options.roles.map((role) => {
    const n = (seen.get(role) ?? 0) + 1;
    seen.set(role, n);
    const repeated = options.roles.filter((r) => r === role).length > 1;
    return {
      job_name: repeated ? `${jobNameByRole[role]}-${n}` : jobNameByRole[role],
      kubernetes_sd_configs: [{ role, api_server: options.apiServer }],
      relabel_configs: [...rulesByRole[role], ...(options.extraRules?.[role] ?? [])],
    };
  });
  return `${JSON.stringify({ global: { scrape_interval: '1h', scrape_timeout: '10s' }, scrape_configs: jobs }, null, 2)}\n`;
}
