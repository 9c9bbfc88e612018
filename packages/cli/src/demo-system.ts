/**
 * The whole promfleet system on one machine, from real parts: a fake Kubernetes API server serving a synthetic
 * cluster, a target farm and a real node exporter as the pods' endpoints, a real Prometheus as the remote-write
 * receiver, and `promfleet master` and `promfleet worker` as real processes. The live demo (`promfleet demo`) and
 * the end-to-end suites both start it with {@link startDemoSystem}.
 *
 * It uses @promfleet/testkit, a dev dependency: this module is loaded only by the demo, never by the product's
 * commands, so a production install (without dev dependencies) still runs `promfleet master` and `worker`.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCluster, startFakeApiServer, startTargetFarm, type FakeApiServer, type GenerateClusterOptions, type TargetFarm } from '@promfleet/testkit';
import { clusterOnLocalhost, demoMasterConfig, farmPodCount, type ScrapedPod } from './demo-cluster.js';
import { httpGet, pickPort, startChild, waitFor, type ChildExit, type DemoChild } from './demo-processes.js';

const cliRoot = fileURLToPath(new URL('..', import.meta.url));
const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));
const host = '127.0.0.1';

/** Options of {@link startDemoSystem}. */
export interface DemoSystemOptions {
  /** The synthetic cluster; its scrapable Deployment pods each get a farm target. */
  readonly cluster: GenerateClusterOptions;
  /** Series per farm target. */
  readonly series: number;
  /** How many workers to start with, named `worker-1`, `worker-2`, …. */
  readonly workers: number;
  readonly scrapeIntervalMs: number;
  /** `well-known`: Prometheus on 9090, the master on 9095/9096, workers from 9097, when free; `free`: any free ports. */
  readonly ports: 'well-known' | 'free';
  /** Extra master flags, such as `--fleet.heartbeat-interval=1s`. */
  readonly masterFlags?: readonly string[];
  /** Called with one line per step as the system comes up. */
  readonly progress?: (line: string) => void;
  /** Aborting it ends a start that is still waiting (what was started is stopped). */
  readonly signal?: AbortSignal;
}

/** A worker process of the demo. */
export interface DemoWorker {
  readonly id: string;
  /** Its status page and `/metrics`, `http://127.0.0.1:port`. */
  readonly url: string;
  readonly process: DemoChild;
}

/** The running system. Stop it with {@link DemoSystem.stop}, or `await using`. */
export interface DemoSystem extends AsyncDisposable {
  /** The temporary directory with the configs, the TSDB and every process's log; removed by `stop()`. */
  readonly dir: string;
  readonly api: FakeApiServer;
  readonly farm: TargetFarm;
  readonly nodeExporter: { readonly address: string; readonly process: DemoChild };
  readonly prometheus: { readonly url: string; readonly process: DemoChild };
  readonly master: { readonly url: string; readonly grpcAddress: string; readonly configFile: string; readonly process: DemoChild };
  /** The workers running now, by id. */
  readonly workers: ReadonlyMap<string, DemoWorker>;
  /** The pods the config scrapes: every target the system should have. */
  readonly scraped: readonly ScrapedPod[];
  readonly scrapeIntervalMs: number;
  /** The external labels every series gets. */
  readonly externalLabels: Readonly<Record<string, string>>;
  /** Every child process started so far (ended ones included). */
  readonly processes: readonly DemoChild[];
  /** Starts one more worker and waits until it serves its status page. */
  startWorker(id: string): Promise<DemoWorker>;
  /** Stops a worker with SIGTERM (it hands its targets over first) and resolves with its exit once it has ended. */
  stopWorker(id: string): Promise<ChildExit>;
  /**
   * Stops everything, in order: the workers (each hands its targets back, so this takes a few seconds), the master,
   * Prometheus, the node exporter, the farm and the API server; then removes the directory. Safe to call twice.
   */
  stop(): Promise<void>;
}

const externalLabels = { cluster: 'demo' } as const;

/** The programs the system runs besides promfleet, by their Debian names (scripts/bootstrap.sh installs them). */
export const requiredPrograms = { prometheus: 'prometheus', nodeExporter: 'prometheus-node-exporter' } as const;

/**
 * Starts the system and resolves once the master is ready and every worker is connected; the first scrapes reach
 * Prometheus an interval or two later ({@link waitForTargetsUp}). On failure, everything started is stopped and the
 * directory removed before the error is thrown.
 */
