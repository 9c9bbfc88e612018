/**
 * One HTTP scrape of one target, as Prometheus' `scrape/scrape.go` `targetScraper` does it (`scrape` and
 * `readResponse`): the request headers Prometheus sends, the status check, gzip, the body size limit, and the
 * scrape timeout over the whole exchange.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { constants as zlibConstants, createGunzip, type Gunzip } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { formatDuration, redactedUrl, type ScrapeConfig } from '@promfleet/model';
import { CredentialsConfigError, type SecretFilePolicy } from '@promfleet/credentials';
import { configureHttpClient, type ConfiguredHttpClient } from '../http-client.js';

/** One scrape: the target's URL, its scrape timeout, and an optional signal that cancels it. */
export interface ScrapeRequest {
  readonly url: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /**
   * The decompressed size of this target's last successful body, if any: it sizes the gzip decompressor's output
   * buffer, so that a body of about the usual size comes out in one piece (Prometheus sizes its read buffer from
   * the last scrape the same way, `lastScrapeSize`). Only a hint: it never changes what is accepted.
   */
  readonly sizeHintBytes?: number;
}

/** A successful scrape's body and what the parser needs to know about it. */
export interface ScrapeResponse {
  /** The body, decompressed and decoded as UTF-8. */
  readonly body: string;
  /** The `Content-Type` header, which picks the parser (text format or OpenMetrics). */
  readonly contentType: string | undefined;
  /** The body's size after decompression, in bytes. */
  readonly bytes: number;
}

/** Why a scrape failed. */
export type ScrapeFailureReason = 'timeout' | 'status' | 'body_size_limit' | 'network' | 'decompress';

/** Stable codes of the scrape errors, one per {@link ScrapeFailureReason}. */
export const ScrapeErrorCode = {
  timeout: 'PROMFLEET_SCRAPE_TIMEOUT',
  status: 'PROMFLEET_SCRAPE_HTTP_STATUS',
  body_size_limit: 'PROMFLEET_SCRAPE_BODY_SIZE_LIMIT',
  network: 'PROMFLEET_SCRAPE_NETWORK',
  decompress: 'PROMFLEET_SCRAPE_DECOMPRESS',
} as const satisfies Record<ScrapeFailureReason, string>;

/**
 * A failed scrape. The message is worded as Prometheus words it (it becomes the target's last error); URLs in it have
 * their password replaced by `xxxxx`, as Go's `url.Redacted`, and no request or response header ever appears in it.
 */
export class ScrapeError extends Error {
  override readonly name = 'ScrapeError';
  readonly reason: ScrapeFailureReason;
  readonly code: (typeof ScrapeErrorCode)[ScrapeFailureReason];
  /** The HTTP status code, for reason `status`. */
  readonly statusCode: number | undefined;
  /** The body size limit that was reached, in decompressed bytes, for reason `body_size_limit`. */
  readonly limitBytes: number | undefined;

  /** Creates the error; `statusCode` only for reason `status`, `limitBytes` only for reason `body_size_limit`. */
  constructor(options: {
    readonly reason: ScrapeFailureReason;
    readonly message: string;
    readonly statusCode?: number;
    readonly limitBytes?: number;
    readonly cause?: unknown;
  }) {
    super(options.message, { cause: options.cause });
    this.reason = options.reason;
    this.code = ScrapeErrorCode[options.reason];
    this.statusCode = options.statusCode;
    this.limitBytes = options.limitBytes;
  }
}

/**
 * The worker-wide body size limit (`--scrape.max-body-size`) by default: 64 MiB of decompressed body. It applies to
 * the jobs whose `body_size_limit` is 0 (unset); a job's own limit wins, above or below it. Why 64 MiB (four times
 * vmagent's `-promscrape.maxScrapeSize`): docs/operations.md, "Scrape body size".
 */
export const DEFAULT_MAX_BODY_SIZE_BYTES = 64 * 2 ** 20;

/**
 * The media type of each scrape protocol (config.go `ScrapeProtocolsHeaders`). `PrometheusProto` has none here:
 * promfleet parses only the text formats, so it never asks for protobuf.
 */
