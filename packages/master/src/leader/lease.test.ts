import { afterEach, describe, expect, it } from '@jest/globals';
import { startFakeApiServer, type FakeApiServer } from '@promfleet/testkit';
import { ApiError } from '../discovery/kubernetes/client.js';
import { KubeLeaseClient, parseLeaseRef, type LeaseRequestRecord } from './lease.js';

let api: FakeApiServer | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

async function client(): Promise<{ leases: KubeLeaseClient; requests: LeaseRequestRecord[] }> {
  api = await startFakeApiServer();
  const requests: LeaseRequestRecord[] = [];
  const connection = { server: api.url, requestOptions: () => Promise.resolve({}), userAgent: 'promfleet-master/test' };
  return { leases: new KubeLeaseClient({ connection, lease: { namespace: 'promfleet', name: 'promfleet-master' }, onRequest: (r) => requests.push(r) }), requests };
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
  throw new Error('no error');
}

describe('KubeLeaseClient on the fake API server', () => {
  it('gets nothing, creates, updates with the current resourceVersion, and gets 409 for a stale one or a second create', async () => {
    const { leases, requests } = await client();
    const signal = new AbortController().signal;
    expect(await leases.get(signal)).toBeUndefined();
    const created = await leases.create({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 }, signal);
    expect(created.metadata).toMatchObject({ name: 'promfleet-master', namespace: 'promfleet' });
    expect(created.spec).toEqual({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    const updated = await leases.update({ ...created, spec: { ...created.spec, holderIdentity: 'b', leaseTransitions: 1 } }, signal);
    expect(updated.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(updated.metadata.resourceVersion).not.toBe(created.metadata.resourceVersion);
    expect((await leases.get(signal))?.spec.holderIdentity).toBe('b');
    expect(await statusOf(leases.update({ ...created, spec: { holderIdentity: 'c' } }, signal))).toBe(409);
    expect(await statusOf(leases.create({ holderIdentity: 'c' }, signal))).toBe(409);
    expect(requests).toEqual([
      { verb: 'get', status: 404 },
      { verb: 'create', status: 201 },
      { verb: 'update', status: 200 },
      { verb: 'get', status: 200 },
      { verb: 'update', status: 409 },
      { verb: 'create', status: 409 },
    ]);
  });

  it('reports an unreachable API server as status 0', async () => {
    const { leases } = await client();
    await api?.stop();
    expect(await statusOf(leases.get(new AbortController().signal))).toBe(0);
  });
});

describe('parseLeaseRef', () => {
  it.each([['promfleet/promfleet-master', { namespace: 'promfleet', name: 'promfleet-master' }], ['kube-system/a.b', { namespace: 'kube-system', name: 'a.b' }]])('reads %s', (text, ref) => {
    expect(parseLeaseRef(text)).toEqual(ref);
  });

  it.each(['promfleet', 'a/b/c', '/x', 'Promfleet/x', 'ns/-x', 'n.s/x'])('refuses %j', (text) => {
    expect(() => parseLeaseRef(text)).toThrow(RangeError);
  });
});
