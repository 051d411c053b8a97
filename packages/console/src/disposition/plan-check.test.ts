/**
 * The officer's checks of a disposition plan before signing (plan-check.ts): each planned
 * bucket against its org-signed document (under the pinned org key's delegation chain),
 * core's retention table, the holds the officer can list and this machine's clock. A server
 * that relabels a permanent or unexpired bucket, or forges its document, is refused by name.
 */
import {
  bucketExpiry,
  sealBucketKeyDocument,
  sealKeyManagerDelegation,
  type BucketRetentionClass,
  type DispositionPlan,
  type PlannedBucket,
} from '@custos/core';
import { describe, expect, it } from 'vitest';
import { isConsoleError } from '../console-error.js';
import { buildDelegationChain } from '../key-manager-chain.js';
import { SigningKey } from '../signing-key.js';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import { checkPlanBuckets, planActProblems, type PlanEvidence, type PlanHold } from './plan-check.js';

const ORG = 'org-1';
const orgKey = SigningKey.generate();
const keyManager = SigningKey.generate();
const chain = buildDelegationChain(
  [
    sealKeyManagerDelegation(
      { key: keyManager.publicKey, notBefore: Date.UTC(2025, 0, 1), notAfter: Date.UTC(2030, 0, 1) },
      orgKey,
    ),
  ],
  orgKey.publicKey,
);
/** January 2026's window (inclusive). */
const JAN_START = Date.UTC(2026, 0, 1);
const JAN_END = Date.UTC(2026, 1, 1) - 1;
const ASOF = Date.UTC(2034, 0, 1);
const NOW = Date.UTC(2034, 0, 2);

const idOf = (cls: BucketRetentionClass): string => `${cls}-2026-01`;
const documentOf = (cls: BucketRetentionClass, signer = keyManager): Uint8Array =>
  sealBucketKeyDocument(
    {
      org: ORG,
      bucket: idOf(cls),
      retentionClass: cls,
      period: '2026-01',
      notBefore: JAN_START,
      notAfter: JAN_END,
      publicKey: new Uint8Array(32).fill(7),
    },
    signer,
  );
const documents = new Map(
  (['transitory', 'standard', 'permanent'] as const).map((c) => [idOf(c), documentOf(c)]),
);

/** A planned bucket as an honest server plans it, with `change` applied. */
function planned(cls: BucketRetentionClass, change: Partial<PlannedBucket> = {}): PlannedBucket {
  return {
    bucketId: idOf(cls),
    retentionClass: cls,
    period: '2026-01',
    expiresAt: bucketExpiry({ retentionClass: cls, notAfter: JAN_END }) ?? 0,
    records: 3,
    held: 0,
    span: [10, 20],
    leaves: new Uint8Array(32),
    ...change,
  };
}

const planOf = (buckets: PlannedBucket[], asOf = ASOF): DispositionPlan => ({
  orgId: ORG,
  asOf,
  madeAt: Date.UTC(2033, 11, 1),
  buckets,
});

const evidence = (change: Partial<PlanEvidence> = {}): PlanEvidence => ({
  chain,
  documents,
  holds: [],
  now: NOW,
  ...change,
});

