/**
 * Conversion between the model's configuration types and the fleet protocol's settings messages.
 *
 * The master turns what the config loader produced (`ScrapeConfig`, `RemoteWriteConfig`, relabel rules, targets)
 * into `ScrapeJob`, `RemoteWriteEndpoint`, `RelabelRule` and `Target` messages; the worker turns them back into the
 * very same model types, so its scrape and remote-write code sees exactly what the loader gives. Encoding trusts its
 * input (it came from the loader) and refuses only values the wire cannot carry; decoding trusts nothing and turns
 * every breach of fleet.proto's contract into a {@link SettingsDecodeError} that names the field.
 *
 * Secrets travel in clear inside the messages (the worker has to present them) and come back wrapped in `Secret`.
 * No error raised here includes a secret, a URL or a header value.
 */
import { createHash } from 'node:crypto';
import {
  LabelName,
  Secret,
  parseDuration,
  parseRelabelRules,
  type HttpClientConfig,
  type Labels,
  type NameValidationScheme as ModelNameValidationScheme,
  type RelabelAction as ModelRelabelAction,
  type RelabelRule as ModelRelabelRule,
  type RemoteWriteConfig,
  type ScrapeConfig,
  type Target as ModelTarget,
} from '@promfleet/model';
import { DuplicateLabelError, InvalidTargetIdError } from './errors.js';
import {
  NameEscapingScheme,
  NameValidationScheme,
  RelabelAction,
  RemoteWriteProtocol,
  ScrapeProtocol,
  TlsVersion,
  type Authorization as ProtoAuthorization,
  type BasicAuth as ProtoBasicAuth,
  type HttpClient,
  type HttpHeader as ProtoHttpHeader,
  type Label,
  type ParamValues,
  type QueueSettings,
  type RelabelRule as ProtoRelabelRule,
  type RemoteWriteEndpoint,
  type ScrapeJob,
  type Target as ProtoTarget,
  type TlsSettings,
} from './gen/promfleet/fleet/v1/fleet.js';
import { targetIdFromBytes, targetIdToBytes } from './ids.js';
import { labelsFromProto, labelsToProto } from './labels.js';

type ModelScrapeProtocol = ScrapeConfig['scrapeProtocols'][number];
type ModelEscapingScheme = ScrapeConfig['metricNameEscapingScheme'];
type ModelTlsConfig = HttpClientConfig['tlsConfig'];
type ModelTlsVersion = NonNullable<ModelTlsConfig['minVersion']>;
type ModelBasicAuth = NonNullable<HttpClientConfig['basicAuth']>;
type ModelAuthorization = NonNullable<HttpClientConfig['authorization']>;
type ModelHttpHeader = HttpClientConfig['httpHeaders'] extends ReadonlyMap<string, infer H> ? H : never;
type ModelQueueConfig = RemoteWriteConfig['queueConfig'];

/** Stable codes of the settings conversion errors. */
export const SettingsErrorCode = {
  decode: 'PROMFLEET_PROTOCOL_INVALID_SETTINGS',
  encode: 'PROMFLEET_PROTOCOL_UNENCODABLE_SETTINGS',
} as const;

/**
 * What was wrong with a decoded field: a required field left unset or empty (`missing`), an enum at its UNSPECIFIED
 * value where fleet.proto requires one (`unspecified-enum`) or at a value this code does not know
 * (`unknown-enum`), a relabel rule the model rejects (`invalid-relabel-rule`), a label set naming a label twice
 * (`duplicate-label`), or any other value outside the contract (`invalid-value`).
 */
export type SettingsDecodeProblem =
  | 'missing'
  | 'unspecified-enum'
  | 'unknown-enum'
  | 'invalid-relabel-rule'
  | 'duplicate-label'
  | 'invalid-value';

/**
 * A settings message from the master that breaks fleet.proto's contract. The worker treats it as a protocol error
 * (the proto's rule for unspecified and unknown enum values), so `field` names the offending field in the proto's
 * own spelling, from the collection down, for example `jobs[web].metric_relabel_configs[2].regex`. The message
 * never contains a secret or a URL.
 */
export class SettingsDecodeError extends Error {
  override readonly name = 'SettingsDecodeError';
  readonly code = SettingsErrorCode.decode;
  /** The offending field, for example `remote_write[primary].queue`. */
  readonly field: string;
  /** What was wrong with it. */
  readonly problem: SettingsDecodeProblem;
  /** What is wrong, without the field: the message is `<field>: <detail>`. */
  readonly detail: string;

