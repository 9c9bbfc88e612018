/**
 * The errors of TLS material and credentials: one class for a setting that cannot be used, and one for a file the
 * `SecretFilePolicy` does not let the process read. Messages name the setting and the file, never the content.
 */
/** Stable codes of the credentials errors. */
export const CredentialsErrorCode = {
  config: 'PROMFLEET_CREDENTIALS_CONFIG',
  refused: 'PROMFLEET_SECRET_FILE_REFUSED',
} as const;

/** One of {@link CredentialsErrorCode}'s values. */
export type CredentialsErrorCodeValue = (typeof CredentialsErrorCode)[keyof typeof CredentialsErrorCode];

/**
 * A credential or TLS setting that cannot be used: an unreadable file, a CA file that holds no certificate, a
 * certificate that does not match its key. The message reads `<context>: <field>: <problem>`, for example
 * `scrape job "node": tls_config.ca_file: unable to read CA cert: unable to read file /x/ca.crt: ENOENT`.
 */
export class CredentialsConfigError extends Error {
  override readonly name: string = 'CredentialsConfigError';
  readonly code: CredentialsErrorCodeValue = CredentialsErrorCode.config;
  /** The setting at fault as its owner names it: a config key (`basic_auth.password_file`) or a flag (`--fleet.tls.cert-file`). */
  readonly field: string;

  /** Creates the error for `field` of what `context` names, with `problem` saying what is wrong. */
  constructor(options: { readonly context: string; readonly field: string; readonly problem: string; readonly cause?: unknown }) {
    super(`${options.context}: ${options.field}: ${options.problem}`, { cause: options.cause });
    this.field = options.field;
  }
}

/**
 * A file a setting names lies outside every directory the `SecretFilePolicy` allows, so it was neither read nor
 * opened. The message names the field, the file and the flag that would allow it.
 */
export class SecretFileRefusedError extends CredentialsConfigError {
  override readonly name: string = 'SecretFileRefusedError';
  override readonly code: CredentialsErrorCodeValue = CredentialsErrorCode.refused;
  /** The file as the setting names it. */
  readonly file: string;
  /** The flag whose directories would have to include the file, for example `--worker.secret-dirs`. */
  readonly flag: string;

  /** `resolved` is the file's real path when it differs from `file` (a symbolic link led outside). */
  constructor(options: {
    readonly context: string;
    readonly field: string;
    readonly file: string;
    readonly resolved?: string;
    readonly allowedDirs: readonly string[];
    readonly flag: string;
  }) {
    const where = options.resolved === undefined ? `file ${options.file}` : `file ${options.file} (resolved to ${options.resolved})`;
    const dirs = options.allowedDirs.length === 0 ? 'none' : options.allowedDirs.join(', ');
    super({
      context: options.context,
      field: options.field,
      problem: `refused to read ${where}: it is outside the directories secrets may be read from (${dirs}); add its directory to ${options.flag} to allow it`,
    });
    this.file = options.file;
    this.flag = options.flag;
  }
}

/** The `code` of a Node file system error (`ENOENT`), or the error's message. */
export function fsErrorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : errorText(err);
}

/** An error's message, checked by shape: errors made inside Node may come from another realm (as under jest). */
export function errorText(err: unknown): string {
  return typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string' ? err.message : String(err);
}
