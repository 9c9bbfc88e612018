import { describe, expect, it } from '@jest/globals';
import { labelsFromObject } from '@promfleet/model';
import { rawNode } from './fixtures.js';
import { nodeGroup } from './node.js';
import { slimNode } from './objects.js';

function withAddresses(addresses: { type: string; address: string }[]): Record<string, unknown> {
  const raw = rawNode('node-a');
  (raw['status'] as Record<string, unknown>)['addresses'] = addresses;
  return raw;
}

describe('nodeGroup', () => {
  it('builds the node target at the preferred address and the kubelet port, with instance set to the node name', () => {
    expect(nodeGroup(slimNode(rawNode('node-a')))).toEqual({
      source: 'node/node-a',
      labels: labelsFromObject({
        __meta_kubernetes_node_name: 'node-a',
        __meta_kubernetes_node_provider_id: 'aws:///eu-west-1a/i-node-a',
        __meta_kubernetes_node_label_topology_kubernetes_io_zone: 'eu-west-1a',
        __meta_kubernetes_node_labelpresent_topology_kubernetes_io_zone: 'true',
        __meta_kubernetes_node_label_kubernetes_io_os: 'linux',
        __meta_kubernetes_node_labelpresent_kubernetes_io_os: 'true',
        __meta_kubernetes_node_annotation_node_alpha_kubernetes_io_ttl: '0',
        __meta_kubernetes_node_annotationpresent_node_alpha_kubernetes_io_ttl: 'true',
      }),
      targets: [
        labelsFromObject({
          __address__: '10.0.0.11:10250',
          instance: 'node-a',
          __meta_kubernetes_node_address_InternalIP: '10.0.0.11',
          __meta_kubernetes_node_address_ExternalIP: '203.0.113.11',
          __meta_kubernetes_node_address_Hostname: 'node-a.internal',
        }),
      ],
    });
  });

  it.each([
    ['Ready true', [{ type: 'Ready', status: 'True' }], { __meta_kubernetes_node_condition_ready: 'true' }],
    ['Ready false', [{ type: 'Ready', status: 'False' }], { __meta_kubernetes_node_condition_ready: 'false' }],
    ['Ready unknown', [{ type: 'Ready', status: 'Unknown' }], { __meta_kubernetes_node_condition_ready: 'unknown' }],
    ['no conditions', [], {}],
    [
      'several, lowercased without splitting words, custom types too',
      [
        { type: 'MemoryPressure', status: 'False' },
        { type: 'PIDPressure', status: 'False' },
        { type: 'Ready', status: 'True' },
        { type: 'KernelDeadlock', status: 'False' },
      ],
      {
        __meta_kubernetes_node_condition_memorypressure: 'false',
        __meta_kubernetes_node_condition_pidpressure: 'false',
        __meta_kubernetes_node_condition_ready: 'true',
        __meta_kubernetes_node_condition_kerneldeadlock: 'false',
      },
    ],
    ['a type with other characters, sanitized', [{ type: 'example.com/Network-OK', status: 'True' }], { __meta_kubernetes_node_condition_example_com_network_ok: 'true' }],
    ['a type listed twice: the last one', [{ type: 'Ready', status: 'True' }, { type: 'Ready', status: 'False' }], { __meta_kubernetes_node_condition_ready: 'false' }],
  ])('labels the group with the node conditions: %s', (_name, conditions, expected) => {
    const raw = rawNode('node-a');
    (raw['status'] as Record<string, unknown>)['conditions'] = conditions;
    const labels = nodeGroup(slimNode(raw))?.labels ?? new Map<string, string>();
    const found = Object.fromEntries([...labels].filter(([name]) => name.startsWith('__meta_kubernetes_node_condition_')));
    expect(found).toEqual(expected);
  });

  it.each([
    ['InternalIP over everything', ['Hostname', 'ExternalDNS', 'ExternalIP', 'InternalDNS', 'InternalIP'], 'InternalIP'],
    ['InternalDNS over ExternalIP', ['Hostname', 'ExternalIP', 'InternalDNS'], 'InternalDNS'],
    ['ExternalIP over ExternalDNS', ['Hostname', 'LegacyHostIP', 'ExternalDNS', 'ExternalIP'], 'ExternalIP'],
    ['ExternalDNS over LegacyHostIP', ['Hostname', 'LegacyHostIP', 'ExternalDNS'], 'ExternalDNS'],
    ['LegacyHostIP over Hostname', ['Hostname', 'LegacyHostIP'], 'LegacyHostIP'],
    ['Hostname last', ['Hostname'], 'Hostname'],
  ])('prefers %s', (_name, types, preferred) => {
    const group = nodeGroup(slimNode(withAddresses(types.map((type) => ({ type, address: `addr-${type}` })))));
    expect(group?.targets[0]?.get('__address__')).toBe(`addr-${preferred}:10250`);
  });

  it('labels the first address of each type and picks the first address of the preferred type', () => {
    const group = nodeGroup(
      slimNode(
        withAddresses([
          { type: 'InternalIP', address: 'fd00::11' },
          { type: 'InternalIP', address: '10.0.0.11' },
          { type: 'Weird/Type', address: 'x' },
        ]),
      ),
    );
    expect(group?.targets).toEqual([
      labelsFromObject({
        __address__: '[fd00::11]:10250',
        instance: 'node-a',
        __meta_kubernetes_node_address_InternalIP: 'fd00::11',
        __meta_kubernetes_node_address_Weird_Type: 'x',
      }),
    ]);
  });

  it('returns undefined, so that nothing is sent, for a node without an address of a known type', () => {
    expect(nodeGroup(slimNode(withAddresses([{ type: 'Weird', address: 'x' }])))).toBeUndefined();
    expect(nodeGroup(slimNode(withAddresses([])))).toBeUndefined();
  });

  it('uses port 0 and an empty provider id when the node reports neither', () => {
    const raw = { metadata: { name: 'bare' }, status: { addresses: [{ type: 'Hostname', address: 'bare' }] } };
    expect(nodeGroup(slimNode(raw))).toEqual({
      source: 'node/bare',
      labels: labelsFromObject({ __meta_kubernetes_node_name: 'bare', __meta_kubernetes_node_provider_id: '' }),
      targets: [labelsFromObject({ __address__: 'bare:0', instance: 'bare', __meta_kubernetes_node_address_Hostname: 'bare' })],
    });
  });
});
