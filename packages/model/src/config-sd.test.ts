import { describe, expect, it } from '@jest/globals';
import { defaultHttpClient, errors, job, notices, y } from './config-fixtures.js';

describe('file_sd_configs', () => {
  it('joins patterns with the config directory and defaults refresh_interval to 5m', () => {
    const text = y('scrape_configs:', '  - job_name: a', '    file_sd_configs:', '      - files: [targets/*.json, /abs/x.yml]', '      - {files: [a.YAML], refresh_interval: 1m}');
    expect(job(text, { file: '/etc/prometheus/prometheus.yml' }).fileSdConfigs).toEqual([
      { files: ['/etc/prometheus/targets/*.json', '/abs/x.yml'], refreshIntervalMs: 300_000 },
      { files: ['/etc/prometheus/a.YAML'], refreshIntervalMs: 60_000 },
    ]);
  });

  it.each([
    ['files: []', 'scrape_configs[0].file_sd_configs[0].files: file service discovery config must contain at least one path name'],
    ['files: [targets.txt]', 'scrape_configs[0].file_sd_configs[0].files[0]: path name "targets.txt" is not valid for file discovery: use a .json, .yml or .yaml file, with * only in the last path component'],
    ['files: ["*/t.json"]', 'scrape_configs[0].file_sd_configs[0].files[0]: path name "*/t.json" is not valid for file discovery: use a .json, .yml or .yaml file, with * only in the last path component'],
  ])('rejects %s', (line, expected) => {
    const text = y('scrape_configs:', '  - job_name: a', '    file_sd_configs:', `      - ${line}`);
    expect(errors(text)).toEqual([`p.yml:4: ${expected}`]);
  });
});

