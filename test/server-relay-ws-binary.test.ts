/**
 * The relay socket's binary frames (subprotocol RELAY_BINARY_PROTOCOL, core/relay-frames)
 * against a listening server: negotiation, send → envelope → ack with binary frames, mixed
 * JSON and binary peers, and a clear error (socket still usable) for malformed, oversized
 * and out-of-order frames.
 */
import { encodeRelayFrame, RELAY_BINARY_PROTOCOL } from '@custos/core';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_MAX_ENVELOPE_BYTES } from '../packages/server/src/config/messaging-defaults.js';
import { createOrgWithRoles, type TestOrg } from '../packages/server/src/testing/test-app.js';
import { TEST_BACKENDS, type TestBackend } from '../packages/server/src/testing/test-stores.js';
import { createRelayTestApp, RelayClient, type RelayTestApp } from './server-relay-support.js';

const BINARY = [RELAY_BINARY_PROTOCOL];

for (const backend of TEST_BACKENDS) {
  const title = `relay binary frames: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
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
    const sendTo = (
      to: { orgId: string; userId: string; deviceId: string },
      reqId: number,
      content: Buffer,
    ) =>
      encodeRelayFrame({
        kind: 'send',
        reqId,
        recipient: { orgId: to.orgId, userId: to.userId },
        envelopes: [{ deviceId: to.deviceId, type: 3, content }],
      });

    it('chooses the subprotocol only when offered', async () => {
      const bin = await RelayClient.connect(url, auth(member()), BINARY);
      expect(bin.ws.protocol).toBe(RELAY_BINARY_PROTOCOL);
      const json = await RelayClient.connect(url, auth(member()));
      expect(json.ws.protocol).toBe('');
      bin.close();
      json.close();
    });

    it('sends, delivers and acknowledges with binary frames; the queue ends empty', async () => {
      const to = member();
      const rx = await RelayClient.connect(url, auth(to), BINARY);
      const tx = await RelayClient.connect(url, auth(officer()), BINARY);
      const content = randomBytes(200);
      tx.sendBinary(sendTo(to, 2 ** 40, content));
      const sent = await tx.next('sent');
      expect(sent).toMatchObject({ binary: true, reqId: 2 ** 40 });
      const [e] = await rx.envelopes(1);
      expect(e).toMatchObject({
        sender: { orgId: org.orgId, userId: officer().userId, deviceId: officer().deviceId, deviceNumber: 1 },
        type: 3,
        content: content.toString('base64url'),
      });
      const result = sent.result as { envelopes: { deviceId: string; envelopeId: string }[] };
      expect(result.envelopes).toEqual([{ deviceId: to.deviceId, envelopeId: e!.id }]);
      rx.sendBinary({ kind: 'ack', reqId: 5, ids: [e!.id] });
      expect(await rx.next('acked')).toMatchObject({ binary: true, reqId: 5 });
      expect((await t.stores.relayQueue.usage(org.orgId, to.deviceId)).count).toBe(0);
      // An ack without a reqId is answered by nothing, and deletes all the same.
      tx.sendBinary(sendTo(to, 6, randomBytes(10)));
      const [f] = await rx.envelopes(1);
      rx.sendBinary({ kind: 'ack', ids: [f!.id] });
      tx.sendBinary(sendTo(to, 7, randomBytes(10)));
      const [g] = await rx.envelopes(1);
      rx.sendBinary({ kind: 'ack', reqId: 8, ids: [g!.id] });
      await rx.next('acked');
      expect(rx.frames.filter((x) => x.type === 'acked')).toEqual([]);
      expect((await t.stores.relayQueue.usage(org.orgId, to.deviceId)).count).toBe(0);
      rx.close();
      tx.close();
    });

    it('a binary sender reaches a JSON recipient and the other way round, byte for byte', async () => {
      const to = member();
      const rxJson = await RelayClient.connect(url, auth(to));
      const txBin = await RelayClient.connect(url, auth(officer()), BINARY);
      const content = randomBytes(33);
      txBin.sendBinary(sendTo(to, 11, content));
      await txBin.next('sent');
      const [e] = await rxJson.envelopes(1);
      expect(e!.content).toBe(content.toString('base64url'));
      rxJson.sendFrame({ type: 'ack', ids: [e!.id], reqId: 12 });
      expect(await rxJson.next('acked')).not.toHaveProperty('binary');
      rxJson.close();
      await rxJson.waitClosed();
      // A binary socket still takes JSON frames; its answers are binary.
      const rxBin = await RelayClient.connect(url, auth(to), BINARY);
      const txJson = await RelayClient.connect(url, auth(officer()));
      txJson.sendFrame({
        type: 'send',
        reqId: 13,
        message: {
          recipient: { orgId: to.orgId, userId: to.userId },
          envelopes: [{ deviceId: to.deviceId, type: 1, content: content.toString('base64url') }],
        },
      });
      expect(await txJson.next('sent')).not.toHaveProperty('binary');
      const [b] = await rxBin.envelopes(1);
      expect(b!.content).toBe(content.toString('base64url'));
      rxBin.sendFrame({ type: 'ack', ids: [b!.id], reqId: 14 });
      expect(await rxBin.next('acked')).toMatchObject({ binary: true, reqId: 14 });
      rxBin.close();
      txJson.close();
    });

    it('an ack naming another device’s envelope deletes nothing', async () => {
      const to = member();
      const rx = await RelayClient.connect(url, auth(to), BINARY);
      const other = await RelayClient.connect(url, auth(officer()), BINARY);
      other.sendBinary(sendTo(to, 21, randomBytes(8)));
      const [e] = await rx.envelopes(1);
      other.sendBinary({ kind: 'ack', reqId: 22, ids: [e!.id] });
      await other.next('acked');
      expect((await t.stores.relayQueue.usage(org.orgId, to.deviceId)).count).toBe(1);
      rx.sendBinary({ kind: 'ack', reqId: 23, ids: [e!.id] });
      await rx.next('acked');
      expect((await t.stores.relayQueue.usage(org.orgId, to.deviceId)).count).toBe(0);
      rx.close();
      other.close();
    });

    it('answers malformed and oversized binary frames with a clear error, and keeps serving', async () => {
      const to = member();
      const c = await RelayClient.connect(url, auth(officer()), BINARY);
      const good = sendTo(to, 31, randomBytes(16));
      const cases: [Uint8Array, RegExp][] = [
        [good.subarray(0, good.length - 3), /relay frame: ends inside envelopes\.0\.content/],
        [Buffer.concat([good, Buffer.of(1)]), /relay frame: 1 bytes after the frame's end/],
        [Buffer.of(0x81, 1, 2), /relay frame: unknown client frame kind 0x81/],
        [Buffer.of(0x02, 0x00, 0x00, 0x00), /relay frame: 0 ids, expected 1–1000/],
        [sendTo(to, 32, Buffer.alloc(RELAY_MAX_ENVELOPE_BYTES + 1)), /content bytes, at most/],
      ];
      for (const [bytes, message] of cases) {
        c.sendBinary(bytes);
        const err = await c.next('error');
        expect(err.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringMatching(message) });
      }
      const rx = await RelayClient.connect(url, auth(to), BINARY);
      c.sendBinary(sendTo(to, 33, Buffer.from('still here')));
      expect(await c.next('sent')).toMatchObject({ reqId: 33 });
      const [e] = await rx.envelopes(1);
      expect(Buffer.from(e!.content, 'base64url').toString()).toBe('still here');
      rx.sendBinary({ kind: 'ack', reqId: 34, ids: [e!.id] });
      await rx.next('acked');
      expect(c.frames.filter((f) => f.type === 'error')).toEqual([]);
      rx.close();
      c.close();
    });

    it('refuses a binary frame before auth, and binary frames on a JSON socket', async () => {
      const early = await RelayClient.connect(url, undefined, BINARY);
      early.sendBinary({ kind: 'ack', ids: [randomBytes(16).toString('base64url')] });
      expect((await early.waitClosed()).code).toBe(4001);
      const json = await RelayClient.connect(url, auth(member()));
      json.sendBinary({ kind: 'ack', ids: [randomBytes(16).toString('base64url')] });
      const err = await json.next('error');
      expect(err.error).toMatchObject({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining(RELAY_BINARY_PROTOCOL),
      });
      json.close();
    });
  });
}
