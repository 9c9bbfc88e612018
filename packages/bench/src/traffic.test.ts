import { describe, expect, it } from '@jest/globals';
import type { TrafficRow } from '@promfleet/testkit';
import { bytesPerChurnEvent, sumTraffic, trafficTable, watchDelta, type TrafficFigures } from './traffic.js';

const row = (userAgent: string, verb: TrafficRow['verb'], responseBytes: number, watchEvents = 0): TrafficRow => ({
  userAgent,
  verb,
  resource: 'pods',
  requests: 1,
  responseBytes,
  watchEvents,
});

describe('traffic', () => {
  it('sums one client’s rows by verb', () => {
    const rows = [row('a', 'list', 100), row('a', 'watch', 30, 3), row('a', 'get', 5), row('b', 'list', 1_000)];
    expect(sumTraffic(rows, (ua) => ua === 'a')).toEqual({
      responseBytes: 135,
      listBytes: 100,
      watchBytes: 30,
      watchEvents: 3,
      watchByResource: { pods: { watchBytes: 30, watchEvents: 3 } },
    });
  });

  it('takes the watch traffic between two readings, and bytes per event from it', () => {
    const before = { responseBytes: 135, listBytes: 100, watchBytes: 30, watchEvents: 3, watchByResource: { pods: { watchBytes: 30, watchEvents: 3 } } };
    const after = {
      responseBytes: 1_635,
      listBytes: 100,
      watchBytes: 1_530,
      watchEvents: 14,
      watchByResource: { pods: { watchBytes: 1_030, watchEvents: 13 }, endpointslices: { watchBytes: 500, watchEvents: 1 } },
    };
    const figures: TrafficFigures = { startup: before, churn: watchDelta(before, after) };
    expect(figures.churn).toEqual({
      watchBytes: 1_500,
      watchEvents: 11,
      watchByResource: { pods: { watchBytes: 1_000, watchEvents: 10 }, endpointslices: { watchBytes: 500, watchEvents: 1 } },
    });
    expect(bytesPerChurnEvent(figures, 'pods')).toBe(100);
    expect(bytesPerChurnEvent(figures, 'endpointslices')).toBe(500);
    expect(bytesPerChurnEvent(figures)).toBeCloseTo(136.36, 2);
    expect(bytesPerChurnEvent({ startup: before, churn: undefined })).toBeUndefined();
  });

  it('tabulates medians per column, a dash where there was no churn window', () => {
    const mib = 2 ** 20;
    const run = (startupMiB: number, churn?: TrafficFigures['churn']): TrafficFigures => ({
      startup: { responseBytes: startupMiB * mib, listBytes: startupMiB * mib, watchBytes: 0, watchEvents: 0, watchByResource: {} },
      churn,
    });
    const churned = { watchBytes: 2 * mib, watchEvents: 2048, watchByResource: { pods: { watchBytes: mib, watchEvents: 2047 }, endpointslices: { watchBytes: mib, watchEvents: 1 } } };
    const table = trafficTable([
      { title: 'promfleet, protobuf', runs: [run(10, churned), run(20, churned)] },
      { title: 'vmagent (JSON)', runs: [run(40)] },
    ]);
    expect(table.split('\n')).toEqual([
      '| bytes from the API server | promfleet, protobuf | vmagent (JSON) |',
      '|---|---:|---:|',
      '| bytes sent until the full target set (MiB) | 15.0 | 40.0 |',
      '| … of which LIST responses (MiB) | 15.0 | 40.0 |',
      '| churn: watch events sent in the window | 2,048 | – |',
      '| churn: watch bytes sent in the window (MiB) | 2.0 | – |',
      '| bytes per Pod watch event in the churn window | 512 | – |',
      '| bytes per EndpointSlice watch event in the churn window | 1,048,576 | – |',
      '| bytes per watch event in the churn window, all kinds (depends on the mix sent) | 1,024 | – |',
    ]);
  });
});
