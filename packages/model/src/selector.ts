/**
 * Kubernetes label and field selectors: parsed as apimachinery parses them, and matched locally. Label selectors
 * follow `labels.Parse` (pkg/labels/selector.go: its lexer, its parser with the `Values` and `KeyAndOperator`
 * contexts, and `NewRequirement`'s checks); field selectors follow `fields.ParseSelector` (pkg/fields/selector.go:
 * terms split on unescaped commas, `\` escapes in values). An input those reject throws a {@link SelectorError},
 * which says what is wrong both as a sentence and as a {@link SelectorProblem}, so that a caller such as the config
 * loader can word the problem its own way.
 */

/** A parsed label selector: every requirement must hold. The empty selector matches everything. */
export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
}

/** One requirement of a label selector. */
export type LabelRequirement =
  | { readonly key: string; readonly operator: 'exists' | 'notExists' }
  | { readonly key: string; readonly operator: 'in' | 'notIn'; readonly values: readonly string[] }
  | { readonly key: string; readonly operator: 'gt' | 'lt'; readonly value: bigint };

/** A parsed field selector: every term must hold. The empty selector matches everything. */
export interface FieldSelector {
  readonly terms: readonly FieldTerm[];
}

/** One term of a field selector: the field equals (or does not equal) the value. */
export interface FieldTerm {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

/**
 * What the label-selector parser was looking for when it met a token it did not expect: a first requirement, a key
 * after `,`, a key after `!`, the `,` or end after a requirement, an operator after a key, the `(` after `in` or
 * `notin`, the value after `=`, `==`, `!=`, `>` or `<`, or, inside `( )`, the first item, the `,` or `)` after a
 * value, and the item after a `,`.
 */
export type LabelSelectorExpectation =
  | 'requirement'
  | 'keyAfterComma'
  | 'key'
  | 'separator'
  | 'operator'
  | 'openParen'
  | 'value'
  | 'setStart'
  | 'setSeparator'
  | 'setItem';

/** Why a selector was rejected, as data: the first problem found, in apimachinery's order of checks. */
export type SelectorProblem =
  | {
      readonly kind: 'unexpectedToken';
      readonly expected: LabelSelectorExpectation;
      /** The token met, or undefined at the end of the selector. */
      readonly found: string | undefined;
      /** The key of the requirement being read, once known. */
      readonly key?: string;
      /** The operator token of the requirement being read, once known: `!` for `!key`, else `=`, `in` and so on. */
      readonly operator?: string;
    }
  /** A key that is not a qualified name: more than one `/`, a prefix that is no DNS subdomain, or a bad name. */
  | { readonly kind: 'invalidKey'; readonly key: string; readonly rule: 'oneSlash' | 'prefix' | 'name' }
  | { readonly kind: 'invalidValue'; readonly value: string }
  | { readonly kind: 'notAnInteger'; readonly operator: '>' | '<'; readonly value: string }
  /** A field-selector term with no `=`, `==` or `!=`. */
  | { readonly kind: 'unreadableTerm'; readonly term: string }
  /** A `\` in a field-selector value that escapes neither `\`, `,` nor `=`. */
  | { readonly kind: 'badEscape'; readonly term: string; readonly sequence: string }
  | { readonly kind: 'unescapedValueChar'; readonly term: string; readonly char: ',' | '=' }
  /** A field the evaluator cannot select on for this kind of object (the API server's "field label not supported"). */
  | {
      readonly kind: 'unsupportedField';
      readonly field: string;
      readonly objectKind: string;
      readonly supported: readonly string[];
    };

/**
 * A label or field selector that Kubernetes would reject: bad syntax, an invalid key or value, or a field the
 * selector cannot be evaluated on. The message names the selector and what is wrong with it.
 */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';
  readonly code = 'PROMFLEET_K8S_BAD_SELECTOR';
  /** What is wrong, in apimachinery's words. */
  readonly reason: string;

  constructor(
    readonly selector: string,
    readonly problem: SelectorProblem,
  ) {
    const reason = describeProblem(problem);
    super(`invalid selector ${JSON.stringify(selector)}: ${reason}`);
    this.reason = reason;
  }
}

const expectations: Readonly<Record<LabelSelectorExpectation, string>> = {
  requirement: "!, identifier, or 'end of string'",
  keyAfterComma: "identifier after ','",
  key: 'identifier',
  separator: "',' or 'end of string'",
  operator: 'in, notin, =, ==, !=, gt, lt',
  openParen: "'('",
  value: 'identifier',
  setStart: "',', ')' or identifier",
  setSeparator: "',' or ')'",
  setItem: "',', or identifier",
};

