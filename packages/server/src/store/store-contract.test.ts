/**
 * The store contract: one suite, run against SQLite always and against PostgreSQL when
 * CUSTOS_TEST_PG_URL is set (otherwise that half is skipped and says why).
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, type ChallengeId, type DeviceId, type OrgId, type UserId } from '../ids.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import type { OrgRecord } from './records.js';
import type { StoreBackend } from './stores.js';

const h = (s: string): Buffer => createHash('sha256').update(s).digest();

function org(orgId: OrgId): OrgRecord {
  return {
    orgId,
    name: 'Example Agency',
    signingPublicKey: randomBytes(32),
    signingKeyFingerprint: 'fp',
    rootArchivePublicKey: randomBytes(32),
    keyManager: { delegation: randomBytes(100), notBefore: 1, notAfter: 2 },
    officerQuorum: 2,
    officers: [
      { index: 0, publicKey: randomBytes(32) },
      { index: 1, publicKey: randomBytes(32) },
      { index: 2, publicKey: randomBytes(32) },
    ],
    createdAt: 1000,
  };
}

async function orgWithUserAndDevice(
  s: StoreBackend,
): Promise<{ orgId: OrgId; userId: UserId; deviceId: DeviceId }> {
  const orgId = newId<OrgId>();
  const userId = newId<UserId>();
  const deviceId = newId<DeviceId>();
  await s.orgs.create(org(orgId));
  await s.users.create(orgId, { userId, role: 'member', retentionClass: 'standard', createdAt: 1 });
  await s.devices.create(orgId, {
    deviceId,
    userId,
    identityKey: randomBytes(33),
    registrationId: 7,
    createdAt: 2,
  });
  return { orgId, userId, deviceId };
}

for (const backend of TEST_BACKENDS) {
  const title = `store contract: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let s: StoreBackend;
    beforeAll(async () => {
      tb = await backend.open();
      s = tb.stores;
    });
    afterAll(async () => {
      await tb?.dispose();
    });

    it('reports its kind', () => {
      expect(s.kind).toBe(backend.name);
    });

    it('bootstrap: replace, consume once, refuse reuse and replacement after use', async () => {
      expect(await s.bootstrap.get(h('a'))).toBeUndefined();
      expect(await s.bootstrap.replace(h('a'), 1)).toBe(true);
      expect(await s.bootstrap.replace(h('b'), 2)).toBe(true);
      expect(await s.bootstrap.countOutstanding(2)).toBe(1);
      const o = newId<OrgId>();
      await s.orgs.create(org(o));
      expect((await s.bootstrap.consume(h('a'), o, h('req'), 3)).status).toBe('unknown');
      expect((await s.bootstrap.consume(h('b'), o, h('req'), 3)).status).toBe('ok');
      const again = await s.bootstrap.consume(h('b'), newId<OrgId>(), h('other'), 4);
      expect(again).toEqual({ status: 'used', orgId: o, requestHash: h('req') });
      expect(await s.bootstrap.replace(h('c'), 5)).toBe(false);
      const b = await s.bootstrap.get(h('b'));
      expect(b).toMatchObject({ source: 'first-start', consumedAt: 3, orgId: o, expiresAt: null });
      expect(b?.requestHash?.equals(h('req'))).toBe(true);
      expect(await s.bootstrap.countOutstanding(5)).toBe(0);
    });

    it('bootstrap: operator tokens are many, expire, and survive a first-start replace', async () => {
      await s.bootstrap.issue(h('op1'), 10, 100);
      await s.bootstrap.issue(h('op2'), 10, 100);
      expect(await s.bootstrap.countOutstanding(50)).toBe(2);
      expect(await s.bootstrap.replace(h('fs'), 11)).toBe(false); // an earlier test used a token
      expect((await s.bootstrap.consume(h('op1'), newId<OrgId>(), h('r'), 100)).status).toBe('expired');
      const o = newId<OrgId>();
      await s.orgs.create(org(o));
      expect((await s.bootstrap.consume(h('op2'), o, h('r'), 99)).status).toBe('ok');
      expect(await s.bootstrap.get(h('op1'))).toMatchObject({
        source: 'operator',
        consumedAt: null,
        expiresAt: 100,
      });
      expect(await s.bootstrap.countOutstanding(50)).toBe(1);
      expect(await s.bootstrap.countOutstanding(100)).toBe(0);
    });

    it('orgs: round-trip public material with officers in order', async () => {
      const o = org(newId<OrgId>());
      await s.orgs.create(o);
      expect(await s.orgs.get(o.orgId)).toEqual(o);
      expect(await s.orgs.get(newId<OrgId>())).toBeUndefined();
      expect(await s.orgs.count()).toBeGreaterThanOrEqual(1);
    });

    it('orgs: archive policy — kept with its statement; absent means the org archives', async () => {
      const legacy = org(newId<OrgId>());
      const none: OrgRecord = {
        ...org(newId<OrgId>()),
        archivePolicy: { policy: 'none', statement: randomBytes(120) },
      };
      const required: OrgRecord = {
        ...org(newId<OrgId>()),
        archivePolicy: { policy: 'required', statement: randomBytes(120) },
      };
      for (const o of [legacy, none, required]) await s.orgs.create(o);
      expect(await s.orgs.get(none.orgId)).toEqual(none);
      expect(await s.orgs.get(required.orgId)).toEqual(required);
      expect((await s.orgs.get(legacy.orgId))?.archivePolicy).toBeUndefined();
      expect(await s.orgs.archives(legacy.orgId)).toBe(true);
      expect(await s.orgs.archives(required.orgId)).toBe(true);
      expect(await s.orgs.archives(none.orgId)).toBe(false);
      expect(await s.orgs.archives(newId<OrgId>())).toBeUndefined();
    });

    it('users: create, get, page, update, and never across orgs', async () => {
      const a = newId<OrgId>();
      const b = newId<OrgId>();
      await s.orgs.create(org(a));
      await s.orgs.create(org(b));
      const ids = Array.from({ length: 5 }, () => newId<UserId>()).sort();
      for (const userId of ids)
        await s.users.create(a, { userId, role: 'member', retentionClass: 'standard', createdAt: 9 });
      const first = await s.users.list(a, { after: null, limit: 3 });
      const rest = await s.users.list(a, { after: first.at(-1)?.userId ?? null, limit: 3 });
      expect([...first, ...rest].map((u) => u.userId)).toEqual(ids);
      expect(await s.users.list(b, { after: null, limit: 10 })).toEqual([]);
      const u = ids[0]!;
      expect(await s.users.get(b, u)).toBeUndefined();
      expect(await s.users.setRole(b, u, 'admin')).toBe(false);
      expect(await s.users.setRetentionClass(b, u, 'permanent')).toBe(false);
      expect(await s.users.get(a, u)).toMatchObject({ role: 'member', retentionClass: 'standard' });
      expect(await s.users.setRole(a, u, 'officer')).toBe(true);
      expect(await s.users.setRetentionClass(a, u, 'permanent')).toBe(true);
      expect(await s.users.get(a, u)).toEqual({
        orgId: a,
        userId: u,
        role: 'officer',
        retentionClass: 'permanent',
        retentionSource: 'user',
        createdAt: 9,
      });
    });

    it('users: role retention moves followers only, follows role changes, and never across orgs', async () => {
      const a = newId<OrgId>();
      const b = newId<OrgId>();
      await s.orgs.create(org(a));
      await s.orgs.create(org(b));
      const [follower, own, other, foreign] = Array.from({ length: 4 }, () => newId<UserId>());
      const member = { role: 'member', retentionClass: 'standard', createdAt: 9 } as const;
      await s.users.create(a, { ...member, userId: follower!, retentionSource: 'role' });
      await s.users.create(a, { ...member, userId: own!, retentionClass: 'permanent' });
      await s.users.create(a, { ...member, userId: other!, role: 'auditor', retentionSource: 'role' });
      await s.users.create(b, { ...member, userId: foreign!, retentionSource: 'role' });
      expect(await s.users.roleRetention(a)).toEqual([]);

      expect(
        await s.users.setRoleRetention(a, { role: 'member', retentionClass: 'transitory', setAt: 50 }),
      ).toBe(1);
      expect(await s.users.roleRetention(a)).toEqual([
        { role: 'member', retentionClass: 'transitory', setAt: 50 },
      ]);
      expect(await s.users.roleRetention(b)).toEqual([]);
      const cls = async (o: OrgId, u: UserId) => {
        const r = await s.users.get(o, u);
        return `${r?.retentionClass}/${r?.retentionSource}`;
      };
      expect(await cls(a, follower!)).toBe('transitory/role');
      expect(await cls(a, own!)).toBe('permanent/user');
      expect(await cls(a, other!)).toBe('standard/role');
      expect(await cls(b, foreign!)).toBe('standard/role');

      // Set again (an upsert); a role change carries a follower to the new role's class.
      expect(
        await s.users.setRoleRetention(a, { role: 'member', retentionClass: 'permanent', setAt: 60 }),
      ).toBe(1);
      expect(await s.users.roleRetention(a)).toEqual([
        { role: 'member', retentionClass: 'permanent', setAt: 60 },
      ]);
      expect(await s.users.setRole(a, follower!, 'auditor')).toBe(true);
      expect(await cls(a, follower!)).toBe('standard/role');
      expect(await s.users.setRole(a, own!, 'auditor')).toBe(true);
      expect(await cls(a, own!)).toBe('permanent/user');

      // Dropping a user's own class makes them follow their role; giving one makes it theirs.
      expect(await s.users.followRole(b, own!)).toBe(false);
      expect(
        await s.users.setRoleRetention(a, { role: 'auditor', retentionClass: 'transitory', setAt: 70 }),
      ).toBe(2);
      expect(await s.users.followRole(a, own!)).toBe(true);
      expect(await cls(a, own!)).toBe('transitory/role');
      expect(await s.users.setRetentionClass(a, follower!, 'permanent')).toBe(true);
      expect(await cls(a, follower!)).toBe('permanent/user');
      expect(
        await s.users.setRoleRetention(a, { role: 'auditor', retentionClass: 'standard', setAt: 80 }),
      ).toBe(2);
      expect(await cls(a, follower!)).toBe('permanent/user');
      expect(await cls(a, own!)).toBe('standard/role');
    });

    it('devices: numbered per user, listed, revoked once, scoped to the org', async () => {
      const { orgId, userId, deviceId } = await orgWithUserAndDevice(s);
      const second = await s.devices.create(orgId, {
        deviceId: newId<DeviceId>(),
        userId,
        identityKey: randomBytes(33),
        registrationId: 8,
        createdAt: 3,
      });
      expect(second.deviceNumber).toBe(2);
      expect((await s.devices.get(orgId, deviceId))?.deviceNumber).toBe(1);
      expect(await s.devices.list(orgId, { after: null, limit: 10 }, userId)).toHaveLength(2);
      const other = await orgWithUserAndDevice(s);
      expect(await s.devices.get(other.orgId, deviceId)).toBeUndefined();
      expect(await s.devices.revoke(other.orgId, deviceId, 5)).toBe(false);
      expect(await s.devices.revoke(orgId, deviceId, 5)).toBe(true);
      expect(await s.devices.revoke(orgId, deviceId, 6)).toBe(false);
      expect((await s.devices.get(orgId, deviceId))?.revokedAt).toBe(5);
    });

    it('devices: an officer binding is stored once, never replaced, and listed only while its key is', async () => {
      const { orgId, deviceId } = await orgWithUserAndDevice(s);
      const officers = (await s.orgs.get(orgId))!.officers;
      expect(await s.devices.officerBinding(orgId, deviceId)).toBeUndefined();
      const binding = {
        officerIndex: 1,
        officerPublicKey: officers[1]!.publicKey,
        statement: h('s1'),
        boundAt: 9,
      };
      expect(await s.devices.bindOfficer(orgId, deviceId, binding)).toEqual({ stored: true, binding });
      const again = {
        ...binding,
        officerIndex: 2,
        officerPublicKey: officers[2]!.publicKey,
        statement: h('s2'),
      };
      expect(await s.devices.bindOfficer(orgId, deviceId, again)).toEqual({ stored: false, binding });
      expect(await s.devices.officerBinding(orgId, deviceId)).toEqual({ officerIndex: 1, listed: true });
      const other = await orgWithUserAndDevice(s);
      expect(await s.devices.officerBinding(other.orgId, deviceId)).toBeUndefined();
      // A new list without officer 1's key (removed, or the index given another key) unbinds.
      const change = { seq: 1, document: h('list'), issuedAt: 10, changedBy: deviceId, changedAt: 10 };
      await s.orgs.replaceOfficers(
        orgId,
        [officers[0]!, { index: 1, publicKey: randomBytes(32) }],
        1,
        change,
      );
      expect(await s.devices.officerBinding(orgId, deviceId)).toEqual({ officerIndex: 1, listed: false });
      await s.orgs.replaceOfficers(orgId, [officers[0]!], 1, { ...change, seq: 2, issuedAt: 11 });
      expect(await s.devices.officerBinding(orgId, deviceId)).toEqual({ officerIndex: 1, listed: false });
    });

    it("devices: refuses a device for another org's user (foreign key)", async () => {
      const a = await orgWithUserAndDevice(s);
      const b = await orgWithUserAndDevice(s);
      await expect(
        s.devices.create(b.orgId, {
          deviceId: newId<DeviceId>(),
          userId: a.userId,
          identityKey: randomBytes(33),
          registrationId: 1,
          createdAt: 1,
        }),
      ).rejects.toThrow();
      expect(await s.devices.list(b.orgId, { after: null, limit: 10 }, a.userId)).toEqual([]);
    });

    it('prekeys: stored, duplicates ignored, counted per device and org', async () => {
      const { orgId, deviceId } = await orgWithUserAndDevice(s);
      await s.prekeys.putSignedPreKey(orgId, deviceId, {
        keyId: 1,
        publicKey: randomBytes(33),
        signature: randomBytes(64),
      });
      await s.prekeys.putSignedPreKey(orgId, deviceId, {
        keyId: 2,
        publicKey: randomBytes(33),
        signature: randomBytes(64),
      });
      const otks = [1, 2, 3].map((keyId) => ({ keyId, publicKey: randomBytes(33) }));
      expect(await s.prekeys.addOneTimePreKeys(orgId, deviceId, otks)).toBe(3);
      expect(await s.prekeys.addOneTimePreKeys(orgId, deviceId, otks)).toBe(0);
      const kyber = [10, 11].map((keyId) => ({
        keyId,
        publicKey: randomBytes(64),
        signature: randomBytes(64),
        lastResort: false,
      }));
      kyber.push({ keyId: 12, publicKey: randomBytes(64), signature: randomBytes(64), lastResort: true });
      expect(await s.prekeys.addKyberPreKeys(orgId, deviceId, kyber)).toBe(3);
      expect(await s.prekeys.counts(orgId, deviceId)).toEqual({
        signed: true,
        oneTime: 3,
        kyber: 2,
        lastResortKyber: true,
      });
      const other = await orgWithUserAndDevice(s);
      expect(await s.prekeys.counts(other.orgId, deviceId)).toEqual({
        signed: false,
        oneTime: 0,
        kyber: 0,
        lastResortKyber: false,
      });
    });

    it('enrolment codes: one use, expiry, unknown, and other orgs see nothing', async () => {
      const { orgId, userId, deviceId } = await orgWithUserAndDevice(s);
      const other = await orgWithUserAndDevice(s);
      await s.enrolmentCodes.create(orgId, {
        codeHash: h('c1'),
        userId,
        createdBy: deviceId,
        createdAt: 1,
        expiresAt: 100,
      });
      await s.enrolmentCodes.create(orgId, {
        codeHash: h('c2'),
        userId,
        createdBy: null,
        createdAt: 1,
        expiresAt: 100,
      });
      expect(await s.enrolmentCodes.consume(other.orgId, h('c1'), 50)).toEqual({ status: 'unknown' });
      expect(await s.enrolmentCodes.consume(orgId, h('c1'), 50)).toEqual({ status: 'ok', value: userId });
      expect(await s.enrolmentCodes.consume(orgId, h('c1'), 51)).toEqual({ status: 'used' });
      expect(await s.enrolmentCodes.consume(orgId, h('c2'), 100)).toEqual({ status: 'expired' });
      expect(await s.enrolmentCodes.consume(orgId, h('nope'), 1)).toEqual({ status: 'unknown' });
      expect(await s.enrolmentCodes.find(orgId, h('c1'))).toEqual({
        codeHash: h('c1'),
        userId,
        createdBy: deviceId,
        createdAt: 1,
        expiresAt: 100,
        usedAt: 50,
      });
      expect(await s.enrolmentCodes.find(other.orgId, h('c1'))).toBeUndefined();
      expect(await s.enrolmentCodes.countCreatedBy(orgId, deviceId, userId, 1)).toBe(1);
      expect(await s.enrolmentCodes.countCreatedBy(orgId, deviceId, userId, 2)).toBe(0);
      expect(await s.enrolmentCodes.countCreatedBy(orgId, deviceId, other.userId, 0)).toBe(0);
      expect(await s.enrolmentCodes.countCreatedBy(other.orgId, deviceId, userId, 0)).toBe(0);
    });

    it('enrolment codes: two concurrent uses, exactly one wins', async () => {
      const { orgId, userId } = await orgWithUserAndDevice(s);
      await s.enrolmentCodes.create(orgId, {
        codeHash: h('race'),
        userId,
        createdBy: null,
        createdAt: 1,
        expiresAt: 100,
      });
      const results = await Promise.all(
        Array.from({ length: 4 }, () =>
          s.withTransaction((tx) => tx.enrolmentCodes.consume(orgId, h('race'), 2)),
        ),
      );
      expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
    });

    it('auth challenges: taken once, scoped, swept when expired', async () => {
      const { orgId, deviceId } = await orgWithUserAndDevice(s);
      const other = await orgWithUserAndDevice(s);
      const c = { challengeId: newId<ChallengeId>(), deviceId, challenge: randomBytes(32), expiresAt: 100 };
      await s.authChallenges.create(orgId, c);
      expect(await s.authChallenges.take(other.orgId, c.challengeId)).toBeUndefined();
      expect(await s.authChallenges.take(orgId, c.challengeId)).toEqual(c);
      expect(await s.authChallenges.take(orgId, c.challengeId)).toBeUndefined();
      await s.authChallenges.create(orgId, { ...c, challengeId: newId<ChallengeId>(), expiresAt: 10 });
      expect(await s.authChallenges.deleteExpired(10)).toBeGreaterThanOrEqual(1);
    });

    it('auth tokens: found by hash within the org only, deleted per device and when expired', async () => {
      const { orgId, deviceId } = await orgWithUserAndDevice(s);
      const other = await orgWithUserAndDevice(s);
      const t = { tokenHash: h(`t${orgId}`), deviceId, createdAt: 1, expiresAt: 100 };
      await s.authTokens.create(orgId, t);
      expect(await s.authTokens.find(orgId, t.tokenHash)).toEqual(t);
      expect(await s.authTokens.find(other.orgId, t.tokenHash)).toBeUndefined();
      expect(await s.authTokens.deleteForDevice(other.orgId, deviceId)).toBe(0);
      expect(await s.authTokens.deleteForDevice(orgId, deviceId)).toBe(1);
      expect(await s.authTokens.find(orgId, t.tokenHash)).toBeUndefined();
      await s.authTokens.create(orgId, { ...t, expiresAt: 5 });
      expect(await s.authTokens.deleteExpired(5)).toBeGreaterThanOrEqual(1);
      expect(await s.authTokens.find(orgId, t.tokenHash)).toBeUndefined();
    });

    it('auth sessions: token, device and user in one read, scoped, never stale', async () => {
      const { orgId, deviceId, userId } = await orgWithUserAndDevice(s);
      const other = await orgWithUserAndDevice(s);
      const t = { tokenHash: h(`s${orgId}`), deviceId, createdAt: 1, expiresAt: 100 };
      await s.authTokens.create(orgId, t);
      const session = await s.authTokens.findSession(orgId, t.tokenHash);
      expect(session).toEqual({
        token: t,
        device: await s.devices.get(orgId, deviceId),
        user: await s.users.get(orgId, userId),
      });
      expect(session?.device?.revokedAt).toBeNull();
      expect(await s.authTokens.findSession(other.orgId, t.tokenHash)).toBeUndefined();
      // What changes after the token was issued shows on the next read.
      await s.devices.revoke(orgId, deviceId, 50);
      await s.users.setRole(orgId, userId, 'auditor');
      const again = await s.authTokens.findSession(orgId, t.tokenHash);
      expect(again?.device?.revokedAt).toBe(50);
      expect(again?.user?.role).toBe('auditor');
    });

    it('audit pending: appended in order, listed per org', async () => {
      const a = await orgWithUserAndDevice(s);
      const b = await orgWithUserAndDevice(s);
      const e = {
        kind: 'user.create' as const,
        actorDeviceId: a.deviceId,
        subject: a.userId,
        detail: 'member',
        at: 1,
      };
      const s1 = await s.auditPending.append(a.orgId, e);
      const s2 = await s.auditPending.append(a.orgId, { ...e, kind: 'device.revoke', detail: null });
      await s.auditPending.append(b.orgId, { ...e, actorDeviceId: null });
      expect(s2).toBeGreaterThan(s1);
      const listed = await s.auditPending.list(a.orgId, 0, 10);
      expect(listed.map((x) => x.kind)).toEqual(['user.create', 'device.revoke']);
      expect(listed[0]).toEqual({ ...e, orgId: a.orgId, seq: s1 });
      expect(await s.auditPending.list(a.orgId, s1, 10)).toHaveLength(1);
      // The latest officers.change per org (GET …/officers/latest-change).
      expect(await s.auditPending.latestOfficersChange(a.orgId)).toBeUndefined();
      const change = { ...e, kind: 'officers.change' as const, subject: 'officers', detail: 'n=2' };
      await s.auditPending.append(a.orgId, change);
      const s4 = await s.auditPending.append(a.orgId, { ...change, detail: 'n=3', at: 2 });
      await s.auditPending.append(a.orgId, e);
      expect(await s.auditPending.latestOfficersChange(a.orgId)).toEqual({
        ...change,
        detail: 'n=3',
        at: 2,
        orgId: a.orgId,
        seq: s4,
      });
      expect(await s.auditPending.latestOfficersChange(b.orgId)).toBeUndefined();
    });

    it('log: logKeys lists every log with the origin and verifier key it was created with', async () => {
      const before = await s.log.logKeys();
      const a = newId<OrgId>();
      const b = newId<OrgId>();
      for (const o of [a, b]) {
        await s.orgs.create(org(o));
        await s.log.createTree(o, `custos.test/${o}`, `custos.test/${o}+00000000+key`, Buffer.alloc(32));
      }
      // Created once: a second create leaves the recorded key as it was.
      await s.log.createTree(a, `custos.test/${a}`, 'another', Buffer.alloc(32));
      const mine = (await s.log.logKeys()).filter((l) => l.orgId === a || l.orgId === b);
      expect(mine).toHaveLength(2);
      for (const o of [a, b])
        expect(mine).toContainEqual({
          orgId: o,
          origin: `custos.test/${o}`,
          verifierKey: `custos.test/${o}+00000000+key`,
        });
      expect((await s.log.logKeys()).length).toBe(before.length + 2);
    });

    it('withTransaction: commits together, rolls back together, joins when nested', async () => {
      const orgId = newId<OrgId>();
      await expect(
        s.withTransaction(async (tx) => {
          await tx.orgs.create(org(orgId));
          await tx.withTransaction(async (inner) => {
            await inner.users.create(orgId, {
              userId: newId<UserId>(),
              role: 'admin',
              retentionClass: 'standard',
              createdAt: 1,
            });
          });
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await s.orgs.get(orgId)).toBeUndefined();
      expect(await s.users.list(orgId, { after: null, limit: 10 })).toEqual([]);

      const userId = newId<UserId>();
      await s.withTransaction(async (tx) => {
        await tx.orgs.create(org(orgId));
        await tx.withTransaction((inner) =>
          inner.users.create(orgId, { userId, role: 'admin', retentionClass: 'standard', createdAt: 1 }),
        );
      });
      expect((await s.users.get(orgId, userId))?.role).toBe('admin');
    });

    it('withTransaction: onCommitted runs once committed (nested ones too), before the answer; never after a rollback', async () => {
      const orgId = newId<OrgId>();
      const events: string[] = [];
      const seen: (string | undefined)[] = [];
      // What onCommitted sees: the commit, through a plain read queued right then.
      const reads: Promise<unknown>[] = [];
      const onCommitted = (name: string) => () => {
        events.push(name);
        reads.push(s.orgs.get(orgId).then((o) => seen.push(o?.name)));
      };
      const answered = s
        .withTransaction(async (tx) => {
          await tx.orgs.create(org(orgId));
          await tx.withTransaction(async (inner) => {
            await inner.users.create(orgId, {
              userId: newId<UserId>(),
              role: 'member',
              retentionClass: 'standard',
              createdAt: 1,
            });
          }, onCommitted('inner'));
          expect(events).toEqual([]);
        }, onCommitted('outer'))
        .then(() => events.push('answer'));
      await answered;
      await Promise.all(reads);
      expect(events).toEqual(['outer', 'inner', 'answer']);
      expect(seen).toEqual(['Example Agency', 'Example Agency']);

      const rolledBack: string[] = [];
      await expect(
        s.withTransaction(
          async (tx) => {
            await tx.withTransaction(
              async () => undefined,
              () => rolledBack.push('inner'),
            );
            throw new Error('abort');
          },
          () => rolledBack.push('outer'),
        ),
      ).rejects.toThrow('abort');
      // A failing statement (the org exists) rolls the transaction back: nothing runs either.
      await expect(
        s.withTransaction(
          (tx) => tx.orgs.create(org(orgId)),
          () => rolledBack.push('dup'),
        ),
      ).rejects.toThrow();
      expect(rolledBack).toEqual([]);
    });

    it('withTransaction: operations outside wait and never see half a transaction', async () => {
      const orgId = newId<OrgId>();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const tx = s.withTransaction(async (t) => {
        await t.orgs.create(org(orgId));
        await gate;
        await t.users.create(orgId, {
          userId: newId<UserId>(),
          role: 'member',
          retentionClass: 'standard',
          createdAt: 1,
        });
      });
      const seen = s.users.list(orgId, { after: null, limit: 10 });
      release();
      await tx;
      // Either before (no org, no users) or after (one user); never the org without its user.
      const users = await seen;
      expect([0, 1]).toContain(users.length);
      expect(await s.users.list(orgId, { after: null, limit: 10 })).toHaveLength(1);
    });
  });
}
