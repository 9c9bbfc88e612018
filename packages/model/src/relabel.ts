/**
 * Prometheus relabeling (`model/relabel/relabel.go`): the rule schema for `relabel_configs` and
 * `metric_relabel_configs`, and the engine that applies rules to a label set.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { compareLabelNames, isValidLabelName, type Labels, type NameValidationScheme } from './labels.js';
import { Re2Regex, RegexSyntaxError } from './regex.js';

/** Every relabel action Prometheus knows, in the order its documentation lists them. */
export const relabelActions = [
  'replace',
  'keep',
  'drop',
  'keepequal',
  'dropequal',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
] as const;

/** One relabel action, always lower case (Prometheus lowercases `action` when it reads YAML). */
export type RelabelAction = (typeof relabelActions)[number];

/**
 * A validated relabel rule with Prometheus' defaults applied. Rules come from
 * {@link RelabelConfigSchema} or {@link parseRelabelRules}; the engine trusts them.
 */
export interface RelabelRule {
  readonly action: RelabelAction;
  /** Labels whose values are joined with `separator`; a missing label counts as the empty string. */
  readonly sourceLabels: readonly string[];
  readonly separator: string;
  /** The fully anchored regex; the shared default instance when the YAML had no `regex` key. */
  readonly regex: Re2Regex;
  /** Set only for a non-zero YAML `modulus` (only `hashmod` uses it). */
  readonly modulus: number | undefined;
  readonly targetLabel: string;
  readonly replacement: string;
}

/**
 * A rule that did not come from {@link RelabelConfigSchema} and breaks its invariants (a hashmod
 * rule without a modulus, where Prometheus would panic on a division by zero).
 */
export class InvalidRelabelRuleError extends Error {
  override readonly name = 'InvalidRelabelRuleError';
  readonly code = 'PROMFLEET_INVALID_RELABEL_RULE';
  constructor(
    message: string,
    readonly rule: RelabelRule,
  ) {
    super(message);
  }
}

/** The outcome of relabeling one label set; a dropped set is a value, not an error. */
export type RelabelResult = { keep: true; labels: Map<string, string> } | { keep: false };

/** Options for {@link relabel}. */
export interface RelabelOptions {
  /**
   * Which label names a `replace` rule may write, as the scrape config's
   * `metric_name_validation_scheme`; Prometheus 3 defaults to `utf8`.
   */
  readonly nameValidation?: NameValidationScheme;
}

/** The default separator, regex source and replacement of a relabel rule (`DefaultRelabelConfig`). */
export const relabelDefaults = { separator: ';', regex: '(.*)', replacement: '$1', action: 'replace' } as const;

/**
 * The one default regex instance. Prometheus compares regexes by pointer against
 * `DefaultRelabelConfig.Regex` (`relabel.go`): an explicit `regex: (.*)` is not "the default"
 * for the keepequal/dropequal checks or the replace fast path, so identity matters here too.
 */
const defaultRegex = Re2Regex.compile(relabelDefaults.regex);

/**
 * Target labels and labelmap replacements under the legacy scheme: label-name characters plus
 * `$name` / `${name}` references. Prometheus writes this as
 * `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`, which is linear in Go but can backtrack
 * exponentially in JavaScript; this is the same language without nested quantifiers.
 */
const legacyTargetWithVars = /^(?:[A-Za-z_]|\$(?:\{\w+\}|\w))(?:\w|\$(?:\{\w+\}|\w))*$/;

const actionList = relabelActions.join(', ');

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRelabelAction(s: string): s is RelabelAction {
  return (relabelActions as readonly string[]).includes(s);
}

/**
 * A YAML scalar read into a Go string: go-yaml v2 decodes any scalar (number, bool) into a
 * string field as its text, and `null` as the zero value "" (not the default).
 */
function scalarString(key: string) {
  return z
    .union([z.string(), z.number(), z.boolean()], { error: `"${key}" must be a string` })
    .nullable()
    .optional();
}

