/**
 * Slim Kubernetes objects: only the fields discovery reads, so that 150k pods fit in the master's memory. Each
 * converter takes one object as the API server sends it (a List item, which has no `kind`, or a watch event's
 * `object`) and either returns the slim object or throws a {@link BadObjectError} naming the kind, namespace, name
 * and the field at fault. Absent optional fields take Go's zero value, as they do in Prometheus.
 */
import { BadObjectError, type KubernetesKind } from './errors.js';
import {
  FieldError,
  isJsonObject,
  objects,
  optBool,
  optInt,
  optObject,
  optString,
  requiredString,
  str,
  stringMap,
  strings,
  type JsonObject,
} from './json.js';

/** The object metadata discovery uses. `namespace` is `''` for cluster-scoped kinds. */
export interface SlimMeta {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly labels: ReadonlyMap<string, string>;
  readonly annotations: ReadonlyMap<string, string>;
}

/** A reference to another object (`targetRef`, the controlling owner). */
export interface SlimObjectRef {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
}

/** One declared container port. */
export interface SlimContainerPort {
  readonly name: string;
  readonly containerPort: number;
  readonly protocol: string;
}

/** A container or init container, with its id joined from the matching container status (`''` if none). */
export interface SlimContainer {
  readonly name: string;
  readonly image: string;
  readonly containerId: string;
  readonly ports: readonly SlimContainerPort[];
}

/** A Pod (core/v1). */
export interface SlimPod {
  readonly kind: 'Pod';
  readonly meta: SlimMeta;
  /** The owner reference with `controller: true`, as apimachinery's `GetControllerOf`. */
  readonly controller?: SlimObjectRef;
  readonly nodeName: string;
  readonly phase: string;
  readonly podIP: string;
  readonly hostIP: string;
  /** The `Ready` condition's status lowercased, or `unknown` when the pod has no such condition. */
  readonly ready: string;
  readonly containers: readonly SlimContainer[];
  readonly initContainers: readonly SlimContainer[];
}

/** One port of a Service. */
export interface SlimServicePort {
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
}

/** A Service (core/v1). */
export interface SlimService {
  readonly kind: 'Service';
  readonly meta: SlimMeta;
  readonly type: string;
  readonly clusterIP: string;
  readonly externalName: string;
  readonly loadBalancerIP: string;
  /** The non-empty `status.loadBalancer.ingress[].ip`, in order (hostnames are not kept). */
  readonly loadBalancerIngressIPs: readonly string[];
  /** `spec.ipFamilyPolicy` (`SingleStack`, `PreferDualStack`, `RequireDualStack`), "" when unset. */
  readonly ipFamilyPolicy: string;
  /** `spec.ipFamilies`, the primary family first (`IPv4`, `IPv6`). */
  readonly ipFamilies: readonly string[];
  readonly ports: readonly SlimServicePort[];
}

/** One address of an Endpoints subset. */
export interface SlimEndpointAddress {
  readonly ip: string;
  readonly hostname: string;
  readonly nodeName?: string;
  readonly targetRef?: SlimObjectRef;
}

/** One port of an Endpoints subset. */
export interface SlimEndpointPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
}

/** One subset of an Endpoints object. */
export interface SlimEndpointSubset {
  readonly addresses: readonly SlimEndpointAddress[];
  readonly notReadyAddresses: readonly SlimEndpointAddress[];
  readonly ports: readonly SlimEndpointPort[];
}

/** An Endpoints object (core/v1). */
export interface SlimEndpoints {
  readonly kind: 'Endpoints';
  readonly meta: SlimMeta;
  readonly subsets: readonly SlimEndpointSubset[];
}

/** One port of an EndpointSlice; every field is optional in discovery.k8s.io/v1. */
export interface SlimEndpointSlicePort {
  readonly name?: string;
  readonly port?: number;
  readonly protocol?: string;
  readonly appProtocol?: string;
}

