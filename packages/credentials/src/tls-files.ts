/**
 * TLS material (a CA, a certificate and its key), inline or from files, checked as prometheus/common's `NewTLSConfig`
 * checks it and re-read when the files change (cert-manager and Kubernetes secret volumes replace them in place).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { HttpClientConfig } from '@promfleet/model';
import { CredentialsConfigError, errorText, fsErrorCode } from './errors.js';
import { SecretFilePolicy } from './policy.js';

/** The CA, certificate and key in effect, as PEM text. */
export interface TlsMaterial {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** Where each part comes from: inline PEM text or a file. For each of CA, certificate and key, set at most one. */
export interface TlsParts {
  readonly ca?: string;
  readonly caFile?: string;
  readonly cert?: string;
  readonly certFile?: string;
  readonly key?: string;
  readonly keyFile?: string;
}

/** How errors name each part's setting: config keys (`tls_config.ca_file`) or flags (`--fleet.tls.cert-file`). */
export type TlsFieldNames = { readonly [K in keyof TlsParts]-?: string };

/** Options of {@link TlsFiles}. */
export interface TlsFilesOptions {
  /** Names the owner in errors, for example `scrape job "node"` or `fleet link`. */
  readonly context: string;
  /** The setting names for errors; `tls_config.<key>` (Prometheus' names) for those not given. */
  readonly fields?: Partial<TlsFieldNames>;
  /** Whose certificate this is, for errors: `client cert` (the default) or `server cert`, as Go words it. */
  readonly role?: 'client' | 'server';
  /** Which files may be read; unrestricted by default. */
  readonly policy?: SecretFilePolicy;
}

type TlsPart = keyof TlsMaterial;

/** One part of the material: where it comes from and how errors name it. */
interface TlsSource {
  readonly part: TlsPart;
  readonly what: string;
  readonly field: string;
  readonly inline?: string;
  readonly file?: string;
}

/** The file stamp and real path a file was read at. */
interface Stamped {
  readonly path: string;
  readonly stamp: string;
}

/**
 * The TLS material of one client or server. The constructor reads the files synchronously and checks them; after
 * that, {@link refresh} stats them and reads them again when one changed. It never holds a file open.
 *
 * One instance per client or server; {@link refresh} may be called concurrently (calls share one check).
 */
export class TlsFiles {
  /** The parts of a prometheus/common `tls_config`, named as Prometheus names them in errors. */
  static fromConfig(tls: HttpClientConfig['tlsConfig'], options: Omit<TlsFilesOptions, 'fields' | 'role'>): TlsFiles {
    const parts: TlsParts = {
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.caFile === undefined ? {} : { caFile: tls.caFile }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls.certFile === undefined ? {} : { certFile: tls.certFile }),
      ...(tls.key === undefined ? {} : { key: tls.key.reveal() }),
      ...(tls.keyFile === undefined ? {} : { keyFile: tls.keyFile }),
    };
    return new TlsFiles(parts, options);
  }

  readonly #sources: readonly TlsSource[];
  readonly #files: readonly TlsSource[];
  readonly #context: string;
  readonly #policy: SecretFilePolicy;
  #material: TlsMaterial;
  #stamps: readonly string[];
  #refreshing: Promise<boolean> | undefined;

