/**
 * Settings conversion: configurations parsed from real YAML go to the wire (binary, through the generated codec)
 * and back, every field that travels comes back as the loader made it, decoded relabel rules relabel exactly as
 * the originals, and every breach of fleet.proto's contract is a SettingsDecodeError naming the field.
 */
import { describe, expect, it } from '@jest/globals';
import {
  ConfigError,
  Re2Regex,
  Secret,
  buildTarget,
  parseConfig,
  parseRelabelRules,
  relabel,
  relabelActions,
  targetId,
  type PrometheusConfig,
  type RelabelRule as ModelRelabelRule,
  type ScrapeConfig,
} from '@promfleet/model';
import {
  NameEscapingScheme,
  NameValidationScheme,
  RelabelAction,
  RelabelRule,
  RemoteWriteEndpoint,
  ScrapeJob,
  ScrapeProtocol,
  Target,
  TlsVersion,
} from './gen/promfleet/fleet/v1/fleet.js';
import { targetIdToBytes } from './ids.js';
import {
  SettingsDecodeError,
  SettingsEncodeError,
  relabelRuleFromProto,
  relabelRuleToProto,
  remoteWriteFromProto,
  remoteWriteToProto,
  scrapeJobFromProto,
  scrapeJobToProto,
  targetFromProto,
  targetToProto,
} from './settings.js';

const y = (...lines: string[]): string => `${lines.join('\n')}\n`;

function load(text: string): PrometheusConfig {
  const result = parseConfig(text, { file: '/etc/prometheus/prometheus.yml' });
  if (!result.ok) throw new ConfigError(result.errors);
  return result.config;
}

function onlyJob(text: string): ScrapeConfig {
  const [job] = load(text).scrapeConfigs;
  if (job === undefined) throw new Error('the test configuration has no scrape job');
  return job;
}

/** Through the wire: encoded and decoded with the generated codec, as the stream carries it. */
const wire = {
  job: (msg: ScrapeJob): ScrapeJob => ScrapeJob.decode(ScrapeJob.encode(msg).finish()),
  endpoint: (msg: RemoteWriteEndpoint): RemoteWriteEndpoint =>
    RemoteWriteEndpoint.decode(RemoteWriteEndpoint.encode(msg).finish()),
  target: (msg: Target): Target => Target.decode(Target.encode(msg).finish()),
  rule: (msg: RelabelRule): RelabelRule => RelabelRule.decode(RelabelRule.encode(msg).finish()),
};

/**
 * A comparable copy: secrets revealed (jest cannot see a Secret's private value, so two different secrets would
 * compare equal) and regexes as their source text.
 */
function plain(value: unknown): unknown {
  if (value instanceof Secret) return { secret: value.reveal() };
  if (value instanceof Re2Regex) return { regex: value.source };
  if (value instanceof Map) return new Map([...(value as Map<unknown, unknown>)].map(([k, v]) => [k, plain(v)]));
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, value[k]])) as Pick<T, K>;
}

/** An enum value a newer peer might send: a plain number, which the generated enum types do not admit as a literal. */
const unknown = (value: number): number => value;

/** The SettingsDecodeError `fn` throws; fails the test when it throws nothing or something else. */
function decodeError(fn: () => unknown): SettingsDecodeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SettingsDecodeError) return err;
    throw err;
  }
  throw new Error('expected a SettingsDecodeError, but decoding succeeded');
}

const emptyTls = {
  ca: '',
  caFile: '',
  cert: '',
  certFile: '',
  key: '',
  keyFile: '',
  serverName: '',
  insecureSkipVerify: false,
  minVersion: TlsVersion.UNSPECIFIED,
  maxVersion: TlsVersion.UNSPECIFIED,
};

const emptyRule: RelabelRule = {
  action: RelabelAction.UNSPECIFIED,
  sourceLabels: [],
  separator: ';',
  regex: '(.*)',
  modulus: 0,
  targetLabel: '',
  replacement: '$1',
};

const jobFieldsThatTravel = [
  'jobName',
  'scrapeIntervalMs',
  'scrapeTimeoutMs',
  'metricsPath',
  'scheme',
  'params',
  'honorLabels',
  'honorTimestamps',
  'trackTimestampsStaleness',
  'sampleLimit',
  'labelLimit',
  'labelNameLengthLimit',
  'labelValueLengthLimit',
  'bodySizeLimitBytes',
  'scrapeProtocols',
  'fallbackScrapeProtocol',
  'enableCompression',
  'metricNameValidationScheme',
  'metricNameEscapingScheme',
  'metricRelabelConfigs',
  'httpClient',
] as const satisfies readonly (keyof ScrapeConfig)[];

const allActionsRules = [
  "  - {source_labels: [a, b], separator: '-', regex: '(x+)-(y*)', target_label: 'out_${1}', replacement: '$2'}",
  '  - {source_labels: [keepme], regex: yes|true, action: keep}',
  "  - {source_labels: [dropme], regex: '.+', action: Drop}",
  '  - {source_labels: [a], target_label: a_copy, action: keepequal}',
  '  - {source_labels: [b], target_label: c, action: dropequal}',
  '  - {source_labels: [a, b], modulus: 8, target_label: shard, action: hashmod}',
  "  - {regex: 'meta_(.+)', replacement: 'm_$1', action: labelmap}",
  "  - {regex: 'tmp_.*', action: labeldrop}",
  "  - {regex: '__name__|[abc]|m_.*|out_.*|shard|upper|lower|keepme|a_copy', action: labelkeep}",
  '  - {source_labels: [a], target_label: lower, action: lowercase}',
  '  - {source_labels: [b], target_label: upper, action: uppercase}',
  '  - {source_labels: [a], regex: null, target_label: empty_regex}',
  '  - {source_labels: [a, null], regex: (.*), separator: "", replacement: "", target_label: explicit}',
];

