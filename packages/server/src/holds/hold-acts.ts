/**
 * Placing and releasing legal holds: checks that need the store (the custodian exists in the
 * org, every bucket is the org's), then the act and its audit entry in one transaction under
 * the org's hold lock, so disposition (which takes the same lock, held-records.ts) sees a
 * hold either entirely or not at all.
 *
 * What the log learns (via the audit document, whose hash the `hold` entry commits to): the
 * hold id, its kind, the custodian's user id or the date range, bucket and token counts, and
 * SHA-256 of the matter name and of the release reason — never the matter, the reason or a
 * token — and, for a release, the SHA-256 of the officer's signed release statement. The
 * server's holds table keeps matter and reason in clear for officers' listings, and the
 * signed statement, which consoles verify against the act (docs/officers.md "Legal holds").
 */
import { createHash } from 'node:crypto';
import {
  decodeHoldRelease,
  holdReleaseActDetail,
  holdReleaseMessage,
  holdReleaseReasonHash,
  isCustosError,
  type HoldRelease,
} from '@custos/core';
import type { AuditSink } from '../audit/audit-sink.js';
import { requireOwnOfficer } from '../auth/officer-binding.js';
import { requireOfficerStatementSignature } from '../auth/officer-signing-key.js';
import { ServerError } from '../errors.js';
import { newId, type DeviceId, type OrgId } from '../ids.js';
import type { BucketTokens, HoldId, HoldRecord, HoldScope, SignedRelease } from '../store/hold-stores.js';
import type { Stores } from '../store/stores.js';

/** Longest matter name, in characters. */
export const MAX_MATTER_CHARS = 200;
/** Longest release reason, in characters. */
export const MAX_REASON_CHARS = 2_000;
/** Most buckets one token hold may name (about 27 years of monthly buckets in three classes). */
export const MAX_HOLD_BUCKETS = 1_000;
/** Most AND'ed tokens per bucket (as a search). */
export const MAX_HOLD_TOKENS = 32;

const hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** Refuses empty, oversized or control-character text, naming the field. */
export function checkText(field: string, value: string, max: number): string {
  const t = value.trim();
  if (t.length === 0) throw new ServerError('INVALID_REQUEST', `${field}: must not be empty`);
  if (t.length > max) throw new ServerError('INVALID_REQUEST', `${field}: at most ${max} characters`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(t))
    throw new ServerError('INVALID_REQUEST', `${field}: no control characters`);
  return t;
}

/** The audit detail of a placed hold: counts, ids, dates and hashes only. */
function placeDetail(matter: string, scope: HoldScope): string {
  const m = `matter-sha256=${hex(matter)}`;
  switch (scope.kind) {
    case 'custodian':
      return `kind=custodian user=${scope.userId} ${m}`;
    case 'dates':
      return `kind=dates from=${scope.from} to=${scope.to} ${m}`;
    default: {
      const tokens = scope.buckets.reduce((n, b) => n + b.tokens.length, 0);
      return `kind=${scope.kind} buckets=${scope.buckets.length} tokens=${tokens} ${m}`;
    }
  }
}

/** Checks a scope against the org's users and buckets; throws the error the caller gets. */
async function checkScope(stores: Stores, orgId: OrgId, scope: HoldScope): Promise<void> {
  if (scope.kind === 'custodian') {
    // Another org's user is as unknown here as a user that exists nowhere.
    if ((await stores.users.get(orgId, scope.userId)) === undefined)
      throw new ServerError('USER_NOT_FOUND', 'no such custodian in this organisation');
    return;
  }
  if (scope.kind === 'dates') {
    if (scope.from >= scope.to) throw new ServerError('INVALID_REQUEST', 'body.to: must be after body.from');
    return;
  }
  if (scope.buckets.length === 0)
    throw new ServerError('INVALID_REQUEST', 'body.buckets: at least one bucket');
  if (scope.buckets.length > MAX_HOLD_BUCKETS)
    throw new ServerError('INVALID_REQUEST', `body.buckets: at most ${MAX_HOLD_BUCKETS}`);
  const seen = new Set<string>();
  for (const [i, b] of scope.buckets.entries()) {
    if (seen.has(b.bucketId))
      throw new ServerError('INVALID_REQUEST', `body.buckets.${i}: bucket named twice`);
    seen.add(b.bucketId);
    if (b.tokens.length === 0 || b.tokens.length > MAX_HOLD_TOKENS)
      throw new ServerError('INVALID_REQUEST', `body.buckets.${i}.tokens: 1–${MAX_HOLD_TOKENS} tokens`);
    if ((await stores.buckets.get(orgId, b.bucketId)) === undefined)
      throw new ServerError('BUCKET_NOT_FOUND', `body.buckets.${i}: no such bucket in this organisation`);
  }
}

