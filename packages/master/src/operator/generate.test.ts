import { describe, expect, it } from '@jest/globals';
import { defaultGenerationOptions, generateJobs, selectorString } from './generate.js';
import { readOperatorResource, ResourceRejectedError, type AssetLookup, type OperatorKind } from './resource.js';

const assets: Record<string, string> = {
  'Secret/mon/tls/key': 'KEY',
  'Secret/mon/tls/cert': 'CERT',
  'ConfigMap/mon/bundle/ca': 'CA',
  'Secret/mon/proxy/auth': 'Basic eA==',
};
const lookup: AssetLookup = (ref) => assets[`${ref.kind}/${ref.namespace}/${ref.name}/${ref.key}`];
const generate = (kind: OperatorKind, spec: unknown, options = defaultGenerationOptions) =>
  generateJobs(readOperatorResource(kind, { metadata: { name: 'm', namespace: 'mon' }, spec }), lookup, options);

type Rule = Record<string, unknown>;
const rules = (job: Record<string, unknown> | undefined): Rule[] => (job?.['relabel_configs'] ?? []) as Rule[];

describe('generateJobs', () => {
  it('matches every selector operator on the role labels, with sanitized names', () => {
    const [job] = generate('ServiceMonitor', {
      selector: {
        matchLabels: { 'app.kubernetes.io/name': 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'NotIn', values: ['db', 'cache'] },
          { key: 'team', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      },
      endpoints: [{ port: 'http' }],
    });
    expect(rules(job).slice(1, 5)).toEqual([
      { action: 'keep', source_labels: ['__meta_kubernetes_service_label_app_kubernetes_io_name', '__meta_kubernetes_service_labelpresent_app_kubernetes_io_name'], regex: '(web);true' },
      { action: 'drop', source_labels: ['__meta_kubernetes_service_label_tier', '__meta_kubernetes_service_labelpresent_tier'], regex: '(db|cache);true' },
      { action: 'keep', source_labels: ['__meta_kubernetes_service_labelpresent_team'], regex: 'true' },
      { action: 'drop', source_labels: ['__meta_kubernetes_service_labelpresent_legacy'], regex: 'true' },
    ]);
  });

  it('writes a role selector as apimachinery prints it: by key, set values sorted', () => {
    expect(
      selectorString({
        matchLabels: new Map([['z', '1']]),
        matchExpressions: [
          { key: 'b', operator: 'NotIn', values: ['y', 'x'] },
          { key: 'a', operator: 'Exists', values: [] },
          { key: 'c', operator: 'DoesNotExist', values: [] },
        ],
      }),
    ).toBe('a,b notin (x,y),!c,z=1');
  });

  it('filters by targetPort name or number, and PodMonitor portNumber, naming the endpoint after it', () => {
    const [byName] = generate('ServiceMonitor', { selector: {}, endpoints: [{ targetPort: 'metrics' }] });
    const [byNumber] = generate('ServiceMonitor', { selector: {}, endpoints: [{ targetPort: 9100 }] });
    const [pm] = generate('PodMonitor', { selector: {}, podMetricsEndpoints: [{ portNumber: 8080 }] });
    expect(rules(byName)).toContainEqual({ action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'metrics' });
    expect(rules(byName).at(-1)).toEqual({ target_label: 'endpoint', replacement: 'metrics' });
    expect(rules(byNumber)).toContainEqual({ action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: '9100' });
    expect(rules(byNumber).at(-1)).toEqual({ target_label: 'endpoint', replacement: '9100' });
    expect(rules(pm)).toContainEqual({ action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: '8080' });
  });

  it('uses jobLabel over the default job for ServiceMonitors and PodMonitors', () => {
    const [sm] = generate('ServiceMonitor', { selector: {}, jobLabel: 'app.kubernetes.io/name', endpoints: [{ port: 'http' }] });
    const [pm] = generate('PodMonitor', { selector: {}, jobLabel: 'app', podMetricsEndpoints: [{ port: 'http' }] });
    expect(rules(sm)).toContainEqual({ source_labels: ['__meta_kubernetes_service_label_app_kubernetes_io_name'], target_label: 'job', regex: '(.+)', replacement: '${1}' });
    expect(rules(pm)).toContainEqual({ source_labels: ['__meta_kubernetes_pod_label_app'], target_label: 'job', regex: '(.+)', replacement: '${1}' });
  });

  it('writes TLS, proxy and the other endpoint settings, with Secret and ConfigMap values inline', () => {
    const [job] = generate('ServiceMonitor', {
      selector: {},
      attachMetadata: { node: true },
      endpoints: [
        {
          port: 'https',
          scheme: 'HTTPS',
          trackTimestampsStaleness: true,
          tlsConfig: {
            ca: { configMap: { name: 'bundle', key: 'ca' } },
            cert: { secret: { name: 'tls', key: 'cert' } },
            keySecret: { name: 'tls', key: 'key' },
            serverName: 'web.mon.svc',
            insecureSkipVerify: false,
            minVersion: 'TLS12',
            maxVersion: 'TLS13',
          },
          proxyUrl: 'http://proxy:3128',
          noProxy: '10.0.0.0/8',
          proxyConnectHeader: { 'Proxy-Authorization': [{ name: 'proxy', key: 'auth' }] },
        },
      ],
    });
    expect(job).toMatchObject({
      scheme: 'https',
      track_timestamps_staleness: true,
      kubernetes_sd_configs: [{ role: 'endpoints', namespaces: { names: ['mon'] }, attach_metadata: { node: true } }],
      tls_config: { ca: 'CA', cert: 'CERT', key: 'KEY', server_name: 'web.mon.svc', insecure_skip_verify: false, min_version: 'TLS12', max_version: 'TLS13' },
      proxy_url: 'http://proxy:3128',
      no_proxy: '10.0.0.0/8',
      proxy_connect_header: { 'Proxy-Authorization': ['Basic eA=='] },
    });
  });

  it('caps each limit by the enforced one and takes the smaller body size', () => {
    const options = { ...defaultGenerationOptions, enforcedLimits: { targetLimit: 100, labelLimit: 40, bodySizeLimit: '10MB' } };
    const [job] = generate('PodMonitor', { selector: {}, targetLimit: 500, labelLimit: 20, bodySizeLimit: '1GB', podMetricsEndpoints: [{ port: 'm' }] }, options);
    expect(job).toMatchObject({ target_limit: 100, label_limit: 20, body_size_limit: '10MB' });
  });

  it('keeps a Probe target namespace label the resource sets, and adds its relabelings and metric relabelings', () => {
    const [job] = generate('Probe', {
      prober: { url: 'blackbox:9115', scheme: 'https', path: '/p', proxyUrl: 'http://proxy:3128' },
      params: [{ name: 'module', values: ['ignored'] }, { name: 'debug', values: ['true'] }],
      module: 'icmp',
      interval: '1m',
      targets: { staticConfig: { static: ['a.example'], labels: { namespace: 'elsewhere', env: 'prod' }, relabelingConfigs: [{ targetLabel: 'x', replacement: 'y' }] } },
      metricRelabelings: [{ sourceLabels: ['__name__'], regex: 'probe_dns_.*', action: 'Drop' }],
    });
    expect(job).toMatchObject({
      metrics_path: '/p',
      scheme: 'https',
      scrape_interval: '1m',
      proxy_url: 'http://proxy:3128',
      params: { module: ['icmp'], debug: ['true'] },
      static_configs: [{ targets: ['a.example'], labels: { namespace: 'elsewhere', env: 'prod' } }],
      metric_relabel_configs: [{ source_labels: ['__name__'], regex: 'probe_dns_.*', action: 'drop' }],
    });
    expect(rules(job).at(-1)).toEqual({ target_label: 'x', replacement: 'y' });
  });

  it('writes a ScrapeConfig scrape settings and name schemes as Prometheus names them', () => {
    const [job] = generate('ScrapeConfig', {
      staticConfigs: [{ targets: ['a:9100'] }],
      honorLabels: true,
      scrapeInterval: '15s',
      scrapeTimeout: '5s',
      scheme: 'HTTPS',
      scrapeProtocols: ['PrometheusProto'],
      fallbackScrapeProtocol: 'PrometheusText0.0.4',
      nameValidationScheme: 'Legacy',
      nameEscapingScheme: 'Underscores',
      enableCompression: false,
    });
    expect(job).toMatchObject({
      honor_labels: true,
      scrape_interval: '15s',
      scrape_timeout: '5s',
      scheme: 'https',
      scrape_protocols: ['PrometheusProto'],
      fallback_scrape_protocol: 'PrometheusText0.0.4',
      metric_name_validation_scheme: 'legacy',
      metric_name_escaping_scheme: 'underscores',
      enable_compression: false,
      static_configs: [{ targets: ['a:9100'], labels: null }],
    });
  });

  it('rejects what promfleet cannot do, naming the field', () => {
    const reject = (kind: OperatorKind, spec: unknown) => () => generate(kind, spec);
    expect(reject('ServiceMonitor', { selector: { matchExpressions: [{ key: 'a', operator: 'Gt' }] }, endpoints: [] })).toThrow(
      new ResourceRejectedError('spec.selector.matchExpressions[0].operator: "Gt" is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)'),
    );
    expect(reject('ServiceMonitor', { selector: {}, serviceDiscoveryRole: 'Pods', endpoints: [] })).toThrow('spec.serviceDiscoveryRole: "Pods" is not Endpoints or EndpointSlice');
    expect(reject('PodMonitor', { selector: {}, podMetricsEndpoints: [{ oauth2: {} }] })).toThrow('spec.podMetricsEndpoints[0].oauth2: OAuth 2 is not supported');
    expect(reject('Probe', { prober: { url: 'http://bb:9115/probe' }, targets: { staticConfig: { static: ['a'] } } })).toThrow('spec.prober.url: "http://bb:9115/probe" must be hostname or hostname:port');
    expect(reject('ServiceMonitor', { selector: {}, endpoints: [{ tlsConfig: { ca: { secret: { name: 'a', key: 'b' }, configMap: { name: 'a', key: 'b' } } } }] })).toThrow(
      'spec.endpoints[0].tlsConfig.ca: cannot set both secret and configMap',
    );
  });
});
