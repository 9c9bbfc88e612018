/**
 * Conformance with prometheus-operator: each case mirrors one of the `pkg/prometheus/testdata/*.golden` files of
 * prometheus-operator (named in the case), with the project's own resource and the expected job written from
 * reading that golden file. The expectations leave out the three sharding rules every golden job ends with
 * (`__tmp_hash` hashmod and the `$(SHARD)` keep): promfleet shards by itself (see generate.ts).
 *
 * The count at the end is the conformance figure reported for issue #11.
 */
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { defaultGenerationOptions, generateJobs, type GenerationOptions } from './generate.js';
import { readOperatorResource, ResourceRejectedError, type AssetLookup, type OperatorKind } from './resource.js';

const assets: Record<string, string> = {
  'Secret/default/auth/user': 'scrape-bob',
  'Secret/default/auth/pass': 'scrape-alice',
  'Secret/default/token/token': 'scrape-secret',
  'Secret/default/tls/ca': 'ca',
  'ConfigMap/default/tls-cm/ca': 'ca',
  'Secret/default/tls/cert': 'cert',
  'Secret/default/tls/key': 'private-key',
};
const lookup: AssetLookup = (ref) => assets[`${ref.kind}/${ref.namespace}/${ref.name}/${ref.key}`];

function resource(kind: OperatorKind, name: string, spec: unknown) {
  return readOperatorResource(kind, { metadata: { name, namespace: 'default', resourceVersion: '1' }, spec });
}

const y = (text: string): unknown => parse(text);

/** The rules every ServiceMonitor job on the endpoints role has between the selector and the job label. */
function smMetaRules(role: 'endpoint' | 'endpointslice'): string {
  return `
- source_labels: [__meta_kubernetes_${role}_address_target_kind, __meta_kubernetes_${role}_address_target_name]
  separator: ;
  regex: Node;(.*)
  replacement: \${1}
  target_label: node
- source_labels: [__meta_kubernetes_${role}_address_target_kind, __meta_kubernetes_${role}_address_target_name]
  separator: ;
  regex: Pod;(.*)
  replacement: \${1}
  target_label: pod
- {source_labels: [__meta_kubernetes_namespace], target_label: namespace}
- {source_labels: [__meta_kubernetes_service_name], target_label: service}
- {source_labels: [__meta_kubernetes_pod_name], target_label: pod}
- {source_labels: [__meta_kubernetes_pod_container_name], target_label: container}
- {action: drop, source_labels: [__meta_kubernetes_pod_phase], regex: (Failed|Succeeded)}`;
}
const tmpJob = '- {source_labels: [job], target_label: __tmp_prometheus_job_name}';
const smJob = '- {source_labels: [__meta_kubernetes_service_name], target_label: job, replacement: "${1}"}';
const portWeb = '- {action: keep, source_labels: [__meta_kubernetes_endpoint_port_name], regex: web}';
const endpointWeb = '- {target_label: endpoint, replacement: web}';
const pmMeta = `
- {source_labels: [__meta_kubernetes_namespace], target_label: namespace}
- {source_labels: [__meta_kubernetes_pod_container_name], target_label: container}
- {source_labels: [__meta_kubernetes_pod_name], target_label: pod}`;
const phase = '- {action: drop, source_labels: [__meta_kubernetes_pod_phase], regex: (Failed|Succeeded)}';

interface Case {
  readonly golden: string;
  readonly kind: OperatorKind;
  readonly name: string;
  readonly spec: unknown;
  readonly options?: Partial<GenerationOptions>;
  readonly expected: string;
}

const webEndpoint = { port: 'web', interval: '30s' };

