/**
 * deploy/base: the kustomize base (rendered with `kubectl kustomize`) and the image, checked against the code they
 * configure. No cluster and no container engine are needed: the RBAC rules are compared with the watches the
 * master's own discovery plans and with what the configuration's jobs scrape, the containers' flags with the CLI's,
 * the files the configuration names with the workers' mounts, and the Dockerfile's paths with the repository. The
 * overlays, examples, rules and dashboard are checked in deploy.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import {
  buildTarget,
  formatConfigIssue,
  parseConfig,
  parseDuration,
  parseSize,
  scrapeUrl,
  type HttpClientConfig,
  type PrometheusConfig,
} from '../packages/model/src/index.js';
import { KubernetesDiscovery, discoverFromObjects, parseLeaseRef, readObjectList } from '../packages/master/src/index.js';
import type { FlagTable } from '../packages/cli/src/flags.js';
import { masterFlags } from '../packages/cli/src/master-command.js';
import { workerFlags } from '../packages/cli/src/worker-command.js';
import { VERSION } from '../packages/cli/src/cli.js';
import { DEFAULT_SECRET_DIRS } from '../packages/worker/src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dockerfile = 'deploy/Dockerfile';

/** A value inside a parsed manifest, with reads that fail naming where they looked. */
class Node {
  constructor(
    readonly value: unknown,
    readonly where: string,
  ) {}

  has(key: string): boolean {
    return typeof this.value === 'object' && this.value !== null && !Array.isArray(this.value) && Object.hasOwn(this.value, key);
  }

  get(key: string): Node {
    if (!this.has(key)) throw new Error(`${this.where}: no "${key}"`);
    return new Node((this.value as Record<string, unknown>)[key], `${this.where}.${key}`);
  }

  list(): Node[] {
    if (!Array.isArray(this.value)) throw new Error(`${this.where}: not a list`);
    return this.value.map((v: unknown, i) => new Node(v, `${this.where}[${i}]`));
  }

  text(): string {
    if (typeof this.value !== 'string') throw new Error(`${this.where}: not a string but ${JSON.stringify(this.value)}`);
    return this.value;
  }

  number(): number {
    if (typeof this.value !== 'number') throw new Error(`${this.where}: not a number but ${JSON.stringify(this.value)}`);
    return this.value;
  }

  texts(): string[] {
    return this.list().map((n) => n.text());
  }

  /** A string → string mapping, such as labels. */
  labels(): Map<string, string> {
    if (typeof this.value !== 'object' || this.value === null || Array.isArray(this.value)) throw new Error(`${this.where}: not a mapping`);
    return new Map(Object.keys(this.value).map((k) => [k, this.get(k).text()]));
  }
}

/** The objects `kubectl kustomize` renders from a kustomization directory. */
class Manifest {
  readonly objects: Node[];

