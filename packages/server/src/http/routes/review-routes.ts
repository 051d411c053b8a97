/**
 * Supervision review (FINRA 3110, docs/officers.md "Daily review"): lexicon rules as blind
 * tokens per bucket, the review queue the search indexer fills, decisions, and the org's
 * sampling rate. The server holds no term and no note in the clear: rules are the tokens the
 * console derived with the bucket index keys, notes are sealed to the record's bucket key.
 * Every change is an audit event in the org's log, in the transaction of the change.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Type } from 'typebox';
import { ServerError } from '../../errors.js';
import { randomIdString, type OrgId } from '../../ids.js';
import {
  DEFAULT_SAMPLE_PPM,
  ITEM_ID_BYTES,
  MAX_RULE_BUCKETS,
  MAX_RULE_NAME,
  MAX_RULE_TERMS,
  MAX_RULES,
  MAX_SEALED_NOTE_BYTES,
  MAX_TERM_TOKENS,
  PPM,
  SAMPLE_SECRET_BYTES,
} from '../../review/review-defaults.js';
import { REVIEW_DECISIONS, type ReviewItem, type RuleTerm } from '../../store/review-stores.js';
import type { Stores } from '../../store/stores.js';
import { defineRoute } from '../route-def.js';
import { Bytes, decodeBytes, encodeBytes, Id } from '../schema-helpers.js';
import { Millis, OrgParams } from './common-schemas.js';

const TOKEN_BYTES = 16;
const Token = Bytes(TOKEN_BYTES, TOKEN_BYTES, 'a blind token (docs/blind-index.md §3)');
const BucketId = Type.String({ pattern: '^[A-Za-z0-9_-][A-Za-z0-9._:-]{0,63}$', description: 'bucket id' });
const RuleName = Type.String({
  minLength: 1,
  maxLength: MAX_RULE_NAME,
  pattern: '^[^\\u0000-\\u001f\\u007f]+$',
  description: "the officer's label (visible to the server: keep it neutral)",
});
/** Largest sealed criterion (terms sealed to up to 32 officers, plus a signature). */
const MAX_SEALED_CRITERION_BYTES = 65_536;
const SealedCriterion = Bytes(
  1,
  MAX_SEALED_CRITERION_BYTES,
  'the terms sealed to every officer (opaque to the server)',
);
const RuleBuckets = Type.Array(
  Type.Object(
    {
      bucket: BucketId,
      terms: Type.Array(Type.Array(Token, { minItems: 1, maxItems: MAX_TERM_TOKENS }), {
        minItems: 1,
        maxItems: MAX_RULE_TERMS,
        description: "each term's tokens under this bucket's index key, in term order",
      }),
    },
    { additionalProperties: false },
  ),
  { minItems: 1, maxItems: MAX_RULE_BUCKETS },
);

/** Checks and decodes per-bucket terms: each bucket once, registered, with `terms` terms. */
async function ruleTerms(
  stores: Stores,
  orgId: OrgId,
  terms: number,
  buckets: readonly { bucket: string; terms: readonly (readonly string[])[] }[],
): Promise<RuleTerm[]> {
  const seen = new Set<string>();
  const rows: RuleTerm[] = [];
  for (const [bi, b] of buckets.entries()) {
    if (seen.has(b.bucket))
      throw new ServerError('INVALID_REQUEST', `body.buckets.${bi}: bucket named twice`);
    seen.add(b.bucket);
    if (b.terms.length !== terms) {
      throw new ServerError('INVALID_REQUEST', `body.buckets.${bi}.terms: must hold ${terms} terms`);
    }
    if ((await stores.buckets.get(orgId, b.bucket)) === undefined) {
      throw new ServerError('BUCKET_NOT_FOUND', 'no such bucket in this organisation');
    }
    b.terms.forEach((toks, ti) => {
      const tokens = toks.map((t, k) => decodeBytes(`body.buckets.${bi}.terms.${ti}.${k}`, t, TOKEN_BYTES));
      rows.push({ bucketId: b.bucket, term: ti, tokens: Buffer.concat(tokens) });
    });
  }
  return rows;
}

const Decision = Type.Union([Type.Literal('cleared'), Type.Literal('escalated'), Type.Literal('violation')], {
  description: REVIEW_DECISIONS.join(', '),
});

