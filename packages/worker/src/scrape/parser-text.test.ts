import { describe, expect, it } from '@jest/globals';
import { createParser } from './parser.js';
import { parseFailure, readAll, seriesOf, textExposition } from './parser-fixtures.js';

const text = (body: string) => readAll(body, 'text');
const series = (body: string) => seriesOf(body, 'text');
const failure = (body: string) => parseFailure(body, 'text');

describe('text format: a realistic exposition', () => {
  it('reads every sample, metadata line and comment in order', () => {
    const entries = text(textExposition);
    expect(entries.filter((e) => 'series' in e)).toHaveLength(19);
    expect(entries.slice(0, 4)).toEqual([
      { help: 'go_gc_duration_seconds', text: 'A summary of the pause duration of garbage collection cycles.' },
      { type: 'go_gc_duration_seconds', kind: 'summary' },
      { series: 'go_gc_duration_seconds{quantile="0"}', labels: { __name__: 'go_gc_duration_seconds', quantile: '0.0' }, value: 7.9148e-5, timestampMs: undefined, exemplar: false },
      { series: 'go_gc_duration_seconds{quantile="0.25"}', labels: { __name__: 'go_gc_duration_seconds', quantile: '0.25' }, value: 7.9148e-5, timestampMs: undefined, exemplar: false },
    ]);
    expect(entries).toContainEqual({ help: 'http_request_duration_seconds', text: 'Request latency, with \\ and \n escaped.' });
    expect(entries).toContainEqual({ comment: '# A comment line.' });
    expect(entries).toContainEqual({
      series: 'node_textfile_note{text="say \\"hi\\"\\nbye",path="C:\\\\temp"}',
      labels: { __name__: 'node_textfile_note', text: 'say "hi"\nbye', path: 'C:\\temp' },
      value: 1,
      timestampMs: 1_700_000_000_000,
      exemplar: false,
    });
  });

  it('keeps labels in exposition order after __name__ and decodes nothing in the series key', () => {
    const [first] = series('node_filesystem_avail_bytes{mountpoint="/",device="/dev/vda"} 1\n');
    expect(Object.keys(first?.labels ?? {})).toEqual(['__name__', 'mountpoint', 'device']);
    const [escaped] = series('a{b="x\\"y"} 1\n');
    expect(escaped?.series).toBe('a{b="x\\"y"}');
  });
});

describe('text format: lines and blanks', () => {
  it.each([
    ['blank lines and blank-only lines', '\n\na 1\n \t\n\nb 2\n', ['a', 'b']],
    ['no newline at the end', 'a 1', ['a']],
    ['leading blanks (not part of the series)', '  \ta 1\n', ['a']],
    ['trailing blanks after the value', 'a 1 \t\n', ['a']],
    ['trailing blanks after the timestamp', 'a 1 123  \n', ['a']],
    ['blanks around a label block', 'a {b="c"} 1\n', ['a {b="c"}']],
    ['blanks inside a label block', 'a{ b = "c" , d="e" } 1\n', ['a{ b = "c" , d="e" }']],
    ['an empty label block', 'a{} 1\n', ['a{}']],
    ['a trailing comma', 'a{b="c",} 1\n', ['a{b="c",}']],
    ['labels without commas (promparse.go allows blanks between them)', 'a{b="1" c="2"} 1\n', ['a{b="1" c="2"}']],
    ['the value right after the label block', 'a{b="c"}1\n', ['a{b="c"}']],
    ['a NUL where a line starts ends the input, as Prometheus lexes it', 'a 1\n\0b 2\nc 3\n', ['a']],
    ['an empty body', '', []],
  ])('accepts %s', (_what, body, keys) => {
    expect(series(body).map((s) => s.series)).toEqual(keys);
  });

  it('reads a name followed by a sign as name and value, as the lexer splits `a-1`', () => {
    expect(series('a-1\n')).toEqual([{ series: 'a', labels: { __name__: 'a' }, value: -1, timestampMs: undefined, exemplar: false }]);
  });

  it('keeps a raw newline inside a label value, which the text lexer allows', () => {
    expect(series('a{b="x\ny"} 1\nc 2\n').map((s) => s.labels)).toEqual([{ __name__: 'a', b: 'x\ny' }, { __name__: 'c' }]);
  });

  it('keeps a NUL inside a label value', () => {
    expect(series('a{b="x\0y"} 1\n')[0]?.labels).toEqual({ __name__: 'a', b: 'x\0y' });
  });
});

