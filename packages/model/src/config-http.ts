/**
 * The HTTP client settings of a scrape job, a Kubernetes SD config or a remote write endpoint: prometheus/common
 * `config/http_config.go` (`HTTPClientConfig`, `TLSConfig` and their `Validate` and `SetDirectory`), with
 * authentication, proxies, TLS and extra headers.
 */
import type { z } from 'zod';
import type { Secret } from './secret.js';
import {
  anyMapping,
  bool,
  goList,
  goMap,
  goObject,
  isOneOf,
  isUrl,
  joinDir,
  nonEmpty,
  optional,
  secret,
  text,
  type Report,
} from './config-decode.js';
import { redactedUrl } from './messages.js';
import type { Path, PathSegment } from './config-yaml.js';

/** A TLS protocol version as `tls_config` names it. */
export type TlsVersion = 'TLS10' | 'TLS11' | 'TLS12' | 'TLS13';

/** `tls_config`. For CA, certificate and key at most one of the inline value and the file is set. */
export interface TlsConfig {
  readonly ca?: string;
  readonly caFile?: string;
  readonly cert?: string;
  readonly certFile?: string;
  readonly key?: Secret;
  readonly keyFile?: string;
  readonly serverName?: string;
  readonly insecureSkipVerify: boolean;
  readonly minVersion?: TlsVersion;
  readonly maxVersion?: TlsVersion;
}

/** `basic_auth`. */
export interface BasicAuth {
  readonly username: string;
  readonly usernameFile?: string;
  readonly password?: Secret;
  readonly passwordFile?: string;
}

/** `authorization`: the request carries `Authorization: <type> <credentials>`. */
export interface Authorization {
  readonly type: string;
  readonly credentials?: Secret;
  readonly credentialsFile?: string;
}

/** One `http_headers` entry: the header is sent with every value, in the order values, secrets, files. */
export interface HttpHeader {
  readonly values: readonly string[];
  readonly secrets: readonly Secret[];
  /** Files whose trimmed content is a value, joined with the config file's directory. */
  readonly files: readonly string[];
}

/**
 * `oauth2`: kept so that checks can see what it holds (its inline secrets above all); promfleet does not fetch OAuth 2
 * tokens, and the fleet protocol does not carry it to workers (the loader says so in a notice).
 */
export interface OAuth2Config {
  readonly clientId: string;
  readonly clientSecret?: Secret;
  readonly clientSecretFile?: string;
  readonly clientCertificateKey?: Secret;
  readonly clientCertificateKeyFile?: string;
  /** May carry user info: treat it as sensitive. */
  readonly tokenUrl: string;
  readonly tlsConfig: TlsConfig;
  /** May carry user info: treat it as sensitive. */
  readonly proxyUrl?: string;
  readonly proxyConnectHeader: ReadonlyMap<string, readonly Secret[]>;
}

/**
 * prometheus/common's HTTP client configuration. A legacy `bearer_token`/`bearer_token_file` arrives as
 * `authorization` with type `Bearer`, as `HTTPClientConfig.Validate` normalises it.
 */
export interface HttpClientConfig {
  readonly basicAuth?: BasicAuth;
  readonly authorization?: Authorization;
  readonly oauth2?: OAuth2Config;
  readonly tlsConfig: TlsConfig;
  /** May carry user info: treat it as sensitive. */
  readonly proxyUrl?: string;
  readonly noProxy?: string;
  readonly proxyFromEnvironment: boolean;
  readonly proxyConnectHeader: ReadonlyMap<string, readonly Secret[]>;
  readonly followRedirects: boolean;
  readonly enableHttp2: boolean;
  readonly httpHeaders: ReadonlyMap<string, HttpHeader>;
}

const tlsVersions: readonly TlsVersion[] = ['TLS10', 'TLS11', 'TLS12', 'TLS13'];
const NO_SECRET_MANAGER = 'secret references need a secret manager, which Prometheus does not have';

const tlsShape = {
  ca: text,
  ca_file: text,
  ca_ref: text,
  cert: text,
  cert_file: text,
  cert_ref: text,
  key: secret,
  key_file: text,
  key_ref: text,
  server_name: text,
  insecure_skip_verify: bool,
  min_version: text,
  max_version: text,
};
const tlsSchema = goObject(tlsShape);
type RawTls = z.output<typeof tlsSchema>;

const proxyConnectHeader = goMap(goList(secret), () => []);

