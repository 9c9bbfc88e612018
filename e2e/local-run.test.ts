/**
 * A worker run the way the README shows, stopped the way a user stops it: SIGTERM to the process started (as a
 * supervisor sends), or SIGINT to its whole process group (as Ctrl-C in a terminal does). The process must hand its
 * targets over and exit 0 only once it has; a launcher in front of it that passes the signal on and exits on its own
 * (as `pnpm promfleet` does) fails this. The master is a fake one in the test process that holds the handover for a
 * while before it moves the worker's target away. Needs `pnpm build` first.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RemovalReason, ScrapeJob, labelsToProto, targetIdToBytes } from '../packages/protocol/src/index.js';
import { FakeMaster, type FakeConnection } from '../packages/worker/src/assignment/client-fixtures.js';
import { pickPort, startChild, waitFor, type DemoChild } from '../packages/cli/src/demo-processes.js';

const root = fileURLToPath(new URL('..', import.meta.url));
/** A generous bound for polling; every wait ends as soon as its condition holds. */
const deadlineMs = 15_000;
/** How long the master holds the handover: a launcher that exits before its worker has drained does so within it. */
const handoverHoldMs = 3_000;
const targetId = '00000000000000a1';

/** The first command of the first `sh` block under the README heading `heading`, split into words. */
function documentedCommand(heading: string): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.split(`\n## ${heading}\n`)[1];
  const line = section === undefined ? undefined : /```sh\n(.+)\n/.exec(section)?.[1];
  if (line === undefined) throw new Error(`README.md: no sh block under "## ${heading}"`);
  return line.trim().split(/\s+/);
}

/** `promise`'s outcome, or `fallback` once `ms` have passed, whichever comes first; leaves no timer behind. */
async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What the fake master saw of one worker's stop. */
interface Handover {
  /** Whether the worker's process was still running when the master moved its target away. */
  workerRanThroughHandover: boolean;
  /** Whether the worker acknowledged the delta that moved its target away. */
  acked: boolean;
}

let dir = '';
let master: FakeMaster;
const handovers = new Map<string, Handover>();
const processes = new Map<string, DemoChild>();
const workers: DemoChild[] = [];

/** Gives the worker one target, then on its DrainRequest waits a while and moves the target away. */
async function serve(connection: FakeConnection): Promise<void> {
  const hello = await connection.next('hello', deadlineMs);
  const id = hello.hello.workerId;
  connection.welcome({ heartbeatIntervalMs: 500 });
  const job = ScrapeJob.fromPartial({ name: 'node', scrapeIntervalMs: 1_000, scrapeTimeoutMs: 500, metricsPath: '/metrics', scheme: 'http' });
  // Nothing listens on port 9: each scrape fails at once and never holds the worker's stop.
  const target = { id: targetIdToBytes(targetId), job: 'node', labels: labelsToProto(new Map([['__address__', '127.0.0.1:9'], ['job', 'node']])), firstSlotUnixMs: 0, scrapeIntervalMs: 1_000, scrapeTimeoutMs: 500 };
  connection.snapshot({ generation: 1, jobs: [job], targets: [target] });
  await connection.next('ack', deadlineMs);
  await connection.next('drainRequest', deadlineMs);
  const child = processes.get(id);
  if (child === undefined) throw new Error(`no process for ${id}`);
  await within(child.exited, handoverHoldMs, undefined);
  const handover: Handover = { workerRanThroughHandover: child.running(), acked: false };
  handovers.set(id, handover);
  connection.delta({ generation: 2, baseGeneration: 1, removedTargets: [{ id: targetIdToBytes(targetId), reason: RemovalReason.MOVED, lastSlotUnixMs: Date.now() }] });
  await connection.next('ack', deadlineMs);
  handover.acked = true;
}

beforeAll(async () => {
  if (!existsSync(join(root, 'packages/cli/dist/main.js'))) throw new Error('packages/cli/dist is missing: run `pnpm build` first');
  dir = await mkdtemp(join(tmpdir(), 'promfleet-local-run-'));
  master = await FakeMaster.start((connection) => {
    serve(connection).catch(() => connection.end());
  });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ signal: 'SIGKILL' })));
});
afterAll(async () => {
  master.close();
  await rm(dir, { recursive: true, force: true });
});

describe("a worker run as the README's 'Run a worker' shows", () => {
  it.each<[string, NodeJS.Signals, 'process' | 'group']>([
    ['SIGTERM to its process (a supervisor)', 'SIGTERM', 'process'],
    ['SIGINT to its process group (Ctrl-C in a terminal)', 'SIGINT', 'group'],
  ])('hands its targets over and exits 0 only then, on %s', async (_name, signal, to) => {
    const [command, ...documentedArgs] = documentedCommand('Run a worker');
    if (command === undefined) throw new Error('README.md: an empty command under "## Run a worker"');
    const id = `local-${signal.toLowerCase()}`;
    const port = await pickPort({ host: '127.0.0.1' });
    const args = [
      ...documentedArgs.filter((arg) => !arg.startsWith('--master=')),
      `--master=${master.address}`,
      `--worker.id=${id}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--worker.drain-timeout=15s',
    ];
    const logFile = join(dir, `${id}.log`);
    // A path in the README is relative to the repository root; a bare name (pnpm, node) is looked up in PATH.
    const child = startChild({ name: id, command: command.includes('/') ? join(root, command) : command, args, logFile, cwd: root });
    workers.push(child);
    processes.set(id, child);
    const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
    await waitFor(() => Promise.resolve(/msg="connected to the master"/.test(log()) ? true : undefined), { what: 'the worker to connect', timeoutMs: deadlineMs, children: [child] });
    const acked = (c: FakeConnection) => {
      const hello = c.received[0]?.kind;
      return hello?.$case === 'hello' && hello.hello.workerId === id && c.received.some((m) => m.kind?.$case === 'ack');
    };
    await waitFor(() => Promise.resolve(master.connections.some(acked) ? true : undefined), {
      what: 'the worker to take its target',
      timeoutMs: deadlineMs,
      children: [child],
    });

    process.kill(to === 'group' ? -child.pid : child.pid, signal);
    const exit = await within(child.exited, deadlineMs, 'still running');

    expect(exit).toEqual({ code: 0 });
    expect(handovers.get(id)).toEqual({ workerRanThroughHandover: true, acked: true });
    expect(log()).toMatch(/level=info msg="shutting down: handing targets over"\n(.*\n)*.*level=info msg="worker stopped"\n$/);
  }, 40_000);
});
