/**
 * A disposition plan's leaf spans and `leaves` digests, checked against the org's log as the
 * console verified it (completeness/verified-log.ts: every entry, hashed to a checkpoint
 * signed by the pinned log key). Every record the server stores has an `archive-record`
 * entry naming its bucket, so the records a plan disposes of and holds are among the
 * bucket's entries inside the plan's span. Per planned bucket with records:
 *
 * - the span lies within the verified log, and both its ends are `archive-record` entries of
 *   the bucket;
 * - the span holds at least as many of the bucket's entries as the plan disposes of and holds;
 * - when it holds exactly as many as it disposes of and none is held, those entries are the
 *   disposed leaves, and their digest (core LeafDigest) must be the plan's `leaves`.
 *
 * Not recomputed (the console cannot tell which leaves they are): the digest of a bucket with
 * held records (the plan counts them; the server stores which, and serves none), or one whose
 * span also holds entries of records an earlier disposition destroyed.
 */
import { LeafDigest, type DispositionPlan, type PlannedBucket } from '@custos/core';
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

/** Checks every planned bucket's span, counts and, where they pin the leaves down, its digest; PLAN_INVALID names the bucket. */
export function checkPlanLeaves(plan: DispositionPlan, log: VerifiedLogEntries): void {
  const ofBucket = new Map<string, number[]>(plan.buckets.map((b) => [b.bucketId, []]));
  for (const { index, entry } of log.entries) {
    if (entry.type === 'archive-record' && entry.org === plan.orgId) ofBucket.get(entry.bucket)?.push(index);
  }
  for (const b of plan.buckets) {
    if (b.span === null) continue;
    const [first, last] = b.span;
    if (last >= log.treeSize) {
      refuse(b, `its leaf span ends at ${last}, past the ${log.treeSize} entries of the verified log`);
    }
    // Entries come in index order, so the bucket's list is ascending.
    const inSpan = ofBucket.get(b.bucketId)!.filter((i) => i >= first && i <= last);
    if (inSpan[0] !== first || inSpan.at(-1) !== last) {
      refuse(
        b,
        `its leaf span ${first}–${last} does not start and end at archive records of this bucket in the log`,
      );
    }
    if (inSpan.length < b.records + b.held) {
      refuse(
        b,
        `the plan counts ${b.records} record(s) to dispose of and ${b.held} held in leaves ${first}–${last}, ` +
          `the log has ${inSpan.length} archive record(s) of this bucket there`,
      );
    }
    if (b.held === 0 && inSpan.length === b.records) {
      const digest = new LeafDigest();
      for (const i of inSpan) digest.add(i);
      if (Buffer.compare(Buffer.from(digest.digest()), Buffer.from(b.leaves)) !== 0) {
        refuse(b, `its leaves digest is not that of its ${b.records} archive record(s) in the log`);
      }
    }
  }
}
