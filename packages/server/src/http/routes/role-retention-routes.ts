/**
 * Retention per role (issue 5, docs/officers.md §4): each role of an org has a retention
 * class (`standard` until an admin sets one); users without their own class follow it, and
 * move when it changes. Admin only; every change is an audit act in the same transaction.
 */
import { Type } from 'typebox';
import { ServerError } from '../../errors.js';
import type { UserId } from '../../ids.js';
import { DEFAULT_RETENTION_CLASS, ROLES } from '../../store/records.js';
import { ADMIN_ONLY, defineRoute } from '../route-def.js';
import { Id } from '../schema-helpers.js';
import { userOut, UserSchema } from './admin-routes.js';
import { Millis, RetentionClassSchema, RoleSchema } from './common-schemas.js';

const RoleRetentionSchema = Type.Object(
  {
    role: RoleSchema,
    retentionClass: RetentionClassSchema,
    setAt: Type.Union([Millis, Type.Null()], { description: 'null: no admin set it (the default class)' }),
  },
  { additionalProperties: false },
);

/** GET /v1/orgs/:orgId/roles */
export const listRolesRoute = defineRoute({
  method: 'GET',
  url: '/v1/orgs/:orgId/roles',
  summary: `Lists every role with the retention class its users follow (\`${DEFAULT_RETENTION_CLASS}\` until an admin sets one).`,
  access: ADMIN_ONLY,
  params: Type.Object({ orgId: Id('organisation') }, { additionalProperties: false }),
  response: {
    status: 200,
    schema: Type.Object({ roles: Type.Array(RoleRetentionSchema) }, { additionalProperties: false }),
  },
  errors: [],
  async handler({ auth }, deps) {
    const set = await deps.stores.users.roleRetention(auth.orgId);
    return {
      roles: ROLES.map((role) => {
        const r = set.find((x) => x.role === role);
        return {
          role,
          retentionClass: r?.retentionClass ?? DEFAULT_RETENTION_CLASS,
          setAt: r?.setAt ?? null,
        };
      }),
    };
  },
});

/** PUT /v1/orgs/:orgId/roles/:role/retention */
export const setRoleRetentionRoute = defineRoute({
  method: 'PUT',
  url: '/v1/orgs/:orgId/roles/:role/retention',
  summary:
    "Sets a role's retention class. Users of the role without their own class take it at once (their devices seal " +
    'to buckets of the new class from their next key refresh); users with their own class keep it.',
  access: ADMIN_ONLY,
  params: Type.Object({ orgId: Id('organisation'), role: RoleSchema }, { additionalProperties: false }),
  body: Type.Object({ retentionClass: RetentionClassSchema }, { additionalProperties: false }),
  response: {
    status: 200,
    schema: Type.Object(
      {
        role: RoleSchema,
        retentionClass: RetentionClassSchema,
        setAt: Millis,
        usersFollowing: Type.Integer({ minimum: 0, description: 'users of the role who follow its class' }),
      },
      { additionalProperties: false },
    ),
  },
  errors: [],
  async handler({ auth, params, body }, deps) {
    const now = deps.clock();
    const rule = { role: params.role, retentionClass: body.retentionClass, setAt: now };
    return deps.stores.withTransaction(async (tx) => {
      const usersFollowing = await tx.users.setRoleRetention(auth.orgId, rule);
      await deps.audit.record(tx, auth.orgId, {
        kind: 'role.retention',
        actorDeviceId: auth.deviceId,
        subject: rule.role,
        detail: rule.retentionClass,
        at: now,
      });
      return { ...rule, usersFollowing };
    });
  },
});

/** DELETE /v1/orgs/:orgId/users/:userId/retention */
export const followRoleRetentionRoute = defineRoute({
  method: 'DELETE',
  url: '/v1/orgs/:orgId/users/:userId/retention',
  summary: "Removes a user's own retention class: they follow their role's class from now on.",
  access: ADMIN_ONLY,
  params: Type.Object({ orgId: Id('organisation'), userId: Id('user') }, { additionalProperties: false }),
  response: { status: 200, schema: UserSchema },
  errors: ['USER_NOT_FOUND'],
  async handler({ auth, params }, deps) {
    const userId = params.userId as UserId;
    const now = deps.clock();
    return deps.stores.withTransaction(async (tx) => {
      if (!(await tx.users.followRole(auth.orgId, userId))) throw new ServerError('USER_NOT_FOUND');
      const u = await tx.users.get(auth.orgId, userId);
      if (u === undefined) throw new ServerError('USER_NOT_FOUND');
      await deps.audit.record(tx, auth.orgId, {
        kind: 'user.retention',
        actorDeviceId: auth.deviceId,
        subject: userId,
        detail: `${u.retentionClass} (role)`,
        at: now,
      });
      return userOut(u);
    });
  },
});
