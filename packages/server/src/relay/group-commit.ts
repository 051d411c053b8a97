/**
 * Group commit: relay writes (enqueues and acknowledgements) that arrive while a
 * transaction is running are gathered and committed together in the next one, so one
 * fsync (SQLite) or one COMMIT round trip (PostgreSQL) covers many requests. Each caller
 * still learns its own outcome, only after the commit that holds its writes.
 *
 * Job contract: a job that throws a ServerError has written nothing (it validates before
 * it writes), and the batch carries on. A job that fails after writing wraps the error in
 * `AbortJob`; the batch is rolled back and run again without that job. Anything else
 * rolls the batch back and fails every job in it.
 */
import { isServerError } from '../errors.js';
import type { Stores } from '../store/stores.js';

/** What a job may do besides writing. */
export interface CommitContext<Item = Uint8Array> {
  /** Runs `fn` after the job's batch has committed. */
  afterCommit(fn: () => void): void;
  /**
   * Adds entries for the batch's flush, which writes everything collected under each key
   * once, at the end of the batch, in the same transaction (one log append per org per batch).
   */
  collect(key: string, entries: readonly Item[]): void;
  /**
   * A value shared by the jobs of one batch attempt (read once per batch, e.g. a device's
   * revocation state): `init` runs on the first call with `key`, later calls get its result.
   * A job may update a shared value only once nothing can make it fail any more.
   */
  shared<T>(key: string, init: () => Promise<T>): Promise<T>;
}

/** Writes what the batch's jobs collected; a throw rolls back the whole batch and fails every job in it. */
export type BatchFlush<Item = Uint8Array> = (
  tx: Stores,
  collected: ReadonlyMap<string, readonly Item[]>,
) => Promise<void>;

/**
 * Reads made once for a whole batch before its jobs run (one query for many jobs instead of
 * one each): `metas` are what the batch's jobs declared, and `prime(key, value)` makes value
 * the result of the jobs' `ctx.shared(key, …)`. A throw fails every job of the batch.
 */
export type BatchPrepare<Meta> = (
  tx: Stores,
  metas: readonly Meta[],
  prime: (key: string, value: unknown) => void,
) => Promise<void>;

/** A unit of work inside a shared transaction. */
export type CommitJob<T, Item = Uint8Array> = (tx: Stores, ctx: CommitContext<Item>) => Promise<T>;

/** Thrown by a job that failed after writing: its batch must be rolled back and retried without it. */
export class AbortJob extends Error {
  override readonly name = 'AbortJob';
  constructor(readonly reason: unknown) {
    super('job aborted after writing', { cause: reason });
  }
}

interface Pending<Item, Meta> {
  readonly job: CommitJob<unknown, Item>;
  readonly meta: Meta | undefined;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

/** Items added to a batch's flush without a job of their own (see GroupCommitter.fold). */
interface Folded<Item> {
  readonly key: string;
  readonly items: readonly Item[];
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown; after: (() => void)[] } | { ok: false; error: unknown };

class BatchAbort extends Error {
  constructor(
    readonly index: number,
    readonly reason: unknown,
  ) {
    super('batch aborted by a job');
  }
}

/** Runs jobs in shared transactions, at most `maxBatch` per transaction. */
export class GroupCommitter<Item = Uint8Array, Meta = never> {
  private queue: Pending<Item, Meta>[] = [];
  private folded: Folded<Item>[] = [];
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
    private readonly flush: BatchFlush<Item> = async () => undefined,
    private readonly prepare: BatchPrepare<Meta> | null = null,
    private readonly pipelined = false,
  ) {}

