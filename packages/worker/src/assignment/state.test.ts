/**
 * The assignment state on its own: snapshots (whole and split), deltas in the protocol's order, MOVED handover with
 * pending removals, pruning, and malformed messages that must leave the state as it was.
 */
import { describe, expect, it } from '@jest/globals';
import { parseConfig, type ScrapeConfig } from '@promfleet/model';
import { RemovalReason, RemoteWriteProtocol, labelsToProto, remoteWriteToProto, scrapeJobToProto, type AssignmentDelta, type AssignmentSnapshot, type RemoteWriteEndpoint, type ScrapeJob } from '@promfleet/protocol';
import { A, B, C, delta, gone, job, moved, snapshot, target } from './client-fixtures.js';
import { AssignmentErrorCode, AssignmentOutOfSyncError, AssignmentProtocolError, PartialSnapshotTooLargeError } from './errors.js';
import { AssignmentState, DEFAULT_MAX_PARTIAL_SNAPSHOT_BYTES } from './state.js';

function endpoint(name: string, url: string): RemoteWriteEndpoint {
  return { name, url, remoteTimeoutMs: 30_000, headers: new Map(), writeRelabelConfigs: [], sendExemplars: false, externalLabels: [], protocol: RemoteWriteProtocol.V1 };
}

/** A worker holding generation 1: jobs node and api, targets A and B of node. */
function holding(): AssignmentState {
  const state = new AssignmentState();
  state.applySnapshot(snapshot({ generation: 1, jobs: [job('node'), job('api')], targets: [target(A), target(B)] }));
  return state;
}

/** Everything observable about a state, to compare before and after a rejected message. */
function summary(state: AssignmentState): unknown {
  return {
    generation: state.generation,
    jobs: [...state.jobs.keys()],
    remoteWrite: state.remoteWrite.map((e) => e.name),
    targets: [...state.targets.keys()],
    pending: [...state.pendingRemovals].map(([id, p]) => [id, p.lastSlotUnixMs]),
    snapshotInProgress: state.snapshotInProgress,
  };
}

