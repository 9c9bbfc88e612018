/**
 * What the text-format and OpenMetrics parsers share: the pull interface the scrape loop drives, the errors, and the
 * pieces of Prometheus' `model/textparse` both formats use (float values, escapes, the `le`/`quantile` normalisation,
 * the labels of a series built from offsets recorded while scanning).
 *
 * The body is a JS string: the scraper decodes the response's UTF-8 once (`decodeBody`), turning each byte of an
 * invalid sequence into a lone surrogate, which valid UTF-8 never decodes to. Prometheus reads bytes and rejects a
 * label value or HELP text that is not valid UTF-8 (`invalid UTF-8 label value`, `help text ... is not a valid utf8
 * string`), and so do these parsers, by that mark; elsewhere (comments) it passes, as in Prometheus.
 */
import { LabelName, isWellFormedUtf16 } from '@promfleet/model';

/** The two text exposition formats: Prometheus text (0.0.4 and 1.0.0) and OpenMetrics 1.0. */
export type ExpositionFormat = 'text' | 'openmetrics';

/** What {@link ExpositionParser.next} stopped at. The end of the exposition is `undefined`, never an entry. */
export type Entry = 'series' | 'help' | 'type' | 'unit' | 'comment';

/**
 * A metric family's type, as Prometheus' `model.MetricType`. The text format's `untyped` is reported as `unknown`,
 * as `promparse.go` does; `info`, `stateset` and `gaugehistogram` exist in OpenMetrics only.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset' | 'unknown';

/** Stable codes of the exposition errors. */
export const ExpositionErrorCode = {
  parse: 'PROMFLEET_EXPOSITION_PARSE',
  contentType: 'PROMFLEET_EXPOSITION_CONTENT_TYPE',
  misuse: 'PROMFLEET_EXPOSITION_PARSER_MISUSE',
} as const;

/** The union of the exposition error codes. */
export type ExpositionErrorCode = (typeof ExpositionErrorCode)[keyof typeof ExpositionErrorCode];

/**
 * Malformed exposition: the scrape fails, as in Prometheus. `line` is the 1-based line on which the offending entry
 * starts; `reason` says what was wrong, quoting the offending text; the message is `line N: reason`.
 */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  readonly code = ExpositionErrorCode.parse;

  /** Creates the error for the entry starting on `line`. */
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

/** An accessor called for an entry that does not have it, for example `series()` after `next()` returned `'help'`. */
export class ParserMisuseError extends Error {
  override readonly name = 'ParserMisuseError';
  readonly code = ExpositionErrorCode.misuse;
}

/**
 * A pull parser over one exposition, as Prometheus' `textparse.Parser`: `next()` moves to the next entry and the
 * accessors read the current one. Scanning a sample allocates nothing per sample but the number it holds: the
 * series text, the labels and the metadata become strings only when asked for, so a scrape cache that keys series by
 * their raw text (Prometheus' `scrapeCache`) parses labels once per series, not once per scrape.
 *
 * One parser reads one body once, from one caller; it is not reusable. After `next()` threw, every later call throws
 * the same error.
 */
export interface ExpositionParser {
  /** The format this parser reads. */
  readonly format: ExpositionFormat;

  /**
   * Advances to the next entry: `undefined` at the end (for OpenMetrics, after `# EOF`, which is required there).
   * Blank lines (text format) are skipped. Throws {@link ParseError} on malformed input; a sample's value and
   * timestamp are checked here, its labels only by {@link labels}.
   */
  next(): Entry | undefined;

  /**
   * For a `'series'` entry: the series exactly as written, metric name and label block, for example
   * `http_requests_total{code="200",method="get"}`; nothing is normalised, so the text is stable across scrapes
   * for an unchanged series and serves as the scrape cache's key. From the name (or `{`) to the end of the label
   * block, without leading blanks.
   *
   * The string is a slice of the body, which V8 may keep alive through it: use it to look up, and keep
   * {@link detachedSeries} instead.
   */
  series(): string;

  /** The same text as {@link series}, as a string that shares no memory with the body: the key to keep in a cache. */
  detachedSeries(): string;

