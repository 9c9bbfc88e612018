import { afterEach, describe, expect, it } from '@jest/globals';
import type { TargetHealthStatus } from '../fleet/status.js';
import { FakeFleet, startStatus, worker, type RunningStatus } from './fixtures.js';
import { escapeHtml, maxUnhealthyShown, renderStatusPage, statusPageView } from './page.js';

const now = Date.UTC(2024, 0, 2, 12, 0, 0);

const running: RunningStatus[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

async function start(config: string, options: Parameters<typeof startStatus>[1] = {}): Promise<RunningStatus> {
  const status = await startStatus(config, { now: () => now, ...options });
  running.push(status);
  return status;
}

function down(lastError: string): TargetHealthStatus {
  return { health: 'down', lastScrapeUnixMs: now - 15_000, lastScrapeDurationSeconds: 0.2, samplesScraped: 0, samplesPostMetricRelabeling: 0, lastError };
}

const up: TargetHealthStatus = { health: 'up', lastScrapeUnixMs: now - 5_000, lastScrapeDurationSeconds: 0.01, samplesScraped: 10, samplesPostMetricRelabeling: 10, lastError: '' };

describe('the status page', () => {
  it('shows workers, per-job health and the unhealthy targets, as plain HTML', async () => {
    const status = await start(`
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['a:9100', 'b:9100', 'c:9100', 'd:9100']}]
  - job_name: empty
    static_configs: [{targets: ['x:1']}]
    relabel_configs: [{action: drop, source_labels: [__address__], regex: 'x:1'}]
`);
    const [a, b, c] = [...status.fleet.targets('node')];
    if (a === undefined || b === undefined || c === undefined) throw new Error('targets missing');
    status.fleet.update(a.id, { owner: 'w-1', health: up });
    status.fleet.update(b.id, { owner: 'w-1', health: down('connection refused') });
    status.fleet.update(c.id, { owner: 'w-2' });
    status.fleet.setWorkers([
      worker({ id: 'w-1', targets: 2, cost: 20, generation: 5, ackedGeneration: 4, lastSeenUnixMs: now - 90_000, webPort: 9097 }),
      worker({ id: 'w-2', targets: 1, cost: 0, maxTargets: 10 }),
    ]);
    const res = await fetch(`${status.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'");
    const html = await res.text();
    expect(html).not.toMatch(/<script|<link|src=/i);
    expect(html).toContain('<strong>Not ready</strong>. standby: master-b leads in term 3.');
    expect(html).toContain('<h2>Workers (2)</h2>');
    // A worker whose Hello gave its web port links to its own page, on the host of its stream.
    expect(html).toContain('<tr><td><a href="http://10.0.0.9:9097/">w-1</a></td><td>connected</td><td>10.0.0.9:40000</td><td>0.1.0</td><td>2</td><td>20</td><td>5 / 4</td>');
    expect(html).toContain('<tr><td>w-2</td>');
    expect(html).toContain('1m30s ago');
    expect(html).toContain('<td>1 / 10</td>');
    // Discovered, Dropped, Invalid, Kept, then Targets, Up, Down, Unknown, Unassigned: node's 4 kept targets, 1 up,
    // 1 down, 2 unknown, 1 unassigned; empty's one label set dropped by relabeling.
    expect(html).toContain('>node</a></td><td>4</td><td>0</td><td>0</td><td>4</td><td>4</td><td>1</td><td><span class="down">1</span></td><td>2</td><td>1</td><td>synced</td>');
    expect(html).toContain('>empty</a></td><td>1</td><td>1</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>synced</td>');
    expect(html).toContain('<p>Discovered = Dropped + Invalid + Kept:');
    expect(html).toContain('<h2>Unhealthy targets (1)</h2>');
    expect(html).toContain(`<a href="/api/v1/targets/${b.id}">b:9100</a></td><td>http://b:9100/metrics</td><td>w-1</td>`);
    expect(html).toContain('<span class="error">connection refused</span>');

    status.readiness = { ready: true, reasons: ['leader in term 4', 'discovery of pods is stale since 2026-01-01T00:00:00.000Z'] };
    expect(await (await fetch(`${status.url}/`)).text()).toContain('<p>Ready. leader in term 4. discovery of pods is stale since 2026-01-01T00:00:00.000Z. Generated');
  });

  it('escapes every value it shows', async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const status = await start(`
scrape_configs:
  - job_name: '<b>job</b>'
    static_configs: [{targets: ['${hostile}:80']}]
`);
    const [target] = [...status.fleet.targets()];
    if (target === undefined) throw new Error('no target');
    status.fleet.update(target.id, { owner: 'w"1\'&', health: down('<script>alert("x")</script>') });
    status.fleet.setWorkers([worker({ id: 'w"1\'&', address: '<i>addr</i>', softwareVersion: '<u>v</u>' })]);
    const html = await (await fetch(`${status.url}/`)).text();
    expect(html).not.toMatch(/<(script|img|b>|i>|u>)/);
    for (const text of [hostile, '<b>job</b>', '<script>alert("x")</script>', 'w"1\'&', '<i>addr</i>', '<u>v</u>']) expect(html).toContain(escapeHtml(text));
    expect(html).toContain(`href="/api/v1/targets?scrapePool=${escapeHtml(encodeURIComponent('<b>job</b>'))}"`);
  });

  it('shows no configuration secret anywhere', async () => {
    const status = await start(`
scrape_configs:
  - job_name: secured
    basic_auth: {username: scraper, password: pa55-not-for-eyes}
    static_configs: [{targets: ['a:9100']}]
`);
    const [target] = [...status.fleet.targets()];
    for (const path of ['/', '/api/v1/targets', `/api/v1/targets/${target?.id ?? ''}`, '/api/v1/workers']) {
      const res = await fetch(`${status.url}${path}`);
      expect(res.status).toBe(200);
      expect(await res.text()).not.toContain('pa55-not-for-eyes');
    }
  });
});

describe('the status page with the prometheus-operator source', () => {
  const config = 'scrape_configs: []\n';

  it('shows the kinds that contribute nothing and each rejected resource, escaped, since when', async () => {
    const status = await start(config, {
      operatorRejected: () => [
        { kind: 'ServiceMonitor', namespace: 'shop', name: 'web', reason: 'spec.endpoints[0].bearerTokenSecret: Secret shop/missing key "token" not found', sinceUnixMs: now - 90_000 },
        { kind: 'PodMonitor', namespace: 'ops', name: '<b>pods</b>', reason: 'the generated scrape config is invalid: invalid proxy_url "http://u:pa55@proxy:3128"', sinceUnixMs: now - 5_000 },
      ],
      operatorKindStates: () => ({ ServiceMonitor: 'listed', PodMonitor: 'listed', Probe: 'absent', ScrapeConfig: 'forbidden' }),
    });
    const html = await (await fetch(`${status.url}/`)).text();
    expect(html).toContain('<h2>prometheus-operator resources</h2>');
    expect(html).toContain('<li>Probe: not installed (its CRD is not served), so it has no resources</li>');
    expect(html).toContain('<li>ScrapeConfig: forbidden: the master&#39;s RBAC lacks list/watch on it, so it has no resources (see deploy/operator/rbac.yaml)</li>');
    expect(html).not.toContain('<li>ServiceMonitor');
    expect(html).toContain('<h3>Rejected (2)</h3>');
    // By kind in the order of the generated jobs (ServiceMonitor, PodMonitor, Probe, ScrapeConfig).
    expect(html.indexOf('<td>ServiceMonitor</td>')).toBeLessThan(html.indexOf('<td>PodMonitor</td>'));
    expect(html).toContain(`<tr><td>ServiceMonitor</td><td>shop/web</td><td><span class="error">${escapeHtml('spec.endpoints[0].bearerTokenSecret: Secret shop/missing key "token" not found')}</span></td><td><span title="2024-01-02T11:58:30Z">1m30s ago</span></td></tr>`);
    expect(html).toContain(`<td>ops/${escapeHtml('<b>pods</b>')}</td>`);
    expect(html).not.toMatch(/pa55|<b>pods/);
    expect(html).toContain('<a href="/api/v1/operator/rejected">rejected operator resources</a>');
  });

  it('says when nothing is rejected, and has no section without the source', async () => {
    const withSource = await start(config, { operatorRejected: () => [] });
    const html = await (await fetch(`${withSource.url}/`)).text();
    expect(html).toContain('<h2>prometheus-operator resources</h2>\n<h3>Rejected (0)</h3>\n<p>No rejected resources.</p>');
    const without = await start(config);
    const plain = await (await fetch(`${without.url}/`)).text();
    expect(plain).not.toContain('prometheus-operator');
    expect(plain).not.toContain('/api/v1/operator/rejected');
  });
});

describe('the status page and the API with credentials in a target’s address', () => {
  // A relabeling puts user info into __address__ (Prometheus only refuses a `/` there), so the scrape URL, the
  // instance label and a worker's error all carry the password.
  const config = `
scrape_configs:
  - job_name: userinfo
    static_configs: [{targets: ['10.0.0.1:9100']}]
    relabel_configs:
      - {source_labels: [__address__], target_label: __address__, replacement: 'scraper:pa55@word@$1'}
`;

  it.each(['/', '/api/v1/targets', '/api/v1/targets/<id>'])('%s shows the user but no password', async (path) => {
    const status = await start(config);
    const [target] = [...status.fleet.targets()];
    if (target === undefined) throw new Error('no target');
    expect(target.labels.get('__address__')).toBe('scraper:pa55@word@10.0.0.1:9100');
    status.fleet.update(target.id, { owner: 'w-1', health: down('Get "http://scraper:pa55@word@10.0.0.1:9100/metrics": connection refused') });
    const text = await (await fetch(`${status.url}${path.replace('<id>', target.id)}`)).text();
    expect(text).not.toMatch(/pa55|word@/);
    expect(text).toContain('scraper:xxxxx@10.0.0.1:9100');
  });

  it('redacts the scrape URL, instance and error in Prometheus’ fields of the targets API', async () => {
    const status = await start(config);
    const [target] = [...status.fleet.targets()];
    if (target === undefined) throw new Error('no target');
    status.fleet.update(target.id, { health: down('Get "http://scraper:pa55@word@10.0.0.1:9100/metrics": connection refused') });
    const body = (await (await fetch(`${status.url}/api/v1/targets/${target.id}`)).json()) as { data: Record<string, unknown> };
    expect(body.data).toMatchObject({
      discoveredLabels: { __address__: '10.0.0.1:9100' },
      labels: { instance: 'scraper:xxxxx@10.0.0.1:9100' },
      scrapeUrl: 'http://scraper:xxxxx@10.0.0.1:9100/metrics',
      globalUrl: 'http://scraper:xxxxx@10.0.0.1:9100/metrics',
      lastError: 'Get "http://scraper:xxxxx@10.0.0.1:9100/metrics": connection refused',
    });
  });

  it('redacts a discovered address that carries user info', async () => {
    const status = await start(`
scrape_configs:
  - job_name: discovered
    static_configs: [{targets: ['scraper:pa55@word@10.0.0.1:9100']}]
`);
    const text = await (await fetch(`${status.url}/api/v1/targets`)).text();
    expect(text).not.toContain('pa55');
    expect(JSON.parse(text)).toMatchObject({ data: { activeTargets: [{ discoveredLabels: { __address__: 'scraper:xxxxx@10.0.0.1:9100' } }] } });
  });
});

describe('statusPageView', () => {
  it(`lists at most ${maxUnhealthyShown} unhealthy targets, by job in config order, and counts them all`, async () => {
    const status = await start(`
scrape_configs:
  - job_name: zeta
    static_configs: [{targets: [${Array.from({ length: 80 }, (_, i) => `'z${i}:1'`).join(', ')}]}]
  - job_name: alpha
    static_configs: [{targets: [${Array.from({ length: 70 }, (_, i) => `'a${i}:1'`).join(', ')}]}]
`);
    for (const t of [...status.fleet.targets()]) status.fleet.update(t.id, { health: down(`failed ${t.labels.get('instance') ?? ''}`) });
    const view = statusPageView({ fleet: status.fleet, discovery: status.discovery }, { nowUnixMs: now, readiness: status.readiness });
    expect(view.unhealthyTotal).toBe(150);
    expect(view.unhealthy).toHaveLength(maxUnhealthyShown);
    expect(view.unhealthy.filter((t) => t.job === 'zeta')).toHaveLength(80);
    expect(view.unhealthy.map((t) => t.job).indexOf('alpha')).toBe(80);
    expect(renderStatusPage(view)).toContain(`<h2>Unhealthy targets (first ${maxUnhealthyShown} of 150)</h2>`);
  });

  it('adds up: Discovered = Dropped + Invalid + Kept, and Kept counts duplicates that are one target', async () => {
    const status = await start(`
scrape_configs:
  - job_name: dup
    static_configs: [{targets: ['a:1', 'b:1', 'c:1', 'gone:1']}]
    relabel_configs:
      - {source_labels: [__address__], regex: 'gone:1', action: drop}
      - {target_label: __address__, replacement: 'same:1', source_labels: [__address__], regex: '[ab]:1'}
`);
    const view = statusPageView({ fleet: status.fleet, discovery: status.discovery }, { nowUnixMs: now, readiness: status.readiness });
    const [job] = view.jobs;
    expect(job).toMatchObject({ discovered: 4, dropped: 1, invalid: 0, targets: 2, unknown: 2 });
    expect(renderStatusPage(view)).toContain('>dup</a></td><td>4</td><td>1</td><td>0</td><td>3</td><td>2</td><td>0</td><td>0</td><td>2</td><td>2</td>');
  });

  it('shows why a job\u2019s discovery fails, since when, with any password redacted', async () => {
    const status = await start(`
scrape_configs:
  - job_name: pods
    static_configs: [{targets: ['a:1']}]
  - job_name: fine
    static_configs: [{targets: ['b:1']}]
`);
    const failing = { resource: 'pods', sinceUnixMs: now - 120_000, error: 'list pods: Get "https://u:s3cret@10.96.0.1/api/v1/pods": connect ECONNREFUSED' };
    const discovery = { jobs: () => status.discovery.jobs(), discovered: (job: string) => status.discovery.discovered(job), jobError: (job: { jobName: string }) => (job.jobName === 'pods' ? failing : undefined) };
    const view = statusPageView({ fleet: status.fleet, discovery }, { nowUnixMs: now, readiness: status.readiness });
    const html = renderStatusPage(view);
    expect(html).toContain('<td>synced; <span class="down">failing since <span title="2024-01-02T11:58:00Z">2m ago</span></span>: <span class="error">pods: list pods: Get &#34;https://u:xxxxx@10.96.0.1/api/v1/pods&#34;: connect ECONNREFUSED</span></td>');
    expect(html).not.toContain('s3cret');
    expect(html).toMatch(/>fine<\/a>(<\/td><td>\d+)+<\/td><td>synced<\/td>/);
  });

  it('renders an empty fleet', () => {
    const fleet = new FakeFleet();
    const html = renderStatusPage(statusPageView({ fleet, discovery: { jobs: () => [], discovered: () => [] } }, { nowUnixMs: now, readiness: { ready: true, reasons: [] } }));
    expect(html).toContain('<p>No workers.</p>');
    expect(html).toContain('<p>No scrape jobs.</p>');
    expect(html).toContain('<h2>Unhealthy targets (0)</h2>\n<p>None.</p>');
  });
});
