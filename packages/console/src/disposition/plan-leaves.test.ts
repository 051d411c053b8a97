/**
 * A plan's leaf spans, held leaves, counts and `leaves` digests against the verified log
 * (plan-leaves.ts): the digest is recomputed for every bucket from its `archive-record`
 * entries in the span, less the held leaves the server lists and those earlier verified
 * dispositions accounted for, and a plan that does not give it is refused, naming the bucket.
 */
import { LeafDigest, type DispositionPlan, type LogEntry, type PlannedBucket } from '@custos/core';
import { describe, expect, it } from 'vitest';
import { accountDisposed, type CertifiedDisposition } from '../completeness/disposed-records.js';
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

const NONE = new Map<string, number[]>();
const check = (plan: DispositionPlan, held = NONE, disposed: ReadonlySet<number> = new Set()): void =>
  checkPlanLeaves(plan, log, held, disposed);

function refusal(plan: DispositionPlan, held = NONE, disposed: ReadonlySet<number> = new Set()): string {
  try {
    check(plan, held, disposed);
  } catch (e) {
    if (isConsoleError(e, 'PLAN_INVALID')) return e.message;
    throw e;
  }
  throw new Error('the plan was accepted');
}

describe('checkPlanLeaves', () => {
  it("accepts a bucket's leaves recomputed from the log, less those held and those disposed of earlier", () => {
    expect(() => check(planOf(bucketA()))).not.toThrow();
    const held = bucketA({ records: 3, held: 1, leaves: digestOf([1, 3, 7]) });
    expect(() => check(planOf(held), new Map([['a-2026-01', [4]]]))).not.toThrow();
    // Leaves 3 and 4 destroyed by an earlier verified disposition.
    const rest = bucketA({ records: 2, leaves: digestOf([1, 7]) });
    expect(() => check(planOf(rest), NONE, new Set([3, 4]))).not.toThrow();
    expect(() => check(planOf(bucketA({ records: 0, span: null, leaves: digestOf([]) })))).not.toThrow();
  });

  it('refuses a leaves digest that is not that of the bucket’s records in the log', () => {
    // Another bucket's leaf in place of one of A's: same count, another digest.
    expect(refusal(planOf(bucketA({ leaves: digestOf([1, 2, 4, 7]) })))).toContain(
      "bucket a-2026-01 in the server's disposition plan: the log's records of the bucket in the plan's span, less those held, do not hash to the plan's leaf digest",
    );
    // Counts alone no longer pass: two records the plan says were disposed of earlier were not.
    expect(refusal(planOf(bucketA({ records: 2, leaves: digestOf([1, 7]) })))).toContain(
      'the plan counts 2 record(s) to dispose of, the log has 4 of the bucket in its span',
    );
  });

  it('refuses a plan whose digest covers held records, which completeness would then accept as disposed', () => {
    // Bucket B: 5 records, leaf 6 under a custodian hold. The server plans 4 to dispose of and
    // 1 held, but its digest covers the held leaf 6 and leaves out 9, which it keeps and would
    // list as "held" at completeness time, so the plan's digest would account 6 as disposed.
    const b: PlannedBucket = {
      ...bucketA(),
      bucketId: 'b-2026-01',
      records: 4,
      held: 1,
      span: [2, 9],
      leaves: digestOf([2, 5, 6, 8]),
    };
    const held = new Map([['b-2026-01', [6]]]);
    expect(refusal(planOf(b), held)).toContain(
      "bucket b-2026-01 in the server's disposition plan: the log's records of the bucket in the plan's span, less those held, do not hash",
    );
    // The honest plan passes, and completeness accounts exactly its leaves, never the held one.
    const honest = { ...b, leaves: digestOf([2, 5, 8, 9]) };
    expect(() => check(planOf(honest), held)).not.toThrow();
    const certified: CertifiedDisposition = {
      certificateHash: 'c'.repeat(64),
      logIndex: 10,
      entries: [{ bucketId: 'b-2026-01', records: 4 }],
      planId: 'p'.repeat(64),
      plan: planOf(honest),
      certificate: {
        orgId: ORG,
        planHash: new Uint8Array(32),
        executedAt: 1,
        approvals: [],
        buckets: [{ bucketId: 'b-2026-01', records: 4, held: 1, keysDestroyed: false }],
      },
      approvers: [0, 1],
      heldLeaves: held,
      problem: null,
    };
    expect([...accountDisposed(ORG, entries, [certified]).leaves]).toEqual([2, 5, 8, 9]);
  });

  it('refuses held leaves the plan does not count, out of order, or not the bucket’s records in its span', () => {
    const b = bucketA({ records: 2, held: 2, leaves: digestOf([1, 7]) });
    expect(() => check(planOf(b), new Map([['a-2026-01', [3, 4]]]))).not.toThrow();
    expect(refusal(planOf(b), new Map([['a-2026-01', [3]]]))).toContain(
      'the server lists 1 held leaf(s), the plan counts 2',
    );
    expect(refusal(planOf(b), new Map([['a-2026-01', [4, 3]]]))).toContain(
      'not ascending without duplicates',
    );
    expect(refusal(planOf(b), new Map([['a-2026-01', [3, 3]]]))).toContain(
      'not ascending without duplicates',
    );
    expect(refusal(planOf(b), new Map([['a-2026-01', [3, 5]]]))).toContain(
      "held leaf 5 is not an archive record of this bucket in the plan's span",
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
    expect(refusal(planOf(bucketA({ records: 4, held: 1 })), new Map([['a-2026-01', [4]]]))).toContain(
      'the plan counts 4 record(s) to dispose of, the log has 3 of the bucket in its span',
    );
  });
});
