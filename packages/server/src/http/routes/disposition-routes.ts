/**
 * Disposition of expired buckets (docs/officers.md "Retention and disposition"): officers
 * make a plan, each of m officers approves it with their officer signing key, and an
 * officer executes it once the quorum approved; auditors and officers read plans and
 * certificates. Execution works for a bounded time per request; the caller repeats the
 * request until the plan is `executed` (each call resumes where the last stopped).
 */
import { decodeDispositionPlan } from '@custos/core';
import { Type, type Static } from 'typebox';
import { boundOfficerIndex, requireOwnOfficer } from '../../auth/officer-binding.js';
import { approvePlan, planOrThrow } from '../../disposition/approval.js';
import { EXECUTE_BUDGET_MS, RECORDS_PER_STEP } from '../../disposition/disposition-defaults.js';
import { executePlan } from '../../disposition/execution.js';
import { makePlan } from '../../disposition/plan-making.js';
import type { OrgId } from '../../ids.js';
import type { PlanRecord } from '../../store/disposition-stores.js';
import type { Stores } from '../../store/stores.js';
import { defineRoute } from '../route-def.js';
import { Bytes, decodeBytes, encodeBytes, Id } from '../schema-helpers.js';
import { Millis, OrgParams } from './common-schemas.js';

const PlanId = Type.String({
  pattern: '^[0-9a-f]{64}$',
  description: 'plan id: hex SHA-256 of the plan bytes',
});
const PlanParams = Type.Object(
  { orgId: Id('organisation id'), planId: PlanId },
  { additionalProperties: false },
);
/** Largest plan served (1,000 buckets of about 150 bytes). */
const MAX_PLAN_BYTES = 256 * 1024;

const planViewProperties = {
  planId: PlanId,
  state: Type.Union([Type.Literal('proposed'), Type.Literal('executing'), Type.Literal('executed')]),
  plan: Bytes(
    1,
    MAX_PLAN_BYTES,
    'the plan document officers sign (deterministic CBOR, core disposition-plan.ts)',
  ),
  asOf: Millis,
  quorum: Type.Integer({ minimum: 1, description: 'approvals needed' }),
  approvals: Type.Array(
    Type.Object(
      { officerIndex: Type.Integer({ minimum: 0 }), signature: Bytes(64, 64, 'Ed25519'), at: Millis },
      { additionalProperties: false },
    ),
  ),
  buckets: Type.Array(
    Type.Object(
      {
        bucketId: Type.String(),
        retentionClass: Type.String(),
        period: Type.String(),
        expiresAt: Millis,
        records: Type.Integer({ minimum: 0, description: 'records to dispose' }),
        held: Type.Integer({ minimum: 0, description: 'records kept under a legal hold' }),
        heldLeaves: Type.Optional(
          Type.Array(Type.Integer({ minimum: 0 }), {
            description:
              "with ?held=1 only: leaf indexes of the records held when the plan was made, ascending; with the log's records of the bucket in the span they give the disposed leaves the plan's digest covers",
          }),
        ),
        firstLeaf: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
        lastLeaf: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
        step: Type.Union([Type.String(), Type.Null()], { description: 'execution step, null before' }),
        disposed: Type.Integer({ minimum: 0, description: 'records disposed so far' }),
        keysDestroyed: Type.Boolean(),
      },
      { additionalProperties: false },
    ),
  ),
  certificate: Type.Union([Bytes(1, MAX_PLAN_BYTES, 'the disposition certificate'), Type.Null()]),
  certificateLogIndex: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  executedBy: Type.Union([Type.String(), Type.Null()]),
  executedAt: Type.Union([Millis, Type.Null()]),
};
const PlanView = Type.Object(planViewProperties, { additionalProperties: false });

const WaitingBucketView = Type.Object(
  {
    bucketId: Type.String(),
    retentionClass: Type.String(),
    period: Type.String(),
    recordsAcceptedUntil: Type.Integer({
      minimum: 0,
      description:
        'ms: the last instant the server accepts records sealed to it (window end + 7-day late-upload grace)',
    }),
    disposableFrom: Type.Integer({ minimum: 0, description: 'ms: the first instant a plan may hold it' }),
  },
  { additionalProperties: false },
);
/** A new plan, with the buckets expired by its date that it leaves out because they still take records. */
const MadePlanView = Type.Object(
  {
    ...planViewProperties,
    notYetDisposable: Type.Array(WaitingBucketView, {
      description: "buckets expired by asOf but left out: they still take records at the server's time",
    }),
  },
  { additionalProperties: false },
);

