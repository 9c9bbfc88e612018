/**
 * A synthetic cluster that looks like a real one to service discovery: nodes with addresses and a kubelet port,
 * pods owned by ReplicaSets and DaemonSets with the labels, annotations, ports and status real controllers produce,
 * services selecting them, and EndpointSlices of at most 100 endpoints each, as the EndpointSlice controller cuts
 * them. The same options and seed always give the same objects.
 *
 * Objects of one workload share their unchanging parts (labels, annotations, container specs), which keeps a
 * 150,000-pod cluster small in memory; nothing may mutate them.
 */
import { kubeTimestamp, type KubeObject, type OwnerReference } from './objects.js';
import { Random } from './random.js';

/** The size and seed of a synthetic cluster. Give exactly one of `podsPerNode` and `pods`. */
export type GenerateClusterOptions = ClusterShape &
  ({ readonly podsPerNode: number; readonly pods?: never } | { readonly pods: number; readonly podsPerNode?: never });

/** The parts of {@link GenerateClusterOptions} besides the pod count. */
export interface ClusterShape {
  readonly nodes: number;
  /** Application namespaces; `default` and `kube-system` are always there too. */
  readonly namespaces: number;
  /** Services per application namespace, each in front of one Deployment's ReplicaSet. */
  readonly servicesPerNamespace: number;
  readonly seed: number;
  /** DaemonSets in `kube-system`, one pod per node each while the pod budget lasts. Defaults to 1 (node-exporter). */
  readonly daemonSets?: number;
  /** The creation time the objects' timestamps are spread after. Defaults to 2025-01-01T00:00:00Z. */
  readonly createdAt?: Date;
}

/** A container port as a pod declares it and an EndpointSlice lists it. */
export interface WorkloadPort {
  readonly name: string;
  readonly port: number;
}

/** A pod template: what every pod of one ReplicaSet or DaemonSet shares. */
export interface Workload {
  readonly kind: 'ReplicaSet' | 'DaemonSet';
  readonly namespace: string;
  readonly name: string;
  /** `<name>-`, the prefix of the workload's pod names. */
  readonly generateName: string;
  readonly uid: string;
  /** The Service in front of the workload (same namespace). */
  readonly service: string;
  readonly hostNetwork: boolean;
  /** The ports the Service's EndpointSlices list. */
  readonly ports: readonly WorkloadPort[];
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly OwnerReference[];
  readonly spec: Readonly<Record<string, unknown>>;
  readonly readyStatus: PodStatusParts;
  readonly unreadyStatus: PodStatusParts;
}

/** The shared parts of a pod's status for one readiness state. */
export interface PodStatusParts {
  readonly conditions: readonly unknown[];
  readonly containerStatuses: readonly unknown[];
}

/** What a pod needs to know about the node it runs on. */
export interface NodePlacement {
  readonly name: string;
  readonly internalIP: string;
  readonly zone: string;
  /** `status.hostIPs` of the node's pods, shared by all of them. */
  readonly hostIPs: readonly { readonly ip: string }[];
}

/** A generated cluster: its objects by kind, and the workloads that own the pods. */
export interface SyntheticCluster {
  readonly seed: number;
  readonly namespaces: readonly KubeObject[];
  readonly nodes: readonly KubeObject[];
  readonly services: readonly KubeObject[];
  readonly pods: readonly KubeObject[];
  readonly endpointSlices: readonly KubeObject[];
  readonly workloads: readonly Workload[];
  /** Every object, in an order a real cluster could have created them (namespaces and nodes first). */
  objects(): KubeObject[];
}

const region = 'eu-west-1';
const zones = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];
const namespaceWords = ['shop', 'payments', 'search', 'identity', 'analytics', 'media', 'platform', 'messaging', 'catalog', 'logistics'];
const appWords = ['api', 'web', 'worker', 'gateway', 'scheduler', 'indexer', 'notifier', 'auth', 'billing', 'frontend', 'backend', 'cache-proxy'];
const daemonSetWords = ['node-exporter', 'kube-proxy', 'fluent-bit', 'cilium-agent', 'csi-node'];
const instanceTypes = ['m6i.xlarge', 'm6i.2xlarge', 'c6i.4xlarge'];
/** The alphabet of generated name suffixes and template hashes (`rand.SafeEncodeString`). */
export const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789';
/** The most endpoints the EndpointSlice controller puts in one slice (`--max-endpoints-per-slice` default). */
export const maxEndpointsPerSlice = 100;

