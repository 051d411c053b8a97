/**
 * End to end against a real server process (docs/keys.md §5, docs/client.md §4): a quorum
 * rotates the key-manager key. The server refuses a rotation the org signing key did not
 * sign; a lying server that serves one anyway is refused by the device, which keeps its
 * delegation and warns. A genuine rotation is adopted at the next sync: the device keeps the
 * old key as a superseded link (the current bucket it verified stays valid), drops the old
 * key's bucket for a later window, and seals its next records to the bucket signed by the new
 * key, which the server accepts and logs.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { generateBucketKeyPair, sealBucketKeyDocument, sealKeyManagerDelegation } from '@custos/core';
import { CustosClient, type RetentionClass } from '@custos/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeQueued } from '../packages/client/src/archive/capture.js';
import { isPending } from '../packages/client/src/archive/pending-records.js';
import { readClientStore } from '../packages/client/src/custos-client.js';
import { logEntries } from './client-records.js';
import { requestPath, startWorld, until, type ClientWorld, type TestOrg } from './client-support.js';

const DAY = 86_400_000;

let world: ClientWorld<'alice' | 'bob'> | undefined;
let org: TestOrg;
let alice: CustosClient;
let bob: CustosClient;
const extra: CustosClient[] = [];

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const rawPublic = (k: KeyObject): Uint8Array =>
  new Uint8Array(Buffer.from(createPublicKey(k).export({ format: 'jwk' }).x!, 'base64url'));
/** Wraps for the root and the one officer of client-support's org (opaque to the server). */
const WRAPS = [
  { recipient: 'root', blob: b64(Buffer.from('root wrap')) },
  { recipient: '0', blob: b64(Buffer.from('officer wrap')) },
];

/** The bucket of the last sealed record queued in `client`'s profile (read beside the running client). */
function lastQueuedBucket(client: CustosClient): Promise<string | undefined> {
  return readClientStore(
    client,
    (store) =>
      store
        .list('archive-queue')
        .flatMap((r) => (isPending(r.value) ? [] : [decodeQueued(r.value)]))
        .at(-1)?.bucket,
  );
}

async function registerBucket(
  id: string,
  signer: KeyObject,
  window: { notBefore: number; notAfter: number },
  retentionClass: RetentionClass = 'standard',
): Promise<void> {
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
    signer,
  );
  await org.officer.api.request('POST', `/v1/orgs/${org.orgId}/buckets`, {
    body: { document: b64(document) },
  });
}

const rotate = (delegation: Uint8Array) =>
  org.officer.api.request('POST', `/v1/orgs/${org.orgId}/key-manager/rotations`, {
    body: { delegation: b64(delegation), wraps: WRAPS },
  });

/** A fetch that replaces the delegation in GET /v1/orgs/:orgId answers (a lying server). */
function substitutingDelegation(delegation: Uint8Array): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    if ((init?.method ?? 'GET') !== 'GET' || requestPath(input) !== `/v1/orgs/${org.orgId}`) return res;
    const body = (await res.json()) as { keyManager: Record<string, unknown> };
    body.keyManager.delegation = b64(delegation);
    return new Response(JSON.stringify(body), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  };
}

beforeAll(async () => {
  world = await startWorld('custos-key-rotation-', ['alice', 'bob']);
  ({ org } = world);
  ({ alice, bob } = world.users);
});

afterAll(async () => {
  await world?.close(extra);
});

