/**
 * The worker's assignment as the master last gave it, and the rules for changing it (docs/protocol.md,
 * "Generations" and "Slots and handover"). Pure: no I/O and no timers; the caller passes the time to `prune`.
 *
 * This is the edge of the worker: each message is decoded here once into model types (targets with their interval,
 * timeout and first slot as numbers, jobs as `ScrapeConfig`, endpoints as `RemoteWriteConfig`), and nothing past the
 * state sees a protobuf message.
 *
 * The state outlives every stream: nothing here is cleared because the master went away (static stability).
 */
import { errorMessage, type Labels, type RemoteWriteConfig, type ScrapeConfig, type Target, type TargetId } from '@promfleet/model';
import {
  RemoteWriteEndpoint,
  RemovalReason,
  ScrapeJob,
  SettingsDecodeError,
  labelsFromProto,
  remoteWriteFromProto,
  scrapeJobFromProto,
  targetIdFromBytes,
  targetTimingFromProto,
  type AssignmentDelta,
  type AssignmentSnapshot,
  type Target as WireTarget,
} from '@promfleet/protocol';
import type { ScrapeHealth } from '../scrape/loop.js';
import { AssignmentOutOfSyncError, AssignmentProtocolError, PartialSnapshotTooLargeError } from './errors.js';

/**
 * The default bound on an incomplete snapshot, in estimated bytes: 256 MiB, a million targets of a typical size
 * (~250 bytes with their labels), ten times what one worker scrapes at the largest scale we run, while a worker
 * with its 2 GiB limit survives the decoded parts.
 */
export const DEFAULT_MAX_PARTIAL_SNAPSHOT_BYTES = 256 * 1024 * 1024;

/**
 * A target the worker holds: the target, with the interval and timeout the master computed its slots with, and the
 * first slot (Unix ms, inclusive) it owns it from.
 */
export interface HeldTarget extends Target {
  /**
   * The first scheduled scrape this worker owns, in Unix milliseconds; 0 means from the first slot at or after the
   * moment the scrape manager schedules the target (see `nextScrapeSlotMs` in @promfleet/model).
   */
  readonly firstSlotUnixMs: number;
}

/** A job's settings as decoded from the master: the config to scrape with, or why it could not be decoded. */
export type JobSettings = { readonly kind: 'usable'; readonly config: ScrapeConfig } | { readonly kind: 'rejected'; readonly error: string };

/** A scrape job the worker holds. */
export interface AssignedJob {
  readonly name: string;
  /**
   * Decoded once, when they arrive changed: the very same object for as long as the job's settings stay equal, so a
   * consumer tells a change of settings from a change of `forcedError` alone by identity.
   */
  readonly settings: JobSettings;
  /** While not empty, the job's targets are not scraped and report `up` 0 with this error (its target_limit). */
  readonly forcedError: string;
}

/**
 * A remote-write endpoint the worker holds: the same object for as long as its settings stay equal, so a consumer
 * keeps whatever it runs for an endpoint by identity.
 */
export interface AssignedEndpoint {
  /** Unique within the assignment. */
  readonly name: string;
  /** The receiver's URL as sent (secret: may carry user info), known even when the settings were rejected. */
  readonly url: string;
  readonly settings:
    | { readonly kind: 'usable'; readonly config: RemoteWriteConfig; readonly externalLabels: Labels }
    | { readonly kind: 'rejected'; readonly error: string };
}

/** The outcome of a target's most recent scrape, as the worker reports it to the master. */
export interface TargetHealthRecord {
  readonly id: TargetId;
  readonly health: ScrapeHealth;
}

/** A target moved to another worker that this worker still scrapes up to and including its last slot. */
export interface PendingRemoval {
  readonly target: HeldTarget;
  /** The last slot this worker owns, in Unix milliseconds, inclusive. Always above 0. */
  readonly lastSlotUnixMs: number;
}

/** One target leaving the worker. */
export interface TargetRemoval {
  readonly id: TargetId;
  /** `gone`: stop now and write staleness markers. `moved`: scrape through `lastSlotUnixMs`, write no markers. */
  readonly reason: 'gone' | 'moved';
  /** For `moved`, the last slot owned (inclusive), or 0 for "stop now"; always 0 for `gone`. */
  readonly lastSlotUnixMs: number;
}

