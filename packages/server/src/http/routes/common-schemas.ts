/** Schemas shared by several routes, and the mappers that fill them. */
import { Type, type Static } from 'typebox';
import { MAX_ARCHIVE_POLICY_BYTES } from '@custos/core';
import { LIST_PAGE_DEFAULT, LIST_PAGE_MAX } from '../../config/defaults.js';
import { ServerError } from '../../errors.js';
import type { OrgRecord, RetentionClass, RetentionSource, Role } from '../../store/records.js';
import { Bytes, encodeBytes, Id } from '../schema-helpers.js';

/** A role. */
export const RoleSchema = Type.Union(
  [Type.Literal('member'), Type.Literal('admin'), Type.Literal('officer'), Type.Literal('auditor')],
  { description: 'member, admin, officer or auditor' },
);
/** A retention class. */
export const RetentionClassSchema = Type.Union(
  [Type.Literal('transitory'), Type.Literal('standard'), Type.Literal('permanent')],
  { description: 'transitory, standard or permanent' },
);
/** Where a user's retention class comes from. */
export const RetentionSourceSchema = Type.Union([Type.Literal('user'), Type.Literal('role')], {
  description: "user (their own class) or role (their role's class)",
});

/** Compile-time proof that the schemas above list exactly ROLES and RETENTION_CLASSES. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _rolesMatch: Same<Static<typeof RoleSchema>, Role> = true;
const _classesMatch: Same<Static<typeof RetentionClassSchema>, RetentionClass> = true;
const _sourcesMatch: Same<Static<typeof RetentionSourceSchema>, RetentionSource> = true;
void _rolesMatch;
void _classesMatch;
void _sourcesMatch;
/** Milliseconds since the Unix epoch. */
export const Millis = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'ms since the Unix epoch',
});

/**
 * The query of both revocation routes (an admin's, and a user's of another of their own
 * devices): `allowHandIn=true` grants the revoked device the archive hand-in window, which
 * it has not by default: the common reason to revoke another device is that it was lost or
 * stolen, and its thief holds its key (F5). A query field, not a body: the routes took no
 * body before, and their callers send none.
 */
export const RevocationQuery = Type.Object(
  {
    allowHandIn: Type.Optional(
      Type.Union([Type.Literal('true'), Type.Literal('false')], {
        description:
          "'true' grants the archive hand-in window (default: none); only for a device known not to be lost or stolen",
      }),
    ),
  },
  { additionalProperties: false },
);

/** What both revocation routes answer. */
export const RevocationResponse = Type.Object(
  {
    deviceId: Id('device'),
    revokedAt: Millis,
    handInUntil: Type.Union([Millis, Type.Null()], {
      description: 'the end of its archive hand-in window; null when it has none (locked out at once)',
    }),
  },
  { additionalProperties: false },
);

/** `{ orgId }` path parameters. */
export const OrgParams = Type.Object({ orgId: Id('organisation id') }, { additionalProperties: false });

/** Paging query: `after` (exclusive) and `limit` as decimal text. */
export const PageQuery = Type.Object(
  {
    after: Type.Optional(Id('return rows after this id')),
    limit: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]{0,2}$',
        description: `1–${LIST_PAGE_MAX}, default ${LIST_PAGE_DEFAULT}`,
      }),
    ),
  },
  { additionalProperties: false },
);

/** The page size asked for, checked against the maximum. */
export function pageLimit(limit: string | undefined): number {
  if (limit === undefined) return LIST_PAGE_DEFAULT;
  const n = Number(limit);
  if (n > LIST_PAGE_MAX) throw new ServerError('INVALID_REQUEST', `query.limit: at most ${LIST_PAGE_MAX}`);
  return n;
}

/** An organisation's public material as served to its devices. */
export const OrgPublicSchema = Type.Object(
  {
    orgId: Id('organisation id'),
    name: Type.String(),
    signingPublicKey: Bytes(32, 32, 'org signing key, Ed25519'),
    signingKeyFingerprint: Type.String({
      description: 'base64url SHA-256 of signingPublicKey; devices pin it',
    }),
    rootArchivePublicKey: Bytes(32, 2048, 'root archive public key'),
    keyManager: Type.Object(
      {
        delegation: Bytes(1, 8192, 'key-manager delegation, signed by the root'),
        notBefore: Millis,
        notAfter: Millis,
      },
      { additionalProperties: false },
    ),
    officerQuorum: Type.Integer(),
    officers: Type.Array(
      Type.Object(
        { index: Type.Integer(), publicKey: Bytes(32, 2048, 'officer public key') },
        { additionalProperties: false },
      ),
    ),
    createdAt: Millis,
    officerList: Type.Optional(
      Bytes(
        1,
        65536,
        'the last officer list a quorum signed with the org signing key; absent before the first change',
      ),
    ),
    rootKeyStatement: Type.Optional(
      Bytes(
        1,
        1024,
        'the last root-archive-key statement a quorum signed with the org signing key; absent before the first rotation',
      ),
    ),
    archivePolicy: Type.Union([Type.Literal('required'), Type.Literal('none')], {
      description:
        "whether the organisation archives; devices act only on archivePolicyStatement, checked against the org's signing key",
    }),
    archivePolicyStatement: Type.Optional(
      Bytes(
        1,
        MAX_ARCHIVE_POLICY_BYTES,
        'the archive policy statement signed with the org signing key (docs/client.md); absent for orgs created without one, which archive',
      ),
    ),
  },
  { additionalProperties: false },
);

/** Renders an org record for a response. */
export function orgPublic(org: OrgRecord): Static<typeof OrgPublicSchema> {
  return {
    orgId: org.orgId,
    name: org.name,
    signingPublicKey: encodeBytes(org.signingPublicKey),
    signingKeyFingerprint: org.signingKeyFingerprint,
    rootArchivePublicKey: encodeBytes(org.rootArchivePublicKey),
    keyManager: {
      delegation: encodeBytes(org.keyManager.delegation),
      notBefore: org.keyManager.notBefore,
      notAfter: org.keyManager.notAfter,
    },
    officerQuorum: org.officerQuorum,
    officers: org.officers.map((o) => ({ index: o.index, publicKey: encodeBytes(o.publicKey) })),
    createdAt: org.createdAt,
    archivePolicy: org.archivePolicy?.policy ?? 'required',
    ...(org.archivePolicy === undefined
      ? {}
      : { archivePolicyStatement: encodeBytes(org.archivePolicy.statement) }),
  };
}
