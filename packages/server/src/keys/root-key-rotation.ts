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
 * Statement: deterministic CBOR `[payload, sig]`, sig = Ed25519(org signing key,
 * "custos-root-archive-key-v1" ‖ 0x00 ‖ payload), payload exactly
 * `{ v: 1, typ: "root-archive-key", org, pk: bstr(32), prv: bstr(32), iat }`.
 */
import { sign as edSign, type KeyObject } from 'node:crypto';
import { encodeDeterministicCbor, openKeyManagerDelegation } from '@custos/core';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId } from '../ids.js';
import type { OrgRecord, RootKeyRotation } from '../store/records.js';
import type { Stores } from '../store/stores.js';
import { ed25519PublicKey, KeyDocumentError, openSigned, signedBytes } from './key-documents.js';
import { keyEvent, storedDelegation } from './key-registration.js';

/** Domain of root-archive-key statements. */
export const ROOT_KEY_DOMAIN = 'custos-root-archive-key-v1';
/** Kind of the key event a root rotation appends. */
export const ROOT_KEY_ROTATED_EVENT_KIND = 'root-archive-key-rotated';
/** How far a statement's issue time may lie from the server's clock. */
export const ROOT_KEY_SKEW_MS = 10 * 60_000;
/** Buckets read per page while collecting the ones a rotation re-wraps. */
const BUCKET_PAGE = 500;

/** A verified root-archive-key statement. */
export interface RootKeyStatement {
  readonly org: string;
  /** The new root archive public key (X25519). */
  readonly publicKey: Uint8Array;
  /** The root archive public key it replaces. */
  readonly previous: Uint8Array;
  readonly issuedAt: number;
}

const bad = (why: string): KeyDocumentError => new KeyDocumentError(`root key statement: ${why}`);
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isKey = (v: unknown): v is Uint8Array => v instanceof Uint8Array && v.length === 32;
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** Verifies a statement with the raw org signing key and checks its shape. Throws KeyDocumentError. */
export function openRootKeyStatement(bytes: Uint8Array, orgSigningKey: Uint8Array): RootKeyStatement {
  const m = openSigned('root key statement', bytes, ROOT_KEY_DOMAIN, ed25519PublicKey(orgSigningKey));
  if (Object.keys(m).sort().join() !== 'iat,org,pk,prv,typ,v')
    throw bad('fields must be exactly v, typ, org, pk, prv, iat');
  if (m.v !== 1 || m.typ !== 'root-archive-key') throw bad('not a v1 root-archive-key statement');
  if (typeof m.org !== 'string' || !isUint(m.iat)) throw bad('org or iat malformed');
  if (!isKey(m.pk) || !isKey(m.prv)) throw bad('pk and prv must be 32-byte X25519 public keys');
  if (same(m.pk, m.prv)) throw bad('pk must differ from prv');
  return { org: m.org, publicKey: m.pk, previous: m.prv, issuedAt: m.iat };
}

/** Signs a statement (tests; the console signs its own with the recovered org key). */
export function sealRootKeyStatement(s: RootKeyStatement, orgSigningKey: KeyObject): Uint8Array {
  const payload = encodeDeterministicCbor({
    v: 1,
    typ: 'root-archive-key',
    org: s.org,
    pk: s.publicKey,
    prv: s.previous,
    iat: s.issuedAt,
  });
  return encodeDeterministicCbor([
    payload,
    edSign(null, signedBytes(ROOT_KEY_DOMAIN, payload), orgSigningKey),
  ]);
}

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
      throw invalid(e instanceof KeyDocumentError ? e.message : 'does not verify', e);
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
