/**
 * Label and field selectors with the grammar and semantics of `k8s.io/apimachinery/pkg/labels/selector.go` and
 * `pkg/fields/selector.go`. The fake has its own parser, independent of promfleet's, so a selector bug in the
 * product cannot hide behind the same bug in its test server.
 */
import { objectKey, type KubeObject } from './objects.js';
import type { ResourceDescriptor } from './resources.js';
import { badRequest } from './status.js';

type Operator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | '>' | '<';

interface Requirement {
  readonly key: string;
  readonly operator: Operator;
  readonly values: ReadonlySet<string>;
}

/** A parsed label selector: the requirements are ANDed; no requirement selects everything. */
export interface LabelSelector {
  readonly empty: boolean;
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

type Token =
  | { readonly kind: 'id'; readonly text: string }
  | { readonly kind: 'op'; readonly text: '!' | '=' | '==' | '!=' | '>' | '<' | '(' | ')' | ',' }
  | { readonly kind: 'end' };

const symbolChars = new Set(['=', '!', '(', ')', ',', '>', '<']);
const twoCharSymbols = new Set(['==', '!=']);

/** Splits a selector into tokens as the Go `Lexer` does: runs of non-special, non-space characters are identifiers. */
function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (symbolChars.has(c)) {
      const two = input.slice(i, i + 2);
      const text = (twoCharSymbols.has(two) ? two : c) as '!' | '=' | '==' | '!=' | '>' | '<' | '(' | ')' | ',';
      tokens.push({ kind: 'op', text });
      i += text.length;
    } else {
      let j = i;
      while (j < input.length && !symbolChars.has(input.charAt(j)) && !/\s/.test(input.charAt(j))) j++;
      tokens.push({ kind: 'id', text: input.slice(i, j) });
      i = j;
    }
  }
  tokens.push({ kind: 'end' });
  return tokens;
}

const nameRe = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const subdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** `validation.IsQualifiedName`: an optional DNS subdomain prefix and `/`, then a name of at most 63 characters. */
function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split('/');
  const name = parts.length === 2 ? (parts[1] ?? '') : (parts[0] ?? '');
  if (parts.length > 2) return 'a qualified name must consist of alphanumeric characters, \'-\', \'_\' or \'.\', with an optional DNS subdomain prefix and \'/\'';
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '') return 'prefix part must be non-empty';
    if (prefix.length > 253 || !subdomainRe.test(prefix)) return 'prefix part must be a lowercase RFC 1123 subdomain';
  }
  if (name === '') return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!nameRe.test(name)) return 'name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character';
  return undefined;
}

/** `validation.IsValidLabelValue`: empty, or at most 63 characters of the name alphabet. */
function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return 'must be no more than 63 characters';
  if (!nameRe.test(value)) return 'a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character';
  return undefined;
}

