/**
 * Loading a Prometheus configuration file as Prometheus 3 does (`config/config.go` `Load`, the `UnmarshalYAML` and
 * `Validate` methods it reaches, prometheus/common `config/http_config.go`, `discovery/kubernetes/kubernetes.go`,
 * `discovery/file/file.go`), so an existing `prometheus.yml` loads unchanged, and every problem is reported as
 * `file:line: key.path: message`.
 *
 * The pipeline: YAML text → a plain value tree that remembers where each value came from (go-yaml v2 scalar
 * rules) → zod schemas per section (unknown keys rejected, defaults applied, secrets wrapped) → Prometheus'
 * cross-field and global-inheritance checks → one deep-frozen {@link PrometheusConfig}. Nothing here does I/O.
 */
import { posix } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { z } from 'zod';
import { DurationError, formatDuration, parseDuration } from './duration.js';
import { isValidLabelName, type Labels, type NameValidationScheme } from './labels.js';
import { relabelConfigSchema, type RelabelRule } from './relabel.js';

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

/** One problem (or notice) in a configuration file, located at the YAML key or value it is about. */
export interface ConfigIssue {
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
  /** Where in the document, such as `scrape_configs[2].relabel_configs[0].regex`; "" for the document itself. */
  readonly keyPath: string;
  readonly message: string;
}

/** The outcome of {@link parseConfig}: a config or every error found; notices either way. */
export type ConfigResult =
  | { readonly ok: true; readonly config: PrometheusConfig; readonly notices: readonly ConfigIssue[] }
  | { readonly ok: false; readonly errors: readonly ConfigIssue[]; readonly notices: readonly ConfigIssue[] };

/** Options for {@link parseConfig}. */
export interface ParseConfigOptions {
  /** The path the text was read from: named in every issue, and the base of relative `*_file` paths. */
  readonly file: string;
  /**
   * The environment used to expand `$VAR` and `${VAR}` in `external_labels` values, as Prometheus does at load
   * time (usually `process.env`). Without it the values are kept as written.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * A `<secret>` value (password, token, private key). It prints as `<secret>` everywhere — `String()`, template
 * literals, `JSON.stringify`, `util.inspect` — so it cannot leak into logs; {@link Secret.reveal} gives the value
 * to the one place that must send it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
    Object.freeze(this);
  }

  /** The secret value itself; call it only where the value is sent, never to log or compare for display. */
  reveal(): string {
    return this.#value;
  }

  /** Always `<secret>`. */
  toString(): string {
    return SECRET_TOKEN;
  }

  /** Always `<secret>`, as prometheus/common marshals a `Secret`. */
  toJSON(): string {
    return SECRET_TOKEN;
  }

  /** Always `<secret>` for `console.log` and `util.inspect`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return SECRET_TOKEN;
  }
}

const SECRET_TOKEN = '<secret>';

/** The whole configuration promfleet acts on. */
export interface PrometheusConfig {
  readonly global: GlobalConfig;
  readonly scrapeConfigs: readonly ScrapeConfig[];
  readonly remoteWrite: readonly RemoteWriteConfig[];
}

/** A scrape protocol to negotiate, as `scrape_protocols` names it (case-sensitive). */
export type ScrapeProtocol =
  | 'PrometheusProto'
  | 'PrometheusText0.0.4'
  | 'PrometheusText1.0.0'
  | 'OpenMetricsText0.0.1'
  | 'OpenMetricsText1.0.0';

/** How metric and label names outside the legacy character set are requested (`metric_name_escaping_scheme`). */
export type EscapingScheme = 'allow-utf-8' | 'underscores' | 'dots' | 'values';

/** The `global` section with Prometheus' defaults applied. */
export interface GlobalConfig {
  readonly scrapeIntervalMs: number;
  readonly scrapeTimeoutMs: number;
  readonly evaluationIntervalMs: number;
  readonly ruleQueryOffsetMs: number;
  /** Added by the worker on remote write to series that lack the label, as Prometheus does. */
  readonly externalLabels: Labels;
  readonly bodySizeLimitBytes: number;
  readonly sampleLimit: number;
  readonly targetLimit: number;
  readonly labelLimit: number;
  readonly labelNameLengthLimit: number;
  readonly labelValueLengthLimit: number;
  readonly keepDroppedTargets: number;
  readonly metricNameValidationScheme: NameValidationScheme;
  /** The configured scheme, or the one implied by the validation scheme when unset. */
  readonly metricNameEscapingScheme: EscapingScheme;
  /** Unset unless configured: each job then picks its own default list. */
  readonly scrapeProtocols?: readonly ScrapeProtocol[];
  readonly scrapeNativeHistograms: boolean;
  readonly convertClassicHistogramsToNhcb: boolean;
  readonly alwaysScrapeClassicHistograms: boolean;
  readonly extraScrapeMetrics: boolean;
  readonly queryLogFile?: string;
  readonly scrapeFailureLogFile?: string;
}

/** One `scrape_configs` entry after defaulting and inheritance from `global`. */
export interface ScrapeConfig {
  readonly jobName: string;
  readonly scrapeIntervalMs: number;
  readonly scrapeTimeoutMs: number;
  readonly metricsPath: string;
  readonly scheme: 'http' | 'https';
  readonly params: ReadonlyMap<string, readonly string[]>;
  readonly honorLabels: boolean;
  readonly honorTimestamps: boolean;
  readonly trackTimestampsStaleness: boolean;
  /** Limits are 0 for "no limit", as in Prometheus. */
  readonly sampleLimit: number;
  readonly targetLimit: number;
  readonly labelLimit: number;
  readonly labelNameLengthLimit: number;
  readonly labelValueLengthLimit: number;
  readonly bodySizeLimitBytes: number;
  readonly keepDroppedTargets: number;
  /** In order of preference, for the `Accept` header. */
  readonly scrapeProtocols: readonly ScrapeProtocol[];
  readonly fallbackScrapeProtocol?: ScrapeProtocol;
  readonly enableCompression: boolean;
  readonly scrapeNativeHistograms: boolean;
  readonly metricNameValidationScheme: NameValidationScheme;
  readonly metricNameEscapingScheme: EscapingScheme;
  readonly relabelConfigs: readonly RelabelRule[];
  readonly metricRelabelConfigs: readonly RelabelRule[];
  readonly staticConfigs: readonly StaticConfig[];
  readonly fileSdConfigs: readonly FileSDConfig[];
  readonly kubernetesSdConfigs: readonly KubernetesSDConfig[];
  readonly httpClient: HttpClientConfig;
  /** Where the job is defined, for messages. */
  readonly source: { readonly file: string; readonly line: number };
}

/** A `static_configs` entry: its targets (each becomes `__address__`) and the labels they share. */
export interface StaticConfig {
  readonly targets: readonly string[];
  readonly labels: Labels;
}

/** A `file_sd_configs` entry; relative patterns are already joined with the config file's directory. */
export interface FileSDConfig {
  readonly files: readonly string[];
  readonly refreshIntervalMs: number;
}

/** The Kubernetes object kinds `kubernetes_sd_configs` discovers. */
export type KubernetesRole = 'pod' | 'service' | 'endpoints' | 'endpointslice' | 'node' | 'ingress';

/** A `selectors` entry, passed to the API server as its label and field selectors. */
export interface KubernetesSelector {
  readonly role: KubernetesRole;
  readonly label?: string;
  readonly field?: string;
}

/** A `kubernetes_sd_configs` entry. Neither `apiServer` nor `kubeconfigFile` means in-cluster config. */
export interface KubernetesSDConfig {
  readonly role: KubernetesRole;
  readonly apiServer?: string;
  readonly kubeconfigFile?: string;
  /** No names and no own namespace means all namespaces. */
  readonly namespaces: { readonly ownNamespace: boolean; readonly names: readonly string[] };
  readonly selectors: readonly KubernetesSelector[];
  readonly attachMetadata: { readonly node: boolean; readonly namespace: boolean };
  /** Used only with `apiServer`, as in Prometheus. */
  readonly httpClient: HttpClientConfig;
}

/** A TLS protocol version as `tls_config` names it. */
export type TlsVersion = 'TLS10' | 'TLS11' | 'TLS12' | 'TLS13';

/** `tls_config`. For CA, certificate and key at most one of the inline value and the file is set. */
export interface TlsConfig {
  readonly ca?: string;
  readonly caFile?: string;
  readonly cert?: string;
  readonly certFile?: string;
  readonly key?: Secret;
  readonly keyFile?: string;
  readonly serverName?: string;
  readonly insecureSkipVerify: boolean;
  readonly minVersion?: TlsVersion;
  readonly maxVersion?: TlsVersion;
}

/** `basic_auth`. */
export interface BasicAuth {
  readonly username: string;
  readonly usernameFile?: string;
  readonly password?: Secret;
  readonly passwordFile?: string;
}

/** `authorization`: the request carries `Authorization: <type> <credentials>`. */
export interface Authorization {
  readonly type: string;
  readonly credentials?: Secret;
  readonly credentialsFile?: string;
}

/** One `http_headers` entry: the header is sent with every value, in the order values, secrets, files. */
export interface HttpHeader {
  readonly values: readonly string[];
  readonly secrets: readonly Secret[];
  /** Files whose trimmed content is a value, joined with the config file's directory. */
  readonly files: readonly string[];
}

/**
 * prometheus/common's HTTP client configuration. A legacy `bearer_token`/`bearer_token_file` arrives as
 * `authorization` with type `Bearer`, as `HTTPClientConfig.Validate` normalises it.
 */
export interface HttpClientConfig {
  readonly basicAuth?: BasicAuth;
  readonly authorization?: Authorization;
  readonly tlsConfig: TlsConfig;
  /** May carry user info: treat it as sensitive. */
  readonly proxyUrl?: string;
  readonly noProxy?: string;
  readonly proxyFromEnvironment: boolean;
  readonly proxyConnectHeader: ReadonlyMap<string, readonly Secret[]>;
  readonly followRedirects: boolean;
  readonly enableHttp2: boolean;
  readonly httpHeaders: ReadonlyMap<string, HttpHeader>;
}

/** The remote-write protobuf messages Prometheus 3 can send. */
export type RemoteWriteMessage = 'prometheus.WriteRequest' | 'io.prometheus.write.v2.Request';

/** `queue_config` with Prometheus' `DefaultQueueConfig` applied. */
export interface QueueConfig {
  readonly capacity: number;
  readonly maxShards: number;
  readonly minShards: number;
  readonly maxSamplesPerSend: number;
  readonly batchSendDeadlineMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly retryOnHttp429: boolean;
  /** 0 means samples of any age are sent. */
  readonly sampleAgeLimitMs: number;
}

/** `metadata_config` with Prometheus' `DefaultMetadataConfig` applied. */
export interface MetadataConfig {
  readonly send: boolean;
  readonly sendIntervalMs: number;
  readonly maxSamplesPerSend: number;
}

/** One `remote_write` entry with Prometheus' `DefaultRemoteWriteConfig` applied. */
export interface RemoteWriteConfig {
  /** An http or https URL; it may carry user info, so treat it as sensitive. */
  readonly url: string;
  /** "" when unset: Prometheus then names the queue by a config hash; label it by URL instead. */
  readonly name: string;
  readonly remoteTimeoutMs: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly writeRelabelConfigs: readonly RelabelRule[];
  readonly sendExemplars: boolean;
  readonly sendNativeHistograms: boolean;
  readonly roundRobinDns: boolean;
  /** What the configuration asks for; promfleet sends `prometheus.WriteRequest` (a notice says so otherwise). */
  readonly protobufMessage: RemoteWriteMessage;
  readonly queueConfig: QueueConfig;
  readonly metadataConfig: MetadataConfig;
  /** `enable_http2` defaults to false here, unlike everywhere else (`DefaultRemoteWriteHTTPClientConfig`). */
  readonly httpClient: HttpClientConfig;
  readonly source: { readonly file: string; readonly line: number };
}

/** Thrown by callers that need a valid configuration; holds every error {@link parseConfig} found. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'PROMFLEET_INVALID_CONFIG';

  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`invalid configuration:\n${issues.map(formatConfigIssue).join('\n')}`);
  }
}

/** `file:line: key.path: message`, the form `promfleet check config` prints. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.keyPath === '' ? '' : `${issue.keyPath}: `;
  return `${issue.file}:${issue.line}: ${where}${issue.message}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Defaults (config.go, http_config.go, kubernetes.go, file.go)
// ---------------------------------------------------------------------------------------------------------------

const scrapeProtocols: readonly ScrapeProtocol[] = [
  'PrometheusProto',
  'PrometheusText0.0.4',
  'PrometheusText1.0.0',
  'OpenMetricsText0.0.1',
  'OpenMetricsText1.0.0',
];
/** `DefaultScrapeProtocols`. */
const defaultScrapeProtocols: readonly ScrapeProtocol[] = [
  'OpenMetricsText1.0.0',
  'OpenMetricsText0.0.1',
  'PrometheusText1.0.0',
  'PrometheusText0.0.4',
];
/** `DefaultProtoFirstScrapeProtocols`: the default when the job scrapes native histograms. */
const defaultProtoFirstScrapeProtocols: readonly ScrapeProtocol[] = ['PrometheusProto', ...defaultScrapeProtocols];
const escapingSchemes: readonly EscapingScheme[] = ['allow-utf-8', 'underscores', 'dots', 'values'];
const kubernetesRoles: readonly KubernetesRole[] = ['pod', 'service', 'endpoints', 'endpointslice', 'node', 'ingress'];
const tlsVersions: readonly TlsVersion[] = ['TLS10', 'TLS11', 'TLS12', 'TLS13'];
const remoteWriteMessages: readonly RemoteWriteMessage[] = [
  'prometheus.WriteRequest',
  'io.prometheus.write.v2.Request',
];

const defaultGlobal = {
  scrapeIntervalMs: 60_000,
  scrapeTimeoutMs: 10_000,
  evaluationIntervalMs: 60_000,
};
const defaultQueue: QueueConfig = {
  capacity: 10_000,
  maxShards: 50,
  minShards: 1,
  maxSamplesPerSend: 2000,
  batchSendDeadlineMs: 5000,
  minBackoffMs: 30,
  maxBackoffMs: 5000,
  retryOnHttp429: false,
  sampleAgeLimitMs: 0,
};
/** `DefaultMetadataConfig`: the code says 2000 samples per send although the documentation says 500. */
const defaultMetadata: MetadataConfig = { send: true, sendIntervalMs: 60_000, maxSamplesPerSend: 2000 };
const defaultFileSdRefreshMs = 5 * 60_000;

/** The `*_sd_configs` keys Prometheus 3 registers besides file and kubernetes: accepted, not acted on. */
const otherSdKeys = [
  'aws_sd_configs',
  'azure_sd_configs',
  'consul_sd_configs',
  'digitalocean_sd_configs',
  'dns_sd_configs',
  'docker_sd_configs',
  'dockerswarm_sd_configs',
  'ec2_sd_configs',
  'eureka_sd_configs',
  'gce_sd_configs',
  'hetzner_sd_configs',
  'http_sd_configs',
  'ionos_sd_configs',
  'kuma_sd_configs',
  'lightsail_sd_configs',
  'linode_sd_configs',
  'marathon_sd_configs',
  'nerve_sd_configs',
  'nomad_sd_configs',
  'openstack_sd_configs',
  'ovhcloud_sd_configs',
  'puppetdb_sd_configs',
  'scaleway_sd_configs',
  'serverset_sd_configs',
  'stackit_sd_configs',
  'triton_sd_configs',
  'uyuni_sd_configs',
  'vultr_sd_configs',
] as const;

/** Top-level keys Prometheus 3 knows but promfleet does not act on, with the YAML kind each must have. */
const passiveTopLevel: Readonly<Record<string, 'mapping' | 'list'>> = {
  runtime: 'mapping',
  alerting: 'mapping',
  rule_files: 'list',
  scrape_config_files: 'list',
  storage: 'mapping',
  tracing: 'mapping',
  remote_read: 'list',
  otlp: 'mapping',
};

const NOT_ACTED_ON = 'accepted but not acted on by promfleet';
const NO_SECRET_MANAGER = 'secret references need a secret manager, which Prometheus does not have';

// ---------------------------------------------------------------------------------------------------------------
// parseConfig
// ---------------------------------------------------------------------------------------------------------------

/**
 * Parses and validates a Prometheus configuration file. Never throws for bad input; collects every error it can
 * find, not just the first: errors in one job do not hide errors in the next. The result is deep-frozen.
 */
export function parseConfig(text: string, options: ParseConfigOptions): ConfigResult {
  const loaded = loadYaml(text);
  const report = new Reporter(options.file, loaded);
  for (const e of loaded.errors) report.errorAt(e.offset, e.path, e.message);
  if (loaded.multipleDocuments !== undefined) {
    report.noticeAt(loaded.multipleDocuments, [], 'only the first YAML document is read, as Prometheus does');
  }
  if (loaded.fatal) return finish(report, undefined);

  const root = loaded.root;
  if (root === null || root === undefined) return finish(report, emptyConfig());
  if (!isMapping(root)) {
    report.error([], `a Prometheus configuration must be a mapping, got ${kindOf(root)}`);
    return finish(report, undefined);
  }

  const dir = posix.dirname(options.file);
  const schemas = makeSchemas({ dir, env: options.env });
  for (const key of Object.keys(root)) {
    if (key === 'global' || key === 'scrape_configs' || key === 'remote_write') continue;
    const kind = passiveTopLevel[key];
    if (kind === undefined) {
      report.error([key], `unknown key "${key}"`, 'key');
    } else if (root[key] !== null && (kind === 'list' ? !Array.isArray(root[key]) : !isMapping(root[key]))) {
      report.error([key], `expected ${kind === 'list' ? 'a list' : 'a mapping'}, got ${kindOf(root[key])}`);
    } else {
      report.notice([key], NOT_ACTED_ON);
    }
  }

  const parsedGlobal = parseSection(report, { schema: schemas.global, value: root['global'] ?? {}, path: ['global'] });
  const global = parsedGlobal ?? defaultGlobalConfig();
  noticeUnused(report, root['global'], { path: ['global'], keys: passiveGlobalKeys });

  const scrapeConfigs = parseScrapeConfigs(report, { root, schemas, global, globalValid: parsedGlobal !== undefined });
  const remoteWrite = parseRemoteWrite(report, { root, schemas, global });
  return finish(report, { global, scrapeConfigs, remoteWrite });
}

function finish(report: Reporter, config: PrometheusConfig | undefined): ConfigResult {
  const notices = report.sortedNotices();
  if (config === undefined || report.hasErrors()) {
    return deepFreeze({ ok: false, errors: report.sortedErrors(), notices });
  }
  return deepFreeze({ ok: true, config, notices });
}

function emptyConfig(): PrometheusConfig {
  return { global: defaultGlobalConfig(), scrapeConfigs: [], remoteWrite: [] };
}

function defaultGlobalConfig(): GlobalConfig {
  return {
    ...defaultGlobal,
    ruleQueryOffsetMs: 0,
    externalLabels: new Map(),
    bodySizeLimitBytes: 0,
    sampleLimit: 0,
    targetLimit: 0,
    labelLimit: 0,
    labelNameLengthLimit: 0,
    labelValueLengthLimit: 0,
    keepDroppedTargets: 0,
    metricNameValidationScheme: 'utf8',
    metricNameEscapingScheme: 'allow-utf-8',
    scrapeNativeHistograms: false,
    convertClassicHistogramsToNhcb: false,
    alwaysScrapeClassicHistograms: false,
    extraScrapeMetrics: false,
  };
}

interface SectionInput<T> {
  readonly schema: z.ZodType<T>;
  readonly value: unknown;
  readonly path: Path;
}

/** Runs one section's schema and reports its issues under `path`; undefined when the section is invalid. */
function parseSection<T>(report: Reporter, { schema, value, path }: SectionInput<T>): T | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) report.zodIssue(path, issue);
  return undefined;
}

