/**
 * Label sets as Prometheus has them: names to values, no duplicates.
 *
 * A `Map` rather than a plain object, because label names are user data and a name such as
 * `__proto__` or `constructor` is a valid Prometheus label name that must not touch an
 * object's prototype.
 */
export type Labels = ReadonlyMap<string, string>;

/** Reserved label names that Prometheus gives meaning to (`model/labels.go`). */
export const LabelName = {
  metricName: '__name__',
  address: '__address__',
  scheme: '__scheme__',
  metricsPath: '__metrics_path__',
  scrapeInterval: '__scrape_interval__',
  scrapeTimeout: '__scrape_timeout__',
  paramPrefix: '__param_',
  metaPrefix: '__meta_',
  tmpPrefix: '__tmp_',
  reservedPrefix: '__',
  job: 'job',
  instance: 'instance',
} as const;

const legacyLabelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** How label names are validated: Prometheus 3 defaults to `utf8`; `legacy` is `[a-zA-Z_][a-zA-Z0-9_]*`. */
export type NameValidationScheme = 'utf8' | 'legacy';

/**
 * Whether `name` is a valid label name under `scheme`, as Prometheus' `LabelName.IsValid`:
 * under `utf8` any non-empty valid UTF-8 string, under `legacy` the classic pattern.
 */
export function isValidLabelName(name: string, scheme: NameValidationScheme): boolean {
  if (scheme === 'legacy') return legacyLabelName.test(name);
  return name.length > 0 && isWellFormedUtf16(name);
}

/**
 * Whether `s` is valid UTF-8 once encoded, as Prometheus' `LabelValue.IsValid` asks. JS strings are UTF-16; a lone
 * surrogate is the only thing that cannot become valid UTF-8.
 */
export function isWellFormedUtf16(s: string): boolean {
  return s.isWellFormed();
}

/** Builds a label set from a JSON-style object, keeping only string values. */
export function labelsFromObject(obj: Readonly<Record<string, unknown>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(obj)) {
    if (typeof value === 'string') out.set(name, value);
  }
  return out;
}

/**
 * A JSON-ready object with the labels sorted by name. The object has no prototype, so any
 * label name is an ordinary own property.
 */
export function labelsToObject(labels: Labels): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const name of sortedLabelNames(labels)) out[name] = labels.get(name) ?? '';
  return out;
}

/** Label names in byte order of their UTF-8 encoding, which is Prometheus' sort order. */
export function sortedLabelNames(labels: Labels): string[] {
  return [...labels.keys()].sort(compareLabelNames);
}

/**
 * Compares two strings as Go compares them: by UTF-8 bytes. For strings without astral
 * characters this is UTF-16 code unit order; surrogate pairs sort after U+E000..U+FFFF in
 * UTF-8 but before them in UTF-16, so those are compared by code point.
 */
export function compareLabelNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca >= 0xd800 && cb >= 0xd800) {
      return (a.codePointAt(i) ?? ca) - (b.codePointAt(i) ?? cb);
    }
    return ca - cb;
  }
  return a.length - b.length;
}

/**
 * `name="value", ...` in sorted order, for messages and logs. A byte of invalid UTF-8 in a scraped value (the
 * worker's body decoder marks it as a lone surrogate U+DC80–U+DCFF) shows as Go's %q shows it: `\xff`.
 */
export function formatLabels(labels: Labels): string {
  return `{${sortedLabelNames(labels)
    .map((n) => `${n}=${JSON.stringify(labels.get(n)).replace(/\\udc([89a-f][0-9a-f])/g, '\\x$1')}`)
    .join(', ')}}`;
}

/**
 * A 53-bit fingerprint of a label set, in the map's order (two 32-bit FNV-1a style hashes over names and values
 * with separators). Equal label sets in the same order have equal fingerprints; callers that meet one set in
 * different orders pass it in name order. Collisions are rare enough (about one in 10^11 between two sets of a
 * group of thousands) for caches that key on it.
 */
export function labelsFingerprint(labels: Labels): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (const [name, value] of labels) {
    for (const text of [name, value]) {
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        h1 = Math.imul(h1 ^ c, 0x01000193);
        h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      }
      h1 = Math.imul(h1 ^ 0xffff, 0x01000193);
      h2 = Math.imul(h2 ^ 0xffff, 0x5bd1e995);
    }
  }
  return (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff);
}
