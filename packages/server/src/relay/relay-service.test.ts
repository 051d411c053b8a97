/**
 * The relay's send job off its fast path: a remembered archive policy and a batch view that
 * holds everything make the job synchronous; otherwise it reads, and every pending read —
 * the policy's too — is the batch's to await, so a failure is an error, never an unhandled
 * rejection (which would stop the node). Directory reads of a batch are served from the
 * relay's cache while the org's directory version holds, and a change committed by another
 * node is seen by the next batch.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, type DeviceId, type OrgId, type UserId } from '../ids.js';
import type { EnvelopeSender } from '../store/messaging-records.js';
import { createTestMember, createTestOrgRow } from '../testing/test-org-row.js';
import { sequenceEntries } from '../log-service/sequencing.js';
import { migrate } from '../store/migrate.js';
import { openStore, storesOver } from '../store/open-store.js';
import { openSqliteDatabase } from '../store/sqlite/sqlite-database.js';
import { SQLITE_MIGRATIONS } from '../store/sqlite/sqlite-migrations.js';
import type { StoreBackend, Stores } from '../store/stores.js';
import {
  openTestPostgres,
  openTestSqlite,
  PG_SKIP_REASON,
  TEST_BACKENDS,
  type TestBackend,
} from '../testing/test-stores.js';
import { createMessagingServices } from './messaging-services.js';
import { relayReceipt, type ArchivePolicy } from './receipts.js';
import { sendRequestHash } from './send-keys.js';

/** A new user of `orgId` with one device. */
async function member(stores: Stores, orgId: OrgId): Promise<{ userId: UserId; deviceId: DeviceId }> {
  const { userId, deviceIds } = await createTestMember(stores, orgId);
  return { userId, deviceId: deviceIds[0]! };
}

