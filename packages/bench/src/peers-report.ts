/**
 * The worker benchmark's report: the shared harness's per-run results (one JSON object per line, written by
 * `../shared/bench/lib/peer_scrape.py`) and the driver's per-process split of promfleet's runs, turned into
 * medians per collector and scale, the ratios of promfleet to the peers run in the same invocation, and markdown.
 * Pure: no I/O, so the arithmetic is tested on fixed rows.
 */
import { median } from './measure.js';
import type { BarChart, BarSeries } from './plot-svg.js';

/** The fields of one harness result this report reads (the harness writes many more). */
export interface HarnessRun {
  readonly run_id: string;
  readonly collector: string;
  readonly collector_version: string;
  readonly payload: string;
  readonly targets: number;
  readonly series_per_target: number;
  readonly interval_s: number;
  readonly repeat: number;
  readonly window_wall_s: number;
  readonly expected_payload_samples: number;
  readonly received_payload_samples: number | null;
  readonly delivery_ratio: number | null;
  readonly cpu_s: number;
  readonly cores: number;
  readonly cpu_us_per_sample: number | null;
  readonly rss_steady_bytes: number;
  readonly rss_peak_bytes: number;
  readonly bytes_per_series: number;
  readonly rw_bytes_per_sample?: number;
  /** Scrapes whose `up` sample is timestamped in the window, as the receiver counts them, and those with up=1. */
  readonly scrapes?: number | null;
  readonly scrapes_up?: number | null;
  readonly steady: boolean;
  readonly host_busy_cores: number;
  readonly other_cores: number;
  /** The host-speed probe just before and after the window: CPU and wall ns per sample of fixed parse work. */
  readonly calib_before: { readonly cpu_ns: number; readonly wall_ns: number } | null;
  readonly calib_after: { readonly cpu_ns: number; readonly wall_ns: number } | null;
}

/**
 * What the driver measured of promfleet's processes alone in one run's window, from `/proc/<pid>`: CPU seconds
 * and the median RSS of the worker and of the master.
 */
export interface ProcessSplit {
  readonly run_id: string;
  readonly worker_cpu_s: number;
  readonly master_cpu_s: number;
  readonly worker_rss_steady_bytes: number;
  readonly master_rss_steady_bytes: number;
  /** The window the split covers, in seconds; the harness's own window, estimated from its log to within ~1 s. */
  readonly window_s: number;
  /** CPU seconds of the Remote-Write 2.0 bridge (`rw2-bridge.ts`) over the window, for runs that used it. */
  readonly bridge_cpu_s?: number;
  /**
   * The increase of the worker's `promfleet_worker_scrapes_total` by result, read from its /metrics at the end of
   * the warm-up and again after the window: scrapes that failed after the warm-up, by the worker's own count.
   */
  readonly worker_scrapes_after_warmup?: WorkerScrapeCounts;
}

/** The worker's `promfleet_worker_scrapes_total` by result at one moment. */
export interface WorkerScrapeCounts {
  readonly success: number;
  readonly failure: number;
}

/** The worker's scrape counters from the text of its /metrics (a result not yet seen counts 0). */
export function workerScrapeCounts(metricsText: string): WorkerScrapeCounts {
  const value = (result: string): number => {
    const match = new RegExp(`^promfleet_worker_scrapes_total\\{result="${result}"\\} (\\S+)$`, 'm').exec(metricsText);
    return match?.[1] === undefined ? 0 : Number(match[1]);
  };
  return { success: value('success'), failure: value('failure') };
}

/** Medians over one collector's runs at one scale. */
export interface CellSummary {
  readonly collector: string;
  readonly version: string;
  readonly scale: string;
  readonly series: number;
  readonly runs: number;
  /** Runs the harness counted as steady (no backlog in the window, delivery ≥ 0.999); medians are over these. */
  readonly steadyRuns: number;
  readonly usPerSample: number | undefined;
  readonly cores: number | undefined;
  readonly rssSteadyMiB: number | undefined;
  readonly bytesPerSeries: number | undefined;
  /** The lowest delivery ratio of the runs (1 = every sample confirmed at the receiver, none twice). */
  readonly deliveryMin: number | undefined;
  /** The highest, which is above 1 when samples arrived twice. */
  readonly deliveryMax: number | undefined;
  /** The most scrapes a run missed in its window: targets × intervals minus the `up` samples the receiver holds. */
  readonly skippedMax: number | undefined;
  /** The most scrapes of a run that failed (up=0) in its window. */
  readonly failedMax: number | undefined;
  /** Scrapes in one window: targets × the intervals it spans. */
  readonly scrapesExpected: number;
  readonly rwBytesPerSample: number | undefined;
  /** Host load besides the collector, farm and receiver during the windows (cores, median). */
  readonly otherCores: number | undefined;
  /** The harness's host-speed probe (ns of CPU per sample of fixed parse work), median of before and after. */
  readonly probeNs: number | undefined;
}

