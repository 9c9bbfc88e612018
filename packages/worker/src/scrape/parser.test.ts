import { describe, expect, it } from '@jest/globals';
import { ContentTypeError, ParserMisuseError, createParser, formatOf, type FallbackFormat } from './parser.js';
import { parseFailure, readAll, seriesOf, textExposition } from './parser-fixtures.js';
import { decodeBody } from './scraper.js';

describe('formatOf (textparse.New / extractMediaType)', () => {
  it.each([
    ['text/plain; version=0.0.4; charset=utf-8', undefined, 'text'],
    ['text/plain;version=1.0.0;escaping=allow-utf-8', undefined, 'text'],
    ['text/plain', undefined, 'text'],
    ['text/plain;', undefined, 'text'],
    ['Text/Plain; Version=0.0.4', undefined, 'text'],
    ['application/openmetrics-text; version=1.0.0; charset=utf-8', undefined, 'openmetrics'],
    ['application/openmetrics-text;version=0.0.1', 'PrometheusText0.0.4', 'openmetrics'],
    ['text/plain; charset="utf-8"', undefined, 'text'],
    [undefined, 'PrometheusText0.0.4', 'text'],
    [undefined, 'PrometheusText1.0.0', 'text'],
    [undefined, 'OpenMetricsText1.0.0', 'openmetrics'],
    [undefined, 'OpenMetricsText0.0.1', 'openmetrics'],
    ['', 'openmetrics', 'openmetrics'],
    ['application/json', 'text', 'text'],
    ['text/plain; version', 'OpenMetricsText1.0.0', 'openmetrics'],
    ['text/html; charset=utf-8', 'PrometheusText0.0.4', 'text'],
  ] as [string | undefined, FallbackFormat | undefined, string][])('picks %j (fallback %s) as %s', (contentType, fallback, format) => {
    expect(formatOf(contentType, fallback)).toBe(format);
  });

  it.each([
    [undefined, undefined, 'non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target'],
    ['', undefined, 'non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target'],
    ['application/json', undefined, 'received unsupported Content-Type "application/json" and no fallback_scrape_protocol specified for target'],
    ['text/plain; version', undefined, 'cannot parse Content-Type "text/plain; version" and no fallback_scrape_protocol for target'],
    ['text/plain; a=1; a=2', undefined, 'cannot parse Content-Type "text/plain; a=1; a=2" and no fallback_scrape_protocol for target'],
    ['text plain', undefined, 'cannot parse Content-Type "text plain" and no fallback_scrape_protocol for target'],
    ['text/plain/x', undefined, 'cannot parse Content-Type "text/plain/x" and no fallback_scrape_protocol for target'],
    [
      'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
      'PrometheusText0.0.4',
      'received Content-Type "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited": the protobuf exposition format is not supported',
    ],
    [undefined, 'PrometheusProto', 'fallback_scrape_protocol PrometheusProto is not supported: promfleet reads the text formats only'],
  ] as [string | undefined, FallbackFormat | undefined, string][])('fails %j (fallback %s)', (contentType, fallback, message) => {
    const result = formatOf(contentType, fallback);
    expect(result).toBeInstanceOf(ContentTypeError);
    expect(result).toMatchObject({ code: 'PROMFLEET_EXPOSITION_CONTENT_TYPE', contentType, message });
  });
});

describe('createParser', () => {
  it('reads the same series from the same body in either order of accessor calls', () => {
    const parser = createParser({ body: textExposition, format: 'text' });
    const seen: string[] = [];
    for (let entry = parser.next(); entry !== undefined; entry = parser.next()) {
      if (entry !== 'series') continue;
      const key = parser.series();
      expect(parser.detachedSeries()).toBe(key);
      expect(parser.series()).toBe(key);
      seen.push(key);
    }
    expect(seen).toEqual(readAll(textExposition, 'text').flatMap((e) => ('series' in e ? [e.series] : [])));
  });

  it.each([
    ['series() on a help entry', '# HELP a b\n', (p: ReturnType<typeof createParser>) => p.series(), "series() needs a 'series' entry, but the current entry is 'help'"],
    ['labels() on a type entry', '# TYPE a gauge\n', (p: ReturnType<typeof createParser>) => p.labels(), "labels() needs a 'series' entry, but the current entry is 'type'"],
    ['help() on a series', 'a 1\n', (p: ReturnType<typeof createParser>) => p.help(), "help() needs a 'help' entry, but the current entry is 'series'"],
    ['comment() on a series', 'a 1\n', (p: ReturnType<typeof createParser>) => p.comment(), "comment() needs a 'comment' entry, but the current entry is 'series'"],
  ])('throws a ParserMisuseError for %s', (_what, body, call, message) => {
    const parser = createParser({ body, format: 'text' });
    parser.next();
    expect(() => call(parser)).toThrow(new ParserMisuseError(message));
  });

  it('has no current entry before the first next() and after the end', () => {
    const parser = createParser({ body: 'a 1\n', format: 'text' });
    expect(() => parser.value()).toThrow(ParserMisuseError);
    expect(parser.next()).toBe('series');
    expect(parser.value()).toBe(1);
    expect(parser.next()).toBeUndefined();
    expect(() => parser.value()).toThrow("value() needs a 'series' entry, but the current entry is none");
  });
});

