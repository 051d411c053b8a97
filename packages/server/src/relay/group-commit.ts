/**
 * Group commit: relay writes (enqueues and acknowledgements) that arrive while a
 * transaction is running are gathered and committed together in the next one, so one
 * fsync (SQLite) or one COMMIT round trip (PostgreSQL) covers many requests. Each caller
 * still learns its own outcome, only once the commit that holds its writes is durable; a
 * job's after-commit work (the relay's pushes to recipient sockets) runs at the commit
 * itself, before its WAL sync.
 *
 * Job contract: a job that throws a ServerError has written nothing (it validates before
 * it writes), and the batch carries on. A job that fails after writing wraps the error in
 * `AbortJob`; the batch is rolled back and run again without that job. A flush that finds
 * another API node committed a row this batch's prepare did not see (the same new
 * idempotency key, admitted by both) throws `RetryBatch`: the batch is rolled back and run
 * once more, its prepare reading afresh. Anything else rolls the batch back and fails every
 * job in it.
 *
 * The relay runs thousands of jobs a second through here, so a batch keeps its jobs'
 * bookkeeping in a few shared arrays (one context object per batch attempt, not a map and
 * closures per job), and a job that needs no store read returns its value without a promise.
 */
import { isServerError, ServerError } from '../errors.js';
import type { Stores } from '../store/stores.js';

/** What a job may do besides writing. */
export interface CommitContext<Key, Item, View> {
  /**
   * What the batch's `prepare` read for all its jobs at once (null when the batch has no
   * prepare or no job declared a meta). A job may update it only once nothing can make it
   * fail any more: later jobs of the batch see the update.
   */
  readonly view: View | null;
  /**
   * Runs `fn` once the job's batch has committed — on SQLite before that commit is durable
   * (Stores.withTransaction's `onCommitted`: the job's answer still waits for its WAL sync).
   * For work that may go out before durability, such as pushing a committed envelope to
   * its recipient's socket; `fn` must not throw.
   */
  afterCommit(fn: () => void): void;
  /**
   * Adds an item for the batch's flush, which writes everything collected under each key
   * once, at the end of the batch, in the same transaction (one log append per org per
   * batch). Items of a job that fails are dropped again.
   */
  collect(key: Key, item: Item): void;
}

/** Writes what the batch's jobs collected; a throw rolls back the whole batch and fails every job in it. */
export type BatchFlush<Key, Item> = (
  tx: Stores,
  collected: ReadonlyMap<Key, readonly Item[]>,
) => Promise<void>;

/**
 * Reads made once for a whole batch before its jobs run (one query for many jobs instead of
 * one each): `metas` are what the batch's jobs declared; the result is the jobs' `ctx.view`.
 * A throw fails every job of the batch.
 */
export type BatchPrepare<Meta, View> = (tx: Stores, metas: readonly Meta[]) => Promise<View>;

/**
 * A unit of work inside a shared transaction. It may return its value directly when it
 * needs no store read (everything it checks is in the batch's view): no promise per job.
 */
export type CommitJob<T, Key, Item, View> = (
  tx: Stores,
  ctx: CommitContext<Key, Item, View>,
) => T | Promise<T>;

/** Thrown by a job that failed after writing: its batch must be rolled back and retried without it. */
export class AbortJob extends Error {
  override readonly name = 'AbortJob';
  constructor(readonly reason: unknown) {
    super('job aborted after writing', { cause: reason });
  }
}

/**
 * Thrown by a flush whose batch lost a race to another API node's commit (PostgreSQL: a row
 * its prepare read as absent was inserted and committed meanwhile). The batch is rolled back
 * and run again once with a fresh prepare, which sees the committed row; a second loss fails
 * every job of the batch with UNAVAILABLE (retry).
 */
export class RetryBatch extends Error {
  override readonly name = 'RetryBatch';
}

/**
 * PostgreSQL's SQLSTATEs for a transaction it chose to abort so that another could go on
 * (`deadlock_detected`, `serialization_failure`): nothing of the batch was kept, and running
 * it again is what the server asks for. Retried like {@link RetryBatch}.
 */
const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set(['40P01', '40001']);

/** Whether a failed attempt may simply be run again: a lost race or a transaction PostgreSQL aborted. */
function isRetryable(e: unknown): boolean {
  if (e instanceof RetryBatch) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code);
}

