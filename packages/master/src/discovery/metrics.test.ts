import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { parseConfig } from '@promfleet/model';
import { generateCluster, checkSelfMetrics, startFakeApiServer, type FakeApiServer } from '@promfleet/testkit';
import { ApiClient, RateLimiter } from './kubernetes/client.js';
import { KubernetesDiscovery } from './kubernetes/discovery.js';
import { DiscoveryManager } from './manager.js';
import { DiscoveryMetrics } from './metrics.js';
import type { WatchSpec } from './kubernetes/watches.js';

let api: FakeApiServer | undefined;
const controller = new AbortController();
afterEach(async () => {
  controller.abort();
  await api?.stop();
});

describe('DiscoveryMetrics', () => {
  it('counts requests, objects and targets, and passes promtool check metrics', async () => {
    const server = await startFakeApiServer({ bookmarkIntervalMs: 200 });
    api = server;
    server.store.load(generateCluster({ nodes: 2, pods: 8, namespaces: 1, servicesPerNamespace: 1, seed: 2 }).objects());
    const registry = new Registry();
    const metrics = new DiscoveryMetrics(registry);
    const kubernetes = new KubernetesDiscovery({
      clientFor: () => new ApiClient({ server: server.url, requestOptions: () => Promise.resolve({}), userAgent: 't' }, new RateLimiter(100, 100), { onRequest: metrics.onRequest }),
      throttleMs: 20,
      observer: metrics.observer,
    });
    metrics.track(kubernetes);
    const parsed = parseConfig('scrape_configs:\n  - job_name: pods\n    kubernetes_sd_configs: [{role: pod}]\n', { file: 'p.yml' });
    if (!parsed.ok) throw new Error('config');
    const manager = new DiscoveryManager({ config: parsed.config, kubernetes, throttleMs: 20 });
    let synced = false;
    const done = manager.run(controller.signal, (jobs) => {
      metrics.updateJobs(jobs);
      synced ||= jobs.some((j) => j.synced);
    });
    const deadline = Date.now() + 10_000;
    while (!synced && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(synced).toBe(true);

    const text = await registry.metrics();
    expect(text).toContain('promfleet_kubernetes_api_requests_total{verb="list",resource="pods",code="200"} 1');
    expect(text).toContain(`promfleet_kubernetes_objects{resource="pods",watch_namespace=""} ${server.store.count('pods')}`);
    expect(text).toMatch(/promfleet_discovered_targets\{scrape_job="pods",state="active"\} [1-9]/);
    expect(await checkSelfMetrics(text)).toEqual({ code: 0, output: '' });
    controller.abort();
    await done;
    // A master that stops leading stops its discovery: it holds no objects any longer, and says so.
    metrics.forgetWatches();
    expect(await registry.metrics()).not.toContain('promfleet_kubernetes_objects{');
  });

  it('says which resources are stale, since when, until a request for them succeeds again', async () => {
    const registry = new Registry();
    let now = Date.UTC(2026, 0, 1);
    const metrics = new DiscoveryMetrics(registry, { now: () => now });
    metrics.onRequest({ verb: 'list', resource: 'pods', status: 200 });
    metrics.onRequest({ verb: 'watch', resource: 'pods', status: 410 });
    expect(metrics.staleResources()).toEqual([]);
    metrics.onRequest({ verb: 'watch', resource: 'pods', status: 0 });
    now += 5_000;
    metrics.onRequest({ verb: 'list', resource: 'pods', status: 503 });
    metrics.onRequest({ verb: 'list', resource: 'nodes', status: 500 });
    expect(metrics.staleResources()).toEqual([
      { resource: 'pods', sinceUnixMs: Date.UTC(2026, 0, 1), error: 'list answered HTTP 503' },
      { resource: 'nodes', sinceUnixMs: Date.UTC(2026, 0, 1) + 5_000, error: 'list answered HTTP 500' },
    ]);
    const text = await registry.metrics();
    expect(text).toContain('promfleet_kubernetes_discovery_stale{resource="pods"} 1');
    expect(text).toContain(`promfleet_kubernetes_discovery_stale_since_timestamp_seconds{resource="pods"} ${Date.UTC(2026, 0, 1) / 1000}`);
    expect(await checkSelfMetrics(text)).toEqual({ code: 0, output: '' });
    metrics.onRequest({ verb: 'list', resource: 'pods', status: 200 });
    expect(metrics.staleResources()).toEqual([{ resource: 'nodes', sinceUnixMs: Date.UTC(2026, 0, 1) + 5_000, error: 'list answered HTTP 500' }]);
    expect(await registry.metrics()).toContain('promfleet_kubernetes_discovery_stale{resource="pods"} 0');
    metrics.forgetWatches();
    expect(metrics.staleResources()).toEqual([]);
  });

  it('tells each job why its discovery is stale: the longest-failing resource it reads, with its last error', () => {
    let now = Date.UTC(2026, 0, 1);
    const metrics = new DiscoveryMetrics(new Registry(), { now: () => now });
    const config = parseConfig(
      'scrape_configs:\n' +
        '  - {job_name: pods, kubernetes_sd_configs: [{role: pod, attach_metadata: {node: true}}]}\n' +
        '  - {job_name: ingresses, kubernetes_sd_configs: [{role: ingress}]}\n' +
        '  - {job_name: static, static_configs: [{targets: [a:1]}]}\n',
      { file: 'p.yml' },
    );
    if (!config.ok) throw new Error('bad config');
    const [pods, ingresses, fixed] = config.config.scrapeConfigs;
    if (pods === undefined || ingresses === undefined || fixed === undefined) throw new Error('jobs missing');
    const watch = (plural: string) => ({ resource: { plural } }) as WatchSpec;
    metrics.observer.watchFailed?.(watch('nodes'), 'not running in a cluster: pass --kubeconfig=FILE');
    now += 1_000;
    metrics.onRequest({ verb: 'list', resource: 'pods', status: 0 });
    expect(metrics.jobError(pods)).toEqual({ resource: 'nodes', sinceUnixMs: Date.UTC(2026, 0, 1), error: 'not running in a cluster: pass --kubeconfig=FILE' });
    metrics.onRequest({ verb: 'list', resource: 'nodes', status: 200 });
    expect(metrics.jobError(pods)).toEqual({ resource: 'pods', sinceUnixMs: Date.UTC(2026, 0, 1) + 1_000, error: 'no answer from the API server' });
    metrics.observer.watchRestarted?.(watch('pods'), 'error', 'connect ECONNREFUSED 10.96.0.1:443');
    expect(metrics.jobError(pods)?.error).toBe('connect ECONNREFUSED 10.96.0.1:443');
    expect(metrics.jobError(pods)?.sinceUnixMs).toBe(Date.UTC(2026, 0, 1) + 1_000);
    expect(metrics.jobError(ingresses)).toBeUndefined();
    expect(metrics.jobError(fixed)).toBeUndefined();
  });
});
