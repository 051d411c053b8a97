/**
 * The reads a commit group shares (see batch-commit.ts): chain heads, buckets, stored
 * session keys and log backlogs, each read once per group instead of once per batch.
 *
 * Only the chain heads and the buckets' disposals need the group's locks. A bucket's row
 * never changes once registered, a stored session key never changes or goes, and the backlog
 * only feeds the pushback bound (a soft limit), so on PostgreSQL those are read on other pool
 * connections while the group's transaction starts and takes its locks: round trips in
 * parallel instead of one after another inside the transaction. (On SQLite a read outside
 * the transaction would wait for the previous commit's sync, which the transaction itself
 * does not, so there everything is read inside.)
 *
 * Whether a bucket was disposed of (its keys destroyed) is the one bucket fact that changes,
 * and another API node may change it: so it is never cached beyond the group, and is read
 * inside the group's transaction after the group holds its buckets' locks (shared; see
 * PG_BUCKET_LOCK_CLASS in store/archive-stores.ts), one indexed lookup per org and group.
 */
import type { OrgId } from '../ids.js';
import type { ArchiveHead } from '../store/archive-stores.js';
import type { BucketRecord } from '../store/bucket-stores.js';
import type { BucketDisposal } from '../store/disposition-stores.js';
import type { LogBacklog } from '../store/log-stores.js';
import type { Stores } from '../store/stores.js';
import type { VerifiedBatch } from './batch-verification.js';

/**
 * Reads shared by the batches of one commit group. Buckets do not change inside the
 * transaction; a backlog is valid until the group writes entries (a flush clears it).
 */
export interface GroupCache {
  /** Buckets by `org/bucket` (undefined = not registered). */
  readonly buckets: Map<string, BucketRecord | undefined>;
  /** Disposals by `org/bucket` (null = not disposed), read under the buckets' locks only. */
  readonly disposals: Map<string, BucketDisposal | null>;
  readonly backlogs: Map<OrgId, LogBacklog>;
  /** Chain heads read for the whole group (`org/device`; undefined = no records yet); a flush drops the written ones. */
  readonly heads: Map<string, ArchiveHead | undefined>;
  /** Session key ids (hex) known to be stored; a stored key never changes or goes. */
  readonly knownKeys: Set<string>;
}

/** An empty cache. */
export const newGroupCache = (): GroupCache => ({
  buckets: new Map(),
  disposals: new Map(),
  backlogs: new Map(),
  heads: new Map(),
  knownKeys: new Set(),
});

/** Lower-case hex of bytes (session key ids are compared as hex). */
export const hex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Whether two byte strings are equal (record hashes and key ids are public: no constant time needed). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Session key ids a batch's records use without uploading them alongside. */
export function keysNeeded(batch: VerifiedBatch): Map<string, Uint8Array> {
  const uploaded = new Set(batch.sessionKeys.map((k) => hex(k.keyId)));
  const needed = new Map<string, Uint8Array>();
  let last: Uint8Array | null = null;
  for (const r of batch.records) {
    const key = r.header.sessionKeyId;
    // A device seals many records under one session key: hex each run of equal ids once.
    if (last !== null && sameBytes(key, last)) continue;
    last = key;
    const id = hex(key);
    if (!uploaded.has(id)) needed.set(id, key);
  }
  return needed;
}

function byOrg(batches: readonly VerifiedBatch[]): Map<OrgId, VerifiedBatch[]> {
  const out = new Map<OrgId, VerifiedBatch[]>();
  for (const b of batches) out.set(b.orgId, [...(out.get(b.orgId) ?? []), b]);
  return out;
}

/**
 * Reads the group's buckets, used session keys and backlogs that no lock protects, all
 * at once (in parallel on PostgreSQL's pool). `stores` need not be the group's transaction.
 */
