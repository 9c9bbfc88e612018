import { describe, expect, it } from '@jest/globals';
import { labelsFromObject, type TargetGroup } from '@promfleet/model';
import { endpointsGroup } from './endpoints.js';
import { rawNamespace, rawNode, rawPod, rawService } from './fixtures.js';
import { createStaticContext } from './meta.js';
import { slimEndpoints, slimNamespace, slimNode, slimPod, slimService } from './objects.js';

const none = createStaticContext({});

function group(source: string, labels: Record<string, string>, targets: Record<string, string>[]): TargetGroup {
  return { source, labels: labelsFromObject(labels), targets: targets.map((t) => labelsFromObject(t)) };
}

/** Prometheus' `makeEndpoints`: a named address on a node, one address both ready and not, one backed by a Node. */
function rawEndpoints(): Record<string, unknown> {
  return {
    kind: 'Endpoints',
    apiVersion: 'v1',
    metadata: { name: 'web', namespace: 'shop', annotations: { 'test.annotation': 'test' } },
    subsets: [
      {
        addresses: [{ ip: '1.2.3.4', hostname: 'testendpoint1', nodeName: 'node-a' }],
        ports: [{ name: 'testport', port: 9000, protocol: 'TCP' }],
      },
      {
        addresses: [{ ip: '2.3.4.5' }],
        notReadyAddresses: [{ ip: '2.3.4.5' }],
        ports: [{ name: 'testport', port: 9001, protocol: 'TCP' }],
      },
      {
        addresses: [{ ip: '6.7.8.9', targetRef: { kind: 'Node', name: 'node-b' } }],
        ports: [{ name: 'testport', port: 9002, protocol: 'TCP' }],
      },
    ],
  };
}

const endpointsLabels = {
  __meta_kubernetes_namespace: 'shop',
  __meta_kubernetes_endpoints_name: 'web',
  __meta_kubernetes_endpoints_annotation_test_annotation: 'test',
  __meta_kubernetes_endpoints_annotationpresent_test_annotation: 'true',
};

const plainTargets = [
  {
    __address__: '1.2.3.4:9000',
    __meta_kubernetes_endpoint_hostname: 'testendpoint1',
    __meta_kubernetes_endpoint_node_name: 'node-a',
    __meta_kubernetes_endpoint_port_name: 'testport',
    __meta_kubernetes_endpoint_port_protocol: 'TCP',
    __meta_kubernetes_endpoint_ready: 'true',
  },
  {
    __address__: '2.3.4.5:9001',
    __meta_kubernetes_endpoint_port_name: 'testport',
    __meta_kubernetes_endpoint_port_protocol: 'TCP',
    __meta_kubernetes_endpoint_ready: 'true',
  },
  {
    __address__: '2.3.4.5:9001',
    __meta_kubernetes_endpoint_port_name: 'testport',
    __meta_kubernetes_endpoint_port_protocol: 'TCP',
    __meta_kubernetes_endpoint_ready: 'false',
  },
  {
    __address__: '6.7.8.9:9002',
    __meta_kubernetes_endpoint_address_target_kind: 'Node',
    __meta_kubernetes_endpoint_address_target_name: 'node-b',
    __meta_kubernetes_endpoint_port_name: 'testport',
    __meta_kubernetes_endpoint_port_protocol: 'TCP',
    __meta_kubernetes_endpoint_ready: 'true',
  },
];

/** The pod labels of {@link rawPod} as the endpoints roles attach them (no namespace, which is a group label). */
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

