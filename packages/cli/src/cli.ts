/**
 * `promfleet`: one binary for the whole fleet. This module parses the command line and dispatches; each command
 * lives beside it and takes a `CommandIO`, so the whole CLI runs in tests without spawning a process. A command's
 * module is imported only when that command runs or shows its help, so that a process carries only its own
 * command's code: a worker never loads the master, the Kubernetes client or the offline tools.
 */
import { type CommandIO, UsageError, write } from './io.js';
import { type CommandSpec, type FlagTable, type FlagValues, commandHelp, parseFlags, switchOn, wantsHelp } from './flags.js';

/** The version printed by `promfleet --version` and sent in the fleet protocol's hello. */
export const VERSION = '0.1.0';

/** A command as `promfleet help` lists it. */
type CommandHead = Omit<CommandSpec, 'flags'>;

/** A command's flags and code, imported when it runs or shows its help. */
interface LoadedCommand {
  readonly spec: CommandSpec;
  run(io: CommandIO, args: readonly string[]): Promise<number>;
}

interface Command extends CommandHead {
  load(): Promise<LoadedCommand>;
}

/** What a command whose arguments are all flags runs. */
type FlagRun<T extends FlagTable> = (io: CommandIO, flags: FlagValues<T>) => Promise<number>;

function parsingFlags<T extends FlagTable>(spec: CommandSpec<T>, run: FlagRun<T>): LoadedCommand {
  return { spec, run: (io, args) => run(io, parseFlags(args, spec)) };
}

/** A command whose arguments are all flags of `spec`; `run` imports the command's code. */
function flagCommand<T extends FlagTable>(spec: CommandSpec<T>, run: FlagRun<T>): Command {
  const loaded = parsingFlags(spec, run);
  return { usage: spec.usage, summary: spec.summary, load: () => Promise.resolve(loaded) };
}

/** A command whose flag table is in its module (its defaults come from the package it runs), imported with it. */
function moduleCommand<T extends FlagTable>(head: CommandHead, load: () => Promise<{ flags: T; run: FlagRun<T> }>): Command {
  return {
    ...head,
    load: async () => {
      const { flags, run } = await load();
      return parsingFlags({ ...head, flags }, run);
    },
  };
}

const parseUsage = 'promfleet parse [--format text|openmetrics]';
const checkHead: CommandHead = {
  usage: 'promfleet check config FILE',
  summary: 'Validates a Prometheus configuration file: exit 0 when promfleet can run it, 1 with every error as FILE:LINE: key.path: why.',
};

const commands: Readonly<Record<string, Command>> = {
  worker: moduleCommand(
    {
      usage: 'promfleet worker --master=HOST:PORT [FLAGS]',
      summary: 'Runs a worker: scrapes the targets the master assigns and remote-writes the samples. On SIGTERM it hands its targets over, then exits.',
    },
    async () => {
      const { runWorkerCommand, workerFlags } = await import('./worker-command.js');
      return { flags: workerFlags, run: (io, f) => runWorkerCommand(io, f, VERSION) };
    },
  ),
  master: moduleCommand(
    {
      usage: 'promfleet master --config.file=FILE [FLAGS]',
      summary: 'Runs the master: Kubernetes discovery, allocation of targets to workers, the fleet protocol, the status page and API.',
    },
    async () => {
      const { masterFlags, runMasterCommand } = await import('./master-command.js');
      return { flags: masterFlags, run: (io, f) => runMasterCommand(io, f, VERSION) };
    },
  ),
  help: flagCommand({ usage: 'promfleet help', summary: 'Lists the commands (this text).', flags: {} }, async (io) => (await write(io.stdout, HELP), 0)),
  demo: flagCommand(
    {
      usage: 'promfleet demo [--offline]',
      summary: 'Runs the whole system on this machine: a fake Kubernetes API, targets, a real Prometheus, one master and three workers (Ctrl-C stops it).',
      flags: { offline: { help: 'run the offline tools on the shipped example config and objects instead' } },
    },
    async (io, f) => {
      const { runDemo, runLiveDemoCommand } = await import('./demo.js');
      return switchOn('offline', f.offline) ? runDemo(io) : runLiveDemoCommand(io);
    },
  ),
  check: {
    ...checkHead,
    load: () =>
      Promise.resolve({
        spec: { ...checkHead, flags: {} },
        run: async (io, args) => {
          const [what, file, ...rest] = args;
          if (what !== 'config' || file === undefined || rest.length > 0) throw new UsageError(`usage: ${checkHead.usage}`);
          return (await import('./tools.js')).checkConfig(io, file);
        },
      }),
  },
  relabel: flagCommand(
    {
      usage: 'promfleet relabel --rules RULES.yaml',
      summary: 'Relabels JSON label sets from stdin, one per line, with relabel_configs rules; prints each result, or "null" when dropped.',
      flags: { rules: { value: 'RULES.yaml', required: true, help: 'a YAML list of relabel_configs rules' } },
    },
    async (io, f) => (await import('./tools.js')).relabelLines(io, f.rules),
  ),
  parse: flagCommand(
    {
      usage: parseUsage,
      summary: 'Parses a metrics exposition from stdin, as the worker reads it: one JSON line per sample and per HELP, TYPE or UNIT line.',
      flags: { format: { value: 'text|openmetrics', default: 'text', help: 'the exposition format' } },
    },
    async (io, f) => {
      const format = f.format;
      if (format !== 'text' && format !== 'openmetrics') throw new UsageError(`--format must be text or openmetrics, got ${JSON.stringify(format)}; usage: ${parseUsage}`);
      return (await import('./parse.js')).parseExposition(io, format);
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
    async (io, f) =>
      (await import('./targets.js')).listTargets(io, { configFile: f.config, objectsFile: f.objects, ownNamespace: f['own-namespace'], operatorConfigFile: f['operator.config'] }),
  ),
};

/** Every command's name. */
export const commandNames: readonly string[] = Object.keys(commands);

/** A command's usage and flags, as `promfleet COMMAND --help` prints them; imports the command's module. */
export async function loadCommandSpec(name: string): Promise<CommandSpec> {
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) throw new Error(`no command ${JSON.stringify(name)}`);
  return (await command.load()).spec;
}

/** Commands that run until they are stopped: a reader of their output that goes away does not stop them (main.ts). */
export const longRunningCommands: ReadonlySet<string> = new Set(['master', 'worker', 'demo']);

/** `promfleet help`: the overview, one entry per command; `promfleet COMMAND --help` has its flags. */
const HELP = `promfleet ${VERSION}: Prometheus collection for large Kubernetes clusters.

Usage: promfleet COMMAND [FLAGS]

Commands:
${Object.values(commands)
  .map((command) => `  ${command.usage}\n      ${command.summary}\n`)
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
    const loaded = await command.load();
    if (wantsHelp(args)) {
      await write(io.stdout, commandHelp(loaded.spec));
      return 0;
    }
    return await loaded.run(io, args);
  } catch (err) {
    if (err instanceof UsageError) {
      await write(io.stderr, `promfleet: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
