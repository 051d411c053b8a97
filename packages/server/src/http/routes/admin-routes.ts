/**
 * Admin routes: users, roles, retention classes, enrolment codes, devices. Admin only —
 * and admin is not officer: nothing here reads the archive. Every act is recorded through
 * the AuditSink in the same transaction as the act.
 */
import { Type, type Static } from 'typebox';
import { DEFAULT_ENROLMENT_CODE_TTL_MS, MAX_ENROLMENT_CODE_TTL_MS } from '../../config/defaults.js';
import { revokeAndDisconnect } from '../../auth/device-revocation.js';
import { assertMayAddDevice } from '../../auth/enrolment-authority.js';
import { newEnrolmentCode, sha256 } from '../../crypto/secrets.js';
import { ServerError } from '../../errors.js';
import { newId, type DeviceId, type UserId } from '../../ids.js';
import { ADMIN_ONLY, defineRoute } from '../route-def.js';
import { Bytes, encodeBytes, Id } from '../schema-helpers.js';
import { DEFAULT_RETENTION_CLASS, type UserRecord } from '../../store/records.js';
import {
  Millis,
  pageLimit,
  PageQuery,
  RetentionClassSchema,
  RetentionSourceSchema,
  RevocationQuery,
  RevocationResponse,
  RoleSchema,
} from './common-schemas.js';

const UserParams = Type.Object(
  { orgId: Id('organisation'), userId: Id('user') },
  { additionalProperties: false },
);
const DeviceParams = Type.Object(
  { orgId: Id('organisation'), deviceId: Id('device') },
  { additionalProperties: false },
);
const OrgOnlyParams = Type.Object({ orgId: Id('organisation') }, { additionalProperties: false });

/** A user as admin routes answer: `retentionClass` is the effective class, `retentionSource` where it comes from. */
export const UserSchema = Type.Object(
  {
    userId: Id('user'),
    role: RoleSchema,
    retentionClass: RetentionClassSchema,
    retentionSource: RetentionSourceSchema,
    createdAt: Millis,
  },
  { additionalProperties: false },
);

/** A user record as {@link UserSchema}. */
export function userOut(u: UserRecord): Static<typeof UserSchema> {
  return {
    userId: u.userId,
    role: u.role,
    retentionClass: u.retentionClass,
    retentionSource: u.retentionSource,
    createdAt: u.createdAt,
  };
}

/** GET /v1/orgs/:orgId/users */
export const listUsersRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/users',
  summary:
    'Lists the users of the organisation (ids, roles, retention classes; no names, no secrets), by id.',
  access: ADMIN_ONLY,
  params: OrgOnlyParams,
  query: PageQuery,
  response: {
    status: 200,
    schema: Type.Object(
      {
        users: Type.Array(UserSchema),
        next: Type.Union([Id('pass as `after` for the next page'), Type.Null()]),
      },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth, query }, deps) {
    const limit = pageLimit(query.limit);
    const users = await deps.stores.users.list(auth.orgId, {
      after: (query.after as UserId | undefined) ?? null,
      limit,
    });
    return {
      users: users.map(userOut),
      next: users.length === limit ? (users.at(-1)?.userId ?? null) : null,
    };
  },
});

/** POST /v1/orgs/:orgId/users */
export const createUserRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/users',
  summary:
    "Creates a user with a role and, optionally, their own retention class; without one the user follows the role's class " +
    '(`PUT /v1/orgs/:orgId/roles/:role/retention`; `standard` until an admin sets it).',
  access: ADMIN_ONLY,
  params: OrgOnlyParams,
  body: Type.Object(
    { role: RoleSchema, retentionClass: Type.Optional(RetentionClassSchema) },
    { additionalProperties: false },
  ),
  response: { status: 201, schema: UserSchema },
  errors: [],
  async handler({ auth, body }, deps) {
    const now = deps.clock();
    return deps.stores.withTransaction(async (tx) => {
      const ruled = (await tx.users.roleRetention(auth.orgId)).find((r) => r.role === body.role);
      const user: UserRecord = {
        orgId: auth.orgId,
        userId: newId<UserId>(),
        role: body.role,
        retentionClass: body.retentionClass ?? ruled?.retentionClass ?? DEFAULT_RETENTION_CLASS,
        retentionSource: body.retentionClass === undefined ? 'role' : 'user',
        createdAt: now,
      };
      await tx.users.create(auth.orgId, user);
      await deps.audit.record(tx, auth.orgId, {
        kind: 'user.create',
        actorDeviceId: auth.deviceId,
        subject: user.userId,
        detail: user.role,
        at: now,
      });
      return userOut(user);
    });
  },
});

