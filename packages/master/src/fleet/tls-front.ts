/**
 * The fleet port when the master serves TLS: a TCP listener of our own in front of grpc-js, so that a connection
 * that never gets as far as a call is refused, counted and logged like a refused call. grpc-js' own secure server
 * drops such connections unseen inside Node's http2 server: a worker that connects without TLS (an h2c client sends
 * `PRI * HTTP/2.0`), anything else that is not TLS, a failed TLS handshake, a connection that never says anything.
 *
 * Each accepted connection goes through three steps, under one deadline (`handshakeTimeoutMs`):
 *
 * 1. Its first bytes are read and must start a TLS handshake record (content type 0x16, version major 3). Anything
 *    else is refused as `no_tls` and closed at once: a flood of plaintext connections costs a read and a close each,
 *    no TLS work.
 * 2. The bytes are put back and the socket handed to a `tls.Server` of our own that never listens (the
 *    `emit('connection')` injection grpc-js uses too). It has the credentials' certificate, key, client CA and
 *    ciphers, and follows their updates (certificate rotation) as grpc-js' own server does. A handshake that fails
 *    with an error is refused as `tls_handshake_failed`.
 * 3. The secured socket (ALPN `h2`) is handed to grpc-js through a connection injector with insecure credentials:
 *    gRPC runs over our TLS socket, and a call's auth context still shows the verified client certificate, because
 *    grpc-js reads it from the session's `TLSSocket`. Admission then goes on per call, as without this front.
 *
 * A connection with no TLS session when the deadline passes (silent, or stalled in its handshake) is refused as
 * `handshake_timeout`, so idle sockets cannot pile up; `maxConnections` caps open connections of every kind
 * (refused as `max_connections`, by Node before any byte is read). A connection closed by its peer before it sent
 * anything (a TCP probe) or in the middle of its handshake is not a refusal and is not counted. Errors on the raw
 * sockets are absorbed: they only ever close the connection. (A connection with a TLS session that holds no call is
 * grpc-js' to close: server.ts sets `grpc.max_connection_idle_ms`.)
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { ServerCredentials } from '@grpc/grpc-js';
import { parseListenAddress } from '@promfleet/model';
import { RefusedReason, type RefusalEvent } from './admission.js';

/** The first byte of a TLS handshake record (ContentType handshake, RFC 8446 5.1). */
const TLS_HANDSHAKE_RECORD = 0x16;
/** The major version byte of every SSL 3 / TLS record version (0x0301 to 0x0304). */
const TLS_RECORD_VERSION_MAJOR = 0x03;
/** How long a connection whose call was refused for its credentials stays open: for the refusal's status to go out. */
const REFUSED_CONNECTION_CLOSE_MS = 250;

/** Options of {@link TlsFront}. */
export interface TlsFrontOptions {
  /** Secure grpc-js server credentials: their certificate, key, client CA and their updates are served here. */
  readonly credentials: ServerCredentials;
  /** Takes a connection whose TLS handshake succeeded with ALPN `h2` (hands it to grpc-js). */
  readonly accept: (socket: TLSSocket) => void;
  /** Told about every connection refused here. */
  readonly refused: (event: RefusalEvent) => void;
  /** How long a connection may take from its accept to a TLS session. */
  readonly handshakeTimeoutMs: number;
  /** The most open connections, in their handshake or carrying gRPC. */
  readonly maxConnections: number;
  /**
   * How long a connection stays open after a handshake without a client certificate the client CA verified (when
   * one is required): long enough for its call to be refused with a status, too short to hold a connection slot.
   */
  readonly unauthenticatedConnectionMs: number;
}

/** One accepted connection, until it closes. */
interface Connection {
  readonly raw: Socket;
  readonly peer: string;
  /** The TLS socket, once the handshake succeeded. */
  tls?: TLSSocket;
  timer: NodeJS.Timeout | undefined;
  refused: boolean;
}

/** A TCP listener that admits only TLS connections to grpc-js, refusing and reporting the others (see the file comment). */
export class TlsFront {
  readonly #options: TlsFrontOptions;
  readonly #net: NetServer;
  readonly #tls: TlsServer;
  /** Connections by `local address:port remote address:port`, the key a raw socket and its TLS socket share. */
  readonly #connections = new Map<string, Connection>();
  /** Whether a client CA is set: a connection without a certificate it verified then carries no admitted call. */
  readonly #requireClientCertificate: boolean;
  readonly #watcher: (options: SecureContextOptions | null) => void;
  #contextValid: boolean;
  #closing = false;
  #listening = false;
  readonly #netClosed: Promise<void>;

