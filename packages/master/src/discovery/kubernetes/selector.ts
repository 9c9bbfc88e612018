/**
 * Kubernetes label and field selectors, evaluated locally. The offline `promfleet targets` tool has no API server to
 * filter for it, so it applies a `kubernetes_sd_config`'s `selectors` itself. Parsing follows apimachinery's
 * `labels.Parse` (lexer, parser and `NewRequirement` checks) and `fields.ParseSelector` (terms split on unescaped
 * commas, `\` escapes); an input those reject throws a {@link SelectorError}.
 */
import { SelectorError, type KubernetesKind } from './errors.js';
import type { SlimObject } from './objects.js';

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

  error(reason: string): SelectorError {
    return new SelectorError(this.selector, reason);
  }
}

/**
 * Parses a label selector such as `app=web,tier!=db,env in (prod,stage),!legacy,release`: comma-separated
 * requirements `k=v`, `k==v`, `k!=v`, `k in (...)`, `k notin (...)`, `k`, `!k`, `k>n` and `k<n`. Keys must be
 * qualified names and values valid label values, as Kubernetes requires.
 */
export function parseLabelSelector(selector: string): LabelSelector {
  const stream = new TokenStream(lex(selector), selector);
  const requirements: LabelRequirement[] = [];
  if (stream.peek().kind === 'end') return { requirements };
  for (;;) {
    const first = stream.peek();
    if (first.kind !== 'id' && first.kind !== '!') throw stream.error(`found '${first.text}', expected: !, identifier, or 'end of string'`);
    requirements.push(parseRequirement(stream));
    const after = stream.next();
    if (after.kind === 'end') return { requirements };
    if (after.kind !== ',') throw stream.error(`found '${after.text}', expected: ',' or 'end of string'`);
    const following = stream.peek();
    if (following.kind !== 'id' && following.kind !== '!') throw stream.error(`found '${following.text}', expected: identifier after ','`);
  }
}

function parseRequirement(stream: TokenStream): LabelRequirement {
  let token = stream.next();
  const negated = token.kind === '!';
  if (negated) token = stream.next();
  if (token.kind !== 'id') throw stream.error(`found '${token.text}', expected: identifier`);
  const key = checkKey(stream, token.text);
  // `!k` is complete by itself; whatever follows it must be `,` or the end, which the caller checks.
  if (negated) return { key, operator: 'notExists' };
  const following = stream.peek();
  if (following.kind === 'end' || following.kind === ',') return { key, operator: 'exists' };

  const operator = stream.next('operator');
  if (operator.kind === 'in' || operator.kind === 'notin') {
    const values = parseValueSet(stream).map((v) => checkValue(stream, v));
    return { key, operator: operator.kind === 'in' ? 'in' : 'notIn', values };
  }
  if (operator.kind === '=' || operator.kind === '==' || operator.kind === '!=') {
    return { key, operator: operator.kind === '!=' ? 'notIn' : 'in', values: [checkValue(stream, parseExactValue(stream))] };
  }
  if (operator.kind === '>' || operator.kind === '<') {
    const text = checkValue(stream, parseExactValue(stream));
    const value = parseInt64(text);
    if (value === undefined) throw stream.error(`for 'Gt', 'Lt' operators, the value must be an integer, got ${JSON.stringify(text)}`);
    return { key, operator: operator.kind === '>' ? 'gt' : 'lt', value };
  }
  throw stream.error(`found '${operator.text}', expected: in, notin, =, ==, !=, gt, lt`);
}

/** The value after `=`, `==`, `!=`, `>` or `<`; nothing before `,` or the end means the empty value. */
function parseExactValue(stream: TokenStream): string {
  const ahead = stream.peek();
  if (ahead.kind === 'end' || ahead.kind === ',') return '';
  const token = stream.next();
  if (token.kind !== 'id') throw stream.error(`found '${token.text}', expected: identifier`);
  return token.text;
}

/**
 * `(a, b)`, with apimachinery's quirks: `()` is the set holding the empty string, and `(,a)`, `(a,)` and `(a,,b)`
 * each add the empty string.
 */
