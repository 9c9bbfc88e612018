/**
 * A throwaway PKI made with `openssl` for the tests of this package: a CA, a certificate signed by it with its key,
 * and a second key that matches nothing. Tests only.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM texts of the test PKI. */
export interface TestPki {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly otherKey: string;
}

/** Makes the PKI in a temporary directory, reads it, and removes the directory. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'promfleet-credentials-pki-'));
  try {
    const openssl = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    };
    const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl('req', '-x509', ...key, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=promfleet test ca');
    openssl('req', ...key, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=promfleet-test');
    openssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.crt', '-days', '2');
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'other.key');
    const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
    return { ca: read('ca.crt'), cert: read('leaf.crt'), key: read('leaf.key'), otherKey: read('other.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
