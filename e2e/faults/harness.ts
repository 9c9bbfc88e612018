/**
 * The fault suite's harness (issue #10): real processes started as the image starts them (`node
 * packages/cli/bin/promfleet.js master|worker …`), a real Prometheus as the remote-write receiver, the testkit farm
 * as targets, and a TCP proxy that plays "the master Service". Its checker judges a window twice: from every
 * target's own request log (one request per scrape slot: none is a gap, two a duplicate) and through PromQL on the
 * receiver (one `up` sample per slot). Each fault records its figures as one JSON line in the file named by
 * `PROMFLEET_FAULT_REPORT`, for BENCHMARKS.md's Reliability section. Needs `pnpm build` first.
 */
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scrapeOffsetMs } from '../../packages/model/src/index.js';
import { httpGet, pickPort, startChild, waitFor, type DemoChild } from '../../packages/cli/src/demo-processes.js';
import { requiredPrograms } from '../../packages/cli/src/demo-system.js';
import { startTargetFarm, type FarmTarget, type TargetFarm, type TargetFarmOptions } from '../../packages/testkit/src/index.js';
import { scrapeSlots, type SlotWindow } from '../slots.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'packages/cli/bin/promfleet.js');
export const host = '127.0.0.1';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One active target as the master's `/api/v1/targets` lists it. */
export interface ActiveTarget {
  readonly targetId: string;
  readonly worker: string;
  readonly labels: Record<string, string>;
  readonly health: string;
  readonly lastError: string;
}

/** One worker as the master's `/api/v1/workers` lists it. */
export interface MasterWorker {
  readonly id: string;
  readonly state: string;
  readonly targets: number;
  readonly generation: number;
  readonly ackedGeneration: number;
}

/** A `promfleet master` process and its APIs. */
export interface MasterProcess {
  readonly id: string;
  readonly url: string;
  readonly grpcAddress: string;
  readonly process: DemoChild;
  /** Whether `/-/ready` answers 200 now (false when it answers otherwise or not at all). */
  ready(): Promise<boolean>;
  targets(): Promise<ActiveTarget[]>;
  workers(): Promise<MasterWorker[]>;
  /** Its `/metrics` text. */
  metrics(): Promise<string>;
}

/** A `promfleet worker` process. */
export interface WorkerProcess {
  readonly id: string;
  readonly url: string;
  readonly process: DemoChild;
}

/** Options of {@link FaultHarness.master}. */
export interface MasterOptions {
  /** Its `--master.id` and log file name. */
  readonly id: string;
  readonly configFile: string;
  /** Ports to listen on, to restart a master where it was; free ones by default. */
  readonly ports?: { readonly web: number; readonly grpc: number };
  /** More flags; `--fleet.grace-period`, `--fleet.startup-grace` (2s) and `--fleet.heartbeat-interval` (1s) by default. */
  readonly flags?: readonly string[];
}

/** Options of {@link FaultHarness.worker}. */
export interface WorkerOptions {
  readonly id: string;
  /** `host:port` of the master's fleet port, or of a {@link MasterProxy}. */
  readonly master: string;
  readonly flags?: readonly string[];
}

/**
 * One test's processes, files and servers. `stop()` (or `await using`) stops the workers first (SIGTERM, so they
 * drain), then everything else in reverse order of start, and removes the directory.
 */
export class FaultHarness implements AsyncDisposable {
  readonly #children: DemoChild[] = [];
  readonly #cleanups: (() => Promise<void>)[] = [];
  #stopping: Promise<void> | undefined;

  private constructor(readonly dir: string) {}

  /** A harness with a new temporary directory named after `name`; fails without `pnpm build`. */
  static async create(name: string): Promise<FaultHarness> {
    if (!existsSync(join(root, 'packages/cli/dist/main.js'))) throw new Error('packages/cli/dist is missing: run `pnpm build` first');
    return new FaultHarness(await mkdtemp(join(tmpdir(), `promfleet-fault-${name}-`)));
  }

  /** Runs `cleanup` when the harness stops (after the processes). */
  onStop(cleanup: () => Promise<void>): void {
    this.#cleanups.push(cleanup);
  }

  /** Starts a process logging to `<dir>/<name>.log`. */
  child(name: string, command: string, args: readonly string[]): DemoChild {
    const c = startChild({ name, command, args, logFile: join(this.dir, `${name}.log`), cwd: root });
    this.#children.push(c);
    return c;
  }

