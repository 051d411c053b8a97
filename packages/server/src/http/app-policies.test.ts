/** App-wide policies: rate limits per address and per device, and logs that never carry bodies, headers or tokens (F8, F14). */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Type } from 'typebox';
import { ServerError } from '../errors.js';
import { PUSHBACK_RETRY_AFTER_SECONDS } from '../log-service/log-defaults.js';
import { createLogger } from '../log/logger.js';
import { defineRoute, PUBLIC } from './route-def.js';
import {
  call,
  createOrgWithRoles,
  createTestApp,
  appWithRoutes,
  type TestApp,
  type TestOrg,
} from '../testing/test-app.js';
import { openTestSqlite, type TestBackend } from '../testing/test-stores.js';

describe('app policies (SQLite)', () => {
  let tb: TestBackend;
  let t: TestApp;
  let org: TestOrg;
  const lines: string[] = [];
  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores, { logger: createLogger('debug', (l) => lines.push(l)) });
    org = await createOrgWithRoles(t);
  });
  afterAll(async () => {
    await t?.app.close();
    await tb?.dispose();
  });

  it('limits each device, answering 429 with Retry-After, and refills with time', async () => {
    // A second app over the same store, with a tight per-device limit.
    const tight = await createTestApp(tb.stores, {
      rateLimits: {
        address: { burst: 1000, perSecond: 1, maxKeys: 100 },
        device: { burst: 3, perSecond: 1, maxKeys: 100 },
      },
    });
    try {
      const member = org.devices.member;
      const session = (d = member) => call(tight.app, 'GET', '/v1/session', undefined, d.headers());
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await session()).statusCode);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const limited = await session();
      expect(limited.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Another device is not affected.
      expect((await session(org.devices.officer)).statusCode).toBe(200);
      tight.clock.now += 5_000;
      expect((await session()).statusCode).toBe(200);
    } finally {
      await tight.app.close();
    }
  });

  it('answers LOG_PUSHBACK with Retry-After from whichever route the full log refuses', async () => {
    // The header was set by the two archive routes only; every route that logs can get it.
    const logs = defineRoute({
      method: 'POST',
      url: '/pushed-back',
      summary: 'test only',
      access: PUBLIC,
      body: Type.Object({}),
      response: { status: 200, schema: Type.Object({}) },
      errors: ['LOG_PUSHBACK'],
      async handler() {
        throw new ServerError('LOG_PUSHBACK');
      },
    });
    const app = await appWithRoutes(tb.stores, [logs]);
    try {
      const r = await call(app, 'POST', '/pushed-back', {});
      expect(r.statusCode).toBe(503);
      expect(r.json()).toMatchObject({ error: { code: 'LOG_PUSHBACK' } });
      expect(r.headers['retry-after']).toBe(String(PUSHBACK_RETRY_AFTER_SECONDS));
    } finally {
      await app.close();
    }
  });

  it('limits each address, before anything else is done', async () => {
    const limited = await createTestApp(tb.stores, {
      rateLimits: {
        address: { burst: 2, perSecond: 1, maxKeys: 10 },
        device: { burst: 100, perSecond: 100, maxKeys: 10 },
      },
    });
    try {
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await call(limited.app, 'GET', '/heapdump')).statusCode);
      expect(codes).toEqual([404, 404, 429]);
    } finally {
      await limited.app.close();
    }
  });

  it('logs no body, header, token or path value, even at debug level', async () => {
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    lines.length = 0;
    const admin = org.devices.admin;
    await call(
      t.app,
      'POST',
      `/v1/orgs/${org.orgId}/users`,
      { role: 'member', [canary]: canary },
      {
        ...admin.headers(),
        'x-canary': canary,
      },
    );
    await call(t.app, 'GET', `/${canary}?q=${canary}`, undefined, { authorization: `Bearer ${canary}` });
    await call(t.app, 'GET', '/v1/session', undefined, admin.headers());
    const log = lines.join('');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(log).not.toContain(canary);
    expect(log).not.toContain(admin.token);
    expect(log).toContain('"route":"/v1/orgs/:orgId/users"');
  });
});
