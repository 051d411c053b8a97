/**
 * Turning one record the server returned into an opened, verified record — without
 * trusting the server (docs/search.md §5): the bytes hash to the stated hash; the header
 * names this org and the stated device, sequence number and bucket; the session key opens
 * with the bucket private key and the body authenticates; the device's batch signature
 * (when the server holds it) signs this hash at this sequence number, under the identity
 * key the device's enrolment committed to in the log (enrolment-keys.ts); and the record's
 * archive-record log entry is included in the checkpoint, whose signature the caller has
 * checked against the pinned log key. Any failure throws a CustosError naming the record.
 */
import {
  CustosError,
  logEntryLeafHash,
  openRecord,
  openSessionKey,
  recordKeyOf,
  recordHashOf,
  verifyBatch,
  verifyInclusion,
  type BucketId,
  type BucketPrivateKey,
  type Checkpoint,
  type DeviceId,
  type OrgId,
  type RecordHash,
} from '@custos/core';
import type { ExportRecord } from '../export/export-types.js';
import type { EnrolmentKeyCheck } from './enrolment-keys.js';

/** A record as `POST …/archive/search` returns it (already shape-checked). */
export interface ServerHit {
  readonly record: string;
  readonly hash: string;
  readonly logIndex: number;
  readonly deviceId: string;
  readonly seq: number;
  readonly bucketId: string;
  readonly receivedAt: number;
  readonly identityKey: string;
  readonly sessionKey: string;
  readonly batch: {
    readonly firstSeq: number;
    readonly signature: string;
    readonly hashes: readonly string[];
  } | null;
  readonly proof: readonly string[];
}

/** An opened, verified search hit. */
export interface VerifiedHit extends ExportRecord {
  readonly bucketId: string;
  /**
   * `verified`: the device's batch signature checked under the key its enrolment committed
   * to; `unavailable`: the server holds none for it, or the device enrolled before the log
   * committed to identity keys (docs/search.md §6).
   */
  readonly signature: 'verified' | 'unavailable';
  /**
   * The log index of the device's revocation when the record was logged after it: handed in
   * by a revoked device, a claim of a device no longer trusted (docs/search.md §6). Absent
   * when it was not, or when the checker cannot tell (a test's own checker).
   */
  readonly afterRevocation?: number;
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'));
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/**
 * Verifies and opens `hit` of `orgId` under `bucketKey`; `checkpoint` is already verified
 * (note text kept for exports); `enrolment` checks the served identity key against the log.
 */
export async function verifyHit(
  hit: ServerHit,
  orgId: string,
  bucketKey: BucketPrivateKey,
  checkpoint: { readonly opened: Checkpoint; readonly note: string },
  enrolment: EnrolmentKeyCheck,
): Promise<VerifiedHit> {
  const where = `record ${hit.deviceId}#${hit.seq} (log index ${hit.logIndex})`;
  const fail = (code: ConstructorParameters<typeof CustosError>[0], why: string, cause?: unknown): never => {
    throw new CustosError(code, `${where}: ${why}`, cause === undefined ? undefined : { cause });
  };
  const sealed = b64(hit.record);
  const hash = recordHashOf(sealed);
  if (!same(hash, b64(hit.hash)))
    fail('HASH_MISMATCH', 'its bytes do not hash to the hash the server states');
  let opened: Awaited<ReturnType<typeof openRecord>>;
  let recordKey: Uint8Array;
  try {
    const opener = await openSessionKey(bucketKey, b64(hit.sessionKey));
    opened = openRecord(opener, sealed);
    // Kept for exports: a custody manifest v2 hands over this record's own key (and no other).
    recordKey = recordKeyOf(opener, sealed);
  } catch (e) {
    return fail(
      e instanceof CustosError ? e.code : 'DECRYPTION_FAILED',
      'does not open with the bucket key',
      e,
    );
  }
  const h = opened.header;
  if (h.org !== orgId || h.device !== hit.deviceId || h.seq !== hit.seq || h.bucket !== hit.bucketId) {
    fail(
      'MALFORMED_RECORD',
      'its header names another org, device, sequence number or bucket than the server says',
    );
  }
  let signature: VerifiedHit['signature'] = 'unavailable';
  let batch: ExportRecord['batch'] = {
    firstSeq: hit.seq,
    hashes: [hash],
    signature: new Uint8Array(64),
    identityKey: b64(hit.identityKey),
  };
  if (hit.batch !== null) {
    const hashes = hit.batch.hashes.map((x) => b64(x) as RecordHash);
    const at = hit.seq - hit.batch.firstSeq;
    if (at < 0 || at >= hashes.length || !same(hashes[at]!, hash)) {
      fail('SIGNATURE_INVALID', 'its batch does not sign this hash at this sequence number');
    }
    try {
      verifyBatch(
        b64(hit.identityKey),
        { org: orgId as OrgId, device: hit.deviceId as DeviceId, firstSeq: hit.batch.firstSeq, hashes },
        b64(hit.batch.signature),
      );
    } catch (e) {
      fail('SIGNATURE_INVALID', "the device's batch signature does not verify", e);
    }
    const logged = await enrolment(hit.deviceId, b64(hit.identityKey));
    if (logged === 'mismatch' || logged === 'absent') {
      fail(
        'SIGNATURE_INVALID',
        logged === 'mismatch'
          ? `device ${hit.deviceId}: the device's identity key is not the one its enrolment committed to in the log`
          : `device ${hit.deviceId}: no enrolment act for the device is in the log, so its identity key cannot be checked`,
      );
    }
    signature = logged === 'match' ? 'verified' : 'unavailable';
    batch = {
      firstSeq: hit.batch.firstSeq,
      hashes,
      signature: b64(hit.batch.signature),
      identityKey: b64(hit.identityKey),
    };
  }
  const leaf = logEntryLeafHash({
    type: 'archive-record',
    hash,
    size: sealed.length,
    actor: hit.deviceId,
    time: hit.receivedAt,
    org: orgId as OrgId,
    device: hit.deviceId as DeviceId,
    seq: hit.seq,
    bucket: hit.bucketId as BucketId,
  });
  const proof = hit.proof.map(b64);
  try {
    verifyInclusion(leaf, hit.logIndex, checkpoint.opened.treeSize, proof, checkpoint.opened.rootHash);
  } catch (e) {
    fail('INVALID_PROOF', 'its inclusion proof does not lead to the signed checkpoint', e);
  }
  const revokedAt = (await enrolment.revokedBefore?.(hit.deviceId, hit.logIndex)) ?? null;
  return {
    sealed,
    hash,
    header: h,
    body: opened.body,
    batch,
    log: { index: hit.logIndex, loggedAt: hit.receivedAt, proof, checkpoint: checkpoint.note },
    recordKey,
    bucketId: hit.bucketId,
    signature,
    ...(revokedAt === null ? {} : { afterRevocation: revokedAt }),
  };
}
