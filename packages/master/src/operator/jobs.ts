/**
 * From the resources of a cluster to scrape jobs: select them as the `Prometheus` resource does, generate each
 * one's jobs, decode them with promfleet's config loader, and say which resources were rejected and why. Pure: the
 * offline tool and the live source both run it.
 */
import { matchesLabelSelector, type GlobalConfig, type ScrapeConfig } from '@promfleet/model';
import { scrapeJobToProto, SettingsEncodeError } from '@promfleet/protocol';
import { FieldError } from '../discovery/kubernetes/json.js';
import { checkInlineSecrets, InsecureSecretsError, type FleetLinkOptions } from '../fleet/link.js';
import { decodeJobs, globalSection } from './decode.js';
import { generateJobs } from './generate.js';
import type { RawMapping } from './http.js';
import { operatorKinds, ResourceRejectedError, type AssetLookup, type OperatorKind, type OperatorResource } from './resource.js';
import type { OperatorSelection } from './selection.js';

/** What {@link operatorJobs} reads. */
export interface OperatorJobsInput {
  readonly resources: readonly OperatorResource[];
  /** The labels of a namespace, or undefined when it is not known. */
  readonly namespaceLabels: (namespace: string) => ReadonlyMap<string, string> | undefined;
  readonly lookup: AssetLookup;
  readonly selection: OperatorSelection;
  /** The global section of promfleet's own config, which generated jobs inherit from. */
  readonly global: GlobalConfig;
  /** The master's namespace: the Prometheus resource's namespace when its file names none. */
  readonly ownNamespace: string | undefined;
  /**
   * The fleet link the jobs travel over. A resource whose jobs hold inline secrets (every Secret value promfleet
   * reads becomes one) is rejected when the link would not keep them, under the same policy as the config file's
   * (`checkInlineSecrets`). Undefined: no check (the offline tool sends nothing).
   */
  readonly fleetLink?: FleetLinkOptions;
}

/** A selected resource that could not be turned into jobs. */
export interface RejectedResource {
  readonly resource: OperatorResource;
  readonly reason: string;
  /** The reason is a bug in promfleet (an unexpected exception), not something wrong with the resource. */
  readonly internal: boolean;
}

/**
 * The reason given for an unexpected exception (while `doing` something): its class and where it was thrown, never
 * its message, which could quote a value read from a Secret.
 */
export function internalErrorReason(err: unknown, doing?: string): string {
  const name = err instanceof Error ? err.name : typeof err;
  const frame = err instanceof Error ? err.stack?.split('\n').find((line) => line.trimStart().startsWith('at '))?.trim() : undefined;
  return `internal error${doing === undefined ? '' : ` ${doing}`}: ${name}${frame === undefined ? '' : ` ${frame}`} (a bug in promfleet, please report it)`;
}

/** What {@link operatorJobs} found. */
export interface OperatorJobs {
  /** Every generated job, by kind then namespace/name, as prometheus-operator orders them. */
  readonly jobs: readonly ScrapeConfig[];
  /** The mappings the jobs were decoded from, in the same order (secret values included: never log them). */
  readonly rawJobs: readonly RawMapping[];
  readonly selected: readonly OperatorResource[];
  readonly rejected: readonly RejectedResource[];
}

/** Whether `selection` picks `resource`: its kind's label selector and namespace selector. */
export function isSelected(resource: OperatorResource, input: Pick<OperatorJobsInput, 'selection' | 'namespaceLabels' | 'ownNamespace'>): boolean {
  const kind = input.selection.kinds[resource.kind];
  if (kind.resources === undefined || !matchesLabelSelector(kind.resources, resource.labels)) return false;
  if (kind.namespaces === 'own') return resource.namespace === (input.selection.namespace ?? input.ownNamespace);
  if (kind.namespaces.requirements.length === 0) return true;
  const labels = input.namespaceLabels(resource.namespace);
  return labels !== undefined && matchesLabelSelector(kind.namespaces, labels);
}

const kindOrder = new Map<OperatorKind, number>(operatorKinds.map((k, i) => [k, i]));

function compareResources(a: OperatorResource, b: OperatorResource): number {
  const byKind = (kindOrder.get(a.kind) ?? 0) - (kindOrder.get(b.kind) ?? 0);
  if (byKind !== 0) return byKind;
  const ka = `${a.namespace}/${a.name}`;
  const kb = `${b.namespace}/${b.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Selects, generates, decodes and encodes for the wire; a resource that fails is rejected with its reason and the
 * others go on, whatever it throws.
 */
export function operatorJobs(input: OperatorJobsInput): OperatorJobs {
  const global = globalSection(input.global, input.selection.global);
  const rejected: RejectedResource[] = [];
  const selected = input.resources
    .filter((r) => {
      try {
        return isSelected(r, input);
      } catch (err) {
        // Whether it would have been selected is unknown: it is reported rather than silently left out.
        rejected.push({ resource: r, reason: internalErrorReason(err, 'selecting it'), internal: true });
        return false;
      }
    })
    .sort(compareResources);
  const jobs: ScrapeConfig[] = [];
  const rawJobs: RawMapping[] = [];
  for (const resource of selected) {
    try {
      const raw = generateJobs(resource, input.lookup, input.selection.generation);
      const decoded = decodeJobs(raw, { global, source: `${resource.kind} ${resource.namespace}/${resource.name}` });
      if (input.fleetLink !== undefined) checkInlineSecrets({ global: input.global, scrapeConfigs: decoded, remoteWrite: [] }, input.fleetLink);
      // A job the loader accepts can still hold a value the fleet protocol cannot carry (a limit above 2^32-1);
      // the master would then refuse the whole job list, so this resource alone is refused here.
      for (const job of decoded) scrapeJobToProto(job);
      jobs.push(...decoded);
      rawJobs.push(...raw);
    } catch (err) {
      const known = err instanceof ResourceRejectedError || err instanceof FieldError || err instanceof InsecureSecretsError || err instanceof SettingsEncodeError;
      rejected.push(known ? { resource, reason: err.message, internal: false } : { resource, reason: internalErrorReason(err), internal: true });
    }
  }
  return { jobs, rawJobs, selected, rejected };
}
