/**
 * Making a disposition plan: every registered bucket of the org that expired by `asOf`,
 * whose keys no earlier disposition destroyed and that can no longer take records at the
 * server's time (bucket-readiness.ts), with its records counted into "dispose" and "held"
 * (legal holds, holds/held-records.ts), its leaf span and the digest of the leaves to
 * dispose. Buckets expired by `asOf` that still take records are left out and named apart.
 * The plan is stored under its hash (its id; officers approve that id); it names when it was
 * made, so a later plan of the same buckets and date is a new plan.
 */
import {
  bucketExpiry,
  dispositionPlanHash,
  encodeDispositionPlan,
  LeafDigest,
  MAX_PLAN_BUCKETS,
  type PlannedBucket,
} from '@custos/core';
import type { AuditSink } from '../audit/audit-sink.js';
import { ServerError } from '../errors.js';
import { bucketHolds } from '../holds/held-records.js';
import type { DeviceId, OrgId } from '../ids.js';
import type { BucketRecord } from '../store/bucket-stores.js';
import type { PlanRecord } from '../store/disposition-stores.js';
import type { Stores } from '../store/stores.js';
import { stillAcceptingError, waitingBucket, type WaitingBucket } from './bucket-readiness.js';
import { BUCKET_PAGE, PLAN_PAGE_RECORDS } from './disposition-defaults.js';

/** A bucket's counts as planned, with the leaves held then. */
interface CountedBucket {
  readonly planned: PlannedBucket;
  readonly held: number[];
}

/** Every registered bucket of the org. */
export async function allBuckets(stores: Stores, orgId: OrgId): Promise<BucketRecord[]> {
  const out: BucketRecord[] = [];
  for (;;) {
    const page = await stores.buckets.list(orgId, out.at(-1)?.bucketId ?? null, BUCKET_PAGE);
    out.push(...page);
    if (page.length < BUCKET_PAGE) return out;
  }
}

/** Counts one bucket's records in one transaction (the holds answer is taken under the hold lock). */
async function countBucket(
  stores: Stores,
  orgId: OrgId,
  b: BucketRecord,
  expiresAt: number,
): Promise<CountedBucket> {
  return stores.withTransaction(async (tx) => {
    const holds = await bucketHolds(tx, orgId, b.bucketId);
    const digest = new LeafDigest();
    const held: number[] = [];
    let records = 0;
    let first = -1;
    let last = -1;
    for (let after = -1; ;) {
      const page =
        holds.holdIds.length === 0
          ? (await tx.disposition.bucketLeaves(orgId, b.bucketId, after, PLAN_PAGE_RECORDS)).map(
              (logIndex) => ({
                logIndex,
                held: false,
              }),
            )
          : (await tx.disposition.bucketRecords(orgId, b.bucketId, after, PLAN_PAGE_RECORDS)).map((r) => ({
              logIndex: r.logIndex,
              held: holds.isHeld(r),
            }));
      for (const r of page) {
        if (first < 0) first = r.logIndex;
        last = r.logIndex;
        if (r.held) {
          held.push(r.logIndex);
        } else {
          records++;
          digest.add(r.logIndex);
        }
      }
      if (page.length < PLAN_PAGE_RECORDS) break;
      after = last;
    }
    return {
      planned: {
        bucketId: b.bucketId,
        retentionClass: b.retentionClass,
        period: b.period,
        expiresAt,
        records,
        held: held.length,
        span: first < 0 ? null : [first, last],
        leaves: digest.digest(),
      },
      held,
    };
  });
}

/** A plan as made, with the buckets expired by its date that it leaves out because they still take records. */
export interface MadePlan {
  readonly plan: PlanRecord;
  readonly notYetDisposable: readonly WaitingBucket[];
}

/**
 * Makes (or finds) the plan for `asOf` and stores it; a new plan is an audit act
 * `disposition.plan` (subject: the plan id; detail: bucket and record counts). A bucket that
 * still takes records at `now` is never planned, whatever `asOf` says. NOTHING_TO_DISPOSE, and
 * nothing stored, when no bucket has expired by `asOf`; BUCKET_STILL_ACCEPTING naming them
 * when every bucket that has still takes records.
 */
export async function makePlan(
  stores: Stores,
  audit: AuditSink,
  orgId: OrgId,
  asOf: number,
  by: DeviceId,
  now: number,
): Promise<MadePlan> {
  const done = await stores.disposition.disposedBuckets(orgId);
  const candidates = (await allBuckets(stores, orgId))
    .map((b) => ({ b, expiresAt: bucketExpiry(b) }))
    .filter((x): x is { b: BucketRecord; expiresAt: number } => x.expiresAt !== null && x.expiresAt <= asOf)
    .filter((x) => !done.has(x.b.bucketId));
  const notYetDisposable = candidates.flatMap((x) => waitingBucket(x.b, now) ?? []);
  const expired = candidates
    .filter((x) => !notYetDisposable.some((w) => w.bucketId === x.b.bucketId))
    .slice(0, MAX_PLAN_BUCKETS);
  // An empty plan would be stored, audited and listed for nothing: say so instead.
  if (expired.length === 0 && notYetDisposable.length > 0)
    throw stillAcceptingError(notYetDisposable, 'no plan made; make one again from then');
  if (expired.length === 0)
    throw new ServerError('NOTHING_TO_DISPOSE', 'no bucket has expired by then that is not yet disposed');
  const counted: CountedBucket[] = [];
  for (const { b, expiresAt } of expired) counted.push(await countBucket(stores, orgId, b, expiresAt));
  const bytes = encodeDispositionPlan({ orgId, asOf, madeAt: now, buckets: counted.map((c) => c.planned) });
  const planId = Buffer.from(dispositionPlanHash(bytes)).toString('hex');
  const record: PlanRecord = {
    planId,
    plan: Buffer.from(bytes),
    state: 'proposed',
    createdBy: by,
    createdAt: now,
    certificate: null,
    certificateLogIndex: null,
    executedBy: null,
    executedAt: null,
  };
  const held = new Map(counted.filter((c) => c.held.length > 0).map((c) => [c.planned.bucketId, c.held]));
  return stores.withTransaction(async (tx) => {
    if (await tx.disposition.putPlan(orgId, record, held)) {
      const n = counted.reduce((s, c) => s + c.planned.records, 0);
      await audit.record(tx, orgId, {
        kind: 'disposition.plan',
        actorDeviceId: by,
        subject: planId,
        detail: `buckets=${counted.length} records=${n}`,
        at: now,
      });
      return { plan: record, notYetDisposable };
    }
    const stored = await tx.disposition.plan(orgId, planId);
    if (stored === undefined) throw new Error('plan vanished');
    return { plan: stored, notYetDisposable };
  });
}
