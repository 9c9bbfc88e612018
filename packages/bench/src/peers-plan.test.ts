import { describe, expect, it } from '@jest/globals';
import { estimateSeconds, runOverheadSeconds, scaleArgs, scales } from './peers-plan.js';

describe('scales', () => {
  it("gives the harness each scale's payload, targets, interval, warm-up, window and drain", () => {
    expect(scaleArgs(scales.s3)).toEqual([
      '--payload', 'node', '--targets', '600', '--interval', '15', '--warmup', '60', '--duration', '90', '--drain', '30',
    ]);
  });

  it.each(Object.entries(scales))('%s: a window of whole intervals, a warm-up of 3 intervals or more, a drain of 2', (_, scale) => {
    expect(scale.duration % scale.interval).toBe(0);
    expect(scale.warmup).toBeGreaterThanOrEqual(3 * scale.interval);
    expect(scale.drain).toBe(Math.max(10, 2 * scale.interval));
  });
});

describe('estimateSeconds', () => {
  it('allows for the start, the probes, and queries and a stop that grow with the series', () => {
    expect(runOverheadSeconds(scales.s1)).toBeCloseTo(28.54, 6);
    expect(runOverheadSeconds(scales.s3)).toBeCloseTo(65.62, 6);
  });

  it('adds every run of every collector at every scale, and the quiet waits apart', () => {
    const all = Object.values(scales);
    const estimate = estimateSeconds({ repeats: 2, scales: all, collectors: 3, warmup: undefined, quietWait: 45 });
    const perCollector = (30 + 60 + 10 + 28.54) + (60 + 60 + 10 + 60) + (60 + 90 + 30 + 65.62);
    expect(estimate.typical).toBeCloseTo(2 * 3 * perCollector, 6);
    expect(estimate.quietWaitMax).toBe(18 * 45);
  });

  it('uses the warm-up given instead of the scales\u2019', () => {
    const estimate = estimateSeconds({ repeats: 1, scales: [scales.s1], collectors: 1, warmup: 5, quietWait: 0 });
    expect(estimate).toEqual({ typical: 5 + 60 + 10 + runOverheadSeconds(scales.s1), quietWaitMax: 0 });
  });
});
