/**
 * What workers said they hold (Hello.held_targets) that the fleet has not settled yet, by target and by worker.
 *
 * A starting master settles every report at once: each target goes to its holder or is handed over from it. After
 * that, what remains are the targets of jobs whose discovery has not synced that the master does not know yet: their
 * holders keep them (AssignmentSnapshot.unsynced_jobs) until discovery reports them or syncs without them.
 */
import type { TargetId } from '@promfleet/model';
import type { WorkerId } from '../allocation/index.js';

/** One target a worker reported holding. */
export interface Holding {
  readonly id: TargetId;
  readonly job: string;
}

export class Holdings {
  readonly #byTarget = new Map<TargetId, Set<WorkerId>>();
  readonly #byWorker = new Map<WorkerId, Map<TargetId, string>>();

  /** Replaces what `worker` reported holding. */
  report(worker: WorkerId, held: Iterable<Holding>): void {
    this.forget(worker);
    const mine = new Map<TargetId, string>();
    for (const { id, job } of held) {
      mine.set(id, job);
      let holders = this.#byTarget.get(id);
      if (holders === undefined) {
        holders = new Set();
        this.#byTarget.set(id, holders);
      }
      holders.add(worker);
    }
    if (mine.size > 0) this.#byWorker.set(worker, mine);
  }

  /** Drops everything `worker` reported. */
  forget(worker: WorkerId): void {
    const mine = this.#byWorker.get(worker);
    if (mine === undefined) return;
    this.#byWorker.delete(worker);
    for (const id of mine.keys()) this.#drop(id, worker);
  }

  /** The workers that reported holding `id`, not settled yet. */
  holders(id: TargetId): ReadonlySet<WorkerId> | undefined {
    return this.#byTarget.get(id);
  }

  /** What `worker` reported and is not settled yet: target id → job. */
  of(worker: WorkerId): ReadonlyMap<TargetId, string> {
    return this.#byWorker.get(worker) ?? new Map<TargetId, string>();
  }

  /** Every worker with something not settled. */
  workers(): IterableIterator<WorkerId> {
    return this.#byWorker.keys();
  }

  /** The target is settled: no report of it counts any longer. */
  settle(id: TargetId): void {
    for (const worker of this.#byTarget.get(id) ?? []) {
      const mine = this.#byWorker.get(worker);
      mine?.delete(id);
      if (mine?.size === 0) this.#byWorker.delete(worker);
    }
    this.#byTarget.delete(id);
  }

  /** Settles `worker`'s reports except those `keep` accepts (of every worker without one). */
  retain(keep: (id: TargetId, job: string) => boolean, worker?: WorkerId): void {
    const workers = worker === undefined ? [...this.#byWorker.keys()] : [worker];
    for (const w of workers) {
      const mine = this.#byWorker.get(w);
      if (mine === undefined) continue;
      for (const [id, job] of mine) {
        if (keep(id, job)) continue;
        mine.delete(id);
        this.#drop(id, w);
      }
      if (mine.size === 0) this.#byWorker.delete(w);
    }
  }

  #drop(id: TargetId, worker: WorkerId): void {
    const holders = this.#byTarget.get(id);
    holders?.delete(worker);
    if (holders?.size === 0) this.#byTarget.delete(id);
  }
}
