/**
 * Legal holds (docs/officers.md "Legal holds"): place, list and release. Officers only.
 * Placing and releasing are acts in the org's log (`hold` entries, hold-acts.ts); the server
 * stores query and conversation holds as the console's blind tokens per bucket, so it can
 * tell which records a hold covers without knowing the words or the conversation.
 */
import { MAX_HOLD_RELEASE_BYTES } from '@custos/core';
import { Type } from 'typebox';
import { ServerError } from '../../errors.js';
import {
  extendHold,
  placeHold,
  releaseHold,
  resealHold,
  MAX_HOLD_BUCKETS,
  MAX_HOLD_TOKENS,
  MAX_MATTER_CHARS,
  MAX_REASON_CHARS,
} from '../../holds/hold-acts.js';
import { boundOfficerIndex } from '../../auth/officer-binding.js';
import type { UserId } from '../../ids.js';
import {
  HOLD_TOKEN_BYTES,
  type HoldId,
  type HoldRecord,
  type HoldScope,
  type ListedHold,
} from '../../store/hold-stores.js';
import { defineRoute } from '../route-def.js';
import { Bytes, decodeBytes, encodeBytes, Id } from '../schema-helpers.js';
import { Millis, OrgParams, pageLimit, PageQuery } from './common-schemas.js';

const OFFICERS = { kind: 'device', roles: ['officer'] } as const;
/** Room for MAX_HOLD_BUCKETS buckets of MAX_HOLD_TOKENS tokens each (about 0.85 MB of JSON). */
const HOLD_BODY_LIMIT_BYTES = 1024 * 1024;

const HoldKindSchema = Type.Union(
  [Type.Literal('custodian'), Type.Literal('conversation'), Type.Literal('query'), Type.Literal('dates')],
  { description: 'custodian, conversation, query or dates' },
);
const BucketIdSchema = Type.String({
  pattern: '^[A-Za-z0-9_-][A-Za-z0-9._:-]{0,63}$',
  description: 'bucket id',
});
const Token = Bytes(HOLD_TOKEN_BYTES, HOLD_TOKEN_BYTES, 'a blind token (docs/blind-index.md §3)');
const BucketTokensSchema = Type.Object(
  {
    bucketId: BucketIdSchema,
    tokens: Type.Array(Token, {
      minItems: 1,
      maxItems: MAX_HOLD_TOKENS,
      description: "tokens a covered record carries, all of them, under this bucket's index key",
    }),
  },
  { additionalProperties: false },
);

/** Largest sealed criterion (a query sealed to up to 32 officers, plus a signature). */
const MAX_SEALED_CRITERION_BYTES = 65_536;
const SealedCriterion = Bytes(
  1,
  MAX_SEALED_CRITERION_BYTES,
  'kinds conversation and query: the criterion sealed to every officer (opaque to the server), so officers can extend the hold to later buckets',
);
const BucketTokensList = Type.Array(BucketTokensSchema, {
  minItems: 1,
  maxItems: MAX_HOLD_BUCKETS,
  description: 'per bucket, the blind tokens (kinds conversation and query)',
});

const CreateBody = Type.Object(
  {
    kind: HoldKindSchema,
    matter: Type.String({
      minLength: 1,
      maxLength: MAX_MATTER_CHARS,
      description: 'matter name or code (stored in clear)',
    }),
    custodian: Type.Optional(Id('custodian user (kind custodian)')),
    from: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'start of the range in ms, inclusive (kind dates)',
      }),
    ),
    to: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'end of the range in ms, exclusive (kind dates)',
      }),
    ),
    buckets: Type.Optional(
      Type.Array(BucketTokensSchema, {
        minItems: 1,
        maxItems: MAX_HOLD_BUCKETS,
        description: 'per bucket, the blind tokens (kinds conversation and query)',
      }),
    ),
    sealed: Type.Optional(SealedCriterion),
  },
  { additionalProperties: false },
);

