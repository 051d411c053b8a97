/**
 * Sequencing: the first half of the log lifecycle (Tessera's split). A business
 * transaction — archive ingest, a relay receipt, an admin act, a key registration —
 * assigns its entries consecutive indexes in the org's log and stores them, inside its
 * own transaction, so the act and its log entries commit together or not at all.
 * Integration into the Merkle tree and checkpoint signing happen later (integration.ts).
 */
import { ServerError } from '../errors.js';
import type { OrgId } from '../ids.js';
import type { Stores } from '../store/stores.js';
import { DEFAULT_MAX_PENDING_ENTRIES } from './log-defaults.js';

/**
 * Assigns `entries` (encoded core log entries) the next indexes of the org's log and
 * stores them, using `tx`, which MUST be the transaction that performs the act. Resolves
 * to the first index. Throws LOG_PUSHBACK when the integrator is too far behind.
 */
export async function sequenceEntries(
  tx: Stores,
  orgId: OrgId,
  entries: readonly Uint8Array[],
  maxPending: number = DEFAULT_MAX_PENDING_ENTRIES,
): Promise<number> {
  if (entries.length === 0) return (await tx.log.backlog(orgId)).nextIndex;
  const backlog = await tx.log.backlog(orgId);
  if (backlog.nextIndex - backlog.treeSize + entries.length > maxPending) {
    throw new ServerError(
      'LOG_PUSHBACK',
      `the log has ${backlog.nextIndex - backlog.treeSize} entries waiting for integration; retry shortly`,
    );
  }
  return tx.log.sequence(orgId, entries);
}
