/**
 * The non-resource documents: `/version` and the legacy (unaggregated) discovery documents `/api`, `/api/v1`,
 * `/apis`, `/apis/<group>` and `/apis/<group>/<version>`, enough for clients that discover before they call.
 */
import { allResources, type ResourceDescriptor } from './resources.js';

/** The version the fake claims; its list and watch semantics follow the 1.32 API server. */
export const fakeServerVersion = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-promfleet-fake',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-12-11T00:00:00Z',
  goVersion: 'go1.23.3',
  compiler: 'gc',
  platform: 'linux/amd64',
} as const;

const objectVerbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] as const;

function apiResources(resources: readonly ResourceDescriptor[]): unknown[] {
  return resources.flatMap((d) => {
    const main = {
      name: d.name,
      singularName: d.singularName,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: objectVerbs,
      ...(d.shortNames.length > 0 ? { shortNames: d.shortNames } : {}),
    };
    if (!d.hasStatus) return [main];
    return [main, { name: `${d.name}/status`, singularName: '', namespaced: d.namespaced, kind: d.kind, verbs: ['get', 'patch', 'update'] }];
  });
}

function groupsOf(): Map<string, ResourceDescriptor[]> {
  const groups = new Map<string, ResourceDescriptor[]>();
  for (const d of allResources()) groups.set(d.group, [...(groups.get(d.group) ?? []), d]);
  return groups;
}

/** A group's versions, the preferred (first served, `v1` where there is one) first. */
function versionsOf(resources: readonly ResourceDescriptor[]): string[] {
  const versions = [...new Set(resources.map((d) => d.version))];
  return versions.sort((a, b) => (a === 'v1' ? -1 : b === 'v1' ? 1 : a.localeCompare(b)));
}

function apiGroup(name: string, resources: readonly ResourceDescriptor[]): unknown {
  const versions = versionsOf(resources).map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions, preferredVersion: versions[0] };
}

/**
 * The document served at a non-resource path, or undefined when there is none. `serverAddress` is what `/api`
 * reports clients should use (`host:port`).
 */
export function discoveryDocument(path: string, serverAddress: string): unknown {
  const groups = groupsOf();
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '/version') return fakeServerVersion;
  if (trimmed === '/api') {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
  }
  if (trimmed === '/api/v1') {
    return { kind: 'APIResourceList', groupVersion: 'v1', resources: apiResources(groups.get('') ?? []) };
  }
  if (trimmed === '/apis') {
    const named = [...groups.keys()].filter((g) => g !== '');
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: named.map((g) => apiGroup(g, groups.get(g) ?? [])) };
  }
  const match = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(trimmed);
  const group = match?.[1];
  const resources = group === undefined ? undefined : groups.get(group);
  if (group === undefined || group === '' || resources === undefined) return undefined;
  const version = match?.[2];
  if (version === undefined) return apiGroup(group, resources);
  const served = resources.filter((d) => d.version === version);
  if (served.length === 0) return undefined;
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${group}/${version}`, resources: apiResources(served) };
}
