/**
 * The HTTP client fields of prometheus-operator resources (`tlsConfig`, `basicAuth`, `authorization`,
 * `bearerTokenSecret`, proxy settings) as Prometheus config keys, with the referenced Secret and ConfigMap keys put
 * inline — as prometheus-operator does with inline TLS (`ca`, `cert`, `key`) — so that no file has to exist on a
 * worker. Mirrors `addSafeTLStoYaml`, `addBasicAuthToYaml`, `addAuthorizationToYaml` and `addProxyConfigtoYaml` of
 * prometheus-operator's pkg/prometheus/promcfg.go.
 */
import { objects, optBool, optObject, optString, type JsonObject } from '../discovery/kubernetes/json.js';
import { describeAsset, ResourceRejectedError, type AssetLookup, type AssetRef } from './resource.js';

/** A Prometheus config mapping under construction, in prometheus-operator's key order. */
export type RawMapping = Record<string, unknown>;

/** Reads the Secret and ConfigMap keys one resource references, in its namespace. */
export class AssetReader {
  constructor(
    private readonly lookup: AssetLookup,
    private readonly namespace: string,
  ) {}

  /** The value of a `SecretKeySelector` (`{name, key}`) at `path`. */
  secretKey(selector: JsonObject, path: string): string {
    return this.#read('Secret', selector, path);
  }

  /** The value of a `SecretOrConfigMap` (`{secret: {name, key}}` or `{configMap: {name, key}}`), or undefined when neither is set. */
  secretOrConfigMap(source: JsonObject, path: string): string | undefined {
    const secret = optObject(source, 'secret', path);
    const configMap = optObject(source, 'configMap', path);
    if (secret !== undefined && configMap !== undefined) throw new ResourceRejectedError(`${path}: cannot set both secret and configMap`);
    if (secret !== undefined) return this.#read('Secret', secret, `${path}.secret`);
    if (configMap !== undefined) return this.#read('ConfigMap', configMap, `${path}.configMap`);
    return undefined;
  }

  #read(kind: AssetRef['kind'], selector: JsonObject, path: string): string {
    const name = optString(selector, 'name', path) ?? '';
    const key = optString(selector, 'key', path) ?? '';
    if (name === '' || key === '') throw new ResourceRejectedError(`${path}: a ${kind} reference needs a name and a key`);
    const ref: AssetRef = { kind, namespace: this.namespace, name, key };
    const value = this.lookup(ref);
    if (value === undefined) throw new ResourceRejectedError(`${path}: ${describeAsset(ref)} not found`);
    return value;
  }
}

/** `tlsConfig` → `tls_config`. `withFiles` allows the `caFile`/`certFile`/`keyFile` of `TLSConfig` (not `SafeTLSConfig`). */
export function tlsConfig(assets: AssetReader, tls: JsonObject, options: { path: string; withFiles: boolean }): RawMapping {
  const { path } = options;
  const out: RawMapping = {};
  const insecure = optBool(tls, 'insecureSkipVerify', path);
  if (insecure !== undefined) out['insecure_skip_verify'] = insecure;
  const ca = optObject(tls, 'ca', path);
  const caValue = ca === undefined ? undefined : assets.secretOrConfigMap(ca, `${path}.ca`);
  if (caValue !== undefined) out['ca'] = caValue;
  const cert = optObject(tls, 'cert', path);
  const certValue = cert === undefined ? undefined : assets.secretOrConfigMap(cert, `${path}.cert`);
  if (certValue !== undefined) out['cert'] = certValue;
  const keySecret = optObject(tls, 'keySecret', path);
  if (keySecret !== undefined) out['key'] = assets.secretKey(keySecret, `${path}.keySecret`);
  const serverName = optString(tls, 'serverName', path);
  if (serverName !== undefined && serverName !== '') out['server_name'] = serverName;
  const minVersion = optString(tls, 'minVersion', path);
  if (minVersion !== undefined) out['min_version'] = minVersion;
  const maxVersion = optString(tls, 'maxVersion', path);
  if (maxVersion !== undefined) out['max_version'] = maxVersion;
  if (options.withFiles) {
    for (const [field, key] of [['caFile', 'ca_file'], ['certFile', 'cert_file'], ['keyFile', 'key_file']] as const) {
      const file = optString(tls, field, path);
      if (file !== undefined && file !== '') out[key] = file;
    }
  }
  return out;
}

