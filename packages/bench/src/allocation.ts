/**
 * The allocation benchmark: promfleet's allocator against the OpenTelemetry target allocator's consistent-hashing
 * strategy (re-implemented here, allocation-otel.ts) and two stateless bounded designs (allocation-alternatives.ts),
 * on the same seeded fleets with realistic cost skew. In-process and CPU-bound; prints markdown to stdout and
 * progress to stderr.
 *
 *   pnpm build && pnpm --filter @promfleet/bench allocation [--quick] [--seed N] [--budget-seconds S]
 *
 * For each size (100k and 1M targets × 100 and 1,000 workers; `--quick`: 20k and 100k × 20 and 100): the time of a
 * full placement and of one worker joining, memory per target, max/mean cost per worker after placement, a join and a
 * leave, and the cost moved by the join and the leave as a multiple of the ideal 1/N share. For promfleet also cost
 * drift: placed before any cost is known, then real costs reported, then rate-limited rebalancing.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Allocator, type Assignment } from '@promfleet/master';
import { boundedLoadRing, boundedRendezvous } from './allocation-alternatives.js';
import { OtelRing } from './allocation-otel.js';
import { balance, makeFleet, movedCost, workerNames, type Fleet, type Owners } from './allocation-workload.js';

/** One design at one size. Balance figures are max/mean cost per worker; moved figures are multiples of 1/N. */
interface Row {
  readonly design: string;
  readonly targets: number;
  readonly workers: number;
  readonly fullMs: number;
  readonly joinMs: number;
  /** Bytes of state per target, or undefined where the design keeps none of its own. */
  readonly bytesPerTarget: number | undefined;
  readonly placed: number;
  readonly afterJoin: number;
  readonly afterLeave: number;
  readonly movedJoin: number;
  readonly movedLeave: number;
}

/** promfleet's rate-limited rebalancing once real costs replace the mean cost it placed every target with. */
interface DriftRow {
  readonly targets: number;
  readonly workers: number;
  /** Time to take in every target's real cost (one `updateTargets`). */
  readonly recostMs: number;
  readonly drifted: number;
  readonly budget: number;
  readonly calls: number;
  readonly moves: number;
  readonly msPerCall: number;
  readonly settled: number;
}

const usage = `usage: pnpm --filter @promfleet/bench allocation [--quick] [--seed N] [--budget-seconds S]
  --quick             20k and 100k targets × 20 and 100 workers instead of 100k and 1M × 100 and 1,000
  --seed N            the fleet's PRNG seed (default 1)
  --budget-seconds S  skip measurements that would start after S seconds (default 540)`;

function options(): { sizes: readonly (readonly [number, number])[]; seed: number; budgetMs: number } {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, seed: { type: 'string' }, 'budget-seconds': { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const seed = Number(values.seed ?? '1');
  const budget = Number(values['budget-seconds'] ?? '540');
  if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}\n${usage}`);
  if (!(budget > 0)) throw new Error(`--budget-seconds must be a positive number, got ${values['budget-seconds']}\n${usage}`);
  const counts = values.quick === true ? [20_000, 100_000] : [100_000, 1_000_000];
  const fleets = values.quick === true ? [20, 100] : [100, 1_000];
  return { sizes: counts.flatMap((t) => fleets.map((w) => [t, w] as const)), seed, budgetMs: budget * 1000 };
}

function progress(message: string): void {
  process.stderr.write(`[allocation ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap plus ArrayBuffer bytes (typed arrays live outside the heap) after two full collections. */
function memoryBytes(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Lets the event loop run, so ArrayBuffers freed by earlier measurements are released before the next baseline. */
async function quiesce(): Promise<void> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 200));
}

function timed<T>(run: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = run();
  return { value, ms: performance.now() - start };
}

function movedByChanges(allocator: Allocator, changes: readonly Assignment[]): number {
  let moved = 0;
  for (const c of changes) if (c.from !== undefined && c.to !== undefined) moved += allocator.costOf(c.target) ?? 0;
  return moved;
}

function allocatorBalance(allocator: Allocator): number {
  let max = 0;
  let sum = 0;
  const loads = allocator.loads();
  for (const load of loads.values()) {
    max = Math.max(max, load.cost);
    sum += load.cost;
  }
  return max / (sum / loads.size);
}