const fullConfig = y(
  'global:',
  '  scrape_interval: 15s',
  '  external_labels: {region: eu-west-1, cluster: prod, __replica__: a}',
  'scrape_configs:',
  '  - job_name: web',
  '    scrape_interval: 30s',
  '    scrape_timeout: 12s',
  '    metrics_path: /probe',
  '    scheme: https',
  '    params: {module: [http_2xx, tcp], target: [example.com], empty: []}',
  '    honor_labels: true',
  '    honor_timestamps: false',
  '    track_timestamps_staleness: true',
  '    sample_limit: 5000',
  '    target_limit: 100',
  '    label_limit: 40',
  '    label_name_length_limit: 128',
  '    label_value_length_limit: 2048',
  '    body_size_limit: 10MB',
  '    keep_dropped_targets: 7',
  '    scrape_protocols: [PrometheusText0.0.4, OpenMetricsText1.0.0, PrometheusProto]',
  '    fallback_scrape_protocol: PrometheusText1.0.0',
  '    enable_compression: false',
  '    basic_auth: {username: prom, password: hunter2}',
  '    tls_config:',
  '      ca_file: certs/ca.pem',
  '      cert: CERT-PEM',
  '      key: KEY-PEM',
  '      server_name: web.internal',
  '      insecure_skip_verify: true',
  '      min_version: TLS12',
  '      max_version: TLS13',
  '    proxy_url: http://proxy.internal:3128',
  '    no_proxy: 10.0.0.0/8,.cluster.local',
  '    follow_redirects: false',
  '    enable_http2: false',
  '    http_headers:',
  '      X-Scope-OrgID: {values: [tenant-a, tenant-b], secrets: [header-s3cret], files: [org.txt]}',
  '    relabel_configs:',
  '      - {source_labels: [__meta_x], target_label: x}',
  '    static_configs: [{targets: ["web-0:9090"]}]',
  '    kubernetes_sd_configs: [{role: pod}]',
  '    metric_relabel_configs:',
  ...allActionsRules.map((line) => `    ${line}`),
  'remote_write:',
  '  - url: https://user:pa55@mimir.internal/api/v1/push',
  '    name: mimir',
  '    remote_timeout: 45s',
  '    headers: {X-Scope-OrgID: tenant-a}',
  '    write_relabel_configs:',
  "      - {source_labels: [__name__], regex: 'go_.*', action: drop}",
  '    send_exemplars: true',
  '    queue_config:',
  '      capacity: 2500',
  '      max_shards: 20',
  '      min_shards: 2',
  '      max_samples_per_send: 500',
  '      batch_send_deadline: 2s',
  '      min_backoff: 50ms',
  '      max_backoff: 10s',
  '      retry_on_http_429: true',
  '      sample_age_limit: 5m',
  '    authorization: {type: Token, credentials: rw-t0ken}',
  '    tls_config: {ca: CA-PEM}',
  '  - url: http://receiver.internal/write',
  '  - url: http://receiver.internal/write',
  '    write_relabel_configs: [{regex: tmp, action: labeldrop}]',
);

