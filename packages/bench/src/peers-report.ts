/**
 * The worker benchmark's report: the shared harness's per-run results (one JSON object per line, written by
 * `../shared/bench/lib/peer_scrape.py`) and the driver's per-process split of promfleet's runs, turned into
 * medians per collector and scale, the ratios of promfleet to the peers run in the same invocation, and markdown.
 * Pure: no I/O, so the arithmetic is tested on fixed rows.
 */
import { median } from './measure.js';

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
    '| collector | scale | runs (steady) | CPU µs/sample | cores | RSS steady MiB | bytes/series | delivered (lowest) | RW bytes/sample | others\u2019 cores | probe ns |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const c of cells) {
    const name = c.version === '' ? c.collector : `${c.collector} ${c.version}`;
    lines.push(
      `| ${name} | ${c.scale} | ${c.runs} (${c.steadyRuns}) | ${fixed(c.usPerSample, 2)} | ${fixed(c.cores, 3)} | ${integer(c.rssSteadyMiB)} | ` +
        `${integer(c.bytesPerSeries)} | ${fixed(c.deliveryMin, 4)} | ${fixed(c.rwBytesPerSample, 1)} | ${fixed(c.otherCores, 2)} | ${integer(c.probeNs)} |`,
    );
  }
  if (splits.length > 0) {
    const bridged = splits.some((s) => s.bridgeCores !== undefined);
    lines.push(
      '',
      'promfleet, process by process (`/proc/<pid>` over the same windows):',
      '',
      `| collector | scale | runs | worker CPU µs/sample | worker cores | worker RSS MiB | worker bytes/series | master cores | master RSS MiB |${bridged ? ' 2.0 bridge cores |' : ''}`,
      `|---|---|---|---:|---:|---:|---:|---:|---:|${bridged ? '---:|' : ''}`,
    );
    for (const s of splits) {
      lines.push(
        `| ${s.collector} | ${s.scale} | ${s.runs} | ${fixed(s.workerUsPerSample, 2)} | ${fixed(s.workerCores, 3)} | ${integer(s.workerRssMiB)} | ${integer(s.workerBytesPerSeries)} | ` +
          `${fixed(s.masterCores, 3)} | ${integer(s.masterRssMiB)} |${bridged ? ` ${fixed(s.bridgeCores, 3)} |` : ''}`,
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
  return `${lines.join('\n')}\n`;
}
