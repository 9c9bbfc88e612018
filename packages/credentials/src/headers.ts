/**
 * The request headers of a prometheus/common HTTP client config: `http_headers`, then the authorization of
 * `authorization` or `basic_auth`, as `config/http_config.go`'s round-trippers add them. Files are read at each call.
 */
import type { HttpClientConfig } from '@promfleet/model';
import { SecretFileRefusedError } from './errors.js';
import { SecretFilePolicy } from './policy.js';
import { readSecretFile } from './secret-file.js';

/** Names the owner of the settings in errors, and says which files may be read (unrestricted by default). */
export interface HeaderOptions {
  readonly context: string;
  readonly policy?: SecretFilePolicy;
}

/**
 * The request headers of `http_headers` and of the authentication settings, with lower-case names, files read now.
 * `http_headers` go first (Go's `headersRoundTripper` is outside the auth round-trippers); a header's values join
 * with ", " as HTTP allows. Never log the result.
 *
 * @throws {CredentialsConfigError} when a file cannot be read; a {@link SecretFileRefusedError} when the policy refuses it.
 */
export async function requestHeaders(config: HttpClientConfig, options: HeaderOptions): Promise<Record<string, string>> {
  const headers: Record<string, string> = {};
  for (const [name, header] of config.httpHeaders) {
    const fromFiles = await Promise.all(
      header.files.map((file) => readSecretFile({ ...options, file, field: `http_headers.${name}.files`, what: 'headers file' })),
    );
    const values = [...header.values, ...header.secrets.map((s) => s.reveal()), ...fromFiles];
    if (values.length === 0) continue;
    const key = name.toLowerCase();
    const existing = headers[key];
    headers[key] = existing === undefined ? values.join(', ') : [existing, ...values].join(', ');
  }
  const authorization = await authorizationHeader(config, options);
  if (authorization !== undefined) headers['authorization'] = authorization;
  return headers;
}

/**
 * The `Authorization` value: `authorizationCredentialsRoundTripper` (`<type> <credentials>`, sent even when the
 * credentials are empty) or `basicAuthRoundTripper`; undefined when neither is set. File contents are trimmed
 * (`FileSecret.Fetch`), inline values are not.
 *
 * @throws {CredentialsConfigError} when a file cannot be read; a `SecretFileRefusedError` when the policy refuses it.
 */
export async function authorizationHeader(config: HttpClientConfig, options: HeaderOptions): Promise<string | undefined> {
  const auth = config.authorization;
  if (auth !== undefined) {
    const credentials =
      auth.credentials?.reveal() ??
      (auth.credentialsFile === undefined
        ? ''
        : await readSecretFile({ ...options, file: auth.credentialsFile, field: 'authorization.credentials_file', what: 'authorization credentials' }));
    return `${auth.type} ${credentials}`;
  }
  const basic = config.basicAuth;
  if (basic !== undefined) {
    const username =
      basic.usernameFile === undefined
        ? basic.username
        : await readSecretFile({ ...options, file: basic.usernameFile, field: 'basic_auth.username_file', what: 'basic auth username' });
    const password =
      basic.password?.reveal() ??
      (basic.passwordFile === undefined
        ? ''
        : await readSecretFile({ ...options, file: basic.passwordFile, field: 'basic_auth.password_file', what: 'basic auth password' }));
    return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }
  return undefined;
}

/**
 * Checks every file `config` names against `options.policy`, without reading any: a worker calls it before it uses a
 * client, so that a client naming a refused file is rejected at once rather than failing at each request. A file the
 * policy allows but that cannot be resolved (missing for now) passes: reading it reports that, later.
 *
 * @throws {SecretFileRefusedError} for the first file the policy refuses.
 */
export function checkSecretFiles(config: HttpClientConfig, options: HeaderOptions): void {
  const policy = options.policy ?? SecretFilePolicy.unrestricted;
  for (const { field, file } of namedFiles(config)) {
    try {
      policy.resolveSync(file, { context: options.context, field });
    } catch (err) {
      if (err instanceof SecretFileRefusedError) throw err;
    }
  }
}

/** Every file `config` names, with its setting. */
function namedFiles(config: HttpClientConfig): { readonly field: string; readonly file: string }[] {
  const files: { field: string; file: string }[] = [];
  const add = (field: string, file: string | undefined): void => {
    if (file !== undefined) files.push({ field, file });
  };
  const { tlsConfig, authorization, basicAuth } = config;
  add('tls_config.ca_file', tlsConfig.caFile);
  add('tls_config.cert_file', tlsConfig.certFile);
  add('tls_config.key_file', tlsConfig.keyFile);
  add('authorization.credentials_file', authorization?.credentialsFile);
  add('basic_auth.username_file', basicAuth?.usernameFile);
  add('basic_auth.password_file', basicAuth?.passwordFile);
  for (const [name, header] of config.httpHeaders) for (const file of header.files) add(`http_headers.${name}.files`, file);
  return files;
}
