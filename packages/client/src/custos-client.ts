/**
 * The device SDK's entry point: one enrolled profile, its encrypted store, the server
 * connection, messaging and archive capture. The parts (client/*.ts: operation queue,
 * inbox, conversations, archive work and view) are wired in client/client-parts.ts; this
 * class keeps the public API. Operations that touch Signal sessions or the archive chain
 * run one at a time, each in its own store transaction.
 *
 * Archive capture is not optional: the organisation requires it (DeviceProfile.captureRequired),
 * so there is no switch; a send fails (CAPTURE_REQUIRED) rather than go out unarchived.
 */
import { PublicKey } from '@signalapp/libsignal-client';
import type { ArchiveMaterialRefresh } from './archive/archive-material.js';
import type { ProofRound } from './archive/proofs.js';
import type { ArchiveReceiptRow } from './archive/uploader.js';
import { archiveReceipts, archiveStatus, type ArchiveStatus } from './client/archive-view.js';
import { wireClient, type ClientParts, type OpenOptions } from './client/client-parts.js';
import { enrolDevice, type EnrolOptions } from './enrol/enrol.js';
import {
  requestLinkCode,
  retireThisDevice,
  revokeOwnDevice,
  type LinkCode,
  type OwnDevice,
} from './devices/own-devices.js';
import type { ArchiveHandIn, ArchiveRun } from './archive/hand-in.js';
import type { DeviceRevocation } from './devices/device-revocation.js';
import { ClientError } from './errors.js';
import type { MessageContent } from './messaging/content.js';
import { listWarnings, type StoredMessage, type Warning } from './messaging/message-store.js';
import type { MessageEvent, OutgoingContent, PendingSendInfo } from './messaging/messenger.js';
import { userAddress, type PeerUser } from './messaging/peers.js';
import type { ArchivedBy } from './messaging/archive-notices.js';
import type { GroupInfo } from './messaging/groups.js';
import { downloadAttachment, uploadAttachment, type AttachmentMeta } from './messaging/attachments.js';
import type { AttachmentPointer } from './messaging/content-parts.js';
import { ownDisplayName, setOwnDisplayName } from './messaging/conversation-settings.js';
import { loadProfile, type DeviceProfile } from './profile.js';
import { LocalSettings } from './local-settings.js';
import { OrgAdmin, sessionInfo, type SessionInfo } from './admin/org-admin.js';
import {
  knownSafetyNumbers,
  pendingChanges,
  presentedIdentities,
  type PendingIdentityChange,
  type PresentedIdentity,
} from './messaging/identity-review.js';
import { LocalStore } from './store/local-store.js';
import { loadLocalIdentity } from './store/signal-stores.js';
import { ApiClient } from './transport/api-client.js';
import type { RelayEnvelope } from './transport/relay-socket.js';

export type { ArchiveStatus, AwaitingBatchProof, AwaitingGapProof } from './client/archive-view.js';
export type { OpenOptions } from './client/client-parts.js';

/** Each client's parts, for {@link readClientStore}. */
const partsOf = new WeakMap<CustosClient, ClientParts>();

/**
 * Runs `read` over an open client's store in its operation queue, after every operation
 * queued so far, so that no send or receive is half done. For tests that read what a profile
 * holds beside its running client: a second store on the profile is PROFILE_IN_USE (one
 * store per profile, LocalStore). `read` must not write. Not exported by the package.
 */
export function readClientStore<T>(client: CustosClient, read: (store: LocalStore) => T): Promise<T> {
  const p = partsOf.get(client)!;
  return p.ops.serial(async () => read(p.store));
}

/** What retiring a device did: when it was revoked, what it uploaded first, what it left. */
export interface Retirement {
  readonly revokedAt: number;
  /** Records uploaded just before (the queue's last upload). */
  readonly uploaded: number;
  /** The run of records it could not upload (retired with `force`), or undefined. */
  readonly stranded: ArchiveRun | undefined;
}

/** An enrolled device. */
export class CustosClient {
  readonly api: ApiClient;
  readonly #p: ClientParts;

