/**
 * Go RE2 regular expressions, as Prometheus' `relabel.Regexp` compiles them, on JavaScript RegExp.
 *
 * Prometheus compiles a relabel regex as `^(?s:` + pattern + `)$` with Go's `regexp` package
 * (RE2 syntax, Perl flags). This module parses exactly that string with the rules of Go's
 * `regexp/syntax/parse.go`, so it accepts and rejects the same patterns with the same reasons,
 * and emits an equivalent JavaScript pattern in `u` mode. Everything JavaScript would read
 * differently is rewritten rather than passed through: `\s`, `\d`, `\w` and POSIX classes become
 * RE2's ASCII sets, `.` becomes `[^\n]` or `[^]`, `(?m)` anchors become lookarounds, and `(?i)`
 * becomes explicit case-fold sets (Node 20 has no inline modifiers). Named groups become plain
 * numbered groups with the names kept aside, because RE2 allows names (`1x`, duplicates) that
 * JavaScript does not.
 */

/** What went wrong, with Go's `regexp/syntax` error code text, the offending text and its position. */
export class RegexSyntaxError extends Error {
  override readonly name = 'RegexSyntaxError';
  readonly code = 'PROMFLEET_INVALID_REGEX';
  /** Go's error code text, such as `invalid escape sequence`. */
  readonly reason: string;
  /** The offending part of the pattern, as Go quotes it. */
  readonly detail: string;
  /** The pattern as the user wrote it. */
  readonly pattern: string;
  /** Offset of the offending part in `pattern` (UTF-16 units), when there is one. */
  readonly position: number | undefined;

  constructor(problem: { reason: string; detail: string; pattern: string; position: number | undefined }) {
    super(`error parsing regexp: ${problem.reason}: \`${problem.detail}\``);
    this.reason = problem.reason;
    this.detail = problem.detail;
    this.pattern = problem.pattern;
    this.position = problem.position;
  }
}

/** Go's `syntax.ErrorCode` texts. */
const Reason = {
  invalidCharClass: 'invalid character class',
  invalidCharRange: 'invalid character class range',
  invalidEscape: 'invalid escape sequence',
  invalidNamedCapture: 'invalid named capture',
  invalidPerlOp: 'invalid or unsupported Perl syntax',
  invalidRepeatOp: 'invalid nested repetition operator',
  invalidRepeatSize: 'invalid repeat count',
  missingBracket: 'missing closing ]',
  missingParen: 'missing closing )',
  missingRepeatArgument: 'missing argument to repetition operator',
  trailingBackslash: 'trailing backslash at end of expression',
  unexpectedParen: 'unexpected )',
  nestingDepth: 'expression nests too deeply',
  large: 'expression too large',
  internal: 'regexp/syntax: internal error',
} as const;

/** A compiled, fully anchored RE2-style regex, as Prometheus' relabel.Regexp. */
export class Re2Regex {
  /** The pattern as the user wrote it (for printing and round-tripping YAML). */
  readonly source: string;
  /** The JavaScript pattern this regex runs as (flag `u`). */
  readonly jsSource: string;
  /** Capture group names by group number; index 0 (the whole match) and unnamed groups are "". */
  readonly groupNames: readonly string[];
  private readonly re: RegExp;

  private constructor(compiled: { source: string; jsSource: string; groupNames: readonly string[]; re: RegExp }) {
    this.source = compiled.source;
    this.jsSource = compiled.jsSource;
    this.groupNames = compiled.groupNames;
    this.re = compiled.re;
  }

  /**
   * Compiles `pattern` as Prometheus does: `^(?s:pattern)$` under Go's Perl flags.
   * Throws {@link RegexSyntaxError} for anything Go's regexp package rejects.
   */
  static compile(pattern: string): Re2Regex {
    const parsed = new Parser(pattern).parse();
    const jsSource = new Emitter().emitAlternation(parsed.root);
    let re: RegExp;
    try {
      re = new RegExp(jsSource, 'u');
    } catch (err) {
      const detail = `${pattern} (as ${jsSource}: ${String(err)})`;
      throw new RegexSyntaxError({ reason: Reason.internal, detail, pattern, position: undefined });
    }
    return new Re2Regex({ source: pattern, jsSource, groupNames: parsed.names, re });
  }

  /** Matches the whole input (the pattern is anchored); groups that did not take part are undefined. */
  exec(input: string): RegExpExecArray | null {
    return this.re.exec(input);
  }

  /** Whether the whole input matches. */
  test(input: string): boolean {
    return this.re.test(input);
  }

  /**
   * Go's `Regexp.Expand` of `template` with `match` (from {@link exec} of this regex):
   * `$1`, `${1}`, `$name`, `${name}` and `$$`. A name is the longest run of letters, digits and
   * `_`, so `$1x` means the group named `1x`; unknown and non-participating groups expand to "";
   * a `$` that starts no valid reference is copied as is.
   */
  expand(template: string, match: RegExpExecArray): string {
    let i = template.indexOf('$');
    if (i < 0) return template;
    let out = template.slice(0, i);
    while (i >= 0) {
      let rest = i + 1;
      if (template.charCodeAt(rest) === 0x24) {
        out += '$';
        rest++;
      } else {
        const ref = extractReference(template, rest);
        if (ref === undefined) {
          out += '$';
        } else {
          out += this.group(ref, match);
          rest = ref.end;
        }
      }
      i = template.indexOf('$', rest);
      out += template.slice(rest, i < 0 ? undefined : i);
    }
    return out;
  }

  private group(ref: Reference, match: RegExpExecArray): string {
    if (ref.num >= 0) return match[ref.num] ?? '';
    // Go takes the first group with this name that took part in the match (names may repeat).
    for (let k = 1; k < this.groupNames.length; k++) {
      if (this.groupNames[k] === ref.name) {
        const value = match[k];
        if (value !== undefined) return value;
      }
    }
    return '';
  }
}

interface Reference {
  name: string;
  /** The group number, or -1 when the name is not a plain decimal number. */
  num: number;
  end: number;
}

const referenceChar = /[\p{L}\p{Nd}_]/u;