  /**
   * Reads and checks the material: a CA must hold a certificate, a certificate must match its key.
   *
   * @throws {CredentialsConfigError} when a file cannot be read or the material cannot be used, naming the setting
   *   and the file, never the content; a `SecretFileRefusedError` when the policy does not allow a file.
   */
  constructor(parts: TlsParts, options: TlsFilesOptions) {
    this.#sources = tlsSources(parts, options);
    this.#files = this.#sources.filter((s) => s.file !== undefined);
    this.#context = options.context;
    this.#policy = options.policy ?? SecretFilePolicy.unrestricted;
    const stamped = this.#files.map((s) =>
      this.#attempt(s, () => {
        const path = this.#policy.resolveSync(fileOf(s), this.#use(s));
        return { path, stamp: stampOf(path, statSync(path)) };
      }),
    );
    const material = this.#assemble((s, i) => this.#attempt(s, () => readFileSync(stamped[i]?.path ?? '', 'utf8')));
    this.#check(material);
    this.#material = material;
    this.#stamps = stamped.map((s) => s.stamp);
  }

  /** The material in effect: read at construction or at the last {@link refresh} that succeeded. */
  get material(): TlsMaterial {
    return this.#material;
  }

  /** Whether any part comes from a file, that is, whether {@link refresh} can ever change anything. */
  get hasFiles(): boolean {
    return this.#files.length > 0;
  }

  /**
   * Stats the files and, when one changed (content, or the file a link leads to), reads and checks them again.
   * Resolves true when the material changed. On failure it rejects with the error the constructor would throw, the
   * previous material stays in effect, and the next call tries again.
   */
  refresh(): Promise<boolean> {
    if (this.#files.length === 0) return Promise.resolve(false);
    this.#refreshing ??= this.#reload().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #reload(): Promise<boolean> {
    const stamped = await Promise.all(
      this.#files.map((s) =>
        this.#attemptAsync<Stamped>(s, async () => {
          const path = await this.#policy.resolve(fileOf(s), this.#use(s));
          return { path, stamp: stampOf(path, await stat(path)) };
        }),
      ),
    );
    if (stamped.every((s, i) => s.stamp === this.#stamps[i])) return false;
    const texts = await Promise.all(this.#files.map((s, i) => this.#attemptAsync(s, () => readFile(stamped[i]?.path ?? '', 'utf8'))));
    const material = this.#assemble((_s, i) => texts[i] ?? '');
    this.#check(material);
    const changed = material.ca !== this.#material.ca || material.cert !== this.#material.cert || material.key !== this.#material.key;
    this.#material = material;
    this.#stamps = stamped.map((s) => s.stamp);
    return changed;
  }

  /** The material from the inline parts and, for the parts from files, `read(source, index among the files)`. */
  #assemble(read: (s: TlsSource, fileIndex: number) => string): TlsMaterial {
    const material: { -readonly [K in TlsPart]?: string } = {};
    for (const s of this.#sources) material[s.part] = s.inline ?? read(s, this.#files.indexOf(s));
    return material;
  }

  /** `NewTLSConfig`'s checks: the CA must hold a certificate, the certificate must match its key. */
  #check(material: TlsMaterial): void {
    const find = (part: TlsPart): TlsSource | undefined => this.#sources.find((s) => s.part === part);
    const ca = find('ca');
    if (material.ca !== undefined && ca !== undefined && !holdsCertificate(material.ca)) {
      throw new CredentialsConfigError({ context: this.#context, field: ca.field, problem: `unable to use specified CA cert ${describe(ca)}` });
    }
    const cert = find('cert');
    if (material.cert !== undefined && material.key !== undefined && cert !== undefined) {
      try {
        createSecureContext({ cert: material.cert, key: material.key });
      } catch (err) {
        throw new CredentialsConfigError({
          context: this.#context,
          field: cert.field,
          problem: `unable to use specified ${cert.what} (${describe(cert)}) & key (${describe(find('key'))}): ${errorText(err)}`,
          cause: err,
        });
      }
    }
  }

  #use(s: TlsSource): { context: string; field: string } {
    return { context: this.#context, field: s.field };
  }

  #attempt<T>(s: TlsSource, op: () => T): T {
    try {
      return op();
    } catch (err) {
      throw this.#unreadable(s, err);
    }
  }

  async #attemptAsync<T>(s: TlsSource, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw this.#unreadable(s, err);
    }
  }

  #unreadable(s: TlsSource, err: unknown): CredentialsConfigError {
    if (err instanceof CredentialsConfigError) return err;
    const problem = `unable to read ${s.what}: unable to read file ${fileOf(s)}: ${fsErrorCode(err)}`;
    return new CredentialsConfigError({ context: this.#context, field: s.field, problem, cause: err });
  }
}

function tlsSources(parts: TlsParts, options: TlsFilesOptions): TlsSource[] {
  const name = (key: keyof TlsParts, fallback: string): string => options.fields?.[key] ?? `tls_config.${fallback}`;
  const source = (key: 'ca' | 'cert' | 'key', inline: string | undefined, file: string | undefined): Pick<TlsSource, 'field' | 'inline' | 'file'> => {
    if (inline !== undefined) return { field: name(key, key), inline };
    return { field: name(`${key}File`, `${key}_file`), ...(file === undefined ? {} : { file }) };
  };
  const role = options.role ?? 'client';
  const sources: TlsSource[] = [
    { part: 'ca', what: 'CA cert', ...source('ca', parts.ca, parts.caFile) },
    { part: 'cert', what: `${role} cert`, ...source('cert', parts.cert, parts.certFile) },
    { part: 'key', what: `${role} key`, ...source('key', parts.key, parts.keyFile) },
  ];
  return sources.filter((s) => s.inline !== undefined || s.file !== undefined);
}

/** Go's `SecretReader.Description`: where a value comes from, never the value. */
function describe(s: TlsSource | undefined): string {
  return s?.file === undefined ? 'inline' : `file ${s.file}`;
}

function fileOf(s: TlsSource): string {
  return s.file ?? '';
}

/**
 * What changes when a file is written or replaced: a Kubernetes secret update swaps a symbolic link, so the real path
 * and the inode change even when size and times happen to match.
 */
function stampOf(path: string, s: Stats): string {
  return `${path}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

/** Go's `CertPool.AppendCertsFromPEM` succeeds when at least one PEM block is a certificate. */
function holdsCertificate(pem: string): boolean {
  for (const [block] of pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)) {
    try {
      new X509Certificate(block);
      return true;
    } catch {
      // Not a certificate: Go skips the block too.
    }
  }
  return false;
}
