import { describe, expect, it } from '@jest/globals';
import { load, y } from './config-fixtures.js';
import { hasCredentials, inlineSecrets } from './inline-secrets.js';

const SECRET = 'hunter2-s3cret';

/** A scrape job `j` with `lines` (indented under it). */
const scrapeJob = (...lines: string[]) => y('scrape_configs:', '  - job_name: j', ...lines.map((l) => `    ${l}`));
/** A remote_write entry named `rw` with `lines`. */
const remoteWrite = (...lines: string[]) => y('remote_write:', '  - name: rw', ...lines.map((l) => `    ${l}`));

describe('inlineSecrets', () => {
  it.each([
    // Scrape job HTTP client: sent to workers.
    ['basic_auth.password', scrapeJob(`basic_auth: {username: u, password: ${SECRET}}`), 'scrape job "j"', 'basic_auth.password', true],
    ['authorization.credentials', scrapeJob(`authorization: {credentials: ${SECRET}}`), 'scrape job "j"', 'authorization.credentials', true],
    ['bearer_token (legacy)', scrapeJob(`bearer_token: ${SECRET}`), 'scrape job "j"', 'authorization.credentials', true],
    ['tls_config.key', scrapeJob('tls_config: {cert_file: c.pem, key: SECRET}'.replace('SECRET', SECRET)), 'scrape job "j"', 'tls_config.key', true],
    ['http_headers secrets', scrapeJob(`http_headers: {X-Token: {secrets: [${SECRET}]}}`), 'scrape job "j"', 'http_headers."X-Token".secrets', true],
    ['proxy_url with user info', scrapeJob(`proxy_url: http://u:${SECRET}@proxy:3128`), 'scrape job "j"', 'proxy_url', true],
    ['proxy_url with a user name only', scrapeJob('proxy_url: http://token@proxy:3128'), 'scrape job "j"', 'proxy_url', true],
    ['a static target with user info', scrapeJob('static_configs:', `  - targets: ['a:1', 'u:${SECRET}@node:9100']`), 'scrape job "j"', 'static_configs[0].targets[1]', true],
    ['a relabeled __address__ with user info', scrapeJob('relabel_configs:', `  - {target_label: __address__, replacement: 'u:${SECRET}@$1'}`), 'scrape job "j"', 'relabel_configs[0].replacement', true],
    // Accepted, never sent.
    ['proxy_connect_header', scrapeJob('proxy_url: http://proxy:3128', `proxy_connect_header: {Proxy-Authorization: [${SECRET}]}`), 'scrape job "j"', 'proxy_connect_header."Proxy-Authorization"', false],
    ['oauth2.client_secret', scrapeJob(`oauth2: {client_id: c, client_secret: ${SECRET}, token_url: https://idp/token}`), 'scrape job "j"', 'oauth2.client_secret', false],
    ['oauth2.client_certificate_key', scrapeJob(`oauth2: {client_id: c, client_certificate_key: ${SECRET}, token_url: https://idp/token}`), 'scrape job "j"', 'oauth2.client_certificate_key', false],
    ['oauth2.token_url with user info', scrapeJob(`oauth2: {client_id: c, token_url: "https://c:${SECRET}@idp/token"}`), 'scrape job "j"', 'oauth2.token_url', false],
    ['oauth2.tls_config.key', scrapeJob(`oauth2: {client_id: c, token_url: https://idp/token, tls_config: {cert_file: c.pem, key: ${SECRET}}}`), 'scrape job "j"', 'oauth2.tls_config.key', false],
    ['oauth2.proxy_url with user info', scrapeJob(`oauth2: {client_id: c, token_url: https://idp/token, proxy_url: "http://u:${SECRET}@p:1"}`), 'scrape job "j"', 'oauth2.proxy_url', false],
    // Kubernetes SD: the master's own connection.
    ['kubernetes_sd_configs bearer_token', scrapeJob('kubernetes_sd_configs:', `  - {role: pod, api_server: "https://k8s:6443", bearer_token: ${SECRET}}`), 'scrape job "j"', 'kubernetes_sd_configs[0].authorization.credentials', false],
    ['kubernetes_sd_configs api_server with user info', scrapeJob('kubernetes_sd_configs:', `  - {role: pod, api_server: "https://u:${SECRET}@k8s:6443"}`), 'scrape job "j"', 'kubernetes_sd_configs[0].api_server', false],
    // Remote write: sent to workers.
    ['remote_write url with user info', remoteWrite(`url: https://user:${SECRET}@mimir.example/api/v1/push`), 'remote_write "rw"', 'url', true],
    ['remote_write basic_auth.password', remoteWrite('url: https://mimir.example/push', `basic_auth: {username: u, password: ${SECRET}}`), 'remote_write "rw"', 'basic_auth.password', true],
    ['remote_write authorization.credentials', remoteWrite('url: https://mimir.example/push', `authorization: {credentials: ${SECRET}}`), 'remote_write "rw"', 'authorization.credentials', true],
    ['remote_write bearer_token', remoteWrite('url: https://mimir.example/push', `bearer_token: ${SECRET}`), 'remote_write "rw"', 'authorization.credentials', true],
    ['remote_write tls_config.key', remoteWrite('url: https://mimir.example/push', `tls_config: {cert_file: c.pem, key: ${SECRET}}`), 'remote_write "rw"', 'tls_config.key', true],
    ['remote_write http_headers secrets', remoteWrite('url: https://mimir.example/push', `http_headers: {X-Scope-OrgID: {secrets: [${SECRET}]}}`), 'remote_write "rw"', 'http_headers."X-Scope-OrgID".secrets', true],
    ['remote_write oauth2.client_secret', remoteWrite('url: https://mimir.example/push', `oauth2: {client_id: c, client_secret: ${SECRET}, token_url: https://idp/token}`), 'remote_write "rw"', 'oauth2.client_secret', false],
  ])('finds %s', (_name, text, owner, field, sentToWorkers) => {
    const found = inlineSecrets(load(text));
    expect(found).toEqual([{ owner, field, sentToWorkers }]);
    expect(JSON.stringify(found)).not.toContain(SECRET);
  });

  it.each([
    ['no secrets at all', y('scrape_configs:', '  - job_name: j', 'remote_write:', '  - url: https://mimir.example/push')],
    ['secrets in files', scrapeJob('basic_auth: {username: u, password_file: /etc/p}', 'tls_config: {cert_file: c.pem, key_file: k.pem}')],
    ['a bearer token file', scrapeJob('bearer_token_file: /var/run/token')],
    ['http_headers values and files', scrapeJob('http_headers: {X-A: {values: [plain], files: [/etc/h]}}')],
    ['a user name without a password in basic_auth', scrapeJob('basic_auth: {username: u}')],
    ['static targets and relabeling without user info', scrapeJob('static_configs:', "  - targets: ['node:9100']", 'relabel_configs:', "  - {target_label: instance, replacement: 'a@b'}")],
    ['remote_write headers (not secrets, as in Prometheus)', y('remote_write:', '  - url: https://mimir.example/push', '    headers: {X-Scope-OrgID: tenant}')],
    ['oauth2 with a secret file', scrapeJob('oauth2: {client_id: c, client_secret_file: /etc/s, token_url: https://idp/token}')],
  ])('finds nothing with %s', (_name, text) => {
    expect(inlineSecrets(load(text))).toEqual([]);
  });

  it('names unnamed remote_write entries by index and keeps config order', () => {
    const text = y(
      'scrape_configs:',
      '  - job_name: a',
      `    basic_auth: {username: u, password: ${SECRET}}`,
      'remote_write:',
      '  - url: https://mimir.example/push',
      `  - url: https://u:${SECRET}@vm.example/api/v1/write`,
      `    bearer_token: ${SECRET}`,
    );
    expect(inlineSecrets(load(text))).toEqual([
      { owner: 'scrape job "a"', field: 'basic_auth.password', sentToWorkers: true },
      { owner: 'remote_write[1]', field: 'url', sentToWorkers: true },
      { owner: 'remote_write[1]', field: 'authorization.credentials', sentToWorkers: true },
    ]);
  });
});

describe('hasCredentials', () => {
  it.each([
    ['https://u:p@h/x', true],
    ['https://u@h/x', true],
    ['https://u:p%2Fq@h/x', true],
    ['https://u:a/b@h/x', true],
    ['https://h/x?q=a@b', false],
    ['https://h/x#a@b', false],
    ['https://h:9090/x', false],
    ['not a url', false],
  ])('%s → %s', (url, expected) => {
    expect(hasCredentials(url)).toBe(expected);
  });
});