/** Go's `regexp.extract`: a `name` or `{name}` reference starting at `start`. */
function extractReference(template: string, start: number): Reference | undefined {
  let i = start;
  const brace = template.charCodeAt(i) === 0x7b;
  if (brace) i++;
  const nameStart = i;
  while (i < template.length) {
    const cp = template.codePointAt(i) ?? 0;
    const ch = String.fromCodePoint(cp);
    if (!referenceChar.test(ch)) break;
    i += ch.length;
  }
  if (i === nameStart) return undefined;
  const name = template.slice(nameStart, i);
  if (brace) {
    if (template.charCodeAt(i) !== 0x7d) return undefined;
    i++;
  }
  let num = 0;
  for (let k = 0; k < name.length; k++) {
    const c = name.charCodeAt(k);
    if (c < 0x30 || c > 0x39 || num >= 1e8) {
      num = -1;
      break;
    }
    num = num * 10 + (c - 0x30);
  }
  if (name.length > 1 && name.charCodeAt(0) === 0x30) num = -1;
  return { name, num, end: i };
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

type Assertion = 'beginText' | 'endText' | 'beginLine' | 'endLine' | 'wordBoundary' | 'noWordBoundary';

type Node =
  | { kind: 'literal'; cp: number; fold: boolean }
  | { kind: 'class'; set: CharSet }
  | { kind: 'any'; newline: boolean }
  | { kind: 'assert'; assertion: Assertion }
  | { kind: 'group'; capture: number; alternatives: Node[][] }
  | { kind: 'repeat'; sub: Node; min: number; max: number; greedy: boolean; counted: boolean };

/** Parser flags, as Go's `syntax.Flags` (only those that the Perl mode can change). */
interface Flags {
  foldCase: boolean;
  dotNL: boolean;
  oneLine: boolean;
  nonGreedy: boolean;
}

interface Frame {
  /** 0 for a non-capturing group and the root. */
  capture: number;
  /** Flags in force before the group opened; restored at its `)`. */
  saved: Flags;
  alternatives: Node[][];
  concat: Node[];
}

const prefix = '^(?s:';
const suffix = ')$';
const maxRepeat = 1000;
const maxHeight = 1000;
const maxSize = Math.floor((128 << 20) / 40);
const maxRune = 0x10ffff;

/** A parser for the wrapped pattern with the rules (and error texts) of Go's `regexp/syntax`. */
class Parser {
  private readonly s: string;
  private pos = 0;
  private flags: Flags = { foldCase: false, dotNL: false, oneLine: true, nonGreedy: false };
  private readonly stack: Frame[] = [];
  private frame: Frame;
  private numCap = 0;
  private readonly names: string[] = [''];
  /** Where the last repetition operator started, when the previous token was one. */
  private lastRepeat: number | undefined;

  constructor(private readonly pattern: string) {
    this.s = prefix + pattern + suffix;
    this.frame = { capture: 0, saved: this.flags, alternatives: [], concat: [] };
  }

  parse(): { root: Node[][]; names: string[] } {
    const s = this.s;
    while (this.pos < s.length) {
      let repeatStart: number | undefined;
      const c = s.charCodeAt(this.pos);
      switch (c) {
        case 0x28: // (
          if (s.charCodeAt(this.pos + 1) === 0x3f) this.parsePerlFlags();
          else this.openGroup({ capture: ++this.numCap, name: '', next: this.pos + 1 });
          break;
        case 0x7c: // |
          this.frame.alternatives.push(this.frame.concat);
          this.frame.concat = [];
          this.pos++;
          break;
        case 0x29: // )
          this.closeGroup();
          break;
        case 0x5e: // ^
          this.push({ kind: 'assert', assertion: this.flags.oneLine ? 'beginText' : 'beginLine' });
          this.pos++;
          break;
        case 0x24: // $
          this.push({ kind: 'assert', assertion: this.flags.oneLine ? 'endText' : 'endLine' });
          this.pos++;
          break;
        case 0x2e: // .
          this.push({ kind: 'any', newline: this.flags.dotNL });
          this.pos++;
          break;
        case 0x5b: // [
          this.parseClass();
          break;
        case 0x2a: // *
        case 0x2b: // +
        case 0x3f: {
          // ?
          repeatStart = this.pos;
          this.pos++;
          const [min, max] = c === 0x2a ? [0, -1] : c === 0x2b ? [1, -1] : [0, 1];
          this.repeat({ min, max, counted: false, start: repeatStart });
          break;
        }
        case 0x7b: {
          // {
          const r = parseRepeat(s, this.pos);
          if (r === undefined) {
            // Not a well-formed {n}, {n,} or {n,m}: the brace is a literal (a{,3} matches "a{,3}").
            this.literal(0x7b);
            this.pos++;
            break;
          }
          repeatStart = this.pos;
          if (r.min < 0 || r.min > maxRepeat || r.max > maxRepeat || (r.max >= 0 && r.min > r.max)) {
            this.fail(Reason.invalidRepeatSize, [repeatStart, r.end]);
          }
          this.pos = r.end;
          this.repeat({ min: r.min, max: r.max, counted: true, start: repeatStart });
          break;
        }
        case 0x5c: // backslash
          this.parseBackslash();
          break;
        default:
          this.literal(this.nextRune());
      }
      this.lastRepeat = repeatStart;
    }
    if (this.stack.length > 0) {
      // The wrapper's own `)` closed the user's last open group, so the missing one is at the end.
      this.fail(Reason.missingParen, [this.s.length, this.s.length], this.pattern);
    }
    this.frame.alternatives.push(this.frame.concat);
    const root = this.frame.alternatives;
    if (height(root) > maxHeight) this.fail(Reason.nestingDepth, [0, 0], this.pattern);
    if (sizeOfAlternation(root) > maxSize) this.fail(Reason.large, [0, 0], this.pattern);
    return { root, names: this.names };
  }

  /** Throws for the text at `[start, end)` of the wrapped pattern, or for `detail` when given. */
  private fail(reason: string, [start, end]: [number, number], detail?: string): never {
    const position = Math.min(Math.max(start - prefix.length, 0), this.pattern.length);
    throw new RegexSyntaxError({ reason, detail: detail ?? this.s.slice(start, end), pattern: this.pattern, position });
  }

  private nextRune(): number {
    const cp = this.s.codePointAt(this.pos) ?? 0;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private push(node: Node): void {
    this.frame.concat.push(node);
  }

  private literal(cp: number): void {
    this.push({ kind: 'literal', cp, fold: this.flags.foldCase && foldOrbit(cp) !== undefined });
  }

  /** Opens a group at the current `(`; parsing continues at `next`. */
  private openGroup(group: { capture: number; name: string; next: number }): void {
    if (group.capture > 0) this.names[group.capture] = group.name;
    this.stack.push(this.frame);
    // Go limits the tree height to 1000; the frame depth bounds it here (and our recursion).
    if (this.stack.length > maxHeight) this.fail(Reason.nestingDepth, [this.pos, this.pos], this.pattern);
    this.frame = { capture: group.capture, saved: this.flags, alternatives: [], concat: [] };
    this.pos = group.next;
  }

  private closeGroup(): void {
    const parent = this.stack.pop();
    if (parent === undefined) this.fail(Reason.unexpectedParen, [this.pos, this.pos], this.pattern);
    const done = this.frame;
    done.alternatives.push(done.concat);
    this.flags = done.saved;
    this.frame = parent;
    const only = done.alternatives.length === 1 ? done.alternatives[0] : undefined;
    if (done.capture === 0 && only?.length === 1 && only[0] !== undefined) {
      // (?:x) is just x to Go's parser, so a following repeat applies to x itself.
      this.push(only[0]);
    } else {
      this.push({ kind: 'group', capture: done.capture, alternatives: done.alternatives });
    }
    this.pos++;
  }

  /** Go's `parser.repeat`: checks for a stacked operator, a missing argument and the count limits. */
  private repeat(op: { min: number; max: number; counted: boolean; start: number }): void {
    let greedy = !this.flags.nonGreedy;
    if (this.s.charCodeAt(this.pos) === 0x3f) {
      this.pos++;
      greedy = !greedy;
    }
    if (this.lastRepeat !== undefined) {
      // a** is an error, not a doubled star, and a++ (possessive) is not supported.
      this.fail(Reason.invalidRepeatOp, [this.lastRepeat, this.pos]);
    }
    const sub = this.frame.concat.pop();
    if (sub === undefined) this.fail(Reason.missingRepeatArgument, [op.start, this.pos]);
    const node: Node = { kind: 'repeat', sub, min: op.min, max: op.max, greedy, counted: op.counted };
    this.push(node);
    if (op.counted && (op.min >= 2 || op.max >= 2) && !repeatIsValid(node, maxRepeat)) {
      this.fail(Reason.invalidRepeatSize, [op.start, this.pos]);
    }
  }

  /** Go's `parsePerlFlags`: named groups, `(?:`, and flag changes like `(?i)` or `(?i-s:`. */
  private parsePerlFlags(): void {
    const s = this.s;
    const start = this.pos;
    const startsWithP = s.length - start > 4 && s[start + 2] === 'P' && s[start + 3] === '<';
    const startsWithName = s.length - start > 3 && s[start + 2] === '<';
    if (startsWithP || startsWithName) {
      const end = s.indexOf('>', start);
      if (end < 0) this.fail(Reason.invalidNamedCapture, [start, s.length], this.userRest(start));
      const name = s.slice(start + (startsWithP ? 4 : 3), end);
      if (!/^[A-Za-z0-9_]+$/.test(name)) this.fail(Reason.invalidNamedCapture, [start, end + 1]);
      this.openGroup({ capture: ++this.numCap, name, next: end + 1 });
      return;
    }
    let i = start + 2;
    const flags = { ...this.flags };
    let sign = 1;
    let sawFlag = false;
    while (i < s.length) {
      const c = String.fromCodePoint(s.codePointAt(i) ?? 0);
      i += c.length;
      if (c === 'i' || c === 'm' || c === 's' || c === 'U') {
        const on = sign > 0;
        if (c === 'i') flags.foldCase = on;
        else if (c === 'm') flags.oneLine = !on;
        else if (c === 's') flags.dotNL = on;
        else flags.nonGreedy = on;
        sawFlag = true;
        continue;
      }
      if (c === '-' && sign > 0) {
        sign = -1;
        sawFlag = false;
        continue;
      }
      if ((c === ':' || c === ')') && (sign > 0 || sawFlag)) {
        if (c === ':') this.openGroup({ capture: 0, name: '', next: i });
        else this.pos = i;
        this.flags = flags;
        return;
      }
      break;
    }
    // Lookaheads (?= (?!, atomic groups (?>, comments (?#, (?P=name) and unknown flags end here;
    // lookbehinds (?<= (?<! fail above as invalid named captures, as in Go.
    this.fail(Reason.invalidPerlOp, [start, i]);
  }

  /** The rest of the pattern from `start`, without Prometheus' closing wrapper, for messages. */
  private userRest(start: number): string {
    return this.s.slice(start, Math.max(start, this.s.length - suffix.length));
  }

  private parseBackslash(): void {
    const s = this.s;
    const start = this.pos;
    const c = s[start + 1] ?? '';
    const assertion = escapeAssertions.get(c);
    if (assertion !== undefined) {
      this.push({ kind: 'assert', assertion });
      this.pos += 2;
      return;
    }
    // \C (any byte) is not supported by RE2.
    if (c === 'C') this.fail(Reason.invalidEscape, [start, start + 2]);
    if (c === 'Q') {
      // \Q...\E: everything up to \E (or the end) is literal.
      const end = s.indexOf('\\E', start + 2);
      const literalEnd = end < 0 ? s.length : end;
      this.pos = start + 2;
      while (this.pos < literalEnd) this.literal(this.nextRune());
      this.pos = end < 0 ? s.length : end + 2;
      return;
    }
    const builder = new SetBuilder(this.flags.foldCase);
    if (c === 'p' || c === 'P') {
      this.pos = this.parseUnicodeClass(start, builder);
      this.push({ kind: 'class', set: builder.build(false) });
      return;
    }
    const perl = perlGroups.get(s.slice(start, start + 2));
    if (perl !== undefined) {
      builder.addGroup(perl);
      this.pos = start + 2;
      this.push({ kind: 'class', set: builder.build(false) });
      return;
    }
    const [cp, next] = this.parseEscape(start);
    this.pos = next;
    this.literal(cp);
  }

  /** Go's `parseEscape`: one escaped code point at `start` (the backslash); returns it and the next offset. */
  private parseEscape(start: number): [number, number] {
    const s = this.s;
    let i = start + 1;
    if (i >= s.length) this.fail(Reason.trailingBackslash, [start, start], '');
    const c = s.codePointAt(i) ?? 0;
    i += c > 0xffff ? 2 : 1;
    const isDigit = (k: number, hi: number): boolean => s.charCodeAt(k) >= 0x30 && s.charCodeAt(k) <= hi;
    if (c < 0x80 && !isAlnum(c)) return [c, i];
    if (c >= 0x31 && c <= 0x37 && !isDigit(i, 0x37)) {
      // \1 to \7 alone would be a backreference, which RE2 does not support.
      this.fail(Reason.invalidEscape, [start, i]);
    }
    if (c >= 0x30 && c <= 0x37) {
      // Octal: up to three digits in all.
      let r = c - 0x30;
      for (let n = 1; n < 3 && isDigit(i, 0x37); n++, i++) r = r * 8 + (s.charCodeAt(i) - 0x30);
      return [r, i];
    }
    if (c === 0x78) return this.parseHexEscape(start, i);
    const simple = simpleEscapes.get(c);
    if (simple !== undefined) return [simple, i];
    return this.fail(Reason.invalidEscape, [start, i]);
  }

  private parseHexEscape(start: number, afterX: number): [number, number] {
    const s = this.s;
    let i = afterX;
    if (i >= s.length) this.fail(Reason.invalidEscape, [start, i]);
    if (s[i] === '{') {
      i++;
      let r = 0;
      let digits = 0;
      for (;;) {
        if (i >= s.length) this.fail(Reason.invalidEscape, [start, i]);
        const ch = s.codePointAt(i) ?? 0;
        i += ch > 0xffff ? 2 : 1;
        if (ch === 0x7d) break;
        const v = unhex(ch);
        if (v < 0) this.fail(Reason.invalidEscape, [start, i]);
        r = r * 16 + v;
        if (r > maxRune) this.fail(Reason.invalidEscape, [start, i]);
        digits++;
      }
      if (digits === 0) this.fail(Reason.invalidEscape, [start, i]);
      return [r, i];
    }
    // Exactly two hex digits.
    const first = s.codePointAt(i) ?? 0;
    i += first > 0xffff ? 2 : 1;
    const second = s.codePointAt(i);
    if (second !== undefined) i += second > 0xffff ? 2 : 1;
    const x = unhex(first);
    const y = second === undefined ? -1 : unhex(second);
    if (x < 0 || y < 0) this.fail(Reason.invalidEscape, [start, i]);
    return [x * 16 + y, i];
  }

  /** Go's `parseUnicodeClass` at `start` (`\p` or `\P`); adds the set to `builder` and returns the next offset. */
  private parseUnicodeClass(start: number, builder: SetBuilder): number {
    const s = this.s;
    let sign = s[start + 1] === 'P' ? -1 : 1;
    let name: string;
    let next: number;
    if (s[start + 2] === '{') {
      const end = s.indexOf('}', start);
      if (end < 0) this.fail(Reason.invalidCharRange, [start, s.length], this.userRest(start));
      name = s.slice(start + 3, end);
      next = end + 1;
    } else {
      const cp = s.codePointAt(start + 2);
      next = start + 2 + (cp === undefined ? 0 : cp > 0xffff ? 2 : 1);
      name = s.slice(start + 2, next);
    }
    if (name.startsWith('^')) {
      sign = -sign;
      name = name.slice(1);
    }
    const table = unicodeTable(name);
    if (table === undefined) this.fail(Reason.invalidCharRange, [start, next]);
    builder.addTable(table, sign * table.sign);
    return next;
  }

  /** Go's `parseClass`: a bracket expression at the current position. */
  private parseClass(): void {
    const s = this.s;
    const start = this.pos;
    let i = start + 1;
    let negated = false;
    if (s[i] === '^') {
      negated = true;
      i++;
    }
    const builder = new SetBuilder(this.flags.foldCase);
    let first = true;
    while (i >= s.length || s[i] !== ']' || first) {
      first = false;
      if (i >= s.length) this.fail(Reason.missingBracket, [start, s.length], this.userRest(start));
      if (s.startsWith('[:', i)) {
        const close = s.indexOf(':]', i + 2);
        if (close >= 0) {
          const name = s.slice(i, close + 2);
          const group = posixGroups.get(name);
          if (group === undefined) this.fail(Reason.invalidCharRange, [i, close + 2]);
          builder.addGroup(group);
          i = close + 2;
          continue;
        }
      }
      if (s[i] === '\\' && (s[i + 1] === 'p' || s[i + 1] === 'P')) {
        i = this.parseUnicodeClass(i, builder);
        continue;
      }
      const perl = s[i] === '\\' ? perlGroups.get(s.slice(i, i + 2)) : undefined;
      if (perl !== undefined) {
        builder.addGroup(perl);
        i += 2;
        continue;
      }
      const rangeStart = i;
      let lo: number;
      [lo, i] = this.parseClassChar(i, start);
      let hi = lo;
      if (s[i] === '-' && i + 1 < s.length && s[i + 1] !== ']') {
        [hi, i] = this.parseClassChar(i + 1, start);
        if (hi < lo) this.fail(Reason.invalidCharRange, [rangeStart, i]);
      }
      builder.addRange(lo, hi);
    }
    this.pos = i + 1;
    this.push({ kind: 'class', set: builder.build(negated) });
  }

  private parseClassChar(i: number, classStart: number): [number, number] {
    if (i >= this.s.length) this.fail(Reason.missingBracket, [classStart, this.s.length], this.userRest(classStart));
    if (this.s[i] === '\\') return this.parseEscape(i);
    const cp = this.s.codePointAt(i) ?? 0;
    return [cp, i + (cp > 0xffff ? 2 : 1)];
  }
}

const escapeAssertions: ReadonlyMap<string, Assertion> = new Map([
  ['A', 'beginText'],
  ['z', 'endText'],
  ['b', 'wordBoundary'],
  ['B', 'noWordBoundary'],
]);

const simpleEscapes: ReadonlyMap<number, number> = new Map([
  [0x61, 0x07], // \a
  [0x66, 0x0c], // \f
  [0x6e, 0x0a], // \n
  [0x72, 0x0d], // \r
  [0x74, 0x09], // \t
  [0x76, 0x0b], // \v
]);

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function unhex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Go's `parseRepeat`: `{n}`, `{n,}` or `{n,m}` at `start`; min is -1 when a number is too big. */
function parseRepeat(s: string, start: number): { min: number; max: number; end: number } | undefined {
  let i = start + 1;
  const first = parseInt(s, i);
  if (first === undefined) return undefined;
  let min = first.value;
  let max = min;
  i = first.end;
  if (s[i] === ',') {
    i++;
    if (s[i] === '}') {
      max = -1;
    } else {
      const second = parseInt(s, i);
      if (second === undefined) return undefined;
      max = second.value;
      i = second.end;
      if (max < 0) min = -1;
    }
  }
  if (s[i] !== '}') return undefined;
  return { min, max, end: i + 1 };
}

/** Go's `parseInt`: decimal digits without a leading zero; -1 when the value reaches 1e8. */
function parseInt(s: string, start: number): { value: number; end: number } | undefined {
  const isDigit = (k: number): boolean => s.charCodeAt(k) >= 0x30 && s.charCodeAt(k) <= 0x39;
  if (!isDigit(start)) return undefined;
  if (s[start] === '0' && isDigit(start + 1)) return undefined;
  let end = start;
  let value = 0;
  while (isDigit(end)) {
    if (value >= 0) value = value >= 1e8 ? -1 : value * 10 + (s.charCodeAt(end) - 0x30);
    end++;
  }
  return { value, end };
}

/** Go's `repeatIsValid`: nested counted repeats may not multiply to more than `n` copies. */
function repeatIsValid(node: Node, n: number): boolean {
  let budget = n;
  if (node.kind === 'repeat' && node.counted) {
    let m = node.max;
    if (m === 0) return true;
    if (m < 0) m = node.min;
    if (m > budget) return false;
    if (m > 0) budget = Math.floor(budget / m);
  }
  return children(node).every((child) => repeatIsValid(child, budget));
}

function children(node: Node): Node[] {
  if (node.kind === 'repeat') return [node.sub];
  if (node.kind === 'group') return node.alternatives.flat();
  return [];
}

/** Tree height as Go counts it (a concatenation or alternation of several parts is a node). */
function height(alternatives: Node[][]): number {
  let h = 0;
  for (const concat of alternatives) {
    let c = 0;
    for (const node of concat) c = Math.max(c, nodeHeight(node));
    h = Math.max(h, concat.length > 1 ? c + 1 : c);
  }
  return alternatives.length > 1 ? h + 1 : Math.max(h, 1);
}

function nodeHeight(node: Node): number {
  if (node.kind === 'repeat') return 1 + nodeHeight(node.sub);
  if (node.kind === 'group') return (node.capture > 0 ? 1 : 0) + height(node.alternatives);
  return 1;
}

/** Go's `calcSize`: the compiled program size, which RE2 limits. */
function sizeOfAlternation(alternatives: Node[][]): number {
  let size = 0;
  for (const concat of alternatives) {
    let c = 0;
    for (const node of concat) c += sizeOf(node);
    size += Math.max(1, c);
  }
  return Math.max(1, size + alternatives.length - 1);
}

function sizeOf(node: Node): number {
  if (node.kind === 'group') return (node.capture > 0 ? 2 : 0) + sizeOfAlternation(node.alternatives);
  if (node.kind !== 'repeat') return 1;
  const sub = sizeOf(node.sub);
  if (!node.counted) return (node.max < 0 && node.min === 0 ? 2 : 1) + sub;
  if (node.max === -1) return node.min === 0 ? 2 + sub : 1 + node.min * sub;
  return Math.max(1, node.max * sub + (node.max - node.min));
}

// ---------------------------------------------------------------------------------------------
// Character sets

/**
 * A Unicode property union as JavaScript writes it (`\p{Lu}`, `\p{Script=Greek}`), with the
 * code points Go adds under `(?i)` (its FoldCategory/FoldScript tables), possibly negated.
 */
interface PropertyAtom {
  props: readonly string[];
  extra: Ranges;
  negated: boolean;
}

/** Sorted, disjoint, non-adjacent inclusive ranges: [lo0, hi0, lo1, hi1, ...]. */
type Ranges = number[];

/** A class: explicit ranges plus property atoms, optionally negated as a whole (`[^...]`). */
interface CharSet {
  ranges: Ranges;
  atoms: PropertyAtom[];
  negated: boolean;
}

/** A table for `\p{name}`: explicit ranges, or JavaScript properties, and whether it is inverted. */
type UnicodeTable = { sign: number } & ({ ranges: Ranges } | { props: readonly string[] });

interface CharGroup {
  sign: number;
  ranges: Ranges;
}

/** Accumulates the items of one class the way Go's parseClass does, folding each item under (?i). */
class SetBuilder {
  private readonly ranges: number[] = [];
  private readonly atoms: PropertyAtom[] = [];

  constructor(private readonly fold: boolean) {}

  addRange(lo: number, hi: number): void {
    const r = this.fold ? foldRanges([lo, hi]) : [lo, hi];
    this.ranges.push(...r);
  }

  /** Go's appendGroup: fold first, then negate. */
  addGroup(group: CharGroup): void {
    const r = this.fold ? foldRanges(group.ranges) : group.ranges;
    this.ranges.push(...(group.sign < 0 ? negateRanges(r) : r));
  }

  addTable(table: UnicodeTable, sign: number): void {
    if ('ranges' in table) {
      this.addGroup({ sign, ranges: table.ranges });
      return;
    }
    const extra = this.fold ? foldExtras(table.props) : [];
    this.atoms.push({ props: table.props, extra, negated: sign < 0 });
  }

  build(negated: boolean): CharSet {
    const ranges = cleanRanges(this.ranges);
    if (this.atoms.length === 0) return { ranges: negated ? negateRanges(ranges) : ranges, atoms: [], negated: false };
    return { ranges, atoms: this.atoms, negated };
  }
}

function cleanRanges(r: number[]): Ranges {
  const pairs: [number, number][] = [];
  for (let i = 0; i + 1 < r.length; i += 2) pairs.push([r[i] ?? 0, r[i + 1] ?? 0]);
  pairs.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const last = out.length - 1;
    if (last > 0 && lo <= (out[last] ?? 0) + 1) {
      if (hi > (out[last] ?? 0)) out[last] = hi;
    } else {
      out.push(lo, hi);
    }
  }
  return out;
}

function negateRanges(r: Ranges): Ranges {
  const clean = cleanRanges(r);
  const out: number[] = [];
  let nextLo = 0;
  for (let i = 0; i + 1 < clean.length; i += 2) {
    const lo = clean[i] ?? 0;
    if (nextLo <= lo - 1) out.push(nextLo, lo - 1);
    nextLo = (clean[i + 1] ?? 0) + 1;
  }
  if (nextLo <= maxRune) out.push(nextLo, maxRune);
  return out;
}

const asciiWord: Ranges = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];