/** PUT /v1/orgs/:orgId/users/:userId/role */
export const setRoleRoute = defineRoute({
  method: 'PUT',
  url: '/v1/orgs/:orgId/users/:userId/role',
  summary:
    "Sets a user's role. An admin cannot change their own role (so an org cannot lose its last admin by accident).",
  access: ADMIN_ONLY,
  params: UserParams,
  body: Type.Object({ role: RoleSchema }, { additionalProperties: false }),
  response: { status: 200, schema: UserSchema },
  errors: ['USER_NOT_FOUND'],
  async handler({ auth, params, body }, deps) {
    const userId = params.userId as UserId;
    if (userId === auth.userId)
      throw new ServerError('ROLE_FORBIDDEN', 'an admin cannot change their own role');
    const now = deps.clock();
    return deps.stores.withTransaction(async (tx) => {
      if (!(await tx.users.setRole(auth.orgId, userId, body.role))) throw new ServerError('USER_NOT_FOUND');
      await deps.audit.record(tx, auth.orgId, {
        kind: 'user.role',
        actorDeviceId: auth.deviceId,
        subject: userId,
        detail: body.role,
        at: now,
      });
      const u = await tx.users.get(auth.orgId, userId);
      if (u === undefined) throw new ServerError('USER_NOT_FOUND');
      return userOut(u);
    });
  },
});

/** PUT /v1/orgs/:orgId/users/:userId/retention */
export const setRetentionRoute = defineRoute({
  method: 'PUT',
  url: '/v1/orgs/:orgId/users/:userId/retention',
  summary: "Gives a user their own retention class; it overrides their role's until removed (DELETE).",
  access: ADMIN_ONLY,
  params: UserParams,
  body: Type.Object({ retentionClass: RetentionClassSchema }, { additionalProperties: false }),
  response: { status: 200, schema: UserSchema },
  errors: ['USER_NOT_FOUND'],
  async handler({ auth, params, body }, deps) {
    const userId = params.userId as UserId;
    const now = deps.clock();
    return deps.stores.withTransaction(async (tx) => {
      if (!(await tx.users.setRetentionClass(auth.orgId, userId, body.retentionClass)))
        throw new ServerError('USER_NOT_FOUND');
      await deps.audit.record(tx, auth.orgId, {
        kind: 'user.retention',
        actorDeviceId: auth.deviceId,
        subject: userId,
        detail: body.retentionClass,
        at: now,
      });
      const u = await tx.users.get(auth.orgId, userId);
      if (u === undefined) throw new ServerError('USER_NOT_FOUND');
      return userOut(u);
    });
  },
});

/** POST /v1/orgs/:orgId/users/:userId/enrolment-codes */
export const createEnrolmentCodeRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/users/:userId/enrolment-codes',
  summary:
    'Issues a one-time, expiring enrolment code for a user: `ce1.<orgId>.<secret>.<org key fingerprint>`. ' +
    'Only its SHA-256 is stored; hand it to the user out of band. Only for a user without an active device ' +
    "(or the caller's own user): a user with one links more from it (POST /v1/devices/link-codes), so an " +
    'admin cannot add a device to someone silently (USER_HAS_DEVICE; checked again when the code is redeemed).',
  access: ADMIN_ONLY,
  params: UserParams,
  body: Type.Object(
    {
      ttlSeconds: Type.Optional(
        Type.Integer({
          minimum: 60,
          maximum: MAX_ENROLMENT_CODE_TTL_MS / 1000,
          description: `lifetime, default ${DEFAULT_ENROLMENT_CODE_TTL_MS / 1000}`,
        }),
      ),
    },
    { additionalProperties: false },
  ),
  response: {
    status: 201,
    schema: Type.Object(
      { enrolmentCode: Type.String(), expiresAt: Millis, signingKeyFingerprint: Type.String() },
      { additionalProperties: false },
    ),
  },
  errors: ['USER_NOT_FOUND', 'ORG_NOT_FOUND', 'USER_HAS_DEVICE'],
  async handler({ auth, params, body }, deps) {
    const userId = params.userId as UserId;
    const now = deps.clock();
    const expiresAt =
      now + (body.ttlSeconds === undefined ? DEFAULT_ENROLMENT_CODE_TTL_MS : body.ttlSeconds * 1000);
    return deps.stores.withTransaction(async (tx) => {
      const org = await tx.orgs.get(auth.orgId);
      if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
      if ((await tx.users.get(auth.orgId, userId)) === undefined) throw new ServerError('USER_NOT_FOUND');
      // SECURITY: an admin MUST NOT add a device to a user who has one (enrolment-authority.ts).
      // The caller's own user passes: the calling device is theirs (a key ceremony's admin code).
      await assertMayAddDevice(tx, auth.orgId, userId, auth.deviceId, 'issue');
      const enrolmentCode = newEnrolmentCode(auth.orgId, org.signingKeyFingerprint);
      await tx.enrolmentCodes.create(auth.orgId, {
        codeHash: sha256(enrolmentCode),
        userId,
        createdBy: auth.deviceId,
        createdAt: now,
        expiresAt,
      });
      await deps.audit.record(tx, auth.orgId, {
        kind: 'enrolment-code.create',
        actorDeviceId: auth.deviceId,
        subject: userId,
        detail: null,
        at: now,
      });
      return { enrolmentCode, expiresAt, signingKeyFingerprint: org.signingKeyFingerprint };
    });
  },
});

