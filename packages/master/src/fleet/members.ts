/**
 * Membership: the fleet's members (one per worker id: connected, draining, or away within its grace period), the
 * open stream of each, and the flow of assignment messages on it — snapshots, deltas held back (coalesced) while a
 * worker has too many generations unacknowledged, acks and the ack timeout. Decisions about targets are the fleet's;
 * this module only carries them to the workers.
 */
import type { AssignmentSnapshot, Hello, MasterMessage } from '@promfleet/protocol';
import type { WorkerId } from '../allocation/index.js';
import { deltaMessage, snapshotMessage } from './messages.js';
import { WorkerOutbox } from './outbox.js';
import type { WorkerState } from './status.js';

/** One worker's open stream, as the transport exposes it to the fleet. */
export interface WorkerSession {
  /** The peer address (host:port). */
  readonly peer: string;
  /**
   * The credential the connection proved (admission.ts: `x509:<subject>`, `token`, or `anonymous` when the master
   * asks for none). A worker id is bound to the identity of the session that first claimed it.
   */
  readonly identity: string;
  /** The SHA-256 fingerprint of the client certificate, when the connection presented one; for logs. */
  readonly certificateFingerprint?: string;
  /** Writes one message. False when the transport's buffer is full: the fleet waits for {@link Fleet.writable}. */
  send(message: MasterMessage): boolean;
  /** Ends the stream; `reason` is for logs and metrics. */
  close(reason: string): void;
}

/** A worker that joined, or came back to, the fleet. */
export interface JoinEvent {
  readonly workerId: string;
  readonly peer: string;
  /** The session's credential identity ({@link WorkerSession.identity}). */
  readonly identity: string;
  /** The client certificate's SHA-256 fingerprint, when there was one. */
  readonly certificateFingerprint?: string;
  /** True when the id was a member already (back within its grace period, or a second stream after a drain). */
  readonly rejoined: boolean;
}

/** One member of the fleet. */
export interface Member {
  readonly id: WorkerId;
  /** The credential identity that claimed the id; kept while the member exists. */
  readonly identity: string;
  readonly outbox: WorkerOutbox;
  session: WorkerSession | undefined;
  state: WorkerState;
  hello: Hello;
  connectedSinceUnixMs: number;
  lastSeenUnixMs: number;
  writable: boolean;
  /** Sent generation → when; for ack latency and the ack timeout. */
  readonly unacked: Map<number, number>;
  grace: NodeJS.Timeout | undefined;
}

/** What membership reports as it happens (a part of FleetObserver). */
export interface StreamObserver {
  disconnected?(reason: 'ack-timeout' | 'protocol-error', workerId: string): void;
  acked?(seconds: number): void;
  sent?(kind: 'snapshot' | 'delta', count: number): void;
}

/** Options of {@link Members}. */
export interface MembersOptions {
  readonly now: () => number;
  /** The term every outbox carries. */
  readonly leaderTerm: number;
  /** Generations a worker may have unacknowledged before changes wait (coalesced) for its acks. */
  readonly maxUnackedGenerations: number;
  /** A worker that leaves a generation unacknowledged this long is disconnected. */
  readonly ackTimeoutMs: number;
  /** Whether assignments may go out now: not while the fleet recovers, nor once it was deposed. */
  readonly mayAssign: () => boolean;
  readonly observer?: StreamObserver;
}

/** The fleet's members and their streams. */
export class Members {
  readonly #byId = new Map<WorkerId, Member>();
  readonly #bySession = new Map<WorkerSession, Member>();
  #flushScheduled = false;

  constructor(private readonly options: MembersOptions) {}

  get size(): number {
    return this.#byId.size;
  }

  /** Number of open streams. */
  get streams(): number {
    return this.#bySession.size;
  }

  get(id: WorkerId): Member | undefined {
    return this.#byId.get(id);
  }

  /** The member whose stream `session` is, while it is open. */
  of(session: WorkerSession): Member | undefined {
    return this.#bySession.get(session);
  }

  values(): IterableIterator<Member> {
    return this.#byId.values();
  }

