/**
 * One HTTP scrape of one target, as Prometheus' `scrape/scrape.go` `targetScraper` does it (`scrape` and
 * `readResponse`): the request headers Prometheus sends, the status check, gzip, the body size limit, and the
 * scrape timeout over the whole exchange.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { formatDuration, redactedUrl, type ScrapeConfig } from '@promfleet/model';
import { CredentialsConfigError, type SecretFilePolicy } from '@promfleet/credentials';
import { configureHttpClient, type ConfiguredHttpClient } from '../http-client.js';

/** One scrape: the target's URL, its scrape timeout, and an optional signal that cancels it. */
export interface ScrapeRequest {
  readonly url: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
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

  /** Creates the error; `statusCode` only for reason `status`. */
  constructor(options: { readonly reason: ScrapeFailureReason; readonly message: string; readonly statusCode?: number; readonly cause?: unknown }) {
    super(options.message, { cause: options.cause });
    this.reason = options.reason;
    this.code = ScrapeErrorCode[options.reason];
    this.statusCode = options.statusCode;
  }
}

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
   * files the client may read (unrestricted by default).
   *
   * @throws {CredentialsConfigError} when the job's TLS files cannot be read or used, or `secretFiles` refuses a file
   *   the job names; an `HttpClientConfigError` when its proxy environment is unusable.
   */
  constructor(options: { job: ScrapeConfig; userAgent: string; secretFiles?: SecretFilePolicy }) {
    const { job, userAgent } = options;
    this.#client = configureHttpClient(job.httpClient, {
      context: `scrape job ${JSON.stringify(job.jobName)}`,
      ...(options.secretFiles === undefined ? {} : { secretFiles: options.secretFiles }),
    });
    this.#accept = acceptHeader(job.scrapeProtocols, job.metricNameEscapingScheme);
    this.#acceptEncoding = job.enableCompression ? 'gzip' : 'identity';
    this.#userAgent = userAgent;
    // readResponse: a limit of 0 (or less) means none.
    this.#bodySizeLimit = job.bodySizeLimitBytes > 0 ? job.bodySizeLimitBytes : Number.POSITIVE_INFINITY;
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
      return await this.#read(response);
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
   * A gzip body is read whole and then decompressed in one synchronous call: measured at a sixth of the CPU of a
   * gunzip stream for a node-exporter body (15 KB → 100 KB) and under half for 1.8 MB, where the stream hands every
   * 16 KB of output through the thread pool and stream machinery. Memory stays bounded as the stream bounded it:
   * the output stops at the limit, and the compressed input may not exceed what a body under the limit compresses
   * to (deflate's worst case, stored blocks, adds 5 bytes per 64 KB; gzip's header and trailer 18 bytes).
   */
  async #read(response: Dispatcher.ResponseData): Promise<ScrapeResponse> {
    const gzip = firstValue(response.headers, 'content-encoding') === 'gzip';
    const limit = this.#bodySizeLimit;
    const readLimit = gzip ? limit + Math.ceil(limit / 8192) + 1024 : limit;
    const source = response.body;
    const chunks: Buffer[] = [];
    let read = 0;
    await new Promise<void>((resolve, reject) => {
      source.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read < readLimit) {
          chunks.push(chunk);
          return;
        }
        source.destroy();
        reject(bodySizeLimitError());
      });
      source.once('end', resolve);
      source.once('error', reject);
    });
    const raw = chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, read);
    const body = gzip ? gunzipWithin(raw, limit) : raw;
    return { body: body.toString('utf8'), contentType: firstValue(response.headers, 'content-type'), bytes: body.length };
  }
}

function bodySizeLimitError(): ScrapeError {
  return new ScrapeError({ reason: 'body_size_limit', message: 'body size limit exceeded' });
}

/** The largest output chunk {@link gunzipWithin} asks zlib for at once. */
const MAX_GUNZIP_CHUNK = 32 * 1024 * 1024;

/**
 * Decompresses a whole gzip body; fails with the body size limit error once the output reaches `limit`.
 *
 * zlib writes its output in chunks of `chunkSize` bytes (16 KiB by default) and then concatenates them. The gzip
 * trailer states the (last member's) uncompressed size, so the output is asked for in one chunk of about that size,
 * within bounds; a wrong or multi-member trailer only means more chunks.
 */
function gunzipWithin(raw: Buffer, limit: number): Buffer {
  const stated = raw.length >= 18 ? raw.readUInt32LE(raw.length - 4) : 0;
  const chunkSize = Math.max(64, Math.min(stated + 64, MAX_GUNZIP_CHUNK, limit));
  if (limit === Number.POSITIVE_INFINITY) return gunzipSync(raw, { chunkSize });
  let out: Buffer;
  try {
    // One byte short of the limit fits; zlib refuses to produce more (maxOutputLength is at least 1).
    out = gunzipSync(raw, { chunkSize, maxOutputLength: Math.max(1, limit - 1) });
  } catch (err) {
    if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'ERR_BUFFER_TOO_LARGE') throw bodySizeLimitError();
    throw err;
  }
  if (out.length >= limit) throw bodySizeLimitError();
  return out;
}

function firstValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** zlib's errors carry a `Z_` code; checked by shape, since errors made inside Node may come from another realm. */
function isZlibError(err: unknown): err is { code: string; message: string } {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' && err.code.startsWith('Z_') && 'message' in err && typeof err.message === 'string';
}
