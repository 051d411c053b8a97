/**
 * The device SDK's entry point: one enrolled profile, its encrypted store, the server
 * connection, messaging and archive capture. Operations that touch Signal sessions or the
 * archive chain run one at a time (a promise queue), each in its own store transaction.
 *
 * Archive capture is not optional: the organisation requires it (DeviceProfile.captureRequired),
 * so there is no switch; a send fails (CAPTURE_REQUIRED) rather than go out unarchived.
 */
import { Fingerprint, PublicKey } from '@signalapp/libsignal-client';
import { ArchiveCapture, loadChain } from './archive/capture.js';
import {
  refreshBuckets,
  refreshIndexKeys,
  refusedBuckets,
  type BucketRefresh,
  type RefusedBucket,
} from './archive/bucket-keys.js';
import { verifyArchiveProofs, type ProofRound } from './archive/proofs.js';
import { ArchiveUploader, uploadedThrough, type ArchiveReceiptRow } from './archive/uploader.js';
import { enrolDevice, type EnrolOptions } from './enrol/enrol.js';
import { OwnDeviceWatch } from './devices/own-device-watch.js';
import { requestLinkCode, revokeOwnDevice, type LinkCode, type OwnDevice } from './devices/own-devices.js';
import { DEFAULT_KYBER_PREKEYS, DEFAULT_ONE_TIME_PREKEYS, generatePrekeys } from './enrol/prekeys.js';
import { ClientError, isClientError } from './errors.js';
import type { MessageContent } from './messaging/content.js';
import {
  expireMessages,
  listMessages,
  listWarnings,
  type StoredMessage,
  type Warning,
} from './messaging/message-store.js';
import { Messenger, type MessageEvent, type OutgoingContent } from './messaging/messenger.js';
import {
  directConversationId,
  getContact,
  listContacts,
  userAddress,
  type PeerUser,
} from './messaging/peers.js';
import { getGroup, listGroups, type GroupInfo } from './messaging/groups.js';
import { downloadAttachment, uploadAttachment, type AttachmentMeta } from './messaging/attachments.js';
import type { AttachmentPointer } from './messaging/content-parts.js';
import { readReceiptsFor, ReceiptQueue } from './messaging/receipts.js';
import { conversationTimer, ownDisplayName, setOwnDisplayName } from './messaging/conversation-settings.js';
import { loadProfile, type DeviceProfile } from './profile.js';
import { LocalSettings } from './local-settings.js';
import { OrgAdmin, sessionInfo, type SessionInfo } from './admin/org-admin.js';
import {
  pendingChanges,
  presentedIdentities,
  type PendingIdentityChange,
  type PresentedIdentity,
} from './messaging/identity-review.js';
import { decodeJson, LocalStore } from './store/local-store.js';
import { loadLocalIdentity, signalStores, type SignalStores } from './store/signal-stores.js';
import type { StorageKeyOptions } from './store/storage-key.js';
import { ApiClient, type ApiClientOptions } from './transport/api-client.js';
import { parseEnvelope, RelaySocket, type RelayEnvelope } from './transport/relay-socket.js';
import { arr, bool, int, obj } from './transport/response-checks.js';

/** libsignal safety-number parameters (as Signal: 5200 iterations, version 2). */
const FINGERPRINT_ITERATIONS = 5200;
const FINGERPRINT_VERSION = 2;

/** Options to open a profile. */
export interface OpenOptions extends StorageKeyOptions {
  readonly passphrase?: string;
  readonly api?: ApiClientOptions;
  readonly clock?: () => number;
  /** Called for each message event received over the socket. */
  readonly onEvent?: (e: MessageEvent) => void;
}

/** Archive status for `custos archive status`. */
export interface ArchiveStatus {
  readonly required: boolean;
  /** Records captured and not yet proven (still in the queue). */
  readonly queued: number;
  readonly nextSeq: number;
  readonly uploadedThrough: number;
  readonly receipts: number;
  readonly lastReceiptSeq: number | undefined;
  readonly lastVerifiedTreeSize: number | undefined;
  readonly refusedBuckets: readonly RefusedBucket[];
}

/** An enrolled device. */
export class CustosClient {
  readonly profile: DeviceProfile;
  readonly api: ApiClient;
  readonly #store: LocalStore;
  readonly #stores: SignalStores;
  readonly #capture: ArchiveCapture;
  readonly #messenger: Messenger;
  readonly #uploader: ArchiveUploader;
  readonly #ownDevices: OwnDeviceWatch;
  readonly #clock: () => number;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #receipts = new ReceiptQueue();
  #socket: RelaySocket | undefined;