/** Places a hold and records `hold.create`; resolves to the stored hold. */
export async function placeHold(
  stores: Stores,
  audit: AuditSink,
  orgId: OrgId,
  by: DeviceId,
  at: number,
  matter: string,
  scope: HoldScope,
  sealed: Buffer | null = null,
): Promise<HoldRecord> {
  const m = checkText('body.matter', matter, MAX_MATTER_CHARS);
  if (sealed !== null && scope.kind !== 'query' && scope.kind !== 'conversation')
    throw new ServerError('INVALID_REQUEST', `body.sealed: not allowed for a ${scope.kind} hold`);
  const hold = {
    holdId: newId<OrgId>() as string as HoldId,
    matter: m,
    scope,
    createdBy: by,
    createdAt: at,
    sealed,
  };
  await stores.withTransaction(async (tx) => {
    await tx.holds.lock(orgId);
    await checkScope(tx, orgId, scope);
    await tx.holds.create(orgId, hold);
    await audit.record(tx, orgId, {
      kind: 'hold.create',
      actorDeviceId: by,
      subject: hold.holdId,
      detail: placeDetail(m, scope),
      at,
    });
  });
  return { ...hold, releasedAt: null, releasedBy: null, releaseReason: null, releaseSignature: null };
}

/**
 * The officer's release statement, decoded and checked against the request: this org, this
 * hold, this reason. INVALID_REQUEST names what does not match; nothing is verified yet.
 */
function releaseStatementFor(orgId: OrgId, holdId: HoldId, reason: string, statement: Buffer): HoldRelease {
  let st: HoldRelease;
  try {
    st = decodeHoldRelease(statement);
  } catch (e) {
    if (!isCustosError(e)) throw e;
    throw new ServerError('INVALID_REQUEST', `body.statement: ${e.message}`);
  }
  if (st.orgId !== orgId)
    throw new ServerError('INVALID_REQUEST', "body.statement: names another organisation than the caller's");
  if (st.holdId !== holdId)
    throw new ServerError('INVALID_REQUEST', 'body.statement: names another hold than the one released');
  if (st.reasonSha256 !== holdReleaseReasonHash(reason))
    throw new ServerError('INVALID_REQUEST', 'body.statement: names another reason than body.reason');
  return st;
}

/**
 * Releases a hold on an officer's signed release statement (core hold-release.ts) and records
 * `hold.release`, whose detail commits to the reason's and the statement's SHA-256, in the
 * transaction that stores the statement and signature. HOLD_NOT_FOUND / HOLD_RELEASED (also
 * the same statement sent again), INVALID_REQUEST (a statement for another org, hold or
 * reason), OFFICER_NOT_SIGNER (signed as another officer than the calling device's bound
 * officer, `actingOfficer`, which routes always give: the act names the device) and INVALID_KEY (no such officer, or a
 * signature that does not verify) change nothing.
 */
export async function releaseHold(
  stores: Stores,
  audit: AuditSink,
  orgId: OrgId,
  holdId: HoldId,
  by: DeviceId,
  at: number,
  reason: string,
  signed: SignedRelease,
  actingOfficer?: number,
): Promise<void> {
  const r = checkText('body.reason', reason, MAX_REASON_CHARS);
  const st = releaseStatementFor(orgId, holdId, r, signed.statement);
  if (actingOfficer !== undefined) requireOwnOfficer(actingOfficer, st.officerIndex, 'body.statement');
  await stores.withTransaction(async (tx) => {
    // The officer list is read, held, in the transaction that logs the act (as for finding
    // acknowledgements): a removal committing in between would otherwise let a removed
    // officer's release in after the change act, which consoles refuse. Taken before the hold
    // lock, in the order disposition execution takes them.
    await tx.orgs.lockOfficerList(orgId);
    await tx.holds.lock(orgId);
    const org = await tx.orgs.get(orgId);
    if (org === undefined) throw new ServerError('ORG_NOT_FOUND', 'no such organisation');
    requireOfficerStatementSignature(
      org,
      st.officerIndex,
      holdReleaseMessage(signed.statement),
      signed.signature,
    );
    const outcome = await tx.holds.release(orgId, holdId, by, at, r, signed);
    if (outcome === 'unknown')
      throw new ServerError('HOLD_NOT_FOUND', 'no such legal hold in this organisation');
    if (outcome === 'already-released')
      throw new ServerError('HOLD_RELEASED', 'this legal hold was already released');
    await audit.record(tx, orgId, {
      kind: 'hold.release',
      actorDeviceId: by,
      subject: holdId,
      detail: holdReleaseActDetail(r, signed.statement),
      at,
    });
  });
}

