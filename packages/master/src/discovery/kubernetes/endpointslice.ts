/** The `endpointslice` role, as Prometheus' `discovery/kubernetes/endpointslice.go` (`buildEndpointSlice`). */
import { LabelName, type Labels, type TargetGroup } from '@promfleet/model';
import {
  addNamespaceLabels,
  addNodeLabels,
  addObjectMetaLabels,
  groupSource,
  joinHostPort,
  metaLabelPrefix,
  namespaceLabel,
  sanitizeLabelName,
  type DiscoveryContext,
} from './meta.js';
import { partTargets, type PartSpec, type TargetMemo } from './memo.js';
import type { SlimEndpointSlice, SlimEndpointSliceEndpoint, SlimEndpointSlicePort, SlimPod, SlimService } from './objects.js';
import { markSeen, uncoveredPortTargets, withPodLabels, type SeenPods } from './podports.js';
import { serviceLabels } from './service.js';

const prefix = `${metaLabelPrefix}endpointslice_`;

/** The `__meta_kubernetes_endpointslice_*` label names. */
export const EndpointSliceLabel = {
  addressType: `${prefix}address_type`,
  portName: `${prefix}port_name`,
  portProtocol: `${prefix}port_protocol`,
  port: `${prefix}port`,
  portAppProtocol: `${prefix}port_app_protocol`,
  conditionsReady: `${prefix}endpoint_conditions_ready`,
  conditionsServing: `${prefix}endpoint_conditions_serving`,
  conditionsTerminating: `${prefix}endpoint_conditions_terminating`,
  zone: `${prefix}endpoint_zone`,
  hostname: `${prefix}endpoint_hostname`,
  nodeName: `${prefix}endpoint_node_name`,
  addressTargetKind: `${prefix}address_target_kind`,
  addressTargetName: `${prefix}address_target_name`,
  topologyPrefix: `${prefix}endpoint_topology_`,
  topologyPresentPrefix: `${prefix}endpoint_topology_present_`,
} as const;

/** The label every EndpointSlice carries with the name of its Service. */
const serviceNameLabel = 'kubernetes.io/service-name';

/**
 * The group of one EndpointSlice, source `endpointslice/<ns>/<name>`. For each endpoint, port and address one
 * target (`__address__` without a port when the slice port has no number); optional fields become labels only when
 * set. Pod-backed endpoints carry the pod's and the matching container's labels, and every seen pod adds targets for
 * its uncovered container ports. The group carries the labels of the Service named by `kubernetes.io/service-name`.
 * With a `memo` (the group's, from its previous build), endpoints and pods whose targets cannot differ from that
 * build's hand on the same label sets.
 */
export function endpointSliceGroup(slice: SlimEndpointSlice, context: DiscoveryContext, memo?: TargetMemo): TargetGroup {
  const { namespace, name } = slice.meta;
  let labels = new Map<string, string>([
    [namespaceLabel, namespace],
    [EndpointSliceLabel.addressType, slice.addressType],
  ]);
  addObjectMetaLabels(labels, slice.meta, 'endpointslice');
  const serviceName = slice.meta.labels.get(serviceNameLabel);
  const service = serviceName === undefined ? undefined : context.service(namespace, serviceName);
  if (service !== undefined) labels = new Map([...labels, ...serviceLabels(service)]);
  if (context.attachMetadata.namespace) addNamespaceLabels(labels, context, namespace);

  memo?.begin();
  // A dual-stack service has a slice per address family; Prometheus 3.11 and later keep only the primary family's
  // (`spec.ipFamilies[0]`) targets, so the same endpoints are not scraped twice. The other slice's group stays, empty.
  if (service !== undefined && secondaryFamily(slice, service)) return { source: groupSource('EndpointSlice', namespace, name), targets: [], labels };
  const targets: Labels[] = [];
  const seenPods: SeenPods = new Map();
  const { ports } = slice;
  for (const endpoint of slice.endpoints) {
    const ref = endpoint.targetRef;
    const hasTargets = ports.length > 0 && endpoint.addresses.length > 0;
    const pod = hasTargets && ref?.kind === 'Pod' ? context.pod(ref.namespace, ref.name) : undefined;
    if (pod !== undefined) for (const port of ports) for (let i = 0; i < endpoint.addresses.length; i++) markSeen(seenPods, pod, port.port);
    if (!hasTargets) continue;
    targets.push(...partTargets(memo, endpointPart({ endpoint, ports, pod }), context));
  }
  targets.push(...uncoveredPortTargets(seenPods, context, memo));
  return { source: groupSource('EndpointSlice', namespace, name), targets, labels };
}

