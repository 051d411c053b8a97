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
 */
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Flushes a file's data to stable storage (fdatasync); injectable for tests. */
export type FileSync = (path: string) => Promise<void>;

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

/** Counts commits and makes them durable in groups (see the module comment). */
export class WalSync {
  #committed = 0;
  #durable = 0;
  #running: Promise<void> | null = null;
  #failure: Error | null = null;
  #directorySynced = false;

  constructor(
    private readonly walPath: string,
    private readonly syncFile: FileSync = fdatasyncPath,
    private readonly syncDirectory: FileSync = fsyncDirectory,
  ) {}

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
      this.#running ??= this.#syncOnce().finally(() => {
        this.#running = null;
      });
      await this.#running;
    }
  }

  async #syncOnce(): Promise<void> {
    // Everything committed so far has written its frames: one sync covers it all.
    const target = this.#committed;
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
