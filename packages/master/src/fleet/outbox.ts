/**
 * One worker's outbox: what the master wants the worker to scrape, what the worker holds as far as the master
 * knows, and the generations between them. Pure: no I/O, no timers. The stream code asks it for the next message
 * when the stream can take one.
 *
 * Coalescing is built in rather than queued: the outbox records only which targets changed since the last message
 * (a set of ids), and a delta is the difference between "wanted" and "sent" for those ids at the moment it is
 * built. A target that is added and removed again before a slow worker takes its next delta costs nothing, and the
 * memory an outbox holds is bounded by the worker's targets, however far behind the worker is.
 */
import {
  MAX_MESSAGE_BYTES,
  RemoteWriteEndpoint,
  RemovalReason,
  ScrapeJob,
  targetIdToBytes,
  targetToProto,
  type AssignmentDelta,
  type AssignmentSnapshot,
  type RemovedTarget,
  type Target as ProtoTarget,
} from '@promfleet/protocol';
import type { Target, TargetId } from '@promfleet/model';

/** How a target leaves a worker: `gone` gets staleness markers, `moved` continues on its new owner after `lastSlot`. */
export interface Removal {
  readonly reason: 'gone' | 'moved';
  /** For `moved`: the last slot the worker scrapes (Unix ms, inclusive); 0 is "stop now". */
  readonly lastSlotUnixMs: number;
}

interface Wanted {
  readonly target: Target;
  /** The first slot the worker owns the target from (Unix ms); 0 is "from the next slot". */
  readonly firstSlotUnixMs: number;
}

/**
 * The largest assignment message the master sends (a snapshot part or a delta), in bytes: half the receive limit.
 * Every size below is an upper bound, so no message comes near the limit, and a worker applies a part or delta
 * before the next one has to be buffered whole.
 */
export const ASSIGNMENT_PART_BYTES = MAX_MESSAGE_BYTES / 2;

/**
 * The largest job or remote-write endpoint the master can send, in encoded bytes: one that fills a part on its own.
 * Fleet.configure leaves out (logs and counts) anything larger.
 */
export const MAX_SETTING_BYTES = ASSIGNMENT_PART_BYTES - 64;

/** What an entry of a repeated message field adds around it, at most: its tag (1) and length (5). */
const ENTRY_OVERHEAD_BYTES = 6;

/**
 * What a message adds around its entries, at most: the MasterMessage oneof tag and length (1 + 5) and the leader term
 * (1 + 10), and for a snapshot its generation (1 + 10) and `continued` (2); for a delta its two generations (2 · 11).
 */
const MESSAGE_OVERHEAD_BYTES = 48;

/**
 * An upper bound of a target's encoded size inside a snapshot or delta: the entry's tag and length (1 + 5), the id
 * (1 + 1 + 8), the job and every label name and value (tag 1 + widest length varint 5 + at most 3 bytes of UTF-8
 * per UTF-16 unit) with each label's own tag and length (1 + 5), the first slot (1 + 10), and the interval and
 * timeout (2 · (1 + 10)).
 */
function targetMaxBytes(target: ProtoTarget): number {
  let size = 6 + 10 + 6 + target.job.length * 3 + 11 + 22;
  for (const label of target.labels) size += 6 + 12 + (label.name.length + label.value.length) * 3;
  return size;
}

/** Encoded sizes of settings, by object: a job or endpoint is encoded once however many workers get it. */
const settingSizes = new WeakMap<ScrapeJob | RemoteWriteEndpoint, number>();

/** The exact encoded size of a job, in bytes. */
export function jobBytes(job: ScrapeJob): number {
  return settingBytes(job, () => ScrapeJob.encode(job).finish().length);
}

/** The exact encoded size of a remote-write endpoint, in bytes. */
export function endpointBytes(endpoint: RemoteWriteEndpoint): number {
  return settingBytes(endpoint, () => RemoteWriteEndpoint.encode(endpoint).finish().length);
}

function settingBytes(setting: ScrapeJob | RemoteWriteEndpoint, encodedLength: () => number): number {
  let size = settingSizes.get(setting);
  if (size === undefined) {
    size = encodedLength();
    settingSizes.set(setting, size);
  }
  return size;
}

