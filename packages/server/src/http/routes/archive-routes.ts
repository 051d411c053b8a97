/**
 * Archive ingest: signed batches of sealed records, signed gap declarations, and the
 * device's chain head for resuming.
 */
import { MAX_GAP_DECLARATION_BYTES, MAX_RECORD_BYTES, MAX_WRAPPED_SESSION_KEY_BYTES } from '@custos/core';
import { Type, type Static } from 'typebox';
import {
  ARCHIVE_BATCH_BODY_LIMIT_BYTES,
  MAX_RECORDS_PER_UPLOAD,
  MAX_SESSION_KEYS_PER_UPLOAD,
} from '../../archive/archive-defaults.js';
import { archiveCommitterFor } from '../../archive/batch-commit.js';
import { acceptGap, verifyGapDocument } from '../../archive/gap-acceptance.js';
import { verifyUpload, type BatchUpload } from '../../archive/batch-verification.js';
import { ARCHIVE_BATCH_MEDIA_TYPE, decodeBatchUpload } from '../../archive/batch-wire.js';
import { ServerError } from '../../errors.js';
import { archivePoliciesFor } from '../../orgs/archive-policies.js';
import { ANY_ROLE_AND_HAND_IN, defineRoute } from '../route-def.js';
import { Bytes, decodeBytes, encodeBytes } from '../schema-helpers.js';
import type { OrgId } from '../../ids.js';
import type { Stores } from '../../store/stores.js';

const UploadBody = Type.Object(
  {
    records: Type.Array(Bytes(1, MAX_RECORD_BYTES, 'a sealed archive record (docs/archive-format.md §5)'), {
      minItems: 1,
      maxItems: MAX_RECORDS_PER_UPLOAD,
    }),
    signature: Bytes(
      64,
      64,
      "XEdDSA batch signature by the device's identity key (docs/archive-format.md §6)",
    ),
    sessionKeys: Type.Optional(
      Type.Array(
        Bytes(1, MAX_WRAPPED_SESSION_KEY_BYTES, 'a wrapped session key (docs/archive-format.md §4.1)'),
        {
          maxItems: MAX_SESSION_KEYS_PER_UPLOAD,
        },
      ),
    ),
  },
  { additionalProperties: false },
);

const Head = Type.Object(
  {
    seq: Type.Integer({ minimum: 0, description: 'sequence number of the last stored record' }),
    hash: Bytes(32, 32, 'its record hash'),
    logIndex: Type.Integer({ minimum: 0, description: "its index in the org's log" }),
  },
  { additionalProperties: false },
);

