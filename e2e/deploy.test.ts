/**
 * deploy/ beyond the base's own objects (e2e/manifests.test.ts): every kustomization renders with `kubectl kustomize`,
 * the overlays change only remote_write, each configuration passes `promfleet check config`, every container is
 * probed, limited and locked down, RBAC reads only (the Lease aside), the API Priority and Fairness objects serve the
 * master's service account, the alert rules pass `promtool check rules` and `promtool test rules` and point at
 * runbooks that exist, and the Grafana dashboard names only metrics the code (or issue #11's contract) exports.
 * Needs `pnpm build` first (the CLI runs from packages/cli/dist), kubectl and promtool (scripts/bootstrap.sh).
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { parseDuration } from '../packages/model/src/index.js';
import { DEFAULT_LEASE_DURATION_MS, DEFAULT_RETRY_PERIOD_MS } from '../packages/master/src/index.js';
import { VERSION } from '../packages/cli/src/cli.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/promfleet.js');

/** A rendered Kubernetes object, read loosely: the tests below name each field they rely on. */
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Reads `path` (dot-separated keys) of a parsed object; fails naming the path when a key is missing. */
function at(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null || !(key in current)) throw new Error(`no ${path} (stopped at ${key})`);
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function has(value: unknown, path: string): boolean {
  try {
    at(value, path);
    return true;
  } catch {
    return false;
  }
}

const rendered = new Map<string, K8sObject[]>();

/** The objects `kubectl kustomize DIR` renders, rendered once per directory. */
function render(dir: string): K8sObject[] {
  const done = rendered.get(dir);
  if (done !== undefined) return done;
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('kubectl not found: scripts/bootstrap.sh installs it (Debian package kubernetes-client)', { cause: err });
    throw new Error(`kubectl kustomize ${dir} failed: ${String((err as { stderr?: unknown }).stderr ?? err)}`, { cause: err });
  }
  const objects = parseAllDocuments(text).map((doc) => doc.toJS() as K8sObject);
  rendered.set(dir, objects);
  return objects;
}

const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`want one ${kind} ${name}, found ${found.length}`);
  return found[0] as K8sObject;
}

/** The configuration a rendered ConfigMap promfleet-config holds. */
function configOf(objects: readonly K8sObject[]): string {
  const text = (at(find(objects, 'ConfigMap', 'promfleet-config'), 'data') as Record<string, unknown>)['prometheus.yml'];
  if (typeof text !== 'string') throw new Error('ConfigMap promfleet-config: no prometheus.yml');
  return text;
}

/** `promfleet check config` on `text`, run from the built CLI. */
function checkConfig(text: string): { status: number | null; output: string } {
  if (!existsSync(join(root, 'packages/cli/dist/main.js'))) throw new Error('packages/cli/dist is missing: run `pnpm build` first');
  const dir = mkdtempSync(join(tmpdir(), 'promfleet-deploy-'));
  try {
    const file = join(dir, 'prometheus.yml');
    writeFileSync(file, text);
    const run = spawnSync(process.execPath, [bin, 'check', 'config', file], { encoding: 'utf8' });
    return { status: run.status, output: run.stdout + run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs promtool; fails naming Debian's package when it is missing. */
function promtool(args: readonly string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { encoding: 'utf8', cwd: root });
  if (run.error !== undefined) throw new Error(`promtool did not run (Debian package prometheus): ${run.error.message}`);
  return { status: run.status, output: run.stdout + run.stderr };
}

interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: Record<string, unknown> & { containers: Record<string, unknown>[]; initContainers?: Record<string, unknown>[] };
}

const workloadKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);
const templateOf = (o: K8sObject) => at(o, 'spec.template') as PodTemplate;

/** Whether a label selector's matchLabels all hold on `labels` (matchExpressions are not used in deploy/). */
function selects(selector: unknown, labels: Record<string, string>): boolean {
  if (has(selector, 'matchExpressions')) throw new Error('matchExpressions are not read by this test');
  const matchLabels = (has(selector, 'matchLabels') ? at(selector, 'matchLabels') : {}) as Record<string, string>;
  return Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
}

