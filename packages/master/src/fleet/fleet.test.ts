import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { buildTarget, parseConfig, type ScrapeConfig, type Target, type TargetId } from '@promfleet/model';
import {
  PROTOCOL_VERSION,
  scrapeJobToProto,
  RefusalReason,
  RelabelAction,
  RemovalReason,
  RemoteWriteEndpoint,
  ScrapeJob,
  targetIdFromBytes,
  targetIdToBytes,
  type AssignmentDelta,
  type AssignmentSnapshot,
  type Hello,
  type MasterMessage,
} from '@promfleet/protocol';
import type { JobTargets } from '../discovery/manager.js';
import type { RefusalEvent } from './admission.js';
import { Fleet, type FleetOptions, type JoinEvent, type WorkerSession } from './fleet.js';
import { JobFeed } from './fixtures.js';

const config = (() => {
  const parsed = parseConfig('scrape_configs:\n  - job_name: node\n    scrape_interval: 10s\n', { file: 't.yml' });
  if (!parsed.ok) throw new Error('config');
  return parsed.config;
})();
const job = config.scrapeConfigs[0] as ScrapeConfig;

function makeTarget(i: number): Target {
  const result = buildTarget(job, new Map([['__address__', `10.0.${Math.floor(i / 250)}.${i % 250}:9100`]]), new Map());
  if (result.kind !== 'kept') throw new Error('target');
  return result.target;
}

/** The job's feed in the current test: each update says what changed since the one before. */
let feed = new JobFeed(job);
beforeEach(() => {
  feed = new JobFeed(job);
});

function jobTargets(targets: readonly Target[], synced = true): JobTargets {
  return feed.update(targets, { synced });
}

/** A session that records what the fleet sends; `full` makes it report a full buffer. */
class FakeSession implements WorkerSession {
  readonly messages: MasterMessage[] = [];
  closedWith: string | undefined;
  full = false;
  constructor(
    readonly peer: string,
    readonly identity = 'anonymous',
  ) {}
  send(message: MasterMessage): boolean {
    this.messages.push(message);
    return !this.full;
  }
  close(reason: string): void {
    this.closedWith = reason;
  }
  kinds(): string[] {
    return this.messages.map((m) => m.kind?.$case ?? 'none');
  }
  snapshots(): AssignmentSnapshot[] {
    return this.messages.flatMap((m) => (m.kind?.$case === 'assignmentSnapshot' ? [m.kind.assignmentSnapshot] : []));
  }
  deltas(): AssignmentDelta[] {
    return this.messages.flatMap((m) => (m.kind?.$case === 'assignmentDelta' ? [m.kind.assignmentDelta] : []));
  }
  /** What the worker holds after applying every snapshot and delta received, as the protocol says. */
  held(): Map<TargetId, { firstSlot: number }> {
    const held = new Map<TargetId, { firstSlot: number }>();
    for (const m of this.messages) {
      if (m.kind?.$case === 'assignmentSnapshot') {
        held.clear();
        for (const t of m.kind.assignmentSnapshot.targets) held.set(targetIdFromBytes(t.id), { firstSlot: t.firstSlotUnixMs });
      } else if (m.kind?.$case === 'assignmentDelta') {
        for (const r of m.kind.assignmentDelta.removedTargets) held.delete(targetIdFromBytes(r.id));
        for (const t of m.kind.assignmentDelta.addedTargets) held.set(targetIdFromBytes(t.id), { firstSlot: t.firstSlotUnixMs });
      }
    }
    return held;
  }
  lastGeneration(): number {
    let g = 0;
    for (const m of this.messages) {
      if (m.kind?.$case === 'assignmentSnapshot') g = m.kind.assignmentSnapshot.generation;
      if (m.kind?.$case === 'assignmentDelta') g = m.kind.assignmentDelta.generation;
    }
    return g;
  }
}

function hello(workerId: string, extra: Partial<Hello> = {}): Hello {
  return { workerId, softwareVersion: 'test', protocolVersion: PROTOCOL_VERSION, heldGeneration: 0, heldTargets: [], previousStreamResourceExhausted: '', heldTargetsContinued: false, highestLeaderTerm: 0, ...extra };
}

const fleets: Fleet[] = [];
afterEach(() => {
  for (const f of fleets.splice(0)) f.stop();
});

function newFleet(options: Partial<FleetOptions> = {}): Fleet {
  const fleet = new Fleet({ masterId: 'm', softwareVersion: 'test', graceMs: 40, startupGraceMs: 0, startupWaitMs: 200, heartbeatIntervalMs: 1_000, ...options });
  fleet.configure({ jobs: [ScrapeJob.fromPartial({ name: 'node' })], remoteWrite: [] });
  fleets.push(fleet);
  return fleet;
}

