/**
 * Where admin acts go. The org's log is built later; until then (and afterwards, as its
 * input queue) acts are appended to `audit_pending` in the same transaction as the act
 * itself, so an act is never committed without its audit entry.
 */
import type { OrgId } from '../ids.js';
import type { AuditEvent } from '../store/records.js';
import type { Stores } from '../store/stores.js';

/** Records admin acts for the org's log. */
export interface AuditSink {
  /** Records `event` using `tx`, which MUST be the transaction that performs the act. */
  record(tx: Stores, orgId: OrgId, event: AuditEvent): Promise<void>;
}

/** The AuditSink that appends to the `audit_pending` table for the sequencer to pick up. */
export const pendingTableAuditSink: AuditSink = {
  async record(tx, orgId, event) {
    await tx.auditPending.append(orgId, event);
  },
};
