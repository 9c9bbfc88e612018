/**
 * The discovery benchmark's summary: the JSON it prints (every run's figures, medians, ratios) and the markdown
 * tables made from it.
 */
import type { RequestCount } from '@promfleet/testkit';
import { median } from './measure.js';
import type { PromfleetRun } from './promfleet-run.js';
import type { TrafficFigures } from './traffic.js';
import type { FakeReady } from './protocol.js';
import type { VmagentRun } from './vmagent.js';

/** One vmagent run with the requests it made, as the fake counted them. */
export interface VmagentResult extends VmagentRun {
  readonly expectedTargets: number;
  readonly requests: readonly RequestCount[];
  /** Bytes the fake sent vmagent (which asks for JSON). */
  readonly traffic: TrafficFigures;
}

/** The measurements on one cluster for one configuration, every run of both discoverers. */
export interface Comparison {
  readonly label: string;
  /** Jobs in the configuration and their roles. */
  readonly roles: readonly string[];
  readonly cluster: FakeReady['objects'];
  readonly promfleet: readonly PromfleetRun[];
  /** vmagent's runs; empty when it was not measured (see `vmagentSkipped`). */
  readonly vmagent: readonly VmagentResult[];
  readonly vmagentSkipped: string | undefined;
}

/** Everything one benchmark invocation measured. */
export interface Summary {
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly memoryBytes: number; readonly node: string; readonly vmagent: string };
  readonly command: string;
  readonly startedAt: string;
  readonly wallSeconds: number;
  readonly scale: Comparison | undefined;
  /** The scale comparison again for each further encoding of promfleet's master (`--encodings`). */
  readonly otherEncodings: readonly Comparison[];
  readonly jobs: readonly Comparison[];
  /** Measurements not taken, and why (out of budget, a failure). */
  readonly skipped: readonly string[];
}

/** The median over runs of one figure, skipping runs that lack it. */
export function medianOf<T>(runs: readonly T[], pick: (run: T) => number | undefined): number | undefined {
  return median(runs.map(pick).filter((v): v is number => v !== undefined));
}

/** `a / b`, or undefined when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

/** The total of a request table. */
export function totalRequests(rows: readonly RequestCount[]): number {
  return rows.reduce((sum, r) => sum + r.count, 0);
}

/** Request counts as `verb resource` → count, API discovery and `/version` requests included. */
export function requestsByVerbResource(rows: readonly RequestCount[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) out.set(`${r.verb} ${r.resource}`, (out.get(`${r.verb} ${r.resource}`) ?? 0) + r.count);
  return out;
}

const mib = 1024 * 1024;

