/**
 * The process plumbing of the live demo and the end-to-end suites: child processes that log to a file and stop
 * with a signal (then SIGKILL after a bound), ports that prefer a well-known number, and bounded waits that say
 * what they waited for.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A wait that ran out, or a process that ended while something waited on it. */
export class DemoWaitError extends Error {
  override readonly name = 'DemoWaitError';
  readonly code = 'PROMFLEET_DEMO_WAIT';
  constructor(
    message: string,
    readonly what: string,
  ) {
    super(message);
  }
}

/** How a child ended: its exit code, or the signal that ended it, or why it could not start. */
export type ChildExit = { readonly code: number; readonly signal?: never; readonly error?: never } | { readonly code: null; readonly signal: NodeJS.Signals | null; readonly error?: string };

/** A child process started by {@link startChild}. */
export interface DemoChild {
  /** A short name for messages, such as `prometheus` or `worker-2`. */
  readonly name: string;
  /** Its pid; 0 when it could not be started at all. */
  readonly pid: number;
  /** The file its stdout and stderr go to. */
  readonly logFile: string;
  /** Resolves when the process has ended (never rejects). */
  readonly exited: Promise<ChildExit>;
  /** Whether it is still running. */
  running(): boolean;
  /** The last lines it logged, for error messages. */
  logTail(lines?: number): string;
  /**
   * Sends `signal` (SIGTERM by default) and resolves once the process has ended; after `timeoutMs` (10 s by
   * default) it is killed with SIGKILL. Stopping an ended process resolves at once.
   */
  stop(options?: { readonly signal?: NodeJS.Signals; readonly timeoutMs?: number }): Promise<ChildExit>;
}

/** Options of {@link startChild}. */
export interface StartChildOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Where stdout and stderr go (appended). */
  readonly logFile: string;
  readonly cwd?: string;
}

const started = new Set<DemoChild>();
let exitHookInstalled = false;

/**
 * Starts a process in its own process group, so that a Ctrl-C in the terminal reaches only the demo, which then
 * stops its children in order. Should this process exit without stopping them, they are killed with SIGKILL on the
 * way out.
 */
export function startChild(options: StartChildOptions): DemoChild {
  const fd = openSync(options.logFile, 'a');
  let exitedWith: ChildExit | undefined;
  const child = spawn(options.command, [...options.args], { cwd: options.cwd, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('error', (err) => {
      exitedWith = { code: null, signal: null, error: err.message };
      resolve(exitedWith);
    });
    child.once('exit', (code, signal) => {
      exitedWith = code === null ? { code: null, signal } : { code };
      resolve(exitedWith);
    });
  });
  const handle: DemoChild = {
    name: options.name,
    pid: child.pid ?? 0,
    logFile: options.logFile,
    exited,
    running: () => exitedWith === undefined,
    logTail: (lines = 15) => {
      try {
        return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    stop: async ({ signal = 'SIGTERM', timeoutMs = 10_000 } = {}) => {
      if (exitedWith !== undefined) return exitedWith;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  started.add(handle);
  void exited.then(() => started.delete(handle));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of started) {
        if (c.pid > 0) {
          try {
            process.kill(c.pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      }
    });
  }
  return handle;
}

/** How a child's end reads in a message. */
export function describeExit(exit: ChildExit): string {
  if (exit.code !== null) return `exited with code ${exit.code}`;
  if (exit.error !== undefined) return `could not start: ${exit.error}`;
  return `was killed by ${exit.signal ?? 'a signal'}`;
}

/** Whether a process with this pid exists (signal 0 probes without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err instanceof Error && 'code' in err && err.code === 'EPERM';
  }
}

function listenOnce(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, host, () => {
      const address = server.address();
      server.close(() => resolve(address !== null && typeof address === 'object' ? address.port : undefined));
    });
  });
}

/**
 * A port on `host` that was free a moment ago: `preferred` when it is, else one the system picks. The caller binds
 * it soon after; another process could take it in between, which only a retry would fix.
 */
export async function pickPort(options: { readonly host: string; readonly preferred?: number }): Promise<number> {
  if (options.preferred !== undefined) {
    const port = await listenOnce(options.preferred, options.host);
    if (port !== undefined) return port;
  }
  const port = await listenOnce(0, options.host);
  if (port === undefined) throw new Error(`no free port on ${options.host}`);
  return port;
}

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** What is awaited, for the timeout message: "Prometheus to be ready". */
  readonly what: string;
  readonly timeoutMs: number;
  /** How often to probe; 200 ms by default. */
  readonly everyMs?: number;
  /** Processes that must keep running meanwhile: if one ends, the wait fails at once with its last log lines. */
  readonly children?: readonly DemoChild[];
  /** Ends the wait early with an error. */
  readonly signal?: AbortSignal;
}

/**
 * Probes until `probe` resolves to a value other than `undefined` and returns it. A probe that throws counts as
 * "not yet"; its last error is named in the timeout message.
 *
 * @throws DemoWaitError after `timeoutMs`, when a watched child ends, or when `signal` aborts.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = '';
  for (;;) {
    if (options.signal?.aborted === true) throw new DemoWaitError(`stopped while waiting for ${options.what}`, options.what);
    for (const child of options.children ?? []) {
      if (!child.running()) {
        const exit = await child.exited;
        const tail = child.logTail();
        throw new DemoWaitError(`${child.name} ${describeExit(exit)} while waiting for ${options.what}${tail === '' ? '' : `; its last log lines:\n${tail}`}`, options.what);
      }
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      throw new DemoWaitError(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${lastError === '' ? '' : ` (last error: ${lastError})`}`, options.what);
    }
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 200));
  }
}

/** GETs a URL and resolves to its status and body; rejects on network errors and after `timeoutMs` (5 s). */
export async function httpGet(url: string, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}
