import { describe, expect, it } from '@jest/globals';
import { parseRelabelRules, type RelabelRule } from '@promfleet/model';
import { acceptedExemplarLabels, canonicalSeriesText, isSeriesPartOfFamily, mutateSampleLabels, reportLabels, seriesProblem } from './sample-labels.js';

const m = (o: Record<string, string>) => new Map(Object.entries(o));
const target = m({ instance: 'a:9100', job: 'node' });

function rules(raw: unknown[]): RelabelRule[] {
  const parsed = parseRelabelRules(raw);
  if (!parsed.ok) throw new Error('rules');
  return parsed.rules;
}

describe('mutateSampleLabels', () => {
  it.each([
    ['no clash', { __name__: 'x', a: '1' }, false, { __name__: 'x', a: '1', instance: 'a:9100', job: 'node' }],
    ['clash, not honored: scraped value kept as exported_', { __name__: 'x', job: 'other' }, false, { __name__: 'x', exported_job: 'other', instance: 'a:9100', job: 'node' }],
    ['clash, honored: scraped value wins', { __name__: 'x', job: 'other' }, true, { __name__: 'x', instance: 'a:9100', job: 'other' }],
    ['exported_ taken: prefixed again', { __name__: 'x', job: 'j', exported_job: 'e' }, false, { __name__: 'x', exported_exported_job: 'j', exported_job: 'e', instance: 'a:9100', job: 'node' }],
    ['empty scraped value is no clash', { __name__: 'x', job: '' }, false, { __name__: 'x', instance: 'a:9100', job: 'node' }],
  ])('%s', (_name, scraped, honorLabels, expected) => {
    expect(Object.fromEntries(mutateSampleLabels({ scraped: m(scraped), targetLabels: target, honorLabels, rules: [], scheme: 'utf8' }) ?? [])).toEqual(expected);
  });

  it('renames shorter conflicting names first, as resolveConflictingExposedLabels sorts them', () => {
    const t = m({ a: 't', exported_a: 't2' });
    const out = mutateSampleLabels({ scraped: m({ __name__: 'x', a: 's', exported_a: 's2' }), targetLabels: t, honorLabels: false, rules: [], scheme: 'utf8' });
    expect(Object.fromEntries(out ?? [])).toEqual({ __name__: 'x', a: 't', exported_a: 't2', exported_exported_a: 's', exported_exported_exported_a: 's2' });
  });

  it('runs metric relabeling after the target labels, and drops what it drops', () => {
    const drop = rules([{ source_labels: ['__name__'], regex: 'go_.*', action: 'drop' }, { target_label: 'team', replacement: '${1}x', source_labels: ['job'] }]);
    expect(mutateSampleLabels({ scraped: m({ __name__: 'go_gc' }), targetLabels: target, honorLabels: false, rules: drop, scheme: 'utf8' })).toBeUndefined();
    expect(mutateSampleLabels({ scraped: m({ __name__: 'up2' }), targetLabels: target, honorLabels: false, rules: drop, scheme: 'utf8' })?.get('team')).toBe('nodex');
  });
});

describe('reportLabels', () => {
  it('is the target labels and the name', () => {
    expect(Object.fromEntries(reportLabels('up', target))).toEqual({ __name__: 'up', instance: 'a:9100', job: 'node' });
  });
});

describe('seriesProblem', () => {
  const none = { labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0 };
  it.each([
    [{ __name__: 'x', a: 'b' }, none, 'utf8', undefined],
    [{ __name__: 'my.metric' }, none, 'utf8', undefined],
    [{ __name__: 'my.metric' }, none, 'legacy', 'invalid metric name or label names: {__name__="my.metric"}'],
    [{ __name__: 'x', a: 'b\uFFFD' }, none, 'utf8', undefined],
    [{ __name__: 'x', a: 'b\uDCFF' }, none, 'utf8', 'invalid metric name or label names: {__name__="x", a="b\\xff"}'],
    [{ __name__: 'x', a: 'b', c: 'd' }, { ...none, labelLimit: 2 }, 'utf8', 'label_limit exceeded (metric: x, number of labels: 3, limit: 2)'],
    [{ __name__: 'x', abcdefghi: 'b' }, { ...none, labelNameLengthLimit: 8 }, 'utf8', 'label_name_length_limit exceeded (metric: x, label name: abcdefghi, length: 9, limit: 8)'],
    [{ __name__: 'x', a: 'b' }, { ...none, labelNameLengthLimit: 5 }, 'utf8', 'label_name_length_limit exceeded (metric: x, label name: __name__, length: 8, limit: 5)'],
    [{ __name__: 'x', a: 'é' }, { ...none, labelValueLengthLimit: 1 }, 'utf8', 'label_value_length_limit exceeded (metric: x, label name: a, value: "é", length: 2, limit: 1)'],
  ] as const)('%j %j %s', (labels, limits, scheme, expected) => {
    expect(seriesProblem(m(labels), { limits, scheme })).toBe(expected);
  });
});

