/**
 * Incremental group building. An EndpointSlice or Endpoints object is rewritten whenever one of its ~100 endpoints
 * changes (a pod flips readiness, or is replaced), and each write rebuilds the whole group. A {@link TargetMemo}
 * kept per group remembers, per part of the object (an endpoint, a pod's uncovered ports), what its targets were
 * built from: the part's value and the objects the build looked up. While both are unchanged the part's targets are
 * handed on again as the same {@link DeferredLabels}, which the discovery manager recognises without reading them.
 * A part is rebuilt whenever a fresh build could differ: its value changed (compared structurally) or a lookup
 * now answers another object (compared by identity: the stores replace an object on every change).
 */
import type { Labels } from '@promfleet/model';
import { DeferredLabels, type LabelsSource } from '../deferred-labels.js';
import type { DiscoveryContext } from './meta.js';
import type { SlimObject, SlimWorkload } from './objects.js';

/** One lookup a part's build made through its {@link DiscoveryContext}, and what it answered. */
type Lookup =
  | { readonly method: 'pod' | 'service'; readonly namespace: string; readonly name: string; readonly result: SlimObject | undefined }
  | { readonly method: 'node' | 'namespace'; readonly name: string; readonly result: SlimObject | undefined }
  | { readonly method: 'workload'; readonly kind: SlimWorkload['kind']; readonly namespace: string; readonly name: string; readonly result: SlimObject | undefined };

const noLookups: readonly Lookup[] = [];

/** One part's last build: what it was built from, and its targets, which it builds again when asked. */
class Part implements LabelsSource {
  readonly input: unknown;
  readonly lookups: readonly Lookup[];
  readonly #build: PartSpec['build'];
  readonly #attachMetadata: DiscoveryContext['attachMetadata'];
  targets: readonly Labels[] = [];

  constructor(from: { spec: PartSpec; lookups: readonly Lookup[]; attachMetadata: DiscoveryContext['attachMetadata'] }) {
    this.input = from.spec.input;
    this.lookups = from.lookups;
    this.#build = from.spec.build;
    this.#attachMetadata = from.attachMetadata;
  }

  rebuild(index: number): Labels {
    const labels = this.#build(replaying(this.lookups, this.#attachMetadata))[index];
    if (labels === undefined) throw new Error(`a memoized part built again gave fewer than ${index + 1} targets`);
    return labels;
  }
}

/** The kinds of part: an endpoint (or address), and a pod's uncovered container ports. */
export type PartKind = 'endpoint' | 'pod';

/** What a part's targets are built from: its key in the group, its value, and a pure build over the context. */
export interface PartSpec {
  readonly kind: PartKind;
  /**
   * Finds the part's previous build among the group's parts of its kind: a pod object or an address. Only a previous
   * part with the same key is compared (by value), so two parts sharing a key are only rebuilt more often.
   */
  readonly key: unknown;
  /** Everything the build reads besides the context's lookups and `attachMetadata`, compared with {@link sameValue}. */
  readonly input: unknown;
  readonly build: (context: DiscoveryContext) => Labels[];
}

/** The parts of one group's last build. Used by one group only; `begin` starts each build of it. */
export class TargetMemo {
  #parts = parts();
  #next = parts();

  /** Starts a build of the group: parts not asked for again before the next `begin` are forgotten. */
  begin(): void {
    this.#parts = this.#next;
    this.#next = parts();
  }

  /**
   * The targets of one part: the previous build's, when its input and every lookup it made are unchanged (the
   * lookups are made again, through `context`, so that a caller recording them sees each one), else built now.
   */
  targets(spec: PartSpec, context: DiscoveryContext): readonly Labels[] {
    const next = this.#next[spec.kind];
    const previous = next.get(spec.key) ?? this.#parts[spec.kind].get(spec.key);
    if (previous !== undefined && sameValue(previous.input, spec.input) && previous.lookups.every((l) => lookUp(context, l) === l.result)) {
      next.set(spec.key, previous);
      return previous.targets;
    }
    const lookups: Lookup[] = [];
    const built = spec.build(recording(context, lookups));
    const part = new Part({ spec, lookups: lookups.length === 0 ? noLookups : lookups, attachMetadata: context.attachMetadata });
    const targets = built.map((labels, i) => new DeferredLabels(labels, part, i));
    part.targets = targets;
    next.set(spec.key, part);
    return targets;
  }
}

