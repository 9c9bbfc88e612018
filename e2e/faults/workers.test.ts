/**
 * Faults 1–3 of issue #10, on real processes: workers scaled 2→5→2, a worker stopped with SIGTERM, and a worker
 * killed with SIGKILL, while 24 targets are scraped every 2 s; and the master killed with SIGKILL and started again
 * 15 s later, the restart that once made workers scrape slots twice. Judged from the targets' own request logs (one
 * request per slot) and from the receiver (one `up` sample per slot). Needs `pnpm build` first.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { judgeLogs, judgeReceiver, judged, judgedFigures, recordFault, rejectedWrites, sleep, slotWindow, startStaticFleet, type StaticFleet } from './harness.js';

const intervalMs = 2_000;
const graceMs = 2_000;
const targets = 24;

let fleet: StaticFleet | undefined;
afterEach(async () => {
  await fleet?.h.stop();
  fleet = undefined;
}, 90_000);

/** Starts the fleet of these tests: 24 targets of 10 series, `workers` workers, a 2 s grace period. */
async function start(name: string, workers: number): Promise<StaticFleet> {
  fleet = await startStaticFleet({ name, farm: { targets, series: 10 }, workers, intervalMs, masterFlags: [`--fleet.grace-period=${graceMs}ms`] });
  return fleet;
}

/** Judges `[fromMs, now - 1 interval]` for every farm target: logs and receiver. */
async function judgeAll(f: StaticFleet, fromMs: number) {
  const all = judged(f.farm.targets, await f.master.targets(), intervalMs);
  const window = slotWindow({ fromMs, toMs: Date.now() - intervalMs, offsets: all.map((t) => t.offsetMs), intervalMs });
  const logs = judgeLogs(all, window, intervalMs);
  const receiver = await judgeReceiver({ receiverUrl: f.receiverUrl, job: f.job, targets: all, window, intervalMs });
  return { all, window, logs, receiver };
}

