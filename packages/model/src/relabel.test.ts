import { describe, expect, it } from '@jest/globals';
import { labelsFromObject, labelsToObject, type NameValidationScheme } from './labels.js';
import { Re2Regex } from './regex.js';
import {
  InvalidRelabelRuleError,
  RelabelConfigSchema,
  parseRelabelRules,
  relabel,
  relabelConfigSchema,
  type RelabelRule,
} from './relabel.js';

/** Parses raw YAML-shaped rules; a test that passes invalid rules here fails loudly. */
function rules(raw: unknown[], nameValidation: NameValidationScheme = 'utf8'): RelabelRule[] {
  const parsed = parseRelabelRules(raw, { nameValidation });
  if (!parsed.ok) throw new Error(`invalid test rules: ${JSON.stringify(parsed.errors)}`);
  return parsed.rules;
}

/** Relabels a plain object and gives back a plain object, or 'drop'. */
function run(
  input: Record<string, string>,
  raw: unknown[],
  nameValidation: NameValidationScheme = 'utf8',
): Record<string, string> | 'drop' {
  const result = relabel(labelsFromObject(input), rules(raw, nameValidation), { nameValidation });
  return result.keep ? { ...labelsToObject(result.labels) } : 'drop';
}

/** The issues of parsing one raw rule, as `path: message`. */
function issues(raw: unknown, nameValidation: NameValidationScheme = 'utf8'): string[] {
  const parsed = relabelConfigSchema({ nameValidation }).safeParse(raw);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('RelabelConfigSchema', () => {
  it('applies Prometheus defaults', () => {
    const rule = RelabelConfigSchema.parse({ target_label: 'x' });
    expect({ ...rule, regex: rule.regex.source }).toEqual({
      action: 'replace',
      sourceLabels: [],
      separator: ';',
      regex: '(.*)',
      modulus: undefined,
      targetLabel: 'x',
      replacement: '$1',
    });
  });

  it('reads every key', () => {
    const rule = RelabelConfigSchema.parse({
      source_labels: ['a', 'b'],
      separator: '/',
      regex: 'x(.*)',
      modulus: 8,
      target_label: '__tmp_hash',
      replacement: 'ignored',
      action: 'HashMod',
    });
    expect({ ...rule, regex: rule.regex.source }).toEqual({
      action: 'hashmod',
      sourceLabels: ['a', 'b'],
      separator: '/',
      regex: 'x(.*)',
      modulus: 8,
      targetLabel: '__tmp_hash',
      replacement: 'ignored',
    });
  });

  it.each<[string, Record<string, unknown>, Partial<Record<keyof RelabelRule, unknown>>]>([
    // go-yaml v2 decodes any scalar into a string field as its text.
    ['a numeric regex', { regex: 123, action: 'keep' }, { regex: '123' }],
    ['a boolean replacement', { target_label: 'x', replacement: true }, { replacement: 'true' }],
    ['a numeric source label', { source_labels: [1], target_label: 'x' }, { sourceLabels: ['1'] }],
    // A null is the zero value "", not the default.
    ['a null separator', { separator: null, target_label: 'x' }, { separator: '' }],
    ['a null replacement', { replacement: null, target_label: 'x' }, { replacement: '' }],
    ['a null regex', { regex: null, action: 'keep' }, { regex: '' }],
    ['a null source label list', { source_labels: null, target_label: 'x' }, { sourceLabels: [] }],
    ['a null source label', { source_labels: ['a', null], target_label: 'x' }, { sourceLabels: ['a', ''] }],
    ['a zero modulus on replace', { modulus: 0, target_label: 'x' }, { modulus: undefined }],
    ['an upper-case action', { action: 'LabelDrop', regex: 'x' }, { action: 'labeldrop' }],
    ['a UTF-8 source label', { source_labels: ['utf-8.label'], target_label: 'x' }, { sourceLabels: ['utf-8.label'] }],
  ])('accepts %s', (_name, raw, expected) => {
    const rule = RelabelConfigSchema.parse(raw);
    const seen: Record<string, unknown> = { ...rule, regex: rule.regex.source };
    for (const [key, value] of Object.entries(expected)) expect([key, seen[key]]).toEqual([key, value]);
  });

  it('accepts an object without a prototype, as YAML loaders build them', () => {
    const raw = Object.assign(Object.create(null) as Record<string, unknown>, { target_label: 'x', replacement: 'y' });
    expect(RelabelConfigSchema.parse(raw).replacement).toBe('y');
  });

  it('shares one default regex but compiles an explicit (.*) anew, as Prometheus compares pointers', () => {
    const a = RelabelConfigSchema.parse({ target_label: 'a' });
    const b = RelabelConfigSchema.parse({ target_label: 'b' });
    const c = RelabelConfigSchema.parse({ target_label: 'c', regex: '(.*)' });
    expect(a.regex).toBe(b.regex);
    expect(c.regex).not.toBe(a.regex);
    expect(c.regex).toBeInstanceOf(Re2Regex);
  });

  // [what, raw rule, expected issues as `path: message substring`]
  it.each<[string, unknown, string[]]>([
    ['a null action', { action: null }, ['action: relabel action cannot be empty']],
    ['an empty action', { action: '' }, ['action: relabel action cannot be empty']],
    ['an unknown action', { action: 'rename' }, ['action: unknown relabel action "rename": use one of replace, keep']],
    ['hashmod without modulus', { action: 'hashmod', target_label: 't' }, ['modulus: the "hashmod" action requires a non-zero "modulus"']],
    ['hashmod with modulus 0', { action: 'hashmod', target_label: 't', modulus: 0 }, ['modulus: the "hashmod" action requires']],
    ['a negative modulus', { action: 'hashmod', target_label: 't', modulus: -1 }, ['modulus: "modulus" must be a positive integer']],
    ['a fractional modulus', { action: 'hashmod', target_label: 't', modulus: 1.5 }, ['modulus: "modulus" must be a positive integer']],
    ['an unsafe modulus', { action: 'hashmod', target_label: 't', modulus: 2 ** 53 }, ['modulus: "modulus" must be a positive integer below 2^53']],
    ['a string modulus', { action: 'hashmod', target_label: 't', modulus: '8' }, ['modulus: "modulus" must be a positive integer']],
    ['replace without target', {}, ['target_label: the "replace" action requires "target_label"']],
    ['hashmod without target', { action: 'hashmod', modulus: 2 }, ['target_label: the "hashmod" action requires "target_label"']],
    ['lowercase without target', { action: 'lowercase' }, ['target_label: the "lowercase" action requires']],
    ['uppercase without target', { action: 'uppercase' }, ['target_label: the "uppercase" action requires']],
    ['keepequal without target', { action: 'keepequal' }, ['target_label: the "keepequal" action requires']],
    ['dropequal without target', { action: 'dropequal' }, ['target_label: the "dropequal" action requires']],
    ['replacement on lowercase', { action: 'lowercase', target_label: 't', replacement: 'x' }, ['replacement: "replacement" cannot be set for the "lowercase" action']],
    ['regex on keepequal', { action: 'keepequal', target_label: 't', regex: '(.*)' }, ['regex: the "keepequal" action takes only "source_labels" and "target_label": remove "regex"']],
    ['separator on dropequal', { action: 'dropequal', target_label: 't', separator: ',' }, ['separator: the "dropequal" action takes only']],
    ['modulus on keepequal', { action: 'keepequal', target_label: 't', modulus: 3 }, ['modulus: the "keepequal" action takes only']],
    ['source_labels on labeldrop', { action: 'labeldrop', regex: 'x', source_labels: [] }, ['source_labels: the "labeldrop" action takes only "regex": remove "source_labels"']],
    ['target_label on labelkeep', { action: 'labelkeep', regex: 'x', target_label: 'y' }, ['target_label: the "labelkeep" action takes only "regex"']],
    ['replacement on labeldrop', { action: 'labeldrop', regex: 'x', replacement: 'y' }, ['replacement: the "labeldrop" action takes only "regex"']],
    ['separator on labelkeep', { action: 'labelkeep', separator: '' }, ['separator: the "labelkeep" action takes only "regex"']],
    ['an invalid regex', { action: 'keep', regex: 'a**' }, ['regex: invalid regex "a**": error parsing regexp: invalid nested repetition operator: `**`']],
    ['an unknown key', { target_label: 'x', targetLabel: 'y' }, ['targetLabel: unknown key "targetLabel" in relabel rule: valid keys are source_labels']],
    ['an invalid source label', { source_labels: ['a', ''], target_label: 'x' }, ['source_labels.1: "" is not a valid label name']],
    ['source_labels as a string', { source_labels: 'a', target_label: 'x' }, ['source_labels: "source_labels" must be a list of label names']],
    ['a list as regex', { regex: ['a'], action: 'keep' }, ['regex: "regex" must be a string']],
    ['not a mapping', 'keep', [': a relabel rule must be a mapping']],
    ['several problems', { action: 'hashmod', regex: '(' }, ['regex: invalid regex "(": error parsing regexp: missing closing )', 'modulus: the "hashmod"', 'target_label: the "hashmod"']],
  ])('rejects %s', (_name, raw, expected) => {
    const got = issues(raw);
    expect(got).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(got[i]).toContain(e));
  });

  // [what, raw rule, [valid under utf8, valid under legacy]]
  it.each<[string, Record<string, unknown>, [boolean, boolean]]>([
    ['plain name', { target_label: 'foo' }, [true, true]],
    ['leading digit', { target_label: '0foo' }, [true, false]],
    ['dotted name', { target_label: 'utf-8.label' }, [true, false]],
    ['name with $1', { target_label: 'label_$1' }, [true, true]],
    ['name with ${1}', { target_label: '${1}label' }, [true, true]],
    ['only ${3}', { target_label: '${3}' }, [true, true]],
    ['dash then ${3}', { target_label: '-${3}' }, [true, false]],
    ['bare $', { target_label: 'foo$' }, [true, false]],
    ['empty braces', { target_label: '${}' }, [true, false]],
    ['dotted name with $1', { target_label: 'bar.foo${1}bar' }, [true, false]],
    ['lowercase with ${3}', { action: 'lowercase', target_label: '${3}' }, [true, false]],
    ['hashmod into a dotted name', { action: 'hashmod', modulus: 2, target_label: 'a.b' }, [true, false]],
    ['keepequal against a dotted name', { action: 'keepequal', target_label: 'a.b' }, [true, false]],
    ['labelmap to __param_$1', { action: 'labelmap', regex: '(.+)', replacement: '__param_$1' }, [true, true]],
    ['labelmap to a dotted name', { action: 'labelmap', regex: '(.+)', replacement: 'a.$1' }, [true, false]],
    ['labelmap to ""', { action: 'labelmap', regex: '(.+)', replacement: '' }, [false, false]],
  ])('validates %s by the name validation scheme', (_name, raw, valid) => {
    expect([issues(raw, 'utf8'), issues(raw, 'legacy')].map((i) => i.length === 0)).toEqual(valid);
  });

  it('is linear on long invalid legacy target labels', () => {
    const started = Date.now();
    expect(issues({ target_label: `${'a$1'.repeat(5_000)}-` }, 'legacy')).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('parseRelabelRules', () => {
  it('parses a list and reports issues with the rule index and key path', () => {
    const parsed = parseRelabelRules([
      { source_labels: ['a'], target_label: 'b' },
      { action: 'drop', regex: '(?=x)' },
      null,
      { action: 'keep', source_labels: ['ok', ''] },
    ]);
    expect(parsed).toEqual({
      ok: false,
      errors: [
        { index: 1, path: 'regex', message: 'invalid regex "(?=x)": error parsing regexp: invalid or unsupported Perl syntax: `(?=`' },
        { index: 2, path: '', message: 'empty or null relabeling rule: remove the empty "-" list item' },
        { index: 3, path: 'source_labels.1', message: '"" is not a valid label name' },
      ],
    });
  });

  it.each<[unknown, number]>([
    [null, 0],
    [undefined, 0],
    [[], 0],
    [[{ target_label: 'a' }, { action: 'keep' }], 2],
  ])('accepts %j as %d rules', (raw, count) => {
    const parsed = parseRelabelRules(raw);
    expect(parsed.ok ? parsed.rules.length : parsed.errors).toBe(count);
  });

  it('rejects something that is not a list', () => {
    expect(parseRelabelRules({ action: 'keep' })).toEqual({
      ok: false,
      errors: [{ index: -1, path: '', message: 'relabel rules must be a YAML list of rules' }],
    });
  });

  it('validates target labels with the requested scheme', () => {
    expect(parseRelabelRules([{ target_label: 'a.b' }]).ok).toBe(true);
    expect(parseRelabelRules([{ target_label: 'a.b' }], { nameValidation: 'legacy' }).ok).toBe(false);
  });
});

describe('relabel', () => {
  const abc = { a: 'foo', b: 'bar', c: 'baz' };

  // [case, input labels, raw rules, output labels or 'drop']; cases follow Prometheus' relabel_test.go.
  const cases: [string, Record<string, string>, unknown[], Record<string, string> | 'drop'][] = [
    ['replace with ${1}', abc, [{ source_labels: ['a'], regex: 'f(.*)', target_label: 'd', replacement: 'ch${1}-ch${1}' }], { ...abc, d: 'choo-choo' }],
    [
      'replace chained over several source labels',
      abc,
      [
        { source_labels: ['a', 'b'], regex: 'f(.*);(.*)r', target_label: 'a', replacement: 'b${1}${2}m' },
        { source_labels: ['c', 'a'], regex: '(b).*b(.*)ba(.*)', target_label: 'd', replacement: '$1$2$2$3' },
      ],
      { a: 'boobam', b: 'bar', c: 'baz', d: 'boooom' },
    ],
    ['drop stops processing', { a: 'foo' }, [{ source_labels: ['a'], regex: '.*o.*', action: 'drop' }, { source_labels: ['a'], target_label: 'd' }], 'drop'],
    ['drop without a match keeps', { a: 'foo' }, [{ source_labels: ['a'], regex: 'no-match', action: 'drop' }], { a: 'foo' }],
    ['drop is anchored', { a: 'foo' }, [{ source_labels: ['a'], regex: 'f|o', action: 'drop' }], { a: 'foo' }],
    ['keep without a match drops', { a: 'foo' }, [{ source_labels: ['a'], regex: 'no-match', action: 'keep' }], 'drop'],
    ['keep with a match keeps', { a: 'foo' }, [{ source_labels: ['a'], regex: 'f.*', action: 'keep' }], { a: 'foo' }],
    ['keep is anchored (foo does not match foobar)', { a: 'foobar' }, [{ source_labels: ['a'], regex: 'foo', action: 'keep' }], 'drop'],
    ['keep on a missing label sees ""', { a: 'foo' }, [{ source_labels: ['missing'], regex: '', action: 'keep' }], { a: 'foo' }],
    ['keep with no source labels sees ""', { a: 'foo' }, [{ regex: '.+', action: 'keep' }], 'drop'],
    ['replace without a match changes nothing', { a: 'boo' }, [{ source_labels: ['a'], regex: 'f', target_label: 'b', replacement: 'bar' }], { a: 'boo' }],
    ['replace with an empty result deletes the target', { a: 'foo', f: 'baz' }, [{ source_labels: ['a'], regex: '(f).*', target_label: '$1', replacement: '$2' }], { a: 'foo' }],
    ['replace with an expanded target', { a: 'some-name-value' }, [{ source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', target_label: '${1}', replacement: '${2}' }], { a: 'some-name-value', name: 'value' }],
    ['replace with an out-of-range group in the replacement', { a: 'some-name-value' }, [{ source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', target_label: '${1}', replacement: '${3}' }], { a: 'some-name-value' }],
    ['replace skips an expanded target that is empty', { a: 'some-name-0' }, [{ source_labels: ['a'], regex: 'some-([^-]+)-([^,]+)', target_label: '${3}', replacement: '${1}' }], { a: 'some-name-0' }],
    ['replace: $1x is the group named 1x, so the target is empty and skipped', { a: 'v' }, [{ source_labels: ['a'], regex: '(.*)', target_label: '$1x', replacement: 'y' }], { a: 'v' }],
    ['replace: ${1}x is group 1 then x', { a: 'v' }, [{ source_labels: ['a'], regex: '(.*)', target_label: '${1}x', replacement: 'y' }], { a: 'v', vx: 'y' }],
    [
      'replace, real-life tags',
      { __meta_sd_tags: 'path:/secret,job:some-job,label:foo=bar' },
      [
        { source_labels: ['__meta_sd_tags'], regex: '(?:.+,|^)path:(/[^,]+).*', target_label: '__metrics_path__', replacement: '${1}' },
        { source_labels: ['__meta_sd_tags'], regex: '(?:.+,|^)job:([^,]+).*', target_label: 'job', replacement: '${1}' },
        { source_labels: ['__meta_sd_tags'], regex: '(?:.+,|^)label:([^=]+)=([^,]+).*', target_label: '${1}', replacement: '${2}' },
      ],
      { __meta_sd_tags: 'path:/secret,job:some-job,label:foo=bar', __metrics_path__: '/secret', job: 'some-job', foo: 'bar' },
    ],
    [
      'labeldrop then replace then keep (prometheus#12283)',
      { __meta_kubernetes_pod_container_port_name: 'foo', __meta_kubernetes_pod_annotation_XXX_metrics_port: '9091' },
      [
        { regex: '^__meta_kubernetes_pod_container_port_name$', action: 'labeldrop' },
        { source_labels: ['__meta_kubernetes_pod_annotation_XXX_metrics_port'], regex: '(.+)', target_label: '__meta_kubernetes_pod_container_port_name', replacement: 'metrics' },
        { source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: '^metrics$', action: 'keep' },
      ],
      { __meta_kubernetes_pod_annotation_XXX_metrics_port: '9091', __meta_kubernetes_pod_container_port_name: 'metrics' },
    ],
    ['replace matches across newlines (the wrapper sets s)', { a: 'line1\nline2' }, [{ source_labels: ['a'], regex: 'line1.*line2', target_label: 'd', replacement: 'match${1}' }], { a: 'line1\nline2', d: 'match' }],
    ['replace from a UTF-8 source label', { 'utf-8.label': 'x' }, [{ source_labels: ['utf-8.label'], target_label: 'd' }], { 'utf-8.label': 'x', d: 'x' }],
    ['replace into a UTF-8 target label', { a: 'x' }, [{ source_labels: ['a'], target_label: 'utf-8.label' }], { a: 'x', 'utf-8.label': 'x' }],
    [
      'replace with named groups',
      { a: 'line1\nline2' },
      [
        { source_labels: ['a'], regex: '(line1).*(?<second>line2)', target_label: 'label1_${1}', replacement: 'val_${second}' },
        { source_labels: ['a'], regex: '(line1).*(?<second>line2)', target_label: 'label2_$1', replacement: 'val_$second' },
      ],
      { a: 'line1\nline2', label1_line1: 'val_line2', label2_line1: 'val_line2' },
    ],
    ['replace with (?i)', { a: 'FOO' }, [{ source_labels: ['a'], regex: '(?i)f(o+)', target_label: 'b' }], { a: 'FOO', b: 'OO' }],
    ['replace with a static value and no source', { a: 'x' }, [{ target_label: 'cluster', replacement: 'dev' }], { a: 'x', cluster: 'dev' }],
    ['replace joins missing labels as ""', { a: 'x' }, [{ source_labels: ['a', 'missing', 'a'], target_label: 'j' }], { a: 'x', j: 'x;;x' }],
    ['replace with a custom separator', { a: 'x', b: 'y' }, [{ source_labels: ['a', 'b'], separator: '', target_label: 'j' }], { a: 'x', b: 'y', j: 'xy' }],
    ['replace with a null separator joins with ""', { a: 'x', b: 'y' }, [{ source_labels: ['a', 'b'], separator: null, target_label: 'j' }], { a: 'x', b: 'y', j: 'xy' }],
    ['replace of an empty source value deletes the target', { a: '', t: 'old' }, [{ source_labels: ['a'], target_label: 't' }], { a: '' }],
    ['replace with $$ writes a literal $', { a: 'x' }, [{ source_labels: ['a'], target_label: 't', replacement: '$$1' }], { a: 'x', t: '$1' }],
    ['hashmod', abc, [{ source_labels: ['c'], target_label: 'd', modulus: 1000, action: 'hashmod' }], { ...abc, d: '976' }],
    ['hashmod of a value with a newline', { a: 'foo\nbar' }, [{ source_labels: ['a'], target_label: 'b', modulus: 1000, action: 'hashmod' }], { a: 'foo\nbar', b: '734' }],
    ['labelmap copies and keeps the original', { a: 'foo', b1: 'bar', b2: 'baz' }, [{ regex: '(b.*)', replacement: 'bar_${1}', action: 'labelmap' }], { a: 'foo', b1: 'bar', b2: 'baz', bar_b1: 'bar', bar_b2: 'baz' }],
    [
      'labelmap of __meta_ labels',
      { a: 'foo', __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', __meta_other: 'ccc' },
      [{ regex: '__meta_(my.*)', replacement: '${1}', action: 'labelmap' }],
      { a: 'foo', __meta_my_bar: 'aaa', __meta_my_baz: 'bbb', __meta_other: 'ccc', my_bar: 'aaa', my_baz: 'bbb' },
    ],
    ['labelmap with the default replacement', { __meta_kubernetes_pod_label_app: 'web' }, [{ regex: '__meta_kubernetes_pod_label_(.+)', action: 'labelmap' }], { __meta_kubernetes_pod_label_app: 'web', app: 'web' }],
    ['labelkeep', { a: 'foo', b1: 'bar', b2: 'baz' }, [{ regex: '(b.*)', action: 'labelkeep' }], { b1: 'bar', b2: 'baz' }],
    ['labeldrop', { a: 'foo', b1: 'bar', b2: 'baz' }, [{ regex: '(b.*)', action: 'labeldrop' }], { a: 'foo' }],
    ['labeldrop is anchored', { ab: '1', b: '2' }, [{ regex: 'b', action: 'labeldrop' }], { ab: '1' }],
    [
      'uppercase and lowercase',
      { foo: 'bAr123Foo' },
      [
        { source_labels: ['foo'], action: 'uppercase', target_label: 'foo_uppercase' },
        { source_labels: ['foo'], action: 'lowercase', target_label: 'foo_lowercase' },
      ],
      { foo: 'bAr123Foo', foo_lowercase: 'bar123foo', foo_uppercase: 'BAR123FOO' },
    ],
    ['lowercase of a missing label deletes the target', { t: 'x' }, [{ source_labels: ['missing'], action: 'lowercase', target_label: 't' }], {}],
    ['keepequal with an equal target keeps', { __tmp_port: '1234', __port1: '1234' }, [{ source_labels: ['__tmp_port'], action: 'keepequal', target_label: '__port1' }], { __tmp_port: '1234', __port1: '1234' }],
    ['keepequal with a different target drops', { __tmp_port: '1234', __port2: '5678' }, [{ source_labels: ['__tmp_port'], action: 'keepequal', target_label: '__port2' }], 'drop'],
    ['dropequal with an equal target drops', { __tmp_port: '1234', __port1: '1234' }, [{ source_labels: ['__tmp_port'], action: 'dropequal', target_label: '__port1' }], 'drop'],
    ['dropequal with a different target keeps', { __tmp_port: '1234', __port2: '5678' }, [{ source_labels: ['__tmp_port'], action: 'dropequal', target_label: '__port2' }], { __tmp_port: '1234', __port2: '5678' }],
    ['dropequal of two missing labels drops ("" equals "")', { a: 'x' }, [{ source_labels: ['m1'], action: 'dropequal', target_label: 'm2' }], 'drop'],
    ['replace sets __type__ for counters', { __name__: 'http_requests_total' }, [{ source_labels: ['__name__'], regex: '.*_total$', target_label: '__type__', replacement: 'counter' }], { __name__: 'http_requests_total', __type__: 'counter' }],
    [
      'the kubernetes-pods example keeps a pod with a port annotation',
      { __address__: '10.1.2.3:80', __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true', __meta_kubernetes_pod_annotation_prometheus_io_port: '9102', __meta_kubernetes_namespace: 'ns' },
      [
        { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' },
        { source_labels: ['__address__', '__meta_kubernetes_pod_annotation_prometheus_io_port'], action: 'replace', regex: '([^:]+)(?::\\d+)?;(\\d+)', replacement: '$1:$2', target_label: '__address__' },
        { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      ],
      { __address__: '10.1.2.3:9102', __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true', __meta_kubernetes_pod_annotation_prometheus_io_port: '9102', __meta_kubernetes_namespace: 'ns', namespace: 'ns' },
    ],
  ];
  it.each(cases.map(([name, input, raw, expected]) => ({ name, input, raw, expected })))('$name', ({ input, raw, expected }) => {
    expect(run(input, raw)).toEqual(expected);
  });

  // Expected values computed independently with Python:
  //   python3 -c 'import hashlib; h = hashlib.md5(V.encode()).digest(); print(int.from_bytes(h[8:], "big") % M)'
  it.each<[string, number, string]>([
    ['baz', 1000, '976'],
    ['foo\nbar', 1000, '734'],
    ['', 8, '6'],
    ['10.0.0.1:9100', 3, '2'],
    ['ünïcödé', 97, '36'],
    ['x', 2 ** 53 - 1, '2346693179502420'],
  ])('hashmod of %j modulo %d is %s', (value, modulus, expected) => {
    expect(run({ v: value }, [{ source_labels: ['v'], action: 'hashmod', modulus, target_label: 'h' }])).toEqual({ v: value, h: expected });
  });

  it('joins source labels before hashing', () => {
    // python3: md5("node-a;9100") → last 8 bytes big-endian mod 16 = 11
    expect(run({ a: 'node-a', b: '9100' }, [{ source_labels: ['a', 'b'], action: 'hashmod', modulus: 16, target_label: 'h' }])).toEqual({
      a: 'node-a',
      b: '9100',
      h: '11',
    });
  });

  it.each<[string, string, string]>([
    ['lowercase', 'İSTANBUL', 'istanbul'],
    ['lowercase', 'ΟΔΟΣ', 'οδοσ'],
    ['lowercase', 'ÀÉÎ', 'àéî'],
    ['uppercase', 'straße', 'STRAßE'],
    ['uppercase', 'ﬁx', 'ﬁX'],
    ['uppercase', 'ᾳ', 'ᾼ'],
    ['uppercase', 'ǆ', 'Ǆ'],
    ['uppercase', 'àéî', 'ÀÉÎ'],
  ])('%s maps %j to %j as Go strings.To* (simple case mapping)', (action, value, expected) => {
    expect(run({ v: value }, [{ source_labels: ['v'], action, target_label: 't' }])).toEqual({ v: value, t: expected });
  });

  it('skips a replace whose expanded target is invalid under the legacy scheme', () => {
    const raw = [{ source_labels: ['a'], regex: '(.*)', target_label: 'x_${1}', replacement: 'v' }];
    expect(run({ a: 'ok' }, raw, 'legacy')).toEqual({ a: 'ok', x_ok: 'v' });
    expect(run({ a: 'not.ok' }, raw, 'legacy')).toEqual({ a: 'not.ok' });
    expect(run({ a: 'not.ok' }, raw, 'utf8')).toEqual({ a: 'not.ok', 'x_not.ok': 'v' });
  });

  it('writes labelmap results in Builder.Range order: sorted input labels first, then labels set earlier', () => {
    const raw = [
      { target_label: 'z_x', replacement: 'from-rule' },
      { regex: '[a-z]_(x)', replacement: '$1', action: 'labelmap' },
    ];
    // Input labels a_x and b_x map to x in sorted order (b_x wins); z_x, set by the first rule, comes last.
    expect(run({ b_x: 'b', a_x: 'a' }, raw)).toEqual({ a_x: 'a', b_x: 'b', z_x: 'from-rule', x: 'from-rule' });
    expect(run({ b_x: 'b', a_x: 'a' }, raw.slice(1))).toEqual({ a_x: 'a', b_x: 'b', x: 'b' });
  });

  it('does not match labels that labelmap writes in the same rule', () => {
    expect(run({ a: '1' }, [{ regex: '(a+)', replacement: 'a$1', action: 'labelmap' }])).toEqual({ a: '1', aa: '1' });
  });

  it('never mutates its input and returns a new map', () => {
    const input = new Map([
      ['a', 'foo'],
      ['b', 'bar'],
    ]);
    const snapshot = [...input];
    const keepAll = relabel(input, []);
    const changed = relabel(input, rules([{ source_labels: ['a'], target_label: 'b' }, { regex: 'a', action: 'labeldrop' }]));
    expect([...input]).toEqual(snapshot);
    expect(keepAll.keep && keepAll.labels !== input).toBe(true);
    expect(changed.keep ? labelsToObject(changed.labels) : 'drop').toEqual({ b: 'foo' });
  });

  it('keeps empty input values that no rule touches, as labels.Builder does', () => {
    expect(run({ a: '', b: 'x' }, [{ source_labels: ['b'], target_label: 'c' }])).toEqual({ a: '', b: 'x', c: 'x' });
  });

  it('treats label names such as __proto__ as ordinary names', () => {
    const input = new Map([['__proto__', 'p']]);
    const result = relabel(input, rules([{ source_labels: ['__proto__'], target_label: 'constructor' }]));
    expect(result.keep ? [...result.labels].sort() : 'drop').toEqual([
      ['__proto__', 'p'],
      ['constructor', 'p'],
    ]);
  });

  it('refuses a hand-built hashmod rule without a modulus', () => {
    const [valid] = rules([{ source_labels: ['a'], action: 'hashmod', modulus: 2, target_label: 'h' }]);
    if (valid === undefined) throw new Error('no rule');
    const broken: RelabelRule = { ...valid, modulus: undefined };
    expect(() => relabel(new Map([['a', 'x']]), [broken])).toThrow(InvalidRelabelRuleError);
  });
});