/** The worker alone (and the master's share), medians over promfleet's runs at one scale. */
export interface SplitSummary {
  readonly collector: string;
  readonly scale: string;
  readonly runs: number;
  readonly workerUsPerSample: number | undefined;
  readonly workerCores: number | undefined;
  readonly workerRssMiB: number | undefined;
  readonly workerBytesPerSeries: number | undefined;
  /** The worker's and the master's RSS together, per series (the wrapper script the harness also counts left out). */
  readonly masterWorkerBytesPerSeries: number | undefined;
  /** The most scrapes the worker counted as failed after the warm-up in one run, when the driver read its /metrics. */
  readonly workerFailedAfterWarmupMax: number | undefined;
  readonly masterCores: number | undefined;
  readonly masterRssMiB: number | undefined;
  /** The Remote-Write 2.0 bridge's cores, for runs that used it. */
  readonly bridgeCores: number | undefined;
}

/** A scale's name as the table shows it: `200 × 927 (node) @ 5s`. */
export function scaleOf(run: Pick<HarnessRun, 'targets' | 'series_per_target' | 'payload' | 'interval_s'>): string {
  return `${run.targets} × ${run.series_per_target} (${run.payload}) @ ${run.interval_s}s`;
}

const MiB = 1024 * 1024;

function defined(values: readonly (number | null | undefined)[]): number[] {
  return values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

/** The largest of the defined values, or undefined when there are none. */
function highest(values: readonly (number | null | undefined)[]): number | undefined {
  const known = defined(values);
  return known.length === 0 ? undefined : Math.max(...known);
}

/** The runs the medians are taken over: the steady ones, or all of them when none was steady. */
function measured(runs: readonly HarnessRun[]): readonly HarnessRun[] {
  const steady = runs.filter((r) => r.steady);
  return steady.length > 0 ? steady : runs;
}

/** Medians per collector and scale, in the order the pairs first appear in `runs`. */
export function summarizeCells(runs: readonly HarnessRun[]): CellSummary[] {
  const groups = new Map<string, HarnessRun[]>();
  for (const run of runs) {
    const key = `${run.collector}\u0000${scaleOf(run)}`;
    const group = groups.get(key) ?? [];
    group.push(run);
    groups.set(key, group);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as HarnessRun;
    const m = measured(group);
    const delivered = defined(group.map((r) => r.delivery_ratio));
    return {
      collector: first.collector,
      version: first.collector_version,
      scale: scaleOf(first),
      series: first.targets * first.series_per_target,
      runs: group.length,
      steadyRuns: group.filter((r) => r.steady).length,
      usPerSample: median(defined(m.map((r) => r.cpu_us_per_sample))),
      cores: median(defined(m.map((r) => r.cores))),
      rssSteadyMiB: median(defined(m.map((r) => r.rss_steady_bytes / MiB))),
      bytesPerSeries: median(defined(m.map((r) => r.bytes_per_series))),
      deliveryMin: delivered.length === 0 ? undefined : Math.min(...delivered),
      scrapesExpected: first.expected_payload_samples / first.series_per_target,
      deliveryMax: delivered.length === 0 ? undefined : Math.max(...delivered),
      skippedMax: highest(group.map((r) => (typeof r.scrapes === 'number' ? r.expected_payload_samples / r.series_per_target - r.scrapes : undefined))),
      failedMax: highest(group.map((r) => (typeof r.scrapes === 'number' && typeof r.scrapes_up === 'number' ? r.scrapes - r.scrapes_up : undefined))),
      rwBytesPerSample: median(defined(m.map((r) => r.rw_bytes_per_sample))),
      otherCores: median(defined(m.map((r) => r.other_cores))),
      probeNs: median(defined(m.flatMap((r) => [r.calib_before?.cpu_ns, r.calib_after?.cpu_ns]))),
    };
  });
}

