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

/**
 * The clients connecting, from their start to every one welcomed (the master still recovering: no assignment yet):
 * TCP, the TLS handshake when the link has TLS, the call with its credentials checked, Hello and Welcome.
 */
export interface ConnectCost {
  readonly masterCpuSeconds: number;
  /** The workers' processes' CPU, summed; undefined where /proc cannot be read. */
  readonly workersCpuSeconds: number | undefined;
  readonly masterBytesWritten: number | undefined;
  /** Master RSS once every client is welcomed. */
  readonly masterRssBytes: number;
  /** Streams the master refused meanwhile (each retried after a backoff): 0 when every credential was good. */
  readonly refused: number;
}

/** Phase 1: the fleet starts. */
export interface StartPhase {
  readonly workers: number;
  readonly targets: number;
  /** From starting the clients to every one welcomed (the master still recovering: no assignment yet). */
  readonly connectMs: number;
  /** What connecting cost, in the same span as {@link connectMs}. */
  readonly connect: ConnectCost;
  /** From the targets set to the allocator settling (the fleet's settle check runs every 250 ms). */
  readonly settleMs: number | undefined;
  /** From the targets set to the last snapshot acknowledged. */
  readonly allAckedMs: number | undefined;
  /** From the targets set to each worker applying its snapshot (workers' clock). */
  readonly applied: LatencySummary;
  /** From the targets set to every snapshot acknowledged. */
  readonly master: MasterCost;
  /** The workers' processes' CPU, summed, over the same span as {@link master}; undefined where /proc cannot be read. */
  readonly workersCpuSeconds: number | undefined;
  readonly rssBytes: number;
  readonly workerProcessRssBytes: readonly number[];
}

/** The fleet idle: heartbeats and keepalive only. */
export interface IdlePhase {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly bytesWritten: number | undefined;
  /** The workers' processes' CPU, summed; undefined where /proc cannot be read. */
  readonly workersCpuSeconds: number | undefined;
}

/** How a run's fleet link was secured. */
export interface LinkSetup {
  /**
   * Mutual TLS: the master serves a certificate and requires a client certificate its client CA signed; every
   * client presents the same one (one secret mounted by a Deployment's pods).
   */
  readonly mutualTls: boolean;
  /** Every stream carries a bearer token, which the master checks. */
  readonly token: boolean;
}