describe('RelayService.sendDecoded off the fast path', () => {
  let tb: TestBackend;
  let orgId: OrgId;
  let sender: EnvelopeSender;
  let recipient: { userId: UserId; deviceId: DeviceId };

  beforeAll(async () => {
    tb = await openTestSqlite();
    orgId = await createTestOrgRow(tb.stores, 'Relay');
    const s = await member(tb.stores, orgId);
    sender = { orgId, userId: s.userId, deviceId: s.deviceId, deviceNumber: 1 };
    recipient = await member(tb.stores, orgId);
  });
  afterAll(async () => tb?.dispose());

  /** A relay whose archive policy is the given one. */
  const relayWith = (archives: ArchivePolicy) =>
    createMessagingServices({ stores: tb.stores, clock: () => Date.now(), archives }).relay;
  const envelope = (deviceId: DeviceId) => [{ deviceId, type: 1, content: randomBytes(16) }];

  it('refuses a send to an unknown user while the policy read fails later: the refusal, and no unhandled rejection', async () => {
    const failLater: ArchivePolicy = () =>
      new Promise((_, reject) => setTimeout(() => reject(new Error('policy read failed')), 20));
    const relay = relayWith(failLater);
    await expect(
      relay.sendDecoded(sender, { orgId, userId: newId<UserId>() }, envelope(recipient.deviceId)),
    ).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    // Past the policy's rejection: an unhandled one would fail this test file.
    await new Promise((r) => setTimeout(r, 50));
  });

  it("fails the send with the policy read's error, and stores nothing", async () => {
    const relay = relayWith(async () => {
      throw new Error('policy read failed');
    });
    await expect(
      relay.sendDecoded(sender, { orgId, userId: recipient.userId }, envelope(recipient.deviceId)),
    ).rejects.toThrow('policy read failed');
    expect(await tb.stores.relayQueue.pending(orgId, recipient.deviceId, Date.now(), 10)).toEqual([]);
  });

  it('stores a send whose policy is read from the store (a promise), as from memory (a boolean)', async () => {
    for (const archives of [async () => false, () => false] as ArchivePolicy[]) {
      const relay = relayWith(archives);
      const sent = await relay.sendDecoded(
        sender,
        { orgId, userId: recipient.userId },
        envelope(recipient.deviceId),
      );
      expect(sent.envelopes.map((e) => e.deviceId)).toEqual([recipient.deviceId]);
    }
    expect(await tb.stores.relayQueue.pending(orgId, recipient.deviceId, Date.now(), 10)).toHaveLength(2);
  });

  it("hashes a keyed send's request as before (remembered hashes stay valid), and its receipts carry the same bytes as an unkeyed send's", async () => {
    // The encoding of the remembered `request_hash`: pinned, since stored hashes outlive a release.
    const vector = sendRequestHash({ orgId: 'org-ü', userId: 'user-1' }, [
      { deviceId: 'dev-a', type: 1, content: Buffer.from('first ciphertext') },
      { deviceId: 'dev-b', type: 3, content: Buffer.alloc(0) },
    ]);
    expect(vector.toString('hex')).toBe('81d00965e345a4045ed24dfc1fb5fbdf43d2b80a8c78bf03f71160170527bec2');
    const entries: Uint8Array[] = [];
    const now = 1_700_000_000_000;
    const relay = createMessagingServices({
      stores: tb.stores,
      clock: () => now,
      archives: () => true,
      receipts: async (_tx, _org, e) => (entries.push(...e), 0),
    }).relay;
    const envelopes = envelope(recipient.deviceId);
    const to = { orgId, userId: recipient.userId };
    await relay.sendDecoded(sender, to, envelopes, randomBytes(16).toString('base64url'));
    await relay.sendDecoded(sender, to, envelopes);
    const expected = relayReceipt(sender.deviceId, recipient.deviceId, envelopes[0]!.content, now);
    expect(entries.map((e) => Buffer.from(e).toString('hex'))).toEqual([
      Buffer.from(expected).toString('hex'),
      Buffer.from(expected).toString('hex'),
    ]);
  });

  it("flushes a batch's send keys before its receipts, so a key another node holds is waited for before any log row is locked", async () => {
    const key = randomBytes(16).toString('base64url');
    let keyStoredFirst: boolean | undefined;
    const relay = createMessagingServices({
      stores: tb.stores,
      clock: () => Date.now(),
      archives: () => true,
      receipts: async (tx, org, e) => {
        // Inside the batch's transaction: the key is there if it was flushed before this.
        keyStoredFirst =
          (await tx.relayQueue.sendKeys(org, [{ deviceId: sender.deviceId, key }])).length === 1;
        return sequenceEntries(tx, org, e);
      },
    }).relay;
    await relay.sendDecoded(sender, { orgId, userId: recipient.userId }, envelope(recipient.deviceId), key);
    expect(keyStoredFirst).toBe(true);
  });

  it('fails only the repeat whose remembered answer is corrupt, not the other sends of its batch', async () => {
    const relay = relayWith(() => false);
    const to = { orgId, userId: recipient.userId };
    const envelopes = envelope(recipient.deviceId);
    const key = randomBytes(16).toString('base64url');
    await tb.stores.withTransaction((tx) =>
      tx.relayQueue.rememberSends(orgId, [
        {
          deviceId: sender.deviceId,
          key,
          requestHash: sendRequestHash(to, envelopes),
          answer: '{"serverTime":"not a number"}',
          createdAt: Date.now(),
        },
      ]),
    );
    const [repeat, other] = await Promise.allSettled([
      relay.sendDecoded(sender, to, envelopes, key),
      relay.sendDecoded(sender, to, envelope(recipient.deviceId)),
    ]);
    expect(repeat).toMatchObject({
      status: 'rejected',
      reason: {
        code: 'INTERNAL',
        message: expect.stringContaining('remembered answer of this idempotency key is corrupt'),
      },
    });
    expect(other).toMatchObject({ status: 'fulfilled' });
  });

  it('refuses a message that addresses a device twice, as JSON or bytes, and stores nothing', async () => {
    const relay = relayWith(() => false);
    const before = await tb.stores.relayQueue.pending(orgId, recipient.deviceId, Date.now(), 10);
    const twice = [...envelope(recipient.deviceId), ...envelope(recipient.deviceId)];
    const to = { orgId, userId: recipient.userId };
    const named = {
      code: 'INVALID_REQUEST',
      message: 'message.envelopes.1.deviceId: device addressed twice',
    };
    await expect(relay.sendDecoded(sender, to, twice)).rejects.toMatchObject(named);
    const json = twice.map((e) => ({
      deviceId: e.deviceId,
      type: e.type,
      content: e.content.toString('base64url'),
    }));
    await expect(relay.send(sender, { recipient: to, envelopes: json })).rejects.toMatchObject(named);
    expect(await tb.stores.relayQueue.pending(orgId, recipient.deviceId, Date.now(), 10)).toEqual(before);
  });
});

