/**
 * Test fixtures for the HTTP client and the scraper: the throwaway PKI of @promfleet/testkit, real HTTP, HTTPS and HTTP/2
 * servers on 127.0.0.1 port 0 that record what they were sent, and a tiny forwarding/CONNECT proxy. Tests only.
 */
import { createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Server, type Socket } from 'node:net';
import type { HttpClientConfig } from '@promfleet/model';

/** The PKI moved to @promfleet/testkit (shared with the fleet and e2e tests); re-exported for these tests. */
export { makePki, type Pki } from '@promfleet/testkit';

/** A request as the server saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly httpVersion: string;
  readonly clientCertificate: boolean;
}

/** A running server; `await using` closes it and every connection it holds. */
export interface TestServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` or `https://…`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;

/** Options for {@link startServer}: TLS material makes it HTTPS; `http2` makes it HTTP/2 with HTTP/1.1 fallback. */
export interface ServerOptions {
  readonly tls?: {
    readonly cert: string;
    readonly key: string;
    readonly ca?: string;
    readonly requireClientCert?: boolean;
    readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  };
  readonly http2?: boolean;
}

/** Starts a server on 127.0.0.1, port 0, that records each request and then calls `handler`. */
export async function startServer(handler: Handler, options: ServerOptions = {}): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const record: Handler = (req, res) => {
    const socket = req.socket as Socket & { getPeerCertificate?: () => object };
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      httpVersion: req.httpVersion,
      clientCertificate: socket.getPeerCertificate !== undefined && Object.keys(socket.getPeerCertificate()).length > 0,
    });
    handler(req, res);
  };
  const tls = options.tls;
  const tlsOptions =
    tls === undefined
      ? undefined
      : {
          cert: tls.cert,
          key: tls.key,
          ...(tls.ca === undefined ? {} : { ca: tls.ca }),
          ...(tls.maxVersion === undefined ? {} : { maxVersion: tls.maxVersion }),
          requestCert: tls.requireClientCert ?? false,
          rejectUnauthorized: tls.requireClientCert ?? false,
        };
  const server: Server =
    tlsOptions === undefined
      ? createHttpServer(record)
      : options.http2 === true
        ? createSecureServer({ ...tlsOptions, allowHTTP1: true }, record)
        : createHttpsServer(tlsOptions, record);
  const sockets = trackSockets(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = closer(server, sockets);
  return { url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`, port, requests, close, [Symbol.asyncDispose]: close };
}

/** What the proxy was asked: absolute-form requests it forwarded and CONNECT tunnels it opened. */
export interface TestProxy extends TestServer {
  readonly forwarded: RecordedRequest[];
  readonly tunnels: RecordedRequest[];
}

/**
 * Starts a forward proxy on 127.0.0.1: absolute-form requests are forwarded and CONNECT opens a tunnel. Every target
 * host resolves to 127.0.0.1 (only the port is used), so a test can name hosts that exist nowhere else.
 */
export async function startProxy(): Promise<TestProxy> {
  const forwarded: RecordedRequest[] = [];
  const tunnels: RecordedRequest[] = [];
  const seen = (req: IncomingMessage): RecordedRequest => ({
    method: req.method ?? '',
    url: req.url ?? '',
    headers: req.headers,
    httpVersion: req.httpVersion,
    clientCertificate: false,
  });
  const server = createHttpServer((req, res) => {
    forwarded.push(seen(req));
    const target = new URL(req.url ?? '');
    const upstream = httpRequest(
      { host: '127.0.0.1', port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers: req.headers },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    tunnels.push(seen(req));
    const port = Number((req.url ?? '').split(':').pop());
    const upstream = connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  });
  const sockets = trackSockets(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = closer(server, sockets);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: forwarded,
    forwarded,
    tunnels,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** An HTTP client config with Prometheus' defaults (`DefaultHTTPClientConfig`) and `overrides` applied. */
export function httpConfig(overrides: Partial<HttpClientConfig> = {}): HttpClientConfig {
  return {
    tlsConfig: { insecureSkipVerify: false },
    proxyFromEnvironment: false,
    proxyConnectHeader: new Map(),
    followRedirects: true,
    enableHttp2: true,
    httpHeaders: new Map(),
    ...overrides,
  };
}
