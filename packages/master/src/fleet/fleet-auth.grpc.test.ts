/**
 * The fleet link's authentication over real gRPC on 127.0.0.1, with a throwaway PKI: mutual TLS and a bearer
 * token, each refusal before the Hello (no Welcome reaches the peer), worker ids bound to their credential, and
 * certificate and token rotation that keeps the open streams and applies to new connections.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { makePki, type CertificateFiles, type Pki } from '@promfleet/testkit';
import { AssignmentClient, loadMasterLink, type ClientEvent } from '@promfleet/worker';
import type { RefusalEvent } from './admission.js';
import { Fleet, type JoinEvent } from './fleet.js';
import { TokenBucket } from './limits.js';
import { loadFleetLink } from './link.js';
import { FleetGrpcServer } from './server.js';

const REFRESH_MS = 25;

let pki: Pki;
let tokenFile: string;
beforeAll(() => {
  pki = makePki();
  tokenFile = join(pki.dir, 'fleet-token');
  writeFileSync(tokenFile, 'first-fleet-token\n');
});
afterAll(() => pki.remove());

/** Everything a test started, stopped after it. */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Master {
  readonly address: string;
  readonly port: number;
  readonly fleet: Fleet;
  readonly refusals: RefusalEvent[];
  readonly joins: JoinEvent[];
  /** The token the master accepts now. */
  token(): string | undefined;
}

async function startMaster(options: { clientCa?: boolean; token?: boolean; connectionRate?: TokenBucket; maxStreams?: number } = {}): Promise<Master> {
  const refusals: RefusalEvent[] = [];
  const joins: JoinEvent[] = [];
  const controller = new AbortController();
  const link = await loadFleetLink(
    {
      tls: { ...pki.master, ...(options.clientCa === false ? {} : { clientCaFile: pki.caFile }) },
      ...(options.token === true ? { tokenFile } : {}),
      refreshIntervalMs: REFRESH_MS,
    },
    { signal: controller.signal, onRefresh: () => undefined },
  );
  const observer = { refused: (e: RefusalEvent) => refusals.push(e), joined: (e: JoinEvent) => joins.push(e) };
  const fleet = new Fleet({ masterId: 'm', softwareVersion: 'test', graceMs: 60_000, startupGraceMs: 0, startupWaitMs: 100, heartbeatIntervalMs: 200, observer });
  fleet.configure({ jobs: [], remoteWrite: [] });
  fleet.start();
  const server = new FleetGrpcServer({
    fleet,
    observer,
    admission: link.admission,
    ...(link.credentials === undefined ? {} : { credentials: link.credentials }),
    ...(options.connectionRate === undefined ? {} : { connectionRate: options.connectionRate }),
    ...(options.maxStreams === undefined ? {} : { maxStreams: options.maxStreams }),
  });
  const port = await server.listen('127.0.0.1:0');
  cleanups.push(async () => {
    controller.abort();
    fleet.stop();
    await server.close();
  });
  return { address: `127.0.0.1:${port}`, port, fleet, refusals, joins, token: () => link.admission.token?.current() };
}

interface Worker {
  readonly client: AssignmentClient;
  readonly events: ClientEvent[];
}

async function startWorker(master: Master, options: { id: string; cert?: CertificateFiles; caFile?: string; tokenFile?: string }): Promise<Worker> {
  const controller = new AbortController();
  const link = await loadMasterLink(
    {
      tls: { caFile: options.caFile ?? pki.caFile, serverName: 'master.test', ...(options.cert === undefined ? {} : { certFile: options.cert.certFile, keyFile: options.cert.keyFile }) },
      ...(options.tokenFile === undefined ? {} : { tokenFile: options.tokenFile }),
      refreshIntervalMs: REFRESH_MS,
    },
    { signal: controller.signal, onRefresh: () => undefined },
  );
  const events: ClientEvent[] = [];
  const client = new AssignmentClient({
    address: master.address,
    workerId: options.id,
    softwareVersion: 'test',
    backoff: { initialMs: 20, maxMs: 100 },
    ...(link.credentials === undefined ? {} : { credentials: link.credentials }),
    // A connection of its own, as a worker in its own pod has: grpc-js would otherwise share one among clients.
    channelOptions: { ...link.channelOptions, 'grpc.use_local_subchannel_pool': 1 },
    ...(link.callMetadata === undefined ? {} : { callMetadata: link.callMetadata }),
    log: (event) => events.push(event),
  });
  client.start();
  cleanups.push(async () => {
    await client.stop();
    controller.abort();
  });
  return { client, events };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until `master` refused a stream for `reason`, and checks the worker was never welcomed. */
async function refusedFor(master: Master, worker: Worker, reason: RefusalEvent['reason']): Promise<void> {
  await until(() => master.refusals.some((r) => r.reason === reason), `a ${reason} refusal`);
  await until(() => worker.client.lastError !== '', 'the worker to see the refusal');
  expect(worker.events.some((e) => e.kind === 'welcomed')).toBe(false);
  expect(worker.client.state.generation).toBe(0);
  expect(master.fleet.workers()).toEqual([]);
}

/** The SHA-256 fingerprint of the certificate the master presents to a new TLS connection now. */
function presentedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'master.test', ca: pki.ca, ALPNProtocols: ['h2'] }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;

