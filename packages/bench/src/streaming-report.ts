/**
 * The streaming benchmark's summary: what each phase measured, the checks made on what the workers hold, and the
 * markdown tables made from it.
 */
import { quantile } from './measure.js';
import type { HeldCounts } from './streaming-protocol.js';

/** Order statistics of a set of latencies (nearest rank, so each one was observed); undefined for no values. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly maxMs: number | undefined;
}

/** The count, p50, p99 and maximum of `values` (ms). */
export function latencySummary(values: readonly number[]): LatencySummary {
  return { count: values.length, p50Ms: quantile(values, 0.5), p99Ms: quantile(values, 0.99), maxMs: quantile(values, 1) };
}

/** What the master process spent in a phase. */
export interface MasterCost {
  readonly cpuSeconds: number;
  readonly bytesWritten: number | undefined;
  /** Streams sent a snapshot, and delta messages sent. */
  readonly snapshots: number;
  readonly deltas: number;
  /** Send → ack per generation, as the master saw it. */
  readonly ack: LatencySummary;
}

/** Phase 1: the fleet starts. */
export interface StartPhase {
  readonly workers: number;
  readonly targets: number;
  /** From starting the clients to every one welcomed (the master still recovering: no assignment yet). */
  readonly connectMs: number;
  /** From the targets set to the allocator settling (the fleet's settle check runs every 250 ms). */
  readonly settleMs: number | undefined;
  /** From the targets set to the last snapshot acknowledged. */
  readonly allAckedMs: number | undefined;
  /** From the targets set to each worker applying its snapshot (workers' clock). */
  readonly applied: LatencySummary;
  readonly master: MasterCost;
  readonly rssBytes: number;
  readonly workerProcessRssBytes: readonly number[];
}

/** The fleet idle: heartbeats and keepalive only. */
export interface IdlePhase {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly bytesWritten: number | undefined;
}

/** Phase 2: targets added while the fleet is otherwise idle, at a steady rate or all at once. */
export interface AddPhase {
  readonly label: string;
  readonly added: number;
  /** Creation → a worker's onChange, one per added target a worker received. */
  readonly latency: LatencySummary;
  /** Per `updateJobs` call: building the new targets, and the call itself. */
  readonly buildMs: LatencySummary;
  readonly updateMs: LatencySummary;
  readonly updates: number;
  /** From the last targets' creation (the last `updateJobs`) to the last acknowledgement. */
  readonly allAckedMs: number | undefined;
  readonly master: MasterCost;
}

/** Phase 3: one worker joins, or one leaves. */
export interface MembershipPhase {
  readonly label: string;
  /** Targets that changed owner, and the ideal: 1/(N+1) of all for a join, what the leaver held for a leave. */
  readonly moved: number;
  readonly idealMoved: number;
  /** For a leave: from the stream closing to the member leaving (the grace period, plus up to a check interval). */
  readonly graceWaitMs: number | undefined;
  /** From the membership change taking effect (first owner change) to the last acknowledgement. */
  readonly allAckedMs: number | undefined;
  readonly master: MasterCost;
}

/** Everything one invocation measured. */
export interface StreamingSummary {
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly memoryBytes: number; readonly node: string };
  readonly command: string;
  readonly startedAt: string;
  readonly wallSeconds: number;
  readonly workerProcesses: number;
  readonly graceMs: number;
  readonly start: StartPhase;
  readonly idle: IdlePhase;
  readonly adds: readonly AddPhase[];
  readonly membership: readonly MembershipPhase[];
  /** Problems found by the ownership checks after each phase; empty when every target had exactly one holder. */
  readonly problems: readonly string[];
}

/**
 * Checks what the clients of every workers' process hold against the fleet: `targets` targets in all, each held by
 * exactly one client. Returns the problems found, empty when there are none.
 */
export function ownershipProblems(options: { readonly held: readonly HeldCounts[]; readonly targets: number; readonly when: string }): string[] {
  const holders = new Map<string, number>();
  for (const process of options.held) for (const id of process.ids) holders.set(id, (holders.get(id) ?? 0) + 1);
  const problems: string[] = [];
  const twice = [...holders.values()].filter((n) => n > 1).length;
  if (twice > 0) problems.push(`${options.when}: ${twice} targets held by more than one worker`);
  if (holders.size !== options.targets) problems.push(`${options.when}: workers hold ${holders.size} distinct targets, the fleet has ${options.targets}`);
  return problems;
}

const mib = 1024 * 1024;