/** RE2's Perl classes (perl_groups.go): ASCII only, unlike JavaScript's Unicode `\s`. */
const perlGroups: ReadonlyMap<string, CharGroup> = new Map([
  ['\\d', { sign: 1, ranges: [0x30, 0x39] }],
  ['\\D', { sign: -1, ranges: [0x30, 0x39] }],
  ['\\s', { sign: 1, ranges: [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20] }],
  ['\\S', { sign: -1, ranges: [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20] }],
  ['\\w', { sign: 1, ranges: asciiWord }],
  ['\\W', { sign: -1, ranges: asciiWord }],
]);

const posixClassRanges: Readonly<Record<string, Ranges>> = {
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  ascii: [0x00, 0x7f],
  blank: [0x09, 0x09, 0x20, 0x20],
  cntrl: [0x00, 0x1f, 0x7f, 0x7f],
  digit: [0x30, 0x39],
  graph: [0x21, 0x7e],
  lower: [0x61, 0x7a],
  print: [0x20, 0x7e],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  space: [0x09, 0x0d, 0x20, 0x20],
  upper: [0x41, 0x5a],
  word: asciiWord,
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
};

/** RE2's POSIX classes (`[:alpha:]`, `[:^alpha:]`) by their full bracket text. */
const posixGroups: ReadonlyMap<string, CharGroup> = new Map(
  Object.entries(posixClassRanges).flatMap(([name, ranges]) => [
    [`[:${name}:]`, { sign: 1, ranges }],
    [`[:^${name}:]`, { sign: -1, ranges }],
  ]),
);

