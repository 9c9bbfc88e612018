import { describe, expect, it } from '@jest/globals';
import { PassThrough, Readable } from 'node:stream';
import { run } from './cli.js';
import { type CommandIO, UsageError } from './io.js';

/** `promfleet master` in-process with `config.yml` in memory, a SIGHUP the test sends, and its log so far. */
function startMasterCommand(flags: readonly string[], config: { text: string }) {
  let log = '';
  const shutdown = new AbortController();
  const listeners = new Set<() => void>();
  const io: CommandIO = {
    stdin: Readable.from(['']),
    stdout: new PassThrough(),
    stderr: new PassThrough().on('data', (chunk: Buffer) => (log += chunk.toString('utf8'))),
    shutdown: shutdown.signal,
    readFile: (path) => (path === 'config.yml' ? Promise.resolve(config.text) : Promise.reject(new UsageError(`cannot read ${path}`, 1))),
    onReload: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const exited = run(['master', '--config.file=config.yml', '--web.listen-address=127.0.0.1:0', '--grpc.listen-address=127.0.0.1:0', '--fleet.startup-wait=0s', ...flags], io);
  const lines = (pattern: RegExp) => log.split('\n').filter((l) => pattern.test(l));
  const until = async (pattern: RegExp, count = 1) => {
    const deadline = Date.now() + 10_000;
    while (lines(pattern).length < count) {
      if (Date.now() > deadline) throw new Error(`no ${String(pattern)} in:\n${log}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    lines,
    until,
    hangUp: () => {
      for (const l of listeners) l();
    },
    subscribed: () => listeners.size,
    stop: async () => {
      shutdown.abort();
      return exited;
    },
  };
}

const one = "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['127.0.0.1:1']}]\n";
const two = `${one}  - job_name: b\n    static_configs: [{targets: ['127.0.0.1:2']}]\n`;

describe('promfleet master reloads', () => {
  it('reloads on SIGHUP, keeps running on a bad config, and lets go of SIGHUP when it stops', async () => {
    const config = { text: one };
    const master = startMasterCommand([], config);
    await master.until(/msg="master started"/);
    config.text = two;
    master.hangUp();
    await master.until(/msg="configuration reloaded" jobs=2 jobs_added=b/);
    config.text = 'scrape_configs: [{job_name: a, scrape_interval: -1s}]';
    master.hangUp();
    await master.until(/level=error msg="configuration reload failed: the previous configuration keeps running" err=".*scrape_interval/);
    expect(await master.stop()).toBe(0);
    expect(master.subscribed()).toBe(0);
  });

  it('with --config.auto-reload-interval, reloads when the content changes, and tries a bad content once', async () => {
    const config = { text: one };
    const master = startMasterCommand(['--config.auto-reload-interval=20ms'], config);
    await master.until(/msg="master started"/);
    await new Promise((r) => setTimeout(r, 100));
    expect(master.lines(/configuration reload/)).toEqual([]);
    config.text = two;
    await master.until(/msg="configuration reloaded" jobs=2 jobs_added=b/);
    config.text = 'scrape_configs: [{job_name: a}, {job_name: a}]';
    await master.until(/configuration reload failed/);
    await new Promise((r) => setTimeout(r, 200));
    expect(master.lines(/configuration reload failed/)).toHaveLength(1);
    expect(await master.stop()).toBe(0);
  });

  it('refuses a bad --config.auto-reload-interval', async () => {
    const master = startMasterCommand(['--config.auto-reload-interval=often'], { text: one });
    expect(await master.stop()).toBe(2);
    expect(master.lines(/--config.auto-reload-interval/).length).toBeGreaterThan(0);
  });
});
