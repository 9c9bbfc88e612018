/**
 * deploy/: the master's Kubernetes manifest and the image, checked against the code they configure. No cluster and
 * no container engine are needed: the RBAC rules are compared with the watches the master's own discovery plans,
 * the container's flags with the CLI's, and the Dockerfile's paths with the repository.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { formatConfigIssue, parseConfig } from '../packages/model/src/index.js';
import { KubernetesDiscovery } from '../packages/master/src/index.js';
import { masterFlags } from '../packages/cli/src/serve.js';
import { VERSION } from '../packages/cli/src/cli.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const manifestFile = 'deploy/master.yaml';
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

function readManifest(): Node[] {
  const docs = parseAllDocuments(readFileSync(join(root, manifestFile), 'utf8'));
  if (!Array.isArray(docs)) throw new Error(`${manifestFile}: no YAML documents`);
  return docs.map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${manifestFile} document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return new Node(doc.toJS(), `${manifestFile}[${i}]`);
  });
}

const objects = readManifest();

function object(kind: string, name: string): Node {
  const found = objects.filter((o) => o.get('kind').value === kind && o.get('metadata').get('name').value === name);
  if (found.length !== 1) throw new Error(`${manifestFile}: want one ${kind} ${name}, found ${found.length}`);
  return found[0] as Node;
}

const deployment = object('Deployment', 'promfleet-master');
const podSpec = deployment.get('spec').get('template').get('spec');
const container = (() => {
  const containers = podSpec.get('containers').list();
  if (containers.length !== 1) throw new Error(`${podSpec.where}.containers: want one container, found ${containers.length}`);
  return containers[0] as Node;
})();
const args = container.get('args').texts();
const containerPorts = new Map(container.get('ports').list().map((p) => [p.get('name').text(), p.get('containerPort').number()]));

/** The container's `--name=value` flags. */
function flagValues(): Map<string, string> {
  return new Map(
    args.slice(1).map((arg) => {
      const m = /^--([^=]+)=(.*)$/s.exec(arg);
      if (m === null || m[1] === undefined || m[2] === undefined) throw new Error(`${container.where}.args: ${JSON.stringify(arg)} is not --name=value`);
      return [m[1], m[2]];
    }),
  );
}

/** The port of a `host:port` listen address. */
function listenPort(address: string): number {
  const m = /:(\d{1,5})$/.exec(address);
  if (m === null) throw new Error(`listen address ${JSON.stringify(address)} has no port`);
  return Number(m[1]);
}

/** A probe's or Service's port, by number or by the container port's name. */
function containerPort(port: Node): number {
  if (typeof port.value === 'number') return port.value;
  const byName = containerPorts.get(port.text());
  if (byName === undefined) throw new Error(`${port.where}: no container port named ${JSON.stringify(port.value)}`);
  return byName;
}

/**
 * Every `group/resource` the master's discovery lists and watches, whatever the configuration: one job per role,
 * each with every `attach_metadata`, planned by the master's own `KubernetesDiscovery` (watches.ts `needsOf`). The
 * client factory refuses, so no request is made; the watches are planned all the same.
 */
async function resourcesDiscoveryReads(): Promise<Set<string>> {
  const roles = ['pod', 'service', 'endpoints', 'endpointslice', 'node', 'ingress'];
  const text = `scrape_configs:\n${roles
    .map((role) => `  - job_name: ${role}\n    kubernetes_sd_configs:\n      - role: ${role}\n        attach_metadata: {node: true, namespace: true}\n`)
    .join('')}`;
  const parsed = parseConfig(text, { file: 'every-role.yml' });
  if (!parsed.ok) throw new Error(parsed.errors.map(formatConfigIssue).join('\n'));
  const discovery = new KubernetesDiscovery({
    clientFor: () => {
      throw new Error('this test makes no API request');
    },
  });
  for (const job of parsed.config.scrapeConfigs) for (const sd of job.kubernetesSdConfigs) discovery.discoverer(sd);
  await discovery.run(AbortSignal.abort());
  return new Set(discovery.watches.map((w) => `${w.resource.group}/${w.resource.plural}`));
}