/**
 * Go's unicode.Scripts (Unicode 15.0), by their Unicode long names, which JavaScript accepts as
 * `\p{Script=...}`. Short aliases such as `Grek` are not accepted by Go.
 */
const goScripts = [
  'Adlam', 'Ahom', 'Anatolian_Hieroglyphs', 'Arabic', 'Armenian', 'Avestan', 'Balinese', 'Bamum', 'Bassa_Vah',
  'Batak', 'Bengali', 'Bhaiksuki', 'Bopomofo', 'Brahmi', 'Braille', 'Buginese', 'Buhid', 'Canadian_Aboriginal',
  'Carian', 'Caucasian_Albanian', 'Chakma', 'Cham', 'Cherokee', 'Chorasmian', 'Common', 'Coptic', 'Cuneiform',
  'Cypriot', 'Cypro_Minoan', 'Cyrillic', 'Deseret', 'Devanagari', 'Dives_Akuru', 'Dogra', 'Duployan',
  'Egyptian_Hieroglyphs', 'Elbasan', 'Elymaic', 'Ethiopic', 'Georgian', 'Glagolitic', 'Gothic', 'Grantha', 'Greek',
  'Gujarati', 'Gunjala_Gondi', 'Gurmukhi', 'Han', 'Hangul', 'Hanifi_Rohingya', 'Hanunoo', 'Hatran', 'Hebrew',
  'Hiragana', 'Imperial_Aramaic', 'Inherited', 'Inscriptional_Pahlavi', 'Inscriptional_Parthian', 'Javanese',
  'Kaithi', 'Kannada', 'Katakana', 'Kawi', 'Kayah_Li', 'Kharoshthi', 'Khitan_Small_Script', 'Khmer', 'Khojki',
  'Khudawadi', 'Lao', 'Latin', 'Lepcha', 'Limbu', 'Linear_A', 'Linear_B', 'Lisu', 'Lycian', 'Lydian', 'Mahajani',
  'Makasar', 'Malayalam', 'Mandaic', 'Manichaean', 'Marchen', 'Masaram_Gondi', 'Medefaidrin', 'Meetei_Mayek',
  'Mende_Kikakui', 'Meroitic_Cursive', 'Meroitic_Hieroglyphs', 'Miao', 'Modi', 'Mongolian', 'Mro', 'Multani',
  'Myanmar', 'Nabataean', 'Nag_Mundari', 'Nandinagari', 'New_Tai_Lue', 'Newa', 'Nko', 'Nushu',
  'Nyiakeng_Puachue_Hmong', 'Ogham', 'Ol_Chiki', 'Old_Hungarian', 'Old_Italic', 'Old_North_Arabian', 'Old_Permic',
  'Old_Persian', 'Old_Sogdian', 'Old_South_Arabian', 'Old_Turkic', 'Old_Uyghur', 'Oriya', 'Osage', 'Osmanya',
  'Pahawh_Hmong', 'Palmyrene', 'Pau_Cin_Hau', 'Phags_Pa', 'Phoenician', 'Psalter_Pahlavi', 'Rejang', 'Runic',
  'Samaritan', 'Saurashtra', 'Sharada', 'Shavian', 'Siddham', 'SignWriting', 'Sinhala', 'Sogdian', 'Sora_Sompeng',
  'Soyombo', 'Sundanese', 'Syloti_Nagri', 'Syriac', 'Tagalog', 'Tagbanwa', 'Tai_Le', 'Tai_Tham', 'Tai_Viet', 'Takri',
  'Tamil', 'Tangsa', 'Tangut', 'Telugu', 'Thaana', 'Thai', 'Tibetan', 'Tifinagh', 'Tirhuta', 'Toto', 'Ugaritic', 'Vai',
  'Vithkuqi', 'Wancho', 'Warang_Citi', 'Yezidi', 'Yi', 'Zanabazar_Square',
] as const;