  constructor(readonly file: string) {
    const docs = parseAllDocuments(kustomize(file));
    if (!Array.isArray(docs)) throw new Error(`${file}: no YAML documents`);
    this.objects = docs.map((doc, i) => {
      if (doc.errors.length > 0) throw new Error(`${file} document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return new Node(doc.toJS(), `${file}[${i}]`);
    });
  }

  /** The one object of `kind` named `name`. */
  object(kind: string, name: string): Node {
    const found = this.objects.filter((o) => o.get('kind').value === kind && o.get('metadata').get('name').value === name);
    if (found.length !== 1) throw new Error(`${this.file}: want one ${kind} ${name}, found ${found.length}`);
    return found[0] as Node;
  }
}

/** What `kubectl kustomize DIR` prints; fails naming the way to get kubectl when there is none. */
function kustomize(dir: string): string {
  try {
    return execFileSync('kubectl', ['kustomize', join(root, dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('kubectl not found: scripts/bootstrap.sh installs it (Debian package kubernetes-client)', { cause: err });
    throw err;
  }
}

/** A Deployment of one container running a `promfleet` subcommand with `--name=value` flags. */
class Workload {
  readonly podSpec: Node;
  readonly podLabels: Map<string, string>;
  readonly container: Node;
  readonly args: string[];
  /** The container's `--name=value` flags, after the subcommand. */
  readonly flags: Map<string, string>;
  /** Container ports by name. */
  readonly ports: Map<string, number>;

  constructor(readonly deployment: Node) {
    this.podSpec = deployment.get('spec').get('template').get('spec');
    this.podLabels = deployment.get('spec').get('template').get('metadata').get('labels').labels();
    const containers = this.podSpec.get('containers').list();
    if (containers.length !== 1) throw new Error(`${this.podSpec.where}.containers: want one container, found ${containers.length}`);
    this.container = containers[0] as Node;
    this.args = this.container.get('args').texts();
    this.flags = new Map(
      this.args.slice(1).map((arg) => {
        const m = /^--([^=]+)=(.*)$/s.exec(arg);
        if (m === null || m[1] === undefined || m[2] === undefined) throw new Error(`${this.container.where}.args: ${JSON.stringify(arg)} is not --name=value`);
        return [m[1], m[2]];
      }),
    );
    this.ports = new Map(this.container.get('ports').list().map((p) => [p.get('name').text(), p.get('containerPort').number()]));
  }

  /** The value of `--name`; fails when the container does not set it. */
  flag(name: string): string {
    const value = this.flags.get(name);
    if (value === undefined) throw new Error(`${this.container.where}.args: no --${name}`);
    return value;
  }

  /** A probe's or Service's port, by number or by the container port's name. */
  port(port: Node): number {
    if (typeof port.value === 'number') return port.value;
    const byName = this.ports.get(port.text());
    if (byName === undefined) throw new Error(`${port.where}: no container port named ${JSON.stringify(port.value)}`);
    return byName;
  }

  /**
   * Where `file` comes from in the container: the volume mount whose directory holds it, that mount's volume, and the
   * file's path inside the volume; undefined when no mount holds it.
   */
  mountOf(file: string): { mount: Node; volume: Node; path: string } | undefined {
    const mounts = this.container.has('volumeMounts') ? this.container.get('volumeMounts').list() : [];
    const mount = mounts.find((m) => file.startsWith(`${m.get('mountPath').text().replace(/\/+$/, '')}/`));
    if (mount === undefined) return undefined;
    const volume = this.podSpec
      .get('volumes')
      .list()
      .find((v) => v.get('name').value === mount.get('name').value);
    if (volume === undefined) throw new Error(`${mount.where}: no volume ${JSON.stringify(mount.get('name').value)}`);
    return { mount, volume, path: posix.relative(mount.get('mountPath').text(), file) };
  }

  /** The container's environment variables by name; fails when one is set twice. */
  env(): Map<string, Node> {
    const vars = new Map<string, Node>();
    for (const e of this.container.get('env').list()) {
      const name = e.get('name').text();
      if (vars.has(name)) throw new Error(`${e.where}: ${name} is set twice`);
      vars.set(name, e);
    }
    return vars;
  }
}

/** The port of a `host:port` listen address. */
function listenPort(address: string): number {
  const m = /:(\d{1,5})$/.exec(address);
  if (m === null) throw new Error(`listen address ${JSON.stringify(address)} has no port`);
  return Number(m[1]);
}

/** A memory quantity in Mi or Gi, in MiB. */
function mib(q: Node): number {
  const m = /^(\d+)(Mi|Gi)$/.exec(q.text());
  if (m === null) throw new Error(`${q.where}: want a quantity in Mi or Gi`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
}

/** Whether a selector's labels all hold on `labels`. */
function selects(selector: ReadonlyMap<string, string>, labels: ReadonlyMap<string, string>): boolean {
  return [...selector].every(([k, v]) => labels.get(k) === v);
}

/**
 * Whether a volume provides the file at `path` inside it: a projected service-account token or an item of a projected
 * or plain ConfigMap or Secret by its path; any path of a ConfigMap or Secret given whole (its keys are not known here).
 */
function provides(volume: Node, path: string): boolean {
  const itemPaths = (source: Node) => (source.has('items') ? source.get('items').list().map((i) => i.get('path').text()) : undefined);
  for (const kind of ['secret', 'configMap']) {
    if (!volume.has(kind)) continue;
    const items = itemPaths(volume.get(kind));
    return items === undefined ? !path.includes('/') : items.includes(path);
  }
  if (!volume.has('projected')) return false;
  return volume
    .get('projected')
    .get('sources')
    .list()
    .some((source) => {
      if (source.has('serviceAccountToken')) return source.get('serviceAccountToken').get('path').text() === path;
      const kind = ['secret', 'configMap'].find((k) => source.has(k));
      return kind !== undefined && (itemPaths(source.get(kind)) ?? []).includes(path);
    });
}

const base = new Manifest('deploy/base');
const masterManifest = base;
const master = new Workload(masterManifest.object('Deployment', 'promfleet-master'));
const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'FlowSchema', 'PriorityLevelConfiguration']);
const namespace = masterManifest.object('Namespace', 'promfleet').get('metadata').get('name').text();
const configMapName = 'promfleet-config';
const configText = masterManifest.object('ConfigMap', configMapName).get('data').get('prometheus.yml').text();

/**
 * Every `group/resource` the master's discovery lists and watches, whatever the configuration: one job per role,
 * each with every `attach_metadata`, planned by the master's own `KubernetesDiscovery` (watches.ts `needsOf`). The
 * client factory refuses, so no request is made; the watches are planned all the same.
 */
async function resourcesDiscoveryReads(): Promise<Set<string>> {
  const roles = ['pod', 'service', 'endpoints', 'endpointslice', 'node', 'ingress'];
  const text = `scrape_configs:\n${roles
    .map((role) => `  - job_name: ${role}\n    kubernetes_sd_configs:\n      - role: ${role}\n        attach_metadata: {node: true, namespace: true, deployment: true, job: true, cronjob: true}\n`)
    .join('')}`;
  const parsed = parseConfig(text, { file: 'every-role.yml' });
  if (!parsed.ok) throw new Error(parsed.errors.map(formatConfigIssue).join('\n'));
  const discovery = new KubernetesDiscovery({
    clientFor: () => {
      throw new Error('this test makes no API request');
    },
  });
  for (const job of parsed.config.scrapeConfigs) for (const sd of job.kubernetesSdConfigs) discovery.discoverer(sd);
  // The watches are planned as the run starts (each fails at once on the refusing client); then it stops.
  const controller = new AbortController();
  const running = discovery.run(controller.signal);
  const planned = new Set(discovery.watches.map((w) => `${w.resource.group}/${w.resource.plural}`));
  controller.abort();
  await running;
  return planned;
}

describe(`${base.file}: the master`, () => {
  const { objects } = masterManifest;
  const deployment = master.deployment;
  const { podSpec, container } = master;
  const key = (o: Node) => `${o.get('kind').text()}/${o.get('metadata').has('namespace') ? o.get('metadata').get('namespace').text() : ''}/${o.get('metadata').get('name').text()}`;

  it('holds the objects the master and the workers need, each once', () => {
    expect(objects.map((o) => o.get('kind').text()).sort()).toEqual(
      [
        ...['Namespace', 'ConfigMap', 'Service', 'PriorityLevelConfiguration', 'Role', 'RoleBinding'],
        ...['FlowSchema', 'FlowSchema'],
        ...['Issuer', 'Issuer', 'Certificate', 'Certificate', 'Certificate'],
        ...['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'PodDisruptionBudget', 'NetworkPolicy'].flatMap((kind) => [kind, kind]),
      ].sort(),
    );
    expect(new Set(objects.map(key)).size).toBe(objects.length);
  });

  it.each(objects.map((o) => [o.where, o] as const))('%s has apiVersion, kind, metadata.name and its namespace', (_where, o) => {
    expect(o.get('apiVersion').text()).toMatch(/^([a-z0-9.-]+\/)?v\d+$/);
    const kind = o.get('kind').text();
    expect(o.get('metadata').get('name').text()).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    if (clusterScoped.has(kind)) expect(o.get('metadata').has('namespace')).toBe(false);
    else expect(o.get('metadata').get('namespace').text()).toBe(namespace);
  });

  describe('RBAC', () => {
    const role = masterManifest.object('ClusterRole', 'promfleet-master');
    const rules = role.get('rules').list();

    it('grants list and watch, and nothing else, on exactly the resources discovery reads', async () => {
      const reads = await resourcesDiscoveryReads();
      const granted = new Set<string>();
      for (const rule of rules) {
        expect([...rule.get('verbs').texts()].sort()).toEqual(['list', 'watch']);
        expect(rule.has('resourceNames') || rule.has('nonResourceURLs')).toBe(false);
        for (const group of rule.get('apiGroups').texts()) for (const resource of rule.get('resources').texts()) granted.add(`${group}/${resource}`);
      }
      expect([...granted].sort()).toEqual([...reads].sort());
    });

    it('binds the role to the service account the master runs as', () => {
      const binding = masterManifest.object('ClusterRoleBinding', 'promfleet-master');
      const account = podSpec.get('serviceAccountName').text();
      masterManifest.object('ServiceAccount', account);
      expect(binding.get('roleRef').get('kind').text()).toBe('ClusterRole');
      expect(binding.get('roleRef').get('name').text()).toBe(role.get('metadata').get('name').text());
      expect(binding.get('subjects').list().map((s) => [s.get('kind').text(), s.get('name').text(), s.get('namespace').text()])).toEqual([
        ['ServiceAccount', account, namespace],
      ]);
    });
  });

  describe('leader election', () => {
    /** The Lease `--leader-election.lease` names, `$(POD_NAMESPACE)` expanded as the kubelet does from the env. */
    const leaseOf = () => {
      const podNamespace = master.env().get('POD_NAMESPACE')?.get('valueFrom').get('fieldRef').get('fieldPath').text();
      expect(podNamespace).toBe('metadata.namespace');
      return parseLeaseRef(master.flag('leader-election.lease').replace('$(POD_NAMESPACE)', namespace));
    };
    const role = masterManifest.object('Role', 'promfleet-master-leader-election');

    it('elects on a Lease in the pod\'s own namespace', () => {
      expect(leaseOf()).toEqual({ namespace, name: 'promfleet-master' });
    });

    it('may get and update that one Lease and create Leases (create cannot be limited by name), and nothing else', () => {
      const grants = role
        .get('rules')
        .list()
        .flatMap((rule) =>
          rule.get('apiGroups').texts().flatMap((group) =>
            rule.get('resources').texts().flatMap((resource) =>
              rule.get('verbs').texts().map((verb) => [group, resource, verb, rule.has('resourceNames') ? rule.get('resourceNames').texts().join(',') : '*'].join(' ')),
            ),
          ),
        );
      const { name } = leaseOf();
      expect(grants.sort()).toEqual([`coordination.k8s.io leases create *`, `coordination.k8s.io leases get ${name}`, `coordination.k8s.io leases update ${name}`]);
      expect(role.get('metadata').get('namespace').text()).toBe(leaseOf().namespace);
    });

    it('binds that Role to the service account the master runs as', () => {
      const binding = masterManifest.object('RoleBinding', 'promfleet-master-leader-election');
      expect(binding.get('roleRef').get('kind').text()).toBe('Role');
      expect(binding.get('roleRef').get('name').text()).toBe(role.get('metadata').get('name').text());
      expect(binding.get('subjects').list().map((s) => [s.get('kind').text(), s.get('name').text(), s.get('namespace').text()])).toEqual([
        ['ServiceAccount', podSpec.get('serviceAccountName').text(), namespace],
      ]);
    });

    it('keeps the leader from voluntary disruptions while standbys (never Ready) stay evictable', () => {
      const budget = masterManifest.object('PodDisruptionBudget', 'promfleet-master');
      expect(budget.get('spec').get('minAvailable').number()).toBe(1);
      expect(budget.get('spec').get('unhealthyPodEvictionPolicy').text()).toBe('AlwaysAllow');
      const selector = budget.get('spec').get('selector').get('matchLabels').labels();
      expect(selector.size).toBeGreaterThan(0);
      for (const [k, v] of selector) expect([k, master.podLabels.get(k)]).toEqual([k, v]);
    });
  });

  describe('the Deployment', () => {
    it('runs two masters, and rolls out without waiting for a standby to become Ready (only the leader is)', () => {
      expect(deployment.get('spec').get('replicas').number()).toBe(2);
      const strategy = deployment.get('spec').get('strategy');
      expect(strategy.get('type').text()).toBe('RollingUpdate');
      expect(strategy.get('rollingUpdate').get('maxSurge').text()).toBe('100%');
      expect(strategy.get('rollingUpdate').get('maxUnavailable').text()).toBe('100%');
    });

    it('selects its own pods', () => {
      const selector = deployment.get('spec').get('selector').get('matchLabels').labels();
      for (const [k, v] of selector) expect([k, master.podLabels.get(k)]).toEqual([k, v]);
    });

    it('runs `promfleet master` with flags the CLI accepts, required ones included', () => {
      expect(master.args[0]).toBe('master');
      const known: FlagTable = masterFlags;
      expect([...master.flags.keys()].filter((name) => !Object.hasOwn(known, name))).toEqual([]);
      for (const [name, spec] of Object.entries(known)) if (spec.required === true) expect([name, master.flags.has(name)]).toEqual([name, true]);
    });

    it.each([
      ['http', 'web.listen-address'],
      ['grpc', 'grpc.listen-address'],
    ])('exposes the %s port the --%s flag listens on', (name, flag) => {
      expect(master.ports.get(name)).toBe(listenPort(master.flag(flag)));
    });

    it.each([
      ['readinessProbe', '/-/ready'],
      ['livenessProbe', '/-/healthy'],
    ])('points its %s at %s on the web port', (probe, path) => {
      const get = container.get(probe).get('httpGet');
      expect(get.get('path').text()).toBe(path);
      expect(master.port(get.get('port'))).toBe(listenPort(master.flag('web.listen-address')));
    });

    it('gives the master its pod name (POD_NAME, its id) from the downward API', () => {
      expect(master.env().get('POD_NAME')?.get('valueFrom').get('fieldRef').get('fieldPath').text()).toBe('metadata.name');
    });

    it('reads --config.file from the ConfigMap, mounted', () => {
      const file = master.flag('config.file');
      const mount = container
        .get('volumeMounts')
        .list()
        .find((m) => file.startsWith(`${m.get('mountPath').text()}/`));
      if (mount === undefined) throw new Error(`--config.file=${file} is not under a volume mount`);
      const volume = podSpec
        .get('volumes')
        .list()
        .find((v) => v.get('name').value === mount.get('name').value);
      if (volume === undefined) throw new Error(`no volume ${JSON.stringify(mount.get('name').value)}`);
      const configMap = masterManifest.object('ConfigMap', volume.get('configMap').get('name').text());
      expect(configMap.get('data').has(posix.relative(mount.get('mountPath').text(), file))).toBe(true);
    });

    it('runs as a non-root user with a read-only root filesystem and no capabilities', () => {
      const pod = podSpec.get('securityContext');
      const own = container.get('securityContext');
      expect(pod.get('runAsNonRoot').value).toBe(true);
      expect(pod.get('runAsUser').number()).toBeGreaterThan(0);
      expect(own.get('readOnlyRootFilesystem').value).toBe(true);
      expect(own.get('allowPrivilegeEscalation').value).toBe(false);
      expect(own.get('capabilities').get('drop').texts()).toEqual(['ALL']);
    });

    it('sets memory requests and limits, and a heap limit below the memory limit', () => {
      const resources = container.get('resources');
      const request = mib(resources.get('requests').get('memory'));
      const limit = mib(resources.get('limits').get('memory'));
      expect(request).toBeLessThanOrEqual(limit);
      const heap = /--max-old-space-size=(\d+)/.exec(master.env().get('NODE_OPTIONS')?.get('value').text() ?? '');
      expect(Number(heap?.[1])).toBeLessThan(limit);
    });

    it(`runs the image of this version (promfleet:${VERSION})`, () => {
      expect(container.get('image').text()).toMatch(new RegExp(`(^|/)promfleet:${VERSION.replaceAll('.', '\\.')}$`));
    });
  });

  describe('the Service', () => {
    const service = masterManifest.object('Service', 'promfleet-master');
    const ports = service.get('spec').get('ports').list();

    it('selects the master pods', () => {
      const selector = service.get('spec').get('selector').labels();
      expect(selector.size).toBeGreaterThan(0);
      for (const [k, v] of selector) expect([k, master.podLabels.get(k)]).toEqual([k, v]);
    });

    it('exposes both ports by name, each targeting the container port of that name', () => {
      expect(ports.map((p) => p.get('name').text()).sort()).toEqual(['grpc', 'http']);
      for (const p of ports) {
        const target = p.get('targetPort').text();
        expect([target, master.ports.has(target)]).toEqual([p.get('name').text(), true]);
      }
    });

    it('routes only to Ready masters: readiness means the leader (recovering included)', () => {
      expect(service.get('spec').has('publishNotReadyAddresses')).toBe(false);
    });
  });

  describe('the NetworkPolicy', () => {
    const policy = masterManifest.object('NetworkPolicy', 'promfleet-master');

    it('lets the master reach DNS and the API server, and nothing else', () => {
      const egress = policy.get('spec').get('egress').list();
      const ports = egress.flatMap((rule) => rule.get('ports').list().map((p) => `${p.get('protocol').text()}/${p.get('port').number()}`));
      expect(ports.sort()).toEqual(['TCP/443', 'TCP/53', 'TCP/6443', 'UDP/53']);
    });

    const spec = policy.get('spec');
    const rules = spec.get('ingress').list();
    const grpcPort = () => listenPort(master.flag('grpc.listen-address'));
    const httpPort = () => listenPort(master.flag('web.listen-address'));
    /** The container ports a rule opens, named ports resolved. */
    const portsOf = (rule: Node) => rule.get('ports').list().map((p) => master.port(p.get('port')));
    /** The pods of this namespace a peer admits (a podSelector alone); undefined for other namespaces or IP blocks. */
    const podSelectorOf = (peer: Node) => {
      if (peer.has('namespaceSelector') || peer.has('ipBlock')) return undefined;
      const selector = peer.get('podSelector');
      if (selector.has('matchExpressions')) throw new Error(`${selector.where}: matchExpressions are not read by this test`);
      return selector.has('matchLabels') ? selector.get('matchLabels').labels() : new Map<string, string>();
    };

    it('applies to the master pods, and only to them, for ingress', () => {
      const selector = spec.get('podSelector').get('matchLabels').labels();
      expect(selects(selector, master.podLabels)).toBe(true);
      expect(selects(selector, worker.podLabels)).toBe(false);
      expect(spec.get('policyTypes').texts()).toContain('Ingress');
    });

    it('names the ports and the sources of every rule, so that none opens everything', () => {
      for (const rule of rules) {
        expect([rule.where, rule.has('ports') && rule.get('ports').list().length > 0]).toEqual([rule.where, true]);
        expect([rule.where, rule.has('from') && rule.get('from').list().length > 0]).toEqual([rule.where, true]);
        for (const p of rule.get('ports').list()) expect(p.has('endPort')).toBe(false);
      }
    });

    it('lets only worker pods reach the gRPC port', () => {
      const grpcRules = rules.filter((r) => portsOf(r).includes(grpcPort()));
      expect(grpcRules.length).toBeGreaterThan(0);
      for (const peer of grpcRules.flatMap((r) => r.get('from').list())) {
        const selector = podSelectorOf(peer);
        expect([peer.where, selector !== undefined && selects(selector, worker.podLabels) && !selects(selector, master.podLabels)]).toEqual([peer.where, true]);
      }
    });

    it('lets the workers reach the HTTP port, which the promfleet job scrapes', () => {
      const port = (address: string) => Number(/:(\d+)$/.exec(address)?.[1]);
      expect(selfScrapeTargets().filter((t) => t.component === 'master').map((t) => port(t.address))).toEqual([httpPort()]);
      const peers = rules.filter((r) => portsOf(r).includes(httpPort())).flatMap((r) => r.get('from').list());
      const admitsWorkers = (peer: Node) => {
        const selector = podSelectorOf(peer);
        return selector !== undefined && selects(selector, worker.podLabels);
      };
      expect(peers.some(admitsWorkers)).toBe(true);
    });
  });

  it('ships a prometheus.yml that loads with no error and no notice', () => {
    const result = parseConfig(configText, { file: `${configMapName}/prometheus.yml` });
    expect(result.ok ? [] : result.errors.map(formatConfigIssue)).toEqual([]);
    expect(result.notices.map(formatConfigIssue)).toEqual([]);
    if (!result.ok) return;
    expect(result.config.remoteWrite.map((rw) => rw.url)).toEqual(['http://prometheus.monitoring.svc:9090/api/v1/write']);
    expect(result.config.scrapeConfigs.flatMap((j) => j.kubernetesSdConfigs).length).toBeGreaterThan(0);
  });
});

/** Where Kubernetes mounts a pod's service-account token, with the cluster CA and the namespace beside it. */
const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';
const serviceAccountFiles = new Set(['token', 'ca.crt', 'namespace']);
/** How long a stopping worker may spend flushing its remote-write queues (`ScrapeManager`'s `flushDeadlineMs`). */
const queueFlushMs = 10_000;

/** The master's configuration as the master reads it: relative `*_file` paths join its --config.file's directory. */
const masterConfig: PrometheusConfig = (() => {
  const parsed = parseConfig(configText, { file: master.flag('config.file') });
  if (!parsed.ok) throw new Error(parsed.errors.map(formatConfigIssue).join('\n'));
  return parsed.config;
})();

/**
 * The targets the configuration's `promfleet` job finds among the base's own pods (one pod per Deployment, from its
 * template, in the master's namespace): each one's `__address__` and `component` label.
 */
function selfScrapeTargets(): { address: string; component: string }[] {
  const job = masterConfig.scrapeConfigs.find((j) => j.jobName === 'promfleet');
  if (job === undefined) throw new Error('the configuration has no promfleet job');
  const pods = [master, worker].map((w, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${i}`, namespace, uid: `uid-${i}`, resourceVersion: '1', labels: Object.fromEntries(w.podLabels) },
    spec: { nodeName: 'node-a', containers: [{ name: w.container.get('name').text(), ports: [...w.ports].map(([name, containerPort]) => ({ name, containerPort, protocol: 'TCP' })) }] },
    status: { phase: 'Running', podIP: `10.1.0.${i + 1}`, conditions: [{ type: 'Ready', status: 'True' }] },
  }));
  const { objects } = readObjectList({ kind: 'List', items: pods });
  return job.kubernetesSdConfigs.flatMap((sd) =>
    discoverFromObjects(sd, objects, { ownNamespace: namespace }).flatMap((group) =>
      group.targets.flatMap((labels) => {
        const built = buildTarget(job, labels, group.labels);
        if (built.kind !== 'kept') return [];
        return [{ address: built.target.labels.get('__address__') ?? '', component: built.target.labels.get('component') ?? '' }];
      }),
    ),
  );
}

