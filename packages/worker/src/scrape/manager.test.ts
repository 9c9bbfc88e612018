import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { SecretFilePolicy } from '@promfleet/credentials';
import { buildTarget, parseConfig } from '@promfleet/model';
import { remoteWriteToProto, scrapeJobToProto, targetToProto } from '@promfleet/protocol';
import { AssignmentState } from '../assignment/state.js';
import { RemoteWriteMetrics } from '../remote/metrics.js';
import { ScrapeManager, type ScrapeManagerEvent } from './manager.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('ScrapeManager', () => {
  it('gives the targets of a job naming a refused file up=0 with the refusal, and rejects such an endpoint', async () => {
    const allowed = mkdtempSync(join(tmpdir(), 'promfleet-manager-'));
    cleanups.push(() => rmSync(allowed, { recursive: true, force: true }));
    const outside = join(allowed, '..', 'elsewhere', 'token');
    const parsed = parseConfig(
      [
        'scrape_configs:',
        '  - job_name: j',
        '    scrape_interval: 1s',
        '    scrape_timeout: 500ms',
        `    authorization: {credentials_file: ${outside}}`,
        "    static_configs: [{targets: ['127.0.0.1:9']}]",
        'remote_write:',
        '  - name: rw',
        '    url: http://127.0.0.1:9/api/v1/write',
        `    basic_auth: {username: u, password_file: ${outside}}`,
        '',
      ].join('\n'),
      { file: '/x/prometheus.yml' },
    );
    if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('; '));
    const job = parsed.config.scrapeConfigs[0];
    const rw = parsed.config.remoteWrite[0];
    if (job === undefined || rw === undefined) throw new Error('no job or endpoint');
    const built = buildTarget(job, new Map([['__address__', '127.0.0.1:9']]), new Map());
    if (built.kind !== 'kept') throw new Error('target dropped');

    const events: ScrapeManagerEvent[] = [];
    const manager = new ScrapeManager({
      userAgent: 'promfleet/test',
      secretFiles: SecretFilePolicy.allowDirs([allowed], { flag: '--worker.secret-dirs' }),
      remoteWriteMetrics: new RemoteWriteMetrics(new Registry()),
      log: (event) => events.push(event),
    });
    cleanups.push(() => manager.stop());
    const state = new AssignmentState();
    const change = state.applySnapshot({
      generation: 1,
      jobs: [scrapeJobToProto(job)],
      remoteWrite: [remoteWriteToProto({ config: rw, index: 0, externalLabels: new Map() })],
      targets: [targetToProto({ target: built.target, firstSlotUnixMs: 0 })],
      continued: false,
      leaderTerm: 1,
      unsyncedJobs: [],
    });
    if (change === undefined) throw new Error('snapshot not applied');
    manager.apply(change, state);

    const refused = (field: string) => `${field}: refused to read file ${outside}`;
    expect(events.map((e) => [e.kind, 'error' in e ? e.error : ''])).toEqual([
      ['endpoint-rejected', expect.stringContaining(`remote_write rw: ${refused('basic_auth.password_file')}`)],
      ['job-unusable', expect.stringContaining(`scrape job "j": ${refused('authorization.credentials_file')}`)],
    ]);
    // The loop runs and reports the refusal at its first slot (within one 1 s interval).
    const deadline = Date.now() + 5_000;
    const health = () => [...manager.loops()][0]?.health;
    while ((health()?.lastScrapeUnixMs ?? 0) === 0) {
      if (Date.now() > deadline) throw new Error('no scrape within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(health()).toMatchObject({ up: false, lastError: expect.stringContaining('add its directory to --worker.secret-dirs') });
    expect(manager.healthReport()[0]?.lastError).toContain(refused('authorization.credentials_file'));
  });

  it('keeps the queue of an endpoint a remote-write update leaves unchanged, and stops those that left or changed', async () => {
    const events: ScrapeManagerEvent[] = [];
    const manager = new ScrapeManager({
      userAgent: 'promfleet/test',
      secretFiles: SecretFilePolicy.allowDirs([], { flag: '--worker.secret-dirs' }),
      remoteWriteMetrics: new RemoteWriteMetrics(new Registry()),
      log: (event) => events.push(event),
    });
    cleanups.push(() => manager.stop());
    const endpoint = (name: string, url: string) => {
      const parsed = parseConfig(`remote_write:\n  - {name: ${name}, url: '${url}'}\n`, { file: '/x/prometheus.yml' });
      const rw = parsed.ok ? parsed.config.remoteWrite[0] : undefined;
      if (rw === undefined) throw new Error('endpoint');
      return remoteWriteToProto({ config: rw, index: 0, externalLabels: new Map() });
    };
    const state = new AssignmentState();
    const first = state.applySnapshot({ generation: 1, jobs: [], remoteWrite: [endpoint('a', 'http://127.0.0.1:9/a'), endpoint('b', 'http://127.0.0.1:9/b')], targets: [], continued: false, leaderTerm: 1, unsyncedJobs: [] });
    if (first === undefined) throw new Error('snapshot not applied');
    manager.apply(first, state);
    const stopped = async (count: number) => {
      const deadline = Date.now() + 5_000;
      const names = () => events.flatMap((e) => (e.kind === 'remote-write' && e.event.kind === 'stopped' ? [e.endpoint] : []));
      while (names().length < count) {
        if (Date.now() > deadline) throw new Error(`only ${names().join()} stopped`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return names();
    };
    let generation = 1;
    const update = (endpoints: ReturnType<typeof endpoint>[]) => {
      manager.apply(state.applyDelta({ generation: generation + 1, baseGeneration: generation, upsertedJobs: [], removedJobs: [], addedTargets: [], removedTargets: [], leaderTerm: 1, remoteWrite: { endpoints } }), state);
      generation++;
    };
    update([endpoint('a', 'http://127.0.0.1:9/a'), endpoint('c', 'http://127.0.0.1:9/c')]);
    expect(await stopped(1)).toEqual(['b']);
    update([endpoint('a', 'http://127.0.0.1:9/other'), endpoint('c', 'http://127.0.0.1:9/c')]);
    expect(await stopped(2)).toEqual(['b', 'a']);
  });
});
