/**
 * A target farm: many scrape targets on 127.0.0.1, one HTTP server per port, each serving `/metrics` in the
 * Prometheus text format (0.0.4) with a fixed number of series, and recording when every request arrived. End-to-end
 * tests point pods at these ports and then check, per target, that each scrape slot saw exactly one request; the
 * demo uses them as its cluster's workloads.
 *
 * Every target exposes the same series with values of its own: a counter that grows by one on every request (so two
 * scrapes at one instant would give two different values for one timestamp, which a receiver rejects), a few gauges,
 * a small histogram, and as many per-shard counters as it takes to reach the asked-for series count.
 *
 * A farm can also hold hostile targets: gzip bombs, which answer every scrape with a small gzip body that
 * decompresses to a huge run of zero bytes (1 GiB in about 1 MB by default), and broken targets, which answer with
 * garbage, never answer, or answer 500.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGzip } from 'node:zlib';

/** Options of {@link startTargetFarm}. */
export interface TargetFarmOptions {
  /** How many targets (ports). */
  readonly targets: number;
  /** Series per target, at least 1. The fixed families come first, whole; per-shard counters fill the rest. */
  readonly series: number;
  /** The address to listen on; `127.0.0.1` by default. */
  readonly host?: string;
  /**
   * How many gzip bomb targets to start besides `targets` ({@link TargetFarm.gzipBombs}); none by default. Each
   * answers every `/metrics` request with the same gzip body, whatever the request's `Accept-Encoding`.
   */
  readonly gzipBombs?: number;
  /** What a gzip bomb decompresses to, in zero bytes; 1 GiB by default (about 1 MB compressed). */
  readonly gzipBombBytes?: number;
  /** How many broken targets of each kind to start besides `targets` ({@link TargetFarm.broken}); none by default. */
  readonly broken?: Partial<Readonly<Record<BrokenKind, number>>>;
  /**
   * Credentials every scrape of a normal target must carry as `Authorization: Basic …`; a scrape without them is
   * answered `401 Unauthorized` and logged in {@link FarmTarget.unauthorized}, not in `requests`. None by default.
   */
  readonly basicAuth?: { readonly username: string; readonly password: string };
}

/** One target of the farm: its address and the requests it received. */
export interface FarmTarget {
  /** Its position in {@link TargetFarm.targets}, from 0. */
  readonly index: number;
  readonly port: number;
  /** `host:port`, as a target's `__address__`. */
  readonly address: string;
  /** When each `/metrics` request arrived (Unix ms), oldest first. Only the farm appends to it. */
  readonly requests: readonly number[];
  /** When each `/metrics` request without the farm's `basicAuth` arrived (Unix ms); always empty without one. */
  readonly unauthorized: readonly number[];
}

/**
 * How a broken target answers every scrape: `garbage` with 200 and a body that is no exposition format, `hang` never
 * (it holds the connection until the scraper gives up or the farm stops), `error` with 500.
 */
export type BrokenKind = 'garbage' | 'hang' | 'error';

/** The kinds of broken targets, in the order {@link startTargetFarm} starts them. */
export const brokenKinds: readonly BrokenKind[] = ['garbage', 'hang', 'error'];

/** A broken target: a {@link FarmTarget} whose `requests` log every scrape it got, and how it answers them. */
export interface BrokenTarget extends FarmTarget {
  readonly kind: BrokenKind;
}

/** What a garbage target answers: text that no exposition parser accepts (a sample line with no value). */
export const garbageBody = 'this is not { an exposition format\n<html><body>502 Bad Gateway</body></html>\n';

/** The histogram's bucket bounds (`le`), without `+Inf`. */
const bucketBounds = [0.005, 0.025, 0.1, 0.5, 2.5] as const;
const histogramSeries = bucketBounds.length + 3;
const queues = ['default', 'email', 'billing', 'reports'] as const;
const contentType = 'text/plain; version=0.0.4; charset=utf-8';

interface TargetState extends FarmTarget {
  readonly requests: number[];
  readonly unauthorized: number[];
  /** Cumulative counts per bucket, `+Inf` last. */
  readonly buckets: number[];
  observedSum: number;
}

/** How the fixed families and the shard counters share `series`. */
interface Layout {
  readonly gauges: boolean;
  readonly histogram: boolean;
  readonly shards: number;
}

function layoutFor(series: number): Layout {
  let left = series - 1;
  const gauges = left >= 2 + queues.length;
  if (gauges) left -= 2 + queues.length;
  const histogram = left >= histogramSeries;
  if (histogram) left -= histogramSeries;
  return { gauges, histogram, shards: left };
}

/** The metric names of a farm target with this layout, in exposition order. */
function metricNamesOf(layout: Layout): string[] {
  return [
    'http_requests_total',
    ...(layout.gauges ? ['process_resident_memory_bytes', 'process_open_fds', 'app_queue_depth'] : []),
    ...(layout.histogram ? ['http_request_duration_seconds_bucket', 'http_request_duration_seconds_sum', 'http_request_duration_seconds_count'] : []),
    ...(layout.shards > 0 ? ['app_jobs_processed_total'] : []),
  ];
}