/** The settings every worker receives with a snapshot: all jobs and all remote-write endpoints. */
export interface FleetSettings {
  readonly jobs: readonly ScrapeJob[];
  readonly remoteWrite: readonly RemoteWriteEndpoint[];
}

/** The outbox of one worker. */
export class WorkerOutbox {
  readonly #wanted = new Map<TargetId, Wanted>();
  /**
   * What the worker holds as of the newest generation sent (targets under a MOVED removal excluded); `undefined` for
   * a target it keeps under the snapshot's unsynced jobs, which the master has not discovered.
   */
  readonly #sent = new Map<TargetId, Target | undefined>();
  readonly #removals = new Map<TargetId, Removal>();
  readonly #dirty = new Set<TargetId>();
  /** Jobs whose settings changed since the last message, by name. */
  readonly #jobs = new Map<string, ScrapeJob>();
  /** Jobs removed since the last message: they go out after the targets, in the last delta. */
  readonly #removedJobs = new Set<string>();
  /** The new remote-write endpoints, when they changed since the last message. */
  #remoteWrite: readonly RemoteWriteEndpoint[] | undefined;
  #generation = 0;
  #acked = 0;
  /** Whether the stream has had its first assignment message; until then, changes only accumulate. */
  #started = false;

  /** `leaderTerm`: the term of the master that owns this outbox, carried by every message it builds. */
  constructor(readonly leaderTerm: number) {}

  /** The newest generation sent to the worker, 0 before the first. */
  get generation(): number {
    return this.#generation;
  }

  /** The newest generation the worker acknowledged. */
  get ackedGeneration(): number {
    return this.#acked;
  }

  /** How many targets the master wants the worker to scrape. */
  get size(): number {
    return this.#wanted.size;
  }

  /** Whether a delta is waiting to be sent. */
  get hasChanges(): boolean {
    return this.#started && (this.#dirty.size > 0 || this.#jobs.size > 0 || this.#removedJobs.size > 0 || this.#remoteWrite !== undefined);
  }

