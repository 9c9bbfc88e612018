/**
 * A real grpc-js server and client on 127.0.0.1, port 0, speaking the fleet protocol through
 * the generated service definition and client.
 */
import { describe, expect, it } from '@jest/globals';
import { Server, ServerCredentials, credentials, status, type StatusObject } from '@grpc/grpc-js';
import {
  FleetClient,
  FleetService,
  MasterMessage,
  PROTOCOL_VERSION,
  RefusalReason,
  RemovalReason,
  WorkerMessage,
  labelsFromProto,
  labelsToProto,
  targetIdFromBytes,
  targetIdToBytes,
  type FleetClientStream,
  type FleetServer,
  type FleetServerStream,
} from './index.js';

const targetA = '1111111111111111';
const targetB = '2222222222222222';

function target(id: string, address: string): { id: Uint8Array; job: string; labels: { name: string; value: string }[]; firstSlotUnixMs: number } {
  return {
    id: targetIdToBytes(id),
    job: 'node',
    labels: labelsToProto(new Map([['__address__', address], ['job', 'node']])),
    firstSlotUnixMs: 0,
  };
}

/** A master that welcomes any worker, sends a snapshot, and a delta once the snapshot is acked. */
function welcomingMaster(log: string[]): FleetServer {
  return {
    connect(call: FleetServerStream): void {
      call.on('data', (message: WorkerMessage) => {
        const kind = message.kind;
        switch (kind?.$case) {
          case 'hello':
            log.push(`hello ${kind.hello.workerId} v${kind.hello.protocolVersion}`);
            call.write(
              MasterMessage.fromPartial({
                kind: {
                  $case: 'welcome',
                  welcome: {
                    masterId: 'master-0',
                    leaderTerm: 1,
                    protocolVersion: PROTOCOL_VERSION,
                    heartbeatIntervalMs: 5_000,
                    workerId: kind.hello.workerId,
                    healthReportIntervalMs: 15_000,
                  },
                },
              }),
            );
            call.write(
              MasterMessage.fromPartial({
                kind: {
                  $case: 'assignmentSnapshot',
                  assignmentSnapshot: {
                    generation: kind.hello.heldGeneration + 1,
                    jobs: [{ name: 'node', scrapeIntervalMs: 15_000, scrapeTimeoutMs: 10_000 }],
                    targets: [target(targetA, '10.0.0.1:9100')],
                  },
                },
              }),
            );
            break;
          case 'ack':
            log.push(`ack ${kind.ack.generation}`);
            if (kind.ack.generation === 1) {
              call.write(
                MasterMessage.fromPartial({
                  kind: {
                    $case: 'assignmentDelta',
                    assignmentDelta: {
                      generation: 2,
                      baseGeneration: 1,
                      addedTargets: [target(targetB, '10.0.0.2:9100')],
                      removedTargets: [
                        { id: targetIdToBytes(targetA), reason: RemovalReason.MOVED, lastSlotUnixMs: 1_767_225_630_000 },
                      ],
                    },
                  },
                }),
              );
            }
            break;
          case 'healthReport':
          case 'drainRequest':
          case 'heartbeat':
          case 'heldTargets':
          case undefined:
            log.push(`unexpected ${kind?.$case ?? 'empty message'}`);
            break;
        }
      });
      call.on('end', () => {
        log.push('worker ended');
        call.end();
      });
      call.on('error', (error) => log.push(`server error ${error.message}`));
    },
  };
}

/** A master that refuses every worker as not the leader. */
function refusingMaster(): FleetServer {
  return {
    connect(call: FleetServerStream): void {
      call.once('data', () => {
        call.write(
          MasterMessage.fromPartial({
            kind: {
              $case: 'refusal',
              refusal: {
                reason: RefusalReason.NOT_LEADER,
                message: 'master-1 leads',
                leaderAddress: 'master-1:9095',
              },
            },
          }),
        );
        call.end();
      });
    },
  };
}

