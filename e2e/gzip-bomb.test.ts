/**
 * Hostile input end to end, on real processes: a gzip bomb (1 GiB of zeros in about 1 MB) among normal targets of
 * one static job, scraped by `promfleet worker` with its default `--scrape.max-body-size` (64 MiB), assigned by
 * `promfleet master`, written to a real Prometheus. The bomb target reports up=0 with Prometheus' error text, every
 * other target is scraped at every slot with up=1 throughout, the worker counts each bomb scrape as over the limit,
 * and its peak RSS (VmHWM) stays far below the 2 GiB limit of deploy/base/worker.yaml. Needs `pnpm build` first.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scrapeOffsetMs } from '../packages/model/src/index.js';
import { startTargetFarm, type TargetFarm } from '../packages/testkit/src/index.js';
import { httpGet, pickPort, startChild, waitFor, type DemoChild } from '../packages/cli/src/demo-processes.js';
import { queryVector, requiredPrograms } from '../packages/cli/src/demo-system.js';
import { scrapeSlots } from './slots.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/promfleet.js');
const host = '127.0.0.1';
const intervalMs = 2_000;
const slots = scrapeSlots(intervalMs);
/** How long the bomb is scraped before the checks: 12 slots. */
const bombingMs = 12 * intervalMs;
/** The bound asserted on the worker's peak RSS; deploy/base/worker.yaml limits it to 2 GiB. */
const peakRssLimitMiB = 400;

