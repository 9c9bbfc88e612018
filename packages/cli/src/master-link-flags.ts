/**
 * The master's fleet link flags: TLS, the bearer token and the limits (docs/protocol.md, "Authentication and
 * limits"). Parsed here, checked for combinations that cannot work, and turned into `startMaster`'s options; the
 * files themselves are read at start, where an unreadable one stops the command with a message that names the flag
 * and the file.
 */
import { DEFAULT_EXTRA_STREAMS, DEFAULT_MAX_CONNECTION_RATE, DEFAULT_MAX_WORKERS, type FleetLinkOptions } from '@promfleet/master';
import { type FlagTable, switchOn, wholeNumber } from './flags.js';
import { UsageError } from './io.js';

/** The master's fleet link flags (none required). */
export const masterLinkFlags = {
  'fleet.tls.cert-file': { value: 'FILE', defaultText: 'none: plaintext', help: 'TLS certificate of the gRPC port (with --fleet.tls.key-file); re-read when it changes' },
  'fleet.tls.key-file': { value: 'FILE', defaultText: 'none', help: 'the private key of --fleet.tls.cert-file' },
  'fleet.tls.client-ca-file': { value: 'FILE', defaultText: 'none', help: 'workers must present a client certificate signed by this CA (needs TLS)' },
  'fleet.token-file': { value: 'FILE', defaultText: 'none', help: 'workers must present this bearer token; re-read when it changes' },
  'fleet.allow-insecure-secrets': { help: 'start although the config holds inline secrets and the link is not TLS with worker authentication' },
  'fleet.max-workers': { value: 'N', default: String(DEFAULT_MAX_WORKERS), help: 'workers admitted to the fleet at once' },
  'fleet.max-streams': { value: 'N', defaultText: `--fleet.max-workers + ${DEFAULT_EXTRA_STREAMS}`, help: 'open worker streams, those not yet admitted included' },
  'fleet.max-connections': { value: 'N', defaultText: `--fleet.max-streams + ${DEFAULT_EXTRA_STREAMS}`, help: 'open connections with TLS, those in their handshake included' },
  'fleet.max-connection-rate': { value: 'N', default: String(DEFAULT_MAX_CONNECTION_RATE), help: 'new streams (and TLS connections) accepted a second; 0 turns the limit off' },
} as const satisfies FlagTable;

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
      allowInsecureSecrets: switchOn('fleet.allow-insecure-secrets', f['fleet.allow-insecure-secrets']),
      ...(maxStreams === undefined ? {} : { maxStreams }),
      ...(maxConnections === undefined ? {} : { maxConnections }),
      maxConnectionRatePerSecond: rate,
    },
  };
}

function positive(flag: string, value: string | undefined): number | undefined {
  const n = wholeNumber(flag, value);
  if (n === 0) throw new UsageError(`--${flag}: want a whole number ≥ 1, got "0"`);
  return n;
}