export async function readUnlocked(stores: Stores, batches: readonly VerifiedBatch[]): Promise<GroupCache> {
  const cache = newGroupCache();
  const reads: Promise<void>[] = [];
  for (const [orgId, bs] of byOrg(batches)) {
    const buckets = new Set<string>();
    const needed = new Map<string, Uint8Array>();
    for (const b of bs) {
      for (const r of b.records) buckets.add(r.header.bucket);
      for (const k of b.sessionKeys) buckets.add(k.bucket);
      for (const [id, k] of keysNeeded(b)) needed.set(id, k);
    }
    for (const id of buckets) {
      reads.push(stores.buckets.get(orgId, id).then((r) => void cache.buckets.set(`${orgId}/${id}`, r)));
    }
    if (needed.size > 0) {
      reads.push(
        stores.archive.knownSessionKeys(orgId, [...needed.values()]).then((known) => {
          for (const id of known) cache.knownKeys.add(id);
        }),
      );
    }
    reads.push(stores.log.backlog(orgId).then((b) => void cache.backlogs.set(orgId, b)));
  }
  await Promise.all(reads);
  return cache;
}

/** The buckets the batches' records are sealed to, by org (the group locks and checks these). */
export function recordBuckets(batches: readonly VerifiedBatch[]): Map<OrgId, string[]> {
  const out = new Map<OrgId, string[]>();
  for (const [orgId, bs] of byOrg(batches)) {
    const ids = new Set<string>();
    for (const b of bs) for (const r of b.records) ids.add(r.header.bucket);
    out.set(orgId, [...ids]);
  }
  return out;
}

/**
 * Reads the group's chain heads and its buckets' disposals with one query each per org,
 * using `tx` (which MUST hold the devices' and buckets' locks), into `cache`; `withKeys`
 * also reads the used session keys (the SQLite path, where everything is read inside the
 * transaction).
 */
export async function readHeads(
  tx: Stores,
  cache: GroupCache,
  batches: readonly VerifiedBatch[],
  withKeys: boolean,
): Promise<void> {
  const buckets = recordBuckets(batches);
  for (const [orgId, bs] of byOrg(batches)) {
    const devices = bs.map((b) => b.deviceId);
    const heads = await tx.archive.heads(orgId, devices);
    for (const d of devices) cache.heads.set(`${orgId}/${d}`, heads.get(d));
    const ids = buckets.get(orgId) ?? [];
    const disposed = await tx.disposition.disposals(orgId, ids);
    for (const id of ids) cache.disposals.set(`${orgId}/${id}`, disposed.get(id) ?? null);
    if (!withKeys) continue;
    const needed = new Map<string, Uint8Array>();
    for (const b of bs) for (const [id, k] of keysNeeded(b)) needed.set(id, k);
    if (needed.size > 0) {
      for (const id of await tx.archive.knownSessionKeys(orgId, [...needed.values()]))
        cache.knownKeys.add(id);
    }
  }
}

/** The bucket through the cache (read with `tx` on a miss). */
export async function bucketOf(
  tx: Stores,
  cache: GroupCache,
  orgId: OrgId,
  id: string,
): Promise<BucketRecord | undefined> {
  const key = `${orgId}/${id}`;
  if (!cache.buckets.has(key)) cache.buckets.set(key, await tx.buckets.get(orgId, id));
  return cache.buckets.get(key);
}

/**
 * The bucket's disposal through the cache (null: not disposed), read with `tx` on a miss.
 * `tx` MUST hold the bucket's lock (lockDevices) so that no disposition commits meanwhile.
 */
export async function disposalOf(
  tx: Stores,
  cache: GroupCache,
  orgId: OrgId,
  id: string,
): Promise<BucketDisposal | null> {
  const key = `${orgId}/${id}`;
  let d = cache.disposals.get(key);
  if (d === undefined) {
    d = (await tx.disposition.disposals(orgId, [id])).get(id) ?? null;
    cache.disposals.set(key, d);
  }
  return d;
}
