/**
 * What a scraped series is called once its target claims it, as Prometheus' `scrape.go` does it: target labels
 * merged in (`mutateSampleLabels`, with `honor_labels` and the `exported_` renaming), metric_relabel_configs, the
 * validity check, and the label limits (`verifyLabelLimits`). Pure functions, tested without a network.
 */
import { LabelName, formatLabels, isValidLabelName, isWellFormedUtf16, relabel, sortedLabelNames, type Labels, type NameValidationScheme, type RelabelRule } from '@promfleet/model';
import type { MetricType } from './parser-core.js';

/** The prefix Prometheus gives a scraped label that collides with a target label (`model.ExportedLabelPrefix`). */
const exportedPrefix = 'exported_';

/**
 * The labels of a scraped series after the target's labels are attached and metric relabeling ran, or undefined
 * when relabeling drops it (or leaves no labels). `targetLabels` are the target's public labels (no `__` names).
 */
export function mutateSampleLabels(options: {
  scraped: ReadonlyMap<string, string>;
  targetLabels: Labels;
  honorLabels: boolean;
  rules: readonly RelabelRule[];
  scheme: NameValidationScheme;
}): Map<string, string> | undefined {
  const { scraped, targetLabels } = options;
  // An empty value is no label, as Prometheus' labels.Builder has it: it counts for no limit and clashes with nothing.
  const out = new Map<string, string>();
  for (const [name, value] of scraped) if (value !== '') out.set(name, value);
  if (options.honorLabels) {
    for (const [name, value] of targetLabels) if (!scraped.has(name) && value !== '') out.set(name, value);
  } else {
    const conflicts: [string, string][] = [];
    for (const [name, value] of targetLabels) {
      const existing = scraped.get(name);
      if (existing !== undefined && existing !== '') conflicts.push([name, existing]);
      if (value === '') out.delete(name);
      else out.set(name, value);
    }
    // resolveConflictingExposedLabels: shortest names first, each prefixed until the name is free.
    conflicts.sort((a, b) => a[0].length - b[0].length);
    for (const [name, value] of conflicts) {
      let renamed = name;
      do renamed = exportedPrefix + renamed;
      while ((out.get(renamed) ?? '') !== '');
      out.set(renamed, value);
    }
  }
  if (options.rules.length === 0) return out.size === 0 ? undefined : out;
  const result = relabel(out, options.rules, { nameValidation: options.scheme });
  return result.keep && result.labels.size > 0 ? result.labels : undefined;
}

