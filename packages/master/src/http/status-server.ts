/**
 * The master's HTTP server: `/metrics`, Prometheus' `/api/v1/targets`, promfleet's `/api/v1/workers` and
 * `/api/v1/targets/<id>`, `/api/v1/operator/rejected` (with the prometheus-operator source), the status page at `/`, Prometheus' `/-/healthy` and `/-/ready`, and `/-/reload` (POST or PUT,
 * with `--web.enable-lifecycle`). Routing follows
 * Prometheus' router (`web/web.go`, httprouter): an unknown path is a plain 404, a known path with another method a
 * 405 with `Allow`, and only the health endpoints answer HEAD.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Registry } from 'prom-client';
import { parseListenAddress } from '@promfleet/model';
import type { FleetStatusSource } from '../fleet/status.js';
import type { OperatorKind, OperatorKindState, RejectedOperatorResource } from '../operator/index.js';
import { operatorRejectedBody, targetResponse, targetsBody, workersBody, type ApiResponse, type DiscoveryStatusSource, type OperatorStatus, type StatusSources } from './api.js';
import { renderStatusPage, statusPageView } from './page.js';

/**
 * Whether the master should get traffic, and why: `/-/ready` answers 200 or 503 with the reasons, one a line, and
 * the status page shows them. Under leader election only the leader is ready, so the master Service reaches it.
 */
export interface Readiness {
  readonly ready: boolean;
  /** Lines for people: why not ready (standing by, who leads, stopping), and what a ready master lacks (stale discovery). */
  readonly reasons: readonly string[];
}

/** What the status server shows, and where it reports its own failures. */
export interface StatusServerOptions {
  /** The fleet and discovery of the current term (they change with leadership: read them at each request). */
  readonly fleet: FleetStatusSource;
  readonly discovery: DiscoveryStatusSource;
  readonly readiness: () => Readiness;
  /** Served at `/metrics` in its own content type. */
  readonly registry: Registry;
  /** The clock of the status page ("last seen 5s ago"); `Date.now` by default. */
  readonly now?: () => number;
  /**
   * A handler failed (a bug: no request can make one fail). The client got a 500, or, when the body had started,
   * a cut connection. Must not throw.
   */
  readonly onError?: (err: unknown) => void;
  /**
   * `POST`/`PUT /-/reload`: reloads the configuration, rejecting with the reason when the new one is refused. Without
   * it (no `--web.enable-lifecycle`), the endpoint answers 403 as Prometheus does.
   */
  readonly reload?: () => Promise<void>;
  /**
   * With `--operator.config`: the prometheus-operator resources that could not be turned into scrape jobs
   * (`OperatorJobSource.rejected`). The page gets a section for them and `/api/v1/operator/rejected` is served;
   * without it, neither.
   */
  readonly operatorRejected?: () => readonly RejectedOperatorResource[];
  /** With `operatorRejected`: how each kind's list went (`OperatorJobSource.kindStates`), shown beside them. */
  readonly operatorKindStates?: () => Readonly<Record<OperatorKind, OperatorKindState>>;
}

/** Prometheus' `AppName` in the health texts ("Prometheus Server is Healthy."). */
const appName = 'promfleet master';
const textPlain = 'text/plain; charset=utf-8';
const applicationJson = 'application/json';
/** Large bodies go out in pieces of about this many characters. */
const chunkChars = 64 * 1024;

type Handler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void> | void;
type Method = 'GET' | 'HEAD' | 'POST' | 'PUT';
type Route = Partial<Record<Method, Handler>>;
const methods: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT'] satisfies Method[];

/**
 * The master's HTTP server. `listen` once, `close` once. Handlers only read the fleet and discovery; the target
 * listing is streamed (gzip when the client accepts it), built a piece at a time as the client reads.
 */
export class StatusServer {
  readonly #options: StatusServerOptions;
  readonly #sources: StatusSources;
  readonly #server: Server;

