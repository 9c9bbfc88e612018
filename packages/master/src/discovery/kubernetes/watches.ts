/**
 * Which list+watches the master opens. However many jobs use a role, the master holds one watch per resource kind
 * and scope, shared by every job (and, through the fleet, by every worker).
 *
 * The rule for overlapping scopes: a watch that is *wider* than a job needs is shared, and the job's own namespace
 * and selectors are applied in the master; two watches are opened only when neither covers the other. The reason
 * is the API server's cost model: each watch is a separate watcher on the server's watch cache, and every event
 * of the kind is filtered, serialized and sent once per watcher whose scope it matches. A narrow watch inside a
 * wide one is therefore pure extra work for the server (every event it carries is sent twice), while filtering
 * in the master costs the server nothing. Disjoint scopes (say, two namespaces in a large cluster) are not merged
 * into one cluster-wide watch, which would ship the whole cluster's churn to read a corner of it. Selectors the
 * master cannot evaluate itself (fields outside what the slim objects keep) always get their own watch.
 */
import { createHash } from 'node:crypto';
import { Secret, type KubernetesRole, type KubernetesSDConfig } from '@promfleet/model';
import type { KubernetesKind } from './errors.js';
import { kindOfRole } from './groups.js';
import { kubeResources, type KubeResource } from './reflector.js';
import { compileObjectFilter } from './selector.js';
import type { SlimObject } from './objects.js';

/** One kind of objects a job's SD config reads, in one namespace (or all), with its role's selectors. */
export interface WatchNeed {
  /** Which API server and credentials: `in-cluster`, `api:<url>` or `kubeconfig:<file>`. */
  readonly connection: string;
  readonly kind: KubernetesKind;
  /** Undefined for all namespaces (and always for cluster-scoped kinds). */
  readonly namespace: string | undefined;
  readonly labelSelector: string;
  readonly fieldSelector: string;
}

/** A list+watch the master opens. */
export interface WatchSpec extends WatchNeed {
  /** The kind and a digest of the spec: the same spec has the same id in every plan, so a replan keeps it running. */
  readonly id: string;
  readonly resource: KubeResource;
}

/** How a need is met: the watch, and the filter the master applies when the watch is wider than the need. */
export interface ServedNeed {
  readonly watch: WatchSpec;
  readonly filter: ((object: SlimObject) => boolean) | undefined;
}

export const resourceOfKind: Readonly<Record<KubernetesKind, KubeResource>> = {
  Pod: kubeResources.pods,
  Service: kubeResources.services,
  Endpoints: kubeResources.endpoints,
  EndpointSlice: kubeResources.endpointslices,
  Node: kubeResources.nodes,
  Namespace: kubeResources.namespaces,
  Ingress: kubeResources.ingresses,
  ReplicaSet: kubeResources.replicasets,
  Job: kubeResources.jobs,
};


/** The key identifying a need (or a watch) by all its fields. */
export function needKey(need: WatchNeed): string {
  return JSON.stringify([need.connection, need.kind, need.namespace ?? null, need.labelSelector, need.fieldSelector]);
}

/**
 * Which API server an SD config talks to, and as whom, as a key: jobs share watches only when both match. For
 * `api_server` the key carries a digest of the HTTP client settings (credentials included, but only as a hash),
 * so two jobs with different tokens never share a watch or each other's permissions.
 */
export function connectionOf(config: KubernetesSDConfig): string {
  if (config.apiServer !== undefined) {
    return `api:${config.apiServer}#${createHash('sha256').update(canonical(config.httpClient)).digest('hex').slice(0, 16)}`;
  }
  if (config.kubeconfigFile !== undefined) return `kubeconfig:${config.kubeconfigFile}`;
  return 'in-cluster';
}

/**
 * A stable text of a config value with secrets revealed, for hashing and comparing only (`JSON.stringify` would hide
 * secrets and depend on key order). Never log it.
 */
