/**
 * The fleet protocol's transport: a grpc-js server whose Fleet.Connect streams become {@link WorkerSession}s of a
 * {@link Fleet}. It owns what is about the stream itself: admission (client certificate, bearer token, connection
 * rate and stream limits, all decided before the first message is read), the first-message Hello deadline, a Hello's
 * held targets joined from the HeldTargets parts that follow it (bounded), heartbeats both ways, the dead-stream
 * check, keepalive, and write backpressure ('drain'). With TLS, connections come through a {@link TlsFront} of its
 * own, which refuses and reports those that never get as far as a call.
 */
import { Server, ServerCredentials, status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import {
  AUTHORIZATION_METADATA_KEY,
  FleetService,
  HEARTBEAT_DEAD_AFTER_INTERVALS,
  MAX_MESSAGE_BYTES,
  MasterMessage,
  RefusalReason,
  type FleetServer,
  type Hello,
  type WorkerMessage,
} from '@promfleet/protocol';
import { RefusedReason, admit, type Admission, type AdmissionPolicy, type CallCredentials } from './admission.js';
import type { Fleet, FleetObserver, WorkerSession } from './fleet.js';
import type { TokenBucket } from './limits.js';
import { TlsFront } from './tls-front.js';

/** Streams allowed beyond `--fleet.max-workers` by default: room for reconnects and streams before their Hello. */
export const DEFAULT_EXTRA_STREAMS = 1_000;

/** How long a TLS connection may hold no call before the master closes it, by default. */
export const DEFAULT_IDLE_CONNECTION_MS = 30_000;

/**
 * The most held targets a Hello may list, with the HeldTargets parts that follow it, by default: 5,000,000, five times
 * the million targets a worker's snapshot buffer is sized for, and so what a Hello in parts may make the master hold
 * for one stream while it arrives (some 100 bytes a target decoded). A Hello beyond it is refused as `invalid_hello`.
 */
export const DEFAULT_MAX_HELD_TARGETS = 5_000_000;

/**
 * The most HeldTargets parts that may follow one Hello, by default: 10,000, so a stream cannot keep its Hello open
 * with endless tiny parts. A worker packs parts of up to 1 MiB (`HELLO_PART_BYTES`): 5,000,000 targets need about 150
 * of them with job names of 15 characters, and fewer than 10,000 even with job names of a kilobyte.
 */
export const DEFAULT_MAX_HELLO_PARTS = 10_000;

/** What the server hands accepted streams to: a {@link Fleet}, or a router that picks the leader's fleet (leader/router.ts). */
export type FleetEndpoint = Pick<Fleet, 'accept' | 'receive' | 'writable' | 'closed' | 'heartbeatIntervalMs' | 'maxWorkers'>;

/** Options of {@link FleetGrpcServer}. */
export interface FleetGrpcServerOptions {
  readonly fleet: FleetEndpoint;
  /** How long a new stream may take to send its Hello, with every HeldTargets part that follows it; 10 s by default. */
  readonly helloTimeoutMs?: number;
  /** The most held targets a Hello and its HeldTargets parts may list; {@link DEFAULT_MAX_HELD_TARGETS} by default. */
  readonly maxHeldTargets?: number;
  /** The most HeldTargets parts that may follow a Hello; {@link DEFAULT_MAX_HELLO_PARTS} by default. */
  readonly maxHelloParts?: number;
  /** With TLS, how long a new connection may take from its accept to a TLS session; 10 s by default. */
  readonly handshakeTimeoutMs?: number;
  /**
   * Server credentials; insecure by default. With `admission.requireClientCertificate` they must ask clients for a
   * certificate and verify it against the client CA without failing the handshake (fleet-tls.ts builds such), so
   * that a connection without one is refused, counted and logged here rather than dropped unseen in the handshake.
   */
  readonly credentials?: ServerCredentials;
  /** What every stream must present before its Hello is read; nothing by default. */
  readonly admission?: AdmissionPolicy;
  /** The most open streams, those still waiting for their Hello included; the fleet's max workers + 1,000 by default. */
  readonly maxStreams?: number;
  /**
   * With TLS, the most open connections, in their handshake or carrying streams; max streams + 1,000 by default.
   * Unlike the stream limits it counts connections before they proved anything: it bounds file descriptors.
   */
  readonly maxConnections?: number;
  /** With TLS, how long a connection may hold no call before it is closed; {@link DEFAULT_IDLE_CONNECTION_MS} by default. */
  readonly idleConnectionMs?: number;
  /** The connection-rate limit; none by default. */
  readonly connectionRate?: TokenBucket;
  /**
   * Told about every stream refused before its Hello and, with TLS, every connection refused before any call (the
   * fleet reports the ones refused at the Hello).
   */
  readonly observer?: Pick<FleetObserver, 'refused'>;
}

/** A grpc-js server serving Fleet.Connect for a {@link Fleet}. */
export class FleetGrpcServer {
  readonly #server: Server;
  readonly #calls = new Set<ServerDuplexStream<WorkerMessage, MasterMessage>>();
  #front: TlsFront | undefined;

  constructor(private readonly options: FleetGrpcServerOptions) {
    this.#server = new Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      // Workers send keepalive pings every 10 s even on an idle stream; accept them.
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
      // With TLS, a connection that holds no call is closed after a while: a peer that finished a handshake (it
      // needs no client certificate for that) cannot sit on one of --fleet.max-connections for ever. A worker
      // always has its stream open; between attempts it reconnects.
      ...(options.credentials?._isSecure() === true ? { 'grpc.max_connection_idle_ms': options.idleConnectionMs ?? DEFAULT_IDLE_CONNECTION_MS } : {}),
    });
    const handler: FleetServer = { connect: (call) => this.#connect(call) };
    this.#server.addService(FleetService, handler);
  }

  /**
   * Binds `address` and starts serving. Resolves to the bound port. Without TLS grpc-js binds it (host:port; port 0
   * picks one). With TLS a {@link TlsFront} listens (`host:port`, `[v6]:port`, or `:port` for every interface) and
   * hands grpc-js the connections whose TLS handshake succeeded.
   */
  listen(address: string): Promise<number> {
    const { credentials } = this.options;
    if (credentials === undefined || !credentials._isSecure()) {
      return new Promise((resolve, reject) => {
        this.#server.bindAsync(address, credentials ?? ServerCredentials.createInsecure(), (err, port) => (err === null ? resolve(port) : reject(err)));
      });
    }
    if (this.#front !== undefined) return Promise.reject(new Error('the fleet server listens already'));
    // grpc-js speaks plain HTTP/2 over sockets the front has secured: TLS is the front's.
    const injector = this.#server.createConnectionInjector(ServerCredentials.createInsecure());
    const maxStreams = this.#maxStreams();
    this.#front = new TlsFront({
      credentials,
      accept: (socket) => injector.injectConnection(socket),
      refused: (event) => this.options.observer?.refused?.(event),
      handshakeTimeoutMs: this.options.handshakeTimeoutMs ?? 10_000,
      unauthenticatedConnectionMs: this.options.handshakeTimeoutMs ?? 10_000,
      maxConnections: this.options.maxConnections ?? maxStreams + DEFAULT_EXTRA_STREAMS,
    });
    return this.#front.listen(address);
  }

  /** Open TLS connections (in their handshake or carrying streams); 0 without TLS. */
  get connections(): number {
    return this.#front?.connections ?? 0;
  }

  /** Stops accepting streams and ends the open ones; workers keep scraping and reconnect to the next master. */
  async close(): Promise<void> {
    this.#front?.stopAccepting();
    for (const call of this.#calls) call.end();
    // Closes grpc-js' sessions (the injected connections' too) once their streams ended.
    await new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve()));
    await this.#front?.close();
  }

  #maxStreams(): number {
    return this.options.maxStreams ?? this.options.fleet.maxWorkers + DEFAULT_EXTRA_STREAMS;
  }

  /**
   * Whether a new call may go on to its Hello: its credentials (client certificate, token), then the connection
   * rate and the stream limit. Reads nothing of the call but its TLS session and metadata.
   */
  #admit(call: ServerDuplexStream<WorkerMessage, MasterMessage>): Admission {
    const { admission, connectionRate } = this.options;
    const certificate = call.getAuthContext().sslPeerCertificate;
    const credentials: CallCredentials = {
      ...(certificate === undefined ? {} : { certificate: { subject: distinguishedName(certificate), fingerprint256: certificate.fingerprint256 } }),
      authorization: call.metadata.get(AUTHORIZATION_METADATA_KEY).map(String),
    };
    const admitted = admit(admission ?? { requireClientCertificate: false }, credentials);
    if (!admitted.admitted) return admitted;
    // Limits count only connections that proved their credential, so strangers cannot use them up.
    if (connectionRate !== undefined && !connectionRate.take()) {
      return { admitted: false, reason: RefusedReason.rateLimited, message: 'too many new fleet streams per second (--fleet.max-connection-rate); retrying with backoff' };
    }
    const maxStreams = this.#maxStreams();
    if (this.#calls.size >= maxStreams) {
      return { admitted: false, reason: RefusedReason.maxStreams, message: `the master has ${this.#calls.size} open fleet streams, the most it takes (--fleet.max-streams=${maxStreams})` };
    }
    return admitted;
  }

  #connect(call: ServerDuplexStream<WorkerMessage, MasterMessage>): void {
    const { fleet } = this.options;
    const admission = this.#admit(call);
    if (!admission.admitted) {
      this.options.observer?.refused?.({ reason: admission.reason, peer: call.getPeer(), workerId: '', message: admission.message });
      // Nothing of the call is read: it ends with a status, and the peer has seen no fleet message.
      const limited = admission.reason === RefusedReason.rateLimited || admission.reason === RefusedReason.maxStreams;
      call.emit('error', Object.assign(new Error(admission.message), { code: limited ? status.RESOURCE_EXHAUSTED : status.UNAUTHENTICATED, details: admission.message }));
      // A peer without valid credentials keeps nothing: its connection closes once the status is out.
      if (!limited) this.#front?.closeRefused(call.getPeer());
      return;
    }
    this.#calls.add(call);
    const intervalMs = fleet.heartbeatIntervalMs;
    let lastReceived = performance.now();
    let sequence = 0;
    let accepted = false;
    let ended = false;
    let heartbeat: NodeJS.Timeout | undefined;
    const session: WorkerSession = {
      peer: call.getPeer(),
      identity: admission.identity,
      ...(admission.certificateFingerprint === undefined ? {} : { certificateFingerprint: admission.certificateFingerprint }),
      send: (message) => !ended && call.write(message),
      close: () => finish(),
    };
    const finish = () => {
      if (ended) return;
      ended = true;
      clearTimeout(helloTimer);
      clearInterval(heartbeat);
      this.#calls.delete(call);
      if (accepted) fleet.closed(session);
      call.end();
    };
    // A Hello whose held targets continue in HeldTargets parts, while they arrive: the fleet gets it whole.
    let pending: Hello | undefined;
    let parts = 0;
    const refuse = (reason: RefusedReason, message: string) => {
      this.options.observer?.refused?.({ reason, peer: session.peer, workerId: pending?.workerId ?? '', message });
      session.send(refusal(message));
      finish();
    };
    const helloTimer = setTimeout(
      () =>
        refuse(
          RefusedReason.helloTimeout,
          pending === undefined
            ? 'the stream sent no Hello in time'
            : `the stream sent its Hello but not all its HeldTargets parts in time (${pending.heldTargets.length} held targets in ${parts} parts so far)`,
        ),
      this.options.helloTimeoutMs ?? 10_000,
    );
    const maxHeldTargets = this.options.maxHeldTargets ?? DEFAULT_MAX_HELD_TARGETS;
    const maxParts = this.options.maxHelloParts ?? DEFAULT_MAX_HELLO_PARTS;
    const tooManyHeldTargets = (count: number) => `the Hello lists more than ${maxHeldTargets} held targets, the most this master takes (${count} so far)`;
    const accept = (hello: Hello) => {
      clearTimeout(helloTimer);
      if (!fleet.accept(session, hello)) {
        finish();
        return;
      }
      accepted = true;
      heartbeat = setInterval(() => {
        if (performance.now() - lastReceived > intervalMs * HEARTBEAT_DEAD_AFTER_INTERVALS) {
          finish();
          return;
        }
        sequence++;
        session.send(MasterMessage.fromPartial({ kind: { $case: 'heartbeat', heartbeat: { sequence, sentUnixMs: Date.now() } } }));
      }, intervalMs);
    };
    call.on('data', (message: WorkerMessage) => {
      // Parts may still be in flight after a refusal: the stream is refused, and counted, once.
      if (ended) return;
      lastReceived = performance.now();
      if (accepted) {
        fleet.receive(session, message);
        return;
      }
      const kind = message.kind;
      if (pending === undefined) {
        if (kind?.$case !== 'hello') {
          refuse(RefusedReason.invalidHello, 'the first message of a stream must be a Hello');
          return;
        }
        if (kind.hello.heldTargets.length > maxHeldTargets) {
          refuse(RefusedReason.invalidHello, tooManyHeldTargets(kind.hello.heldTargets.length));
          return;
        }
        if (!kind.hello.heldTargetsContinued) {
          accept(kind.hello);
          return;
        }
        // The held targets continue: collect the parts (under the Hello deadline) before the fleet sees the Hello.
        pending = { ...kind.hello, heldTargets: [...kind.hello.heldTargets] };
        return;
      }
      if (kind?.$case !== 'heldTargets') {
        refuse(
          RefusedReason.invalidHello,
          `a Hello with held_targets_continued must be followed by HeldTargets parts up to the last one; got ${kind === undefined ? 'a message of no known kind' : kind.$case} after ${parts} parts`,
        );
        return;
      }
      parts++;
      const { targets, continued } = kind.heldTargets;
      if (parts > maxParts) {
        refuse(RefusedReason.invalidHello, `more than ${maxParts} HeldTargets parts follow the Hello, the most this master takes`);
        return;
      }
      const held = pending.heldTargets;
      if (held.length + targets.length > maxHeldTargets) {
        refuse(RefusedReason.invalidHello, tooManyHeldTargets(held.length + targets.length));
        return;
      }
      // One at a time: spreading hundreds of thousands of arguments into push() overflows the stack.
      for (const target of targets) held.push(target);
      if (!continued) accept({ ...pending, heldTargetsContinued: false });
    });
    call.on('drain', () => {
      if (accepted && !ended) fleet.writable(session);
    });
    call.on('end', finish);
    call.on('error', finish);
    call.on('close', finish);
  }
}

/**
 * A certificate subject as `CN=…,O=…`, in the order the certificate lists it, values escaped as RFC 4514 escapes
 * them: a CN of `worker-1,O=promfleet` cannot pass for the subject `CN=worker-1,O=promfleet`.
 */
export function distinguishedName(certificate: Pick<PeerCertificate, 'subject'>): string {
  return Object.entries(certificate.subject)
    .flatMap(([key, value]: [string, string | string[] | undefined]) =>
      value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((v) => `${key}=${escapeAttributeValue(v)}`).join('+'),
    )
    .join(',');
}

function escapeAttributeValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

function refusal(message: string): MasterMessage {
  return MasterMessage.fromPartial({ kind: { $case: 'refusal', refusal: { reason: RefusalReason.INVALID_HELLO, message } } });
}
