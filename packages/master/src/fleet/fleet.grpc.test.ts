/**
 * The fleet over real gRPC: the master's Fleet and FleetGrpcServer on 127.0.0.1, and 50 real worker assignment
 * clients. Targets churn, workers leave (stream closed), drain, come back and are replaced; after every step the
 * fleet settles and every target is held by exactly one live worker, the one the master says owns it, and every
 * handover gave the new owner the slot right after the old owner's last.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { buildTarget, parseConfig, type ScrapeConfig, type Target, type TargetId } from '@promfleet/model';
import { scrapeJobToProto } from '@promfleet/protocol';
import { AssignmentClient, type AssignmentChange } from '@promfleet/worker';
import type { JobTargets } from '../discovery/manager.js';
import { Fleet } from './fleet.js';
import { JobFeed } from './fixtures.js';
import { FleetGrpcServer } from './server.js';

const parsed = parseConfig('scrape_configs:\n  - job_name: node\n    scrape_interval: 5s\n', { file: 'g.yml' });
if (!parsed.ok) throw new Error('config');
const job = parsed.config.scrapeConfigs[0] as ScrapeConfig;
const intervalMs = 5_000;

function makeTarget(i: number): Target {
  const result = buildTarget(job, new Map([['__address__', `10.9.${i >> 8}.${i & 255}:9100`]]), new Map());
  if (result.kind !== 'kept') throw new Error('target');
  return result.target;
}

const feed = new JobFeed(job);
function jobTargets(targets: Iterable<Target>): JobTargets {
  return feed.update(targets);
}

/** A deterministic PRNG, so a failure reproduces. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Handover {
  readonly target: TargetId;
  readonly from: string;
  readonly lastSlot: number;
}

const fleet = new Fleet({
  masterId: 'master-0',
  softwareVersion: 'test',
  graceMs: 300,
  startupGraceMs: 0,
  startupWaitMs: 1_000,
  heartbeatIntervalMs: 200,
  handoverLeadMs: 500,
  rebalanceIntervalMs: 60_000,
});
const server = new FleetGrpcServer({ fleet });
const clients = new Map<string, AssignmentClient>();
const handovers: Handover[] = [];
/** Target → first slots it was added with, per worker. */
const firstSlots = new Map<string, number[]>();

afterAll(async () => {
  await Promise.all([...clients.values()].map((c) => c.stop()));
  fleet.stop();
  await server.close();
});

function startClient(id: string, address: string): AssignmentClient {
  const client = new AssignmentClient({
    address,
    workerId: id,
    softwareVersion: 'test',
    backoff: { initialMs: 20, maxMs: 200 },
    onChange: (change: AssignmentChange) => {
      for (const r of change.removed) if (r.reason === 'moved' && r.lastSlotUnixMs > 0) handovers.push({ target: r.id, from: id, lastSlot: r.lastSlotUnixMs });
      for (const t of change.added) {
        const key = `${t.id}@${id}`;
        firstSlots.set(key, [...(firstSlots.get(key) ?? []), t.firstSlotUnixMs]);
      }
    },
  });
  clients.set(id, client);
  client.start();
  return client;
}

/** Waits until every connected worker acknowledged everything sent, and nothing is pending. */
async function quiescent(): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    const workers = fleet.workers();
    const live = [...clients.entries()].filter(([, c]) => c.connected).map(([id]) => id);
    // Every client connected first: with none connected yet, everything below would hold vacuously.
    const settled =
      live.length === clients.size &&
      fleet.ready() &&
      workers.every((w) => w.state === 'connected' && w.generation === w.ackedGeneration && w.generation > 0) &&
      workers.length === live.length &&
      live.every((id) => clients.get(id)?.state.generation === workers.find((w) => w.id === id)?.generation);
    if (settled) return;
    if (Date.now() > deadline) {
      const errors = [...new Set([...clients.values()].map((c) => c.lastError))];
      throw new Error(`fleet did not settle: ${JSON.stringify(workers.map((w) => [w.id, w.state, w.generation, w.ackedGeneration]))}; client errors: ${errors.join('; ')}`);
    }
  }
}

