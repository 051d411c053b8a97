/**
 * Key distribution: bucket public keys with their signed documents (any device), bucket
 * private keys wrapped for officers (officers only) and index keys sealed to devices (the
 * device they are sealed to only). All blobs are opaque to the server.
 */
import { Type, type Static } from 'typebox';
import { ServerError } from '../../errors.js';
import type { DeviceId } from '../../ids.js';
import { indexKeyRecipients } from '../../keys/index-key-recipients.js';
import { renewKeyManager } from '../../keys/key-manager-renewal.js';
import { putKeyBlob, registerBucket } from '../../keys/key-registration.js';
import type { BucketRecord } from '../../store/bucket-stores.js';
import { ANY_ROLE, defineRoute } from '../route-def.js';
import { Bytes, decodeBytes, encodeBytes, Id } from '../schema-helpers.js';
import { Millis, OrgParams, pageLimit, PageQuery, RetentionClassSchema } from './common-schemas.js';

/** Largest signed bucket-key document. */
const MAX_BUCKET_DOCUMENT_BYTES = 1024;
/** Largest opaque wrap or sealed index key. */
export const MAX_KEY_BLOB_BYTES = 4096;
/** Buckets listed per page. */
const BUCKET_PAGE_MAX = 200;

const BucketId = Type.String({ pattern: '^[A-Za-z0-9_-][A-Za-z0-9._:-]{0,63}$', description: 'bucket id' });
const BucketParams = Type.Object(
  { orgId: Id('organisation id'), bucketId: BucketId },
  { additionalProperties: false },
);

const BucketSchema = Type.Object(
  {
    bucketId: BucketId,
    retentionClass: Type.String(),
    period: Type.String(),
    notBefore: Millis,
    notAfter: Millis,
    publicKey: Bytes(32, 32, 'X25519 bucket public key'),
    document: Bytes(
      1,
      MAX_BUCKET_DOCUMENT_BYTES,
      "the key manager's signed bucket-key document (docs/keys.md)",
    ),
    logIndex: Type.Integer({ minimum: 0, description: 'index of its key-event entry' }),
  },
  { additionalProperties: false },
);

function bucketOut(b: BucketRecord): Static<typeof BucketSchema> {
  return {
    bucketId: b.bucketId,
    retentionClass: b.retentionClass,
    period: b.period,
    notBefore: b.notBefore,
    notAfter: b.notAfter,
    publicKey: encodeBytes(b.publicKey),
    document: encodeBytes(b.document),
    logIndex: b.logIndex,
  };
}

const BlobList = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          bucketId: BucketId,
          recipient: Type.String(),
          blob: Bytes(1, MAX_KEY_BLOB_BYTES, 'opaque'),
          logIndex: Type.Integer(),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const LogIndexResponse = Type.Object(
  { logIndex: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);

/** POST /v1/orgs/:orgId/buckets */
export const registerBucketRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/buckets',
  summary:
    "Registers a bucket public key from the key manager's signed document, after verifying it against the " +
    "org's key-manager delegation; appends a `bucket-key-published` key event. Idempotent for the same document.",
  access: { kind: 'device', roles: ['admin', 'officer'] },
  params: OrgParams,
  body: Type.Object(
    { document: Bytes(1, MAX_BUCKET_DOCUMENT_BYTES, 'signed bucket-key document') },
    { additionalProperties: false },
  ),
  response: { status: 201, schema: BucketSchema },
  errors: ['INVALID_KEY', 'KEY_MANAGER_INVALID', 'BUCKET_CONFLICT', 'LOG_PUSHBACK'],
  async handler({ auth, body }, deps) {
    const doc = decodeBytes('body.document', body.document);
    return bucketOut(await registerBucket(deps.stores, auth.orgId, auth.deviceId, doc, deps.clock()));
  },
});

