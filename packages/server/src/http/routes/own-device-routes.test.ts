/**
 * A user's own devices: a link code enrols a device of the caller's user (not anyone
 * else's), issuing and revoking are audit entries, a revoked device gets an archive hand-in
 * window only when its user asks for one, the session names the retention class, and the
 * admin listing carries identity keys.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ARCHIVE_HAND_IN_DAYS, LIST_PAGE_MAX } from '../../config/defaults.js';
import { newId, type DeviceId } from '../../ids.js';
import {
  call,
  createOrgWithRoles,
  createTestApp,
  enrolAndLogin,
  loginSteps,
  type TestApp,
  type TestDevice,
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

  it('grants a revoked own device no archive hand-in window unless asked: a lost phone cannot log in', async () => {
    const member = a.devices.member;
    const linkDevice = async () => {
      const r = await call(t.app, 'POST', '/v1/devices/link-codes', {}, member.headers());
      return enrolAndLogin(t.app, a.orgId, r.json<{ code: string }>().code);
    };
    const revoke = (d: TestDevice, query = '') =>
      call(t.app, 'POST', `/v1/devices/${d.deviceId}/revoke${query}`, undefined, member.headers());
    const error = (r: { body: string }) => JSON.parse(r.body) as { error: unknown };
    const lost = await linkDevice();
    const inHand = await linkDevice();
    const revokedAt = t.clock.now;

    // By default (a lost or stolen phone, whose thief holds its key): no window, no login at all.
    const r = await revoke(lost);
    expect([r.statusCode, r.json()], r.body).toEqual([
      200,
      { deviceId: lost.deviceId, revokedAt, handInUntil: null },
    ]);
    expect((await t.stores.devices.get(a.orgId, lost.deviceId))?.handInUntil).toBeNull();
    const { token } = await loginSteps(t.app, a.orgId, lost.deviceId, lost.identity);
    expect([token.statusCode, error(token)]).toEqual([
      401,
      {
        error: {
          code: 'DEVICE_REVOKED',
          message: expect.stringContaining('it was revoked without an archive hand-in window'),
          details: { revokedAt, handInUntil: null },
        },
      },
    ]);

    // Asked for (the device is in its user's hands with records queued): the server's window.
    const handInUntil = revokedAt + DEFAULT_ARCHIVE_HAND_IN_DAYS * 24 * 60 * 60 * 1000;
    const w = await revoke(inHand, '?allowHandIn=true');
    expect([w.statusCode, w.json()], w.body).toEqual([
      200,
      { deviceId: inHand.deviceId, revokedAt, handInUntil },
    ]);
    const steps = await loginSteps(t.app, a.orgId, inHand.deviceId, inHand.identity);
    expect(steps.token.statusCode, steps.token.body).toBe(201);
    // Its token opens the hand-in routes only.
    inHand.token = steps.token.json<{ token: string }>().token;
    const s = await call(t.app, 'GET', '/v1/session', undefined, inHand.headers());
    expect([s.statusCode, error(s)]).toEqual([
      401,
      {
        error: {
          code: 'DEVICE_REVOKED',
          message: expect.stringContaining('it may still upload the archive records it sealed before then'),
          details: { revokedAt, handInUntil },
        },
      },
    ]);
    const audit = await t.stores.auditPending.list(a.orgId, 0, 1000);
    expect(
      audit
        .filter(
          (e) => e.kind === 'device.revoke' && [lost.deviceId, inHand.deviceId].some((d) => d === e.subject),
        )
        .map((e) => [e.subject, e.detail]),
    ).toEqual([
      [lost.deviceId, 'own'],
      [inHand.deviceId, 'own'],
    ]);
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
