/**
 * A throwaway PKI made with `openssl`, for tests and e2e: a CA with a server certificate for scrape targets
 * (`target.test`), one for the master (`master.test` and 127.0.0.1), client certificates for two distinct workers,
 * a generic client certificate, and a second CA with a client certificate of its own (one the first CA's clients
 * must not accept). Every certificate is a file in a fresh temporary directory; {@link Pki.reissue} writes a new
 * certificate and key over one of them, as cert-manager renews a secret. Tests only.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its key, as files. */
export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** The certificates {@link makePki} issues, by name: the name is also the file stem (`worker-1.crt`). */
export type PkiLeaf = 'server' | 'master' | 'client' | 'worker-1' | 'worker-2' | 'rogue-worker';

/** A temporary PKI; `remove()` deletes its directory. */
export interface Pki {
  readonly dir: string;
  /** The CA that signs every certificate but `rogueWorker`. */
  readonly caFile: string;
  /** Its PEM text. */
  readonly ca: string;
  /** Another CA, which signs only `rogueWorker`. */
  readonly otherCaFile: string;
  /** Scrape target server: PEM texts, valid for `target.test` only (not for 127.0.0.1). */
  readonly serverCert: string;
  readonly serverKey: string;
  /** A client certificate (`CN=promfleet-client`) for scrape targets. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** The master's fleet server certificate: valid for `master.test`, `localhost` and 127.0.0.1. */
  readonly master: CertificateFiles;
  /** Client certificates of two distinct workers: `CN=worker-1` and `CN=worker-2`, signed by the CA. */
  readonly worker1: CertificateFiles;
  readonly worker2: CertificateFiles;
  /** A worker client certificate (`CN=worker-1`, the same subject as `worker1`) signed by the other CA. */
  readonly rogueWorker: CertificateFiles;
  /**
   * Issues a new certificate and key for `leaf` (same subject and names, new serial and key) and puts them in place
   * of the old files, each by an atomic rename, as a renewal does. Resolves to the new certificate's PEM text.
   */
  reissue(leaf: PkiLeaf): string;
  /** Deletes the directory. */
  remove(): void;
}

interface LeafSpec {
  readonly subject: string;
  readonly extensions: string;
  readonly ca: 'ca' | 'other-ca';
}

const leaves: Readonly<Record<PkiLeaf, LeafSpec>> = {
  server: { subject: '/CN=target.test', extensions: 'subjectAltName=DNS:target.test', ca: 'ca' },
  master: { subject: '/CN=master.test', extensions: 'subjectAltName=DNS:master.test,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth', ca: 'ca' },
  client: { subject: '/CN=promfleet-client', extensions: 'extendedKeyUsage=clientAuth', ca: 'ca' },
  'worker-1': { subject: '/CN=worker-1/O=promfleet', extensions: 'extendedKeyUsage=clientAuth', ca: 'ca' },
  'worker-2': { subject: '/CN=worker-2/O=promfleet', extensions: 'extendedKeyUsage=clientAuth', ca: 'ca' },
  'rogue-worker': { subject: '/CN=worker-1/O=promfleet', extensions: 'extendedKeyUsage=clientAuth', ca: 'other-ca' },
};

/** Makes the PKI in a fresh temporary directory (about 10 `openssl` runs). */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'promfleet-pki-'));
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const name of ['ca', 'other-ca']) {
    openssl('req', '-x509', ...key, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=promfleet ${name}`);
  }
  /** Issues `leaf` into `<stem>.crt` and `<stem>.key`. */
  const issue = (leaf: PkiLeaf, stem: string): void => {
    const spec = leaves[leaf];
    openssl('req', ...key, '-keyout', `${stem}.key`, '-out', `${stem}.csr`, '-subj', spec.subject);
    writeFileSync(file(`${stem}.ext`), `${spec.extensions}\n`);
    openssl('x509', '-req', '-in', `${stem}.csr`, '-CA', `${spec.ca}.crt`, '-CAkey', `${spec.ca}.key`, '-CAcreateserial', '-out', `${stem}.crt`, '-days', '2', '-extfile', `${stem}.ext`);
  };
  for (const leaf of Object.keys(leaves) as PkiLeaf[]) issue(leaf, leaf);
  const files = (leaf: PkiLeaf): CertificateFiles => ({ certFile: file(`${leaf}.crt`), keyFile: file(`${leaf}.key`) });
  return {
    dir,
    caFile: file('ca.crt'),
    ca: readFileSync(file('ca.crt'), 'utf8'),
    otherCaFile: file('other-ca.crt'),
    serverCert: readFileSync(file('server.crt'), 'utf8'),
    serverKey: readFileSync(file('server.key'), 'utf8'),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
    master: files('master'),
    worker1: files('worker-1'),
    worker2: files('worker-2'),
    rogueWorker: files('rogue-worker'),
    reissue: (leaf) => {
      issue(leaf, `${leaf}.next`);
      renameSync(file(`${leaf}.next.key`), file(`${leaf}.key`));
      renameSync(file(`${leaf}.next.crt`), file(`${leaf}.crt`));
      return readFileSync(file(`${leaf}.crt`), 'utf8');
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
