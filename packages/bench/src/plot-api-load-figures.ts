/**
 * The figures behind the README's API-load plot: what the Kubernetes API server serves to discover one cluster's
 * targets, for promfleet (one master, whatever the number of workers), vmagent in cluster mode (N members, each
 * with the whole configuration) and N Prometheus servers sharded with `hashmod`.
 *
 * Measured: the requests of one promfleet master and of one vmagent, counted by the fake API server in the discovery
 * benchmark (BENCHMARKS.md, "Discovery"). Derived from those, and said so on the plot:
 * - objects in the initial lists: each list is served from the watch cache (`resourceVersion=0`) and returns every
 *   object of its kind, so a discoverer's lists carry Σ lists × objects of that kind;
 * - N vmagent members or N Prometheus shards: N times one member's or one shard's figure, since every member and
 *   every shard discovers the whole cluster and drops what is not its share only after relabeling;
 * - one Prometheus: Prometheus' Kubernetes SD runs its own informers for each distinct `kubernetes_sd_config`
 *   (`discovery/kubernetes/kubernetes.go`, `Run`): the pod role lists and watches pods, the endpointslice role
 *   EndpointSlices, Services and Pods again, the node role nodes. Debian's Prometheus is built without
 *   `kubernetes_sd_configs`, so this one is read from its code, not measured.
 */
import type { RequestCount } from '@promfleet/testkit';
import type { Chart, Line } from './plot-svg.js';
import type { FakeReady } from './protocol.js';
import type { Summary } from './report.js';
import type { BenchRole } from './workload.js';

export type ClusterObjects = FakeReady['objects'];

/** The requests one discoverer made to reach its full target set, as `verb resource` counts. */
export type Requests = readonly Pick<RequestCount, 'verb' | 'resource' | 'count'>[];

/** What the plot is drawn from: the cluster, the roles of its jobs, and the two measured discoverers' requests. */
export interface ApiLoadInput {
  readonly source: string;
  readonly cluster: ClusterObjects;
  readonly roles: readonly BenchRole[];
  readonly promfleet: Requests;
  readonly vmagent: Requests;
}

const listAndWatch = (resources: readonly string[]): Requests =>
  resources.flatMap((resource) => [
    { verb: 'list', resource, count: 1 },
    { verb: 'watch', resource, count: 1 },
  ]);

/**
 * BENCHMARKS.md, "Discovery", scale run (150,000 pods, 5,000 nodes, 601 Services, 1,850 EndpointSlices; the jobs
 * `kubernetes-pods`, `kubernetes-service-endpoints`, `kubernetes-nodes`): 8 API requests for each, one list and one
 * watch of pods, services, endpointslices and nodes.
 */
export const recordedInput: ApiLoadInput = {
  source: 'BENCHMARKS.md, "Discovery"',
  cluster: { pods: 150_000, nodes: 5_000, services: 601, endpointSlices: 1_850 },
  roles: ['pod', 'endpointslice', 'node'],
  promfleet: listAndWatch(['pods', 'services', 'endpointslices', 'nodes']),
  vmagent: listAndWatch(['pods', 'services', 'endpointslices', 'nodes']),
};

/** Thrown when a discovery benchmark summary lacks what the plot needs. */
export class SummaryError extends Error {
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'SummaryError';
  }
}

/** The plot's input from the JSON of `pnpm --filter @promfleet/bench discovery --json FILE`: its scale run's first runs. */
export function inputFromSummary(summary: Summary, file: string): ApiLoadInput {
  const scale = summary.scale;
  if (scale === undefined) throw new SummaryError(file, 'no scale comparison (the run was cut short)');
  const ours = scale.promfleet[0];
  const theirs = scale.vmagent[0];
  if (ours === undefined) throw new SummaryError(file, 'no promfleet run in the scale comparison');
  if (theirs === undefined) throw new SummaryError(file, `no vmagent run in the scale comparison (${scale.vmagentSkipped ?? 'not measured'})`);
  const roles = scale.roles.filter((r): r is BenchRole => r === 'pod' || r === 'endpointslice' || r === 'node');
  if (roles.length !== scale.roles.length) throw new SummaryError(file, `unknown role among ${scale.roles.join(', ')}`);
  const c = scale.cluster;
  return {
    source: `${file}, run of ${summary.startedAt.slice(0, 10)}`,
    cluster: c,
    roles,
    promfleet: ours.requests,
    vmagent: theirs.requests,
  };
}

/** The objects of a resource kind in the cluster; 0 for kinds the cluster does not hold. */
function objectsOf(cluster: ClusterObjects, resource: string): number {
  switch (resource) {
    case 'pods':
      return cluster.pods;
    case 'nodes':
      return cluster.nodes;
    case 'services':
      return cluster.services;
    case 'endpointslices':
      return cluster.endpointSlices;
    default:
      return 0;
  }
}

/** What one discoverer costs the API server to start: list and watch requests, and objects in its lists. */
export interface DiscovererLoad {
  readonly requests: number;
  readonly listedObjects: number;
  /** Open watches afterwards: each one receives every change of its kind. */
  readonly watches: number;
}

