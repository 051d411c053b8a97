/**
 * The socket's revocation re-check on the in-memory push path: envelopes a batch just
 * committed count as a check (the batch addressed the device, so it was current then); when
 * the re-check is due for envelopes handed over without that, they are held until the device
 * read passes (then pushed, in order), and never pushed to a device found revoked. Time moves
 * with the test clock, not by waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WS_DEVICE_RECHECK_MS } from '../packages/server/src/config/messaging-defaults.js';
import type { DeviceId } from '../packages/server/src/ids.js';
import type { EnvelopeId, QueuedEnvelope } from '../packages/server/src/store/messaging-records.js';
import { call, createOrgWithRoles, type TestOrg } from '../packages/server/src/testing/test-app.js';
import { openTestSqlite, type TestBackend } from '../packages/server/src/testing/test-stores.js';
import { createRelayTestApp, message, RelayClient, type RelayTestApp } from './server-relay-support.js';

describe('relay socket: revocation re-check on the in-memory push path', () => {
  let tb: TestBackend;
  let t: RelayTestApp;
  let org: TestOrg;
  let url: string;
  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createRelayTestApp(tb.stores);
    t.clock.now = Date.now();
    org = await createOrgWithRoles(t);
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await t?.app.close();
    await t?.messaging.close();
    await tb?.dispose();
  });

  const auth = (d: { token: string; deviceId: string }) => ({ token: d.token, deviceId: d.deviceId });

  /** An envelope from the officer to `deviceId`, as a batch hands it to the hub once committed. */
  const committedTo = (deviceId: DeviceId, envelopeId: string, content: string): QueuedEnvelope => ({
    orgId: org.orgId,
    envelopeId: envelopeId as EnvelopeId,
    recipientDeviceId: deviceId,
    sender: {
      orgId: org.orgId,
      userId: org.devices.officer.userId,
      deviceId: org.devices.officer.deviceId,
      deviceNumber: 1,
    },
    type: 3,
    content: Buffer.from(content),
    createdAt: t.clock.now,
    expiresAt: t.clock.now + 60_000,
  });

  /** Counts reads of `deviceId` through the reader the socket's re-check uses, while `fn` runs. */
  async function deviceReads(deviceId: string, fn: () => Promise<void>): Promise<number> {
    const devices = (tb.stores.committed ?? tb.stores).devices;
    const get = devices.get;
    let reads = 0;
    devices.get = (orgId, id) => {
      if (id === deviceId) reads += 1;
      return get.call(devices, orgId, id);
    };
    try {
      await fn();
    } finally {
      devices.get = get;
    }
    return reads;
  }

  it('counts the batch that queued envelopes as the re-check: pushed at once, in order, without a device read', async () => {
    const to = org.devices.member;
    const c = await RelayClient.connect(url, auth(to));
    t.clock.now += WS_DEVICE_RECHECK_MS + 1;
    const sent: string[] = [];
    const reads = await deviceReads(to.deviceId, async () => {
      for (let i = 0; i < 3; i++) {
        const body = message(to, [to.deviceId]);
        sent.push(body.envelopes[0]!.content);
        expect(
          (await call(t.app, 'PUT', '/v1/messages', body, org.devices.officer.headers())).statusCode,
        ).toBe(200);
      }
      const got = await c.envelopes(3);
      expect(got.map((e) => e.content)).toEqual(sent);
      c.sendFrame({ type: 'ack', ids: got.map((e) => e.id), reqId: 1 });
      await c.next('acked');
    });
    expect(reads).toBe(0);
    c.close();
    await c.waitClosed();
  });

  it('holds envelopes handed over without a check while the re-check is due, and pushes them, in order, once it passes', async () => {
    const to = org.devices.admin;
    const c = await RelayClient.connect(url, auth(to));
    t.clock.now += WS_DEVICE_RECHECK_MS + 1;
    const envelopes = ['a', 'b', 'c'].map((n, i) =>
      committedTo(to.deviceId, `AAAAAAAAAAAAAAAAAAAAA${'AQg'[i]}`, n),
    );
    const reads = await deviceReads(to.deviceId, async () => {
      t.messaging.hub.deliver(org.orgId, to.deviceId, envelopes.slice(0, 1));
      t.messaging.hub.deliver(org.orgId, to.deviceId, envelopes.slice(1));
      const got = await c.envelopes(3);
      expect(got.map((e) => Buffer.from(e.content, 'base64url').toString())).toEqual(['a', 'b', 'c']);
    });
    expect(reads).toBe(1);
    c.close();
    await c.waitClosed();
  });

  it('pushes an envelope committed while a queue read of its socket ran, which that read missed (before: left queued)', async () => {
    const to = org.devices.member;
    const relay = t.messaging.relay;
    const pending = relay.pending.bind(relay);
    // The socket's first queue read (at authentication) is read at once, then held: an
    // envelope is committed meanwhile, its push refused because that read runs.
    let read!: () => void;
    const wasRead = new Promise<void>((r) => (read = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let reads = 0;
    relay.pending = async (orgId, deviceId, limit) => {
      const rows = await pending(orgId, deviceId, limit);
      if (deviceId === to.deviceId && reads++ === 0) {
        read();
        await released;
      }
      return rows;
    };
    try {
      const connecting = RelayClient.connect(url, auth(to));
      await wasRead;
      const body = message(to, [to.deviceId]);
      expect((await call(t.app, 'PUT', '/v1/messages', body, org.devices.officer.headers())).statusCode).toBe(
        200,
      );
      release();
      const c = await connecting;
      const got = await c.envelopes(1, 3_000);
      expect(got.map((e) => e.content)).toEqual([body.envelopes[0]!.content]);
      expect(reads).toBe(2);
      c.sendFrame({ type: 'ack', ids: got.map((e) => e.id), reqId: 1 });
      await c.next('acked');
      c.close();
      await c.waitClosed();
    } finally {
      relay.pending = pending;
    }
  });

  it('pushes nothing to a device revoked since the last check, and closes its socket', async () => {
    const victim = org.devices.auditor;
    const c = await RelayClient.connect(url, auth(victim));
    t.clock.now += WS_DEVICE_RECHECK_MS + 1;
    const orgId = org.orgId;
    const deviceId = victim.deviceId;
    await tb.stores.devices.revoke(orgId, deviceId, t.clock.now);
    // An envelope committed just before the revocation, handed to the socket just after it.
    const committed = committedTo(deviceId, 'AAAAAAAAAAAAAAAAAAAAAA', 'secret');
    t.messaging.hub.deliver(orgId, deviceId, [committed]);
    expect((await c.next('error')).error).toMatchObject({ code: 'DEVICE_REVOKED' });
    expect((await c.waitClosed()).code).toBe(4003);
    expect(c.frames.filter((f) => f.type === 'envelope')).toEqual([]);
  });
});
