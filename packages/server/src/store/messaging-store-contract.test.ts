/**
 * Store contract of the messaging aggregates (relay queue, prekey claims, blobs), run against
 * SQLite always and PostgreSQL when CUSTOS_TEST_PG_URL is set.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_SEND_KEY_RETENTION_MS } from '../config/messaging-defaults.js';
import { newId, type DeviceId, type OrgId, type UserId } from '../ids.js';
import { sweepBlobs } from '../blobs/blob-service.js';
import { createMessagingServices } from '../relay/messaging-services.js';
import { createTestMember } from '../testing/test-org-row.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import type { BlobId, EnvelopeId, NewEnvelope } from './messaging-records.js';
import type { StoreBackend } from './stores.js';

interface Fixture {
  orgId: OrgId;
  userId: UserId;
  deviceIds: DeviceId[];
}

async function seed(s: StoreBackend, devices = 2): Promise<Fixture> {
  const orgId = newId<OrgId>();
  await s.orgs.create({
    orgId,
    name: 'Org',
    signingPublicKey: randomBytes(32),
    signingKeyFingerprint: 'fp',
    rootArchivePublicKey: randomBytes(32),
    keyManager: { delegation: randomBytes(10), notBefore: 1, notAfter: 2 },
    officerQuorum: 1,
    officers: [{ index: 0, publicKey: randomBytes(32) }],
    createdAt: 1,
  });
  const { userId, deviceIds } = await createTestMember(s, orgId, devices);
  return { orgId, userId, deviceIds };
}

const envId = (): EnvelopeId => randomBytes(16).toString('base64url') as EnvelopeId;

function envelope(f: Fixture, to: DeviceId, content: Buffer, expiresAt = 10_000): NewEnvelope {
  return {
    envelopeId: envId(),
    recipientDeviceId: to,
    sender: { orgId: f.orgId, userId: f.userId, deviceId: f.deviceIds[0]!, deviceNumber: 1 },
    type: 3,
    content,
    createdAt: 100,
    expiresAt,
  };
}

const blobIdOf = (b: Buffer): BlobId => createHash('sha256').update(b).digest('hex') as BlobId;

for (const backend of TEST_BACKENDS) {
  const title = `messaging store contract: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let s: StoreBackend;
    beforeAll(async () => {
      tb = await backend.open();
      s = tb.stores;
    });
    afterAll(async () => {
      await tb?.dispose();
    });

    /** Writes `content` and returns the record of an upload of it by `by` at `at`. */
    async function stored(content: Buffer, by: DeviceId, at: number) {
      const blobId = blobIdOf(content);
      await s.blobs.putContent(blobId, content);
      return { blobId, size: content.length, uploadedBy: by, createdAt: at };
    }

    it('relay: pending in enqueue order, ack deletes only the owner device, usage counts', async () => {
      const f = await seed(s);
      const [a, b] = f.deviceIds as [DeviceId, DeviceId];
      const e1 = envelope(f, b, Buffer.from('one'));
      const e2 = envelope(f, b, Buffer.from('two!'));
      const e3 = envelope(f, a, Buffer.from('three'));
      await s.withTransaction((tx) => tx.relayQueue.enqueue(f.orgId, [e1, e2, e3]));
      const got = await s.relayQueue.pending(f.orgId, b, 200, 10);
      expect(got.map((e) => e.envelopeId)).toEqual([e1.envelopeId, e2.envelopeId]);
      expect(got[0]).toMatchObject({ orgId: f.orgId, recipientDeviceId: b, type: 3, sender: e1.sender });
      expect(got[0]?.content.equals(Buffer.from('one'))).toBe(true);
      expect(await s.relayQueue.usage(f.orgId, b)).toEqual({ count: 2, bytes: 7 });
      expect((await s.relayQueue.pending(f.orgId, b, 200, 1)).length).toBe(1);
      // Device a cannot acknowledge b's envelope.
      expect(await s.relayQueue.ack(f.orgId, a, [e1.envelopeId])).toBe(0);
      expect(await s.relayQueue.ack(f.orgId, b, [e1.envelopeId, e1.envelopeId, envId()])).toBe(1);
      expect((await s.relayQueue.pending(f.orgId, b, 200, 10)).map((e) => e.envelopeId)).toEqual([
        e2.envelopeId,
      ]);
      expect((await s.relayQueue.pending(f.orgId, a, 200, 10)).map((e) => e.envelopeId)).toEqual([
        e3.envelopeId,
      ]);
    });

    it('relay: deletePushed deletes by id in any queue, each once, and ignores unknown ids', async () => {
      const f = await seed(s);
      const other = await seed(s);
      const [a, b] = f.deviceIds as [DeviceId, DeviceId];
      const to = other.deviceIds[0]!;
      const e1 = envelope(f, a, Buffer.from('one'));
      const e2 = envelope(f, b, Buffer.from('two'));
      const e3 = envelope(f, b, Buffer.from('three'));
      const e4 = envelope(other, to, Buffer.from('four'));
      await s.withTransaction(async (tx) => {
        await tx.relayQueue.enqueue(f.orgId, [e1, e2, e3]);
        await tx.relayQueue.enqueue(other.orgId, [e4]);
      });
      const n = await s.withTransaction((tx) =>
        tx.relayQueue.deletePushed([e1.envelopeId, e3.envelopeId, e4.envelopeId, e1.envelopeId, envId()]),
      );
      expect(n).toBe(3);
      expect(await s.relayQueue.pending(f.orgId, a, 200, 10)).toEqual([]);
      expect((await s.relayQueue.pending(f.orgId, b, 200, 10)).map((e) => e.envelopeId)).toEqual([
        e2.envelopeId,
      ]);
      expect(await s.relayQueue.pending(other.orgId, to, 200, 10)).toEqual([]);
      expect(await s.relayQueue.deletePushed([e1.envelopeId])).toBe(0);
    });

    it('relay: another org sees and acknowledges nothing of this queue', async () => {
      const f = await seed(s);
      const other = await seed(s);
      const to = f.deviceIds[1]!;
      const e = envelope(f, to, Buffer.from('x'));
      await s.relayQueue.enqueue(f.orgId, [e]);
      expect(await s.relayQueue.pending(other.orgId, to, 200, 10)).toEqual([]);
      expect(await s.relayQueue.ack(other.orgId, to, [e.envelopeId])).toBe(0);
      expect(await s.relayQueue.usage(other.orgId, to)).toEqual({ count: 0, bytes: 0 });
      expect((await s.relayQueue.pending(f.orgId, to, 200, 10)).length).toBe(1);
    });

    it('relay: batch reads (devices of users, device states, usages) match the single reads', async () => {
      const f = await seed(s, 3);
      const other = await seed(s, 1);
      const [a, b, c] = f.deviceIds as [DeviceId, DeviceId, DeviceId];
      const second = newId<UserId>();
      const d = newId<DeviceId>();
      await s.users.create(f.orgId, {
        userId: second,
        role: 'member',
        retentionClass: 'standard',
        createdAt: 1,
      });
      await s.devices.create(f.orgId, {
        deviceId: d,
        userId: second,
        identityKey: randomBytes(33),
        registrationId: 1,
        createdAt: 1,
      });
      await s.devices.revoke(f.orgId, c, 50);
      await s.relayQueue.enqueue(f.orgId, [
        envelope(f, b, Buffer.from('one')),
        envelope(f, b, Buffer.from('22')),
      ]);
      const byId = (x: { deviceId: string }, y: { deviceId: string }): number =>
        x.deviceId.localeCompare(y.deviceId);
      const users = await s.relayQueue.usersDevices(f.orgId, [f.userId, second, newId<UserId>(), f.userId]);
      expect([...users.keys()].sort()).toEqual([f.userId, second].sort());
      for (const u of [f.userId, second])
        expect([...users.get(u)!].sort(byId)).toEqual(
          (await s.relayQueue.userDevices(f.orgId, u)).sort(byId),
        );
      expect(users.get(f.userId)?.find((x) => x.deviceId === c)?.revokedAt).toBe(50);
      // Another org's users and devices are not read through this org.
      expect((await s.relayQueue.usersDevices(f.orgId, [other.userId])).size).toBe(0);
      const states = await s.relayQueue.deviceStates(f.orgId, [a, c, other.deviceIds[0]!, newId<DeviceId>()]);
      expect([...states.values()].sort(byId)).toEqual(
        [
          { deviceId: a, revokedAt: null },
          { deviceId: c, revokedAt: 50 },
        ].sort(byId),
      );
      const usages = await s.relayQueue.usages(f.orgId, [a, b, b]);
      expect(usages.get(a)).toEqual({ count: 0, bytes: 0 });
      expect(usages.get(b)).toEqual({ count: 2, bytes: 5 });
      expect((await s.relayQueue.usages(other.orgId, [b])).get(b)).toEqual({ count: 0, bytes: 0 });
      // More ids than one IN list holds still reads them all.
      const many = [...Array.from({ length: 300 }, () => newId<DeviceId>()), b];
      expect((await s.relayQueue.usages(f.orgId, many)).get(b)).toEqual({ count: 2, bytes: 5 });
      expect([...(await s.relayQueue.deviceStates(f.orgId, [...many, a])).keys()].sort()).toEqual(
        [a, b].sort(),
      );
    });

    it("relay: the org's directory version moves with each enrolment and revocation, and with nothing else", async () => {
      const f = await seed(s, 1);
      const other = await seed(s, 1);
      const v = () => s.relayQueue.directoryVersion(f.orgId);
      expect(await s.relayQueue.directoryVersion(newId<OrgId>())).toBe(0);
      const enrolled = await v();
      expect(enrolled).not.toBe(0);
      // Writes beside the devices: a user, envelopes, a prekey, a refused revocation, another org's device.
      const second = newId<UserId>();
      await s.users.create(f.orgId, {
        userId: second,
        role: 'member',
        retentionClass: 'standard',
        createdAt: 1,
      });
      await s.relayQueue.enqueue(f.orgId, [envelope(f, f.deviceIds[0]!, Buffer.from('x'))]);
      await s.prekeys.addOneTimePreKeys(f.orgId, f.deviceIds[0]!, [{ keyId: 1, publicKey: randomBytes(33) }]);
      expect(await s.devices.revoke(f.orgId, newId<DeviceId>(), 5)).toBe(false);
      await s.devices.revoke(other.orgId, other.deviceIds[0]!, 5);
      expect(await v()).toBe(enrolled);
      // An enrolment (inside a transaction, as the route does it) and a revocation each move it.
      const d = newId<DeviceId>();
      await s.withTransaction((tx) =>
        tx.devices.create(f.orgId, {
          deviceId: d,
          userId: second,
          identityKey: randomBytes(33),
          registrationId: 1,
          createdAt: 1,
        }),
      );
      const added = await v();
      expect(added).not.toBe(enrolled);
      expect(await s.devices.revoke(f.orgId, d, 7)).toBe(true);
      const revoked = await v();
      expect(revoked).not.toBe(added);
      // A revocation rolled back leaves the version as it was.
      await expect(
        s.withTransaction(async (tx) => {
          await tx.devices.revoke(f.orgId, f.deviceIds[0]!, 9);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await v()).toBe(revoked);
      expect((await s.devices.get(f.orgId, f.deviceIds[0]!))?.revokedAt).toBeNull();
    });

    it('relay: an envelope to an unknown device is refused by the schema', async () => {
      const f = await seed(s);
      await expect(
        s.relayQueue.enqueue(f.orgId, [envelope(f, newId<DeviceId>(), Buffer.from('x'))]),
      ).rejects.toThrow();
    });

    it('relay: expired envelopes are not pending and the sweep deletes them', async () => {
      const f = await seed(s);
      const to = f.deviceIds[1]!;
      const old = envelope(f, to, Buffer.from('old'), 500);
      const fresh = envelope(f, to, Buffer.from('fresh'), 5000);
      await s.relayQueue.enqueue(f.orgId, [old, fresh]);
      expect((await s.relayQueue.pending(f.orgId, to, 600, 10)).map((e) => e.envelopeId)).toEqual([
        fresh.envelopeId,
      ]);
      expect(await s.relayQueue.deleteExpired(600)).toBeGreaterThanOrEqual(1);
      expect(await s.relayQueue.usage(f.orgId, to)).toEqual({ count: 1, bytes: 5 });
      expect(await s.relayQueue.deleteForDevice(f.orgId, to)).toBe(1);
      expect(await s.relayQueue.usage(f.orgId, to)).toEqual({ count: 0, bytes: 0 });
    });

    it('relay: a rolled-back transaction leaves no envelope', async () => {
      const f = await seed(s);
      const to = f.deviceIds[1]!;
      await expect(
        s.withTransaction(async (tx) => {
          await tx.relayQueue.enqueue(f.orgId, [envelope(f, to, Buffer.from('x'))]);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await s.relayQueue.usage(f.orgId, to)).toEqual({ count: 0, bytes: 0 });
    });

    it('relay: send keys are remembered per org and sending device, and pruned by age', async () => {
      const f = await seed(s);
      const other = await seed(s);
      const [a, b] = f.deviceIds as [DeviceId, DeviceId];
      const key = randomBytes(16).toString('base64url');
      const record = (deviceId: DeviceId, answer: string, createdAt: number) => ({
        deviceId,
        key,
        requestHash: randomBytes(32),
        answer,
        createdAt,
      });
      const first = record(a, '{"a":1}', 1000);
      await s.withTransaction(async (tx) => {
        await tx.relayQueue.rememberSends(f.orgId, [first, record(b, '{"b":1}', 3000)]);
        await tx.relayQueue.rememberSends(other.orgId, [record(other.deviceIds[0]!, '{"o":1}', 3000)]);
      });
      const got = await s.relayQueue.sendKeys(f.orgId, [{ deviceId: a, key }]);
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({ deviceId: a, key, answer: '{"a":1}', createdAt: 1000 });
      expect(got[0]!.requestHash.equals(first.requestHash)).toBe(true);
      // The same key of another device, or of a device of another org, is another send.
      expect(await s.relayQueue.sendKeys(other.orgId, [{ deviceId: a, key }])).toEqual([]);
      expect((await s.relayQueue.sendKeys(f.orgId, [{ deviceId: b, key }])).map((r) => r.answer)).toEqual([
        '{"b":1}',
      ]);
      // Remembering the same (device, key) again stores nothing (the count says so): a key
      // names one send, and its first answer stands.
      expect(
        await s.withTransaction((tx) =>
          tx.relayQueue.rememberSends(f.orgId, [
            record(a, '{}', 2000),
            record(other.deviceIds[0]!, '{"n":1}', 3000),
          ]),
        ),
      ).toBe(1);
      expect((await s.relayQueue.sendKeys(f.orgId, [{ deviceId: a, key }])).map((r) => r.answer)).toEqual([
        '{"a":1}',
      ]);
      // The prune forgets what is older than the cutoff, in every org.
      expect(await s.relayQueue.deleteSendKeysBefore(2000, 1000)).toBeGreaterThanOrEqual(1);
      expect(await s.relayQueue.sendKeys(f.orgId, [{ deviceId: a, key }])).toEqual([]);
      expect(await s.relayQueue.sendKeys(f.orgId, [{ deviceId: b, key }])).toHaveLength(1);
    });

    it('relay: send keys are pruned in bounded chunks until none older than the cutoff is left', async () => {
      const f = await seed(s);
      const [a, b] = f.deviceIds as [DeviceId, DeviceId];
      const now = 5_000_000_000_000;
      const cutoff = now - RELAY_SEND_KEY_RETENTION_MS;
      const relay = createMessagingServices({ stores: s, clock: () => now }).relay;
      // The prune is global: earlier tests' keys go first, so the counts below are this test's.
      await relay.pruneSendKeys();
      const record = (deviceId: DeviceId, createdAt: number) => ({
        deviceId,
        key: randomBytes(16).toString('base64url'),
        requestHash: randomBytes(32),
        answer: '{}',
        createdAt,
      });
      const old = Array.from({ length: 7 }, (_, i) => record(i % 2 === 0 ? a : b, cutoff - 1 - i));
      const young = Array.from({ length: 3 }, (_, i) => record(a, cutoff + i));
      await s.withTransaction((tx) => tx.relayQueue.rememberSends(f.orgId, [...old, ...young]));
      // One statement deletes at most its limit…
      expect(await s.relayQueue.deleteSendKeysBefore(cutoff, 3)).toBe(3);
      // …and the relay's prune repeats it until fewer are left: 3, then 1.
      expect(await relay.pruneSendKeys(3)).toBe(4);
      // A chunk of 0 would never end, a negative or fractional one is no limit: refused, nothing deleted
      // (the young keys are all still there, below).
      for (const bad of [0, -1, 1.5, Number.NaN])
        await expect(relay.pruneSendKeys(bad)).rejects.toThrow(/positive integer/);
      const refs = (rs: typeof old) => rs.map((r) => ({ deviceId: r.deviceId, key: r.key }));
      expect(await s.relayQueue.sendKeys(f.orgId, refs(old))).toEqual([]);
      expect(await s.relayQueue.sendKeys(f.orgId, refs(young))).toHaveLength(3);
    });

    it('relay: a keyed send repeated answers the first answer and stores nothing again; other envelopes under the key are refused', async () => {
      const f = await seed(s);
      const [a, b] = f.deviceIds as [DeviceId, DeviceId];
      let receipts = 0;
      let now = 10_000;
      const relay = createMessagingServices({
        stores: s,
        clock: () => now,
        archives: () => true,
        receipts: (_tx, _org, entries) => ((receipts += entries.length), Promise.resolve(0)),
      }).relay;
      const from = (deviceId: DeviceId) => ({ orgId: f.orgId, userId: f.userId, deviceId, deviceNumber: 1 });
      const to = { orgId: f.orgId, userId: f.userId };
      const content = randomBytes(40).toString('base64url');
      const idempotencyKey = randomBytes(16).toString('base64url');
      const message = { recipient: to, envelopes: [{ deviceId: b, type: 1, content }], idempotencyKey };
      const first = await relay.send(from(a), message);
      now += 1000;
      // The repeat, alone and twice at once (one batch): the first answer each time.
      expect(await relay.send(from(a), message)).toEqual(first);
      expect(await Promise.all([relay.send(from(a), message), relay.send(from(a), message)])).toEqual([
        first,
        first,
      ]);
      expect((await s.relayQueue.pending(f.orgId, b, now, 10)).map((e) => e.envelopeId)).toEqual([
        first.envelopes[0]!.envelopeId,
      ]);
      expect(receipts).toBe(1);
      // The key with another envelope: refused, nothing stored.
      const other = {
        ...message,
        envelopes: [{ deviceId: b, type: 1, content: randomBytes(40).toString('base64url') }],
      };
      await expect(relay.send(from(a), other)).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(await s.relayQueue.usage(f.orgId, b)).toMatchObject({ count: 1 });
      expect(receipts).toBe(1);
      // Another device's send under the same key is its own send.
      const theirs = await relay.send(from(b), {
        ...message,
        envelopes: [{ deviceId: a, type: 1, content }],
      });
      expect(theirs.envelopes.map((e) => e.deviceId)).toEqual([a]);
      expect(await s.relayQueue.usage(f.orgId, a)).toMatchObject({ count: 1 });
      expect(receipts).toBe(2);
      // Past the retention window the prune forgets the key: a repeat is then a new send.
      now += RELAY_SEND_KEY_RETENTION_MS + 1000;
      expect(await relay.pruneSendKeys()).toBeGreaterThanOrEqual(2);
      expect((await relay.send(from(a), message)).envelopes[0]!.envelopeId).not.toBe(
        first.envelopes[0]!.envelopeId,
      );
    });

    it('prekeys: concurrent claims never hand out a one-time key twice', async () => {
      const f = await seed(s, 1);
      const d = f.deviceIds[0]!;
      const keys = Array.from({ length: 20 }, (_, i) => ({ keyId: i + 1, publicKey: randomBytes(33) }));
      await s.prekeys.addOneTimePreKeys(f.orgId, d, keys);
      const claims = await Promise.all(
        Array.from({ length: 35 }, () => s.prekeyClaims.takeOneTimePreKey(f.orgId, d)),
      );
      const ids = claims.filter((k) => k !== undefined).map((k) => k.keyId);
      expect(ids.sort((x, y) => x - y)).toEqual(keys.map((k) => k.keyId));
      expect(claims.filter((k) => k === undefined)).toHaveLength(15);
      expect((await s.prekeys.counts(f.orgId, d)).oneTime).toBe(0);
    });

    it('prekeys: Kyber one-time keys are consumed, then the last-resort key is reused', async () => {
      const f = await seed(s, 1);
      const d = f.deviceIds[0]!;
      const k = (keyId: number, lastResort: boolean) => ({
        keyId,
        publicKey: randomBytes(40),
        signature: randomBytes(64),
        lastResort,
      });
      await s.prekeys.addKyberPreKeys(f.orgId, d, [k(1, false), k(2, false), k(900, true)]);
      const got = await Promise.all([1, 2, 3, 4].map(() => s.prekeyClaims.takeKyberPreKey(f.orgId, d)));
      const oneTime = got.filter((x) => x?.lastResort === false).map((x) => x?.keyId);
      expect(oneTime.sort()).toEqual([1, 2]);
      expect(got.filter((x) => x?.lastResort === true).map((x) => x?.keyId)).toEqual([900, 900]);
      await s.withTransaction((tx) => tx.prekeyClaims.replaceLastResortKyberPreKey(f.orgId, d, k(901, true)));
      expect((await s.prekeyClaims.takeKyberPreKey(f.orgId, d))?.keyId).toBe(901);
      expect(await s.prekeys.counts(f.orgId, d)).toMatchObject({ kyber: 0, lastResortKyber: true });
    });

    it('prekeys: the signed prekey is read; another org reads nothing', async () => {
      const f = await seed(s, 1);
      const other = await seed(s, 1);
      const d = f.deviceIds[0]!;
      expect(await s.prekeyClaims.signedPreKey(f.orgId, d)).toBeUndefined();
      const spk = { keyId: 5, publicKey: randomBytes(33), signature: randomBytes(64) };
      await s.prekeys.putSignedPreKey(f.orgId, d, spk);
      await s.prekeys.addOneTimePreKeys(f.orgId, d, [{ keyId: 1, publicKey: randomBytes(33) }]);
      expect(await s.prekeyClaims.signedPreKey(f.orgId, d)).toEqual(spk);
      expect(await s.prekeyClaims.signedPreKey(other.orgId, d)).toBeUndefined();
      expect(await s.prekeyClaims.takeOneTimePreKey(other.orgId, d)).toBeUndefined();
      expect((await s.prekeys.counts(f.orgId, d)).oneTime).toBe(1);
    });

    it('blobs: content round-trips; add charges once; the quota refuses and changes nothing', async () => {
      const f = await seed(s, 1);
      const d = f.deviceIds[0]!;
      const content = randomBytes(1000);
      const id = blobIdOf(content);
      expect(await s.blobs.find(id)).toBeUndefined();
      await s.blobs.putContent(id, content);
      await s.blobs.putContent(id, content); // idempotent
      expect((await s.blobs.readContent(id))?.equals(content)).toBe(true);
      const rec = { blobId: id, size: 1000, uploadedBy: d, createdAt: 5 };
      expect(await s.blobs.add(f.orgId, rec, 2500)).toBe('added');
      expect(await s.blobs.add(f.orgId, rec, 2500)).toBe('exists');
      expect(await s.blobs.usage(f.orgId)).toEqual({ count: 1, bytes: 1000 });
      expect(await s.blobs.find(id)).toEqual({ size: 1000 });

      const second = { ...(await stored(randomBytes(8), d, 6)), size: 1000 };
      expect(await s.blobs.add(f.orgId, second, 2500)).toBe('added');
      const third = { ...(await stored(randomBytes(8), d, 7)), size: 1000 };
      expect(await s.blobs.add(f.orgId, third, 2500)).toBe('over-quota');
      expect(await s.blobs.usage(f.orgId)).toEqual({ count: 2, bytes: 2000 });
      expect(await s.blobs.find(third.blobId)).toBeUndefined();
      // A first blob larger than the whole quota is refused too.
      const other = await seed(s, 1);
      expect(await s.blobs.add(other.orgId, { ...third, uploadedBy: other.deviceIds[0]! }, 999)).toBe(
        'over-quota',
      );
      expect(await s.blobs.usage(other.orgId)).toEqual({ count: 0, bytes: 0 });
      // The same content uploaded by another org is charged to that org as well.
      expect(await s.blobs.add(other.orgId, { ...rec, uploadedBy: other.deviceIds[0]! }, 5000)).toBe('added');
      expect(await s.blobs.usage(other.orgId)).toEqual({ count: 1, bytes: 1000 });
    });

    it('blobs: concurrent uploads cannot together pass the quota', async () => {
      const f = await seed(s, 1);
      const d = f.deviceIds[0]!;
      const recs = await Promise.all(Array.from({ length: 10 }, (_, i) => stored(Buffer.from([i, 7]), d, 1)));
      const outcomes = await Promise.all(
        recs.map((r) => s.withTransaction((tx) => tx.blobs.add(f.orgId, { ...r, size: 100 }, 450))),
      );
      expect(outcomes.filter((o) => o === 'added')).toHaveLength(4);
      expect(await s.blobs.usage(f.orgId)).toEqual({ count: 4, bytes: 400 });
    });

    it('blobs: unknown content reads as undefined', async () => {
      expect(await s.blobs.readContent(blobIdOf(randomBytes(4)))).toBeUndefined();
    });

    it('blobs: add refuses (content-missing) when the content is gone, and records nothing', async () => {
      const f = await seed(s, 1);
      const rec = { blobId: blobIdOf(randomBytes(9)), size: 9, uploadedBy: f.deviceIds[0]!, createdAt: 1 };
      expect(await s.withTransaction((tx) => tx.blobs.add(f.orgId, rec, 1000))).toBe('content-missing');
      expect(await s.blobs.find(rec.blobId)).toBeUndefined();
      expect(await s.blobs.usage(f.orgId)).toEqual({ count: 0, bytes: 0 });
    });

    // The sweep tests come last: the sweep is global and takes other tests' old blobs too.
    it('blobs: the sweep takes an old blob no record lists, and keeps listed, recent, re-uploaded and unlisted-era ones', async () => {
      const f = await seed(s, 1);
      const g = await seed(s, 1);
      const d = f.deviceIds[0]!;
      const add = async (orgId: OrgId, by: DeviceId, at: number, content = randomBytes(40)) => {
        const r = await stored(content, by, at);
        expect(await s.withTransaction((tx) => tx.blobs.add(orgId, r, 1_000_000))).toBe('added');
        return r.blobId;
      };
      // A record of an older client (attachments, no list) at 10,000: nothing uploaded before
      // it (with the margin) is ever swept.
      await s.withTransaction((tx) => tx.blobs.noteUnlistedReferences(10_000));
      const unlistedEra = await add(f.orgId, d, 10_005);
      const old = await add(f.orgId, d, 20_000);
      const listed = await add(f.orgId, d, 20_000);
      const recent = await add(f.orgId, d, 49_500);
      const shared = randomBytes(40);
      const reUploaded = await add(f.orgId, d, 20_000, shared);
      await add(g.orgId, g.deviceIds[0]!, 49_500, shared);
      // The same org uploading the same bytes again restarts its lifetime from that upload.
      const again = randomBytes(40);
      const sameOrgAgain = await add(f.orgId, d, 20_000, again);
      const second = await stored(again, d, 49_500);
      expect(await s.withTransaction((tx) => tx.blobs.add(f.orgId, second, 1_000_000))).toBe('exists');
      // An older upload after a newer one leaves the newer time.
      const third = await stored(again, d, 30_000);
      expect(await s.withTransaction((tx) => tx.blobs.add(f.orgId, third, 1_000_000))).toBe('exists');
      await s.withTransaction((tx) =>
        tx.blobs.putReferences(f.orgId, [{ logIndex: 3, bucketId: 'b1', blobId: listed }]),
      );
      const before = await s.blobs.usage(f.orgId);
      const settings = { retentionMs: 1000, unlistedMarginMs: 10, batch: 1000 };
      expect(await sweepBlobs(s, 50_000, settings)).toBeGreaterThanOrEqual(1);
      expect(await s.blobs.find(old)).toBeUndefined();
      expect(await s.blobs.readContent(old)).toBeUndefined();
      for (const kept of [unlistedEra, listed, recent, reUploaded, sameOrgAgain]) {
        expect(await s.blobs.find(kept), kept).toBeDefined();
        expect(await s.blobs.readContent(kept), kept).toBeDefined();
      }
      expect(await s.blobs.usage(f.orgId)).toEqual({ count: before.count - 1, bytes: before.bytes - 40 });
      // A later unlisted record protects what was uploaded before it, however old.
      await s.withTransaction((tx) => tx.blobs.noteUnlistedReferences(60_000));
      const older = await add(f.orgId, d, 30_000);
      expect(await sweepBlobs(s, 100_000, settings)).toBe(0);
      expect(await s.blobs.find(older)).toBeDefined();
      // The marker never moves back.
      await s.withTransaction((tx) => tx.blobs.noteUnlistedReferences(1));
      expect(await s.blobs.sweepCandidates({ uploadedBefore: 100_000, unlistedMarginMs: 0 }, 10)).toEqual([]);
    });

    it("blobs: a disposition releases its records' references and keeps those of records it skips", async () => {
      const f = await seed(s, 1);
      const d = f.deviceIds[0]!;
      const ids: BlobId[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await stored(randomBytes(30), d, 200_000);
        await s.withTransaction((tx) => tx.blobs.add(f.orgId, r, 1_000_000));
        ids.push(r.blobId);
      }
      // Records 10 (bucket b1), 11 (b1, held), 12 (b2, another bucket) list one blob each.
      await s.withTransaction((tx) =>
        tx.blobs.putReferences(f.orgId, [
          { logIndex: 10, bucketId: 'b1', blobId: ids[0]! },
          { logIndex: 11, bucketId: 'b1', blobId: ids[1]! },
          { logIndex: 12, bucketId: 'b2', blobId: ids[2]! },
        ]),
      );
      const limits = { uploadedBefore: 300_000, unlistedMarginMs: 0 };
      expect(await s.blobs.sweepCandidates(limits, 1000)).not.toContain(ids[0]);
      await s.withTransaction((tx) => tx.disposition.deleteRecords(f.orgId, 'b1', 10, 10));
      await s.withTransaction((tx) => tx.disposition.deleteRecords(f.orgId, 'b1', 12, 12));
      const candidates = await s.blobs.sweepCandidates(limits, 1000);
      expect(candidates).toContain(ids[0]);
      expect(candidates).not.toContain(ids[1]);
      expect(candidates).not.toContain(ids[2]);
    });

    it('blobs: a reference committed while the sweep waits keeps the blob; an upload after the rows went keeps the content', async () => {
      const f = await seed(s, 1);
      const d = f.deviceIds[0]!;
      const r = await stored(randomBytes(50), d, 300_000);
      await s.withTransaction((tx) => tx.blobs.add(f.orgId, r, 1_000_000));
      const limits = { uploadedBefore: 400_000, unlistedMarginMs: 0 };
      // Ingest holds the blob's rows (shared) from its reference to its commit; the sweep's
      // transaction starts meanwhile and must see the reference once it gets the rows.
      let release!: () => void;
      const held = new Promise<void>((res) => (release = res));
      let referenced!: () => void;
      const inIngest = new Promise<void>((res) => (referenced = res));
      const ingest = s.withTransaction(async (tx) => {
        await tx.blobs.putReferences(f.orgId, [{ logIndex: 1, bucketId: 'b', blobId: r.blobId }]);
        referenced();
        await held;
      });
      await inIngest;
      const sweep = s.withTransaction((tx) => tx.blobs.sweepRows(r.blobId, limits));
      await new Promise((res) => setTimeout(res, 50));
      release();
      await ingest;
      expect(await sweep).toBe(false);
      expect(await s.blobs.find(r.blobId)).toBeDefined();
      // Unreferenced, its rows go; an upload of the same bytes before the content step keeps them.
      const lone = await stored(randomBytes(50), d, 300_000);
      await s.withTransaction((tx) => tx.blobs.add(f.orgId, lone, 1_000_000));
      expect(await s.withTransaction((tx) => tx.blobs.sweepRows(lone.blobId, limits))).toBe(true);
      expect(await s.blobs.find(lone.blobId)).toBeUndefined();
      expect(
        await s.withTransaction((tx) => tx.blobs.add(f.orgId, { ...lone, createdAt: 500_000 }, 1_000_000)),
      ).toBe('added');
      expect(await s.withTransaction((tx) => tx.blobs.removeUnusedContent(lone.blobId))).toBe(false);
      expect(await s.blobs.readContent(lone.blobId)).toBeDefined();
      // With no row left the content goes, and a late add is told so (and records nothing).
      const gone = await stored(randomBytes(50), d, 300_000);
      await s.withTransaction((tx) => tx.blobs.add(f.orgId, gone, 1_000_000));
      expect(await s.withTransaction((tx) => tx.blobs.sweepRows(gone.blobId, limits))).toBe(true);
      expect(await s.withTransaction((tx) => tx.blobs.removeUnusedContent(gone.blobId))).toBe(true);
      expect(await s.blobs.readContent(gone.blobId)).toBeUndefined();
      expect(await s.withTransaction((tx) => tx.blobs.add(f.orgId, gone, 1_000_000))).toBe('content-missing');
      expect(await s.blobs.find(gone.blobId)).toBeUndefined();
    });
  });
}
