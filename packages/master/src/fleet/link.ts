/**
 * The fleet link's security as the master is started with it: TLS (its certificate, and a client CA that makes
 * client certificates mandatory), a bearer token, the limits, and the rule that inline secrets travel only over an
 * encrypted link to authenticated workers.
 * Everything here runs at start, before a port is bound; a file that cannot be used stops the start with an error
 * that names the flag and the file.
 */
import type { ServerCredentials } from '@grpc/grpc-js';
import { TlsFiles } from '@promfleet/credentials';
import { inlineSecrets, type InlineSecret, type PrometheusConfig } from '@promfleet/model';
import { TlsFilesCertificateProvider, TokenFile, fleetServerCredentials, type RefreshOutcome } from '@promfleet/protocol';
import type { AdmissionPolicy } from './admission.js';
import { TokenBucket } from './limits.js';

/** The default of {@link FleetLinkOptions.maxConnectionRatePerSecond}. */
export const DEFAULT_MAX_CONNECTION_RATE = 200;

/** The master's fleet link settings (its `--fleet.tls.*`, `--fleet.token-file` and limit flags). */
export interface FleetLinkOptions {
  /** TLS on the fleet port. With `clientCaFile`, every worker must present a certificate signed by that CA. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly clientCaFile?: string };
  /** Every worker must present the token this file holds (`authorization: Bearer …`). */
  readonly tokenFile?: string;
  /**
   * Start although the configuration holds inline secrets and the link is not both encrypted and authenticated
   * (they are then sent in clear, or to whoever connects).
   */
  readonly allowInsecureSecrets?: boolean;
  /** The most open streams, those before their Hello included; the fleet's max workers + 1,000 by default. */
  readonly maxStreams?: number;
  /** With TLS, the most open connections, those in their handshake included; max streams + 1,000 by default. */
  readonly maxConnections?: number;
  /** New streams per second, with a burst of five seconds' worth; {@link DEFAULT_MAX_CONNECTION_RATE} by default, 0 for none. */
  readonly maxConnectionRatePerSecond?: number;
  /** How often the certificate and token files are checked for changes; 10 s by default. */
  readonly refreshIntervalMs?: number;
}

/** Stable codes of the fleet link errors. */
export const FleetLinkErrorCode = {
  insecureSecrets: 'PROMFLEET_FLEET_INSECURE_SECRETS',
} as const;

/** What the fleet link lacks for inline secrets: encryption (no TLS), or only the workers' authentication. */
export type LinkWeakness = 'no-tls' | 'no-worker-authentication';

/**
 * The configuration holds inline secrets and the fleet link would not keep them: without TLS the master would send
 * them in clear; with TLS but neither a client CA nor a token it would send them to whoever connects. Names each
 * secret's owner and field (never its value) and the flags that resolve it.
 */
export class InsecureSecretsError extends Error {
  override readonly name = 'InsecureSecretsError';
  readonly code = FleetLinkErrorCode.insecureSecrets;

  constructor(
    readonly secrets: readonly InlineSecret[],
    readonly weakness: LinkWeakness,
  ) {
    super(
      `the configuration holds inline secrets and ${weaknessText[weakness]}: ${describeSecrets(secrets)}. ` +
        (weakness === 'no-tls' ? 'Turn on TLS for the fleet link (--fleet.tls.cert-file and --fleet.tls.key-file) with worker authentication' : 'Authenticate workers') +
        ' (--fleet.tls.client-ca-file so that only workers with a client certificate join, or --fleet.token-file), ' +
        'move the secrets into files (*_file settings, read by each worker under its --worker.secret-dirs), ' +
        'or start with --fleet.allow-insecure-secrets to send them anyway',
    );
  }
}

const weaknessText: Readonly<Record<LinkWeakness, string>> = {
  'no-tls': 'the fleet link has no TLS, so the master would send them to workers in clear',
  'no-worker-authentication': 'the fleet link does not authenticate workers (neither --fleet.tls.client-ca-file nor --fleet.token-file), so the master would send them to whoever connects',
};

