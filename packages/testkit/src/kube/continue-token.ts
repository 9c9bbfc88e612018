/**
 * List continuation tokens in the real server's format (`storage.EncodeContinue`): unpadded base64url of
 * `{"v":"meta.k8s.io/v1","rv":<revision>,"start":"<key>\u0000"}`. A revision of -1 asks for the rest of the list at
 * the latest revision (the inconsistent continuation offered after a 410).
 */
import { isRecord } from './objects.js';
import { badRequest } from './status.js';

const tokenVersion = 'meta.k8s.io/v1';

/** A decoded continue token. */
export interface ContinueToken {
  /** The revision the first page was read at, or -1 for "the latest". */
  readonly resourceVersion: number;
  /** The first key the next page may hold. */
  readonly startKey: string;
}

/** Encodes the token for the page after `lastKey` of a list read at `resourceVersion`. */
export function encodeContinue(resourceVersion: number, lastKey: string): string {
  return encodeStart(resourceVersion, `${lastKey}\u0000`);
}

/** Encodes a token that starts exactly at `startKey`. */
export function encodeStart(resourceVersion: number, startKey: string): string {
  const json = JSON.stringify({ v: tokenVersion, rv: resourceVersion, start: startKey });
  return Buffer.from(json, 'utf8').toString('base64url');
}

/**
 * Decodes a token and checks that it belongs to the request's key range.
 *
 * @throws KubeApiError 400 `continue key is not valid: …` for anything that is not a token of this server.
 */
export function decodeContinue(token: string, prefix: string): ContinueToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('continue key is not valid: illegal base64 data or JSON');
  }
  if (!isRecord(parsed) || parsed['v'] !== tokenVersion) {
    throw badRequest(`continue key is not valid: incorrect encoded start resourceVersion (version ${tokenVersion})`);
  }
  const rv = parsed['rv'];
  const start = parsed['start'];
  if (typeof rv !== 'number' || !Number.isInteger(rv) || rv < -1 || rv === 0) {
    throw badRequest(`continue key is not valid: incorrect encoded start resourceVersion (version ${tokenVersion})`);
  }
  if (typeof start !== 'string' || start === '' || !start.startsWith(prefix)) {
    throw badRequest('continue key is not valid: encoded start key does not belong to this list');
  }
  return { resourceVersion: rv, startKey: start };
}