describe('scrapeJobToProto / scrapeJobFromProto', () => {
  const config = load(fullConfig);
  const [job] = config.scrapeConfigs;
  if (job === undefined) throw new Error('no job');

  it('round-trips every field that travels, through the binary codec', () => {
    const decoded = scrapeJobFromProto(wire.job(scrapeJobToProto(job)));
    expect(plain(pick(decoded, jobFieldsThatTravel))).toStrictEqual(plain(pick(job, jobFieldsThatTravel)));
  });

  it('gives back empty what the worker does not need', () => {
    const decoded = scrapeJobFromProto(wire.job(scrapeJobToProto(job)));
    // The original has them, so the emptiness below is the decoder's doing.
    expect([job.relabelConfigs.length, job.staticConfigs.length, job.kubernetesSdConfigs.length]).toEqual([1, 1, 1]);
    expect([job.targetLimit, job.keepDroppedTargets]).toEqual([100, 7]);
    expect(decoded).toMatchObject({
      relabelConfigs: [],
      staticConfigs: [],
      fileSdConfigs: [],
      kubernetesSdConfigs: [],
      targetLimit: 0,
      keepDroppedTargets: 0,
      scrapeNativeHistograms: false,
      source: { file: '', line: 0 },
    });
  });

  it('carries the loader’s values: inheritance, defaults, joined paths, repeated params', () => {
    const msg = scrapeJobToProto(job);
    expect(msg).toMatchObject({
      scrapeIntervalMs: 30_000,
      scrapeTimeoutMs: 12_000,
      bodySizeLimitBytes: 10 * 1024 * 1024,
      scrapeProtocols: [
        ScrapeProtocol.PROMETHEUS_TEXT_0_0_4,
        ScrapeProtocol.OPENMETRICS_TEXT_1_0_0,
        ScrapeProtocol.PROMETHEUS_PROTO,
      ],
      fallbackScrapeProtocol: ScrapeProtocol.PROMETHEUS_TEXT_1_0_0,
      metricNameValidationScheme: NameValidationScheme.UTF8,
      metricNameEscapingScheme: NameEscapingScheme.ALLOW_UTF8,
    });
    expect(msg.params).toEqual(
      new Map([
        ['module', { values: ['http_2xx', 'tcp'] }],
        ['target', { values: ['example.com'] }],
        ['empty', { values: [] }],
      ]),
    );
    expect(msg.httpClient?.tls?.caFile).toBe('/etc/prometheus/certs/ca.pem');
    expect(msg.httpClient?.headers.get('X-Scope-OrgID')?.files).toEqual(['/etc/prometheus/org.txt']);
  });

  it('round-trips a job that sets nothing, with the defaults it inherits', () => {
    const minimal = onlyJob(y('global: {scrape_interval: 5s, sample_limit: 9}', 'scrape_configs: [{job_name: m}]'));
    const decoded = scrapeJobFromProto(wire.job(scrapeJobToProto(minimal)));
    expect(plain(pick(decoded, jobFieldsThatTravel))).toStrictEqual(plain(pick(minimal, jobFieldsThatTravel)));
    expect(decoded).toMatchObject({ scrapeIntervalMs: 5000, scrapeTimeoutMs: 5000, sampleLimit: 9, scheme: 'http' });
    expect(decoded.fallbackScrapeProtocol).toBeUndefined();
    expect(decoded.httpClient.authorization).toBeUndefined();
  });

  it('sends inline secrets in clear and decodes them back into Secret', () => {
    const msg = wire.job(scrapeJobToProto(job));
    expect(msg.httpClient?.basicAuth?.password).toBe('hunter2');
    expect(msg.httpClient?.tls?.key).toBe('KEY-PEM');
    expect(msg.httpClient?.headers.get('X-Scope-OrgID')?.secrets).toEqual(['header-s3cret']);
    const client = scrapeJobFromProto(msg).httpClient;
    expect(client.basicAuth?.password).toBeInstanceOf(Secret);
    expect(client.basicAuth?.password?.reveal()).toBe('hunter2');
    expect(client.tlsConfig.key?.reveal()).toBe('KEY-PEM');
    expect(client.httpHeaders.get('X-Scope-OrgID')?.secrets.map((s) => s.reveal())).toEqual(['header-s3cret']);
    expect(JSON.stringify(plain({ ...client, basicAuth: undefined }))).not.toContain('hunter2');
  });

  it.each([
    ['bearer_token', 'bearer_token: t0ken'],
    ['bearer_token_file', 'bearer_token_file: token.txt'],
    ['authorization with a type', 'authorization: {type: Custom, credentials: c}'],
    ['authorization from a file', 'authorization: {credentials_file: /var/run/token}'],
    ['basic_auth from files', 'basic_auth: {username_file: user.txt, password_file: /pw}'],
    ['basic_auth with a username only', 'basic_auth: {username: u}'],
    ['proxy from the environment', 'proxy_from_environment: true'],
    ['TLS client certificate files', 'tls_config: {cert_file: c.pem, key_file: k.pem}'],
  ])('round-trips the HTTP client with %s', (_name, line) => {
    const original = onlyJob(y('scrape_configs:', '  - job_name: a', `    ${line}`));
    const decoded = scrapeJobFromProto(wire.job(scrapeJobToProto(original)));
    expect(plain(decoded.httpClient)).toStrictEqual(plain(original.httpClient));
  });

  it('sends a legacy bearer token as authorization type Bearer', () => {
    const msg = scrapeJobToProto(onlyJob(y('scrape_configs:', '  - job_name: a', '    bearer_token_file: t')));
    expect(msg.httpClient?.authorization).toEqual({ type: 'Bearer', credentials: '', credentialsFile: '/etc/prometheus/t' });
  });

  it.each([
    ['PrometheusProto', ScrapeProtocol.PROMETHEUS_PROTO],
    ['PrometheusText0.0.4', ScrapeProtocol.PROMETHEUS_TEXT_0_0_4],
    ['PrometheusText1.0.0', ScrapeProtocol.PROMETHEUS_TEXT_1_0_0],
    ['OpenMetricsText0.0.1', ScrapeProtocol.OPENMETRICS_TEXT_0_0_1],
    ['OpenMetricsText1.0.0', ScrapeProtocol.OPENMETRICS_TEXT_1_0_0],
  ])('sends scrape protocol %s as %i, in the list and as the fallback, and decodes it back', (protocol, value) => {
    const original = onlyJob(
      y('scrape_configs:', '  - job_name: a', `    scrape_protocols: [${protocol}]`, `    fallback_scrape_protocol: ${protocol}`),
    );
    const msg = wire.job(scrapeJobToProto(original));
    expect([msg.scrapeProtocols, msg.fallbackScrapeProtocol]).toEqual([[value], value]);
    const decoded = scrapeJobFromProto(msg);
    expect([decoded.scrapeProtocols, decoded.fallbackScrapeProtocol]).toEqual([[protocol], protocol]);
  });

  it.each([
    ['utf8', 'allow-utf-8', NameValidationScheme.UTF8, NameEscapingScheme.ALLOW_UTF8],
    ['utf8', 'underscores', NameValidationScheme.UTF8, NameEscapingScheme.UNDERSCORES],
    ['legacy', 'dots', NameValidationScheme.LEGACY, NameEscapingScheme.DOTS],
    ['legacy', 'values', NameValidationScheme.LEGACY, NameEscapingScheme.VALUES],
  ])('sends validation scheme %s with escaping scheme %s as %i/%i, and decodes them back', (validation, escaping, v, e) => {
    const original = onlyJob(
      y(
        'scrape_configs:',
        '  - job_name: a',
        `    metric_name_validation_scheme: ${validation}`,
        `    metric_name_escaping_scheme: ${escaping}`,
      ),
    );
    const msg = wire.job(scrapeJobToProto(original));
    expect([msg.metricNameValidationScheme, msg.metricNameEscapingScheme]).toEqual([v, e]);
    const decoded = scrapeJobFromProto(msg);
    expect([decoded.metricNameValidationScheme, decoded.metricNameEscapingScheme]).toEqual([validation, escaping]);
  });

  it.each([
    ['TLS10', TlsVersion.TLS10],
    ['TLS11', TlsVersion.TLS11],
    ['TLS12', TlsVersion.TLS12],
    ['TLS13', TlsVersion.TLS13],
  ])('sends TLS version %s as %i, as min and max, and decodes it back', (version, value) => {
    const original = onlyJob(
      y('scrape_configs:', '  - job_name: a', `    tls_config: {min_version: ${version}, max_version: ${version}}`),
    );
    const msg = wire.job(scrapeJobToProto(original));
    expect([msg.httpClient?.tls?.minVersion, msg.httpClient?.tls?.maxVersion]).toEqual([value, value]);
    const tls = scrapeJobFromProto(msg).httpClient.tlsConfig;
    expect([tls.minVersion, tls.maxVersion]).toEqual([version, version]);
  });

  // The proto direction: every value the generated enums define decodes, and encodes back to itself.
  const enumValues = (e: Record<string, string | number>): number[] =>
    Object.values(e).filter((v): v is number => typeof v === 'number' && v > 0);

  it.each(enumValues(ScrapeProtocol))('decodes ScrapeProtocol %i and encodes it back', (value) => {
    const msg = { ...scrapeJobToProto(job), scrapeProtocols: [value], fallbackScrapeProtocol: value };
    const again = scrapeJobToProto(scrapeJobFromProto(msg));
    expect([again.scrapeProtocols, again.fallbackScrapeProtocol]).toEqual([[value], value]);
  });

  it.each(enumValues(NameValidationScheme).flatMap((v) => enumValues(NameEscapingScheme).map((e) => [v, e])))(
    'decodes NameValidationScheme %i with NameEscapingScheme %i and encodes them back',
    (validation, escaping) => {
      const msg = { ...scrapeJobToProto(job), metricNameValidationScheme: validation, metricNameEscapingScheme: escaping };
      const again = scrapeJobToProto(scrapeJobFromProto(msg));
      expect([again.metricNameValidationScheme, again.metricNameEscapingScheme]).toEqual([validation, escaping]);
    },
  );

  it.each(enumValues(TlsVersion))('decodes TlsVersion %i and encodes it back', (value) => {
    const msg = scrapeJobToProto(job);
    const tls = msg.httpClient?.tls;
    if (msg.httpClient === undefined || tls === undefined) throw new Error('the job has TLS settings');
    const changed = { ...msg, httpClient: { ...msg.httpClient, tls: { ...tls, minVersion: value, maxVersion: value } } };
    const again = scrapeJobToProto(scrapeJobFromProto(changed)).httpClient?.tls;
    expect([again?.minVersion, again?.maxVersion]).toEqual([value, value]);
  });

  it('refuses a value the wire cannot carry, naming the field', () => {
    const long = onlyJob(y('scrape_configs:', '  - job_name: slow', '    scrape_interval: 50d', '    scrape_timeout: 10s'));
    expect(() => scrapeJobToProto(long)).toThrow(SettingsEncodeError);
    expect(() => scrapeJobToProto(long)).toThrow(/^jobs\[slow\]\.scrape_interval_ms: 4320000000 does not fit/);
    const big = onlyJob(y('scrape_configs:', '  - job_name: big', '    sample_limit: 5000000000'));
    expect(() => scrapeJobToProto(big)).toThrow(expect.objectContaining({ field: 'jobs[big].sample_limit' }));
  });
});

