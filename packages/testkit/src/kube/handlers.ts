/**
 * The resource verbs: list, get and watch with the real server's resourceVersion semantics, and create, update,
 * patch and delete with its strategies' treatment of `status`. Each handler answers or throws `KubeApiError`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeContinue, encodeContinue, encodeStart } from './continue-token.js';
import { mediaType, parseJsonBody, readJsonBody, readText, sendObject, streamList, streamProtobufList, type EncodedItemCache } from './http.js';
import type { ResponseEncoding } from './negotiation.js';
import { isRecord, omitKeys, type KubeObject, type ObjectMeta, type ObjectRef } from './objects.js';
import { applyJsonPatch, applyMergePatch, PatchError } from './patch.js';
import { kindSchema } from './protobuf.js';
import type { ResourceDescriptor } from './resources.js';
import { parseBool, type ResourceRequest } from './routing.js';
import { parseFieldSelector, parseLabelSelector, scopePrefix, filterMatches, type ObjectFilter } from './selectors.js';
import {
  badRequest,
  expired,
  internalError,
  invalidListOptions,
  KubeApiError,
  methodNotAllowed,
  notFound,
  pathNotFound,
  success,
  tooLargeResourceVersion,
  unprocessable,
  unsupportedMediaType,
  type KubeStatus,
} from './status.js';
import type { ObjectStore } from './store.js';
import type { WatchStart } from './watch.js';

/** What a handler needs from the server for one request. */
export interface HandlerContext {
  readonly store: ObjectStore;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly request: ResourceRequest;
  readonly descriptor: ResourceDescriptor;
  /** The negotiated response encoding. */
  readonly encoding: ResponseEncoding;
  /** Where list items' encodings are kept between lists, when the server keeps them. */
  readonly itemCache: EncodedItemCache | undefined;
  /** Whether a list larger than 128 KiB is gzipped (the server compresses and the client accepts gzip). */
  readonly gzip: boolean;
  /** Aborts when the server stops, ending waits for a future resourceVersion. */
  readonly signal: AbortSignal;
  /** How long a read waits for a resourceVersion the store has not reached before answering 504. */
  readonly resourceVersionWaitMs: number;
  /** Opens a watch stream registered with the server and starts it synchronously with `start`. */
  readonly startWatch: (options: { readonly filter: ObjectFilter; readonly start: WatchStart; readonly timeoutSeconds: number | undefined }) => void;
}

/** Handles one resource request. */
export async function handleResource(ctx: HandlerContext): Promise<void> {
  const { request, descriptor: d } = ctx;
  if (request.subresource !== undefined) {
    if (request.subresource !== 'status' || !d.hasStatus) throw pathNotFound();
    if (request.verb !== 'get' && request.verb !== 'update' && request.verb !== 'patch') throw methodNotAllowed();
  }
  if (d.namespaced && request.namespace === undefined && request.name !== undefined) throw pathNotFound();
  switch (request.verb) {
    case 'list':
      return list(ctx);
    case 'watch':
      return watch(ctx);
    case 'get':
      return get(ctx);
    case 'create':
      return create(ctx);
    case 'update':
      return update(ctx);
    case 'patch':
      return patch(ctx);
    case 'delete':
      return remove(ctx);
    case 'deletecollection':
      throw methodNotAllowed();
  }
}

/** Answers with an object or a Status in the negotiated encoding. */
function reply(ctx: HandlerContext, code: number, body: KubeObject | KubeStatus): void {
  sendObject(ctx.res, { code, body, encoding: ctx.encoding });
}

function requestFilter(ctx: HandlerContext): ObjectFilter {
  const q = ctx.url.searchParams;
  const name = ctx.request.name;
  const fieldSelector = q.get('fieldSelector') ?? '';
  // A watch on one object's URL is a watch with a metadata.name field selector (`requestinfo.go`).
  const fields = name === undefined ? fieldSelector : [fieldSelector, `metadata.name=${name}`].filter((s) => s !== '').join(',');
  return {
    namespace: ctx.request.namespace,
    labels: parseLabelSelector(q.get('labelSelector') ?? ''),
    fields: parseFieldSelector(fields, ctx.descriptor),
  };
}

