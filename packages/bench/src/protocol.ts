/**
 * What the benchmark's processes say to each other: the commands of the fake API server's process and of the
 * measured master's process, and the events they send when ready.
 */
import type { ChurnStats, RequestCount, TrafficRow } from '@promfleet/testkit';

/** One pod write in the fake API server: `namespace/name` and when it happened ({@link wallClockMs}). */
export interface PodWrite {
  readonly key: string;
  readonly atMs: number;
}

/** The fake API server's `ready` event. */
export interface FakeReady {
  readonly url: string;
  readonly objects: { readonly nodes: number; readonly pods: number; readonly services: number; readonly endpointSlices: number };
  readonly generateMs: number;
  readonly loadMs: number;
}

/** The fake API server process's commands. */
export type FakeCommands = {
  /** Churns the cluster at `eventsPerSecond` store writes for `durationMs`; returns what it did and every pod write. */
  churn: { request: { readonly eventsPerSecond: number; readonly durationMs: number }; reply: { readonly stats: ChurnStats; readonly podWrites: PodWrite[] } };
  /** Request counts by user agent, verb and resource since the start or the last reset. */
  requests: { request: null; reply: RequestCount[] };
  resetRequests: { request: null; reply: null };
  /**
   * Puts the cluster back as it was generated (the same objects from the same seed, with new resourceVersions), so
   * that every measured run starts from the same state whatever earlier runs' churn changed.
   */
  resetCluster: { request: null; reply: null };
  /** Requests, response bytes and watch events by user agent, verb and resource since the start or the last reset. */
  traffic: { request: null; reply: TrafficRow[] };
};

/** One job's outcome once the master holds the full target set. */
export interface JobTargets {
  readonly job: string;
  readonly role: string;
  /** Discovered label sets before relabeling. */
  readonly discovered: number;
  /** Distinct targets kept by relabeling (by target id). */
  readonly targets: number;
  readonly dropped: number;
  readonly invalid: number;
  /** SHA-256 of the job's targets (their label sets in canonical text, sorted): equal digests, equal target sets. */
  readonly digest: string;
}

/** The measured master's `synced` event: it holds every job's full target set. */
export interface MasterSynced {
  /** From the start of discovery to the last job's targets built, in the master's process. */
  readonly fullSetMs: number;
  readonly jobs: readonly JobTargets[];
  /** Heap in use after GC before discovery started (module code, config). */
  readonly baselineHeapBytes: number;
  /** Heap in use after GC while holding the full set. */
  readonly heldHeapBytes: number;
  readonly rssBytes: number;
}

/** What the master did during a measurement window. */
export interface MasterWindow {
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  /** Watch events received (ADDED, MODIFIED, DELETED), bookmarks not counted. */
  readonly watchEvents: number;
  readonly bookmarks: number;
  /** Every pod-role group whose targets were rebuilt: the pod's `namespace/name` and when the targets were ready. */
  readonly podGroupUpdates: PodWrite[];
  /** When the discovery manager told its consumer (the allocator) which jobs changed ({@link wallClockMs}). */
  readonly consumerNotifiedAtMs: number[];
  /** What the discovery observer reported: seconds from a batch's first event to its groups being handed on. */
  readonly batchSeconds: number[];
}

/** What one config reload did in the master: `applyConfig` with the config file read again. */
export interface MasterReload {
  /** Reading and parsing the file, then `applyConfig` until it returned (the consumer is told before it returns). */
  readonly applyMs: number;
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
  /** Targets of the changed jobs, and how many of them carry the label `label` after the reload. */
  readonly changedJobTargets: number;
  readonly changedJobTargetsLabelled: number;
  /** Targets of unchanged jobs, and how many of them are not the same object as before the reload (re-created). */
  readonly unchangedJobTargets: number;
  readonly unchangedJobTargetsRecreated: number;
}

/** The measured master process's commands. */
export type MasterCommands = {
  windowStart: { request: null; reply: null };
  windowEnd: { request: null; reply: MasterWindow };
  /** Reads `configFile` and applies it; `label` is the label the changed job's relabeling now adds. */
  reload: { request: { readonly configFile: string; readonly label: string }; reply: MasterReload };
};