describe('relabelRuleToProto / relabelRuleFromProto', () => {
  const job = onlyJob(y('scrape_configs:', '  - job_name: web', '    metric_relabel_configs:', ...allActionsRules.map((l) => `    ${l}`)));
  const original = job.metricRelabelConfigs;
  const decoded = original.map((rule) => relabelRuleFromProto(wire.rule(relabelRuleToProto(rule))));

  it('covers every relabel action, each sent as the enum value of the same name', () => {
    expect(new Set(original.map((rule) => rule.action))).toEqual(new Set(relabelActions));
    const names = original.map((rule) => RelabelAction[relabelRuleToProto(rule).action]);
    expect(names).toEqual(original.map((rule) => rule.action.toUpperCase()));
  });

  it.each(original.map((rule, i) => [i, rule.action, rule] as const))(
    'round-trips rule %i (%s) field for field',
    (i, _action, rule) => {
      expect(plain(decoded[i])).toStrictEqual(plain(rule));
    },
  );

  const labelSets = [
    { __name__: 'http_requests_total', a: 'xx', b: 'y', keepme: 'yes', a_copy: 'xx', meta_pod: 'p-1', tmp_x: '1', c: 'o' },
    { __name__: 'up', a: 'Straße', b: 'ǅemal', keepme: 'true', a_copy: 'Straße', c: 'İ' },
    { __name__: 'up', a: 'x', b: '', keepme: 'no' },
    { __name__: 'up', a: 'x', keepme: 'yes', dropme: 'anything' },
    { __name__: 'up', a: 'x', b: 'x', keepme: 'true', a_copy: 'x', c: 'y' },
    { keepme: 'yes' },
  ].map((obj) => new Map(Object.entries(obj)));

  it.each(original.map((rule, i) => [i, rule.action, rule] as const))(
    'decoded rule %i (%s) relabels like the original',
    (i, _action, rule) => {
      const copy = decoded[i];
      if (copy === undefined) throw new Error('missing decoded rule');
      for (const labels of labelSets) expect(relabel(labels, [copy])).toEqual(relabel(labels, [rule]));
    },
  );

  it('relabels whole label sets like the original rule list, keeping some and dropping others', () => {
    const results = labelSets.map((labels) => relabel(labels, decoded));
    expect(results).toEqual(labelSets.map((labels) => relabel(labels, original)));
    // Kept: the first two and the fifth; dropped by keep, drop, and dropequal (empty b equals empty c) in turn.
    expect(results.map((r) => r.keep)).toEqual([true, true, false, false, true, false]);
  });

  it('sends the regex as written, unanchored, and rebuilds the shared default regex for (.*)', () => {
    expect(original.map((rule) => relabelRuleToProto(rule).regex).slice(0, 3)).toEqual(['(x+)-(y*)', 'yes|true', '.+']);
    const parsedDefault = parseRelabelRules([{ target_label: 'x' }]);
    if (!parsedDefault.ok) throw new Error('the default rule parses');
    const defaultRegex = parsedDefault.rules[0]?.regex;
    // keepequal (rule 3) has the default; rule 12 wrote (.*) explicitly: both come back as the one default instance.
    expect([decoded[3]?.regex, decoded[12]?.regex]).toEqual([defaultRegex, defaultRegex]);
    expect(decoded[3]?.regex).toBe(defaultRegex);
    expect(decoded[12]?.regex).toBe(defaultRegex);
  });

  it('encodes a rule as pinned bytes', () => {
    const parsed = parseRelabelRules([{ source_labels: ['a'], regex: 'x', action: 'keep' }]);
    if (!parsed.ok) throw new Error('the rule parses');
    const [rule] = parsed.rules;
    if (rule === undefined) throw new Error('one rule');
    // action=2 (KEEP), source_labels "a", separator ";", regex "x", replacement "$1"; modulus and target_label 0/"".
    const expected = [0x08, 0x02, 0x12, 0x01, 0x61, 0x1a, 0x01, 0x3b, 0x22, 0x01, 0x78, 0x3a, 0x02, 0x24, 0x31];
    expect([...RelabelRule.encode(relabelRuleToProto(rule)).finish()]).toEqual(expected);
  });

  it('validates under the name validation scheme it is given', () => {
    const msg: RelabelRule = { ...relabelRuleToProto(requireRule(original, 0)), targetLabel: 'dotted.name' };
    expect(relabelRuleFromProto(msg).targetLabel).toBe('dotted.name');
    const err = decodeError(() => relabelRuleFromProto(msg, { field: 'r', nameValidation: 'legacy' }));
    expect([err.field, err.problem]).toEqual(['r.target_label', 'invalid-relabel-rule']);
  });
});