function word(words: readonly string[], i: number): string {
  const base = words[i % words.length] ?? 'x';
  return i < words.length ? base : `${base}-${Math.floor(i / words.length)}`;
}

/** The pod network of node `index`: a /24 per node inside 10.0.0.0/9. */
function nodePodCidr(index: number): string {
  return podAddress(index, 0) + '/24';
}

function podAddress(nodeIndex: number, host: number): string {
  return `10.${(nodeIndex >> 8) & 127}.${nodeIndex & 255}.${host}`;
}

function nodeIp(index: number): string {
  const n = index + 1;
  return `10.${128 + ((n >> 16) & 127)}.${(n >> 8) & 255}.${n & 255}`;
}

function later(base: Date, seconds: number): string {
  return kubeTimestamp(new Date(base.getTime() + seconds * 1000));
}

function podStatusParts(containers: readonly { readonly name: string; readonly image: string }[], ready: boolean, since: string): PodStatusParts {
  const status = ready ? 'True' : 'False';
  const condition = (type: string, value: string): unknown => ({ type, status: value, lastProbeTime: null, lastTransitionTime: since });
  return {
    conditions: [
      condition('PodReadyToStartContainers', 'True'),
      condition('Initialized', 'True'),
      condition('Ready', status),
      condition('ContainersReady', status),
      condition('PodScheduled', 'True'),
    ],
    containerStatuses: containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `${c.image}@sha256:${'0'.repeat(64)}`,
      ready,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: since } },
    })),
  };
}

interface WorkloadInput {
  readonly rng: Random;
  readonly kind: 'ReplicaSet' | 'DaemonSet';
  readonly namespace: string;
  readonly app: string;
  readonly index: number;
  readonly createdAt: Date;
}

function makeWorkload(input: WorkloadInput): Workload {
  const { rng, kind, namespace, app, createdAt } = input;
  const hash = rng.chars(safeAlphabet, 10);
  const daemon = kind === 'DaemonSet';
  const name = daemon ? app : `${app}-${hash}`;
  const uid = rng.uuid();
  const since = later(createdAt, 3600 + rng.int(86_400));
  const metricsPort = daemon ? 9100 + input.index : 9090;
  const containers: { name: string; image: string; ports: unknown[]; resources: unknown }[] = [
    {
      name: app,
      image: daemon ? `quay.io/example/${app}:v1.8.2` : `registry.example.com/${namespace}/${app}:v1.${rng.int(30)}.${rng.int(10)}`,
      ports: daemon
        ? [{ name: 'metrics', containerPort: metricsPort, hostPort: metricsPort, protocol: 'TCP' }]
        : [
            { name: 'http', containerPort: 8080, protocol: 'TCP' },
            { name: 'metrics', containerPort: metricsPort, protocol: 'TCP' },
          ],
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    },
  ];
  if (!daemon && input.index % 3 === 2) {
    containers.push({
      name: 'envoy',
      image: 'envoyproxy/envoy:v1.31.0',
      ports: [{ name: 'envoy-admin', containerPort: 9901, protocol: 'TCP' }],
      resources: { requests: { cpu: '50m', memory: '64Mi' } },
    });
  }
  const labels: Record<string, string> = daemon
    ? { 'app.kubernetes.io/name': app, 'controller-revision-hash': hash, 'pod-template-generation': '1' }
    : { 'app.kubernetes.io/name': app, 'app.kubernetes.io/instance': app, 'app.kubernetes.io/part-of': namespace, 'pod-template-hash': hash };
  const scrape = daemon || rng.next() < 0.8;
  const annotations: Record<string, string> = {
    'prometheus.io/scrape': String(scrape),
    'prometheus.io/port': String(metricsPort),
    'prometheus.io/path': '/metrics',
    'kubectl.kubernetes.io/default-container': app,
  };
  const spec: Record<string, unknown> = {
    containers,
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: daemon ? 'ClusterFirstWithHostNet' : 'ClusterFirst',
    serviceAccountName: daemon ? app : 'default',
    schedulerName: 'default-scheduler',
    enableServiceLinks: true,
    priority: daemon ? 2_000_001_000 : 0,
    ...(daemon ? { hostNetwork: true, priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }] } : {}),
  };
  return {
    kind,
    namespace,
    name,
    generateName: `${name}-`,
    uid,
    service: app,
    hostNetwork: daemon,
    ports: daemon ? [{ name: 'metrics', port: metricsPort }] : [{ name: 'http', port: 8080 }, { name: 'metrics', port: metricsPort }],
    labels,
    annotations,
    ownerReferences: [{ apiVersion: 'apps/v1', kind, name, uid, controller: true, blockOwnerDeletion: true }],
    spec,
    readyStatus: podStatusParts(containers, true, since),
    unreadyStatus: podStatusParts(containers, false, since),
  };
}

