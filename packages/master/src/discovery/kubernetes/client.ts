/**
 * The master's HTTP access to the Kubernetes API server: JSON GETs and watch streams, behind one client-side rate
 * limit. Authentication and TLS come from the caller (client-node's KubeConfig in production), so this module
 * holds no credentials of its own and never logs a header.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createGunzip } from 'node:zlib';
import { errorMessage } from '@promfleet/model';
import { BadObjectError } from './errors.js';
import { ListStreamParser } from './list-stream.js';

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
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError(`rate limit needs qps > 0 and burst >= 1, got qps=${qps} burst=${burst}`);
    this.#tokens = burst;
    this.#last = now();
  }

  /** Resolves when the caller may send one request; rejects if `signal` aborts first. */
  take(signal: AbortSignal): Promise<void> {
    const turn = this.#queue.then(() => this.#wait(signal));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async #wait(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const t = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#last) / 1000) * this.qps);
    this.#last = t;
    if (this.#tokens < 1) {
      await sleep(((1 - this.#tokens) / this.qps) * 1000, signal);
      this.#tokens = 1;
      this.#last = this.now();
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

/** The API client the reflectors share: one connection setting, one rate limit, one request counter. */
export class ApiClient {
  constructor(
    private readonly connection: ApiConnection,
    private readonly limiter: RateLimiter,
    private readonly onRequest: (record: ApiRequestRecord) => void = () => undefined,
  ) {}

  /**
   * GETs a List, handing each item to `onItem` as it arrives (a large list never sits in memory as text), and
   * returns the List's other fields (`metadata` with `resourceVersion` and `continue`). Asks for gzip. Throws
   * ApiError for any status but 200 or a body that is not a List.
   */
  async list(pathAndQuery: string, options: { resource: string; signal: AbortSignal; timeoutMs: number; onItem: (item: unknown) => void }): Promise<Record<string, unknown>> {
    await this.limiter.take(options.signal);
    const res = await this.#send(pathAndQuery, { ...options, verb: 'list', gzip: true });
    if (res.statusCode !== 200) throw statusError(res, await readBody(res, options.signal));
    const body: AsyncIterable<string> = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()).setEncoding('utf8') : res.setEncoding('utf8');
    const parser = new ListStreamParser(options.onItem);
    try {
      for await (const chunk of body) parser.push(chunk);
      return parser.finish();
    } catch (err) {
      if (options.signal.aborted) throw options.signal.reason as Error;
      if (err instanceof SyntaxError) throw new ApiError(`list ${options.resource}: not a List: ${err.message}`, { status: 200, cause: err });
      if (err instanceof ApiError || err instanceof BadObjectError) throw err;
      throw new ApiError(`list ${options.resource}: response broke: ${errorMessage(err)}`, { status: 0, cause: err });
    } finally {
      res.destroy();
    }
  }

  /**
   * Opens a watch and yields its lines (one JSON event each) as they arrive. The iteration ends when the server
   * closes the stream; it throws ApiError on a non-200 answer or a broken stream, and stops on abort.
   */
  async *watch(pathAndQuery: string, options: { resource: string; signal: AbortSignal }): AsyncGenerator<string> {
    await this.limiter.take(options.signal);
    const res = await this.#send(pathAndQuery, { ...options, verb: 'watch', timeoutMs: 0 });
    if (res.statusCode !== 200) throw statusError(res, await readBody(res, options.signal));
    res.setEncoding('utf8');
    let pending = '';
    try {
      for await (const chunk of res as AsyncIterable<string>) {
        pending += chunk;
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line !== '') yield line;
          nl = pending.indexOf('\n');
        }
      }
    } catch (err) {
      if (options.signal.aborted) return;
      throw new ApiError(`watch ${options.resource}: stream broke: ${errorMessage(err)}`, { status: 0, cause: err });
    } finally {
      res.destroy();
    }
    if (pending.trim() !== '') yield pending.trim();
  }

  /**
   * GETs one object: its JSON, or undefined when it does not exist (404). Throws ApiError for any other status but
   * 200, or a body that is not JSON.
   */
  async get(pathAndQuery: string, options: { resource: string; signal: AbortSignal; timeoutMs: number }): Promise<unknown> {
    await this.limiter.take(options.signal);
    const res = await this.#send(pathAndQuery, { ...options, verb: 'get' });
    const body = await readBody(res, options.signal);
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw statusError(res, body);
    try {
      return JSON.parse(body) as unknown;
    } catch (err) {
      throw new ApiError(`get ${options.resource}: not JSON`, { status: 200, cause: err });
    }
  }

  async #send(pathAndQuery: string, options: { verb: 'list' | 'watch' | 'get'; resource: string; signal: AbortSignal; timeoutMs: number; gzip?: boolean }): Promise<IncomingMessage> {
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
            accept: 'application/json',
            'user-agent': this.connection.userAgent,
            ...(options.gzip === true ? { 'accept-encoding': 'gzip' } : {}),
          },
        },
        (res) => {
          this.onRequest({ verb: options.verb, resource: options.resource, status: res.statusCode ?? 0 });
          resolve(res);
        },
      );
      if (options.timeoutMs > 0) {
        req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no response within ${options.timeoutMs} ms`)));
      }
      req.on('error', (err) => {
        if (!options.signal.aborted) this.onRequest({ verb: options.verb, resource: options.resource, status: 0 });
        reject(options.signal.aborted ? (options.signal.reason as Error) : new ApiError(`${options.verb} ${options.resource}: ${errorMessage(err)}`, { status: 0, cause: err }));
      });
      req.end();
    });
  }
}

async function readBody(res: IncomingMessage, signal: AbortSignal): Promise<string> {
  res.setEncoding('utf8');
  let body = '';
  try {
    for await (const chunk of res as AsyncIterable<string>) body += chunk;
  } catch (err) {
    if (signal.aborted) throw signal.reason as Error;
    throw new ApiError(`response broke: ${errorMessage(err)}`, { status: 0, cause: err });
  }
  return body;
}

/** An ApiError from a non-200 answer, with the Status message and `Retry-After` when the server sent them. */
function statusError(res: IncomingMessage, body: string): ApiError {
  const status = res.statusCode ?? 0;
  let message = res.statusMessage ?? '';
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // Not a Status object: the status line says enough.
  }
  const retryAfter = Number(res.headers['retry-after']);
  return new ApiError(`HTTP ${status}: ${message}`, Number.isFinite(retryAfter) && retryAfter >= 0 ? { status, retryAfterMs: retryAfter * 1000 } : { status });
}
