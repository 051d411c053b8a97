/**
 * End to end: a real server process, an organisation with real signed key documents, and
 * client profiles for alice (two devices) and bob. Messages both ways over HTTP sync and
 * the WebSocket, fan-out and sync copies with the mismatched-devices repair, the archive
 * notice, archive capture → upload → signed checkpoint → verified receipt, and the canary
 * absent from every server file and from the clients' folders.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { decodeEntryBundle, entryBundlePath, hashLeaf, TILE_WIDTH, verifyReceipt } from '@custos/core';
import type { CustosClient } from '@custos/client';
import { type PeerUser } from '@custos/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allBytes,
  canaryHits,
  deliverIndexKey,
  linkDevice,
  startWorld,
  until,
  type ClientWorld,
  type ServerProcess,
  type TestOrg,
} from './client-support.js';
import { logEntries } from './client-records.js';

const canary = `canary-${randomBytes(12).toString('hex')}`;
let world: ClientWorld<'alice' | 'bob'> | undefined;
let dir: string;
let server: ServerProcess;
let org: TestOrg;
let alice: CustosClient;
let alice2: CustosClient;
let bob: CustosClient;
const userOf = (c: CustosClient): PeerUser => c.me;

/** Uploads and verifies until every captured record of `c` has a verified receipt. */
async function archiveAll(c: CustosClient): Promise<void> {
  await until(async () => {
    await c.flushArchive();
    const s = c.archiveStatus();
    return s.queued === 0 && s.receipts === s.nextSeq;
  }, 'archive receipts');
}

beforeAll(async () => {
  world = await startWorld('custos-client-e2e-', ['alice', 'bob']);
  ({ dir, server, org } = world);
  ({ alice, bob } = world.users);
});

afterAll(() => world?.close([alice2]));