/** `?held=1`: list each bucket's held leaves (the completeness check asks; they may be many). */
const PlanQuery = Type.Object(
  { held: Type.Optional(Type.Literal('1', { description: "1: list each bucket's held leaf indexes" })) },
  { additionalProperties: false },
);

async function planView(
  stores: Stores,
  orgId: OrgId,
  p: PlanRecord,
  withHeld = false,
): Promise<Static<typeof PlanView>> {
  const plan = decodeDispositionPlan(p.plan);
  const org = await stores.orgs.get(orgId);
  const approvals = await stores.disposition.approvals(orgId, p.planId);
  const progress = new Map((await stores.disposition.progress(orgId, p.planId)).map((x) => [x.bucketId, x]));
  // Officers and the completeness check recompute the disposed leaves from the log with these.
  const heldLeaves = new Map<string, number[]>();
  for (const b of withHeld ? plan.buckets : [])
    if (b.held > 0)
      heldLeaves.set(b.bucketId, await stores.disposition.planHeld(orgId, p.planId, b.bucketId));
  return {
    planId: p.planId,
    state: p.state,
    plan: encodeBytes(p.plan),
    asOf: plan.asOf,
    quorum: org?.officerQuorum ?? 1,
    approvals: approvals.map((a) => ({
      officerIndex: a.officerIndex,
      signature: encodeBytes(a.signature),
      at: a.at,
    })),
    buckets: plan.buckets.map((b) => {
      const pr = progress.get(b.bucketId);
      return {
        bucketId: b.bucketId,
        retentionClass: b.retentionClass,
        period: b.period,
        expiresAt: b.expiresAt,
        records: b.records,
        held: b.held,
        ...(withHeld ? { heldLeaves: heldLeaves.get(b.bucketId) ?? [] } : {}),
        firstLeaf: b.span?.[0] ?? null,
        lastLeaf: b.span?.[1] ?? null,
        step: pr?.step ?? null,
        disposed: pr?.disposed ?? 0,
        keysDestroyed: pr?.keysDestroyed ?? false,
      };
    }),
    certificate: p.certificate === null ? null : encodeBytes(p.certificate),
    certificateLogIndex: p.certificateLogIndex,
    executedBy: p.executedBy,
    executedAt: p.executedAt,
  };
}

/** POST /v1/orgs/:orgId/dispositions */
export const createDispositionRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/dispositions',
  summary:
    'Makes the disposition plan for `asOf` (default now): every expired bucket not yet disposed, its records to ' +
    'dispose and held, leaf span and leaf digest; it names when it was made, so each call makes a new plan. An ' +
    "audit act `disposition.plan`. A bucket that still takes records at the server's time (its window's end plus " +
    'the 7-day late-upload grace has not passed) is never planned, whatever `asOf` says: it is listed in ' +
    '`notYetDisposable` with the time from which it can be. With no expired bucket, NOTHING_TO_DISPOSE; with only ' +
    'such buckets, BUCKET_STILL_ACCEPTING; no plan either way. Officers only.',
  access: { kind: 'device', roles: ['officer'] },
  params: OrgParams,
  body: Type.Object({ asOf: Type.Optional(Millis) }, { additionalProperties: false }),
  response: { status: 200, schema: MadePlanView },
  errors: ['NOTHING_TO_DISPOSE', 'BUCKET_STILL_ACCEPTING', 'LOG_PUSHBACK'],
  async handler({ auth, body }, deps) {
    const now = deps.clock();
    const made = await makePlan(deps.stores, deps.audit, auth.orgId, body.asOf ?? now, auth.deviceId, now);
    return {
      ...(await planView(deps.stores, auth.orgId, made.plan)),
      notYetDisposable: made.notYetDisposable.map((w) => ({ ...w })),
    };
  },
});

