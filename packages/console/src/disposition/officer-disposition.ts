/**
 * The officer's side of disposition (docs/officers.md "Retention and disposition"): ask the
 * server for the plan of a date, approve a plan by signing its bytes with the officer's
 * signing key, and drive an approved plan's execution to its certificate. Nothing the
 * server says is taken on trust: the plan's bytes must hash to its id and name this org
 * (and the date asked for); before signing and before executing, every planned bucket is
 * checked against its org-signed document, core's retention table, the holds and this
 * machine's clock (plan-check.ts), and its leaves against the verified log (plan-leaves.ts); and the certificate must name the plan and carry enough
 * approvals that verify against the officer keys in force when it was executed (org.json's
 * for a plan executed now; officer-list-history.ts for one executed before an officer change).
 */
import {
  decodeDispositionCertificate,
  decodeDispositionPlan,
  dispositionApprovalMessage,
  dispositionPlanHash,
  type DispositionCertificate,
  type DispositionPlan,
} from '@custos/core';
import { DISPOSITION_ANSWER_LIMIT_BYTES } from '@custos/client/answer-limits';
import { accountDisposed, keptRecords, readDispositions } from '../completeness/disposed-records.js';
import { readAcknowledgements } from '../completeness/finding-acknowledgements.js';
import { readVerifiedLog, type VerifiedLog } from '../completeness/verified-log.js';
import { ConsoleError, isConsoleError } from '../console-error.js';
import { holdDisagreements, type HoldDisagreement } from '../holds/hold-log-check.js';
import { holdScopeSearch } from '../holds/hold-scope-search.js';
import { readHoldsWithLog } from '../holds/holds-with-log.js';
import { listHolds } from '../holds/officer-holds.js';
import { decodeOfficerPublicKey } from '../officer-keys.js';
import { currentOfficerList, type OfficerListInForce } from '../officer-list-history.js';
import { forgetBucketKeys } from '../officer-profile-update.js';
import type { OfficerSession } from '../officer-session.js';
import { fromB64u } from '../profile-files.js';
import { verifyEd25519 } from '../signing-key.js';
import { checkPlanBuckets, planActProblems, refuseLogDisagreement } from './plan-check.js';
import { checkPlanLeaves } from './plan-leaves.js';

type Json = Record<string, unknown>;

/** Most execute requests one run makes (each works up to ten seconds on the server). */
const MAX_EXECUTE_CALLS = 10_000;

/** A plan as the server holds it, its bytes verified. */
export interface DispositionView {
  readonly planId: string;
  readonly state: 'proposed' | 'executing' | 'executed';
  readonly plan: DispositionPlan;
  /** The plan's bytes, which hash to `planId` (what approvals sign). */
  readonly planBytes: Uint8Array;
  readonly quorum: number;
  /** Officer indexes that approved. */
  readonly approvedBy: readonly number[];
  /** Per bucket: execution step (null before) and records disposed so far. */
  readonly progress: readonly { bucketId: string; step: string | null; disposed: number }[];
  /**
   * Per bucket with held records, the leaf indexes the server says were held when the plan was
   * made (the server's word: the plan's leaf digest checks it against the log); asked for only
   * by `getDisposition(…, true)`, empty otherwise.
   */
  readonly heldLeaves: ReadonlyMap<string, readonly number[]>;
  /** Present once executed, verified. */
  readonly certificate: DispositionCertificate | null;
  /** The certificate's bytes (what the log's `disposition` entries hash). */
  readonly certificateBytes: Uint8Array | null;
  readonly certificateLogIndex: number | null;
}

function refuse(message: string): never {
  throw new ConsoleError(
    'SERVER_REFUSED',
    `the server's disposition plan ${message}: stop and tell the other officers`,
  );
}

