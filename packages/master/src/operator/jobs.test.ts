import { describe, expect, it } from '@jest/globals';
import { parseConfig, Secret, type GlobalConfig } from '@promfleet/model';
import { operatorJobs, type OperatorJobsInput } from './jobs.js';
import { readOperatorResource, type AssetLookup, type OperatorKind } from './resource.js';
import { OperatorConfigError, parseOperatorConfig } from './selection.js';

function promfleetGlobal(text = ''): GlobalConfig {
  const parsed = parseConfig(text, { file: 'prometheus.yml' });
  if (!parsed.ok) throw new Error('bad test config');
  return parsed.config.global;
}

function resource(kind: OperatorKind, id: string, spec: unknown, labels: Record<string, string> = {}) {
  const [namespace, name] = id.split('/');
  return readOperatorResource(kind, { metadata: { name, namespace, labels, resourceVersion: '7' }, spec });
}

const secrets: Record<string, string> = { 'Secret/shop/creds/password': 'hunter2', 'Secret/shop/creds/user': 'bob', 'ConfigMap/shop/ca/ca.crt': 'PEM' };
const lookup: AssetLookup = (ref) => secrets[`${ref.kind}/${ref.namespace}/${ref.name}/${ref.key}`];

const namespaces = new Map<string, ReadonlyMap<string, string>>([
  ['shop', new Map([['team', 'web']])],
  ['ops', new Map([['team', 'ops']])],
  ['monitoring', new Map()],
]);

function input(selectionYaml: string, resources: OperatorJobsInput['resources'], global = promfleetGlobal()): OperatorJobsInput {
  return { resources, namespaceLabels: (ns) => namespaces.get(ns), lookup, selection: parseOperatorConfig(selectionYaml, 'prom.yaml'), global, ownNamespace: 'promfleet' };
}

const web = { selector: { matchLabels: { app: 'web' } }, endpoints: [{ port: 'metrics' }] };

describe('selection', () => {
  it('reads a Prometheus resource, taking its namespace as the default for namespace selectors', () => {
    const selection = parseOperatorConfig(
      'apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: k8s, namespace: monitoring}\nspec:\n  serviceMonitorSelector: {}\n',
      'prom.yaml',
    );
    expect(selection.namespace).toBe('monitoring');
    const sms = [resource('ServiceMonitor', 'monitoring/a', web), resource('ServiceMonitor', 'shop/b', web)];
    const result = operatorJobs({ ...input('{}', sms), selection });
    expect(result.jobs.map((j) => j.jobName)).toEqual(['serviceMonitor/monitoring/a/0']);
  });

  it('reads a bare spec; without metadata the namespace is the master own one', () => {
    const sms = [resource('ServiceMonitor', 'promfleet/a', web), resource('ServiceMonitor', 'shop/b', web)];
    expect(operatorJobs(input('serviceMonitorSelector: {}', sms)).jobs.map((j) => j.jobName)).toEqual(['serviceMonitor/promfleet/a/0']);
  });

  it('selects none without a resource selector, all with {}, and by labels otherwise', () => {
    const all = [
      resource('ServiceMonitor', 'shop/a', web, { release: 'prod' }),
      resource('ServiceMonitor', 'ops/b', web, { release: 'dev' }),
      resource('PodMonitor', 'shop/p', { selector: {}, podMetricsEndpoints: [{ port: 'm' }] }),
    ];
    const names = (yaml: string) => operatorJobs(input(yaml, all)).jobs.map((j) => j.jobName);
    expect(names('serviceMonitorNamespaceSelector: {}')).toEqual([]);
    expect(names('serviceMonitorSelector: {}\nserviceMonitorNamespaceSelector: {}')).toEqual(['serviceMonitor/ops/b/0', 'serviceMonitor/shop/a/0']);
    expect(names('serviceMonitorSelector: {matchLabels: {release: prod}}\nserviceMonitorNamespaceSelector: {}')).toEqual(['serviceMonitor/shop/a/0']);
    expect(
      names('serviceMonitorSelector: {matchExpressions: [{key: release, operator: NotIn, values: [prod]}]}\nserviceMonitorNamespaceSelector: {}'),
    ).toEqual(['serviceMonitor/ops/b/0']);
    expect(names('serviceMonitorSelector: {}\nserviceMonitorNamespaceSelector: {matchLabels: {team: ops}}')).toEqual(['serviceMonitor/ops/b/0']);
    expect(names('podMonitorSelector: {}\npodMonitorNamespaceSelector: {matchExpressions: [{key: team, operator: Exists}]}')).toEqual(['podMonitor/shop/p/0']);
  });

  it('says which fields of the Prometheus resource it does not apply', () => {
    const selection = parseOperatorConfig('kind: Prometheus\nspec:\n  scrapeClasses: [{name: tls, default: true}]\n  arbitraryFSAccessThroughSMs: {deny: true}\n', 'p.yaml');
    expect(selection.notices).toEqual([
      'p.yaml: spec.scrapeClasses: not supported by promfleet; a default scrape class is not applied, and resources that name one are rejected',
      'p.yaml: spec.arbitraryFSAccessThroughSMs.deny: not applied; ServiceMonitors may name files (bearerTokenFile, tlsConfig.caFile...), read on the workers',
    ]);
    expect(parseOperatorConfig('serviceMonitorSelector: {}', 'p.yaml').notices).toEqual([]);
  });

  it('names the file and the field of a bad selection file', () => {
    expect(() => parseOperatorConfig('kind: Alertmanager', 'p.yaml')).toThrow(new OperatorConfigError('p.yaml: kind: expected Prometheus or PrometheusAgent, got "Alertmanager"'));
    expect(() => parseOperatorConfig('kind: Prometheus\nspec:\n  probeSelector: {matchExpressions: [{key: a, operator: Equals}]}', 'p.yaml')).toThrow(
      'p.yaml: spec.probeSelector.matchExpressions[0].operator: expected In, NotIn, Exists or DoesNotExist, got "Equals"',
    );
    expect(() => parseOperatorConfig('scrapeInterval: soon', 'p.yaml')).toThrow('p.yaml: scrapeInterval:');
    expect(() => parseOperatorConfig('enforcedSampleLimit: -1', 'p.yaml')).toThrow('p.yaml: enforcedSampleLimit: expected a non-negative integer');
    expect(() => parseOperatorConfig('- a', 'p.yaml')).toThrow('p.yaml: (top): expected a Prometheus resource or its spec');
  });
});

