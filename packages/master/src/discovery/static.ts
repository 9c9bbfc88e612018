/**
 * Static and file-based discovery: `static_configs` and the content of `file_sd_configs` files, as target groups.
 * Pure: reading and watching the files is the caller's job.
 */
import { parseDocument } from 'yaml';
import { isValidLabelName, type Labels, type StaticConfig, type TargetGroup } from '@promfleet/model';

/**
 * One group per `static_configs` entry, with Prometheus' sources: the entry's index (`discovery.StaticConfig`,
 * `NewStaticProvider`), each target becoming `__address__`.
 */
export function staticGroups(configs: readonly StaticConfig[]): TargetGroup[] {
  return configs.map((c, i) => ({
    source: String(i),
    targets: c.targets.map((address) => new Map([['__address__', address]])),
    labels: c.labels,
  }));
}

/** A file_sd file Prometheus would refuse: its path, the line where known, and why. */
export class FileSDError extends Error {
  override readonly name = 'FileSDError';
  readonly code = 'PROMFLEET_FILE_SD_INVALID';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${reason}`);
  }
}

/**
 * Parses a file_sd file (`.json`, `.yml` or `.yaml`: a list of `{targets: [...], labels: {...}}`) into groups as
 * Prometheus' file discovery does (`discovery/file/file.go`): the source of entry `i` is `<path>:<i>`, and every
 * group gets `__meta_filepath`. The whole file is rejected on any error, as Prometheus keeps the last good content.
 *
 * @throws FileSDError naming the file, the line and the reason.
 */
export function parseFileSD(text: string, path: string): TargetGroup[] {
  // Go's file SD lowercases the extension (`filepath.Ext`), so `targets.JSON` is JSON too.
  const extension = path.slice(path.lastIndexOf('.')).toLowerCase();
  const isJson = extension === '.json';
  if (!isJson && extension !== '.yml' && extension !== '.yaml') throw new FileSDError(path, undefined, 'retrieval target groups from a file needs the .json, .yml or .yaml extension');
  let raw: unknown;
  let lineAt: (index: number, key?: string) => number | undefined = () => undefined;
  if (isJson) {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new FileSDError(path, undefined, `invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
  } else {
    const doc = parseDocument(text, { uniqueKeys: true });
    const first = doc.errors[0];
    if (first !== undefined) throw new FileSDError(path, first.linePos?.[0].line, first.message.split('\n')[0] ?? 'invalid YAML');
    raw = doc.toJS();
    lineAt = (index, key) => {
      const node: unknown = doc.getIn(key === undefined ? [index] : [index, key], true);
      const offset = typeof node === 'object' && node !== null && 'range' in node && Array.isArray(node.range) ? (node.range[0] as unknown) : undefined;
      return typeof offset === 'number' ? text.slice(0, offset).split('\n').length : undefined;
    };
  }
  if (raw === null || raw === undefined) return [];
  if (!Array.isArray(raw)) throw new FileSDError(path, undefined, 'expected a list of target groups');
  return raw.map((entry: unknown, i) => {
    const fail = (reason: string, key?: string): never => {
      throw new FileSDError(path, lineAt(i, key), `group ${i}: ${reason}`);
    };
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return fail('expected an object with "targets" and "labels"');
    const { targets = [], labels = {}, ...rest } = entry as Record<string, unknown>;
    const unknownKey = Object.keys(rest)[0];
    if (unknownKey !== undefined) fail(`unknown field ${JSON.stringify(unknownKey)}`, unknownKey);
    if (!Array.isArray(targets) || targets.some((t) => typeof t !== 'string')) fail('"targets" must be a list of strings', 'targets');
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return fail('"labels" must be a map of label names to strings', 'labels');
    const groupLabels = new Map<string, string>([['__meta_filepath', path]]);
    for (const [name, value] of Object.entries(labels)) {
      if (!isValidLabelName(name, 'utf8')) fail(`invalid label name ${JSON.stringify(name)}`, 'labels');
      if (typeof value !== 'string') fail(`label ${JSON.stringify(name)} must have a string value`, 'labels');
      groupLabels.set(name, value as string);
    }
    return {
      source: `${path}:${i}`,
      targets: (targets as string[]).map((address): Labels => new Map([['__address__', address]])),
      labels: groupLabels,
    };
  });
}

/**
 * Go's `filepath.Match` for one path component: `*` any run of non-`/` characters, `?` one, `[...]` a class
 * (`^` negates, ranges with `-`), `\` escapes. Used to expand the glob in a file_sd pattern's last component.
 */
export function matchGlob(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRegExp(pattern.charAt(++i));
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) return false;
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^/' : ''}${body.replace(/[\]\\^]/g, '\\$&')}]`;
      i = end;
    } else re += escapeRegExp(c);
  }
  return new RegExp(`${re}$`, 'u').test(name);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
