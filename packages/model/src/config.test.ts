import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, formatConfigIssue, parseConfig, type ScrapeConfig } from './config.js';
import { defaultHttpClient, errors, job, load, notices, y } from './config-fixtures.js';

describe('parseConfig defaults', () => {
  it.each(['', '# nothing here\n', '---\n', 'global:\n'])('loads %j as the default configuration', (text) => {
    const config = load(text);
    expect(config.scrapeConfigs).toEqual([]);
    expect(config.remoteWrite).toEqual([]);
    expect(config.global).toMatchObject({
      scrapeIntervalMs: 60_000,
      scrapeTimeoutMs: 10_000,
      evaluationIntervalMs: 60_000,
      externalLabels: new Map(),
      metricNameValidationScheme: 'utf8',
      metricNameEscapingScheme: 'allow-utf-8',
      scrapeNativeHistograms: false,
    });
    expect(config.global.scrapeProtocols).toBeUndefined();
  });

  it('fills a job with the defaults of DefaultScrapeConfig and the global section', () => {
    expect(job(y('scrape_configs:', '  - job_name: a'), { file: '/etc/prometheus/prometheus.yml' })).toEqual({
      jobName: 'a',
      scrapeIntervalMs: 60_000,
      scrapeTimeoutMs: 10_000,
      metricsPath: '/metrics',
      scheme: 'http',
      params: new Map(),
      honorLabels: false,
      honorTimestamps: true,
      trackTimestampsStaleness: false,
      sampleLimit: 0,
      targetLimit: 0,
      labelLimit: 0,
      labelNameLengthLimit: 0,
      labelValueLengthLimit: 0,
      bodySizeLimitBytes: 0,
      keepDroppedTargets: 0,
      scrapeProtocols: ['OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText1.0.0', 'PrometheusText0.0.4'],
      enableCompression: true,
      scrapeNativeHistograms: false,
      metricNameValidationScheme: 'utf8',
      metricNameEscapingScheme: 'allow-utf-8',
      relabelConfigs: [],
      metricRelabelConfigs: [],
      staticConfigs: [],
      fileSdConfigs: [],
      kubernetesSdConfigs: [],
      httpClient: defaultHttpClient,
      source: { file: '/etc/prometheus/prometheus.yml', line: 2 },
    });
  });

  it('fills a remote_write entry with DefaultRemoteWriteConfig, HTTP/2 off', () => {
    const [rw] = load(y('remote_write:', '  - url: http://127.0.0.1:9090/api/v1/write', '    queue_config: {max_shards: 10}')).remoteWrite;
    expect(rw).toEqual({
      url: 'http://127.0.0.1:9090/api/v1/write',
      name: '',
      remoteTimeoutMs: 30_000,
      headers: new Map(),
      writeRelabelConfigs: [],
      sendExemplars: false,
      sendNativeHistograms: false,
      roundRobinDns: false,
      protobufMessage: 'prometheus.WriteRequest',
      queueConfig: {
        capacity: 10_000,
        maxShards: 10,
        minShards: 1,
        maxSamplesPerSend: 2000,
        batchSendDeadlineMs: 5000,
        minBackoffMs: 30,
        maxBackoffMs: 5000,
        retryOnHttp429: false,
        sampleAgeLimitMs: 0,
      },
      metadataConfig: { send: true, sendIntervalMs: 60_000, maxSamplesPerSend: 2000 },
      httpClient: { ...defaultHttpClient, enableHttp2: false },
      source: { file: 'p.yml', line: 2 },
    });
  });
});