  /** Makes `session` the stream of worker `id`: a new member, or one back (within its grace period, or after a drain). */
  join(session: WorkerSession, joining: { readonly id: WorkerId; readonly hello: Hello }): { member: Member; rejoined: boolean } {
    const now = this.options.now();
    const { id, hello } = joining;
    let member = this.#byId.get(id);
    const rejoined = member !== undefined;
    if (member === undefined) {
      member = { id, identity: session.identity, outbox: new WorkerOutbox(this.options.leaderTerm), session, state: 'connected', hello, connectedSinceUnixMs: now, lastSeenUnixMs: now, writable: true, unacked: new Map(), grace: undefined };
      this.#byId.set(id, member);
    } else {
      clearTimeout(member.grace);
      member.grace = undefined;
      Object.assign(member, { session, state: 'connected', hello, connectedSinceUnixMs: now, lastSeenUnixMs: now, writable: true });
      member.unacked.clear();
    }
    this.#bySession.set(session, member);
    return { member, rejoined };
  }

  /** The stream `session` ended: its member, when it was that member's current stream, now has none. */
  detach(session: WorkerSession): Member | undefined {
    const member = this.#bySession.get(session);
    this.#bySession.delete(session);
    if (member?.session !== session) return undefined;
    member.session = undefined;
    member.lastSeenUnixMs = this.options.now();
    return member;
  }

  /** The member leaves the fleet. */
  remove(member: Member): void {
    clearTimeout(member.grace);
    if (this.#byId.get(member.id) === member) this.#byId.delete(member.id);
  }

  /** Sends a new stream's snapshot, in its parts, then whatever changed since. */
  sendSnapshot(member: Member, parts: readonly AssignmentSnapshot[]): void {
    for (const part of parts) this.#send(member, snapshotMessage(part));
    member.unacked.set(member.outbox.generation, this.options.now());
    this.options.observer?.sent?.('snapshot', 1);
    this.flush(member);
  }

  /** Sends what changed for `member`, as far as flow control lets it. */
  flush(member: Member): void {
    const { outbox } = member;
    if (member.session === undefined || !member.writable || !outbox.hasChanges || !this.options.mayAssign()) return;
    // A handover's removal goes out at once: its new owner starts at the first slot regardless, so holding the
    // removal back behind flow control would have both scrape. Everything else waits for acks, merged.
    if (outbox.generation - outbox.ackedGeneration >= this.options.maxUnackedGenerations && !outbox.hasRemovals) return;
    const deltas = outbox.deltas();
    const now = this.options.now();
    for (const delta of deltas) {
      this.#send(member, deltaMessage(delta));
      member.unacked.set(delta.generation, now);
    }
    this.options.observer?.sent?.('delta', deltas.length);
  }

  /** Flushes every member once the current event-loop turn is done: the changes of one turn go out together. */
  scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      for (const m of this.#byId.values()) this.flush(m);
    });
  }

  /** The session's transport can take more messages again. */
  writable(member: Member): void {
    member.writable = true;
    this.flush(member);
  }

  /** The worker applied every generation up to `generation`. */
  ack(member: Member, generation: number): void {
    member.outbox.ack(generation);
    const now = this.options.now();
    for (const [g, sentAt] of member.unacked) {
      if (g > generation) continue;
      member.unacked.delete(g);
      this.options.observer?.acked?.((now - sentAt) / 1000);
    }
    this.flush(member);
  }

  /** Closes the streams that left a generation unacknowledged longer than the ack timeout. */
  checkAcks(): void {
    const limit = this.options.ackTimeoutMs;
    const now = this.options.now();
    for (const m of this.#byId.values()) {
      if (m.session === undefined) continue;
      const oldest = Math.min(...m.unacked.values());
      if (now - oldest > limit) {
        this.options.observer?.disconnected?.('ack-timeout', m.id);
        m.session.close(`generation unacknowledged for ${Math.round((now - oldest) / 1000)} s`);
      }
    }
  }

  #send(member: Member, message: MasterMessage): void {
    if (member.session !== undefined && !member.session.send(message)) member.writable = false;
  }
}
