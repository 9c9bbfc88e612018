/**
 * The measured process: promfleet's master discovery as the master runs it — `KubernetesDiscovery` shared by every
 * job, under the `DiscoveryManager` that builds each job's targets with `buildTarget` — against the fake API
 * server, with nothing else in the process. Run with `--expose-gc` so heap figures are taken after a full GC.
 *
 * It sends `synced` once every job holds its full target set, then answers `windowStart` / `windowEnd`, which
 * bracket a churn window: CPU used, watch events received, and when each pod-role group's targets were rebuilt.
 *
 * `reload` reads the config file again and applies it as the master's reload does (`DiscoveryManager.applyConfig`).
 *
 * Usage (forked by discovery.ts and reload.ts): `node --expose-gc master-process.js <config-file> <user-agent> <throttle-ms> [json|protobuf]`
 * (the encoding the master asks the API server for; its default, protobuf, when left out).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ApiClient, DiscoveryManager, KubernetesDiscovery, RateLimiter, type ApiEncoding, type ApiWatchEvent, type Discoverer } from '@promfleet/master';
import { formatConfigIssue, formatLabels, parseConfig, type KubernetesSDConfig, type Labels, type PrometheusConfig } from '@promfleet/model';
import { emitToParent, serveParent, type Handlers } from './ipc.js';
import { heapUsedAfterGc, wallClockMs } from './measure.js';
import type { MasterCommands, MasterReload, MasterSynced, MasterWindow, PodWrite } from './protocol.js';

/** client-go's default client-side rate limit, which the master's limiter copies. */
const clientQps = 5;
const clientBurst = 10;

/** Counts the watch events the master receives; bookmarks apart. Counting is all it adds. */
class CountingApiClient extends ApiClient {
  events = 0;
  bookmarks = 0;

  override async *watch(...args: Parameters<ApiClient['watch']>): AsyncGenerator<ApiWatchEvent> {
    for await (const event of super.watch(...args)) {
      if (event.type === 'BOOKMARK') this.bookmarks++;
      else this.events++;
      yield event;
    }
  }
}

/**
 * Notes, while recording, when the targets of pod-role groups were rebuilt, when the consumer was told, and what
 * the discovery observer reported per batch.
 */
class LatencyRecorder {
  #podGroups: PodWrite[] | undefined;
  #notified: number[] = [];
  #batchSeconds: number[] = [];

  start(): void {
    this.#podGroups = [];
    this.#notified = [];
    this.#batchSeconds = [];
  }

