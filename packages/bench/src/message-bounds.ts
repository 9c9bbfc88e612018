/**
 * Fleet messages against the gRPC limit, through the real master and worker code: a configuration with thousands of
 * jobs (snapshot parts and deltas carrying job changes, assembled by the worker's AssignmentState) and a health
 * report of many failing targets with long errors (split by the worker's code, applied by the master's Fleet).
 * Every message is encoded and decoded as gRPC would, and measured.
 *
 * Used by message-bounds.test.ts (the properties) and message-bounds-run.ts (the figures).
 */
import { Fleet, type JobTargets, type WorkerSession } from '@promfleet/master';
import { buildTarget, parseConfig, type ScrapeConfig, type Target, type TargetId } from '@promfleet/model';
import {
  MasterMessage,
  PROTOCOL_VERSION,
  WorkerMessage,
  healthReportParts,
  remoteWriteToProto,
  scrapeJobToProto,
  targetIdToBytes,
  type TargetHealth,
} from '@promfleet/protocol';
import { AssignmentState } from '@promfleet/worker';

/**
 * A configuration of `jobs` scrape jobs, each as teams write them: a target limit, a few metric_relabel_configs
 * dropping noisy series and renaming a label; and two remote-write endpoints with write relabeling.
 */
export function manyJobsConfig(jobs: number): string {
  const lines = ['global:', '  external_labels: {cluster: prod-eu-1, replica: a}', 'scrape_configs:'];
  for (let i = 0; i < jobs; i++) {
    lines.push(
      `  - job_name: team-${i % 97}/service-${i}`,
      '    scrape_interval: 30s',
      '    target_limit: 1',
      '    metric_relabel_configs:',
      "      - {source_labels: [__name__], regex: 'go_gc_duration_seconds.*|go_memstats_.*_bytes', action: drop}",
      "      - {source_labels: [__name__, le], regex: 'http_request_duration_seconds_bucket;(0\\.005|0\\.01|0\\.025)', action: drop}",
      "      - {regex: 'pod_template_hash|controller_revision_hash', action: labeldrop}",
      `      - {source_labels: [namespace], target_label: team, replacement: 'team-${i % 97}'}`,
    );
  }
  lines.push(
    'remote_write:',
    '  - url: https://mimir.example/api/v1/push',
    "    write_relabel_configs: [{source_labels: [__name__], regex: 'up|scrape_.*', action: keep}]",
    '  - url: https://thanos-receive.example/api/v1/receive',
  );
  return lines.join('\n') + '\n';
}

/** What {@link snapshotThroughWorker} measured. */
export interface SnapshotResult {
  readonly jobs: number;
  readonly snapshotParts: number;
  /** The largest encoded snapshot part, in bytes. */
  readonly largestSnapshotPartBytes: number;
  readonly deltas: number;
  /** The largest encoded delta, in bytes. */
  readonly largestDeltaBytes: number;
  /** Jobs the worker holds after the snapshot. */
  readonly workerJobsAfterSnapshot: number;
  /** Jobs the worker holds after the deltas, and how many carry the target_limit forced error. */
  readonly workerJobsAfterDeltas: number;
  readonly workerJobsForced: number;
  /** Targets the worker holds at the end. */
  readonly workerTargets: number;
}

function targetOf(job: ScrapeConfig, i: number): Target {
  const result = buildTarget(job, new Map([['__address__', `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`]]), new Map());
  if (result.kind !== 'kept') throw new Error(`target ${i} of ${job.jobName} was dropped`);
  return result.target;
}

