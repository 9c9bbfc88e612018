/**
 * The exposition parser the scrape loop drives: a pull parser per format (parser-text.ts, parser-openmetrics.ts, the
 * shared state in parser-core.ts) and the choice of format from a response's Content-Type, as Prometheus'
 * `textparse.New`.
 */
import type { ScrapeConfig } from '@promfleet/model';
import { ExpositionErrorCode, type ExpositionFormat, type ExpositionParser } from './parser-core.js';
import { OpenMetricsParser } from './parser-openmetrics.js';
import { TextParser } from './parser-text.js';

export {
  ExpositionErrorCode,
  ParseError,
  ParserMisuseError,
  type Entry,
  type ExpositionFormat,
  type ExpositionParser,
  type MetricType,
  type ScrapedExemplar,
} from './parser-core.js';

/**
 * Creates a parser over `body`, the whole response decoded from UTF-8 (invalid bytes marked as lone surrogates, see
 * `decodeBody` and parser-core.ts). Parsing happens as the caller pulls with `next()`; nothing is read here.
 */
export function createParser(options: { readonly body: string; readonly format: ExpositionFormat }): ExpositionParser {
  return options.format === 'openmetrics' ? new OpenMetricsParser(options.body) : new TextParser(options.body);
}

/**
 * A Content-Type the scrape cannot be parsed under: missing, unparsable or unsupported with no fallback protocol, or
 * protobuf, which promfleet does not read. The scrape fails with this message, as Prometheus' does.
 */
export class ContentTypeError extends Error {
  override readonly name = 'ContentTypeError';
  readonly code = ExpositionErrorCode.contentType;

  /** Creates the error for the header's value (undefined when the response had none). */
  constructor(
    readonly contentType: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** A fallback for an unusable Content-Type: a format, or a `fallback_scrape_protocol` value from the config. */
export type FallbackFormat = ExpositionFormat | NonNullable<ScrapeConfig['fallbackScrapeProtocol']>;

/** RFC 2045 token characters, as Go's `mime` package's `isTokenChar`. */
const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The media type of a Content-Type value, lower-cased, or undefined when Go's `mime.ParseMediaType` would fail:
 * `type/subtype` (or a lone `type`) of token characters, then `; name=value` parameters with token or quoted-string
 * values, no name twice. Empty parameters (a trailing `;`) are allowed, as there.
 */
function mediaType(contentType: string): string | undefined {
  const [head = '', ...params] = contentType.split(';');
  const media = head.trim().toLowerCase();
  const [type = '', subtype, ...extra] = media.split('/');
  if (!token.test(type) || extra.length > 0 || (subtype !== undefined && !token.test(subtype))) return undefined;
  const seen = new Set<string>();
  for (const raw of params) {
    const param = raw.trim();
    if (param === '') continue;
    const eq = param.indexOf('=');
    const name = param.slice(0, eq).trim().toLowerCase();
    const value = param.slice(eq + 1).trim();
    if (eq < 0 || !token.test(name) || seen.has(name)) return undefined;
    if (!token.test(value) && !/^"(?:[^"\\]|\\.)*"$/s.test(value)) return undefined;
    seen.add(name);
  }
  return media;
}

function fallbackFormat(fallback: FallbackFormat): ExpositionFormat | undefined {
  switch (fallback) {
    case 'text':
    case 'PrometheusText0.0.4':
    case 'PrometheusText1.0.0':
      return 'text';
    case 'openmetrics':
    case 'OpenMetricsText0.0.1':
    case 'OpenMetricsText1.0.0':
      return 'openmetrics';
    case 'PrometheusProto':
      return undefined;
  }
}

/**
 * Picks the format of a response from its Content-Type, as Prometheus' `textparse.New` (`extractMediaType`):
 * `text/plain` is the text format and `application/openmetrics-text` OpenMetrics, whatever their parameters; a
 * missing, unparsable or unknown type takes `fallback` (the job's `fallback_scrape_protocol`), and without one the
 * scrape fails with Prometheus' message. Prometheus only logs the use of the fallback at debug level, so that is not
 * reported. `application/vnd.google.protobuf`, and a `PrometheusProto` fallback, are a {@link ContentTypeError}:
 * promfleet reads the text formats only.
 */
export function formatOf(contentType: string | undefined, fallback: FallbackFormat | undefined): ExpositionFormat | ContentTypeError {
  const media = contentType === undefined || contentType === '' ? undefined : mediaType(contentType);
  if (media === 'text/plain') return 'text';
  if (media === 'application/openmetrics-text') return 'openmetrics';
  if (media === 'application/vnd.google.protobuf') {
    return new ContentTypeError(contentType, `received Content-Type ${JSON.stringify(contentType)}: the protobuf exposition format is not supported`);
  }
  if (fallback !== undefined) {
    return fallbackFormat(fallback) ?? new ContentTypeError(contentType, `fallback_scrape_protocol ${fallback} is not supported: promfleet reads the text formats only`);
  }
  if (contentType === undefined || contentType === '') {
    return new ContentTypeError(contentType, 'non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target');
  }
  if (media === undefined) return new ContentTypeError(contentType, `cannot parse Content-Type ${JSON.stringify(contentType)} and no fallback_scrape_protocol for target`);
  return new ContentTypeError(contentType, `received unsupported Content-Type ${JSON.stringify(contentType)} and no fallback_scrape_protocol specified for target`);
}
