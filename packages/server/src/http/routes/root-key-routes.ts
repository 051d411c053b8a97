/**
 * Rotating the root archive key (docs/keys.md §6, docs/officers.md §5): what a rotation must
 * re-wrap, and the rotation itself — a statement signed by the org signing key naming the new
 * root public key and the one it replaces, with every live bucket's private key and the
 * current key-manager key wrapped to the new root (opaque). The server holds no private key.
 */
import { Type } from 'typebox';
import { ServerError } from '../../errors.js';
import { rootRotationNeeds, rotateRootKey } from '../../keys/root-key-rotation.js';
import { defineRoute } from '../route-def.js';
import { Bytes, decodeBytes, encodeBytes } from '../schema-helpers.js';
import { OrgParams } from './common-schemas.js';
import { MAX_KEY_BLOB_BYTES } from './key-routes.js';

/** Most buckets a rotation re-wraps in one request (about 13 years of three classes a month, twice). */
const MAX_ROTATION_BUCKETS = 1000;
const Statement = (d: string) => Bytes(1, 1024, d);
const BucketId = Type.String({ pattern: '^[A-Za-z0-9_-][A-Za-z0-9._:-]{0,63}$', description: 'bucket id' });

/** GET /v1/orgs/:orgId/root-archive-key */
export const rootKeyRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/root-archive-key',
  summary:
    'The current root archive public key, the last rotation statement (absent before the first rotation), ' +
    'the buckets whose keys still exist (a rotation re-wraps each) and whether the key-manager key needs a ' +
    'root wrap too; officers only.',
  access: { kind: 'device', roles: ['officer'] },
  params: OrgParams,
  response: {
    status: 200,
    schema: Type.Object(
      {
        rootArchivePublicKey: Bytes(32, 2048, 'current root archive public key'),
        statement: Type.Optional(Statement('the last rotation statement, signed by the org signing key')),
        buckets: Type.Array(BucketId),
        keyManagerWrap: Type.Boolean({
          description:
            'true when the current key-manager key came from a rotation (its wraps are on the server)',
        }),
      },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth }, deps) {
    const org = await deps.stores.orgs.get(auth.orgId);
    if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
    const needs = await rootRotationNeeds(deps.stores, org);
    const last = (await deps.stores.orgs.rootKeyRotations(auth.orgId)).at(-1);
    return {
      rootArchivePublicKey: encodeBytes(org.rootArchivePublicKey),
      ...(last === undefined ? {} : { statement: encodeBytes(last.statement) }),
      buckets: [...needs.buckets],
      keyManagerWrap: needs.keyManagerSeq !== undefined,
    };
  },
});

/** POST /v1/orgs/:orgId/root-archive-key/rotations */
export const rotateRootKeyRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/root-archive-key/rotations',
  summary:
    'Rotates the root archive key: a statement signed by the org signing key naming this organisation, the new ' +
    'root public key and the current one it replaces, issued within 10 minutes of now and after the last ' +
    'rotation; with each live bucket private key wrapped to the new root (replacing the old root wraps) and, when ' +
    'the key-manager key came from a rotation, that key wrapped to the new root. Appends a ' +
    '`root-archive-key-rotated` key event and a `bucket-key-wrapped` event per bucket. The last statement again ' +
    'is idempotent.',
  access: { kind: 'device', roles: ['officer'] },
  params: OrgParams,
  body: Type.Object(
    {
      statement: Statement('root-archive-key statement signed by the org signing key'),
      wraps: Type.Array(
        Type.Object(
          {
            bucketId: BucketId,
            blob: Bytes(1, MAX_KEY_BLOB_BYTES, 'bucket private key wrapped to the new root'),
          },
          { additionalProperties: false },
        ),
        { maxItems: MAX_ROTATION_BUCKETS },
      ),
      keyManagerWrap: Type.Optional(
        Bytes(1, MAX_KEY_BLOB_BYTES, 'key-manager private key wrapped to the new root'),
      ),
    },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object(
      {
        rootArchivePublicKey: Bytes(32, 2048, 'the current root archive public key'),
        changed: Type.Boolean({ description: 'false when this statement was already the last rotation' }),
        rewrapped: Type.Integer({ minimum: 0, description: 'bucket root wraps replaced' }),
      },
      { additionalProperties: false },
    ),
  },
  errors: ['ROOT_KEY_INVALID', 'LOG_PUSHBACK'],
  async handler({ auth, body }, deps) {
    const statement = decodeBytes('body.statement', body.statement);
    const wraps = body.wraps.map((w, i) => ({
      bucketId: w.bucketId,
      blob: decodeBytes(`body.wraps[${i}].blob`, w.blob),
    }));
    const km =
      body.keyManagerWrap === undefined ? undefined : decodeBytes('body.keyManagerWrap', body.keyManagerWrap);
    const r = await rotateRootKey(deps.stores, auth.orgId, auth.deviceId, statement, wraps, km, deps.clock());
    return {
      rootArchivePublicKey: encodeBytes(r.rootArchivePublicKey),
      changed: r.changed,
      rewrapped: r.rewrapped,
    };
  },
});