/** Go's unicode.Categories plus its CategoryAliases (Unicode long names), by general category. */
const goCategories: Readonly<Record<string, readonly string[]>> = {
  C: ['Other'], Cc: ['Control', 'cntrl'], Cf: ['Format'], Cn: ['Unassigned'], Co: ['Private_Use'], Cs: ['Surrogate'],
  L: ['Letter'], LC: ['Cased_Letter'], Ll: ['Lowercase_Letter'], Lm: ['Modifier_Letter'], Lo: ['Other_Letter'],
  Lt: ['Titlecase_Letter'], Lu: ['Uppercase_Letter'],
  M: ['Mark', 'Combining_Mark'], Mc: ['Spacing_Mark'], Me: ['Enclosing_Mark'], Mn: ['Nonspacing_Mark'],
  N: ['Number'], Nd: ['Decimal_Number', 'digit'], Nl: ['Letter_Number'], No: ['Other_Number'],
  P: ['Punctuation', 'punct'], Pc: ['Connector_Punctuation'], Pd: ['Dash_Punctuation'], Pe: ['Close_Punctuation'],
  Pf: ['Final_Punctuation'], Pi: ['Initial_Punctuation'], Po: ['Other_Punctuation'], Ps: ['Open_Punctuation'],
  S: ['Symbol'], Sc: ['Currency_Symbol'], Sk: ['Modifier_Symbol'], Sm: ['Math_Symbol'], So: ['Other_Symbol'],
  Z: ['Separator'], Zl: ['Line_Separator'], Zp: ['Paragraph_Separator'], Zs: ['Space_Separator'],
};

