/**
 * Which files a process may read as secrets. A worker reads the `*_file` settings a master sends it (credentials,
 * passwords, header files, TLS keys); a master that is not ours must not be able to make it read, and then send to a
 * host it names, any file the worker can open (its service-account token, `/etc/hostname`). So a worker reads such a
 * file only when its real path lies under a directory given at start (`--worker.secret-dirs`). The master reads the
 * files its own configuration names, unrestricted: whoever writes that configuration already controls the master.
 */
import { realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { isAbsolute, resolve, sep } from 'node:path';
import { SecretFileRefusedError } from './errors.js';

/** The setting a file comes from, for errors: `context` names the owner, `field` the setting. */
export interface FileUse {
  readonly context: string;
  readonly field: string;
}

/**
 * A file access policy: unrestricted, or a list of allowed directories.
 *
 * Under a list, a file is allowed when both its path, made absolute and normalized (`..` removed), and its real path
 * (every symbolic link resolved) lie under one of the directories, themselves taken as given and as real paths. The
 * first check refuses `..` escapes and paths outside without touching the file system, so a refused file is never
 * opened and its existence is not revealed; the second refuses a link inside a directory that leads outside it. A
 * Kubernetes secret volume (`token -> ..data/token`, `..data -> ..2025_01_01_00_00_00.123`) stays inside its
 * directory and is allowed, through its updates too. A directory that does not exist allows nothing.
 *
 * The check runs at every read, so a link changed later to lead outside is refused then. Read the path
 * {@link resolve} returns, not the one the setting names, so that what was checked is what is read.
 */
export class SecretFilePolicy {
  /** Every file may be read: for a process that reads the files of its own configuration. */
  static readonly unrestricted: SecretFilePolicy = new SecretFilePolicy(undefined, '');

  /**
   * Only files under `dirs` may be read; `flag` is the setting that lists them, named by every refusal so the
   * operator knows what to change. Relative directories are taken from the current directory.
   */
  static allowDirs(dirs: readonly string[], options: { readonly flag: string }): SecretFilePolicy {
    return new SecretFilePolicy(
      dirs.map((d) => resolve(d)),
      options.flag,
    );
  }

  readonly #dirs: readonly string[] | undefined;
  readonly #flag: string;

  private constructor(dirs: readonly string[] | undefined, flag: string) {
    this.#dirs = dirs === undefined ? undefined : Object.freeze([...dirs]);
    this.#flag = flag;
  }

  /** The allowed directories, absolute and normalized; undefined when unrestricted. */
  get dirs(): readonly string[] | undefined {
    return this.#dirs;
  }

  /** For logs: `unrestricted`, or the directories joined with `,` (`none` when empty). */
  toString(): string {
    if (this.#dirs === undefined) return 'unrestricted';
    return this.#dirs.length === 0 ? 'none' : this.#dirs.join(',');
  }

  /**
   * The path to read for `file`: `file` itself when unrestricted, else its real path once allowed.
   *
   * @throws {SecretFileRefusedError} when the policy does not allow the file.
   * @throws the file system's error (`ENOENT`, `EACCES`) when a file inside an allowed directory cannot be resolved.
   */
  async resolve(file: string, use: FileUse): Promise<string> {
    const dirs = this.#dirs;
    if (dirs === undefined) return file;
    this.#checkPath(file, use, dirs);
    const real = await realpath(file);
    const realDirs = await Promise.all(dirs.map((d) => realpath(d).catch(() => undefined)));
    return this.#checkReal({ file, real, use, realDirs });
  }

  /** {@link resolve}, synchronously: for settings read once, when a client is built. */
  resolveSync(file: string, use: FileUse): string {
    const dirs = this.#dirs;
    if (dirs === undefined) return file;
    this.#checkPath(file, use, dirs);
    const real = realpathSync(file);
    const realDirs = dirs.map((d) => {
      try {
        return realpathSync(d);
      } catch {
        return undefined;
      }
    });
    return this.#checkReal({ file, real, use, realDirs });
  }

  #checkPath(file: string, use: FileUse, dirs: readonly string[]): void {
    // A relative path would be read from the worker's current directory, which no one chose: refuse it.
    if (!isAbsolute(file) || !dirs.some((d) => isInside(resolve(file), d))) throw this.#refused(file, use);
  }

  #checkReal(options: { file: string; real: string; use: FileUse; realDirs: readonly (string | undefined)[] }): string {
    const { file, real, use, realDirs } = options;
    if (!realDirs.some((d) => d !== undefined && isInside(real, d))) throw this.#refused(file, use, real);
    return real;
  }

  #refused(file: string, use: FileUse, resolved?: string): SecretFileRefusedError {
    return new SecretFileRefusedError({
      ...use,
      file,
      ...(resolved === undefined || resolved === file ? {} : { resolved }),
      allowedDirs: this.#dirs ?? [],
      flag: this.#flag,
    });
  }
}

/** Whether `path` is `dir` or below it; both absolute and normalized. `/a/bc` is not inside `/a/b`. */
function isInside(path: string, dir: string): boolean {
  if (path === dir) return true;
  return path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
}
