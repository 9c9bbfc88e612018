import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretFileRefusedError } from './errors.js';
import { SecretFilePolicy } from './policy.js';

// root/secrets is allowed; root/secrets-evil, root/outside and everything else are not.
let root: string;
let secrets: string;
let policy: SecretFilePolicy;
const use = { context: 'scrape job "test"', field: 'authorization.credentials_file' };
const flag = '--worker.secret-dirs';

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'promfleet-policy-')));
  secrets = join(root, 'secrets');
  mkdirSync(secrets);
  mkdirSync(join(root, 'secrets-evil'));
  mkdirSync(join(root, 'outside'));
  writeFileSync(join(secrets, 'token'), 'token\n');
  writeFileSync(join(root, 'secrets-evil', 'token'), 'evil\n');
  writeFileSync(join(root, 'outside', 'hostname'), 'host\n');
  symlinkSync(join(root, 'outside', 'hostname'), join(secrets, 'escape'));
  symlinkSync(join(root, 'outside'), join(secrets, 'escape-dir'));
  policy = SecretFilePolicy.allowDirs([secrets], { flag });
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('SecretFilePolicy', () => {
  it.each<[string, () => string]>([
    ['a symlink inside that points outside', () => join(secrets, 'escape')],
    ['a file under a symlinked directory that points outside', () => join(secrets, 'escape-dir', 'hostname')],
    ['a .. escape', () => join(secrets, '..', 'outside', 'hostname')],
    ['a .. escape written as a string', () => `${secrets}/../outside/hostname`],
    ['a directory whose name only starts like the allowed one', () => join(root, 'secrets-evil', 'token')],
    ['a file outside', () => join(root, 'outside', 'hostname')],
    ['a relative path', () => 'secrets/token'],
    ['a missing file outside (its absence is not revealed)', () => join(root, 'outside', 'nothing')],
  ])('refuses %s, naming the field, the file and the flag', async (_name, file) => {
    const error = await policy.resolve(file(), use).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretFileRefusedError);
    expect(error).toMatchObject({ code: 'PROMFLEET_SECRET_FILE_REFUSED', field: use.field, file: file(), flag });
    expect((error as Error).message).toContain(`scrape job "test": authorization.credentials_file: refused to read file ${file()}`);
    expect((error as Error).message).toContain(`add its directory to ${flag}`);
    expect((error as Error).message).not.toContain('host\n');
    expect(() => policy.resolveSync(file(), use)).toThrow(SecretFileRefusedError);
  });

  it('names where a symlink led', async () => {
    await expect(policy.resolve(join(secrets, 'escape'), use)).rejects.toThrow(`(resolved to ${join(root, 'outside', 'hostname')})`);
  });

  it('accepts a file inside, and a .. that stays inside, resolving to the real path', async () => {
    await expect(policy.resolve(join(secrets, 'token'), use)).resolves.toBe(join(secrets, 'token'));
    expect(policy.resolveSync(join(secrets, 'sub', '..', 'token'), use)).toBe(join(secrets, 'token'));
  });

  it('accepts a Kubernetes secret volume through a ..data symlink swap', async () => {
    const volume = join(root, 'volume');
    mkdirSync(join(volume, '..2026_v1'), { recursive: true });
    mkdirSync(join(volume, '..2026_v2'));
    writeFileSync(join(volume, '..2026_v1', 'token'), 'one');
    writeFileSync(join(volume, '..2026_v2', 'token'), 'two');
    symlinkSync('..2026_v1', join(volume, '..data'));
    symlinkSync('..data/token', join(volume, 'token'));
    const k8s = SecretFilePolicy.allowDirs([volume], { flag });
    await expect(k8s.resolve(join(volume, 'token'), use)).resolves.toBe(join(volume, '..2026_v1', 'token'));
    symlinkSync('..2026_v2', join(volume, '..data_tmp'));
    renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
    await expect(k8s.resolve(join(volume, 'token'), use)).resolves.toBe(join(volume, '..2026_v2', 'token'));
  });

  it('accepts an allowed directory given through a symlink', async () => {
    const link = join(root, 'secrets-link');
    symlinkSync(secrets, link);
    const linked = SecretFilePolicy.allowDirs([link], { flag });
    await expect(linked.resolve(join(link, 'token'), use)).resolves.toBe(join(secrets, 'token'));
  });

  it('lets the file system error through for a missing file inside', async () => {
    await expect(policy.resolve(join(secrets, 'missing'), use)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('allows nothing with no directories, and everything unrestricted', async () => {
    const none = SecretFilePolicy.allowDirs([], { flag });
    await expect(none.resolve(join(secrets, 'token'), use)).rejects.toThrow('outside the directories secrets may be read from (none)');
    expect(String(none)).toBe('none');
    await expect(SecretFilePolicy.unrestricted.resolve('relative/file', use)).resolves.toBe('relative/file');
    expect(SecretFilePolicy.unrestricted.dirs).toBeUndefined();
    expect(String(policy)).toBe(secrets);
  });
});