async function until(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets setImmediate-scheduled flushes run. */
const tick = () => new Promise((r) => setImmediate(r));

function ack(fleet: Fleet, session: FakeSession): void {
  fleet.receive(session, { kind: { $case: 'ack', ack: { generation: session.lastGeneration() } } });
}

describe('Fleet membership', () => {
  it('refuses a second stream with a live worker id, a protocol mismatch and a bad id, with reasons', () => {
    const fleet = newFleet();
    const a = new FakeSession('a:1');
    expect(fleet.accept(a, hello('w1'))).toBe(true);
    const dup = new FakeSession('b:1');
    expect(fleet.accept(dup, hello('w1'))).toBe(false);
    const old = new FakeSession('c:1');
    expect(fleet.accept(old, hello('w2', { protocolVersion: 7 }))).toBe(false);
    const bad = new FakeSession('d:1');
    expect(fleet.accept(bad, hello('no spaces allowed'))).toBe(false);
    const reasons = [dup, old, bad].map((s) => (s.messages[0]?.kind?.$case === 'refusal' ? s.messages[0].kind.refusal.reason : undefined));
    expect(reasons).toEqual([RefusalReason.DUPLICATE_WORKER_ID, RefusalReason.PROTOCOL_VERSION_MISMATCH, RefusalReason.INVALID_HELLO]);
    expect(a.kinds()).toEqual(['welcome']);
  });

  it('cuts the long strings of a peer before they reach a refusal, a log or a page', () => {
    const refused: string[] = [];
    const fleet = newFleet({ observer: { refused: (event) => refused.push(event.workerId, event.message) } });
    const huge = new FakeSession('e:1');
    expect(fleet.accept(huge, hello(`bad id ${'x'.repeat(1_000_000)}`))).toBe(false);
    const refusal = huge.messages[0]?.kind?.$case === 'refusal' ? huge.messages[0].kind.refusal.message : '';
    expect([refusal.length < 2_000, ...refused.map((text) => text.length < 2_000)]).toEqual([true, true, true]);
    expect(fleet.accept(new FakeSession('f:1'), hello('w1', { softwareVersion: 'v'.repeat(1_000_000) }))).toBe(true);
    expect(fleet.workers()[0]?.softwareVersion.length).toBeLessThan(2_000);
  });

  it('gives an empty worker id a name in the Welcome', () => {
    const fleet = newFleet();
    const s = new FakeSession('a:1');
    fleet.accept(s, hello(''));
    const welcome = s.messages[0]?.kind;
    expect(welcome?.$case === 'welcome' ? welcome.welcome.workerId : '').toMatch(/^worker-[0-9a-f]{8}$/);
  });
});

describe('Fleet worker ids bound to credentials', () => {
  const refusal = (s: FakeSession) => (s.messages[0]?.kind?.$case === 'refusal' ? s.messages[0].kind.refusal : undefined);

  it('refuses another credential a live id and one within its grace period; the first credential gets it back', () => {
    const events: RefusalEvent[] = [];
    const joins: JoinEvent[] = [];
    const fleet = newFleet({ graceMs: 10_000, observer: { refused: (e) => events.push(e), joined: (e) => joins.push(e) } });
    const first = new FakeSession('10.0.0.1:5000', 'x509:CN=worker-1');
    expect(fleet.accept(first, hello('w1'))).toBe(true);
    const thief = new FakeSession('10.0.0.66:5000', 'x509:CN=worker-2');
    expect(fleet.accept(thief, hello('w1'))).toBe(false);
    fleet.closed(first);
    expect(fleet.workers()[0]?.state).toBe('disconnected');
    const again = new FakeSession('10.0.0.66:5001', 'token');
    expect(fleet.accept(again, hello('w1'))).toBe(false);
    expect([refusal(thief)?.reason, refusal(again)?.reason]).toEqual([RefusalReason.DUPLICATE_WORKER_ID, RefusalReason.DUPLICATE_WORKER_ID]);
    expect(thief.kinds()).toEqual(['refusal']);
    expect(events.map((e) => [e.reason, e.peer, e.workerId])).toEqual([
      ['worker_id_bound', '10.0.0.66:5000', 'w1'],
      ['worker_id_bound', '10.0.0.66:5001', 'w1'],
    ]);
    const back = new FakeSession('10.0.0.1:5001', 'x509:CN=worker-1');
    expect(fleet.accept(back, hello('w1'))).toBe(true);
    expect(joins).toEqual([
      { workerId: 'w1', peer: '10.0.0.1:5000', identity: 'x509:CN=worker-1', rejoined: false },
      { workerId: 'w1', peer: '10.0.0.1:5001', identity: 'x509:CN=worker-1', rejoined: true },
    ]);
  });

  it('frees the id once the member has left', async () => {
    const fleet = newFleet({ graceMs: 20 });
    const first = new FakeSession('a:1', 'x509:CN=worker-1');
    fleet.accept(first, hello('w1'));
    fleet.closed(first);
    await until(() => fleet.workers().length === 0, 'grace expiry');
    expect(fleet.accept(new FakeSession('b:1', 'x509:CN=worker-2'), hello('w1'))).toBe(true);
  });

  it('refuses a new worker beyond maxWorkers, but not a member coming back', () => {
    const events: RefusalEvent[] = [];
    const fleet = newFleet({ maxWorkers: 2, graceMs: 10_000, observer: { refused: (e) => events.push(e) } });
    const a = new FakeSession('a:1');
    expect(fleet.accept(a, hello('a'))).toBe(true);
    expect(fleet.accept(new FakeSession('b:1'), hello('b'))).toBe(true);
    const c = new FakeSession('c:1');
    expect(fleet.accept(c, hello('c'))).toBe(false);
    expect(refusal(c)).toMatchObject({ reason: RefusalReason.UNAVAILABLE, message: expect.stringContaining('--fleet.max-workers=2') as unknown as string });
    fleet.closed(a);
    expect(fleet.accept(new FakeSession('a:2'), hello('a'))).toBe(true);
    expect(events.map((e) => e.reason)).toEqual(['max_workers']);
  });
});

describe('Fleet recovery', () => {
  it('sends nothing until it settles, then each worker its share', async () => {
    const fleet = newFleet();
    fleet.start();
    const targets = Array.from({ length: 20 }, (_, i) => makeTarget(i));
    fleet.updateJobs([jobTargets(targets)]);
    const a = new FakeSession('a:1');
    const b = new FakeSession('b:1');
    fleet.accept(a, hello('a'));
    fleet.accept(b, hello('b'));
    expect(fleet.ready()).toBe(false);
    expect(a.kinds()).toEqual(['welcome']);
    await until(() => fleet.ready(), 'settle');
    await tick();
    const heldA = a.held();
    const heldB = b.held();
    expect(heldA.size + heldB.size).toBe(20);
    expect(heldA.size).toBe(10);
    for (const id of heldA.keys()) expect(heldB.has(id)).toBe(false);
  });

  it('keeps what reconnecting workers hold after a master restart: nothing moves', async () => {
    const targets = Array.from({ length: 12 }, (_, i) => makeTarget(i));
    // Worker a holds an unbalanced 9, b holds 3: a restarted master adopts that as it is.
    const heldBy = { a: targets.slice(0, 9), b: targets.slice(9) };
    const fleet = newFleet();
    fleet.start();
    const sessions = { a: new FakeSession('a:1'), b: new FakeSession('b:1') };
    for (const name of ['a', 'b'] as const) {
      fleet.accept(sessions[name], hello(name, { heldGeneration: 41, heldTargets: heldBy[name].map((t) => ({ id: targetIdToBytes(t.id), job: t.job })) }));
    }
    fleet.updateJobs([jobTargets(targets)]);
    await until(() => fleet.ready(), 'settle');
    await tick();
    for (const name of ['a', 'b'] as const) {
      const s = sessions[name];
      expect(s.snapshots()).toHaveLength(1);
      expect(s.snapshots()[0]?.generation).toBe(42);
      expect(s.deltas()).toEqual([]);
      expect([...s.held().keys()].sort()).toEqual(heldBy[name].map((t) => t.id).sort());
      // Targets it already scrapes carry no first slot: they continue without a gap.
      for (const { firstSlot } of s.held().values()) expect(firstSlot).toBe(0);
    }
  });

  it('waits for discovery to sync before settling, up to the startup wait', async () => {
    const fleet = newFleet({ graceMs: 10, startupWaitMs: 150 });
    fleet.configure({ jobs: [ScrapeJob.fromPartial({ name: 'node' })], remoteWrite: [] });
    fleet.start();
    fleet.accept(new FakeSession('a:1'), hello('a'));
    fleet.updateJobs([jobTargets([makeTarget(1)], false)]);
    await new Promise((r) => setTimeout(r, 60));
    expect(fleet.ready()).toBe(false);
    await until(() => fleet.ready(), 'settle after the startup wait');
  });

  it('with no worker to settle for, waits for the first, then gives the others a startup grace to report', async () => {
    const targets = Array.from({ length: 12 }, (_, i) => makeTarget(i));
    const heldBy = { a: targets.slice(0, 4), b: targets.slice(4) };
    const fleet = newFleet({ graceMs: 10, startupGraceMs: 60 });
    fleet.start();
    fleet.updateJobs([jobTargets(targets)]);
    // The startup grace passes with no worker: nothing to settle for.
    await new Promise((r) => setTimeout(r, 100));
    expect(fleet.recovering).toBe(true);
    const sessions = { a: new FakeSession('a:1'), b: new FakeSession('b:1') };
    fleet.accept(sessions.a, hello('a', { heldGeneration: 3, heldTargets: heldBy.a.map((t) => ({ id: targetIdToBytes(t.id), job: t.job })) }));
    await new Promise((r) => setTimeout(r, 30));
    // The first worker does not get every target: b, coming from elsewhere, still scrapes its own.
    expect(fleet.recovering).toBe(true);
    fleet.accept(sessions.b, hello('b', { heldGeneration: 7, heldTargets: heldBy.b.map((t) => ({ id: targetIdToBytes(t.id), job: t.job })) }));
    await until(() => fleet.ready(), 'settle');
    await tick();
    for (const name of ['a', 'b'] as const) expect([...sessions[name].held().keys()].sort()).toEqual(heldBy[name].map((t) => t.id).sort());
  });

  it('recovers again when its last worker leaves, so workers coming back keep what they hold', async () => {
    const targets = Array.from({ length: 10 }, (_, i) => makeTarget(i));
    const recovered: string[] = [];
    const fleet = newFleet({ graceMs: 20, startupGraceMs: 60, observer: { recovering: (cause) => recovered.push(cause) } });
    fleet.start();
    fleet.updateJobs([jobTargets(targets)]);
    const first = new FakeSession('a:1');
    fleet.accept(first, hello('a'));
    await until(() => fleet.ready(), 'the first settle');
    fleet.closed(first);
    await until(() => fleet.recovering, 'recovery after the last worker left');
    expect(recovered).toEqual(['no-workers']);
    // a and b come back from a partition, each holding half, a first.
    const heldBy = { a: targets.slice(0, 5), b: targets.slice(5) };
    const sessions = { a: new FakeSession('a:2'), b: new FakeSession('b:2') };
    fleet.accept(sessions.a, hello('a', { heldGeneration: 9, heldTargets: heldBy.a.map((t) => ({ id: targetIdToBytes(t.id), job: t.job })) }));
    await new Promise((r) => setTimeout(r, 20));
    fleet.accept(sessions.b, hello('b', { heldGeneration: 4, heldTargets: heldBy.b.map((t) => ({ id: targetIdToBytes(t.id), job: t.job })) }));
    await until(() => fleet.ready(), 'the second settle');
    await tick();
    for (const name of ['a', 'b'] as const) {
      expect([...sessions[name].held().keys()].sort()).toEqual(heldBy[name].map((t) => t.id).sort());
      expect(sessions[name].deltas()).toEqual([]);
    }
  });
});

describe('Fleet assignment', () => {
  async function settled(workers: string[], targetCount: number, options: Partial<FleetOptions> = {}) {
    const fleet = newFleet(options);
    fleet.start();
    const targets = Array.from({ length: targetCount }, (_, i) => makeTarget(i));
    fleet.updateJobs([jobTargets(targets)]);
    const sessions = new Map(workers.map((w) => [w, new FakeSession(`${w}:1`)]));
    for (const [w, s] of sessions) fleet.accept(s, hello(w));
    await until(() => fleet.ready(), 'settle');
    await tick();
    for (const s of sessions.values()) ack(fleet, s);
    return { fleet, targets, sessions };
  }

  it('hands targets over to a joining worker with adjacent last and first slots', async () => {
    const { fleet, sessions } = await settled(['a'], 10, { handoverLeadMs: 2_000 });
    const a = sessions.get('a') as FakeSession;
    const b = new FakeSession('b:1');
    const before = Date.now();
    fleet.accept(b, hello('b'));
    await tick();
    const moved = a.deltas().flatMap((d) => d.removedTargets);
    expect(moved).toHaveLength(5);
    const added = new Map(b.snapshots().flatMap((s) => s.targets).map((t) => [targetIdFromBytes(t.id), t.firstSlotUnixMs]));
    for (const r of moved) {
      expect(r.reason).toBe(RemovalReason.MOVED);
      const first = added.get(targetIdFromBytes(r.id));
      expect(first).toBe(r.lastSlotUnixMs + 10_000);
      expect(first).toBeGreaterThanOrEqual(before + 2_000);
      expect(first).toBeLessThan(Date.now() + 2_000 + 10_000);
    }
  });

  it('moves nothing when a worker comes back within its grace period, and resumes with only what changed', async () => {
    const { fleet, targets, sessions } = await settled(['a', 'b'], 10);
    const a = sessions.get('a') as FakeSession;
    const b = sessions.get('b') as FakeSession;
    const generation = a.lastGeneration();
    fleet.closed(a);
    // While a is away, one of its targets disappears from discovery.
    const gone = [...a.held().keys()][0] as TargetId;
    fleet.updateJobs([jobTargets(targets.filter((t) => t.id !== gone))]);
    const back = new FakeSession('a:2');
    fleet.accept(back, hello('a', { heldGeneration: generation, heldTargets: [...a.held().keys()].map((id) => ({ id: targetIdToBytes(id), job: 'node' })) }));
    await tick();
    expect(back.snapshots()).toEqual([]);
    expect(back.deltas()).toEqual([expect.objectContaining({ baseGeneration: generation, addedTargets: [], removedTargets: [expect.objectContaining({ reason: RemovalReason.GONE })] })]);
    expect(b.deltas()).toEqual([]);
    await new Promise((r) => setTimeout(r, 80));
    expect(fleet.workers().map((w) => [w.id, w.state, w.targets])).toEqual([
      ['a', 'connected', 4],
      ['b', 'connected', 5],
    ]);
  });

  it('moves a worker’s targets once its grace period ends', async () => {
    const { fleet, sessions } = await settled(['a', 'b'], 10);
    const a = sessions.get('a') as FakeSession;
    const b = sessions.get('b') as FakeSession;
    fleet.closed(a);
    await until(() => fleet.workers().length === 1, 'a to leave');
    await tick();
    expect(b.held().size).toBe(10);
    const t = fleet.target([...a.held().keys()][0] as TargetId);
    expect(t?.owner).toBe('b');
    expect(t?.history.at(-1)).toEqual(expect.objectContaining({ from: 'a', to: 'b', reason: 'worker-left' }));
  });

  it('drains: every target moves with a last slot, and the drained worker leaves when its stream ends', async () => {
    const { fleet, sessions } = await settled(['a', 'b'], 10);
    const a = sessions.get('a') as FakeSession;
    const b = sessions.get('b') as FakeSession;
    const fromA = [...a.held().keys()];
    fleet.receive(a, { kind: { $case: 'drainRequest', drainRequest: { deadlineUnixMs: Date.now() + 30_000, reason: 'SIGTERM' } } });
    await tick();
    expect(a.held().size).toBe(0);
    expect(a.deltas().flatMap((d) => d.removedTargets).every((r) => r.reason === RemovalReason.MOVED && r.lastSlotUnixMs > 0)).toBe(true);
    expect(b.held().size).toBe(10);
    for (const id of fromA) expect(fleet.target(id)?.history.at(-1)).toEqual(expect.objectContaining({ from: 'a', to: 'b', reason: 'drained' }));
    fleet.closed(a);
    expect(fleet.workers().map((w) => w.id)).toEqual(['b']);
  });

  it('coalesces changes for a worker that does not ack, but never holds back taking a target from it', async () => {
    const { fleet, targets, sessions } = await settled(['a'], 4, { maxUnackedGenerations: 1 });
    const a = sessions.get('a') as FakeSession;
    const extra = Array.from({ length: 6 }, (_, i) => makeTarget(100 + i));
    fleet.updateJobs([jobTargets([...targets, ...extra.slice(0, 3)])]);
    await tick();
    expect(a.deltas()).toHaveLength(1);
    // Unacknowledged: additions wait, merged; target 105 comes and goes without ever being sent.
    fleet.updateJobs([jobTargets([...targets, ...extra.slice(0, 5), extra[5] as Target])]);
    fleet.updateJobs([jobTargets([...targets, ...extra.slice(0, 5)])]);
    await tick();
    expect(a.deltas()).toHaveLength(1);
    // Taking a target away cannot wait (a successor would scrape it too): it goes out with everything pending.
    fleet.updateJobs([jobTargets([...targets, ...extra.slice(1, 5)])]);
    await tick();
    const second = a.deltas()[1];
    expect(second?.addedTargets.map((t) => targetIdFromBytes(t.id)).sort()).toEqual([extra[3], extra[4]].map((t) => t?.id).sort());
    expect(second?.removedTargets.map((r) => targetIdFromBytes(r.id))).toEqual([extra[0]?.id]);
    expect([...a.held().keys()].sort()).toEqual([...targets, ...extra.slice(1, 5)].map((t) => t.id).sort());
  });

  it('records health reports and uses reported samples as cost', async () => {
    const { fleet, sessions } = await settled(['a', 'b'], 4);
    const a = sessions.get('a') as FakeSession;
    const [first] = [...a.held().keys()];
    fleet.receive(a, {
      kind: {
        $case: 'healthReport',
        healthReport: { generation: a.lastGeneration(), targets: [{ targetId: targetIdToBytes(first as TargetId), lastScrapeUnixMs: 1_000, lastScrapeDurationSeconds: 0.5, samplesScraped: 900, samplesPostMetricRelabeling: 800, up: true, lastError: '' }], continued: false },
      },
    });
    expect(fleet.target(first as TargetId)?.health).toEqual(expect.objectContaining({ health: 'up', samplesScraped: 900 }));
    expect(fleet.workers().find((w) => w.id === 'a')?.cost).toBe(900 + 1);
  });

  it('disconnects a worker that leaves a generation unacknowledged', async () => {
    const fleet = newFleet({ ackTimeoutMs: 50, heartbeatIntervalMs: 20 });
    fleet.start();
    fleet.updateJobs([jobTargets([makeTarget(1)])]);
    const a = new FakeSession('a:1');
    fleet.accept(a, hello('a'));
    await until(() => a.closedWith !== undefined, 'the ack timeout');
    expect(a.closedWith).toMatch(/unacknowledged/);
  });

  it('removes a target that left discovery as GONE', async () => {
    const { fleet, targets, sessions } = await settled(['a'], 3);
    const a = sessions.get('a') as FakeSession;
    fleet.updateJobs([jobTargets(targets.slice(1))]);
    await tick();
    expect(a.deltas().at(-1)?.removedTargets).toEqual([{ id: targetIdToBytes((targets[0] as Target).id), reason: RemovalReason.GONE, lastSlotUnixMs: 0 }]);
    expect(fleet.target((targets[0] as Target).id)).toBeUndefined();
  });
});

describe('Fleet target_limit', () => {
  it('tells every worker that the job is over its target_limit, and that it is back under it', async () => {
    const parsed = parseConfig('scrape_configs:\n  - job_name: node\n    target_limit: 2\n', { file: 'l.yml' });
    if (!parsed.ok) throw new Error('config');
    const limited = parsed.config.scrapeConfigs[0] as ScrapeConfig;
    const limitedFeed = new JobFeed(limited);
    const fleet = newFleet();
    fleet.configure({ jobs: [scrapeJobToProto(limited)], remoteWrite: [] });
    fleet.start();
    const targets = [1, 2, 3].map(makeTarget);
    fleet.updateJobs([limitedFeed.update(targets)]);
    const a = new FakeSession('a:1');
    fleet.accept(a, hello('a'));
    await until(() => fleet.ready(), 'settle');
    await tick();
    expect(a.snapshots()[0]?.jobs.map((j) => j.forcedError)).toEqual(['target_limit exceeded (number of targets: 3, limit: 2)']);
    // The targets stay assigned: they resume where they are once the job is under its limit.
    expect(a.held().size).toBe(3);
    ack(fleet, a);
    fleet.updateJobs([limitedFeed.update(targets.slice(0, 2))]);
    await tick();
    const delta = a.deltas().at(-1);
    expect(delta?.upsertedJobs.map((j) => [j.name, j.forcedError])).toEqual([['node', '']]);
    expect(delta?.removedTargets).toHaveLength(1);
  });
});

describe('Fleet fencing by leader term', () => {
  const refusal = (s: FakeSession) => (s.messages[0]?.kind?.$case === 'refusal' ? s.messages[0].kind.refusal : undefined);

  it('welcomes a worker that has seen this term or a lower one', () => {
    const fleet = newFleet({ leaderTerm: 5 });
    const same = new FakeSession('a:1');
    const older = new FakeSession('b:1');
    expect(fleet.accept(same, hello('a', { highestLeaderTerm: 5 }))).toBe(true);
    expect(fleet.accept(older, hello('b', { highestLeaderTerm: 4 }))).toBe(true);
    const welcome = same.messages[0]?.kind;
    expect(welcome?.$case === 'welcome' ? welcome.welcome.leaderTerm : 0).toBe(5);
  });

  it('refuses a worker that has seen a higher term as NOT_LEADER, reports it deposed once, and refuses everyone after', async () => {
    const deposed: { workerId: string; term: number }[] = [];
    const refused: RefusalEvent[] = [];
    const fleet = newFleet({ leaderTerm: 3, observer: { deposed: (e) => deposed.push(e), refused: (e) => refused.push(e) } });
    fleet.start();
    fleet.updateJobs([jobTargets([makeTarget(1), makeTarget(2)])]);
    const member = new FakeSession('a:1');
    expect(fleet.accept(member, hello('a', { highestLeaderTerm: 3 }))).toBe(true);
    await until(() => fleet.ready(), 'settle');
    await tick();
    const sentBefore = member.messages.length;
    const newer = new FakeSession('b:1');
    expect(fleet.accept(newer, hello('b', { highestLeaderTerm: 4 }))).toBe(false);
    expect(refusal(newer)).toMatchObject({ reason: RefusalReason.NOT_LEADER, message: expect.stringMatching(/term 3.*term 4/) as unknown as string });
    expect(deposed).toEqual([{ workerId: 'b', term: 4 }]);
    // A worker that has seen no newer term is refused too: this master no longer leads.
    const fresh = new FakeSession('c:1');
    expect(fleet.accept(fresh, hello('c', { highestLeaderTerm: 0 }))).toBe(false);
    expect(refusal(fresh)?.reason).toBe(RefusalReason.NOT_LEADER);
    expect(deposed).toHaveLength(1);
    expect(refused.map((e) => e.reason)).toEqual(['not_leader', 'not_leader']);
    expect(fleet.ready()).toBe(false);
    // Nor does it assign anything more to the workers it still has.
    fleet.updateJobs([jobTargets([makeTarget(1), makeTarget(2), makeTarget(3)])]);
    await tick();
    expect(member.messages.length).toBe(sentBefore);
  });

  it('carries its term in every snapshot and delta', async () => {
    const fleet = newFleet({ leaderTerm: 7 });
    fleet.start();
    const targets = [1, 2, 3].map(makeTarget);
    fleet.updateJobs([jobTargets(targets.slice(0, 2))]);
    const a = new FakeSession('a:1');
    fleet.accept(a, hello('a'));
    await until(() => fleet.ready(), 'settle');
    await tick();
    fleet.updateJobs([jobTargets(targets)]);
    await tick();
    expect([...a.snapshots(), ...a.deltas()].map((m) => m.leaderTerm)).toEqual([7, 7]);
  });
});

/** What the fleet removed from a worker, by target: the reason and last slot of the newest removal. */
function removals(session: FakeSession): Map<TargetId, { reason: RemovalReason; lastSlot: number }> {
  const out = new Map<TargetId, { reason: RemovalReason; lastSlot: number }>();
  for (const d of session.deltas()) for (const r of d.removedTargets) out.set(targetIdFromBytes(r.id), { reason: r.reason, lastSlot: r.lastSlotUnixMs });
  return out;
}

/** The held targets of a Hello. */
function holding(targets: readonly Target[]): Pick<Hello, 'heldGeneration' | 'heldTargets'> {
  return { heldGeneration: 9, heldTargets: targets.map((t) => ({ id: targetIdToBytes(t.id), job: t.job })) };
}

describe('Fleet settle: every target that changes holder is handed over', () => {
  it('hands a held target to a worker that holds nothing at settle with a last slot and a first slot, not at once', async () => {
    const targets = Array.from({ length: 20 }, (_, i) => makeTarget(i));
    const fleet = newFleet({ handoverLeadMs: 2_000 });
    fleet.start();
    fleet.updateJobs([jobTargets(targets)]);
    const a = new FakeSession('a:1');
    const b = new FakeSession('b:1');
    const c = new FakeSession('c:1');
    fleet.accept(a, hello('a', holding(targets.slice(0, 10))));
    fleet.accept(b, hello('b', holding(targets.slice(10))));
    fleet.accept(c, hello('c'));
    const before = Date.now();
    await until(() => fleet.ready(), 'settle');
    await tick();
    const toC = c.snapshots().flatMap((s) => s.targets);
    expect(toC.length).toBeGreaterThan(0);
    for (const t of toC) {
      const id = targetIdFromBytes(t.id);
      const holder = targets.slice(0, 10).some((x) => x.id === id) ? a : b;
      // c owns the target from a slot far enough ahead for both to have it; its holder scrapes it up to the slot before.
      expect(t.firstSlotUnixMs).toBeGreaterThanOrEqual(before + 2_000);
      expect(removals(holder).get(id)).toEqual({ reason: RemovalReason.MOVED, lastSlot: t.firstSlotUnixMs - 10_000 });
      expect(fleet.target(id)?.history.at(-1)).toEqual(expect.objectContaining({ from: holder === a ? 'a' : 'b', to: 'c' }));
    }
    expect(a.held().size + b.held().size + c.held().size).toBe(20);
  });

  it('gives one owner per slot when a worker that missed the settle comes back holding targets given to another', async () => {
    const targets = Array.from({ length: 20 }, (_, i) => makeTarget(i));
    const heldByB = targets.slice(10);
    const fleet = newFleet({ handoverLeadMs: 2_000 });
    fleet.start();
    fleet.updateJobs([jobTargets(targets)]);
    const a = new FakeSession('a:1');
    fleet.accept(a, hello('a', holding(targets.slice(0, 10))));
    await until(() => fleet.ready(), 'settle');
    await tick();
    ack(fleet, a);
    // b reconnected late: a was given b's targets at settle. b comes back still scraping them.
    expect(a.held().size).toBe(20);
    const b = new FakeSession('b:1');
    const before = Date.now();
    fleet.accept(b, hello('b', holding(heldByB)));
    await tick();
    const fromA = removals(a);
    const fromB = removals(b);
    const toB = new Map(b.snapshots().flatMap((s) => s.targets).map((t) => [targetIdFromBytes(t.id), t.firstSlotUnixMs]));
    for (const t of targets) {
      const heldByBNow = heldByB.includes(t);
      const bKeeps = b.held().has(t.id);
      if (heldByBNow && bKeeps) {
        // b scrapes it already and keeps it as it runs: a stops now instead of through a last slot ahead.
        expect(toB.get(t.id)).toBe(0);
        expect(fromA.get(t.id)).toEqual({ reason: RemovalReason.MOVED, lastSlot: 0 });
      } else if (heldByBNow) {
        expect(fromB.get(t.id)).toEqual({ reason: RemovalReason.MOVED, lastSlot: 0 });
        expect(a.held().has(t.id)).toBe(true);
      } else if (bKeeps) {
        const first = toB.get(t.id) ?? 0;
        expect(first).toBeGreaterThanOrEqual(before + 2_000);
        expect(fromA.get(t.id)).toEqual({ reason: RemovalReason.MOVED, lastSlot: first - 10_000 });
      } else {
        expect(fromA.has(t.id)).toBe(false);
      }
    }
    expect(b.held().size).toBe(10);
  });
});

describe('Fleet static stability: held targets of jobs not synced yet stay with their holders', () => {
  const twoJobs = (() => {
    const parsed = parseConfig('scrape_configs:\n  - job_name: node\n    scrape_interval: 10s\n  - job_name: other\n    scrape_interval: 10s\n', { file: 't2.yml' });
    if (!parsed.ok) throw new Error('config');
    return parsed.config.scrapeConfigs;
  })();
  const other = twoJobs[1] as ScrapeConfig;
  function makeOther(i: number): Target {
    const result = buildTarget(other, new Map([['__address__', `10.9.0.${i}:9100`]]), new Map());
    if (result.kind !== 'kept') throw new Error('target');
    return result.target;
  }
  /** A fleet of the jobs `node` and `other` that settles after a 100 ms startup wait whatever discovery does. */
  function restartedFleet(options: Partial<FleetOptions> = {}): Fleet {
    const fleet = newFleet({ graceMs: 10, startupWaitMs: 100, handoverLeadMs: 2_000, ...options });
    fleet.configure({ jobs: [ScrapeJob.fromPartial({ name: 'node' }), ScrapeJob.fromPartial({ name: 'other' })], remoteWrite: [] });
    fleet.start();
    return fleet;
  }
  const snapshotTargets = (s: FakeSession) => s.snapshots().flatMap((p) => p.targets.map((t) => targetIdFromBytes(t.id)));
  const added = (s: FakeSession) => new Map(s.deltas().flatMap((d) => d.addedTargets).map((t) => [targetIdFromBytes(t.id), t.firstSlotUnixMs]));

  it('keeps held targets of an unsynced job out of the snapshot without removing them, then settles each once the job syncs', async () => {
    const node = Array.from({ length: 10 }, (_, i) => makeTarget(i));
    const fleet = restartedFleet();
    const otherFeed = new JobFeed(other);
    fleet.updateJobs([otherFeed.update([])]);
    const a = new FakeSession('a:1');
    const b = new FakeSession('b:1');
    fleet.accept(a, hello('a', holding(node.slice(0, 5))));
    fleet.accept(b, hello('b'));
    await until(() => fleet.ready(), 'settle after the startup wait');
    await tick();
    expect(a.snapshots().map((p) => p.unsyncedJobs)).toEqual([['node']]);
    expect(snapshotTargets(a)).toEqual([]);
    expect(a.deltas()).toEqual([]);
    // The kept targets count as a's load.
    expect(fleet.workers().map((w) => [w.id, w.targets])).toEqual([
      ['a', 5],
      ['b', 0],
    ]);
    ack(fleet, a);
    ack(fleet, b);
    // node syncs: 0–2 of a's are still there, 3 and 4 are gone, 5–9 are new.
    const before = Date.now();
    fleet.updateJobs([jobTargets([...node.slice(0, 3), ...node.slice(5)])]);
    await tick();
    const fromA = removals(a);
    expect([3, 4].map((i) => fromA.get((node[i] as Target).id))).toEqual([
      { reason: RemovalReason.GONE, lastSlot: 0 },
      { reason: RemovalReason.GONE, lastSlot: 0 },
    ]);
    const toA = added(a);
    const toB = added(b);
    for (const t of node.slice(0, 3)) {
      if (toA.has(t.id)) {
        // Still a's: added, and a keeps it running as it is.
        expect(toA.get(t.id)).toBe(0);
        expect(fromA.has(t.id)).toBe(false);
      } else {
        const first = toB.get(t.id) ?? 0;
        expect(first).toBeGreaterThanOrEqual(before + 2_000);
        expect(fromA.get(t.id)).toEqual({ reason: RemovalReason.MOVED, lastSlot: first - 10_000 });
      }
    }
    expect(toA.size + toB.size).toBe(8);
    expect([...fleet.workers()].reduce((sum, w) => sum + w.targets, 0)).toBe(8);
  });

  it('counts kept targets as their holder’s load when placing the targets of synced jobs', async () => {
    const fleet = restartedFleet();
    const others = Array.from({ length: 6 }, (_, i) => makeOther(i));
    fleet.updateJobs([new JobFeed(other).update(others)]);
    const a = new FakeSession('a:1');
    const b = new FakeSession('b:1');
    fleet.accept(a, hello('a', holding(Array.from({ length: 6 }, (_, i) => makeTarget(i)))));
    fleet.accept(b, hello('b'));
    await until(() => fleet.ready(), 'settle');
    await tick();
    expect(snapshotTargets(a)).toEqual([]);
    expect(snapshotTargets(b).sort()).toEqual(others.map((t) => t.id).sort());
  });

  it('keeps the held targets of a worker that joins while the job is still not synced', async () => {
    const fleet = restartedFleet();
    fleet.updateJobs([new JobFeed(other).update([makeOther(1)])]);
    const a = new FakeSession('a:1');
    fleet.accept(a, hello('a'));
    await until(() => fleet.ready(), 'settle');
    await tick();
    const node = Array.from({ length: 4 }, (_, i) => makeTarget(i));
    const c = new FakeSession('c:1');
    fleet.accept(c, hello('c', holding(node)));
    await tick();
    expect(c.snapshots().map((p) => p.unsyncedJobs)).toEqual([['node']]);
    expect(snapshotTargets(c)).toEqual([]);
    expect(c.deltas()).toEqual([]);
    expect(fleet.workers().find((w) => w.id === 'c')?.targets).toBe(4);
    // Discovery reports two of them before node has synced: they are settled at once, the rest stay kept.
    ack(fleet, c);
    fleet.updateJobs([jobTargets(node.slice(0, 2), false)]);
    await tick();
    const settled = new Set([...added(c).keys(), ...removals(c).keys()]);
    expect([...settled].sort()).toEqual(node.slice(0, 2).map((t) => t.id).sort());
    expect([...removals(c).values()].every((r) => r.reason === RemovalReason.MOVED && r.lastSlot > 0)).toBe(true);
    // A worker that leaves takes its kept targets with it.
    fleet.closed(c);
    await until(() => fleet.workers().every((w) => w.id !== 'c'), 'c to leave');
    expect(fleet.workers().map((w) => [w.id, w.targets])).toEqual([['a', 3]]);
  });
});

describe('Fleet.configure while running (a config reload)', () => {
  const extraJob = (() => {
    const parsed = parseConfig('scrape_configs:\n  - job_name: extra\n    scrape_interval: 10s\n', { file: 'e.yml' });
    if (!parsed.ok) throw new Error('config');
    return parsed.config.scrapeConfigs[0] as ScrapeConfig;
  })();
  const extraTarget = (i: number): Target => {
    const result = buildTarget(extraJob, new Map([['__address__', `10.9.0.${i}:9100`]]), new Map());
    if (result.kind !== 'kept') throw new Error('target');
    return result.target;
  };

  it('upserts new and changed jobs, removes a removed job after its targets (GONE), replaces remote_write, and moves nothing else', async () => {
    const fleet = newFleet();
    const node = ScrapeJob.fromPartial({ name: 'node' });
    const extra = ScrapeJob.fromPartial({ name: 'extra' });
    fleet.configure({ jobs: [node, extra], remoteWrite: [] });
    fleet.start();
    const targets = [0, 1, 2, 3].map(makeTarget);
    const extras = [1, 2, 3, 4].map(extraTarget);
    const extraFeed = new JobFeed(extraJob);
    fleet.updateJobs([jobTargets(targets), extraFeed.update(extras)]);
    const sessions = ['a', 'b'].map((w) => new FakeSession(`${w}:1`));
    sessions.forEach((s, i) => fleet.accept(s, hello(i === 0 ? 'a' : 'b')));
    await until(() => fleet.ready(), 'settle');
    await tick();
    for (const s of sessions) ack(fleet, s);
    const heldBefore = sessions.map((s) => [...s.held().keys()].sort());
    const counts = sessions.map((s) => s.deltas().length);

    fleet.configure({
      jobs: [ScrapeJob.fromPartial({ name: 'node', scrapeTimeoutMs: 5_000 }), ScrapeJob.fromPartial({ name: 'fresh' })],
      remoteWrite: [RemoteWriteEndpoint.fromPartial({ name: 'rw', url: 'http://receiver/api/v1/write' })],
    });
    await tick();
    const extraIds = new Set(extras.map((t) => t.id));
    sessions.forEach((s, i) => {
      const deltas = s.deltas().slice(counts[i]);
      expect(deltas).toHaveLength(1);
      const delta = deltas[0] as AssignmentDelta;
      expect(delta.upsertedJobs.map((j) => j.name)).toEqual(['node', 'fresh']);
      expect(delta.removedJobs).toEqual(['extra']);
      expect(delta.remoteWrite?.endpoints.map((e) => e.name)).toEqual(['rw']);
      expect(delta.addedTargets).toEqual([]);
      expect(delta.removedTargets.every((r) => r.reason === RemovalReason.GONE && extraIds.has(targetIdFromBytes(r.id)))).toBe(true);
      // Every node target stays where it was; no extra target is left.
      expect([...s.held().keys()].sort()).toEqual((heldBefore[i] ?? []).filter((id) => !extraIds.has(id)));
      ack(fleet, s);
    });
    expect(sessions.flatMap((s) => s.deltas().at(-1)?.removedTargets ?? [])).toHaveLength(extras.length);

    // Discovery's own word on the removed job, and the same settings again, change nothing.
    fleet.updateJobs([extraFeed.update([])]);
    fleet.configure({
      jobs: [ScrapeJob.fromPartial({ name: 'node', scrapeTimeoutMs: 5_000 }), ScrapeJob.fromPartial({ name: 'fresh' })],
      remoteWrite: [RemoteWriteEndpoint.fromPartial({ name: 'rw', url: 'http://receiver/api/v1/write' })],
    });
    await tick();
    sessions.forEach((s, i) => expect(s.deltas().slice(counts[i])).toHaveLength(1));
    expect([...fleet.targets('extra')]).toHaveLength(0);
  });

  it('takes a running job out, targets first, when a reload makes it too large to send, as at start', async () => {
    const rejected: string[] = [];
    const fleet = newFleet({ observer: { settingRejected: (kind, name) => rejected.push(`${kind}:${name}`) } });
    fleet.configure({ jobs: [ScrapeJob.fromPartial({ name: 'node' }), ScrapeJob.fromPartial({ name: 'extra' })], remoteWrite: [] });
    fleet.start();
    const extraFeed = new JobFeed(extraJob);
    const extras = [1, 2].map(extraTarget);
    fleet.updateJobs([jobTargets([0, 1].map(makeTarget)), extraFeed.update(extras)]);
    const a = new FakeSession('a:1');
    fleet.accept(a, hello('a'));
    await until(() => fleet.ready(), 'settle');
    await tick();
    ack(fleet, a);
    const rules = Array.from({ length: 60_000 }, (_, r) => ({ sourceLabels: ['__name__'], separator: ';', regex: `metric_${r}_.*`, replacement: '$1', action: RelabelAction.DROP }));
    fleet.configure({ jobs: [ScrapeJob.fromPartial({ name: 'node' }), ScrapeJob.fromPartial({ name: 'extra', metricRelabelConfigs: rules })], remoteWrite: [] });
    await tick();
    expect(rejected).toEqual(['job:extra']);
    const delta = a.deltas().at(-1);
    expect(delta?.upsertedJobs).toEqual([]);
    expect(delta?.removedJobs).toEqual(['extra']);
    expect(delta?.removedTargets.map((r) => [targetIdFromBytes(r.id), r.reason])).toEqual(extras.map((t) => [t.id, RemovalReason.GONE]));
    expect([...a.held().keys()].sort()).toEqual([0, 1].map((i) => makeTarget(i).id).sort());
  });
});
