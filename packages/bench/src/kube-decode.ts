/**
 * The master's cost of reading a large Pod list in protobuf against JSON, in one process, alternating: the bodies
 * are what the testkit API server sends for `GET /api/v1/pods?resourceVersion=0` with each Accept, gzip'd here as
 * kube-apiserver compresses lists over 128 KiB for a client that asks for gzip (the master does; the testkit does
 * not compress), captured once and then served from memory, so the measured CPU is the client's: socket reads,
 * gunzip, decoding and the conversion to slim pods.
 *
 *   pnpm build && pnpm --filter @promfleet/bench kube-decode [--pods N] [--rounds R]
 *
 * Prints a markdown table (medians of the rounds) to stdout and progress to stderr.
 */
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ApiClient, RateLimiter, slimPod, type ApiEncoding } from '@promfleet/master';
import { generateCluster, ObjectStore, startFakeApiServer } from '@promfleet/testkit';
import { clusterOptions } from './workload.js';

const usage = `usage: pnpm --filter @promfleet/bench kube-decode [--pods N] [--rounds R]
  --pods N     pods in the cluster (default 150000; nodes = pods / 30)
  --rounds R   rounds, each reading the list once in each encoding, alternating (default 5)`;

const accepts: Readonly<Record<ApiEncoding, string>> = {
  json: 'application/json',
  protobuf: 'application/vnd.kubernetes.protobuf, application/json',
};

interface Captured {
  readonly headers: IncomingHttpHeaders;
  /** The body gzip'd. */
  readonly body: Buffer;
  readonly rawBytes: number;
}

/** One GET of the pod list as the master asks for it, kept whole. */
function capture(url: string, accept: string): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/api/v1/pods?resourceVersion=0', url), { headers: { accept, 'accept-encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const received = Buffer.concat(chunks);
        const raw = res.headers['content-encoding'] === 'gzip' ? gunzipSync(received) : received;
        resolve({ headers: res.headers, body: gzipSync(raw), rawBytes: raw.length });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { pods: { type: 'string', default: '150000' }, rounds: { type: 'string', default: '5' }, help: { type: 'boolean' } } });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const pods = Number(values.pods);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(pods) || pods < 1 || !Number.isInteger(rounds) || rounds < 1) throw new RangeError(usage);

  process.stderr.write(`generating ${pods} pods…\n`);
  const cluster = generateCluster(clusterOptions({ pods, nodes: Math.max(1, Math.round(pods / 30)) }, 1));
  const store = new ObjectStore();
  store.load(cluster.objects());
  const fake = await startFakeApiServer({ store });
  const bodies = new Map<ApiEncoding, Captured>();
  for (const encoding of ['json', 'protobuf'] as const) bodies.set(encoding, await capture(fake.url, accepts[encoding]));
  await fake.stop();

  // Answers each Accept with its captured body, as the fake sent it.
  const server = createServer((req, res) => {
    const body = bodies.get(req.headers.accept === accepts.protobuf ? 'protobuf' : 'json');
    if (body === undefined) throw new Error('no body');
    res.writeHead(200, { 'content-type': body.headers['content-type'] ?? '', 'content-encoding': 'gzip', 'content-length': body.body.length });
    res.end(body.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients = {
    json: new ApiClient({ server: url, requestOptions: () => Promise.resolve({}), userAgent: 'bench' }, new RateLimiter(1000, 1000), { encoding: 'json' }),
    protobuf: new ApiClient({ server: url, requestOptions: () => Promise.resolve({}), userAgent: 'bench' }, new RateLimiter(1000, 1000), { encoding: 'protobuf' }),
  };
  const cpuMs: Record<ApiEncoding, number[]> = { json: [], protobuf: [] };
  const wallMs: Record<ApiEncoding, number[]> = { json: [], protobuf: [] };
  const load = loadavg()[0] ?? 0;
  for (let round = 0; round < rounds; round++) {
    for (const encoding of round % 2 === 0 ? (['json', 'protobuf'] as const) : (['protobuf', 'json'] as const)) {
      let items = 0;
      let ready = 0;
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      await clients[encoding].list('/api/v1/pods?resourceVersion=0', {
        resource: 'pods',
        kind: 'Pod',
        signal: AbortSignal.timeout(600_000),
        timeoutMs: 600_000,
        onItem: (item) => {
          items++;
          if (slimPod(item).ready === 'true') ready++;
        },
      });
      const used = process.cpuUsage(cpu);
      wallMs[encoding].push(performance.now() - t0);
      cpuMs[encoding].push((used.user + used.system) / 1000);
      if (items !== pods) throw new Error(`${encoding}: ${items} pods read, ${pods} expected`);
      process.stderr.write(`round ${round + 1} ${encoding}: ${(cpuMs[encoding].at(-1) ?? 0).toFixed(0)} ms CPU, ${ready} ready\n`);
    }
  }
  server.close();

  const json = bodies.get('json');
  const protobuf = bodies.get('protobuf');
  if (json === undefined || protobuf === undefined) throw new Error('missing bodies');
  const row = (what: string, [j, p]: readonly [json: number, protobuf: number], digits = 0) => `| ${what} | ${j.toFixed(digits)} | ${p.toFixed(digits)} | ${(p / j).toFixed(2)} |`;
  process.stdout.write(
    [
      `Pod list of ${pods.toLocaleString('en')} pods, medians of ${rounds} rounds, alternating (load average ${load.toFixed(2)} at the start).`,
      '',
      '| measure | JSON | protobuf | protobuf ÷ JSON |',
      '|---|---:|---:|---:|',
      row('bytes on the wire, gzip (MiB)', [json.body.length / 2 ** 20, protobuf.body.length / 2 ** 20], 1),
      row('bytes uncompressed (MiB)', [json.rawBytes / 2 ** 20, protobuf.rawBytes / 2 ** 20], 1),
      row('bytes per pod, uncompressed', [json.rawBytes / pods, protobuf.rawBytes / pods]),
      row('master CPU to read and convert the list (ms)', [median(cpuMs.json), median(cpuMs.protobuf)]),
      row('master CPU per pod (µs)', [(median(cpuMs.json) * 1000) / pods, (median(cpuMs.protobuf) * 1000) / pods], 2),
      row('wall time (ms)', [median(wallMs.json), median(wallMs.protobuf)]),
      '',
    ].join('\n'),
  );
}

await main();