/** A running farm. Hold it with `await using farm = await startTargetFarm(…)`; disposing stops it. */
export class TargetFarm implements AsyncDisposable {
  /** The targets, in port order of creation. */
  readonly targets: readonly FarmTarget[];
  /** The gzip bomb targets, in order of creation; their `index` counts from 0 among them. */
  readonly gzipBombs: readonly FarmTarget[];
  /** The broken targets, by kind in {@link brokenKinds} order; their `index` counts from 0 among them. */
  readonly broken: readonly BrokenTarget[];
  /** Series per target. */
  readonly series: number;
  /** The metric names every target exposes (`_bucket`, `_sum` and `_count` for the histogram). */
  readonly metricNames: readonly string[];
  readonly #servers: readonly Server[];

  /** Use {@link startTargetFarm}. */
  constructor(parts: { targets: readonly FarmTarget[]; gzipBombs: readonly FarmTarget[]; broken: readonly BrokenTarget[]; series: number; servers: readonly Server[] }) {
    this.targets = parts.targets;
    this.gzipBombs = parts.gzipBombs;
    this.broken = parts.broken;
    this.series = parts.series;
    this.metricNames = metricNamesOf(layoutFor(parts.series));
    this.#servers = parts.servers;
  }

  /** The target (a gzip bomb or broken one included) listening on `port`, if it is one of the farm's. */
  target(port: number): FarmTarget | undefined {
    return this.targets.find((t) => t.port === port) ?? this.gzipBombs.find((t) => t.port === port) ?? this.broken.find((t) => t.port === port);
  }

  /** Closes every server and its connections; the request logs stay readable. Stopping twice does nothing. */
  async stop(): Promise<void> {
    await Promise.all(
      this.#servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            if (!server.listening) return resolve();
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }

  /** Stops the farm, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Renders one target's exposition after counting the request that asks for it. */
function exposition(state: TargetState, layout: Layout): string {
  const n = state.requests.length;
  const i = state.index;
  const out: string[] = [
    '# HELP http_requests_total Requests served, by method, handler and status code.',
    '# TYPE http_requests_total counter',
    `http_requests_total{code="200",handler="/metrics",method="get"} ${n}`,
  ];
  if (layout.gauges) {
    out.push(
      '# HELP process_resident_memory_bytes Resident memory size in bytes.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${50_000_000 + i * 1_000_000 + (n % 16) * 4096}`,
      '# HELP process_open_fds Number of open file descriptors.',
      '# TYPE process_open_fds gauge',
      `process_open_fds ${10 + ((n + i) % 7)}`,
      '# HELP app_queue_depth Jobs waiting, by queue.',
      '# TYPE app_queue_depth gauge',
      ...queues.map((q, k) => `app_queue_depth{queue="${q}"} ${(n * (k + 1) + i) % 50}`),
    );
  }
  if (layout.histogram) {
    // One observation per request, spread over the buckets by request number and target.
    const observed = (((n * 37 + i * 11) % 100) / 100) ** 3 * 4;
    state.observedSum += observed;
    const first = bucketBounds.findIndex((b) => observed <= b);
    for (let b = first === -1 ? bucketBounds.length : first; b < state.buckets.length; b++) state.buckets[b] = (state.buckets[b] ?? 0) + 1;
    out.push(
      '# HELP http_request_duration_seconds Time spent serving requests.',
      '# TYPE http_request_duration_seconds histogram',
      ...bucketBounds.map((le, b) => `http_request_duration_seconds_bucket{handler="/metrics",le="${le}"} ${state.buckets[b] ?? 0}`),
      `http_request_duration_seconds_bucket{handler="/metrics",le="+Inf"} ${n}`,
      `http_request_duration_seconds_sum{handler="/metrics"} ${state.observedSum.toFixed(6)}`,
      `http_request_duration_seconds_count{handler="/metrics"} ${n}`,
    );
  }
  if (layout.shards > 0) {
    out.push('# HELP app_jobs_processed_total Jobs processed, by shard.', '# TYPE app_jobs_processed_total counter');
    for (let s = 0; s < layout.shards; s++) out.push(`app_jobs_processed_total{queue="${queues[s % queues.length] ?? 'default'}",shard="${s}"} ${n * ((s % 5) + 1)}`);
  }
  out.push('');
  return out.join('\n');
}

/** Answers 404 to anything but GET or HEAD `/metrics` and returns false; true for a scrape. */
function isScrape(req: IncomingMessage, res: ServerResponse): boolean {
  const path = (req.url ?? '').split('?')[0];
  if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) return true;
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
  return false;
}

function handler(state: TargetState, layout: Layout, authorization: string | undefined): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!isScrape(req, res)) return;
    if (authorization !== undefined && req.headers.authorization !== authorization) {
      state.unauthorized.push(Date.now());
      res.writeHead(401, { 'Content-Type': 'text/plain; charset=utf-8', 'WWW-Authenticate': 'Basic realm="farm"' }).end('401 Unauthorized\n');
      return;
    }
    state.requests.push(Date.now());
    const body = exposition(state, layout);
    res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

