/**
 * End to end, no captured record waits for the user's next action. A connected client
 * (`connect()`, as `custos chat` holds it) that receives a message and then stays idle
 * seals, uploads and receipts the received record and the delivery receipt it sent, with
 * no further call; when uploads fail it keeps retrying in the background. `custos sync`
 * alone leaves the device with every record proven and an empty queue.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CustosClient } from '@custos/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  enrolUser,
  requestPath,
  startWorld,
  stopServer,
  tempDir,
  until,
  type ClientWorld,
} from './client-support.js';
import { logSeqs } from './client-records.js';
import { cliOrg, custos, custosJson, inviteAndEnrol, type CliOrg } from './cli-support.js';

vi.setConfig({ testTimeout: 600_000 });

let world: ClientWorld<'alice' | 'bob'> | undefined;
const extra: CustosClient[] = [];

beforeAll(async () => {
  world = await startWorld('custos-archive-background-', ['alice', 'bob']);
}, 600_000);

afterAll(() => world?.close(extra));

const seqs = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('background archive upload of a connected client (real server process)', () => {
  it('seals, uploads and receipts what a connected client receives, with no further call', async () => {
    const { alice, bob } = world!.users;
    await bob.connect();
    const sent = await alice.sendText(bob.me, 'received while idle');
    await until(() => bob.messages(alice.me).some((m) => m.id === sent.content.id), 'socket delivery');
    // bob captured the message and the delivery receipt he sent; from here on nobody calls bob.
    await until(
      () => bob.archiveStatus().nextSeq >= 2 && bob.archiveStatus().queued === 0,
      'background upload and proofs',
      120_000,
    );
    const status = bob.archiveStatus();
    expect(status.uploadedThrough).toBe(status.nextSeq - 1);
    expect(status.receipts).toBe(status.nextSeq);
    expect(status.lastVerifiedTreeSize).toBeGreaterThan(0);
    expect(bob.archiveReceipts().map((r) => r.seq)).toEqual(seqs(status.nextSeq));
    expect(await logSeqs(world!.server, world!.org, bob.profile.deviceId)).toEqual(seqs(status.nextSeq));
  });

  it('keeps retrying in the background while uploads fail, then proves every record', async () => {
    const { alice } = world!.users;
    const { server, org, dir } = world!;
    const profileDir = join(dir, 'carol');
    await (await enrolUser(server, org.admin, profileDir)).close();
    let refused = 0;
    // The first three uploads fail as a network fault would.
    const flaky: typeof fetch = async (input, init) => {
      if (init?.method === 'POST' && requestPath(input) === '/v1/archive/batches' && refused < 3) {
        refused++;
        throw new TypeError('connection reset');
      }
      return fetch(input, init);
    };
    const carol = CustosClient.open(profileDir, { api: { fetch: flaky } });
    extra.push(carol);
    await carol.connect();
    await alice.sendText(carol.me, 'one');
    await alice.sendText(carol.me, 'two');
    await until(() => carol.messages(alice.me).length === 2, 'socket delivery');
    await until(
      () => carol.archiveStatus().queued === 0 && carol.archiveStatus().receipts > 0,
      'receipts',
      180_000,
    );
    expect(refused).toBe(3);
    const n = carol.archiveStatus().nextSeq;
    expect(n).toBeGreaterThanOrEqual(3); // two messages and at least one delivery receipt
    expect(carol.archiveReceipts().map((r) => r.seq)).toEqual(seqs(n));
    expect(await logSeqs(server, org, carol.profile.deviceId)).toEqual(seqs(n));
  });

  it('stops uploading on disconnect: a record captured afterwards waits for the next flush', async () => {
    const { alice } = world!.users;
    const carol = extra[0]!;
    await carol.disconnect();
    const before = carol.archiveStatus().nextSeq;
    await carol.sendText(alice.me, 'after disconnect');
    // Sealed in the background (the send's operation queue), but not uploaded: nothing runs on its own.
    await carol.sealArchive();
    expect(carol.archiveStatus()).toMatchObject({
      queued: 1,
      nextSeq: before + 1,
      uploadedThrough: before - 1,
    });
    await until(async () => (await carol.flushArchive(), carol.archiveStatus().queued === 0), 'receipts');
  });
});

describe('`custos sync` alone', () => {
  let dir: string;
  let org: CliOrg | undefined;
  afterAll(async () => {
    if (org !== undefined) await stopServer(org.server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves every received record uploaded and proven, and the queue empty', async () => {
    dir = tempDir('custos-sync-alone-');
    org = await cliOrg(dir);
    const alice = join(dir, 'alice');
    const bob = join(dir, 'bob');
    await inviteAndEnrol(org, 'alice', alice);
    const bobAddress = await inviteAndEnrol(org, 'bob', bob);
    await custosJson(['contacts', 'add', 'bob', bobAddress, '--profile', alice]);
    for (const text of ['first', 'second'])
      await custosJson(['send', '--to', 'bob', text, '--profile', alice]);
    const synced = await custosJson<{
      events: { text?: string }[];
      archive: { uploaded: number; verified: number; waiting: number; queued: number };
    }>(['sync', '--profile', bob]);
    expect(synced.events.map((e) => e.text)).toEqual(['first', 'second']);
    // Two received messages and the delivery receipt sent for them.
    expect(synced.archive).toMatchObject({ uploaded: 3, verified: 3, waiting: 0, queued: 0 });
    const status = await custosJson<{
      queued: number;
      receipts: number;
      nextSeq: number;
      lastReceiptSeq?: number;
      lastVerifiedTreeSize?: number;
    }>(['archive', 'status', '--profile', bob]);
    expect(status).toMatchObject({ queued: 0, receipts: 3, nextSeq: 3, lastReceiptSeq: 2 });
    expect(status.lastVerifiedTreeSize).toBeGreaterThan(0);
    // The same in words: queue depth, last receipt, last verified checkpoint.
    const text = (await custos(['archive', 'status', '--profile', bob])).stdout;
    expect(text).toMatch(/Queue: 0 record\(s\)/);
    expect(text).toMatch(/Verified receipts: 3 \(last: record 2\)/);
    expect(text).toMatch(/Last verified checkpoint: tree size [1-9]/);
    // The sender's sync: her two messages and bob's delivery receipt, each proven (README step 7).
    await custosJson(['sync', '--profile', alice]);
    const aliceStatus = await custosJson<{ queued: number; receipts: number }>([
      'archive',
      'status',
      '--profile',
      alice,
    ]);
    expect(aliceStatus).toMatchObject({ queued: 0, receipts: 3 });
  });
});
