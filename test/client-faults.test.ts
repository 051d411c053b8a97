/**
 * End to end, faults and a hostile server: the client killed between capture and upload
 * and in the middle of an upload (each record still lands in the log exactly once), a
 * server that substitutes the org key or bucket keys (refused; nothing is sealed to them),
 * and malformed, replayed or unknown-device envelopes (a warning, never an archive record).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sealBucketKeyDocument } from '@custos/core';
import { CustosClient, isClientError, userAddress, type PeerUser } from '@custos/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  enrolUser,
  faultySendFetch,
  requestPath,
  startWorld,
  until,
  type ClientWorld,
  type SendFault,
  type ServerProcess,
  type TestOrg,
} from './client-support.js';
import { logEntries, logSeqs as logSeqsOf, queuedRecords } from './client-records.js';

let world: ClientWorld<'alice' | 'bob'> | undefined;
let dir: string;
let server: ServerProcess;
let org: TestOrg;
let alice: CustosClient;
let bob: CustosClient;
const extra: CustosClient[] = [];

const logSeqs = (deviceId: string) => logSeqsOf(server, org, deviceId);

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
    expect.unreachable(`expected ${code}`);
  } catch (e) {
    expect(isClientError(e) ? e.code : e).toBe(code);
  }
}

/** A fetch that rewrites JSON answers of matching GET paths. */
function tamperingFetch(match: RegExp, rewrite: (body: Record<string, unknown>) => unknown): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    if ((init?.method ?? 'GET') !== 'GET' || !match.test(requestPath(input)) || res.status !== 200)
      return res;
    const body = (await res.json()) as Record<string, unknown>;
    return new Response(JSON.stringify(rewrite(body)), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  };
}

beforeAll(async () => {
  world = await startWorld('custos-client-faults-', ['alice', 'bob']);
  ({ dir, server, org } = world);
  ({ alice, bob } = world.users);
});

// alice is reopened by the crash tests: close the current one too.
afterAll(() => world?.close([alice, ...extra]));

/**
 * Opens the profile in `profileDir` as a device that dies once the server has handled its
 * first `method path` request: the request is stored, the device crashes, and the answer is
 * lost (a connection reset).
 */
function openDyingAfter(profileDir: string, method: string, path: string): CustosClient {
  const ref: { victim?: CustosClient } = {};
  const dying: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (init?.method === method && requestPath(input) === path) {
      ref.victim?.crash();
      throw new TypeError('connection reset');
    }
    return res;
  };
  ref.victim = CustosClient.open(profileDir, { api: { fetch: dying } });
  return ref.victim;
}

/** The texts of the sends `events` report as completed (`direction: 'sent'`). */
const sentTexts = (events: readonly { direction: string; content: { text?: string } }[]) =>
  events.filter((e) => e.direction === 'sent').map((e) => e.content.text);

/**
 * A newly enrolled device of its own (the server limits requests per device), whose
 * `PUT /v1/messages` requests meet `faults` in turn and whose clock runs `clock.skew` ms ahead.
 */
async function faultyDevice(name: string) {
  const profileDir = join(dir, name);
  await (await enrolUser(server, org.admin, profileDir)).close();
  const faults: SendFault[] = [];
  const clock = { skew: 0 };
  const device = CustosClient.open(profileDir, {
    api: { fetch: faultySendFetch(faults) },
    clock: () => Date.now() + clock.skew,
  });
  extra.push(device);
  return { device, profileDir, faults, clock };
}

