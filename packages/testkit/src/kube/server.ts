/**
 * The fake Kubernetes API server: real HTTP, real list/watch protocol, an in-memory store, request accounting and
 * switchable faults. It is a test and demo tool; nothing in the product may depend on it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { countResponseBytes, RequestLog, type RequestCount, type TrafficRow } from './accounting.js';
import { discoveryDocument } from './discovery.js';
import { FaultInjector, type FailNextOptions, type LatencyOptions } from './faults.js';
import { handleResource } from './handlers.js';
import { acceptsGzip, listItemJson, sendError, sendJson, type EncodedItemCache } from './http.js';
import { kubeconfigOptions, kubeconfigYaml, type KubeconfigOptions } from './kubeconfig.js';
import { negotiate, supportedMediaTypes, type ResponseEncoding } from './negotiation.js';
import { encodeMessage, kindSchema } from './protobuf.js';
import { accountingResource, parseBool, parseRequest, type NonResourceRequest } from './routing.js';
import { internalError, KubeApiError, notAcceptable, pathNotFound } from './status.js';
import { resourceByName, type ResourceName } from './resources.js';
import { ObjectStore } from './store.js';
import { WatchStream, type WatchInfo } from './watch.js';

/** Options of {@link startFakeApiServer}. */
export interface FakeApiServerOptions {
  /** The address to listen on. Defaults to `127.0.0.1`. */
  readonly host?: string;
  /** The port; 0 (the default) picks a free one, which restarts keep. */
  readonly port?: number;
  /** How often a watch that allowed bookmarks gets one. Defaults to 1000 ms (real servers: about a minute). */
  readonly bookmarkIntervalMs?: number;
  /** Events kept per resource for watches resuming from a resourceVersion. Defaults to 1000. */
  readonly historyWindow?: number;
  /** The timeout of a watch that sends no `timeoutSeconds` (real servers: 30–60 min). Defaults to none. */
  readonly defaultWatchTimeoutMs?: number;
  /** Live events queued for a slow watch before the server closes it. Defaults to 10,000. */
  readonly maxPendingWatchEvents?: number;
  /** How long a request for a resourceVersion the store has not reached waits before 504. Defaults to 3000 ms. */
  readonly resourceVersionWaitMs?: number;
  /** A store to serve, for example one seeded before the server starts. Defaults to a new, empty store. */
  readonly store?: ObjectStore;
  /**
   * Resources answered with 404, as a cluster without their CRD (`servicemonitors`...) answers, until
   * {@link FakeApiServer.installResource} serves them. Defaults to none.
   */
  readonly withoutResources?: readonly ResourceName[];
  /**
   * Keep each stored object's encoded list item (JSON text and protobuf bytes) for later lists, as long as the
   * object lives. Costs memory about the size of the lists served; benchmarks use it, with
   * {@link FakeApiServer.warmListEncodings}, so list latency measures the client rather than the fake's encoder.
   * Defaults to false.
   */
  readonly cacheListEncodings?: boolean;
  /**
   * Gzip (level 1) a list answer larger than 128 KiB when the request accepts gzip, as kube-apiserver's
   * `APIResponseCompression` does. Defaults to false: answers are not compressed.
   */
  readonly gzipLists?: boolean;
}

/** Which watches a watch fault applies to. */
export interface WatchMatch {
  /** Only watches on this resource (such as `pods`); all watches when omitted. */
  readonly resource?: string;
}

/**
 * The faults a test can inject. Request faults return a `Disposable` (`using fault = api.faults.failNext(…)`);
 * `clear()` removes every request fault.
 */
export interface FaultControls {
  /** Makes the next `count` matching requests answer 500 `InternalError` or 429 `TooManyRequests` with `Retry-After`. */
  failNext(options: FailNextOptions): Disposable;
  /** Delays every matching request by `delayMs`, watches included, until disposed. */
  addLatency(options: LatencyOptions): Disposable;
  /** Ends the open watches cleanly now, as a server-side timeout does; returns how many. */
  dropWatches(match?: WatchMatch): number;
  /** Closes the open watches with a TCP reset, mid-stream; returns how many. */
  resetWatches(match?: WatchMatch): number;
  /** Compacts the history: every resourceVersion before now gets 410 Expired, from watches and continue tokens. */
  expireResourceVersions(): void;
  /** Removes every request fault. */
  clear(): void;
}

/** Options of {@link FakeApiServer.restart}. */
export interface RestartOptions {
  /** Remove every object, as a server over a wiped etcd. Defaults to false: objects and the revision persist. */
  readonly wipe?: boolean;
  /**
   * Keep the event history. Defaults to false: like a real API server, whose watch cache starts empty, the
   * restarted server answers watches from any older resourceVersion with 410.
   */
  readonly keepHistory?: boolean;
  /** How long the server stays down between stop and start. Defaults to 0. */
  readonly downtimeMs?: number;
}

/** What the error path of a request needs to know: the encoding negotiated for it, JSON until then. */
interface Reply {
  encoding: ResponseEncoding;
}

