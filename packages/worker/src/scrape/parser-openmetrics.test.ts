import { describe, expect, it } from '@jest/globals';
import { ParserMisuseError, createParser } from './parser.js';
import { openMetricsExposition, parseFailure, readAll, seriesOf } from './parser-fixtures.js';

const om = (body: string) => readAll(body, 'openmetrics');
const series = (body: string) => seriesOf(body, 'openmetrics');
const failure = (body: string) => parseFailure(body, 'openmetrics');

describe('OpenMetrics: a realistic exposition', () => {
  it('reads metadata, samples, float-second timestamps, exemplars and _created series', () => {
    const entries = om(openMetricsExposition);
    expect(entries.slice(0, 5)).toEqual([
      { help: 'http_requests', text: 'Requests served, "quoted" and "escaped".' },
      { type: 'http_requests', kind: 'counter' },
      {
        series: 'http_requests_total{code="200"}',
        labels: { __name__: 'http_requests_total', code: '200' },
        value: 1027,
        timestampMs: 1_520_879_607_789,
        exemplar: true,
      },
      { series: 'http_requests_created{code="200"}', labels: { __name__: 'http_requests_created', code: '200' }, value: 1520430000.123, timestampMs: undefined, exemplar: false },
      { series: 'http_requests_total{code="500"}', labels: { __name__: 'http_requests_total', code: '500' }, value: 3, timestampMs: undefined, exemplar: false },
    ]);
    expect(entries).toContainEqual({ unit: 'request_duration_seconds', text: 'seconds' });
    expect(entries).toContainEqual({ type: 'feature', kind: 'stateset' });
    expect(entries).toContainEqual({ type: 'build', kind: 'info' });
    expect(entries).toContainEqual({
      series: 'request_duration_seconds_bucket{le="0.5"}',
      labels: { __name__: 'request_duration_seconds_bucket', le: '0.5' },
      value: 129,
      timestampMs: undefined,
      exemplar: true,
    });
    expect(entries.at(-1)).toEqual({ series: '{"my.metric","label.x"="v"}', labels: { __name__: 'my.metric', 'label.x': 'v' }, value: 2.5, timestampMs: undefined, exemplar: false });
  });

  it('ends at # EOF and stays ended', () => {
    const parser = createParser({ body: 'a 1\n# EOF\n', format: 'openmetrics' });
    expect(parser.next()).toBe('series');
    expect(parser.next()).toBeUndefined();
    expect(parser.next()).toBeUndefined();
  });
});

describe('OpenMetrics: # EOF and line structure', () => {
  it.each([
    ['# EOF with a newline', 'a 1\n# EOF\n', ['a']],
    ['# EOF without a newline', 'a 1\n# EOF', ['a']],
    ['nothing but # EOF', '# EOF\n', []],
    ['a trailing comma', 'a{b="c",} 1\n# EOF\n', ['a{b="c",}']],
    ['an empty label block', 'a{} 1\n# EOF\n', ['a{}']],
    ['a counter sample without _total (Prometheus does not enforce the suffix)', '# TYPE a counter\na 1\n# EOF\n', ['a']],
    ['a family named with _total', '# TYPE a_total counter\na_total 1\n# EOF\n', ['a_total']],
    ['_created series, kept as series as Prometheus does by default', '# TYPE a counter\na_total 1\na_created 1.7e9\n# EOF\n', ['a_total', 'a_created']],
    ['a gaugehistogram', '# TYPE g gaugehistogram\ng_bucket{le="+Inf"} 1\ng_gcount 1\ng_gsum 1\n# EOF\n', ['g_bucket{le="+Inf"}', 'g_gcount', 'g_gsum']],
  ])('accepts %s', (_what, body, keys) => {
    expect(series(body).map((s) => s.series)).toEqual(keys);
  });

  it.each([
    ['no # EOF', 'a 1\n', 2, 'data does not end with # EOF'],
    ['an empty body', '', 1, 'data does not end with # EOF'],
    ['a sample line cut short', 'a 1', 1, 'data does not end with # EOF'],
    ['a HELP line cut short', '# HELP a text', 1, 'data does not end with # EOF'],
    ['data after # EOF', '# EOF\na 1\n', 1, 'unexpected data after # EOF: "a 1"'],
    ['a blank line after # EOF', '# EOF\n\n', 1, 'unexpected data after # EOF: end of line'],
    ['text after # EOF on its line', 'a 1\n# EOF x\n', 2, 'unexpected data after # EOF: " x"'],
    ['a blank line', 'a 1\n\nb 1\n# EOF\n', 2, 'blank line: OpenMetrics allows none'],
    ['a plain comment', '# hello\n# EOF\n', 1, 'expected "# HELP", "# TYPE", "# UNIT" or "# EOF": OpenMetrics allows no other "#" lines, got "# hello"'],
    ['#EOF without the space', 'a 1\n#EOF\n', 2, 'expected "# HELP", "# TYPE", "# UNIT" or "# EOF": OpenMetrics allows no other "#" lines, got "#EOF"'],
    ['a leading space', ' a 1\n# EOF\n', 1, 'expected a metric name, "{" or "#" at the start of a line, got " a 1"'],
    ['two spaces before the value', 'a  1\n# EOF\n', 1, 'expected a space and a value after the metric, got "  1"'],
    ['a tab before the value', 'a\t1\n# EOF\n', 1, 'expected a space and a value after the metric, got "\\t1"'],
    ['no space after the label block', 'a{b="c"}1\n# EOF\n', 1, 'expected a space and a value after the metric, got "1"'],
    ['a trailing space', 'a 1 \n# EOF\n', 1, 'expected a timestamp, an exemplar or the end of the line after the value, got " "'],
    ['a space inside the label block', 'a{b="c", d="e"} 1\n# EOF\n', 1, 'expected a label name or "}", got " d=\\"e\\"} 1"'],
    ['labels without a comma', 'a{b="c"d="e"} 1\n# EOF\n', 1, 'expected "," or "}" after a label value, got "d=\\"e\\"} 1"'],
    ['a raw newline in a label value', 'a{b="c\nd"} 1\n# EOF\n', 1, 'a newline in a quoted string: "\\"c"'],
    ['an unquoted label name alone (Prometheus would misread it as a quoted name)', '{abc} 1\n# EOF\n', 1, 'expected "=" after label name "abc", got "} 1"'],
    ['a CRLF line end', 'a 1\r\n# EOF\n', 1, 'invalid value "1\\r"'],
    ['a timestamp then garbage', 'a 1 2 3\n# EOF\n', 1, 'expected the end of the line, got " 3"'],
  ])('rejects %s', (_what, body, line, reason) => {
    expect(failure(body)).toEqual({ line, reason });
  });
});

