/**
 * The reload benchmark: what a config reload that changes one job's relabeling costs promfleet's master and vmagent,
 * on the same configuration against the same fake API server. Loopback only; it stops every process it started.
 * Prints a JSON summary, then a markdown table, to stdout; progress to stderr.
 *
 *   pnpm build && pnpm --filter @promfleet/bench reload [--pods N] [--nodes N] [--runs N] [--vmagent PATH|none]
 *
 * Per run and discoverer: start it on the typical three jobs, wait for the full target set and a settle period,
 * measure its idle CPU rate, rewrite the config so the endpointslice job's relabel_configs add a label, reload
 * (promfleet: `DiscoveryManager.applyConfig` with the file read again, as the master's reload does; vmagent: SIGHUP),
 * wait until the new set is complete, then count the API requests and CPU of the reload window.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { RequestCount } from '@promfleet/testkit';
import { ChildHandle } from './ipc.js';
import { procCpuSeconds, wallClockMs } from './measure.js';
import { freePort, progress, startFake, type Fake } from './processes.js';
import { masterUserAgent } from './promfleet-run.js';
import type { MasterCommands, MasterSynced } from './protocol.js';
import { reloadCpuSeconds, reloadMarkdown, type ReloadMeasure, type ReloadSummary } from './reload-report.js';
import { runVmagent, scrape, sumMetric } from './vmagent.js';
import { scrapeConfigText, typicalRoles, type BenchRole } from './workload.js';

/** The job whose relabeling the reload changes, and the label its new rule adds. */
const changedRole: BenchRole = 'endpointslice';
const changedJob = 'kubernetes-service-endpoints';
const addedLabel = 'reload_mark';
/** After the full set: lets the watches that follow the lists open before anything is counted. */
const settleMs = 3_000;
/** How long the idle CPU rate is measured over, and how long the reload window stays open after completion. */
const idleMs = 10_000;
const tailMs = 3_000;
const pollMs = 200;

interface Options {
  readonly pods: number;
  readonly nodes: number;
  readonly runs: number;
  readonly seed: number;
  readonly vmagent: string | undefined;
  readonly timeoutMs: number;
  readonly jsonFile: string | undefined;
}

const usage = `usage: node dist/reload.js [--pods 20000] [--nodes 1000] [--runs 2] [--seed 1] [--vmagent /usr/bin/vmagent|none] [--timeout-seconds 120] [--json FILE]`;

function readOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      pods: { type: 'string', default: '20000' },
      nodes: { type: 'string', default: '1000' },
      runs: { type: 'string', default: '2' },
      seed: { type: 'string', default: '1' },
      vmagent: { type: 'string', default: '/usr/bin/vmagent' },
      'timeout-seconds': { type: 'string', default: '120' },
      json: { type: 'string' },
    },
  });
  const count = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
    return n;
  };
  return {
    pods: count('pods', values.pods),
    nodes: count('nodes', values.nodes),
    runs: count('runs', values.runs),
    seed: count('seed', values.seed),
    vmagent: values.vmagent === 'none' ? undefined : values.vmagent,
    timeoutMs: count('timeout-seconds', values['timeout-seconds']) * 1000,
    jsonFile: values.json,
  };
}

function configs(apiServer: string): { before: string; after: string } {
  return {
    before: scrapeConfigText({ apiServer, roles: typicalRoles }),
    after: scrapeConfigText({ apiServer, roles: typicalRoles, extraRules: { [changedRole]: [{ target_label: addedLabel, replacement: 'v2' }] } }),
  };
}

/** The idle CPU rate of `pid`: CPU seconds over {@link idleMs}. */
async function idleCpu(pid: number): Promise<{ cpuSeconds: number; ms: number }> {
  const cpu0 = await procCpuSeconds(pid);
  const t0 = wallClockMs();
  await sleep(idleMs);
  return { cpuSeconds: (await procCpuSeconds(pid)) - cpu0, ms: wallClockMs() - t0 };
}

async function requestsOf(fake: Fake, userAgent: (ua: string) => boolean): Promise<RequestCount[]> {
  return (await fake.handle.call('requests', null)).filter((r) => userAgent(r.userAgent));
}

async function promfleetRun(fake: Fake, dir: string, options: Options): Promise<{ measure: ReloadMeasure; targets: number }> {
  const configFile = join(dir, 'promfleet.json');
  const text = configs(fake.ready.url);
  await writeFile(configFile, text.before);
  await using master = ChildHandle.fork<MasterCommands>({
    module: new URL('./master-process.js', import.meta.url),
    name: 'master',
    args: [configFile, masterUserAgent, '1000'],
    execArgv: ['--expose-gc', '--max-old-space-size=12288'],
  });
  const synced = (await master.event('synced', options.timeoutMs)) as MasterSynced;
  await sleep(settleMs);
  const idle = await idleCpu(master.pid);
  await writeFile(configFile, text.after);
  await fake.handle.call('resetRequests', null);
  const cpu0 = await procCpuSeconds(master.pid);
  const t0 = wallClockMs();
  const reload = await master.call('reload', { configFile, label: addedLabel });
  const completeMs = wallClockMs() - t0;
  if (reload.changed.join() !== changedJob || reload.added.length + reload.removed.length > 0) {
    throw new Error(`the reload changed ${JSON.stringify(reload)}; expected ${changedJob} changed, nothing added or removed`);
  }
  await sleep(tailMs);
  const cpuSeconds = reloadCpuSeconds(idle, { cpuSeconds: (await procCpuSeconds(master.pid)) - cpu0, ms: wallClockMs() - t0 });
  progress(`promfleet: reload applied in ${completeMs.toFixed(0)} ms (${reload.applyMs.toFixed(0)} ms in applyConfig), ${cpuSeconds.toFixed(2)} CPU s`);
  return {
    targets: synced.jobs.reduce((sum, j) => sum + j.targets, 0),
    measure: {
      completeMs,
      cpuSeconds,
      requests: await requestsOf(fake, (ua) => ua === masterUserAgent),
      changedJobTargets: reload.changedJobTargets,
      labelled: reload.changedJobTargetsLabelled,
      unchangedRecreated: reload.unchangedJobTargetsRecreated,
    },
  };
}

