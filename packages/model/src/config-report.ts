/**
 * The problems and notices of one configuration file: collected while the sections are checked, located at their
 * line and column through the spans the YAML loader recorded, and sorted for printing.
 */
import type { z } from 'zod';
import { redactedUrl } from './messages.js';
import { isMapping, kindOf, spanKey, type LoadedYaml, type Path, type PathSegment } from './config-yaml.js';

/** One problem (or notice) in a configuration file, located at the YAML key or value it is about. */
export interface ConfigIssue {
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
  /** Where in the document, such as `scrape_configs[2].relabel_configs[0].regex`; "" for the document itself. */
  readonly keyPath: string;
  readonly message: string;
}

/** Collects errors and notices, locating each path through the spans the YAML loader recorded. */
export class Reporter {
  readonly file: string;
  readonly #loaded: LoadedYaml;
  readonly #errors: ConfigIssue[] = [];
  readonly #notices: ConfigIssue[] = [];

  /** A reporter for `file`, whose text `loaded` holds. */
  constructor(file: string, loaded: LoadedYaml) {
    this.file = file;
    this.#loaded = loaded;
  }

  /** An error about `path`, located at its value, or at its key for problems with the key itself. */
  error(path: Path, message: string, at: 'key' | 'value' = 'value'): void {
    this.#errors.push(this.#issue({ path, message, offset: this.#offsetOf(path, at) }));
  }

  /** An error located at a text offset the YAML loader gave. */
  errorAt(offset: number, path: Path, message: string): void {
    this.#errors.push(this.#issue({ path, message, offset }));
  }

  /** A notice about `path`, located at its key. */
  notice(path: Path, message: string): void {
    this.#notices.push(this.#issue({ path, message, offset: this.#offsetOf(path, 'key') }));
  }

  /** A notice located at a text offset the YAML loader gave. */
  noticeAt(offset: number, path: Path, message: string): void {
    this.#notices.push(this.#issue({ path, message, offset }));
  }

  /** Whether any error was reported. */
  hasErrors(): boolean {
    return this.#errors.length > 0;
  }

  /** The 1-based line where `path`'s value starts (for a list entry: its first key). */
  lineOf(path: Path): number {
    return this.#loaded.lines.linePos(this.#offsetOf(path, 'value')).line;
  }

  /** Turns one zod issue from the schema run at `base` into config issues with Prometheus-style messages. */
  zodIssue(base: Path, issue: z.core.$ZodIssue): void {
    const path = [...base, ...issue.path.map(segment)];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        // `password:hunter2` in a flow mapping is one key, not a key and its value: print only what precedes ":".
        const colon = key.indexOf(':');
        if (colon === -1) {
          this.error([...path, key], `unknown key "${key}"`, 'key');
        } else {
          const shown = `${key.slice(0, colon)}:…`;
          const message = `unknown key "${shown}" (a space is needed after ":" between a key and its value)`;
          const offset = this.#offsetOf([...path, key], 'key');
          this.#errors.push(this.#issue({ path: [...path, shown], message, offset }));
        }
      }
      return;
    }
    if (issue.code === 'invalid_type') {
      this.error(path, this.#typeMessage(path, issue.expected));
      return;
    }
    this.error(path, issue.message);
  }

  /** The errors in the order of the file. */
  sortedErrors(): ConfigIssue[] {
    return sortIssues(this.#errors);
  }

  /** The notices in the order of the file. */
  sortedNotices(): ConfigIssue[] {
    return sortIssues(this.#notices);
  }

  #typeMessage(path: Path, expected: string): string {
    const value = valueAt(this.#loaded.root, path);
    const parent = path.at(-2);
    if (value === null && typeof path.at(-1) === 'number' && typeof parent === 'string') {
      const known = nullEntryMessages[parent];
      if (known !== undefined) return known;
      if (parent.endsWith('_sd_configs') || parent === 'static_configs') return `empty or null section in ${parent}`;
    }
    return `expected ${expectedKinds[expected] ?? expected}, got ${kindOf(value)}`;
  }

  #offsetOf(path: Path, at: 'key' | 'value'): number {
    for (let n = path.length; n >= 0; n--) {
      const span = this.#loaded.spans.get(spanKey(path.slice(0, n)));
      if (span === undefined) continue;
      // A path that goes past what the document has (a missing key) points at its parent's value.
      return n === path.length && at === 'key' ? (span.key ?? span.value) : span.value;
    }
    return 0;
  }

  /** Every issue is made here, so every one is redacted here: a message or key may quote a URL with a password. */
  #issue({ path, message, offset }: { path: Path; message: string; offset: number }): ConfigIssue {
    const pos = this.#loaded.lines.linePos(offset);
    return { file: this.file, line: pos.line, column: pos.col, keyPath: redactedUrl(formatKeyPath(path)), message: redactedUrl(message) };
  }
}

const nullEntryMessages: Readonly<Record<string, string>> = {
  relabel_configs: 'empty or null target relabeling rule in scrape config',
  metric_relabel_configs: 'empty or null metric relabeling rule in scrape config',
  write_relabel_configs: 'empty or null relabeling rule in remote write config',
};

const expectedKinds: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean (true or false)',
  object: 'a mapping',
  array: 'a list',
};

function segment(s: PropertyKey): PathSegment {
  return typeof s === 'symbol' ? String(s) : s;
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => a.issue.line - b.issue.line || a.issue.column - b.issue.column || a.i - b.i)
    .map(({ issue }) => issue);
}

/** `scrape_configs[2].relabel_configs[0].regex`; keys that are not plain words are quoted: `labels["a.b"]`. */
function formatKeyPath(path: Path): string {
  let out = '';
  for (const s of path) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const s of path) {
    if (Array.isArray(v) && typeof s === 'number') v = v[s];
    else if (isMapping(v) && typeof s === 'string') v = v[s];
    else return undefined;
  }
  return v;
}
