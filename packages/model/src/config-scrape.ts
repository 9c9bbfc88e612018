/**
 * One `scrape_configs` entry (config.go `ScrapeConfig`): its own keys, defaults and checks (`UnmarshalYAML`), then
 * what it inherits from the global section and the checks made against it (`Validate`).
 */
import { z } from 'zod';
import { formatDuration } from './duration.js';
import type { NameValidationScheme } from './labels.js';
import type { RelabelRule } from './relabel.js';
import {
  anyMapping,
  bool,
  duration,
  goList,
  goMap,
  goObject,
  isOneOf,
  nonEmpty,
  optional,
  relabelList,
  reporter,
  text,
  uint,
  type SchemaOptions,
} from './config-decode.js';
import {
  acceptProtocols,
  defaultProtoFirstScrapeProtocols,
  defaultScrapeProtocols,
  escapingScheme,
  impliedEscaping,
  scrapeProtocols,
  supportedProtocols,
  validationScheme,
  type EscapingScheme,
  type GlobalConfig,
  type ScrapeLimits,
  type ScrapeProtocol,
  limitsShape,
  readLimits,
} from './config-global.js';
import { buildHttpClient, httpClientShape, type HttpClientConfig } from './config-http.js';
import type { Reporter } from './config-report.js';
import {
  fileSdSchema,
  kubernetesSdSchema,
  otherSdKeys,
  staticConfigSchema,
  type FileSDConfig,
  type KubernetesSDConfig,
  type StaticConfig,
} from './config-sd.js';
import type { Path } from './config-yaml.js';
import { redactedUrl } from './messages.js';

/** One `scrape_configs` entry after defaulting and inheritance from `global`. */
export interface ScrapeConfig extends ScrapeLimits {
  readonly jobName: string;
  readonly scrapeIntervalMs: number;
  readonly scrapeTimeoutMs: number;
  readonly metricsPath: string;
  readonly scheme: 'http' | 'https';
  readonly params: ReadonlyMap<string, readonly string[]>;
  readonly honorLabels: boolean;
  readonly honorTimestamps: boolean;
  readonly trackTimestampsStaleness: boolean;
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

/** What a job's schema gives before the global config fills in what it left unset (0 or undefined). */
interface ScrapeDraft extends ScrapeLimits {
  readonly jobName: string;
  readonly scrapeIntervalMs: number;
  readonly scrapeTimeoutMs: number;
  readonly scrapeProtocols: ScrapeProtocol[] | undefined;
  readonly scrapeNativeHistograms: boolean | undefined;
  readonly validationScheme: NameValidationScheme | undefined;
  readonly escapingScheme: EscapingScheme | undefined;
  readonly settled: Omit<
    ScrapeConfig,
    | 'jobName'
    | 'scrapeIntervalMs'
    | 'scrapeTimeoutMs'
    | keyof ScrapeLimits
    | 'scrapeProtocols'
    | 'scrapeNativeHistograms'
    | 'metricNameValidationScheme'
    | 'metricNameEscapingScheme'
    | 'source'
  >;
}

/** `ScrapeConfig.UnmarshalYAML`: the job's own keys, defaults and checks; global inheritance comes later. */
export function scrapeSchema({ dir, scheme }: SchemaOptions & { scheme: NameValidationScheme }) {
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
    ...limitsShape,
    native_histogram_bucket_limit: uint,
    native_histogram_min_bucket_factor: z.number(),
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
            report(['static_configs', i, 'targets', j], `${JSON.stringify(redactedUrl(t))} is not a valid hostname`);
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
      ...readLimits(raw),
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
export function finishScrapeConfig(input: FinishInput): Omit<ScrapeConfig, 'source'> | undefined {
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