/** The membership steps every design goes through: N workers, one more joins, then one of the first N leaves. */
function memberships(workers: number): { initial: string[]; joined: string[]; left: string[] } {
  const initial = workerNames(workers);
  const joined = [...initial, ...workerNames(1, workers)];
  const leaving = initial[workers >> 1];
  return { initial, joined, left: joined.filter((w) => w !== leaving) };
}

async function measurePromfleet(fleet: Fleet, workers: number): Promise<Row> {
  const steps = memberships(workers);
  const asInfo = (names: readonly string[]) => names.map((id) => ({ id }));
  await quiesce();
  const before = memoryBytes();
  const allocator = new Allocator();
  const full = timed(() => {
    allocator.setWorkers(asInfo(steps.initial));
    return allocator.setTargets(fleet.byId).length;
  });
  const bytesPerTarget = (memoryBytes() - before) / fleet.ids.length;
  const placed = allocatorBalance(allocator);
  const join = timed(() => allocator.setWorkers(asInfo(steps.joined)));
  const afterJoin = allocatorBalance(allocator);
  const leave = timed(() => allocator.setWorkers(asInfo(steps.left)));
  const afterLeave = allocatorBalance(allocator);
  const row: Row = {
    design: 'promfleet (LPT placement, repaired table)',
    targets: fleet.ids.length,
    workers,
    fullMs: full.ms,
    joinMs: join.ms,
    bytesPerTarget,
    placed,
    afterJoin,
    afterLeave,
    movedJoin: movedByChanges(allocator, join.value) / (fleet.totalCost / (workers + 1)),
    movedLeave: movedByChanges(allocator, leave.value) / (fleet.totalCost / (workers + 1)),
  };
  return row;
}

/**
 * Places the fleet while no cost is known (every target at the mean cost, as a fresh master would use the job's
 * average), then takes in the real costs, then rebalances with a budget of 0.1% of the targets per call until a call
 * moves nothing.
 */
function measureDrift(fleet: Fleet, workers: number): DriftRow {
  const allocator = new Allocator();
  allocator.setWorkers(workerNames(workers).map((id) => ({ id })));
  const average = Math.round(fleet.totalCost / fleet.ids.length);
  allocator.setTargets(new Map(fleet.ids.map((id) => [id, average])));
  const recost = timed(() => allocator.updateTargets({ upsert: fleet.byId }));
  const drifted = allocatorBalance(allocator);
  const budget = Math.max(100, Math.round(fleet.ids.length / 1000));
  let calls = 0;
  let moves = 0;
  let ms = 0;
  while (calls < 1000) {
    const step = timed(() => allocator.rebalance({ moveBudget: budget }));
    if (step.value.length === 0) break;
    calls++;
    moves += step.value.length;
    ms += step.ms;
  }
  return {
    targets: fleet.ids.length,
    workers,
    recostMs: recost.ms,
    drifted,
    budget,
    calls,
    moves,
    msPerCall: calls === 0 ? 0 : ms / calls,
    settled: allocatorBalance(allocator),
  };
}

async function measureOtel(fleet: Fleet, workers: number): Promise<Row> {
  const steps = memberships(workers);
  const place = (members: readonly string[]): Owners => {
    const ring = new OtelRing(members);
    const owner = new Int32Array(fleet.ids.length);
    fleet.ids.forEach((id, i) => (owner[i] = ring.locate(id)));
    return { owner, members };
  };
  const full = timed(() => place(steps.initial));
  // The state the OpenTelemetry allocator keeps to diff assignments is a target → collector map; the ring is tiny.
  await quiesce();
  const before = memoryBytes();
  const state = new Map<string, string>();
  full.value.owner.forEach((w, i) => state.set(fleet.ids[i] ?? '', full.value.members[w] ?? ''));
  const bytesPerTarget = (memoryBytes() - before) / fleet.ids.length;
  const join = timed(() => place(steps.joined));
  const left = place(steps.left);
  return {
    design: 'OpenTelemetry consistent-hashing (baseline)',
    targets: fleet.ids.length,
    workers,
    fullMs: full.ms,
    joinMs: join.ms,
    bytesPerTarget: state.size > 0 ? bytesPerTarget : undefined,
    placed: balance(full.value, fleet.costs).maxOverMean,
    afterJoin: balance(join.value, fleet.costs).maxOverMean,
    afterLeave: balance(left, fleet.costs).maxOverMean,
    movedJoin: movedCost(full.value, join.value, fleet.costs) / (fleet.totalCost / (workers + 1)),
    movedLeave: movedCost(join.value, left, fleet.costs) / (fleet.totalCost / (workers + 1)),
  };
}