/** One endpoint of an EndpointSlice. */
export interface SlimEndpointSliceEndpoint {
  readonly addresses: readonly string[];
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
  readonly hostname?: string;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly targetRef?: SlimObjectRef;
  readonly deprecatedTopology: ReadonlyMap<string, string>;
}

/** An EndpointSlice (discovery.k8s.io/v1). */
export interface SlimEndpointSlice {
  readonly kind: 'EndpointSlice';
  readonly meta: SlimMeta;
  readonly addressType: string;
  readonly ports: readonly SlimEndpointSlicePort[];
  readonly endpoints: readonly SlimEndpointSliceEndpoint[];
}

/** One entry of `status.addresses` of a Node. */
export interface SlimNodeAddress {
  readonly type: string;
  readonly address: string;
}

/** A Node (core/v1). */
export interface SlimNode {
  readonly kind: 'Node';
  readonly meta: SlimMeta;
  readonly providerID: string;
  readonly addresses: readonly SlimNodeAddress[];
  /** `status.daemonEndpoints.kubeletEndpoint.Port`, `0` when absent. */
  readonly kubeletPort: number;
  /** `status.conditions`: each condition's type and status, in order. */
  readonly conditions: readonly SlimNodeCondition[];
}

/** One entry of `status.conditions` of a Node. */
export interface SlimNodeCondition {
  readonly type: string;
  readonly status: string;
}

/** One rule of an Ingress. `paths` is `undefined` when the rule has no `http` block. */
export interface SlimIngressRule {
  readonly host: string;
  readonly paths?: readonly string[];
}

/** An Ingress (networking.k8s.io/v1). */
export interface SlimIngress {
  readonly kind: 'Ingress';
  readonly meta: SlimMeta;
  readonly ingressClassName?: string;
  /** The hosts of every `spec.tls` entry, in order. */
  readonly tlsHosts: readonly string[];
  readonly rules: readonly SlimIngressRule[];
}

/** A Namespace (core/v1), used for namespace metadata. */
export interface SlimNamespace {
  readonly kind: 'Namespace';
  readonly meta: SlimMeta;
}

/** Any slim object. */
/**
 * A ReplicaSet (apps/v1) or a Job (batch/v1), read only for its controller: the Deployment or CronJob that owns it,
 * which `attach_metadata` `deployment` and `cronjob` put on the pods it controls.
 */
export interface SlimWorkload {
  readonly kind: 'ReplicaSet' | 'Job';
  readonly meta: SlimMeta;
  readonly controller?: SlimObjectRef;
}

export type SlimObject = SlimPod | SlimService | SlimEndpoints | SlimEndpointSlice | SlimNode | SlimIngress | SlimNamespace | SlimWorkload;

const portRange = { min: 0, max: 65_535 } as const;
const int32Range = { min: -2_147_483_648, max: 2_147_483_647 } as const;

/** Converts a raw Pod. */
export function slimPod(raw: unknown): SlimPod {
  return convert({ kind: 'Pod', raw, namespaced: true }, (obj, meta) => {
    const spec = optObject(obj, 'spec', '') ?? {};
    const status = optObject(obj, 'status', '') ?? {};
    const ids = containerIds(status, 'containerStatuses');
    const initIds = containerIds(status, 'initContainerStatuses');
    const controller = controllerOf(obj);
    return {
      kind: 'Pod',
      meta,
      ...(controller === undefined ? {} : { controller }),
      nodeName: str(spec, 'nodeName', 'spec'),
      phase: str(status, 'phase', 'status'),
      podIP: str(status, 'podIP', 'status'),
      hostIP: str(status, 'hostIP', 'status'),
      ready: readyOf(status),
      containers: objects(spec, 'containers', { path: 'spec', read: (c, path) => container(c, { path, ids }) }),
      initContainers: objects(spec, 'initContainers', { path: 'spec', read: (c, path) => container(c, { path, ids: initIds }) }),
    };
  });
}

/** Converts a raw ReplicaSet. */
export function slimReplicaSet(raw: unknown): SlimWorkload {
  return slimWorkload('ReplicaSet', raw);
}

