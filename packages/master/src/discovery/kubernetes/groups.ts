/**
 * What every consumer of the roles shares: the converter of each kind, the kind each role discovers, and one
 * dispatch from a slim object to its role's group. Used by the live discovery and by the offline tool alike, so
 * both run the same code.
 */
import type { KubernetesRole, TargetGroup } from '@promfleet/model';
import { endpointsGroup } from './endpoints.js';
import { endpointSliceGroup } from './endpointslice.js';
import type { KubernetesKind } from './errors.js';
import { ingressGroup } from './ingress.js';
import type { DiscoveryContext } from './meta.js';
import type { TargetMemo } from './memo.js';
import { nodeGroup } from './node.js';
import { slimEndpointSlice, slimEndpoints, slimIngress, slimJob, slimNamespace, slimNode, slimPod, slimReplicaSet, slimService, type SlimObject } from './objects.js';
import { podGroup } from './pod.js';
import { serviceGroup } from './service.js';

/** The converter from API JSON to the slim object, per kind. */
export const slimConverters: Readonly<Record<KubernetesKind, (raw: unknown) => SlimObject>> = {
  Pod: slimPod,
  Service: slimService,
  Endpoints: slimEndpoints,
  EndpointSlice: slimEndpointSlice,
  Node: slimNode,
  Ingress: slimIngress,
  Namespace: slimNamespace,
  ReplicaSet: slimReplicaSet,
  Job: slimJob,
};

/** The kind of object each role turns into groups (and whose selectors use the role's name). */
export const kindOfRole: Readonly<Record<KubernetesRole, KubernetesKind>> = {
  pod: 'Pod',
  service: 'Service',
  endpoints: 'Endpoints',
  endpointslice: 'EndpointSlice',
  node: 'Node',
  ingress: 'Ingress',
};

/**
 * The group of one object, by its kind's role. `undefined` where Prometheus sends nothing: a node without a known
 * address, and namespaces, ReplicaSets and Jobs (which only add metadata to other groups). `memo`, the object's
 * own from its previous build, lets the endpoints and endpointslice roles rebuild only the endpoints that changed.
 */
export function objectGroup(object: SlimObject, context: DiscoveryContext, memo?: TargetMemo): TargetGroup | undefined {
  switch (object.kind) {
    case 'Pod':
      return podGroup(object, context);
    case 'Service':
      return serviceGroup(object, context);
    case 'Endpoints':
      return endpointsGroup(object, context, memo);
    case 'EndpointSlice':
      return endpointSliceGroup(object, context, memo);
    case 'Node':
      return nodeGroup(object);
    case 'Ingress':
      return ingressGroup(object, context);
    case 'Namespace':
    case 'ReplicaSet':
    case 'Job':
      return undefined;
  }
}