interface JobsInput {
  readonly root: Record<string, unknown>;
  readonly schemas: Schemas;
  readonly global: GlobalConfig;
  readonly globalValid: boolean;
}

/** `Config.UnmarshalYAML`'s loop: every job validated against the global config, job names unique. */
function parseScrapeConfigs(report: Reporter, { root, schemas, global, globalValid }: JobsInput): ScrapeConfig[] {
  const list = root['scrape_configs'];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    report.error(['scrape_configs'], `expected a list, got ${kindOf(list)}`);
    return [];
  }
  const out: ScrapeConfig[] = [];
  const firstLine = new Map<string, number>();
  list.forEach((entry: unknown, i) => {
    const path: Path = ['scrape_configs', i];
    if (entry === null) {
      report.error(path, 'empty or null scrape config section');
      return;
    }
    const scheme = jobNameValidation(entry, global);
    const draft = parseSection(report, { schema: schemas.scrape(scheme), value: entry, path });
    noticeUnused(report, entry, { path, keys: passiveScrapeKeys });
    const sdConfigs = isMapping(entry) ? entry['kubernetes_sd_configs'] : undefined;
    if (Array.isArray(sdConfigs)) {
      sdConfigs.forEach((sd: unknown, j) => {
        noticeUnused(report, sd, { path: [...path, 'kubernetes_sd_configs', j], keys: { oauth2: 'present' } });
      });
    }
    if (draft === undefined) return;
    const line = report.lineOf(path);
    const seen = firstLine.get(draft.jobName);
    if (seen !== undefined) {
      report.error(
        [...path, 'job_name'],
        `found multiple scrape configs with job name ${JSON.stringify(draft.jobName)} (first defined at line ${seen})`,
      );
      return;
    }
    firstLine.set(draft.jobName, line);
    const job = finishScrapeConfig({ draft, global, globalValid, report, path });
    if (job !== undefined) out.push({ ...job, source: { file: report.file, line } });
  });
  return out;
}

/** The scheme a job's relabel rules are validated with: its own if set and valid, else the global one. */
function jobNameValidation(entry: unknown, global: GlobalConfig): NameValidationScheme {
  const own = isMapping(entry) ? entry['metric_name_validation_scheme'] : undefined;
  return own === 'legacy' || own === 'utf8' ? own : global.metricNameValidationScheme;
}

interface RemoteWriteInput {
  readonly root: Record<string, unknown>;
  readonly schemas: Schemas;
  readonly global: GlobalConfig;
}