/** The refusal's code and message (fails the test when the plan passes). */
function refusal(plan: DispositionPlan, e: PlanEvidence = evidence()): { code: string; message: string } {
  try {
    checkPlanBuckets(plan, e);
  } catch (err) {
    if (isConsoleError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('the plan was accepted');
}

const dateHold = (from: number, to: number, change: Partial<PlanHold> = {}): PlanHold => ({
  holdId: 'h-dates',
  kind: 'dates',
  from,
  to,
  buckets: [],
  createdAt: Date.UTC(2026, 0, 5),
  releasedAt: null,
  ...change,
});

describe('checkPlanBuckets', () => {
  it('accepts a plan of expired standard and transitory buckets as their signed documents describe them', () => {
    expect(() =>
      checkPlanBuckets(planOf([planned('standard'), planned('transitory')]), evidence()),
    ).not.toThrow();
  });

  it('refuses a permanent bucket, labelled standard or as itself', () => {
    const relabelled = planned('permanent', {
      retentionClass: 'standard',
      expiresAt: bucketExpiry({ retentionClass: 'standard', notAfter: JAN_END })!,
    });
    expect(refusal(planOf([planned('standard'), relabelled]))).toEqual({
      code: 'PLAN_INVALID',
      message: expect.stringContaining(
        "bucket permanent-2026-01 in the server's disposition plan: the plan says class standard, its signed document says permanent",
      ) as string,
    });
    expect(refusal(planOf([planned('permanent', { expiresAt: ASOF })])).message).toContain(
      "bucket permanent-2026-01 in the server's disposition plan: its class permanent is never disposed of",
    );
  });

  it('refuses a bucket whose retention runs out after the as-of date, stated or understated', () => {
    const early = Date.UTC(2030, 0, 1);
    expect(refusal(planOf([planned('standard')], early)).message).toContain(
      "bucket standard-2026-01 in the server's disposition plan: its retention runs until 2033-02-01, after the plan's as-of date 2030-01-01",
    );
    expect(refusal(planOf([planned('standard', { expiresAt: early })], early)).message).toContain(
      'the plan says it expired 2030-01-01, its class and window say 2033-02-01',
    );
  });

  it('refuses a bucket whose document does not verify under the org key, or that has none', () => {
    const forged = new Map(documents).set(idOf('standard'), documentOf('standard', SigningKey.generate()));
    expect(refusal(planOf([planned('standard')]), evidence({ documents: forged })).message).toContain(
      "bucket standard-2026-01 in the server's disposition plan: its bucket document does not verify against the org's keys",
    );
    const flipped = Uint8Array.from(documents.get(idOf('standard'))!);
    flipped[flipped.length - 1]! ^= 1;
    const tampered = new Map(documents).set(idOf('standard'), flipped);
    expect(refusal(planOf([planned('standard')]), evidence({ documents: tampered })).code).toBe(
      'PLAN_INVALID',
    );
    const missing = new Map(documents);
    missing.delete(idOf('transitory'));
    expect(refusal(planOf([planned('transitory')]), evidence({ documents: missing })).message).toContain(
      'the server lists no signed document for it',
    );
  });

  it("refuses a class or period that is not the signed document's", () => {
    const asStandard = planned('transitory', { retentionClass: 'standard' });
    expect(refusal(planOf([asStandard])).message).toContain(
      'the plan says class standard, its signed document says transitory',
    );
    expect(refusal(planOf([planned('transitory', { period: '2026-02' })])).message).toContain(
      'the plan says period 2026-02, its signed document says 2026-01',
    );
  });

  it("refuses a plan as of a date after this machine's clock, whatever it holds", () => {
    expect(refusal(planOf([planned('transitory')]), evidence({ now: ASOF - 1 })).message).toContain(
      "the server's disposition plan: its as-of date 2034-01-01 is after this machine's clock (2033-12-31)",
    );
  });

  it('refuses held records no listed hold reaches, and disposed records a date hold covers', () => {
    const held = planOf([planned('transitory', { held: 2 })]);
    expect(refusal(held).message).toContain(
      'the plan keeps 2 record(s) held, yet no hold you can list reaches it',
    );
    // A hold released before the plan was made reaches nothing; one on another bucket neither.
    const released = dateHold(JAN_START, JAN_END, { releasedAt: Date.UTC(2030, 0, 1) });
    const elsewhere: PlanHold = { ...dateHold(0, 0), kind: 'query', from: null, to: null, buckets: ['x'] };
    expect(refusal(held, evidence({ holds: [released, elsewhere] })).code).toBe('PLAN_INVALID');
    const custodian: PlanHold = { ...dateHold(0, 0), kind: 'custodian', from: null, to: null };
    expect(() => checkPlanBuckets(held, evidence({ holds: [custodian] }))).not.toThrow();
    const token: PlanHold = { ...elsewhere, buckets: [idOf('transitory')] };
    expect(() => checkPlanBuckets(held, evidence({ holds: [token] }))).not.toThrow();
    // A date hold on days of the window reaches it (the plan may hold some records) …
    const someDays = dateHold(Date.UTC(2026, 0, 10), Date.UTC(2026, 0, 11));
    expect(() => checkPlanBuckets(held, evidence({ holds: [someDays] }))).not.toThrow();
    expect(() =>
      checkPlanBuckets(planOf([planned('transitory')]), evidence({ holds: [someDays] })),
    ).not.toThrow();
    // … one on the whole window holds every record: a plan disposing of any is refused.
    const whole = dateHold(JAN_START, JAN_END + 1);
    expect(refusal(planOf([planned('transitory')]), evidence({ holds: [whole] })).message).toContain(
      'the plan disposes of 3 record(s) though date hold h-dates holds every record it can take',
    );
    const allHeld = planOf([planned('transitory', { records: 0, held: 5 })]);
    expect(() => checkPlanBuckets(allHeld, evidence({ holds: [whole] }))).not.toThrow();
  });
});

describe('planActProblems', () => {
  const plan: DispositionPlan = {
    orgId: ORG,
    asOf: ASOF,
    madeAt: ASOF + 60_000,
    buckets: [planned('transitory'), planned('standard')],
  };
  const planId = 'ab'.repeat(32);
  const records = plan.buckets.reduce((n, b) => n + b.records, 0);
  const logged = (madeAt: number) => [
    {
      index: 4,
      entry: {
        type: 'audit-event' as const,
        kind: 'disposition-plan',
        hash: Buffer.from(
          auditDocumentHash(ORG, {
            kind: 'disposition.plan',
            actor: 'dev-admin',
            subject: planId,
            at: madeAt,
            detail: `buckets=2 records=${records}`,
          }),
          'hex',
        ),
        size: 1,
        actor: 'dev-admin',
        time: madeAt,
      },
    },
  ];

  it('finds the plan made at its date in the log, and names a plan whose date the log does not bear out', () => {
    expect(planActProblems(ORG, planId, plan, logged(plan.madeAt))).toEqual([]);
    expect(planActProblems(ORG, planId, plan, logged(plan.madeAt - 86_400_000))).toEqual([
      `no act in the log made plan ${'ab'.repeat(8)}… at ${new Date(plan.madeAt).toISOString()}`,
    ]);
    expect(planActProblems(ORG, 'cd'.repeat(32), plan, logged(plan.madeAt))).toHaveLength(1);
  });
});
