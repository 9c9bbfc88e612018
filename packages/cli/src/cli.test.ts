import { describe, expect, it } from '@jest/globals';
import { PassThrough, Readable } from 'node:stream';
import { run, VERSION } from './cli.js';
import { type CommandIO, UsageError } from './io.js';

/** Runs the CLI in memory: stdin from a string, files from a map, stdout/stderr captured. */
async function cli(argv: string[], options: { files?: Record<string, string>; stdin?: string; shutdown?: AbortSignal } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => new PassThrough().on('data', (chunk: Buffer) => into.push(chunk.toString('utf8')));
  const files = options.files ?? {};
  const stdin = options.stdin ?? '';
  const io: CommandIO = {
    stdin: Readable.from([stdin]),
    stdout: sink(out),
    stderr: sink(err),
    shutdown: options.shutdown ?? new AbortController().signal,
    readFile: (path) => {
      if (path === '-') return Promise.resolve(stdin);
      const text = Object.hasOwn(files, path) ? files[path] : undefined;
      return text === undefined ? Promise.reject(new UsageError(`cannot read ${path}: no such file`, 1)) : Promise.resolve(text);
    },
  };
  const code = await run(argv, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('promfleet', () => {
  it('prints its version', async () => {
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `promfleet ${VERSION}\n`, stderr: '' });
  });

  it.each([['help'], ['--help']])('%s lists the commands', async (arg) => {
    const r = await cli([arg]);
    expect(r.code).toBe(0);
    for (const command of ['demo', 'check config FILE', 'relabel --rules', 'targets --config']) expect(r.stdout).toContain(command);
  });

  it('without a command prints help and exits 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Usage: promfleet COMMAND');
  });

  it.each([
    [['frobnicate'], 'promfleet: unknown command "frobnicate"; run "promfleet help"\n'],
    [['check'], 'promfleet: usage: promfleet check config FILE\n'],
    [['check', 'rules', 'x'], 'promfleet: usage: promfleet check config FILE\n'],
    [['relabel'], 'promfleet: missing --rules; usage: promfleet relabel --rules RULES.yaml\n'],
    [['relabel', '--rulez', 'x'], 'promfleet: unknown flag --rulez; usage: promfleet relabel --rules RULES.yaml\n'],
    [['relabel', '--rules'], 'promfleet: flag --rules needs a value; usage: promfleet relabel --rules RULES.yaml\n'],
    [['relabel', '--rules=a', '--rules', 'b'], 'promfleet: flag --rules given twice; usage: promfleet relabel --rules RULES.yaml\n'],
    [['relabel', 'x.yml'], 'promfleet: unexpected argument "x.yml"; usage: promfleet relabel --rules RULES.yaml\n'],
    [['targets', '--config', 'a.yml'], 'promfleet: missing --objects; usage: promfleet targets --config FILE --objects FILE [--own-namespace NAME] [--operator.config FILE]\n'],
    [['demo', 'extra'], 'promfleet: unexpected argument "extra"; usage: promfleet demo [--offline]\n'],
    [['demo', '--offline', 'extra'], 'promfleet: unexpected argument "extra"; usage: promfleet demo [--offline]\n'],
    [['worker', '--master=127.0.0.1:1', '--worker.secret-dirs=/etc/x,secrets'], 'promfleet: --worker.secret-dirs: want absolute directories, got "secrets"\n'],
    [
      ['worker', '--master=127.0.0.1:1', '--scrape.max-body-size=64'],
      'promfleet: --scrape.max-body-size: invalid size "64": a unit is required (use B, KB, MB, GB, TB, PB or EB, powers of 1024, e.g. 100MB)\n',
    ],
    [['worker', '--master=127.0.0.1:1', '--scrape.max-body-size=-1MB'], 'promfleet: --scrape.max-body-size: invalid size "-1MB": a size cannot be negative\n'],
    [
      ['worker', '--master=127.0.0.1:1', '--remote-write.queue-max-size=0'],
      'promfleet: --remote-write.queue-max-size: must be above 0 (for no disk queue, set --remote-write.queue-dir="")\n',
    ],
    [['master', '--config.file=p.yml', '--leader-election.lease=promfleet'], 'promfleet: --leader-election.lease: want NAMESPACE/NAME (lowercase letters, digits and "-"; "." too in the name), got "promfleet"\n'],
    [['master', '--config.file=p.yml', '--kubernetes.api-encoding=yaml'], 'promfleet: --kubernetes.api-encoding must be protobuf or json, got "yaml"\n'],
    [['master', '--config.file=p.yml', '--leader-election.retry-period=1s'], 'promfleet: --leader-election.retry-period needs --leader-election.lease=NAMESPACE/NAME\n'],
    [
      ['master', '--config.file=p.yml', '--leader-election.lease=ns/m', '--leader-election.renew-deadline=15s'],
      'promfleet: --leader-election.renew-deadline (15s) must be below --leader-election.lease-duration (15s)\n',
    ],
    [
      ['master', '--config.file=p.yml', '--leader-election.lease=ns/m', '--leader-election.renew-deadline=2s'],
      'promfleet: --leader-election.retry-period (2s) must be above 0 and below --leader-election.renew-deadline (2s)\n',
    ],
  ])('%j is a usage error with exit 2', async (argv, message) => {
    expect(await cli(argv)).toEqual({ code: 2, stdout: '', stderr: message });
  });
});

