/**
 * The Prometheus text format (0.0.4, and 1.0.0 with quoted UTF-8 names), scanned as Prometheus' `promlex.l` lexes it
 * and `promparse.go` parses it. What that grammar allows, and this scanner with it:
 * - blanks (spaces and tabs) between any two tokens, at the start of a line and at its end; blank lines;
 * - `#` lines: `# HELP name text` and `# TYPE name type` are metadata, every other `#` line is a comment (so
 *   `# EOF` and `# UNIT` are comments here). `# HELP` followed by a blank and no name is an error;
 * - a label block with a trailing comma, an empty block `{}`, labels separated by blanks without a comma
 *   (`{a="1" b="2"}`; `promparse.go` notes this may be accidental);
 * - the value right after the name or `}` when the value cannot continue the name (`a-1` is `a` with value -1);
 * - raw newlines inside quoted strings (the text lexer does not exclude them);
 * - a timestamp of ASCII digits only, integer milliseconds in int64 range.
 *
 * Where this differs from Prometheus, on purpose:
 * - Prometheus starts a sample's series (and its metric name) where the line starts, so `  a 1` has the metric name
 *   `  a`; here the leading blanks are skipped.
 * - A quoted HELP/TYPE name has its escapes decoded, so it matches the series' `__name__` (Prometheus returns the
 *   bytes between the quotes).
 * - A NUL where a line starts ends the input, as Prometheus' lexer reads `\0` as its end; a NUL inside a label
 *   value, HELP text or comment is kept, as there; anywhere else it is an error (Prometheus differs in corners,
 *   such as a NUL in a `#x` comment, which ends its input).
 */
import {
  ALLOW_LF,
  ALLOW_NUL,
  COMMA,
  EQUAL,
  HASH,
  LABEL_CHAR,
  LABEL_START,
  LBRACE,
  LF,
  METRIC_CHAR,
  METRIC_START,
  NUL,
  ParserState,
  QUOTE,
  RBRACE,
  SP,
  TAB,
  floatProblem,
  isClass,
  lineEnd,
  lineWord,
  parseFloatToken,
  parseIntToken,
  quote,
  scanClass,
  scanQuoted,
  type Entry,
  type MetricType,
} from './parser-core.js';

/** The text format's TYPE words (`promparse.go`) and the types they name: `untyped` is Prometheus' unknown type. */
const textTypeWords = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const textTypes: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'unknown'];

/** The index after the blanks (spaces and tabs) starting at `pos`. */
function skipBlanks(body: string, pos: number): number {
  const end = body.length;
  while (pos < end) {
    const c = body.charCodeAt(pos);
    if (c !== SP && c !== TAB) break;
    pos++;
  }
  return pos;
}

/** Reads one exposition in the Prometheus text format; see the module comment for the grammar. */
export class TextParser extends ParserState {
  readonly format = 'text';

  protected advance(): Entry | undefined {
    const body = this.body;
    const end = body.length;
    let pos = this.pos;
    for (;;) {
      pos = skipBlanks(body, pos);
      if (pos >= end) break;
      const c = body.charCodeAt(pos);
      if (c === LF) {
        pos++;
        continue;
      }
      this.entryStart = pos;
      if (isClass(c, METRIC_START) || c === LBRACE) return this.#sample(pos);
      if (c === HASH) return this.#hashLine(pos);
      // Prometheus' lexer reads a NUL where a token starts as the end of its input (promlex.l `\0`).
      if (c === NUL) break;
      throw this.fail(`expected a metric name, "{" or "#" at the start of a line, got ${this.near(pos)}`);
    }
    this.pos = end;
    return undefined;
  }

