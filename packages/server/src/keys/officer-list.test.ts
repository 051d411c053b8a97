/**
 * Changing the officer list (PUT /v1/orgs/:orgId/officers) on every backend: a list signed by
 * the org key replaces officers and quorum, demotes the users it names and is audited; a
 * forged, stale, replayed, other-org or malformed list changes nothing.
 */
import { OFFICER_LIST_DOMAIN, sealOfficerList, sealSignedDocument, type OfficerList } from '@custos/core';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArchivingOrg, type ArchivingOrg } from '../archive/archive-test-support.js';
import {
  bindOfficer,
  call,
  createTestApp,
  enrolNewUser,
  type TestApp,
  type TestDevice,
} from '../testing/test-app.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import { auditDocument } from '../log-service/audit-sequencing.js';
import { OFFICER_LIST_SKEW_MS } from './officer-list.js';

const b64u = (u: Uint8Array): string => Buffer.from(u).toString('base64url');
const NOW = 1_800_000_000_000;

for (const backend of TEST_BACKENDS) {
  const title = `officer list: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let t: TestApp;
    let a: ArchivingOrg;
    let second: TestDevice;
    const newKey = randomBytes(40);
    const list = (over: Partial<OfficerList> = {}): OfficerList => ({
      org: a.orgId,
      quorum: 2,
      // The org's own three officers (the officer devices stay bound to them) and a fourth.
      officers: [0, 1, 2, 3].map((index) => ({
        index,
        publicKey: a.officers[index]?.publicKey ?? Buffer.alloc(32, index),
      })),
      demote: [],
      issuedAt: t.clock.now,
      ...over,
    });
    const put = (doc: Uint8Array, who: TestDevice = a.officer) =>
      call(t.app, 'PUT', `/v1/orgs/${a.orgId}/officers`, { document: b64u(doc) }, who.headers());
    const code = (r: { json: <T>() => T }): string => r.json<{ error: { code: string } }>().error.code;

    beforeAll(async () => {
      tb = await backend.open();
      t = await createTestApp(tb.stores);
      t.clock.now = NOW;
      a = await createArchivingOrg(t, 1);
      // A second officer user, to be removed.
      second = await enrolNewUser(t.app, a.admin, 'officer');
      await bindOfficer(t.app, second, a.officers[1]!, 1, t.clock.now);
      t.clock.now = NOW + 1000;
    });
    afterAll(async () => {
      await t?.app.close();
      await tb?.dispose();
    });

    it('refuses forged, stale, other-org and malformed lists; nothing changes', async () => {
      const before = await tb.stores.orgs.get(a.orgId);
      const forger = generateKeyPairSync('ed25519').privateKey;
      const cases: [Uint8Array, string][] = [
        [sealOfficerList(list(), forger), 'OFFICER_LIST_INVALID'],
        [sealOfficerList(list({ org: 'another-org-id-xxxxxxx' }), a.orgSigningKey), 'OFFICER_LIST_INVALID'],
        [
          sealOfficerList(list({ issuedAt: t.clock.now - OFFICER_LIST_SKEW_MS - 1 }), a.orgSigningKey),
          'OFFICER_LIST_INVALID',
        ],
        // core's sealOfficerList refuses a quorum above n: sign the raw fields to reach the server's check.
        [
          sealSignedDocument(
            OFFICER_LIST_DOMAIN,
            {
              v: 1,
              typ: 'officer-list',
              org: a.orgId,
              m: 5,
              off: [{ i: 0, pk: newKey }],
              usr: [],
              iat: t.clock.now,
            },
            a.orgSigningKey,
          ),
          'OFFICER_LIST_INVALID',
        ],
        [sealOfficerList(list({ demote: ['no-such-user-xxxxxxxxx'] }), a.orgSigningKey), 'USER_NOT_FOUND'],
        [sealOfficerList(list({ demote: [a.admin.userId] }), a.orgSigningKey), 'OFFICER_LIST_INVALID'],
        [new Uint8Array([1, 2, 3]), 'OFFICER_LIST_INVALID'],
      ];
      for (const [doc, want] of cases) {
        const r = await put(doc);
        expect(code(r), r.body).toBe(want);
      }
      expect((await put(sealOfficerList(list(), a.orgSigningKey), a.admin)).statusCode).toBe(403);
      expect(await tb.stores.orgs.get(a.orgId)).toEqual(before);
      expect(await tb.stores.orgs.lastOfficerListChange(a.orgId)).toBeUndefined();
      expect(await tb.stores.orgs.officerListChanges(a.orgId)).toEqual([]);
    });

    it('adds an officer: new keys and quorum, audited, idempotent, and an older list is then refused', async () => {
      const doc = sealOfficerList(
        list({ officers: [...list().officers.slice(0, 3), { index: 3, publicKey: newKey }], quorum: 3 }),
        a.orgSigningKey,
      );
      const r = await put(doc);
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ officerQuorum: 3, changed: true, demoted: [] });
      const org = (await tb.stores.orgs.get(a.orgId))!;
      expect(org.officers.map((o) => o.index)).toEqual([0, 1, 2, 3]);
      expect(org.officers[3]!.publicKey).toEqual(newKey);
      expect(org.officerQuorum).toBe(3);
      expect((await put(doc)).json()).toMatchObject({ changed: false });
      const older = await put(sealOfficerList(list({ issuedAt: t.clock.now - 1 }), a.orgSigningKey));
      expect(code(older)).toBe('OFFICER_LIST_INVALID');
      expect(older.body).toContain('not newer');
      const acts = await tb.stores.auditPending.list(a.orgId, 0, 1000);
      const change = acts.find((e) => e.kind === 'officers.change');
      expect(change?.detail).toMatch(/^n=4 m=3 added=3 removed=- list-sha256=[0-9a-f]{64}$/);
      expect(change?.actorDeviceId).toBe(a.officer.deviceId);
    });

    it('removes an officer and withdraws the role of the user named, so officer routes refuse it', async () => {
      t.clock.now += 1000;
      const ok = await call(
        t.app,
        'GET',
        `/v1/orgs/${a.orgId}/key-manager/wraps`,
        undefined,
        second.headers(),
      );
      expect(ok.statusCode).toBe(200);
      const r = await put(
        sealOfficerList(
          list({ officers: list().officers.slice(0, 3), quorum: 2, demote: [second.userId] }),
          a.orgSigningKey,
        ),
      );
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ officerQuorum: 2, demoted: [second.userId] });
      expect((await tb.stores.users.get(a.orgId, second.userId))?.role).toBe('member');
      const refused = await call(
        t.app,
        'GET',
        `/v1/orgs/${a.orgId}/key-manager/wraps`,
        undefined,
        second.headers(),
      );
      expect(code(refused)).toBe('ROLE_FORBIDDEN');
    });

    it('serves every list with the act that logged it, oldest first (GET …/officers/history)', async () => {
      const history = (who: TestDevice) =>
        call(t.app, 'GET', `/v1/orgs/${a.orgId}/officers/history`, undefined, who.headers());
      const r = await history(a.officer);
      expect(r.statusCode, r.body).toBe(200);
      const { changes } = r.json<{ changes: { list: string; act: string | null }[] }>();
      const stored = await tb.stores.orgs.officerListChanges(a.orgId);
      expect(stored.map((c) => c.seq)).toEqual([1, 2]);
      expect(stored.at(-1)).toEqual(await tb.stores.orgs.lastOfficerListChange(a.orgId));
      expect(changes.map((c) => c.list)).toEqual(stored.map((c) => b64u(c.document)));
      const acts = await tb.stores.auditPending.officersChanges(a.orgId);
      expect(acts.map((e) => e.kind)).toEqual(['officers.change', 'officers.change']);
      expect(changes.map((c) => c.act)).toEqual(acts.map((e) => b64u(auditDocument(a.orgId, e))));
      // Each act names its own list by hash.
      for (const c of changes) {
        const named = createHash('sha256').update(Buffer.from(c.list, 'base64url')).digest('hex');
        expect(Buffer.from(c.act!, 'base64url').toString('latin1')).toContain(`list-sha256=${named}`);
      }
      expect((await history(a.admin)).statusCode).toBe(403);
    });
  });
}
