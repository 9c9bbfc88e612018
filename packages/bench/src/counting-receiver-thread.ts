/**
 * `counting-receiver.ts` in a worker thread: `workerData` is `{ port, totals }` (a `Float64Array` over a
 * `SharedArrayBuffer`); posts 'listening' once it listens, and closes on the message 'close'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startCountingReceiver } from './counting-receiver.js';

const { port, totals } = workerData as { port: number; totals: Float64Array };
const receiver = await startCountingReceiver({ port, totals });
parentPort?.postMessage('listening');
parentPort?.on('message', (message) => {
  if (message === 'close') void receiver.close().then(() => parentPort?.close());
});
