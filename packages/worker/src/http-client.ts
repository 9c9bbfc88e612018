/**
 * The HTTP client of a scrape job or a remote write endpoint, built from its prometheus/common `HTTPClientConfig` as
 * `config/http_config.go` `NewRoundTripperFromConfig` builds Go's: TLS (CA, client certificate, server name, versions,
 * verification), proxies (`proxy_url`, `no_proxy`, `proxy_from_environment`, `proxy_connect_header`), redirects,
 * HTTP/2, authentication (`basic_auth`, `authorization` and the legacy bearer token) and `http_headers`.
 *
 * The transport is an undici dispatcher; authentication and extra headers are request headers that the caller adds,
 * because undici has no round-tripper chain. Credentials never appear in errors: they name the file, never its content.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { Agent, Dispatcher, ProxyAgent, interceptors } from 'undici';
import type { HttpClientConfig } from '@promfleet/model';

/** The HTTP client of one scrape job or remote write endpoint; see {@link configureHttpClient}. */
export interface ConfiguredHttpClient {
  /**
   * An undici Dispatcher (Agent, or ProxyAgent for proxy_url) with the TLS settings applied. It is a stable wrapper:
   * when the TLS files change, {@link headers} moves it onto a freshly built Agent.
   */
  readonly dispatcher: Dispatcher;
  /**
   * Authorization (basic_auth, authorization/bearer, credentials files read at each call) and http_headers, as
   * request headers with lower-case names. Never logged.
   *
   * Call it once per request, just before dispatching it: it also re-checks the TLS files, so a request never starts
   * on material older than the files. Rejects with {@link HttpClientConfigError} when a file cannot be read or a
   * changed TLS file is not usable, as Prometheus fails the request.
   */
  headers(): Promise<Record<string, string>>;
  /** Closes the dispatcher once the requests in flight have finished. */
  close(): Promise<void>;
}

/** Stable codes of the HTTP client errors. */
export const HttpClientErrorCode = {
  config: 'PROMFLEET_HTTP_CLIENT_CONFIG',
} as const;

/**
 * A setting of the HTTP client that cannot be used: an unreadable credentials or TLS file, a file that holds no
 * certificate, a client certificate that does not match its key, or an unusable proxy address from the environment.
 * The message names the setting and the file, never the file's content.
 */
export class HttpClientConfigError extends Error {
  override readonly name = 'HttpClientConfigError';
  readonly code = HttpClientErrorCode.config;
  /** The configuration key at fault, for example `tls_config.ca_file` or `basic_auth.password_file`. */
  readonly field: string;

  /** Creates the error for `field` of the client that `context` names, with `problem` saying what is wrong. */
  constructor(options: { readonly context: string; readonly field: string; readonly problem: string; readonly cause?: unknown }) {
    super(`${options.context}: ${options.field}: ${options.problem}`, { cause: options.cause });
    this.field = options.field;
  }
}

/**
 * Builds the client for `config`; `options.context` names its owner in errors, for example `scrape job "node"`.
 *
 * TLS files are read here, synchronously, and checked as Go's `NewTLSConfig` does: a CA file must hold a certificate
 * and a client certificate must match its key. After that, each {@link ConfiguredHttpClient.headers} call stats the TLS
 * files; when one changed it is read again and, if its content differs, new connections go through a dispatcher built
 * from it while the old one finishes its requests and closes (`tlsRoundTripper` in `http_config.go` re-reads per
 * request and closes idle connections on change; a stat per request is the cheaper equivalent).
 *
 * Where undici differs from Go's client: a redirect to another origin drops the `Authorization` header (Go's
 * round-trippers add it again on every hop); after 10 redirects the last 3xx response is returned rather than an
 * error; `proxy_connect_header` is also sent on plain-HTTP requests forwarded by the proxy, not only on CONNECT.
 *
 * @throws {HttpClientConfigError} when a TLS file cannot be read or used, or the proxy environment is unusable.
 */
