/**
 * The search indexer: the blind index is built after ingest commits, never inside it
 * (docs/search.md §2). Like the log integrator, every interval, for each org whose
 * integrated tree extends past its index, one transaction reads the log entries
 * `[indexed, min(treeSize, indexed + max))`, takes the archive-record ones, reads those
 * records' cleartext headers, groups their blind tokens and appends one posting block per
 * token (ids delta/varint-encoded), one row per record mapping its log index to the record,
 * and moves the high-water mark with a compare-and-set — all in that transaction.
 *
 * Invariants: the block of a pass is keyed by the pass's first log index, so a pass that
 * is re-run after a crash (nothing committed) writes exactly the same rows, and a pass can
 * never commit twice (the compare-and-set, and the primary key on (org, token, block)).
 * Only integrated entries are indexed, so every search hit has an inclusion proof.
 */
import { CustosError, decodeLogEntry, parseRecord } from '@custos/core';
import type { DeviceId, OrgId } from '../ids.js';
import type { Logger } from '../log/logger.js';
import type { NewIndexedRecord, PostingBlock, RecordToIndex } from '../store/search-stores.js';
import type { Stores } from '../store/stores.js';
import { PeriodicPass } from '../log-service/periodic-pass.js';
import { ACT_ENTRY_TYPES, reviewHook, type RecordForReview } from '../review/review-queue.js';
import type { AuditAct } from '../store/review-stores.js';
import { decodePostings, encodePostings } from './posting-codec.js';
import {
  DEFAULT_INDEX_INTERVAL_MS,
  DEFAULT_TAIL_BLOCK_ENTRIES,
  INDEX_CATCH_UP_DELAY_MS,
  MAX_ENTRIES_PER_INDEX_PASS,
} from './search-defaults.js';
import { errorCode } from '../log/error-code.js';

/** The stored archive contradicts its log; the indexer stops indexing that org. */
export class SearchIndexIntegrityError extends Error {
  override readonly name = 'SearchIndexIntegrityError';
}

/** What the indexer needs. */
export interface SearchIndexerOptions {
  readonly stores: Stores;
  readonly logger: Logger;
  readonly clock?: () => number;
  readonly intervalMs?: number;
  readonly maxEntriesPerPass?: number;
  /** Largest range a block grows to by small passes extending it. */
  readonly tailBlockEntries?: number;
}

/** One pass over one org: log indexes [from, to) examined, `records` of them indexed into `block`. */
export interface IndexPassOutcome {
  readonly orgId: OrgId;
  readonly from: number;
  readonly to: number;
  readonly block: number;
  readonly records: number;
  readonly tokens: number;
}

interface Ref {
  readonly logIndex: number;
  readonly deviceId: DeviceId;
  readonly seq: number;
  readonly hash: Uint8Array;
  readonly time: number;
}

/** Reads the records named by `refs` with one range query per run of consecutive sequence numbers. */
async function readRecords(
  tx: Stores,
  orgId: OrgId,
  refs: readonly Ref[],
): Promise<Map<string, RecordToIndex>> {
  const byDevice = new Map<DeviceId, number[]>();
  for (const r of refs) {
    let l = byDevice.get(r.deviceId);
    if (l === undefined) byDevice.set(r.deviceId, (l = []));
    l.push(r.seq);
  }
  const out = new Map<string, RecordToIndex>();
  for (const [deviceId, seqs] of byDevice) {
    seqs.sort((a, b) => a - b);
    let start = 0;
    for (let i = 1; i <= seqs.length; i++) {
      if (i < seqs.length && seqs[i] === seqs[i - 1]! + 1) continue;
      for (const rec of await tx.search.recordsToIndex(orgId, deviceId, seqs[start]!, seqs[i - 1]!)) {
        out.set(`${rec.deviceId}/${rec.seq}`, rec);
      }
      start = i;
    }
  }
  return out;
}

/**
 * Builds the index of log entries [from, to) of `orgId` using `tx` (the caller commits and
 * moves the mark). When `tail` is a block started at most `tailMax` entries before `to`, the
 * pass extends it — its tokens' rows are rewritten with the new ids appended — instead of
 * starting a block at `from`, so that small passes do not leave one row per token each.
 */
