/**
 * Kubernetes discovery over a fixed set of objects: what `promfleet targets` runs on a `kubectl get -o json` dump.
 * It applies a `kubernetes_sd_config` as Prometheus does against a live API server — namespaces, label and field
 * selectors (which the API server would evaluate; here the local matcher does), the role's joins and
 * `attach_metadata` — and returns the role's target groups.
 */
import type { KubernetesRole, KubernetesSDConfig, TargetGroup } from '@promfleet/model';
import { BadResourceError, isOperatorKind, readAssetData, readOperatorResource, type AssetLookup, type OperatorResource } from '../../operator/resource.js';
import { BadObjectError, type KubernetesKind } from './errors.js';
import { kindOfRole, objectGroup, slimConverters } from './groups.js';
import { createStaticContext } from './meta.js';
import type { SlimEndpointSlice, SlimEndpoints, SlimIngress, SlimNamespace, SlimNode, SlimObject, SlimPod, SlimService, SlimWorkload } from './objects.js';
import { compileObjectFilter } from './selector.js';

/** Every object discovery reads, by kind. */
export interface ObjectSet {
  readonly pods: readonly SlimPod[];
  readonly services: readonly SlimService[];
  readonly endpoints: readonly SlimEndpoints[];
  readonly endpointSlices: readonly SlimEndpointSlice[];
  readonly nodes: readonly SlimNode[];
  readonly ingresses: readonly SlimIngress[];
  readonly namespaces: readonly SlimNamespace[];
  /** ReplicaSets and Jobs: only their controllers are read (`attach_metadata` `deployment` and `cronjob`). */
  readonly workloads: readonly SlimWorkload[];
}

/**
 * The prometheus-operator resources of a dump, and the Secrets and ConfigMaps they may reference (by
 * `Kind/namespace/name`, values decoded).
 */
