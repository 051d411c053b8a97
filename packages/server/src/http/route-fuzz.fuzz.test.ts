/**
 * Route fuzzing (threat model, "Bad input everywhere"; issue 6): every route the server
 * registers gets schema-aware random and mutated bodies, mutated path parameters and query
 * strings, and raw malformed bytes with right and wrong content types — each with a valid
 * token of a role the route allows, so requests reach validation and handlers. The server
 * never answers 5xx, every rejection is a documented 4xx naming what was wrong, the store is
 * byte-for-byte unchanged after every rejection, and the server still serves afterwards.
 *
 * Cases per route follow CUSTOS_FUZZ_RUNS (CI: 3,000 → 32 per route, SQLite only; `npm run fuzz`:
 * 1,000 per route on SQLite and 20 on PostgreSQL when CUSTOS_TEST_PG_URL is set).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Type } from 'typebox';
import { ServerError } from '../errors.js';
import { newId, type DeviceId, type OrgId, type UserId } from '../ids.js';
import { ROUTE_FIXTURES, createFixtureOrg, type FixtureContext } from '../testing/route-fixtures.js';
import { routeFuzzArbitrary, type IdPool } from '../testing/route-fuzz-cases.js';
import { newTally, sendAndCheck, type FuzzFailure } from '../testing/route-fuzz-check.js';
import { openStoreWatch, type StoreWatch } from '../testing/store-watch.js';
import {
  createOrgWithRoles,
  createTestApp,
  appWithRoutes,
  type TestApp,
  type TestOrg,
} from '../testing/test-app.js';
import type { Stores } from '../store/stores.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import { defineRoute, PUBLIC } from './route-def.js';
import { ALL_ROUTES } from './routes/index.js';

const RUNS = Number(process.env.CUSTOS_FUZZ_RUNS ?? 3000);
/** Requests per route: 32 in CI, up to 1,000 in a long run (`npm run fuzz`). */
const PER_ROUTE = Math.max(32, Math.min(1000, Math.floor(RUNS / 100)));
/** Long runs only: below this budget PostgreSQL is skipped (it dumps every table twice per request). */
const PG_MIN_RUNS = 100_000;
/** PostgreSQL requests per route in a long run. */
const PER_ROUTE_PG = Math.max(4, Math.floor(PER_ROUTE / 50));

function skipReason(backend: (typeof TEST_BACKENDS)[number]): string | null {
  if (backend.skip !== null) return backend.skip;
  if (backend.name === 'postgres' && RUNS < PG_MIN_RUNS) {
    return `PostgreSQL route fuzzing runs in \`npm run fuzz\` only (CUSTOS_FUZZ_RUNS >= ${PG_MIN_RUNS})`;
  }
  return null;
}

/** Failures listed per route before the rest are only counted. */
const MAX_REPORTED = 8;

/**
 * Ids for path and query parameters. Reads may name anyone; requests that can change state
 * never name org A's role devices and users — a fuzzed but valid "revoke" or "set role" would
 * otherwise take away the very tokens the rest of the run authenticates with.
 */
function idPools(a: TestOrg, b: TestOrg, spare: UserId): { read: IdPool; write: IdPool } {
  const unknown = [newId<OrgId>(), newId<UserId>(), newId<DeviceId>(), '0', '00000000000000000000000000'];
  const ids = (o: TestOrg) => [o.orgId, ...Object.values(o.devices).flatMap((d) => [d.userId, d.deviceId])];
  const write = [a.orgId, ...ids(b), spare, ...unknown];
  return { read: { known: [...ids(a), ...write] }, write: { known: write } };
}

