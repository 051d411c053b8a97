/**
 * Officer approvals of a disposition plan. Each approval is an Ed25519 signature by the
 * officer's signing key (the `sig` key of the officer public key document registered at the
 * ceremony, docs/ceremony.md §3) over the plan bytes under the plan domain. The server
 * verifies it against the registered key before storing it; one approval per officer, so m
 * approvals are m distinct officers.
 */
import { decodeDispositionPlan, dispositionApprovalMessage } from '@custos/core';
import type { AuditSink } from '../audit/audit-sink.js';
import { officerSignatureVerifies, officerSigningKey } from '../auth/officer-signing-key.js';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId } from '../ids.js';
import type { PlanRecord } from '../store/disposition-stores.js';
import type { OrgRecord } from '../store/records.js';
import type { Stores } from '../store/stores.js';
import { assertDisposable } from './bucket-readiness.js';

/** Whether `signature` is officer `officerIndex`'s approval of `plan`. */
export function approvalVerifies(
  org: OrgRecord,
  officerIndex: number,
  plan: Uint8Array,
  signature: Uint8Array,
): boolean {
  const key = officerSigningKey(org, officerIndex);
  return key !== null && officerSignatureVerifies(key, dispositionApprovalMessage(plan), signature);
}

/** The plan, or DISPOSITION_NOT_FOUND (also for another org's plan id). */
export async function planOrThrow(stores: Stores, orgId: OrgId, planId: string): Promise<PlanRecord> {
  const plan = await stores.disposition.plan(orgId, planId);
  if (plan === undefined) throw new ServerError('DISPOSITION_NOT_FOUND', 'no such disposition plan');
  return plan;
}

/**
 * Records officer `officerIndex`'s approval of the plan, after verifying it; the same
 * approval again changes nothing. A new approval is an audit act `disposition.approve`. A
 * plan takes approvals until it is executed (DISPOSITION_CLOSED after).
 * A plan holding a bucket that still takes records at `now` (only a plan made before the
 * server left such buckets out) is refused with BUCKET_STILL_ACCEPTING: the officers learn it
 * before they approve, not when execution is refused.
 */
export async function approvePlan(
  stores: Stores,
  audit: AuditSink,
  orgId: OrgId,
  planId: string,
  approval: { officerIndex: number; signature: Buffer },
  by: DeviceId,
  now: number,
): Promise<void> {
  const plan = await planOrThrow(stores, orgId, planId);
  const stored = (await stores.disposition.approvals(orgId, planId)).find(
    (a) => a.officerIndex === approval.officerIndex,
  );
  // The identical approval was verified when it was stored: a retry is not a second vote.
  if (stored?.signature.equals(approval.signature) === true) return;
  // An executing plan still takes approvals: when an approver is removed while execution is
  // paused, the server refuses to go on (QUORUM_NOT_MET) until officers of the current list
  // approve, and their approvals are what the certificate will carry (execution.ts).
  if (plan.state === 'executed') {
    throw new ServerError('DISPOSITION_CLOSED', `the plan is ${plan.state}: it takes no more approvals`);
  }
  // Buckets already done are disposed: only those execution has still to touch are asked about
  // (a plan not yet executing has touched none).
  const done = new Set(
    plan.state === 'executing'
      ? (await stores.disposition.progress(orgId, planId))
          .filter((p) => p.step === 'done')
          .map((p) => p.bucketId)
      : [],
  );
  const ids = decodeDispositionPlan(plan.plan)
    .buckets.map((b) => b.bucketId)
    .filter((id) => !done.has(id));
  await assertDisposable(stores, orgId, ids, now, {
    notDue: 'approve the plan on or after then; no approval recorded',
    accepting: 'this plan cannot be executed before then; no approval recorded',
  });
  const org = await stores.orgs.get(orgId);
  if (org === undefined) throw new ServerError('ORG_NOT_FOUND', 'no such organisation');
  if (officerSigningKey(org, approval.officerIndex) === null) {
    throw new ServerError(
      'INVALID_KEY',
      `body.officerIndex: officer ${approval.officerIndex} has no registered officer signing key`,
    );
  }
  if (!approvalVerifies(org, approval.officerIndex, plan.plan, approval.signature)) {
    throw new ServerError(
      'INVALID_KEY',
      `body.signature: does not verify as officer ${approval.officerIndex}'s approval of this plan`,
    );
  }
  await stores.withTransaction(async (tx) => {
    const current = await tx.disposition.plan(orgId, planId);
    if (current === undefined || current.state === 'executed') {
      throw new ServerError('DISPOSITION_CLOSED', 'the plan is executed: it takes no more approvals');
    }
    const added = await tx.disposition.putApproval(orgId, planId, {
      officerIndex: approval.officerIndex,
      signature: approval.signature,
      deviceId: by,
      at: now,
    });
    if (added) {
      await audit.record(tx, orgId, {
        kind: 'disposition.approve',
        actorDeviceId: by,
        subject: planId,
        detail: `officer=${approval.officerIndex}`,
        at: now,
      });
    }
  });
}
