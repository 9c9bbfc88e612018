import { describe, expect, it } from '@jest/globals';
import { rawNamespace, rawNode, rawPod, rawService } from './fixtures.js';
import { createStaticContext, deletedGroup, groupSource, joinHostPort, nodeGroupSource, sanitizeLabelName } from './meta.js';
import { slimNamespace, slimNode, slimPod, slimService } from './objects.js';

describe('sanitizeLabelName', () => {
  it.each([
    ['app', 'app'],
    ['app.kubernetes.io/name', 'app_kubernetes_io_name'],
    ['test-label', 'test_label'],
    ['Ünïcode', '_n_code'],
    ['rocket🚀', 'rocket_'],
    ['0digit', '0digit'],
    ['', ''],
  ])('%j becomes %j', (name, expected) => {
    expect(sanitizeLabelName(name)).toBe(expected);
  });
});

describe('joinHostPort', () => {
  it.each([
    ['10.0.0.1', 80, '10.0.0.1:80'],
    ['::1', 80, '[::1]:80'],
    ['fe80::1%eth0', 9100, '[fe80::1%eth0]:9100'],
    ['web.shop.svc', 443, 'web.shop.svc:443'],
    ['', 9000, ':9000'],
  ])('joins %j and %d as %j', (host, port, expected) => {
    expect(joinHostPort(host, port)).toBe(expected);
  });
});

describe('group sources', () => {
  it('names groups as Prometheus does', () => {
    expect([
      groupSource('Pod', 'ns', 'p'),
      groupSource('Service', 'ns', 's'),
      groupSource('Endpoints', 'ns', 'e'),
      groupSource('EndpointSlice', 'ns', 'es'),
      groupSource('Ingress', 'ns', 'i'),
      nodeGroupSource('n'),
    ]).toEqual(['pod/ns/p', 'svc/ns/s', 'endpoints/ns/e', 'endpointslice/ns/es', 'ingress/ns/i', 'node/n']);
  });

  it('deletes a source with an empty group', () => {
    expect(deletedGroup('pod/ns/p')).toEqual({ source: 'pod/ns/p', targets: [], labels: new Map() });
  });
});

describe('createStaticContext', () => {
  const pod = slimPod(rawPod());
  const service = slimService(rawService());
  const node = slimNode(rawNode('node-a'));
  const namespace = slimNamespace(rawNamespace('shop'));
  const context = createStaticContext({ pods: [pod], services: [service], nodes: [node], namespaces: [namespace], attachMetadata: { node: true } });

  it('finds objects by namespace and name', () => {
    expect([context.pod('shop', 'web-7d4b9c-x2x9k'), context.service('shop', 'web'), context.node('node-a'), context.namespace('shop')]).toEqual([pod, service, node, namespace]);
  });

  it('does not find objects in another namespace or under another name', () => {
    expect([context.pod('other', 'web-7d4b9c-x2x9k'), context.service('shop', 'api'), context.node('node-b'), context.namespace('other')]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('defaults attach_metadata members to false', () => {
    expect(context.attachMetadata).toEqual({ node: true, namespace: false, deployment: false, job: false, cronjob: false });
    expect(createStaticContext({}).attachMetadata).toEqual({ node: false, namespace: false, deployment: false, job: false, cronjob: false });
  });
});