/** The worker's and the master's shares of promfleet's runs, per scale; `collector` names promfleet's runs. */
export function summarizeSplits(runs: readonly HarnessRun[], splits: readonly ProcessSplit[], collector: string): SplitSummary[] {
  const byRun = new Map(splits.map((s) => [s.run_id, s]));
  const groups = new Map<string, { run: HarnessRun; split: ProcessSplit }[]>();
  for (const run of measured(runs.filter((r) => r.collector === collector))) {
    const split = byRun.get(run.run_id);
    if (split === undefined) continue;
    const key = scaleOf(run);
    const group = groups.get(key) ?? [];
    group.push({ run, split });
    groups.set(key, group);
  }
  return [...groups].map(([scale, group]) => ({
    collector,
    scale,
    runs: group.length,
    workerUsPerSample: median(
      defined(group.map(({ run, split }) => (run.received_payload_samples ? (split.worker_cpu_s * 1e6) / run.received_payload_samples : undefined))),
    ),
    workerCores: median(group.map(({ split }) => split.worker_cpu_s / split.window_s)),
    workerRssMiB: median(group.map(({ split }) => split.worker_rss_steady_bytes / MiB)),
    workerBytesPerSeries: median(group.map(({ run, split }) => split.worker_rss_steady_bytes / (run.targets * run.series_per_target))),
    masterWorkerBytesPerSeries: median(
      group.map(({ run, split }) => (split.worker_rss_steady_bytes + split.master_rss_steady_bytes) / (run.targets * run.series_per_target)),
    ),
    workerFailedAfterWarmupMax: highest(group.map(({ split }) => split.worker_scrapes_after_warmup?.failure)),
    masterCores: median(group.map(({ split }) => split.master_cpu_s / split.window_s)),
    masterRssMiB: median(group.map(({ split }) => split.master_rss_steady_bytes / MiB)),
    bridgeCores: median(defined(group.map(({ split }) => (split.bridge_cpu_s === undefined ? undefined : split.bridge_cpu_s / split.window_s)))),
  }));
}

/** `a ÷ b`, or undefined when either is missing or `b` is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined ? '–' : value.toFixed(digits);
}

function integer(value: number | undefined): string {
  return value === undefined ? '–' : Math.round(value).toLocaleString('en-US');
}

/**
 * The markdown of one invocation: the table per collector and scale, promfleet's split per variant, each variant
 * over each peer, and each variant over the first (promfleet as it ships).
 */