/** Checks the server's answer: plan bytes, id, org, and the certificate when there is one. */
function verifyView(s: OfficerSession, r: Json, expectPlanId?: string, expectAsOf?: number): DispositionView {
  if (typeof r.planId !== 'string' || typeof r.plan !== 'string' || typeof r.state !== 'string') {
    refuse('answer lacks its id, bytes or state');
  }
  const bytes = fromB64u(r.plan);
  const planId = Buffer.from(dispositionPlanHash(bytes)).toString('hex');
  if (planId !== r.planId || (expectPlanId !== undefined && planId !== expectPlanId)) {
    refuse('bytes do not hash to the plan id');
  }
  let plan: DispositionPlan;
  try {
    plan = decodeDispositionPlan(bytes);
  } catch (e) {
    throw new ConsoleError('SERVER_REFUSED', 'the server sent a malformed disposition plan', { cause: e });
  }
  if (plan.orgId !== s.orgId) refuse('names another organisation');
  if (expectAsOf !== undefined && plan.asOf !== expectAsOf) refuse('is for another date');
  const approvals = Array.isArray(r.approvals) ? (r.approvals as Json[]) : [];
  const buckets = Array.isArray(r.buckets) ? (r.buckets as Json[]) : [];
  const certificateBytes = typeof r.certificate === 'string' ? fromB64u(r.certificate) : null;
  const certificate = certificateBytes === null ? null : verifyCertificate(s, planId, certificateBytes);
  return {
    planId,
    state: r.state as DispositionView['state'],
    plan,
    planBytes: bytes,
    quorum: typeof r.quorum === 'number' ? r.quorum : s.officer.org.officerQuorum,
    approvedBy: approvals.map((a) => Number(a.officerIndex)),
    progress: buckets.map((b) => ({
      bucketId: String(b.bucketId),
      step: typeof b.step === 'string' ? b.step : null,
      disposed: Number(b.disposed ?? 0),
    })),
    heldLeaves: new Map(
      buckets
        .filter((b) => Array.isArray(b.heldLeaves) && b.heldLeaves.length > 0)
        .map((b) => [String(b.bucketId), (b.heldLeaves as unknown[]).map(leafIndex)]),
    ),
    certificate,
    certificateBytes,
    certificateLogIndex: typeof r.certificateLogIndex === 'number' ? r.certificateLogIndex : null,
  };
}

function leafIndex(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) refuse('answer has a malformed held leaf');
  return v;
}

/** The certificate, checked: this org, this plan, and the quorum of approvals by org.json's officers. */
function verifyCertificate(s: OfficerSession, planId: string, bytes: Uint8Array): DispositionCertificate {
  let c: DispositionCertificate;
  try {
    c = decodeDispositionCertificate(bytes);
  } catch (e) {
    throw new ConsoleError('SERVER_REFUSED', 'the server sent a malformed disposition certificate', {
      cause: e,
    });
  }
  if (c.orgId !== s.orgId || Buffer.from(c.planHash).toString('hex') !== planId) {
    refuse('certificate names another organisation or plan');
  }
  return c;
}

/**
 * The officer indexes whose approvals in the certificate verify over `planBytes` with the keys
 * of `list`: the officer list in force when the plan was executed (officer-list-history.ts).
 */
export function verifiedApprovers(
  list: OfficerListInForce,
  c: DispositionCertificate,
  planBytes: Uint8Array,
): number[] {
  const message = dispositionApprovalMessage(planBytes);
  const ok = new Set<number>();
  for (const a of c.approvals) {
    const officer = list.officers.find((o) => o.index === a.officerIndex);
    if (officer === undefined) continue;
    const key = decodeOfficerPublicKey(fromB64u(officer.publicKey)).signing;
    if (verifyEd25519(key, message, a.signature)) ok.add(a.officerIndex);
  }
  return [...ok].sort((x, y) => x - y);
}

/**
 * The executed plan's certificate, checked as `--execute` and the completeness check both need
 * it: present, and carrying approvals of the plan's bytes by at least the quorum of `list`, the
 * officer list in force when it was executed (officer-list-history.ts: a lawful disposition
 * stays lawful after its approvers are removed or the quorum is raised). Answers the officer
 * indexes whose approvals verify; SERVER_REFUSED otherwise.
 */
