/**
 * The discovery benchmark: promfleet's master discovery against a fake Kubernetes API server, side by side with
 * vmagent on the same configuration and the same fake. Loopback only, bounded in time (`--budget`) and count
 * (`--runs`), and it stops by itself. Prints a JSON summary, then markdown tables, to stdout; progress to stderr.
 *
 *   pnpm build && pnpm --filter @promfleet/bench discovery [flags]      (see `--help`; BENCHMARKS.md)
 *
 * Two comparisons, each in fresh processes per run:
 * 1. scale (`--pods`, `--nodes`): the typical three jobs (pod, endpointslice and node roles). Time to the full
 *    target set, memory, requests, then for promfleet a churn window (CPU per 1,000 watch events, change latency);
 *    once per encoding the master asks the API server for (`--encodings`), with the bytes the fake sent each
 *    discoverer at start-up and per churn watch event.
 * 2. jobs (`--jobs-pods`, `--jobs-nodes`): N jobs on the endpointslice role (which reads EndpointSlices, Pods and
 *    Services) for each N in `--jobs`, to show whether API requests grow with jobs.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs, usage, UsageError, type DiscoveryBenchOptions } from './args.js';
import { wallClockMs } from './measure.js';
import { runPromfleet, type PromfleetRun } from './promfleet-run.js';
import { freePort, progress, startFake, type Fake } from './processes.js';
import { markdownReport, targetSetsReport, type Comparison, type Summary, type VmagentResult } from './report.js';
import { trafficSection, vmagentTraffic, type BenchEncoding, type TrafficColumn, type TrafficFigures } from './traffic.js';
import { runVmagent } from './vmagent.js';
import { scrapeConfigText, typicalRoles, type BenchRole } from './workload.js';

const run = promisify(execFile);

/** How long after reaching the full set both discoverers' memory and requests are read. */
const settleMs = 3_000;

