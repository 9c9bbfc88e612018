/**
 * How the master reaches an API server for a `kubernetes_sd_config`, as Prometheus' `kubernetes.go` `New` does:
 * in-cluster config (the pod's service account) when neither `api_server` nor `kubeconfig_file` is set, the
 * kubeconfig file when given, or `api_server` with the SD config's own HTTP client settings.
 *
 * Credentials are read per request (a service-account token rotates; a `credentials_file` may be replaced), and
 * never logged: errors name the file, not its content. With `api_server`, TLS material and credentials come from
 * `@promfleet/credentials`, unrestricted: these are the master's own configuration's files.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { requestHeaders, TlsFiles } from '@promfleet/credentials';
import { redactedUrl, type HttpClientConfig, type KubernetesSDConfig } from '@promfleet/model';
import type { ApiConnection } from './client.js';

/** The connection for one SD config; `userAgent` identifies the master in the API server's audit log. */
export function kubeConnection(config: KubernetesSDConfig, options: { userAgent: string }): ApiConnection {
  if (config.apiServer !== undefined) {
    const requestOptions = httpClientOptions(config.httpClient, {
      plainHttp: config.apiServer.startsWith('http:'),
      context: `kubernetes_sd_config (api_server ${redactedUrl(config.apiServer)})`,
    });
    return { server: config.apiServer, userAgent: options.userAgent, requestOptions };
  }
  return kubeconfigConnection(config.kubeconfigFile, options);
}

/**
 * The connection a kubeconfig file describes (its current context), or the in-cluster configuration (the pod's
 * service account) when `kubeconfigFile` is undefined: what a `kubernetes_sd_config` without `api_server` uses, and
 * what leader election uses for its Lease.
 */
export function kubeconfigConnection(kubeconfigFile: string | undefined, options: { userAgent: string }): ApiConnection {
  const kc = new KubeConfig();
  if (kubeconfigFile !== undefined) {
    try {
      kc.loadFromFile(kubeconfigFile);
    } catch (err) {
      // The YAML parser quotes the lines around an error, and a kubeconfig holds tokens: report only where.
      const line = typeof err === 'object' && err !== null && 'mark' in err ? (err as { mark?: { line?: number } }).mark?.line : undefined;
      // eslint-disable-next-line preserve-caught-error -- the cause's message quotes the file, tokens included.
      throw new Error(`cannot load kubeconfig ${kubeconfigFile}${line === undefined ? '' : ` (near line ${line + 1})`}`);
    }
  } else {
    kc.loadFromCluster();
  }
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error(`no current cluster in ${kubeconfigFile ?? 'the in-cluster configuration'}`);
  let agent: { key: string; agent: Agent } | undefined;
  // A kubeconfig may name a plain-http server (a local proxy, `kubectl proxy`), which kubectl accepts. client-node
  // refuses one unless TLS verification is switched off, which means nothing without TLS: switch it off for that
  // cluster, and use a plain agent.
  const plainAgent = cluster.server.startsWith('http:') ? new HttpAgent({ keepAlive: true }) : undefined;
  if (plainAgent !== undefined) {
    kc.loadFromOptions({
      clusters: kc.clusters.map((c) => (c.name === cluster.name ? { ...c, skipTLSVerify: true } : c)),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
  }
  return {
    server: cluster.server,
    userAgent: options.userAgent,
    requestOptions: async () => {
      // client-node reads the token (and CA) per call, so rotation is seen; the TLS agent is kept while the
      // CA and client certificate stay the same, so connections are reused.
      const opts: RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      if (plainAgent !== undefined) return { headers: opts.headers, agent: plainAgent };
      const key = JSON.stringify([opts.ca, opts.cert, opts.key, opts.rejectUnauthorized]);
      if (agent?.key !== key) {
        agent?.agent.destroy();
        const tls = { ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized };
        agent = { key, agent: new Agent({ keepAlive: true, ...Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined)) }) };
      }
      return { headers: opts.headers, agent: agent.agent };
    },
  };
}

/**
 * Request options from a prometheus/common HTTP client config: TLS (inline or files), `http_headers`, and
 * `authorization` (`<type> <credentials>`) or `basic_auth`; `context` names the config in errors. Credential files
 * are read at each call. The TLS files are read at the first call and stat-checked at each one after; the TLS agent
 * is rebuilt only when the CA, certificate or key changed, so connections are reused.
 *
 * The returned function rejects with a `CredentialsConfigError` (from `@promfleet/credentials`) naming the setting and
 * the file when a file cannot be read or used.
 */
export function httpClientOptions(http: HttpClientConfig, options: { plainHttp: boolean; context: string }): () => Promise<RequestOptions> {
  const { context } = options;
  const plainAgent = new HttpAgent({ keepAlive: true });
  let tls: TlsFiles | undefined;
  let agent: Agent | undefined;
  return async () => {
    const headers = await requestHeaders(http, { context });
    if (options.plainHttp) return { agent: plainAgent, headers };
    // Built at the first request rather than with the connection, so an unusable file fails requests (and is
    // retried with them), as when every request read it.
    const changed = tls === undefined ? true : await tls.refresh();
    tls ??= TlsFiles.fromConfig(http.tlsConfig, { context });
    if (changed || agent === undefined) {
      agent?.destroy();
      const { ca, cert, key } = tls.material;
      agent = new Agent({
        keepAlive: true,
        ...(ca === undefined ? {} : { ca }),
        ...(cert === undefined ? {} : { cert }),
        ...(key === undefined ? {} : { key }),
        ...(http.tlsConfig.serverName === undefined ? {} : { servername: http.tlsConfig.serverName }),
        ...(http.tlsConfig.minVersion === undefined ? {} : { minVersion: tlsVersions[http.tlsConfig.minVersion] }),
        ...(http.tlsConfig.maxVersion === undefined ? {} : { maxVersion: tlsVersions[http.tlsConfig.maxVersion] }),
        rejectUnauthorized: !http.tlsConfig.insecureSkipVerify,
      });
    }
    return { agent, headers };
  };
}

/** prometheus/common's TLS version names as Node's. */
const tlsVersions = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