/** A gzip bomb target's handler: `bomb` as a gzip body to every scrape. A scraper may hang up halfway through. */
function bombHandler(requests: number[], bomb: Buffer): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!isScrape(req, res)) return;
    requests.push(Date.now());
    res.writeHead(200, { 'Content-Type': contentType, 'Content-Encoding': 'gzip', 'Content-Length': bomb.length });
    res.end(req.method === 'HEAD' ? undefined : bomb);
  };
}

/** A broken target's handler: logs the scrape, then answers as its kind does (a `hang` target never does). */
function brokenHandler(kind: BrokenKind, requests: number[]): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!isScrape(req, res)) return;
    requests.push(Date.now());
    switch (kind) {
      case 'garbage':
        res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(garbageBody) }).end(req.method === 'HEAD' ? undefined : garbageBody);
        return;
      case 'error':
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('500 internal server error\n');
        return;
      case 'hang':
        return;
    }
  };
}

/**
 * `bytes` zero bytes gzipped at the best compression, about 1,000:1. The zeros are streamed through the compressor
 * 1 MiB at a time, never held whole; 1 GiB takes about 4 s of CPU.
 */
async function gzippedZeros(bytes: number): Promise<Buffer> {
  const block = Buffer.alloc(2 ** 20);
  function* zeros(): Generator<Buffer> {
    for (let left = bytes; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
  }
  const out: Buffer[] = [];
  await pipeline(Readable.from(zeros()), createGzip({ level: zlibConstants.Z_BEST_COMPRESSION }), async (compressed: AsyncIterable<Buffer>) => {
    for await (const chunk of compressed) out.push(chunk);
  });
  return Buffer.concat(out);
}

/** Listens on a free port of `host`. */
async function listen(host: string): Promise<{ server: Server; port: number; address: string }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return { server, port, address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` };
}

function checkCount(name: string, value: number, minimum: number): void {
  if (!Number.isSafeInteger(value) || value < minimum) throw new RangeError(`${name} must be an integer ≥ ${minimum}, got ${value}`);
}

/**
 * Starts `targets` HTTP servers on free ports of `host`, then `gzipBombs` and `broken` ones. Resolves once all of
 * them listen; if one cannot, the others are closed and the error is thrown. The gzip bomb is compressed once,
 * before any server starts, and shared by the bomb targets.
 *
 * @throws RangeError when `targets`, `gzipBombs` or a `broken` count is negative, or `series` or `gzipBombBytes` is
 *   below 1.
 */
export async function startTargetFarm(options: TargetFarmOptions): Promise<TargetFarm> {
  checkCount('targets', options.targets, 0);
  checkCount('series', options.series, 1);
  const bombCount = options.gzipBombs ?? 0;
  checkCount('gzipBombs', bombCount, 0);
  const bombBytes = options.gzipBombBytes ?? 2 ** 30;
  checkCount('gzipBombBytes', bombBytes, 1);
  for (const kind of brokenKinds) checkCount(`broken.${kind}`, options.broken?.[kind] ?? 0, 0);
  const host = options.host ?? '127.0.0.1';
  const layout = layoutFor(options.series);
  const authorization = options.basicAuth === undefined ? undefined : `Basic ${Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString('base64')}`;
  const bomb = bombCount > 0 ? await gzippedZeros(bombBytes) : undefined;
  const servers: Server[] = [];
  const targets: TargetState[] = [];
  const gzipBombs: FarmTarget[] = [];
  const broken: BrokenTarget[] = [];
  try {
    for (let index = 0; index < options.targets; index++) {
      const { server, port, address } = await listen(host);
      servers.push(server);
      const state: TargetState = { index, port, address, requests: [], unauthorized: [], buckets: new Array<number>(bucketBounds.length).fill(0), observedSum: 0 };
      server.on('request', handler(state, layout, authorization));
      targets.push(state);
    }
    for (let index = 0; bomb !== undefined && index < bombCount; index++) {
      const { server, port, address } = await listen(host);
      servers.push(server);
      const requests: number[] = [];
      server.on('request', bombHandler(requests, bomb));
      gzipBombs.push({ index, port, address, requests, unauthorized: [] });
    }
    for (const kind of brokenKinds) {
      for (let n = 0; n < (options.broken?.[kind] ?? 0); n++) {
        const { server, port, address } = await listen(host);
        servers.push(server);
        const requests: number[] = [];
        server.on('request', brokenHandler(kind, requests));
        broken.push({ index: broken.length, kind, port, address, requests, unauthorized: [] });
      }
    }
  } catch (err) {
    await new TargetFarm({ targets, gzipBombs, broken, series: options.series, servers }).stop();
    throw err;
  }
  return new TargetFarm({ targets, gzipBombs, broken, series: options.series, servers });
}
