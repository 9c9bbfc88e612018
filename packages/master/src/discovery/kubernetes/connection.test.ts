import { afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type KubernetesSDConfig, type PrometheusConfig } from '@promfleet/model';
import { ApiClient, RateLimiter } from './client.js';
import { checkKubernetesAccess, inCluster, kubeConnection, type InClusterEnvironment } from './connection.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function sd(fields: Record<string, unknown>): KubernetesSDConfig {
  const result = parseConfig(JSON.stringify({ scrape_configs: [{ job_name: 'j', kubernetes_sd_configs: [{ role: 'pod', ...fields }] }] }), { file: '/x/p.yml' });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('; '));
  const config = result.config.scrapeConfigs[0]?.kubernetesSdConfigs[0];
  if (config === undefined) throw new Error('no sd config');
  return config;
}

describe('kubeConnection', () => {
  it('reaches a plain-http api_server (kubectl proxy) with the credentials file read fresh for each request', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    const dir = await mkdtemp(join(tmpdir(), 'promfleet-conn-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'first-token\n');

    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const connection = kubeConnection(sd({ api_server: url, authorization: { credentials_file: tokenFile } }), { userAgent: 'promfleet-master/test' });
    const client = new ApiClient(connection, new RateLimiter(100, 100));
    const signal = new AbortController().signal;
    await client.list('/api/v1/pods', { resource: 'pods', kind: 'Pod', signal, timeoutMs: 5000, onItem: () => undefined });
    await writeFile(tokenFile, 'rotated-token\n');
    await client.list('/api/v1/pods', { resource: 'pods', kind: 'Pod', signal, timeoutMs: 5000, onItem: () => undefined });
    expect(seen.map((h) => h.authorization)).toEqual(['Bearer first-token', 'Bearer rotated-token']);
    expect(seen[0]?.['user-agent']).toBe('promfleet-master/test');
    expect(seen[0]?.['accept-encoding']).toBe('gzip');
  });

  it('reaches a plain-http server named in a kubeconfig (a local proxy), with the kubeconfig\'s token', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    const dir = await mkdtemp(join(tmpdir(), 'promfleet-conn-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'kubeconfig');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await writeFile(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "' + url + '"}}]',
        'users: [{name: u, user: {token: kube-token}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
        '',
      ].join('\n'),
    );
    const client = new ApiClient(kubeConnection(sd({ kubeconfig_file: file }), { userAgent: 't' }), new RateLimiter(100, 100));
    await client.list('/api/v1/pods', { resource: 'pods', kind: 'Pod', signal: new AbortController().signal, timeoutMs: 5000, onItem: () => undefined });
    expect(seen.map((h) => h.authorization)).toEqual(['Bearer kube-token']);
  });

  it('reaches an https api_server with tls_config files, and follows a replaced CA file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promfleet-conn-tls-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // Two self-signed certificates for api.test: the server's, and another that does not vouch for it.
    for (const name of ['server', 'other']) {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', '/CN=api.test', '-addext', 'subjectAltName=DNS:api.test'], { cwd: dir, stdio: 'pipe' });
    }
    const [cert, key, other] = await Promise.all(['server.crt', 'server.key', 'other.crt'].map((f) => readFile(join(dir, f), 'utf8')));
    const seen: IncomingHttpHeaders[] = [];
    const server = createHttpsServer({ cert, key }, (req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    const caFile = join(dir, 'ca.crt');
    const replaceCa = async (pem: string | undefined) => {
      await writeFile(`${caFile}.tmp`, pem ?? '');
      await rename(`${caFile}.tmp`, caFile);
    };
    await replaceCa(cert);
    await writeFile(join(dir, 'token'), 'tls-token\n');

    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = sd({ api_server: url, tls_config: { ca_file: caFile, server_name: 'api.test' }, authorization: { credentials_file: join(dir, 'token') } });
    const client = new ApiClient(kubeConnection(config, { userAgent: 't' }), new RateLimiter(100, 100));
    const list = () => client.list('/api/v1/pods', { resource: 'pods', kind: 'Pod', signal: new AbortController().signal, timeoutMs: 5000, onItem: () => undefined });
    await list();
    expect(seen.map((h) => h.authorization)).toEqual(['Bearer tls-token']);
    await replaceCa(other);
    await expect(list()).rejects.toThrow();
    await replaceCa(cert);
    await list();
    expect(seen).toHaveLength(2);
  });

  it('names an unusable CA file by setting and file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promfleet-conn-ca-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const caFile = join(dir, 'ca.crt');
    await writeFile(caFile, 'not a certificate');
    const connection = kubeConnection(sd({ api_server: 'https://127.0.0.1:9', tls_config: { ca_file: caFile } }), { userAgent: 't' });
    await expect(connection.requestOptions()).rejects.toThrow(`kubernetes_sd_config (api_server https://127.0.0.1:9): tls_config.ca_file: unable to use specified CA cert file ${caFile}`);
  });

  it('names an unreadable credentials file without reading anything into the error', async () => {
    const connection = kubeConnection(sd({ api_server: 'http://127.0.0.1:9', authorization: { credentials_file: '/nonexistent/token' } }), { userAgent: 't' });
    await expect(connection.requestOptions()).rejects.toThrow(
      'kubernetes_sd_config (api_server http://127.0.0.1:9): authorization.credentials_file: unable to read authorization credentials: unable to read file /nonexistent/token: ENOENT',
    );
  });

  it('reports a broken kubeconfig by file and line, never quoting it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promfleet-kc-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'kubeconfig');
    await writeFile(file, 'apiVersion: v1\nusers:\n- name: u\n  user:\n    token: SUPERSECRETTOKEN123\n   bad: indent\n');
    let message = '';
    try {
      kubeConnection(sd({ kubeconfig_file: file }), { userAgent: 't' });
    } catch (err) {
      message = err instanceof Error ? err.message : String(err);
    }
    expect(message).toMatch(/^cannot load kubeconfig .*kubeconfig/);
    expect(message).not.toContain('SUPERSECRET');
  });
});