/** `Config.UnmarshalYAML`'s remote write loop: non-null entries, unique non-empty names. */
function parseRemoteWrite(report: Reporter, { root, schemas, global }: RemoteWriteInput): RemoteWriteConfig[] {
  const list = root['remote_write'];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) {
    report.error(['remote_write'], `expected a list, got ${kindOf(list)}`);
    return [];
  }
  const out: RemoteWriteConfig[] = [];
  const names = new Map<string, number>();
  list.forEach((entry: unknown, i) => {
    const path: Path = ['remote_write', i];
    if (entry === null) {
      report.error(path, 'empty or null remote write config section');
      return;
    }
    const parsed = parseSection(report, {
      schema: schemas.remoteWrite(global.metricNameValidationScheme),
      value: entry,
      path,
    });
    noticeUnused(report, entry, { path, keys: passiveRemoteWriteKeys });
    if (parsed === undefined) return;
    if (parsed.protobufMessage !== 'prometheus.WriteRequest') {
      report.notice(
        [...path, 'protobuf_message'],
        `${NOT_ACTED_ON}: promfleet sends remote-write 1.0 (prometheus.WriteRequest) to this endpoint`,
      );
    }
    const line = report.lineOf(path);
    // Empty names are skipped, as Prometheus fills them with a hash of the config.
    const seen = parsed.name === '' ? undefined : names.get(parsed.name);
    if (seen !== undefined) {
      report.error(
        [...path, 'name'],
        `found multiple remote write configs with job name ${JSON.stringify(parsed.name)} ` +
          `(first defined at line ${seen})`,
      );
      return;
    }
    if (parsed.name !== '') names.set(parsed.name, line);
    out.push({ ...parsed, source: { file: report.file, line } });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Notices for keys Prometheus knows and promfleet ignores
// ---------------------------------------------------------------------------------------------------------------

/** When a passive key deserves a notice: whenever present, or only when set to true (a feature switch). */
type PassiveRule = 'present' | 'true';

const passiveGlobalKeys: Readonly<Record<string, PassiveRule>> = {
  evaluation_interval: 'present',
  rule_query_offset: 'present',
  query_log_file: 'present',
  scrape_failure_log_file: 'present',
  scrape_native_histograms: 'true',
  convert_classic_histograms_to_nhcb: 'true',
  always_scrape_classic_histograms: 'true',
  extra_scrape_metrics: 'true',
};

const passiveScrapeKeys: Readonly<Record<string, PassiveRule>> = {
  scrape_failure_log_file: 'present',
  scrape_native_histograms: 'true',
  convert_classic_histograms_to_nhcb: 'true',
  always_scrape_classic_histograms: 'true',
  native_histogram_bucket_limit: 'present',
  native_histogram_min_bucket_factor: 'present',
  extra_scrape_metrics: 'true',
  oauth2: 'present',
  ...Object.fromEntries(otherSdKeys.map((key) => [key, 'present' as const])),
};

const passiveRemoteWriteKeys: Readonly<Record<string, PassiveRule>> = {
  oauth2: 'present',
  sigv4: 'present',
  azuread: 'present',
  google_iam: 'present',
  send_native_histograms: 'true',
};

interface NoticeInput {
  readonly path: Path;
  readonly keys: Readonly<Record<string, PassiveRule>>;
}

/** Reports each passive key of `value` that is set (and, for switches, switched on). */
function noticeUnused(report: Reporter, value: unknown, { path, keys }: NoticeInput): void {
  if (!isMapping(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const rule = keys[key];
    if (rule === undefined || v === null) continue;
    if (rule === 'true' && v !== true) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    report.notice([...path, key], NOT_ACTED_ON);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reporting: paths to lines
// ---------------------------------------------------------------------------------------------------------------

type PathSegment = string | number;
type Path = readonly PathSegment[];

/** Collects errors and notices, locating each path through the spans the YAML loader recorded. */
class Reporter {
  readonly file: string;
  readonly #loaded: LoadedYaml;
  readonly #errors: ConfigIssue[] = [];
  readonly #notices: ConfigIssue[] = [];

  constructor(file: string, loaded: LoadedYaml) {
    this.file = file;
    this.#loaded = loaded;
  }

  error(path: Path, message: string, at: 'key' | 'value' = 'value'): void {
    this.#errors.push(this.#issue({ path, message, offset: this.#offsetOf(path, at) }));
  }

  errorAt(offset: number, path: Path, message: string): void {
    this.#errors.push(this.#issue({ path, message, offset }));
  }

  notice(path: Path, message: string): void {
    this.#notices.push(this.#issue({ path, message, offset: this.#offsetOf(path, 'key') }));
  }

  noticeAt(offset: number, path: Path, message: string): void {
    this.#notices.push(this.#issue({ path, message, offset }));
  }

  hasErrors(): boolean {
    return this.#errors.length > 0;
  }

  /** The 1-based line where `path`'s value starts (for a list entry: its first key). */
  lineOf(path: Path): number {
    return this.#loaded.lines.linePos(this.#offsetOf(path, 'value')).line;
  }

  /** Turns one zod issue from the schema run at `base` into config issues with Prometheus-style messages. */
  zodIssue(base: Path, issue: z.core.$ZodIssue): void {
    const path = [...base, ...issue.path.map(segment)];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        // `password:hunter2` in a flow mapping is one key, not a key and its value: print only what precedes ":".
        const colon = key.indexOf(':');
        if (colon === -1) {
          this.error([...path, key], `unknown key "${key}"`, 'key');
        } else {
          const shown = `${key.slice(0, colon)}:…`;
          const message = `unknown key "${shown}" (a space is needed after ":" between a key and its value)`;
          const offset = this.#offsetOf([...path, key], 'key');
          this.#errors.push(this.#issue({ path: [...path, shown], message, offset }));
        }
      }
      return;
    }
    if (issue.code === 'invalid_type') {
      this.error(path, this.#typeMessage(path, issue.expected));
      return;
    }
    this.error(path, issue.message);
  }

  sortedErrors(): ConfigIssue[] {
    return sortIssues(this.#errors);
  }

  sortedNotices(): ConfigIssue[] {
    return sortIssues(this.#notices);
  }

  #typeMessage(path: Path, expected: string): string {
    const value = valueAt(this.#loaded.root, path);
    const parent = path.at(-2);
    if (value === null && typeof path.at(-1) === 'number' && typeof parent === 'string') {
      const known = nullEntryMessages[parent];
      if (known !== undefined) return known;
      if (parent.endsWith('_sd_configs') || parent === 'static_configs') return `empty or null section in ${parent}`;
    }
    return `expected ${expectedKinds[expected] ?? expected}, got ${kindOf(value)}`;
  }

  #offsetOf(path: Path, at: 'key' | 'value'): number {
    for (let n = path.length; n >= 0; n--) {
      const span = this.#loaded.spans.get(spanKey(path.slice(0, n)));
      if (span === undefined) continue;
      // A path that goes past what the document has (a missing key) points at its parent's value.
      return n === path.length && at === 'key' ? (span.key ?? span.value) : span.value;
    }
    return 0;
  }

  #issue({ path, message, offset }: { path: Path; message: string; offset: number }): ConfigIssue {
    const pos = this.#loaded.lines.linePos(offset);
    return { file: this.file, line: pos.line, column: pos.col, keyPath: formatKeyPath(path), message };
  }
}

const nullEntryMessages: Readonly<Record<string, string>> = {
  relabel_configs: 'empty or null target relabeling rule in scrape config',
  metric_relabel_configs: 'empty or null metric relabeling rule in scrape config',
  write_relabel_configs: 'empty or null relabeling rule in remote write config',
};

const expectedKinds: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean (true or false)',
  object: 'a mapping',
  array: 'a list',
};

function segment(s: PropertyKey): PathSegment {
  return typeof s === 'symbol' ? String(s) : s;
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => a.issue.line - b.issue.line || a.issue.column - b.issue.column || a.i - b.i)
    .map(({ issue }) => issue);
}

/** `scrape_configs[2].relabel_configs[0].regex`; keys that are not plain words are quoted: `labels["a.b"]`. */
function formatKeyPath(path: Path): string {
  let out = '';
  for (const s of path) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const s of path) {
    if (Array.isArray(v) && typeof s === 'number') v = v[s];
    else if (isMapping(v) && typeof s === 'string') v = v[s];
    else return undefined;
  }
  return v;
}

/** How a YAML value is described in messages: never the value itself, which may be a secret. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'boolean') return 'a boolean';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : 'a number';
  return 'a string';
}

// ---------------------------------------------------------------------------------------------------------------
// YAML → value tree, as go-yaml v2 reads it
// ---------------------------------------------------------------------------------------------------------------

interface Span {
  /** Offset of the value. */
  readonly value: number;
  /** Offset of the mapping key, when the value is a mapping entry. */
  readonly key?: number;
}

interface LoadedYaml {
  readonly root: unknown;
  readonly spans: ReadonlyMap<string, Span>;
  readonly lines: LineCounter;
  readonly errors: readonly { offset: number; path: Path; message: string }[];
  /** The offset of the second document, when there is one. */
  readonly multipleDocuments: number | undefined;
  /** The document could not be parsed at all. */
  readonly fatal: boolean;
}

/**
 * The text of plain scalars that YAML resolved to a number or boolean, by container and key. go-yaml v2 decodes
 * any scalar into a string field as its source text (`replica: 01` is the label value "01", not "1"), so string
 * fields look the text up here. Keyed by the containers of one parse, so nothing is shared between parses.
 */
const plainScalarText = new WeakMap<object, Map<PathSegment, string>>();

/** The most values one document may expand to through aliases (go-yaml v2 also refuses excessive aliasing). */
const MAX_NODES = 1_000_000;

function spanKey(path: Path): string {
  return JSON.stringify(path);
}

function loadYaml(text: string): LoadedYaml {
  const lines = new LineCounter();
  // Scalars stay text (failsafe schema): resolvePlainScalar applies go-yaml v2's rules, not YAML 1.2's.
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: false,
    schema: 'failsafe',
  });
  const empty = { root: null, spans: new Map<string, Span>(), lines, errors: [], fatal: false };
  if (!Array.isArray(docs) || docs.length === 0) return { ...empty, multipleDocuments: undefined };
  const [doc, second] = docs;
  if (doc === undefined) return { ...empty, multipleDocuments: undefined };
  const multipleDocuments = second?.range[0];
  if (doc.errors.length > 0) {
    const errors = doc.errors.map((e) => ({
      offset: e.pos[0],
      path: [],
      message: yamlErrorMessage(e.code, e.message),
    }));
    return { ...empty, errors, multipleDocuments, fatal: true };
  }
  const converter = new YamlConverter(doc, lines);
  const root = converter.convert(doc.contents, { path: [], key: undefined });
  return {
    root,
    spans: converter.spans,
    lines,
    errors: converter.errors,
    multipleDocuments,
    fatal: converter.fatal,
  };
}

/**
 * The yaml library's message, except where it quotes source text: a syntax error inside a password must not
 * print the password.
 */
function yamlErrorMessage(code: string, message: string): string {
  switch (code) {
    case 'BAD_DQ_ESCAPE':
      return 'invalid escape sequence in a double-quoted string (use single quotes, or escape the backslash)';
    case 'UNEXPECTED_TOKEN':
      return 'unexpected token: the YAML structure is broken here';
    case 'BAD_SCALAR_START':
      return 'a plain value cannot start with this character: quote the value';
    default:
      return `invalid YAML: ${message.split('\n')[0] ?? message}`;
  }
}

interface ConvertAt {
  readonly path: Path;
  /** Offset of the mapping key this value belongs to. */
  readonly key: number | undefined;
}

/** Converts yaml nodes to plain values, recording spans, resolving aliases and `<<` merges, rejecting duplicates. */
class YamlConverter {
  readonly spans = new Map<string, Span>();
  readonly errors: { offset: number; path: Path; message: string }[] = [];
  fatal = false;
  readonly #doc: Document;
  readonly #lines: LineCounter;
  readonly #inProgress = new Set<unknown>();
  #nodes = 0;

  constructor(doc: Document, lines: LineCounter) {
    this.#doc = doc;
    this.#lines = lines;
  }

  convert(node: unknown, at: ConvertAt): unknown {
    if (this.fatal) return null;
    if (++this.#nodes > MAX_NODES) {
      this.#fail(0, 'the document contains excessive aliasing');
      return null;
    }
    if (isAlias(node)) {
      const target = node.resolve(this.#doc);
      if (target === undefined || this.#inProgress.has(target)) {
        this.#fail(node.range?.[0] ?? 0, `alias *${node.source} refers to an unknown anchor or to itself`);
        return null;
      }
      this.spans.set(spanKey(at.path), { value: node.range?.[0] ?? 0, ...optional('key', at.key) });
      return this.#convertNode(target, at);
    }
    const offset = rangeStart(node);
    this.spans.set(spanKey(at.path), { value: offset ?? at.key ?? 0, ...optional('key', at.key) });
    return this.#convertNode(node, at);
  }

  #convertNode(node: unknown, at: ConvertAt): unknown {
    if (node === null || node === undefined) return null;
    if (isScalar(node)) return scalarValue(node);
    this.#inProgress.add(node);
    try {
      if (isSeq(node)) return this.#convertSeq(node.items, at.path);
      if (isMap(node)) return this.#convertMap(node.items, at.path);
    } finally {
      this.#inProgress.delete(node);
    }
    return null;
  }

  #convertSeq(items: readonly unknown[], path: Path): unknown[] {
    const out: unknown[] = [];
    const text = new Map<PathSegment, string>();
    items.forEach((item, i) => {
      out.push(this.convert(item, { path: [...path, i], key: undefined }));
      rememberText(text, i, this.#target(item));
    });
    if (text.size > 0) plainScalarText.set(out, text);
    return out;
  }

  #convertMap(pairs: readonly { key: unknown; value: unknown }[], path: Path): Record<string, unknown> {
    const out = Object.create(null) as Record<string, unknown>;
    const text = new Map<PathSegment, string>();
    const keyLines = new Map<string, number>();
    const merges: unknown[] = [];
    for (const pair of pairs) {
      const keyOffset = rangeStart(pair.key) ?? 0;
      if (isScalar(pair.key) && pair.key.type === 'PLAIN' && pair.key.value === '<<') {
        merges.push(pair.value);
        continue;
      }
      if (!isScalar(pair.key)) {
        this.#error(keyOffset, path, 'mapping keys must be scalars, not lists or mappings');
        continue;
      }
      const key = String(pair.key.value);
      const earlier = keyLines.get(key);
      if (earlier !== undefined) {
        this.#error(keyOffset, [...path, key], `mapping key ${JSON.stringify(key)} already defined at line ${earlier}`);
        continue;
      }
      keyLines.set(key, this.#lineAt(keyOffset));
      out[key] = this.convert(pair.value, { path: [...path, key], key: keyOffset });
      rememberText(text, key, this.#target(pair.value));
    }
    // `<<` merges fill in the keys the mapping does not set itself (YAML merge keys, supported by go-yaml v2).
    for (const merge of merges) {
      const sources = isSeq(merge) ? merge.items : [merge];
      for (const source of sources) {
        const target = this.#target(source);
        if (!isMap(target)) {
          this.#error(rangeStart(source) ?? 0, path, 'a << merge needs a mapping or a list of mappings');
          continue;
        }
        for (const pair of target.items) {
          if (!isScalar(pair.key)) continue;
          const key = String(pair.key.value);
          if (key in out) continue;
          out[key] = this.convert(pair.value, { path: [...path, key], key: rangeStart(pair.key) });
          rememberText(text, key, this.#target(pair.value));
        }
      }
    }
    if (text.size > 0) plainScalarText.set(out, text);
    return out;
  }

  /** The node an alias stands for; any other node itself. */
  #target(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.#doc) : node;
  }

  #lineAt(offset: number): number {
    return this.#lines.linePos(offset).line;
  }