/** Every target is held by exactly one live worker, the owner the master records; no live worker holds anything else. */
function checkOwnership(targets: ReadonlyMap<TargetId, Target>): void {
  const holders = new Map<TargetId, string[]>();
  for (const [id, client] of clients) {
    if (!client.connected) continue;
    for (const t of client.state.held()) holders.set(t.id, [...(holders.get(t.id) ?? []), id]);
  }
  const problems: string[] = [];
  for (const id of targets.keys()) {
    const held = holders.get(id) ?? [];
    const owner = fleet.target(id)?.owner;
    if (held.length !== 1 || held[0] !== owner) problems.push(`${id}: held by [${held.join(',')}], owner ${owner ?? 'none'}`);
  }
  for (const id of holders.keys()) if (!targets.has(id)) problems.push(`${id}: held but not a target`);
  expect(problems).toEqual([]);
}

describe('the fleet over gRPC with 50 workers', () => {
  it('keeps every target owned by exactly one worker while targets churn and workers leave, drain and rejoin', async () => {
    const port = await server.listen('127.0.0.1:0');
    const address = `127.0.0.1:${port}`;
    const random = prng(7);
    let next = 0;
    const targets = new Map<TargetId, Target>();
    for (; next < 1_000; next++) {
      const t = makeTarget(next);
      targets.set(t.id, t);
    }
    fleet.configure({ jobs: [scrapeJobToProto(job)], remoteWrite: [] });
    fleet.start();
    fleet.updateJobs([jobTargets(targets.values())]);
    const ids = Array.from({ length: 50 }, (_, i) => `w${String(i).padStart(2, '0')}`);
    for (const id of ids) startClient(id, address);
    await quiescent();
    checkOwnership(targets);
    expect(fleet.workers()).toHaveLength(50);

    for (let round = 0; round < 6; round++) {
      // Targets churn: 5 % leave, as many arrive.
      const current = [...targets.keys()];
      for (let i = 0; i < 50; i++) targets.delete(current[Math.floor(random() * current.length)] as TargetId);
      for (let i = 0; i < 50; i++, next++) {
        const t = makeTarget(next);
        targets.set(t.id, t);
      }
      fleet.updateJobs([jobTargets(targets.values())]);

      const live = [...clients.entries()].filter(([, c]) => c.connected).map(([id]) => id);
      const pick = () => live.splice(Math.floor(random() * live.length), 1)[0] as string;
      // One worker's stream breaks for good, one drains, one blips (back within its grace period).
      const lost = pick();
      const drained = pick();
      const blip = pick();
      await clients.get(lost)?.stop();
      clients.delete(lost);
      const draining = clients.get(drained)?.drain({ deadlineUnixMs: Date.now() + 20_000, reason: 'test' });
      const blipped = clients.get(blip);
      await blipped?.stop();
      blipped?.start();
      await draining;
      clients.delete(drained);
      // A replacement arrives for the one that left for good, and the drained one comes back as a fresh process.
      startClient(`r${round}`, address);
      startClient(drained, address);
      await new Promise((r) => setTimeout(r, 400));
      await quiescent();
      checkOwnership(targets);
    }
    expect(fleet.workers().length).toBe(clients.size);

    // Every handover gave the new owner the slot right after the old owner's last one.
    expect(handovers.length).toBeGreaterThan(0);
    const unmatched = handovers.filter((h) => {
      for (const [key, slots] of firstSlots) if (key.startsWith(`${h.target}@`) && !key.endsWith(`@${h.from}`) && slots.includes(h.lastSlot + intervalMs)) return false;
      return true;
    });
    expect(unmatched.map((h) => ({ ...h, history: fleet.target(h.target)?.history, slots: [...firstSlots].filter(([k]) => k.startsWith(h.target)) }))).toEqual([]);
  }, 120_000);
});