describe('client end to end (real server process)', () => {
  it('exchanges messages both ways; each side decrypts and sees the archive notice', async () => {
    const sent = await alice.sendText(userOf(bob), `hello bob ${canary}`);
    expect(sent.archiveSeq).toBe(0);
    const got = await bob.sync();
    expect(got.map((e) => e.content.text)).toEqual([`hello bob ${canary}`]);
    expect(got[0]!.content.notice).toEqual({ org: org.orgId, name: org.name });
    await bob.sendText(userOf(alice), 'hi alice', { replyTo: sent.content.id });
    const back = await alice.sync();
    expect(back.map((e) => [e.content.text, e.content.replyTo])).toEqual([['hi alice', sent.content.id]]);
    expect(alice.messages(userOf(bob)).map((m) => m.text)).toEqual([`hello bob ${canary}`, 'hi alice']);
    expect(bob.messages(userOf(alice)).map((m) => m.direction)).toEqual(['received', 'sent']);
    // F17: every participant's client reports who archives the conversation.
    expect(bob.archivedBy(userOf(alice))).toEqual([{ org: org.orgId, name: org.name }]);
  });

  it('delivers over the WebSocket and acknowledges after storing', async () => {
    await bob.connect();
    await alice.sendText(userOf(bob), 'over the socket');
    await until(
      () => bob.messages(userOf(alice)).some((m) => m.text === 'over the socket'),
      'socket delivery',
    );
    await bob.settled();
    // Acknowledged: nothing left queued for bob. The socket's acknowledgement asks for no answer,
    // so the server may still be committing it when bob has stored the message: wait for that.
    await until(async () => {
      const left = (await bob.api.request('GET', '/v1/messages')) as { envelopes: unknown[] };
      return left.envelopes.length === 0;
    }, 'the acknowledgement committed');
  });

  it('edits, deletes and reacts by stable message id; only the sender may edit', async () => {
    const m = await alice.sendText(userOf(bob), 'tpyo');
    await alice.send(userOf(bob), { kind: 'edit', edits: m.content.id, text: 'typo' });
    await bob.send(userOf(alice), { kind: 'reaction', reactsTo: m.content.id, emoji: '👍' });
    await until(async () => {
      await bob.settled();
      return bob.messages(userOf(alice)).find((x) => x.id === m.content.id)?.edited === true;
    }, 'edit at bob');
    // Only the sender edits: bob's device, which holds alice's message, refuses to send an edit of it.
    await expect(
      bob.send(userOf(alice), { kind: 'edit', edits: m.content.id, text: 'hijacked' }),
    ).rejects.toMatchObject({ code: 'NOT_OWN_MESSAGE' });
    await alice.sync();
    const atAlice = alice.messages(userOf(bob)).find((x) => x.id === m.content.id)!;
    expect(atAlice.text).toBe('typo');
    expect(atAlice.reactions).toEqual([{ from: `${bob.me.orgId}.${bob.me.userId}`, emoji: '👍' }]);
    await alice.send(userOf(bob), { kind: 'delete', deletes: m.content.id });
    await until(async () => {
      await bob.settled();
      return bob.messages(userOf(alice)).find((x) => x.id === m.content.id)?.deleted === true;
    }, 'delete at bob');
  });

  it('fans out to a new device of the recipient after MISMATCHED_DEVICES, with sync copies', async () => {
    alice2 = await linkDevice(server, alice, join(dir, 'alice2'));
    await deliverIndexKey(org, alice2);
    // bob's cached device list for alice has one device: the server answers mismatched, bob repairs.
    await bob.sendText(userOf(alice), 'to both of you');
    const [a1, a2] = [await alice.sync(), await alice2.sync()];
    expect(a1.map((e) => e.content.text)).toEqual(['to both of you']);
    expect(a2.map((e) => e.content.text)).toEqual(['to both of you']);
    // alice's first device tells her of the device added to her account; the new one warns of none.
    const added = (c: CustosClient) => c.warnings().filter((w) => w.kind === 'own-device-added');
    expect(added(alice).map((w) => w.detail)).toEqual([
      expect.stringMatching(
        /^a new device \(#2\) was added to your account on .* UTC; if it was not you, revoke it \('custos devices revoke'\) and tell your security officer$/,
      ),
    ]);
    expect(added(alice2)).toEqual([]);
    // alice2 writes; alice (device 1) gets the sync copy filed under the conversation with bob.
    await alice2.sendText(userOf(bob), 'from my second device');
    const sync = await alice.sync();
    expect(sync.map((e) => [e.content.text, e.peer.userId, e.from.userId])).toEqual([
      ['from my second device', bob.me.userId, alice.me.userId],
    ]);
    await until(async () => {
      await bob.settled();
      return bob.messages(userOf(alice)).some((m) => m.text === 'from my second device');
    }, 'bob gets alice2');
  });

  it("uploads every device's records, proves them in a signed checkpoint, and keeps verified receipts", async () => {
    await bob.settled();
    for (const c of [alice, alice2, bob]) await archiveAll(c);
    const log = (await (await fetch(`${server.url}/v1/orgs/${org.orgId}/log`)).json()) as {
      origin: string;
      verifierKey: string;
    };
    const entries = await logEntries(server, org);
    for (const c of [alice, alice2, bob]) {
      const receipts = c.archiveReceipts();
      expect(receipts.map((r) => r.seq)).toEqual([...Array(c.archiveStatus().nextSeq).keys()]);
      for (const r of receipts) {
        // Re-verify independently: the entry at the index is this record's, and the receipt proves it.
        const e = entries[r.logIndex]!;
        expect(e.type).toBe('archive-record');
        expect(e.actor).toBe(c.profile.deviceId);
        const leaf = hashLeaf(
          await (async () => {
            const bi = Math.floor(r.logIndex / TILE_WIDTH);
            const width = Math.min(TILE_WIDTH, r.treeSize! - bi * TILE_WIDTH);
            const res = await fetch(
              `${server.url}/v1/orgs/${org.orgId}/log/${entryBundlePath({ index: bi, width })}`,
            );
            return decodeEntryBundle(new Uint8Array(await res.arrayBuffer()), width)[
              r.logIndex - bi * TILE_WIDTH
            ]!;
          })(),
        );
        expect(verifyReceipt(r.receipt!, leaf, [log.verifierKey], log.origin).index).toBe(r.logIndex);
      }
    }
    // Each record is in the log exactly once.
    const mine = entries.filter((e) => e.type === 'archive-record');
    const keys = mine.map(
      (e) => `${e.type === 'archive-record' ? e.device : ''}/${e.type === 'archive-record' ? e.seq : ''}`,
    );
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('leaves no canary in any server file, nor in clear in any client folder', async () => {
    await new Promise((r) => setTimeout(r, 300)); // let the server's WAL settle; not a timing assertion
    expect(canaryHits(Buffer.from(`x${canary}x`), canary)).toBeGreaterThan(0); // positive control
    expect(canaryHits(allBytes(server.dataDir), canary)).toBe(0);
    expect(server.stdout + server.stderr).not.toContain(canary);
    for (const d of ['alice', 'bob', 'alice2']) expect(canaryHits(allBytes(join(dir, d)), canary)).toBe(0);
  });
});
