/**
 * @promfleet/worker: the data plane. So far: the assignment client, which holds the worker's one stream to the
 * master and keeps the assignment it was given, through master restarts and network failures.
 */
export { AssignmentClient, type AssignmentClientOptions, type ClientEvent } from './assignment/client.js';
export { AssignmentErrorCode, AssignmentOutOfSyncError, AssignmentProtocolError } from './assignment/errors.js';
export {
  AssignmentState,
  type AssignmentChange,
  type HeldTarget,
  type PendingRemoval,
  type TargetRemoval,
} from './assignment/state.js';
