/**
 * Command-line flags, one table per command: the parser, `--help` and the README's flag tables are all made from
 * it, so a flag cannot exist without its help line and default.
 */
import { UsageError } from './io.js';

/** One flag of a command. */
export interface FlagSpec {
  /** The value's placeholder in help (`FILE`, `DURATION`); absent for a switch (`--flag`, `--flag=true|false`). */
  readonly value?: string;
  readonly required?: boolean;
  /** Applied when the flag is absent, and shown in help. */
  readonly default?: string;
  /** Shown in help when the default is not a plain value the parser can apply (another flag, the environment). */
  readonly defaultText?: string;
  /** One line: what the flag does. */
  readonly help: string;
}

/** A command's flags by name (without the leading `--`), in the order help lists them. */
export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** What {@link parseFlags} returns: required flags and flags with a default are always set. */
export type FlagValues<T extends FlagTable> = {
  readonly [K in keyof T]: T[K] extends { readonly required: true } ? string : T[K] extends { readonly default: string } ? string : string | undefined;
};

/** A command as help shows it. */
export interface CommandSpec<T extends FlagTable = FlagTable> {
  /** `promfleet master --config.file=FILE [FLAGS]` */
  readonly usage: string;
  /** One or two sentences: what the command does. */
  readonly summary: string;
  readonly flags: T;
}

/**
 * Parses `--name value`, `--name=value` and switches (`--name`, `--name=false`) against `command.flags`: unknown
 * flags, flags given twice and missing required ones are usage errors; absent flags get their default.
 */
export function parseFlags<T extends FlagTable>(args: readonly string[], command: CommandSpec<T>): FlagValues<T> {
  const usage = command.usage;
  const table: FlagTable = command.flags;
  const values: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    const name = m?.[1];
    if (m === null || name === undefined) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}; usage: ${usage}`);
    const spec = Object.hasOwn(table, name) ? table[name] : undefined;
    if (spec === undefined) throw new UsageError(`unknown flag --${name}; usage: ${usage}`);
    const value = m[2] ?? (spec.value === undefined ? 'true' : args[++i]);
    if (value === undefined) throw new UsageError(`flag --${name} needs a value; usage: ${usage}`);
    if (Object.hasOwn(values, name)) throw new UsageError(`flag --${name} given twice; usage: ${usage}`);
    values[name] = value;
  }
  for (const [name, spec] of Object.entries(table)) {
    if (Object.hasOwn(values, name)) continue;
    if (spec.required === true) throw new UsageError(`missing --${name}; usage: ${usage}`);
    if (spec.default !== undefined) values[name] = spec.default;
  }
  return values as FlagValues<T>;
}

/** A switch's value: absent or `false` is off, `true` (or the flag alone) on. */
export function switchOn(flag: string, value: string | undefined): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new UsageError(`--${flag}: want true or false (or the flag alone), got ${JSON.stringify(value)}`);
}

/** A flag's whole number ≥ 0, or undefined when the flag is not given; a usage error otherwise. */
export function wholeNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${flag}: want a whole number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
}

/** Whether `args` asks for the command's help: `--help` or `-h` anywhere. */
export function wantsHelp(args: readonly string[]): boolean {
  return args.some((arg) => arg === '--help' || arg === '-h');
}

function flagText(name: string, spec: FlagSpec): string {
  return spec.value === undefined ? `--${name}` : `--${name}=${spec.value}`;
}

function defaultOf(spec: FlagSpec): string | undefined {
  if (spec.required === true) return 'required';
  return spec.defaultText ?? spec.default ?? (spec.value === undefined ? 'false' : undefined);
}

/** `promfleet COMMAND --help`: usage, summary, and every flag with its default and one line of description. */
export function commandHelp(command: CommandSpec): string {
  const entries = Object.entries(command.flags);
  const lines = [`Usage: ${command.usage}`, '', command.summary, ''];
  if (entries.length === 0) return `${[...lines, 'No flags.'].join('\n')}\n`;
  const width = Math.max(...entries.map(([name, spec]) => flagText(name, spec).length));
  lines.push('Flags:');
  for (const [name, spec] of entries) {
    const dflt = defaultOf(spec);
    const note = spec.required === true ? ' (required)' : dflt === undefined ? '' : ` (default: ${dflt})`;
    lines.push(`  ${flagText(name, spec).padEnd(width)}  ${spec.help}${note}`);
  }
  lines.push(`${'  -h, --help'.padEnd(width + 4)}show this help`);
  return `${lines.join('\n')}\n`;
}

/** A Markdown table of `flags` (flag, default, description): the README's "Flags" section holds one per daemon. */
export function flagsMarkdown(flags: FlagTable): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = Object.entries(flags).map(([name, spec]) => {
    const dflt = spec.default === undefined ? (defaultOf(spec) ?? '') : `\`${spec.default}\``;
    return `| \`${flagText(name, spec)}\` | ${cell(dflt)} | ${cell(spec.help)} |`;
  });
  return `${['| Flag | Default | Description |', '|---|---|---|', ...rows].join('\n')}\n`;
}
