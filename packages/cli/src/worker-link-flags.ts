/**
 * The worker's fleet link flags: TLS and the bearer token (docs/protocol.md, "Authentication and limits"), turned
 * into `startWorker`'s options; the files themselves are read at start.
 */
import type { MasterLinkOptions } from '@promfleet/worker';
import type { FlagTable } from './flags.js';
import { UsageError } from './io.js';

/** The worker's fleet link flags (none required). */
export const workerLinkFlags = {
  'master.tls.ca-file': { value: 'FILE', defaultText: "the system's CAs", help: "CA of the master's certificate; any --master.tls.* flag turns TLS on" },
  'master.tls.cert-file': { value: 'FILE', defaultText: 'none', help: 'client certificate presented to the master (with --master.tls.key-file)' },
  'master.tls.key-file': { value: 'FILE', defaultText: 'none', help: 'the private key of --master.tls.cert-file' },
  'master.tls.server-name': { value: 'NAME', defaultText: 'the --master host', help: "the name the master's certificate must hold" },
  'master.token-file': { value: 'FILE', defaultText: 'none', help: 'bearer token sent on every stream; re-read when it changes' },
} as const satisfies FlagTable;

type Values<T> = { readonly [K in keyof T]?: string | undefined };

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