describe('parseConfig errors', () => {
  const job = (...lines: string[]): string => y('scrape_configs:', '  - job_name: a', ...lines.map((l) => `    ${l}`));

  it.each([
    [y('global:', '  scrape_interval: 5s', '  scrape_timeout: 10s'), 'p.yml:3: global.scrape_timeout: global scrape timeout (10s) greater than scrape interval (5s)'],
    [job('scrape_interval: 5s', 'scrape_timeout: 6s'), 'p.yml:4: scrape_configs[0].scrape_timeout: scrape timeout (6s) greater than scrape interval (5s) for scrape config with job name "a"'],
    [y('global:', '  scrape_interval: 10s', 'scrape_configs:', '  - job_name: a', '    scrape_timeout: 15s'), 'p.yml:5: scrape_configs[0].scrape_timeout: scrape timeout (15s) greater than scrape interval (10s) for scrape config with job name "a"'],
    [job('scheme: ftp'), 'p.yml:3: scrape_configs[0].scheme: scheme must be "http" or "https", got "ftp"'],
    [y('scrape_configs:', '  - metrics_path: /m'), 'p.yml:2: scrape_configs[0].job_name: job_name is empty'],
    [y('scrape_configs:', '  -'), 'p.yml:2: scrape_configs[0]: empty or null scrape config section'],
    [job('relabel_configs:', '  -'), 'p.yml:4: scrape_configs[0].relabel_configs[0]: empty or null target relabeling rule in scrape config'],
    [job('consul_sd_configs: [~]'), 'p.yml:3: scrape_configs[0].consul_sd_configs[0]: empty or null section in consul_sd_configs'],
    [y('global:', '  metric_name_validation_scheme: legacy', '  external_labels:', '    a.b: x'), 'p.yml:4: global.external_labels["a.b"]: "a.b" is not a valid label name'],
    [y('global:', '  metric_name_validation_scheme: ascii'), `p.yml:2: global.metric_name_validation_scheme: unknown name validation method specified, must be either '', 'legacy' or 'utf8', got "ascii"`],
    [job('metric_name_validation_scheme: legacy', 'metric_name_escaping_scheme: allow-utf-8'), 'p.yml:4: scrape_configs[0].metric_name_escaping_scheme: utf8 metric names requested but validation scheme is not set to UTF8'],
    [job('metric_name_escaping_scheme: dashes'), `p.yml:3: scrape_configs[0].metric_name_escaping_scheme: unknown name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got "dashes"`],
    [job('scrape_protocols: []'), 'p.yml:3: scrape_configs[0].scrape_protocols: scrape_protocols cannot be empty'],
    [job('scrape_protocols: [PrometheusText0.0.4, prometheustext0.0.4]'), 'p.yml:3: scrape_configs[0].scrape_protocols[1]: duplicated protocol in scrape_protocols, got [PrometheusText0.0.4 prometheustext0.0.4]'],
    [job('scrape_protocols: [Text]'), 'p.yml:3: scrape_configs[0].scrape_protocols[0]: unknown scrape protocol Text, supported: [OpenMetricsText0.0.1 OpenMetricsText1.0.0 PrometheusProto PrometheusText0.0.4 PrometheusText1.0.0]'],
    [job('fallback_scrape_protocol: text/plain'), expect.stringMatching(/^p\.yml:3: scrape_configs\[0\]\.fallback_scrape_protocol: invalid fallback_scrape_protocol for scrape config with job name "a": unknown scrape protocol text\/plain/)],
    [job('static_configs:', '  - targets: ["http://a:9090/metrics"]'), 'p.yml:4: scrape_configs[0].static_configs[0].targets[0]: "http://a:9090/metrics" is not a valid hostname'],
    [job('static_configs:', "  - {targets: [a:1], labels: {'': x}}"), 'p.yml:4: scrape_configs[0].static_configs[0].labels[""]: "" is not a valid label name'],
    [job('sample_limit: -1'), 'p.yml:3: scrape_configs[0].sample_limit: expected a non-negative integer, got -1'],
    [job('scrape_interval: 30'), 'p.yml:3: scrape_configs[0].scrape_interval: not a valid duration string: "30"'],
    [job('scrape_interval: 1m30'), 'p.yml:3: scrape_configs[0].scrape_interval: not a valid duration string: "1m30"'],
    [job("scrape_interval: ''"), 'p.yml:3: scrape_configs[0].scrape_interval: empty duration string'],
    [job('scrape_interval: 1s1m'), 'p.yml:3: scrape_configs[0].scrape_interval: not a valid duration string: "1s1m"'],
    [job('scrape_interval: 300y'), 'p.yml:3: scrape_configs[0].scrape_interval: duration out of range: "300y"'],
    [job('body_size_limit: 100'), 'p.yml:3: scrape_configs[0].body_size_limit: invalid size "100": a unit is required (use B, KB, MB, GB, TB, PB or EB, powers of 1024, e.g. 100MB)'],
    [job('body_size_limit: 10kB'), expect.stringMatching(/body_size_limit: invalid size "10kB": unknown unit "kB"/)],
    [y('remote_write:', '  - name: x'), 'p.yml:2: remote_write[0].url: url for remote_write is empty'],
    [y('remote_write:', '  - url: ftp://u:pw@x/'), 'p.yml:2: remote_write[0].url: url for remote_write must be an http or https URL, got "ftp://u:xxxxx@x/"'],
    [y('remote_write:', '  - url: http://x/', '    headers: {Authorization: x}'), 'p.yml:3: remote_write[0].headers.Authorization: authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread or google_iam parameter'],
    [y('remote_write:', '  - url: http://x/', '    headers: {User-Agent: x}'), 'p.yml:3: remote_write[0].headers.User-Agent: User-Agent is a reserved header. It must not be changed'],
    [y('remote_write:', '  - url: http://x/', '    protobuf_message: v3'), 'p.yml:3: remote_write[0].protobuf_message: invalid protobuf_message value: unknown remote write protobuf message v3, supported: prometheus.WriteRequest, io.prometheus.write.v2.Request'],
    [y('remote_write:', '  - url: http://x/', '    bearer_token: t', '    sigv4: {region: eu}'), 'p.yml:2: remote_write[0]: at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. Currently configured: [authorization sigv4]'],
    [y('remote_write:', '  - url: http://a/', '    name: x', '  - url: http://b/', '    name: x'), 'p.yml:5: remote_write[1].name: found multiple remote write configs with job name "x" (first defined at line 2)'],
    [y('remote_write:', '  - ~'), 'p.yml:2: remote_write[0]: empty or null remote write config section'],
  ])('%# %j', (text, expected) => {
    expect(errors(text)).toEqual([expected]);
  });

  it('points at the global section when a job inherits allow-utf-8 escaping with legacy validation', () => {
    const global = y('global:', '  metric_name_validation_scheme: legacy', '  metric_name_escaping_scheme: allow-utf-8');
    expect(errors(global)).toEqual([]);
    expect(errors(`${global}${y('scrape_configs:', '  - job_name: a', '  - {job_name: b, metric_name_validation_scheme: utf8}')}`)).toEqual([
      'p.yml:3: global.metric_name_escaping_scheme: utf8 metric names requested but validation scheme is not set to UTF8 (inherited by job "a")',
    ]);
  });

  it('names both lines of a duplicated job name', () => {
    expect(errors(y('scrape_configs:', '  - job_name: a', '  - job_name: b', '  - job_name: a'))).toEqual([
      'p.yml:4: scrape_configs[2].job_name: found multiple scrape configs with job name "a" (first defined at line 2)',
    ]);
  });

  it('rejects duplicate keys at their second occurrence', () => {
    expect(errors(y('scrape_configs:', '  - job_name: a', '    job_name: b'))).toEqual([
      'p.yml:3: scrape_configs[0].job_name: mapping key "job_name" already defined at line 2',
    ]);
    expect(errors(y('global: {}', 'global: {}'))).toEqual(['p.yml:2: global: mapping key "global" already defined at line 1']);
  });

  it.each([
    [y('foo: 1'), 'p.yml:1: foo: unknown key "foo"'],
    [y('global:', '  scrape_intervall: 1m'), 'p.yml:2: global.scrape_intervall: unknown key "scrape_intervall"'],
    [y('global:', '  bogus:'), 'p.yml:2: global.bogus: unknown key "bogus"'],
    [y('scrape_configs:', '  - job_name: a', '    tls_config: {insecure: true}'), 'p.yml:3: scrape_configs[0].tls_config.insecure: unknown key "insecure"'],
    [y('scrape_configs:', '  - job_name: a', '    kubernetes_sd_configs:', '      - role: pod', '        namespace: x'), 'p.yml:5: scrape_configs[0].kubernetes_sd_configs[0].namespace: unknown key "namespace"'],
    [y('scrape_configs:', '  - job_name: a', '    scrape_classic_histograms: true'), 'p.yml:3: scrape_configs[0].scrape_classic_histograms: unknown key "scrape_classic_histograms"'],
    [y('remote_write:', '  - url: http://x/', '    queue_config:', '      max_shard: 5'), 'p.yml:4: remote_write[0].queue_config.max_shard: unknown key "max_shard"'],
    [y('scrape_configs:', '  - job_name: a', '    relabel_configs:', '      - target: x'), expect.stringMatching(/^p\.yml:4: scrape_configs\[0\]\.relabel_configs\[0\]\.target: unknown key "target"/)],
  ])('rejects unknown keys: %j', (text, expected) => {
    expect(errors(text)).toEqual([expected]);
  });

  it.each([
    [y('global: []'), 'p.yml:1: global: expected a mapping, got a list'],
    [y('scrape_configs: {job_name: a}'), 'p.yml:1: scrape_configs: expected a list, got a mapping'],
    [y('scrape_configs:', '  - job_name: a', '    honor_labels: "true"'), 'p.yml:3: scrape_configs[0].honor_labels: expected a boolean (true or false), got a string'],
    [y('scrape_configs:', '  - job_name: a', '    static_configs:', '      - targets: localhost:9090'), 'p.yml:4: scrape_configs[0].static_configs[0].targets: expected a list, got a string'],
    [y('scrape_configs:', '  - job_name: a', '    params: {module: http_2xx}'), 'p.yml:3: scrape_configs[0].params.module: expected a list, got a string'],
    [y('scrape_configs:', '  - job_name: a', '    basic_auth: {password: [a, b]}'), 'p.yml:3: scrape_configs[0].basic_auth.password: expected a string, got a list'],
    [y('scrape_configs:', '  - job_name: a', '    relabel_configs: [keep]'), 'p.yml:3: scrape_configs[0].relabel_configs[0]: expected a mapping, got a string'],
    [y('scrape_configs: [a]'), 'p.yml:1: scrape_configs[0]: expected a mapping, got a string'],
    [y('rule_files: a.yml'), 'p.yml:1: rule_files: expected a list, got a string'],
    [y('- a'), 'p.yml:1: a Prometheus configuration must be a mapping, got a list'],
  ])('rejects wrong types: %j', (text, expected) => {
    expect(errors(text)).toEqual([expected]);
  });

  it('reports broken YAML at its line', () => {
    expect(errors(y('global:', '  external_labels: {a: b', 'scrape_configs: []'))).toEqual([
      expect.stringMatching(/^p\.yml:3: invalid YAML: /),
    ]);
  });

  it('collects the errors of every section, not just the first', () => {
    const text = y(
      'global:',
      '  scrape_interval: 10x',
      'scrape_configs:',
      '  - job_name: a',
      '    scheme: ftp',
      '    bogus: 1',
      '  - job_name: b',
      '    scrape_timeout: 20s',
      '    scrape_interval: 10s',
      'remote_write:',
      '  - {}',
    );
    expect(errors(text)).toEqual([
      'p.yml:2: global.scrape_interval: unknown unit "x" in duration "10x"',
      'p.yml:5: scrape_configs[0].scheme: scheme must be "http" or "https", got "ftp"',
      'p.yml:6: scrape_configs[0].bogus: unknown key "bogus"',
      'p.yml:8: scrape_configs[1].scrape_timeout: scrape timeout (20s) greater than scrape interval (10s) for scrape config with job name "b"',
      'p.yml:11: remote_write[0].url: url for remote_write is empty',
    ]);
  });

  it('has a column, and formats an issue without a key path', () => {
    const result = parseConfig(y('scrape_configs:', '  - job_name: a', '    scheme: ftp'), { file: 'p.yml' });
    expect(result.ok ? [] : result.errors).toEqual([
      { file: 'p.yml', line: 3, column: 13, keyPath: 'scrape_configs[0].scheme', message: 'scheme must be "http" or "https", got "ftp"' },
    ]);
    expect(formatConfigIssue({ file: 'f', line: 1, column: 1, keyPath: '', message: 'm' })).toBe('f:1: m');
    const error = new ConfigError([{ file: 'f', line: 2, column: 1, keyPath: 'a', message: 'm' }]);
    expect([error.code, error.message]).toEqual(['PROMFLEET_INVALID_CONFIG', 'invalid configuration:\nf:2: a: m']);
  });
});

