/**
 * Organisations: created with a bootstrap token, registering public material only, in one
 * transaction (orgs/org-creation.ts); an identical retry is answered as the first call.
 */
import { isCustosError, MAX_ARCHIVE_POLICY_BYTES, openArchivePolicy } from '@custos/core';
import { Type } from 'typebox';
import { MAX_OFFICERS, MAX_ORG_CREATE_BUCKETS, ORG_CREATE_BODY_LIMIT_BYTES } from '../../config/defaults.js';
import { requestHash } from '../../crypto/request-hash.js';
import { keyFingerprint } from '../../crypto/secrets.js';
import { ServerError } from '../../errors.js';
import { newId, type OrgId } from '../../ids.js';
import { createOrganisation } from '../../orgs/org-creation.js';
import type { OrgArchivePolicy, OrgRecord } from '../../store/records.js';
import { ANY_ROLE, defineRoute, PUBLIC } from '../route-def.js';
import { Bytes, decodeBytes, encodeBytes, Id } from '../schema-helpers.js';
import { Millis, OrgParams, orgPublic, OrgPublicSchema, RetentionClassSchema } from './common-schemas.js';

/** Domain of the request hash that recognises a retried POST /v1/orgs. */
const ORG_CREATE_REQUEST_DOMAIN = 'custos-org-create-v1';

const InitialBucketSchema = Type.Object(
  {
    document: Bytes(1, 1024, 'signed bucket-key document naming the new org (docs/keys.md)'),
    officerWraps: Type.Optional(
      Type.Array(
        Type.Object(
          {
            officerIndex: Type.Integer({
              minimum: 0,
              maximum: MAX_OFFICERS - 1,
              description: 'officer index',
            }),
            blob: Bytes(1, 4096, 'bucket private key wrapped for that officer'),
          },
          { additionalProperties: false },
        ),
        { maxItems: MAX_OFFICERS },
      ),
    ),
  },
  { additionalProperties: false },
);

const CreateOrgBody = Type.Object(
  {
    bootstrapToken: Type.String({
      pattern: '^cb1\\.[A-Za-z0-9_-]{43}$',
      description: 'the one-time bootstrap token',
    }),
    orgId: Type.Optional(
      Id(
        'id for the new organisation, so bucket documents can name it before the call; default: a fresh one',
      ),
    ),
    name: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'organisation name (public: it names the log)',
    }),
    origin: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 300,
        description:
          'the origin the ceremony reached (scheme://host[:port]); when given it must be the origin this server signs logins for, checked before anything is stored or the token is spent',
      }),
    ),
    signingPublicKey: Bytes(32, 32, 'org signing key, Ed25519'),
    rootArchivePublicKey: Bytes(32, 2048, 'root archive public key'),
    keyManager: Type.Object(
      {
        delegation: Bytes(1, 8192, 'key-manager delegation, signed by the root'),
        notBefore: Millis,
        notAfter: Millis,
      },
      { additionalProperties: false },
    ),
    officers: Type.Array(
      Type.Object({ publicKey: Bytes(32, 2048, 'officer public key') }, { additionalProperties: false }),
      { minItems: 1, maxItems: MAX_OFFICERS },
    ),
    officerQuorum: Type.Integer({
      minimum: 1,
      maximum: MAX_OFFICERS,
      description: 'officers needed to open the root key',
    }),
    adminRetentionClass: Type.Optional({
      ...RetentionClassSchema,
      description: "the first admin's own retention class; without it they follow the admin role's",
    }),
    archivePolicyStatement: Type.Optional(
      Bytes(
        1,
        MAX_ARCHIVE_POLICY_BYTES,
        'archive policy statement (required | none) signed with the org signing key, naming orgId and name ' +
          '(docs/client.md); absent: the organisation archives',
      ),
    ),
    buckets: Type.Optional(
      Type.Array(InitialBucketSchema, {
        maxItems: MAX_ORG_CREATE_BUCKETS,
        description: 'bucket documents (and officer wraps) registered in the same transaction',
      }),
    ),
  },
  { additionalProperties: false },
);

const CreateOrgResponse = Type.Object(
  {
    orgId: Id('the new organisation'),
    adminUserId: Id('the first admin'),
    enrolmentCode: Type.String({ description: "the first admin's one-time enrolment code" }),
    enrolmentCodeExpiresAt: Millis,
    signingKeyFingerprint: Type.String(),
    replayed: Type.Boolean({ description: 'true when this answers an identical retry of a committed call' }),
  },
  { additionalProperties: false },
);

/**
 * Verifies the archive policy statement of a new org with its signing key; it must name the
 * org's id (so the caller chose one) and its name. ARCHIVE_POLICY_INVALID says what is wrong.
 */
function checkArchivePolicy(
  statement: Buffer,
  signingPublicKey: Buffer,
  orgId: OrgId | undefined,
  name: string,
): OrgArchivePolicy {
  const bad = (m: string, cause?: unknown) =>
    new ServerError('ARCHIVE_POLICY_INVALID', `body.archivePolicyStatement: ${m}`, { cause });
  if (orgId === undefined)
    throw bad('the statement names the organisation, so body.orgId is required with it');
  let s;
  try {
    s = openArchivePolicy(statement, signingPublicKey);
  } catch (e) {
    throw bad(isCustosError(e) ? e.message : 'does not verify', e);
  }
  if (s.org !== orgId) throw bad('names another organisation than body.orgId');
  if (s.name !== name) throw bad('names the organisation differently from body.name');
  return { policy: s.policy, statement };
}

