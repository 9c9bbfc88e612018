/**
 * The contract between service discovery and the rest of the master, as Prometheus' `discovery.Discoverer`.
 */
import type { TargetGroup } from '@promfleet/model';

/**
 * A source of target groups for one job's SD config.
 *
 * `run` sends the full set of groups first (possibly empty), then only the groups that changed; a group sent
 * again with the same `source` replaces the previous one, and a group with no targets deletes it. It does not
 * need to know whether anything actually changed (updates are level-triggered). `run` returns when `signal`
 * aborts and never rejects for trouble outside the process (unreachable API server, unreadable file): it reports
 * that through its metrics and keeps the last good groups.
 */
export interface Discoverer {
  run(signal: AbortSignal, update: (groups: readonly TargetGroup[]) => void): Promise<void>;
  /**
   * The non-empty groups the discoverer holds now (what its updates so far add up to, or newer), built on demand
   * from what it keeps anyway, for the status API's discovered labels. Lazy: a caller that stops iterating early
   * builds no more groups, and no group is kept after it was handed out. Empty before the first update is sent.
   * Optional: a discoverer without it contributes no discovered labels.
   */
  groups?(): Iterable<TargetGroup>;
}
