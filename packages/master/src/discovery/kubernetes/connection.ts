/**
 * How the master reaches an API server for a `kubernetes_sd_config`, as Prometheus' `kubernetes.go` `New` does:
 * in-cluster config (the pod's service account) when neither `api_server` nor `kubeconfig_file` is set, the
 * kubeconfig file when given, or `api_server` with the SD config's own HTTP client settings.
 *
 * Credentials are read per request (a service-account token rotates; a `credentials_file` may be replaced), and
 * never logged: errors name the file, not its content.
 */
import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent } from 'node:http';
import { Agent, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import type { HttpClientConfig, KubernetesSDConfig } from '@promfleet/model';
import type { ApiConnection } from './client.js';

/** The connection for one SD config; `userAgent` identifies the master in the API server's audit log. */
export function kubeConnection(config: KubernetesSDConfig, options: { userAgent: string }): ApiConnection {
  if (config.apiServer !== undefined) {
    return { server: config.apiServer, userAgent: options.userAgent, requestOptions: httpClientOptions(config.httpClient, { plainHttp: config.apiServer.startsWith('http:') }) };
  }
  const kc = new KubeConfig();
  if (config.kubeconfigFile !== undefined) {
    try {
      kc.loadFromFile(config.kubeconfigFile);
    } catch (err) {
      // The YAML parser quotes the lines around an error, and a kubeconfig holds tokens: report only where.
      const line = typeof err === 'object' && err !== null && 'mark' in err ? (err as { mark?: { line?: number } }).mark?.line : undefined;
      // eslint-disable-next-line preserve-caught-error -- the cause's message quotes the file, tokens included.
      throw new Error(`cannot load kubeconfig ${config.kubeconfigFile}${line === undefined ? '' : ` (near line ${line + 1})`}`);
    }
  } else {
    kc.loadFromCluster();
  }
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error(`no current cluster in ${config.kubeconfigFile ?? 'the in-cluster configuration'}`);
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
 * Request options from a prometheus/common HTTP client config: TLS (inline or files), `authorization`
 * (`<type> <credentials>`) or `basic_auth`. Files are read at each call; the TLS agent is rebuilt only when the
 * CA, certificate or key changed, so connections are reused.
 */
export function httpClientOptions(http: HttpClientConfig, options: { plainHttp: boolean }): () => Promise<RequestOptions> {
  let agent: { key: string; agent: Agent } | undefined;
  const plainAgent = new HttpAgent({ keepAlive: true });
  return async () => {
    if (options.plainHttp) {
      const authorization = await authorizationHeader(http);
      return { agent: plainAgent, headers: authorization === undefined ? {} : { authorization } };
    }
    const tls = await tlsMaterial(http.tlsConfig);
    const key = JSON.stringify([tls.ca, tls.cert, tls.key]);
    if (agent?.key !== key) {
      agent?.agent.destroy();
      agent = {
        key,
        agent: new Agent({
          keepAlive: true,
          ...(tls.ca === undefined ? {} : { ca: tls.ca }),
          ...(tls.cert === undefined ? {} : { cert: tls.cert }),
          ...(tls.key === undefined ? {} : { key: tls.key }),
          ...(http.tlsConfig.serverName === undefined ? {} : { servername: http.tlsConfig.serverName }),
          ...(http.tlsConfig.minVersion === undefined ? {} : { minVersion: tlsVersions[http.tlsConfig.minVersion] }),
          ...(http.tlsConfig.maxVersion === undefined ? {} : { maxVersion: tlsVersions[http.tlsConfig.maxVersion] }),
          rejectUnauthorized: !http.tlsConfig.insecureSkipVerify,
        }),
      };
    }
    const headers: Record<string, string> = {};
    const authorization = await authorizationHeader(http);
    if (authorization !== undefined) headers['authorization'] = authorization;
    return { agent: agent.agent, headers };
  };
}

/** prometheus/common's TLS version names as Node's. */
const tlsVersions = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;

async function tlsMaterial(tls: HttpClientConfig['tlsConfig']): Promise<{ ca?: string; cert?: string; key?: string }> {
  const read = async (inline: string | undefined, file: string | undefined) => inline ?? (file === undefined ? undefined : await readFileNamed(file));
  const ca = await read(tls.ca, tls.caFile);
  const cert = await read(tls.cert, tls.certFile);
  const key = await read(tls.key?.reveal(), tls.keyFile);
  return { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
}

async function authorizationHeader(http: HttpClientConfig): Promise<string | undefined> {
  if (http.authorization !== undefined) {
    const { type, credentials, credentialsFile } = http.authorization;
    const secret = credentials?.reveal() ?? (credentialsFile === undefined ? undefined : (await readFileNamed(credentialsFile)).trim());
    return secret === undefined ? undefined : `${type} ${secret}`;
  }
  if (http.basicAuth !== undefined) {
    const { username, usernameFile, password, passwordFile } = http.basicAuth;
    const user = usernameFile === undefined ? username : (await readFileNamed(usernameFile)).trim();
    const pass = password?.reveal() ?? (passwordFile === undefined ? '' : (await readFileNamed(passwordFile)).trim());
    return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  return undefined;
}

/** Reads a credentials file; the error names the file and the reason, never any content. */
async function readFileNamed(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'unreadable';
    throw new Error(`cannot read ${path}: ${code}`, { cause: err });
  }
}
