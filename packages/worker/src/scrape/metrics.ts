/**
 * The worker's scrape self-metrics. Names follow Prometheus' conventions (`promtool check metrics` clean).
 */
import { BUILD_INFO, NONCONFORMING_DEFAULT_METRICS, buildInfoLabels } from '@promfleet/model';
import { Counter, Gauge, Histogram, type Registry, collectDefaultMetrics } from 'prom-client';
import type { ScrapeObserver } from './loop.js';

/**
 * The worker process's metrics beside its own: prom-client's `process_*` and `nodejs_*` (those that pass
 * `promtool check metrics`) and `promfleet_build_info`.
 */
export function registerProcessMetrics(registry: Registry, version: string): void {
  collectDefaultMetrics({ register: registry });
  for (const name of NONCONFORMING_DEFAULT_METRICS) registry.removeSingleMetric(name);
  new Gauge({ ...BUILD_INFO, registers: [registry] }).set(buildInfoLabels(version, process.env), 1);
}

/** Scrape metrics on a prom-client registry; pass `observer` to every scrape loop. */
export class ScrapeMetrics {
  readonly #scrapes: Counter<'result'>;
  readonly #duration: Histogram;
  readonly #samples: Counter;
  readonly #stale: Counter;
  readonly #bodySizeLimit: Counter;
  readonly #skipped: Counter<'reason'>;

  constructor(registry: Registry, targets: () => number) {
    const registers = [registry];
    this.#scrapes = new Counter({
      name: 'promfleet_worker_scrapes_total',
      help: 'Scrapes by result: success, failure (up=0).',
      labelNames: ['result'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'promfleet_worker_scrape_duration_seconds',
      help: 'Time from the start of a scrape to its samples being queued for remote write.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#samples = new Counter({
      name: 'promfleet_worker_samples_scraped_total',
      help: 'Samples queued for remote write by scrapes, synthetic series (up, scrape_*) included.',
      registers,
    });
    this.#stale = new Counter({
      name: 'promfleet_worker_staleness_markers_total',
      help: 'Series that got a staleness marker: gone from a scrape, a failed scrape, or a target that left discovery.',
      registers,
    });
    this.#bodySizeLimit = new Counter({
      name: 'promfleet_worker_scrapes_exceeded_body_size_limit_total',
      help: 'Scrapes that failed because the body reached its size limit (body_size_limit, else --scrape.max-body-size).',
      registers,
    });
    this.#skipped = new Counter({
      name: 'promfleet_worker_scrape_slots_skipped_total',
      help: 'Scrape slots the worker owned and did not scrape, by reason: assignment_late (it applied the assignment after its first slot), overrun (the previous scrape or a stalled process ran past the slot).',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of ['assignment_late', 'overrun']) this.#skipped.inc({ reason }, 0);
    new Gauge({
      name: 'promfleet_worker_targets',
      help: 'Targets the worker scrapes, those handed over and scraped until their last slot included.',
      registers,
      collect() {
        this.set(targets());
      },
    });
  }

  /** The observer to give each ScrapeLoop. */
  readonly observer: ScrapeObserver = {
    scraped: (result, seconds) => {
      this.#scrapes.inc({ result });
      this.#duration.observe(seconds);
    },
    appended: (samples, staleMarkers) => {
      this.#samples.inc(samples);
      if (staleMarkers > 0) this.#stale.inc(staleMarkers);
    },
    bodySizeLimitExceeded: () => {
      this.#bodySizeLimit.inc();
    },
    slotsSkipped: (slots, reason) => {
      this.#skipped.inc({ reason }, slots);
    },
  };
}
