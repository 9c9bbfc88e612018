/**
 * The fleet protocol's transport: a grpc-js server whose Fleet.Connect streams become {@link WorkerSession}s of a
 * {@link Fleet}. It owns what is about the stream itself: the first-message Hello deadline, heartbeats both ways,
 * the dead-stream check, keepalive, and write backpressure ('drain').
 */
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { FleetService, HEARTBEAT_DEAD_AFTER_INTERVALS, MAX_MESSAGE_BYTES, MasterMessage, RefusalReason, type FleetServer, type WorkerMessage } from '@promfleet/protocol';
import type { Fleet, WorkerSession } from './fleet.js';

/** Options of {@link FleetGrpcServer}. */
export interface FleetGrpcServerOptions {
  readonly fleet: Fleet;
  /** How long a new stream may take to send its Hello; 10 s by default. */
  readonly helloTimeoutMs?: number;
  /** Server credentials; insecure by default (run the fleet channel inside the cluster network or behind mTLS). */
  readonly credentials?: ServerCredentials;
}

/** A grpc-js server serving Fleet.Connect for a {@link Fleet}. */
export class FleetGrpcServer {
  readonly #server: Server;
  readonly #calls = new Set<ServerDuplexStream<WorkerMessage, MasterMessage>>();

  constructor(private readonly options: FleetGrpcServerOptions) {
    this.#server = new Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      // Workers send keepalive pings every 10 s even on an idle stream; accept them.
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    });
    const handler: FleetServer = { connect: (call) => this.#connect(call) };
    this.#server.addService(FleetService, handler);
  }

  /** Binds `address` (host:port; port 0 picks one) and starts serving. Resolves to the bound port. */
  listen(address: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(address, this.options.credentials ?? ServerCredentials.createInsecure(), (err, port) => (err === null ? resolve(port) : reject(err)));
    });
  }

  /** Stops accepting streams and ends the open ones; workers keep scraping and reconnect to the next master. */
  async close(): Promise<void> {
    for (const call of this.#calls) call.end();
    await new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve()));
  }

  #connect(call: ServerDuplexStream<WorkerMessage, MasterMessage>): void {
    const { fleet } = this.options;
    this.#calls.add(call);
    const intervalMs = fleet.heartbeatIntervalMs;
    let lastReceived = performance.now();
    let sequence = 0;
    let accepted = false;
    let ended = false;
    let heartbeat: NodeJS.Timeout | undefined;
    const session: WorkerSession = {
      peer: call.getPeer(),
      send: (message) => !ended && call.write(message),
      close: () => finish(),
    };
    const finish = () => {
      if (ended) return;
      ended = true;
      clearTimeout(helloTimer);
      clearInterval(heartbeat);
      this.#calls.delete(call);
      if (accepted) fleet.closed(session);
      call.end();
    };
    const helloTimer = setTimeout(() => {
      session.send(refusal('the stream sent no Hello in time'));
      finish();
    }, this.options.helloTimeoutMs ?? 10_000);
    call.on('data', (message: WorkerMessage) => {
      lastReceived = performance.now();
      if (accepted) {
        fleet.receive(session, message);
        return;
      }
      clearTimeout(helloTimer);
      if (message.kind?.$case !== 'hello') {
        session.send(refusal('the first message of a stream must be a Hello'));
        finish();
        return;
      }
      if (!fleet.accept(session, message.kind.hello)) {
        finish();
        return;
      }
      accepted = true;
      heartbeat = setInterval(() => {
        if (performance.now() - lastReceived > intervalMs * HEARTBEAT_DEAD_AFTER_INTERVALS) {
          finish();
          return;
        }
        sequence++;
        session.send(MasterMessage.fromPartial({ kind: { $case: 'heartbeat', heartbeat: { sequence, sentUnixMs: Date.now() } } }));
      }, intervalMs);
    });
    call.on('drain', () => {
      if (accepted && !ended) fleet.writable(session);
    });
    call.on('end', finish);
    call.on('error', finish);
    call.on('close', finish);
  }
}

function refusal(message: string): MasterMessage {
  return MasterMessage.fromPartial({ kind: { $case: 'refusal', refusal: { reason: RefusalReason.INVALID_HELLO, message } } });
}
