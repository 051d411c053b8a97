/**
 * Bad input on every route (threat model, "Bad input everywhere"; F5; F7): malformed JSON,
 * wrong types, unknown fields, oversized bodies, wrong media type; missing, malformed,
 * unknown, expired, revoked and other-device tokens; another organisation's ids. Each gets
 * a 4xx naming what was wrong, and the whole store is byte-for-byte unchanged afterwards.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ARCHIVE_HAND_IN_DAYS, LINK_CODES_PER_WINDOW, MAX_TOKEN_TTL_MS } from '../config/defaults.js';
import { newBearerToken } from '../crypto/secrets.js';
import type { ServerErrorCode } from '../errors.js';
import {
  createFixtureOrg,
  createSpareUser,
  ROUTE_FIXTURES,
  type FixtureContext,
  type RouteRequest,
} from '../testing/route-fixtures.js';
import {
  call,
  createOrgWithRoles,
  createTestApp,
  deviceKeys,
  enrolAndLogin,
  enrolmentCodeFor,
  orgCreateBody,
  TEST_ORIGIN,
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
import { ALL_ROUTES } from './routes/index.js';

interface Case {
  readonly name: string;
  readonly req: () => Promise<{
    method: RouteRequest['method'];
    url: string;
    payload?: string | Buffer;
    headers?: Record<string, string>;
  }>;
  readonly status: number;
  readonly code: ServerErrorCode;
  /** A fragment the message must contain (the field or thing named). */
  readonly mentions?: string;
  /** Milliseconds to move the clock forward after building the request (expiry cases). */
  readonly clockShift?: number;
}

function wrongType(v: unknown): unknown {
  return typeof v === 'string' ? 12345 : 'not-the-right-type';
}

