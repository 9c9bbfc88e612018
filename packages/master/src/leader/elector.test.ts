import { describe, expect, it } from '@jest/globals';
import { LeaderElectionConfigError, LeaderElector, microTime, type LeadershipLoss, type LeaseAttempt, type LeaderView } from './elector.js';
import { FakeClock, FakeLeaseServer } from './fixtures.js';
import type { LeaseClient } from './lease.js';

/** One candidate under test: its elector, what it reported, and how to stop it. */
interface Candidate {
  readonly elector: LeaderElector;
  readonly started: number[];
  readonly stopped: LeadershipLoss[];
  readonly attempts: LeaseAttempt[];
  readonly leaders: LeaderView[];
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

function candidate(server: FakeLeaseServer, clock: FakeClock, identity: string, random = () => 0.5): Candidate {
  const elector = new LeaderElector({ client: server.client(identity), identity, clock, random });
  const c = { elector, started: [] as number[], stopped: [] as LeadershipLoss[], attempts: [] as LeaseAttempt[], leaders: [] as LeaderView[], controller: new AbortController() };
  const done = elector.run(c.controller.signal, {
    started: (term) => c.started.push(term),
    stopped: (reason) => c.stopped.push(reason),
    attempted: (outcome) => c.attempts.push(outcome),
    leaderChanged: (view) => c.leaders.push(view),
  });
  return { ...c, done };
}

describe('LeaderElector', () => {
  it('creates a missing Lease and leads in term 1, then renews every retry period with one update', async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer();
    const a = candidate(server, clock, 'a');
    await clock.advance(0);
    expect(a.started).toEqual([1]);
    expect(a.elector.leading).toBe(true);
    expect(server.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0, renewTime: microTime(clock.unixNowMs()) });
    expect(server.requests.map((r) => r.verb)).toEqual(['get', 'create']);
    server.requests.length = 0;
    await clock.advance(60_000);
    // The fast path: a leader updates what it last wrote, without reading first.
    expect(server.requests.map((r) => r.verb)).toEqual(Array.from({ length: 30 }, () => 'update'));
    expect(server.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseTransitions: 0, renewTime: microTime(clock.unixNowMs()) });
    expect(a.stopped).toEqual([]);
    a.controller.abort();
    await clock.advance(0);
    await a.done;
  });

  it('stands by while the holder renews, reading the Lease once per jittered retry period', async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer();
    const a = candidate(server, clock, 'a');
    await clock.advance(0);
    // random() = 0.5: each retry waits 2 s · (1 + 1.2 · 0.5) = 3.2 s.
    const b = candidate(server, clock, 'b');
    await clock.advance(64_000);
    expect(b.started).toEqual([]);
    expect(b.elector.leader()).toEqual({ holder: 'a', term: 1 });
    expect(server.requests.filter((r) => r.client === 'b').map((r) => r.verb)).toEqual(Array.from({ length: 21 }, () => 'get'));
    expect(b.attempts.every((o) => o === 'held-by-other')).toBe(true);
    for (const c of [a, b]) c.controller.abort();
    await clock.advance(0);
  });

  it('takes over a Lease left unchanged for a lease duration on its own clock, with the next term', async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer();
    // A holder that crashed: its record never changes again. Its renewTime is far in the past, which does not matter.
    server.write({ holderIdentity: 'crashed', leaseDurationSeconds: 15, leaseTransitions: 4, renewTime: microTime(0), acquireTime: microTime(0) });
    const b = candidate(server, clock, 'b', () => 0);
    await clock.advance(14_000);
    expect(b.started).toEqual([]);
    await clock.advance(2_000);
    expect(b.started).toEqual([6]);
    expect(clock.now()).toBeGreaterThanOrEqual(15_000);
    expect(server.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 5 });
    b.controller.abort();
    await clock.advance(0);
  });

  it('re-reads after a conflict and keeps leading when the Lease is still its own', async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer();
    const a = candidate(server, clock, 'a');
    await clock.advance(0);
    // Someone touched the Lease (a new resourceVersion, same holder): the optimistic update conflicts.
    const current = server.lease;
    if (current === undefined) throw new Error('no lease');
    server.write(current.spec);
    server.requests.length = 0;
    await clock.advance(2_000);
    expect(server.requests.map((r) => r.verb)).toEqual(['update', 'get', 'update']);
    expect(a.attempts.slice(-2)).toEqual(['conflict', 'renewed']);
    expect(a.elector.leading).toBe(true);
    expect(a.started).toEqual([1]);
    a.controller.abort();
    await clock.advance(0);
  });

  it.each([
    ['answers errors', (server: FakeLeaseServer) => (server.down = true)],
    ['never answers', (server: FakeLeaseServer) => (server.hanging = 'a')],
  ])('steps down at the renew deadline when the API server %s, and takes the Lease back later with a new term', async (_name, fail) => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer();
    const a = candidate(server, clock, 'a', () => 0);
    await clock.advance(0);
    fail(server);
    await clock.advance(9_999);
    expect(a.elector.leading).toBe(true);
    await clock.advance(1);
    expect(a.stopped).toEqual(['renew-deadline']);
    expect(a.elector.leading).toBe(false);
    server.down = false;
    server.hanging = undefined;
    await clock.advance(4_000);
    // The Lease still names a, but this process had stopped leading: a new stint, a new term.
    expect(a.started).toEqual([1, 2]);
    a.controller.abort();
    await clock.advance(0);
  });

  it('steps down at once when the Lease names another holder', async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer();
    const a = candidate(server, clock, 'a');
    await clock.advance(0);
    server.write({ holderIdentity: 'c', leaseDurationSeconds: 15, leaseTransitions: 1 });
    await clock.advance(2_000);
    expect(a.stopped).toEqual(['lease-taken']);
    expect(a.elector.leader()).toEqual({ holder: 'c', term: 2 });
    expect(a.leaders).toContainEqual({ holder: 'c', term: 2 });
    a.controller.abort();
    await clock.advance(0);
  });

  it('when deposed, stops leading and never leads again in a term below the one that deposed it', async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer();
    const a = candidate(server, clock, 'a', () => 0);
    await clock.advance(0);
    // c was elected (term 2) while a did not notice; a worker tells a so.
    server.write({ holderIdentity: 'c', leaseDurationSeconds: 15, leaseTransitions: 1 });
    a.elector.stepDown('deposed');
    expect(a.stopped).toEqual(['deposed']);
    expect(a.elector.term).toBe(0);
    await clock.advance(10_000);
    expect(a.started).toEqual([1]);
    // c never renews: after a lease duration a takes over, in term 3.
    await clock.advance(8_000);
    expect(a.started).toEqual([1, 3]);
    a.controller.abort();
    await clock.advance(0);
  });

  it('deposed by a term its own Lease cannot reach, never leads on that Lease until the Lease passes the term', async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer();
    const a = candidate(server, clock, 'a', () => 0);
    await clock.advance(0);
    // A worker shows term 4, won on a Lease this candidate does not see (another API server, another Lease name).
    a.elector.stepDown('deposed', 4);
    await clock.advance(20_000);
    // Its own Lease would give it term 2, 3, 4, …: each at or below 4, each refused without a write.
    expect(a.started).toEqual([1]);
    expect(a.attempts).toContain('fenced');
    expect(server.lease?.spec.leaseTransitions).toBe(0);
    // The Lease moves past the term (others took it meanwhile): leading on it is safe again, in term 6.
    server.write({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 4 });
    await clock.advance(4_000);
    expect(a.started).toEqual([1, 6]);
    a.controller.abort();
    await clock.advance(0);
  });

  it('after the fence hold, takes a Lease below the fence with its term raised past it, so no fence lasts for ever', async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer();
    const a = candidate(server, clock, 'a', () => 0);
    await clock.advance(0);
    // The Lease was deleted and created again while workers knew term 4: every candidate is fenced at first.
    a.elector.stepDown('deposed', 4);
    await clock.advance(74_000);
    expect(a.started).toEqual([1]);
    await clock.advance(4_000);
    expect(a.attempts).toContain('fenced-jump');
    expect(a.started).toEqual([1, 5]);
    expect(server.lease?.spec.leaseTransitions).toBe(4);
    a.controller.abort();
    await clock.advance(0);
  });

  it('creates a deleted Lease again at its own term while it leads, so terms never go back', async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer();
    server.write({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 6 });
    const a = candidate(server, clock, 'a');
    await clock.advance(0);
    expect(a.started).toEqual([8]);
    server.delete();
    await clock.advance(2_000);
    expect(a.stopped).toEqual([]);
    expect(server.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseTransitions: 7 });
    a.controller.abort();
    await clock.advance(0);
  });

  it('releases the Lease on a graceful stop, so a standby takes over at its next try', async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer();
    const a = candidate(server, clock, 'a');
    await clock.advance(0);
    const b = candidate(server, clock, 'b', () => 0);
    await clock.advance(5_000);
    a.controller.abort();
    await clock.advance(0);
    await a.done;
    expect(a.stopped).toEqual(['stopping']);
    expect(server.lease?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });
    const releasedAt = clock.now();
    await clock.advance(2_000);
    expect(b.started).toEqual([2]);
    expect(clock.now() - releasedAt).toBeLessThanOrEqual(2_000);
    b.controller.abort();
    await clock.advance(0);
    await b.done;
  });

  it.each([
    [{ leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }, 'the renew deadline (10000 ms) must be below the lease duration (10000 ms)'],
    [{ renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }, 'the retry period (2000 ms) must be above 0 and below the renew deadline (2000 ms)'],
  ])('refuses timings %j', (timings, message) => {
    const server = new FakeLeaseServer();
    expect(() => new LeaderElector({ client: server.client('a'), identity: 'a', ...timings })).toThrow(new LeaderElectionConfigError(message));
  });

  it('never leads when its acquiring write completes as it stops, and releases the Lease it wrote', async () => {
    const clock = new FakeClock();
    const server = new FakeLeaseServer();
    const inner = server.client('a');
    let answer: () => void = () => undefined;
    // The create reaches the server, but its answer arrives only after the stop (the abort comes too late for it).
    const slow: LeaseClient = {
      get: (signal) => inner.get(signal),
      update: (lease, signal) => inner.update(lease, signal),
      create: async (spec, signal) => {
        const created = await inner.create(spec, signal);
        await new Promise<void>((resolve) => (answer = resolve));
        return created;
      },
    };
    const elector = new LeaderElector({ client: slow, identity: 'a', clock });
    const started: number[] = [];
    const stopped: LeadershipLoss[] = [];
    const controller = new AbortController();
    const done = elector.run(controller.signal, { started: (term) => started.push(term), stopped: (reason) => stopped.push(reason) });
    await clock.advance(0);
    controller.abort();
    answer();
    await clock.advance(0);
    await done;
    expect([started, stopped, elector.leading]).toEqual([[], [], false]);
    expect(server.lease?.spec.holderIdentity).toBe('');
  });
});