const rawShape = {
  source_labels: z
    .array(z.union([z.string(), z.number(), z.boolean(), z.null()]), {
      error: '"source_labels" must be a list of label names, e.g. [__meta_kubernetes_pod_name]',
    })
    .nullable()
    .optional(),
  separator: scalarString('separator'),
  regex: scalarString('regex'),
  modulus: z.number({ error: '"modulus" must be a positive integer' }).nullable().optional(),
  target_label: scalarString('target_label'),
  replacement: scalarString('replacement'),
  action: scalarString('action'),
};

type RawRelabelConfig = z.output<z.ZodObject<typeof rawShape>>;
type RawKey = keyof typeof rawShape;

const knownKeys: ReadonlySet<string> = new Set(Object.keys(rawShape));

/** Options for {@link relabelConfigSchema}. */
export interface RelabelConfigSchemaOptions {
  /** The scrape config's `metric_name_validation_scheme`; decides which target labels are valid. */
  readonly nameValidation: NameValidationScheme;
}

/**
 * Builds the zod schema for one raw YAML relabel config (snake_case keys) under a name
 * validation scheme. It rejects unknown keys, applies Prometheus' defaults, compiles the regex
 * and runs every check of `relabel.Config.Validate`; each issue's `path` names the offending
 * key (for example `['target_label']`), so a config loader can point at the YAML line.
 */
