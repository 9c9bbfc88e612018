import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type KubernetesSDConfig } from '@promfleet/model';
import { ApiClient, RateLimiter } from './client.js';
import { kubeConnection } from './connection.js';

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
    await client.list('/api/v1/pods', { resource: 'pods', signal, timeoutMs: 5000, onItem: () => undefined });
    await writeFile(tokenFile, 'rotated-token\n');
    await client.list('/api/v1/pods', { resource: 'pods', signal, timeoutMs: 5000, onItem: () => undefined });
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
    await client.list('/api/v1/pods', { resource: 'pods', signal: new AbortController().signal, timeoutMs: 5000, onItem: () => undefined });
    expect(seen.map((h) => h.authorization)).toEqual(['Bearer kube-token']);
  });

  it('names an unreadable credentials file without reading anything into the error', async () => {
    const connection = kubeConnection(sd({ api_server: 'http://127.0.0.1:9', authorization: { credentials_file: '/nonexistent/token' } }), { userAgent: 't' });
    await expect(connection.requestOptions()).rejects.toThrow(
      'kubernetes_sd_config (api_server http://127.0.0.1:9/): authorization.credentials_file: unable to read authorization credentials: unable to read file /nonexistent/token: ENOENT',
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
