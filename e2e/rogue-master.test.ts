/**
 * A rogue master against a real `promfleet worker` process. The master here is a fake one in the test process (a
 * grpc-js server implementing Fleet.Connect) that welcomes the worker and sends it a scrape job whose
 * `authorization.credentials_file`, and a remote_write endpoint whose `basic_auth.password_file`, are `/etc/hostname`:
 * whoever answers at `--master` asking the worker to send a local file to a host it names. The worker must refuse
 * to read the file, say so per target (up=0, in its health report and on its status page) and per endpoint (in its
 * log), name `--worker.secret-dirs`, and never send the file's content anywhere. With `--worker.secret-dirs` naming
 * a directory that holds a token, the same kind of job works. Needs `pnpm build` first.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTarget, parseConfig } from '../packages/model/src/index.js';
import { remoteWriteToProto, scrapeJobToProto, targetToProto, type RemoteWriteEndpoint, type ScrapeJob, type Target } from '../packages/protocol/src/index.js';
import { FakeMaster, type FakeConnection } from '../packages/worker/src/assignment/client-fixtures.js';
import { httpGet, pickPort, startChild, waitFor, type DemoChild } from '../packages/cli/src/demo-processes.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/promfleet.js');
/** The file a rogue master asks for: present on any Linux machine, and not a secret the test could leak. */
const rogueFile = '/etc/hostname';
const flag = '--worker.secret-dirs';
/** A generous bound for polling; every wait ends as soon as its condition holds. */
const deadlineMs = 30_000;