function fmt(value: number | undefined, digits = 1): string {
  return value === undefined ? '–' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function fmtRatio(value: number | undefined): string {
  return value === undefined ? '–' : `${fmt(value, 2)}×`;
}

function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

function megabytes(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : bytes / mib;
}

type Row = readonly [label: string, ours: number | undefined, theirs: number | undefined, digits: number];

function table(rows: readonly Row[]): string {
  const lines = ['| measure | promfleet master | vmagent | promfleet ÷ vmagent |', '|---|---:|---:|---:|'];
  for (const [label, ours, theirs, digits] of rows) lines.push(`| ${label} | ${fmt(ours, digits)} | ${fmt(theirs, digits)} | ${fmtRatio(ratio(ours, theirs))} |`);
  return lines.join('\n');
}

/** The figures of one comparison side by side (medians over runs). */
export function comparisonTable(c: Comparison): string {
  const p = c.promfleet;
  const v = c.vmagent;
  const rows: Row[] = [
    ['targets (full set)', medianOf(p, (r) => r.targets), medianOf(v, (r) => r.scrapeWorks), 0],
    ['process start → full target set (s)', seconds(medianOf(p, (r) => r.spawnToFullSetMs)), seconds(medianOf(v, (r) => r.discoveredMs)), 2],
    ['process start → scrapers for every target (s)', undefined, seconds(medianOf(v, (r) => r.activeMs)), 2],
    ['CPU until the full set (s)', medianOf(p, (r) => r.cpuSecondsToFullSet), medianOf(v, (r) => r.cpuSeconds), 2],
    ['RSS holding the full set (MiB)', megabytes(medianOf(p, (r) => r.rssBytes)), megabytes(medianOf(v, (r) => r.memory.rssBytes)), 0],
    ['peak RSS (MiB)', megabytes(medianOf(p, (r) => r.peakRssBytes)), megabytes(medianOf(v, (r) => r.memory.peakRssBytes)), 0],
    ['API requests (lists and watches)', medianOf(p, (r) => totalRequests(r.requests)), medianOf(v, (r) => totalRequests(r.requests)), 0],
  ];
  if (p.some((r) => r.heapBytesPerPod !== undefined)) {
    rows.push(['heap held per pod, after GC (bytes)', medianOf(p, (r) => r.heapBytesPerPod), undefined, 0]);
  }
  if (p.some((r) => r.churn !== undefined)) {
    const churn = (pick: (c: NonNullable<PromfleetRun['churn']>) => number | undefined) => medianOf(p, (r) => (r.churn === undefined ? undefined : pick(r.churn)));
    rows.push(
      ['churn: store writes in the window', churn((c) => c.storeWrites), undefined, 0],
      ['churn: watch events the master received in the window', churn((c) => c.watchEvents), undefined, 0],
      ['CPU per 1,000 watch events received (ms)', churn((c) => c.cpuMsPer1000Events), undefined, 1],
      ['pod changes not in the targets when the window closed (%)', churn((c) => (c.podWrites > 0 ? (100 * c.unmatchedWrites) / c.podWrites : undefined)), undefined, 1],
      ['pod change → targets rebuilt, p50 (ms, changes that made it)', churn((c) => c.rebuilt.p50Ms), undefined, 0],
      ['pod change → targets rebuilt, p99 (ms, changes that made it)', churn((c) => c.rebuilt.p99Ms), undefined, 0],
      ['pod change → allocator notified, p50 (ms)', churn((c) => c.notified.p50Ms), undefined, 0],
      ['pod change → allocator notified, p99 (ms)', churn((c) => c.notified.p99Ms), undefined, 0],
    );
  }
  return table(rows);
}

/** Requests by verb and resource for every comparison, one column per discoverer and job count. */
export function requestsTable(comparisons: readonly Comparison[]): string {
  const columns: { readonly title: string; readonly rows: readonly RequestCount[] }[] = [];
  // A comparison per encoding of the master shares one vmagent measurement; it gets one column.
  const vmagentShown = new Set<VmagentResult>();
  for (const c of comparisons) {
    const first = c.promfleet[0];
    if (first !== undefined) columns.push({ title: `promfleet, ${c.label}`, rows: first.requests });
    const vm = c.vmagent[0];
    if (vm !== undefined && !vmagentShown.has(vm)) columns.push({ title: `vmagent, ${c.label}`, rows: vm.requests });
    if (vm !== undefined) vmagentShown.add(vm);
  }
  const counted = columns.map((col) => requestsByVerbResource(col.rows));
  const keys = [...new Set(counted.flatMap((m) => [...m.keys()]))].sort();
  const lines = [`| request | ${columns.map((c) => c.title).join(' | ')} |`, `|---|${columns.map(() => '---:').join('|')}|`];
  for (const key of keys) lines.push(`| ${key} | ${counted.map((m) => String(m.get(key) ?? 0)).join(' | ')} |`);
  lines.push(`| **total** | ${counted.map((m) => `**${[...m.values()].reduce((a, b) => a + b, 0)}**`).join(' | ')} |`);
  return lines.join('\n');
}

/** The whole summary as markdown: machine, one table per comparison, the requests table, what was skipped. */
export function markdownReport(summary: Summary): string {
  const m = summary.machine;
  const parts = [
    `Machine: ${m.cpus} × ${m.cpuModel}, ${fmt(m.memoryBytes / 1024 ** 3, 0)} GiB, Node ${m.node}, vmagent ${m.vmagent}. Wall time ${fmt(summary.wallSeconds, 0)} s.`,
    `Command: \`${summary.command}\``,
  ];
  for (const c of [...(summary.scale === undefined ? [] : [summary.scale]), ...summary.otherEncodings, ...summary.jobs]) {
    const cl = c.cluster;
    parts.push(
      `### ${c.label}: ${cl.pods.toLocaleString('en-US')} pods, ${cl.nodes.toLocaleString('en-US')} nodes, ${cl.services} services, ${cl.endpointSlices} EndpointSlices (median of ${c.promfleet.length} run${c.promfleet.length === 1 ? '' : 's'})`,
      comparisonTable(c),
    );
    if (c.vmagentSkipped !== undefined) parts.push(`vmagent not measured: ${c.vmagentSkipped}`);
  }
  const all = [...(summary.scale === undefined ? [] : [summary.scale]), ...summary.otherEncodings, ...summary.jobs];
  if (all.length > 0) parts.push('### API requests by verb and resource (first run of each)', requestsTable(all));
  if (summary.skipped.length > 0) parts.push(`Skipped:\n${summary.skipped.map((s) => `- ${s}`).join('\n')}`);
  return `${parts.join('\n\n')}\n`;
}

/**
 * Whether every promfleet run of the scale comparisons, in every encoding, built the same targets, job by job: the
 * runs' digests of their target sets (see master-process.ts) must be one per job.
 */
export function targetSetsReport(scale: readonly Comparison[]): string {
  const byJob = new Map<string, Map<string, { digest: string; targets: number; runs: string[] }>>();
  for (const c of scale) {
    c.promfleet.forEach((run, i) => {
      for (const job of run.jobs) {
        const digests = byJob.get(job.job) ?? new Map<string, { digest: string; targets: number; runs: string[] }>();
        byJob.set(job.job, digests);
        const seen = digests.get(job.digest) ?? { digest: job.digest, targets: job.targets, runs: [] };
        seen.runs.push(`${run.encoding} run ${i + 1}`);
        digests.set(job.digest, seen);
      }
    });
  }
  const lines = [...byJob].map(([job, digests]) => {
    const sets = [...digests.values()];
    if (sets.length === 1) return `- ${job}: identical in ${sets[0]?.runs.join(', ') ?? ''} (${(sets[0]?.targets ?? 0).toLocaleString('en')} targets, SHA-256 ${sets[0]?.digest.slice(0, 16) ?? ''}…)`;
    return `- ${job}: **DIFFERENT** — ${sets.map((d) => `${d.runs.join(', ')}: ${d.targets.toLocaleString('en')} targets, ${d.digest.slice(0, 16)}…`).join('; ')}`;
  });
  return ['### Target sets by encoding', '', ...lines, ''].join('\n');
}