function requireRule(rules: readonly ModelRelabelRule[], index: number): ModelRelabelRule {
  const rule = rules[index];
  if (rule === undefined) throw new Error(`no rule ${index}`);
  return rule;
}

describe('remoteWriteToProto / remoteWriteFromProto', () => {
  const config = load(fullConfig);
  const [mimir, first, second] = config.remoteWrite;
  if (mimir === undefined || first === undefined || second === undefined) throw new Error('three endpoints');
  const externalLabels = config.global.externalLabels;
  const travel = [
    'url',
    'name',
    'remoteTimeoutMs',
    'headers',
    'writeRelabelConfigs',
    'sendExemplars',
    'protobufMessage',
    'queueConfig',
    'metadataConfig',
    'httpClient',
  ] as const;

  it('round-trips every field that travels, and the external labels, through the binary codec', () => {
    const msg = wire.endpoint(remoteWriteToProto({ config: mimir, index: 0, externalLabels }));
    const decoded = remoteWriteFromProto(msg);
    expect(plain(pick(decoded.config, travel))).toStrictEqual(plain(pick(mimir, travel)));
    expect(decoded.externalLabels).toEqual(externalLabels);
    expect(decoded.config.queueConfig).toEqual({
      capacity: 2500,
      maxShards: 20,
      minShards: 2,
      maxSamplesPerSend: 500,
      batchSendDeadlineMs: 2000,
      minBackoffMs: 50,
      maxBackoffMs: 10_000,
      retryOnHttp429: true,
      sampleAgeLimitMs: 300_000,
    });
    expect(decoded.config.httpClient.authorization?.credentials?.reveal()).toBe('rw-t0ken');
  });

  it('gives back what the worker does instead of what is not carried', () => {
    const { config: decoded } = remoteWriteFromProto(remoteWriteToProto({ config: mimir, index: 0, externalLabels }));
    expect(decoded).toMatchObject({ sendNativeHistograms: false, roundRobinDns: false, source: { file: '', line: 0 } });
  });

  it('carries Remote-Write 2.0 and metadata_config, and reads a message without metadata as sending none', () => {
    const v2 = { ...mimir, protobufMessage: 'io.prometheus.write.v2.Request' as const, metadataConfig: { send: true, sendIntervalMs: 30_000, maxSamplesPerSend: 100 } };
    const decoded = remoteWriteFromProto(wire.endpoint(remoteWriteToProto({ config: v2, index: 0, externalLabels }))).config;
    expect([decoded.protobufMessage, decoded.metadataConfig]).toEqual(['io.prometheus.write.v2.Request', { send: true, sendIntervalMs: 30_000, maxSamplesPerSend: 100 }]);
    const withoutMetadata = remoteWriteToProto({ config: mimir, index: 0, externalLabels });
    delete withoutMetadata.metadata;
    expect(remoteWriteFromProto(withoutMetadata).config.metadataConfig).toEqual({ send: false, sendIntervalMs: 0, maxSamplesPerSend: 0 });
    const unknown = { ...remoteWriteToProto({ config: mimir, index: 0, externalLabels }), protocol: 7 };
    expect(decodeError(() => remoteWriteFromProto(unknown)).field).toBe('remote_write[mimir].protocol');
  });

  it('sends the external labels sorted by name', () => {
    const msg = remoteWriteToProto({ config: mimir, index: 0, externalLabels });
    expect(msg.externalLabels.map((l) => l.name)).toEqual(['__replica__', 'cluster', 'region']);
  });

  it('names unnamed entries stably by URL and index, without revealing the URL', () => {
    const names = [
      remoteWriteToProto({ config: first, index: 1, externalLabels }).name,
      remoteWriteToProto({ config: second, index: 2, externalLabels }).name,
      remoteWriteToProto({ config: first, index: 1, externalLabels: new Map() }).name,
      remoteWriteToProto({ config: { ...first, url: 'http://other.internal/write' }, index: 1, externalLabels }).name,
    ];
    expect(names[0]).toMatch(/^[0-9a-f]{6}-1$/);
    expect(names[1]).toMatch(/^[0-9a-f]{6}-2$/);
    expect(names[0]?.slice(0, 6)).toBe(names[1]?.slice(0, 6));
    expect(names[2]).toBe(names[0]);
    expect(names[3]).not.toBe(names[0]);
    expect(remoteWriteToProto({ config: mimir, index: 0, externalLabels }).name).toBe('mimir');
    const decoded = remoteWriteFromProto(wire.endpoint(remoteWriteToProto({ config: second, index: 2, externalLabels })));
    expect(decoded.config.name).toBe(names[1]);
    expect(plain(pick(decoded.config, travel.filter((k) => k !== 'name')))).toStrictEqual(
      plain(pick(second, travel.filter((k) => k !== 'name'))),
    );
  });

  it('refuses a queue setting the wire cannot carry', () => {
    const config = load(y('remote_write:', '  - {url: "http://r/w", name: r, queue_config: {capacity: -1}}')).remoteWrite[0];
    if (config === undefined) throw new Error('one endpoint');
    expect(() => remoteWriteToProto({ config, index: 0, externalLabels })).toThrow(
      expect.objectContaining({ code: 'PROMFLEET_PROTOCOL_UNENCODABLE_SETTINGS', field: 'remote_write[r].queue.capacity' }),
    );
  });
});

