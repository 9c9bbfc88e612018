/**
 * From discovered label sets to scrape targets, as Prometheus' `scrape/target.go` does it
 * (`PopulateDiscoveredLabels`, `PopulateLabels`, `Target.URL`), plus promfleet's target identity and scrape phase.
 */
import { createHash } from 'node:crypto';
import { formatDuration, parseDuration } from './duration.js';
import { compareLabelNames, isWellFormedUtf16, LabelName, type Labels, type NameValidationScheme } from './labels.js';
import { relabel, type RelabelRule } from './relabel.js';

/**
 * What service discovery hands on, as Prometheus' `targetgroup.Group`: targets that share `labels`, identified by
 * `source`. A group sent again with the same source replaces the previous one; an empty `targets` deletes it.
 */
export interface TargetGroup {
  readonly source: string;
  readonly targets: readonly Labels[];
  readonly labels: Labels;
}

/** The parts of a scrape config that turn discovered labels into a target. */
export interface TargetSettings {
  readonly jobName: string;
  readonly scrapeIntervalMs: number;
  readonly scrapeTimeoutMs: number;
  readonly metricsPath: string;
  readonly scheme: string;
  readonly params: ReadonlyMap<string, readonly string[]>;
  readonly relabelConfigs: readonly RelabelRule[];
  readonly metricNameValidationScheme: NameValidationScheme;
}

/** A 64-bit target id as 16 lowercase hex digits. */
export type TargetId = string;

/** A scrape target after relabeling: its id, its job and every label but the `__meta_*` ones. */
export interface Target {
  readonly id: TargetId;
  readonly job: string;
  /** The final label set, still holding `__address__`, `__scheme__`, `__metrics_path__`, `__param_*` and the like. */
  readonly labels: Labels;
  /** The scrape interval in ms: the `__scrape_interval__` label, parsed once when the target was built (above 0). */
  readonly intervalMs: number;
  /** The scrape timeout in ms: the `__scrape_timeout__` label, parsed once when the target was built (above 0, at most the interval). */
  readonly timeoutMs: number;
}

/**
 * The outcome for one discovered target. Dropping by relabeling is not an error, so it is a value; a target that
 * relabeling keeps but that cannot be scraped (no address, a bad interval) is `invalid` with Prometheus' reason.
 */
export type TargetBuildResult =
  | { readonly kind: 'kept'; readonly target: Target; readonly discoveredLabels: Labels }
  | { readonly kind: 'dropped'; readonly discoveredLabels: Labels }
  | { readonly kind: 'invalid'; readonly discoveredLabels: Labels; readonly reason: string };

/**
 * Seeds a target's labels before relabeling, as `PopulateDiscoveredLabels`: target labels win over group labels,
 * then job, interval, timeout, metrics path, scheme and the first value of each param are set where still empty.
 */
export function discoveredLabels(settings: TargetSettings, targetLabels: Labels, groupLabels: Labels): Map<string, string> {
  const lb = new Map<string, string>();
  for (const [name, value] of groupLabels) if (!targetLabels.has(name)) setOrDelete(lb, name, value);
  for (const [name, value] of targetLabels) setOrDelete(lb, name, value);
  const defaults: readonly [string, string][] = [
    [LabelName.job, settings.jobName],
    [LabelName.scrapeInterval, formatDuration(settings.scrapeIntervalMs)],
    [LabelName.scrapeTimeout, formatDuration(settings.scrapeTimeoutMs)],
    [LabelName.metricsPath, settings.metricsPath],
    [LabelName.scheme, settings.scheme],
  ];
  for (const [name, value] of defaults) if (!lb.get(name)) setOrDelete(lb, name, value);
  for (const [key, values] of settings.params) {
    const name = LabelName.paramPrefix + key;
    const first = values[0];
    if (first !== undefined && !lb.get(name)) setOrDelete(lb, name, first);
  }
  return lb;
}

/** Prometheus' `labels.Builder.Set`: an empty value removes the label. */
function setOrDelete(lb: Map<string, string>, name: string, value: string): void {
  if (value === '') lb.delete(name);
  else lb.set(name, value);
}

/**
 * Builds the target for one discovered label set, as `PopulateLabels` in Prometheus 3: seed, relabel, check
 * address/interval/timeout, delete `__meta_*`, default `instance` to `__address__`, check values.
 *
 * Prometheus 3 no longer appends a default port to `__address__` (the `no-default-scrape-port` behaviour became the
 * default): the address stays as discovered, and the scrape URL simply has no port, so HTTP uses the scheme's.
 */