  #error(offset: number, path: Path, message: string): void {
    this.errors.push({ offset, path, message });
  }

  #fail(offset: number, message: string): void {
    this.fatal = true;
    this.errors.push({ offset, path: [], message });
  }
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range: unknown = node.range;
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : undefined;
}

function rememberText(text: Map<PathSegment, string>, key: PathSegment, node: unknown): void {
  if (isScalar(node) && node.type === 'PLAIN' && node.tag === undefined) {
    const source = String(node.value);
    if (typeof resolvePlainScalar(source) !== 'string') text.set(key, source);
  }
}

function scalarValue(node: { type?: string | undefined; tag?: string | undefined; value: unknown }): unknown {
  const source = String(node.value);
  if (node.type !== 'PLAIN' || node.tag === 'tag:yaml.org,2002:str') return source;
  return resolvePlainScalar(source);
}

const yamlNull = new Set(['', '~', 'null', 'Null', 'NULL']);
const yamlTrue = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const yamlFalse = new Set(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);
const yamlSpecialFloats: Readonly<Record<string, number>> = {
  '.nan': NaN,
  '.NaN': NaN,
  '.NAN': NaN,
  '.inf': Infinity,
  '.Inf': Infinity,
  '.INF': Infinity,
  '+.inf': Infinity,
  '+.Inf': Infinity,
  '+.INF': Infinity,
  '-.inf': -Infinity,
  '-.Inf': -Infinity,
  '-.INF': -Infinity,
};
const goInteger = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
const yamlStyleFloat = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * go-yaml v2's `resolve` for an untagged plain scalar: YAML 1.1 booleans (yes/no/on/off/y/n), nulls, integers in
 * Go's `strconv.ParseInt(s, 0, 64)` syntax with underscores removed, then floats; anything else is a string.
 */
function resolvePlainScalar(s: string): string | number | boolean | null {
  if (yamlNull.has(s)) return null;
  if (yamlTrue.has(s)) return true;
  if (yamlFalse.has(s)) return false;
  const special = yamlSpecialFloats[s];
  if (special !== undefined) return special;
  const first = s[0] ?? '';
  if (first === '.') return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(s) ? Number(s) : s;
  if (!/[0-9+-]/.test(first)) return s;
  const plain = s.replaceAll('_', '');
  const m = goInteger.exec(plain);
  if (m !== null) {
    const [, sign = '', digits = ''] = m;
    const magnitude = /^0[0-7]+$/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
    const value = sign === '-' ? -magnitude : magnitude;
    if (value >= INT64_MIN && value <= UINT64_MAX && !(sign === '+' && value > 2n ** 63n - 1n)) return Number(value);
  }
  return yamlStyleFloat.test(plain) ? Number(plain) : s;
}

// ---------------------------------------------------------------------------------------------------------------
// zod building blocks with go-yaml v2 semantics
// ---------------------------------------------------------------------------------------------------------------

/** Schemas that take a scalar's text: a number or boolean written there is read as its source text. */
const textualSchemas = new WeakSet<z.ZodType>();

function textual<T extends z.ZodType>(schema: T): T {
  textualSchemas.add(schema);
  return schema;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Secret);
}

/** The source text of a plain scalar written at `key` of `container`, for a string field. */
function asText(container: object, key: PathSegment, value: unknown): unknown {
  if (typeof value !== 'number' && typeof value !== 'boolean') return value;
  return plainScalarText.get(container)?.get(key) ?? String(value);
}

interface MappingKeys {
  readonly known: ReadonlySet<string>;
  readonly text: ReadonlySet<string>;
}

/** A known key's null value is Go's zero value: the field keeps its default, as if absent. */
function prepareMapping(input: unknown, keys: MappingKeys): unknown {
  if (!isMapping(input)) return input;
  const out = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(input)) {
    if (value === null && keys.known.has(key)) continue;
    out[key] = keys.text.has(key) ? asText(input, key, value) : value;
  }
  return out;
}

function prepareList(input: unknown, isText: boolean): unknown {
  if (!Array.isArray(input) || !isText) return input;
  return input.map((value: unknown, i) => (value === null ? '' : asText(input, i, value)));
}

type Optionalized<S extends Record<string, z.ZodType>> = { [K in keyof S]: z.ZodOptional<S[K]> };

/** A YAML mapping decoded strictly into a Go struct: every field optional, unknown keys rejected. */
function goObject<S extends Record<string, z.ZodType>>(shape: S) {
  const keys: MappingKeys = {
    known: new Set(Object.keys(shape)),
    text: new Set(Object.entries(shape).flatMap(([key, s]) => (textualSchemas.has(s) ? [key] : []))),
  };
  const optionalShape = Object.fromEntries(Object.entries(shape).map(([key, s]) => [key, s.optional()]));
  return z.preprocess(
    (input: unknown) => prepareMapping(input, keys),
    z.strictObject(optionalShape as Optionalized<S>),
  );
}

/** A YAML list; null entries of string lists are "" (go-yaml's zero value). */
function goList<T extends z.ZodType>(element: T) {
  const isText = textualSchemas.has(element);
  return z.preprocess((input: unknown) => prepareList(input, isText), z.array(element));
}

/**
 * A YAML mapping decoded into a Go map: any key, every value checked by `value`. A null value is `nullValue()`.
 * Written by hand because zod's record drops a `__proto__` key, which is a valid label name.
 */
function goMap<T extends z.ZodType>(value: T, nullValue: () => unknown = () => '') {
  const isText = textualSchemas.has(value);
  return z.unknown().transform((input, ctx) => {
    const out = new Map<string, z.output<T>>();
    if (!isMapping(input)) {
      ctx.addIssue({ code: 'custom', message: `expected a mapping, got ${kindOf(input)}` });
      return out;
    }
    for (const [key, raw] of Object.entries(input)) {
      const v = raw === null ? nullValue() : isText ? asText(input, key, raw) : raw;
      const parsed = value.safeParse(v);
      if (parsed.success) out.set(key, parsed.data);
      else for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [key, ...issue.path] });
    }
    return out;
  });
}

/** Reports a problem at a path relative to the schema being run. */
type Report = (path: Path, message: string) => void;

function reporter(ctx: z.core.$RefinementCtx): Report {
  return (path, message) => ctx.addIssue({ code: 'custom', path: [...path], message });
}

const text = textual(z.string());

const secret = textual(z.string().transform((s) => (s === '' ? undefined : new Secret(s))));

const duration = textual(
  z.string().transform((s, ctx) => {
    try {
      return parseDuration(s);
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return z.NEVER;
    }
  }),
);

const size = textual(
  z.string().transform((s, ctx) => {
    const parsed = parseSize(s);
    if (typeof parsed === 'number') return parsed;
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }),
);

const bool = z.boolean();

/** A Go `uint`: go-yaml v2 truncates a float, and rejects a negative number. */
const uint = z.number().transform((n, ctx) => {
  if (!Number.isFinite(n) || n < 0) {
    ctx.addIssue({ code: 'custom', message: `expected a non-negative integer, got ${n}` });
    return z.NEVER;
  }
  return Math.trunc(n);
});

/** A Go `int`: go-yaml v2 truncates a float. */
const int = z.number().transform((n, ctx) => {
  if (!Number.isFinite(n)) {
    ctx.addIssue({ code: 'custom', message: `expected an integer, got ${n}` });
    return z.NEVER;
  }
  return Math.trunc(n);
});

/** Any mapping: sections promfleet accepts without acting on them. */
const anyMapping = z.looseObject({});

// ---------------------------------------------------------------------------------------------------------------
// HTTP client (prometheus/common config/http_config.go)
// ---------------------------------------------------------------------------------------------------------------

const tlsShape = {
  ca: text,
  ca_file: text,
  ca_ref: text,
  cert: text,
  cert_file: text,
  cert_ref: text,
  key: secret,
  key_file: text,
  key_ref: text,
  server_name: text,
  insecure_skip_verify: bool,
  min_version: text,
  max_version: text,
};
const tlsSchema = goObject(tlsShape);
type RawTls = z.output<typeof tlsSchema>;

const proxyConnectHeader = goMap(goList(secret), () => []);

const httpClientShape = {
  basic_auth: goObject({
    username: text,
    username_file: text,
    username_ref: text,
    password: secret,
    password_file: text,
    password_ref: text,
  }),
  authorization: goObject({ type: text, credentials: secret, credentials_file: text, credentials_ref: text }),
  oauth2: goObject({
    client_id: text,
    client_secret: secret,
    client_secret_file: text,
    client_secret_ref: text,
    scopes: goList(text),
    token_url: text,
    endpoint_params: goMap(text),
    tls_config: tlsSchema,
    proxy_url: text,
    no_proxy: text,
    proxy_from_environment: bool,
    proxy_connect_header: proxyConnectHeader,
    grant_type: text,
    client_certificate_key: secret,
    client_certificate_key_file: text,
    client_certificate_key_id: text,
    signature_algorithm: text,
    iss: text,
    audience: text,
    claims: anyMapping,
  }),
  bearer_token: secret,
  bearer_token_file: text,
  tls_config: tlsSchema,
  follow_redirects: bool,
  enable_http2: bool,
  proxy_url: text,
  no_proxy: text,
  proxy_from_environment: bool,
  proxy_connect_header: proxyConnectHeader,
  http_headers: goMap(goObject({ values: goList(text), secrets: goList(secret), files: goList(text) }), () => ({})),
};
type RawHttpClient = { [K in keyof typeof httpClientShape]?: z.output<(typeof httpClientShape)[K]> | undefined };

/** Headers that change the connection or that Prometheus sets itself (common `headers.go` reservedHeaders). */
const reservedHttpHeaders = new Set([
  'authorization',
  'host',
  'content-encoding',
  'content-length',
  'content-type',
  'user-agent',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'www-authenticate',
  'accept-encoding',
  'x-prometheus-remote-write-version',
  'x-prometheus-remote-read-version',
  'x-prometheus-scrape-timeout-seconds',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
]);

interface HttpClientInput {
  readonly raw: RawHttpClient;
  readonly report: Report;
  readonly dir: string;
  /** `DefaultHTTPClientConfig` (true) or `DefaultRemoteWriteHTTPClientConfig` (false). */
  readonly defaultHttp2: boolean;
}

/**
 * `HTTPClientConfig.Validate` + `SetDirectory`: at most one way to authenticate, value-or-file pairs exclusive,
 * legacy bearer tokens moved into `authorization`, proxy settings consistent, no reserved `http_headers`.
 */