/**
 * Every file the configuration names that a worker reads: the scrape jobs' and the remote-write endpoints' HTTP
 * client files (credentials, TLS, header values). The master sends the paths, not the contents, and the worker reads
 * them at each request. The files of `kubernetes_sd_configs` are the master's own, so they are not listed.
 */
function filesWorkersRead(config: PrometheusConfig): { file: string; where: string }[] {
  const clients: [string, HttpClientConfig][] = [
    ...config.scrapeConfigs.map((j): [string, HttpClientConfig] => [`job ${j.jobName}`, j.httpClient]),
    ...config.remoteWrite.map((rw, i): [string, HttpClientConfig] => [`remote_write[${i}]`, rw.httpClient]),
  ];
  return clients.flatMap(([owner, c]) => {
    const named: [string, string | undefined][] = [
      ['tls_config.ca_file', c.tlsConfig.caFile],
      ['tls_config.cert_file', c.tlsConfig.certFile],
      ['tls_config.key_file', c.tlsConfig.keyFile],
      ['basic_auth.username_file', c.basicAuth?.usernameFile],
      ['basic_auth.password_file', c.basicAuth?.passwordFile],
      ['authorization.credentials_file', c.authorization?.credentialsFile],
      ...[...c.httpHeaders].flatMap(([name, h]) => h.files.map((f): [string, string] => [`http_headers.${name}.files`, f])),
    ];
    return named.flatMap(([key, file]) => (file === undefined ? [] : [{ file, where: `${owner}: ${key}` }]));
  });
}

