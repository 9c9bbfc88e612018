/**
 * What the long-running commands, `promfleet master` and `promfleet worker`, share: logfmt or JSON log lines on
 * stderr, as Prometheus writes them, and the flag values in Prometheus' units (durations, sizes).
 */
import { DurationError, parseDuration, parseSize, type LogSink } from '@promfleet/model';
import type { FlagTable } from './flags.js';
import { type CommandIO, UsageError } from './io.js';

const levels = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof levels)[number];

const logFormats = ['logfmt', 'json'] as const;
type LogFormat = (typeof logFormats)[number];

/** `--log.level` and `--log.format` as Prometheus spells them. */
function oneOf<T extends string>(flag: string, allowed: readonly T[], value: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${flag}: want one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

interface LogOptions {
  readonly minimum?: Level;
  readonly now?: () => Date;
}

/**
 * A logfmt line writer, `time=… level=… msg="…" key=value`, that drops records below `minimum`. Values are quoted
 * when they need it.
 */
export function logfmt(out: CommandIO['stderr'], options: LogOptions = {}): LogSink<Level> {
  const quote = (v: string | number) => {
    const text = String(v);
    return /^[^\s"=\\]+$/.test(text) ? text : JSON.stringify(text);
  };
  const floor = levels.indexOf(options.minimum ?? 'info');
  const now = options.now ?? (() => new Date());
  return (level, message, fields = {}) => {
    if (levels.indexOf(level) < floor) return;
    const pairs = Object.entries(fields).map(([k, v]) => `${k}=${quote(v)}`);
    out.write(`${[`time=${now().toISOString()}`, `level=${level}`, `msg=${quote(message)}`, ...pairs].join(' ')}\n`);
  };
}

/**
 * A JSON line writer as Prometheus' `--log.format=json` (Go's slog JSON handler): `{"time":"…","level":"INFO",
 * "msg":"…",…}`, the time in RFC 3339 with milliseconds, the level in capitals, then the fields with their types
 * kept. Go's `source` (a file and line in the Go code) has no counterpart here and is left out.
 */
export function jsonLog(out: CommandIO['stderr'], options: LogOptions = {}): LogSink<Level> {
  const floor = levels.indexOf(options.minimum ?? 'info');
  const now = options.now ?? (() => new Date());
  return (level, message, fields = {}) => {
    if (levels.indexOf(level) < floor) return;
    out.write(`${JSON.stringify({ time: now().toISOString(), level: level.toUpperCase(), msg: message, ...fields })}\n`);
  };
}

/** The log writer `--log.level` and `--log.format` ask for. */
export function logFromFlags(out: CommandIO['stderr'], f: { readonly 'log.level': string; readonly 'log.format': string }): LogSink<Level> {
  const minimum = oneOf('log.level', levels, f['log.level']);
  const format: LogFormat = oneOf('log.format', logFormats, f['log.format']);
  return format === 'json' ? jsonLog(out, { minimum }) : logfmt(out, { minimum });
}

export const logFlags = {
  'log.level': { value: 'LEVEL', default: 'info', help: `the least severe log lines written: ${levels.join(', ')}` },
  'log.format': { value: 'FORMAT', default: 'logfmt', help: `log line format: ${logFormats.join(' or ')} (as Prometheus' --log.format)` },
} as const satisfies FlagTable;

/** A duration flag's value in ms. */
export function duration(flag: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new UsageError(`--${flag}: ${err instanceof DurationError ? err.message : String(err)}`);
  }
}

export function optionalDuration(flag: string, value: string | undefined): number | undefined {
  return value === undefined ? undefined : duration(flag, value);
}

/** A flag's `<size>` in bytes, in Prometheus' units (`64MB`, `512KiB`, `0`). */
export function size(flag: string, value: string): number {
  const parsed = parseSize(value);
  if (typeof parsed !== 'number') throw new UsageError(`--${flag}: ${parsed.error}`);
  return parsed;
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

