/**
 * What the officer's console checks in a disposition plan before it signs it or runs it
 * (docs/officers.md "Retention and disposition"). The plan comes from the server, which the
 * officer does not trust: a server or admin could name a permanent bucket, or one whose
 * retention has not run out, under a label that looks expired, and m officers would sign it.
 * So every planned bucket is checked against what the org signed and what this machine knows:
 *
 * - its bucket-key document verifies under the org's key-manager chain (pinned org key), for
 *   this org and this bucket id;
 * - the plan's class and period are the document's;
 * - its expiry, recomputed from the document's class and window by core's retention table
 *   (retention-classes.ts, the one the server plans by), is the plan's and lies at or before
 *   the plan's as-of date;
 * - the as-of date is not after this machine's clock (a plan "as of 2100" is a preview only);
 * - its held count agrees with the holds the officer can list: records are held only where a
 *   hold not released before the plan was made can reach the bucket, and none is disposed of
 *   where an active date hold placed before the plan reaches every record the bucket can take.
 *
 * The holds and the plan's date are the server's word until held against the verified log
 * (officer-disposition.ts): the listing must agree with the log's hold acts
 * (holds/hold-log-check.ts), and the plan's `disposition-plan` act must be in the log with
 * the plan's id, date and counts ({@link planActProblems}).
 *
 * Each failure is PLAN_INVALID naming the bucket and what is wrong; nothing is signed then.
 */
import {
  BUCKET_LATE_UPLOAD_GRACE_MS,
  bucketExpiry,
  DATE_HOLD_LATE_UPLOAD_MS,
  DATE_HOLD_LEAD_MS,
  type BucketKeyDocument,
  type DispositionPlan,
  type PlannedBucket,
} from '@custos/core';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import type { IndexedEntry } from '../completeness/verified-log.js';
import { ConsoleError } from '../console-error.js';
import type { HoldListing } from '../holds/officer-holds.js';
import { verifyBucketUnderChain, type DelegationLink } from '../key-manager-chain.js';

/** What a hold listing must say for the held-count check. */
export type PlanHold = Pick<
  HoldListing,
  'holdId' | 'kind' | 'from' | 'to' | 'buckets' | 'createdAt' | 'releasedAt'
>;

