/**
 * Rotating the root archive key (docs/keys.md §6, `custos org unlock --rotate-root`): a quorum
 * recovers the org signing key and the old root archive key, makes a new root key pair, and
 * re-wraps every bucket private key to the new root. The server accepts the new root only
 * with a statement signed by the org signing key that names this org, the new public key and
 * the CURRENT root key it replaces (so a statement replayed after a later rotation names a
 * stale key), issued about now and after the last one. In the same transaction it replaces
 * the root wrap of every bucket whose keys still exist (the old wraps are overwritten: old
 * shares no longer open anything the server holds), replaces the key-manager key's root wrap,
 * and appends a `root-archive-key-rotated` key event plus a `bucket-key-wrapped` event per
 * bucket. It never sees a private key.
 *
 * The statement's format and shape checks are core's (org-docs/root-key-statement.ts).
 */
import {
  isCustosError,
  openKeyManagerDelegation,
  openRootKeyStatement,
  type RootKeyStatement,
} from '@custos/core';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId } from '../ids.js';
import type { OrgRecord, RootKeyRotation } from '../store/records.js';
import type { Stores } from '../store/stores.js';
import { keyEvent, storedDelegation } from './key-registration.js';

/** Kind of the key event a root rotation appends. */
export const ROOT_KEY_ROTATED_EVENT_KIND = 'root-archive-key-rotated';
/** How far a statement's issue time may lie from the server's clock. */
export const ROOT_KEY_SKEW_MS = 10 * 60_000;
/** Buckets read per page while collecting the ones a rotation re-wraps. */
const BUCKET_PAGE = 500;

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** A bucket's private key wrapped to the new root (opaque). */
export interface RootWrap {
  readonly bucketId: string;
  readonly blob: Uint8Array;
}

/** What a rotation must carry: the buckets to re-wrap and whether the key-manager key needs a root wrap. */
export interface RootRotationNeeds {
  readonly buckets: readonly string[];
  /** The rotation seq whose key-manager wraps are the current key's, or undefined (ceremony key: none on the server). */
  readonly keyManagerSeq: number | undefined;
}

/**
 * The buckets whose keys still exist (registered, not disposed), by id, and the key-manager
 * rotation whose root wrap must be replaced.
 */
export async function rootRotationNeeds(tx: Stores, org: OrgRecord): Promise<RootRotationNeeds> {
  const disposed = await tx.disposition.disposedBuckets(org.orgId);
  const buckets: string[] = [];
  for (let after: string | null = null; ;) {
    const page = await tx.buckets.list(org.orgId, after, BUCKET_PAGE);
    for (const b of page) if (!disposed.has(b.bucketId)) buckets.push(b.bucketId);
    if (page.length < BUCKET_PAGE) break;
    after = page.at(-1)!.bucketId;
  }
  const last = (await tx.orgs.keyManagerRotations(org.orgId)).at(-1);
  const current = storedDelegation(org).key;
  const keyManagerSeq =
    last !== undefined && same(openKeyManagerDelegation(last.delegation, org.signingPublicKey).key, current)
      ? last.seq
      : undefined;
  return { buckets, keyManagerSeq };
}

/** Result of {@link rotateRootKey}. */
export interface RootKeyRotationResult {
  readonly rootArchivePublicKey: Buffer;
  /** False when this statement was the last rotation already (nothing stored). */
  readonly changed: boolean;
  readonly rewrapped: number;
}