const ItemOut = Type.Object(
  {
    itemId: Type.String(),
    logIndex: Type.Integer({ minimum: 0, description: "the record's archive-record log entry" }),
    deviceId: Type.String(),
    seq: Type.Integer({ minimum: 0 }),
    bucketId: Type.String(),
    sampled: Type.Boolean({ description: 'queued by random sampling' }),
    rules: Type.Array(Type.Object({ ruleId: Type.String(), name: Type.String() }), {
      description: 'lexicon rules the record matched',
    }),
    queuedAt: Millis,
    decision: Type.Union([Decision, Type.Null()]),
    decidedBy: Type.Union([Type.String(), Type.Null()]),
    decidedAt: Type.Union([Millis, Type.Null()]),
    note: Type.Union([Type.String(), Type.Null()], {
      description: 'the sealed note (base64url), null before the decision',
    }),
  },
  { additionalProperties: false },
);

async function itemOut(stores: Stores, orgId: OrgId, i: ReviewItem) {
  const names = await stores.review.ruleNames(orgId, i.ruleIds);
  return {
    itemId: i.itemId,
    logIndex: i.logIndex,
    deviceId: i.deviceId,
    seq: i.seq,
    bucketId: i.bucketId,
    sampled: i.sampled,
    rules: i.ruleIds.map((ruleId) => ({ ruleId, name: names.get(ruleId) ?? '' })),
    queuedAt: i.queuedAt,
    decision: i.decision,
    decidedBy: i.decidedBy,
    decidedAt: i.decidedAt,
    note: i.note === null ? null : encodeBytes(i.note),
  };
}

/** POST /v1/orgs/:orgId/review/rules */
export const addRuleRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/review/rules',
  summary:
    'Adds a lexicon rule: per bucket, each term as the blind tokens of its words (a record matches a term ' +
    'when it carries all of them, and the rule when it matches any term). New records that match are queued ' +
    'for review. `sealed` (the terms sealed to every officer) lets officers extend the rule to buckets ' +
    'registered later. Officers; audited with term and bucket counts, never tokens.',
  access: { kind: 'device', roles: ['officer'] },
  params: OrgParams,
  body: Type.Object(
    {
      name: RuleName,
      terms: Type.Integer({ minimum: 1, maximum: MAX_RULE_TERMS, description: 'number of terms' }),
      buckets: RuleBuckets,
      sealed: Type.Optional(SealedCriterion),
    },
    { additionalProperties: false },
  ),
  response: {
    status: 201,
    schema: Type.Object({ ruleId: Type.String() }, { additionalProperties: false }),
  },
  errors: ['BUCKET_NOT_FOUND'],
  async handler({ auth, body }, deps) {
    const rows = await ruleTerms(deps.stores, auth.orgId, body.terms, body.buckets);
    const sealed = body.sealed === undefined ? null : decodeBytes('body.sealed', body.sealed);
    const ruleId = randomIdString(ITEM_ID_BYTES);
    const now = deps.clock();
    await deps.stores.withTransaction(async (tx) => {
      if ((await tx.review.listRules(auth.orgId)).length >= MAX_RULES) {
        throw new ServerError(
          'INVALID_REQUEST',
          `at most ${MAX_RULES} active lexicon rules: remove one first`,
        );
      }
      await tx.review.addRule(
        auth.orgId,
        { ruleId, name: body.name, terms: body.terms, createdBy: auth.deviceId, createdAt: now, sealed },
        rows,
      );
      await deps.audit.record(tx, auth.orgId, {
        kind: 'review.rule-add',
        actorDeviceId: auth.deviceId,
        subject: ruleId,
        // Counts only: MUST NOT carry tokens or the name (which may hint at the terms).
        detail: `terms=${body.terms} buckets=${body.buckets.length}`,
        at: now,
      });
    });
    return { ruleId };
  },
});

