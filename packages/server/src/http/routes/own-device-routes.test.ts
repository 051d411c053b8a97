/**
 * A user's own devices: a link code enrols a device of the caller's user (not anyone
 * else's), issuing and revoking are audit entries, the session names the retention class,
 * and the admin listing carries identity keys.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIST_PAGE_MAX } from '../../config/defaults.js';
import { newId, type DeviceId } from '../../ids.js';
import {
  call,
  createOrgWithRoles,
  createTestApp,
  enrolAndLogin,
  type TestApp,
  type TestOrg,
} from '../../testing/test-app.js';
import { openTestSqlite, type TestBackend } from '../../testing/test-stores.js';

describe('own-device routes', () => {
  let tb: TestBackend;
  let t: TestApp;
  let a: TestOrg;
  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores);
    a = await createOrgWithRoles(t);
  });
  afterAll(async () => {
    await t?.app.close();
    await tb?.dispose();
  });

  it('links a device to the caller’s own user and records both acts for the log', async () => {
    const member = a.devices.member;
    const r = await call(t.app, 'POST', '/v1/devices/link-codes', { ttlSeconds: 120 }, member.headers());
    expect(r.statusCode, r.body).toBe(201);
    const { code, expiresAt } = r.json<{ code: string; expiresAt: number }>();
    expect(expiresAt).toBe(t.clock.now + 120_000);
    const linked = await enrolAndLogin(t.app, a.orgId, code);
    expect(linked.userId).toBe(member.userId);

    const list = await call(t.app, 'GET', '/v1/devices', undefined, linked.headers());
    const devices = list.json<{ devices: { deviceId: string; current: boolean; deviceNumber: number }[] }>()
      .devices;
    expect(devices.map((d) => [d.deviceId, d.deviceNumber, d.current])).toEqual([
      [member.deviceId, 1, false],
      [linked.deviceId, 2, true],
    ]);

    const rev = await call(
      t.app,
      'POST',
      `/v1/devices/${linked.deviceId}/revoke`,
      undefined,
      member.headers(),
    );
    expect(rev.statusCode, rev.body).toBe(200);
    const after = await call(t.app, 'GET', '/v1/session', undefined, linked.headers());
    expect(after.json<{ error: { code: string } }>().error.code).toBe('DEVICE_REVOKED');

    const audit = await t.stores.auditPending.list(a.orgId, 0, 1000);
    expect(
      audit.filter((e) => e.kind === 'link-code.create').map((e) => [e.actorDeviceId, e.subject]),
    ).toEqual([[member.deviceId, member.userId]]);
    expect(
      audit.filter((e) => e.kind === 'device.revoke').map((e) => [e.actorDeviceId, e.subject, e.detail]),
    ).toEqual([[member.deviceId, linked.deviceId, 'own']]);
  });

  it('names the retention class in the session and identity keys in the admin listing', async () => {
    const s = await call(t.app, 'GET', '/v1/session', undefined, a.devices.officer.headers());
    expect(s.json()).toMatchObject({ role: 'officer', retentionClass: 'standard' });
    await call(
      t.app,
      'PUT',
      `/v1/orgs/${a.orgId}/users/${a.devices.officer.userId}/retention`,
      { retentionClass: 'permanent' },
      a.devices.admin.headers(),
    );
    const s2 = await call(t.app, 'GET', '/v1/session', undefined, a.devices.officer.headers());
    expect(s2.json()).toMatchObject({ retentionClass: 'permanent' });

    const l = await call(t.app, 'GET', `/v1/orgs/${a.orgId}/devices`, undefined, a.devices.admin.headers());
    const listed = l.json<{ devices: { deviceId: string; identityKey: string }[] }>().devices;
    const officer = listed.find((d) => d.deviceId === a.devices.officer.deviceId);
    expect(officer?.identityKey).toBe(
      Buffer.from(a.devices.officer.identity.getPublicKey().serialize()).toString('base64url'),
    );
  });

  it('lists every device of the user, past one store page, by device number', async () => {
    const own = await createOrgWithRoles(t, false);
    const member = own.devices.member;
    // Seeded in the store: enrolling this many through link codes would take days of rate limit.
    for (let i = 0; i < LIST_PAGE_MAX; i++) {
      await t.stores.devices.create(own.orgId, {
        deviceId: newId<DeviceId>(),
        userId: member.userId,
        identityKey: Buffer.concat([Buffer.from([5]), randomBytes(32)]),
        registrationId: 1,
        createdAt: t.clock.now,
      });
    }
    const r = await call(t.app, 'GET', '/v1/devices', undefined, member.headers());
    expect(r.statusCode, r.body).toBe(200);
    const devices = r.json<{ devices: { deviceNumber: number; current: boolean }[] }>().devices;
    expect(devices.map((d) => d.deviceNumber)).toEqual(
      Array.from({ length: LIST_PAGE_MAX + 1 }, (_, i) => i + 1),
    );
    expect(devices.filter((d) => d.current).map((d) => d.deviceNumber)).toEqual([1]);
  });
});