const healthPaths = new Set(['/healthz', '/livez', '/readyz']);

/**
 * A running fake API server. Hold it with `await using api = await startFakeApiServer()`; disposing stops it.
 * `store` is the cluster state (direct writes emit watch events like API writes), `faults` the fault switches.
 */
export class FakeApiServer implements AsyncDisposable {
  /** The cluster state the server serves. */
  readonly store: ObjectStore;
  /** Fault injection; see {@link FaultControls}. */
  readonly faults: FaultControls;
  readonly #host: string;
  #port: number;
  #server: Server | undefined;
  #run = new AbortController();
  readonly #watches = new Set<WatchStream>();
  readonly #log = new RequestLog();
  readonly #injector = new FaultInjector();
  readonly #bookmarkIntervalMs: number;
  readonly #defaultWatchTimeoutMs: number | undefined;
  readonly #maxPendingWatchEvents: number;
  readonly #resourceVersionWaitMs: number;
  #nextWatchId = 1;
  readonly #unserved: Set<ResourceName>;
  readonly #itemCache: EncodedItemCache | undefined;
  readonly #gzipLists: boolean;

  /** Prepares a server without starting it; {@link startFakeApiServer} is the usual way in. */
  constructor(options: FakeApiServerOptions = {}) {
    this.store = options.store ?? new ObjectStore(options.historyWindow === undefined ? {} : { historyWindow: options.historyWindow });
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
    this.#bookmarkIntervalMs = options.bookmarkIntervalMs ?? 1000;
    this.#defaultWatchTimeoutMs = options.defaultWatchTimeoutMs;
    this.#maxPendingWatchEvents = options.maxPendingWatchEvents ?? 10_000;
    this.#resourceVersionWaitMs = options.resourceVersionWaitMs ?? 3000;
    this.#unserved = new Set(options.withoutResources ?? []);
    this.#gzipLists = options.gzipLists ?? false;
    this.#itemCache = options.cacheListEncodings === true ? { json: new WeakMap(), protobuf: new WeakMap() } : undefined;
    this.faults = {
      failNext: (o) => this.#injector.failNext(o),
      addLatency: (o) => this.#injector.addLatency(o),
      dropWatches: (match) => this.#eachWatch(match, (w) => w.end()),
      resetWatches: (match) => this.#eachWatch(match, (w) => w.reset()),
      expireResourceVersions: () => this.store.compact(),
      clear: () => this.#injector.clear(),
    };
  }

  /** Starts serving a resource left out with `withoutResources`, as installing its CRD does. */
  installResource(name: ResourceName): void {
    this.#unserved.delete(name);
  }

  /** The base URL, such as `http://127.0.0.1:41234`; stable across restarts. */
  get url(): string {
    return `http://${this.#host}:${this.#port}`;
  }

  /** The port the server listens on (0 before the first start when none was given). */
  get port(): number {
    return this.#port;
  }

  /** A `KubeConfig.loadFromOptions` object for this server (token auth, `skipTLSVerify: true`). */
  kubeconfig(): KubeconfigOptions {
    return kubeconfigOptions(this.url);
  }

  /** A kubeconfig file's text for this server. */
  kubeconfigYaml(): string {
    return kubeconfigYaml(this.url);
  }

  /** Request counts by user agent, verb and resource since the start or the last {@link resetRequests}. */
  requests(): RequestCount[] {
    return this.#log.rows();
  }

  /**
   * Requests, response body bytes and watch events by user agent, verb and resource since the start or the last
   * {@link resetRequests}. Bytes are as written (the fake does not gzip), without headers and chunk framing; a
   * watch's count as they are written.
   */
  traffic(): TrafficRow[] {
    return this.#log.traffic();
  }

  /** Forgets the request counts and byte counts. */
  resetRequests(): void {
    this.#log.reset();
  }

  /**
   * Encodes every stored object of the `resources` as a list item in `encodings` now, so the first lists are
   * served from the cache; needs `cacheListEncodings`.
   */
  warmListEncodings(resources: readonly ResourceName[], encodings: readonly ResponseEncoding[]): void {
    const cache = this.#itemCache;
    if (cache === undefined) throw new Error('warmListEncodings needs the cacheListEncodings option');
    for (const name of resources) {
      const d = resourceByName(name);
      const schema = d === undefined ? undefined : kindSchema(d.apiVersion, d.kind);
      for (const obj of this.store.list(name)) {
        if (encodings.includes('json')) listItemJson(obj, cache);
        if (encodings.includes('protobuf') && schema !== undefined && !cache.protobuf.has(obj)) cache.protobuf.set(obj, encodeMessage(schema, obj));
      }
    }
  }