describe('text format: values and timestamps', () => {
  it.each([
    ['1', 1],
    ['-2.5', -2.5],
    ['1e3', 1000],
    ['1E-3', 0.001],
    ['+1', 1],
    ['.5', 0.5],
    ['5.', 5],
    ['-0', -0],
    ['007', 7],
    ['1.795642547460855e+09', 1.795642547460855e9],
    ['12345678901234567890', 1.2345678901234567e19],
    ['0.1', 0.1],
    ['1e-400', 0],
    ['NaN', NaN],
    ['nan', NaN],
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
    ['Inf', Infinity],
    ['inf', Infinity],
    ['-Infinity', -Infinity],
    ['+INFINITY', Infinity],
  ])('reads the value %s as Go strconv.ParseFloat does', (written, value) => {
    expect(series(`a ${written}\n`)[0]?.value).toBe(value);
  });

  it.each([
    ['0x1F', 'invalid value "0x1F"'],
    ['0x1p3', 'invalid value "0x1p3"'],
    ['1_000', 'invalid value "1_000"'],
    ['1e400', 'value "1e400" is out of range'],
    ['-1e400', 'value "-1e400" is out of range'],
    ['+NaN', 'invalid value "+NaN"'],
    ['Infin', 'invalid value "Infin"'],
    ['1e', 'invalid value "1e"'],
    ['.', 'invalid value "."'],
    ['--1', 'invalid value "--1"'],
    ['1.2.3', 'invalid value "1.2.3"'],
    ['one', 'invalid value "one"'],
    ['1\r', 'invalid value "1\\r"'],
  ])('rejects the value %j', (written, reason) => {
    expect(failure(`a ${written}\n`)).toEqual({ line: 1, reason });
  });

  it.each([
    ['a 1 1700000000000\n', 1_700_000_000_000],
    ['a 1 0\n', 0],
    ['a 1 0001\n', 1],
    ['a 1 9223372036854775807\n', 9.223372036854776e18],
  ])('reads the timestamp of %j as integer milliseconds', (body, ts) => {
    expect(series(body)[0]?.timestampMs).toBe(ts);
  });

  it.each([
    ['a\n', 'expected a value after the metric, got end of line'],
    ['a{b="c"}\n', 'expected a value after the metric, got end of line'],
    ['a{b="c"}', 'expected a value after the metric, got end of input'],
    ['a{b="c"}{d="e"} 1\n', 'expected a value after the metric, got "{d=\\"e\\"} 1"'],
    ['a 1 -5\n', 'expected a timestamp or the end of the line after the value, got "-5"'],
    ['a 1 1.5\n', 'expected the end of the line after the timestamp, got ".5"'],
    ['a 1 12abc\n', 'expected the end of the line after the timestamp, got "abc"'],
    ['a 1 2 3\n', 'expected the end of the line after the timestamp, got "3"'],
    ['a 1 9223372036854775808\n', 'timestamp "9223372036854775808" is out of range'],
  ])('rejects %j', (body, reason) => {
    expect(failure(body)).toEqual({ line: 1, reason });
  });
});

