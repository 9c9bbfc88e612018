import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret, type HttpClientConfig } from '@promfleet/model';
import { makePki } from '@promfleet/testkit';
import { CredentialsConfigError, SecretFileRefusedError } from './errors.js';
import { SecretFilePolicy } from './policy.js';
import { TlsFiles, type TlsParts } from './tls-files.js';

/** PEM texts: a CA, a certificate it signed with its key, and a key that matches nothing of them. */
let pki: { readonly ca: string; readonly cert: string; readonly key: string; readonly otherKey: string };
let dir: string;

beforeAll(() => {
  const made = makePki();
  const read = (path: string) => readFileSync(path, 'utf8');
  pki = { ca: made.ca, cert: read(made.worker1.certFile), key: read(made.worker1.keyFile), otherKey: read(made.worker2.keyFile) };
  made.remove();
  dir = mkdtempSync(join(tmpdir(), 'promfleet-tls-files-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `content` to `name` in the test directory, replacing it atomically when it exists. */
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
  return path;
}

function thrown(op: () => unknown): unknown {
  try {
    op();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

const context = 'scrape job "test"';

describe('TlsFiles', () => {
  it('reads inline parts and files', () => {
    const tls = new TlsFiles({ ca: pki.ca, certFile: file('a.crt', pki.cert), keyFile: file('a.key', pki.key) }, { context });
    expect(tls.material).toEqual({ ca: pki.ca, cert: pki.cert, key: pki.key });
    expect(tls.hasFiles).toBe(true);
  });

  it('builds from a tls_config, the key a secret', () => {
    const config: HttpClientConfig['tlsConfig'] = { caFile: file('b.crt', pki.ca), cert: pki.cert, key: new Secret(pki.key), insecureSkipVerify: false };
    expect(TlsFiles.fromConfig(config, { context }).material).toEqual({ ca: pki.ca, cert: pki.cert, key: pki.key });
  });

  it.each<[string, () => TlsParts, string, () => string]>([
    ['a missing CA file', () => ({ caFile: join(dir, 'nope.crt') }), 'tls_config.ca_file', () => `unable to read CA cert: unable to read file ${join(dir, 'nope.crt')}: ENOENT`],
    ['a CA file without a certificate', () => ({ caFile: file('junk.crt', 'not a certificate') }), 'tls_config.ca_file', () => `unable to use specified CA cert file ${join(dir, 'junk.crt')}`],
    ['an inline CA without a certificate', () => ({ ca: 'junk' }), 'tls_config.ca', () => 'unable to use specified CA cert inline'],
    [
      'a certificate that does not match its key',
      () => ({ certFile: file('c.crt', pki.cert), keyFile: file('wrong.key', pki.otherKey) }),
      'tls_config.cert_file',
      () => `unable to use specified client cert (file ${join(dir, 'c.crt')}) & key (file ${join(dir, 'wrong.key')}): `,
    ],
  ])('%s fails at construction, naming the setting and the file only', (_name, parts, field, message) => {
    const error = thrown(() => new TlsFiles(parts(), { context }));
    expect(error).toBeInstanceOf(CredentialsConfigError);
    expect(error).toMatchObject({ field, code: 'PROMFLEET_CREDENTIALS_CONFIG' });
    expect((error as Error).message).toContain(`${context}: ${field}: ${message()}`);
    expect((error as Error).message).not.toContain('PRIVATE KEY');
  });

  it('names flags as the fields, and a server certificate as such (the fleet link)', () => {
    const parts = { certFile: file('d.crt', pki.cert), keyFile: file('d.key', pki.otherKey) };
    const fields = { certFile: '--fleet.tls.cert-file', keyFile: '--fleet.tls.key-file', caFile: '--fleet.tls.client-ca-file' };
    const error = thrown(() => new TlsFiles(parts, { context: 'fleet link', fields, role: 'server' }));
    expect(error).toMatchObject({ field: '--fleet.tls.cert-file' });
    expect((error as Error).message).toMatch(/^fleet link: --fleet.tls.cert-file: unable to use specified server cert \(file .*d\.crt\) & key \(file .*d\.key\): /);
  });

  it('refresh() resolves false while the files stay the same, true once one changed', async () => {
    const caFile = file('rotating-ca.crt', pki.ca);
    const tls = new TlsFiles({ caFile }, { context });
    await expect(tls.refresh()).resolves.toBe(false);
    file('rotating-ca.crt', `${pki.ca}\n`);
    await expect(tls.refresh()).resolves.toBe(true);
    expect(tls.material.ca).toBe(`${pki.ca}\n`);
    await expect(tls.refresh()).resolves.toBe(false);
  });

  it('refresh() keeps the previous material when a file becomes unusable, and recovers', async () => {
    const caFile = file('later-broken.crt', pki.ca);
    const tls = new TlsFiles({ caFile }, { context });
    file('later-broken.crt', 'garbage');
    await expect(tls.refresh()).rejects.toMatchObject({ field: 'tls_config.ca_file' });
    expect(tls.material.ca).toBe(pki.ca);
    file('later-broken.crt', `${pki.ca}\n`);
    await expect(tls.refresh()).resolves.toBe(true);
  });

  it('refresh() sees a Kubernetes secret update (a ..data symlink swap), allowed under the policy', async () => {
    const secrets = join(dir, 'k8s-secret');
    const v1 = join(secrets, '..2026_01_01_v1');
    const v2 = join(secrets, '..2026_01_01_v2');
    mkdirSync(v1, { recursive: true });
    mkdirSync(v2);
    writeFileSync(join(v1, 'tls.crt'), pki.cert);
    writeFileSync(join(v1, 'tls.key'), pki.key);
    writeFileSync(join(v2, 'tls.crt'), `${pki.cert}\n`);
    writeFileSync(join(v2, 'tls.key'), pki.key);
    symlinkSync('..2026_01_01_v1', join(secrets, '..data'));
    symlinkSync('..data/tls.crt', join(secrets, 'tls.crt'));
    symlinkSync('..data/tls.key', join(secrets, 'tls.key'));
    const policy = SecretFilePolicy.allowDirs([secrets], { flag: '--worker.secret-dirs' });
    const tls = new TlsFiles({ certFile: join(secrets, 'tls.crt'), keyFile: join(secrets, 'tls.key') }, { context, policy });
    expect(tls.material.cert).toBe(pki.cert);
    // What the kubelet does: a new ..data link, renamed over the old one.
    symlinkSync('..2026_01_01_v2', join(secrets, '..data_tmp'));
    renameSync(join(secrets, '..data_tmp'), join(secrets, '..data'));
    await expect(tls.refresh()).resolves.toBe(true);
    expect(tls.material.cert).toBe(`${pki.cert}\n`);
  });

  it('refuses a file outside the policy at construction, and on refresh once a link leads outside', async () => {
    const allowed = join(dir, 'allowed');
    mkdirSync(allowed);
    const policy = SecretFilePolicy.allowDirs([allowed], { flag: '--worker.secret-dirs' });
    const outside = file('outside.crt', pki.ca);
    const error = thrown(() => new TlsFiles({ caFile: outside }, { context, policy }));
    expect(error).toBeInstanceOf(SecretFileRefusedError);
    expect((error as Error).message).toContain(`${context}: tls_config.ca_file: refused to read file ${outside}`);
    expect((error as Error).message).toContain('--worker.secret-dirs');

    writeFileSync(join(allowed, 'real-ca.crt'), pki.ca);
    symlinkSync('real-ca.crt', join(allowed, 'ca.crt'));
    const tls = new TlsFiles({ caFile: join(allowed, 'ca.crt') }, { context, policy });
    symlinkSync(outside, join(allowed, 'ca.crt.new'));
    renameSync(join(allowed, 'ca.crt.new'), join(allowed, 'ca.crt'));
    await expect(tls.refresh()).rejects.toBeInstanceOf(SecretFileRefusedError);
    expect(tls.material.ca).toBe(pki.ca);
  });
});