for (const backend of TEST_BACKENDS) {
  const perRoute = backend.name === 'sqlite' ? PER_ROUTE : PER_ROUTE_PG;
  const skip = skipReason(backend);
  const title = `route fuzzing: ${backend.name}, ${perRoute} requests per route${skip === null ? '' : ` (skipped: ${skip})`}`;
  describe.skipIf(skip !== null)(title, () => {
    let tb: TestBackend;
    let t: TestApp;
    let ctx: FixtureContext;
    let other: TestOrg;
    let watch: StoreWatch;
    let pools: { read: IdPool; write: IdPool };
    const totals = newTally();

    beforeAll(async () => {
      tb = await backend.open();
      t = await createTestApp(tb.stores);
      ctx = await createFixtureOrg(t);
      other = await createOrgWithRoles(t, false);
      pools = idPools(ctx.org, other, ctx.spareUserId);
      watch = openStoreWatch(tb.config);
    });
    afterAll(async () => {
      await watch?.close();
      await t?.app.close();
      await tb?.dispose();
    });

    it('the store watch sees a planted write, and the check reports it for a rejected request', async () => {
      await watch.mark();
      expect(await watch.changedTables()).toEqual([]);
      await plantUser(tb.stores, ctx.org.orgId, t.clock.now);
      expect(await watch.changedTables()).toEqual(['users']);
      // A route that writes and then refuses: the fuzzer's check must flag it.
      const planted = defineRoute({
        method: 'POST',
        url: '/planted',
        summary: 'test only',
        access: PUBLIC,
        body: Type.Object({}),
        response: { status: 200, schema: Type.Object({}) },
        errors: [],
        async handler(_input, deps) {
          await plantUser(deps.stores, ctx.org.orgId, t.clock.now);
          throw new ServerError('INVALID_REQUEST', 'body: planted refusal after a write');
        },
      });
      const app = await appWithRoutes(tb.stores, [planted], () => t.clock.now);
      try {
        const failures = await sendAndCheck(
          app,
          [planted],
          planted,
          {
            method: 'POST',
            url: '/planted',
            payload: '{}',
            contentType: 'application/json',
            what: 'planted',
          },
          {},
          watch,
          newTally(),
        );
        expect(failures.map((f) => f.problem)).toEqual([
          expect.stringContaining('rejected (INVALID_REQUEST) but the store changed: users'),
        ]);
      } finally {
        await app.close();
      }
    });

    for (const route of ALL_ROUTES) {
      const key = `${route.method} ${route.url}`;
      it(`${key}: never 5xx, documented 4xx, store unchanged on rejection`, async () => {
        const fixture = ROUTE_FIXTURES[key];
        expect(fixture, `no fixture for ${key} (route-fixtures.ts)`).toBeDefined();
        const caller =
          route.access.kind === 'device' ? ctx.org.devices[route.access.roles[0]!] : ctx.org.devices.member;
        const seedReq = await fixture!(ctx, caller);
        // A fixture that names its own device (retire: a second device of the caller's user)
        // is fuzzed as that device, as the matrix sends it: as the caller it would retire the
        // caller, and every later route's fixture would meet DEVICE_REVOKED.
        const headers = route.access.kind === 'device' ? (seedReq.headers ?? caller.headers()) : {};
        const requests = fc.sample(
          routeFuzzArbitrary(route, seedReq, route.method === 'GET' ? pools.read : pools.write),
          {
            numRuns: perRoute,
            seed: hashSeed(key),
          },
        );
        const failures: FuzzFailure[] = [];
        let more = 0;
        for (const req of requests) {
          const found = await sendAndCheck(t.app, ALL_ROUTES, route, req, headers, watch, totals);
          if (failures.length < MAX_REPORTED) failures.push(...found);
          else more += found.length;
        }
        expect({ failures, more }).toEqual({ failures: [], more: 0 });
      });
    }

    it('the server still serves, nothing polluted Object.prototype, and every route was reached', async () => {
      const health = await t.app.inject({ method: 'GET', url: '/healthz' });
      expect(health.statusCode).toBe(200);
      const session = await t.app.inject({
        method: 'GET',
        url: '/v1/session',
        headers: ctx.org.devices.member.headers(),
      });
      expect(session.statusCode, session.body).toBe(200);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
      // Requests went deeper than validation: some were accepted, many codes were seen.
      expect(totals.sent).toBe(ALL_ROUTES.length * perRoute);
      expect(totals.accepted).toBeGreaterThan(0);
      expect(totals.codes.size).toBeGreaterThan(10);
      console.info(
        `route fuzzing (${backend.name}): ${totals.sent} requests, ${totals.accepted} accepted, ${totals.rejected} rejected; codes ${JSON.stringify(Object.fromEntries(totals.codes))}`,
      );
    });
  });
}

/** Writes one new user: the planted change the checks must notice. */
async function plantUser(stores: Stores, orgId: OrgId, now: number): Promise<void> {
  await stores.users.create(orgId, {
    userId: newId<UserId>(),
    role: 'member',
    retentionClass: 'standard',
    createdAt: now,
  });
}

/** A stable per-route seed, so a failure replays with the same requests. */
function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
