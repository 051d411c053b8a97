/** The happy path through every route, on SQLite and PostgreSQL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_BACKENDS, type TestBackend } from '../../testing/test-stores.js';
import {
  call,
  createOrgWithRoles,
  createTestApp,
  login,
  type TestApp,
  type TestOrg,
} from '../../testing/test-app.js';

for (const backend of TEST_BACKENDS) {
  describe.skipIf(backend.skip !== null)(
    `routes, happy path: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`,
    () => {
      let tb: TestBackend;
      let t: TestApp;
      let org: TestOrg;
      beforeAll(async () => {
        tb = await backend.open();
        t = await createTestApp(tb.stores);
        org = await createOrgWithRoles(t);
      });
      afterAll(async () => {
        await t?.app.close();
        await tb?.dispose();
      });

      it('serves /healthz', async () => {
        const r = await call(t.app, 'GET', '/healthz');
        expect(r.statusCode).toBe(200);
        expect(r.json()).toEqual({ status: 'ok' });
        expect(r.headers['cache-control']).toBe('no-store');
      });

      it('reports the session of each role', async () => {
        for (const [role, d] of Object.entries(org.devices)) {
          const r = await call(t.app, 'GET', '/v1/session', undefined, d.headers());
          expect(r.statusCode).toBe(200);
          expect(r.json()).toMatchObject({ orgId: org.orgId, deviceId: d.deviceId, role, deviceNumber: 1 });
        }
      });

      it('serves the org public material to members', async () => {
        const r = await call(t.app, 'GET', `/v1/orgs/${org.orgId}`, undefined, org.devices.member.headers());
        expect(r.statusCode).toBe(200);
        expect(r.json()).toMatchObject({ orgId: org.orgId, officerQuorum: 2, name: 'Example Agency' });
        expect(r.json<{ officers: unknown[] }>().officers).toHaveLength(3);
      });

      it('lists users and devices for the admin, sets role and retention, revokes', async () => {
        const admin = org.devices.admin.headers();
        const users = await call(t.app, 'GET', `/v1/orgs/${org.orgId}/users?limit=2`, undefined, admin);
        expect(users.statusCode).toBe(200);
        const page = users.json<{ users: unknown[]; next: string | null }>();
        expect(page.users).toHaveLength(2);
        expect(page.next).not.toBeNull();
        const all = await call(t.app, 'GET', `/v1/orgs/${org.orgId}/users`, undefined, admin);
        expect(all.json<{ users: unknown[] }>().users).toHaveLength(4);

        const member = org.devices.member;
        const role = await call(
          t.app,
          'PUT',
          `/v1/orgs/${org.orgId}/users/${member.userId}/role`,
          { role: 'auditor' },
          admin,
        );
        expect(role.json()).toMatchObject({ role: 'auditor' });
        const ret = await call(
          t.app,
          'PUT',
          `/v1/orgs/${org.orgId}/users/${member.userId}/retention`,
          { retentionClass: 'permanent' },
          admin,
        );
        expect(ret.json()).toMatchObject({ role: 'auditor', retentionClass: 'permanent' });

        const devices = await call(
          t.app,
          'GET',
          `/v1/orgs/${org.orgId}/devices?userId=${member.userId}`,
          undefined,
          admin,
        );
        expect(devices.json<{ devices: { deviceId: string }[] }>().devices.map((d) => d.deviceId)).toEqual([
          member.deviceId,
        ]);

        const rev = await call(
          t.app,
          'POST',
          `/v1/orgs/${org.orgId}/devices/${member.deviceId}/revoke`,
          undefined,
          admin,
        );
        expect(rev.statusCode).toBe(200);
        const after = await call(t.app, 'GET', '/v1/session', undefined, member.headers());
        expect(after.statusCode).toBe(401);
        expect(after.json()).toMatchObject({ error: { code: 'DEVICE_REVOKED' } });
        // An admin's revocation grants no archive hand-in window unless asked (F5): no login.
        await expect(login(t.app, org.orgId, member.deviceId, member.identity)).rejects.toThrow(
          /DEVICE_REVOKED/,
        );
      });

      it('records every admin act in audit_pending', async () => {
        const entries = await t.stores.auditPending.list(org.orgId, 0, 100);
        const kinds = entries.map((e) => e.kind);
        expect(kinds.slice(0, 3)).toEqual(['org.create', 'user.create', 'enrolment-code.create']);
        for (const k of ['device.register', 'user.role', 'user.retention', 'device.revoke'] as const)
          expect(kinds).toContain(k);
        expect(kinds.filter((k) => k === 'device.register')).toHaveLength(4);
      });
    },
  );
}
