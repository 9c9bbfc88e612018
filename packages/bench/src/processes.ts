/**
 * The processes the discovery and reload benchmarks share: the fake API server as a child, a free port, progress lines.
 */
import { createServer } from 'node:net';
import { ChildHandle } from './ipc.js';
import type { FakeCommands, FakeReady } from './protocol.js';

export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** A free TCP port on loopback (the kernel picks it; it is released before use, as every port-0 helper does). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port from the kernel');
  return address.port;
}

export interface Fake {
  readonly handle: ChildHandle<FakeCommands>;
  readonly ready: FakeReady;
}

export async function startFake(options: {
  readonly pods: number;
  readonly nodes: number;
  readonly seed: number;
  /** The encodings whose list items the fake prepares at start-up. */
  readonly encodings: readonly string[];
  /** Whether the fake gzips lists over 128 KiB for clients that accept gzip. */
  readonly gzipLists: boolean;
}): Promise<Fake> {
  progress(`fake API server: generating ${options.pods} pods on ${options.nodes} nodes`);
  const handle = ChildHandle.fork<FakeCommands>({
    module: new URL('./fake-apiserver.js', import.meta.url),
    name: 'fake-apiserver',
    args: [String(options.pods), String(options.nodes), String(options.seed), options.encodings.join(','), options.gzipLists ? 'gzip' : 'plain'],
    execArgv: ['--max-old-space-size=12288'],
  });
  try {
    const ready = (await handle.event('ready', 600_000)) as FakeReady;
    progress(`fake API server at ${ready.url} (generated in ${(ready.generateMs / 1000).toFixed(1)} s, loaded in ${(ready.loadMs / 1000).toFixed(1)} s)`);
    return { handle, ready };
  } catch (err) {
    await handle.stop();
    throw err;
  }
}
