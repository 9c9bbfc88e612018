/**
 * Test helpers for the fleet: a job's successive target sets as the discovery manager reports them, each update
 * carrying what was added and removed since the one before.
 */
import type { ScrapeConfig, Target, TargetId } from '@promfleet/model';
import type { JobTargets } from '../discovery/manager.js';

/** One job's discovery updates, built from whole target sets. */
export class JobFeed {
  #previous = new Map<TargetId, Target>();

  constructor(
    readonly job: ScrapeConfig,
    private readonly synced = true,
  ) {}

  /** The update that turns the previous set into `targets`. */
  update(targets: Iterable<Target>, options: { synced?: boolean } = {}): JobTargets {
    const current = new Map<TargetId, Target>();
    for (const t of targets) current.set(t.id, t);
    const added = new Set([...current.keys()].filter((id) => !this.#previous.has(id)));
    const removed = new Set([...this.#previous.keys()].filter((id) => !current.has(id)));
    this.#previous = current;
    return { job: this.job, targets: current, discovered: current.size, dropped: 0, invalid: 0, synced: options.synced ?? this.synced, added, removed };
  }
}