/**
 * The part of one endpoint. Made here, not inline, so that its build, which the memo keeps, holds these values and
 * not the rest of the group's build.
 */
function endpointPart(values: { endpoint: SlimEndpointSliceEndpoint; ports: readonly SlimEndpointSlicePort[]; pod: SlimPod | undefined }): PartSpec {
  const { endpoint, ports, pod } = values;
  return {
    kind: 'endpoint',
    key: pod ?? endpoint.addresses[0] ?? '',
    input: [endpoint, ports, pod],
    build: (context: DiscoveryContext) => endpointTargets({ endpoint, ports, pod, context }),
  };
}

/** The targets of one endpoint: one per port and address, in that order, joined with its pod when it has one. */
function endpointTargets(options: {
  endpoint: SlimEndpointSliceEndpoint;
  ports: readonly SlimEndpointSlicePort[];
  pod: SlimPod | undefined;
  context: DiscoveryContext;
}): Labels[] {
  const { endpoint, ports, pod, context } = options;
  const targets: Labels[] = [];
  for (const port of ports) {
    for (const address of endpoint.addresses) {
      const target = endpointTarget({ address, endpoint, port, context });
      targets.push(pod === undefined ? target : withPodLabels(target, { pod, port: port.port, context }));
    }
  }
  return targets;
}

/** Whether `slice` holds the addresses of a dual-stack `service`'s secondary family (`nonPrimaryIPFamilySlice`). */
function secondaryFamily(slice: SlimEndpointSlice, service: SlimService): boolean {
  const dualStack = service.ipFamilyPolicy === 'PreferDualStack' || service.ipFamilyPolicy === 'RequireDualStack';
  const primary = service.ipFamilies[0];
  return dualStack && primary !== undefined && slice.addressType !== primary;
}

function endpointTarget(options: {
  address: string;
  endpoint: SlimEndpointSliceEndpoint;
  port: SlimEndpointSlicePort;
  context: DiscoveryContext;
}): Map<string, string> {
  const { address, endpoint, port, context } = options;
  const target = new Map<string, string>([[LabelName.address, port.port === undefined ? address : joinHostPort(address, port.port)]]);
  const optional: [string, string | undefined][] = [
    [EndpointSliceLabel.portName, port.name],
    [EndpointSliceLabel.portProtocol, port.protocol],
    [EndpointSliceLabel.port, port.port === undefined ? undefined : String(port.port)],
    [EndpointSliceLabel.portAppProtocol, port.appProtocol],
    [EndpointSliceLabel.conditionsReady, endpoint.ready === undefined ? undefined : String(endpoint.ready)],
    [EndpointSliceLabel.conditionsServing, endpoint.serving === undefined ? undefined : String(endpoint.serving)],
    [EndpointSliceLabel.conditionsTerminating, endpoint.terminating === undefined ? undefined : String(endpoint.terminating)],
    [EndpointSliceLabel.hostname, endpoint.hostname],
    [EndpointSliceLabel.addressTargetKind, endpoint.targetRef?.kind],
    [EndpointSliceLabel.addressTargetName, endpoint.targetRef?.name],
    [EndpointSliceLabel.nodeName, endpoint.nodeName],
    [EndpointSliceLabel.zone, endpoint.zone],
  ];
  for (const [name, value] of optional) if (value !== undefined) target.set(name, value);
  for (const [key, value] of endpoint.deprecatedTopology) {
    const name = sanitizeLabelName(key);
    target.set(EndpointSliceLabel.topologyPrefix + name, value);
    target.set(EndpointSliceLabel.topologyPresentPrefix + name, 'true');
  }
  if (context.attachMetadata.node) {
    // endpointslice.go prefers a Node target reference and falls back to the endpoint's nodeName.
    const ref = endpoint.targetRef;
    addNodeLabels(target, context, ref?.kind === 'Node' ? ref.name : endpoint.nodeName);
  }
  return target;
}
