/**
 * Live reload on real processes (issue #11): a master with two workers, a real Prometheus as the receiver and the
 * testkit farm as targets, reloaded three ways while it scrapes — SIGHUP with a config that adds a job and removes
 * one, `POST /-/reload` with a config that changes one job's relabeling, and a bad config. Judged from the user's
 * side: the targets' own request logs (one request per slot, by the same worker throughout), the receiver's series
 * (what was added starts, what was removed ends with staleness markers), and the master's reload metrics. Needs
 * `pnpm build` first.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { startTargetFarm, type FarmTarget } from '../packages/testkit/src/index.js';
import { FaultHarness, judgeLogs, judgeReceiver, judged, rawSamples, rejectedWrites, sleep, slotWindow, waitAllUp, type ActiveTarget, type MasterProcess } from './faults/harness.js';

const intervalMs = 2_000;

let harness: FaultHarness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
}, 90_000);

/** A job of static targets, with extra YAML lines under it (relabel_configs). */
function job(name: string, targets: readonly FarmTarget[], extra: readonly string[] = []): string[] {
  return [`  - job_name: ${name}`, '    static_configs:', `      - targets: [${targets.map((t) => `'${t.address}'`).join(', ')}]`, ...extra];
}

function config(receiverUrl: string, jobs: readonly string[][]): string {
  return [
    'global:',
    `  scrape_interval: ${intervalMs}ms`,
    `  scrape_timeout: ${intervalMs}ms`,
    'scrape_configs:',
    ...jobs.flat(),
    'remote_write:',
    `  - url: ${receiverUrl}/api/v1/write`,
    '    queue_config:',
    '      batch_send_deadline: 1s',
    '',
  ].join('\n');
}

/** Target id → owner, for the master's targets of `jobs`. */
async function owners(master: MasterProcess, jobs: readonly string[]): Promise<Map<string, string>> {
  const targets = await master.targets();
  return new Map(targets.filter((t) => jobs.includes(t.labels['job'] ?? '')).map((t) => [t.targetId, t.worker]));
}

/** `promfleet_config_last_reload_successful`'s value on the master's /metrics. */
async function lastReloadSuccessful(master: MasterProcess): Promise<string | undefined> {
  const line = (await master.metrics()).split('\n').find((l) => l.startsWith('promfleet_config_last_reload_successful '));
  return line?.split(' ')[1];
}

/** The master's `configuration reloaded` and `configuration reload failed` log lines, in order. */
function reloadLines(master: MasterProcess): string[] {
  return readFileSync(master.process.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes('msg="configuration reload'));
}

