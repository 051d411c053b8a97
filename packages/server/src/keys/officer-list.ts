/**
 * Changing the org's officers (docs/officers.md §5, `custos org officers add|remove`): a quorum
 * recovers the org signing key and signs the complete new officer list. The server replaces
 * its officer keys and quorum only with a list that verifies with the org signing key, names
 * this org, is newer than the last list and was issued about now; users the list names under
 * `usr` lose the role officer (a removed officer's devices can no longer call officer routes).
 * The change is an `officers.change` audit act (and a `user.role` act per demoted user) in the
 * same transaction.
 *
 * The document's format and shape checks are core's (org-docs/officer-list.ts).
 */
import { createHash } from 'node:crypto';
import { isCustosError, openOfficerList, type OfficerList } from '@custos/core';
import type { AuditSink } from '../audit/audit-sink.js';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId, UserId } from '../ids.js';
import type { OfficerKey } from '../store/records.js';
import type { Stores } from '../store/stores.js';

/** How far a list's issue time may lie from the server's clock. */
export const OFFICER_LIST_SKEW_MS = 10 * 60_000;

/** The officers and quorum after a change, and whether this call changed anything. */
export interface OfficersChanged {
  readonly officers: readonly OfficerKey[];
  readonly quorum: number;
  readonly changed: boolean;
  readonly demoted: readonly string[];
}

/** Verifies `document` and installs it as the org's officer list; the last list again is idempotent. */
export async function changeOfficers(
  stores: Stores,
  audit: AuditSink,
  orgId: OrgId,
  actor: DeviceId,
  document: Uint8Array,
  now: number,
): Promise<OfficersChanged> {
  return stores.withTransaction(async (tx) => {
    const org = await tx.orgs.get(orgId);
    if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
    const last = await tx.orgs.lastOfficerListChange(orgId);
    if (last !== undefined && Buffer.compare(last.document, Buffer.from(document)) === 0)
      return { officers: org.officers, quorum: org.officerQuorum, changed: false, demoted: [] };
    let list: OfficerList;
    try {
      list = openOfficerList(document, org.signingPublicKey);
    } catch (e) {
      const why = isCustosError(e) ? e.message : 'does not verify';
      throw new ServerError('OFFICER_LIST_INVALID', `body.document: ${why}`, { cause: e });
    }
    const invalid = (why: string) => new ServerError('OFFICER_LIST_INVALID', `body.document: ${why}`);
    if (list.org !== orgId) throw invalid('names another organisation');
    if (Math.abs(list.issuedAt - now) > OFFICER_LIST_SKEW_MS)
      throw invalid(
        `must be issued now (within ${OFFICER_LIST_SKEW_MS / 60_000} minutes of the server's clock)`,
      );
    if (list.issuedAt <= (last?.issuedAt ?? org.createdAt))
      throw invalid('is not newer than the current officer list');
    const demoted: string[] = [];
    for (const userId of list.demote) {
      const user = await tx.users.get(orgId, userId as UserId);
      if (user === undefined)
        throw new ServerError('USER_NOT_FOUND', `body.document: usr names no user: ${userId}`);
      if (user.role !== 'officer') throw invalid(`usr: user ${userId} is not an officer`);
      await tx.users.setRole(orgId, userId as UserId, 'member');
      await audit.record(tx, orgId, {
        kind: 'user.role',
        actorDeviceId: actor,
        subject: userId,
        detail: 'member',
        at: now,
      });
      demoted.push(userId);
    }
    const officers = list.officers.map((o) => ({ index: o.index, publicKey: Buffer.from(o.publicKey) }));
    await tx.orgs.replaceOfficers(orgId, officers, list.quorum, {
      seq: (last?.seq ?? 0) + 1,
      document: Buffer.from(document),
      issuedAt: list.issuedAt,
      changedBy: actor,
      changedAt: now,
    });
    const before = new Set(org.officers.map((o) => o.index));
    const after = new Set(officers.map((o) => o.index));
    const added = [...after].filter((i) => !before.has(i));
    const removed = [...before].filter((i) => !after.has(i));
    await audit.record(tx, orgId, {
      kind: 'officers.change',
      actorDeviceId: actor,
      subject: 'officers',
      detail:
        `n=${officers.length} m=${list.quorum} added=${added.join(',') || '-'} removed=${removed.join(',') || '-'} ` +
        `list-sha256=${createHash('sha256').update(document).digest('hex')}`,
      at: now,
    });
    return { officers, quorum: list.quorum, changed: true, demoted };
  });
}