describe('OpenMetrics: metadata', () => {
  it.each([
    ['# HELP a text with \\\\ \\" \\n escapes\n', { help: 'a', text: 'text with \\ " \n escapes' }],
    ['# HELP a \n', { help: 'a', text: '' }],
    ['# HELP a  two spaces\n', { help: 'a', text: ' two spaces' }],
    ['# HELP "my.metric" quoted name\n', { help: 'my.metric', text: 'quoted name' }],
    ['# UNIT a_seconds seconds\n', { unit: 'a_seconds', text: 'seconds' }],
    ['# UNIT a_seconds \n', { unit: 'a_seconds', text: '' }],
    ['# UNIT "a.b_seconds" seconds\n', { unit: 'a.b_seconds', text: 'seconds' }],
    ...(['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown'] as const).map(
      (kind) => [`# TYPE a ${kind}\n`, { type: 'a', kind }] as [string, object],
    ),
  ])('reads %j', (line, entry) => {
    expect(om(`${line}# EOF\n`)).toEqual([entry]);
  });

  it.each([
    ['# TYPE a untyped\n', 'invalid metric type "untyped"'],
    ['# TYPE a counter \n', 'invalid metric type "counter "'],
    ['# UNIT a_seconds milliseconds\n', 'unit "milliseconds" not a suffix of metric "a_seconds"'],
    ['# UNIT seconds seconds\n', 'unit "seconds" not a suffix of metric "seconds"'],
    ['# UNIT a_xseconds seconds\n', 'unit "seconds" not a suffix of metric "a_xseconds"'],
    ['# HELP a\n', 'expected a space and text after the metric name in HELP, got end of line'],
    ['# TYPE  a counter\n', 'expected a metric name after TYPE, got " a counter"'],
    ['# HELP\ta text\n', 'expected "# HELP", "# TYPE", "# UNIT" or "# EOF": OpenMetrics allows no other "#" lines, got "# HELP\\ta text"'],
  ])('rejects %j', (line, reason) => {
    expect(failure(`${line}# EOF\n`)).toEqual({ line: 1, reason });
  });
});

