/**
 * Creating an organisation with a bootstrap token: the org's public material, its first
 * admin and that admin's enrolment code, and optionally its first bucket documents with
 * their officer wraps — all in ONE store transaction that also spends the token, so a
 * failure at any step leaves nothing registered and the token unspent.
 *
 * Retry after a lost response: the token row keeps the hash of the request that spent it.
 * The same token with an identical request is answered as the first time (same org, same
 * admin, same enrolment code — derived from the token, see firstAdminEnrolmentCode) for as
 * long as that code is unused and unexpired; afterwards, and for any other request, the
 * answer is BOOTSTRAP_USED.
 */
import { firstAdminEnrolmentCode, sha256 } from '../crypto/secrets.js';
import { DEFAULT_ENROLMENT_CODE_TTL_MS } from '../config/defaults.js';
import { isServerError, ServerError } from '../errors.js';
import type { AppDeps } from '../http/route-def.js';
import { newId, type DeviceId, type OrgId, type UserId } from '../ids.js';
import { putKeyBlob, registerBucket } from '../keys/key-registration.js';
import { BOOTSTRAP_ACTOR } from '../log-service/log-defaults.js';
import { DEFAULT_RETENTION_CLASS, type OrgRecord, type RetentionClass } from '../store/records.js';
import type { Stores } from '../store/stores.js';

/** A bucket document registered with the org, with the bucket key wrapped to some officers. */
export interface InitialBucket {
  readonly document: Buffer;
  readonly officerWraps: readonly { readonly officerIndex: number; readonly blob: Buffer }[];
}

/** What POST /v1/orgs asks for, decoded and checked for shape. */
export interface OrgCreationRequest {
  readonly bootstrapToken: string;
  /** The org to create; its id is the caller's choice or fresh. */
  readonly org: OrgRecord;
  /**
   * The first admin's own retention class. Without it the first admin follows the admin
   * role's class, as every user invited without one follows theirs (docs/officers.md).
   */
  readonly adminRetentionClass?: RetentionClass;
  readonly buckets: readonly InitialBucket[];
  /** requestHash of the body without the token (crypto/request-hash.ts). */
  readonly requestHash: Buffer;
}

/** The answer: the same for the first call and an identical retry. */
export interface OrgCreated {
  readonly orgId: OrgId;
  readonly adminUserId: UserId;
  readonly enrolmentCode: string;
  readonly enrolmentCodeExpiresAt: number;
  readonly signingKeyFingerprint: string;
  /** True when this answers a retry of an earlier, committed creation. */
  readonly replayed: boolean;
}

