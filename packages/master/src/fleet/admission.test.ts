import { describe, expect, it } from '@jest/globals';
import { RefusedReason, admit, refusedReasons, type AdmissionPolicy, type CallCredentials } from './admission.js';

const TOKEN = 'fleet-t0ken-value';
const token = (value: string) => ({ current: () => value });
const cert = { subject: 'CN=worker-1,O=promfleet', fingerprint256: 'AB:CD' };

describe('admit', () => {
  it.each<[string, AdmissionPolicy, CallCredentials, ReturnType<typeof admit>]>([
    ['nothing required, nothing presented', { requireClientCertificate: false }, { authorization: [] }, { admitted: true, identity: 'anonymous' }],
    ['nothing required, a certificate presented', { requireClientCertificate: false }, { certificate: cert, authorization: [] }, { admitted: true, identity: 'x509:CN=worker-1,O=promfleet', certificateFingerprint: 'AB:CD' }],
    ['a certificate required and presented', { requireClientCertificate: true }, { certificate: cert, authorization: [] }, { admitted: true, identity: 'x509:CN=worker-1,O=promfleet', certificateFingerprint: 'AB:CD' }],
    ['a certificate required, none presented', { requireClientCertificate: true }, { authorization: [`Bearer ${TOKEN}`] }, { admitted: false, reason: 'no_client_certificate', message: expect.stringContaining('--master.tls.cert-file') as unknown as string }],
    ['a token required and presented', { requireClientCertificate: false, token: token(TOKEN) }, { authorization: [`Bearer ${TOKEN}`] }, { admitted: true, identity: 'token' }],
    ['a token presented with a lower-case scheme', { requireClientCertificate: false, token: token(TOKEN) }, { authorization: [`bearer ${TOKEN}`] }, { admitted: true, identity: 'token' }],
    ['a token required, none presented', { requireClientCertificate: false, token: token(TOKEN) }, { authorization: [] }, { admitted: false, reason: 'no_token', message: expect.stringContaining('--master.token-file') as unknown as string }],
    ['a token required, another scheme presented', { requireClientCertificate: false, token: token(TOKEN) }, { authorization: [`Basic ${TOKEN}`] }, { admitted: false, reason: 'no_token', message: expect.any(String) as unknown as string }],
    ['a token required, a wrong one presented', { requireClientCertificate: false, token: token(TOKEN) }, { authorization: ['Bearer guess'] }, { admitted: false, reason: 'bad_token', message: expect.any(String) as unknown as string }],
    ['a token required, a prefix of it presented', { requireClientCertificate: false, token: token(TOKEN) }, { authorization: [`Bearer ${TOKEN.slice(0, 5)}`] }, { admitted: false, reason: 'bad_token', message: expect.any(String) as unknown as string }],
    ['both required, both presented: the certificate names the identity', { requireClientCertificate: true, token: token(TOKEN) }, { certificate: cert, authorization: [`Bearer ${TOKEN}`] }, { admitted: true, identity: 'x509:CN=worker-1,O=promfleet', certificateFingerprint: 'AB:CD' }],
    ['both required, the token wrong', { requireClientCertificate: true, token: token(TOKEN) }, { certificate: cert, authorization: ['Bearer nope'] }, { admitted: false, reason: 'bad_token', message: expect.any(String) as unknown as string }],
  ])('%s', (_name, policy, call, expected) => {
    expect(admit(policy, call)).toEqual(expected);
  });

  it('follows a rotated token: the old one is refused, the new one admitted', () => {
    let current = 'old-token';
    const policy: AdmissionPolicy = { requireClientCertificate: false, token: { current: () => current } };
    expect(admit(policy, { authorization: ['Bearer old-token'] }).admitted).toBe(true);
    current = 'new-token';
    expect(admit(policy, { authorization: ['Bearer old-token'] })).toMatchObject({ admitted: false, reason: RefusedReason.badToken });
    expect(admit(policy, { authorization: ['Bearer new-token'] }).admitted).toBe(true);
  });

  it('never puts a presented or expected token in its message', () => {
    const outcomes = [
      admit({ requireClientCertificate: false, token: token(TOKEN) }, { authorization: ['Bearer presented-guess'] }),
      admit({ requireClientCertificate: true, token: token(TOKEN) }, { authorization: ['Bearer presented-guess'] }),
    ];
    for (const outcome of outcomes) {
      expect(JSON.stringify(outcome)).not.toContain(TOKEN);
      expect(JSON.stringify(outcome)).not.toContain('presented-guess');
    }
  });

  it('has one label value per reason, in snake case', () => {
    expect(new Set(refusedReasons).size).toBe(refusedReasons.length);
    for (const reason of refusedReasons) expect(reason).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });
});