  /** Waits for `probe`, failing at once if one of `children` (every running process by default) ends meanwhile. */
  wait<T>(what: string, probe: () => Promise<T | undefined>, options: { timeoutMs?: number; everyMs?: number; children?: readonly DemoChild[] } = {}): Promise<T> {
    return waitFor(probe, { what, timeoutMs: options.timeoutMs ?? 30_000, everyMs: options.everyMs ?? 200, children: options.children ?? this.#children.filter((c) => c.running()) });
  }

  /** Starts the receiver: a Prometheus that scrapes nothing and accepts remote writes. Resolves with its URL. */
  async receiver(): Promise<string> {
    const port = await pickPort({ host });
    const url = `http://${host}:${port}`;
    const config = join(this.dir, 'receiver.yml');
    await writeFile(config, 'global:\n  scrape_interval: 1m\n');
    this.child('prometheus', requiredPrograms.prometheus, [`--config.file=${config}`, `--storage.tsdb.path=${join(this.dir, 'tsdb')}`, `--web.listen-address=${host}:${port}`, '--web.enable-remote-write-receiver']);
    await this.wait('Prometheus to be ready', ok(`${url}/-/ready`));
    return url;
  }

  /** Writes a file in the harness's directory and returns its path. */
  async file(name: string, content: string): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(path, content);
    return path;
  }

  /** Starts `promfleet master` and waits until it serves `/-/healthy` (ready or not). */
  async master(options: MasterOptions): Promise<MasterProcess> {
    const web = options.ports?.web ?? (await pickPort({ host }));
    const grpc = options.ports?.grpc ?? (await pickPort({ host }));
    const url = `http://${host}:${web}`;
    const master = this.child(options.id, process.execPath, [
      bin,
      'master',
      `--config.file=${options.configFile}`,
      `--web.listen-address=${host}:${web}`,
      `--grpc.listen-address=${host}:${grpc}`,
      `--master.id=${options.id}`,
      ...withDefaults(options.flags ?? [], ['--fleet.grace-period=2s', '--fleet.startup-grace=2s', '--fleet.heartbeat-interval=1s']),
    ]);
    await this.wait(`${options.id} to serve its status page`, ok(`${url}/-/healthy`), { children: [master] });
    const json = async <T>(path: string): Promise<T> => JSON.parse((await httpGet(`${url}${path}`)).body) as T;
    return {
      id: options.id,
      url,
      grpcAddress: `${host}:${grpc}`,
      process: master,
      ready: async () => (await httpGet(`${url}/-/ready`, 2_000).catch(() => ({ status: 0 }))).status === 200,
      targets: async () => (await json<{ data: { activeTargets: ActiveTarget[] } }>('/api/v1/targets?state=active')).data.activeTargets,
      workers: async () => (await json<{ data: { workers: MasterWorker[] } }>('/api/v1/workers')).data.workers,
      metrics: async () => (await httpGet(`${url}/metrics`)).body,
    };
  }

  /** Starts `promfleet worker` (debug logs, so a drain shows in its log) and waits until it serves `/-/healthy`. */
  async worker(options: WorkerOptions): Promise<WorkerProcess> {
    const port = await pickPort({ host });
    const url = `http://${host}:${port}`;
    const worker = this.child(options.id, process.execPath, [
      bin,
      'worker',
      `--master=${options.master}`,
      `--worker.id=${options.id}`,
      `--web.listen-address=${host}:${port}`,
      '--log.level=debug',
      // Each worker its own disk queue, kept across its restarts.
      `--remote-write.queue-dir=${join(this.dir, `${options.id}-remote-write`)}`,
      ...(options.flags ?? []),
    ]);
    await this.wait(`${options.id} to serve its status page`, ok(`${url}/-/healthy`), { children: [worker] });
    return { id: options.id, url, process: worker };
  }

  /** Stops everything (workers first, with SIGTERM) and removes the directory; safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const workers = this.#children.filter((c) => c.name.startsWith('worker'));
      await Promise.all(workers.map((w) => w.stop({ timeoutMs: 30_000 })));
      for (const c of [...this.#children].reverse()) await c.stop();
      for (const cleanup of [...this.#cleanups].reverse()) await cleanup();
      if (process.env['PROMFLEET_FAULT_KEEP'] === undefined) await rm(this.dir, { recursive: true, force: true });
    })();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** `flags`, then each of `defaults` whose flag `flags` does not give. */
function withDefaults(flags: readonly string[], defaults: readonly string[]): string[] {
  const given = new Set(flags.map((f) => f.split('=')[0]));
  return [...flags, ...defaults.filter((d) => !given.has(d.split('=')[0]))];
}

function ok(url: string): () => Promise<true | undefined> {
  return async () => ((await httpGet(url)).status === 200 ? true : undefined);
}

/** A Prometheus configuration with one static job of `addresses`, written to the receiver every second. */
export function staticConfig(input: { job: string; addresses: readonly string[]; intervalMs: number; timeoutMs?: number; receiverUrl: string }): string {
  return [
    'global:',
    `  scrape_interval: ${input.intervalMs}ms`,
    `  scrape_timeout: ${input.timeoutMs ?? input.intervalMs}ms`,
    'scrape_configs:',
    `  - job_name: ${input.job}`,
    '    static_configs:',
    `      - targets: [${input.addresses.map((a) => `'${a}'`).join(', ')}]`,
    ...remoteWrite(input.receiverUrl),
    '',
  ].join('\n');
}

/** A Prometheus configuration with one `kubernetes_sd_configs` (role: pod) job: every container port is a target. */
export function podConfig(input: { job: string; intervalMs: number; receiverUrl: string }): string {
  return [
    'global:',
    `  scrape_interval: ${input.intervalMs}ms`,
    `  scrape_timeout: ${input.intervalMs}ms`,
    'scrape_configs:',
    `  - job_name: ${input.job}`,
    '    kubernetes_sd_configs:',
    '      - role: pod',
    '    relabel_configs:',
    '      - source_labels: [__meta_kubernetes_pod_name]',
    '        target_label: pod',
    ...remoteWrite(input.receiverUrl),
    '',
  ].join('\n');
}

function remoteWrite(receiverUrl: string): string[] {
  return ['remote_write:', `  - url: ${receiverUrl}/api/v1/write`, '    queue_config:', '      batch_send_deadline: 1s'];
}

/**
 * Where a {@link MasterProxy} sends a new connection: to the first master whose `/-/ready` answers 200 (as a
 * Kubernetes Service sends to ready pods), always to one master, or to each in turn.
 */
export type ProxyRoute = { readonly kind: 'ready'; readonly masters: readonly MasterProcess[] } | { readonly kind: 'to'; readonly master: MasterProcess } | { readonly kind: 'round-robin'; readonly masters: readonly MasterProcess[] };

/**
 * "The master Service": a TCP proxy that forwards each new connection to the master its route picks. A connection
 * no master takes is closed at once (the worker retries). `cut()` closes every open connection, both ways.
 */
export class MasterProxy {
  readonly #server: Server;
  readonly #open = new Set<Socket>();
  #route: ProxyRoute;
  #turn = 0;
  /** How many connections went to each master, by id. */
  readonly connections = new Map<string, number>();

  private constructor(server: Server, route: ProxyRoute) {
    this.#server = server;
    this.#route = route;
  }

  /** Starts a proxy on a free port of 127.0.0.1. */
  static async start(route: ProxyRoute): Promise<MasterProxy> {
    const server = createServer();
    const proxy = new MasterProxy(server, route);
    server.on('connection', (socket) => void proxy.#accept(socket));
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return proxy;
  }

  /** `host:port`, for `--master`. */
  get address(): string {
    const a = this.#server.address();
    if (a === null || typeof a === 'string') throw new Error('the proxy is not listening');
    return `${host}:${a.port}`;
  }

  /** Routes new connections this way from now on; open ones stay where they are. */
  route(route: ProxyRoute): void {
    this.#route = route;
  }

  /** Closes every open connection; returns how many sockets were closed. */
  cut(): number {
    const n = this.#open.size;
    for (const s of this.#open) s.destroy();
    this.#open.clear();
    return n;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #pick(): Promise<MasterProcess | undefined> {
    const route = this.#route;
    switch (route.kind) {
      case 'to':
        return route.master;
      case 'round-robin':
        return route.masters[this.#turn++ % route.masters.length];
      case 'ready':
        for (const m of route.masters) if (m.process.running() && (await m.ready())) return m;
        return undefined;
    }
  }

  async #accept(client: Socket): Promise<void> {
    client.pause();
    this.#open.add(client);
    client.on('close', () => this.#open.delete(client));
    client.on('error', () => client.destroy());
    const master = await this.#pick();
    if (master === undefined || client.destroyed) {
      client.destroy();
      return;
    }
    this.connections.set(master.id, (this.connections.get(master.id) ?? 0) + 1);
    const [h, p] = master.grpcAddress.split(':');
    const upstream = createConnection({ host: h ?? host, port: Number(p) });
    this.#open.add(upstream);
    upstream.on('close', () => {
      this.#open.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }
}

/** A window of whole slots: `[from, to]`, neither end any target's slot (Prometheus 2 and 3 treat the ends apart). */
export function slotWindow(input: { fromMs: number; toMs: number; offsets: readonly number[]; intervalMs: number }): SlotWindow {
  const isSlot = (ms: number) => input.offsets.some((o) => (((ms - o) % input.intervalMs) + input.intervalMs) % input.intervalMs === 0);
  let from = Math.ceil(input.fromMs);
  let to = Math.floor(input.toMs);
  while (isSlot(from)) from += 1;
  while (isSlot(to)) to -= 1;
  return { from, to };
}

/** A target to judge: where its requests are logged and its slot offset. */
export interface JudgedTarget {
  readonly address: string;
  readonly requests: readonly number[];
  readonly offsetMs: number;
}

/** The targets of `farmTargets` with their offsets from the master's target ids. */
export function judged(farmTargets: readonly FarmTarget[], masterTargets: readonly ActiveTarget[], intervalMs: number): JudgedTarget[] {
  const idOf = new Map(masterTargets.map((t) => [t.labels['instance'] ?? '', t.targetId]));
  return farmTargets.map((t) => {
    const id = idOf.get(t.address);
    if (id === undefined) throw new Error(`the master has no target ${t.address}`);
    return { address: t.address, requests: t.requests, offsetMs: scrapeOffsetMs(id, intervalMs) };
  });
}

/** What the targets' logs show for a window. */
export interface LogVerdict {
  /** Slots the window holds, summed over the targets. */
  readonly slots: number;
  /** Per target with a problem: its slots without a request and with two or more (ISO times). */
  readonly problems: readonly { readonly address: string; readonly missing: readonly string[]; readonly duplicated: readonly string[] }[];
  readonly missing: number;
  readonly duplicated: number;
  /** The longest run of missing slots of any target, in ms (runs × interval). */
  readonly longestGapMs: number;
}

/** Judges every target's request log over `window`: one request per slot. */
export function judgeLogs(targets: readonly JudgedTarget[], window: SlotWindow, intervalMs: number): LogVerdict {
  const slots = scrapeSlots(intervalMs);
  let total = 0;
  let missing = 0;
  let duplicated = 0;
  let longestGapMs = 0;
  const problems: LogVerdict['problems'][number][] = [];
  for (const t of targets) {
    const audit = slots.audit(t.requests, t.offsetMs, window);
    total += audit.slots;
    missing += audit.missing.length;
    duplicated += audit.duplicated.length;
    let run = 0;
    let last = Number.NEGATIVE_INFINITY;
    for (const slot of audit.missing) {
      run = slot - last === intervalMs ? run + 1 : 1;
      last = slot;
      longestGapMs = Math.max(longestGapMs, run * intervalMs);
    }
    if (audit.missing.length > 0 || audit.duplicated.length > 0) {
      const iso = (ms: number) => new Date(ms).toISOString();
      problems.push({ address: t.address, missing: audit.missing.map(iso), duplicated: audit.duplicated.map(iso) });
    }
  }
  return { slots: total, problems, missing, duplicated, longestGapMs };
}

type Matrix = readonly { readonly metric: Record<string, string>; readonly values: readonly (readonly [number, string])[] }[];

/** A range selector's raw samples at `atMs`. */
export async function rawSamples(receiverUrl: string, selector: string, atMs: number): Promise<Matrix> {
  const { status, body } = await httpGet(`${receiverUrl}/api/v1/query?query=${encodeURIComponent(selector)}&time=${atMs / 1000}`, 15_000);
  if (status !== 200) throw new Error(`query ${selector}: HTTP ${status}: ${body}`);
  return (JSON.parse(body) as { data: { result: Matrix } }).data.result;
}

/** What the receiver holds for a window: `up` samples expected (one per slot) and received, per target. */
export interface ReceiverVerdict {
  readonly expected: number;
  readonly received: number;
  /** Per target whose samples differ from its slots: what is missing and what is off the slots (ISO times). */
  readonly problems: readonly { readonly address: string; readonly missing: readonly string[]; readonly offSlot: readonly string[] }[];
  /** The distinct `up` values per target, such as `{"127.0.0.1:4000": ["1"]}`. */
  readonly values: ReadonlyMap<string, readonly string[]>;
}

/**
 * Reads `up{job}` over `window` from the receiver and compares every target's sample times with its slots. Samples
 * arrive a remote-write batch after their scrape: it retries until they match or `settleMs` passes.
 */
export async function judgeReceiver(input: { receiverUrl: string; job: string; targets: readonly JudgedTarget[]; window: SlotWindow; intervalMs: number; settleMs?: number }): Promise<ReceiverVerdict> {
  const slots = scrapeSlots(input.intervalMs);
  const lengthMs = input.window.to - input.window.from;
  const judge = (matrix: Matrix): ReceiverVerdict => {
    let expected = 0;
    let received = 0;
    const problems: ReceiverVerdict['problems'][number][] = [];
    const values = new Map<string, string[]>();
    for (const t of input.targets) {
      const want = slots.between(t.offsetMs, input.window);
      const samples = matrix.find((s) => s.metric['instance'] === t.address)?.values ?? [];
      const times = samples.map(([at]) => Math.round(at * 1000));
      values.set(t.address, [...new Set(samples.map(([, v]) => v))]);
      expected += want.length;
      received += times.filter((at) => want.includes(at)).length;
      const missing = want.filter((at) => !times.includes(at));
      const offSlot = times.filter((at) => !want.includes(at));
      const iso = (ms: number) => new Date(ms).toISOString();
      if (missing.length > 0 || offSlot.length > 0) problems.push({ address: t.address, missing: missing.map(iso), offSlot: offSlot.map(iso) });
    }
    return { expected, received, problems, values };
  };
  const deadline = Date.now() + (input.settleMs ?? 15_000);
  for (;;) {
    const verdict = judge(await rawSamples(input.receiverUrl, `up{job="${input.job}"}[${lengthMs}ms]`, input.window.to));
    if (verdict.problems.length === 0 || Date.now() >= deadline) return verdict;
    await sleep(1_000);
  }
}

/**
 * Waits until the receiver has an `up` 1 sample from each of `addresses` in the last three intervals: a sample
 * arrives a remote-write batch (up to a second) after its slot, so a window of one interval could miss it.
 */
export async function waitAllUp(h: FaultHarness, input: { receiverUrl: string; job: string; addresses: readonly string[]; intervalMs: number }): Promise<void> {
  await h.wait(
    `the receiver to have up=1 for all ${input.addresses.length} targets`,
    async () => {
      const up = await rawSamples(input.receiverUrl, `up{job="${input.job}"}[${3 * input.intervalMs}ms]`, Date.now());
      const ones = new Set(up.filter((s) => s.values.some(([, v]) => v === '1')).map((s) => s.metric['instance']));
      return input.addresses.every((a) => ones.has(a)) ? true : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

/** Remote writes the receiver answered with anything but 204 (a duplicate or out-of-order sample is a 400). */
export async function rejectedWrites(receiverUrl: string): Promise<number> {
  const text = (await httpGet(`${receiverUrl}/metrics`)).body;
  return text
    .split('\n')
    .filter((l) => l.startsWith('prometheus_http_requests_total{') && l.includes('handler="/api/v1/write"') && !l.includes('code="204"'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** One fault's figures, as one line of the report. */
export interface FaultFigures {
  /** `1-scale`, `2-sigterm`, …: the fault's number in issue #10 and a word. */
  readonly fault: string;
  readonly targets: number;
  readonly intervalMs: number;
  /** The judged window's length. */
  readonly windowMs: number;
  /** `up` samples the window should hold and the receiver holds. */
  readonly samplesExpected: number;
  readonly samplesReceived: number;
  /** Slots without a request, and with two or more, in the targets' logs. */
  readonly gaps: number;
  readonly duplicates: number;
  /** How long the fault took to heal (its meaning per fault is in `notes`). */
  readonly recoveryMs?: number;
  /** API server requests during the fault, by `verb resource`. */
  readonly apiRequests?: Readonly<Record<string, number>>;
  readonly notes?: string;
}

/** The figures of a judged window: its length, the receiver's `up` samples, the targets' logs' gaps and duplicates. */
export function judgedFigures(judged: { readonly window: SlotWindow; readonly logs: LogVerdict; readonly receiver: ReceiverVerdict }): Pick<FaultFigures, 'windowMs' | 'samplesExpected' | 'samplesReceived' | 'gaps' | 'duplicates'> {
  const { window, logs, receiver } = judged;
  return { windowMs: window.to - window.from, samplesExpected: receiver.expected, samplesReceived: receiver.received, gaps: logs.missing, duplicates: logs.duplicated };
}

/**
 * Prints a fault's figures and, when `PROMFLEET_FAULT_REPORT` names a file, appends them to it as one JSON line.
 */
export async function recordFault(figures: FaultFigures): Promise<void> {
  const extra = [figures.recoveryMs === undefined ? '' : `, recovery ${figures.recoveryMs} ms`, figures.apiRequests === undefined ? '' : `, API requests ${JSON.stringify(figures.apiRequests)}`].join('');
  console.log(
    `fault ${figures.fault}: ${figures.targets} targets, ${figures.windowMs / 1000} s window; samples ${figures.samplesReceived}/${figures.samplesExpected}; ` +
      `gaps ${figures.gaps}, duplicates ${figures.duplicates}${extra}${figures.notes === undefined ? '' : `; ${figures.notes}`}`,
  );
  const file = process.env['PROMFLEET_FAULT_REPORT'];
  if (file !== undefined && file !== '') await appendFile(file, `${JSON.stringify({ at: new Date().toISOString(), ...figures })}\n`);
}

/** A running fleet on one static job: the harness, its farm, receiver, master and workers. */
export interface StaticFleet {
  readonly h: FaultHarness;
  readonly farm: TargetFarm;
  readonly receiverUrl: string;
  readonly job: string;
  readonly configFile: string;
  readonly master: MasterProcess;
  /** The workers running, by id (`worker-1`, …). */
  readonly workers: Map<string, WorkerProcess>;
  startWorker(id: string, master?: string): Promise<WorkerProcess>;
  /** Waits until the master lists exactly `ids`, connected, each with targets and its last assignment acknowledged. */
  settled(ids: readonly string[], timeoutMs?: number): Promise<void>;
}

/** Options of {@link startStaticFleet}. */
export interface StaticFleetOptions {
  readonly name: string;
  readonly farm: TargetFarmOptions;
  readonly workers: number;
  readonly intervalMs: number;
  readonly timeoutMs?: number;
  readonly masterFlags?: readonly string[];
  readonly workerFlags?: readonly string[];
}

/**
 * Starts the receiver, the farm, a master with one static job of every farm target (broken ones included) and
 * `workers` workers, and waits until every normal target is up in the receiver.
 */
export async function startStaticFleet(options: StaticFleetOptions): Promise<StaticFleet> {
  const h = await FaultHarness.create(options.name);
  try {
    const farm = await startTargetFarm(options.farm);
    h.onStop(() => farm.stop());
    const receiverUrl = await h.receiver();
    const job = options.name;
    const addresses = [...farm.targets, ...farm.broken].map((t) => t.address);
    const configFile = await h.file('promfleet.yml', staticConfig({ job, addresses, intervalMs: options.intervalMs, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }), receiverUrl }));
    const master = await h.master({ id: 'master', configFile, flags: options.masterFlags ?? [] });
    const workers = new Map<string, WorkerProcess>();
    const startWorker = async (id: string, to = master.grpcAddress) => {
      const w = await h.worker({ id, master: to, flags: options.workerFlags ?? [] });
      workers.set(id, w);
      return w;
    };
    await Promise.all(Array.from({ length: options.workers }, (_, i) => startWorker(`worker-${i + 1}`)));
    const settled = async (ids: readonly string[], timeoutMs = 30_000) => {
      await h.wait(
        `the master to list ${ids.join(', ')}, each holding targets with its assignment acknowledged`,
        async () => {
          const ws = await master.workers();
          const ok = ws.map((w) => w.id).join() === [...ids].sort().join() && ws.every((w) => w.state === 'connected' && w.targets > 0 && w.generation === w.ackedGeneration);
          return ok ? true : undefined;
        },
        { timeoutMs },
      );
    };
    await h.wait('the master to be ready', async () => ((await master.ready()) ? true : undefined));
    await settled([...workers.keys()]);
    await waitAllUp(h, { receiverUrl, job, addresses: farm.targets.map((t) => t.address), intervalMs: options.intervalMs });
    return { h, farm, receiverUrl, job, configFile, master, workers, startWorker, settled };
  } catch (err) {
    await h.stop();
    throw err;
  }
}