describe(manifestFile, () => {
  const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
  const namespace = object('Namespace', 'promfleet').get('metadata').get('name').text();

  it('holds the objects the master needs, each once', () => {
    expect(objects.map((o) => o.get('kind').text()).sort()).toEqual(
      ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Namespace', 'Service', 'ServiceAccount'].sort(),
    );
  });

  it.each(objects.map((o) => [o.where, o] as const))('%s has apiVersion, kind, metadata.name and its namespace', (_where, o) => {
    expect(o.get('apiVersion').text()).toMatch(/^([a-z0-9.-]+\/)?v\d+$/);
    const kind = o.get('kind').text();
    expect(o.get('metadata').get('name').text()).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    if (clusterScoped.has(kind)) expect(o.get('metadata').has('namespace')).toBe(false);
    else expect(o.get('metadata').get('namespace').text()).toBe(namespace);
  });

  describe('RBAC', () => {
    const role = object('ClusterRole', 'promfleet-master');
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
      const binding = object('ClusterRoleBinding', 'promfleet-master');
      const account = podSpec.get('serviceAccountName').text();
      object('ServiceAccount', account);
      expect(binding.get('roleRef').get('kind').text()).toBe('ClusterRole');
      expect(binding.get('roleRef').get('name').text()).toBe(role.get('metadata').get('name').text());
      expect(binding.get('subjects').list().map((s) => [s.get('kind').text(), s.get('name').text(), s.get('namespace').text()])).toEqual([
        ['ServiceAccount', account, namespace],
      ]);
    });
  });

  describe('the Deployment', () => {
    it('runs one master, never two at once', () => {
      expect(deployment.get('spec').get('replicas').number()).toBe(1);
      expect(deployment.get('spec').get('strategy').get('type').text()).toBe('Recreate');
    });

    it('selects its own pods', () => {
      const template = deployment.get('spec').get('template').get('metadata').get('labels').labels();
      const selector = deployment.get('spec').get('selector').get('matchLabels').labels();
      for (const [k, v] of selector) expect([k, template.get(k)]).toEqual([k, v]);
    });

    it('runs `promfleet master` with flags the CLI accepts, required ones included', () => {
      expect(args[0]).toBe('master');
      const flags = flagValues();
      const known: Readonly<Record<string, boolean>> = masterFlags;
      for (const name of flags.keys()) expect([name, Object.hasOwn(known, name)]).toEqual([name, true]);
      for (const [name, required] of Object.entries(known)) if (required) expect([name, flags.has(name)]).toEqual([name, true]);
    });

    it.each([
      ['http', 'web.listen-address'],
      ['grpc', 'grpc.listen-address'],
    ])('exposes the %s port the --%s flag listens on', (name, flag) => {
      const address = flagValues().get(flag);
      if (address === undefined) throw new Error(`${container.where}.args: no --${flag}`);
      expect(containerPorts.get(name)).toBe(listenPort(address));
    });

    it.each([
      ['readinessProbe', '/-/ready'],
      ['livenessProbe', '/-/healthy'],
    ])('points its %s at %s on the web port', (probe, path) => {
      const get = container.get(probe).get('httpGet');
      expect(get.get('path').text()).toBe(path);
      expect(containerPort(get.get('port'))).toBe(listenPort(flagValues().get('web.listen-address') ?? ''));
    });

    it('gives the master its pod name (POD_NAME, its id) from the downward API', () => {
      const env = container.get('env').list().filter((e) => e.get('name').value === 'POD_NAME');
      expect(env.map((e) => e.get('valueFrom').get('fieldRef').get('fieldPath').text())).toEqual(['metadata.name']);
    });

    it('reads --config.file from the ConfigMap, mounted', () => {
      const file = flagValues().get('config.file') ?? '';
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
      const configMap = object('ConfigMap', volume.get('configMap').get('name').text());
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
      const mib = (q: Node) => {
        const m = /^(\d+)(Mi|Gi)$/.exec(q.text());
        if (m === null) throw new Error(`${q.where}: want a quantity in Mi or Gi`);
        return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
      };
      const request = mib(resources.get('requests').get('memory'));
      const limit = mib(resources.get('limits').get('memory'));
      expect(request).toBeLessThanOrEqual(limit);
      const options = container.get('env').list().find((e) => e.get('name').value === 'NODE_OPTIONS');
      const heap = /--max-old-space-size=(\d+)/.exec(options?.get('value').text() ?? '');
      expect(Number(heap?.[1])).toBeLessThan(limit);
    });

    it(`runs the image of this version (promfleet:${VERSION})`, () => {
      expect(container.get('image').text()).toMatch(new RegExp(`(^|/)promfleet:${VERSION.replaceAll('.', '\\.')}$`));
    });
  });

  describe('the Service', () => {
    const service = object('Service', 'promfleet-master');
    const ports = service.get('spec').get('ports').list();

    it('selects the master pods', () => {
      const template = deployment.get('spec').get('template').get('metadata').get('labels').labels();
      const selector = service.get('spec').get('selector').labels();
      expect(selector.size).toBeGreaterThan(0);
      for (const [k, v] of selector) expect([k, template.get(k)]).toEqual([k, v]);
    });

    it('exposes both ports by name, each targeting the container port of that name', () => {
      expect(ports.map((p) => p.get('name').text()).sort()).toEqual(['grpc', 'http']);
      for (const p of ports) {
        const target = p.get('targetPort').text();
        expect([target, containerPorts.has(target)]).toEqual([p.get('name').text(), true]);
      }
    });

    it('routes to the master while it is not ready, so recovering masters hear from their workers', () => {
      expect(service.get('spec').get('publishNotReadyAddresses').value).toBe(true);
    });
  });

  it('ships a prometheus.yml that loads with no error and no notice', () => {
    const file = 'promfleet-config/prometheus.yml';
    const result = parseConfig(object('ConfigMap', 'promfleet-config').get('data').get('prometheus.yml').text(), { file });
    expect(result.ok ? [] : result.errors.map(formatConfigIssue)).toEqual([]);
    expect(result.notices.map(formatConfigIssue)).toEqual([]);
    if (!result.ok) return;
    expect(result.config.remoteWrite.map((rw) => rw.url)).toEqual(['http://prometheus.monitoring.svc:9090/api/v1/write']);
    expect(result.config.scrapeConfigs.flatMap((j) => j.kubernetesSdConfigs).length).toBeGreaterThan(0);
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
    expect(user.split(':')[0]).toBe(String(podSpec.get('securityContext').get('runAsUser').number()));
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
