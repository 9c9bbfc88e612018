/**
 * What one discovery update costs the master's fleet when a large job gains a few targets: `Fleet.updateJobs` with
 * 20 new targets in a 100,000-target job, 1,000 workers, assignment settled. The fleet takes each job's `added` and
 * `removed` ids from the discovery manager, so the cost should follow the change, not the job's size.
 *
 *   pnpm build && pnpm --filter @promfleet/bench update-jobs
 */
import { Fleet, type JobTargets, type WorkerSession } from '@promfleet/master';
import { buildTarget, parseConfig, type Target, type TargetId } from '@promfleet/model';
import { PROTOCOL_VERSION } from '@promfleet/protocol';

const parsed = parseConfig('scrape_configs:\n  - job_name: pods\n', { file: 'bench.yml' });
if (!parsed.ok) throw new Error('config');
const job = parsed.config.scrapeConfigs[0];
if (job === undefined) throw new Error('job');
const scrapeJob = job;

function target(i: number): Target {
  const result = buildTarget(scrapeJob, new Map([['__address__', `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:8080`], ['pod', `p-${i}`]]), new Map());
  if (result.kind !== 'kept') throw new Error('target');
  return result.target;
}

const targets = new Map<TargetId, Target>();
const added = new Set<TargetId>();
const update = (): JobTargets => ({ job: scrapeJob, targets, discovered: targets.size, dropped: 0, invalid: 0, synced: true, added, removed: new Set() });
for (let i = 0; i < 100_000; i++) {
  const t = target(i);
  targets.set(t.id, t);
  added.add(t.id);
}
const fleet = new Fleet({ masterId: 'bench', softwareVersion: 'bench', graceMs: 0, startupGraceMs: 0, startupWaitMs: 0 });
fleet.configure({ jobs: [], remoteWrite: [] });
const session: WorkerSession = { peer: 'bench', identity: 'anonymous', send: () => true, close: () => undefined };
for (let w = 0; w < 1_000; w++) fleet.accept({ ...session }, { workerId: `w${w}`, softwareVersion: 'bench', protocolVersion: PROTOCOL_VERSION, heldGeneration: 0, heldTargets: [], previousStreamResourceExhausted: '', heldTargetsContinued: false, highestLeaderTerm: 0 });
fleet.start();
fleet.updateJobs([update()]);
added.clear();
while (!fleet.ready()) await new Promise((r) => setTimeout(r, 10));
const times: number[] = [];
let next = 100_000;
for (let k = 0; k < 200; k++) {
  for (let j = 0; j < 20; j++) {
    const t = target(next++);
    targets.set(t.id, t);
    added.add(t.id);
  }
  const start = performance.now();
  fleet.updateJobs([update()]);
  times.push(performance.now() - start);
  added.clear();
}
fleet.stop();
times.sort((a, b) => a - b);
const at = (q: number) => (times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0).toFixed(3);
process.stdout.write(`Fleet.updateJobs, 20 new targets in a 100,000-target job, 1,000 workers: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms (200 calls)\n`);