interface Pending<Key, Item, Meta, View> {
  readonly job: CommitJob<unknown, Key, Item, View>;
  readonly meta: Meta | undefined;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

/** An item added to a batch's flush without a job of its own (see GroupCommitter.fold). */
interface Folded<Key, Item> {
  readonly key: Key;
  readonly item: Item;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/**
 * What the jobs of one attempt produced, job by job: `values[i]`, or `errors[i]` when set
 * (a ServerError: the job refused and wrote nothing), and its after-commit callbacks
 * `after[afterEnd[i - 1] … afterEnd[i])`.
 */
interface Outcomes {
  readonly values: unknown[];
  readonly errors: unknown[];
  readonly after: (() => void)[];
  readonly afterEnd: number[];
}

/**
 * Runs the after-commit work of every job that succeeded, in job order. The batch has
 * committed whatever that work does: a callback that throws (a fault, never expected) is
 * reported as a process warning and the others still run, so neither the answers nor the
 * store's record of the commit are lost to it.
 */
function runAfterCommit(out: Outcomes): void {
  let a = 0;
  for (let i = 0; i < out.afterEnd.length; i++) {
    const end = out.afterEnd[i]!;
    if (out.errors[i] === undefined)
      for (; a < end; a++) {
        try {
          out.after[a]!();
        } catch (e) {
          process.emitWarning(e instanceof Error ? e : String(e), 'CustosAfterCommitWarning');
        }
      }
    a = end;
  }
}

class BatchAbort extends Error {
  constructor(
    readonly index: number,
    readonly reason: unknown,
  ) {
    super('batch aborted by a job');
  }
}

/**
 * The context of one batch attempt, shared by its jobs in turn. What the running job
 * collects goes straight into the batch's lists; the lengths it found them at are noted
 * on first touch, so a job that refuses can be taken out again (`undo`).
 */
class BatchContext<Key, Item, View> implements CommitContext<Key, Item, View> {
  readonly collected = new Map<Key, Item[]>();
  readonly after: (() => void)[] = [];
  private readonly touched: Item[][] = [];
  private readonly touchedAt: number[] = [];

  constructor(readonly view: View | null) {}

  afterCommit(fn: () => void): void {
    this.after.push(fn);
  }

  collect(key: Key, item: Item): void {
    let list = this.collected.get(key);
    if (list === undefined) {
      list = [];
      this.collected.set(key, list);
    }
    if (!this.touched.includes(list)) {
      this.touched.push(list);
      this.touchedAt.push(list.length);
    }
    list.push(item);
  }

  /** Starts a job: what it adds from now on is its own. */
  begin(): number {
    this.touched.length = 0;
    this.touchedAt.length = 0;
    return this.after.length;
  }

  /** Takes out what the running job added (it refused: nothing of it is kept). */
  undo(afterStart: number): void {
    for (let i = 0; i < this.touched.length; i++) this.touched[i]!.length = this.touchedAt[i]!;
    this.after.length = afterStart;
  }
}

/** Runs jobs in shared transactions, at most `maxBatch` per transaction. */
export class GroupCommitter<Key = string, Item = Uint8Array, Meta = never, View = never> {
  private queue: Pending<Key, Item, Meta, View>[] = [];
  private folded: Folded<Key, Item>[] = [];
  private running = false;
  /** Batches written but not yet settled (durable and answered); pipelined mode only. */
  private unsettled = 0;
  /** Settles once the last started batch has handed out its outcomes: later batches wait for it. */
  private lastSettled: Promise<void> = Promise.resolve();

  /**
   * `pipelined`: start the next batch as soon as the previous one's transaction is written,
   * while its durability (the SQLite WAL sync) is still pending — only for a store whose
   * transactions run one after another on one connection (SQLite), so the next batch reads
   * what the previous one wrote and commits after it. Answers still wait for their own
   * batch's durability, and go out in batch order.
   */
  constructor(
    private readonly stores: Stores,
    private readonly maxBatch: number,
    private readonly flush: BatchFlush<Key, Item> = async () => undefined,
    private readonly prepare: BatchPrepare<Meta, View> | null = null,
    private readonly pipelined = false,
  ) {}