  /** Whether a target is waiting to be taken from the worker: handovers must not wait behind flow control. */
  get hasRemovals(): boolean {
    if (!this.#started) return false;
    for (const id of this.#removals.keys()) if (this.#sent.has(id)) return true;
    return false;
  }

  /** The targets the master wants the worker to scrape. */
  wanted(): IterableIterator<TargetId> {
    return this.#wanted.keys();
  }

  /** The worker is to scrape `target` from `firstSlotUnixMs` (0: its next slot). */
  add(target: Target, firstSlotUnixMs: number): void {
    this.#wanted.set(target.id, { target, firstSlotUnixMs });
    this.#removals.delete(target.id);
    this.#dirty.add(target.id);
  }

  /**
   * The worker is to stop scraping `id`: one it was sent, or one it holds without the master having sent it (what it
   * reported in its Hello, before its snapshot; a target kept under unsynced jobs).
   */
  remove(id: TargetId, removal: Removal): void {
    this.#wanted.delete(id);
    this.#removals.set(id, removal);
    this.#dirty.add(id);
  }

  /** A job's settings changed: the next delta carries them (a later change of the same job replaces this one). */
  upsertJob(job: ScrapeJob): void {
    this.#jobs.set(job.name, job);
    this.#removedJobs.delete(job.name);
  }

  /**
   * The worker no longer needs the job (a reload removed it). The caller removes the job's targets first; the name
   * goes out after them, in the last delta of the batch, so the worker never holds a target of a job it dropped.
   */
  removeJob(name: string): void {
    this.#jobs.delete(name);
    this.#removedJobs.add(name);
  }

  /** The remote-write endpoints changed: the next delta carries the whole new list (a later change replaces it). */
  setRemoteWrite(endpoints: readonly RemoteWriteEndpoint[]): void {
    this.#remoteWrite = endpoints;
  }

  /** Records a cumulative acknowledgement; acks of generations never sent or older than the last are ignored. */
  ack(generation: number): void {
    if (generation <= this.#generation && generation > this.#acked) this.#acked = generation;
  }

  /**
   * Whether a new stream can continue from what the worker says it holds: it applied exactly the newest generation
   * this outbox sent. Then {@link WorkerOutbox.resume} sends only what changed since.
   */
  canResume(heldGeneration: number): boolean {
    return this.#started && heldGeneration > 0 && heldGeneration === this.#generation;
  }

  /** Continues on a new stream from the newest generation sent: the next message is a delta based on it. */
  resume(): void {
    this.#acked = this.#generation;
  }

  /**
   * Starts a new stream with a snapshot. `held` is what the worker reported holding, with each id's target where
   * the master knows it: held targets the worker is no longer to scrape stay in the snapshot and leave in the next
   * delta as MOVED (at the last slot of a handover decided for them, or at once), so that a worker whose targets
   * moved while it was away writes no staleness markers into series its successors continue. `kept` are held ids of
   * `unsyncedJobs` the master does not know yet: left out, and the worker keeps them (AssignmentSnapshot.unsynced_jobs)
   * until a delta adds or removes them. Other held ids the master does not know are left out, and so are GONE.
   *
   * Returns the snapshot split into parts (see AssignmentSnapshot.continued).
   */
  snapshot(options: {
    settings: FleetSettings;
    heldGeneration: number;
    held: ReadonlyMap<TargetId, Target>;
    kept?: Iterable<TargetId>;
    unsyncedJobs?: readonly string[];
  }): AssignmentSnapshot[] {
    this.#sent.clear();
    this.#dirty.clear();
    this.#jobs.clear();
    this.#removedJobs.clear();
    this.#remoteWrite = undefined;
    const pending = new Map(this.#removals);
    this.#removals.clear();
    for (const [id, target] of options.held) {
      if (this.#wanted.has(id)) continue;
      this.#sent.set(id, target);
      // A handover already decided keeps its last slot; anything else the worker must stop now.
      const removal = pending.get(id);
      this.#removals.set(id, removal?.reason === 'moved' ? removal : { reason: 'moved', lastSlotUnixMs: 0 });
      this.#dirty.add(id);
    }
    const targets: ProtoTarget[] = [];
    for (const target of this.#sent.values()) if (target !== undefined) targets.push(targetToProto({ target, firstSlotUnixMs: 0 }));
    for (const id of options.kept ?? []) if (!this.#wanted.has(id)) this.#sent.set(id, undefined);
    for (const [id, wanted] of this.#wanted) {
      // A target the worker already holds keeps running from where it is: no first slot.
      const firstSlotUnixMs = options.held.has(id) ? 0 : wanted.firstSlotUnixMs;
      targets.push(targetToProto({ target: wanted.target, firstSlotUnixMs }));
      this.#sent.set(id, wanted.target);
    }
    this.#generation = Math.max(this.#generation, options.heldGeneration) + 1;
    this.#acked = Math.min(this.#acked, options.heldGeneration);
    this.#started = true;
    return splitSnapshot({ generation: this.#generation, leaderTerm: this.leaderTerm, settings: options.settings, targets, unsyncedJobs: options.unsyncedJobs ?? [] });
  }

  /**
   * The deltas that bring the worker to what is wanted now; none when nothing changed (changes that cancelled out
   * included). Large changes are split: each delta has its own generation, based on the one before.
   */
  deltas(): AssignmentDelta[] {
    if (!this.hasChanges) return [];
    const out: AssignmentDelta[] = [];
    const emptyDelta = (): AssignmentDelta => ({ generation: 0, baseGeneration: 0, upsertedJobs: [], removedJobs: [], addedTargets: [], removedTargets: [], leaderTerm: this.leaderTerm });
    let delta = emptyDelta();
    let size = MESSAGE_OVERHEAD_BYTES;
    const push = () => {
      const empty = delta.addedTargets.length === 0 && delta.removedTargets.length === 0 && delta.upsertedJobs.length === 0 && delta.removedJobs.length === 0;
      if (empty && delta.remoteWrite === undefined) return;
      // A generation is used only by a delta that is sent: the next delta's base must be one the worker got.
      delta.baseGeneration = this.#generation;
      delta.generation = ++this.#generation;
      out.push(delta);
      delta = emptyDelta();
      size = MESSAGE_OVERHEAD_BYTES;
    };
    /** Makes room for `bytes` more: a delta that has entries and cannot take them goes out first. */
    const room = (bytes: number) => {
      if (size + bytes > ASSIGNMENT_PART_BYTES) push();
      size += bytes;
    };
    // Settings first: the worker upserts jobs and endpoints before it adds targets, here in the same delta or an
    // earlier one.
    const endpoints = this.#remoteWrite;
    if (endpoints !== undefined) {
      room(endpoints.reduce((sum, endpoint) => sum + endpointBytes(endpoint) + ENTRY_OVERHEAD_BYTES, ENTRY_OVERHEAD_BYTES));
      delta.remoteWrite = { endpoints: [...endpoints] };
      this.#remoteWrite = undefined;
    }
    for (const job of this.#jobs.values()) {
      room(jobBytes(job) + ENTRY_OVERHEAD_BYTES);
      delta.upsertedJobs.push(job);
    }
    this.#jobs.clear();
    for (const id of this.#dirty) {
      const wanted = this.#wanted.get(id);
      const held = this.#sent.has(id);
      const kept = held && this.#sent.get(id) === undefined;
      // A kept target is added like a new one: the worker keeps it running as it is.
      if (wanted !== undefined && (!held || kept)) {
        const target = targetToProto({ target: wanted.target, firstSlotUnixMs: wanted.firstSlotUnixMs });
        room(targetMaxBytes(target));
        delta.addedTargets.push(target);
        this.#sent.set(id, wanted.target);
      } else if (wanted === undefined && held) {
        // Tag and length (1 + 5), id (10), reason (2), last slot (11).
        room(29);
        delta.removedTargets.push(removedTarget(id, this.#removals.get(id)));
        this.#sent.delete(id);
      }
      this.#removals.delete(id);
    }
    this.#dirty.clear();
    for (const name of this.#removedJobs) {
      // Tag and length (1 + 5), at most 3 bytes of UTF-8 per UTF-16 unit.
      room(6 + name.length * 3);
      delta.removedJobs.push(name);
    }
    this.#removedJobs.clear();
    push();
    return out;
  }
}

function removedTarget(id: TargetId, removal: Removal | undefined): RemovedTarget {
  const moved = removal?.reason === 'moved';
  return {
    id: targetIdToBytes(id),
    reason: moved ? RemovalReason.MOVED : RemovalReason.GONE,
    lastSlotUnixMs: moved ? removal.lastSlotUnixMs : 0,
  };
}

/**
 * Splits a snapshot into parts under {@link ASSIGNMENT_PART_BYTES}: the jobs first, then the endpoints, then the
 * targets, each counted, any of them spilling into the next part. Every setting is at most
 * {@link MAX_SETTING_BYTES} (Fleet.configure sees to it), so every part fits.
 */
function splitSnapshot(options: {
  generation: number;
  leaderTerm: number;
  settings: FleetSettings;
  targets: readonly ProtoTarget[];
  unsyncedJobs: readonly string[];
}): AssignmentSnapshot[] {
  const parts: AssignmentSnapshot[] = [];
  const empty = (): AssignmentSnapshot => ({
    generation: options.generation,
    jobs: [],
    remoteWrite: [],
    targets: [],
    continued: false,
    leaderTerm: options.leaderTerm,
    unsyncedJobs: [...options.unsyncedJobs],
  });
  // Every part repeats the unsynced job names: tag and length (1 + 5), at most 3 bytes of UTF-8 per UTF-16 unit.
  const base = MESSAGE_OVERHEAD_BYTES + options.unsyncedJobs.reduce((sum, name) => sum + 6 + name.length * 3, 0);
  let part = empty();
  let size = base;
  const room = (bytes: number) => {
    if (size + bytes > ASSIGNMENT_PART_BYTES && (part.jobs.length > 0 || part.remoteWrite.length > 0 || part.targets.length > 0)) {
      parts.push({ ...part, continued: true });
      part = empty();
      size = base;
    }
    size += bytes;
  };
  for (const job of options.settings.jobs) {
    room(jobBytes(job) + ENTRY_OVERHEAD_BYTES);
    part.jobs.push(job);
  }
  for (const endpoint of options.settings.remoteWrite) {
    room(endpointBytes(endpoint) + ENTRY_OVERHEAD_BYTES);
    part.remoteWrite.push(endpoint);
  }
  for (const target of options.targets) {
    room(targetMaxBytes(target));
    part.targets.push(target);
  }
  parts.push(part);
  return parts;
}
