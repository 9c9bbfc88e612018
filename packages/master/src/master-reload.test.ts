import { afterEach, describe, expect, it } from '@jest/globals';
import { parseConfig, type GlobalConfig, type PrometheusConfig, type ScrapeConfig } from '@promfleet/model';
import { startMaster, type RunningMaster } from './master.js';
import type { JobSource } from './reload.js';

function config(text: string): PrometheusConfig {
  const result = parseConfig(text, { file: 'prometheus.yml' });
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.keyPath}: ${e.message}`).join('; '));
  return result.config;
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A job source whose list the test sets. */
class FakeJobSource implements JobSource {
  #onJobs: ((jobs: readonly ScrapeConfig[]) => void) | undefined;
  #pending: readonly ScrapeConfig[] | undefined;
  constructor(initial?: readonly ScrapeConfig[]) {
    this.#pending = initial;
  }
  async run(signal: AbortSignal, onJobs: (jobs: readonly ScrapeConfig[]) => void): Promise<void> {
    this.#onJobs = onJobs;
    if (this.#pending !== undefined) onJobs(this.#pending);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  }
  set(jobs: readonly ScrapeConfig[]): void {
    this.#onJobs?.(jobs);
  }
  /** The scrape intervals of the global sections reloads handed it. */
  readonly globals: number[] = [];
  setGlobal(global: GlobalConfig): void {
    this.globals.push(global.scrapeIntervalMs);
  }
}

const masters: RunningMaster[] = [];
afterEach(async () => {
  for (const m of masters.splice(0)) await m.stop();
});

const first = `
scrape_configs:
  - job_name: kept
    static_configs: [{targets: ['k1:1', 'k2:2']}]
  - job_name: leaving
    static_configs: [{targets: ['l1:1']}]
`;

async function start(options: { file: { text: string }; lifecycle?: boolean; source?: JobSource; log?: string[] }): Promise<RunningMaster> {
  const master = await startMaster({
    config: config(options.file.text),
    loadConfig: () => Promise.resolve(config(options.file.text)),
    ...(options.lifecycle === undefined ? {} : { enableLifecycle: options.lifecycle }),
    ...(options.source === undefined ? {} : { jobSource: options.source }),
    webListenAddress: '127.0.0.1:0',
    grpcListenAddress: '127.0.0.1:0',
    discoveryThrottleMs: 10,
    fleet: { masterId: 'm', softwareVersion: 'test', startupGraceMs: 0, startupWaitMs: 0 },
    log: (level, message, fields) => options.log?.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`),
  });
  masters.push(master);
  return master;
}

const jobsOf = (master: RunningMaster) =>
  [...(master.fleet?.targets() ?? [])].map((t) => `${t.job}/${t.labels.get('instance') ?? ''}`).sort();

const metric = async (master: RunningMaster, name: string) => {
  const line = (await master.registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
};

describe('RunningMaster.reload', () => {
  it('applies a new file: adds, changes and removes jobs, says so in one line, and sets the reload metrics', async () => {
    const file = { text: first };
    const log: string[] = [];
    const master = await start({ file, log });
    await until(() => jobsOf(master).length === 3, 'the first targets');
    expect(await metric(master, 'promfleet_config_last_reload_successful')).toBe(1);
    const startedAt = await metric(master, 'promfleet_config_last_reload_success_timestamp_seconds');
    expect(startedAt).toBeGreaterThan(0);

    file.text = `
scrape_configs:
  - job_name: kept
    static_configs: [{targets: ['k1:1', 'k2:2']}]
  - job_name: added
    static_configs: [{targets: ['a1:1']}]
remote_write:
  - url: http://receiver:9090/api/v1/write
`;
    await expect(master.reload()).resolves.toEqual({ added: ['added'], changed: [], removed: ['leaving'], remoteWriteChanged: true });
    expect(jobsOf(master)).toEqual(['added/a1:1', 'kept/k1:1', 'kept/k2:2']);
    expect(log.filter((l) => l.includes('configuration reloaded'))).toEqual([
      'info configuration reloaded {"jobs":2,"jobs_added":"added","jobs_changed":"","jobs_removed":"leaving","remote_write":"changed"}',
    ]);

    // Inline secrets the fleet link would send in clear: refused at a reload as at start, before anything changes.
    file.text = `${first}    basic_auth: {username: u, password: hunter2}\n`;
    await expect(master.reload()).rejects.toThrow(/--fleet.allow-insecure-secrets/);
    expect(log.join('\n')).not.toContain('hunter2');
    expect(jobsOf(master)).toEqual(['added/a1:1', 'kept/k1:1', 'kept/k2:2']);

    file.text = 'scrape_configs: [{job_name: kept, scrape_interval: nope}]';
    await expect(master.reload()).rejects.toThrow(/scrape_interval/);
    expect(await metric(master, 'promfleet_config_last_reload_successful')).toBe(0);
    expect(jobsOf(master)).toEqual(['added/a1:1', 'kept/k1:1', 'kept/k2:2']);
    expect(log.some((l) => l.startsWith('error configuration reload failed: the previous configuration keeps running'))).toBe(true);
  });

  it('serves POST and PUT /-/reload only with the lifecycle API, answering a failed reload with 500 and the reason', async () => {
    const file = { text: first };
    const locked = await start({ file });
    const url = (m: RunningMaster) => `http://127.0.0.1:${m.webPort}/-/reload`;
    const forbidden = await fetch(url(locked), { method: 'POST' });
    expect([forbidden.status, await forbidden.text()]).toEqual([403, 'Lifecycle API is not enabled.']);

    const open = await start({ file, lifecycle: true });
    expect((await fetch(url(open), { method: 'GET' })).status).toBe(405);
    file.text = `${first}\n  - job_name: more\n    static_configs: [{targets: ['m1:1']}]\n`;
    expect((await fetch(url(open), { method: 'POST' })).status).toBe(200);
    await until(() => jobsOf(open).includes('more/m1:1'), 'the added job');
    file.text = 'scrape_configs: [{job_name: more}, {job_name: more}]';
    const failed = await fetch(url(open), { method: 'PUT' });
    expect(failed.status).toBe(500);
    expect(await failed.text()).toMatch(/^failed to reload config: .*more/);
  });

  it('runs the job source’s jobs beside the file’s, each list replacing the last, and the file wins a name clash', async () => {
    const extra = config(`
scrape_configs:
  - job_name: kept
    static_configs: [{targets: ['clash:1']}]
  - job_name: operator/a
    static_configs: [{targets: ['o1:1']}]
`).scrapeConfigs;
    const source = new FakeJobSource(extra);
    const log: string[] = [];
    const file = { text: first };
    const master = await start({ file, source, log });
    await until(() => jobsOf(master).length === 4, 'the file and source targets');
    expect(jobsOf(master)).toEqual(['kept/k1:1', 'kept/k2:2', 'leaving/l1:1', 'operator/a/o1:1']);
    expect(log.some((l) => l.startsWith('warn jobs of the job source are named like jobs of the config file: the file wins {"jobs":"kept"}'))).toBe(true);
    source.set([]);
    expect(jobsOf(master)).toEqual(['kept/k1:1', 'kept/k2:2', 'leaving/l1:1']);
    file.text = `global: {scrape_interval: 15s}\n${first}`;
    await master.reload();
    expect(source.globals).toEqual([15_000]);
  });
});