describe('mutateSampleLabels and empty values', () => {
  it('drops scraped labels with empty values, so they count for no limit', () => {
    const out = mutateSampleLabels({ scraped: m({ __name__: 'm', a: '' }), targetLabels: m({ job: 'j' }), honorLabels: false, rules: [], scheme: 'utf8' });
    expect(Object.fromEntries(out ?? [])).toEqual({ __name__: 'm', job: 'j' });
    expect(seriesProblem(out ?? new Map(), { limits: { labelLimit: 2, labelNameLengthLimit: 0, labelValueLengthLimit: 0 }, scheme: 'utf8' })).toBeUndefined();
  });
});

describe('isSeriesPartOfFamily', () => {
  it.each([
    ['foo_total', 'foo', 'counter', true],
    ['foo_total', 'foo_total', 'counter', true],
    ['foo', 'foo', 'counter', true],
    ['foo_created', 'foo', 'counter', false],
    ['foo_total_total', 'foo', 'counter', false],
    ['foobar_total', 'foo', 'counter', false],
    ['h_bucket', 'h', 'histogram', true],
    ['h_sum', 'h', 'histogram', true],
    ['h_count', 'h', 'histogram', true],
    ['h', 'h', 'histogram', true],
    ['h_created', 'h', 'histogram', false],
    ['h_gsum', 'h', 'histogram', false],
    ['g_gsum', 'g', 'gaugehistogram', true],
    ['g_gcount', 'g', 'gaugehistogram', true],
    ['g_bucket', 'g', 'gaugehistogram', true],
    ['g_sum', 'g', 'gaugehistogram', false],
    ['s_sum', 's', 'summary', true],
    ['s', 's', 'summary', true],
    ['s_bucket', 's', 'summary', false],
    ['build_info', 'build', 'info', true],
    ['build_info', 'build_info', 'info', true],
    ['x_total', 'x', 'gauge', false],
    ['x', 'x', 'gauge', true],
    ['x', 'x', 'unknown', true],
    ['x_sum', 'x', 'unknown', false],
    ['y', 'x', 'unknown', false],
  ] as const)('%s in family %s of type %s: %s', (name, family, type, expected) => {
    expect(isSeriesPartOfFamily(name, family, type)).toBe(expected);
  });
});

describe('acceptedExemplarLabels', () => {
  it('drops empty values and refuses a label set over 128 characters (code points, names and values)', () => {
    expect(acceptedExemplarLabels(new Map([['a', ''], ['id', 'x'.repeat(126)]]))).toEqual(new Map([['id', 'x'.repeat(126)]]));
    expect(acceptedExemplarLabels(new Map([['id', 'x'.repeat(127)]]))).toBeUndefined();
    expect(acceptedExemplarLabels(new Map([['id', '😀'.repeat(126)]]))).toEqual(new Map([['id', '😀'.repeat(126)]]));
    expect(acceptedExemplarLabels(new Map([['id', 'é'.repeat(127)]]))).toBeUndefined();
  });
});

describe('canonicalSeriesText', () => {
  it.each([
    ['the name alone', { __name__: 'x', instance: 'a:9100', job: 'node' }, 'x'],
    ['labels sorted, the target’s left out', { __name__: 'x', mode: 'idle', instance: 'a:9100', cpu: '0', job: 'node' }, 'x{cpu="0",mode="idle"}'],
    ['a target label with another value kept', { __name__: 'x', instance: 'a:9100', job: 'other' }, 'x{job="other"}'],
    ['values escaped as the text format does', { __name__: 'x', v: 'a"b\\c\nd', instance: 'a:9100', job: 'node' }, 'x{v="a\\"b\\\\c\\nd"}'],
    ['no text for a name that needs quotes', { __name__: 'x.y', instance: 'a:9100', job: 'node' }, undefined],
    ['no text for a label name that needs quotes', { __name__: 'x', 'a.b': '1', instance: 'a:9100', job: 'node' }, undefined],
    ['no text with le, which the parser normalises', { __name__: 'x_bucket', le: '1.0', instance: 'a:9100', job: 'node' }, undefined],
    ['no text with quantile, which the parser normalises', { __name__: 'x', quantile: '0.5', instance: 'a:9100', job: 'node' }, undefined],
  ])('%s', (_, labels, text) => {
    expect(canonicalSeriesText(m(labels), target)).toBe(text);
  });
});
