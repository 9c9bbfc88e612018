import { describe, expect, it } from '@jest/globals';
import { parseRelabelRules, type RelabelRule } from '@promfleet/model';
import { PrompbLabel } from '@promfleet/protocol';
import { buildSeriesRef, encodeLabels, varintSize, writeVarint } from './series.js';

function rules(input: unknown[]): RelabelRule[] {
  const result = parseRelabelRules(input);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.rules;
}

/** The label pairs encoded in a ref, decoded with the generated prompb code. */
function decodedLabels(encoded: string): string[] {
  const bytes = Buffer.from(encoded, 'latin1');
  const out: string[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    expect(bytes[pos]).toBe(0x0a);
    const length = bytes[pos + 1] ?? 0;
    expect(length).toBeLessThan(128);
    const label = PrompbLabel.decode(bytes.subarray(pos + 2, pos + 2 + length));
    out.push(`${label.name}=${label.value}`);
    pos += 2 + length;
  }
  return out;
}

const none = { externalLabels: new Map<string, string>(), writeRelabelConfigs: [], protocol: 'prometheus.WriteRequest', metadata: undefined } as const;

describe('buildSeriesRef', () => {
  it('sorts labels by name in UTF-8 byte order, as the remote-write spec requires', () => {
    const ref = buildSeriesRef(
      new Map([
        ['job', 'node'],
        ['__name__', 'up'],
        ['Zone', 'a'],
        ['é', 'x'],
        ['instance', 'h:9100'],
      ]),
      none,
    );
    expect(decodedLabels(ref?.labels ?? '')).toEqual(['Zone=a', '__name__=up', 'instance=h:9100', 'job=node', 'é=x']);
  });

  it('gives a 1.0 reference none of the fields only 2.0 uses, and a 2.0 reference its symbols and metadata', () => {
    const labels = new Map([['__name__', 'up'], ['job', 'node']]);
    const metadata = { family: 'up', type: 'gauge', help: 'Up.', unit: '' } as const;
    const v1 = buildSeriesRef(labels, { ...none, metadata });
    expect(Object.keys(v1 ?? {}).sort()).toEqual(['batch', 'createdTimestampMs', 'group', 'hash', 'labels']);
    expect(v1?.symbols).toBeUndefined();
    expect(v1?.metadata).toBeUndefined();
    const v2 = buildSeriesRef(labels, { ...none, protocol: 'io.prometheus.write.v2.Request', metadata });
    expect(v2?.symbols).toEqual(['__name__', 'up', 'job', 'node']);
    expect(v2?.metadata).toBe(metadata);
    expect(v2?.labels).toBe('');
    expect(v2?.hash).toBe(v1?.hash);
  });

  it('leaves out labels with empty values', () => {
    const ref = buildSeriesRef(new Map([['__name__', 'up'], ['empty', '']]), none);
    expect(decodedLabels(ref?.labels ?? '')).toEqual(['__name__=up']);
  });

  it.each([
    ['adds an external label the series lacks', [['__name__', 'up']], ['__name__=up', 'cluster=eu', 'replica=a']],
    ['keeps the series value when both have the label', [['__name__', 'up'], ['cluster', 'us']], ['__name__=up', 'cluster=us', 'replica=a']],
    ['fills a label whose series value is empty', [['__name__', 'up'], ['cluster', '']], ['__name__=up', 'cluster=eu', 'replica=a']],
  ])('%s', (_name, series, expected) => {
    const externalLabels = new Map([
      ['cluster', 'eu'],
      ['replica', 'a'],
    ]);
    const ref = buildSeriesRef(new Map(series as [string, string][]), { ...none, externalLabels });
    expect(decodedLabels(ref?.labels ?? '')).toEqual(expected);
  });

  it('applies external labels before write relabeling, so rules see them', () => {
    const ref = buildSeriesRef(new Map([['__name__', 'up']]), {
      ...none,
      externalLabels: new Map([['cluster', 'eu']]),
      writeRelabelConfigs: rules([{ source_labels: ['cluster'], target_label: 'region', replacement: 'region-$1' }]),
    });
    expect(decodedLabels(ref?.labels ?? '')).toEqual(['__name__=up', 'cluster=eu', 'region=region-eu']);
  });

  it('drops a series that write relabeling drops', () => {
    const writeRelabelConfigs = rules([{ source_labels: ['__name__'], regex: 'go_.*', action: 'drop' }]);
    expect(buildSeriesRef(new Map([['__name__', 'go_goroutines']]), { ...none, writeRelabelConfigs })).toBeUndefined();
    expect(buildSeriesRef(new Map([['__name__', 'up']]), { ...none, writeRelabelConfigs })).toBeDefined();
  });

  it('drops a series that write relabeling leaves without labels', () => {
    const writeRelabelConfigs = rules([{ regex: '.*', action: 'labeldrop' }]);
    expect(buildSeriesRef(new Map([['__name__', 'up']]), { ...none, writeRelabelConfigs })).toBeUndefined();
  });

  it('gives equal label sets equal bytes and hashes whatever their insertion order', () => {
    const a = buildSeriesRef(new Map([['a', '1'], ['b', '2']]), none);
    const b = buildSeriesRef(new Map([['b', '2'], ['a', '1']]), none);
    const c = buildSeriesRef(new Map([['a', '1'], ['b', '3']]), none);
    expect(a).toEqual(b);
    expect(c?.hash).not.toBe(a?.hash);
  });
});

describe('encodeLabels', () => {
  it('encodes multi-byte characters and lengths of 128 bytes and more as prompb does', () => {
    const long = 'v'.repeat(300);
    const encoded = encodeLabels([['ünïcode', long]]);
    const expected = PrompbLabel.encode({ name: 'ünïcode', value: long }).finish();
    expect([...encoded.subarray(0, 1)]).toEqual([0x0a]);
    expect(encoded.subarray(1 + varintSize(expected.length))).toEqual(Buffer.from(expected));
  });
});

describe('varints', () => {
  it.each([0, 1, 127, 128, 300, 16_383, 16_384, 2 ** 32, 1_700_000_000_000, Number.MAX_SAFE_INTEGER])(
    'writes %d in as many bytes as it sizes, and protobuf reads it back',
    (value) => {
      const out = Buffer.alloc(16);
      const end = writeVarint(out, { pos: 0, value });
      expect(end).toBe(varintSize(value));
      let read = 0n;
      for (let i = end - 1; i >= 0; i--) read = (read << 7n) | BigInt((out[i] ?? 0) & 0x7f);
      expect(read).toBe(BigInt(value));
    },
  );

  it.each([2 ** 49, 2 ** 56 - 2 ** 4, 2 ** 56, 1_700_000_000_000_000_000, 2 ** 63 - 2 ** 11, 2 ** 63])(
    'sizes %d, beyond 2^53, exactly as it writes it (a nanosecond timestamp takes nine bytes)',
    (value) => {
      const out = Buffer.alloc(16);
      expect(writeVarint(out, { pos: 0, value })).toBe(varintSize(value));
    },
  );
});
