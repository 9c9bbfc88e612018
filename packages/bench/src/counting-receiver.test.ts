import { describe, expect, it } from '@jest/globals';
import { compressSync } from 'snappy';
import { WriteRequest } from '@promfleet/protocol';
import { TOTALS, Total, startCountingReceiver } from './counting-receiver.js';

describe('startCountingReceiver', () => {
  it('counts the samples of each request and answers 204, refusing a body that does not decode', async () => {
    const totals = new Float64Array(TOTALS);
    const receiver = await startCountingReceiver({ port: 0, totals });
    try {
      const body = Buffer.from(
        WriteRequest.encode(
          WriteRequest.fromPartial({ timeseries: [{ labels: [{ name: '__name__', value: 'up' }], samples: [{ value: 1, timestamp: 1 }, { value: 1, timestamp: 2 }] }] }),
        ).finish(),
      );
      const post = (payload: Buffer): Promise<Response> =>
        fetch(receiver.url, { method: 'POST', body: payload, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' } });
      expect((await post(compressSync(body))).status).toBe(204);
      expect((await post(compressSync(body))).status).toBe(204);
      expect((await post(Buffer.from('not snappy'))).status).toBe(400);
      expect(totals[Total.requests]).toBe(2);
      expect(totals[Total.samples]).toBe(4);
      expect(totals[Total.lastMs]).toBeGreaterThanOrEqual(totals[Total.firstMs] ?? Infinity);
    } finally {
      await receiver.close();
    }
  });
});
