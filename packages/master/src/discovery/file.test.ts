import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelsToObject, type TargetGroup } from '@promfleet/model';
import { FileDiscoverer, type FileDiscovererOptions } from './file.js';
import { FileSDError } from './static.js';

/** A group as plain data: its source, its targets' addresses and its labels. */
interface Plain {
  source: string;
  targets: string[];
  labels: Record<string, string>;
}

const plain = (groups: readonly TargetGroup[]): Plain[] =>
  groups.map((g) => ({ source: g.source, targets: g.targets.map((t) => t.get('__address__') ?? ''), labels: labelsToObject(g.labels) }));

/** The group Prometheus makes of entry `index` of `file`, with `__meta_filepath` and the entry's labels. */
const group = (file: string, index: number, targets: string[], labels: Record<string, string> = {}): Plain => ({
  source: `${file}:${index}`,
  targets,
  labels: { __meta_filepath: file, ...labels },
});

/** The empty group that tells the consumer to delete `<file>:<index>`. */
const gone = (file: string, index: number): Plain => ({ source: `${file}:${index}`, targets: [], labels: {} });

/** A file_sd JSON file with one entry per target list. */
const sd = (...entries: string[][]): string => JSON.stringify(entries.map((targets) => ({ targets })));

/** Replaces a file atomically, as tools that write a temporary file and rename it over the old one do. */
async function replace(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

/** Resolves on the next call of a callback, failing the test after `timeoutMs` instead of hanging it. */
class Recorder<T> {
  readonly #queue: T[] = [];
  readonly #waiters: ((value: T) => void)[] = [];

  push(value: T): void {
    const waiter = this.#waiters.shift();
    if (waiter === undefined) this.#queue.push(value);
    else waiter(value);
  }

  next(timeoutMs = 5_000): Promise<T> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`nothing arrived within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (value: T) => {
        clearTimeout(timer);
        resolve(value);
      };
      this.#waiters.push(waiter);
    });
  }

  /** What arrived and was not taken yet. */
  get pending(): readonly T[] {
    return this.#queue;
  }
}

/** A running discoverer with its updates and errors recorded. */
interface Running {
  readonly discoverer: FileDiscoverer;
  readonly updates: Recorder<Plain[]>;
  readonly errors: Recorder<{ file: string; err: Error }>;
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

let dir = '';
const running: Running[] = [];

function start(files: string[], options: Partial<Omit<FileDiscovererOptions, 'config'>> & { refreshIntervalMs?: number } = {}): Running {
  const updates = new Recorder<Plain[]>();
  const errors = new Recorder<{ file: string; err: Error }>();
  const discoverer = new FileDiscoverer({
    config: { files, refreshIntervalMs: options.refreshIntervalMs ?? 300_000 },
    debounceMs: options.debounceMs ?? 20,
    onError: (file, err) => errors.push({ file, err }),
  });
  const controller = new AbortController();
  const done = discoverer.run(controller.signal, (groups) => updates.push(plain(groups)));
  const run: Running = {
    discoverer,
    updates,
    errors,
    done,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
  running.push(run);
  return run;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'promfleet-filesd-'));
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
  await rm(dir, { recursive: true, force: true });
});

describe('FileDiscoverer: the first update', () => {
  it('sends every group of every file the patterns match, globs sorted by name, each file once', async () => {
    await writeFile(join(dir, 'b.json'), sd(['b:1'], ['b:2', 'b:3']));
    await writeFile(join(dir, 'a.json'), JSON.stringify([{ targets: ['a:1'], labels: { env: 'prod' } }]));
    await writeFile(join(dir, 'c.yml'), '- targets: [c:1]\n');
    await writeFile(join(dir, 'ignored.txt'), 'x');
    const { updates } = start([join(dir, '*.json'), join(dir, 'c.yml'), join(dir, 'a.json'), join(dir, 'absent.yml')]);

    expect(await updates.next()).toEqual([
      group(join(dir, 'a.json'), 0, ['a:1'], { env: 'prod' }),
      group(join(dir, 'b.json'), 0, ['b:1']),
      group(join(dir, 'b.json'), 1, ['b:2', 'b:3']),
      group(join(dir, 'c.yml'), 0, ['c:1']),
    ]);
  });

  it('sends an empty full set when nothing matches', async () => {
    const { updates, discoverer } = start([join(dir, '*.json')]);

    expect(await updates.next()).toEqual([]);
    expect(discoverer.readErrors).toBe(0);
    expect(discoverer.watchErrors).toBe(0);
  });

  it('cleans a glob match as filepath.Join does', async () => {
    await writeFile(join(dir, 'a.json'), sd(['a:1']));
    const { updates } = start([`${dir}/./*.json`]);

    expect(await updates.next()).toEqual([group(join(dir, 'a.json'), 0, ['a:1'])]);
  });
});

describe('FileDiscoverer: changes', () => {
  it('sends the new groups of a file modified in place, and nothing for the others', async () => {
    await writeFile(join(dir, 'a.json'), sd(['a:1']));
    await writeFile(join(dir, 'b.json'), sd(['b:1']));
    const { updates } = start([join(dir, '*.json')]);
    await updates.next();

    await writeFile(join(dir, 'a.json'), sd(['a:1', 'a:2']));

    expect(await updates.next()).toEqual([group(join(dir, 'a.json'), 0, ['a:1', 'a:2'])]);
  });

  it('sends the groups of a new file that matches a glob', async () => {
    await writeFile(join(dir, 'a.json'), sd(['a:1']));
    const { updates } = start([join(dir, '*.json')]);
    await updates.next();

    await replace(join(dir, 'new.json'), sd(['n:1'], ['n:2']));

    expect(await updates.next()).toEqual([group(join(dir, 'new.json'), 0, ['n:1']), group(join(dir, 'new.json'), 1, ['n:2'])]);
  });

  it('sends an empty group for every source of a removed file', async () => {
    await writeFile(join(dir, 'a.json'), sd(['a:1'], ['a:2']));
    await writeFile(join(dir, 'b.json'), sd(['b:1']));
    const { updates } = start([join(dir, '*.json')]);
    await updates.next();

    await rm(join(dir, 'a.json'));

    expect(await updates.next()).toEqual([gone(join(dir, 'a.json'), 0), gone(join(dir, 'a.json'), 1)]);
  });

  it('sends an empty group for <path>:1 when a file shrinks from two entries to one', async () => {
    const file = join(dir, 'a.yaml');
    await writeFile(file, '- targets: [a:1]\n- targets: [a:2]\n');
    const { updates } = start([file]);
    await updates.next();

    await replace(file, '- targets: [a:3]\n');

    expect(await updates.next()).toEqual([group(file, 0, ['a:3']), gone(file, 1)]);
  });

  it('follows a file replaced by a rename over it', async () => {
    const file = join(dir, 'a.json');
    await writeFile(file, sd(['a:1']));
    const { updates } = start([file]);
    await updates.next();

    await replace(file, sd(['a:2']));
    expect(await updates.next()).toEqual([group(file, 0, ['a:2'])]);

    await replace(file, sd(['a:3']));
    expect(await updates.next()).toEqual([group(file, 0, ['a:3'])]);
  });

  it("follows a ConfigMap volume's ..data symlink swap", async () => {
    await mkdir(join(dir, '..v1'));
    await writeFile(join(dir, '..v1', 'targets.json'), sd(['a:1']));
    await symlink('..v1', join(dir, '..data'));
    await symlink(join('..data', 'targets.json'), join(dir, 'targets.json'));
    const file = join(dir, 'targets.json');
    const { updates } = start([join(dir, '*.json')]);
    expect(await updates.next()).toEqual([group(file, 0, ['a:1'])]);

    await mkdir(join(dir, '..v2'));
    await writeFile(join(dir, '..v2', 'targets.json'), sd(['a:2']));
    await symlink('..v2', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    await rm(join(dir, '..v1'), { recursive: true });

    expect(await updates.next()).toEqual([group(file, 0, ['a:2'])]);
  });

  it('sends nothing when a file is rewritten with the same content', async () => {
    await writeFile(join(dir, 'a.json'), sd(['a:1']));
    await writeFile(join(dir, 'b.json'), sd(['b:1']));
    const { updates } = start([join(dir, '*.json')]);
    await updates.next();

    await replace(join(dir, 'a.json'), sd(['a:1']));
    await writeFile(join(dir, 'unrelated.txt'), 'x');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await replace(join(dir, 'b.json'), sd(['b:2']));

    // The first update after the no-op rewrite is b's: the rewrite and the unrelated file sent nothing.
    expect(await updates.next()).toEqual([group(join(dir, 'b.json'), 0, ['b:2'])]);
  });
});

describe('FileDiscoverer: bad files', () => {
  it('keeps the last good groups of a broken file, reports it, and applies a later fix', async () => {
    const file = join(dir, 'a.json');
    await writeFile(file, sd(['a:1'], ['a:2']));
    await writeFile(join(dir, 'b.json'), sd(['b:1']));
    const { updates, errors, discoverer } = start([join(dir, '*.json')]);
    await updates.next();

    await replace(file, '[{"targets": ["a:1"]');
    const reported = await errors.next();
    expect(reported.file).toBe(file);
    expect(reported.err).toBeInstanceOf(FileSDError);
    expect(reported.err.message).toContain(`${file}: invalid JSON`);
    expect(discoverer.readErrors).toBe(1);

    // The next update is b's alone: the broken file sent neither new groups nor empty ones.
    await replace(join(dir, 'b.json'), sd(['b:2']));
    expect(await updates.next()).toEqual([group(join(dir, 'b.json'), 0, ['b:2'])]);

    // Every re-read while it is broken reports it again, as Prometheus counts a read error per refresh.
    await replace(file, sd(['a:3']));
    expect(await updates.next()).toEqual([group(file, 0, ['a:3']), gone(file, 1)]);
    expect(errors.pending.map((e) => e.file)).toEqual(errors.pending.map(() => file));
    expect(discoverer.readErrors).toBe(1 + errors.pending.length);
  });

  it('reports a broken file on the first read and sends no groups for it', async () => {
    await writeFile(join(dir, 'a.yml'), '- targets: 7\n');
    await writeFile(join(dir, 'b.yml'), '- targets: [b:1]\n');
    const { updates, errors, discoverer } = start([join(dir, '*.yml')]);

    expect(await updates.next()).toEqual([group(join(dir, 'b.yml'), 0, ['b:1'])]);
    const reported = await errors.next();
    expect(reported.file).toBe(join(dir, 'a.yml'));
    expect(reported.err.message).toBe(`${join(dir, 'a.yml')}:1: group 0: "targets" must be a list of strings`);
    expect(discoverer.readErrors).toBe(1);
  });

  it('reports a match it cannot read, such as a directory', async () => {
    await mkdir(join(dir, 'sub.json'));
    const { updates, errors } = start([join(dir, '*.json')]);

    expect(await updates.next()).toEqual([]);
    const reported = await errors.next();
    expect(reported.file).toBe(join(dir, 'sub.json'));
    expect((reported.err as NodeJS.ErrnoException).code).toBe('EISDIR');
  });
});

describe('FileDiscoverer: directories and the refresh interval', () => {
  it('reports a missing directory, goes on, and reads it once it appears', async () => {
    const sub = join(dir, 'later');
    const { updates, errors, discoverer } = start([join(sub, '*.json')], { refreshIntervalMs: 30 });

    expect(await updates.next()).toEqual([]);
    const reported = await errors.next();
    expect(reported.file).toBe(sub);
    expect((reported.err as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(discoverer.watchErrors).toBeGreaterThanOrEqual(1);

    await mkdir(sub);
    await replace(join(sub, 'a.json'), sd(['a:1']));
    expect(await updates.next()).toEqual([group(join(sub, 'a.json'), 0, ['a:1'])]);
  });

  it('re-reads every refreshIntervalMs, so a change is found without a watch event', async () => {
    const file = join(dir, 'a.json');
    await writeFile(file, sd(['a:1']));
    // A debounce longer than the test: only the ticker can make the change visible.
    const { updates } = start([file], { refreshIntervalMs: 30, debounceMs: 3_600_000 });
    await updates.next();

    await replace(file, sd(['a:2']));

    expect(await updates.next()).toEqual([group(file, 0, ['a:2'])]);
  });

  it('watches a directory again when it is deleted and created anew between two reads', async () => {
    const sub = join(dir, 'sd');
    await mkdir(sub);
    await writeFile(join(sub, 'a.json'), sd(['a:1']));
    // No ticker, and a debounce that lets the whole swap happen before the re-read: only a new watch on the new
    // directory can see the last change.
    const { updates } = start([join(sub, '*.json')], { refreshIntervalMs: 0, debounceMs: 300 });
    await updates.next();

    await rm(sub, { recursive: true });
    await mkdir(sub);
    await writeFile(join(sub, 'b.json'), sd(['b:1']));
    expect(await updates.next()).toEqual([group(join(sub, 'b.json'), 0, ['b:1']), gone(join(sub, 'a.json'), 0)]);

    await replace(join(sub, 'b.json'), sd(['b:2']));
    expect(await updates.next()).toEqual([group(join(sub, 'b.json'), 0, ['b:2'])]);
  });

  it('re-reads at most once per event for an interval too long for a timer, instead of every millisecond', async () => {
    await writeFile(join(dir, 'a.json'), '{');
    const { updates, discoverer } = start([join(dir, 'a.json')], { refreshIntervalMs: 30 * 24 * 3_600_000 });
    await updates.next();

    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(discoverer.readErrors).toBe(1);
  });
});

describe('FileDiscoverer: stopping', () => {
  it('returns when the signal aborts and sends nothing after', async () => {
    const file = join(dir, 'a.json');
    await writeFile(file, sd(['a:1']));
    const run = start([file], { refreshIntervalMs: 10 });
    await run.updates.next();

    await run.stop();
    await replace(file, sd(['a:2']));
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(run.updates.pending).toEqual([]);
  });

  it('returns at once, sending nothing, for a signal aborted before the start', async () => {
    await writeFile(join(dir, 'a.json'), sd(['a:1']));
    const updates: (readonly TargetGroup[])[] = [];
    const discoverer = new FileDiscoverer({ config: { files: [join(dir, 'a.json')], refreshIntervalMs: 10 } });

    await discoverer.run(AbortSignal.abort(), (groups) => updates.push(groups));

    expect(updates).toEqual([]);
  });

  it('starts from scratch when run again: the first update is the full set', async () => {
    const file = join(dir, 'a.json');
    await writeFile(file, sd(['a:1']));
    const first = start([file]);
    await first.updates.next();
    await first.stop();

    const controller = new AbortController();
    const updates = new Recorder<Plain[]>();
    const done = first.discoverer.run(controller.signal, (groups) => updates.push(plain(groups)));
    expect(await updates.next()).toEqual([group(file, 0, ['a:1'])]);
    controller.abort();
    await done;
  });
});

describe('FileDiscoverer: the groups it holds', () => {
  it('parses the last good content of every file again, without the empty groups, and nothing when stopped', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.yml');
    await writeFile(a, JSON.stringify([{ targets: ['a:1'], labels: { env: 'prod' } }, { targets: [] }]));
    await writeFile(b, '- targets: [b:1, b:2]\n');
    const run = start([join(dir, '*.json'), b]);
    expect(plain([...run.discoverer.groups()])).toEqual([]);
    await run.updates.next();
    expect(plain([...run.discoverer.groups()])).toEqual([group(a, 0, ['a:1'], { env: 'prod' }), group(b, 0, ['b:1', 'b:2'])]);

    // A file that no longer parses keeps its last good groups, as the consumer does.
    await writeFile(b, '- targets: [b:1\n');
    await run.errors.next();
    await writeFile(a, sd(['a:2']));
    await run.updates.next();
    expect(plain([...run.discoverer.groups()])).toEqual([group(a, 0, ['a:2']), group(b, 0, ['b:1', 'b:2'])]);

    await run.stop();
    expect([...run.discoverer.groups()]).toEqual([]);
  });
});