function measureStateless(design: string, place: (members: readonly string[]) => Owners, size: { fleet: Fleet; workers: number }): Row {
  const { fleet, workers } = size;
  const steps = memberships(workers);
  const full = timed(() => place(steps.initial));
  const join = timed(() => place(steps.joined));
  const left = place(steps.left);
  return {
    design,
    targets: fleet.ids.length,
    workers,
    fullMs: full.ms,
    joinMs: join.ms,
    bytesPerTarget: undefined,
    placed: balance(full.value, fleet.costs).maxOverMean,
    afterJoin: balance(join.value, fleet.costs).maxOverMean,
    afterLeave: balance(left, fleet.costs).maxOverMean,
    movedJoin: movedCost(full.value, join.value, fleet.costs) / (fleet.totalCost / (workers + 1)),
    movedLeave: movedCost(join.value, left, fleet.costs) / (fleet.totalCost / (workers + 1)),
  };
}

const count = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n));
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const x = (n: number) => n.toFixed(3);

function mainTable(rows: readonly Row[]): string {
  const head = [
    '| targets × workers | design | full placement (ms) | one worker joins (ms) | bytes/target | max/mean: placed / +1 / −1 | moved on +1 (× ideal 1/N) | moved on −1 (× ideal) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  return [
    ...head,
    ...rows.map(
      (r) =>
        `| ${count(r.targets)} × ${count(r.workers)} | ${r.design} | ${ms(r.fullMs)} | ${ms(r.joinMs)} | ${r.bytesPerTarget === undefined ? '—' : r.bytesPerTarget.toFixed(0)} | ${x(r.placed)} / ${x(r.afterJoin)} / ${x(r.afterLeave)} | ${x(r.movedJoin)} | ${x(r.movedLeave)} |`,
    ),
  ].join('\n');
}

function driftTable(rows: readonly DriftRow[]): string {
  return [
    '| targets × workers | take in real costs (ms) | max/mean after drift | budget (moves/call) | calls until settled | moves | ms/call | max/mean settled |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${count(r.targets)} × ${count(r.workers)} | ${ms(r.recostMs)} | ${x(r.drifted)} | ${r.budget} | ${r.calls} | ${r.moves} | ${ms(r.msPerCall)} | ${x(r.settled)} |`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const { sizes, seed, budgetMs } = options();
  const started = performance.now();
  const rows: Row[] = [];
  const drifts: DriftRow[] = [];
  const skipped: string[] = [];
  for (const [targets, workers] of sizes) {
    progress(`fleet of ${targets} targets, ${workers} workers`);
    const fleet = makeFleet(targets, seed);
    const designs: [string, () => Promise<void> | void][] = [
      ['promfleet', async () => void rows.push(await measurePromfleet(fleet, workers))],
      ['promfleet drift', () => void drifts.push(measureDrift(fleet, workers))],
      ['otel', async () => void rows.push(await measureOtel(fleet, workers))],
      [
        'bounded ring',
        () =>
          void rows.push(
            measureStateless('bounded-load ring, cost-weighted, ε=0.05, 100 vnodes', (members) => boundedLoadRing(fleet, { epsilon: 0.05, vnodes: 100, members }), { fleet, workers }),
          ),
      ],
      [
        'bounded rendezvous',
        () => void rows.push(measureStateless('weighted rendezvous, capacity bound ε=0.05', (members) => boundedRendezvous(fleet, { epsilon: 0.05, members }), { fleet, workers })),
      ],
    ];
    for (const [name, measure] of designs) {
      if (performance.now() - started > budgetMs) {
        skipped.push(`${name} at ${count(targets)} × ${count(workers)}`);
        continue;
      }
      progress(`  ${name}`);
      await measure();
    }
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(
    [
      `Node ${process.version}, ${cpu} (${cpus().length} cores), seed ${seed}, ${((performance.now() - started) / 1000).toFixed(0)} s in all.`,
      '',
      mainTable(rows),
      '',
      'promfleet when real costs arrive: placed with every target at the mean cost (costs unknown), then every real cost reported, then `rebalance({ moveBudget })` until a call moves nothing:',
      '',
      driftTable(drifts),
      ...(skipped.length > 0 ? ['', `Skipped (over the time budget): ${skipped.join(', ')}.`] : []),
      '',
    ].join('\n'),
  );
}

await main();