function parts(): Record<PartKind, Map<unknown, Part>> {
  return { endpoint: new Map(), pod: new Map() };
}

/** The targets of `spec`: through `memo` when there is one, else built directly (the offline tool, read-only walks). */
export function partTargets(memo: TargetMemo | undefined, spec: PartSpec, context: DiscoveryContext): readonly Labels[] {
  return memo === undefined ? spec.build(context) : memo.targets(spec, context);
}

function lookUp(context: DiscoveryContext, lookup: Lookup): SlimObject | undefined {
  switch (lookup.method) {
    case 'pod':
      return context.pod(lookup.namespace, lookup.name);
    case 'service':
      return context.service(lookup.namespace, lookup.name);
    case 'node':
      return context.node(lookup.name);
    case 'namespace':
      return context.namespace(lookup.name);
    case 'workload':
      return context.workload(lookup.kind, lookup.namespace, lookup.name);
  }
}

/** `context`, noting each lookup and its answer in `lookups`. */
function recording(context: DiscoveryContext, lookups: Lookup[]): DiscoveryContext {
  const note = <T extends SlimObject | undefined>(lookup: Lookup, result: T): T => {
    lookups.push(lookup);
    return result;
  };
  return {
    pod: (namespace, name) => {
      const result = context.pod(namespace, name);
      return note({ method: 'pod', namespace, name, result }, result);
    },
    service: (namespace, name) => {
      const result = context.service(namespace, name);
      return note({ method: 'service', namespace, name, result }, result);
    },
    node: (name) => {
      const result = context.node(name);
      return note({ method: 'node', name, result }, result);
    },
    namespace: (name) => {
      const result = context.namespace(name);
      return note({ method: 'namespace', name, result }, result);
    },
    workload: (kind, namespace, name) => {
      const result = context.workload(kind, namespace, name);
      return note({ method: 'workload', kind, namespace, name, result }, result);
    },
    attachMetadata: context.attachMetadata,
  };
}

/** A context answering the recorded `lookups` as they were answered then: a part's build, repeated later. */
function replaying(lookups: readonly Lookup[], attachMetadata: DiscoveryContext['attachMetadata']): DiscoveryContext {
  const find = (matches: (l: Lookup) => boolean): SlimObject | undefined => {
    const found = lookups.find(matches);
    if (found === undefined) throw new Error('a memoized part made a lookup its first build did not make');
    return found.result;
  };
  return {
    pod: (namespace, name) => find((l) => l.method === 'pod' && l.namespace === namespace && l.name === name) as ReturnType<DiscoveryContext['pod']>,
    service: (namespace, name) => find((l) => l.method === 'service' && l.namespace === namespace && l.name === name) as ReturnType<DiscoveryContext['service']>,
    node: (name) => find((l) => l.method === 'node' && l.name === name) as ReturnType<DiscoveryContext['node']>,
    namespace: (name) => find((l) => l.method === 'namespace' && l.name === name) as ReturnType<DiscoveryContext['namespace']>,
    workload: (kind, namespace, name) =>
      find((l) => l.method === 'workload' && l.kind === kind && l.namespace === namespace && l.name === name) as ReturnType<DiscoveryContext['workload']>,
    attachMetadata,
  };
}

/**
 * Structural equality of slim-object values: primitives, arrays, Maps (in insertion order) and plain objects,
 * compared member by member (identical references at once).
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Map) {
    // In order: a later key may win over an earlier one that sanitizes to the same label name.
    if (!(b instanceof Map) || a.size !== b.size) return false;
    const others = (b as Map<unknown, unknown>).entries();
    for (const [k, v] of a as Map<unknown, unknown>) {
      const other = others.next();
      if (other.done === true || other.value[0] !== k || !sameValue(v, other.value[1])) return false;
    }
    return true;
  }
  if (Array.isArray(b) || b instanceof Map) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k)) continue;
    keys++;
    if (!Object.hasOwn(y, k) || !sameValue(x[k], y[k])) return false;
  }
  for (const k in y) if (Object.hasOwn(y, k)) keys--;
  return keys === 0;
}