class LabelParser {
  private pos = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos] ?? { kind: 'end' };
  }

  private next(): Token {
    const token = this.peek();
    this.pos++;
    return token;
  }

  parse(): Requirement[] {
    const requirements: Requirement[] = [];
    if (this.peek().kind === 'end') return requirements;
    for (;;) {
      requirements.push(this.requirement());
      const token = this.next();
      if (token.kind === 'end') return requirements;
      if (token.kind !== 'op' || token.text !== ',') throw new Error(`found '${describeToken(token)}', expected: ',' or 'end of string'`);
      if (this.peek().kind === 'end') throw new Error("found 'end of string', expected: identifier");
    }
  }

  private requirement(): Requirement {
    let token = this.next();
    let negated = false;
    if (token.kind === 'op' && token.text === '!') {
      negated = true;
      token = this.next();
    }
    if (token.kind !== 'id') throw new Error(`found '${describeToken(token)}', expected: identifier`);
    const key = token.text;
    const problem = qualifiedNameProblem(key);
    if (problem !== undefined) throw new Error(`key: Invalid value: "${key}": ${problem}`);
    if (negated) return { key, operator: '!', values: new Set() };
    const after = this.peek();
    if (after.kind === 'end' || (after.kind === 'op' && after.text === ',')) return { key, operator: 'exists', values: new Set() };
    const operator = this.operator();
    const values = operator === 'in' || operator === 'notin' ? this.valueSet() : new Set([this.exactValue()]);
    for (const value of values) {
      const valueProblem = labelValueProblem(value);
      if (valueProblem !== undefined) throw new Error(`values[0][${key}]: Invalid value: "${value}": ${valueProblem}`);
      if ((operator === '>' || operator === '<') && !/^[+-]?\d+$/.test(value)) {
        throw new Error(`for 'Gt', 'Lt' operators, the value must be an integer`);
      }
    }
    return { key, operator, values };
  }

  private operator(): Operator {
    const token = this.next();
    if (token.kind === 'id' && (token.text === 'in' || token.text === 'notin')) return token.text;
    if (token.kind === 'op' && (token.text === '=' || token.text === '==' || token.text === '!=' || token.text === '>' || token.text === '<')) {
      return token.text;
    }
    throw new Error(`found '${describeToken(token)}', expected: in, notin, =, ==, !=, gt, lt`);
  }

  private exactValue(): string {
    const token = this.peek();
    if (token.kind === 'end' || (token.kind === 'op' && token.text === ',')) return '';
    this.pos++;
    if (token.kind === 'id') return token.text;
    throw new Error(`found '${describeToken(token)}', expected: identifier`);
  }

  /** `parseValues` and `parseIdentifiersList`, including their handling of empty values around commas. */
  private valueSet(): Set<string> {
    const open = this.next();
    if (open.kind !== 'op' || open.text !== '(') throw new Error(`found '${describeToken(open)}' expected: '('`);
    const values = new Set<string>();
    const first = this.peek();
    if (first.kind === 'op' && first.text === ')') {
      this.pos++;
      throw new Error("for 'in', 'notin' operators, values set can't be empty");
    }
    for (;;) {
      const token = this.next();
      if (token.kind === 'id') {
        values.add(token.text);
        const after = this.peek();
        if (after.kind === 'op' && after.text === ')') {
          this.pos++;
          return values;
        }
        if (after.kind !== 'op' || after.text !== ',') throw new Error(`found '${describeToken(after)}', expected: ',' or ')'`);
      } else if (token.kind === 'op' && token.text === ',') {
        if (values.size === 0) values.add('');
        const after = this.peek();
        if (after.kind === 'op' && after.text === ')') {
          this.pos++;
          values.add('');
          return values;
        }
        if (after.kind === 'op' && after.text === ',') {
          this.pos++;
          values.add('');
        }
      } else {
        throw new Error(`found '${describeToken(token)}', expected: ',', or identifier`);
      }
    }
  }
}

function describeToken(token: Token): string {
  return token.kind === 'end' ? 'end of string' : token.text;
}

function matchesRequirement(r: Requirement, labels: Readonly<Record<string, string>> | undefined): boolean {
  const has = labels !== undefined && Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return value !== undefined && r.values.has(value);
    case 'notin':
    case '!=':
      return value === undefined || !r.values.has(value);
    case 'exists':
      return has;
    case '!':
      return !has;
    case '>':
    case '<': {
      if (value === undefined || !/^[+-]?\d+$/.test(value)) return false;
      const bound = Number([...r.values][0]);
      return r.operator === '>' ? Number(value) > bound : Number(value) < bound;
    }
  }
}

/**
 * Parses a `labelSelector` query value.
 *
 * @throws KubeApiError 400 BadRequest naming the problem, as `labels.Parse` reports it.
 */
export function parseLabelSelector(input: string): LabelSelector {
  let requirements: Requirement[];
  try {
    requirements = new LabelParser(tokenize(input)).parse();
  } catch (error) {
    throw badRequest(`unable to parse requirement: ${error instanceof Error ? error.message : String(error)}`);
  }
  return {
    empty: requirements.length === 0,
    matches: (labels) => requirements.every((r) => matchesRequirement(r, labels)),
  };
}