function buildHttpClient({ raw, report, dir, defaultHttp2 }: HttpClientInput): HttpClientConfig {
  const join = (file: string | undefined): string | undefined => (file === undefined ? undefined : joinDir(dir, file));
  const basic = raw.basic_auth;
  const auth = raw.authorization;
  const bearer = raw.bearer_token;
  const bearerFile = nonEmpty(raw.bearer_token_file);
  const hasBearer = bearer !== undefined || bearerFile !== undefined;
  const hasOauth2 = raw.oauth2 !== undefined;

  // The authentication checks, in Validate's order; Go stops at the first, so do we within this group.
  const authProblem = ((): [PathSegment, string] | undefined => {
    if (bearer !== undefined && bearerFile !== undefined) {
      return ['bearer_token_file', 'at most one of bearer_token & bearer_token_file must be configured'];
    }
    if ((basic !== undefined || hasOauth2) && hasBearer) {
      return [
        bearer !== undefined ? 'bearer_token' : 'bearer_token_file',
        'at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured',
      ];
    }
    if (basic !== undefined && countSet(basic.username, basic.username_file, basic.username_ref) > 1) {
      return ['basic_auth', 'at most one of basic_auth username, username_file & username_ref must be configured'];
    }
    if (basic !== undefined && countSet(basic.password, basic.password_file, basic.password_ref) > 1) {
      return ['basic_auth', 'at most one of basic_auth password, password_file & password_ref must be configured'];
    }
    if (auth !== undefined) {
      if (hasBearer) return ['authorization', 'authorization is not compatible with bearer_token & bearer_token_file'];
      if (countSet(auth.credentials, auth.credentials_file, auth.credentials_ref) > 1) {
        return ['authorization', 'at most one of authorization credentials & credentials_file must be configured'];
      }
      if ((auth.type ?? '').trim().toLowerCase() === 'basic') {
        return ['authorization', 'authorization type cannot be set to "basic", use "basic_auth" instead'];
      }
      if (basic !== undefined || hasOauth2) {
        return ['authorization', 'at most one of basic_auth, oauth2 & authorization must be configured'];
      }
    }
    if (hasOauth2 && basic !== undefined) {
      return ['oauth2', 'at most one of basic_auth, oauth2 & authorization must be configured'];
    }
    return undefined;
  })();
  if (authProblem !== undefined) report([authProblem[0]], authProblem[1]);

  if (raw.oauth2 !== undefined) {
    const o = raw.oauth2;
    if (nonEmpty(o.client_id) === undefined) report(['oauth2'], 'oauth2 client_id must be configured');
    if (nonEmpty(o.token_url) === undefined) report(['oauth2'], 'oauth2 token_url must be configured');
    if (countSet(o.client_secret, o.client_secret_file, o.client_secret_ref) > 1) {
      report(
        ['oauth2'],
        'at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured',
      );
    }
  }
  // *_ref fields name secrets in a secret manager; Prometheus loads them but has no manager to resolve them.
  const refs: [PathSegment[], string | undefined][] = [
    [['basic_auth', 'username_ref'], basic?.username_ref],
    [['basic_auth', 'password_ref'], basic?.password_ref],
    [['authorization', 'credentials_ref'], auth?.credentials_ref],
  ];
  for (const [path, value] of refs) {
    if (nonEmpty(value) !== undefined) report(path, NO_SECRET_MANAGER);
  }

  const tlsConfig = buildTls({ raw: raw.tls_config ?? {}, report, join });
  const proxyUrl = nonEmpty(raw.proxy_url);
  if (proxyUrl !== undefined && !isUrl(proxyUrl)) report(['proxy_url'], `invalid proxy_url ${redactUrl(proxyUrl)}`);
  const noProxy = nonEmpty(raw.no_proxy);
  const proxyFromEnvironment = raw.proxy_from_environment ?? false;
  const proxyConnectHeader = raw.proxy_connect_header ?? new Map<string, (Secret | undefined)[]>();
  if (proxyConnectHeader.size > 0 && !proxyFromEnvironment && proxyUrl === undefined) {
    report(
      ['proxy_connect_header'],
      'if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured',
    );
  }
  if (proxyFromEnvironment && proxyUrl !== undefined) {
    report(['proxy_url'], 'if proxy_from_environment is configured, proxy_url must not be configured');
  }
  if (proxyFromEnvironment && noProxy !== undefined) {
    report(['no_proxy'], 'if proxy_from_environment is configured, no_proxy must not be configured');
  }
  if (proxyUrl === undefined && noProxy !== undefined) {
    report(['no_proxy'], 'if no_proxy is configured, proxy_url must also be configured');
  }

  const httpHeaders = new Map<string, HttpHeader>();
  for (const [name, header] of raw.http_headers ?? []) {
    const canonical = canonicalHeaderKey(name);
    if (reservedHttpHeaders.has(canonical.toLowerCase())) {
      report(['http_headers', name], `setting header ${JSON.stringify(canonical)} is not allowed`);
    }
    httpHeaders.set(name, {
      values: header.values ?? [],
      secrets: definedOnly(header.secrets ?? []),
      files: (header.files ?? []).map((f) => joinDir(dir, f)),
    });
  }

  const authorization = ((): Authorization | undefined => {
    if (auth !== undefined) {
      const type = (auth.type ?? '').trim();
      return {
        type: type === '' ? 'Bearer' : type,
        ...optional('credentials', auth.credentials),
        ...optional('credentialsFile', join(nonEmpty(auth.credentials_file))),
      };
    }
    // Validate moves the legacy fields into Authorization (bearer_token_file wins when both are set).
    if (bearerFile !== undefined) return { type: 'Bearer', credentialsFile: joinDir(dir, bearerFile) };
    if (bearer !== undefined) return { type: 'Bearer', credentials: bearer };
    return undefined;
  })();

  return {
    ...optional(
      'basicAuth',
      basic === undefined
        ? undefined
        : {
            username: basic.username ?? '',
            ...optional('usernameFile', join(nonEmpty(basic.username_file))),
            ...optional('password', basic.password),
            ...optional('passwordFile', join(nonEmpty(basic.password_file))),
          },
    ),
    ...optional('authorization', authorization),
    tlsConfig,
    ...optional('proxyUrl', proxyUrl),
    ...optional('noProxy', noProxy),
    proxyFromEnvironment,
    proxyConnectHeader: new Map([...proxyConnectHeader].map(([k, v]) => [k, definedOnly(v)])),
    followRedirects: raw.follow_redirects ?? true,
    enableHttp2: raw.enable_http2 ?? defaultHttp2,
    httpHeaders,
  };
}

interface TlsInput {
  readonly raw: RawTls;
  readonly report: Report;
  readonly join: (file: string | undefined) => string | undefined;
}

/** `TLSConfig.Validate`, plus the version checks `NewTLSConfig` would only make when the client is built. */
function buildTls({ raw, report, join }: TlsInput): TlsConfig {
  const at = (key: string): Path => ['tls_config', key];
  if (countSet(raw.ca, raw.ca_file, raw.ca_ref) > 1) {
    report(at('ca_file'), 'at most one of ca, ca_file & ca_ref must be configured');
  }
  if (countSet(raw.cert, raw.cert_file, raw.cert_ref) > 1) {
    report(at('cert_file'), 'at most one of cert, cert_file & cert_ref must be configured');
  }
  if (countSet(raw.key, raw.key_file, raw.key_ref) > 1) {
    report(at('key_file'), 'at most one of key and key_file must be configured');
  }
  const usingCert = countSet(raw.cert, raw.cert_file, raw.cert_ref) > 0;
  const usingKey = countSet(raw.key, raw.key_file, raw.key_ref) > 0;
  if (usingCert && !usingKey) {
    report(['tls_config'], 'exactly one of key or key_file must be configured when a client certificate is configured');
  } else if (usingKey && !usingCert) {
    report(['tls_config'], 'exactly one of cert or cert_file must be configured when a client key is configured');
  }
  for (const key of ['ca_ref', 'cert_ref', 'key_ref'] as const) {
    if (nonEmpty(raw[key]) !== undefined) report(at(key), NO_SECRET_MANAGER);
  }
  const version = (key: 'min_version' | 'max_version'): TlsVersion | undefined => {
    const v = nonEmpty(raw[key]);
    if (v === undefined) return undefined;
    if (isOneOf(v, tlsVersions)) return v;
    report(at(key), `unknown TLS version: ${v} (use one of ${tlsVersions.join(', ')})`);
    return undefined;
  };
  const minVersion = version('min_version');
  const maxVersion = version('max_version');
  if (minVersion !== undefined && maxVersion !== undefined && maxVersion < minVersion) {
    report(
      at('max_version'),
      'tls_config.max_version must be greater than or equal to tls_config.min_version if both are specified',
    );
  }
  return {
    ...optional('ca', nonEmpty(raw.ca)),
    ...optional('caFile', join(nonEmpty(raw.ca_file))),
    ...optional('cert', nonEmpty(raw.cert)),
    ...optional('certFile', join(nonEmpty(raw.cert_file))),
    ...optional('key', raw.key),
    ...optional('keyFile', join(nonEmpty(raw.key_file))),
    ...optional('serverName', nonEmpty(raw.server_name)),
    insecureSkipVerify: raw.insecure_skip_verify ?? false,
    ...optional('minVersion', minVersion),
    ...optional('maxVersion', maxVersion),
  };
}

/**
 * Whether the HTTP client differs from `DefaultHTTPClientConfig`, as kubernetes.go's `reflect.DeepEqual`: any
 * setting, and any `http_headers` or `proxy_connect_header` mapping even when empty (a non-nil map).
 */
function isCustomHttpClient(raw: RawHttpClient, built: HttpClientConfig): boolean {
  const tls = built.tlsConfig;
  const tlsValues = [tls.ca, tls.caFile, tls.cert, tls.certFile, tls.key, tls.keyFile, tls.serverName];
  const tlsSet =
    tls.insecureSkipVerify || [...tlsValues, tls.minVersion, tls.maxVersion].some((v) => v !== undefined);
  return (
    built.basicAuth !== undefined ||
    built.authorization !== undefined ||
    raw.oauth2 !== undefined ||
    tlsSet ||
    built.proxyUrl !== undefined ||
    built.noProxy !== undefined ||
    built.proxyFromEnvironment ||
    raw.proxy_connect_header !== undefined ||
    raw.http_headers !== undefined ||
    !built.followRedirects ||
    !built.enableHttp2
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Section schemas
// ---------------------------------------------------------------------------------------------------------------

interface SchemaOptions {
  readonly dir: string;
  readonly env: Readonly<Record<string, string | undefined>> | undefined;
}

type ScrapeSchema = ReturnType<typeof scrapeSchema>;
type RemoteWriteSchema = ReturnType<typeof remoteWriteSchema>;

interface Schemas {
  readonly global: ReturnType<typeof globalSchema>;
  scrape(scheme: NameValidationScheme): ScrapeSchema;
  remoteWrite(scheme: NameValidationScheme): RemoteWriteSchema;
}

/** The section schemas of one parse: they join relative paths with the file's directory. */
function makeSchemas(options: SchemaOptions): Schemas {
  const scrape = new Map<NameValidationScheme, ScrapeSchema>();
  const remote = new Map<NameValidationScheme, RemoteWriteSchema>();
  return {
    global: globalSchema(options),
    scrape(scheme) {
      const cached = scrape.get(scheme) ?? scrapeSchema({ ...options, scheme });
      scrape.set(scheme, cached);
      return cached;
    },
    remoteWrite(scheme) {
      const cached = remote.get(scheme) ?? remoteWriteSchema({ ...options, scheme });
      remote.set(scheme, cached);
      return cached;
    },
  };
}

/**
 * A relabel rule list. The rule schema (relabel.ts) reads numbers as JavaScript numbers, so plain scalars are
 * given back their source text first (`replacement: 01` stays "01", as go-yaml reads it).
 */
function relabelList(scheme: NameValidationScheme) {
  const rule = relabelConfigSchema({ nameValidation: scheme });
  const textKeys = new Set(['separator', 'regex', 'target_label', 'replacement', 'action']);
  return goList(
    z.preprocess((input: unknown) => {
      if (!isMapping(input)) return input;
      const out = Object.create(null) as Record<string, unknown>;
      for (const [key, value] of Object.entries(input)) {
        const sourceLabels = key === 'source_labels' && Array.isArray(value);
        out[key] = textKeys.has(key)
          ? asText(input, key, value)
          : sourceLabels
            ? value.map((v: unknown, i) => asText(value, i, v))
            : value;
      }
      return out;
    }, rule),
  );
}

/** `GlobalConfig.UnmarshalYAML`, plus the external label expansion of `Load`. */
function globalSchema({ dir, env }: SchemaOptions) {
  return goObject({
    scrape_interval: duration,
    scrape_timeout: duration,
    scrape_protocols: goList(text),
    evaluation_interval: duration,
    rule_query_offset: duration,
    query_log_file: text,
    scrape_failure_log_file: text,
    external_labels: goMap(text),
    body_size_limit: size,
    sample_limit: uint,
    target_limit: uint,
    label_limit: uint,
    label_name_length_limit: uint,
    label_value_length_limit: uint,
    keep_dropped_targets: uint,
    metric_name_validation_scheme: text,
    metric_name_escaping_scheme: text,
    scrape_native_histograms: bool,
    convert_classic_histograms_to_nhcb: bool,
    always_scrape_classic_histograms: bool,
    extra_scrape_metrics: bool,
  }).transform((raw, ctx): GlobalConfig => {
    const report = reporter(ctx);
    const validation = validationScheme(raw.metric_name_validation_scheme, report);
    const scheme = validation ?? 'utf8';
    const externalLabels = new Map<string, string>();
    for (const [name, value] of raw.external_labels ?? new Map<string, string>()) {
      if (!isValidLabelName(name, scheme)) {
        report(['external_labels', name], `${JSON.stringify(name)} is not a valid label name`);
      } else if (!isWellFormed(value)) report(['external_labels', name], 'the label value is not valid UTF-8');
      externalLabels.set(name, env === undefined ? value : expandEnv(value, env));
    }
    // First the interval, then the timeout (explicit or inferred) must not exceed it.
    const scrapeIntervalMs = nonZero(raw.scrape_interval) ?? defaultGlobal.scrapeIntervalMs;
    const explicitTimeout = raw.scrape_timeout ?? 0;
    if (explicitTimeout > scrapeIntervalMs) {
      report(
        ['scrape_timeout'],
        `global scrape timeout (${formatDuration(explicitTimeout)}) greater than scrape interval ` +
          `(${formatDuration(scrapeIntervalMs)})`,
      );
    }
    const protocols = raw.scrape_protocols === undefined ? undefined : acceptProtocols(raw.scrape_protocols, report);
    // Whether allow-utf-8 fits the validation scheme is checked per job, as only jobs that inherit both matter.
    const escaping = escapingScheme(raw.metric_name_escaping_scheme, report) ?? impliedEscaping(scheme);
    const defaultTimeout = Math.min(defaultGlobal.scrapeTimeoutMs, scrapeIntervalMs);
    return {
      scrapeIntervalMs,
      scrapeTimeoutMs: explicitTimeout === 0 ? defaultTimeout : explicitTimeout,
      evaluationIntervalMs: nonZero(raw.evaluation_interval) ?? defaultGlobal.evaluationIntervalMs,
      ruleQueryOffsetMs: raw.rule_query_offset ?? 0,
      externalLabels,
      bodySizeLimitBytes: raw.body_size_limit ?? 0,
      sampleLimit: raw.sample_limit ?? 0,
      targetLimit: raw.target_limit ?? 0,
      labelLimit: raw.label_limit ?? 0,
      labelNameLengthLimit: raw.label_name_length_limit ?? 0,
      labelValueLengthLimit: raw.label_value_length_limit ?? 0,
      keepDroppedTargets: raw.keep_dropped_targets ?? 0,
      metricNameValidationScheme: scheme,
      metricNameEscapingScheme: escaping,
      ...optional('scrapeProtocols', protocols),
      scrapeNativeHistograms: raw.scrape_native_histograms ?? false,
      convertClassicHistogramsToNhcb: raw.convert_classic_histograms_to_nhcb ?? false,
      alwaysScrapeClassicHistograms: raw.always_scrape_classic_histograms ?? false,
      extraScrapeMetrics: raw.extra_scrape_metrics ?? false,
      ...optional('queryLogFile', joinOptional(dir, raw.query_log_file)),
      ...optional('scrapeFailureLogFile', joinOptional(dir, raw.scrape_failure_log_file)),
    };
  });
}

function validationScheme(value: string | undefined, report: Report): NameValidationScheme | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'legacy' || value === 'utf8') return value;
  report(
    ['metric_name_validation_scheme'],
    `unknown name validation method specified, must be either '', 'legacy' or 'utf8', got ${JSON.stringify(value)}`,
  );
  return undefined;
}