/** POST /v1/orgs */
export const createOrgRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs',
  summary:
    'Creates the organisation with a bootstrap token: its public keys, first admin (answering their enrolment code) ' +
    'and optionally its first bucket documents and officer wraps, in one transaction that also spends the token — ' +
    'a failure registers nothing. The identical request again (a retry after a lost answer) gets the same answer ' +
    "while the first admin's code is unused; any other reuse of the token is BOOTSTRAP_USED.",
  access: PUBLIC,
  bodyLimit: ORG_CREATE_BODY_LIMIT_BYTES,
  body: CreateOrgBody,
  response: { status: 201, schema: CreateOrgResponse },
  errors: [
    'BOOTSTRAP_INVALID',
    'BOOTSTRAP_EXPIRED',
    'BOOTSTRAP_USED',
    'ORG_EXISTS',
    'INVALID_KEY',
    'KEY_MANAGER_INVALID',
    'ARCHIVE_POLICY_INVALID',
    'BUCKET_CONFLICT',
    'LOG_PUSHBACK',
  ],
  async handler({ body }, deps) {
    // Every profile the ceremony writes, and its own transient device, names the URL it
    // reached and signs that origin into each login, while the server accepts only its own:
    // an org created through another name could never be logged into, and a ceremony resumes
    // only with the same --server. So refuse before the token is spent, not at the first login.
    if (body.origin !== undefined && body.origin !== deps.origin()) {
      throw new ServerError(
        'INVALID_REQUEST',
        `body.origin: this server takes logins for ${deps.origin()}, not ${body.origin}: have the operator set --origin to ${body.origin} and restart the server, then rerun the ceremony; nothing was registered and the bootstrap token is still valid (unless the restart prints a new one: a server without organisations does)`,
      );
    }
    if (body.keyManager.notBefore >= body.keyManager.notAfter) {
      throw new ServerError('INVALID_REQUEST', 'body.keyManager: notBefore must be earlier than notAfter');
    }
    if (body.officerQuorum > body.officers.length) {
      throw new ServerError('INVALID_REQUEST', 'body.officerQuorum: larger than the number of officers');
    }
    const signingPublicKey = decodeBytes('body.signingPublicKey', body.signingPublicKey, 32);
    const orgId = (body.orgId as OrgId | undefined) ?? newId<OrgId>();
    const archivePolicy =
      body.archivePolicyStatement === undefined
        ? undefined
        : checkArchivePolicy(
            decodeBytes('body.archivePolicyStatement', body.archivePolicyStatement),
            signingPublicKey,
            body.orgId as OrgId | undefined,
            body.name,
          );
    if (archivePolicy?.policy === 'none' && (body.buckets ?? []).length > 0) {
      throw new ServerError(
        'INVALID_REQUEST',
        'body.buckets: an organisation whose archive policy is none registers no buckets',
      );
    }
    const org: OrgRecord = {
      orgId,
      name: body.name,
      signingPublicKey,
      signingKeyFingerprint: keyFingerprint(signingPublicKey),
      rootArchivePublicKey: decodeBytes('body.rootArchivePublicKey', body.rootArchivePublicKey),
      keyManager: {
        delegation: decodeBytes('body.keyManager.delegation', body.keyManager.delegation),
        notBefore: body.keyManager.notBefore,
        notAfter: body.keyManager.notAfter,
      },
      officerQuorum: body.officerQuorum,
      officers: body.officers.map((o, index) => ({
        index,
        publicKey: decodeBytes(`body.officers.${index}.publicKey`, o.publicKey),
      })),
      createdAt: deps.clock(),
      ...(archivePolicy === undefined ? {} : { archivePolicy }),
    };
    const buckets = (body.buckets ?? []).map((b, i) => ({
      document: decodeBytes(`body.buckets.${i}.document`, b.document),
      officerWraps: (b.officerWraps ?? []).map((w, j) => ({
        officerIndex: w.officerIndex,
        blob: decodeBytes(`body.buckets.${i}.officerWraps.${j}.blob`, w.blob),
      })),
    }));
    // The origin is checked, not stored: a retry after a lost answer is the identical request
    // with or without it (a ceremony whose first call, from an older console, sent none still
    // gets its replay).
    const { bootstrapToken, origin: _origin, ...request } = body;
    const created = await createOrganisation(deps, {
      bootstrapToken,
      org,
      ...(body.adminRetentionClass === undefined ? {} : { adminRetentionClass: body.adminRetentionClass }),
      buckets,
      requestHash: requestHash(ORG_CREATE_REQUEST_DOMAIN, request),
    });
    return created;
  },
});

/** GET /v1/orgs/:orgId */
export const getOrgRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId',
  summary:
    "The organisation's public material (signing key and fingerprint, archive key, key-manager delegation, officers) " +
    'and, after a change of officers, the signed officer list, and after a root rotation the signed root-archive-key ' +
    'statement (officers adopt both: docs/officers.md §5).',
  access: ANY_ROLE,
  params: OrgParams,
  response: { status: 200, schema: OrgPublicSchema },
  errors: ['ORG_NOT_FOUND'],
  async handler({ auth }, deps) {
    const org = await deps.stores.orgs.get(auth.orgId);
    if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
    const last = await deps.stores.orgs.lastOfficerListChange(auth.orgId);
    const root = (await deps.stores.orgs.rootKeyRotations(auth.orgId)).at(-1);
    return {
      ...orgPublic(org),
      ...(last === undefined ? {} : { officerList: encodeBytes(last.document) }),
      ...(root === undefined ? {} : { rootKeyStatement: encodeBytes(root.statement) }),
    };
  },
});
