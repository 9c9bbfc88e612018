/**
 * The resources the fake API server serves, described the way the real server's discovery documents and registry
 * strategies describe them.
 */
import { stringAt, type KubeObject } from './objects.js';

/** The resources the fake serves, by their URL (plural) names. */
export const resourceNames = [
  'pods',
  'services',
  'endpoints',
  'nodes',
  'namespaces',
  'endpointslices',
  'ingresses',
  'replicasets',
  'jobs',
  'leases',
  'secrets',
  'configmaps',
  'servicemonitors',
  'podmonitors',
  'probes',
  'scrapeconfigs',
] as const;

/** One of {@link resourceNames}. */
export type ResourceName = (typeof resourceNames)[number];

/** Reads one selectable field (`fields.Set` entry) of an object. */
type FieldGetter = (obj: KubeObject) => string;

/** What the fake knows about one resource: its place in the API and the strategy choices that matter here. */
export interface ResourceDescriptor {
  readonly name: ResourceName;
  readonly singularName: string;
  /** The API group; '' for the core (legacy) group served under `/api/v1`. */
  readonly group: string;
  readonly version: string;
  /** `v1` or `group/version`, the value objects carry in `apiVersion`. */
  readonly apiVersion: string;
  readonly kind: string;
  readonly listKind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /**
   * Whether the resource has a `status` subresource. The real server's strategies then ignore `status` on writes to
   * the main resource and everything but `status` on writes to the subresource.
   */
  readonly hasStatus: boolean;
  /** Whether DELETE answers with the deleted object (`ReturnDeletedObject`) rather than a `Status`. */
  readonly returnDeletedObject: boolean;
  /** Whether PUT to a missing object creates it (`AllowCreateOnUpdate`). */
  readonly allowCreateOnUpdate: boolean;
  /** Field selector labels beyond `metadata.name` (and `metadata.namespace` for namespaced resources). */
  readonly fields: ReadonlyMap<string, FieldGetter>;
}

interface DescriptorInput {
  readonly name: ResourceName;
  readonly kind: string;
  readonly group?: string;
  /** Defaults to `v1`. */
  readonly version?: string;
  readonly namespaced: boolean;
  readonly shortNames?: readonly string[];
  readonly hasStatus?: boolean;
  readonly returnDeletedObject?: boolean;
  readonly allowCreateOnUpdate?: boolean;
  readonly fields?: readonly (readonly [string, FieldGetter])[];
}

function descriptor(input: DescriptorInput): ResourceDescriptor {
  const group = input.group ?? '';
  const version = input.version ?? 'v1';
  return {
    name: input.name,
    singularName: input.kind.toLowerCase(),
    group,
    version,
    apiVersion: group === '' ? version : `${group}/${version}`,
    kind: input.kind,
    listKind: `${input.kind}List`,
    namespaced: input.namespaced,
    shortNames: input.shortNames ?? [],
    hasStatus: input.hasStatus ?? false,
    returnDeletedObject: input.returnDeletedObject ?? false,
    allowCreateOnUpdate: input.allowCreateOnUpdate ?? false,
    fields: new Map(input.fields ?? []),
  };
}

/**
 * Pod field labels as `pkg/registry/core/pod/strategy.go` `ToSelectableFields` declares them. A boolean field is
 * selected by its Go string form (`spec.hostNetwork=true`).
 */
const podFields: readonly (readonly [string, FieldGetter])[] = [
  ['spec.nodeName', (o) => stringAt(o, 'spec', 'nodeName')],
  ['spec.restartPolicy', (o) => stringAt(o, 'spec', 'restartPolicy')],
  ['spec.schedulerName', (o) => stringAt(o, 'spec', 'schedulerName')],
  ['spec.serviceAccountName', (o) => stringAt(o, 'spec', 'serviceAccountName')],
  ['spec.hostNetwork', (o) => stringAt(o, 'spec', 'hostNetwork') || 'false'],
  ['status.phase', (o) => stringAt(o, 'status', 'phase')],
  ['status.podIP', (o) => stringAt(o, 'status', 'podIP')],
  ['status.nominatedNodeName', (o) => stringAt(o, 'status', 'nominatedNodeName')],
];