/** One node, its kubelet at `kubeletAddress`, and the API server at `apiServerAddress` behind the `kubernetes` Service. */
const kubeletAddress = '10.0.0.1:10250';
const apiServerAddress = '10.0.0.100:6443';
const clusterObjects = {
  kind: 'List',
  items: [
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-a', uid: 'uid-node-a', resourceVersion: '1', labels: { 'kubernetes.io/hostname': 'node-a' } },
      status: {
        addresses: [
          { type: 'InternalIP', address: '10.0.0.1' },
          { type: 'Hostname', address: 'node-a' },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', uid: 'uid-svc', resourceVersion: '1' },
      spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'kubernetes', namespace: 'default', uid: 'uid-slice', resourceVersion: '1', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.100'], conditions: { ready: true } }],
      ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
    },
  ],
};

/**
 * The `nodes` subresource a kubelet API path is authorized as: /stats, /metrics, /logs, /spec, /checkpoint and
 * their subpaths, `proxy` for any other path (kubelet `server/auth.go` `GetRequestAttributes`; "Kubelet
 * authentication/authorization" in the Kubernetes documentation). The verb of a GET is `get`.
 */
function kubeletSubresource(path: string): string {
  const prefixes = [
    ['/stats', 'stats'],
    ['/metrics', 'metrics'],
    ['/logs', 'log'],
    ['/spec', 'spec'],
    ['/checkpoint', 'checkpoint'],
  ] as const;
  return prefixes.find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`))?.[1] ?? 'proxy';
}

/**
 * The files in a workload's container that hold its service-account token: the automatic mount's when `automount`,
 * and each projected `serviceAccountToken`.
 */
function tokenFiles(workload: Workload, automount: boolean): Set<string> {
  const files = new Set(automount ? [`${serviceAccountDir}/token`] : []);
  const mounts = workload.container.has('volumeMounts') ? workload.container.get('volumeMounts').list() : [];
  const volumes = workload.podSpec.has('volumes') ? workload.podSpec.get('volumes').list() : [];
  for (const mount of mounts) {
    const volume = volumes.find((v) => v.get('name').value === mount.get('name').value);
    if (volume === undefined || !volume.has('projected')) continue;
    for (const source of volume.get('projected').get('sources').list()) {
      if (source.has('serviceAccountToken')) files.add(posix.join(mount.get('mountPath').text(), source.get('serviceAccountToken').get('path').text()));
    }
  }
  return files;
}

/**
 * What a worker's service account needs `get` on for the jobs that send its token (from one of `tokens`, the files
 * that hold it in the worker): `group/resource`s and `nonResourceURL:PATH`s. Each such job runs against one node and
 * the API server's endpoints, and the scrape URL its relabeling builds says what the token reaches: the kubelet
 * directly (a subresource of nodes, by path), the API server's node proxy (nodes/proxy), or the API server's own
 * paths (non-resource URLs). A job that sends the token to anything else fails here: what such a target allows is not
 * a grant this test can work out, so someone must decide.
 */
function grantsJobsNeed(config: PrometheusConfig, tokens: ReadonlySet<string>): Set<string> {
  const { objects } = readObjectList(clusterObjects);
  const grants = new Set<string>();
  for (const job of config.scrapeConfigs) {
    if (!tokens.has(job.httpClient.authorization?.credentialsFile ?? '')) continue;
    if (job.staticConfigs.length > 0 || job.fileSdConfigs.length > 0) {
      throw new Error(`job ${job.jobName} sends the service-account token to static or file targets: decide what it needs`);
    }
    for (const sd of job.kubernetesSdConfigs) {
      for (const group of discoverFromObjects(sd, objects)) {
        for (const labels of group.targets) {
          const built = buildTarget(job, labels, group.labels);
          if (built.kind !== 'kept') continue;
          const url = new URL(scrapeUrl(built.target.labels, job.params));
          if (url.host === kubeletAddress) grants.add(`/nodes/${kubeletSubresource(url.pathname)}`);
          else if (/^\/api\/v1\/nodes\/[^/]+\/proxy(\/|$)/.test(url.pathname)) grants.add('/nodes/proxy');
          else if (url.host === apiServerAddress && !url.pathname.startsWith('/api')) grants.add(`nonResourceURL:${url.pathname}`);
          else throw new Error(`job ${job.jobName} sends the service-account token to ${url.origin}${url.pathname}: decide what it needs`);
        }
      }
    }
  }
  return grants;
}

const workerManifest = base;
const worker = new Workload(workerManifest.object('Deployment', 'promfleet-worker'));

/** The pod's setting wins over its service account's; Kubernetes mounts the token when neither says. */
function automountsToken(manifest: Manifest, workload: Workload): boolean {
  const account = manifest.object('ServiceAccount', workload.podSpec.get('serviceAccountName').text());
  const setting = [workload.podSpec, account].find((o) => o.has('automountServiceAccountToken'))?.get('automountServiceAccountToken');
  if (setting !== undefined && typeof setting.value !== 'boolean') throw new Error(`${setting.where}: not a boolean`);
  return setting === undefined || setting.value === true;
}

describe(`${base.file}: the workers`, () => {
  const { objects } = workerManifest;
  const { podSpec, container } = worker;
  const automount = automountsToken(workerManifest, worker);
  const tokens = tokenFiles(worker, automount);
  const grants = grantsJobsNeed(masterConfig, tokens);
  const files = filesWorkersRead(masterConfig);
  const account = podSpec.get('serviceAccountName').text();
  /** The bindings whose subjects include the workers' service account. */
  const bindings = objects.filter(
    (o) =>
      (o.get('kind').value === 'ClusterRoleBinding' || o.get('kind').value === 'RoleBinding') &&
      o.get('subjects').list().some((s) => s.get('kind').value === 'ServiceAccount' && s.get('name').value === account),
  );
  const roles = bindings.map((b) => workerManifest.object(b.get('roleRef').get('kind').text(), b.get('roleRef').get('name').text()));

  describe('RBAC', () => {
    it("grants get, and nothing else, on exactly what the configuration's jobs reach with the token", () => {
      const granted = new Set<string>();
      for (const rule of roles.flatMap((r) => r.get('rules').list())) {
        expect(rule.get('verbs').texts()).toEqual(['get']);
        expect(rule.has('resourceNames')).toBe(false);
        if (rule.has('nonResourceURLs')) {
          for (const path of rule.get('nonResourceURLs').texts()) granted.add(`nonResourceURL:${path}`);
          continue;
        }
        for (const group of rule.get('apiGroups').texts()) for (const resource of rule.get('resources').texts()) granted.add(`${group}/${resource}`);
      }
      expect([...granted].sort()).toEqual([...grants].sort());
    });

    it('binds each role to the service account the workers run as, and to nothing else', () => {
      workerManifest.object('ServiceAccount', account);
      expect(roles.length).toBeGreaterThan(0);
      for (const binding of bindings) {
        expect(binding.get('roleRef').get('kind').text()).toBe('ClusterRole');
        expect(binding.get('subjects').list().map((s) => [s.get('kind').text(), s.get('name').text(), s.get('namespace').text()])).toEqual([
          ['ServiceAccount', account, namespace],
        ]);
      }
    });
  });

  describe('the Deployment', () => {
    it('selects its own pods, and no selector of the master selects them', () => {
      const selector = worker.deployment.get('spec').get('selector').get('matchLabels').labels();
      expect(selects(selector, worker.podLabels)).toBe(true);
      expect(selects(selector, master.podLabels)).toBe(false);
      expect(selects(master.deployment.get('spec').get('selector').get('matchLabels').labels(), worker.podLabels)).toBe(false);
      expect(selects(masterManifest.object('Service', 'promfleet-master').get('spec').get('selector').labels(), worker.podLabels)).toBe(false);
    });

    it('runs `promfleet worker` with flags the CLI accepts', () => {
      expect(worker.args[0]).toBe('worker');
      const known: FlagTable = workerFlags;
      expect([...worker.flags.keys()].filter((name) => !Object.hasOwn(known, name))).toEqual([]);
      for (const [name, spec] of Object.entries(known)) if (spec.required === true) expect([name, worker.flags.has(name)]).toEqual([name, true]);
    });

    it("connects to the grpc port of the master's Service (--master or PROMFLEET_MASTER)", () => {
      const service = masterManifest.object('Service', 'promfleet-master');
      const name = service.get('metadata').get('name').text();
      const port = service
        .get('spec')
        .get('ports')
        .list()
        .find((p) => p.get('name').value === 'grpc')
        ?.get('port')
        .number();
      const hosts = [`${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`, `${name}.${namespace}`, name];
      const address = worker.flags.get('master') ?? worker.env().get('PROMFLEET_MASTER')?.get('value').text();
      expect(hosts.map((h) => `${h}:${port}`)).toContain(address);
    });

    it('exposes the http port the --web.listen-address flag listens on', () => {
      expect([...worker.ports]).toEqual([['http', listenPort(worker.flag('web.listen-address'))]]);
    });

    it.each([
      ['readinessProbe', '/-/ready'],
      ['livenessProbe', '/-/healthy'],
    ])('points its %s at %s on the web port', (probe, path) => {
      const get = container.get(probe).get('httpGet');
      expect(get.get('path').text()).toBe(path);
      expect(worker.port(get.get('port'))).toBe(listenPort(worker.flag('web.listen-address')));
    });

    it('gives each worker its pod name (POD_NAME, its id) from the downward API', () => {
      expect(worker.flags.has('worker.id')).toBe(false);
      expect(worker.env().get('POD_NAME')?.get('valueFrom').get('fieldRef').get('fieldPath').text()).toBe('metadata.name');
    });

    it('gives a drain (--worker.drain-timeout) and the queue flush (10 s) the time to finish before Kubernetes kills it', () => {
      const drainMs = parseDuration(worker.flag('worker.drain-timeout'));
      expect(podSpec.get('terminationGracePeriodSeconds').number() * 1000).toBeGreaterThanOrEqual(drainMs + queueFlushMs);
    });

    it('starts a new worker before an old one drains, and never runs short of one', () => {
      const strategy = worker.deployment.get('spec').get('strategy');
      expect(strategy.get('type').text()).toBe('RollingUpdate');
      expect(strategy.get('rollingUpdate').get('maxUnavailable').value).toBe(0);
      expect(worker.deployment.get('spec').get('replicas').number()).toBeGreaterThan(1);
    });

    it('spreads its workers over nodes', () => {
      const spreads = podSpec
        .get('topologySpreadConstraints')
        .list()
        .filter((c) => c.get('topologyKey').value === 'kubernetes.io/hostname' && selects(c.get('labelSelector').get('matchLabels').labels(), worker.podLabels));
      expect(spreads.map((c) => c.get('maxSkew').number())).toEqual([1]);
    });

    it("runs the master's image, as the master's non-root user with its security settings", () => {
      expect(container.get('image').text()).toBe(master.container.get('image').text());
      expect(podSpec.get('securityContext').value).toEqual(master.podSpec.get('securityContext').value);
      expect(container.get('securityContext').value).toEqual(master.container.get('securityContext').value);
    });

    it('sets memory requests and limits, and a heap limit below the memory limit', () => {
      const resources = container.get('resources');
      const limit = mib(resources.get('limits').get('memory'));
      expect(mib(resources.get('requests').get('memory'))).toBeLessThanOrEqual(limit);
      const heap = /--max-old-space-size=(\d+)/.exec(worker.env().get('NODE_OPTIONS')?.get('value').text() ?? '');
      expect(Number(heap?.[1])).toBeLessThan(limit);
    });

    it('keeps the remote-write disk queue in a size-limited emptyDir that holds every endpoint at its maximum, and reserves it', () => {
      const dir = worker.flag('remote-write.queue-dir');
      expect(posix.isAbsolute(dir)).toBe(true);
      const source = worker.mountOf(`${dir.replace(/\/+$/, '')}/endpoint`);
      if (source === undefined) throw new Error(`--remote-write.queue-dir=${dir} is in no volume mount: the root filesystem is read-only`);
      expect(source.mount.has('readOnly') && source.mount.get('readOnly').value === true).toBe(false);
      const sizeLimit = mib(source.volume.get('emptyDir').get('sizeLimit')) * 2 ** 20;
      const maxSize = parseSize(worker.flag('remote-write.queue-max-size'));
      if (typeof maxSize !== 'number') throw new Error(`--remote-write.queue-max-size: ${maxSize.error}`);
      // The size is per endpoint: every endpoint's queue full must fit, with room for the segment being written.
      const endpoints = masterConfig.remoteWrite.length;
      expect(endpoints).toBeGreaterThan(0);
      expect(maxSize).toBeGreaterThan(0);
      expect(endpoints * maxSize).toBeLessThan(sizeLimit);
      const resources = container.get('resources');
      const request = mib(resources.get('requests').get('ephemeral-storage')) * 2 ** 20;
      const limit = mib(resources.get('limits').get('ephemeral-storage')) * 2 ** 20;
      expect(request).toBeGreaterThanOrEqual(sizeLimit);
      expect(limit).toBeGreaterThan(request);
    });
  });

  describe('the files the configuration names', () => {
    it('has no automatic service-account token: a worker needs no Kubernetes credentials', () => {
      expect(podSpec.get('automountServiceAccountToken').value).toBe(false);
      expect(automount).toBe(false);
    });

    it('has the service-account token mounted if and only if the configuration names a file in its directory', () => {
      expect(automount).toBe(files.some((f) => f.file.startsWith(`${serviceAccountDir}/`)));
    });

    it('projects a service-account token only where a job sends one', () => {
      const sent = new Set(masterConfig.scrapeConfigs.flatMap((j) => j.httpClient.authorization?.credentialsFile ?? []));
      for (const token of tokens) expect([token, sent.has(token)]).toEqual([token, true]);
    });

    it('finds each at the same path in the worker: in the token mount, or in a volume that provides it', () => {
      expect(files.length).toBeGreaterThan(0);
      for (const { file, where } of files) {
        const inAccount = automount && posix.dirname(file) === serviceAccountDir && serviceAccountFiles.has(posix.basename(file));
        const source = worker.mountOf(file);
        const mounted = source !== undefined && provides(source.volume, source.path);
        expect([where, file, inAccount || mounted]).toEqual([where, file, true]);
      }
    });

    it('finds each under a --worker.secret-dirs directory, the only place a worker reads them', () => {
      const dirs = worker.flag('worker.secret-dirs').split(',').map((d) => d.replace(/\/+$/, ''));
      expect(dirs.every((d) => posix.isAbsolute(d))).toBe(true);
      for (const { file, where } of files) expect([where, file, dirs.some((d) => file.startsWith(`${d}/`))]).toEqual([where, file, true]);
      // The pod's own service-account directory is allowed only when the configuration names a file in it.
      expect(dirs.includes(serviceAccountDir)).toBe(files.some((f) => f.file.startsWith(`${serviceAccountDir}/`)));
      expect(DEFAULT_SECRET_DIRS).not.toContain(serviceAccountDir);
    });
  });

  describe('the PodDisruptionBudget', () => {
    const budget = workerManifest.object('PodDisruptionBudget', 'promfleet-worker');

    it('lets a node drain move one worker at a time', () => {
      expect(budget.get('apiVersion').text()).toBe('policy/v1');
      expect(budget.get('spec').get('maxUnavailable').value).toBe(1);
    });

    it('covers the worker pods and not the master', () => {
      const selector = budget.get('spec').get('selector').get('matchLabels').labels();
      expect(selects(selector, worker.podLabels)).toBe(true);
      expect(selects(selector, master.podLabels)).toBe(false);
    });
  });
});

/** The base's cert-manager objects. */
const certObjects = base.objects.filter((o) => o.get('apiVersion').text().startsWith('cert-manager.io/'));

/** The Secret a TLS flag's file comes from, checked to be the key cert-manager writes for it, mounted whole or as an item. */
function tlsSecretOf(workload: Workload, flag: string, key: 'tls.crt' | 'tls.key' | 'ca.crt'): string {
  const file = workload.flag(flag);
  const source = workload.mountOf(file);
  if (source === undefined) throw new Error(`--${flag}=${file} is not under a volume mount`);
  expect([flag, source.path]).toEqual([flag, key]);
  expect([flag, provides(source.volume, source.path)]).toEqual([flag, true]);
  return source.volume.get('secret').get('secretName').text();
}

describe(`${base.file}: the fleet link's TLS`, () => {
  const certificates = certObjects.filter((o) => o.get('kind').value === 'Certificate');
  const issuers = certObjects.filter((o) => o.get('kind').value === 'Issuer');
  const certificateFor = (secret: string) => {
    const found = certificates.filter((c) => c.get('spec').get('secretName').value === secret);
    if (found.length !== 1) throw new Error(`${base.file}: want one Certificate with secretName ${secret}, found ${found.length}`);
    return (found[0] as Node).get('spec');
  };
  const issuerOf = (certificate: Node) => {
    const ref = certificate.get('issuerRef');
    expect([ref.where, ref.has('kind') ? ref.get('kind').text() : 'Issuer']).toEqual([ref.where, 'Issuer']);
    return base.object('Issuer', ref.get('name').text()).get('spec');
  };
  const masterSecret = () => tlsSecretOf(master, 'fleet.tls.cert-file', 'tls.crt');
  const workerSecret = () => tlsSecretOf(worker, 'master.tls.cert-file', 'tls.crt');
  /** The host workers dial (`--master` is host:port). */
  const dialed = () => worker.flag('master').replace(/:\d+$/, '');

  it.each(certObjects.map((o) => [o.where, o] as const))("%s is a cert-manager object in the master's namespace", (_where, o) => {
    expect(o.get('apiVersion').text()).toBe('cert-manager.io/v1');
    expect(['Issuer', 'Certificate']).toContain(o.get('kind').text());
    expect(o.get('metadata').get('namespace').text()).toBe(namespace);
  });

  it("mounts the master's certificate, key and client CA from one Secret", () => {
    expect(tlsSecretOf(master, 'fleet.tls.key-file', 'tls.key')).toBe(masterSecret());
    expect(tlsSecretOf(master, 'fleet.tls.client-ca-file', 'ca.crt')).toBe(masterSecret());
  });

  it("mounts the workers' CA, certificate and key from one Secret, not the master's", () => {
    expect(tlsSecretOf(worker, 'master.tls.key-file', 'tls.key')).toBe(workerSecret());
    expect(tlsSecretOf(worker, 'master.tls.ca-file', 'ca.crt')).toBe(workerSecret());
    expect(workerSecret()).not.toBe(masterSecret());
  });

  it("has workers check the master's certificate for the name they dial", () => {
    expect(worker.flag('master.tls.server-name')).toBe(dialed());
  });

  it('issues the Secrets the pods mount: a server certificate for every name workers dial, a client one for workers', () => {
    const server = certificateFor(masterSecret());
    const names = server.get('dnsNames').texts();
    expect(names).toContain(dialed());
    expect(names).toContain(worker.flag('master.tls.server-name'));
    const service = masterManifest.object('Service', 'promfleet-master').get('metadata').get('name').text();
    for (const suffix of ['', `.${namespace}`, `.${namespace}.svc`]) expect(names).toContain(`${service}${suffix}`);
    expect(server.get('usages').texts()).toContain('server auth');
    expect(certificateFor(workerSecret()).get('usages').texts()).toContain('client auth');
  });

  it('signs both with one CA, so that ca.crt in each Secret verifies the other side', () => {
    const server = issuerOf(certificateFor(masterSecret()));
    const client = issuerOf(certificateFor(workerSecret()));
    expect(server.value).toEqual(client.value);
    const ca = certificateFor(server.get('ca').get('secretName').text());
    expect(ca.get('isCA').value).toBe(true);
    expect(issuerOf(ca).has('selfSigned')).toBe(true);
    expect(issuers.length).toBe(2);
  });
});

/** Dockerfile instructions, continuation lines joined and comments dropped. */
function dockerInstructions(text: string): { op: string; rest: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const m = /^(\S+)\s+(.*)$/.exec(line);
      if (m === null || m[1] === undefined || m[2] === undefined) throw new Error(`${dockerfile}: cannot read ${JSON.stringify(line)}`);
      return { op: m[1].toUpperCase(), rest: m[2] };
    });
}