  private constructor(
    store: LocalStore,
    api: ApiClient,
    private readonly options: OpenOptions,
  ) {
    this.#store = store;
    this.api = api;
    this.#clock = options.clock ?? Date.now;
    this.profile = loadProfile(store);
    const identity = loadLocalIdentity(store);
    api.setCredentials({
      orgId: this.profile.orgId,
      deviceId: this.profile.deviceId,
      identityKey: identity.privateKey,
    });
    this.#stores = signalStores(store, this.#clock);
    this.#capture = new ArchiveCapture(store, this.profile, this.#clock);
    this.#messenger = new Messenger({
      store,
      api,
      profile: this.profile,
      stores: this.#stores,
      capture: this.#capture,
      clock: this.#clock,
    });
    this.#uploader = new ArchiveUploader(store, api, this.profile, identity.privateKey);
    this.#ownDevices = new OwnDeviceWatch({
      api,
      store,
      me: () => this.me,
      deviceId: this.profile.deviceId,
      clock: this.#clock,
    });
    // Disappearing messages leave the device on open (and on every sync).
    this.expireMessages(this.#clock());
  }

  /** Enrols a new device with an admin-issued code into `dir`. */
  static async enrol(dir: string, o: EnrolOptions & Omit<OpenOptions, 'passphrase'>): Promise<CustosClient> {
    const { store, api } = await enrolDevice(dir, o);
    return new CustosClient(store, api, o);
  }

  /** Opens an enrolled profile. */
  static open(dir: string, o: OpenOptions = {}): CustosClient {
    const store = LocalStore.open(dir, o.passphrase, o);
    try {
      const profile = loadProfile(store);
      return new CustosClient(
        store,
        new ApiClient(profile.serverUrl, { ...(o.clock ? { clock: o.clock } : {}), ...o.api }),
        o,
      );
    } catch (e) {
      store.close();
      throw e;
    }
  }

  /** This device's identity public key (33 bytes): an officer seals index keys to it. */
  get identityKey(): Uint8Array {
    return loadLocalIdentity(this.#store).publicKey.serialize();
  }

  /** This device's user. */
  get me(): PeerUser {
    return this.#messenger.me;
  }

  /** Runs `fn` after every earlier operation (sessions and the archive chain allow one at a time). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Sends a text message to `to`. */
  sendText(to: PeerUser, text: string, opts: { replyTo?: string } = {}): Promise<MessageEvent> {
    return this.send(to, {
      kind: 'message',
      text,
      ...(opts.replyTo === undefined ? {} : { replyTo: opts.replyTo }),
    });
  }

  /** Sends any content event (message, edit, delete, reaction). */
  send(to: PeerUser, content: Omit<MessageContent, 'id' | 'timestamp' | 'notice'>): Promise<MessageEvent> {
    return this.#captured((m) => m.send(to, content));
  }

  /** Runs a send in the queue; refreshes bucket keys once if none covers now (capture is required). */
  #captured(fn: (m: Messenger) => Promise<MessageEvent>): Promise<MessageEvent> {
    return this.#serial(async () => {
      // Sync copies reach a device linked since the own-device list was cached.
      await this.#ownDevices.beforeSend();
      try {
        return await fn(this.#messenger);
      } catch (e) {
        if (!isClientError(e, 'NO_BUCKET_KEY')) throw e;
      }
      // The period's bucket may be new: fetch and verify bucket keys once, then try again.
      await this.refreshKeys();
      try {
        return await fn(this.#messenger);
      } catch (e) {
        if (isClientError(e, 'NO_BUCKET_KEY'))
          throw new ClientError(
            'CAPTURE_REQUIRED',
            `not sent: the organisation requires archiving and ${e.message}`,
            {
              cause: e,
            },
          );
        throw e;
      }
    });
  }

  /** Handles one envelope (socket or HTTP fetch). */
  receive(env: RelayEnvelope): Promise<MessageEvent | undefined> {
    return this.#serial(async () => {
      const e = await this.#messenger.receive(env);
      if (e !== undefined) this.#receipts.note(e, this.me);
      return e;
    });
  }

  /** Sends the delivery receipts owed (best effort: a receipt lost to a network fault is not retried). */
  async #flushReceipts(): Promise<void> {
    for (const r of this.#receipts.take())
      await this.#captured((m) => m.sendReceipt(r.to, r.type, r.ids, r.group)).catch(() => undefined);
  }

  /** Fetches and handles every queued envelope over HTTP, acknowledging each after it is stored. */
  async sync(): Promise<MessageEvent[]> {
    const out: MessageEvent[] = [];
    for (;;) {
      const page = obj(await this.api.request('GET', '/v1/messages'), 'messages');
      const envelopes = arr(page, 'envelopes').map(parseEnvelope);
      for (const env of envelopes) {
        const e = await this.receive(env);
        // Receipts update stored messages (delivered/read) and are not returned as events.
        if (e !== undefined && e.content.kind !== 'receipt') out.push(e);
        try {
          await this.api.request('DELETE', `/v1/messages/${env.id}`);
        } catch (err) {
          if (!(isClientError(err, 'SERVER_REFUSED') && err.server?.code === 'ENVELOPE_NOT_FOUND')) throw err;
        }
      }
      await this.#flushReceipts();
      if (!bool(page, 'more') || envelopes.length === 0) break;
    }
    this.expireMessages(this.#clock());
    await this.replenishPrekeys();
    return out;
  }

  /** Opens the relay socket: envelopes are handled as they arrive and acknowledged after. */
  async connect(): Promise<void> {
    if (this.#socket !== undefined) return;
    this.#socket = new RelaySocket(this.api, {
      onEnvelope: async (env) => {
        const e = await this.receive(env);
        if (e !== undefined && e.content.kind !== 'receipt') this.options.onEvent?.(e);
        await this.#flushReceipts();
      },
      onPrekeysLow: () => void this.replenishPrekeys().catch(() => undefined),
    });
    await this.#socket.start();
  }

  /** Waits until every envelope received on the socket so far is handled. */
  async settled(): Promise<void> {
    await this.#socket?.idle();
    await this.#queue;
  }

  /**
   * Tops one-time prekeys up to DEFAULT_ONE_TIME_PREKEYS / DEFAULT_KYBER_PREKEYS when the
   * server says the device is low. Resolves to whether it uploaded.
   */
  async replenishPrekeys(): Promise<boolean> {
    const status = obj(await this.api.request('GET', '/v1/prekeys'), 'prekey status');
    if (!bool(status, 'low')) return false;
    const oneTime = Math.max(0, DEFAULT_ONE_TIME_PREKEYS - int(status, 'oneTime'));
    const kyber = Math.max(0, DEFAULT_KYBER_PREKEYS - int(status, 'kyber'));
    const identity = loadLocalIdentity(this.#store);
    const upload = await this.#serial(async () =>
      generatePrekeys(this.#store, this.#stores, identity, { oneTime, kyber, rotateSigned: false }),
    );
    await this.api.request('PUT', '/v1/prekeys', { body: upload });
    return true;
  }

  /** Re-reads and re-verifies bucket keys and index keys from the server. */
  async refreshKeys(): Promise<BucketRefresh> {
    const r = await refreshBuckets(this.api, this.#store, this.profile);
    await refreshIndexKeys(this.api, this.#store, this.profile, loadLocalIdentity(this.#store).privateKey);
    return r;
  }

  /**
   * A one-time, short-lived code that enrols one more device of this user: on the new
   * device, `CustosClient.enrol(dir, { code, … })` as with an admin's enrolment code.
   * MUST NOT be logged.
   */
  async linkCode(opts: { readonly ttlSeconds?: number } = {}): Promise<LinkCode> {
    const code = await requestLinkCode(this.api, this.profile, opts);
    this.#ownDevices.noteLinkCode(code.expiresAt);
    return code;
  }

  /** This user's devices (revoked ones included), with their public identity keys; refreshes whom sync copies go to. */
  myDevices(): Promise<OwnDevice[]> {
    return this.#serial(() => this.#ownDevices.list());
  }

  /** Revokes another device of this user (a lost phone); it is refused from its next request on. */
  revokeMyDevice(deviceId: string): Promise<{ revokedAt: number }> {
    return revokeOwnDevice(this.api, deviceId);
  }

  /** Uploads queued archive records (with retry) and verifies the proofs that checkpoints cover. */
  async flushArchive(): Promise<{ uploaded: number; proofs: ProofRound }> {
    return this.#serial(async () => {
      await this.#uploader.resume();
      const uploaded = await this.#uploader.uploadAll();
      const proofs = await verifyArchiveProofs(this.api, this.#store, this.profile);
      return { uploaded, proofs };
    });
  }

  /** Only uploads (no proof check); for backlogs and benchmarks. */
  uploadArchive(): Promise<number> {
    return this.#serial(() => this.#uploader.uploadAll());
  }

  /** Queue depth, last receipt, last verified checkpoint. */
  archiveStatus(): ArchiveStatus {
    const receipts = this.#store.list('archive-receipts').map((r) => decodeJson<ArchiveReceiptRow>(r.value));
    const proven = receipts.filter((r) => r.receipt !== undefined);
    const cp = this.#store.getJson<{ treeSize: number }>('archive-state', 'last-checkpoint');
    return {
      required: this.profile.captureRequired,
      queued: this.#store.count('archive-queue'),
      nextSeq: loadChain(this.#store).nextSeq,
      uploadedThrough: uploadedThrough(this.#store),
      receipts: proven.length,
      lastReceiptSeq: proven.at(-1)?.seq,
      lastVerifiedTreeSize: cp?.treeSize,
      refusedBuckets: refusedBuckets(this.#store),
    };
  }

  /** Verified receipts kept by this device (tlog-proof@v1 text), by sequence number. */
  archiveReceipts(): ArchiveReceiptRow[] {
    return this.#store
      .list('archive-receipts')
      .map((r) => decodeJson<ArchiveReceiptRow>(r.value))
      .filter((r) => r.receipt !== undefined);
  }

  /** Stored messages, optionally of the 1:1 conversation with `peer`. */
  messages(peer?: PeerUser): StoredMessage[] {
    return listMessages(this.#store, peer === undefined ? undefined : directConversationId(this.me, peer));
  }

  /** Creates a group of this user and `members`; the state goes to each member encrypted. */
  async createGroup(name: string, members: readonly PeerUser[]): Promise<GroupInfo> {
    const e = await this.#captured((m) => m.changeGroup(undefined, { op: 'create', name, members }));
    return getGroup(this.#store, e.conversation)!;
  }

  /** Adds members to a group (any member may). */
  addGroupMembers(groupId: string, members: readonly PeerUser[]): Promise<MessageEvent> {
    return this.#captured((m) => m.changeGroup(groupId, { op: 'add', members }));
  }

  /** Removes members from a group (any member may; leave to remove yourself). */
  removeGroupMembers(groupId: string, members: readonly PeerUser[]): Promise<MessageEvent> {
    return this.#captured((m) => m.changeGroup(groupId, { op: 'remove', members }));
  }

  /** Leaves a group (it stays listed, inactive). */
  leaveGroup(groupId: string): Promise<MessageEvent> {
    return this.#captured((m) => m.changeGroup(groupId, { op: 'leave' }));
  }

  /** Renames a group. */
  renameGroup(groupId: string, name: string): Promise<MessageEvent> {
    return this.#captured((m) => m.changeGroup(groupId, { op: 'rename', name }));
  }

  /** Every group this device knows, including ones left. */
  groups(): GroupInfo[] {
    return listGroups(this.#store);
  }

  /** One group, or undefined. */
  group(groupId: string): GroupInfo | undefined {
    return getGroup(this.#store, groupId);
  }

  /** Sends any content event (message, edit, delete, reaction) to a group. */
  sendToGroup(groupId: string, content: OutgoingContent): Promise<MessageEvent> {
    return this.#captured((m) => m.sendToGroup(groupId, content));
  }

  /** Stored messages of a group. */
  groupMessages(groupId: string): StoredMessage[] {
    return listMessages(this.#store, groupId);
  }

  /** Encrypts and uploads a file; put the pointer in a message's `attachments`. */
  attachFile(bytes: Uint8Array, meta: AttachmentMeta): Promise<AttachmentPointer> {
    return uploadAttachment(this.api, bytes, meta);
  }

  /** Downloads an attachment, checks its digest and size, and decrypts it. */
  downloadAttachment(pointer: AttachmentPointer): Promise<Uint8Array> {
    return downloadAttachment(this.api, pointer);
  }

  /** Sends read receipts for `messageIds` of a 1:1 conversation (peer) or a group (id) to their senders. */
  async markRead(peerOrGroup: PeerUser | string, messageIds: readonly string[]): Promise<void> {
    const msgs =
      typeof peerOrGroup === 'string' ? this.groupMessages(peerOrGroup) : this.messages(peerOrGroup);
    for (const r of readReceiptsFor(msgs, messageIds, this.me))
      await this.#captured((m) => m.sendReceipt(r.to, r.type, r.ids, r.group));
  }

  /** Sets the disappearing-message timer (seconds, 0 = off) of a 1:1 conversation or a group. */
  setDisappearingTimer(peerOrGroup: PeerUser | string, seconds: number): Promise<MessageEvent> {
    const target = typeof peerOrGroup === 'string' ? { group: peerOrGroup } : { peer: peerOrGroup };
    return this.#captured((m) => m.setTimer(target, seconds));
  }

  /** The disappearing-message timer of a conversation (seconds, 0 = off). */
  disappearingTimer(peerOrGroup: PeerUser | string): number {
    const id = typeof peerOrGroup === 'string' ? peerOrGroup : directConversationId(this.me, peerOrGroup);
    return conversationTimer(this.#store, id);
  }

  /** Deletes messages whose timer ran out by `now` from this device (never from the archive). */
  expireMessages(now: number): number {
    return this.#store.transaction(() => expireMessages(this.#store, now));
  }

  /** Sets this user's display name; peers learn it from the next content sent (encrypted). */
  setDisplayName(name: string): void {
    setOwnDisplayName(this.#store, name);
  }

  /** This user's display name, if set. */
  displayName(): string | undefined {
    return ownDisplayName(this.#store);
  }

  /** Contacts with the display names they sent (names are unverified claims). */
  contacts(): { user: PeerUser; name?: string }[] {
    return listContacts(this.#store).map((c) => ({
      user: { orgId: c.orgId, userId: c.userId },
      ...(c.name === undefined ? {} : { name: c.name }),
    }));
  }

  /** Warnings (identity changes, refused envelopes). */
  warnings(): Warning[] {
    return listWarnings(this.#store);
  }

  /** Organisations that archive the conversation with `peer`, from the notices seen (F17). */
  archivedBy(peer: PeerUser): { org: string; name: string }[] {
    const seen = new Map<string, string>([[this.profile.orgId, this.profile.orgName]]);
    for (const m of this.messages(peer)) if (m.notice !== undefined) seen.set(m.notice.org, m.notice.name);
    return [...seen].map(([org, name]) => ({ org, name }));
  }

  /** Safety numbers with each known device of `peer` (libsignal Fingerprint, displayable form). */
  async safetyNumbers(peer: PeerUser): Promise<{ deviceId: string; safetyNumber: string }[]> {
    const local = loadLocalIdentity(this.#store).publicKey;
    const me = new Uint8Array(Buffer.from(userAddress(this.me), 'utf8'));
    const them = new Uint8Array(Buffer.from(userAddress(peer), 'utf8'));
    const out = [];
    for (const d of getContact(this.#store, peer)?.devices ?? []) {
      const key = this.#stores.identity.identityOf(`${userAddress(peer)}.${d.deviceNumber}`);
      if (key === null) continue;
      const fp = Fingerprint.new(FINGERPRINT_ITERATIONS, FINGERPRINT_VERSION, me, local, them, key);
      out.push({ deviceId: d.deviceId, safetyNumber: fp.displayableFingerprint().toString() });
    }
    return out;
  }

  /** Unaccepted identity changes: messaging with those devices is refused until accepted. */
  pendingIdentityChanges(): PendingIdentityChange[] {
    return pendingChanges(this.#stores.identity.changes());
  }

  /** The identity keys `peer`'s devices present now (from the server), each with its safety number. */
  presentedIdentities(peer: PeerUser): Promise<PresentedIdentity[]> {
    const local = loadLocalIdentity(this.#store).publicKey;
    return presentedIdentities(this.api, this.#stores.identity, this.me, local, peer);
  }

  /** Application settings kept in the encrypted store (e.g. the `custos` address book). */
  get settings(): LocalSettings {
    return new LocalSettings(this.#store);
  }

  /** Who the server says this device is, with its role. */
  session(): Promise<SessionInfo> {
    return sessionInfo(this.api);
  }

  /** Admin calls for this device's organisation (the server refuses them unless the role is admin). */
  admin(): OrgAdmin {
    return new OrgAdmin(this.api, this.profile.orgId);
  }

  /** Accepts a peer device's changed identity key after the user compared safety numbers. */
  acceptIdentity(peer: PeerUser, deviceNumber: number, identityKey: Uint8Array): void {
    this.#stores.identity.acceptIdentity(
      `${userAddress(peer)}.${deviceNumber}`,
      PublicKey.deserialize(new Uint8Array(identityKey)),
    );
  }

  /** Stops the socket, waits for running operations, wipes keys in memory and closes the store. */
  async close(): Promise<void> {
    await this.#socket?.stop();
    this.#socket = undefined;
    await this.#queue;
    this.#capture.close();
    this.#store.close();
  }

  /** Closes the store at once, without waiting (tests: a crash between capture and upload). */
  crash(): void {
    void this.#socket?.stop();
    this.#capture.close();
    this.#store.close();
  }
}
