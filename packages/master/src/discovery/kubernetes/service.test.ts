import { describe, expect, it } from '@jest/globals';
import { labelsFromObject, type TargetGroup } from '@promfleet/model';
import { rawNamespace, rawService } from './fixtures.js';
import { createStaticContext } from './meta.js';
import { slimNamespace, slimService } from './objects.js';
import { serviceGroup } from './service.js';

const none = createStaticContext({});

function group(labels: Record<string, string>, targets: Record<string, string>[]): TargetGroup {
  return { source: 'svc/shop/web', labels: labelsFromObject(labels), targets: targets.map((t) => labelsFromObject(t)) };
}

const serviceLabels = {
  __meta_kubernetes_namespace: 'shop',
  __meta_kubernetes_service_name: 'web',
  __meta_kubernetes_service_label_app: 'web',
  __meta_kubernetes_service_labelpresent_app: 'true',
  __meta_kubernetes_service_annotation_prometheus_io_probe: 'true',
  __meta_kubernetes_service_annotationpresent_prometheus_io_probe: 'true',
};

function withSpec(spec: Record<string, unknown>): Record<string, unknown> {
  const raw = rawService();
  raw['spec'] = spec;
  return raw;
}

describe('serviceGroup', () => {
  it.each([
    [
      'a ClusterIP service, one target per port',
      withSpec({
        type: 'ClusterIP',
        clusterIP: '10.96.12.34',
        ports: [
          { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 },
          { name: 'dns', port: 53, protocol: 'UDP' },
        ],
      }),
      [
        {
          __address__: 'web.shop.svc:80',
          __meta_kubernetes_service_port_name: 'http',
          __meta_kubernetes_service_port_number: '80',
          __meta_kubernetes_service_port_protocol: 'TCP',
          __meta_kubernetes_service_type: 'ClusterIP',
          __meta_kubernetes_service_cluster_ip: '10.96.12.34',
        },
        {
          __address__: 'web.shop.svc:53',
          __meta_kubernetes_service_port_name: 'dns',
          __meta_kubernetes_service_port_number: '53',
          __meta_kubernetes_service_port_protocol: 'UDP',
          __meta_kubernetes_service_type: 'ClusterIP',
          __meta_kubernetes_service_cluster_ip: '10.96.12.34',
        },
      ],
    ],
    [
      'an ExternalName service, with the external name instead of a cluster IP',
      withSpec({ type: 'ExternalName', externalName: 'db.example.com', ports: [{ port: 5432 }] }),
      [
        {
          __address__: 'web.shop.svc:5432',
          __meta_kubernetes_service_port_name: '',
          __meta_kubernetes_service_port_number: '5432',
          __meta_kubernetes_service_port_protocol: '',
          __meta_kubernetes_service_type: 'ExternalName',
          __meta_kubernetes_service_external_name: 'db.example.com',
        },
      ],
    ],
    [
      'a LoadBalancer service, with spec.loadBalancerIP',
      withSpec({ type: 'LoadBalancer', clusterIP: '10.96.0.9', loadBalancerIP: '198.51.100.7', ports: [{ name: 'https', port: 443, protocol: 'TCP', nodePort: 31443 }] }),
      [
        {
          __address__: 'web.shop.svc:443',
          __meta_kubernetes_service_port_name: 'https',
          __meta_kubernetes_service_port_number: '443',
          __meta_kubernetes_service_port_protocol: 'TCP',
          __meta_kubernetes_service_type: 'LoadBalancer',
          __meta_kubernetes_service_cluster_ip: '10.96.0.9',
          __meta_kubernetes_service_loadbalancer_ip: '198.51.100.7',
        },
      ],
    ],
    [
      'a LoadBalancer service without loadBalancerIP, whose label is then empty',
      withSpec({ type: 'LoadBalancer', clusterIP: '10.96.0.9', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] }),
      [
        {
          __address__: 'web.shop.svc:443',
          __meta_kubernetes_service_port_name: 'https',
          __meta_kubernetes_service_port_number: '443',
          __meta_kubernetes_service_port_protocol: 'TCP',
          __meta_kubernetes_service_type: 'LoadBalancer',
          __meta_kubernetes_service_cluster_ip: '10.96.0.9',
          __meta_kubernetes_service_loadbalancer_ip: '',
        },
      ],
    ],
    [
      'a headless service, whose cluster IP is None',
      withSpec({ type: 'ClusterIP', clusterIP: 'None', ports: [{ name: 'grpc', port: 9090, protocol: 'TCP' }] }),
      [
        {
          __address__: 'web.shop.svc:9090',
          __meta_kubernetes_service_port_name: 'grpc',
          __meta_kubernetes_service_port_number: '9090',
          __meta_kubernetes_service_port_protocol: 'TCP',
          __meta_kubernetes_service_type: 'ClusterIP',
          __meta_kubernetes_service_cluster_ip: 'None',
        },
      ],
    ],
    ['a service without ports, which has no targets', withSpec({ type: 'ClusterIP', clusterIP: '10.96.0.10' }), []],
  ])('builds %s', (_name, raw, targets) => {
    expect(serviceGroup(slimService(raw), none)).toEqual(group(serviceLabels, targets));
  });

  it.each([
    ['the ingress IPs, comma-separated in order, over spec.loadBalancerIP', '198.51.100.7', [{ ip: '192.168.1.15' }, { ip: '2001:db8::1' }], '192.168.1.15,2001:db8::1'],
    ['one ingress IP', '', [{ ip: '192.168.1.15', ipMode: 'VIP' }], '192.168.1.15'],
    ['no hostname: only IPs count, so spec.loadBalancerIP', '198.51.100.7', [{ hostname: 'lb.example.com' }], '198.51.100.7'],
    ['the IPs among hostnames', '', [{ hostname: 'lb.example.com' }, { ip: '203.0.113.9' }], '203.0.113.9'],
    ['an empty ingress list: spec.loadBalancerIP', '198.51.100.7', [], '198.51.100.7'],
    ['neither: empty', undefined, [{ hostname: 'lb.example.com' }], ''],
  ])('labels a LoadBalancer service with %s', (_name, specIP, ingress, expected) => {
    const raw = withSpec({ type: 'LoadBalancer', clusterIP: '10.96.0.9', loadBalancerIP: specIP, ports: [{ name: 'https', port: 443, protocol: 'TCP' }] });
    raw['status'] = { loadBalancer: { ingress } };
    expect(serviceGroup(slimService(raw), none).targets[0]?.get('__meta_kubernetes_service_loadbalancer_ip')).toBe(expected);
  });

  it('gives a ClusterIP service no load-balancer label, whatever its status says', () => {
    const raw = withSpec({ type: 'ClusterIP', clusterIP: '10.96.0.9', ports: [{ port: 80 }] });
    raw['status'] = { loadBalancer: { ingress: [{ ip: '192.168.1.15' }] } };
    expect(serviceGroup(slimService(raw), none).targets[0]?.has('__meta_kubernetes_service_loadbalancer_ip')).toBe(false);
  });

  it('attaches the namespace labels and annotations with attach_metadata.namespace', () => {
    const context = createStaticContext({ namespaces: [slimNamespace(rawNamespace('shop'))], attachMetadata: { namespace: true } });
    const labels = serviceGroup(slimService(rawService()), context).labels;
    expect(labels).toEqual(
      labelsFromObject({
        ...serviceLabels,
        __meta_kubernetes_namespace_label_kubernetes_io_metadata_name: 'shop',
        __meta_kubernetes_namespace_labelpresent_kubernetes_io_metadata_name: 'true',
        __meta_kubernetes_namespace_label_team: 'checkout',
        __meta_kubernetes_namespace_labelpresent_team: 'true',
        __meta_kubernetes_namespace_annotation_owner_example_contact: 'sre@example.com',
        __meta_kubernetes_namespace_annotationpresent_owner_example_contact: 'true',
      }),
    );
  });

  it('ignores node metadata, which the service role never attaches', () => {
    const context = createStaticContext({ attachMetadata: { node: true } });
    expect(serviceGroup(slimService(rawService()), context).labels).toEqual(labelsFromObject(serviceLabels));
  });
});