/**
 * Extends an active query or conversation hold to buckets it does not cover yet (registered
 * after it was placed) and records `hold.extend` (bucket and token counts). Under the hold
 * lock, like placing: disposition sees the new tokens entirely or not at all.
 */
export async function extendHold(
  stores: Stores,
  audit: AuditSink,
  orgId: OrgId,
  holdId: HoldId,
  by: DeviceId,
  at: number,
  buckets: readonly BucketTokens[],
): Promise<HoldRecord> {
  return stores.withTransaction(async (tx) => {
    await tx.holds.lock(orgId);
    const hold = await tx.holds.get(orgId, holdId);
    if (hold === undefined)
      throw new ServerError('HOLD_NOT_FOUND', 'no such legal hold in this organisation');
    if (hold.releasedAt !== null) throw new ServerError('HOLD_RELEASED', 'this legal hold was released');
    const s = hold.scope;
    if (s.kind !== 'query' && s.kind !== 'conversation')
      throw new ServerError('INVALID_REQUEST', `a ${s.kind} hold has no buckets to extend`);
    await checkScope(tx, orgId, { kind: s.kind, buckets });
    const covered = buckets.findIndex((b) => s.buckets.some((c) => c.bucketId === b.bucketId));
    if (covered >= 0)
      throw new ServerError(
        'INVALID_REQUEST',
        `body.buckets.${covered}: the hold already covers this bucket`,
      );
    if (s.buckets.length + buckets.length > MAX_HOLD_BUCKETS)
      throw new ServerError('INVALID_REQUEST', `a hold covers at most ${MAX_HOLD_BUCKETS} buckets`);
    await tx.holds.addTokens(orgId, holdId, buckets);
    const tokens = buckets.reduce((n, b) => n + b.tokens.length, 0);
    await audit.record(tx, orgId, {
      kind: 'hold.extend',
      actorDeviceId: by,
      subject: holdId,
      detail: `buckets=${buckets.length} tokens=${tokens}`,
      at,
    });
    return { ...hold, scope: { kind: s.kind, buckets: [...s.buckets, ...buckets] } };
  });
}

/**
 * Replaces an active query or conversation hold's sealed criterion with one an officer
 * re-sealed to the current officers (an officer added after the hold was placed), and records
 * `hold.reseal` with the new blob's SHA-256. Opaque here: officers check its signature.
 */
export async function resealHold(
  stores: Stores,
  audit: AuditSink,
  orgId: OrgId,
  holdId: HoldId,
  by: DeviceId,
  at: number,
  sealed: Buffer,
): Promise<void> {
  await stores.withTransaction(async (tx) => {
    await tx.holds.lock(orgId);
    const hold = await tx.holds.get(orgId, holdId);
    if (hold === undefined)
      throw new ServerError('HOLD_NOT_FOUND', 'no such legal hold in this organisation');
    if (hold.releasedAt !== null) throw new ServerError('HOLD_RELEASED', 'this legal hold was released');
    if (hold.scope.kind !== 'query' && hold.scope.kind !== 'conversation')
      throw new ServerError('INVALID_REQUEST', `body.sealed: not allowed for a ${hold.scope.kind} hold`);
    await tx.holds.setSealed(orgId, holdId, sealed);
    await audit.record(tx, orgId, {
      kind: 'hold.reseal',
      actorDeviceId: by,
      subject: holdId,
      detail: `sealed-sha256=${createHash('sha256').update(sealed).digest('hex')}`,
      at,
    });
  });
}