const HoldOut = Type.Object(
  {
    holdId: Id('hold'),
    kind: HoldKindSchema,
    matter: Type.String(),
    custodian: Type.Union([Id('custodian user'), Type.Null()]),
    from: Type.Union([Millis, Type.Null()]),
    to: Type.Union([Millis, Type.Null()]),
    buckets: Type.Array(Type.String(), { description: 'buckets a token hold has tokens for' }),
    createdBy: Id('officer device'),
    createdAt: Millis,
    releasedBy: Type.Union([Id('officer device'), Type.Null()]),
    releasedAt: Type.Union([Millis, Type.Null()]),
    releaseReason: Type.Union([Type.String(), Type.Null()]),
    releaseStatement: Type.Union([Type.String(), Type.Null()], {
      description:
        "the officer's signed release statement (base64url; core hold-release.ts), or null: active, or released before releases were signed",
    }),
    releaseSignature: Type.Union([Type.String(), Type.Null()], {
      description: "its Ed25519 signature by the officer's signing key (base64url), or null",
    }),
    sealed: Type.Union([Type.String(), Type.Null()], {
      description: "a token hold's criterion sealed to every officer (base64url), or null",
    }),
  },
  { additionalProperties: false },
);

/**
 * A hold as listed: also the users whose devices placed and released it (the devices
 * table's, joined in the listing's query), so an officer reads a person where the device ids
 * alone name none; the device ids stay, for matching against the log. And the placing act's
 * detail, so a console matches a token hold to that act with one hash, not a search (console
 * holds/hold-scope-search.ts).
 */
const ListedHoldOut = Type.Object(
  {
    ...HoldOut.properties,
    createdByUser: Type.Union([Id('user'), Type.Null()], {
      description: 'the user of the `createdBy` device (null only for a device the org does not know)',
    }),
    releasedByUser: Type.Union([Id('user'), Type.Null()], {
      description: 'the user of the `releasedBy` device, or null',
    }),
    placedDetail: Type.Union([Type.String(), Type.Null()], {
      description:
        "the detail of the hold's placing act (`hold.create`) as recorded (the log holds its document's hash), which consoles check against its log entry; null if not found",
    }),
  },
  { additionalProperties: false },
);

/** The scope named by a create body; INVALID_REQUEST names a missing or extra field. */
function scopeOf(body: {
  kind: HoldScope['kind'];
  custodian?: string;
  from?: number;
  to?: number;
  buckets?: { bucketId: string; tokens: string[] }[];
}): HoldScope {
  const given = (['custodian', 'from', 'to', 'buckets'] as const).filter((k) => body[k] !== undefined);
  const need =
    body.kind === 'custodian' ? ['custodian'] : body.kind === 'dates' ? ['from', 'to'] : ['buckets'];
  for (const k of need)
    if (!given.includes(k as (typeof given)[number]))
      throw new ServerError('INVALID_REQUEST', `body.${k}: required for a ${body.kind} hold`);
  for (const k of given)
    if (!need.includes(k))
      throw new ServerError('INVALID_REQUEST', `body.${k}: not allowed for a ${body.kind} hold`);
  if (body.kind === 'custodian') return { kind: 'custodian', userId: body.custodian as UserId };
  if (body.kind === 'dates') return { kind: 'dates', from: body.from!, to: body.to! };
  return { kind: body.kind, buckets: bucketTokens(body.buckets!) };
}

function bucketTokens(buckets: readonly { bucketId: string; tokens: readonly string[] }[]) {
  return buckets.map((b, i) => ({
    bucketId: b.bucketId,
    tokens: b.tokens.map((t, j) => decodeBytes(`body.buckets.${i}.tokens.${j}`, t, HOLD_TOKEN_BYTES)),
  }));
}

