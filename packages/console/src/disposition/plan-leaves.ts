/**
 * A disposition plan's leaf spans and `leaves` digests, checked against the org's log as the
 * console verified it (completeness/verified-log.ts: every entry, hashed to a checkpoint
 * signed by the pinned log key). Every record the server stores has an `archive-record`
 * entry naming its bucket, so the records a plan disposes of and holds are among the
 * bucket's entries inside the plan's span. Per planned bucket:
 *
 * - the span lies within the verified log, and both its ends are `archive-record` entries of
 *   the bucket;
 * - the leaves the server lists as held when the plan was made (`GET …?held=1`) are that many
 *   (the plan's `held`), ascending, and all the bucket's entries in the span;
 * - the bucket's entries in the span, less those held and less those earlier verified
 *   dispositions of the bucket accounted for (completeness/disposed-records.ts, on the same
 *   log), are the plan's `records` and hash (core LeafDigest) to its `leaves`.
 *
 * So the officer signs a digest it recomputed, and the completeness check later recomputes the
 * same leaves (plannedLeaves): a held record cannot hide among the disposed ones.
 *
 * Not checked here: which records are held is the server's word (its hold listing and held
 * leaves); a server that calls a record held keeps it out of the plan, it cannot destroy it
 * through the plan. Checking the held leaves against the log's hold acts is left for later.
 */
import { type DispositionPlan, type PlannedBucket } from '@custos/core';
import { plannedLeaves } from '../completeness/disposed-records.js';
import { ConsoleError } from '../console-error.js';
import type { IndexedEntry } from '../completeness/verified-log.js';

/** The verified log as the leaf check needs it. */
export interface VerifiedLogEntries {
  readonly treeSize: number;
  readonly entries: readonly IndexedEntry[];
}

function refuse(b: PlannedBucket, what: string): never {
  throw new ConsoleError(
    'PLAN_INVALID',
    `bucket ${b.bucketId} in the server's disposition plan: ${what}: ` +
      'do not sign or run it; stop and tell the other officers',
  );
}

/**
 * Checks every planned bucket's span, held leaves, counts and digest (module comment);
 * PLAN_INVALID names the bucket. `held` is the server's held-leaf list per bucket,
 * `disposed` the leaves earlier verified dispositions accounted for.
 */
export function checkPlanLeaves(
  plan: DispositionPlan,
  log: VerifiedLogEntries,
  held: ReadonlyMap<string, readonly number[]>,
  disposed: ReadonlySet<number>,
): void {
  const ofBucket = new Map<string, { index: number }[]>(plan.buckets.map((b) => [b.bucketId, []]));
  for (const { index, entry } of log.entries) {
    if (entry.type === 'archive-record' && entry.org === plan.orgId)
      ofBucket.get(entry.bucket)?.push({ index });
  }
  for (const b of plan.buckets) {
    // Entries come in index order, so the bucket's list is ascending.
    const entries = ofBucket.get(b.bucketId)!;
    if (b.span !== null) {
      const [first, last] = b.span;
      if (last >= log.treeSize) {
        refuse(b, `its leaf span ends at ${last}, past the ${log.treeSize} entries of the verified log`);
      }
      const inSpan = entries.filter((r) => r.index >= first && r.index <= last);
      if (inSpan[0]?.index !== first || inSpan.at(-1)?.index !== last) {
        refuse(
          b,
          `its leaf span ${first}–${last} does not start and end at archive records of this bucket in the log`,
        );
      }
    }
    const leaves = plannedLeaves(b, entries, held.get(b.bucketId) ?? [], disposed);
    if ('problem' in leaves) refuse(b, leaves.problem);
  }
}
