/**
 * OpenMetrics 1.0 text, scanned as Prometheus' `openmetricslex.l` lexes it and `openmetricsparse.go` parses it. The
 * grammar is strict where the text format is lenient:
 * - exactly one space between a series and its value, the value and its timestamp, a timestamp and ` # ` of an
 *   exemplar; no blanks inside a label block, at the start or end of a line, no blank lines;
 * - the only `#` lines are `# HELP name text`, `# TYPE name type`, `# UNIT name unit` and `# EOF`; `# EOF` is
 *   required, ends the exposition, and may be followed by one newline and nothing else;
 * - label values may not hold a raw newline; HELP text decodes `\\`, `\"` and `\n`;
 * - a UNIT, when not empty, must be a suffix of the family name after `_` (`unit "u" not a suffix of metric "m"`);
 * - timestamps are float seconds, converted to milliseconds by truncation (`int64(ts * 1000)`); NaN and infinite
 *   timestamps are errors;
 * - an exemplar (` # {labels} value [timestamp]`) is checked as Prometheus checks it while scanning, which records
 *   where its labels are; `exemplar()` makes them strings when asked (the scrape loop asks only when a remote-write
 *   endpoint sends exemplars).
 *
 * Counters' `_total` suffix is not enforced: Prometheus' parser accepts `foo_total` and `foo` samples alike under
 * `# TYPE foo counter`, and so does this one. `_created` series are ordinary series: Prometheus skips them only when
 * created-timestamp ingestion is on (`OpenMetricsSkipSTSeries` follows `--enable-feature=created-timestamp-zero-
 * ingestion`, off by default), and promfleet has no such feature.
 *
 * Where this differs from Prometheus, on purpose: an unquoted label name followed by `,` or `}` is an error
 * (Prometheus' `parseLVals` takes it for a quoted metric name and drops its first and last characters), and a quoted
 * HELP/TYPE/UNIT name has its escapes decoded, so it matches the series' `__name__`; an exemplar's label values have
 * their escapes decoded too (Prometheus' `Exemplar` keeps them as written, unlike a series' values).
 */
import {
  ALLOW_LF,
  ALLOW_NUL,
  COMMA,
  EQUAL,
  HASH,
  INT64_LIMIT,
  LABEL_CHAR,
  LABEL_START,
  LBRACE,
  LF,
  METRIC_CHAR,
  METRIC_START,
  ParserState,
  QUOTE,
  RBRACE,
  SP,
  floatProblem,
  isClass,
  lineWord,
  parseFloatToken,
  quote,
  scanClass,
  scanQuoted,
  type Entry,
  type MetricType,
} from './parser-core.js';

/** OpenMetrics' TYPE words (`openmetricsparse.go`), each the type it names. */
const openMetricsTypes: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown'];

/** Reads one OpenMetrics 1.0 exposition; see the module comment for the grammar. */
export class OpenMetricsParser extends ParserState {
  readonly format = 'openmetrics';
  #ended = false;

  protected advance(): Entry | undefined {
    if (this.#ended) return undefined;
    const body = this.body;
    const pos = this.pos;
    this.entryStart = pos;
    if (pos >= body.length) throw this.fail('data does not end with # EOF');
    const c = body.charCodeAt(pos);
    if (isClass(c, METRIC_START) || c === LBRACE) return this.#sample(pos);
    if (c === HASH) return this.#hashLine(pos);
    if (c === LF) throw this.fail('blank line: OpenMetrics allows none');
    throw this.fail(`expected a metric name, "{" or "#" at the start of a line, got ${this.near(pos)}`);
  }

  /** A `#` line: HELP, TYPE, UNIT or EOF. */
  #hashLine(start: number): Entry | undefined {
    const body = this.body;
    const pos = start + 2;
    if (body.charCodeAt(start + 1) === SP) {
      if (body.startsWith('EOF', pos)) {
        const after = body.charCodeAt(pos + 3) === LF ? pos + 4 : pos + 3;
        if (after < body.length) throw this.fail(`unexpected data after # EOF: ${this.near(after)}`);
        this.#ended = true;
        this.pos = body.length;
        return undefined;
      }
      if (body.charCodeAt(pos + 4) === SP) {
        if (body.startsWith('HELP', pos)) return this.#metadata('help', pos + 5);
        if (body.startsWith('TYPE', pos)) return this.#metadata('type', pos + 5);
        if (body.startsWith('UNIT', pos)) return this.#metadata('unit', pos + 5);
      }
    }
    throw this.fail(`expected "# HELP", "# TYPE", "# UNIT" or "# EOF": OpenMetrics allows no other "#" lines, got ${this.near(start)}`);
  }