/** The keys of `HTTPClientConfig`, which Prometheus inlines into every section that makes HTTP requests. */
export const httpClientShape = {
  basic_auth: goObject({
    username: text,
    username_file: text,
    username_ref: text,
    password: secret,
    password_file: text,
    password_ref: text,
  }),
  authorization: goObject({ type: text, credentials: secret, credentials_file: text, credentials_ref: text }),
  oauth2: goObject({
    client_id: text,
    client_secret: secret,
    client_secret_file: text,
    client_secret_ref: text,
    scopes: goList(text),
    token_url: text,
    endpoint_params: goMap(text),
    tls_config: tlsSchema,
    proxy_url: text,
    no_proxy: text,
    proxy_from_environment: bool,
    proxy_connect_header: proxyConnectHeader,
    grant_type: text,
    client_certificate_key: secret,
    client_certificate_key_file: text,
    client_certificate_key_id: text,
    signature_algorithm: text,
    iss: text,
    audience: text,
    claims: anyMapping,
  }),
  bearer_token: secret,
  bearer_token_file: text,
  tls_config: tlsSchema,
  follow_redirects: bool,
  enable_http2: bool,
  proxy_url: text,
  no_proxy: text,
  proxy_from_environment: bool,
  proxy_connect_header: proxyConnectHeader,
  http_headers: goMap(goObject({ values: goList(text), secrets: goList(secret), files: goList(text) }), () => ({})),
};
/** The HTTP client keys of a decoded section, before {@link buildHttpClient} checks and normalises them. */
export type RawHttpClient = { [K in keyof typeof httpClientShape]?: z.output<(typeof httpClientShape)[K]> | undefined };

/** Headers that change the connection or that Prometheus sets itself (common `headers.go` reservedHeaders). */
export const reservedHttpHeaders: ReadonlySet<string> = new Set([
  'authorization',
  'host',
  'content-encoding',
  'content-length',
  'content-type',
  'user-agent',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'www-authenticate',
  'accept-encoding',
  'x-prometheus-remote-write-version',
  'x-prometheus-remote-read-version',
  'x-prometheus-scrape-timeout-seconds',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
]);

interface HttpClientInput {
  readonly raw: RawHttpClient;
  readonly report: Report;
  readonly dir: string;
  /** `DefaultHTTPClientConfig` (true) or `DefaultRemoteWriteHTTPClientConfig` (false). */
  readonly defaultHttp2: boolean;
}

/**
 * `HTTPClientConfig.Validate` + `SetDirectory`: at most one way to authenticate, value-or-file pairs exclusive,
 * legacy bearer tokens moved into `authorization`, proxy settings consistent, no reserved `http_headers`.
 */
