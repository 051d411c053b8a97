/**
 * Executing an approved disposition plan, bucket by bucket, step by step. Each step is one
 * transaction that does a bounded amount of work and moves the bucket's progress with a
 * compare-and-set, so a crash loses at most the step in flight (rolled back) and a re-run
 * continues where the last commit left off; re-doing a step deletes nothing twice.
 *
 * Per bucket: (1) posting rows of its tokens lose the disposed ids (a row left empty is
 * deleted); (2) the disposed records and their indexed-record rows are deleted; (3) if no
 * record of the bucket remains, its officer wraps (root included), sealed index keys and
 * wrapped session keys are deleted and the bucket is marked disposed. Every step asks
 * holds/held-records.ts inside its own transaction, and keeps every record held then or
 * when the plan was made: a disposition never destroys a held record. A bucket that keeps
 * records keeps its keys (they are needed to open the held records); a later plan, once
 * the holds are released, disposes of the rest and destroys the keys.
 *
 * When every bucket is done, the certificate (core `encodeDispositionCertificate`) is stored,
 * one `disposition` log entry per bucket (bucket, records disposed) commits to its SHA-256,
 * and the officer's act is the audit act `disposition.execute`.
 */
import { createHash } from 'node:crypto';
import {
  decodeDispositionPlan,
  decodeStrictCbor,
  encodeDispositionCertificate,
  encodeLogEntry,
  type BucketId,
  type PlannedBucket,
} from '@custos/core';
import type { AuditSink } from '../audit/audit-sink.js';
import type { BucketHolds } from '../holds/held-records.js';
import { bucketHolds } from '../holds/held-records.js';
import { ServerError } from '../errors.js';
import { sequenceEntries } from '../log-service/sequencing.js';
import type { DeviceId, OrgId } from '../ids.js';
import { decodePostings, encodePostings } from '../search/posting-codec.js';
import type {
  ApprovalRecord,
  BucketProgress,
  BucketRecordFacts,
  PlanRecord,
} from '../store/disposition-stores.js';
import type { Stores } from '../store/stores.js';
import { approvalVerifies, planOrThrow } from './approval.js';
import { assertDisposable } from './bucket-readiness.js';
import { POSTINGS_PER_STEP, RECORDS_PER_STEP, SESSION_KEY_PAGE } from './disposition-defaults.js';

/** What execution needs from the app. */
export interface ExecutionDeps {
  readonly stores: Stores;
  readonly audit: AuditSink;
  readonly clock: () => number;
}

/** Options of {@link executePlan}. */
export interface ExecuteOptions {
  /**
   * Stop starting new steps after this many ms (the caller calls again); default: run to the
   * end. Every call does at least one step, so any budget makes progress (0: one step per call).
   */
  readonly budgetMs?: number;
  /** Records one records step deletes (one transaction); default RECORDS_PER_STEP. */
  readonly recordsPerStep?: number;
  /** Called after each committed step (tests interrupt here). */
  readonly afterStep?: (bucketId: string, p: BucketProgress) => void | Promise<void>;
}

/**
 * The bucket's records in the plan's span, read once per call (they only shrink): their leaf
 * indexes (an index-only read), and their facts for holds only when a hold bears on the bucket.
 */
class BucketMembers {
  #leaves: Set<number> | undefined;
  #facts: Map<number, BucketRecordFacts> | undefined;
  constructor(
    private readonly orgId: OrgId,
    private readonly b: PlannedBucket,
  ) {}

