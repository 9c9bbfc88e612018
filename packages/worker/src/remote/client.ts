/**
 * One remote-write HTTP request: headers, timeout and the outcome's class, as Prometheus' `Client.Store`
 * (`storage/remote/client.go`).
 */
import { STATUS_CODES } from 'node:http';
import { request } from 'undici';
import type { ConfiguredHttpClient } from '../http-client.js';
import { errorMessage, redactedUrl, type RemoteWriteMessage } from '@promfleet/model';
import { RemoteWriteRecoverableError, RemoteWriteRejectedError } from './errors.js';

/** Settings of a {@link RemoteWriteClient}. */
export interface RemoteWriteClientOptions {
  /** The endpoint; user info in it becomes basic auth unless the HTTP client sets `Authorization`. */
  readonly url: string;
  /** `remote_timeout`: the limit on one request, from sending it to reading the end of the response. */
  readonly timeoutMs: number;
  /** The endpoint's `headers`. */
  readonly headers: ReadonlyMap<string, string>;
  /** `queue_config.retry_on_http_429`. */
  readonly retryOnHttp429: boolean;
  /** The `User-Agent` value. */
  readonly userAgent: string;
  /** The dispatcher (TLS, proxy) and the authentication and `http_headers` of `http_client`. */
  readonly http: ConfiguredHttpClient;
}

/** Prometheus reads at most this much of an error response (client.go `maxErrMsgLen`). */
const MAX_ERROR_BODY_BYTES = 1024;

/** One request for {@link RemoteWriteClient.store}. */
export interface RemoteWriteRequest {
  /** The snappy-compressed request. */
  readonly body: Buffer;
  /** Its message type, which sets the Content-Type and version headers. */
  readonly protocol: RemoteWriteMessage;
  /** The float samples and exemplars in it, checked against a 2.0 receiver's written counts. */
  readonly samples: number;
  readonly exemplars: number;
}

/**
 * What a receiver says it wrote (the Remote-Write 2.0 `X-Prometheus-Remote-Write-*-Written` headers), as
 * Prometheus' `WriteResponseStats`: a missing header counts 0, and `confirmed` tells that at least one was present.
 */
export interface WrittenStats {
  readonly samples: number;
  readonly histograms: number;
  readonly exemplars: number;
  readonly confirmed: boolean;
}

/** The response headers of the 2.0 written counts. */
export const WRITTEN_HEADERS = {
  samples: 'x-prometheus-remote-write-samples-written',
  histograms: 'x-prometheus-remote-write-histograms-written',
  exemplars: 'x-prometheus-remote-write-exemplars-written',
} as const;

/** The request headers of each protocol (Prometheus' `remoteWriteContentTypeHeaders` and version values). */
const PROTOCOL_HEADERS: Readonly<Record<RemoteWriteMessage, { readonly contentType: string; readonly version: string }>> = {
  'prometheus.WriteRequest': { contentType: 'application/x-protobuf', version: '0.1.0' },
  'io.prometheus.write.v2.Request': { contentType: 'application/x-protobuf;proto=io.prometheus.write.v2.Request', version: '2.0.0' },
};

/**
 * Sends compressed remote-write requests (1.0 or 2.0) to one endpoint. Stateless between calls; safe to use from every shard at once.
 */
export class RemoteWriteClient {
  /** The endpoint's URL with its password replaced by `xxxxx`: the only form of it that messages carry. */
  readonly redactedUrl: string;
  readonly #options: RemoteWriteClientOptions;
  /** The URL without user info (undici refuses it, and it must not reach a log). */
  readonly #requestUrl: string;
  /** `Basic …` from the URL's user info, when it has any. */
  readonly #userInfoAuth: string | undefined;

