/**
 * The MasterMessages the fleet writes to a worker's stream: the protocol's envelope around what the fleet decided.
 * Kept here so that membership, allocation and handover deal in their own terms, and only this module knows the
 * wire shape of a Welcome, a Refusal or an assignment.
 */
import { MasterMessage, PROTOCOL_VERSION, RefusalReason, type AssignmentDelta, type AssignmentSnapshot } from '@promfleet/protocol';

/** What a Welcome tells the worker. */
export interface WelcomeFields {
  readonly masterId: string;
  readonly leaderTerm: number;
  readonly workerId: string;
  readonly heartbeatIntervalMs: number;
  readonly healthReportIntervalMs: number;
  readonly softwareVersion: string;
  /** The master's status page port; absent when unknown. */
  readonly webPort?: number;
}

export function welcomeMessage(welcome: WelcomeFields): MasterMessage {
  return MasterMessage.fromPartial({ kind: { $case: 'welcome', welcome: { ...welcome, protocolVersion: PROTOCOL_VERSION } } });
}

/** A Refusal: `reason` as on the wire, `retryAfterMs` 0 for the worker's own backoff. */
export function refusalMessage(refusal: { readonly reason: keyof typeof RefusalReason; readonly message: string; readonly retryAfterMs: number }): MasterMessage {
  return MasterMessage.fromPartial({
    kind: {
      $case: 'refusal',
      refusal: {
        reason: RefusalReason[refusal.reason],
        message: refusal.message,
        retryAfterMs: refusal.retryAfterMs,
        minProtocolVersion: PROTOCOL_VERSION,
        maxProtocolVersion: PROTOCOL_VERSION,
      },
    },
  });
}

export function snapshotMessage(part: AssignmentSnapshot): MasterMessage {
  return MasterMessage.fromPartial({ kind: { $case: 'assignmentSnapshot', assignmentSnapshot: part } });
}

export function deltaMessage(delta: AssignmentDelta): MasterMessage {
  return MasterMessage.fromPartial({ kind: { $case: 'assignmentDelta', assignmentDelta: delta } });
}
