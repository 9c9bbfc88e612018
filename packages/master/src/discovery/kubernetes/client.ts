/**
 * The master's HTTP access to the Kubernetes API server: lists, watch streams and GETs, behind one client-side rate
 * limit. Built-in kinds are asked for in protobuf, as client-go asks (`Accept: application/vnd.kubernetes.protobuf,
 * application/json`), and read in whatever encoding the answer's Content-Type names; custom resources, which the API
 * server serves only in JSON, are asked for in JSON. Authentication and TLS come from the caller (client-node's KubeConfig in production), so this module
 * holds no credentials of its own and never logs a header.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { errorMessage } from '@promfleet/model';
import { BadObjectError, type KubernetesKind, type OperatorKind } from './errors.js';
import { ListStreamParser } from './list-stream.js';
import {
  decodeStatus,
  decodeWatchEvent,
  isProtobufContentType,
  mediaType,
  ProtobufDecodeError,
  ProtobufListReader,
  protobufKind,
  PROTOBUF_MEDIA_TYPE,
  WatchFrameReader,
  type DecodedWatchEvent,
} from './protobuf.js';

/** A request the API server refused or that failed on the way; `status` is 0 for a network error. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code = 'PROMFLEET_K8S_API_ERROR';
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, details: { status: number; retryAfterMs?: number; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** What to present to the API server: its URL, and the request options (agent with CA/cert/key, auth headers). */
export interface ApiConnection {
  readonly server: string;
  /**
   * The options for the next request (agent with CA/cert/key, auth headers). Called per request, so a rotating
   * service-account token or credentials file is read fresh, as client-go does.
   */
  readonly requestOptions: () => Promise<RequestOptions>;
  readonly userAgent: string;
}

/** One finished request, for metrics: verb, resource and the status code (0 for a network error). */
export interface ApiRequestRecord {
  readonly verb: 'list' | 'watch' | 'get';
  readonly resource: string;
  readonly status: number;
}

/** The time a {@link RateLimiter} reads and waits on: ms, monotonic. */
export interface LimiterClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

const realClock: LimiterClock = { now: () => performance.now(), sleep: (ms, signal) => sleep(ms, signal) };

/**
 * A token bucket: `qps` tokens a second, at most `burst` saved up, as client-go's default limiter (QPS 5, burst
 * 10). `take()` waits for a token; it never lets a caller through faster than the rate, however many callers wait.
 */
