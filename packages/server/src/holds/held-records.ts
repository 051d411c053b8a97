/**
 * Which archive records legal holds cover: the one question retention and disposition ask
 * before destroying anything (docs/officers.md "Legal holds", /work/notes/holds-interface.md).
 *
 * Contract (stable; changes are announced in the notes file):
 * - Call inside the transaction that will delete or expire records, with that transaction's
 *   stores. The function first takes the org's hold lock (PostgreSQL: a transaction-scoped
 *   advisory lock that hold creation and release also take; SQLite has one writer), so a
 *   hold cannot be placed between this read and the deletion's commit.
 * - The answer is conservative: a record is reported held whenever an active hold covers it
 *   or the server cannot yet tell (a token hold names the bucket and the record is not yet
 *   in the search index). Over-holding delays destruction; under-holding would be spoliation.
 * - Only active (unreleased) holds count. Every query filters on `orgId`.
 */
import { DATE_HOLD_LATE_UPLOAD_MS, DATE_HOLD_LEAD_MS } from '@custos/core';
import type { DeviceId, OrgId, UserId } from '../ids.js';
import { decodePostings, intersectSorted } from '../search/posting-codec.js';
import type { Stores } from '../store/stores.js';

/** A hold's id (random, unpadded base64url, like every server id). */
export type HoldRef = string;

/** A held record: its archive key (org, device, seq), its log index and the holds covering it. */
export interface HeldRecord {
  readonly deviceId: DeviceId;
  readonly seq: number;
  readonly logIndex: number;
  /** Ids of the active holds that cover it (for a not-yet-indexed record: the token holds naming its bucket). */
  readonly holdIds: readonly HoldRef[];
}

/** What the per-record predicate needs to know about a record (all in `archive_records`). */
export interface RecordFacts {
  readonly deviceId: DeviceId;
  readonly logIndex: number;
  readonly receivedAt: number;
}

/** The active holds bearing on one bucket, as a predicate over that bucket's records. */
export interface BucketHolds {
  /** Ids of the active holds that can cover records of the bucket (empty: nothing in it is held). */
  readonly holdIds: readonly HoldRef[];
  /** True when a record of this bucket is held (or cannot yet be ruled out). */
  isHeld(record: RecordFacts): boolean;
}

/** The date-hold margins (core date-hold-margins.ts, which the officer's console reads too). */
export { DATE_HOLD_LATE_UPLOAD_MS, DATE_HOLD_LEAD_MS };
/** Devices read per page when resolving a custodian. */
const DEVICE_PAGE = 500;
/** Log indexes per indexed-record read. */
const INDEXED_READ = 1_000;

/** The resolved criteria of every active hold bearing on one bucket. */
interface BucketCriteria {
  readonly holdIds: HoldRef[];
  /** Custodian devices → the holds naming their users. */
  readonly devices: Map<DeviceId, HoldRef[]>;
  /** Received-time ranges [from, to) with their hold. */
  readonly received: { from: number; to: number; holdId: HoldRef }[];
  /** Token-matched log indexes (in this bucket) → their holds. */
  readonly tokenHits: Map<number, HoldRef[]>;
  /** Token holds naming the bucket; with `indexed`, they cover every record not yet indexed. */
  readonly tokenHolds: HoldRef[];
  /** The org's search high-water mark: records at or above it are not yet indexed. */
  readonly indexed: number;
}

const push = <K>(m: Map<K, HoldRef[]>, k: K, v: HoldRef): void => {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else if (!list.includes(v)) list.push(v);
};

/** Every device (revoked ones too) that ever belonged to `userId`. */
async function devicesOf(tx: Stores, orgId: OrgId, userId: UserId): Promise<DeviceId[]> {
  const out: DeviceId[] = [];
  for (let after: DeviceId | null = null; ;) {
    const page = await tx.devices.list(orgId, { after, limit: DEVICE_PAGE }, userId);
    for (const d of page) out.push(d.deviceId);
    if (page.length < DEVICE_PAGE) return out;
    after = page[page.length - 1]!.deviceId;
  }
}

const keyOf = (t: Uint8Array): string => Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('hex');

/** Log indexes (ascending) of records in `bucketId` whose postings carry every token. */
async function tokenMatches(
  tx: Stores,
  orgId: OrgId,
  bucketId: string,
  tokens: readonly Uint8Array[],
): Promise<number[]> {
  if (tokens.length === 0) return [];
  let blocks: number[] | undefined;
  for (const t of tokens) {
    const have = new Set((await tx.search.blockRefs(orgId, t, null)).map((r) => r.block));
    blocks = blocks === undefined ? [...have] : blocks.filter((b) => have.has(b));
    if (blocks.length === 0) return [];
  }
  const rows = await tx.search.postings(orgId, tokens, blocks ?? []);
  const lists = new Map<number, Map<string, number[]>>();
  for (const r of rows) {
    const perBlock = lists.get(r.block) ?? new Map<string, number[]>();
    perBlock.set(keyOf(r.token), decodePostings(r.ids, r.block, r.n));
    lists.set(r.block, perBlock);
  }
  const wanted = [...new Set(tokens.map(keyOf))];
  const ids: number[] = [];
  for (const [, perBlock] of lists) {
    for (const id of intersectSorted(wanted.map((k) => perBlock.get(k) ?? []))) ids.push(id);
  }
  ids.sort((a, b) => a - b);
  // Tokens differ per bucket, but a collision could name another bucket's record: check.
  const out: number[] = [];
  for (let i = 0; i < ids.length; i += INDEXED_READ) {
    for (const r of await tx.search.indexedRecords(orgId, ids.slice(i, i + INDEXED_READ))) {
      if (r.bucketId === bucketId) out.push(r.logIndex);
    }
  }
  return out.sort((a, b) => a - b);
}

