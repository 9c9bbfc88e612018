/**
 * A recording remote-write receiver for tests and e2e: a real node:http (or node:https) server on 127.0.0.1 that
 * decodes every request — snappy, then Remote-Write 1.0 `prometheus.WriteRequest` or 2.0
 * `io.prometheus.write.v2.Request` by its Content-Type, as a 2.0 receiver does — records its samples, exemplars,
 * metadata and start (created) timestamps with their labels resolved, and answers from a script, 204 once the
 * script is used up. A 2.0 answer carries the `X-Prometheus-Remote-Write-*-Written` headers with the request's
 * counts, unless the script says to omit them or to give other numbers.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { uncompress } from 'snappy';
import { Request as RequestV2, Metadata_MetricType } from './gen/io/prometheus/write/v2/types.js';
import { WriteRequest } from './gen/prometheus/remote.js';
import { MetricMetadata_MetricType } from './gen/prometheus/types.js';

/** The two remote-write messages, by their fully qualified protobuf names (Prometheus' `protobuf_message`). */
export type ReceiverProtocol = 'prometheus.WriteRequest' | 'io.prometheus.write.v2.Request';

/** Counts for the 2.0 written headers. */
export interface WrittenCounts {
  readonly samples: number;
  readonly histograms: number;
  readonly exemplars: number;
}

/**
 * One scripted answer: a status with headers and body, or no answer at all until the server closes. `written`
 * (2.0 only) replaces the honest written headers: `omit` sends none, counts send those numbers.
 */
export type ReceiverAnswer =
  | {
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
      readonly written?: 'omit' | Partial<WrittenCounts>;
    }
  | { readonly hang: true };

/** One float sample: the series' labels as `name=value` pairs in wire order, joined by commas. */
export interface ReceivedSample {
  readonly labels: string;
  readonly value: number;
  readonly timestampMs: number;
  /** 2.0 `Sample.start_timestamp` (the created timestamp), present when not 0. */
  readonly startTimestampMs?: number;
}

/** One exemplar, with its series' labels and its own, both as `name=value` pairs joined by commas. */
export interface ReceivedExemplar {
  readonly series: string;
  readonly labels: string;
  readonly value: number;
  readonly timestampMs: number;
}

/**
 * One metadata entry: 1.0 `WriteRequest.metadata` (with `family`) or 2.0 per-series `TimeSeries.metadata` (with
 * `series`). `type` is the enum's name in lower case (`counter`, …, `unknown`).
 */
export interface ReceivedMetadata {
  readonly family?: string;
  readonly series?: string;
  readonly type: string;
  readonly help: string;
  readonly unit: string;
}

/** A request as the receiver got it. */
export interface ReceivedRequest {
  readonly headers: IncomingHttpHeaders;
  /** By the Content-Type; undefined for one the receiver does not know. */
  readonly protocol: ReceiverProtocol | undefined;
  /** The decoded 1.0 request; undefined for 2.0 or when the body did not decode. */
  readonly request: WriteRequest | undefined;
  /** The decoded 2.0 request; undefined for 1.0 or when the body did not decode. */
  readonly v2: RequestV2 | undefined;
  /** What the request holds, labels resolved. */
  readonly samples: readonly ReceivedSample[];
  readonly exemplars: readonly ReceivedExemplar[];
  readonly metadata: readonly ReceivedMetadata[];
  readonly histograms: number;
  /** The raw (still compressed) body. */
  readonly body: Buffer;
  /** The status answered; undefined for a hung request. */
  readonly status: number | undefined;
  /** The written counts answered (2.0), as sent; undefined when none were. */
  readonly written: WrittenCounts | undefined;
}

/** Options of {@link startRemoteWriteReceiver}. */
export interface RemoteWriteReceiverOptions {
  /** Serve HTTPS with this key and certificate (PEM). */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Listen on this port rather than a free one. */
  readonly port?: number;
  /** The messages accepted; others are answered 415 Unsupported Media Type. Both by default. */
  readonly protocols?: readonly ReceiverProtocol[];
}

const V2_CONTENT_TYPE_PROTO = 'io.prometheus.write.v2.Request';

/** A running receiver. Hold it with `await using`; disposing closes it. */
export class RemoteWriteReceiver {
  /** Every request, in arrival order, whatever it was answered. */
  readonly requests: ReceivedRequest[] = [];
  readonly #server: Server;
  readonly #protocols: readonly ReceiverProtocol[];
  readonly #script: ReceiverAnswer[] = [];
  readonly #hung: ServerResponse[] = [];
  readonly #waiters: { readonly samples: number; readonly resolve: () => void }[] = [];