const alphabet = "1-63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";

const keyRules: Readonly<Record<'oneSlash' | 'prefix' | 'name', string>> = {
  oneSlash: "a qualified name may contain at most one '/'",
  prefix: 'the prefix must be a DNS subdomain',
  name: `the name must be ${alphabet}`,
};

/** The parser's messages, after apimachinery's (which names the end of input as `''`; here `'end of string'`). */
function describeProblem(problem: SelectorProblem): string {
  switch (problem.kind) {
    case 'unexpectedToken':
      return `found '${problem.found ?? 'end of string'}', expected: ${expectations[problem.expected]}`;
    case 'invalidKey':
      return `invalid label key ${JSON.stringify(problem.key)}: ${keyRules[problem.rule]}`;
    case 'invalidValue':
      return `invalid label value ${JSON.stringify(problem.value)}: it must be empty or ${alphabet}`;
    case 'notAnInteger':
      return `for 'Gt', 'Lt' operators, the value must be an integer, got ${JSON.stringify(problem.value)}`;
    case 'unreadableTerm':
      return `can't understand '${problem.term}'`;
    case 'badEscape':
      return `invalid escape sequence '${problem.sequence}'`;
    case 'unescapedValueChar':
      return `invalid selector: unescaped '${problem.char}' in a value`;
    case 'unsupportedField': {
      const reason = `field label not supported for ${problem.objectKind}: ${JSON.stringify(problem.field)}`;
      return `${reason} (supported: ${problem.supported.join(', ')})`;
    }
  }
}

type Token =
  | { readonly kind: 'id'; readonly text: string }
  | { readonly kind: 'in' | 'notin' | '!' | '=' | '==' | '!=' | '>' | '<' | '(' | ')' | ',' | 'end'; readonly text: string };

/** The operator tokens, longest first, so that `!=` and `==` win over `!` and `=` as in the Go lexer. */
const symbols = ['!=', '==', '=', '!', '(', ')', ',', '>', '<'] as const;

function isWhitespace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function isSymbolChar(c: string): boolean {
  return '!=(),<>'.includes(c);
}

/** apimachinery's label-selector lexer: identifiers run until whitespace or an operator character. */
function lex(selector: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < selector.length) {
    const c = selector.charAt(i);
    if (isWhitespace(c)) {
      i++;
      continue;
    }
    const symbol = symbols.find((s) => selector.startsWith(s, i));
    if (symbol !== undefined) {
      tokens.push({ kind: symbol, text: symbol });
      i += symbol.length;
      continue;
    }
    let j = i;
    while (j < selector.length && !isWhitespace(selector.charAt(j)) && !isSymbolChar(selector.charAt(j))) j++;
    const text = selector.slice(i, j);
    tokens.push(text === 'in' || text === 'notin' ? { kind: text, text } : { kind: 'id', text });
    i = j;
  }
  return tokens;
}

/** The requirement being read, as far as it is known, for the problems found inside it. */
interface RequirementContext {
  readonly key?: string;
  readonly operator?: string;
}

/**
 * A cursor over the tokens. In value mode the keywords `in` and `notin` read as identifiers, as in the Go parser's
 * `Values` mode, which it uses everywhere but for the operator; so `in=x` selects on a label named `in`.
 */
class TokenStream {
  private pos = 0;

  constructor(
    private readonly tokens: readonly Token[],
    readonly selector: string,
  ) {}

  peek(mode: 'value' | 'operator' = 'value'): Token {
    const token = this.tokens[this.pos] ?? { kind: 'end', text: 'end of string' };
    return mode === 'value' && (token.kind === 'in' || token.kind === 'notin') ? { kind: 'id', text: token.text } : token;
  }

  next(mode: 'value' | 'operator' = 'value'): Token {
    const token = this.peek(mode);
    this.pos++;
    return token;
  }

  unexpected(expected: LabelSelectorExpectation, token: Token, context: RequirementContext = {}): SelectorError {
    const found = token.kind === 'end' ? undefined : token.text;
    return this.fail({ kind: 'unexpectedToken', expected, found, ...context });
  }

  fail(problem: SelectorProblem): SelectorError {
    return new SelectorError(this.selector, problem);
  }
}

/**
 * Parses a label selector such as `app=web,tier!=db,env in (prod,stage),!legacy,release`: comma-separated
 * requirements `k=v`, `k==v`, `k!=v`, `k in (...)`, `k notin (...)`, `k`, `!k`, `k>n` and `k<n`. Keys must be
 * qualified names and values valid label values, as Kubernetes requires.
 *
 * @throws SelectorError for a selector `labels.Parse` rejects.
 */