function fmt(value: number | undefined, digits = 0): string {
  return value === undefined ? '–' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function percentiles(s: LatencySummary): string {
  return `${fmt(s.p50Ms)} / ${fmt(s.p99Ms)} / ${fmt(s.maxMs)}`;
}

function bytes(value: number | undefined): string {
  if (value === undefined) return '–';
  return value < mib ? `${fmt(value / 1024)} KiB` : `${fmt(value / mib, 1)} MiB`;
}

function costRows(master: MasterCost): string[] {
  return [
    `| master CPU (s) | ${fmt(master.cpuSeconds, 2)} |`,
    `| master bytes written (wchar) | ${bytes(master.bytesWritten)} |`,
    `| snapshots / delta messages sent | ${fmt(master.snapshots)} / ${fmt(master.deltas)} |`,
    `| send → ack per generation, p50 / p99 / max (ms) | ${percentiles(master.ack)} |`,
  ];
}

/** The summary as markdown: machine and command, then one table per phase. */
export function streamingMarkdown(summary: StreamingSummary): string {
  const m = summary.machine;
  const s = summary.start;
  const parts = [
    `Machine: ${m.cpus} × ${m.cpuModel}, ${fmt(m.memoryBytes / 1024 ** 3)} GiB, Node ${m.node}. Wall time ${fmt(summary.wallSeconds)} s. ` +
      `${fmt(s.workers)} workers in ${summary.workerProcesses} process${summary.workerProcesses === 1 ? '' : 'es'}, a connection each; grace period ${fmt(summary.graceMs)} ms.`,
    `Command: \`${summary.command}\``,
    `### Fleet start: ${fmt(s.workers)} workers, ${fmt(s.targets)} targets`,
    [
      '| measure | value |',
      '|---|---:|',
      `| clients started → all welcomed (ms) | ${fmt(s.connectMs)} |`,
      `| targets set → allocator settled (ms) | ${fmt(s.settleMs)} |`,
      `| targets set → every snapshot acknowledged (ms) | ${fmt(s.allAckedMs)} |`,
      `| targets set → snapshot applied, per worker, p50 / p99 / max (ms) | ${percentiles(s.applied)} |`,
      ...costRows(s.master),
      `| master RSS after (MiB) | ${fmt(s.rssBytes / mib)} |`,
      `| workers' process RSS after (MiB) | ${s.workerProcessRssBytes.map((b) => fmt(b / mib)).join(', ')} |`,
    ].join('\n'),
    `### Idle: ${fmt(s.workers)} streams for ${fmt(summary.idle.seconds)} s`,
    [
      '| measure | value |',
      '|---|---:|',
      `| master CPU (s) | ${fmt(summary.idle.cpuSeconds, 2)} |`,
      `| master bytes written (wchar) | ${bytes(summary.idle.bytesWritten)} |`,
    ].join('\n'),
  ];
  if (summary.adds.length > 0) {
    const adds = summary.adds;
    const row = (label: string, cell: (a: AddPhase) => string) => `| ${label} | ${adds.map(cell).join(' | ')} |`;
    parts.push(
      '### New targets: creation → the owning worker’s onChange (discovery throttle not included)',
      [
        `| measure | ${adds.map((a) => a.label).join(' | ')} |`,
        `|---|${adds.map(() => '---:').join('|')}|`,
        row('targets added / received by a worker', (a) => `${fmt(a.added)} / ${fmt(a.latency.count)}`),
        row('**latency p50 / p99 / max (ms)**', (a) => `**${percentiles(a.latency)}**`),
        row('updateJobs calls', (a) => fmt(a.updates)),
        row('building the new targets per call, p50 / max (ms)', (a) => `${fmt(a.buildMs.p50Ms, 1)} / ${fmt(a.buildMs.maxMs, 1)}`),
        row('updateJobs per call, p50 / p99 / max (ms)', (a) => `${fmt(a.updateMs.p50Ms, 1)} / ${fmt(a.updateMs.p99Ms, 1)} / ${fmt(a.updateMs.maxMs, 1)}`),
        row('last updateJobs → last ack (ms)', (a) => fmt(a.allAckedMs)),
        row('master CPU (s)', (a) => fmt(a.master.cpuSeconds, 2)),
        row('master bytes written (wchar)', (a) => bytes(a.master.bytesWritten)),
        row('delta messages sent', (a) => fmt(a.master.deltas)),
        row('send → ack per generation, p50 / p99 / max (ms)', (a) => percentiles(a.master.ack)),
      ].join('\n'),
    );
  }
  if (summary.membership.length > 0) {
    const ms = summary.membership;
    const row = (label: string, cell: (p: MembershipPhase) => string) => `| ${label} | ${ms.map(cell).join(' | ')} |`;
    parts.push(
      '### One worker joins, one leaves',
      [
        `| measure | ${ms.map((p) => p.label).join(' | ')} |`,
        `|---|${ms.map(() => '---:').join('|')}|`,
        row('targets moved / ideal', (p) => `${fmt(p.moved)} / ${fmt(p.idealMoved)}`),
        row('stream closed → member left (ms, the grace period)', (p) => fmt(p.graceWaitMs)),
        row('**change → every handover acknowledged (ms)**', (p) => `**${fmt(p.allAckedMs)}**`),
        row('master CPU (s)', (p) => fmt(p.master.cpuSeconds, 2)),
        row('master bytes written (wchar)', (p) => bytes(p.master.bytesWritten)),
        row('snapshots / delta messages sent', (p) => `${fmt(p.master.snapshots)} / ${fmt(p.master.deltas)}`),
      ].join('\n'),
    );
  }
  parts.push(summary.problems.length === 0 ? 'Ownership checks after every phase: every target held by exactly one worker.' : `Problems:\n${summary.problems.map((p) => `- ${p}`).join('\n')}`);
  return `${parts.join('\n\n')}\n`;
}
