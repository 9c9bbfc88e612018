/**
 * Loading a Prometheus configuration file as Prometheus 3 does (`config/config.go` `Load`, the `UnmarshalYAML` and
 * `Validate` methods it reaches, prometheus/common `config/http_config.go`, `discovery/kubernetes/kubernetes.go`,
 * `discovery/file/file.go`), so an existing `prometheus.yml` loads unchanged, and every problem is reported as
 * `file:line: key.path: message`.
 *
 * The pipeline: YAML text → a plain value tree that remembers where each value came from (go-yaml v2 scalar
 * rules) → zod schemas per section (unknown keys rejected, defaults applied, secrets wrapped) → Prometheus'
 * cross-field and global-inheritance checks → one deep-frozen {@link PrometheusConfig}. Nothing here does I/O.
 *
 * The file layout follows the pipeline: config-yaml.ts reads the YAML, config-decode.ts holds the zod building
 * blocks, config-global.ts, config-scrape.ts, config-sd.ts, config-http.ts and config-remote-write.ts hold one
 * section each with its public types, config-report.ts locates problems; this file ties them together and is the
 * public surface.
 */
import { posix } from 'node:path';
import type { z } from 'zod';
import type { NameValidationScheme } from './labels.js';
import { defaultGlobalConfig, globalSchema, type GlobalConfig } from './config-global.js';
import { Reporter, type ConfigIssue } from './config-report.js';
import { remoteWriteSchema, type RemoteWriteConfig } from './config-remote-write.js';
import { finishScrapeConfig, scrapeSchema, type ScrapeConfig } from './config-scrape.js';
import { otherSdKeys } from './config-sd.js';
import { isMapping, kindOf, loadYaml, type Path } from './config-yaml.js';
import type { SchemaOptions } from './config-decode.js';

export { Secret } from './secret.js';
export type { ConfigIssue } from './config-report.js';
export type { EscapingScheme, GlobalConfig, ScrapeLimits, ScrapeProtocol } from './config-global.js';
export type { ScrapeConfig } from './config-scrape.js';
export type { FileSDConfig, KubernetesAttachMetadata, KubernetesRole, KubernetesSDConfig, KubernetesSelector, StaticConfig } from './config-sd.js';
export type { Authorization, BasicAuth, HttpClientConfig, HttpHeader, OAuth2Config, TlsConfig, TlsVersion } from './config-http.js';
export type { MetadataConfig, QueueConfig, RemoteWriteConfig, RemoteWriteMessage } from './config-remote-write.js';

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

/** The whole configuration promfleet acts on. */
export interface PrometheusConfig {
  readonly global: GlobalConfig;
  readonly scrapeConfigs: readonly ScrapeConfig[];
  readonly remoteWrite: readonly RemoteWriteConfig[];
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
  noticeProtobuf(report, root['global'], ['global']);

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
    noticeProtobuf(report, entry, path);
    const sdConfigs = isMapping(entry) ? entry['kubernetes_sd_configs'] : undefined;
    if (Array.isArray(sdConfigs)) {
      sdConfigs.forEach((sd: unknown, j) => {
        // The master's API connection applies auth, TLS and http_headers; these client settings it accepts but does
        // not apply yet.
        noticeUnused(report, sd, {
          path: [...path, 'kubernetes_sd_configs', j],
          keys: { oauth2: 'present', proxy_url: 'present', no_proxy: 'present', proxy_from_environment: 'true', proxy_connect_header: 'present' },
        });
      });
    }
    if (draft === undefined) return;
    draft.settled.kubernetesSdConfigs.forEach((sd, j) => {
      const nodeSelector = sd.selectors.findIndex((selector) => selector.role === 'node');
      if (sd.role === 'pod' && nodeSelector >= 0 && !sd.attachMetadata.node) {
        report.notice(
          [...path, 'kubernetes_sd_configs', j, 'selectors', nodeSelector, 'role'],
          'a node selector of the pod role acts only with attach_metadata: {node: true}; without it, as in Prometheus, it selects nothing',
        );
      }
    });
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
  // The fleet protocol does not carry these to workers (proto/promfleet/fleet/v1/fleet.proto HttpClient).
  proxy_connect_header: 'present',
  ...Object.fromEntries(otherSdKeys.map((key) => [key, 'present' as const])),
};

const passiveRemoteWriteKeys: Readonly<Record<string, PassiveRule>> = {
  oauth2: 'present',
  sigv4: 'present',
  azuread: 'present',
  google_iam: 'present',
  send_native_histograms: 'true',
  // Not carried to workers by the fleet protocol: workers resolve receivers plainly.
  round_robin_dns: 'true',
  proxy_connect_header: 'present',
};

/** promfleet reads the text formats only, so its workers never ask for the protobuf format (`PrometheusProto`). */
function noticeProtobuf(report: Reporter, section: unknown, path: Path): void {
  const protocols = isMapping(section) ? section['scrape_protocols'] : undefined;
  if (Array.isArray(protocols) && protocols.includes('PrometheusProto')) {
    report.notice([...path, 'scrape_protocols'], `${NOT_ACTED_ON}: PrometheusProto (workers read the text formats and do not ask for protobuf)`);
  }
}

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