function config(sdConfigs: Record<string, unknown>[]): PrometheusConfig {
  const jobs = sdConfigs.map((fields, i) => ({ job_name: `job-${i}`, kubernetes_sd_configs: [{ role: 'pod', ...fields }] }));
  const result = parseConfig(JSON.stringify({ scrape_configs: jobs }), { file: '/x/p.yml' });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('; '));
  return result.config;
}

describe('checkKubernetesAccess', () => {
  const outside: InClusterEnvironment = { env: {}, tokenFileExists: () => true };
  const inPod: InClusterEnvironment = { env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, tokenFileExists: () => true };

  it('tells how to fix an in-cluster config out of a cluster, naming the job', () => {
    const c = config([{ api_server: 'http://127.0.0.1:9' }, {}]);
    expect(() => checkKubernetesAccess(c, { environment: outside })).toThrow(
      'not running in a cluster: pass --kubeconfig=FILE or set api_server in the kubernetes_sd_config (job job-1)',
    );
    expect(() => checkKubernetesAccess(c, { environment: inPod })).not.toThrow();
    expect(() => checkKubernetesAccess(config([{ api_server: 'http://127.0.0.1:9' }]), { environment: outside })).not.toThrow();
  });

  it('with --operator.config, needs Kubernetes even for a config without kubernetes_sd_configs', () => {
    const c = config([]);
    expect(() => checkKubernetesAccess(c, { environment: outside })).not.toThrow();
    expect(() => checkKubernetesAccess(c, { environment: outside, operator: true })).toThrow(
      'not running in a cluster: pass --kubeconfig=FILE (--operator.config watches prometheus-operator resources)',
    );
    expect(() => checkKubernetesAccess(c, { environment: inPod, operator: true })).not.toThrow();
    expect(() => checkKubernetesAccess(c, { kubeconfig: '/nonexistent/kubeconfig', environment: inPod, operator: true })).toThrow(
      'cannot load kubeconfig /nonexistent/kubeconfig: no such file (--operator.config)',
    );
  });

  it('needs the service host, its port and the token for the in-cluster config, as client-go does', () => {
    expect(inCluster(inPod)).toBe(true);
    expect(inCluster({ ...inPod, tokenFileExists: () => false })).toBe(false);
    expect(inCluster({ ...inPod, env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' } })).toBe(false);
    expect(inCluster(outside)).toBe(false);
  });

  it('loads --kubeconfig and every kubeconfig_file at start, naming a missing or broken one and its job', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'promfleet-kc-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const good = join(dir, 'good');
    const broken = join(dir, 'broken');
    await writeFile(good, 'apiVersion: v1\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');
    await writeFile(broken, 'apiVersion: v1\nclusters: [\n');
    expect(() => checkKubernetesAccess(config([{}]), { kubeconfig: good, environment: outside })).not.toThrow();
    expect(() => checkKubernetesAccess(config([{}]), { kubeconfig: join(dir, 'missing'), environment: inPod })).toThrow(
      `cannot load kubeconfig ${join(dir, 'missing')}: no such file (job job-0)`,
    );
    expect(() => checkKubernetesAccess(config([{}, { kubeconfig_file: broken }]), { kubeconfig: good, environment: outside })).toThrow(
      new RegExp(`^cannot load kubeconfig ${broken}( \\(near line \\d+\\))? \\(job job-1\\)$`),
    );
    await writeFile(broken, 'apiVersion: v1\nkind: Config\nclusters: []\n');
    expect(() => checkKubernetesAccess(config([{ kubeconfig_file: broken }]), { environment: outside })).toThrow(`cannot load kubeconfig ${broken}: no current cluster (current-context) (job job-0)`);
  });
});
