/**
 * vmagent as the discovery peer: started on the same configuration text against the same fake API server, watched
 * through its own `/metrics` until its discovered targets reach the full set, measured through `/proc`, stopped.
 *
 * vmagent builds a ScrapeWork per target as soon as an object arrives (its `vm_promscrape_discovery_kubernetes_
 * scrape_works` gauge, per role, counts them after relabeling) and starts scrapers for them on its next
 * `-promscrape.kubernetesSDCheckInterval` tick (`vm_promscrape_active_scrapers`); the benchmark reports both moments.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { procCpuSeconds, procMemory, wallClockMs, type ProcMemory } from './measure.js';

/** The samples of a Prometheus text exposition, by series (`name{labels}` exactly as written) → value. */
export function parseMetricsText(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space <= 0) continue;
    const value = Number(line.slice(space + 1));
    if (!Number.isNaN(value)) samples.set(line.slice(0, space), value);
  }
  return samples;
}

/** The sum of every series of metric `name` (with any labels), or undefined when there is none. */
export function sumMetric(samples: ReadonlyMap<string, number>, name: string): number | undefined {
  let sum: number | undefined;
  for (const [series, value] of samples) {
    if (series === name || series.startsWith(`${name}{`)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/** What one vmagent run measured. Times are from spawning the process. */
export interface VmagentRun {
  /** Until its ScrapeWork count reached the expected targets; undefined if it never did. */
  readonly discoveredMs: number | undefined;
  /** Until its active scrapers reached the expected targets; undefined if they never did. */
  readonly activeMs: number | undefined;
  /** Its last ScrapeWork and active-scraper counts. */
  readonly scrapeWorks: number;
  readonly activeScrapers: number;
  /** CPU seconds used until its ScrapeWork count reached the expected targets (or the timeout). */
  readonly cpuSeconds: number;
  /** Memory a few seconds after the full set. */
  readonly memory: ProcMemory;
}

/** Options of {@link runVmagent}. */
export interface VmagentRunOptions {
  readonly binary: string;
  readonly configFile: string;
  /** An empty directory for its remote-write queue and log. */
  readonly dir: string;
  readonly listenPort: number;
  readonly expectedTargets: number;
  readonly timeoutMs: number;
  /** How long after the full set to read its memory, so the figure is not caught mid-build. */
  readonly settleMs: number;
  /** Run after the measurement, before vmagent is stopped, with its pid and its HTTP address. */
  readonly whileRunning?: (vmagent: { readonly pid: number; readonly url: string }) => Promise<void>;
}

const pollMs = 200;

/**
 * Runs vmagent until its targets reach `expectedTargets` (both counts) or `timeoutMs` passes, reads its memory
 * after `settleMs`, and stops it (SIGTERM, SIGKILL after 10 s). Nothing leaves loopback: remote write goes to
 * 127.0.0.1:1, where nothing listens, and the configuration points every target there too.
 */
export async function runVmagent(options: VmagentRunOptions): Promise<VmagentRun> {
  const log = openSync(join(options.dir, 'vmagent.log'), 'a');
  const started = wallClockMs();
  const child = spawn(
    options.binary,
    [
      `-promscrape.config=${options.configFile}`,
      `-httpListenAddr=127.0.0.1:${options.listenPort}`,
      '-remoteWrite.url=http://127.0.0.1:1/api/v1/write',
      `-remoteWrite.tmpDataPath=${join(options.dir, 'remotewrite-data')}`,
      '-promscrape.suppressScrapeErrors',
      '-loggerLevel=ERROR',
    ],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const exited = once(child, 'exit');
  try {
    const result = await measure(child, options, started);
    if (options.whileRunning !== undefined && child.pid !== undefined) await options.whileRunning({ pid: child.pid, url: `http://127.0.0.1:${options.listenPort}` });
    return result;
  } finally {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
}

async function measure(child: ChildProcess, options: VmagentRunOptions, started: number): Promise<VmagentRun> {
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.binary} did not start`);
  const url = `http://127.0.0.1:${options.listenPort}/metrics`;
  let discoveredMs: number | undefined;
  let activeMs: number | undefined;
  let scrapeWorks = 0;
  let activeScrapers = 0;
  let cpuSeconds: number | undefined;
  while (wallClockMs() - started < options.timeoutMs && (discoveredMs === undefined || activeMs === undefined)) {
    if (child.exitCode !== null) throw new Error(`${options.binary} exited with ${child.exitCode}; see ${join(options.dir, 'vmagent.log')}`);
    const samples = await scrape(url);
    const now = wallClockMs() - started;
    if (samples !== undefined) {
      scrapeWorks = sumMetric(samples, 'vm_promscrape_discovery_kubernetes_scrape_works') ?? 0;
      activeScrapers = samples.get('vm_promscrape_active_scrapers{type="kubernetes_sd_configs"}') ?? 0;
      if (discoveredMs === undefined && scrapeWorks >= options.expectedTargets) {
        discoveredMs = now;
        cpuSeconds = await procCpuSeconds(pid);
      }
      if (activeMs === undefined && activeScrapers >= options.expectedTargets) activeMs = now;
    }
    await sleep(pollMs);
  }
  cpuSeconds ??= await procCpuSeconds(pid);
  await sleep(options.settleMs);
  return { discoveredMs, activeMs, scrapeWorks, activeScrapers, cpuSeconds, memory: await procMemory(pid) };
}

/** One read of vmagent's metrics, or undefined while it is not listening yet. */
export async function scrape(url: string): Promise<Map<string, number> | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) return undefined;
    return parseMetricsText(await res.text());
  } catch {
    return undefined;
  }
}