/** GET /v1/orgs/:orgId/review/rules */
export const listRulesRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/review/rules',
  summary: 'Active lexicon rules: label, term count, the buckets each has tokens for. Officers and auditors.',
  access: { kind: 'device', roles: ['officer', 'auditor'] },
  params: OrgParams,
  response: {
    status: 200,
    schema: Type.Object(
      {
        rules: Type.Array(
          Type.Object(
            {
              ruleId: Type.String(),
              name: Type.String(),
              terms: Type.Integer({ minimum: 1 }),
              buckets: Type.Array(Type.String()),
              createdBy: Type.String(),
              createdAt: Millis,
              sealed: Type.Union([Type.String(), Type.Null()], {
                description: 'the terms sealed to every officer (base64url), null for rules made without',
              }),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth }, deps) {
    const rules = await deps.stores.review.listRules(auth.orgId);
    return {
      rules: rules.map((r) => ({
        ruleId: r.ruleId,
        name: r.name,
        terms: r.terms,
        buckets: [...r.buckets],
        createdBy: r.createdBy,
        createdAt: r.createdAt,
        sealed: r.sealed === null || r.sealed === undefined ? null : encodeBytes(r.sealed),
      })),
    };
  },
});

/** POST /v1/orgs/:orgId/review/rules/:ruleId/buckets */
export const extendRuleRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/review/rules/:ruleId/buckets',
  summary:
    "Extends an active lexicon rule to buckets registered after it was added: per bucket, each term's tokens " +
    "under that bucket's index key (the console derives them from the rule's sealed terms). A bucket the " +
    'rule already covers is refused. Officers; audited with the bucket count.',
  access: { kind: 'device', roles: ['officer'] },
  params: Type.Object(
    { orgId: Id('organisation id'), ruleId: Id('rule id') },
    { additionalProperties: false },
  ),
  body: Type.Object({ buckets: RuleBuckets }, { additionalProperties: false }),
  response: {
    status: 200,
    schema: Type.Object(
      {
        ruleId: Type.String(),
        buckets: Type.Array(Type.String(), { description: 'every bucket the rule now covers' }),
      },
      { additionalProperties: false },
    ),
  },
  errors: ['RULE_NOT_FOUND', 'BUCKET_NOT_FOUND'],
  async handler({ auth, params, body }, deps) {
    const now = deps.clock();
    return deps.stores.withTransaction(async (tx) => {
      const rule = (await tx.review.listRules(auth.orgId)).find((r) => r.ruleId === params.ruleId);
      if (rule === undefined)
        throw new ServerError('RULE_NOT_FOUND', 'no such active lexicon rule in this organisation');
      const rows = await ruleTerms(tx, auth.orgId, rule.terms, body.buckets);
      const covered = body.buckets.findIndex((b) => rule.buckets.includes(b.bucket));
      if (covered >= 0)
        throw new ServerError(
          'INVALID_REQUEST',
          `body.buckets.${covered}: the rule already covers this bucket`,
        );
      if (rule.buckets.length + body.buckets.length > MAX_RULE_BUCKETS)
        throw new ServerError(
          'INVALID_REQUEST',
          `a rule covers at most ${MAX_RULE_BUCKETS} buckets: add it anew`,
        );
      await tx.review.addRuleTerms(auth.orgId, rule.ruleId, rows);
      await deps.audit.record(tx, auth.orgId, {
        kind: 'review.rule-extend',
        actorDeviceId: auth.deviceId,
        subject: rule.ruleId,
        detail: `buckets=${body.buckets.length}`,
        at: now,
      });
      return { ruleId: rule.ruleId, buckets: [...rule.buckets, ...body.buckets.map((b) => b.bucket)].sort() };
    });
  },
});

/** PUT /v1/orgs/:orgId/review/rules/:ruleId/sealed */
export const resealRuleRoute = defineRoute({
  method: 'PUT',
  url: '/v1/orgs/:orgId/review/rules/:ruleId/sealed',
  summary:
    "Replaces an active lexicon rule's sealed terms with ones an officer re-sealed to the current officers (an " +
    'officer added after the rule was made holds no seal of it). Opaque to the server: officers check its ' +
    'signature against their officer list. Audit act `review.rule-reseal` (SHA-256 of the blob). Officers.',
  access: { kind: 'device', roles: ['officer'] },
  params: Type.Object(
    { orgId: Id('organisation id'), ruleId: Id('rule id') },
    { additionalProperties: false },
  ),
  body: Type.Object({ sealed: SealedCriterion }, { additionalProperties: false }),
  response: { status: 200, schema: Type.Object({ ruleId: Type.String() }, { additionalProperties: false }) },
  errors: ['RULE_NOT_FOUND'],
  async handler({ auth, params, body }, deps) {
    const sealed = decodeBytes('body.sealed', body.sealed);
    await deps.stores.withTransaction(async (tx) => {
      if (!(await tx.review.setRuleSealed(auth.orgId, params.ruleId, sealed)))
        throw new ServerError('RULE_NOT_FOUND', 'no such active lexicon rule in this organisation');
      await deps.audit.record(tx, auth.orgId, {
        kind: 'review.rule-reseal',
        actorDeviceId: auth.deviceId,
        subject: params.ruleId,
        detail: `sealed-sha256=${createHash('sha256').update(sealed).digest('hex')}`,
        at: deps.clock(),
      });
    });
    return { ruleId: params.ruleId };
  },
});

