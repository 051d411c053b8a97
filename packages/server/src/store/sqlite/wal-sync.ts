/**
 * The per-commit durability step of SQLite's `synchronous=FULL`, done off the event loop.
 *
 * In WAL mode FULL differs from NORMAL only by one sync of the WAL file at each commit;
 * NORMAL keeps every sync around checkpoints and WAL reuse. better-sqlite3 runs that sync
 * on the JavaScript thread, so under FULL nothing else (HTTP parsing, signature checks)
 * runs while the disk flushes. Here the connection runs NORMAL and a committer awaits
 * {@link WalSync.durable}, which fdatasyncs the WAL on libuv's thread pool.
 *
 * Invariant: `durable(n)` resolves only after an fdatasync that began after commit n had
 * written its frames. The WAL is append-only in commit order, so that sync also covers every
 * earlier commit; commits waiting together share one sync (group commit at the file level).
 * A failed sync poisons the store: whether earlier frames reached the disk is then unknown.
 *
 * Syncs may overlap: with `syncsInFlight` > 1 a commit made while a sync runs does not wait
 * for that sync (which began before its frames and cannot cover it) before starting its own —
 * up to that many at once. Otherwise such a commit waits the rest of the running sync and then
 * a whole one of its own, 1.5 sync times on average. The server runs with
 * {@link WAL_SYNCS_IN_FLIGHT} = 1 (no overlap): measured on this 2-core host (docs/performance.md,
 * "Relay, session 8"), three in flight cost 10–15 % more server CPU per relayed envelope and
 * throughput, with no p99 gain that the same-run A/B could see. Overlapping is safe because an
 * fdatasync returns only once every write made before it was called is on stable storage,
 * including pages another sync had already started writing; so whichever sync finishes,
 * everything up to the commit count it read when it began is durable.
 */
import { closeSync, fdatasync, fstatSync, openSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Flushes a file's data to stable storage (fdatasync); injectable for tests. */
export type FileSync = (path: string) => Promise<void>;

/**
 * fdatasync of one file through a descriptor kept open: one thread-pool round trip per sync.
 * {@link fdatasyncPath} takes three (open, sync, close), and each completion waits for the
 * event loop, which under load is busy with the next relay batch: that put two extra loop
 * turns on the delivery path of every envelope. The descriptor is checked against the path
 * before each sync (a synchronous `stat`: microseconds, metadata is cached), so a file that
 * was replaced is never synced through a stale descriptor; a missing file fails the sync.
 */
export class KeptFileSync {
  #fd: number | null = null;
  #ino = -1;
  /** Descriptors of a replaced file: closed only at close(), as a sync may still run on one. */
  readonly #stale: number[] = [];

  /** Syncs `path` (always the same path for one instance). */
  readonly sync: FileSync = (path) => {
    let fd: number;
    try {
      const ino = statSync(path).ino;
      if (this.#fd === null || ino !== this.#ino) {
        if (this.#fd !== null) this.#stale.push(this.#fd);
        this.#fd = null;
        const opened = openSync(path, 'r');
        this.#fd = opened;
        this.#ino = fstatSync(opened).ino;
      }
      fd = this.#fd;
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return new Promise<void>((resolve, reject) => fdatasync(fd, (e) => (e === null ? resolve() : reject(e))));
  };

  /** Closes the descriptors; call once no sync runs any more. */
  close(): void {
    for (const fd of this.#stale.splice(0)) closeSync(fd);
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
}

/** fdatasync through a fresh descriptor: always the WAL file that exists now, never a stale inode. */
export const fdatasyncPath: FileSync = async (path) => {
  const fh = await open(path, 'r');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
};

/** Directories need fsync (not fdatasync) for a new entry; opened read-only, which Linux allows. */
const fsyncDirectory: FileSync = async (path) => {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
};

/**
 * Most WAL syncs running at once in the server (see the module comment for why one). Each
 * holds a libuv thread-pool thread (4 by default) while the disk flushes, so at most 3 may be
 * asked for: one is always left for other file work.
 */
export const WAL_SYNCS_IN_FLIGHT = 1;
const MAX_SYNCS_IN_FLIGHT = 3;

/** Counts commits and makes them durable in groups (see the module comment). */
export class WalSync {
  #committed = 0;
  #durable = 0;
  /** Targets of the syncs under way: each covers every commit up to the count it read when it began. */
  readonly #running: number[] = [];
  /** Wakes every waiter when any sync finishes (a later sync may finish before an earlier one). */
  #finished: { readonly promise: Promise<void>; readonly resolve: () => void } | null = null;
  #failure: Error | null = null;
  #directorySynced = false;

  constructor(
    private readonly walPath: string,
    private readonly syncFile: FileSync = fdatasyncPath,
    private readonly syncDirectory: FileSync = fsyncDirectory,
    private readonly syncsInFlight: number = WAL_SYNCS_IN_FLIGHT,
  ) {
    if (!Number.isInteger(syncsInFlight) || syncsInFlight < 1 || syncsInFlight > MAX_SYNCS_IN_FLIGHT)
      throw new RangeError(`syncsInFlight must be an integer from 1 to ${MAX_SYNCS_IN_FLIGHT}`);
  }

  /** Records a commit that wrote to the WAL; MUST be called right after COMMIT returns. Returns its number. */
  noteCommit(): number {
    return ++this.#committed;
  }

  /** The number of the last commit (what a read may have seen). */
  get lastCommit(): number {
    return this.#committed;
  }

  /** Whether commit `n` is known durable (no waiting needed). */
  isDurable(n: number): boolean {
    return this.#failure === null && this.#durable >= n;
  }

  /** Resolves once commit `n` (and every earlier one) is on stable storage; rejects if a sync failed. */
  async durable(n: number): Promise<void> {
    while (!this.isDurable(n)) {
      if (this.#failure !== null) throw this.#failure;
      // Only a sync that began after commit n covers it. With every slot busy, the next one
      // to finish frees a slot; the loop then starts that sync (or finds it started).
      if (!this.#running.some((target) => target >= n) && this.#running.length < this.syncsInFlight)
        this.#start();
      // Something runs now (a covering sync, or one in every slot): wait for the next to finish.
      await this.#nextFinish();
    }
  }

  /** Settles once no sync runs (before closing the file they sync). */
  async quiesce(): Promise<void> {
    while (this.#running.length > 0) await this.#nextFinish();
  }

  #nextFinish(): Promise<void> {
    if (this.#finished === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#finished = { promise, resolve };
    }
    return this.#finished.promise;
  }

  #start(): void {
    // Everything committed so far has written its frames: one sync covers it all.
    const target = this.#committed;
    this.#running.push(target);
    // A failure stays in #failure, which every waiter reads on its next turn.
    void this.#syncOnce(target)
      .catch(() => undefined)
      .finally(() => {
        this.#running.splice(this.#running.indexOf(target), 1);
        const finished = this.#finished;
        this.#finished = null;
        finished?.resolve();
      });
  }

  async #syncOnce(target: number): Promise<void> {
    try {
      await this.syncFile(this.walPath);
      // SQLite under FULL fsyncs the directory once after creating the WAL; under NORMAL
      // the first checkpoint would, which may come after acknowledgements.
      if (!this.#directorySynced) {
        await this.syncDirectory(dirname(this.walPath));
        this.#directorySynced = true;
      }
    } catch (e) {
      this.#failure = new Error('the SQLite WAL could not be synced; restart the server', { cause: e });
      throw this.#failure;
    }
    if (target > this.#durable) this.#durable = target;
  }
}