const monitoringGroup = 'monitoring.coreos.com';

const descriptors: readonly ResourceDescriptor[] = [
  descriptor({
    name: 'pods',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    hasStatus: true,
    returnDeletedObject: true,
    fields: podFields,
  }),
  descriptor({ name: 'services', kind: 'Service', namespaced: true, shortNames: ['svc'], hasStatus: true, returnDeletedObject: true }),
  descriptor({ name: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'], allowCreateOnUpdate: true }),
  descriptor({
    name: 'nodes',
    kind: 'Node',
    namespaced: false,
    shortNames: ['no'],
    hasStatus: true,
    fields: [['spec.unschedulable', (o) => stringAt(o, 'spec', 'unschedulable') || 'false']],
  }),
  descriptor({
    name: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    hasStatus: true,
    returnDeletedObject: true,
    fields: [['status.phase', (o) => stringAt(o, 'status', 'phase')]],
  }),
  descriptor({ name: 'endpointslices', kind: 'EndpointSlice', group: 'discovery.k8s.io', namespaced: true }),
  descriptor({ name: 'ingresses', kind: 'Ingress', group: 'networking.k8s.io', namespaced: true, shortNames: ['ing'], hasStatus: true }),
  descriptor({ name: 'replicasets', kind: 'ReplicaSet', group: 'apps', namespaced: true, shortNames: ['rs'], hasStatus: true }),
  descriptor({ name: 'jobs', kind: 'Job', group: 'batch', namespaced: true, hasStatus: true }),
  descriptor({ name: 'leases', kind: 'Lease', group: 'coordination.k8s.io', namespaced: true, allowCreateOnUpdate: true }),
  descriptor({ name: 'secrets', kind: 'Secret', namespaced: true, fields: [['type', (o) => stringAt(o, 'type')]] }),
  descriptor({ name: 'configmaps', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] }),
  // prometheus-operator's custom resources, as its CRDs declare them (status subresources included).
  descriptor({ name: 'servicemonitors', kind: 'ServiceMonitor', group: monitoringGroup, namespaced: true, shortNames: ['smon'], hasStatus: true }),
  descriptor({ name: 'podmonitors', kind: 'PodMonitor', group: monitoringGroup, namespaced: true, shortNames: ['pmon'], hasStatus: true }),
  descriptor({ name: 'probes', kind: 'Probe', group: monitoringGroup, namespaced: true, shortNames: ['prb'], hasStatus: true }),
  descriptor({ name: 'scrapeconfigs', kind: 'ScrapeConfig', group: monitoringGroup, version: 'v1alpha1', namespaced: true, shortNames: ['scfg'], hasStatus: true }),
];

const byName = new Map<string, ResourceDescriptor>(descriptors.map((d) => [d.name, d]));
const byKind = new Map<string, ResourceDescriptor>(descriptors.map((d) => [`${d.apiVersion}/${d.kind}`, d]));

/** Every resource the fake serves, in a stable order. */
export function allResources(): readonly ResourceDescriptor[] {
  return descriptors;
}

/** The resource with URL name `name`, or undefined when the fake does not serve it. */
export function resourceByName(name: string): ResourceDescriptor | undefined {
  return byName.get(name);
}

/** The resource whose objects carry this `apiVersion` and `kind`, or undefined. */
export function resourceByKind(apiVersion: string, kind: string): ResourceDescriptor | undefined {
  return byKind.get(`${apiVersion}/${kind}`);
}

/** `pods` or `endpointslices.discovery.k8s.io`: how the real server names a resource in its messages. */
export function qualifiedResource(d: ResourceDescriptor): string {
  return d.group === '' ? d.name : `${d.name}.${d.group}`;
}

/** `Pod` or `EndpointSlice.discovery.k8s.io`: how the real server names a kind in `Invalid` messages. */
export function qualifiedKind(d: ResourceDescriptor): string {
  return d.group === '' ? d.kind : `${d.kind}.${d.group}`;
}
