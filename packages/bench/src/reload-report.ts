/**
 * The reload benchmark's figures and its markdown table: what one config reload cost promfleet's master and vmagent
 * on the same cluster, medians over runs, and the ratio promfleet ÷ vmagent.
 */
import type { RequestCount } from '@promfleet/testkit';
import { medianOf, ratio } from './report.js';

/** What one reload cost one discoverer. */
export interface ReloadMeasure {
  /** From sending the reload (IPC call, SIGHUP) to the new target set being complete; undefined if it never was. */
  readonly completeMs: number | undefined;
  /** CPU seconds over the reload window, minus what the process spends idle over as long. */
  readonly cpuSeconds: number;
  /** Requests to the API server from the reload until the window closed. */
  readonly requests: readonly RequestCount[];
  /** Targets of the changed job, and how many carry the added label after the reload (undefined: not observed). */
  readonly changedJobTargets: number;
  readonly labelled: number | undefined;
  /** Targets of unchanged jobs that the reload built again (promfleet: new objects; vmagent: scrapers restarted). */
  readonly unchangedRecreated: number;
}

/** The whole run, as printed in JSON. */
export interface ReloadSummary {
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly node: string; readonly vmagent: string };
  readonly command: string;
  readonly cluster: { readonly pods: number; readonly nodes: number; readonly services: number; readonly endpointSlices: number };
  readonly targets: number;
  readonly changedJob: string;
  readonly promfleet: readonly ReloadMeasure[];
  readonly vmagent: readonly ReloadMeasure[];
  readonly skipped: readonly string[];
}

/**
 * CPU a reload cost: the window's CPU minus the idle rate (measured over `idle`) over the window's length.
 * Both in seconds of CPU and milliseconds of wall time.
 */
export function reloadCpuSeconds(idle: { readonly cpuSeconds: number; readonly ms: number }, window: { readonly cpuSeconds: number; readonly ms: number }): number {
  if (idle.ms <= 0) throw new RangeError(`reloadCpuSeconds: the idle window must be longer than 0 ms, got ${idle.ms}`);
  return window.cpuSeconds - (idle.cpuSeconds / idle.ms) * window.ms;
}

/** LIST and WATCH requests of a request table, API discovery and `/version` apart. */
export function listsAndWatches(rows: readonly RequestCount[]): { readonly lists: number; readonly watches: number } {
  let lists = 0;
  let watches = 0;
  for (const r of rows) {
    if (r.verb === 'list') lists += r.count;
    else if (r.verb === 'watch') watches += r.count;
  }
  return { lists, watches };
}

function format(value: number | undefined, digits: number): string {
  if (value === undefined) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The results table: one row per measure, medians of the runs, and promfleet ÷ vmagent. */
export function reloadTable(summary: ReloadSummary): string {
  const rows: [string, (m: ReloadMeasure) => number | undefined, number][] = [
    ['reload → new target set complete (ms)', (m) => m.completeMs, 0],
    ['CPU spent by the reload (s)', (m) => m.cpuSeconds, 2],
    ['API requests: LIST', (m) => listsAndWatches(m.requests).lists, 0],
    ['API requests: WATCH', (m) => listsAndWatches(m.requests).watches, 0],
    [`targets of the changed job (${summary.changedJob})`, (m) => m.changedJobTargets, 0],
    ['… of them with the added label', (m) => m.labelled, 0],
    ['targets of unchanged jobs re-created', (m) => m.unchangedRecreated, 0],
  ];
  const lines = ['| measure | promfleet master | vmagent | ratio |', '|---|---:|---:|---:|'];
  for (const [name, pick, digits] of rows) {
    const ours = medianOf(summary.promfleet, pick);
    const theirs = medianOf(summary.vmagent, pick);
    lines.push(`| ${name} | ${format(ours, digits)} | ${format(theirs, digits)} | ${format(ratio(ours, theirs), 2)} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** The markdown report: the cluster, the table, and whatever was skipped. */
export function reloadMarkdown(summary: ReloadSummary): string {
  const c = summary.cluster;
  const head =
    `**Reload: ${c.pods.toLocaleString('en-US')} pods, ${c.nodes.toLocaleString('en-US')} nodes**, ${c.services} Services, ${c.endpointSlices} EndpointSlices, ` +
    `${summary.targets.toLocaleString('en-US')} targets; medians of ${summary.promfleet.length} promfleet and ${summary.vmagent.length} vmagent runs ` +
    `(\`${summary.command}\`)\n\n`;
  const skipped = summary.skipped.length === 0 ? '' : `\nSkipped:\n\n${summary.skipped.map((s) => `- ${s}`).join('\n')}\n`;
  return `${head}${reloadTable(summary)}${skipped}`;
}