export function buildHttpClient({ raw, report, dir, defaultHttp2 }: HttpClientInput): HttpClientConfig {
  const join = (file: string | undefined): string | undefined => (file === undefined ? undefined : joinDir(dir, file));
  const basic = raw.basic_auth;
  const auth = raw.authorization;
  const bearer = raw.bearer_token;
  const bearerFile = nonEmpty(raw.bearer_token_file);
  const hasBearer = bearer !== undefined || bearerFile !== undefined;
  const hasOauth2 = raw.oauth2 !== undefined;

  // The authentication checks, in Validate's order; Go stops at the first, so do we within this group.
  const authProblem = ((): [PathSegment, string] | undefined => {
    if (bearer !== undefined && bearerFile !== undefined) {
      return ['bearer_token_file', 'at most one of bearer_token & bearer_token_file must be configured'];
    }
    if ((basic !== undefined || hasOauth2) && hasBearer) {
      return [
        bearer !== undefined ? 'bearer_token' : 'bearer_token_file',
        'at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured',
      ];
    }
    if (basic !== undefined && countSet(basic.username, basic.username_file, basic.username_ref) > 1) {
      return ['basic_auth', 'at most one of basic_auth username, username_file & username_ref must be configured'];
    }
    if (basic !== undefined && countSet(basic.password, basic.password_file, basic.password_ref) > 1) {
      return ['basic_auth', 'at most one of basic_auth password, password_file & password_ref must be configured'];
    }
    if (auth !== undefined) {
      if (hasBearer) return ['authorization', 'authorization is not compatible with bearer_token & bearer_token_file'];
      if (countSet(auth.credentials, auth.credentials_file, auth.credentials_ref) > 1) {
        return ['authorization', 'at most one of authorization credentials & credentials_file must be configured'];
      }
      if ((auth.type ?? '').trim().toLowerCase() === 'basic') {
        return ['authorization', 'authorization type cannot be set to "basic", use "basic_auth" instead'];
      }
      if (basic !== undefined || hasOauth2) {
        return ['authorization', 'at most one of basic_auth, oauth2 & authorization must be configured'];
      }
    }
    if (hasOauth2 && basic !== undefined) {
      return ['oauth2', 'at most one of basic_auth, oauth2 & authorization must be configured'];
    }
    return undefined;
  })();
  if (authProblem !== undefined) report([authProblem[0]], authProblem[1]);

  if (raw.oauth2 !== undefined) {
    const o = raw.oauth2;
    if (nonEmpty(o.client_id) === undefined) report(['oauth2'], 'oauth2 client_id must be configured');
    if (nonEmpty(o.token_url) === undefined) report(['oauth2'], 'oauth2 token_url must be configured');
    if (countSet(o.client_secret, o.client_secret_file, o.client_secret_ref) > 1) {
      report(
        ['oauth2'],
        'at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured',
      );
    }
  }
  // *_ref fields name secrets in a secret manager; Prometheus loads them but has no manager to resolve them.
  const refs: [PathSegment[], string | undefined][] = [
    [['basic_auth', 'username_ref'], basic?.username_ref],
    [['basic_auth', 'password_ref'], basic?.password_ref],
    [['authorization', 'credentials_ref'], auth?.credentials_ref],
  ];
  for (const [path, value] of refs) {
    if (nonEmpty(value) !== undefined) report(path, NO_SECRET_MANAGER);
  }

  const tlsConfig = buildTls({ raw: raw.tls_config ?? {}, report, join });
  const oauth2 = ((): OAuth2Config | undefined => {
    const o = raw.oauth2;
    if (o === undefined) return undefined;
    const oauthReport: Report = (path, message) => report(['oauth2', ...path], message);
    return {
      clientId: o.client_id ?? '',
      ...optional('clientSecret', o.client_secret),
      ...optional('clientSecretFile', join(nonEmpty(o.client_secret_file))),
      ...optional('clientCertificateKey', o.client_certificate_key),
      ...optional('clientCertificateKeyFile', join(nonEmpty(o.client_certificate_key_file))),
      tokenUrl: o.token_url ?? '',
      tlsConfig: buildTls({ raw: o.tls_config ?? {}, report: oauthReport, join }),
      ...optional('proxyUrl', nonEmpty(o.proxy_url)),
      proxyConnectHeader: new Map([...(o.proxy_connect_header ?? new Map<string, (Secret | undefined)[]>())].map(([k, v]) => [k, definedOnly(v)])),
    };
  })();
  const proxyUrl = nonEmpty(raw.proxy_url);
  if (proxyUrl !== undefined && !isUrl(proxyUrl)) report(['proxy_url'], `invalid proxy_url ${JSON.stringify(redactedUrl(proxyUrl))}`);
  const noProxy = nonEmpty(raw.no_proxy);
  const proxyFromEnvironment = raw.proxy_from_environment ?? false;
  const proxyConnectHeader = raw.proxy_connect_header ?? new Map<string, (Secret | undefined)[]>();
  if (proxyConnectHeader.size > 0 && !proxyFromEnvironment && proxyUrl === undefined) {
    report(
      ['proxy_connect_header'],
      'if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured',
    );
  }
  if (proxyFromEnvironment && proxyUrl !== undefined) {
    report(['proxy_url'], 'if proxy_from_environment is configured, proxy_url must not be configured');
  }
  if (proxyFromEnvironment && noProxy !== undefined) {
    report(['no_proxy'], 'if proxy_from_environment is configured, no_proxy must not be configured');
  }
  if (proxyUrl === undefined && noProxy !== undefined) {
    report(['no_proxy'], 'if no_proxy is configured, proxy_url must also be configured');
  }

  const httpHeaders = new Map<string, HttpHeader>();
  for (const [name, header] of raw.http_headers ?? []) {
    const canonical = canonicalHeaderKey(name);
    if (reservedHttpHeaders.has(canonical.toLowerCase())) {
      report(['http_headers', name], `setting header ${JSON.stringify(canonical)} is not allowed`);
    }
    httpHeaders.set(name, {
      values: header.values ?? [],
      secrets: definedOnly(header.secrets ?? []),
      files: (header.files ?? []).map((f) => joinDir(dir, f)),
    });
  }

  const authorization = ((): Authorization | undefined => {
    if (auth !== undefined) {
      const type = (auth.type ?? '').trim();
      return {
        type: type === '' ? 'Bearer' : type,
        ...optional('credentials', auth.credentials),
        ...optional('credentialsFile', join(nonEmpty(auth.credentials_file))),
      };
    }
    // Validate moves the legacy fields into Authorization (bearer_token_file wins when both are set).
    if (bearerFile !== undefined) return { type: 'Bearer', credentialsFile: joinDir(dir, bearerFile) };
    if (bearer !== undefined) return { type: 'Bearer', credentials: bearer };
    return undefined;
  })();

  return {
    ...optional(
      'basicAuth',
      basic === undefined
        ? undefined
        : {
            username: basic.username ?? '',
            ...optional('usernameFile', join(nonEmpty(basic.username_file))),
            ...optional('password', basic.password),
            ...optional('passwordFile', join(nonEmpty(basic.password_file))),
          },
    ),
    ...optional('authorization', authorization),
    ...optional('oauth2', oauth2),
    tlsConfig,
    ...optional('proxyUrl', proxyUrl),
    ...optional('noProxy', noProxy),
    proxyFromEnvironment,
    proxyConnectHeader: new Map([...proxyConnectHeader].map(([k, v]) => [k, definedOnly(v)])),
    followRedirects: raw.follow_redirects ?? true,
    enableHttp2: raw.enable_http2 ?? defaultHttp2,
    httpHeaders,
  };
}