export function configureHttpClient(config: HttpClientConfig, options: { context: string }): ConfiguredHttpClient {
  const { context } = options;
  const tls = new TlsFiles(config.tlsConfig, context);
  const proxies = proxySettings(config, context);
  const build = (material: TlsMaterial): Built => buildDispatcher({ config, material, proxies });
  const dispatcher = new ReloadingDispatcher(build(tls.material));
  let closed = false;

  return {
    dispatcher,
    headers: async () => {
      if (await tls.refresh()) {
        if (!closed) dispatcher.replace(build(tls.material));
      }
      return requestHeaders(config, context);
    },
    close: async () => {
      closed = true;
      await dispatcher.close();
    },
  };
}

/** How long an idle connection is kept: prometheus/common's `idleConnTimeout`, above any sane scrape interval. */
const IDLE_CONNECTION_MS = 5 * 60_000;

/** Go's default `CheckRedirect` follows at most 10 redirects. */
const MAX_REDIRECTS = 10;

/** The TLS versions of `tls_config` as Node names them. */
const nodeTlsVersions = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;

type TlsConfig = HttpClientConfig['tlsConfig'];

/** The CA, client certificate and key in effect, inline or read from their files. */
interface TlsMaterial {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

type TlsPart = keyof TlsMaterial;

/** Where each part of the TLS material comes from, and how Prometheus names it in errors. */
interface TlsSource {
  readonly part: TlsPart;
  readonly what: string;
  readonly field: string;
  readonly inline?: string;
  readonly file?: string;
}

function tlsSources(tls: TlsConfig): TlsSource[] {
  const sources: TlsSource[] = [
    { part: 'ca', what: 'CA cert', ...source('ca', tls.ca, tls.caFile) },
    { part: 'cert', what: 'client cert', ...source('cert', tls.cert, tls.certFile) },
    { part: 'key', what: 'client key', ...source('key', tls.key?.reveal(), tls.keyFile) },
  ];
  return sources.filter((s) => s.inline !== undefined || s.file !== undefined);
}

function source(key: string, inline: string | undefined, file: string | undefined): Pick<TlsSource, 'field' | 'inline' | 'file'> {
  if (inline !== undefined) return { field: `tls_config.${key}`, inline };
  return { field: `tls_config.${key}_file`, ...(file === undefined ? {} : { file }) };
}

/** Go's `SecretReader.Description`: where a value comes from, never the value. */
function describe(s: TlsSource | undefined): string {
  return s?.file === undefined ? 'inline' : `file ${s.file}`;
}

/** The TLS material of one client, with the file stamps it was read at. */
class TlsFiles {
  readonly #sources: readonly TlsSource[];
  readonly #files: readonly TlsSource[];
  readonly #context: string;
  #material: TlsMaterial;
  #stamps: readonly string[];
  #refreshing: Promise<boolean> | undefined;

  constructor(tls: TlsConfig, context: string) {
    this.#sources = tlsSources(tls);
    this.#files = this.#sources.filter((s) => s.file !== undefined);
    this.#context = context;
    this.#stamps = this.#files.map((s) => stampOf(this.#attempt(s, () => statSync(fileOf(s)))));
    const material = this.#assemble((s) => this.#attempt(s, () => readFileSync(fileOf(s), 'utf8')));
    this.#check(material);
    this.#material = material;
  }

  get material(): TlsMaterial {
    return this.#material;
  }