/**
 * Go's `canonicalName` (regexp/syntax, Go 1.25): names match ignoring case, `_`, `-` and spaces,
 * with the first letter upper case and the rest lower case.
 */
function canonicalName(name: string): string {
  let out = '';
  let first = true;
  for (const ch of name) {
    if (ch === '_' || ch === '-' || ch === ' ') continue;
    if (first) {
      out += ch >= 'a' && ch <= 'z' ? ch.toUpperCase() : ch;
      first = false;
    } else {
      out += ch >= 'A' && ch <= 'Z' ? ch.toLowerCase() : ch;
    }
  }
  return out;
}

let unicodeTables: ReadonlyMap<string, UnicodeTable> | undefined;

/** Go's `unicodeTable`: Any, Assigned, ASCII, categories and their aliases, and scripts. */
function unicodeTable(name: string): UnicodeTable | undefined {
  unicodeTables ??= buildUnicodeTables();
  return unicodeTables.get(canonicalName(name));
}

function buildUnicodeTables(): Map<string, UnicodeTable> {
  const tables = new Map<string, UnicodeTable>();
  for (const script of goScripts) tables.set(canonicalName(script), { sign: 1, props: [`Script=${script}`] });
  for (const [category, aliases] of Object.entries(goCategories)) {
    // Go's C ("Other") is Cc|Cf|Co|Cs; JavaScript's \p{C} also has the unassigned code points.
    const props = category === 'C' ? ['Cc', 'Cf', 'Co', 'Cs'] : [category];
    for (const alias of aliases) tables.set(canonicalName(alias), { sign: 1, props });
    tables.set(canonicalName(category), { sign: 1, props });
  }
  tables.set('Any', { sign: 1, ranges: [0, maxRune] });
  tables.set('Ascii', { sign: 1, ranges: [0, 0x7f] });
  tables.set('Assigned', { sign: -1, props: ['Cn'] });
  return tables;
}

