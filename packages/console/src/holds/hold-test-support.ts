/**
 * Tests' `hold` log entries: the entry the server logs for a hold act (server
 * holds/hold-acts.ts), its hash over the act's document, so the hold-log check meets what a
 * server writes.
 */
import { randomBytes } from 'node:crypto';
import {
  encodeDeterministicCbor,
  encodeHoldRelease,
  holdReleaseMessage,
  holdReleaseReasonHash,
  type LogEntry,
} from '@custos/core';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import type { OfficerListHistory } from '../officer-list-history.js';
import type { SigningKey } from '../signing-key.js';
import type { LoggedHold } from './hold-log-check.js';

/** The `hold` entry of `org`'s log for placing or releasing `h`, with the act's `detail`. */
export function holdActEntry(
  org: string,
  h: LoggedHold,
  action: 'place' | 'release',
  detail: string | null,
): LogEntry {
  const at = action === 'place' ? h.createdAt : h.releasedAt!;
  const actor = action === 'place' ? h.createdBy : h.releasedBy!;
  const kind = action === 'place' ? 'hold.create' : 'hold.release';
  const hash = auditDocumentHash(org, { kind, actor, subject: h.holdId, at, detail });
  return { type: 'hold', hash: Buffer.from(hash, 'hex'), size: 1, actor, time: at, holdId: h.holdId, action };
}

/**
 * `h` released by officer `officerIndex` as a console releases it: the statement naming `org`,
 * the hold and its reason, signed with `signer` (core hold-release.ts), as the listing serves it.
 */
export function signedRelease<H extends LoggedHold>(
  org: string,
  h: H,
  signer: SigningKey,
  officerIndex: number,
): H {
  const statement = encodeHoldRelease({
    orgId: org,
    holdId: h.holdId,
    reasonSha256: holdReleaseReasonHash(h.releaseReason!),
    officerIndex,
    at: h.releasedAt!,
  });
  return {
    ...h,
    releaseStatement: Buffer.from(statement).toString('base64url'),
    releaseSignature: Buffer.from(signer.sign(holdReleaseMessage(statement))).toString('base64url'),
  };
}

/** An officer public key document (base64url, as org.json lists it) for `signer`; the HPKE key is filler. */
export function officerPublicKeyFor(signer: SigningKey): string {
  return Buffer.from(
    encodeDeterministicCbor({ v: 1, typ: 'officer-key', hpke: randomBytes(32), sig: signer.publicKey }),
  ).toString('base64url');
}

/** An officer list history in which `lists(logIndex)` names the officers (index → signing key) in force. */
export function officersByIndex(
  lists: (logIndex: number) => ReadonlyMap<number, SigningKey>,
): Pick<OfficerListHistory, 'at'> {
  const docs = new Map<SigningKey, string>();
  const doc = (k: SigningKey) => docs.get(k) ?? docs.set(k, officerPublicKeyFor(k)).get(k)!;
  return {
    at: (logIndex) => ({
      quorum: 1,
      officers: [...lists(logIndex)].map(([index, k]) => ({ index, publicKey: doc(k) })),
    }),
  };
}

/**
 * A hold as the server lists it: an active custodian hold of `user-7` placed by `createdBy` at
 * `createdAt`, with nothing of a release and no placing detail, and `over` on top.
 */
export function listedHold(createdBy: string, createdAt: number, over: Partial<LoggedHold> = {}): LoggedHold {
  return {
    holdId: 'hold-c',
    kind: 'custodian',
    matter: 'M-1',
    custodian: 'user-7',
    from: null,
    to: null,
    buckets: [],
    createdBy,
    createdAt,
    releasedBy: null,
    releasedAt: null,
    releaseReason: null,
    releaseStatement: null,
    releaseSignature: null,
    placedDetail: null,
    ...over,
  };
}