/** Endpoints `web` with one ready address backed by {@link rawPod}, on the given ports. */
function podBackedEndpoints(ports: Record<string, unknown>[]): Record<string, unknown> {
  return {
    metadata: { name: 'web', namespace: 'shop' },
    subsets: [
      {
        addresses: [{ ip: '10.244.1.17', nodeName: 'node-a', targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-7d4b9c-x2x9k', uid: 'x' } }],
        ports,
      },
    ],
  };
}

const podRef = {
  __meta_kubernetes_endpoint_address_target_kind: 'Pod',
  __meta_kubernetes_endpoint_address_target_name: 'web-7d4b9c-x2x9k',
  __meta_kubernetes_endpoint_node_name: 'node-a',
};

describe('endpointsGroup', () => {
  it('emits one target per subset port and address, ready addresses first', () => {
    expect(endpointsGroup(slimEndpoints(rawEndpoints()), none)).toEqual(group('endpoints/shop/web', endpointsLabels, plainTargets));
  });

  it('adds the labels of the service of the same name', () => {
    const context = createStaticContext({ services: [slimService(rawService())] });
    const expected = {
      ...endpointsLabels,
      __meta_kubernetes_service_name: 'web',
      __meta_kubernetes_service_label_app: 'web',
      __meta_kubernetes_service_labelpresent_app: 'true',
      __meta_kubernetes_service_annotation_prometheus_io_probe: 'true',
      __meta_kubernetes_service_annotationpresent_prometheus_io_probe: 'true',
    };
    expect(endpointsGroup(slimEndpoints(rawEndpoints()), context)).toEqual(group('endpoints/shop/web', expected, plainTargets));
  });

  it('keeps the group labels and no targets when there are no subsets', () => {
    const raw = { metadata: { name: 'web', namespace: 'shop', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } }, subsets: [] };
    expect(endpointsGroup(slimEndpoints(raw), none)).toEqual(
      group(
        'endpoints/shop/web',
        {
          __meta_kubernetes_namespace: 'shop',
          __meta_kubernetes_endpoints_name: 'web',
          __meta_kubernetes_endpoints_label_endpointslice_kubernetes_io_skip_mirror: 'true',
          __meta_kubernetes_endpoints_labelpresent_endpointslice_kubernetes_io_skip_mirror: 'true',
        },
        [],
      ),
    );
  });

  it('joins a pod-backed address with its pod and adds targets for the container ports no endpoint port covers', () => {
    const context = createStaticContext({ pods: [slimPod(rawPod())] });
    const raw = podBackedEndpoints([{ name: 'metrics', port: 9000, protocol: 'TCP' }]);
    expect(endpointsGroup(slimEndpoints(raw), context)).toEqual(
      group('endpoints/shop/web', { __meta_kubernetes_namespace: 'shop', __meta_kubernetes_endpoints_name: 'web' }, [
        {
          __address__: '10.244.1.17:9000',
          __meta_kubernetes_endpoint_port_name: 'metrics',
          __meta_kubernetes_endpoint_port_protocol: 'TCP',
          __meta_kubernetes_endpoint_ready: 'true',
          ...podRef,
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

  it('takes the container port protocol of a matched port from the endpoint port, as endpoints.go does', () => {
    const context = createStaticContext({ pods: [slimPod(rawPod())] });
    const raw = podBackedEndpoints([{ name: 'statsd', port: 9001, protocol: 'TCP' }]);
    const [matched] = endpointsGroup(slimEndpoints(raw), context).targets;
    expect(matched?.get('__meta_kubernetes_pod_container_port_protocol')).toBe('TCP');
  });

  it('matches init containers and reports uncovered init container ports (Prometheus sidecar case)', () => {
    const pod = rawPod();
    (pod['spec'] as Record<string, unknown>)['initContainers'] = [
      { name: 'ic1', image: 'ic1:latest', ports: [{ name: 'initport', containerPort: 1111, protocol: 'TCP' }] },
      { name: 'ic2', image: 'ic2:latest', restartPolicy: 'Always', ports: [{ name: 'initport', containerPort: 9111, protocol: 'TCP' }] },
    ];
    const context = createStaticContext({ pods: [slimPod(pod)] });
    const raw = podBackedEndpoints([
      { name: 'metrics', port: 9000, protocol: 'TCP' },
      { name: 'statsd', port: 9001, protocol: 'UDP' },
      { name: 'native', port: 9111, protocol: 'TCP' },
    ]);
    const targets = endpointsGroup(slimEndpoints(raw), context).targets;
    const summary = targets.map((t) => [t.get('__address__'), t.get('__meta_kubernetes_pod_container_name'), t.get('__meta_kubernetes_pod_container_init')]);
    expect(summary).toEqual([
      ['10.244.1.17:9000', 'app', 'false'],
      ['10.244.1.17:9001', 'app', 'false'],
      ['10.244.1.17:9111', 'ic2', 'true'],
      ['10.244.1.17:1111', 'ic1', 'true'],
    ]);
  });

  it('takes the container labels from the last container declaring the port, as Prometheus breaks the inner loop only', () => {
    const pod = rawPod();
    const containers = (pod['spec'] as Record<string, unknown>)['containers'] as Record<string, unknown>[];
    containers.push({ name: 'twin', image: 'twin:1', ports: [{ name: 'twin-metrics', containerPort: 9000, protocol: 'TCP' }] });
    const context = createStaticContext({ pods: [slimPod(pod)] });
    const [matched] = endpointsGroup(slimEndpoints(podBackedEndpoints([{ port: 9000, protocol: 'TCP' }])), context).targets;
    expect([matched?.get('__meta_kubernetes_pod_container_name'), matched?.get('__meta_kubernetes_pod_container_port_name')]).toEqual(['twin', 'twin-metrics']);
  });

  it('leaves an address whose pod is not known as a plain target', () => {
    const targets = endpointsGroup(slimEndpoints(podBackedEndpoints([{ name: 'metrics', port: 9000, protocol: 'TCP' }])), none).targets;
    expect(targets).toEqual([
      labelsFromObject({
        __address__: '10.244.1.17:9000',
        __meta_kubernetes_endpoint_port_name: 'metrics',
        __meta_kubernetes_endpoint_port_protocol: 'TCP',
        __meta_kubernetes_endpoint_ready: 'true',
        ...podRef,
      }),
    ]);
  });

  it('adds no uncovered-port targets for a pod without an IP', () => {
    const pod = rawPod();
    delete (pod['status'] as Record<string, unknown>)['podIP'];
    const context = createStaticContext({ pods: [slimPod(pod)] });
    const targets = endpointsGroup(slimEndpoints(podBackedEndpoints([{ name: 'metrics', port: 9000, protocol: 'TCP' }])), context).targets;
    expect(targets.map((t) => [t.get('__address__'), t.get('__meta_kubernetes_pod_ip')])).toEqual([['10.244.1.17:9000', '']]);
  });

  it('brackets IPv6 endpoint addresses', () => {
    const raw = { metadata: { name: 'web', namespace: 'shop' }, subsets: [{ addresses: [{ ip: 'fd00::7' }], ports: [{ port: 8080 }] }] };
    expect(endpointsGroup(slimEndpoints(raw), none).targets[0]?.get('__address__')).toBe('[fd00::7]:8080');
  });

  it('attaches node labels by nodeName, else by a Node target reference', () => {
    const context = createStaticContext({ nodes: [slimNode(rawNode('node-a')), slimNode(rawNode('node-b'))], attachMetadata: { node: true } });
    const targets = endpointsGroup(slimEndpoints(rawEndpoints()), context).targets;
    expect(targets.map((t) => [t.get('__address__'), t.get('__meta_kubernetes_node_name'), t.get('__meta_kubernetes_node_label_kubernetes_io_os')])).toEqual([
      ['1.2.3.4:9000', 'node-a', 'linux'],
      ['2.3.4.5:9001', undefined, undefined],
      ['2.3.4.5:9001', undefined, undefined],
      ['6.7.8.9:9002', 'node-b', 'linux'],
    ]);
  });

  it('attaches the namespace metadata to the group labels', () => {
    const context = createStaticContext({ namespaces: [slimNamespace(rawNamespace('shop'))], attachMetadata: { namespace: true } });
    const labels = endpointsGroup(slimEndpoints(rawEndpoints()), context).labels;
    expect(labels.get('__meta_kubernetes_namespace_label_team')).toBe('checkout');
    expect(labels.get('__meta_kubernetes_namespace_annotationpresent_owner_example_contact')).toBe('true');
    expect(labels.size).toBe(Object.keys(endpointsLabels).length + 6);
  });
});