/** POST /v1/orgs/:orgId/review/rules/:ruleId/removal */
export const removeRuleRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/review/rules/:ruleId/removal',
  summary: 'Removes a lexicon rule: its tokens are deleted, items it queued stay. Officers; audited.',
  access: { kind: 'device', roles: ['officer'] },
  params: Type.Object(
    { orgId: Id('organisation id'), ruleId: Id('rule id') },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object({ ruleId: Type.String(), removedAt: Millis }, { additionalProperties: false }),
  },
  errors: ['RULE_NOT_FOUND'],
  async handler({ auth, params }, deps) {
    const now = deps.clock();
    await deps.stores.withTransaction(async (tx) => {
      if (!(await tx.review.removeRule(auth.orgId, params.ruleId, now))) {
        throw new ServerError('RULE_NOT_FOUND', 'no such active lexicon rule in this organisation');
      }
      await deps.audit.record(tx, auth.orgId, {
        kind: 'review.rule-remove',
        actorDeviceId: auth.deviceId,
        subject: params.ruleId,
        detail: null,
        at: now,
      });
    });
    return { ruleId: params.ruleId, removedAt: now };
  },
});

/** GET /v1/orgs/:orgId/review/next */
export const nextItemRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/review/next',
  summary:
    'The oldest undecided review item (null when the queue is empty) and how many wait. The console then ' +
    'reads and verifies the record and its context through the archive routes (audited there). Officers.',
  access: { kind: 'device', roles: ['officer'] },
  params: OrgParams,
  response: {
    status: 200,
    schema: Type.Object(
      { item: Type.Union([ItemOut, Type.Null()]), open: Type.Integer({ minimum: 0 }) },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth }, deps) {
    const next = await deps.stores.review.nextOpen(auth.orgId);
    return {
      item: next === undefined ? null : await itemOut(deps.stores, auth.orgId, next),
      open: await deps.stores.review.openCount(auth.orgId),
    };
  },
});

const ItemParams = Type.Object(
  { orgId: Id('organisation id'), itemId: Id('review item id') },
  { additionalProperties: false },
);

/** GET /v1/orgs/:orgId/review/items/:itemId */
export const getItemRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/review/items/:itemId',
  summary: 'One review item with its decision and sealed note. Officers and auditors.',
  access: { kind: 'device', roles: ['officer', 'auditor'] },
  params: ItemParams,
  response: { status: 200, schema: ItemOut },
  errors: ['REVIEW_ITEM_NOT_FOUND'],
  async handler({ auth, params }, deps) {
    const i = await deps.stores.review.item(auth.orgId, params.itemId);
    if (i === undefined)
      throw new ServerError('REVIEW_ITEM_NOT_FOUND', 'no such review item in this organisation');
    return itemOut(deps.stores, auth.orgId, i);
  },
});

