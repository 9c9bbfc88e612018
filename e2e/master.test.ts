/**
 * `promfleet master` as a real process with real worker streams: three worker assignment clients connect over gRPC,
 * the master assigns a static config's targets, and the status API shows who owns what. Then the master is
 * restarted (SIGTERM, a new process on the same ports): the workers keep their targets, report them, and the new
 * master adopts them — a restart moves nothing. Needs `pnpm build` first.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssignmentClient } from '../packages/worker/src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/promfleet.js');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface MasterProcess {
  readonly child: ChildProcess;
  readonly log: string[];
  stop(): Promise<number | null>;
}

function startMaster(args: string[]): MasterProcess {
  if (!existsSync(join(root, 'packages/cli/dist/main.js'))) throw new Error('packages/cli/dist is missing: run `pnpm build` first');
  const child = spawn(process.execPath, [bin, 'master', ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    log,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

const clients: AssignmentClient[] = [];
const masters: MasterProcess[] = [];
let dir = '';
afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  for (const m of masters) if (m.child.exitCode === null) await m.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('promfleet master', () => {
  it('assigns targets to connected workers, shows them, and moves nothing when restarted', async () => {
    dir = await mkdtemp(join(tmpdir(), 'promfleet-master-'));
    const config = join(dir, 'prometheus.yml');
    const addresses = Array.from({ length: 30 }, (_, i) => `'10.0.0.${i + 1}:9100'`).join(', ');
    await writeFile(config, `global:\n  scrape_interval: 10s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: [${addresses}]\n`);
    const [web, grpc] = [await freePort(), await freePort()];
    const args = [`--config.file=${config}`, `--web.listen-address=127.0.0.1:${web}`, `--grpc.listen-address=127.0.0.1:${grpc}`, '--fleet.grace-period=1s', '--fleet.startup-grace=1s', '--fleet.heartbeat-interval=500ms'];
    const api = async <T>(path: string): Promise<T> => (await (await fetch(`http://127.0.0.1:${web}${path}`)).json()) as T;
    const ready = async () => ((await fetch(`http://127.0.0.1:${web}/-/ready`)).ok ? true : undefined);

    masters.push(startMaster(args));
    for (const id of ['worker-a', 'worker-b', 'worker-c']) {
      const client = new AssignmentClient({ address: `127.0.0.1:${grpc}`, workerId: id, softwareVersion: 'e2e', backoff: { initialMs: 50, maxMs: 500 } });
      client.start();
      clients.push(client);
    }
    await until(ready, 'the master to be ready');
    const held = () => new Map(clients.flatMap((c) => c.state.held().map((t) => [t.id, c.workerId] as const)));
    await until(() => Promise.resolve(held().size === 30 && clients.every((c) => c.state.held().length === 10) ? true : undefined), 'every target to reach a worker');
    const before = held();

    type Targets = { data: { activeTargets: { targetId: string; worker: string; labels: Record<string, string> }[] } };
    const targets = await api<Targets>('/api/v1/targets');
    expect(targets.data.activeTargets).toHaveLength(30);
    for (const t of targets.data.activeTargets) expect(t.worker).toBe(before.get(t.targetId));
    type Workers = { data: { workers: { id: string; state: string; targets: number }[] } };
    expect((await api<Workers>('/api/v1/workers')).data.workers.map((w) => [w.id, w.state, w.targets])).toEqual([
      ['worker-a', 'connected', 10],
      ['worker-b', 'connected', 10],
      ['worker-c', 'connected', 10],
    ]);

    // Restart: the old process exits cleanly on SIGTERM; the workers keep their targets meanwhile.
    expect(await masters[0]?.stop()).toBe(0);
    expect(held()).toEqual(before);
    masters.push(startMaster(args));
    // Ready at once (it leads: no election), and settled once its workers reported what they hold.
    await until(ready, 'the restarted master to be ready');
    await until(async () => ((await api<Workers>('/api/v1/workers')).data.workers.length === 3 ? true : undefined), 'the workers to reconnect');
    const settled = async () => {
      const text = await (await fetch(`http://127.0.0.1:${web}/metrics`)).text();
      return text.includes('promfleet_fleet_recovering 0') ? text : undefined;
    };
    const metrics = await until(settled, 'the restarted master to settle');
    expect(metrics).toContain('promfleet_fleet_target_moves_total{reason="adopted"} 30');
    expect(metrics).not.toMatch(/promfleet_fleet_target_moves_total\{reason="(worker-joined|rebalance|worker-left)"\}/);
    expect(held()).toEqual(before);
    expect(masters[1]?.log.join('')).toMatch(/msg="assignment settled" assigned=30/);
  }, 60_000);
});
