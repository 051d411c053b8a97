/**
 * Messaging over libsignal with archive capture, 1:1 and in groups (pairwise fan-out to
 * every member, Sesame-style). Sending: deliver to every current device of each recipient
 * (delivery.ts: encryption, device-list repair), send sync copies to the user's own other
 * devices, then store and capture the archive record; the send outbox (send-outbox.ts,
 * send-completion.ts) keeps each request's envelopes from before it leaves until it is
 * answered, so a lost answer is retried unchanged, never re-encrypted. Receiving: decrypt,
 * check, store, capture, and mark the envelope processed, atomically, before the ack.
 *
 * Every content this device sends carries the archive notice of its organisation (F17) when
 * that organisation archives (its signed archive policy is `required`).
 */
import type { RecordBody } from '@custos/core';
import type { ProtocolAddress } from '@signalapp/libsignal-client';
import {
  CiphertextMessageType,
  PreKeySignalMessage,
  signalDecrypt,
  signalDecryptPreKey,
  SignalMessage,
} from '@signalapp/libsignal-client';
import { ClientError, isClientError } from '../errors.js';
import type { ArchiveCapture } from '../archive/capture.js';
import { sha256 } from '../sha256.js';
import type { DeviceProfile } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import type { SignalStores } from '../store/signal-stores.js';
import type { ApiClient } from '../transport/api-client.js';
import type { RelayEnvelope } from '../transport/relay-socket.js';
import { downloadAttachment } from './attachments.js';
import { decodeContent, encodeContent, newMessageId, type MessageContent } from './content.js';
import type { ReceiptType, UserRef } from './content-parts.js';
import { conversationTimer, ownDisplayName, setOwnDisplayName } from './conversation-settings.js';
import {
  applyContent,
  directConversation,
  groupConversation,
  recordFor,
  type Conversation,
} from './events.js';
import {
  getGroup,
  groupState,
  isMember,
  judgeGroupUpdate,
  planGroupChange,
  type GroupChange,
  type GroupOperation,
} from './groups.js';
import type { DeliveryContext } from './delivery.js';
import { completeSend, type SendCompletionContext } from './send-completion.js';
import { newPendingSend, pendingSends, type PendingSend } from './send-outbox.js';
import { addWarning, checkOwnChange, expireMessages, type Warning } from './message-store.js';
import {
  heldReceived,
  holdsReceived,
  holdReceived,
  releaseHeld,
  waitsOnHeld,
  waitsOnPendingSend,
  type HeldContent,
} from './held-received.js';
import { noticeFromSender, recordNotice } from './archive-notices.js';
import {
  deviceAddress,
  noteContactName,
  noteDevice,
  userAddress,
  userOfAddress,
  type PeerUser,
} from './peers.js';

export { MAX_SEND_ATTEMPTS } from './delivery.js';

/** Words for a pending send: what, to whom, since when, how many tries. */
function describePending(p: PendingSendInfo, now: number): string {
  const to = p.group === undefined ? p.recipients.map(userAddress).join(', ') : `group ${p.group}`;
  const minutes = Math.max(0, Math.round((now - p.since) / 60_000));
  const unreached = p.unreached === 0 ? '' : `, ${p.unreached} could not reach the server`;
  return `an earlier ${p.kind} to ${to} is still pending (for ${minutes} min, ${p.tries} failed tries${unreached}): it is sent again by the next sync, and later sends wait for it`;
}

/** What a send or receive produced. */
export interface MessageEvent {
  readonly content: MessageContent;
  readonly from: PeerUser;
  /** 1:1: the other user; group: the sender (received) or this user (sent). */
  readonly peer: PeerUser;
  /**
   * 'sent' for content this user sent: from this device, or from another of its devices (a
   * sync copy, `syncCopy`); 'received' for content from another user.
   */
  readonly direction: 'sent' | 'received';
  /**
   * Set on this user's own content sent from another of its devices and received here as its
   * sync copy (direction 'sent', `from` this user, `peer` as on the sending device).
   */
  readonly syncCopy?: true;
  /** The archive record's sequence number; null on a device whose org does not archive. */
  readonly archiveSeq: number | null;
  /** The conversation id (`dm.…` or the group id). */
  readonly conversation: string;
  /** The group id, for a group event. */
  readonly group?: string;
  /**
   * Set on a received event whose archive notice (F17) is the first from its organisation in
   * this conversation — a message's or a receipt's alike (archive-notices.ts).
   */
  readonly newArchiveNotice?: true;
  /** For a group change: who it added and removed, and whether that includes this user. */
  readonly groupChange?: GroupChangeSummary;
}

