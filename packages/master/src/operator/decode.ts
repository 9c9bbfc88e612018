/**
 * Generated scrape config mappings → promfleet's {@link ScrapeConfig}, through the model's own config loader.
 *
 * The generator writes what prometheus-operator would write into `prometheus.yml`; running that through
 * `parseConfig` gives the generated jobs exactly the defaults, inheritance from `global` and validation that a
 * hand-written job gets, with no second copy of those rules to drift. The global section is the master's own
 * (promfleet's config file), with the `Prometheus` resource's `scrapeInterval`, `scrapeTimeout` and enforced limits
 * in its place where it sets them, as prometheus-operator puts them into the global section it generates.
 */
import { formatDuration, parseConfig, type GlobalConfig, type ScrapeConfig } from '@promfleet/model';
import { stringify } from 'yaml';
import type { RawMapping } from './http.js';
import { ResourceRejectedError } from './resource.js';

/** What the `Prometheus` resource puts into the global section of the generated jobs; undefined keeps promfleet's. */
export interface GlobalOverrides {
  readonly scrapeIntervalMs?: number;
  readonly scrapeTimeoutMs?: number;
  readonly sampleLimit?: number;
  readonly targetLimit?: number;
  readonly labelLimit?: number;
  readonly labelNameLengthLimit?: number;
  readonly labelValueLengthLimit?: number;
  readonly keepDroppedTargets?: number;
  readonly bodySizeLimitBytes?: number;
}

/** The `global` mapping that gives parsed jobs the settings of `global`, with `overrides` on top. */
export function globalSection(global: GlobalConfig, overrides: GlobalOverrides = {}): RawMapping {
  const limit = (own: number, over: number | undefined): number => (over !== undefined && over > 0 ? over : own);
  const interval = overrides.scrapeIntervalMs ?? global.scrapeIntervalMs;
  // A timeout the resource sets alone is capped by the interval, as Prometheus caps the default one.
  const timeout = Math.min(overrides.scrapeTimeoutMs ?? global.scrapeTimeoutMs, interval);
  const out: RawMapping = {
    scrape_interval: formatDuration(interval),
    scrape_timeout: formatDuration(timeout),
    sample_limit: limit(global.sampleLimit, overrides.sampleLimit),
    target_limit: limit(global.targetLimit, overrides.targetLimit),
    label_limit: limit(global.labelLimit, overrides.labelLimit),
    label_name_length_limit: limit(global.labelNameLengthLimit, overrides.labelNameLengthLimit),
    label_value_length_limit: limit(global.labelValueLengthLimit, overrides.labelValueLengthLimit),
    keep_dropped_targets: limit(global.keepDroppedTargets, overrides.keepDroppedTargets),
    body_size_limit: `${limit(global.bodySizeLimitBytes, overrides.bodySizeLimitBytes)}B`,
    scrape_native_histograms: global.scrapeNativeHistograms,
    metric_name_validation_scheme: global.metricNameValidationScheme,
    metric_name_escaping_scheme: global.metricNameEscapingScheme,
  };
  if (global.scrapeProtocols !== undefined) out['scrape_protocols'] = [...global.scrapeProtocols];
  return out;
}

/**
 * Decodes the jobs of one resource. `source` names the resource in messages (`ServiceMonitor shop/web`).
 *
 * @throws ResourceRejectedError naming the first keys the loader refused, and why.
 */
export function decodeJobs(jobs: readonly RawMapping[], options: { global: RawMapping; source: string }): ScrapeConfig[] {
  const text = stringify({ global: options.global, scrape_configs: jobs }, { aliasDuplicateObjects: false, lineWidth: 0 });
  const result = parseConfig(text, { file: options.source });
  if (result.ok) return [...result.config.scrapeConfigs];
  const problems = result.errors.slice(0, 3).map((issue) => {
    const where = issue.keyPath.replace(/^scrape_configs\[\d+\]\.?/u, '');
    return where === '' ? issue.message : `${where}: ${issue.message}`;
  });
  const more = result.errors.length > 3 ? ` (and ${result.errors.length - 3} more)` : '';
  throw new ResourceRejectedError(`the generated scrape config is invalid: ${problems.join('; ')}${more}`);
}
