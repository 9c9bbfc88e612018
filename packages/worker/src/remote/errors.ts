/**
 * Errors of a remote-write send, and the URL redaction every message, log and metric label goes through. A send
 * ends in one of two classes, as Prometheus' `storage/remote/client.go` (`Client.Store`) sorts them: recoverable
 * (network errors, 5xx, 429 with `retry_on_http_429`), which the queue retries with backoff, and rejected (any other
 * non-2xx), whose batch is dropped. Messages name the endpoint by its redacted URL and never carry header values.
 */

/** Stable codes of the remote-write errors. */
export const RemoteWriteErrorCode = {
  recoverable: 'PROMFLEET_REMOTE_WRITE_RECOVERABLE',
  rejected: 'PROMFLEET_REMOTE_WRITE_REJECTED',
} as const;

/** The union of the remote-write error codes. */
export type RemoteWriteErrorCode = (typeof RemoteWriteErrorCode)[keyof typeof RemoteWriteErrorCode];

/**
 * A send that may succeed when repeated with the same batch: the request did not reach the receiver or timed out, the
 * receiver answered 5xx, or it answered 429 and the endpoint has `retry_on_http_429`. `retryAfterMs` is the
 * receiver's `Retry-After` in milliseconds when it sent a usable one (positive), else undefined.
 */
export class RemoteWriteRecoverableError extends Error {
  override readonly name = 'RemoteWriteRecoverableError';
  readonly code = RemoteWriteErrorCode.recoverable;

  /** Creates the error; `status` is the HTTP status, or undefined when no response arrived. */
  constructor(
    message: string,
    readonly details: { readonly status?: number; readonly retryAfterMs?: number },
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A batch the receiver refused with a status that retrying cannot change (4xx, 429 without retries, 1xx/3xx). */
export class RemoteWriteRejectedError extends Error {
  override readonly name = 'RemoteWriteRejectedError';
  readonly code = RemoteWriteErrorCode.rejected;

  /** Creates the error for HTTP status `status`. */
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
