/**
 * The bodies of the master's JSON API, as pure functions of the fleet and discovery state: Prometheus'
 * `/api/v1/targets` (`web/api/v1/api.go`, `targets()`) and promfleet's own `/api/v1/workers` and
 * `/api/v1/targets/<id>`, `/api/v1/operator/rejected`. Large bodies are generators of JSON text, so the server can stream 150k targets without
 * holding the whole document (or every target's discovered labels) in memory.
 */
import { compareLabelNames, LabelName, publicLabels, redactedUrl, scrapeUrl, webUrl, type Labels, type ScrapeConfig, type TargetId } from '@promfleet/model';
import type { DiscoveryManager, JobTargets } from '../discovery/manager.js';
import type { StaleResource } from '../discovery/metrics.js';
import type { FleetStatusSource, TargetStatus, WorkerStatus } from '../fleet/status.js';
import { operatorKinds, type OperatorKind, type OperatorKindState, type RejectedOperatorResource } from '../operator/index.js';

/**
 * What the API reads from discovery: each job's counts and, on demand, its discovered label sets; and, when known,
 * why a job's discovery is failing (`DiscoveryMetrics.jobError`).
 */
export type DiscoveryStatusSource = Pick<DiscoveryManager, 'jobs' | 'discovered'> & {
  readonly jobError?: (job: ScrapeConfig) => StaleResource | undefined;
};

/** The state the API bodies are built from. */
export interface StatusSources {
  readonly fleet: FleetStatusSource;
  readonly discovery: DiscoveryStatusSource;
}

/** Prometheus' API error types (`errorType`), with the HTTP status `respondError` gives each. */
export const apiErrorStatus = { bad_data: 400, not_found: 404 } as const;

/** An API error type promfleet uses. */
export type ApiErrorType = keyof typeof apiErrorStatus;

/** A JSON API answer small enough to send whole: its HTTP status and its body. */
export interface ApiResponse {
  readonly status: number;
  readonly body: string;
}

/** What Go's `time.Time{}` marshals to: a target that was never scraped has this `lastScrape`. */
export const zeroTime = '0001-01-01T00:00:00Z';

/**
 * A Unix time in milliseconds as Go's `time.Time` marshals to JSON (RFC 3339 with as many fraction digits as
 * needed, none for a whole second), in UTC; Go's zero time for undefined.
 */
export function goTime(unixMs: number | undefined): string {
  if (unixMs === undefined || !Number.isFinite(unixMs)) return zeroTime;
  const iso = new Date(unixMs).toISOString();
  const match = /\.(\d*?)0*Z$/.exec(iso);
  if (match === null) return iso;
  const fraction = match[1] ?? '';
  return `${iso.slice(0, match.index)}${fraction === '' ? '' : `.${fraction}`}Z`;
}

/**
 * JSON text with `<`, `>`, `&`, U+2028 and U+2029 escaped, as Go's `encoding/json` (and the jsoniter configuration
 * Prometheus uses) writes strings: safe to embed, and never sniffed as HTML. These characters only occur inside
 * strings in JSON, so the whole text can be escaped at once.
 */