function update(job: ScrapeConfig, targets: readonly Target[], previous: ReadonlySet<TargetId>): JobTargets {
  const map = new Map(targets.map((t) => [t.id, t]));
  const added = new Set([...map.keys()].filter((id) => !previous.has(id)));
  return { job, targets: map, discovered: map.size, dropped: 0, invalid: 0, synced: true, added, removed: new Set() };
}

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Sends every message through its encoding, as gRPC would, recording its size. */
class WireSession implements WorkerSession {
  readonly peer = 'bench:1';
  readonly identity = 'anonymous';
  readonly received: MasterMessage[] = [];
  readonly sizes: { kind: string; bytes: number }[] = [];
  send(message: MasterMessage): boolean {
    const bytes = MasterMessage.encode(message).finish();
    this.sizes.push({ kind: message.kind?.$case ?? 'none', bytes: bytes.length });
    this.received.push(MasterMessage.decode(bytes));
    return true;
  }
  close(): void {
    // The fleet never closes this session in the scenario.
  }
}

/**
 * One worker gets a master's assignment for a configuration of `jobs` jobs, one target each: the snapshot, then the
 * deltas when every job gains a second target and so exceeds its target_limit of 1 (each job's settings change:
 * its forced error). The worker applies every message with its own AssignmentState.
 */
