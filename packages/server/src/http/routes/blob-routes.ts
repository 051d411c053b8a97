/** Blobs (encrypted attachments): upload by content hash, download by id. */
import { Type } from 'typebox';
import { BLOB_MAX_BYTES } from '../../config/messaging-defaults.js';
import { BLOB_ID_PATTERN, downloadBlob, uploadBlob } from '../../blobs/blob-service.js';
import { ServerError } from '../../errors.js';
import { messagingOf } from '../../relay/messaging-services.js';
import type { BlobId } from '../../store/messaging-records.js';
import { ANY_ROLE, defineRoute } from '../route-def.js';

const BlobParams = Type.Object(
  {
    blobId: Type.String({
      pattern: BLOB_ID_PATTERN,
      description: 'SHA-256 of the blob bytes, lowercase hex',
    }),
  },
  { additionalProperties: false },
);

/** PUT /v1/blobs/:blobId */
export const uploadBlobRoute = defineRoute({
  method: 'PUT',
  url: '/v1/blobs/:blobId',
  summary:
    'Uploads an encrypted attachment as the raw body (`Content-Type: application/octet-stream`, at most ' +
    `${BLOB_MAX_BYTES} bytes). The path id must be the SHA-256 of the body. The size counts against the ` +
    "organisation's quota; uploading a blob the organisation already has changes nothing.",
  access: ANY_ROLE,
  bodyLimit: BLOB_MAX_BYTES,
  params: BlobParams,
  response: {
    status: 200,
    schema: Type.Object(
      {
        blobId: Type.String({ description: 'the id' }),
        size: Type.Integer({ description: 'bytes stored' }),
        existed: Type.Boolean({ description: 'true when the organisation had uploaded it before' }),
      },
      { additionalProperties: false },
    ),
  },
  errors: ['BLOB_HASH_MISMATCH', 'BLOB_QUOTA_EXCEEDED'],
  async handler({ params, auth, request }, deps) {
    const body: unknown = request.body;
    if (!Buffer.isBuffer(body))
      throw new ServerError('UNSUPPORTED_MEDIA_TYPE', 'a blob is sent as application/octet-stream');
    const blobId = params.blobId as BlobId;
    const quota = messagingOf(deps).settings.blobQuotaBytes;
    const { existed } = await uploadBlob(
      deps.stores,
      auth.orgId,
      auth.deviceId,
      blobId,
      body,
      quota,
      deps.clock(),
    );
    return { blobId, size: body.length, existed };
  },
});

/** GET /v1/blobs/:blobId */
export const downloadBlobRoute = defineRoute({
  method: 'GET',
  url: '/v1/blobs/:blobId',
  summary:
    'Downloads a blob as `application/octet-stream`. Any authenticated device that knows the id may: the id is ' +
    'unguessable and the bytes are ciphertext under a key that only the message carries.',
  access: ANY_ROLE,
  params: BlobParams,
  response: {
    status: 200,
    schema: Type.Unsafe<Buffer>({ type: 'string', description: 'the blob bytes (binary body)' }),
  },
  errors: ['BLOB_NOT_FOUND'],
  async handler({ params, reply }, deps) {
    const content = await downloadBlob(deps.stores, params.blobId as BlobId);
    void reply.type('application/octet-stream');
    return content;
  },
});
