/**
 * The targets the master knows: each discovered target, what its workers reported about
 * it (health, cost) and its owner history, by id and by job; and the cost averages that stand in for targets not
 * reported yet. Who owns a target is the allocation strategy's to know, not the catalog's.
 */
import type { Target, TargetId } from '@promfleet/model';
import { truncateError, type TargetHealth } from '@promfleet/protocol';
import type { TargetHealthStatus, TargetMove } from './status.js';

/** One known target. */
export interface TargetEntry {
  readonly target: Target;
  /** The current owner's first slot (Unix ms), 0 when it started at once; a handover in flight has it ahead. */
  firstSlotUnixMs: number;
  sinceUnixMs: number;
  history: TargetMove[];
  health: TargetHealthStatus | undefined;
  /** The cost the allocator counts; `reported` once a worker reported samples for it. */
  cost: number;
  reported: boolean;
}

/** Reported costs of a job's targets, for the cost of its targets not yet reported. */
interface JobCosts {
  sum: number;
  count: number;
}

export class TargetCatalog {
  readonly #entries = new Map<TargetId, TargetEntry>();
  readonly #jobIds = new Map<string, Set<TargetId>>();
  readonly #jobCosts = new Map<string, JobCosts>();

  get size(): number {
    return this.#entries.size;
  }

  get(id: TargetId): TargetEntry | undefined {
    return this.#entries.get(id);
  }

  has(id: TargetId): boolean {
    return this.#entries.has(id);
  }

  entries(): IterableIterator<[TargetId, TargetEntry]> {
    return this.#entries.entries();
  }

  /** The job's targets. */
  *ofJob(job: string): Iterable<TargetEntry> {
    for (const id of this.#jobIds.get(job) ?? []) {
      const entry = this.#entries.get(id);
      if (entry !== undefined) yield entry;
    }
  }

  /** How many targets the job has. */
  count(job: string): number {
    return this.#jobIds.get(job)?.size ?? 0;
  }

  /** Adds a target discovery reported; returns its cost until reported, or undefined when the job has it already. */
  add(target: Target, nowMs: number): number | undefined {
    let ids = this.#jobIds.get(target.job);
    if (ids === undefined) {
      ids = new Set();
      this.#jobIds.set(target.job, ids);
    }
    if (ids.has(target.id)) return undefined;
    ids.add(target.id);
    const cost = this.defaultCost(target.job);
    this.#entries.set(target.id, { target, firstSlotUnixMs: 0, sinceUnixMs: nowMs, history: [], health: undefined, cost, reported: false });
    return cost;
  }

  /** Takes a target out of its job; true when the job had it. The entry stays until {@link TargetCatalog.forget}. */
  drop(job: string, id: TargetId): boolean {
    return this.#jobIds.get(job)?.delete(id) ?? false;
  }

  /** Forgets a target dropped from its job, and its reported cost. */
  forget(id: TargetId): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    if (entry.reported) {
      const costs = this.#jobCosts.get(entry.target.job);
      if (costs !== undefined) {
        costs.sum -= entry.cost;
        costs.count--;
      }
    }
    this.#entries.delete(id);
  }

  /** The cost of a job's target not reported yet: the mean of those reported, or 1. */
  defaultCost(job: string): number {
    const costs = this.#jobCosts.get(job);
    return costs === undefined || costs.count === 0 ? 1 : Math.max(1, Math.round(costs.sum / costs.count));
  }

  /** Records a target's health as its owner reported it; returns its new cost when that changed. */
  recordHealth(entry: TargetEntry, h: TargetHealth): number | undefined {
    entry.health = {
      health: h.lastScrapeUnixMs === 0 ? 'unknown' : h.up ? 'up' : 'down',
      lastScrapeUnixMs: h.lastScrapeUnixMs,
      lastScrapeDurationSeconds: h.lastScrapeDurationSeconds,
      samplesScraped: h.samplesScraped,
      samplesPostMetricRelabeling: h.samplesPostMetricRelabeling,
      // A worker cuts errors already; this bounds what the master keeps whatever a peer sends.
      lastError: truncateError(h.lastError),
    };
    // Only a successful scrape says what a target costs: a failing one reports 0 samples.
    if (!h.up || h.lastScrapeUnixMs === 0) return undefined;
    const cost = Math.max(1, h.samplesScraped);
    const costs = this.#jobCosts.get(entry.target.job) ?? { sum: 0, count: 0 };
    this.#jobCosts.set(entry.target.job, costs);
    if (entry.reported) costs.sum -= entry.cost;
    else costs.count++;
    costs.sum += cost;
    entry.reported = true;
    if (entry.cost === cost) return undefined;
    entry.cost = cost;
    return cost;
  }
}