export async function startDemoSystem(options: DemoSystemOptions): Promise<DemoSystem> {
  const say = options.progress ?? (() => undefined);
  const dir = await mkdtemp(join(tmpdir(), 'promfleet-demo-'));
  const children: DemoChild[] = [];
  const workers = new Map<string, DemoWorker>();
  const cleanups: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | undefined;
  const wellKnown = (port: number) => (options.ports === 'well-known' ? { host, preferred: port } : { host });
  const child = (name: string, command: string, args: readonly string[]) => {
    const c = startChild({ name, command, args, logFile: join(dir, `${name}.log`), cwd: cliRoot });
    children.push(c);
    return c;
  };
  const wait = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000) =>
    waitFor(probe, { what, timeoutMs, children: children.filter((c) => c.running()), ...(options.signal === undefined ? {} : { signal: options.signal }) });
  const ok = (url: string) => async () => ((await httpGet(url)).status === 200 ? true : undefined);

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all([...workers.values()].map((w) => w.process.stop({ timeoutMs: 30_000 })));
      for (const c of [...children].reverse()) await c.stop();
      for (const cleanup of cleanups.reverse()) await cleanup();
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const nodeExporterPort = await pickPort(wellKnown(9100));
    // Its default collectors answer in about 10 ms with some 500 series: no need to turn any off.
    const nodeExporter = child('node-exporter', requiredPrograms.nodeExporter, [`--web.listen-address=${host}:${nodeExporterPort}`]);
    await wait('the node exporter to serve /metrics', ok(`http://${host}:${nodeExporterPort}/metrics`));
    say(`node exporter      http://${host}:${nodeExporterPort}/metrics (pid ${nodeExporter.pid})`);

    const cluster = generateCluster(options.cluster);
    const farm = await startTargetFarm({ targets: farmPodCount(cluster), series: options.series, host });
    cleanups.push(() => farm.stop());
    const ports = farm.targets.map((t) => t.port);
    say(`target farm        ${farm.targets.length} HTTP targets of ${options.series} series each, on ${host} ports ${Math.min(...ports)}–${Math.max(...ports)}`);

    const { objects, scraped } = clusterOnLocalhost({ cluster, farmPorts: ports, nodeExporterPort });
    const api = await startFakeApiServer({ host });
    cleanups.push(() => api.stop());
    api.store.load(objects);
    say(`fake API server    ${api.url}: ${cluster.nodes.length} nodes, ${cluster.pods.length} pods in ${cluster.namespaces.length} namespaces (${scraped.length} to scrape)`);

    const prometheusPort = await pickPort(wellKnown(9090));
    const prometheusUrl = `http://${host}:${prometheusPort}`;
    const prometheusConfig = join(dir, 'prometheus-receiver.yml');
    await writeFile(prometheusConfig, '# The receiver: it scrapes nothing itself; promfleet remote-writes into it.\nglobal:\n  scrape_interval: 1m\n');
    const prometheus = child('prometheus', requiredPrograms.prometheus, [
      `--config.file=${prometheusConfig}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=${host}:${prometheusPort}`,
      '--web.enable-remote-write-receiver',
    ]);
    await wait('Prometheus to be ready', ok(`${prometheusUrl}/-/ready`));
    say(`Prometheus         ${prometheusUrl} (pid ${prometheus.pid}), receiving remote writes at /api/v1/write`);

    const configFile = join(dir, 'promfleet.yml');
    await writeFile(
      configFile,
      demoMasterConfig({
        example: await readFile(join(examples, 'prometheus.yml'), 'utf8'),
        scrapeIntervalMs: options.scrapeIntervalMs,
        remoteWriteUrl: `${prometheusUrl}/api/v1/write`,
        externalLabels,
      }),
    );
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, api.kubeconfigYaml());
    const masterWeb = await pickPort(wellKnown(9095));
    const masterGrpc = await pickPort(wellKnown(9096));
    const masterUrl = `http://${host}:${masterWeb}`;
    const grpcAddress = `${host}:${masterGrpc}`;
    const master = child('master', process.execPath, [
      join(cliRoot, 'bin/promfleet.js'),
      'master',
      `--config.file=${configFile}`,
      `--kubeconfig=${kubeconfig}`,
      `--web.listen-address=${host}:${masterWeb}`,
      `--grpc.listen-address=${grpcAddress}`,
      // A starting master gives workers this long to report what they hold before it assigns; the demo has none
      // yet, so 2 s rather than 10 s brings it up sooner.
      '--fleet.grace-period=2s',
      '--fleet.startup-grace=2s',
      ...(options.masterFlags ?? []),
    ]);
    await wait('the master to serve its status page', ok(`${masterUrl}/-/healthy`));
    say(`master             ${masterUrl} (pid ${master.pid}), fleet protocol on ${grpcAddress}`);

    let nextWorkerPort = 9097;
    const startWorker = async (id: string): Promise<DemoWorker> => {
      if (workers.has(id)) throw new Error(`worker ${id} is already running`);
      const port = await pickPort(wellKnown(nextWorkerPort++));
      const url = `http://${host}:${port}`;
      // Each worker its own disk queue, kept across its restarts as a pod's volume is.
      const queueDir = join(dir, `${id}-remote-write`);
      const proc = child(id, process.execPath, [
        join(cliRoot, 'bin/promfleet.js'),
        'worker',
        `--master=${grpcAddress}`,
        `--worker.id=${id}`,
        `--web.listen-address=${host}:${port}`,
        `--remote-write.queue-dir=${queueDir}`,
      ]);
      const worker = { id, url, process: proc };
      workers.set(id, worker);
      await wait(`worker ${id} to serve its status page`, ok(`${url}/-/healthy`));
      return worker;
    };
    for (let i = 1; i <= options.workers; i++) {
      const w = await startWorker(`worker-${i}`);
      say(`worker             ${w.id} ${w.url} (pid ${w.process.pid})`);
    }
    await wait('the master to be ready (it leads)', ok(`${masterUrl}/-/ready`));
    await wait(`${options.workers} workers to hold targets`, async () => {
      const body = JSON.parse((await httpGet(`${masterUrl}/api/v1/workers`)).body) as WorkersBody;
      const connected = body.data.workers.filter((w) => w.state === 'connected' && w.targets > 0 && w.ackedGeneration === w.generation);
      return connected.length === options.workers ? true : undefined;
    });
    say(`fleet              ${options.workers} workers connected, ${scraped.length} targets assigned`);

    return {
      dir,
      api,
      farm,
      nodeExporter: { address: `${host}:${nodeExporterPort}`, process: nodeExporter },
      prometheus: { url: prometheusUrl, process: prometheus },
      master: { url: masterUrl, grpcAddress, configFile, process: master },
      workers,
      scraped,
      scrapeIntervalMs: options.scrapeIntervalMs,
      externalLabels,
      processes: children,
      startWorker,
      stopWorker: async (id) => {
        const worker = workers.get(id);
        if (worker === undefined) throw new Error(`no worker ${id}`);
        const exit = await worker.process.stop({ timeoutMs: 30_000 });
        workers.delete(id);
        return exit;
      },
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The master's `/api/v1/workers` body, as far as the demo reads it. */
export interface WorkersBody {
  readonly data: {
    readonly workers: readonly { readonly id: string; readonly state: string; readonly targets: number; readonly generation: number; readonly ackedGeneration: number }[];
  };
}

/** A Prometheus instant-query result of vector type, as far as the demo reads it. */
interface VectorBody {
  readonly status: string;
  readonly data: { readonly resultType: string; readonly result: readonly { readonly metric: Record<string, string>; readonly value: readonly [number, string] }[] };
}

/** Runs an instant query against Prometheus' HTTP API, now or at `atMs` (Unix ms), and returns its vector. */
export async function queryVector(prometheusUrl: string, query: string, atMs?: number): Promise<VectorBody['data']['result']> {
  const { status, body } = await httpGet(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}${atMs === undefined ? '' : `&time=${atMs / 1000}`}`);
  if (status !== 200) throw new Error(`query ${query}: HTTP ${status}: ${body}`);
  const parsed = JSON.parse(body) as VectorBody;
  if (parsed.data.resultType !== 'vector') throw new Error(`query ${query}: want a vector, got ${parsed.data.resultType}`);
  return parsed.data.result;
}

/** Waits until Prometheus has `up == 1` for every scraped pod, and returns how many targets that is. */
export async function waitForTargetsUp(system: DemoSystem, options: { readonly timeoutMs: number; readonly signal?: AbortSignal }): Promise<number> {
  const want = new Set(system.scraped.map((p) => `${p.namespace}/${p.pod}`));
  return waitFor(
    async () => {
      const up = await queryVector(system.prometheus.url, 'up{job="kubernetes-pods"} == 1');
      const have = new Set(up.map((s) => `${s.metric['namespace'] ?? ''}/${s.metric['pod'] ?? ''}`));
      return [...want].every((p) => have.has(p)) ? want.size : undefined;
    },
    {
      what: `Prometheus to have up == 1 for all ${want.size} targets`,
      timeoutMs: options.timeoutMs,
      children: system.processes.filter((c) => c.running()),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    },
  );
}
