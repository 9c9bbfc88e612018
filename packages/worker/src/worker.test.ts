/**
 * The worker's log lines about its master, from a whole worker against a scripted master: what an operator reads
 * when the master behind the Service is a standby or a new leader.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { RefusalReason } from '@promfleet/protocol';
import { Resources, startMaster, waitFor } from './assignment/client-fixtures.js';
import { startWorker, type WorkerLog } from './worker.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

interface Line {
  readonly level: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, string | number>>;
}

describe('worker log', () => {
  it('names the leader a NOT_LEADER refusal names, and the leader term of the master that welcomes it', async () => {
    const master = await startMaster(resources, (connection) => {
      void connection.next('hello').then(() => {
        if (master.connections.length === 1) connection.refuse({ reason: RefusalReason.NOT_LEADER, message: 'master-0 is a standby', leaderAddress: 'master-1.promfleet:9096' });
        else connection.welcome({ masterId: 'master-1', leaderTerm: 4 });
      });
    });
    const lines: Line[] = [];
    const log: WorkerLog = (level, message, fields = {}) => lines.push({ level, message, fields });
    const worker = await startWorker({ master: master.address, workerId: 'worker-0', webListenAddress: '127.0.0.1:0', softwareVersion: 'test', log });
    resources.add(() => worker.stop());
    await waitFor(() => lines.some((l) => l.message === 'connected to the master'), 'the welcome');
    expect(lines.find((l) => l.message === 'the master refused the stream')).toEqual({
      level: 'warn',
      message: 'the master refused the stream',
      fields: { reason: 'NOT_LEADER', message: 'master-0 is a standby', retry_after_ms: 0, leader: 'master-1.promfleet:9096' },
    });
    expect(lines.find((l) => l.message === 'connected to the master')?.fields).toEqual({ master: 'master-1', worker: 'worker-0', leader_term: 4 });
  });
});
