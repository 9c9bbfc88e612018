/**
 * `@kubernetes/client-node` 1.4.0 informers against the fake: they must not be able to tell it from a real API
 * server for list, watch, resume and relist.
 */
import { describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig, makeInformer, type V1Pod } from '@kubernetes/client-node';
import type { KubeObject } from './objects.js';
import { startFakeApiServer, type FakeApiServer } from './server.js';
import { pod } from './test-http.js';

type InformerEvent = `${'add' | 'update' | 'delete'} ${string}`;

/** Records an informer's callbacks and lets a test wait for them. */
class Recorder {
  readonly events: InformerEvent[] = [];
  readonly #waiters = new Set<() => void>();

  record(event: InformerEvent): void {
    this.events.push(event);
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Resolves once `event` has been recorded; rejects after `timeoutMs`. */
  async seen(event: InformerEvent, timeoutMs = 3000): Promise<void> {
    if (this.events.includes(event)) return;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!this.events.includes(event)) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no "${event}" within ${timeoutMs} ms; saw ${JSON.stringify(this.events)}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }
}

/** Polls `check` until it holds or `timeoutMs` passes: the informer has no callback for bookmarks or its own errors' timing. */
async function eventually(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

function podInformer(api: FakeApiServer, options: { readonly path?: string; readonly labelSelector?: string } = {}) {
  const kc = new KubeConfig();
  kc.loadFromOptions(api.kubeconfig());
  const core = kc.makeApiClient(CoreV1Api);
  const labelSelector = options.labelSelector;
  const informer = makeInformer<V1Pod>(
    kc,
    options.path ?? '/api/v1/pods',
    () => core.listPodForAllNamespaces(labelSelector === undefined ? {} : { labelSelector }),
    labelSelector,
  );
  const recorder = new Recorder();
  const errors: unknown[] = [];
  informer.on('add', (p) => recorder.record(`add ${p.metadata?.name ?? ''}`));
  informer.on('update', (p) => recorder.record(`update ${p.metadata?.name ?? ''}`));
  informer.on('delete', (p) => recorder.record(`delete ${p.metadata?.name ?? ''}`));
  informer.on('error', (err) => errors.push(err));
  return { informer, recorder, errors };
}

function relabel(api: FakeApiServer, name: string, labels: Record<string, string>): KubeObject {
  const current = api.store.get({ resource: 'pods', namespace: 'shop', name });
  if (current === undefined) throw new Error(`${name} missing`);
  return api.store.update({ ...current, metadata: { ...current.metadata, labels } });
}

function count(api: FakeApiServer, verb: string): number {
  return api.requests().filter((r) => r.verb === verb && r.resource === 'pods').reduce((sum, r) => sum + r.count, 0);
}

describe('client-node 1.4.0 informer against the fake', () => {
  it('sees adds, updates and deletes through a label selector', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('shop', 'listed', { app: 'web' }));
    api.store.create(pod('shop', 'other', { app: 'db' }));
    const { informer, recorder } = podInformer(api, { labelSelector: 'app=web' });
    await informer.start();
    await recorder.seen('add listed');

    api.store.create(pod('shop', 'watched', { app: 'web' }));
    await recorder.seen('add watched');
    relabel(api, 'watched', { app: 'web', version: '2' });
    await recorder.seen('update watched');
    relabel(api, 'other', { app: 'web' });
    await recorder.seen('add other');
    relabel(api, 'listed', { app: 'api' });
    await recorder.seen('delete listed');
    api.store.delete({ resource: 'pods', namespace: 'shop', name: 'watched' });
    await recorder.seen('delete watched');
    api.store.create(pod('shop', 'never', { app: 'db' }));
    api.store.create(pod('shop', 'last', { app: 'web' }));
    await recorder.seen('add last');

    expect(recorder.events).toEqual(['add listed', 'add watched', 'update watched', 'add other', 'delete listed', 'delete watched', 'add last']);
    expect(informer.list().map((p) => p.metadata?.name).sort()).toEqual(['last', 'other']);
    await informer.stop();
  });

  it('resumes a dropped watch from its last resourceVersion without relisting', async () => {
    await using api = await startFakeApiServer();
    const { informer, recorder } = podInformer(api);
    await informer.start();
    api.store.create(pod('shop', 'a'));
    await recorder.seen('add a');
    const lastSeen = api.store.resourceVersion;

    expect(api.faults.dropWatches()).toBe(1);
    api.store.create(pod('shop', 'b'));
    await recorder.seen('add b');

    expect(count(api, 'list')).toBe(1);
    expect(count(api, 'watch')).toBe(2);
    expect(api.watches().map((w) => w.resourceVersion)).toEqual([String(lastSeen)]);
    await informer.stop();
  });

  it('relists after a 410 and turns the difference into adds and deletes', async () => {
    await using api = await startFakeApiServer();
    api.store.create(pod('shop', 'stays'));
    api.store.create(pod('shop', 'goes'));
    const { informer, recorder } = podInformer(api);
    await informer.start();
    await recorder.seen('add goes');

    // The changes happen while the informer has no watch, and then leave the history: its re-watch gets 410.
    api.faults.dropWatches();
    api.store.delete({ resource: 'pods', namespace: 'shop', name: 'goes' });
    api.store.create(pod('shop', 'arrives'));
    api.faults.expireResourceVersions();
    await recorder.seen('delete goes');
    await recorder.seen('add arrives');

    expect(count(api, 'list')).toBe(2);
    expect(informer.list().map((p) => p.metadata?.name).sort()).toEqual(['arrives', 'stays']);
    await informer.stop();
  });

  it('follows bookmarks when the path asks for them, and resumes from the bookmark', async () => {
    await using api = await startFakeApiServer({ bookmarkIntervalMs: 30 });
    const { informer } = podInformer(api, { path: '/api/v1/pods?allowWatchBookmarks=true' });
    await informer.start();
    api.store.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    const bookmarked = String(api.store.resourceVersion);
    await eventually(() => (api.watches()[0]?.eventsSent ?? 0) > 0);
    api.faults.dropWatches();
    await eventually(() => api.watches().length === 1);
    expect(api.watches()[0]?.resourceVersion).toBe(bookmarked);
    expect(count(api, 'list')).toBe(1);
    await informer.stop();
  });

  it('stops on a 500 from the watch, as client-node 1.4.0 does, and resumes from its resourceVersion when restarted', async () => {
    await using api = await startFakeApiServer();
    const { informer, recorder, errors } = podInformer(api);
    await informer.start();
    api.store.create(pod('shop', 'a'));
    await recorder.seen('add a');
    api.faults.failNext({ count: 1, status: 500, verb: 'watch' });
    api.faults.dropWatches();
    await eventually(() => errors.length > 0);
    expect(errors).toMatchObject([{ statusCode: 500 }]);
    api.store.create(pod('shop', 'b'));
    await informer.start();
    await recorder.seen('add b');
    expect(count(api, 'list')).toBe(1);
    await informer.stop();
  });
});