const protocolMediaTypes = {
  PrometheusProto: undefined,
  'PrometheusText0.0.4': 'text/plain;version=0.0.4',
  'PrometheusText1.0.0': 'text/plain;version=1.0.0',
  'OpenMetricsText0.0.1': 'application/openmetrics-text;version=0.0.1',
  'OpenMetricsText1.0.0': 'application/openmetrics-text;version=1.0.0',
} as const satisfies Record<ScrapeConfig['scrapeProtocols'][number], string | undefined>;

/**
 * The `Accept` header for a job's scrape protocols, as scrape.go `acceptHeader` builds it: each protocol's media type
 * in order of preference with q-values falling from 0.6 (one more than the number of protocols Prometheus knows), the
 * `escaping` parameter on the 1.0.0 formats, and `*∕*` last. `PrometheusProto` is left out, and takes no q-value, so a
 * proto-first list asks for exactly what the same list without it asks for.
 */
export function acceptHeader(protocols: ScrapeConfig['scrapeProtocols'], escaping: ScrapeConfig['metricNameEscapingScheme']): string {
  let weight = Object.keys(protocolMediaTypes).length + 1;
  const values: string[] = [];
  for (const protocol of protocols) {
    const mediaType = protocolMediaTypes[protocol];
    if (mediaType === undefined) continue;
    const escapingParameter = protocol === 'PrometheusText1.0.0' || protocol === 'OpenMetricsText1.0.0' ? `;escaping=${escaping}` : '';
    values.push(`${mediaType}${escapingParameter};q=0.${weight}`);
    weight--;
  }
  values.push(`*/*;q=0.${weight}`);
  return values.join(',');
}

/**
 * Scrapes the targets of one scrape job: one instance per job, holding the job's HTTP client (connections are kept
 * alive between scrapes, as Prometheus' transport keeps them for 5 minutes). Concurrent scrapes are fine.
 */
export class TargetScraper {
  readonly #client: ConfiguredHttpClient;
  readonly #accept: string;
  readonly #acceptEncoding: string;
  readonly #userAgent: string;
  readonly #bodySizeLimit: number;

