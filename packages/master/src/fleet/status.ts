/**
 * What the master shows about its fleet: the read-only view the status API and page render. The fleet
 * coordinator implements {@link FleetStatusSource}; the HTTP layer only reads it.
 */
import type { Labels, TargetId } from '@promfleet/model';
import type { MoveReason, WorkerId } from '../allocation/index.js';

/** A worker's membership state. `disconnected`: its stream broke and it is within its grace period to return. */
export type WorkerState = 'connected' | 'draining' | 'disconnected';

/** One worker as the master knows it. Times are Unix milliseconds. */
export interface WorkerStatus {
  readonly id: WorkerId;
  readonly state: WorkerState;
  /** The peer address of its stream (host:port), empty when disconnected. */
  readonly address: string;
  /** The credential its id is bound to: `x509:<subject>`, `token` or `anonymous` (docs/protocol.md, "Identity"). */
  readonly identity: string;
  readonly softwareVersion: string;
  /** The port of its status page (its Hello's `web_port`), on the host of `address`; absent when unknown. */
  readonly webPort?: number;
  /** When the current stream was accepted (or the last one, while disconnected). */
  readonly connectedSinceUnixMs: number;
  /** When the master last received anything on its stream. */
  readonly lastSeenUnixMs: number;
  /** The newest assignment generation sent, and the newest the worker acknowledged. */
  readonly generation: number;
  readonly ackedGeneration: number;
  readonly targets: number;
  /** Sum of its targets' costs, in samples per scrape. */
  readonly cost: number;
  readonly maxTargets?: number;
  readonly maxSamples?: number;
}

/** A target's last scrape as its worker reported it; absent until the first report that includes it. */
export interface TargetHealthStatus {
  readonly health: 'up' | 'down' | 'unknown';
  readonly lastScrapeUnixMs: number;
  readonly lastScrapeDurationSeconds: number;
  readonly samplesScraped: number;
  readonly samplesPostMetricRelabeling: number;
  /** Never contains secrets: workers redact URLs and send no headers. */
  readonly lastError: string;
}

/** One change of a target's owner, kept in its bounded history. */
export interface TargetMove {
  readonly atUnixMs: number;
  readonly from?: WorkerId;
  readonly to?: WorkerId;
  readonly reason: MoveReason | 'drained';
}

/** One active target. */
export interface TargetStatus {
  readonly id: TargetId;
  readonly job: string;
  /** The final labels, reserved (`__`) labels included, as built by relabeling. */
  readonly labels: Labels;
  readonly owner?: WorkerId;
  /** Since when the current owner (or, unassigned, nobody) holds it. */
  readonly sinceUnixMs: number;
  readonly health?: TargetHealthStatus;
  /** The most recent owner changes, oldest first; at most a few per target. */
  readonly history: readonly TargetMove[];
}

/** The read-only fleet view the HTTP layer renders. */
export interface FleetStatusSource {
  /** Every known worker (connected, draining, or in its grace period), ordered by id. */
  workers(): readonly WorkerStatus[];
  /** Every active target of `job` (all jobs when undefined), in no particular order. */
  targets(job?: string): Iterable<TargetStatus>;
  /** One target by id, or undefined. */
  target(id: TargetId): TargetStatus | undefined;
  /**
   * Ready when the master has settled its assignment (the startup grace period has passed and discovery has
   * synced, or the startup wait expired) and serves the fleet protocol.
   */
  ready(): boolean;
}
