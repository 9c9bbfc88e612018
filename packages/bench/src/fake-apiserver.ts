/**
 * The fake API server as a child process of the discovery benchmark, so its CPU and memory are not counted as the
 * measured process's. It generates the synthetic cluster, serves it on loopback, and on command churns it or reports
 * request counts by user agent. It exits on SIGTERM or when the parent goes away.
 *
 * It keeps each object's encoded list item, filled at start-up in the encodings the benchmark will ask for, so a
 * list's time is the client's and the network's rather than this fake's encoder (a JavaScript protobuf encoder
 * slower than the native `JSON.stringify`; a real API server encodes protobuf faster than JSON).
 *
 * Usage (forked by discovery.ts and reload.ts):
 * `node fake-apiserver.js <pods> <nodes> <seed> [<encodings, comma-separated> [gzip|plain]]` (gzip: lists over 128 KiB
 * are gzipped for clients that accept it, as kube-apiserver does).
 */
import {
  churn,
  generateCluster,
  ObjectStore,
  startFakeApiServer,
  type DeletePreconditions,
  type KubeObject,
  type ObjectRef,
  type ResponseEncoding,
} from '@promfleet/testkit';
import { emitToParent, serveParent, type Handlers } from './ipc.js';
import { wallClockMs } from './measure.js';
import type { FakeCommands, FakeReady, PodWrite } from './protocol.js';
import { clusterOptions } from './workload.js';

/** How often a watch that asked for bookmarks gets one; real servers send one about a minute. */
const bookmarkIntervalMs = 5_000;

/**
 * A store that notes the wall-clock time of every pod write while recording, so the benchmark can tell how long a
 * pod change took to reach the master's targets. The fake server and the churner share it.
 */
class RecordingStore extends ObjectStore {
  #writes: PodWrite[] | undefined;

  start(): void {
    this.#writes = [];
  }

  stopRecording(): PodWrite[] {
    const writes = this.#writes ?? [];
    this.#writes = undefined;
    return writes;
  }

  override create(obj: KubeObject): KubeObject {
    return this.#note(super.create(obj));
  }

  override update(obj: KubeObject): KubeObject {
    return this.#note(super.update(obj));
  }

  override delete(ref: ObjectRef, preconditions?: DeletePreconditions): KubeObject {
    return this.#note(super.delete(ref, preconditions));
  }

  #note(obj: KubeObject): KubeObject {
    if (this.#writes !== undefined && obj.kind === 'Pod') {
      this.#writes.push({ key: `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`, atMs: wallClockMs() });
    }
    return obj;
  }
}

function encodingsArg(text: string | undefined): ResponseEncoding[] {
  const out: ResponseEncoding[] = [];
  for (const part of (text ?? 'json').split(',')) {
    if (part !== 'json' && part !== 'protobuf') throw new RangeError(`fake-apiserver: unknown encoding ${JSON.stringify(part)}`);
    out.push(part);
  }
  return out;
}

function positiveInt(text: string | undefined, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`fake-apiserver: ${what} must be a non-negative integer, got ${String(text)}`);
  return n;
}

async function main(): Promise<void> {
  const [podsArg, nodesArg, seedArg, encodingsText, listCompression] = process.argv.slice(2);
  const encodings = encodingsArg(encodingsText);
  const scale = { pods: positiveInt(podsArg, 'pods'), nodes: positiveInt(nodesArg, 'nodes') };
  const seed = positiveInt(seedArg, 'seed');
  const t0 = performance.now();
  let cluster = generateCluster(clusterOptions(scale, seed));
  const t1 = performance.now();
  const store = new RecordingStore();
  store.load(cluster.objects());
  const api = await startFakeApiServer({ store, bookmarkIntervalMs, cacheListEncodings: true, gzipLists: listCompression === 'gzip' });
  const warmedResources = ['pods', 'endpointslices', 'services', 'nodes', 'namespaces'] as const;
  api.warmListEncodings(warmedResources, encodings);
  let churns = 0;

  const stop = async () => {
    await api.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('disconnect', () => void stop());

  const handlers: Handlers<FakeCommands> = {
    churn: async ({ eventsPerSecond, durationMs }) => {
      store.start();
      const stats = await churn({ store, cluster, eventsPerSecond, signal: AbortSignal.timeout(durationMs), seed: seed + 1 + churns++ });
      return { stats, podWrites: store.stopRecording() };
    },
    requests: () => Promise.resolve(api.requests()),
    traffic: () => Promise.resolve(api.traffic()),
    resetRequests: () => {
      api.resetRequests();
      return Promise.resolve(null);
    },
    resetCluster: () => {
      cluster = generateCluster(clusterOptions(scale, seed));
      store.clear();
      store.load(cluster.objects());
      api.warmListEncodings(warmedResources, encodings);
      return Promise.resolve(null);
    },
  };
  serveParent(handlers);
  const ready: FakeReady = {
    url: api.url,
    objects: {
      nodes: cluster.nodes.length,
      pods: cluster.pods.length,
      services: cluster.services.length,
      endpointSlices: cluster.endpointSlices.length,
    },
    generateMs: t1 - t0,
    loadMs: performance.now() - t1,
  };
  emitToParent('ready', ready);
}

await main();
