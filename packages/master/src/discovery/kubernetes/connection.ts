/**
 * How the master reaches an API server for a `kubernetes_sd_config`, as Prometheus' `kubernetes.go` `New` does:
 * in-cluster config (the pod's service account) when neither `api_server` nor `kubeconfig_file` is set, the
 * kubeconfig file when given, or `api_server` with the SD config's own HTTP client settings.
 *
 * Credentials are read per request (a service-account token rotates; a `credentials_file` may be replaced), and
 * never logged: errors name the file, not its content. With `api_server`, TLS material and credentials come from
 * `@promfleet/credentials`, unrestricted: these are the master's own configuration's files.
 */
import { existsSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { requestHeaders, TlsFiles } from '@promfleet/credentials';
import { errorMessage, redactedUrl, type HttpClientConfig, type KubernetesSDConfig, type PrometheusConfig } from '@promfleet/model';
import type { ApiConnection } from './client.js';

/** Where a pod's service-account token is mounted (client-go's `rest.InClusterConfig`). */
const SERVICE_ACCOUNT_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** The master cannot reach an API server the way its configuration or flags say: no cluster, or an unusable kubeconfig. */
export class KubernetesAccessError extends Error {
  override readonly name = 'KubernetesAccessError';
  readonly code = 'PROMFLEET_K8S_ACCESS';
}

/** What the in-cluster configuration needs, as client-go checks it: the service's host and port, and a token file. */
export interface InClusterEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly tokenFileExists: () => boolean;
}

const processEnvironment: InClusterEnvironment = { env: process.env, tokenFileExists: () => existsSync(SERVICE_ACCOUNT_TOKEN_FILE) };

/** Whether this process runs in a pod whose in-cluster configuration can be used. */
export function inCluster(environment: InClusterEnvironment = processEnvironment): boolean {
  const { env } = environment;
  return (env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' && (env['KUBERNETES_SERVICE_PORT'] ?? '') !== '' && environment.tokenFileExists();
}

/**
 * Checks, before discovery starts, that every `kubernetes_sd_config` can reach an API server, so that a master that
 * cannot discover anything says why and stops instead of retrying forever. A config without `api_server` or
 * `kubeconfig_file` uses `kubeconfig` (the `--kubeconfig` flag), else the in-cluster configuration, which must exist;
 * every kubeconfig file named must load. With `operator` (`--operator.config`), the master watches prometheus-operator
 * resources over `kubeconfig` or the in-cluster configuration, which must then work too. Whether the server answers
 * is left to run time.
 *
 * @throws KubernetesAccessError naming the fix, the file and the job.
 */
export function checkKubernetesAccess(
  config: PrometheusConfig,
  options: { kubeconfig?: string | undefined; environment?: InClusterEnvironment; operator?: boolean } = {},
): void {
  const loaded = new Set<string>();
  /** Loads `file` once; an error names `user`, what needs it (`job NAME`, `--operator.config`). */
  const load = (file: string, user: string) => {
    if (loaded.has(file)) return;
    try {
      loadKubeConfig(file);
    } catch (err) {
      // Its message is complete and safe to show: only who needs the file is added.
      throw new KubernetesAccessError(`${errorMessage(err)} (${user})`);
    }
    loaded.add(file);
  };
  if (options.operator === true) {
    if (options.kubeconfig !== undefined) load(options.kubeconfig, '--operator.config');
    else if (!inCluster(options.environment)) throw new KubernetesAccessError('not running in a cluster: pass --kubeconfig=FILE (--operator.config watches prometheus-operator resources)');
  }
  for (const job of config.scrapeConfigs) {
    for (const sd of job.kubernetesSdConfigs) {
      if (sd.apiServer !== undefined) continue;
      const file = sd.kubeconfigFile ?? options.kubeconfig;
      if (file !== undefined) load(file, `job ${job.jobName}`);
      else if (!inCluster(options.environment)) {
        throw new KubernetesAccessError(`not running in a cluster: pass --kubeconfig=FILE or set api_server in the kubernetes_sd_config (job ${job.jobName})`);
      }
    }
  }
}

const fsErrors: ReadonlyMap<unknown, string> = new Map([
  ['ENOENT', 'no such file'],
  ['EACCES', 'permission denied'],
  ['EISDIR', 'is a directory'],
]);

/**
 * A kubeconfig file, or the in-cluster configuration when `kubeconfigFile` is undefined.
 *
 * @throws KubernetesAccessError naming the file (never quoting it: a kubeconfig holds tokens), or saying that this
 *   process runs in no cluster.
 */
function loadKubeConfig(kubeconfigFile: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigFile === undefined) {
    if (!inCluster()) throw new KubernetesAccessError('not running in a cluster (no KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT or service-account token): pass --kubeconfig=FILE');
    kc.loadFromCluster();
    return kc;
  }
  try {
    kc.loadFromFile(kubeconfigFile);
  } catch (err) {
    const fsError = typeof err === 'object' && err !== null && 'code' in err ? fsErrors.get(err.code) : undefined;
    if (fsError !== undefined) throw new KubernetesAccessError(`cannot load kubeconfig ${kubeconfigFile}: ${fsError}`);
    // The YAML parser quotes the lines around an error, and a kubeconfig holds tokens: report only where.
    const line = typeof err === 'object' && err !== null && 'mark' in err ? (err as { mark?: { line?: number } }).mark?.line : undefined;
    // No cause: its message quotes the file, tokens included.
    throw new KubernetesAccessError(`cannot load kubeconfig ${kubeconfigFile}${line === undefined ? '' : ` (near line ${line + 1})`}`);
  }
  if (kc.getCurrentCluster() === null) throw new KubernetesAccessError(`cannot load kubeconfig ${kubeconfigFile}: no current cluster (current-context)`);
  return kc;
}

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
  const kc = loadKubeConfig(kubeconfigFile);
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