describe('kubernetes_sd_configs', () => {
  const sd = (...lines: string[]): string =>
    y('scrape_configs:', '  - job_name: a', '    kubernetes_sd_configs:', ...lines.map((l) => `      ${l}`));
  const sdErrors = (...lines: string[]): string[] => errors(sd(...lines)).map((e) => e.replace(/^p\.yml:\d+: scrape_configs\[0\]\.kubernetes_sd_configs\[0\]/, ''));

  it('reads every setting', () => {
    const text = sd(
      '- role: endpointslice',
      '  api_server: https://k8s.example:6443',
      '  bearer_token_file: token',
      '  tls_config: {ca_file: ca.crt}',
      '  namespaces: {names: [shop, monitoring]}',
      '  selectors:',
      '    - {role: pod, label: "app in (checkout), tier!=db"}',
      '    - {role: service, field: metadata.name=checkout}',
      '  attach_metadata: {node: true}',
      '- {role: pod, kubeconfig_file: kube/config, namespaces: {own_namespace: false}}',
      '- {role: node, namespaces: {own_namespace: true}}',
    );
    expect(job(text, { file: '/etc/prometheus/prometheus.yml' }).kubernetesSdConfigs).toEqual([
      {
        role: 'endpointslice',
        apiServer: 'https://k8s.example:6443',
        namespaces: { ownNamespace: false, names: ['shop', 'monitoring'] },
        selectors: [
          { role: 'pod', label: 'app in (checkout), tier!=db' },
          { role: 'service', field: 'metadata.name=checkout' },
        ],
        attachMetadata: { node: true, namespace: false, deployment: false, job: false, cronjob: false },
        httpClient: {
          ...defaultHttpClient,
          authorization: { type: 'Bearer', credentialsFile: '/etc/prometheus/token' },
          tlsConfig: { caFile: '/etc/prometheus/ca.crt', insecureSkipVerify: false },
        },
      },
      {
        role: 'pod',
        kubeconfigFile: '/etc/prometheus/kube/config',
        namespaces: { ownNamespace: false, names: [] },
        selectors: [],
        attachMetadata: { node: false, namespace: false, deployment: false, job: false, cronjob: false },
        httpClient: defaultHttpClient,
      },
      expect.objectContaining({ role: 'node', namespaces: { ownNamespace: true, names: [] } }),
    ]);
  });

  it.each([
    [['- namespaces: {names: [a]}'], '.role: role missing (one of: pod, service, endpoints, endpointslice, node, ingress)'],
    [['- role: pods'], '.role: unknown Kubernetes SD role "pods" (one of: pod, service, endpoints, endpointslice, node, ingress)'],
    [['- {role: pod, api_server: "https://a", kubeconfig_file: k}'], ".kubeconfig_file: cannot use 'kubeconfig_file' and 'api_server' simultaneously"],
    [['- {role: pod, kubeconfig_file: k, follow_redirects: false}'], ".kubeconfig_file: cannot use a custom HTTP client configuration together with 'kubeconfig_file'"],
    [['- {role: pod, bearer_token: t}'], ": to use custom HTTP client configuration please provide the 'api_server' URL explicitly"],
    [['- {role: pod, http_headers: {}}'], ": to use custom HTTP client configuration please provide the 'api_server' URL explicitly"],
    [['- {role: pod, api_server: "https://a", namespaces: {own_namespace: true}}'], ".namespaces.own_namespace: cannot use 'api_server' and 'namespaces.own_namespace' simultaneously"],
    [['- {role: pod, api_server: "10.0.0.1:6443"}'], '.api_server: invalid api_server URL "10.0.0.1:6443"'],
    [['- {role: pod, selectors: [{role: pod}, {role: pod}]}'], '.selectors[1].role: duplicated selector role: pod'],
    [['- {role: pod, selectors: [{role: service}]}'], '.selectors[0].role: pod role supports only pod, node selectors'],
    [['- {role: node, selectors: [{role: pod}]}'], '.selectors[0].role: node role supports only node selectors'],
    [['- {role: endpoints, selectors: [{role: node}]}'], '.selectors[0].role: endpoints role supports only pod, service, endpoints selectors'],
    [['- {role: pod, selectors: [{label: a}]}'], '.selectors[0].role: pod role supports only pod, node selectors'],
    [['- {role: pod, selectors: [{role: pod, label: "app in (a"}]}'], '.selectors[0].label: invalid label selector "app in (a": missing )'],
    [['- {role: pod, selectors: [{role: pod, label: "a/b/c=x"}]}'], '.selectors[0].label: invalid label selector "a/b/c=x": invalid label key "a/b/c": at most one "/"'],
    [['- {role: pod, selectors: [{role: pod, label: "app=x y"}]}'], '.selectors[0].label: invalid label selector "app=x y": requirements must be separated by ","'],
    [['- {role: pod, selectors: [{role: pod, field: metadata.name}]}'], `.selectors[0].field: invalid field selector "metadata.name": can't understand "metadata.name", expected key=value, key==value or key!=value`],
  ])('rejects %j', (lines, expected) => {
    expect(sdErrors(...lines)).toEqual([expected]);
  });

  it.each([
    ['label', 'app in (a b)', 'invalid label selector "app in (a b)": unexpected "b" in the value list'],
    ['label', 'n>-5', `invalid label selector "n>-5": invalid label value "-5": it must be empty or up to 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`],
    ['label', 'n<99999999999999999999', 'invalid label selector "n<99999999999999999999": < needs an integer'],
    ['field', 'a=b=c', 'invalid field selector "a=b=c": unescaped "=" in the value of "a=b=c" (write \\=)'],
  ])('rejects the %s selector %j as apimachinery does', (kind, selector, expected) => {
    expect(sdErrors(`- {role: pod, selectors: [{role: pod, ${kind}: ${JSON.stringify(selector)}}]}`)).toEqual([`.selectors[0].${kind}: ${expected}`]);
  });

  it.each(['=x', 'a\\x=y', 'metadata.name=a\\,b'])('accepts the field selector %j, as fields.ParseSelector does', (field) => {
    expect(sdErrors(`- {role: pod, selectors: [{role: pod, field: ${JSON.stringify(field)}}]}`)).toEqual([]);
  });

  it('lets the pod role select nodes when it attaches node metadata', () => {
    expect(sdErrors('- {role: pod, attach_metadata: {node: true}, selectors: [{role: node, label: "zone=a"}, {role: pod}]}')).toEqual([]);
    expect(notices(sd('- {role: pod, attach_metadata: {node: true}, selectors: [{role: node, label: "zone=a"}]}'))).toEqual([]);
  });

  it('accepts a node selector of the pod role without node metadata, as Prometheus does, and says it does nothing', () => {
    const text = sd('- {role: pod, selectors: [{role: pod, label: "a=b"}, {role: node, label: "zone=a"}]}');
    expect(errors(text)).toEqual([]);
    expect(notices(text)).toEqual([
      'p.yml:4: scrape_configs[0].kubernetes_sd_configs[0].selectors[1].role: a node selector of the pod role acts only with attach_metadata: {node: true}; without it, as in Prometheus, it selects nothing',
    ]);
  });

  it("reads Prometheus 3.11's attach_metadata keys for the owning workload", () => {
    expect(job(sd('- {role: pod, attach_metadata: {deployment: true, cronjob: true}}')).kubernetesSdConfigs[0]?.attachMetadata).toEqual({
      node: false,
      namespace: false,
      deployment: true,
      job: false,
      cronjob: true,
    });
    expect(sdErrors('- {role: pod, attach_metadata: {job: true, daemonset: true}}')).toEqual([expect.stringContaining('daemonset')]);
  });

  it.each(['', 'app', '!app', 'app=x', 'app==x', 'app!=x', 'app=', 'app in (a, b)', 'app notin ()', 'n>3', 'app.kubernetes.io/name=x,tier'])(
    'accepts the label selector %j',
    (label) => {
      expect(sdErrors(`- {role: pod, selectors: [{role: pod, label: ${JSON.stringify(label)}}]}`)).toEqual([]);
    },
  );
});