const cases: readonly Case[] = [
  {
    golden: 'MatchExpressionsServiceMonitor',
    kind: 'ServiceMonitor',
    name: 'test',
    spec: { selector: { matchExpressions: [{ key: 'alpha', operator: 'In', values: ['beta', 'gamma'] }] }, endpoints: [webEndpoint] },
    expected: `
job_name: serviceMonitor/default/test/0
honor_labels: false
kubernetes_sd_configs: [{role: endpoints, namespaces: {names: [default]}}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
- action: keep
  source_labels: [__meta_kubernetes_service_label_alpha, __meta_kubernetes_service_labelpresent_alpha]
  regex: (beta|gamma);true
${portWeb}${smMetaRules('endpoint')}
${smJob}
${endpointWeb}`,
  },
  {
    golden: 'ServiceMonitorObjectWithEndpointSliceSelectorAndMatchLabelSelector',
    kind: 'ServiceMonitor',
    name: 'defaultServiceMonitor',
    spec: { selector: { matchLabels: { group: 'group1' } }, selectorMechanism: 'RoleSelector', serviceDiscoveryRole: 'EndpointSlice', endpoints: [webEndpoint] },
    expected: `
job_name: serviceMonitor/default/defaultServiceMonitor/0
honor_labels: false
kubernetes_sd_configs:
- role: endpointslice
  namespaces: {names: [default]}
  selectors: [{role: endpointslice, label: group=group1}, {role: service, label: group=group1}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
- {action: keep, source_labels: [__meta_kubernetes_endpointslice_port_name], regex: web}${smMetaRules('endpointslice')}
${smJob}
${endpointWeb}`,
  },
  {
    golden: 'SampleLimits_GlobalLimit1000_Enforce2000',
    kind: 'ServiceMonitor',
    name: 'testservicemonitor1',
    spec: { selector: {}, endpoints: [webEndpoint] },
    options: { enforcedLimits: { sampleLimit: 2000 } },
    expected: `
job_name: serviceMonitor/default/testservicemonitor1/0
honor_labels: false
kubernetes_sd_configs: [{role: endpoints, namespaces: {names: [default]}}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
${portWeb}${smMetaRules('endpoint')}
${smJob}
${endpointWeb}`,
  },
  {
    golden: 'SampleLimits_Limit500 (enforced 1000)',
    kind: 'ServiceMonitor',
    name: 'testservicemonitor1',
    spec: { selector: {}, sampleLimit: 500, endpoints: [webEndpoint] },
    options: { enforcedLimits: { sampleLimit: 1000 } },
    expected: `
job_name: serviceMonitor/default/testservicemonitor1/0
honor_labels: false
kubernetes_sd_configs: [{role: endpoints, namespaces: {names: [default]}}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
${portWeb}${smMetaRules('endpoint')}
${smJob}
${endpointWeb}
sample_limit: 500`,
  },
  {
    golden: 'PodTargetLabels',
    kind: 'ServiceMonitor',
    name: 'testservicemonitor1',
    spec: { selector: {}, podTargetLabels: ['example', 'env'], endpoints: [webEndpoint] },
    expected: `
job_name: serviceMonitor/default/testservicemonitor1/0
honor_labels: false
kubernetes_sd_configs: [{role: endpoints, namespaces: {names: [default]}}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
${portWeb}${smMetaRules('endpoint')}
- {source_labels: [__meta_kubernetes_pod_label_example], target_label: example, regex: (.+), replacement: "\${1}"}
- {source_labels: [__meta_kubernetes_pod_label_env], target_label: env, regex: (.+), replacement: "\${1}"}
${smJob}
${endpointWeb}`,
  },
  {
    golden: 'EnforcedNamespaceLabelServiceMonitor_Expected',
    kind: 'ServiceMonitor',
    name: 'test',
    spec: {
      selector: { matchLabels: { foo: 'bar' }, matchExpressions: [{ key: 'alpha', operator: 'In', values: ['beta', 'gamma'] }] },
      endpoints: [
        {
          ...webEndpoint,
          relabelings: [{ sourceLabels: ['__meta_kubernetes_pod_ready'], targetLabel: 'pod_ready', regex: '(.*)', replacement: '$1', action: 'replace' }],
          metricRelabelings: [{ sourceLabels: ['pod_name'], targetLabel: 'ns-key', regex: 'my-job-pod-.+', action: 'drop' }],
        },
      ],
    },
    options: { enforcedNamespaceLabel: 'ns-key' },
    expected: `
job_name: serviceMonitor/default/test/0
honor_labels: false
kubernetes_sd_configs: [{role: endpoints, namespaces: {names: [default]}}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
- {action: keep, source_labels: [__meta_kubernetes_service_label_foo, __meta_kubernetes_service_labelpresent_foo], regex: (bar);true}
- {action: keep, source_labels: [__meta_kubernetes_service_label_alpha, __meta_kubernetes_service_labelpresent_alpha], regex: (beta|gamma);true}
${portWeb}${smMetaRules('endpoint')}
${smJob}
${endpointWeb}
- {source_labels: [__meta_kubernetes_pod_ready], target_label: pod_ready, regex: (.*), replacement: $1, action: replace}
- {target_label: ns-key, replacement: default}
metric_relabel_configs:
- {source_labels: [pod_name], target_label: ns-key, regex: my-job-pod-.+, action: drop}
- {target_label: ns-key, replacement: default}`,
  },
  {
    golden: 'EnforcedNamespaceLabelOnExcludedServiceMonitor_Expected',
    kind: 'ServiceMonitor',
    name: 'exclude-me',
    spec: { selector: {}, endpoints: [{ ...webEndpoint, metricRelabelings: [{ sourceLabels: ['pod_name'], regex: 'x', action: 'drop' }] }] },
    options: { enforcedNamespaceLabel: 'ns-key', excludedFromEnforcement: [{ kind: 'ServiceMonitor', namespace: 'default', name: 'exclude-me' }] },
    expected: `
job_name: serviceMonitor/default/exclude-me/0
honor_labels: false
kubernetes_sd_configs: [{role: endpoints, namespaces: {names: [default]}}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
${portWeb}${smMetaRules('endpoint')}
${smJob}
${endpointWeb}
metric_relabel_configs:
- {source_labels: [pod_name], regex: x, action: drop}`,
  },
  {
    golden: 'HonorTimestampsOverriding',
    kind: 'ServiceMonitor',
    name: 'testservicemonitor1',
    spec: { selector: {}, targetLabels: ['example', 'env'], endpoints: [{ ...webEndpoint, honorTimestamps: true }] },
    options: { overrideHonorTimestamps: true },
    expected: `
job_name: serviceMonitor/default/testservicemonitor1/0
honor_labels: false
honor_timestamps: false
kubernetes_sd_configs: [{role: endpoints, namespaces: {names: [default]}}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
${portWeb}${smMetaRules('endpoint')}
- {source_labels: [__meta_kubernetes_service_label_example], target_label: example, regex: (.+), replacement: "\${1}"}
- {source_labels: [__meta_kubernetes_service_label_env], target_label: env, regex: (.+), replacement: "\${1}"}
${smJob}
${endpointWeb}`,
  },
  {
    golden: 'HonorLabelsOverriding',
    kind: 'ServiceMonitor',
    name: 'testservicemonitor1',
    spec: { selector: {}, endpoints: [{ ...webEndpoint, honorLabels: true }] },
    options: { overrideHonorLabels: true },
    expected: `
job_name: serviceMonitor/default/testservicemonitor1/0
honor_labels: false
kubernetes_sd_configs: [{role: endpoints, namespaces: {names: [default]}}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
${portWeb}${smMetaRules('endpoint')}
${smJob}
${endpointWeb}`,
  },
  {
    golden: 'ServiceMonitorEndpointFollowRedirects_FollowRedirectFalse_v2.28.0',
    kind: 'ServiceMonitor',
    name: 'testservicemonitor1',
    spec: { selector: {}, endpoints: [{ ...webEndpoint, followRedirects: false }] },
    expected: `
job_name: serviceMonitor/default/testservicemonitor1/0
honor_labels: false
kubernetes_sd_configs: [{role: endpoints, namespaces: {names: [default]}}]
scrape_interval: 30s
follow_redirects: false
relabel_configs:
${tmpJob}
${portWeb}${smMetaRules('endpoint')}
${smJob}
${endpointWeb}`,
  },
  {
    golden: 'ServiceMonitorEndpointEnableHttp2_EnableHTTP2False_v2.35.0',
    kind: 'ServiceMonitor',
    name: 'testservicemonitor1',
    spec: { selector: {}, endpoints: [{ ...webEndpoint, enableHttp2: false }] },
    expected: `
job_name: serviceMonitor/default/testservicemonitor1/0
honor_labels: false
kubernetes_sd_configs: [{role: endpoints, namespaces: {names: [default]}}]
scrape_interval: 30s
enable_http2: false
relabel_configs:
${tmpJob}
${portWeb}${smMetaRules('endpoint')}
${smJob}
${endpointWeb}`,
  },
  {
    golden: 'Any_returns_an_empty_list_instead_of_the_current_namespace',
    kind: 'ServiceMonitor',
    name: 'testservicemonitor1',
    spec: { selector: {}, namespaceSelector: { any: true }, endpoints: [webEndpoint] },
    expected: `
job_name: serviceMonitor/default/testservicemonitor1/0
honor_labels: false
kubernetes_sd_configs: [{role: endpoints}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
${portWeb}${smMetaRules('endpoint')}
${smJob}
${endpointWeb}`,
  },
  {
    golden: 'IgnoreNamespaceSelectors_overrides_Any_and_MatchNames',
    kind: 'ServiceMonitor',
    name: 'testservicemonitor1',
    spec: { selector: {}, namespaceSelector: { any: true, matchNames: ['foo'] }, endpoints: [webEndpoint] },
    options: { ignoreNamespaceSelectors: true },
    expected: `
job_name: serviceMonitor/default/testservicemonitor1/0
honor_labels: false
kubernetes_sd_configs: [{role: endpoints, namespaces: {names: [default]}}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
${portWeb}${smMetaRules('endpoint')}
${smJob}
${endpointWeb}`,
  },
  {
    golden: 'KeepDroppedTargets',
    kind: 'ServiceMonitor',
    name: 'testservicemonitor1',
    spec: { selector: {}, keepDroppedTargets: 50, endpoints: [webEndpoint] },
    expected: `
job_name: serviceMonitor/default/testservicemonitor1/0
honor_labels: false
kubernetes_sd_configs: [{role: endpoints, namespaces: {names: [default]}}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
${portWeb}${smMetaRules('endpoint')}
${smJob}
${endpointWeb}
keep_dropped_targets: 50`,
  },
  {
    golden: 'BodySizeLimits_enforce1000MB_v2.28.0',
    kind: 'ServiceMonitor',
    name: 'testservicemonitor1',
    spec: { selector: {}, endpoints: [webEndpoint] },
    options: { enforcedLimits: { bodySizeLimit: '1000MB' } },
    expected: `
job_name: serviceMonitor/default/testservicemonitor1/0
honor_labels: false
kubernetes_sd_configs: [{role: endpoints, namespaces: {names: [default]}}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
${portWeb}${smMetaRules('endpoint')}
${smJob}
${endpointWeb}
body_size_limit: 1000MB`,
  },
  {
    golden: 'PodMonitorPhaseFilter',
    kind: 'PodMonitor',
    name: 'testpodmonitor1',
    spec: { selector: {}, podMetricsEndpoints: [{ port: 'test', filterRunning: false }] },
    expected: `
job_name: podMonitor/default/testpodmonitor1/0
honor_labels: false
kubernetes_sd_configs: [{role: pod, namespaces: {names: [default]}}]
relabel_configs:
${tmpJob}
- {action: keep, source_labels: [__meta_kubernetes_pod_container_port_name], regex: test}${pmMeta}
- {target_label: job, replacement: default/testpodmonitor1}
- {target_label: endpoint, replacement: test}`,
  },
  {
    golden: 'PodTargetLabelsFromPodMonitorAndGlobal',
    kind: 'PodMonitor',
    name: 'testpodmonitor1',
    spec: { selector: {}, podTargetLabels: ['local'], podMetricsEndpoints: [webEndpoint] },
    options: { podTargetLabels: ['global'] },
    expected: `
job_name: podMonitor/default/testpodmonitor1/0
honor_labels: false
kubernetes_sd_configs: [{role: pod, namespaces: {names: [default]}}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
${phase}
- {action: keep, source_labels: [__meta_kubernetes_pod_container_port_name], regex: web}${pmMeta}
- {source_labels: [__meta_kubernetes_pod_label_local], target_label: local, regex: (.+), replacement: "\${1}"}
- {source_labels: [__meta_kubernetes_pod_label_global], target_label: global, regex: (.+), replacement: "\${1}"}
- {target_label: job, replacement: default/testpodmonitor1}
- {target_label: endpoint, replacement: web}`,
  },
  {
    golden: 'PodMonitorObjectWithMatchExpressionSelector',
    kind: 'PodMonitor',
    name: 'defaultPodMonitor',
    spec: { selector: { matchExpressions: [{ key: 'group', operator: 'In', values: ['group1'] }] }, selectorMechanism: 'RoleSelector', podMetricsEndpoints: [webEndpoint] },
    expected: `
job_name: podMonitor/default/defaultPodMonitor/0
honor_labels: false
kubernetes_sd_configs: [{role: pod, namespaces: {names: [default]}, selectors: [{role: pod, label: group in (group1)}]}]
scrape_interval: 30s
relabel_configs:
${tmpJob}
${phase}
- {action: keep, source_labels: [__meta_kubernetes_pod_container_port_name], regex: web}${pmMeta}
- {target_label: job, replacement: default/defaultPodMonitor}
- {target_label: endpoint, replacement: web}`,
  },
  {
    golden: 'ProbeStaticTargetsConfigGenerationWithJobName',
    kind: 'Probe',
    name: 'testprobe1',
    spec: { jobName: 'blackbox', module: 'http_2xx', prober: { scheme: 'http', url: 'blackbox.exporter.io', path: '/probe' }, targets: { staticConfig: { static: ['prometheus.io', 'promcon.io'] } } },
    expected: `
job_name: probe/default/testprobe1
honor_timestamps: true
metrics_path: /probe
scheme: http
params: {module: [http_2xx]}
static_configs: [{targets: [prometheus.io, promcon.io], labels: {namespace: default}}]
relabel_configs:
${tmpJob}
- {target_label: job, replacement: blackbox}
- {source_labels: [__address__], target_label: __param_target}
- {source_labels: [__param_target], target_label: instance}
- {target_label: __address__, replacement: blackbox.exporter.io}`,
  },
  {
    golden: 'ProbeIngressSDConfigGeneration',
    kind: 'Probe',
    name: 'testprobe1',
    spec: {
      module: 'http_2xx',
      prober: { scheme: 'http', url: 'blackbox.exporter.io', path: '/probe' },
      targets: {
        ingress: {
          selector: { matchLabels: { 'prometheus.io/probe': 'true' } },
          namespaceSelector: { any: true },
          relabelingConfigs: [{ targetLabel: 'foo', replacement: 'bar', action: 'replace' }],
        },
      },
    },
    expected: `
job_name: probe/default/testprobe1
honor_timestamps: true
metrics_path: /probe
scheme: http
params: {module: [http_2xx]}
kubernetes_sd_configs: [{role: ingress}]
relabel_configs:
${tmpJob}
- action: keep
  source_labels: [__meta_kubernetes_ingress_label_prometheus_io_probe, __meta_kubernetes_ingress_labelpresent_prometheus_io_probe]
  regex: (true);true
- source_labels: [__meta_kubernetes_ingress_scheme, __address__, __meta_kubernetes_ingress_path]
  separator: ;
  regex: (.+);(.+);(.+)
  target_label: __param_target
  replacement: \${1}://\${2}\${3}
  action: replace
- {source_labels: [__meta_kubernetes_namespace], target_label: namespace}
- {source_labels: [__meta_kubernetes_ingress_name], target_label: ingress}
- {source_labels: [__address__], separator: ;, regex: (.*), target_label: __tmp_ingress_address, replacement: $1, action: replace}
- {source_labels: [__param_target], target_label: instance}
- {target_label: __address__, replacement: blackbox.exporter.io}
- {target_label: foo, replacement: bar, action: replace}`,
  },
  {
    golden: 'ScrapeConfigSpecConfig_Static',
    kind: 'ScrapeConfig',
    name: 'testscrapeconfig1',
    spec: { staticConfigs: [{ targets: ['localhost:9100'], labels: { label1: 'value1' } }] },
    expected: `
job_name: scrapeConfig/default/testscrapeconfig1
static_configs: [{targets: [localhost:9100], labels: {label1: value1}}]
relabel_configs:
${tmpJob}`,
  },
  {
    golden: 'ScrapeConfigSpecConfig_K8SSD_with_Selectors',
    kind: 'ScrapeConfig',
    name: 'testscrapeconfig1',
    spec: { kubernetesSDConfigs: [{ role: 'Node', selectors: [{ role: 'Node', label: 'component=executor' }] }] },
    expected: `
job_name: scrapeConfig/default/testscrapeconfig1
kubernetes_sd_configs: [{role: node, selectors: [{role: node, label: component=executor}]}]
relabel_configs:
${tmpJob}`,
  },
  {
    golden: 'ScrapeConfigSpecConfig_K8SSD_with_AttachMetadata',
    kind: 'ScrapeConfig',
    name: 'testscrapeconfig1',
    spec: { kubernetesSDConfigs: [{ role: 'Pod', attachMetadata: { node: true } }] },
    expected: `
job_name: scrapeConfig/default/testscrapeconfig1
kubernetes_sd_configs: [{role: pod, attach_metadata: {node: true}}]
relabel_configs:
${tmpJob}`,
  },
  {
    golden: 'ScrapeConfigSpecConfig_FileSD',
    kind: 'ScrapeConfig',
    name: 'testscrapeconfig1',
    spec: { fileSDConfigs: [{ files: ['/tmp/myfile.json'], refreshInterval: '5m' }] },
    expected: `
job_name: scrapeConfig/default/testscrapeconfig1
file_sd_configs: [{files: [/tmp/myfile.json], refresh_interval: 5m}]
relabel_configs:
${tmpJob}`,
  },
  {
    golden: 'ScrapeConfigSpecConfig_Params',
    kind: 'ScrapeConfig',
    name: 'testscrapeconfig1',
    spec: { metricsPath: '/federate', params: { 'match[]': ['{job="prometheus"}', '{__name__=~"job:.*"}'] } },
    expected: `
job_name: scrapeConfig/default/testscrapeconfig1
metrics_path: /federate
params: {"match[]": ['{job="prometheus"}', '{__name__=~"job:.*"}']}
relabel_configs:
${tmpJob}`,
  },
  {
    golden: 'ScrapeConfigSpecConfig_Limits',
    kind: 'ScrapeConfig',
    name: 'testscrapeconfig1',
    spec: { sampleLimit: 10000, targetLimit: 1000, labelLimit: 50, labelNameLengthLimit: 40, labelValueLengthLimit: 30 },
    expected: `
job_name: scrapeConfig/default/testscrapeconfig1
sample_limit: 10000
target_limit: 1000
label_limit: 50
label_name_length_limit: 40
label_value_length_limit: 30
relabel_configs:
${tmpJob}`,
  },
  {
    golden: 'ScrapeConfigSpecConfig_WithJobNameAndRelabelConfig',
    kind: 'ScrapeConfig',
    name: 'testscrapeconfig1',
    spec: {
      jobName: 'explicit-test-scrape-config5',
      relabelings: [{ sourceLabels: ['__address__'], targetLabel: '__address__', regex: '(.+)(?::d+)', replacement: '$1:9537', action: 'Replace' }],
    },
    expected: `
job_name: scrapeConfig/default/testscrapeconfig1
relabel_configs:
${tmpJob}
- {target_label: job, action: replace, replacement: explicit-test-scrape-config5}
- {source_labels: [__address__], target_label: __address__, regex: "(.+)(?::d+)", replacement: "$1:9537", action: replace}`,
  },
  {
    golden: 'ScrapeConfigSpecConfig_BasicAuth (scrape part)',
    kind: 'ScrapeConfig',
    name: 'testscrapeconfig1',
    spec: { basicAuth: { username: { name: 'auth', key: 'user' }, password: { name: 'auth', key: 'pass' } } },
    expected: `
job_name: scrapeConfig/default/testscrapeconfig1
basic_auth: {username: scrape-bob, password: scrape-alice}
relabel_configs:
${tmpJob}`,
  },
  {
    golden: 'ScrapeConfigSpecConfig_Authorization (scrape part)',
    kind: 'ScrapeConfig',
    name: 'testscrapeconfig1',
    spec: { authorization: { credentials: { name: 'token', key: 'token' } } },
    expected: `
job_name: scrapeConfig/default/testscrapeconfig1
authorization: {type: Bearer, credentials: scrape-secret}
relabel_configs:
${tmpJob}`,
  },
  {
    golden: 'ScrapeConfigSpecConfig_Inline_TLSConfig (scrape part)',
    kind: 'ScrapeConfig',
    name: 'testscrapeconfig1',
    spec: { tlsConfig: { ca: { secret: { name: 'tls', key: 'ca' } }, cert: { secret: { name: 'tls', key: 'cert' } }, keySecret: { name: 'tls', key: 'key' } } },
    expected: `
job_name: scrapeConfig/default/testscrapeconfig1
tls_config: {ca: ca, cert: cert, key: private-key}
relabel_configs:
${tmpJob}`,
  },
];