/** Converts a raw Job. */
export function slimJob(raw: unknown): SlimWorkload {
  return slimWorkload('Job', raw);
}

function slimWorkload(kind: SlimWorkload['kind'], raw: unknown): SlimWorkload {
  return convert({ kind, raw, namespaced: true }, (obj, meta) => {
    const controller = controllerOf(obj);
    return { kind, meta, ...(controller === undefined ? {} : { controller }) };
  });
}

/** Converts a raw Service. */
export function slimService(raw: unknown): SlimService {
  return convert({ kind: 'Service', raw, namespaced: true }, (obj, meta) => {
    const spec = optObject(obj, 'spec', '') ?? {};
    const status = optObject(obj, 'status', '') ?? {};
    const loadBalancer = optObject(status, 'loadBalancer', 'status') ?? {};
    const ingress = objects(loadBalancer, 'ingress', { path: 'status.loadBalancer', read: (i, path) => str(i, 'ip', path) });
    return {
      kind: 'Service',
      meta,
      type: str(spec, 'type', 'spec'),
      clusterIP: str(spec, 'clusterIP', 'spec'),
      externalName: str(spec, 'externalName', 'spec'),
      loadBalancerIP: str(spec, 'loadBalancerIP', 'spec'),
      loadBalancerIngressIPs: ingress.filter((ip) => ip !== ''),
      ipFamilyPolicy: str(spec, 'ipFamilyPolicy', 'spec'),
      ipFamilies: strings(spec, 'ipFamilies', 'spec'),
      ports: objects(spec, 'ports', {
        path: 'spec',
        read: (p, path) => ({ name: str(p, 'name', path), port: requiredPort(p, 'port', path), protocol: str(p, 'protocol', path) }),
      }),
    };
  });
}

/** Converts a raw Endpoints object. */
export function slimEndpoints(raw: unknown): SlimEndpoints {
  return convert({ kind: 'Endpoints', raw, namespaced: true }, (obj, meta) => ({
    kind: 'Endpoints',
    meta,
    subsets: objects(obj, 'subsets', {
      path: '',
      read: (s, path) => ({
        addresses: objects(s, 'addresses', { path, read: endpointAddress }),
        notReadyAddresses: objects(s, 'notReadyAddresses', { path, read: endpointAddress }),
        ports: objects(s, 'ports', {
          path,
          read: (p, portPath) => ({
            name: str(p, 'name', portPath),
            port: requiredPort(p, 'port', portPath),
            protocol: str(p, 'protocol', portPath),
          }),
        }),
      }),
    }),
  }));
}

/** Converts a raw EndpointSlice. */
export function slimEndpointSlice(raw: unknown): SlimEndpointSlice {
  return convert({ kind: 'EndpointSlice', raw, namespaced: true }, (obj, meta) => ({
    kind: 'EndpointSlice',
    meta,
    addressType: str(obj, 'addressType', ''),
    ports: objects(obj, 'ports', { path: '', read: slicePort }),
    endpoints: objects(obj, 'endpoints', { path: '', read: sliceEndpoint }),
  }));
}

/** Converts a raw Node. */
export function slimNode(raw: unknown): SlimNode {
  return convert({ kind: 'Node', raw, namespaced: false }, (obj, meta) => {
    const spec = optObject(obj, 'spec', '') ?? {};
    const status = optObject(obj, 'status', '') ?? {};
    const daemon = optObject(status, 'daemonEndpoints', 'status') ?? {};
    const kubelet = optObject(daemon, 'kubeletEndpoint', 'status.daemonEndpoints') ?? {};
    return {
      kind: 'Node',
      meta,
      providerID: str(spec, 'providerID', 'spec'),
      addresses: objects(status, 'addresses', {
        path: 'status',
        read: (a, path) => ({ type: str(a, 'type', path), address: str(a, 'address', path) }),
      }),
      // The API's DaemonEndpoint serialises its port as `Port`, capitalised.
      kubeletPort: optInt(kubelet, 'Port', { path: 'status.daemonEndpoints.kubeletEndpoint', ...int32Range }) ?? 0,
      conditions: objects(status, 'conditions', {
        path: 'status',
        read: (c, path) => ({ type: str(c, 'type', path), status: str(c, 'status', path) }),
      }),
    };
  });
}

