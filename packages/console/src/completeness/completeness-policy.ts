/**
 * Setting the org's completeness policy (PUT …/archive/completeness/policy, officers): how
 * long a device may go without archiving before it is reported silent, and how long a
 * relay receipt waits for its archive records. The server records the change as a
 * `completeness-policy` audit entry; every report checks the policy against that entry.
 */
import { ConsoleError } from '../console-error.js';
import type { OfficerSession } from '../officer-session.js';
import type { CompletenessPolicy } from './completeness-findings.js';

/** The policy the server stored, with who set it and when. */
export interface StoredPolicy extends CompletenessPolicy {
  readonly setBy: string;
  readonly setAt: number;
}

/** Sets the policy; the server checks the ranges (docs/api.md). */
export async function setCompletenessPolicy(
  session: OfficerSession,
  policy: CompletenessPolicy,
): Promise<StoredPolicy> {
  const r = await session.call('PUT', `/v1/orgs/${session.orgId}/archive/completeness/policy`, {
    silentAfterMs: policy.silentAfterMs,
    receiptGraceMs: policy.receiptGraceMs,
  });
  if (
    r.silentAfterMs !== policy.silentAfterMs ||
    r.receiptGraceMs !== policy.receiptGraceMs ||
    typeof r.setBy !== 'string' ||
    typeof r.setAt !== 'number'
  ) {
    throw new ConsoleError(
      'SERVER_REFUSED',
      'PUT …/completeness/policy: the answer does not echo the policy',
    );
  }
  return { ...policy, setBy: r.setBy, setAt: r.setAt };
}
