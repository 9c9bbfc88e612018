/**
 * The Remote-Write 2.0 bridge of the worker benchmark as a process (`rw2-bridge.ts`):
 *
 *   node packages/bench/dist/rw2-bridge-run.js [--listen 127.0.0.1:18432] [--forward http://127.0.0.1:18428/api/v1/write]
 *
 * Runs until SIGTERM or SIGINT, then prints what it forwarded as one JSON line on stdout.
 */
import { parseArgs } from 'node:util';
import { startBridge } from './rw2-bridge.js';

const { values } = parseArgs({ options: { listen: { type: 'string' }, forward: { type: 'string' } }, strict: true });
const forwardUrl = values.forward ?? 'http://127.0.0.1:18428/api/v1/write';
const bridge = await startBridge({ listen: values.listen ?? '127.0.0.1:18432', forwardUrl });
process.stderr.write(`rw2-bridge: ${bridge.url} → ${forwardUrl}\n`);
const stop = (): void => {
  void bridge.close().then(() => process.stdout.write(`${JSON.stringify(bridge.stats)}\n`));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
