/**
 * The long-running commands: `promfleet master` (and, with issue #5, `promfleet worker`). They log logfmt lines to
 * stderr, as Prometheus does, and stop cleanly when the process is asked to (SIGINT, SIGTERM).
 */
import { hostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import { DurationError, parseDuration } from '@promfleet/model';
import { startMaster, type MasterLog } from '@promfleet/master';
import { type CommandIO, UsageError } from './io.js';
import { loadValidConfig } from './tools.js';

/** A logfmt line writer: `time=… level=… msg="…" key=value`. Values are quoted when they need it. */
export function logfmt(out: CommandIO['stderr'], now: () => Date = () => new Date()): MasterLog {
  const quote = (v: string | number) => {
    const text = String(v);
    return /^[^\s"=\\]+$/.test(text) ? text : JSON.stringify(text);
  };
  return (level, message, fields = {}) => {
    const pairs = Object.entries(fields).map(([k, v]) => `${k}=${quote(v)}`);
    out.write(`${['time=' + now().toISOString(), `level=${level}`, `msg=${quote(message)}`, ...pairs].join(' ')}\n`);
  };
}

/** The master's flags: name → [required, default]. Dotted names as Prometheus spells its flags. */
export const masterFlags = {
  'config.file': true,
  'web.listen-address': false,
  'grpc.listen-address': false,
  kubeconfig: false,
  'master.id': false,
  'kubernetes.own-namespace': false,
  'fleet.grace-period': false,
  'fleet.startup-wait': false,
  'fleet.handover-lead': false,
  'fleet.heartbeat-interval': false,
  'fleet.worker-max-targets': false,
  'fleet.worker-max-samples': false,
  'fleet.rebalance-moves-per-minute': false,
} as const;

type MasterFlags = { [K in keyof typeof masterFlags]: (typeof masterFlags)[K] extends true ? string : string | undefined };

function duration(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  try {
    return parseDuration(value);
  } catch (err) {
    throw new UsageError(`--${flag}: ${err instanceof DurationError ? err.message : String(err)}`);
  }
}

function count(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0 || value.trim() === '') throw new UsageError(`--${flag}: want a whole number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
}

/** The namespace a pod runs in, from its service account mount; undefined outside a cluster. */
async function podNamespace(): Promise<string | undefined> {
  try {
    return (await readFile('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** `promfleet master`: runs until `io.shutdown` aborts; exit 0 then, 1 for a bad config, 2 for bad flags. */
export async function runMasterCommand(io: CommandIO, f: MasterFlags, version: string): Promise<number> {
  const config = await loadValidConfig(io, f['config.file']);
  const workerMaxTargets = count('fleet.worker-max-targets', f['fleet.worker-max-targets']);
  const workerMaxSamples = count('fleet.worker-max-samples', f['fleet.worker-max-samples']);
  const rebalanceMovesPerMinute = count('fleet.rebalance-moves-per-minute', f['fleet.rebalance-moves-per-minute']);
  const ownNamespace = f['kubernetes.own-namespace'] ?? (await podNamespace());
  const log = logfmt(io.stderr);
  const master = await startMaster({
    config,
    webListenAddress: f['web.listen-address'] ?? '0.0.0.0:9095',
    grpcListenAddress: f['grpc.listen-address'] ?? '0.0.0.0:9096',
    ...(f.kubeconfig === undefined ? {} : { kubeconfig: f.kubeconfig }),
    ...(ownNamespace === undefined ? {} : { ownNamespace }),
    fleet: {
      masterId: f['master.id'] ?? process.env['POD_NAME'] ?? hostname(),
      softwareVersion: version,
      graceMs: duration('fleet.grace-period', f['fleet.grace-period'], 10_000),
      startupWaitMs: duration('fleet.startup-wait', f['fleet.startup-wait'], 120_000),
      handoverLeadMs: duration('fleet.handover-lead', f['fleet.handover-lead'], 2_000),
      heartbeatIntervalMs: duration('fleet.heartbeat-interval', f['fleet.heartbeat-interval'], 5_000),
      ...(workerMaxTargets === undefined ? {} : { workerMaxTargets }),
      ...(workerMaxSamples === undefined ? {} : { workerMaxSamples }),
      ...(rebalanceMovesPerMinute === undefined ? {} : { rebalanceMovesPerMinute }),
    },
    log,
  }).catch((err: unknown) => {
    throw new UsageError(`cannot start the master: ${err instanceof Error ? err.message : String(err)}`, 1);
  });
  await new Promise<void>((resolve) => {
    if (io.shutdown.aborted) resolve();
    io.shutdown.addEventListener('abort', () => resolve(), { once: true });
  });
  log('info', 'shutting down');
  await master.stop();
  return 0;
}