function parseResourceVersion(value: string): number {
  if (!/^\d+$/.test(value)) throw badRequest(`resourceVersion: Invalid value: "${value}": must be a non-negative integer`);
  return Number(value);
}

function parseNonNegative(name: string, value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw badRequest(`${name}: Invalid value: "${value}": must be a non-negative integer`);
  return Number(value);
}

/** Waits for a resourceVersion newer than the store's, as the watch cache does, then gives up with 504. */
async function awaitResourceVersion(ctx: HandlerContext, rv: number): Promise<void> {
  if (rv <= ctx.store.resourceVersion) return;
  const reached = await ctx.store.waitFor(rv, { timeoutMs: ctx.resourceVersionWaitMs, signal: ctx.signal });
  if (!reached) throw tooLargeResourceVersion(rv, ctx.store.resourceVersion);
}

/** `ValidateListOptions` (apimachinery `internalversion/validation`) for a list request. */
function validateListOptions(rv: string, match: string, continueToken: string): void {
  if (match !== '') {
    if (rv === '') throw invalidListOptions('resourceVersionMatch', 'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided');
    if (continueToken !== '') throw invalidListOptions('resourceVersionMatch', 'Forbidden: resourceVersionMatch is forbidden when continue is provided');
    if (match !== 'Exact' && match !== 'NotOlderThan') {
      throw invalidListOptions('resourceVersionMatch', `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan", ""`);
    }
    if (match === 'Exact' && rv === '0') throw invalidListOptions('resourceVersionMatch', 'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
  }
  if (continueToken !== '' && rv !== '' && rv !== '0') throw badRequest('specifying resource version is not allowed when using continue');
}

/** Where a list reads from: a revision (undefined for the current state), the revision it reports, a page size. */
interface ListPlan {
  readonly atResourceVersion: number | undefined;
  readonly listResourceVersion: number;
  readonly startKey: string | undefined;
  readonly limit: number | undefined;
  readonly continued: boolean;
}

/**
 * Chooses where a list reads from, following `shouldDelegateList` (cacher/delegator.go) and `computeListLimit`
 * (cacher.go): a continuation and an `Exact` (or legacy limited) read go to "etcd" at that revision; everything
 * else is served from the "watch cache" at its current revision; and `resourceVersion=0` ignores `limit`.
 */
async function planList(ctx: HandlerContext, prefix: string): Promise<ListPlan> {
  const q = ctx.url.searchParams;
  const rv = q.get('resourceVersion') ?? '';
  const match = q.get('resourceVersionMatch') ?? '';
  const continueToken = q.get('continue') ?? '';
  const limit = parseNonNegative('limit', q.get('limit')) || undefined;
  validateListOptions(rv, match, continueToken);
  const current = ctx.store.resourceVersion;
  if (continueToken !== '') {
    const token = decodeContinue(continueToken, prefix);
    const latest = token.resourceVersion === -1;
    return {
      atResourceVersion: latest ? undefined : token.resourceVersion,
      listResourceVersion: latest ? current : token.resourceVersion,
      startKey: token.startKey,
      limit,
      continued: true,
    };
  }
  if (rv === '') return { atResourceVersion: undefined, listResourceVersion: current, startKey: undefined, limit, continued: false };
  const requested = parseResourceVersion(rv);
  if (requested === 0) return { atResourceVersion: undefined, listResourceVersion: current, startKey: undefined, limit: undefined, continued: false };
  await awaitResourceVersion(ctx, requested);
  if (match === 'Exact' || (match === '' && limit !== undefined)) {
    return { atResourceVersion: requested, listResourceVersion: requested, startKey: undefined, limit, continued: false };
  }
  return { atResourceVersion: undefined, listResourceVersion: ctx.store.resourceVersion, startKey: undefined, limit, continued: false };
}

async function list(ctx: HandlerContext): Promise<void> {
  const d = ctx.descriptor;
  const filter = requestFilter(ctx);
  if (ctx.url.searchParams.has('sendInitialEvents')) throw invalidListOptions('sendInitialEvents', 'Forbidden: sendInitialEvents is forbidden for list');
  const prefix = scopePrefix(filter.namespace);
  const plan = await planList(ctx, prefix);
  const selectorsEmpty = filter.labels.empty && filter.fields.empty;
  let selection;
  try {
    selection = ctx.store.select(d, {
      prefix,
      ...(plan.startKey === undefined ? {} : { startKey: plan.startKey }),
      ...(plan.atResourceVersion === undefined ? {} : { atResourceVersion: plan.atResourceVersion }),
      ...(plan.limit === undefined ? {} : { limit: plan.limit }),
      filter: (obj) => filterMatches(filter, obj),
      countRemaining: selectorsEmpty,
    });
  } catch (error) {
    // etcd3 store.go handleCompactedErrorForPaging: offer the rest of the list at the latest revision instead.
    if (plan.continued && error instanceof KubeApiError && error.reason === 'Expired' && plan.startKey !== undefined) {
      throw expired(
        'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        encodeStart(-1, plan.startKey),
      );
    }
    throw error;
  }
  const metadata: Record<string, unknown> = { resourceVersion: String(plan.listResourceVersion) };
  if (selection.hasMore && selection.lastKey !== undefined) {
    metadata['continue'] = encodeContinue(plan.listResourceVersion, selection.lastKey);
    // The count is only known when every object matches (`storage.PrepareContinueToken`).
    if (selection.remaining !== undefined) metadata['remainingItemCount'] = selection.remaining;
  }
  const itemSchema = kindSchema(d.apiVersion, d.kind);
  if (ctx.encoding === 'protobuf' && itemSchema !== undefined) {
    await streamProtobufList({ res: ctx.res, gzip: ctx.gzip }, { apiVersion: d.apiVersion, listKind: d.listKind, itemSchema, metadata, items: selection.items }, ctx.itemCache);
    return;
  }
  const head = `{"kind":"${d.listKind}","apiVersion":"${d.apiVersion}","metadata":${JSON.stringify(metadata)},"items":[`;
  await streamList({ res: ctx.res, gzip: ctx.gzip }, { head, items: selection.items, cache: ctx.itemCache });
}

async function get(ctx: HandlerContext): Promise<void> {
  const rv = ctx.url.searchParams.get('resourceVersion') ?? '';
  if (rv !== '') await awaitResourceVersion(ctx, parseResourceVersion(rv));
  const obj = ctx.store.get(ref(ctx));
  if (obj === undefined) throw notFound(ctx.descriptor, ctx.request.name ?? '');
  reply(ctx, 200, obj);
}

/** `validateWatchOptions` for the streaming-list parameters. */
function validateWatchOptions(q: URLSearchParams): void {
  const match = q.get('resourceVersionMatch') ?? '';
  const sendInitialEvents = q.get('sendInitialEvents');
  if (sendInitialEvents === null) {
    if (match !== '') throw invalidListOptions('resourceVersionMatch', 'Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
    return;
  }
  if (match !== 'NotOlderThan') {
    throw invalidListOptions('resourceVersionMatch', `Unsupported value: "${match}": supported values: "NotOlderThan"`);
  }
  if (!parseBool(q.get('allowWatchBookmarks'))) {
    throw invalidListOptions('allowWatchBookmarks', 'Forbidden: allowWatchBookmarks must be set to true when sendInitialEvents is provided');
  }
}

/**
 * Starts a watch (`cacher.Watch` and `watchCache.getAllEventsSinceLocked`): with no resourceVersion or `0`, the
 * current objects as synthetic ADDED events, then live events; from resourceVersion N, every recorded event after N,
 * or a 410 `too old resource version` ERROR event when the history no longer reaches back to N.
 */
async function watch(ctx: HandlerContext): Promise<void> {
  const q = ctx.url.searchParams;
  const filter = requestFilter(ctx);
  validateWatchOptions(q);
  const timeoutSeconds = parseNonNegative('timeoutSeconds', q.get('timeoutSeconds'));
  const rv = q.get('resourceVersion') ?? '';
  const requested = rv === '' ? 0 : parseResourceVersion(rv);
  const sendInitialEvents = q.get('sendInitialEvents');
  if (requested > 0) await awaitResourceVersion(ctx, requested);
  const store = ctx.store;
  const d = ctx.descriptor;
  let start: WatchStart;
  if (sendInitialEvents === 'true' || (sendInitialEvents === null && requested === 0)) {
    const objects = store.select(d, { prefix: scopePrefix(filter.namespace), filter: (obj) => filterMatches(filter, obj) }).items;
    start = { kind: 'snapshot', objects, resourceVersion: store.resourceVersion, endBookmark: sendInitialEvents === 'true' };
  } else {
    // sendInitialEvents=false with no resourceVersion means "from now, without the current state".
    const from = requested === 0 ? store.resourceVersion : requested;
    try {
      start = { kind: 'history', events: store.eventsAfter(d, from) };
    } catch (error) {
      if (!(error instanceof KubeApiError)) throw error;
      start = { kind: 'error', status: error.status };
    }
  }
  ctx.startWatch({ filter, start, timeoutSeconds });
}

function ref(ctx: HandlerContext): ObjectRef {
  const { request } = ctx;
  return { resource: ctx.descriptor.name, ...(request.namespace === undefined ? {} : { namespace: request.namespace }), name: request.name ?? '' };
}

/** Checks a request body and fills `apiVersion`, `kind` and the URL's namespace where the body leaves them out. */
function bodyObject(ctx: HandlerContext, body: unknown): KubeObject {
  const d = ctx.descriptor;
  if (!isRecord(body)) throw badRequest('the request body must be a JSON object');
  const apiVersion = body['apiVersion'] ?? d.apiVersion;
  const kind = body['kind'] ?? d.kind;
  if (apiVersion !== d.apiVersion || kind !== d.kind) {
    throw badRequest(`the object provided is unrecognized (must be of type ${d.kind}): ${JSON.stringify(apiVersion)}, ${JSON.stringify(kind)}`);
  }
  const metadata = body['metadata'] ?? {};
  if (!isRecord(metadata)) throw badRequest('metadata must be an object');
  for (const field of ['labels', 'annotations']) {
    const value = metadata[field];
    if (value !== undefined && (!isRecord(value) || Object.values(value).some((v) => typeof v !== 'string'))) {
      throw badRequest(`metadata.${field} must map strings to strings`);
    }
  }
  let namespace = metadata['namespace'];
  if (d.namespaced) {
    if (namespace === undefined || namespace === '') namespace = ctx.request.namespace;
    else if (namespace !== ctx.request.namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  return { ...body, apiVersion: d.apiVersion, kind: d.kind, metadata: { ...metadata, ...(namespace === undefined ? {} : { namespace }) } as ObjectMeta };
}

/** What a strategy's `PrepareForCreate` does with the client's `status`: keep it, or replace it (undefined drops it). */
type CreateStatus = { readonly keep: true } | { readonly keep: false; readonly status: unknown };

/** `PrepareForCreate` of each strategy: only a node (registered by its kubelet) keeps the status it is created with. */
function statusOnCreate(d: ResourceDescriptor): CreateStatus {
  switch (d.name) {
    case 'nodes':
      return { keep: true };
    case 'pods':
      return { keep: false, status: { phase: 'Pending' } };
    case 'namespaces':
      return { keep: false, status: { phase: 'Active' } };
    case 'services':
    case 'ingresses':
      return { keep: false, status: { loadBalancer: {} } };
    case 'replicasets':
    case 'jobs':
      // The workload strategies reset the status a client sends on create; the controllers fill it in.
      return { keep: false, status: {} };
    case 'endpoints':
    case 'endpointslices':
    case 'leases':
    case 'secrets':
    case 'configmaps':
    case 'servicemonitors':
    case 'podmonitors':
    case 'probes':
    case 'scrapeconfigs':
      // prometheus-operator's CRDs have a status subresource: the CRD strategy drops the status on create.
      return { keep: false, status: undefined };
  }
}

async function create(ctx: HandlerContext): Promise<void> {
  const d = ctx.descriptor;
  if (ctx.request.name !== undefined) throw methodNotAllowed();
  if (d.namespaced && ctx.request.namespace === undefined) throw methodNotAllowed();
  const obj = bodyObject(ctx, await readJsonBody(ctx.req));
  const meta = obj.metadata;
  if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') throw internalError('resourceVersion should not be set on objects to be created');
  // rest.FillObjectMetaSystemFields: the server, not the client, sets these.
  const clientMeta = omitKeys(meta, ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'managedFields']);
  const onCreate = statusOnCreate(d);
  const prepared: KubeObject = onCreate.keep
    ? { ...obj, metadata: clientMeta }
    : { ...omitKeys(obj, ['status']), metadata: clientMeta, ...(onCreate.status === undefined ? {} : { status: onCreate.status }) };
  reply(ctx, 201, ctx.store.create(prepared));
}

/** Clears `resourceVersion` when the client sent none, which makes the write unconditional. */
function withPrecondition(meta: ObjectMeta, resourceVersion: unknown): ObjectMeta {
  return { ...meta, resourceVersion: typeof resourceVersion === 'string' ? resourceVersion : '' };
}

/**
 * Applies the status strategies: a write to the main resource keeps the stored `status`; a write to `/status`
 * keeps everything but `status` (`ResetObjectMetaForStatus`).
 */
function applyStatusStrategy(ctx: HandlerContext, current: KubeObject, next: KubeObject): KubeObject {
  if (ctx.request.subresource === 'status') {
    const { status } = next;
    return { ...current, metadata: withPrecondition(current.metadata, next.metadata.resourceVersion), ...(status === undefined ? {} : { status }) };
  }
  if (!ctx.descriptor.hasStatus) return next;
  const status = current['status'];
  return status === undefined ? omitKeys(next, ['status']) : { ...next, status };
}

async function update(ctx: HandlerContext): Promise<void> {
  const obj = bodyObject(ctx, await readJsonBody(ctx.req));
  const urlName = ctx.request.name ?? '';
  if (obj.metadata.name !== urlName) {
    throw badRequest(`the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${urlName})`);
  }
  const current = ctx.store.get(ref(ctx));
  if (current === undefined) {
    if (ctx.request.subresource !== undefined || !ctx.descriptor.allowCreateOnUpdate) throw notFound(ctx.descriptor, urlName);
    reply(ctx, 201, ctx.store.update(obj));
    return;
  }
  reply(ctx, 200, ctx.store.update(applyStatusStrategy(ctx, current, obj)));
}

const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'];

async function patch(ctx: HandlerContext): Promise<void> {
  const type = mediaType(ctx.req);
  if (!patchTypes.includes(type)) throw unsupportedMediaType(patchTypes);
  const document = parseJsonBody(await readText(ctx.req));
  const updated = ctx.store.modify(ref(ctx), (current) => {
    let patched: unknown;
    try {
      patched = type === 'application/json-patch+json' ? applyJsonPatch(current, document) : applyMergePatch(current, document);
    } catch (error) {
      if (error instanceof PatchError) throw unprocessable(error.message);
      throw error;
    }
    if (!isRecord(patched) || !isRecord(patched['metadata'])) throw unprocessable('the patched object has no metadata');
    const next = { ...patched, apiVersion: current.apiVersion, kind: current.kind, metadata: patched['metadata'] as ObjectMeta };
    return applyStatusStrategy(ctx, current, next);
  });
  reply(ctx, 200, updated);
}

async function remove(ctx: HandlerContext): Promise<void> {
  const body = await readJsonBody(ctx.req);
  const preconditions = isRecord(body) && isRecord(body['preconditions']) ? body['preconditions'] : {};
  const uid = preconditions['uid'];
  const resourceVersion = preconditions['resourceVersion'];
  const deleted = ctx.store.delete(ref(ctx), {
    ...(typeof uid === 'string' ? { uid } : {}),
    ...(typeof resourceVersion === 'string' ? { resourceVersion } : {}),
  });
  const d = ctx.descriptor;
  reply(ctx, 200, d.returnDeletedObject ? deleted : success(d, deleted.metadata.name ?? '', deleted.metadata.uid ?? ''));
}