export function relabelConfigSchema(options: RelabelConfigSchemaOptions) {
  return z
    .looseObject(rawShape, {
      error: 'a relabel rule must be a mapping with keys such as source_labels, regex, target_label, action',
    })
    .superRefine(
      (obj, ctx) => {
        // go-yaml's UnmarshalStrict rejects unknown fields; the issue points at the key itself.
        for (const key of Object.keys(obj)) {
          if (!knownKeys.has(key)) {
            ctx.addIssue({
              code: 'custom',
              path: [key],
              message: `unknown key "${key}" in relabel rule: valid keys are ${[...knownKeys].join(', ')}`,
            });
          }
        }
      },
      // Run even when a known key has the wrong type, so every unknown key is reported at once.
      { when: (payload) => isMapping(payload.value) },
    )
    .transform((raw, ctx): RelabelRule => {
      const { rule, issues } = buildRule(raw, options.nameValidation);
      for (const issue of issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
      return rule;
    });
}

/** The relabel config schema under Prometheus 3's default `utf8` name validation. */
export const RelabelConfigSchema = relabelConfigSchema({ nameValidation: 'utf8' });

/** A raw relabel config as YAML gives it (snake_case keys). */
export type RelabelConfigInput = z.input<typeof RelabelConfigSchema>;

interface RuleIssue {
  path: (string | number)[];
  message: string;
}

/** Mirrors `Config.UnmarshalYAML` (defaults, null handling) followed by `Config.Validate`. */
function buildRule(raw: RawRelabelConfig, scheme: NameValidationScheme): { rule: RelabelRule; issues: RuleIssue[] } {
  const issues: RuleIssue[] = [];
  const report = (key: RawKey, message: string): void => {
    // Go stops at the first error; we report every key that is wrong, once.
    if (!issues.some((i) => i.path[0] === key)) issues.push({ path: [key], message });
  };

  const sourceLabels: string[] = [];
  raw.source_labels?.forEach((entry, i) => {
    // A null entry never reaches LabelName.UnmarshalYAML in go-yaml v2: it becomes "" unchecked.
    const name = entry === null ? '' : String(entry);
    // LabelName.UnmarshalYAML validates with the process-wide scheme, which is utf8 in Prometheus 3.
    if (entry !== null && !isValidLabelName(name, 'utf8')) {
      issues.push({ path: ['source_labels', i], message: `${JSON.stringify(name)} is not a valid label name` });
    }
    sourceLabels.push(name);
  });
  const separator = nullableString(raw.separator, relabelDefaults.separator);
  const targetLabel = nullableString(raw.target_label, '');
  const replacement = nullableString(raw.replacement, relabelDefaults.replacement);
  const modulus = raw.modulus ?? 0;
  if (!Number.isSafeInteger(modulus) || modulus < 0) {
    report('modulus', `"modulus" must be a positive integer below 2^53, got ${modulus}`);
  }

  let regex = defaultRegex;
  if (raw.regex !== undefined) {
    // A null regex is kept as nil by go-yaml and then replaced by MustNewRegexp("") (UnmarshalYAML).
    const source = nullableString(raw.regex, '');
    try {
      regex = Re2Regex.compile(source);
    } catch (err) {
      if (!(err instanceof RegexSyntaxError)) throw err;
      report('regex', `invalid regex ${JSON.stringify(source)}: ${err.message}`);
    }
  }

  let action: RelabelAction = 'replace';
  if (raw.action !== undefined) {
    const given = nullableString(raw.action, '');
    const lower = given.toLowerCase();
    if (given === '') {
      report('action', `relabel action cannot be empty: set "action" to one of ${actionList}`);
    } else if (isRelabelAction(lower)) {
      action = lower;
    } else {
      report('action', `unknown relabel action ${JSON.stringify(given)}: use one of ${actionList}`);
    }
  }
  const rule: RelabelRule = {
    action,
    sourceLabels,
    separator,
    regex,
    modulus: modulus === 0 ? undefined : modulus,
    targetLabel,
    replacement,
  };
  if (!issues.some((i) => i.path[0] === 'action')) {
    validateRule({ rule, raw, scheme, report });
  }
  return { rule, issues };
}

function nullableString(value: string | number | boolean | null | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (value === null) return '';
  return String(value);
}

interface ValidateContext {
  rule: RelabelRule;
  raw: RawRelabelConfig;
  scheme: NameValidationScheme;
  report: (key: RawKey, message: string) => void;
}

/** The checks of `relabel.Config.Validate`, in its order, each reported at the key to fix. */
function validateRule({ rule, raw, scheme, report }: ValidateContext): void {
  const { action, targetLabel, replacement } = rule;
  const quoted = `"${action}"`;
  const validName = (name: string): boolean => isValidLabelName(name, scheme);
  // Under utf8 any non-empty name is valid, `$` included; under legacy, `$name` references are
  // allowed between label-name characters (`relabelTargetLegacy`).
  const validWithVars = (name: string): boolean =>
    scheme === 'legacy' ? legacyTargetWithVars.test(name) : validName(name);
  const invalidTarget = `${JSON.stringify(targetLabel)} is an invalid "target_label" for the ${quoted} action`;
  const nameHint =
    scheme === 'legacy' ? ': use [a-zA-Z_][a-zA-Z0-9_]* (legacy name validation)' : ': use a non-empty label name';

  if (action === 'hashmod' && (rule.modulus ?? 0) === 0) {
    report('modulus', `the "hashmod" action requires a non-zero "modulus", e.g. modulus: 8`);
  }
  const needsTarget = ['replace', 'hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal'].includes(action);
  if (needsTarget && targetLabel === '') {
    report('target_label', `the ${quoted} action requires "target_label"`);
  }
  if (action === 'replace') {
    const ok = targetLabel.includes('$') ? validWithVars(targetLabel) : validName(targetLabel);
    if (!ok) report('target_label', `${invalidTarget}${nameHint}, optionally with $1 or \${name} references`);
  }
  const singleValueAction = ['lowercase', 'uppercase', 'keepequal', 'dropequal'].includes(action);
  if (singleValueAction && !validName(targetLabel)) report('target_label', `${invalidTarget}${nameHint}`);
  if (singleValueAction && replacement !== relabelDefaults.replacement) {
    report('replacement', `"replacement" cannot be set for the ${quoted} action: remove it`);
  }
  if (action === 'labelmap' && !validWithVars(replacement)) {
    report(
      'replacement',
      `${JSON.stringify(replacement)} is an invalid "replacement" for the "labelmap" action${nameHint}, optionally with $1 or \${name} references`,
    );
  }
  if (action === 'hashmod' && !validName(targetLabel)) report('target_label', `${invalidTarget}${nameHint}`);

  if (action === 'keepequal' || action === 'dropequal') {
    const extra: RawKey[] = [];
    if (raw.regex !== undefined) extra.push('regex');
    if (rule.modulus !== undefined) extra.push('modulus');
    if (rule.separator !== relabelDefaults.separator) extra.push('separator');
    if (replacement !== relabelDefaults.replacement) extra.push('replacement');
    for (const key of extra) {
      report(key, `the ${quoted} action takes only "source_labels" and "target_label": remove "${key}"`);
    }
  }
  if (action === 'labeldrop' || action === 'labelkeep') {
    const extra: RawKey[] = [];
    // Go checks `SourceLabels != nil`: any YAML list, even [], is rejected; only null passes.
    if (Array.isArray(raw.source_labels)) extra.push('source_labels');
    if (targetLabel !== '') extra.push('target_label');
    if (rule.modulus !== undefined) extra.push('modulus');
    if (rule.separator !== relabelDefaults.separator) extra.push('separator');
    if (replacement !== relabelDefaults.replacement) extra.push('replacement');
    for (const key of extra) report(key, `the ${quoted} action takes only "regex": remove "${key}"`);
  }
}

/** One problem in a list of relabel rules, for `promfleet relabel --rules FILE`. */
export interface RelabelRuleIssue {
  /** The rule's index in the list (0-based). */
  index: number;
  /** The dotted key path inside the rule, such as `target_label` or `source_labels.1`; "" for the rule itself. */
  path: string;
  message: string;
}

/** Options for {@link parseRelabelRules}. */
export interface ParseRelabelRulesOptions {
  readonly nameValidation?: NameValidationScheme;
}

/**
 * Parses a YAML list of relabel configs (already decoded from YAML) into rules. A null or empty
 * list gives no rules, as Prometheus; a null entry is an error, as in `config.go`.
 */
export function parseRelabelRules(
  raw: unknown,
  options?: ParseRelabelRulesOptions,
): { ok: true; rules: RelabelRule[] } | { ok: false; errors: RelabelRuleIssue[] } {
  if (raw === null || raw === undefined) return { ok: true, rules: [] };
  if (!Array.isArray(raw)) {
    return { ok: false, errors: [{ index: -1, path: '', message: 'relabel rules must be a YAML list of rules' }] };
  }
  const nameValidation = options?.nameValidation ?? 'utf8';
  const schema = nameValidation === 'utf8' ? RelabelConfigSchema : relabelConfigSchema({ nameValidation });
  const rules: RelabelRule[] = [];
  const errors: RelabelRuleIssue[] = [];
  raw.forEach((entry: unknown, index) => {
    if (entry === null || entry === undefined) {
      errors.push({ index, path: '', message: 'empty or null relabeling rule: remove the empty "-" list item' });
      return;
    }
    const parsed = schema.safeParse(entry);
    if (parsed.success) {
      rules.push(parsed.data);
      return;
    }
    for (const issue of parsed.error.issues) {
      errors.push({ index, path: issue.path.map(String).join('.'), message: issue.message });
    }
  });
  return errors.length === 0 ? { ok: true, rules } : { ok: false, errors };
}

const dropped: RelabelResult = Object.freeze({ keep: false });

/**
 * Applies `rules` in order to `labels`, exactly as Prometheus' `relabel.ProcessBuilder`: the
 * first rule that drops the set stops processing. Throws {@link InvalidRelabelRuleError} only for
 * a hand-built rule that breaks the schema's invariants. Pure: `labels` is never modified and the
 * returned map is new and owned by the caller (its iteration order is unspecified; sort with
 * `sortedLabelNames` where order matters). Setting a label to "" deletes it, as `labels.Builder`.
 */
export function relabel(labels: Labels, rules: readonly RelabelRule[], options?: RelabelOptions): RelabelResult {
  const scheme = options?.nameValidation ?? 'utf8';
  const builder = new LabelsBuilder(labels);
  for (const rule of rules) {
    if (!applyRule({ rule, builder, scheme })) return dropped;
  }
  return { keep: true, labels: builder.toMap() };
}

interface ApplyContext {
  rule: RelabelRule;
  builder: LabelsBuilder;
  scheme: NameValidationScheme;
}

/** One rule, as `relabel()` in `relabel.go`; returns false when the label set is dropped. */
function applyRule({ rule, builder, scheme }: ApplyContext): boolean {
  const value = joinSourceValues(rule, builder);
  switch (rule.action) {
    case 'drop':
      return !rule.regex.test(value);
    case 'keep':
      return rule.regex.test(value);
    case 'dropequal':
      return builder.get(rule.targetLabel) !== value;
    case 'keepequal':
      return builder.get(rule.targetLabel) === value;
    case 'replace':
      applyReplace({ rule, builder, scheme }, value);
      return true;
    case 'lowercase':
      builder.set(rule.targetLabel, goToLower(value));
      return true;
    case 'uppercase':
      builder.set(rule.targetLabel, goToUpper(value));
      return true;
    case 'hashmod':
      if (rule.modulus === undefined) throw new InvalidRelabelRuleError('hashmod rule without a modulus', rule);
      builder.set(rule.targetLabel, hashMod(value, rule.modulus));
      return true;
    case 'labelmap': {
      // Snapshot first: labels written here are not matched again in this rule (Builder.Range). The order of
      // writes only matters when two names map to one; only then is Go's order (sorted names) worth a sort.
      const writes: [target: string, value: string][] = [];
      const targets = new Set<string>();
      for (const [name, labelValue] of builder.snapshot(false)) {
        const match = rule.regex.exec(name);
        if (match === null) continue;
        const target = rule.regex.expand(rule.replacement, match);
        if (targets.has(target)) {
          for (const [n, v] of builder.snapshot(true)) {
            const m = rule.regex.exec(n);
            if (m !== null) builder.set(rule.regex.expand(rule.replacement, m), v);
          }
          return true;
        }
        targets.add(target);
        writes.push([target, labelValue]);
      }
      for (const [target, value] of writes) builder.set(target, value);
      return true;
    }
    case 'labeldrop':
      for (const [name] of builder.snapshot(false)) {
        if (rule.regex.test(name)) builder.del(name);
      }
      return true;
    case 'labelkeep':
      for (const [name] of builder.snapshot(false)) {
        if (!rule.regex.test(name)) builder.del(name);
      }
      return true;
  }
}

function joinSourceValues(rule: RelabelRule, builder: LabelsBuilder): string {
  const names = rule.sourceLabels;
  if (names.length === 1) return builder.get(names[0] ?? '');
  let out = '';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += rule.separator;
    out += builder.get(names[i] ?? '');
  }
  return out;
}

