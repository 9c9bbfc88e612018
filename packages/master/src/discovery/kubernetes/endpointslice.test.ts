import { describe, expect, it } from '@jest/globals';
import { labelsFromObject, type TargetGroup } from '@promfleet/model';
import { endpointSliceGroup } from './endpointslice.js';
import { rawNamespace, rawNode, rawPod, rawService } from './fixtures.js';
import { createStaticContext } from './meta.js';
import { slimEndpointSlice, slimNamespace, slimNode, slimPod, slimService } from './objects.js';

const none = createStaticContext({});

function group(labels: Record<string, string>, targets: Record<string, string>[]): TargetGroup {
  return { source: 'endpointslice/shop/web-abc12', labels: labelsFromObject(labels), targets: targets.map((t) => labelsFromObject(t)) };
}

/** Prometheus' `makeEndpointSliceV1`, as the API server serialises it. */
function rawSlice(): Record<string, unknown> {
  return {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    metadata: {
      name: 'web-abc12',
      namespace: 'shop',
      labels: { 'kubernetes.io/service-name': 'web' },
      annotations: { 'test.annotation': 'test' },
    },
    addressType: 'IPv4',
    ports: [{ name: 'testport', port: 9000, protocol: 'TCP', appProtocol: 'http' }],
    endpoints: [
      {
        addresses: ['1.2.3.4'],
        conditions: { ready: true, serving: true, terminating: false },
        hostname: 'testendpoint1',
        targetRef: {},
        nodeName: 'node-a',
        deprecatedTopology: { topology: 'value' },
        zone: 'us-east-1a',
      },
      { addresses: ['2.3.4.5'], conditions: { ready: true, serving: true, terminating: false }, zone: 'us-east-1b' },
      { addresses: ['3.4.5.6'], conditions: { ready: false, serving: true, terminating: true }, zone: 'us-east-1c' },
      { addresses: ['4.5.6.7'], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Node', name: 'node-b' }, zone: 'us-east-1a' },
    ],
  };
}

const sliceLabels = {
  __meta_kubernetes_namespace: 'shop',
  __meta_kubernetes_endpointslice_address_type: 'IPv4',
  __meta_kubernetes_endpointslice_name: 'web-abc12',
  __meta_kubernetes_endpointslice_label_kubernetes_io_service_name: 'web',
  __meta_kubernetes_endpointslice_labelpresent_kubernetes_io_service_name: 'true',
  __meta_kubernetes_endpointslice_annotation_test_annotation: 'test',
  __meta_kubernetes_endpointslice_annotationpresent_test_annotation: 'true',
};

const portLabels = {
  __meta_kubernetes_endpointslice_port: '9000',
  __meta_kubernetes_endpointslice_port_app_protocol: 'http',
  __meta_kubernetes_endpointslice_port_name: 'testport',
  __meta_kubernetes_endpointslice_port_protocol: 'TCP',
};

const conditions = (ready: string, serving: string, terminating: string): Record<string, string> => ({
  __meta_kubernetes_endpointslice_endpoint_conditions_ready: ready,
  __meta_kubernetes_endpointslice_endpoint_conditions_serving: serving,
  __meta_kubernetes_endpointslice_endpoint_conditions_terminating: terminating,
});

const sliceTargets = [
  {
    __address__: '1.2.3.4:9000',
    ...portLabels,
    ...conditions('true', 'true', 'false'),
    __meta_kubernetes_endpointslice_address_target_kind: '',
    __meta_kubernetes_endpointslice_address_target_name: '',
    __meta_kubernetes_endpointslice_endpoint_hostname: 'testendpoint1',
    __meta_kubernetes_endpointslice_endpoint_node_name: 'node-a',
    __meta_kubernetes_endpointslice_endpoint_topology_present_topology: 'true',
    __meta_kubernetes_endpointslice_endpoint_topology_topology: 'value',
    __meta_kubernetes_endpointslice_endpoint_zone: 'us-east-1a',
  },
  { __address__: '2.3.4.5:9000', ...portLabels, ...conditions('true', 'true', 'false'), __meta_kubernetes_endpointslice_endpoint_zone: 'us-east-1b' },
  { __address__: '3.4.5.6:9000', ...portLabels, ...conditions('false', 'true', 'true'), __meta_kubernetes_endpointslice_endpoint_zone: 'us-east-1c' },
  {
    __address__: '4.5.6.7:9000',
    ...portLabels,
    ...conditions('true', 'true', 'false'),
    __meta_kubernetes_endpointslice_address_target_kind: 'Node',
    __meta_kubernetes_endpointslice_address_target_name: 'node-b',
    __meta_kubernetes_endpointslice_endpoint_zone: 'us-east-1a',
  },
];

const podLabels = {
  __meta_kubernetes_pod_name: 'web-7d4b9c-x2x9k',
  __meta_kubernetes_pod_ip: '10.244.1.17',
  __meta_kubernetes_pod_ready: 'true',
  __meta_kubernetes_pod_phase: 'Running',
  __meta_kubernetes_pod_node_name: 'node-a',
  __meta_kubernetes_pod_host_ip: '10.0.0.11',
  __meta_kubernetes_pod_uid: '5c8e2b1a-0f3e-4d2c-9a1b-7e6f5d4c3b2a',
  __meta_kubernetes_pod_controller_kind: 'ReplicaSet',
  __meta_kubernetes_pod_controller_name: 'web-7d4b9c',
  __meta_kubernetes_pod_label_app: 'web',
  __meta_kubernetes_pod_labelpresent_app: 'true',
  __meta_kubernetes_pod_label_app_kubernetes_io_name: 'web',
  __meta_kubernetes_pod_labelpresent_app_kubernetes_io_name: 'true',
  __meta_kubernetes_pod_label_pod_template_hash: '7d4b9c',
  __meta_kubernetes_pod_labelpresent_pod_template_hash: 'true',
  __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
  __meta_kubernetes_pod_annotationpresent_prometheus_io_scrape: 'true',
};

/** A slice of service `web` with one endpoint backed by {@link rawPod}, on the given ports. */
function podBackedSlice(ports: Record<string, unknown>[]): Record<string, unknown> {
  return {
    metadata: { name: 'web-abc12', namespace: 'shop' },
    addressType: 'IPv4',
    ports,
    endpoints: [
      {
        addresses: ['10.244.1.17'],
        conditions: { ready: false },
        targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-7d4b9c-x2x9k' },
      },
    ],
  };
}

const plainSliceLabels = { __meta_kubernetes_namespace: 'shop', __meta_kubernetes_endpointslice_address_type: 'IPv4', __meta_kubernetes_endpointslice_name: 'web-abc12' };

describe('endpointSliceGroup', () => {
  it('emits one target per endpoint, port and address with the labels of the fields that are set', () => {
    expect(endpointSliceGroup(slimEndpointSlice(rawSlice()), none)).toEqual(group(sliceLabels, sliceTargets));
  });

  it('adds the labels of the service named by kubernetes.io/service-name', () => {
    const context = createStaticContext({ services: [slimService(rawService())] });
    const expected = {
      ...sliceLabels,
      __meta_kubernetes_service_name: 'web',
      __meta_kubernetes_service_label_app: 'web',
      __meta_kubernetes_service_labelpresent_app: 'true',
      __meta_kubernetes_service_annotation_prometheus_io_probe: 'true',
      __meta_kubernetes_service_annotationpresent_prometheus_io_probe: 'true',
    };
    expect(endpointSliceGroup(slimEndpointSlice(rawSlice()), context)).toEqual(group(expected, sliceTargets));
  });

  describe('a dual-stack service (Prometheus 3.11 and later): only its primary family\'s slice has targets', () => {
    function service(spec: Record<string, unknown>): ReturnType<typeof slimService> {
      const raw = rawService();
      raw['spec'] = { ...(raw['spec'] as Record<string, unknown>), ...spec };
      return slimService(raw);
    }
    function slice(addressType: string): ReturnType<typeof slimEndpointSlice> {
      return slimEndpointSlice({ ...rawSlice(), addressType });
    }
    it.each([
      ['PreferDualStack, IPv4 first: the IPv6 slice', { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] }, 'IPv6', false],
      ['PreferDualStack, IPv4 first: the IPv4 slice', { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] }, 'IPv4', true],
      ['RequireDualStack, IPv6 first: the IPv4 slice', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6', 'IPv4'] }, 'IPv4', false],
      ['RequireDualStack, IPv6 first: the IPv6 slice', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6', 'IPv4'] }, 'IPv6', true],
      ['RequireDualStack: an FQDN slice is not the primary family', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] }, 'FQDN', false],
      ['SingleStack IPv4: an IPv6 slice still counts', { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'] }, 'IPv6', true],
      ['no ipFamilyPolicy', { ipFamilies: ['IPv4', 'IPv6'] }, 'IPv6', true],
      ['PreferDualStack without ipFamilies', { ipFamilyPolicy: 'PreferDualStack' }, 'IPv6', true],
    ])('%s', (_name, spec, addressType, kept) => {
      const context = createStaticContext({ services: [service(spec)] });
      const built = endpointSliceGroup(slice(addressType), context);
      expect(built.targets).toHaveLength(kept ? 4 : 0);
      expect(built.labels.get('__meta_kubernetes_endpointslice_address_type')).toBe(addressType);
      expect(built.labels.get('__meta_kubernetes_service_name')).toBe('web');
    });

    it('filters nothing when the service is unknown', () => {
      expect(endpointSliceGroup(slice('IPv6'), none).targets).toHaveLength(4);
    });
  });

  it('joins a pod-backed endpoint with its pod, taking the protocol from the container port', () => {
    const context = createStaticContext({ pods: [slimPod(rawPod())] });
    const raw = podBackedSlice([{ name: 'metrics', port: 9000, protocol: 'SCTP' }]);
    expect(endpointSliceGroup(slimEndpointSlice(raw), context)).toEqual(
      group(plainSliceLabels, [
        {
          __address__: '10.244.1.17:9000',
          __meta_kubernetes_endpointslice_port: '9000',
          __meta_kubernetes_endpointslice_port_name: 'metrics',
          __meta_kubernetes_endpointslice_port_protocol: 'SCTP',
          __meta_kubernetes_endpointslice_endpoint_conditions_ready: 'false',
          __meta_kubernetes_endpointslice_address_target_kind: 'Pod',
          __meta_kubernetes_endpointslice_address_target_name: 'web-7d4b9c-x2x9k',
          ...podLabels,
          __meta_kubernetes_pod_container_name: 'app',
          __meta_kubernetes_pod_container_image: 'registry.example/web:1.4.2',
          __meta_kubernetes_pod_container_port_name: 'http-metrics',
          __meta_kubernetes_pod_container_port_number: '9000',
          __meta_kubernetes_pod_container_port_protocol: 'TCP',
          __meta_kubernetes_pod_container_init: 'false',
        },
        {
          __address__: '10.244.1.17:9001',
          ...podLabels,
          __meta_kubernetes_pod_container_name: 'app',
          __meta_kubernetes_pod_container_image: 'registry.example/web:1.4.2',
          __meta_kubernetes_pod_container_port_name: 'statsd',
          __meta_kubernetes_pod_container_port_number: '9001',
          __meta_kubernetes_pod_container_port_protocol: 'UDP',
          __meta_kubernetes_pod_container_init: 'false',
        },
      ]),
    );
  });

  it('uses the bare address for a port without a number, which covers no container port', () => {
    const context = createStaticContext({ pods: [slimPod(rawPod())] });
    const targets = endpointSliceGroup(slimEndpointSlice(podBackedSlice([{ name: 'any' }])), context).targets;
    expect(targets.map((t) => [t.get('__address__'), t.get('__meta_kubernetes_endpointslice_port'), t.get('__meta_kubernetes_pod_container_name')])).toEqual([
      ['10.244.1.17', undefined, undefined],
      ['10.244.1.17:9000', undefined, 'app'],
      ['10.244.1.17:9001', undefined, 'app'],
    ]);
  });

  it('emits nothing for endpoints when the slice has no ports, not even uncovered pod ports', () => {
    const context = createStaticContext({ pods: [slimPod(rawPod())] });
    expect(endpointSliceGroup(slimEndpointSlice(podBackedSlice([])), context).targets).toEqual([]);
  });

  it('brackets IPv6 addresses next to a port', () => {
    const raw = { metadata: { name: 'web-abc12', namespace: 'shop' }, addressType: 'IPv6', ports: [{ port: 443 }], endpoints: [{ addresses: ['fd00::1', 'fd00::2'] }] };
    expect(endpointSliceGroup(slimEndpointSlice(raw), none).targets.map((t) => t.get('__address__'))).toEqual(['[fd00::1]:443', '[fd00::2]:443']);
  });

  it('attaches node labels by a Node target reference, else by nodeName', () => {
    const context = createStaticContext({ nodes: [slimNode(rawNode('node-a')), slimNode(rawNode('node-b'))], attachMetadata: { node: true } });
    const raw = rawSlice();
    const endpoints = raw['endpoints'] as Record<string, unknown>[];
    const last = endpoints[3];
    if (last !== undefined) last['nodeName'] = 'node-a';
    const targets = endpointSliceGroup(slimEndpointSlice(raw), context).targets;
    expect(targets.map((t) => [t.get('__address__'), t.get('__meta_kubernetes_node_name'), t.get('__meta_kubernetes_node_annotation_node_alpha_kubernetes_io_ttl')])).toEqual([
      ['1.2.3.4:9000', 'node-a', '0'],
      ['2.3.4.5:9000', undefined, undefined],
      ['3.4.5.6:9000', undefined, undefined],
      ['4.5.6.7:9000', 'node-b', '0'],
    ]);
  });

  it('attaches the namespace metadata to the group labels', () => {
    const context = createStaticContext({ namespaces: [slimNamespace(rawNamespace('shop'))], attachMetadata: { namespace: true } });
    expect(endpointSliceGroup(slimEndpointSlice(rawSlice()), context)).toEqual(
      group(
        {
          ...sliceLabels,
          __meta_kubernetes_namespace_label_kubernetes_io_metadata_name: 'shop',
          __meta_kubernetes_namespace_labelpresent_kubernetes_io_metadata_name: 'true',
          __meta_kubernetes_namespace_label_team: 'checkout',
          __meta_kubernetes_namespace_labelpresent_team: 'true',
          __meta_kubernetes_namespace_annotation_owner_example_contact: 'sre@example.com',
          __meta_kubernetes_namespace_annotationpresent_owner_example_contact: 'true',
        },
        sliceTargets,
      ),
    );
  });
});
