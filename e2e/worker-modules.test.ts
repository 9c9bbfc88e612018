/**
 * A worker process carries only the worker's code (issue #13): `promfleet worker`, run from the built CLI under a
 * module-load hook that records every module Node loads, never loads the master, the Kubernetes client, the
 * testkit, or the CLI's other commands. Needs `pnpm build` first.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'packages/cli/bin/promfleet.js');

/**
 * A module for `node --import`: registers itself as a loader hook that appends each loaded module's URL to
 * `record` (ES modules, and CommonJS ones imported from them), and writes the CommonJS cache at exit (modules that
 * CommonJS modules require, which the hook does not see).
 */
function recordingHook(record: string): string {
  return `
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
const record = ${JSON.stringify(record)};
if (isMainThread) {
  register(import.meta.url);
  process.on('exit', () => {
    const files = Object.keys(createRequire(import.meta.url).cache);
    appendFileSync(record, files.map((f) => pathToFileURL(f).href + '\\n').join(''));
  });
}
export async function load(url, context, next) {
  const loaded = await next(url, context);
  appendFileSync(record, url + '\\n');
  return loaded;
}
`;
}

/** The package a loaded module belongs to: `@promfleet/<dir>` for the workspace's, else the one under the last node_modules. */
function packageOf(url: string): string | undefined {
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  const installed = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (installed !== null) return installed[1];
  const workspace = /\/packages\/([^/]+)\//.exec(path.slice(root.length - 1));
  return workspace === null ? undefined : `@promfleet/${workspace[1]}`;
}

let dir: string | undefined;
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Runs `promfleet worker` against a port where no master listens until it has started, then stops it; resolves to the modules it loaded. */
async function workerModules(): Promise<{ urls: string[]; stderr: string; code: number | null }> {
  if (!existsSync(join(root, 'packages/cli/dist/main.js'))) throw new Error('packages/cli/dist is missing: run `pnpm build` first');
  dir = await mkdtemp(join(tmpdir(), 'promfleet-modules-'));
  const record = join(dir, 'modules.txt');
  const hook = join(dir, 'record-modules.mjs');
  await writeFile(record, '');
  await writeFile(hook, recordingHook(record));
  const args = ['--import', pathToFileURL(hook).href, bin, 'worker', '--master=127.0.0.1:1', '--web.listen-address=127.0.0.1:0', '--remote-write.queue-dir=', '--worker.drain-timeout=1s'];
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.includes('msg="worker started"')) resolve();
    });
    void exited.then(() => reject(new Error(`the worker exited before it started:\n${stderr}`)));
  });
  child.kill('SIGTERM');
  const code = await exited;
  const urls = (await readFile(record, 'utf8')).split('\n').filter((l) => l !== '');
  return { urls, stderr, code };
}

describe('promfleet worker', () => {
  it('loads neither the master, the Kubernetes client nor the CLI’s other commands', async () => {
    const { urls, stderr, code } = await workerModules();
    expect({ code, stderr }).toEqual({ code: 0, stderr: expect.stringContaining('msg="shutting down: handing targets over"') as unknown });
    const packages = new Set(urls.map(packageOf).filter((p) => p !== undefined));
    // The hook saw the worker's own code: an empty record would pass the checks below for nothing.
    expect([...packages]).toEqual(expect.arrayContaining(['@promfleet/cli', '@promfleet/worker', '@promfleet/model', '@grpc/grpc-js', 'undici']));
    expect([...packages].filter((p) => ['@promfleet/master', '@kubernetes/client-node', '@promfleet/testkit'].includes(p))).toEqual([]);
    const cliModules = urls.filter((u) => u.includes('/packages/cli/dist/')).map((u) => u.slice(u.lastIndexOf('/') + 1));
    expect(new Set(cliModules)).toEqual(new Set(['main.js', 'cli.js', 'io.js', 'flags.js', 'worker-command.js', 'serve.js', 'worker-link-flags.js']));
  }, 60_000);
});