/** POST /v1/orgs/:orgId/review/items/:itemId/decision */
export const decideItemRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/review/items/:itemId/decision',
  summary:
    'Records the decision on a review item (FINRA 3110(b)(4): reviewer, item, time, action) as an audit ' +
    "event `review-decide` whose document names the item, the record's log index, the decision and the " +
    "SHA-256 of the note, which arrives sealed to the record's bucket key. Final: a second decision is refused. " +
    'Officers.',
  access: { kind: 'device', roles: ['officer'] },
  params: ItemParams,
  body: Type.Object(
    {
      decision: Decision,
      note: Bytes(1, MAX_SEALED_NOTE_BYTES, "the reviewer's note, sealed to the record's bucket key"),
    },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object(
      {
        itemId: Type.String(),
        decision: Decision,
        decidedAt: Millis,
        noteHash: Type.String({ description: 'hex SHA-256 of the sealed note, as in the audit document' }),
      },
      { additionalProperties: false },
    ),
  },
  errors: ['REVIEW_ITEM_NOT_FOUND', 'REVIEW_ALREADY_DECIDED'],
  async handler({ auth, params, body }, deps) {
    const note = decodeBytes('body.note', body.note);
    const noteHash = createHash('sha256').update(note).digest('hex');
    const now = deps.clock();
    await deps.stores.withTransaction(async (tx) => {
      const item = await tx.review.item(auth.orgId, params.itemId);
      if (item === undefined)
        throw new ServerError('REVIEW_ITEM_NOT_FOUND', 'no such review item in this organisation');
      const out = await tx.review.decide(auth.orgId, params.itemId, {
        decision: body.decision,
        by: auth.deviceId,
        at: now,
        note,
      });
      if (out === 'already-decided')
        throw new ServerError('REVIEW_ALREADY_DECIDED', 'this item already has a decision');
      if (out === 'unknown')
        throw new ServerError('REVIEW_ITEM_NOT_FOUND', 'no such review item in this organisation');
      await deps.audit.record(tx, auth.orgId, {
        kind: 'review.decide',
        actorDeviceId: auth.deviceId,
        subject: params.itemId,
        detail: `decision=${body.decision} record=${item.logIndex} note=${noteHash}`,
        at: now,
      });
    });
    return { itemId: params.itemId, decision: body.decision, decidedAt: now, noteHash };
  },
});

const SettingsOut = Type.Object(
  {
    sampleRate: Type.Integer({ minimum: 0, maximum: PPM, description: 'parts per million of new records' }),
    isDefault: Type.Boolean({ description: 'true while the org has not set a rate' }),
  },
  { additionalProperties: false },
);

/** GET /v1/orgs/:orgId/review/settings */
export const getReviewSettingsRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/review/settings',
  summary: `The random sampling rate of new records (default ${DEFAULT_SAMPLE_PPM} ppm). Officers and auditors.`,
  access: { kind: 'device', roles: ['officer', 'auditor'] },
  params: OrgParams,
  response: { status: 200, schema: SettingsOut },
  errors: [],
  async handler({ auth }, deps) {
    const rate = await deps.stores.review.sampleRate(auth.orgId);
    return { sampleRate: rate ?? DEFAULT_SAMPLE_PPM, isDefault: rate === undefined };
  },
});

/** PUT /v1/orgs/:orgId/review/settings */
export const putReviewSettingsRoute = defineRoute({
  method: 'PUT',
  url: '/v1/orgs/:orgId/review/settings',
  summary: 'Sets the random sampling rate of new records, in parts per million. Officers; audited.',
  access: { kind: 'device', roles: ['officer'] },
  params: OrgParams,
  body: Type.Object(
    { sampleRate: Type.Integer({ minimum: 0, maximum: PPM, description: 'parts per million' }) },
    { additionalProperties: false },
  ),
  response: { status: 200, schema: SettingsOut },
  errors: [],
  async handler({ auth, body }, deps) {
    await deps.stores.withTransaction(async (tx) => {
      await tx.review.setSampleRate(auth.orgId, body.sampleRate, randomBytes(SAMPLE_SECRET_BYTES));
      await deps.audit.record(tx, auth.orgId, {
        kind: 'review.settings',
        actorDeviceId: auth.deviceId,
        subject: auth.orgId,
        detail: `sample=${body.sampleRate}ppm`,
        at: deps.clock(),
      });
    });
    return { sampleRate: body.sampleRate, isDefault: false };
  },
});

/** Every review route, in documentation order. */
export const REVIEW_ROUTES = [
  addRuleRoute,
  extendRuleRoute,
  resealRuleRoute,
  listRulesRoute,
  removeRuleRoute,
  getReviewSettingsRoute,
  putReviewSettingsRoute,
  nextItemRoute,
  getItemRoute,
  decideItemRoute,
] as const;
