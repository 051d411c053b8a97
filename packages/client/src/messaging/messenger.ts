/**
 * 1:1 messaging over libsignal with archive capture. Sending: encrypt for every current
 * device of the recipient (PQXDH sessions from the server's bundles), repair the device
 * list when the server answers MISMATCHED_DEVICES (fetch bundles of missing devices, drop
 * sessions of stale ones, retry), send sync copies to the user's own other devices, and
 * capture the archive record — all in one store transaction. Receiving: decrypt, check,
 * store, capture, and mark the envelope processed, again atomically, before the ack.
 *
 * Every content this device sends carries the archive notice of its organisation (F17).
 */
import { createHash } from 'node:crypto';
import type { RecordBody } from '@custos/core';
import type { ProtocolAddress } from '@signalapp/libsignal-client';
import {
  CiphertextMessageType,
  PreKeySignalMessage,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
  SignalMessage,
} from '@signalapp/libsignal-client';
import { ClientError, isClientError, isServerRefusal } from '../errors.js';
import type { ArchiveCapture } from '../archive/capture.js';
import type { DeviceProfile } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import type { SignalStores } from '../store/signal-stores.js';
import type { ApiClient } from '../transport/api-client.js';
import type { RelayEnvelope } from '../transport/relay-socket.js';
import { int, obj } from '../transport/response-checks.js';
import { decodeContent, encodeContent, newMessageId, type MessageContent } from './content.js';
import { addWarning, applyEvent, putMessage, type StoredMessage } from './message-store.js';
import {
  deviceAddress,
  directConversationId,
  fetchSessions,
  getContact,
  noteDevice,
  saveContact,
  userAddress,
  type PeerDevice,
  type PeerUser,
} from './peers.js';

/** Send attempts when the server keeps reporting mismatched devices. */
export const MAX_SEND_ATTEMPTS = 4;

const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/** What a send or receive produced. */
export interface MessageEvent {
  readonly content: MessageContent;
  readonly from: PeerUser;
  readonly peer: PeerUser;
  readonly direction: 'sent' | 'received';
  readonly archiveSeq: number;
}

/** Everything the messenger works with. */
export interface MessengerContext {
  readonly store: LocalStore;
  readonly api: ApiClient;
  readonly profile: DeviceProfile;
  readonly stores: SignalStores;
  readonly capture: ArchiveCapture;
  readonly clock: () => number;
}

/** Sends and receives messages for one device. Callers serialise calls (one operation at a time). */
export class Messenger {
  readonly me: PeerUser;
  readonly #self: ProtocolAddress;

  constructor(private readonly c: MessengerContext) {
    this.me = { orgId: c.profile.orgId, userId: c.profile.userId };
    this.#self = deviceAddress(this.me, c.profile.deviceNumber);
  }

  /** Sends `content` (kind, text, links) to `to`; resolves once the server has it and it is archived. */
  async send(
    to: PeerUser,
    partial: Omit<MessageContent, 'id' | 'timestamp' | 'notice'>,
  ): Promise<MessageEvent> {
    const content: MessageContent = {
      ...partial,
      id: newMessageId(),
      timestamp: this.c.clock(),
      notice: { org: this.c.profile.orgId, name: this.c.profile.orgName },
    };
    const padded = encodeContent(content);
    const syncCopy = encodeContent({ ...content, sync: { org: to.orgId, user: to.userId } });
    await this.c.capture.prepare();
    return this.c.store.atomically(async () => {
      const sent = await this.#deliver(to, padded);
      const sync =
        userAddress(to) === userAddress(this.me) ? { hashes: [] } : await this.#deliver(this.me, syncCopy);
      this.#store(content, this.me, to, 'sent', sent.serverTime);
      const { seq } = this.c.capture.captureSync(
        this.#record(content, this.me, to, 'sent', [...sent.hashes, ...sync.hashes], sent.serverTime),
      );
      return { content, from: this.me, peer: to, direction: 'sent', archiveSeq: seq };
    });
  }