/** What one applied snapshot or delta changed, for the scrape manager to act on. */
export interface AssignmentChange {
  /** The generation now held. */
  readonly generation: number;
  /**
   * Targets to scrape from now on: newly held ones, and held ones whose pending MOVED removal was cancelled (the
   * scrape manager keeps such a target's running loop and forgets its stop time).
   */
  readonly added: readonly HeldTarget[];
  /** Targets leaving, in the order the message listed them (a snapshot lists its GONE targets in held order). */
  readonly removed: readonly TargetRemoval[];
  /** Whether `jobs` differs from before: a job was added or removed, or has other settings or another forced error. */
  readonly jobsChanged: boolean;
  /** Whether `remoteWrite` differs from before: an endpoint was added, removed or changed, or the order changed. */
  readonly remoteWriteChanged: boolean;
}

/** The parts of a split snapshot received so far; applied once the last part arrives. */
interface PartialSnapshot {
  readonly generation: number;
  readonly jobs: ScrapeJob[];
  readonly remoteWrite: RemoteWriteEndpoint[];
  readonly targets: Map<TargetId, HeldTarget>;
  /** The jobs the parts named as not yet synced on the master (`unsynced_jobs`). */
  readonly unsyncedJobs: Set<string>;
  /** How many targets the parts carried so far: the index of the next part's first target in error messages. */
  received: number;
  /** How many parts arrived so far. */
  parts: number;
  /** The estimated size of the parts so far ({@link estimatedPartBytes}). */
  bytes: number;
}

/**
 * An estimate of a snapshot part's size, in bytes, cheap enough to take on every part: the length of every string
 * it holds plus a fixed overhead per target and label, and the encoded size of its jobs and endpoints (few, and
 * bounded by the message size limit). Close to the wire size for ASCII labels.
 */
function estimatedPartBytes(part: AssignmentSnapshot): number {
  let bytes = 0;
  for (const job of part.jobs) bytes += ScrapeJob.encode(job).finish().length;
  for (const endpoint of part.remoteWrite) bytes += RemoteWriteEndpoint.encode(endpoint).finish().length;
  for (const target of part.targets) {
    bytes += 32 + target.job.length;
    for (const label of target.labels) bytes += 8 + label.name.length + label.value.length;
  }
  return bytes;
}

/**
 * The assignment a worker holds: its generation, scrape jobs, remote-write endpoints, the targets it scrapes, and the
 * targets it still scrapes under a pending MOVED removal.
 *
 * Every `apply*` method either applies the whole message and returns what changed, or throws and leaves the state as
 * it was. The caller (the assignment client) owns the instance; the getters return live read-only views.
 */
export class AssignmentState {
  #generation = 0;
  readonly #jobs = new Map<string, AssignedJob>();
  /**
   * Jobs the master removed that a pending MOVED removal still scrapes with. They stay in `jobs` until the last such
   * target is pruned: the protocol lets the master remove a job in the same delta that moves its targets away, but
   * the worker keeps scraping those targets up to their last slot and needs the job's settings to do so.
   */
  readonly #retiredJobs = new Set<string>();
  #remoteWrite: readonly AssignedEndpoint[] = [];
  readonly #targets = new Map<TargetId, HeldTarget>();
  readonly #pending = new Map<TargetId, PendingRemoval>();
  #partial: PartialSnapshot | undefined;
  readonly #maxPartialSnapshotBytes: number;

  /**
   * Creates an empty state. `maxPartialSnapshotBytes` bounds what an incomplete snapshot may hold before its last
   * part, in estimated bytes ({@link DEFAULT_MAX_PARTIAL_SNAPSHOT_BYTES} by default).
   */
  constructor(options: { readonly maxPartialSnapshotBytes?: number } = {}) {
    this.#maxPartialSnapshotBytes = options.maxPartialSnapshotBytes ?? DEFAULT_MAX_PARTIAL_SNAPSHOT_BYTES;
  }

  /** The generation of the assignment held; 0 before the first one. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * The scrape jobs by name: those of the assignment, plus removed jobs that targets under a pending MOVED removal
   * still use.
   */
  get jobs(): ReadonlyMap<string, AssignedJob> {
    return this.#jobs;
  }

