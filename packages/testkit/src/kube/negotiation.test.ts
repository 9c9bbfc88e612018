import { describe, expect, it } from '@jest/globals';
import { negotiate, parseAccept, supportedMediaTypes, type ResponseEncoding } from './negotiation.js';
import { startFakeApiServer } from './server.js';
import { send } from './test-http.js';

const pb = 'application/vnd.kubernetes.protobuf';
const builtin = { protobuf: true, watch: false };
const custom = { protobuf: false, watch: false };
const builtinWatch = { protobuf: true, watch: true };

describe('negotiate', () => {
  it.each<[string, string | undefined, { protobuf: boolean; watch: boolean }, ResponseEncoding | undefined]>([
    ['no Accept header', undefined, builtin, 'json'],
    ['an empty Accept header', '', builtin, 'json'],
    ['*/*', '*/*', builtin, 'json'],
    ['a bare *', '*', builtin, 'json'],
    ['application/*', 'application/*', builtin, 'json'],
    ["client-go's protobuf preference", `${pb},application/json`, builtin, 'protobuf'],
    ['the documented recipe, with a space', `${pb}, application/json`, builtin, 'protobuf'],
    ['Prometheus SD: ContentType, then */*', `${pb}, */*`, builtin, 'protobuf'],
    ["client-node's JSON", 'application/json, */*;q=0.8', builtin, 'json'],
    ['protobuf alone', pb, builtin, 'protobuf'],
    ['JSON before protobuf', `application/json, ${pb}`, builtin, 'json'],
    ['a higher q wins over order', `application/json;q=0.5, ${pb}`, builtin, 'protobuf'],
    ['a specific type before a wildcard of the same q', `*/*, ${pb}`, builtin, 'protobuf'],
    ['media types are case-insensitive', 'Application/Vnd.Kubernetes.Protobuf', builtin, 'protobuf'],
    ['a q of 0 only orders last, as goautoneg', `${pb};q=0`, builtin, 'protobuf'],
    ['unknown parameters are ignored', `${pb};foo=bar`, builtin, 'protobuf'],
    ['a conversion the fake cannot do is passed over', `${pb};as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json`, builtin, 'json'],
    ['stream=watch on a watch', `${pb};stream=watch`, builtinWatch, 'protobuf'],
    ['stream=watch on a list', `${pb};stream=watch, application/json`, builtin, 'json'],
    ['a custom resource skips the protobuf clause', `${pb}, application/json`, custom, 'json'],
    ['a custom resource with */*', `${pb}, */*`, custom, 'json'],
    ['a custom resource asked for protobuf only', pb, custom, undefined],
    ['YAML, which the fake does not write', 'application/yaml', builtin, undefined],
    ['text/html', 'text/html', builtin, undefined],
    ['a malformed range', 'application', builtin, undefined],
  ])('%s', (_, accept, target, expected) => {
    expect(negotiate(accept, target)).toBe(expected);
  });

  it('keeps the order of clauses that tie', () => {
    expect(parseAccept('a/b, c/d;q=0.9, e/f, */*, g/*').map((c) => `${c.type}/${c.subType}`)).toEqual(['a/b', 'e/f', 'g/*', '*/*', 'c/d']);
  });

  it('lists the stream media types for a watch', () => {
    expect(supportedMediaTypes(true)).toEqual(['application/json;stream=watch', `${pb};stream=watch`]);
  });
});

describe('negotiation over HTTP', () => {
  it('answers 406 NotAcceptable as a JSON Status when nothing can be served', async () => {
    await using api = await startFakeApiServer();
    const list = await send(api.url, { path: '/api/v1/pods', accept: 'application/yaml' });
    expect(list.status).toBe(406);
    expect(list.headers['content-type']).toBe('application/json');
    expect(list.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `only the following media types are accepted: application/json, ${pb}`,
      reason: 'NotAcceptable',
      code: 406,
    });
    const watch = await send(api.url, { path: '/api/v1/pods?watch=1', accept: 'text/html' });
    expect(watch.status).toBe(406);
    expect((watch.json as { message: string }).message).toBe(`only the following media types are accepted: application/json;stream=watch, ${pb};stream=watch`);
  });

  it('serves custom resources as JSON to a client that prefers protobuf, and 406 to one that wants only protobuf', async () => {
    await using api = await startFakeApiServer();
    const path = '/apis/monitoring.coreos.com/v1/podmonitors';
    const fallback = await send(api.url, { path, accept: `${pb}, application/json` });
    expect(fallback.status).toBe(200);
    expect(fallback.headers['content-type']).toBe('application/json');
    expect(fallback.json).toMatchObject({ kind: 'PodMonitorList' });
    expect((await send(api.url, { path, accept: pb })).status).toBe(406);
  });

  it('answers protobuf for a built-in kind asked for it, JSON by default', async () => {
    await using api = await startFakeApiServer();
    expect((await send(api.url, { path: '/api/v1/pods', accept: `${pb}, application/json` })).headers['content-type']).toBe(pb);
    expect((await send(api.url, { path: '/api/v1/pods' })).headers['content-type']).toBe('application/json');
  });
});
