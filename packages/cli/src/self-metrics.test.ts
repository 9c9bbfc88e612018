/**
 * Each process's whole `/metrics`, as a Prometheus that scrapes promfleet sees it: `promtool check metrics` clean,
 * no label that clashes with a target's, and `promfleet_build_info`. The master and a worker run in this process
 * through the CLI, with a static job and a remote-write receiver, so that every per-job and per-endpoint series exists.
 * Their status pages link each other.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { checkSelfMetrics } from '@promfleet/testkit';
import { loadCommandSpec, run, VERSION } from './cli.js';
import { httpGet, pickPort, waitFor } from './demo-processes.js';
import type { CommandIO } from './io.js';

/** The commands started, stopped in reverse order: the worker drains before the master goes. */
const running: { stop: AbortController; exited: Promise<number> }[] = [];
let dir = '';
let receiver: Server | undefined;
afterAll(async () => {
  for (const command of running.reverse()) {
    command.stop.abort();
    await command.exited;
  }
  receiver?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
}, 30_000);

// Jest's ESM loader (vm modules) can fail two dynamic imports that share modules when they link at once ("request
// for './labels.js' is not in cache", nodejs/node#33216); Node's own loader does not. The two commands' modules are
// imported one after the other here, before both commands start together.
beforeAll(async () => {
  await loadCommandSpec('master');
  await loadCommandSpec('worker');
});

function start(argv: string[]): void {
  const stop = new AbortController();
  const sink = () => new PassThrough().resume();
  const io: CommandIO = { stdin: Readable.from([]), stdout: sink(), stderr: sink(), shutdown: stop.signal, readFile: (path) => readFile(path, 'utf8') };
  running.push({ stop, exited: run(argv, io) });
}

describe('self-metrics', () => {
  it('pass promtool on the master and the worker, with build info and no clashing label; their pages link each other', async () => {
    dir = await mkdtemp(join(tmpdir(), 'promfleet-self-metrics-'));
    receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
    const receiverPort = await pickPort({ host: '127.0.0.1' });
    await new Promise<void>((resolve) => receiver?.listen(receiverPort, '127.0.0.1', resolve));
    const [masterWeb, grpc, workerWeb] = [await pickPort({ host: '127.0.0.1' }), await pickPort({ host: '127.0.0.1' }), await pickPort({ host: '127.0.0.1' })];
    const config = join(dir, 'prometheus.yml');
    await writeFile(
      config,
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:${workerWeb}']\n` +
        `remote_write:\n  - url: http://127.0.0.1:${receiverPort}/api/v1/write\n    name: sink\n    queue_config: { batch_send_deadline: 1s }\n`,
    );
    start(['master', `--config.file=${config}`, `--web.listen-address=127.0.0.1:${masterWeb}`, `--grpc.listen-address=127.0.0.1:${grpc}`, '--fleet.startup-grace=0s']);
    start(['worker', `--master=127.0.0.1:${grpc}`, `--web.listen-address=127.0.0.1:${workerWeb}`, '--worker.id=w1', '--worker.drain-timeout=2s', `--remote-write.queue-dir=${join(dir, 'queue')}`]);
    const scrape = (port: number, wanted: string) =>
      waitFor(
        async () => {
          const { body } = await httpGet(`http://127.0.0.1:${port}/metrics`);
          return body.includes(wanted) ? body : undefined;
        },
        { what: `${wanted} on :${port}`, timeoutMs: 20_000 },
      );
    const master = await scrape(masterWeb, 'promfleet_fleet_job_targets{scrape_job="self",state="assigned"} 1');
    const worker = await scrape(workerWeb, 'promfleet_remote_write_highest_timestamp_in_seconds{remote_name="sink"');
    // Each links the other's status page: the worker's Hello gives its web port, the master's Welcome its own.
    const workers = JSON.parse((await httpGet(`http://127.0.0.1:${masterWeb}/api/v1/workers`)).body) as { data: { workers: { id: string; statusPage?: string }[] } };
    expect(workers.data.workers.map((w) => [w.id, w.statusPage])).toEqual([['w1', `http://127.0.0.1:${workerWeb}/`]]);
    expect((await httpGet(`http://127.0.0.1:${workerWeb}/`)).body).toContain(`<a href="http://127.0.0.1:${masterWeb}/">`);
    for (const exposition of [master, worker]) {
      expect(await checkSelfMetrics(exposition)).toEqual({ code: 0, output: '' });
      expect(exposition).toMatch(new RegExp(`^promfleet_build_info\\{version="${VERSION}",revision="[^"]+",nodejs_version="${process.versions.node}"\\} 1$`, 'm'));
      for (const kept of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
        expect(exposition).toContain(`\n${kept} `);
      }
    }
  }, 30_000);
});
