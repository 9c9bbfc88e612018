/**
 * Which secrets a configuration holds inline: every `<secret>` value written in the file itself (rather than in a
 * `*_file` the process reads), and every URL with credentials in it. The master sends scrape jobs and remote-write
 * endpoints, secrets and all, to its workers; it refuses to do that over a link without TLS, and this is what it
 * looks at. Names where each secret is, never its value.
 */
import type { HttpClientConfig, OAuth2Config, TlsConfig } from './config-http.js';
import type { PrometheusConfig } from './config.js';

/** One inline secret: where it is (the owner and the field) and whether the fleet protocol carries it to workers. */
export interface InlineSecret {
  /** The section that holds it, as a reader finds it: `scrape job "node"`, `remote_write "mimir"`, `remote_write[0]`. */
  readonly owner: string;
  /**
   * The key path inside the owner, as written in the config (`basic_auth.password`, `tls_config.key`,
   * `http_headers."X-Token".secrets`, `url`). A legacy `bearer_token` is reported as `authorization.credentials`,
   * which is what the loader turns it into (prometheus/common `HTTPClientConfig.Validate`).
   */
  readonly field: string;
  /** True when the fleet protocol sends it to workers; false when only the master uses it, or nobody does. */
  readonly sentToWorkers: boolean;
}

/**
 * Every inline secret of `config`, in config order: in each scrape job (its HTTP client, the user info of its static
 * targets and of relabeling replacements that write `__address__` — the scraper sends `user:password@host` as basic
 * auth —, then each `kubernetes_sd_configs` entry, which only the master uses) and each `remote_write` entry (its
 * URL, then its HTTP client). `oauth2` and `proxy_connect_header`, which promfleet accepts without acting on, are
 * reported too, as not sent to workers. Remote write's `headers` are not secrets, as in Prometheus (its API shows
 * them); addresses that service discovery makes at run time are not known here.
 */
export function inlineSecrets(config: PrometheusConfig): InlineSecret[] {
  const found: InlineSecret[] = [];
  for (const job of config.scrapeConfigs) {
    const owner = `scrape job ${JSON.stringify(job.jobName)}`;
    httpClientSecrets(job.httpClient, { owner, prefix: '', sentToWorkers: true, found });
    job.staticConfigs.forEach((sc, i) =>
      sc.targets.forEach((target, j) => {
        if (hasCredentials(`http://${target}`)) found.push({ owner, field: `static_configs[${i}].targets[${j}]`, sentToWorkers: true });
      }),
    );
    job.relabelConfigs.forEach((rule, i) => {
      if (rule.targetLabel === '__address__' && rule.replacement.includes('@')) found.push({ owner, field: `relabel_configs[${i}].replacement`, sentToWorkers: true });
    });
    job.kubernetesSdConfigs.forEach((sd, i) => {
      const prefix = `kubernetes_sd_configs[${i}].`;
      if (sd.apiServer !== undefined && hasCredentials(sd.apiServer)) found.push({ owner, field: `${prefix}api_server`, sentToWorkers: false });
      httpClientSecrets(sd.httpClient, { owner, prefix, sentToWorkers: false, found });
    });
  }
  config.remoteWrite.forEach((rw, i) => {
    const owner = rw.name === '' ? `remote_write[${i}]` : `remote_write ${JSON.stringify(rw.name)}`;
    if (hasCredentials(rw.url)) found.push({ owner, field: 'url', sentToWorkers: true });
    httpClientSecrets(rw.httpClient, { owner, prefix: '', sentToWorkers: true, found });
  });
  return found;
}

/** Whether a URL carries a user name or password (`https://user:pass@host/`). */
export function hasCredentials(url: string): boolean {
  if (URL.canParse(url)) {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  }
  // Not a URL to WHATWG (a password with a '/' in it, say): any '@' after the scheme may end user info, and a gate
  // errs on the safe side.
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^@]*@/.test(url);
}

interface Walk {
  readonly owner: string;
  /** Prepended to every field: `kubernetes_sd_configs[0].` or ``. */
  readonly prefix: string;
  readonly sentToWorkers: boolean;
  readonly found: InlineSecret[];
}

function httpClientSecrets(client: HttpClientConfig, walk: Walk): void {
  const add = (field: string, sent = walk.sentToWorkers): void => {
    walk.found.push({ owner: walk.owner, field: `${walk.prefix}${field}`, sentToWorkers: sent });
  };
  if (client.basicAuth?.password !== undefined) add('basic_auth.password');
  if (client.authorization?.credentials !== undefined) add('authorization.credentials');
  tlsSecrets(client.tlsConfig, 'tls_config.', add);
  for (const [name, header] of client.httpHeaders) {
    if (header.secrets.length > 0) add(`http_headers.${JSON.stringify(name)}.secrets`);
  }
  if (client.proxyUrl !== undefined && hasCredentials(client.proxyUrl)) add('proxy_url');
  // Not in fleet.proto's HttpClient: never sent.
  for (const [name, values] of client.proxyConnectHeader) {
    if (values.length > 0) add(`proxy_connect_header.${JSON.stringify(name)}`, false);
  }
  if (client.oauth2 !== undefined) oauth2Secrets(client.oauth2, (field) => add(`oauth2.${field}`, false));
}

function oauth2Secrets(oauth2: OAuth2Config, add: (field: string) => void): void {
  if (oauth2.clientSecret !== undefined) add('client_secret');
  if (oauth2.clientCertificateKey !== undefined) add('client_certificate_key');
  if (hasCredentials(oauth2.tokenUrl)) add('token_url');
  tlsSecrets(oauth2.tlsConfig, 'tls_config.', add);
  if (oauth2.proxyUrl !== undefined && hasCredentials(oauth2.proxyUrl)) add('proxy_url');
  for (const [name, values] of oauth2.proxyConnectHeader) {
    if (values.length > 0) add(`proxy_connect_header.${JSON.stringify(name)}`);
  }
}

function tlsSecrets(tls: TlsConfig, prefix: string, add: (field: string) => void): void {
  if (tls.key !== undefined) add(`${prefix}key`);
}
