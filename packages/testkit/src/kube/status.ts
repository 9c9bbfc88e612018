/**
 * API errors as the real server returns them: a `Status` object with an HTTP code, a machine-readable reason and the
 * message texts of `k8s.io/apimachinery/pkg/api/errors` and `k8s.io/apiserver/pkg/storage`.
 */
import { qualifiedKind, qualifiedResource, type ResourceDescriptor } from './resources.js';

/** The `reason` values the fake uses (`metav1.StatusReason`). */
export type StatusReason =
  | 'BadRequest'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'Expired'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'InternalError'
  | 'Timeout';

/** One cause inside {@link StatusDetails}. */
export interface StatusCause {
  readonly reason?: string;
  readonly message: string;
  readonly field?: string;
}

/** `metav1.StatusDetails`. `kind` holds the resource name, as the real server fills it. */
export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

/** A `Status` object, the body of every error response and of some DELETE responses. */
export interface KubeStatus {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: { readonly continue?: string };
  readonly status: 'Failure' | 'Success';
  readonly message?: string;
  readonly reason?: StatusReason;
  readonly details?: StatusDetails;
  readonly code: number;
}

/**
 * An API error: the HTTP answer is `status.code` with `status` as its body. The store's own methods throw it too,
 * so a direct write fails exactly as the same write over HTTP would.
 */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly code = 'PROMFLEET_TESTKIT_KUBE_API';
  readonly status: KubeStatus;

  constructor(status: KubeStatus) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.status = status;
  }

  /** The HTTP status code of the answer. */
  get httpStatus(): number {
    return this.status.code;
  }

  /** The `Status` reason, such as `Conflict` or `Expired`. */
  get reason(): StatusReason | undefined {
    return this.status.reason;
  }
}

interface FailureInput {
  readonly code: number;
  readonly reason: StatusReason;
  readonly message: string;
  readonly details?: StatusDetails;
  readonly continueToken?: string;
}

function failure(input: FailureInput): KubeApiError {
  return new KubeApiError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: input.continueToken === undefined ? {} : { continue: input.continueToken },
    status: 'Failure',
    message: input.message,
    reason: input.reason,
    ...(input.details === undefined ? {} : { details: input.details }),
    code: input.code,
  });
}

/** The `details` of an error about one named object: the real server puts the resource name in `kind`. */
function objectDetails(d: ResourceDescriptor, name: string): StatusDetails {
  return d.group === '' ? { name, kind: d.name } : { name, group: d.group, kind: d.name };
}

/** 404 for a missing object: `pods "web-1" not found`. */
export function notFound(d: ResourceDescriptor, name: string): KubeApiError {
  return failure({ code: 404, reason: 'NotFound', message: `${qualifiedResource(d)} "${name}" not found`, details: objectDetails(d, name) });
}

/** 404 for a path that names no resource the server has. */
export function pathNotFound(): KubeApiError {
  return failure({ code: 404, reason: 'NotFound', message: 'the server could not find the requested resource', details: {} });
}

/** 409 on create when the name is taken: `pods "web-1" already exists`. */
export function alreadyExists(d: ResourceDescriptor, name: string): KubeApiError {
  return failure({ code: 409, reason: 'AlreadyExists', message: `${qualifiedResource(d)} "${name}" already exists`, details: objectDetails(d, name) });
}

/** The `Conflict` text of a stale resourceVersion (`registry/generic/registry/store.go` `OptimisticLockErrorMsg`). */
export const optimisticLockMessage = 'the object has been modified; please apply your changes to the latest version and try again';

/** 409 Conflict: `Operation cannot be fulfilled on pods "web-1": <why>`. */
export function conflict(d: ResourceDescriptor, name: string, why: string): KubeApiError {
  return failure({
    code: 409,
    reason: 'Conflict',
    message: `Operation cannot be fulfilled on ${qualifiedResource(d)} "${name}": ${why}`,
    details: objectDetails(d, name),
  });
}

