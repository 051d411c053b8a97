/**
 * A client's conversations beyond plain sends: stored messages, groups (create, add,
 * remove, leave, rename), read receipts, disappearing-message timers, contacts and the
 * organisations that archive a conversation. Every send goes through the operation queue's
 * `captured`, so it is serial, archived, or not sent at all.
 */
import { conversationNotices, serverClaims, type ArchivedBy } from '../messaging/archive-notices.js';
import { readReceiptsFor } from '../messaging/receipts.js';
import { conversationTimer } from '../messaging/conversation-settings.js';
import { getGroup, listGroups, type GroupInfo } from '../messaging/groups.js';
import { expireMessages, listMessages, type StoredMessage } from '../messaging/message-store.js';
import type { MessageEvent } from '../messaging/messenger.js';
import { directConversationId, listContacts, type PeerUser } from '../messaging/peers.js';
import type { DeviceProfile } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import type { Operations } from './operations.js';

/** A 1:1 conversation (the peer) or a group (its id). */
export type ConversationTarget = PeerUser | string;

/** Messages, groups, receipts, timers and contacts of one client. */
export class Conversations {
  constructor(
    private readonly store: LocalStore,
    private readonly profile: DeviceProfile,
    private readonly me: PeerUser,
    private readonly ops: Operations,
  ) {}

  /** Stored messages, optionally of the 1:1 conversation with `peer`. */
  messages(peer?: PeerUser): StoredMessage[] {
    return listMessages(this.store, peer === undefined ? undefined : directConversationId(this.me, peer));
  }

  /** Stored messages of a group. */
  groupMessages(groupId: string): StoredMessage[] {
    return listMessages(this.store, groupId);
  }

  /** Creates a group of this user and `members`; the state goes to each member encrypted. */
  async createGroup(name: string, members: readonly PeerUser[]): Promise<GroupInfo> {
    const e = await this.ops.captured((m) => m.changeGroup(undefined, { op: 'create', name, members }));
    return getGroup(this.store, e.conversation)!;
  }

  /** Adds members to a group (any member may). */
  addGroupMembers(groupId: string, members: readonly PeerUser[]): Promise<MessageEvent> {
    return this.ops.captured((m) => m.changeGroup(groupId, { op: 'add', members }));
  }

  /** Removes members from a group (any member may). */
  removeGroupMembers(groupId: string, members: readonly PeerUser[]): Promise<MessageEvent> {
    return this.ops.captured((m) => m.changeGroup(groupId, { op: 'remove', members }));
  }

  /** Leaves a group (it stays listed, inactive). */
  leaveGroup(groupId: string): Promise<MessageEvent> {
    return this.ops.captured((m) => m.changeGroup(groupId, { op: 'leave' }));
  }

  /** Renames a group. */
  renameGroup(groupId: string, name: string): Promise<MessageEvent> {
    return this.ops.captured((m) => m.changeGroup(groupId, { op: 'rename', name }));
  }

  /** Every group this device knows, including ones left. */
  groups(): GroupInfo[] {
    return listGroups(this.store);
  }

  /** One group, or undefined. */
  group(groupId: string): GroupInfo | undefined {
    return getGroup(this.store, groupId);
  }

  /** Sends read receipts for `messageIds` of a conversation to their senders. */
  async markRead(target: ConversationTarget, messageIds: readonly string[]): Promise<void> {
    const msgs = typeof target === 'string' ? this.groupMessages(target) : this.messages(target);
    for (const r of readReceiptsFor(msgs, messageIds, this.me))
      await this.ops.captured((m) => m.sendReceipt(r.to, r.type, r.ids, r.group));
  }

  /** Sets the disappearing-message timer (seconds, 0 = off) of a conversation. */
  setDisappearingTimer(target: ConversationTarget, seconds: number): Promise<MessageEvent> {
    const t = typeof target === 'string' ? { group: target } : { peer: target };
    return this.ops.captured((m) => m.setTimer(t, seconds));
  }

  /** The disappearing-message timer of a conversation (seconds, 0 = off). */
  disappearingTimer(target: ConversationTarget): number {
    const id = typeof target === 'string' ? target : directConversationId(this.me, target);
    return conversationTimer(this.store, id);
  }

  /** Deletes messages whose timer ran out by `now` from this device (never from the archive). */
  expireMessages(now: number): number {
    return this.store.transaction(() => expireMessages(this.store, now));
  }

  /** Contacts with the display names they sent (names are unverified claims). */
  contacts(): { user: PeerUser; name?: string }[] {
    return listContacts(this.store).map((c) => ({
      user: { orgId: c.orgId, userId: c.userId },
      ...(c.name === undefined ? {} : { name: c.name }),
    }));
  }

  /**
   * Organisations that archive a 1:1 conversation (peer) or a group (id), from the notices
   * seen (F17): this device's own org when its signed policy is `required`, then every org
   * whose notice any received content carried — a message, a receipt or a control message —
   * and last, marked `serverClaim`, participants' orgs only the server said archive.
   */
  archivedBy(target: ConversationTarget): ArchivedBy[] {
    const id = typeof target === 'string' ? target : directConversationId(this.me, target);
    // This device's own org archives it iff its signed policy is `required` (capture is on).
    const seen = new Map<string, string>(
      this.profile.captureRequired ? [[this.profile.orgId, this.profile.orgName]] : [],
    );
    // Every received content's notice is recorded per conversation as it is received (a
    // message's too), so there is no need to read, and decrypt, the conversation's messages.
    for (const n of conversationNotices(this.store, id)) if (!seen.has(n.org)) seen.set(n.org, n.name);
    const out: ArchivedBy[] = [...seen].map(([org, name]) => ({ org, name }));
    // The server's word for participants' orgs no device has spoken for yet (a first send).
    const claims = serverClaims(this.store);
    const orgs =
      typeof target === 'string'
        ? (getGroup(this.store, target)?.members ?? []).map((m) => m.orgId)
        : [target.orgId];
    for (const org of new Set(orgs)) {
      const name = claims.get(org);
      if (name !== undefined && !seen.has(org) && org !== this.profile.orgId)
        out.push({ org, name, serverClaim: true });
    }
    return out;
  }
}
