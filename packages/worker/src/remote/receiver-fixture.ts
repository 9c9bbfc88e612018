/**
 * A remote-write receiver for the queue's tests: a real node:http (or node:https) server on 127.0.0.1, port 0, that
 * decodes every request (snappy, then `WriteRequest` with the generated code of @promfleet/protocol) and answers
 * from a script, 204 once the script is used up.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { uncompress } from 'snappy';
import type { HttpClientConfig, RemoteWriteConfig } from '@promfleet/model';
import { WriteRequest } from '@promfleet/protocol';
import { httpConfig } from '../http-fixtures.js';

/** One scripted answer: a status with headers and body, or no answer at all until the server closes. */
export type ScriptedAnswer =
  | { readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body?: string }
  | { readonly hang: true };

/** A request as the receiver got it. */
export interface ReceivedRequest {
  readonly headers: IncomingHttpHeaders;
  /** The decoded request; undefined when the body was not snappy-compressed protobuf. */
  readonly request: WriteRequest | undefined;
  /** The raw (still compressed) body. */
  readonly body: Buffer;
  /** The status answered; undefined for a hung request. */
  readonly status: number | undefined;
}

/** One sample as a test compares it: the series' labels as `name=value` pairs in wire order, value and timestamp. */
export interface ReceivedSample {
  readonly labels: string;
  readonly value: number;
  readonly timestampMs: number;
}

/** Options of {@link startReceiver}. */
export interface ReceiverOptions {
  /** Serve HTTPS with this key and certificate (PEM). */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Listen on this port rather than a free one. */
  readonly port?: number;
}

/** A running receiver. Hold it with `await using`; disposing closes it. */
export class TestReceiver {
  /** Every request, in arrival order, whatever it was answered. */
  readonly requests: ReceivedRequest[] = [];
  readonly #server: Server;
  readonly #script: ScriptedAnswer[] = [];
  readonly #hung: ServerResponse[] = [];
  readonly #waiters: { readonly samples: number; readonly resolve: () => void }[] = [];

  /** Wraps a listening `server`; use {@link startReceiver}. */
  constructor(
    server: Server,
    readonly url: string,
  ) {
    this.#server = server;
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => void this.#answer({ headers: req.headers, body: Buffer.concat(chunks), res }));
    });
  }

  /** Answers the next requests with `answers`, in order; requests after them get 204. */
  script(...answers: ScriptedAnswer[]): void {
    this.#script.push(...answers);
  }

  /** Forgets the answers not used yet: every request from now on gets 204. */
  clearScript(): void {
    this.#script.length = 0;
  }

  /** The samples of every request answered 2xx, in order. */
  accepted(): ReceivedSample[] {
    return this.requests
      .filter((r) => r.status !== undefined && r.status < 300)
      .flatMap((r) => samplesOf(r.request));
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

  async #answer({ headers, body, res }: { headers: IncomingHttpHeaders; body: Buffer; res: ServerResponse }): Promise<void> {
    const request = await decode(body);
    const answer = this.#script.shift() ?? { status: 204 };
    if ('hang' in answer) {
      this.requests.push({ headers, request, body, status: undefined });
      this.#hung.push(res);
      return;
    }
    this.requests.push({ headers, request, body, status: answer.status });
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
    const accepted = this.accepted().length;
    for (const waiter of [...this.#waiters]) {
      if (accepted >= waiter.samples) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
}

/** Starts a receiver on 127.0.0.1, at a free port unless `options.port` names one. */
export async function startReceiver(options?: ReceiverOptions): Promise<TestReceiver> {
  const server = options?.tls === undefined ? createHttpServer() : createHttpsServer(options.tls);
  await new Promise<void>((resolve) => server.listen(options?.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return new TestReceiver(server, `${options?.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}/api/v1/write`);
}

/** Every sample of `request`, with its series' labels in wire order. */
export function samplesOf(request: WriteRequest | undefined): ReceivedSample[] {
  return (request?.timeseries ?? []).flatMap((ts) => {
    const labels = ts.labels.map((l) => `${l.name}=${l.value}`).join(',');
    return ts.samples.map((s) => ({ labels, value: s.value, timestampMs: s.timestamp }));
  });
}

async function decode(body: Buffer): Promise<WriteRequest | undefined> {
  try {
    const raw = await uncompress(body, { asBuffer: true });
    return WriteRequest.decode(typeof raw === 'string' ? Buffer.from(raw) : raw);
  } catch {
    return undefined;
  }
}

/** What {@link remoteWriteConfig} may change. */
export interface RemoteWriteOverrides {
  readonly queue?: Partial<RemoteWriteConfig['queueConfig']>;
  readonly httpClient?: Partial<HttpClientConfig>;
  readonly config?: Partial<Omit<RemoteWriteConfig, 'queueConfig' | 'httpClient'>>;
}

/**
 * A `remote_write` entry for `url` named `test`, with Prometheus' defaults but for timings short enough for tests:
 * a 20 ms batch deadline, backoff from 5 to 50 ms, a 5 s remote timeout.
 */
export function remoteWriteConfig(url: string, overrides: RemoteWriteOverrides = {}): RemoteWriteConfig {
  return {
    url,
    name: 'test',
    remoteTimeoutMs: 5_000,
    headers: new Map(),
    writeRelabelConfigs: [],
    sendExemplars: false,
    sendNativeHistograms: false,
    roundRobinDns: false,
    protobufMessage: 'prometheus.WriteRequest',
    metadataConfig: { send: false, sendIntervalMs: 0, maxSamplesPerSend: 0 },
    source: { file: '', line: 0 },
    ...overrides.config,
    queueConfig: {
      capacity: 10_000,
      maxShards: 50,
      minShards: 1,
      maxSamplesPerSend: 2000,
      batchSendDeadlineMs: 20,
      minBackoffMs: 5,
      maxBackoffMs: 50,
      retryOnHttp429: false,
      sampleAgeLimitMs: 0,
      ...overrides.queue,
    },
    httpClient: httpConfig({ enableHttp2: false, ...overrides.httpClient }),
  };
}
