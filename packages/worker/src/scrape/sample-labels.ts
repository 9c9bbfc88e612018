/**
 * What a scraped series is called once its target claims it, as Prometheus' `scrape.go` does it: target labels
 * merged in (`mutateSampleLabels`, with `honor_labels` and the `exported_` renaming), metric_relabel_configs, the
 * validity check, and the label limits (`verifyLabelLimits`). Pure functions, tested without a network.
 */
import { LabelName, formatLabels, isValidLabelName, isWellFormedUtf16, relabel, sortedLabelNames, type Labels, type NameValidationScheme, type RelabelRule } from '@promfleet/model';

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
 * Valid UTF-8, as Prometheus requires of names and values. The scraper decoded the body with U+FFFD for invalid
 * bytes, so U+FFFD stands for invalid input here: a series that really contains U+FFFD is refused too (rare).
 */
function wellFormed(text: string): boolean {
  return isWellFormedUtf16(text) && !text.includes('\uFFFD');
}
