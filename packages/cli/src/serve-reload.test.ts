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
});