  /**
   * Builds the job's HTTP client from `job.httpClient`; `userAgent` is sent as `User-Agent`; `secretFiles` says which
   * files the client may read (unrestricted by default). The body size limit is the job's `body_size_limit` when
   * set, else `maxBodySizeBytes` ({@link DEFAULT_MAX_BODY_SIZE_BYTES} when left out; 0 means none, as in Prometheus).
   *
   * @throws {CredentialsConfigError} when the job's TLS files cannot be read or used, or `secretFiles` refuses a file
   *   the job names; an `HttpClientConfigError` when its proxy environment is unusable.
   */
  constructor(options: { readonly job: ScrapeConfig; readonly userAgent: string; readonly secretFiles?: SecretFilePolicy; readonly maxBodySizeBytes?: number }) {
    const { job, userAgent } = options;
    this.#client = configureHttpClient(job.httpClient, {
      context: `scrape job ${JSON.stringify(job.jobName)}`,
      ...(options.secretFiles === undefined ? {} : { secretFiles: options.secretFiles }),
    });
    this.#accept = acceptHeader(job.scrapeProtocols, job.metricNameEscapingScheme);
    this.#acceptEncoding = job.enableCompression ? 'gzip' : 'identity';
    this.#userAgent = userAgent;
    // readResponse: a limit of 0 (or less) means none; here the worker's limit stands in for it, unless that is 0 too.
    const workerLimit = options.maxBodySizeBytes ?? DEFAULT_MAX_BODY_SIZE_BYTES;
    this.#bodySizeLimit = job.bodySizeLimitBytes > 0 ? job.bodySizeLimitBytes : workerLimit > 0 ? workerLimit : Number.POSITIVE_INFINITY;
  }

  /**
   * GETs `request.url` and reads the whole body within `request.timeoutMs`, which bounds the request, the redirects
   * and the body together, as the scrape context does in Prometheus. Only status 200 is a success
   * (`readResponse`); a 3xx is followed or fails per the job's `follow_redirects`.
   *
   * Rejects with a {@link ScrapeError}; with a `CredentialsConfigError` when a credentials or TLS file cannot be read
   * or is refused;
   * and with `request.signal`'s reason when that signal aborts.
   */
  async scrape(request: ScrapeRequest): Promise<ScrapeResponse> {
    const { timeoutMs, signal } = request;
    signal?.throwIfAborted();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException('scrape timeout', 'TimeoutError')), timeoutMs);
    const combined = signal === undefined ? deadline.signal : AbortSignal.any([signal, deadline.signal]);
    const target = new URL(request.url);
    const shown = redactedUrl(target.href);
    try {
      const headers = await this.#headers(target, timeoutMs);
      const response = await this.#client.dispatcher.request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: 'GET',
        headers,
        signal: combined,
        // The scrape timeout covers everything; undici's own timers would only cut it short for long timeouts.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      if (response.statusCode !== 200) {
        // readResponse drains the body before failing, so the connection can be reused.
        await response.body.dump().catch(() => undefined);
        // Go's resp.Status: the server's reason phrase; HTTP/2 has none (empty here), so the standard text.
        const reason = response.statusText === '' ? (STATUS_CODES[response.statusCode] ?? '') : response.statusText;
        const status = `${response.statusCode} ${reason}`.trimEnd();
        throw new ScrapeError({ reason: 'status', message: `server returned HTTP status ${status}`, statusCode: response.statusCode });
      }
      return await this.#read(response, request.sizeHintBytes ?? 0);
    } catch (err) {
      if (err instanceof ScrapeError) throw err;
      if (signal?.aborted === true) throw signal.reason;
      if (deadline.signal.aborted) {
        throw new ScrapeError({
          reason: 'timeout',
          message: `Get ${JSON.stringify(shown)}: context deadline exceeded (scrape timeout ${formatDuration(timeoutMs)})`,
          cause: err,
        });
      }
      if (isZlibError(err)) throw new ScrapeError({ reason: 'decompress', message: `gzip: ${err.message}`, cause: err });
      if (err instanceof CredentialsConfigError) throw err;
      const text = typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string' ? err.message : String(err);
      throw new ScrapeError({ reason: 'network', message: `Get ${JSON.stringify(shown)}: ${text}`, cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the job's connections once the scrapes in flight have finished. */
  close(): Promise<void> {
    return this.#client.close();
  }

  async #headers(target: URL, timeoutMs: number): Promise<Record<string, string>> {
    const headers = await this.#client.headers();
    // An Accept in http_headers is added to Prometheus' own (Header.Add), not put in its place.
    const extraAccept = headers['accept'];
    headers['accept'] = extraAccept === undefined ? this.#accept : `${this.#accept}, ${extraAccept}`;
    headers['accept-encoding'] = this.#acceptEncoding;
    headers['user-agent'] = this.#userAgent;
    // strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64): "10", "0.5".
    headers['x-prometheus-scrape-timeout-seconds'] = String(timeoutMs / 1000);
    if (target.username !== '' || target.password !== '') {
      // Go's http.Client puts a URL's user info into Authorization before the round-trippers, which then keep it.
      const userinfo = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
      headers['authorization'] = `Basic ${Buffer.from(userinfo).toString('base64')}`;
    }
    return headers;
  }

  /**
   * readResponse: gunzips only when `Content-Encoding` is exactly `gzip`, and fails once the decompressed body reaches
   * the limit (Go copies through `io.LimitReader(limit)` and fails when it read `limit` bytes, so a body of exactly
   * the limit fails too).
   *
   * The body is decompressed as it arrives, into the limit: no more than the limit is ever held, and the moment the
   * output reaches it the response and the decompressor are destroyed, so a gzip bomb costs at most the limit and
   * the time to inflate that much. Prometheus drains the rest of a failed body to reuse the connection; here the
   * connection is closed instead, since a hostile target could send forever. Decompression runs in libuv's thread
   * pool, off the thread that runs every other target's scrape loop.
   */
  async #read(response: Dispatcher.ResponseData, sizeHintBytes: number): Promise<ScrapeResponse> {
    const limit = this.#bodySizeLimit;
    const gunzip = firstValue(response.headers, 'content-encoding') === 'gzip' ? createGunzip({ chunkSize: gunzipChunkSize(sizeHintBytes, limit) }) : undefined;
    const body = await readWithin(response.body, gunzip, limit);
    return { body: decodeBody(body), contentType: firstValue(response.headers, 'content-type'), bytes: body.length };
  }
}

