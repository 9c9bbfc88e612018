import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretFilePolicy } from './policy.js';
import { readSecretFile } from './secret-file.js';

let dir = '';
beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'promfleet-secret-file-')));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const use = { context: 'scrape job "node"', field: 'authorization.credentials_file', what: 'authorization credentials' } as const;

describe('readSecretFile', () => {
  it('reads the file trimmed', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, '  token-1\n');
    expect(await readSecretFile({ ...use, file, policy: SecretFilePolicy.allowDirs([dir], { flag: '--worker.secret-dirs' }) })).toBe('token-1');
  });

  it('resolves once more when the resolved file vanished, as after a Kubernetes secret update swapped ..data', async () => {
    const file = join(dir, 'rotated');
    writeFileSync(file, 'token-2');
    const policy = SecretFilePolicy.allowDirs([dir], { flag: '--worker.secret-dirs' });
    const resolve = policy.resolve.bind(policy);
    const spy = jest.spyOn(policy, 'resolve').mockResolvedValueOnce(join(dir, '..2026_12_06_old', 'rotated')).mockImplementation(resolve);
    expect(await readSecretFile({ ...use, file, policy })).toBe('token-2');
    expect(spy).toHaveBeenCalledTimes(2);
  });

  it('names the field, the file and the reason when the file is missing, never more', async () => {
    const file = join(dir, 'missing');
    await expect(readSecretFile({ ...use, file })).rejects.toThrow(`scrape job "node": authorization.credentials_file: unable to read authorization credentials: unable to read file ${file}: ENOENT`);
  });
});