/** What a local HTTP server was sent. */
interface Recorded {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** An HTTP server on 127.0.0.1 that records every request and answers with `body`. */
async function recordingServer(status: number, body: string): Promise<{ server: Server; url: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** The credentials a request carried: its `Authorization` header, with `Basic` credentials also decoded. */
function credentialsOf(r: Recorded): string[] {
  const value = r.headers.authorization;
  if (value === undefined) return [];
  const basic = /^Basic (.+)$/.exec(value)?.[1];
  return basic === undefined ? [value] : [value, Buffer.from(basic, 'base64').toString('utf8')];
}

/** Asserts that no request the target or the receiver got carried the rogue file's content as credentials. */
function expectNothingLeaked(content: string): void {
  for (const r of [...target.requests, ...receiver.requests]) for (const text of credentialsOf(r)) expect(text).not.toContain(content);
}

/** A job, an endpoint and the job's one target, as a master would send them, from a Prometheus configuration. */
function assignment(yaml: string): { jobs: ScrapeJob[]; remoteWrite: RemoteWriteEndpoint[]; targets: Target[] } {
  const parsed = parseConfig(yaml, { file: '/rogue/prometheus.yml' });
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('; '));
  const { config } = parsed;
  const targets = config.scrapeConfigs.flatMap((job) =>
    job.staticConfigs.flatMap((group) =>
      group.targets.map((address) => {
        const built = buildTarget(job, new Map([['__address__', address]]), group.labels);
        if (built.kind !== 'kept') throw new Error(`target of ${job.jobName} not kept`);
        return targetToProto({ target: built.target, firstSlotUnixMs: 0 });
      }),
    ),
  );
  return {
    jobs: config.scrapeConfigs.map(scrapeJobToProto),
    remoteWrite: config.remoteWrite.map((rw, index) => remoteWriteToProto({ config: rw, index, externalLabels: config.global.externalLabels })),
    targets,
  };
}

let dir = '';
let target: Awaited<ReturnType<typeof recordingServer>>;
let receiver: Awaited<ReturnType<typeof recordingServer>>;
let master: FakeMaster;
let hostname = '';
const workers: DemoChild[] = [];

beforeAll(async () => {
  if (!existsSync(join(root, 'packages/cli/dist/main.js'))) throw new Error('packages/cli/dist is missing: run `pnpm build` first');
  hostname = readFileSync(rogueFile, 'utf8').trim();
  dir = await mkdtemp(join(tmpdir(), 'promfleet-rogue-'));
  target = await recordingServer(200, 'rogue_test_metric 1\n');
  receiver = await recordingServer(204, '');
  master = await FakeMaster.start((connection) => {
    serve(connection).catch(() => connection.end());
  });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
}, 30_000);
afterAll(async () => {
  master.close();
  await Promise.all([target, receiver].map(({ server }) => new Promise((resolve) => server.close(resolve))));
  await rm(dir, { recursive: true, force: true });
});

/** The assignment the fake master sends each worker, by worker id. */
const assignments = new Map<string, ReturnType<typeof assignment>>();

/** Welcomes the worker (health reports every 500 ms) and sends it the assignment set for its id. */
async function serve(connection: FakeConnection): Promise<void> {
  const hello = await connection.next('hello', deadlineMs);
  const mine = assignments.get(hello.hello.workerId);
  if (mine === undefined) throw new Error(`no assignment for ${hello.hello.workerId}`);
  connection.welcome({ healthReportIntervalMs: 500 });
  connection.snapshot({ generation: 1, ...mine });
}

/** Starts `promfleet worker` against the fake master. */
async function startWorker(id: string, extraArgs: readonly string[]): Promise<{ child: DemoChild; web: string; log: () => string }> {
  const port = await pickPort({ host: '127.0.0.1' });
  const logFile = join(dir, `${id}.log`);
  const child = startChild({
    name: id,
    command: process.execPath,
    args: [bin, 'worker', `--master=${master.address}`, `--worker.id=${id}`, `--web.listen-address=127.0.0.1:${port}`, '--worker.drain-timeout=1s', `--remote-write.queue-dir=${join(dir, `${id}-remote-write`)}`, ...extraArgs],
    logFile,
    cwd: root,
  });
  workers.push(child);
  return { child, web: `http://127.0.0.1:${port}`, log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') };
}

/** The last error the worker reported to the master for any target of its health reports that matches `pattern`. */
function reportedError(id: string, pattern: RegExp): string | undefined {
  for (const connection of master.connections) {
    const hello = connection.received[0]?.kind;
    if (hello?.$case !== 'hello' || hello.hello.workerId !== id) continue;
    for (const m of connection.received) {
      if (m.kind?.$case !== 'healthReport') continue;
      const hit = m.kind.healthReport.targets.find((t) => !t.up && pattern.test(t.lastError));
      if (hit !== undefined) return hit.lastError;
    }
  }
  return undefined;
}

const rogueJob = (targetUrl: string) => `
  - job_name: rogue
    scrape_interval: 1s
    scrape_timeout: 500ms
    metrics_path: /rogue
    authorization:
      credentials_file: ${rogueFile}
    static_configs:
      - targets: ['${new URL(targetUrl).host}']`;

describe('a worker asked by its master to read files', () => {
  it('refuses a credentials file outside --worker.secret-dirs, says which flag allows it, and sends nothing of it', async () => {
    const id = 'rogue-victim';
    assignments.set(
      id,
      assignment(`
scrape_configs:${rogueJob(target.url)}
remote_write:
  - name: rogue-rw
    url: ${receiver.url}/api/v1/write
    basic_auth:
      username: u
      password_file: ${rogueFile}
`),
    );
    const worker = await startWorker(id, []);
    const jobError = `scrape job "rogue": authorization.credentials_file: refused to read file ${rogueFile}`;

    // The health report the master receives: the target is down with the refusal as its last error.
    const reported = await waitFor(() => Promise.resolve(reportedError(id, /refused to read file/)), { what: 'a health report with the refusal', timeoutMs: deadlineMs, children: [worker.child] });
    expect(reported).toContain(jobError);
    expect(reported).toContain(`add its directory to ${flag}`);
    // The status page says the same.
    const page = (await httpGet(`${worker.web}/`)).body;
    expect(page).toContain('authorization.credentials_file: refused to read file /etc/hostname');
    expect(page).toContain(flag);
    // The log names the job and the endpoint, each with the flag.
    await waitFor(() => Promise.resolve(/remote_write rogue-rw: basic_auth\.password_file: refused to read file \/etc\/hostname/.test(worker.log()) ? true : undefined), {
      what: 'the endpoint refusal in the log',
      timeoutMs: deadlineMs,
      children: [worker.child],
    });
    const log = worker.log();
    expect(log).toMatch(/level=error msg="a scrape job from the master could not be used; its targets report up=0 with this error" job=rogue err=.*refused to read file \/etc\/hostname.*--worker\.secret-dirs/);
    expect(log).toMatch(/level=error msg="a remote_write endpoint from the master could not be used" endpoint=rogue-rw err=.*--worker\.secret-dirs/);

    // Nothing of the file went anywhere: the rogue target was never even contacted, and no request carried it.
    expect(target.requests.filter((r) => r.url.startsWith('/rogue'))).toEqual([]);
    expectNothingLeaked(hostname);
    expect(log).not.toContain(`Bearer ${hostname}`);
  }, 60_000);

  it('reads credentials under --worker.secret-dirs, and still refuses the file outside', async () => {
    const id = 'trusting-worker';
    const secrets = join(dir, 'secrets');
    await rm(secrets, { recursive: true, force: true });
    await mkdir(secrets);
    await writeFile(join(secrets, 'token'), 'good-token-123\n');
    await writeFile(join(secrets, 'password'), 'rw-password-456\n');
    assignments.set(
      id,
      assignment(`
scrape_configs:${rogueJob(target.url)}
  - job_name: good
    scrape_interval: 1s
    scrape_timeout: 500ms
    metrics_path: /good
    authorization:
      credentials_file: ${join(secrets, 'token')}
    static_configs:
      - targets: ['${new URL(target.url).host}']
remote_write:
  - name: good-rw
    url: ${receiver.url}/api/v1/write
    basic_auth:
      username: fleet
      password_file: ${join(secrets, 'password')}
    queue_config:
      batch_send_deadline: 500ms
`),
    );
    const worker = await startWorker(id, [`${flag}=${secrets}`]);

    const good = await waitFor(() => Promise.resolve(target.requests.find((r) => r.url.startsWith('/good'))), { what: 'a scrape of the good job', timeoutMs: deadlineMs, children: [worker.child] });
    expect(good.headers.authorization).toBe('Bearer good-token-123');
    const written = await waitFor(() => Promise.resolve(receiver.requests.find((r) => r.url === '/api/v1/write')), { what: 'a remote write', timeoutMs: deadlineMs, children: [worker.child] });
    expect(written.headers.authorization).toBe(`Basic ${Buffer.from('fleet:rw-password-456').toString('base64')}`);

    const reported = await waitFor(() => Promise.resolve(reportedError(id, /refused to read file/)), { what: 'the rogue job refused', timeoutMs: deadlineMs, children: [worker.child] });
    expect(reported).toContain(`refused to read file ${rogueFile}: it is outside the directories secrets may be read from (${secrets})`);
    expect(target.requests.filter((r) => r.url.startsWith('/rogue'))).toEqual([]);
    expectNothingLeaked(hostname);
  }, 60_000);
});