function escapingScheme(value: string | undefined, report: Report): EscapingScheme | undefined {
  if (value === undefined || value === '') return undefined;
  if (isOneOf(value, escapingSchemes)) return value;
  report(
    ['metric_name_escaping_scheme'],
    "unknown name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', " +
      `got ${JSON.stringify(value)}`,
  );
  return undefined;
}

function impliedEscaping(scheme: NameValidationScheme): EscapingScheme {
  return scheme === 'legacy' ? 'underscores' : 'allow-utf-8';
}

const supportedProtocols = `[${[...scrapeProtocols].sort().join(' ')}]`;

/** `validateAcceptScrapeProtocols`: not empty, known, no duplicates (compared case-insensitively). */
function acceptProtocols(list: readonly string[], report: Report): ScrapeProtocol[] | undefined {
  if (list.length === 0) {
    report(['scrape_protocols'], 'scrape_protocols cannot be empty');
    return undefined;
  }
  const seen = new Set<string>();
  const out: ScrapeProtocol[] = [];
  list.forEach((p, i) => {
    if (seen.has(p.toLowerCase())) {
      report(['scrape_protocols', i], `duplicated protocol in scrape_protocols, got [${list.join(' ')}]`);
      return;
    }
    seen.add(p.toLowerCase());
    if (isOneOf(p, scrapeProtocols)) out.push(p);
    else report(['scrape_protocols', i], `unknown scrape protocol ${p}, supported: ${supportedProtocols}`);
  });
  return out.length === list.length && seen.size === list.length ? out : undefined;
}

/** What a job's schema gives before the global config fills in what it left unset (0 or undefined). */
interface ScrapeDraft {
  readonly jobName: string;
  readonly scrapeIntervalMs: number;
  readonly scrapeTimeoutMs: number;
  readonly sampleLimit: number;
  readonly targetLimit: number;
  readonly labelLimit: number;
  readonly labelNameLengthLimit: number;
  readonly labelValueLengthLimit: number;
  readonly bodySizeLimitBytes: number;
  readonly keepDroppedTargets: number;
  readonly scrapeProtocols: ScrapeProtocol[] | undefined;
  readonly scrapeNativeHistograms: boolean | undefined;
  readonly validationScheme: NameValidationScheme | undefined;
  readonly escapingScheme: EscapingScheme | undefined;
  readonly settled: Omit<
    ScrapeConfig,
    | 'jobName'
    | 'scrapeIntervalMs'
    | 'scrapeTimeoutMs'
    | 'sampleLimit'
    | 'targetLimit'
    | 'labelLimit'
    | 'labelNameLengthLimit'
    | 'labelValueLengthLimit'
    | 'bodySizeLimitBytes'
    | 'keepDroppedTargets'
    | 'scrapeProtocols'
    | 'scrapeNativeHistograms'
    | 'metricNameValidationScheme'
    | 'metricNameEscapingScheme'
    | 'source'
  >;
}

/** `ScrapeConfig.UnmarshalYAML`: the job's own keys, defaults and checks; global inheritance comes later. */
function scrapeSchema({ dir, scheme }: SchemaOptions & { scheme: NameValidationScheme }) {
  const relabel = relabelList(scheme);
  const otherSd = Object.fromEntries(otherSdKeys.map((key) => [key, goList(anyMapping)])) as Record<
    (typeof otherSdKeys)[number],
    ReturnType<typeof goList<typeof anyMapping>>
  >;
  return goObject({
    job_name: text,
    honor_labels: bool,
    honor_timestamps: bool,
    track_timestamps_staleness: bool,
    params: goMap(goList(text), () => []),
    scrape_interval: duration,
    scrape_timeout: duration,
    scrape_protocols: goList(text),
    fallback_scrape_protocol: text,
    scrape_native_histograms: bool,
    always_scrape_classic_histograms: bool,
    convert_classic_histograms_to_nhcb: bool,
    scrape_failure_log_file: text,
    metrics_path: text,
    scheme: text,
    enable_compression: bool,
    body_size_limit: size,
    sample_limit: uint,
    target_limit: uint,
    label_limit: uint,
    label_name_length_limit: uint,
    label_value_length_limit: uint,
    native_histogram_bucket_limit: uint,
    native_histogram_min_bucket_factor: z.number(),
    keep_dropped_targets: uint,
    metric_name_validation_scheme: text,
    metric_name_escaping_scheme: text,
    extra_scrape_metrics: bool,
    relabel_configs: relabel,
    metric_relabel_configs: relabel,
    static_configs: goList(staticConfigSchema),
    file_sd_configs: goList(fileSdSchema(dir)),
    kubernetes_sd_configs: goList(kubernetesSdSchema(dir)),
    ...otherSd,
    ...httpClientShape,
  }).transform((raw, ctx): ScrapeDraft => {
    const report = reporter(ctx);
    const jobName = raw.job_name ?? '';
    if (jobName === '') report(['job_name'], 'job_name is empty');
    const schemeValue = raw.scheme ?? 'http';
    if (schemeValue !== 'http' && schemeValue !== 'https') {
      report(['scheme'], `scheme must be "http" or "https", got ${JSON.stringify(schemeValue)}`);
    }
    const relabelConfigs = raw.relabel_configs ?? [];
    const staticConfigs = raw.static_configs ?? [];
    // checkStaticTargets: without relabeling to fix them, targets must be host:port, not URLs.
    if (relabelConfigs.length === 0) {
      staticConfigs.forEach((sc, i) =>
        sc.targets.forEach((t, j) => {
          if (t.includes('/')) {
            report(['static_configs', i, 'targets', j], `${JSON.stringify(t)} is not a valid hostname`);
          }
        }),
      );
    }
    let fallbackScrapeProtocol: ScrapeProtocol | undefined;
    const fallback = nonEmpty(raw.fallback_scrape_protocol);
    if (fallback !== undefined) {
      if (isOneOf(fallback, scrapeProtocols)) fallbackScrapeProtocol = fallback;
      else {
        report(
          ['fallback_scrape_protocol'],
          `invalid fallback_scrape_protocol for scrape config with job name ${JSON.stringify(jobName)}: ` +
            `unknown scrape protocol ${fallback}, supported: ${supportedProtocols}`,
        );
      }
    }
    const httpClient = buildHttpClient({ raw, report, dir, defaultHttp2: true });
    return {
      jobName,
      scrapeIntervalMs: raw.scrape_interval ?? 0,
      scrapeTimeoutMs: raw.scrape_timeout ?? 0,
      sampleLimit: raw.sample_limit ?? 0,
      targetLimit: raw.target_limit ?? 0,
      labelLimit: raw.label_limit ?? 0,
      labelNameLengthLimit: raw.label_name_length_limit ?? 0,
      labelValueLengthLimit: raw.label_value_length_limit ?? 0,
      bodySizeLimitBytes: raw.body_size_limit ?? 0,
      keepDroppedTargets: raw.keep_dropped_targets ?? 0,
      scrapeProtocols: raw.scrape_protocols === undefined ? undefined : acceptProtocols(raw.scrape_protocols, report),
      scrapeNativeHistograms: raw.scrape_native_histograms,
      validationScheme: validationScheme(raw.metric_name_validation_scheme, report),
      escapingScheme: escapingScheme(raw.metric_name_escaping_scheme, report),
      settled: {
        metricsPath: raw.metrics_path ?? '/metrics',
        scheme: schemeValue === 'https' ? 'https' : 'http',
        params: raw.params ?? new Map(),
        honorLabels: raw.honor_labels ?? false,
        honorTimestamps: raw.honor_timestamps ?? true,
        trackTimestampsStaleness: raw.track_timestamps_staleness ?? false,
        ...optional('fallbackScrapeProtocol', fallbackScrapeProtocol),
        enableCompression: raw.enable_compression ?? true,
        relabelConfigs,
        metricRelabelConfigs: raw.metric_relabel_configs ?? [],
        staticConfigs,
        fileSdConfigs: raw.file_sd_configs ?? [],
        kubernetesSdConfigs: raw.kubernetes_sd_configs ?? [],
        httpClient,
      },
    };
  });
}

interface FinishInput {
  readonly draft: ScrapeDraft;
  readonly global: GlobalConfig;
  /** False when `global` is the default stand-in for a broken global section: skip checks against it. */
  readonly globalValid: boolean;
  readonly report: Reporter;
  readonly path: Path;
}

