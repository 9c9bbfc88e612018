/** Typed errors of Kubernetes discovery, each with a stable code. */
import type { SelectorError } from '@promfleet/model';

/** Selectors are parsed in `@promfleet/model`; discovery code names its error from here with the others. */
export { SelectorError } from '@promfleet/model';

/** The stable codes of the errors this module throws. */
export const KubernetesErrorCode = {
  badObject: 'PROMFLEET_K8S_BAD_OBJECT',
  /** The code of `@promfleet/model`'s {@link SelectorError}, which discovery throws for a bad selector. */
  badSelector: 'PROMFLEET_K8S_BAD_SELECTOR' satisfies SelectorError['code'],
  /** Internal to the object converters, which turn it into `badObject`. */
  badField: 'PROMFLEET_K8S_BAD_FIELD',
} as const;

/** The Kubernetes kinds discovery reads. */
export type KubernetesKind = 'Pod' | 'Service' | 'Endpoints' | 'EndpointSlice' | 'Node' | 'Ingress' | 'Namespace' | 'ReplicaSet' | 'Job';

/** The prometheus-operator kinds the master reads (monitoring.coreos.com), which become scrape jobs. */
export type OperatorKind = 'ServiceMonitor' | 'PodMonitor' | 'Probe' | 'ScrapeConfig';

/** What identifies a rejected object, as far as it could be read. */
export interface BadObjectDetails {
  readonly kind: KubernetesKind | OperatorKind;
  readonly namespace?: string;
  readonly name?: string;
  readonly reason: string;
}

/**
 * An object from the API server that lacks a field discovery needs or has a field of the wrong type. Callers skip
 * the object and count it; one bad object never stops discovery.
 */
export class BadObjectError extends Error {
  override readonly name = 'BadObjectError';
  readonly code = KubernetesErrorCode.badObject;
  readonly kind: KubernetesKind | OperatorKind;
  readonly namespace: string | undefined;
  readonly objectName: string | undefined;
  readonly reason: string;

  constructor(details: BadObjectDetails) {
    const id = [details.namespace, details.name].filter((part) => part !== undefined && part !== '').join('/');
    super(`bad ${details.kind}${id === '' ? '' : ` ${id}`}: ${details.reason}`);
    this.kind = details.kind;
    this.namespace = details.namespace;
    this.objectName = details.name;
    this.reason = details.reason;
  }
}
