/** Client configuration for the fake API server, as client-node's `KubeConfig` and kubeconfig files take it. */

/**
 * The object `KubeConfig.loadFromOptions` takes. `skipTLSVerify` is set because client-node 1.4.0 refuses an
 * `http://` server without it; the token is arbitrary, since the fake does not authenticate.
 */
export interface KubeconfigOptions {
  readonly clusters: readonly { readonly name: string; readonly server: string; readonly skipTLSVerify: boolean }[];
  readonly users: readonly { readonly name: string; readonly token: string }[];
  readonly contexts: readonly { readonly name: string; readonly cluster: string; readonly user: string }[];
  readonly currentContext: string;
}

const contextName = 'promfleet-fake';
const token = 'promfleet-fake-token';

/** The `loadFromOptions` form for a server at `url`. */
export function kubeconfigOptions(url: string): KubeconfigOptions {
  return {
    clusters: [{ name: contextName, server: url, skipTLSVerify: true }],
    users: [{ name: contextName, token }],
    contexts: [{ name: contextName, cluster: contextName, user: contextName }],
    currentContext: contextName,
  };
}

/** A kubeconfig file for a server at `url` (`KubeConfig.loadFromString`, `kubectl --kubeconfig`). */
export function kubeconfigYaml(url: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${contextName}`,
    '  cluster:',
    `    server: ${JSON.stringify(url)}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    `- name: ${contextName}`,
    '  user:',
    `    token: ${JSON.stringify(token)}`,
    'contexts:',
    `- name: ${contextName}`,
    '  context:',
    `    cluster: ${contextName}`,
    `    user: ${contextName}`,
    `current-context: ${contextName}`,
    '',
  ].join('\n');
}