/** `ScrapeConfig.Validate(globalConfig)`: inherit what the job left unset, then check the result. */
function finishScrapeConfig(input: FinishInput): Omit<ScrapeConfig, 'source'> | undefined {
  const { draft, global, globalValid, report, path } = input;
  let ok = true;
  const fail = (key: string, message: string): void => {
    report.error([...path, key], message);
    ok = false;
  };
  const job = JSON.stringify(draft.jobName);
  // First the interval, then the timeout (explicit or inferred) must not exceed it.
  const scrapeIntervalMs = draft.scrapeIntervalMs === 0 ? global.scrapeIntervalMs : draft.scrapeIntervalMs;
  const intervalIsOwn = draft.scrapeIntervalMs !== 0;
  if (draft.scrapeTimeoutMs > scrapeIntervalMs && (globalValid || intervalIsOwn)) {
    fail(
      'scrape_timeout',
      `scrape timeout (${formatDuration(draft.scrapeTimeoutMs)}) greater than scrape interval ` +
        `(${formatDuration(scrapeIntervalMs)}) for scrape config with job name ${job}`,
    );
  }
  const scrapeTimeoutMs =
    draft.scrapeTimeoutMs === 0 ? Math.min(global.scrapeTimeoutMs, scrapeIntervalMs) : draft.scrapeTimeoutMs;
  const inherit = (own: number, fromGlobal: number): number => (own === 0 ? fromGlobal : own);
  const scrapeNativeHistograms = draft.scrapeNativeHistograms ?? global.scrapeNativeHistograms;
  const scrapeProtocols =
    draft.scrapeProtocols ??
    global.scrapeProtocols ??
    (scrapeNativeHistograms ? defaultProtoFirstScrapeProtocols : defaultScrapeProtocols);

  // The validation scheme follows the global one when blank; so does the escaping scheme, unless the job set its
  // own validation scheme: then escaping follows that, so a legacy job does not inherit allow-utf-8.
  const metricNameValidationScheme = draft.validationScheme ?? global.metricNameValidationScheme;
  const metricNameEscapingScheme =
    draft.escapingScheme ??
    (draft.validationScheme === undefined ? global.metricNameEscapingScheme : impliedEscaping(draft.validationScheme));
  if (metricNameEscapingScheme === 'allow-utf-8' && metricNameValidationScheme !== 'utf8') {
    const message = 'utf8 metric names requested but validation scheme is not set to UTF8';
    // When both come from the global section, that is where to fix it.
    if (draft.escapingScheme === undefined && draft.validationScheme === undefined) {
      report.error(['global', 'metric_name_escaping_scheme'], `${message} (inherited by job ${job})`);
      ok = false;
    } else {
      fail('metric_name_escaping_scheme', message);
    }
  }
  if (!ok) return undefined;
  return {
    ...draft.settled,
    jobName: draft.jobName,
    scrapeIntervalMs,
    scrapeTimeoutMs,
    sampleLimit: inherit(draft.sampleLimit, global.sampleLimit),
    targetLimit: inherit(draft.targetLimit, global.targetLimit),
    labelLimit: inherit(draft.labelLimit, global.labelLimit),
    labelNameLengthLimit: inherit(draft.labelNameLengthLimit, global.labelNameLengthLimit),
    labelValueLengthLimit: inherit(draft.labelValueLengthLimit, global.labelValueLengthLimit),
    bodySizeLimitBytes: inherit(draft.bodySizeLimitBytes, global.bodySizeLimitBytes),
    keepDroppedTargets: inherit(draft.keepDroppedTargets, global.keepDroppedTargets),
    scrapeProtocols,
    scrapeNativeHistograms,
    metricNameValidationScheme,
    metricNameEscapingScheme,
  };
}

/** `targetgroup.Group.UnmarshalYAML`: label names are checked with Prometheus 3's process-wide utf8 scheme. */
const staticConfigSchema = goObject({ targets: goList(text), labels: goMap(text) }).transform(
  (raw, ctx): StaticConfig => {
    const report = reporter(ctx);
    const labels = raw.labels ?? new Map<string, string>();
    for (const [name, value] of labels) {
      if (!isValidLabelName(name, 'utf8')) {
        report(['labels', name], `${JSON.stringify(name)} is not a valid label name`);
      } else if (!isWellFormed(value)) report(['labels', name], 'the label value is not valid UTF-8');
    }
    return { targets: raw.targets ?? [], labels };
  },
);

/** `patFileSDName`: a .json/.yml/.yaml file, with a `*` glob allowed only in the last path component. */
const fileSdPattern = /^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$/;

/** file.go `SDConfig.UnmarshalYAML` + `SetDirectory`. */
function fileSdSchema(dir: string) {
  return goObject({ files: goList(text), refresh_interval: duration }).transform((raw, ctx): FileSDConfig => {
    const report = reporter(ctx);
    const files = raw.files ?? [];
    if (files.length === 0) report(['files'], 'file service discovery config must contain at least one path name');
    files.forEach((name, i) => {
      if (!fileSdPattern.test(name)) {
        report(
          ['files', i],
          `path name ${JSON.stringify(name)} is not valid for file discovery: ` +
            'use a .json, .yml or .yaml file, with * only in the last path component',
        );
      }
    });
    return {
      files: files.map((f) => joinDir(dir, f)),
      refreshIntervalMs: raw.refresh_interval ?? defaultFileSdRefreshMs,
    };
  });
}

/** The selector roles each Kubernetes SD role accepts (kubernetes.go `allowedSelectors`). */
const allowedSelectors: Readonly<Record<KubernetesRole, readonly KubernetesRole[]>> = {
  pod: ['pod'],
  service: ['service'],
  endpointslice: ['pod', 'service', 'endpointslice'],
  endpoints: ['pod', 'service', 'endpoints'],
  node: ['node'],
  ingress: ['ingress'],
};

const roleList = 'pod, service, endpoints, endpointslice, node, ingress';

/** kubernetes.go `SDConfig.UnmarshalYAML` + `SetDirectory`. */
function kubernetesSdSchema(dir: string) {
  return goObject({
    api_server: text,
    role: text,
    kubeconfig_file: text,
    namespaces: goObject({ own_namespace: bool, names: goList(text) }),
    selectors: goList(goObject({ role: text, label: text, field: text })),
    attach_metadata: goObject({ node: bool, namespace: bool }),
    ...httpClientShape,
  }).transform((raw, ctx): KubernetesSDConfig => {
    const report = reporter(ctx);
    const roleText = raw.role ?? '';
    let role: KubernetesRole = 'pod';
    if (roleText === '') report(['role'], `role missing (one of: ${roleList})`);
    else if (isOneOf(roleText, kubernetesRoles)) role = roleText;
    else report(['role'], `unknown Kubernetes SD role ${JSON.stringify(roleText)} (one of: ${roleList})`);

    const httpClient = buildHttpClient({ raw, report, dir, defaultHttp2: true });
    const apiServer = nonEmpty(raw.api_server);
    if (apiServer !== undefined && !isUrl(apiServer)) {
      report(['api_server'], `invalid api_server URL ${redactUrl(apiServer)}`);
    }
    const kubeconfig = nonEmpty(raw.kubeconfig_file);
    const ownNamespace = raw.namespaces?.own_namespace ?? false;
    const custom = isCustomHttpClient(raw, httpClient);
    if (apiServer !== undefined && kubeconfig !== undefined) {
      report(['kubeconfig_file'], "cannot use 'kubeconfig_file' and 'api_server' simultaneously");
    } else if (kubeconfig !== undefined && custom) {
      report(['kubeconfig_file'], "cannot use a custom HTTP client configuration together with 'kubeconfig_file'");
    } else if (apiServer === undefined && custom) {
      report([], "to use custom HTTP client configuration please provide the 'api_server' URL explicitly");
    }
    if (apiServer !== undefined && ownNamespace) {
      report(['namespaces', 'own_namespace'], "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously");
    }
    if (kubeconfig !== undefined && ownNamespace) {
      report(
        ['namespaces', 'own_namespace'],
        "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously",
      );
    }

    const attachNode = raw.attach_metadata?.node ?? false;
    const selectors: KubernetesSelector[] = [];
    const seenRoles = new Set<string>();
    (raw.selectors ?? []).forEach((s, i) => {
      const at = (key: string): Path => ['selectors', i, key];
      const selectorRole = s.role ?? '';
      if (selectorRole !== '' && !isOneOf(selectorRole, kubernetesRoles)) {
        report(at('role'), `unknown Kubernetes SD role ${JSON.stringify(selectorRole)} (one of: ${roleList})`);
        return;
      }
      if (seenRoles.has(selectorRole)) {
        report(at('role'), `duplicated selector role: ${selectorRole}`);
        return;
      }
      seenRoles.add(selectorRole);
      // Prometheus 3 also lets the pod role select the nodes it attaches metadata from.
      const allowed: readonly KubernetesRole[] =
        role === 'pod' && attachNode ? ['pod', 'node'] : allowedSelectors[role];
      if (!isOneOf(selectorRole, allowed)) {
        report(at('role'), `${role} role supports only ${allowed.join(', ')} selectors`);
        return;
      }
      const fieldProblem = fieldSelectorProblem(s.field ?? '');
      if (fieldProblem !== undefined) report(at('field'), fieldProblem);
      const labelProblem = labelSelectorProblem(s.label ?? '');
      if (labelProblem !== undefined) report(at('label'), labelProblem);
      selectors.push({
        role: selectorRole,
        ...optional('label', nonEmpty(s.label)),
        ...optional('field', nonEmpty(s.field)),
      });
    });

    return {
      role,
      ...optional('apiServer', apiServer),
      ...optional('kubeconfigFile', kubeconfig === undefined ? undefined : joinDir(dir, kubeconfig)),
      namespaces: { ownNamespace, names: raw.namespaces?.names ?? [] },
      selectors,
      attachMetadata: { node: attachNode, namespace: raw.attach_metadata?.namespace ?? false },
      httpClient,
    };
  });
}

/** Headers remote write sets itself (config.go reservedHeaders); `authorization` has its own message. */
const reservedRemoteWriteHeaders = new Set([
  'host',
  'content-encoding',
  'content-length',
  'content-type',
  'user-agent',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'www-authenticate',
  'accept-encoding',
  'x-prometheus-remote-write-version',
  'x-prometheus-remote-read-version',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
]);