/** A hold as answered (token holds list their buckets, never their tokens). */
function holdOut(h: HoldRecord) {
  const s = h.scope;
  return {
    holdId: h.holdId,
    kind: s.kind,
    matter: h.matter,
    custodian: s.kind === 'custodian' ? s.userId : null,
    from: s.kind === 'dates' ? s.from : null,
    to: s.kind === 'dates' ? s.to : null,
    buckets: s.kind === 'query' || s.kind === 'conversation' ? s.buckets.map((b) => b.bucketId) : [],
    createdBy: h.createdBy,
    createdAt: h.createdAt,
    releasedBy: h.releasedBy,
    releasedAt: h.releasedAt,
    releaseReason: h.releaseReason,
    releaseStatement: h.releaseSignature === null ? null : encodeBytes(h.releaseSignature.statement),
    releaseSignature: h.releaseSignature === null ? null : encodeBytes(h.releaseSignature.signature),
    sealed: h.sealed === null || h.sealed === undefined ? null : encodeBytes(h.sealed),
  };
}

/** A listed hold as answered: {@link holdOut} and the users of its devices. */
function listedHoldOut(h: ListedHold) {
  return {
    ...holdOut(h),
    createdByUser: h.createdByUser,
    releasedByUser: h.releasedByUser,
    placedDetail: h.placedDetail,
  };
}

/** POST /v1/orgs/:orgId/holds */
export const createHoldRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/holds',
  summary:
    'Places a legal hold on a custodian (user id), a date range (received time), or the records carrying ' +
    'blind tokens (a query or a conversation, per bucket). Held records survive retention expiry and ' +
    'disposition until the hold is released. A `hold` entry in the log (audit detail: kind, ids, dates, ' +
    'counts and the SHA-256 of the matter; never tokens). Officers only.',
  access: OFFICERS,
  params: OrgParams,
  body: CreateBody,
  bodyLimit: HOLD_BODY_LIMIT_BYTES,
  response: { status: 201, schema: HoldOut },
  errors: ['USER_NOT_FOUND', 'BUCKET_NOT_FOUND'],
  async handler({ auth, body }, deps) {
    const scope = scopeOf(body);
    const hold = await placeHold(
      deps.stores,
      deps.audit,
      auth.orgId,
      auth.deviceId,
      deps.clock(),
      body.matter,
      scope,
      body.sealed === undefined ? null : decodeBytes('body.sealed', body.sealed),
    );
    return holdOut(hold);
  },
});

/** POST /v1/orgs/:orgId/holds/:holdId/buckets */
export const extendHoldRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/holds/:holdId/buckets',
  summary:
    'Extends an active query or conversation hold to buckets registered after it was placed: per bucket, the ' +
    "blind tokens under that bucket's index key (the console derives them from the hold's sealed criterion). " +
    'A bucket the hold already covers is refused. Audit act `hold.extend` (bucket and token counts). Officers only.',
  access: OFFICERS,
  params: Type.Object({ orgId: Id('organisation id'), holdId: Id('hold') }, { additionalProperties: false }),
  body: Type.Object({ buckets: BucketTokensList }, { additionalProperties: false }),
  bodyLimit: HOLD_BODY_LIMIT_BYTES,
  response: { status: 200, schema: HoldOut },
  errors: ['HOLD_NOT_FOUND', 'HOLD_RELEASED', 'BUCKET_NOT_FOUND'],
  async handler({ auth, params, body }, deps) {
    const hold = await extendHold(
      deps.stores,
      deps.audit,
      auth.orgId,
      params.holdId as HoldId,
      auth.deviceId,
      deps.clock(),
      bucketTokens(body.buckets),
    );
    return holdOut(hold);
  },
});

