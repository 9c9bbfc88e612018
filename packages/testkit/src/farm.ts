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
 * In OpenMetrics (`format: 'openmetrics'`) the same series come with what only that format carries: `# UNIT` for
 * the families whose names end in a unit, an exemplar on the request counter and on the histogram bucket each
 * request's observation falls in, and `_created` lines (the farm's start time) for the request counter and the
 * histogram. A `_created` line is not counted in `series`.
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
  /** The exposition format of the normal targets: the Prometheus text format (0.0.4, the default) or OpenMetrics 1.0.0. */
  readonly format?: FarmFormat;
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

/** An exposition format a farm serves. */
export type FarmFormat = 'text' | 'openmetrics';

/** One exemplar as a farm target exposed it with a sample. */
export interface FarmExemplar {
  /** The series it belongs to, as the exposition writes it (`http_requests_total{code="200",…}`). */
  readonly series: string;
  readonly traceId: string;
  readonly value: number;
  readonly timestampMs: number;
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
  /** The exemplars it exposed, oldest first; always empty in the text format. Only the farm appends to it. */
  readonly exemplars: readonly FarmExemplar[];
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
const openMetricsContentType = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/**
 * A family's metadata as a farm target exposes it: OpenMetrics names (`http_requests` for the counter whose sample
 * is `http_requests_total`); `unit` is "" in the text format, which has no UNIT line.
 */
export interface FarmFamily {
  readonly family: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  readonly unit: string;
}

interface TargetState extends FarmTarget {
  readonly requests: number[];
  readonly unauthorized: number[];
  readonly exemplars: FarmExemplar[];
  /** Cumulative counts per bucket, `+Inf` last. */
  readonly buckets: number[];
  observedSum: number;
}

/** How the fixed families and the shard counters share `series`. */
interface Layout {
  readonly gauges: boolean;
  readonly histogram: boolean;
  readonly shards: number;
  readonly format: FarmFormat;
  /** The `_created` value of the OpenMetrics counters and histogram (Unix ms). */
  readonly createdMs: number;
}

function layoutFor(series: number, format: FarmFormat): Layout {
  let left = series - 1;
  const gauges = left >= 2 + queues.length;
  if (gauges) left -= 2 + queues.length;
  const histogram = left >= histogramSeries;
  if (histogram) left -= histogramSeries;
  return { gauges, histogram, shards: left, format, createdMs: Date.now() };
}

const families = {
  requests: { family: 'http_requests', type: 'counter', help: 'Requests served, by method, handler and status code.', unit: '' },
  memory: { family: 'process_resident_memory_bytes', type: 'gauge', help: 'Resident memory size in bytes.', unit: 'bytes' },
  fds: { family: 'process_open_fds', type: 'gauge', help: 'Number of open file descriptors.', unit: '' },
  queue: { family: 'app_queue_depth', type: 'gauge', help: 'Jobs waiting, by queue.', unit: '' },
  duration: { family: 'http_request_duration_seconds', type: 'histogram', help: 'Time spent serving requests.', unit: 'seconds' },
  jobs: { family: 'app_jobs_processed', type: 'counter', help: 'Jobs processed, by shard.', unit: '' },
} as const satisfies Record<string, FarmFamily>;

/** The families of a layout, in exposition order. */
function familiesOf(layout: Layout): FarmFamily[] {
  const all: FarmFamily[] = [families.requests];
  if (layout.gauges) all.push(families.memory, families.fds, families.queue);
  if (layout.histogram) all.push(families.duration);
  if (layout.shards > 0) all.push(families.jobs);
  return all.map((f) => (layout.format === 'openmetrics' ? f : { ...f, family: f.type === 'counter' ? `${f.family}_total` : f.family, unit: '' }));
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
  /** The metric names every target exposes (`_bucket`, `_sum` and `_count` for the histogram; no `_created`). */
  readonly metricNames: readonly string[];
  /** The metric families every target exposes, with the metadata its exposition gives them. */
  readonly families: readonly FarmFamily[];
  readonly format: FarmFormat;
  /**
   * In OpenMetrics, the created timestamp (Unix ms, whole ms) that the `_created` lines of `http_requests_total` and
   * of the histogram give, the same on every target; in the text format, none.
   */
  readonly createdMs: number | undefined;
  readonly #servers: readonly Server[];

  /** Use {@link startTargetFarm}. */
  constructor(parts: { targets: readonly FarmTarget[]; gzipBombs: readonly FarmTarget[]; broken: readonly BrokenTarget[]; layout: Layout; servers: readonly Server[] }) {
    const { layout } = parts;
    this.targets = parts.targets;
    this.gzipBombs = parts.gzipBombs;
    this.broken = parts.broken;
    this.series = 1 + (layout.gauges ? 2 + queues.length : 0) + (layout.histogram ? histogramSeries : 0) + layout.shards;
    this.metricNames = metricNamesOf(layout);
    this.families = familiesOf(layout);
    this.format = layout.format;
    this.createdMs = layout.format === 'openmetrics' ? layout.createdMs : undefined;
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

/** The `# HELP`, `# TYPE` and (OpenMetrics) `# UNIT` lines of a family. */
function header(family: FarmFamily, layout: Layout): string[] {
  const f = layout.format === 'openmetrics' ? family : { ...family, family: family.type === 'counter' ? `${family.family}_total` : family.family };
  return [`# HELP ${f.family} ${f.help}`, `# TYPE ${f.family} ${f.type}`, ...(layout.format === 'openmetrics' && f.unit !== '' ? [`# UNIT ${f.family} ${f.unit}`] : [])];
}

/** Renders one target's exposition after counting the request that asks for it, at `nowMs`. */
function exposition(state: TargetState, layout: Layout, nowMs: number): string {
  const n = state.requests.length;
  const i = state.index;
  const om = layout.format === 'openmetrics';
  const created = (layout.createdMs / 1000).toFixed(3);
  /** ` # {trace_id="…"} value timestamp` after `series`, recorded, in OpenMetrics; nothing in the text format. */
  const exemplar = (series: string, value: number): string => {
    if (!om) return '';
    const traceId = `${i.toString(16).padStart(8, '0')}${n.toString(16).padStart(8, '0')}`;
    state.exemplars.push({ series, traceId, value, timestampMs: nowMs });
    return ` # {trace_id="${traceId}"} ${value} ${(nowMs / 1000).toFixed(3)}`;
  };
  const requests = 'http_requests_total{code="200",handler="/metrics",method="get"}';
  const out: string[] = [...header(families.requests, layout), `${requests} ${n}${exemplar(requests, 1)}`];
  if (om) out.push(`http_requests_created{code="200",handler="/metrics",method="get"} ${created}`);
  if (layout.gauges) {
    out.push(
      ...header(families.memory, layout),
      `process_resident_memory_bytes ${50_000_000 + i * 1_000_000 + (n % 16) * 4096}`,
      ...header(families.fds, layout),
      `process_open_fds ${10 + ((n + i) % 7)}`,
      ...header(families.queue, layout),
      ...queues.map((q, k) => `app_queue_depth{queue="${q}"} ${(n * (k + 1) + i) % 50}`),
    );
  }
  if (layout.histogram) {
    // One observation per request, spread over the buckets by request number and target.
    const observed = (((n * 37 + i * 11) % 100) / 100) ** 3 * 4;
    state.observedSum += observed;
    const first = bucketBounds.findIndex((b) => observed <= b);
    const bucket = first === -1 ? bucketBounds.length : first;
    for (let b = bucket; b < state.buckets.length; b++) state.buckets[b] = (state.buckets[b] ?? 0) + 1;
    const bucketLine = (le: string, b: number, count: number): string => {
      const series = `http_request_duration_seconds_bucket{handler="/metrics",le="${le}"}`;
      return `${series} ${count}${b === bucket ? exemplar(series, Number(observed.toFixed(6))) : ''}`;
    };
    out.push(
      ...header(families.duration, layout),
      ...bucketBounds.map((le, b) => bucketLine(String(le), b, state.buckets[b] ?? 0)),
      bucketLine('+Inf', bucketBounds.length, n),
      `http_request_duration_seconds_sum{handler="/metrics"} ${state.observedSum.toFixed(6)}`,
      `http_request_duration_seconds_count{handler="/metrics"} ${n}`,
      ...(om ? [`http_request_duration_seconds_created{handler="/metrics"} ${created}`] : []),
    );
  }
  if (layout.shards > 0) {
    out.push(...header(families.jobs, layout));
    for (let s = 0; s < layout.shards; s++) out.push(`app_jobs_processed_total{queue="${queues[s % queues.length] ?? 'default'}",shard="${s}"} ${n * ((s % 5) + 1)}`);
  }
  out.push(om ? '# EOF\n' : '');
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
    const now = Date.now();
    state.requests.push(now);
    const body = exposition(state, layout, now);
    res.writeHead(200, { 'Content-Type': layout.format === 'openmetrics' ? openMetricsContentType : contentType, 'Content-Length': Buffer.byteLength(body) });
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
  const layout = layoutFor(options.series, options.format ?? 'text');
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
      const state: TargetState = { index, port, address, requests: [], unauthorized: [], exemplars: [], buckets: new Array<number>(bucketBounds.length).fill(0), observedSum: 0 };
      server.on('request', handler(state, layout, authorization));
      targets.push(state);
    }
    for (let index = 0; bomb !== undefined && index < bombCount; index++) {
      const { server, port, address } = await listen(host);
      servers.push(server);
      const requests: number[] = [];
      server.on('request', bombHandler(requests, bomb));
      gzipBombs.push({ index, port, address, requests, unauthorized: [], exemplars: [] });
    }
    for (const kind of brokenKinds) {
      for (let n = 0; n < (options.broken?.[kind] ?? 0); n++) {
        const { server, port, address } = await listen(host);
        servers.push(server);
        const requests: number[] = [];
        server.on('request', brokenHandler(kind, requests));
        broken.push({ index: broken.length, kind, port, address, requests, unauthorized: [], exemplars: [] });
      }
    }
  } catch (err) {
    await new TargetFarm({ targets, gzipBombs, broken, layout, servers }).stop();
    throw err;
  }
  return new TargetFarm({ targets, gzipBombs, broken, layout, servers });
}