  /**
   * Handles one relay envelope. Resolves to the event (or undefined for a duplicate or a
   * refused envelope, which is recorded as a warning and never archived as valid).
   */
  async receive(env: RelayEnvelope): Promise<MessageEvent | undefined> {
    const { store } = this.c;
    if (store.get('processed-envelopes', env.id) !== undefined) return undefined;
    await this.c.capture.prepare();
    return store.atomically(async () => {
      store.put('processed-envelopes', env.id, new Uint8Array(0));
      const sender: PeerUser = { orgId: env.sender.orgId, userId: env.sender.userId };
      const warn = (kind: Parameters<typeof addWarning>[1]['kind'], detail: string) => {
        addWarning(store, { at: this.c.clock(), kind, from: userAddress(sender), detail });
        return undefined;
      };
      let address: ProtocolAddress;
      try {
        address = deviceAddress(sender, env.sender.deviceNumber);
      } catch {
        return warn('unknown-sender', 'the sender device number is not a Signal device id');
      }
      let plain: Uint8Array;
      try {
        plain = await this.#decrypt(env, address);
      } catch (e) {
        const changed = this.c.stores.identity
          .changes()
          .some((ch) => ch.address === address.toString() && !ch.accepted);
        return changed
          ? warn('identity-changed', 'a contact device presented a new identity key; the message was refused')
          : warn('undecryptable', isClientError(e) ? e.message : 'the envelope does not decrypt');
      }
      let content: MessageContent;
      try {
        content = decodeContent(plain);
      } catch (e) {
        return warn('malformed', isClientError(e) ? e.message : 'malformed content');
      }
      noteDevice(store, sender, { deviceId: env.sender.deviceId, deviceNumber: env.sender.deviceNumber });
      let peer = sender;
      if (content.sync !== undefined) {
        if (userAddress(sender) !== userAddress(this.me))
          return warn('forged-sync', 'a sync copy from another user');
        peer = { orgId: content.sync.org, userId: content.sync.user };
      }
      const now = this.c.clock();
      this.#store(content, sender, peer, 'received', env.serverTime, now);
      const hash = sha256(env.content);
      const { seq } = this.c.capture.captureSync(
        this.#record(content, sender, peer, 'received', [hash], env.serverTime, now),
      );
      return { content, from: sender, peer, direction: 'received' as const, archiveSeq: seq };
    });
  }

  async #decrypt(env: RelayEnvelope, address: ProtocolAddress): Promise<Uint8Array> {
    const s = this.c.stores;
    const bytes = new Uint8Array(env.content);
    if (env.type === (CiphertextMessageType.PreKey as number)) {
      return signalDecryptPreKey(
        PreKeySignalMessage.deserialize(bytes),
        address,
        this.#self,
        s.sessions,
        s.identity,
        s.preKeys,
        s.signedPreKeys,
        s.kyberPreKeys,
      );
    }
    if (env.type === (CiphertextMessageType.Whisper as number)) {
      return signalDecrypt(SignalMessage.deserialize(bytes), address, this.#self, s.sessions, s.identity);
    }
    throw new ClientError('ENVELOPE_INVALID', `unsupported envelope type ${env.type}`);
  }

