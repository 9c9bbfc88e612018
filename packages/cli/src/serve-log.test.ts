import { describe, expect, it } from '@jest/globals';
import { PassThrough, Readable } from 'node:stream';
import { run } from './cli.js';
import type { CommandIO } from './io.js';
import { jsonLog, logfmt } from './serve.js';

function capture() {
  const lines: string[] = [];
  const out = new PassThrough().on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== '')));
  return { out, lines };
}

const now = () => new Date(Date.UTC(2026, 11, 7, 3, 4, 5, 67));

describe('log formats', () => {
  it('json: one object per line as Prometheus writes it (slog), fields keeping their types', async () => {
    const { out, lines } = capture();
    const log = jsonLog(out, { now });
    log('info', 'worker joined', { worker: 'w-1', targets: 12 });
    log('debug', 'not written');
    log('error', 'say "why"\nthen stop');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([
      '{"time":"2026-12-07T03:04:05.067Z","level":"INFO","msg":"worker joined","worker":"w-1","targets":12}',
      '{"time":"2026-12-07T03:04:05.067Z","level":"ERROR","msg":"say \\"why\\"\\nthen stop"}',
    ]);
    expect(lines.map((l) => (JSON.parse(l) as { level: string }).level)).toEqual(['INFO', 'ERROR']);
  });

  it('logfmt: key=value, quoted when needed, debug shown only at --log.level=debug', async () => {
    const { out, lines } = capture();
    const log = logfmt(out, { now, minimum: 'debug' });
    log('debug', 'tick', { n: 1 });
    log('warn', 'two words', { err: 'a=b' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual(['time=2026-12-07T03:04:05.067Z level=debug msg=tick n=1', 'time=2026-12-07T03:04:05.067Z level=warn msg="two words" err="a=b"']);
  });

  it.each([
    [['--log.format=xml'], 'promfleet: --log.format: want one of logfmt, json, got "xml"\n'],
    [['--log.level=trace'], 'promfleet: --log.level: want one of debug, info, warn, error, got "trace"\n'],
  ])('refuses %j', async (flags, message) => {
    const err: string[] = [];
    const io: CommandIO = {
      stdin: Readable.from([]),
      stdout: new PassThrough(),
      stderr: new PassThrough().on('data', (chunk: Buffer) => err.push(chunk.toString('utf8'))),
      shutdown: AbortSignal.abort(),
      readFile: () => Promise.reject(new Error('no file')),
    };
    expect(await run(['worker', '--master=127.0.0.1:1', ...flags], io)).toBe(2);
    expect(err.join('')).toBe(message);
  });
});