async function withFleet(
  master: FleetServer,
  run: (client: FleetClient) => Promise<void>,
): Promise<void> {
  const server = new Server();
  server.addService(FleetService, master);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, boundPort) => {
      if (error) reject(error);
      else resolve(boundPort);
    });
  });
  const client = new FleetClient(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    await run(client);
  } finally {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
}

/** Resolves with the call's final status once the server has ended the response stream. */
function finished(call: FleetClientStream): Promise<StatusObject> {
  const ended = new Promise<void>((resolve) => call.on('end', resolve));
  const statusReceived = new Promise<StatusObject>((resolve, reject) => {
    call.on('status', resolve);
    call.on('error', reject);
  });
  return Promise.all([ended, statusReceived]).then(([, final]) => final);
}

function hello(workerId: string): WorkerMessage {
  return WorkerMessage.fromPartial({
    kind: {
      $case: 'hello',
      hello: { workerId, softwareVersion: '0.1.0', protocolVersion: PROTOCOL_VERSION, heldGeneration: 0 },
    },
  });
}

describe('Fleet.Connect over grpc-js', () => {
  it('runs hello, welcome, snapshot, ack, delta, ack, and closes cleanly', async () => {
    const masterLog: string[] = [];
    await withFleet(welcomingMaster(masterLog), async (client) => {
      const call = client.connect();
      const received: MasterMessage[] = [];
      call.on('data', (message: MasterMessage) => {
        received.push(message);
        const kind = message.kind;
        if (kind?.$case === 'assignmentSnapshot') {
          call.write(WorkerMessage.fromPartial({ kind: { $case: 'ack', ack: { generation: kind.assignmentSnapshot.generation } } }));
        } else if (kind?.$case === 'assignmentDelta') {
          call.write(WorkerMessage.fromPartial({ kind: { $case: 'ack', ack: { generation: kind.assignmentDelta.generation } } }));
          call.end();
        }
      });
      const final = finished(call);
      call.write(hello('worker-a'));

      expect((await final).code).toBe(status.OK);
      expect(received.map((m) => m.kind?.$case)).toEqual(['welcome', 'assignmentSnapshot', 'assignmentDelta']);

      const [welcome, snapshot, delta] = received.map((m) => m.kind);
      expect(welcome?.$case === 'welcome' && welcome.welcome).toMatchObject({
        workerId: 'worker-a',
        protocolVersion: PROTOCOL_VERSION,
      });
      const snapshotTargets = snapshot?.$case === 'assignmentSnapshot' ? snapshot.assignmentSnapshot.targets : [];
      expect(snapshotTargets.map((t) => targetIdFromBytes(t.id))).toEqual([targetA]);
      expect(labelsFromProto(snapshotTargets[0]?.labels ?? [])).toEqual(
        new Map([['__address__', '10.0.0.1:9100'], ['job', 'node']]),
      );
      const changes = delta?.$case === 'assignmentDelta' ? delta.assignmentDelta : undefined;
      expect(changes?.baseGeneration).toBe(1);
      expect(changes?.addedTargets.map((t) => targetIdFromBytes(t.id))).toEqual([targetB]);
      expect(
        changes?.removedTargets.map((r) => ({ id: targetIdFromBytes(r.id), reason: r.reason, last: r.lastSlotUnixMs })),
      ).toEqual([{ id: targetA, reason: RemovalReason.MOVED, last: 1_767_225_630_000 }]);
    });
    expect(masterLog).toEqual(['hello worker-a v1', 'ack 1', 'ack 2', 'worker ended']);
  });

  it('delivers a refusal as the only master message before the call ends', async () => {
    await withFleet(refusingMaster(), async (client) => {
      const call = client.connect();
      const received: MasterMessage[] = [];
      call.on('data', (message: MasterMessage) => received.push(message));
      const final = finished(call);
      call.write(hello('worker-b'));
      call.end();

      expect((await final).code).toBe(status.OK);
      expect(received).toEqual([
        MasterMessage.fromPartial({
          kind: {
            $case: 'refusal',
            refusal: { reason: RefusalReason.NOT_LEADER, message: 'master-1 leads', leaderAddress: 'master-1:9095' },
          },
        }),
      ]);
    });
  });
});
