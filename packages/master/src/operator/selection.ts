/**
 * The `--operator.config` file: a `Prometheus` resource (as users of prometheus-operator already have one) or just
 * its `spec`, from which promfleet takes what selects resources and what changes the generated jobs. Selection
 * follows prometheus-operator: a missing resource selector selects nothing and `{}` everything; a missing namespace
 * selector means the Prometheus resource's own namespace (its `metadata.namespace`, else the master's), `{}` every
 * namespace.
 */
import { DurationError, parseDuration, parseSize, type LabelRequirement, type LabelSelector } from '@promfleet/model';
import { parse } from 'yaml';
import { isJsonObject, type JsonObject } from '../discovery/kubernetes/json.js';
import { defaultGenerationOptions, type EndpointRole, type EnforcementExclusion, type EnforcedLimits, type GenerationOptions } from './generate.js';
import type { GlobalOverrides } from './decode.js';
import { operatorKinds, type OperatorKind } from './resource.js';

/** How one kind is selected: resources by label (undefined: none), and the namespaces they may be in. */
export interface KindSelection {
  readonly resources: LabelSelector | undefined;
  /** `own`: the Prometheus resource's namespace only. */
  readonly namespaces: LabelSelector | 'own';
}

/** Everything promfleet takes from the `Prometheus` resource. */
export interface OperatorSelection {
  /** The Prometheus resource's namespace; undefined means the master's own namespace. */
  readonly namespace: string | undefined;
  readonly kinds: Readonly<Record<OperatorKind, KindSelection>>;
  readonly generation: GenerationOptions;
  readonly global: GlobalOverrides;
  /** Fields of the file that would change the jobs in prometheus-operator but that promfleet does not apply. */
  readonly notices: readonly string[];
}

/** A bad `--operator.config` file: names the file and the field. */
export class OperatorConfigError extends Error {
  override readonly name = 'OperatorConfigError';
  readonly code = 'PROMFLEET_OPERATOR_CONFIG';
}

const selectorFields: Readonly<Record<OperatorKind, readonly [resources: string, namespaces: string]>> = {
  ServiceMonitor: ['serviceMonitorSelector', 'serviceMonitorNamespaceSelector'],
  PodMonitor: ['podMonitorSelector', 'podMonitorNamespaceSelector'],
  Probe: ['probeSelector', 'probeNamespaceSelector'],
  ScrapeConfig: ['scrapeConfigSelector', 'scrapeConfigNamespaceSelector'],
};

const resourceKinds: Readonly<Record<string, OperatorKind>> = {
  servicemonitors: 'ServiceMonitor',
  podmonitors: 'PodMonitor',
  probes: 'Probe',
  scrapeconfigs: 'ScrapeConfig',
};