export interface OperatorObjects {
  readonly resources: readonly OperatorResource[];
  readonly assets: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** Looks up a referenced key among the Secrets and ConfigMaps of a dump. */
export function dumpAssetLookup(objects: OperatorObjects): AssetLookup {
  return (ref) => objects.assets.get(`${ref.kind}/${ref.namespace}/${ref.name}`)?.get(ref.key);
}

/** An item of a List that was not read, and why. Kinds discovery does not use are `ignored`, not errors. */
export interface SkippedItem {
  readonly index: number;
  readonly reason: string;
  readonly ignored: boolean;
}

/** A bad JSON document: not a Kubernetes List or single object. */
export class ObjectListError extends Error {
  override readonly name = 'ObjectListError';
  readonly code = 'PROMFLEET_K8S_BAD_LIST';
}


function isKind(kind: unknown): kind is KubernetesKind {
  return typeof kind === 'string' && Object.hasOwn(slimConverters, kind);
}

/**
 * Reads a Kubernetes `List` (as `kubectl get pods,services,... -A -o json` prints), or a single object, into slim
 * objects, and prometheus-operator resources with the Secrets and ConfigMaps beside them. Items of other kinds are
 * ignored; bad items are skipped with the reason — one bad object never loses the others.
 */
export function readObjectList(doc: unknown): { objects: ObjectSet; operator: OperatorObjects; skipped: SkippedItem[] } {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ObjectListError('expected a JSON object: a Kubernetes List or one object');
  const record = doc as Record<string, unknown>;
  const items: unknown[] = Array.isArray(record['items']) ? (record['items'] as unknown[]) : [doc];
  if (!Array.isArray(record['items']) && typeof record['kind'] === 'string' && record['kind'].endsWith('List')) {
    throw new ObjectListError(`a ${record['kind']} without an "items" array`);
  }
  const out = { pods: [] as SlimPod[], services: [] as SlimService[], endpoints: [] as SlimEndpoints[], endpointSlices: [] as SlimEndpointSlice[], nodes: [] as SlimNode[], ingresses: [] as SlimIngress[], namespaces: [] as SlimNamespace[], workloads: [] as SlimWorkload[] };
  const skipped: SkippedItem[] = [];
  const operator = { resources: [] as OperatorResource[], assets: new Map<string, ReadonlyMap<string, string>>() };
  items.forEach((item, index) => {
    const kind = typeof item === 'object' && item !== null ? (item as Record<string, unknown>)['kind'] : undefined;
    if (isOperatorKind(kind)) {
      try {
        operator.resources.push(readOperatorResource(kind, item));
      } catch (err) {
        if (!(err instanceof BadResourceError)) throw err;
        skipped.push({ index, ignored: false, reason: err.message });
      }
      return;
    }
    if (kind === 'Secret' || kind === 'ConfigMap') {
      const metadata = (item as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
      const data = readAssetData(kind, item);
      if (typeof metadata?.name !== 'string' || typeof metadata.namespace !== 'string' || data === undefined) {
        skipped.push({ index, ignored: true, reason: `${kind} without metadata.name and metadata.namespace` });
        return;
      }
      operator.assets.set(`${kind}/${metadata.namespace}/${metadata.name}`, data);
      return;
    }
    if (!isKind(kind)) {
      skipped.push({ index, ignored: true, reason: typeof kind === 'string' ? `kind ${kind} is not used by discovery` : 'no "kind" field' });
      return;
    }
    let object: SlimObject;
    try {
      object = slimConverters[kind](item);
    } catch (err) {
      if (!(err instanceof BadObjectError)) throw err;
      skipped.push({ index, ignored: false, reason: err.message });
      return;
    }
    switch (object.kind) {
      case 'Pod':
        out.pods.push(object);
        break;
      case 'Service':
        out.services.push(object);
        break;
      case 'Endpoints':
        out.endpoints.push(object);
        break;
      case 'EndpointSlice':
        out.endpointSlices.push(object);
        break;
      case 'Node':
        out.nodes.push(object);
        break;
      case 'Ingress':
        out.ingresses.push(object);
        break;
      case 'Namespace':
        out.namespaces.push(object);
        break;
      case 'ReplicaSet':
      case 'Job':
        out.workloads.push(object);
        break;
    }
  });
  return { objects: out, operator, skipped };
}


/**
 * The target groups one `kubernetes_sd_config` discovers from `objects`. `ownNamespace` stands in for the
 * namespace the master runs in (`namespaces.own_namespace: true`).
 *
 * As in Prometheus (`kubernetes.go` `getNamespaces`), no namespace names and no own namespace means every
 * namespace; nodes are cluster-scoped. Each role reads the kinds it joins with (endpoints and endpointslice read
 * pods and services too), each filtered by the selector of its own role.
 *
 * @throws SelectorError for a selector Kubernetes would reject, or that the offline matcher cannot evaluate.
 */
export function discoverFromObjects(config: KubernetesSDConfig, objects: ObjectSet, options: { ownNamespace?: string } = {}): TargetGroup[] {
  const names = new Set(config.namespaces.names);
  if (config.namespaces.ownNamespace && options.ownNamespace !== undefined) names.add(options.ownNamespace);
  const inScope = (o: SlimObject): boolean => names.size === 0 || o.kind === 'Node' || o.kind === 'Namespace' || names.has(o.meta.namespace);
  const select = <T extends SlimObject>(items: readonly T[], role: KubernetesRole): T[] => {
    const selector = config.selectors.find((s) => s.role === role);
    const matches = compileObjectFilter({
      kind: kindOfRole[role],
      ...(selector?.label === undefined ? {} : { label: selector.label }),
      ...(selector?.field === undefined ? {} : { field: selector.field }),
    });
    return items.filter((o) => inScope(o) && matches(o));
  };

  const context = createStaticContext({
    pods: select(objects.pods, 'pod'),
    services: select(objects.services, 'service'),
    nodes: select(objects.nodes, 'node'),
    namespaces: objects.namespaces,
    workloads: objects.workloads.filter(inScope),
    attachMetadata: config.attachMetadata,
  });
  const primary: Record<KubernetesRole, readonly SlimObject[]> = {
    pod: objects.pods,
    service: objects.services,
    endpoints: objects.endpoints,
    endpointslice: objects.endpointSlices,
    node: objects.nodes,
    ingress: objects.ingresses,
  };
  return select(primary[config.role], config.role).flatMap((o) => objectGroup(o, context) ?? []);
}