// ---------------------------------------------------------------------------------------------
// Case folding

interface FoldTable {
  /** Every code point whose simple case folding orbit has more than one member, sorted. */
  folding: number[];
  orbits: Map<number, readonly number[]>;
}

let foldTableCache: FoldTable | undefined;

/** Go's minFold/maxFold: the code points that take part in case folding at all. */
const minFold = 0x41;
const maxFold = 0x1e943;

/**
 * Orbits of Unicode simple case folding, as Go's `unicode.SimpleFold` walks them. JavaScript's
 * `u`+`i` matching uses the same simple case folding, so candidate pairs (a code point and its
 * upper/lower case) are kept only when a case-insensitive RegExp agrees; that rejects pairs such
 * as ı/I that only the full (Turkic) mappings join. Built once, on the first `(?i)`.
 */
function foldTable(): FoldTable {
  if (foldTableCache !== undefined) return foldTableCache;
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let root = x;
    while (parent.get(root) !== undefined && parent.get(root) !== root) root = parent.get(root) ?? root;
    parent.set(x, root);
    return root;
  };
  for (let cp = minFold; cp <= maxFold; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    let caseless: RegExp | undefined;
    for (const other of [ch.toLowerCase(), ch.toUpperCase()]) {
      const ocp = other.codePointAt(0) ?? cp;
      if (other === ch || String.fromCodePoint(ocp) !== other) continue;
      caseless ??= new RegExp(`^\\u{${cp.toString(16)}}$`, 'iu');
      if (!caseless.test(other)) continue;
      if (!parent.has(cp)) parent.set(cp, cp);
      if (!parent.has(ocp)) parent.set(ocp, ocp);
      parent.set(find(cp), find(ocp));
    }
  }
  const members = new Map<number, number[]>();
  for (const cp of parent.keys()) {
    const root = find(cp);
    const list = members.get(root) ?? [];
    list.push(cp);
    members.set(root, list);
  }
  const orbits = new Map<number, readonly number[]>();
  for (const list of members.values()) {
    list.sort((a, b) => a - b);
    for (const cp of list) orbits.set(cp, list);
  }
  foldTableCache = { folding: [...orbits.keys()].sort((a, b) => a - b), orbits };
  return foldTableCache;
}