  /** The watches open right now. */
  watches(): WatchInfo[] {
    return [...this.#watches].map((w) => w.info());
  }

  /** Starts listening (on the same port as before after a stop). */
  async start(): Promise<void> {
    if (this.#server !== undefined) return;
    this.#run = new AbortController();
    const server = createServer((req, res) => this.#onRequest(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, this.#host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /**
   * Stops the server: open watches end cleanly, every connection is closed and the port is released. The store
   * is kept. Stopping a stopped server does nothing.
   */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    this.#run.abort();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const w of [...this.#watches]) w.end();
    await new Promise<void>((resolve) => setImmediate(resolve));
    server.closeAllConnections();
    await closed;
  }

  /** Stops and starts again on the same port; see {@link RestartOptions} for what survives. */
  async restart(options: RestartOptions = {}): Promise<void> {
    await this.stop();
    if (options.wipe === true) this.store.clear();
    else if (options.keepHistory !== true) this.store.compact();
    if (options.downtimeMs !== undefined && options.downtimeMs > 0) await sleep(options.downtimeMs);
    await this.start();
  }

  /** Stops the server, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #eachWatch(match: WatchMatch | undefined, action: (w: WatchStream) => void): number {
    const selected = [...this.#watches].filter((w) => match?.resource === undefined || w.resource === match.resource);
    for (const w of selected) action(w);
    return selected.length;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const reply: Reply = { encoding: 'json' };
    this.#handle(req, res, reply).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, error instanceof KubeApiError ? error : internalError(error instanceof Error ? error.message : String(error)), reply.encoding);
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse, reply: Reply): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    if (url.pathname === '/debug/requests') {
      sendJson(res, 200, { requests: this.requests(), traffic: this.traffic(), watches: this.watches() });
      return;
    }
    const request = parseRequest(req.method ?? 'GET', url);
    const resource = accountingResource(request);
    const userAgent = req.headers['user-agent'] ?? '';
    const counter = this.#log.record(userAgent, request.verb, resource);
    countResponseBytes(res, (n) => counter.bytes(n));
    if (request.kind === 'resource') {
      // Custom resources have no protobuf form; a path the fake does not serve answers its Status in either.
      const d = request.descriptor;
      const watch = request.verb === 'watch';
      const encoding = negotiate(req.headers.accept, { protobuf: d === undefined || kindSchema(d.apiVersion, d.kind) !== undefined, watch });
      if (encoding === undefined) throw notAcceptable(supportedMediaTypes(watch));
      reply.encoding = encoding;
    }
    const signal = this.#run.signal;
    const decision = this.#injector.decide(request.verb, resource);
    if (decision.delayMs > 0) {
      try {
        await sleep(decision.delayMs, undefined, { signal });
      } catch {
        return;
      }
    }
    if (decision.error !== undefined) throw decision.error;
    if (request.kind === 'nonResource') {
      this.#nonResource(res, request);
      return;
    }
    const descriptor = request.descriptor;
    if (descriptor === undefined || this.#unserved.has(descriptor.name)) throw pathNotFound();
    await handleResource({
      store: this.store,
      req,
      res,
      url,
      request,
      descriptor,
      encoding: reply.encoding,
      itemCache: this.#itemCache,
      gzip: this.#gzipLists && acceptsGzip(req),
      signal,
      resourceVersionWaitMs: this.#resourceVersionWaitMs,
      startWatch: ({ filter, start, timeoutSeconds }) => {
        const q = url.searchParams;
        const stream = new WatchStream({
          id: this.#nextWatchId++,
          res,
          descriptor,
          store: this.store,
          filter,
          userAgent,
          labelSelector: q.get('labelSelector') ?? '',
          fieldSelector: q.get('fieldSelector') ?? '',
          resourceVersion: q.get('resourceVersion') ?? '',
          encoding: reply.encoding,
          onEvents: (n) => counter.watchEvents(n),
          bookmarkIntervalMs: parseBool(q.get('allowWatchBookmarks')) ? this.#bookmarkIntervalMs : undefined,
          // `timeoutSeconds=0` means "the server's default", as in the real server.
          timeoutMs: timeoutSeconds !== undefined && timeoutSeconds > 0 ? timeoutSeconds * 1000 : this.#defaultWatchTimeoutMs,
          maxPendingEvents: this.#maxPendingWatchEvents,
          onClose: (s) => this.#watches.delete(s),
        });
        this.#watches.add(stream);
        stream.start(start);
      },
    });
  }

  #nonResource(res: ServerResponse, request: NonResourceRequest): void {
    if (healthPaths.has(request.path)) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 });
      res.end('ok');
      return;
    }
    const document = discoveryDocument(request.path, `${this.#host}:${this.#port}`);
    if (document === undefined) throw pathNotFound();
    sendJson(res, 200, document);
  }
}

/**
 * Starts a fake API server, on a free port unless one is given.
 *
 * @example
 * await using api = await startFakeApiServer({ bookmarkIntervalMs: 100 });
 * api.store.create(pod);
 * const kc = new KubeConfig();
 * kc.loadFromOptions(api.kubeconfig());
 */
export async function startFakeApiServer(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const server = new FakeApiServer(options);
  await server.start();
  return server;
}
