/**
 * Who may open a fleet stream, decided before the stream's first message is read: the connection's verified client
 * certificate (when the master requires one), its bearer token (when the master has one), and the master's limits
 * on connection rate and concurrent streams. Pure decisions over what the transport saw, so every rule is tested
 * with plain values; server.ts applies them to real calls.
 *
 * A refused connection never sees a Welcome, an assignment or any setting: it ends with a gRPC status before its
 * Hello is processed. Refusals after the Hello (a worker id bound to another credential, the member limit, a bad
 * Hello) are the fleet's (fleet.ts); both kinds are counted under one metric with the reasons listed here. With TLS,
 * connections that never get as far as a call (no TLS, a failed or stalled handshake, too many connections) are
 * refused by tls-front.ts, under the same metric too.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BEARER_PREFIX } from '@promfleet/protocol';

/**
 * Why the master refused a connection or its Hello: the `reason` label of
 * `promfleet_fleet_connections_refused_total`. One source of truth for the label values (docs/protocol.md,
 * "Authentication and limits").
 */
export const RefusedReason = {
  /** The master serves TLS and the connection's first bytes are not a TLS handshake (a gRPC client without TLS
   * sends the HTTP/2 preface in clear). Refused before any TLS work. */
  noTls: 'no_tls',
  /** The TLS handshake failed (no protocol version or cipher in common, a malformed handshake, an alert from the
   * peer) or did not choose HTTP/2. A peer that hangs up in its handshake is not counted. */
  tlsHandshakeFailed: 'tls_handshake_failed',
  /** The master serves TLS and the connection had no TLS session in time: it sent nothing, or stalled in its handshake. */
  handshakeTimeout: 'handshake_timeout',
  /** `--fleet.max-connections` connections are open already (TLS only): closed at once, before any byte is read. */
  maxConnections: 'max_connections',
  /** The master requires a client certificate (`--fleet.tls.client-ca-file`) and the connection presented none
   * that the client CA verifies: none at all, one from another CA, or an expired one. */
  noClientCertificate: 'no_client_certificate',
  /** The master requires a bearer token (`--fleet.token-file`) and the call carried none. */
  noToken: 'no_token',
  /** The call carried a bearer token that is not the master's. */
  badToken: 'bad_token',
  /** More new streams per second than `--fleet.max-connection-rate` allows (with its burst). */
  rateLimited: 'rate_limited',
  /** `--fleet.max-streams` streams are open already, those still waiting for their Hello included. */
  maxStreams: 'max_streams',
  /** `--fleet.max-workers` members exist already and the Hello names a new worker. */
  maxWorkers: 'max_workers',
  /** The worker id belongs to a member (live or within its grace period) that joined with another credential. */
  workerIdBound: 'worker_id_bound',
  /** The worker id belongs to a member whose stream is live, and the credential is the same. */
  duplicateWorkerId: 'duplicate_worker_id',
  /** The Hello's protocol version is not the master's. */
  protocolVersionMismatch: 'protocol_version_mismatch',
  /**
   * The first message was not a Hello, or the Hello was malformed (bad worker id, bad held targets), listed more held
   * targets or was followed by more HeldTargets parts than the master takes, or another message came before its last
   * HeldTargets part.
   */
  invalidHello: 'invalid_hello',
  /** No Hello, or not all the HeldTargets parts that follow it, arrived in time. */
  helloTimeout: 'hello_timeout',
  /** The master is shutting down. */
  unavailable: 'unavailable',
  /**
   * Another master leads: this one stands by (leader election), or a Hello named a leader term above its own (another
   * master was elected after it, so it no longer leads and refuses every worker from then on: fencing).
   */
  notLeader: 'not_leader',
} as const;

/** The union of the refusal reasons. */
export type RefusedReason = (typeof RefusedReason)[keyof typeof RefusedReason];

/** Every refusal reason, for metrics that start every label at 0. */
export const refusedReasons: readonly RefusedReason[] = Object.values(RefusedReason);

/** One refusal, as the transport or the fleet reports it for metrics and logs. Never holds a credential. */
export interface RefusalEvent {
  readonly reason: RefusedReason;
  /** The peer address (host:port). */
  readonly peer: string;
  /** The worker id the Hello named; empty when refused before the Hello. */
  readonly workerId: string;
  /** What the peer was told; safe to log. */
  readonly message: string;
}

/** The current value of a secret that may change at run time (a token file that is rotated). */
export interface TokenSource {
  /** The token now in effect. */
  current(): string;
}

/** What the master demands of every connection. */
export interface AdmissionPolicy {
  /** Refuse connections without a client certificate verified by the client CA. */
  readonly requireClientCertificate: boolean;
  /** When set, every call must carry `authorization: Bearer <token>` with this token. */
  readonly token?: TokenSource;
}

/** What the transport knows about a new call before reading it. */
export interface CallCredentials {
  /**
   * The client certificate, present only when the TLS handshake verified it against the client CA. `subject` is
   * the distinguished name as `CN=…,O=…`; `fingerprint256` the SHA-256 of its DER form.
   */
  readonly certificate?: { readonly subject: string; readonly fingerprint256: string };
  /** The call's `authorization` metadata values. */
  readonly authorization: readonly string[];
}

/**
 * The outcome of {@link admit}. `identity` names the credential the connection proved (`x509:<subject>`, `token`,
 * or `anonymous` when the master asks for none); a worker id stays bound to the identity that first claimed it.
 * A refusal carries the reason and a message for the peer that names no secret.
 */
export type Admission =
  | { readonly admitted: true; readonly identity: string; readonly certificateFingerprint?: string }
  | { readonly admitted: false; readonly reason: RefusedReason; readonly message: string };

/**
 * Decides whether a call may go on to its Hello. The client certificate is checked first, then the token; the
 * token is compared in constant time (over SHA-256 digests, so its length does not leak either).
 */
export function admit(policy: AdmissionPolicy, call: CallCredentials): Admission {
  const certificate = call.certificate;
  if (policy.requireClientCertificate && certificate === undefined) {
    return {
      admitted: false,
      reason: RefusedReason.noClientCertificate,
      message: 'the master requires a client certificate signed by its client CA (worker: --master.tls.cert-file and --master.tls.key-file)',
    };
  }
  const token = policy.token?.current();
  if (token !== undefined) {
    const presented = bearerToken(call.authorization);
    if (presented === undefined) {
      return { admitted: false, reason: RefusedReason.noToken, message: 'the master requires a bearer token (worker: --master.token-file)' };
    }
    if (!sameSecret(presented, token)) {
      return { admitted: false, reason: RefusedReason.badToken, message: 'the bearer token is not the one the master accepts' };
    }
  }
  if (certificate !== undefined) {
    return { admitted: true, identity: `x509:${certificate.subject}`, certificateFingerprint: certificate.fingerprint256 };
  }
  return { admitted: true, identity: token === undefined ? 'anonymous' : 'token' };
}

/** The token of the first `Bearer` authorization value (the scheme is case-insensitive, RFC 6750). */
function bearerToken(values: readonly string[]): string | undefined {
  for (const value of values) {
    if (value.length > BEARER_PREFIX.length && value.slice(0, BEARER_PREFIX.length).toLowerCase() === BEARER_PREFIX.toLowerCase()) {
      const token = value.slice(BEARER_PREFIX.length).trim();
      if (token !== '') return token;
    }
  }
  return undefined;
}

/** Constant-time equality of two secrets of any lengths. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
