/**
 * Separation of duties (NIST AC-5; docs/threat-model.md "an admin grants themself the officer
 * role"): an admin can make a user an officer and enrol a device for them, but that device
 * does no officer act until an officer of the current list binds it with their officer key;
 * and a removed officer's device stops acting at once. The authorisation matrix checks every
 * route; this file tells the attack and the binding's checks end to end, on one org.
 */
import { generateKeyPairSync } from 'node:crypto';
import { sealOfficerList } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HoldId } from '../store/hold-stores.js';
import {
  createFixtureOrg,
  injectFixture,
  ROUTE_FIXTURES,
  unboundOfficerDevice,
  type FixtureContext,
} from '../testing/route-fixtures.js';
import {
  bindOfficer,
  call,
  createTestApp,
  officerBindingStatement,
  type TestApp,
  type TestDevice,
  type TestOfficer,
} from '../testing/test-app.js';
import { openTestSqlite, type TestBackend } from '../testing/test-stores.js';

type Answer = Awaited<ReturnType<typeof call>>;
const code = (r: Answer): string | undefined => r.json<{ error?: { code: string } }>().error?.code;

describe('officer bindings (SQLite)', () => {
  let tb: TestBackend;
  let t: TestApp;
  let ctx: FixtureContext;
  let officers: readonly TestOfficer[];
  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores);
    ctx = await createFixtureOrg(t);
    officers = ctx.archive.officers;
  });
  afterAll(async () => {
    await t?.app.close();
    await tb?.dispose();
  });

  const put = (device: TestDevice, statement: Buffer): Promise<Answer> =>
    call(
      t.app,
      'PUT',
      `/v1/orgs/${device.orgId}/officer-binding`,
      { statement: statement.toString('base64url') },
      device.headers(),
    );
  /** `officer.bind` acts about `device`. */
  const bindActs = async (device: TestDevice) =>
    (await t.stores.auditPending.list(ctx.org.orgId, 0, 10_000)).filter(
      (a) => a.kind === 'officer.bind' && a.subject === device.deviceId,
    );

  it("an admin's own officer user does no officer act, and cannot bind itself", async () => {
    // What the admin can do alone: a user with the role officer and a device of their own for it.
    const mine = await unboundOfficerDevice(t, ctx.org);
    const before = (await t.stores.auditPending.list(ctx.org.orgId, 0, 10_000)).length;
    for (const key of [
      'POST /v1/orgs/:orgId/holds/:holdId/release',
      'POST /v1/orgs/:orgId/holds',
      'GET /v1/orgs/:orgId/holds',
      'PUT /v1/orgs/:orgId/archive/completeness/policy',
      'POST /v1/orgs/:orgId/review/rules',
      'POST /v1/orgs/:orgId/review/items/:itemId/decision',
    ]) {
      const req = await ROUTE_FIXTURES[key]!(ctx, mine);
      const r = await injectFixture(t.app, req, mine.headers());
      expect([key, r.statusCode, code(r)]).toEqual([key, 403, 'OFFICER_NOT_BOUND']);
      expect(r.json<{ error: { message: string } }>().error.message).toMatch(/not bound to an officer key/);
      if (key.endsWith('/release')) {
        const holdId = /holds\/([^/]+)\/release/.exec(req.url)![1]! as HoldId;
        expect((await t.stores.holds.get(ctx.org.orgId, holdId))?.releasedAt ?? null).toBeNull();
      }
    }
    // The same requests as the bound officer succeed (the fixtures are valid).
    const release = await ROUTE_FIXTURES['POST /v1/orgs/:orgId/holds/:holdId/release']!(
      ctx,
      ctx.archive.officer,
    );
    expect((await injectFixture(t.app, release, ctx.archive.officer.headers())).statusCode).toBe(200);
    const after = await t.stores.auditPending.list(ctx.org.orgId, 0, 10_000);
    expect(after.slice(before).map((a) => a.kind)).toEqual(['hold.release']);

    // A key of the admin's own is no officer's key; a real officer's binding of another
    // device does not carry over (it names that device and its identity key).
    const own = { publicKey: officers[1]!.publicKey, signingKey: generateKeyPairSync('ed25519').privateKey };
    const forged = await put(mine, officerBindingStatement(mine, own, 1, t.clock.now));
    expect([forged.statusCode, code(forged)]).toEqual([400, 'OFFICER_BINDING_INVALID']);
    expect(forged.body).toMatch(/signature does not verify/);
    const stolen = await put(
      mine,
      officerBindingStatement(ctx.archive.officer, officers[0]!, 0, t.clock.now),
    );
    expect(code(stolen)).toBe('OFFICER_BINDING_INVALID');
    expect(stolen.body).toMatch(/names another device than the caller/);
    const sameId = officerBindingStatement(
      { ...ctx.archive.officer, deviceId: mine.deviceId },
      officers[0]!,
      0,
      t.clock.now,
    );
    expect((await put(mine, sameId)).body).toMatch(/names another identity key/);
    expect(await t.stores.devices.officerBinding(ctx.org.orgId, mine.deviceId)).toBeUndefined();
    expect(await bindActs(mine)).toEqual([]);
  });

  it('binds a device to a listed officer once, as an audit act; refuses stale and re-targeted bindings', async () => {
    const device = await unboundOfficerDevice(t, ctx.org);
    const stale = await put(
      device,
      officerBindingStatement(device, officers[1]!, 1, t.clock.now - 11 * 60_000),
    );
    expect(stale.body).toMatch(/must be issued now/);
    const unlisted = await put(device, officerBindingStatement(device, officers[1]!, 7, t.clock.now));
    expect(unlisted.body).toMatch(/officer index 7 is not in the org's current officer list/);

    const ok = await put(device, officerBindingStatement(device, officers[1]!, 1, t.clock.now));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({
      deviceId: device.deviceId,
      officerIndex: 1,
      boundAt: t.clock.now,
      changed: true,
    });
    const again = await put(device, officerBindingStatement(device, officers[1]!, 1, t.clock.now + 1));
    expect(again.json()).toMatchObject({ officerIndex: 1, changed: false });
    const other = await put(device, officerBindingStatement(device, officers[2]!, 2, t.clock.now));
    expect(other.body).toMatch(/already bound to officer index 1/);
    const bound = await bindActs(device);
    expect(bound.map((a) => [a.actorDeviceId, a.subject])).toEqual([[device.deviceId, device.deviceId]]);
    expect(bound[0]!.detail).toMatch(/^officer=1 statement-sha256=[0-9a-f]{64}$/);

    const holds = await call(
      t.app,
      'GET',
      `/v1/orgs/${ctx.org.orgId}/holds?limit=1`,
      undefined,
      device.headers(),
    );
    expect(holds.statusCode, holds.body).toBe(200);
  });

  it("a removed officer's device stops acting with the list change that removes them", async () => {
    const leaving = await unboundOfficerDevice(t, ctx.org);
    await bindOfficer(t.app, leaving, officers[2]!, 2, t.clock.now);
    const list = `/v1/orgs/${ctx.org.orgId}/holds?limit=1`;
    expect((await call(t.app, 'GET', list, undefined, leaving.headers())).statusCode).toBe(200);
    const current = (await t.stores.orgs.get(ctx.org.orgId))!;
    const document = sealOfficerList(
      {
        org: ctx.org.orgId,
        quorum: 2,
        officers: current.officers.filter((o) => o.index !== 2),
        demote: [],
        issuedAt: t.clock.now + 1,
      },
      ctx.archive.orgSigningKey,
    );
    const change = await call(
      t.app,
      'PUT',
      `/v1/orgs/${ctx.org.orgId}/officers`,
      { document: Buffer.from(document).toString('base64url') },
      ctx.archive.officer.headers(),
    );
    expect(change.statusCode, change.body).toBe(200);
    const r = await call(t.app, 'GET', list, undefined, leaving.headers());
    expect([r.statusCode, code(r)]).toEqual([403, 'OFFICER_NOT_BOUND']);
    expect(r.body).toMatch(/bound to officer index 2, who is not in the org's current officer list/);
    // Still a user with the role officer on every route open to all roles.
    expect((await call(t.app, 'GET', '/v1/session', undefined, leaving.headers())).statusCode).toBe(200);
    expect((await call(t.app, 'GET', list, undefined, ctx.archive.officer.headers())).statusCode).toBe(200);
  });
});
