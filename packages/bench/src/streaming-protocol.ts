/**
 * What the streaming benchmark's processes say to each other: the commands of the master's process
 * (streaming-master.ts) and of a workers' process (streaming-workers.ts), and the events they send when ready. Every
 * time that crosses a process is `Date.now()` (Unix ms): all processes share the machine's clock.
 */
import type { MasterLinkOptions } from '@promfleet/worker';

/** The label every target added during a churn window carries: its creation time, Unix ms, as decimal text. */
export const createdLabel = 'bench_created_unix_ms';

/** The master process's `ready` event. */
export interface MasterReady {
  /** The loopback port of the fleet's gRPC server. */
  readonly port: number;
}

/** Owner changes the fleet made, by reason (FleetObserver.moved). */
export type MovedCounts = Readonly<Record<string, number>>;

/** What the master did between `windowStart` and `windowEnd`. */
export interface MasterWindow {
  /** Process CPU (user + system) in the window, seconds. */
  readonly cpuSeconds: number;
  /** Resident set size at the end of the window. */
  readonly rssBytes: number;
  /** Bytes the process wrote with write(2) in the window (`wchar`, /proc/self/io): the streams, framing included. */
  readonly bytesWritten: number | undefined;
  /** Streams sent a snapshot, and delta messages sent (FleetObserver.sent). */
  readonly snapshots: number;
  readonly deltas: number;
  /** Generations acknowledged, and their send → ack times in ms (FleetObserver.acked). */
  readonly ackMs: readonly number[];
  readonly moved: MovedCounts;
  /** When the first owner change of the window was made (Unix ms), if any was. */
  readonly firstMoveAtMs: number | undefined;
  /** When the allocator settled (leaving recovery), if it did in the window. */
  readonly settledAtMs: number | undefined;
  /** When a member left (its grace period over), if one did. */
  readonly memberLeftAtMs: number | undefined;
  /** Streams refused in the window, before their Hello (credentials, limits) or at it (FleetObserver.refused). */
  readonly refused: number;
}

/** The master's answer to `waitAcked`: every open stream has acknowledged everything sent. */
export interface AckedState {
  /** The last acknowledgement before the fleet was found quiescent (Unix ms); undefined if none came. */
  readonly lastAckAtMs: number | undefined;
  readonly workers: number;
  readonly targets: number;
  readonly unassigned: number;
}

/** What the master did to add targets: how many, and how long each `Fleet.updateJobs` call took. */
export interface AddReport {
  readonly added: number;
  /** The creation time of the last targets added (Unix ms). */
  readonly lastCreatedAtMs: number;
  /** One per call: building the new targets (buildTarget), then `updateJobs` (allocation and outboxes), ms. */
  readonly buildMs: readonly number[];
  readonly updateMs: readonly number[];
}

/** The master process's commands. */
export type MasterCommands = {
  /** Builds the base targets (not measured), to be set with `setTargets`. */
  prepare: { request: { readonly targets: number }; reply: { readonly buildMs: number } };
  /** Open streams now. */
  streams: { request: null; reply: number };
  windowStart: { request: null; reply: null };
  windowEnd: { request: null; reply: MasterWindow };
  /** Hands the fleet the base targets (one `updateJobs`, the job synced); replies with when (Unix ms). */
  setTargets: { request: null; reply: { readonly atMs: number } };
  /**
   * Resolves once the fleet has `workers` members, every one of them connected, settled and with every generation
   * sent acknowledged, and no target unassigned; rejects after `timeoutMs`.
   */
  waitAcked: { request: { readonly workers: number; readonly timeoutMs: number }; reply: AckedState };
  /** Adds `ratePerSecond` new targets a second for `seconds`, in one `updateJobs` every `tickMs`. */
  churn: { request: { readonly ratePerSecond: number; readonly seconds: number; readonly tickMs: number }; reply: AddReport };
  /** Adds `count` new targets in one `updateJobs`. */
  burst: { request: { readonly count: number }; reply: AddReport };
};

/** What one workers' process recorded since the last `take`. */
export interface WorkersTake {
  /** `now − created` for every target added with the {@link createdLabel} label while recording, ms. */
  readonly latenciesMs: readonly number[];
  /** When each client applied a snapshot (Unix ms), one entry per snapshot applied. */
  readonly snapshotsAtMs: readonly number[];
  /** Changes applied (snapshots and deltas). */
  readonly changes: number;
}

/** The targets the clients of a workers' process hold now. */
export interface HeldCounts {
  /** Client id → targets held, MOVED ones pending their last slot not counted. */
  readonly byWorker: Readonly<Record<string, number>>;
  /** Every target id held, once per client holding it: the driver checks across processes that none is held twice. */
  readonly ids: readonly string[];
}

/** A workers' process's commands. */
export type WorkersCommands = {
  /**
   * Starts one assignment client per id, each on a connection of its own; resolves once every one is welcomed. With
   * `link`, the clients connect as a worker started with those `--master.tls.*` / `--master.token-file` flags
   * would (`loadMasterLink`, loaded once per process: every client presents the same certificate and token).
   */
  start: {
    request: { readonly address: string; readonly ids: readonly string[]; readonly timeoutMs: number; readonly link?: MasterLinkOptions };
    reply: { readonly welcomedMs: number };
  };
  /** Turns latency recording on or off. */
  record: { request: { readonly on: boolean }; reply: null };
  /** Returns and clears what was recorded. */
  take: { request: null; reply: WorkersTake };
  /** Stops client `id` (its stream closes); replies with how many targets it held and when it stopped (Unix ms). */
  stop: { request: { readonly id: string }; reply: { readonly held: number; readonly atMs: number } };
  held: { request: null; reply: HeldCounts };
};
