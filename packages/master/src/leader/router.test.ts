import { describe, expect, it } from '@jest/globals';
import { PROTOCOL_VERSION, RefusalReason, type Hello, type MasterMessage } from '@promfleet/protocol';
import type { RefusalEvent } from '../fleet/admission.js';
import { Fleet, type WorkerSession } from '../fleet/fleet.js';
import { FleetRouter } from './router.js';

function hello(workerId: string): Hello {
  return { workerId, softwareVersion: 'test', protocolVersion: PROTOCOL_VERSION, heldGeneration: 0, heldTargets: [], previousStreamResourceExhausted: '', heldTargetsContinued: false, highestLeaderTerm: 0 };
}

/** A session that records what it was sent and whether it was closed; closing tells the router, as the transport does. */
function session(router: FleetRouter, peer: string): WorkerSession & { sent: MasterMessage[]; closedWith: string | undefined } {
  const s = {
    peer,
    identity: 'anonymous',
    sent: [] as MasterMessage[],
    closedWith: undefined as string | undefined,
    send: (message: MasterMessage) => (s.sent.push(message), true),
    close: (reason: string) => {
      s.closedWith = reason;
      router.closed(s);
    },
  };
  return s;
}

function router(refusals: RefusalEvent[] = []): FleetRouter {
  return new FleetRouter({ masterId: 'master-b', heartbeatIntervalMs: 5_000, maxWorkers: 10, retryAfterMs: 2_000, observer: { refused: (e) => refusals.push(e) } });
}

describe('FleetRouter', () => {
  it.each([
    [{}, 'master master-b stands by and no other master leads yet; retry (through the Service) shortly'],
    [{ holder: 'master-a', term: 7 }, 'master master-b stands by: master-a leads in term 7; retry through the Service'],
  ])('refuses every worker as NOT_LEADER while standing by (leader %j)', (leader, message) => {
    const refusals: RefusalEvent[] = [];
    const r = router(refusals);
    r.leaderChanged(leader);
    const s = session(r, '10.0.0.1:5000');
    expect(r.accept(s, hello('w1'))).toBe(false);
    expect(s.sent.map((m) => m.kind)).toEqual([{ $case: 'refusal', refusal: expect.objectContaining({ reason: RefusalReason.NOT_LEADER, message, retryAfterMs: 2_000 }) as unknown }]);
    expect(refusals).toEqual([{ reason: 'not_leader', peer: '10.0.0.1:5000', workerId: 'w1', message }]);
  });

  it("hands streams to the leading fleet, and closes every one of them when leadership ends; they stay the old fleet's", () => {
    const r = router();
    const fleet = new Fleet({ masterId: 'master-b', softwareVersion: 'test', leaderTerm: 3 });
    r.lead(fleet);
    const [one, two] = [session(r, '10.0.0.1:1'), session(r, '10.0.0.2:2')];
    expect(r.accept(one, hello('w1'))).toBe(true);
    expect(r.accept(two, hello('w2'))).toBe(true);
    expect(one.sent[0]?.kind).toMatchObject({ $case: 'welcome', welcome: { leaderTerm: 3 } });
    expect(fleet.streams()).toBe(2);
    r.standBy({ holder: 'master-a', term: 4 });
    expect([one.closedWith, two.closedWith]).toEqual(['this master stopped leading', 'this master stopped leading']);
    expect(fleet.streams()).toBe(0);
    expect(r.fleet).toBeUndefined();
    const late = session(r, '10.0.0.3:3');
    expect(r.accept(late, hello('w3'))).toBe(false);
    fleet.stop();
  });
});