/** `scrape job "a": basic_auth.password; remote_write[0]: url`. */
export function describeSecrets(secrets: readonly InlineSecret[]): string {
  return secrets.map((s) => `${s.owner}: ${s.field}${s.sentToWorkers ? '' : ' (used by the master only)'}`).join('; ');
}

/**
 * Inline secrets travel only over an authenticated, encrypted link: TLS, and workers proven by a client certificate
 * or a token. Returns what the link lacks and the inline secrets found (none when there are none, or when the link
 * keeps them); with `allowInsecureSecrets` the caller should warn about them.
 *
 * @throws {InsecureSecretsError} when the config holds inline secrets, the link would not keep them and the override
 *   is off.
 */
export function checkInlineSecrets(config: PrometheusConfig, link: FleetLinkOptions): { readonly secrets: InlineSecret[]; readonly weakness?: LinkWeakness } {
  const weakness: LinkWeakness | undefined =
    link.tls === undefined ? 'no-tls' : link.tls.clientCaFile === undefined && link.tokenFile === undefined ? 'no-worker-authentication' : undefined;
  if (weakness === undefined) return { secrets: [] };
  const secrets = inlineSecrets(config);
  if (secrets.length > 0 && link.allowInsecureSecrets !== true) throw new InsecureSecretsError(secrets, weakness);
  return { secrets, weakness };
}

/** What the fleet server is built with. */
export interface FleetLinkSecurity {
  /** TLS server credentials; undefined for a plaintext link. */
  readonly credentials?: ServerCredentials;
  readonly admission: AdmissionPolicy;
  readonly connectionRate: TokenBucket;
  readonly maxStreams?: number;
  readonly maxConnections?: number;
}

/**
 * Loads the TLS files and the token file and builds what the fleet server needs. The files are checked for changes
 * until `signal` aborts; `onRefresh` hears of each change and each failed check (the old material stays in effect).
 *
 * @throws {CredentialsConfigError} when a file cannot be read or used, naming the flag and the file.
 */
export async function loadFleetLink(
  link: FleetLinkOptions,
  context: { readonly signal: AbortSignal; readonly onRefresh: (what: 'tls' | 'token', outcome: RefreshOutcome) => void },
): Promise<FleetLinkSecurity> {
  const refresh = { signal: context.signal, ...(link.refreshIntervalMs === undefined ? {} : { refreshIntervalMs: link.refreshIntervalMs }) };
  let credentials: ServerCredentials | undefined;
  if (link.tls !== undefined) {
    const { certFile, keyFile, clientCaFile } = link.tls;
    const files = new TlsFiles(
      { certFile, keyFile, ...(clientCaFile === undefined ? {} : { caFile: clientCaFile }) },
      { context: 'fleet link', role: 'server', fields: { certFile: '--fleet.tls.cert-file', keyFile: '--fleet.tls.key-file', caFile: '--fleet.tls.client-ca-file' } },
    );
    const provider = new TlsFilesCertificateProvider(files, { ...refresh, onRefresh: (outcome) => context.onRefresh('tls', outcome) });
    credentials = fleetServerCredentials(provider, { clientCa: clientCaFile !== undefined });
  }
  const token =
    link.tokenFile === undefined
      ? undefined
      : await TokenFile.load({ ...refresh, file: link.tokenFile, field: '--fleet.token-file', onRefresh: (outcome) => context.onRefresh('token', outcome) });
  return {
    ...(credentials === undefined ? {} : { credentials }),
    admission: { requireClientCertificate: link.tls?.clientCaFile !== undefined, ...(token === undefined ? {} : { token }) },
    connectionRate: new TokenBucket({ ratePerSecond: link.maxConnectionRatePerSecond ?? DEFAULT_MAX_CONNECTION_RATE }),
    ...(link.maxStreams === undefined ? {} : { maxStreams: link.maxStreams }),
    ...(link.maxConnections === undefined ? {} : { maxConnections: link.maxConnections }),
  };
}
