/** The `ingress` role, as Prometheus' `discovery/kubernetes/ingress.go` (`buildIngress`). */
import { LabelName, type Labels, type TargetGroup } from '@promfleet/model';
import { addNamespaceLabels, addObjectMetaLabels, groupSource, metaLabelPrefix, namespaceLabel, type DiscoveryContext } from './meta.js';
import type { SlimIngress } from './objects.js';

/** The `__meta_kubernetes_ingress_*` label names the ingress role adds besides the object metadata. */
export const IngressLabel = {
  scheme: `${metaLabelPrefix}ingress_scheme`,
  host: `${metaLabelPrefix}ingress_host`,
  path: `${metaLabelPrefix}ingress_path`,
  className: `${metaLabelPrefix}ingress_class_name`,
} as const;

/**
 * The group of one ingress, source `ingress/<ns>/<name>`: one target per rule and path with `__address__` set to
 * the rule's host. The scheme is `https` when a TLS entry's host matches the rule's host (exactly, or as a `*.`
 * wildcard of the same depth), else `http`. An empty path is `/`; a rule without an `http` block gives one target
 * for `/`, while an `http` block with no paths gives none.
 */
export function ingressGroup(ingress: SlimIngress, context: DiscoveryContext): TargetGroup {
  const { namespace, name } = ingress.meta;
  const labels = new Map<string, string>([[namespaceLabel, namespace]]);
  if (ingress.ingressClassName !== undefined) labels.set(IngressLabel.className, ingress.ingressClassName);
  addObjectMetaLabels(labels, ingress.meta, 'ingress');
  if (context.attachMetadata.namespace) addNamespaceLabels(labels, context, namespace);

  const targets: Labels[] = [];
  for (const rule of ingress.rules) {
    const scheme = ingress.tlsHosts.some((pattern) => matchesHostnamePattern(pattern, rule.host)) ? 'https' : 'http';
    const paths = rule.paths === undefined ? ['/'] : rule.paths.map((path) => (path === '' ? '/' : path));
    for (const path of paths) {
      targets.push(
        new Map<string, string>([
          [LabelName.address, rule.host],
          [IngressLabel.scheme, scheme],
          [IngressLabel.host, rule.host],
          [IngressLabel.path, path],
        ]),
      );
    }
  }
  return { source: groupSource('Ingress', namespace, name), targets, labels };
}

/**
 * Prometheus' `matchesHostnamePattern`: equal strings match; otherwise the pattern's first label must be `*` and the
 * remaining labels must equal the host's, with the same number of labels. So `*.example.com` matches
 * `a.example.com` but not `a.b.example.com`, and a bare `*` matches any single-label host, even an empty one.
 */
export function matchesHostnamePattern(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  const patternParts = pattern.split('.');
  const hostParts = host.split('.');
  if (patternParts[0] !== '*' || patternParts.length !== hostParts.length) return false;
  return patternParts.every((part, i) => i === 0 || part === hostParts[i]);
}
