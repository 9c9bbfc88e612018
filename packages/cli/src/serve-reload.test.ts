import { describe, expect, it } from '@jest/globals';
import { PassThrough, Readable } from 'node:stream';
import { run } from './cli.js';
import { waitFor } from './demo-processes.js';
import { type CommandIO, UsageError } from './io.js';

describe('promfleet master, reloading', () => {
  it('rejects a reloaded config that cannot reach Kubernetes, naming the file and the job, and keeps running', async () => {
    const files: Record<string, string> = { 'p.yml': "scrape_configs:\n  - {job_name: static, static_configs: [{targets: ['a:1']}]}\nremote_write: [{url: 'http://r/api/v1/write'}]\n" };
    let stderr = '';
    let reload: () => void = () => undefined;
    const stop = new AbortController();
    const io: CommandIO = {
      stdin: Readable.from([]),
      stdout: new PassThrough().resume(),
      stderr: new PassThrough().on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8'))),
      shutdown: stop.signal,
      readFile: (path) => {
        const text = files[path];
        return text === undefined ? Promise.reject(new UsageError(`cannot read ${path}: no such file`, 1)) : Promise.resolve(text);
      },
      onReload: (listener) => {
        reload = listener;
        return () => undefined;
      },
    };
    const exited = run(['master', '--config.file=p.yml', '--kubeconfig=/nonexistent/kubeconfig', '--web.listen-address=127.0.0.1:0', '--grpc.listen-address=127.0.0.1:0'], io);
    await waitFor(() => Promise.resolve(stderr.includes('master started') ? true : undefined), { what: 'the master to start', timeoutMs: 10_000 });
    files['p.yml'] = 'scrape_configs:\n  - {job_name: pods, kubernetes_sd_configs: [{role: pod}]}\n';
    reload();
    await waitFor(() => Promise.resolve(stderr.includes('configuration reload failed') ? true : undefined), { what: 'the reload to fail', timeoutMs: 10_000 });
    expect(stderr).toMatch(/configuration reload failed: the previous configuration keeps running" err="cannot load kubeconfig \/nonexistent\/kubeconfig: no such file \(job pods\)"/);
    stop.abort();
    expect(await exited).toBe(0);
  });

  /** A CommandIO over in-memory files; `onRead` runs after each read of a file, `onReload` when SIGHUP is subscribed. */
  const fakeIO = (context: { files: Record<string, string>; shutdown: AbortSignal; onRead?: (path: string) => void; onReload?: (listener: () => void) => void }) => {
    const out = { stderr: '' };
    const io: CommandIO = {
      stdin: Readable.from([]),
      stdout: new PassThrough().resume(),
      stderr: new PassThrough().on('data', (chunk: Buffer) => (out.stderr += chunk.toString('utf8'))),
      shutdown: context.shutdown,
      readFile: (path) => {
        const text = context.files[path];
        context.onRead?.(path);
        return text === undefined ? Promise.reject(new UsageError(`cannot read ${path}: no such file`, 1)) : Promise.resolve(text);
      },
      onReload: (listener) => {
        context.onReload?.(listener);
        return () => undefined;
      },
    };
    return { io, out };
  };
  const one = "scrape_configs:\n  - {job_name: one, static_configs: [{targets: ['a:1']}]}\n";
  const two = `${one}  - {job_name: two, static_configs: [{targets: ['b:1']}]}\n`;
  const flags = ['master', '--config.file=p.yml', '--web.listen-address=127.0.0.1:0', '--grpc.listen-address=127.0.0.1:0'];

  it('runs one reload after the start for a SIGHUP that came while starting', async () => {
    const files: Record<string, string> = { 'p.yml': one };
    const stop = new AbortController();
    // SIGHUP as soon as the master subscribes to it, before startMaster returns, after an edit of the file.
    const { io, out } = fakeIO({
      files,
      shutdown: stop.signal,
      onReload: (listener) => {
        files['p.yml'] = two;
        listener();
        listener();
      },
    });
    const exited = run(flags, io);
    await waitFor(() => Promise.resolve(out.stderr.includes('configuration reloaded') ? true : undefined), { what: 'the queued reload', timeoutMs: 10_000 });
    expect(out.stderr).toContain('SIGHUP received while starting: reloading once the master has started');
    expect(out.stderr).toMatch(/configuration reloaded" jobs=2 jobs_added=two /);
    stop.abort();
    expect(await exited).toBe(0);
    expect(out.stderr.match(/configuration reloaded/g)).toHaveLength(1);
  });

  it('auto-reloads an edit made while the master was starting: the poller compares with the text that was loaded', async () => {
    const files: Record<string, string> = { 'p.yml': one };
    const stop = new AbortController();
    let reads = 0;
    // The file changes right after the master read it, before it has started.
    const { io, out } = fakeIO({
      files,
      shutdown: stop.signal,
      onRead: () => {
        if (++reads === 1) queueMicrotask(() => (files['p.yml'] = two));
      },
    });
    const exited = run([...flags, '--config.auto-reload-interval=20ms'], io);
    await waitFor(() => Promise.resolve(out.stderr.includes('configuration reloaded') ? true : undefined), { what: 'the auto-reload', timeoutMs: 10_000 });
    expect(out.stderr).toMatch(/configuration reloaded" jobs=2 jobs_added=two /);
    stop.abort();
    expect(await exited).toBe(0);
  });
});