describe('invalid UTF-8 and NUL bytes, as Prometheus reads them', () => {
  /** A body decoded as the scraper decodes a response. */
  const fromBytes = (...parts: (string | number[])[]): string =>
    decodeBody(Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part)))));
  const formats = [
    ['text', ''],
    ['openmetrics', '# EOF\n'],
  ] as const;

  it.each(formats)('%s: fails on a label value that is not valid UTF-8, quoting its raw token', (format, eof) => {
    expect(parseFailure(fromBytes('ok{a="fine"} 1\nbad{a="x', [0xff], '"} 1\n', eof), format)).toEqual({ line: 2, reason: 'invalid UTF-8 label value: "\\"x\\xff\\""' });
  });

  it.each(formats)('%s: fails on HELP text that is not valid UTF-8', (format, eof) => {
    expect(parseFailure(fromBytes('# HELP m caf', [0xc3], '\nm 1\n', eof), format)).toEqual({ line: 1, reason: 'help text "caf\\xc3" is not a valid utf8 string' });
  });

  it.each(formats)('%s: reads valid UTF-8 label values and HELP text beyond ASCII', (format, eof) => {
    const body = fromBytes('# HELP m caf\u00e9 \u{1f600}\nm{a="\u00fcber \u{1f600}"} 1\n', eof);
    expect(readAll(body, format)).toEqual([
      { help: 'm', text: 'caf\u00e9 \u{1f600}' },
      { series: 'm{a="\u00fcber \u{1f600}"}', labels: { __name__: 'm', a: '\u00fcber \u{1f600}' }, value: 1, timestampMs: undefined, exemplar: false },
    ]);
  });

  it('text: lets invalid UTF-8 pass in a comment, which Prometheus does not read', () => {
    expect(seriesOf(fromBytes('# build ', [0xfe, 0xff], '\nm 1\n'), 'text').map((s) => s.labels)).toEqual([{ __name__: 'm' }]);
  });

  it.each(formats)('%s: keeps a NUL inside a label value', (format, eof) => {
    expect(seriesOf(`m{a="x\0y"} 1\n${eof}`, format)[0]?.labels).toEqual({ __name__: 'm', a: 'x\0y' });
  });

  it('openmetrics: refuses a NUL inside an exemplar label value, as the lexer does', () => {
    expect(parseFailure('m_total 1 # {a="x\0y"} 1\n# EOF\n', 'openmetrics').reason).toContain('NUL');
  });
});

describe('decodeBody', () => {
  const escaped = (bytes: number[]) => decodeBody(Buffer.from(bytes));

  it('decodes valid UTF-8 as Buffer.toString does', () => {
    const text = 'a{b="\u00e9\u4e2d\u{1f600}"} 1\n';
    expect(decodeBody(Buffer.from(text, 'utf8'))).toBe(text);
  });

  it.each([
    ['a lone continuation byte', [0x61, 0x80, 0x62], 'a\udc80b'],
    ['an overlong form', [0xc0, 0xaf], '\udcc0\udcaf'],
    ['an overlong three-byte form', [0xe0, 0x80, 0xaf], '\udce0\udc80\udcaf'],
    ['an encoded surrogate', [0xed, 0xa0, 0x80], '\udced\udca0\udc80'],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], '\udcf4\udc90\udc80\udc80'],
    ['a sequence cut at the end', [0x61, 0xe2, 0x82], 'a\udce2\udc82'],
    ['invalid bytes beside a valid four-byte sequence', [0xff, 0xf0, 0x9f, 0x98, 0x80, 0xfe], '\udcff\u{1f600}\udcfe'],
  ])('marks each byte of %s as a lone surrogate', (_name, bytes, expected) => {
    const decoded = escaped(bytes);
    expect(decoded).toBe(expected);
    expect(decoded.isWellFormed()).toBe(false);
  });
});