describe('reloading a running master', () => {
  it('SIGHUP, POST /-/reload and a bad config: unchanged targets stay on their worker with no gap or duplicate, removed ones go stale', async () => {
    const h = await FaultHarness.create('reload');
    harness = h;
    const farm = await startTargetFarm({ targets: 12, series: 5 });
    h.onStop(() => farm.stop());
    const t = farm.targets;
    const steady = t.slice(0, 6);
    const [relabeledChanged, relabeledKept] = [t[6], t[7]] as [FarmTarget, FarmTarget];
    const leaving = t.slice(8, 10);
    const joining = t.slice(10, 12);
    const receiverUrl = await h.receiver();
    const v1 = config(receiverUrl, [job('steady', steady), job('relabeled', [relabeledChanged, relabeledKept]), job('leaving', leaving)]);
    const v2 = config(receiverUrl, [job('steady', steady), job('relabeled', [relabeledChanged, relabeledKept]), job('joining', joining)]);
    const v3 = config(receiverUrl, [
      job('steady', steady),
      job('relabeled', [relabeledChanged, relabeledKept], ['    relabel_configs:', `      - {source_labels: [__address__], regex: '${relabeledChanged.address}', target_label: tier, replacement: gold}`]),
      job('joining', joining),
    ]);
    const configFile = await h.file('promfleet.yml', v1);
    const master = await h.master({ id: 'master', configFile, flags: ['--web.enable-lifecycle'] });
    const workers = await Promise.all(['worker-1', 'worker-2'].map((id) => h.worker({ id, master: master.grpcAddress })));
    await h.wait('the master to be ready', async () => ((await master.ready()) ? true : undefined));
    for (const [name, targets] of [['steady', steady], ['relabeled', [relabeledChanged, relabeledKept]], ['leaving', leaving]] as const) {
      await waitAllUp(h, { receiverUrl, job: name, addresses: targets.map((x) => x.address), intervalMs });
    }
    expect(await lastReloadSuccessful(master)).toBe('1');
    const judgedJobs = ['steady', 'relabeled'];
    const before = await owners(master, judgedJobs);
    const keptIds = [...(await master.targets())].filter((x) => x.labels['instance'] !== relabeledChanged.address && judgedJobs.includes(x.labels['job'] ?? ''));
    expect(new Set([...before.values()])).toEqual(new Set(['worker-1', 'worker-2']));
    const fromMs = Date.now();
    await sleep(2 * intervalMs);

    // 1. SIGHUP: a job added, one removed. A worker given SIGHUP too (a sidecar signalling every container) ignores it.
    await writeFile(configFile, v2);
    const sighupAt = Date.now();
    process.kill(master.process.pid, 'SIGHUP');
    for (const w of workers) process.kill(w.process.pid, 'SIGHUP');
    await h.wait('the master to have reloaded on SIGHUP', () => Promise.resolve(reloadLines(master).length === 1 ? true : undefined));
    expect(reloadLines(master)[0]).toMatch(/jobs_added=joining jobs_changed="" jobs_removed=leaving remote_write=unchanged/);
    const removedAt = Date.now();
    await waitAllUp(h, { receiverUrl, job: 'joining', addresses: joining.map((x) => x.address), intervalMs });
    await sleep(2 * intervalMs);

    // 2. POST /-/reload: one job's relabeling changes one of its targets' labels.
    await writeFile(configFile, v3);
    const posted = await fetch(`${master.url}/-/reload`, { method: 'POST' });
    expect(posted.status).toBe(200);
    expect(reloadLines(master)[1]).toMatch(/jobs_added="" jobs_changed=relabeled jobs_removed="" remote_write=unchanged/);
    await h.wait('the relabeled target’s new series', async () => ((await rawSamples(receiverUrl, `up{job="relabeled",tier="gold"}`, Date.now())).length === 1 ? true : undefined));
    await sleep(2 * intervalMs);

    // 3. A bad config: rejected whole, by SIGHUP and by POST alike; the previous one keeps running.
    const assigned = [...(await master.targets())].map((x) => `${x.targetId}@${x.worker}`).sort();
    await writeFile(configFile, `${v3}\n  - this is: [not valid\n`);
    process.kill(master.process.pid, 'SIGHUP');
    await h.wait('the SIGHUP reload to fail', async () => ((await lastReloadSuccessful(master)) === '0' ? true : undefined));
    const refused = await fetch(`${master.url}/-/reload`, { method: 'POST' });
    expect(refused.status).toBe(500);
    expect(await refused.text()).toMatch(/^failed to reload config: invalid config/);
    expect(reloadLines(master).slice(2).map((l) => /msg="([^"]*)"/.exec(l)?.[1])).toEqual([
      'configuration reload failed: the previous configuration keeps running',
      'configuration reload failed: the previous configuration keeps running',
    ]);
    await sleep(2 * intervalMs);
    expect([...(await master.targets())].map((x) => `${x.targetId}@${x.worker}`).sort()).toEqual(assigned);
    expect(master.process.running()).toBe(true);
    for (const w of workers) {
      expect(w.process.running()).toBe(true);
      expect(readFileSync(w.process.logFile, 'utf8')).toContain('SIGHUP received: a worker has no configuration to reload');
    }

    // Unchanged targets: the same worker throughout, one scrape per slot in their own logs and in the receiver.
    const after = await owners(master, judgedJobs);
    for (const x of keptIds) expect(`${x.labels['instance'] ?? ''}@${after.get(x.targetId) ?? 'nobody'}`).toBe(`${x.labels['instance'] ?? ''}@${before.get(x.targetId) ?? ''}`);
    const masterTargets: ActiveTarget[] = await master.targets();
    const kept = judged([...steady, relabeledKept], masterTargets, intervalMs);
    const window = slotWindow({ fromMs, toMs: Date.now() - intervalMs, offsets: kept.map((x) => x.offsetMs), intervalMs });
    const logs = judgeLogs(kept, window, intervalMs);
    expect(logs.problems).toEqual([]);
    expect(logs.slots).toBeGreaterThanOrEqual(kept.length * 8);
    const steadyReceived = await judgeReceiver({ receiverUrl, job: 'steady', targets: kept.slice(0, steady.length), window, intervalMs });
    expect(steadyReceived.problems).toEqual([]);
    const keptReceived = await judgeReceiver({ receiverUrl, job: 'relabeled', targets: kept.slice(steady.length), window, intervalMs });
    expect(keptReceived.problems).toEqual([]);

    // Removed: the leaving job's series, and the relabeled target's old one, end with staleness markers, long before
    // the 5 m lookback would hide them.
    const stale = (selector: string) => async () => ((await rawSamples(receiverUrl, selector, Date.now())).length === 0 ? true : undefined);
    await h.wait('the removed job’s up series to go stale', stale('up{job="leaving"}'), { timeoutMs: 30_000 });
    const staleAfterMs = Date.now() - removedAt;
    await h.wait('the relabeled target’s old series to go stale', stale(`up{job="relabeled",instance="${relabeledChanged.address}",tier=""}`), { timeoutMs: 30_000 });
    const leavingSamples = await rawSamples(receiverUrl, `up{job="leaving"}[${Date.now() - fromMs + 10_000}ms]`, Date.now());
    expect(leavingSamples.map((s) => s.metric['instance']).sort()).toEqual(leaving.map((x) => x.address).sort());
    expect(Date.now() - removedAt).toBeLessThan(120_000);
    // No request reached a removed target once its worker let it go (within a slot of the reload).
    for (const x of leaving) expect(x.requests.filter((at) => at > removedAt + intervalMs)).toEqual([]);
    expect(await rejectedWrites(receiverUrl)).toBe(0);
    const firstScrapeMs = Math.max(...joining.map((x) => (x.requests.find((at) => at >= sighupAt) ?? Number.NaN) - sighupAt));
    console.log(
      `reload: ${kept.length} unchanged targets over ${(window.to - window.from) / 1000} s and 3 reloads: ${logs.slots} slots, ${logs.missing} missing, ${logs.duplicated} duplicated; ` +
        `receiver ${steadyReceived.received + keptReceived.received}/${steadyReceived.expected + keptReceived.expected} up samples; added targets scraped ${firstScrapeMs} ms after SIGHUP (interval ${intervalMs} ms); ` +
        `removed job's series stale when checked, ${staleAfterMs} ms after its reload (well within the 5 m lookback that would show it without markers)`,
    );
  }, 180_000);
});
