/**
 * What every role shares: the `__meta_kubernetes_` label names, object-metadata labels, node and namespace metadata,
 * the lookups a role needs for its cross-object joins, and group sources. Mirrors `discovery/kubernetes/kubernetes.go`
 * (`addObjectMetaLabels`, `namespacedName`) and the `addNodeLabels`/`addNamespaceLabels` helpers of Prometheus 3.
 */
import type { Labels, TargetGroup } from '@promfleet/model';
import type { SlimMeta, SlimNamespace, SlimNode, SlimPod, SlimService, SlimWorkload } from './objects.js';

/** The prefix of every Kubernetes discovery meta label. */
export const metaLabelPrefix = '__meta_kubernetes_';

/** `__meta_kubernetes_namespace`: the namespace of the discovered object. */
export const namespaceLabel = `${metaLabelPrefix}namespace`;

/** The role names Prometheus uses in meta label names (`__meta_kubernetes_<role>_name`, `_label_`, ...). */
export type MetaRole = 'pod' | 'service' | 'endpoints' | 'endpointslice' | 'node' | 'ingress';

/** Which metadata of other objects to attach, as `attach_metadata` in a `kubernetes_sd_config`. */
export interface AttachMetadata {
  /** Node labels on pod, endpoints and endpointslice targets. */
  readonly node: boolean;
  /** Namespace labels and annotations on pod, service, endpoints, endpointslice and ingress groups. */
  readonly namespace: boolean;
  /** The Deployment of a pod controlled by a ReplicaSet (looked up), on pod, endpoints and endpointslice targets. */
  readonly deployment: boolean;
  /** The Job of a pod controlled by one (its controller name). */
  readonly job: boolean;
  /** The CronJob of a pod controlled by a Job (looked up). */
  readonly cronjob: boolean;
}

/**
 * The lookups a role needs to join one object with others, answered from the caller's caches (the master's
 * reflectors or the offline tool's lists). Each returns `undefined` for an object it does not hold, which Prometheus
 * treats as "no such object": the join adds nothing.
 */
export interface DiscoveryContext {
  pod(namespace: string, name: string): SlimPod | undefined;
  service(namespace: string, name: string): SlimService | undefined;
  node(name: string): SlimNode | undefined;
  namespace(name: string): SlimNamespace | undefined;
  /** A ReplicaSet or a Job, by kind, namespace and name. */
  workload(kind: SlimWorkload['kind'], namespace: string, name: string): SlimWorkload | undefined;
  readonly attachMetadata: AttachMetadata;
}

/** The objects a {@link createStaticContext} answers from. */
export interface StaticContextOptions {
  readonly pods?: readonly SlimPod[];
  readonly services?: readonly SlimService[];
  readonly nodes?: readonly SlimNode[];
  readonly namespaces?: readonly SlimNamespace[];
  readonly workloads?: readonly SlimWorkload[];
  readonly attachMetadata?: Partial<AttachMetadata>;
}

/**
 * A {@link DiscoveryContext} over fixed lists of objects, for the offline `promfleet targets` tool and for tests.
 * Objects are indexed once; a later object with the same namespace and name replaces an earlier one.
 */
export function createStaticContext(options: StaticContextOptions): DiscoveryContext {
  const index = <T extends { readonly meta: SlimMeta }>(items: readonly T[] | undefined): ReadonlyMap<string, T> =>
    new Map((items ?? []).map((item) => [namespacedName(item.meta.namespace, item.meta.name), item]));
  const pods = index(options.pods);
  const services = index(options.services);
  const nodes = index(options.nodes);
  const namespaces = index(options.namespaces);
  const workloads = new Map((options.workloads ?? []).map((w) => [`${w.kind}|${namespacedName(w.meta.namespace, w.meta.name)}`, w]));
  const attachMetadata: AttachMetadata = {
    node: options.attachMetadata?.node ?? false,
    namespace: options.attachMetadata?.namespace ?? false,
    deployment: options.attachMetadata?.deployment ?? false,
    job: options.attachMetadata?.job ?? false,
    cronjob: options.attachMetadata?.cronjob ?? false,
  };
  return {
    pod: (namespace, name) => pods.get(namespacedName(namespace, name)),
    service: (namespace, name) => services.get(namespacedName(namespace, name)),
    node: (name) => nodes.get(namespacedName('', name)),
    namespace: (name) => namespaces.get(namespacedName('', name)),
    workload: (kind, namespace, name) => workloads.get(`${kind}|${namespacedName(namespace, name)}`),
    attachMetadata,
  };
}

