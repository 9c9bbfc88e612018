import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PassThrough, Readable } from 'node:stream';
import { makePki, type Pki } from '@promfleet/testkit';
import { run } from './cli.js';
import { masterLinkOptions } from './master-link-flags.js';
import { workerLinkOptions } from './worker-link-flags.js';
import { type CommandIO, UsageError } from './io.js';

const PASSWORD = 'hunter2-inline';
const configWithSecret = `scrape_configs:\n  - job_name: node\n    basic_auth: {username: u, password: ${PASSWORD}}\n    static_configs: [{targets: ['127.0.0.1:1']}]\n`;

/** Runs the CLI with `config.yml` in memory; resolves once the command returns, or at `started` when it logs it. */
async function cli(argv: string[], options: { config: string; stopWhen?: RegExp }) {
  const err: string[] = [];
  const shutdown = new AbortController();
  const stderr = new PassThrough().on('data', (chunk: Buffer) => {
    err.push(chunk.toString('utf8'));
    if (options.stopWhen?.test(err.join('')) === true) shutdown.abort();
  });
  const io: CommandIO = {
    stdin: Readable.from(['']),
    stdout: new PassThrough(),
    stderr,
    shutdown: shutdown.signal,
    readFile: (path) => (path === 'config.yml' ? Promise.resolve(options.config) : Promise.reject(new UsageError(`cannot read ${path}`, 1))),
  };
  const code = await run(argv, io);
  return { code, stderr: err.join('') };
}

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.remove());

const listen = ['--web.listen-address=127.0.0.1:0', '--grpc.listen-address=127.0.0.1:0', '--fleet.startup-wait=0s'];

describe('promfleet master with inline secrets', () => {
  it('refuses to start without fleet TLS, naming the secret and the override flag, never the value', async () => {
    const r = await cli(['master', '--config.file=config.yml', ...listen], { config: configWithSecret });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('scrape job "node": basic_auth.password');
    expect(r.stderr).toContain('--fleet.allow-insecure-secrets');
    expect(r.stderr).toContain('--fleet.tls.cert-file');
    expect(r.stderr).not.toContain(PASSWORD);
  });

  it('starts with mutual TLS', async () => {
    const tls = [`--fleet.tls.cert-file=${pki.master.certFile}`, `--fleet.tls.key-file=${pki.master.keyFile}`, `--fleet.tls.client-ca-file=${pki.caFile}`];
    const r = await cli(['master', '--config.file=config.yml', ...listen, ...tls], { config: configWithSecret, stopWhen: /master started/ });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/msg="master started".* fleet_tls=mutual fleet_token=off/);
    expect(r.stderr).not.toContain(PASSWORD);
  });

  it('starts without TLS with --fleet.allow-insecure-secrets, and warns', async () => {
    const r = await cli(['master', '--config.file=config.yml', ...listen, '--fleet.allow-insecure-secrets'], { config: configWithSecret, stopWhen: /master started/ });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/level=warn msg=".*inline secrets are sent to workers in clear.*" secrets="scrape job \\"node\\": basic_auth.password"/);
  });

  it('starts as before with a config without inline secrets', async () => {
    const r = await cli(['master', '--config.file=config.yml', ...listen], { config: 'scrape_configs:\n  - job_name: node\n', stopWhen: /master started/ });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/fleet_tls=off/);
  });

  it.each([
    ['--fleet.tls.cert-file', (p: Pki) => [`--fleet.tls.cert-file=${p.dir}/missing.crt`, `--fleet.tls.key-file=${p.master.keyFile}`], /--fleet\.tls\.cert-file: unable to read server cert: unable to read file .*missing\.crt: ENOENT/],
    ['--fleet.tls.client-ca-file', (p: Pki) => [`--fleet.tls.cert-file=${p.master.certFile}`, `--fleet.tls.key-file=${p.master.keyFile}`, `--fleet.tls.client-ca-file=${p.master.keyFile}`], /--fleet\.tls\.client-ca-file: unable to use specified CA cert file .*master\.key/],
    ['--fleet.token-file', (p: Pki) => [`--fleet.token-file=${p.dir}/no-token`], /--fleet\.token-file: unable to read bearer token: unable to read file .*no-token: ENOENT/],
  ])('exits 1 naming %s and its file when it cannot be used', async (_flag, flags, message) => {
    const r = await cli(['master', '--config.file=config.yml', ...listen, ...flags(pki)], { config: 'scrape_configs: []\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
  });
});

describe('promfleet worker', () => {
  it('exits 1 naming the flag and the file when its client certificate cannot be read', async () => {
    const flags = ['--master=127.0.0.1:1', '--web.listen-address=127.0.0.1:0', `--master.tls.cert-file=${pki.dir}/none.crt`, `--master.tls.key-file=${pki.worker1.keyFile}`];
    const r = await cli(['worker', ...flags], { config: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot start the worker: fleet link: --master\.tls\.cert-file: unable to read client cert: unable to read file .*none\.crt: ENOENT/);
  });
});

describe('fleet link flags', () => {
  it.each([
    [{ 'fleet.tls.cert-file': 'c' }, '--fleet.tls.cert-file and --fleet.tls.key-file go together'],
    [{ 'fleet.tls.client-ca-file': 'ca' }, '--fleet.tls.client-ca-file needs TLS'],
    [{ 'fleet.max-workers': '0' }, '--fleet.max-workers: want a whole number ≥ 1'],
    [{ 'fleet.max-connection-rate': '-1' }, '--fleet.max-connection-rate: want a whole number ≥ 0'],
    [{ 'fleet.allow-insecure-secrets': 'yes' }, '--fleet.allow-insecure-secrets: want true or false'],
  ])('rejects the master flags %j', (flags, message) => {
    expect(() => masterLinkOptions(flags)).toThrow(message);
  });

  it('defaults the master limits and turns the flags into options', () => {
    expect(masterLinkOptions({})).toEqual({ maxWorkers: 10_000, link: { allowInsecureSecrets: false, maxConnectionRatePerSecond: 200 } });
    expect(
      masterLinkOptions({
        'fleet.tls.cert-file': 'c',
        'fleet.tls.key-file': 'k',
        'fleet.tls.client-ca-file': 'ca',
        'fleet.token-file': 't',
        'fleet.allow-insecure-secrets': 'true',
        'fleet.max-workers': '5',
        'fleet.max-streams': '7',
        'fleet.max-connections': '9',
        'fleet.max-connection-rate': '0',
      }),
    ).toEqual({
      maxWorkers: 5,
      link: { tls: { certFile: 'c', keyFile: 'k', clientCaFile: 'ca' }, tokenFile: 't', allowInsecureSecrets: true, maxStreams: 7, maxConnections: 9, maxConnectionRatePerSecond: 0 },
    });
  });

  it.each([
    [{}, {}],
    [{ 'master.token-file': 't' }, { tokenFile: 't' }],
    [{ 'master.tls.server-name': 'master.test' }, { tls: { serverName: 'master.test' } }],
    [{ 'master.tls.ca-file': 'ca', 'master.tls.cert-file': 'c', 'master.tls.key-file': 'k' }, { tls: { caFile: 'ca', certFile: 'c', keyFile: 'k' } }],
  ])('turns the worker flags %j into %j', (flags, options) => {
    expect(workerLinkOptions(flags)).toEqual(options);
  });

  it('rejects a worker certificate without its key', () => {
    expect(() => workerLinkOptions({ 'master.tls.cert-file': 'c' })).toThrow('--master.tls.cert-file and --master.tls.key-file go together');
  });
});