describe('the fleet link with mutual TLS and a token', () => {
  it('welcomes a worker with a client certificate and the token, and names its certificate', async () => {
    const master = await startMaster({ token: true });
    const worker = await startWorker(master, { id: 'w1', cert: pki.worker1, tokenFile });
    await until(() => worker.client.connected, 'the Welcome');
    expect(master.joins).toEqual([
      { workerId: 'w1', peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown as string, identity: 'x509:CN=worker-1,O=promfleet', certificateFingerprint: expect.stringMatching(/^[0-9A-F:]+$/) as unknown as string, rejoined: false },
    ]);
    expect(master.fleet.workers().map((w) => [w.id, w.identity])).toEqual([['w1', 'x509:CN=worker-1,O=promfleet']]);
    expect(master.refusals).toEqual([]);
  });

  it('refuses a connection without a client certificate before its Hello', async () => {
    const master = await startMaster();
    const worker = await startWorker(master, { id: 'w1' });
    await refusedFor(master, worker, 'no_client_certificate');
    expect(worker.client.lastError).toMatch(/UNAUTHENTICATED.*client certificate/);
    expect(master.refusals[0]).toMatchObject({ peer: expect.stringMatching(/^127\.0\.0\.1:/) as unknown as string, workerId: '' });
  });

  it('refuses a client certificate signed by another CA', async () => {
    const master = await startMaster();
    const worker = await startWorker(master, { id: 'w1', cert: pki.rogueWorker });
    await refusedFor(master, worker, 'no_client_certificate');
  });

  it.each([
    ['no token', undefined, 'no_token'],
    ['a wrong token', 'wrong-token', 'bad_token'],
  ] as const)('refuses %s', async (_name, token, reason) => {
    const master = await startMaster({ token: true });
    let file: string | undefined;
    if (token !== undefined) {
      file = join(pki.dir, `token-${reason}`);
      writeFileSync(file, token);
    }
    const worker = await startWorker(master, { id: 'w1', cert: pki.worker1, ...(file === undefined ? {} : { tokenFile: file }) });
    await refusedFor(master, worker, reason);
    expect(JSON.stringify(master.refusals)).not.toContain('first-fleet-token');
    expect(worker.client.lastError).not.toContain('first-fleet-token');
  });

  it('keeps a worker id bound to its certificate through the grace period', async () => {
    const master = await startMaster();
    const owner = await startWorker(master, { id: 'w1', cert: pki.worker1 });
    await until(() => owner.client.connected, 'the owner welcomed');
    await owner.client.stop();
    await until(() => master.fleet.workers()[0]?.state === 'disconnected', 'the owner in its grace period');
    const thief = await startWorker(master, { id: 'w1', cert: pki.worker2 });
    await until(() => master.refusals.some((r) => r.reason === 'worker_id_bound'), 'the takeover refused');
    await until(() => thief.events.some((e) => e.kind === 'refused'), 'the thief to read its Refusal');
    await thief.client.stop();
    expect(thief.events.some((e) => e.kind === 'welcomed')).toBe(false);
    expect(thief.events.find((e) => e.kind === 'refused')).toMatchObject({ reason: 'DUPLICATE_WORKER_ID' });
    owner.client.start();
    await until(() => owner.client.connected, 'the owner back');
    expect(master.joins.map((j) => [j.workerId, j.identity, j.rejoined])).toEqual([
      ['w1', 'x509:CN=worker-1,O=promfleet', false],
      ['w1', 'x509:CN=worker-1,O=promfleet', true],
    ]);
  });

  it('rotates the master certificate without dropping open streams; new connections get the new one', async () => {
    const master = await startMaster();
    const before = await presentedFingerprint(master.port);
    const worker = await startWorker(master, { id: 'w1', cert: pki.worker1 });
    await until(() => worker.client.connected, 'the Welcome');
    const renewed = fingerprintOf(pki.reissue('master'));
    expect(renewed).not.toBe(before);
    const deadline = Date.now() + 10_000;
    while ((await presentedFingerprint(master.port)) !== renewed) {
      if (Date.now() > deadline) throw new Error('the master never presented the renewed certificate');
      await new Promise((r) => setTimeout(r, REFRESH_MS));
    }
    // The stream opened before the renewal is the same one: never disconnected, still welcomed.
    expect(worker.client.connected).toBe(true);
    expect(worker.events.filter((e) => e.kind === 'disconnected')).toEqual([]);
    const second = await startWorker(master, { id: 'w2', cert: pki.worker2 });
    await until(() => second.client.connected, 'a new worker welcomed with the renewed certificate');
  });

  it('rotates a worker certificate: the next connection presents it', async () => {
    const master = await startMaster();
    const worker = await startWorker(master, { id: 'w1', cert: pki.worker1 });
    await until(() => worker.client.connected, 'the Welcome');
    const first = master.joins[0]?.certificateFingerprint;
    const renewed = fingerprintOf(pki.reissue('worker-1'));
    expect(renewed).not.toBe(first);
    // New streams until one presents the renewed certificate (the worker checks its files every REFRESH_MS).
    const deadline = Date.now() + 10_000;
    while (master.joins.at(-1)?.certificateFingerprint !== renewed) {
      if (Date.now() > deadline) throw new Error('the worker never presented its renewed certificate');
      const joined = master.joins.length;
      await worker.client.stop();
      worker.client.start();
      await until(() => master.joins.length > joined, 'the worker back');
    }
    expect(master.joins.at(-1)).toMatchObject({ identity: 'x509:CN=worker-1,O=promfleet', rejoined: true });
    expect(master.refusals).toEqual([]);
  });

  it('rotates the token: open streams stay, the old token is refused, the new one accepted', async () => {
    const workerToken = join(pki.dir, 'worker-token');
    writeFileSync(workerToken, 'first-fleet-token');
    writeFileSync(tokenFile, 'first-fleet-token\n');
    const master = await startMaster({ token: true });
    const first = await startWorker(master, { id: 'w1', cert: pki.worker1, tokenFile: workerToken });
    await until(() => first.client.connected, 'the Welcome');
    writeFileSync(tokenFile, 'second-fleet-token\n');
    await until(() => master.token() === 'second-fleet-token', 'the master to read the new token');
    const stale = await startWorker(master, { id: 'w2', cert: pki.worker2, tokenFile: workerToken });
    await until(() => master.refusals.some((r) => r.reason === 'bad_token'), 'the old token refused');
    expect(first.client.connected).toBe(true);
    writeFileSync(workerToken, 'second-fleet-token');
    await until(() => stale.client.connected, 'the worker with the rotated token welcomed');
    expect(first.events.filter((e) => e.kind === 'disconnected')).toEqual([]);
  }, 20_000);
});

