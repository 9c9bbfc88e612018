/**
 * The shapes the fake API server stores and serves: Kubernetes objects as plain JSON values, plus the few helpers
 * that read and compare them.
 */

/** A reference from an object to its owner (`metav1.OwnerReference`). */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

/**
 * Object metadata as the API server serialises it (`metav1.ObjectMeta`). The fields the fake reads or stamps are
 * typed; any other field is carried through untouched.
 */
export interface ObjectMeta {
  readonly name?: string;
  readonly generateName?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly creationTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerReference[];
  readonly [field: string]: unknown;
}

/**
 * A Kubernetes object as JSON. The store keeps these as given and never mutates one in place: every write makes a
 * new object, so objects may share unchanged parts (the generated cluster shares pod templates between replicas).
 * Callers must treat objects they get from the store as read-only.
 */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly [field: string]: unknown;
}

/** Names one stored object: its resource (plural, as in the URL), namespace (namespaced resources only) and name. */
export interface ObjectRef {
  readonly resource: string;
  readonly namespace?: string;
  readonly name: string;
}

/** Whether `value` is a JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a string at `path` inside a JSON value, or '' when any step is missing or the leaf is not a string. */
export function stringAt(value: unknown, ...path: readonly string[]): string {
  let current = value;
  for (const step of path) {
    if (!isRecord(current)) return '';
    current = current[step];
  }
  if (typeof current === 'string') return current;
  if (typeof current === 'boolean' || typeof current === 'number') return String(current);
  return '';
}

/** Deep equality of two JSON values; key order does not matter, as it does not for the API server. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (!isRecord(a) || !isRecord(b)) return false;
  const aKeys = Object.keys(a).filter((k) => a[k] !== undefined);
  const bKeys = Object.keys(b).filter((k) => b[k] !== undefined);
  if (aKeys.length !== bKeys.length) return false;
  return aKeys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

/** The store key of an object: `namespace/name` for namespaced objects, `name` for cluster-scoped ones. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

/** A shallow copy of `obj` without `keys`. */
export function omitKeys<T extends object>(obj: T, keys: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) if (!keys.includes(key)) out[key] = value;
  return out as T;
}

/** An RFC 3339 timestamp with whole seconds, as Kubernetes writes `metav1.Time`. */
export function kubeTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