/** The output buffer size of a gzip decompressor when there is no size hint, and the bounds of a hinted one. */
const GUNZIP_CHUNK_BYTES = { default: 64 * 1024, max: 8 * 2 ** 20 } as const;

/**
 * The decompressor's output buffer size. zlib fills one buffer of this size at a time, in the thread pool, and hands
 * it over; a body that fits in one buffer needs no concatenation, which for a 2 MB body costs about as much as the
 * decompression itself. So the buffer is sized a little above the last body's size (an eighth more), within bounds,
 * and never above the limit: a bomb gets no buffer larger than what it is allowed to fill.
 */
function gunzipChunkSize(sizeHintBytes: number, limit: number): number {
  const wanted = sizeHintBytes > 0 ? sizeHintBytes + Math.ceil(sizeHintBytes / 8) + 1024 : GUNZIP_CHUNK_BYTES.default;
  return Math.max(zlibConstants.Z_MIN_CHUNK, Math.min(wanted, GUNZIP_CHUNK_BYTES.max, limit));
}

/**
 * Reads `body` (through `gunzip` when given) and resolves to the whole output, which is below `limitBytes`. Once
 * the output reaches `limitBytes` it rejects with the body size limit error; on that or any error, both streams are
 * destroyed and what was read is dropped. Chunks are kept only while their total stays below the limit, so at most
 * `limitBytes` (and the one chunk that crossed it) is ever held.
 */
function readWithin(body: Readable, gunzip: Gunzip | undefined, limitBytes: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const output: Readable = gunzip ?? body;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      output.off('data', onData);
      gunzip?.destroy();
      body.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes >= limitBytes) fail(new ScrapeError({ reason: 'body_size_limit', message: 'body size limit exceeded', limitBytes }));
      else chunks.push(chunk);
    };
    // Errors after the first (a destroyed body reports its abort) find `settled` set.
    body.on('error', fail);
    gunzip?.on('error', fail);
    output.on('data', onData);
    output.once('end', () => {
      settled = true;
      resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, bytes));
    });
    if (gunzip !== undefined) body.pipe(gunzip);
  });
}

function firstValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** zlib's errors carry a `Z_` code; checked by shape, since errors made inside Node may come from another realm. */
function isZlibError(err: unknown): err is { code: string; message: string } {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' && err.code.startsWith('Z_') && 'message' in err && typeof err.message === 'string';
}

/**
 * A body as text. Valid UTF-8, the norm, decodes natively. Otherwise each byte that is not part of a valid UTF-8
 * sequence (as Go's `utf8.Valid` judges: no overlong forms, no surrogates, nothing above U+10FFFF) becomes the lone
 * surrogate U+DC00 + byte, a mark no valid UTF-8 decodes to: the parsers then reject a label value or HELP text that
 * holds one, as Prometheus rejects invalid UTF-8 there, where decoding to U+FFFD would have accepted it.
 */
export function decodeBody(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let out = '';
  let from = 0;
  let i = 0;
  while (i < bytes.length) {
    const length = utf8SequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    out += bytes.toString('utf8', from, i) + String.fromCharCode(0xdc00 | (bytes[i] ?? 0));
    from = ++i;
  }
  return out + bytes.toString('utf8', from);
}

/** The length of the valid UTF-8 sequence starting at `bytes[i]`, or 0 when none starts there. */
function utf8SequenceLength(bytes: Buffer, i: number): number {
  const b0 = bytes[i] ?? 0;
  if (b0 < 0x80) return 1;
  const continuation = (at: number, low = 0x80, high = 0xbf): boolean => {
    const b = bytes[i + at];
    return b !== undefined && b >= low && b <= high;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return continuation(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    // E0 needs A0–BF (no overlong form), ED needs 80–9F (no surrogate).
    const second = b0 === 0xe0 ? continuation(1, 0xa0) : b0 === 0xed ? continuation(1, 0x80, 0x9f) : continuation(1);
    return second && continuation(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    // F0 needs 90–BF (no overlong form), F4 needs 80–8F (nothing above U+10FFFF).
    const second = b0 === 0xf0 ? continuation(1, 0x90) : b0 === 0xf4 ? continuation(1, 0x80, 0x8f) : continuation(1);
    return second && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}
