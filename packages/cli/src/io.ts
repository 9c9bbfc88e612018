/**
 * The process edges a command touches, passed in so commands run in tests without spawning a process.
 */
import { readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';

/** Standard streams and the file system, as seen by one command invocation. */
export interface CommandIO {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Reads a UTF-8 file; `-` means standard input. */
  readFile(path: string): Promise<string>;
  /** Aborts when the process is asked to stop (SIGINT, SIGTERM): long-running commands then shut down cleanly. */
  readonly shutdown: AbortSignal;
  /**
   * Calls `listener` each time the process is asked to reload its configuration (SIGHUP, as Prometheus); returns
   * the function that unsubscribes. While a listener is subscribed, SIGHUP no longer ends the process (Node's
   * default). Absent where there is no such signal (tests, the demo's inner commands).
   */
  readonly onReload?: (listener: () => void) => () => void;
}

/** A user error: printed as `promfleet: <message>` without a stack trace, exiting with `exitCode`. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'PROMFLEET_USAGE';
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/** The real process's IO. */
export function processIO(): CommandIO {
  const shutdown = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => shutdown.abort());
  return {
    shutdown: shutdown.signal,
    onReload(listener) {
      const handler = () => listener();
      process.on('SIGHUP', handler);
      return () => process.off('SIGHUP', handler);
    },
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    async readFile(path) {
      if (path === '-') return readAll(process.stdin);
      try {
        return await readFile(path, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${path}: ${describeFsError(err)}`, 1);
      }
    },
  };
}

/** Reads a whole stream as UTF-8. */
export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function describeFsError(err: unknown): string {
  if (err instanceof Error && 'code' in err) {
    switch (err.code) {
      case 'ENOENT':
        return 'no such file';
      case 'EACCES':
        return 'permission denied';
      case 'EISDIR':
        return 'is a directory';
      default:
        return err.message;
    }
  }
  return String(err);
}

/** Errors that mean the reader is gone: what is written is dropped, and the command goes on (main.ts decides). */
const readerGone: ReadonlySet<unknown> = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

/** Writes and waits until the stream took it, so output is never lost on exit; resolves too when the reader is gone. */
export function write(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed) {
      resolve();
      return;
    }
    stream.write(text, (err) => (err && !(typeof err === 'object' && 'code' in err && readerGone.has(err.code)) ? reject(err) : resolve()));
  });
}