export class RateLimiter {
  #tokens: number;
  #last: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly clock: LimiterClock = realClock,
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError(`rate limit needs qps > 0 and burst >= 1, got qps=${qps} burst=${burst}`);
    this.#tokens = burst;
    this.#last = clock.now();
  }

  /** Resolves when the caller may send one request; rejects if `signal` aborts first. */
  take(signal: AbortSignal): Promise<void> {
    const turn = this.#queue.then(() => this.#wait(signal));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #wait(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const t = this.clock.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#last) / 1000) * this.qps);
    this.#last = t;
    if (this.#tokens < 1) {
      await this.clock.sleep(((1 - this.#tokens) / this.qps) * 1000, signal);
      this.#tokens = 1;
      this.#last = this.clock.now();
    }
    this.#tokens -= 1;
  }
}

/** Resolves when `signal` aborts — at once if it already has. */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Resolves after `ms`, or rejects with the abort reason when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * How the master asks for built-in kinds: `protobuf` (the default, as client-go) falls back to JSON when the server
 * answers JSON; `json` never asks for protobuf.
 */
export type ApiEncoding = 'protobuf' | 'json';

/** Options of {@link ApiClient}. */
export interface ApiClientOptions {
  /** Called for every answered or failed request. */
  readonly onRequest?: (record: ApiRequestRecord) => void;
  readonly encoding?: ApiEncoding;
}

/** A watch event as the API server sent it, in the shape of the JSON encoding: `type` and the `object`. */
export type ApiWatchEvent = DecodedWatchEvent;

/** What a list or watch reads: the resource's plural for metrics and errors, and the kind its items have. */
export interface ApiResourceRef {
  readonly resource: string;
  readonly kind: KubernetesKind | OperatorKind;
}

/** The API client the reflectors share: one connection setting, one rate limit, one request counter. */
export class ApiClient {
  readonly #onRequest: (record: ApiRequestRecord) => void;
  readonly #encoding: ApiEncoding;

  constructor(
    private readonly connection: ApiConnection,
    private readonly limiter: RateLimiter,
    options: ApiClientOptions = {},
  ) {
    this.#onRequest = options.onRequest ?? (() => undefined);
    this.#encoding = options.encoding ?? 'protobuf';
  }

  /** The Accept header for reading `kind`: protobuf first for a built-in kind unless JSON was chosen. */
  #accept(kind: KubernetesKind | OperatorKind): string {
    return this.#encoding === 'protobuf' && protobufKind(kind) ? `${PROTOBUF_MEDIA_TYPE}, application/json` : 'application/json';
  }

  /**
   * GETs a List, handing each item to `onItem` as it arrives (a large list never sits in memory whole), and
   * returns the List's other fields in the JSON shape (`metadata` with `resourceVersion` and `continue`). Asks for
   * gzip. Throws ApiError for any status but 200 or a body that is not a List.
   */
  async list(pathAndQuery: string, options: ApiResourceRef & { signal: AbortSignal; timeoutMs: number; onItem: (item: unknown) => void }): Promise<Record<string, unknown>> {
    await this.limiter.take(options.signal);
    const res = await this.#send(pathAndQuery, { ...options, verb: 'list', gzip: true, accept: this.#accept(options.kind) });
    if (res.statusCode !== 200) throw statusError(res, await readBody(res, options.signal));
    const unzipped: AsyncIterable<Buffer> = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
    const contentType = res.headers['content-type'];
    try {
      if (isProtobufContentType(contentType)) {
        const kind = options.kind;
        if (!protobufKind(kind)) throw new ApiError(`list ${options.resource}: the server answered protobuf for ${kind}, which has no protobuf form`, { status: 200 });
        const reader = new ProtobufListReader(kind, options.onItem);
        for await (const chunk of unzipped) reader.push(chunk);
        return reader.finish();
      }
      checkJson(contentType, `list ${options.resource}`);
      const parser = new ListStreamParser(options.onItem);
      const decoder = new StringDecoder('utf8');
      for await (const chunk of unzipped) parser.push(decoder.write(chunk));
      parser.push(decoder.end());
      return parser.finish();
    } catch (err) {
      if (options.signal.aborted) throw options.signal.reason as Error;
      if (err instanceof SyntaxError || err instanceof ProtobufDecodeError) throw new ApiError(`list ${options.resource}: not a List: ${err.message}`, { status: 200, cause: err });
      if (err instanceof ApiError || err instanceof BadObjectError) throw err;
      throw new ApiError(`list ${options.resource}: response broke: ${errorMessage(err)}`, { status: 0, cause: err });
    } finally {
      res.destroy();
    }
  }

  /**
   * Opens a watch and yields its events, in the JSON shape, as they arrive. The iteration ends when the server
   * closes the stream; it throws ApiError on a non-200 answer, an event it cannot read or a broken stream, and stops
   * on abort.
   */
  async *watch(pathAndQuery: string, options: ApiResourceRef & { signal: AbortSignal }): AsyncGenerator<ApiWatchEvent> {
    await this.limiter.take(options.signal);
    const res = await this.#send(pathAndQuery, { ...options, verb: 'watch', timeoutMs: 0, accept: this.#accept(options.kind) });
    if (res.statusCode !== 200) throw statusError(res, await readBody(res, options.signal));
    const where = `watch ${options.resource}`;
    const contentType = res.headers['content-type'];
    const protobuf = isProtobufContentType(contentType);
    if (!protobuf) checkJson(contentType, where);
    const kind = options.kind;
    if (protobuf && !protobufKind(kind)) throw new ApiError(`${where}: the server answered protobuf for ${kind}, which has no protobuf form`, { status: 200 });
    const frames = new WatchFrameReader();
    const lines = new LineReader();
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        if (protobuf) {
          for (const frame of frames.push(chunk)) yield decodeWatchEvent(frame, kind as KubernetesKind);
        } else {
          for (const line of lines.push(chunk)) yield jsonEvent(line, where);
        }
      }
    } catch (err) {
      if (options.signal.aborted) return;
      if (err instanceof ProtobufDecodeError) throw new ApiError(`${where}: ${err.message}`, { status: 200, cause: err });
      if (err instanceof ApiError) throw err;
      throw new ApiError(`${where}: stream broke: ${errorMessage(err)}`, { status: 0, cause: err });
    } finally {
      res.destroy();
    }
    if (protobuf && frames.leftover > 0) throw new ApiError(`${where}: the stream ended inside an event`, { status: 0 });
    const last = lines.end();
    if (last !== undefined) yield jsonEvent(last, where);
  }

  /**
   * GETs one object: its JSON, or undefined when it does not exist (404). Throws ApiError for any other status but
   * 200, or a body that is not JSON.
   */
  async get(pathAndQuery: string, options: { resource: string; signal: AbortSignal; timeoutMs: number }): Promise<unknown> {
    await this.limiter.take(options.signal);
    const res = await this.#send(pathAndQuery, { ...options, verb: 'get', accept: 'application/json' });
    const body = await readBody(res, options.signal);
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw statusError(res, body);
    try {
      return JSON.parse(body.toString('utf8')) as unknown;
    } catch (err) {
      throw new ApiError(`get ${options.resource}: not JSON`, { status: 200, cause: err });
    }
  }

  async #send(pathAndQuery: string, options: { verb: 'list' | 'watch' | 'get'; resource: string; signal: AbortSignal; timeoutMs: number; accept: string; gzip?: boolean }): Promise<IncomingMessage> {
    const url = new URL(pathAndQuery, this.connection.server);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let base: RequestOptions;
    try {
      base = await this.connection.requestOptions();
    } catch (err) {
      throw new ApiError(`${options.verb} ${options.resource}: credentials: ${errorMessage(err)}`, { status: 0, cause: err });
    }
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          ...base,
          method: 'GET',
          signal: options.signal,
          headers: {
            ...base.headers,
            accept: options.accept,
            'user-agent': this.connection.userAgent,
            ...(options.gzip === true ? { 'accept-encoding': 'gzip' } : {}),
          },
        },
        (res) => {
          this.#onRequest({ verb: options.verb, resource: options.resource, status: res.statusCode ?? 0 });
          resolve(res);
        },
      );
      if (options.timeoutMs > 0) {
        req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no response within ${options.timeoutMs} ms`)));
      }
      req.on('error', (err) => {
        if (!options.signal.aborted) this.#onRequest({ verb: options.verb, resource: options.resource, status: 0 });
        reject(options.signal.aborted ? (options.signal.reason as Error) : new ApiError(`${options.verb} ${options.resource}: ${errorMessage(err)}`, { status: 0, cause: err }));
      });
      req.end();
    });
  }
}

async function readBody(res: IncomingMessage, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  } catch (err) {
    if (signal.aborted) throw signal.reason as Error;
    throw new ApiError(`response broke: ${errorMessage(err)}`, { status: 0, cause: err });
  }
  return Buffer.concat(chunks);
}

/** Refuses an answer in neither encoding (an HTML error page from a proxy, say); no Content-Type is read as JSON. */
function checkJson(contentType: string | undefined, where: string): void {
  const type = mediaType(contentType);
  if (type !== '' && type !== 'application/json') throw new ApiError(`${where}: unexpected Content-Type ${JSON.stringify(type)}`, { status: 200 });
}

/** Splits a JSON watch stream into its lines, one event each. */
class LineReader {
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';

  push(chunk: Buffer): string[] {
    this.#pending += this.#decoder.write(chunk);
    const lines: string[] = [];
    let nl = this.#pending.indexOf('\n');
    while (nl >= 0) {
      const line = this.#pending.slice(0, nl).trim();
      this.#pending = this.#pending.slice(nl + 1);
      if (line !== '') lines.push(line);
      nl = this.#pending.indexOf('\n');
    }
    return lines;
  }

  /** The last line when the stream ended without a newline after it. */
  end(): string | undefined {
    const last = (this.#pending + this.#decoder.end()).trim();
    this.#pending = '';
    return last === '' ? undefined : last;
  }
}

function jsonEvent(line: string, where: string): ApiWatchEvent {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    throw new ApiError(`${where}: an event is not JSON`, { status: 200 });
  }
  const { type, object } = (typeof event === 'object' && event !== null ? event : {}) as { type?: unknown; object?: unknown };
  return { type: typeof type === 'string' ? type : '', object };
}

/**
 * An ApiError from a non-200 answer, with the Status message (in protobuf or JSON, as the Content-Type says) and
 * `Retry-After` when the server sent them.
 */
function statusError(res: IncomingMessage, body: Buffer): ApiError {
  const status = res.statusCode ?? 0;
  let message = res.statusMessage ?? '';
  if (isProtobufContentType(res.headers['content-type'])) {
    message = decodeStatus(body)?.message ?? message;
  } else {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { message?: unknown };
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // Not a Status object: the status line says enough.
    }
  }
  const retryAfter = Number(res.headers['retry-after']);
  return new ApiError(`HTTP ${status}: ${message}`, Number.isFinite(retryAfter) && retryAfter >= 0 ? { status, retryAfterMs: retryAfter * 1000 } : { status });
}