describe('operatorJobs', () => {
  it('keeps Secret values exactly, whatever YAML would make of them', () => {
    const odd = ['yes', 'off', '~', 'null', '0123', '0x10', '1e3', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', ' padded ', '*&!{}[]:#', 'üñí'];
    for (const value of odd) {
      const sm = resource('ServiceMonitor', 'shop/web', { ...web, endpoints: [{ port: 'metrics', tlsConfig: { ca: { secret: { name: 's', key: 'k' } } }, bearerTokenSecret: { name: 's', key: 'k' } }] });
      const result = operatorJobs({ ...input('serviceMonitorSelector: {}\nserviceMonitorNamespaceSelector: {}', [sm]), lookup: () => value });
      expect(result.rejected).toEqual([]);
      expect(result.jobs[0]?.httpClient.tlsConfig.ca).toBe(value);
      expect(result.jobs[0]?.httpClient.authorization?.credentials?.reveal()).toBe(value);
    }
  });

  it('decodes the generated jobs with promfleet defaults and the Prometheus resource settings', () => {
    const sm = resource('ServiceMonitor', 'shop/web', {
      ...web,
      endpoints: [
        {
          port: 'metrics',
          scheme: 'https',
          tlsConfig: { ca: { configMap: { name: 'ca', key: 'ca.crt' } }, serverName: 'web.shop' },
          basicAuth: { username: { name: 'creds', key: 'user' }, password: { name: 'creds', key: 'password' } },
          params: { format: ['prometheus'] },
        },
        { port: 'admin', path: '/admin/metrics', interval: '15s', scrapeTimeout: '5s', bearerTokenSecret: { name: 'creds', key: 'password' } },
      ],
      sampleLimit: 5000,
    });
    const result = operatorJobs(
      input('serviceMonitorSelector: {}\nserviceMonitorNamespaceSelector: {}\nscrapeInterval: 20s\nenforcedSampleLimit: 1000', [sm], promfleetGlobal('global: {scrape_interval: 1m, label_limit: 30}')),
    );
    expect(result.rejected).toEqual([]);
    const [first, second] = result.jobs;
    expect(first).toMatchObject({
      jobName: 'serviceMonitor/shop/web/0',
      scrapeIntervalMs: 20_000,
      scrapeTimeoutMs: 10_000,
      scheme: 'https',
      sampleLimit: 1000,
      labelLimit: 30,
      params: new Map([['format', ['prometheus']]]),
      httpClient: { tlsConfig: { ca: 'PEM', serverName: 'web.shop' }, basicAuth: { username: 'bob' } },
      source: { file: 'ServiceMonitor shop/web' },
    });
    expect(first?.httpClient.basicAuth?.password).toBeInstanceOf(Secret);
    expect(first?.httpClient.basicAuth?.password?.reveal()).toBe('hunter2');
    expect(first?.kubernetesSdConfigs).toEqual([expect.objectContaining({ role: 'endpoints', namespaces: { ownNamespace: false, names: ['shop'] } })]);
    expect(second).toMatchObject({ jobName: 'serviceMonitor/shop/web/1', metricsPath: '/admin/metrics', scrapeIntervalMs: 15_000, scrapeTimeoutMs: 5000 });
    expect(second?.httpClient.authorization?.type).toBe('Bearer');
    expect(second?.httpClient.authorization?.credentials?.reveal()).toBe('hunter2');
  });

  it('rejects a resource with a reason and keeps the others', () => {
    const resources = [
      resource('ServiceMonitor', 'shop/ok', web),
      resource('ServiceMonitor', 'shop/no-secret', { ...web, endpoints: [{ port: 'm', basicAuth: { username: { name: 'gone', key: 'u' } } }] }),
      resource('ServiceMonitor', 'shop/bad-regex', { ...web, endpoints: [{ port: 'm', relabelings: [{ sourceLabels: ['a'], targetLabel: 'b', regex: '(' }] }] }),
      resource('ServiceMonitor', 'shop/bad-timeout', { ...web, endpoints: [{ port: 'm', interval: '10s', scrapeTimeout: '30s' }] }),
      resource('PodMonitor', 'shop/typed', { selector: {}, podMetricsEndpoints: [{ port: 7 }] }),
      resource('Probe', 'shop/oauth', { prober: { url: 'bb:9115' }, targets: { staticConfig: { static: ['a'] } }, oauth2: { tokenUrl: 'http://t' } }),
      resource('ScrapeConfig', 'shop/consul', { consulSDConfigs: [{ server: 'consul:8500' }] }),
      resource('ServiceMonitor', 'shop/class', { ...web, scrapeClass: 'tls' }),
    ];
    const all = 'serviceMonitorSelector: {}\nserviceMonitorNamespaceSelector: {}\npodMonitorSelector: {}\npodMonitorNamespaceSelector: {}\nprobeSelector: {}\nprobeNamespaceSelector: {}\nscrapeConfigSelector: {}\nscrapeConfigNamespaceSelector: {}';
    const result = operatorJobs(input(all, resources));
    expect(result.jobs.map((j) => j.jobName)).toEqual(['serviceMonitor/shop/ok/0']);
    expect(Object.fromEntries(result.rejected.map((r) => [`${r.resource.kind} ${r.resource.name}`, r.reason]))).toEqual({
      'ServiceMonitor bad-regex': expect.stringMatching(/^the generated scrape config is invalid: relabel_configs\[\d+\]\.regex: invalid regex/),
      'ServiceMonitor bad-timeout': expect.stringContaining('scrape timeout (30s) greater than scrape interval (10s)'),
      'ServiceMonitor class': 'spec.scrapeClass: scrape classes are not supported by promfleet ("tls")',
      'ServiceMonitor no-secret': 'spec.endpoints[0].basicAuth.username: Secret shop/gone key "u" not found',
      'PodMonitor typed': 'spec.podMetricsEndpoints[0].port: expected string, got number',
      'Probe oauth': 'spec.oauth2: OAuth 2 is not supported by promfleet (its workers do not fetch OAuth 2 tokens)',
      'ScrapeConfig consul': 'spec.consulSDConfigs: promfleet runs only static, file and Kubernetes service discovery',
    });
    for (const r of result.rejected) expect(r.reason).not.toContain('hunter2');
  });

  it('rejects a resource whose Secrets the fleet link would not keep, under the config file policy', () => {
    const withSecret = resource('ServiceMonitor', 'shop/auth', { ...web, endpoints: [{ port: 'm', basicAuth: { username: { name: 'creds', key: 'user' }, password: { name: 'creds', key: 'password' } } }] });
    const plain = resource('ServiceMonitor', 'shop/plain', web);
    const all = 'serviceMonitorSelector: {}\nserviceMonitorNamespaceSelector: {}';
    const insecure = operatorJobs({ ...input(all, [withSecret, plain]), fleetLink: {} });
    expect(insecure.jobs.map((j) => j.jobName)).toEqual(['serviceMonitor/shop/plain/0']);
    expect(insecure.rejected.map((r) => r.reason)).toEqual([expect.stringContaining('scrape job "serviceMonitor/shop/auth/0": basic_auth.password')]);
    expect(insecure.rejected[0]?.reason).toContain('the fleet link has no TLS');
    const allowed = operatorJobs({ ...input(all, [withSecret, plain]), fleetLink: { allowInsecureSecrets: true } });
    expect(allowed.rejected).toEqual([]);
  });

  it('rejects a resource whose job the fleet protocol cannot carry, and keeps the others', () => {
    const resources = [
      resource('ServiceMonitor', 'shop/huge-limit', { ...web, sampleLimit: 5_000_000_000 }),
      resource('ServiceMonitor', 'shop/long-interval', { ...web, endpoints: [{ port: 'metrics', interval: '50d' }] }),
      resource('ServiceMonitor', 'shop/ok', web),
    ];
    const result = operatorJobs(input('serviceMonitorSelector: {}\nserviceMonitorNamespaceSelector: {}', resources));
    expect(result.jobs.map((j) => j.jobName)).toEqual(['serviceMonitor/shop/ok/0']);
    expect(result.rejected.map((r) => [r.resource.name, r.reason, r.internal])).toEqual([
      ['huge-limit', expect.stringContaining('jobs[serviceMonitor/shop/huge-limit/0].sample_limit'), false],
      ['long-interval', expect.stringContaining('jobs[serviceMonitor/shop/long-interval/0].scrape_interval_ms'), false],
    ]);
  });

  it('rejects only the resource whose handling throws an unexpected exception, naming no value', () => {
    const withSecret = resource('ServiceMonitor', 'shop/auth', { ...web, endpoints: [{ port: 'm', bearerTokenSecret: { name: 'creds', key: 'password' } }] });
    const plain = resource('ServiceMonitor', 'shop/plain', web);
    const buggy: AssetLookup = () => {
      throw new TypeError('hunter2 is not a function');
    };
    const result = operatorJobs({ ...input('serviceMonitorSelector: {}\nserviceMonitorNamespaceSelector: {}', [withSecret, plain]), lookup: buggy });
    expect(result.jobs.map((j) => j.jobName)).toEqual(['serviceMonitor/shop/plain/0']);
    expect(result.rejected).toEqual([{ resource: withSecret, reason: expect.stringMatching(/^internal error: TypeError at .*jobs\.test\.ts.*\(a bug in promfleet, please report it\)$/), internal: true }]);
    expect(result.rejected[0]?.reason).not.toContain('hunter2');
  });

  it('rejects only the resource whose selection throws unexpectedly', () => {
    const plain = resource('ServiceMonitor', 'shop/plain', web);
    const odd = resource('ServiceMonitor', 'odd/web', web);
    const namespaceLabels = (ns: string) => {
      if (ns === 'odd') throw new RangeError('bad namespace');
      return namespaces.get(ns);
    };
    const result = operatorJobs({ ...input('serviceMonitorSelector: {}\nserviceMonitorNamespaceSelector: {matchLabels: {team: web}}', [odd, plain]), namespaceLabels });
    expect(result.jobs.map((j) => j.jobName)).toEqual(['serviceMonitor/shop/plain/0']);
    expect(result.rejected).toEqual([{ resource: odd, reason: expect.stringMatching(/^internal error selecting it: RangeError at /), internal: true }]);
  });
});
