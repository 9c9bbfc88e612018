/**
 * The `global` section (config.go `GlobalConfig`): the defaults every scrape job inherits, external labels
 * (expanded from the environment as `config.Load` does), and the scrape protocol and metric name scheme settings
 * that jobs share with it.
 */
import { formatDuration } from './duration.js';
import { isValidLabelName, isWellFormedUtf16, type Labels, type NameValidationScheme } from './labels.js';
import {
  bool,
  duration,
  goList,
  goMap,
  goObject,
  isOneOf,
  joinDir,
  optional,
  reporter,
  size,
  text,
  uint,
  type Report,
  type SchemaOptions,
} from './config-decode.js';

/** A scrape protocol to negotiate, as `scrape_protocols` names it (case-sensitive). */
export type ScrapeProtocol =
  | 'PrometheusProto'
  | 'PrometheusText0.0.4'
  | 'PrometheusText1.0.0'
  | 'OpenMetricsText0.0.1'
  | 'OpenMetricsText1.0.0';

/** How metric and label names outside the legacy character set are requested (`metric_name_escaping_scheme`). */
export type EscapingScheme = 'allow-utf-8' | 'underscores' | 'dots' | 'values';

/**
 * The limits a job shares with the global section. Each is 0 for "no limit", as in Prometheus; a job's 0 takes the
 * global value.
 */
export interface ScrapeLimits {
  readonly sampleLimit: number;
  readonly targetLimit: number;
  readonly labelLimit: number;
  readonly labelNameLengthLimit: number;
  readonly labelValueLengthLimit: number;
  readonly bodySizeLimitBytes: number;
  readonly keepDroppedTargets: number;
}

/** The `global` section with Prometheus' defaults applied. */
export interface GlobalConfig extends ScrapeLimits {
  readonly scrapeIntervalMs: number;
  readonly scrapeTimeoutMs: number;
  readonly evaluationIntervalMs: number;
  readonly ruleQueryOffsetMs: number;
  /** Added by the worker on remote write to series that lack the label, as Prometheus does. */
  readonly externalLabels: Labels;
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

/** Every scrape protocol Prometheus knows. */
export const scrapeProtocols: readonly ScrapeProtocol[] = [
  'PrometheusProto',
  'PrometheusText0.0.4',
  'PrometheusText1.0.0',
  'OpenMetricsText0.0.1',
  'OpenMetricsText1.0.0',
];
/** `DefaultScrapeProtocols`. */
export const defaultScrapeProtocols: readonly ScrapeProtocol[] = [
  'OpenMetricsText1.0.0',
  'OpenMetricsText0.0.1',
  'PrometheusText1.0.0',
  'PrometheusText0.0.4',
];
/** `DefaultProtoFirstScrapeProtocols`: the default when the job scrapes native histograms. */
export const defaultProtoFirstScrapeProtocols: readonly ScrapeProtocol[] = ['PrometheusProto', ...defaultScrapeProtocols];
const escapingSchemes: readonly EscapingScheme[] = ['allow-utf-8', 'underscores', 'dots', 'values'];

const defaultGlobal = {
  scrapeIntervalMs: 60_000,
  scrapeTimeoutMs: 10_000,
  evaluationIntervalMs: 60_000,
};

/** The keys of the {@link ScrapeLimits}, which `GlobalConfig` and `ScrapeConfig` both have. */
export const limitsShape = {
  body_size_limit: size,
  sample_limit: uint,
  target_limit: uint,
  label_limit: uint,
  label_name_length_limit: uint,
  label_value_length_limit: uint,
  keep_dropped_targets: uint,
};

/** The limits a section sets; 0 where it sets none. */
export function readLimits(raw: { readonly [K in keyof typeof limitsShape]?: number | undefined }): ScrapeLimits {
  return {
    sampleLimit: raw.sample_limit ?? 0,
    targetLimit: raw.target_limit ?? 0,
    labelLimit: raw.label_limit ?? 0,
    labelNameLengthLimit: raw.label_name_length_limit ?? 0,
    labelValueLengthLimit: raw.label_value_length_limit ?? 0,
    bodySizeLimitBytes: raw.body_size_limit ?? 0,
    keepDroppedTargets: raw.keep_dropped_targets ?? 0,
  };
}

/** The global section of a file that has none, or stands in for one too broken to read. */
export function defaultGlobalConfig(): GlobalConfig {
  return {
    ...defaultGlobal,
    ruleQueryOffsetMs: 0,
    externalLabels: new Map(),
    ...readLimits({}),
    metricNameValidationScheme: 'utf8',
    metricNameEscapingScheme: 'allow-utf-8',
    scrapeNativeHistograms: false,
    convertClassicHistogramsToNhcb: false,
    alwaysScrapeClassicHistograms: false,
    extraScrapeMetrics: false,
  };
}

/** `GlobalConfig.UnmarshalYAML`, plus the external label expansion of `Load`. */
export function globalSchema({ dir, env }: SchemaOptions) {
  return goObject({
    scrape_interval: duration,
    scrape_timeout: duration,
    scrape_protocols: goList(text),
    evaluation_interval: duration,
    rule_query_offset: duration,
    query_log_file: text,
    scrape_failure_log_file: text,
    external_labels: goMap(text),
    ...limitsShape,
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
      } else if (!isWellFormedUtf16(value)) report(['external_labels', name], 'the label value is not valid UTF-8');
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
      ...readLimits(raw),
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

/** `metric_name_validation_scheme`: undefined when blank (the caller inherits), reported when unknown. */
export function validationScheme(value: string | undefined, report: Report): NameValidationScheme | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'legacy' || value === 'utf8') return value;
  report(
    ['metric_name_validation_scheme'],
    `unknown name validation method specified, must be either '', 'legacy' or 'utf8', got ${JSON.stringify(value)}`,
  );
  return undefined;
}

/** `metric_name_escaping_scheme`: undefined when blank (the caller inherits), reported when unknown. */
export function escapingScheme(value: string | undefined, report: Report): EscapingScheme | undefined {
  if (value === undefined || value === '') return undefined;
  if (isOneOf(value, escapingSchemes)) return value;
  report(
    ['metric_name_escaping_scheme'],
    "unknown name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', " +
      `got ${JSON.stringify(value)}`,
  );
  return undefined;
}

/** The escaping scheme a validation scheme implies when none is set (`underscores` for legacy names). */
export function impliedEscaping(scheme: NameValidationScheme): EscapingScheme {
  return scheme === 'legacy' ? 'underscores' : 'allow-utf-8';
}

/** The protocol list as Prometheus prints it in messages. */
export const supportedProtocols = `[${[...scrapeProtocols].sort().join(' ')}]`;

/** `validateAcceptScrapeProtocols`: not empty, known, no duplicates (compared case-insensitively). */
export function acceptProtocols(list: readonly string[], report: Report): ScrapeProtocol[] | undefined {
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

function joinOptional(dir: string, file: string | undefined): string | undefined {
  return file === undefined || file === '' ? undefined : joinDir(dir, file);
}

function nonZero(value: number | undefined): number | undefined {
  return value === undefined || value === 0 ? undefined : value;
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
