/**
 * The fleet link's security end to end, on real processes: `promfleet master` with mutual TLS and a config whose
 * scrape job holds an inline `basic_auth` password, two `promfleet worker`s with client certificates of the fleet's
 * CA, and two intruders: a worker with TLS but no client certificate (claiming a good worker's id) and one without
 * TLS. Checked from the side a user sees: the farm targets' own request logs (every slot scraped exactly once, with
 * the right credentials), the master's API and pages, and everything the intruders can read (their logs and pages),
 * which never holds the password. Then the same config without TLS: the master refuses to start and names the flag
 * that would allow it. Needs `pnpm build` first.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scrapeOffsetMs } from '../packages/model/src/index.js';
import { makePki, startTargetFarm, type Pki, type TargetFarm } from '../packages/testkit/src/index.js';
import { httpGet, pickPort, startChild, waitFor, type DemoChild } from '../packages/cli/src/demo-processes.js';
import { scrapeSlots } from './slots.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/promfleet.js');
const host = '127.0.0.1';
const intervalMs = 2_000;
const slots = scrapeSlots(intervalMs);
/** How long every target's scrapes are watched once all of them are up: 6 slots. */
const watchMs = 6 * intervalMs;
/** The inline secret: a `/` and an `@` in it, so a URL-shaped redaction that stops early would show part of it. */
const password = 'e2e-pa/ss@w0rd-5ecret';