  stop(): Pick<MasterWindow, 'podGroupUpdates' | 'consumerNotifiedAtMs' | 'batchSeconds'> {
    const out = { podGroupUpdates: this.#podGroups ?? [], consumerNotifiedAtMs: this.#notified, batchSeconds: this.#batchSeconds };
    this.#podGroups = undefined;
    this.#notified = [];
    this.#batchSeconds = [];
    return out;
  }

  /** The discovery observer's hook: one batch of groups handed on, `seconds` after its first event. */
  batchHandedOn(seconds: number): void {
    if (this.#podGroups !== undefined) this.#batchSeconds.push(seconds);
  }

  /** Called right after the manager rebuilt the targets of `sources`. */
  groupsRebuilt(sources: readonly string[]): void {
    if (this.#podGroups === undefined) return;
    const atMs = wallClockMs();
    for (const source of sources) if (source.startsWith('pod/')) this.#podGroups.push({ key: source.slice('pod/'.length), atMs });
  }

  consumerNotified(): void {
    if (this.#podGroups !== undefined) this.#notified.push(wallClockMs());
  }
}

/**
 * KubernetesDiscovery with a timing tap on the pod role: the manager's update callback builds the group's targets
 * synchronously, so the moment it returns is the moment the targets are rebuilt.
 */
class TappedKubernetesDiscovery extends KubernetesDiscovery {
  constructor(
    options: ConstructorParameters<typeof KubernetesDiscovery>[0],
    private readonly recorder: LatencyRecorder,
  ) {
    super(options);
  }

  override discoverer(config: KubernetesSDConfig): Discoverer {
    const inner = super.discoverer(config);
    if (config.role !== 'pod') return inner;
    return {
      run: (signal, update) =>
        inner.run(signal, (groups) => {
          update(groups);
          this.recorder.groupsRebuilt(groups.map((g) => g.source));
        }),
    };
  }
}

function apiEncoding(text: string | undefined): ApiEncoding {
  if (text === undefined || text === 'protobuf') return 'protobuf';
  if (text === 'json') return 'json';
  throw new Error(`master-process.js: the encoding must be json or protobuf, got ${JSON.stringify(text)}`);
}

/** SHA-256 over a job's targets' label sets, sorted, so that two masters' sets compare by one string. */
function targetsDigest(targets: Iterable<{ readonly labels: Labels }>): string {
  const hash = createHash('sha256');
  for (const text of [...targets].map((t) => formatLabels(t.labels)).sort()) hash.update(`${text}\n`);
  return hash.digest('hex');
}

async function loadConfig(file: string): Promise<PrometheusConfig> {
  const result = parseConfig(await readFile(file, 'utf8'), { file });
  if (!result.ok) throw new Error(result.errors.map(formatConfigIssue).join('\n'));
  return result.config;
}

async function main(): Promise<void> {
  const [configFile, userAgent, throttleArg, encodingArg] = process.argv.slice(2);
  const encoding = apiEncoding(encodingArg);
  if (configFile === undefined || userAgent === undefined) throw new Error('usage: master-process.js <config-file> <user-agent> <throttle-ms>');
  const throttleMs = Number(throttleArg ?? '1000');
  const baselineHeapBytes = heapUsedAfterGc();
  if (baselineHeapBytes === undefined) throw new Error('master-process.js needs node --expose-gc');
  const config = await loadConfig(configFile);

  const clients = new Map<string, CountingApiClient>();
  const clientFor = (connection: string): CountingApiClient => {
    if (!connection.startsWith('api:')) throw new Error(`the benchmark uses api_server only, got ${connection}`);
    let client = clients.get(connection);
    if (client === undefined) {
      const server = connection.slice('api:'.length);
      client = new CountingApiClient({ server, requestOptions: () => Promise.resolve({}), userAgent }, new RateLimiter(clientQps, clientBurst), { encoding });
      clients.set(connection, client);
    }
    return client;
  };
  const recorder = new LatencyRecorder();
  const kubernetes = new TappedKubernetesDiscovery({ clientFor, throttleMs, observer: { groupsUpdated: (seconds) => recorder.batchHandedOn(seconds) } }, recorder);
  const manager = new DiscoveryManager({ config, kubernetes, throttleMs });

  const controller = new AbortController();
  const started = performance.now();
  let fullSetMs: number | undefined;
  let onSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => (onSynced = resolve));
  manager
    .run(controller.signal, () => {
      recorder.consumerNotified();
      if (fullSetMs === undefined && manager.jobs().every((j) => j.synced)) {
        fullSetMs = performance.now() - started;
        onSynced();
      }
    })
    .catch((err: unknown) => {
      // Discovery never rejects for API-server trouble; anything else is a bug the run must not hide.
      process.stderr.write(`master-process: discovery failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
  // A master behind on a churn backlog can take long to wind down; nothing is measured any more, so exit at once
  // (which is also when `--cpu-prof` writes its profile).
  const stop = () => {
    controller.abort();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);

  await synced;
  const heldHeapBytes = heapUsedAfterGc() ?? 0;
  const jobs = manager.jobs().map((j) => ({
    job: j.job.jobName,
    role: j.job.kubernetesSdConfigs[0]?.role ?? 'none',
    discovered: j.discovered,
    targets: j.targets.size,
    digest: targetsDigest(j.targets.values()),
    dropped: j.dropped,
    invalid: j.invalid,
  }));
  const report: MasterSynced = {
    fullSetMs: fullSetMs ?? 0,
    jobs,
    baselineHeapBytes,
    heldHeapBytes,
    rssBytes: process.memoryUsage().rss,
  };

  const counted = () => [...clients.values()].reduce((acc, c) => ({ events: acc.events + c.events, bookmarks: acc.bookmarks + c.bookmarks }), { events: 0, bookmarks: 0 });
  let window: { cpu: NodeJS.CpuUsage; events: number; bookmarks: number } | undefined;
  const handlers: Handlers<MasterCommands> = {
    windowStart: () => {
      const c = counted();
      window = { cpu: process.cpuUsage(), events: c.events, bookmarks: c.bookmarks };
      recorder.start();
      return Promise.resolve(null);
    },
    windowEnd: () => {
      if (window === undefined) return Promise.reject(new Error('windowEnd without windowStart'));
      const cpu = process.cpuUsage(window.cpu);
      const c = counted();
      const result: MasterWindow = {
        cpuUserMs: cpu.user / 1000,
        cpuSystemMs: cpu.system / 1000,
        watchEvents: c.events - window.events,
        bookmarks: c.bookmarks - window.bookmarks,
        ...recorder.stop(),
      };
      window = undefined;
      return Promise.resolve(result);
    },
    reload: async ({ configFile: file, label }) => {
      // Copies: the manager updates a job's target map in place.
      const before = new Map(manager.jobs().map((j) => [j.job.jobName, new Map(j.targets)]));
      const started = performance.now();
      const changes = manager.applyConfig(await loadConfig(file));
      const applyMs = performance.now() - started;
      const changed = new Set(changes.changed);
      const counts = { changedJobTargets: 0, changedJobTargetsLabelled: 0, unchangedJobTargets: 0, unchangedJobTargetsRecreated: 0 };
      for (const j of manager.jobs()) {
        const previous = before.get(j.job.jobName);
        if (changed.has(j.job.jobName)) {
          counts.changedJobTargets += j.targets.size;
          for (const target of j.targets.values()) if (target.labels.has(label)) counts.changedJobTargetsLabelled++;
        } else if (previous !== undefined) {
          counts.unchangedJobTargets += j.targets.size;
          for (const [id, target] of j.targets) if (previous.get(id) !== target) counts.unchangedJobTargetsRecreated++;
        }
      }
      const result: MasterReload = { applyMs, ...changes, ...counts };
      return result;
    },
  };
  serveParent(handlers);
  emitToParent('synced', report);
}

await main();