const DeviceSchema = Type.Object(
  {
    deviceId: Id('device'),
    userId: Id('user'),
    deviceNumber: Type.Integer(),
    registrationId: Type.Integer(),
    identityKey: Bytes(33, 33, 'libsignal identity public key'),
    createdAt: Millis,
    revokedAt: Type.Union([Millis, Type.Null()]),
  },
  { additionalProperties: false },
);

/** GET /v1/orgs/:orgId/devices */
export const listDevicesRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/devices',
  summary: 'Lists the devices of the organisation, optionally of one user, by id.',
  access: ADMIN_ONLY,
  params: OrgOnlyParams,
  query: Type.Object(
    { ...PageQuery.properties, userId: Type.Optional(Id('only this user')) },
    { additionalProperties: false },
  ),
  response: {
    status: 200,
    schema: Type.Object(
      {
        devices: Type.Array(DeviceSchema),
        next: Type.Union([Id('pass as `after` for the next page'), Type.Null()]),
      },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth, query }, deps) {
    const limit = pageLimit(query.limit);
    const devices = await deps.stores.devices.list(
      auth.orgId,
      { after: (query.after as DeviceId | undefined) ?? null, limit },
      query.userId as UserId | undefined,
    );
    return {
      devices: devices.map((d) => ({
        deviceId: d.deviceId,
        userId: d.userId,
        deviceNumber: d.deviceNumber,
        registrationId: d.registrationId,
        identityKey: encodeBytes(d.identityKey),
        createdAt: d.createdAt,
        revokedAt: d.revokedAt,
      })),
      next: devices.length === limit ? (devices.at(-1)?.deviceId ?? null) : null,
    };
  },
});

/** POST /v1/orgs/:orgId/devices/:deviceId/revoke */
export const revokeDeviceRoute = defineRoute({
  method: 'POST',
  url: '/v1/orgs/:orgId/devices/:deviceId/revoke',
  summary:
    'Revokes a device: its open sockets close at once (code 4003), from its next request on its tokens are ' +
    'refused (DEVICE_REVOKED), and it cannot log in. With `allowHandIn` it may still log in to hand in the ' +
    "archive records it sealed before, for the server's hand-in window from now (docs/threat-model.md); by " +
    'default it may not (a lost or stolen device is locked out at once).',
  access: ADMIN_ONLY,
  params: DeviceParams,
  query: RevocationQuery,
  response: { status: 200, schema: RevocationResponse },
  errors: ['DEVICE_NOT_FOUND', 'DEVICE_ALREADY_REVOKED'],
  async handler({ auth, params, query }, deps) {
    const deviceId = params.deviceId as DeviceId;
    const now = deps.clock();
    // SECURITY: an admin revokes mostly what is lost or stolen: no window unless asked for (F5).
    const handInUntil = await revokeAndDisconnect(deps, {
      orgId: auth.orgId,
      deviceId,
      actorDeviceId: auth.deviceId,
      allowHandIn: query.allowHandIn === 'true',
      now,
    });
    return { deviceId, revokedAt: now, handInUntil };
  },
});