  /** For a `'series'` entry: the sample's value; `NaN`, `+Inf`, `-Inf` as written (parsing never yields the stale-marker NaN). */
  value(): number;

  /**
   * For a `'series'` entry: the explicit timestamp in milliseconds, or `undefined` when the line has none. Text
   * format: integer milliseconds. OpenMetrics: float seconds, times 1000, truncated toward zero as Go's
   * `int64(ts * 1000)` in `openmetricsparse.go`.
   */
  timestampMs(): number | undefined;

  /**
   * For a `'series'` entry (OpenMetrics): whether the sample carried an exemplar (`# {labels} value [timestamp]`).
   * Exemplars are checked for syntax while scanning, as Prometheus does (a malformed one fails the scrape); their
   * labels become strings only through {@link exemplar}. Always false in the text format.
   */
  hasExemplar(): boolean;

  /**
   * For a `'series'` entry: the sample's exemplar, made on this call (scanning only recorded where it is), or
   * undefined when it has none. Label names and values have their escapes decoded and quoted names unquoted, as in
   * {@link labels}; the timestamp is float seconds truncated to milliseconds, as the sample's. An exemplar with a
   * label name twice reads as none: Prometheus' storage refuses it (`label name "x" is not unique`) without failing
   * the scrape. Nothing else is checked here (not the 128-character limit of its label set, which is the storage's
   * rule in Prometheus too).
   */
  exemplar(): ScrapedExemplar | undefined;

  /**
   * For a `'series'` entry: the labels in a fresh Map, `__name__` first, then the rest in exposition order, with
   * escapes (`\\`, `\"`, `\n`) decoded in names and values and quoted UTF-8 names (`{"my.metric","label.x"="v"}`)
   * unquoted. The values of `le` (when the last TYPE line said histogram) and `quantile` (summary) are normalised
   * to OpenMetrics float text (`1` → `1.0`), as Prometheus 3 does (`normalizeFloatsInLabelValues`). Throws
   * {@link ParseError} for a label name that appears twice (`__name__` included), which Prometheus rejects as
   * `label name "x" is not unique`. Names are not validated against a name validation scheme: that is the caller's.
   * The strings share no memory with the body, only with {@link detachedSeries}.
   */
  labels(): Map<string, string>;

  /** For a `'help'` entry: the metric family name and the help text, escapes decoded as the format says. */
  help(): readonly [name: string, text: string];

  /** For a `'type'` entry: the metric family name and its type. */
  type(): readonly [name: string, type: MetricType];

  /** For a `'unit'` entry (OpenMetrics only): the metric family name and the unit, possibly empty. */
  unit(): readonly [name: string, unit: string];

  /** For a `'comment'` entry (text format only): the line from its `#` on. */
  comment(): string;

  /**
   * For a `'help'`, `'type'` or `'unit'` entry: whether its metric family name is `name`. Nothing is kept, so a scrape
   * cache can recognise a family it knows without keeping a string per scrape.
   */
  metadataNameIs(name: string): boolean;

  /**
   * For a `'help'` or `'unit'` entry: whether its text as written (escapes not decoded) is `raw`; nothing is kept.
   * Equal raw texts decode to equal texts, so a cache keeps the raw text next to the decoded one to compare with.
   */
  metadataRawTextIs(raw: string): boolean;

  /** For a `'help'` or `'unit'` entry: its text as written, escapes not decoded (the decoded text when it has none). */
  metadataRawText(): string;

  /** For a `'type'` entry: its type, as {@link type} gives it but without the name. */
  metadataType(): MetricType;

  /** For a `'series'` entry: the metric name, unquoted and unescaped, as {@link labels} gives `__name__`. */
  metricName(): string;

  /**
   * For a `'series'` entry: its label pairs as written, without `le` while the last TYPE line said histogram and
   * without `quantile` while it said summary, the metric name left out. The samples of one OpenMetrics metric point
   * and its `_created` sample have the same key (Prometheus' `seriesHash`, which `StartTimestamp` matches on).
   */
  metricPointKey(): string;
}

/** An exemplar as a sample line gives it. */
export interface ScrapedExemplar {
  readonly labels: Map<string, string>;
  readonly value: number;
  /** Unix ms, or undefined when the exemplar has no timestamp of its own. */
  readonly timestampMs: number | undefined;
}

