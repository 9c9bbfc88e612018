/**
 * The fleet end to end, on real parts: a real Prometheus as the remote-write receiver, a real node exporter and the
 * testkit farm as the pods' endpoints, the fake API server serving the pods, and `promfleet master` with two
 * `promfleet worker` processes. Every assertion goes through Prometheus' PromQL API or the farm's request log: every
 * target is up with the right labels, and every series has exactly one sample per scrape slot (no gap, no
 * duplicate) while a third worker joins and leaves again. Needs `pnpm build` first.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scrapeOffsetMs } from '../packages/model/src/index.js';
import { httpGet, waitFor } from '../packages/cli/src/demo-processes.js';
import { queryVector, startDemoSystem, waitForTargetsUp, type DemoSystem, type WorkersBody } from '../packages/cli/src/demo-system.js';
import { scrapeSlots } from './slots.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const intervalMs = 2_000;
const slots = scrapeSlots(intervalMs);
/** `--fleet.handover-lead`'s default: how far ahead the master puts a handover's first slot. */
const handoverLeadMs = 2_000;

let system: DemoSystem | undefined;
afterAll(async () => {
  await system?.stop();
}, 60_000);

/** One active target as the master's `/api/v1/targets` lists it. */
interface ActiveTarget {
  readonly targetId: string;
  readonly worker: string;
  readonly labels: Record<string, string>;
  readonly scrapeUrl: string;
}

async function masterTargets(s: DemoSystem): Promise<ActiveTarget[]> {
  const body = JSON.parse((await httpGet(`${s.master.url}/api/v1/targets?state=active`)).body) as { data: { activeTargets: ActiveTarget[] } };
  return body.data.activeTargets;
}

async function masterWorkers(s: DemoSystem): Promise<WorkersBody['data']['workers']> {
  return (JSON.parse((await httpGet(`${s.master.url}/api/v1/workers`)).body) as WorkersBody).data.workers;
}

type Matrix = readonly { readonly metric: Record<string, string>; readonly values: readonly (readonly [number, string])[] }[];

/** A range-vector selector evaluated at `atMs`: the raw samples of every matching series. */
async function rawSamples(s: DemoSystem, selector: string, atMs: number): Promise<Matrix> {
  const { status, body } = await httpGet(`${s.prometheus.url}/api/v1/query?query=${encodeURIComponent(selector)}&time=${atMs / 1000}`, 15_000);
  if (status !== 200) throw new Error(`query ${selector}: HTTP ${status}: ${body}`);
  const parsed = JSON.parse(body) as { data: { resultType: string; result: Matrix } };
  if (parsed.data.resultType !== 'matrix') throw new Error(`query ${selector}: want a matrix, got ${parsed.data.resultType}`);
  return parsed.data.result;
}

/** A worker's `promfleet_worker_scrape_slots_skipped_total` by reason. */
async function skippedSlots(workerUrl: string): Promise<Record<string, number>> {
  const metrics = (await httpGet(`${workerUrl}/metrics`)).body;
  const lines = metrics.matchAll(/^promfleet_worker_scrape_slots_skipped_total\{reason="([a-z_]+)"\} (\S+)$/gm);
  return Object.fromEntries([...lines].map((m): [string, number] => [m[1] ?? '', Number(m[2])]));
}

/** Every worker's skipped slots: those of the running ones, and `gone` (read before they stopped). */
async function allSkippedSlots(s: DemoSystem, gone: Record<string, Record<string, number>>): Promise<Record<string, Record<string, number>>> {
  const running = await Promise.all([...s.workers.values()].map(async (w) => [w.id, await skippedSlots(w.url)] as const));
  return { ...gone, ...Object.fromEntries(running) };
}

/**
 * Adds the owner changes of the targets named in `found` (as the master recorded them) and the slots each worker
 * says it skipped, to explain a gap.
 */
async function withMoves(s: DemoSystem, found: readonly string[], gone: Record<string, Record<string, number>>): Promise<string[]> {
  if (found.length === 0) return [];
  const targets = await masterTargets(s);
  const instances = new Set(found.map((line) => /^\S+ of (\S+):/.exec(line)?.[1]));
  const moves = await Promise.all(
    targets
      .filter((t) => instances.has(t.labels['instance']))
      .map(async (t) => {
        const body = JSON.parse((await httpGet(`${s.master.url}/api/v1/targets/${t.targetId}`)).body) as { data: { history: { at: string; from: string; to: string; reason: string }[] } };
        return `moves of ${t.labels['instance'] ?? ''}: ${body.data.history.map((m) => `${m.at} ${m.from || '-'}→${m.to || '-'} (${m.reason})`).join(', ')}`;
      }),
  );
  return [...moves, `slots the workers skipped: ${JSON.stringify(await allSkippedSlots(s, gone))}`, ...found];
}

/**
 * Probes until `done` holds for the result or `timeoutMs` passes, then returns the last result either way, so that
 * the expectation after it shows what was wrong. Samples reach Prometheus a remote-write batch after their scrape.
 */
