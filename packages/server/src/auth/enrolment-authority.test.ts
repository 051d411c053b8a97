/**
 * An admin cannot add a device to a user who has one: the code is refused when issued and,
 * for a code issued while the user had none, when redeemed — each refusal changing nothing in
 * the store (the redeemed code stays unused). The user's own devices still link more, the
 * bootstrap's first admin still enrols, an admin still issues a code for their own user (a key
 * ceremony), and once the user's devices are revoked an admin's code works again. A link code
 * issued by a device since revoked enrols nothing while the user has another device, nor when
 * they have none: revoking a device by another one expires its unused codes. A device that
 * revokes itself (the key ceremony's) keeps them.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../crypto/secrets.js';
import { newId, type DeviceId, type UserId } from '../ids.js';
import { DeviceNumberTakenError } from '../store/directory-stores.js';
import { assertMayAddDevice } from './enrolment-authority.js';
import {
  call,
  createOrgWithRoles,
  createTestApp,
  deviceKeys,
  enrolAndLogin,
  type TestApp,
  type TestDevice,
  type TestOrg,
} from '../testing/test-app.js';
import {
  openSnapshotter,
  TEST_BACKENDS,
  type StoreSnapshotter,
  type TestBackend,
} from '../testing/test-stores.js';

interface Failure {
  error: { code: string; message: string };
}

for (const backend of TEST_BACKENDS) {
  const title = `who may add a device: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let t: TestApp;
    let a: TestOrg;
    let snap: StoreSnapshotter;
    let admin: TestDevice;

    beforeAll(async () => {
      tb = await backend.open();
      snap = openSnapshotter(tb.config);
      t = await createTestApp(tb.stores);
      // Through the bootstrap token: its first-admin code (issued by no device) still enrols.
      a = await createOrgWithRoles(t);
      admin = a.devices.admin;
    });
    afterAll(async () => {
      await snap?.close();
      await t?.app.close();
      await tb?.dispose();
    });

    const issue = (userId: string, by: TestDevice = admin) =>
      call(t.app, 'POST', `/v1/orgs/${a.orgId}/users/${userId}/enrolment-codes`, {}, by.headers());
    const redeem = (code: string) =>
      call(t.app, 'POST', `/v1/orgs/${a.orgId}/devices`, { ...deviceKeys(1, 1).body, enrolmentCode: code });
    const newUser = async (): Promise<UserId> =>
      (await call(t.app, 'POST', `/v1/orgs/${a.orgId}/users`, { role: 'member' }, admin.headers())).json<{
        userId: UserId;
      }>().userId;
    const codeOf = (r: { json<T>(): T }) => r.json<{ enrolmentCode: string }>().enrolmentCode;
    const linkCode = async (by: TestDevice) =>
      (await call(t.app, 'POST', '/v1/devices/link-codes', {}, by.headers())).json<{ code: string }>().code;
    const adminRevoke = async (deviceId: string, by: TestDevice = admin) => {
      const r = await call(
        t.app,
        'POST',
        `/v1/orgs/${a.orgId}/devices/${deviceId}/revoke`,
        undefined,
        by.headers(),
      );
      expect(r.statusCode, r.body).toBe(200);
    };

    it("refuses an admin's code for a user with an active device, and stores nothing", async () => {
      const member = a.devices.member;
      const before = await snap.snapshot();
      const r = await issue(member.userId);
      expect(r.statusCode, r.body).toBe(409);
      const { code, message } = r.json<Failure>().error;
      expect(code).toBe('USER_HAS_DEVICE');
      expect(message).toContain("'custos devices link'");
      expect(message).toContain('revokes it first');
      // No code, no audit entry, no device: the store is as it was.
      expect(await snap.snapshot()).toBe(before);

      // The user's own device links one, as before.
      const link = await call(t.app, 'POST', '/v1/devices/link-codes', {}, member.headers());
      expect(link.statusCode, link.body).toBe(201);
      const linked = await enrolAndLogin(t.app, a.orgId, link.json<{ code: string }>().code);
      expect(linked.userId).toBe(member.userId);
    });

    it('refuses at redemption a code issued while the user had no device; the code stays unused', async () => {
      const userId = await newUser();
      const first = codeOf(await issue(userId));
      const second = await issue(userId);
      expect(second.statusCode, second.body).toBe(201);
      await enrolAndLogin(t.app, a.orgId, first);

      const before = await snap.snapshot();
      const r = await redeem(codeOf(second));
      expect(r.statusCode, r.body).toBe(409);
      expect(r.json<Failure>().error).toMatchObject({
        code: 'USER_HAS_DEVICE',
        message: expect.stringContaining('this code was not issued by an active device'),
      });
      expect(await snap.snapshot()).toBe(before);
      const stored = await t.stores.enrolmentCodes.find(a.orgId, sha256(codeOf(second)));
      expect(stored?.usedAt).toBeNull();
    });

    it('refuses a link code of a device revoked since, while the user has another', async () => {
      const userId = await newUser();
      const phone = await enrolAndLogin(t.app, a.orgId, codeOf(await issue(userId)));
      const laptop = await enrolAndLogin(
        t.app,
        a.orgId,
        (await call(t.app, 'POST', '/v1/devices/link-codes', {}, phone.headers())).json<{ code: string }>()
          .code,
      );
      // The stolen phone issues a link code before the user revokes it from the laptop.
      const stolen = (await call(t.app, 'POST', '/v1/devices/link-codes', {}, phone.headers())).json<{
        code: string;
      }>().code;
      const rev = await call(
        t.app,
        'POST',
        `/v1/devices/${phone.deviceId}/revoke`,
        undefined,
        laptop.headers(),
      );
      expect(rev.statusCode, rev.body).toBe(200);
      // Expired by the revocation (and refused as USER_HAS_DEVICE had it survived).
      const r = await redeem(stolen);
      expect(r.statusCode, r.body).toBe(401);
      expect(r.json<Failure>().error.code).toBe('ENROLMENT_CODE_EXPIRED');
    });

    it("takes an admin's code again once the user's devices are revoked, and one for the admin's own user", async () => {
      const userId = await newUser();
      const lost = await enrolAndLogin(t.app, a.orgId, codeOf(await issue(userId)));
      expect((await issue(userId)).statusCode).toBe(409);
      const rev = await call(
        t.app,
        'POST',
        `/v1/orgs/${a.orgId}/devices/${lost.deviceId}/revoke`,
        undefined,
        admin.headers(),
      );
      expect(rev.statusCode, rev.body).toBe(200);
      const again = await issue(userId);
      expect(again.statusCode, again.body).toBe(201);
      expect((await enrolAndLogin(t.app, a.orgId, codeOf(again))).userId).toBe(userId);
      const audit = await t.stores.auditPending.list(a.orgId, 0, 10_000);
      expect(audit.filter((e) => e.kind === 'enrolment-code.create' && e.subject === userId)).toHaveLength(2);

      // An admin's code for their own user is authorised by their own active device.
      const own = await issue(admin.userId);
      expect(own.statusCode, own.body).toBe(201);
      expect((await enrolAndLogin(t.app, a.orgId, codeOf(own))).userId).toBe(admin.userId);
    });

    it('expires the unused codes of a device revoked by another, though the user has no device left', async () => {
      // Stolen phone: the user's only device issues a link code, then an admin revokes the phone.
      const userId = await newUser();
      const phone = await enrolAndLogin(t.app, a.orgId, codeOf(await issue(userId)));
      const stolen = await linkCode(phone);
      await adminRevoke(phone.deviceId);
      const before = await snap.snapshot();
      const r = await redeem(stolen);
      expect(r.statusCode, r.body).toBe(401);
      expect(r.json<Failure>().error.code).toBe('ENROLMENT_CODE_EXPIRED');
      expect(await snap.snapshot()).toBe(before);

      // An admin device's code for a user with no device dies with that device, revoked by another.
      const admin2 = await enrolAndLogin(t.app, a.orgId, await linkCode(admin));
      const pending = codeOf(await issue(await newUser(), admin2));
      const kept = codeOf(await issue(await newUser()));
      await adminRevoke(admin2.deviceId);
      const r2 = await redeem(pending);
      expect(r2.statusCode, r2.body).toBe(401);
      expect(r2.json<Failure>().error.code).toBe('ENROLMENT_CODE_EXPIRED');
      // Codes of other devices are untouched. An admin's code links the new device from none of
      // the user's: it warns of any other active device of its user on its first read.
      const r3 = await redeem(kept);
      expect(r3.statusCode, r3.body).toBe(201);
      expect(r3.json<{ linkedFrom: string | null }>().linkedFrom).toBeNull();
    });

    it("keeps the codes of a device that revokes itself: the key ceremony's first-admin code", async () => {
      // The transient ceremony device is its admin user's only one: it issues that user's code,
      // revokes itself, and the admin redeems the code later.
      const adminUser = (
        await call(t.app, 'POST', `/v1/orgs/${a.orgId}/users`, { role: 'admin' }, admin.headers())
      ).json<{ userId: UserId }>().userId;
      const ceremony = await enrolAndLogin(t.app, a.orgId, codeOf(await issue(adminUser)));
      const code = codeOf(await issue(adminUser, ceremony));
      await adminRevoke(ceremony.deviceId, ceremony);
      const r = await redeem(code);
      expect(r.statusCode, r.body).toBe(201);
      expect(r.json<{ userId: string; linkedFrom: string | null }>()).toMatchObject({
        userId: adminUser,
        // A code of the user's own device: the new device leaves the devices below it to that one.
        linkedFrom: ceremony.deviceId,
      });
    });

    /**
     * Runs `first` in a transaction of its own, and `second` once `first` has done its writes;
     * `first` commits only once `second` waits for a lock `first` holds (PostgreSQL only:
     * SQLite's write transactions never overlap). Resolves to what `second` settled with.
     */
    async function whileHeld<T>(
      first: (tx: Parameters<Parameters<typeof tb.stores.withTransaction>[0]>[0]) => Promise<void>,
      second: () => Promise<T>,
    ): Promise<PromiseSettledResult<T>> {
      if (tb.config.kind !== 'postgres') throw new Error('PostgreSQL only');
      const probe = new pg.Client({ connectionString: tb.config.url });
      await probe.connect();
      try {
        const settled = await tb.stores.withTransaction(async (tx) => {
          await first(tx);
          let answered = false;
          const later = second().finally(() => (answered = true));
          const outcome = Promise.allSettled([later]).then(([r]) => r);
          while (!answered) {
            const r = await probe.query(`SELECT 1 FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'`);
            if (r.rowCount !== 0) break;
          }
          expect(answered, 'the second transaction did not wait for the first').toBe(false);
          return { outcome };
        });
        return await settled.outcome;
      } finally {
        await probe.end();
      }
    }

    it.skipIf(backend.name !== 'postgres')(
      'enrols one device of two codes redeemed at once: the second waits, then sees the first',
      async () => {
        const userId = await newUser();
        const second = codeOf(await issue(userId));
        // The first redemption, stepped by hand as the redeem route runs it; the second, through
        // the route, starts while the first holds its device uncommitted.
        const r = await whileHeld(
          async (tx) => {
            await assertMayAddDevice(tx, a.orgId, userId, null, 'redeem');
            await tx.devices.create(a.orgId, {
              deviceId: newId<DeviceId>(),
              userId,
              identityKey: randomBytes(33),
              registrationId: 1,
              createdAt: t.clock.now,
            });
          },
          () => redeem(second),
        );
        if (r.status !== 'fulfilled') throw r.reason;
        expect(r.value.statusCode, r.value.body).toBe(409);
        expect(r.value.json<Failure>().error.code).toBe('USER_HAS_DEVICE');
        const stored = await t.stores.enrolmentCodes.find(a.orgId, sha256(second));
        expect(stored?.usedAt).toBeNull();
      },
    );

    it.skipIf(backend.name !== 'postgres')(
      'a device insert that loses a race it did not lock out fails as DeviceNumberTakenError (ENROLMENT_CONFLICT, not INTERNAL)',
      async () => {
        const userId = await newUser();
        const device = () => ({
          deviceId: newId<DeviceId>(),
          userId,
          identityKey: randomBytes(33),
          registrationId: 1,
          createdAt: t.clock.now,
        });
        const r = await whileHeld(
          async (tx) => {
            await tx.devices.create(a.orgId, device());
          },
          () => tb.stores.withTransaction((tx) => tx.devices.create(a.orgId, device())),
        );
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DeviceNumberTakenError);
      },
    );
  });
}