function applyReplace({ rule, builder, scheme }: ApplyContext, value: string): void {
  // Prometheus' fast path: an empty source value with the default regex sets the literal
  // replacement without validating the target name again.
  if (
    value === '' &&
    rule.regex === defaultRegex &&
    !rule.targetLabel.includes('$') &&
    !rule.replacement.includes('$')
  ) {
    builder.set(rule.targetLabel, rule.replacement);
    return;
  }
  const match = rule.regex.exec(value);
  if (match === null) return;
  const target = rule.regex.expand(rule.targetLabel, match);
  // An expanded target that is not a valid label name skips the rule; it is not an error.
  if (!isValidLabelName(target, scheme)) return;
  const result = rule.regex.expand(rule.replacement, match);
  if (result === '') builder.del(target);
  else builder.set(target, result);
}

/** md5 of the value, its last 8 bytes as a big-endian uint64, modulo `modulus` (relabel.go HashMod). */
function hashMod(value: string, modulus: number): string {
  const digest = createHash('md5').update(value, 'utf8').digest();
  return (digest.readBigUInt64BE(8) % BigInt(modulus)).toString();
}

// eslint-disable-next-line no-control-regex
const asciiOnly = /^[\x00-\x7f]*$/;

/**
 * Go's strings.ToLower: the simple per-rune mapping. JavaScript's toLowerCase applies full
 * mappings (U+0130 becomes two code points) and the final-sigma rule, so non-ASCII text is
 * mapped one code point at a time.
 */