  /** Creates the error for `field`; `detail` says what is wrong without quoting secrets. */
  constructor(options: { field: string; problem: SettingsDecodeProblem; detail: string; cause?: unknown }) {
    super(`${options.field}: ${options.detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.field = options.field;
    this.problem = options.problem;
    this.detail = options.detail;
  }
}

/**
 * A configuration value the fleet protocol cannot carry, such as a `scrape_interval` longer than the 49.7 days a
 * uint32 of milliseconds holds, or a target that still has `__meta_*` labels. The master raises it while building
 * settings, so it can refuse the configuration instead of sending a message the encoder would reject.
 */
export class SettingsEncodeError extends Error {
  override readonly name = 'SettingsEncodeError';
  readonly code = SettingsErrorCode.encode;
  /** The field that cannot be encoded, in the proto's spelling, for example `jobs[web].sample_limit`. */
  readonly field: string;

  /** Creates the error for `field`; `detail` says why and what to change. */
  constructor(options: { field: string; detail: string }) {
    super(`${options.field}: ${options.detail}`);
    this.field = options.field;
  }
}

// Enum tables: a Record keyed by the model's names is checked for completeness by the compiler; the reverse maps
// are built from it, so the two directions cannot disagree.

const relabelActionToProto: Readonly<Record<ModelRelabelAction, RelabelAction>> = {
  replace: RelabelAction.REPLACE,
  keep: RelabelAction.KEEP,
  drop: RelabelAction.DROP,
  keepequal: RelabelAction.KEEPEQUAL,
  dropequal: RelabelAction.DROPEQUAL,
  hashmod: RelabelAction.HASHMOD,
  labelmap: RelabelAction.LABELMAP,
  labeldrop: RelabelAction.LABELDROP,
  labelkeep: RelabelAction.LABELKEEP,
  lowercase: RelabelAction.LOWERCASE,
  uppercase: RelabelAction.UPPERCASE,
};
const scrapeProtocolToProto: Readonly<Record<ModelScrapeProtocol, ScrapeProtocol>> = {
  PrometheusProto: ScrapeProtocol.PROMETHEUS_PROTO,
  'PrometheusText0.0.4': ScrapeProtocol.PROMETHEUS_TEXT_0_0_4,
  'PrometheusText1.0.0': ScrapeProtocol.PROMETHEUS_TEXT_1_0_0,
  'OpenMetricsText0.0.1': ScrapeProtocol.OPENMETRICS_TEXT_0_0_1,
  'OpenMetricsText1.0.0': ScrapeProtocol.OPENMETRICS_TEXT_1_0_0,
};
const validationToProto: Readonly<Record<ModelNameValidationScheme, NameValidationScheme>> = {
  utf8: NameValidationScheme.UTF8,
  legacy: NameValidationScheme.LEGACY,
};
const escapingToProto: Readonly<Record<ModelEscapingScheme, NameEscapingScheme>> = {
  'allow-utf-8': NameEscapingScheme.ALLOW_UTF8,
  underscores: NameEscapingScheme.UNDERSCORES,
  dots: NameEscapingScheme.DOTS,
  values: NameEscapingScheme.VALUES,
};
const tlsVersionToProto: Readonly<Record<ModelTlsVersion, TlsVersion>> = {
  TLS10: TlsVersion.TLS10,
  TLS11: TlsVersion.TLS11,
  TLS12: TlsVersion.TLS12,
  TLS13: TlsVersion.TLS13,
};

function invert<M extends string>(table: Readonly<Record<M, number>>): ReadonlyMap<number, M> {
  return new Map((Object.keys(table) as M[]).map((name) => [table[name], name] as const));
}

const relabelActionFromProto = invert(relabelActionToProto);
const scrapeProtocolFromProto = invert(scrapeProtocolToProto);
const validationFromProto = invert(validationToProto);
const escapingFromProto = invert(escapingToProto);
const tlsVersionFromProto = invert(tlsVersionToProto);

/** Prometheus' default relabel regex (`DefaultRelabelConfig.Regex`), the text fleet.proto sends when none was set. */
const defaultRegexSource = '(.*)';
const maxUint32 = 0xffff_ffff;

// ---------------------------------------------------------------------------------------------------------------
// Relabel rules

/**
 * Converts a parsed relabel rule to its wire form. The regex travels as the source text the user wrote (Prometheus
 * anchors it as `^(?s:<regex>)$` when compiling; the text itself is unanchored), a missing modulus as 0, and every
 * other field as the resolved value. Used for both `metric_relabel_configs` and `write_relabel_configs`.
 */
export function relabelRuleToProto(rule: ModelRelabelRule): ProtoRelabelRule {
  return {
    action: relabelActionToProto[rule.action],
    sourceLabels: [...rule.sourceLabels],
    separator: rule.separator,
    regex: rule.regex.source,
    modulus: rule.modulus ?? 0,
    targetLabel: rule.targetLabel,
    replacement: rule.replacement,
  };
}

/** Options for {@link relabelRuleFromProto}. */
export interface RelabelRuleFromProtoOptions {
  /** The rule's field path for errors, for example `jobs[web].metric_relabel_configs[2]`; default `relabel_rule`. */
  readonly field?: string;
  /**
   * The name validation scheme the rule is checked under, as the config loader checked it: the job's
   * `metric_name_validation_scheme` for metric relabeling. Default `utf8`, which accepts every rule `legacy` does.
   */
  readonly nameValidation?: ModelNameValidationScheme;
}

/**
 * Rebuilds a relabel rule from its wire form with the model's own parser (`parseRelabelRules`), so the rule is
 * validated exactly as a rule from YAML is and behaves identically under `relabel()`: the regex is compiled from its
 * source text, Prometheus' validity checks run (a hashmod rule without a modulus, a keepequal rule with a regex,
 * an invalid target label are all refused), and a regex of `(.*)` becomes the model's shared default instance.
 * That last point matters because Prometheus compares against the default regex by identity
 * (`relabel.go`: the replace fast path, the keepequal/dropequal checks); an explicit `(.*)` and the default behave
 * the same under `relabel()`, and the default instance keeps the fast path.
 *
 * @throws SettingsDecodeError with problem `unspecified-enum` or `unknown-enum` for the action, and
 *   `invalid-relabel-rule` for anything the model's parser rejects, naming the field (for example `<field>.regex`).
 */
export function relabelRuleFromProto(msg: ProtoRelabelRule, options?: RelabelRuleFromProtoOptions): ModelRelabelRule {
  const field = options?.field ?? 'relabel_rule';
  const action = enumFromProto({ table: relabelActionFromProto, value: msg.action, field: `${field}.action` });
  // The raw YAML shape the model parses: keys left out where Prometheus requires their absence (keepequal takes
  // no regex or modulus, labeldrop no source_labels), "" source labels as YAML nulls (how the loader gets them).
  const raw: Record<string, unknown> = {
    action,
    separator: msg.separator,
    target_label: msg.targetLabel,
    replacement: msg.replacement,
  };
  if (msg.sourceLabels.length > 0) raw['source_labels'] = msg.sourceLabels.map((name) => (name === '' ? null : name));
  if (msg.regex !== defaultRegexSource) raw['regex'] = msg.regex;
  if (msg.modulus !== 0) raw['modulus'] = msg.modulus;
  const parsed = parseRelabelRules([raw], { nameValidation: options?.nameValidation ?? 'utf8' });
  if (parsed.ok) {
    const [rule] = parsed.rules;
    if (rule !== undefined) return rule;
  }
  const issues = parsed.ok ? [] : parsed.errors;
  const first = issues[0];
  throw new SettingsDecodeError({
    field: first === undefined || first.path === '' ? field : `${field}.${protoPath(first.path)}`,
    problem: 'invalid-relabel-rule',
    detail: issues.length === 0 ? 'the rule was not accepted' : issues.map((issue) => issue.message).join('; '),
  });
}

/** `source_labels.1` (the model's dotted issue path) as `source_labels[1]`. */
function protoPath(dotted: string): string {
  return dotted
    .split('.')
    .map((segment, i) => (/^\d+$/.test(segment) ? `[${segment}]` : i === 0 ? segment : `.${segment}`))
    .join('');
}

function relabelRulesFromProto(
  rules: readonly ProtoRelabelRule[],
  options: { field: string; nameValidation: ModelNameValidationScheme },
): ModelRelabelRule[] {
  return rules.map((rule, i) =>
    relabelRuleFromProto(rule, { field: `${options.field}[${i}]`, nameValidation: options.nameValidation }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Scrape jobs

/**
 * Converts a scrape job to the `ScrapeJob` a worker needs: everything that shapes a scrape, its limits, metric
 * relabeling and the HTTP client, with every default and global inheritance already applied by the loader.
 * Discovery (`static_configs`, `file_sd_configs`, `kubernetes_sd_configs`), target relabeling (`relabel_configs`)
 * and the master-side limits (`target_limit`, `keep_dropped_targets`) stay on the master and are not sent;
 * `forced_error` is empty here: the master sets it while the job is over its target_limit.
 *
 * @throws SettingsEncodeError if a value does not fit its wire field (an interval or limit above 2^32-1).
 */
export function scrapeJobToProto(job: ScrapeConfig): ScrapeJob {
  const field = `jobs[${job.jobName}]`;
  const u32 = (value: number, name: string): number => uint32({ value, field: `${field}.${name}` });
  return {
    name: job.jobName,
    scrapeIntervalMs: u32(job.scrapeIntervalMs, 'scrape_interval_ms'),
    scrapeTimeoutMs: u32(job.scrapeTimeoutMs, 'scrape_timeout_ms'),
    metricsPath: job.metricsPath,
    scheme: job.scheme,
    params: new Map([...job.params].map(([name, values]): [string, ParamValues] => [name, { values: [...values] }])),
    honorLabels: job.honorLabels,
    honorTimestamps: job.honorTimestamps,
    trackTimestampsStaleness: job.trackTimestampsStaleness,
    sampleLimit: u32(job.sampleLimit, 'sample_limit'),
    labelLimit: u32(job.labelLimit, 'label_limit'),
    labelNameLengthLimit: u32(job.labelNameLengthLimit, 'label_name_length_limit'),
    labelValueLengthLimit: u32(job.labelValueLengthLimit, 'label_value_length_limit'),
    bodySizeLimitBytes: job.bodySizeLimitBytes,
    scrapeProtocols: job.scrapeProtocols.map((p) => scrapeProtocolToProto[p]),
    fallbackScrapeProtocol:
      job.fallbackScrapeProtocol === undefined ? ScrapeProtocol.UNSPECIFIED : scrapeProtocolToProto[job.fallbackScrapeProtocol],
    enableCompression: job.enableCompression,
    metricNameValidationScheme: validationToProto[job.metricNameValidationScheme],
    metricNameEscapingScheme: escapingToProto[job.metricNameEscapingScheme],
    metricRelabelConfigs: job.metricRelabelConfigs.map(relabelRuleToProto),
    httpClient: httpClientToProto(job.httpClient),
    forcedError: '',
  };
}

/**
 * Rebuilds the `ScrapeConfig` a worker scrapes with from a `ScrapeJob`. These fields round-trip
 * (`scrapeJobFromProto(scrapeJobToProto(job))` has the loader's values): `jobName`, `scrapeIntervalMs`,
 * `scrapeTimeoutMs`, `metricsPath`, `scheme`, `params`, `honorLabels`, `honorTimestamps`,
 * `trackTimestampsStaleness`, `sampleLimit`, `labelLimit`, `labelNameLengthLimit`, `labelValueLengthLimit`,
 * `bodySizeLimitBytes`, `scrapeProtocols`, `fallbackScrapeProtocol`, `enableCompression`,
 * `metricNameValidationScheme`, `metricNameEscapingScheme`, `metricRelabelConfigs` and `httpClient` (but its
 * `proxyConnectHeader`, see {@link httpClientFromProto}).
 *
 * These come back empty because the worker does not use them: `relabelConfigs`, `staticConfigs`, `fileSdConfigs`
 * and `kubernetesSdConfigs` are `[]`; `targetLimit` and `keepDroppedTargets` are 0 (no limit: the master enforces
 * them); `scrapeNativeHistograms` is false (promfleet does not scrape native histograms; the protocol list already
 * reflects the switch); `source` is `{ file: '', line: 0 }` (the file lives on the master).
 *
 * Metric relabel rules are validated under the job's own `metric_name_validation_scheme`, as the loader did.
 *
 * @throws SettingsDecodeError naming the field (`jobs[<name>].<field>`) for a missing name or HTTP client, an
 *   unspecified or unknown enum, an empty protocol list, a scheme other than http/https, a zero interval or
 *   timeout, a timeout above the interval, or a relabel rule the model rejects.
 * @returns A new object owned by the caller.
 */
export function scrapeJobFromProto(msg: ScrapeJob): ScrapeConfig {
  const field = `jobs[${msg.name}]`;
  const at = (name: string): string => `${field}.${name}`;
  if (msg.name === '') throw missing(at('name'));
  if (msg.scrapeIntervalMs === 0) throw invalid(at('scrape_interval_ms'), 'the scrape interval must be above 0');
  if (msg.scrapeTimeoutMs === 0) throw invalid(at('scrape_timeout_ms'), 'the scrape timeout must be above 0');
  if (msg.scrapeTimeoutMs > msg.scrapeIntervalMs) {
    throw invalid(at('scrape_timeout_ms'), `${msg.scrapeTimeoutMs} ms is above the interval of ${msg.scrapeIntervalMs} ms`);
  }
  if (msg.scheme !== 'http' && msg.scheme !== 'https') {
    throw invalid(at('scheme'), `scheme must be "http" or "https", got ${JSON.stringify(msg.scheme)}`);
  }
  if (msg.scrapeProtocols.length === 0) throw missing(at('scrape_protocols'));
  const scrapeProtocols = msg.scrapeProtocols.map((value, i) =>
    enumFromProto({ table: scrapeProtocolFromProto, value, field: at(`scrape_protocols[${i}]`) }),
  );
  const fallbackScrapeProtocol = optionalEnumFromProto({
    table: scrapeProtocolFromProto,
    value: msg.fallbackScrapeProtocol,
    field: at('fallback_scrape_protocol'),
  });
  const metricNameValidationScheme = enumFromProto({
    table: validationFromProto,
    value: msg.metricNameValidationScheme,
    field: at('metric_name_validation_scheme'),
  });
  const metricNameEscapingScheme = enumFromProto({
    table: escapingFromProto,
    value: msg.metricNameEscapingScheme,
    field: at('metric_name_escaping_scheme'),
  });
  if (msg.httpClient === undefined) throw missing(at('http_client'));
  return {
    jobName: msg.name,
    scrapeIntervalMs: msg.scrapeIntervalMs,
    scrapeTimeoutMs: msg.scrapeTimeoutMs,
    metricsPath: msg.metricsPath,
    scheme: msg.scheme,
    params: new Map([...msg.params].map(([name, { values }]) => [name, [...values]])),
    honorLabels: msg.honorLabels,
    honorTimestamps: msg.honorTimestamps,
    trackTimestampsStaleness: msg.trackTimestampsStaleness,
    sampleLimit: msg.sampleLimit,
    targetLimit: 0,
    labelLimit: msg.labelLimit,
    labelNameLengthLimit: msg.labelNameLengthLimit,
    labelValueLengthLimit: msg.labelValueLengthLimit,
    bodySizeLimitBytes: msg.bodySizeLimitBytes,
    keepDroppedTargets: 0,
    scrapeProtocols,
    ...(fallbackScrapeProtocol === undefined ? {} : { fallbackScrapeProtocol }),
    enableCompression: msg.enableCompression,
    scrapeNativeHistograms: false,
    metricNameValidationScheme,
    metricNameEscapingScheme,
    relabelConfigs: [],
    metricRelabelConfigs: relabelRulesFromProto(msg.metricRelabelConfigs, {
      field: at('metric_relabel_configs'),
      nameValidation: metricNameValidationScheme,
    }),
    staticConfigs: [],
    fileSdConfigs: [],
    kubernetesSdConfigs: [],
    httpClient: httpClientFromProto(msg.httpClient, at('http_client')),
    source: { file: '', line: 0 },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Remote write

/** Input of {@link remoteWriteToProto}. */
export interface RemoteWriteToProtoOptions {
  /** The `remote_write` entry. */
  readonly config: RemoteWriteConfig;
  /** The entry's position in the configuration's `remote_write` list; part of the name an unnamed entry gets. */
  readonly index: number;
  /** The global `external_labels`. */
  readonly externalLabels: Labels;
}

/**
 * The name an unnamed `remote_write` entry travels under: the first 6 hex digits of SHA-256 over its URL, a dash,
 * and its index in the list, for example `3f9a1c-0`.
 *
 * Prometheus (`storage/remote/write.go` `ApplyConfig`) names such a queue `hash[:6]`, where the hash is the MD5 of
 * the whole entry marshalled back to YAML (`toHash` in `storage/remote/storage.go`). That cannot be reproduced byte
 * for byte outside Go's YAML encoder, and it changes with every edit, which suits Prometheus (it keys queues by the
 * full hash and recreates them on any change) but not a protocol where the name is the queue's identity. The name here stays the same as
 * long as the entry keeps its URL and position, differs between two unnamed entries even when they share a URL
 * (the index), changes when the entry points at another receiver (so per-receiver metrics start afresh, as in
 * Prometheus), and does not reveal the URL, which may carry credentials.
 */
function unnamedRemoteWriteName(url: string, index: number): string {
  return `${createHash('sha256').update(url).digest('hex').slice(0, 6)}-${index}`;
}

/**
 * Converts a `remote_write` entry and the global external labels to a `RemoteWriteEndpoint`. The name is the
 * configured one, or for an unnamed entry a stable name derived from its URL and index (see the function
 * `unnamedRemoteWriteName` in this file for why); the external labels are sorted by name, labels with an empty
 * value left out (an empty value is no label in Prometheus). Not sent, because the worker does not act on them:
 * `send_native_histograms` and `round_robin_dns`.
 *
 * @throws SettingsEncodeError if a duration or queue setting does not fit its uint32 field (negative or above
 *   2^32-1).
 */
export function remoteWriteToProto(options: RemoteWriteToProtoOptions): RemoteWriteEndpoint {
  const { config, index, externalLabels } = options;
  const name = config.name === '' ? unnamedRemoteWriteName(config.url, index) : config.name;
  const field = `remote_write[${name}]`;
  return {
    name,
    url: config.url,
    remoteTimeoutMs: uint32({ value: config.remoteTimeoutMs, field: `${field}.remote_timeout_ms` }),
    headers: new Map(config.headers),
    writeRelabelConfigs: config.writeRelabelConfigs.map(relabelRuleToProto),
    queue: queueToProto(config.queueConfig, `${field}.queue`),
    sendExemplars: config.sendExemplars,
    httpClient: httpClientToProto(config.httpClient),
    externalLabels: labelsToProto(externalLabels),
    protocol: config.protobufMessage === 'io.prometheus.write.v2.Request' ? RemoteWriteProtocol.V2 : RemoteWriteProtocol.V1,
    metadata: {
      send: config.metadataConfig.send,
      sendIntervalMs: uint32({ value: config.metadataConfig.sendIntervalMs, field: `${field}.metadata.send_interval_ms` }),
      maxSamplesPerSend: uint32({ value: config.metadataConfig.maxSamplesPerSend, field: `${field}.metadata.max_samples_per_send` }),
    },
  };
}

function queueToProto(queue: ModelQueueConfig, field: string): QueueSettings {
  const u32 = (value: number, name: string): number => uint32({ value, field: `${field}.${name}` });
  return {
    capacity: u32(queue.capacity, 'capacity'),
    maxShards: u32(queue.maxShards, 'max_shards'),
    minShards: u32(queue.minShards, 'min_shards'),
    maxSamplesPerSend: u32(queue.maxSamplesPerSend, 'max_samples_per_send'),
    batchSendDeadlineMs: u32(queue.batchSendDeadlineMs, 'batch_send_deadline_ms'),
    minBackoffMs: u32(queue.minBackoffMs, 'min_backoff_ms'),
    maxBackoffMs: u32(queue.maxBackoffMs, 'max_backoff_ms'),
    retryOnHttp429: queue.retryOnHttp429,
    sampleAgeLimitMs: u32(queue.sampleAgeLimitMs, 'sample_age_limit_ms'),
  };
}

/**
 * Rebuilds a `remote_write` entry and the external labels from a `RemoteWriteEndpoint`. These round-trip: `url`,
 * `remoteTimeoutMs`, `headers`, `writeRelabelConfigs`, `sendExemplars`, `protobufMessage`, `queueConfig`,
 * `metadataConfig` (unset in the message: `send` false, 0 for its interval and batch size) and `httpClient` (but its
 * `proxyConnectHeader`, see {@link httpClientFromProto}); `name` comes back as sent, which for an unnamed entry is
 * the name the master gave it. These are not carried and come back as what the worker does: `sendNativeHistograms`
 * and `roundRobinDns` false; `source` is `{ file: '', line: 0 }`.
 *
 * Write relabel rules are validated under `utf8` names: the message does not carry the global validation scheme,
 * and `utf8` accepts every rule the loader accepted under either scheme.
 *
 * @throws SettingsDecodeError naming the field (`remote_write[<name>].<field>`) for a missing name, URL, queue or
 *   HTTP client, a URL that is not http or https, external labels naming a label twice, or a relabel rule the
 *   model rejects.
 * @returns New objects owned by the caller.
 */
export function remoteWriteFromProto(msg: RemoteWriteEndpoint): { config: RemoteWriteConfig; externalLabels: Labels } {
  const field = `remote_write[${msg.name}]`;
  const at = (name: string): string => `${field}.${name}`;
  if (msg.name === '') throw missing(at('name'));
  if (msg.url === '') throw missing(at('url'));
  // The URL may carry credentials: the message says what is wrong, never what the URL is.
  if (!URL.canParse(msg.url) || !/^https?:$/.test(new URL(msg.url).protocol)) {
    throw invalid(at('url'), 'the url is not an absolute http or https URL');
  }
  if (msg.queue === undefined) throw missing(at('queue'));
  if (msg.httpClient === undefined) throw missing(at('http_client'));
  if (msg.protocol !== RemoteWriteProtocol.V1 && msg.protocol !== RemoteWriteProtocol.V2) {
    throw invalid(at('protocol'), `unknown remote-write protocol ${msg.protocol}`);
  }
  const q = msg.queue;
  const config: RemoteWriteConfig = {
    url: msg.url,
    name: msg.name,
    remoteTimeoutMs: msg.remoteTimeoutMs,
    headers: new Map(msg.headers),
    writeRelabelConfigs: relabelRulesFromProto(msg.writeRelabelConfigs, {
      field: at('write_relabel_configs'),
      nameValidation: 'utf8',
    }),
    sendExemplars: msg.sendExemplars,
    sendNativeHistograms: false,
    roundRobinDns: false,
    protobufMessage: msg.protocol === RemoteWriteProtocol.V2 ? 'io.prometheus.write.v2.Request' : 'prometheus.WriteRequest',
    queueConfig: {
      capacity: q.capacity,
      maxShards: q.maxShards,
      minShards: q.minShards,
      maxSamplesPerSend: q.maxSamplesPerSend,
      batchSendDeadlineMs: q.batchSendDeadlineMs,
      minBackoffMs: q.minBackoffMs,
      maxBackoffMs: q.maxBackoffMs,
      retryOnHttp429: q.retryOnHttp429,
      sampleAgeLimitMs: q.sampleAgeLimitMs,
    },
    metadataConfig: {
      send: msg.metadata?.send ?? false,
      sendIntervalMs: msg.metadata?.sendIntervalMs ?? 0,
      maxSamplesPerSend: msg.metadata?.maxSamplesPerSend ?? 0,
    },
    httpClient: httpClientFromProto(msg.httpClient, at('http_client')),
    source: { file: '', line: 0 },
  };
  return { config, externalLabels: labelSetFromProto(msg.externalLabels, at('external_labels')) };
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP client

/**
 * Converts prometheus/common's HTTP client settings to `HttpClient`. Secrets (password, credentials, TLS key,
 * secret header values) are revealed into the message: the worker has to present them, and fleet.proto marks the
 * fields so that nothing logs them. A legacy `bearer_token[_file]` is already `authorization` of type Bearer in
 * the model and travels as such. `proxy_connect_header` has no field in fleet.proto and is not sent.
 */
export function httpClientToProto(client: HttpClientConfig): HttpClient {
  return {
    ...(client.basicAuth === undefined ? {} : { basicAuth: basicAuthToProto(client.basicAuth) }),
    ...(client.authorization === undefined ? {} : { authorization: authorizationToProto(client.authorization) }),
    tls: tlsToProto(client.tlsConfig),
    proxyUrl: client.proxyUrl ?? '',
    noProxy: client.noProxy ?? '',
    proxyFromEnvironment: client.proxyFromEnvironment,
    followRedirects: client.followRedirects,
    enableHttp2: client.enableHttp2,
    headers: new Map(
      [...client.httpHeaders].map(([name, header]): [string, ProtoHttpHeader] => [
        name,
        { values: [...header.values], secrets: header.secrets.map((s) => s.reveal()), files: [...header.files] },
      ]),
    ),
  };
}

function basicAuthToProto(auth: ModelBasicAuth): ProtoBasicAuth {
  return {
    username: auth.username,
    usernameFile: auth.usernameFile ?? '',
    password: auth.password?.reveal() ?? '',
    passwordFile: auth.passwordFile ?? '',
  };
}

function authorizationToProto(auth: ModelAuthorization): ProtoAuthorization {
  return { type: auth.type, credentials: auth.credentials?.reveal() ?? '', credentialsFile: auth.credentialsFile ?? '' };
}

function tlsToProto(tls: ModelTlsConfig): TlsSettings {
  return {
    ca: tls.ca ?? '',
    caFile: tls.caFile ?? '',
    cert: tls.cert ?? '',
    certFile: tls.certFile ?? '',
    key: tls.key?.reveal() ?? '',
    keyFile: tls.keyFile ?? '',
    serverName: tls.serverName ?? '',
    insecureSkipVerify: tls.insecureSkipVerify,
    minVersion: tls.minVersion === undefined ? TlsVersion.UNSPECIFIED : tlsVersionToProto[tls.minVersion],
    maxVersion: tls.maxVersion === undefined ? TlsVersion.UNSPECIFIED : tlsVersionToProto[tls.maxVersion],
  };
}

/**
 * Rebuilds prometheus/common's HTTP client settings from `HttpClient`, with secrets wrapped back into `Secret`.
 * Every field round-trips but `proxyConnectHeader`, which fleet.proto does not carry and which comes back empty.
 * An empty string is "not set" for the optional fields, as the loader treats it; an unset `tls` is the defaults.
 *
 * @param field The message's field path for errors, for example `jobs[web].http_client`.
 * @throws SettingsDecodeError for an unknown TLS version, an authorization without a type, or both halves of a
 *   value/file pair set.
 */
export function httpClientFromProto(msg: HttpClient, field = 'http_client'): HttpClientConfig {
  return {
    ...(msg.basicAuth === undefined ? {} : { basicAuth: basicAuthFromProto(msg.basicAuth, `${field}.basic_auth`) }),
    ...(msg.authorization === undefined
      ? {}
      : { authorization: authorizationFromProto(msg.authorization, `${field}.authorization`) }),
    tlsConfig: tlsFromProto(msg.tls, `${field}.tls`),
    ...optionalText('proxyUrl', msg.proxyUrl),
    ...optionalText('noProxy', msg.noProxy),
    proxyFromEnvironment: msg.proxyFromEnvironment,
    proxyConnectHeader: new Map(),
    followRedirects: msg.followRedirects,
    enableHttp2: msg.enableHttp2,
    httpHeaders: new Map(
      [...msg.headers].map(([name, header]): [string, ModelHttpHeader] => [
        name,
        {
          values: [...header.values],
          // The loader reads an empty secret as unset and drops it; so does the decoder.
          secrets: header.secrets.filter((s) => s !== '').map((s) => new Secret(s)),
          files: [...header.files],
        },
      ]),
    ),
  };
}

function basicAuthFromProto(msg: ProtoBasicAuth, field: string): ModelBasicAuth {
  exclusive({ value: msg.username, file: msg.usernameFile, field: `${field}.username_file` });
  exclusive({ value: msg.password, file: msg.passwordFile, field: `${field}.password_file` });
  return {
    username: msg.username,
    ...optionalText('usernameFile', msg.usernameFile),
    ...(msg.password === '' ? {} : { password: new Secret(msg.password) }),
    ...optionalText('passwordFile', msg.passwordFile),
  };
}

function authorizationFromProto(msg: ProtoAuthorization, field: string): ModelAuthorization {
  if (msg.type === '') throw missing(`${field}.type`);
  exclusive({ value: msg.credentials, file: msg.credentialsFile, field: `${field}.credentials_file` });
  return {
    type: msg.type,
    ...(msg.credentials === '' ? {} : { credentials: new Secret(msg.credentials) }),
    ...optionalText('credentialsFile', msg.credentialsFile),
  };
}

function tlsFromProto(msg: TlsSettings | undefined, field: string): ModelTlsConfig {
  if (msg === undefined) return { insecureSkipVerify: false };
  exclusive({ value: msg.ca, file: msg.caFile, field: `${field}.ca_file` });
  exclusive({ value: msg.cert, file: msg.certFile, field: `${field}.cert_file` });
  exclusive({ value: msg.key, file: msg.keyFile, field: `${field}.key_file` });
  const minVersion = optionalEnumFromProto({ table: tlsVersionFromProto, value: msg.minVersion, field: `${field}.min_version` });
  const maxVersion = optionalEnumFromProto({ table: tlsVersionFromProto, value: msg.maxVersion, field: `${field}.max_version` });
  return {
    ...optionalText('ca', msg.ca),
    ...optionalText('caFile', msg.caFile),
    ...optionalText('cert', msg.cert),
    ...optionalText('certFile', msg.certFile),
    ...(msg.key === '' ? {} : { key: new Secret(msg.key) }),
    ...optionalText('keyFile', msg.keyFile),
    ...optionalText('serverName', msg.serverName),
    insecureSkipVerify: msg.insecureSkipVerify,
    ...(minVersion === undefined ? {} : { minVersion }),
    ...(maxVersion === undefined ? {} : { maxVersion }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Targets

/** Input of {@link targetToProto}. */
export interface TargetToProtoOptions {
  /** The target, as target building made it: no `__meta_*` labels. */
  readonly target: ModelTarget;
  /** The first slot the worker owns the target from (Unix ms, inclusive); 0 is "from the next slot". */
  readonly firstSlotUnixMs: number;
}

/**
 * Converts a target to its wire form: the id as 8 big-endian bytes, the labels sorted by name (Prometheus' UTF-8
 * order) without empty values. Called for every target the master sends, so it does no more than that and the
 * `__meta_*` check.
 *
 * @throws SettingsEncodeError if the target still has a `__meta_*` label (fleet.proto forbids them), the slot
 *   is not a non-negative integer, or the interval or timeout is not a positive integer.
 * @throws InvalidTargetIdError if the id is not 16 lowercase hex digits.
 */
export function targetToProto(options: TargetToProtoOptions): ProtoTarget {
  const { target, firstSlotUnixMs } = options;
  for (const name of target.labels.keys()) {
    if (name.startsWith(LabelName.metaPrefix)) {
      throw new SettingsEncodeError({
        field: `targets[${target.id}].labels`,
        detail: `${JSON.stringify(name)} is a discovery label; targets carry no __meta_* labels`,
      });
    }
  }
  if (!Number.isSafeInteger(firstSlotUnixMs) || firstSlotUnixMs < 0) {
    throw new SettingsEncodeError({
      field: `targets[${target.id}].first_slot_unix_ms`,
      detail: `${firstSlotUnixMs} is not a non-negative integer of Unix milliseconds`,
    });
  }
  for (const [value, name] of [[target.intervalMs, 'scrape_interval_ms'], [target.timeoutMs, 'scrape_timeout_ms']] as const) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new SettingsEncodeError({ field: `targets[${target.id}].${name}`, detail: `${value} is not a positive integer of milliseconds` });
    }
  }
  return {
    id: targetIdToBytes(target.id),
    job: target.job,
    labels: labelsToProto(target.labels),
    firstSlotUnixMs,
    scrapeIntervalMs: target.intervalMs,
    scrapeTimeoutMs: target.timeoutMs,
  };
}

/**
 * A wire target's scrape interval and timeout, in ms: its `scrape_interval_ms` and `scrape_timeout_ms`. When both are
 * 0 the master predates the fields (fleet.proto, `Target.scrape_interval_ms`), and they are parsed from `labels`'
 * `__scrape_interval__` and `__scrape_timeout__` as that master's target building did; this is the only place a
 * worker parses those labels. `field` names the target in errors, for example `assignment_snapshot.targets[3]`.
 *
 * @throws SettingsDecodeError naming the field for only one of the two set, a timeout above the interval, or (for an
 *   older master) a missing, invalid or zero label.
 */
export function targetTimingFromProto(options: { readonly msg: ProtoTarget; readonly labels: Labels; readonly field: string }): { intervalMs: number; timeoutMs: number } {
  const { msg, labels, field } = options;
  let intervalMs = msg.scrapeIntervalMs;
  let timeoutMs = msg.scrapeTimeoutMs;
  if (intervalMs === 0 && timeoutMs === 0) {
    intervalMs = durationLabel({ labels, name: LabelName.scrapeInterval, field });
    timeoutMs = durationLabel({ labels, name: LabelName.scrapeTimeout, field });
  } else if (intervalMs === 0) {
    throw invalid(`${field}.scrape_interval_ms`, `is 0, but scrape_timeout_ms is ${timeoutMs}`);
  } else if (timeoutMs === 0) {
    throw invalid(`${field}.scrape_timeout_ms`, `is 0, but scrape_interval_ms is ${intervalMs}`);
  }
  if (timeoutMs > intervalMs) throw invalid(`${field}.scrape_timeout_ms`, `${timeoutMs} ms is above the interval of ${intervalMs} ms`);
  return { intervalMs, timeoutMs };
}

function durationLabel(options: { readonly labels: Labels; readonly name: string; readonly field: string }): number {
  const at = `${options.field}.labels[${options.name}]`;
  const text = options.labels.get(options.name);
  if (text === undefined) throw new SettingsDecodeError({ field: at, problem: 'missing', detail: 'required when scrape_interval_ms and scrape_timeout_ms are 0 (a master that predates them)' });
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new SettingsDecodeError({ field: at, problem: 'invalid-value', detail: err instanceof Error ? err.message : String(err), cause: err });
  }
  if (ms <= 0) throw invalid(at, `${JSON.stringify(text)} is not above 0`);
  return ms;
}

/**
 * Rebuilds a target from its wire form. The labels need not be sorted; labels with an empty value are skipped
 * (see `labelsFromProto`). The id is taken as sent, not recomputed from the labels.
 *
 * @throws SettingsDecodeError naming the field (`targets[<id>].<field>`) for an id that is not 8 bytes, a missing
 *   job, a label named twice, a `__meta_*` label, a missing `__address__`, a negative first slot, or an interval or
 *   timeout {@link targetTimingFromProto} refuses.
 * @returns A new target and label map owned by the caller.
 */
export function targetFromProto(msg: ProtoTarget): { target: ModelTarget; firstSlotUnixMs: number } {
  let id: string;
  try {
    id = targetIdFromBytes(msg.id);
  } catch (err) {
    if (!(err instanceof InvalidTargetIdError)) throw err;
    throw new SettingsDecodeError({ field: 'targets[?].id', problem: 'invalid-value', detail: err.message, cause: err });
  }
  const field = `targets[${id}]`;
  if (msg.job === '') throw missing(`${field}.job`);
  const labels = labelSetFromProto(msg.labels, `${field}.labels`);
  for (const name of labels.keys()) {
    if (name.startsWith(LabelName.metaPrefix)) {
      throw invalid(`${field}.labels`, `${JSON.stringify(name)} is a discovery label; targets carry no __meta_* labels`);
    }
  }
  if (!labels.has(LabelName.address)) throw missing(`${field}.labels[${LabelName.address}]`);
  if (msg.firstSlotUnixMs < 0) throw invalid(`${field}.first_slot_unix_ms`, `${msg.firstSlotUnixMs} is negative`);
  const { intervalMs, timeoutMs } = targetTimingFromProto({ msg, labels, field });
  return { target: { id, job: msg.job, labels, intervalMs, timeoutMs }, firstSlotUnixMs: msg.firstSlotUnixMs };
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function labelSetFromProto(labels: readonly Label[], field: string): Map<string, string> {
  try {
    return labelsFromProto(labels);
  } catch (err) {
    if (!(err instanceof DuplicateLabelError)) throw err;
    throw new SettingsDecodeError({ field, problem: 'duplicate-label', detail: err.message, cause: err });
  }
}

function uint32(options: { value: number; field: string }): number {
  const { value, field } = options;
  if (!Number.isInteger(value) || value < 0 || value > maxUint32) {
    throw new SettingsEncodeError({
      field,
      detail: `${value} does not fit the protocol's unsigned 32-bit field (0 to ${maxUint32}); lower it in the configuration`,
    });
  }
  return value;
}