const base = render('deploy/base');
const overlays = readdirSync(join(root, 'deploy/overlays')).sort();
const masterAccount = { kind: 'ServiceAccount', name: 'promfleet-master', namespace: 'promfleet' };

describe('deploy/: every kustomization', () => {
  const dirs = ['deploy/base', ...overlays.map((o) => `deploy/overlays/${o}`), 'deploy/operator', 'deploy/rules', 'deploy/examples/worker-hpa', 'deploy/examples/without-cert-manager'];

  it('is tested here, all of them', () => {
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
        if (entry.isDirectory()) walk(`${dir}/${entry.name}`);
        else if (entry.name === 'kustomization.yaml') found.push(dir);
      }
    };
    walk('deploy');
    expect(found.sort()).toEqual([...dirs].sort());
  });

  it.each(dirs)('%s renders, each object once', (dir) => {
    const objects = render(dir);
    expect(objects.length).toBeGreaterThan(0);
    expect(new Set(objects.map(key)).size).toBe(objects.length);
  });

  it('leaves no generated file stale (node deploy/generate.mjs --check)', () => {
    const run = spawnSync(process.execPath, [join(root, 'deploy/generate.mjs'), '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});

describe('deploy/overlays', () => {
  it('are the three receivers', () => {
    expect(overlays).toEqual(['mimir', 'prometheus', 'victoriametrics']);
  });

  describe.each(overlays)('%s', (overlay) => {
    const objects = render(`deploy/overlays/${overlay}`);
    const config = parse(configOf(objects)) as Record<string, unknown>;
    const baseConfig = parse(configOf(base)) as Record<string, unknown>;

    it('renders the base, only the configuration changed', () => {
      const strip = (list: readonly K8sObject[]) => list.filter((o) => !(o.kind === 'ConfigMap' && o.metadata.name === 'promfleet-config'));
      expect(strip(objects)).toEqual(strip(base));
    });

    it("changes only the configuration's remote_write", () => {
      const { remote_write: ours, ...rest } = config;
      const { remote_write: theirs, ...baseRest } = baseConfig;
      expect(rest).toEqual(baseRest);
      expect(ours).not.toEqual(theirs);
    });

    it('writes where its receiver takes remote write', () => {
      const endpoints = config['remote_write'] as { url: string; headers?: Record<string, string> }[];
      expect(endpoints.length).toBe(1);
      const [endpoint] = endpoints;
      const expected: Record<string, RegExp> = {
        prometheus: /^http:\/\/[^/]+\/api\/v1\/write$/,
        mimir: /^http:\/\/[^/]+\/api\/v1\/push$/,
        victoriametrics: /^http:\/\/[^/]+\/api\/v1\/write$/,
      };
      expect(endpoint?.url).toMatch(expected[overlay] ?? /^$/);
      if (overlay === 'mimir') expect(Object.keys(endpoint?.headers ?? {})).toEqual(['X-Scope-OrgID']);
    });

    it('passes `promfleet check config`', () => {
      const { status, output } = checkConfig(configOf(objects));
      expect([status, output]).toEqual([0, expect.stringMatching(/: valid: 6 scrape configs, 1 remote_write endpoint\n$/)]);
    });
  });
});

describe('deploy/base', () => {
  const workloads = base.filter((o) => workloadKinds.has(o.kind));
  const containers = workloads.flatMap((w) => {
    const spec = templateOf(w).spec;
    return [...spec.containers, ...(spec.initContainers ?? [])].map((c) => [`${w.kind}/${w.metadata.name}/${String(c['name'])}`, c, w] as const);
  });
  const roles = base.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');

  it('passes `promfleet check config` with neither error nor notice', () => {
    const { status, output } = checkConfig(configOf(base));
    expect([status, output]).toEqual([0, expect.stringMatching(/^[^\n]*: valid: 6 scrape configs, 1 remote_write endpoint\n$/)]);
  });

  it('runs the master and the workers', () => {
    expect(workloads.map(key).sort()).toEqual(['Deployment/promfleet/promfleet-master', 'Deployment/promfleet/promfleet-worker']);
  });

  it.each(containers)('%s is probed, has requests and a memory limit, and is locked down', (_name, container, workload) => {
    for (const probe of ['readinessProbe', 'livenessProbe']) expect([probe, has(container, `${probe}.httpGet.path`)]).toEqual([probe, true]);
    for (const path of ['resources.requests.cpu', 'resources.requests.memory', 'resources.limits.memory']) expect([path, has(container, path)]).toEqual([path, true]);
    expect(at(container, 'securityContext.readOnlyRootFilesystem')).toBe(true);
    expect(at(container, 'securityContext.allowPrivilegeEscalation')).toBe(false);
    expect(at(container, 'securityContext.capabilities.drop')).toEqual(['ALL']);
    const pod = templateOf(workload).spec;
    expect(at(pod, 'securityContext.runAsNonRoot')).toBe(true);
    expect(at(pod, 'securityContext.seccompProfile.type')).toBe('RuntimeDefault');
  });

  it(`runs one image, promfleet:${VERSION}, everywhere`, () => {
    expect([...new Set(containers.map(([, c]) => c['image']))]).toEqual([`promfleet:${VERSION}`]);
  });

  it('enforces the restricted Pod Security Standard on its namespace', () => {
    expect(find(base, 'Namespace', 'promfleet').metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('reads only: get, list and watch, but for the Lease (create, and update on its one name)', () => {
    const writes = roles.flatMap((role) =>
      (at(role, 'rules') as Record<string, string[]>[]).flatMap((rule) =>
        (rule['verbs'] ?? []).filter((v) => !['get', 'list', 'watch'].includes(v)).map((verb) => `${role.metadata.name}: ${verb} ${(rule['resources'] ?? []).join(',')} ${(rule['resourceNames'] ?? ['*']).join(',')}`),
      ),
    );
    expect(writes.sort()).toEqual(['promfleet-master-leader-election: create leases *', 'promfleet-master-leader-election: update leases promfleet-master']);
    const wildcards = roles.flatMap((role) => (at(role, 'rules') as Record<string, string[]>[]).filter((rule) => [...(rule['verbs'] ?? []), ...(rule['resources'] ?? [])].includes('*')));
    expect(wildcards).toEqual([]);
  });

  it('grants nothing on Secrets or ConfigMaps (the operator grants, deploy/operator, are separate)', () => {
    const granted = roles.flatMap((role) => (at(role, 'rules') as Record<string, string[]>[]).flatMap((rule) => rule['resources'] ?? []));
    expect(granted.filter((r) => r === 'secrets' || r === 'configmaps')).toEqual([]);
  });

  it('gives the workers no automatic service-account token', () => {
    const worker = templateOf(find(base, 'Deployment', 'promfleet-worker')).spec;
    expect(worker['automountServiceAccountToken']).toBe(false);
  });

  describe('NetworkPolicies', () => {
    const policies = base.filter((o) => o.kind === 'NetworkPolicy');

    it.each(workloads.map((w) => [w.metadata.name, w] as const))('%s pods are selected by exactly one', (_name, workload) => {
      const labels = templateOf(workload).metadata.labels;
      expect(policies.filter((p) => selects(at(p, 'spec.podSelector'), labels)).length).toBe(1);
    });

    it('open the workers only on their http port, to workers and the monitoring namespace', () => {
      const workerLabels = templateOf(find(base, 'Deployment', 'promfleet-worker')).metadata.labels;
      const masterLabels = templateOf(find(base, 'Deployment', 'promfleet-master')).metadata.labels;
      const policy = find(base, 'NetworkPolicy', 'promfleet-worker');
      expect(selects(at(policy, 'spec.podSelector'), masterLabels)).toBe(false);
      const rules = at(policy, 'spec.ingress') as Record<string, unknown>[];
      expect(rules.flatMap((r) => (at(r, 'ports') as { port: unknown }[]).map((p) => p.port))).toEqual(['http']);
      const peers = rules.flatMap((r) => at(r, 'from') as Record<string, unknown>[]);
      for (const peer of peers) {
        if (has(peer, 'namespaceSelector')) expect(at(peer, 'namespaceSelector.matchLabels')).toEqual({ 'kubernetes.io/metadata.name': 'monitoring' });
        else expect(selects(at(peer, 'podSelector'), workerLabels) && !selects(at(peer, 'podSelector'), masterLabels)).toBe(true);
      }
    });
  });

  describe('API Priority and Fairness', () => {
    const schemas = base.filter((o) => o.kind === 'FlowSchema');
    const level = find(base, 'PriorityLevelConfiguration', 'promfleet-master');

    it("serves the master's service account, and only it, in every FlowSchema", () => {
      expect(schemas.length).toBe(2);
      for (const schema of schemas) {
        const subjects = (at(schema, 'spec.rules') as Record<string, unknown>[]).flatMap((r) => at(r, 'subjects') as Record<string, unknown>[]);
        expect(subjects).toEqual([{ kind: 'ServiceAccount', serviceAccount: { name: masterAccount.name, namespace: masterAccount.namespace } }]);
      }
      const master = templateOf(find(base, 'Deployment', 'promfleet-master')).spec;
      expect(master['serviceAccountName']).toBe(masterAccount.name);
    });

    it("sends its reads to its own bounded level, and the Lease to the control plane's leader-election level", () => {
      expect(at(find(base, 'FlowSchema', 'promfleet-master'), 'spec.priorityLevelConfiguration.name')).toBe(level.metadata.name);
      expect(at(find(base, 'FlowSchema', 'promfleet-master-leader-election'), 'spec.priorityLevelConfiguration.name')).toBe('leader-election');
      expect(at(level, 'spec.type')).toBe('Limited');
      expect(at(level, 'spec.limited.borrowingLimitPercent')).toBe(0);
      expect(at(level, 'spec.limited.limitResponse.type')).toBe('Queue');
    });

    it('matches before the catch-all service-accounts schema (9000) and after kube-system (900), the Lease first', () => {
      const precedence = (name: string) => at(find(base, 'FlowSchema', name), 'spec.matchingPrecedence') as number;
      expect(precedence('promfleet-master')).toBeGreaterThan(900);
      expect(precedence('promfleet-master')).toBeLessThan(9000);
      expect(precedence('promfleet-master-leader-election')).toBeLessThan(precedence('promfleet-master'));
    });

    it('covers every verb the Lease Role grants in the Lease schema', () => {
      const leaseRole = find(base, 'Role', 'promfleet-master-leader-election');
      const verbs = new Set((at(leaseRole, 'rules') as { verbs: string[] }[]).flatMap((r) => r.verbs));
      const rules = at(find(base, 'FlowSchema', 'promfleet-master-leader-election'), 'spec.rules') as Record<string, unknown>[];
      const covered = rules.flatMap((r) => (at(r, 'resourceRules') as { verbs: string[]; resources: string[] }[]).filter((rr) => rr.resources.includes('leases')).flatMap((rr) => rr.verbs));
      expect([...verbs].filter((v) => !covered.includes(v))).toEqual([]);
    });
  });
});

describe('deploy/operator', () => {
  const objects = render('deploy/operator');

  it("binds read-only grants to the master's service account: the four kinds, Namespaces, and get on Secrets and ConfigMaps", () => {
    const grants = objects
      .filter((o) => o.kind === 'ClusterRole')
      .flatMap((role) => (at(role, 'rules') as Record<string, string[]>[]).flatMap((rule) => (rule['resources'] ?? []).flatMap((r) => (rule['verbs'] ?? []).map((v) => `${v} ${r}`))));
    expect(grants.sort()).toEqual(
      ['servicemonitors', 'podmonitors', 'probes', 'scrapeconfigs', 'namespaces'].flatMap((r) => [`list ${r}`, `watch ${r}`]).concat(['get secrets', 'get configmaps']).sort(),
    );
    for (const binding of objects.filter((o) => o.kind === 'ClusterRoleBinding')) {
      expect(at(binding, 'subjects')).toEqual([masterAccount]);
      find(objects, 'ClusterRole', at(binding, 'roleRef.name') as string);
    }
  });
});

describe('deploy/examples', () => {
  it('worker-hpa: scales the workers, the replica count left to it, with a scale-down slower than any handover', () => {
    const objects = render('deploy/examples/worker-hpa');
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'promfleet-worker');
    const worker = find(objects, 'Deployment', 'promfleet-worker');
    expect(at(hpa, 'spec.scaleTargetRef')).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: worker.metadata.name });
    expect(hpa.metadata.namespace).toBe(worker.metadata.namespace);
    expect(has(worker, 'spec.replicas')).toBe(false);
    expect(at(hpa, 'spec.minReplicas')).toBeGreaterThanOrEqual(2);
    const stabilizationMs = (at(hpa, 'spec.behavior.scaleDown.stabilizationWindowSeconds') as number) * 1000;
    const drainMs = parseDuration(/--worker\.drain-timeout=(\S+)/.exec((at(templateOf(worker).spec.containers[0], 'args') as string[]).join(' '))?.[1] ?? '');
    expect(stabilizationMs).toBeGreaterThan((templateOf(worker).spec['terminationGracePeriodSeconds'] as number) * 1000);
    expect(stabilizationMs).toBeGreaterThan(drainMs);
    expect(stabilizationMs).toBeGreaterThan(DEFAULT_LEASE_DURATION_MS + 2.2 * DEFAULT_RETRY_PERIOD_MS);
    const rest = objects.filter((o) => o.kind !== 'HorizontalPodAutoscaler' && o !== worker);
    expect(rest).toEqual(base.filter((o) => !(o.kind === 'Deployment' && o.metadata.name === worker.metadata.name)));
  });

  it('without-cert-manager: the base without its cert-manager objects, nothing else changed', () => {
    const objects = render('deploy/examples/without-cert-manager');
    const left = objects.filter((o) => o.apiVersion.startsWith('cert-manager.io/')).length;
    if (left > 0) throw new Error(`${left} cert-manager objects left: a kustomize before v3 (kubectl before 1.21) ignores $patch: delete`);
    expect(objects).toEqual(base.filter((o) => !o.apiVersion.startsWith('cert-manager.io/')));
  });
});

/** Every `promfleet_*` name in the sources of packages/ (tests left out). */
function metricNamesInSources(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'dist' && entry.name !== 'gen') walk(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/\bpromfleet_[a-z_]+/g)) names.add(m[0]);
      }
    }
  };
  for (const pkg of readdirSync(join(root, 'packages'))) if (existsSync(join(root, 'packages', pkg, 'src'))) walk(join(root, 'packages', pkg, 'src'));
  return names;
}