function goToLower(s: string): string {
  if (asciiOnly.test(s)) return s.toLowerCase();
  let out = '';
  for (const ch of s) {
    const lower = ch.toLowerCase();
    // U+0130 (İ) is the only code point whose full lowercase mapping differs from the simple one.
    out += ch === '\u0130' ? 'i' : lower;
  }
  return out;
}

/**
 * Go's strings.ToUpper: the simple per-rune mapping. Where JavaScript's full mapping gives
 * several code points (ß → SS, ﬁ → FI), Go keeps the rune, except the Greek letters with
 * ypogegrammeni, whose simple uppercase is the matching prosgegrammeni letter.
 */
function goToUpper(s: string): string {
  if (asciiOnly.test(s)) return s.toUpperCase();
  let out = '';
  for (const ch of s) {
    const upper = ch.toUpperCase();
    const cp = ch.codePointAt(0) ?? 0;
    if ([...upper].length === 1) {
      out += upper;
    } else if (cp >= 0x1f80 && cp <= 0x1faf && (cp & 0x8) === 0) {
      out += String.fromCodePoint(cp + 8);
    } else if (cp === 0x1fb3 || cp === 0x1fc3 || cp === 0x1ff3) {
      out += String.fromCodePoint(cp + 9);
    } else {
      out += ch;
    }
  }
  return out;
}