function foldOrbit(cp: number): readonly number[] | undefined {
  if (cp < minFold || cp > maxFold) return undefined;
  return foldTable().orbits.get(cp);
}

/** Go's appendFoldedRange over a set of ranges: adds every case-fold equivalent of each member. */
function foldRanges(r: Ranges): Ranges {
  const { folding, orbits } = foldTable();
  const out = [...r];
  for (let i = 0; i + 1 < r.length; i += 2) {
    const lo = r[i] ?? 0;
    const hi = r[i + 1] ?? 0;
    if (hi < minFold || lo > maxFold) continue;
    for (let k = lowerBound(folding, lo); k < folding.length && (folding[k] ?? 0) <= hi; k++) {
      for (const m of orbits.get(folding[k] ?? 0) ?? []) out.push(m, m);
    }
  }
  return cleanRanges(out);
}

function lowerBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] ?? 0) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const foldExtrasCache = new Map<string, Ranges>();

/** Go's FoldCategory/FoldScript: code points outside the properties that fold to one inside. */
function foldExtras(props: readonly string[]): Ranges {
  const key = props.join(',');
  const cached = foldExtrasCache.get(key);
  if (cached !== undefined) return cached;
  const member = new RegExp(`^[${props.map((p) => `\\p{${p}}`).join('')}]$`, 'u');
  const { folding, orbits } = foldTable();
  const extra: number[] = [];
  for (const cp of folding) {
    if (member.test(String.fromCodePoint(cp))) continue;
    const orbit = orbits.get(cp) ?? [];
    if (orbit.some((m) => member.test(String.fromCodePoint(m)))) extra.push(cp, cp);
  }
  const ranges = cleanRanges(extra);
  foldExtrasCache.set(key, ranges);
  return ranges;
}

// ---------------------------------------------------------------------------------------------
// Emission

/** Writes the syntax tree as a JavaScript pattern for the `u` flag. */
class Emitter {
  emitAlternation(alternatives: Node[][]): string {
    return alternatives.map((concat) => concat.map((n) => this.emit(n)).join('')).join('|');
  }

  private emit(node: Node): string {
    switch (node.kind) {
      case 'literal':
        return node.fold ? classSource(foldRanges([node.cp, node.cp]), false) : escapeCodePoint(node.cp);
      case 'class':
        return setSource(node.set);
      case 'any':
        // JavaScript's `.` also stops at \r, U+2028 and U+2029; Go's stops only at \n.
        return node.newline ? '[^]' : '[^\\n]';
      case 'assert':
        return assertionSource[node.assertion];
      case 'group':
        return `${node.capture > 0 ? '(' : '(?:'}${this.emitAlternation(node.alternatives)})`;
      case 'repeat': {
        const sub = this.emit(node.sub);
        // JavaScript cannot quantify an assertion or a quantifier directly (Go accepts ^* and (?:a*)*).
        const atom = isQuantifiable(node.sub) ? sub : `(?:${sub})`;
        return `${atom}${quantifier(node)}${node.greedy ? '' : '?'}`;
      }
    }
  }
}

const assertionSource: Readonly<Record<Assertion, string>> = {
  beginText: '^',
  endText: '$',
  beginLine: '(?<![^\\n])',
  endLine: '(?![^\\n])',
  // Without the `i` flag, JavaScript's \b uses the ASCII word characters, as RE2's does.
  wordBoundary: '\\b',
  noWordBoundary: '\\B',
};

function isQuantifiable(node: Node): boolean {
  return node.kind === 'literal' || node.kind === 'class' || node.kind === 'any' || node.kind === 'group';
}

function quantifier(node: Extract<Node, { kind: 'repeat' }>): string {
  if (!node.counted) return node.max === 1 ? '?' : node.min === 0 ? '*' : '+';
  if (node.max === node.min) return `{${node.min}}`;
  return node.max < 0 ? `{${node.min},}` : `{${node.min},${node.max}}`;
}

function escapeCodePoint(cp: number): string {
  return isAlnum(cp) ? String.fromCodePoint(cp) : `\\u{${cp.toString(16)}}`;
}

function rangesSource(r: Ranges): string {
  let out = '';
  for (let i = 0; i + 1 < r.length; i += 2) {
    const lo = r[i] ?? 0;
    const hi = r[i + 1] ?? 0;
    out += lo === hi ? escapeCodePoint(lo) : `${escapeCodePoint(lo)}-${escapeCodePoint(hi)}`;
  }
  return out;
}

function classSource(r: Ranges, negated: boolean): string {
  if (!negated && r.length === 2 && r[0] === r[1]) return escapeCodePoint(r[0] ?? 0);
  return `[${negated ? '^' : ''}${rangesSource(r)}]`;
}

/**
 * A class with Unicode properties. Items that fit one JavaScript class are merged into it; a
 * negated property with fold extras (Go's `(?i)\PL`) is its own `[^...]`. Each part matches one
 * code point, so a union is an alternation and a negated union is a lookahead before `[^]`.
 */
function setSource(set: CharSet): string {
  if (set.atoms.length === 0) return classSource(set.ranges, set.negated);
  let merged = rangesSource(set.ranges);
  const separate: string[] = [];
  for (const atom of set.atoms) {
    const props = atom.props.map((p) => `\\p{${p}}`).join('');
    if (!atom.negated) {
      merged += props + rangesSource(atom.extra);
    } else if (atom.extra.length === 0 && atom.props.length === 1) {
      merged += `\\P{${atom.props[0] ?? ''}}`;
    } else {
      separate.push(`[^${props}${rangesSource(atom.extra)}]`);
    }
  }
  const parts = merged === '' ? separate : [`[${merged}]`, ...separate];
  if (!set.negated) return parts.length === 1 ? (parts[0] ?? '[]') : `(?:${parts.join('|')})`;
  if (separate.length === 0) return `[^${merged}]`;
  return `(?:(?!${parts.join('|')})[^])`;
}