/**
 * Returns a copy of `s` that does not share memory with the string it was sliced from. V8 represents a slice of 13
 * or more characters (`SlicedString::kMinLength`) as a view into its parent, so a cache key sliced from a scrape body
 * would keep that whole body alive. Shorter slices are copies already and are returned as they are.
 *
 * The copy goes through UTF-8 and back, which makes one flat string equal to `s` (one byte per character when `s`
 * is ASCII). Concatenating and slicing would also detach, but it leaves a 32-byte slice object over a flattened
 * parent: per cached series, about 40 % more than a node-exporter key's own size. A string with a lone surrogate,
 * which UTF-8 cannot carry (a body decoded from UTF-8 never has one), is detached that way.
 */
export function detach(s: string): string {
  if (s.length < 13) return s;
  return isWellFormedUtf16(s) ? Buffer.from(s, 'utf8').toString('utf8') : (' ' + s).slice(1);
}

/** The character code of NUL. */
export const NUL = 0x00;
/** The character code of a tab. */
export const TAB = 0x09;
/** The character code of a newline. */
export const LF = 0x0a;
/** The character code of a space. */
export const SP = 0x20;
/** The character code of `"`. */
export const QUOTE = 0x22;
/** The character code of `#`. */
export const HASH = 0x23;
/** The character code of `+`. */
const PLUS = 0x2b;
/** The character code of `,`. */
export const COMMA = 0x2c;
/** The character code of `-`. */
const MINUS = 0x2d;
/** The character code of `.`. */
const DOT = 0x2e;
/** The character code of `=`. */
export const EQUAL = 0x3d;
/** The character code of a backslash. */
const BACKSLASH = 0x5c;
/** The character code of `{`. */
export const LBRACE = 0x7b;
/** The character code of `}`. */
export const RBRACE = 0x7d;

/** A character that may start a metric name: `[a-zA-Z_:]`. */
export const METRIC_START = 1;
/** A character of a metric name after the first: `[a-zA-Z0-9_:]`. */
export const METRIC_CHAR = 2;
/** A character that may start a label name: `[a-zA-Z_]`. */
export const LABEL_START = 4;
/** A character of a label name after the first: `[a-zA-Z0-9_]`. */
export const LABEL_CHAR = 8;

/** Character classes of ASCII, as the lexers' `M`, `L` and `D` classes (`promlex.l`, `openmetricslex.l`). */
const CHAR_CLASS: Uint8Array = (() => {
  const table = new Uint8Array(128);
  const mark = (from: string, to: string, bits: number) => {
    for (let c = from.charCodeAt(0); c <= to.charCodeAt(0); c++) table[c] = (table[c] ?? 0) | bits;
  };
  mark('a', 'z', METRIC_START | METRIC_CHAR | LABEL_START | LABEL_CHAR);
  mark('A', 'Z', METRIC_START | METRIC_CHAR | LABEL_START | LABEL_CHAR);
  mark('_', '_', METRIC_START | METRIC_CHAR | LABEL_START | LABEL_CHAR);
  mark(':', ':', METRIC_START | METRIC_CHAR);
  mark('0', '9', METRIC_CHAR | LABEL_CHAR);
  return table;
})();

/** Whether character code `c` is in class `bits`. */
export function isClass(c: number, bits: number): boolean {
  return c < 128 && ((CHAR_CLASS[c] ?? 0) & bits) !== 0;
}

/** The index after the run of characters in class `bits` starting at `pos`. */
export function scanClass(body: string, pos: number, bits: number): number {
  const end = body.length;
  while (pos < end) {
    const c = body.charCodeAt(pos);
    if (c >= 128 || ((CHAR_CLASS[c] ?? 0) & bits) === 0) break;
    pos++;
  }
  return pos;
}

/** The index of the next newline at or after `pos`, or the body's length when there is none. */
export function lineEnd(body: string, pos: number): number {
  const i = body.indexOf('\n', pos);
  return i === -1 ? body.length : i;
}

