/**
 * End to end against a real server process: an enrolled device keeps its archive material
 * current (archive/archive-material.ts). After a quorum re-issues the key-manager
 * delegation, an admin moves the user to another retention class, buckets are generated
 * ahead (one beyond the old delegation's window) and an officer grants an index key, the
 * device's next sync picks all of it up: its next records go to the new class's bucket
 * (with blind tokens), and, once its clock reaches it, to the bucket generated ahead. A
 * bucket key the server slips in that the key manager did not sign is refused with a
 * warning and never sealed to.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import {
  deriveBucketIndexKeyBytes,
  generateBucketKeyPair,
  parseRecord,
  sealBucketKeyDocument,
  sealKeyManagerDelegation,
} from '@custos/core';
import { CustosClient, sealIndexKeyForDevice, type RetentionClass } from '@custos/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeQueued } from '../packages/client/src/archive/capture.js';
import { INDEX_KEY_RETRY_MS } from '../packages/client/src/client/archive-work.js';
import { readClientStore } from '../packages/client/src/custos-client.js';
import { isPending } from '../packages/client/src/archive/pending-records.js';
import {
  enrolUser,
  requestPath,
  startWorld,
  until,
  type ClientWorld,
  type TestOrg,
} from './client-support.js';
import { logEntries } from './client-records.js';

const DAY = 86_400_000;

let world: ClientWorld<'alice' | 'bob'> | undefined;
let org: TestOrg;
let alice: CustosClient;
let bob: CustosClient;
const extra: CustosClient[] = [];

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const rawPublic = (k: KeyObject): Uint8Array =>
  new Uint8Array(Buffer.from(createPublicKey(k).export({ format: 'jwk' }).x!, 'base64url'));

/** The bucket and token count of each sealed record queued in `client`'s profile (read beside the running client). */
function queued(client: CustosClient): Promise<{ seq: number; bucket: string; tokens: number }[]> {
  return readClientStore(client, (store) =>
    store.list('archive-queue').flatMap((r) => {
      if (isPending(r.value)) return [];
      const q = decodeQueued(r.value);
      return [{ seq: q.seq, bucket: q.bucket, tokens: parseRecord(q.bytes).header.tokens.length }];
    }),
  );
}

/** Signs and registers a bucket as the key manager; resolves to its id. */
async function registerBucket(
  id: string,
  retentionClass: RetentionClass,
  window: { notBefore: number; notAfter: number },
): Promise<string> {
  const pair = await generateBucketKeyPair();
  const document = sealBucketKeyDocument(
    {
      org: org.orgId,
      bucket: id,
      retentionClass,
      period: id,
      ...window,
      publicKey: pair.publicKey.toBytes(),
    },
    org.keyManager,
  );
  await org.officer.api.request('POST', `/v1/orgs/${org.orgId}/buckets`, {
    body: { document: b64(document) },
  });
  return id;
}

/** A fetch that appends `extraBucket` to the first page of the bucket listing (a substituting server). */
function addingBucketFetch(extraBucket: Record<string, unknown>): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    if ((init?.method ?? 'GET') !== 'GET' || !/\/buckets$/.test(url.pathname) || url.search !== '')
      return res;
    const body = (await res.json()) as { buckets: unknown[] };
    return new Response(JSON.stringify({ buckets: [...body.buckets, extraBucket] }), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  };
}

beforeAll(async () => {
  world = await startWorld('custos-key-refresh-', ['alice', 'bob']);
  ({ org } = world);
  ({ alice, bob } = world.users);
});

afterAll(async () => {
  await world?.close(extra);
});

/** Plays the officer's `custos console grant-index-keys` for one device, without the device refreshing. */
async function grantIndexKey(client: CustosClient, bucketId: string): Promise<void> {
  const key = deriveBucketIndexKeyBytes(org.indexSecret, bucketId);
  const blob = sealIndexKeyForDevice(client.identityKey, org.orgId, bucketId, client.profile.deviceId, key);
  await org.officer.api.request(
    'PUT',
    `/v1/orgs/${org.orgId}/buckets/${bucketId}/index-keys/${client.profile.deviceId}`,
    { body: { blob: b64(blob) } },
  );
}