  /**
   * Runs `job` in the next batch; resolves with its result once that batch has committed.
   * `meta` goes to the batch's `prepare`.
   */
  run<T>(job: CommitJob<T, Key, Item, View>, meta?: Meta): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ job, meta, resolve: resolve as (v: unknown) => void, reject });
      this.kick();
    });
  }

  /**
   * Adds `item` under `key` to the next batch's flush, as a job's `ctx.collect` would, but
   * without a job: nothing to check, nothing to answer but the commit. Resolves once that
   * batch has committed; rejects if it failed. (Acknowledgements: one delete per batch.)
   */
  fold(key: Key, item: Item): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.folded.push({ key, item, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (!this.running) {
      this.running = true;
      // Let the current tick's other requests join the first batch.
      setImmediate(() => void this.drain());
    }
  }

  /** Settles when everything queued so far has committed or failed. */
  async idle(): Promise<void> {
    while (this.running || this.unsettled > 0 || this.queue.length > 0 || this.folded.length > 0)
      await new Promise((r) => setImmediate(r));
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 || this.folded.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        const folded = this.folded.splice(0, this.maxBatch);
        if (!this.pipelined) {
          await this.runBatch(batch, folded, null, this.lastSettled);
          continue;
        }
        let written!: () => void;
        const wrote = new Promise<void>((r) => (written = r));
        const settled = this.runBatch(batch, folded, written, this.lastSettled);
        this.lastSettled = settled;
        this.unsettled++;
        const done = (): void => void this.unsettled--;
        settled.then(done, done);
        await Promise.race([wrote, settled]);
        // Let the frames that arrived meanwhile queue their jobs for the next batch.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.running = false;
    }
  }

  /** Runs a batch to its outcome, again without each job that aborts after writing. */
  private async runBatch(
    batch: readonly Pending<Key, Item, Meta, View>[],
    folded: readonly Folded<Key, Item>[],
    written: (() => void) | null,
    before: Promise<void>,
  ): Promise<void> {
    let retried = false;
    for (;;) {
      const outcome = await this.attempt(batch, folded, written, before, !retried);
      if (outcome.kind === 'done') return;
      if (outcome.kind === 'retry') {
        retried = true;
        continue;
      }
      // One job failed after writing: it gets its error, the others run again.
      const failed = batch[outcome.index];
      failed?.reject(outcome.reason);
      batch = batch.filter((_, i) => i !== outcome.index);
    }
  }

  /** The batch's jobs and folds, run inside `tx`: their outcomes, or a BatchAbort. */
  private async runJobs(
    tx: Stores,
    batch: readonly Pending<Key, Item, Meta, View>[],
    folded: readonly Folded<Key, Item>[],
  ): Promise<Outcomes> {
    let view: View | null = null;
    if (this.prepare !== null) {
      const metas: Meta[] = [];
      for (const p of batch) if (p.meta !== undefined) metas.push(p.meta);
      if (metas.length > 0) view = await this.prepare(tx, metas);
    }
    const ctx = new BatchContext<Key, Item, View>(view);
    for (const f of folded) ctx.collect(f.key, f.item);
    const out: Outcomes = { values: [], errors: [], after: ctx.after, afterEnd: [] };
    for (let i = 0; i < batch.length; i++) {
      const afterStart = ctx.begin();
      try {
        let value = batch[i]!.job(tx, ctx);
        if (value instanceof Promise) value = await value;
        out.values.push(value);
        out.errors.push(undefined);
      } catch (e) {
        if (e instanceof AbortJob) throw new BatchAbort(i, e.reason);
        if (!isServerError(e)) throw e;
        // Only a job that succeeded contributes to the flush and the after-commit work.
        ctx.undo(afterStart);
        out.values.push(undefined);
        out.errors.push(e);
      }
      out.afterEnd.push(ctx.after.length);
    }
    // A key only refused jobs collected under is left empty: the flush never sees it.
    for (const [key, items] of ctx.collected) if (items.length === 0) ctx.collected.delete(key);
    if (ctx.collected.size > 0) await this.flush(tx, ctx.collected);
    return out;
  }

  /**
   * One try of a batch: `written` is called once its transaction has done everything but
   * commit; its outcomes are handed out only after `before` (the previous batch's) settled.
   * `mayRetry`: a RetryBatch from the flush, or a deadlock or serialization failure PostgreSQL
   * aborted the transaction with, asks for another attempt instead of failing the batch.
   */
  private async attempt(
    batch: readonly Pending<Key, Item, Meta, View>[],
    folded: readonly Folded<Key, Item>[],
    written: (() => void) | null,
    before: Promise<void>,
    mayRetry: boolean,
  ): Promise<{ kind: 'done' } | { kind: 'retry' } | { kind: 'abort'; index: number; reason: unknown }> {
    let out: Outcomes;
    let ran: Outcomes | null = null;
    try {
      out = await this.stores.withTransaction(
        async (tx) => {
          ran = await this.runJobs(tx, batch, folded);
          written?.();
          return ran;
        },
        // Committed: the jobs' after-commit work runs now, in commit order (one connection
        // commits batches one after another; on PostgreSQL a batch starts only after the
        // last one committed), while on SQLite the commit's WAL sync is still to come.
        () => runAfterCommit(ran!),
      );
    } catch (e) {
      if (e instanceof BatchAbort) return { kind: 'abort', index: e.index, reason: e.reason };
      if (isRetryable(e) && mayRetry) return { kind: 'retry' };
      const reason = isRetryable(e)
        ? new ServerError('UNAVAILABLE', 'lost a race with another API node twice; retry', { cause: e })
        : e;
      await before.catch(() => undefined);
      for (const p of batch) p.reject(reason);
      for (const f of folded) f.reject(reason);
      return { kind: 'done' };
    }
    // Answers in commit order, each once its own commit is durable.
    await before.catch(() => undefined);
    for (const f of folded) f.resolve();
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      if (out.errors[i] !== undefined) p.reject(out.errors[i]);
      else p.resolve(out.values[i]);
    }
    return { kind: 'done' };
  }
}