export function parseLabelSelector(selector: string): LabelSelector {
  const stream = new TokenStream(lex(selector), selector);
  const requirements: LabelRequirement[] = [];
  if (stream.peek().kind === 'end') return { requirements };
  for (;;) {
    const first = stream.peek();
    if (first.kind !== 'id' && first.kind !== '!') throw stream.unexpected('requirement', first);
    requirements.push(parseRequirement(stream));
    const after = stream.next();
    if (after.kind === 'end') return { requirements };
    if (after.kind !== ',') throw stream.unexpected('separator', after);
    const following = stream.peek();
    if (following.kind !== 'id' && following.kind !== '!') throw stream.unexpected('keyAfterComma', following);
  }
}

function parseRequirement(stream: TokenStream): LabelRequirement {
  let token = stream.next();
  const negated = token.kind === '!';
  if (negated) token = stream.next();
  if (token.kind !== 'id') throw stream.unexpected('key', token);
  const key = checkKey(stream, token.text);
  const following = stream.peek();
  const complete = following.kind === 'end' || following.kind === ',';
  if (negated) {
    // `!k` is complete by itself: Go returns it, and its caller then wants `,` or the end.
    if (!complete) throw stream.unexpected('separator', following, { key, operator: '!' });
    return { key, operator: 'notExists' };
  }
  if (complete) return { key, operator: 'exists' };

  const operator = stream.next('operator');
  const context = { key, operator: operator.text };
  if (operator.kind === 'in' || operator.kind === 'notin') {
    const values = parseValueSet(stream, context).map((v) => checkValue(stream, v));
    return { key, operator: operator.kind === 'in' ? 'in' : 'notIn', values };
  }
  if (operator.kind === '=' || operator.kind === '==' || operator.kind === '!=') {
    return { key, operator: operator.kind === '!=' ? 'notIn' : 'in', values: [checkValue(stream, parseExactValue(stream, context))] };
  }
  if (operator.kind === '>' || operator.kind === '<') {
    // NewRequirement checks that the value is an integer before it checks it as a label value.
    const text = parseExactValue(stream, context);
    const value = parseInt64(text);
    if (value === undefined) throw stream.fail({ kind: 'notAnInteger', operator: operator.kind, value: text });
    checkValue(stream, text);
    return { key, operator: operator.kind === '>' ? 'gt' : 'lt', value };
  }
  throw stream.unexpected('operator', operator, { key });
}

/** The value after `=`, `==`, `!=`, `>` or `<`; nothing before `,` or the end means the empty value. */
function parseExactValue(stream: TokenStream, context: RequirementContext): string {
  const ahead = stream.peek();
  if (ahead.kind === 'end' || ahead.kind === ',') return '';
  const token = stream.next();
  if (token.kind !== 'id') throw stream.unexpected('value', token, context);
  return token.text;
}

/**
 * `(a, b)`, with apimachinery's quirks: `()` is the set holding the empty string, and `(,a)`, `(a,)` and `(a,,b)`
 * each add the empty string. The values come back sorted, as `NewRequirement` receives them.
 */
function parseValueSet(stream: TokenStream, context: RequirementContext): string[] {
  const open = stream.next();
  if (open.kind !== '(') throw stream.unexpected('openParen', open, context);
  const first = stream.peek();
  if (first.kind === ')') {
    stream.next();
    return [''];
  }
  if (first.kind !== 'id' && first.kind !== ',') throw stream.unexpected('setStart', first, context);
  const values = new Set<string>();
  for (;;) {
    const token = stream.next();
    if (token.kind === 'id') {
      values.add(token.text);
      const ahead = stream.peek();
      if (ahead.kind === ')') break;
      if (ahead.kind !== ',') throw stream.unexpected('setSeparator', ahead, context);
      continue;
    }
    if (token.kind !== ',') throw stream.unexpected('setItem', token, context);
    if (values.size === 0) values.add('');
    const ahead = stream.peek();
    if (ahead.kind === ')') {
      values.add('');
      break;
    }
    if (ahead.kind === ',') {
      stream.next();
      values.add('');
    }
  }
  stream.next();
  return [...values].sort();
}

const labelNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** apimachinery's `IsQualifiedName`: `[prefix/]name`, the prefix a DNS subdomain, the name at most 63 characters. */
function checkKey(stream: TokenStream, key: string): string {
  const parts = key.split('/');
  if (parts.length > 2) throw stream.fail({ kind: 'invalidKey', key, rule: 'oneSlash' });
  const [prefix, name] = parts.length === 2 ? parts : [undefined, key];
  if (prefix !== undefined && (prefix === '' || prefix.length > 253 || !dnsSubdomain.test(prefix))) {
    throw stream.fail({ kind: 'invalidKey', key, rule: 'prefix' });
  }
  if (name === undefined || name === '' || name.length > 63 || !labelNamePart.test(name)) {
    throw stream.fail({ kind: 'invalidKey', key, rule: 'name' });
  }
  return key;
}

/** apimachinery's `IsValidLabelValue`: empty, or at most 63 characters of the label-name alphabet. */
function checkValue(stream: TokenStream, value: string): string {
  if (value.length > 63 || !labelValue.test(value)) throw stream.fail({ kind: 'invalidValue', value });
  return value;
}

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/** Go's `strconv.ParseInt(s, 10, 64)`: an optional sign and decimal digits within int64. */
function parseInt64(text: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const value = BigInt(text);
  return value < int64Min || value > int64Max ? undefined : value;
}

/** Whether `labels` satisfy every requirement of `selector`, as apimachinery's `Requirement.Matches`. */
export function matchesLabelSelector(selector: LabelSelector, labels: ReadonlyMap<string, string>): boolean {
  return selector.requirements.every((req) => {
    const value = labels.get(req.key);
    switch (req.operator) {
      case 'exists':
        return value !== undefined;
      case 'notExists':
        return value === undefined;
      case 'in':
        return value !== undefined && req.values.includes(value);
      case 'notIn':
        return value === undefined || !req.values.includes(value);
      case 'gt':
      case 'lt': {
        const n = value === undefined ? undefined : parseInt64(value);
        if (n === undefined) return false;
        return req.operator === 'gt' ? n > req.value : n < req.value;
      }
    }
  });
}

/**
 * Parses a field selector such as `metadata.name=web,status.phase!=Failed`: comma-separated terms `f=v`, `f==v` or
 * `f!=v`. In values, `\,`, `\=` and `\\` stand for `,`, `=` and `\`; any other escape, or an unescaped `,` or `=`,
 * is an error. Whitespace is not trimmed, and the field name is not checked, as in Kubernetes.
 *
 * @throws SelectorError for a selector `fields.ParseSelector` rejects.
 */
export function parseFieldSelector(selector: string): FieldSelector {
  const terms: FieldTerm[] = [];
  for (const term of splitTerms(selector)) {
    if (term === '') continue;
    const split = splitTerm(term);
    if (split === undefined) throw new SelectorError(selector, { kind: 'unreadableTerm', term });
    const value = unescapeValue(split.value);
    if (typeof value !== 'string') throw new SelectorError(selector, { ...value, term });
    terms.push({ field: split.field, operator: split.operator, value });
  }
  return { terms };
}

/** apimachinery's `splitTerms`: splits at the commas that no `\` escapes. */
function splitTerms(selector: string): string[] {
  if (selector === '') return [];
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector.charAt(i);
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

/** Splits at the first position where `!=`, `==` or `=` starts, as apimachinery's `splitTerm`. */
function splitTerm(term: string): { field: string; operator: '=' | '!='; value: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ['!=', '==', '='] as const) {
      if (term.startsWith(op, i)) return { field: term.slice(0, i), operator: op === '!=' ? '!=' : '=', value: term.slice(i + op.length) };
    }
  }
  return undefined;
}

type EscapeProblem = { kind: 'badEscape'; sequence: string } | { kind: 'unescapedValueChar'; char: ',' | '=' };

/** apimachinery's `UnescapeValue`: the value, or what is wrong with its escapes. */
function unescapeValue(value: string): string | EscapeProblem {
  let out = '';
  let escaped = false;
  for (const c of value) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=') return { kind: 'badEscape', sequence: `\\${c}` };
      out += c;
      escaped = false;
    } else if (c === '\\') escaped = true;
    else if (c === ',' || c === '=') return { kind: 'unescapedValueChar', char: c };
    else out += c;
  }
  return escaped ? { kind: 'badEscape', sequence: '\\' } : out;
}

/** Whether `fields` satisfy every term of `selector`; a field that is absent reads as `''`, as in Kubernetes. */
export function matchesFieldSelector(selector: FieldSelector, fields: ReadonlyMap<string, string>): boolean {
  return selector.terms.every((term) => ((fields.get(term.field) ?? '') === term.value) === (term.operator === '='));
}