/** What {@link makePod} needs besides the workload. */
export interface PodInput {
  readonly workload: Workload;
  readonly node: NodePlacement;
  readonly name: string;
  readonly uid: string;
  readonly podIP: string;
  readonly createdAt: string;
  readonly ready: boolean;
}

/** A running pod of `workload` on `node`, as the kubelet reports it. */
export function makePod(input: PodInput): KubeObject {
  const { workload, node } = input;
  const parts = input.ready ? workload.readyStatus : workload.unreadyStatus;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: input.name,
      generateName: workload.generateName,
      namespace: workload.namespace,
      uid: input.uid,
      creationTimestamp: input.createdAt,
      labels: workload.labels,
      annotations: workload.annotations,
      ownerReferences: workload.ownerReferences,
    },
    spec: { ...workload.spec, nodeName: node.name },
    status: {
      phase: 'Running',
      conditions: parts.conditions,
      hostIP: node.internalIP,
      hostIPs: node.hostIPs,
      podIP: input.podIP,
      podIPs: [{ ip: input.podIP }],
      startTime: input.createdAt,
      containerStatuses: parts.containerStatuses,
      qosClass: 'Burstable',
    },
  };
}

const readyConditions = { ready: true, serving: true, terminating: false } as const;
const unreadyConditions = { ready: false, serving: false, terminating: false } as const;

/** The `conditions` of an endpoint; the two possible values are shared by every endpoint. */
export function endpointConditions(ready: boolean): typeof readyConditions | typeof unreadyConditions {
  return ready ? readyConditions : unreadyConditions;
}

/** One endpoint of an EndpointSlice for `pod`. */
export function podEndpoint(pod: KubeObject, ready: boolean, zone: string): unknown {
  const status = pod['status'] as { readonly podIP?: string } | undefined;
  const spec = pod['spec'] as { readonly nodeName?: string } | undefined;
  return {
    addresses: [status?.podIP ?? ''],
    conditions: endpointConditions(ready),
    nodeName: spec?.nodeName ?? '',
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' },
    zone,
  };
}

/** What {@link makeEndpointSlice} needs. */
export interface EndpointSliceInput {
  readonly workload: Workload;
  readonly service: KubeObject;
  readonly name: string;
  readonly uid: string;
  readonly endpoints: readonly unknown[];
  readonly createdAt: string;
}

/** An EndpointSlice of a Service, labelled and owned as the EndpointSlice controller does it. */
export function makeEndpointSlice(input: EndpointSliceInput): KubeObject {
  const { service } = input;
  const serviceName = service.metadata.name ?? '';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: input.name,
      generateName: `${serviceName}-`,
      namespace: service.metadata.namespace ?? '',
      uid: input.uid,
      creationTimestamp: input.createdAt,
      labels: {
        ...service.metadata.labels,
        'kubernetes.io/service-name': serviceName,
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': input.createdAt },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: serviceName, uid: service.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    addressType: 'IPv4',
    endpoints: input.endpoints,
    ports: input.workload.ports.map((p) => ({ name: p.name, port: p.port, protocol: 'TCP' })),
  };
}

