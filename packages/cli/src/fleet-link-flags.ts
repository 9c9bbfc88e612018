/**
 * The fleet link's flags, on both commands: TLS, the bearer token and the master's limits
 * (docs/protocol.md, "Authentication and limits"). Parsed here, checked for combinations that cannot work, and
 * turned into the options of `startMaster` and `startWorker`; the files themselves are read at start, where an
 * unreadable one stops the command with a message that names the flag and the file.
 */
import { DEFAULT_MAX_CONNECTION_RATE, DEFAULT_MAX_WORKERS, type FleetLinkOptions } from '@promfleet/master';
import type { MasterLinkOptions } from '@promfleet/worker';
import { UsageError } from './io.js';

/** The master's fleet link flags (none required). */
export const masterLinkFlags = {
  'fleet.tls.cert-file': false,
  'fleet.tls.key-file': false,
  'fleet.tls.client-ca-file': false,
  'fleet.token-file': false,
  'fleet.allow-insecure-secrets': false,
  'fleet.max-workers': false,
  'fleet.max-streams': false,
  'fleet.max-connections': false,
  'fleet.max-connection-rate': false,
} as const;

/** The worker's fleet link flags (none required). */
export const workerLinkFlags = {
  'master.tls.ca-file': false,
  'master.tls.cert-file': false,
  'master.tls.key-file': false,
  'master.tls.server-name': false,
  'master.token-file': false,
} as const;

/** Flags that take no value: `--fleet.allow-insecure-secrets` means true; `=true` and `=false` work too. */
export const booleanFlags: ReadonlySet<string> = new Set(['fleet.allow-insecure-secrets', 'web.enable-lifecycle']);

type Values<T> = { readonly [K in keyof T]?: string | undefined };

/** `--fleet.max-workers` and the master's fleet link options, from its flags. */
export function masterLinkOptions(f: Values<typeof masterLinkFlags>): { maxWorkers: number; link: FleetLinkOptions } {
  const certFile = f['fleet.tls.cert-file'];
  const keyFile = f['fleet.tls.key-file'];
  const clientCaFile = f['fleet.tls.client-ca-file'];
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--fleet.tls.cert-file and --fleet.tls.key-file go together: give both or neither');
  if (clientCaFile !== undefined && certFile === undefined) {
    throw new UsageError('--fleet.tls.client-ca-file needs TLS: give --fleet.tls.cert-file and --fleet.tls.key-file too');
  }
  const maxWorkers = positive('fleet.max-workers', f['fleet.max-workers']) ?? DEFAULT_MAX_WORKERS;
  const maxStreams = positive('fleet.max-streams', f['fleet.max-streams']);
  const maxConnections = positive('fleet.max-connections', f['fleet.max-connections']);
  const rate = wholeNumber('fleet.max-connection-rate', f['fleet.max-connection-rate']) ?? DEFAULT_MAX_CONNECTION_RATE;
  const tokenFile = f['fleet.token-file'];
  return {
    maxWorkers,
    link: {
      ...(certFile === undefined || keyFile === undefined ? {} : { tls: { certFile, keyFile, ...(clientCaFile === undefined ? {} : { clientCaFile }) } }),
      ...(tokenFile === undefined ? {} : { tokenFile }),
      allowInsecureSecrets: bool('fleet.allow-insecure-secrets', f['fleet.allow-insecure-secrets']),
      ...(maxStreams === undefined ? {} : { maxStreams }),
      ...(maxConnections === undefined ? {} : { maxConnections }),
      maxConnectionRatePerSecond: rate,
    },
  };
}

/** The worker's fleet link options, from its flags: TLS is on when any `--master.tls.*` flag is given. */
export function workerLinkOptions(f: Values<typeof workerLinkFlags>): MasterLinkOptions {
  const caFile = f['master.tls.ca-file'];
  const certFile = f['master.tls.cert-file'];
  const keyFile = f['master.tls.key-file'];
  const serverName = f['master.tls.server-name'];
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--master.tls.cert-file and --master.tls.key-file go together: give both or neither');
  const tls = caFile !== undefined || certFile !== undefined || serverName !== undefined;
  const tokenFile = f['master.token-file'];
  return {
    ...(tls
      ? {
          tls: {
            ...(caFile === undefined ? {} : { caFile }),
            ...(certFile === undefined ? {} : { certFile }),
            ...(keyFile === undefined ? {} : { keyFile }),
            ...(serverName === undefined ? {} : { serverName }),
          },
        }
      : {}),
    ...(tokenFile === undefined ? {} : { tokenFile }),
  };
}

export function bool(flag: string, value: string | undefined): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new UsageError(`--${flag}: want true or false (or the flag alone), got ${JSON.stringify(value)}`);
}

/** A flag's whole number ≥ 0, or undefined when the flag is not given; a usage error otherwise. */
export function wholeNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${flag}: want a whole number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
}

function positive(flag: string, value: string | undefined): number | undefined {
  const n = wholeNumber(flag, value);
  if (n === 0) throw new UsageError(`--${flag}: want a whole number ≥ 1, got "0"`);
  return n;
}