/** Creates the organisation, or answers an identical retry; see the module comment. */
export async function createOrganisation(
  deps: Pick<AppDeps, 'stores' | 'audit' | 'clock'>,
  req: OrgCreationRequest,
): Promise<OrgCreated> {
  const now = deps.clock();
  const { org } = req;
  return deps.stores.withTransaction(async (tx) => {
    const consumed = await tx.bootstrap.consume(sha256(req.bootstrapToken), org.orgId, req.requestHash, now);
    if (consumed.status === 'unknown')
      throw new ServerError('BOOTSTRAP_INVALID', 'the bootstrap token is wrong');
    if (consumed.status === 'expired') {
      throw new ServerError(
        'BOOTSTRAP_EXPIRED',
        'the bootstrap token has expired; ask the operator for a new one (custos server bootstrap-token)',
      );
    }
    if (consumed.status === 'used') {
      if (consumed.requestHash === null || !consumed.requestHash.equals(req.requestHash)) {
        throw new ServerError(
          'BOOTSTRAP_USED',
          'the bootstrap token has already created an organisation with another request; it works once',
        );
      }
      return replay(tx, consumed.orgId, req.bootstrapToken, now);
    }
    if ((await tx.orgs.get(org.orgId)) !== undefined) {
      throw new ServerError('ORG_EXISTS', 'body.orgId: an organisation with this id already exists');
    }
    await tx.orgs.create(org);
    const adminUserId = newId<UserId>();
    await tx.users.create(org.orgId, {
      userId: adminUserId,
      role: 'admin',
      ...(req.adminRetentionClass === undefined
        ? { retentionClass: DEFAULT_RETENTION_CLASS, retentionSource: 'role' as const }
        : { retentionClass: req.adminRetentionClass }),
      createdAt: now,
    });
    const enrolmentCode = firstAdminEnrolmentCode(req.bootstrapToken, org.orgId, org.signingKeyFingerprint);
    const expiresAt = now + DEFAULT_ENROLMENT_CODE_TTL_MS;
    await tx.enrolmentCodes.create(org.orgId, {
      codeHash: sha256(enrolmentCode),
      userId: adminUserId,
      createdBy: null,
      createdAt: now,
      expiresAt,
    });
    const base = { actorDeviceId: null, at: now } as const;
    await deps.audit.record(tx, org.orgId, {
      ...base,
      kind: 'org.create',
      subject: org.orgId,
      detail: org.signingKeyFingerprint,
    });
    await deps.audit.record(tx, org.orgId, {
      ...base,
      kind: 'user.create',
      subject: adminUserId,
      detail: 'admin',
    });
    await deps.audit.record(tx, org.orgId, {
      ...base,
      kind: 'enrolment-code.create',
      subject: adminUserId,
      detail: null,
    });
    await registerInitialBuckets(tx, org, req.buckets, now);
    return {
      orgId: org.orgId,
      adminUserId,
      enrolmentCode,
      enrolmentCodeExpiresAt: expiresAt,
      signingKeyFingerprint: org.signingKeyFingerprint,
      replayed: false,
    };
  });
}

/** Registers the bucket documents and officer wraps that came with the request, in `tx`. */
async function registerInitialBuckets(
  tx: Stores,
  org: OrgRecord,
  buckets: readonly InitialBucket[],
  now: number,
): Promise<void> {
  // Acts authorised by the bootstrap token carry its actor in the log, as audit entries do.
  const actor = BOOTSTRAP_ACTOR as DeviceId;
  for (const [i, b] of buckets.entries()) {
    const field = `body.buckets.${i}`;
    const bucket = await registerBucket(tx, org.orgId, actor, b.document, now).catch((e: unknown) => {
      throw isServerError(e) ? new ServerError(e.code, `${field}: ${e.message}`, { cause: e }) : e;
    });
    for (const w of b.officerWraps) {
      if (!org.officers.some((o) => o.index === w.officerIndex)) {
        throw new ServerError('INVALID_REQUEST', `${field}.officerWraps: no officer ${w.officerIndex}`);
      }
      await putKeyBlob(
        tx,
        org.orgId,
        actor,
        'officer-wrap',
        bucket.bucketId,
        String(w.officerIndex),
        w.blob,
        now,
      );
    }
  }
}

/** Answers an identical retry from what the first call stored, if its admin code is still usable. */
async function replay(tx: Stores, orgId: OrgId, bootstrapToken: string, now: number): Promise<OrgCreated> {
  const org = await tx.orgs.get(orgId);
  if (org === undefined) throw new ServerError('BOOTSTRAP_USED');
  const enrolmentCode = firstAdminEnrolmentCode(bootstrapToken, orgId, org.signingKeyFingerprint);
  const code = await tx.enrolmentCodes.find(orgId, sha256(enrolmentCode));
  if (code === undefined || code.usedAt !== null || code.expiresAt <= now) {
    const why = code?.usedAt != null ? 'its first admin has enrolled' : 'its first-admin code has expired';
    throw new ServerError(
      'BOOTSTRAP_USED',
      `the bootstrap token created organisation ${orgId} with this same request, and ${why}: it cannot be answered again`,
    );
  }
  return {
    orgId,
    adminUserId: code.userId,
    enrolmentCode,
    enrolmentCodeExpiresAt: code.expiresAt,
    signingKeyFingerprint: org.signingKeyFingerprint,
    replayed: true,
  };
}