  /** The rest of a HELP, TYPE or UNIT line from the metric name on: the name, one space, the text, a newline. */
  #metadata(kind: 'help' | 'type' | 'unit', pos: number): Entry {
    const body = this.body;
    const c = pos < body.length ? body.charCodeAt(pos) : LF;
    const nameStart = pos;
    if (c === QUOTE) pos = this.#quoted(pos, ALLOW_LF);
    else if (isClass(c, METRIC_START)) pos = scanClass(body, pos + 1, METRIC_CHAR);
    else throw this.fail(`expected a metric name after ${kind.toUpperCase()}, got ${this.near(pos)}`);
    const quoted = c === QUOTE;
    this.metaNameStart = quoted ? nameStart + 1 : nameStart;
    this.metaNameEnd = quoted ? pos - 1 : pos;
    this.metaNameQuoted = quoted;
    if (pos >= body.length || body.charCodeAt(pos) !== SP) throw this.fail(`expected a space and text after the metric name in ${kind.toUpperCase()}, got ${this.near(pos)}`);
    const eol = body.indexOf('\n', pos);
    if (eol === -1) throw this.fail('data does not end with # EOF');
    this.metaTextStart = pos + 1;
    this.metaTextEnd = eol;
    this.metaTextDecodesQuotes = true;
    this.pos = eol + 1;
    if (kind === 'help') this.checkHelpText(pos + 1, eol);
    if (kind === 'type') {
      const type = openMetricsTypes[lineWord(body, pos + 1, openMetricsTypes)];
      if (type === undefined) throw this.fail(`invalid metric type ${quote(body.slice(pos + 1, eol))}`);
      this.metaType = type;
      this.lastType = type;
    } else if (kind === 'unit' && eol > pos + 1) {
      const name = this.metaName();
      const unit = body.slice(pos + 1, eol);
      if (!(name.endsWith(unit) && name.charCodeAt(name.length - unit.length - 1) === 0x5f /* _ */)) {
        throw this.fail(`unit ${quote(unit)} not a suffix of metric ${quote(name)}`);
      }
    }
    return kind;
  }

  /** A sample line: series, one space, value, then a newline, ` timestamp` and/or ` # exemplar`. */
  #sample(start: number): Entry {
    const body = this.body;
    const end = body.length;
    let pos = start;
    this.seriesStart = start;
    this.nameStart = -1;
    this.nameQuoted = false;
    this.offsetCount = 0;
    this.sampleHasExemplar = false;
    this.exemplarOffsetCount = 0;
    if (body.charCodeAt(pos) !== LBRACE) {
      pos = scanClass(body, pos + 1, METRIC_CHAR);
      this.nameStart = start;
      this.nameEnd = pos;
    }
    if (pos < end && body.charCodeAt(pos) === LBRACE) pos = this.#labelBlock(pos + 1);
    this.seriesEnd = pos;
    if (this.nameStart < 0) throw this.fail(`metric name not set: ${quote(body.slice(start, pos))} has neither a name before "{" nor a quoted name inside`);
    const valueEnd = this.#token(pos);
    if (valueEnd < 0) throw this.fail(`expected a space and a value after the metric, got ${this.near(pos)}`);
    const value = parseFloatToken(body, pos + 1, valueEnd);
    if (value === undefined) throw this.fail(floatProblem(body.slice(pos + 1, valueEnd), 'value'));
    this.sampleValue = value;
    this.sampleTimestampMs = undefined;
    pos = valueEnd;
    if (pos < end && body.charCodeAt(pos) === SP && !this.#isExemplarStart(pos)) {
      const tsEnd = this.#token(pos);
      if (tsEnd < 0) throw this.fail(`expected a timestamp, an exemplar or the end of the line after the value, got ${this.near(pos)}`);
      this.sampleTimestampMs = this.#timestampMs(pos + 1, tsEnd, 'timestamp');
      pos = tsEnd;
    }
    if (pos < end && this.#isExemplarStart(pos)) {
      pos = this.#exemplar(pos + 4);
      this.sampleHasExemplar = true;
    }
    if (pos >= end) throw this.fail('data does not end with # EOF');
    if (body.charCodeAt(pos) !== LF) throw this.fail(`expected the end of the line, got ${this.near(pos)}`);
    this.pos = pos + 1;
    return 'series';
  }

  /**
   * The end of a token `{S}[^ \n]+` starting with the space at `pos`, or -1 when `pos` holds no space or the space
   * is followed by another space, a newline or the end.
   */
  #token(pos: number): number {
    const body = this.body;
    const end = body.length;
    if (pos >= end || body.charCodeAt(pos) !== SP) return -1;
    let i = pos + 1;
    while (i < end) {
      const c = body.charCodeAt(i);
      if (c === SP || c === LF) break;
      i++;
    }
    return i === pos + 1 ? -1 : i;
  }

  /** Whether ` # {` starts at `pos`: the lexer's longest match makes that an exemplar, not a timestamp `#`. */
  #isExemplarStart(pos: number): boolean {
    const body = this.body;
    return body.charCodeAt(pos) === SP && body.charCodeAt(pos + 1) === HASH && body.charCodeAt(pos + 2) === SP && body.charCodeAt(pos + 3) === LBRACE;
  }

  /** A float-seconds timestamp token as milliseconds; NaN and infinities are errors, as beyond int64 (where Go's conversion is undefined). */
  #timestampMs(start: number, end: number, what: string): number {
    const seconds = parseFloatToken(this.body, start, end);
    if (seconds === undefined) throw this.fail(floatProblem(this.body.slice(start, end), what));
    if (!Number.isFinite(seconds)) throw this.fail(`invalid ${what} ${quote(this.body.slice(start, end))}`);
    const ms = Math.trunc(seconds * 1000) + 0;
    if (ms >= INT64_LIMIT || ms < -INT64_LIMIT) throw this.fail(`${what} ${quote(this.body.slice(start, end))} is out of range`);
    return ms;
  }

  /**
   * The label block after its `{` (`parseLVals`); returns the index after `}`. A quoted string followed by `,` or
   * `}` is the metric name; otherwise a label name, `=`, a quoted value without raw newlines, then `,` or `}`.
   */
  #labelBlock(pos: number): number {
    const body = this.body;
    const end = body.length;
    const offsets = this.offsets;
    for (;;) {
      let c = pos < end ? body.charCodeAt(pos) : LF;
      if (c === RBRACE) return pos + 1;
      const nameStart = pos;
      let quoted = false;
      if (isClass(c, LABEL_START)) {
        pos = scanClass(body, pos + 1, LABEL_CHAR);
      } else if (c === QUOTE) {
        pos = this.#quoted(pos, ALLOW_LF);
        quoted = true;
      } else {
        throw this.fail(`expected a label name or "}", got ${this.near(pos)}`);
      }
      const nameEnd = pos;
      c = pos < end ? body.charCodeAt(pos) : LF;
      if (quoted && (c === COMMA || c === RBRACE)) {
        if (this.nameStart >= 0) throw this.fail(`metric name already set: ${quote(body.slice(this.seriesStart, pos + 1))}`);
        this.nameStart = nameStart + 1;
        this.nameEnd = nameEnd - 1;
        this.nameQuoted = true;
        if (c === RBRACE) return pos + 1;
        pos++;
        continue;
      }
      if (c !== EQUAL) throw this.fail(`expected "=" after label name ${quote(body.slice(nameStart, nameEnd))}, got ${this.near(pos)}`);
      pos++;
      if (pos >= end || body.charCodeAt(pos) !== QUOTE) throw this.fail(`expected a quoted label value, got ${this.near(pos)}`);
      const valueStart = pos;
      // NUL bytes are kept in a series' label values, as Prometheus' lexer skips over them inside a value (an
      // exemplar's label values refuse them, as there).
      pos = this.#quoted(pos, ALLOW_NUL);
      this.checkLabelValue(valueStart, pos);
      let n = this.offsetCount;
      offsets[n++] = quoted ? nameStart + 1 : nameStart;
      offsets[n++] = quoted ? nameEnd - 1 : nameEnd;
      offsets[n++] = valueStart + 1;
      offsets[n++] = pos - 1;
      this.offsetCount = n;
      c = pos < end ? body.charCodeAt(pos) : LF;
      if (c === COMMA) pos++;
      else if (c !== RBRACE) throw this.fail(`expected "," or "}" after a label value, got ${this.near(pos)}`);
    }
  }

  /**
   * An exemplar from after its `{` (`parseComment`): labels (no metric name, no raw newlines), a space and a value,
   * optionally a space and a float timestamp. Returns the index after it; records the label offsets (quotes
   * excluded), the value and the timestamp.
   */
  #exemplar(pos: number): number {
    const body = this.body;
    const end = body.length;
    const offsets = this.exemplarOffsets;
    let n = 0;
    for (;;) {
      let c = pos < end ? body.charCodeAt(pos) : LF;
      if (c === RBRACE) {
        pos++;
        break;
      }
      const nameStart = pos;
      if (isClass(c, LABEL_START)) pos = scanClass(body, pos + 1, LABEL_CHAR);
      else if (c === QUOTE) pos = this.#quoted(pos, 0);
      else throw this.fail(`expected an exemplar label name or "}", got ${this.near(pos)}`);
      const quotedName = c === QUOTE;
      offsets[n++] = quotedName ? nameStart + 1 : nameStart;
      offsets[n++] = quotedName ? pos - 1 : pos;
      if (pos >= end || body.charCodeAt(pos) !== EQUAL) throw this.fail(`expected "=" after exemplar label name ${quote(body.slice(nameStart, pos))}, got ${this.near(pos)}`);
      pos++;
      if (pos >= end || body.charCodeAt(pos) !== QUOTE) throw this.fail(`expected a quoted exemplar label value, got ${this.near(pos)}`);
      const valueStart = pos;
      // Unlike a series' label value, an exemplar's refuses NUL bytes, as Prometheus' lexer does.
      pos = this.#quoted(pos, 0);
      this.checkLabelValue(valueStart, pos);
      offsets[n++] = valueStart + 1;
      offsets[n++] = pos - 1;
      c = pos < end ? body.charCodeAt(pos) : LF;
      if (c === COMMA) pos++;
      else if (c !== RBRACE) throw this.fail(`expected "," or "}" after an exemplar label value, got ${this.near(pos)}`);
    }
    const valueEnd = this.#token(pos);
    if (valueEnd < 0) throw this.fail(`expected a space and a value after the exemplar labels, got ${this.near(pos)}`);
    const value = parseFloatToken(body, pos + 1, valueEnd);
    if (value === undefined) throw this.fail(floatProblem(body.slice(pos + 1, valueEnd), 'exemplar value'));
    pos = valueEnd;
    let timestampMs: number | undefined;
    if (pos < end && body.charCodeAt(pos) === SP) {
      const tsEnd = this.#token(pos);
      if (tsEnd < 0) throw this.fail(`expected an exemplar timestamp or the end of the line, got ${this.near(pos)}`);
      timestampMs = this.#timestampMs(pos + 1, tsEnd, 'exemplar timestamp');
      pos = tsEnd;
    }
    this.exemplarOffsetCount = n;
    this.exemplarValue = value;
    this.exemplarTimestampMs = timestampMs;
    return pos;
  }

  /** The index after the quoted string at `pos`, or a failure naming what is wrong with it. */
  #quoted(pos: number, flags: number): number {
    const after = scanQuoted(this.body, pos, flags);
    if (typeof after === 'string') throw this.fail(`${after}: ${this.near(pos)}`);
    return after;
  }
}
