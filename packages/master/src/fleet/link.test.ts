import { describe, expect, it } from '@jest/globals';
import { parseConfig, type PrometheusConfig } from '@promfleet/model';
import { InsecureSecretsError, checkInlineSecrets, type FleetLinkOptions } from './link.js';

function config(text: string): PrometheusConfig {
  const result = parseConfig(text, { file: 'prometheus.yml' });
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.keyPath}: ${e.message}`).join('; '));
  return result.config;
}

const withSecret = config("scrape_configs:\n  - job_name: node\n    basic_auth: {username: u, password: 'pa/ss@word'}\n    static_configs: [{targets: ['a:9100']}]\n");
const withFileSecret = config('scrape_configs:\n  - job_name: node\n    basic_auth: {username: u, password_file: /etc/promfleet/secrets/p}\n    static_configs: [{targets: [\'a:9100\']}]\n');
const tls = { certFile: 'tls.crt', keyFile: 'tls.key' } as const;

describe('checkInlineSecrets', () => {
  it.each<[string, FleetLinkOptions]>([
    ['TLS with a client CA', { tls: { ...tls, clientCaFile: 'ca.crt' } }],
    ['TLS with a token', { tls, tokenFile: 'token' }],
  ])('lets inline secrets travel over %s: an encrypted link to authenticated workers', (_, link) => {
    expect(checkInlineSecrets(withSecret, link)).toEqual({ secrets: [] });
  });

  it.each<[string, FleetLinkOptions, string]>([
    ['no TLS', {}, 'the fleet link has no TLS, so the master would send them to workers in clear'],
    ['no TLS but a token', { tokenFile: 'token' }, 'the fleet link has no TLS'],
    ['TLS that authenticates no worker', { tls }, 'does not authenticate workers (neither --fleet.tls.client-ca-file nor --fleet.token-file)'],
  ])('refuses inline secrets with %s, naming the secret and the override, never the value', (_, link, why) => {
    let thrown: unknown;
    try {
      checkInlineSecrets(withSecret, link);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InsecureSecretsError);
    const message = (thrown as Error).message;
    expect(message).toContain(why);
    expect(message).toContain('scrape job "node": basic_auth.password');
    expect(message).toContain('--fleet.allow-insecure-secrets');
    expect(message).not.toContain('pa/ss@word');
  });

  it('returns the secrets and what the link lacks when the override is given, for the warning', () => {
    const { secrets, weakness } = checkInlineSecrets(withSecret, { tls, allowInsecureSecrets: true });
    expect([secrets.map((s) => `${s.owner}: ${s.field}`), weakness]).toEqual([['scrape job "node": basic_auth.password'], 'no-worker-authentication']);
  });

  it('lets a config whose secrets are all in files start on any link', () => {
    expect(checkInlineSecrets(withFileSecret, {})).toEqual({ secrets: [], weakness: 'no-tls' });
  });
});