  async leaves(tx: Stores): Promise<Set<number>> {
    if (this.#leaves !== undefined) return this.#leaves;
    const out = new Set<number>();
    if (this.b.span !== null) {
      const last = this.b.span[1];
      for (let after = this.b.span[0] - 1; ;) {
        const page = await tx.disposition.bucketLeaves(this.orgId, this.b.bucketId, after, RECORDS_PER_STEP);
        for (const i of page) if (i <= last) out.add(i);
        if (page.length < RECORDS_PER_STEP || page.at(-1)! > last) break;
        after = page.at(-1)!;
      }
    }
    return (this.#leaves = out);
  }

  async facts(tx: Stores): Promise<Map<number, BucketRecordFacts>> {
    if (this.#facts !== undefined) return this.#facts;
    const out = new Map<number, BucketRecordFacts>();
    if (this.b.span !== null) {
      const last = this.b.span[1];
      for (let after = this.b.span[0] - 1; ;) {
        const page = await tx.disposition.bucketRecords(this.orgId, this.b.bucketId, after, RECORDS_PER_STEP);
        for (const r of page) if (r.logIndex <= last) out.set(r.logIndex, r);
        if (page.length < RECORDS_PER_STEP || page.at(-1)!.logIndex > last) break;
        after = page.at(-1)!.logIndex;
      }
    }
    return (this.#facts = out);
  }
}

/** Whether a record must be kept: held when the plan was made, or held now. */
function keeper(planHeld: ReadonlySet<number>, holds: BucketHolds) {
  return (r: BucketRecordFacts): boolean =>
    planHeld.has(r.logIndex) || (holds.holdIds.length > 0 && holds.isHeld(r));
}

/** One postings step; resolves to the new progress. */
async function postingsStep(
  tx: Stores,
  orgId: OrgId,
  b: PlannedBucket,
  p: BucketProgress,
  planHeld: ReadonlySet<number>,
  members: BucketMembers,
): Promise<BucketProgress> {
  if (b.span === null) return { ...p, step: 'records', cursor: -1 };
  const [first, last] = b.span;
  const holds = await bucketHolds(tx, orgId, b.bucketId);
  const all = await members.leaves(tx);
  // Facts are read only when a hold bears on the bucket; otherwise only the plan's held leaves stay.
  const facts = holds.holdIds.length === 0 ? null : await members.facts(tx);
  const keep = keeper(planHeld, holds);
  const kept = (id: number): boolean => {
    const f = facts?.get(id);
    return planHeld.has(id) || (f !== undefined && keep(f));
  };
  // Rows are rewritten id by id when some ids stay: held ones, or records newer than the plan.
  const newer = (await tx.disposition.bucketLeaves(orgId, b.bucketId, last, 1)).length > 0;
  const anyKept = newer || planHeld.size > 0 || (facts !== null && [...facts.values()].some(keep));
  const after = p.cursor >= 0 ? p.cursor : ((await tx.disposition.blockAtOrBelow(orgId, first)) ?? first) - 1;
  let rows = await tx.disposition.postingHeads(orgId, after, last, POSTINGS_PER_STEP);
  const full = rows.length === POSTINGS_PER_STEP;
  if (full) {
    // Whole blocks only, so the cursor (a block) never splits one.
    const lastBlock = rows.at(-1)!.block;
    rows =
      rows[0]!.block === lastBlock
        ? await tx.disposition.postingHeads(orgId, after, lastBlock, Number.MAX_SAFE_INTEGER)
        : rows.filter((r) => r.block !== lastBlock);
  }
  const gone: { token: Buffer; block: number }[] = [];
  for (const r of rows) {
    // A token belongs to one bucket (tokens are keyed per bucket): its first id says which.
    const firstId = firstPostingId(r.head, r.block);
    if (firstId === undefined || !all.has(firstId)) continue;
    if (!anyKept) {
      gone.push(r);
      continue;
    }
    const ids = await tx.disposition.postingIds(orgId, r.token, r.block);
    if (ids === undefined) continue;
    const left = decodePostings(ids, r.block, r.n).filter((id) => !all.has(id) || kept(id));
    if (left.length === 0) gone.push(r);
    else if (left.length < r.n) {
      await tx.search.putPostings(orgId, [
        { token: r.token, block: r.block, n: left.length, ids: encodePostings(left, r.block) },
      ]);
    }
  }
  await tx.disposition.deletePostings(orgId, gone);
  if (!full) return { ...p, step: 'records', cursor: -1 };
  return { ...p, cursor: rows.at(-1)!.block };
}

/** One records step: deletes up to `perStep` of the bucket's records, keeping held ones. */
async function recordsStep(
  tx: Stores,
  orgId: OrgId,
  b: PlannedBucket,
  p: BucketProgress,
  planHeld: ReadonlySet<number>,
  perStep: number,
): Promise<BucketProgress> {
  if (b.span === null) return { ...p, step: 'keys', cursor: -1 };
  const last = b.span[1];
  const holds = await bucketHolds(tx, orgId, b.bucketId);
  const keep = keeper(planHeld, holds);
  const after = Math.max(p.cursor, b.span[0] - 1);
  const page =
    holds.holdIds.length === 0 && planHeld.size === 0
      ? (await tx.disposition.bucketLeaves(orgId, b.bucketId, after, perStep)).map((logIndex) => ({
          logIndex,
          keep: false,
        }))
      : (await tx.disposition.bucketRecords(orgId, b.bucketId, after, perStep)).map((r) => ({
          logIndex: r.logIndex,
          keep: keep(r),
        }));
  const inPlan = page.filter((r) => r.logIndex <= last);
  let disposed = 0;
  let held = 0;
  // Consecutive records of the bucket that go form one range: one range delete each.
  let lo = -1;
  let hi = -1;
  const flush = async () => {
    if (lo >= 0) disposed += await tx.disposition.deleteRecords(orgId, b.bucketId, lo, hi);
    lo = -1;
  };
  for (const r of inPlan) {
    if (r.keep) {
      held++;
      await flush();
    } else {
      if (lo < 0) lo = r.logIndex;
      hi = r.logIndex;
    }
  }
  await flush();
  const next = { ...p, disposed: p.disposed + disposed, held: p.held + held };
  if (inPlan.length < perStep) return { ...next, step: 'keys', cursor: -1 };
  return { ...next, cursor: inPlan.at(-1)!.logIndex };
}

/**
 * The keys step: destroys the bucket's keys if none of its records remain. It first takes
 * the bucket's lock exclusively (ingest holds it shared from its disposal check to its
 * commit), so a record committed by an ingest on any node is seen here and keeps the keys,
 * and an ingest after this step sees the bucket disposed and refuses (BUCKET_DISPOSED).
 */
async function keysStep(
  tx: Stores,
  orgId: OrgId,
  planId: string,
  b: PlannedBucket,
  p: BucketProgress,
  now: number,
): Promise<BucketProgress> {
  await tx.disposition.lockBucket(orgId, b.bucketId);
  if (await tx.disposition.bucketHasRecords(orgId, b.bucketId))
    return { ...p, step: 'done', keysDestroyed: false };
  await tx.disposition.deleteKeyBlobs(orgId, b.bucketId);
  for (let after: Buffer | null = null; ;) {
    const page = await tx.disposition.sessionKeys(orgId, after, SESSION_KEY_PAGE);
    const mine = page.filter((k) => sessionKeyBucket(k.wrapped) === b.bucketId).map((k) => k.keyId);
    await tx.disposition.deleteSessionKeys(orgId, mine);
    if (page.length < SESSION_KEY_PAGE) break;
    after = page.at(-1)!.keyId;
  }
  await tx.disposition.markDisposed(orgId, b.bucketId, planId, now);
  return { ...p, step: 'done', keysDestroyed: true };
}

/** The bucket a wrapped session key names (docs/archive-format.md §4.1), or null. */
function sessionKeyBucket(wrapped: Buffer): string | null {
  try {
    const m = decodeStrictCbor(wrapped, 'wrapped session key', 'MALFORMED_INPUT') as Record<string, unknown>;
    return typeof m.bkt === 'string' ? m.bkt : null;
  } catch {
    return null;
  }
}

/**
 * The plan's approvals that count now, or QUORUM_NOT_MET: each must verify with that officer's
 * key in the officer list in force now, and there must be at least the quorum in force now. An
 * approval by an officer removed since does not count: officers' consoles check the certificate
 * against the list in force before its first `disposition` entry (docs/officers.md, "Which
 * officers' approvals count"), and records destroyed under a certificate they reject would be
 * an incident. So this is asked when execution starts, on every resumed call before any step
 * (the list may have changed while execution was paused), and when the certificate is written.
 */
async function countingApprovals(stores: Stores, orgId: OrgId, plan: PlanRecord): Promise<ApprovalRecord[]> {
  const org = await stores.orgs.get(orgId);
  const approvals = (await stores.disposition.approvals(orgId, plan.planId)).filter(
    (a) => org !== undefined && approvalVerifies(org, a.officerIndex, plan.plan, a.signature),
  );
  const quorum = org?.officerQuorum ?? Number.MAX_SAFE_INTEGER;
  if (approvals.length < quorum) {
    const resume =
      plan.state === 'proposed'
        ? ''
        : '; nothing more was destroyed: officers of the current list approve the plan' +
          ' (an executing plan takes approvals), then execute it again';
    throw new ServerError(
      'QUORUM_NOT_MET',
      `${approvals.length} approval(s) of this plan by current officers, ${quorum} needed${resume}`,
    );
  }
  return approvals;
}

/**
 * Starts execution: QUORUM_NOT_MET unless the quorum in force now approved
 * ({@link countingApprovals}), read in the transaction that moves the plan to `executing`.
 */
async function start(
  stores: Stores,
  orgId: OrgId,
  plan: PlanRecord,
  bucketIds: readonly string[],
): Promise<void> {
  await stores.withTransaction(async (tx) => {
    await tx.orgs.lockOfficerList(orgId);
    await countingApprovals(tx, orgId, plan);
    if (await tx.disposition.setState(orgId, plan.planId, 'proposed', 'executing')) {
      await tx.disposition.initProgress(orgId, plan.planId, bucketIds);
    }
  });
}

/**
 * Runs the plan until it is executed or the budget is spent; resolves to the stored plan.
 * Safe to call again at any time (after a crash, or concurrently: steps are compare-and-set).
 * BUCKET_STILL_ACCEPTING, before any step, while a bucket not yet done may still take records.
 */
export async function executePlan(
  deps: ExecutionDeps,
  orgId: OrgId,
  planId: string,
  by: DeviceId,
  options: ExecuteOptions = {},
): Promise<PlanRecord> {
  const { stores } = deps;
  const plan = await planOrThrow(stores, orgId, planId);
  if (plan.state === 'executed') return plan;
  const decoded = decodeDispositionPlan(plan.plan);
  // No step of a bucket that may still take records, whatever the plan says (one made before
  // plans left such buckets out): refused before anything changes, and again on every resume.
  const finished = new Set(
    (await stores.disposition.progress(orgId, planId))
      .filter((p) => p.step === 'done')
      .map((p) => p.bucketId),
  );
  const open = decoded.buckets.map((b) => b.bucketId).filter((id) => !finished.has(id));
  await assertDisposable(stores, orgId, open, deps.clock(), {
    notDue: 'nothing was changed; execute the plan on or after then',
    accepting: 'nothing was changed; execute the plan again then',
  });
  // A resumed execution: the officer list may have changed since it started (QUORUM_NOT_MET).
  if (plan.state === 'executing') await countingApprovals(stores, orgId, plan);
  else
    await start(
      stores,
      orgId,
      plan,
      decoded.buckets.map((b) => b.bucketId),
    );
  const deadline = options.budgetMs === undefined ? Infinity : performance.now() + options.budgetMs;
  const perStep = options.recordsPerStep ?? RECORDS_PER_STEP;
  let stepped = false;
  for (const b of decoded.buckets) {
    const planHeld = new Set(await stores.disposition.planHeld(orgId, planId, b.bucketId));
    const members = new BucketMembers(orgId, b);
    for (;;) {
      if (stepped && performance.now() >= deadline) return planOrThrow(stores, orgId, planId);
      const done = await stores
        .withTransaction(async (tx) => {
          const p = (await tx.disposition.progress(orgId, planId)).find((x) => x.bucketId === b.bucketId);
          if (p === undefined) throw new Error(`no progress row for bucket ${b.bucketId}`);
          if (p.step === 'done') return null;
          const next =
            p.step === 'postings'
              ? await postingsStep(tx, orgId, b, p, planHeld, members)
              : p.step === 'records'
                ? await recordsStep(tx, orgId, b, p, planHeld, perStep)
                : await keysStep(tx, orgId, planId, b, p, deps.clock());
          // Another executor moved first: roll back this step and re-read.
          if (!(await tx.disposition.advance(orgId, planId, p, next))) throw new StepRace();
          return next;
        })
        .catch((e: unknown) => {
          if (e instanceof StepRace) return 'retry' as const;
          throw e;
        });
      if (done === null) break;
      if (done === 'retry') continue;
      stepped = true;
      await options.afterStep?.(b.bucketId, done);
    }
  }
  await certify(deps, orgId, plan, by);
  return planOrThrow(stores, orgId, planId);
}

class StepRace extends Error {}

/** The first id of a posting row from the head of its ids: `base` plus one unsigned LEB128 gap (posting-codec.ts). */
function firstPostingId(head: Buffer, base: number): number | undefined {
  let gap = 0;
  for (let i = 0, scale = 1; i < head.length; i++, scale *= 128) {
    const byte = head[i]!;
    gap += (byte & 0x7f) * scale;
    if (byte < 0x80) return base + gap;
  }
  return undefined;
}

/**
 * Stores the certificate and logs its hash (once: the state's compare-and-set decides). The
 * quorum is checked again in the same transaction, and the certificate carries only the
 * approvals that verify against the officer list in force then (the list consoles judge it by).
 */
async function certify(deps: ExecutionDeps, orgId: OrgId, plan: PlanRecord, by: DeviceId): Promise<void> {
  const { stores } = deps;
  await stores.withTransaction(async (tx) => {
    // A no-op compare-and-set that locks the plan's row (PostgreSQL) until commit: a concurrent
    // certifier waits here, then finds the plan executed and logs nothing twice.
    if (!(await tx.disposition.setState(orgId, plan.planId, 'executing', 'executing'))) return;
    // The list the certificate's approvals are checked against stays in force until it is logged.
    await tx.orgs.lockOfficerList(orgId);
    const approvals = await countingApprovals(tx, orgId, { ...plan, state: 'executing' });
    const progress = await tx.disposition.progress(orgId, plan.planId);
    const at = deps.clock();
    const certificate = Buffer.from(
      encodeDispositionCertificate({
        orgId,
        planHash: Buffer.from(plan.planId, 'hex'),
        executedAt: at,
        approvals: approvals.map((a) => ({ officerIndex: a.officerIndex, signature: a.signature })),
        buckets: progress.map((p) => ({
          bucketId: p.bucketId,
          records: p.disposed,
          held: p.held,
          keysDestroyed: p.keysDestroyed,
        })),
      }),
    );
    const digest = createHash('sha256').update(certificate).digest();
    // One `disposition` entry per bucket (core log-entry.ts): its hash and size are the certificate's.
    const entries = progress.map((p) =>
      encodeLogEntry({
        type: 'disposition',
        hash: digest,
        size: certificate.length,
        actor: by,
        time: at,
        bucket: p.bucketId as BucketId,
        records: p.disposed,
      }),
    );
    const first = await sequenceEntries(tx, orgId, entries);
    await deps.audit.record(tx, orgId, {
      kind: 'disposition.execute',
      actorDeviceId: by,
      subject: plan.planId,
      detail: `cert=${digest.toString('hex')}`,
      at,
    });
    await tx.disposition.finish(orgId, plan.planId, {
      certificate,
      logIndex: entries.length > 0 ? first : null,
      by,
      at,
    });
  });
}
