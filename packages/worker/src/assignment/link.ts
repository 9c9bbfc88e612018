/**
 * The worker's side of the fleet link's security, as the worker is started with it: TLS to the master (the CA that
 * signs the master's certificate, the system's roots by default; a client certificate when the master requires
 * one; the name to verify the master's certificate against) and the bearer token sent on every stream. The files
 * are the worker's own, named by its flags; they are followed as they change, and a file that cannot be used at
 * start stops the start with an error that names the flag and the file.
 */
import type { ChannelCredentials, ClientOptions, Metadata } from '@grpc/grpc-js';
import { rootCertificates } from 'node:tls';
import { TlsFiles } from '@promfleet/credentials';
import { TlsFilesCertificateProvider, TokenFile, bearerMetadata, fleetChannelCredentials, type RefreshOutcome } from '@promfleet/protocol';

/** The worker's fleet link settings (its `--master.tls.*` and `--master.token-file` flags). */
export interface MasterLinkOptions {
  /** TLS to the master; plaintext when absent. */
  readonly tls?: {
    /** The CA that signs the master's certificate; the system's roots when absent. */
    readonly caFile?: string;
    /** The client certificate and key, for a master that requires one (`--fleet.tls.client-ca-file`). */
    readonly certFile?: string;
    readonly keyFile?: string;
    /** The name the master's certificate must carry, when it is not the host of `--master`; also sent as SNI. */
    readonly serverName?: string;
  };
  /** A file holding the token sent as `authorization: Bearer …` on every stream. */
  readonly tokenFile?: string;
  /** How often the files are checked for changes; 10 s by default. */
  readonly refreshIntervalMs?: number;
}

/** What the assignment client is built with. */
export interface MasterLink {
  readonly credentials?: ChannelCredentials;
  readonly channelOptions: Partial<ClientOptions>;
  /** The metadata of each new stream: the token in effect then. */
  readonly callMetadata?: () => Metadata;
}

/**
 * Loads the files and builds the client's credentials. They are checked for changes until `signal` aborts;
 * `onRefresh` hears of each change and each failed check (the old material or token stays in effect).
 *
 * @throws {CredentialsConfigError} when a file cannot be read or used, naming the flag and the file.
 */
export async function loadMasterLink(
  link: MasterLinkOptions,
  context: { readonly signal: AbortSignal; readonly onRefresh: (what: 'tls' | 'token', outcome: RefreshOutcome) => void },
): Promise<MasterLink> {
  const refresh = { signal: context.signal, ...(link.refreshIntervalMs === undefined ? {} : { refreshIntervalMs: link.refreshIntervalMs }) };
  let credentials: ChannelCredentials | undefined;
  let channelOptions: Partial<ClientOptions> = {};
  if (link.tls !== undefined) {
    const { caFile, certFile, keyFile, serverName } = link.tls;
    const files = new TlsFiles(
      {
        ...(caFile === undefined ? { ca: rootCertificates.join('\n') } : { caFile }),
        ...(certFile === undefined ? {} : { certFile }),
        ...(keyFile === undefined ? {} : { keyFile }),
      },
      { context: 'fleet link', role: 'client', fields: { caFile: '--master.tls.ca-file', certFile: '--master.tls.cert-file', keyFile: '--master.tls.key-file' } },
    );
    const provider = new TlsFilesCertificateProvider(files, { ...refresh, onRefresh: (outcome) => context.onRefresh('tls', outcome) });
    credentials = fleetChannelCredentials(provider, { clientCertificate: certFile !== undefined });
    if (serverName !== undefined) channelOptions = { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName };
  }
  const token =
    link.tokenFile === undefined
      ? undefined
      : await TokenFile.load({ ...refresh, file: link.tokenFile, field: '--master.token-file', onRefresh: (outcome) => context.onRefresh('token', outcome) });
  return {
    ...(credentials === undefined ? {} : { credentials }),
    channelOptions,
    ...(token === undefined ? {} : { callMetadata: () => bearerMetadata(token.current()) }),
  };
}
