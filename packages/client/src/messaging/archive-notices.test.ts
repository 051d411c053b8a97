/**
 * Archive notices (F17) from receipts and other control content, received by a real
 * Messenger over real libsignal sessions: dave (org B, policy none) writes first to frank
 * (org A, archiving), and frank's delivery receipt alone must tell dave that org A archives
 * the conversation. A notice naming another org than its sender's is refused, on the
 * receipt path and the message path alike.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  IdentityKeyPair,
  KEMPublicKey,
  PreKeyBundle,
  processPreKeyBundle,
  PublicKey,
  signalEncrypt,
} from '@signalapp/libsignal-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { ArchiveCapture } from '../archive/capture.js';
import { Conversations } from '../client/conversations.js';
import type { Operations } from '../client/operations.js';
import { generatePrekeys } from '../enrol/prekeys.js';
import type { DeviceProfile } from '../profile.js';
import { LocalStore } from '../store/local-store.js';
import { saveLocalIdentity, signalStores, type SignalStores } from '../store/signal-stores.js';
import type { ApiClient } from '../transport/api-client.js';
import type { RelayEnvelope } from '../transport/relay-socket.js';
import { isClientError } from '../errors.js';
import { conversationNotices, noteServerClaim, parseServerClaim, serverClaims } from './archive-notices.js';
import { encodeContent, newMessageId, type ArchiveNotice, type MessageContent } from './content.js';
import { listWarnings } from './message-store.js';
import { Messenger } from './messenger.js';
import { deviceAddress, directConversationId, type PeerUser } from './peers.js';

const ORG_A: ArchiveNotice = { org: 'org-a', name: 'Archiving Agency' };
const ORG_C: ArchiveNotice = { org: 'org-c', name: 'Someone Else' };
const DAVE: PeerUser = { orgId: 'org-b', userId: 'dave' };
const FRANK: PeerUser = { orgId: ORG_A.org, userId: 'frank' };
const REG_ID = 4321;

type Buf = Uint8Array<ArrayBuffer>;
const dec = (s: string): Buf => new Uint8Array(Buffer.from(s, 'base64url'));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Device {
  readonly user: PeerUser;
  readonly store: LocalStore;
  readonly s: SignalStores;
  readonly bundle: () => PreKeyBundle;
}

function device(user: PeerUser): Device {
  const dir = mkdtempSync(join(tmpdir(), 'custos-notice-'));
  dirs.push(dir);
  const store = LocalStore.create(join(dir, 'p'), { kind: 'file' });
  const id = IdentityKeyPair.generate();
  saveLocalIdentity(store, id, REG_ID);
  const s = signalStores(store);
  const up = generatePrekeys(store, s, id, { oneTime: 1, kyber: 1, rotateSigned: true });
  const otk = up.oneTimePreKeys[0]!;
  const spk = up.signedPreKey!;
  const kyb = up.kyberPreKeys[0]!;
  const bundle = (): PreKeyBundle =>
    PreKeyBundle.new(
      REG_ID,
      1,
      otk.keyId,
      PublicKey.deserialize(dec(otk.publicKey)),
      spk.keyId,
      PublicKey.deserialize(dec(spk.publicKey)),
      dec(spk.signature),
      id.publicKey,
      kyb.keyId,
      KEMPublicKey.deserialize(dec(kyb.publicKey)),
      dec(kyb.signature),
    );
  return { user, store, s, bundle };
}

/** Dave's device (org B, policy none) as the SDK wires it, with the parts a receive uses. */
function daveClient(): { dev: Device; messenger: Messenger; conversations: Conversations } {
  const dev = device(DAVE);
  const profile = {
    serverUrl: 'http://127.0.0.1:1',
    orgId: DAVE.orgId,
    orgName: 'Open Society',
    userId: DAVE.userId,
    deviceId: 'dave-1',
    deviceNumber: 1,
    captureRequired: false,
  } as DeviceProfile;
  // A none device captures nothing; receiving only waits on `prepare`.
  const capture = { prepare: () => Promise.resolve() } as unknown as ArchiveCapture;
  const messenger = new Messenger({
    store: dev.store,
    api: {} as ApiClient,
    profile,
    stores: dev.s,
    capture,
    clock: () => 1_000,
  });
  const conversations = new Conversations(dev.store, profile, DAVE, {} as Operations);
  return { dev, messenger, conversations };
}

