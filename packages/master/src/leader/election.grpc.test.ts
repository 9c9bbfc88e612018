/**
 * Two masters electing on one Lease of the testkit's fake API server, in-process, with real gRPC on 127.0.0.1: one
 * leads (discovery, fleet, ready), the other stands by (Lease requests only, NOT_LEADER to workers, not ready); a
 * graceful stop hands over within about a retry period; a leader whose Lease is taken stops leading at once.
 * Timings are short (3 s lease, 2 s renew deadline, 500 ms retry period) and the checks tolerant.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@promfleet/model';
import { FleetClient, PROTOCOL_VERSION, RefusalReason, type MasterMessage, type WorkerMessage } from '@promfleet/protocol';
import { generateCluster, promtoolCheckMetrics, startFakeApiServer, type FakeApiServer, type RequestCount } from '@promfleet/testkit';
import { startMaster, type RunningMaster } from '../master.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}, 30_000);

const retryPeriodMs = 500;
const lease = { namespace: 'promfleet', name: 'promfleet-master' };

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function fakeCluster(): Promise<{ api: FakeApiServer; kubeconfig: string }> {
  const api = await startFakeApiServer();
  api.store.load(generateCluster({ nodes: 2, pods: 6, namespaces: 1, servicesPerNamespace: 1, seed: 3 }).objects());
  const dir = await mkdtemp(join(tmpdir(), 'promfleet-election-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, api.kubeconfigYaml());
  cleanups.push(async () => {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { api, kubeconfig };
}

const parsed = parseConfig('scrape_configs:\n  - job_name: pods\n    kubernetes_sd_configs: [{role: pod}]\n', { file: 'election.yml' });
if (!parsed.ok) throw new Error('config');
const config = parsed.config;

/** A master named `id`; its software version is its id too, so its API requests carry a user agent of its own. */
async function master(id: string, kubeconfig: string): Promise<RunningMaster & { readonly log: string[] }> {
  const log: string[] = [];
  const running = await startMaster({
    config,
    webListenAddress: '127.0.0.1:0',
    grpcListenAddress: '127.0.0.1:0',
    kubeconfig,
    fleet: { masterId: id, softwareVersion: id, graceMs: 1_000, startupGraceMs: 1_000, startupWaitMs: 5_000 },
    leaderElection: { lease, leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs },
    log: (level, message, fields) => log.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await running.stop();
  };
  cleanups.push(stop);
  return {
    log,
    stop,
    get fleet() {
      return running.fleet;
    },
    webPort: running.webPort,
    grpcPort: running.grpcPort,
    registry: running.registry,
    reload: () => running.reload(),
  };
}

async function readiness(m: RunningMaster): Promise<[number, string]> {
  const res = await fetch(`http://127.0.0.1:${m.webPort}/-/ready`);
  return [res.status, await res.text()];
}

/** A raw Fleet.Connect call that sends a Hello and collects what the master answers. */
function hello(m: RunningMaster, workerId: string): { received: MasterMessage[]; ended: () => boolean } {
  const client = new FleetClient(`127.0.0.1:${m.grpcPort}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const call: ClientDuplexStream<WorkerMessage, MasterMessage> = client.connect();
  const received: MasterMessage[] = [];
  let over = false;
  call.on('data', (message: MasterMessage) => received.push(message));
  call.on('status', () => (over = true));
  call.on('error', () => undefined);
  call.write({
    kind: {
      $case: 'hello',
      hello: { workerId, softwareVersion: 'test', protocolVersion: PROTOCOL_VERSION, heldGeneration: 0, heldTargets: [], previousStreamResourceExhausted: '', heldTargetsContinued: false, highestLeaderTerm: 0 },
    },
  });
  cleanups.push(() => {
    call.cancel();
    client.close();
  });
  return { received, ended: () => over };
}

function requestsOf(api: FakeApiServer, id: string): RequestCount[] {
  return api.requests().filter((r) => r.userAgent === `promfleet-master/${id}`);
}

describe('two masters on one Lease', () => {
  it('elect one leader; the standby holds no watches and refuses workers; a graceful stop hands over at once', async () => {
    const { api, kubeconfig } = await fakeCluster();
    const [a, b] = await Promise.all([master('master-a', kubeconfig), master('master-b', kubeconfig)]);
    const [leader, standby] = await until(() => (a.fleet !== undefined ? [a, b] : b.fleet !== undefined ? [b, a] : undefined), 'a leader');
    const leaderId = leader === a ? 'master-a' : 'master-b';
    const standbyId = leader === a ? 'master-b' : 'master-a';
    // Two retry periods later, still exactly one leads.
    await new Promise((r) => setTimeout(r, 2 * retryPeriodMs));
    expect([a.fleet !== undefined, b.fleet !== undefined].filter(Boolean)).toHaveLength(1);
    expect(leader.fleet?.leaderTerm).toBe(1);
    expect(api.store.get({ resource: 'leases', ...lease })?.['spec']).toMatchObject({ holderIdentity: leaderId, leaseTransitions: 0 });

    const [code, body] = await readiness(leader);
    expect(code).toBe(200);
    expect(body).toMatch(/^promfleet master is Ready\.\nleader in term 1 \(lease promfleet\/promfleet-master\)\n/);
    // The standby names the leader once it has read the Lease the leader wrote (its tries are jittered: 1–2.2 retry periods).
    const standbyReadiness = [503, `Service Unavailable\nstandby: ${leaderId} leads in term 1 (lease promfleet/promfleet-master)\n`];
    expect(await until(async () => {
      const seen = await readiness(standby);
      return seen[1] === standbyReadiness[1] ? seen : undefined;
    }, 'the standby to name the leader')).toEqual(standbyReadiness);

    // A worker that reaches the standby is refused, told who leads and to retry after about a retry period.
    const refused = hello(standby, 'worker-1');
    await until(() => (refused.ended() ? true : undefined), 'the standby to end the call');
    const refusal = refused.received[0]?.kind;
    expect(refusal?.$case).toBe('refusal');
    if (refusal?.$case !== 'refusal') throw new Error('no refusal');
    expect(refusal.refusal).toMatchObject({ reason: RefusalReason.NOT_LEADER, retryAfterMs: retryPeriodMs });
    expect(refusal.refusal.message).toBe(`master ${standbyId} stands by: ${leaderId} leads in term 1; retry through the Service`);
    // The leader welcomes it, in term 1.
    const welcomed = hello(leader, 'worker-1');
    await until(() => (welcomed.received.length > 0 ? true : undefined), 'the Welcome');
    expect(welcomed.received[0]?.kind).toMatchObject({ $case: 'welcome', welcome: { leaderTerm: 1, masterId: leaderId } });

    // The standby makes Lease GETs only, one per jittered retry period (500 ms to 1.1 s); the leader watches pods.
    api.resetRequests();
    const windowStart = Date.now();
    await new Promise((r) => setTimeout(r, 3_000));
    const windowMs = Date.now() - windowStart;
    const standbyRequests = requestsOf(api, standbyId);
    expect(standbyRequests.map((r) => [r.verb, r.resource])).toEqual([['get', 'leases']]);
    const gets = standbyRequests[0]?.count ?? 0;
    expect(gets).toBeGreaterThanOrEqual(Math.floor(windowMs / (2.2 * retryPeriodMs)) - 1);
    expect(gets).toBeLessThanOrEqual(Math.ceil(windowMs / retryPeriodMs) + 1);
    expect(api.watches().filter((w) => w.userAgent === `promfleet-master/${standbyId}`)).toEqual([]);
    expect(api.watches().filter((w) => w.userAgent === `promfleet-master/${leaderId}`).map((w) => w.resource)).toContain('pods');
    expect(requestsOf(api, leaderId).filter((r) => r.resource === 'leases').map((r) => r.verb)).toEqual(['update']);

    // A graceful stop releases the Lease: the standby takes over at its next try, in term 2, with discovery.
    const stoppedAt = Date.now();
    await leader.stop();
    expect(welcomed.ended()).toBe(true);
    await until(() => standby.fleet, 'the standby to lead', 5_000);
    const failoverMs = Date.now() - stoppedAt;
    expect(failoverMs).toBeLessThan(2.2 * retryPeriodMs + 1_000);
    expect(standby.fleet?.leaderTerm).toBe(2);
    expect(api.store.get({ resource: 'leases', ...lease })?.['spec']).toMatchObject({ holderIdentity: standbyId, leaseTransitions: 1 });
    expect((await readiness(standby))[0]).toBe(200);
    await until(() => (api.watches().some((w) => w.userAgent === `promfleet-master/${standbyId}` && w.resource === 'pods') ? true : undefined), 'the new leader to watch pods');
  }, 30_000);

  it('stops leading at once when the Lease is taken: worker streams closed, watches gone, not ready', async () => {
    const { api, kubeconfig } = await fakeCluster();
    const a = await master('master-a', kubeconfig);
    await until(() => a.fleet, 'master-a to lead');
    const stream = hello(a, 'worker-1');
    await until(() => (stream.received.length > 0 ? true : undefined), 'the Welcome');
    await until(() => (api.watches().some((w) => w.resource === 'pods') ? true : undefined), 'the pods watch');
    // Another candidate writes itself into the Lease (as after a partition on this master's side).
    const current = api.store.get({ resource: 'leases', ...lease });
    if (current === undefined) throw new Error('no lease');
    api.store.update({ ...current, spec: { holderIdentity: 'master-c', leaseDurationSeconds: 3, leaseTransitions: 1, renewTime: new Date().toISOString() } });
    await until(() => (a.fleet === undefined ? true : undefined), 'master-a to stop leading', 2 * retryPeriodMs + 2_000);
    await until(() => (stream.ended() ? true : undefined), 'the worker stream to close');
    await until(() => (api.watches().some((w) => w.userAgent === 'promfleet-master/master-a') ? undefined : true), 'the watches to end');
    expect(await readiness(a)).toEqual([503, 'Service Unavailable\nstandby: master-c leads in term 2 (lease promfleet/promfleet-master)\n']);
    expect(a.log.join('\n')).toMatch(/warn stopped leading: discovery stopped, worker streams closed; standing by \{"reason":"lease-taken"/);
    const metrics = await (await fetch(`http://127.0.0.1:${a.webPort}/metrics`)).text();
    expect(metrics).toContain('promfleet_master_leader 0');
    expect(metrics).toContain('promfleet_master_leadership_lost_total{reason="lease-taken"} 1');
    // prom-client's default Node.js metrics are not ours to fix; promfleet's own must pass.
    const own = metrics
      .split('\n')
      .filter((line) => /^(# (HELP|TYPE) )?promfleet_/.test(line))
      .join('\n');
    expect(await promtoolCheckMetrics(`${own}\n`)).toEqual({ code: 0, output: '' });
  }, 30_000);

  it('stays ready and serves its last targets while the API server is down, saying discovery is stale', async () => {
    const { api, kubeconfig } = await fakeCluster();
    const a = await master('master-a', kubeconfig);
    await until(() => a.fleet, 'master-a to lead');
    const pods = async () => (await (await fetch(`http://127.0.0.1:${a.webPort}/api/v1/targets`)).json()) as { data: { activeTargets: unknown[] } };
    const before = await until(async () => ((await pods()).data.activeTargets.length > 0 ? (await pods()).data.activeTargets.length : undefined), 'the pods to be discovered');
    await api.stop();
    const body = await until(async () => {
      const [code, text] = await readiness(a);
      return code === 200 && text.includes('discovery of pods is stale since') ? text : undefined;
    }, 'readiness to say discovery is stale');
    expect(body).toMatch(/\ndiscovery of pods is stale since \d{4}-\d\d-\d\dT[\d:.]+Z: the API server fails; serving the last known targets\n/);
    expect((await pods()).data.activeTargets).toHaveLength(before);
    const metrics = await (await fetch(`http://127.0.0.1:${a.webPort}/metrics`)).text();
    expect(metrics).toContain('promfleet_kubernetes_discovery_stale{resource="pods"} 1');
  }, 30_000);
});
