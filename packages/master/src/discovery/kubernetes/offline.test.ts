import { describe, expect, it } from '@jest/globals';
import { parseConfig, type KubernetesSDConfig } from '@promfleet/model';
import { SelectorError } from './errors.js';
import { rawNamespace, rawNode, rawPod, rawService } from './fixtures.js';
import { discoverFromObjects, dumpAssetLookup, ObjectListError, readObjectList } from './offline.js';

function pod(namespace: string, name: string, labels: Record<string, string> = {}): Record<string, unknown> {
  const p = rawPod();
  const meta = p['metadata'] as Record<string, unknown>;
  meta['namespace'] = namespace;
  meta['name'] = name;
  meta['labels'] = labels;
  return { kind: 'Pod', ...p };
}

/** A kubernetes_sd_config as the config loader produces it from the given YAML fields. */
function sd(fields: Record<string, unknown>): KubernetesSDConfig {
  const text = JSON.stringify({ scrape_configs: [{ job_name: 'j', kubernetes_sd_configs: [{ role: 'pod', ...fields }] }] });
  const result = parseConfig(text, { file: 'test.yml' });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('; '));
  const config = result.config.scrapeConfigs[0]?.kubernetesSdConfigs[0];
  if (config === undefined) throw new Error('no sd config');
  return config;
}

const list = (...items: unknown[]) => ({ apiVersion: 'v1', kind: 'List', items });

describe('readObjectList', () => {
  it('reads prometheus-operator resources and the Secrets and ConfigMaps beside them', () => {
    const read = readObjectList(
      list(
        { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'web', namespace: 'shop', resourceVersion: '3' }, spec: { endpoints: [] } },
        { apiVersion: 'monitoring.coreos.com/v1alpha1', kind: 'ScrapeConfig', metadata: { name: 'sc' }, spec: {} },
        { kind: 'Secret', metadata: { name: 'creds', namespace: 'shop' }, data: { token: Buffer.from('t0k').toString('base64') } },
        { kind: 'ConfigMap', metadata: { name: 'ca', namespace: 'shop' }, data: { 'ca.crt': 'PEM' }, binaryData: { der: Buffer.from('DER').toString('base64') } },
      ),
    );
    expect(read.operator.resources.map((r) => `${r.kind} ${r.namespace}/${r.name}@${r.resourceVersion}`)).toEqual(['ServiceMonitor shop/web@3']);
    expect(read.skipped).toEqual([{ index: 1, ignored: false, reason: 'ScrapeConfig sc: metadata.namespace: required' }]);
    const lookup = dumpAssetLookup(read.operator);
    expect(lookup({ kind: 'Secret', namespace: 'shop', name: 'creds', key: 'token' })).toBe('t0k');
    expect(lookup({ kind: 'ConfigMap', namespace: 'shop', name: 'ca', key: 'ca.crt' })).toBe('PEM');
    expect(lookup({ kind: 'ConfigMap', namespace: 'shop', name: 'ca', key: 'der' })).toBe('DER');
    expect(lookup({ kind: 'Secret', namespace: 'other', name: 'creds', key: 'token' })).toBeUndefined();
  });

  it('sorts items by kind, ignores kinds discovery does not read, and skips bad ones with the reason', () => {
    const bad = { kind: 'Pod', metadata: { namespace: 'shop', name: 'broken' }, spec: { containers: 'nope' } };
    const { objects, skipped } = readObjectList(
      list(pod('shop', 'a'), { kind: 'Deployment', metadata: { name: 'd' } }, bad, { kind: 'Service', ...rawService() }, { kind: 'Node', ...rawNode() }, { kind: 'Namespace', ...rawNamespace() }),
    );
    expect(objects.pods.map((p) => p.meta.name)).toEqual(['a']);
    expect(objects.services).toHaveLength(1);
    expect(objects.nodes).toHaveLength(1);
    expect(objects.namespaces).toHaveLength(1);
    expect(skipped).toEqual([
      { index: 1, ignored: true, reason: 'kind Deployment is not used by discovery' },
      { index: 2, ignored: false, reason: expect.stringContaining('bad Pod shop/broken: spec.containers') as unknown },
    ]);
  });

  it('reads a single object', () => {
    expect(readObjectList(pod('shop', 'only')).objects.pods).toHaveLength(1);
  });

  it.each([[[]], ['x'], [null], [{ kind: 'PodList' }]])('rejects %j', (doc) => {
    expect(() => readObjectList(doc)).toThrow(ObjectListError);
  });
});

describe('discoverFromObjects', () => {
  const { objects } = readObjectList(
    list(pod('shop', 'web-1', { app: 'web' }), pod('shop', 'db-1', { app: 'db' }), pod('monitoring', 'agent-1', { app: 'agent' }), { kind: 'Node', ...rawNode() }),
  );
  const names = (groups: ReturnType<typeof discoverFromObjects>) => groups.map((g) => g.source).sort();

  it.each([
    ['every namespace by default', sd({}), ['pod/monitoring/agent-1', 'pod/shop/db-1', 'pod/shop/web-1']],
    ['the named namespaces', sd({ namespaces: { names: ['monitoring'] } }), ['pod/monitoring/agent-1']],
    ['a label selector of the role', sd({ selectors: [{ role: 'pod', label: 'app in (web,agent)' }] }), ['pod/monitoring/agent-1', 'pod/shop/web-1']],
    ['a field selector of the role', sd({ selectors: [{ role: 'pod', field: 'metadata.name!=db-1' }] }), ['pod/monitoring/agent-1', 'pod/shop/web-1']],
    ['nodes, which have no namespace', sd({ role: 'node', namespaces: { names: ['shop'] } }), ['node/node-a']],
  ])('discovers %s', (_what, config, sources) => {
    expect(names(discoverFromObjects(config, objects))).toEqual(sources);
  });

  it('adds the own namespace when asked, and only then', () => {
    const config = sd({ namespaces: { own_namespace: true } });
    expect(names(discoverFromObjects(config, objects, { ownNamespace: 'shop' }))).toEqual(['pod/shop/db-1', 'pod/shop/web-1']);
    expect(names(discoverFromObjects(config, objects))).toHaveLength(3);
  });

  it('refuses a field selector it cannot evaluate offline, rather than guess', () => {
    expect(() => discoverFromObjects(sd({ selectors: [{ role: 'pod', field: 'spec.restartPolicy=Always' }] }), objects)).toThrow(SelectorError);
  });
});
