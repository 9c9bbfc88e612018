import { describe, expect, it } from '@jest/globals';
import { BadObjectError, KubernetesErrorCode, type KubernetesKind } from './errors.js';
import { rawNamespace, rawNode, rawPod, rawService } from './fixtures.js';
import { slimEndpointSlice, slimEndpoints, slimIngress, slimNamespace, slimNode, slimPod, slimService } from './objects.js';

function thrown(convert: () => unknown): BadObjectError {
  try {
    convert();
  } catch (err) {
    if (err instanceof BadObjectError) return err;
    throw err;
  }
  throw new Error('expected a BadObjectError');
}

describe('slim converters', () => {
  it('keeps only what discovery reads from a pod, joining container ids by name', () => {
    expect(slimPod(rawPod())).toEqual({
      kind: 'Pod',
      meta: {
        name: 'web-7d4b9c-x2x9k',
        namespace: 'shop',
        uid: '5c8e2b1a-0f3e-4d2c-9a1b-7e6f5d4c3b2a',
        labels: new Map([
          ['app', 'web'],
          ['app.kubernetes.io/name', 'web'],
          ['pod-template-hash', '7d4b9c'],
        ]),
        annotations: new Map([['prometheus.io/scrape', 'true']]),
      },
      controller: { kind: 'ReplicaSet', name: 'web-7d4b9c', namespace: '' },
      nodeName: 'node-a',
      phase: 'Running',
      podIP: '10.244.1.17',
      hostIP: '10.0.0.11',
      ready: 'true',
      containers: [
        {
          name: 'app',
          image: 'registry.example/web:1.4.2',
          containerId: 'containerd://aaa111',
          ports: [
            { name: 'http-metrics', containerPort: 9000, protocol: 'TCP' },
            { name: 'statsd', containerPort: 9001, protocol: 'UDP' },
          ],
        },
        { name: 'sidecar', image: 'registry.example/proxy:2.0', containerId: 'containerd://bbb222', ports: [] },
      ],
      initContainers: [],
    });
  });

  it.each([
    ['a List item, which has no kind', rawPod()],
    ['a watch event object, which has one', { ...rawPod(), kind: 'Pod', apiVersion: 'v1' }],
  ])('accepts %s', (_name, raw) => {
    expect(slimPod(raw).meta.name).toBe('web-7d4b9c-x2x9k');
  });

  it('reads null fields as absent, as Go decodes them', () => {
    const raw = { metadata: { name: 'p', namespace: 'ns', labels: null, annotations: null }, spec: { containers: null, nodeName: null }, status: null };
    expect(slimPod(raw)).toEqual({
      kind: 'Pod',
      meta: { name: 'p', namespace: 'ns', uid: '', labels: new Map(), annotations: new Map() },
      nodeName: '',
      phase: '',
      podIP: '',
      hostIP: '',
      ready: 'unknown',
      containers: [],
      initContainers: [],
    });
  });

  it('keeps label keys that would collide with Object.prototype as ordinary keys', () => {
    const raw = JSON.parse('{"metadata":{"name":"p","namespace":"ns","labels":{"__proto__":"x","constructor":"y"}}}') as unknown;
    expect([...slimPod(raw).meta.labels]).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
    ]);
  });

  it('converts every other kind', () => {
    expect(slimService(rawService())).toMatchObject({ kind: 'Service', type: 'ClusterIP', clusterIP: '10.96.12.34', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
    expect(slimNode(rawNode('n1'))).toMatchObject({ kind: 'Node', providerID: 'aws:///eu-west-1a/i-n1', kubeletPort: 10250, meta: { namespace: '' } });
    expect(slimNamespace(rawNamespace('shop'))).toMatchObject({ kind: 'Namespace', meta: { name: 'shop', labels: new Map([['kubernetes.io/metadata.name', 'shop'], ['team', 'checkout']]) } });
    expect(
      slimEndpoints({ metadata: { name: 'e', namespace: 'ns' }, subsets: [{ addresses: [{ ip: '1.1.1.1', nodeName: 'n', targetRef: { kind: 'Pod', name: 'p' } }], ports: [{ port: 80 }] }] }),
    ).toEqual({
      kind: 'Endpoints',
      meta: { name: 'e', namespace: 'ns', uid: '', labels: new Map(), annotations: new Map() },
      subsets: [
        {
          addresses: [{ ip: '1.1.1.1', hostname: '', nodeName: 'n', targetRef: { kind: 'Pod', name: 'p', namespace: '' } }],
          notReadyAddresses: [],
          ports: [{ name: '', port: 80, protocol: '' }],
        },
      ],
    });
    expect(
      slimEndpointSlice({ metadata: { name: 's', namespace: 'ns' }, addressType: 'IPv4', ports: [{}], endpoints: [{ addresses: ['1.1.1.1'], conditions: { ready: false } }] }),
    ).toEqual({
      kind: 'EndpointSlice',
      meta: { name: 's', namespace: 'ns', uid: '', labels: new Map(), annotations: new Map() },
      addressType: 'IPv4',
      ports: [{}],
      endpoints: [{ addresses: ['1.1.1.1'], ready: false, deprecatedTopology: new Map() }],
    });
    expect(
      slimIngress({ metadata: { name: 'i', namespace: 'ns' }, spec: { tls: [{ hosts: ['a'] }, { secretName: 'x' }, { hosts: ['b'] }], rules: [{ host: 'a' }, { http: { paths: [{}] } }] } }),
    ).toMatchObject({ kind: 'Ingress', tlsHosts: ['a', 'b'], rules: [{ host: 'a' }, { host: '', paths: [''] }] });
  });

  it.each<{ what: string; kind: KubernetesKind; convert: () => unknown; expected: { namespace?: string; name?: string; reason: string } }>([
    { what: 'a non-object', kind: 'Pod', convert: () => slimPod('pod'), expected: { reason: 'expected a JSON object, got string' } },
    { what: 'null', kind: 'Service', convert: () => slimService(null), expected: { reason: 'expected a JSON object, got null' } },
    { what: 'no metadata', kind: 'Pod', convert: () => slimPod({ spec: {} }), expected: { reason: 'metadata: required' } },
    { what: 'no name', kind: 'Node', convert: () => slimNode({ metadata: { uid: 'x' } }), expected: { reason: 'metadata.name: required' } },
    {
      what: 'no namespace',
      kind: 'Service',
      convert: () => slimService({ metadata: { name: 'web' } }),
      expected: { name: 'web', reason: 'metadata.namespace: required' },
    },
    {
      what: 'another kind',
      kind: 'Pod',
      convert: () => slimPod({ ...rawService(), kind: 'Service' }),
      expected: { namespace: 'shop', name: 'web', reason: 'kind: expected Pod, got "Service"' },
    },
    {
      what: 'a numeric label value',
      kind: 'Namespace',
      convert: () => slimNamespace({ metadata: { name: 'shop', labels: { tier: 1 } } }),
      expected: { name: 'shop', reason: 'metadata.labels["tier"]: expected string, got number' },
    },
    {
      what: 'a string port',
      kind: 'Pod',
      convert: () => slimPod({ metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'c', ports: [{ containerPort: '80' }] }] } }),
      expected: { namespace: 'ns', name: 'p', reason: 'spec.containers[0].ports[0].containerPort: expected integer, got string' },
    },
    {
      what: 'a port out of range',
      kind: 'Service',
      convert: () => slimService({ metadata: { name: 's', namespace: 'ns' }, spec: { ports: [{ port: 70000 }] } }),
      expected: { namespace: 'ns', name: 's', reason: 'spec.ports[0].port: 70000 is outside [0, 65535]' },
    },
    {
      what: 'a container without a name',
      kind: 'Pod',
      convert: () => slimPod({ metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ image: 'x' }] } }),
      expected: { namespace: 'ns', name: 'p', reason: 'spec.containers[0].name: required' },
    },
    {
      what: 'an address without an ip',
      kind: 'Endpoints',
      convert: () => slimEndpoints({ metadata: { name: 'e', namespace: 'ns' }, subsets: [{ notReadyAddresses: [{ hostname: 'h' }] }] }),
      expected: { namespace: 'ns', name: 'e', reason: 'subsets[0].notReadyAddresses[0].ip: required' },
    },
    {
      what: 'a non-array list',
      kind: 'EndpointSlice',
      convert: () => slimEndpointSlice({ metadata: { name: 's', namespace: 'ns' }, endpoints: { addresses: [] } }),
      expected: { namespace: 'ns', name: 's', reason: 'endpoints: expected array, got object' },
    },
    {
      what: 'a string condition',
      kind: 'EndpointSlice',
      convert: () => slimEndpointSlice({ metadata: { name: 's', namespace: 'ns' }, endpoints: [{ addresses: ['1.1.1.1'], conditions: { ready: 'true' } }] }),
      expected: { namespace: 'ns', name: 's', reason: 'endpoints[0].conditions.ready: expected boolean, got string' },
    },
    {
      what: 'a non-string TLS host',
      kind: 'Ingress',
      convert: () => slimIngress({ metadata: { name: 'i', namespace: 'ns' }, spec: { tls: [{ hosts: [7] }] } }),
      expected: { namespace: 'ns', name: 'i', reason: 'spec.tls[0].hosts[0]: expected string, got number' },
    },
    {
      what: 'a fractional kubelet port',
      kind: 'Node',
      convert: () => slimNode({ metadata: { name: 'n' }, status: { daemonEndpoints: { kubeletEndpoint: { Port: 1.5 } } } }),
      expected: { name: 'n', reason: 'status.daemonEndpoints.kubeletEndpoint.Port: expected integer, got number' },
    },
  ])('rejects $what with a BadObjectError naming the object', ({ kind, convert, expected }) => {
    const err = thrown(convert);
    expect({ code: err.code, kind: err.kind, namespace: err.namespace, name: err.objectName, reason: err.reason }).toEqual({
      code: KubernetesErrorCode.badObject,
      kind,
      namespace: expected.namespace,
      name: expected.name,
      reason: expected.reason,
    });
  });

  it('says in the message which object and field are bad', () => {
    const err = thrown(() => slimService({ metadata: { name: 's', namespace: 'ns' }, spec: { type: 3 } }));
    expect(err.message).toBe('bad Service ns/s: spec.type: expected string, got number');
  });
});
