/**
 * The fleet link's credentials, on both ends: TLS material from files (the master's server certificate and client
 * CA, the worker's CA and client certificate) served to grpc-js through its `CertificateProvider` interface, and the
 * bearer token file. Both follow their files: cert-manager renews certificates in place and Kubernetes swaps a
 * secret volume's `..data` link, so a provider re-checks its files every `refreshIntervalMs` and hands grpc-js the
 * new material when they changed. grpc-js applies it to new connections only: open streams keep going.
 *
 * File loading and checking (a CA must hold a certificate, a certificate must match its key) is `TlsFiles` of
 * @promfleet/credentials, as for every other TLS client promfleet has; errors name the flag and the file.
 */
import { experimental, type ChannelCredentials, type ServerCredentials } from '@grpc/grpc-js';
import { CredentialsConfigError, readSecretFile, type TlsFiles } from '@promfleet/credentials';

/** How often credential files are checked for changes by default. */
export const DEFAULT_CREDENTIALS_REFRESH_MS = 10_000;

/** What happened at one periodic check of the files: for logs and tests. */
export type RefreshOutcome = { readonly changed: boolean } | { readonly error: unknown };

/** Options of {@link TlsFilesCertificateProvider} and {@link TokenFile}. */
export interface RefreshOptions {
  /** How often the files are checked; {@link DEFAULT_CREDENTIALS_REFRESH_MS} by default. */
  readonly refreshIntervalMs?: number;
  /** Told about every check that changed something or failed (the old material or token then stays in effect). */
  readonly onRefresh?: (outcome: RefreshOutcome) => void;
  /** Stops the periodic checks. */
  readonly signal?: AbortSignal;
}

/**
 * A grpc-js certificate provider over {@link TlsFiles}: the CA for the CA listeners, the certificate and key for
 * the identity listeners. It checks the files while anyone listens (grpc-js adds listeners while a server is bound
 * or a channel has connections) and until `signal` aborts; {@link refresh} checks at once.
 *
 * Listeners are called asynchronously (on the next tick), as grpc-js' own providers call them: its credentials
 * register the watcher that applies the material only after adding their listeners.
 */
export class TlsFilesCertificateProvider implements experimental.CertificateProvider {
  readonly #files: TlsFiles;
  readonly #options: RefreshOptions;
  readonly #ca = new Set<experimental.CaCertificateUpdateListener>();
  readonly #identity = new Set<experimental.IdentityCertificateUpdateListener>();
  #timer: NodeJS.Timeout | undefined;

  constructor(files: TlsFiles, options: RefreshOptions = {}) {
    this.#files = files;
    this.#options = options;
    options.signal?.addEventListener('abort', () => this.#stop(), { once: true });
  }

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.#ca.add(listener);
    this.#start();
    process.nextTick(() => {
      if (this.#ca.has(listener)) listener(this.#caUpdate());
    });
  }

  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.#ca.delete(listener);
    this.#stopWhenUnused();
  }

  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.#identity.add(listener);
    this.#start();
    process.nextTick(() => {
      if (this.#identity.has(listener)) listener(this.#identityUpdate());
    });
  }

  removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.#identity.delete(listener);
    this.#stopWhenUnused();
  }

  /**
   * Checks the files now and, when they changed, hands the new material to every listener. Resolves true when
   * something changed; rejects (the old material staying in effect) when a file cannot be read or used.
   */
  async refresh(): Promise<boolean> {
    const changed = await this.#files.refresh();
    if (changed) {
      const ca = this.#caUpdate();
      const identity = this.#identityUpdate();
      for (const listener of this.#ca) listener(ca);
      for (const listener of this.#identity) listener(identity);
    }
    return changed;
  }

  #caUpdate(): experimental.CaCertificateUpdate | null {
    const ca = this.#files.material.ca;
    return ca === undefined ? null : { caCertificate: Buffer.from(ca) };
  }

  #identityUpdate(): experimental.IdentityCertificateUpdate | null {
    const { cert, key } = this.#files.material;
    return cert === undefined || key === undefined ? null : { certificate: Buffer.from(cert), privateKey: Buffer.from(key) };
  }

  #start(): void {
    if (this.#timer !== undefined || this.#options.signal?.aborted === true || !this.#files.hasFiles) return;
    this.#timer = setInterval(() => {
      this.refresh().then(
        (changed) => {
          if (changed) this.#options.onRefresh?.({ changed });
        },
        (error: unknown) => this.#options.onRefresh?.({ error }),
      );
    }, this.#options.refreshIntervalMs ?? DEFAULT_CREDENTIALS_REFRESH_MS);
    this.#timer.unref();
  }

  #stopWhenUnused(): void {
    if (this.#ca.size === 0 && this.#identity.size === 0) this.#stop();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * The master's fleet server credentials: its certificate from `provider`, and, with `clientCa`, the client CA from
 * it too. Client certificates are asked for and verified against the CA, but a connection without a valid one is
 * not failed in the handshake: the fleet server refuses it before its Hello, where it is counted and logged (a
 * handshake failure would be dropped unseen by grpc-js).
 */
export function fleetServerCredentials(provider: TlsFilesCertificateProvider, options: { readonly clientCa: boolean }): ServerCredentials {
  // grpc-js 1.14's createCertificateProviderServerCredentials hands its first argument to the credentials as the
  // identity provider and its second as the CA provider, the reverse of its parameter names; one provider serving
  // both makes the order irrelevant. With a CA provider it asks for client certificates (requestCert), and with
  // `false` it does not reject the handshake without one (rejectUnauthorized).
  return experimental.createCertificateProviderServerCredentials(provider, options.clientCa ? provider : null, false);
}

/**
 * The worker's fleet channel credentials: the CA (the system's roots when none was given: put them in the
 * provider's TlsFiles as inline `ca`) and, with `clientCertificate`, the client certificate, both from `provider`.
 */
export function fleetChannelCredentials(provider: TlsFilesCertificateProvider, options: { readonly clientCertificate: boolean }): ChannelCredentials {
  return experimental.createCertificateProviderChannelCredentials(provider, options.clientCertificate ? provider : null);
}

/**
 * A bearer token read from a file (trimmed, as prometheus/common reads credential files), re-read every
 * `refreshIntervalMs` until `signal` aborts: a rotated token is accepted (master) or sent (worker) from the next
 * check on. A file that cannot be read, or is empty, at a later check keeps the last token in effect and is
 * reported through `onRefresh`. The token never appears in an error or a log.
 */
export class TokenFile {
  readonly #file: string;
  readonly #field: string;
  #token: string;

  private constructor(options: { file: string; field: string; token: string }) {
    this.#file = options.file;
    this.#field = options.field;
    this.#token = options.token;
  }

  /**
   * Reads the token at start.
   *
   * @throws {CredentialsConfigError} naming `field` (the flag) and the file when it cannot be read or is empty.
   */
  static async load(options: RefreshOptions & { readonly file: string; readonly field: string }): Promise<TokenFile> {
    const tokenFile = new TokenFile({ file: options.file, field: options.field, token: await readToken(options.file, options.field) });
    const { signal } = options;
    if (signal?.aborted !== true) {
      const timer = setInterval(() => {
        tokenFile.refresh().then(
          (changed) => {
            if (changed) options.onRefresh?.({ changed });
          },
          (error: unknown) => options.onRefresh?.({ error }),
        );
      }, options.refreshIntervalMs ?? DEFAULT_CREDENTIALS_REFRESH_MS);
      timer.unref();
      signal?.addEventListener('abort', () => clearInterval(timer), { once: true });
    }
    return tokenFile;
  }

  /** The token in effect. */
  current(): string {
    return this.#token;
  }

  /** Reads the file again; resolves true when the token changed. On failure the last token stays in effect. */
  async refresh(): Promise<boolean> {
    const token = await readToken(this.#file, this.#field);
    const changed = token !== this.#token;
    this.#token = token;
    return changed;
  }
}

async function readToken(file: string, field: string): Promise<string> {
  const token = await readSecretFile({ file, context: 'fleet link', field, what: 'bearer token' });
  if (token === '') throw new CredentialsConfigError({ context: 'fleet link', field, problem: `the bearer token file ${file} is empty` });
  return token;
}
