/**
 * Fault 6 of issue #10, on real processes: the targets come from `kubernetes_sd_configs` (role: pod) of the
 * testkit's fake API server, whose pods point at farm targets on 127.0.0.1. The API server goes down (connection
 * refused) for 3 minutes, longer than the master's `--fleet.startup-wait` (shortened to 60 s here), and the master
 * is restarted during the outage: every target keeps being scraped throughout (the targets' own request logs and
 * the receiver). The API server comes back with every resourceVersion expired; discovery lists once per watch, and
 * after a watch is cut with its resourceVersion compacted away (410), it relists once. Also measured: a worker
 * killed with SIGKILL while no master runs leaves its targets unscraped until discovery is back. Needs `pnpm build`.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { startFakeApiServer, startTargetFarm, type FarmTarget, type KubeObject, type RequestCount } from '../../packages/testkit/src/index.js';
import { FaultHarness, judgeLogs, judgeReceiver, judged, podConfig, recordFault, rejectedWrites, sleep, slotWindow, waitAllUp, type MasterProcess } from './harness.js';

const intervalMs = 2_000;
const targets = 20;
const outageMs = 180_000;
const startupWaitMs = 60_000;
const namespace = 'apps';
const job = 'outage';

let harness: FaultHarness | undefined;
afterAll(async () => {
  await harness?.stop();
}, 90_000);

/** A running pod whose one container port is a farm target on 127.0.0.1. */
function podFor(target: FarmTarget): KubeObject {
  const name = `app-${target.index}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, uid: `00000000-0000-4000-8000-${String(target.index).padStart(12, '0')}`, labels: { app: 'farm' } },
    spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'farm:1', ports: [{ name: 'metrics', containerPort: target.port, protocol: 'TCP' }] }] },
    status: {
      phase: 'Running',
      hostIP: '127.0.0.1',
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'ContainersReady', status: 'True' },
      ],
    },
  };
}

/** The list requests for pods among `rows`. */
function podLists(rows: readonly RequestCount[]): number {
  return rows.filter((r) => r.verb === 'list' && r.resource === 'pods').reduce((sum, r) => sum + r.count, 0);
}

describe('the API server goes away (fault 6 of issue #10)', () => {
  it('6: down 3 minutes with the master restarted meanwhile: every target is scraped throughout; one relist per watch after', async () => {
    const h = await FaultHarness.create('api-outage');
    harness = h;
    const farm = await startTargetFarm({ targets, series: 10 });
    h.onStop(() => farm.stop());
    const api = await startFakeApiServer();
    h.onStop(() => api.stop());
    api.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    api.store.load(farm.targets.map(podFor));
    const kubeconfig = await h.file('kubeconfig', api.kubeconfigYaml());
    const receiverUrl = await h.receiver();
    const configFile = await h.file('promfleet.yml', podConfig({ job, intervalMs, receiverUrl }));
    const masterFlags = [`--kubeconfig=${kubeconfig}`, `--fleet.startup-wait=${startupWaitMs / 1000}s`];
    const first = await h.master({ id: 'master', configFile, flags: masterFlags });
    const ports = { web: Number(new URL(first.url).port), grpc: Number(first.grpcAddress.split(':')[1]) };
    const workers = await Promise.all(['worker-1', 'worker-2', 'worker-3'].map((id) => h.worker({ id, master: first.grpcAddress })));
    const settled = async (master: MasterProcess, ids: readonly string[], timeoutMs: number) =>
      h.wait(
        `${master.id} to list ${ids.join(', ')} connected with every target assigned to them`,
        async () => {
          const [ws, ts] = [await master.workers(), await master.targets()];
          const connected = ws.map((w) => w.id).join() === ids.join() && ws.every((w) => w.state === 'connected' && w.generation === w.ackedGeneration);
          return connected && ts.length === targets && ts.every((t) => ids.includes(t.worker)) ? true : undefined;
        },
        { timeoutMs },
      );
    await h.wait('the master to be ready', async () => ((await first.ready()) ? true : undefined));
    await settled(first, ['worker-1', 'worker-2', 'worker-3'], 30_000);
    await waitAllUp(h, { receiverUrl, job, addresses: farm.targets.map((t) => t.address), intervalMs });
    const before = await first.targets();
    const orphanAddresses = new Set(before.filter((t) => t.worker === 'worker-3').map((t) => t.labels['instance'] ?? ''));
    expect(orphanAddresses.size).toBeGreaterThan(0);
    const fromMs = Date.now();
    await sleep(3 * intervalMs);

    // The outage: connection refused from now on.
    const downAt = Date.now();
    await api.stop();
    await sleep(5_000);
    // The master restarts while the API server is away; meanwhile, with no master, worker-3 is killed.
    expect(await first.process.stop()).toEqual({ code: 0 });
    const killedAt = Date.now();
    const worker3 = workers[2];
    if (worker3 === undefined) throw new Error('no worker-3');
    expect(await worker3.process.stop({ signal: 'SIGKILL' })).toEqual({ code: null, signal: 'SIGKILL' });
    await sleep(5_000);
    const second = await h.master({ id: 'master', configFile, flags: masterFlags, ports });
    await h.wait('worker-1 and worker-2 to reconnect to the restarted master', async () => {
      const ws = await second.workers();
      return ws.filter((w) => w.state === 'connected').length === 2 ? true : undefined;
    });
    // Past --fleet.startup-wait and on to the end of the outage.
    await sleep(downAt + outageMs - Date.now());
    expect(second.process.running()).toBe(true);
    const duringOutage = judged(
      farm.targets.filter((t) => !orphanAddresses.has(t.address)),
      before,
      intervalMs,
    );
    const outageWindow = slotWindow({ fromMs, toMs: Date.now() - intervalMs, offsets: duringOutage.map((t) => t.offsetMs), intervalMs });
    const outageLogs = judgeLogs(duringOutage, outageWindow, intervalMs);

    // Back, with every resourceVersion expired (as after an etcd compaction and a cold watch cache).
    api.store.compact();
    api.resetRequests();
    const upAt = Date.now();
    await api.start();
    await settled(second, ['worker-1', 'worker-2'], 60_000);
    const recoveredMs = Date.now() - upAt;
    await sleep(3 * intervalMs);
    const afterReturn = api.requests();
    const podWatches = api.watches().filter((w) => w.resource === 'pods').length;
    expect(podWatches).toBeGreaterThan(0);
    // One list per watch (the restarted master has no resourceVersion to resume from), not a tight loop.
    expect(podLists(afterReturn)).toBe(podWatches);

    // A watch cut and its resourceVersion compacted away: a 410, then one relist per watch.
    api.resetRequests();
    api.faults.resetWatches({ resource: 'pods' });
    api.store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bump' } });
    api.store.compact();
    await h.wait('discovery to watch pods again', () => Promise.resolve(api.watches().some((w) => w.resource === 'pods') ? true : undefined));
    await sleep(5_000);
    const after410 = api.requests();
    expect(podLists(after410)).toBe(podWatches);
    await sleep(2 * intervalMs);

    // The whole window: every target but worker-3's once per slot; worker-3's from the kill until discovery is back.
    const all = judged(farm.targets, await second.targets(), intervalMs);
    const window = slotWindow({ fromMs, toMs: Date.now() - intervalMs, offsets: all.map((t) => t.offsetMs), intervalMs });
    const others = all.filter((t) => !orphanAddresses.has(t.address));
    const orphans = all.filter((t) => orphanAddresses.has(t.address));
    const othersLogs = judgeLogs(others, window, intervalMs);
    const orphansLogs = judgeLogs(orphans, window, intervalMs);
    const receiver = await judgeReceiver({ receiverUrl, job, targets: others, window, intervalMs });
    const orphanResumed = Math.max(...orphans.map((t) => t.requests.find((at) => at > killedAt) ?? Number.POSITIVE_INFINITY));
    const counts = (rows: readonly RequestCount[]) => Object.fromEntries(rows.map((r) => [`${r.verb} ${r.resource}`, r.count]));
    await recordFault({
      fault: '6-api-outage',
      targets,
      intervalMs,
      windowMs: window.to - window.from,
      samplesExpected: receiver.expected,
      samplesReceived: receiver.received,
      gaps: othersLogs.missing,
      duplicates: othersLogs.duplicated + orphansLogs.duplicated,
      recoveryMs: recoveredMs,
      apiRequests: counts(afterReturn),
      notes:
        `outage ${outageMs / 1000} s, --fleet.startup-wait=${startupWaitMs / 1000}s, master restarted 5 s in; recovery: API server back to every target assigned; ` +
        `after a cut watch and a 410: ${JSON.stringify(counts(after410))}; ` +
        `worker killed with no master: ${orphans.length} targets unscraped for ${orphansLogs.longestGapMs} ms (kill to last resumed ${orphanResumed - killedAt} ms); samples of the ${orphans.length} not counted above`,
    });
    expect(outageLogs.problems).toEqual([]);
    expect(othersLogs.problems).toEqual([]);
    expect(receiver.problems).toEqual([]);
    expect(orphansLogs.duplicated).toBe(0);
    expect(Number.isFinite(orphanResumed)).toBe(true);
    expect(await rejectedWrites(receiverUrl)).toBe(0);
  }, 420_000);
});
