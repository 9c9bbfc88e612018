/**
 * A YAML document read as go-yaml v2 reads it for Prometheus: a tree of plain values (null-prototype objects, arrays,
 * strings, numbers, booleans, null) with YAML 1.1 scalar resolution, aliases and `<<` merges resolved and duplicate
 * keys rejected, plus where every value came from (spans, line lookup), so that each problem can name its line.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';

/** One step of a path into the document: a mapping key or a list index. */
export type PathSegment = string | number;
/** A path into the document, such as `['scrape_configs', 2, 'relabel_configs']`. */
export type Path = readonly PathSegment[];

interface Span {
  /** Offset of the value. */
  readonly value: number;
  /** Offset of the mapping key, when the value is a mapping entry. */
  readonly key?: number;
}

/** A loaded document: its value tree, where each value came from, and what kept it from loading cleanly. */
export interface LoadedYaml {
  readonly root: unknown;
  readonly spans: ReadonlyMap<string, Span>;
  readonly lines: LineCounter;
  readonly errors: readonly { offset: number; path: Path; message: string }[];
  /** The offset of the second document, when there is one. */
  readonly multipleDocuments: number | undefined;
  /** The document could not be parsed at all. */
  readonly fatal: boolean;
}

/**
 * The text of plain scalars that YAML resolved to a number or boolean, by container and key. go-yaml v2 decodes
 * any scalar into a string field as its source text (`replica: 01` is the label value "01", not "1"), so string
 * fields look the text up here. Keyed by the containers of one parse, so nothing is shared between parses.
 */
const plainScalarText = new WeakMap<object, Map<PathSegment, string>>();

/** The most values one document may expand to through aliases (go-yaml v2 also refuses excessive aliasing). */
const MAX_NODES = 1_000_000;

/** The key of {@link LoadedYaml.spans} for a path. */
export function spanKey(path: Path): string {
  return JSON.stringify(path);
}

/**
 * Reads the first YAML document of `text` into a value tree, as Prometheus does; a later document is only noted.
 * Never throws: syntax errors, excessive aliasing and duplicate keys come back in {@link LoadedYaml.errors}.
 */
export function loadYaml(text: string): LoadedYaml {
  const lines = new LineCounter();
  // Scalars stay text (failsafe schema): resolvePlainScalar applies go-yaml v2's rules, not YAML 1.2's.
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: false,
    schema: 'failsafe',
  });
  const empty = { root: null, spans: new Map<string, Span>(), lines, errors: [], fatal: false };
  if (!Array.isArray(docs) || docs.length === 0) return { ...empty, multipleDocuments: undefined };
  const [doc, second] = docs;
  if (doc === undefined) return { ...empty, multipleDocuments: undefined };
  const multipleDocuments = second?.range[0];
  if (doc.errors.length > 0) {
    const errors = doc.errors.map((e) => ({
      offset: e.pos[0],
      path: [],
      message: yamlErrorMessage(e.code, e.message),
    }));
    return { ...empty, errors, multipleDocuments, fatal: true };
  }
  const converter = new YamlConverter(doc, lines);
  const root = converter.convert(doc.contents, { path: [], key: undefined });
  return {
    root,
    spans: converter.spans,
    lines,
    errors: converter.errors,
    multipleDocuments,
    fatal: converter.fatal,
  };
}

/**
 * The yaml library's message, except where it quotes source text: a syntax error inside a password must not
 * print the password.
 */
function yamlErrorMessage(code: string, message: string): string {
  switch (code) {
    case 'BAD_DQ_ESCAPE':
      return 'invalid escape sequence in a double-quoted string (use single quotes, or escape the backslash)';
    case 'UNEXPECTED_TOKEN':
      return 'unexpected token: the YAML structure is broken here';
    case 'BAD_SCALAR_START':
      return 'a plain value cannot start with this character: quote the value';
    default:
      return `invalid YAML: ${message.split('\n')[0] ?? message}`;
  }
}

