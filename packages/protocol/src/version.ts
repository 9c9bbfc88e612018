/**
 * The fleet protocol version this code speaks, sent in `Hello.protocol_version` and
 * `Welcome.protocol_version`. It changes only when a peer would misread the other's messages;
 * added fields and messages that old peers can ignore keep the version.
 */
export const PROTOCOL_VERSION = 1;

/**
 * How many heartbeat intervals may pass without any message from the peer before a side treats
 * the stream as dead (see `Heartbeat` in fleet.proto).
 */
export const HEARTBEAT_DEAD_AFTER_INTERVALS = 3;

/**
 * The largest message either side accepts, in bytes: grpc-js' default receive limit (4 MiB). The
 * master splits snapshots (`AssignmentSnapshot.continued`) and large deltas so that every message
 * stays below it.
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
