/**
 * The built `promfleet` binary as a user runs it: real processes, real files, exit codes and messages. Needs
 * `pnpm build` first (scripts/test.sh does that).
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/promfleet.js');

function promfleet(args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!existsSync(join(root, 'packages/cli/dist/main.js'))) throw new Error('packages/cli/dist is missing: run `pnpm build` first');
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...args], { cwd: root, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

/** A stack trace has lines like `    at run (file:///…/cli.js:12:3)`. */
const stackTrace = /^\s+at .+:\d+:\d+\)?$/m;

describe('promfleet binary', () => {
  it('prints its version', async () => {
    const r = await promfleet(['--version']);
    expect(r).toEqual({ code: 0, stdout: expect.stringMatching(/^promfleet \d+\.\d+\.\d+\n$/) as unknown, stderr: '' });
  });

  it('runs the offline demo on the shipped example', async () => {
    const r = await promfleet(['demo', '--offline']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('examples/prometheus.yml: valid: 5 scrape configs, 1 remote_write endpoint');
    expect(r.stdout).toMatch(/kubernetes-pods +http:\/\/10\.244\.1\.21:8080\/internal\/metrics/);
    expect(r.stdout).toContain('{"__address__":"10.244.1.21:9102","namespace":"shop","pod":"checkout-7c9d5f6b8-h2x7q"}');
  });

  it('lists targets from a dump on stdin', async () => {
    const objects = await readFile(join(root, 'examples/objects.json'), 'utf8');
    const r = await promfleet(['targets', '--config', 'examples/prometheus.yml', '--objects', '-'], objects);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { job: string; labels: unknown });
    const jobsWithTargets = new Set(lines.filter((l) => l.labels !== null).map((l) => l.job));
    expect(jobsWithTargets).toEqual(new Set(['kubernetes-pods', 'kubernetes-service-endpoints', 'kubernetes-nodes', 'node']));
    expect(lines.filter((l) => l.job === 'kubernetes-services').map((l) => l.labels)).toEqual([null, null]);
  });

  it('parses an exposition from stdin into JSON lines', async () => {
    const exposition = '# TYPE http_requests_total counter\nhttp_requests_total{code="200"} 1027 1700000000000\nup{"my.label"="x"} NaN\n';
    const r = await promfleet(['parse'], exposition);
    expect(r).toEqual({
      code: 0,
      stdout:
        '{"type":"http_requests_total","kind":"counter"}\n' +
        '{"name":"http_requests_total","labels":{"code":"200"},"value":1027,"timestampMs":1700000000000}\n' +
        '{"name":"up","labels":{"my.label":"x"},"value":"NaN","timestampMs":null}\n',
      stderr: '',
    });
    const bad = await promfleet(['parse', '--format', 'openmetrics'], 'up 1\n');
    expect(bad).toEqual({ code: 1, stdout: '{"name":"up","labels":{},"value":1,"timestampMs":null}\n', stderr: 'stdin:2: data does not end with # EOF\n' });
  });

  describe('bad input: a clear message, a non-zero exit, never a stack trace', () => {
    let dir = '';
    const file = async (name: string, text: string) => {
      dir ||= await mkdtemp(join(tmpdir(), 'promfleet-e2e-'));
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    };
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it.each([
      ['an unknown command', () => ['nope'], '', 2, /^promfleet: unknown command "nope"/],
      ['a missing config file', () => ['check', 'config', '/nonexistent/p.yml'], '', 1, /^promfleet: cannot read \/nonexistent\/p\.yml: no such file\n$/],
      ['a directory as config', () => ['check', 'config', tmpdir()], '', 1, /^promfleet: cannot read .*: is a directory\n$/],
      ['an invalid config', async () => ['check', 'config', await file('bad.yml', 'global:\n  scrape_interval: soon\n')], '', 1, /bad\.yml:2: global\.scrape_interval: .*soon/],
      ['YAML that does not parse', async () => ['check', 'config', await file('broken.yml', 'scrape_configs:\n  - job_name: [\n')], '', 1, /broken\.yml:\d+: /],
      ['invalid relabel rules', async () => ['relabel', '--rules', await file('rules.yml', '- action: hashmod\n')], '', 2, /rules\.yml:1: rule 0/],
      ['a bad label line', async () => ['relabel', '--rules', await file('ok.yml', '[]\n')], '{"a":"1"}\n{oops\n', 1, /^stdin:2: not JSON/],
      ['objects that are not JSON', () => ['targets', '--config', 'examples/prometheus.yml', '--objects', '-'], 'kind: List', 1, /^promfleet: stdin: not JSON/],
    ] as [string, () => string[] | Promise<string[]>, string, number, RegExp][])('%s', async (_what, args, input, code, message) => {
      const r = await promfleet(await args(), input);
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(stackTrace);
    });
  });
});
