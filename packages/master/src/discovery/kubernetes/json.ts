/**
 * Small readers for API-server JSON. The API server omits empty fields and Go decodes `null` as the zero value, so
 * an absent or `null` field reads as absent; a present field of the wrong type throws a {@link FieldError} naming its
 * path, which the object converters turn into a `BadObjectError`.
 */

import { KubernetesErrorCode } from './errors.js';

/** A decoded JSON object. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** A field of the wrong type, or a required field that is missing; `message` starts with the field's path. */
export class FieldError extends Error {
  override readonly name = 'FieldError';
  readonly code = KubernetesErrorCode.badField;
}

/** Whether `value` is a JSON object (not an array, not `null`). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function present(obj: JsonObject, key: string): unknown {
  // Own properties only: a key such as `constructor` must not find Object.prototype.
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** A string field, or `undefined` when absent. */
export function optString(obj: JsonObject, key: string, path: string): string | undefined {
  const value = present(obj, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new FieldError(`${join(path, key)}: expected string, got ${describe(value)}`);
  return value;
}

/** A string field, with Go's zero value `''` when absent. */
export function str(obj: JsonObject, key: string, path: string): string {
  return optString(obj, key, path) ?? '';
}

/** A string field that must be present and non-empty. */
export function requiredString(obj: JsonObject, key: string, path: string): string {
  const value = optString(obj, key, path);
  if (value === undefined || value === '') throw new FieldError(`${join(path, key)}: required`);
  return value;
}

/** A boolean field, or `undefined` when absent. */
export function optBool(obj: JsonObject, key: string, path: string): boolean | undefined {
  const value = present(obj, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new FieldError(`${join(path, key)}: expected boolean, got ${describe(value)}`);
  return value;
}

/** An integer field within `[min, max]`, or `undefined` when absent. */
export function optInt(obj: JsonObject, key: string, options: { path: string; min: number; max: number }): number | undefined {
  const value = present(obj, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new FieldError(`${join(options.path, key)}: expected integer, got ${describe(value)}`);
  }
  if (value < options.min || value > options.max) {
    throw new FieldError(`${join(options.path, key)}: ${value} is outside [${options.min}, ${options.max}]`);
  }
  return value;
}

/** An object field, or `undefined` when absent. */
export function optObject(obj: JsonObject, key: string, path: string): JsonObject | undefined {
  const value = present(obj, key);
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) throw new FieldError(`${join(path, key)}: expected object, got ${describe(value)}`);
  return value;
}

/** An array field whose elements are objects, each handed to `read` with its path; `[]` when absent. */
export function objects<T>(obj: JsonObject, key: string, options: { path: string; read: (item: JsonObject, path: string) => T }): T[] {
  return array(obj, key, options.path).map((item, i) => {
    const itemPath = `${join(options.path, key)}[${i}]`;
    if (!isJsonObject(item)) throw new FieldError(`${itemPath}: expected object, got ${describe(item)}`);
    return options.read(item, itemPath);
  });
}

/** An array field of strings; `[]` when absent. */
export function strings(obj: JsonObject, key: string, path: string): string[] {
  return array(obj, key, path).map((item, i) => {
    if (typeof item !== 'string') throw new FieldError(`${join(path, key)}[${i}]: expected string, got ${describe(item)}`);
    return item;
  });
}

const noEntries: ReadonlyMap<string, string> = new Map();

/** A `map[string]string` field such as labels or annotations; one shared empty map when absent or empty. */
export function stringMap(obj: JsonObject, key: string, path: string): ReadonlyMap<string, string> {
  const value = optObject(obj, key, path);
  if (value === undefined) return noEntries;
  const out = new Map<string, string>();
  for (const [name, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new FieldError(`${join(path, key)}[${JSON.stringify(name)}]: expected string, got ${describe(v)}`);
    out.set(name, v);
  }
  return out.size === 0 ? noEntries : out;
}

function array(obj: JsonObject, key: string, path: string): readonly unknown[] {
  const value = present(obj, key);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new FieldError(`${join(path, key)}: expected array, got ${describe(value)}`);
  return value;
}
