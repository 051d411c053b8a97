/**
 * The hash by which a console finds an act in the verified log: the SHA-256 of the act's
 * document (core encodeActDocument, which the server writes with too) that its log entry
 * commits to (docs/log.md §10, "Admin acts"). One function for every check that rebuilds an
 * act (policy, acknowledgements, alerts, holds, dispositions).
 */
import { createHash } from 'node:crypto';
import { encodeActDocument } from '@custos/core';

/** SHA-256 (hex) of an audit act's document, as the server's log entry commits to. */
export function auditDocumentHash(
  orgId: string,
  act: { kind: string; actor: string; subject: string; at: number; detail: string | null },
): string {
  return createHash('sha256')
    .update(encodeActDocument({ org: orgId, ...act }))
    .digest('hex');
}