/** GET /v1/orgs/:orgId/buckets */
export const listBucketsRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/buckets',
  summary: 'Registered bucket public keys with their signed documents, by bucket id.',
  access: ANY_ROLE,
  params: OrgParams,
  query: Type.Object({ after: Type.Optional(BucketId) }, { additionalProperties: false }),
  response: {
    status: 200,
    schema: Type.Object({ buckets: Type.Array(BucketSchema) }, { additionalProperties: false }),
  },
  errors: [],
  async handler({ auth, query }, deps) {
    const rows = await deps.stores.buckets.list(auth.orgId, query.after ?? null, BUCKET_PAGE_MAX);
    return { buckets: rows.map(bucketOut) };
  },
});

/** PUT /v1/orgs/:orgId/buckets/:bucketId/officer-wraps/:officerIndex */
export const putOfficerWrapRoute = defineRoute({
  method: 'PUT',
  url: '/v1/orgs/:orgId/buckets/:bucketId/officer-wraps/:officerIndex',
  summary:
    'Stores the bucket private key wrapped for officer `officerIndex`, or for the root archive key when it is ' +
    '`root` (opaque); appends a key event.',
  access: { kind: 'device', roles: ['officer'] },
  params: Type.Object(
    {
      orgId: Id('organisation id'),
      bucketId: BucketId,
      officerIndex: Type.String({
        pattern: '^(root|0|[1-9][0-9]?)$',
        description: 'officer index, or `root`',
      }),
    },
    { additionalProperties: false },
  ),
  body: Type.Object(
    { blob: Bytes(1, MAX_KEY_BLOB_BYTES, 'wrapped bucket private key') },
    { additionalProperties: false },
  ),
  response: { status: 200, schema: LogIndexResponse },
  errors: ['BUCKET_NOT_FOUND', 'LOG_PUSHBACK'],
  async handler({ auth, params, body }, deps) {
    const org = await deps.stores.orgs.get(auth.orgId);
    const known =
      params.officerIndex === 'root' || org?.officers.some((o) => String(o.index) === params.officerIndex);
    if (org === undefined || known !== true) {
      throw new ServerError('INVALID_REQUEST', 'params.officerIndex: no such officer in this organisation');
    }
    const blob = decodeBytes('body.blob', body.blob);
    const logIndex = await putKeyBlob(
      deps.stores,
      auth.orgId,
      auth.deviceId,
      'officer-wrap',
      params.bucketId,
      params.officerIndex,
      blob,
      deps.clock(),
    );
    return { logIndex };
  },
});

/** GET /v1/orgs/:orgId/buckets/:bucketId/officer-wraps */
export const listOfficerWrapsRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/buckets/:bucketId/officer-wraps',
  summary:
    "The bucket's wrapped private keys, one per officer and the root's (`recipient` = `root`); officers only.",
  access: { kind: 'device', roles: ['officer'] },
  params: BucketParams,
  response: { status: 200, schema: BlobList },
  errors: [],
  async handler({ auth, params }, deps) {
    const rows = await deps.stores.buckets.blobsForBucket(auth.orgId, 'officer-wrap', params.bucketId);
    return {
      items: rows.map((r) => ({
        bucketId: r.bucketId,
        recipient: r.recipient,
        blob: encodeBytes(r.blob),
        logIndex: r.logIndex,
      })),
    };
  },
});

/** PUT /v1/orgs/:orgId/buckets/:bucketId/index-keys/:deviceId */
export const putIndexKeyRoute = defineRoute({
  method: 'PUT',
  url: '/v1/orgs/:orgId/buckets/:bucketId/index-keys/:deviceId',
  summary: "Stores the bucket's blind-index key sealed to device `deviceId` (opaque); appends a key event.",
  access: { kind: 'device', roles: ['officer'] },
  params: Type.Object(
    { orgId: Id('organisation id'), bucketId: BucketId, deviceId: Id('recipient device') },
    { additionalProperties: false },
  ),
  body: Type.Object(
    { blob: Bytes(1, MAX_KEY_BLOB_BYTES, 'sealed index key') },
    { additionalProperties: false },
  ),
  response: { status: 200, schema: LogIndexResponse },
  errors: ['BUCKET_NOT_FOUND', 'DEVICE_NOT_FOUND', 'LOG_PUSHBACK'],
  async handler({ auth, params, body }, deps) {
    const device = await deps.stores.devices.get(auth.orgId, params.deviceId as DeviceId);
    if (device === undefined || device.revokedAt !== null) {
      throw new ServerError(
        'DEVICE_NOT_FOUND',
        'params.deviceId: no such active device in this organisation',
      );
    }
    const blob = decodeBytes('body.blob', body.blob);
    const logIndex = await putKeyBlob(
      deps.stores,
      auth.orgId,
      auth.deviceId,
      'index-key',
      params.bucketId,
      params.deviceId,
      blob,
      deps.clock(),
    );
    return { logIndex };
  },
});