describe('targetToProto / targetFromProto', () => {
  const labels = new Map([
    ['job', 'web'],
    ['instance', 'web-0:9090'],
    ['__address__', 'web-0:9090'],
    ['__scheme__', 'https'],
    ['__param_module', 'http_2xx'],
    ['__scrape_interval__', '30s'],
    ['zone', 'ä'],
    ['Zone', 'b'],
  ]);
  const target = { id: targetId('web', labels), job: 'web', labels, intervalMs: 30_000, timeoutMs: 10_000 };

  it('round-trips through the binary codec with labels sorted by name', () => {
    const msg = wire.target(targetToProto({ target, firstSlotUnixMs: 1_767_225_630_000 }));
    expect(msg.labels.map((l) => l.name)).toEqual([
      'Zone',
      '__address__',
      '__param_module',
      '__scheme__',
      '__scrape_interval__',
      'instance',
      'job',
      'zone',
    ]);
    expect(targetFromProto(msg)).toEqual({ target, firstSlotUnixMs: 1_767_225_630_000 });
  });

  it('accepts labels in any order', () => {
    const msg = targetToProto({ target, firstSlotUnixMs: 0 });
    expect(targetFromProto({ ...msg, labels: [...msg.labels].reverse() }).target).toEqual(target);
  });

  it('carries the interval and timeout as numbers', () => {
    const msg = wire.target(targetToProto({ target, firstSlotUnixMs: 0 }));
    expect({ interval: msg.scrapeIntervalMs, timeout: msg.scrapeTimeoutMs }).toEqual({ interval: 30_000, timeout: 10_000 });
  });

  it('refuses to send a target without a positive interval or timeout', () => {
    expect(() => targetToProto({ target: { ...target, intervalMs: 0 }, firstSlotUnixMs: 0 })).toThrow(
      expect.objectContaining({ name: 'SettingsEncodeError', field: `targets[${target.id}].scrape_interval_ms` }),
    );
    expect(() => targetToProto({ target: { ...target, timeoutMs: 1.5 }, firstSlotUnixMs: 0 })).toThrow(
      expect.objectContaining({ name: 'SettingsEncodeError', field: `targets[${target.id}].scrape_timeout_ms` }),
    );
  });

  it('keeps the labels a worker that predates the numbers reads them from, and a newer worker reads an older master the same way', () => {
    const built = buildTarget(
      { jobName: 'web', scrapeIntervalMs: 60_000, scrapeTimeoutMs: 10_000, metricsPath: '/metrics', scheme: 'http', params: new Map(), relabelConfigs: [], metricNameValidationScheme: 'utf8' },
      new Map([['__address__', 'web-0:9090'], ['__scrape_interval__', '1m30s'], ['__scrape_timeout__', '15s']]),
      new Map(),
    );
    if (built.kind !== 'kept') throw new Error('target');
    const msg = wire.target(targetToProto({ target: built.target, firstSlotUnixMs: 0 }));
    const fromNumbers = targetFromProto(msg).target;
    // What a master before the fields sends: the same labels, the numbers unset.
    const fromLabels = targetFromProto(wire.target({ ...msg, scrapeIntervalMs: 0, scrapeTimeoutMs: 0 })).target;
    expect(fromNumbers).toEqual(built.target);
    expect(fromLabels).toEqual(built.target);
    expect(fromLabels).toMatchObject({ intervalMs: 90_000, timeoutMs: 15_000 });
  });

  it('refuses to send __meta_* labels', () => {
    const withMeta = { ...target, labels: new Map([...labels, ['__meta_kubernetes_pod_name', 'p']]) };
    expect(() => targetToProto({ target: withMeta, firstSlotUnixMs: 0 })).toThrow(
      expect.objectContaining({ name: 'SettingsEncodeError', field: `targets[${target.id}].labels` }),
    );
  });
});

