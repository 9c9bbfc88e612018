/** The `endpoints` role, as Prometheus' `discovery/kubernetes/endpoints.go` (`buildEndpoints`). */
import { LabelName, type Labels, type TargetGroup } from '@promfleet/model';
import {
  addNamespaceLabels,
  addNodeLabels,
  addObjectMetaLabels,
  groupSource,
  joinHostPort,
  metaLabelPrefix,
  namespaceLabel,
  type DiscoveryContext,
} from './meta.js';
import { partTargets, type PartSpec, type TargetMemo } from './memo.js';
import type { SlimEndpointAddress, SlimEndpointPort, SlimEndpoints, SlimPod } from './objects.js';
import { markSeen, uncoveredPortTargets, withPodLabels, type SeenPods } from './podports.js';
import { serviceLabels } from './service.js';

/** The `__meta_kubernetes_endpoint_*` label names (the group's own labels use `endpoints_`, plural). */
export const EndpointLabel = {
  nodeName: `${metaLabelPrefix}endpoint_node_name`,
  hostname: `${metaLabelPrefix}endpoint_hostname`,
  ready: `${metaLabelPrefix}endpoint_ready`,
  portName: `${metaLabelPrefix}endpoint_port_name`,
  portProtocol: `${metaLabelPrefix}endpoint_port_protocol`,
  addressTargetKind: `${metaLabelPrefix}endpoint_address_target_kind`,
  addressTargetName: `${metaLabelPrefix}endpoint_address_target_name`,
} as const;

/**
 * The group of one Endpoints object, source `endpoints/<ns>/<name>`. For each subset, port and address (ready
 * addresses with `ready="true"`, then not-ready ones with `"false"`) one target; a pod-backed address also carries
 * the pod's labels and those of the container declaring that port. Then, for every pod seen, one target per
 * container port that no endpoint port covered. The group labels hold the service's labels when the service of the
 * same name is known. With a `memo` (the group's, from its previous build), addresses and pods whose targets cannot
 * differ from that build's hand on the same label sets.
 */
export function endpointsGroup(endpoints: SlimEndpoints, context: DiscoveryContext, memo?: TargetMemo): TargetGroup {
  const { namespace, name } = endpoints.meta;
  let labels = new Map<string, string>([[namespaceLabel, namespace]]);
  const service = context.service(namespace, name);
  if (service !== undefined) labels = new Map([...labels, ...serviceLabels(service)]);
  addObjectMetaLabels(labels, endpoints.meta, 'endpoints');
  if (context.attachMetadata.namespace) addNamespaceLabels(labels, context, namespace);

  memo?.begin();
  const targets: Labels[] = [];
  const seenPods: SeenPods = new Map();
  const add = (address: SlimEndpointAddress, port: SlimEndpointPort, ready: string): void => {
    const pod = address.targetRef?.kind === 'Pod' ? context.pod(address.targetRef.namespace, address.targetRef.name) : undefined;
    if (pod !== undefined) markSeen(seenPods, pod, port.port);
    targets.push(...partTargets(memo, addressPart({ address, port, ready, pod }), context));
  };

  for (const subset of endpoints.subsets) {
    for (const port of subset.ports) {
      for (const address of subset.addresses) add(address, port, 'true');
      // The same address and port may come again here; Prometheus emits it twice, once per readiness.
      for (const address of subset.notReadyAddresses) add(address, port, 'false');
    }
  }
  targets.push(...uncoveredPortTargets(seenPods, context, memo));
  return { source: groupSource('Endpoints', namespace, name), targets, labels };
}

/**
 * The part of one address and port. Made here, not inline, so that its build, which the memo keeps, holds these
 * values and not the rest of the group's build.
 */
function addressPart(values: { address: SlimEndpointAddress; port: SlimEndpointPort; ready: string; pod: SlimPod | undefined }): PartSpec {
  const { address, port, ready, pod } = values;
  return {
    kind: 'endpoint',
    key: pod ?? address.ip,
    input: [address, port, ready, pod],
    build: (context: DiscoveryContext) => [addressTarget({ address, port, ready, pod, context })],
  };
}

/** The target of one address and port, joined with its pod when it has one. */
function addressTarget(options: { address: SlimEndpointAddress; port: SlimEndpointPort; ready: string; pod: SlimPod | undefined; context: DiscoveryContext }): Labels {
  const { address, port, ready, pod, context } = options;
  const target = new Map<string, string>([
    [LabelName.address, joinHostPort(address.ip, port.port)],
    [EndpointLabel.portName, port.name],
    [EndpointLabel.portProtocol, port.protocol],
    [EndpointLabel.ready, ready],
  ]);
  if (address.targetRef !== undefined) {
    target.set(EndpointLabel.addressTargetKind, address.targetRef.kind);
    target.set(EndpointLabel.addressTargetName, address.targetRef.name);
  }
  if (address.nodeName !== undefined) target.set(EndpointLabel.nodeName, address.nodeName);
  if (address.hostname !== '') target.set(EndpointLabel.hostname, address.hostname);
  if (context.attachMetadata.node) {
    // endpoints.go prefers the address's nodeName and falls back to a Node target reference.
    const nodeName = address.nodeName ?? (address.targetRef?.kind === 'Node' ? address.targetRef.name : undefined);
    addNodeLabels(target, context, nodeName);
  }
  return pod === undefined ? target : withPodLabels(target, { pod, port: port.port, endpointProtocol: port.protocol, context });
}
