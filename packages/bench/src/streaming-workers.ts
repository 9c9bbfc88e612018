/**
 * One of the streaming benchmark's workers' processes: many `AssignmentClient`s, each with a channel (and so a TCP
 * connection) of its own, as workers in their own pods would have. Nothing else runs here: no scraping, so what
 * is measured is the assignment stream alone.
 *
 * While recording, each client's `onChange` notes, for every added target carrying the creation label,
 * `Date.now()` minus that creation time.
 *
 * With a link (the `start` command's `link`), the clients connect as a worker with those `--master.tls.*` and
 * `--master.token-file` flags does (`loadMasterLink`), loaded once per process and shared by its clients: one
 * client certificate and token for every worker, as a Deployment mounting one secret has. Each client still makes
 * its own TLS handshake on its own connection.
 *
 * Usage (forked by streaming.ts): `node streaming-workers.js`.
 */
import { AssignmentClient, loadMasterLink, type MasterLink, type MasterLinkOptions } from '@promfleet/worker';
import { emitToParent, serveParent, type Handlers } from './ipc.js';
import { createdLabel, type WorkersCommands } from './streaming-protocol.js';

function main(): void {
  const clients = new Map<string, AssignmentClient>();
  let recording = false;
  let latenciesMs: number[] = [];
  let snapshotsAtMs: number[] = [];
  let changes = 0;
  const linkController = new AbortController();
  /** The links loaded so far, by their options as JSON. */
  const links = new Map<string, Promise<MasterLink>>();
  const masterLink = (options: MasterLinkOptions): Promise<MasterLink> => {
    const key = JSON.stringify(options);
    let link = links.get(key);
    if (link === undefined) {
      link = loadMasterLink(options, {
        signal: linkController.signal,
        onRefresh: (what, outcome) => {
          if ('error' in outcome) process.stderr.write(`streaming-workers: cannot reload the fleet link's ${what} files\n`);
        },
      });
      links.set(key, link);
    }
    return link;
  };

  const startClient = (id: string, address: string, link: MasterLink | undefined): AssignmentClient => {
    const client = new AssignmentClient({
      address,
      workerId: id,
      softwareVersion: 'bench',
      ...(link?.channelOptions === undefined ? {} : { channelOptions: link.channelOptions }),
      ...(link?.credentials === undefined ? {} : { credentials: link.credentials }),
      ...(link?.callMetadata === undefined ? {} : { callMetadata: link.callMetadata }),
      // A refused or broken stream is retried soon: nothing here should wait out the production backoff.
      backoff: { initialMs: 100, maxMs: 1_000 },
      log: (event) => {
        if (event.kind === 'applied' && event.snapshot) snapshotsAtMs.push(Date.now());
      },
      onChange: (change) => {
        changes++;
        if (!recording) return;
        const now = Date.now();
        for (const target of change.added) {
          const created = target.labels.get(createdLabel);
          if (created !== undefined) latenciesMs.push(now - Number(created));
        }
      },
    });
    clients.set(id, client);
    client.start();
    return client;
  };

  const handlers: Handlers<WorkersCommands> = {
    start: async ({ address, ids, timeoutMs, link: linkOptions }) => {
      // Loaded before the clock starts: a worker pod reads its files once, at start.
      const link = linkOptions === undefined ? undefined : await masterLink(linkOptions);
      const startedAt = performance.now();
      const started = ids.map((id) => startClient(id, address, link));
      const deadline = startedAt + timeoutMs;
      while (!started.every((c) => c.connected)) {
        if (performance.now() > deadline) {
          const waiting = started.filter((c) => !c.connected);
          throw new Error(`${waiting.length} of ${ids.length} clients not welcomed within ${timeoutMs} ms; last error: ${waiting[0]?.lastError ?? ''}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return { welcomedMs: performance.now() - startedAt };
    },
    record: ({ on }) => {
      recording = on;
      return Promise.resolve(null);
    },
    take: () => {
      const out = { latenciesMs, snapshotsAtMs, changes };
      latenciesMs = [];
      snapshotsAtMs = [];
      changes = 0;
      return Promise.resolve(out);
    },
    stop: async ({ id }) => {
      const client = clients.get(id);
      if (client === undefined) throw new Error(`no client ${id} in this process`);
      const held = client.state.targets.size;
      const atMs = Date.now();
      await client.stop();
      clients.delete(id);
      return { held, atMs };
    },
    held: () => {
      const byWorker: Record<string, number> = {};
      const ids: string[] = [];
      for (const [id, client] of clients) {
        byWorker[id] = client.state.targets.size;
        for (const targetId of client.state.targets.keys()) ids.push(targetId);
      }
      return Promise.resolve({ byWorker, ids });
    },
  };
  const stop = () => {
    linkController.abort();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  serveParent(handlers);
  emitToParent('ready', null);
}

main();