for (const backend of TEST_BACKENDS) {
  const title = `bad input changes nothing: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let t: TestApp;
    let a: TestOrg;
    let b: TestOrg;
    let ctx: FixtureContext;
    let revoked: TestDevice;
    /** Revoked longer ago than its archive hand-in window: refused even on the hand-in routes. */
    let lapsed: TestDevice;
    let codeForB: string;
    let challengeOfB: string;
    let snap: StoreSnapshotter;

    beforeAll(async () => {
      tb = await backend.open();
      snap = openSnapshotter(tb.config);
      t = await createTestApp(tb.stores);
      ctx = await createFixtureOrg(t);
      a = ctx.org;
      b = await createOrgWithRoles(t, false);
      const admin = a.devices.admin.headers();
      const spareCode = () => enrolmentCodeFor(t.app, a.devices.admin, ctx.spareUserId);
      revoked = await enrolAndLogin(t.app, a.orgId, await spareCode());
      await call(t.app, 'POST', `/v1/orgs/${a.orgId}/devices/${revoked.deviceId}/revoke`, undefined, admin);
      lapsed = await enrolAndLogin(t.app, a.orgId, await spareCode());
      const now = t.clock.now;
      t.clock.now -= DEFAULT_ARCHIVE_HAND_IN_DAYS * 24 * 60 * 60 * 1000 + 1;
      await call(
        t.app,
        'POST',
        `/v1/orgs/${a.orgId}/devices/${lapsed.deviceId}/revoke?allowHandIn=true`,
        undefined,
        admin,
      );
      t.clock.now = now;
      // A user of b without a device: an admin's code for one with a device is USER_HAS_DEVICE.
      const bUser = (
        await call(t.app, 'POST', `/v1/orgs/${b.orgId}/users`, { role: 'member' }, b.devices.admin.headers())
      ).json<{ userId: string }>().userId;
      codeForB = await enrolmentCodeFor(t.app, b.devices.admin, bUser);
      const ch = await call(t.app, 'POST', '/v1/auth/challenge', {
        orgId: b.orgId,
        deviceId: b.devices.member.deviceId,
      });
      challengeOfB = ch.json<{ challengeId: string }>().challengeId;
    });
    afterAll(async () => {
      await t?.app.close();
      await snap?.close();
      await tb?.dispose();
    });

    async function expectRefusedWithoutChange(c: Case): Promise<void> {
      const req = await c.req();
      const saved = t.clock.now;
      t.clock.now += c.clockShift ?? 0;
      const before = await snap.snapshot();
      const r = await t.app
        .inject({
          method: req.method,
          url: req.url,
          headers: req.headers ?? {},
          ...(req.payload === undefined ? {} : { payload: req.payload }),
        })
        .finally(() => (t.clock.now = saved));
      const after = await snap.snapshot();
      expect(r.statusCode, `${c.name}: ${r.body}`).toBe(c.status);
      const body = r.json<{ error: { code: string; message: string } }>();
      expect(body.error.code, c.name).toBe(c.code);
      if (c.mentions !== undefined) expect(body.error.message, c.name).toContain(c.mentions);
      expect(after === before, `${c.name}: the store changed`).toBe(true);
    }

    const json = { 'content-type': 'application/json' };

    // Routes without a fixture are reported by the authorisation matrix's completeness test.
    for (const route of ALL_ROUTES.filter((r) => ROUTE_FIXTURES[`${r.method} ${r.url}`] !== undefined)) {
      const key = `${route.method} ${route.url}`;
      // The caller has a role the route allows (admin when it may), so only the input is wrong.
      const callerRole =
        route.access.kind === 'device' && !route.access.roles.includes('admin')
          ? route.access.roles[0]
          : 'admin';
      const caller = () => a.devices[callerRole ?? 'admin'];
      const auth = (): Record<string, string> => (route.access.kind === 'device' ? caller().headers() : {});
      const cases: Case[] = [];
      const fixture = async (): Promise<RouteRequest> => {
        const f = ROUTE_FIXTURES[key];
        if (f === undefined) throw new Error(`no fixture for ${key}`);
        return f(ctx, caller());
      };

      if (route.body !== undefined) {
        cases.push(
          {
            name: 'malformed JSON',
            req: async () => ({ ...(await fixture()), payload: '{"a": ', headers: { ...auth(), ...json } }),
            status: 400,
            code: 'MALFORMED_JSON',
          },
          {
            name: 'a JSON array instead of an object',
            req: async () => ({ ...(await fixture()), payload: '[1,2]', headers: { ...auth(), ...json } }),
            status: 400,
            code: 'INVALID_REQUEST',
            mentions: 'body',
          },
          {
            name: 'an unknown property',
            req: async () => {
              const f = await fixture();
              return {
                ...f,
                payload: JSON.stringify({ ...f.body, unexpected: 1 }),
                headers: { ...auth(), ...json },
              };
            },
            status: 400,
            code: 'INVALID_REQUEST',
            mentions: 'unexpected',
          },
          {
            name: 'an oversized body',
            req: async () => ({
              ...(await fixture()),
              payload: JSON.stringify({ pad: 'x'.repeat(route.bodyLimit ?? 16 * 1024) }),
              headers: { ...auth(), ...json },
            }),
            status: 413,
            code: 'BODY_TOO_LARGE',
          },
          {
            name: 'text/plain',
            req: async () => ({
              ...(await fixture()),
              payload: 'hello',
              headers: { ...auth(), 'content-type': 'text/plain' },
            }),
            status: 415,
            code: 'UNSUPPORTED_MEDIA_TYPE',
          },
        );
        cases.push({
          name: 'a field of the wrong type',
          req: async () => {
            const f = await fixture();
            const [field, value] = Object.entries(f.body ?? {})[0] ?? ['none', null];
            return {
              ...f,
              payload: JSON.stringify({ ...f.body, [field]: wrongType(value) }),
              headers: { ...auth(), ...json },
            };
          },
          status: 400,
          code: 'INVALID_REQUEST',
          mentions: 'body.',
        });
      }

      if (route.access.kind === 'device') {
        const withHeaders = (headers: () => Record<string, string>) => async () => {
          const f = await fixture();
          return {
            ...f,
            headers: { ...headers(), ...(f.body === undefined ? {} : json) },
            ...(f.body === undefined ? {} : { payload: JSON.stringify(f.body) }),
          };
        };
        cases.push(
          {
            name: 'no token',
            req: withHeaders(() => ({})),
            status: 401,
            code: 'AUTH_REQUIRED',
            mentions: 'Authorization',
          },
          {
            name: 'no Custos-Device header',
            req: withHeaders(() => ({ authorization: caller().headers().authorization! })),
            status: 401,
            code: 'AUTH_REQUIRED',
            mentions: 'Custos-Device',
          },
          {
            name: 'a malformed token',
            req: withHeaders(() => ({ ...caller().headers(), authorization: 'Bearer not-a-token' })),
            status: 401,
            code: 'TOKEN_INVALID',
          },
          {
            name: 'an unknown token',
            req: withHeaders(() => ({
              ...caller().headers(),
              authorization: `Bearer ${newBearerToken(a.orgId)}`,
            })),
            status: 401,
            code: 'TOKEN_INVALID',
          },
          {
            name: "another device's token",
            req: withHeaders(() => ({
              ...caller().headers(),
              'custos-device': a.devices.member.deviceId,
            })),
            status: 401,
            code: 'TOKEN_DEVICE_MISMATCH',
          },
          {
            name: "another org's token naming this org's device",
            req: withHeaders(() => ({
              ...b.devices.admin.headers(),
              'custos-device': caller().deviceId,
            })),
            status: 401,
            code: 'TOKEN_DEVICE_MISMATCH',
          },
          route.access.handIn === true
            ? {
                name: 'a revoked device past its archive hand-in window',
                req: withHeaders(() => lapsed.headers()),
                status: 401,
                code: 'DEVICE_REVOKED',
                mentions: 'its archive hand-in window closed',
              }
            : {
                name: 'a revoked device',
                req: withHeaders(() => revoked.headers()),
                status: 401,
                code: 'DEVICE_REVOKED',
              },
        );
        if (route.url.includes(':orgId')) {
          cases.push({
            name: "another org's id in the path",
            req: withHeaders(() => b.devices.admin.headers()),
            status: 403,
            code: 'WRONG_ORG',
          });
        }
        cases.push({
          name: 'an expired token',
          req: withHeaders(() => caller().headers()),
          status: 401,
          code: 'TOKEN_EXPIRED',
          clockShift: MAX_TOKEN_TTL_MS,
        });
      }

      for (const c of cases) it(`${key}: ${c.name}`, () => expectRefusedWithoutChange(c));
    }

    const admin = () => a.devices.admin.headers();
    const specific: Case[] = [
      {
        name: "role of another org's user",
        req: async () => ({
          method: 'PUT',
          url: `/v1/orgs/${a.orgId}/users/${b.devices.member.userId}/role`,
          payload: JSON.stringify({ role: 'admin' }),
          headers: { ...admin(), 'content-type': 'application/json' },
        }),
        status: 404,
        code: 'USER_NOT_FOUND',
      },
      {
        name: "retention of another org's user",
        req: async () => ({
          method: 'PUT',
          url: `/v1/orgs/${a.orgId}/users/${b.devices.member.userId}/retention`,
          payload: JSON.stringify({ retentionClass: 'transitory' }),
          headers: { ...admin(), 'content-type': 'application/json' },
        }),
        status: 404,
        code: 'USER_NOT_FOUND',
      },
      {
        name: "enrolment code for another org's user",
        req: async () => ({
          method: 'POST',
          url: `/v1/orgs/${a.orgId}/users/${b.devices.member.userId}/enrolment-codes`,
          payload: '{}',
          headers: { ...admin(), 'content-type': 'application/json' },
        }),
        status: 404,
        code: 'USER_NOT_FOUND',
      },
      {
        name: "revoking another org's device",
        req: async () => ({
          method: 'POST',
          url: `/v1/orgs/${a.orgId}/devices/${b.devices.member.deviceId}/revoke`,
          headers: admin(),
        }),
        status: 404,
        code: 'DEVICE_NOT_FOUND',
      },
      {
        name: 'revoking a revoked device',
        req: async () => ({
          method: 'POST',
          url: `/v1/orgs/${a.orgId}/devices/${revoked.deviceId}/revoke`,
          headers: admin(),
        }),
        status: 409,
        code: 'DEVICE_ALREADY_REVOKED',
      },
      {
        name: "a challenge for another org's device",
        req: async () => ({
          method: 'POST',
          url: '/v1/auth/challenge',
          payload: JSON.stringify({ orgId: a.orgId, deviceId: b.devices.member.deviceId }),
          headers: json,
        }),
        status: 404,
        code: 'DEVICE_NOT_FOUND',
      },
      {
        name: "a token for another org's challenge",
        req: async () => ({
          method: 'POST',
          url: '/v1/auth/token',
          payload: JSON.stringify({
            orgId: a.orgId,
            deviceId: b.devices.member.deviceId,
            challengeId: challengeOfB,
            signature: randomBytes(64).toString('base64url'),
          }),
          headers: json,
        }),
        status: 401,
        code: 'CHALLENGE_INVALID',
      },
      {
        name: "registering with another org's enrolment code",
        req: async () => ({
          method: 'POST',
          url: `/v1/orgs/${a.orgId}/devices`,
          payload: JSON.stringify({ ...deviceKeys(1, 1).body, enrolmentCode: codeForB }),
          headers: json,
        }),
        status: 401,
        code: 'ENROLMENT_CODE_INVALID',
        mentions: 'another organisation',
      },
      {
        name: 'registering with an unknown enrolment code',
        req: async () => ({
          method: 'POST',
          url: `/v1/orgs/${a.orgId}/devices`,
          payload: JSON.stringify({
            ...deviceKeys(1, 1).body,
            enrolmentCode: codeForB.replace(b.orgId, a.orgId),
          }),
          headers: json,
        }),
        status: 401,
        code: 'ENROLMENT_CODE_INVALID',
      },
      {
        name: 'a bootstrap token used twice',
        req: async () => ({
          method: 'POST',
          url: '/v1/orgs',
          payload: JSON.stringify(orgCreateBody(t.bootstrapToken)),
          headers: json,
        }),
        status: 409,
        code: 'BOOTSTRAP_USED',
      },
      {
        name: 'a wrong bootstrap token',
        req: async () => ({
          method: 'POST',
          url: '/v1/orgs',
          payload: JSON.stringify(orgCreateBody(`cb1.${randomBytes(32).toString('base64url')}`)),
          headers: json,
        }),
        status: 401,
        code: 'BOOTSTRAP_INVALID',
      },
      {
        name: 'a page size over the maximum',
        req: async () => ({ method: 'GET', url: `/v1/orgs/${a.orgId}/users?limit=999`, headers: admin() }),
        status: 400,
        code: 'INVALID_REQUEST',
        mentions: 'limit',
      },
      {
        name: 'a malformed id in the path',
        req: async () => ({
          method: 'PUT',
          url: `/v1/orgs/${a.orgId}/users/..%2F..%2Fetc/role`,
          payload: JSON.stringify({ role: 'admin' }),
          headers: { ...admin(), 'content-type': 'application/json' },
        }),
        status: 400,
        code: 'INVALID_REQUEST',
        mentions: 'path.userId',
      },
      {
        name: "revoking another user's device as a member",
        req: async () => ({
          method: 'POST',
          url: `/v1/devices/${a.devices.officer.deviceId}/revoke`,
          headers: a.devices.member.headers(),
        }),
        status: 404,
        code: 'DEVICE_NOT_FOUND',
      },
      {
        name: "revoking another org's device as a member",
        req: async () => ({
          method: 'POST',
          url: `/v1/devices/${b.devices.member.deviceId}/revoke`,
          headers: a.devices.member.headers(),
        }),
        status: 404,
        code: 'DEVICE_NOT_FOUND',
      },
      {
        name: 'revoking the calling device itself',
        req: async () => ({
          method: 'POST',
          url: `/v1/devices/${a.devices.member.deviceId}/revoke`,
          headers: a.devices.member.headers(),
        }),
        status: 400,
        code: 'INVALID_REQUEST',
        mentions: 'params.deviceId',
      },
      {
        name: 'a link code living longer than the maximum',
        req: async () => ({
          method: 'POST',
          url: '/v1/devices/link-codes',
          payload: JSON.stringify({ ttlSeconds: 3601 }),
          headers: { ...a.devices.member.headers(), ...json },
        }),
        status: 400,
        code: 'INVALID_REQUEST',
        mentions: 'ttlSeconds',
      },
    ];
    for (const c of specific) it(c.name, () => expectRefusedWithoutChange(c));

    it('link codes are rate-limited per device, and a used or revoked own device is refused clearly', async () => {
      const officer = a.devices.officer;
      const codes: string[] = [];
      for (let i = 0; i < LINK_CODES_PER_WINDOW; i++) {
        const r = await call(t.app, 'POST', '/v1/devices/link-codes', {}, officer.headers());
        expect(r.statusCode, r.body).toBe(201);
        codes.push(r.json<{ code: string }>().code);
      }
      await expectRefusedWithoutChange({
        name: 'one link code too many',
        req: async () => ({
          method: 'POST',
          url: '/v1/devices/link-codes',
          payload: '{}',
          headers: { ...officer.headers(), ...json },
        }),
        status: 429,
        code: 'RATE_LIMITED',
        mentions: 'link codes',
      });
      const linked = await enrolAndLogin(t.app, a.orgId, codes[0]!);
      expect(linked.userId).toBe(officer.userId);
      await expectRefusedWithoutChange({
        name: 'a used link code',
        req: async () => ({
          method: 'POST',
          url: `/v1/orgs/${a.orgId}/devices`,
          payload: JSON.stringify({ ...deviceKeys(1, 1).body, enrolmentCode: codes[0] }),
          headers: json,
        }),
        status: 401,
        code: 'ENROLMENT_CODE_USED',
      });
      const revoke = await call(
        t.app,
        'POST',
        `/v1/devices/${linked.deviceId}/revoke`,
        undefined,
        officer.headers(),
      );
      expect(revoke.statusCode, revoke.body).toBe(200);
      await expectRefusedWithoutChange({
        name: 'revoking an own device twice',
        req: async () => ({
          method: 'POST',
          url: `/v1/devices/${linked.deviceId}/revoke`,
          headers: officer.headers(),
        }),
        status: 409,
        code: 'DEVICE_ALREADY_REVOKED',
      });
    });

    it('bad keys in a registration are refused before the enrolment code is spent', async () => {
      const code = (
        await call(t.app, 'POST', `/v1/orgs/${a.orgId}/users/${ctx.spareUserId}/enrolment-codes`, {}, admin())
      ).json<{ enrolmentCode: string }>().enrolmentCode;
      const good = deviceKeys(1, 1).body;
      const other = deviceKeys(1, 1).body;
      const variants: [string, Record<string, unknown>, string][] = [
        [
          'identity key of the wrong type',
          { identityKey: Buffer.alloc(33).toString('base64url') },
          'body.identityKey',
        ],
        ['signed prekey signed by another key', { signedPreKey: other.signedPreKey }, 'body.signedPreKey'],
        ['Kyber prekey signed by another key', { kyberPreKeys: other.kyberPreKeys }, 'body.kyberPreKeys.0'],
        [
          'last-resort key signed by another key',
          { lastResortKyberPreKey: other.lastResortKyberPreKey },
          'body.lastResortKyberPreKey',
        ],
      ];
      for (const [name, change, field] of variants) {
        await expectRefusedWithoutChange({
          name,
          req: async () => ({
            method: 'POST',
            url: `/v1/orgs/${a.orgId}/devices`,
            payload: JSON.stringify({ ...good, ...change, enrolmentCode: code }),
            headers: json,
          }),
          status: 400,
          code: 'INVALID_KEY',
          mentions: field,
        });
      }
      // A device that reached the server under another name could never log in (it signs the
      // origin it reached): refused before the code is spent, naming the server's origin.
      await expectRefusedWithoutChange({
        name: 'a registration from a device that reached another origin',
        req: async () => ({
          method: 'POST',
          url: `/v1/orgs/${a.orgId}/devices`,
          payload: JSON.stringify({ ...good, origin: 'http://127.0.0.1:8443', enrolmentCode: code }),
          headers: json,
        }),
        status: 400,
        code: 'INVALID_REQUEST',
        mentions: `body.origin: this server takes logins for ${TEST_ORIGIN}, not http://127.0.0.1:8443`,
      });
      const ok = await call(t.app, 'POST', `/v1/orgs/${a.orgId}/devices`, {
        ...good,
        origin: TEST_ORIGIN,
        enrolmentCode: code,
      });
      expect(ok.statusCode).toBe(201);
      const again = await call(t.app, 'POST', `/v1/orgs/${a.orgId}/devices`, {
        ...deviceKeys(1, 1).body,
        enrolmentCode: code,
      });
      expect(again.json()).toMatchObject({ error: { code: 'ENROLMENT_CODE_USED' } });
    });

    it('an expired enrolment code is refused', async () => {
      // A fresh user: the spare one has a device by now (an admin's code for it is USER_HAS_DEVICE).
      const userId = await createSpareUser(t, a);
      const code = (
        await call(
          t.app,
          'POST',
          `/v1/orgs/${a.orgId}/users/${userId}/enrolment-codes`,
          { ttlSeconds: 60 },
          admin(),
        )
      ).json<{ enrolmentCode: string }>().enrolmentCode;
      await expectRefusedWithoutChange({
        name: 'expired code',
        req: async () => ({
          method: 'POST',
          url: `/v1/orgs/${a.orgId}/devices`,
          payload: JSON.stringify({ ...deviceKeys(1, 1).body, enrolmentCode: code }),
          headers: json,
        }),
        status: 401,
        code: 'ENROLMENT_CODE_EXPIRED',
        clockShift: 61_000,
      });
    });
  });
}