/** `basicAuth` → `basic_auth` with username and password read from their Secrets. */
export function basicAuth(assets: AssetReader, auth: JsonObject, path: string): RawMapping {
  const username = optObject(auth, 'username', path);
  const password = optObject(auth, 'password', path);
  return {
    username: username === undefined ? '' : assets.secretKey(username, `${path}.username`),
    password: password === undefined ? '' : assets.secretKey(password, `${path}.password`),
  };
}

/** `authorization` (`SafeAuthorization`) → `authorization`: type `Bearer` unless given, credentials from their Secret. */
export function authorization(assets: AssetReader, auth: JsonObject, path: string): RawMapping {
  const out: RawMapping = { type: (optString(auth, 'type', path) ?? '').trim() || 'Bearer' };
  const credentials = optObject(auth, 'credentials', path);
  if (credentials !== undefined) out['credentials'] = assets.secretKey(credentials, `${path}.credentials`);
  return out;
}

/** The inline `ProxyConfig` fields → `proxy_url`, `no_proxy`, `proxy_from_environment`, `proxy_connect_header`. */
export function proxyConfig(assets: AssetReader, holder: JsonObject, path: string): RawMapping {
  const out: RawMapping = {};
  const url = optString(holder, 'proxyUrl', path);
  if (url !== undefined) out['proxy_url'] = url;
  const noProxy = optString(holder, 'noProxy', path);
  if (noProxy !== undefined) out['no_proxy'] = noProxy;
  const fromEnv = optBool(holder, 'proxyFromEnvironment', path);
  if (fromEnv !== undefined) out['proxy_from_environment'] = fromEnv;
  const headers = optObject(holder, 'proxyConnectHeader', path);
  if (headers !== undefined) {
    const connect: RawMapping = {};
    for (const name of Object.keys(headers).sort()) {
      connect[name] = objects(headers, name, { path: `${path}.proxyConnectHeader`, read: (selector, p) => assets.secretKey(selector, p) });
    }
    out['proxy_connect_header'] = connect;
  }
  return out;
}

/**
 * The HTTP client keys of a scrape endpoint: TLS, bearer token Secret, basic auth, authorization, proxy, redirects
 * and HTTP/2. `withFiles` reads the file fields only a ServiceMonitor endpoint has (`bearerTokenFile`, the TLS files). `oauth2` is refused: promfleet's workers do not fetch OAuth 2 tokens, and scraping without the
 * credentials the resource asks for would fail every scrape.
 */
export function endpointHttpClient(assets: AssetReader, endpoint: JsonObject, options: { path: string; withFiles: boolean }): RawMapping {
  const { path, withFiles } = options;
  if (endpoint['oauth2'] !== undefined && endpoint['oauth2'] !== null) {
    throw new ResourceRejectedError(`${path}.oauth2: OAuth 2 is not supported by promfleet (its workers do not fetch OAuth 2 tokens)`);
  }
  const out: RawMapping = {};
  const followRedirects = optBool(endpoint, 'followRedirects', path);
  if (followRedirects !== undefined) out['follow_redirects'] = followRedirects;
  const http2 = optBool(endpoint, 'enableHttp2', path);
  if (http2 !== undefined) out['enable_http2'] = http2;
  Object.assign(out, proxyConfig(assets, endpoint, path));
  const tls = optObject(endpoint, 'tlsConfig', path);
  if (tls !== undefined) out['tls_config'] = tlsConfig(assets, tls, { path: `${path}.tlsConfig`, withFiles });
  const tokenFile = withFiles ? optString(endpoint, 'bearerTokenFile', path) : undefined;
  if (tokenFile !== undefined && tokenFile !== '') out['bearer_token_file'] = tokenFile;
  const tokenSecret = optObject(endpoint, 'bearerTokenSecret', path);
  if (tokenSecret !== undefined && (optString(tokenSecret, 'name', `${path}.bearerTokenSecret`) ?? '') !== '') {
    out['bearer_token'] = assets.secretKey(tokenSecret, `${path}.bearerTokenSecret`);
  }
  const basic = optObject(endpoint, 'basicAuth', path);
  if (basic !== undefined) out['basic_auth'] = basicAuth(assets, basic, `${path}.basicAuth`);
  const auth = optObject(endpoint, 'authorization', path);
  if (auth !== undefined) out['authorization'] = authorization(assets, auth, `${path}.authorization`);
  return out;
}
