/**
 * Kubernetes service discovery as pure functions: slim objects validated from API-server JSON, one group builder per
 * Prometheus role, and a local label/field selector matcher for the offline tool.
 */
export { BadObjectError, KubernetesErrorCode, SelectorError, type BadObjectDetails, type KubernetesKind } from './errors.js';
export {
  slimEndpointSlice,
  slimEndpoints,
  slimIngress,
  slimNamespace,
  slimNode,
  slimPod,
  slimService,
  type SlimContainer,
  type SlimContainerPort,
  type SlimEndpointAddress,
  type SlimEndpointPort,
  type SlimEndpointSlice,
  type SlimEndpointSliceEndpoint,
  type SlimEndpointSlicePort,
  type SlimEndpointSubset,
  type SlimEndpoints,
  type SlimIngress,
  type SlimIngressRule,
  type SlimMeta,
  type SlimNamespace,
  type SlimNode,
  type SlimNodeAddress,
  type SlimObject,
  type SlimObjectRef,
  type SlimPod,
  type SlimService,
  type SlimServicePort,
} from './objects.js';
export {
  createStaticContext,
  deletedGroup,
  groupSource,
  metaLabelPrefix,
  namespaceLabel,
  nodeGroupSource,
  sanitizeLabelName,
  type AttachMetadata,
  type DiscoveryContext,
  type StaticContextOptions,
} from './meta.js';
export { PodLabel, podGroup } from './pod.js';
export { ServiceLabel, serviceGroup } from './service.js';
export { EndpointLabel, endpointsGroup } from './endpoints.js';
export { EndpointSliceLabel, endpointSliceGroup } from './endpointslice.js';
export { NodeLabel, nodeGroup } from './node.js';
export { IngressLabel, ingressGroup } from './ingress.js';
export {
  matchesFieldSelector,
  matchesLabelSelector,
  parseFieldSelector,
  parseLabelSelector,
  type FieldSelector,
  type FieldTerm,
  type LabelRequirement,
  type LabelSelector,
} from '@promfleet/model';
export { compileObjectFilter, objectFields, type ObjectFilterOptions } from './selector.js';