/** Takes the org's hold lock and resolves the active holds bearing on `bucketId`. */
async function criteriaFor(tx: Stores, orgId: OrgId, bucketId: string): Promise<BucketCriteria> {
  await tx.holds.lock(orgId);
  const holds = await tx.holds.activeForBucket(orgId, bucketId);
  const c: BucketCriteria = {
    holdIds: holds.map((h) => h.holdId),
    devices: new Map(),
    received: [],
    tokenHits: new Map(),
    tokenHolds: [],
    indexed: 0,
  };
  for (const h of holds) {
    const s = h.scope;
    if (s.kind === 'custodian') {
      for (const d of await devicesOf(tx, orgId, s.userId)) push(c.devices, d, h.holdId);
    } else if (s.kind === 'dates') {
      c.received.push({
        from: s.from - DATE_HOLD_LEAD_MS,
        to: s.to + DATE_HOLD_LATE_UPLOAD_MS,
        holdId: h.holdId,
      });
    } else {
      c.tokenHolds.push(h.holdId);
      for (const b of s.buckets) {
        if (b.bucketId !== bucketId) continue;
        for (const id of await tokenMatches(tx, orgId, bucketId, b.tokens)) push(c.tokenHits, id, h.holdId);
      }
    }
  }
  return c.tokenHolds.length === 0 ? c : { ...c, indexed: await tx.search.indexed(orgId) };
}

/** The holds covering one record (empty: not held). */
function holdsOf(c: BucketCriteria, r: RecordFacts): HoldRef[] {
  const out = [...(c.devices.get(r.deviceId) ?? [])];
  for (const x of c.received) if (r.receivedAt >= x.from && r.receivedAt < x.to) out.push(x.holdId);
  for (const h of c.tokenHits.get(r.logIndex) ?? []) out.push(h);
  if (c.tokenHolds.length > 0 && r.logIndex >= c.indexed) out.push(...c.tokenHolds);
  return [...new Set(out)];
}

/**
 * The active holds bearing on `bucketId`, as a predicate for streaming over its records
 * (disposition of a large bucket reads records in pages and asks `isHeld` for each).
 * Takes the org's hold lock; MUST run inside the deleting transaction.
 */
export async function bucketHolds(tx: Stores, orgId: OrgId, bucketId: string): Promise<BucketHolds> {
  const c = await criteriaFor(tx, orgId, bucketId);
  if (c.holdIds.length === 0) return { holdIds: [], isHeld: () => false };
  return { holdIds: c.holdIds, isHeld: (r) => holdsOf(c, r).length > 0 };
}

/**
 * Every held record of `bucketId`, ascending by log index. Takes the org's hold lock; MUST
 * run inside the deleting transaction. For very large buckets prefer {@link bucketHolds}.
 */
export async function heldRecordIds(tx: Stores, orgId: OrgId, bucketId: string): Promise<HeldRecord[]> {
  const c = await criteriaFor(tx, orgId, bucketId);
  if (c.holdIds.length === 0) return [];
  const candidates = await tx.holds.bucketRecords(orgId, bucketId, {
    devices: [...c.devices.keys()],
    received: c.received.map((x) => [x.from, x.to] as const),
    fromLogIndex: c.tokenHolds.length > 0 ? c.indexed : null,
  });
  const out: HeldRecord[] = [];
  const seen = new Set<number>();
  for (const r of candidates) {
    seen.add(r.logIndex);
    const holdIds = holdsOf(c, r);
    if (holdIds.length > 0) out.push({ deviceId: r.deviceId, seq: r.seq, logIndex: r.logIndex, holdIds });
  }
  // Records matched by tokens alone (the selection above did not read them).
  const hits = [...c.tokenHits.keys()].filter((i) => !seen.has(i));
  for (let i = 0; i < hits.length; i += INDEXED_READ) {
    for (const r of await tx.search.indexedRecords(orgId, hits.slice(i, i + INDEXED_READ))) {
      const holdIds = c.tokenHits.get(r.logIndex) ?? [];
      out.push({ deviceId: r.deviceId, seq: r.seq, logIndex: r.logIndex, holdIds: [...holdIds] });
    }
  }
  out.sort((a, b) => a.logIndex - b.logIndex);
  return out;
}
