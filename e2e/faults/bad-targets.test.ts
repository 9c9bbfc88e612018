/**
 * Fault 7 of issue #10, on real processes: 10% of the targets are broken (one answers garbage, one hangs until the
 * scrape timeout, one answers 500) among 27 normal ones, every 2 s with a 1 s timeout. The broken ones report up=0
 * at every slot with their reason (receiver, master's target API); the rest are unaffected: one request and one
 * `up` 1 sample per slot. Needs `pnpm build` first.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import type { BrokenKind } from '../../packages/testkit/src/index.js';
import { judgeLogs, judgeReceiver, judged, judgedFigures, recordFault, rejectedWrites, sleep, slotWindow, startStaticFleet, type StaticFleet } from './harness.js';

const intervalMs = 2_000;
const timeoutMs = 1_000;

/** The reason each kind of broken target reports, as Prometheus words it. */
const reasons: Record<BrokenKind, RegExp> = {
  garbage: /^line 1: invalid value/,
  hang: /context deadline exceeded/,
  error: /^server returned HTTP status 500 Internal Server Error$/,
};

let fleet: StaticFleet | undefined;
afterAll(async () => {
  await fleet?.h.stop();
}, 90_000);

describe('broken targets (fault 7 of issue #10)', () => {
  it('7: garbage, a hang and a 500 report up=0 with a reason; the other targets are unaffected', async () => {
    const f = await startStaticFleet({ name: 'broken', farm: { targets: 27, series: 10, broken: { garbage: 1, hang: 1, error: 1 } }, workers: 2, intervalMs, timeoutMs });
    fleet = f;
    const fromMs = Date.now();
    await sleep(8 * intervalMs);

    const targets = await f.master.targets();
    const byAddress = new Map(targets.map((t) => [t.labels['instance'] ?? '', t]));
    const found = f.farm.broken.map((b) => ({ kind: b.kind, health: byAddress.get(b.address)?.health, lastError: byAddress.get(b.address)?.lastError ?? '' }));
    for (const b of found) {
      expect({ kind: b.kind, health: b.health }).toEqual({ kind: b.kind, health: 'down' });
      expect(b.lastError).toMatch(reasons[b.kind]);
    }
    for (const t of f.farm.targets) expect(byAddress.get(t.address)).toMatchObject({ health: 'up', lastError: '' });

    const normal = judged(f.farm.targets, targets, intervalMs);
    const broken = judged(f.farm.broken, targets, intervalMs);
    const window = slotWindow({ fromMs, toMs: Date.now() - intervalMs, offsets: [...normal, ...broken].map((t) => t.offsetMs), intervalMs });
    const logs = judgeLogs([...normal, ...broken], window, intervalMs);
    const receiver = await judgeReceiver({ receiverUrl: f.receiverUrl, job: f.job, targets: [...normal, ...broken], window, intervalMs });
    await recordFault({
      fault: '7-broken-targets',
      targets: normal.length + broken.length,
      intervalMs,
      ...judgedFigures({ window, logs, receiver }),
      notes: `${broken.length} broken (up=0): ${found.map((b) => `${b.kind}: "${b.lastError}"`).join('; ')}`,
    });
    // Every target, broken or not, is scraped once per slot and has an `up` sample per slot.
    expect(logs.problems).toEqual([]);
    expect(receiver.problems).toEqual([]);
    for (const t of normal) expect({ address: t.address, up: receiver.values.get(t.address) }).toEqual({ address: t.address, up: ['1'] });
    for (const t of broken) expect({ address: t.address, up: receiver.values.get(t.address) }).toEqual({ address: t.address, up: ['0'] });
    expect(await rejectedWrites(f.receiverUrl)).toBe(0);
  }, 120_000);
});