describe('OpenMetrics: timestamps', () => {
  it.each([
    ['1', 1000],
    ['1.5', 1500],
    ['1520879607.789', Math.trunc(1520879607.789 * 1000)],
    ['0.0001', 0],
    ['-0.0001', 0],
    ['-1.5', -1500],
    ['1e3', 1_000_000],
    ['1.0009', 1000],
  ])('reads %s seconds as truncated milliseconds, as Go int64(ts * 1000)', (written, ms) => {
    const ts = series(`a 1 ${written}\n# EOF\n`)[0]?.timestampMs;
    expect(ts).toBe(ms);
    expect(Object.is(ts, -0)).toBe(false);
  });

  it.each([
    ['NaN', 'invalid timestamp "NaN"'],
    ['+Inf', 'invalid timestamp "+Inf"'],
    ['12abc', 'invalid timestamp "12abc"'],
    ['1e300', 'timestamp "1e300" is out of range'],
    ['#', 'invalid timestamp "#"'],
  ])('rejects the timestamp %s', (written, reason) => {
    expect(failure(`a 1 ${written}\n# EOF\n`)).toEqual({ line: 1, reason });
  });
});

describe('OpenMetrics: exemplars (checked, then dropped)', () => {
  it.each([
    ['a_total 1 # {trace_id="abc"} 0.5\n', undefined],
    ['a_total 1 # {} 0.5\n', undefined],
    ['a_total 1 # {a="b",c="d",} 0.5 1.7e9\n', undefined],
    ['a_total 1 # {"quoted.name"="b"} NaN\n', undefined],
    ['a_total 1 1.5 # {trace_id="abc"} 0.5 1.25\n', 1500],
  ])('accepts %j', (line, ts) => {
    expect(series(`${line}# EOF\n`)).toEqual([{ series: 'a_total', labels: { __name__: 'a_total' }, value: 1, timestampMs: ts, exemplar: true }]);
  });

  it.each([
    ['a 1 # {a="b"}\n', 'expected a space and a value after the exemplar labels, got end of line'],
    ['a 1 # {a=b} 1\n', 'expected a quoted exemplar label value, got "b} 1"'],
    ['a 1 # {"name"} 1\n', 'expected "=" after exemplar label name "\\"name\\"", got "} 1"'],
    ['a 1 # {a="b" c="d"} 1\n', 'expected "," or "}" after an exemplar label value, got " c=\\"d\\"} 1"'],
    ['a 1 # {a="b"} x\n', 'invalid exemplar value "x"'],
    ['a 1 # {a="b"} 1 NaN\n', 'invalid exemplar timestamp "NaN"'],
    ['a 1 # {a="b"} 1 2 3\n', 'expected the end of the line, got " 3"'],
    ['a 1 # {a="b"} 1 \n', 'expected an exemplar timestamp or the end of the line, got " "'],
    ['a 1 # {a="b\nc"} 1\n', 'a newline in a quoted string: "\\"b"'],
  ])('rejects %j', (line, reason) => {
    expect(failure(`${line}# EOF\n`)).toEqual({ line: 1, reason });
  });
});

describe('OpenMetrics: labels', () => {
  it.each([
    ['quoted names', '{"my.metric","label.x"="v"} 1\n', { __name__: 'my.metric', 'label.x': 'v' }],
    ['a quoted name after the labels', '{x="y","my.metric"} 1\n', { __name__: 'my.metric', x: 'y' }],
    ['escapes', 'a{b="\\\\\\"\\n"} 1\n', { __name__: 'a', b: '\\"\n' }],
  ])('reads %s', (_what, line, labels) => {
    expect(series(`${line}# EOF\n`)[0]?.labels).toEqual(labels);
  });

  it('normalises le and quantile as the text format does', () => {
    const body = '# TYPE h histogram\nh_bucket{le="1"} 1\n# TYPE s summary\ns{quantile="0.5"} 1\ns{quantile="1"} 1\n# EOF\n';
    expect(series(body).map((s) => s.labels['le'] ?? s.labels['quantile'])).toEqual(['1.0', '0.5', '1.0']);
  });

  it.each([
    ['a{b="1",b="2"} 1\n', 'label name "b" is not unique'],
    ['{"a","b"} 1\n', 'metric name already set: "{\\"a\\",\\"b\\"}"'],
    ['{b="c"} 1\n', 'metric name not set: "{b=\\"c\\"}" has neither a name before "{" nor a quoted name inside'],
  ])('rejects %j', (line, reason) => {
    expect(failure(`${line}# EOF\n`)).toEqual({ line: 1, reason });
  });
});