  constructor(options: TlsFrontOptions) {
    this.#options = options;
    const { credentials } = options;
    const constructorOptions = credentials._getConstructorOptions();
    if (!credentials._isSecure() || constructorOptions === null) throw new TypeError('TlsFront needs secure server credentials');
    const contextOptions = credentials._getSecureContextOptions();
    this.#contextValid = contextOptions !== null;
    // A connection without a client certificate is never failed in the handshake: its calls are refused with a status
    // that says why (server.ts), and the connection is closed soon after (see #secured).
    this.#requireClientCertificate = constructorOptions.requestCert === true;
    const ciphers = constructorOptions.ciphers === undefined ? {} : { ciphers: constructorOptions.ciphers };
    this.#tls = createTlsServer({
      ...(constructorOptions.requestCert === undefined ? {} : { requestCert: constructorOptions.requestCert }),
      ...ciphers,
      rejectUnauthorized: false,
      ...contextOptions,
      ALPNProtocols: ['h2'],
      // Ours comes first; this one only stops a handshake that would outlive it by a bug.
      handshakeTimeout: options.handshakeTimeoutMs * 2,
    });
    this.#watcher = (update) => {
      if (update !== null) {
        try {
          // A new context replaces the whole one: the ciphers too.
          this.#tls.setSecureContext({ ...ciphers, ...update });
        } catch {
          update = null;
        }
      }
      this.#contextValid = update !== null;
    };
    credentials._addWatcher(this.#watcher);
    this.#tls.on('secureConnection', (socket: TLSSocket) => this.#secured(socket));
    this.#tls.on('tlsClientError', (err: Error, socket: TLSSocket) => this.#handshakeFailed(err, socket));

    this.#net = createNetServer();
    this.#netClosed = new Promise((resolve) => this.#net.once('close', () => resolve()));
    this.#net.maxConnections = options.maxConnections;
    this.#net.on('connection', (socket: Socket) => this.#accepted(socket));
    this.#net.on('drop', (data?: { remoteAddress?: string; remotePort?: number }) => {
      this.#options.refused({
        reason: RefusedReason.maxConnections,
        peer: peerAddress(data?.remoteAddress, data?.remotePort),
        workerId: '',
        message: `the master has ${options.maxConnections} open fleet connections, the most it takes (--fleet.max-connections)`,
      });
    });
  }

  /** Open connections, in their handshake or carrying gRPC. */
  get connections(): number {
    return this.#connections.size;
  }

  /** Listens on `address` (`host:port`, `[v6]:port`, `:port` for every interface; port 0 picks one) and resolves to the port. */
  async listen(address: string): Promise<number> {
    const { host, port } = parseListenAddress(address);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#net.once('error', onError);
      this.#net.listen({ port, ...(host === undefined ? {} : { host }) }, () => {
        this.#net.off('error', onError);
        // Absorbed: a failed accept (out of file descriptors, say) must not end the master; the next one may work.
        this.#net.on('error', () => undefined);
        this.#listening = true;
        resolve();
      });
    });
    const bound = this.#net.address();
    if (bound === null || typeof bound === 'string') throw new Error(`the fleet port listens on ${String(bound)}, not a TCP port`);
    return bound.port;
  }

  /** Stops accepting and closes every connection still before its TLS session; the others are grpc-js' to close. */
  stopAccepting(): void {
    if (!this.#closing) {
      this.#closing = true;
      this.#options.credentials._removeWatcher(this.#watcher);
      if (this.#net.listening) this.#net.close();
    }
    for (const connection of this.#connections.values()) {
      if (connection.tls === undefined) connection.raw.destroy();
    }
  }

  /** Closes every connection left (once grpc-js closed its sessions) and resolves when the listener is closed. */
  async close(): Promise<void> {
    this.stopAccepting();
    const closing: Promise<void>[] = [];
    for (const connection of this.#connections.values()) {
      // Every connection still here has not said 'close' (its listener removes it). Wait for it even when
      // `raw.closed` is already true: a destroyed stream sets `closed` a tick before it emits 'close'.
      closing.push(new Promise((resolve) => connection.raw.once('close', () => resolve())));
      connection.tls?.destroy();
      connection.raw.destroy();
    }
    await Promise.all(closing);
    // The listener is closed once its last connection is.
    if (this.#listening) await this.#netClosed;
  }

  #accepted(raw: Socket): void {
    // Absorbed: an error only ever closes this connection ('close' follows).
    raw.on('error', () => undefined);
    if (this.#closing) {
      raw.destroy();
      return;
    }
    const key = connectionKey(raw);
    const peer = peerAddress(raw.remoteAddress, raw.remotePort);
    if (key === undefined) {
      // Closed already.
      raw.destroy();
      return;
    }
    const connection: Connection = { raw, peer, timer: undefined, refused: false };
    this.#connections.set(key, connection);
    raw.once('close', () => {
      clearTimeout(connection.timer);
      this.#connections.delete(key);
    });
    connection.timer = setTimeout(() => {
      connection.timer = undefined;
      if (connection.tls !== undefined) return;
      this.#refuse(connection, RefusedReason.handshakeTimeout, `no TLS session within ${this.#options.handshakeTimeoutMs} ms of connecting`);
    }, this.#options.handshakeTimeoutMs);
    raw.once('data', (chunk: Buffer) => {
      raw.pause();
      if (chunk[0] !== TLS_HANDSHAKE_RECORD || (chunk.length > 1 && chunk[1] !== TLS_RECORD_VERSION_MAJOR)) {
        const what = chunk.subarray(0, 4).toString('latin1') === 'PRI ' ? 'an HTTP/2 preface in clear (a gRPC client without TLS)' : 'bytes that are not a TLS handshake';
        this.#refuse(
          connection,
          RefusedReason.noTls,
          `the master serves the fleet link over TLS and the connection sent ${what} (worker: --master.tls.ca-file, or any --master.tls.* flag)`,
        );
        return;
      }
      if (!this.#contextValid) {
        // No certificate to present (not loaded yet, or unusable): as grpc-js does, drop the connection.
        raw.destroy();
        return;
      }
      raw.unshift(chunk);
      // Node's TLS server wraps the socket and reads the bytes put back before reading on.
      this.#tls.emit('connection', raw);
    });
  }

  #secured(socket: TLSSocket): void {
    // Absorbed: grpc-js' session ends on a socket error, and an unhandled one would crash the master.
    socket.on('error', () => undefined);
    const key = connectionKey(socket);
    const connection = key === undefined ? undefined : this.#connections.get(key);
    if (connection === undefined || connection.refused || this.#closing) {
      socket.destroy();
      return;
    }
    clearTimeout(connection.timer);
    connection.timer = undefined;
    if (socket.alpnProtocol !== 'h2') {
      socket.destroy();
      this.#refuse(connection, RefusedReason.tlsHandshakeFailed, 'the TLS handshake did not choose HTTP/2 (ALPN h2): not a gRPC client');
      return;
    }
    connection.tls = socket;
    if (this.#requireClientCertificate && !socket.authorized) {
      // Time enough for its call to be refused with a status the peer can read, not to sit on the connection limit.
      connection.timer = setTimeout(() => connection.tls?.destroy(), this.#options.unauthenticatedConnectionMs);
      connection.timer.unref();
    }
    this.#options.accept(socket);
  }

  /**
   * Closes the connection of `peer` (`host:port`, as a call names its peer) shortly after one of its calls was refused
   * for its credentials: the refusal's status goes out first, then nothing more of the connection is kept.
   */
  closeRefused(peer: string): void {
    for (const connection of this.#connections.values()) {
      if (connection.peer !== peer || connection.tls === undefined) continue;
      clearTimeout(connection.timer);
      connection.timer = setTimeout(() => connection.tls?.destroy(), REFUSED_CONNECTION_CLOSE_MS);
      connection.timer.unref();
    }
  }

  #handshakeFailed(err: Error & { code?: string; reason?: string }, socket: TLSSocket): void {
    const key = connectionKey(socket);
    const connection = key === undefined ? undefined : this.#connections.get(key);
    socket.destroy();
    // A peer that hung up in its handshake left; it was not refused (a client that only looks at the certificate
    // does so too). Our own deadline is reported by the timer.
    if (connection === undefined || connection.refused || err.code === 'ECONNRESET' || this.#closing) return;
    if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
      this.#refuse(connection, RefusedReason.handshakeTimeout, 'the TLS handshake did not finish in time');
      return;
    }
    this.#refuse(connection, RefusedReason.tlsHandshakeFailed, `the TLS handshake failed: ${err.reason ?? err.code ?? 'error'}`);
  }

  #refuse(connection: Connection, reason: RefusedReason, message: string): void {
    if (connection.refused) return;
    connection.refused = true;
    clearTimeout(connection.timer);
    connection.timer = undefined;
    connection.raw.destroy();
    if (!this.#closing) this.#options.refused({ reason, peer: connection.peer, workerId: '', message });
  }
}

/** `host:port`, `[v6]:port`, as grpc-js names a call's peer. */
function peerAddress(address: string | undefined, port: number | undefined): string {
  const host = address ?? 'unknown';
  return `${host.includes(':') ? `[${host}]` : host}:${port ?? 0}`;
}

/** The TCP four-tuple of an open socket, which its TLS socket shares; undefined once it is closed. */
function connectionKey(socket: Socket): string | undefined {
  const { localAddress, localPort, remoteAddress, remotePort } = socket;
  if (localAddress === undefined || remoteAddress === undefined) return undefined;
  return `${localAddress}:${String(localPort)} ${remoteAddress}:${String(remotePort)}`;
}
