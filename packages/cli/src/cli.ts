/**
 * `promfleet`: one binary for the whole fleet. This module parses the command line and dispatches; each command
 * lives beside it and takes a `CommandIO`, so the whole CLI runs in tests without spawning a process.
 */
import { type CommandIO, UsageError, write } from './io.js';
import { checkConfig, relabelLines } from './tools.js';
import { listTargets } from './targets.js';
import { runDemo, runLiveDemoCommand } from './demo.js';
import { booleanFlags } from './fleet-link-flags.js';
import { masterFlags, runMasterCommand, runWorkerCommand, workerFlags } from './serve.js';
import { parseExposition } from './parse.js';

/** The version printed by `promfleet --version` and sent in the fleet protocol's hello. */
export const VERSION = '0.1.0';

const HELP = `promfleet ${VERSION}: Prometheus collection for large Kubernetes clusters.

Usage: promfleet COMMAND [FLAGS]

Commands:
  master --config.file=FILE              run the master: discovery, allocation, the fleet protocol, status API
         [--web.listen-address=:9095] [--grpc.listen-address=:9096] [--kubeconfig=FILE]
         [--fleet.grace-period=10s] [--fleet.startup-grace=15s] [--fleet.startup-wait=2m] [--fleet.worker-max-targets=N]
         [--fleet.worker-max-samples=N] [--fleet.rebalance-moves-per-minute=N] [--log.level=info]
         [--operator.config=FILE]        select ServiceMonitors, PodMonitors, Probes, ScrapeConfigs (docs/operator.md)
         [--master.id=POD_NAME]                  this master's name: in Welcome, and its identity in the Lease
         [--web.enable-lifecycle]                POST or PUT /-/reload reloads the config (as SIGHUP does)
         [--config.auto-reload-interval=0s]      reload when the config file's content changes, checked this often
         high availability (docs/operations.md, "High availability"):
         [--leader-election.lease=NAMESPACE/NAME]  elect a leader on this Lease (over --kubeconfig, else in-cluster);
                                         only the leader discovers and assigns, and only it is ready
         [--leader-election.lease-duration=15s] [--leader-election.renew-deadline=10s]
         [--leader-election.retry-period=2s]     retry period < renew deadline < lease duration
         fleet link security (docs/protocol.md, "Authentication and limits"):
         [--fleet.tls.cert-file=FILE --fleet.tls.key-file=FILE]  TLS on the gRPC port
         [--fleet.tls.client-ca-file=FILE]       workers must present a client certificate signed by this CA
         [--fleet.token-file=FILE]               workers must present this bearer token
         [--fleet.allow-insecure-secrets]        send inline secrets without TLS and worker authentication
         [--fleet.max-workers=10000] [--fleet.max-streams=MAX_WORKERS+1000] [--fleet.max-connection-rate=200]
         [--fleet.max-connections=MAX_STREAMS+1000]  open connections with TLS, those in their handshake included
         (certificates and the token are re-read when their files change; 0 turns the connection rate limit off)
  worker --master=HOST:PORT              run a worker: scrape what the master assigns, remote-write the samples
         [--worker.id=POD_NAME] [--web.listen-address=:9097] [--worker.drain-timeout=20s] [--log.level=info]
         [--worker.secret-dirs=/etc/promfleet/secrets]
         [--scrape.max-body-size=64MB]   body size limit (decompressed) of jobs without body_size_limit; 0: none
         [--master.tls.ca-file=FILE] [--master.tls.server-name=NAME]  TLS to the master (on with any --master.tls.*;
                                         the system's CAs without a CA file)
         [--master.tls.cert-file=FILE --master.tls.key-file=FILE]  the client certificate
         [--master.token-file=FILE]              the bearer token sent on every stream
  demo                                   run the whole system on this machine: a fake Kubernetes API, targets,
                                         a real Prometheus, one master and three workers (Ctrl-C stops it)
  demo --offline                         run the offline tools on the shipped example config and objects
  check config FILE                      validate a Prometheus configuration file (exit 1 with every error)
  relabel --rules RULES.yaml             relabel JSON label sets from stdin, one per line ("null" when dropped)
  targets --config FILE --objects FILE   print the targets a config discovers from a Kubernetes JSON List
          [--own-namespace NAME]         ("-" reads the objects from stdin); with its ServiceMonitors, PodMonitors,
          [--operator.config FILE]       Probes and ScrapeConfigs, selected by this Prometheus resource (else all)
  parse [--format text|openmetrics]      parse a metrics exposition from stdin: one JSON line per sample and
                                         per HELP, TYPE or UNIT line, as the worker reads it (default text)
  help                                   show this help
  --version                              print the version

Every tool reads and writes JSON lines; bad input is reported as FILE:LINE: reason with a non-zero exit.
`;

