/**
 * `promfleet worker`: its flags and the command, which logs to stderr and runs until the process is asked to stop
 * (SIGINT, SIGTERM), then hands its targets over. Loaded only when this command runs (cli.ts), and it loads neither
 * the master nor the offline tools: a worker process carries only the worker's code.
 */
import { hostname } from 'node:os';
import { isAbsolute } from 'node:path';
import { errorMessage } from '@promfleet/model';
import { DEFAULT_MAX_BODY_SIZE_BYTES, DEFAULT_QUEUE_MAX_BYTES, DEFAULT_SECRET_DIRS, QUEUE_SIZE_NOTE, startWorker } from '@promfleet/worker';
import type { FlagTable, FlagValues } from './flags.js';
import { type CommandIO, UsageError } from './io.js';
import { aborted, duration, logFlags, logFromFlags, size } from './serve.js';
import { workerLinkFlags, workerLinkOptions } from './worker-link-flags.js';

/** `promfleet worker`'s flags. */
export const workerFlags = {
  master: { value: 'HOST:PORT', defaultText: '$PROMFLEET_MASTER', help: "the master's gRPC address" },
  'worker.id': { value: 'NAME', defaultText: '$POD_NAME, else the hostname', help: "the worker's stable id" },
  'web.listen-address': { value: 'ADDRESS', default: '0.0.0.0:9097', help: 'status page /, /metrics, /-/healthy, /-/ready' },
  'worker.drain-timeout': { value: 'DURATION', default: '20s', help: 'how long the handover on SIGTERM may take' },
  'worker.secret-dirs': { value: 'DIRS', default: DEFAULT_SECRET_DIRS.join(','), help: 'the only directories (absolute, comma-separated) credential files named by jobs are read from' },
  'scrape.max-body-size': { value: 'SIZE', default: `${DEFAULT_MAX_BODY_SIZE_BYTES / 2 ** 20}MB`, help: 'body size limit (decompressed) of jobs without body_size_limit; 0: none' },
  'remote-write.queue-dir': {
    value: 'DIR',
    default: 'data/remote-write',
    help: 'where samples the receivers cannot take wait, one directory per remote_write endpoint (relative to the working directory); "": in memory only',
  },
  'remote-write.queue-max-size': {
    value: 'SIZE',
    default: `${DEFAULT_QUEUE_MAX_BYTES / 2 ** 20}MB`,
    help: `disk queue size limit per endpoint, beyond which the oldest samples are dropped; ${QUEUE_SIZE_NOTE}`,
  },
  'remote-write.flush-deadline': {
    value: 'DURATION',
    default: '10s',
    help: 'on shutdown, how long the queues keep sending; what is left then stays in the disk queue for the next start (dropped without one)',
  },
  ...workerLinkFlags,
  ...logFlags,
} as const satisfies FlagTable;

type WorkerFlags = FlagValues<typeof workerFlags>;

/** `--remote-write.queue-max-size`: 0 would make every record too big for the disk queue; memory only is `--remote-write.queue-dir=""`. */
function queueMaxSize(value: string): number {
  const bytes = size('remote-write.queue-max-size', value);
  if (bytes === 0) throw new UsageError('--remote-write.queue-max-size: must be above 0 (for no disk queue, set --remote-write.queue-dir="")');
  return bytes;
}

/**
 * `--worker.secret-dirs`: absolute directories, comma-separated; empty allows no file at all. Relative ones are refused
 * rather than taken from a working directory no one chose.
 */
function secretDirs(value: string): readonly string[] {
  const dirs = value
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '');
  const relative = dirs.find((d) => !isAbsolute(d));
  if (relative !== undefined) throw new UsageError(`--worker.secret-dirs: want absolute directories, got ${JSON.stringify(relative)}`);
  return dirs;
}

/**
 * `promfleet worker`: runs until `io.shutdown` aborts, then drains (hands its targets over, scrapes each through
 * its last slot) and flushes its queues; exit 0 then, 1 when it cannot start, 2 for bad flags.
 */
export async function runWorkerCommand(io: CommandIO, f: WorkerFlags, version: string): Promise<number> {
  const master = f.master ?? process.env['PROMFLEET_MASTER'];
  if (master === undefined) throw new UsageError('missing --master=HOST:PORT (or PROMFLEET_MASTER in the environment)');
  if (!/^[^:\s]+:\d{1,5}$/.test(master) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(master)) {
    throw new UsageError(`--master: want host:port, got ${JSON.stringify(master)}`);
  }
  const scrapeMaxBodySizeBytes = size('scrape.max-body-size', f['scrape.max-body-size']);
  const masterLink = workerLinkOptions(f);
  const log = logFromFlags(io.stderr, f);
  const unsubscribe = io.onReload?.(() => log('info', 'SIGHUP received: a worker has no configuration to reload (the master sends it); ignored'));
  const worker = await startWorker({
    masterLink,
    master,
    workerId: f['worker.id'] ?? process.env['POD_NAME'] ?? hostname(),
    webListenAddress: f['web.listen-address'],
    softwareVersion: version,
    drainTimeoutMs: duration('worker.drain-timeout', f['worker.drain-timeout']),
    secretDirs: secretDirs(f['worker.secret-dirs']),
    scrapeMaxBodySizeBytes,
    remoteWriteQueueDir: f['remote-write.queue-dir'],
    remoteWriteQueueMaxBytes: queueMaxSize(f['remote-write.queue-max-size']),
    remoteWriteFlushDeadlineMs: duration('remote-write.flush-deadline', f['remote-write.flush-deadline']),
    log,
  }).catch((err: unknown) => {
    throw new UsageError(`cannot start the worker: ${errorMessage(err)}`, 1);
  });
  await aborted(io.shutdown);
  log('info', 'shutting down: handing targets over');
  await worker.drainAndStop();
  unsubscribe?.();
  return 0;
}