/** PUT /v1/orgs/:orgId/holds/:holdId/sealed */
export const resealHoldRoute = defineRoute({
  method: 'PUT',
  url: '/v1/orgs/:orgId/holds/:holdId/sealed',
  summary:
    "Replaces an active query or conversation hold's sealed criterion with one an officer re-sealed to the " +
    'current officers (an officer added after the hold was placed holds no seal of it). Opaque to the server: ' +
    'officers check its signature against their officer list. Audit act `hold.reseal` (SHA-256 of the blob). ' +
    'Officers only.',
  access: OFFICERS,
  params: Type.Object({ orgId: Id('organisation id'), holdId: Id('hold') }, { additionalProperties: false }),
  body: Type.Object({ sealed: SealedCriterion }, { additionalProperties: false }),
  response: { status: 200, schema: Type.Object({ holdId: Id('hold') }, { additionalProperties: false }) },
  errors: ['HOLD_NOT_FOUND', 'HOLD_RELEASED'],
  async handler({ auth, params, body }, deps) {
    await resealHold(
      deps.stores,
      deps.audit,
      auth.orgId,
      params.holdId as HoldId,
      auth.deviceId,
      deps.clock(),
      decodeBytes('body.sealed', body.sealed),
    );
    return { holdId: params.holdId };
  },
});

/** GET /v1/orgs/:orgId/holds */
export const listHoldsRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/holds',
  summary:
    "Lists the organisation's legal holds, active and released, by id (token holds name their buckets only), each " +
    "with the devices that placed and released it and those devices' users. Officers only.",
  access: OFFICERS,
  params: OrgParams,
  query: PageQuery,
  response: {
    status: 200,
    schema: Type.Object(
      {
        holds: Type.Array(ListedHoldOut),
        next: Type.Union([Id('pass as `after` for the next page'), Type.Null()]),
      },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth, query }, deps) {
    const limit = pageLimit(query.limit);
    const holds = await deps.stores.holds.list(auth.orgId, {
      after: (query.after as HoldId | undefined) ?? null,
      limit,
    });
    return {
      holds: holds.map(listedHoldOut),
      next: holds.length === limit ? (holds.at(-1)?.holdId ?? null) : null,
    };
  },
});

/** Length of an Ed25519 signature. */
const SIGNATURE_BYTES = 64;

/** POST /v1/orgs/:orgId/holds/:holdId/release */
export const releaseHoldRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/holds/:holdId/release',
  summary:
    "Releases a legal hold, once, on an officer's signed release statement (core hold-release.ts): it names " +
    "this org, this hold, the reason's SHA-256 and the officer's index, and the signature must verify with that " +
    "officer's registered signing key (a statement for another org, hold or reason is INVALID_REQUEST; one " +
    "signed as another officer than the calling device's is OFFICER_NOT_SIGNER; an unknown officer or a " +
    'signature that does not verify is INVALID_KEY; the statement sent again is HOLD_RELEASED). A `hold` entry in the log (audit detail: the SHA-256 of the reason and of the statement; ' +
    'the reason itself and the signed statement stay in the holds table for officers, whose consoles verify ' +
    'them). Officers only.',
  access: OFFICERS,
  params: Type.Object({ orgId: Id('organisation id'), holdId: Id('hold') }, { additionalProperties: false }),
  body: Type.Object(
    {
      reason: Type.String({ minLength: 1, maxLength: MAX_REASON_CHARS, description: 'why the hold ends' }),
      statement: Bytes(1, MAX_HOLD_RELEASE_BYTES, 'the signed release statement, deterministic CBOR'),
      signature: Bytes(SIGNATURE_BYTES, SIGNATURE_BYTES, "Ed25519 by the officer's signing key"),
    },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object({ holdId: Id('hold'), releasedAt: Millis }, { additionalProperties: false }),
  },
  errors: ['HOLD_NOT_FOUND', 'HOLD_RELEASED', 'INVALID_KEY', 'OFFICER_NOT_SIGNER'],
  async handler({ auth, params, body }, deps) {
    const at = deps.clock();
    await releaseHold(
      deps.stores,
      deps.audit,
      auth.orgId,
      params.holdId as HoldId,
      auth.deviceId,
      at,
      body.reason,
      {
        statement: decodeBytes('body.statement', body.statement),
        signature: decodeBytes('body.signature', body.signature, SIGNATURE_BYTES),
      },
      boundOfficerIndex(auth),
    );
    return { holdId: params.holdId, releasedAt: at };
  },
});