export function peersMarkdown(options: {
  readonly runs: readonly HarnessRun[];
  readonly splits: readonly ProcessSplit[];
  /** The collector names of promfleet's variants, the baseline first; the other collectors are its peers. */
  readonly promfleet: readonly string[];
}): string {
  const cells = summarizeCells(options.runs);
  const present = new Set(cells.map((c) => c.collector));
  const variants = options.promfleet.filter((name) => present.has(name));
  const splits = variants.flatMap((name) => summarizeSplits(options.runs, options.splits, name));
  const lines = [
    '| collector | scale | runs (steady) | CPU µs/sample | cores | RSS steady MiB | bytes/series | delivered (lowest) | RW bytes/sample | others\u2019 cores | probe ns | scrapes missed / failed (most in a run) |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const c of cells) {
    const name = c.version === '' ? c.collector : `${c.collector} ${c.version}`;
    lines.push(
      `| ${name} | ${c.scale} | ${c.runs} (${c.steadyRuns}) | ${fixed(c.usPerSample, 2)} | ${fixed(c.cores, 3)} | ${integer(c.rssSteadyMiB)} | ` +
        `${integer(c.bytesPerSeries)} | ${fixed(c.deliveryMin, 4)} | ${fixed(c.rwBytesPerSample, 1)} | ${fixed(c.otherCores, 2)} | ${integer(c.probeNs)} | ` +
        `${integer(c.skippedMax)} / ${integer(c.failedMax)} |`,
    );
  }
  if (splits.length > 0) {
    const bridged = splits.some((s) => s.bridgeCores !== undefined);
    lines.push(
      '',
      'promfleet, process by process (`/proc/<pid>` over the same windows):',
      '',
      `| collector | scale | runs | worker CPU µs/sample | worker cores | worker RSS MiB | worker bytes/series | master cores | master RSS MiB |${bridged ? ' 2.0 bridge cores |' : ''} master + worker bytes/series | worker\u2019s failed scrapes after warm-up (most in a run) |`,
      `|---|---|---|---:|---:|---:|---:|---:|---:|${bridged ? '---:|' : ''}---:|---:|`,
    );
    for (const s of splits) {
      lines.push(
        `| ${s.collector} | ${s.scale} | ${s.runs} | ${fixed(s.workerUsPerSample, 2)} | ${fixed(s.workerCores, 3)} | ${integer(s.workerRssMiB)} | ${integer(s.workerBytesPerSeries)} | ` +
          `${fixed(s.masterCores, 3)} | ${integer(s.masterRssMiB)} |${bridged ? ` ${fixed(s.bridgeCores, 3)} |` : ''} ` +
          `${integer(s.masterWorkerBytesPerSeries)} | ${integer(s.workerFailedAfterWarmupMax)} |`,
      );
    }
  }
  const peers = [...present].filter((c) => !options.promfleet.includes(c));
  const scales = [...new Set(cells.map((c) => c.scale))];
  const cell = (collector: string, scale: string): CellSummary | undefined => cells.find((c) => c.collector === collector && c.scale === scale);
  const split = (collector: string, scale: string): SplitSummary | undefined => splits.find((s) => s.collector === collector && s.scale === scale);
  const ratioRow = (scale: string, ours: string, theirs: string): string | undefined => {
    const a = cell(ours, scale);
    const b = cell(theirs, scale);
    if (a === undefined || b === undefined) return undefined;
    const sa = split(ours, scale);
    const sb = split(theirs, scale);
    return (
      `| ${scale} | ${ours} | ${theirs} | ${fixed(ratio(a.usPerSample, b.usPerSample), 2)} | ${fixed(ratio(a.bytesPerSeries, b.bytesPerSeries), 2)} | ` +
      `${fixed(ratio(a.rwBytesPerSample, b.rwBytesPerSample), 2)} | ${fixed(ratio(sa?.workerUsPerSample, sb?.workerUsPerSample ?? b.usPerSample), 2)} | ` +
      `${fixed(ratio(sa?.workerBytesPerSeries, sb?.workerBytesPerSeries ?? b.bytesPerSeries), 2)} |`
    );
  };
  const pairs: [string, string][] = [];
  for (const ours of variants) for (const theirs of peers) pairs.push([ours, theirs]);
  const [baseline, ...others] = variants;
  if (baseline !== undefined) for (const ours of others) pairs.push([ours, baseline]);
  const rows = scales.flatMap((scale) => pairs.map(([ours, theirs]) => ratioRow(scale, ours, theirs))).filter((row): row is string => row !== undefined);
  if (rows.length > 0) {
    lines.push(
      '',
      'Ratios in the same invocation, A ÷ B (below 1: A spends less); "worker alone" divides the worker\u2019s share, by a peer\u2019s whole process:',
      '',
      '| scale | A | B | CPU µs/sample | bytes/series | RW bytes/sample | worker alone: CPU µs/sample | worker alone: bytes/series |',
      '|---|---|---|---:|---:|---:|---:|---:|',
      ...rows,
    );
  }
  const checks = variants.flatMap((name) => goalChecks(cells, splits, name));
  if (checks.length > 0) {
    lines.push(
      '',
      `Goals (issue #13): CPU and memory are medians over the steady runs; delivery and scrapes over every run; 1 KB = ${GOALS.kilobyte.toLocaleString('en-US')} B.`,
      '',
      '| collector | scale | goal | figure | result |',
      '|---|---|---|---|---|',
      ...checks.map((c) => `| ${c.collector} | ${c.scale} | ${c.goal} | ${c.figure} | ${c.met === undefined ? 'not measured' : c.met ? 'met' : '**not met**'} |`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The issue's goals for promfleet, beside vmagent measured in the same invocation. */
export const GOALS = {
  kilobyte: 1024,
  /** Worker RSS per series, below this. */
  workerBytesPerSeries: 1024,
  /** The master's and the worker's RSS together per series, below this. */
  masterWorkerBytesPerSeries: 1.2 * 1024,
  /** The peer whose CPU per sample promfleet's must not exceed. */
  cpuReference: 'vmagent',
} as const;

/** One goal at one scale: met, not met, or not measured (undefined), with the figure it was judged on. */
export interface GoalCheck {
  readonly collector: string;
  readonly scale: string;
  readonly goal: string;
  readonly figure: string;
  readonly met: boolean | undefined;
}

/** Whether a delivery ratio prints as 1.0000: nothing lost, nothing twice. */
function deliveredExactly(value: number): boolean {
  return Math.abs(value - 1) < 0.00005;
}

/** The issue's goals checked for `collector` (a promfleet variant) at every scale it ran. */
export function goalChecks(cells: readonly CellSummary[], splits: readonly SplitSummary[], collector: string): GoalCheck[] {
  const checks: GoalCheck[] = [];
  for (const cell of cells.filter((c) => c.collector === collector)) {
    const push = (goal: string, figure: string, met: boolean | undefined): void => {
      checks.push({ collector, scale: cell.scale, goal, figure, met });
    };
    const reference = cells.find((c) => c.collector === GOALS.cpuReference && c.scale === cell.scale);
    const split = splits.find((s) => s.collector === collector && s.scale === cell.scale);
    const cpuRatio = ratio(cell.usPerSample, reference?.usPerSample);
    const workerAlone = split?.workerUsPerSample === undefined ? '' : `; worker alone ${fixed(split.workerUsPerSample, 2)} µs`;
    push(
      `CPU per sample ≤ ${GOALS.cpuReference}\u2019s`,
      reference === undefined
        ? `${fixed(cell.usPerSample, 2)} µs; ${GOALS.cpuReference} not run`
        : `${fixed(cell.usPerSample, 2)} µs vs ${fixed(reference.usPerSample, 2)} µs (${fixed(cpuRatio, 2)}×)${workerAlone}`,
      cell.usPerSample === undefined || reference?.usPerSample === undefined ? undefined : cell.usPerSample <= reference.usPerSample,
    );
    const workerBytes = split?.workerBytesPerSeries;
    push(
      `worker RSS per series < 1 KB`,
      workerBytes === undefined ? 'no per-process split' : `${integer(workerBytes)} B (${integer(split?.workerRssMiB)} MiB)`,
      workerBytes === undefined ? undefined : workerBytes < GOALS.workerBytesPerSeries,
    );
    const bothBytes = split?.masterWorkerBytesPerSeries;
    push(
      `master + worker RSS per series < 1.2 KB`,
      bothBytes === undefined ? 'no per-process split' : `${integer(bothBytes)} B (master ${integer(split?.masterRssMiB)} MiB)`,
      bothBytes === undefined ? undefined : bothBytes < GOALS.masterWorkerBytesPerSeries,
    );
    const { deliveryMin: low, deliveryMax: high } = cell;
    push(
      'delivery 1.0000',
      low === undefined || high === undefined ? 'not queried' : `${fixed(low, 4)}–${fixed(high, 4)} over ${cell.runs} run(s)`,
      low === undefined || high === undefined ? undefined : deliveredExactly(low) && deliveredExactly(high),
    );
    const workerFailed = split?.workerFailedAfterWarmupMax;
    const counted = workerFailed === undefined ? '' : `; worker\u2019s counter: ${integer(workerFailed)} failed after the warm-up`;
    push(
      'no skipped or failed scrape after the warm-up',
      cell.skippedMax === undefined
        ? `not queried${counted}`
        : `missed ${integer(cell.skippedMax)}, failed ${integer(cell.failedMax)} of ${integer(cell.scrapesExpected)} per window (\`up\` at the receiver)${counted}`,
      cell.skippedMax === undefined || cell.failedMax === undefined ? undefined : cell.skippedMax === 0 && cell.failedMax === 0 && (workerFailed ?? 0) === 0,
    );
  }
  return checks;
}

const palette: Readonly<Record<string, string>> = {
  promfleet: '#1f5fa8',
  'promfleet-rw2': '#6a3d9a',
  'promfleet-nometa': '#1b8a8a',
  vmagent: '#e6780a',
  'prom-agent': '#3a8f3a',
};
const workerPalette: Readonly<Record<string, string>> = { promfleet: '#8fb8e6', 'promfleet-rw2': '#c2a5dc', 'promfleet-nometa': '#8fd1d1' };

/** How the plot's title names a peer collector. */
function peerTitle(collector: string): string {
  return collector === 'prom-agent' ? 'Prometheus (agent)' : collector;
}

/**
 * The plot of one invocation: CPU µs per sample and RSS bytes per series, a group of bars per scale and a bar per
 * collector (promfleet's whole session, then its worker alone, then the peers), with the memory goals as lines.
 */
export function peersChart(options: {
  readonly runs: readonly HarnessRun[];
  readonly splits: readonly ProcessSplit[];
  readonly promfleet: readonly string[];
  /** Where the figures come from, for the footnote: the results file and the runs' dates. */
  readonly source: string;
}): BarChart {
  const cells = summarizeCells(options.runs);
  const present = [...new Set(cells.map((c) => c.collector))];
  const variants = options.promfleet.filter((name) => present.includes(name));
  const peers = present.filter((c) => !options.promfleet.includes(c));
  const splits = variants.flatMap((name) => summarizeSplits(options.runs, options.splits, name));
  const scales = [...new Set(cells.map((c) => c.scale))];
  type Bar = { series: BarSeries; value: (scale: string, pick: 'cpu' | 'bytes') => number | undefined };
  const bars: Bar[] = [];
  for (const name of variants) {
    bars.push({
      series: { name: `${name} (master + worker)`, color: palette[name] ?? '#555' },
      value: (scale, pick) => {
        const cell = cells.find((c) => c.collector === name && c.scale === scale);
        const split = splits.find((s) => s.collector === name && s.scale === scale);
        return pick === 'cpu' ? cell?.usPerSample : (split?.masterWorkerBytesPerSeries ?? cell?.bytesPerSeries);
      },
    });
    if (splits.some((s) => s.collector === name)) {
      bars.push({
        series: { name: `${name} worker alone`, color: workerPalette[name] ?? '#aaa' },
        value: (scale, pick) => {
          const split = splits.find((s) => s.collector === name && s.scale === scale);
          return pick === 'cpu' ? split?.workerUsPerSample : split?.workerBytesPerSeries;
        },
      });
    }
  }
  for (const name of peers) {
    bars.push({
      series: { name, color: palette[name] ?? '#777' },
      value: (scale, pick) => {
        const cell = cells.find((c) => c.collector === name && c.scale === scale);
        return pick === 'cpu' ? cell?.usPerSample : cell?.bytesPerSeries;
      },
    });
  }
  const groups = (pick: 'cpu' | 'bytes'): BarChart['panels'][number]['groups'] =>
    scales.map((scale) => ({ label: scale, values: bars.map((bar) => bar.value(scale, pick)) }));
  const runsPerCell = median(cells.map((c) => c.steadyRuns || c.runs)) ?? 0;
  const versions = cells.filter((c, i) => c.version !== '' && cells.findIndex((d) => d.collector === c.collector) === i).map((c) => `${c.collector} ${c.version}`);
  return {
    title: `Worker benchmark: CPU per sample and memory per series${peers.length === 0 ? '' : `, beside ${peers.map(peerTitle).join(' and ')}`}`,
    series: bars.map((bar) => bar.series),
    panels: [
      { title: 'CPU µs per sample (lower is better)', format: (y) => y.toFixed(2), groups: groups('cpu'), references: [] },
      {
        title: 'RSS bytes per series (lower is better)',
        format: (y) => Math.round(y).toLocaleString('en-US'),
        groups: groups('bytes'),
        references: variants.length === 0 ? [] : [
          { y: GOALS.masterWorkerBytesPerSeries, short: '1.2 KB', label: 'goal: master + worker < 1.2 KB' },
          { y: GOALS.workerBytesPerSeries, short: '1 KB', label: 'goal: worker < 1 KB' },
        ],
      },
    ],
    footnotes: [
      `Medians of ${integer(runsPerCell)} run(s) per bar, the collectors interleaved, on the shared harness (../shared/bench); ${options.source}.`,
      'CPU per sample: the collector\u2019s session (for promfleet master + worker + wrapper script) over the samples confirmed at the receiver.',
      'Bytes per series: median RSS over the window ÷ series scraped; promfleet\u2019s from /proc of the master and the worker (wrapper script left out).',
      ...(versions.length === 0 ? [] : [`Versions: ${versions.join('; ')}.`]),
    ],
  };
}
