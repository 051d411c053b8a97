/**
 * A plan's leaf spans, counts and `leaves` digests against the verified log (plan-leaves.ts):
 * the digest is recomputed from the bucket's `archive-record` entries where the counts pin
 * the leaves down, and a span or count the log cannot hold is refused, naming the bucket.
 */
import { LeafDigest, type DispositionPlan, type LogEntry, type PlannedBucket } from '@custos/core';
import { describe, expect, it } from 'vitest';
import type { IndexedEntry } from '../completeness/verified-log.js';
import { isConsoleError } from '../console-error.js';
import { checkPlanLeaves } from './plan-leaves.js';

const ORG = 'org-1';
const common = { hash: new Uint8Array(32), size: 1, actor: 'dev-1', time: 0 };
const record = (index: number, bucket: string, seq = index): IndexedEntry => ({
  index,
  entry: { ...common, type: 'archive-record', org: ORG, device: 'dev-1', seq, bucket } as LogEntry,
});
const keyEvent = (index: number): IndexedEntry => ({
  index,
  entry: { ...common, type: 'key-event', kind: 'bucket-key-published', subject: 'b' },
});
/** Leaves 0–9: a key event, then bucket A at 1, 3, 4, 7 and bucket B at 2, 5, 6, 8, 9. */
const entries: IndexedEntry[] = [
  keyEvent(0),
  ...[1, 3, 4, 7].map((i) => record(i, 'a-2026-01')),
  ...[2, 5, 6, 8, 9].map((i) => record(i, 'b-2026-01')),
].sort((x, y) => x.index - y.index);
const log = { treeSize: 10, entries };

const digestOf = (indexes: number[]): Uint8Array => {
  const d = new LeafDigest();
  for (const i of indexes) d.add(i);
  return d.digest();
};
const bucketA = (change: Partial<PlannedBucket> = {}): PlannedBucket => ({
  bucketId: 'a-2026-01',
  retentionClass: 'transitory',
  period: '2026-01',
  expiresAt: 0,
  records: 4,
  held: 0,
  span: [1, 7],
  leaves: digestOf([1, 3, 4, 7]),
  ...change,
});
const planOf = (...buckets: PlannedBucket[]): DispositionPlan => ({
  orgId: ORG,
  asOf: 1,
  madeAt: 1,
  buckets,
});

function refusal(plan: DispositionPlan): string {
  try {
    checkPlanLeaves(plan, log);
  } catch (e) {
    if (isConsoleError(e, 'PLAN_INVALID')) return e.message;
    throw e;
  }
  throw new Error('the plan was accepted');
}

describe('checkPlanLeaves', () => {
  it("accepts a bucket's leaves recomputed from the log, and counts it cannot pin down", () => {
    expect(() => checkPlanLeaves(planOf(bucketA()), log)).not.toThrow();
    // Held records, or entries of records an earlier disposition destroyed: counts only.
    const held = bucketA({ records: 3, held: 1, leaves: digestOf([1, 3, 7]) });
    expect(() => checkPlanLeaves(planOf(held), log)).not.toThrow();
    const fewer = bucketA({ records: 2, leaves: digestOf([1, 7]) });
    expect(() => checkPlanLeaves(planOf(fewer), log)).not.toThrow();
    expect(() => checkPlanLeaves(planOf(bucketA({ records: 0, span: null })), log)).not.toThrow();
  });

  it('refuses a leaves digest that is not that of the bucket’s records in the log', () => {
    // Another bucket's leaf in place of one of A's: same count, another digest.
    expect(refusal(planOf(bucketA({ leaves: digestOf([1, 2, 4, 7]) })))).toContain(
      "bucket a-2026-01 in the server's disposition plan: its leaves digest is not that of its 4 archive record(s) in the log",
    );
  });

  it('refuses a span past the verified log, or one not bounded by the bucket’s records', () => {
    expect(refusal(planOf(bucketA({ span: [1, 12] })))).toContain(
      'its leaf span ends at 12, past the 10 entries of the verified log',
    );
    expect(refusal(planOf(bucketA({ span: [1, 8] })))).toContain(
      'its leaf span 1–8 does not start and end at archive records of this bucket in the log',
    );
    expect(refusal(planOf(bucketA({ span: [0, 7] })))).toContain('does not start and end');
  });

  it('refuses more records than the bucket has in its span', () => {
    expect(refusal(planOf(bucketA({ records: 4, held: 1 })))).toContain(
      'the plan counts 4 record(s) to dispose of and 1 held in leaves 1–7, the log has 4 archive record(s) of this bucket there',
    );
  });
});