function makeNode(rng: Random, index: number, createdAt: Date): { node: KubeObject; placement: NodePlacement } {
  const ip = nodeIp(index);
  const name = `ip-${ip.replaceAll('.', '-')}.${region}.compute.internal`;
  const zone = zones[index % zones.length] ?? 'eu-west-1a';
  const instanceType = instanceTypes[index % instanceTypes.length] ?? 'm6i.xlarge';
  const podCidr = nodePodCidr(index);
  const since = later(createdAt, rng.int(3600));
  const node: KubeObject = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: rng.uuid(),
      creationTimestamp: since,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': instanceType,
        'topology.kubernetes.io/region': region,
        'topology.kubernetes.io/zone': zone,
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: { podCIDR: podCidr, podCIDRs: [podCidr], providerID: `aws:///${zone}/i-${rng.chars('0123456789abcdef', 17)}` },
    status: {
      addresses: [
        { type: 'InternalIP', address: ip },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      conditions: [
        { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: since, lastTransitionTime: since },
        { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', lastHeartbeatTime: since, lastTransitionTime: since },
        { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', lastHeartbeatTime: since, lastTransitionTime: since },
        { type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: since, lastTransitionTime: since },
      ],
      nodeInfo: {
        kubeletVersion: 'v1.32.0',
        kubeProxyVersion: 'v1.32.0',
        containerRuntimeVersion: 'containerd://1.7.23',
        operatingSystem: 'linux',
        architecture: 'amd64',
        osImage: 'Amazon Linux 2023',
        kernelVersion: '6.1.112',
      },
    },
  };
  return { node, placement: { name, internalIP: ip, zone, hostIPs: [{ ip }] } };
}

function makeNamespace(rng: Random, name: string, createdAt: Date): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, uid: rng.uuid(), creationTimestamp: kubeTimestamp(createdAt), labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

function makeService(input: { readonly rng: Random; readonly workload: Workload; readonly index: number; readonly createdAt: Date }): KubeObject {
  const { rng, workload, index, createdAt } = input;
  const headless = workload.kind === 'DaemonSet';
  const clusterIP = headless ? 'None' : `10.96.${((index + 10) >> 8) & 255}.${(index + 10) & 255}`;
  const selectorKey = 'app.kubernetes.io/name';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: workload.service,
      namespace: workload.namespace,
      uid: rng.uuid(),
      creationTimestamp: later(createdAt, 600 + rng.int(3600)),
      labels: { [selectorKey]: workload.labels[selectorKey] ?? workload.service },
      annotations: { 'prometheus.io/scrape': String(index % 2 === 0), 'prometheus.io/port': String(workload.ports.at(-1)?.port ?? 9090) },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
      sessionAffinity: 'None',
      selector: { [selectorKey]: workload.labels[selectorKey] ?? workload.service },
      ports: workload.ports.map((p) => ({ name: p.name, port: p.name === 'http' ? 80 : p.port, targetPort: p.name, protocol: 'TCP' })),
    },
    status: { loadBalancer: {} },
  };
}

function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

/**
 * Generates a cluster. DaemonSet pods are placed first, one per node and DaemonSet while the pod budget lasts;
 * the rest are spread evenly over the Deployments, on nodes picked at random. Pod IPs come from each node's /24,
 * so at most 253 pods fit on one node.
 *
 * @throws RangeError for negative or fractional sizes, for pods left over with no Deployment to own them, and for
 *   more pods on one node than its pod network holds.
 */
