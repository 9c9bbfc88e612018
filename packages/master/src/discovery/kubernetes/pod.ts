/** The `pod` role, as Prometheus' `discovery/kubernetes/pod.go` (`buildPod`, `podLabels`). */
import { LabelName, type Labels, type TargetGroup } from '@promfleet/model';
import {
  addNamespaceLabels,
  addNodeLabels,
  addObjectMetaLabels,
  deletedGroup,
  groupSource,
  joinHostPort,
  metaLabelPrefix,
  namespaceLabel,
  type DiscoveryContext,
} from './meta.js';
import type { SlimContainer, SlimPod } from './objects.js';

/** The `__meta_kubernetes_pod_*` label names. */
export const PodLabel = {
  name: `${metaLabelPrefix}pod_name`,
  ip: `${metaLabelPrefix}pod_ip`,
  ready: `${metaLabelPrefix}pod_ready`,
  phase: `${metaLabelPrefix}pod_phase`,
  nodeName: `${metaLabelPrefix}pod_node_name`,
  hostIP: `${metaLabelPrefix}pod_host_ip`,
  uid: `${metaLabelPrefix}pod_uid`,
  controllerKind: `${metaLabelPrefix}pod_controller_kind`,
  controllerName: `${metaLabelPrefix}pod_controller_name`,
  containerName: `${metaLabelPrefix}pod_container_name`,
  containerId: `${metaLabelPrefix}pod_container_id`,
  containerImage: `${metaLabelPrefix}pod_container_image`,
  containerInit: `${metaLabelPrefix}pod_container_init`,
  containerPortName: `${metaLabelPrefix}pod_container_port_name`,
  containerPortNumber: `${metaLabelPrefix}pod_container_port_number`,
  containerPortProtocol: `${metaLabelPrefix}pod_container_port_protocol`,
} as const;

/**
 * The group of one pod, source `pod/<ns>/<name>`: one target per declared container port (containers, then init
 * containers), and one port-free target (`__address__` is the bare pod IP) per container that declares no port.
 * A pod without an IP (starting, or evicted) gives an empty group, which deletes the source.
 */
export function podGroup(pod: SlimPod, context: DiscoveryContext): TargetGroup {
  const source = groupSource('Pod', pod.meta.namespace, pod.meta.name);
  if (pod.podIP === '') return deletedGroup(source);

  const labels = podLabels(pod);
  labels.set(namespaceLabel, pod.meta.namespace);
  if (context.attachMetadata.node) addNodeLabels(labels, context, pod.nodeName);
  if (context.attachMetadata.namespace) addNamespaceLabels(labels, context, pod.meta.namespace);

  const targets: Labels[] = [];
  for (const { container, isInit } of podContainers(pod)) {
    const common: [string, string][] = [
      [PodLabel.containerName, container.name],
      [PodLabel.containerId, container.containerId],
      [PodLabel.containerImage, container.image],
      [PodLabel.containerInit, String(isInit)],
    ];
    if (container.ports.length === 0) {
      // Prometheus 3 leaves the bare pod IP here, unbracketed even for IPv6; relabeling adds the port.
      targets.push(new Map<string, string>([[LabelName.address, pod.podIP], ...common]));
      continue;
    }
    for (const port of container.ports) {
      targets.push(
        new Map<string, string>([
          [LabelName.address, joinHostPort(pod.podIP, port.containerPort)],
          ...common,
          [PodLabel.containerPortNumber, String(port.containerPort)],
          [PodLabel.containerPortName, port.name],
          [PodLabel.containerPortProtocol, port.protocol],
        ]),
      );
    }
  }
  return { source, targets, labels };
}

/**
 * Prometheus' `podLabels`: the pod-level labels that the pod, endpoints and endpointslice roles share (not the
 * namespace, which each role sets itself). Controller kind and name come from the controlling owner reference and
 * are left out when empty.
 */
export function podLabels(pod: SlimPod): Map<string, string> {
  const labels = new Map<string, string>([
    [PodLabel.ip, pod.podIP],
    [PodLabel.ready, pod.ready],
    [PodLabel.phase, pod.phase],
    [PodLabel.nodeName, pod.nodeName],
    [PodLabel.hostIP, pod.hostIP],
    [PodLabel.uid, pod.meta.uid],
  ]);
  addObjectMetaLabels(labels, pod.meta, 'pod');
  if (pod.controller !== undefined) {
    if (pod.controller.kind !== '') labels.set(PodLabel.controllerKind, pod.controller.kind);
    if (pod.controller.name !== '') labels.set(PodLabel.controllerName, pod.controller.name);
  }
  return labels;
}

/** The pod's containers followed by its init containers, as Prometheus appends `InitContainers` to `Containers`. */
export function podContainers(pod: SlimPod): { container: SlimContainer; isInit: boolean }[] {
  return [
    ...pod.containers.map((container) => ({ container, isInit: false })),
    ...pod.initContainers.map((container) => ({ container, isInit: true })),
  ];
}