  constructor(options: StatusServerOptions) {
    this.#options = options;
    this.#sources = { fleet: options.fleet, discovery: options.discovery };
    this.#server = createServer((req, res) => {
      void this.#handle(req, res);
    });
  }

  /**
   * Listens on `address` (`host:port`; `:9090` means every interface; port 0 picks a free one) and resolves with
   * the port once listening.
   *
   * @throws ListenAddressError for an address that is not host:port; rejects with the system error (EADDRINUSE...)
   * when it cannot listen.
   */
  async listen(address: string): Promise<{ port: number }> {
    const { host, port } = parseListenAddress(address);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen({ port, ...(host === undefined ? {} : { host }) }, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    const bound = this.#server.address();
    if (bound === null || typeof bound === 'string') throw new Error(`the status server listens on ${String(bound)}, not a TCP port`);
    return { port: bound.port };
  }

  /** Stops listening and closes every connection, cutting responses still in flight. Resolves when closed. */
  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve, reject) => this.#server.close((err) => (err === undefined ? resolve() : reject(err))));
    this.#server.closeAllConnections();
    await closed;
  }

  #route(path: string): Route | undefined {
    switch (path) {
      case '/':
        return { GET: (_req, res) => this.#page(res) };
      case '/metrics':
        return { GET: (_req, res) => this.#metrics(res) };
      case '/api/v1/targets':
        return { GET: (req, res, query) => this.#targets(req, res, query) };
      case '/api/v1/operator/rejected': {
        const operator = this.#operator();
        return operator === undefined ? undefined : { GET: (_req, res) => send(res, { status: 200, type: applicationJson, body: operatorRejectedBody(operator) }) };
      }
      case '/api/v1/workers':
        return { GET: (_req, res) => send(res, { status: 200, type: applicationJson, body: workersBody(this.#options.fleet) }) };
      case '/-/healthy':
        return {
          GET: (_req, res) => send(res, { status: 200, type: textPlain, body: `${appName} is Healthy.\n` }),
          HEAD: (_req, res) => send(res, { status: 200, type: textPlain, body: '' }),
        };
      case '/-/ready': {
        // web.go `testReady`: 503 "Service Unavailable" until ready, for GET and HEAD alike; the lines after say why.
        const ready = (withBody: boolean) => (_req: IncomingMessage, res: ServerResponse) => {
          const { ready, reasons } = this.#options.readiness();
          const body = [ready ? `${appName} is Ready.` : 'Service Unavailable', ...reasons].map((line) => `${line}\n`).join('');
          send(res, { status: ready ? 200 : 503, type: textPlain, body: withBody ? body : '' });
        };
        return { GET: ready(true), HEAD: ready(false) };
      }
      case '/-/reload': {
        // web.go: 403 "Lifecycle API is not enabled." without --web.enable-lifecycle; a failed reload is a 500 with
        // "failed to reload config: <reason>", a successful one a 200 with no body.
        const reload = (req: IncomingMessage, res: ServerResponse) => this.#reload(req, res);
        return { POST: reload, PUT: reload };
      }
    }
    const prefix = '/api/v1/targets/';
    if (path.startsWith(prefix)) return { GET: (_req, res) => sendApi(res, targetResponse(this.#sources, path.slice(prefix.length))) };
    return undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    let path: string;
    try {
      path = decodeURIComponent(q < 0 ? raw : raw.slice(0, q));
    } catch {
      send(res, { status: 400, type: textPlain, body: '400 Bad Request\n' });
      return;
    }
    const route = this.#route(path);
    if (route === undefined) {
      send(res, { status: 404, type: textPlain, body: '404 page not found\n' });
      return;
    }
    const method = req.method ?? '';
    const handler = methods.includes(method) ? route[method as Method] : undefined;
    if (handler === undefined) {
      res.setHeader('Allow', Object.keys(route).join(', '));
      send(res, { status: 405, type: textPlain, body: 'Method Not Allowed\n' });
      return;
    }
    try {
      await handler(req, res, new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)));
    } catch (err) {
      this.#options.onError?.(err);
      if (res.headersSent || res.destroyed) res.destroy();
      else send(res, { status: 500, type: textPlain, body: 'Internal Server Error\n' });
    }
  }

  async #reload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    const reload = this.#options.reload;
    if (reload === undefined) {
      send(res, { status: 403, type: textPlain, body: 'Lifecycle API is not enabled.' });
      return;
    }
    try {
      await reload();
    } catch (err) {
      send(res, { status: 500, type: textPlain, body: `failed to reload config: ${err instanceof Error ? err.message : String(err)}\n` });
      return;
    }
    send(res, { status: 200, type: textPlain, body: '' });
  }

  /** What the prometheus-operator source shows now; undefined without one. */
  #operator(): OperatorStatus | undefined {
    const rejected = this.#options.operatorRejected;
    if (rejected === undefined) return undefined;
    return { rejected: rejected(), kinds: this.#options.operatorKindStates?.() };
  }

  #page(res: ServerResponse): void {
    const operator = this.#operator();
    const view = statusPageView(this.#sources, {
      nowUnixMs: (this.#options.now ?? Date.now)(),
      readiness: this.#options.readiness(),
      ...(operator === undefined ? {} : { operator }),
    });
    // No scripts, styles only inline: the page needs nothing else, so a value that slipped escaping could do nothing.
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
    send(res, { status: 200, type: 'text/html; charset=utf-8', body: renderStatusPage(view) });
  }

  async #metrics(res: ServerResponse): Promise<void> {
    const registry = this.#options.registry;
    send(res, { status: 200, type: registry.contentType, body: await registry.metrics() });
  }

  async #targets(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const chunks = batched(targetsBody(this.#sources, { state: query.get('state') ?? '', scrapePool: query.get('scrapePool') ?? '' }));
    // The first piece is built before anything is sent, so a failure there is a plain 500; most answers are one piece.
    const head = chunks.next();
    let failure: unknown;
    function* all(): Generator<string> {
      try {
        if (head.done !== true) yield head.value;
        yield* chunks;
      } catch (err) {
        failure = err;
        throw err;
      }
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', applicationJson);
    res.setHeader('Vary', 'Accept-Encoding');
    const gzip = acceptsGzip(req.headers['accept-encoding']);
    if (gzip) res.setHeader('Content-Encoding', 'gzip');
    try {
      await (gzip ? pipeline(Readable.from(all()), createGzip(), res) : pipeline(Readable.from(all()), res));
    } catch (err) {
      // A client that goes away mid-body is not a failure; a body that could not be built is.
      if (failure !== undefined) throw err;
    }
  }
}

/** Sends a whole body with its length; HEAD gets the headers only. */
function send(res: ServerResponse, response: { status: number; type: string; body: string }): void {
  res.statusCode = response.status;
  res.setHeader('Content-Type', response.type);
  res.setHeader('Content-Length', Buffer.byteLength(response.body));
  res.end(response.body);
}

/** Sends a JSON API answer, as Prometheus' `respond` and `respondError` do (`application/json`). */
function sendApi(res: ServerResponse, response: ApiResponse): void {
  send(res, { status: response.status, type: applicationJson, body: response.body });
}

/** Joins small pieces of text into pieces of about {@link chunkChars}, so the stream moves few, large chunks. */
function* batched(pieces: Iterable<string>): Generator<string> {
  let buffer = '';
  for (const piece of pieces) {
    buffer += piece;
    if (buffer.length >= chunkChars) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer !== '') yield buffer;
}

/** Whether an `Accept-Encoding` header accepts gzip (listed with no `q`, or a non-zero one). */
function acceptsGzip(header: string | undefined): boolean {
  for (const part of (header ?? '').split(',')) {
    const [name = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (name !== 'gzip') continue;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}
