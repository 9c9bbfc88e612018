/**
 * The master's status page: plain server-rendered HTML, readable without JavaScript and with no external assets.
 * Every value on it comes from workers or discovery (ids, addresses, label values, scrape errors), so every value
 * is escaped, and every one that may quote a URL is redacted; no configuration value is shown but job names.
 */
import { formatDuration, LabelName, redactedUrl, scrapeUrl, webUrl, type ScrapeConfig, type TargetId } from '@promfleet/model';
import type { StaleResource } from '../discovery/metrics.js';
import type { WorkerStatus } from '../fleet/status.js';
import type { OperatorKindState } from '../operator/index.js';
import { goTime, sortedRejected, type OperatorStatus, type StatusSources } from './api.js';
import type { Readiness } from './status-server.js';

/** How many unhealthy targets the page lists at most; the rest are only counted. */
export const maxUnhealthyShown = 100;

/** One job's line on the page: the fleet's targets by health, and discovery's counts. */
export interface JobSummary {
  readonly job: string;
  readonly targets: number;
  readonly up: number;
  readonly down: number;
  readonly unknown: number;
  readonly unassigned: number;
  readonly discovered: number;
  readonly dropped: number;
  readonly invalid: number;
  readonly synced: boolean;
  /** Why the job's discovery serves stale targets: the longest-failing resource it reads, its last error, since when. */
  readonly discoveryError: StaleResource | undefined;
}

/** One target whose last scrape failed. */
export interface UnhealthyTarget {
  readonly id: TargetId;
  readonly job: string;
  readonly instance: string;
  readonly scrapeUrl: string;
  readonly worker: string;
  readonly lastScrapeUnixMs: number;
  readonly lastError: string;
}

/** Everything the page shows, gathered in one pass over the fleet. */
export interface StatusPageView {
  readonly nowUnixMs: number;
  /** Whether the master is ready and why; a leader still recovering says so here. */
  readonly readiness: Readiness;
  readonly workers: readonly WorkerStatus[];
  readonly jobs: readonly JobSummary[];
  /** The first {@link maxUnhealthyShown} targets whose last scrape failed, by job in config order. */
  readonly unhealthy: readonly UnhealthyTarget[];
  readonly unhealthyTotal: number;
  /** The prometheus-operator source's rejected resources and kinds; undefined without `--operator.config`. */
  readonly operator: OperatorStatus | undefined;
}

/** Gathers the page's view: one pass over the fleet's targets, none over discovered labels. */
export function statusPageView(sources: StatusSources, at: { readonly nowUnixMs: number; readonly readiness: Readiness; readonly operator?: OperatorStatus }): StatusPageView {
  const { nowUnixMs, readiness } = at;
  const jobs = sources.discovery.jobs();
  const configs = new Map<string, ScrapeConfig>(jobs.map((j) => [j.job.jobName, j.job]));
  const counts = new Map<string, { targets: number; up: number; down: number; unknown: number; unassigned: number }>();
  const unhealthyByJob = new Map<string, UnhealthyTarget[]>();
  let unhealthyTotal = 0;
  for (const t of sources.fleet.targets()) {
    let c = counts.get(t.job);
    if (c === undefined) counts.set(t.job, (c = { targets: 0, up: 0, down: 0, unknown: 0, unassigned: 0 }));
    c.targets++;
    c[t.health?.health ?? 'unknown']++;
    if (t.owner === undefined) c.unassigned++;
    if (t.health?.health !== 'down') continue;
    unhealthyTotal++;
    const config = configs.get(t.job);
    let list = unhealthyByJob.get(t.job);
    if (list === undefined) unhealthyByJob.set(t.job, (list = []));
    // Keeping the first maxUnhealthyShown per job bounds memory and still fills the page in config order.
    if (list.length >= maxUnhealthyShown) continue;
    list.push({
      id: t.id,
      job: t.job,
      instance: t.labels.get(LabelName.instance) ?? '',
      scrapeUrl: config === undefined ? '' : scrapeUrl(t.labels, config.params),
      worker: t.owner ?? '',
      lastScrapeUnixMs: t.health.lastScrapeUnixMs,
      lastError: t.health.lastError,
    });
  }
  return {
    nowUnixMs,
    readiness,
    workers: sources.fleet.workers(),
    jobs: jobs.map((j) => {
      const c = counts.get(j.job.jobName);
      return {
        job: j.job.jobName,
        targets: c?.targets ?? 0,
        up: c?.up ?? 0,
        down: c?.down ?? 0,
        unknown: c?.unknown ?? 0,
        unassigned: c?.unassigned ?? 0,
        discovered: j.discovered,
        dropped: j.dropped,
        invalid: j.invalid,
        synced: j.synced,
        discoveryError: sources.discovery.jobError?.(j.job),
      };
    }),
    unhealthy: jobs.flatMap((j) => unhealthyByJob.get(j.job.jobName) ?? []).slice(0, maxUnhealthyShown),
    unhealthyTotal,
    operator: at.operator === undefined ? undefined : { rejected: sortedRejected(at.operator.rejected), kinds: at.operator.kinds },
  };
}

