/**
 * `file_sd_configs` at run time, as Prometheus' `discovery/file/file.go`: expand the patterns, read and parse every
 * matching file, watch the patterns' directories, and re-read everything on a change and every `refresh_interval`.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { isNativeError } from 'node:util/types';
import type { FileSDConfig, TargetGroup } from '@promfleet/model';
import type { Discoverer } from './discoverer.js';
import { matchGlob, parseFileSD } from './static.js';

/** How a {@link FileDiscoverer} reads its files and where it reports trouble. */
export interface FileDiscovererOptions {
  /** The patterns (already joined with the config file's directory) and the periodic re-read interval. */
  readonly config: FileSDConfig;
  /**
   * Called, synchronously and never while `update` runs, for a file that could not be read or parsed (`file` is
   * its path, `err` a `FileSDError` or the file system's error) and for a directory that could not be
   * watched (`file` is the directory). It must not throw. Discovery goes on either way.
   */
  readonly onError?: (file: string, err: Error) => void;
  /** How long to wait after a file system event before re-reading, so a burst of events costs one re-read; 100 ms. */
  readonly debounceMs?: number;
}

/** What a file last parsed to: its text, to skip re-parsing an unchanged file, and how many groups it had. */
interface FileState {
  readonly text: string;
  readonly groupCount: number;
}

/** A directory watch and the identity (`dev:ino:birth time`) of the directory it watches. */
interface DirWatch {
  readonly watcher: FSWatcher;
  readonly identity: string;
}

/** Node turns a longer timer delay into 1 ms (with a warning), which would make a long interval a hot loop. */
const maxTimerMs = 2 ** 31 - 1;

/**
 * Service discovery from files (`file_sd_configs`), as Prometheus' `discovery/file/file.go`.
 *
 * `run` sends every group of every matching file first, then, after each re-read, the groups of each file whose
 * content changed, was added or was removed, with an empty group for every source a file no longer has (fewer
 * entries, or the file is gone) so the consumer deletes it. A file that cannot be read or parsed keeps its last
 * good groups and is reported. One instance may be run again after a run ends; each run starts from scratch.
 */
export class FileDiscoverer implements Discoverer {
  readonly #config: FileSDConfig;
  readonly #debounceMs: number;
  readonly #onError: ((file: string, err: Error) => void) | undefined;
  /** The running session, whose files' last good content {@link groups} parses again. */
  #session: Session | undefined;
  #readErrors = 0;
  #watchErrors = 0;

  constructor(options: FileDiscovererOptions) {
    this.#config = options.config;
    this.#debounceMs = options.debounceMs ?? 100;
    this.#onError = options.onError;
  }

  /** Files that failed to read or parse, over the instance's life: Prometheus' `prometheus_sd_file_read_errors_total`. */
  get readErrors(): number {
    return this.#readErrors;
  }

  /** Failed attempts to watch a directory (missing, unreadable, or out of inotify watches), over the instance's life. */
  get watchErrors(): number {
    return this.#watchErrors;
  }

  /**
   * Reads the files and sends their groups to `update`, then watches for changes until `signal` aborts. Resolves
   * once aborted, with every watcher closed and every timer cleared; never rejects for file system trouble. `update`
   * receives a fresh array it may keep; it is not called after the signal aborts.
   */
  async run(signal: AbortSignal, update: (groups: readonly TargetGroup[]) => void): Promise<void> {
    if (signal.aborted) return;
    const session = new Session({
      config: this.#config,
      debounceMs: this.#debounceMs,
      report: (kind, file, err) => {
        if (kind === 'read') this.#readErrors++;
        else this.#watchErrors++;
        this.#onError?.(file, err);
      },
    });
    this.#session = session;
    try {
      await session.run(signal, update);
    } finally {
      if (this.#session === session) this.#session = undefined;
    }
  }

  /**
   * The non-empty groups of every file's last good content, parsed again from the text the discoverer keeps to
   * detect changes (it keeps no parsed groups). Empty when not running.
   */
  *groups(): Generator<TargetGroup> {
    yield* this.#session?.groups() ?? [];
  }
}

interface SessionOptions {
  readonly config: FileSDConfig;
  readonly debounceMs: number;
  readonly report: (kind: 'read' | 'watch', file: string, err: Error) => void;
}

/** The state of one `run`: the last good content of each file, the directory watches and the pending wake-ups. */
class Session {
  readonly #o: SessionOptions;
  /** The directories to watch, one per distinct pattern directory (file.go `watchFiles`). */
  readonly #dirs: readonly string[];
  #files = new Map<string, FileState>();
  readonly #watches = new Map<string, DirWatch>();
  #debounce: NodeJS.Timeout | undefined;
  #due = false;
  #wake: (() => void) | undefined;