describe('client faults (real server process)', () => {
  it('a client killed between capture and upload uploads each record exactly once after restart', async () => {
    await alice.sendText(bob.me, 'one');
    await alice.sendText(bob.me, 'two');
    expect(alice.archiveStatus()).toMatchObject({ queued: 2, nextSeq: 2, uploadedThrough: -1 });
    alice.crash();
    alice = CustosClient.open(join(dir, 'alice'));
    expect(alice.archiveStatus()).toMatchObject({ queued: 2, nextSeq: 2 });
    await until(async () => (await alice.flushArchive(), alice.archiveStatus().queued === 0), 'receipts');
    expect(await logSeqs(alice.profile.deviceId)).toEqual([0, 1]);
  });

  it('a client killed after the server stored a batch but before it recorded the answer re-uploads once', async () => {
    await alice.sendText(bob.me, 'three');
    const aliceDir = join(dir, 'alice');
    alice.crash();
    // The upload reaches the server; the device dies before it can record the answer.
    const victim = openDyingAfter(aliceDir, 'POST', '/v1/archive/batches');
    await expect(victim.flushArchive()).rejects.toThrow();
    // The server stored the batch; its entries show once a checkpoint covers them.
    await until(async () => (await logSeqs(victim.profile.deviceId)).length >= 3, 'a covering checkpoint');
    expect(await logSeqs(victim.profile.deviceId)).toEqual([0, 1, 2]);
    alice = CustosClient.open(aliceDir);
    expect(alice.archiveStatus().uploadedThrough).toBe(1);
    await until(async () => (await alice.flushArchive(), alice.archiveStatus().queued === 0), 'receipts');
    expect(await logSeqs(alice.profile.deviceId)).toEqual([0, 1, 2]);
    expect(alice.archiveReceipts().map((r) => r.seq)).toEqual([0, 1, 2]);
  });

  it('a lost upload answer is retried and the log still holds each record once', async () => {
    await alice.sendText(bob.me, 'four');
    let lost = 0;
    const lossy: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method === 'POST' && requestPath(input) === '/v1/archive/batches' && lost++ === 0)
        throw new TypeError('connection reset');
      return res;
    };
    alice.crash();
    alice = CustosClient.open(join(dir, 'alice'), { api: { fetch: lossy } });
    await until(async () => (await alice.flushArchive(), alice.archiveStatus().queued === 0), 'receipts');
    expect(lost).toBeGreaterThan(1);
    expect(await logSeqs(alice.profile.deviceId)).toEqual([0, 1, 2, 3]);
  });

  it('a send the server stored whose answer is lost (device killed, connection reset) is kept and sent again unchanged: one message, one record, the next one decrypts', async () => {
    // A session in use: the lost send advances a ratchet that has already carried messages.
    await alice.sendText(bob.me, 'before the lost answer');
    await bob.sync();
    // Relay receipts of alice's envelopes (bob's delivery receipts have their own).
    const receipts = async () =>
      (await logEntries(server, org)).filter(
        (e) => e.type === 'relay-receipt' && e.sender === alice.profile.deviceId,
      );
    // The device dies while its send is at the server: its outbox row was committed before
    // the request, so the reopened device sends the same envelopes again at its next sync.
    const aliceDir = join(dir, 'alice');
    alice.crash();
    const victim = openDyingAfter(aliceDir, 'PUT', '/v1/messages');
    await expect(victim.sendText(bob.me, 'killed mid-send')).rejects.toThrow();
    // The next send's first try never reaches the server (`drop`); the retry of the next sync
    // does, and its answer is lost (`lose`); the send after that gets the first answer again.
    const faults: ('drop' | 'lose')[] = [];
    const lossy: typeof fetch = async (input, init) => {
      const fault =
        init?.method === 'PUT' && requestPath(input) === '/v1/messages' ? faults.shift() : undefined;
      if (fault === 'drop') throw new TypeError('connection refused');
      const res = await fetch(input, init);
      if (fault === 'lose') throw new TypeError('connection reset');
      return res;
    };
    // Sends completed by a later call (not the one told SEND_PENDING) are reported there too.
    const completedLater: (string | undefined)[] = [];
    alice = CustosClient.open(aliceDir, {
      api: { fetch: lossy },
      onSent: (e) => completedLater.push(e.content.text),
    });
    await alice.sync();
    expect(alice.messages(bob.me).map((m) => m.text)).toContain('killed mid-send');
    faults.push('drop', 'lose');
    const seqBefore = alice.archiveStatus().nextSeq;
    await expectCode(alice.sendText(bob.me, 'answer lost'), 'SEND_PENDING');
    // Pending: not stored or captured yet (before this fix: rolled back, ratchet included).
    expect(alice.messages(bob.me).filter((m) => m.text === 'answer lost')).toEqual([]);
    expect(alice.archiveStatus().nextSeq).toBe(seqBefore);
    await alice.sync(); // the retry is stored, its answer lost: still pending
    expect(alice.messages(bob.me).filter((m) => m.text === 'answer lost')).toEqual([]);
    // The next send first sends the kept envelopes again under their key, then its own.
    await alice.sendText(bob.me, 'after the lost answer');
    expect(faults).toEqual([]);
    expect(completedLater).toEqual(['killed mid-send', 'answer lost']);
    const got = await bob.sync();
    expect(got.map((e) => e.content.text)).toEqual([
      'killed mid-send',
      'answer lost',
      'after the lost answer',
    ]);
    expect(bob.warnings()).toEqual([]);
    expect(
      alice
        .messages(bob.me)
        .map((m) => m.text)
        .slice(-4),
    ).toEqual(['before the lost answer', 'killed mid-send', 'answer lost', 'after the lost answer']);
    // One record each, and one relay receipt per message, for exactly the envelope each
    // record names (a second copy stored by the relay would be a second receipt of that hash).
    const records = (await queuedRecords(alice, org)).filter((r) =>
      ['killed mid-send', 'answer lost', 'after the lost answer'].includes(r.text ?? ''),
    );
    expect(records.map((r) => r.text)).toEqual(['killed mid-send', 'answer lost', 'after the lost answer']);
    const hex = (h: Uint8Array) => Buffer.from(h).toString('hex');
    const sent = records.map((r) => r.envelopeHashes.map(hex));
    expect(sent.map((h) => h.length)).toEqual([1, 1, 1]);
    const receipted = async () => (await receipts()).map((e) => hex((e as { hash: Uint8Array }).hash));
    await until(async () => (await receipted()).includes(sent[2]![0]!), 'relay receipts');
    const all = await receipted();
    expect(sent.map(([h]) => all.filter((x) => x === h).length)).toEqual([1, 1, 1]);
  });

  it('refuses an org signing key that does not match the enrolment code (substituted by the server)', async () => {
    const fake = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!;
    const user = (await org.admin.api.request('POST', `/v1/orgs/${org.orgId}/users`, {
      body: { role: 'member' },
    })) as { userId: string };
    const code = (await org.admin.api.request(
      'POST',
      `/v1/orgs/${org.orgId}/users/${user.userId}/enrolment-codes`,
      {
        body: {},
      },
    )) as { enrolmentCode: string };
    const substitute = tamperingFetch(/^\/v1\/orgs\/[^/]+$/, (b) => ({ ...b, signingPublicKey: fake }));
    const swapRegistration: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method !== 'POST' || !/\/devices$/.test(requestPath(input))) return substitute(input, init);
      const body = (await res.json()) as { org: Record<string, unknown> };
      return new Response(JSON.stringify({ ...body, org: { ...body.org, signingPublicKey: fake } }), {
        status: 201,
        headers: { 'content-type': 'application/json' },
      });
    };
    const target = join(dir, 'mallory-victim');
    await expectCode(
      CustosClient.enrol(target, {
        serverUrl: server.url,
        code: code.enrolmentCode,
        protection: { kind: 'file' },
        api: { fetch: swapRegistration },
      }),
      'ORG_KEY_MISMATCH',
    );
    // The half-made profile does not open as enrolled.
    expect(() => CustosClient.open(target)).toThrow(/not finished enrolment/);
  });

  it('refuses substituted bucket keys and will not send unarchived', async () => {
    const attackerKm = generateKeyPairSync('ed25519');
    const evil = sealBucketKeyDocument(
      {
        org: org.orgId,
        bucket: 'standard-evil',
        retentionClass: 'standard',
        period: 'evil',
        notBefore: Date.now() - 1000,
        notAfter: Date.now() + 86_400_000,
        publicKey: randomBytes(32),
      },
      attackerKm.privateKey,
    );
    const swap = tamperingFetch(/\/buckets$/, (b) => ({
      buckets: (b.buckets as Record<string, unknown>[]).map((x) => ({
        ...x,
        document: Buffer.from(evil).toString('base64url'),
        bucketId: 'standard-evil',
      })),
    }));
    const victim = await enrolUser(server, org.admin, join(dir, 'victim'));
    extra.push(victim);
    await victim.close();
    const v = CustosClient.open(join(dir, 'victim'), { api: { fetch: swap } });
    extra.push(v);
    // Wipe what enrolment verified by re-reading the (tampered) list: nothing new is accepted.
    const r = await v.refreshKeys();
    expect(r.accepted).toEqual([]);
    expect(r.refused.map((x) => x.reason)).toEqual([expect.stringMatching(/signature does not verify/)]);
    expect(v.archiveStatus().refusedBuckets).toHaveLength(1);
    // A fresh device behind the tampering server has no bucket at all: it refuses to send.
    const u = (await org.admin.api.request('POST', `/v1/orgs/${org.orgId}/users`, {
      body: { role: 'member' },
    })) as {
      userId: string;
    };
    const c = (await org.admin.api.request(
      'POST',
      `/v1/orgs/${org.orgId}/users/${u.userId}/enrolment-codes`,
      {
        body: {},
      },
    )) as { enrolmentCode: string };
    const fresh = await CustosClient.enrol(join(dir, 'fresh'), {
      serverUrl: server.url,
      code: c.enrolmentCode,
      protection: { kind: 'file' },
      api: { fetch: swap },
    });
    extra.push(fresh);
    await expectCode(fresh.sendText(bob.me, 'must not leave unarchived'), 'CAPTURE_REQUIRED');
    expect(fresh.archiveStatus().nextSeq).toBe(0);
  });

  it('a malformed or replayed envelope is a warning, never an archive record', async () => {
    const before = bob.archiveStatus().nextSeq;
    await alice.sendText(bob.me, 'real one');
    const page = (await bob.api.request('GET', '/v1/messages')) as { envelopes: Record<string, unknown>[] };
    const env = page.envelopes.at(-1)!;
    const parsed = {
      id: env.id as string,
      sender: env.sender as PeerUser & { deviceId: string; deviceNumber: number },
      type: env.type as number,
      content: new Uint8Array(Buffer.from(env.content as string, 'base64url')),
      serverTime: env.serverTime as number,
    };
    await bob.sync();
    const after = bob.archiveStatus().nextSeq;
    expect(after).toBeGreaterThan(before);
    // Replay under a new envelope id: libsignal refuses the duplicate.
    expect(await bob.receive({ ...parsed, id: 'replayed-envelope-0000' })).toBeUndefined();
    // Garbage bytes.
    const garbage = { ...parsed, id: 'garbage-envelope-00000', content: randomBytes(200) };
    expect(await bob.receive(garbage)).toBeUndefined();
    // An unknown ciphertext type.
    expect(await bob.receive({ ...parsed, id: 'wrong-type-envelope-00', type: 99 })).toBeUndefined();
    expect(bob.archiveStatus().nextSeq).toBe(after);
    expect(bob.warnings().map((w) => w.kind)).toEqual(['undecryptable', 'undecryptable', 'undecryptable']);
    expect(bob.messages(alice.me).filter((m) => m.text === 'real one')).toHaveLength(1);
  });

  it('an envelope from a device the receiver does not know is a warning, never an archive record', async () => {
    await alice.sendText(bob.me, 'claimed by another device');
    const page = (await bob.api.request('GET', '/v1/messages')) as { envelopes: Record<string, unknown>[] };
    const env = page.envelopes.at(-1)!;
    const sender = env.sender as PeerUser & { deviceId: string; deviceNumber: number };
    const parsed = {
      id: env.id as string,
      sender,
      type: env.type as number,
      content: new Uint8Array(Buffer.from(env.content as string, 'base64url')),
      serverTime: env.serverTime as number,
    };
    const before = bob.archiveStatus().nextSeq;
    const warned = bob.warnings().length;
    // The same ciphertext from a device number bob has no session with, and from one that is
    // not a Signal device id at all.
    const unknown = { ...sender, deviceId: 'u'.repeat(22), deviceNumber: 77 };
    expect(
      await bob.receive({ ...parsed, id: 'unknown-device-envelope-1', sender: unknown }),
    ).toBeUndefined();
    const invalid = { ...sender, deviceId: 'v'.repeat(22), deviceNumber: 0 };
    expect(
      await bob.receive({ ...parsed, id: 'unknown-device-envelope-2', sender: invalid }),
    ).toBeUndefined();
    expect(
      bob
        .warnings()
        .slice(warned)
        .map((w) => w.kind),
    ).toEqual(['undecryptable', 'unknown-sender']);
    expect(bob.archiveStatus().nextSeq).toBe(before);
    expect(bob.messages(alice.me).filter((m) => m.text === 'claimed by another device')).toHaveLength(0);
    // The real envelope still decrypts afterwards: the refused copies changed no session.
    expect((await bob.sync()).map((e) => e.content.text)).toEqual(['claimed by another device']);
    expect(bob.archiveStatus().nextSeq).toBeGreaterThan(before);
  });

  it('tops prekeys up when the server reports them low', async () => {
    const c = await enrolUser(server, org.admin, join(dir, 'drained'));
    extra.push(c);
    const status = () => c.api.request('GET', '/v1/prekeys') as Promise<Record<string, number | boolean>>;
    expect(await status()).toMatchObject({ oneTime: 100, kyber: 40, low: false });
    expect(await c.replenishPrekeys()).toBe(false);
    // Another device claims 21 bundles: 19 Kyber prekeys left, below the threshold of 20.
    for (let i = 0; i < 21; i++)
      await bob.api.request('GET', `/v1/prekey-bundles/${org.orgId}/${c.me.userId}/${c.profile.deviceId}`);
    expect(await status()).toMatchObject({ oneTime: 79, kyber: 19, low: true });
    expect(await c.replenishPrekeys()).toBe(true);
    expect(await status()).toMatchObject({ oneTime: 100, kyber: 40, low: false });
    // The new keys work: a fresh session from a new bundle decrypts at the drained device.
    await bob.sendText(c.me, 'after top-up');
    expect((await c.sync()).map((e) => e.content.text)).toEqual(['after top-up']);
  });

  it('receipts and reactions for an own message still pending are held and applied once it completes, each archived once', async () => {
    await bob.sync();
    const faults: SendFault[] = [];
    const told: string[] = [];
    let skew = 0;
    alice.crash();
    alice = CustosClient.open(join(dir, 'alice'), {
      api: { fetch: faultySendFetch(faults) },
      clock: () => Date.now() + skew,
      onEvent: (e) => told.push(e.content.emoji ?? e.content.kind),
    });
    await alice.sync();
    const warned = alice.warnings().length;
    // alice's message reaches bob, her answer is lost; bob's device sends its delivery
    // receipt, and bob reacts.
    faults.push('lose');
    await expectCode(alice.sendText(bob.me, 'react to me'), 'SEND_PENDING');
    const [got] = await bob.sync();
    const id = got!.content.id;
    await bob.send(alice.me, { kind: 'reaction', reactsTo: id, emoji: '👀' });
    // A disappearing message behind them in the conversation is held too (arrival order).
    await bob.send(alice.me, { kind: 'message', text: 'brief', timer: 60 });
    const seqBefore = alice.archiveStatus().nextSeq;
    // The resend at the sync's start and the one after its page, which held the receipt, the
    // reaction and the message, fail: all are held (before: archived, never applied). Once per
    // sync, not once per envelope (before: one resend each, four, so one sync could use up the
    // tries).
    faults.push(503, 503);
    expect(await alice.sync()).toEqual([]);
    expect(faults).toEqual([]);
    // The lost answer does not count toward MAX_SEND_TRIES; the proxy's two 503s do.
    expect(alice.pendingSends()).toMatchObject([{ tries: 2 }]);
    expect(alice.archiveStatus().nextSeq).toBe(seqBefore);
    // The next send completes it, leaving the receipt and reaction held; bob then changes his
    // reaction. A plain receive of 👍 first applies what was held, in arrival order, and hands
    // 👀 to onEvent (before: 👍 applied, 👀 left held and applied over it by the next sync).
    skew = 120_000; // past the held message's timer, counted from its arrival
    await alice.sendText(bob.me, 'and then');
    await bob.send(alice.me, { kind: 'reaction', reactsTo: id, emoji: '👍' });
    const page = (await alice.api.request('GET', '/v1/messages')) as { envelopes: Record<string, unknown>[] };
    const [env] = page.envelopes;
    const thumb = await alice.receive({
      id: env!.id as string,
      sender: env!.sender as PeerUser & { deviceId: string; deviceNumber: number },
      type: env!.type as number,
      content: new Uint8Array(Buffer.from(env!.content as string, 'base64url')),
      serverTime: env!.serverTime as number,
    });
    expect([thumb?.content.emoji, told]).toEqual(['👍', ['👀', 'message']]);
    // Its timer ran from its arrival (before: from its release, a minute more on the device).
    expect(alice.messages(bob.me).map((x) => x.text)).not.toContain('brief');
    expect(await alice.sync()).toEqual([]);
    expect((await queuedRecords(alice, org)).filter((r) => r.text === 'brief')).toHaveLength(1);
    const [m] = alice.messages(bob.me).filter((x) => x.id === id);
    expect(m!.delivered?.[userAddress(bob.me)]).toBeTypeOf('number');
    expect(m!.reactions).toEqual([{ from: userAddress(bob.me), emoji: '👍' }]);
    expect(alice.warnings().slice(warned)).toEqual([]);
    // One record each: alice's two messages, bob's receipt, reactions and message, and
    // alice's delivery receipt for it.
    expect(alice.archiveStatus().nextSeq).toBe(seqBefore + 7);
    await bob.sync();
    expect(await alice.sync()).toEqual([]);
    expect(alice.archiveStatus().nextSeq).toBe(seqBefore + 8); // bob's receipt for 'and then'
  });

  // A device of its own (the server limits requests per device), with its own clock.
  it('a send written offline is not given up on for its offline tries, rate limits or 503s, nor past the key retention for a rate limit; refused for good, no try having reached the relay, it is encrypted again; a repeat refused by a proxy for its size is dropped', async () => {
    const { device: erin, faults, clock } = await faultyDevice('erin');
    await bob.sync();
    const mine = (text: string) => erin.messages(bob.me).filter((m) => m.text === text);
    let warned = 0;
    // A proxy's 413 to a repeat: every try carried the same bytes, so none was stored: it is
    // refused and dropped with a warning (before: pending, and after 20 tries recorded as
    // possibly delivered though it never reached the relay).
    faults.push(502, 413);
    await expectCode(erin.sendText(bob.me, 'too large again'), 'SEND_PENDING');
    warned = erin.warnings().length;
    expect(sentTexts(await erin.sync())).toEqual([]);
    expect(erin.pendingSends()).toEqual([]);
    expect(mine('too large again')).toEqual([]);
    expect(
      erin
        .warnings()
        .slice(warned)
        .map((w) => w.kind),
    ).toEqual(['delivery-failed']);
    // Written offline (and each later send blocked behind it): no try reaches the relay and
    // none counts, nor do a rate limit and the relay's 503 while shutting down (before: each
    // counted, and the 20th try finished it as possibly delivered, never delivered).
    // It says the server could not be reached and nothing was sent (before: "did not answer").
    faults.push('offline');
    const offline = await erin.sendText(bob.me, 'written offline').catch((e: unknown) => e);
    expect(offline).toMatchObject({ code: 'SEND_PENDING', notSent: true });
    expect((offline as Error).message).toMatch(
      /^the server could not be reached \(ECONNREFUSED\): nothing was sent;/,
    );
    for (let i = 0; i < 19; i++) {
      faults.push('offline');
      await expectCode(erin.sendText(bob.me, 'blocked'), 'SEND_BLOCKED');
    }
    faults.push(429, 'unavailable');
    expect(sentTexts(await erin.sync())).toEqual([]);
    expect(sentTexts(await erin.sync())).toEqual([]);
    // Each try the server could not be reached at is shown, apart from the counted tries.
    expect(erin.pendingSends()).toMatchObject([{ tries: 0, unreached: 20 }]);
    // Past the key retention, a rate limit and a 503 say nothing for good: still pending
    // (before: finished at once as possibly delivered).
    clock.skew = 25 * 60 * 60 * 1000;
    faults.push(429, 'unavailable');
    expect(sentTexts(await erin.sync())).toEqual([]);
    expect(sentTexts(await erin.sync())).toEqual([]);
    // A refusal for good of a request no try can have delivered is a refusal like any other:
    // the device list repaired, encrypted again and delivered, without a warning.
    warned = erin.warnings().length;
    faults.push(409);
    expect(sentTexts(await erin.sync())).toEqual(['written offline']);
    expect(faults).toEqual([]);
    expect(erin.warnings().slice(warned)).toEqual([]);
    expect((await bob.sync()).map((e) => e.content.text)).toEqual(['written offline']);
  });

  // A device of its own (the server limits requests per device: alice's earlier scenarios use
  // much of her burst), with its own clock.
  it('a resent send answered with a rate limit or a proxy error stays pending, a first try refused by a proxy is not, a repeat is bounded (counted tries, key retention, discard), and one resent past the key retention is not encrypted again', async () => {
    const { device: gina, faults, clock } = await faultyDevice('gina');
    await bob.sync();
    const records = async (text: string) => (await queuedRecords(gina, org)).filter((r) => r.text === text);
    const mine = (text: string) => gina.messages(bob.me).filter((m) => m.text === text);
    // Stored, answer lost; the repeats get 429 and a 502 — neither says the first try was not
    // stored (before: refused, the message dropped while bob has it).
    faults.push('lose', 429, 502);
    await expectCode(gina.sendText(bob.me, 'limited'), 'SEND_PENDING');
    expect(sentTexts(await gina.sync())).toEqual([]);
    expect(sentTexts(await gina.sync())).toEqual([]);
    expect(mine('limited')).toEqual([]);
    // Answered at last (the first answer again): sync reports the send it completed.
    expect(sentTexts(await gina.sync())).toEqual(['limited']);
    expect(mine('limited')).toHaveLength(1);
    expect((await bob.sync()).map((e) => e.content.text)).toEqual(['limited']);
    expect((await records('limited')).map((r) => r.envelopeHashes.length)).toEqual([1]);
    // A proxy's HTML 413 to a first try: nothing is stored under a new key, so it is refused
    // (before: pending, refused again at every retry, and every later send blocked).
    faults.push(413);
    await expectCode(gina.sendText(bob.me, 'too large'), 'SERVER_REFUSED');
    expect(gina.pendingSends()).toEqual([]);
    // Stored, answer lost: listed as pending, and a later send is refused naming it.
    faults.push('lose', 502);
    await expectCode(gina.sendText(bob.me, 'stuck'), 'SEND_PENDING');
    await expectCode(gina.sendText(bob.me, 'blocked'), 'SEND_BLOCKED');
    // (The lost answer does not count: only the proxy's 502.)
    expect(gina.pendingSends()).toMatchObject([{ kind: 'message', recipients: [bob.me], tries: 1 }]);
    // A repeat refused by a proxy at every try is finished after MAX_SEND_TRIES (20) as
    // possibly delivered (before: pending for ever, every later send refused). Each blocked
    // send tries it once first (a sync would too, with a dozen more requests against the
    // device's rate limit).
    let warned = gina.warnings().length;
    for (let tries = 2; tries < 20; tries++) {
      faults.push(502);
      await expectCode(gina.sendText(bob.me, 'blocked'), 'SEND_BLOCKED');
      expect(gina.pendingSends()).toMatchObject([{ tries }]);
    }
    faults.push(502);
    expect(sentTexts(await gina.sync())).toEqual(['stuck']);
    expect(faults).toEqual([]);
    expect(gina.pendingSends()).toEqual([]);
    expect(mine('stuck')).toHaveLength(1);
    expect(
      gina
        .warnings()
        .slice(warned)
        .map((w) => w.kind),
    ).toEqual(['delivery-uncertain']);
    expect((await bob.sync()).map((e) => e.content.text)).toEqual(['stuck']);
    // Discarded by the user: recorded as possibly delivered, never silently dropped.
    faults.push('lose');
    await expectCode(gina.sendText(bob.me, 'discarded'), 'SEND_PENDING');
    warned = gina.warnings().length;
    expect((await gina.discardPendingSend())?.content.text).toBe('discarded');
    expect(gina.pendingSends()).toEqual([]);
    expect(mine('discarded')).toHaveLength(1);
    expect((await records('discarded')).map((r) => r.envelopeHashes.length)).toEqual([1]);
    // (The sync copy, never sent, is a warning too.)
    expect(
      gina
        .warnings()
        .slice(warned)
        .map((w) => w.kind),
    ).toEqual(['delivery-uncertain', 'delivery-failed']);
    expect((await bob.sync()).map((e) => e.content.text)).toEqual(['discarded']);
    // Stored, answer lost, resent a day later: the server forgot the key and bob's devices
    // changed (MISMATCHED_DEVICES). Encrypting again would give bob a second copy and lose
    // the first envelope from the record: it is recorded as possibly delivered, with a warning.
    faults.push('lose', 409);
    await expectCode(gina.sendText(bob.me, 'a day late'), 'SEND_PENDING');
    clock.skew = 25 * 60 * 60 * 1000;
    warned = gina.warnings().length;
    expect(sentTexts(await gina.sync())).toEqual(['a day late']);
    expect(faults).toEqual([]);
    expect(
      gina
        .warnings()
        .slice(warned)
        .map((w) => w.kind),
    ).toEqual(['delivery-uncertain']);
    expect((await bob.sync()).map((e) => e.content.text)).toEqual(['a day late']);
    expect((await records('a day late')).map((r) => r.envelopeHashes.length)).toEqual([1]);
    // A repeat past the retention that a proxy answers (a 502, which may be gone at the next
    // try) or the limiter (429) stays pending (before: finished as possibly delivered at
    // once); the next answer confirms it (this server still remembers the key).
    faults.push('lose');
    await expectCode(gina.sendText(bob.me, 'late behind a proxy'), 'SEND_PENDING');
    clock.skew += 25 * 60 * 60 * 1000;
    warned = gina.warnings().length;
    faults.push(502, 429);
    expect(sentTexts(await gina.sync())).toEqual([]);
    expect(sentTexts(await gina.sync())).toEqual([]);
    expect(sentTexts(await gina.sync())).toEqual(['late behind a proxy']);
    expect(faults).toEqual([]);
    expect(gina.warnings().slice(warned)).toEqual([]);
    expect((await bob.sync()).map((e) => e.content.text)).toEqual(['late behind a proxy']);
  });
});
