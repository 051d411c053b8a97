/**
 * Disposition plans and certificates (docs/officers.md, "Retention and disposition"). The
 * server proposes a plan — which expired buckets go, how many of their records are disposed
 * and how many are held, the leaf span and a digest of the exact leaf indexes — and m
 * officers each sign the plan's bytes with their officer signing key. The certificate that
 * closes a disposition names the plan, carries the approvals and the outcome per bucket.
 *
 *   plan        = deterministic CBOR { v: 1, typ: "disposition-plan", org, asof, made, bkts: [bucket…] }
 *   bucket      = { bkt, cls, per, exp, n, held, span: [] | [first, last], leaves: bstr(32) }
 *   approval    = Ed25519(officer signing key, "custos-disposition-plan-v1" || 0x00 || plan)
 *   certificate = deterministic CBOR { v: 1, typ: "disposition-certificate", org, plan: bstr(32),
 *                 at, appr: [{ off, sig }…], bkts: [{ bkt, n, held, keys }…] }
 *
 * `leaves` is SHA-256 over the disposed leaf indexes in ascending order, each as a big-endian
 * uint64: an auditor recomputes it from the log's `archive-record` entries of the bucket in
 * the span, minus the held ones.
 */
import { createHash } from 'node:crypto';
import { CustosError } from '../errors.js';
import { decodeStrict, encodeDeterministic } from '../record/deterministic-cbor.js';

/** Signature domain of officer approvals of a plan. */
export const DISPOSITION_PLAN_DOMAIN = 'custos-disposition-plan-v1';
/** Most buckets one plan names (a plan is signed and stored whole). */
export const MAX_PLAN_BUCKETS = 1000;

/** One expired bucket in a plan. */
export interface PlannedBucket {
  readonly bucketId: string;
  readonly retentionClass: string;
  readonly period: string;
  /** When the bucket expired: its window's end plus the class duration (ms). */
  readonly expiresAt: number;
  /** Records to dispose (present and not held when planned). */
  readonly records: number;
  /** Records kept because a legal hold covers them. */
  readonly held: number;
  /** The lowest and highest leaf index of the bucket's records when planned; null when none. */
  readonly span: readonly [number, number] | null;
  /** SHA-256 of the disposed leaf indexes (ascending, uint64 big-endian). */
  readonly leaves: Uint8Array;
}

/** A disposition plan. */
export interface DispositionPlan {
  readonly orgId: string;
  /** The date the expiry was computed for (ms). */
  readonly asOf: number;
  /** When the server made the plan (ms): two plans of the same state and date stay distinct. */
  readonly madeAt: number;
  readonly buckets: readonly PlannedBucket[];
}

/** One officer's approval of a plan. */
export interface PlanApproval {
  readonly officerIndex: number;
  readonly signature: Uint8Array;
}

/** What a disposition did to one bucket. */
export interface DisposedBucket {
  readonly bucketId: string;
  readonly records: number;
  readonly held: number;
  /** Whether the bucket's wrapped keys and index keys were destroyed (false while records are held). */
  readonly keysDestroyed: boolean;
}

/** A disposition certificate. */
export interface DispositionCertificate {
  readonly orgId: string;
  /** SHA-256 of the plan bytes the approvals sign. */
  readonly planHash: Uint8Array;
  readonly executedAt: number;
  readonly approvals: readonly PlanApproval[];
  readonly buckets: readonly DisposedBucket[];
}