  constructor(options: SessionOptions) {
    this.#o = options;
    this.#dirs = [...new Set(options.config.files.map((pattern) => posix.dirname(pattern)))];
  }

  async run(signal: AbortSignal, update: (groups: readonly TargetGroup[]) => void): Promise<void> {
    const onAbort = () => this.#kick();
    signal.addEventListener('abort', onAbort, { once: true });
    // file.go `Run`: a ticker re-reads everything every refresh_interval, in case a watch missed an event or could
    // not be set. Go's ticker panics on a non-positive interval; here such an interval turns the ticker off.
    const intervalMs = Math.min(this.#o.config.refreshIntervalMs, maxTimerMs);
    const ticker = intervalMs > 0 ? setInterval(() => this.#kick(), intervalMs) : undefined;
    try {
      await this.#refresh(signal, { update, first: true });
      for (;;) {
        await this.#nextWake();
        if (signal.aborted) return;
        await this.#refresh(signal, { update, first: false });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      clearInterval(ticker);
      clearTimeout(this.#debounce);
      for (const dir of [...this.#watches.keys()]) this.#unwatch(dir);
    }
  }

  /** The non-empty groups of the files as last sent, parsed again from their text. */
  *groups(): Generator<TargetGroup> {
    for (const [file, state] of this.#files) {
      // The text parsed before, and parsing is pure: it cannot fail now.
      for (const group of parseFileSD(state.text, file)) if (group.targets.length > 0) yield group;
    }
  }

  /** Asks the loop for a re-read (from the ticker, the debounce timer or the abort). */
  #kick(): void {
    this.#due = true;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #nextWake(): Promise<void> {
    if (!this.#due) await new Promise<void>((resolve) => (this.#wake = resolve));
    this.#due = false;
  }

  /** A watched directory changed. file.go re-reads everything on any event but a chmod; we wait `debounceMs` first. */
  #onEvent(): void {
    this.#debounce ??= setTimeout(() => {
      this.#debounce = undefined;
      this.#kick();
    }, this.#o.debounceMs);
  }

  /**
   * One pass of file.go `refresh`: list, read, send what changed, and send empty groups for sources that are gone.
   * Watches are set before reading (file.go sets them after), so a change made during the read is not missed.
   */
  async #refresh(signal: AbortSignal, options: { update: (groups: readonly TargetGroup[]) => void; first: boolean }): Promise<void> {
    // Events so far are covered by this pass; only those that arrive while it reads need another.
    clearTimeout(this.#debounce);
    this.#debounce = undefined;
    await this.#syncWatches();
    const changed: TargetGroup[] = [];
    const next = new Map<string, FileState>();
    for (const file of await listFiles(this.#o.config.files)) {
      const previous = this.#files.get(file);
      const read = await this.#read(file, previous);
      if (signal.aborted) return;
      if (read === undefined) {
        // file.go keeps the file's last count on a read error ("Prevent deletion down below"): the consumer keeps
        // the last good groups.
        if (previous !== undefined) next.set(file, previous);
        continue;
      }
      next.set(file, read.state);
      changed.push(...read.groups);
      changed.push(...removedSources(file, { from: read.state.groupCount, to: previous?.groupCount ?? 0 }));
    }
    for (const [file, previous] of this.#files) {
      if (!next.has(file)) changed.push(...removedSources(file, { from: 0, to: previous.groupCount }));
    }
    if (signal.aborted) return;
    this.#files = next;
    // Prometheus sends every file's groups on every refresh; sending only what changed is the same to a consumer
    // that replaces groups by source, and spares it a re-evaluation every refresh_interval.
    if (options.first || changed.length > 0) options.update(changed);
  }

  /**
   * Reads and parses one file: its new state and groups, no groups when its text is unchanged, or undefined after
   * reporting an error.
   */
  async #read(file: string, previous: FileState | undefined): Promise<{ state: FileState; groups: TargetGroup[] } | undefined> {
    try {
      const text = await readFile(file, 'utf8');
      if (previous !== undefined && previous.text === text) return { state: previous, groups: [] };
      const groups = parseFileSD(text, file);
      return { state: { text, groupCount: groups.length }, groups };
    } catch (err) {
      this.#o.report('read', file, toError(err));
      return undefined;
    }
  }

  /**
   * Watches every pattern directory that is not watched yet, or that was replaced since it was watched (its
   * identity changed, as when it is deleted and created again), as file.go `watchFiles` re-adds its watches after
   * every refresh. A directory that cannot be watched is reported and tried again on the next pass.
   */
  async #syncWatches(): Promise<void> {
    for (const dir of this.#dirs) {
      let identity: string;
      try {
        const info = await stat(dir);
        // The inode number alone is not enough: ext4 gives a directory created right after one was deleted the
        // same number.
        identity = `${info.dev}:${info.ino}:${info.birthtimeMs}`;
      } catch (err) {
        this.#unwatch(dir);
        this.#o.report('watch', dir, toError(err));
        continue;
      }
      if (this.#watches.get(dir)?.identity === identity) continue;
      this.#unwatch(dir);
      try {
        // The directory, not the files: files are often replaced by a rename (a ConfigMap's `..data` symlink swap),
        // and a watch on a file follows the old inode.
        const watcher = watch(dir, () => this.#onEvent());
        watcher.on('error', (err) => {
          if (this.#watches.get(dir)?.watcher === watcher) this.#unwatch(dir);
          this.#o.report('watch', dir, err);
        });
        this.#watches.set(dir, { watcher, identity });
      } catch (err) {
        this.#o.report('watch', dir, toError(err));
      }
    }
  }

  #unwatch(dir: string): void {
    this.#watches.get(dir)?.watcher.close();
    this.#watches.delete(dir);
  }
}

/**
 * The files the patterns match, in pattern order, each once: Go's `filepath.Glob` as file.go `listFiles` uses it,
 * with a glob only in the last path component (the config allows no other). A pattern without glob characters
 * names the file itself when it exists; a glob lists its directory, sorted, and joins each match to it (cleaned, as
 * Go's `filepath.Join`). A missing or unreadable directory matches nothing (the watch reports it).
 */
async function listFiles(patterns: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const pattern of patterns) {
    const dir = posix.dirname(pattern);
    const base = posix.basename(pattern);
    if (!/[*?[\\]/.test(base)) {
      if (await exists(pattern)) found.add(pattern);
      continue;
    }
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names.sort()) if (matchGlob(base, name)) found.add(posix.join(dir, name));
  }
  return [...found];
}

/** Whether a path exists, as Go's `os.Lstat` succeeding (a dangling symlink exists; reading it then fails). */
async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Empty groups for the sources `<file>:<from>` up to `<file>:<to - 1>`, which the consumer then deletes. */
function removedSources(file: string, range: { from: number; to: number }): TargetGroup[] {
  const groups: TargetGroup[] = [];
  for (let i = range.from; i < range.to; i++) groups.push({ source: `${file}:${i}`, targets: [], labels: new Map() });
  return groups;
}

/**
 * Narrows a caught value to an Error: the file system and the parser throw Errors; anything else is wrapped.
 * `isNativeError` rather than `instanceof`, which fails for an Error from another realm (a vm context, as jest's).
 */
function toError(err: unknown): Error {
  return isNativeError(err) ? err : new Error(String(err));
}
