/**
 * The authorisation matrix (threat model F7): every device route, called by each role of
 * the org and by an admin of another org. Only the declared pairs succeed. Separation of
 * duties (docs/officers.md §2): two more devices of officer users call every route — one an
 * admin enrolled and nobody bound (what an admin gets by granting the role officer), one
 * bound under an officer key that is no longer in the list (a removed officer) — and get
 * OFFICER_NOT_BOUND wherever an officer is needed, except where any role or an unbound
 * officer may call.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ROUTE_FIXTURES,
  createFixtureOrg,
  injectFixture,
  unboundOfficerDevice,
  type FixtureContext,
} from '../testing/route-fixtures.js';
import {
  createOrgWithRoles,
  createTestApp,
  type TestApp,
  type TestDevice,
  type TestOrg,
} from '../testing/test-app.js';
import { openTestSqlite, type TestBackend } from '../testing/test-stores.js';
import { ALL_ROUTES } from './routes/index.js';

describe('authorisation matrix (SQLite)', () => {
  let tb: TestBackend;
  let t: TestApp;
  let a: TestOrg;
  let b: TestOrg;
  let ctx: FixtureContext;
  let unbound: TestDevice;
  let removed: TestDevice;
  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores);
    ctx = await createFixtureOrg(t);
    a = ctx.org;
    b = await createOrgWithRoles(t, false);
    unbound = await unboundOfficerDevice(t, a);
    removed = await unboundOfficerDevice(t, a);
    // Bound under a key the current list no longer names, as after the officer's removal.
    await t.stores.devices.bindOfficer(a.orgId, removed.deviceId, {
      officerIndex: 2,
      officerPublicKey: randomBytes(48),
      statement: randomBytes(16),
      boundAt: t.clock.now,
    });
  });
  afterAll(async () => {
    await t?.app.close();
    await tb?.dispose();
  });

  it('has a fixture for every route', () => {
    const missing = ALL_ROUTES.map((r) => `${r.method} ${r.url}`).filter(
      (k) => ROUTE_FIXTURES[k] === undefined,
    );
    expect(missing, 'add fixtures in packages/server/src/testing/route-fixtures.ts').toEqual([]);
  });

  // Routes without a fixture are reported by the completeness test above.
  for (const route of ALL_ROUTES.filter((r) => ROUTE_FIXTURES[`${r.method} ${r.url}`] !== undefined)) {
    if (route.access.kind !== 'device') continue;
    const allowed = route.access.roles;
    const unboundOk = route.access.unboundOfficers === true;
    it(`${route.method} ${route.url}: allowed for ${allowed.join(', ')} only`, async () => {
      // The binding route binds its caller: a fresh unbound officer each time, so the shared
      // one stays unbound for the other routes.
      const unboundCaller =
        unboundOk && !allowed.includes('member') ? await unboundOfficerDevice(t, a) : unbound;
      const callers: [string, TestDevice, boolean][] = [
        ...(['member', 'admin', 'officer', 'auditor'] as const).map((role): [string, TestDevice, boolean] => [
          role,
          a.devices[role],
          allowed.includes(role),
        ]),
        ['unbound officer', unboundCaller, allowed.includes('officer') && unboundOk],
        ['removed officer', removed, allowed.includes('officer') && unboundOk && allowed.includes('member')],
        ['other-org admin', b.devices.admin, !route.url.includes(':orgId')],
      ];
      const outcomes: Record<string, number | string> = {};
      for (const [name, device, ok] of callers) {
        const req = await ROUTE_FIXTURES[`${route.method} ${route.url}`]!(ctx, device);
        const r = await injectFixture(t.app, req, device.headers());
        const code = r.headers['content-type']?.toString().startsWith('application/json')
          ? r.json<{ error?: { code: string } }>().error?.code
          : undefined;
        if (name === 'other-org admin' && ok) {
          // A route without an org in its path is open to every org's devices; the fixture's
          // data belongs to org A, so the answer may be a domain error — never an auth one.
          outcomes[name] =
            r.statusCode === 401 || r.statusCode === 403 ? (code ?? r.statusCode) : 'authorised';
        } else {
          outcomes[name] = ok ? r.statusCode : (code ?? r.statusCode);
          if (ok) expect(r.statusCode, `${name}: ${r.body}`).toBe(route.response.status);
        }
      }
      const refusal = (name: string): string => {
        if (!name.endsWith(' officer') || !allowed.includes('officer')) return 'ROLE_FORBIDDEN';
        // The removed officer's device stays bound to its old officer: it cannot be re-bound.
        return unboundOk ? 'OFFICER_BINDING_INVALID' : 'OFFICER_NOT_BOUND';
      };
      const expected = Object.fromEntries(
        callers.map(([name, , ok]) => [
          name,
          name === 'other-org admin'
            ? ok
              ? 'authorised'
              : 'WRONG_ORG'
            : ok
              ? route.response.status
              : refusal(name),
        ]),
      );
      expect(outcomes).toEqual(expected);
    });
  }
});
