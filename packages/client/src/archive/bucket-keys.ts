/**
 * The device's verified bucket keys and index keys. Buckets come from the server but are
 * accepted only when their signed document verifies against the pinned org's key-manager
 * delegation (enrol/org-keys.ts over core org-docs); the listing's summary fields are ignored. Index keys
 * come sealed to this device (index-key-envelope.ts).
 */
import { BlindIndexKey } from '@custos/core';
import type { PrivateKey } from '@signalapp/libsignal-client';
import { ClientError } from '../errors.js';
import { verifyBucketDocument, type RetentionClass, type VerifiedBucket } from '../enrol/org-keys.js';
import type { DeviceProfile } from '../profile.js';
import { decodeJson } from '../store/json-codec.js';
import type { LocalStore } from '../store/local-store.js';
import { INDEX_KEYS_ANSWER_LIMIT_BYTES } from '../transport/answer-limits.js';
import type { ApiClient } from '../transport/api-client.js';
import { arr, bytes, obj, str } from '../transport/response-checks.js';
import { disposedBucketIds } from './disposed-buckets.js';
import { openIndexKey } from './index-key-envelope.js';

/** A bucket the server offered that the device refused, and why. */
export interface RefusedBucket {
  readonly bucketId: string;
  readonly reason: string;
}

/** Result of a bucket refresh. */
export interface BucketRefresh {
  readonly accepted: readonly string[];
  readonly refused: readonly RefusedBucket[];
  /** Buckets of a superseded key-manager key that start after its rotation: dropped, never sealed to. */
  readonly retired: readonly string[];
}

/** Most pages of buckets read in one refresh. */
const MAX_BUCKET_PAGES = 100;

/**
 * Fetches the org's buckets, verifies each document, and stores the verified ones. A
 * refused bucket is never stored (so never sealed to) and is reported. A bucket the server
 * reported disposed of (disposed-buckets.ts) is not stored again.
 */
export async function refreshBuckets(
  api: ApiClient,
  store: LocalStore,
  profile: DeviceProfile,
): Promise<BucketRefresh> {
  const accepted: string[] = [];
  const refused: RefusedBucket[] = [];
  const retired: string[] = [];
  const disposed = disposedBucketIds(store);
  let after: string | undefined;
  for (let page = 0; page < MAX_BUCKET_PAGES; page++) {
    const q = after === undefined ? '' : `?after=${encodeURIComponent(after)}`;
    const res = obj(await api.request('GET', `/v1/orgs/${profile.orgId}/buckets${q}`), 'buckets');
    const list = arr(res, 'buckets');
    for (const item of list) {
      const b = obj(item, 'bucket');
      const listedId = str(b, 'bucketId');
      try {
        const v = verifyUnderChain(bytes(b, 'document'), profile);
        if (v === 'retired') {
          // Signed by a superseded key for a window after its rotation: the new key's bucket
          // replaces it. Not an attack on its face, so no warning; never sealed to.
          store.delete('buckets', listedId);
          retired.push(listedId);
          after = listedId;
          continue;
        }
        if (v.bucketId !== listedId) throw new ClientError('BUCKET_KEY_INVALID', 'listed under another id');
        if (disposed.has(v.bucketId)) {
          after = listedId;
          continue;
        }
        const known = store.getJson<VerifiedBucket>('buckets', v.bucketId);
        if (
          known !== undefined &&
          Buffer.compare(Buffer.from(known.publicKey), Buffer.from(v.publicKey)) !== 0
        )
          throw new ClientError('BUCKET_KEY_INVALID', 'differs from the key this device already verified');
        store.putJson('buckets', v.bucketId, v);
        accepted.push(v.bucketId);
      } catch (e) {
        refused.push({ bucketId: listedId, reason: e instanceof Error ? e.message : 'refused' });
      }
      after = listedId;
    }
    if (list.length === 0) break;
  }
  store.putJson('archive-state', 'refused-buckets', refused);
  return { accepted, refused, retired };
}

/**
 * Verifies a bucket document under the current delegation, else under a superseded one
 * (profile.previousKeyManagers). A document of a superseded key is valid only for a window
 * starting before that key's rotation; a later one is 'retired'. Throws BUCKET_KEY_INVALID
 * (the current delegation's reason) when nothing verifies it.
 */
export function verifyUnderChain(document: Uint8Array, profile: DeviceProfile): VerifiedBucket | 'retired' {
  try {
    return verifyBucketDocument(document, profile.keyManager, profile.orgId);
  } catch (e) {
    for (const p of [...(profile.previousKeyManagers ?? [])].reverse()) {
      let v: VerifiedBucket;
      try {
        v = verifyBucketDocument(document, p, profile.orgId);
      } catch {
        continue;
      }
      return v.notBefore < p.supersededAt ? v : 'retired';
    }
    throw e;
  }
}

/** Buckets refused at the last refresh. */
export function refusedBuckets(store: LocalStore): RefusedBucket[] {
  return store.getJson<RefusedBucket[]>('archive-state', 'refused-buckets') ?? [];
}

/**
 * The verified bucket of `retentionClass` whose window holds `now`; NO_BUCKET_KEY if none.
 * `buckets` (the decoded table) may be passed when the caller has read it already.
 */
export function currentBucket(
  store: LocalStore,
  retentionClass: RetentionClass,
  now: number,
  buckets: readonly VerifiedBucket[] = store.list('buckets').map((r) => decodeJson<VerifiedBucket>(r.value)),
): VerifiedBucket {
  let best: VerifiedBucket | undefined;
  for (const b of buckets) {
    // A window includes both ends (docs/keys.md §2): a month's bucket ends at the next one's start − 1.
    if (b.retentionClass !== retentionClass || now < b.notBefore || now > b.notAfter) continue;
    if (best === undefined || b.notBefore > best.notBefore) best = b;
  }
  if (best === undefined)
    throw new ClientError(
      'NO_BUCKET_KEY',
      `no verified ${retentionClass} bucket key covers the current time`,
    );
  return best;
}

/** Fetches the index keys sealed to this device and stores the ones that open. */
export async function refreshIndexKeys(
  api: ApiClient,
  store: LocalStore,
  profile: DeviceProfile,
  identityKey: PrivateKey,
): Promise<number> {
  const res = obj(
    await api.request('GET', '/v1/index-keys', { maxAnswerBytes: INDEX_KEYS_ANSWER_LIMIT_BYTES }),
    'index keys',
  );
  let n = 0;
  for (const item of arr(res, 'items')) {
    const it = obj(item, 'index key');
    const bucketId = str(it, 'bucketId');
    try {
      const key = openIndexKey(identityKey, profile.orgId, bucketId, profile.deviceId, bytes(it, 'blob'));
      // MUST NOT log: index key bytes (encrypted at rest like every value).
      store.put('index-keys', bucketId, key);
      key.fill(0);
      n++;
    } catch {
      // A blob that does not open is ignored: records of that bucket carry no tokens.
    }
  }
  return n;
}

/** The index key of a bucket, if this device holds it. */
export function indexKeyFor(store: LocalStore, bucketId: string): BlindIndexKey | undefined {
  const raw = store.get('index-keys', bucketId);
  return raw === undefined ? undefined : BlindIndexKey.fromBytes(raw);
}
