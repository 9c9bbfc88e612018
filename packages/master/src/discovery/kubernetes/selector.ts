/**
 * Label and field selectors evaluated on slim objects. The offline `promfleet targets` tool has no API server to
 * filter for it, so it applies a `kubernetes_sd_config`'s `selectors` itself, with the parser and matchers of
 * `@promfleet/model`; this module adds what only slim objects know: the fields each kind can be selected on.
 */
import { matchesFieldSelector, matchesLabelSelector, parseFieldSelector, parseLabelSelector, SelectorError } from '@promfleet/model';
import type { KubernetesKind } from './errors.js';
import type { SlimObject } from './objects.js';

/**
 * The fields a field selector may name for each kind, with their values. A subset of what the API server supports:
 * the ones slim objects keep.
 */
export function objectFields(object: SlimObject): ReadonlyMap<string, string> {
  const fields = new Map<string, string>([['metadata.name', object.meta.name]]);
  switch (object.kind) {
    case 'Node':
    case 'Namespace':
      return fields;
    case 'Pod':
      fields.set('metadata.namespace', object.meta.namespace);
      fields.set('spec.nodeName', object.nodeName);
      fields.set('status.phase', object.phase);
      fields.set('status.podIP', object.podIP);
      return fields;
    case 'Service':
    case 'Endpoints':
    case 'EndpointSlice':
    case 'Ingress':
    case 'ReplicaSet':
    case 'Job':
      fields.set('metadata.namespace', object.meta.namespace);
      return fields;
  }
}

const supportedFields: Readonly<Record<KubernetesKind, readonly string[]>> = {
  Pod: ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase', 'status.podIP'],
  Service: ['metadata.name', 'metadata.namespace'],
  Endpoints: ['metadata.name', 'metadata.namespace'],
  EndpointSlice: ['metadata.name', 'metadata.namespace'],
  Ingress: ['metadata.name', 'metadata.namespace'],
  Node: ['metadata.name'],
  Namespace: ['metadata.name'],
  ReplicaSet: ['metadata.name', 'metadata.namespace'],
  Job: ['metadata.name', 'metadata.namespace'],
};

/** A role's selectors as written in a `kubernetes_sd_config` `selectors` entry. */
export interface ObjectFilterOptions {
  readonly kind: KubernetesKind;
  readonly label?: string;
  readonly field?: string;
}

/**
 * Compiles a label and a field selector for one kind into a predicate over slim objects. Throws a
 * {@link SelectorError} up front for bad syntax, and for a field the offline matcher cannot evaluate on that kind
 * (the API server would answer "field label not supported").
 */
export function compileObjectFilter(options: ObjectFilterOptions): (object: SlimObject) => boolean {
  const labels = parseLabelSelector(options.label ?? '');
  const fieldText = options.field ?? '';
  const fields = parseFieldSelector(fieldText);
  const supported = supportedFields[options.kind];
  for (const term of fields.terms) {
    if (!supported.includes(term.field)) {
      throw new SelectorError(fieldText, { kind: 'unsupportedField', field: term.field, objectKind: options.kind, supported });
    }
  }
  return (object) => matchesLabelSelector(labels, object.meta.labels) && matchesFieldSelector(fields, objectFields(object));
}