describe('notices for what promfleet accepts but does not act on', () => {
  it.each([
    [y('rule_files: [rules/*.yml]'), ['p.yml:1: rule_files: accepted but not acted on by promfleet']],
    [y('alerting:', '  alertmanagers: []', 'remote_read: []', 'storage: {}', 'tracing: {}', 'otlp: {}', 'runtime: {}', 'scrape_config_files: []'), 7],
    [y('global:', '  evaluation_interval: 15s', '  scrape_native_histograms: false'), ['p.yml:2: global.evaluation_interval: accepted but not acted on by promfleet']],
    [y('scrape_configs:', '  - job_name: a', '    consul_sd_configs: [{server: c:8500}]', '    scrape_native_histograms: true'), 2],
    [y('scrape_configs:', '  - job_name: a', '    oauth2: {client_id: i, client_secret: s, token_url: http://t/}'), ['p.yml:3: scrape_configs[0].oauth2: accepted but not acted on by promfleet']],
    [y('remote_write:', '  - url: http://x/', '    sigv4: {region: eu}'), ['p.yml:3: remote_write[0].sigv4: accepted but not acted on by promfleet']],
    [
      y('scrape_configs:', '  - job_name: a', '    scrape_protocols: [PrometheusProto, PrometheusText0.0.4]'),
      ['p.yml:3: scrape_configs[0].scrape_protocols: accepted but not acted on by promfleet: PrometheusProto (workers read the text formats and do not ask for protobuf)'],
    ],
    [y('remote_write:', '  - url: http://x/', '    round_robin_dns: true', '    metadata_config: {send: false}'), ['p.yml:3: remote_write[0].round_robin_dns: accepted but not acted on by promfleet']],
    [
      y('scrape_configs:', '  - job_name: a', '    kubernetes_sd_configs:', '      - {role: pod, api_server: "https://k", oauth2: {client_id: i, token_url: "http://t"}}'),
      ['p.yml:4: scrape_configs[0].kubernetes_sd_configs[0].oauth2: accepted but not acted on by promfleet'],
    ],
    [
      y('scrape_configs:', '  - job_name: a', '    kubernetes_sd_configs:', '      - role: node', '        api_server: "https://k"', '        proxy_url: "http://proxy:3128"', '        proxy_from_environment: false'),
      ['p.yml:6: scrape_configs[0].kubernetes_sd_configs[0].proxy_url: accepted but not acted on by promfleet'],
    ],
    [y('remote_write:', '  - url: http://x/', '    protobuf_message: io.prometheus.write.v2.Request', '    send_exemplars: true'), []],
    [y('a: 1', '---', 'b: 2'), ['p.yml:2: only the first YAML document is read, as Prometheus does']],
  ])('%# %j', (text, expected) => {
    const found = notices(text);
    if (typeof expected === 'number') expect(found).toHaveLength(expected);
    else expect(found).toEqual(expected);
  });

  it('gives no notices for the shipped example', () => {
    const text = readFileSync(new URL('../../../examples/prometheus.yml', import.meta.url), 'utf8');
    expect(parseConfig(text, { file: 'examples/prometheus.yml' })).toMatchObject({ ok: true, notices: [] });
  });
});