interface Command {
  readonly usage: string;
  run(io: CommandIO, args: readonly string[]): Promise<number>;
}

const commands: Readonly<Record<string, Command>> = {
  worker: {
    usage: 'promfleet worker --master=HOST:PORT [FLAGS]',
    run: (io, args) => runWorkerCommand(io, flags(args, workerFlags, 'promfleet worker --master=HOST:PORT [FLAGS]; see promfleet help'), VERSION),
  },
  master: {
    usage: 'promfleet master --config.file=FILE [FLAGS]',
    run: (io, args) => runMasterCommand(io, flags(args, masterFlags, 'promfleet master --config.file=FILE [FLAGS]; see promfleet help'), VERSION),
  },
  help: { usage: 'promfleet help', run: async (io) => (await write(io.stdout, HELP), 0) },
  demo: {
    usage: 'promfleet demo [--offline]',
    run: (io, args) => {
      const offline = args[0] === '--offline';
      expectNoArgs(offline ? args.slice(1) : args, 'promfleet demo [--offline]');
      return offline ? runDemo(io) : runLiveDemoCommand(io);
    },
  },
  check: {
    usage: 'promfleet check config FILE',
    run: (io, args) => {
      const [what, file, ...rest] = args;
      if (what !== 'config' || file === undefined || rest.length > 0) throw new UsageError('usage: promfleet check config FILE');
      return checkConfig(io, file);
    },
  },
  relabel: {
    usage: 'promfleet relabel --rules RULES.yaml',
    run: (io, args) => {
      const { rules } = flags(args, { rules: true }, 'promfleet relabel --rules RULES.yaml');
      return relabelLines(io, rules);
    },
  },
  parse: {
    usage: 'promfleet parse [--format text|openmetrics]',
    run: (io, args) => {
      const usage = 'promfleet parse [--format text|openmetrics]';
      const format = flags(args, { format: false }, usage).format ?? 'text';
      if (format !== 'text' && format !== 'openmetrics') throw new UsageError(`--format must be text or openmetrics, got ${JSON.stringify(format)}; usage: ${usage}`);
      return parseExposition(io, format);
    },
  },
  targets: {
    usage: 'promfleet targets --config FILE --objects FILE [--own-namespace NAME] [--operator.config FILE]',
    run: (io, args) => {
      const usage = 'promfleet targets --config FILE --objects FILE [--own-namespace NAME] [--operator.config FILE]';
      const f = flags(args, { config: true, objects: true, 'own-namespace': false, 'operator.config': false }, usage);
      return listTargets(io, { configFile: f.config, objectsFile: f.objects, ownNamespace: f['own-namespace'], operatorConfigFile: f['operator.config'] });
    },
  },
};

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
    return await command.run(io, args);
  } catch (err) {
    if (err instanceof UsageError) {
      await write(io.stderr, `promfleet: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

function expectNoArgs(args: readonly string[], usage: string): void {
  if (args.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args[0])}; usage: ${usage}`);
}

type FlagValues<S extends Record<string, boolean>> = { [K in keyof S]: S[K] extends true ? string : string | undefined };

/** Parses `--name value` / `--name=value` string flags; `required` flags must be present, others are errors. */
function flags<S extends Record<string, boolean>>(args: readonly string[], spec: S, usage: string): FlagValues<S> {
  const values: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    const name = m?.[1];
    if (m === null || name === undefined) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}; usage: ${usage}`);
    if (!Object.hasOwn(spec, name)) throw new UsageError(`unknown flag --${name}; usage: ${usage}`);
    const value = m[2] ?? (booleanFlags.has(name) ? 'true' : args[++i]);
    if (value === undefined) throw new UsageError(`flag --${name} needs a value; usage: ${usage}`);
    if (Object.hasOwn(values, name)) throw new UsageError(`flag --${name} given twice; usage: ${usage}`);
    values[name] = value;
  }
  for (const [name, required] of Object.entries(spec)) {
    if (required && !Object.hasOwn(values, name)) throw new UsageError(`missing --${name}; usage: ${usage}`);
  }
  return values as FlagValues<S>;
}