describe('text format: HELP, TYPE and comments', () => {
  it.each([
    ['# HELP a some text\n', { help: 'a', text: 'some text' }],
    ['# HELP a\n', { help: 'a', text: '' }],
    ['# HELP a   \n', { help: 'a', text: '' }],
    ['# HELP a  two spaces \n', { help: 'a', text: ' two spaces ' }],
    ['#\tHELP\ta\ttabbed\n', { help: 'a', text: 'tabbed' }],
    ['  # HELP a indented\n', { help: 'a', text: 'indented' }],
    ['# HELP a back\\\\slash\\nnewline \\"kept\\" \\t\n', { help: 'a', text: 'back\\slash\nnewline \\"kept\\" \\t' }],
    ['# HELP a{x the first character after the name is the separator, whatever it is\n', { help: 'a', text: 'x the first character after the name is the separator, whatever it is' }],
    ['# HELP "my.metric" dotted\n', { help: 'my.metric', text: 'dotted' }],
    ['# HELP "a\\"b" quoted\n', { help: 'a"b', text: 'quoted' }],
    ['# TYPE a counter\n', { type: 'a', kind: 'counter' }],
    ['# TYPE a gauge\n', { type: 'a', kind: 'gauge' }],
    ['# TYPE a histogram\n', { type: 'a', kind: 'histogram' }],
    ['# TYPE a summary\n', { type: 'a', kind: 'summary' }],
    ['# TYPE a untyped\n', { type: 'a', kind: 'unknown' }],
    ['# TYPE "my.metric" gauge\n', { type: 'my.metric', kind: 'gauge' }],
    ['# just a comment\n', { comment: '# just a comment' }],
    ['#no space\n', { comment: '#no space' }],
    ['#\n', { comment: '#' }],
    ['# EOF\n', { comment: '# EOF' }],
    ['# UNIT a_seconds seconds\n', { comment: '# UNIT a_seconds seconds' }],
    ['# HELP\n', { comment: '# HELP' }],
    ['# HELPER a b\n', { comment: '# HELPER a b' }],
  ])('reads %j', (body, entry) => {
    expect(text(body)).toEqual([entry]);
  });

  it.each([
    ['# TYPE a counter \n', 'invalid metric type "counter "'],
    ['# TYPE a\n', 'invalid metric type ""'],
    ['# TYPE a info\n', 'invalid metric type "info"'],
    ['# TYPE a Counter\n', 'invalid metric type "Counter"'],
    ['# HELP \n', 'expected a metric name after HELP, got end of line'],
    ['# TYPE 1a counter\n', 'expected a metric name after TYPE, got "1a counter"'],
    ['# HELP "a b\n', 'a quoted string without its closing quote: "\\"a b"'],
  ])('rejects %j', (body, reason) => {
    expect(failure(body)).toEqual({ line: 1, reason });
  });
});

describe('text format: label blocks and names', () => {
  it.each([
    ['UTF-8 quoted names', '{"my.metric", "label.x"="v"} 1\n', { __name__: 'my.metric', 'label.x': 'v' }],
    ['a quoted name alone', '{"my.metric"} 1\n', { __name__: 'my.metric' }],
    ['a quoted name after the labels', '{x="y", "my.metric"} 1\n', { __name__: 'my.metric', x: 'y' }],
    ['a quoted label name on a plain metric', 'a{"label.x"="v"} 1\n', { __name__: 'a', 'label.x': 'v' }],
    ['escapes in quoted names', '{"a\\"b", "c\\\\d"="e"} 1\n', { __name__: 'a"b', 'c\\d': 'e' }],
    ['escapes in values', 'a{b="\\\\ \\" \\n"} 1\n', { __name__: 'a', b: '\\ " \n' }],
    ['unknown escapes kept as written', 'a{b="\\t\\x"} 1\n', { __name__: 'a', b: '\\t\\x' }],
    ['an empty value', 'a{b=""} 1\n', { __name__: 'a', b: '' }],
    ['non-ASCII values', 'a{b="grüße ☃ 𝄞"} 1\n', { __name__: 'a', b: 'grüße ☃ 𝄞' }],
    ['colons in metric names', 'job:rate:5m 1\n', { __name__: 'job:rate:5m' }],
  ])('reads %s', (_what, body, labels) => {
    expect(series(body)[0]?.labels).toEqual(labels);
  });

  it.each([
    ['a{b="1",b="2"} 1\n', 'label name "b" is not unique'],
    ['a{__name__="b"} 1\n', 'label name "__name__" is not unique'],
    ['{"a", __name__="b"} 1\n', 'label name "__name__" is not unique'],
    ['a{"b"="1", b="2"} 1\n', 'label name "b" is not unique'],
  ])('rejects the duplicate label in %j when labels are read', (body, reason) => {
    expect(failure(body)).toEqual({ line: 1, reason });
    const parser = createParser({ body, format: 'text' });
    expect(parser.next()).toBe('series');
    expect(parser.series()).toBe(body.slice(0, body.lastIndexOf(' ')));
  });

  it.each([
    ['a{b="c" 1\n', 'expected a label name or "}", got "1"'],
    ['a{b=c} 1\n', 'expected a quoted label value, got "c} 1"'],
    ['a{b} 1\n', 'expected "=" after label name "b", got "} 1"'],
    ['a{,} 1\n', 'expected a label name or "}", got ",} 1"'],
    ['a{b="c",,d="e"} 1\n', 'expected a label name or "}", got ",d=\\"e\\"} 1"'],
    ['a{b:c="d"} 1\n', 'expected "=" after label name "b", got ":c=\\"d\\"} 1"'],
    ['a{b="c', 'a quoted string without its closing quote: "\\"c"'],
    ['a{b="c\\\nd"} 1\n', 'a backslash at the end of a line in a quoted string: "\\"c\\\\"'],
    ['a{"b"} 1\n', 'metric name already set: "a{\\"b\\"}"'],
    ['{"a", "b"} 1\n', 'metric name already set: "{\\"a\\", \\"b\\"}"'],
    ['{b="c"} 1\n', 'metric name not set: "{b=\\"c\\"}" has neither a name before "{" nor a quoted name inside'],
    ['"a" 1\n', 'expected a metric name, "{" or "#" at the start of a line, got "\\"a\\" 1"'],
    ['1a 1\n', 'expected a metric name, "{" or "#" at the start of a line, got "1a 1"'],
    ['a\0 1\n', 'expected a value after the metric, got "\\u0000 1"'],
  ])('rejects %j', (body, reason) => {
    expect(failure(body)).toEqual({ line: 1, reason });
  });
});

