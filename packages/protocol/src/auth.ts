/**
 * How a worker presents its bearer token on the fleet link (docs/protocol.md, "Authentication and limits"): the
 * metadata `authorization: Bearer <token>` of every `Fleet.Connect` call, as gRPC's own token credentials send it.
 */
import { Metadata } from '@grpc/grpc-js';

/** The metadata key that carries the token. */
export const AUTHORIZATION_METADATA_KEY = 'authorization';

/** The scheme before the token, followed by one space. */
export const BEARER_PREFIX = 'Bearer ';

/** The call metadata that presents `token`; an empty token gives empty metadata. */
export function bearerMetadata(token: string): Metadata {
  const metadata = new Metadata();
  if (token !== '') metadata.set(AUTHORIZATION_METADATA_KEY, `${BEARER_PREFIX}${token}`);
  return metadata;
}
