/** Organisations: created once with the bootstrap token, registering public material only. */
import { Type } from 'typebox';
import {
  DEFAULT_ENROLMENT_CODE_TTL_MS,
  MAX_OFFICERS,
  ORG_CREATE_BODY_LIMIT_BYTES,
} from '../../config/defaults.js';
import { keyFingerprint, newEnrolmentCode, sha256 } from '../../crypto/secrets.js';
import { ServerError } from '../../errors.js';
import { newId, type OrgId, type UserId } from '../../ids.js';
import type { OrgRecord } from '../../store/records.js';
import { ANY_ROLE, defineRoute, PUBLIC } from '../route-def.js';
import { Bytes, decodeBytes, Id } from '../schema-helpers.js';
import { Millis, OrgParams, orgPublic, OrgPublicSchema, RetentionClassSchema } from './common-schemas.js';

const CreateOrgBody = Type.Object(
  {
    bootstrapToken: Type.String({
      pattern: '^cb1\\.[A-Za-z0-9_-]{43}$',
      description: 'the one-time bootstrap token',
    }),
    name: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'organisation name (public: it names the log)',
    }),
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
    adminRetentionClass: Type.Optional(RetentionClassSchema),
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
  },
  { additionalProperties: false },
);

/** POST /v1/orgs */
export const createOrgRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs',
  summary:
    'Creates the organisation with the bootstrap token (consumed in the same transaction) and its first admin; ' +
    "returns the admin's enrolment code.",
  access: PUBLIC,
  bodyLimit: ORG_CREATE_BODY_LIMIT_BYTES,
  body: CreateOrgBody,
  response: { status: 201, schema: CreateOrgResponse },
  errors: ['BOOTSTRAP_INVALID', 'BOOTSTRAP_USED'],
  async handler({ body }, deps) {
    if (body.keyManager.notBefore >= body.keyManager.notAfter) {
      throw new ServerError('INVALID_REQUEST', 'body.keyManager: notBefore must be earlier than notAfter');
    }
    if (body.officerQuorum > body.officers.length) {
      throw new ServerError('INVALID_REQUEST', 'body.officerQuorum: larger than the number of officers');
    }
    const signingPublicKey = decodeBytes('body.signingPublicKey', body.signingPublicKey, 32);
    const now = deps.clock();
    const org: OrgRecord = {
      orgId: newId<OrgId>(),
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
      createdAt: now,
    };
    const adminUserId = newId<UserId>();
    const enrolmentCode = newEnrolmentCode(org.orgId, org.signingKeyFingerprint);
    const expiresAt = now + DEFAULT_ENROLMENT_CODE_TTL_MS;

    await deps.stores.withTransaction(async (tx) => {
      const consumed = await tx.bootstrap.consume(sha256(body.bootstrapToken), org.orgId, now);
      if (consumed.status === 'used')
        throw new ServerError('BOOTSTRAP_USED', 'the bootstrap token has already been used');
      if (consumed.status !== 'ok')
        throw new ServerError('BOOTSTRAP_INVALID', 'the bootstrap token is wrong');
      await tx.orgs.create(org);
      await tx.users.create(org.orgId, {
        userId: adminUserId,
        role: 'admin',
        retentionClass: body.adminRetentionClass ?? 'standard',
        createdAt: now,
      });
      await tx.enrolmentCodes.create(org.orgId, {
        codeHash: sha256(enrolmentCode),
        userId: adminUserId,
        createdBy: null,
        createdAt: now,
        expiresAt,
      });
      const base = { actorDeviceId: null, at: now } as const;
      await deps.audit.record(tx, org.orgId, {
        ...base,
        kind: 'org.create',
        subject: org.orgId,
        detail: org.signingKeyFingerprint,
      });
      await deps.audit.record(tx, org.orgId, {
        ...base,
        kind: 'user.create',
        subject: adminUserId,
        detail: 'admin',
      });
      await deps.audit.record(tx, org.orgId, {
        ...base,
        kind: 'enrolment-code.create',
        subject: adminUserId,
        detail: null,
      });
    });
    return {
      orgId: org.orgId,
      adminUserId,
      enrolmentCode,
      enrolmentCodeExpiresAt: expiresAt,
      signingKeyFingerprint: org.signingKeyFingerprint,
    };
  },
});

/** GET /v1/orgs/:orgId */
export const getOrgRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId',
  summary:
    "The organisation's public material (signing key and fingerprint, archive key, key-manager delegation, officers).",
  access: ANY_ROLE,
  params: OrgParams,
  response: { status: 200, schema: OrgPublicSchema },
  errors: ['ORG_NOT_FOUND'],
  async handler({ auth }, deps) {
    const org = await deps.stores.orgs.get(auth.orgId);
    if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
    return orgPublic(org);
  },
});