  /** Encrypts for every known device of `to` and sends, repairing the device list on mismatch. */
  async #deliver(to: PeerUser, padded: Uint8Array): Promise<{ serverTime: number; hashes: Uint8Array[] }> {
    const { store, api, stores, profile } = this.c;
    const self = { deviceId: profile.deviceId, address: this.#self };
    let contact = getContact(store, to);
    if (contact === undefined) {
      contact = { ...to, devices: await fetchSessions(api, stores, to, self) };
      saveContact(store, contact);
    }
    for (let attempt = 0; attempt < MAX_SEND_ATTEMPTS; attempt++) {
      const envelopes: { deviceId: string; type: number; content: string }[] = [];
      const hashes: Uint8Array[] = [];
      for (const d of contact.devices) {
        if (d.deviceId === profile.deviceId) continue;
        const address = deviceAddress(to, d.deviceNumber);
        if ((await stores.sessions.getSession(address))?.hasCurrentState() !== true)
          await fetchSessions(api, stores, to, self, d.deviceId);
        const ct = await signalEncrypt(
          new Uint8Array(padded),
          address,
          this.#self,
          stores.sessions,
          stores.identity,
        );
        const bytes = ct.serialize();
        hashes.push(sha256(bytes));
        envelopes.push({
          deviceId: d.deviceId,
          type: ct.type(),
          content: Buffer.from(bytes).toString('base64url'),
        });
      }
      // Writing to oneself with no other device: nothing to send (the server needs at least one envelope).
      if (envelopes.length === 0 && userAddress(to) === userAddress(this.me))
        return { serverTime: this.c.clock(), hashes };
      try {
        if (envelopes.length === 0) throw new ClientError('DELIVERY_FAILED', 'the recipient has no devices');
        const res = obj(
          await api.request('PUT', '/v1/messages', {
            body: { recipient: { orgId: to.orgId, userId: to.userId }, envelopes },
          }),
          'send result',
        );
        return { serverTime: int(res, 'serverTime'), hashes };
      } catch (e) {
        if (
          !isServerRefusal(e, 'MISMATCHED_DEVICES') &&
          !(isClientError(e, 'DELIVERY_FAILED') && attempt === 0)
        )
          throw e;
        const details = (e instanceof ClientError ? e.server?.details : undefined) as
          { missing?: unknown; stale?: unknown } | undefined;
        const missing = Array.isArray(details?.missing)
          ? details.missing.filter((x) => typeof x === 'string')
          : [];
        const stale = new Set(
          Array.isArray(details?.stale) ? details.stale.filter((x) => typeof x === 'string') : [],
        );
        let devices: PeerDevice[] = contact.devices.filter((d) => !stale.has(d.deviceId));
        for (const d of contact.devices)
          if (stale.has(d.deviceId))
            stores.sessions.deleteSession(deviceAddress(to, d.deviceNumber).toString());
        if (envelopes.length === 0) devices = await fetchSessions(api, stores, to, self);
        for (const id of missing) {
          const added = await fetchSessions(api, stores, to, self, id);
          devices = [...devices.filter((d) => !added.some((a) => a.deviceId === d.deviceId)), ...added];
        }
        contact = { ...to, devices };
        saveContact(store, contact);
      }
    }
    throw new ClientError('DELIVERY_FAILED', 'the server kept reporting a changed device list');
  }

  #store(
    c: MessageContent,
    from: PeerUser,
    peer: PeerUser,
    direction: 'sent' | 'received',
    serverAt: number,
    now = this.c.clock(),
  ): void {
    if (c.kind !== 'message') {
      applyEvent(this.c.store, c, from);
      return;
    }
    const m: StoredMessage = {
      id: c.id,
      conversation: directConversationId(this.me, peer),
      peer,
      from,
      direction,
      sentAt: c.timestamp,
      receivedAt: direction === 'sent' ? serverAt : now,
      text: c.text ?? '',
      reactions: [],
      ...(c.replyTo === undefined ? {} : { replyTo: c.replyTo }),
      ...(c.notice === undefined ? {} : { notice: c.notice }),
    };
    putMessage(this.c.store, m);
  }

  #record(
    c: MessageContent,
    from: PeerUser,
    peer: PeerUser,
    direction: 'sent' | 'received',
    envelopeHashes: Uint8Array[],
    serverAt: number,
    receivedAt?: number,
  ): RecordBody {
    return {
      direction,
      kind: c.kind,
      messageId: c.id,
      conversationId: directConversationId(this.me, peer),
      participants: [userAddress(this.me), userAddress(peer)].filter((p, i, a) => a.indexOf(p) === i).sort(),
      sender: userAddress(from),
      sentAt: c.timestamp,
      serverAt,
      ...(receivedAt === undefined ? {} : { receivedAt }),
      ...(c.text === undefined ? {} : { text: c.text }),
      attachments: [],
      ...(c.edits === undefined ? {} : { edits: c.edits }),
      ...(c.replyTo === undefined ? {} : { replyTo: c.replyTo }),
      ...(c.deletes === undefined ? {} : { deletes: c.deletes }),
      ...(c.reactsTo === undefined ? {} : { reactsTo: c.reactsTo }),
      ...(c.emoji === undefined ? {} : { reaction: c.emoji }),
      archiveNotice: c.notice !== undefined,
      envelopeHashes,
    };
  }
}