const scrapersStarted = 'vm_promscrape_scrapers_started_total';
const activeScrapers = 'vm_promscrape_active_scrapers{type="kubernetes_sd_configs"}';

/** How many active targets of vmagent's `/api/v1/targets` carry `label`. */
async function labelledTargets(url: string, label: string): Promise<number | undefined> {
  const res = await fetch(`${url}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) return undefined;
  const body = (await res.json()) as { data?: { activeTargets?: { labels?: Record<string, string> }[] } };
  return body.data?.activeTargets?.filter((t) => t.labels?.[label] !== undefined).length;
}

async function vmagentRun(fake: Fake, dir: string, c: { readonly options: Options; readonly binary: string; readonly targets: number; readonly changedJobTargets: number }): Promise<ReloadMeasure> {
  const configFile = join(dir, 'vmagent.json');
  const text = configs(fake.ready.url);
  await writeFile(configFile, text.before);
  const vmDir = await mkdtemp(join(dir, 'vmagent-'));
  let measure: ReloadMeasure | undefined;
  const run = await runVmagent({
    binary: c.binary,
    configFile,
    dir: vmDir,
    listenPort: await freePort(),
    expectedTargets: c.targets,
    timeoutMs: c.options.timeoutMs,
    settleMs,
    whileRunning: async ({ pid, url }) => {
      const idle = await idleCpu(pid);
      const before = await scrape(`${url}/metrics`);
      const started0 = before === undefined ? 0 : (sumMetric(before, scrapersStarted) ?? 0);
      await writeFile(configFile, text.after);
      await fake.handle.call('resetRequests', null);
      const cpu0 = await procCpuSeconds(pid);
      const t0 = wallClockMs();
      process.kill(pid, 'SIGHUP');
      let completeMs: number | undefined;
      let started = 0;
      // Complete: the changed job's scrapers were started again and every target has an active scraper.
      while (completeMs === undefined && wallClockMs() - t0 < c.options.timeoutMs) {
        await sleep(pollMs);
        const samples = await scrape(`${url}/metrics`);
        if (samples === undefined) continue;
        started = (sumMetric(samples, scrapersStarted) ?? 0) - started0;
        if (started >= c.changedJobTargets && (samples.get(activeScrapers) ?? 0) >= c.targets) completeMs = wallClockMs() - t0;
      }
      await sleep(tailMs);
      const cpuSeconds = reloadCpuSeconds(idle, { cpuSeconds: (await procCpuSeconds(pid)) - cpu0, ms: wallClockMs() - t0 });
      const requests = await requestsOf(fake, (ua) => ua !== masterUserAgent);
      const after = await scrape(`${url}/metrics`);
      started = after === undefined ? started : (sumMetric(after, scrapersStarted) ?? 0) - started0;
      const labelled = await labelledTargets(url, addedLabel);
      progress(`vmagent: reload complete ${completeMs === undefined ? 'never' : `in ${completeMs.toFixed(0)} ms`}, ${cpuSeconds.toFixed(2)} CPU s, ${started} scrapers started`);
      measure = { completeMs, cpuSeconds, requests, changedJobTargets: c.changedJobTargets, labelled, unchangedRecreated: Math.max(0, started - c.changedJobTargets) };
    },
  });
  if (run.discoveredMs === undefined) throw new Error(`vmagent reached ${run.scrapeWorks} of ${c.targets} targets`);
  if (measure === undefined) throw new Error('vmagent stopped before the reload was measured');
  return measure;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  let options: Options;
  try {
    options = readOptions(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${usage}\n`);
    return 2;
  }
  const dir = await mkdtemp(join(tmpdir(), 'promfleet-reload-bench-'));
  // The master asks for protobuf (its default), vmagent for JSON; lists as before, uncompressed.
  const fake = await startFake({ pods: options.pods, nodes: options.nodes, seed: options.seed, encodings: ['protobuf', 'json'], gzipLists: false });
  const promfleet: ReloadMeasure[] = [];
  const vmagent: ReloadMeasure[] = [];
  const skipped: string[] = [];
  let targets = 0;
  try {
    for (let i = 1; i <= options.runs; i++) {
      progress(`run ${i}/${options.runs}: promfleet master`);
      const ours = await promfleetRun(fake, dir, options);
      promfleet.push(ours.measure);
      targets = ours.targets;
      if (options.vmagent === undefined) continue;
      progress(`run ${i}/${options.runs}: vmagent`);
      try {
        vmagent.push(await vmagentRun(fake, dir, { options, binary: options.vmagent, targets, changedJobTargets: ours.measure.changedJobTargets }));
      } catch (err) {
        skipped.push(`run ${i}: vmagent: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  } finally {
    await fake.handle.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const cpu = cpus();
  const summary: ReloadSummary = {
    machine: { cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', node: process.version, vmagent: options.vmagent ?? 'not used' },
    command: `node dist/reload.js ${argv.join(' ')}`.trim(),
    cluster: fake.ready.objects,
    targets,
    changedJob,
    promfleet,
    vmagent,
    skipped,
  };
  const json = JSON.stringify(summary, null, 2);
  process.stdout.write(`${json}\n\n${reloadMarkdown(summary)}`);
  if (options.jsonFile !== undefined) await writeFile(options.jsonFile, `${json}\n`);
  return 0;
}

process.exitCode = await main();