interface ConvertAt {
  readonly path: Path;
  /** Offset of the mapping key this value belongs to. */
  readonly key: number | undefined;
}

/** Converts yaml nodes to plain values, recording spans, resolving aliases and `<<` merges, rejecting duplicates. */
class YamlConverter {
  readonly spans = new Map<string, Span>();
  readonly errors: { offset: number; path: Path; message: string }[] = [];
  fatal = false;
  readonly #doc: Document;
  readonly #lines: LineCounter;
  readonly #inProgress = new Set<unknown>();
  #nodes = 0;

  constructor(doc: Document, lines: LineCounter) {
    this.#doc = doc;
    this.#lines = lines;
  }

  convert(node: unknown, at: ConvertAt): unknown {
    if (this.fatal) return null;
    if (++this.#nodes > MAX_NODES) {
      this.#fail(0, 'the document contains excessive aliasing');
      return null;
    }
    if (isAlias(node)) {
      const target = node.resolve(this.#doc);
      if (target === undefined || this.#inProgress.has(target)) {
        this.#fail(node.range?.[0] ?? 0, `alias *${node.source} refers to an unknown anchor or to itself`);
        return null;
      }
      this.spans.set(spanKey(at.path), { value: node.range?.[0] ?? 0, ...keyOffset(at) });
      return this.#convertNode(target, at);
    }
    const offset = rangeStart(node);
    this.spans.set(spanKey(at.path), { value: offset ?? at.key ?? 0, ...keyOffset(at) });
    return this.#convertNode(node, at);
  }

  #convertNode(node: unknown, at: ConvertAt): unknown {
    if (node === null || node === undefined) return null;
    if (isScalar(node)) return scalarValue(node);
    this.#inProgress.add(node);
    try {
      if (isSeq(node)) return this.#convertSeq(node.items, at.path);
      if (isMap(node)) return this.#convertMap(node.items, at.path);
    } finally {
      this.#inProgress.delete(node);
    }
    return null;
  }

  #convertSeq(items: readonly unknown[], path: Path): unknown[] {
    const out: unknown[] = [];
    const text = new Map<PathSegment, string>();
    items.forEach((item, i) => {
      out.push(this.convert(item, { path: [...path, i], key: undefined }));
      rememberText(text, i, this.#target(item));
    });
    if (text.size > 0) plainScalarText.set(out, text);
    return out;
  }

  #convertMap(pairs: readonly { key: unknown; value: unknown }[], path: Path): Record<string, unknown> {
    const out = Object.create(null) as Record<string, unknown>;
    const text = new Map<PathSegment, string>();
    const keyLines = new Map<string, number>();
    const merges: unknown[] = [];
    for (const pair of pairs) {
      const keyOffset = rangeStart(pair.key) ?? 0;
      if (isScalar(pair.key) && pair.key.type === 'PLAIN' && pair.key.value === '<<') {
        merges.push(pair.value);
        continue;
      }
      if (!isScalar(pair.key)) {
        this.#error(keyOffset, path, 'mapping keys must be scalars, not lists or mappings');
        continue;
      }
      const key = String(pair.key.value);
      const earlier = keyLines.get(key);
      if (earlier !== undefined) {
        this.#error(keyOffset, [...path, key], `mapping key ${JSON.stringify(key)} already defined at line ${earlier}`);
        continue;
      }
      keyLines.set(key, this.#lineAt(keyOffset));
      out[key] = this.convert(pair.value, { path: [...path, key], key: keyOffset });
      rememberText(text, key, this.#target(pair.value));
    }
    // `<<` merges fill in the keys the mapping does not set itself (YAML merge keys, supported by go-yaml v2).
    for (const merge of merges) {
      const sources = isSeq(merge) ? merge.items : [merge];
      for (const source of sources) {
        const target = this.#target(source);
        if (!isMap(target)) {
          this.#error(rangeStart(source) ?? 0, path, 'a << merge needs a mapping or a list of mappings');
          continue;
        }
        for (const pair of target.items) {
          if (!isScalar(pair.key)) continue;
          const key = String(pair.key.value);
          if (key in out) continue;
          out[key] = this.convert(pair.value, { path: [...path, key], key: rangeStart(pair.key) });
          rememberText(text, key, this.#target(pair.value));
        }
      }
    }
    if (text.size > 0) plainScalarText.set(out, text);
    return out;
  }

  /** The node an alias stands for; any other node itself. */
  #target(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.#doc) : node;
  }

  #lineAt(offset: number): number {
    return this.#lines.linePos(offset).line;
  }