function parseValueSet(stream: TokenStream): string[] {
  const open = stream.next();
  if (open.kind !== '(') throw stream.error(`found '${open.text}', expected: '('`);
  const first = stream.peek();
  if (first.kind === ')') {
    stream.next();
    return [''];
  }
  if (first.kind !== 'id' && first.kind !== ',') throw stream.error(`found '${first.text}', expected: ',', ')' or identifier`);
  const values = new Set<string>();
  for (;;) {
    const token = stream.next();
    if (token.kind === 'id') {
      values.add(token.text);
      const ahead = stream.peek();
      if (ahead.kind === ')') break;
      if (ahead.kind !== ',') throw stream.error(`found '${ahead.text}', expected: ',' or ')'`);
      continue;
    }
    if (token.kind !== ',') throw stream.error(`found '${token.text}', expected: ',', or identifier`);
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

const alphabet = "1-63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";
const labelNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** apimachinery's `IsQualifiedName`: `[prefix/]name`, the prefix a DNS subdomain, the name at most 63 characters. */
function checkKey(stream: TokenStream, key: string): string {
  const parts = key.split('/');
  if (parts.length > 2) throw stream.error(`invalid label key ${JSON.stringify(key)}: a qualified name may contain at most one '/'`);
  const [prefix, name] = parts.length === 2 ? parts : [undefined, key];
  if (prefix !== undefined && (prefix === '' || prefix.length > 253 || !dnsSubdomain.test(prefix))) {
    throw stream.error(`invalid label key ${JSON.stringify(key)}: the prefix must be a DNS subdomain`);
  }
  if (name === undefined || name === '' || name.length > 63 || !labelNamePart.test(name)) {
    throw stream.error(`invalid label key ${JSON.stringify(key)}: the name must be ${alphabet}`);
  }
  return key;
}

/** apimachinery's `IsValidLabelValue`: empty, or at most 63 characters of the label-name alphabet. */
function checkValue(stream: TokenStream, value: string): string {
  if (value.length > 63 || !labelValue.test(value)) {
    throw stream.error(`invalid label value ${JSON.stringify(value)}: it must be empty or ${alphabet}`);
  }
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
 * is an error. Whitespace is not trimmed, as in Kubernetes.
 */
export function parseFieldSelector(selector: string): FieldSelector {
  const terms: FieldTerm[] = [];
  for (const part of splitTerms(selector)) {
    if (part === '') continue;
    const split = splitTerm(part);
    if (split === undefined) throw new SelectorError(selector, `can't understand '${part}'`);
    terms.push({ field: split.field, operator: split.operator, value: unescapeValue(selector, split.value) });
  }
  return { terms };
}

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

function unescapeValue(selector: string, value: string): string {
  let out = '';
  let escaped = false;
  for (const c of value) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=') throw new SelectorError(selector, `invalid escape sequence '\\${c}'`);
      out += c;
      escaped = false;
    } else if (c === '\\') escaped = true;
    else if (c === ',' || c === '=') throw new SelectorError(selector, `invalid selector: unescaped '${c}' in a value`);
    else out += c;
  }
  if (escaped) throw new SelectorError(selector, "invalid escape sequence '\\'");
  return out;
}

/**
 * The fields a field selector may name for each kind, with their values. A subset of what the API server supports:
 * the ones slim objects keep.
 */
export function objectFields(object: SlimObject): ReadonlyMap<string, string> {
  const fields = new Map<string, string>([['metadata.name', object.meta.name]]);
  switch (object.kind) {
    case 'Node':
    case 'Namespace':
      return fields;
    case 'Pod':
      fields.set('metadata.namespace', object.meta.namespace);
      fields.set('spec.nodeName', object.nodeName);
      fields.set('status.phase', object.phase);
      fields.set('status.podIP', object.podIP);
      return fields;
    case 'Service':
    case 'Endpoints':
    case 'EndpointSlice':
    case 'Ingress':
      fields.set('metadata.namespace', object.meta.namespace);
      return fields;
  }
}

const supportedFields: Readonly<Record<KubernetesKind, readonly string[]>> = {
  Pod: ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase', 'status.podIP'],
  Service: ['metadata.name', 'metadata.namespace'],
  Endpoints: ['metadata.name', 'metadata.namespace'],
  EndpointSlice: ['metadata.name', 'metadata.namespace'],
  Ingress: ['metadata.name', 'metadata.namespace'],
  Node: ['metadata.name'],
  Namespace: ['metadata.name'],
};

/** Whether `fields` satisfy every term of `selector`; a field that is absent reads as `''`, as in Kubernetes. */
export function matchesFieldSelector(selector: FieldSelector, fields: ReadonlyMap<string, string>): boolean {
  return selector.terms.every((term) => ((fields.get(term.field) ?? '') === term.value) === (term.operator === '='));
}

/** A role's selectors as written in a `kubernetes_sd_config` `selectors` entry. */
export interface ObjectFilterOptions {
  readonly kind: KubernetesKind;
  readonly label?: string;
  readonly field?: string;
}

/**
 * Compiles a label and a field selector for one kind into a predicate over slim objects. Throws a
 * {@link SelectorError} up front for bad syntax, and for a field the offline matcher cannot evaluate on that kind
 * (the API server would answer "field label not supported").
 */
export function compileObjectFilter(options: ObjectFilterOptions): (object: SlimObject) => boolean {
  const labels = parseLabelSelector(options.label ?? '');
  const fieldText = options.field ?? '';
  const fields = parseFieldSelector(fieldText);
  const supported = supportedFields[options.kind];
  for (const term of fields.terms) {
    if (!supported.includes(term.field)) {
      const reason = `field label not supported for ${options.kind}: ${JSON.stringify(term.field)}`;
      throw new SelectorError(fieldText, `${reason} (supported: ${supported.join(', ')})`);
    }
  }
  return (object) => matchesLabelSelector(labels, object.meta.labels) && matchesFieldSelector(fields, objectFields(object));
}
