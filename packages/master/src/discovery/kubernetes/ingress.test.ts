import { describe, expect, it } from '@jest/globals';
import { labelsFromObject } from '@promfleet/model';
import { rawNamespace } from './fixtures.js';
import { ingressGroup, matchesHostnamePattern } from './ingress.js';
import { createStaticContext } from './meta.js';
import { slimIngress, slimNamespace } from './objects.js';

const none = createStaticContext({});

/** Prometheus' `makeIngress`, extended with a wildcard TLS host and a rule without paths. */
function rawIngress(): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'shop', namespace: 'shop', labels: { 'app/name': 'shop' }, annotations: { 'test/annotation': 'testannotationvalue' } },
    spec: {
      ingressClassName: 'nginx',
      tls: [{ hosts: ['example.com', '*.apps.example.com'], secretName: 'tls' }],
      rules: [
        {
          host: 'example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
              { path: '/foo', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
            ],
          },
        },
        { host: 'test.example.com', http: { paths: [{ pathType: 'ImplementationSpecific', backend: { service: { name: 'web', port: { number: 80 } } } }] } },
        { host: 'cart.apps.example.com' },
      ],
    },
  };
}

const target = (host: string, path: string, scheme: string): Record<string, string> => ({
  __address__: host,
  __meta_kubernetes_ingress_host: host,
  __meta_kubernetes_ingress_path: path,
  __meta_kubernetes_ingress_scheme: scheme,
});

const ingressLabels = {
  __meta_kubernetes_namespace: 'shop',
  __meta_kubernetes_ingress_name: 'shop',
  __meta_kubernetes_ingress_class_name: 'nginx',
  __meta_kubernetes_ingress_label_app_name: 'shop',
  __meta_kubernetes_ingress_labelpresent_app_name: 'true',
  __meta_kubernetes_ingress_annotation_test_annotation: 'testannotationvalue',
  __meta_kubernetes_ingress_annotationpresent_test_annotation: 'true',
};

describe('ingressGroup', () => {
  it('emits one target per rule and path, https for hosts a TLS entry covers', () => {
    expect(ingressGroup(slimIngress(rawIngress()), none)).toEqual({
      source: 'ingress/shop/shop',
      labels: labelsFromObject(ingressLabels),
      targets: [
        target('example.com', '/', 'https'),
        target('example.com', '/foo', 'https'),
        target('test.example.com', '/', 'http'),
        target('cart.apps.example.com', '/', 'https'),
      ].map((t) => labelsFromObject(t)),
    });
  });

  it('gives no target for a rule whose http block lists no paths, and none for an ingress without rules', () => {
    const raw = rawIngress();
    const spec = raw['spec'] as Record<string, unknown>;
    spec['rules'] = [{ host: 'empty.example.com', http: { paths: [] } }];
    expect(ingressGroup(slimIngress(raw), none).targets).toEqual([]);
    spec['rules'] = [];
    spec['defaultBackend'] = { service: { name: 'web', port: { number: 80 } } };
    expect(ingressGroup(slimIngress(raw), none).targets).toEqual([]);
  });

  it('leaves out the class name when the ingress has none and uses the empty host of a catch-all rule', () => {
    const raw = { metadata: { name: 'catchall', namespace: 'shop' }, spec: { rules: [{ http: { paths: [{ path: '/healthz' }] } }] } };
    expect(ingressGroup(slimIngress(raw), none)).toEqual({
      source: 'ingress/shop/catchall',
      labels: labelsFromObject({ __meta_kubernetes_namespace: 'shop', __meta_kubernetes_ingress_name: 'catchall' }),
      targets: [labelsFromObject(target('', '/healthz', 'http'))],
    });
  });

  it('attaches the namespace metadata to the group labels', () => {
    const context = createStaticContext({ namespaces: [slimNamespace(rawNamespace('shop'))], attachMetadata: { namespace: true, node: true } });
    const labels = ingressGroup(slimIngress(rawIngress()), context).labels;
    expect(labels).toEqual(
      labelsFromObject({
        ...ingressLabels,
        __meta_kubernetes_namespace_label_kubernetes_io_metadata_name: 'shop',
        __meta_kubernetes_namespace_labelpresent_kubernetes_io_metadata_name: 'true',
        __meta_kubernetes_namespace_label_team: 'checkout',
        __meta_kubernetes_namespace_labelpresent_team: 'true',
        __meta_kubernetes_namespace_annotation_owner_example_contact: 'sre@example.com',
        __meta_kubernetes_namespace_annotationpresent_owner_example_contact: 'true',
      }),
    );
  });
});

describe('matchesHostnamePattern', () => {
  it.each([
    ['example.com', 'example.com', true],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', false],
    ['*.example.com', 'example.com', false],
    ['a.*.com', 'a.b.com', false],
    ['*.example.com', 'a.example.org', false],
    ['*', 'localhost', true],
    ['*', '', true],
    ['*', 'a.b', false],
    ['', 'example.com', false],
  ])('%j matches %j: %s', (pattern, host, expected) => {
    expect(matchesHostnamePattern(pattern, host)).toBe(expected);
  });
});
