import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import {
  ConfigError,
  formatConfigIssue,
  parseConfig,
  parseSize,
  Secret,
  type ParseConfigOptions,
  type PrometheusConfig,
  type ScrapeConfig,
} from './config.js';

/** YAML from lines, so a test can name the line numbers it expects. */
const y = (...lines: string[]): string => `${lines.join('\n')}\n`;

function load(text: string, options: Partial<ParseConfigOptions> = {}): PrometheusConfig {
  const result = parseConfig(text, { file: 'p.yml', ...options });
  if (!result.ok) throw new ConfigError(result.errors);
  return result.config;
}

function job(text: string, options: Partial<ParseConfigOptions> = {}): ScrapeConfig {
  const [first] = load(text, options).scrapeConfigs;
  if (first === undefined) throw new Error('no scrape config');
  return first;
}

function errors(text: string): string[] {
  const result = parseConfig(text, { file: 'p.yml' });
  return result.ok ? [] : result.errors.map(formatConfigIssue);
}

function notices(text: string): string[] {
  return parseConfig(text, { file: 'p.yml' }).notices.map(formatConfigIssue);
}

const defaultHttpClient = {
  tlsConfig: { insecureSkipVerify: false },
  proxyFromEnvironment: false,
  proxyConnectHeader: new Map(),
  followRedirects: true,
  enableHttp2: true,
  httpHeaders: new Map(),
};

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

