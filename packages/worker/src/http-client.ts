/**
 * The HTTP client of a scrape job or a remote write endpoint, built from its prometheus/common `HTTPClientConfig` as
 * `config/http_config.go` `NewRoundTripperFromConfig` builds Go's: TLS (CA, client certificate, server name, versions,
 * verification), proxies (`proxy_url`, `no_proxy`, `proxy_from_environment`, `proxy_connect_header`), redirects,
 * HTTP/2, authentication (`basic_auth`, `authorization` and the legacy bearer token) and `http_headers`.
 *
 * The transport is an undici dispatcher; authentication and extra headers are request headers that the caller adds,
 * because undici has no round-tripper chain. TLS material, credential files and the policy on which files may be read
 * come from `@promfleet/credentials`. Credentials never appear in errors: they name the file, never its content.
 */
import { BlockList, isIP } from 'node:net';
import { Agent, Dispatcher, ProxyAgent, interceptors } from 'undici';
import { checkSecretFiles, requestHeaders, SecretFilePolicy, TlsFiles, type TlsMaterial } from '@promfleet/credentials';
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
   * on material older than the files. Rejects with a `CredentialsConfigError` when a file cannot be read or a changed
   * TLS file is not usable, as Prometheus fails the request, and with a `SecretFileRefusedError` when the client's
   * secret file policy does not allow a file.
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
 * A proxy setting of the HTTP client that cannot be used: an unusable proxy address from the environment. (Files and
 * TLS material fail with `@promfleet/credentials`' `CredentialsConfigError`.)
 */
export class HttpClientConfigError extends Error {
  override readonly name = 'HttpClientConfigError';
  readonly code = HttpClientErrorCode.config;
  /** The configuration key at fault: `proxy_from_environment`. */
  readonly field: string;

  /** Creates the error for `field` of the client that `context` names, with `problem` saying what is wrong. */
  constructor(options: { readonly context: string; readonly field: string; readonly problem: string; readonly cause?: unknown }) {
    super(`${options.context}: ${options.field}: ${options.problem}`, { cause: options.cause });
    this.field = options.field;
  }
}

/** Options of {@link configureHttpClient}. */
export interface HttpClientOptions {
  /** Names the client's owner in errors, for example `scrape job "node"`. */
  readonly context: string;
  /**
   * Which files the client may read (credentials, headers, TLS). Unrestricted by default; a worker passes the
   * policy of its `--worker.secret-dirs`, since the settings come from the master.
   */
  readonly secretFiles?: SecretFilePolicy;
}

/**
 * Builds the client for `config`.
 *
 * Every file the settings name is first checked against `options.secretFiles`, without being read, so a client that
 * names a refused file is never built. TLS files are then read here, synchronously, and checked as Go's
 * `NewTLSConfig` does: a CA file must hold a certificate and a client certificate must match its key. After that,
 * each {@link ConfiguredHttpClient.headers} call stats the TLS files; when one changed it is read again and, if its
 * content differs, new connections go through a dispatcher built from it while the old one finishes its requests and
 * closes (`tlsRoundTripper` in `http_config.go` re-reads per request and closes idle connections on change; a stat
 * per request is the cheaper equivalent).
 *
 * Where undici differs from Go's client: a redirect to another origin drops the `Authorization` header (Go's
 * round-trippers add it again on every hop); after 10 redirects the last 3xx response is returned rather than an
 * error; `proxy_connect_header` is also sent on plain-HTTP requests forwarded by the proxy, not only on CONNECT.
 *
 * @throws {SecretFileRefusedError} (from `@promfleet/credentials`) when the policy refuses a file the settings name.
 * @throws {CredentialsConfigError} (from `@promfleet/credentials`) when a TLS file cannot be read or used.
 * @throws {HttpClientConfigError} when the proxy environment is unusable.
 */
export function configureHttpClient(config: HttpClientConfig, options: HttpClientOptions): ConfiguredHttpClient {
  const { context } = options;
  const policy = options.secretFiles ?? SecretFilePolicy.unrestricted;
  checkSecretFiles(config, { context, policy });
  const tls = TlsFiles.fromConfig(config.tlsConfig, { context, policy });
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
      return requestHeaders(config, { context, policy });
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
