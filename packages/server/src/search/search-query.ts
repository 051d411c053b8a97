/**
 * Answering a blind search from the posting blocks (docs/search.md §3): read the block list
 * of every query token, keep the blocks where every `allOf` token and some token of each
 * `anyOf` group occur, then decode those blocks newest first — one block, then two, four…
 * — intersecting per block until one more hit than the page is found. Results are log
 * indexes, newest first; the cursor is the last one returned (exclusive).
 */
import type { DeviceId, OrgId } from '../ids.js';
import type { BlockRef, PostingBlock, StoredArchiveRecord } from '../store/search-stores.js';
import type { Stores } from '../store/stores.js';
import { decodePostings, markPresent, unionSorted } from './posting-codec.js';
import { BLOCKS_PER_READ } from './search-defaults.js';

/** A search as the server runs it: 16-byte tokens only, never their meaning. */
export interface SearchQuery {
  /** Tokens every hit carries (1–32). */
  readonly allOf: readonly Uint8Array[];
  /** Groups of which every hit carries at least one token each (a date range's day and month tokens). */
  readonly anyOf: readonly (readonly Uint8Array[])[];
  readonly bucketId?: string;
  readonly deviceId?: DeviceId;
  readonly limit: number;
  /** Only hits with a log index below this (the previous page's cursor); null: from the newest. */
  readonly before: number | null;
}

/** One page of hits, newest first, and the cursor of the next page (null on the last). */
export interface SearchPage {
  readonly hits: readonly StoredArchiveRecord[];
  readonly next: number | null;
}

const keyOf = (t: Uint8Array): string => Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('latin1');

/** The candidate blocks (descending) where the query can match at all. */
function candidateBlocks(
  allOf: readonly string[],
  anyOf: readonly (readonly string[])[],
  refs: ReadonlyMap<string, readonly BlockRef[]>,
): number[] {
  let blocks: Set<number> | null = null;
  const narrow = (have: Set<number>): void => {
    blocks = blocks === null ? have : new Set([...blocks].filter((b) => have.has(b)));
  };
  // Rarest token first keeps the working set small.
  const order = [...allOf].sort((a, b) => (refs.get(a)?.length ?? 0) - (refs.get(b)?.length ?? 0));
  for (const t of order) narrow(new Set((refs.get(t) ?? []).map((r) => r.block)));
  for (const group of anyOf) {
    const have = new Set<number>();
    for (const t of group) for (const r of refs.get(t) ?? []) have.add(r.block);
    narrow(have);
  }
  const out: number[] = [...((blocks as Set<number> | null) ?? new Set<number>())];
  return out.sort((a, b) => b - a);
}

/** Keeps the candidates whose `marks` are set (in place, order kept); the new count. */
function compact(cands: number[], marks: Uint8Array): number {
  let k = 0;
  for (let i = 0; i < cands.length; i++) if (marks[i] === 1) cands[k++] = cands[i]!;
  cands.length = k;
  return k;
}

/**
 * The hits of one block, newest first: the rarest `allOf` token's ids in the block (below
 * `before`) are decoded, then every other token's row is streamed once to keep only the
 * candidates it holds (no id list of a common token is built), then each `anyOf` group keeps
 * the candidates some token of it holds.
 */
function blockHits(
  block: number,
  allOf: readonly string[],
  anyOf: readonly (readonly string[])[],
  rowsOf: ReadonlyMap<string, PostingBlock>,
  before: number | null,
): number[] {
  const all: PostingBlock[] = [];
  for (const t of allOf) {
    const r = rowsOf.get(`${block}/${t}`);
    if (r === undefined) return [];
    all.push(r);
  }
  let cands: number[];
  let rest: PostingBlock[];
  if (all.length > 0) {
    let rarest = 0;
    for (let i = 1; i < all.length; i++) if (all[i]!.n < all[rarest]!.n) rarest = i;
    const r = all[rarest]!;
    cands = decodePostings(r.ids, r.block, r.n);
    rest = all.filter((_, i) => i !== rarest);
  } else {
    // No AND'ed token: the first group's union is the candidate set.
    const first = anyOf[0] ?? [];
    cands = unionSorted(
      first.flatMap((t) => {
        const r = rowsOf.get(`${block}/${t}`);
        return r === undefined ? [] : [decodePostings(r.ids, r.block, r.n)];
      }),
    );
    rest = [];
  }
  if (before !== null) {
    let k = cands.length;
    while (k > 0 && cands[k - 1]! >= before) k--;
    cands.length = k;
  }
  for (const r of rest) {
    if (cands.length === 0) return [];
    const marks = new Uint8Array(cands.length);
    markPresent(r.ids, r.block, r.n, cands, cands.length, marks);
    compact(cands, marks);
  }
  for (const group of all.length > 0 ? anyOf : anyOf.slice(1)) {
    if (cands.length === 0) return [];
    const marks = new Uint8Array(cands.length);
    for (const t of group) {
      const r = rowsOf.get(`${block}/${t}`);
      if (r !== undefined) markPresent(r.ids, r.block, r.n, cands, cands.length, marks);
    }
    compact(cands, marks);
  }
  return cands.reverse();
}

