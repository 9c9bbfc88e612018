import { describe, expect, it } from '@jest/globals';
import { load, y } from './config-fixtures.js';

describe('external labels', () => {
  const text = y('global:', '  external_labels:', `    a: '\${HOME}/x'`, `    b: '$$PATH'`, `    c: '$UNSET-y'`, `    d: 'cost: $5'`, `    e: 'x$'`, `    f: 'p\${}q'`);

  it('expand $VAR and ${VAR} from the environment given, as Go os.Expand does', () => {
    const labels = load(text, { env: { HOME: '/root', PATH: '/bin' } }).global.externalLabels;
    expect(Object.fromEntries(labels)).toEqual({ a: '/root/x', b: '$PATH', c: '-y', d: 'cost: ', e: 'x$', f: 'pq' });
  });

  it('stay as written without an environment', () => {
    expect(load(text).global.externalLabels.get('a')).toBe('${HOME}/x');
  });
});
