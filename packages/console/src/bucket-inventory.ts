/**
 * What `custos org buckets` shows (docs/officers.md §3): every registered bucket (document
 * verified), its retention class, period and window, whether it is past, current or future,
 * and whether this officer holds a wrap of its private key — in the profile's
 * bucket-keys.json or on the server — that actually opens with the officer's key. A wrap
 * addressed to another bucket, org or officer does not count.
 */
import { join } from 'node:path';
import {
  officerRecipient,
  unwrapBucketKey,
  unwrapIndexKeyBytes,
  type UnwrappedBucketKey,
} from './bucket-key-wrap.js';
import { ConsoleError } from './console-error.js';
import type { OfficerSession, VerifiedServerBucket } from './officer-session.js';
import { fromB64u, readProfileFile, type OfficerBucketKeysFile } from './profile-files.js';

/** Where this officer's wrap of a bucket was found. */
export type WrapSource = 'profile' | 'server' | 'none';

/** One line of the inventory. */
export interface BucketStatus {
  readonly bucketId: string;
  readonly retentionClass: string;
  readonly period: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly state: 'past' | 'current' | 'future';
  readonly officerWrap: WrapSource;
  /** A root wrap exists (org.json or the server). */
  readonly rootWrap: boolean;
}

/** The wrap blobs stored on the server for a bucket, by recipient (`root` or the officer index). */
export async function serverWraps(
  session: OfficerSession,
  bucketId: string,
): Promise<Map<string, Uint8Array>> {
  const r = await session.call(
    'GET',
    `/v1/orgs/${session.orgId}/buckets/${encodeURIComponent(bucketId)}/officer-wraps`,
  );
  const out = new Map<string, Uint8Array>();
  for (const it of Array.isArray(r.items) ? (r.items as Record<string, unknown>[]) : []) {
    if (typeof it.recipient === 'string' && typeof it.blob === 'string')
      out.set(it.recipient, fromB64u(it.blob));
  }
  return out;
}

function localWrap(session: OfficerSession, bucketId: string): Uint8Array | undefined {
  // Re-read: earlier work in this process may have added wraps since the profile was opened.
  const f = readProfileFile<OfficerBucketKeysFile>(
    join(session.dir, 'bucket-keys.json'),
    'custos-officer-bucket-keys',
  );
  const w = f.wraps.find((x) => x.bucketId === bucketId);
  return w === undefined ? undefined : fromB64u(w.wrap);
}

/** Whether `blob` opens with this officer's key as its wrap of `bucketId` (false when the session holds no key). */
export async function opens(session: OfficerSession, bucketId: string, blob: Uint8Array): Promise<boolean> {
  try {
    const w = await unwrapIndexKeyBytes(blob, session.officer.keys.hpkePrivateKey);
    w.indexKey.fill(0);
    return (
      w.org === session.orgId && w.bucket === bucketId && w.to === officerRecipient(session.officerIndex)
    );
  } catch {
    return false;
  }
}

/** This officer's wrap of `bucketId` that opens (profile first, then server), and where it was. */
export async function findOfficerWrap(
  session: OfficerSession,
  bucketId: string,
  onServer?: Map<string, Uint8Array>,
): Promise<{ source: WrapSource; blob?: Uint8Array }> {
  const local = localWrap(session, bucketId);
  if (local !== undefined && (await opens(session, bucketId, local)))
    return { source: 'profile', blob: local };
  const remote = (onServer ?? (await serverWraps(session, bucketId))).get(String(session.officerIndex));
  if (remote !== undefined && (await opens(session, bucketId, remote)))
    return { source: 'server', blob: remote };
  return { source: 'none' };
}

/** Opens this officer's wrap of `bucketId` (profile or server); PROFILE_INVALID when none opens. */
export async function openBucketKey(session: OfficerSession, bucketId: string): Promise<UnwrappedBucketKey> {
  const found = await findOfficerWrap(session, bucketId);
  if (found.blob === undefined) {
    throw new ConsoleError(
      'PROFILE_INVALID',
      `officer ${session.officerIndex + 1} holds no wrap of bucket ${bucketId}`,
    );
  }
  return unwrapBucketKey(found.blob, session.officer.keys.hpkePrivateKey);
}

/** Past, current or future at `now` (windows are inclusive). */
export function bucketState(b: { notBefore: number; notAfter: number }, now: number): BucketStatus['state'] {
  return now > b.notAfter ? 'past' : now < b.notBefore ? 'future' : 'current';
}

/** The inventory of every registered bucket, ordered by class then period. */
export async function bucketInventory(session: OfficerSession, now: number): Promise<BucketStatus[]> {
  const buckets: VerifiedServerBucket[] = await session.serverBuckets();
  const localRoot = new Set(
    session.officer.org.buckets.filter((b) => b.rootWrap !== undefined).map((b) => b.bucketId),
  );
  const out: BucketStatus[] = [];
  for (const b of buckets) {
    const onServer = await serverWraps(session, b.bucket);
    const wrap = await findOfficerWrap(session, b.bucket, onServer);
    out.push({
      bucketId: b.bucket,
      retentionClass: b.retentionClass,
      period: b.period,
      notBefore: b.notBefore,
      notAfter: b.notAfter,
      state: bucketState(b, now),
      officerWrap: wrap.source,
      rootWrap: localRoot.has(b.bucket) || onServer.has('root'),
    });
  }
  return out.sort((x, y) =>
    x.retentionClass === y.retentionClass
      ? x.notBefore - y.notBefore
      : x.retentionClass < y.retentionClass
        ? -1
        : 1,
  );
}