/** The index in `words` of the word that is all of `body` from `start` to the end of its line, or -1. */
export function lineWord(body: string, start: number, words: readonly string[]): number {
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    const after = start + word.length;
    if (body.startsWith(word, start) && (after === body.length || body.charCodeAt(after) === LF)) return i;
  }
  return -1;
}

/** A flag of {@link scanQuoted}: the quoted string may hold a raw newline. */
export const ALLOW_LF = 1;
/** A flag of {@link scanQuoted}: the quoted string may hold a raw NUL. */
export const ALLOW_NUL = 2;

/**
 * The index after the closing quote of the quoted string opening at `pos` (`"(\\.|[^\\"])*"`), or a reason why it is
 * malformed. A backslash escapes any character but a newline; a raw newline or NUL is allowed only with the flags.
 */
export function scanQuoted(body: string, pos: number, flags: number): number | string {
  const end = body.length;
  for (let i = pos + 1; i < end; i++) {
    const c = body.charCodeAt(i);
    if (c > QUOTE && c !== BACKSLASH) continue;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      i++;
      if (i >= end) break;
      if (body.charCodeAt(i) === LF) return 'a backslash at the end of a line in a quoted string';
    } else if (c === LF && (flags & ALLOW_LF) === 0) {
      return 'a newline in a quoted string';
    } else if (c === NUL && (flags & ALLOW_NUL) === 0) {
      return 'a NUL character in a quoted string';
    }
  }
  return 'a quoted string without its closing quote';
}

