/** The `node` role, as Prometheus' `discovery/kubernetes/node.go` (`buildNode`, `nodeAddress`). */
import { LabelName, type TargetGroup } from '@promfleet/model';
import { addObjectMetaLabels, joinHostPort, metaLabelPrefix, nodeGroupSource, sanitizeLabelName } from './meta.js';
import type { SlimNode } from './objects.js';

/** The `__meta_kubernetes_node_*` label names the node role adds besides the object metadata. */
export const NodeLabel = {
  providerID: `${metaLabelPrefix}node_provider_id`,
  addressPrefix: `${metaLabelPrefix}node_address_`,
  conditionPrefix: `${metaLabelPrefix}node_condition_`,
} as const;

/** The address types in the order Prometheus picks a node's address from (`nodeAddress`, after kubelet's). */
const addressPreference = ['InternalIP', 'InternalDNS', 'ExternalIP', 'ExternalDNS', 'LegacyHostIP', 'Hostname'] as const;

/**
 * The group of one node, source `node/<name>`: a single target at the node's preferred address and the kubelet port,
 * with `instance` set to the node name and `__meta_kubernetes_node_address_<type>` holding the first address of
 * every type the node reports. The group labels carry each condition as
 * `__meta_kubernetes_node_condition_<type lowercased, sanitized>` = its status lowercased (`true`, `false`,
 * `unknown`), as Prometheus 3.12 and later; a condition type listed twice takes the last one's status. Returns `undefined` for a node with no address of a known type: Prometheus then
 * logs "No node address found" and sends nothing, so the node's previous group stays in place.
 */
export function nodeGroup(node: SlimNode): TargetGroup | undefined {
  const byType = new Map<string, string>();
  for (const { type, address } of node.addresses) if (!byType.has(type)) byType.set(type, address);
  const preferred = addressPreference.find((type) => byType.has(type));
  if (preferred === undefined) return undefined;

  const labels = new Map<string, string>([[NodeLabel.providerID, node.providerID]]);
  addObjectMetaLabels(labels, node.meta, 'node');
  for (const { type, status } of node.conditions) labels.set(sanitizeLabelName(NodeLabel.conditionPrefix + type.toLowerCase()), status.toLowerCase());
  const target = new Map<string, string>([
    [LabelName.address, joinHostPort(byType.get(preferred) ?? '', node.kubeletPort)],
    [LabelName.instance, node.meta.name],
  ]);
  for (const [type, address] of byType) target.set(sanitizeLabelName(NodeLabel.addressPrefix + type), address);
  return { source: nodeGroupSource(node.meta.name), targets: [target], labels };
}