export function certifiedApprovers(
  list: OfficerListInForce,
  v: DispositionView,
): { readonly certificate: DispositionCertificate; readonly approvers: readonly number[] } {
  if (v.certificate === null) refuse('is executed without a certificate');
  const approvers = verifiedApprovers(list, v.certificate, v.planBytes);
  if (approvers.length < list.quorum) {
    refuse(
      `certificate carries ${approvers.length} valid approval(s) of the officers in force when it was executed, ` +
        `${list.quorum} needed`,
    );
  }
  return { certificate: v.certificate, approvers };
}

/** A bucket expired by the date asked for that the server will not dispose of yet: it still takes records. */
export interface WaitingBucket {
  readonly bucketId: string;
  readonly retentionClass: string;
  readonly period: string;
  /** The last instant (ms) the server accepts records sealed to it: its window's end plus the late-upload grace. */
  readonly recordsAcceptedUntil: number;
  /** The first instant (ms) a plan may hold it. */
  readonly disposableFrom: number;
}

/** A dry run's answer: the plan (null when the server made none) and the buckets it had to leave out. */
export interface ProposedDisposition {
  readonly view: DispositionView | null;
  readonly notYetDisposable: readonly WaitingBucket[];
}

/** The server's list of waiting buckets (from a plan or a BUCKET_STILL_ACCEPTING refusal), checked. */
function waitingBuckets(list: unknown): WaitingBucket[] {
  if (!Array.isArray(list)) refuse('answer lacks its list of buckets not yet disposable');
  return list.map((x: unknown) => {
    const w = (typeof x === 'object' && x !== null ? x : {}) as Json;
    const { bucketId, retentionClass, period, recordsAcceptedUntil, disposableFrom } = w;
    if (
      typeof bucketId !== 'string' ||
      typeof retentionClass !== 'string' ||
      typeof period !== 'string' ||
      !Number.isSafeInteger(recordsAcceptedUntil) ||
      !Number.isSafeInteger(disposableFrom)
    ) {
      refuse('answer names a bucket not yet disposable without its id, class, period or dates');
    }
    return {
      bucketId,
      retentionClass,
      period,
      recordsAcceptedUntil: recordsAcceptedUntil as number,
      disposableFrom: disposableFrom as number,
    };
  });
}

/**
 * Makes (or finds) the server's plan for `asOf` (dry run: nothing is destroyed). The server
 * leaves out every bucket that still takes records at its own time, whatever `asOf` says, and
 * names them (`notYetDisposable`); the view is null when it made no plan: no bucket has
 * expired by then that is not yet disposed, or every one that has still takes records.
 */
export async function proposeDisposition(s: OfficerSession, asOf: number): Promise<ProposedDisposition> {
  let r;
  try {
    r = await s.call('POST', `/v1/orgs/${s.orgId}/dispositions`, { asOf });
  } catch (e) {
    if (isConsoleError(e) && e.serverCode === 'NOTHING_TO_DISPOSE')
      return { view: null, notYetDisposable: [] };
    if (isConsoleError(e) && e.serverCode === 'BUCKET_STILL_ACCEPTING') {
      const details = e.serverDetails as { buckets?: unknown } | undefined;
      return { view: null, notYetDisposable: waitingBuckets(details?.buckets) };
    }
    throw e;
  }
  return { view: verifyView(s, r, undefined, asOf), notYetDisposable: waitingBuckets(r.notYetDisposable) };
}

/**
 * The plan `planId`, verified. With `withHeld`, the server lists each bucket's held leaf
 * indexes too (`heldLeaves`; the completeness check recomputes the disposed leaves from them).
 */