/** A cache key `<namespace>/<name>`, as Prometheus' `namespacedName` and client-go's store keys. */
function namespacedName(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The kinds that have target groups, each with its group-source prefix. */
const sourcePrefix = {
  Pod: 'pod',
  Service: 'svc',
  Endpoints: 'endpoints',
  EndpointSlice: 'endpointslice',
  Ingress: 'ingress',
} as const;

/**
 * The source of the group built from a namespaced object: `pod/<ns>/<name>`, `svc/<ns>/<name>`,
 * `endpoints/<ns>/<name>`, `endpointslice/<ns>/<name>` or `ingress/<ns>/<name>`, as Prometheus names them.
 */
export function groupSource(kind: keyof typeof sourcePrefix, namespace: string, name: string): string {
  return `${sourcePrefix[kind]}/${namespace}/${name}`;
}

/** The source of the group built from a Node: `node/<name>`. */
export function nodeGroupSource(name: string): string {
  return `node/${name}`;
}

const noLabels: Labels = new Map();

/**
 * The group that deletes `source`: no targets, no labels. The reflector sends it when an object disappears, as
 * Prometheus' `process` does for a key that is no longer in the store.
 */
export function deletedGroup(source: string): TargetGroup {
  return { source, targets: [], labels: noLabels };
}

/**
 * Prometheus' `strutil.SanitizeLabelName`: every character outside `[a-zA-Z0-9_]` becomes `_`. It works on code
 * points, as Go's regexp works on runes, so an emoji becomes one underscore.
 */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/gu, '_');
}

/**
 * Adds `<prefix><sanitized key>` and `<prefix>present_<sanitized key>` for each entry, e.g. `_label_app` and
 * `_labelpresent_app`. When two keys sanitize to the same name the later one wins (Go's map order is random).
 */
function addPresentPairs(
  out: Map<string, string>,
  entries: ReadonlyMap<string, string>,
  prefixes: { value: string; present: string },
): void {
  for (const [key, value] of entries) {
    const name = sanitizeLabelName(key);
    out.set(prefixes.value + name, value);
    out.set(prefixes.present + name, 'true');
  }
}

/**
 * Prometheus' `addObjectMetaLabels`: `__meta_kubernetes_<role>_name` and the `_label_`, `_labelpresent_`,
 * `_annotation_` and `_annotationpresent_` labels of the object.
 */
export function addObjectMetaLabels(out: Map<string, string>, meta: SlimMeta, role: MetaRole): void {
  const prefix = `${metaLabelPrefix}${role}_`;
  out.set(`${prefix}name`, meta.name);
  addPresentPairs(out, meta.labels, { value: `${prefix}label_`, present: `${prefix}labelpresent_` });
  addPresentPairs(out, meta.annotations, { value: `${prefix}annotation_`, present: `${prefix}annotationpresent_` });
}

/**
 * Prometheus' `addNodeLabels`: when the node is known, the node's name, labels and annotations as
 * `__meta_kubernetes_node_*`, overriding what `out` held under those names. Nothing when `nodeName` is undefined
 * or the node is not in the cache.
 */
export function addNodeLabels(out: Map<string, string>, context: DiscoveryContext, nodeName: string | undefined): void {
  if (nodeName === undefined) return;
  const node = context.node(nodeName);
  if (node !== undefined) addObjectMetaLabels(out, node.meta, 'node');
}

/**
 * Prometheus 3's `addNamespaceLabels` (`attach_metadata: {namespace: true}`): the namespace's labels and annotations
 * as `__meta_kubernetes_namespace_label_*`, `_labelpresent_*`, `_annotation_*` and `_annotationpresent_*`. Nothing
 * when the namespace is not in the cache.
 */
export function addNamespaceLabels(out: Map<string, string>, context: DiscoveryContext, namespace: string): void {
  const ns = context.namespace(namespace);
  if (ns === undefined) return;
  addPresentPairs(out, ns.meta.labels, { value: `${namespaceLabel}_label_`, present: `${namespaceLabel}_labelpresent_` });
  addPresentPairs(out, ns.meta.annotations, { value: `${namespaceLabel}_annotation_`, present: `${namespaceLabel}_annotationpresent_` });
}

/**
 * Go's `net.JoinHostPort`: `host:port`, with the host in brackets when it contains a colon (an IPv6 address), so
 * `::1` and 80 give `[::1]:80`.
 */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