  /** Prepares a client for `options.url`; nothing is sent until {@link store}. */
  constructor(options: RemoteWriteClientOptions) {
    this.#options = options;
    // The metrics' url label, as Prometheus' `rwConf.URL.Redacted()` (storage/remote/write.go).
    this.redactedUrl = redactedUrl(options.url);
    const url = new URL(options.url);
    // Go's http.Client turns a URL's user info into basic auth when the request has no Authorization header
    // (net/http client.go `send`), which is how a remote_write URL with credentials authenticates in Prometheus.
    this.#userInfoAuth =
      url.username === '' && url.password === ''
        ? undefined
        : `Basic ${Buffer.from(`${decodeUserInfo(url.username)}:${decodeUserInfo(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
    this.#requestUrl = url.href;
  }

  /**
   * POSTs one snappy-compressed request. Resolves on a 2xx answer with the counts the receiver says it wrote; a 2.0
   * answer whose counts are lower than the request's (a partial write) resolves too, as Prometheus counts the
   * difference as failed and does not resend.
   *
   * @throws RemoteWriteRecoverableError when the request failed before an answer (connection, TLS, timeout, an
   *   unreadable credentials file — Prometheus' round tripper fails the same way and the queue retries), or the
   *   answer was 5xx, or 429 with `retry_on_http_429`; with the `Retry-After` delay when the answer had one
   *   (Prometheus honours it for both).
   * @throws RemoteWriteRejectedError for any other answer, and for a 2xx answer to a 2.0 request holding data whose
   *   written counts are all 0 or missing: Prometheus takes that for a 1.0-only receiver that ignored the
   *   Content-Type, and fails the request.
   * Aborting `signal` fails the call as a recoverable error; the caller tells a shutdown from a failure.
   */
  async store(request: RemoteWriteRequest, signal: AbortSignal): Promise<WrittenStats> {
    const failed = (what: string, err: unknown): RemoteWriteRecoverableError =>
      // The cause's text may quote the URL (a proxy's, a redirect's): redacted too.
      new RemoteWriteRecoverableError(`remote write to ${this.redactedUrl}: ${what}: ${redactedUrl(errorMessage(err))}`, {}, { cause: err });
    let authHeaders: Record<string, string>;
    try {
      authHeaders = await this.#options.http.headers();
    } catch (err) {
      throw failed('preparing the request', err);
    }
    // A timer cleared when the exchange ends, rather than AbortSignal.timeout, which fires (and builds its error)
    // remote_timeout after every request, long after the answer arrived.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), this.#options.timeoutMs);
    try {
      return await this.#exchange({ request, authHeaders, signal: AbortSignal.any([signal, deadline.signal]), failed });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The request and the reading of its answer, within `options.signal`. */
  async #exchange(options: {
    readonly request: RemoteWriteRequest;
    readonly authHeaders: Readonly<Record<string, string>>;
    readonly signal: AbortSignal;
    readonly failed: (what: string, err: unknown) => RemoteWriteRecoverableError;
  }): Promise<WrittenStats> {
    const { protocol } = options.request;
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(this.#requestUrl, {
        method: 'POST',
        dispatcher: this.#options.http.dispatcher,
        headers: this.#headers(options.authHeaders, protocol),
        body: options.request.body,
        signal: options.signal,
      });
    } catch (err) {
      throw options.failed('sending the request', err);
    }
    const status = response.statusCode;
    const written = writtenStats(response.headers);
    if (status >= 200 && status < 300) {
      await response.body.dump().catch(() => undefined);
      const { samples, exemplars } = options.request;
      if (protocol === 'io.prometheus.write.v2.Request' && samples + exemplars > 0 && written.samples + written.histograms + written.exemplars === 0) {
        throw new RemoteWriteRejectedError(
          `remote write to ${this.redactedUrl}: sent a Remote-Write 2.0 request with ${samples} samples and ${exemplars} exemplars; ` +
            `the server answered HTTP status ${status} but its X-Prometheus-Remote-Write-*-Written headers say ` +
            `${written.confirmed ? 'nothing was written' : 'nothing (they are missing)'}: the receiver may only support Remote-Write 1.0 ` +
            `and ignore the Content-Type; set protobuf_message: prometheus.WriteRequest for this endpoint`,
          status,
        );
      }
      return written;
    }
    const line = await firstLine(response.body).catch(() => '');
    let message =
      `remote write to ${this.redactedUrl}: server returned HTTP status ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd() +
      `: ${redactedUrl(line)}`;
    // client.go: 5xx is recoverable, and 429 when retry_on_http_429 is set; both honour Retry-After.
    if (status >= 500 || (status === 429 && this.#options.retryOnHttp429)) {
      const retryAfterMs = retryAfterToMs({ header: headerValue(response.headers['retry-after']), nowMs: Date.now() });
      throw new RemoteWriteRecoverableError(message, { status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
    }
    if (status === 415 && protocol === 'io.prometheus.write.v2.Request') {
      message += ' (the receiver does not accept Remote-Write 2.0: set protobuf_message: prometheus.WriteRequest for this endpoint)';
    }
    throw new RemoteWriteRejectedError(message, status);
  }

  /**
   * The request headers as undici's flat list: the endpoint's `headers`, then `http_client`'s (authorization,
   * `http_headers`), then basic auth from the URL if nothing set `Authorization`, then the four the spec requires
   * for `protocol`. The config loader rejects reserved names in the first two, so nothing here overrides another.
   */
  #headers(authHeaders: Readonly<Record<string, string>>, protocol: RemoteWriteMessage): string[] {
    const list: string[] = [];
    let hasAuthorization = false;
    for (const [name, value] of this.#options.headers) list.push(name, value);
    for (const [name, value] of Object.entries(authHeaders)) {
      if (name.toLowerCase() === 'authorization') hasAuthorization = true;
      list.push(name, value);
    }
    if (!hasAuthorization && this.#userInfoAuth !== undefined) list.push('Authorization', this.#userInfoAuth);
    list.push(
      'Content-Encoding', 'snappy',
      'Content-Type', PROTOCOL_HEADERS[protocol].contentType,
      'User-Agent', this.#options.userAgent,
      'X-Prometheus-Remote-Write-Version', PROTOCOL_HEADERS[protocol].version,
    );
    return list;
  }
}

/**
 * The delay a `Retry-After` header asks for, in ms, or undefined when there is none to honour: absent, unparsable,
 * zero or in the past. As client.go `retryAfterDuration`: an HTTP date (RFC 1123, GMT) or a whole number of seconds.
 */
export function retryAfterToMs({ header, nowMs }: { readonly header: string | undefined; readonly nowMs: number }): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  let ms: number;
  if (/^[+-]?\d+$/.test(value)) ms = Number(value) * 1000;
  // Go turns the time until the date into whole seconds (`model.Duration(s) * time.Second`).
  else if (/GMT$/.test(value) && !Number.isNaN(Date.parse(value))) ms = Math.trunc((Date.parse(value) - nowMs) / 1000) * 1000;
  else return undefined;
  return ms > 0 ? ms : undefined;
}

/** A percent-encoded user name or password, decoded; kept as written when it is not valid percent-encoding. */
function decodeUserInfo(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The written counts of a response, as Prometheus' `ParseWriteResponseStats`: an absent or empty header counts 0, an
 * unparsable one 0 too, and any header present makes the counts `confirmed`. 1.0 receivers may send them as well.
 */
export function writtenStats(headers: Readonly<Record<string, string | string[] | undefined>>): WrittenStats {
  let confirmed = false;
  const count = (name: string): number => {
    const value = headerValue(headers[name])?.trim() ?? '';
    if (value === '') return 0;
    confirmed = true;
    return /^[+-]?\d+$/.test(value) ? Number(value) : 0;
  };
  const samples = count(WRITTEN_HEADERS.samples);
  const histograms = count(WRITTEN_HEADERS.histograms);
  const exemplars = count(WRITTEN_HEADERS.exemplars);
  return { samples, histograms, exemplars, confirmed };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The first line of an error response, reading at most {@link MAX_ERROR_BODY_BYTES}. */
async function firstLine(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= MAX_ERROR_BODY_BYTES) break;
  }
  const text = Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES).toString('utf8');
  return text.split('\n', 1)[0] ?? '';
}
