import { describe, expect, it } from '@jest/globals';
import { PassThrough, Readable } from 'node:stream';
import { run } from './cli.js';
import { type CommandIO, UsageError } from './io.js';

/** Runs `promfleet` in memory with `stdin`, capturing stdout and stderr. */
async function cli(argv: string[], stdin: string) {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) => new PassThrough().on('data', (chunk: Buffer) => into.push(chunk.toString('utf8')));
  const io: CommandIO = {
    stdin: Readable.from([Buffer.from(stdin)]),
    stdout: sink(out),
    stderr: sink(err),
    shutdown: new AbortController().signal,
    readFile: () => Promise.reject(new UsageError('no files here', 1)),
  };
  const code = await run(argv, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const lines = (stdout: string): unknown[] => stdout.trimEnd().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);

describe('promfleet parse', () => {
  it('prints samples and metadata of a text exposition as JSON lines, comments left out', async () => {
    const body = [
      '# HELP http_requests_total Requests \\\\ served.',
      '# TYPE http_requests_total counter',
      '# a comment',
      'http_requests_total{method="get",code="200"} 1027 1700000000000',
      'http_requests_total{code="500",method="post"} 3',
      '# TYPE h histogram',
      'h_bucket{le="1"} NaN',
      'h_bucket{le="+Inf"} +Inf',
      'neg -Inf',
      '# TYPE u untyped',
      '{"my.metric","label.x"="a\\"b"} -0.5e-3',
      '',
    ].join('\n');
    const r = await cli(['parse'], body);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(lines(r.stdout)).toEqual([
      { help: 'http_requests_total', text: 'Requests \\ served.' },
      { type: 'http_requests_total', kind: 'counter' },
      { name: 'http_requests_total', labels: { code: '200', method: 'get' }, value: 1027, timestampMs: 1700000000000 },
      { name: 'http_requests_total', labels: { code: '500', method: 'post' }, value: 3, timestampMs: null },
      { type: 'h', kind: 'histogram' },
      { name: 'h_bucket', labels: { le: '1.0' }, value: 'NaN', timestampMs: null },
      { name: 'h_bucket', labels: { le: '+Inf' }, value: '+Inf', timestampMs: null },
      { name: 'neg', labels: {}, value: '-Inf', timestampMs: null },
      { type: 'u', kind: 'unknown' },
      { name: 'my.metric', labels: { 'label.x': 'a"b' }, value: -0.0005, timestampMs: null },
    ]);
  });

  it('reads OpenMetrics with --format openmetrics: units, float-second timestamps, exemplars dropped', async () => {
    const body = [
      '# TYPE req_seconds histogram',
      '# UNIT req_seconds seconds',
      'req_seconds_bucket{le="0.5"} 129 1520879607.789 # {trace_id="x"} 0.43',
      'req_seconds_count 150',
      '# EOF',
      '',
    ].join('\n');
    const r = await cli(['parse', '--format', 'openmetrics'], body);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(lines(r.stdout)).toEqual([
      { type: 'req_seconds', kind: 'histogram' },
      { unit: 'req_seconds', text: 'seconds' },
      { name: 'req_seconds_bucket', labels: { le: '0.5' }, value: 129, timestampMs: 1520879607789 },
      { name: 'req_seconds_count', labels: {}, value: 150, timestampMs: null },
    ]);
  });

  it.each([
    ['a bad value', ['parse'], 'a 1\nb 2\n\nc one\nd 4\n', 2, 'stdin:4: invalid value "one"\n'],
    ['a duplicate label', ['parse'], 'a 1\nb{x="1",x="2"} 2\n', 1, 'stdin:2: label name "x" is not unique\n'],
    ['OpenMetrics without # EOF', ['parse', '--format=openmetrics'], 'a 1\n', 1, 'stdin:2: data does not end with # EOF\n'],
    ['the text format read as OpenMetrics', ['parse', '--format', 'openmetrics'], '# HELP a x\n# a comment\n', 1, 'stdin:2: expected "# HELP", "# TYPE", "# UNIT" or "# EOF": OpenMetrics allows no other "#" lines, got "# a comment"\n'],
  ])('on %s prints what parsed before it and exits 1 with stdin:LINE: reason', async (_what, argv, body, printed, stderr) => {
    const r = await cli(argv, body);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(stderr);
    expect(lines(r.stdout)).toHaveLength(printed);
  });

  it('writes long output in chunks, all of it', async () => {
    const body = Array.from({ length: 5000 }, (_, i) => `m{i="${i}"} ${i}\n`).join('');
    const r = await cli(['parse'], body);
    expect(r.code).toBe(0);
    const out = lines(r.stdout) as { labels: { i: string }; value: number }[];
    expect(out).toHaveLength(5000);
    expect(out.every((l, i) => l.value === i && l.labels.i === String(i))).toBe(true);
  });

  it.each([
    [['parse', '--format', 'json'], 'promfleet: --format must be text or openmetrics, got "json"; usage: promfleet parse [--format text|openmetrics]\n'],
    [['parse', '--strict'], 'promfleet: unknown flag --strict; usage: promfleet parse [--format text|openmetrics]\n'],
    [['parse', 'file.prom'], 'promfleet: unexpected argument "file.prom"; usage: promfleet parse [--format text|openmetrics]\n'],
  ])('%j is a usage error with exit 2', async (argv, stderr) => {
    expect(await cli(argv, '')).toEqual({ code: 2, stdout: '', stderr });
  });

  it('is listed in the help', async () => {
    expect((await cli(['help'], '')).stdout).toContain('parse [--format text|openmetrics]');
  });
});