describe('index keys granted after enrolment', () => {
  it('the first record sealed after a grant carries blind tokens, without a sync', async () => {
    // Enrolled before any grant: the device holds no index key.
    const carol = await enrolUser(world!.server, org.admin, join(world!.dir, 'carol'));
    extra.push(carol);
    // A send refreshes the archive material (index keys included) when due: this one makes
    // the next refresh 15 minutes away, as a device in use has it.
    await carol.sendText(bob.me, 'before the grant');
    await carol.sealArchive();
    expect((await queued(carol)).at(-1)!.tokens).toBe(0);
    await grantIndexKey(carol, org.bucketId);
    await carol.sendText(bob.me, 'first message after the grant');
    await carol.sealArchive();
    const last = (await queued(carol)).at(-1)!;
    expect(last.bucket).toBe(org.bucketId);
    expect(last.tokens).toBeGreaterThan(0);
  });

  it('a device that cannot fetch index keys still seals, without tokens', async () => {
    const dan = await enrolUser(world!.server, org.admin, join(world!.dir, 'dan'));
    await grantIndexKey(dan, org.bucketId);
    await dan.close();
    const failing: typeof fetch = async (input, init) => {
      if (requestPath(input) === '/v1/index-keys') throw new TypeError('fetch failed');
      return fetch(input, init);
    };
    const offline = CustosClient.open(join(world!.dir, 'dan'), { api: { fetch: failing } });
    extra.push(offline);
    await offline.sendText(bob.me, 'sealed although the index keys cannot be fetched');
    expect(await offline.sealArchive()).toBe(1);
    expect((await queued(offline)).at(-1)!.tokens).toBe(0);
  });
});

describe('asking for index keys before a seal', () => {
  it('asks before every seal batch while the key is missing; after a failed ask, only INDEX_KEY_RETRY_MS later', async () => {
    const dir = join(world!.dir, 'erin');
    const erin = await enrolUser(world!.server, org.admin, dir);
    await erin.close();
    // Counts the asks; `offline` makes them fail as an unreachable server would.
    const net = { asks: 0, offline: false, skewMs: 0 };
    const counting: typeof fetch = async (input, init) => {
      if (requestPath(input) === '/v1/index-keys') {
        net.asks++;
        if (net.offline) throw new TypeError('fetch failed');
      }
      return fetch(input, init);
    };
    const client = CustosClient.open(dir, { api: { fetch: counting }, clock: () => Date.now() + net.skewMs });
    extra.push(client);
    const sealOne = async (text: string): Promise<void> => {
      await client.sendText(bob.me, text);
      await client.sealArchive();
    };
    // The first send refreshes the archive material (index keys included): the next refresh
    // is then 15 minutes away, as on a device in use.
    await sealOne('first');
    net.asks = 0;
    // Answered, but no key granted: each batch asks again, so a grant reaches the very next
    // record (docs/client.md §6) — by design, not paused.
    for (let i = 0; i < 3; i++) await sealOne(`no key yet ${i}`);
    expect(net.asks).toBe(3);
    // The server cannot be reached: one ask, then none until the pause is over.
    net.offline = true;
    for (let i = 0; i < 3; i++) await sealOne(`offline ${i}`);
    expect(net.asks).toBe(4);
    net.skewMs = INDEX_KEY_RETRY_MS;
    await sealOne('after the pause');
    expect(net.asks).toBe(5);
    expect((await queued(client)).map((q) => q.tokens)).toEqual(Array(8).fill(0));
  });
});