/** Converts a raw Ingress. */
export function slimIngress(raw: unknown): SlimIngress {
  return convert({ kind: 'Ingress', raw, namespaced: true }, (obj, meta) => {
    const spec = optObject(obj, 'spec', '') ?? {};
    const className = optString(spec, 'ingressClassName', 'spec');
    return {
      kind: 'Ingress',
      meta,
      ...(className === undefined ? {} : { ingressClassName: className }),
      tlsHosts: objects(spec, 'tls', { path: 'spec', read: (t, path) => strings(t, 'hosts', path) }).flat(),
      rules: objects(spec, 'rules', { path: 'spec', read: ingressRule }),
    };
  });
}

/** Converts a raw Namespace. */
export function slimNamespace(raw: unknown): SlimNamespace {
  return convert({ kind: 'Namespace', raw, namespaced: false }, (_obj, meta) => ({ kind: 'Namespace', meta }));
}

function convert<T>(source: { kind: KubernetesKind; raw: unknown; namespaced: boolean }, build: (obj: JsonObject, meta: SlimMeta) => T): T {
  const { kind, raw } = source;
  if (!isJsonObject(raw)) throw new BadObjectError({ kind, reason: `expected a JSON object, got ${raw === null ? 'null' : typeof raw}` });
  const metadata = isJsonObject(raw['metadata']) ? raw['metadata'] : {};
  const namespace = knownString(metadata, 'namespace');
  const name = knownString(metadata, 'name');
  const identity = { ...(namespace === undefined ? {} : { namespace }), ...(name === undefined ? {} : { name }) };
  try {
    const declared = optString(raw, 'kind', '');
    if (declared !== undefined && declared !== kind) throw new FieldError(`kind: expected ${kind}, got ${JSON.stringify(declared)}`);
    return build(raw, readMeta(raw, source.namespaced));
  } catch (err) {
    if (err instanceof FieldError) throw new BadObjectError({ kind, ...identity, reason: err.message });
    throw err;
  }
}