describe('OpenMetrics: exemplar()', () => {
  /** The exemplar of the first series of `body`. */
  const exemplarOf = (line: string) => {
    const parser = createParser({ body: `${line}\n# EOF\n`, format: 'openmetrics' });
    expect(parser.next()).toBe('series');
    return parser.exemplar();
  };

  it.each([
    ['labels, a value and no timestamp', 'a_total 1 # {trace_id="KOO5S4vxi0o"} 0.67', { labels: new Map([['trace_id', 'KOO5S4vxi0o']]), value: 0.67, timestampMs: undefined }],
    ['a float-second timestamp, truncated to ms', 'a_bucket{le="1"} 2 # {id="x"} 0.5 1520879607.7899', { labels: new Map([['id', 'x']]), value: 0.5, timestampMs: 1_520_879_607_789 }],
    ['after the sample’s own timestamp', 'a 1 1520879607 # {id="x",b=""} -Inf 1', { labels: new Map([['id', 'x'], ['b', '']]), value: -Infinity, timestampMs: 1000 }],
    ['no labels', 'a 1 # {} 2', { labels: new Map(), value: 2, timestampMs: undefined }],
    ['escapes and a quoted name', 'a 1 # {"span.id"="a\\"b\\\\c\\nd"} 2', { labels: new Map([['span.id', 'a"b\\c\nd']]), value: 2, timestampMs: undefined }],
  ])('reads %s', (_what, line, exemplar) => {
    expect(exemplarOf(line)).toEqual(exemplar);
  });

  it('reads none for a sample without one, and for one with a label name twice (Prometheus’ storage refuses it)', () => {
    expect(exemplarOf('a 1')).toBeUndefined();
    expect(exemplarOf('a 1 # {x="1",x="2"} 2')).toBeUndefined();
  });

  it('reads each sample’s own exemplar', () => {
    const parser = createParser({ body: 'a 1 # {x="1"} 1\nb 1\nc 1 # {y="2"} 2\n# EOF\n', format: 'openmetrics' });
    const seen: unknown[] = [];
    while (parser.next() !== undefined) seen.push(parser.exemplar()?.labels);
    expect(seen).toEqual([new Map([['x', '1']]), undefined, new Map([['y', '2']])]);
  });

  it('reads none in the text format', () => {
    const parser = createParser({ body: 'a 1\n', format: 'text' });
    parser.next();
    expect(parser.exemplar()).toBeUndefined();
  });
});

describe('metadata comparisons and metric point keys', () => {
  it('compares a metadata line’s name and raw text in place, in both formats', () => {
    const om = createParser({ body: '# HELP a_b Text \\"x\\".\n# UNIT a_seconds seconds\n# TYPE "a.b" counter\n# EOF\n', format: 'openmetrics' });
    expect(om.next()).toBe('help');
    expect([om.metadataNameIs('a_b'), om.metadataNameIs('a_'), om.metadataNameIs('a_bc')]).toEqual([true, false, false]);
    expect(om.metadataRawText()).toBe('Text \\"x\\".');
    expect([om.metadataRawTextIs('Text \\"x\\".'), om.metadataRawTextIs('Text "x".')]).toEqual([true, false]);
    expect(om.next()).toBe('unit');
    expect([om.metadataNameIs('a_seconds'), om.metadataRawTextIs('seconds'), om.metadataRawTextIs('second')]).toEqual([true, true, false]);
    expect(om.next()).toBe('type');
    expect([om.metadataNameIs('a.b'), om.metadataType()]).toEqual([true, 'counter']);
    const text = createParser({ body: '# HELP x_total Seconds \\\\ \\n.\n# TYPE x_total untyped\n', format: 'text' });
    text.next();
    expect([text.metadataNameIs('x_total'), text.metadataRawTextIs('Seconds \\\\ \\n.'), text.help()[1]]).toEqual([true, true, 'Seconds \\ \n.']);
    text.next();
    expect(text.metadataType()).toBe('unknown');
    expect(() => text.metadataRawTextIs('')).toThrow(ParserMisuseError);
  });

  it('keys a series by its label pairs without le under a histogram TYPE and quantile under a summary TYPE', () => {
    const body = [
      '# TYPE h histogram',
      'h_bucket{a="1",le="0.5"} 1',
      'h_count{a="1"} 1',
      'h_created{a="1"} 1',
      '# TYPE s summary',
      's{quantile="0.5",b="x y"} 1',
      's_created{b="x y"} 1',
      '# TYPE c counter',
      'c_total{le="1"} 1',
      '{"c_created",le="1"} 1',
      '# EOF',
      '',
    ].join('\n');
    const parser = createParser({ body, format: 'openmetrics' });
    const keys: [string, string][] = [];
    for (let entry = parser.next(); entry !== undefined; entry = parser.next()) if (entry === 'series') keys.push([parser.metricName(), parser.metricPointKey()]);
    expect(keys).toEqual([
      ['h_bucket', 'a\u00001\u0000'],
      ['h_count', 'a\u00001\u0000'],
      ['h_created', 'a\u00001\u0000'],
      ['s', 'b\u0000x y\u0000'],
      ['s_created', 'b\u0000x y\u0000'],
      ['c_total', 'le\u00001\u0000'],
      ['c_created', 'le\u00001\u0000'],
    ]);
  });
});
