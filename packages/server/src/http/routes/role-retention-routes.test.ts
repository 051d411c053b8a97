/** Retention per role over the routes, on SQLite and PostgreSQL: followers move, own classes stay, bad input changes nothing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, type TestBackend } from '../../testing/test-stores.js';
import {
  call,
  createOrgWithRoles,
  createTestApp,
  type TestApp,
  type TestOrg,
} from '../../testing/test-app.js';

interface UserOut {
  userId: string;
  role: string;
  retentionClass: string;
  retentionSource: string;
}

for (const backend of TEST_BACKENDS) {
  describe.skipIf(backend.skip !== null)(
    `role retention routes: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`,
    () => {
      let tb: TestBackend;
      let t: TestApp;
      let org: TestOrg;
      let other: TestOrg;
      beforeAll(async () => {
        tb = await backend.open();
        t = await createTestApp(tb.stores);
        org = await createOrgWithRoles(t);
        other = await createOrgWithRoles(t, false);
      });
      afterAll(async () => {
        await t?.app.close();
        await tb?.dispose();
      });

      const as = (o: TestOrg) => o.devices.admin.headers();
      const roles = async (o: TestOrg) =>
        (await call(t.app, 'GET', `/v1/orgs/${o.orgId}/roles`, undefined, as(o))).json<{
          roles: { role: string; retentionClass: string; setAt: number | null }[];
        }>().roles;
      const user = async (o: TestOrg, userId: string): Promise<UserOut> =>
        (await call(t.app, 'GET', `/v1/orgs/${o.orgId}/users`, undefined, as(o)))
          .json<{ users: UserOut[] }>()
          .users.find((u) => u.userId === userId)!;
      const create = async (body: Record<string, string>): Promise<UserOut> => {
        const r = await call(t.app, 'POST', `/v1/orgs/${org.orgId}/users`, body, as(org));
        expect(r.statusCode, r.body).toBe(201);
        return r.json<UserOut>();
      };

      it('a role class is followed by users without their own, moves them, and is an audit act', async () => {
        expect(await roles(org)).toEqual([
          { role: 'member', retentionClass: 'standard', setAt: null },
          { role: 'admin', retentionClass: 'standard', setAt: null },
          { role: 'officer', retentionClass: 'standard', setAt: null },
          { role: 'auditor', retentionClass: 'standard', setAt: null },
        ]);
        const follower = await create({ role: 'member' });
        const own = await create({ role: 'member', retentionClass: 'permanent' });
        expect(follower).toMatchObject({ retentionClass: 'standard', retentionSource: 'role' });
        expect(own).toMatchObject({ retentionClass: 'permanent', retentionSource: 'user' });

        const set = await call(
          t.app,
          'PUT',
          `/v1/orgs/${org.orgId}/roles/member/retention`,
          { retentionClass: 'transitory' },
          as(org),
        );
        expect(set.statusCode, set.body).toBe(200);
        // The member device createOrgWithRoles enrolled follows the role too.
        expect(set.json()).toMatchObject({ role: 'member', retentionClass: 'transitory', usersFollowing: 2 });
        expect((await roles(org))[0]).toMatchObject({ role: 'member', retentionClass: 'transitory' });
        expect(await user(org, follower.userId)).toMatchObject({
          retentionClass: 'transitory',
          retentionSource: 'role',
        });
        expect(await user(org, own.userId)).toMatchObject({
          retentionClass: 'permanent',
          retentionSource: 'user',
        });
        // The member's session (what its device seals by) carries the new class.
        const session = await call(t.app, 'GET', '/v1/session', undefined, org.devices.member.headers());
        expect(session.json()).toMatchObject({ retentionClass: 'transitory' });
        // A new member follows the role's class; dropping a user's own class makes them follow it.
        expect(await create({ role: 'member' })).toMatchObject({
          retentionClass: 'transitory',
          retentionSource: 'role',
        });
        const back = await call(
          t.app,
          'DELETE',
          `/v1/orgs/${org.orgId}/users/${own.userId}/retention`,
          undefined,
          as(org),
        );
        expect(back.json()).toMatchObject({ retentionClass: 'transitory', retentionSource: 'role' });

        const acts = (await t.stores.auditPending.list(org.orgId, 0, 1000)).filter(
          (e) => e.kind === 'role.retention' || e.kind === 'user.retention',
        );
        expect(acts.map((e) => [e.kind, e.subject, e.detail])).toEqual([
          ['role.retention', 'member', 'transitory'],
          ['user.retention', own.userId, 'transitory (role)'],
        ]);
      });

      it('the first admin, created with the organisation, follows the admin role like any invited user', async () => {
        const adminId = org.devices.admin.userId;
        expect(await user(org, adminId)).toMatchObject({
          retentionClass: 'standard',
          retentionSource: 'role',
        });
        const set = await call(
          t.app,
          'PUT',
          `/v1/orgs/${org.orgId}/roles/admin/retention`,
          { retentionClass: 'permanent' },
          as(org),
        );
        expect(set.statusCode, set.body).toBe(200);
        expect(set.json()).toMatchObject({ role: 'admin', retentionClass: 'permanent', usersFollowing: 1 });
        expect(await user(org, adminId)).toMatchObject({
          retentionClass: 'permanent',
          retentionSource: 'role',
        });
        const session = await call(t.app, 'GET', '/v1/session', undefined, org.devices.admin.headers());
        expect(session.json()).toMatchObject({ retentionClass: 'permanent' });
      });

      it('refuses an unknown role, an unknown class and another org; nothing changes', async () => {
        const before = await roles(org);
        const otherBefore = await roles(other);
        const acts = (await t.stores.auditPending.list(org.orgId, 0, 1000)).length;
        const put = (o: string, role: string, retentionClass: string) =>
          call(t.app, 'PUT', `/v1/orgs/${o}/roles/${role}/retention`, { retentionClass }, as(org));
        const unknownRole = await put(org.orgId, 'janitor', 'standard');
        expect(unknownRole.statusCode).toBe(400);
        expect(unknownRole.json()).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
        expect(unknownRole.json<{ error: { message: string } }>().error.message).toMatch(/role/);
        const unknownClass = await put(org.orgId, 'member', 'forever');
        expect(unknownClass.statusCode).toBe(400);
        expect(unknownClass.json<{ error: { message: string } }>().error.message).toMatch(/retentionClass/);
        const foreign = await put(other.orgId, 'member', 'permanent');
        expect(foreign.statusCode).toBe(403);
        expect(foreign.json()).toMatchObject({ error: { code: 'WRONG_ORG' } });
        const foreignUser = await call(
          t.app,
          'DELETE',
          `/v1/orgs/${org.orgId}/users/${other.devices.member.userId}/retention`,
          undefined,
          as(org),
        );
        expect(foreignUser.json()).toMatchObject({ error: { code: 'USER_NOT_FOUND' } });
        const member = await call(
          t.app,
          'PUT',
          `/v1/orgs/${org.orgId}/roles/member/retention`,
          { retentionClass: 'permanent' },
          org.devices.member.headers(),
        );
        expect(member.statusCode).toBe(403);
        expect(await roles(org)).toEqual(before);
        expect(await roles(other)).toEqual(otherBefore);
        expect((await t.stores.auditPending.list(org.orgId, 0, 1000)).length).toBe(acts);
      });
    },
  );
}