  /** Wraps a listening `server`; use {@link startRemoteWriteReceiver}. */
  constructor(
    server: Server,
    readonly url: string,
    protocols: readonly ReceiverProtocol[] = ['prometheus.WriteRequest', 'io.prometheus.write.v2.Request'],
  ) {
    this.#server = server;
    this.#protocols = protocols;
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => void this.#answer({ headers: req.headers, body: Buffer.concat(chunks), res }));
    });
  }

  /** Answers the next requests with `answers`, in order; requests after them get 204. */
  script(...answers: ReceiverAnswer[]): void {
    this.#script.push(...answers);
  }

  /** Forgets the answers not used yet: every request from now on gets 204. */
  clearScript(): void {
    this.#script.length = 0;
  }

  /** The samples of every request answered 2xx, in order. */
  accepted(): ReceivedSample[] {
    return this.#acceptedRequests().flatMap((r) => r.samples);
  }

  /** The exemplars of every request answered 2xx, in order. */
  acceptedExemplars(): ReceivedExemplar[] {
    return this.#acceptedRequests().flatMap((r) => r.exemplars);
  }

  /** The metadata of every request answered 2xx, in order. */
  acceptedMetadata(): ReceivedMetadata[] {
    return this.#acceptedRequests().flatMap((r) => r.metadata);
  }

  /** Resolves once requests answered 2xx carried at least `samples` samples; rejects after `timeoutMs`. */
  waitForAccepted(samples: number, timeoutMs = 5_000): Promise<void> {
    if (this.accepted().length >= samples) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`receiver got ${this.accepted().length} of ${samples} samples in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push({
        samples,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Resolves once `count` requests arrived; rejects after `timeoutMs`. */
  async waitForRequests(count: number, timeoutMs = 5_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.requests.length < count) {
      if (performance.now() > deadline) throw new Error(`receiver got ${this.requests.length} of ${count} requests`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Closes the server and every connection, hung ones included. */
  async close(): Promise<void> {
    for (const res of this.#hung) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Closes the server, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #acceptedRequests(): ReceivedRequest[] {
    return this.requests.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300);
  }

  async #answer({ headers, body, res }: { headers: IncomingHttpHeaders; body: Buffer; res: ServerResponse }): Promise<void> {
    const protocol = protocolOf(headers['content-type']);
    const decoded = await decode(body, protocol);
    const scripted = protocol !== undefined && !this.#protocols.includes(protocol) ? { status: 415 } : this.#script.shift() ?? { status: 204 };
    const base = { headers, protocol, body, ...decoded };
    if ('hang' in scripted) {
      this.requests.push({ ...base, status: undefined, written: undefined });
      this.#hung.push(res);
      return;
    }
    const written = protocol === 'io.prometheus.write.v2.Request' ? writtenCounts(decoded, scripted.written) : undefined;
    const responseHeaders: Record<string, string> = { ...scripted.headers };
    if (written !== undefined) {
      responseHeaders['X-Prometheus-Remote-Write-Samples-Written'] = String(written.samples);
      responseHeaders['X-Prometheus-Remote-Write-Histograms-Written'] = String(written.histograms);
      responseHeaders['X-Prometheus-Remote-Write-Exemplars-Written'] = String(written.exemplars);
    }
    this.requests.push({ ...base, status: scripted.status, written });
    res.writeHead(scripted.status, responseHeaders);
    res.end(scripted.body);
    const accepted = this.accepted().length;
    for (const waiter of [...this.#waiters]) {
      if (accepted >= waiter.samples) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
}

/** Starts a receiver on 127.0.0.1, at a free port unless `options.port` names one; its path is `/api/v1/write`. */
export async function startRemoteWriteReceiver(options?: RemoteWriteReceiverOptions): Promise<RemoteWriteReceiver> {
  const server = options?.tls === undefined ? createHttpServer() : createHttpsServer(options.tls);
  await new Promise<void>((resolve) => server.listen(options?.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `${options?.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}/api/v1/write`;
  return new RemoteWriteReceiver(server, url, options?.protocols);
}

/**
 * The message a Content-Type names, as Prometheus' write handler reads it: `application/x-protobuf` alone is 1.0,
 * with `proto=` the named message.
 */
function protocolOf(contentType: string | undefined): ReceiverProtocol | undefined {
  if (contentType === undefined) return 'prometheus.WriteRequest';
  const [type, ...parameters] = contentType.split(';').map((part) => part.trim());
  if (type !== 'application/x-protobuf') return undefined;
  const proto = parameters.find((p) => p.startsWith('proto='))?.slice('proto='.length);
  if (proto === undefined || proto === 'prometheus.WriteRequest') return 'prometheus.WriteRequest';
  return proto === V2_CONTENT_TYPE_PROTO ? 'io.prometheus.write.v2.Request' : undefined;
}

/** What one request holds, decoded. */
export interface DecodedRequest {
  readonly request: WriteRequest | undefined;
  readonly v2: RequestV2 | undefined;
  readonly samples: readonly ReceivedSample[];
  readonly exemplars: readonly ReceivedExemplar[];
  readonly metadata: readonly ReceivedMetadata[];
  readonly histograms: number;
}

const NOTHING: DecodedRequest = { request: undefined, v2: undefined, samples: [], exemplars: [], metadata: [], histograms: 0 };

async function decode(body: Buffer, protocol: ReceiverProtocol | undefined): Promise<DecodedRequest> {
  let raw: Buffer;
  try {
    const out = await uncompress(body, { asBuffer: true });
    raw = typeof out === 'string' ? Buffer.from(out) : out;
  } catch {
    return NOTHING;
  }
  try {
    switch (protocol) {
      case 'prometheus.WriteRequest':
        return decodedV1(WriteRequest.decode(raw));
      case 'io.prometheus.write.v2.Request':
        return decodedV2(RequestV2.decode(raw));
      case undefined:
        return NOTHING;
    }
  } catch {
    return NOTHING;
  }
}

/** The samples, exemplars and metadata of a 1.0 request. */
export function decodedV1(request: WriteRequest): DecodedRequest {
  const samples: ReceivedSample[] = [];
  const exemplars: ReceivedExemplar[] = [];
  let histograms = 0;
  for (const ts of request.timeseries) {
    const series = pairs(ts.labels.map((l) => [l.name, l.value]));
    for (const s of ts.samples) samples.push({ labels: series, value: s.value, timestampMs: s.timestamp });
    for (const e of ts.exemplars) {
      exemplars.push({ series, labels: pairs(e.labels.map((l) => [l.name, l.value])), value: e.value, timestampMs: e.timestamp });
    }
    histograms += ts.histograms.length;
  }
  const metadata = request.metadata.map((m) => ({
    family: m.metricFamilyName,
    type: typeName(MetricMetadata_MetricType[m.type]),
    help: m.help,
    unit: m.unit,
  }));
  return { request, v2: undefined, samples, exemplars, metadata, histograms };
}

/**
 * The samples, exemplars and metadata of a 2.0 request, every reference resolved through its symbol table.
 *
 * @throws Error when a reference points past the table, or the table does not start with "" (the spec's MUSTs).
 */
export function decodedV2(request: RequestV2): DecodedRequest {
  const { symbols } = request;
  if (symbols.length > 0 && symbols[0] !== '') throw new Error(`symbols[0] is ${JSON.stringify(symbols[0])}, not ""`);
  const symbol = (ref: number): string => {
    const value = symbols[ref];
    if (value === undefined) throw new Error(`symbol reference ${ref} is past the table's ${symbols.length} entries`);
    return value;
  };
  const resolve = (refs: readonly number[]): string => {
    if (refs.length % 2 !== 0) throw new Error(`an odd number (${refs.length}) of label references`);
    const out: [string, string][] = [];
    for (let i = 0; i < refs.length; i += 2) out.push([symbol(refs[i] ?? 0), symbol(refs[i + 1] ?? 0)]);
    return pairs(out);
  };
  const samples: ReceivedSample[] = [];
  const exemplars: ReceivedExemplar[] = [];
  const metadata: ReceivedMetadata[] = [];
  let histograms = 0;
  for (const ts of request.timeseries) {
    const series = resolve(ts.labelsRefs);
    for (const s of ts.samples) {
      samples.push({ labels: series, value: s.value, timestampMs: s.timestamp, ...(s.startTimestamp === 0 ? {} : { startTimestampMs: s.startTimestamp }) });
    }
    for (const e of ts.exemplars) exemplars.push({ series, labels: resolve(e.labelsRefs), value: e.value, timestampMs: e.timestamp });
    if (ts.metadata !== undefined) {
      metadata.push({
        series,
        type: typeName(Metadata_MetricType[ts.metadata.type]),
        help: symbol(ts.metadata.helpRef),
        unit: symbol(ts.metadata.unitRef),
      });
    }
    histograms += ts.histograms.length;
  }
  return { request: undefined, v2: request, samples, exemplars, metadata, histograms };
}

function writtenCounts(decoded: DecodedRequest, scripted: 'omit' | Partial<WrittenCounts> | undefined): WrittenCounts | undefined {
  if (scripted === 'omit') return undefined;
  return {
    samples: scripted?.samples ?? decoded.samples.length,
    histograms: scripted?.histograms ?? decoded.histograms,
    exemplars: scripted?.exemplars ?? decoded.exemplars.length,
  };
}

function pairs(labels: readonly (readonly [string, string])[]): string {
  return labels.map(([name, value]) => `${name}=${value}`).join(',');
}

/** `counter` from `COUNTER` or `METRIC_TYPE_COUNTER`; `unknown` for 0 in either enum. */
function typeName(name: string | undefined): string {
  const lower = (name ?? 'UNKNOWN').toLowerCase().replace(/^metric_type_/, '');
  return lower === 'unspecified' ? 'unknown' : lower;
}