export async function getDisposition(
  s: OfficerSession,
  planId: string,
  withHeld = false,
): Promise<DispositionView> {
  const path = `/v1/orgs/${s.orgId}/dispositions/${checkPlanId(planId)}`;
  return verifyView(
    s,
    withHeld
      ? await s.call('GET', `${path}?held=1`, undefined, { maxAnswerBytes: DISPOSITION_ANSWER_LIMIT_BYTES })
      : await s.call('GET', path),
    planId,
  );
}

function checkPlanId(planId: string): string {
  if (!/^[0-9a-f]{64}$/.test(planId)) {
    throw new ConsoleError('INVALID_OPTIONS', 'a plan id is 64 hex digits, as --dry-run prints it');
  }
  return planId;
}

/**
 * Fetches the plan `planId` with its held leaves and checks every bucket against the org's
 * signed bucket documents (verified under the pinned org key's delegation chain), core's
 * retention table, the holds this officer can list (each placing and release act, and the
 * plan's own act and date, found in the verified log) and this machine's clock, and its leaf
 * span, held leaves and digest against the log verified with the pinned log key, less the
 * records earlier verified dispositions destroyed (the completeness check's own accounting, so
 * it later accepts exactly the leaves signed here); answers the plan. PLAN_INVALID (or BUCKET_INVALID for a listed document that does not verify,
 * LOG_INVALID for a log that does not) names the bucket and what is wrong.
 */
async function checkPlan(s: OfficerSession, planId: string): Promise<DispositionView> {
  const view = await getDisposition(s, planId, true);
  const { chain } = await s.orgKeys();
  const documents = new Map((await s.serverBuckets()).map((b) => [b.bucket, b.document]));
  // Against the listing first (no log read for a plan that fails on its face) …
  checkPlanBuckets(view.plan, { chain, documents, holds: await listHolds(s), now: Date.now() });
  // … then against the listing and plan date the verified log bears out (one scope search
  // for every read of the listing: its budget bounds what a server's listing costs the check).
  const scopes = holdScopeSearch(s.orgId);
  const read = await readHoldsWithLog(
    s,
    (listed, log, officers) => [
      ...holdDisagreements(s.orgId, listed, log.entries, officers, scopes),
      ...planActProblems(s.orgId, planId, view.plan, log.entries),
    ],
    { settled: (p) => typeof p !== 'string' && p.aspect === 'unsigned-release' },
  );
  const { holds, log } = read;
  const problems = await unconfirmedProblems(s, log, read.problems);
  checkPlanBuckets(view.plan, { chain, documents, holds, now: Date.now() });
  // Records earlier verified dispositions of a bucket destroyed are in its span but not planned
  // (this plan's own, once executed, is not earlier).
  const dispositions = (await readDispositions(s, log)).filter((d) => d.planId !== planId);
  const earlier = accountDisposed(
    s.orgId,
    log.entries,
    dispositions,
    await keptRecords(s, log.entries, dispositions),
  );
  checkPlanLeaves(view.plan, log, view.heldLeaves, earlier.leaves);
  // Last, so a plan that fails on its buckets or leaves is refused naming them.
  if (problems.length > 0) refuseLogDisagreement(problems);
  return view;
}

/**
 * The plan check's disagreements as sentences, less each release logged before releases were
 * signed that an officer has since confirmed by acknowledging its finding (docs/officers.md
 * "Legal holds"): until then a plan is refused on it, since the log cannot tell it from a
 * release the server wrote itself. Acknowledgements are read only when there is such a release.
 */
async function unconfirmedProblems(
  s: OfficerSession,
  log: VerifiedLog,
  problems: readonly (string | HoldDisagreement)[],
): Promise<string[]> {
  const unsigned = problems.some((p) => typeof p !== 'string' && p.aspect === 'unsigned-release');
  const confirmed = new Set(
    unsigned ? (await readAcknowledgements(s, log)).verified.map((a) => a.findingId) : [],
  );
  return problems
    .filter(
      (p) =>
        typeof p === 'string' ||
        p.aspect !== 'unsigned-release' ||
        !confirmed.has(`hold-mismatch/${s.orgId}/${p.holdId}/unsigned-release`),
    )
    .map((p) => (typeof p === 'string' ? p : `hold ${p.holdId}: ${p.problem}`));
}

