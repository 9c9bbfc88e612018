import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { formatConfigIssue, parseConfig, Secret } from './config.js';
import { errors, job, load, y } from './config-fixtures.js';

describe('secrets', () => {
  const password = 'hunter2-s3cret';

  it('print as <secret> and reveal on request', () => {
    const config = load(
      y('scrape_configs:', '  - job_name: a', '    basic_auth:', '      username: u', `      password: ${password}`, '    tls_config:', `      cert: c`, `      key: ${password}`),
    );
    const auth = config.scrapeConfigs[0]?.httpClient.basicAuth;
    const secret = auth?.password;
    expect(secret).toBeInstanceOf(Secret);
    expect([String(secret), `${String(secret)}`, inspect(secret), JSON.stringify({ secret })]).toEqual([
      '<secret>',
      '<secret>',
      '<secret>',
      '{"secret":"<secret>"}',
    ]);
    expect(secret?.reveal()).toBe(password);
    expect(JSON.stringify(config)).not.toContain(password);
    expect(inspect(config, { depth: null })).not.toContain(password);
    expect(config.scrapeConfigs[0]?.httpClient.tlsConfig.key?.reveal()).toBe(password);
  });

  it.each([
    ['basic_auth: {password: SECRET, password_file: f}'],
    ['bearer_token: SECRET', 'basic_auth: {username: u}'],
    ['tls_config: {key: SECRET}'],
    ['proxy_connect_header: {X: [SECRET]}'],
    ['http_headers: {Authorization: {secrets: [SECRET]}}'],
    ['basic_auth: {password: {SECRET: 1}}'],
    ['authorization: {credentials: [SECRET]}'],
    ['basic_auth: {password: "SECRET\\q"}'],
    ['basic_auth: {password: SECRET: x}'],
    ['oauth2: {client_secret: SECRET}'],
    ['basic_auth: {password:SECRET}'],
  ])('never appear in errors or notices: %s', (...lines) => {
    const text = y('scrape_configs:', '  - job_name: a', ...lines.map((l) => `    ${l.replace('SECRET', password)}`));
    const result = parseConfig(text, { file: 'p.yml' });
    expect(result.ok).toBe(false);
    const printed = [...(result.ok ? [] : result.errors), ...result.notices].map(formatConfigIssue).join('\n');
    expect(printed).not.toContain(password);
    expect(printed).not.toContain('hunter2');
  });
});

describe('every <secret> field in every section', () => {
  // One distinct value per field, so a leak names its field.
  const text = y(
    'scrape_configs:',
    '  - job_name: basic',
    '    basic_auth: {username: u, password: s3cret-basic}',
    '    tls_config: {cert: c, key: s3cret-tls-key}',
    '    proxy_url: http://proxy:3128',
    '    proxy_connect_header: {X-Proxy: [s3cret-proxy-header]}',
    '    http_headers: {X-Token: {secrets: [s3cret-http-header]}}',
    '    static_configs: [{targets: [a:1]}]',
    '  - job_name: authorization',
    '    authorization: {credentials: s3cret-credentials}',
    '    static_configs: [{targets: [a:1]}]',
    '  - job_name: bearer',
    '    bearer_token: s3cret-bearer',
    '    static_configs: [{targets: [a:1]}]',
    '  - job_name: oauth2',
    '    oauth2: {client_id: i, client_secret: s3cret-oauth2, token_url: http://t/}',
    '    static_configs: [{targets: [a:1]}]',
    '  - job_name: kubernetes',
    '    kubernetes_sd_configs:',
    '      - role: pod',
    '        api_server: https://k8s:6443',
    '        basic_auth: {username: u, password: s3cret-sd}',
    'remote_write:',
    '  - url: https://rw/api/v1/write',
    '    authorization: {credentials: s3cret-remote-write}',
    '    tls_config: {cert: c, key: s3cret-remote-write-key}',
  );

  it('prints <secret> when the loaded config is serialised or inspected', () => {
    const config = load(text);
    expect(config.scrapeConfigs[0]?.httpClient.basicAuth?.password?.reveal()).toBe('s3cret-basic');
    for (const shown of [JSON.stringify(config), inspect(config, { depth: null }), String(config.remoteWrite[0]?.httpClient.authorization?.credentials)]) {
      expect(shown).not.toContain('s3cret');
    }
    expect(JSON.stringify(config)).toContain('<secret>');
  });

  it('never appear in the errors and notices of a config that is otherwise wrong', () => {
    const result = parseConfig(y(text, 'bogus: 1'), { file: 'p.yml' });
    expect(result.ok).toBe(false);
    const printed = [...(result.ok ? [] : result.errors), ...result.notices].map(formatConfigIssue).join('\n');
    expect(printed).toContain('unknown key "bogus"');
    expect(printed).not.toContain('s3cret');
  });
});