let dir = '';
let pki: Pki | undefined;
let farm: TargetFarm | undefined;
const children: DemoChild[] = [];
afterAll(async () => {
  for (const child of [...children].reverse()) await child.stop();
  await farm?.stop();
  pki?.remove();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, 60_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function child(name: string, args: readonly string[]): DemoChild {
  const c = startChild({ name, command: process.execPath, args: [bin, ...args], logFile: join(dir, `${name}.log`), cwd: root });
  children.push(c);
  return c;
}

function wait<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  return waitFor(probe, { what, timeoutMs, children: children.filter((c) => c.running()) });
}

const ok = (url: string) => async () => ((await httpGet(url)).status === 200 ? true : undefined);

/** Everything one process lets a reader see: its log and the bodies of its HTTP pages. */
async function readable(process: DemoChild, pages: readonly string[]): Promise<string> {
  const bodies = await Promise.all(pages.map(async (url) => (await httpGet(url)).body));
  return [readFileSync(process.logFile, 'utf8'), ...bodies].join('\n');
}

interface ActiveTarget {
  readonly targetId: string;
  readonly worker: string;
  readonly labels: Record<string, string>;
  readonly health: string;
}

interface WorkerEntry {
  readonly id: string;
  readonly state: string;
  readonly identity: string;
}

function configText(addresses: readonly string[]): string {
  return [
    'global:',
    `  scrape_interval: ${intervalMs}ms`,
    `  scrape_timeout: ${intervalMs}ms`,
    'scrape_configs:',
    '  - job_name: farm',
    '    basic_auth:',
    '      username: promfleet',
    `      password: '${password}'`,
    '    static_configs:',
    `      - targets: [${addresses.map((a) => `'${a}'`).join(', ')}]`,
    '',
  ].join('\n');
}

describe('the fleet link with mutual TLS', () => {
  it('serves two certified workers every slot, refuses an intruder without a certificate and one without TLS, and keeps the password from them', async () => {
    if (!existsSync(join(root, 'packages/cli/dist/main.js'))) throw new Error('packages/cli/dist is missing: run `pnpm build` first');
    dir = await mkdtemp(join(tmpdir(), 'promfleet-fleet-tls-'));
    pki = makePki();
    farm = await startTargetFarm({ targets: 12, series: 10, host, basicAuth: { username: 'promfleet', password } });
    const config = join(dir, 'promfleet.yml');
    await writeFile(config, configText(farm.targets.map((t) => t.address)));

    const [masterWeb, masterGrpc] = [await pickPort({ host }), await pickPort({ host })];
    const masterUrl = `http://${host}:${masterWeb}`;
    const master = child('master', [
      'master',
      `--config.file=${config}`,
      `--web.listen-address=${host}:${masterWeb}`,
      `--grpc.listen-address=${host}:${masterGrpc}`,
      `--fleet.tls.cert-file=${pki.master.certFile}`,
      `--fleet.tls.key-file=${pki.master.keyFile}`,
      `--fleet.tls.client-ca-file=${pki.caFile}`,
      '--fleet.grace-period=1s',
      '--fleet.startup-grace=1s',
      '--fleet.heartbeat-interval=1s',
    ]);
    await wait('the master to serve its status page', ok(`${masterUrl}/-/healthy`));

    const tlsToMaster = [`--master=${host}:${masterGrpc}`, `--master.tls.ca-file=${pki.caFile}`, '--master.tls.server-name=master.test'];
    const workers = new Map<string, { process: DemoChild; url: string }>();
    const startWorker = async (name: string, args: readonly string[]) => {
      const port = await pickPort({ host });
      const queueDir = `--remote-write.queue-dir=${join(dir, `${name}-remote-write`)}`;
      workers.set(name, { process: child(name, ['worker', `--web.listen-address=${host}:${port}`, queueDir, ...args]), url: `http://${host}:${port}` });
      await wait(`${name} to serve its status page`, ok(`http://${host}:${port}/-/healthy`));
    };
    await startWorker('worker-1', [...tlsToMaster, '--worker.id=worker-1', `--master.tls.cert-file=${pki.worker1.certFile}`, `--master.tls.key-file=${pki.worker1.keyFile}`]);
    await startWorker('worker-2', [...tlsToMaster, '--worker.id=worker-2', `--master.tls.cert-file=${pki.worker2.certFile}`, `--master.tls.key-file=${pki.worker2.keyFile}`]);
    // TLS with the fleet's CA but no client certificate, claiming a good worker's id; and no TLS at all.
    await startWorker('intruder-no-certificate', [...tlsToMaster, '--worker.id=worker-1']);
    await startWorker('intruder-plaintext', [`--master=${host}:${masterGrpc}`, '--worker.id=intruder-plaintext']);
    await wait('the master to be ready', ok(`${masterUrl}/-/ready`));

    const api = async <T>(path: string): Promise<T> => JSON.parse((await httpGet(`${masterUrl}${path}`)).body) as T;
    const activeTargets = async () => (await api<{ data: { activeTargets: ActiveTarget[] } }>('/api/v1/targets?state=active')).data.activeTargets;
    const targets = await wait('every target to be up on a certified worker', async () => {
      const active = await activeTargets();
      const done = active.length === farm?.targets.length && active.every((t) => t.health === 'up' && (t.worker === 'worker-1' || t.worker === 'worker-2'));
      return done ? active : undefined;
    });
    const upSince = Date.now();
    await sleep(watchMs);

    // The targets' own logs: every slot of the window scraped exactly once, and never without the credentials.
    const offsets = new Map(targets.map((t) => [t.labels['instance'] ?? '', scrapeOffsetMs(t.targetId, intervalMs)]));
    const endMs = Date.now() - intervalMs;
    for (const target of farm.targets) {
      const offset = offsets.get(target.address) ?? Number.NaN;
      const served = slots.served(target.requests, offset, { from: upSince, to: endMs });
      expect({ address: target.address, served }).toEqual({ address: target.address, served: slots.between(offset, { from: upSince, to: endMs }) });
      expect({ address: target.address, unauthorized: target.unauthorized.length }).toEqual({ address: target.address, unauthorized: 0 });
    }
    const owners = new Set((await activeTargets()).map((t) => t.worker));
    expect([...owners].sort()).toEqual(['worker-1', 'worker-2']);

    // Only the certified workers are members, each bound to its certificate; the intruders never got in.
    const members = (await api<{ data: { workers: WorkerEntry[] } }>('/api/v1/workers')).data.workers;
    expect(members.map((w) => [w.id, w.state, w.identity])).toEqual([
      ['worker-1', 'connected', 'x509:CN=worker-1,O=promfleet'],
      ['worker-2', 'connected', 'x509:CN=worker-2,O=promfleet'],
    ]);
    const masterMetrics = (await httpGet(`${masterUrl}/metrics`)).body;
    const refused = (reason: string) => Number(new RegExp(`^promfleet_fleet_connections_refused_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(masterMetrics)?.[1]);
    expect({ noClientCertificate: refused('no_client_certificate') >= 1, noTls: refused('no_tls') >= 1 }).toEqual({ noClientCertificate: true, noTls: true });
    const masterLog = readFileSync(master.logFile, 'utf8');
    for (const reason of ['no_client_certificate', 'no_tls']) expect(masterLog).toMatch(new RegExp(`level=warn msg="fleet connection refused" peer=\\S*127\\.0\\.0\\.1:\\d+ reason=${reason} `));

    // The intruders hold nothing, are not ready, and nothing they can read holds the password.
    for (const name of ['intruder-no-certificate', 'intruder-plaintext']) {
      const intruder = workers.get(name);
      if (intruder === undefined) throw new Error(`no ${name}`);
      expect({ name, running: intruder.process.running(), ready: (await httpGet(`${intruder.url}/-/ready`)).status }).toEqual({ name, running: true, ready: 503 });
      const seen = await readable(intruder.process, [`${intruder.url}/`, `${intruder.url}/metrics`]);
      expect({ name, leaked: seen.includes(password), farmAddress: seen.includes(farm.targets[0]?.address ?? '') }).toEqual({ name, leaked: false, farmAddress: false });
    }
    expect(readFileSync(workers.get('intruder-no-certificate')?.process.logFile ?? '', 'utf8')).toMatch(/UNAUTHENTICATED|client certificate/);

    // Nor do the master's and the good workers' logs, pages and APIs: the password only travels to the targets.
    const masterSeen = await readable(master, ['/', '/metrics', '/api/v1/targets', '/api/v1/workers', ...targets.map((t) => `/api/v1/targets/${t.targetId}`)].map((p) => `${masterUrl}${p}`));
    expect(masterSeen.includes(password)).toBe(false);
    for (const name of ['worker-1', 'worker-2']) {
      const worker = workers.get(name);
      if (worker === undefined) throw new Error(`no ${name}`);
      expect({ name, leaked: (await readable(worker.process, [`${worker.url}/`, `${worker.url}/metrics`])).includes(password) }).toEqual({ name, leaked: false });
    }
  }, 120_000);

  it('refuses to start without TLS when the config holds an inline secret, naming the field and --fleet.allow-insecure-secrets', async () => {
    if (dir === '') dir = await mkdtemp(join(tmpdir(), 'promfleet-fleet-tls-'));
    const config = join(dir, 'insecure.yml');
    await writeFile(config, configText(['127.0.0.1:9']));
    const [web, grpc] = [await pickPort({ host }), await pickPort({ host })];
    const master = child('master-without-tls', ['master', `--config.file=${config}`, `--web.listen-address=${host}:${web}`, `--grpc.listen-address=${host}:${grpc}`]);
    expect(await master.exited).toEqual({ code: 1 });
    const log = readFileSync(master.logFile, 'utf8');
    expect(log).toContain('--fleet.allow-insecure-secrets');
    expect(log).toMatch(/scrape job "farm": basic_auth\.password/);
    expect(log.includes(password)).toBe(false);
  }, 30_000);
});
