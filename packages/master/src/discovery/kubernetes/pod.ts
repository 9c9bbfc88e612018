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
import type { SlimContainer, SlimObjectRef, SlimPod } from './objects.js';

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
  deploymentName: `${metaLabelPrefix}pod_deployment_name`,
  jobName: `${metaLabelPrefix}pod_job_name`,
  cronjobName: `${metaLabelPrefix}pod_cronjob_name`,
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
 * A pod without an IP (starting, or evicted) gives an empty group, which deletes the source. With
 * `attach_metadata: {node: true}`, so does a pod whose node is not among the nodes watched: as Prometheus 3.11 and
 * later, a `role: node` selector of the pod role then keeps the pods of the nodes it excludes from being targets.
 */
export function podGroup(pod: SlimPod, context: DiscoveryContext): TargetGroup {
  const source = groupSource('Pod', pod.meta.namespace, pod.meta.name);
  if (pod.podIP === '') return deletedGroup(source);
  if (context.attachMetadata.node && context.node(pod.nodeName) === undefined) return deletedGroup(source);

  const labels = podLabels(pod, context);
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
export function podLabels(pod: SlimPod, context: DiscoveryContext): Map<string, string> {
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
    addWorkloadLabels(labels, { controller: pod.controller, namespace: pod.meta.namespace, context });
  }
  return labels;
}

/**
 * Prometheus 3.11's owning-workload labels (`attach_metadata` `deployment`, `job`, `cronjob`), from the pod's
 * controller only: a ReplicaSet's own controller of kind Deployment, the controlling Job's name, and that Job's own
 * controller of kind CronJob. Kinds compare exactly; an owner not in the cache, without a controller, or of another
 * kind adds nothing (the label is absent, not empty).
 */
function addWorkloadLabels(out: Map<string, string>, options: { controller: SlimObjectRef; namespace: string; context: DiscoveryContext }): void {
  const { controller, namespace, context } = options;
  const { deployment, job, cronjob } = context.attachMetadata;
  if (controller.kind === 'ReplicaSet' && deployment) {
    const owner = context.workload('ReplicaSet', namespace, controller.name)?.controller;
    if (owner?.kind === 'Deployment') out.set(PodLabel.deploymentName, owner.name);
  }
  if (controller.kind !== 'Job') return;
  if (job) out.set(PodLabel.jobName, controller.name);
  if (cronjob) {
    const owner = context.workload('Job', namespace, controller.name)?.controller;
    if (owner?.kind === 'CronJob') out.set(PodLabel.cronjobName, owner.name);
  }
}

/** The pod's containers followed by its init containers, as Prometheus appends `InitContainers` to `Containers`. */
export function podContainers(pod: SlimPod): { container: SlimContainer; isInit: boolean }[] {
  return [
    ...pod.containers.map((container) => ({ container, isInit: false })),
    ...pod.initContainers.map((container) => ({ container, isInit: true })),
  ];
}
