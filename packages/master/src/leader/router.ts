/**
 * Routes the fleet protocol's streams to the fleet of the current term, or refuses them while the master stands
 * by. The gRPC server hands every stream to it as it would to a Fleet; a stream stays with the fleet that accepted
 * it, and when leadership ends every such stream is closed, so its worker reconnects (through the Service, to the
 * new leader) and keeps scraping meanwhile.
 */
import { truncateError, type Hello, type WorkerMessage } from '@promfleet/protocol';
import { RefusedReason } from '../fleet/admission.js';
import type { Fleet, FleetObserver, WorkerSession } from '../fleet/fleet.js';
import { refusalMessage } from '../fleet/messages.js';
import type { FleetEndpoint } from '../fleet/server.js';
import type { LeaderView } from './elector.js';

/** Options of {@link FleetRouter}. */
export interface FleetRouterOptions {
  /** This master's identity, named in refusals. */
  readonly masterId: string;
  readonly heartbeatIntervalMs: number;
  readonly maxWorkers: number;
  /** What a refused worker is told to wait before it tries again: about the election's retry period. */
  readonly retryAfterMs: number;
  readonly observer?: Pick<FleetObserver, 'refused'>;
}

/** The gRPC server's {@link FleetEndpoint} under leader election. */
export class FleetRouter implements FleetEndpoint {
  readonly #sessions = new Map<WorkerSession, Fleet>();
  #fleet: Fleet | undefined;
  #leader: LeaderView = {};

  constructor(private readonly options: FleetRouterOptions) {}

  get heartbeatIntervalMs(): number {
    return this.options.heartbeatIntervalMs;
  }

  get maxWorkers(): number {
    return this.options.maxWorkers;
  }

  /** The fleet streams go to now; undefined while standing by. */
  get fleet(): Fleet | undefined {
    return this.#fleet;
  }

  /** From now on new streams go to `fleet`. */
  lead(fleet: Fleet): void {
    this.#fleet = fleet;
  }

  /**
   * Stops routing to the current fleet and closes every stream it accepted (their workers keep scraping and
   * reconnect); new streams are refused as NOT_LEADER, naming `leader` when known.
   */
  standBy(leader: LeaderView): void {
    this.#fleet = undefined;
    this.#leader = leader;
    const sessions = [...this.#sessions.keys()];
    for (const session of sessions) session.close('this master stopped leading');
  }

  /** Who leads, for refusals while standing by. */
  leaderChanged(leader: LeaderView): void {
    this.#leader = leader;
  }

  accept(session: WorkerSession, hello: Hello): boolean {
    const fleet = this.#fleet;
    if (fleet === undefined) return this.#refuse(session, hello);
    if (!fleet.accept(session, hello)) return false;
    this.#sessions.set(session, fleet);
    return true;
  }

  receive(session: WorkerSession, message: WorkerMessage): void {
    this.#sessions.get(session)?.receive(session, message);
  }

  writable(session: WorkerSession): void {
    this.#sessions.get(session)?.writable(session);
  }

  closed(session: WorkerSession): void {
    const fleet = this.#sessions.get(session);
    this.#sessions.delete(session);
    fleet?.closed(session);
  }

  #refuse(session: WorkerSession, hello: Hello): false {
    const { holder, term } = this.#leader;
    const message =
      holder === undefined || holder === this.options.masterId
        ? `master ${this.options.masterId} stands by and no other master leads yet; retry (through the Service) shortly`
        : `master ${this.options.masterId} stands by: ${holder} leads in term ${String(term)}; retry through the Service`;
    this.options.observer?.refused?.({ reason: RefusedReason.notLeader, peer: session.peer, workerId: truncateError(hello.workerId), message });
    session.send(refusalMessage({ reason: 'NOT_LEADER', message, retryAfterMs: this.options.retryAfterMs }));
    return false;
  }
}
