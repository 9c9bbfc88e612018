/**
 * `promfleet`: one binary for the whole fleet. This module parses the command line and dispatches; each command
 * lives beside it and takes a `CommandIO`, so the whole CLI runs in tests without spawning a process.
 */
import { type CommandIO, UsageError, write } from './io.js';
import { checkConfig, relabelLines } from './tools.js';
import { listTargets } from './targets.js';
import { runDemo, runLiveDemoCommand } from './demo.js';
import { type CommandSpec, type FlagTable, type FlagValues, commandHelp, parseFlags, switchOn, wantsHelp } from './flags.js';
import { masterCommand, runMasterCommand, runWorkerCommand, workerCommand } from './serve.js';
import { parseExposition } from './parse.js';

/** The version printed by `promfleet --version` and sent in the fleet protocol's hello. */
export const VERSION = '0.1.0';


interface Command {
  readonly spec: CommandSpec;
  run(io: CommandIO, args: readonly string[]): Promise<number>;
}

/** A command whose arguments are all flags of `spec`. */
function flagCommand<T extends FlagTable>(spec: CommandSpec<T>, run: (io: CommandIO, flags: FlagValues<T>) => Promise<number>): Command {
  return { spec, run: (io, args) => run(io, parseFlags(args, spec)) };
}

const demoCommand = {
  usage: 'promfleet demo [--offline]',
  summary: 'Runs the whole system on this machine: a fake Kubernetes API, targets, a real Prometheus, one master and three workers (Ctrl-C stops it).',
  flags: { offline: { help: 'run the offline tools on the shipped example config and objects instead' } },
} as const satisfies CommandSpec;

const parseUsage = 'promfleet parse [--format text|openmetrics]';

const commands: Readonly<Record<string, Command>> = {
  worker: flagCommand(workerCommand, (io, f) => runWorkerCommand(io, f, VERSION)),
  master: flagCommand(masterCommand, (io, f) => runMasterCommand(io, f, VERSION)),
  help: flagCommand({ usage: 'promfleet help', summary: 'Lists the commands (this text).', flags: {} }, async (io) => (await write(io.stdout, HELP), 0)),
  demo: flagCommand(demoCommand, (io, f) => (switchOn('offline', f.offline) ? runDemo(io) : runLiveDemoCommand(io))),
  check: {
    spec: { usage: 'promfleet check config FILE', summary: 'Validates a Prometheus configuration file: exit 0 when promfleet can run it, 1 with every error as FILE:LINE: key.path: why.', flags: {} },
    run: (io, args) => {
      const [what, file, ...rest] = args;
      if (what !== 'config' || file === undefined || rest.length > 0) throw new UsageError('usage: promfleet check config FILE');
      return checkConfig(io, file);
    },
  },
  relabel: flagCommand(
    {
      usage: 'promfleet relabel --rules RULES.yaml',
      summary: 'Relabels JSON label sets from stdin, one per line, with relabel_configs rules; prints each result, or "null" when dropped.',
      flags: { rules: { value: 'RULES.yaml', required: true, help: 'a YAML list of relabel_configs rules' } },
    },
    (io, f) => relabelLines(io, f.rules),
  ),
  parse: flagCommand(
    {
      usage: parseUsage,
      summary: 'Parses a metrics exposition from stdin, as the worker reads it: one JSON line per sample and per HELP, TYPE or UNIT line.',
      flags: { format: { value: 'text|openmetrics', default: 'text', help: 'the exposition format' } },
    },
    (io, f) => {
      const format = f.format;
      if (format !== 'text' && format !== 'openmetrics') throw new UsageError(`--format must be text or openmetrics, got ${JSON.stringify(format)}; usage: ${parseUsage}`);
      return parseExposition(io, format);
    },
  ),
  targets: flagCommand(
    {
      usage: 'promfleet targets --config FILE --objects FILE [--own-namespace NAME] [--operator.config FILE]',
      summary:
        'Prints the targets a config discovers from a Kubernetes JSON List (kubectl get -o json), before and after relabeling; ' +
        'with the ServiceMonitors, PodMonitors, Probes and ScrapeConfigs in the List too.',
      flags: {
        config: { value: 'FILE', required: true, help: 'the Prometheus configuration file' },
        objects: { value: 'FILE', required: true, help: 'a Kubernetes JSON List of objects; "-" reads stdin' },
        'own-namespace': { value: 'NAME', defaultText: 'none', help: 'the namespace of namespaces.own_namespace' },
        'operator.config': { value: 'FILE', defaultText: 'every resource in the List', help: 'select prometheus-operator resources as this Prometheus resource does (docs/operator.md)' },
      },
    },
    (io, f) => listTargets(io, { configFile: f.config, objectsFile: f.objects, ownNamespace: f['own-namespace'], operatorConfigFile: f['operator.config'] }),
  ),
};

/** Commands that run until they are stopped: a reader of their output that goes away does not stop them (main.ts). */
export const longRunningCommands: ReadonlySet<string> = new Set(['master', 'worker', 'demo']);

/** Every command's usage and flags, by name: `promfleet COMMAND --help` prints one. */
export const commandSpecs: Readonly<Record<string, CommandSpec>> = Object.fromEntries(Object.entries(commands).map(([name, c]) => [name, c.spec]));

/** `promfleet help`: the overview, one entry per command; `promfleet COMMAND --help` has its flags. */
const HELP = `promfleet ${VERSION}: Prometheus collection for large Kubernetes clusters.

Usage: promfleet COMMAND [FLAGS]

Commands:
${Object.values(commandSpecs)
  .map((spec) => `  ${spec.usage}\n      ${spec.summary}\n`)
  .join('')}  promfleet --version
      Prints the version.

"promfleet COMMAND --help" lists the command's flags, each with its default. Every tool reads and writes JSON
lines; bad input is reported as FILE:LINE: reason with a non-zero exit.
`;

/**
 * Runs one command line and resolves to the process exit code: 0 success, 1 bad input (config or data), 2 bad
 * usage. Never throws for user error: every such error is printed as one `promfleet: ...` message.
 */
export async function run(argv: readonly string[], io: CommandIO): Promise<number> {
  const [name, ...args] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h') {
      await write(io.stdout, HELP);
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === 'version') {
      await write(io.stdout, `promfleet ${VERSION}\n`);
      return 0;
    }
    const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}; run "promfleet help"`);
    if (wantsHelp(args)) {
      await write(io.stdout, commandHelp(command.spec));
      return 0;
    }
    return await command.run(io, args);
  } catch (err) {
    if (err instanceof UsageError) {
      await write(io.stderr, `promfleet: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