/** Exact powers of ten: a float with at most 15 significant digits times or divided by one of these is correctly rounded. */
const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/** Whether `body[pos, pos + word.length)` equals the lower-case ASCII `word`, ignoring case. */
function equalsIgnoreCase(body: string, pos: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    if ((body.charCodeAt(pos + i) | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Reads `body[start, end)` as Prometheus reads a sample value (`parseFloat` in `promparse.go`): Go's
 * `strconv.ParseFloat` minus the forms with `p`, `P` or `_`. So: decimal floats (`1`, `-2.5`, `.5`, `5.`, `1e3`,
 * `1E-3`), `Inf`/`Infinity` in any case with an optional sign, and `NaN` in any case without one. Hexadecimal needs a
 * `p` exponent in Go and `p` is refused, so `0x1F` is invalid. Returns undefined for invalid syntax and for a finite
 * literal beyond float64 (`1e400`, Go's `ErrRange`); a literal below the smallest denormal reads as 0, as in Go.
 */
export function parseFloatToken(body: string, start: number, end: number): number | undefined {
  let i = start;
  if (i >= end) return undefined;
  let c = body.charCodeAt(i);
  let negative = false;
  if (c === PLUS || c === MINUS) {
    negative = c === MINUS;
    i++;
    if (i >= end) return undefined;
    c = body.charCodeAt(i);
  }
  const lower = c | 0x20;
  if (lower === 0x69 /* i */) {
    const n = end - i;
    if ((n === 3 && equalsIgnoreCase(body, i, 'inf')) || (n === 8 && equalsIgnoreCase(body, i, 'infinity'))) {
      return negative ? -Infinity : Infinity;
    }
    return undefined;
  }
  if (lower === 0x6e /* n */) return i === start && end - i === 3 && equalsIgnoreCase(body, i, 'nan') ? NaN : undefined;
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let sawDigit = false;
  for (; i < end; i++) {
    c = body.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    sawDigit = true;
    if (mantissa !== 0 || c !== 0x30) {
      digits++;
      mantissa = mantissa * 10 + (c - 0x30);
    }
  }
  if (i < end && body.charCodeAt(i) === DOT) {
    for (i++; i < end; i++) {
      c = body.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      sawDigit = true;
      scale--;
      if (mantissa !== 0 || c !== 0x30) {
        digits++;
        mantissa = mantissa * 10 + (c - 0x30);
      }
    }
  }
  if (!sawDigit) return undefined;
  let exponent = 0;
  if (i < end && (body.charCodeAt(i) | 0x20) === 0x65 /* e */) {
    i++;
    let exponentNegative = false;
    if (i < end) {
      c = body.charCodeAt(i);
      if (c === PLUS || c === MINUS) {
        exponentNegative = c === MINUS;
        i++;
      }
    }
    const exponentStart = i;
    for (; i < end; i++) {
      c = body.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      if (exponent < 100_000) exponent = exponent * 10 + (c - 0x30);
    }
    if (i === exponentStart) return undefined;
    if (exponentNegative) exponent = -exponent;
  }
  if (i !== end) return undefined;
  if (mantissa === 0) return negative ? -0 : 0;
  if (digits <= 15) {
    // Clinger's fast path: an exact mantissa and an exact power of ten make one correctly rounded operation.
    const e10 = exponent + scale;
    if (e10 >= 0 && e10 <= 22) return negative ? -(mantissa * (POW10[e10] ?? 1)) : mantissa * (POW10[e10] ?? 1);
    if (e10 < 0 && e10 >= -22) return negative ? -(mantissa / (POW10[-e10] ?? 1)) : mantissa / (POW10[-e10] ?? 1);
  }
  const value = Number(body.slice(start, end));
  return Number.isFinite(value) ? value : undefined;
}

/** Why `text` is not a float {@link parseFloatToken} accepts; `what` names the field (`value`, `timestamp`). */
export function floatProblem(text: string, what: string): string {
  const shown = quote(text);
  const value = Number(text);
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) && !Number.isFinite(value)) return `${what} ${shown} is out of range`;
  return `invalid ${what} ${shown}`;
}

/** Reads `body[start, end)`, ASCII digits only, as Go's `strconv.ParseInt(s, 10, 64)`; undefined beyond int64. */
export function parseIntToken(body: string, start: number, end: number): number | undefined {
  if (end - start <= 15) {
    let value = 0;
    for (let i = start; i < end; i++) value = value * 10 + (body.charCodeAt(i) - 0x30);
    return value;
  }
  const big = BigInt(body.slice(start, end));
  return big > 9_223_372_036_854_775_807n ? undefined : Number(big);
}

/** The largest magnitude of an int64 timestamp in milliseconds, as a float. */
export const INT64_LIMIT = 9_223_372_036_854_775_808;

/**
 * Decodes the escapes of a label value, a quoted name and OpenMetrics HELP text, as Prometheus' `lvalReplacer`:
 * `\\` → `\`, `\"` → `"`, `\n` → newline, any other backslash kept as written. With `quotes` false it decodes only
 * `\\` and `\n`, as the text format's HELP (`helpReplacer`).
 */
export function unescape(s: string, quotes: boolean): string {
  let i = s.indexOf('\\');
  if (i === -1) return s;
  let out = '';
  let from = 0;
  for (; i !== -1 && i + 1 < s.length; i = s.indexOf('\\', i)) {
    const next = s.charCodeAt(i + 1);
    const replacement = next === BACKSLASH ? '\\' : next === 0x6e /* n */ ? '\n' : next === QUOTE && quotes ? '"' : undefined;
    if (replacement === undefined) {
      i++;
      continue;
    }
    out += s.slice(from, i) + replacement;
    from = i + 2;
    i += 2;
  }
  return out + s.slice(from);
}

/** `s` as a JSON string, cut to 40 characters, for error messages. */
export function quote(s: string): string {
  // A byte of invalid UTF-8 (a lone surrogate U+DC80–U+DCFF from `decodeBody`) shows as Go's %q shows it: \xff.
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s).replace(/\\udc([89a-f][0-9a-f])/g, '\\x$1');
}

/**
 * Go's `strconv.FormatFloat(f, 'g', -1, 64)` for a finite non-zero `f`: the shortest digits that read back as `f`,
 * in exponent form (`1e+06`, `1.5e-07`) when the decimal exponent is below -4 or at least 6.
 */
function formatGoShortest(f: number): string {
  const exponential = f.toExponential();
  const e = exponential.indexOf('e');
  const negative = f < 0;
  const digits = exponential.slice(negative ? 1 : 0, e).replace('.', '');
  const exponent = Number(exponential.slice(e + 1));
  const sign = negative ? '-' : '';
  if (exponent < -4 || exponent >= 6) {
    const mantissa = digits.length > 1 ? `${digits[0] ?? ''}.${digits.slice(1)}` : digits;
    const magnitude = Math.abs(exponent);
    return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${magnitude < 10 ? '0' : ''}${magnitude}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  if (digits.length <= exponent + 1) return `${sign}${digits}${'0'.repeat(exponent + 1 - digits.length)}`;
  return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
}

/**
 * Prometheus' `FormatOpenMetricsFloat`: Go's shortest `%g`, with `.0` appended when that has neither `.` nor `e`,
 * and `NaN`, `+Inf`, `-Inf` for the specials.
 */
export function formatOpenMetricsFloat(f: number): string {
  if (f === 1) return '1.0';
  if (f === 0) return '0.0';
  if (f === -1) return '-1.0';
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  const text = formatGoShortest(f);
  return text.includes('.') || text.includes('e') ? text : `${text}.0`;
}

/**
 * Prometheus 3's `normalizeFloatsInLabelValues`: under a histogram type the `le` value, under a summary type the
 * `quantile` value, when it reads as a float, is rewritten in OpenMetrics float text, so `le="1"` and `le="1.0"` are
 * one series. The value is read as {@link parseFloatToken} reads values; Go's `strconv.ParseFloat` would also take
 * hexadecimal floats and digit-separating underscores there, which are left as written here.
 */
function normalizeLabelValue(type: MetricType | undefined, name: string, value: string): string {
  if ((type === 'histogram' && name === 'le') || (type === 'summary' && name === 'quantile')) {
    const f = parseFloatToken(value, 0, value.length);
    if (f !== undefined) return formatOpenMetricsFloat(f);
  }
  return value;
}

/** The 1-based line of `offset` in `body`. */
function lineOf(body: string, offset: number): number {
  let line = 1;
  for (let i = body.indexOf('\n'); i !== -1 && i < offset; i = body.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * The state and accessors both parsers share; a subclass implements {@link advance}, the format's scanner, which
 * records the current entry in these fields. Label offsets come in fours: name start, name end, value start, value
 * end, quotes excluded (Prometheus' `offsets`).
 */
export abstract class ParserState implements ExpositionParser {
  abstract readonly format: ExpositionFormat;
  protected readonly body: string;
  /** Where the scanner continues. */
  protected pos = 0;
  /** Where the current entry's line starts, for error line numbers. */
  protected entryStart = 0;
  protected seriesStart = 0;
  protected seriesEnd = 0;
  /** The metric name's offsets (quotes excluded), or -1 while no name was seen. */
  protected nameStart = -1;
  protected nameEnd = -1;
  protected nameQuoted = false;
  protected readonly offsets: number[] = [];
  protected offsetCount = 0;
  protected sampleValue = 0;
  protected sampleTimestampMs: number | undefined;
  protected sampleHasExemplar = false;
  /** The current sample's exemplar: label offsets in fours as {@link offsets}, its value and timestamp. */
  protected readonly exemplarOffsets: number[] = [];
  protected exemplarOffsetCount = 0;
  protected exemplarValue = 0;
  protected exemplarTimestampMs: number | undefined;
  /** The current metadata line's name (quotes excluded) and text, as offsets: strings are made only when asked for. */
  protected metaNameStart = 0;
  protected metaNameEnd = 0;
  protected metaNameQuoted = false;
  protected metaTextStart = 0;
  protected metaTextEnd = 0;
  /** Whether `\"` decodes in HELP text (OpenMetrics), or only `\\` and `\n` do (the text format). */
  protected metaTextDecodesQuotes = false;
  protected metaType: MetricType = 'unknown';
  protected commentStart = 0;
  protected commentEnd = 0;
  /**
   * The type of the last TYPE line, whatever family it named: Prometheus' parsers keep one `mtype` and normalise
   * `le`/`quantile` by it.
   */
  protected lastType: MetricType | undefined;
  #entry: Entry | undefined;
  #failure: ParseError | undefined;
  #series: string | undefined;
  #detachedSeries: string | undefined;
  /** The metric name {@link labels} last returned: consecutive series of a family share one string. */
  #lastName = '';

  /** Whether the body holds bytes that were not valid UTF-8 (lone surrogates): only then are values checked. */
  readonly #illFormed: boolean;

  /** Creates the state for one body. */
  constructor(body: string) {
    this.body = body;
    // Native, and O(1) for one-byte strings (an ASCII or Latin-1 body cannot hold a surrogate).
    this.#illFormed = !body.isWellFormed();
  }

  /**
   * Fails as Prometheus' `parseLVals` does when the label value `body[start, end)` (quotes included) was not valid
   * UTF-8 in the response.
   */
  protected checkLabelValue(start: number, end: number): void {
    if (!this.#illFormed) return;
    const raw = this.body.slice(start, end);
    if (!raw.isWellFormed()) throw this.fail(`invalid UTF-8 label value: ${quote(raw)}`);
  }

  /** Fails as Prometheus does when the HELP text `body[start, end)` was not valid UTF-8 in the response. */
  protected checkHelpText(start: number, end: number): void {
    if (!this.#illFormed) return;
    const raw = this.body.slice(start, end);
    if (!raw.isWellFormed()) throw this.fail(`help text ${quote(raw)} is not a valid utf8 string`);
  }

  /** Scans the next entry from {@link pos}, or returns undefined at the end; throws what {@link fail} made. */
  protected abstract advance(): Entry | undefined;

  next(): Entry | undefined {
    if (this.#failure !== undefined) throw this.#failure;
    this.#entry = undefined;
    this.#series = undefined;
    this.#detachedSeries = undefined;
    this.#entry = this.advance();
    return this.#entry;
  }

  /** Records and returns the error for the current entry, to be thrown by the caller. */
  protected fail(reason: string): ParseError {
    this.#failure = new ParseError(lineOf(this.body, this.entryStart), reason);
    this.#entry = undefined;
    return this.#failure;
  }

  /** What follows `pos` on its line, quoted, for error messages; `end of line` or `end of input` when nothing. */
  protected near(pos: number): string {
    if (pos >= this.body.length) return 'end of input';
    const end = lineEnd(this.body, pos);
    return end === pos ? 'end of line' : quote(this.body.slice(pos, end));
  }

  #expect(entry: Entry, accessor: string): void {
    if (this.#entry !== entry) throw new ParserMisuseError(`${accessor}() needs a '${entry}' entry, but the current entry is ${this.#entry === undefined ? 'none' : `'${this.#entry}'`}`);
  }

  series(): string {
    this.#expect('series', 'series');
    this.#series ??= this.body.slice(this.seriesStart, this.seriesEnd);
    return this.#series;
  }

  detachedSeries(): string {
    this.#detachedSeries ??= detach(this.series());
    return this.#detachedSeries;
  }

  value(): number {
    this.#expect('series', 'value');
    return this.sampleValue;
  }

  timestampMs(): number | undefined {
    this.#expect('series', 'timestampMs');
    return this.sampleTimestampMs;
  }

  hasExemplar(): boolean {
    this.#expect('series', 'hasExemplar');
    return this.sampleHasExemplar;
  }

  exemplar(): ScrapedExemplar | undefined {
    this.#expect('series', 'exemplar');
    if (!this.sampleHasExemplar) return undefined;
    const body = this.body;
    const offsets = this.exemplarOffsets;
    const labels = new Map<string, string>();
    for (let i = 0; i < this.exemplarOffsetCount; i += 4) {
      const name = detach(unescape(body.slice(offsets[i] ?? 0, offsets[i + 1] ?? 0), true));
      if (labels.has(name)) return undefined;
      labels.set(name, detach(unescape(body.slice(offsets[i + 2] ?? 0, offsets[i + 3] ?? 0), true)));
    }
    return { labels, value: this.exemplarValue, timestampMs: this.exemplarTimestampMs };
  }

  metricName(): string {
    this.#expect('series', 'metricName');
    const name = detach(this.body.slice(this.nameStart, this.nameEnd));
    return this.nameQuoted ? unescape(name, true) : name;
  }

  metricPointKey(): string {
    this.#expect('series', 'metricPointKey');
    const body = this.body;
    const offsets = this.offsets;
    const skipped = this.lastType === 'histogram' ? 'le' : this.lastType === 'summary' ? 'quantile' : undefined;
    let key = '';
    for (let i = 0; i < this.offsetCount; i += 4) {
      const nameStart = offsets[i] ?? 0;
      const nameEnd = offsets[i + 1] ?? 0;
      if (skipped !== undefined && nameEnd - nameStart === skipped.length && body.startsWith(skipped, nameStart)) continue;
      // Neither part can hold a raw NUL in OpenMetrics, so NULs keep the pairs apart.
      key += `${body.slice(nameStart, nameEnd)}\0${body.slice(offsets[i + 2] ?? 0, offsets[i + 3] ?? 0)}\0`;
    }
    return detach(key);
  }

  labels(): Map<string, string> {
    this.#expect('series', 'labels');
    const body = this.body;
    const base = this.seriesStart;
    let text: string | undefined;
    // A slice of fewer than 13 characters is a copy; a longer one is cut from the detached series text instead, the
    // one copy a cache keeps as its key anyway, so the labels pin that small string and never the body.
    const cut = (start: number, end: number): string =>
      end - start < 13 ? body.slice(start, end) : (text ??= this.detachedSeries()).slice(start - base, end - base);
    const out = new Map<string, string>();
    const { nameStart, nameEnd } = this;
    const last = this.#lastName;
    if (this.nameQuoted || last.length !== nameEnd - nameStart || !body.startsWith(last, nameStart)) {
      const name = cut(nameStart, nameEnd);
      this.#lastName = this.nameQuoted ? unescape(name, true) : name;
    }
    out.set(LabelName.metricName, this.#lastName);
    const offsets = this.offsets;
    for (let i = 0; i < this.offsetCount; i += 4) {
      const label = unescape(cut(offsets[i] ?? 0, offsets[i + 1] ?? 0), true);
      if (out.has(label)) throw this.fail(`label name ${JSON.stringify(label)} is not unique`);
      const value = unescape(cut(offsets[i + 2] ?? 0, offsets[i + 3] ?? 0), true);
      out.set(label, normalizeLabelValue(this.lastType, label, value));
    }
    return out;
  }

  help(): readonly [name: string, text: string] {
    this.#expect('help', 'help');
    const text = this.body.slice(this.metaTextStart, this.metaTextEnd);
    return [this.metaName(), detach(unescape(text, this.metaTextDecodesQuotes))];
  }

  type(): readonly [name: string, type: MetricType] {
    this.#expect('type', 'type');
    return [this.metaName(), this.metaType];
  }

  unit(): readonly [name: string, unit: string] {
    this.#expect('unit', 'unit');
    return [this.metaName(), detach(this.body.slice(this.metaTextStart, this.metaTextEnd))];
  }

  comment(): string {
    this.#expect('comment', 'comment');
    return detach(this.body.slice(this.commentStart, this.commentEnd));
  }

  // These compare a slice and drop it: V8's startsWith at an offset measured 3-4 times slower on HELP texts.
  metadataNameIs(name: string): boolean {
    if (this.#entry !== 'help' && this.#entry !== 'type' && this.#entry !== 'unit') this.#expect('help', 'metadataNameIs');
    const { metaNameStart: start, metaNameEnd: end } = this;
    if (this.metaNameQuoted) return unescape(this.body.slice(start, end), true) === name;
    return end - start === name.length && this.body.slice(start, end) === name;
  }

  metadataRawTextIs(raw: string): boolean {
    if (this.#entry !== 'unit') this.#expect('help', 'metadataRawTextIs');
    const { metaTextStart: start, metaTextEnd: end } = this;
    return end - start === raw.length && this.body.slice(start, end) === raw;
  }

  metadataRawText(): string {
    if (this.#entry !== 'unit') this.#expect('help', 'metadataRawText');
    return detach(this.body.slice(this.metaTextStart, this.metaTextEnd));
  }

  metadataType(): MetricType {
    this.#expect('type', 'metadataType');
    return this.metaType;
  }

  /** The metric name of the current metadata line, unquoted and unescaped, detached from the body. */
  protected metaName(): string {
    const name = this.body.slice(this.metaNameStart, this.metaNameEnd);
    return detach(this.metaNameQuoted ? unescape(name, true) : name);
  }
}
