/** The `service` role, as Prometheus' `discovery/kubernetes/service.go` (`buildService`, `serviceLabels`). */
import { LabelName, type TargetGroup } from '@promfleet/model';
import {
  addNamespaceLabels,
  addObjectMetaLabels,
  groupSource,
  joinHostPort,
  metaLabelPrefix,
  namespaceLabel,
  type DiscoveryContext,
} from './meta.js';
import type { SlimService } from './objects.js';

/** The `__meta_kubernetes_service_*` label names. */
export const ServiceLabel = {
  name: `${metaLabelPrefix}service_name`,
  type: `${metaLabelPrefix}service_type`,
  clusterIP: `${metaLabelPrefix}service_cluster_ip`,
  externalName: `${metaLabelPrefix}service_external_name`,
  loadBalancerIP: `${metaLabelPrefix}service_loadbalancer_ip`,
  portName: `${metaLabelPrefix}service_port_name`,
  portNumber: `${metaLabelPrefix}service_port_number`,
  portProtocol: `${metaLabelPrefix}service_port_protocol`,
} as const;

/**
 * The group of one service, source `svc/<ns>/<name>`: one target per service port with `__address__` set to
 * `<name>.<namespace>.svc:<port>`. ExternalName services carry the external name instead of the cluster IP;
 * LoadBalancer services also carry their load-balancer IPs ({@link loadBalancerIP}).
 */
export function serviceGroup(service: SlimService, context: DiscoveryContext): TargetGroup {
  const { namespace, name } = service.meta;
  const labels = serviceLabels(service);
  if (context.attachMetadata.namespace) addNamespaceLabels(labels, context, namespace);

  const targets = service.ports.map((port) => {
    const target = new Map<string, string>([
      [LabelName.address, joinHostPort(`${name}.${namespace}.svc`, port.port)],
      [ServiceLabel.portName, port.name],
      [ServiceLabel.portNumber, String(port.port)],
      [ServiceLabel.portProtocol, port.protocol],
      [ServiceLabel.type, service.type],
    ]);
    if (service.type === 'ExternalName') target.set(ServiceLabel.externalName, service.externalName);
    else target.set(ServiceLabel.clusterIP, service.clusterIP);
    if (service.type === 'LoadBalancer') target.set(ServiceLabel.loadBalancerIP, loadBalancerIP(service));
    return target;
  });
  return { source: groupSource('Service', namespace, name), targets, labels };
}

/**
 * Prometheus' `serviceLabels`: the namespace and the service's name, labels and annotations. The endpoints and
 * endpointslice roles attach the same labels for the service they belong to.
 */
export function serviceLabels(service: SlimService): Map<string, string> {
  const labels = new Map<string, string>([[namespaceLabel, service.meta.namespace]]);
  addObjectMetaLabels(labels, service.meta, 'service');
  return labels;
}

/**
 * `__meta_kubernetes_service_loadbalancer_ip`, as current Prometheus (`loadBalancerIPs` in `service.go`): the IPs the
 * load balancer reports in `status.loadBalancer.ingress`, comma-separated in order, else `spec.loadBalancerIP`
 * (empty when unset). Ingress hostnames are not IPs and are left out, as upstream does.
 */
export function loadBalancerIP(service: SlimService): string {
  return service.loadBalancerIngressIPs.length > 0 ? service.loadBalancerIngressIPs.join(',') : service.loadBalancerIP;
}