export async function indexRange(
  tx: Stores,
  orgId: OrgId,
  from: number,
  to: number,
  tail: number | null = null,
  tailMax: number = DEFAULT_TAIL_BLOCK_ENTRIES,
): Promise<IndexPassOutcome> {
  // Relay receipts (one per envelope, most of a messaging org's log) carry nothing to
  // index: the store leaves them out, by their mark, before anything is read into memory.
  const entries = await tx.log.entriesOtherThanReceipts(orgId, from, to);
  const refs: Ref[] = [];
  const acts: AuditAct[] = [];
  for (const { index, entry } of entries) {
    const e = decodeLogEntry(entry);
    if (e.type === 'archive-record') {
      refs.push({
        logIndex: index,
        deviceId: e.device as string as DeviceId,
        seq: e.seq,
        hash: e.hash,
        time: e.time,
      });
    } else if (ACT_ENTRY_TYPES.has(e.type)) {
      acts.push({ logIndex: index, at: e.time });
    }
  }
  const records = await readRecords(tx, orgId, refs);
  // Map keys are the tokens' bytes as latin1 text: one short string per distinct token.
  const postings = new Map<string, number[]>();
  const indexed: NewIndexedRecord[] = [];
  const forReview: RecordForReview[] = [];
  for (const ref of refs) {
    const rec = records.get(`${ref.deviceId}/${ref.seq}`);
    if (rec === undefined) {
      throw new SearchIndexIntegrityError(
        `log entry ${ref.logIndex} names an archive record that is not stored`,
      );
    }
    let tokens: readonly Uint8Array[];
    try {
      const h = parseRecord(rec.bytes).header;
      if (h.org !== (orgId as string) || h.device !== (ref.deviceId as string) || h.seq !== ref.seq) {
        throw new SearchIndexIntegrityError(
          `the record at log entry ${ref.logIndex} names another org, device or seq`,
        );
      }
      tokens = h.tokens;
    } catch (e) {
      if (e instanceof CustosError) {
        throw new SearchIndexIntegrityError(`the record at log entry ${ref.logIndex} does not parse`);
      }
      throw e;
    }
    for (const t of tokens) {
      const key = Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('latin1');
      let ids = postings.get(key);
      if (ids === undefined) postings.set(key, (ids = []));
      // Refs are in log order, so each list ascends.
      ids.push(ref.logIndex);
    }
    indexed.push({
      logIndex: ref.logIndex,
      deviceId: ref.deviceId,
      seq: ref.seq,
      bucketId: rec.bucketId,
      rowid: rec.rowid,
    });
    forReview.push({ ...ref, bucketId: rec.bucketId, tokens });
  }
  const block = tail !== null && tail <= from && to - tail <= tailMax ? tail : from;
  if (block !== from) {
    // Extending: every existing row of these tokens in the block holds only ids below `from`.
    const have = await tx.search.blockPostings(
      orgId,
      block,
      [...postings.keys()].map((k) => Buffer.from(k, 'latin1')),
    );
    for (const row of have) {
      const key = row.token.toString('latin1');
      const ids = decodePostings(row.ids, block, row.n);
      postings.set(key, ids.concat(postings.get(key) ?? []));
    }
  }
  const blocks: PostingBlock[] = [];
  for (const [key, ids] of postings) {
    blocks.push({ token: Buffer.from(key, 'latin1'), block, n: ids.length, ids: encodePostings(ids, block) });
  }
  await tx.search.putPostings(orgId, blocks);
  await tx.search.putIndexed(orgId, indexed);
  // Supervision review and the audit-act index ride on the same pass (review/review-queue.ts).
  await reviewHook(tx, orgId, forReview, acts);
  return { orgId, from, to, block, records: indexed.length, tokens: blocks.length };
}

/** Indexes integrated archive records into posting blocks, on a timer. */
export class SearchIndexer {
  readonly #o: SearchIndexerOptions;
  readonly #max: number;
  readonly #tailMax: number;
  readonly #runner: PeriodicPass<IndexPassOutcome[]>;
  /** Orgs whose stored archive contradicts the log: skipped until restart (logged once). */
  readonly #broken = new Set<OrgId>();

  constructor(options: SearchIndexerOptions) {
    this.#o = options;
    this.#max = options.maxEntriesPerPass ?? MAX_ENTRIES_PER_INDEX_PASS;
    this.#tailMax = options.tailBlockEntries ?? DEFAULT_TAIL_BLOCK_ENTRIES;
    this.#runner = new PeriodicPass({
      pass: () => this.#indexAll(),
      intervalMs: options.intervalMs ?? DEFAULT_INDEX_INTERVAL_MS,
      clock: options.clock ?? Date.now,
      onError: (e) => this.#o.logger.error('search-index-failed', { code: errorCode(e) }),
      // A full pass means a backlog: keep going at a short pause, not the interval.
      catchUp: {
        delayMs: INDEX_CATCH_UP_DELAY_MS,
        behind: (out) => out.some((o) => o.to - o.from >= this.#max),
      },
    });
  }

  /** Starts the timer; the first pass runs at once. */
  start(): void {
    this.#runner.start();
  }

  /** Stops the timer and waits for a running pass to commit. */
  stop(): Promise<void> {
    return this.#runner.stop();
  }

  /** One pass over every org with a backlog; passes never overlap. */
  indexAll(): Promise<IndexPassOutcome[]> {
    return this.#runner.run();
  }

  async #indexAll(): Promise<IndexPassOutcome[]> {
    const out: IndexPassOutcome[] = [];
    for (const b of await this.#o.stores.search.backlogs()) {
      if (this.#broken.has(b.orgId)) continue;
      try {
        const r = await this.indexOrg(b.orgId);
        if (r !== null) out.push(r);
      } catch (e) {
        if (!(e instanceof SearchIndexIntegrityError)) throw e;
        this.#broken.add(b.orgId);
        this.#o.logger.error('search-index-failed', { orgId: b.orgId, code: 'integrity' });
      }
    }
    return out;
  }

  /** Indexes the org's next range in one transaction; null when nothing is new or another node holds the lock. */
  async indexOrg(orgId: OrgId): Promise<IndexPassOutcome | null> {
    return this.#o.stores.withTransaction(async (tx) => {
      if (!(await tx.search.tryLockIndexer(orgId))) return null;
      const from = await tx.search.indexed(orgId);
      const tree = await tx.log.tree(orgId);
      const to = Math.min(tree?.size ?? 0, from + this.#max);
      if (to <= from) return null;
      const outcome = await indexRange(tx, orgId, from, to, await tx.search.tailBlock(orgId), this.#tailMax);
      // A block that is not yet full stays the tail the next pass may extend.
      const tail = to - outcome.block < this.#tailMax ? outcome.block : null;
      if (!(await tx.search.advance(orgId, from, to, tail))) {
        // Transient (another writer raced this pass): roll back and retry next pass.
        throw new Error('the search high-water mark moved under the indexer');
      }
      return outcome;
    });
  }
}