async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * A window end near `nearMs` that is no target's slot, and a length of whole intervals that starts at or after
 * `notBeforeMs`. Neither end is then a slot, so every target has exactly `length / interval` slots in the window,
 * whichever way Prometheus treats the window's ends.
 */
function windowAt(nearMs: number, notBeforeMs: number, offsets: readonly number[]): { endMs: number; lengthMs: number; slots: number } {
  let endMs = Math.floor(nearMs);
  while (offsets.some((o) => (((endMs - o) % intervalMs) + intervalMs) % intervalMs === 0)) endMs -= 1;
  const slots = Math.floor((endMs - notBeforeMs) / intervalMs);
  return { endMs, lengthMs: slots * intervalMs, slots };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('promfleet on real parts', () => {
  it('delivers every sample exactly once, with two workers, while a third joins, and after it leaves', async () => {
    if (!existsSync(join(root, 'packages/cli/dist/main.js'))) throw new Error('packages/cli/dist is missing: run `pnpm build` first');
    const s = await startDemoSystem({
      cluster: { nodes: 1, namespaces: 2, servicesPerNamespace: 5, pods: 25, seed: 1 },
      series: 20,
      workers: 2,
      scrapeIntervalMs: intervalMs,
      ports: 'free',
      masterFlags: ['--fleet.heartbeat-interval=1s'],
    });
    system = s;
    const farmTargets = s.scraped.filter((p) => p.kind === 'farm');
    expect(farmTargets).toHaveLength(s.farm.targets.length);
    expect(farmTargets.length).toBeGreaterThanOrEqual(15);
    expect(s.scraped.filter((p) => p.kind === 'node-exporter')).toHaveLength(1);

    await waitForTargetsUp(s, { timeoutMs: 30_000 });
    const upSince = Date.now();

    // The targets as the master built them: their ids give each its slot offset.
    const targets = await masterTargets(s);
    expect(targets.map((t) => t.labels['instance']).sort()).toEqual(s.scraped.map((p) => p.address).sort());
    const offsetOf = new Map(targets.map((t) => [t.labels['instance'] ?? '', scrapeOffsetMs(t.targetId, intervalMs)]));
    const offsets = [...offsetOf.values()];
    const farmByAddress = new Map(s.farm.targets.map((t) => [t.address, t]));

    // Every target is up, with the labels the master gave it plus the external labels, and nothing else.
    const up = await queryVector(s.prometheus.url, 'up');
    expect(up).toHaveLength(s.scraped.length);
    for (const pod of s.scraped) {
      const series = up.find((u) => u.metric['instance'] === pod.address);
      const target = targets.find((t) => t.labels['instance'] === pod.address);
      expect(series?.value[1]).toBe('1');
      expect(series?.metric).toMatchObject({ job: 'kubernetes-pods', namespace: pod.namespace, pod: pod.pod, node: pod.node, instance: pod.address, cluster: 'demo' });
      expect(series?.metric).toEqual({ __name__: 'up', ...target?.labels, ...s.externalLabels });
    }

    // The node exporter's own samples arrive, under its pod's labels.
    const nodeExporter = s.scraped.find((p) => p.kind === 'node-exporter');
    const cpu = await queryVector(s.prometheus.url, `node_cpu_seconds_total{pod="${nodeExporter?.pod ?? ''}"}`);
    expect(cpu.length).toBeGreaterThan(0);
    expect(cpu[0]?.metric).toMatchObject({ job: 'kubernetes-pods', namespace: 'kube-system', instance: s.nodeExporter.address, cluster: 'demo' });
    const scraped = await queryVector(s.prometheus.url, `scrape_samples_scraped{pod="${nodeExporter?.pod ?? ''}"}`);
    expect(Number(scraped[0]?.value[1])).toBeGreaterThan(100);

    // Two workers, some slots: each farm series has exactly one sample per slot of the window.
    await sleep(5 * intervalMs);
    const first = windowAt(Date.now() - intervalMs, upSince, offsets);
    expect(first.slots).toBeGreaterThanOrEqual(4);
    const expectedSeries = farmTargets.length * s.farm.series;
    const farmMatcher = `job="kubernetes-pods",instance=~"${s.farm.targets.map((t) => t.address.replaceAll('.', '\\\\.')).join('|')}"`;
    const counts = await eventually(
      async () => (await Promise.all(s.farm.metricNames.map((name) => queryVector(s.prometheus.url, `count_over_time(${name}{${farmMatcher}}[${first.lengthMs}ms])`, first.endMs)))).flat(),
      (all) => all.length === expectedSeries && all.every((c) => c.value[1] === String(first.slots)),
    );
    expect(counts).toHaveLength(expectedSeries);
    expect(new Set(counts.map((c) => c.value[1]))).toEqual(new Set([String(first.slots)]));

    // A third worker joins: the master hands some targets to it.
    await s.startWorker('worker-3');
    await waitFor(
      async () => {
        const workers = await masterWorkers(s);
        const joined = workers.find((w) => w.id === 'worker-3');
        const settled = workers.length === 3 && workers.every((w) => w.state === 'connected' && w.generation === w.ackedGeneration);
        return settled && joined !== undefined && joined.targets > 0 ? true : undefined;
      },
      { what: 'worker-3 to hold targets and every worker to acknowledge its assignment', timeoutMs: 20_000 },
    );
    await sleep(handoverLeadMs + 2 * intervalMs);
    const owned = (await masterTargets(s)).filter((t) => t.worker === 'worker-3');
    expect(owned.length).toBeGreaterThan(0);
    const worker3 = s.workers.get('worker-3');
    const metrics = (await httpGet(`${worker3?.url ?? ''}/metrics`)).body;
    expect(Number(/^promfleet_worker_scrapes_total\{result="success"\} (\d+)/m.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);
    await sleep(3 * intervalMs);

    // It leaves with SIGTERM: it hands its targets back, scrapes each through its last slot, and exits 0.
    const gone = { 'worker-3': await skippedSlots(worker3?.url ?? '') };
    expect(await s.stopWorker('worker-3')).toEqual({ code: 0 });
    await waitFor(
      async () => {
        const workers = await masterWorkers(s);
        const all = await masterTargets(s);
        const settled = workers.map((w) => w.id).join() === 'worker-1,worker-2' && workers.every((w) => w.generation === w.ackedGeneration);
        return settled && all.every((t) => t.worker === 'worker-1' || t.worker === 'worker-2') ? true : undefined;
      },
      { what: 'the master to move worker-3 targets back to worker-1 and worker-2', timeoutMs: 20_000 },
    );
    await sleep(4 * intervalMs);

    // The whole window, across both changes: every series of every target has exactly the slot grid as its
    // timestamps, the request counter grows by exactly one per sample, and the farm saw one request per slot.
    const whole = windowAt(Date.now() - intervalMs, upSince, offsets);
    const from = whole.endMs - whole.lengthMs;
    const problems = (matrix: Matrix): string[] =>
      matrix.flatMap((series) => {
        const offset = offsetOf.get(series.metric['instance'] ?? '');
        const times = series.values.map(([t]) => Math.round(t * 1000));
        const want = offset === undefined ? [] : slots.between(offset, { from, to: whole.endMs });
        if (JSON.stringify(times) === JSON.stringify(want)) return [];
        const missing = want.filter((t) => !times.includes(t)).map((t) => new Date(t).toISOString());
        const extra = times.filter((t) => !want.includes(t)).map((t) => new Date(t).toISOString());
        return [`${series.metric['__name__'] ?? ''} of ${series.metric['instance'] ?? ''}: ${times.length} samples, want ${want.length}; missing ${missing.join(' ') || 'none'}, off the slots ${extra.join(' ') || 'none'}`];
      });
    const selector = `{${farmMatcher}}[${whole.lengthMs}ms]`;
    const farmSamples = await eventually(
      () => rawSamples(s, selector, whole.endMs),
      (matrix) => matrix.length >= expectedSeries && problems(matrix).length === 0,
    );
    expect(await withMoves(s, problems(farmSamples), gone)).toEqual([]);
    // Five report series per target besides the farm's own.
    expect(farmSamples).toHaveLength(expectedSeries + 5 * farmTargets.length);
    expect(await withMoves(s, problems(await rawSamples(s, `up{job="kubernetes-pods"}[${whole.lengthMs}ms]`, whole.endMs)), gone)).toEqual([]);
    // The workers agree: none skipped a slot it owned (the master's handover lead left them time).
    const none = { assignment_late: 0, overrun: 0 };
    expect(await allSkippedSlots(s, gone)).toEqual({ 'worker-1': none, 'worker-2': none, 'worker-3': none });

    const counterSteps = farmSamples
      .filter((series) => series.metric['__name__'] === 'http_requests_total')
      .flatMap((series) => series.values.slice(1).map(([, v], i) => Number(v) - Number(series.values[i]?.[1])));
    expect(counterSteps.length).toBe(farmTargets.length * (whole.slots - 1));
    expect(new Set(counterSteps)).toEqual(new Set([1]));

    for (const [address, target] of farmByAddress) {
      const offset = offsetOf.get(address) ?? 0;
      const served = slots.served(target.requests, offset, { from, to: whole.endMs });
      expect({ address, served }).toEqual({ address, served: slots.between(offset, { from, to: whole.endMs }) });
    }

    // The receiver rejected nothing: no duplicate or out-of-order sample was ever sent.
    const receiver = (await httpGet(`${s.prometheus.url}/metrics`)).body;
    const writes = receiver.split('\n').filter((l) => l.startsWith('prometheus_http_requests_total{') && l.includes('handler="/api/v1/write"'));
    expect(writes.length).toBeGreaterThan(0);
    for (const line of writes) expect(line).toMatch(/code="204"/);
  }, 150_000);
});