export function canonical(value: unknown): string {
  if (value instanceof Secret) return `secret:${JSON.stringify(value.reveal())}`;
  if (value instanceof Map) return `map[${[...(value as Map<unknown, unknown>)].map(([k, v]) => `${canonical(k)}:${canonical(v)}`).join(',')}]`;
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/**
 * The kinds one SD config reads, as Prometheus' `kubernetes.go` `Run` sets up its informers: the role's own kind,
 * plus pods and services for endpoints and endpointslice, nodes for `attach_metadata.node`, namespaces for
 * `attach_metadata.namespace`, ReplicaSets for `deployment` and Jobs for `cronjob`. Each kind in each namespace of
 * the config, filtered by its role's selector (ReplicaSets and Jobs have none).
 */
export function needsOf(config: KubernetesSDConfig, options: { ownNamespace?: string } = {}): Map<KubernetesKind, WatchNeed[]> {
  const connection = connectionOf(config);
  const names = new Set(config.namespaces.names);
  if (config.namespaces.ownNamespace && options.ownNamespace !== undefined) names.add(options.ownNamespace);
  const kinds = new Set<KubernetesKind>([kindOfRole[config.role]]);
  if (config.role === 'endpoints' || config.role === 'endpointslice') {
    kinds.add('Pod');
    kinds.add('Service');
  }
  if (config.attachMetadata.node && ['pod', 'endpoints', 'endpointslice'].includes(config.role)) kinds.add('Node');
  if (config.attachMetadata.namespace && config.role !== 'node') kinds.add('Namespace');
  // The owning workload's name: through ReplicaSets to the Deployment, through Jobs to the CronJob (a Job's own name
  // is the pod's controller name). Wherever pods are joined, as Prometheus 3.11 sets up these informers.
  if (['pod', 'endpoints', 'endpointslice'].includes(config.role)) {
    if (config.attachMetadata.deployment) kinds.add('ReplicaSet');
    if (config.attachMetadata.cronjob) kinds.add('Job');
  }

  const out = new Map<KubernetesKind, WatchNeed[]>();
  for (const kind of kinds) {
    const role = (Object.keys(kindOfRole) as KubernetesRole[]).find((r) => kindOfRole[r] === kind);
    const selector = role === undefined ? undefined : config.selectors.find((s) => s.role === role);
    const base = { connection, kind, labelSelector: selector?.label ?? '', fieldSelector: selector?.field ?? '' };
    const namespaced = resourceOfKind[kind].namespaced;
    out.set(kind, namespaced && names.size > 0 ? [...names].sort().map((namespace) => ({ ...base, namespace })) : [{ ...base, namespace: undefined }]);
  }
  return out;
}

/**
 * Plans the watches for a set of needs (see the module comment for the rule) and says how each need is served.
 * Deterministic: the same needs in any order give the same watches and ids.
 */
export function planWatches(needs: readonly WatchNeed[]): { watches: WatchSpec[]; served: Map<string, ServedNeed> } {
  const unique = [...new Map(needs.map((n) => [needKey(n), n])).values()].sort((a, b) => (needKey(a) < needKey(b) ? -1 : 1));
  const watches = new Map<string, WatchSpec>();
  const served = new Map<string, ServedNeed>();
  const open = (need: WatchNeed): WatchSpec => {
    const key = needKey(need);
    let spec = watches.get(key);
    if (spec === undefined) {
      spec = { ...need, id: `${need.kind.toLowerCase()}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`, resource: resourceOfKind[need.kind] };
      watches.set(key, spec);
    }
    return spec;
  };
  const unfiltered = (n: WatchNeed) => n.labelSelector === '' && n.fieldSelector === '';
  for (const need of unique) {
    const cover = unique.find(
      (c) => c.connection === need.connection && c.kind === need.kind && unfiltered(c) && (c.namespace === undefined || c.namespace === need.namespace),
    );
    const wide = unique.find((c) => c.connection === need.connection && c.kind === need.kind && unfiltered(c) && c.namespace === undefined);
    const host = wide ?? cover;
    if (host === undefined || host === need) {
      served.set(needKey(need), { watch: open(need), filter: undefined });
      continue;
    }
    let filter: (object: SlimObject) => boolean;
    try {
      const selected = compileObjectFilter({ kind: need.kind, label: need.labelSelector, field: need.fieldSelector });
      const namespace = need.namespace;
      filter = namespace === undefined ? selected : (o) => o.meta.namespace === namespace && selected(o);
    } catch {
      // A selector the master cannot evaluate itself: let the API server do it, on a watch of its own.
      served.set(needKey(need), { watch: open(need), filter: undefined });
      continue;
    }
    served.set(needKey(need), { watch: open(host), filter });
  }
  return { watches: [...watches.values()], served };
}