/** Issue #11's shared contract: names other changes of that issue add (drop each once the code exports it). */
const contractMetrics = [
  'promfleet_config_last_reload_successful',
  'promfleet_config_last_reload_success_timestamp_seconds',
  'promfleet_operator_resources',
];

/** The metric names an expression text uses that neither the code nor the contract has (histogram suffixes read). */
function unknownMetrics(texts: readonly string[], known: ReadonlySet<string>): string[] {
  const used = new Set(texts.flatMap((t) => [...t.matchAll(/\bpromfleet_[a-z_]+/g)].map((m) => m[0])));
  const exists = (name: string) => known.has(name) || contractMetrics.includes(name) || (/_(bucket|count|sum)$/.test(name) && known.has(name.replace(/_(bucket|count|sum)$/, '')));
  return [...used].filter((n) => !exists(n)).sort();
}

/** GitHub's anchor for a Markdown heading. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

const known = metricNamesInSources();
const rulesFile = 'deploy/rules/promfleet.rules.yml';

describe(rulesFile, () => {
  const rules = (parse(readFileSync(join(root, rulesFile), 'utf8')) as { groups: { rules: Record<string, unknown>[] }[] }).groups.flatMap((g) => g.rules);
  const operations = readFileSync(join(root, 'docs/operations.md'), 'utf8');
  const anchors = new Set([...operations.matchAll(/^#+ (.+)$/gm)].map((m) => anchorOf(m[1] ?? '')));

  it('passes promtool check rules', () => {
    const { status, output } = promtool(['check', 'rules', rulesFile]);
    expect([status, output]).toEqual([0, expect.stringContaining('SUCCESS')]);
  });

  it('passes promtool test rules (deploy/rules/promfleet.rules.test.yml)', () => {
    const { status, output } = promtool(['test', 'rules', 'deploy/rules/promfleet.rules.test.yml']);
    expect([status, output]).toEqual([0, expect.stringContaining('SUCCESS')]);
  });

  it('alerts on every failure the fleet can have', () => {
    expect(rules.map((r) => r['alert'])).toEqual([
      'PromfleetWorkerDown',
      'PromfleetTargetsUnassigned',
      'PromfleetRemoteWriteFailing',
      'PromfleetRemoteWriteBehind',
      'PromfleetRemoteWriteQueueFilling',
      'PromfleetSamplesDropped',
      'PromfleetDiscoveryStale',
      'PromfleetNoLeader',
      'PromfleetTwoLeaders',
      'PromfleetConfigReloadFailed',
      'PromfleetOperatorResourcesRejected',
    ]);
  });

  it('tests every alert, firing and not firing', () => {
    const tests = (parse(readFileSync(join(root, 'deploy/rules/promfleet.rules.test.yml'), 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] }).tests.flatMap((t) => t.alert_rule_test);
    for (const rule of rules) {
      const cases = tests.filter((t) => t.alertname === rule['alert']);
      expect([rule['alert'], cases.some((c) => c.exp_alerts.length > 0), cases.some((c) => c.exp_alerts.length === 0)]).toEqual([rule['alert'], true, true]);
    }
  });

  it.each(rules.map((r) => [String(r['alert']), r] as const))('%s has a summary, a description and a runbook in docs/operations.md', (name, rule) => {
    const annotations = at(rule, 'annotations') as Record<string, string>;
    expect(Object.keys(annotations).sort()).toEqual(['description', 'runbook_url', 'summary']);
    expect(annotations['runbook_url']).toBe(`docs/operations.md#${name.toLowerCase()}`);
    expect(anchors.has(name.toLowerCase())).toBe(true);
  });

  it('uses only metrics the code exports', () => {
    expect(unknownMetrics(rules.map((r) => String(r['expr'])), known)).toEqual([]);
  });

  it('is the PrometheusRule of deploy/rules, the same groups', () => {
    const [rule] = render('deploy/rules');
    expect(rule?.kind).toBe('PrometheusRule');
    expect(at(rule, 'spec.groups')).toEqual((parse(readFileSync(join(root, rulesFile), 'utf8')) as { groups: unknown }).groups);
  });
});

describe('deploy/grafana/promfleet.json', () => {
  const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/promfleet.json'), 'utf8')) as Record<string, unknown>;
  /** Every value under `key` anywhere in the dashboard. */
  const everywhere = (key: string): unknown[] => {
    const found: unknown[] = [];
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (typeof v === 'object' && v !== null) {
        for (const [k, child] of Object.entries(v)) {
          if (k === key) found.push(child);
          walk(child);
        }
      }
    };
    walk(dashboard);
    return found;
  };
  const exprs = everywhere('expr').map(String);

  it('is a current dashboard (schemaVersion 36 or later) with a Prometheus data source variable', () => {
    expect(dashboard['schemaVersion']).toBeGreaterThanOrEqual(36);
    const variables = at(dashboard, 'templating.list') as Record<string, unknown>[];
    expect(variables.filter((v) => v['type'] === 'datasource').map((v) => [v['name'], v['query']])).toEqual([['datasource', 'prometheus']]);
  });

  it('names no data source but through the variable', () => {
    const sources = everywhere('datasource');
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.filter((s) => JSON.stringify(s) !== JSON.stringify({ type: 'prometheus', uid: '${datasource}' }))).toEqual([]);
  });

  it('uses only metrics the code exports', () => {
    expect(exprs.length).toBeGreaterThan(30);
    expect(unknownMetrics(exprs, known)).toEqual([]);
  });

  it('has panels in every part: fleet, scrapes, remote write, the API, leadership', () => {
    const rows = (at(dashboard, 'panels') as { type: string; title: string }[]).filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual(['Fleet', 'Scrape health', 'Remote write', 'Master: Kubernetes API and discovery', 'Leader election, configuration and operator resources']);
  });

  it('holds only expressions Prometheus parses (checked by promtool as recording rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'promfleet-dashboard-'));
    try {
      const file = join(dir, 'dashboard.rules.yml');
      const rules = exprs.map((expr, i) => ({ record: `dashboard:expr_${i}`, expr: expr.replaceAll('$__rate_interval', '5m').replaceAll('$namespace', 'promfleet') }));
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      const { status, output } = promtool(['check', 'rules', file]);
      expect([status, output]).toEqual([0, expect.stringContaining('SUCCESS')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("README: the kustomizations it tells users to write", () => {
  /** The README's YAML block that starts with `first`, written as my-promfleet/kustomization.yaml beside a link to this repository, rendered. */
  function renderReadmeKustomization(first: string, files: Readonly<Record<string, string>>): K8sObject[] {
    const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const block = blocks.find((b) => b.startsWith(first));
    if (block === undefined) throw new Error(`README.md has no yaml block starting with ${JSON.stringify(first)}`);
    const dir = mkdtempSync(join(tmpdir(), 'promfleet-readme-'));
    try {
      symlinkSync(root, join(dir, 'promfleet'));
      mkdirSync(join(dir, 'my-promfleet'));
      writeFileSync(join(dir, 'my-promfleet', 'kustomization.yaml'), block);
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'my-promfleet', name), text);
      copyFileSync(join(root, 'deploy/overlays/mimir/prometheus.yml'), join(dir, 'my-promfleet', 'prometheus.yml'));
      const text = execFileSync('kubectl', ['kustomize', join(dir, 'my-promfleet')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return parseAllDocuments(text).map((doc) => doc.toJS() as K8sObject);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const containersOf = (o: K8sObject) => at(o, 'spec.template.spec.containers') as { image: string; args: string[] }[];

  it('the install: every container runs the image the user named, with the user\'s configuration', () => {
    const objects = renderReadmeKustomization('# my-promfleet/kustomization.yaml', {});
    const images = objects.filter((o) => o.kind === 'Deployment').flatMap((o) => containersOf(o).map((c) => c.image));
    expect(images.length).toBeGreaterThan(0);
    expect(new Set(images)).toEqual(new Set(['registry.example.com/promfleet:0.1.0']));
    expect(configOf(objects)).toBe(readFileSync(join(root, 'deploy/overlays/mimir/prometheus.yml'), 'utf8'));
  });

  it('prometheus-operator resources: the master reads the Prometheus resource\'s file, and may list the four kinds', () => {
    const operatorYaml = 'apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: k8s, namespace: monitoring}\nspec:\n  serviceMonitorSelector: {}\n';
    const objects = renderReadmeKustomization('# in my-promfleet/kustomization.yaml', { 'operator.yaml': operatorYaml });
    const [master] = containersOf(find(objects, 'Deployment', 'promfleet-master'));
    const flag = master?.args.find((a) => a.startsWith('--operator.config='));
    expect(flag).toBe('--operator.config=/etc/promfleet/config/operator.yaml');
    expect((at(find(objects, 'ConfigMap', 'promfleet-config'), 'data') as Record<string, unknown>)['operator.yaml']).toBe(operatorYaml);
    const rules = objects.filter((o) => o.kind === 'ClusterRole').flatMap((o) => at(o, 'rules') as { resources?: string[]; verbs: string[] }[]);
    for (const resource of ['servicemonitors', 'podmonitors', 'probes', 'scrapeconfigs']) {
      expect(rules.some((r) => (r.resources ?? []).includes(resource) && r.verbs.includes('list') && r.verbs.includes('watch'))).toBe(true);
    }
  });
});