  private constructor(store: LocalStore, api: ApiClient, options: OpenOptions) {
    this.api = api;
    this.#p = wireClient(store, api, options);
    partsOf.set(this, this.#p);
    // Disappearing messages leave the device on open (and on every sync).
    this.expireMessages(this.#p.clock());
  }

  /** Enrols a new device with an admin-issued code into `dir`. */
  static async enrol(dir: string, o: EnrolOptions & Omit<OpenOptions, 'passphrase'>): Promise<CustosClient> {
    const { store, api } = await enrolDevice(dir, o);
    try {
      return new CustosClient(store, api, o);
    } catch (e) {
      store.close(); // it holds the profile's lock
      throw e;
    }
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

  /** What the device knows about itself; the key manager and retention class follow {@link refreshKeys}. */
  get profile(): DeviceProfile {
    return this.#p.profile();
  }

  /** This device's identity public key (33 bytes): an officer seals index keys to it. */
  get identityKey(): Uint8Array {
    return loadLocalIdentity(this.#p.store).publicKey.serialize();
  }

  /** This device's user. */
  get me(): PeerUser {
    return this.#p.messenger.me;
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
    return this.#p.ops.captured((m) => m.send(to, content));
  }

  /** Seals the records captured since the last seal (done in the background after each capture and before upload). */
  sealArchive(): Promise<number> {
    return this.#p.archive.seal();
  }

  /** Handles one envelope (socket or HTTP fetch). */
  receive(env: RelayEnvelope): Promise<MessageEvent | undefined> {
    return this.#p.inbox.receive(env);
  }

  /**
   * Refreshes the archive material (delegation, retention class, bucket and index keys),
   * re-reads this user's devices (a new one is an `own-device-added` warning), completes the sends left pending by a lost answer (each sent again unchanged, under its
   * key: messaging/send-outbox.ts), then fetches and handles every queued envelope over HTTP,
   * acknowledging each after it is stored. A send still without an answer stays pending.
   * Resolves to the sends it completed (`direction: 'sent'`: the app was told SEND_PENDING
   * for them) with the content received while they were pending, held for them
   * (messaging/held-received.ts), then the events received.
   */
  async sync(): Promise<MessageEvent[]> {
    await this.#p.ops.serial(() => this.#p.archive.refreshNow());
    // A device added to this user's account is an own-device-added warning (own-device-watch.ts).
    await this.#p.ops.serial(() => this.#p.ownDevices.check());
    const sent: MessageEvent[] = [];
    await this.#p.inbox.resumePending(sent);
    // Receipts (held ones included) update stored messages and are not returned as events.
    const released = sent.filter((e) => e.content.kind !== 'receipt');
    return [...released, ...(await this.#p.inbox.sync())];
  }

  /**
   * The sends kept until the server confirms them (a lost or unconfirmed answer), oldest
   * first. While one is listed every later send is refused with SEND_BLOCKED; `sync()` sends
   * it again.
   */
  pendingSends(): PendingSendInfo[] {
    return this.#p.messenger.pendingSends();
  }

  /**
   * Gives up on the oldest pending send so later sends go: what may be at the server is
   * recorded as possibly delivered (a delivery-uncertain warning), never silently dropped.
   * Resolves to the stored message's event when a recipient accepted it or may have it (the
   * warnings it added say which: `delivery-uncertain` for possibly delivered,
   * `delivery-failed` for each recipient it never reached), undefined when nobody can have
   * it. With `expectedId` (the `id` of the PendingSendInfo shown to the user) it discards
   * only that send: when the oldest is another one by then, it fails PENDING_CHANGED and
   * discards nothing.
   */
  discardPendingSend(expectedId?: string): Promise<MessageEvent | undefined> {
    return this.#p.ops.serial(() => this.#p.messenger.discardPendingSend(expectedId));
  }

  /**
   * Opens the relay socket: envelopes are handled as they arrive and acknowledged after; then
   * re-reads this user's devices (a new one is an `own-device-added` warning). While connected, the archive queue also uploads in the background (client/archive-autoflush.ts):
   * what is captured is sealed, uploaded and receipted without another call.
   */
  async connect(): Promise<void> {
    await this.#p.inbox.connect();
    this.#p.archive.startBackground();
    await this.#p.ops.serial(() => this.#p.ownDevices.check());
  }

  /** Closes the relay socket and stops the background upload; the client stays usable. */
  async disconnect(): Promise<void> {
    await this.#p.inbox.stop();
    await this.#p.archive.stopBackground();
  }

  /** Waits until every envelope received on the socket so far is handled. */
  settled(): Promise<void> {
    return this.#p.inbox.settled();
  }

  /** Tops prekeys up when the server says the device is low; resolves to whether it uploaded. */
  replenishPrekeys(): Promise<boolean> {
    return this.#p.inbox.replenishPrekeys();
  }

  /**
   * Re-reads and re-verifies the key-manager delegation, the retention class, the bucket keys
   * and this device's index keys (archive/archive-material.ts); refusals become warnings.
   */
  refreshKeys(): Promise<ArchiveMaterialRefresh> {
    return this.#p.ops.serial(() => this.#p.archive.refreshNow());
  }

  /** A one-time, short-lived code that enrols one more device of this user. MUST NOT be logged. */
  async linkCode(opts: { readonly ttlSeconds?: number } = {}): Promise<LinkCode> {
    const code = await requestLinkCode(this.api, this.profile, opts);
    this.#p.ownDevices.noteLinkCode(code.expiresAt);
    return code;
  }

  /** This user's devices (revoked ones included), with their public identity keys; refreshes whom sync copies go to. */
  myDevices(): Promise<OwnDevice[]> {
    return this.#p.ops.serial(() => this.#p.ownDevices.list());
  }

  /**
   * Revokes another device of this user (a lost phone); it is refused from its next request on
   * and cannot log in. `allowHandIn` lets it still hand in the archive records it sealed before,
   * for the server's hand-in window: only for a device in the user's hands with records queued.
   */
  revokeMyDevice(deviceId: string, o: { readonly allowHandIn?: boolean } = {}): Promise<DeviceRevocation> {
    return revokeOwnDevice(this.api, deviceId, o);
  }

  /**
   * Uploads everything in the archive queue it can and never fails: what was acknowledged,
   * what is still not uploaded, and why the upload stopped. Before retiring this device; and
   * on a device revoked by someone else, which the server lets hand in what it sealed before
   * for a bounded time (docs/threat-model.md, "Revoked devices and their archive queue").
   */
  handInArchive(): Promise<ArchiveHandIn> {
    return this.#p.archive.handIn();
  }

  /**
   * Retires this device (its user revokes it from itself): first uploads everything in its
   * archive queue, and refuses with ARCHIVE_NOT_UPLOADED (naming the records) while any is
   * still not uploaded — unless `force`, when the run it strands is recorded with the
   * revocation, so records officers know what the retirement left behind. A retired device
   * gets no hand-in window: that run is given up.
   */
  async retire(o: { readonly force?: boolean } = {}): Promise<Retirement> {
    const h = await this.handInArchive();
    if (h.notUploaded !== undefined && o.force !== true) {
      const r = h.notUploaded;
      const why = h.error instanceof Error ? ` (the upload stopped: ${h.error.message})` : '';
      throw new ClientError(
        'ARCHIVE_NOT_UPLOADED',
        `${r.count} archive record(s) (sequence ${r.firstSeq}–${r.lastSeq}) are not uploaded${why}: ` +
          'retiring now would strand them',
        { ...(h.error === undefined ? {} : { cause: h.error }), stranded: r },
      );
    }
    const { revokedAt } = await retireThisDevice(this.api, this.profile.deviceId, h.notUploaded);
    return { revokedAt, uploaded: h.uploaded, stranded: h.notUploaded };
  }

  /** Uploads queued archive records (with retry) and verifies the proofs that checkpoints cover. */
  flushArchive(): Promise<{ uploaded: number; proofs: ProofRound }> {
    return this.#p.archive.flush();
  }

  /** Only seals and uploads (no proof check); for backlogs and benchmarks. */
  uploadArchive(): Promise<number> {
    return this.#p.archive.upload();
  }

  /** Queue depth, last receipt, last verified checkpoint. */
  archiveStatus(): ArchiveStatus {
    return archiveStatus(this.#p.store, this.profile);
  }

  /** Verified receipts kept by this device (tlog-proof@v1 text), by sequence number. */
  archiveReceipts(): ArchiveReceiptRow[] {
    return archiveReceipts(this.#p.store);
  }

  /** Stored messages, optionally of the 1:1 conversation with `peer`. */
  messages(peer?: PeerUser): StoredMessage[] {
    return this.#p.conversations.messages(peer);
  }

  /** Creates a group of this user and `members`; the state goes to each member encrypted. */
  createGroup(name: string, members: readonly PeerUser[]): Promise<GroupInfo> {
    return this.#p.conversations.createGroup(name, members);
  }

  /** Adds members to a group (any member may). */
  addGroupMembers(groupId: string, members: readonly PeerUser[]): Promise<MessageEvent> {
    return this.#p.conversations.addGroupMembers(groupId, members);
  }

  /** Removes members from a group (any member may; leave to remove yourself). */
  removeGroupMembers(groupId: string, members: readonly PeerUser[]): Promise<MessageEvent> {
    return this.#p.conversations.removeGroupMembers(groupId, members);
  }

  /** Leaves a group (it stays listed, inactive). */
  leaveGroup(groupId: string): Promise<MessageEvent> {
    return this.#p.conversations.leaveGroup(groupId);
  }

  /** Renames a group. */
  renameGroup(groupId: string, name: string): Promise<MessageEvent> {
    return this.#p.conversations.renameGroup(groupId, name);
  }

  /** Every group this device knows, including ones left. */
  groups(): GroupInfo[] {
    return this.#p.conversations.groups();
  }

  /** One group, or undefined. */
  group(groupId: string): GroupInfo | undefined {
    return this.#p.conversations.group(groupId);
  }

  /** Sends any content event (message, edit, delete, reaction) to a group. */
  sendToGroup(groupId: string, content: OutgoingContent): Promise<MessageEvent> {
    return this.#p.ops.captured((m) => m.sendToGroup(groupId, content));
  }

  /** Stored messages of a group. */
  groupMessages(groupId: string): StoredMessage[] {
    return this.#p.conversations.groupMessages(groupId);
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
  markRead(peerOrGroup: PeerUser | string, messageIds: readonly string[]): Promise<void> {
    return this.#p.conversations.markRead(peerOrGroup, messageIds);
  }

  /** Sets the disappearing-message timer (seconds, 0 = off) of a 1:1 conversation or a group. */
  setDisappearingTimer(peerOrGroup: PeerUser | string, seconds: number): Promise<MessageEvent> {
    return this.#p.conversations.setDisappearingTimer(peerOrGroup, seconds);
  }

  /** The disappearing-message timer of a conversation (seconds, 0 = off). */
  disappearingTimer(peerOrGroup: PeerUser | string): number {
    return this.#p.conversations.disappearingTimer(peerOrGroup);
  }

  /** Deletes messages whose timer ran out by `now` from this device (never from the archive). */
  expireMessages(now: number): number {
    return this.#p.conversations.expireMessages(now);
  }

  /** Sets this user's display name; peers learn it from the next content sent (encrypted). */
  setDisplayName(name: string): void {
    setOwnDisplayName(this.#p.store, name);
  }

  /** This user's display name, if set. */
  displayName(): string | undefined {
    return ownDisplayName(this.#p.store);
  }

  /** Contacts with the display names they sent (names are unverified claims). */
  contacts(): { user: PeerUser; name?: string }[] {
    return this.#p.conversations.contacts();
  }

  /**
   * Warnings (identity changes, refused envelopes, a device added to this user), oldest first: the most recent 500, each
   * numbered (`seq`) so an application can show each once by remembering the last it showed.
   */
  warnings(): Warning[] {
    return listWarnings(this.#p.store);
  }

  /**
   * Organisations that archive the 1:1 conversation with `peer` (or the group with that id),
   * from this device's own policy and the notices seen in any received content (F17), then
   * the orgs only the server said archive (`serverClaim`: before any device of theirs spoke).
   */
  archivedBy(peerOrGroup: PeerUser | string): ArchivedBy[] {
    return this.#p.conversations.archivedBy(peerOrGroup);
  }

  /** Safety numbers with each known device of `peer` (libsignal Fingerprint, displayable form). */
  async safetyNumbers(peer: PeerUser): Promise<{ deviceId: string; safetyNumber: string }[]> {
    const local = loadLocalIdentity(this.#p.store).publicKey;
    return knownSafetyNumbers(this.#p.store, this.#p.stores.identity, this.me, local, peer);
  }

  /** Unaccepted identity changes: messaging with those devices is refused until accepted. */
  pendingIdentityChanges(): PendingIdentityChange[] {
    return pendingChanges(this.#p.stores.identity.changes());
  }

  /** The identity keys `peer`'s devices present now (from the server), each with its safety number. */
  presentedIdentities(peer: PeerUser): Promise<PresentedIdentity[]> {
    const local = loadLocalIdentity(this.#p.store).publicKey;
    return presentedIdentities(this.api, this.#p.stores.identity, this.me, local, peer);
  }

  /** Application settings kept in the encrypted store (e.g. the `custos` address book). */
  get settings(): LocalSettings {
    return new LocalSettings(this.#p.store);
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
    this.#p.stores.identity.acceptIdentity(
      `${userAddress(peer)}.${deviceNumber}`,
      PublicKey.deserialize(new Uint8Array(identityKey)),
    );
  }

  /** Stops the socket, waits for running operations, wipes keys in memory and closes the store. */
  async close(): Promise<void> {
    await this.disconnect();
    await this.#p.ops.idle();
    // Local work only: nothing captured stays pending longer than it must.
    await this.#p.capture.sealPending().catch(() => undefined);
    this.#p.capture.close();
    this.#p.store.close();
  }

  /** Closes the store at once, without waiting (tests: a crash between capture and upload). */
  crash(): void {
    this.#p.inbox.abandon();
    this.#p.archive.abandonBackground();
    this.#p.capture.close();
    this.#p.store.close();
  }
}