/** Golden files read and considered, whose output promfleet deliberately does not reproduce, and why. */
const differing: readonly { golden: string; why: string }[] = [
  { golden: 'ProbeSpecConfig_empty_probe', why: 'a Probe without prober URL or targets is rejected (prometheus-operator rejects it at selection, checkProbe)' },
  { golden: 'ProbeSpecConfig_module_config_with_params', why: 'same: no prober URL and no targets; promfleet rejects it' },
  { golden: 'ScrapeConfigSpecConfig_HTTPSD', why: 'http_sd_configs: promfleet does not run HTTP service discovery; the ScrapeConfig is rejected' },
  { golden: 'ScrapeConfigSpecConfig_WithOAuth', why: 'oauth2: promfleet workers do not fetch OAuth 2 tokens; the resource is rejected' },
  { golden: 'K8SSDConfigGenerationTLSConfig', why: 'apiserverConfig: generated jobs use the master API connection' },
  { golden: 'SampleLimits_Limit-1', why: 'a negative limit: Prometheus itself refuses sample_limit: -1; promfleet rejects the resource' },
];

describe('prometheus-operator golden conformance', () => {
  it.each(cases.map((c) => [c.golden, c] as const))('%s', (_golden, c) => {
    const jobs = generateJobs(resource(c.kind, c.name, c.spec), lookup, { ...defaultGenerationOptions, ...c.options });
    expect(jobs).toEqual([y(c.expected)]);
  });

  it('rejects the resources whose goldens it does not reproduce', () => {
    const rejected = [
      resource('Probe', 'probe1', { module: 'http_2xx', params: [{ name: 'foo', values: ['bar'] }] }),
      resource('ScrapeConfig', 'sc', { httpSDConfigs: [{ url: 'http://localhost:9100/sd.json' }] }),
      resource('ScrapeConfig', 'sc', { oauth2: { clientId: { secret: { name: 'a', key: 'b' } }, clientSecret: { name: 'a', key: 'c' }, tokenUrl: 'http://t' } }),
      resource('ScrapeConfig', 'sc', { kubernetesSDConfigs: [{ role: 'Pod', apiServer: 'https://other' }] }),
    ];
    for (const r of rejected) expect(() => generateJobs(r, lookup, defaultGenerationOptions)).toThrow(ResourceRejectedError);
  });

  it('reproduces every considered golden it does not deliberately differ from', () => {
    // The conformance figure: cases reproduced out of golden files considered.
    expect({ reproduced: cases.length, considered: cases.length + differing.length }).toEqual({ reproduced: 30, considered: 36 });
  });
});