  #error(offset: number, path: Path, message: string): void {
    this.errors.push({ offset, path, message });
  }

  #fail(offset: number, message: string): void {
    this.fatal = true;
    this.errors.push({ offset, path: [], message });
  }
}

/** The span's `key` property, when the value belongs to a mapping key. */
function keyOffset(at: ConvertAt): { key?: number } {
  return at.key === undefined ? {} : { key: at.key };
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range: unknown = node.range;
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : undefined;
}

function rememberText(text: Map<PathSegment, string>, key: PathSegment, node: unknown): void {
  if (isScalar(node) && node.type === 'PLAIN' && node.tag === undefined) {
    const source = String(node.value);
    if (typeof resolvePlainScalar(source) !== 'string') text.set(key, source);
  }
}

function scalarValue(node: { type?: string | undefined; tag?: string | undefined; value: unknown }): unknown {
  const source = String(node.value);
  if (node.type !== 'PLAIN' || node.tag === 'tag:yaml.org,2002:str') return source;
  return resolvePlainScalar(source);
}

const yamlNull = new Set(['', '~', 'null', 'Null', 'NULL']);
const yamlTrue = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const yamlFalse = new Set(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);
const yamlSpecialFloats: Readonly<Record<string, number>> = {
  '.nan': NaN,
  '.NaN': NaN,
  '.NAN': NaN,
  '.inf': Infinity,
  '.Inf': Infinity,
  '.INF': Infinity,
  '+.inf': Infinity,
  '+.Inf': Infinity,
  '+.INF': Infinity,
  '-.inf': -Infinity,
  '-.Inf': -Infinity,
  '-.INF': -Infinity,
};
const goInteger = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
const yamlStyleFloat = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * go-yaml v2's `resolve` for an untagged plain scalar: YAML 1.1 booleans (yes/no/on/off/y/n), nulls, integers in
 * Go's `strconv.ParseInt(s, 0, 64)` syntax with underscores removed, then floats; anything else is a string.
 */
function resolvePlainScalar(s: string): string | number | boolean | null {
  if (yamlNull.has(s)) return null;
  if (yamlTrue.has(s)) return true;
  if (yamlFalse.has(s)) return false;
  const special = yamlSpecialFloats[s];
  if (special !== undefined) return special;
  const first = s[0] ?? '';
  if (first === '.') return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(s) ? Number(s) : s;
  if (!/[0-9+-]/.test(first)) return s;
  const plain = s.replaceAll('_', '');
  const m = goInteger.exec(plain);
  if (m !== null) {
    const [, sign = '', digits = ''] = m;
    const magnitude = /^0[0-7]+$/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
    const value = sign === '-' ? -magnitude : magnitude;
    if (value >= INT64_MIN && value <= UINT64_MAX && !(sign === '+' && value > 2n ** 63n - 1n)) return Number(value);
  }
  return yamlStyleFloat.test(plain) ? Number(plain) : s;
}

/** Whether a value of the tree is a YAML mapping. */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The source text of a plain scalar written at `key` of `container`, for a string field. */
export function asText(container: object, key: PathSegment, value: unknown): unknown {
  if (typeof value !== 'number' && typeof value !== 'boolean') return value;
  return plainScalarText.get(container)?.get(key) ?? String(value);
}

/** How a YAML value is described in messages: never the value itself, which may be a secret. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'boolean') return 'a boolean';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : 'a number';
  return 'a string';
}
