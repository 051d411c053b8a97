/**
 * Regressions for what the route fuzzer (route-fuzz.fuzz.test.ts) found: each of these was
 * answered outside the project's error shape or with a 500 before it was fixed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrgWithRoles, createTestApp, type TestApp, type TestOrg } from '../testing/test-app.js';
import { openTestSqlite, type TestBackend } from '../testing/test-stores.js';

describe('route fuzzing regressions (SQLite)', () => {
  let tb: TestBackend;
  let t: TestApp;
  let org: TestOrg;
  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores);
    org = await createOrgWithRoles(t);
  });
  afterAll(async () => {
    await t?.app.close();
    await tb?.dispose();
  });

  it('malformed percent-encoding in a path: 400 INVALID_REQUEST in our shape, URL not echoed, our headers set', async () => {
    for (const url of [
      `/v1/orgs/%zz/users`,
      `/v1/orgs/%ff%fe/users?limit=10`,
      `/v1/orgs/${org.orgId}/log/tile/%`,
    ]) {
      const r = await t.app.inject({ method: 'GET', url, headers: org.devices.admin.headers() });
      expect(r.statusCode, url).toBe(400);
      expect(r.json()).toEqual({
        error: { code: 'INVALID_REQUEST', message: 'path: not a valid URL (malformed percent-encoding)' },
      });
      expect(r.body).not.toContain('%');
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('an over-long path parameter: 400 INVALID_REQUEST in our shape (was fastify 414 echoing the path)', async () => {
    const r = await t.app.inject({
      method: 'GET',
      url: `/v1/orgs/${'a'.repeat(500)}/users`,
      headers: org.devices.admin.headers(),
    });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({
      error: { code: 'INVALID_REQUEST', message: 'path: a path parameter is too long' },
    });
  });

  it('an archive batch without a body (no content type): 400 body required, not 500', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/v1/archive/batches',
      headers: org.devices.member.headers(),
    });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({ error: { code: 'INVALID_REQUEST', message: 'body: required' } });
  });
});
