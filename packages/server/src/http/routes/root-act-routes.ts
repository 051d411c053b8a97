/**
 * Root acts a quorum performs with the recovered org signing key (docs/keys.md §5,
 * docs/officers.md §5): rotating the key-manager key (with the chain of delegations devices and
 * consoles verify old bucket documents against, and the new key wrapped to root and officers),
 * and replacing the officer list. Everything is checked against the org signing key; the server
 * holds no secret of either.
 */
import { Type } from 'typebox';
import { ServerError } from '../../errors.js';
import { keyManagerChain, rotateKeyManager } from '../../keys/key-manager-rotation.js';
import { changeOfficers } from '../../keys/officer-list.js';
import { ANY_ROLE, defineRoute } from '../route-def.js';
import { Bytes, decodeBytes, encodeBytes } from '../schema-helpers.js';
import { Millis, OrgParams } from './common-schemas.js';
import { MAX_KEY_BLOB_BYTES } from './key-routes.js';

const WrapRecipient = Type.String({
  pattern: '^(root|0|[1-9][0-9]?)$',
  description: 'officer index, or `root`',
});
const Delegation = (d: string) => Bytes(1, 8192, d);

/** POST /v1/orgs/:orgId/key-manager/rotations */
export const rotateKeyManagerRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/key-manager/rotations',
  summary:
    "Rotates the key-manager key: a quorum's delegation naming a new key, signed by the org signing key, " +
    'starting within 10 minutes of now, with the new private key wrapped (opaque) to the root and every ' +
    'officer. The superseded delegation is kept, so registered bucket documents keep verifying; new ones must ' +
    'verify under the new key. Appends a `key-manager-rotated` key event. The current delegation again is idempotent.',
  access: { kind: 'device', roles: ['officer'] },
  params: OrgParams,
  body: Type.Object(
    {
      delegation: Delegation('key-manager delegation naming the new key, signed by the org signing key'),
      wraps: Type.Array(
        Type.Object(
          { recipient: WrapRecipient, blob: Bytes(1, MAX_KEY_BLOB_BYTES, 'wrapped key-manager private key') },
          { additionalProperties: false },
        ),
        { maxItems: 101 },
      ),
    },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object(
      {
        delegation: Delegation('the current delegation'),
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
    const wraps = body.wraps.map((w, i) => ({
      recipient: w.recipient,
      blob: decodeBytes(`body.wraps[${i}].blob`, w.blob),
    }));
    const r = await rotateKeyManager(deps.stores, auth.orgId, auth.deviceId, delegation, wraps, deps.clock());
    return {
      delegation: encodeBytes(r.keyManager.delegation),
      notBefore: r.keyManager.notBefore,
      notAfter: r.keyManager.notAfter,
      changed: r.changed,
    };
  },
});

/** GET /v1/orgs/:orgId/key-manager */
export const keyManagerChainRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/key-manager',
  summary:
    'The current key-manager delegation and every delegation a rotation superseded (oldest first), so a ' +
    'verifier can check bucket documents signed under an earlier key. All are signed by the org signing key.',
  access: ANY_ROLE,
  params: OrgParams,
  response: {
    status: 200,
    schema: Type.Object(
      {
        delegation: Delegation('the current delegation'),
        previous: Type.Array(Delegation('a superseded delegation')),
      },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth }, deps) {
    const org = await deps.stores.orgs.get(auth.orgId);
    if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
    const chain = await keyManagerChain(deps.stores, org);
    return { delegation: encodeBytes(org.keyManager.delegation), previous: chain.previous.map(encodeBytes) };
  },
});

/** GET /v1/orgs/:orgId/key-manager/wraps */
export const keyManagerWrapsRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/key-manager/wraps',
  summary:
    'The current key-manager private key wrapped to the root and each officer by the last rotation (opaque; ' +
    'empty while the key is the one the ceremony put into every officer key file); officers only.',
  access: { kind: 'device', roles: ['officer'] },
  params: OrgParams,
  response: {
    status: 200,
    schema: Type.Object(
      {
        delegation: Delegation('the current delegation'),
        items: Type.Array(
          Type.Object(
            { recipient: WrapRecipient, blob: Bytes(1, MAX_KEY_BLOB_BYTES, 'opaque') },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth }, deps) {
    const org = await deps.stores.orgs.get(auth.orgId);
    if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
    const chain = await keyManagerChain(deps.stores, org);
    return {
      delegation: encodeBytes(org.keyManager.delegation),
      items: chain.wraps.map((w) => ({ recipient: w.recipient, blob: encodeBytes(w.blob) })),
    };
  },
});

/** PUT /v1/orgs/:orgId/officers */
export const changeOfficersRoute = defineRoute({
  method: 'PUT',
  url: '/v1/orgs/:orgId/officers',
  summary:
    "Replaces the organisation's officer keys and quorum with a list a quorum signed with the org signing key " +
    '(docs/officers.md §5): it must name this organisation, be issued within 10 minutes of now and later than the ' +
    'last list; users it names under `usr` lose the role officer. Audit acts `officers.change` and `user.role`. ' +
    'The last list again is idempotent.',
  access: { kind: 'device', roles: ['officer'] },
  params: OrgParams,
  body: Type.Object(
    { document: Bytes(1, 65536, 'officer list signed by the org signing key') },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object(
      {
        officers: Type.Array(
          Type.Object(
            {
              index: Type.Integer({ minimum: 0 }),
              publicKey: Bytes(32, 2048, 'officer public key document'),
            },
            { additionalProperties: false },
          ),
        ),
        officerQuorum: Type.Integer({ minimum: 1 }),
        changed: Type.Boolean({ description: 'false when this list was already the current one' }),
        demoted: Type.Array(Type.String(), { description: 'users whose role officer this change withdrew' }),
      },
      { additionalProperties: false },
    ),
  },
  errors: ['OFFICER_LIST_INVALID', 'USER_NOT_FOUND', 'LOG_PUSHBACK'],
  async handler({ auth, body }, deps) {
    const document = decodeBytes('body.document', body.document);
    const r = await changeOfficers(
      deps.stores,
      deps.audit,
      auth.orgId,
      auth.deviceId,
      document,
      deps.clock(),
    );
    return {
      officers: r.officers.map((o) => ({ index: o.index, publicKey: encodeBytes(o.publicKey) })),
      officerQuorum: r.quorum,
      changed: r.changed,
      demoted: [...r.demoted],
    };
  },
});