/** Reads the file's text. `file` is named in every error. */
export function parseOperatorConfig(text: string, file: string): OperatorSelection {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new OperatorConfigError(`${file}: not YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const fail = (field: string, problem: string): never => {
    throw new OperatorConfigError(`${file}: ${field}: ${problem}`);
  };
  if (!isJsonObject(doc)) return fail('(top)', 'expected a Prometheus resource or its spec, as a mapping');
  let spec: JsonObject = doc;
  let prefix = '';
  let namespace: string | undefined;
  if (doc['kind'] !== undefined) {
    if (doc['kind'] !== 'Prometheus' && doc['kind'] !== 'PrometheusAgent') fail('kind', `expected Prometheus or PrometheusAgent, got ${JSON.stringify(doc['kind'])}`);
    const s = doc['spec'] ?? {};
    if (!isJsonObject(s)) fail('spec', 'expected a mapping');
    spec = s as JsonObject;
    prefix = 'spec.';
    const metadata = doc['metadata'];
    const ns = isJsonObject(metadata) ? metadata['namespace'] : undefined;
    if (ns !== undefined && typeof ns !== 'string') fail('metadata.namespace', 'expected a string');
    namespace = typeof ns === 'string' && ns !== '' ? ns : undefined;
  }
  const r = new SpecReader(spec, prefix, fail);

  const kinds = Object.fromEntries(
    operatorKinds.map((kind) => {
      const [resources, namespaces] = selectorFields[kind];
      const nsSelector = r.selector(namespaces);
      return [kind, { resources: r.selector(resources), namespaces: nsSelector ?? 'own' } satisfies KindSelection];
    }),
  ) as Record<OperatorKind, KindSelection>;

  const role = r.string('serviceDiscoveryRole');
  if (role !== undefined && role !== 'Endpoints' && role !== 'EndpointSlice') fail(`${prefix}serviceDiscoveryRole`, `expected Endpoints or EndpointSlice, got ${JSON.stringify(role)}`);
  const enforcedBodySize = r.string('enforcedBodySizeLimit');
  let bodySizeLimitBytes: number | undefined;
  if (enforcedBodySize !== undefined) {
    const size = parseSize(enforcedBodySize);
    if (typeof size !== 'number') fail(`${prefix}enforcedBodySizeLimit`, size.error);
    else bodySizeLimitBytes = size;
  }
  const enforcedLimits: EnforcedLimits = {
    ...optional('sampleLimit', r.count('enforcedSampleLimit')),
    ...optional('targetLimit', r.count('enforcedTargetLimit')),
    ...optional('labelLimit', r.count('enforcedLabelLimit')),
    ...optional('labelNameLengthLimit', r.count('enforcedLabelNameLengthLimit')),
    ...optional('labelValueLengthLimit', r.count('enforcedLabelValueLengthLimit')),
    ...optional('keepDroppedTargets', r.count('enforcedKeepDroppedTargets')),
    ...optional('bodySizeLimit', enforcedBodySize),
  };
  const endpointRole: EndpointRole = role === 'EndpointSlice' ? 'endpointslice' : 'endpoints';
  const generation: GenerationOptions = {
    ...defaultGenerationOptions,
    serviceDiscoveryRole: endpointRole,
    ignoreNamespaceSelectors: r.bool('ignoreNamespaceSelectors') ?? false,
    ...optional('enforcedNamespaceLabel', r.string('enforcedNamespaceLabel')),
    excludedFromEnforcement: r.exclusions('excludedFromEnforcement'),
    enforcedLimits,
    podTargetLabels: r.strings('podTargetLabels'),
    overrideHonorLabels: r.bool('overrideHonorLabels') ?? false,
    overrideHonorTimestamps: r.bool('overrideHonorTimestamps') ?? false,
  };
  const global: GlobalOverrides = {
    ...optional('scrapeIntervalMs', r.duration('scrapeInterval')),
    ...optional('scrapeTimeoutMs', r.duration('scrapeTimeout')),
    ...optional('sampleLimit', enforcedLimits.sampleLimit),
    ...optional('targetLimit', enforcedLimits.targetLimit),
    ...optional('labelLimit', enforcedLimits.labelLimit),
    ...optional('labelNameLengthLimit', enforcedLimits.labelNameLengthLimit),
    ...optional('labelValueLengthLimit', enforcedLimits.labelValueLengthLimit),
    ...optional('keepDroppedTargets', enforcedLimits.keepDroppedTargets),
    ...optional('bodySizeLimitBytes', bodySizeLimitBytes),
  };
  const notices: string[] = [];
  const scrapeClasses = spec['scrapeClasses'];
  if (Array.isArray(scrapeClasses) && scrapeClasses.length > 0) {
    notices.push(`${file}: ${prefix}scrapeClasses: not supported by promfleet; a default scrape class is not applied, and resources that name one are rejected`);
  }
  if (isJsonObject(spec['arbitraryFSAccessThroughSMs']) && spec['arbitraryFSAccessThroughSMs']['deny'] === true) {
    notices.push(`${file}: ${prefix}arbitraryFSAccessThroughSMs.deny: not applied; ServiceMonitors may name files (bearerTokenFile, tlsConfig.caFile...), read on the workers`);
  }
  return { namespace, kinds, generation, global, notices };
}

/**
 * The kinds that select resources in the Prometheus resource's own namespace (no namespace selector): they need
 * that namespace, from the file's `metadata.namespace` or the master's.
 */
export function kindsInOwnNamespace(selection: OperatorSelection): OperatorKind[] {
  return operatorKinds.filter((kind) => selection.kinds[kind].resources !== undefined && selection.kinds[kind].namespaces === 'own');
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Typed reads of the spec's fields; every problem names the field. */
class SpecReader {
  constructor(
    private readonly spec: JsonObject,
    private readonly prefix: string,
    private readonly fail: (field: string, problem: string) => never,
  ) {}

  #value(key: string): unknown {
    return Object.hasOwn(this.spec, key) ? this.spec[key] : undefined;
  }

  string(key: string): string | undefined {
    const v = this.#value(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') return this.fail(this.prefix + key, 'expected a string');
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.#value(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') return this.fail(this.prefix + key, 'expected true or false');
    return v;
  }

  count(key: string): number | undefined {
    const v = this.#value(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return this.fail(this.prefix + key, 'expected a non-negative integer');
    return v;
  }

  duration(key: string): number | undefined {
    const v = this.string(key);
    if (v === undefined) return undefined;
    try {
      return parseDuration(v);
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
      return this.fail(this.prefix + key, err.message);
    }
  }

  strings(key: string): string[] {
    const v = this.#value(key);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) return this.fail(this.prefix + key, 'expected a list of strings');
    return v;
  }

  exclusions(key: string): EnforcementExclusion[] {
    const v = this.#value(key);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) return this.fail(this.prefix + key, 'expected a list');
    return v.map((item: unknown, i) => {
      const at = `${this.prefix}${key}[${i}]`;
      if (!isJsonObject(item)) return this.fail(at, 'expected a mapping');
      const kind = typeof item['resource'] === 'string' ? resourceKinds[item['resource']] : undefined;
      if (kind === undefined) return this.fail(`${at}.resource`, 'expected servicemonitors, podmonitors, probes or scrapeconfigs');
      const namespace = item['namespace'];
      if (typeof namespace !== 'string' || namespace === '') return this.fail(`${at}.namespace`, 'required');
      const name = item['name'];
      if (name !== undefined && typeof name !== 'string') return this.fail(`${at}.name`, 'expected a string');
      return { kind, namespace, ...(name === undefined || name === '' ? {} : { name }) };
    });
  }

  /** A `metav1.LabelSelector` field; undefined when absent (or null). */
  selector(key: string): LabelSelector | undefined {
    const v = this.#value(key);
    if (v === undefined || v === null) return undefined;
    const at = this.prefix + key;
    if (!isJsonObject(v)) return this.fail(at, 'expected a label selector (matchLabels, matchExpressions)');
    return labelSelector(v, at, this.fail);
  }
}

/** Reads a `metav1.LabelSelector` into the model's selector; `fail` names the field of a problem. */
export function labelSelector(v: JsonObject, at: string, fail: (field: string, problem: string) => never): LabelSelector {
  for (const key of Object.keys(v)) if (key !== 'matchLabels' && key !== 'matchExpressions') fail(`${at}.${key}`, 'unknown field (expected matchLabels or matchExpressions)');
  const requirements: LabelRequirement[] = [];
  const labels = v['matchLabels'] ?? {};
  if (!isJsonObject(labels)) return fail(`${at}.matchLabels`, 'expected a mapping');
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== 'string') return fail(`${at}.matchLabels.${key}`, 'expected a string');
    requirements.push({ key, operator: 'in', values: [value] });
  }
  const expressions = v['matchExpressions'] ?? [];
  if (!Array.isArray(expressions)) return fail(`${at}.matchExpressions`, 'expected a list');
  expressions.forEach((e: unknown, i) => {
    const p = `${at}.matchExpressions[${i}]`;
    if (!isJsonObject(e)) return fail(p, 'expected a mapping');
    const key = e['key'];
    if (typeof key !== 'string' || key === '') return fail(`${p}.key`, 'required');
    const values = e['values'] ?? [];
    if (!Array.isArray(values) || !values.every((s) => typeof s === 'string')) return fail(`${p}.values`, 'expected a list of strings');
    const list = values;
    switch (e['operator']) {
      case 'In':
      case 'NotIn':
        if (list.length === 0) return fail(`${p}.values`, `${String(e['operator'])} needs at least one value`);
        requirements.push({ key, operator: e['operator'] === 'In' ? 'in' : 'notIn', values: list });
        return undefined;
      case 'Exists':
      case 'DoesNotExist':
        if (list.length > 0) return fail(`${p}.values`, `${String(e['operator'])} takes no values`);
        requirements.push({ key, operator: e['operator'] === 'Exists' ? 'exists' : 'notExists' });
        return undefined;
      default:
        return fail(`${p}.operator`, `expected In, NotIn, Exists or DoesNotExist, got ${JSON.stringify(e['operator'])}`);
    }
  });
  return { requirements };
}