describe('URLs with a password in config errors', () => {
  it.each([
    [['remote_write:', '  - url: https://user:pa/ss@host/api/v1/write'], 'remote_write[0].url: url for remote_write must be an http or https URL, got "https://user:xxxxx@host/api/v1/write"'],
    [['remote_write:', '  - url: "https://user:pa ss/x@host/api/v1/write"'], 'remote_write[0].url: url for remote_write must be an http or https URL, got "https://user:xxxxx@host/api/v1/write"'],
    [['scrape_configs:', '  - job_name: a', '    proxy_url: http://user:pa/ss@proxy:3128', '    static_configs: [{targets: [a:1]}]'], 'scrape_configs[0].proxy_url: invalid proxy_url "http://user:xxxxx@proxy:3128"'],
    [['scrape_configs:', '  - job_name: a', '    kubernetes_sd_configs: [{role: pod, api_server: "https://user:pa/ss@k8s:6443"}]'], 'scrape_configs[0].kubernetes_sd_configs[0].api_server: invalid api_server URL "https://user:xxxxx@k8s:6443"'],
    [['scrape_configs:', '  - job_name: a', '    static_configs: [{targets: ["user:pa/ss@a:9100"]}]'], 'scrape_configs[0].static_configs[0].targets[0]: "user:xxxxx@a:9100" is not a valid hostname'],
  ])('%j', (lines, expected) => {
    const printed = errors(y(...lines));
    expect(printed).toEqual([expect.stringContaining(expected)]);
    expect(printed.join('\n')).not.toMatch(/pa\/ss|pa ss|ss\/x/);
  });
});

