/**
 * The master's fleet self-metrics: membership, streams, assignment and allocation. Gauges are read from the
 * {@link Fleet} at scrape time, so a worker that left has no series left behind. Counters and histograms are fed
 * through {@link FleetMetrics.observer}.
 */
import { BUILD_INFO, NONCONFORMING_DEFAULT_METRICS, buildInfoLabels } from '@promfleet/model';
import { Counter, Gauge, Histogram, type Registry, collectDefaultMetrics } from 'prom-client';
import { refusedReasons } from './admission.js';
import type { Fleet, FleetObserver } from './fleet.js';

/**
 * The master process's metrics beside its own: prom-client's `process_*` and `nodejs_*` (those that pass
 * `promtool check metrics`) and `promfleet_build_info`.
 */
export function registerProcessMetrics(registry: Registry, version: string): void {
  collectDefaultMetrics({ register: registry });
  for (const name of NONCONFORMING_DEFAULT_METRICS) registry.removeSingleMetric(name);
  new Gauge({ ...BUILD_INFO, registers: [registry] }).set(buildInfoLabels(version, process.env), 1);
}

/** Fleet metrics on a prom-client registry; pass `observer` to the Fleet and `track` the fleet once built. */
export class FleetMetrics {
  readonly #refusals: Counter<'reason'>;
  readonly #disconnects: Counter<'reason'>;
  readonly #moves: Counter<'reason'>;
  readonly #allocation: Histogram<'operation'>;
  readonly #ackLatency: Histogram;
  readonly #messages: Counter<'kind'>;
  readonly #left: Counter<'cause'>;
  readonly #settingsRejected: Counter<'kind'>;
  readonly #resourceExhausted: Counter;
  #fleet: Fleet | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    const fleet = () => this.#fleet;
    this.#refusals = new Counter({
      name: 'promfleet_fleet_connections_refused_total',
      help: `Worker connections and streams the master refused (with TLS, connections before any call; streams before or at their Hello), by reason (${refusedReasons.join(', ')}).`,
      labelNames: ['reason'],
      registers,
    });
    for (const reason of refusedReasons) this.#refusals.inc({ reason }, 0);
    this.#disconnects = new Counter({
      name: 'promfleet_fleet_disconnects_total',
      help: 'Worker streams the master closed, by reason (ack timeout, protocol error).',
      labelNames: ['reason'],
      registers,
    });
    this.#moves = new Counter({
      name: 'promfleet_fleet_target_moves_total',
      help: 'Changes of a target owner, by reason (added, removed, worker-joined, worker-left, rebalance, capacity, adopted, drained).',
      labelNames: ['reason'],
      registers,
    });
    this.#allocation = new Histogram({
      name: 'promfleet_fleet_allocation_duration_seconds',
      help: 'Time the allocator took for one operation (targets, workers, costs, rebalance, settle).',
      labelNames: ['operation'],
      buckets: [0.0001, 0.001, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    this.#ackLatency = new Histogram({
      name: 'promfleet_fleet_ack_latency_seconds',
      help: 'Time from sending an assignment generation to a worker to its acknowledgement.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    });
    this.#messages = new Counter({
      name: 'promfleet_fleet_assignment_messages_total',
      help: 'Assignment messages sent to workers, by kind (snapshot, delta).',
      labelNames: ['kind'],
      registers,
    });
    this.#left = new Counter({
      name: 'promfleet_fleet_members_left_total',
      help: 'Workers that left the fleet, by cause (grace-expired: the stream broke and did not come back in time; drained).',
      labelNames: ['cause'],
      registers,
    });
    this.#settingsRejected = new Counter({
      name: 'promfleet_fleet_settings_rejected_total',
      help: 'Jobs and remote-write endpoints left out of every assignment because they encode to more than fits a message, by kind (job, remote-write).',
      labelNames: ['kind'],
      registers,
    });
    this.#resourceExhausted = new Counter({
      name: 'promfleet_fleet_streams_resource_exhausted_total',
      help: 'Worker streams that ended with RESOURCE_EXHAUSTED (a message above the gRPC size limit), as the workers report on their next stream.',
      registers,
    });
    new Gauge({
      name: 'promfleet_fleet_workers',
      help: 'Workers known to the master, by state (connected, draining, disconnected within the grace period).',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const state of ['connected', 'draining', 'disconnected']) this.set({ state }, 0);
        for (const w of fleet()?.workers() ?? []) this.inc({ state: w.state });
      },
    });
    new Gauge({
      name: 'promfleet_fleet_streams',
      help: 'Open worker streams.',
      registers,
      collect() {
        this.set(fleet()?.streams() ?? 0);
      },
    });
    const perWorker = (name: string, help: string, value: (w: ReturnType<Fleet['workers']>[number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['worker'],
        registers,
        collect() {
          this.reset();
          for (const w of fleet()?.workers() ?? []) this.set({ worker: w.id }, value(w));
        },
      });
    perWorker('promfleet_fleet_worker_targets', 'Targets assigned to each worker.', (w) => w.targets);
    perWorker('promfleet_fleet_worker_cost_samples', 'Cost assigned to each worker: the sum of its targets\u2019 samples per scrape.', (w) => w.cost);
    perWorker('promfleet_fleet_worker_generation_lag', 'Assignment generations sent to each worker and not yet acknowledged.', (w) => w.generation - w.ackedGeneration);
    new Gauge({
      name: 'promfleet_fleet_job_targets',
      help: 'Targets of each job known to the fleet, by state (assigned to a worker, or unassigned).',
      labelNames: ['scrape_job', 'state'],
      registers,
      collect() {
        this.reset();
        for (const [job, c] of fleet()?.jobCounts() ?? []) {
          this.set({ scrape_job: job, state: 'assigned' }, c.assigned);
          this.set({ scrape_job: job, state: 'unassigned' }, c.targets - c.assigned);
        }
      },
    });
    new Gauge({
      name: 'promfleet_fleet_unassigned_targets',
      help: 'Targets no worker holds: no worker has room under its limits, there are no workers, or the master is still recovering.',
      registers,
      collect() {
        this.set(fleet()?.unassigned() ?? 0);
      },
    });
    new Gauge({
      name: 'promfleet_fleet_recovering',
      help: '1 while a starting master waits for workers to report what they hold and for discovery to sync, else 0.',
      registers,
      collect() {
        this.set(fleet()?.recovering === false ? 0 : 1);
      },
    });
  }

  /** Reads gauges from `fleet` at each scrape. */
  track(fleet: Fleet): void {
    this.#fleet = fleet;
  }

  /** The observer to give the Fleet. */
  readonly observer: FleetObserver = {
    refused: (event) => this.#refusals.inc({ reason: event.reason }),
    disconnected: (reason) => this.#disconnects.inc({ reason }),
    moved: (reason, count) => this.#moves.inc({ reason }, count),
    allocated: (operation, seconds) => this.#allocation.observe({ operation }, seconds),
    acked: (seconds) => this.#ackLatency.observe(seconds),
    sent: (kind, count) => this.#messages.inc({ kind }, count),
    memberLeft: (_worker, cause) => this.#left.inc({ cause }),
    settingRejected: (kind) => this.#settingsRejected.inc({ kind }),
    resourceExhausted: () => this.#resourceExhausted.inc(),
  };
}
