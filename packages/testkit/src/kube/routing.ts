/**
 * From an HTTP request to what it asks for, as `k8s.io/apiserver/pkg/endpoints/request/requestinfo.go`
 * (`RequestInfoFactory.NewRequestInfo`) splits a path into verb, namespace, resource, name and subresource.
 */
import { resourceByName, type ResourceDescriptor } from './resources.js';

/** The verbs the server counts requests by. Non-resource requests (discovery, `/version`) count as `get`. */
export type Verb = 'list' | 'watch' | 'get' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** A request for a resource: a collection or one object, possibly a subresource of it. */
export interface ResourceRequest {
  readonly kind: 'resource';
  readonly verb: Verb;
  /** The resource as named in the URL; `descriptor` is undefined when the fake does not serve it there. */
  readonly resource: string;
  readonly descriptor: ResourceDescriptor | undefined;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}

/** A request for a path that names no resource: discovery documents, `/version`, health checks. */
export interface NonResourceRequest {
  readonly kind: 'nonResource';
  readonly verb: Verb;
  readonly path: string;
}

/** What a request asks for. */
export type RequestInfo = ResourceRequest | NonResourceRequest;

/** Namespace subresources, which `requestinfo.go` keeps from being read as resources. */
const namespaceSubresources = new Set(['status', 'finalize']);

/** `strconv.ParseBool`, as the server reads `watch=`. */
export function parseBool(value: string | null): boolean {
  return value !== null && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value);
}

function verbFor(method: string, name: string | undefined, watch: boolean): Verb {
  switch (method) {
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return name === undefined ? 'deletecollection' : 'delete';
    default:
      if (watch) return 'watch';
      return name === undefined ? 'list' : 'get';
  }
}

/**
 * Splits a request into what it asks for. Paths under `/api/v1/` and `/apis/<group>/<version>/` with at least one
 * more segment are resource requests; everything else is a non-resource request.
 */
export function parseRequest(method: string, url: URL): RequestInfo {
  const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    version = parts[1] ?? '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1] ?? '';
    version = parts[2] ?? '';
    rest = parts.slice(3);
  } else {
    return { kind: 'nonResource', verb: 'get', path: url.pathname };
  }
  if (rest.length === 0) return { kind: 'nonResource', verb: 'get', path: url.pathname };

  let watch = parseBool(url.searchParams.get('watch'));
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 2 && !namespaceSubresources.has(rest[2] ?? '')) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const resource = rest[0] ?? '';
  const name = rest[1];
  const subresource = rest[2];
  const found = resourceByName(resource);
  const servesHere =
    found !== undefined &&
    found.group === group &&
    found.version === version &&
    rest.length <= 3 &&
    // A cluster-scoped resource has no path inside a namespace.
    (namespace === undefined || found.namespaced);
  return {
    kind: 'resource',
    verb: verbFor(method, name, watch),
    resource,
    descriptor: servesHere ? found : undefined,
    namespace,
    name,
    subresource,
  };
}

/** How a request is labelled in request counts: `pods`, `pods/status`, or the path of a non-resource request. */
export function accountingResource(info: RequestInfo): string {
  if (info.kind === 'nonResource') return info.path;
  return info.subresource === undefined ? info.resource : `${info.resource}/${info.subresource}`;
}
