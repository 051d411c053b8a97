/**
 * The hash by which a console finds an act in the verified log: the SHA-256 of the act's
 * document, deterministic CBOR `{org, kind, act, sub, at[, det]}` (detail left out when null),
 * exactly as the server builds it (server log-service/audit-sequencing.ts auditDocument) and
 * its log entry commits to (docs/log.md §10, "Admin acts"). One function for every check that
 * rebuilds an act (policy, acknowledgements, alerts, holds, dispositions), so a change to the
 * document lands in all of them.
 */
import { createHash } from 'node:crypto';
import { encodeDeterministicCbor } from '@custos/core';

/** SHA-256 (hex) of an audit act's document, as the server's log entry commits to. */
export function auditDocumentHash(
  orgId: string,
  act: { kind: string; actor: string; subject: string; at: number; detail: string | null },
): string {
  const doc: Record<string, string | number> = {
    org: orgId,
    kind: act.kind,
    act: act.actor,
    sub: act.subject,
    at: act.at,
  };
  if (act.detail !== null) doc.det = act.detail;
  return createHash('sha256').update(encodeDeterministicCbor(doc)).digest('hex');
}