describe('the fleet link limits', () => {
  it('refuses new streams beyond the connection rate, before their Hello', async () => {
    let nowMs = 0;
    const master = await startMaster({ clientCa: false, connectionRate: new TokenBucket({ ratePerSecond: 1, burst: 1, now: () => nowMs }) });
    const first = await startWorker(master, { id: 'w1' });
    await until(() => first.client.connected, 'the first worker welcomed');
    const second = await startWorker(master, { id: 'w2' });
    await refusedForLimit(master, second);
    nowMs += 1_000;
    await until(() => second.client.connected, 'the second worker welcomed once a token is back');
  });

  it('refuses streams beyond max streams, and takes them once one closed', async () => {
    const master = await startMaster({ clientCa: false, maxStreams: 1 });
    const first = await startWorker(master, { id: 'w1' });
    await until(() => first.client.connected, 'the first worker welcomed');
    const second = await startWorker(master, { id: 'w2' });
    await refusedForLimit(master, second, 'max_streams');
    await first.client.stop();
    await until(() => second.client.connected, 'the second worker welcomed once the first stream closed');
  });
});

async function refusedForLimit(master: Master, worker: Worker, reason: 'rate_limited' | 'max_streams' = 'rate_limited'): Promise<void> {
  await until(() => master.refusals.some((r) => r.reason === reason), `a ${reason} refusal`);
  await until(() => worker.client.lastError !== '', 'the worker to see it');
  expect(worker.client.lastError).toMatch(/RESOURCE_EXHAUSTED/);
  expect(worker.events.some((e) => e.kind === 'welcomed')).toBe(false);
}
