/**
 * Token checks outside HTTP headers (the WebSocket's auth frame): the same outcomes as a
 * device route, the token's expiry from the same read, and no error message that carries
 * the token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingTableAuditSink } from '../audit/audit-sink.js';
import { sha256 } from '../crypto/secrets.js';
import { silentLogger } from '../log/logger.js';
import {
  call,
  createOrgWithRoles,
  createTestApp,
  TEST_ORIGIN,
  type TestApp,
  type TestOrg,
} from '../testing/test-app.js';
import { openTestSqlite, type TestBackend } from '../testing/test-stores.js';
import { authenticateToken } from './auth-guard.js';
import type { AppDeps } from './route-def.js';

const NO_LIMIT = { burst: 1_000_000, perSecond: 1_000_000, maxKeys: 1000 };

describe('authenticateToken', () => {
  let tb: TestBackend;
  let t: TestApp;
  let a: TestOrg;
  let deps: AppDeps;
  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores);
    a = await createOrgWithRoles(t);
    deps = {
      stores: tb.stores,
      audit: pendingTableAuditSink,
      clock: () => t.clock.now,
      logger: silentLogger,
      origin: () => TEST_ORIGIN,
      // Unused by authenticateToken.
      rateLimits: { address: NO_LIMIT, device: NO_LIMIT },
    };
  });
  afterAll(async () => {
    await t?.app.close();
    await tb?.dispose();
  });

  it('resolves the device, its user and the token expiry the session route reports', async () => {
    const member = a.devices.member;
    const { auth, tokenExpiresAt } = await authenticateToken(member.token, member.deviceId, deps);
    expect([auth.orgId, auth.userId, auth.deviceId, auth.role]).toEqual([
      a.orgId,
      member.userId,
      member.deviceId,
      'member',
    ]);
    const stored = await tb.stores.authTokens.find(a.orgId, sha256(member.token));
    expect(tokenExpiresAt).toBe(stored?.expiresAt);
    expect(tokenExpiresAt).toBeGreaterThan(t.clock.now);
  });

  it('refuses a malformed, unknown, expired, other-device or revoked token without echoing it', async () => {
    const member = a.devices.member;
    const officer = a.devices.officer;
    const expectRefused = async (token: string, deviceId: string, code: string): Promise<void> => {
      const e: unknown = await authenticateToken(token, deviceId, deps).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e, code).toMatchObject({ code });
      const message = (e as Error).message;
      const secret = token.split('.')[2] ?? token;
      expect(message, code).not.toContain(secret);
    };
    await expectRefused('not-a-token-SECRETPART', member.deviceId, 'TOKEN_INVALID');
    await expectRefused(`${member.token.slice(0, -2)}xx`, member.deviceId, 'TOKEN_INVALID');
    await expectRefused(member.token, officer.deviceId, 'TOKEN_DEVICE_MISMATCH');
    const saved = t.clock.now;
    t.clock.now += 365 * 24 * 3_600_000;
    await expectRefused(member.token, member.deviceId, 'TOKEN_EXPIRED').finally(() => (t.clock.now = saved));
    const r = await call(
      t.app,
      'POST',
      `/v1/orgs/${a.orgId}/devices/${officer.deviceId}/revoke`,
      undefined,
      a.devices.admin.headers(),
    );
    expect(r.statusCode, r.body).toBe(200);
    await expectRefused(officer.token, officer.deviceId, 'DEVICE_REVOKED');
  });
});