/** GET /v1/index-keys */
export const myIndexKeysRoute = defineRoute({
  method: 'GET',
  url: '/v1/index-keys',
  summary: 'The index keys sealed to the calling device, one per bucket.',
  access: ANY_ROLE,
  response: { status: 200, schema: BlobList },
  errors: [],
  async handler({ auth }, deps) {
    const rows = await deps.stores.buckets.blobsForRecipient(auth.orgId, 'index-key', auth.deviceId);
    return {
      items: rows.map((r) => ({
        bucketId: r.bucketId,
        recipient: r.recipient,
        blob: encodeBytes(r.blob),
        logIndex: r.logIndex,
      })),
    };
  },
});

const RecipientSchema = Type.Object(
  {
    deviceId: Id('device'),
    userId: Id('its user'),
    retentionClass: RetentionClassSchema,
    identityKey: Bytes(33, 33, 'libsignal identity public key: the index key is sealed to it'),
    sealed: Type.Boolean({
      description: "true when the bucket's index key is already stored for this device",
    }),
  },
  { additionalProperties: false },
);

/** GET /v1/orgs/:orgId/buckets/:bucketId/index-keys */
export const listIndexKeyRecipientsRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/buckets/:bucketId/index-keys',
  summary:
    "The organisation's active devices, by id, with identity key, retention class and whether the bucket's " +
    'index key is sealed to them (officers only; `custos console grant-index-keys`).',
  access: { kind: 'device', roles: ['officer'] },
  params: BucketParams,
  query: PageQuery,
  response: {
    status: 200,
    schema: Type.Object(
      {
        recipients: Type.Array(RecipientSchema),
        next: Type.Union([Id('pass as `after` for the next page'), Type.Null()]),
      },
      { additionalProperties: false },
    ),
  },
  errors: ['BUCKET_NOT_FOUND'],
  async handler({ auth, params, query }, deps) {
    const page = await indexKeyRecipients(
      deps.stores,
      auth.orgId,
      params.bucketId,
      (query.after as DeviceId | undefined) ?? null,
      pageLimit(query.limit),
    );
    return {
      recipients: page.recipients.map((r) => ({ ...r, identityKey: encodeBytes(r.identityKey) })),
      next: page.next,
    };
  },
});

/** PUT /v1/orgs/:orgId/key-manager */
export const renewKeyManagerRoute = defineRoute({
  method: 'PUT',
  url: '/v1/orgs/:orgId/key-manager',
  summary:
    'Replaces the key-manager delegation with one a quorum re-issued: it must verify with the org signing key, ' +
    'name the current key-manager key, start no later and end later than the current one; appends a ' +
    '`key-manager-delegated` key event. The current delegation again is idempotent.',
  access: { kind: 'device', roles: ['officer'] },
  params: OrgParams,
  body: Type.Object(
    { delegation: Bytes(1, 8192, 'key-manager delegation, signed by the org signing key') },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object(
      {
        delegation: Bytes(1, 8192, 'the stored delegation'),
        notBefore: Millis,
        notAfter: Millis,
        changed: Type.Boolean({ description: 'false when this delegation was already the current one' }),
      },
      { additionalProperties: false },
    ),
  },
  errors: ['KEY_MANAGER_INVALID', 'LOG_PUSHBACK'],
  async handler({ auth, body }, deps) {
    const delegation = decodeBytes('body.delegation', body.delegation);
    const r = await renewKeyManager(deps.stores, auth.orgId, auth.deviceId, delegation, deps.clock());
    return {
      delegation: encodeBytes(r.keyManager.delegation),
      notBefore: r.keyManager.notBefore,
      notAfter: r.keyManager.notAfter,
      changed: r.changed,
    };
  },
});
