/**
 * What one discovery update costs the master's fleet when a large job changes a little: `Fleet.updateJobs` with
 * `--added` new targets and `--removed` gone ones in a `--targets`-target job, `--workers` workers, assignment
 * settled. The fleet takes each job's `added` and `removed` ids from the discovery manager, so the cost should follow
 * the change, not the job's size.
 *
 *   pnpm build && pnpm --filter @promfleet/bench update-jobs [--targets 100000] [--added 20] [--removed 0] [--workers 1000] [--calls 200]
 */
import { parseArgs } from 'node:util';
import { Fleet, type JobTargets, type WorkerSession } from '@promfleet/master';
import { buildTarget, parseConfig, type Target, type TargetId } from '@promfleet/model';
import { PROTOCOL_VERSION, scrapeJobToProto } from '@promfleet/protocol';

const usage = 'usage: update-jobs [--targets N] [--added N] [--removed N] [--workers N] [--calls N]';
const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: '100000' },
    added: { type: 'string', default: '20' },
    removed: { type: 'string', default: '0' },
    workers: { type: 'string', default: '1000' },
    calls: { type: 'string', default: '200' },
    help: { type: 'boolean' },
  },
});
if (values.help === true) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const count = (name: keyof typeof values, min: number): number => {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < min) throw new RangeError(`--${name}: want an integer of at least ${min}, got ${String(values[name])}\n${usage}`);
  return value;
};
const size = count('targets', 1);
const adding = count('added', 0);
const removing = count('removed', 0);
const workers = count('workers', 1);
const calls = count('calls', 1);
if (removing * calls > size) throw new RangeError(`--removed ${removing} × --calls ${calls} is more than the job's ${size} targets`);

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
const removed = new Set<TargetId>();
const update = (): JobTargets => ({ job: scrapeJob, targets, discovered: targets.size, dropped: 0, invalid: 0, synced: true, added, removed });
for (let i = 0; i < size; i++) {
  const t = target(i);
  targets.set(t.id, t);
  added.add(t.id);
}
const fleet = new Fleet({ masterId: 'bench', softwareVersion: 'bench', graceMs: 0, startupGraceMs: 0, startupWaitMs: 0 });
// The job must be configured: the fleet assigns only configured jobs' targets, and skips any other job's update.
fleet.configure({ jobs: [scrapeJobToProto(scrapeJob)], remoteWrite: [] });
const session: WorkerSession = { peer: 'bench', identity: 'anonymous', send: () => true, close: () => undefined };
for (let w = 0; w < workers; w++) {
  fleet.accept({ ...session }, { workerId: `w${w}`, softwareVersion: 'bench', protocolVersion: PROTOCOL_VERSION, heldGeneration: 0, heldTargets: [], previousStreamResourceExhausted: '', heldTargetsContinued: false, highestLeaderTerm: 0 });
}
fleet.start();
fleet.updateJobs([update()]);
added.clear();
while (!fleet.ready()) await new Promise((r) => setTimeout(r, 10));

/** Fails the run unless the fleet holds and assigned every target: a bench of a skipped job measures nothing. */
function expectAssigned(want: number): void {
  const counts = fleet.jobCounts().get(scrapeJob.jobName);
  if (counts?.targets !== want || counts.assigned !== want) throw new Error(`the fleet holds ${JSON.stringify(counts)} of job ${scrapeJob.jobName}, want ${want} targets, all assigned`);
}
expectAssigned(size);

const times: number[] = [];
let next = size;
let oldest = 0;
for (let k = 0; k < calls; k++) {
  for (let j = 0; j < adding; j++) {
    const t = target(next++);
    targets.set(t.id, t);
    added.add(t.id);
  }
  for (let j = 0; j < removing; j++) {
    const id = target(oldest++).id;
    targets.delete(id);
    removed.add(id);
  }
  const start = performance.now();
  fleet.updateJobs([update()]);
  times.push(performance.now() - start);
  added.clear();
  removed.clear();
}
expectAssigned(size + calls * (adding - removing));
fleet.stop();
times.sort((a, b) => a - b);
const at = (q: number) => (times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0).toFixed(3);
const change = [adding > 0 ? `${adding} new` : '', removing > 0 ? `${removing} gone` : ''].filter((s) => s !== '').join(' and ') || 'no change';
process.stdout.write(
  `Fleet.updateJobs, ${change} targets in a ${size.toLocaleString('en-US')}-target job, ${workers.toLocaleString('en-US')} workers: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms (${calls} calls)\n`,
);