describe('AssignmentState snapshots', () => {
  it('takes a first snapshot whole: every target added, jobs and endpoints changed', () => {
    const state = new AssignmentState();
    const change = state.applySnapshot(
      snapshot({
        generation: 3,
        jobs: [job('node')],
        remoteWrite: [endpoint('prom', 'http://prom:9090/api/v1/write')],
        targets: [target(A, 'node', 1_767_225_600_123)],
      }),
    );
    expect(change).toEqual({
      generation: 3,
      added: [
        {
          id: A,
          job: 'node',
          labels: new Map([['__address__', '10.0.0.1:9100'], ['job', 'node']]),
          intervalMs: 15_000,
          timeoutMs: 10_000,
          firstSlotUnixMs: 1_767_225_600_123,
        },
      ],
      removed: [],
      jobsChanged: true,
      remoteWriteChanged: true,
    });
    expect(state.generation).toBe(3);
    expect([...state.jobs.keys()]).toEqual(['node']);
    expect(state.remoteWrite.map((e) => e.url)).toEqual(['http://prom:9090/api/v1/write']);
  });

  it('replaces the assignment: held targets it lacks are GONE, kept ones are neither added nor restarted', () => {
    const state = holding();
    const keptB = state.targets.get(B);
    const change = state.applySnapshot(snapshot({ generation: 5, jobs: [job('node'), job('api')], targets: [target(B), target(C, 'api')] }));
    expect(change?.added.map((t) => t.id)).toEqual([C]);
    expect(change?.removed).toEqual([{ id: A, reason: 'gone', lastSlotUnixMs: 0 }]);
    expect(change?.jobsChanged).toBe(false);
    expect(state.targets.get(B)).toBe(keptB);
    expect([...state.targets.keys()].sort()).toEqual([B, C]);
  });

  it.each([
    ['the same jobs and endpoints', [job('node')], [endpoint('prom', 'http://a/w')], false, false],
    ['a job with another interval', [job('node', 30_000)], [endpoint('prom', 'http://a/w')], true, false],
    ['one more job', [job('node'), job('api')], [endpoint('prom', 'http://a/w')], true, false],
    ['an endpoint with another url', [job('node')], [endpoint('prom', 'http://b/w')], false, true],
    ['no endpoint', [job('node')], [], false, true],
  ])('reports what changed for %s', (_name, jobs, remoteWrite, jobsChanged, remoteWriteChanged) => {
    const state = new AssignmentState();
    state.applySnapshot(snapshot({ generation: 1, jobs: [job('node')], remoteWrite: [endpoint('prom', 'http://a/w')] }));
    const change = state.applySnapshot(snapshot({ generation: 2, jobs, remoteWrite }));
    expect(change).toMatchObject({ jobsChanged, remoteWriteChanged });
  });

  it('applies a split snapshot only once its last part arrived', () => {
    const state = holding();
    const before = summary(state);
    const first = state.applySnapshot(snapshot({ generation: 2, jobs: [job('node')], targets: [target(B)], continued: true }));
    expect(first).toBeUndefined();
    expect(state.snapshotInProgress).toBe(true);
    expect({ ...(summary(state) as object), snapshotInProgress: false }).toEqual(before);

    const last = state.applySnapshot(snapshot({ generation: 2, targets: [target(C)] }));
    expect(last?.added.map((t) => t.id)).toEqual([C]);
    expect(last?.removed).toEqual([{ id: A, reason: 'gone', lastSlotUnixMs: 0 }]);
    expect(state.generation).toBe(2);
    expect([...state.jobs.keys()]).toEqual(['node']);
    expect(state.snapshotInProgress).toBe(false);
  });

  it('collects jobs and endpoints spread over the parts, as the master splits settings too large for one part', () => {
    const state = new AssignmentState();
    expect(state.applySnapshot(snapshot({ generation: 1, jobs: [job('node')], continued: true }))).toBeUndefined();
    expect(state.applySnapshot(snapshot({ generation: 1, jobs: [job('api')], remoteWrite: [endpoint('a', 'http://a/write')], continued: true }))).toBeUndefined();
    expect(state.applySnapshot(snapshot({ generation: 1, remoteWrite: [endpoint('b', 'http://b/write')], targets: [target(A, 'api')], continued: true }))).toBeUndefined();
    const change = state.applySnapshot(snapshot({ generation: 1, targets: [target(B, 'node')] }));
    expect(change?.added.map((t) => t.id)).toEqual([A, B]);
    expect([...state.jobs.keys()]).toEqual(['node', 'api']);
    expect(state.remoteWrite.map((e) => e.name)).toEqual(['a', 'b']);
  });

  it('drops a snapshot whose parts outgrow the buffer, keeping the assignment held', () => {
    const state = new AssignmentState({ maxPartialSnapshotBytes: 2_000 });
    state.applySnapshot(snapshot({ generation: 1, jobs: [job('node')], targets: [target(A)] }));
    const before = summary(state);
    const many = (from: number) => Array.from({ length: 10 }, (_, i) => target((from + i).toString(16).padStart(16, '0')));
    expect(state.applySnapshot(snapshot({ generation: 2, jobs: [job('node')], targets: many(0x100), continued: true }))).toBeUndefined();
    let thrown: unknown;
    try {
      // A rogue master that never sends the last part.
      for (let part = 1; part < 100; part++) state.applySnapshot(snapshot({ generation: 2, targets: many(0x100 + part * 10), continued: true }));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(PartialSnapshotTooLargeError);
    expect(thrown).toMatchObject({ code: AssignmentErrorCode.partialSnapshotTooLarge, generation: 2, limitBytes: 2_000 });
    expect((thrown as PartialSnapshotTooLargeError).bytes).toBeGreaterThan(2_000);
    expect((thrown as Error).message).toMatch(/snapshot 2 in parts holds about \d+ bytes after \d+ parts, more than the 2000 bytes/);
    // Nothing of the dropped snapshot stays; the next stream's snapshot starts afresh.
    expect(summary(state)).toEqual(before);
    expect(state.applySnapshot(snapshot({ generation: 2, jobs: [job('node')], targets: [target(B)] }))?.added.map((t) => t.id)).toEqual([B]);
  });

  it('buffers 256 MiB by default, and never counts the last part', () => {
    expect(DEFAULT_MAX_PARTIAL_SNAPSHOT_BYTES).toBe(256 * 1024 * 1024);
    const state = new AssignmentState({ maxPartialSnapshotBytes: 1 });
    const change = state.applySnapshot(snapshot({ generation: 1, jobs: [job('node')], targets: [target(A), target(B)] }));
    expect(change?.added).toHaveLength(2);
  });

  it('forgets the parts of a snapshot a stream did not finish', () => {
    const state = holding();
    state.applySnapshot(snapshot({ generation: 2, jobs: [job('node')], targets: [target(C)], continued: true }));
    state.discardPartialSnapshot();
    expect(state.snapshotInProgress).toBe(false);
    const change = state.applySnapshot(snapshot({ generation: 2, jobs: [job('node')], targets: [target(A)] }));
    expect(change?.added).toEqual([]);
    expect([...state.targets.keys()]).toEqual([A]);
  });

  it('keeps pending MOVED removals a snapshot lacks, with their job, and cancels those it lists', () => {
    const state = holding();
    state.applyDelta(delta({ generation: 2, baseGeneration: 1, removedTargets: [moved(A, 1_000), moved(B, 2_000)] }));
    const change = state.applySnapshot(snapshot({ generation: 3, jobs: [job('api')], targets: [target(C, 'api')] }));
    expect(change?.removed).toEqual([]);
    expect([...state.pendingRemovals.keys()]).toEqual([A, B]);
    expect([...state.jobs.keys()].sort()).toEqual(['api', 'node']);

    const again = state.applySnapshot(snapshot({ generation: 4, jobs: [job('node'), job('api')], targets: [target(A), target(C, 'api')] }));
    expect(again?.added.map((t) => t.id)).toEqual([A]);
    expect([...state.pendingRemovals.keys()]).toEqual([B]);
    expect(state.held().map((t) => t.id).sort()).toEqual([A, C]);
  });
});

describe('AssignmentState snapshots with unsynced jobs (a master that has not discovered them yet)', () => {
  /** Generation 1: jobs node and api; A and B of node, C of api. */
  const holdingThree = (): AssignmentState => {
    const state = new AssignmentState();
    state.applySnapshot(snapshot({ generation: 1, jobs: [job('node'), job('api')], targets: [target(A, 'node', 1_000), target(B), target(C, 'api')] }));
    return state;
  };

  it('keeps held targets of an unsynced job as they are, and removes the others it lacks as GONE', () => {
    const state = holdingThree();
    const keptA = state.targets.get(A);
    const keptB = state.targets.get(B);
    const change = state.applySnapshot(snapshot({ generation: 2, jobs: [job('node'), job('api')], unsyncedJobs: ['node'] }));
    expect(change).toEqual({ generation: 2, added: [], removed: [{ id: C, reason: 'gone', lastSlotUnixMs: 0 }], jobsChanged: false, remoteWriteChanged: false });
    expect(state.targets.get(A)).toBe(keptA);
    expect(state.targets.get(B)).toBe(keptB);
    expect([...state.targets.keys()]).toEqual([A, B]);
    // The next master hears of them in the Hello, as of any target held.
    expect(state.held().map((t) => t.id)).toEqual([A, B]);
  });

  it('keeps a listed target of an unsynced job running as it is', () => {
    const state = holdingThree();
    const keptA = state.targets.get(A);
    const change = state.applySnapshot(snapshot({ generation: 2, jobs: [job('node'), job('api')], targets: [target(A, 'node', 9_000), target(C, 'api')], unsyncedJobs: ['node'] }));
    expect(change).toMatchObject({ added: [], removed: [] });
    expect(state.targets.get(A)).toBe(keptA);
    expect(state.targets.get(A)?.firstSlotUnixMs).toBe(1_000);
  });

  it('collects unsynced jobs over the parts of a split snapshot', () => {
    const state = holdingThree();
    expect(state.applySnapshot(snapshot({ generation: 2, jobs: [job('node'), job('api')], unsyncedJobs: ['node'], continued: true }))).toBeUndefined();
    expect(state.applySnapshot(snapshot({ generation: 2, unsyncedJobs: ['api'], continued: true }))).toBeUndefined();
    const change = state.applySnapshot(snapshot({ generation: 2, unsyncedJobs: ['node'] }));
    expect(change).toMatchObject({ added: [], removed: [] });
    expect([...state.targets.keys()]).toEqual([A, B, C]);
  });

  it('lets a later delta add a kept target (no restart, same slots), move it, or remove it as GONE', () => {
    const state = holdingThree();
    const keptA = state.targets.get(A);
    state.applySnapshot(snapshot({ generation: 2, jobs: [job('node'), job('api')], unsyncedJobs: ['node', 'api'] }));
    const change = state.applyDelta(
      delta({ generation: 3, baseGeneration: 2, addedTargets: [target(A, 'node', 7_000)], removedTargets: [moved(B, 4_000), gone(C)] }),
    );
    expect(change).toEqual({
      generation: 3,
      added: [],
      removed: [
        { id: B, reason: 'moved', lastSlotUnixMs: 4_000 },
        { id: C, reason: 'gone', lastSlotUnixMs: 0 },
      ],
      jobsChanged: false,
      remoteWriteChanged: false,
    });
    expect(state.targets.get(A)).toBe(keptA);
    expect([...state.targets.keys()]).toEqual([A]);
    expect([...state.pendingRemovals.keys()]).toEqual([B]);
  });

  it('removes a kept target as GONE in a later snapshot that no longer names its job unsynced', () => {
    const state = holdingThree();
    state.applySnapshot(snapshot({ generation: 2, jobs: [job('node'), job('api')], targets: [target(C, 'api')], unsyncedJobs: ['node'] }));
    const change = state.applySnapshot(snapshot({ generation: 3, jobs: [job('node'), job('api')], targets: [target(A), target(C, 'api')] }));
    expect(change?.removed).toEqual([{ id: B, reason: 'gone', lastSlotUnixMs: 0 }]);
    expect([...state.targets.keys()]).toEqual([A, C]);
  });

  it('keeps nothing for an unsynced job it holds no target of, and adds what the snapshot lists', () => {
    const state = holdingThree();
    const change = state.applySnapshot(snapshot({ generation: 2, jobs: [job('node'), job('api'), job('kube')], targets: [target(A)], unsyncedJobs: ['kube'] }));
    expect(change?.removed.map((r) => r.id)).toEqual([B, C]);
    expect([...state.targets.keys()]).toEqual([A]);
  });
});

describe('AssignmentState deltas', () => {
  it('applies upsert jobs, remove targets, add targets, remove jobs, in that order', () => {
    const state = new AssignmentState();
    state.applySnapshot(snapshot({ generation: 1, jobs: [job('node'), job('api')], targets: [target(A), target(B, 'api')] }));
    // The added target needs the job upserted in the same delta; the removed job needs its target removed first.
    const change = state.applyDelta(
      delta({
        generation: 2,
        baseGeneration: 1,
        upsertedJobs: [job('kube')],
        removedTargets: [gone(A)],
        addedTargets: [target(C, 'kube', 1_767_225_615_000)],
        removedJobs: ['node'],
      }),
    );
    expect(change).toEqual({
      generation: 2,
      added: [expect.objectContaining({ id: C, job: 'kube', firstSlotUnixMs: 1_767_225_615_000 })],
      removed: [{ id: A, reason: 'gone', lastSlotUnixMs: 0 }],
      jobsChanged: true,
      remoteWriteChanged: false,
    });
    expect([...state.jobs.keys()].sort()).toEqual(['api', 'kube']);
    expect([...state.targets.keys()].sort()).toEqual([B, C]);
  });

  it.each([
    ['the same settings', job('node'), false],
    ['another interval', job('node', 60_000), true],
    ['a new job', job('kube'), true],
  ])('counts an upserted job with %s as a change or not', (_name, upserted, jobsChanged) => {
    const state = holding();
    expect(state.applyDelta(delta({ generation: 2, baseGeneration: 1, upsertedJobs: [upserted] })).jobsChanged).toBe(jobsChanged);
  });

  it.each([
    ['no remote_write update', undefined, false, ['prom']],
    ['the same list', [endpoint('prom', 'http://prom:9090/api/v1/write')], false, ['prom']],
    ['another list', [endpoint('prom', 'http://prom:9090/api/v1/write'), endpoint('mimir', 'http://mimir/api/v1/push')], true, ['prom', 'mimir']],
    ['an empty list', [], true, []],
  ])('takes a delta with %s as the whole remote-write list', (_name, endpoints, changed, names) => {
    const state = new AssignmentState();
    state.applySnapshot(snapshot({ generation: 1, jobs: [job('node')], remoteWrite: [endpoint('prom', 'http://prom:9090/api/v1/write')], targets: [target(A)] }));
    const change = state.applyDelta(delta({ generation: 2, baseGeneration: 1, ...(endpoints === undefined ? {} : { remoteWrite: { endpoints } }) }));
    expect(change.remoteWriteChanged).toBe(changed);
    expect(state.remoteWrite.map((e) => e.name)).toEqual(names);
    expect([...state.targets.keys()]).toEqual([A]);
  });

  it('rejects a remote-write update that names an endpoint twice, changing nothing', () => {
    const state = holding();
    const before = summary(state);
    const twice = [endpoint('prom', 'http://a/api/v1/write'), endpoint('prom', 'http://b/api/v1/write')];
    expect(() => state.applyDelta(delta({ generation: 2, baseGeneration: 1, remoteWrite: { endpoints: twice } }))).toThrow(AssignmentProtocolError);
    expect(summary(state)).toEqual(before);
  });

  it('rejects a delta on another base generation as out of sync, whatever else it holds', () => {
    const state = holding();
    const before = summary(state);
    let thrown: unknown;
    try {
      state.applyDelta(delta({ generation: 9, baseGeneration: 7, addedTargets: [target(C, 'nope')] }));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AssignmentOutOfSyncError);
    expect(thrown).toMatchObject({ code: AssignmentErrorCode.outOfSync, heldGeneration: 1, baseGeneration: 7 });
    expect(summary(state)).toEqual(before);
  });

  it('accepts a delta on the held generation as the first message of a stream (master still knows the worker)', () => {
    const state = holding();
    expect(state.applyDelta(delta({ generation: 4, baseGeneration: 1, addedTargets: [target(C)] })).added.map((t) => t.id)).toEqual([C]);
  });

  it('keeps a MOVED target pending until its last slot; adding it back cancels the removal', () => {
    const state = holding();
    const change = state.applyDelta(delta({ generation: 2, baseGeneration: 1, removedTargets: [moved(A, 1_767_225_630_000)] }));
    expect(change.removed).toEqual([{ id: A, reason: 'moved', lastSlotUnixMs: 1_767_225_630_000 }]);
    expect(state.pendingRemovals.get(A)?.lastSlotUnixMs).toBe(1_767_225_630_000);
    expect(state.targets.has(A)).toBe(false);
    expect(state.held().map((t) => t.id)).toEqual([B]);

    const back = state.applyDelta(delta({ generation: 3, baseGeneration: 2, addedTargets: [target(A)] }));
    expect(back.added.map((t) => t.id)).toEqual([A]);
    expect(state.pendingRemovals.size).toBe(0);
    expect(state.held().map((t) => t.id).sort()).toEqual([A, B]);
  });

  it('stops a MOVED target with last slot 0 at once', () => {
    const state = holding();
    const change = state.applyDelta(delta({ generation: 2, baseGeneration: 1, removedTargets: [moved(A, 0)] }));
    expect(change.removed).toEqual([{ id: A, reason: 'moved', lastSlotUnixMs: 0 }]);
    expect(state.pendingRemovals.size).toBe(0);
    expect(state.targets.has(A)).toBe(false);
  });

  it('turns a pending MOVED removal into GONE, or moves its last slot, when asked again', () => {
    const state = holding();
    state.applyDelta(delta({ generation: 2, baseGeneration: 1, removedTargets: [moved(A, 5_000), moved(B, 5_000)] }));
    const change = state.applyDelta(delta({ generation: 3, baseGeneration: 2, removedTargets: [gone(A), moved(B, 7_000)] }));
    expect(change.removed).toEqual([
      { id: A, reason: 'gone', lastSlotUnixMs: 0 },
      { id: B, reason: 'moved', lastSlotUnixMs: 7_000 },
    ]);
    expect([...state.pendingRemovals].map(([id, p]) => [id, p.lastSlotUnixMs])).toEqual([[B, 7_000]]);
  });

  it('ignores the removal of a target it does not hold, and the addition of one it already holds', () => {
    const state = holding();
    const keptA = state.targets.get(A);
    const change = state.applyDelta(delta({ generation: 2, baseGeneration: 1, removedTargets: [gone(C)], addedTargets: [target(A, 'node', 99)] }));
    expect(change).toMatchObject({ generation: 2, added: [], removed: [] });
    expect(state.targets.get(A)).toBe(keptA);
  });

  it('keeps a job removed along with its moved targets until the last of them is pruned', () => {
    const state = holding();
    const change = state.applyDelta(
      delta({ generation: 2, baseGeneration: 1, removedTargets: [moved(A, 1_000), moved(B, 2_000)], removedJobs: ['node'] }),
    );
    expect(change.jobsChanged).toBe(false);
    expect(state.jobs.has('node')).toBe(true);
    expect(state.prune(1_001)).toEqual([A]);
    expect(state.jobs.has('node')).toBe(true);
    expect(state.prune(2_001)).toEqual([B]);
    expect([...state.jobs.keys()]).toEqual(['api']);
  });

  it('does not let a new target use a job that was removed but is kept for pending removals', () => {
    const state = holding();
    state.applyDelta(delta({ generation: 2, baseGeneration: 1, removedTargets: [moved(A, 1_000), moved(B, 1_000)], removedJobs: ['node'] }));
    expect(() => state.applyDelta(delta({ generation: 3, baseGeneration: 2, addedTargets: [target(C)] }))).toThrow(
      expect.objectContaining({ field: 'assignment_delta.added_targets[0].job' }),
    );
    const upserted = state.applyDelta(delta({ generation: 3, baseGeneration: 2, upsertedJobs: [job('node')], addedTargets: [target(C)] }));
    expect(upserted.added.map((t) => t.id)).toEqual([C]);
    expect(state.prune(1_001)).toEqual([A, B]);
    expect(state.jobs.has('node')).toBe(true);
  });
});

describe('AssignmentState.prune', () => {
  it('drops a pending removal once its last slot has passed, not at the slot itself', () => {
    const state = holding();
    state.applyDelta(delta({ generation: 2, baseGeneration: 1, removedTargets: [moved(A, 30_000), moved(B, 15_000)] }));
    expect(state.nextPruneUnixMs()).toBe(15_000);
    expect(state.prune(15_000)).toEqual([]);
    expect(state.prune(15_001)).toEqual([B]);
    expect(state.nextPruneUnixMs()).toBe(30_000);
    expect(state.prune(40_000)).toEqual([A]);
    expect(state.nextPruneUnixMs()).toBeUndefined();
    expect(state.pendingRemovals.size).toBe(0);
  });
});

describe('AssignmentState rejects malformed messages and stays unchanged', () => {
  const badId = { ...target(C), id: Uint8Array.from([1, 2, 3, 4, 5, 6, 7]) };
  const duplicateLabel = { ...target(C), labels: [{ name: 'job', value: 'a' }, { name: 'job', value: 'b' }] };
  const d = (fields: Partial<AssignmentDelta>): AssignmentDelta => delta({ generation: 3, baseGeneration: 2, ...fields });
  const s = (fields: Partial<AssignmentSnapshot>): AssignmentSnapshot => snapshot({ generation: 3, jobs: [job('node')], ...fields });
  /** Generation 2: A held, B moved away with last slot 5000. */
  const holdingWithPendingRemoval = (): AssignmentState => {
    const state = holding();
    state.applyDelta(delta({ generation: 2, baseGeneration: 1, removedTargets: [moved(B, 5_000)] }));
    return state;
  };

  it.each<[string, (state: AssignmentState) => unknown, string]>([
    ['an added target id of 7 bytes', (st) => st.applyDelta(d({ addedTargets: [badId] })), 'assignment_delta.added_targets[0].id'],
    ['a removed target id of 7 bytes', (st) => st.applyDelta(d({ removedTargets: [{ ...gone(A), id: badId.id }] })), 'assignment_delta.removed_targets[0].id'],
    ['an unspecified removal reason', (st) => st.applyDelta(d({ removedTargets: [{ ...gone(A), reason: RemovalReason.UNSPECIFIED }] })), 'assignment_delta.removed_targets[0].reason'],
    ['an unknown removal reason', (st) => st.applyDelta(d({ removedTargets: [{ ...gone(A), reason: 7 as RemovalReason }] })), 'assignment_delta.removed_targets[0].reason'],
    ['a negative last slot', (st) => st.applyDelta(d({ removedTargets: [moved(A, -1)] })), 'assignment_delta.removed_targets[0].last_slot_unix_ms'],
    ['a duplicate label', (st) => st.applyDelta(d({ addedTargets: [duplicateLabel] })), 'assignment_delta.added_targets[0].labels'],
    ['an id added twice', (st) => st.applyDelta(d({ addedTargets: [target(C), target(C)] })), 'assignment_delta.added_targets[1].id'],
    ['an id removed twice', (st) => st.applyDelta(d({ removedTargets: [gone(A), moved(A, 5)] })), 'assignment_delta.removed_targets[1].id'],
    ['an id both removed and added', (st) => st.applyDelta(d({ removedTargets: [gone(A)], addedTargets: [target(A)] })), 'assignment_delta.added_targets[0].id'],
    ['a target of an unknown job', (st) => st.applyDelta(d({ addedTargets: [target(C, 'kube')] })), 'assignment_delta.added_targets[0].job'],
    ['a removed job that still has targets', (st) => st.applyDelta(d({ removedJobs: ['api', 'node'] })), 'assignment_delta.removed_jobs[1]'],
    ['a removed job that an added target uses', (st) => st.applyDelta(d({ addedTargets: [target(C, 'api')], removedJobs: ['api'] })), 'assignment_delta.removed_jobs[0]'],
    ['a job upserted twice', (st) => st.applyDelta(d({ upsertedJobs: [job('kube'), job('kube')] })), 'assignment_delta.upserted_jobs[1].name'],
    ['a delta not above its base', (st) => st.applyDelta(d({ generation: 2 })), 'assignment_delta.generation'],
    ['a snapshot not above the held generation', (st) => st.applySnapshot(s({ generation: 2 })), 'assignment_snapshot.generation'],
    ['a snapshot listing an id twice', (st) => st.applySnapshot(s({ targets: [target(A), target(A)] })), 'assignment_snapshot.targets[1].id'],
    ['a snapshot target of a job it lacks', (st) => st.applySnapshot(s({ targets: [target(A), target(C, 'api')] })), 'assignment_snapshot.targets[1].job'],
    ['a snapshot target with a duplicate label', (st) => st.applySnapshot(s({ targets: [duplicateLabel] })), 'assignment_snapshot.targets[0].labels'],
    ['a snapshot naming a job twice', (st) => st.applySnapshot(s({ jobs: [job('node'), job('node')] })), 'assignment_snapshot.jobs[1].name'],
    ['a snapshot naming an empty unsynced job', (st) => st.applySnapshot(s({ unsyncedJobs: ['api', ''] })), 'assignment_snapshot.unsynced_jobs[1]'],
    ['an interval without a timeout', (st) => st.applyDelta(d({ addedTargets: [{ ...target(C), scrapeTimeoutMs: 0 }] })), 'assignment_delta.added_targets[0].scrape_timeout_ms'],
    ['a timeout without an interval', (st) => st.applyDelta(d({ addedTargets: [{ ...target(C), scrapeIntervalMs: 0 }] })), 'assignment_delta.added_targets[0].scrape_interval_ms'],
    ['a timeout above the interval', (st) => st.applySnapshot(s({ targets: [{ ...target(A), scrapeTimeoutMs: 15_001 }] })), 'assignment_snapshot.targets[0].scrape_timeout_ms'],
    [
      'a target of an older master without __scrape_interval__',
      (st) => st.applyDelta(d({ addedTargets: [{ ...target(C), scrapeIntervalMs: 0, scrapeTimeoutMs: 0 }] })),
      'assignment_delta.added_targets[0].labels[__scrape_interval__]',
    ],
    [
      'a target of an older master with an invalid __scrape_timeout__',
      (st) => st.applyDelta(d({ addedTargets: [olderMasterTarget(C, { interval: '1m', timeout: '10x' })] })),
      'assignment_delta.added_targets[0].labels[__scrape_timeout__]',
    ],
    [
      'a snapshot keeping held targets of an unsynced job it has no settings for',
      (st) => st.applySnapshot(s({ jobs: [job('api')], unsyncedJobs: ['node'] })),
      'assignment_snapshot.unsynced_jobs',
    ],
  ])('%s', (_name, apply, field) => {
    const state = holdingWithPendingRemoval();
    const before = summary(state);
    let thrown: unknown;
    try {
      apply(state);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AssignmentProtocolError);
    expect(thrown).toMatchObject({ code: AssignmentErrorCode.protocol, field });
    expect(summary(state)).toEqual(before);
  });

  it('rejects a snapshot part of another generation and a delta while a snapshot is incomplete', () => {
    const state = holding();
    state.applySnapshot(snapshot({ generation: 2, jobs: [job('node')], targets: [target(A)], continued: true }));
    const before = summary(state);
    expect(() => state.applySnapshot(snapshot({ generation: 3, targets: [target(B)] }))).toThrow(
      expect.objectContaining({ field: 'assignment_snapshot.generation' }),
    );
    expect(() => state.applyDelta(delta({ generation: 2, baseGeneration: 1 }))).toThrow(expect.objectContaining({ field: 'assignment_delta' }));
    expect(() => state.applySnapshot(snapshot({ generation: 2, targets: [target(A)] }))).toThrow(
      expect.objectContaining({ field: 'assignment_snapshot.targets[1].id' }),
    );
    expect(summary(state)).toEqual(before);
    expect(state.applySnapshot(snapshot({ generation: 2, targets: [target(B)] }))?.added).toEqual([]);
    expect([...state.targets.keys()]).toEqual([A, B]);
  });
});

/** A target as a master that predates `scrape_interval_ms` sends it: the interval and timeout only in its labels. */
function olderMasterTarget(id: string, durations: { interval: string; timeout: string }): ReturnType<typeof target> {
  const wire = target(id);
  return {
    ...wire,
    labels: labelsToProto(new Map([['__address__', '10.0.0.9:9100'], ['__scrape_interval__', durations.interval], ['__scrape_timeout__', durations.timeout], ['job', 'node']])),
    scrapeIntervalMs: 0,
    scrapeTimeoutMs: 0,
  };
}

/** A job as the master sends it, from a real configuration, so that it decodes. */
function configuredJob(name: string, settings = ''): ScrapeJob {
  const parsed = parseConfig(`scrape_configs:\n  - job_name: ${name}\n${settings}`, { file: 'p.yml' });
  const config = parsed.ok ? parsed.config.scrapeConfigs[0] : undefined;
  if (config === undefined) throw new Error('no job');
  return scrapeJobToProto(config);
}

/** An endpoint as the master sends it, from a real configuration, so that it decodes. */
function configuredEndpoint(name: string, url: string): RemoteWriteEndpoint {
  const parsed = parseConfig(`remote_write:\n  - {name: ${name}, url: '${url}'}\n`, { file: 'p.yml' });
  const config = parsed.ok ? parsed.config.remoteWrite[0] : undefined;
  if (config === undefined) throw new Error('no endpoint');
  return remoteWriteToProto({ config, index: 0, externalLabels: new Map([['cluster', 'eu']]) });
}

function configOf(state: AssignmentState, name: string): ScrapeConfig | undefined {
  const settings = state.jobs.get(name)?.settings;
  return settings?.kind === 'usable' ? settings.config : undefined;
}

describe('AssignmentState decodes each message once, into model types', () => {
  it('gives each target the interval and timeout the master sent, without reading its labels', () => {
    const state = new AssignmentState();
    const labelled = olderMasterTarget(A, { interval: '1m', timeout: '30s' });
    state.applySnapshot(snapshot({ generation: 1, jobs: [job('node')], targets: [{ ...labelled, scrapeIntervalMs: 90_000, scrapeTimeoutMs: 5_000 }] }));
    expect(state.targets.get(A)).toMatchObject({ intervalMs: 90_000, timeoutMs: 5_000 });
  });

  it.each([
    ['1m30s', '15s', 90_000, 15_000],
    ['90000ms', '1m', 90_000, 60_000],
    ['1h', '1h', 3_600_000, 3_600_000],
  ])('parses a target of an older master once, on receipt: %s / %s', (interval, timeout, intervalMs, timeoutMs) => {
    const state = new AssignmentState();
    state.applySnapshot(snapshot({ generation: 1, jobs: [job('node')], targets: [olderMasterTarget(A, { interval, timeout })] }));
    expect(state.targets.get(A)).toMatchObject({ intervalMs, timeoutMs });
  });

  it('decodes jobs to ScrapeConfig, keeps the same object while nothing changed, and shares the settings when only the forced error did', () => {
    const state = new AssignmentState();
    state.applySnapshot(snapshot({ generation: 1, jobs: [configuredJob('node', '    scrape_interval: 20s\n')] }));
    const first = state.jobs.get('node');
    expect(configOf(state, 'node')).toMatchObject({ jobName: 'node', scrapeIntervalMs: 20_000 });

    const same = state.applyDelta(delta({ generation: 2, baseGeneration: 1, upsertedJobs: [configuredJob('node', '    scrape_interval: 20s\n')] }));
    expect(same.jobsChanged).toBe(false);
    expect(state.jobs.get('node')).toBe(first);

    const forced = state.applyDelta(
      delta({ generation: 3, baseGeneration: 2, upsertedJobs: [{ ...configuredJob('node', '    scrape_interval: 20s\n'), forcedError: 'target_limit exceeded' }] }),
    );
    expect(forced.jobsChanged).toBe(true);
    expect(state.jobs.get('node')).toMatchObject({ forcedError: 'target_limit exceeded' });
    expect(state.jobs.get('node')?.settings).toBe(first?.settings);

    const other = state.applySnapshot(snapshot({ generation: 4, jobs: [configuredJob('node', '    scrape_interval: 30s\n')] }));
    expect(other?.jobsChanged).toBe(true);
    expect(state.jobs.get('node')?.settings).not.toBe(first?.settings);
    expect(configOf(state, 'node')?.scrapeIntervalMs).toBe(30_000);
  });

  it('holds a job whose settings do not decode as rejected, with the reason, and still applies the message', () => {
    const state = new AssignmentState();
    const change = state.applySnapshot(snapshot({ generation: 1, jobs: [{ ...configuredJob('node'), scheme: 'ftp' }], targets: [target(A)] }));
    expect(change?.added.map((t) => t.id)).toEqual([A]);
    expect(state.jobs.get('node')?.settings).toEqual({ kind: 'rejected', error: expect.stringContaining('jobs[node].scheme') });
  });

  it('decodes endpoints to RemoteWriteConfig, keeps an unchanged one as the same object, and counts a new order as a change', () => {
    const state = new AssignmentState();
    state.applySnapshot(snapshot({ generation: 1, jobs: [job('node')], remoteWrite: [configuredEndpoint('a', 'http://a/w'), configuredEndpoint('b', 'http://b/w')] }));
    const [a, b] = state.remoteWrite;
    expect(a?.settings).toMatchObject({ kind: 'usable', config: { name: 'a', url: 'http://a/w' }, externalLabels: new Map([['cluster', 'eu']]) });

    const same = state.applySnapshot(snapshot({ generation: 2, jobs: [job('node')], remoteWrite: [configuredEndpoint('a', 'http://a/w'), configuredEndpoint('b', 'http://b/w')] }));
    expect(same?.remoteWriteChanged).toBe(false);
    expect(state.remoteWrite[0]).toBe(a);

    const swapped = state.applySnapshot(snapshot({ generation: 3, jobs: [job('node')], remoteWrite: [configuredEndpoint('b', 'http://b/w'), configuredEndpoint('a', 'http://a/w')] }));
    expect(swapped?.remoteWriteChanged).toBe(true);
    expect(state.remoteWrite).toEqual([b, a]);
    expect(state.remoteWrite[0]).toBe(b);
  });
});