describe('promfleet master at start', () => {
  const files = { 'p.yml': 'scrape_configs:\n  - job_name: pods\n    kubernetes_sd_configs: [{role: pod}]\nremote_write:\n  - url: http://r/api/v1/write\n' };

  it('exits naming a --kubeconfig that does not exist, and the job that needs it', async () => {
    const r = await cli(['master', '--config.file=p.yml', '--kubeconfig=/nonexistent/kubeconfig', '--web.listen-address=127.0.0.1:0', '--grpc.listen-address=127.0.0.1:0'], { files });
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'promfleet: cannot start the master: cannot load kubeconfig /nonexistent/kubeconfig: no such file (job pods)\n' });
  });
});

describe('promfleet check config', () => {
  it('accepts a valid config and says what it holds', async () => {
    const files = { 'p.yml': 'scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ["x:1"]}]\n' };
    expect(await cli(['check', 'config', 'p.yml'], { files })).toEqual({
      code: 0,
      stdout: 'p.yml: valid: 1 scrape config, 0 remote_write endpoints\n',
      stderr: 'p.yml: warning: no remote_write endpoint: scraped samples go nowhere (promfleet stores nothing itself)\n',
    });
  });

  it('warns about nothing in a config that sends its samples somewhere', async () => {
    const files = { 'p.yml': 'scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ["x:1"]}]\nremote_write:\n  - url: http://r/api/v1/write\n' };
    expect(await cli(['check', 'config', 'p.yml'], { files })).toEqual({ code: 0, stdout: 'p.yml: valid: 1 scrape config, 1 remote_write endpoint\n', stderr: '' });
  });

  it('accepts send_exemplars, metadata_config and Remote-Write 2.0 without a notice: workers act on them', async () => {
    const files = {
      'p.yml': 'remote_write:\n  - url: http://r/api/v1/write\n    send_exemplars: true\n    protobuf_message: io.prometheus.write.v2.Request\n    metadata_config: {send: true, send_interval: 30s}\n',
    };
    const r = await cli(['check', 'config', 'p.yml'], { files });
    expect(r).toEqual({ code: 0, stdout: 'p.yml: valid: 0 scrape configs, 1 remote_write endpoint\n', stderr: '' });
  });

  it('prints every error as file:line and exits 1', async () => {
    const files = {
      'p.yml': ['global:', '  scrape_interval: 10x', 'scrape_configs:', '  - job_name: a', '    scrape_timeout: 20s', '    scheme: ftp', '    bogus: 1', ''].join('\n'),
    };
    const r = await cli(['check', 'config', 'p.yml'], { files });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^p\.yml: \d+ errors$/);
    expect(r.stderr).toMatch(/^p\.yml:2: global\.scrape_interval: .*10x/m);
    expect(r.stderr).toMatch(/^p\.yml:6: scrape_configs\[0\]\.scheme: /m);
    expect(r.stderr).toMatch(/^p\.yml:7: scrape_configs\[0\]\.bogus: /m);
  });

  it.each([
    ['a / in the password', 'https://user:pa/ss@host/api/v1/write', 'pa/ss'],
    ['several @ in the password', 'https://user:pa@s@s@host/api/v1/write ', 'pa@s@s'],
    ['a # in the password', 'https://user:pa#ss@host/api/v1/write', 'pa#ss'],
  ])('never prints a remote_write password, even with %s', async (_case, url, password) => {
    const files = { 'p.yml': `remote_write:\n  - url: "${url}"\n    name: [not, a, string]\n` };
    const r = await cli(['check', 'config', 'p.yml'], { files });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^p\.yml:\d+: remote_write\[0\]/m);
    expect(`${r.stdout}${r.stderr}`).not.toContain(password);
  });

  it('prints a remote_write URL with a / in its password as user:xxxxx', async () => {
    const files = { 'p.yml': 'remote_write:\n  - url: https://user:pa/ss@host/api/v1/write\n' };
    expect(await cli(['check', 'config', 'p.yml'], { files })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'p.yml:2: remote_write[0].url: url for remote_write must be an http or https URL, got "https://user:xxxxx@host/api/v1/write"\np.yml: 1 error\n',
    });
  });

  it('reports a missing file without a stack trace', async () => {
    expect(await cli(['check', 'config', 'nope.yml'])).toEqual({ code: 1, stdout: '', stderr: 'promfleet: cannot read nope.yml: no such file\n' });
  });
});

