/**
 * What one message event does on this device, whichever way it went: which conversation it
 * belongs to, how it changes the local store (messages, edits, group state, receipts,
 * timers), and the archive record it becomes (core/record event kinds).
 */
import type { EventKind, RecordBody } from '@custos/core';
import type { LocalStore } from '../store/local-store.js';
import type { ContentKind, MessageContent } from './content.js';
import { setConversationTimer } from './conversation-settings.js';
import { getGroup, isMember, saveGroup, type GroupChange, type GroupInfo } from './groups.js';
import { applyEvent, applyReceipt, putMessage, type StoredMessage } from './message-store.js';
import { directConversationId, userAddress, type PeerUser } from './peers.js';

/** The conversation an event belongs to. */
export interface Conversation {
  readonly id: string;
  /** Sorted user addresses of the participants at the event. */
  readonly participants: readonly string[];
  /** 1:1: the other user; group: the sender (received) or this user (sent). */
  readonly peer: PeerUser;
  readonly group?: string;
  /** The group change a 'group-update' makes. */
  readonly change?: GroupChange;
}

const sortedUnique = (xs: readonly string[]): string[] => [...new Set(xs)].sort();

/** The 1:1 conversation of `me` and `peer`. */
export function directConversation(me: PeerUser, peer: PeerUser): Conversation {
  return {
    id: directConversationId(me, peer),
    participants: sortedUnique([userAddress(me), userAddress(peer)]),
    peer,
  };
}

/** A group conversation: participants are the members (after a change, plus those it removed). */
export function groupConversation(g: GroupInfo, peer: PeerUser, change?: GroupChange): Conversation {
  const members = (change?.next ?? g).members.map(userAddress);
  return {
    id: g.id,
    participants: sortedUnique([...members, ...(change?.removed ?? [])]),
    peer,
    group: g.id,
    ...(change === undefined ? {} : { change }),
  };
}

/** Times of an event: the server's acceptance and this device's clock. */
export interface EventTimes {
  readonly serverAt: number;
  readonly now: number;
}

/** Applies `c` (sent or received by this device) to the local store. */
export function applyContent(
  store: LocalStore,
  me: PeerUser,
  c: MessageContent,
  from: PeerUser,
  conv: Conversation,
  direction: 'sent' | 'received',
  t: EventTimes,
): void {
  switch (c.kind) {
    case 'message': {
      const receivedAt = direction === 'sent' ? t.serverAt : t.now;
      const timer = c.timer ?? 0;
      const m: StoredMessage = {
        id: c.id,
        conversation: conv.id,
        peer: conv.peer,
        from,
        direction,
        sentAt: c.timestamp,
        receivedAt,
        text: c.text ?? '',
        reactions: [],
        ...(conv.group === undefined ? {} : { group: conv.group }),
        ...(c.replyTo === undefined ? {} : { replyTo: c.replyTo }),
        ...(c.notice === undefined ? {} : { notice: c.notice }),
        ...(c.attachments === undefined ? {} : { attachments: c.attachments }),
        // The timer runs from when this device got (or sent) the message.
        ...(timer === 0 ? {} : { timer, expiresAt: t.now + timer * 1000 }),
      };
      putMessage(store, m);
      return;
    }
    case 'edit':
    case 'delete':
    case 'reaction':
      applyEvent(store, c, from);
      return;
    case 'group-update':
      if (conv.change !== undefined) saveGroup(store, conv.change.next);
      return;
    case 'receipt':
      if (direction === 'received' && c.receipt !== undefined && c.receiptFor !== undefined)
        applyReceipt(store, me, { type: c.receipt, ids: c.receiptFor, by: from, at: t.now }, (m) =>
          isRecipient(store, m, from),
        );
      return;
    case 'timer':
      setConversationTimer(store, conv.id, c.timer ?? 0);
      return;
  }
}

/** True when `by` was a recipient of `m` (the 1:1 peer, or a current member of its group). */
function isRecipient(store: LocalStore, m: StoredMessage, by: PeerUser): boolean {
  if (m.group === undefined) return userAddress(m.peer) === userAddress(by);
  const g = getGroup(store, m.group);
  return g !== undefined && isMember(g, by);
}

const RECORD_KINDS: Record<ContentKind, EventKind> = {
  message: 'message',
  edit: 'edit',
  delete: 'delete',
  reaction: 'reaction',
  'group-update': 'group-change',
  receipt: 'receipt',
  timer: 'timer-change',
};

/**
 * The archive record of an event. A group change records the name as text and the members
 * added and removed; a receipt records `"<type>\n<id>\n<id>…"` as text (the record format
 * has no field for acknowledged ids); attachments carry their keys and digests.
 */
export function recordFor(
  c: MessageContent,
  from: PeerUser,
  conv: Conversation,
  direction: 'sent' | 'received',
  envelopeHashes: Uint8Array[],
  serverAt: number,
  receivedAt?: number,
): RecordBody {
  const text =
    c.kind === 'group-update'
      ? c.groupState?.name
      : c.kind === 'receipt'
        ? [c.receipt ?? '', ...(c.receiptFor ?? [])].join('\n')
        : c.text;
  return {
    direction,
    kind: RECORD_KINDS[c.kind],
    messageId: c.id,
    conversationId: conv.id,
    participants: conv.participants,
    sender: userAddress(from),
    sentAt: c.timestamp,
    serverAt,
    ...(receivedAt === undefined ? {} : { receivedAt }),
    ...(text === undefined ? {} : { text }),
    attachments: c.attachments ?? [],
    ...(c.edits === undefined ? {} : { edits: c.edits }),
    ...(c.replyTo === undefined ? {} : { replyTo: c.replyTo }),
    ...(c.deletes === undefined ? {} : { deletes: c.deletes }),
    ...(c.reactsTo === undefined ? {} : { reactsTo: c.reactsTo }),
    ...(c.emoji === undefined ? {} : { reaction: c.emoji }),
    ...(conv.change === undefined ? {} : { added: conv.change.added, removed: conv.change.removed }),
    ...(c.timer === undefined ? {} : { timerSeconds: c.timer }),
    archiveNotice: c.notice !== undefined,
    envelopeHashes,
  };
}