/** A label name as the text format writes it unquoted. */
const legacyLabelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** The characters the text format escapes in a label value. */
const escaped = /[\\"\n]/;

/**
 * The series text of the final label set `labels` of a loop without metric_relabel_configs, written one way only:
 * its labels but those equal to a target label (`targetLabels`), sorted by name, each value escaped as the text
 * format does, and no braces when none is left (`node_load1`, `node_cpu_seconds_total{cpu="0",mode="idle"}`).
 *
 * Two final label sets have the same text only when they are equal: without relabeling rules every target label
 * with a value is in the final set (the target's value, or the series' own under honor_labels), so leaving out the
 * pairs equal to the target's loses nothing. And an exporter that writes its series this way (sorted, as client
 * libraries do) writes exactly this text, which the loop then uses both as the scrape cache key and as the index
 * of final label sets. Undefined when the text could mean another label set elsewhere in an exposition: names that
 * need quotes, and `le` or `quantile`, whose values the parser normalises by the last TYPE line.
 */
export function canonicalSeriesText(labels: Labels, targetLabels: Labels): string | undefined {
  const name = labels.get(LabelName.metricName);
  if (name === undefined || !legacyMetricName.test(name) || labels.has('le') || labels.has('quantile')) return undefined;
  const names: string[] = [];
  for (const [label, value] of labels) {
    if (label === LabelName.metricName || targetLabels.get(label) === value) continue;
    if (!legacyLabelName.test(label)) return undefined;
    names.push(label);
  }
  if (names.length === 0) return name;
  names.sort();
  let text = `${name}{`;
  for (let i = 0; i < names.length; i++) {
    const label = names[i] as string;
    const value = labels.get(label) ?? '';
    text += `${i === 0 ? '' : ','}${label}="${escaped.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : value}"`;
  }
  return `${text}}`;
}

/** The labels of a synthetic report series (`up`, `scrape_*`): the target's labels and the name (`mutateReportSampleLabels`). */
export function reportLabels(name: string, targetLabels: Labels): Map<string, string> {
  const out = new Map<string, string>([[LabelName.metricName, name]]);
  for (const [label, value] of targetLabels) if (value !== '') out.set(label, value);
  return out;
}

/** Prometheus' text of a value in a limit message: `%.50s` truncates to 50 characters. */
function cut(text: string): string {
  return text.length > 50 ? text.slice(0, 50) : text;
}

/** The limits a series must pass; 0 is no limit. */
export interface LabelLimits {
  readonly labelLimit: number;
  readonly labelNameLengthLimit: number;
  readonly labelValueLengthLimit: number;
}

/**
 * Why a series fails the scrape, or undefined: an invalid metric or label name or value under the job's scheme
 * (`invalid metric name or label names`), or a label limit (`verifyLabelLimits`, with Prometheus' messages).
 * Lengths count bytes of UTF-8, as Go's `len` does.
 */
export function seriesProblem(labels: Labels, options: { limits: LabelLimits; scheme: NameValidationScheme }): string | undefined {
  const name = labels.get(LabelName.metricName) ?? '';
  if (!validMetricName(name, options.scheme) || [...labels].some(([l, v]) => !isValidLabelName(l, options.scheme) || !wellFormed(v))) {
    return `invalid metric name or label names: ${formatLabels(labels)}`;
  }
  const { labelLimit, labelNameLengthLimit, labelValueLengthLimit } = options.limits;
  if (labelLimit > 0 && labels.size > labelLimit) {
    return `label_limit exceeded (metric: ${cut(name)}, number of labels: ${labels.size}, limit: ${labelLimit})`;
  }
  // In label order, as Go iterates a labels.Labels, so the first offender named is Prometheus' too.
  for (const label of sortedLabelNames(labels)) {
    const value = labels.get(label) ?? '';
    const nameLength = Buffer.byteLength(label);
    if (labelNameLengthLimit > 0 && nameLength > labelNameLengthLimit) {
      return `label_name_length_limit exceeded (metric: ${cut(name)}, label name: ${cut(label)}, length: ${nameLength}, limit: ${labelNameLengthLimit})`;
    }
    const valueLength = Buffer.byteLength(value);
    if (labelValueLengthLimit > 0 && valueLength > labelValueLengthLimit) {
      return `label_value_length_limit exceeded (metric: ${cut(name)}, label name: ${cut(label)}, value: ${JSON.stringify(cut(value))}, length: ${valueLength}, limit: ${labelValueLengthLimit})`;
    }
  }
  return undefined;
}

const legacyMetricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function validMetricName(name: string, scheme: NameValidationScheme): boolean {
  return scheme === 'legacy' ? legacyMetricName.test(name) : name !== '' && wellFormed(name);
}

/**
 * Valid UTF-8, as Prometheus requires of names and values: the scraper marks a body's invalid bytes as lone
 * surrogates (`decodeBody`), so a real U+FFFD in the body is text like any other.
 */
function wellFormed(text: string): boolean {
  return isWellFormedUtf16(text);
}

/** The suffixes a series name may add to its family's name, per type, in the order Prometheus tries them. */
const familySuffixes: Readonly<Record<MetricType, readonly string[]>> = {
  counter: ['_total'],
  gauge: [],
  histogram: ['_bucket', '_sum', '_count'],
  gaugehistogram: ['_bucket', '_gsum', '_gcount'],
  summary: ['_sum', '_count'],
  info: ['_info'],
  stateset: [],
  unknown: [],
};

/**
 * Whether a series named `name` belongs to the metric family `family` (the name a HELP/TYPE/UNIT line gave) of type
 * `type`, as Prometheus' `isSeriesPartOfFamily` (scrape.go) decides which series a family's metadata goes with: the
 * series name without its type's suffix (`_total`; `_bucket`, `_sum`, `_count`; `_bucket`, `_gsum`, `_gcount`;
 * `_sum`, `_count`; `_info`) must be the family name, itself without `_total` for a counter and `_info` for an info
 * (the text format names a counter family `foo_total`, OpenMetrics `foo`). A `_created` series belongs to no family.
 * Compares lengths and prefixes: nothing is allocated.
 */
export function isSeriesPartOfFamily(name: string, family: string, type: MetricType): boolean {
  if (!name.startsWith(family)) return false;
  let familyLength = family.length;
  if (type === 'counter' && family.endsWith('_total')) familyLength -= 6;
  else if (type === 'info' && family.endsWith('_info')) familyLength -= 5;
  let nameLength = name.length;
  for (const suffix of familySuffixes[type]) {
    if (name.endsWith(suffix)) {
      nameLength -= suffix.length;
      break;
    }
  }
  return nameLength === familyLength;
}

/** OpenMetrics' limit on an exemplar's label set, names and values together, in UTF-8 characters (code points). */
export const exemplarLabelSetLimit = 128;

/** The number of code points of `text`. */
function codePoints(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

/**
 * An exemplar's labels as Prometheus' storage takes them (`validateExemplar` of the agent's appender): labels with
 * an empty value removed, then the label set refused (undefined) when its names and values are over
 * {@link exemplarLabelSetLimit} characters (`ErrExemplarLabelLength`, which drops the exemplar and keeps the sample).
 */
export function acceptedExemplarLabels(labels: Map<string, string>): Map<string, string> | undefined {
  let length = 0;
  for (const [name, value] of labels) {
    if (value === '') labels.delete(name);
    else length += codePoints(name) + codePoints(value);
  }
  return length > exemplarLabelSetLimit ? undefined : labels;
}