/** Only list and watch requests count: API discovery and `/version` are a few bytes and no objects. */
export function loadOf(requests: Requests, cluster: ClusterObjects): DiscovererLoad {
  let count = 0;
  let listedObjects = 0;
  let watches = 0;
  for (const r of requests) {
    if (r.verb === 'list') {
      count += r.count;
      listedObjects += r.count * objectsOf(cluster, r.resource);
    } else if (r.verb === 'watch') {
      count += r.count;
      watches += r.count;
    }
  }
  return { requests: count, listedObjects, watches };
}

/** The kinds a Prometheus `kubernetes_sd_config` of each role lists and watches with its own informers. */
const prometheusInformers: Readonly<Record<BenchRole, readonly string[]>> = {
  pod: ['pods'],
  endpointslice: ['endpointslices', 'services', 'pods'],
  node: ['nodes'],
};

/** One Prometheus server's requests for jobs of these roles, one `kubernetes_sd_config` each (identical ones share). */
export function prometheusRequests(roles: readonly BenchRole[]): Requests {
  return listAndWatch([...new Set(roles)].flatMap((role) => prometheusInformers[role]));
}

/** One line of the plot: a collector's load for 1..N scrapers, and whether each point was measured or derived. */
export interface Series {
  readonly name: string;
  readonly points: readonly { readonly scrapers: number; readonly load: DiscovererLoad; readonly measured: boolean }[];
}

const times = (load: DiscovererLoad, n: number): DiscovererLoad => ({
  requests: load.requests * n,
  listedObjects: load.listedObjects * n,
  watches: load.watches * n,
});

/**
 * The three lines for 1..maxScrapers workers, members or shards. promfleet's stays flat: workers hold no Kubernetes
 * credentials and make no API requests, so its point at N is the master's measured figure (measured alone, at N=1).
 */
export function apiLoadSeries(input: ApiLoadInput, maxScrapers: number): readonly Series[] {
  if (!Number.isInteger(maxScrapers) || maxScrapers < 2) throw new RangeError(`maxScrapers must be an integer ≥ 2, got ${maxScrapers}`);
  const ns = Array.from({ length: maxScrapers }, (_, i) => i + 1);
  const promfleet = loadOf(input.promfleet, input.cluster);
  const vmagent = loadOf(input.vmagent, input.cluster);
  const prometheus = loadOf(prometheusRequests(input.roles), input.cluster);
  return [
    { name: 'promfleet: 1 master + N workers', points: ns.map((n) => ({ scrapers: n, load: promfleet, measured: n === 1 })) },
    { name: 'vmagent cluster mode: N members', points: ns.map((n) => ({ scrapers: n, load: times(vmagent, n), measured: n === 1 })) },
    { name: 'Prometheus: N hashmod shards', points: ns.map((n) => ({ scrapers: n, load: times(prometheus, n), measured: false })) },
  ];
}

const styles: readonly { readonly color: string; readonly dash: string | undefined }[] = [
  { color: '#0072B2', dash: undefined },
  { color: '#E69F00', dash: '7 4' },
  { color: '#CC79A7', dash: '2 4' },
];

function lines(series: readonly Series[], pick: (load: DiscovererLoad) => number): Line[] {
  return series.map((s, i) => ({
    name: s.name,
    color: styles[i % styles.length]?.color ?? '#000',
    dash: styles[i % styles.length]?.dash,
    points: s.points.map((p) => ({ x: p.scrapers, y: pick(p.load), measured: p.measured })),
  }));
}

const millions = (v: number): string => (v === 0 ? '0' : `${(v / 1e6).toLocaleString('en-US', { maximumFractionDigits: 2 })} M`);

/** The chart for one input. */
export function apiLoadChart(input: ApiLoadInput, maxScrapers: number): Chart {
  const series = apiLoadSeries(input, maxScrapers);
  const c = input.cluster;
  return {
    title: 'What the Kubernetes API server serves to discover the cluster, by number of scrapers',
    panels: [
      { title: 'list and watch requests at start', xLabel: 'scrapers: promfleet workers, vmagent members, Prometheus shards', format: (v) => v.toLocaleString('en-US'), lines: lines(series, (l) => l.requests) },
      { title: 'objects sent in the initial lists', xLabel: 'scrapers: promfleet workers, vmagent members, Prometheus shards', format: millions, lines: lines(series, (l) => l.listedObjects) },
    ],
    footnotes: [
      `${c.pods.toLocaleString('en-US')} pods, ${c.nodes.toLocaleString('en-US')} nodes, ${c.services.toLocaleString('en-US')} Services, ${c.endpointSlices.toLocaleString('en-US')} EndpointSlices; one job per role (${input.roles.join(', ')}). Source: ${input.source}.`,
      'Filled: measured (one promfleet master, one vmagent; requests counted by the API server). Hollow: derived. promfleet workers make no API requests.',
      'N vmagent members or N Prometheus shards each discover the whole cluster: N × one. Prometheus is not measured (Debian builds it without',
      'kubernetes_sd): per its discovery code it runs informers per role, pods twice here. Each list returns every object of its kind (watch cache).',
      'Regenerate: pnpm --filter @promfleet/bench plot:api-load [--discovery-json FILE]',
    ],
  };
}