describe('promfleet relabel', () => {
  const rules = [
    '- source_labels: [__address__]',
    '  regex: "([^:]+):.*"',
    '  target_label: host',
    '- action: drop',
    '  source_labels: [env]',
    '  regex: dev',
    '- action: labeldrop',
    '  regex: __.*',
    '',
  ].join('\n');

  it('relabels each stdin line, printing null for a dropped set', async () => {
    const stdin = ['{"__address__":"db:9100","env":"prod"}', '', '{"__address__":"x:1","env":"dev"}', '{"__address__":"__proto__:1","__proto__":"kept as a label"}', ''].join('\n');
    const r = await cli(['relabel', '--rules', 'rules.yml'], { files: { 'rules.yml': rules }, stdin });
    expect(r).toEqual({
      code: 0,
      stdout: '{"env":"prod","host":"db"}\nnull\n{"host":"__proto__"}\n',
      stderr: '',
    });
  });

  it('reports bad input lines with their number, keeps going, and exits 1', async () => {
    const stdin = ['{"a":"1"}', 'not json', '[1]', '{"a":1}', '{"b":"2"}'].join('\n');
    const r = await cli(['relabel', '--rules', 'rules.yml'], { files: { 'rules.yml': '[]' }, stdin });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('{"a":"1"}\n{"b":"2"}\n');
    expect(r.stderr).toMatch(/^stdin:2: not JSON: /m);
    expect(r.stderr).toContain('stdin:3: expected a JSON object of label names to string values\n');
    expect(r.stderr).toContain('stdin:4: label "a" has a non-string value\n');
  });

  it.each([
    ['- action: hashmod\n  source_labels: [a]\n  target_label: b\n', /^rules\.yml:1: rule 0.*modulus/m],
    ['- action: replace\n- regex: "(a"\n', /^rules\.yml:2: rule 1 regex: /m],
    ['- action: frob\n', /^rules\.yml:1: rule 0 action: /m],
  ])('rejects invalid rules naming the rule and line (exit 2): %j', async (text, message) => {
    const r = await cli(['relabel', '--rules', 'rules.yml'], { files: { 'rules.yml': text } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^promfleet: invalid relabel rules:/);
    expect(r.stderr).toMatch(message);
  });

  it('rejects a rules file that is not YAML', async () => {
    const r = await cli(['relabel', '--rules', 'rules.yml'], { files: { 'rules.yml': '- a: [1\n' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^promfleet: rules\.yml:\d+: /);
  });
});

describe('promfleet master --operator.config', () => {
  it('exits 1 at start naming the file and the field of a bad selection file', async () => {
    const files = { 'p.yml': 'scrape_configs: []\n', 'prom.yaml': 'kind: Prometheus\nspec:\n  serviceMonitorSelector: {matchLabels: {a: 1}}\n' };
    expect(await cli(['master', '--config.file=p.yml', '--operator.config=prom.yaml', '--kubernetes.own-namespace=mon'], { files })).toEqual({
      code: 1,
      stdout: '',
      stderr: 'promfleet: prom.yaml: spec.serviceMonitorSelector.matchLabels.a: expected a string\n',
    });
  });
});