/** The members a group change added and removed; `you` when this user is one of them. */
export interface GroupChangeSummary {
  readonly added: readonly PeerUser[];
  readonly removed: readonly PeerUser[];
  readonly you?: 'added' | 'removed';
}

/** A send kept in the outbox until the server confirms it (send-outbox.ts). */
export interface PendingSendInfo {
  /**
   * The send's content id: the same for as long as it is pending, so a caller that showed
   * this send can discard exactly it (`discardPendingSend(id)`), whatever completed meanwhile.
   */
  readonly id: string;
  /** The conversation id (`dm.…` or the group id). */
  readonly conversation: string;
  /** The group id, for a group send. */
  readonly group?: string;
  readonly kind: MessageContent['kind'];
  /** Every recipient (this user's sync copy not included). */
  readonly recipients: readonly PeerUser[];
  /** This device's time when the send began. */
  readonly since: number;
  /** Failed tries of the request now kept (0 when none is in flight). */
  readonly tries: number;
  /** Tries of the request now kept that could not reach the server (not counted in `tries`). */
  readonly unreached: number;
}

/** Content as a caller writes it (id, time, notice and profile are added when sending). */
export type OutgoingContent = Omit<MessageContent, 'id' | 'timestamp' | 'notice'>;

/** Everything the messenger works with. */
export interface MessengerContext {
  readonly store: LocalStore;
  readonly api: ApiClient;
  readonly profile: DeviceProfile;
  readonly stores: SignalStores;
  readonly capture: ArchiveCapture;
  readonly clock: () => number;
  /**
   * Called for each send completed after its caller was told SEND_PENDING, whichever call
   * completed it (a later send, a receipt, a sync — which also returns it).
   */
  readonly onSent?: ((e: MessageEvent) => void) | undefined;
}

/** Sends and receives messages for one device. Callers serialise calls (one operation at a time). */
export class Messenger {
  readonly me: PeerUser;
  readonly #self: ProtocolAddress;
  readonly #sending: SendCompletionContext;

  constructor(private readonly c: MessengerContext) {
    this.me = { orgId: c.profile.orgId, userId: c.profile.userId };
    this.#self = deviceAddress(this.me, c.profile.deviceNumber);
    const delivery: DeliveryContext = { ...c, self: this.#self, me: this.me };
    this.#sending = { delivery, stores: c.stores, capture: (body) => this.#capture(body) };
  }

  /** Sends `content` (kind, text, links) to `to`; resolves once the server has it and it is archived. */
  async send(to: PeerUser, partial: OutgoingContent): Promise<MessageEvent> {
    if (partial.group !== undefined || partial.kind === 'group-update')
      throw new ClientError('GROUP_INVALID', 'group content goes through the group operations');
    await this.#sendPendingFirst();
    checkOwnChange(this.c.store, partial, this.me);
    const conv = directConversation(this.me, to);
    const self = userAddress(to) === userAddress(this.me);
    return this.#sendEvent(this.#compose(partial, conv), conv, [to], self ? undefined : ref(to));
  }

  /** Sends content to every member of a group (only a current member may). */
  async sendToGroup(groupId: string, partial: OutgoingContent): Promise<MessageEvent> {
    if (partial.kind === 'group-update')
      throw new ClientError('GROUP_INVALID', 'group changes go through the group operations');
    // A pending change of this group (a removal) must reach the group before the members are read.
    await this.#sendPendingFirst();
    const g = getGroup(this.c.store, groupId);
    if (g === undefined) throw new ClientError('GROUP_UNKNOWN', 'no such group on this device');
    if (!g.active || !isMember(g, this.me))
      throw new ClientError('NOT_A_MEMBER', 'this user is not a member of the group');
    checkOwnChange(this.c.store, partial, this.me);
    const conv = groupConversation(g, this.me);
    const content = this.#compose({ ...partial, group: g.id }, conv);
    return this.#sendEvent(content, conv, this.#others(g.members), ref(this.me));
  }

  /** Creates or changes a group and sends the new state to old and new members. */
  async changeGroup(groupId: string | undefined, op: GroupOperation): Promise<MessageEvent> {
    await this.#sendPendingFirst();
    const current = groupId === undefined ? undefined : getGroup(this.c.store, groupId);
    const change = planGroupChange(current, op, this.me);
    if (change.next.members.length === 0)
      throw new ClientError('GROUP_INVALID', 'the last member of a group cannot leave it');
    const conv = groupConversation(change.next, this.me, change);
    const content = this.#compose(
      { kind: 'group-update', group: change.next.id, groupState: groupState(change.next) },
      conv,
    );
    const recipients = this.#others([...(current?.members ?? []), ...change.next.members]);
    return this.#sendEvent(content, conv, recipients, ref(this.me));
  }

