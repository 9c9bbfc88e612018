/**
 * Test fixtures for the status server: a hand-driven fleet, and a real server on a real discovery manager over
 * static configs. Not part of the package's API.
 */
import { parseConfig, formatConfigIssue, type PrometheusConfig, type TargetId } from '@promfleet/model';
import { Registry } from 'prom-client';
import { DiscoveryManager } from '../discovery/manager.js';
import type { FleetStatusSource, TargetStatus, WorkerStatus } from '../fleet/status.js';
import { StatusServer, type Readiness, type StatusServerOptions } from './status-server.js';

/** A fleet whose workers, targets and readiness the test sets. */
export class FakeFleet implements FleetStatusSource {
  readonly #targets = new Map<TargetId, TargetStatus>();
  #workers: WorkerStatus[] = [];
  isReady = false;

  workers(): readonly WorkerStatus[] {
    return this.#workers;
  }

  setWorkers(workers: WorkerStatus[]): void {
    this.#workers = [...workers].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  *targets(job?: string): Iterable<TargetStatus> {
    for (const t of this.#targets.values()) if (job === undefined || t.job === job) yield t;
  }

  target(id: TargetId): TargetStatus | undefined {
    return this.#targets.get(id);
  }

  ready(): boolean {
    return this.isReady;
  }

  /** Adds or replaces a target. */
  set(target: TargetStatus): void {
    this.#targets.set(target.id, target);
  }

  /** Replaces some fields of a known target. */
  update(id: TargetId, patch: Partial<TargetStatus>): void {
    const target = this.#targets.get(id);
    if (target === undefined) throw new Error(`no target ${id}`);
    this.#targets.set(id, { ...target, ...patch });
  }

  delete(id: TargetId): void {
    this.#targets.delete(id);
  }
}

/** A worker with every field set to something plain; `fields` override. */
export function worker(fields: Partial<WorkerStatus> & Pick<WorkerStatus, 'id'>): WorkerStatus {
  return {
    state: 'connected',
    address: '10.0.0.9:40000',
    identity: 'x509:CN=worker',
    softwareVersion: '0.1.0',
    connectedSinceUnixMs: Date.UTC(2024, 0, 1),
    lastSeenUnixMs: Date.UTC(2024, 0, 1, 0, 0, 30),
    generation: 3,
    ackedGeneration: 3,
    targets: 0,
    cost: 0,
    ...fields,
  };
}

/** A valid configuration from YAML. */
export function loadConfig(text: string): PrometheusConfig {
  const result = parseConfig(text, { file: '/etc/promfleet/prometheus.yml' });
  if (!result.ok) throw new Error(result.errors.map(formatConfigIssue).join('\n'));
  return result.config;
}

/** A running status server and what it shows. */
export interface RunningStatus {
  readonly url: string;
  readonly fleet: FakeFleet;
  readonly discovery: DiscoveryManager;
  readonly registry: Registry;
  /** What `/-/ready` and the page say; not ready (standing by) at first. */
  readiness: Readiness;
  stop(): Promise<void>;
}

/**
 * Starts discovery on `config` (static configs only), puts every kept target in a fake fleet (unassigned, never
 * scraped), and serves it on 127.0.0.1 on a free port.
 */
export async function startStatus(config: string, options: Partial<Pick<StatusServerOptions, 'now' | 'onError' | 'operatorRejected' | 'operatorKindStates'>> = {}): Promise<RunningStatus> {
  const discovery = new DiscoveryManager({ config: loadConfig(config), throttleMs: 10 });
  const controller = new AbortController();
  let updated: () => void = () => undefined;
  const firstUpdate = new Promise<void>((resolve) => (updated = resolve));
  const discovering = discovery.run(controller.signal, () => updated());
  await firstUpdate;
  const fleet = new FakeFleet();
  for (const job of discovery.jobs()) {
    for (const target of job.targets.values()) fleet.set({ id: target.id, job: target.job, labels: target.labels, sinceUnixMs: Date.UTC(2024, 0, 1), history: [] });
  }
  const registry = new Registry();
  const server = new StatusServer({ fleet, discovery, registry, readiness: () => running.readiness, ...options });
  const { port } = await server.listen('127.0.0.1:0');
  const running: RunningStatus = {
    url: `http://127.0.0.1:${port}`,
    fleet,
    discovery,
    registry,
    readiness: { ready: false, reasons: ['standby: master-b leads in term 3'] },
    stop: async () => {
      await server.close();
      controller.abort();
      await discovering;
    },
  };
  return running;
}