export function goJson(text: string): string {
  return text.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A label set as a JSON object with the names in Go's (byte) order, as Go marshals a `map[string]string`. Values are
 * redacted ({@link redactedUrl}): an `__address__` (and the `instance` made from it) or a URL-valued meta label may
 * carry a password. Prometheus shows them as they are; the series written to the receiver still carry the labels
 * as relabeling made them.
 */
export function labelsJson(labels: Labels): string {
  const names = [...labels.keys()].sort(compareLabelNames);
  return goJson(`{${names.map((n) => `${JSON.stringify(n)}:${JSON.stringify(redactedUrl(labels.get(n) ?? ''))}`).join(',')}}`);
}

/** Prometheus' error response (`respondError`): `{"status":"error","errorType":...,"error":...}` with its status. */
export function apiError(type: ApiErrorType, message: string): ApiResponse {
  return { status: apiErrorStatus[type], body: goJson(JSON.stringify({ status: 'error', errorType: type, error: message })) };
}

/** The query parameters of `/api/v1/targets`, as given (the first value of each, or ''). */
export interface TargetsQuery {
  readonly state: string;
  readonly scrapePool: string;
}

/**
 * `/api/v1/targets` as Prometheus answers it, plus promfleet's `worker` and `targetId` on each active target.
 *
 * As `targets()`: `state` is compared lowercased; '' and `any` list both kinds, `active` and `dropped` one, and any
 * other value neither (an empty list is still sent, and no error). Pools come in name order. `scrapePool` keeps
 * one pool in both lists, but `droppedTargetCounts` always has every pool (`null` when dropped targets are not
 * asked for). Invalid targets (relabeling kept them but Prometheus would refuse them) are in neither list, as
 * `TargetsFromGroup` makes no target of them. Dropped targets are listed up to the job's `keep_dropped_targets`
 * (0: all), as `scrapePool.Sync` keeps them.
 *
 * Active targets are the fleet's; their discovered labels come from rebuilding discovery (a relabeling per
 * discovered label set of the pool), so they are `{}` for a target the discoverers no longer hold while the fleet
 * has not caught up yet. `globalUrl` is the scrape URL: the master scrapes nothing itself, so there is no local
 * address to rewrite (Prometheus' `getGlobalURL` rewrites only its own localhost).
 *
 * Unlike Prometheus, every URL, label value and error is redacted ({@link redactedUrl}): a password in a target's
 * address or URL never appears in the answer.
 */
export function* targetsBody(sources: StatusSources, query: TargetsQuery): Generator<string> {
  const state = query.state.toLowerCase();
  const showActive = state === '' || state === 'any' || state === 'active';
  const showDropped = state === '' || state === 'any' || state === 'dropped';
  const jobs = [...sources.discovery.jobs()].sort((a, b) => compareLabelNames(a.job.jobName, b.job.jobName));
  const pools = jobs.filter((j) => query.scrapePool === '' || j.job.jobName === query.scrapePool);
  yield '{"status":"success","data":{"activeTargets":[';
  let first = true;
  if (showActive) {
    for (const job of pools) {
      for (const target of activeTargets(sources, job.job)) {
        yield first ? target : `,${target}`;
        first = false;
      }
    }
  }
  yield '],"droppedTargets":[';
  first = true;
  if (showDropped) {
    for (const job of pools) {
      for (const target of droppedTargets(sources, job.job)) {
        yield first ? target : `,${target}`;
        first = false;
      }
    }
  }
  yield `],"droppedTargetCounts":${showDropped ? droppedCountsJson(jobs) : 'null'}}}`;
}

/** One pool's active targets as JSON: in discovery order, then those the discoverers no longer hold. */
function* activeTargets(sources: StatusSources, job: ScrapeConfig): Generator<string> {
  const pending = new Map<TargetId, TargetStatus>();
  for (const t of sources.fleet.targets(job.jobName)) pending.set(t.id, t);
  if (pending.size === 0) return;
  for (const d of sources.discovery.discovered(job.jobName)) {
    if (d.outcome !== 'kept') continue;
    const target = pending.get(d.targetId);
    if (target === undefined) continue;
    pending.delete(d.targetId);
    yield `{${activeTargetFields({ target, job, discoveredLabels: d.labels })}}`;
    if (pending.size === 0) return;
  }
  for (const target of pending.values()) yield `{${activeTargetFields({ target, job, discoveredLabels: new Map() })}}`;
}

/** One pool's dropped targets as JSON, up to its keep_dropped_targets. */
function* droppedTargets(sources: StatusSources, job: ScrapeConfig): Generator<string> {
  const limit = job.keepDroppedTargets;
  let n = 0;
  for (const d of sources.discovery.discovered(job.jobName)) {
    if (d.outcome !== 'dropped') continue;
    yield `{"discoveredLabels":${labelsJson(d.labels)},"scrapePool":${goJson(JSON.stringify(job.jobName))}}`;
    if (limit > 0 && ++n >= limit) return;
  }
}

/** Every pool's count of dropped label sets, keys in Go's order (`map[string]int`). */
function droppedCountsJson(jobs: readonly JobTargets[]): string {
  return goJson(`{${jobs.map((j) => `${JSON.stringify(j.job.jobName)}:${j.dropped}`).join(',')}}`);
}

/**
 * The fields of one active target as Prometheus' `Target` has them (`labels` without the `__` labels, times as Go
 * marshals them, `health` "unknown" until the first scrape), then promfleet's `worker` ('' when unassigned) and
 * `targetId`. Without the braces, so the single-target answer can add its own fields.
 */
function activeTargetFields(input: { target: TargetStatus; job: ScrapeConfig; discoveredLabels: Labels }): string {
  const { target, job } = input;
  const url = redactedUrl(scrapeUrl(target.labels, job.params));
  const health = target.health;
  const rest = {
    scrapePool: job.jobName,
    scrapeUrl: url,
    globalUrl: url,
    // Workers redact their errors; the master does not rely on every worker doing so.
    lastError: redactedUrl(health?.lastError ?? ''),
    lastScrape: goTime(health?.lastScrapeUnixMs),
    lastScrapeDuration: health?.lastScrapeDurationSeconds ?? 0,
    health: health?.health ?? 'unknown',
    scrapeInterval: target.labels.get(LabelName.scrapeInterval) ?? '',
    scrapeTimeout: target.labels.get(LabelName.scrapeTimeout) ?? '',
    worker: target.owner ?? '',
    targetId: target.id,
  };
  return `"discoveredLabels":${labelsJson(input.discoveredLabels)},"labels":${labelsJson(publicLabels(target.labels))},${goJson(JSON.stringify(rest).slice(1, -1))}`;
}

/**
 * promfleet's `/api/v1/targets/<id>`: the target as `/api/v1/targets` lists it, plus since when its owner holds it,
 * its last scrape's sample counts, and its recent owner changes (oldest first). A 404 `not_found` error for an id
 * the fleet does not know (or whose job is no longer configured), a 400 `bad_data` for one that is not an id.
 */
export function targetResponse(sources: StatusSources, id: string): ApiResponse {
  if (!/^[0-9a-f]{16}$/.test(id)) return apiError('bad_data', `invalid target id ${JSON.stringify(id)}: a target id is 16 lowercase hex digits`);
  const target = sources.fleet.target(id);
  const job = target === undefined ? undefined : sources.discovery.jobs().find((j) => j.job.jobName === target.job)?.job;
  if (target === undefined || job === undefined) return apiError('not_found', `target ${JSON.stringify(id)} not found`);
  let discoveredLabels: Labels = new Map();
  for (const d of sources.discovery.discovered(job.jobName)) {
    if (d.outcome === 'kept' && d.targetId === id) {
      discoveredLabels = d.labels;
      break;
    }
  }
  const extra = {
    ownerSince: goTime(target.sinceUnixMs),
    samplesScraped: target.health?.samplesScraped ?? 0,
    samplesPostMetricRelabeling: target.health?.samplesPostMetricRelabeling ?? 0,
    history: target.history.map((m) => ({ at: goTime(m.atUnixMs), from: m.from ?? '', to: m.to ?? '', reason: m.reason })),
  };
  const fields = activeTargetFields({ target, job, discoveredLabels });
  return { status: 200, body: `{"status":"success","data":{${fields},${goJson(JSON.stringify(extra).slice(1, -1))}}}` };
}

/** One worker in `/api/v1/workers`: {@link WorkerStatus} with its times as RFC 3339 and no limits it does not have. */
function workerJson(w: WorkerStatus): Record<string, unknown> {
  const statusPage = webUrl(w.address, w.webPort);
  return {
    id: w.id,
    state: w.state,
    address: w.address,
    ...(statusPage === undefined ? {} : { statusPage }),
    identity: w.identity,
    softwareVersion: w.softwareVersion,
    connectedSince: goTime(w.connectedSinceUnixMs),
    lastSeen: goTime(w.lastSeenUnixMs),
    generation: w.generation,
    ackedGeneration: w.ackedGeneration,
    targets: w.targets,
    cost: w.cost,
    ...(w.maxTargets === undefined ? {} : { maxTargets: w.maxTargets }),
    ...(w.maxSamples === undefined ? {} : { maxSamples: w.maxSamples }),
  };
}

/** promfleet's `/api/v1/workers`: `{"status":"success","data":{"workers":[...]}}`, in the fleet's (id) order. */
export function workersBody(fleet: FleetStatusSource): string {
  return goJson(JSON.stringify({ status: 'success', data: { workers: fleet.workers().map(workerJson) } }));
}

/** What the status server shows of the prometheus-operator job source (see `StatusServerOptions`). */
export interface OperatorStatus {
  readonly rejected: readonly RejectedOperatorResource[];
  /** How each kind's list went; undefined when not known. */
  readonly kinds: Readonly<Record<OperatorKind, OperatorKindState>> | undefined;
}

/**
 * promfleet's `/api/v1/operator/rejected`: `{"status":"success","data":{"rejected":[{kind,namespace,name,reason,since}],
 * "kinds":{...}}}`, the rejected resources by kind then namespace/name; `kinds` only when known. Reasons name fields
 * and objects, never a value read from a Secret.
 */
export function operatorRejectedBody(operator: OperatorStatus): string {
  const rejected = sortedRejected(operator.rejected).map((r) => ({ kind: r.kind, namespace: r.namespace, name: r.name, reason: r.reason, since: goTime(r.sinceUnixMs) }));
  return goJson(JSON.stringify({ status: 'success', data: { rejected, ...(operator.kinds === undefined ? {} : { kinds: operator.kinds }) } }));
}

/** Rejected resources by kind (in {@link operatorKinds} order, as the generated jobs are), then namespace/name. */
export function sortedRejected(rejected: readonly RejectedOperatorResource[]): RejectedOperatorResource[] {
  const key = (r: RejectedOperatorResource) => `${operatorKinds.indexOf(r.kind)}\u0000${r.namespace}\u0000${r.name}`;
  return [...rejected].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
