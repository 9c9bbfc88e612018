/**
 * Decoding the YAML value tree into typed values as go-yaml v2 decodes into Prometheus' Go structs, with zod: every
 * field optional, unknown keys rejected, a null value as the field's zero value, and the source text of a plain
 * scalar for a string field (`replica: 01` is "01"). Also the small helpers the section schemas share.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { DurationError, parseDuration } from './duration.js';
import type { NameValidationScheme } from './labels.js';
import { relabelConfigSchema } from './relabel.js';
import { Secret } from './secret.js';
import { parseSize } from './size.js';
import { asText, isMapping, kindOf, type Path } from './config-yaml.js';

/** What every section schema of one parse knows: the config file's directory and the environment. */
export interface SchemaOptions {
  readonly dir: string;
  readonly env: Readonly<Record<string, string | undefined>> | undefined;
}

/** Schemas that take a scalar's text: a number or boolean written there is read as its source text. */
const textualSchemas = new WeakSet<z.ZodType>();

function textual<T extends z.ZodType>(schema: T): T {
  textualSchemas.add(schema);
  return schema;
}

interface MappingKeys {
  readonly known: ReadonlySet<string>;
  readonly text: ReadonlySet<string>;
}

/** A known key's null value is Go's zero value: the field keeps its default, as if absent. */
function prepareMapping(input: unknown, keys: MappingKeys): unknown {
  if (!isMapping(input)) return input;
  const out = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(input)) {
    if (value === null && keys.known.has(key)) continue;
    out[key] = keys.text.has(key) ? asText(input, key, value) : value;
  }
  return out;
}

function prepareList(input: unknown, isText: boolean): unknown {
  if (!Array.isArray(input) || !isText) return input;
  return input.map((value: unknown, i) => (value === null ? '' : asText(input, i, value)));
}

type Optionalized<S extends Record<string, z.ZodType>> = { [K in keyof S]: z.ZodOptional<S[K]> };

/** A YAML mapping decoded strictly into a Go struct: every field optional, unknown keys rejected. */
export function goObject<S extends Record<string, z.ZodType>>(shape: S) {
  const keys: MappingKeys = {
    known: new Set(Object.keys(shape)),
    text: new Set(Object.entries(shape).flatMap(([key, s]) => (textualSchemas.has(s) ? [key] : []))),
  };
  const optionalShape = Object.fromEntries(Object.entries(shape).map(([key, s]) => [key, s.optional()]));
  return z.preprocess(
    (input: unknown) => prepareMapping(input, keys),
    z.strictObject(optionalShape as Optionalized<S>),
  );
}

/** A YAML list; null entries of string lists are "" (go-yaml's zero value). */
export function goList<T extends z.ZodType>(element: T) {
  const isText = textualSchemas.has(element);
  return z.preprocess((input: unknown) => prepareList(input, isText), z.array(element));
}

/**
 * A YAML mapping decoded into a Go map: any key, every value checked by `value`. A null value is `nullValue()`.
 * Written by hand because zod's record drops a `__proto__` key, which is a valid label name.
 */
export function goMap<T extends z.ZodType>(value: T, nullValue: () => unknown = () => '') {
  const isText = textualSchemas.has(value);
  return z.unknown().transform((input, ctx) => {
    const out = new Map<string, z.output<T>>();
    if (!isMapping(input)) {
      ctx.addIssue({ code: 'custom', message: `expected a mapping, got ${kindOf(input)}` });
      return out;
    }
    for (const [key, raw] of Object.entries(input)) {
      const v = raw === null ? nullValue() : isText ? asText(input, key, raw) : raw;
      const parsed = value.safeParse(v);
      if (parsed.success) out.set(key, parsed.data);
      else for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [key, ...issue.path] });
    }
    return out;
  });
}

/** Reports a problem at a path relative to the schema being run. */
export type Report = (path: Path, message: string) => void;

/** A {@link Report} that adds issues to the zod refinement context of the schema being run. */
export function reporter(ctx: z.core.$RefinementCtx): Report {
  return (path, message) => ctx.addIssue({ code: 'custom', path: [...path], message });
}

/** A Go `string`: any scalar, as its source text. */
export const text = textual(z.string());

/** A `<secret>`: a string wrapped in {@link Secret}; empty means unset. */
export const secret = textual(z.string().transform((s) => (s === '' ? undefined : new Secret(s))));

/** A `<duration>` in milliseconds, as {@link parseDuration} reads it. */
export const duration = textual(
  z.string().transform((s, ctx) => {
    try {
      return parseDuration(s);
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return z.NEVER;
    }
  }),
);

/** A `<size>` in bytes, as {@link parseSize} reads it. */
export const size = textual(
  z.string().transform((s, ctx) => {
    const parsed = parseSize(s);
    if (typeof parsed === 'number') return parsed;
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }),
);

/** A Go `bool`: YAML 1.1 booleans (`yes`, `off`) resolve to it, strings do not. */
export const bool = z.boolean();

/** A Go `uint`: go-yaml v2 truncates a float, and rejects a negative number. */
export const uint = z.number().transform((n, ctx) => {
  if (!Number.isFinite(n) || n < 0) {
    ctx.addIssue({ code: 'custom', message: `expected a non-negative integer, got ${n}` });
    return z.NEVER;
  }
  return Math.trunc(n);
});

/** A Go `int`: go-yaml v2 truncates a float. */
export const int = z.number().transform((n, ctx) => {
  if (!Number.isFinite(n)) {
    ctx.addIssue({ code: 'custom', message: `expected an integer, got ${n}` });
    return z.NEVER;
  }
  return Math.trunc(n);
});

/** Any mapping: sections promfleet accepts without acting on them. */
export const anyMapping = z.looseObject({});

/**
 * A relabel rule list. The rule schema (relabel.ts) reads numbers as JavaScript numbers, so plain scalars are
 * given back their source text first (`replacement: 01` stays "01", as go-yaml reads it).
 */
export function relabelList(scheme: NameValidationScheme) {
  const rule = relabelConfigSchema({ nameValidation: scheme });
  const textKeys = new Set(['separator', 'regex', 'target_label', 'replacement', 'action']);
  return goList(
    z.preprocess((input: unknown) => {
      if (!isMapping(input)) return input;
      const out = Object.create(null) as Record<string, unknown>;
      for (const [key, value] of Object.entries(input)) {
        const sourceLabels = key === 'source_labels' && Array.isArray(value);
        out[key] = textKeys.has(key)
          ? asText(input, key, value)
          : sourceLabels
            ? value.map((v: unknown, i) => asText(value, i, v))
            : value;
      }
      return out;
    }, rule),
  );
}

/** `{ [key]: value }` when value is defined, else `{}`: builds objects with optional properties. */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Go's zero-value test for an optional string: "" counts as unset. */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Whether `value` is one of `options`, narrowing it to their type. */
export function isOneOf<T extends string>(value: string, options: readonly T[]): value is T {
  return (options as readonly string[]).includes(value);
}

/** Whether the value parses as an absolute URL. */
export function isUrl(value: string): boolean {
  return URL.canParse(value);
}

/** prometheus/common `JoinDir`: relative paths are joined with the config file's directory and cleaned. */
export function joinDir(dir: string, file: string): string {
  if (file === '' || posix.isAbsolute(file)) return file;
  const joined = posix.join(dir, file);
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
}
