import { describe, expect, it } from '@jest/globals';
import { TokenBucket } from './limits.js';

function clock() {
  let ms = 0;
  return { now: () => ms, advance: (by: number) => (ms += by) };
}

describe('TokenBucket', () => {
  it('lets a full burst through at once, then refills at the rate', () => {
    const c = clock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 3, now: c.now });
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    c.advance(99);
    expect(bucket.take()).toBe(false);
    c.advance(1);
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    c.advance(60_000);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
  });

  it('defaults the burst to five seconds of the rate: 1,000 workers reconnect at once at 200/s', () => {
    const c = clock();
    const bucket = new TokenBucket({ ratePerSecond: 200, now: c.now });
    let admitted = 0;
    for (let i = 0; i < 1_000; i++) if (bucket.take()) admitted++;
    expect(admitted).toBe(1_000);
    expect(bucket.take()).toBe(false);
    c.advance(1_000);
    for (let i = 0; i < 200; i++) expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
  });

  it('does not limit at a rate of 0', () => {
    const bucket = new TokenBucket({ ratePerSecond: 0, now: () => 0 });
    for (let i = 0; i < 10_000; i++) expect(bucket.take()).toBe(true);
  });
});