/** `RemoteWriteConfig.UnmarshalYAML` + `Validate`, with `DefaultRemoteWriteConfig`. */
function remoteWriteSchema({ dir, scheme }: SchemaOptions & { scheme: NameValidationScheme }) {
  return goObject({
    url: text,
    remote_timeout: duration,
    headers: goMap(text),
    write_relabel_configs: relabelList(scheme),
    name: text,
    send_exemplars: bool,
    send_native_histograms: bool,
    round_robin_dns: bool,
    protobuf_message: text,
    queue_config: goObject({
      capacity: int,
      max_shards: int,
      min_shards: int,
      max_samples_per_send: int,
      batch_send_deadline: duration,
      min_backoff: duration,
      max_backoff: duration,
      retry_on_http_429: bool,
      sample_age_limit: duration,
    }),
    metadata_config: goObject({ send: bool, send_interval: duration, max_samples_per_send: int }),
    sigv4: anyMapping,
    azuread: anyMapping,
    google_iam: anyMapping,
    ...httpClientShape,
  }).transform((raw, ctx): Omit<RemoteWriteConfig, 'source'> => {
    const report = reporter(ctx);
    const url = nonEmpty(raw.url) ?? '';
    if (url === '') report(['url'], 'url for remote_write is empty');
    else if (!isUrl(url) || !/^https?:$/.test(new URL(url).protocol)) {
      report(['url'], `url for remote_write must be an http or https URL, got ${redactUrl(url)}`);
    }
    const headers = raw.headers ?? new Map<string, string>();
    for (const name of headers.keys()) {
      const lower = name.toLowerCase();
      if (lower === 'authorization') {
        report(
          ['headers', name],
          'authorization header must be changed via the basic_auth, authorization, oauth2, sigv4, azuread ' +
            'or google_iam parameter',
        );
      } else if (reservedRemoteWriteHeaders.has(lower)) {
        report(['headers', name], `${name} is a reserved header. It must not be changed`);
      }
    }
    const message = raw.protobuf_message ?? 'prometheus.WriteRequest';
    let protobufMessage: RemoteWriteMessage = 'prometheus.WriteRequest';
    if (isOneOf(message, remoteWriteMessages)) protobufMessage = message;
    else {
      report(
        ['protobuf_message'],
        `invalid protobuf_message value: unknown remote write protobuf message ${message}, ` +
          `supported: ${remoteWriteMessages.join(', ')}`,
      );
    }
    const httpClient = buildHttpClient({ raw, report, dir, defaultHttp2: false });
    // validateAuthConfigs runs after Validate moved bearer_token into authorization.
    const configured: Readonly<Record<string, unknown>> = {
      basic_auth: httpClient.basicAuth,
      authorization: httpClient.authorization,
      oauth2: raw.oauth2,
      sigv4: raw.sigv4,
      azuread: raw.azuread,
      google_iam: raw.google_iam,
    };
    const auth = Object.keys(configured).filter((name) => configured[name] !== undefined);
    if (auth.length > 1) {
      report(
        [],
        'at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam must be configured. ' +
          `Currently configured: [${auth.join(' ')}]`,
      );
    }
    const q = raw.queue_config ?? {};
    const m = raw.metadata_config ?? {};
    return {
      url,
      name: raw.name ?? '',
      remoteTimeoutMs: raw.remote_timeout ?? 30_000,
      headers,
      writeRelabelConfigs: raw.write_relabel_configs ?? [],
      sendExemplars: raw.send_exemplars ?? false,
      sendNativeHistograms: raw.send_native_histograms ?? false,
      roundRobinDns: raw.round_robin_dns ?? false,
      protobufMessage,
      queueConfig: {
        capacity: q.capacity ?? defaultQueue.capacity,
        maxShards: q.max_shards ?? defaultQueue.maxShards,
        minShards: q.min_shards ?? defaultQueue.minShards,
        maxSamplesPerSend: q.max_samples_per_send ?? defaultQueue.maxSamplesPerSend,
        batchSendDeadlineMs: q.batch_send_deadline ?? defaultQueue.batchSendDeadlineMs,
        minBackoffMs: q.min_backoff ?? defaultQueue.minBackoffMs,
        maxBackoffMs: q.max_backoff ?? defaultQueue.maxBackoffMs,
        retryOnHttp429: q.retry_on_http_429 ?? defaultQueue.retryOnHttp429,
        sampleAgeLimitMs: q.sample_age_limit ?? defaultQueue.sampleAgeLimitMs,
      },
      metadataConfig: {
        send: m.send ?? defaultMetadata.send,
        sendIntervalMs: m.send_interval ?? defaultMetadata.sendIntervalMs,
        maxSamplesPerSend: m.max_samples_per_send ?? defaultMetadata.maxSamplesPerSend,
      },
      httpClient,
    };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Sizes (alecthomas/units ParseBase2Bytes, as `body_size_limit` reads them)
// ---------------------------------------------------------------------------------------------------------------

const base2Units: Readonly<Record<string, number>> = {
  B: 1,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
  PiB: 2 ** 50,
  EiB: 2 ** 60,
};
const legacyUnits: Readonly<Record<string, number>> = {
  B: 1,
  KB: 2 ** 10,
  MB: 2 ** 20,
  GB: 2 ** 30,
  TB: 2 ** 40,
  PB: 2 ** 50,
  EB: 2 ** 60,
};

/**
 * Parses a `<size>` as Prometheus does (`units.ParseBase2Bytes`): a number (fractions allowed) and a unit, where KB
 * and KiB both mean 1024 bytes (kB is rejected), optionally several terms (`1GB512MB`); "0" needs no unit. The
 * result is whole bytes. Negative sizes, which Prometheus would treat as "no limit", are rejected.
 */
export function parseSize(input: string): number | { readonly error: string } {
  const quoted = JSON.stringify(input);
  if (input === '0') return 0;
  if (input.startsWith('-')) return { error: `invalid size ${quoted}: a size cannot be negative` };
  const s = input.startsWith('+') ? input.slice(1) : input;
  if (s === '0') return 0;
  const terms = [...s.matchAll(/([0-9]*(?:\.[0-9]*)?)([^0-9.]*)/g)].filter((m) => m[0] !== '');
  if (s === '' || terms.map((m) => m[0]).join('') !== s) return { error: `invalid size ${quoted}` };
  const tryUnits = (units: Readonly<Record<string, number>>): number | undefined => {
    let total = 0;
    for (const [, num = '', unit = ''] of terms) {
      const mult = units[unit];
      if (mult === undefined || num === '' || num === '.') return undefined;
      total += Number(num) * mult;
    }
    return total;
  };
  const total = tryUnits(base2Units) ?? tryUnits(legacyUnits);
  if (total === undefined) {
    const known = (unit: string): boolean => base2Units[unit] !== undefined || legacyUnits[unit] !== undefined;
    const why = terms.some(([, num = '']) => num === '' || num === '.')
      ? 'a number is required before each unit'
      : terms.some(([, , unit = '']) => unit === '')
        ? 'a unit is required'
        : terms
            .map(([, , unit = '']) => unit)
            .filter((unit) => !known(unit))
            .map((unit) => `unknown unit ${JSON.stringify(unit)}`)[0] ?? 'KiB-style and KB-style units cannot be mixed';
    return { error: `invalid size ${quoted}: ${why} (use B, KB, MB, GB, TB, PB or EB, powers of 1024, e.g. 100MB)` };
  }
  if (total >= 2 ** 63 || !Number.isSafeInteger(Math.trunc(total))) {
    return { error: `invalid size ${quoted}: out of range` };
  }
  return Math.trunc(total);
}

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes selectors (k8s.io/apimachinery labels.Parse and fields.ParseSelector)
// ---------------------------------------------------------------------------------------------------------------

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const qualifiedNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const NAME_RULE = "up to 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";

function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  const name = parts.at(-1) ?? '';
  const prefix = parts.length === 2 ? (parts[0] ?? '') : undefined;
  if (parts.length > 2) return `invalid label key ${JSON.stringify(key)}: at most one "/"`;
  if (prefix !== undefined && (prefix === '' || prefix.length > 253 || !dnsSubdomain.test(prefix))) {
    return `invalid label key ${JSON.stringify(key)}: the prefix must be a DNS subdomain`;
  }
  if (name.length === 0 || name.length > 63 || !qualifiedNamePart.test(name)) {
    return `invalid label key ${JSON.stringify(key)}: the name part must be ${NAME_RULE}`;
  }
  return undefined;
}

function labelValueProblem(value: string): string | undefined {
  if (value.length <= 63 && labelValuePattern.test(value)) return undefined;
  return `invalid label value ${JSON.stringify(value)}: it must be empty or ${NAME_RULE}`;
}

/** Tokens of a label selector: operators and parentheses, or identifiers (anything else up to a space or operator). */
function labelSelectorTokens(s: string): string[] {
  return [...s.matchAll(/\s*(!=|==|=|!|,|\(|\)|<|>|[^\s!=,()<>]+)/gy)].map((m) => m[1] ?? '');
}

/** Why `labels.Parse` would reject `selector`, or undefined when it parses. "" selects everything. */
function labelSelectorProblem(selector: string): string | undefined {
  const tokens = labelSelectorTokens(selector);
  const bad = (why: string): string => `invalid label selector ${JSON.stringify(selector)}: ${why}`;
  if (tokens.join('').replace(/\s/g, '') !== selector.replace(/\s/g, '')) return bad('cannot read it');
  const isIdent = (t: string | undefined): t is string => t !== undefined && /^[^\s!=,()<>]+$/.test(t);
  let i = 0;
  while (i < tokens.length) {
    const negated = tokens[i] === '!';
    if (negated) i++;
    const key = tokens[i++];
    if (!isIdent(key)) return bad('expected a label key');
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== undefined) return bad(keyProblem);
    const op = tokens[i];
    if (negated || op === undefined || op === ',') {
      if (negated && op !== undefined && op !== ',') return bad(`unexpected ${JSON.stringify(op)} after !${key}`);
    } else if (op === '=' || op === '==' || op === '!=') {
      i++;
      const value = isIdent(tokens[i]) ? (tokens[i++] ?? '') : '';
      const valueProblem = labelValueProblem(value);
      if (valueProblem !== undefined) return bad(valueProblem);
    } else if (op === '>' || op === '<') {
      i++;
      const value = tokens[i++];
      if (value === undefined || !/^[+-]?[0-9]+$/.test(value)) return bad(`${op} needs an integer`);
    } else if (op === 'in' || op === 'notin') {
      i++;
      if (tokens[i++] !== '(') return bad(`expected ( after ${op}`);
      while (tokens[i] !== ')') {
        const value = tokens[i++];
        if (value === undefined) return bad('missing )');
        if (value === ',') continue;
        if (!isIdent(value)) return bad(`unexpected ${JSON.stringify(value)} in the value list`);
        const valueProblem = labelValueProblem(value);
        if (valueProblem !== undefined) return bad(valueProblem);
      }
      i++;
    } else {
      return bad(`unexpected ${JSON.stringify(op)} after ${key}`);
    }
    if (i < tokens.length && tokens[i++] !== ',') return bad('requirements must be separated by ","');
    if (i === tokens.length && tokens.at(-1) === ',') return bad('a requirement is missing after ","');
  }
  return undefined;
}

/** Why `fields.ParseSelector` would reject `selector`: terms `key=value`, `key==value` or `key!=value`, `\` escapes. */
function fieldSelectorProblem(selector: string): string | undefined {
  for (const term of selector.split(/(?<!\\),/)) {
    if (term === '') continue;
    if (/\\[^\\,=]|\\$/.test(term.replace(/\\\\/g, ''))) {
      return `invalid field selector ${JSON.stringify(selector)}: invalid escape sequence in ${JSON.stringify(term)}`;
    }
    const m = /^(.*?)(?<!\\)(!=|==|=)/.exec(term);
    if (m === null || m[1] === '') {
      const quoted = JSON.stringify(selector);
      const expected = 'expected key=value, key==value or key!=value';
      return `invalid field selector ${quoted}: can't understand ${JSON.stringify(term)}, ${expected}`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------------

/** `{ [key]: value }` when value is defined, else `{}`: builds objects with optional properties. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function joinOptional(dir: string, file: string | undefined): string | undefined {
  return file === undefined || file === '' ? undefined : joinDir(dir, file);
}

function nonZero(value: number | undefined): number | undefined {
  return value === undefined || value === 0 ? undefined : value;
}

function countSet(...values: readonly (string | Secret | undefined)[]): number {
  return values.filter((v) => v !== undefined && v !== '').length;
}

function definedOnly<T>(values: readonly (T | undefined)[]): T[] {
  return values.filter((v): v is T => v !== undefined);
}

function isOneOf<T extends string>(value: string, options: readonly T[]): value is T {
  return (options as readonly string[]).includes(value);
}

/** Whether a JavaScript string is valid UTF-16, so valid UTF-8 once encoded (no lone surrogates). */
function isWellFormed(value: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value);
}

function isUrl(value: string): boolean {
  return URL.canParse(value);
}

/** A URL for messages, with any password replaced as prometheus/common's `URL.Redacted` does. */
function redactUrl(value: string): string {
  if (!URL.canParse(value)) return JSON.stringify(value.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:xxxxx@'));
  const url = new URL(value);
  if (url.password !== '') url.password = 'xxxxx';
  return JSON.stringify(url.href);
}

/** Go's `textproto.CanonicalMIMEHeaderKey` for ASCII names: `x-scope-orgid` → `X-Scope-Orgid`. */
function canonicalHeaderKey(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

/** prometheus/common `JoinDir`: relative paths are joined with the config file's directory and cleaned. */
function joinDir(dir: string, file: string): string {
  if (file === '' || posix.isAbsolute(file)) return file;
  const joined = posix.join(dir, file);
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
}

/**
 * Go's `os.Expand` with Prometheus' mapping (`config.Load`): `$VAR` and `${VAR}` become the variable's value or "",
 * `$$` is `$`, and Go's rules for special and malformed references are kept (`${}` is dropped, a `$` before a
 * character that cannot start a name stays).
 */
function expandEnv(value: string, env: Readonly<Record<string, string | undefined>>): string {
  const lookup = (name: string): string => (name === '$' ? '$' : (env[name] ?? ''));
  let out = '';
  let i = 0;
  while (i < value.length) {
    const c = value[i] ?? '';
    if (c !== '$' || i + 1 >= value.length) {
      out += c;
      i++;
      continue;
    }
    const rest = value.slice(i + 1);
    const special = /^[*#$@!?\-0-9]/.test(rest);
    if (rest.startsWith('{')) {
      if (rest.length > 2 && /^[*#$@!?\-0-9]$/.test(rest[1] ?? '') && rest[2] === '}') {
        out += lookup(rest[1] ?? '');
        i += 4;
        continue;
      }
      const close = rest.indexOf('}');
      // "${}" and an unclosed "${" are bad syntax: Go drops the characters it consumed.
      if (close === 1) i += 3;
      else if (close === -1) i += 2;
      else {
        out += lookup(rest.slice(1, close));
        i += close + 2;
      }
      continue;
    }
    if (special) {
      out += lookup(rest[0] ?? '');
      i += 2;
      continue;
    }
    const name = /^[A-Za-z0-9_]*/.exec(rest)?.[0] ?? '';
    if (name === '') {
      out += '$';
      i++;
    } else {
      out += lookup(name);
      i += 1 + name.length;
    }
  }
  return out;
}

function readOnly(): never {
  throw new TypeError('the configuration is read-only');
}

/**
 * A Map whose mutators throw, frozen: the config's maps are as immutable as its objects. It stays a plain `Map`
 * (not a subclass) so that it compares equal to other maps.
 */
function freezeMap(entries: Iterable<readonly [unknown, unknown]>): ReadonlyMap<unknown, unknown> {
  const map = new Map(entries);
  for (const method of ['set', 'delete', 'clear']) Object.defineProperty(map, method, { value: readOnly });
  return Object.freeze(map);
}

/** Freezes plain objects, arrays and maps all the way down; class instances (secrets, regexes) are left alone. */
function deepFreeze<T>(value: T): T {
  return freezeValue(value) as T;
}

function freezeValue(value: unknown): unknown {
  if (value instanceof Map) {
    if (Object.isFrozen(value)) return value;
    return freezeMap([...(value as Map<unknown, unknown>)].map(([k, v]) => [k, freezeValue(v)] as const));
  }
  if (Array.isArray(value)) return Object.freeze(value.map(freezeValue));
  if (typeof value === 'object' && value !== null) {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = freezeValue(v);
    return Object.freeze(out);
  }
  return value;
}