/** A metadata string read without validation, to name an object in an error about it. */
function knownString(obj: JsonObject, key: 'name' | 'namespace'): string | undefined {
  const value = Object.hasOwn(obj, key) ? obj[key] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function readMeta(obj: JsonObject, namespaced: boolean): SlimMeta {
  const metadata = optObject(obj, 'metadata', '');
  if (metadata === undefined) throw new FieldError('metadata: required');
  return {
    name: requiredString(metadata, 'name', 'metadata'),
    namespace: namespaced ? requiredString(metadata, 'namespace', 'metadata') : str(metadata, 'namespace', 'metadata'),
    uid: str(metadata, 'uid', 'metadata'),
    labels: stringMap(metadata, 'labels', 'metadata'),
    annotations: stringMap(metadata, 'annotations', 'metadata'),
  };
}

function objectRef(obj: JsonObject, path: string): SlimObjectRef {
  return { kind: str(obj, 'kind', path), name: str(obj, 'name', path), namespace: str(obj, 'namespace', path) };
}

/** The first owner reference with `controller: true`, as apimachinery's `GetControllerOf`. */
function controllerOf(obj: JsonObject): SlimObjectRef | undefined {
  const metadata = optObject(obj, 'metadata', '') ?? {};
  const owners = objects(metadata, 'ownerReferences', {
    path: 'metadata',
    read: (ref, path) => ({ ref: objectRef(ref, path), controller: optBool(ref, 'controller', path) === true }),
  });
  return owners.find((owner) => owner.controller)?.ref;
}

/** Pod readiness as Prometheus' `podReady`: the first `Ready` condition's status lowercased, else `unknown`. */
function readyOf(status: JsonObject): string {
  const conditions = objects(status, 'conditions', {
    path: 'status',
    read: (c, path) => ({ type: str(c, 'type', path), status: str(c, 'status', path) }),
  });
  return (conditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown').toLowerCase();
}

/** Container name to container id; the first status of a name wins, as `findPodContainerStatus`. */
function containerIds(status: JsonObject, key: string): ReadonlyMap<string, string> {
  const ids = new Map<string, string>();
  const entries = objects(status, key, {
    path: 'status',
    read: (s, path) => ({ name: str(s, 'name', path), id: str(s, 'containerID', path) }),
  });
  for (const entry of entries) if (!ids.has(entry.name)) ids.set(entry.name, entry.id);
  return ids;
}

function container(obj: JsonObject, options: { path: string; ids: ReadonlyMap<string, string> }): SlimContainer {
  const { path } = options;
  const name = requiredString(obj, 'name', path);
  return {
    name,
    image: str(obj, 'image', path),
    containerId: options.ids.get(name) ?? '',
    ports: objects(obj, 'ports', {
      path,
      read: (p, portPath) => ({
        name: str(p, 'name', portPath),
        containerPort: requiredPort(p, 'containerPort', portPath),
        protocol: str(p, 'protocol', portPath),
      }),
    }),
  };
}

function requiredPort(obj: JsonObject, key: string, path: string): number {
  const port = optInt(obj, key, { path, ...portRange });
  if (port === undefined) throw new FieldError(`${path}.${key}: required`);
  return port;
}

function endpointAddress(obj: JsonObject, path: string): SlimEndpointAddress {
  const nodeName = optString(obj, 'nodeName', path);
  const targetRef = optObject(obj, 'targetRef', path);
  return {
    ip: requiredString(obj, 'ip', path),
    hostname: str(obj, 'hostname', path),
    ...(nodeName === undefined ? {} : { nodeName }),
    ...(targetRef === undefined ? {} : { targetRef: objectRef(targetRef, `${path}.targetRef`) }),
  };
}

function slicePort(obj: JsonObject, path: string): SlimEndpointSlicePort {
  return definedOnly({
    name: optString(obj, 'name', path),
    port: optInt(obj, 'port', { path, ...portRange }),
    protocol: optString(obj, 'protocol', path),
    appProtocol: optString(obj, 'appProtocol', path),
  });
}

function sliceEndpoint(obj: JsonObject, path: string): SlimEndpointSliceEndpoint {
  const conditions = optObject(obj, 'conditions', path) ?? {};
  const conditionsPath = `${path}.conditions`;
  const optional = {
    ready: optBool(conditions, 'ready', conditionsPath),
    serving: optBool(conditions, 'serving', conditionsPath),
    terminating: optBool(conditions, 'terminating', conditionsPath),
    hostname: optString(obj, 'hostname', path),
    nodeName: optString(obj, 'nodeName', path),
    zone: optString(obj, 'zone', path),
  };
  const targetRef = optObject(obj, 'targetRef', path);
  return {
    addresses: strings(obj, 'addresses', path),
    ...definedOnly(optional),
    ...(targetRef === undefined ? {} : { targetRef: objectRef(targetRef, `${path}.targetRef`) }),
    deprecatedTopology: stringMap(obj, 'deprecatedTopology', path),
  };
}

/** Drops the `undefined` members, so that optional properties are absent rather than `undefined`. */
function definedOnly<T extends Record<string, unknown>>(values: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: { [K in keyof T]?: Exclude<T[K], undefined> } = {};
  for (const key of Object.keys(values) as (keyof T)[]) {
    const value = values[key];
    if (value !== undefined) out[key] = value as Exclude<T[typeof key], undefined>;
  }
  return out;
}

function ingressRule(obj: JsonObject, path: string): SlimIngressRule {
  const http = optObject(obj, 'http', path);
  const host = str(obj, 'host', path);
  if (http === undefined) return { host };
  const paths = objects(http, 'paths', { path: `${path}.http`, read: (p, pathPath) => str(p, 'path', pathPath) });
  return { host, paths };
}
