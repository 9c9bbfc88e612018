/**
 * `promfleet demo` as a user runs it: the whole system comes up, Prometheus gets `up` from every target, and Ctrl-C
 * (SIGINT) stops every process it started and removes its directory. Needs `pnpm build` first.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpGet, processAlive, waitFor } from '../packages/cli/src/demo-processes.js';
import { queryVector, type WorkersBody } from '../packages/cli/src/demo-system.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/promfleet.js');

const demos: ChildProcess[] = [];
afterAll(async () => {
  for (const demo of demos) {
    if (demo.exitCode === null && demo.signalCode === null) {
      const exited = new Promise((resolve) => demo.once('exit', resolve));
      demo.kill('SIGINT');
      await exited;
    }
  }
}, 60_000);

/** The first capture group of `pattern` in `text`, or a failure that quotes the text. */
function field(text: string, pattern: RegExp): string {
  const value = pattern.exec(text)?.[1];
  if (value === undefined) throw new Error(`no ${String(pattern)} in the demo's output:\n${text}`);
  return value;
}

describe('promfleet demo', () => {
  it('starts the whole system, gets up from every target into Prometheus, and stops everything on Ctrl-C', async () => {
    if (!existsSync(join(root, 'packages/cli/dist/main.js'))) throw new Error('packages/cli/dist is missing: run `pnpm build` first');
    const child = spawn(process.execPath, [bin, 'demo'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    demos.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    await waitFor(() => Promise.resolve(stdout.includes('Press Ctrl-C to stop.') ? true : undefined), {
      what: 'the demo to say it is running',
      timeoutMs: 90_000,
      everyMs: 100,
    }).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    });
    expect(stderr).toBe('');

    // One progress line per step, in order.
    const steps = stdout.split('\n').filter((l) => /^\[\d+\/\d+\] /.test(l));
    expect(steps.map((l) => /^\[(\d+)\/(\d+)\]/.exec(l)?.slice(1).join('/'))).toEqual(Array.from({ length: 10 }, (_, i) => `${i + 1}/10`));

    // What it says is true: every target is up in Prometheus, three workers are connected, the pages answer.
    const targets = Number(field(stdout, /up == 1 for all (\d+) targets/));
    const prometheus = field(stdout, /^ {2}Prometheus +(http:\/\/\S+)$/m);
    const master = field(stdout, /^ {2}master +(http:\/\/\S+?)\/ /m);
    const workerUrls = [...stdout.matchAll(/^ {2}worker-\d +(http:\/\/\S+?)\/ /gm)].map((m) => m[1] ?? '');
    const dir = field(stdout, /^Config, TSDB and logs: (\S+) /m);
    expect(targets).toBeGreaterThan(10);
    expect(workerUrls).toHaveLength(3);
    expect(existsSync(dir)).toBe(true);
    const up = await queryVector(prometheus, 'up{job="kubernetes-pods"}');
    expect(up.map((s) => s.value[1])).toEqual(Array.from({ length: targets }, () => '1'));
    expect(stdout).toContain('sum by (job) (up)');
    const sum = await queryVector(prometheus, 'sum by (job) (up)');
    expect(sum.map((s) => [s.metric['job'], s.value[1]])).toEqual([['kubernetes-pods', String(targets)]]);
    const workers = (JSON.parse((await httpGet(`${master}/api/v1/workers`)).body) as WorkersBody).data.workers;
    expect(workers.map((w) => [w.id, w.state])).toEqual([
      ['worker-1', 'connected'],
      ['worker-2', 'connected'],
      ['worker-3', 'connected'],
    ]);
    expect(workers.reduce((n, w) => n + w.targets, 0)).toBe(targets);
    for (const url of workerUrls) expect((await httpGet(`${url}/-/healthy`)).status).toBe(200);
    const pids = [...stdout.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
    // node exporter, Prometheus, the master and three workers.
    expect(new Set(pids).size).toBe(6);
    for (const pid of pids) expect(processAlive(pid)).toBe(true);

    // Ctrl-C: everything ends, the directory goes, and the demo exits 0.
    child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running 45 s after SIGINT'), 45_000)))]);
    clearTimeout(timer);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^stopped: 6 processes ended, \S+ removed$/m);
    expect(stderr).toBe('');
    expect(pids.filter((pid) => processAlive(pid))).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    for (const url of [prometheus, master, ...workerUrls]) await expect(httpGet(`${url}/-/healthy`, 2_000)).rejects.toThrow();
  }, 150_000);

  it('stops everything cleanly on Ctrl-C when the reader of its output is gone (promfleet demo | tee demo.log)', async () => {
    // Ctrl-C reaches tee and the demo together; tee dies first, so the demo's next line hits a closed pipe.
    const child = spawn(process.execPath, [bin, 'demo'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    demos.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor(() => Promise.resolve(stdout.includes('Press Ctrl-C to stop.') ? true : undefined), { what: 'the demo to say it is running', timeoutMs: 90_000, everyMs: 100 });
    const dir = field(stdout, /^Config, TSDB and logs: (\S+) /m);
    const master = field(stdout, /^ {2}master +(http:\/\/\S+?)\/ /m);
    const pids = [...new Set([...stdout.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1])))];
    expect(pids).toHaveLength(6);
    // The logs go with the directory; files held open here can still be read once they are unlinked.
    const logs = await Promise.all(['master', 'worker-1', 'worker-2', 'worker-3'].map((name) => open(join(dir, `${name}.log`))));

    child.stdout?.destroy();
    child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running 45 s after SIGINT'), 45_000)))]);
    clearTimeout(timer);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    // SIGTERM, not SIGKILL: every worker handed its targets over and said so, and so did the master.
    const [masterLog, ...workerLogs] = await Promise.all(logs.map(async (log) => (await log.readFile('utf8')) + (await log.close(), '')));
    expect(masterLog).toContain('msg="shutting down"');
    for (const log of workerLogs) expect([log.includes('shutting down: handing targets over'), log.includes('worker stopped')]).toEqual([true, true]);
    expect(pids.filter((pid) => processAlive(pid))).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    await expect(httpGet(`${master}/-/healthy`, 2_000)).rejects.toThrow();
  }, 150_000);
});