/** 422 Invalid: `Pod "web-1" is invalid: <field>: <why>`. */
export function invalid(d: ResourceDescriptor, name: string, cause: { readonly field: string; readonly message: string }): KubeApiError {
  const details: StatusDetails = {
    ...objectDetails(d, name),
    kind: d.kind,
    causes: [{ reason: 'FieldValueInvalid', message: cause.message, field: cause.field }],
  };
  return failure({ code: 422, reason: 'Invalid', message: `${qualifiedKind(d)} "${name}" is invalid: ${cause.field}: ${cause.message}`, details });
}

/** 422 for a request that is well-formed but cannot be applied, such as a JSON patch whose `test` fails. */
export function unprocessable(message: string): KubeApiError {
  return failure({ code: 422, reason: 'Invalid', message });
}

/** 422 Invalid for query parameters (`ListOptions.meta.k8s.io "" is invalid: ...`). */
export function invalidListOptions(field: string, message: string): KubeApiError {
  return failure({
    code: 422,
    reason: 'Invalid',
    message: `ListOptions.meta.k8s.io "" is invalid: ${field}: ${message}`,
    details: { group: 'meta.k8s.io', kind: 'ListOptions', causes: [{ reason: 'FieldValueForbidden', message, field }] },
  });
}

/** 400 BadRequest with a free-form message. */
export function badRequest(message: string): KubeApiError {
  return failure({ code: 400, reason: 'BadRequest', message });
}

/** 410 Expired; `continueToken` is set when the server offers an inconsistent continuation. */
export function expired(message: string, continueToken?: string): KubeApiError {
  return failure({ code: 410, reason: 'Expired', message, ...(continueToken === undefined ? {} : { continueToken }) });
}

/** The 410 message of a watch from a resourceVersion the watch cache no longer holds (`watch_cache.go`). */
export function tooOldResourceVersion(requested: number, oldest: number): KubeApiError {
  return expired(`too old resource version: ${requested} (${oldest})`);
}

/** 405 for a verb the resource does not support. */
export function methodNotAllowed(): KubeApiError {
  return failure({ code: 405, reason: 'MethodNotAllowed', message: 'the server does not allow this method on the requested resource' });
}

/** 406 when no media type of the Accept header can be served (apiserver `negotiation.NewNotAcceptableError`). */
export function notAcceptable(accepted: readonly string[]): KubeApiError {
  return failure({ code: 406, reason: 'NotAcceptable', message: `only the following media types are accepted: ${accepted.join(', ')}` });
}

/** 415 for a request body in a format the fake does not read. */
export function unsupportedMediaType(accepted: readonly string[]): KubeApiError {
  return failure({
    code: 415,
    reason: 'UnsupportedMediaType',
    message: `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  });
}

/** 429 as API Priority and Fairness rejects a request, with the seconds to wait. */
export function tooManyRequests(retryAfterSeconds: number): KubeApiError {
  return failure({
    code: 429,
    reason: 'TooManyRequests',
    message: 'Too many requests, please try again later.',
    details: { retryAfterSeconds },
  });
}

/** 500 InternalError: `Internal error occurred: <why>`. */
export function internalError(why: string): KubeApiError {
  return failure({ code: 500, reason: 'InternalError', message: `Internal error occurred: ${why}`, details: { causes: [{ message: why }] } });
}

/** 504 for a resourceVersion the server has not reached yet (`storage.NewTooLargeResourceVersionError`). */
export function tooLargeResourceVersion(requested: number, current: number): KubeApiError {
  return failure({
    code: 504,
    reason: 'Timeout',
    message: `Too large resource version: ${requested}, current: ${current}`,
    details: { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 },
  });
}

/** A successful `Status`, the DELETE answer of resources that do not return the deleted object. */
export function success(d: ResourceDescriptor, name: string, uid: string): KubeStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { ...objectDetails(d, name), uid }, code: 200 };
}