  /** The remote-write endpoints, in the master's order. */
  get remoteWrite(): readonly AssignedEndpoint[] {
    return this.#remoteWrite;
  }

  /** The targets held, by id, not counting those under a pending MOVED removal. */
  get targets(): ReadonlyMap<TargetId, HeldTarget> {
    return this.#targets;
  }

  /** Targets moved away that are still scraped until their last slot, by id. */
  get pendingRemovals(): ReadonlyMap<TargetId, PendingRemoval> {
    return this.#pending;
  }

  /** Whether some parts of a split snapshot arrived and the last one has not. */
  get snapshotInProgress(): boolean {
    return this.#partial !== undefined;
  }

  /**
   * What goes into `Hello.held_targets`: every target held that is not under a pending MOVED removal. Those are
   * already decided to leave, so a new master must not count them as this worker's.
   */
  held(): HeldTarget[] {
    return [...this.#targets.values()];
  }

  /**
   * Takes one part of a snapshot. Parts with `continued` set accumulate; the last part applies the whole snapshot,
   * which replaces jobs and endpoints and removes as GONE every held target it lacks, except those of a job in its
   * `unsynced_jobs` (collected over all parts): the master has not discovered that job yet, so the worker keeps such
   * targets as they are (same slots, no restart, no staleness markers) until a later message settles them. Targets
   * under a pending MOVED removal that the snapshot lacks stay pending: their handover was decided and acknowledged
   * (and Hello leaves them out), so they stop at their last slot without staleness markers rather than as GONE. A
   * snapshot that lists one cancels its removal.
   *
   * @returns What changed, or `undefined` while more parts are due.
   * @throws AssignmentProtocolError for a malformed part; the state, including the parts received before, is
   *   unchanged.
   * @throws PartialSnapshotTooLargeError when a part with `continued` set brings the parts received beyond
   *   `maxPartialSnapshotBytes`; the parts received are dropped, the assignment held is unchanged.
   */
  applySnapshot(part: AssignmentSnapshot): AssignmentChange | undefined {
    const partial = this.#partial;
    if (partial !== undefined && part.generation !== partial.generation) {
      throw new AssignmentProtocolError(
        'assignment_snapshot.generation',
        `a part of generation ${part.generation} arrived before the last part of generation ${partial.generation}`,
      );
    }
    if (partial === undefined && part.generation <= this.#generation) {
      throw new AssignmentProtocolError(
        'assignment_snapshot.generation',
        `generation ${part.generation} is not above the held generation ${this.#generation}`,
      );
    }
    // Only parts that stay buffered count: the last one is applied at once, and gRPC bounds each message.
    const partBytes = part.continued ? estimatedPartBytes(part) : 0;
    if (part.continued) {
      const bytes = (partial?.bytes ?? 0) + partBytes;
      if (bytes > this.#maxPartialSnapshotBytes) {
        this.#partial = undefined;
        throw new PartialSnapshotTooLargeError({ generation: part.generation, bytes, limitBytes: this.#maxPartialSnapshotBytes, parts: (partial?.parts ?? 0) + 1 });
      }
    }
    const received = partial?.received ?? 0;
    part.unsyncedJobs.forEach((name, i) => {
      if (name === '') throw new AssignmentProtocolError(`assignment_snapshot.unsynced_jobs[${i}]`, 'is empty');
    });
    const targets = decodeTargets(part.targets, {
      field: (i) => `assignment_snapshot.targets[${received + i}]`,
      taken: partial?.targets,
    });
    const next: PartialSnapshot = partial ?? {
      generation: part.generation,
      jobs: [],
      remoteWrite: [],
      targets: new Map(),
      unsyncedJobs: new Set(),
      received: 0,
      parts: 0,
      bytes: 0,
    };
    if (part.continued) {
      this.#partial = next;
      next.parts++;
      next.bytes += partBytes;
      next.jobs.push(...part.jobs);
      next.remoteWrite.push(...part.remoteWrite);
      for (const [id, target] of targets) next.targets.set(id, target);
      for (const name of part.unsyncedJobs) next.unsyncedJobs.add(name);
      next.received += part.targets.length;
      return undefined;
    }
    const jobs = indexJobs([...next.jobs, ...part.jobs], 'assignment_snapshot.jobs');
    const remoteWrite = [...next.remoteWrite, ...part.remoteWrite];
    checkUniqueNames(remoteWrite, 'assignment_snapshot.remote_write');
    const all = new Map([...next.targets, ...targets]);
    let index = 0;
    for (const target of all.values()) {
      if (!jobs.has(target.job)) {
        throw new AssignmentProtocolError(`assignment_snapshot.targets[${index}].job`, `job ${JSON.stringify(target.job)} is not in the snapshot's jobs`);
      }
      index++;
    }
    const unsyncedJobs = new Set([...next.unsyncedJobs, ...part.unsyncedJobs]);
    for (const held of this.#targets.values()) {
      if (!all.has(held.id) && unsyncedJobs.has(held.job) && !jobs.has(held.job)) {
        throw new AssignmentProtocolError(
          'assignment_snapshot.unsynced_jobs',
          `job ${JSON.stringify(held.job)} keeps held targets (it is not synced yet), but is not in the snapshot's jobs`,
        );
      }
    }
    this.#partial = undefined;
    return this.#commitSnapshot({ generation: part.generation, jobs, remoteWrite, targets: all, unsyncedJobs });
  }

  /**
   * Applies a delta in the protocol's order: upsert jobs, remove targets, add targets, remove jobs. Removing a target
   * the worker does not hold is a no-op (the outcome is what the master wants); adding one it already holds (one a
   * snapshot kept for an unsynced job, say) keeps the running one with its slots; adding one under a pending MOVED
   * removal cancels the removal.
   *
   * @throws AssignmentOutOfSyncError when `base_generation` is not the held generation (checked first: the delta is
   *   ignored, whatever it holds).
   * @throws AssignmentProtocolError for a malformed delta. Either way the state is unchanged.
   */
  applyDelta(delta: AssignmentDelta): AssignmentChange {
    if (this.#partial !== undefined) {
      throw new AssignmentProtocolError('assignment_delta', `arrived before the last part of snapshot ${this.#partial.generation}`);
    }
    if (delta.baseGeneration !== this.#generation) {
      throw new AssignmentOutOfSyncError({
        heldGeneration: this.#generation,
        baseGeneration: delta.baseGeneration,
        generation: delta.generation,
      });
    }
    if (delta.generation <= delta.baseGeneration) {
      throw new AssignmentProtocolError(
        'assignment_delta.generation',
        `generation ${delta.generation} is not above its base generation ${delta.baseGeneration}`,
      );
    }
    const upserted = indexJobs(delta.upsertedJobs, 'assignment_delta.upserted_jobs');
    const removals = decodeRemovals(delta.removedTargets);
    const additions = decodeTargets(delta.addedTargets, {
      field: (i) => `assignment_delta.added_targets[${i}]`,
      taken: removals,
    });
    let index = 0;
    for (const target of additions.values()) {
      const known = upserted.has(target.job) || (this.#jobs.has(target.job) && !this.#retiredJobs.has(target.job));
      if (!known) {
        throw new AssignmentProtocolError(`assignment_delta.added_targets[${index}].job`, `job ${JSON.stringify(target.job)} is not assigned`);
      }
      index++;
    }
    delta.removedJobs.forEach((name, i) => {
      const stillUsed =
        [...additions.values()].some((t) => t.job === name) ||
        [...this.#targets.values()].some((t) => t.job === name && !removals.has(t.id));
      if (stillUsed) {
        throw new AssignmentProtocolError(`assignment_delta.removed_jobs[${i}]`, `job ${JSON.stringify(name)} still has targets on this worker`);
      }
    });
    const remoteWrite = delta.remoteWrite?.endpoints;
    if (remoteWrite !== undefined) checkUniqueNames(remoteWrite, 'assignment_delta.remote_write.endpoints');
    return this.#commitDelta({ generation: delta.generation, upserted, removals, additions, removedJobs: delta.removedJobs, remoteWrite });
  }

  /**
   * Drops every pending MOVED removal whose last slot has passed (is before `nowMs`), and the removed jobs no pending
   * removal needs any longer. The scrape manager stops those targets on its own at their last slot; this only keeps
   * the state in step.
   *
   * @returns The ids dropped.
   */
  prune(nowMs: number): TargetId[] {
    const dropped: TargetId[] = [];
    for (const [id, pending] of this.#pending) {
      if (pending.lastSlotUnixMs < nowMs) {
        this.#pending.delete(id);
        dropped.push(id);
      }
    }
    if (dropped.length > 0) this.#dropUnusedRetiredJobs();
    return dropped;
  }

  /** The earliest last slot of the pending MOVED removals, or `undefined` when there are none: when to prune next. */
  nextPruneUnixMs(): number | undefined {
    let earliest: number | undefined;
    for (const pending of this.#pending.values()) {
      if (earliest === undefined || pending.lastSlotUnixMs < earliest) earliest = pending.lastSlotUnixMs;
    }
    return earliest;
  }

  /**
   * Forgets the parts of an incomplete snapshot. Called when a stream ends: the next stream starts its own snapshot
   * (or delta) from the held generation.
   */
  discardPartialSnapshot(): void {
    this.#partial = undefined;
  }

  #commitSnapshot(snapshot: {
    generation: number;
    jobs: Map<string, ScrapeJob>;
    remoteWrite: readonly RemoteWriteEndpoint[];
    targets: Map<TargetId, HeldTarget>;
    unsyncedJobs: ReadonlySet<string>;
  }): AssignmentChange {
    const added: HeldTarget[] = [];
    const removed: TargetRemoval[] = [];
    for (const [id, held] of this.#targets) {
      if (!snapshot.targets.has(id) && !snapshot.unsyncedJobs.has(held.job)) {
        this.#targets.delete(id);
        removed.push({ id, reason: 'gone', lastSlotUnixMs: 0 });
      }
    }
    for (const [id, target] of snapshot.targets) {
      if (this.#targets.has(id)) continue;
      this.#pending.delete(id);
      this.#targets.set(id, target);
      added.push(target);
    }

    const jobs = new Map<string, AssignedJob>();
    for (const [name, wire] of snapshot.jobs) jobs.set(name, this.#decodeJob(wire));
    const retired = new Set<string>();
    for (const { target } of this.#pending.values()) {
      const job = this.#jobs.get(target.job);
      if (!jobs.has(target.job) && job !== undefined) {
        jobs.set(target.job, job);
        retired.add(target.job);
      }
    }
    const jobsChanged = jobs.size !== this.#jobs.size || [...jobs].some(([name, job]) => this.#jobs.get(name) !== job);
    this.#jobs.clear();
    for (const [name, job] of jobs) this.#jobs.set(name, job);
    this.#retiredJobs.clear();
    for (const name of retired) this.#retiredJobs.add(name);

    const remoteWrite = this.#decodeEndpoints(snapshot.remoteWrite);
    const remoteWriteChanged = !sameItems(this.#remoteWrite, remoteWrite);
    this.#remoteWrite = remoteWrite;
    this.#generation = snapshot.generation;
    return { generation: snapshot.generation, added, removed, jobsChanged, remoteWriteChanged };
  }

  #commitDelta(delta: {
    generation: number;
    upserted: Map<string, ScrapeJob>;
    removals: Map<TargetId, Omit<TargetRemoval, 'id'>>;
    additions: Map<TargetId, HeldTarget>;
    removedJobs: readonly string[];
    /** The whole new list when the delta carried one. */
    remoteWrite: readonly RemoteWriteEndpoint[] | undefined;
  }): AssignmentChange {
    let jobsChanged = false;
    for (const [name, wire] of delta.upserted) {
      const job = this.#decodeJob(wire);
      if (this.#jobs.get(name) !== job) jobsChanged = true;
      this.#jobs.set(name, job);
      this.#retiredJobs.delete(name);
    }

    const removed: TargetRemoval[] = [];
    for (const [id, removal] of delta.removals) {
      const target = this.#targets.get(id) ?? this.#pending.get(id)?.target;
      if (target === undefined) continue;
      this.#targets.delete(id);
      this.#pending.delete(id);
      // MOVED with last slot 0 means "stop now": nothing stays pending.
      if (removal.reason === 'moved' && removal.lastSlotUnixMs > 0) {
        this.#pending.set(id, { target, lastSlotUnixMs: removal.lastSlotUnixMs });
      }
      removed.push({ id, ...removal });
    }

    const added: HeldTarget[] = [];
    for (const [id, target] of delta.additions) {
      if (this.#targets.has(id)) continue;
      this.#pending.delete(id);
      this.#targets.set(id, target);
      added.push(target);
    }

    // A removed job stays (retired) only while a pending removal still uses it.
    for (const name of delta.removedJobs) if (this.#jobs.has(name)) this.#retiredJobs.add(name);
    if (this.#dropUnusedRetiredJobs() > 0) jobsChanged = true;

    let remoteWriteChanged = false;
    if (delta.remoteWrite !== undefined) {
      const remoteWrite = this.#decodeEndpoints(delta.remoteWrite);
      remoteWriteChanged = !sameItems(this.#remoteWrite, remoteWrite);
      this.#remoteWrite = remoteWrite;
    }

    this.#generation = delta.generation;
    return { generation: delta.generation, added, removed, jobsChanged, remoteWriteChanged };
  }

  /**
   * The held job `wire` describes: the held object itself when nothing changed, one sharing the held settings when
   * only the forced error changed, else one with newly decoded settings. The settings are compared once, by their
   * wire bytes (the forced error left out), and decoded only when they changed.
   */
  #decodeJob(wire: ScrapeJob): AssignedJob {
    const key = wireKey(ScrapeJob.encode(wire.forcedError === '' ? wire : { ...wire, forcedError: '' }).finish());
    const held = this.#jobs.get(wire.name);
    if (held !== undefined && wireKeys.get(held.settings) === key) {
      return held.forcedError === wire.forcedError ? held : { name: wire.name, settings: held.settings, forcedError: wire.forcedError };
    }
    let settings: JobSettings;
    try {
      settings = { kind: 'usable', config: scrapeJobFromProto(wire) };
    } catch (err) {
      settings = { kind: 'rejected', error: errorMessage(err) };
    }
    wireKeys.set(settings, key);
    return { name: wire.name, settings, forcedError: wire.forcedError };
  }

  /** The held endpoints `wires` describe, in order: a held one itself when its settings are equal, judged by bytes. */
  #decodeEndpoints(wires: readonly RemoteWriteEndpoint[]): AssignedEndpoint[] {
    const held = new Map(this.#remoteWrite.map((e) => [e.name, e]));
    return wires.map((wire) => {
      const key = wireKey(RemoteWriteEndpoint.encode(wire).finish());
      const same = held.get(wire.name);
      if (same !== undefined && wireKeys.get(same) === key) return same;
      let settings: AssignedEndpoint['settings'];
      try {
        settings = { kind: 'usable', ...remoteWriteFromProto(wire) };
      } catch (err) {
        settings = { kind: 'rejected', error: errorMessage(err) };
      }
      const endpoint: AssignedEndpoint = { name: wire.name, url: wire.url, settings };
      wireKeys.set(endpoint, key);
      return endpoint;
    });
  }

  /** Deletes the retired jobs no pending removal uses; returns how many. */
  #dropUnusedRetiredJobs(): number {
    if (this.#retiredJobs.size === 0) return 0;
    const used = new Set<string>();
    for (const { target } of this.#pending.values()) used.add(target.job);
    let dropped = 0;
    for (const name of this.#retiredJobs) {
      if (used.has(name)) continue;
      this.#retiredJobs.delete(name);
      this.#jobs.delete(name);
      dropped++;
    }
    return dropped;
  }
}

/** Decodes wire targets, checking ids, labels and that no id repeats within them or appears in `taken`. */
function decodeTargets(
  targets: readonly WireTarget[],
  options: { field: (index: number) => string; taken: ReadonlyMap<TargetId, unknown> | undefined },
): Map<TargetId, HeldTarget> {
  const out = new Map<TargetId, HeldTarget>();
  targets.forEach((wire, i) => {
    const field = options.field(i);
    const id = decodeId(wire.id, `${field}.id`);
    if (out.has(id) || options.taken?.has(id) === true) {
      throw new AssignmentProtocolError(`${field}.id`, `target ${id} appears more than once`);
    }
    if (wire.job === '') throw new AssignmentProtocolError(`${field}.job`, 'is empty');
    if (wire.firstSlotUnixMs < 0) throw new AssignmentProtocolError(`${field}.first_slot_unix_ms`, `${wire.firstSlotUnixMs} is negative`);
    let labels: Map<string, string>;
    try {
      labels = labelsFromProto(wire.labels);
    } catch (err) {
      throw new AssignmentProtocolError(`${field}.labels`, errorMessage(err), { cause: err });
    }
    let timing: { intervalMs: number; timeoutMs: number };
    try {
      timing = targetTimingFromProto({ msg: wire, labels, field });
    } catch (err) {
      if (!(err instanceof SettingsDecodeError)) throw err;
      throw new AssignmentProtocolError(err.field, err.detail, { cause: err });
    }
    out.set(id, { id, job: wire.job, labels, intervalMs: timing.intervalMs, timeoutMs: timing.timeoutMs, firstSlotUnixMs: wire.firstSlotUnixMs });
  });
  return out;
}

/** Decodes a delta's removals, checking ids, reasons, last slots and that no id repeats. */
function decodeRemovals(removals: AssignmentDelta['removedTargets']): Map<TargetId, Omit<TargetRemoval, 'id'>> {
  const out = new Map<TargetId, Omit<TargetRemoval, 'id'>>();
  removals.forEach((wire, i) => {
    const field = `assignment_delta.removed_targets[${i}]`;
    const id = decodeId(wire.id, `${field}.id`);
    if (out.has(id)) throw new AssignmentProtocolError(`${field}.id`, `target ${id} appears more than once`);
    let reason: TargetRemoval['reason'];
    switch (wire.reason) {
      case RemovalReason.GONE:
        reason = 'gone';
        break;
      case RemovalReason.MOVED:
        reason = 'moved';
        break;
      case RemovalReason.UNSPECIFIED:
      case RemovalReason.UNRECOGNIZED:
      default:
        // fleet.proto: an unspecified or unknown value of a required enum is a protocol error.
        throw new AssignmentProtocolError(`${field}.reason`, `${wire.reason} is not GONE or MOVED`);
    }
    if (wire.lastSlotUnixMs < 0) throw new AssignmentProtocolError(`${field}.last_slot_unix_ms`, `${wire.lastSlotUnixMs} is negative`);
    out.set(id, { reason, lastSlotUnixMs: reason === 'gone' ? 0 : wire.lastSlotUnixMs });
  });
  return out;
}

function decodeId(bytes: Uint8Array, field: string): TargetId {
  try {
    return targetIdFromBytes(bytes);
  } catch (err) {
    throw new AssignmentProtocolError(field, errorMessage(err), { cause: err });
  }
}

/** Indexes jobs by name, rejecting an empty or repeated name. */
function indexJobs(jobs: readonly ScrapeJob[], field: string): Map<string, ScrapeJob> {
  checkUniqueNames(jobs, field);
  return new Map(jobs.map((job) => [job.name, job]));
}

function checkUniqueNames(items: readonly { readonly name: string }[], field: string): void {
  const seen = new Set<string>();
  items.forEach(({ name }, i) => {
    if (name === '') throw new AssignmentProtocolError(`${field}[${i}].name`, 'is empty');
    if (seen.has(name)) throw new AssignmentProtocolError(`${field}[${i}].name`, `${JSON.stringify(name)} appears more than once`);
    seen.add(name);
  });
}

/**
 * The wire bytes of each held job's settings and each held endpoint, as a string: what the next version of it is
 * compared with. Bytes are a sound identity: the generated encoder writes fields in number order and map entries in
 * insertion order, which decoding the same bytes reproduces (at worst, a map the master rebuilt in another order
 * counts as a change). Weak, so that nothing outlives the objects.
 */
/** Whether `a` and `b` hold the very same objects in the same order (decoded endpoints keep their identity while unchanged). */
export function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

const wireKeys = new WeakMap<object, string>();

/** Bytes as a string that compares equal exactly when the bytes do. */
function wireKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