describe('a committed envelope on SQLite: pushed before its WAL sync, answered after it', () => {
  it("hands the envelope to the recipient's listener at COMMIT; the sender's answer waits for the sync", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-relay-early-'));
    // The WAL sync is held until the test releases it, so "durable" is observable.
    const held: (() => void)[] = [];
    const release = (): void => {
      for (const r of held.splice(0)) r();
    };
    const db = openSqliteDatabase(join(dir, 'r.sqlite'), {
      syncFile: () => new Promise<void>((r) => held.push(r)),
    });
    const releasing = setInterval(release, 5);
    const stores = storesOver(db, 'sqlite');
    try {
      await migrate(db, SQLITE_MIGRATIONS);
      const orgId = await createTestOrgRow(stores, 'Early');
      const s = await member(stores, orgId);
      const r = await member(stores, orgId);
      clearInterval(releasing);
      release();
      const { relay, hub } = createMessagingServices({
        stores,
        clock: () => Date.now(),
        archives: () => true,
      });
      const log: string[] = [];
      hub.subscribe(orgId, r.deviceId, (event, committed) => log.push(`${event} ${committed?.length ?? 0}`));
      const sender: EnvelopeSender = { orgId, userId: s.userId, deviceId: s.deviceId, deviceNumber: 1 };
      const sent = relay
        .sendDecoded(sender, { orgId, userId: r.userId }, [
          { deviceId: r.deviceId, type: 1, content: randomBytes(16) },
        ])
        .then(() => log.push('answered'));
      while (log.length === 0) await new Promise((resolve) => setImmediate(resolve));
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      // Committed and pushed; its sync is held, so the sender has no answer yet.
      expect(log).toEqual(['queue 1']);
      expect(held.length).toBeGreaterThan(0);
      while (!log.includes('answered')) {
        release();
        await new Promise((resolve) => setImmediate(resolve));
      }
      await sent;
      expect(log).toEqual(['queue 1', 'answered']);
    } finally {
      clearInterval(releasing);
      const closing = setInterval(release, 5);
      await stores.close();
      clearInterval(closing);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(PG_SKIP_REASON !== null)('two API nodes on one PostgreSQL store', () => {
  let tb: TestBackend;
  let second: StoreBackend;
  beforeAll(async () => {
    tb = await openTestPostgres();
    // The second node's own pool, as another API process would open it.
    second = await openStore(tb.config);
  });
  afterAll(async () => {
    await second?.close();
    await tb?.dispose();
  });

  it('both admit the same new idempotency key: the later batch runs again, its repeat gets the first answer and its other send is stored', async () => {
    const orgId = await createTestOrgRow(tb.stores, 'Two nodes');
    const s = await member(tb.stores, orgId);
    const sender: EnvelopeSender = { orgId, userId: s.userId, deviceId: s.deviceId, deviceNumber: 1 };
    const [r1, r2] = [await member(tb.stores, orgId), await member(tb.stores, orgId)];
    const message = (to: { userId: UserId; deviceId: DeviceId }, idempotencyKey?: string) => ({
      recipient: { orgId, userId: to.userId },
      envelopes: [{ deviceId: to.deviceId, type: 1, content: randomBytes(24).toString('base64url') }],
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    });
    const keyed = message(r1, randomBytes(16).toString('base64url'));
    // Both nodes' batches read the key as absent before either commits: node A has inserted
    // the key (a batch flushes its send keys first) and holds its transaction open at its
    // receipts until node B's batch is past its prepare (B's jobs ask the archive policy only
    // after the prepare read the keys); B's own insert of the key then waits for A's commit.
    let bPrepared!: () => void;
    const bHere = new Promise<void>((r) => (bPrepared = r));
    const nodeA = createMessagingServices({
      stores: tb.stores,
      clock: () => Date.now(),
      archives: () => true,
      receipts: async (tx, org, entries) => (await bHere, sequenceEntries(tx, org, entries)),
    }).relay;
    const nodeB = createMessagingServices({
      stores: second,
      clock: () => Date.now(),
      archives: () => (bPrepared(), true),
    }).relay;
    const first = nodeA.send(sender, keyed);
    // One batch on node B: the repeat and an unrelated send.
    const [repeat, unrelated] = await Promise.all([
      nodeB.send(sender, keyed),
      nodeB.send(sender, message(r2)),
    ]);
    expect(repeat).toEqual(await first);
    expect(unrelated.envelopes.map((e) => e.deviceId)).toEqual([r2.deviceId]);
    expect(
      (await tb.stores.relayQueue.pending(orgId, r1.deviceId, Date.now(), 10)).map((e) => e.envelopeId),
    ).toEqual(repeat.envelopes.map((e) => e.envelopeId));
    expect(await tb.stores.relayQueue.usage(orgId, r2.deviceId)).toMatchObject({ count: 1 });
    // One receipt for the keyed send, one for the unrelated one.
    expect((await tb.stores.log.backlog(orgId)).nextIndex).toBe(2);
  });
});

/**
 * `stores` whose transactions count the relay's directory reads (device states, users'
 * devices) into `reads`, and run `afterDeviceStates` (if given) once a device-state read has
 * returned, before the batch goes on; everything else is the real store.
 */
function countingDirectoryReads(
  stores: Stores,
  reads: string[],
  afterDeviceStates?: () => Promise<void>,
): Stores {
  const counted = (tx: Stores): Stores => {
    const relayQueue = Object.create(tx.relayQueue) as Stores['relayQueue'];
    relayQueue.deviceStates = async (org, ids) => {
      reads.push('deviceStates');
      const states = await tx.relayQueue.deviceStates(org, ids);
      await afterDeviceStates?.();
      return states;
    };
    relayQueue.usersDevices = (org, ids) => (
      reads.push('usersDevices'),
      tx.relayQueue.usersDevices(org, ids)
    );
    return Object.assign(Object.create(tx) as Stores, { relayQueue });
  };
  return Object.assign(Object.create(stores) as Stores, {
    withTransaction: <T>(fn: (tx: Stores) => Promise<T>, onCommitted?: () => void) =>
      stores.withTransaction((tx) => fn(counted(tx)), onCommitted),
  });
}

for (const backend of TEST_BACKENDS) {
  const title = `the relay's directory cache: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let other: StoreBackend;
    beforeAll(async () => {
      tb = await backend.open();
      // Another API node's own connection (on SQLite: another process's, as a CLI's would be).
      other = await openStore(tb.config);
    });
    afterAll(async () => {
      await other?.close();
      await tb?.dispose();
    });

    it('serves a warm batch without device reads, and sees a device enrolled or revoked through another connection in the next batch', async () => {
      const orgId = await createTestOrgRow(tb.stores, 'Directory cache');
      const s = await member(tb.stores, orgId);
      const sender: EnvelopeSender = { orgId, userId: s.userId, deviceId: s.deviceId, deviceNumber: 1 };
      const r = await member(tb.stores, orgId);
      const reads: string[] = [];
      const relay = createMessagingServices({
        stores: countingDirectoryReads(tb.stores, reads),
        clock: () => Date.now(),
        archives: () => false,
      }).relay;
      const to = { orgId, userId: r.userId };
      const envelopes = (...ids: DeviceId[]) =>
        ids.map((deviceId) => ({ deviceId, type: 1, content: randomBytes(16) }));
      await relay.sendDecoded(sender, to, envelopes(r.deviceId));
      expect(reads).toEqual(['deviceStates', 'usersDevices']);
      reads.length = 0;
      await relay.sendDecoded(sender, to, envelopes(r.deviceId));
      expect(reads).toEqual([]);

      // Another node enrols a second device of the recipient: the next batch wants it addressed.
      const added = newId<DeviceId>();
      await other.withTransaction((tx) =>
        tx.devices.create(orgId, {
          deviceId: added,
          userId: r.userId,
          identityKey: randomBytes(33),
          registrationId: 2,
          createdAt: Date.now(),
        }),
      );
      await expect(relay.sendDecoded(sender, to, envelopes(r.deviceId))).rejects.toMatchObject({
        code: 'MISMATCHED_DEVICES',
        details: { missing: [added], stale: [] },
      });
      await relay.sendDecoded(sender, to, envelopes(r.deviceId, added));
      reads.length = 0;
      await relay.sendDecoded(sender, to, envelopes(r.deviceId, added));
      expect(reads).toEqual([]);

      // Another node revokes that device: addressing it is stale again.
      expect(await other.devices.revoke(orgId, added, Date.now())).toBe(true);
      await expect(relay.sendDecoded(sender, to, envelopes(r.deviceId, added))).rejects.toMatchObject({
        code: 'MISMATCHED_DEVICES',
        details: { missing: [], stale: [added] },
      });
      await relay.sendDecoded(sender, to, envelopes(r.deviceId));

      // Another node revokes the sender: its next send is refused.
      expect(await other.devices.revoke(orgId, sender.deviceId, Date.now())).toBe(true);
      await expect(relay.sendDecoded(sender, to, envelopes(r.deviceId))).rejects.toMatchObject({
        code: 'DEVICE_REVOKED',
      });
      expect(await tb.stores.relayQueue.usage(orgId, added)).toEqual({ count: 2, bytes: 32 });
    });

    // PostgreSQL only: a SQLite batch holds the write lock, so no other connection commits inside it.
    it.skipIf(backend.name !== 'postgres')(
      "refuses a sender revoked by another node while a batch was reading it, from the next batch on (the batch read the org's version before the sender)",
      async () => {
        const orgId = await createTestOrgRow(tb.stores, 'Directory order');
        const s = await member(tb.stores, orgId);
        const sender: EnvelopeSender = { orgId, userId: s.userId, deviceId: s.deviceId, deviceNumber: 1 };
        const r = await member(tb.stores, orgId);
        let revoke = true;
        const relay = createMessagingServices({
          // The revocation commits after the batch read the sender's state and before it commits.
          stores: countingDirectoryReads(tb.stores, [], async () => {
            if (!revoke) return;
            revoke = false;
            expect(await other.devices.revoke(orgId, s.deviceId, Date.now())).toBe(true);
          }),
          clock: () => Date.now(),
          archives: () => false,
        }).relay;
        const to = { orgId, userId: r.userId };
        const envelopes = () => [{ deviceId: r.deviceId, type: 1, content: randomBytes(16) }];
        // That batch read the sender unrevoked: it goes (it is ordered before the revocation).
        await relay.sendDecoded(sender, to, envelopes());
        expect(revoke).toBe(false);
        // What it cached is kept under the version it read before the revocation, so the next
        // batch, reading the version the revocation set, reads the sender again.
        await expect(relay.sendDecoded(sender, to, envelopes())).rejects.toMatchObject({
          code: 'DEVICE_REVOKED',
        });
      },
    );
  });
}
