/**
 * End to end: delivery and read receipts (automatic on receipt, markRead; stored per
 * message and user; archived as receipt records; never answered), disappearing-message
 * timers (set by a control message every participant sees; messages leave the devices,
 * never the archive), and display names carried encrypted (the name is a canary the server
 * never sees).
 */
import { randomBytes } from 'node:crypto';
import type { CustosClient } from '@custos/client';
import { userAddress } from '@custos/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allBytes,
  canaryHits,
  startWorld,
  type ClientWorld,
  type ServerProcess,
  type TestOrg,
} from './client-support.js';
import { queuedRecords } from './client-records.js';

const canary = `name-canary-${randomBytes(12).toString('hex')}`;
let world: ClientWorld<'alice' | 'bob' | 'carol'> | undefined;
let server: ServerProcess;
let org: TestOrg;
let alice: CustosClient;
let bob: CustosClient;
let carol: CustosClient;
const addr = (c: CustosClient): string => userAddress(c.me);

beforeAll(async () => {
  world = await startWorld('custos-receipts-e2e-', ['alice', 'bob', 'carol']);
  ({ server, org } = world);
  ({ alice, bob, carol } = world.users);
});

afterAll(() => world?.close());

describe('receipts, timers and display names end to end (real server process)', () => {
  let first = '';

  it('answers a received message with a delivery receipt, and markRead with a read receipt', async () => {
    first = (await alice.sendText(bob.me, 'did you get this?')).content.id;
    expect((await bob.sync()).map((e) => e.content.text)).toEqual(['did you get this?']);
    // Receipts update the stored message; sync does not return them as events.
    expect(await alice.sync()).toEqual([]);
    const m = alice.messages(bob.me).find((x) => x.id === first)!;
    expect(Object.keys(m.delivered ?? {})).toEqual([addr(bob)]);
    expect(m.read).toBeUndefined();
    await bob.markRead(alice.me, [first]);
    await alice.sync();
    expect(Object.keys(alice.messages(bob.me).find((x) => x.id === first)!.read ?? {})).toEqual([addr(bob)]);
    // A receipt is never answered: bob has nothing queued.
    expect(await bob.sync()).toEqual([]);
    const left = (await bob.api.request('GET', '/v1/messages')) as { envelopes: unknown[] };
    expect(left.envelopes).toHaveLength(0);
  });

  it('refuses a receipt from someone who was not a recipient', async () => {
    await carol.markRead(alice.me, [first]); // carol never got it: nothing to acknowledge, nothing sent
    await carol.send(alice.me, { kind: 'receipt', receipt: 'read', receiptFor: [first] });
    await alice.sync();
    expect(Object.keys(alice.messages(bob.me).find((x) => x.id === first)!.read ?? {})).toEqual([addr(bob)]);
  });

  it('archives receipts as receipt records on both sides', async () => {
    const atAlice = (await queuedRecords(alice, org)).filter((r) => r.kind === 'receipt');
    expect(atAlice.filter((r) => r.sender === addr(bob)).map((r) => [r.direction, r.text])).toEqual([
      ['received', `delivered\n${first}`],
      ['received', `read\n${first}`],
    ]);
    const atBob = (await queuedRecords(bob, org)).filter((r) => r.kind === 'receipt');
    expect(atBob.map((r) => [r.direction, r.text])).toEqual([
      ['sent', `delivered\n${first}`],
      ['sent', `read\n${first}`],
    ]);
  });

  it('collects delivery and read receipts per member in a group', async () => {
    const g = await alice.createGroup('Desk', [bob.me, carol.me]);
    await bob.sync();
    await carol.sync();
    const id = (await alice.sendToGroup(g.id, { kind: 'message', text: 'group ping' })).content.id;
    await bob.sync();
    await carol.sync();
    await carol.markRead(g.id, [id]);
    await alice.sync();
    const m = alice.groupMessages(g.id).find((x) => x.id === id)!;
    expect(Object.keys(m.delivered ?? {}).sort()).toEqual([addr(bob), addr(carol)].sort());
    expect(Object.keys(m.read ?? {})).toEqual([addr(carol)]);
  });

  it('sets a disappearing timer that every participant sees; messages leave the devices, never the archive', async () => {
    await alice.setDisappearingTimer(bob.me, 60);
    await bob.sync();
    expect(bob.disappearingTimer(alice.me)).toBe(60);
    const sent = await alice.sendText(bob.me, 'this will vanish');
    expect(sent.content.timer).toBe(60);
    await bob.sync();
    const now = Date.now();
    expect(bob.messages(alice.me).find((x) => x.id === sent.content.id)?.timer).toBe(60);
    expect(bob.expireMessages(now)).toBe(0);
    expect(bob.expireMessages(now + 61_000)).toBe(1);
    expect(alice.expireMessages(now + 61_000)).toBe(1);
    for (const c of [alice, bob])
      expect(c.messages(bob.me === c.me ? alice.me : bob.me).some((x) => x.id === sent.content.id)).toBe(
        false,
      );
    // Messages sent before the timer stay.
    expect(alice.messages(bob.me).some((x) => x.id === first)).toBe(true);
    for (const who of [alice, bob]) {
      const recs = await queuedRecords(who, org);
      expect(recs.find((r) => r.messageId === sent.content.id)).toMatchObject({
        text: 'this will vanish',
        timerSeconds: 60,
      });
      expect(recs.filter((r) => r.kind === 'timer-change').map((r) => r.timerSeconds)).toEqual([60]);
    }
    await bob.setDisappearingTimer(alice.me, 0);
    await alice.sync();
    expect(alice.disappearingTimer(bob.me)).toBe(0);
    expect((await alice.sendText(bob.me, 'stays')).content.timer).toBeUndefined();
  });

  it('sets a group timer for every member', async () => {
    const g = alice.groups()[0]!;
    await bob.setDisappearingTimer(g.id, 30);
    await alice.sync();
    await carol.sync();
    expect([alice, bob, carol].map((c) => c.disappearingTimer(g.id))).toEqual([30, 30, 30]);
  });

  it('carries display names encrypted: peers learn them, the server never does', async () => {
    alice.setDisplayName(`Alice ${canary}`);
    await alice.sendText(bob.me, 'it is me');
    await bob.sync();
    expect(bob.contacts().find((c) => userAddress(c.user) === addr(alice))?.name).toBe(`Alice ${canary}`);
    expect(bob.contacts().find((c) => userAddress(c.user) === addr(carol))?.name).toBeUndefined();
    await new Promise((r) => setTimeout(r, 300)); // let the server's WAL settle; not a timing assertion
    expect(canaryHits(allBytes(server.dataDir), canary)).toBe(0);
    expect(server.stdout + server.stderr).not.toContain(canary);
  });
});