describe('workers come and go (faults 1–3 of issue #10)', () => {
  it('1: scales 2→5→2 workers during steady scraping without a missing or duplicate scrape', async () => {
    const f = await start('scale', 2);
    const fromMs = Date.now();
    await sleep(3 * intervalMs);
    const up = Date.now();
    await Promise.all(['worker-3', 'worker-4', 'worker-5'].map((id) => f.startWorker(id)));
    await f.settled(['worker-1', 'worker-2', 'worker-3', 'worker-4', 'worker-5']);
    const scaledUpMs = Date.now() - up;
    await sleep(3 * intervalMs);
    const down = Date.now();
    const leaving = ['worker-3', 'worker-4', 'worker-5'].map((id) => f.workers.get(id)?.process);
    const exits = await Promise.all(leaving.map(async (p) => (p === undefined ? undefined : p.stop({ timeoutMs: 30_000 }))));
    expect(exits).toEqual([{ code: 0 }, { code: 0 }, { code: 0 }]);
    await f.settled(['worker-1', 'worker-2']);
    const scaledDownMs = Date.now() - down;
    await sleep(3 * intervalMs);

    const { window, logs, receiver } = await judgeAll(f, fromMs);
    await recordFault({
      fault: '1-scale-2-5-2',
      targets,
      intervalMs,
      ...judgedFigures({ window, logs, receiver }),
      recoveryMs: scaledUpMs + scaledDownMs,
      notes: `recovery: time for the master to settle 5 workers (${scaledUpMs} ms) plus 2 again after SIGTERM of 3 (${scaledDownMs} ms)`,
    });
    expect(logs.problems).toEqual([]);
    expect(receiver.problems).toEqual([]);
    expect(receiver.received).toBe(receiver.expected);
    expect(await rejectedWrites(f.receiverUrl)).toBe(0);
  }, 150_000);

  it('2: a worker stopped with SIGTERM drains (exit 0, its log says so) and nothing is missing or duplicated', async () => {
    const f = await start('sigterm', 3);
    const fromMs = Date.now();
    await sleep(3 * intervalMs);
    const leaving = f.workers.get('worker-3');
    if (leaving === undefined) throw new Error('no worker-3');
    const held = (await f.master.targets()).filter((t) => t.worker === 'worker-3').length;
    expect(held).toBeGreaterThan(0);
    const sent = Date.now();
    expect(await leaving.process.stop({ timeoutMs: 30_000 })).toEqual({ code: 0 });
    const drainMs = Date.now() - sent;
    const log = readFileSync(leaving.process.logFile, 'utf8');
    expect(log).toMatch(/msg="shutting down: handing targets over"/);
    expect(log).toMatch(/msg="assignment client: drained"/);
    await f.settled(['worker-1', 'worker-2']);
    expect((await f.master.targets()).every((t) => t.worker === 'worker-1' || t.worker === 'worker-2')).toBe(true);
    await sleep(3 * intervalMs);

    const { window, logs, receiver } = await judgeAll(f, fromMs);
    await recordFault({
      fault: '2-sigterm',
      targets,
      intervalMs,
      ...judgedFigures({ window, logs, receiver }),
      recoveryMs: drainMs,
      notes: `recovery: SIGTERM to exit 0 of a worker holding ${held} targets (the drain)`,
    });
    expect(logs.problems).toEqual([]);
    expect(receiver.problems).toEqual([]);
    expect(receiver.received).toBe(receiver.expected);
    expect(await rejectedWrites(f.receiverUrl)).toBe(0);
  }, 150_000);

  it('3: a worker killed with SIGKILL leaves a gap of at most grace + one interval, on its targets only', async () => {
    const f = await start('sigkill', 3);
    const fromMs = Date.now();
    await sleep(3 * intervalMs);
    const victim = f.workers.get('worker-3');
    if (victim === undefined) throw new Error('no worker-3');
    const before = await f.master.targets();
    const victimAddresses = new Set(before.filter((t) => t.worker === 'worker-3').map((t) => t.labels['instance'] ?? ''));
    expect(victimAddresses.size).toBeGreaterThan(0);
    const killedAt = Date.now();
    expect(await victim.process.stop({ signal: 'SIGKILL' })).toEqual({ code: null, signal: 'SIGKILL' });
    f.workers.delete('worker-3');
    await f.settled(['worker-1', 'worker-2']);
    await sleep(4 * intervalMs);

    const all = judged(f.farm.targets, await f.master.targets(), intervalMs);
    const window = slotWindow({ fromMs, toMs: Date.now() - intervalMs, offsets: all.map((t) => t.offsetMs), intervalMs });
    const others = all.filter((t) => !victimAddresses.has(t.address));
    const orphans = all.filter((t) => victimAddresses.has(t.address));
    const othersLogs = judgeLogs(others, window, intervalMs);
    const orphansLogs = judgeLogs(orphans, window, intervalMs);
    const othersReceiver = await judgeReceiver({ receiverUrl: f.receiverUrl, job: f.job, targets: others, window, intervalMs });
    // The orphans' samples the killed worker had scraped but not yet sent are lost with it: the receiver misses them
    // too, so only the logs are judged slot by slot for these; the receiver must hold every slot they show served
    // after the gap.
    const orphansReceiver = await judgeReceiver({ receiverUrl: f.receiverUrl, job: f.job, targets: orphans, window, intervalMs, settleMs: 3_000 });
    // The first slot the orphans were scraped again: recovery is from the kill to it.
    const resumed = Math.max(...orphans.map((t) => t.requests.find((at) => at > killedAt) ?? Number.POSITIVE_INFINITY));
    await recordFault({
      fault: '3-sigkill',
      targets,
      intervalMs,
      windowMs: window.to - window.from,
      samplesExpected: othersReceiver.expected + orphansReceiver.expected,
      samplesReceived: othersReceiver.received + orphansReceiver.received,
      gaps: othersLogs.missing + orphansLogs.missing,
      duplicates: othersLogs.duplicated + orphansLogs.duplicated,
      recoveryMs: resumed - killedAt,
      notes: `${orphans.length} targets of the killed worker: ${orphansLogs.missing} missed slots (longest gap ${orphansLogs.longestGapMs} ms, grace ${graceMs} ms); receiver lacks ${orphansReceiver.expected - orphansReceiver.received} of their samples (the gap plus what the worker had not sent); recovery: kill to the last orphan's first scrape`,
    });
    // The others: untouched.
    expect(othersLogs.problems).toEqual([]);
    expect(othersReceiver.problems).toEqual([]);
    // The orphans: one gap each of at most grace + one interval, never a duplicate.
    expect(orphansLogs.duplicated).toBe(0);
    expect(orphansLogs.longestGapMs).toBeLessThanOrEqual(graceMs + intervalMs);
    for (const p of orphansLogs.problems) for (const at of p.missing) expect(Date.parse(at)).toBeGreaterThan(killedAt - intervalMs);
    expect(Number.isFinite(resumed)).toBe(true);
    for (const p of orphansReceiver.problems) expect(p.offSlot).toEqual([]);
    expect(await rejectedWrites(f.receiverUrl)).toBe(0);
  }, 150_000);
});

