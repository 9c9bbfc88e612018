/**
 * Leader election's self-metrics: whether this master leads, its term, Lease requests by verb and status, attempts
 * by outcome, and stints of leadership begun and ended (by reason).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { LeaderElectorEvents, LeadershipLoss, LeaseAttempt } from './elector.js';
import type { LeaseRequestRecord } from './lease.js';

const attempts: readonly LeaseAttempt[] = ['acquired', 'fenced-jump', 'renewed', 'released', 'held-by-other', 'fenced', 'conflict', 'error'];
const losses: readonly LeadershipLoss[] = ['renew-deadline', 'lease-taken', 'deposed', 'stopping'];

/** Metrics of one master's leader election; `observe` wraps the elector's events, `onRequest` goes to the Lease client. */
export class LeaderMetrics {
  readonly #leader: Gauge;
  readonly #term: Gauge;
  readonly #requests: Counter<'verb' | 'code'>;
  readonly #attempts: Counter<'outcome'>;
  readonly #acquired: Counter;
  readonly #lost: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#leader = new Gauge({ name: 'promfleet_master_leader', help: '1 when this master leads (holds the Lease and runs discovery and the fleet), 0 when it stands by.', registers });
    this.#term = new Gauge({ name: 'promfleet_master_leader_term', help: 'The leader term this master leads in (leaseTransitions + 1); 0 while it stands by.', registers });
    this.#requests = new Counter({
      name: 'promfleet_master_lease_requests_total',
      help: 'Requests the master made for its leader-election Lease, by verb (get, create, update) and HTTP status code (0: no response).',
      labelNames: ['verb', 'code'],
      registers,
    });
    this.#attempts = new Counter({
      name: 'promfleet_master_lease_attempts_total',
      help: `Tries to acquire, renew or release the Lease, by outcome (${attempts.join(', ')}).`,
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of attempts) this.#attempts.inc({ outcome }, 0);
    this.#acquired = new Counter({ name: 'promfleet_master_leadership_acquired_total', help: 'Times this master began leading.', registers });
    this.#lost = new Counter({
      name: 'promfleet_master_leadership_lost_total',
      help: `Times this master stopped leading, by reason (${losses.join(', ')}).`,
      labelNames: ['reason'],
      registers,
    });
    for (const reason of losses) this.#lost.inc({ reason }, 0);
  }

  /** Counts one Lease request; pass as the Lease client's `onRequest`. */
  readonly onRequest = (record: LeaseRequestRecord): void => {
    this.#requests.inc({ verb: record.verb, code: String(record.status) });
  };

  /** `events` with the metrics kept up to date before each is called. */
  observe(events: LeaderElectorEvents): LeaderElectorEvents {
    return {
      ...events,
      started: (term) => {
        this.#leader.set(1);
        this.#term.set(term);
        this.#acquired.inc();
        events.started(term);
      },
      stopped: (reason) => {
        this.#leader.set(0);
        this.#term.set(0);
        this.#lost.inc({ reason });
        events.stopped(reason);
      },
      attempted: (outcome, error) => {
        this.#attempts.inc({ outcome });
        events.attempted?.(outcome, error);
      },
    };
  }
}
