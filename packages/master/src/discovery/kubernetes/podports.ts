/**
 * The pod joins the endpoints and endpointslice roles share: pod and container labels on pod-backed endpoint
 * targets, and the extra targets for container ports no endpoint port covered (`seenPods` in Prometheus'
 * `buildEndpoints` and `buildEndpointSlice`).
 */
import { LabelName, type Labels } from '@promfleet/model';
import { joinHostPort, type DiscoveryContext } from './meta.js';
import { partTargets, type PartSpec, type TargetMemo } from './memo.js';
import type { SlimPod } from './objects.js';
import { PodLabel, podContainers, podLabels } from './pod.js';

/**
 * The pods an endpoints object referenced, in first-seen order, each with the endpoint ports seen. Keyed by the pod
 * object: one build looks each pod up in one store, so one `<ns>/<name>` is one object.
 */
export type SeenPods = Map<SlimPod, number[]>;

/** Records that an endpoint port (`undefined` for an EndpointSlice port without a number) pointed at `pod`. */
export function markSeen(seenPods: SeenPods, pod: SlimPod, port: number | undefined): void {
  let covered = seenPods.get(pod);
  if (covered === undefined) seenPods.set(pod, (covered = []));
  if (port !== undefined) covered.push(port);
}

/**
 * An endpoint target joined with its pod: the target's labels, then the pod's labels (which win, as Go's
 * `LabelSet.Merge`), then the labels of the container port whose number equals the endpoint port. The protocol is
 * the endpoint port's when `endpointProtocol` is given (endpoints.go) and the container port's otherwise
 * (endpointslice.go).
 */
export function withPodLabels(
  target: ReadonlyMap<string, string>,
  options: { pod: SlimPod; port: number | undefined; endpointProtocol?: string; context: DiscoveryContext },
): Map<string, string> {
  const { pod, port } = options;
  const out = new Map([...target, ...podLabels(pod, options.context)]);
  if (port === undefined) return out;
  // Prometheus breaks out of the port loop only, so when several containers declare the port the last one wins.
  for (const { container, isInit } of podContainers(pod)) {
    const match = container.ports.find((cport) => cport.containerPort === port);
    if (match === undefined) continue;
    out.set(PodLabel.containerName, container.name);
    out.set(PodLabel.containerImage, container.image);
    out.set(PodLabel.containerPortName, match.name);
    out.set(PodLabel.containerPortNumber, String(port));
    out.set(PodLabel.containerPortProtocol, options.endpointProtocol ?? match.protocol);
    out.set(PodLabel.containerInit, String(isInit));
  }
  return out;
}

/**
 * One target per container port (containers, then init containers) of each seen pod that no endpoint port of that
 * pod covered, addressed at the pod IP. Pods without an IP give none. With a `memo`, a pod whose targets cannot
 * differ from the memo's last build hands on the same label sets.
 */
export function uncoveredPortTargets(seenPods: SeenPods, context: DiscoveryContext, memo?: TargetMemo): Labels[] {
  const targets: Labels[] = [];
  for (const [pod, coveredPorts] of seenPods) {
    if (pod.podIP === '') continue;
    targets.push(...partTargets(memo, uncoveredPart(pod, coveredPorts), context));
  }
  return targets;
}

/** The part of one pod's uncovered ports; its build holds only these values (see endpointslice.ts' `endpointPart`). */
function uncoveredPart(pod: SlimPod, coveredPorts: readonly number[]): PartSpec {
  return { kind: 'pod', key: pod, input: [pod, coveredPorts], build: (context: DiscoveryContext) => podUncoveredTargets({ pod, coveredPorts, context }) };
}

function podUncoveredTargets(options: { pod: SlimPod; coveredPorts: readonly number[]; context: DiscoveryContext }): Labels[] {
  const { pod, coveredPorts, context } = options;
  const targets: Labels[] = [];
  for (const { container, isInit } of podContainers(pod)) {
    for (const cport of container.ports) {
      if (coveredPorts.includes(cport.containerPort)) continue;
      const target = new Map<string, string>([
        [LabelName.address, joinHostPort(pod.podIP, cport.containerPort)],
        [PodLabel.containerName, container.name],
        [PodLabel.containerImage, container.image],
        [PodLabel.containerPortName, cport.name],
        [PodLabel.containerPortNumber, String(cport.containerPort)],
        [PodLabel.containerPortProtocol, cport.protocol],
        [PodLabel.containerInit, String(isInit)],
      ]);
      targets.push(new Map([...target, ...podLabels(pod, context)]));
    }
  }
  return targets;
}