describe('the result', () => {
  it('is deep-frozen, maps included', () => {
    const config = load(y('scrape_configs:', '  - job_name: a', '    params: {a: [b]}', '    static_configs: [{targets: [x:1]}]'));
    const sc = config.scrapeConfigs[0];
    expect([Object.isFrozen(config), Object.isFrozen(config.scrapeConfigs), Object.isFrozen(sc), Object.isFrozen(sc?.httpClient)]).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(() => (sc?.params as Map<string, string[]>).set('x', [])).toThrow(TypeError);
    expect(() => (sc?.staticConfigs[0]?.labels as Map<string, string>).clear()).toThrow(TypeError);
    expect(() => (sc?.staticConfigs as ScrapeConfig['staticConfigs'][number][]).push({ targets: [], labels: new Map() })).toThrow(TypeError);
  });
});

describe('a realistic prometheus.yml', () => {
  it('loads the shipped example with its Kubernetes jobs and remote write', () => {
    const text = readFileSync(new URL('../../../examples/prometheus.yml', import.meta.url), 'utf8');
    const config = load(text, { file: 'examples/prometheus.yml' });
    expect(config.global).toMatchObject({ scrapeIntervalMs: 15_000, scrapeTimeoutMs: 10_000, externalLabels: new Map([['cluster', 'demo']]) });
    expect(config.scrapeConfigs.map((j) => [j.jobName, j.kubernetesSdConfigs.map((sd) => sd.role), j.relabelConfigs.length])).toEqual([
      ['kubernetes-pods', ['pod'], 9],
      ['kubernetes-service-endpoints', ['endpointslice'], 8],
      ['kubernetes-nodes', ['node'], 1],
      ['kubernetes-services', ['service'], 7],
      ['node', [], 0],
    ]);
    const nodes = config.scrapeConfigs[2];
    expect(nodes).toMatchObject({ scheme: 'https', scrapeIntervalMs: 15_000, source: { file: 'examples/prometheus.yml', line: 79 } });
    expect(nodes?.httpClient.authorization).toEqual({ type: 'Bearer', credentialsFile: '/etc/promfleet/secrets/kubernetes/token' });
    expect(config.scrapeConfigs[3]?.params).toEqual(new Map([['module', ['http_2xx']]]));
    expect(config.scrapeConfigs[4]?.staticConfigs).toEqual([{ targets: ['localhost:9100'], labels: new Map([['env', 'demo']]) }]);
    expect(config.remoteWrite.map((rw) => [rw.url, rw.name, rw.queueConfig.maxSamplesPerSend])).toEqual([
      ['http://127.0.0.1:9090/api/v1/write', 'local-prometheus', 2000],
    ]);
  });

  it('loads an operator-style config with endpoints, api_server, file SD and authenticated remote write', () => {
    const config = load(
      y(
        'global:',
        '  scrape_interval: 30s',
        '  evaluation_interval: 30s',
        '  external_labels: {cluster: prod-eu, replica: "0"}',
        'rule_files: [/etc/prometheus/rules/*.yml]',
        'scrape_configs:',
        '  - job_name: kubernetes-apiservers',
        '    scheme: https',
        '    kubernetes_sd_configs:',
        '      - role: endpoints',
        '        api_server: https://kubernetes.default.svc',
        '        tls_config: {ca_file: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt}',
        '        bearer_token_file: /var/run/secrets/kubernetes.io/serviceaccount/token',
        '        namespaces: {names: [default]}',
        '    tls_config: {ca_file: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt, insecure_skip_verify: false}',
        '    bearer_token_file: /var/run/secrets/kubernetes.io/serviceaccount/token',
        '    relabel_configs:',
        '      - source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_service_name, __meta_kubernetes_endpoint_port_name]',
        '        action: keep',
        '        regex: default;kubernetes;https',
        '  - job_name: kubernetes-cadvisor',
        '    scheme: https',
        '    metrics_path: /metrics/cadvisor',
        '    scrape_interval: 1m',
        '    scrape_timeout: 50s',
        '    sample_limit: 100000',
        '    kubernetes_sd_configs: [{role: node}]',
        '    relabel_configs:',
        '      - action: labelmap',
        '        regex: __meta_kubernetes_node_label_(.+)',
        '      - {action: hashmod, source_labels: [__address__], modulus: 4, target_label: __tmp_hash}',
        '    metric_relabel_configs:',
        '      - {source_labels: [container], regex: POD, action: drop}',
        '  - job_name: file-targets',
        '    file_sd_configs: [{files: [targets/*.yml]}]',
        'remote_write:',
        '  - url: https://mimir.example/api/v1/push',
        '    remote_timeout: 1m',
        '    headers: {X-Scope-OrgID: prod}',
        '    basic_auth: {username: prom, password_file: /etc/secrets/mimir}',
        '    write_relabel_configs:',
        '      - {source_labels: [__name__], regex: "up|scrape_.*", action: keep}',
        '    queue_config: {capacity: 20000, max_shards: 30, retry_on_http_429: true, sample_age_limit: 10m}',
        '    metadata_config: {send: false}',
      ),
      { file: '/etc/prometheus/prometheus.yml' },
    );
    expect(config.scrapeConfigs.map((j) => [j.jobName, j.scrapeIntervalMs, j.scrapeTimeoutMs])).toEqual([
      ['kubernetes-apiservers', 30_000, 10_000],
      ['kubernetes-cadvisor', 60_000, 50_000],
      ['file-targets', 30_000, 10_000],
    ]);
    expect(config.scrapeConfigs[1]?.relabelConfigs[1]).toMatchObject({ action: 'hashmod', modulus: 4, targetLabel: '__tmp_hash' });
    expect(config.scrapeConfigs[2]?.fileSdConfigs[0]?.files).toEqual(['/etc/prometheus/targets/*.yml']);
    expect(config.remoteWrite[0]).toMatchObject({
      remoteTimeoutMs: 60_000,
      headers: new Map([['X-Scope-OrgID', 'prod']]),
      httpClient: { basicAuth: { username: 'prom', passwordFile: '/etc/secrets/mimir' }, enableHttp2: false },
      queueConfig: { capacity: 20_000, maxShards: 30, retryOnHttp429: true, sampleAgeLimitMs: 600_000, minShards: 1 },
      metadataConfig: { send: false, sendIntervalMs: 60_000 },
    });
  });
});