describe('text format: metric names of consecutive series', () => {
  it('are read afresh when a name is a prefix of the previous one or quoted', () => {
    const body = 'node_cpu 1\nnode_cpu 2\nnode_cpu_seconds 3\nnode_cp 4\n{"node_cpu"} 5\n{"node\\\\cpu"} 6\nnode_cpu 7\n';
    expect(series(body).map((s) => s.labels['__name__'])).toEqual(['node_cpu', 'node_cpu', 'node_cpu_seconds', 'node_cp', 'node_cpu', 'node\\cpu', 'node_cpu']);
  });
});

describe('text format: le and quantile normalisation (Prometheus 3)', () => {
  it('rewrites le under a histogram type and quantile under a summary type in OpenMetrics float text', () => {
    const body = [
      '# TYPE h histogram',
      'h_bucket{le="1"} 1',
      'h_bucket{le="0.25"} 1',
      'h_bucket{le="1e3"} 1',
      'h_bucket{le="1e6"} 1',
      'h_bucket{le="+Inf"} 1',
      'h_bucket{le="inf"} 1',
      'h_bucket{le="not a number"} 1',
      'h_bucket{quantile="1"} 1',
      '# TYPE s summary',
      's{quantile="0"} 1',
      's{quantile="0.99"} 1',
      's{le="1"} 1',
      '# TYPE g gauge',
      'g{le="1"} 1',
      '',
    ].join('\n');
    expect(series(body).map((s) => ({ ...s.labels, __name__: undefined }))).toEqual([
      { le: '1.0' },
      { le: '0.25' },
      { le: '1000.0' },
      { le: '1e+06' },
      { le: '+Inf' },
      { le: '+Inf' },
      { le: 'not a number' },
      { quantile: '1' },
      { quantile: '0.0' },
      { quantile: '0.99' },
      { le: '1' },
      { le: '1' },
    ].map((l) => ({ ...l, __name__: undefined })));
  });

  it('goes by the last TYPE line, whatever family it named, as Prometheus keeps one type', () => {
    expect(series('# TYPE h histogram\nother{le="1"} 1\n')[0]?.labels).toEqual({ __name__: 'other', le: '1.0' });
    expect(series('other{le="1"} 1\n')[0]?.labels).toEqual({ __name__: 'other', le: '1' });
  });
});

describe('text format: errors', () => {
  it('names the line the offending entry starts on, blank and comment lines counted', () => {
    expect(failure('# HELP a x\n\na 1\n\n  b oops\n')).toEqual({ line: 5, reason: 'invalid value "oops"' });
    expect(failure('a{b="multi\nline"} 1\nc{d="1",d="2"} 1\n')).toEqual({ line: 3, reason: 'label name "d" is not unique' });
  });

  it('rejects CRLF line ends, as Prometheus reads \\r as part of the value', () => {
    expect(failure('a 1\r\n')).toEqual({ line: 1, reason: 'invalid value "1\\r"' });
  });

  it('keeps failing with the same error after the first', () => {
    const parser = createParser({ body: 'a 1\nb x\nc 3\n', format: 'text' });
    expect(parser.next()).toBe('series');
    let first: unknown;
    try {
      parser.next();
    } catch (err) {
      first = err;
    }
    expect(first).toMatchObject({ name: 'ParseError', code: 'PROMFLEET_EXPOSITION_PARSE', line: 2, message: 'line 2: invalid value "x"' });
    expect(() => parser.next()).toThrow(first);
  });
});