interface TlsInput {
  readonly raw: RawTls;
  readonly report: Report;
  readonly join: (file: string | undefined) => string | undefined;
}

/** `TLSConfig.Validate`, plus the version checks `NewTLSConfig` would only make when the client is built. */
function buildTls({ raw, report, join }: TlsInput): TlsConfig {
  const at = (key: string): Path => ['tls_config', key];
  if (countSet(raw.ca, raw.ca_file, raw.ca_ref) > 1) {
    report(at('ca_file'), 'at most one of ca, ca_file & ca_ref must be configured');
  }
  if (countSet(raw.cert, raw.cert_file, raw.cert_ref) > 1) {
    report(at('cert_file'), 'at most one of cert, cert_file & cert_ref must be configured');
  }
  if (countSet(raw.key, raw.key_file, raw.key_ref) > 1) {
    report(at('key_file'), 'at most one of key and key_file must be configured');
  }
  const usingCert = countSet(raw.cert, raw.cert_file, raw.cert_ref) > 0;
  const usingKey = countSet(raw.key, raw.key_file, raw.key_ref) > 0;
  if (usingCert && !usingKey) {
    report(['tls_config'], 'exactly one of key or key_file must be configured when a client certificate is configured');
  } else if (usingKey && !usingCert) {
    report(['tls_config'], 'exactly one of cert or cert_file must be configured when a client key is configured');
  }
  for (const key of ['ca_ref', 'cert_ref', 'key_ref'] as const) {
    if (nonEmpty(raw[key]) !== undefined) report(at(key), NO_SECRET_MANAGER);
  }
  const version = (key: 'min_version' | 'max_version'): TlsVersion | undefined => {
    const v = nonEmpty(raw[key]);
    if (v === undefined) return undefined;
    if (isOneOf(v, tlsVersions)) return v;
    report(at(key), `unknown TLS version: ${v} (use one of ${tlsVersions.join(', ')})`);
    return undefined;
  };
  const minVersion = version('min_version');
  const maxVersion = version('max_version');
  if (minVersion !== undefined && maxVersion !== undefined && maxVersion < minVersion) {
    report(
      at('max_version'),
      'tls_config.max_version must be greater than or equal to tls_config.min_version if both are specified',
    );
  }
  return {
    ...optional('ca', nonEmpty(raw.ca)),
    ...optional('caFile', join(nonEmpty(raw.ca_file))),
    ...optional('cert', nonEmpty(raw.cert)),
    ...optional('certFile', join(nonEmpty(raw.cert_file))),
    ...optional('key', raw.key),
    ...optional('keyFile', join(nonEmpty(raw.key_file))),
    ...optional('serverName', nonEmpty(raw.server_name)),
    insecureSkipVerify: raw.insecure_skip_verify ?? false,
    ...optional('minVersion', minVersion),
    ...optional('maxVersion', maxVersion),
  };
}

/**
 * Whether the HTTP client differs from `DefaultHTTPClientConfig`, as kubernetes.go's `reflect.DeepEqual`: any
 * setting, and any `http_headers` or `proxy_connect_header` mapping even when empty (a non-nil map).
 */
export function isCustomHttpClient(raw: RawHttpClient, built: HttpClientConfig): boolean {
  const tls = built.tlsConfig;
  const tlsValues = [tls.ca, tls.caFile, tls.cert, tls.certFile, tls.key, tls.keyFile, tls.serverName];
  const tlsSet =
    tls.insecureSkipVerify || [...tlsValues, tls.minVersion, tls.maxVersion].some((v) => v !== undefined);
  return (
    built.basicAuth !== undefined ||
    built.authorization !== undefined ||
    raw.oauth2 !== undefined ||
    tlsSet ||
    built.proxyUrl !== undefined ||
    built.noProxy !== undefined ||
    built.proxyFromEnvironment ||
    raw.proxy_connect_header !== undefined ||
    raw.http_headers !== undefined ||
    !built.followRedirects ||
    !built.enableHttp2
  );
}

function countSet(...values: readonly (string | Secret | undefined)[]): number {
  return values.filter((v) => v !== undefined && v !== '').length;
}

function definedOnly<T>(values: readonly (T | undefined)[]): T[] {
  return values.filter((v): v is T => v !== undefined);
}

/** Go's `textproto.CanonicalMIMEHeaderKey` for ASCII names: `x-scope-orgid` → `X-Scope-Orgid`. */
function canonicalHeaderKey(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}