/** Runs `q` over `orgId`'s index. Every read filters on the org, so another org's rows cannot match. */
export async function runSearch(stores: Stores, orgId: OrgId, q: SearchQuery): Promise<SearchPage> {
  const tokens = new Map<string, Uint8Array>();
  for (const t of [...q.allOf, ...q.anyOf.flat()]) tokens.set(keyOf(t), t);
  const refs = new Map<string, BlockRef[]>();
  for (const [k, t] of tokens) refs.set(k, await stores.search.blockRefs(orgId, t, q.before));
  const allOf = [...new Set(q.allOf.map(keyOf))];
  const anyOf = q.anyOf.map((g) => [...new Set(g.map(keyOf))]);
  const blocks = candidateBlocks(allOf, anyOf, refs);
  const presentIn = new Map<string, Set<number>>();
  for (const [k, r] of refs) presentIn.set(k, new Set(r.map((x) => x.block)));

  const want = q.limit + 1;
  const hits: number[] = [];
  let at = 0;
  let step = 1;
  while (at < blocks.length && hits.length < want) {
    const chunk = blocks.slice(at, at + step);
    at += chunk.length;
    step = Math.min(step * 2, BLOCKS_PER_READ);
    // Only tokens with a block in this chunk are read (a date group may name hundreds).
    const needed = [...tokens].filter(([k]) => chunk.some((b) => presentIn.get(k)?.has(b) === true));
    const rows = await stores.search.postings(
      orgId,
      needed.map(([, t]) => t),
      chunk,
    );
    const rowsOf = new Map<string, PostingBlock>(); // `${block}/${token}` → row
    for (const r of rows) rowsOf.set(`${r.block}/${keyOf(r.token)}`, r);
    for (const block of chunk) {
      let ids = blockHits(block, allOf, anyOf, rowsOf, q.before);
      if (q.bucketId !== undefined || q.deviceId !== undefined)
        ids = await filterRecords(stores, orgId, ids, q, want - hits.length);
      for (const id of ids) {
        if (hits.length >= want) break;
        hits.push(id);
      }
      if (hits.length >= want) break;
    }
  }
  const page = hits.slice(0, q.limit);
  const records = await stores.search.recordsAt(orgId, page);
  records.sort((a, b) => b.logIndex - a.logIndex);
  return { hits: records, next: hits.length > q.limit ? page[page.length - 1]! : null };
}

/** Keeps the ids (descending) whose records match the bucket and device filters, stopping after `enough`. */
async function filterRecords(
  stores: Stores,
  orgId: OrgId,
  ids: readonly number[],
  q: SearchQuery,
  enough: number,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < ids.length && out.length < enough; i += 500) {
    const part = ids.slice(i, i + 500);
    const rows = new Map((await stores.search.indexedRecords(orgId, part)).map((r) => [r.logIndex, r]));
    for (const id of part) {
      const r = rows.get(id);
      if (r === undefined) continue;
      if (q.bucketId !== undefined && r.bucketId !== q.bucketId) continue;
      if (q.deviceId !== undefined && r.deviceId !== q.deviceId) continue;
      out.push(id);
    }
  }
  return out;
}

/** One bucket of a search over several: its own tokens (each bucket has its own index key). */
export interface BucketSearch {
  readonly bucketId: string;
  /** Tokens every hit carries (1–32). */
  readonly allOf: readonly Uint8Array[];
  /** Groups of which every hit carries at least one token each. */
  readonly anyOf: readonly (readonly Uint8Array[])[];
}

/** Where a search over several buckets goes on: a bucket, and the log index below which to go on in it (null: its newest). */
export interface BucketPosition {
  readonly bucketId: string;
  readonly before: number | null;
}

/** A search over several buckets, in the order given (newest bucket first), from `start`. */
export interface BucketsQuery {
  readonly buckets: readonly BucketSearch[];
  readonly deviceId?: DeviceId;
  readonly limit: number;
  /** Index into `buckets` of the first bucket searched, and the position in it. */
  readonly start: number;
  readonly before: number | null;
}

/** One page of a search over several buckets: hits bucket by bucket, and where the next page starts. */
export interface BucketsPage {
  readonly hits: readonly StoredArchiveRecord[];
  readonly next: BucketPosition | null;
}

/**
 * Runs `q` bucket by bucket: each bucket's hits (newest first) fill the page before the next
 * bucket is read, so a page costs at most one single-bucket search per bucket named. A page
 * that fills exactly at a bucket's end points at the next bucket's newest record (that page
 * may be empty): looking ahead would read the next bucket for nothing when the caller stops.
 */
export async function runBucketsSearch(stores: Stores, orgId: OrgId, q: BucketsQuery): Promise<BucketsPage> {
  const hits: StoredArchiveRecord[] = [];
  for (let i = q.start; i < q.buckets.length; i++) {
    const b = q.buckets[i]!;
    const page = await runSearch(stores, orgId, {
      allOf: b.allOf,
      anyOf: b.anyOf,
      bucketId: b.bucketId,
      ...(q.deviceId === undefined ? {} : { deviceId: q.deviceId }),
      limit: q.limit - hits.length,
      before: i === q.start ? q.before : null,
    });
    hits.push(...page.hits);
    if (page.next !== null) return { hits, next: { bucketId: b.bucketId, before: page.next } };
    if (hits.length >= q.limit) {
      const following = q.buckets[i + 1];
      return { hits, next: following === undefined ? null : { bucketId: following.bucketId, before: null } };
    }
  }
  return { hits, next: null };
}