let dir = '';
let farm: TargetFarm | undefined;
const children: DemoChild[] = [];
afterAll(async () => {
  for (const child of [...children].reverse()) await child.stop();
  await farm?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, 60_000);

/** One active target as the master's `/api/v1/targets` lists it. */
interface ActiveTarget {
  readonly targetId: string;
  readonly labels: Record<string, string>;
  readonly health: string;
  readonly lastError: string;
}

type Matrix = readonly { readonly metric: Record<string, string>; readonly values: readonly (readonly [number, string])[] }[];

/** A range-vector selector evaluated at `atMs`: the raw samples of every matching series. */
async function rawSamples(prometheusUrl: string, selector: string, atMs: number): Promise<Matrix> {
  const { status, body } = await httpGet(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(selector)}&time=${atMs / 1000}`, 15_000);
  if (status !== 200) throw new Error(`query ${selector}: HTTP ${status}: ${body}`);
  return (JSON.parse(body) as { data: { result: Matrix } }).data.result;
}

/** A field of `/proc/<pid>/status` in MiB (the kernel gives kB). */
function procStatusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a gzip bomb target', () => {
  it('reports up=0 with the body size limit error while the others keep every slot, and the worker stays small', async () => {
    if (!existsSync(join(root, 'packages/cli/dist/main.js'))) throw new Error('packages/cli/dist is missing: run `pnpm build` first');
    dir = await mkdtemp(join(tmpdir(), 'promfleet-bomb-'));
    const child = (name: string, command: string, args: readonly string[]): DemoChild => {
      const c = startChild({ name, command, args, logFile: join(dir, `${name}.log`), cwd: root });
      children.push(c);
      return c;
    };
    const wait = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> =>
      waitFor(probe, { what, timeoutMs, children: children.filter((c) => c.running()) });
    const ok = (url: string) => async () => ((await httpGet(url)).status === 200 ? true : undefined);

    farm = await startTargetFarm({ targets: 4, series: 20, gzipBombs: 1, host });
    const [bomb] = farm.gzipBombs;
    if (bomb === undefined) throw new Error('no gzip bomb target');
    const normal = farm.targets;

    const prometheusPort = await pickPort({ host });
    const prometheusUrl = `http://${host}:${prometheusPort}`;
    const prometheusConfig = join(dir, 'receiver.yml');
    await writeFile(prometheusConfig, 'global:\n  scrape_interval: 1m\n');
    child(requiredPrograms.prometheus, requiredPrograms.prometheus, [
      `--config.file=${prometheusConfig}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=${host}:${prometheusPort}`,
      '--web.enable-remote-write-receiver',
    ]);
    await wait('Prometheus to be ready', ok(`${prometheusUrl}/-/ready`));

    // One job holds the bomb and the normal targets alike.
    const addresses = [...normal, bomb].map((t) => `'${t.address}'`).join(', ');
    const config = join(dir, 'promfleet.yml');
    await writeFile(
      config,
      [
        'global:',
        `  scrape_interval: ${intervalMs}ms`,
        `  scrape_timeout: ${intervalMs}ms`,
        'scrape_configs:',
        '  - job_name: farm',
        '    static_configs:',
        `      - targets: [${addresses}]`,
        'remote_write:',
        `  - url: ${prometheusUrl}/api/v1/write`,
        '',
      ].join('\n'),
    );
    const [masterWeb, masterGrpc, workerWeb] = [await pickPort({ host }), await pickPort({ host }), await pickPort({ host })];
    const masterUrl = `http://${host}:${masterWeb}`;
    child('master', process.execPath, [
      bin,
      'master',
      `--config.file=${config}`,
      `--web.listen-address=${host}:${masterWeb}`,
      `--grpc.listen-address=${host}:${masterGrpc}`,
      '--fleet.grace-period=1s',
      '--fleet.startup-grace=1s',
      '--fleet.heartbeat-interval=1s',
    ]);
    await wait('the master to serve its status page', ok(`${masterUrl}/-/healthy`));
    // The worker's own process (node, not a shell), so that /proc/<pid> is the worker's.
    const worker = child('worker', process.execPath, [bin, 'worker', `--master=${host}:${masterGrpc}`, '--worker.id=worker-1', `--web.listen-address=${host}:${workerWeb}`, `--remote-write.queue-dir=${join(dir, 'remote-write')}`]);
    await wait('the worker to serve its status page', ok(`http://${host}:${workerWeb}/-/healthy`));
    const startRssMiB = procStatusMiB(worker.pid, 'VmRSS');
    await wait('the master to be ready', ok(`${masterUrl}/-/ready`));

    const up = (value: string) => async () => new Set((await queryVector(prometheusUrl, `up{job="farm"} == ${value}`)).map((s) => s.metric['instance']));
    await wait(
      'Prometheus to have up=1 for the normal targets and up=0 for the bomb',
      async () => {
        const [ones, zeros] = [await up('1')(), await up('0')()];
        return normal.every((t) => ones.has(t.address)) && zeros.has(bomb.address) ? true : undefined;
      },
      60_000,
    );
    const upSince = Date.now();
    await sleep(bombingMs);

    // The master shows the bomb down with Prometheus' error text, the others up.
    const targets = (JSON.parse((await httpGet(`${masterUrl}/api/v1/targets?state=active`)).body) as { data: { activeTargets: ActiveTarget[] } }).data.activeTargets;
    const byAddress = new Map(targets.map((t) => [t.labels['instance'] ?? '', t]));
    expect(byAddress.get(bomb.address)).toMatchObject({ health: 'down', lastError: 'body size limit exceeded' });
    for (const t of normal) expect(byAddress.get(t.address)).toMatchObject({ health: 'up', lastError: '' });

    // In Prometheus, every target has an `up` sample at every slot of the window: 1 for the normal targets, 0 for
    // the bomb. The window ends an interval ago, so its samples have all been written.
    // Neither end is any target's slot, so no slot sits on the window's edge (which Prometheus 2 and 3 treat apart).
    const offsetOf = (address: string) => scrapeOffsetMs(byAddress.get(address)?.targetId ?? '0', intervalMs);
    const offsets = targets.map((t) => offsetOf(t.labels['instance'] ?? ''));
    const isSlot = (ms: number) => offsets.some((o) => (((ms - o) % intervalMs) + intervalMs) % intervalMs === 0);
    let endMs = Date.now() - intervalMs;
    while (isSlot(endMs)) endMs -= 1;
    let fromMs = upSince;
    while (isSlot(fromMs)) fromMs += 1;
    const lengthMs = endMs - fromMs;
    const expected = [...normal, bomb].map((t) => ({ instance: t.address, value: t === bomb ? '0' : '1', slots: slots.between(offsetOf(t.address), { from: fromMs, to: endMs }) }));
    const seen = (matrix: Matrix) =>
      expected.map(({ instance }) => {
        const series = matrix.find((s) => s.metric['instance'] === instance);
        const values = series?.values ?? [];
        return { instance, value: [...new Set(values.map(([, v]) => v))].join(), slots: values.map(([t]) => Math.round(t * 1000)) };
      });
    let upSamples = seen(await rawSamples(prometheusUrl, `up{job="farm"}[${lengthMs}ms]`, endMs));
    for (let tries = 0; tries < 20 && JSON.stringify(upSamples) !== JSON.stringify(expected); tries++) {
      await sleep(500);
      upSamples = seen(await rawSamples(prometheusUrl, `up{job="farm"}[${lengthMs}ms]`, endMs));
    }
    expect(upSamples).toEqual(expected);
    expect(expected.every((e) => e.slots.length >= bombingMs / intervalMs - 1)).toBe(true);

    // The farm saw one request per slot from every target, the bomb included: no scrape was skipped or delayed.
    for (const t of [...normal, bomb]) {
      const offset = offsetOf(t.address);
      const served = slots.served(t.requests, offset, { from: fromMs, to: endMs });
      expect({ address: t.address, served }).toEqual({ address: t.address, served: slots.between(offset, { from: fromMs, to: endMs }) });
    }

    // The worker is alive, counted every bomb scrape as over the limit, and its peak RSS stays far below its limit.
    expect(worker.running()).toBe(true);
    const bombScrapes = bomb.requests.length;
    const metrics = (await httpGet(`http://${host}:${workerWeb}/metrics`)).body;
    const exceeded = Number(/^promfleet_worker_scrapes_exceeded_body_size_limit_total (\d+)$/m.exec(metrics)?.[1]);
    // A bomb scrape may be in flight: the farm has logged its request, the worker not yet counted it.
    expect(exceeded).toBeGreaterThanOrEqual(bombScrapes - 1);
    expect(exceeded).toBeLessThanOrEqual(bombScrapes);
    const peakRssMiB = procStatusMiB(worker.pid, 'VmHWM');
    console.log(
      `gzip bomb e2e: worker peak RSS (VmHWM) ${peakRssMiB.toFixed(1)} MiB after ${bombScrapes} scrapes of a 1 GiB gzip bomb ` +
        `(RSS ${startRssMiB.toFixed(1)} MiB at start, before its first scrape; bound asserted ${peakRssLimitMiB} MiB)`,
    );
    expect(peakRssMiB).toBeLessThan(peakRssLimitMiB);
  }, 180_000);
});