/** What the console checks a plan against, all of it verified or this machine's own. */
export interface PlanEvidence {
  /** The org's key-manager delegations, verified with the pinned org signing key. */
  readonly chain: readonly DelegationLink[];
  /** The bucket-key documents the server lists, by bucket id (verified here). */
  readonly documents: ReadonlyMap<string, Uint8Array>;
  /** Every hold the officer can list, active and released. */
  readonly holds: readonly PlanHold[];
  /** This machine's clock (ms). */
  readonly now: number;
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function refuse(bucketId: string | null, what: string): never {
  const subject =
    bucketId === null
      ? "the server's disposition plan"
      : `bucket ${bucketId} in the server's disposition plan`;
  throw new ConsoleError(
    'PLAN_INVALID',
    `${subject}: ${what}: do not sign or run it; stop and tell the other officers`,
  );
}

/** The bucket's document, verified under the chain and naming this org and bucket. */
function verifiedDocument(orgId: string, b: PlannedBucket, e: PlanEvidence): BucketKeyDocument {
  const bytes = e.documents.get(b.bucketId);
  if (bytes === undefined) refuse(b.bucketId, 'the server lists no signed document for it');
  let doc: BucketKeyDocument;
  try {
    doc = verifyBucketUnderChain(bytes, e.chain).doc;
  } catch {
    refuse(b.bucketId, "its bucket document does not verify against the org's keys");
  }
  if (doc.org !== orgId || doc.bucket !== b.bucketId)
    refuse(b.bucketId, 'its signed document names another organisation or bucket');
  return doc;
}

/** Whether `h` could have held records of the bucket when the plan was made (over-approximated). */
function mayReach(h: PlanHold, doc: BucketKeyDocument, madeAt: number): boolean {
  if (h.releasedAt !== null && h.releasedAt < madeAt) return false;
  if (h.kind === 'custodian') return true;
  if (h.kind === 'query' || h.kind === 'conversation') return h.buckets.includes(doc.bucket);
  if (h.from === null || h.to === null) return true;
  // Records reach a bucket until its window's end plus the late-upload grace; a device whose
  // clock runs ahead may seal to it a little before its window: allow the hold's late margin.
  const first = doc.notBefore - DATE_HOLD_LATE_UPLOAD_MS;
  const last = doc.notAfter + BUCKET_LATE_UPLOAD_GRACE_MS;
  return h.from - DATE_HOLD_LEAD_MS <= last && h.to + DATE_HOLD_LATE_UPLOAD_MS > first;
}

/**
 * Whether `h`, active now and placed before the plan was made, holds every record the bucket
 * can take: a date hold whose received-time reach covers the bucket's window and grace.
 */
function holdsAll(h: PlanHold, doc: BucketKeyDocument, madeAt: number): boolean {
  if (h.kind !== 'dates' || h.releasedAt !== null || h.createdAt >= madeAt) return false;
  if (h.from === null || h.to === null) return false;
  return (
    h.from - DATE_HOLD_LEAD_MS <= doc.notBefore &&
    h.to + DATE_HOLD_LATE_UPLOAD_MS > doc.notAfter + BUCKET_LATE_UPLOAD_GRACE_MS
  );
}

/** Checks one planned bucket; PLAN_INVALID naming it and what is wrong. */
function checkBucket(plan: DispositionPlan, b: PlannedBucket, e: PlanEvidence): void {
  const doc = verifiedDocument(plan.orgId, b, e);
  if (doc.retentionClass !== b.retentionClass)
    refuse(
      b.bucketId,
      `the plan says class ${b.retentionClass}, its signed document says ${doc.retentionClass}`,
    );
  if (doc.period !== b.period)
    refuse(b.bucketId, `the plan says period ${b.period}, its signed document says ${doc.period}`);
  const expiry = bucketExpiry(doc);
  if (expiry === null) refuse(b.bucketId, `its class ${doc.retentionClass} is never disposed of`);
  if (b.expiresAt !== expiry) {
    refuse(
      b.bucketId,
      `the plan says it expired ${day(b.expiresAt)}, its class and window say ${day(expiry)}`,
    );
  }
  if (expiry > plan.asOf)
    refuse(
      b.bucketId,
      `its retention runs until ${day(expiry)}, after the plan's as-of date ${day(plan.asOf)}`,
    );
  if (b.held > 0 && !e.holds.some((h) => mayReach(h, doc, plan.madeAt)))
    refuse(b.bucketId, `the plan keeps ${b.held} record(s) held, yet no hold you can list reaches it`);
  const all = e.holds.find((h) => holdsAll(h, doc, plan.madeAt));
  if (b.records > 0 && all !== undefined) {
    refuse(
      b.bucketId,
      `the plan disposes of ${b.records} record(s) though date hold ${all.holdId} holds every record it can take`,
    );
  }
}

/**
 * Checks every bucket of `plan` against `e` (see the module comment); throws PLAN_INVALID at
 * the first one that fails, naming it. A plan whose as-of date is after `e.now` is refused
 * whatever it holds.
 */
export function checkPlanBuckets(plan: DispositionPlan, e: PlanEvidence): void {
  if (plan.asOf > e.now) {
    refuse(
      null,
      `its as-of date ${day(plan.asOf)} is after this machine's clock (${day(e.now)}): ` +
        'only a plan as of today or earlier can be approved or run',
    );
  }
  for (const b of plan.buckets) checkBucket(plan, b, e);
}

/**
 * The plan's own act in the verified log: an audit event `disposition-plan` whose hash
 * commits to the plan's id, its `madeAt` and its bucket and record counts (server
 * disposition/plan-making.ts). Empty when it is there; else what is wrong. Without it the
 * plan's date, which the hold checks compare placing and release times with, would be the
 * server's word.
 */
export function planActProblems(
  orgId: string,
  planId: string,
  plan: DispositionPlan,
  entries: readonly IndexedEntry[],
): string[] {
  const records = plan.buckets.reduce((n, b) => n + b.records, 0);
  const detail = `buckets=${plan.buckets.length} records=${records}`;
  const logged = entries.some(
    ({ entry: e }) =>
      e.type === 'audit-event' &&
      e.kind === 'disposition-plan' &&
      e.time === plan.madeAt &&
      Buffer.from(e.hash).toString('hex') ===
        auditDocumentHash(orgId, {
          kind: 'disposition.plan',
          actor: e.actor,
          subject: planId,
          at: plan.madeAt,
          detail,
        }),
  );
  return logged
    ? []
    : [`no act in the log made plan ${planId.slice(0, 16)}… at ${new Date(plan.madeAt).toISOString()}`];
}

/** PLAN_INVALID for what the hold listing or the plan's date disagree with the log on. */
export function refuseLogDisagreement(problems: readonly string[]): never {
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  refuse(null, `it or the hold listing disagrees with the org's verified log: ${problems[0] ?? ''}${more}`);
}
