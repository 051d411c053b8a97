/**
 * Delivery over /v1/ws with a real `ws` client against a listening server: push in order,
 * acknowledge, delete; redelivery of everything unacknowledged on reconnect; first-frame
 * authentication; sends over the socket; revocation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createOrgWithRoles, type TestOrg } from '../packages/server/src/testing/test-app.js';
import { TEST_BACKENDS, type TestBackend } from '../packages/server/src/testing/test-stores.js';
import { createRelayTestApp, message, RelayClient, type RelayTestApp } from './server-relay-support.js';

for (const backend of TEST_BACKENDS) {
  const title = `relay over WebSocket: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let t: RelayTestApp;
    let org: TestOrg;
    let url: string;
    beforeAll(async () => {
      tb = await backend.open();
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

    const member = () => org.devices.member;
    const officer = () => org.devices.officer;
    const auth = (d: { token: string; deviceId: string }) => ({ token: d.token, deviceId: d.deviceId });

    it('pushes queued envelopes in order, deletes on ack, pushes nothing acknowledged again', async () => {
      const to = member();
      const sent: string[] = [];
      for (let i = 0; i < 5; i++) {
        const body = message(to, [to.deviceId]);
        sent.push(body.envelopes[0]!.content);
        const r = await call(t.app, 'PUT', '/v1/messages', body, officer().headers());
        expect(r.statusCode).toBe(200);
      }
      const c = await RelayClient.connect(url, auth(to));
      const got = await c.envelopes(5);
      expect(got.map((e) => e.content)).toEqual(sent);
      c.sendFrame({ type: 'ack', ids: got.map((e) => e.id), reqId: 1 });
      await c.next('acked');
      c.close();
      await c.waitClosed();
      const again = await RelayClient.connect(url, auth(to));
      const more = await call(t.app, 'PUT', '/v1/messages', message(to, [to.deviceId]), officer().headers());
      expect(more.statusCode).toBe(200);
      const [only] = await again.envelopes(1);
      expect(got.map((e) => e.id)).not.toContain(only!.id);
      again.sendFrame({ type: 'ack', ids: [only!.id], reqId: 2 });
      await again.next('acked');
      again.close();
      expect((await t.stores.relayQueue.usage(org.orgId, to.deviceId)).count).toBe(0);
    });

    it('redelivers every unacknowledged envelope on reconnect', async () => {
      const to = member();
      const c = await RelayClient.connect(url, auth(to));
      for (let i = 0; i < 4; i++) {
        await call(t.app, 'PUT', '/v1/messages', message(to, [to.deviceId]), officer().headers());
      }
      const first = await c.envelopes(4);
      c.sendFrame({ type: 'ack', ids: [first[1]!.id], reqId: 7 });
      await c.next('acked');
      c.close();
      await c.waitClosed();
      const c2 = await RelayClient.connect(url, auth(to));
      const second = await c2.envelopes(3);
      expect(second.map((e) => e.id)).toEqual([first[0]!.id, first[2]!.id, first[3]!.id]);
      c2.sendFrame({ type: 'ack', ids: second.map((e) => e.id), reqId: 8 });
      await c2.next('acked');
      c2.close();
    });

    it("an ack deletes the device's own pushed envelopes, never another device's, whatever ids it names", async () => {
      const to = member();
      const other = officer();
      // An envelope in the officer's queue whose id the member has learned (it is the sender).
      const r = await call(t.app, 'PUT', '/v1/messages', message(other, [other.deviceId]), to.headers());
      expect(r.statusCode).toBe(200);
      const foreign = r.json<{ envelopes: { envelopeId: string }[] }>().envelopes[0]!.envelopeId;
      await call(t.app, 'PUT', '/v1/messages', message(to, [to.deviceId]), other.headers());
      const c = await RelayClient.connect(url, auth(to));
      const [mine] = await c.envelopes(1);
      // Pushed on this socket (one delete by id), foreign and unknown (checked delete), repeated.
      c.sendFrame({ type: 'ack', ids: [mine!.id, foreign, mine!.id, 'AAAAAAAAAAAAAAAAAAAAAA'], reqId: 3 });
      await c.next('acked');
      c.close();
      expect((await t.stores.relayQueue.usage(org.orgId, to.deviceId)).count).toBe(0);
      const theirs = await t.stores.relayQueue.pending(org.orgId, other.deviceId, Date.now(), 10);
      expect(theirs.map((e) => e.envelopeId)).toContain(foreign);
      await t.stores.relayQueue.ack(org.orgId, other.deviceId, [foreign as never]);
    });

    it('delivers live messages sent over the socket, with the sender named', async () => {
      const to = member();
      const rx = await RelayClient.connect(url, auth(to));
      const tx = await RelayClient.connect(url, auth(officer()));
      tx.sendFrame({ type: 'send', reqId: 42, message: message(to, [to.deviceId]) });
      const sent = await tx.next('sent');
      expect(sent.reqId).toBe(42);
      const [e] = await rx.envelopes(1);
      expect(e).toMatchObject({
        sender: { orgId: org.orgId, userId: officer().userId, deviceId: officer().deviceId, deviceNumber: 1 },
        type: 3,
      });
      const result = sent.result as { envelopes: { envelopeId: string }[] };
      expect(result.envelopes[0]!.envelopeId).toBe(e!.id);
      // A mismatched send over the socket answers an error frame with the lists.
      tx.sendFrame({ type: 'send', reqId: 43, message: message(to, [officer().deviceId]) });
      const err = await tx.next('error');
      expect(err).toMatchObject({
        reqId: 43,
        error: {
          code: 'MISMATCHED_DEVICES',
          details: { missing: [to.deviceId], stale: [officer().deviceId] },
        },
      });
      rx.sendFrame({ type: 'ack', ids: [e!.id], reqId: 1 });
      await rx.next('acked');
      rx.close();
      tx.close();
    });

    it('refuses a socket whose first frame is not a valid auth frame, or whose token is wrong', async () => {
      const a = await RelayClient.connect(url);
      a.sendFrame({ type: 'ack', ids: ['x'] });
      expect((await a.waitClosed()).code).toBe(4001);
      const b = await RelayClient.connect(url);
      b.sendFrame({ type: 'auth', token: `${member().token}x`, deviceId: member().deviceId });
      expect((await b.next('error')).error).toMatchObject({ code: 'TOKEN_INVALID' });
      expect((await b.waitClosed()).code).toBe(4001);
      const c = await RelayClient.connect(url);
      c.sendFrame({ type: 'auth', token: member().token, deviceId: officer().deviceId });
      expect((await c.next('error')).error).toMatchObject({ code: 'TOKEN_DEVICE_MISMATCH' });
      const d = await RelayClient.connect(url);
      d.ws.send('not json');
      expect((await d.waitClosed()).code).toBe(4001);
    });

    it('tells a device with few one-time prekeys to upload more', async () => {
      // Test devices enrol with one one-time key and one Kyber key: below the threshold.
      const c = await RelayClient.connect(url, auth(member()));
      expect(await c.next('prekeys-low')).toMatchObject({ oneTime: expect.any(Number), threshold: 20 });
      c.close();
    });

    it('closes the socket of a revoked device and refuses its sends', async () => {
      const victim = org.devices.auditor;
      const c = await RelayClient.connect(url, auth(victim));
      const r = await call(
        t.app,
        'POST',
        `/v1/orgs/${org.orgId}/devices/${victim.deviceId}/revoke`,
        undefined,
        org.devices.admin.headers(),
      );
      expect(r.statusCode).toBe(200);
      c.sendFrame({ type: 'send', reqId: 1, message: message(member(), [member().deviceId]) });
      expect((await c.next('error')).error).toMatchObject({ code: 'DEVICE_REVOKED' });
      c.close();
    });
  });
}
