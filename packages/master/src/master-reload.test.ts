import { afterEach, describe, expect, it } from '@jest/globals';
import { parseConfig, type GlobalConfig, type PrometheusConfig, type ScrapeConfig } from '@promfleet/model';
import { startMaster, type RunningMaster } from './master.js';
import type { JobSource } from './reload.js';
import { FakeClock } from './leader/fixtures.js';

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

async function start(options: { file: { text: string }; lifecycle?: boolean; source?: JobSource; log?: string[]; clock?: FakeClock }): Promise<RunningMaster> {
  const master = await startMaster({
    ...(options.clock === undefined ? {} : { clock: options.clock }),
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
    expect((await master.registry.metrics()).split('\n').filter((l) => l.startsWith('promfleet_discovered_targets{') && l.includes('leaving'))).toHaveLength(3);
    await expect(master.reload()).resolves.toEqual({ added: ['added'], changed: [], removed: ['leaving'], remoteWriteChanged: true });
    expect(jobsOf(master)).toEqual(['added/a1:1', 'kept/k1:1', 'kept/k2:2']);
    // A removed job's series go, rather than staying at 0.
    expect((await master.registry.metrics()).split('\n').filter((l) => l.includes('"leaving"'))).toEqual([]);
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

/** A job source whose first run throws, as a bug would; later runs list `jobs`. */
class ThrowingOnceJobSource implements JobSource {
  runs = 0;
  constructor(private readonly jobs: readonly ScrapeConfig[]) {}
  async run(signal: AbortSignal, onJobs: (jobs: readonly ScrapeConfig[]) => void): Promise<void> {
    this.runs++;
    if (this.runs === 1) throw new TypeError('cannot read properties of undefined');
    onJobs(this.jobs);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  }
}

const readiness = async (master: RunningMaster) => {
  const res = await fetch(`http://127.0.0.1:${master.webPort}/-/ready`);
  return `${res.status} ${await res.text()}`;
};

describe('a master with a job source', () => {
  const operatorJobs = () =>
    config(`
scrape_configs:
  - job_name: serviceMonitor/ns/app/0
    static_configs: [{targets: ['o1:1']}]
`).scrapeConfigs;

  it('leads only once the source has listed its jobs, however long that takes, saying why it is not ready meanwhile', async () => {
    const clock = new FakeClock();
    const source = new FakeJobSource();
    const log: string[] = [];
    const master = await start({ file: { text: first }, source, log, clock });
    expect(master.fleet).toBeUndefined();
    await clock.advance(29_000);
    expect(await readiness(master)).toBe(
      '503 Service Unavailable\nwaiting for the prometheus-operator resources to be listed (for 29s): this master leads only once it knows their jobs, so that the workers keep their targets\n',
    );
    expect(log.filter((l) => l.includes('still waiting'))).toEqual([]);
    await clock.advance(1_000);
    await clock.advance(10 * 60_000);
    const waiting = log.filter((l) => l.includes('still waiting'));
    // One line at 30 s, then one every 5 minutes: not one a second.
    expect(waiting.map((l) => /\(for (\d+)s\)/.exec(l)?.[1])).toEqual(['30', '330', '630']);
    expect(waiting[0]).toMatch(/^warn still waiting for the prometheus-operator resources to be listed/);
    expect(master.fleet).toBeUndefined();

    source.set(operatorJobs());
    await until(() => jobsOf(master).length === 4, 'the file and source targets');
    expect(jobsOf(master)).toEqual(['kept/k1:1', 'kept/k2:2', 'leaving/l1:1', 'serviceMonitor/ns/app/0/o1:1']);
    expect(master.fleet?.leaderTerm).toBe(1);
    expect(await readiness(master)).toMatch(/^200 /);
    await clock.advance(10 * 60_000);
    expect(log.filter((l) => l.includes('still waiting'))).toHaveLength(3);
  });

  it('stops cleanly before the source has listed anything, and never leads after', async () => {
    const clock = new FakeClock();
    const source = new FakeJobSource();
    const log: string[] = [];
    const master = await start({ file: { text: first }, source, log, clock });
    await master.stop();
    masters.splice(masters.indexOf(master), 1);
    source.set(operatorJobs());
    await clock.advance(60_000);
    expect(master.fleet).toBeUndefined();
    expect(log.filter((l) => l.includes('still waiting'))).toEqual([]);
    expect(log.at(-1)).toMatch(/^info master stopped/);
  });

  it('logs a source that throws and runs it again after a backoff, leading once it lists', async () => {
    const clock = new FakeClock();
    const source = new ThrowingOnceJobSource(operatorJobs());
    const log: string[] = [];
    const master = await start({ file: { text: first }, source, log, clock });
    await until(() => log.some((l) => l.startsWith('error the job source failed')), 'the failure logged');
    expect(log.find((l) => l.startsWith('error the job source failed'))).toContain('"err":"cannot read properties of undefined","retry_in_ms":1000');
    expect(source.runs).toBe(1);
    await clock.advance(1_000);
    expect(source.runs).toBe(2);
    await until(() => jobsOf(master).length === 4, 'the source targets after the restart');
  });
});
