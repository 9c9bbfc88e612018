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
}
