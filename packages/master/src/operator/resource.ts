/**
 * prometheus-operator resources as promfleet reads them: the four kinds, their identity, and the references to
 * Secrets and ConfigMaps their specs make. Specs stay API JSON; the generator reads the fields it needs.
 */
import type { OperatorKind } from '../discovery/kubernetes/errors.js';
import { isJsonObject, optString, stringMap, FieldError, type JsonObject } from '../discovery/kubernetes/json.js';

export type { OperatorKind } from '../discovery/kubernetes/errors.js';

/** Every {@link OperatorKind}, in the order jobs are generated (as prometheus-operator orders them). */
export const operatorKinds: readonly OperatorKind[] = ['ServiceMonitor', 'PodMonitor', 'Probe', 'ScrapeConfig'];

/** One resource: its identity and its `spec` as the API server returned it. */
export interface OperatorResource {
  readonly kind: OperatorKind;
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: string;
  readonly labels: ReadonlyMap<string, string>;
  readonly spec: JsonObject;
}

/** A key of a Secret or a ConfigMap in the resource's namespace. */
export interface AssetRef {
  readonly kind: 'Secret' | 'ConfigMap';
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
}

/**
 * Reads referenced Secret and ConfigMap keys: the value, or undefined when the object or the key does not exist.
 * Secret values are already decoded from base64.
 */
export type AssetLookup = (ref: AssetRef) => string | undefined;

/** `Secret monitoring/creds key "password"`: how messages name a reference (never its value). */
export function describeAsset(ref: AssetRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name} key ${JSON.stringify(ref.key)}`;
}

/** A resource that cannot be turned into scrape jobs, and why (a field path, then the problem). */
export class ResourceRejectedError extends Error {
  override readonly name = 'ResourceRejectedError';
  readonly code = 'PROMFLEET_OPERATOR_REJECTED';
}

/** An object in a dump or from the API that is not a readable resource of its kind. */
export class BadResourceError extends Error {
  override readonly name = 'BadResourceError';
  readonly code = 'PROMFLEET_OPERATOR_BAD_RESOURCE';
}

/** The `apiVersion` each kind is served at. */
export const operatorApiVersions: Readonly<Record<OperatorKind, string>> = {
  ServiceMonitor: 'monitoring.coreos.com/v1',
  PodMonitor: 'monitoring.coreos.com/v1',
  Probe: 'monitoring.coreos.com/v1',
  ScrapeConfig: 'monitoring.coreos.com/v1alpha1',
};

/** Whether `kind` is one of the operator kinds. */
export function isOperatorKind(kind: unknown): kind is OperatorKind {
  return typeof kind === 'string' && (operatorKinds as readonly string[]).includes(kind);
}

/**
 * Reads a resource of `kind` from API JSON.
 *
 * @throws BadResourceError when the metadata or the spec is not there or has the wrong type.
 */
export function readOperatorResource(kind: OperatorKind, raw: unknown): OperatorResource {
  if (!isJsonObject(raw)) throw new BadResourceError(`${kind}: expected a JSON object`);
  const metadata = isJsonObject(raw['metadata']) ? raw['metadata'] : undefined;
  try {
    if (metadata === undefined) throw new FieldError('metadata: required');
    const name = optString(metadata, 'name', 'metadata') ?? '';
    const namespace = optString(metadata, 'namespace', 'metadata') ?? '';
    if (name === '') throw new FieldError('metadata.name: required');
    if (namespace === '') throw new FieldError('metadata.namespace: required');
    const spec = raw['spec'] ?? {};
    if (!isJsonObject(spec)) throw new FieldError('spec: expected object');
    return {
      kind,
      namespace,
      name,
      resourceVersion: optString(metadata, 'resourceVersion', 'metadata') ?? '',
      labels: stringMap(metadata, 'labels', 'metadata'),
      spec,
    };
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    const namespace = metadata !== undefined && typeof metadata['namespace'] === 'string' ? metadata['namespace'] : '';
    const name = metadata !== undefined && typeof metadata['name'] === 'string' ? ` ${namespace === '' ? '' : `${namespace}/`}${metadata['name']}` : '';
    throw new BadResourceError(`${kind}${name}: ${err.message}`);
  }
}

/** The keys of a Secret (base64 `data`; the API never returns `stringData`) or a ConfigMap (`data`, base64 `binaryData`). */
export function readAssetData(kind: AssetRef['kind'], raw: unknown): ReadonlyMap<string, string> | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const out = new Map<string, string>();
  const add = (field: string, base64: boolean) => {
    const data = (raw as Record<string, unknown>)[field];
    if (typeof data !== 'object' || data === null) return;
    for (const [k, v] of Object.entries(data)) if (typeof v === 'string') out.set(k, base64 ? Buffer.from(v, 'base64').toString('utf8') : v);
  };
  if (kind === 'Secret') add('data', true);
  else {
    add('data', false);
    add('binaryData', true);
  }
  return out;
}
