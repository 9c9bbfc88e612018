/**
 * Live reload of the master's configuration: what the master runs is the config file's jobs plus the jobs of an
 * optional dynamic job source (the prometheus-operator resources), and both change at run time. This module holds
 * the pieces that need no process: the job source contract, how its jobs join the file's, and the reload metrics.
 */
import { Gauge, type Registry } from 'prom-client';
import type { GlobalConfig, PrometheusConfig, ScrapeConfig } from '@promfleet/model';

/**
 * A source of scrape jobs besides the config file, such as prometheus-operator resources turned into scrape configs.
 *
 * `run` calls `onJobs` with the source's whole job list, first as soon as it knows it, then on every change; each
 * call replaces the previous list. It returns when `signal` aborts and does not reject for trouble outside the
 * process (it keeps its last list and reports through its own logs and metrics). The jobs must be valid, as the
 * config loader makes them. The master runs the source for its whole life (also while it stands by, so a master that
 * takes over knows the source's jobs and drops none of the targets the workers hold), and waits for the first list
 * before it leads or campaigns for the Lease, however long that takes (a master that led without them would drop
 * the targets the workers hold of them).
 */
export interface JobSource {
  run(signal: AbortSignal, onJobs: (jobs: readonly ScrapeConfig[]) => void): Promise<void>;
  /**
   * The config file's `global` section after a reload applied it: a source whose jobs inherit from it generates them
   * again (and calls `onJobs` when they change). Called after every successful reload, changed or not.
   */
  setGlobal?(global: GlobalConfig): void;
}

/** The config the master runs: the file's, with the source's jobs after its own; `clashes` names the jobs left out. */
export function effectiveConfig(file: PrometheusConfig, dynamic: readonly ScrapeConfig[]): { config: PrometheusConfig; clashes: string[] } {
  const names = new Set(file.scrapeConfigs.map((job) => job.jobName));
  const clashes: string[] = [];
  const added: ScrapeConfig[] = [];
  for (const job of dynamic) {
    if (names.has(job.jobName)) {
      clashes.push(job.jobName);
      continue;
    }
    names.add(job.jobName);
    added.push(job);
  }
  if (added.length === 0) return { config: file, clashes };
  return { config: { ...file, scrapeConfigs: [...file.scrapeConfigs, ...added] }, clashes };
}

/** Prometheus' reload gauges, with the project's prefix: whether the last reload worked, and when one last did. */
export class ReloadMetrics {
  readonly #successful: Gauge;
  readonly #lastSuccess: Gauge;

  constructor(registry: Registry) {
    this.#successful = new Gauge({
      name: 'promfleet_config_last_reload_successful',
      help: 'Whether the last configuration reload attempt was successful (1) or not (0).',
      registers: [registry],
    });
    this.#lastSuccess = new Gauge({
      name: 'promfleet_config_last_reload_success_timestamp_seconds',
      help: 'Timestamp of the last successful configuration reload (or of the start), in seconds since the epoch.',
      registers: [registry],
    });
  }

  /** A config was applied (at start too, as Prometheus does). */
  succeeded(nowUnixMs: number): void {
    this.#successful.set(1);
    this.#lastSuccess.set(nowUnixMs / 1000);
  }

  failed(): void {
    this.#successful.set(0);
  }
}
