/**
 * WAL checkpoints off the commit path. With SQLite's automatic checkpoints, the commit that
 * crosses the threshold copies the whole WAL into the database file and syncs both, on the
 * event loop, while every request waits. Here the main connection raises the automatic
 * checkpoint to a 64 MiB backstop (WAL_BACKSTOP_PAGES in sqlite-database.ts: continuous
 * commits would otherwise never let the WAL restart) and a worker thread with its own
 * connection runs PASSIVE checkpoints: they copy committed frames without blocking the
 * writer and never take its lock.
 *
 * Safety: the worker's connection runs synchronous=FULL, so a checkpoint syncs the WAL
 * before copying and the database file before recording the frames as copied; SQLite
 * reuses the WAL from its start only after that. If the worker fails, automatic
 * checkpoints come back on the main connection (slower, never unbounded WAL growth).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Minimum spacing of checkpoints while commits arrive (each one syncs twice; fewer, larger ones are cheaper). */
export const WAL_CHECKPOINT_INTERVAL_MS = 200;

/**
 * The checkpoint thread's niceness. A pass copies pages in bulk and nothing waits for it, while
 * the event loop's every delay is a delivery's delay: on a small machine the two compete for a
 * core. Linux applies `setpriority` to the calling thread only, so this lowers the worker and
 * nothing else; elsewhere (or where refused) the worker runs at the process's priority.
 */
export const CHECKPOINT_WORKER_NICE = 10;

// CommonJS, run by the worker with `eval`: works the same from TypeScript sources (tests) and dist.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
try {
  require('node:os').setPriority(workerData.nice);
} catch {
  // Not permitted or not supported: the pass runs at the process's priority, as before.
}
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    parentPort.postMessage({ ok: true, log: r.log, checkpointed: r.checkpointed });
  } catch (e) {
    // The code only (SQLITE_IOERR, …): a message could quote the path.
    parentPort.postMessage({ ok: false, code: e && typeof e.code === 'string' ? e.code : undefined });
  }
});
`;

interface CheckpointReply {
  readonly ok: boolean;
  readonly log?: number;
  readonly checkpointed?: number;
  /** A failed pass: the SQLite error code, if it had one. */
  readonly code?: string;
}

/** Test seam: the worker's CommonJS source (tests supply one that fails). */
export interface WalCheckpointerOptions {
  readonly workerSource?: string;
}

/** Runs PASSIVE checkpoints in a worker thread, at most every {@link WAL_CHECKPOINT_INTERVAL_MS} while commits arrive. */
export class WalCheckpointer {
  readonly #worker: Worker;
  readonly #onFailure: (cause: unknown) => void;
  #timer: NodeJS.Timeout | null = null;
  #inFlight = false;
  #dirty = false;
  #failed = false;
  #closing: Promise<void> | null = null;
  #exited = false;
  #passes = 0;

  /**
   * `onFailure` runs once if the worker cannot checkpoint (the caller re-enables automatic
   * checkpoints), with the cause: the worker's error, or an error naming how it stopped.
   */
  constructor(
    path: string,
    busyTimeoutMs: number,
    onFailure: (cause: unknown) => void,
    options: WalCheckpointerOptions = {},
  ) {
    this.#onFailure = onFailure;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // execArgv []: a worker inherits its parent's flags, and under `--input-type=module` (a
    // server started with `node --input-type=module -e …`, as the relay bench does) the
    // CommonJS source would run as ES module and die on `require` at once — putting
    // every checkpoint back on the event loop (the fallback below), inside a COMMIT.
    this.#worker = new Worker(options.workerSource ?? WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { path, driver, busyTimeoutMs, nice: CHECKPOINT_WORKER_NICE },
    });
    // The worker must never keep the process alive (a server that forgot close() still exits).
    this.#worker.unref();
    this.#worker.on('message', (r: CheckpointReply) => this.#done(r));
    this.#worker.on('error', (e) => this.#fail(e));
    this.#worker.on('exit', (code) => {
      this.#exited = true;
      if (this.#closing === null) this.#fail(new Error(`the checkpoint worker exited with code ${code}`));
    });
  }

  /** Checkpoint passes completed (for tests). */
  get passes(): number {
    return this.#passes;
  }

  /** Notes a commit: a checkpoint follows within the interval. */
  noteCommit(): void {
    this.#dirty = true;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#failed || this.#closing !== null || this.#inFlight || this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#failed || this.#closing !== null) return;
      this.#inFlight = true;
      this.#dirty = false;
      this.#worker.postMessage('checkpoint');
    }, WAL_CHECKPOINT_INTERVAL_MS);
    this.#timer.unref();
  }

  #done(r: CheckpointReply): void {
    this.#inFlight = false;
    if (!r.ok) {
      const failed = new Error('a checkpoint failed in the worker');
      return this.#fail(r.code === undefined ? failed : Object.assign(failed, { code: r.code }));
    }
    this.#passes++;
    // Frames left behind (committed during the pass, or held by a reader) need another pass.
    if ((r.checkpointed ?? 0) < (r.log ?? 0)) this.#dirty = true;
    if (this.#dirty) this.#schedule();
  }

  #fail(cause: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#onFailure(cause);
  }

  /** Stops the worker after its current pass; the main connection's close then checkpoints the rest. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
      if (this.#exited) return resolve();
      this.#worker.once('exit', () => resolve());
      // Hold the process open until the worker has exited: in a short-lived process (the
      // `bootstrap-token` command) nothing else may keep the event loop alive meanwhile.
      this.#worker.ref();
      // Messages are handled in order: a pass already posted finishes before 'close'.
      this.#worker.postMessage('close');
    });
    return this.#closing;
  }
}
