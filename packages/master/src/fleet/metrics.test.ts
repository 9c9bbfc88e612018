import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { buildTarget, parseConfig } from '@promfleet/model';
import { PROTOCOL_VERSION, RelabelAction, ScrapeJob, type MasterMessage } from '@promfleet/protocol';
import { checkSelfMetrics } from '@promfleet/testkit';
import { Fleet, type WorkerSession } from './fleet.js';
import { JobFeed } from './fixtures.js';
import { FleetMetrics } from './metrics.js';

const parsed = parseConfig('scrape_configs:\n  - job_name: node\n    static_configs: [{targets: [a:1, b:1, c:1]}]\n', { file: 'm.yml' });
if (!parsed.ok) throw new Error('config');
const job = parsed.config.scrapeConfigs[0];
if (job === undefined) throw new Error('job');
const targets = ['a:1', 'b:1', 'c:1'].map((address) => {
  const result = buildTarget(job, new Map([['__address__', address]]), new Map());
  if (result.kind !== 'kept') throw new Error('target');
  return result.target;
});

const session = (peer: string): WorkerSession => ({ peer, identity: 'anonymous', send: (_m: MasterMessage) => true, close: () => undefined });

let fleet: Fleet | undefined;
afterEach(() => fleet?.stop());

describe('FleetMetrics', () => {
  it('reports workers, targets, moves, refusals and allocation time, and passes promtool check metrics', async () => {
    const registry = new Registry();
    const metrics = new FleetMetrics(registry);
    const f = new Fleet({ masterId: 'm', softwareVersion: 't', graceMs: 10, startupGraceMs: 0, startupWaitMs: 10, observer: metrics.observer });
    fleet = f;
    metrics.track(f);
    f.configure({ jobs: [ScrapeJob.fromPartial({ name: 'node' })], remoteWrite: [] });
    f.start();
    f.updateJobs([new JobFeed(job).update(targets)]);
    const hello = { workerId: 'w1', softwareVersion: 't', protocolVersion: PROTOCOL_VERSION, heldGeneration: 0, heldTargets: [], previousStreamResourceExhausted: '', heldTargetsContinued: false, highestLeaderTerm: 0 };
    f.accept(session('a:1'), hello);
    f.accept(session('b:1'), hello);
    const text0 = await registry.metrics();
    expect(text0).toContain('promfleet_fleet_recovering 1');
    expect(text0).toContain('promfleet_fleet_unassigned_targets 3');
    while (!f.ready()) await new Promise((r) => setTimeout(r, 5));

    const text = await registry.metrics();
    expect(text).toContain('promfleet_fleet_recovering 0');
    expect(text).toContain('promfleet_fleet_workers{state="connected"} 1');
    expect(text).toContain('promfleet_fleet_worker_targets{worker="w1"} 3');
    expect(text).toContain('promfleet_fleet_worker_generation_lag{worker="w1"} 1');
    expect(text).toContain('promfleet_fleet_job_targets{scrape_job="node",state="assigned"} 3');
    expect(text).toContain('promfleet_fleet_target_moves_total{reason="added"} 3');
    expect(text).toContain('promfleet_fleet_connections_refused_total{reason="duplicate_worker_id"} 1')
    expect(text).toContain('promfleet_fleet_connections_refused_total{reason="bad_token"} 0');
    expect(text).toMatch(/promfleet_fleet_allocation_duration_seconds_count\{operation="settle"\} 1/);
    expect(await checkSelfMetrics(text)).toEqual({ code: 0, output: '' });
  });

  it('counts settings left out for size and streams that ended with RESOURCE_EXHAUSTED', async () => {
    const registry = new Registry();
    const metrics = new FleetMetrics(registry);
    const f = new Fleet({ masterId: 'm', softwareVersion: 't', observer: metrics.observer });
    fleet = f;
    metrics.track(f);
    const rules = Array.from({ length: 60_000 }, (_, r) => ({ sourceLabels: ['__name__'], separator: ';', regex: `metric_${r}_.*`, replacement: '$1', action: RelabelAction.DROP }));
    f.configure({ jobs: [ScrapeJob.fromPartial({ name: 'huge', metricRelabelConfigs: rules })], remoteWrite: [] });
    const hello = { workerId: 'w1', softwareVersion: 't', protocolVersion: PROTOCOL_VERSION, heldGeneration: 0, heldTargets: [], previousStreamResourceExhausted: 'Received message larger than max (5000000 vs. 4194304)', heldTargetsContinued: false, highestLeaderTerm: 0 };
    f.accept(session('a:1'), hello);
    const text = await registry.metrics();
    expect(text).toContain('promfleet_fleet_settings_rejected_total{kind="job"} 1');
    expect(text).toContain('promfleet_fleet_streams_resource_exhausted_total 1');
    expect(await checkSelfMetrics(text)).toEqual({ code: 0, output: '' });
  });
});