/** Text for HTML content and attribute values (double-quoted). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A past instant as "1m30s ago", with the exact time on hover. */
function ago(unixMs: number, nowUnixMs: number): string {
  const seconds = Math.max(0, Math.round((nowUnixMs - unixMs) / 1000));
  return `<span title="${escapeHtml(goTime(unixMs))}">${escapeHtml(formatDuration(seconds * 1000))} ago</span>`;
}

function number(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function table(headers: readonly string[], rows: readonly string[][]): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((cells) => `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

const style = `body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin-bottom:1.5em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2}
.error{font-family:monospace;white-space:pre-wrap;word-break:break-all}
.down{color:#b00}`;

/** How the job columns relate: read left to right, each number splits the one before it. */
const jobsLegend =
  'Discovered = Dropped + Invalid + Kept: each label set discovery found is dropped by <code>relabel_configs</code>, ' +
  'refused as Prometheus would refuse it (Invalid), or kept. Kept label sets that relabel to the same target are one ' +
  'target, scraped once, so Targets \u2264 Kept (the fleet follows discovery within a second). ' +
  'Targets = Up + Down + Unknown (not scraped yet); Unassigned counts those of them no worker holds.';

/** A worker's id, linked to its own status page when its stream is up and its Hello gave the port. */
function workerCell(w: WorkerStatus): string {
  const url = webUrl(w.address, w.webPort);
  return url === undefined ? escapeHtml(w.id) : `<a href="${escapeHtml(url)}">${escapeHtml(w.id)}</a>`;
}

/** What a kind's list state means, for the kinds that contribute no resources. */
const kindStateText: Readonly<Record<Exclude<OperatorKindState, 'listed'>, string>> = {
  pending: 'not listed yet (the API server has not answered; no operator jobs until it does)',
  forbidden: "forbidden: the master's RBAC lacks list/watch on it, so it has no resources (see deploy/operator/rbac.yaml)",
  absent: 'not installed (its CRD is not served), so it has no resources',
};

/** The prometheus-operator section: kinds that contribute nothing and why, then the rejected resources. */
function operatorSection(operator: OperatorStatus, nowUnixMs: number): string {
  const e = escapeHtml;
  const kinds = Object.entries(operator.kinds ?? {}).flatMap(([kind, state]) => (state === 'listed' ? [] : [`<li>${e(kind)}: ${e(kindStateText[state])}</li>`]));
  const rejected =
    operator.rejected.length === 0
      ? '<p>No rejected resources.</p>'
      : table(
          ['Kind', 'Resource', 'Reason', 'Since'],
          operator.rejected.map((r) => [e(r.kind), e(`${r.namespace}/${r.name}`), `<span class="error">${e(redactedUrl(r.reason))}</span>`, ago(r.sinceUnixMs, nowUnixMs)]),
        );
  return `<h2>prometheus-operator resources</h2>
${kinds.length === 0 ? '' : `<ul>\n${kinds.join('\n')}\n</ul>\n`}<h3>Rejected (${operator.rejected.length})</h3>
${rejected}
`;
}

/** The page's HTML. Cells are escaped (and target values redacted) here; {@link StatusPageView} holds raw values. */
export function renderStatusPage(view: StatusPageView): string {
  const e = escapeHtml;
  const r = (text: string) => escapeHtml(redactedUrl(text));
  const workers =
    view.workers.length === 0
      ? '<p>No workers.</p>'
      : table(
          ['Worker', 'State', 'Address', 'Version', 'Targets', 'Cost (samples/scrape)', 'Generation / acked', 'Last seen'],
          view.workers.map((w) => [
            workerCell(w),
            e(w.state),
            e(w.address),
            e(w.softwareVersion),
            `${w.targets}${w.maxTargets === undefined ? '' : ` / ${w.maxTargets}`}`,
            `${number(w.cost)}${w.maxSamples === undefined ? '' : ` / ${number(w.maxSamples)}`}`,
            `${w.generation} / ${w.ackedGeneration}`,
            ago(w.lastSeenUnixMs, view.nowUnixMs),
          ]),
        );
  const discovery = (j: JobSummary): string => {
    const state = j.synced ? 'synced' : 'not synced yet';
    const failing = j.discoveryError;
    if (failing === undefined) return state;
    return `${state}; <span class="down">failing since ${ago(failing.sinceUnixMs, view.nowUnixMs)}</span>: <span class="error">${e(failing.resource)}: ${r(failing.error)}</span>`;
  };
  const jobs =
    view.jobs.length === 0
      ? '<p>No scrape jobs.</p>'
      : `<p>${jobsLegend}</p>\n${table(
          ['Job', 'Discovered', 'Dropped', 'Invalid', 'Kept', 'Targets', 'Up', 'Down', 'Unknown', 'Unassigned', 'Discovery'],
          view.jobs.map((j) => [
            `<a href="/api/v1/targets?scrapePool=${e(encodeURIComponent(j.job))}">${e(j.job)}</a>`,
            String(j.discovered),
            String(j.dropped),
            String(j.invalid),
            String(j.discovered - j.dropped - j.invalid),
            String(j.targets),
            String(j.up),
            j.down > 0 ? `<span class="down">${j.down}</span>` : '0',
            String(j.unknown),
            String(j.unassigned),
            discovery(j),
          ]),
        )}`;
  const shown = view.unhealthy.length < view.unhealthyTotal ? ` (first ${view.unhealthy.length} of ${view.unhealthyTotal})` : ` (${view.unhealthyTotal})`;
  const unhealthy =
    view.unhealthy.length === 0
      ? '<p>None.</p>'
      : table(
          ['Job', 'Instance', 'Scrape URL', 'Worker', 'Last scrape', 'Last error'],
          view.unhealthy.map((t) => [
            e(t.job),
            `<a href="/api/v1/targets/${e(encodeURIComponent(t.id))}">${r(t.instance)}</a>`,
            r(t.scrapeUrl),
            e(t.worker),
            ago(t.lastScrapeUnixMs, view.nowUnixMs),
            `<span class="error">${r(t.lastError)}</span>`,
          ]),
        );
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>promfleet master</title>
<style>
${style}
</style>
</head>
<body>
<h1>promfleet master</h1>
<p>${view.readiness.ready ? 'Ready.' : '<strong>Not ready</strong>.'} ${view.readiness.reasons.map((r) => `${e(r)}.`).join(' ')} Generated ${e(goTime(view.nowUnixMs))}.
API: <a href="/api/v1/targets">targets</a>, <a href="/api/v1/workers">workers</a>, ${view.operator === undefined ? '' : '<a href="/api/v1/operator/rejected">rejected operator resources</a>, '}<a href="/metrics">metrics</a>.</p>
<h2>Workers (${view.workers.length})</h2>
${workers}
<h2>Jobs</h2>
${jobs}
<h2>Unhealthy targets${shown}</h2>
${unhealthy}
${view.operator === undefined ? '' : operatorSection(view.operator, view.nowUnixMs)}</body>
</html>
`;
}