/** GET /v1/orgs/:orgId/dispositions/:planId */
export const getDispositionRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/dispositions/:planId',
  summary:
    'A disposition plan with its approvals, progress and, once executed, its certificate; with held=1, each ' +
    "bucket's leaf indexes held when the plan was made. Officers and auditors.",
  access: { kind: 'device', roles: ['officer', 'auditor'] },
  params: PlanParams,
  query: PlanQuery,
  response: { status: 200, schema: PlanView },
  errors: ['DISPOSITION_NOT_FOUND'],
  async handler({ auth, params, query }, deps) {
    const p = await planOrThrow(deps.stores, auth.orgId, params.planId);
    return planView(deps.stores, auth.orgId, p, query.held === '1');
  },
});

/** POST /v1/orgs/:orgId/dispositions/:planId/approvals */
export const approveDispositionRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/dispositions/:planId/approvals',
  summary:
    "Records officer `officerIndex`'s approval: an Ed25519 signature with their registered officer signing key " +
    'over `custos-disposition-plan-v1` || 0x00 || the plan bytes. One approval per officer; the same approval ' +
    'again changes nothing. A new approval is an audit act `disposition.approve`. Refused with ' +
    "DISPOSITION_NOT_DUE while a planned bucket's retention has not run out at the server's time (a plan made " +
    'for a later as-of date), and with BUCKET_STILL_ACCEPTING for a bucket that still takes records. Officers only.',
  access: { kind: 'device', roles: ['officer'] },
  params: PlanParams,
  body: Type.Object(
    {
      officerIndex: Type.Integer({ minimum: 0, maximum: 99 }),
      signature: Bytes(64, 64, 'Ed25519 signature'),
    },
    { additionalProperties: false },
  ),
  response: { status: 200, schema: PlanView },
  errors: [
    'DISPOSITION_NOT_FOUND',
    'DISPOSITION_CLOSED',
    'DISPOSITION_NOT_DUE',
    'BUCKET_STILL_ACCEPTING',
    'INVALID_KEY',
    'LOG_PUSHBACK',
    'OFFICER_NOT_SIGNER',
  ],
  async handler({ auth, params, body }, deps) {
    const signature = decodeBytes('body.signature', body.signature, 64);
    requireOwnOfficer(boundOfficerIndex(auth), body.officerIndex, 'body.officerIndex');
    await approvePlan(
      deps.stores,
      deps.audit,
      auth.orgId,
      params.planId,
      { officerIndex: body.officerIndex, signature },
      auth.deviceId,
      deps.clock(),
    );
    return planView(deps.stores, auth.orgId, await planOrThrow(deps.stores, auth.orgId, params.planId));
  },
});

/** POST /v1/orgs/:orgId/dispositions/:planId/execute */
export const executeDispositionRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/dispositions/:planId/execute',
  summary:
    'Executes an approved plan for up to 10 s (setting `dispositionRequestMs`; at least one step) and answers ' +
    'with its state; repeat until `executed` (each call resumes). Needs the quorum of distinct officer approvals. Deletes the ciphertext, index rows and postings of ' +
    "every unheld record, then, for buckets left empty, the wrapped keys; logs the certificate's hash as " +
    '`disposition.execute`. Refused with BUCKET_STILL_ACCEPTING, changing nothing, while a bucket of the plan not ' +
    "yet done still takes records at the server's time, and with DISPOSITION_NOT_DUE while one's retention has " +
    "not run out at the server's time (a plan made for a later as-of date waits for it). Officers only.",
  access: { kind: 'device', roles: ['officer'] },
  params: PlanParams,
  response: { status: 200, schema: PlanView },
  errors: [
    'DISPOSITION_NOT_FOUND',
    'QUORUM_NOT_MET',
    'BUCKET_STILL_ACCEPTING',
    'DISPOSITION_NOT_DUE',
    'LOG_PUSHBACK',
  ],
  async handler({ auth, params }, deps) {
    const p = await executePlan(deps, auth.orgId, params.planId, auth.deviceId, {
      budgetMs: deps.disposition?.requestMs ?? EXECUTE_BUDGET_MS,
      recordsPerStep: deps.disposition?.recordsPerStep ?? RECORDS_PER_STEP,
    });
    return planView(deps.stores, auth.orgId, p);
  },
});