describe('HTTP client configuration', () => {
  const client = (lines: string[], file = '/etc/prometheus/prometheus.yml') =>
    job(y('scrape_configs:', '  - job_name: a', ...lines.map((l) => `    ${l}`)), { file }).httpClient;

  it('moves a legacy bearer token into authorization, and defaults the type to Bearer', () => {
    expect(client(['bearer_token: t']).authorization).toEqual({ type: 'Bearer', credentials: expect.any(Secret) });
    expect(client(['bearer_token_file: token']).authorization).toEqual({ type: 'Bearer', credentialsFile: '/etc/prometheus/token' });
    expect(client(['authorization: {type: " Custom ", credentials: c}']).authorization?.type).toBe('Custom');
    expect(client(['authorization: {credentials_file: /t}']).authorization).toEqual({ type: 'Bearer', credentialsFile: '/t' });
  });

  it("joins relative file paths with the config file's directory, as SetDirectory", () => {
    const lines = [
      'basic_auth: {username: u, password_file: pw}',
      'tls_config: {ca_file: ca.crt, cert_file: ../tls/c.crt, key_file: /abs/k.key}',
      'http_headers: {X-Token: {values: [v], files: [./h.txt]}}',
    ];
    const c = client(lines);
    expect(c.basicAuth).toEqual({ username: 'u', passwordFile: '/etc/prometheus/pw' });
    expect(c.tlsConfig).toEqual({ caFile: '/etc/prometheus/ca.crt', certFile: '/etc/tls/c.crt', keyFile: '/abs/k.key', insecureSkipVerify: false });
    expect(c.httpHeaders.get('X-Token')).toEqual({ values: ['v'], secrets: [], files: ['/etc/prometheus/h.txt'] });
    expect(client(['tls_config: {ca_file: ca.crt}'], 'p.yml').tlsConfig.caFile).toBe('ca.crt');
  });

  it('keeps proxy, redirect and TLS version settings', () => {
    const c = client([
      'proxy_url: http://proxy:3128',
      'no_proxy: 10.0.0.0/8',
      'proxy_connect_header: {X-A: [s]}',
      'follow_redirects: false',
      'enable_http2: false',
      'tls_config: {min_version: TLS12, max_version: TLS13, server_name: s, insecure_skip_verify: true}',
    ]);
    expect(c).toMatchObject({
      proxyUrl: 'http://proxy:3128',
      noProxy: '10.0.0.0/8',
      followRedirects: false,
      enableHttp2: false,
      tlsConfig: { minVersion: 'TLS12', maxVersion: 'TLS13', serverName: 's', insecureSkipVerify: true },
    });
    expect(c.proxyConnectHeader.get('X-A')?.map((s) => s.reveal())).toEqual(['s']);
  });

  it.each([
    [['basic_auth: {username: u}', 'authorization: {credentials: c}'], 'scrape_configs[0].authorization: at most one of basic_auth, oauth2 & authorization must be configured'],
    [['bearer_token: t', 'bearer_token_file: f'], 'scrape_configs[0].bearer_token_file: at most one of bearer_token & bearer_token_file must be configured'],
    [['bearer_token: t', 'authorization: {credentials: c}'], 'scrape_configs[0].authorization: authorization is not compatible with bearer_token & bearer_token_file'],
    [['authorization: {type: basic}'], 'scrape_configs[0].authorization: authorization type cannot be set to "basic", use "basic_auth" instead'],
    [['basic_auth: {password: p, password_file: f}'], 'scrape_configs[0].basic_auth: at most one of basic_auth password, password_file & password_ref must be configured'],
    [['basic_auth: {username: u, password_ref: r}'], 'scrape_configs[0].basic_auth.password_ref: secret references need a secret manager, which Prometheus does not have'],
    [['oauth2: {client_id: i}'], 'scrape_configs[0].oauth2: oauth2 token_url must be configured'],
    [['tls_config: {ca: x, ca_file: f}'], 'scrape_configs[0].tls_config.ca_file: at most one of ca, ca_file & ca_ref must be configured'],
    [['tls_config: {cert_file: c}'], 'scrape_configs[0].tls_config: exactly one of key or key_file must be configured when a client certificate is configured'],
    [['tls_config: {min_version: TLS14}'], 'scrape_configs[0].tls_config.min_version: unknown TLS version: TLS14 (use one of TLS10, TLS11, TLS12, TLS13)'],
    [['tls_config: {min_version: TLS13, max_version: TLS12}'], 'scrape_configs[0].tls_config.max_version: tls_config.max_version must be greater than or equal to tls_config.min_version if both are specified'],
    [['proxy_connect_header: {X: [a]}'], 'scrape_configs[0].proxy_connect_header: if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured'],
    [['proxy_from_environment: true', 'proxy_url: http://p/'], 'scrape_configs[0].proxy_url: if proxy_from_environment is configured, proxy_url must not be configured'],
    [['no_proxy: a'], 'scrape_configs[0].no_proxy: if no_proxy is configured, proxy_url must also be configured'],
    [['http_headers: {user-agent: {values: [x]}}'], 'scrape_configs[0].http_headers.user-agent: setting header "User-Agent" is not allowed'],
  ])('rejects %j', (lines, expected) => {
    const text = y('scrape_configs:', '  - job_name: a', ...lines.map((l) => `    ${l}`));
    expect(errors(text).map((e) => e.replace(/^p\.yml:\d+: /, ''))).toEqual([expected]);
  });
});
