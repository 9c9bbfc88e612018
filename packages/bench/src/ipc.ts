/**
 * Request/response over the IPC channel of a forked child process, so the benchmark can keep the fake API server
 * and the measured master in processes of their own (their CPU and memory are then counted apart) and still drive
 * them step by step.
 *
 * Both ends are this package's own code, so a message is trusted to have the shape its command map declares; the
 * one unchecked cast per direction sits in this file.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** A command map: for each command, the body it takes and the body it answers with. */
export type CommandMap = Record<string, { readonly request: unknown; readonly reply: unknown }>;

/** The handlers a child serves, one per command. */
export type Handlers<C extends CommandMap> = { readonly [K in keyof C]: (body: C[K]['request']) => Promise<C[K]['reply']> };

interface RequestMessage {
  readonly kind: 'request';
  readonly id: number;
  readonly command: string;
  readonly body: unknown;
}

interface ReplyMessage {
  readonly kind: 'reply';
  readonly id: number;
  readonly body?: unknown;
  readonly error?: string;
}

interface EventMessage {
  readonly kind: 'event';
  readonly name: string;
  readonly body: unknown;
}

type Message = RequestMessage | ReplyMessage | EventMessage;

/** A command the child answered with an error, or a child that went away before answering. */
export class ChildCommandError extends Error {
  override readonly name = 'ChildCommandError';
  readonly code = 'PROMFLEET_BENCH_CHILD_COMMAND';
  constructor(
    message: string,
    readonly child: string,
    readonly command: string,
  ) {
    super(message);
  }
}

/** Options of {@link ChildHandle.fork}. */
export interface ForkOptions {
  /** The child's entry module. */
  readonly module: URL;
  /** A short name for messages. */
  readonly name: string;
  readonly args: readonly string[];
  /** Node flags for the child (`--expose-gc`, heap size). */
  readonly execArgv?: readonly string[];
}

/**
 * The parent's end: sends commands, awaits their replies and the child's events, and stops the child. Hold one
 * with `await using`; disposing stops the child (SIGTERM to its pid, SIGKILL after a grace period).
 */
export class ChildHandle<C extends CommandMap> implements AsyncDisposable {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (body: unknown) => void; reject: (error: Error) => void; command: string }>();
  readonly #events = new Map<string, unknown[]>();
  readonly #eventWaiters = new Map<string, ((body: unknown) => void)[]>();
  readonly #exited: Promise<void>;
  #nextId = 1;
  #gone = false;

  private constructor(
    child: ChildProcess,
    readonly name: string,
  ) {
    this.#child = child;
    child.on('message', (raw) => this.#onMessage(raw as Message));
    this.#exited = once(child, 'exit').then(() => {
      this.#gone = true;
      for (const [, waiter] of this.#pending) waiter.reject(new ChildCommandError(`${name} exited before answering ${waiter.command}`, name, waiter.command));
      this.#pending.clear();
    });
  }

  /** Forks `options.module` with an IPC channel; its stdout and stderr go to this process's stderr. */
  static fork<C extends CommandMap>(options: ForkOptions): ChildHandle<C> {
    const child = fork(options.module, [...options.args], {
      execArgv: [...(options.execArgv ?? [])],
      stdio: ['ignore', process.stderr, process.stderr, 'ipc'],
      serialization: 'advanced',
    });
    return new ChildHandle<C>(child, options.name);
  }

  /** The child's process id. */
  get pid(): number {
    return this.#child.pid ?? 0;
  }

  /** Sends `command` and resolves with the child's reply; rejects if it answers with an error or exits first. */
  call<K extends keyof C & string>(command: K, body: C[K]['request']): Promise<C[K]['reply']> {
    if (this.#gone) return Promise.reject(new ChildCommandError(`${this.name} is not running`, this.name, command));
    const id = this.#nextId++;
    const message: RequestMessage = { kind: 'request', id, command, body };
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: (b) => resolve(b), reject, command });
      this.#child.send(message);
    });
  }

  /**
   * Resolves with the body of the next event `name` not yet taken (events that came early are kept), or rejects
   * when the child exits first or `timeoutMs` passes.
   */
  async event(name: string, timeoutMs: number): Promise<unknown> {
    const queued = this.#events.get(name);
    if (queued !== undefined && queued.length > 0) return queued.shift();
    const timer = new AbortController();
    const arrived = new Promise<unknown>((resolve) => {
      const waiters = this.#eventWaiters.get(name) ?? [];
      waiters.push(resolve);
      this.#eventWaiters.set(name, waiters);
    });
    const failed = new Promise<never>((_, reject) => {
      const t = setTimeout(() => reject(new ChildCommandError(`${this.name} sent no ${name} within ${timeoutMs} ms`, this.name, name)), timeoutMs);
      timer.signal.addEventListener('abort', () => clearTimeout(t), { once: true });
      void this.#exited.then(() => reject(new ChildCommandError(`${this.name} exited before sending ${name}`, this.name, name)));
    });
    try {
      return await Promise.race([arrived, failed]);
    } finally {
      timer.abort();
    }
  }

  /** Stops the child: SIGTERM, then SIGKILL after `graceMs` (30 s by default). Resolves once it has exited. */
  async stop(graceMs = 30_000): Promise<void> {
    if (this.#gone) return;
    this.#child.kill('SIGTERM');
    const killer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(killer);
  }

  /** Stops the child, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #onMessage(message: Message): void {
    if (message.kind === 'reply') {
      const waiter = this.#pending.get(message.id);
      if (waiter === undefined) return;
      this.#pending.delete(message.id);
      if (message.error === undefined) waiter.resolve(message.body);
      else waiter.reject(new ChildCommandError(`${this.name} ${waiter.command}: ${message.error}`, this.name, waiter.command));
      return;
    }
    if (message.kind !== 'event') return;
    const waiter = this.#eventWaiters.get(message.name)?.shift();
    if (waiter !== undefined) {
      waiter(message.body);
      return;
    }
    const queued = this.#events.get(message.name) ?? [];
    queued.push(message.body);
    this.#events.set(message.name, queued);
  }
}

/**
 * The child's end: answers commands with `handlers` for as long as the process runs (each child entry exits on
 * SIGTERM or when the parent disconnects). A handler that throws answers with the error; the child keeps serving.
 */
export function serveParent<C extends CommandMap>(handlers: Handlers<C>): void {
  process.on('message', (raw) => {
    const message = raw as Message;
    if (message.kind !== 'request') return;
    const handler = (handlers as Record<string, ((body: unknown) => Promise<unknown>) | undefined>)[message.command];
    const reply = (r: Omit<ReplyMessage, 'kind' | 'id'>) => process.send?.({ kind: 'reply', id: message.id, ...r } satisfies ReplyMessage);
    if (handler === undefined) {
      reply({ error: `unknown command ${message.command}` });
      return;
    }
    handler(message.body).then(
      (body) => reply({ body }),
      (error: unknown) => reply({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
}

/** Sends an event to the parent (a no-op when there is no IPC channel). */
export function emitToParent(name: string, body: unknown): void {
  process.send?.({ kind: 'event', name, body } satisfies EventMessage);
}
