import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { SecretFilePolicy } from '@promfleet/credentials';
import { buildTarget, parseConfig } from '@promfleet/model';
import { remoteWriteToProto, scrapeJobToProto, targetToProto } from '@promfleet/protocol';
import { AssignmentState } from '../assignment/state.js';
import { RemoteWriteMetrics } from '../remote/metrics.js';
import { endpointQueueDirName } from '../remote/queue.js';
import { samplesOf, startReceiver, type TestReceiver } from '../remote/receiver-fixture.js';
import { Spool } from '../remote/spool.js';
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
    expect(manager.healthReport()[0]?.health.lastError).toContain(refused('authorization.credentials_file'));
  });

  it('gives the loops a forced error that came alone, and keeps the settings of a job the state rejected', async () => {
    const parsed = parseConfig('scrape_configs:\n  - job_name: j\n    scrape_interval: 100ms\n    scrape_timeout: 50ms\n', { file: '/x/prometheus.yml' });
    const job = parsed.ok ? parsed.config.scrapeConfigs[0] : undefined;
    if (job === undefined) throw new Error('no job');
    const built = buildTarget(job, new Map([['__address__', '127.0.0.1:9']]), new Map());
    if (built.kind !== 'kept') throw new Error('target dropped');
    const events: ScrapeManagerEvent[] = [];
    const manager = new ScrapeManager({
      userAgent: 'promfleet/test',
      secretFiles: SecretFilePolicy.allowDirs([], { flag: '--worker.secret-dirs' }),
      remoteWriteMetrics: new RemoteWriteMetrics(new Registry()),
      log: (event) => events.push(event),
    });
    cleanups.push(() => manager.stop());
    const state = new AssignmentState();
    const jobMsg = scrapeJobToProto(job);
    const first = state.applySnapshot({ generation: 1, jobs: [jobMsg], remoteWrite: [], targets: [targetToProto({ target: built.target, firstSlotUnixMs: 0 })], continued: false, leaderTerm: 1, unsyncedJobs: [] });
    if (first === undefined) throw new Error('snapshot not applied');
    manager.apply(first, state);
    const settings = state.jobs.get('j')?.settings;
    const upsert = (generation: number, upserted: typeof jobMsg) =>
      manager.apply(state.applyDelta({ generation, baseGeneration: generation - 1, upsertedJobs: [upserted], removedJobs: [], addedTargets: [], removedTargets: [], leaderTerm: 1 }), state);

    upsert(2, { ...jobMsg, forcedError: 'target_limit exceeded (number of targets: 2, limit: 1)' });
    expect(state.jobs.get('j')?.settings).toBe(settings);
    const deadline = Date.now() + 5_000;
    while (manager.healthReport()[0]?.health.lastError !== 'target_limit exceeded (number of targets: 2, limit: 1)') {
      if (Date.now() > deadline) throw new Error('the forced error did not reach the loop');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(manager.healthReport()).toEqual([{ id: built.target.id, health: expect.objectContaining({ up: false }) }]);

    upsert(3, { ...jobMsg, scheme: 'ftp' });
    expect(events).toEqual([{ kind: 'job-rejected', job: 'j', error: expect.stringContaining('jobs[j].scheme') }]);
    expect([...manager.loops()].map((l) => l.url)).toEqual(['http://127.0.0.1:9/metrics']);
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

  describe('when an endpoint changes but keeps its URL', () => {
    /**
     * A manager scraping one target serving `m 1` every 100 ms into one endpoint at `receiver`, each generation of
     * the endpoint sending a header `x-queue` that names it; `update(queue)` moves the endpoint to a new generation.
     */
    async function fleet(receiver: TestReceiver, options: { flushDeadlineMs: number; remoteTimeout: string; queueDir?: string }) {
      const target = createServer((_req, res) => res.end('m 1\n'));
      await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => target.close(() => resolve())));
      const address = `127.0.0.1:${(target.address() as AddressInfo).port}`;
      const config = (queue: string) => {
        const parsed = parseConfig(
          [
            'scrape_configs:',
            '  - {job_name: j, scrape_interval: 100ms, scrape_timeout: 80ms}',
            'remote_write:',
            `  - {name: rw, url: '${receiver.url}', remote_timeout: ${options.remoteTimeout}, headers: {x-queue: ${queue}}, queue_config: {batch_send_deadline: 20ms, min_backoff: 10ms, max_backoff: 20ms}}`,
            '',
          ].join('\n'),
          { file: '/x/prometheus.yml' },
        );
        if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('; '));
        const [job, rw] = [parsed.config.scrapeConfigs[0], parsed.config.remoteWrite[0]];
        if (job === undefined || rw === undefined) throw new Error('no job or endpoint');
        return { job, endpoint: remoteWriteToProto({ config: rw, index: 0, externalLabels: new Map() }) };
      };
      const events: ScrapeManagerEvent[] = [];
      let scrapes = 0;
      const manager = new ScrapeManager({
        userAgent: 'promfleet/test',
        secretFiles: SecretFilePolicy.allowDirs([], { flag: '--worker.secret-dirs' }),
        remoteWriteMetrics: new RemoteWriteMetrics(new Registry()),
        flushDeadlineMs: options.flushDeadlineMs,
        ...(options.queueDir === undefined ? {} : { queueDir: options.queueDir }),
        observer: { appended: () => scrapes++ },
        log: (event) => events.push(event),
      });
      let stopped: Promise<void> | undefined;
      const stop = () => (stopped ??= manager.stop());
      cleanups.push(stop);
      const { job, endpoint } = config('g0');
      const built = buildTarget(job, new Map([['__address__', address]]), new Map());
      if (built.kind !== 'kept') throw new Error('target dropped');
      const state = new AssignmentState();
      const first = state.applySnapshot({ generation: 1, jobs: [scrapeJobToProto(job)], remoteWrite: [endpoint], targets: [targetToProto({ target: built.target, firstSlotUnixMs: 0 })], continued: false, leaderTerm: 1, unsyncedJobs: [] });
      if (first === undefined) throw new Error('snapshot not applied');
      manager.apply(first, state);
      let generation = 1;
      return {
        stop,
        events,
        update: (queue: string): void => {
          const delta = { generation: generation + 1, baseGeneration: generation, upsertedJobs: [], removedJobs: [], addedTargets: [], removedTargets: [], leaderTerm: 1 };
          manager.apply(state.applyDelta({ ...delta, remoteWrite: { endpoints: [config(queue).endpoint] } }), state);
          generation++;
        },
        /** Resolves once `count` more scrapes have handed their samples to the queues. */
        scraped: async (count: number): Promise<void> => {
          const until = scrapes + count;
          await waitFor(() => scrapes >= until, `${count} scrapes`);
        },
      };
    }

    async function waitFor(predicate: () => boolean, what: string): Promise<void> {
      const deadline = performance.now() + 10_000;
      while (!predicate()) {
        if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }

    /** The accepted samples in the receiver's order, each with the generation that sent it. */
    function accepted(receiver: TestReceiver) {
      return receiver.requests
        .filter((r) => r.status !== undefined && r.status < 300)
        .flatMap((r) => samplesOf(r.request).map((s) => ({ ...s, queue: String(r.headers['x-queue']) })));
    }

    /** The generations in the order their samples reached the receiver, each once: `a,a,b,b,c` is `a,b,c`. */
    function sendOrder(samples: readonly { queue: string }[]): string[] {
      return samples.map((s) => s.queue).filter((q, i, all) => q !== all[i - 1]);
    }

    it('sends the old queue\u2019s backlog first, then the new queues\u2019 samples in turn, dropping nothing', async () => {
      await using receiver = await startReceiver();
      // g0's first request gets no answer: its queue retries it after the 300 ms remote timeout, while g1 and g2
      // already take the scrapes' samples.
      receiver.script({ hang: true });
      const { stop, events, update, scraped } = await fleet(receiver, { flushDeadlineMs: 10_000, remoteTimeout: '300ms' });
      await receiver.waitForRequests(1);
      await scraped(1);
      update('g1');
      await scraped(1);
      update('g2');
      await scraped(2);
      await waitFor(() => accepted(receiver).some((s) => s.queue === 'g2'), 'samples of g2');
      await stop();

      const samples = accepted(receiver);
      expect(sendOrder(samples)).toEqual(['g0', 'g1', 'g2']);
      const bySeries = new Map<string, number[]>();
      for (const s of samples) bySeries.set(s.labels, [...(bySeries.get(s.labels) ?? []), s.timestampMs]);
      expect(bySeries.size).toBeGreaterThanOrEqual(2);
      for (const timestamps of bySeries.values()) expect(timestamps).toEqual([...new Set(timestamps)].sort((a, b) => a - b));
      expect(events.filter((e) => e.kind === 'remote-write' && e.event.kind === 'dropping')).toEqual([]);
      const stopped = events.flatMap((e) => (e.kind === 'remote-write' && e.event.kind === 'stopped' ? [e.event] : []));
      expect(stopped).toEqual(Array.from({ length: 3 }, () => ({ kind: 'stopped', flushed: true, droppedSamples: 0, spooledSamples: 0, spooledBytes: 0 })));
    });

    it('lets the new queue send once the old queue\u2019s flush deadline has passed', async () => {
      await using receiver = await startReceiver();
      receiver.script({ hang: true });
      const { events, update, scraped } = await fleet(receiver, { flushDeadlineMs: 200, remoteTimeout: '1m' });
      await receiver.waitForRequests(1);
      update('g1');
      await scraped(1);
      await waitFor(() => accepted(receiver).some((s) => s.queue === 'g1'), 'samples of g1');
      // g0's other shards may have sent before the change; its hung request's samples are lost.
      expect(['g1', 'g0,g1']).toContain(sendOrder(accepted(receiver)).join());
      expect(events.find((e) => e.kind === 'remote-write' && e.event.kind === 'stopped')).toMatchObject({ endpoint: 'rw', event: { flushed: false } });
    });

    it('with a disk queue, the new queue replays what the old one spooled at its flush deadline: nothing is lost', async () => {
      await using receiver = await startReceiver();
      receiver.script({ hang: true });
      const queueDir = mkdtempSync(join(tmpdir(), 'promfleet-manager-'));
      cleanups.push(() => rmSync(queueDir, { recursive: true, force: true }));
      const { stop, events, update, scraped } = await fleet(receiver, { flushDeadlineMs: 200, remoteTimeout: '1m', queueDir });
      await receiver.waitForRequests(1);
      const hung = samplesOf(receiver.requests[0]?.request);
      update('g1');
      await scraped(2);
      await waitFor(() => accepted(receiver).some((s) => s.queue === 'g1'), 'samples of g1');
      await stop();
      const old = events.find((e) => e.kind === 'remote-write' && e.event.kind === 'stopped');
      expect(old).toMatchObject({ event: { flushed: false, droppedSamples: 0 } });
      const samples = accepted(receiver);
      // The hung request's samples were spooled by g0 and sent by g1, before g1's own.
      for (const s of hung) expect(samples.filter((a) => a.labels === s.labels && a.timestampMs === s.timestampMs)).toHaveLength(1);
      // Each series in order. A request of another shard that the receiver answered just as the flush deadline
      // aborted it is sent again from disk: delivery is at least once.
      const bySeries = new Map<string, number[]>();
      for (const s of samples) bySeries.set(s.labels, [...(bySeries.get(s.labels) ?? []), s.timestampMs]);
      for (const timestamps of bySeries.values()) expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
      expect(events.filter((e) => e.kind === 'remote-write' && e.event.kind === 'dropping')).toEqual([]);
      expect(readdirSync(queueDir)).toEqual([endpointQueueDirName('rw', receiver.url)]);
    });
  });

  it('keeps the queue directory of an endpoint whose queue cannot be built (a TLS file not there yet)', async () => {
    const queueDir = mkdtempSync(join(tmpdir(), 'promfleet-manager-'));
    cleanups.push(() => rmSync(queueDir, { recursive: true, force: true }));
    const url = 'http://127.0.0.1:9/rw';
    const backlog = join(queueDir, endpointQueueDirName('rw', url));
    const { spool } = Spool.open(join(backlog, 'shard-0'), { maxBytes: 1 << 20 });
    spool.append({ protocol: 'prometheus.WriteRequest', body: Buffer.alloc(100), samples: 7, exemplars: 0, oldestTimestampMs: 1, newestTimestampMs: 2 });
    spool.close();
    const events: ScrapeManagerEvent[] = [];
    const registry = new Registry();
    const manager = new ScrapeManager({
      userAgent: 'promfleet/test',
      secretFiles: SecretFilePolicy.allowDirs([], { flag: '--worker.secret-dirs' }),
      remoteWriteMetrics: new RemoteWriteMetrics(registry),
      queueDir,
      log: (event) => events.push(event),
    });
    cleanups.push(() => manager.stop());
    const parsed = parseConfig(`remote_write:\n  - {name: rw, url: '${url}', tls_config: {ca_file: ${join(queueDir, 'missing-ca.pem')}}}\n`, { file: '/x/prometheus.yml' });
    const rw = parsed.ok ? parsed.config.remoteWrite[0] : undefined;
    if (rw === undefined) throw new Error('endpoint');
    const state = new AssignmentState();
    const change = state.applySnapshot({ generation: 1, jobs: [], remoteWrite: [remoteWriteToProto({ config: rw, index: 0, externalLabels: new Map() })], targets: [], continued: false, leaderTerm: 1, unsyncedJobs: [] });
    if (change === undefined) throw new Error('snapshot not applied');
    manager.apply(change, state);
    expect(events.map((e) => e.kind)).toContain('endpoint-rejected');
    expect(events.filter((e) => e.kind === 'queue-dir-removed')).toEqual([]);
    expect(readdirSync(queueDir)).toEqual([endpointQueueDirName('rw', url)]);
    expect(await registry.getSingleMetricAsString('promfleet_remote_write_queue_dir_removed_samples_total')).toContain('promfleet_remote_write_queue_dir_removed_samples_total 0');
  });

  it('removes the queue directories of endpoints no longer configured, saying what they held, and nothing else', async () => {
    const queueDir = mkdtempSync(join(tmpdir(), 'promfleet-manager-'));
    cleanups.push(() => rmSync(queueDir, { recursive: true, force: true }));
    const dead = join(queueDir, endpointQueueDirName('gone', 'http://127.0.0.1:9/gone'));
    const { spool } = Spool.open(join(dead, 'shard-0'), { maxBytes: 1 << 20 });
    spool.append({ protocol: 'prometheus.WriteRequest', body: Buffer.alloc(100), samples: 7, exemplars: 0, oldestTimestampMs: 1, newestTimestampMs: 2 });
    spool.close();
    mkdirSync(join(queueDir, 'notes'));
    const events: ScrapeManagerEvent[] = [];
    const registry = new Registry();
    const manager = new ScrapeManager({
      userAgent: 'promfleet/test',
      secretFiles: SecretFilePolicy.allowDirs([], { flag: '--worker.secret-dirs' }),
      remoteWriteMetrics: new RemoteWriteMetrics(registry),
      queueDir,
      log: (event) => events.push(event),
    });
    cleanups.push(() => manager.stop());
    const parsed = parseConfig(`remote_write:\n  - {name: kept, url: 'http://127.0.0.1:9/kept'}\n`, { file: '/x/prometheus.yml' });
    const rw = parsed.ok ? parsed.config.remoteWrite[0] : undefined;
    if (rw === undefined) throw new Error('endpoint');
    const state = new AssignmentState();
    const change = state.applySnapshot({ generation: 1, jobs: [], remoteWrite: [remoteWriteToProto({ config: rw, index: 0, externalLabels: new Map() })], targets: [], continued: false, leaderTerm: 1, unsyncedJobs: [] });
    if (change === undefined) throw new Error('snapshot not applied');
    manager.apply(change, state);
    const removed = events.filter((e) => e.kind === 'queue-dir-removed');
    expect(removed).toEqual([{ kind: 'queue-dir-removed', dir: endpointQueueDirName('gone', 'http://127.0.0.1:9/gone'), samples: 7, bytes: expect.any(Number) }]);
    expect(removed[0]?.kind === 'queue-dir-removed' && removed[0].bytes).toBeGreaterThan(100);
    expect(await registry.getSingleMetricAsString('promfleet_remote_write_queue_dir_removed_samples_total')).toContain('promfleet_remote_write_queue_dir_removed_samples_total 7');
    await manager.stop();
    expect(readdirSync(queueDir).sort()).toEqual([endpointQueueDirName('kept', 'http://127.0.0.1:9/kept'), 'notes']);
  });
});