function invalid(why: string, cause?: unknown): ServerError {
  return new ServerError(
    'ROOT_KEY_INVALID',
    `body.statement: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Verifies and installs a root rotation. The last statement again is idempotent (changed:
 * false). `wraps` must name exactly every bucket whose keys still exist; `keyManagerWrap` is
 * required exactly when the current key-manager key came from a rotation (its wraps are on the
 * server), and forbidden otherwise.
 */
export async function rotateRootKey(
  stores: Stores,
  orgId: OrgId,
  actor: DeviceId,
  statement: Uint8Array,
  wraps: readonly RootWrap[],
  keyManagerWrap: Uint8Array | undefined,
  now: number,
): Promise<RootKeyRotationResult> {
  return stores.withTransaction(async (tx) => {
    const org = await tx.orgs.get(orgId);
    if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
    const history = await tx.orgs.rootKeyRotations(orgId);
    const last = history.at(-1);
    if (last !== undefined && same(last.statement, statement))
      return { rootArchivePublicKey: org.rootArchivePublicKey, changed: false, rewrapped: 0 };
    let s: RootKeyStatement;
    try {
      s = openRootKeyStatement(statement, org.signingPublicKey);
    } catch (e) {
      throw invalid(isCustosError(e) ? e.message : 'does not verify', e);
    }
    if (s.org !== orgId) throw invalid('names another organisation');
    if (!same(s.previous, org.rootArchivePublicKey))
      throw invalid('does not replace the current root archive key (stale or replayed)');
    if ([org.rootArchivePublicKey, ...history.map((h) => h.superseded)].some((k) => same(k, s.publicKey)))
      throw invalid('names a root archive key this org has used: a rotation needs a new key');
    if (Math.abs(s.issuedAt - now) > ROOT_KEY_SKEW_MS)
      throw invalid(`must be issued now (within ${ROOT_KEY_SKEW_MS / 60_000} minutes of the server's clock)`);
    if (s.issuedAt <= (last?.issuedAt ?? org.createdAt)) throw invalid('is not newer than the last rotation');
    const needs = await rootRotationNeeds(tx, org);
    const given = wraps.map((w) => w.bucketId);
    const missing = needs.buckets.filter((b) => !given.includes(b));
    const extra = given.filter((b, i) => !needs.buckets.includes(b) || given.indexOf(b) !== i);
    if (missing.length > 0 || extra.length > 0) {
      throw new ServerError(
        'INVALID_REQUEST',
        'body.wraps: needs exactly one root wrap for each bucket whose keys exist' +
          (missing.length > 0 ? ` (missing: ${missing.slice(0, 5).join(', ')})` : '') +
          (extra.length > 0 ? ` (not expected: ${extra.slice(0, 5).join(', ')})` : ''),
      );
    }
    if ((needs.keyManagerSeq === undefined) !== (keyManagerWrap === undefined)) {
      throw new ServerError(
        'INVALID_REQUEST',
        needs.keyManagerSeq === undefined
          ? 'body.keyManagerWrap: the key-manager key has no wraps on the server; send none'
          : 'body.keyManagerWrap: the current key-manager key must be wrapped to the new root',
      );
    }
    const logIndex = await keyEvent(
      tx,
      orgId,
      actor,
      ROOT_KEY_ROTATED_EVENT_KIND,
      'root-archive-key',
      statement,
      now,
    );
    for (const w of wraps) {
      const at = await keyEvent(tx, orgId, actor, 'bucket-key-wrapped', w.bucketId, w.blob, now);
      await tx.buckets.putBlob(orgId, 'officer-wrap', {
        bucketId: w.bucketId,
        recipient: 'root',
        blob: Buffer.from(w.blob),
        createdBy: actor,
        createdAt: now,
        logIndex: at,
      });
    }
    // Superseded key-manager keys' root wraps go too: the old root must open nothing here.
    await tx.orgs.replaceKeyManagerRootWraps(
      orgId,
      needs.keyManagerSeq === undefined
        ? undefined
        : { seq: needs.keyManagerSeq, blob: Buffer.from(keyManagerWrap!) },
    );
    const rotation: RootKeyRotation = {
      seq: history.length + 1,
      statement: Buffer.from(statement),
      superseded: org.rootArchivePublicKey,
      issuedAt: s.issuedAt,
      rotatedBy: actor,
      rotatedAt: now,
      logIndex,
    };
    const publicKey = Buffer.from(s.publicKey);
    await tx.orgs.addRootKeyRotation(orgId, rotation, publicKey);
    return { rootArchivePublicKey: publicKey, changed: true, rewrapped: wraps.length };
  });
}
