import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { commandNames, loadCommandSpec, run } from './cli.js';
import { type CommandSpec, commandHelp, flagsMarkdown, parseFlags } from './flags.js';
import { type CommandIO, UsageError } from './io.js';

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => new PassThrough().on('data', (chunk: Buffer) => into.push(chunk.toString('utf8')));
  const io: CommandIO = {
    stdin: Readable.from([]),
    stdout: sink(out),
    stderr: sink(err),
    shutdown: new AbortController().signal,
    readFile: (path) => Promise.reject(new UsageError(`cannot read ${path}: no such file`, 1)),
  };
  const code = await run(argv, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const spec = {
  usage: 'promfleet x --need=FILE',
  summary: 'Does x.',
  flags: {
    need: { value: 'FILE', required: true, help: 'a file' },
    wait: { value: 'DURATION', default: '5s', help: 'how long' },
    name: { value: 'NAME', defaultText: '$POD_NAME', help: 'a name' },
    loud: { help: 'a switch' },
  },
} as const satisfies CommandSpec;

describe('parseFlags', () => {
  it('applies defaults, leaves the rest undefined, and reads switches alone or with a value', () => {
    expect(parseFlags(['--need', 'f', '--loud'], spec)).toEqual({ need: 'f', wait: '5s', loud: 'true' });
    expect(parseFlags(['--need=f', '--wait=1s', '--name=n', '--loud=false'], spec)).toEqual({ need: 'f', wait: '1s', name: 'n', loud: 'false' });
  });

  it.each([
    [['--wait=1s'], 'missing --need; usage: promfleet x --need=FILE'],
    [['--need=f', '--nope'], 'unknown flag --nope; usage: promfleet x --need=FILE'],
    [['--need'], 'flag --need needs a value; usage: promfleet x --need=FILE'],
    [['--need=f', '--need=g'], 'flag --need given twice; usage: promfleet x --need=FILE'],
    [['f'], 'unexpected argument "f"; usage: promfleet x --need=FILE'],
  ])('refuses %j', (args, message) => {
    expect(() => parseFlags(args, spec)).toThrow(new UsageError(message));
  });
});

describe('help', () => {
  it('lists every flag with its placeholder, description and default, one line each', () => {
    expect(commandHelp(spec)).toBe(
      [
        'Usage: promfleet x --need=FILE',
        '',
        'Does x.',
        '',
        'Flags:',
        '  --need=FILE      a file (required)',
        '  --wait=DURATION  how long (default: 5s)',
        '  --name=NAME      a name (default: $POD_NAME)',
        '  --loud           a switch (default: false)',
        '  -h, --help       show this help',
        '',
      ].join('\n'),
    );
  });

  it.each(commandNames.flatMap((name) => [[name, '--help'], [name, '-h']]))('promfleet %s %s prints the command\u2019s usage and every flag, and exits 0', async (name, flag) => {
    const command = await loadCommandSpec(name);
    const r = await cli([name, flag]);
    expect(r).toEqual({ code: 0, stdout: commandHelp(command), stderr: '' });
    expect(r.stdout.startsWith(`Usage: ${command.usage}\n`)).toBe(true);
    for (const flagName of Object.keys(command.flags)) expect(r.stdout).toMatch(new RegExp(`^  --${flagName.replaceAll('.', '\\.')}[= ].* \\((default: .+|required)\\)$`, 'm'));
  });

  it('asks for help anywhere on the line, before a flag error would be reported', async () => {
    expect(await cli(['master', '--no-such-flag', '-h'])).toEqual({ code: 0, stdout: commandHelp(await loadCommandSpec('master')), stderr: '' });
  });

  it('promfleet help lists every command', async () => {
    const r = await cli(['help']);
    expect(r.code).toBe(0);
    for (const name of commandNames) expect(r.stdout).toContain(`  ${(await loadCommandSpec(name)).usage}\n`);
    expect(r.stdout).toContain('"promfleet COMMAND --help" lists');
  });
});

describe('the README', () => {
  it.each(['master', 'worker'])('has the flag table of promfleet %s, as its --help says', async (name) => {
    const command = await loadCommandSpec(name);
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const flags = readme.slice(readme.indexOf('\n## Flags\n'));
    const expected = `### \`promfleet ${name}\`\n\n${flagsMarkdown(command.flags)}`;
    if (!flags.includes(expected)) throw new Error(`README.md's "## Flags" section should hold, generated from the flag table:\n\n${expected}`);
  });
});