describe(dockerfile, () => {
  const instructions = dockerInstructions(readFileSync(join(root, dockerfile), 'utf8'));
  const copies = instructions
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const words = i.rest.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      return { from, sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' };
    });
  const strip = (path: string) => path.replace(/\/+$/, '');
  const contextSources = copies.filter((c) => c.from === undefined).flatMap((c) => c.sources);

  it.each(contextSources)('copies %s, which exists in the repository', (source) => {
    expect(existsSync(join(root, source))).toBe(true);
  });

  it('copies every project the root tsconfig.json builds (pnpm build is tsc -b)', () => {
    const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { references: { path: string }[] };
    for (const { path } of tsconfig.references) {
      expect([path, contextSources.some((s) => path === strip(s) || path.startsWith(`${strip(s)}/`))]).toEqual([path, true]);
    }
  });

  it('installs the pnpm version package.json pins', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { packageManager: string };
    const pinned = /^pnpm@([^+]+)/.exec(pkg.packageManager)?.[1];
    expect(instructions.filter((i) => i.op === 'RUN').map((i) => /\bpnpm@(\S+)/.exec(i.rest)?.[1]).filter((v) => v !== undefined)).toEqual([pinned]);
  });

  it('runs as the non-root uid the Deployment declares', () => {
    const user = instructions.filter((i) => i.op === 'USER').at(-1)?.rest ?? '';
    expect(user.split(':')[0]).toBe(String(master.podSpec.get('securityContext').get('runAsUser').number()));
  });

  it("starts the CLI's bin, from the package `pnpm deploy` put in the image", () => {
    const deploy = instructions.map((i) => /--filter\s+(\S+)\s.*\bdeploy\b.*\s(\/\S+)$/.exec(i.rest)).find((m) => m !== null);
    const [, packageName = '', out = ''] = deploy ?? [];
    const copied = copies.find((c) => c.from !== undefined && c.sources.some((s) => strip(s) === strip(out)));
    if (copied === undefined) throw new Error(`${dockerfile}: the deployed ${out} is never copied into the image`);
    const entrypoint = JSON.parse(instructions.filter((i) => i.op === 'ENTRYPOINT').at(-1)?.rest ?? '[]') as string[];
    const script = entrypoint.find((a) => a.startsWith(`${strip(copied.dest)}/`)) ?? '';
    expect(entrypoint).toEqual(['node', script]);

    const dir = readdirSync(join(root, 'packages')).find((d) => {
      const file = join(root, 'packages', d, 'package.json');
      return existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === packageName;
    });
    if (dir === undefined) throw new Error(`${dockerfile}: no workspace package ${JSON.stringify(packageName)}`);
    const bin = (JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['promfleet'];
    const inPackage = posix.relative(strip(copied.dest), script);
    expect(posix.normalize(bin ?? '')).toBe(inPackage);
    expect(existsSync(join(root, 'packages', dir, inPackage))).toBe(true);
  });
});
