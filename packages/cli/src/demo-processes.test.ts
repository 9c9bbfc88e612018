import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DemoWaitError, describeExit, pickPort, processAlive, startChild, waitFor } from './demo-processes.js';

let dir = '';
afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function logDir(): Promise<string> {
  if (dir === '') dir = await mkdtemp(join(tmpdir(), 'promfleet-demo-processes-'));
  return dir;
}

function node(name: string, script: string, logFile: string) {
  return startChild({ name, command: process.execPath, args: ['-e', script], logFile });
}

describe('startChild', () => {
  it('logs to its file, reports how it ended, and stops with SIGTERM', async () => {
    const child = node('sleeper', 'console.log("hello from the child"); setInterval(() => {}, 1000)', join(await logDir(), 'sleeper.log'));
    expect(child.pid).toBeGreaterThan(0);
    await waitFor(() => Promise.resolve(child.logTail().includes('hello') ? true : undefined), { what: 'the child to log', timeoutMs: 10_000 });
    expect(child.running()).toBe(true);
    expect(processAlive(child.pid)).toBe(true);
    const exit = await child.stop();
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(describeExit(exit)).toBe('was killed by SIGTERM');
    expect(child.running()).toBe(false);
    expect(processAlive(child.pid)).toBe(false);
    expect(await child.stop()).toBe(exit);
  });

  it('kills a child that ignores the signal once the bound has passed', async () => {
    const child = node('stubborn', 'process.on("SIGTERM", () => console.log("ignored")); console.log("ready"); setInterval(() => {}, 1000)', join(await logDir(), 'stubborn.log'));
    await waitFor(() => Promise.resolve(child.logTail().includes('ready') ? true : undefined), { what: 'the child to start', timeoutMs: 10_000 });
    const exit = await child.stop({ timeoutMs: 300 });
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(child.logTail()).toContain('ignored');
  });

  it('reports a program that does not exist as could-not-start', async () => {
    const child = startChild({ name: 'missing', command: 'promfleet-no-such-program', args: [], logFile: join(await logDir(), 'missing.log') });
    const exit = await child.exited;
    expect(describeExit(exit)).toMatch(/^could not start: spawn promfleet-no-such-program ENOENT$/);
    expect(child.running()).toBe(false);
  });
});

describe('waitFor', () => {
  it('returns the first value the probe gives, counting errors as not yet', async () => {
    let calls = 0;
    const value = await waitFor(
      () => {
        calls++;
        if (calls === 1) return Promise.reject(new Error('not listening'));
        return Promise.resolve(calls === 3 ? 'there' : undefined);
      },
      { what: 'the thing', timeoutMs: 5_000, everyMs: 10 },
    );
    expect([value, calls]).toEqual(['there', 3]);
  });

  it('names what it waited for, and the last error, when it times out', async () => {
    const wait = waitFor(() => Promise.reject(new Error('connection refused')), { what: 'Prometheus to be ready', timeoutMs: 100, everyMs: 20 });
    await expect(wait).rejects.toThrow(new DemoWaitError('timed out after 100 ms waiting for Prometheus to be ready (last error: connection refused)', 'Prometheus to be ready'));
  });

  it('fails at once, with its last log lines, when a watched child ends', async () => {
    const child = node('crasher', 'console.error("bad flag --x"); process.exit(3)', join(await logDir(), 'crasher.log'));
    const started = Date.now();
    const wait = waitFor(() => Promise.resolve(undefined), { what: 'the master to be ready', timeoutMs: 20_000, children: [child], everyMs: 20 });
    await expect(wait).rejects.toThrow('crasher exited with code 3 while waiting for the master to be ready; its last log lines:\nbad flag --x');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('stops when its signal aborts', async () => {
    const controller = new AbortController();
    const wait = waitFor(() => Promise.resolve(undefined), { what: 'forever', timeoutMs: 20_000, signal: controller.signal, everyMs: 10 });
    controller.abort();
    await expect(wait).rejects.toThrow('stopped while waiting for forever');
  });
});

describe('pickPort', () => {
  it('takes the preferred port when it is free, and another when it is taken', async () => {
    const free = await pickPort({ host: '127.0.0.1' });
    expect(await pickPort({ host: '127.0.0.1', preferred: free })).toBe(free);
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(free, '127.0.0.1', resolve));
    try {
      const other = await pickPort({ host: '127.0.0.1', preferred: free });
      expect(other).not.toBe(free);
      expect(other).toBeGreaterThan(0);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