/** A sender (its own device) with a session to dave's device 1. */
async function sender(user: PeerUser, dave: Device): Promise<(c: MessageContent) => Promise<RelayEnvelope>> {
  const me = device(user);
  const self = deviceAddress(user, 1);
  const to = deviceAddress(DAVE, 1);
  await processPreKeyBundle(dave.bundle(), to, self, me.s.sessions, me.s.identity);
  return async (c) => {
    const m = await signalEncrypt(new Uint8Array(encodeContent(c)), to, self, me.s.sessions, me.s.identity);
    return {
      id: randomUUID(),
      sender: { orgId: user.orgId, userId: user.userId, deviceId: `${user.userId}-1`, deviceNumber: 1 },
      type: m.type(),
      content: m.serialize(),
      serverTime: 900,
    };
  };
}

const receipt = (notice?: ArchiveNotice, type: 'delivered' | 'read' = 'delivered'): MessageContent => ({
  id: newMessageId(),
  timestamp: 800,
  kind: 'receipt',
  receipt: type,
  receiptFor: [newMessageId()],
  ...(notice === undefined ? {} : { notice }),
});

describe('archive notices carried by receipts and control content', () => {
  it("records the notice of frank's delivery receipt for dave's first message", async () => {
    const { dev, messenger, conversations } = daveClient();
    const fromFrank = await sender(FRANK, dev);
    const conv = directConversationId(DAVE, FRANK);
    expect(conversations.archivedBy(FRANK)).toEqual([]);

    const e = await messenger.receive(await fromFrank(receipt(ORG_A)));
    expect(e?.content.kind).toBe('receipt');
    expect(e?.newArchiveNotice).toBe(true);
    expect(conversationNotices(dev.store, conv)).toEqual([{ ...ORG_A, at: 1_000 }]);
    expect(conversations.archivedBy(FRANK)).toEqual([ORG_A]);

    // The next receipt (a read one) carries the same notice: nothing new to tell.
    const again = await messenger.receive(await fromFrank(receipt(ORG_A, 'read')));
    expect(again?.newArchiveNotice).toBeUndefined();
    expect(conversationNotices(dev.store, conv)).toHaveLength(1);
    expect(listWarnings(dev.store)).toEqual([]);
  });

  it('records a notice from a timer change too, and nothing from a receipt without one', async () => {
    const { dev, messenger, conversations } = daveClient();
    const fromFrank = await sender(FRANK, dev);
    const bare = await messenger.receive(await fromFrank(receipt()));
    expect(bare?.newArchiveNotice).toBeUndefined();
    expect(conversations.archivedBy(FRANK)).toEqual([]);
    const timer = await messenger.receive(
      await fromFrank({ id: newMessageId(), timestamp: 800, kind: 'timer', timer: 60, notice: ORG_A }),
    );
    expect(timer?.newArchiveNotice).toBe(true);
    expect(conversations.archivedBy(FRANK)).toEqual([ORG_A]);
  });

  it("refuses a receipt whose notice names an org other than the sender's, and records nothing", async () => {
    const { dev, messenger, conversations } = daveClient();
    const fromFrank = await sender(FRANK, dev);
    expect(await messenger.receive(await fromFrank(receipt(ORG_C)))).toBeUndefined();
    expect(conversationNotices(dev.store, directConversationId(DAVE, FRANK))).toEqual([]);
    expect(conversations.archivedBy(FRANK)).toEqual([]);
    expect(listWarnings(dev.store)).toEqual([
      expect.objectContaining({ kind: 'notice-refused', from: 'org-a.frank' }),
    ]);
    // The session is intact: frank's honest receipt still records org A.
    expect((await messenger.receive(await fromFrank(receipt(ORG_A))))?.newArchiveNotice).toBe(true);
  });

  it("records a message's notice as it is received (archivedBy reads no messages)", async () => {
    const { dev, messenger, conversations } = daveClient();
    const fromFrank = await sender(FRANK, dev);
    const text: MessageContent = {
      id: newMessageId(),
      timestamp: 800,
      kind: 'message',
      text: 'hi',
      notice: ORG_A,
    };
    expect((await messenger.receive(await fromFrank(text)))?.newArchiveNotice).toBe(true);
    expect(conversationNotices(dev.store, directConversationId(DAVE, FRANK))).toEqual([
      { ...ORG_A, at: 1_000 },
    ]);
    expect(conversations.archivedBy(FRANK)).toEqual([ORG_A]);
  });

  it('refuses a message whose notice names another org, as it refuses such a receipt', async () => {
    const { dev, messenger, conversations } = daveClient();
    const erin: PeerUser = { orgId: 'org-e', userId: 'mallory' };
    const fromMallory = await sender(erin, dev);
    const forged: MessageContent = {
      id: newMessageId(),
      timestamp: 800,
      kind: 'message',
      text: 'archived by someone else, honestly',
      notice: ORG_A,
    };
    expect(await messenger.receive(await fromMallory(forged))).toBeUndefined();
    expect(conversations.messages(erin)).toEqual([]);
    expect(conversations.archivedBy(erin)).toEqual([]);
    expect(listWarnings(dev.store).map((w) => w.kind)).toEqual(['notice-refused']);
  });

  it("does not record a notice naming the receiver's own org (its own policy decides)", async () => {
    const { dev, messenger } = daveClient();
    const colleague: PeerUser = { orgId: DAVE.orgId, userId: 'carol' };
    const fromCarol = await sender(colleague, dev);
    const e = await messenger.receive(await fromCarol(receipt({ org: DAVE.orgId, name: 'Open Society' })));
    expect(e?.newArchiveNotice).toBeUndefined();
    expect(conversationNotices(dev.store, directConversationId(DAVE, colleague))).toEqual([]);
  });
});

