import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TlsFiles } from '@promfleet/credentials';
import { makePki, type Pki } from '@promfleet/testkit';
import { TlsFilesCertificateProvider, TokenFile } from './fleet-credentials.js';
import type { experimental } from '@grpc/grpc-js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.remove());

const nextTick = () => new Promise((r) => process.nextTick(r));
const fingerprint = (pem: Buffer | undefined) => (pem === undefined ? undefined : new X509Certificate(pem).fingerprint256);

function provider(signal: AbortSignal) {
  const files = new TlsFiles({ certFile: pki.master.certFile, keyFile: pki.master.keyFile, caFile: pki.caFile }, { context: 'fleet link', role: 'server' });
  return new TlsFilesCertificateProvider(files, { signal, refreshIntervalMs: 60_000 });
}

describe('TlsFilesCertificateProvider', () => {
  it('hands listeners the CA and the identity on the next tick, and renewed material after refresh()', async () => {
    const controller = new AbortController();
    const p = provider(controller.signal);
    const cas: (experimental.CaCertificateUpdate | null)[] = [];
    const identities: (experimental.IdentityCertificateUpdate | null)[] = [];
    p.addCaCertificateListener((u) => cas.push(u));
    p.addIdentityCertificateListener((u) => identities.push(u));
    expect([cas, identities]).toEqual([[], []]);
    await nextTick();
    expect(cas[0]?.caCertificate.toString()).toBe(pki.ca);
    const first = fingerprint(identities[0]?.certificate);
    expect(await p.refresh()).toBe(false);
    const renewed = new X509Certificate(pki.reissue('master')).fingerprint256;
    expect(await p.refresh()).toBe(true);
    expect(identities).toHaveLength(2);
    expect(fingerprint(identities[1]?.certificate)).toBe(renewed);
    expect(renewed).not.toBe(first);
    controller.abort();
  });

  it('keeps the last good material when the files cannot be used', async () => {
    const controller = new AbortController();
    const p = provider(controller.signal);
    const identities: (experimental.IdentityCertificateUpdate | null)[] = [];
    p.addIdentityCertificateListener((u) => identities.push(u));
    await nextTick();
    // A key that does not match the certificate, as between the two writes of a renewal that is not atomic.
    const key = join(pki.dir, 'master.key');
    const saved = join(pki.dir, 'master.key.saved');
    copyFileSync(key, saved);
    copyFileSync(pki.worker2.keyFile, key);
    await expect(p.refresh()).rejects.toThrow(/fleet link: tls_config\.cert_file: unable to use specified server cert/);
    expect(identities).toHaveLength(1);
    copyFileSync(saved, key);
    controller.abort();
  });
});

describe('TokenFile', () => {
  it('reads the token trimmed, and a rotated one on refresh()', async () => {
    const file = join(pki.dir, 'token');
    writeFileSync(file, '  first\n');
    const controller = new AbortController();
    const token = await TokenFile.load({ file, field: '--fleet.token-file', signal: controller.signal, refreshIntervalMs: 60_000 });
    expect(token.current()).toBe('first');
    expect(await token.refresh()).toBe(false);
    writeFileSync(file, 'second\n');
    expect(await token.refresh()).toBe(true);
    expect(token.current()).toBe('second');
    writeFileSync(file, '\n');
    await expect(token.refresh()).rejects.toThrow('fleet link: --fleet.token-file: the bearer token file');
    expect(token.current()).toBe('second');
    controller.abort();
  });

  it.each([
    ['missing', null, /fleet link: --master\.token-file: unable to read bearer token: unable to read file .*: ENOENT/],
    ['empty', '  \n', /fleet link: --master\.token-file: the bearer token file .* is empty/],
  ])('refuses a %s file at start, naming the flag and the file', async (name, content, message) => {
    const file = join(pki.dir, `token-${name}`);
    if (content !== null) writeFileSync(file, content);
    await expect(TokenFile.load({ file, field: '--master.token-file' })).rejects.toThrow(message);
  });
});
