import { describe, expect, it } from '@jest/globals';
import { SelectorError } from './errors.js';
import { rawNode, rawPod, rawService } from './fixtures.js';
import { slimNode, slimPod, slimService } from './objects.js';
import { compileObjectFilter } from './selector.js';

describe('compileObjectFilter', () => {
  const pod = slimPod(rawPod());
  const service = slimService(rawService());
  const node = slimNode(rawNode('node-a'));

  it.each([
    { kind: 'Pod', object: pod, label: 'app=web', field: 'spec.nodeName=node-a,status.phase=Running', expected: true },
    { kind: 'Pod', object: pod, label: 'app=web', field: 'metadata.namespace!=shop', expected: false },
    { kind: 'Pod', object: pod, label: 'app.kubernetes.io/name in (api)', expected: false },
    { kind: 'Pod', object: pod, field: 'status.podIP=10.244.1.17', expected: true },
    { kind: 'Service', object: service, label: 'app', field: 'metadata.name=web', expected: true },
    { kind: 'Node', object: node, label: 'kubernetes.io/os=linux', field: 'metadata.name=node-b', expected: false },
    { kind: 'Node', object: node, expected: true },
  ] as const)('$kind: label $label, field $field selects: $expected', ({ object, expected, ...options }) => {
    expect(compileObjectFilter(options)(object)).toBe(expected);
  });

  it.each([
    ['Node', 'metadata.namespace=x'],
    ['Service', 'spec.nodeName=node-a'],
    ['Pod', 'spec.restartPolicy=Always'],
  ] as const)('rejects, for a %s, the field selector %j it cannot evaluate', (kind, field) => {
    expect(() => compileObjectFilter({ kind, field })).toThrow(
      expect.objectContaining({ name: 'SelectorError', reason: expect.stringContaining(`field label not supported for ${kind}`) }),
    );
  });

  it('rejects a bad label selector before looking at any object', () => {
    expect(() => compileObjectFilter({ kind: 'Pod', label: 'app in' })).toThrow(SelectorError);
  });
});
