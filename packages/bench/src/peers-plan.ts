/**
 * What the worker benchmark (`peers.ts`) runs: the scales as the shared harness's flags, and how long an
 * invocation takes.
 */

export interface Scale {
  readonly payload: 'node' | 'ksm';
  readonly targets: number;
  readonly interval: number;
  /** Seconds from the collector's start to the window. */
  readonly warmup: number;
  /** The window, a whole number of intervals. */
  readonly duration: number;
  /** Seconds between the window's end and the receiver's queries (the harness's default: max(10, 2 × interval)). */
  readonly drain: number;
}

/**
 * The three scales, with the harness's warm-up and window for each (its run-matrix.sh; s3's warm-up is
 * longer there, see below).
 * s3's warm-up is 60 s, four 15 s intervals: promfleet needs ~5 s to start two Node processes, connect and get its
 * assignment, and each target's first slot falls anywhere in its first interval, so 60 s leaves every target at least
 * three scrapes before the window (the first fills its series cache, the next ones run the steady path and let the
 * heap settle), and the remote-write backlog of the slow first scrapes drains before the window starts. The run
 * matrix's 45 s would leave some targets two.
 */
export const scales = {
  s1: { payload: 'node', targets: 200, interval: 5, warmup: 30, duration: 60, drain: 10 },
  s2: { payload: 'ksm', targets: 50, interval: 5, warmup: 60, duration: 60, drain: 10 },
  s3: { payload: 'node', targets: 600, interval: 15, warmup: 60, duration: 90, drain: 30 },
} as const satisfies Readonly<Record<string, Scale>>;

export type ScaleName = keyof typeof scales;
export const scaleNames = Object.keys(scales) as ScaleName[];

export function scaleArgs(scale: Scale): string[] {
  return [
    '--payload', scale.payload,
    '--targets', String(scale.targets),
    '--interval', String(scale.interval),
    '--warmup', String(scale.warmup),
    '--duration', String(scale.duration),
    '--drain', String(scale.drain),
  ];
}

/** Series per target of the harness's payloads (its README). */
export const PAYLOAD_SERIES = { node: 927, ksm: 10_000 } as const;

/**
 * Seconds one harness run takes besides its warm-up, window and drain: ~10 s for the quiet-host check (3 s at
 * least), the farm's and the receiver's start and two host-speed probes, then the receiver's queries and the
 * collector's stop, which grow with the series: 22 s at s1 (185,400 series) and 45 s at s3 (556,200) on the 2-core
 * host, about 1 s per 10,000 series.
 */
export function runOverheadSeconds(scale: Scale): number {
  return 10 + (scale.targets * PAYLOAD_SERIES[scale.payload]) / 10_000;
}

/** The invocation's expected duration in seconds without waiting for a quiet host, and the most that waiting adds. */
export function estimateSeconds(plan: { repeats: number; scales: readonly Scale[]; collectors: number; warmup: number | undefined; quietWait: number }): { typical: number; quietWaitMax: number } {
  const perCollector = plan.scales.reduce((sum, s) => sum + (plan.warmup ?? s.warmup) + s.duration + s.drain + runOverheadSeconds(s), 0);
  const runs = plan.repeats * plan.scales.length * plan.collectors;
  return { typical: plan.repeats * plan.collectors * perCollector, quietWaitMax: runs * plan.quietWait };
}
