/**
 * Reading one credential file, as prometheus/common's `FileSecret.Fetch` does: the whole file, surrounding white space
 * trimmed, read again at every use so that a rotated token is seen.
 */
import { readFile } from 'node:fs/promises';
import { CredentialsConfigError, fsErrorCode } from './errors.js';
import { SecretFilePolicy } from './policy.js';

/** Which file to read and how errors name it. */
export interface SecretFileRead {
  readonly file: string;
  /** Names the owner, for example `scrape job "node"`. */
  readonly context: string;
  /** The setting, for example `authorization.credentials_file`. */
  readonly field: string;
  /** What the file holds, for errors: `authorization credentials`, `basic auth password`. */
  readonly what: string;
  /** Which files may be read; unrestricted by default. */
  readonly policy?: SecretFilePolicy;
}

/**
 * The file's content, trimmed.
 *
 * @throws {CredentialsConfigError} naming the field, the file and the reason (`ENOENT`), never any content; a
 *   `SecretFileRefusedError`, without the file being opened, when the policy does not allow it.
 */
export async function readSecretFile(options: SecretFileRead): Promise<string> {
  const { file, context, field, what } = options;
  const policy = options.policy ?? SecretFilePolicy.unrestricted;
  const read = async () => (await readFile(await policy.resolve(file, { context, field }), 'utf8')).trim();
  try {
    try {
      return await read();
    } catch (err) {
      // A Kubernetes secret update swaps its `..data` link and deletes the old directory: a read that resolved the
      // path just before the swap finds nothing. Resolving once more reads the new file.
      if (fsErrorCode(err) !== 'ENOENT') throw err;
      return await read();
    }
  } catch (err) {
    if (err instanceof CredentialsConfigError) throw err;
    throw new CredentialsConfigError({ context, field, problem: `unable to read ${what}: unable to read file ${file}: ${fsErrorCode(err)}`, cause: err });
  }
}