  /**
   * Runs `job` in the next batch; resolves with its result once that batch has committed.
   * `meta` goes to the batch's `prepare`.
   */
  run<T>(job: CommitJob<T, Item>, meta?: Meta): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ job, meta, resolve: resolve as (v: unknown) => void, reject });
      this.kick();
    });
  }

  /**
   * Adds `items` under `key` to the next batch's flush, as a job's `ctx.collect` would, but
   * without a job: nothing to check, nothing to answer but the commit. Resolves once that
   * batch has committed; rejects if it failed. (Acknowledgements: one delete per batch.)
   */
  fold(key: string, items: readonly Item[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.folded.push({ key, items, resolve, reject });
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
    batch: readonly Pending<Item, Meta>[],
    folded: readonly Folded<Item>[],
    written: (() => void) | null,
    before: Promise<void>,
  ): Promise<void> {
    for (;;) {
      const outcome = await this.attempt(batch, folded, written, before);
      if (outcome.kind === 'done') return;
      // One job failed after writing: it gets its error, the others run again.
      const failed = batch[outcome.index];
      failed?.reject(outcome.reason);
      batch = batch.filter((_, i) => i !== outcome.index);
    }
  }

  /**
   * One try of a batch: `written` is called once its transaction has done everything but
   * commit; its outcomes are handed out only after `before` (the previous batch's) settled.
   */
  private async attempt(
    batch: readonly Pending<Item, Meta>[],
    folded: readonly Folded<Item>[],
    written: (() => void) | null,
    before: Promise<void>,
  ): Promise<{ kind: 'done' } | { kind: 'abort'; index: number; reason: unknown }> {
    let outcomes: Outcome[];
    try {
      outcomes = await this.stores.withTransaction(async (tx) => {
        const out: Outcome[] = [];
        const collected = new Map<string, Item[]>();
        for (const f of folded) {
          const all = collected.get(f.key);
          if (all === undefined) collected.set(f.key, [...f.items]);
          else for (const item of f.items) all.push(item);
        }
        const sharedValues = new Map<string, Promise<unknown>>();
        const shared = <T>(key: string, init: () => Promise<T>): Promise<T> => {
          let v = sharedValues.get(key);
          if (v === undefined) {
            v = init();
            sharedValues.set(key, v);
          }
          return v as Promise<T>;
        };
        if (this.prepare !== null) {
          const metas: Meta[] = [];
          for (const p of batch) if (p.meta !== undefined) metas.push(p.meta);
          if (metas.length > 0)
            await this.prepare(tx, metas, (key, value) => sharedValues.set(key, Promise.resolve(value)));
        }
        for (let i = 0; i < batch.length; i++) {
          const after: (() => void)[] = [];
          const mine = new Map<string, Item[]>();
          const ctx: CommitContext<Item> = {
            afterCommit: (fn) => after.push(fn),
            collect: (key, entries) => {
              const list = mine.get(key);
              if (list === undefined) mine.set(key, [...entries]);
              else list.push(...entries);
            },
            shared,
          };
          try {
            const value = await batch[i]!.job(tx, ctx);
            // Only a job that succeeded contributes to the flush.
            for (const [k, v] of mine) {
              const all = collected.get(k);
              if (all === undefined) collected.set(k, [...v]);
              else all.push(...v);
            }
            out.push({ ok: true, value, after });
          } catch (e) {
            if (e instanceof AbortJob) {
              throw new BatchAbort(i, e.reason);
            }
            if (!isServerError(e)) throw e;
            out.push({ ok: false, error: e });
          }
        }
        if (collected.size > 0) await this.flush(tx, collected);
        written?.();
        return out;
      });
    } catch (e) {
      if (e instanceof BatchAbort) return { kind: 'abort', index: e.index, reason: e.reason };
      await before.catch(() => undefined);
      for (const p of batch) p.reject(e);
      for (const f of folded) f.reject(e);
      return { kind: 'done' };
    }
    // Commit order: a device's envelopes of two batches reach its socket in queue order.
    await before.catch(() => undefined);
    for (const f of folded) f.resolve();
    outcomes.forEach((o, i) => {
      const p = batch[i]!;
      if (o.ok) {
        for (const fn of o.after) fn();
        p.resolve(o.value);
      } else p.reject(o.error);
    });
    return { kind: 'done' };
  }
}