describe('the generated codec', () => {
  const config = load(fullConfig);
  const [job] = config.scrapeConfigs;
  const [endpoint] = config.remoteWrite;
  if (job === undefined || endpoint === undefined) throw new Error('the full config has a job and an endpoint');
  const labels = new Map([['__address__', 'web-0:9090'], ['job', 'web']]);

  it('decodes each encoded message to an equal one', () => {
    const jobMsg = scrapeJobToProto(job);
    const endpointMsg = remoteWriteToProto({ config: endpoint, index: 0, externalLabels: config.global.externalLabels });
    const targetMsg = targetToProto({ target: { id: targetId('web', labels), job: 'web', labels, intervalMs: 15_000, timeoutMs: 5_000 }, firstSlotUnixMs: 42 });
    expect(wire.job(jobMsg)).toEqual(jobMsg);
    expect(wire.endpoint(endpointMsg)).toEqual(endpointMsg);
    expect(wire.target(targetMsg)).toEqual(targetMsg);
  });
});

describe('decode errors name the field', () => {
  const config = load(fullConfig);
  const [job] = config.scrapeConfigs;
  const [endpoint] = config.remoteWrite;
  if (job === undefined || endpoint === undefined) throw new Error('the full config has a job and an endpoint');
  const jobMsg = scrapeJobToProto(job);
  const client = jobMsg.httpClient;
  if (client === undefined) throw new Error('the job has an HTTP client');
  const rule = (i: number, patch: Partial<RelabelRule>): ScrapeJob => ({
    ...jobMsg,
    metricRelabelConfigs: jobMsg.metricRelabelConfigs.map((r, j) => (j === i ? { ...r, ...patch } : r)),
  });
  const endpointMsg = remoteWriteToProto({ config: endpoint, index: 0, externalLabels: config.global.externalLabels });
  const targetMsg = targetToProto({
    target: { id: '0123456789abcdef', job: 'web', labels: new Map([['__address__', 'a:1']]), intervalMs: 60_000, timeoutMs: 10_000 },
    firstSlotUnixMs: 0,
  });

  it.each<[string, () => unknown, string, string]>([
    ['unspecified action', () => scrapeJobFromProto(rule(2, { action: RelabelAction.UNSPECIFIED })), 'jobs[web].metric_relabel_configs[2].action', 'unspecified-enum'],
    ['unknown action', () => scrapeJobFromProto(rule(2, { action: unknown(42) })), 'jobs[web].metric_relabel_configs[2].action', 'unknown-enum'],
    ['unrecognized action', () => scrapeJobFromProto(rule(0, { action: RelabelAction.UNRECOGNIZED })), 'jobs[web].metric_relabel_configs[0].action', 'unknown-enum'],
    ['invalid regex', () => scrapeJobFromProto(rule(2, { regex: '(' })), 'jobs[web].metric_relabel_configs[2].regex', 'invalid-relabel-rule'],
    ['hashmod without modulus', () => scrapeJobFromProto(rule(5, { modulus: 0 })), 'jobs[web].metric_relabel_configs[5].modulus', 'invalid-relabel-rule'],
    ['keepequal with a regex', () => scrapeJobFromProto(rule(3, { regex: 'a' })), 'jobs[web].metric_relabel_configs[3].regex', 'invalid-relabel-rule'],
    ['labeldrop with source labels', () => scrapeJobFromProto(rule(7, { sourceLabels: ['x'] })), 'jobs[web].metric_relabel_configs[7].source_labels', 'invalid-relabel-rule'],
    ['replace without target', () => scrapeJobFromProto(rule(0, { targetLabel: '' })), 'jobs[web].metric_relabel_configs[0].target_label', 'invalid-relabel-rule'],
    ['invalid source label', () => scrapeJobFromProto(rule(0, { sourceLabels: ['a', '\uD800'] })), 'jobs[web].metric_relabel_configs[0].source_labels[1]', 'invalid-relabel-rule'],
    ['unspecified validation scheme', () => scrapeJobFromProto({ ...jobMsg, metricNameValidationScheme: 0 }), 'jobs[web].metric_name_validation_scheme', 'unspecified-enum'],
    ['unknown escaping scheme', () => scrapeJobFromProto({ ...jobMsg, metricNameEscapingScheme: unknown(9) }), 'jobs[web].metric_name_escaping_scheme', 'unknown-enum'],
    ['no scrape protocols', () => scrapeJobFromProto({ ...jobMsg, scrapeProtocols: [] }), 'jobs[web].scrape_protocols', 'missing'],
    ['unspecified scrape protocol', () => scrapeJobFromProto({ ...jobMsg, scrapeProtocols: [1, 0] }), 'jobs[web].scrape_protocols[1]', 'unspecified-enum'],
    ['unknown fallback protocol', () => scrapeJobFromProto({ ...jobMsg, fallbackScrapeProtocol: unknown(6) }), 'jobs[web].fallback_scrape_protocol', 'unknown-enum'],
    ['no job name', () => scrapeJobFromProto({ ...jobMsg, name: '' }), 'jobs[].name', 'missing'],
    ['scheme ftp', () => scrapeJobFromProto({ ...jobMsg, scheme: 'ftp' }), 'jobs[web].scheme', 'invalid-value'],
    ['zero interval', () => scrapeJobFromProto({ ...jobMsg, scrapeIntervalMs: 0 }), 'jobs[web].scrape_interval_ms', 'invalid-value'],
    ['zero timeout', () => scrapeJobFromProto({ ...jobMsg, scrapeTimeoutMs: 0 }), 'jobs[web].scrape_timeout_ms', 'invalid-value'],
    ['timeout above interval', () => scrapeJobFromProto({ ...jobMsg, scrapeTimeoutMs: 30_001 }), 'jobs[web].scrape_timeout_ms', 'invalid-value'],
    ['no HTTP client', () => scrapeJobFromProto({ ...jobMsg, httpClient: undefined }), 'jobs[web].http_client', 'missing'],
    ['unknown TLS version', () => scrapeJobFromProto({ ...jobMsg, httpClient: { ...client, tls: { ...(client.tls ?? emptyTls), minVersion: unknown(9) } } }), 'jobs[web].http_client.tls.min_version', 'unknown-enum'],
    ['authorization without type', () => scrapeJobFromProto({ ...jobMsg, httpClient: { ...client, authorization: { type: '', credentials: 'c', credentialsFile: '' } } }), 'jobs[web].http_client.authorization.type', 'missing'],
    ['password and password file', () => scrapeJobFromProto({ ...jobMsg, httpClient: { ...client, basicAuth: { username: 'u', usernameFile: '', password: 'hunter2', passwordFile: '/pw' } } }), 'jobs[web].http_client.basic_auth.password_file', 'invalid-value'],
    ['key and key file', () => scrapeJobFromProto({ ...jobMsg, httpClient: { ...client, tls: { ...emptyTls, key: 'KEY-PEM', keyFile: '/k' } } }), 'jobs[web].http_client.tls.key_file', 'invalid-value'],
    ['no endpoint name', () => remoteWriteFromProto({ ...endpointMsg, name: '' }), 'remote_write[].name', 'missing'],
    ['no url', () => remoteWriteFromProto({ ...endpointMsg, url: '' }), 'remote_write[mimir].url', 'missing'],
    ['ftp url', () => remoteWriteFromProto({ ...endpointMsg, url: 'ftp://user:hunter2@host/x' }), 'remote_write[mimir].url', 'invalid-value'],
    ['no queue', () => remoteWriteFromProto({ ...endpointMsg, queue: undefined }), 'remote_write[mimir].queue', 'missing'],
    ['no endpoint HTTP client', () => remoteWriteFromProto({ ...endpointMsg, httpClient: undefined }), 'remote_write[mimir].http_client', 'missing'],
    ['duplicate external label', () => remoteWriteFromProto({ ...endpointMsg, externalLabels: [{ name: 'a', value: '1' }, { name: 'a', value: '2' }] }), 'remote_write[mimir].external_labels', 'duplicate-label'],
    ['bad write relabel rule', () => remoteWriteFromProto({ ...endpointMsg, writeRelabelConfigs: [{ ...emptyRule, action: RelabelAction.DROP, regex: 'a{2,1}' }] }), 'remote_write[mimir].write_relabel_configs[0].regex', 'invalid-relabel-rule'],
    ['short target id', () => targetFromProto({ ...targetMsg, id: new Uint8Array(3) }), 'targets[?].id', 'invalid-value'],
    ['no target job', () => targetFromProto({ ...targetMsg, job: '' }), 'targets[0123456789abcdef].job', 'missing'],
    ['duplicate target label', () => targetFromProto({ ...targetMsg, labels: [...targetMsg.labels, { name: '__address__', value: 'b:2' }] }), 'targets[0123456789abcdef].labels', 'duplicate-label'],
    ['meta label', () => targetFromProto({ ...targetMsg, labels: [...targetMsg.labels, { name: '__meta_x', value: 'y' }] }), 'targets[0123456789abcdef].labels', 'invalid-value'],
    ['no address', () => targetFromProto({ ...targetMsg, labels: [{ name: 'job', value: 'web' }] }), 'targets[0123456789abcdef].labels[__address__]', 'missing'],
    ['negative first slot', () => targetFromProto({ ...targetMsg, firstSlotUnixMs: -1 }), 'targets[0123456789abcdef].first_slot_unix_ms', 'invalid-value'],
    ['interval without timeout', () => targetFromProto({ ...targetMsg, scrapeTimeoutMs: 0 }), 'targets[0123456789abcdef].scrape_timeout_ms', 'invalid-value'],
    ['timeout without interval', () => targetFromProto({ ...targetMsg, scrapeIntervalMs: 0 }), 'targets[0123456789abcdef].scrape_interval_ms', 'invalid-value'],
    ['timeout above interval', () => targetFromProto({ ...targetMsg, scrapeTimeoutMs: 60_001 }), 'targets[0123456789abcdef].scrape_timeout_ms', 'invalid-value'],
    ['no interval from an older master', () => targetFromProto({ ...targetMsg, scrapeIntervalMs: 0, scrapeTimeoutMs: 0 }), 'targets[0123456789abcdef].labels[__scrape_interval__]', 'missing'],
    [
      'an invalid interval label from an older master',
      () => targetFromProto({ ...targetMsg, scrapeIntervalMs: 0, scrapeTimeoutMs: 0, labels: [...targetMsg.labels, { name: '__scrape_interval__', value: '1x' }, { name: '__scrape_timeout__', value: '1s' }] }),
      'targets[0123456789abcdef].labels[__scrape_interval__]',
      'invalid-value',
    ],
    [
      'a zero timeout label from an older master',
      () => targetFromProto({ ...targetMsg, scrapeIntervalMs: 0, scrapeTimeoutMs: 0, labels: [...targetMsg.labels, { name: '__scrape_interval__', value: '1m' }, { name: '__scrape_timeout__', value: '0s' }] }),
      'targets[0123456789abcdef].labels[__scrape_timeout__]',
      'invalid-value',
    ],
  ])('%s', (_name, fn, field, problem) => {
    const err = decodeError(fn);
    expect({ code: err.code, field: err.field, problem: err.problem }).toEqual({
      code: 'PROMFLEET_PROTOCOL_INVALID_SETTINGS',
      field,
      problem,
    });
    expect(err.message.startsWith(`${field}: `)).toBe(true);
    expect(err.message).not.toContain('hunter2');
  });

  it('still decodes the unmodified messages the table mutates', () => {
    expect(scrapeJobFromProto(jobMsg).jobName).toBe('web');
    expect(remoteWriteFromProto(endpointMsg).config.name).toBe('mimir');
    expect(targetFromProto(targetMsg).target.id).toBe('0123456789abcdef');
    expect(targetIdToBytes('0123456789abcdef')).toEqual(targetMsg.id);
  });
});