/** `plaintext`, `mutual TLS`, `mutual TLS + token` or `plaintext + token`. */
export function linkName(link: LinkSetup): string {
  return `${link.mutualTls ? 'mutual TLS' : 'plaintext'}${link.token ? ' + token' : ''}`;
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
  /** The 1-minute load average when the run started and when it ended (other work on the machine shows here). */
  readonly loadAverage: { readonly atStart: number; readonly atEnd: number };
  readonly link: LinkSetup;
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

/** The link in words, for the markdown. */
function linkDescription(link: LinkSetup): string {
  if (!link.mutualTls && !link.token) return 'plaintext (no TLS, no token)';
  const parts: string[] = [];
  if (link.mutualTls) parts.push('mutual TLS (the master’s certificate and client CA; one client certificate shared by every worker)');
  else parts.push('plaintext');
  if (link.token) parts.push('a bearer token on every stream');
  return parts.join(', ');
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
    `Machine: ${m.cpus} × ${m.cpuModel}, ${fmt(m.memoryBytes / 1024 ** 3)} GiB, Node ${m.node}; load average (1 min) ${fmt(summary.loadAverage.atStart, 1)} at the start, ` +
      `${fmt(summary.loadAverage.atEnd, 1)} at the end. Wall time ${fmt(summary.wallSeconds)} s. ` +
      `${fmt(s.workers)} workers in ${summary.workerProcesses} process${summary.workerProcesses === 1 ? '' : 'es'}, a connection each; grace period ${fmt(summary.graceMs)} ms.`,
    `Fleet link: ${linkDescription(summary.link)}.`,
    `Command: \`${summary.command}\``,
    `### Fleet start: ${fmt(s.workers)} workers, ${fmt(s.targets)} targets`,
    [
      '| measure | value |',
      '|---|---:|',
      `| clients started → all welcomed (ms) | ${fmt(s.connectMs)} |`,
      `| connecting: master CPU (s) / workers' processes CPU (s) | ${fmt(s.connect.masterCpuSeconds, 2)} / ${fmt(s.connect.workersCpuSeconds, 2)} |`,
      `| connecting: master bytes written (wchar) / streams refused | ${bytes(s.connect.masterBytesWritten)} / ${fmt(s.connect.refused)} |`,
      `| master RSS once all welcomed (MiB) | ${fmt(s.connect.masterRssBytes / mib)} |`,
      `| targets set → allocator settled (ms) | ${fmt(s.settleMs)} |`,
      `| targets set → every snapshot acknowledged (ms) | ${fmt(s.allAckedMs)} |`,
      `| targets set → snapshot applied, per worker, p50 / p99 / max (ms) | ${percentiles(s.applied)} |`,
      ...costRows(s.master),
      `| workers' processes CPU (s) | ${fmt(s.workersCpuSeconds, 2)} |`,
      `| master RSS after (MiB) | ${fmt(s.rssBytes / mib)} |`,
      `| workers' process RSS after (MiB) | ${s.workerProcessRssBytes.map((b) => fmt(b / mib)).join(', ')} |`,
    ].join('\n'),
    `### Idle: ${fmt(s.workers)} streams for ${fmt(summary.idle.seconds)} s`,
    [
      '| measure | value |',
      '|---|---:|',
      `| master CPU (s) | ${fmt(summary.idle.cpuSeconds, 2)} |`,
      `| master bytes written (wchar) | ${bytes(summary.idle.bytesWritten)} |`,
      `| workers' processes CPU (s) | ${fmt(summary.idle.workersCpuSeconds, 2)} |`,
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

/** One measure of a comparison: its value in each pair's plaintext and secured run, and their ratios. */
export interface ComparedMeasure {
  readonly label: string;
  /** Decimal places in the markdown. */
  readonly digits: number;
  /** One value per pair, in pair order. */
  readonly plain: readonly (number | undefined)[];
  readonly secured: readonly (number | undefined)[];
  /** Secured ÷ plaintext, per pair. */
  readonly pairRatios: readonly (number | undefined)[];
  /** The mean of the secured values ÷ the mean of the plaintext ones; undefined if a value is missing or the latter is 0. */
  readonly ratio: number | undefined;
}

/** A cost the secured link adds per worker: (secured − plaintext) ÷ workers, per pair and their mean. */
export interface PerWorkerCost {
  readonly label: string;
  readonly digits: number;
  readonly pairs: readonly (number | undefined)[];
  readonly mean: number | undefined;
}

/** Plaintext runs against secured runs of the same fleet, paired in the order they ran. */
export interface LinkComparison {
  readonly workers: number;
  readonly targets: number;
  readonly secured: LinkSetup;
  /** Each pair's runs, as indexes (from 0) into the runs in the order they ran. */
  readonly pairs: readonly { readonly plain: number; readonly secured: number }[];
  readonly measures: readonly ComparedMeasure[];
  readonly perWorker: readonly PerWorkerCost[];
}

/** What `--tls compare` prints: the comparison, then every run in the order they ran. */
export interface LinkComparisonSummary {
  readonly command: string;
  readonly startedAt: string;
  readonly wallSeconds: number;
  readonly comparison: LinkComparison;
  readonly runs: readonly StreamingSummary[];
}

function isPlain(link: LinkSetup): boolean {
  return !link.mutualTls && !link.token;
}

function sum(...values: readonly (number | undefined)[]): number | undefined {
  let total = 0;
  for (const v of values) {
    if (v === undefined) return undefined;
    total += v;
  }
  return total;
}

function mean(values: readonly (number | undefined)[]): number | undefined {
  const total = sum(...values);
  return total === undefined || values.length === 0 ? undefined : total / values.length;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

/** The measures compared, read from one run: label, decimal places, value. */
const comparedMeasures: readonly { readonly label: string; readonly digits: number; readonly value: (r: StreamingSummary) => number | undefined }[] = [
  { label: 'clients started → all welcomed (ms)', digits: 0, value: (r) => r.start.connectMs },
  { label: 'connecting: master CPU (s)', digits: 2, value: (r) => r.start.connect.masterCpuSeconds },
  { label: 'connecting: workers’ processes CPU (s)', digits: 2, value: (r) => r.start.connect.workersCpuSeconds },
  { label: 'connecting: master bytes written (KiB)', digits: 0, value: (r) => kib(r.start.connect.masterBytesWritten) },
  { label: 'targets set → every snapshot acknowledged (ms)', digits: 0, value: (r) => r.start.allAckedMs },
  { label: 'snapshots: master CPU (s)', digits: 2, value: (r) => r.start.master.cpuSeconds },
  { label: 'snapshots: workers’ processes CPU (s)', digits: 2, value: (r) => r.start.workersCpuSeconds },
  { label: 'snapshots: master bytes written (MiB)', digits: 1, value: (r) => (r.start.master.bytesWritten === undefined ? undefined : r.start.master.bytesWritten / mib) },
  { label: '**whole start: master CPU (s)**', digits: 2, value: (r) => r.start.connect.masterCpuSeconds + r.start.master.cpuSeconds },
  { label: 'whole start: workers’ processes CPU (s)', digits: 2, value: (r) => sum(r.start.connect.workersCpuSeconds, r.start.workersCpuSeconds) },
  { label: 'master RSS once all welcomed (MiB)', digits: 0, value: (r) => r.start.connect.masterRssBytes / mib },
  { label: 'master RSS after the start (MiB)', digits: 0, value: (r) => r.start.rssBytes / mib },
  { label: 'idle: master CPU (s)', digits: 2, value: (r) => r.idle.cpuSeconds },
  { label: 'idle: workers’ processes CPU (s)', digits: 2, value: (r) => r.idle.workersCpuSeconds },
  { label: 'idle: master bytes written (KiB)', digits: 0, value: (r) => kib(r.idle.bytesWritten) },
];

function kib(value: number | undefined): number | undefined {
  return value === undefined ? undefined : value / 1024;
}

/** The per-worker costs: what each is per worker (the difference is divided by the workers, then scaled). */
const perWorkerCosts: readonly { readonly label: string; readonly digits: number; readonly value: (r: StreamingSummary) => number | undefined; readonly scale: (r: StreamingSummary) => number }[] = [
  { label: '**master CPU per worker, connecting: the handshake (ms)**', digits: 2, value: (r) => r.start.connect.masterCpuSeconds, scale: () => 1000 },
  { label: 'master CPU per worker, whole start (ms)', digits: 2, value: (r) => r.start.connect.masterCpuSeconds + r.start.master.cpuSeconds, scale: () => 1000 },
  { label: 'worker CPU per worker, connecting: the handshake (ms)', digits: 2, value: (r) => r.start.connect.workersCpuSeconds, scale: () => 1000 },
  { label: 'worker CPU per worker, whole start (ms)', digits: 2, value: (r) => sum(r.start.connect.workersCpuSeconds, r.start.workersCpuSeconds), scale: () => 1000 },
  { label: 'master RSS per worker once all welcomed: the connection (KiB)', digits: 1, value: (r) => r.start.connect.masterRssBytes, scale: () => 1 / 1024 },
  { label: 'master RSS per worker after the start (KiB)', digits: 1, value: (r) => r.start.rssBytes, scale: () => 1 / 1024 },
  { label: 'master CPU per worker per idle second (µs)', digits: 1, value: (r) => r.idle.cpuSeconds, scale: (r) => 1e6 / r.idle.seconds },
];

/**
 * Pairs the plaintext runs with the secured ones in the order they ran (the first plaintext run with the first
 * secured run, and so on) and compares them.
 *
 * @throws {Error} when there is not at least one run of each, their counts differ, the secured runs differ in their
 *   link, or the runs differ in workers, targets or idle length.
 */
export function compareLinks(runs: readonly StreamingSummary[]): LinkComparison {
  const plain = runs.flatMap((r, i) => (isPlain(r.link) ? [i] : []));
  const secured = runs.flatMap((r, i) => (isPlain(r.link) ? [] : [i]));
  const first = runs[0];
  if (first === undefined || plain.length === 0 || plain.length !== secured.length) {
    throw new Error(`a comparison needs as many plaintext runs as secured ones, at least one each: ${plain.length} and ${secured.length}`);
  }
  const securedLink = runs[secured[0] ?? 0]?.link ?? first.link;
  for (const r of runs) {
    if (!isPlain(r.link) && linkName(r.link) !== linkName(securedLink)) throw new Error(`the secured runs differ: ${linkName(r.link)} and ${linkName(securedLink)}`);
    if (r.start.workers !== first.start.workers || r.start.targets !== first.start.targets || r.idle.seconds !== first.idle.seconds) {
      throw new Error('the runs differ in workers, targets or idle length');
    }
  }
  const pairs = plain.map((p, i) => ({ plain: p, secured: secured[i] ?? p }));
  const run = (i: number): StreamingSummary => {
    const r = runs[i];
    if (r === undefined) throw new Error(`no run ${i}`);
    return r;
  };
  const measures = comparedMeasures.map((m): ComparedMeasure => {
    const plainValues = pairs.map((p) => m.value(run(p.plain)));
    const securedValues = pairs.map((p) => m.value(run(p.secured)));
    return {
      label: m.label,
      digits: m.digits,
      plain: plainValues,
      secured: securedValues,
      pairRatios: pairs.map((_, i) => ratio(securedValues[i], plainValues[i])),
      ratio: ratio(mean(securedValues), mean(plainValues)),
    };
  });
  const workers = first.start.workers;
  const perWorker = perWorkerCosts.map((c): PerWorkerCost => {
    const values = pairs.map((p) => {
      const withLink = c.value(run(p.secured));
      const without = c.value(run(p.plain));
      return withLink === undefined || without === undefined ? undefined : ((withLink - without) / workers) * c.scale(first);
    });
    return { label: c.label, digits: c.digits, pairs: values, mean: mean(values) };
  });
  return { workers, targets: first.start.targets, secured: securedLink, pairs, measures, perWorker };
}

function list(values: readonly (number | undefined)[], digits: number): string {
  return values.map((v) => fmt(v, digits)).join(', ');
}

function times(value: number | undefined): string {
  return value === undefined ? '–' : `${fmt(value, 2)}×`;
}

/** A comparison as markdown: the ratios, the per-worker costs, then every run's own tables, a heading level down. */
export function comparisonMarkdown(summary: LinkComparisonSummary): string {
  const c = summary.comparison;
  const first = summary.runs[0];
  const secured = linkName(c.secured);
  const runNumbers = (key: 'plain' | 'secured') => c.pairs.map((p) => p[key] + 1).join(', ');
  const parts: string[] = [];
  if (first !== undefined) {
    const m = first.machine;
    parts.push(
      `Machine: ${m.cpus} × ${m.cpuModel}, ${fmt(m.memoryBytes / 1024 ** 3)} GiB, Node ${m.node}. Wall time ${fmt(summary.wallSeconds)} s. ` +
        `${fmt(c.workers)} workers × ${fmt(c.targets)} targets, ${c.pairs.length} pair${c.pairs.length === 1 ? '' : 's'} of runs, in this order: ` +
        `${summary.runs.map((r) => linkName(r.link)).join(', ')}. Load average (1 min) at each run's start: ${summary.runs.map((r) => fmt(r.loadAverage.atStart, 1)).join(', ')}.`,
    );
  }
  parts.push(
    `Secured link: ${linkDescription(c.secured)}.`,
    `Command: \`${summary.command}\``,
    `### Plaintext against ${secured}: fleet start and idle`,
    [
      `| measure | plaintext (run${c.pairs.length === 1 ? '' : 's'} ${runNumbers('plain')}) | ${secured} (run${c.pairs.length === 1 ? '' : 's'} ${runNumbers('secured')}) | ratio per pair | **ratio of means** |`,
      '|---|---:|---:|---:|---:|',
      ...c.measures.map((m) => `| ${m.label} | ${list(m.plain, m.digits)} | ${list(m.secured, m.digits)} | ${m.pairRatios.map(times).join(', ')} | **${times(m.ratio)}** |`),
    ].join('\n'),
    `### What ${secured} adds per worker: (${secured} − plaintext) ÷ ${fmt(c.workers)} workers`,
    [
      `| measure | ${c.pairs.map((_, i) => `pair ${i + 1}`).join(' | ')} | **mean** |`,
      `|---|${c.pairs.map(() => '---:|').join('')}---:|`,
      ...c.perWorker.map((p) => `| ${p.label} | ${p.pairs.map((v) => fmt(v, p.digits)).join(' | ')} | **${fmt(p.mean, p.digits)}** |`),
    ].join('\n'),
  );
  const problems = summary.runs.flatMap((r, i) => r.problems.map((p) => `run ${i + 1}: ${p}`));
  parts.push(problems.length === 0 ? 'Ownership checks after every phase of every run: every target held by exactly one worker.' : `Problems:\n${problems.map((p) => `- ${p}`).join('\n')}`);
  summary.runs.forEach((r, i) => {
    parts.push(`### Run ${i + 1} of ${summary.runs.length}: ${linkName(r.link)}`, streamingMarkdown(r).trimEnd().replace(/^### /gm, '#### '));
  });
  return `${parts.join('\n\n')}\n`;
}