/** A parsed field selector bound to one resource's selectable fields. */
export interface FieldSelector {
  readonly empty: boolean;
  matches(obj: KubeObject): boolean;
}

interface FieldTerm {
  readonly field: string;
  readonly negated: boolean;
  readonly value: string;
}

/** Splits on commas not escaped with a backslash (`fields.splitTerms`). */
function splitTerms(input: string): string[] {
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < input.length; i++) {
    const c = input.charAt(i);
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      terms.push(input.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(input.slice(start));
  return terms;
}

/** `fields.UnescapeValue`: only `\\`, `\,` and `\=` are escapes. */
function unescapeValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    if (c !== '\\') {
      if (c === ',' || c === '=') throw new Error(`invalid field selector: unescaped character '${c}' in value '${value}'`);
      out += c;
      continue;
    }
    const next = value.charAt(i + 1);
    if (next !== '\\' && next !== ',' && next !== '=') throw new Error(`invalid field selector: invalid escape sequence in value '${value}'`);
    out += next;
    i++;
  }
  return out;
}

/** Splits one term at its first unescaped operator, trying `!=`, `==` and `=` at each position (`fields.splitTerm`). */
function parseTerm(term: string): FieldTerm {
  let escaped = false;
  for (let i = 0; i < term.length; i++) {
    const c = term.charAt(i);
    if (escaped) {
      escaped = false;
      continue;
    }
    if (c === '\\') {
      escaped = true;
      continue;
    }
    for (const op of ['!=', '==', '='] as const) {
      if (term.startsWith(op, i)) {
        return { field: term.slice(0, i), negated: op === '!=', value: unescapeValue(term.slice(i + op.length)) };
      }
    }
  }
  throw new Error(`invalid selector: '${term}'; can't understand '${term}'`);
}

/** The selectable fields of `obj` for `d`, as the registry's `GetAttrs` builds them. */
function fieldValue(d: ResourceDescriptor, obj: KubeObject, field: string): string {
  if (field === 'metadata.name') return obj.metadata.name ?? '';
  if (field === 'metadata.namespace') return obj.metadata.namespace ?? '';
  return d.fields.get(field)?.(obj) ?? '';
}

function isSupportedField(d: ResourceDescriptor, field: string): boolean {
  return field === 'metadata.name' || (d.namespaced && field === 'metadata.namespace') || d.fields.has(field);
}

/**
 * Parses a `fieldSelector` query value for resource `d`.
 *
 * @throws KubeApiError 400 BadRequest for a malformed selector or `field label not supported: <field>`.
 */
export function parseFieldSelector(input: string, d: ResourceDescriptor): FieldSelector {
  let terms: FieldTerm[];
  try {
    terms = input.trim() === '' ? [] : splitTerms(input).filter((t) => t !== '').map(parseTerm);
  } catch (error) {
    throw badRequest(error instanceof Error ? error.message : String(error));
  }
  for (const term of terms) {
    if (!isSupportedField(d, term.field)) throw badRequest(`field label not supported: ${term.field}`);
  }
  return {
    empty: terms.length === 0,
    matches: (obj) => terms.every((t) => (fieldValue(d, obj, t.field) === t.value) !== t.negated),
  };
}

/** A request's scope and selectors together: what a list or watch filters objects by. */
export interface ObjectFilter {
  /** The namespace a namespaced request is limited to, or undefined for all namespaces. */
  readonly namespace: string | undefined;
  readonly labels: LabelSelector;
  readonly fields: FieldSelector;
}

/** Whether `obj` is in the filter's namespace and passes both selectors. */
export function filterMatches(filter: ObjectFilter, obj: KubeObject): boolean {
  if (filter.namespace !== undefined && obj.metadata.namespace !== filter.namespace) return false;
  return filter.labels.matches(obj.metadata.labels) && filter.fields.matches(obj);
}

/** The key prefix that bounds a namespaced scan, or '' for all keys. */
export function scopePrefix(namespace: string | undefined): string {
  return namespace === undefined ? '' : objectKey(namespace, '');
}