  /**
   * Stats the files and, when one changed, reads and checks them again. Resolves true when the material changed.
   * Concurrent calls share one check. On failure the old material stays and the next call tries again.
   */
  refresh(): Promise<boolean> {
    if (this.#files.length === 0) return Promise.resolve(false);
    this.#refreshing ??= this.#reload().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #reload(): Promise<boolean> {
    const stamps = await Promise.all(this.#files.map(async (s) => stampOf(await this.#attemptAsync(s, () => stat(fileOf(s))))));
    if (stamps.every((stamp, i) => stamp === this.#stamps[i])) return false;
    const texts = new Map<TlsSource, string>();
    await Promise.all(this.#files.map(async (s) => texts.set(s, await this.#attemptAsync(s, () => readFile(fileOf(s), 'utf8')))));
    const material = this.#assemble((s) => texts.get(s) ?? '');
    this.#check(material);
    const changed = material.ca !== this.#material.ca || material.cert !== this.#material.cert || material.key !== this.#material.key;
    this.#material = material;
    this.#stamps = stamps;
    return changed;
  }

  #assemble(read: (s: TlsSource) => string): TlsMaterial {
    const material: { -readonly [K in TlsPart]?: string } = {};
    for (const s of this.#sources) material[s.part] = s.inline ?? read(s);
    return material;
  }

  /** `NewTLSConfig`'s checks: the CA must hold a certificate, the client certificate must match its key. */
  #check(material: TlsMaterial): void {
    const find = (part: TlsPart): TlsSource | undefined => this.#sources.find((s) => s.part === part);
    const ca = find('ca');
    if (material.ca !== undefined && ca !== undefined && !holdsCertificate(material.ca)) {
      throw new HttpClientConfigError({ context: this.#context, field: ca.field, problem: `unable to use specified CA cert ${describe(ca)}` });
    }
    const cert = find('cert');
    if (material.cert !== undefined && material.key !== undefined && cert !== undefined) {
      try {
        createSecureContext({ cert: material.cert, key: material.key });
      } catch (err) {
        throw new HttpClientConfigError({
          context: this.#context,
          field: cert.field,
          problem: `unable to use specified client cert (${describe(cert)}) & key (${describe(find('key'))}): ${errorText(err)}`,
          cause: err,
        });
      }
    }
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

  #unreadable(s: TlsSource, err: unknown): HttpClientConfigError {
    const problem = `unable to read ${s.what}: unable to read file ${fileOf(s)}: ${fsErrorCode(err)}`;
    return new HttpClientConfigError({ context: this.#context, field: s.field, problem, cause: err });
  }
}

function fileOf(s: TlsSource): string {
  return s.file ?? '';
}

/** What changes when a file is written or replaced (a Kubernetes secret update swaps a symlink: a new inode). */
function stampOf(s: Stats): string {
  return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
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

/** A built dispatcher and the way to retire everything it holds. */
interface Built {
  readonly dispatcher: Dispatcher;
  close(): Promise<unknown>;
  destroy(): Promise<unknown>;
}

/** Which proxy a request goes through, by its origin; `undefined` means a direct connection. */
interface ProxySettings {
  readonly urls: readonly string[];
  readonly select: (origin: URL) => string | undefined;
}

function buildDispatcher(options: { config: HttpClientConfig; material: TlsMaterial; proxies: ProxySettings | undefined }): Built {
  const { config, material, proxies } = options;
  const tls = connectOptions(config.tlsConfig, material);
  const common = { keepAliveTimeout: IDLE_CONNECTION_MS, allowH2: config.enableHttp2 };
  const direct = new Agent({ ...common, connect: { ...tls, allowH2: config.enableHttp2 } });
  const owned: Dispatcher[] = [direct];
  let dispatcher: Dispatcher = direct;
  if (proxies !== undefined) {
    const byUrl = new Map(proxies.urls.map((url) => [url, proxyAgent({ url, config, tls, common })]));
    owned.push(...byUrl.values());
    // Go's Transport asks `Proxy(req)` per request; here the route is chosen per dispatch, so per redirect hop too.
    dispatcher = direct.compose((dispatch) => (opts, handler) => {
      const proxy = opts.origin === undefined ? undefined : byUrl.get(proxies.select(new URL(opts.origin)) ?? '');
      return proxy === undefined ? dispatch(opts, handler) : proxy.dispatch(opts, handler);
    });
  }
  if (config.followRedirects) {
    dispatcher = dispatcher.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS }));
  }
  return {
    dispatcher,
    close: () => Promise.all(owned.map((d) => d.close())),
    destroy: () => Promise.all(owned.map((d) => d.destroy())),
  };
}

type TlsConnectOptions = ReturnType<typeof connectOptions>;

function connectOptions(tls: TlsConfig, material: TlsMaterial) {
  return {
    ...(material.ca === undefined ? {} : { ca: material.ca }),
    ...(material.cert === undefined ? {} : { cert: material.cert }),
    ...(material.key === undefined ? {} : { key: material.key }),
    // server_name is both the SNI and the name the certificate is verified against, as Go's tls.Config.ServerName.
    ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
    ...(tls.minVersion === undefined ? {} : { minVersion: nodeTlsVersions[tls.minVersion] }),
    ...(tls.maxVersion === undefined ? {} : { maxVersion: nodeTlsVersions[tls.maxVersion] }),
    rejectUnauthorized: !tls.insecureSkipVerify,
  };
}

function proxyAgent(options: {
  url: string;
  config: HttpClientConfig;
  tls: TlsConnectOptions;
  common: { keepAliveTimeout: number; allowH2: boolean };
}): ProxyAgent {
  const { url, config, tls, common } = options;
  const parsed = new URL(url);
  // Go's Transport sends `Proxy-Authorization: Basic` from the proxy URL's user info, even with no password.
  const token =
    parsed.username === '' && parsed.password === ''
      ? undefined
      : `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`;
  parsed.username = '';
  parsed.password = '';
  const headers: Record<string, string> = {};
  for (const [name, values] of config.proxyConnectHeader) {
    if (values.length > 0) headers[name.toLowerCase()] = values.map((v) => v.reveal()).join(', ');
  }
  return new ProxyAgent({
    ...common,
    uri: parsed.href,
    ...(token === undefined ? {} : { token }),
    headers,
    // Go sends plain-HTTP requests to the proxy in absolute form and tunnels only HTTPS with CONNECT.
    proxyTunnel: false,
    requestTls: { ...tls, allowH2: common.allowH2 },
    // Go dials an https proxy with the client's own TLS config, its ServerName defaulting to the proxy's host.
    proxyTls: { ...tls, servername: config.tlsConfig.serverName ?? parsed.hostname },
  });
}

/**
 * `ProxyConfig.Proxy`: `proxy_url` alone proxies every request; with `no_proxy`, or from the environment, the rules of
 * golang.org/x/net `httpproxy` apply (see {@link noProxyMatcher}).
 */
function proxySettings(config: HttpClientConfig, context: string): ProxySettings | undefined {
  if (config.proxyFromEnvironment) {
    const env = (upper: string): string | undefined => nonEmpty(process.env[upper]) ?? nonEmpty(process.env[upper.toLowerCase()]);
    const parse = (value: string | undefined): string | undefined => (value === undefined ? undefined : envProxyUrl(value, context));
    // httpproxy ignores HTTP_PROXY under CGI (REQUEST_METHOD set), where a client could have set it.
    const http = nonEmpty(process.env['REQUEST_METHOD']) === undefined ? parse(env('HTTP_PROXY')) : undefined;
    const https = parse(env('HTTPS_PROXY'));
    const bypass = noProxyMatcher(env('NO_PROXY') ?? '');
    const urls = [http, https].filter((u): u is string => u !== undefined);
    if (urls.length === 0) return undefined;
    return {
      urls,
      select: (origin) => {
        const proxy = origin.protocol === 'https:' ? https : http;
        return proxy === undefined || bypass(origin) ? undefined : proxy;
      },
    };
  }
  const proxyUrl = config.proxyUrl;
  if (proxyUrl === undefined) return undefined;
  if (config.noProxy === undefined) return { urls: [proxyUrl], select: () => proxyUrl };
  const bypass = noProxyMatcher(config.noProxy);
  return { urls: [proxyUrl], select: (origin) => (bypass(origin) ? undefined : proxyUrl) };
}

/** httpproxy's `parseProxy`: a value without a scheme is an http proxy. */
function envProxyUrl(value: string, context: string): string {
  const candidate = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  try {
    return new URL(candidate).href;
  } catch (err) {
    throw new HttpClientConfigError({ context, field: 'proxy_from_environment', problem: 'invalid proxy address in the environment', cause: err });
  }
}

/**
 * Whether a request to `target` skips the proxy under the `no_proxy` value `spec`, by golang.org/x/net `httpproxy`'s
 * rules (`useProxy`): localhost and loopback addresses always skip it; `*` matches everything; an IP or CIDR matches
 * IP hosts; `foo.com` matches foo.com and its subdomains, `.foo.com` and `*.foo.com` only its subdomains; an entry
 * with a port matches only that port (the scheme's default when the URL has none). Entries are comma-separated.
 */
export function noProxyMatcher(spec: string): (target: URL) => boolean {
  const rules = noProxyRules(spec);
  return (target) => bypassesProxy(target, rules);
}

/** One `no_proxy` entry. */
type NoProxyRule =
  | { readonly kind: 'all' }
  | { readonly kind: 'ip'; readonly addresses: BlockList; readonly port: string }
  | { readonly kind: 'domain'; readonly suffix: string; readonly matchHost: boolean; readonly port: string };

/** httpproxy's `config.init`: comma-separated IPs, CIDRs and domains, each with an optional port, or `*`. */
function noProxyRules(spec: string): NoProxyRule[] {
  const rules: NoProxyRule[] = [];
  for (const raw of spec.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return [{ kind: 'all' }];
    const cidr = /^(.+)\/(\d+)$/.exec(entry);
    const cidrFamily = cidr?.[1] === undefined ? 0 : isIP(cidr[1]);
    if (cidr?.[1] !== undefined && cidrFamily !== 0) {
      const addresses = new BlockList();
      addresses.addSubnet(cidr[1], Number(cidr[2]), cidrFamily === 4 ? 'ipv4' : 'ipv6');
      rules.push({ kind: 'ip', addresses, port: '' });
      continue;
    }
    const split = splitHostPort(entry);
    const host = split?.host ?? entry;
    const port = split?.port ?? '';
    if (host === '') continue;
    const family = isIP(host);
    if (family !== 0) {
      const addresses = new BlockList();
      addresses.addAddress(host, family === 4 ? 'ipv4' : 'ipv6');
      rules.push({ kind: 'ip', addresses, port });
      continue;
    }
    // "foo.com" matches foo.com and its subdomains; ".foo.com" and "*.foo.com" match subdomains only.
    const domain = host.startsWith('*.') ? host.slice(1) : host;
    const matchHost = !domain.startsWith('.');
    rules.push({ kind: 'domain', suffix: matchHost ? `.${domain}` : domain, matchHost, port });
  }
  return rules;
}

/** Go's `net.SplitHostPort` for a no_proxy entry: `host:port` or `[v6]:port`; undefined when there is no port. */
function splitHostPort(entry: string): { host: string; port: string } | undefined {
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(entry);
  if (bracketed?.[1] !== undefined && bracketed[2] !== undefined) return { host: bracketed[1], port: bracketed[2] };
  const colon = entry.indexOf(':');
  if (colon < 0 || colon !== entry.lastIndexOf(':')) return undefined;
  return { host: entry.slice(0, colon), port: entry.slice(colon + 1) };
}

/** httpproxy's `useProxy`, negated. */
function bypassesProxy(origin: URL, rules: readonly NoProxyRule[]): boolean {
  const host = origin.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = origin.port !== '' ? origin.port : origin.protocol === 'https:' ? '443' : '80';
  if (host === 'localhost') return true;
  const family = isIP(host);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (family !== 0 && loopback.check(host, type)) return true;
  return rules.some((rule) => {
    switch (rule.kind) {
      case 'all':
        return true;
      case 'ip':
        return family !== 0 && rule.addresses.check(host, type) && (rule.port === '' || rule.port === port);
      case 'domain':
        return (host.endsWith(rule.suffix) || (rule.matchHost && host === rule.suffix.slice(1))) && (rule.port === '' || rule.port === port);
    }
  });
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/**
 * The request headers of `http_headers` and of the authentication settings, files read now. `http_headers` go first
 * (Go's `headersRoundTripper` is outside the auth round-trippers); a header's values join with ", " as HTTP allows.
 */
async function requestHeaders(config: HttpClientConfig, context: string): Promise<Record<string, string>> {
  const headers: Record<string, string> = {};
  for (const [name, header] of config.httpHeaders) {
    const fromFiles = await Promise.all(
      header.files.map((file) => readTrimmed({ file, context, field: `http_headers.${name}.files`, what: 'headers file' })),
    );
    const values = [...header.values, ...header.secrets.map((s) => s.reveal()), ...fromFiles];
    if (values.length === 0) continue;
    const key = name.toLowerCase();
    const existing = headers[key];
    headers[key] = existing === undefined ? values.join(', ') : [existing, ...values].join(', ');
  }
  const authorization = await authorizationHeader(config, context);
  if (authorization !== undefined) headers['authorization'] = authorization;
  return headers;
}

/**
 * `authorizationCredentialsRoundTripper` (`<type> <credentials>`, sent even when the credentials are empty) or
 * `basicAuthRoundTripper`; file contents are trimmed (`FileSecret.Fetch`), inline values are not.
 */
async function authorizationHeader(config: HttpClientConfig, context: string): Promise<string | undefined> {
  const auth = config.authorization;
  if (auth !== undefined) {
    const credentials =
      auth.credentials?.reveal() ??
      (auth.credentialsFile === undefined
        ? ''
        : await readTrimmed({ file: auth.credentialsFile, context, field: 'authorization.credentials_file', what: 'authorization credentials' }));
    return `${auth.type} ${credentials}`;
  }
  const basic = config.basicAuth;
  if (basic !== undefined) {
    const username =
      basic.usernameFile === undefined
        ? basic.username
        : await readTrimmed({ file: basic.usernameFile, context, field: 'basic_auth.username_file', what: 'basic auth username' });
    const password =
      basic.password?.reveal() ??
      (basic.passwordFile === undefined
        ? ''
        : await readTrimmed({ file: basic.passwordFile, context, field: 'basic_auth.password_file', what: 'basic auth password' }));
    return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }
  return undefined;
}

async function readTrimmed(options: { file: string; context: string; field: string; what: string }): Promise<string> {
  try {
    return (await readFile(options.file, 'utf8')).trim();
  } catch (err) {
    throw new HttpClientConfigError({
      context: options.context,
      field: options.field,
      problem: `unable to read ${options.what}: unable to read file ${options.file}: ${fsErrorCode(err)}`,
      cause: err,
    });
  }
}

/**
 * A dispatcher whose connections come from the latest built one: {@link replace} moves new requests to a new
 * dispatcher and closes the old one once its requests finish, as Go's `tlsRoundTripper` swaps its transport.
 */
class ReloadingDispatcher extends Dispatcher {
  #current: Built;
  readonly #retiring = new Map<Built, Promise<unknown>>();

  constructor(first: Built) {
    super();
    this.#current = first;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#current.dispatcher.dispatch(options, handler);
  }

  /** Sends new requests to `next`; the previous dispatcher closes gracefully in the background. */
  replace(next: Built): void {
    const previous = this.#current;
    this.#current = next;
    const closing = previous
      .close()
      .catch(() => undefined)
      .finally(() => this.#retiring.delete(previous));
    this.#retiring.set(previous, closing);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all([this.#current.close(), ...this.#retiring.values()]).then(() => undefined);
    if (callback === undefined) return done;
    done.then(callback, callback);
  }

  override destroy(err: Error | null, callback: () => void): void;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null): Promise<void>;
  override destroy(): Promise<void>;
  override destroy(first?: Error | null | (() => void), second?: () => void): Promise<void> | void {
    const callback = typeof first === 'function' ? first : second;
    const done = Promise.all([this.#current, ...this.#retiring.keys()].map((b) => b.destroy())).then(() => undefined);
    if (callback === undefined) return done;
    done.then(callback, callback);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function fsErrorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : errorText(err);
}

/** An error's message, checked by shape: errors made inside Node may come from another realm (as under jest). */
function errorText(err: unknown): string {
  return typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string' ? err.message : String(err);
}