  /** Sets the disappearing-message timer of a 1:1 conversation or a group, for every participant. */
  async setTimer(target: { peer: PeerUser } | { group: string }, seconds: number): Promise<MessageEvent> {
    return 'peer' in target
      ? this.send(target.peer, { kind: 'timer', timer: seconds })
      : this.sendToGroup(target.group, { kind: 'timer', timer: seconds });
  }

  /** Sends a receipt for `ids` to their sender `to` only (no sync copy; receipts get no receipt). */
  async sendReceipt(
    to: PeerUser,
    type: ReceiptType,
    ids: readonly string[],
    group?: string,
  ): Promise<MessageEvent> {
    await this.#sendPendingFirst();
    const g = group === undefined ? undefined : getGroup(this.c.store, group);
    const conv = g === undefined ? directConversation(this.me, to) : groupConversation(g, this.me);
    const content = this.#compose(
      { kind: 'receipt', receipt: type, receiptFor: ids, ...(g === undefined ? {} : { group: g.id }) },
      conv,
    );
    return this.#sendEvent(content, conv, [to], undefined);
  }

  #others(users: readonly PeerUser[]): PeerUser[] {
    const seen = new Map(users.map((u) => [userAddress(u), u]));
    seen.delete(userAddress(this.me));
    return [...seen.values()];
  }

  /** Adds id, time, archive notice (F17), the timer in force and this user's display name. */
  #compose(partial: OutgoingContent, conv: Conversation): MessageContent {
    const timer = partial.kind === 'message' ? conversationTimer(this.c.store, conv.id) : 0;
    const name = ownDisplayName(this.c.store);
    return {
      ...partial,
      id: newMessageId(),
      timestamp: this.c.clock(),
      // The archive notice (F17) says this device's org archives the conversation: only when it does.
      ...(this.c.profile.captureRequired
        ? { notice: { org: this.c.profile.orgId, name: this.c.profile.orgName } }
        : {}),
      ...(partial.timer === undefined && timer > 0 ? { timer } : {}),
      ...(name === undefined || partial.kind === 'receipt' ? {} : { profile: { name } }),
    };
  }

  /**
   * Completes the sends still pending before a new one, so messages leave in order — and
   * before the new one reads any state: a pending group change (a member removed) applies
   * the group's new state only when it completes, and a message composed against the old
   * state would go to the removed member.
   */
  async #sendPendingFirst(): Promise<void> {
    try {
      // Content held for these sends waits for the next sync or receive, which reports it.
      await this.resumePending([], false);
    } catch (e) {
      // The earlier message stays pending; this one was not sent (nothing of it was kept).
      const [first] = this.pendingSends();
      if (isClientError(e, 'SEND_PENDING') && first !== undefined)
        throw new ClientError('SEND_BLOCKED', `not sent: ${describePending(first, this.c.clock())}`, {
          cause: e,
          pending: first,
        });
      throw e;
    }
  }

  /** The sends kept until the server confirms them, oldest first (each blocks every later send). */
  pendingSends(): PendingSendInfo[] {
    return pendingSends(this.c.store).map((p) => ({
      id: p.content.id,
      conversation: p.conv.id,
      ...(p.conv.group === undefined ? {} : { group: p.conv.group }),
      kind: p.content.kind,
      recipients: p.targets.filter((t) => !t.sync).map((t) => t.to),
      since: p.since,
      tries: p.inFlight?.tries ?? 0,
      unreached: p.inFlight?.unreached ?? 0,
    }));
  }

  /**
   * Finishes the oldest pending send without sending it again, so later sends go: a request
   * that may be at the server is recorded as possibly delivered (a delivery-uncertain
   * warning: the recipient may have it, so it is never silently dropped); recipients not
   * reached yet get a delivery-failed warning. Resolves to the stored message's event, or
   * undefined when nothing of it can have reached a recipient (dropped, with the warnings).
   * With `expectedId` (a PendingSendInfo's id) it refuses with PENDING_CHANGED, discarding
   * nothing, unless the oldest is still that send: a caller asks the user about one send, and
   * a send or sync completing it meanwhile must not make it give up on the next one, which
   * the user never saw. The caller serialises this with every other operation, so nothing
   * completes a send between the check and the discard.
   */
  async discardPendingSend(expectedId?: string): Promise<MessageEvent | undefined> {
    const [p] = pendingSends(this.c.store);
    if (expectedId !== undefined && p?.content.id !== expectedId)
      throw new ClientError(
        'PENDING_CHANGED',
        p === undefined
          ? 'the pending send to discard is no longer pending (it completed or was discarded): nothing discarded'
          : 'the oldest pending send is no longer the one to discard (that one completed or was discarded): nothing discarded',
      );
    if (p === undefined) return undefined;
    await this.c.capture.prepare();
    return this.#complete(p, true, true);
  }

  /**
   * Delivers to every recipient (and a sync copy to this user's other devices when `sync`
   * names the peer), then stores and captures; the caller completed the pending sends first
   * (#sendPendingFirst). In a group, a member that cannot be reached (no devices, changed
   * identity) is a warning, not a failed send.
   */
  async #sendEvent(
    content: MessageContent,
    conv: Conversation,
    recipients: readonly PeerUser[],
    sync: UserRef | undefined,
  ): Promise<MessageEvent> {
    await this.c.capture.prepare();
    const pending = newPendingSend(this.c.store, {
      content,
      conv,
      since: this.c.clock(),
      padded: encodeContent(content),
      ...(sync === undefined ? {} : { syncCopy: encodeContent({ ...content, sync }) }),
      targets: [
        ...recipients.map((to) => ({ to, sync: false })),
        ...(sync === undefined ? [] : [{ to: this.me, sync: true }]),
      ],
    });
    const event = await this.#complete(pending, false);
    // A fresh send either completes or throws.
    return event!;
  }

  /**
   * Completes the sends left pending (oldest first): each resends its kept request unchanged,
   * then goes on to its remaining recipients, stores and captures. Throws SEND_PENDING when
   * the server still does not answer (the rest wait for the next try). Resolves to the
   * events of the sends completed, which are also added to `completed` as each completes
   * (so a caller that gets SEND_PENDING still learns of the ones before it). With `release`,
   * each is followed by the events of the content held for it (held-received.ts), judged
   * again once no pending send holds it back; without, that content stays held (for a caller
   * that would not report it: a send).
   */
  async resumePending(completed: MessageEvent[] = [], release = true): Promise<MessageEvent[]> {
    if (pendingSends(this.c.store).length === 0 && !(release && this.holding)) return completed;
    await this.c.capture.prepare();
    return this.#resume(completed, release);
  }

  async #resume(out: MessageEvent[], release: boolean): Promise<MessageEvent[]> {
    // Content held for a send completed by a send (or just before a crash) goes first.
    if (release) await this.#releaseHeld(out);
    for (const p of pendingSends(this.c.store)) {
      const e = await this.#complete(p, true);
      if (e !== undefined) out.push(e);
      if (release) await this.#releaseHeld(out);
    }
    return out;
  }

  /**
   * Completes `p` (send-completion.ts); the event of the stored message, if it was stored.
   * A resumed send's event also goes to `onSent`: its caller was told SEND_PENDING.
   */
  async #complete(p: PendingSend, resumed: boolean, discard = false): Promise<MessageEvent | undefined> {
    const done = await completeSend(this.#sending, p, resumed, discard);
    if (done === undefined) return undefined;
    const e = event(done.content, this.me, done.conv, 'sent', done.seq, this.me);
    if (resumed) this.c.onSent?.(e);
    return e;
  }

  /**
   * Captures the record `body()` builds (inside the caller's transaction) and returns its
   * number; null, building nothing, when this org's signed archive policy is `none`.
   */
  #capture(body: () => RecordBody): number | null {
    return this.c.profile.captureRequired ? this.c.capture.captureSync(body()).seq : null;
  }

  #warn(kind: Warning['kind'], from: string, detail: string): undefined {
    addWarning(this.c.store, { at: this.c.clock(), kind, from, detail });
    return undefined;
  }

  /**
   * Handles one relay envelope. Resolves to the event (or undefined for a duplicate or a
   * refused envelope, which is recorded as a warning and never archived as valid, or for
   * content that waits on an own pending send: held, and judged again when that send is no
   * longer pending — held-received.ts).
   */
  async receive(env: RelayEnvelope): Promise<MessageEvent | undefined> {
    const { store } = this.c;
    if (store.get('processed-envelopes', env.id) !== undefined) return undefined;
    await this.c.capture.prepare();
    return store.atomically(async () => {
      store.put('processed-envelopes', env.id, new Uint8Array(0));
      const sender: PeerUser = { orgId: env.sender.orgId, userId: env.sender.userId };
      const warn = (kind: Warning['kind'], detail: string) => this.#warn(kind, userAddress(sender), detail);
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
      const fromMe = userAddress(sender) === userAddress(this.me);
      let peer = sender;
      if (content.sync !== undefined) {
        if (!fromMe) return warn('forged-sync', 'a sync copy from another user');
        peer = { orgId: content.sync.org, userId: content.sync.user };
      }
      // A device speaks for its own organisation only (F17): "archived by another org" is refused.
      if (content.notice !== undefined && !noticeFromSender(content.notice, sender))
        return warn(
          'notice-refused',
          "content whose archive notice names another organisation than the sender's was refused",
        );
      const held = { content, sender, serverTime: env.serverTime, hash: sha256(env.content) };
      if (
        waitsOnHeld(heldReceived(store), content, sender) ||
        waitsOnPendingSend(store, content, () => 'refused' in this.#judge(content, sender, peer))
      ) {
        holdReceived(store, { ...held, arrivedAt: this.c.clock() });
        return undefined;
      }
      return this.#accept(held);
    });
  }

  /**
   * The conversation `content` from `sender` belongs to (`peer`: the other user of a 1:1
   * conversation), or why its group refuses it.
   */
  #judge(
    content: MessageContent,
    sender: PeerUser,
    peer: PeerUser,
  ): Conversation | { refused: 'group-refused' | 'unknown-group' | 'not-a-member'; detail: string } {
    if (content.group === undefined) return directConversation(this.me, peer);
    const g = getGroup(this.c.store, content.group);
    if (content.kind === 'group-update' && content.groupState !== undefined) {
      const j = judgeGroupUpdate(g, content.group, content.groupState, sender, this.me);
      return 'refused' in j
        ? { refused: 'group-refused', detail: j.refused }
        : groupConversation(j.next, sender, j);
    }
    if (g === undefined)
      return { refused: 'unknown-group', detail: 'a group message for a group this device does not know' };
    if (!isMember(g, sender))
      return {
        refused: 'not-a-member',
        detail: 'a group message from someone who is not a member was refused',
      };
    return groupConversation(g, sender);
  }

  /**
   * Judges, stores and captures received content that decrypted and passed the sender checks
   * (inside the caller's transaction): an envelope just received, or content held for an own
   * pending send (held-received.ts). Undefined for refused content (a warning).
   */
  async #accept(h: Omit<HeldContent, 'ord'>): Promise<MessageEvent | undefined> {
    const { store } = this.c;
    const { content, sender } = h;
    const warn = (kind: Warning['kind'], detail: string) => this.#warn(kind, userAddress(sender), detail);
    const fromMe = userAddress(sender) === userAddress(this.me);
    // A sync copy from another user was refused before this (forged-sync).
    const { sync } = content;
    const syncCopy = sync !== undefined;
    const peer = sync === undefined ? sender : { orgId: sync.org, userId: sync.user };
    // Stored and reported as what it is: this user's own message, sent from another device
    // (shown as "you", editable here). The archive record still says this device received it.
    const direction = syncCopy ? 'sent' : 'received';
    const conv = this.#judge(content, sender, peer);
    if ('refused' in conv) return warn(conv.refused, conv.detail);
    for (const p of content.attachments ?? []) {
      try {
        await downloadAttachment(this.c.api, p);
      } catch (e) {
        if (!isClientError(e, 'ATTACHMENT_DIGEST_MISMATCH') && !isClientError(e, 'ATTACHMENT_INVALID'))
          throw e;
        return warn('attachment-invalid', `a message was refused: ${e.message}`);
      }
    }
    if (content.profile !== undefined) {
      if (!fromMe) noteContactName(store, sender, content.profile.name);
      else if (ownDisplayName(store) !== content.profile.name) setOwnDisplayName(store, content.profile.name);
    }
    const now = this.c.clock();
    // Held content's disappearing timer runs from its arrival, not from its release.
    applyContent(store, this.me, content, sender, conv, direction, {
      serverAt: h.serverTime,
      now: h.arrivedAt ?? now,
    });
    // Held past its disappearing timer: archived (below), but not kept on the device.
    if (h.arrivedAt !== undefined && content.timer !== undefined && content.timer > 0)
      expireMessages(store, now);
    // Whatever the kind: a delivery receipt for a first message already carries the notice.
    const fresh =
      content.notice !== undefined && recordNotice(store, conv.id, content.notice, this.me.orgId, now);
    const seq = this.#capture(() =>
      recordFor(content, sender, conv, 'received', [h.hash], h.serverTime, now),
    );
    return {
      ...event(content, sender, conv, direction, seq, this.me),
      ...(syncCopy ? { syncCopy: true } : {}),
      ...(fresh ? { newArchiveNotice: true } : {}),
    };
  }

  /** True while received content waits on an own pending send (held-received.ts). */
  get holding(): boolean {
    return holdsReceived(this.c.store);
  }

  /**
   * Judges again, stores and captures the held content that nothing holds back any more
   * (held-received.ts), oldest first; adds the events. A receive calls it before it handles
   * its envelope, so held content is applied before what arrived after it.
   */
  async releaseHeld(out: MessageEvent[]): Promise<void> {
    if (!this.holding) return;
    await this.c.capture.prepare();
    await this.#releaseHeld(out);
  }

  /**
   * Judges again, stores and captures the held content that no pending send holds back any
   * more (its send completed or was dropped) and that no content still held before it holds
   * back (arrival order), each in its own transaction; adds the events.
   */
  async #releaseHeld(out: MessageEvent[]): Promise<void> {
    const { store } = this.c;
    const kept: HeldContent[] = [];
    for (const h of heldReceived(store)) {
      if (waitsOnHeld(kept, h.content, h.sender) || waitsOnPendingSend(store, h.content, () => true)) {
        kept.push(h);
        continue;
      }
      const e = await store.atomically(async () => {
        releaseHeld(store, h);
        return this.#accept(h);
      });
      if (e !== undefined) out.push(e);
    }
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
}

const ref = (u: PeerUser): UserRef => ({ org: u.orgId, user: u.userId });

function event(
  content: MessageContent,
  from: PeerUser,
  conv: Conversation,
  direction: 'sent' | 'received',
  archiveSeq: number | null,
  me: PeerUser,
): MessageEvent {
  return {
    content,
    from,
    peer: conv.peer,
    direction,
    archiveSeq,
    conversation: conv.id,
    ...(conv.group === undefined ? {} : { group: conv.group }),
    ...(conv.change === undefined ? {} : { groupChange: summarise(conv.change, me) }),
  };
}

function summarise(change: GroupChange, me: PeerUser): GroupChangeSummary {
  const mine = userAddress(me);
  const you = change.added.includes(mine) ? 'added' : change.removed.includes(mine) ? 'removed' : undefined;
  return {
    added: change.added.map(userOfAddress),
    removed: change.removed.map(userOfAddress),
    ...(you === undefined ? {} : { you }),
  };
}