export async function snapshotThroughWorker(options: { readonly jobs: number }): Promise<SnapshotResult> {
  const parsed = parseConfig(manyJobsConfig(options.jobs), { file: 'message-bounds.yml' });
  if (!parsed.ok) throw new Error(`config: ${JSON.stringify(parsed.errors.slice(0, 3))}`);
  const { config } = parsed;
  const fleet = new Fleet({ masterId: 'bench', softwareVersion: 'bench', graceMs: 1_000, startupGraceMs: 0, startupWaitMs: 0 });
  try {
    fleet.configure({
      jobs: config.scrapeConfigs.map((job) => scrapeJobToProto(job)),
      remoteWrite: config.remoteWrite.map((rw, index) => remoteWriteToProto({ config: rw, index, externalLabels: config.global.externalLabels })),
    });
    const first = config.scrapeConfigs.map((job, i) => targetOf(job, 2 * i));
    fleet.updateJobs(config.scrapeConfigs.map((job, i) => update(job, [first[i] as Target], new Set())));
    const session = new WireSession();
    fleet.accept(session, { workerId: 'w', softwareVersion: 'bench', protocolVersion: PROTOCOL_VERSION, heldGeneration: 0, heldTargets: [], previousStreamResourceExhausted: '', heldTargetsContinued: false, highestLeaderTerm: 0 });
    fleet.start();
    await until(() => fleet.ready() && session.received.some((m) => m.kind?.$case === 'assignmentSnapshot' && !m.kind.assignmentSnapshot.continued), 'the snapshot');

    const state = new AssignmentState();
    let applied = 0;
    const applyNew = () => {
      for (const message of session.received.slice(applied)) {
        const kind = message.kind;
        const change =
          kind?.$case === 'assignmentSnapshot' ? state.applySnapshot(kind.assignmentSnapshot) : kind?.$case === 'assignmentDelta' ? state.applyDelta(kind.assignmentDelta) : undefined;
        if (change !== undefined) fleet.receive(session, { kind: { $case: 'ack', ack: { generation: change.generation } } });
      }
      applied = session.received.length;
    };
    applyNew();
    const workerJobsAfterSnapshot = state.jobs.size;

    const sentBefore = session.received.length;
    fleet.updateJobs(config.scrapeConfigs.map((job, i) => update(job, [first[i] as Target, targetOf(job, 2 * i + 1)], new Set([(first[i] as Target).id]))));
    // The worker applies and acknowledges each delta as it comes, as its client does; the fleet sends more on acks.
    const deadline = Date.now() + 60_000;
    for (;;) {
      applyNew();
      if (state.targets.size === 2 * options.jobs && [...state.jobs.values()].every((j) => j.forcedError !== '')) break;
      if (Date.now() > deadline) throw new Error('timed out waiting for the deltas');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const deltaSizes = session.sizes.slice(sentBefore).filter((s) => s.kind === 'assignmentDelta');
    const snapshotSizes = session.sizes.filter((s) => s.kind === 'assignmentSnapshot');
    return {
      jobs: config.scrapeConfigs.length,
      snapshotParts: snapshotSizes.length,
      largestSnapshotPartBytes: Math.max(...snapshotSizes.map((s) => s.bytes)),
      deltas: deltaSizes.length,
      largestDeltaBytes: Math.max(0, ...deltaSizes.map((s) => s.bytes)),
      workerJobsAfterSnapshot,
      workerJobsAfterDeltas: state.jobs.size,
      workerJobsForced: [...state.jobs.values()].filter((j) => j.forcedError.startsWith('target_limit exceeded')).length,
      workerTargets: state.targets.size,
    };
  } finally {
    fleet.stop();
  }
}

/** What {@link healthThroughMaster} measured. */
export interface HealthResult {
  readonly targets: number;
  readonly errorBytes: number;
  readonly reportParts: number;
  /** The largest encoded health report message, in bytes. */
  readonly largestReportBytes: number;
  /** Targets whose health the master holds as down, with the error cut to at most `maxStoredErrorBytes`. */
  readonly masterDown: number;
  readonly maxStoredErrorBytes: number;
}

/**
 * A worker holding `targets` targets, all failing with an error of about `errorBytes` (an invalid label set echoed
 * back), reports their health; the master's Fleet takes every part.
 */
export async function healthThroughMaster(options: { readonly targets: number; readonly errorBytes: number }): Promise<HealthResult> {
  const parsed = parseConfig('scrape_configs:\n  - job_name: pods\n', { file: 'message-bounds.yml' });
  if (!parsed.ok) throw new Error('config');
  const job = parsed.config.scrapeConfigs[0] as ScrapeConfig;
  const fleet = new Fleet({ masterId: 'bench', softwareVersion: 'bench', graceMs: 1_000, startupGraceMs: 0, startupWaitMs: 0 });
  try {
    fleet.configure({ jobs: [scrapeJobToProto(job)], remoteWrite: [] });
    const targets = Array.from({ length: options.targets }, (_, i) => targetOf(job, i));
    fleet.updateJobs([update(job, targets, new Set())]);
    const session = new WireSession();
    fleet.accept(session, { workerId: 'w', softwareVersion: 'bench', protocolVersion: PROTOCOL_VERSION, heldGeneration: 0, heldTargets: [], previousStreamResourceExhausted: '', heldTargetsContinued: false, highestLeaderTerm: 0 });
    fleet.start();
    await until(() => fleet.ready(), 'the fleet to settle');

    const labels: string[] = [];
    for (let i = 0; labels.join(', ').length < options.errorBytes; i++) labels.push(`label_${i}="välue ${i}"`);
    const error = `label_limit exceeded: invalid label set {${labels.join(', ')}}`;
    const report: TargetHealth[] = targets.map((t, i) => ({
      targetId: targetIdToBytes(t.id),
      lastScrapeUnixMs: 1_767_225_600_000 + i,
      lastScrapeDurationSeconds: 0.002,
      samplesScraped: 0,
      samplesPostMetricRelabeling: 0,
      up: false,
      lastError: error,
    }));
    let largest = 0;
    const parts = healthReportParts({ generation: 1, targets: report });
    for (const healthReport of parts) {
      const bytes = WorkerMessage.encode({ kind: { $case: 'healthReport', healthReport } }).finish();
      largest = Math.max(largest, bytes.length);
      fleet.receive(session, WorkerMessage.decode(bytes));
    }
    let down = 0;
    let maxStored = 0;
    for (const status of fleet.targets()) {
      if (status.health?.health !== 'down') continue;
      down++;
      maxStored = Math.max(maxStored, Buffer.byteLength(status.health.lastError));
    }
    return { targets: options.targets, errorBytes: Buffer.byteLength(error), reportParts: parts.length, largestReportBytes: largest, masterDown: down, maxStoredErrorBytes: maxStored };
  } finally {
    fleet.stop();
  }
}
