/**
 * End to end, groups: a real server process and four enrolled users. Create, message,
 * reply, edit, react, delete, rename, remove, leave and add — with state carried only in
 * encrypted control messages (the group name is a canary the server never sees), a removed
 * member's messages refused with a warning, and one archive record per group event with
 * the group id as conversation, the members as participants and kind group-change.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CustosClient, isClientError, LocalStore, userAddress, type PeerUser } from '@custos/client';
import { PrivateKey } from '@signalapp/libsignal-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allBytes,
  canaryHits,
  faultySendFetch,
  requestPath,
  startWorld,
  type ClientWorld,
  type SendFault,
  type ServerProcess,
  type TestOrg,
} from './client-support.js';
import { queuedRecords } from './client-records.js';

const canary = `grp-canary-${randomBytes(12).toString('hex')}`;
let world: ClientWorld<'alice' | 'bob' | 'carol' | 'dave'> | undefined;
let dir: string;
let server: ServerProcess;
let org: TestOrg;
let alice: CustosClient;
let bob: CustosClient;
let carol: CustosClient;
let dave: CustosClient;
let groupId: string;
const addr = (c: CustosClient): string => userAddress(c.me);
const users = (...cs: CustosClient[]): PeerUser[] => cs.map((c) => c.me);
const sortedAddrs = (...cs: CustosClient[]): string[] => cs.map(addr).sort();

beforeAll(async () => {
  world = await startWorld('custos-groups-e2e-', ['alice', 'bob', 'carol', 'dave']);
  ({ dir, server, org } = world);
  ({ alice, bob, carol, dave } = world.users);
});

// alice is reopened by the lost-answer test: close the current one too.
afterAll(() => world?.close([alice]));

describe('groups end to end (real server process)', () => {
  it('creates a group whose state reaches every member inside encrypted content', async () => {
    const g = await alice.createGroup(`Ops ${canary}`, users(bob, carol));
    groupId = g.id;
    expect(g.id).toMatch(/^g\.[A-Za-z0-9_-]{22}$/);
    expect(g.revision).toBe(1);
    for (const c of [bob, carol]) {
      const got = await c.sync();
      expect(got.map((e) => [e.content.kind, e.group])).toEqual([['group-update', g.id]]);
      const seen = c.group(g.id)!;
      expect(seen.name).toBe(`Ops ${canary}`);
      expect(seen.members.map(userAddress).sort()).toEqual(sortedAddrs(alice, bob, carol));
      expect(seen.active).toBe(true);
    }
    expect(dave.groups()).toEqual([]);
  });

  it('carries messages, replies, edits, reactions and deletes inside the group', async () => {
    const m = await alice.sendToGroup(groupId, { kind: 'message', text: 'hello group' });
    expect(m.group).toBe(groupId);
    for (const c of [bob, carol])
      expect((await c.sync()).map((e) => [e.content.text, e.group])).toEqual([['hello group', groupId]]);
    const r = await bob.sendToGroup(groupId, { kind: 'message', text: 'hi all', replyTo: m.content.id });
    await carol.sendToGroup(groupId, { kind: 'reaction', reactsTo: m.content.id, emoji: '👍' });
    await alice.sendToGroup(groupId, { kind: 'edit', edits: m.content.id, text: 'hello, group' });
    // Only the sender edits: bob's device refuses to send an edit of alice's message.
    await expect(
      bob.sendToGroup(groupId, { kind: 'edit', edits: m.content.id, text: 'hijacked' }),
    ).rejects.toMatchObject({ code: 'NOT_OWN_MESSAGE' });
    await alice.sync();
    await carol.sync();
    await bob.sync();
    for (const c of [alice, bob, carol]) {
      const msgs = c.groupMessages(groupId);
      expect(msgs.map((x) => x.text)).toEqual(['hello, group', 'hi all']);
      expect(msgs[1]!.replyTo).toBe(m.content.id);
      expect(msgs[0]!.reactions).toEqual([{ from: addr(carol), emoji: '👍' }]);
      expect(msgs.every((x) => x.group === groupId)).toBe(true);
    }
    await bob.sendToGroup(groupId, { kind: 'delete', deletes: r.content.id });
    await alice.sync();
    expect(alice.groupMessages(groupId).find((x) => x.id === r.content.id)?.deleted).toBe(true);
    // Group messages are not in the 1:1 conversation.
    expect(alice.messages(bob.me).filter((x) => x.group !== undefined)).toEqual([]);
  });

  it('renames by any member; every member converges on the new name and revision', async () => {
    await bob.renameGroup(groupId, 'Operations');
    await alice.sync();
    await carol.sync();
    for (const c of [alice, bob, carol]) {
      expect(c.group(groupId)!.name).toBe('Operations');
      expect(c.group(groupId)!.revision).toBe(2);
    }
  });

  it('removes a member: the removed member learns it, and their later messages are refused with a warning', async () => {
    // carol has not synced the removal yet and still thinks she is a member.
    await alice.removeGroupMembers(groupId, users(carol));
    await bob.sync();
    await carol.sendToGroup(groupId, { kind: 'message', text: 'still here?' });
    await bob.sync();
    expect(bob.groupMessages(groupId).map((x) => x.text)).not.toContain('still here?');
    expect(
      bob
        .warnings()
        .filter((w) => w.kind === 'not-a-member')
        .map((w) => w.from),
    ).toEqual([addr(carol)]);
    await alice.sync();
    expect(alice.warnings().some((w) => w.kind === 'not-a-member' && w.from === addr(carol))).toBe(true);
    await carol.sync();
    expect(carol.group(groupId)!.active).toBe(false);
    expect(carol.group(groupId)!.members.map(userAddress).sort()).toEqual(sortedAddrs(alice, bob));
    await expect(carol.sendToGroup(groupId, { kind: 'message', text: 'x' })).rejects.toSatisfy((e) =>
      isClientError(e, 'NOT_A_MEMBER'),
    );
  });

  it('adds a member, who learns the whole current state; a member leaves', async () => {
    await alice.addGroupMembers(groupId, users(dave));
    await dave.sync();
    await bob.sync();
    expect(dave.group(groupId)).toMatchObject({ name: 'Operations', revision: 4, active: true });
    await bob.leaveGroup(groupId);
    expect(bob.group(groupId)!.active).toBe(false);
    await alice.sync();
    await dave.sync();
    for (const c of [alice, dave])
      expect(c.group(groupId)!.members.map(userAddress).sort()).toEqual(sortedAddrs(alice, dave));
    await dave.sendToGroup(groupId, { kind: 'message', text: 'welcome me' });
    await alice.sync();
    await bob.sync();
    expect(alice.groupMessages(groupId).map((x) => x.text)).toContain('welcome me');
    expect(bob.groupMessages(groupId).map((x) => x.text)).not.toContain('welcome me');
    await expect(alice.removeGroupMembers('g.AAAAAAAAAAAAAAAAAAAAAA', users(dave))).rejects.toSatisfy((e) =>
      isClientError(e, 'GROUP_UNKNOWN'),
    );
  });

  it('archives each group event as one group-change record of the group with its members', async () => {
    const recs = (await queuedRecords(alice, org)).filter((r) => r.conversationId === groupId);
    const changes = recs.filter((r) => r.kind === 'group-change');
    expect(changes.map((r) => [r.direction, r.text, r.added, r.removed])).toEqual([
      ['sent', `Ops ${canary}`, sortedAddrs(alice, bob, carol), []],
      ['received', 'Operations', [], []],
      ['sent', 'Operations', [], [addr(carol)]],
      ['sent', 'Operations', [addr(dave)], []],
      ['received', 'Operations', [], [addr(bob)]],
    ]);
    // Participants: the members at the event (and those it removed).
    expect(changes[2]!.participants).toEqual(sortedAddrs(alice, bob, carol));
    expect(changes[4]!.sender).toBe(addr(bob));
    const first = recs.find((r) => r.kind === 'message')!;
    expect(first.participants).toEqual(sortedAddrs(alice, bob, carol));
    expect(first.archiveNotice).toBe(true);
    // carol's refused message is not archived at alice.
    expect(recs.some((r) => r.text === 'still here?')).toBe(false);
  });

  it('a group send whose answer from the second member is lost completes at the next sync, once, with every envelope archived', async () => {
    const g = await alice.createGroup('Shift', users(bob, carol));
    await bob.sync();
    await carol.sync();
    // The first member's envelopes are answered; the second member's are stored, their answer lost.
    let puts = 0;
    const lossy: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method === 'PUT' && requestPath(input) === '/v1/messages' && ++puts === 2)
        throw new TypeError('connection reset');
      return res;
    };
    alice.crash();
    alice = CustosClient.open(join(dir, 'alice'), { api: { fetch: lossy } });
    await expect(alice.sendToGroup(g.id, { kind: 'message', text: 'half answered' })).rejects.toSatisfy((e) =>
      isClientError(e, 'SEND_PENDING'),
    );
    expect(alice.groupMessages(g.id).map((m) => m.text)).toEqual([]);
    await alice.sync();
    expect(puts).toBe(3); // only the second member's request is sent again (unchanged)
    expect(alice.groupMessages(g.id).map((m) => m.text)).toEqual(['half answered']);
    for (const c of [bob, carol])
      expect((await c.sync()).map((e) => e.content.text)).toEqual(['half answered']);
    const recs = (await queuedRecords(alice, org)).filter((r) => r.text === 'half answered');
    expect(recs.map((r) => r.envelopeHashes.length)).toEqual([2]);
  });

  it('a removal whose answer is lost completes before the next group message is addressed: the removed member never gets it', async () => {
    const g = await alice.createGroup('Vault', users(bob, carol));
    await bob.sync();
    await carol.sync();
    const faults: SendFault[] = [];
    alice.crash();
    alice = CustosClient.open(join(dir, 'alice'), { api: { fetch: faultySendFetch(faults) } });
    faults.push('lose');
    await expect(alice.removeGroupMembers(g.id, users(carol))).rejects.toSatisfy((e) =>
      isClientError(e, 'SEND_PENDING'),
    );
    // Pending: the group's new state applies when the change completes.
    expect(alice.group(g.id)!.members.map(userAddress)).toContain(addr(carol));
    await alice.sendToGroup(g.id, { kind: 'message', text: 'not for carol' });
    expect(alice.group(g.id)!.members.map(userAddress).sort()).toEqual(sortedAddrs(alice, bob));
    expect((await carol.sync()).map((e) => e.content.text ?? e.content.kind)).toEqual(['group-update']);
    expect(carol.group(g.id)!.active).toBe(false);
    expect((await bob.sync()).map((e) => e.content.text ?? e.content.kind)).toEqual([
      'group-update',
      'not for carol',
    ]);
  });

  it('an own group change that completes after a newer update arrived keeps the newer state', async () => {
    const g = await alice.createGroup('Desk', users(bob));
    await bob.sync();
    const faults: SendFault[] = [];
    alice.crash();
    alice = CustosClient.open(join(dir, 'alice'), { api: { fetch: faultySendFetch(faults) } });
    // alice's rename reaches bob, its answer is lost; bob renames again (revision 3).
    faults.push('lose');
    await expect(alice.renameGroup(g.id, 'Desk A')).rejects.toSatisfy((e) =>
      isClientError(e, 'SEND_PENDING'),
    );
    await bob.sync();
    await bob.renameGroup(g.id, 'Desk B');
    // alice's resend gets a 503 (still pending) and she receives bob's rename…
    faults.push(503);
    await alice.sync();
    expect(alice.group(g.id)).toMatchObject({ name: 'Desk B', revision: 3 });
    // …then her rename completes: it is stored as sent, the group stays at the newer state,
    // and its event reports no group change (none was applied).
    expect(
      (await alice.sync()).map((e) => [e.content.kind, e.direction, e.groupChange !== undefined]),
    ).toEqual([['group-update', 'sent', false]]);
    expect(alice.group(g.id)).toMatchObject({ name: 'Desk B', revision: 3 });
    expect(bob.group(g.id)).toMatchObject({ name: 'Desk B', revision: 3 });
  });

  it('a message in a group whose own creation or addition is still pending is held, not refused, and stored and archived once the change completes', async () => {
    const faults: SendFault[] = [];
    alice.crash();
    alice = CustosClient.open(join(dir, 'alice'), { api: { fetch: faultySendFetch(faults) } });
    const warned = alice.warnings().length;
    const texts = (events: { content: { text?: string } }[]) =>
      events.map((e) => e.content.text).filter((t) => t !== undefined);
    // alice's group reaches bob, its answer is lost; bob replies in it.
    faults.push('lose');
    await expect(alice.createGroup('Annex', users(bob))).rejects.toSatisfy((e) =>
      isClientError(e, 'SEND_PENDING'),
    );
    const created = (await bob.sync()).find((e) => e.content.kind === 'group-update')!;
    const g = created.group!;
    await bob.sendToGroup(g, { kind: 'message', text: 'reply to a pending group' });
    // Still unanswered (before the sync's receive and on the retry for bob's message): the
    // message is held, its envelope acknowledged (before: refused as unknown-group, lost).
    faults.push(503, 503);
    expect(texts(await alice.sync())).toEqual([]);
    expect(faults).toEqual([]);
    expect(alice.group(g)).toBeUndefined();
    // Answered: the group, then bob's message, stored — the envelope is not fetched again.
    expect((await alice.sync()).map((e) => [e.direction, e.content.text ?? e.content.kind])).toEqual([
      ['sent', 'group-update'],
      ['received', 'reply to a pending group'],
    ]);
    expect(alice.groupMessages(g).map((m) => m.text)).toEqual(['reply to a pending group']);
    // dave, added (his envelope stored, the answer lost), writes; bob then removes him (a
    // later revision). alice's resends at the sync's start and after its page (once, not once
    // per held envelope) fail: dave's message is held, and bob's removal behind it (before:
    // applied at once, so the completed addition was superseded and dave's message refused as
    // not-a-member).
    faults.push('pass', 'lose');
    await expect(alice.addGroupMembers(g, users(dave))).rejects.toSatisfy((e) =>
      isClientError(e, 'SEND_PENDING'),
    );
    expect((await dave.sync()).map((e) => e.group)).toEqual([g]);
    await dave.sendToGroup(g, { kind: 'message', text: 'new here' });
    await bob.sync();
    await bob.removeGroupMembers(g, users(dave));
    faults.push(503, 503);
    expect(texts(await alice.sync())).toEqual([]);
    // Answered: the addition, then what was held, in arrival order.
    expect((await alice.sync()).map((e) => [e.direction, e.content.text ?? e.content.kind])).toEqual([
      ['sent', 'group-update'],
      ['received', 'new here'],
      ['received', 'group-update'],
    ]);
    expect(alice.group(g)!.members.map(userAddress).sort()).toEqual(sortedAddrs(alice, bob));
    expect(alice.groupMessages(g).map((m) => m.text)).toEqual(['reply to a pending group', 'new here']);
    expect(texts(await alice.sync())).toEqual([]);
    expect(
      alice
        .warnings()
        .slice(warned)
        .map((w) => w.kind),
    ).toEqual([]);
    const recs = (await queuedRecords(alice, org)).filter((r) => r.conversationId === g);
    expect(recs.filter((r) => r.kind === 'message').map((r) => r.text)).toEqual([
      'reply to a pending group',
      'new here',
    ]);
  });

  it('a member the device fails to encrypt for (libsignal refuses) after another accepted the message is a warning: the message and its record stay', async () => {
    const g = await alice.createGroup('Night', users(bob, carol));
    await bob.sync();
    await carol.sync();
    // The last member's stored identity no longer matches the session: libsignal refuses to
    // encrypt (an error of its own, not the client's) after the first member accepted.
    const last = [...alice.group(g.id)!.members].reverse().find((u) => addr(alice) !== userAddress(u))!;
    const lastClient = [bob, carol].find((c) => addr(c) === userAddress(last))!;
    alice.crash();
    const store = LocalStore.open(join(dir, 'alice'));
    store.put(
      'identities',
      `${userAddress(last)}.${lastClient.profile.deviceNumber}`,
      PrivateKey.generate().getPublicKey().serialize(),
    );
    store.close();
    alice = CustosClient.open(join(dir, 'alice'));
    const warned = alice.warnings().length;
    await alice.sendToGroup(g.id, { kind: 'message', text: 'one of two' });
    expect(alice.groupMessages(g.id).map((m) => m.text)).toEqual(['one of two']);
    expect(
      alice
        .warnings()
        .slice(warned)
        .map((w) => [w.kind, w.from]),
    ).toEqual([['delivery-failed', userAddress(last)]]);
    const first = [bob, carol].find((c) => c !== lastClient)!;
    expect((await first.sync()).map((e) => e.content.text)).toEqual(['one of two']);
    const recs = (await queuedRecords(alice, org)).filter((r) => r.text === 'one of two');
    expect(recs.map((r) => r.envelopeHashes.length)).toEqual([1]);
  });

  it('never shows the server the group name', async () => {
    await new Promise((r) => setTimeout(r, 300)); // let the server's WAL settle; not a timing assertion
    expect(canaryHits(allBytes(server.dataDir), canary)).toBe(0);
    expect(server.stdout + server.stderr).not.toContain(canary);
  });
});