describe('key-manager rotation on devices', () => {
  const next = generateKeyPairSync('ed25519');

  it('a rotation not signed by the org key is refused by the server and, served anyway, by the device', async () => {
    const forger = generateKeyPairSync('ed25519');
    const before = alice.profile.keyManager;
    const forged = sealKeyManagerDelegation(
      { key: rawPublic(next.privateKey), notBefore: Date.now() - 60_000, notAfter: before.notAfter },
      forger.privateKey,
    );
    await expect(rotate(forged)).rejects.toThrow(/KEY_MANAGER_INVALID|does not verify/);

    await alice.close();
    const victim = CustosClient.open(join(world!.dir, 'alice'), {
      api: { fetch: substitutingDelegation(forged) },
    });
    extra.push(victim);
    const r = await victim.refreshKeys();
    expect(r.delegation).toBe('refused');
    expect(Buffer.from(victim.profile.keyManager.key)).toEqual(Buffer.from(before.key));
    expect(victim.warnings().some((w) => w.kind === 'archive-key-refused')).toBe(true);
    await victim.close();
    alice = CustosClient.open(join(world!.dir, 'alice'));
    extra.push(alice);
  });

  it('a device adopts a genuine rotation and seals its next records to the new key’s bucket', async () => {
    const old = alice.profile.keyManager;
    // Generated ahead before the rotation: a later month under the old key.
    const oldAhead = { notBefore: Date.now() + 31 * DAY, notAfter: Date.now() + 60 * DAY };
    await registerBucket('standard-old-ahead', org.keyManager, oldAhead);
    await alice.sync();
    await alice.sendText(bob.me, 'before the rotation');
    await alice.sealArchive();
    expect(await lastQueuedBucket(alice)).toBe(org.bucketId);

    const rotationStart = Date.now() - 60_000;
    const delegation = sealKeyManagerDelegation(
      { key: rawPublic(next.privateKey), notBefore: rotationStart, notAfter: old.notAfter },
      org.signingKey,
    );
    await rotate(delegation);
    // The server now takes bucket documents of the new key only.
    await expect(
      registerBucket('standard-late-old', org.keyManager, {
        notBefore: rotationStart,
        notAfter: Date.now() + DAY,
      }),
    ).rejects.toThrow();
    await registerBucket('standard-new', next.privateKey, {
      notBefore: rotationStart,
      notAfter: Date.now() + 30 * DAY,
    });
    await registerBucket('standard-new-ahead', next.privateKey, oldAhead);

    const r = await alice.refreshKeys();
    expect(r.delegation).toBe('rotated');
    expect(r.refused).toEqual([]);
    expect(r.retired).toEqual(['standard-old-ahead']);
    expect(r.accepted).toEqual(expect.arrayContaining([org.bucketId, 'standard-new', 'standard-new-ahead']));
    expect(Buffer.from(alice.profile.keyManager.key)).toEqual(Buffer.from(rawPublic(next.privateKey)));
    expect(alice.profile.previousKeyManagers).toHaveLength(1);
    expect(alice.profile.previousKeyManagers![0]!.supersededAt).toBe(rotationStart);

    await alice.sendText(bob.me, 'after the rotation');
    await alice.sealArchive();
    const dir = join(world!.dir, 'alice');
    expect(await lastQueuedBucket(alice)).toBe('standard-new');
    await until(async () => (await alice.flushArchive()).proofs.waiting === 0, 'receipts');
    const entries = await logEntries(world!.server, org);
    const mine = entries.flatMap((e) =>
      e.type === 'archive-record' && e.device === alice.profile.deviceId ? [e.bucket] : [],
    );
    expect(mine).toContain(org.bucketId);
    expect(mine.at(-1)).toBe('standard-new');
    expect(entries.some((e) => e.type === 'key-event' && e.kind === 'key-manager-rotated')).toBe(true);

    // The device never goes back: the old delegation served again is refused, and the profile keeps the rotation.
    await alice.close();
    const replay = CustosClient.open(dir, {
      api: {
        fetch: substitutingDelegation(
          sealKeyManagerDelegation(
            { key: rawPublic(org.keyManager), notBefore: old.notBefore, notAfter: old.notAfter + DAY },
            org.signingKey,
          ),
        ),
      },
    });
    extra.push(replay);
    expect((await replay.refreshKeys()).delegation).toBe('refused');
    expect(Buffer.from(replay.profile.keyManager.key)).toEqual(Buffer.from(rawPublic(next.privateKey)));
    await replay.close();
    alice = CustosClient.open(dir);
    extra.push(alice);
  });
});