  /** A sample line: name, optional label block, value, optional timestamp (`Next` and `parseMetricSuffix`). */
  #sample(start: number): Entry {
    const body = this.body;
    const end = body.length;
    let pos = start;
    this.seriesStart = start;
    this.nameStart = -1;
    this.nameQuoted = false;
    this.offsetCount = 0;
    if (body.charCodeAt(pos) !== LBRACE) {
      pos = scanClass(body, pos + 1, METRIC_CHAR);
      this.nameStart = start;
      this.nameEnd = pos;
      this.seriesEnd = pos;
      pos = skipBlanks(body, pos);
    }
    if (pos < end && body.charCodeAt(pos) === LBRACE) {
      pos = this.#labelBlock(pos + 1);
      this.seriesEnd = pos;
      if (this.nameStart < 0) throw this.fail(`metric name not set: ${quote(body.slice(start, pos))} has neither a name before "{" nor a quoted name inside`);
      pos = skipBlanks(body, pos);
    }
    const valueStart = pos;
    while (pos < end) {
      const c = body.charCodeAt(pos);
      if (c === SP || c === TAB || c === LF || c === LBRACE || c === NUL) break;
      pos++;
    }
    if (pos === valueStart) throw this.fail(`expected a value after the metric, got ${this.near(pos)}`);
    const value = parseFloatToken(body, valueStart, pos);
    if (value === undefined) throw this.fail(floatProblem(body.slice(valueStart, pos), 'value'));
    this.sampleValue = value;
    this.sampleTimestampMs = undefined;
    pos = skipBlanks(body, pos);
    if (pos < end && body.charCodeAt(pos) !== LF) {
      const tsStart = pos;
      while (pos < end) {
        const c = body.charCodeAt(pos);
        if (c < 0x30 || c > 0x39) break;
        pos++;
      }
      if (pos === tsStart) throw this.fail(`expected a timestamp or the end of the line after the value, got ${this.near(pos)}`);
      const ts = parseIntToken(body, tsStart, pos);
      if (ts === undefined) throw this.fail(`timestamp ${quote(body.slice(tsStart, pos))} is out of range`);
      this.sampleTimestampMs = ts;
      pos = skipBlanks(body, pos);
      if (pos < end && body.charCodeAt(pos) !== LF) throw this.fail(`expected the end of the line after the timestamp, got ${this.near(pos)}`);
    }
    this.pos = pos + 1;
    return 'series';
  }

  /**
   * The label block after its `{` (`parseLVals`); returns the index after `}`. A quoted string followed by `,` or
   * `}` is the metric name; otherwise a label name (plain or quoted), `=`, a quoted value, and an optional comma.
   */
  #labelBlock(pos: number): number {
    const body = this.body;
    const end = body.length;
    const offsets = this.offsets;
    for (;;) {
      pos = skipBlanks(body, pos);
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
      pos = skipBlanks(body, pos);
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
      pos = skipBlanks(body, pos + 1);
      if (pos >= end || body.charCodeAt(pos) !== QUOTE) throw this.fail(`expected a quoted label value, got ${this.near(pos)}`);
      const valueStart = pos;
      pos = this.#quoted(pos, ALLOW_LF | ALLOW_NUL);
      this.checkLabelValue(valueStart, pos);
      let n = this.offsetCount;
      offsets[n++] = quoted ? nameStart + 1 : nameStart;
      offsets[n++] = quoted ? nameEnd - 1 : nameEnd;
      offsets[n++] = valueStart + 1;
      offsets[n++] = pos - 1;
      this.offsetCount = n;
      pos = skipBlanks(body, pos);
      if (pos < end && body.charCodeAt(pos) === COMMA) pos++;
    }
  }

  /** The index after the quoted string at `pos`, or a failure naming what is wrong with it. */
  #quoted(pos: number, flags: number): number {
    const after = scanQuoted(this.body, pos, flags);
    if (typeof after === 'string') throw this.fail(`${after}: ${this.near(pos)}`);
    return after;
  }

  /** A `#` line: HELP or TYPE metadata when `#`, blanks and the keyword and a blank start it, else a comment. */
  #hashLine(start: number): Entry {
    const body = this.body;
    let pos = start + 1;
    const c = pos < body.length ? body.charCodeAt(pos) : LF;
    if (c === SP || c === TAB) {
      pos = skipBlanks(body, pos);
      const keyword = body.startsWith('HELP', pos) ? 'help' : body.startsWith('TYPE', pos) ? 'type' : undefined;
      const after = pos + 4 < body.length ? body.charCodeAt(pos + 4) : LF;
      if (keyword !== undefined && (after === SP || after === TAB)) return this.#metadata(keyword, skipBlanks(body, pos + 4));
    }
    this.commentStart = start;
    this.commentEnd = lineEnd(body, pos);
    this.pos = this.commentEnd + 1;
    return 'comment';
  }

  /**
   * The rest of a HELP or TYPE line from the metric name on. As the lexer's `sMeta2` state has it, the text is the
   * rest of the line minus its first character (the separator, whatever it is), and empty when that rest is one
   * character or only blanks. HELP decodes `\\` and `\n` only; TYPE must be exactly one of the text format's types.
   */
  #metadata(kind: 'help' | 'type', pos: number): Entry {
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
    const eol = lineEnd(body, pos);
    const hasText = eol - pos > 1 && skipBlanks(body, pos) < eol;
    this.metaTextStart = hasText ? pos + 1 : eol;
    this.metaTextEnd = eol;
    this.metaTextDecodesQuotes = false;
    this.pos = eol + 1;
    if (kind === 'help') this.checkHelpText(this.metaTextStart, eol);
    if (kind === 'type') {
      const type = textTypes[lineWord(body, this.metaTextStart, textTypeWords)];
      if (type === undefined) throw this.fail(`invalid metric type ${quote(body.slice(this.metaTextStart, eol))}`);
      this.metaType = type;
      this.lastType = type;
    }
    return kind;
  }
}