/**
 * Prometheus' `labels.Builder` over an immutable base: `set` with "" deletes, `del` hides a base
 * label, and `snapshot` lists labels in `Builder.Range` order (base labels sorted by name, then
 * labels set by earlier rules in the order they were first set), which decides who wins when
 * labelmap maps two names to one.
 */
class LabelsBuilder {
  private add: Map<string, string> | undefined;
  private deleted: Set<string> | undefined;

  constructor(private readonly base: Labels) {}

  get(name: string): string {
    const added = this.add?.get(name);
    if (added !== undefined) return added;
    if (this.deleted?.has(name) === true) return '';
    return this.base.get(name) ?? '';
  }

  set(name: string, value: string): void {
    if (value === '') {
      this.del(name);
      return;
    }
    (this.add ??= new Map()).set(name, value);
  }

  del(name: string): void {
    this.add?.delete(name);
    (this.deleted ??= new Set()).add(name);
  }

  /** The current labels as [name, value] pairs, copied so the caller may set and delete while iterating. */
  snapshot(ordered: boolean): [string, string][] {
    const out: [string, string][] = [];
    const baseNames = ordered ? [...this.base.keys()].sort(compareLabelNames) : this.base.keys();
    for (const name of baseNames) {
      if (this.deleted?.has(name) === true || this.add?.has(name) === true) continue;
      out.push([name, this.base.get(name) ?? '']);
    }
    if (this.add !== undefined) out.push(...this.add);
    return out;
  }

  toMap(): Map<string, string> {
    if (this.add === undefined && this.deleted === undefined) return new Map(this.base);
    return new Map(this.snapshot(false));
  }
}