describe('the master restarts (issue #10: duplicate scrapes after a master restart)', () => {
  it('killed with SIGKILL and started again 15 s later, it moves nothing and no slot is scraped twice or missed', async () => {
    // The production grace periods: the workers' reconnect backoff reaches 10 s while the master is away.
    const productionGraces = ['--fleet.grace-period=10s', '--fleet.startup-grace=15s'];
    fleet = await startStaticFleet({ name: 'master-restart', farm: { targets, series: 10 }, workers: 2, intervalMs, masterFlags: productionGraces });
    const f = fleet;
    const fromMs = Date.now();
    await sleep(3 * intervalMs);
    const before = new Map((await f.master.targets()).map((t) => [t.targetId, t.worker]));
    expect(await f.master.process.stop({ signal: 'SIGKILL' })).toEqual({ code: null, signal: 'SIGKILL' });
    await sleep(15_000);
    const port = (address: string) => Number(/:(\d+)$/.exec(address)?.[1]);
    const restartedAt = Date.now();
    const master = await f.h.master({ id: 'master', configFile: f.configFile, ports: { web: port(f.master.url), grpc: port(f.master.grpcAddress) }, flags: productionGraces });
    await f.h.wait(
      'the restarted master to settle with both workers, each acknowledged',
      async () => {
        const ws = await master.workers();
        return ws.length === 2 && ws.every((w) => w.state === 'connected' && w.generation > 0 && w.generation === w.ackedGeneration) && (await master.targets()).every((t) => t.worker !== '') ? true : undefined;
      },
      { timeoutMs: 60_000, children: [master.process] },
    );
    const settledMs = Date.now() - restartedAt;
    const after = await master.targets();
    const moved = after.filter((t) => before.get(t.targetId) !== t.worker).length;
    await sleep(3 * intervalMs);

    const all = judged(f.farm.targets, await master.targets(), intervalMs);
    const window = slotWindow({ fromMs, toMs: Date.now() - intervalMs, offsets: all.map((t) => t.offsetMs), intervalMs });
    const logs = judgeLogs(all, window, intervalMs);
    const receiver = await judgeReceiver({ receiverUrl: f.receiverUrl, job: f.job, targets: all, window, intervalMs });
    await recordFault({
      fault: 'master-restart',
      targets,
      intervalMs,
      ...judgedFigures({ window, logs, receiver }),
      recoveryMs: settledMs,
      notes: `master SIGKILL, restarted 15 s later with --fleet.startup-grace=15s; recovery: restart to settled; ${moved} targets changed worker`,
    });
    expect(moved).toBe(0);
    expect(logs.problems).toEqual([]);
    expect(receiver.problems).toEqual([]);
    expect(receiver.received).toBe(receiver.expected);
    expect(await rejectedWrites(f.receiverUrl)).toBe(0);
  }, 180_000);
});