describe('inheritance from global (ScrapeConfig.Validate)', () => {
  const withGlobal = (global: string[], own: string[]): ScrapeConfig =>
    job(y('global:', ...global.map((l) => `  ${l}`), 'scrape_configs:', '  - job_name: a', ...own.map((l) => `    ${l}`)));

  it.each([
    ['nothing set', { global: [], own: [] }, [60_000, 10_000]],
    ['global interval and timeout', { global: ['scrape_interval: 30s', 'scrape_timeout: 5s'], own: [] }, [30_000, 5000]],
    ['a global interval below the default timeout', { global: ['scrape_interval: 5s'], own: [] }, [5000, 5000]],
    ['a job interval below the global timeout', { global: ['scrape_timeout: 20s'], own: ['scrape_interval: 15s'] }, [15_000, 15_000]],
    ['an own timeout', { global: [], own: ['scrape_interval: 15s', 'scrape_timeout: 15s'] }, [15_000, 15_000]],
    ['an explicit 0, as unset', { global: ['scrape_interval: 20s'], own: ['scrape_interval: 0', 'scrape_timeout: 0s'] }, [20_000, 10_000]],
  ])('%s', (_name, { global, own }, [interval, timeout]) => {
    expect(withGlobal(global, own)).toMatchObject({ scrapeIntervalMs: interval, scrapeTimeoutMs: timeout });
  });

  it('inherits every limit left at 0 and keeps the ones a job sets', () => {
    const limits = ['body_size_limit: 1MB', 'sample_limit: 10', 'target_limit: 11', 'label_limit: 12'];
    const more = ['label_name_length_limit: 13', 'label_value_length_limit: 14', 'keep_dropped_targets: 15'];
    expect(withGlobal([...limits, ...more], ['sample_limit: 99', 'target_limit: 0'])).toMatchObject({
      bodySizeLimitBytes: 1_048_576,
      sampleLimit: 99,
      targetLimit: 11,
      labelLimit: 12,
      labelNameLengthLimit: 13,
      labelValueLengthLimit: 14,
      keepDroppedTargets: 15,
    });
  });

  it.each([
    ['the default list', { global: [], own: [] }, ['OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText1.0.0', 'PrometheusText0.0.4']],
    ['proto first for native histograms', { global: [], own: ['scrape_native_histograms: true'] }, ['PrometheusProto', 'OpenMetricsText1.0.0']],
    [
      'the global list over native histograms',
      { global: ['scrape_protocols: [PrometheusText0.0.4]'], own: ['scrape_native_histograms: true'] },
      ['PrometheusText0.0.4'],
    ],
    ['the own list', { global: ['scrape_protocols: [PrometheusText0.0.4]'], own: ['scrape_protocols: [OpenMetricsText1.0.0]'] }, ['OpenMetricsText1.0.0']],
  ])('scrape_protocols: %s', (_name, { global, own }, expected) => {
    expect(withGlobal(global, own).scrapeProtocols.slice(0, expected.length)).toEqual(expected);
  });

  it.each([
    ['all default', { global: [], own: [] }, ['utf8', 'allow-utf-8']],
    ['global legacy', { global: ['metric_name_validation_scheme: legacy'], own: [] }, ['legacy', 'underscores']],
    ['global escaping', { global: ['metric_name_escaping_scheme: dots'], own: [] }, ['utf8', 'dots']],
    [
      'own legacy under global allow-utf-8',
      { global: ['metric_name_escaping_scheme: allow-utf-8'], own: ['metric_name_validation_scheme: legacy'] },
      ['legacy', 'underscores'],
    ],
    [
      'own utf8 under global legacy',
      { global: ['metric_name_validation_scheme: legacy'], own: ['metric_name_validation_scheme: utf8'] },
      ['utf8', 'allow-utf-8'],
    ],
    ['own escaping', { global: [], own: ['metric_name_escaping_scheme: values'] }, ['utf8', 'values']],
  ])('name validation and escaping: %s', (_name, { global, own }, [validation, escaping]) => {
    expect(withGlobal(global, own)).toMatchObject({ metricNameValidationScheme: validation, metricNameEscapingScheme: escaping });
  });

  it('validates relabel rules with the job scheme and remote write rules with the global one', () => {
    const rule = ['    relabel_configs:', '      - {target_label: a.b, replacement: x}'];
    expect(errors(y('scrape_configs:', '  - job_name: a', ...rule))).toEqual([]);
    expect(errors(y('scrape_configs:', '  - job_name: a', '    metric_name_validation_scheme: legacy', ...rule))).toEqual([
      expect.stringMatching(/^p\.yml:5: scrape_configs\[0\]\.relabel_configs\[0\]\.target_label: "a\.b" is an invalid "target_label"/),
    ]);
    const rw = ['remote_write:', '  - url: http://x/api/v1/write', '    write_relabel_configs:', '      - {target_label: a.b, replacement: x}'];
    expect(errors(y('global:', '  metric_name_validation_scheme: legacy', ...rw))).toHaveLength(1);
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
      y('scrape_configs:', '  - job_name: a', '    kubernetes_sd_configs:', '      - {role: pod, api_server: "https://k", oauth2: {client_id: i, token_url: "http://t"}}'),
      ['p.yml:4: scrape_configs[0].kubernetes_sd_configs[0].oauth2: accepted but not acted on by promfleet'],
    ],
    [y('remote_write:', '  - url: http://x/', '    protobuf_message: io.prometheus.write.v2.Request'), ['p.yml:3: remote_write[0].protobuf_message: accepted but not acted on by promfleet: promfleet sends remote-write 1.0 (prometheus.WriteRequest) to this endpoint']],
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

describe('secrets', () => {
  const password = 'hunter2-s3cret';

  it('print as <secret> and reveal on request', () => {
    const config = load(
      y('scrape_configs:', '  - job_name: a', '    basic_auth:', '      username: u', `      password: ${password}`, '    tls_config:', `      cert: c`, `      key: ${password}`),
    );
    const auth = config.scrapeConfigs[0]?.httpClient.basicAuth;
    const secret = auth?.password;
    expect(secret).toBeInstanceOf(Secret);
    expect([String(secret), `${String(secret)}`, inspect(secret), JSON.stringify({ secret })]).toEqual([
      '<secret>',
      '<secret>',
      '<secret>',
      '{"secret":"<secret>"}',
    ]);
    expect(secret?.reveal()).toBe(password);
    expect(JSON.stringify(config)).not.toContain(password);
    expect(inspect(config, { depth: null })).not.toContain(password);
    expect(config.scrapeConfigs[0]?.httpClient.tlsConfig.key?.reveal()).toBe(password);
  });

  it.each([
    ['basic_auth: {password: SECRET, password_file: f}'],
    ['bearer_token: SECRET', 'basic_auth: {username: u}'],
    ['tls_config: {key: SECRET}'],
    ['proxy_connect_header: {X: [SECRET]}'],
    ['http_headers: {Authorization: {secrets: [SECRET]}}'],
    ['basic_auth: {password: {SECRET: 1}}'],
    ['authorization: {credentials: [SECRET]}'],
    ['basic_auth: {password: "SECRET\\q"}'],
    ['basic_auth: {password: SECRET: x}'],
    ['oauth2: {client_secret: SECRET}'],
    ['basic_auth: {password:SECRET}'],
  ])('never appear in errors or notices: %s', (...lines) => {
    const text = y('scrape_configs:', '  - job_name: a', ...lines.map((l) => `    ${l.replace('SECRET', password)}`));
    const result = parseConfig(text, { file: 'p.yml' });
    expect(result.ok).toBe(false);
    const printed = [...(result.ok ? [] : result.errors), ...result.notices].map(formatConfigIssue).join('\n');
    expect(printed).not.toContain(password);
    expect(printed).not.toContain('hunter2');
  });
});

describe("go-yaml v2's reading of scalars", () => {
  it('keeps the text of numbers and booleans in string fields, and resolves YAML 1.1 in typed ones', () => {
    const config = load(
      y(
        'global:',
        '  external_labels: {replica: 01, enabled: yes, version: 1.10, hex: 0x1F, nothing: ~, quoted: "007"}',
        'scrape_configs:',
        '  - job_name: 2024',
        '    honor_labels: yes',
        '    honor_timestamps: off',
        '    sample_limit: 1_000',
        '    label_limit: 2.9',
        '    params: {n: [1, true]}',
        '    static_configs:',
        '      - targets: [10.0.0.1:9100, 8080]',
        '        labels: {port: 9100, empty: }',
      ),
    );
    expect(config.global.externalLabels).toEqual(
      new Map([['replica', '01'], ['enabled', 'yes'], ['version', '1.10'], ['hex', '0x1F'], ['nothing', ''], ['quoted', '007']]),
    );
    expect(config.scrapeConfigs[0]).toMatchObject({
      jobName: '2024',
      honorLabels: true,
      honorTimestamps: false,
      sampleLimit: 1000,
      labelLimit: 2,
      params: new Map([['n', ['1', 'true']]]),
      staticConfigs: [{ targets: ['10.0.0.1:9100', '8080'], labels: new Map([['port', '9100'], ['empty', '']]) }],
    });
  });

  it('gives relabel rules the text too', () => {
    const [rule] = job(y('scrape_configs:', '  - job_name: a', '    relabel_configs:', '      - {target_label: x, replacement: 01, regex: 1.50}'))
      .relabelConfigs;
    expect([rule?.replacement, rule?.regex.source]).toEqual(['01', '1.50']);
  });

  it('resolves anchors, aliases and << merge keys', () => {
    const config = load(
      y(
        'scrape_configs:',
        '  - &base',
        '    job_name: a',
        '    scrape_interval: 30s',
        '    static_configs: &targets',
        '      - targets: [a:1]',
        '  - <<: *base',
        '    job_name: b',
        '    static_configs: *targets',
      ),
    );
    expect(config.scrapeConfigs.map((j) => [j.jobName, j.scrapeIntervalMs, j.staticConfigs[0]?.targets])).toEqual([
      ['a', 30_000, ['a:1']],
      ['b', 30_000, ['a:1']],
    ]);
  });

  it('keeps __proto__ as an ordinary label name', () => {
    const [sc] = job(y('scrape_configs:', '  - job_name: a', '    static_configs: [{targets: [a:1], labels: {__proto__: x}}]')).staticConfigs;
    expect([...(sc?.labels ?? [])]).toEqual([['__proto__', 'x']]);
  });
});

describe('external labels', () => {
  const text = y('global:', '  external_labels:', `    a: '\${HOME}/x'`, `    b: '$$PATH'`, `    c: '$UNSET-y'`, `    d: 'cost: $5'`, `    e: 'x$'`, `    f: 'p\${}q'`);

  it('expand $VAR and ${VAR} from the environment given, as Go os.Expand does', () => {
    const labels = load(text, { env: { HOME: '/root', PATH: '/bin' } }).global.externalLabels;
    expect(Object.fromEntries(labels)).toEqual({ a: '/root/x', b: '$PATH', c: '-y', d: 'cost: ', e: 'x$', f: 'pq' });
  });

  it('stay as written without an environment', () => {
    expect(load(text).global.externalLabels.get('a')).toBe('${HOME}/x');
  });
});

describe('HTTP client configuration', () => {
  const client = (lines: string[], file = '/etc/prometheus/prometheus.yml') =>
    job(y('scrape_configs:', '  - job_name: a', ...lines.map((l) => `    ${l}`)), { file }).httpClient;

  it('moves a legacy bearer token into authorization, and defaults the type to Bearer', () => {
    expect(client(['bearer_token: t']).authorization).toEqual({ type: 'Bearer', credentials: expect.any(Secret) });
    expect(client(['bearer_token_file: token']).authorization).toEqual({ type: 'Bearer', credentialsFile: '/etc/prometheus/token' });
    expect(client(['authorization: {type: " Custom ", credentials: c}']).authorization?.type).toBe('Custom');
    expect(client(['authorization: {credentials_file: /t}']).authorization).toEqual({ type: 'Bearer', credentialsFile: '/t' });
  });

  it("joins relative file paths with the config file's directory, as SetDirectory", () => {
    const lines = [
      'basic_auth: {username: u, password_file: pw}',
      'tls_config: {ca_file: ca.crt, cert_file: ../tls/c.crt, key_file: /abs/k.key}',
      'http_headers: {X-Token: {values: [v], files: [./h.txt]}}',
    ];
    const c = client(lines);
    expect(c.basicAuth).toEqual({ username: 'u', passwordFile: '/etc/prometheus/pw' });
    expect(c.tlsConfig).toEqual({ caFile: '/etc/prometheus/ca.crt', certFile: '/etc/tls/c.crt', keyFile: '/abs/k.key', insecureSkipVerify: false });
    expect(c.httpHeaders.get('X-Token')).toEqual({ values: ['v'], secrets: [], files: ['/etc/prometheus/h.txt'] });
    expect(client(['tls_config: {ca_file: ca.crt}'], 'p.yml').tlsConfig.caFile).toBe('ca.crt');
  });

  it('keeps proxy, redirect and TLS version settings', () => {
    const c = client([
      'proxy_url: http://proxy:3128',
      'no_proxy: 10.0.0.0/8',
      'proxy_connect_header: {X-A: [s]}',
      'follow_redirects: false',
      'enable_http2: false',
      'tls_config: {min_version: TLS12, max_version: TLS13, server_name: s, insecure_skip_verify: true}',
    ]);
    expect(c).toMatchObject({
      proxyUrl: 'http://proxy:3128',
      noProxy: '10.0.0.0/8',
      followRedirects: false,
      enableHttp2: false,
      tlsConfig: { minVersion: 'TLS12', maxVersion: 'TLS13', serverName: 's', insecureSkipVerify: true },
    });
    expect(c.proxyConnectHeader.get('X-A')?.map((s) => s.reveal())).toEqual(['s']);
  });

  it.each([
    [['basic_auth: {username: u}', 'authorization: {credentials: c}'], 'scrape_configs[0].authorization: at most one of basic_auth, oauth2 & authorization must be configured'],
    [['bearer_token: t', 'bearer_token_file: f'], 'scrape_configs[0].bearer_token_file: at most one of bearer_token & bearer_token_file must be configured'],
    [['bearer_token: t', 'authorization: {credentials: c}'], 'scrape_configs[0].authorization: authorization is not compatible with bearer_token & bearer_token_file'],
    [['authorization: {type: basic}'], 'scrape_configs[0].authorization: authorization type cannot be set to "basic", use "basic_auth" instead'],
    [['basic_auth: {password: p, password_file: f}'], 'scrape_configs[0].basic_auth: at most one of basic_auth password, password_file & password_ref must be configured'],
    [['basic_auth: {username: u, password_ref: r}'], 'scrape_configs[0].basic_auth.password_ref: secret references need a secret manager, which Prometheus does not have'],
    [['oauth2: {client_id: i}'], 'scrape_configs[0].oauth2: oauth2 token_url must be configured'],
    [['tls_config: {ca: x, ca_file: f}'], 'scrape_configs[0].tls_config.ca_file: at most one of ca, ca_file & ca_ref must be configured'],
    [['tls_config: {cert_file: c}'], 'scrape_configs[0].tls_config: exactly one of key or key_file must be configured when a client certificate is configured'],
    [['tls_config: {min_version: TLS14}'], 'scrape_configs[0].tls_config.min_version: unknown TLS version: TLS14 (use one of TLS10, TLS11, TLS12, TLS13)'],
    [['tls_config: {min_version: TLS13, max_version: TLS12}'], 'scrape_configs[0].tls_config.max_version: tls_config.max_version must be greater than or equal to tls_config.min_version if both are specified'],
    [['proxy_connect_header: {X: [a]}'], 'scrape_configs[0].proxy_connect_header: if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured'],
    [['proxy_from_environment: true', 'proxy_url: http://p/'], 'scrape_configs[0].proxy_url: if proxy_from_environment is configured, proxy_url must not be configured'],
    [['no_proxy: a'], 'scrape_configs[0].no_proxy: if no_proxy is configured, proxy_url must also be configured'],
    [['http_headers: {user-agent: {values: [x]}}'], 'scrape_configs[0].http_headers.user-agent: setting header "User-Agent" is not allowed'],
  ])('rejects %j', (lines, expected) => {
    const text = y('scrape_configs:', '  - job_name: a', ...lines.map((l) => `    ${l}`));
    expect(errors(text).map((e) => e.replace(/^p\.yml:\d+: /, ''))).toEqual([expected]);
  });
});

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
        attachMetadata: { node: true, namespace: false },
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
        attachMetadata: { node: false, namespace: false },
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
    [['- {role: pod, selectors: [{role: node}]}'], '.selectors[0].role: pod role supports only pod selectors'],
    [['- {role: node, selectors: [{role: pod}]}'], '.selectors[0].role: node role supports only node selectors'],
    [['- {role: endpoints, selectors: [{role: node}]}'], '.selectors[0].role: endpoints role supports only pod, service, endpoints selectors'],
    [['- {role: pod, selectors: [{label: a}]}'], '.selectors[0].role: pod role supports only pod selectors'],
    [['- {role: pod, selectors: [{role: pod, label: "app in (a"}]}'], '.selectors[0].label: invalid label selector "app in (a": missing )'],
    [['- {role: pod, selectors: [{role: pod, label: "a/b/c=x"}]}'], '.selectors[0].label: invalid label selector "a/b/c=x": invalid label key "a/b/c": at most one "/"'],
    [['- {role: pod, selectors: [{role: pod, label: "app=x y"}]}'], '.selectors[0].label: invalid label selector "app=x y": requirements must be separated by ","'],
    [['- {role: pod, selectors: [{role: pod, field: metadata.name}]}'], `.selectors[0].field: invalid field selector "metadata.name": can't understand "metadata.name", expected key=value, key==value or key!=value`],
  ])('rejects %j', (lines, expected) => {
    expect(sdErrors(...lines)).toEqual([expected]);
  });

  it('lets the pod role select nodes when it attaches node metadata', () => {
    expect(sdErrors('- {role: pod, attach_metadata: {node: true}, selectors: [{role: node, label: "zone=a"}, {role: pod}]}')).toEqual([]);
  });

  it.each(['', 'app', '!app', 'app=x', 'app==x', 'app!=x', 'app=', 'app in (a, b)', 'app notin ()', 'n>3', 'app.kubernetes.io/name=x,tier'])(
    'accepts the label selector %j',
    (label) => {
      expect(sdErrors(`- {role: pod, selectors: [{role: pod, label: ${JSON.stringify(label)}}]}`)).toEqual([]);
    },
  );
});