export function generateCluster(options: GenerateClusterOptions): SyntheticCluster {
  const { nodes: nodeCount, namespaces: namespaceCount, servicesPerNamespace, seed } = options;
  const daemonSetCount = options.daemonSets ?? 1;
  const podCount = options.pods ?? (options.podsPerNode ?? 0) * nodeCount;
  for (const [name, value] of [
    ['nodes', nodeCount],
    ['namespaces', namespaceCount],
    ['servicesPerNamespace', servicesPerNamespace],
    ['daemonSets', daemonSetCount],
    ['pods', podCount],
  ] as const) {
    checkCount(name, value);
  }
  const createdAt = options.createdAt ?? new Date('2025-01-01T00:00:00Z');
  const rng = new Random(seed);

  const namespaceNames = ['default', 'kube-system', ...Array.from({ length: namespaceCount }, (_, i) => word(namespaceWords, i))];
  const namespaces = namespaceNames.map((name) => makeNamespace(rng, name, createdAt));
  const nodeParts = Array.from({ length: nodeCount }, (_, i) => makeNode(rng, i, createdAt));
  const placements = nodeParts.map((p) => p.placement);

  const daemonSets = Array.from({ length: daemonSetCount }, (_, i) =>
    makeWorkload({ rng, kind: 'DaemonSet', namespace: 'kube-system', app: word(daemonSetWords, i), index: i, createdAt }),
  );
  const replicaSets = namespaceNames.slice(2).flatMap((namespace) =>
    Array.from({ length: servicesPerNamespace }, (_, i) => makeWorkload({ rng, kind: 'ReplicaSet', namespace, app: word(appWords, i), index: i, createdAt })),
  );
  const workloads = [...daemonSets, ...replicaSets];
  const services = workloads.map((workload, index) => makeService({ rng, workload, index, createdAt }));

  const podsByWorkload = new Map<Workload, { readonly pod: KubeObject; readonly zone: string }[]>(workloads.map((w) => [w, []]));
  // Five suffix characters collide within a few thousand pods of one workload; the real controllers retry on
  // AlreadyExists, so a generated name is drawn again until it is free.
  const usedNames = new Set<string>();
  const uniqueName = (namespace: string, prefix: string): string => {
    let name: string;
    do name = `${prefix}${rng.chars(safeAlphabet, 5)}`;
    while (usedNames.has(`${namespace}/${name}`));
    usedNames.add(`${namespace}/${name}`);
    return name;
  };
  const hostsUsed = new Array<number>(nodeCount).fill(0);
  const addPod = (workload: Workload, nodeIndex: number): void => {
    const node = placements[nodeIndex];
    if (node === undefined) return;
    let podIP = node.internalIP;
    if (!workload.hostNetwork) {
      const used = hostsUsed[nodeIndex] ?? 0;
      if (used >= 253) throw new RangeError(`more than 253 pods on node ${node.name}; add nodes or lower the pod count`);
      hostsUsed[nodeIndex] = used + 1;
      podIP = podAddress(nodeIndex, used + 2);
    }
    const pod = makePod({
      workload,
      node,
      name: uniqueName(workload.namespace, workload.generateName),
      uid: rng.uuid(),
      podIP,
      createdAt: later(createdAt, 7200 + rng.int(86_400)),
      ready: true,
    });
    podsByWorkload.get(workload)?.push({ pod, zone: node.zone });
  };

  let budget = podCount;
  for (const ds of daemonSets) {
    for (let n = 0; n < nodeCount && budget > 0; n++, budget--) addPod(ds, n);
  }
  if (budget > 0 && replicaSets.length === 0) {
    throw new RangeError(`${budget} pods have no Deployment to belong to; give namespaces and servicesPerNamespace above 0`);
  }
  if (budget > 0 && nodeCount === 0) throw new RangeError('pods need at least one node');
  for (let i = 0; i < replicaSets.length; i++) {
    const rs = replicaSets[i];
    if (rs === undefined) continue;
    const replicas = Math.floor(budget / replicaSets.length) + (i < budget % replicaSets.length ? 1 : 0);
    for (let r = 0; r < replicas; r++) addPod(rs, rng.int(nodeCount));
  }

  const endpointSlices = workloads.flatMap((workload, i) => {
    const service = services[i];
    const pods = podsByWorkload.get(workload) ?? [];
    if (service === undefined) return [];
    const slices: KubeObject[] = [];
    for (let start = 0; start === 0 || start < pods.length; start += maxEndpointsPerSlice) {
      const chunk = pods.slice(start, start + maxEndpointsPerSlice);
      slices.push(
        makeEndpointSlice({
          workload,
          service,
          name: uniqueName(`slices:${workload.namespace}`, `${workload.service}-`),
          uid: rng.uuid(),
          endpoints: chunk.map(({ pod, zone }) => podEndpoint(pod, true, zone)),
          createdAt: later(createdAt, 600 + rng.int(3600)),
        }),
      );
    }
    return slices;
  });

  return clusterOf({
    seed,
    namespaces,
    nodes: nodeParts.map((p) => p.node),
    services,
    pods: workloads.flatMap((w) => (podsByWorkload.get(w) ?? []).map((p) => p.pod)),
    endpointSlices,
    workloads,
  });
}

/**
 * Wraps the parts outside `generateCluster`, so `objects` closes over nothing else: a closure made inside would
 * keep the generator's scratch state (the name set, the per-workload lists) alive as long as the cluster.
 */
function clusterOf(parts: Omit<SyntheticCluster, 'objects'>): SyntheticCluster {
  return { ...parts, objects: () => [...parts.namespaces, ...parts.nodes, ...parts.services, ...parts.pods, ...parts.endpointSlices] };
}