interface EnumInput<M> {
  readonly table: ReadonlyMap<number, M>;
  readonly value: number;
  readonly field: string;
}

/** A required enum: UNSPECIFIED (0) and values this code does not know are protocol errors (fleet.proto). */
function enumFromProto<M>({ table, value, field }: EnumInput<M>): M {
  const known = table.get(value);
  if (known !== undefined) return known;
  if (value === 0) {
    throw new SettingsDecodeError({ field, problem: 'unspecified-enum', detail: 'the value is unspecified (0)' });
  }
  throw new SettingsDecodeError({ field, problem: 'unknown-enum', detail: `unknown value ${value}` });
}

/** An optional enum: UNSPECIFIED (0) is "not set"; values this code does not know are protocol errors. */
function optionalEnumFromProto<M>(input: EnumInput<M>): M | undefined {
  return input.value === 0 ? undefined : enumFromProto(input);
}

function exclusive(options: { value: string; file: string; field: string }): void {
  if (options.value !== '' && options.file !== '') {
    throw invalid(options.field, 'at most one of the inline value and the file may be set');
  }
}

/** `{ [key]: value }` for a non-empty value, else `{}`: an empty string is an unset optional field. */
function optionalText<K extends string>(key: K, value: string): { [P in K]?: string } {
  return (value === '' ? {} : { [key]: value }) as { [P in K]?: string };
}

function missing(field: string): SettingsDecodeError {
  return new SettingsDecodeError({ field, problem: 'missing', detail: 'required, but not set' });
}

function invalid(field: string, detail: string): SettingsDecodeError {
  return new SettingsDecodeError({ field, problem: 'invalid-value', detail });
}