const UploadResponse = Type.Object(
  {
    logIndexes: Type.Array(Type.Integer({ minimum: 0 }), {
      description: 'the log index of each record, in order; a replayed record keeps its first index',
    }),
    stored: Type.Integer({
      minimum: 0,
      description: 'records newly stored (0 when the whole batch was a replay)',
    }),
    head: Type.Object(
      { seq: Type.Integer({ minimum: 0 }), hash: Bytes(32, 32, 'record hash') },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

function jsonUpload(body: Static<typeof UploadBody>): BatchUpload {
  return {
    records: body.records.map((r, i) => decodeBytes(`body.records.${i}`, r)),
    signature: decodeBytes('body.signature', body.signature, 64),
    sessionKeys: (body.sessionKeys ?? []).map((k, i) => decodeBytes(`body.sessionKeys.${i}`, k)),
  };
}

function binaryUpload(contentType: string | undefined, body: Buffer): BatchUpload {
  // Only the declared binary type skips the schema; any other raw body (octet-stream) is refused.
  if (contentType?.split(';')[0]?.trim().toLowerCase() !== ARCHIVE_BATCH_MEDIA_TYPE) {
    throw new ServerError('INVALID_REQUEST', `body: send application/json or ${ARCHIVE_BATCH_MEDIA_TYPE}`);
  }
  return decodeBatchUpload(body);
}

/** Refused before anything is read or stored: an org that does not archive keeps no archive. */
async function requireArchiving(stores: Stores, orgId: OrgId): Promise<void> {
  if (!(await archivePoliciesFor(stores).archives(orgId, stores))) {
    throw new ServerError(
      'ORG_DOES_NOT_ARCHIVE',
      "this device's organisation has archive policy none: it keeps no archive, so archive records are refused",
    );
  }
}

/** POST /v1/archive/batches */
export const uploadBatchRoute = defineRoute({
  method: 'POST',
  url: '/v1/archive/batches',
  summary:
    "Stores a signed batch of the caller's consecutive sealed records and sequences one log entry each, " +
    'in one durable transaction; returns their log indexes. Sending the same batch again stores nothing ' +
    'and returns the same indexes. The body may instead be sent as ' +
    `${ARCHIVE_BATCH_MEDIA_TYPE} (binary layout in packages/server/src/archive/batch-wire.ts), which skips base64. ` +
    'A revoked device may still hand in records during its archive hand-in window (server setting archiveHandInDays), ' +
    'continuing its chain, only to buckets that began before its revocation; its records are logged at their upload ' +
    'time, after its revocation (docs/threat-model.md).',
  access: ANY_ROLE_AND_HAND_IN,
  bodyLimit: ARCHIVE_BATCH_BODY_LIMIT_BYTES,
  body: UploadBody,
  binaryBodyType: ARCHIVE_BATCH_MEDIA_TYPE,
  response: { status: 200, schema: UploadResponse },
  errors: [
    'ORG_DOES_NOT_ARCHIVE',
    'ARCHIVE_RECORD_INVALID',
    'BATCH_SIGNATURE_INVALID',
    'ARCHIVE_SEQUENCE_GAP',
    'ARCHIVE_FORK',
    'BUCKET_NOT_FOUND',
    'BUCKET_DISPOSED',
    'BUCKET_NOT_VALID',
    'LOG_PUSHBACK',
  ],
  async handler({ body, auth, request }, deps) {
    await requireArchiving(deps.stores, auth.orgId);
    const upload = Buffer.isBuffer(body)
      ? binaryUpload(request.headers['content-type'], body)
      : jsonUpload(body);
    const verified = verifyUpload(auth.orgId, auth.deviceId, auth.device.identityKey, upload);
    const { revokedAt } = auth.device;
    const batch = revokedAt === null ? verified : { ...verified, revokedAt };
    const r = await archiveCommitterFor(deps.stores, deps.clock).commit(batch);
    return {
      logIndexes: [...r.logIndexes],
      stored: r.stored,
      head: { seq: r.headSeq, hash: encodeBytes(r.headHash) },
    };
  },
});

const GapBody = Type.Object(
  {
    declaration: Bytes(
      1,
      MAX_GAP_DECLARATION_BYTES,
      "the signed gap declaration document: message || the device's XEdDSA signature (docs/archive-format.md §6.1)",
    ),
  },
  { additionalProperties: false },
);

/** POST /v1/archive/gaps */
export const declareGapRoute = defineRoute({
  method: 'POST',
  url: '/v1/archive/gaps',
  summary:
    "Accepts the caller's signed declaration that a run of its chain is lost for good (acknowledged records " +
    'the server no longer holds, after a restore from an older backup, that the device no longer holds ' +
    'either; or records sealed to a bucket whose keys a disposition destroyed, reason bucket-disposed, ' +
    'accepted only in an org that has disposed of a bucket), only when the run starts at its next ' +
    'sequence number and links to its last stored record; ' +
    'appends an archive-gap log entry and moves its chain head to the declared point, so its next batch ' +
    'chains from there. Sending the same declaration again stores nothing and returns the same log index ' +
    '(docs/archive-format.md §6.1). A revoked device may declare during its archive hand-in window.',
  access: ANY_ROLE_AND_HAND_IN,
  body: GapBody,
  response: {
    status: 200,
    schema: Type.Object(
      {
        logIndex: Type.Integer({
          minimum: 0,
          description: "index of the declaration's archive-gap log entry",
        }),
        stored: Type.Boolean({ description: 'false when the same declaration was already accepted' }),
        head: Type.Object(
          {
            seq: Type.Integer({ minimum: 0, description: 'the last declared sequence number' }),
            hash: Bytes(32, 32, 'the declared hash the next record links to'),
          },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
  },
  errors: ['ORG_DOES_NOT_ARCHIVE', 'ARCHIVE_GAP_INVALID', 'ARCHIVE_GAP_MISMATCH', 'LOG_PUSHBACK'],
  async handler({ body, auth }, deps) {
    await requireArchiving(deps.stores, auth.orgId);
    const document = decodeBytes('body.declaration', body.declaration);
    const d = verifyGapDocument(auth.orgId, auth.deviceId, auth.device.identityKey, document);
    const r = await acceptGap(deps.stores, d, document, deps.clock());
    return {
      logIndex: r.logIndex,
      stored: r.stored,
      head: { seq: r.headSeq, hash: encodeBytes(r.headHash) },
    };
  },
});

/** GET /v1/archive/head */
export const archiveHeadRoute = defineRoute({
  method: 'GET',
  url: '/v1/archive/head',
  summary:
    "The caller's archive chain head (last stored sequence number, record hash and log index) and the " +
    'next sequence number it should upload, so a device can resume after a crash. After an accepted gap ' +
    'declaration that is later than the last record, the head is the declared one (docs/archive-format.md §6.1). ' +
    'A revoked device may read it during its archive hand-in window.',
  access: ANY_ROLE_AND_HAND_IN,
  response: {
    status: 200,
    schema: Type.Object(
      { nextSeq: Type.Integer({ minimum: 0 }), head: Type.Union([Head, Type.Null()]) },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth }, deps) {
    const head = await deps.stores.archive.head(auth.orgId, auth.deviceId);
    if (head === undefined) return { nextSeq: 0, head: null };
    return {
      nextSeq: head.seq + 1,
      head: { seq: head.seq, hash: encodeBytes(head.hash), logIndex: head.logIndex },
    };
  },
});
