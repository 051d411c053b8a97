/**
 * Revocation closes the device's open WebSocket at once (docs/relay.md), with real sockets:
 * an admin's revocation and a user's revocation of their own other device each close that
 * device's socket with an error frame and code 4003 — without the 5 s re-check coming due
 * (the test clock never moves) — and leave other sockets open. On PostgreSQL the socket is
 * held by another API node, which closes it on the committed cross-node announcement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../packages/server/src/log/logger.js';
import { startPgWakeups } from '../packages/server/src/relay/pg-wakeups.js';
import { call, createOrgWithRoles, type TestOrg } from '../packages/server/src/testing/test-app.js';
import {
  openTestPostgres,
  openTestSqlite,
  TEST_BACKENDS,
  type TestBackend,
} from '../packages/server/src/testing/test-stores.js';
import {
  addDevice,
  createRelayTestApp,
  message,
  RelayClient,
  type RelayTestApp,
} from './server-relay-support.js';

const auth = (d: { token: string; deviceId: string }) => ({ token: d.token, deviceId: d.deviceId });

/** Expects `c` to be told DEVICE_REVOKED and closed with 4003. */
async function expectRevokedClose(c: RelayClient): Promise<void> {
  expect((await c.next('error')).error).toMatchObject({ code: 'DEVICE_REVOKED' });
  expect((await c.waitClosed()).code).toBe(4003);
}

describe('relay socket: revocation closes it at once (sqlite)', () => {
  let tb: TestBackend;
  let t: RelayTestApp;
  let org: TestOrg;
  let url: string;
  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createRelayTestApp(tb.stores);
    org = await createOrgWithRoles(t);
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await t?.app.close();
    await t?.messaging.close();
    await tb?.dispose();
  });

  it("an admin's revocation closes the device's socket; other sockets stay open", async () => {
    const start = t.clock.now;
    const victim = await RelayClient.connect(url, auth(org.devices.auditor));
    const bystander = await RelayClient.connect(url, auth(org.devices.member));
    const r = await call(
      t.app,
      'POST',
      `/v1/orgs/${org.orgId}/devices/${org.devices.auditor.deviceId}/revoke`,
      {},
      org.devices.admin.headers(),
    );
    expect(r.statusCode, r.body).toBe(200);
    await expectRevokedClose(victim);
    expect(t.clock.now).toBe(start); // no re-check came due: the revocation itself closed it
    // The other socket still receives.
    const body = message(org.devices.member, [org.devices.member.deviceId]);
    expect((await call(t.app, 'PUT', '/v1/messages', body, org.devices.officer.headers())).statusCode).toBe(
      200,
    );
    expect((await bystander.envelopes(1))[0]!.content).toBe(body.envelopes[0]!.content);
    expect(bystander.closed).toBeNull();
    bystander.close();
    await bystander.waitClosed();
  });

  it("a user's revocation of their own other device closes that device's socket", async () => {
    const member = org.devices.member;
    const second = await addDevice(t, member);
    const mine = await RelayClient.connect(url, auth(member));
    const lost = await RelayClient.connect(url, auth(second));
    const r = await call(t.app, 'POST', `/v1/devices/${second.deviceId}/revoke`, {}, member.headers());
    expect(r.statusCode, r.body).toBe(200);
    await expectRevokedClose(lost);
    expect(mine.closed).toBeNull();
    // A revoked device cannot open a socket again either.
    const again = await RelayClient.connect(url);
    again.sendFrame({ type: 'auth', token: second.token, deviceId: second.deviceId });
    await expectRevokedClose(again);
    mine.close();
    await mine.waitClosed();
  });
});

const pg = TEST_BACKENDS.find((b) => b.name === 'postgres')!;
describe.skipIf(pg.skip !== null)(
  `relay socket: revocation on one node closes the socket on another (postgres${pg.skip === null ? '' : `, skipped: ${pg.skip}`})`,
  () => {
    let tb: TestBackend;
    let a: RelayTestApp;
    let b: RelayTestApp;
    let org: TestOrg;
    let urlB: string;
    let wakeupsB: { close(): Promise<void> };
    beforeAll(async () => {
      tb = await openTestPostgres();
      a = await createRelayTestApp(tb.stores);
      org = await createOrgWithRoles(a);
      b = await createRelayTestApp(tb.stores);
      if (tb.config.kind !== 'postgres') throw new Error('expected a PostgreSQL store');
      wakeupsB = await startPgWakeups(tb.config.url, b.messaging.hub, silentLogger);
      urlB = await b.app.listen({ host: '127.0.0.1', port: 0 });
    });
    afterAll(async () => {
      await wakeupsB?.close();
      for (const x of [a, b]) {
        await x?.app.close();
        await x?.messaging.close();
      }
      await tb?.dispose();
    });

    it('closes the socket held by node B when node A revokes the device', async () => {
      const victim = await RelayClient.connect(urlB, auth(org.devices.auditor));
      const r = await call(
        a.app,
        'POST',
        `/v1/orgs/${org.orgId}/devices/${org.devices.auditor.deviceId}/revoke`,
        {},
        org.devices.admin.headers(),
      );
      expect(r.statusCode, r.body).toBe(200);
      await expectRevokedClose(victim);
    });
  },
);