/** The vmagent version from the Debian package, or why vmagent cannot be used. */
async function vmagentVersion(binary: string | undefined): Promise<{ version: string; problem: string | undefined }> {
  if (binary === undefined) return { version: 'not used', problem: 'disabled with --vmagent none' };
  try {
    await run(binary, ['-version'], { timeout: 10_000 });
  } catch (err) {
    return { version: 'missing', problem: `${binary} -version failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  try {
    const { stdout } = await run('dpkg-query', ['-W', '-f', '${Version}', 'victoria-metrics'], { timeout: 10_000 });
    return { version: stdout.trim() === '' ? 'unknown' : `${stdout.trim()} (Debian victoria-metrics)`, problem: undefined };
  } catch {
    return { version: 'unknown', problem: undefined };
  }
}

interface CompareOptions {
  readonly fake: Fake;
  readonly label: string;
  readonly roles: readonly BenchRole[];
  readonly churn: boolean;
  readonly dir: string;
  readonly options: DiscoveryBenchOptions;
  readonly deadline: number;
  readonly vmagentProblem: string | undefined;
  readonly skipped: string[];
  /** The encoding promfleet's master asks for. */
  readonly encoding: BenchEncoding;
  /** vmagent's runs of an earlier comparison on the same cluster and configuration, used instead of running it again. */
  readonly vmagentMeasured: readonly VmagentResult[] | undefined;
}

/** Every run of both discoverers on one cluster and configuration. */
async function compare(c: CompareOptions): Promise<Comparison> {
  const { options } = c;
  const promfleet: PromfleetRun[] = [];
  const vmagent: VmagentResult[] = [];
  let vmagentSkipped = c.vmagentProblem;
  const timeoutMs = options.fullSetTimeoutSeconds * 1000;
  for (let i = 1; i <= options.runs; i++) {
    if (wallClockMs() > c.deadline) {
      c.skipped.push(`${c.label}: runs ${i}..${options.runs} (time budget of ${options.budgetSeconds} s spent)`);
      break;
    }
    progress(`${c.label}, run ${i}/${options.runs}: promfleet master`);
    let ours: PromfleetRun;
    try {
      ours = await runPromfleet({
        fake: c.fake.handle,
        apiServer: c.fake.ready.url,
        roles: c.roles,
        dir: c.dir,
        pods: c.fake.ready.objects.pods,
        throttleMs: options.throttleMs,
        timeoutMs,
        settleMs,
        cpuProfileDir: options.cpuProfileDir,
        churn: c.churn ? { eventsPerSecond: options.churnEventsPerSecond, seconds: options.churnSeconds } : undefined,
        encoding: c.encoding,
      });
    } catch (err) {
      c.skipped.push(`${c.label}, run ${i}: promfleet failed: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    promfleet.push(ours);
    progress(`${c.label}, run ${i}: promfleet ${ours.targets} targets in ${(ours.spawnToFullSetMs / 1000).toFixed(2)} s, RSS ${(ours.rssBytes / 2 ** 20).toFixed(0)} MiB`);
    if (options.vmagent === undefined || vmagentSkipped !== undefined || c.vmagentMeasured !== undefined) continue;
    progress(`${c.label}, run ${i}/${options.runs}: vmagent`);
    try {
      await c.fake.handle.call('resetCluster', null);
      await c.fake.handle.call('resetRequests', null);
      const configFile = join(c.dir, `vmagent-${c.roles.length}-jobs.json`);
      await writeFile(configFile, scrapeConfigText({ apiServer: c.fake.ready.url, roles: c.roles }));
      const vmDir = await mkdtemp(join(c.dir, 'vmagent-'));
      let traffic: TrafficFigures | undefined;
      const result = await runVmagent({
        binary: options.vmagent,
        configFile,
        dir: vmDir,
        listenPort: await freePort(),
        expectedTargets: ours.targets,
        timeoutMs,
        settleMs,
        whileRunning: async () => {
          traffic = await vmagentTraffic(c.fake.handle, c.churn ? { eventsPerSecond: options.churnEventsPerSecond, seconds: options.churnSeconds } : undefined);
        },
      });
      // vmagent's Go HTTP client sends Go's default user agent; nothing else talks to the fake meanwhile.
      const requests = await c.fake.handle.call('requests', null);
      if (traffic === undefined) throw new Error('vmagent exited before its traffic was read');
      vmagent.push({ ...result, expectedTargets: ours.targets, requests, traffic });
      if (result.discoveredMs === undefined) {
        c.skipped.push(`${c.label}, run ${i}: vmagent reached ${result.scrapeWorks} of ${ours.targets} targets within ${options.fullSetTimeoutSeconds} s`);
      }
      progress(
        `${c.label}, run ${i}: vmagent ${result.scrapeWorks} targets in ${result.discoveredMs === undefined ? 'never' : `${(result.discoveredMs / 1000).toFixed(2)} s`}, RSS ${(result.memory.rssBytes / 2 ** 20).toFixed(0)} MiB`,
      );
    } catch (err) {
      vmagentSkipped = `vmagent failed: ${err instanceof Error ? err.message : String(err)}`;
      c.skipped.push(`${c.label}, run ${i}: ${vmagentSkipped}`);
    }
  }
  const measured = c.vmagentMeasured ?? vmagent;
  return { label: c.label, roles: c.roles, cluster: c.fake.ready.objects, promfleet, vmagent: measured, vmagentSkipped: measured.length > 0 ? undefined : vmagentSkipped };
}

/** The scale comparison once per encoding; vmagent (JSON whatever promfleet asks for) is run with the first only. */
async function compareEncodings(c: Omit<CompareOptions, 'encoding' | 'vmagentMeasured' | 'label'>): Promise<Comparison[]> {
  const out: Comparison[] = [];
  for (const encoding of c.options.encodings) {
    const first = out[0];
    out.push(await compare({ ...c, label: `Scale, ${encoding}`, encoding, vmagentMeasured: first?.vmagent }));
  }
  return out;
}

/** The bytes tables: per cluster, promfleet's runs by encoding and vmagent's. */
function trafficReport(scale: readonly Comparison[], jobs: readonly Comparison[]): string {
  const groups: { label: string; columns: TrafficColumn[] }[] = [];
  const vmagentColumn = (c: Comparison): TrafficColumn[] => (c.vmagent.length === 0 ? [] : [{ title: 'vmagent (JSON)', runs: c.vmagent.map((r) => r.traffic) }]);
  const promfleetColumn = (c: Comparison): TrafficColumn[] =>
    [...new Set(c.promfleet.map((r) => r.encoding))].map((e) => ({ title: `promfleet, ${e}`, runs: c.promfleet.filter((r) => r.encoding === e).map((r) => r.traffic) }));
  const firstScale = scale[0];
  if (firstScale !== undefined) groups.push({ label: 'scale', columns: [...scale.flatMap(promfleetColumn), ...vmagentColumn(firstScale)] });
  for (const j of jobs) groups.push({ label: j.label, columns: [...promfleetColumn(j), ...vmagentColumn(j)] });
  return trafficSection(groups);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  let options: DiscoveryBenchOptions;
  try {
    options = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const started = wallClockMs();
  const deadline = started + options.budgetSeconds * 1000;
  const dir = await mkdtemp(join(tmpdir(), 'promfleet-bench-'));
  const skipped: string[] = [];
  const vm = await vmagentVersion(options.vmagent);
  if (vm.problem !== undefined && options.vmagent !== undefined) progress(`vmagent unusable: ${vm.problem}`);
  try {
    // vmagent asks for JSON, whatever the master is set to.
    const served = [...new Set<BenchEncoding>([...options.encodings, 'json'])];
    let scales: Comparison[] = [];
    {
      const fake = await startFake({ pods: options.pods, nodes: options.nodes, seed: options.seed, encodings: served, gzipLists: options.gzipLists });
      try {
        scales = await compareEncodings({ fake, roles: typicalRoles, churn: true, dir, options, deadline, vmagentProblem: vm.problem, skipped });
      } finally {
        await fake.handle.stop();
      }
    }
    const [scale, ...otherEncodings] = scales;
    const jobsEncoding = options.encodings[0] ?? 'protobuf';
    const jobs: Comparison[] = [];
    if (options.jobs.length > 0 && wallClockMs() < deadline) {
      const fake = await startFake({ pods: options.jobsPods, nodes: options.jobsNodes, seed: options.seed, encodings: [...new Set<BenchEncoding>([jobsEncoding, 'json'])], gzipLists: options.gzipLists });
      try {
        for (const n of options.jobs) {
          const roles: BenchRole[] = Array.from({ length: n }, () => 'endpointslice');
          const label = `${n} job${n === 1 ? '' : 's'}, ${jobsEncoding}`;
          jobs.push(await compare({ fake, label, roles, churn: false, dir, options, deadline, vmagentProblem: vm.problem, skipped, encoding: jobsEncoding, vmagentMeasured: undefined }));
        }
      } finally {
        await fake.handle.stop();
      }
    } else if (options.jobs.length > 0) {
      skipped.push(`jobs comparison (time budget of ${options.budgetSeconds} s spent)`);
    }
    const cpu = cpus();
    const summary: Summary = {
      machine: { cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', memoryBytes: totalmem(), node: process.version, vmagent: vm.version },
      command: `node dist/discovery.js ${argv.join(' ')}`.trim(),
      startedAt: new Date(started).toISOString(),
      wallSeconds: (wallClockMs() - started) / 1000,
      scale,
      otherEncodings,
      jobs,
      skipped,
    };
    const json = JSON.stringify(summary, null, 2);
    process.stdout.write(`${json}\n\n${markdownReport(summary)}\n${trafficReport(scales, jobs)}\n${targetSetsReport(scales)}\n`);
    if (options.jsonFile !== undefined) await writeFile(options.jsonFile, `${json}\n`);
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
