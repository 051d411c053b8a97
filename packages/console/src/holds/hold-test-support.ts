/**
 * Tests' `hold` log entries: the entry the server logs for a hold act (server
 * holds/hold-acts.ts), its hash over the act's document, so the hold-log check meets what a
 * server writes.
 */
import type { LogEntry } from '@custos/core';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
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