/** SHA-256 of leaf indexes, in the order given (callers pass them ascending). */
export class LeafDigest {
  readonly #hash = createHash('sha256');
  readonly #buf = Buffer.alloc(8 * 1024);
  #used = 0;
  /** Adds one leaf index. */
  add(index: number): void {
    this.#buf.writeBigUInt64BE(BigInt(index), this.#used);
    this.#used += 8;
    if (this.#used === this.#buf.length) {
      this.#hash.update(this.#buf);
      this.#used = 0;
    }
  }
  /** The digest; the object is spent afterwards. */
  digest(): Uint8Array {
    this.#hash.update(this.#buf.subarray(0, this.#used));
    return new Uint8Array(this.#hash.digest());
  }
}

function fail(what: string): never {
  throw new CustosError('MALFORMED_INPUT', `disposition ${what}`);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128;
const isBytes = (v: unknown, n: number): v is Uint8Array => v instanceof Uint8Array && v.length === n;
const keysAre = (m: Record<string, unknown>, keys: string): boolean => Object.keys(m).sort().join() === keys;

function asMap(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array)
    fail(`${what}: not a map`);
  return v as Record<string, unknown>;
}

/** The plan's deterministic CBOR bytes (what officers sign). */
export function encodeDispositionPlan(plan: DispositionPlan): Uint8Array {
  return encodeDeterministic({
    v: 1,
    typ: 'disposition-plan',
    org: plan.orgId,
    asof: plan.asOf,
    made: plan.madeAt,
    bkts: plan.buckets.map((b) => ({
      bkt: b.bucketId,
      cls: b.retentionClass,
      per: b.period,
      exp: b.expiresAt,
      n: b.records,
      held: b.held,
      span: b.span === null ? [] : [b.span[0], b.span[1]],
      leaves: b.leaves,
    })),
  });
}

/** Parses plan bytes; MALFORMED_INPUT naming what is wrong. */
export function decodeDispositionPlan(bytes: Uint8Array): DispositionPlan {
  const m = asMap(decodeStrict(bytes, 'disposition plan', 'MALFORMED_INPUT'), 'plan');
  if (!keysAre(m, 'asof,bkts,made,org,typ,v') || m.v !== 1 || m.typ !== 'disposition-plan') {
    fail('plan: not a v1 { v, typ, org, asof, made, bkts } document');
  }
  if (!isText(m.org)) fail('plan: org is not an id');
  if (!isCount(m.asof) || !isCount(m.made)) fail('plan: asof or made is not a time');
  if (!Array.isArray(m.bkts) || m.bkts.length > MAX_PLAN_BUCKETS) fail('plan: bkts is not a list of buckets');
  const buckets = (m.bkts as unknown[]).map((raw, i): PlannedBucket => {
    const b = asMap(raw, `plan bucket ${i}`);
    if (!keysAre(b, 'bkt,cls,exp,held,leaves,n,per,span')) fail(`plan bucket ${i}: wrong fields`);
    const span = b.span;
    const okSpan =
      Array.isArray(span) &&
      (span.length === 0 ||
        (span.length === 2 && isCount(span[0]) && isCount(span[1]) && span[0] <= span[1]));
    if (!isText(b.bkt) || !isText(b.cls) || !isText(b.per))
      fail(`plan bucket ${i}: bkt, cls or per is not text`);
    if (!isCount(b.exp) || !isCount(b.n) || !isCount(b.held) || !okSpan || !isBytes(b.leaves, 32)) {
      fail(`plan bucket ${i}: exp, n, held, span or leaves is malformed`);
    }
    const s = span as number[];
    if ((s.length === 0) !== (b.n + b.held === 0)) fail(`plan bucket ${i}: span does not match the counts`);
    return {
      bucketId: b.bkt,
      retentionClass: b.cls,
      period: b.per,
      expiresAt: b.exp,
      records: b.n,
      held: b.held,
      span: s.length === 0 ? null : [s[0]!, s[1]!],
      leaves: b.leaves,
    };
  });
  if (new Set(buckets.map((b) => b.bucketId)).size !== buckets.length) fail('plan: a bucket appears twice');
  return { orgId: m.org, asOf: m.asof, madeAt: m.made, buckets };
}

/** SHA-256 of the plan bytes; its hex form is the plan id. */
export function dispositionPlanHash(planBytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(planBytes).digest());
}

/** The message an officer signs to approve a plan. */
export function dispositionApprovalMessage(planBytes: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(DISPOSITION_PLAN_DOMAIN, 'utf8'), Buffer.from([0]), planBytes]);
}

/** The certificate's deterministic CBOR bytes. */
export function encodeDispositionCertificate(c: DispositionCertificate): Uint8Array {
  return encodeDeterministic({
    v: 1,
    typ: 'disposition-certificate',
    org: c.orgId,
    plan: c.planHash,
    at: c.executedAt,
    appr: c.approvals.map((a) => ({ off: a.officerIndex, sig: a.signature })),
    bkts: c.buckets.map((b) => ({ bkt: b.bucketId, n: b.records, held: b.held, keys: b.keysDestroyed })),
  });
}

/** Parses certificate bytes; MALFORMED_INPUT naming what is wrong. */
export function decodeDispositionCertificate(bytes: Uint8Array): DispositionCertificate {
  const m = asMap(decodeStrict(bytes, 'disposition certificate', 'MALFORMED_INPUT'), 'certificate');
  if (!keysAre(m, 'appr,at,bkts,org,plan,typ,v') || m.v !== 1 || m.typ !== 'disposition-certificate') {
    fail('certificate: not a v1 certificate document');
  }
  if (!isText(m.org) || !isBytes(m.plan, 32) || !isCount(m.at))
    fail('certificate: org, plan or at is malformed');
  if (!Array.isArray(m.appr) || !Array.isArray(m.bkts)) fail('certificate: appr or bkts is not a list');
  const approvals = (m.appr as unknown[]).map((raw, i) => {
    const a = asMap(raw, `certificate approval ${i}`);
    if (!keysAre(a, 'off,sig') || !isCount(a.off) || !isBytes(a.sig, 64))
      fail(`certificate approval ${i}: malformed`);
    return { officerIndex: a.off, signature: a.sig };
  });
  const buckets = (m.bkts as unknown[]).map((raw, i) => {
    const b = asMap(raw, `certificate bucket ${i}`);
    if (
      !keysAre(b, 'bkt,held,keys,n') ||
      !isText(b.bkt) ||
      !isCount(b.n) ||
      !isCount(b.held) ||
      typeof b.keys !== 'boolean'
    ) {
      fail(`certificate bucket ${i}: malformed`);
    }
    return { bucketId: b.bkt, records: b.n, held: b.held, keysDestroyed: b.keys };
  });
  return { orgId: m.org, planHash: m.plan, executedAt: m.at, approvals, buckets };
}
