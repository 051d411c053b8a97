/**
 * The authorisation matrix (threat model F7): every device route, called by each role of
 * the org and by an admin of another org. Only the declared pairs succeed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ROUTE_FIXTURES,
  createFixtureOrg,
  injectFixture,
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
  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores);
    ctx = await createFixtureOrg(t);
    a = ctx.org;
    b = await createOrgWithRoles(t, false);
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
    it(`${route.method} ${route.url}: allowed for ${allowed.join(', ')} only`, async () => {
      const callers: [string, TestDevice, boolean][] = [
        ...(['member', 'admin', 'officer', 'auditor'] as const).map((role): [string, TestDevice, boolean] => [
          role,
          a.devices[role],
          allowed.includes(role),
        ]),
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
      const expected = Object.fromEntries(
        callers.map(([name, , ok]) => [
          name,
          name === 'other-org admin'
            ? ok
              ? 'authorised'
              : 'WRONG_ORG'
            : ok
              ? route.response.status
              : 'ROLE_FORBIDDEN',
        ]),
      );
      expect(outcomes).toEqual(expected);
    });
  }
});