/** Checks the plan (checkPlan), then signs it with this officer's signing key and records the approval. */
export async function approveDisposition(s: OfficerSession, planId: string): Promise<DispositionView> {
  const current = await checkPlan(s, planId);
  const signature = s.officer.keys.signingKey.sign(dispositionApprovalMessage(current.planBytes));
  const r = await s.call('POST', `/v1/orgs/${s.orgId}/dispositions/${planId}/approvals`, {
    officerIndex: s.officerIndex,
    signature: Buffer.from(signature).toString('base64url'),
  });
  return verifyView(s, r, planId);
}

/**
 * The certificate of a plan executed before this run (each other officer runs `--execute` once
 * to forget their wraps), checked against the officer list in force when it was executed: the
 * current one when it verifies there (the common case, nothing more is read); otherwise the
 * one the verified log and the org's officer list history give (readDispositions, as the
 * completeness check does), so a plan executed before an officer change still verifies.
 * The fast path only decides which local wraps this run forgets; the completeness check is
 * what holds every certificate to the list in force at its execution.
 */
async function certifiedEarlier(
  s: OfficerSession,
  v: DispositionView,
): Promise<{ readonly certificate: DispositionCertificate; readonly approvers: readonly number[] }> {
  try {
    return certifiedApprovers(currentOfficerList(s.officer.org), v);
  } catch (e) {
    if (!isConsoleError(e, 'SERVER_REFUSED') || v.certificate === null) throw e;
    const log = await readVerifiedLog(s);
    const d = (await readDispositions(s, log)).find((x) => x.planId === v.planId);
    if (d === undefined) throw e;
    if (d.problem !== null || d.certificate === null) refuse(`certificate does not verify: ${d.problem}`);
    return { certificate: d.certificate, approvers: d.approvers };
  }
}

/**
 * Checks the plan as approving does (checkPlan: nothing is asked of the server when it fails),
 * executes it to its end (each request resumes where the last stopped) and checks the
 * certificate, which names the plan by its hash: its approvals must verify against
 * org.json's officer keys and reach the quorum there (the list in force now, when it is
 * executed). Then deletes this profile's local wraps of every bucket whose keys
 * the certificate says were destroyed (`forgotten`), so the crypto-erase reaches this machine.
 * A plan already executed (each other officer runs `--execute` once to forget their wraps) is
 * only read: its certificate is checked (certifiedEarlier), the plan is not (it destroys nothing
 * more, and its buckets' records are gone now), and no execute request is made.
 */
export async function executeDisposition(
  s: OfficerSession,
  planId: string,
  progress: (v: DispositionView) => void,
): Promise<
  DispositionView & {
    readonly approvers: readonly number[];
    readonly forgotten: { readonly wraps: number; readonly rootWraps: number };
  }
> {
  const executed = (
    v: DispositionView,
    { certificate, approvers }: { certificate: DispositionCertificate; approvers: readonly number[] },
  ) => {
    const forgotten = forgetBucketKeys(
      s.dir,
      certificate.buckets.filter((b) => b.keysDestroyed).map((b) => b.bucketId),
    );
    return { ...v, approvers, forgotten };
  };
  const current = await getDisposition(s, planId);
  if (current.state === 'executed') {
    progress(current);
    return executed(current, await certifiedEarlier(s, current));
  }
  await checkPlan(s, planId);
  for (let i = 0; i < MAX_EXECUTE_CALLS; i++) {
    const r = await s.call('POST', `/v1/orgs/${s.orgId}/dispositions/${planId}/execute`);
    const v = verifyView(s, r, planId);
    progress(v);
    if (v.state === 'executed') return executed(v, certifiedApprovers(currentOfficerList(s.officer.org), v));
  }
  throw new ConsoleError('SERVER_REFUSED', 'the disposition did not finish; run --execute again to resume');
}
