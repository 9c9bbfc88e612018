import { describe, expect, it } from '@jest/globals';
import { ContentTypeError, ParserMisuseError, createParser, formatOf, type FallbackFormat } from './parser.js';
import { readAll, textExposition } from './parser-fixtures.js';

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
