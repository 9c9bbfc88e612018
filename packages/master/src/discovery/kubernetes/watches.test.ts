import { describe, expect, it } from '@jest/globals';
import { parseConfig, type KubernetesSDConfig } from '@promfleet/model';
import { needKey, needsOf, planWatches, type WatchNeed } from './watches.js';
import { readObjectList } from './offline.js';

function sd(fields: Record<string, unknown>): KubernetesSDConfig {
  const result = parseConfig(JSON.stringify({ scrape_configs: [{ job_name: 'j', kubernetes_sd_configs: [fields] }] }), { file: 't.yml' });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('; '));
  const config = result.config.scrapeConfigs[0]?.kubernetesSdConfigs[0];
  if (config === undefined) throw new Error('no sd config');
  return config;
}

const describeNeeds = (needs: Map<string, WatchNeed[]>) =>
  [...needs.values()].flat().map((n) => `${n.kind}:${n.namespace ?? '*'}:${n.labelSelector}:${n.fieldSelector}`).sort();

describe('needsOf', () => {
  it.each([
    ['pod', { role: 'pod' }, ['Pod:*::']],
    ['pod with node and namespace metadata', { role: 'pod', attach_metadata: { node: true, namespace: true } }, ['Namespace:*::', 'Node:*::', 'Pod:*::']],
    ['endpointslice, which joins pods and services', { role: 'endpointslice' }, ['EndpointSlice:*::', 'Pod:*::', 'Service:*::']],
    ['endpoints in two namespaces', { role: 'endpoints', namespaces: { names: ['b', 'a'] } }, ['Endpoints:a::', 'Endpoints:b::', 'Pod:a::', 'Pod:b::', 'Service:a::', 'Service:b::']],
    ['pod with deployment, job and cronjob metadata: ReplicaSets and Jobs (a Job\'s own name needs no watch)', { role: 'pod', attach_metadata: { deployment: true, job: true, cronjob: true } }, ['Job:*::', 'Pod:*::', 'ReplicaSet:*::']],
    ['pod with job metadata only: no watch beyond pods', { role: 'pod', attach_metadata: { job: true } }, ['Pod:*::']],
    ['endpointslice with deployment metadata, in a namespace', { role: 'endpointslice', namespaces: { names: ['a'] }, attach_metadata: { deployment: true } }, ['EndpointSlice:a::', 'Pod:a::', 'ReplicaSet:a::', 'Service:a::']],
    ['service: the workload keys do nothing', { role: 'service', attach_metadata: { deployment: true, cronjob: true } }, ['Service:*::']],
    ['node, cluster-scoped whatever the namespaces', { role: 'node', namespaces: { names: ['a'] } }, ['Node:*::']],
    ['selectors of each joined role', { role: 'endpoints', selectors: [{ role: 'pod', label: 'app=x' }, { role: 'service', field: 'metadata.name=s' }] }, ['Endpoints:*::', 'Pod:*:app=x:', 'Service:*::metadata.name=s']],
  ])('%s', (_what, fields, expected) => {
    expect(describeNeeds(needsOf(sd(fields)))).toEqual(expected);
  });

  it('adds the own namespace when the config asks for it', () => {
    expect(describeNeeds(needsOf(sd({ role: 'pod', namespaces: { own_namespace: true, names: ['a'] } }), { ownNamespace: 'mon' }))).toEqual(['Pod:a::', 'Pod:mon::']);
  });
});

const need = (kind: WatchNeed['kind'], namespace: string | undefined, labelSelector = '', fieldSelector = ''): WatchNeed => ({ connection: 'in-cluster', kind, namespace, labelSelector, fieldSelector });

describe('planWatches', () => {
  it('serves every need of a kind from one cluster-wide unfiltered watch, filtering in the master', () => {
    const needs = [need('Pod', undefined), need('Pod', 'a'), need('Pod', undefined, 'app=x'), need('Pod', 'b', '', 'spec.nodeName=n1')];
    const { watches, served } = planWatches(needs);
    expect(watches.map((w) => `${w.kind}:${w.namespace ?? '*'}:${w.labelSelector}`)).toEqual(['Pod:*:']);
    const { objects } = readObjectList({
      kind: 'List',
      items: [
        { kind: 'Pod', metadata: { name: 'p1', namespace: 'a', labels: { app: 'x' } }, spec: { nodeName: 'n1', containers: [] }, status: {} },
        { kind: 'Pod', metadata: { name: 'p2', namespace: 'b' }, spec: { nodeName: 'n1', containers: [] }, status: {} },
      ],
    });
    const pick = (n: WatchNeed) => objects.pods.filter((p) => served.get(needKey(n))?.filter?.(p) ?? true).map((p) => p.meta.name);
    expect(needs.map(pick)).toEqual([['p1', 'p2'], ['p1'], ['p1'], ['p2']]);
  });

  it('shares a namespace-wide watch with selected needs in that namespace', () => {
    const { watches } = planWatches([need('Pod', 'a'), need('Pod', 'a', 'app=x'), need('Pod', 'b', 'app=y')]);
    expect(watches.map((w) => `${w.namespace ?? '*'}:${w.labelSelector}`).sort()).toEqual(['a:', 'b:app=y']);
  });

  it('keeps disjoint scopes apart rather than widening to the whole cluster', () => {
    const { watches } = planWatches([need('Pod', 'a'), need('Pod', 'b'), need('Pod', undefined, 'app=x')]);
    expect(watches.map((w) => `${w.namespace ?? '*'}:${w.labelSelector}`).sort()).toEqual(['*:app=x', 'a:', 'b:']);
  });

  it('lets the API server evaluate a field selector the master cannot', () => {
    const { watches, served } = planWatches([need('Pod', undefined), need('Pod', undefined, '', 'spec.restartPolicy=Always')]);
    expect(watches).toHaveLength(2);
    expect(served.get(needKey(need('Pod', undefined, '', 'spec.restartPolicy=Always')))?.filter).toBeUndefined();
  });

  it('keys api_server connections by their credentials too, without showing them', () => {
    const a = needsOf(sd({ role: 'pod', api_server: 'https://k:6443', authorization: { credentials: 'token-a' } })).get('Pod')?.[0]?.connection ?? '';
    const b = needsOf(sd({ role: 'pod', api_server: 'https://k:6443', authorization: { credentials: 'token-b' } })).get('Pod')?.[0]?.connection ?? '';
    expect(a).toMatch(/^api:https:\/\/k:6443#[0-9a-f]{16}$/);
    expect(a).not.toBe(b);
    expect(a + b).not.toContain('token');
  });

  it('never shares across API servers', () => {
    const { watches } = planWatches([need('Pod', undefined), { ...need('Pod', undefined), connection: 'api:https://other:6443' }]);
    expect(watches).toHaveLength(2);
  });

  it('is deterministic: the same needs in any order give the same plan', () => {
    const needs = [need('Pod', 'a'), need('Service', undefined), need('Pod', undefined, 'x=y'), need('Node', undefined), need('Pod', 'a', 'k')];
    const ids = (n: WatchNeed[]) => planWatches(n).watches.map((w) => `${w.id}=${needKey(w)}`);
    expect(ids([...needs].reverse())).toEqual(ids(needs));
  });
});
