/**
 * The prekey, relay and blob routes through app.inject, on SQLite and PostgreSQL: the happy
 * paths, one-time prekeys never served twice under concurrent fetches, the mismatched-devices
 * answer, receipts in the log, and each class of bad input answered with a clear 4xx while
 * the store (tables and blob files) stays exactly as it was.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  createOrgWithRoles,
  type TestDevice,
  type TestOrg,
} from '../packages/server/src/testing/test-app.js';
import {
  openSnapshotter,
  type StoreSnapshotter,
  TEST_BACKENDS,
  type TestBackend,
} from '../packages/server/src/testing/test-stores.js';
import { addDevice, createRelayTestApp, message, type RelayTestApp } from './server-relay-support.js';

/** Every file under a folder with its size (blob files included in the "no state change" checks). */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(`${p}:${statSync(p).size}`);
    }
  };
  walk(dir);
  return out.sort();
}

for (const backend of TEST_BACKENDS) {
  const title = `prekey, relay and blob routes: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let t: RelayTestApp;
    let a: TestOrg;
    let b: TestOrg;
    let alice2: TestDevice;
    let snap: StoreSnapshotter;
    beforeAll(async () => {
      tb = await backend.open();
      snap = openSnapshotter(tb.config);
      t = await createRelayTestApp(tb.stores, { blobQuotaBytes: 4096 });
      a = await createOrgWithRoles(t);
      b = await createOrgWithRoles(t, false);
      alice2 = await addDevice(t, a.devices.member);
    });
    afterAll(async () => {
      await t?.app.close();
      await t?.messaging.close();
      await snap?.close();
      await tb?.dispose();
    });

    const alice = () => a.devices.member;
    const bob = () => a.devices.officer;
    const carol = () => b.devices.member;

    /** The blob folder (SQLite); PostgreSQL keeps blobs in a table, covered by the snapshot. */
    const blobDir = (): string =>
      tb.config.kind === 'sqlite' ? join(dirname(tb.config.path), 'blobs') : '/nonexistent';

    /** Runs `fn` and checks that no table row and no blob file changed. */
    async function unchanged(fn: () => Promise<void>): Promise<void> {
      const before = await snap.snapshot();
      const files = listFiles(blobDir());
      await fn();
      await t.messaging.relay.idle();
      expect(await snap.snapshot()).toBe(before);
      expect(listFiles(blobDir())).toEqual(files);
    }

    it('sends to every device of a user in another organisation, with receipts in both logs', async () => {
      t.receipts.length = 0;
      const r = await call(
        t.app,
        'PUT',
        '/v1/messages',
        message(carol(), [carol().deviceId]),
        bob().headers(),
      );
      expect(r.statusCode).toBe(200);
      expect(r.json<{ envelopes: unknown[] }>().envelopes).toHaveLength(1);
      expect(t.receipts.map((x) => x.orgId).sort()).toEqual([a.orgId, b.orgId].sort());
      const got = await call(t.app, 'GET', '/v1/messages', undefined, carol().headers());
      const env = got.json<{ envelopes: { id: string; sender: { orgId: string } }[]; more: boolean }>();
      expect(env.envelopes).toHaveLength(1);
      expect(env.envelopes[0]!.sender.orgId).toBe(a.orgId);
      const del = await call(
        t.app,
        'DELETE',
        `/v1/messages/${env.envelopes[0]!.id}`,
        undefined,
        carol().headers(),
      );
      expect(del.statusCode).toBe(200);
      const again = await call(
        t.app,
        'DELETE',
        `/v1/messages/${env.envelopes[0]!.id}`,
        undefined,
        carol().headers(),
      );
      expect(again.json()).toMatchObject({ error: { code: 'ENVELOPE_NOT_FOUND' } });
    });

    it('a keyed send repeated gets the first answer and stores nothing; the key with other envelopes is refused', async () => {
      t.receipts.length = 0;
      const keyed = {
        ...message(carol(), [carol().deviceId]),
        idempotencyKey: randomBytes(16).toString('base64url'),
      };
      const send = (body: unknown, from = bob()) => call(t.app, 'PUT', '/v1/messages', body, from.headers());
      const first = await send(keyed);
      expect(first.statusCode).toBe(200);
      t.clock.now += 1000;
      await unchanged(async () => {
        // The answer was lost: the same envelopes under the same key.
        const again = await send(keyed);
        expect([again.statusCode, again.json()]).toEqual([200, first.json()]);
        const other = await send({ ...keyed, envelopes: message(carol(), [carol().deviceId]).envelopes });
        expect([other.statusCode, other.json<{ error: { code: string } }>().error.code]).toEqual([
          409,
          'IDEMPOTENCY_KEY_REUSED',
        ]);
        const padded = await send({ ...keyed, idempotencyKey: `${keyed.idempotencyKey.slice(0, 21)}B` });
        expect(padded.json()).toMatchObject({
          error: {
            code: 'INVALID_REQUEST',
            message: 'message.idempotencyKey: not canonical unpadded base64url',
          },
        });
      });
      expect(t.receipts.map((x) => x.orgId).sort()).toEqual([a.orgId, b.orgId].sort());
      // The same key from another device is that device's own send.
      expect((await send(keyed, alice())).statusCode).toBe(200);
      const got = await call(t.app, 'GET', '/v1/messages', undefined, carol().headers());
      const ids = got.json<{ envelopes: { id: string }[] }>().envelopes.map((e) => e.id);
      expect(ids).toHaveLength(2);
      for (const id of ids) await call(t.app, 'DELETE', `/v1/messages/${id}`, undefined, carol().headers());
    });

    it('envelope ids begin with their creation time; only the recipient device can delete one', async () => {
      const sent: { id: string; at: number }[] = [];
      for (const step of [0, 1, 1_000, 60_000]) {
        t.clock.now += step;
        const r = await call(
          t.app,
          'PUT',
          '/v1/messages',
          message(carol(), [carol().deviceId]),
          bob().headers(),
        );
        expect(r.statusCode).toBe(200);
        sent.push({
          id: r.json<{ envelopes: { envelopeId: string }[] }>().envelopes[0]!.envelopeId,
          at: t.clock.now,
        });
      }
      const bytes = sent.map((x) => Buffer.from(x.id, 'base64url'));
      for (const [i, b] of bytes.entries()) {
        expect(b).toHaveLength(16);
        expect(b.readUIntBE(0, 6)).toBe(sent[i]!.at);
      }
      // Later ids sort later (the queue's id index grows at its right edge, migration 16).
      expect([...bytes].sort((x, y) => Buffer.compare(x, y))).toEqual(bytes);
      // Ids of one millisecond still differ in their random part.
      expect(new Set(sent.map((x) => x.id.slice(8))).size).toBe(sent.length);
      // Another device of the org cannot delete them, even knowing the ids.
      for (const x of sent) {
        const other = await call(t.app, 'DELETE', `/v1/messages/${x.id}`, undefined, bob().headers());
        expect(other.json()).toMatchObject({ error: { code: 'ENVELOPE_NOT_FOUND' } });
      }
      const acked = await Promise.all(
        sent.map((x) => call(t.app, 'DELETE', `/v1/messages/${x.id}`, undefined, carol().headers())),
      );
      expect(acked.map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
    });

    it('lists missing and stale devices and stores nothing', async () => {
      await unchanged(async () => {
        // Alice has two devices; bob addresses one of them plus a device of another user.
        const r = await call(
          t.app,
          'PUT',
          '/v1/messages',
          message(alice(), [alice().deviceId, carol().deviceId]),
          bob().headers(),
        );
        expect(r.statusCode).toBe(409);
        expect(r.json()).toMatchObject({
          error: {
            code: 'MISMATCHED_DEVICES',
            details: { missing: [alice2.deviceId], stale: [carol().deviceId] },
          },
        });
        // Sync copies: writing to oneself must address one's other devices, never the sending device.
        const self = await call(
          t.app,
          'PUT',
          '/v1/messages',
          message(alice(), [alice().deviceId]),
          alice().headers(),
        );
        expect(self.json()).toMatchObject({
          error: { details: { missing: [alice2.deviceId], stale: [alice().deviceId] } },
        });
      });
      const ok = await call(
        t.app,
        'PUT',
        '/v1/messages',
        message(alice(), [alice2.deviceId]),
        alice().headers(),
      );
      expect(ok.statusCode).toBe(200);
    });

    it('refuses bad messages with a clear 4xx and no state change', async () => {
      const to = [alice().deviceId, alice2.deviceId];
      const good = () => message(alice(), to);
      const cases: { body: unknown; status: number; code: string; raw?: string }[] = [
        { body: null, raw: '{"recipient":', status: 400, code: 'MALFORMED_JSON' },
        { body: { ...good(), extra: 1 }, status: 400, code: 'INVALID_REQUEST' },
        { body: { ...good(), envelopes: [] }, status: 400, code: 'INVALID_REQUEST' },
        {
          body: { recipient: { orgId: 5, userId: alice().userId }, envelopes: good().envelopes },
          status: 400,
          code: 'INVALID_REQUEST',
        },
        {
          body: { ...good(), envelopes: good().envelopes.map((e) => ({ ...e, content: `${e.content}=` })) },
          status: 400,
          code: 'INVALID_REQUEST',
        },
        {
          body: { ...good(), envelopes: [good().envelopes[0]!, good().envelopes[0]!] },
          status: 400,
          code: 'INVALID_REQUEST',
        },
        {
          body: message({ orgId: b.orgId, userId: alice().userId }, to),
          status: 404,
          code: 'USER_NOT_FOUND',
        },
      ];
      await unchanged(async () => {
        for (const c of cases) {
          const r = await t.app.inject({
            method: 'PUT',
            url: '/v1/messages',
            headers: { ...bob().headers(), 'content-type': 'application/json' },
            payload: c.raw ?? JSON.stringify(c.body),
          });
          expect([r.statusCode, r.json<{ error: { code: string } }>().error.code]).toEqual([
            c.status,
            c.code,
          ]);
        }
        const big = await t.app.inject({
          method: 'PUT',
          url: '/v1/messages',
          headers: { ...bob().headers(), 'content-type': 'application/json' },
          payload: JSON.stringify(message(alice(), to, 1_100_000)),
        });
        expect(big.statusCode).toBe(413);
        const anon = await call(t.app, 'PUT', '/v1/messages', good());
        expect(anon.json()).toMatchObject({ error: { code: 'AUTH_REQUIRED' } });
        const otherDevice = await call(t.app, 'PUT', '/v1/messages', good(), {
          ...bob().headers(),
          'custos-device': carol().deviceId,
        });
        expect(otherDevice.json()).toMatchObject({ error: { code: 'TOKEN_DEVICE_MISMATCH' } });
        // Another device cannot acknowledge alice's envelopes.
        const own = await call(t.app, 'GET', '/v1/messages', undefined, alice2.headers());
        const id = own.json<{ envelopes: { id: string }[] }>().envelopes[0]?.id ?? 'A'.repeat(22);
        const foreign = await call(t.app, 'DELETE', `/v1/messages/${id}`, undefined, carol().headers());
        expect(foreign.json()).toMatchObject({ error: { code: 'ENVELOPE_NOT_FOUND' } });
        const badId = await call(t.app, 'DELETE', '/v1/messages/..%2F..', undefined, carol().headers());
        expect(badId.statusCode).toBe(400);
      });
    });

    it('refuses a message to a full queue', async () => {
      const small = await createRelayTestApp(tb.stores, {
        relay: { ...t.messaging.settings.relay, maxQueueEnvelopes: 1 },
      });
      const first = await call(
        small.app,
        'PUT',
        '/v1/messages',
        message(carol(), [carol().deviceId]),
        bob().headers(),
      );
      expect(first.statusCode).toBe(200);
      await unchanged(async () => {
        const r = await call(
          small.app,
          'PUT',
          '/v1/messages',
          message(carol(), [carol().deviceId]),
          bob().headers(),
        );
        expect(r.statusCode).toBe(507);
        expect(r.json()).toMatchObject({
          error: { code: 'QUEUE_FULL', details: { deviceId: carol().deviceId } },
        });
      });
      await small.app.close();
    });

    it('never serves a one-time prekey twice under concurrent bundle fetches', async () => {
      const target = b.devices.officer;
      const status = await call(t.app, 'GET', '/v1/prekeys', undefined, target.headers());
      expect(status.json()).toMatchObject({ oneTime: 1, low: true, threshold: 20 });
      const fetches = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          call(
            t.app,
            'GET',
            `/v1/prekey-bundles/${b.orgId}/${target.userId}`,
            undefined,
            [alice(), bob(), carol(), alice2][i % 4]!.headers(),
          ),
        ),
      );
      const bundles = fetches.map(
        (f) =>
          f.json<{ devices: { oneTimePreKey: { keyId: number } | null; kyberPreKey: { keyId: number } }[] }>()
            .devices[0]!,
      );
      expect(bundles.filter((x) => x.oneTimePreKey !== null)).toHaveLength(1);
      // One one-time Kyber key, then the last-resort key (id 1000 in the test devices) for everyone else.
      expect(bundles.map((x) => x.kyberPreKey.keyId).sort((p, q) => p - q)).toEqual([
        1,
        ...Array(7).fill(1000),
      ]);
      const after = await call(t.app, 'GET', '/v1/prekeys', undefined, target.headers());
      expect(after.json()).toMatchObject({ oneTime: 0, kyber: 0, lastResortKyberPreKey: true, low: true });
    });

    it('replenishes prekeys with checked signatures; a bad signature changes nothing', async () => {
      const { PrivateKey } = await import('@signalapp/libsignal-client');
      const me = b.devices.auditor;
      const ec = () => PrivateKey.generate().getPublicKey().serialize();
      const body = {
        oneTimePreKeys: Array.from({ length: 25 }, (_, i) => ({
          keyId: 100 + i,
          publicKey: Buffer.from(ec()).toString('base64url'),
        })),
      };
      const ok = await call(t.app, 'PUT', '/v1/prekeys', body, me.headers());
      expect(ok.json()).toMatchObject({ oneTime: 26, low: true });
      const spk = ec();
      const forged = {
        signedPreKey: {
          keyId: 9,
          publicKey: Buffer.from(spk).toString('base64url'),
          signature: Buffer.from(PrivateKey.generate().sign(spk)).toString('base64url'),
        },
      };
      await unchanged(async () => {
        const r = await call(t.app, 'PUT', '/v1/prekeys', forged, me.headers());
        expect(r.json()).toMatchObject({ error: { code: 'INVALID_KEY' } });
        const dup = await call(
          t.app,
          'PUT',
          '/v1/prekeys',
          { oneTimePreKeys: [body.oneTimePreKeys[0], body.oneTimePreKeys[0]] },
          me.headers(),
        );
        expect(dup.json()).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
        const unknownUser = await call(
          t.app,
          'GET',
          `/v1/prekey-bundles/${b.orgId}/${alice().userId}`,
          undefined,
          me.headers(),
        );
        expect(unknownUser.json()).toMatchObject({ error: { code: 'USER_NOT_FOUND' } });
      });
    });

    it("names the peer's organisation and its archive policy with a bundle (F17)", async () => {
      const peer = b.devices.auditor;
      for (const url of [
        `/v1/prekey-bundles/${b.orgId}/${peer.userId}`,
        `/v1/prekey-bundles/${b.orgId}/${peer.userId}/${peer.deviceId}`,
      ]) {
        const r = await call(t.app, 'GET', url, undefined, alice().headers());
        expect(r.statusCode).toBe(200);
        // Seeded without a signed statement: such an org archives.
        expect(r.json<{ org: unknown }>().org).toEqual({ name: 'Other Agency', archivePolicy: 'required' });
      }
    });

    it('rate-limits bundle fetches per requesting device', async () => {
      const limited = await createRelayTestApp(tb.stores, {
        prekeyFetch: { burst: 2, perSecond: 0.001, maxKeys: 100 },
      });
      const url = `/v1/prekey-bundles/${a.orgId}/${bob().userId}`;
      expect((await call(limited.app, 'GET', url, undefined, carol().headers())).statusCode).toBe(200);
      expect((await call(limited.app, 'GET', url, undefined, carol().headers())).statusCode).toBe(200);
      await unchanged(async () => {
        const r = await call(limited.app, 'GET', url, undefined, carol().headers());
        expect(r.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
      });
      // Another requesting device has its own budget.
      expect((await call(limited.app, 'GET', url, undefined, alice().headers())).statusCode).toBe(200);
      await limited.app.close();
    });

    it('stores blobs by content hash, serves them to any device, enforces hash and quota', async () => {
      const content = randomBytes(3000);
      const id = createHash('sha256').update(content).digest('hex');
      const put = (body: Buffer, blobId: string, d: TestDevice, type = 'application/octet-stream') =>
        t.app.inject({
          method: 'PUT',
          url: `/v1/blobs/${blobId}`,
          headers: { ...d.headers(), 'content-type': type },
          payload: body,
        });
      const r = await put(content, id, alice());
      expect(r.json()).toEqual({ blobId: id, size: 3000, existed: false });
      expect((await put(content, id, alice2)).json()).toMatchObject({ existed: true });
      const dl = await t.app.inject({ method: 'GET', url: `/v1/blobs/${id}`, headers: carol().headers() });
      expect(dl.statusCode).toBe(200);
      expect(dl.headers['content-type']).toBe('application/octet-stream');
      expect(Buffer.from(dl.rawPayload).equals(content)).toBe(true);

      const other = randomBytes(2000);
      const otherId = createHash('sha256').update(other).digest('hex');
      await unchanged(async () => {
        expect((await put(other, id, alice())).json()).toMatchObject({
          error: { code: 'BLOB_HASH_MISMATCH' },
        });
        // 3000 + 2000 > the 4096-byte test quota.
        expect((await put(other, otherId, alice())).json()).toMatchObject({
          error: { code: 'BLOB_QUOTA_EXCEEDED' },
        });
        expect((await put(other, otherId, alice(), 'application/json')).statusCode).toBe(400);
        expect((await put(other, '../../etc/passwd', alice())).statusCode).toBeGreaterThanOrEqual(400);
        const missing = await t.app.inject({
          method: 'GET',
          url: `/v1/blobs/${otherId}`,
          headers: carol().headers(),
        });
        expect(missing.json()).toMatchObject({ error: { code: 'BLOB_NOT_FOUND' } });
        const anon = await t.app.inject({ method: 'GET', url: `/v1/blobs/${id}` });
        expect(anon.statusCode).toBe(401);
      });
      // The other org has its own quota.
      expect((await put(other, otherId, carol())).json()).toMatchObject({ existed: false });
    });
  });
}
