/**
 * Admin acts into the org's log. The AuditSink used by the running server records each act
 * in `audit_pending` (which keeps the act's document) and sequences its log entry in the
 * same transaction, so an act never commits without its place in the log.
 *
 * Entry mapping (docs/log.md, server section): device registration and revocation are key
 * events (`device-enrolled`, `device-revoked`, subject = the device); `hold.create` and
 * `hold.release` are `hold` entries (`place`, `release`; hold id = subject); every other act is an
 * audit event whose kind is the act's kind with `.` replaced by `-` (`user.role` →
 * `user-role`). The entry's hash commits to the act's document, {@link auditDocument}.
 */
import { createHash } from 'node:crypto';
import { encodeActDocument, encodeLogEntry, type LogEntry } from '@custos/core';
import type { AuditSink } from '../audit/audit-sink.js';
import type { OrgId } from '../ids.js';
import type { AuditEvent } from '../store/records.js';
import type { Stores } from '../store/stores.js';
import { BOOTSTRAP_ACTOR } from './log-defaults.js';
import { sequenceEntries } from './sequencing.js';

/** The act's document: core's deterministic CBOR `{org, kind, act, sub, at[, det]}` (detail omitted when null). */
export function auditDocument(orgId: OrgId, e: AuditEvent): Uint8Array {
  return encodeActDocument({
    org: orgId,
    kind: e.kind,
    actor: e.actorDeviceId ?? BOOTSTRAP_ACTOR,
    subject: e.subject,
    at: e.at,
    detail: e.detail,
  });
}

/** The log entry that records the act. */
export function auditLogEntry(orgId: OrgId, e: AuditEvent): LogEntry {
  const doc = auditDocument(orgId, e);
  const common = {
    hash: createHash('sha256').update(doc).digest(),
    size: doc.length,
    actor: e.actorDeviceId ?? BOOTSTRAP_ACTOR,
    time: e.at,
  };
  if (e.kind === 'device.register')
    return { type: 'key-event', ...common, kind: 'device-enrolled', subject: e.subject };
  if (e.kind === 'device.revoke')
    return { type: 'key-event', ...common, kind: 'device-revoked', subject: e.subject };
  // Legal holds have their own entry type (architecture §6): subject = the hold id.
  if (e.kind === 'hold.create') return { type: 'hold', ...common, holdId: e.subject, action: 'place' };
  if (e.kind === 'hold.release') return { type: 'hold', ...common, holdId: e.subject, action: 'release' };
  return { type: 'audit-event', ...common, kind: e.kind.replaceAll('.', '-') };
}

/** The AuditSink of the running server: document row plus sequenced log entry, one transaction. */
export const sequencingAuditSink: AuditSink = {
  async record(tx: Stores, orgId: OrgId, event: AuditEvent): Promise<void> {
    await tx.auditPending.append(orgId, event);
    await sequenceEntries(tx, orgId, [encodeLogEntry(auditLogEntry(orgId, event))]);
  },
};