describe('archive material refresh', () => {
  let start = 0;
  let permanentNow: string;
  let permanentAhead: string;

  it('a device picks up a re-issued delegation, a new retention class, new buckets and an index key at sync', async () => {
    const old = alice.profile.keyManager;
    start = old.notBefore;
    expect(alice.profile.retentionClass).toBe('standard');
    await alice.sendText(bob.me, 'before the change');
    await alice.sealArchive();
    expect((await queued(alice)).at(-1)!.bucket).toBe(org.bucketId);

    // A bucket beyond the current delegation is refused by the server until a quorum re-issues it.
    const aheadWindow = { notBefore: old.notAfter + DAY, notAfter: old.notAfter + 31 * DAY };
    await expect(registerBucket('permanent-ahead', 'permanent', aheadWindow)).rejects.toThrow();
    const renewed = sealKeyManagerDelegation(
      { key: rawPublic(org.keyManager), notBefore: old.notBefore, notAfter: old.notAfter + 400 * DAY },
      org.signingKey,
    );
    await org.officer.api.request('PUT', `/v1/orgs/${org.orgId}/key-manager`, {
      body: { delegation: b64(renewed) },
    });
    permanentNow = await registerBucket('permanent-now', 'permanent', {
      notBefore: start,
      notAfter: Date.now() + 30 * DAY,
    });
    permanentAhead = await registerBucket('permanent-ahead', 'permanent', aheadWindow);
    await org.admin.api.request('PUT', `/v1/orgs/${org.orgId}/users/${alice.me.userId}/retention`, {
      body: { retentionClass: 'permanent' },
    });
    const indexKey = deriveBucketIndexKeyBytes(org.indexSecret, permanentNow);
    const blob = sealIndexKeyForDevice(
      alice.identityKey,
      org.orgId,
      permanentNow,
      alice.profile.deviceId,
      indexKey,
    );
    await org.officer.api.request(
      'PUT',
      `/v1/orgs/${org.orgId}/buckets/${permanentNow}/index-keys/${alice.profile.deviceId}`,
      { body: { blob: b64(blob) } },
    );

    // Nothing changes on the device until it asks the server.
    expect(alice.profile.retentionClass).toBe('standard');
    await alice.sync();
    expect(alice.profile.retentionClass).toBe('permanent');
    expect(alice.profile.keyManager.notAfter).toBe(old.notAfter + 400 * DAY);
    expect(alice.archiveStatus().refusedBuckets).toEqual([]);

    const sent = await alice.sendText(bob.me, 'after the change');
    await alice.sealArchive();
    const last = (await queued(alice)).at(-1)!;
    expect(last.bucket).toBe(permanentNow);
    expect(last.tokens).toBeGreaterThan(0);
    // Bob's device was not moved: its records stay in the standard bucket.
    await bob.sync();
    expect(bob.messages(alice.me).map((m) => m.id)).toContain(sent.content.id);
    await bob.sealArchive();
    expect((await queued(bob)).at(-1)!.bucket).toBe(org.bucketId);

    // The log holds the record under the new bucket (the server checked it against its window).
    await until(async () => (await alice.flushArchive()).proofs.waiting === 0, 'receipts');
    const entries = await logEntries(world!.server, org);
    const mine = entries.flatMap((e) =>
      e.type === 'archive-record' && e.device === alice.profile.deviceId ? [e] : [],
    );
    expect(mine.find((e) => e.seq === last.seq)?.bucket).toBe(permanentNow);
    // The reopened profile keeps what it learnt.
    await alice.close();
    alice = CustosClient.open(join(world!.dir, 'alice'));
    extra.push(alice);
    expect(alice.profile.retentionClass).toBe('permanent');
  });

  it('a bucket key the key manager did not sign is refused with a warning and never sealed to', async () => {
    await alice.close();
    const forger = generateKeyPairSync('ed25519');
    const forgedPair = await generateBucketKeyPair();
    // A later start than permanent-now: were it accepted, the device would prefer it.
    const window = { notBefore: start + 1000, notAfter: Date.now() + 20 * DAY };
    const forged = sealBucketKeyDocument(
      {
        org: org.orgId,
        bucket: 'zz-forged',
        retentionClass: 'permanent',
        period: 'forged',
        ...window,
        publicKey: forgedPair.publicKey.toBytes(),
      },
      forger.privateKey,
    );
    const substituting = addingBucketFetch({
      bucketId: 'zz-forged',
      retentionClass: 'permanent',
      period: 'forged',
      ...window,
      publicKey: b64(forgedPair.publicKey.toBytes()),
      document: b64(forged),
      logIndex: 0,
    });
    const victim = CustosClient.open(join(world!.dir, 'alice'), { api: { fetch: substituting } });
    extra.push(victim);
    alice = victim;
    const before = victim.warnings().length;
    await victim.sync();
    const warnings = victim.warnings().slice(before);
    expect(warnings).toEqual([
      expect.objectContaining({
        kind: 'archive-key-refused',
        from: 'server',
        detail: expect.stringMatching(/zz-forged refused \(.*signature does not verify\)/),
      }),
    ]);
    expect(victim.archiveStatus().refusedBuckets.map((r) => r.bucketId)).toEqual(['zz-forged']);
    await victim.sendText(bob.me, 'still sealed to the verified bucket');
    await alice.sealArchive();
    expect((await queued(alice)).at(-1)!.bucket).toBe(permanentNow);
    // The same refusal is not repeated at the next sync.
    await victim.sync();
    expect(victim.warnings().length).toBe(before + 1);
    await until(async () => (await victim.flushArchive()).proofs.waiting === 0, 'receipts');
    const entries = await logEntries(world!.server, org);
    expect(entries.some((e) => e.type === 'archive-record' && e.bucket === 'zz-forged')).toBe(false);
  });

  it('records captured once the clock reaches a bucket generated ahead go to that bucket', async () => {
    // Last: a record of a future bucket cannot be uploaded before the server's time reaches it.
    await alice.close();
    const row = (await org.officer.api.request('GET', `/v1/orgs/${org.orgId}/buckets`)) as {
      buckets: { bucketId: string; notBefore: number }[];
    };
    const target = row.buckets.find((b) => b.bucketId === permanentAhead)!;
    const offset = target.notBefore + DAY - Date.now();
    const later = CustosClient.open(join(world!.dir, 'alice'), { clock: () => Date.now() + offset });
    extra.push(later);
    await later.sendText(bob.me, 'from next year');
    await later.sealArchive();
    expect((await queued(later)).at(-1)!.bucket).toBe(permanentAhead);
  });
});
