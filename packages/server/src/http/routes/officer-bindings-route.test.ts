/**
 * GET /v1/orgs/:orgId/officer-bindings on SQLite and PostgreSQL: officers and auditors get every
 * binding of their org with the statement exactly as the officer signed it — the bytes whose
 * SHA-256 the `officer.bind` act commits to, verifying with the officer's key — paged by device
 * id; another org's bindings, members, admins, another org's path and malformed queries get
 * nothing, and reading writes no audit act.
 */
import { createHash } from 'node:crypto';
import { openOfficerDeviceBinding } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundOfficerDevice } from '../../testing/route-fixtures.js';
import {
  call,
  createOrgWithRoles,
  createTestApp,
  type TestApp,
  type TestDevice,
  type TestOfficer,
  type TestOrg,
} from '../../testing/test-app.js';
import { TEST_BACKENDS, type TestBackend } from '../../testing/test-stores.js';

interface Listed {
  deviceId: string;
  officerIndex: number;
  boundAt: number;
  statement: string;
}
interface Page {
  bindings: Listed[];
  next: string | null;
}

/** The raw Ed25519 key inside a test officer's public key document. */
const signingKeyOf = (o: TestOfficer): Uint8Array => {
  const jwk = o.signingKey.export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
};

for (const backend of TEST_BACKENDS) {
  describe.skipIf(backend.skip !== null)(
    `officer bindings listing: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`,
    () => {
      let tb: TestBackend;
      let t: TestApp;
      let org: TestOrg;
      let other: TestOrg;
      /** A second officer device of `org`, bound to officer 1 (devices.officer is officer 0's). */
      let officer1: TestDevice;
      beforeAll(async () => {
        tb = await backend.open();
        t = await createTestApp(tb.stores);
        org = await createOrgWithRoles(t);
        other = await createOrgWithRoles(t, false);
        officer1 = await boundOfficerDevice(t, org, 1);
      });
      afterAll(async () => {
        await t?.app.close();
        await tb?.dispose();
      });

      const get = (d: TestDevice, query = '', orgId: string = d.orgId) =>
        call(t.app, 'GET', `/v1/orgs/${orgId}/officer-bindings${query}`, undefined, d.headers());
      const list = async (d: TestDevice, query = ''): Promise<Page> => {
        const r = await get(d, query);
        expect(r.statusCode, r.body).toBe(200);
        return r.json<Page>();
      };
      const refusal = (r: Awaited<ReturnType<typeof get>>) => [
        r.statusCode,
        r.json<{ error: { code: string } }>().error.code,
      ];
      const auditCount = async () => (await t.stores.auditPending.list(org.orgId, 0, 10_000)).length;

      it("serves every binding of the org with the officer's signed statement its act commits to", async () => {
        const page = await list(org.devices.officer);
        const bound = [org.devices.officer.deviceId, officer1.deviceId].sort();
        expect(page.bindings.map((b) => b.deviceId)).toEqual(bound);
        expect(page.next).toBeNull();
        // The other org's officer device is bound too, and is not listed here.
        expect(page.bindings.map((b) => b.deviceId)).not.toContain(other.devices.officer.deviceId);
        const acts = (await t.stores.auditPending.list(org.orgId, 0, 10_000)).filter(
          (a) => a.kind === 'officer.bind',
        );
        for (const b of page.bindings) {
          const statement = Buffer.from(b.statement, 'base64url');
          const opened = openOfficerDeviceBinding(statement, (i) => signingKeyOf(org.officers![i]!));
          expect(opened).toMatchObject({
            org: org.orgId,
            deviceId: b.deviceId,
            officerIndex: b.officerIndex,
          });
          const act = acts.find((a) => a.subject === b.deviceId);
          const sha = createHash('sha256').update(statement).digest('hex');
          expect(act?.detail).toBe(`officer=${b.officerIndex} statement-sha256=${sha}`);
          expect(act?.at).toBe(b.boundAt);
        }
        expect(page.bindings.find((b) => b.deviceId === officer1.deviceId)?.officerIndex).toBe(1);
        // An auditor reads the same; the other org's officer reads only its own.
        expect(await list(org.devices.auditor)).toEqual(page);
        expect((await list(other.devices.officer)).bindings.map((b) => b.deviceId)).toEqual([
          other.devices.officer.deviceId,
        ]);
      });

      it('pages by device id', async () => {
        const first = await list(org.devices.officer, '?limit=1');
        expect(first.bindings).toHaveLength(1);
        expect(first.next).toBe(first.bindings[0]!.deviceId);
        const second = await list(org.devices.officer, `?limit=1&after=${first.next}`);
        expect(second.bindings).toHaveLength(1);
        expect(second.bindings[0]!.deviceId > first.bindings[0]!.deviceId).toBe(true);
        const end = await list(org.devices.officer, `?limit=1&after=${second.next}`);
        expect(end).toEqual({ bindings: [], next: null });
      });

      it("refuses another org's path, members and admins, and malformed queries; writes nothing", async () => {
        const before = await auditCount();
        expect(refusal(await get(org.devices.officer, '', other.orgId))).toEqual([403, 'WRONG_ORG']);
        expect(refusal(await get(org.devices.member))).toEqual([403, 'ROLE_FORBIDDEN']);
        expect(refusal(await get(org.devices.admin))).toEqual([403, 'ROLE_FORBIDDEN']);
        for (const q of ['?limit=0', '?limit=abc', '?limit=1001', '?after=a%2Fb', '?device=x']) {
          const r = await get(org.devices.officer, q);
          expect([q, ...refusal(r)]).toEqual([q, 400, 'INVALID_REQUEST']);
        }
        const r = await call(t.app, 'GET', `/v1/orgs/${org.orgId}/officer-bindings`, undefined, {});
        expect(r.statusCode).toBe(401);
        expect(await auditCount()).toBe(before);
      });
    },
  );
}