export function buildTarget(settings: TargetSettings, targetLabels: Labels, groupLabels: Labels): TargetBuildResult {
  const discovered = discoveredLabels(settings, targetLabels, groupLabels);
  const result = relabel(discovered, settings.relabelConfigs, { nameValidation: settings.metricNameValidationScheme });
  if (!result.keep) return { kind: 'dropped', discoveredLabels: discovered };
  const lb = result.labels;
  const invalid = (reason: string): TargetBuildResult => ({ kind: 'invalid', discoveredLabels: discovered, reason });

  const addr = lb.get(LabelName.address) ?? '';
  if (addr === '') return invalid('no address');
  if (addr.includes('/')) return invalid(`${JSON.stringify(addr)} is not a valid hostname`);

  const interval = lb.get(LabelName.scrapeInterval) ?? '';
  const timeout = lb.get(LabelName.scrapeTimeout) ?? '';
  const intervalMs = parseDurationLabel(interval, 'interval');
  if (typeof intervalMs === 'string') return invalid(intervalMs);
  const timeoutMs = parseDurationLabel(timeout, 'timeout');
  if (typeof timeoutMs === 'string') return invalid(timeoutMs);
  if (timeoutMs > intervalMs) {
    return invalid(`scrape timeout cannot be greater than scrape interval (${JSON.stringify(timeout)} > ${JSON.stringify(interval)})`);
  }

  for (const name of [...lb.keys()]) if (name.startsWith(LabelName.metaPrefix)) lb.delete(name);
  if (!lb.get(LabelName.instance)) lb.set(LabelName.instance, addr);

  for (const [name, value] of lb) {
    if (!isWellFormedUtf16(value)) return invalid(`invalid label value for ${JSON.stringify(name)}: ${JSON.stringify(value)}`);
  }
  return { kind: 'kept', target: { id: targetId(settings.jobName, lb), job: settings.jobName, labels: lb, intervalMs, timeoutMs }, discoveredLabels: discovered };
}

function parseDurationLabel(text: string, what: 'interval' | 'timeout'): number | string {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    return `error parsing scrape ${what}: ${err instanceof Error ? err.message : String(err)}`;
  }
  return ms === 0 ? `scrape ${what} cannot be 0` : ms;
}


/**
 * The stable 64-bit identity of a target: the first 8 bytes of SHA-256 over the job name and the sorted final
 * labels (meta labels are already gone; `__address__` and the other `__` labels are in). Two targets that differ
 * only in `__meta_*` labels are one target, as in Prometheus, where meta labels never reach the target. Every
 * master computes the same id for the same target, whatever order it saw the labels in.
 */
export function targetId(job: string, labels: Labels): TargetId {
  const hash = createHash('sha256');
  // 0xff never occurs in UTF-8, so it separates fields unambiguously.
  const sep = Buffer.from([0xff]);
  hash.update(job).update(sep);
  for (const name of [...labels.keys()].sort(compareLabelNames)) {
    hash.update(name).update(sep).update(labels.get(name) ?? '').update(sep);
  }
  return hash.digest('hex').slice(0, 16);
}


/**
 * The target's scrape phase within its interval: `id mod interval`, so every owner of a target scrapes it at the
 * same instants `k·interval + offset`. Prometheus (`Target.offset`) also mixes in a per-server seed so that two
 * Prometheus servers spread their scrapes apart; promfleet deliberately does not, because a target handed from
 * one worker to another must keep its scrape instants.
 */
export function scrapeOffsetMs(id: TargetId, intervalMs: number): number {
  if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0) throw new RangeError(`interval must be a positive integer of ms, got ${intervalMs}`);
  return Number(BigInt(`0x${id}`) % BigInt(intervalMs));
}

/** The first scrape instant (unix ms) of the target at or after `nowMs`. */
export function nextScrapeSlotMs(options: { id: TargetId; intervalMs: number; nowMs: number }): number {
  const offset = scrapeOffsetMs(options.id, options.intervalMs);
  const k = Math.ceil((options.nowMs - offset) / options.intervalMs);
  return k * options.intervalMs + offset;
}

/** The labels a target's series carry: every label whose name does not start with `__`. */
export function publicLabels(labels: Labels): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of labels) if (!name.startsWith(LabelName.reservedPrefix)) out.set(name, value);
  return out;
}

/**
 * The scrape URL, as `Target.URL`: scheme, address and path from the labels; query parameters from the config's
 * params with each `__param_<name>` label replacing that param's first value; keys sorted, values form-encoded as
 * Go's `url.Values.Encode`.
 */
export function scrapeUrl(labels: Labels, params: ReadonlyMap<string, readonly string[]>): string {
  const merged = new Map<string, string[]>();
  for (const [key, values] of params) merged.set(key, [...values]);
  for (const [name, value] of labels) {
    if (!name.startsWith(LabelName.paramPrefix)) continue;
    const key = name.slice(LabelName.paramPrefix.length);
    const values = merged.get(key);
    if (values !== undefined && values.length > 0) values[0] = value;
    else merged.set(key, [value]);
  }
  const query = [...merged.keys()]
    .sort(compareLabelNames)
    .flatMap((key) => (merged.get(key) ?? []).map((v) => `${formEncode(key)}=${formEncode(v)}`))
    .join('&');
  const host = labels.get(LabelName.address) ?? '';
  const path = labels.get(LabelName.metricsPath) ?? '';
  // Go's URL.String puts a `/` between a host and a path that lacks one.
  const slash = path !== '' && !path.startsWith('/') && host !== '' ? '/' : '';
  const base = `${labels.get(LabelName.scheme) ?? ''}://${host}${slash}${encodePath(path)}`;
  return query === '' ? base : `${base}?${query}`;
}

/** Go's `url.QueryEscape`: unreserved characters stay, space becomes `+`, the rest is percent-encoded. */
function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
}

/** Go's `url.URL.EscapedPath` (`shouldEscape` in path mode): letters, digits, `-._~$&+,/:;=@` stay, the rest is escaped. */
function encodePath(path: string): string {
  return path.replace(/[^A-Za-z0-9\-._~$&+,/:;=@]/gu, (c) =>
    [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}