describe('parseSize', () => {
  it.each([
    ['0', 0],
    ['1B', 1],
    ['1KB', 1024],
    ['1KiB', 1024],
    ['100MB', 104_857_600],
    ['1.5GB', 1_610_612_736],
    ['1GB512MB', 1_610_612_736],
    ['+2TiB', 2 * 2 ** 40],
  ])('%s is %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each([
    ['', 'invalid size ""'],
    ['100', 'invalid size "100": a unit is required'],
    ['1kB', 'invalid size "1kB": unknown unit "kB"'],
    ['MB', 'invalid size "MB": a number is required before each unit'],
    ['1KiB1MB', 'invalid size "1KiB1MB": KiB-style and KB-style units cannot be mixed'],
    ['-1MB', 'invalid size "-1MB": a size cannot be negative'],
    ['8EiB', 'invalid size "8EiB": out of range'],
  ])('rejects %j', (input, message) => {
    const result = parseSize(input);
    expect(typeof result === 'number' ? result : result.error).toContain(message);
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
    expect(nodes).toMatchObject({ scheme: 'https', scrapeIntervalMs: 15_000, source: { file: 'examples/prometheus.yml', line: 78 } });
    expect(nodes?.httpClient.authorization).toEqual({ type: 'Bearer', credentialsFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' });
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