describe("the server's archive-policy claim with a prekey bundle", () => {
  it('reads the org part of a bundle answer strictly, and an answer without one as no claim', () => {
    expect(parseServerClaim({ devices: [] }, ORG_A.org)).toBeUndefined();
    expect(
      parseServerClaim({ devices: [], org: { name: ORG_A.name, archivePolicy: 'required' } }, ORG_A.org),
    ).toEqual({ org: ORG_A.org, name: ORG_A.name, archivePolicy: 'required' });
    for (const org of [null, 'x', { name: 'A' }, { name: 'A', archivePolicy: 'sometimes' }, { name: 1 }]) {
      let err: unknown;
      try {
        parseServerClaim({ devices: [], org }, ORG_A.org);
      } catch (e) {
        err = e;
      }
      expect(isClientError(err, 'SERVER_RESPONSE_INVALID'), JSON.stringify(org)).toBe(true);
    }
  });

  it("shows a required claim as the server's word until the peer's own notice arrives", async () => {
    const { dev, messenger, conversations } = daveClient();
    const claim = { org: ORG_A.org, name: ORG_A.name, archivePolicy: 'required' } as const;
    // A none claim, and a claim about dave's own org, are not kept.
    noteServerClaim(dev.store, { ...claim, archivePolicy: 'none' }, DAVE.orgId);
    noteServerClaim(dev.store, { ...claim, org: DAVE.orgId }, DAVE.orgId);
    expect(serverClaims(dev.store).size).toBe(0);
    noteServerClaim(dev.store, claim, DAVE.orgId);
    expect(conversations.archivedBy(FRANK)).toEqual([{ ...ORG_A, serverClaim: true }]);
    // The claim is about org A: it covers any user of A, not users of other orgs.
    expect(conversations.archivedBy({ orgId: 'org-x', userId: 'x' })).toEqual([]);
    // A later none from the server cannot unsay it.
    noteServerClaim(dev.store, { ...claim, archivePolicy: 'none' }, DAVE.orgId);
    expect(conversations.archivedBy(FRANK)).toEqual([{ ...ORG_A, serverClaim: true }]);
    // frank's delivery receipt confirms it: the notice replaces the claim (and is new).
    const fromFrank = await sender(FRANK, dev);
    expect((await messenger.receive(await fromFrank(receipt(ORG_A))))?.newArchiveNotice).toBe(true);
    expect(conversations.archivedBy(FRANK)).toEqual([ORG_A]);
  });
});
