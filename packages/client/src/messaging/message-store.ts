/**
 * Messages as the device shows them (encrypted at rest in the `messages` table), and the
 * warnings the user must see (identity changes, undecryptable or malformed envelopes).
 * Edits and deletes apply only when they come from the message's own sender.
 */
import { ClientError } from '../errors.js';
import { decodeJson } from '../store/json-codec.js';
import type { LocalStore } from '../store/local-store.js';
import type { ArchiveNotice, MessageContent } from './content.js';
import type { AttachmentPointer, ReceiptType } from './content-parts.js';
import { userAddress, type PeerUser } from './peers.js';

/** A message as stored. */
export interface StoredMessage {
  readonly id: string;
  readonly conversation: string;
  /** The other user of a 1:1 conversation (in a group: the sender, or this user for sent messages). */
  readonly peer: PeerUser;
  /** The group id, for a group message. */
  readonly group?: string;
  readonly from: PeerUser;
  readonly direction: 'sent' | 'received';
  readonly sentAt: number;
  readonly receivedAt: number;
  readonly text: string;
  readonly replyTo?: string;
  readonly edited?: boolean;
  readonly deleted?: boolean;
  readonly reactions: readonly { readonly from: string; readonly emoji: string }[];
  /** The archive notice carried by the message (which organisation archives the conversation). */
  readonly notice?: ArchiveNotice;
  /** Attachment pointers, each checked against its digest on receipt. MUST NOT log: they hold keys. */
  readonly attachments?: readonly AttachmentPointer[];
  /** Disappearing timer in force (seconds) and when the message leaves this device (ms). */
  readonly timer?: number;
  readonly expiresAt?: number;
  /** Who confirmed delivery and reading, by user address, with this device's time of learning it. */
  readonly delivered?: Readonly<Record<string, number>>;
  readonly read?: Readonly<Record<string, number>>;
}

/** Something the user must be told about, never archived as a valid event. */
export interface Warning {
  /**
   * Its number on this device, assigned when it is recorded: one more than the warning before,
   * never reused (the list drops its oldest, not their numbers). An application remembers the
   * last it showed by this, not by `at`: the device clock can repeat a millisecond or step back.
   */
  readonly seq: number;
  /** When it was recorded, by the device clock. */
  readonly at: number;
  readonly kind:
    | 'identity-changed'
    | 'undecryptable'
    | 'malformed'
    | 'unknown-sender'
    | 'forged-sync'
    | 'not-a-member'
    | 'unknown-group'
    | 'group-refused'
    | 'attachment-invalid'
    | 'delivery-failed'
    /**
     * A send resumed after the server's key retention (24 h) that the server refused: its
     * first try may or may not have reached the recipient; the record names its envelopes.
     */
    | 'delivery-uncertain'
    | 'receipt-refused'
    /** Content whose archive notice named an organisation other than its sender's (F17). */
    | 'notice-refused'
    /** A key-manager delegation or bucket key from the server failed verification (`from` = 'server'). */
    | 'archive-key-refused'
    /**
     * A device was added to this user's account since this device last looked (`from` = this
     * user): if the user did not add it, someone may be reading their messages (own-device-watch.ts).
     */
    | 'own-device-added';
  readonly from: string;
  readonly detail: string;
}

const COUNTER = 'message-counter';
const WARNINGS = 'warnings';
/** The `seq` of the last warning recorded (0 or absent: none yet). */
const WARNING_COUNTER = 'warning-counter';
/** Warnings kept (oldest dropped first). */
export const MAX_WARNINGS = 500;

/** Stores a new message (ordered by arrival). */
export function putMessage(store: LocalStore, m: StoredMessage): void {
  const n = (store.getJson<number>('profile', COUNTER) ?? 0) + 1;
  store.putJson('profile', COUNTER, n);
  store.putJson('messages', m.id, m, n);
}

/** A stored message. */
export function getMessage(store: LocalStore, id: string): StoredMessage | undefined {
  return store.getJson<StoredMessage>('messages', id);
}

/** Messages in arrival order, optionally of one conversation. */
export function listMessages(store: LocalStore, conversation?: string): StoredMessage[] {
  const all = store.list('messages').map((r) => decodeJson<StoredMessage>(r.value));
  return conversation === undefined ? all : all.filter((m) => m.conversation === conversation);
}

/**
 * Applies an edit, delete or reaction to the message it names. Returns false when the
 * target is unknown or the actor may not change it (only the sender edits or deletes).
 */
export function applyEvent(store: LocalStore, c: MessageContent, actor: PeerUser): boolean {
  const targetId = c.edits ?? c.deletes ?? c.reactsTo;
  if (targetId === undefined) return false;
  const m = getMessage(store, targetId);
  if (m === undefined) return false;
  const own = userAddress(m.from) === userAddress(actor);
  let next: StoredMessage;
  if (c.kind === 'edit' && own) next = { ...m, text: c.text ?? m.text, edited: true };
  else if (c.kind === 'delete' && own) next = { ...m, text: '', deleted: true, reactions: [] };
  else if (c.kind === 'reaction') {
    const from = userAddress(actor);
    const others = m.reactions.filter((r) => r.from !== from);
    next = {
      ...m,
      reactions: c.emoji === '' || c.emoji === undefined ? others : [...others, { from, emoji: c.emoji }],
    };
  } else return false;
  replaceMessage(store, next);
  return true;
}

/**
 * Refuses (NOT_OWN_MESSAGE) an edit or delete of a message this device holds from another
 * user than `me`. Receivers ignore such a change (applyEvent), so sent anyway it was reported
 * as sent, shown to the peer as an edit and archived as one while no device applied it. A
 * target this device does not hold is left to the receivers.
 */
export function checkOwnChange(
  store: LocalStore,
  c: Pick<MessageContent, 'kind' | 'edits' | 'deletes'>,
  me: PeerUser,
): void {
  const target = c.kind === 'edit' ? c.edits : c.kind === 'delete' ? c.deletes : undefined;
  if (target === undefined) return;
  const m = getMessage(store, target);
  if (m !== undefined && userAddress(m.from) !== userAddress(me))
    throw new ClientError(
      'NOT_OWN_MESSAGE',
      `only its sender may ${c.kind} a message, and #${target.slice(0, 8)} was sent by another user`,
    );
}

/** Rewrites a stored message in place (keeping its position). */
export function replaceMessage(store: LocalStore, m: StoredMessage): void {
  const row = store.list('messages').find((r) => r.key === m.id);
  store.putJson('messages', m.id, m, row?.ord ?? null);
}

/**
 * Notes that `by` received or read the messages `ids`. Only messages `me` sent count (from
 * any of its devices), and only when `by` was among their recipients (`isRecipient`);
 * returns the ids updated.
 */
export function applyReceipt(
  store: LocalStore,
  me: PeerUser,
  receipt: { type: ReceiptType; ids: readonly string[]; by: PeerUser; at: number },
  isRecipient: (m: StoredMessage) => boolean,
): string[] {
  const { type, by, at } = receipt;
  const who = userAddress(by);
  const done: string[] = [];
  for (const id of receipt.ids) {
    const m = getMessage(store, id);
    if (m === undefined || userAddress(m.from) !== userAddress(me) || !isRecipient(m)) continue;
    const field = type === 'read' ? 'read' : 'delivered';
    const had = m[field] ?? {};
    // A read message was delivered too.
    const delivered =
      type === 'read' ? { ...(m.delivered ?? {}), [who]: m.delivered?.[who] ?? at } : m.delivered;
    replaceMessage(store, {
      ...m,
      ...(delivered === undefined ? {} : { delivered }),
      [field]: { ...had, [who]: had[who] ?? at },
    });
    done.push(id);
  }
  return done;
}

/** Deletes from this device every message whose disappearing timer ran out by `now`; returns how many. */
export function expireMessages(store: LocalStore, now: number): number {
  let n = 0;
  for (const m of listMessages(store))
    if (m.expiresAt !== undefined && m.expiresAt <= now) {
      store.delete('messages', m.id);
      n++;
    }
  return n;
}

/** A warning as recorded: its `seq` is assigned by {@link addWarning}. */
export type NewWarning = Omit<Warning, 'seq'>;

/** A stored warning; one written before warnings had numbers has no `seq`. */
type StoredWarning = NewWarning & { readonly seq?: number };

/**
 * The stored warnings, each with its `seq`, and the last number given. Entries without a
 * number — a list written before warnings had numbers, or entries an older version appended
 * after a downgrade — take the next numbers after the counter and every number stored, and
 * `unnumbered` says there were some: {@link storedNumbering} saves those numbers at once.
 */
function numberedWarnings(store: LocalStore): { list: Warning[]; last: number; unnumbered: boolean } {
  let last = store.getJson<number>('profile', WARNING_COUNTER) ?? 0;
  const stored = store.getJson<StoredWarning[]>('profile', WARNINGS) ?? [];
  for (const w of stored) if (w.seq !== undefined) last = Math.max(last, w.seq);
  let unnumbered = false;
  const list = stored.map((w): Warning => {
    if (w.seq !== undefined) return { ...w, seq: w.seq };
    unnumbered = true;
    return { seq: ++last, ...w };
  });
  return { list, last, unnumbered };
}

/**
 * The warnings, numbered; numbers given to unnumbered entries are saved with the counter, in
 * one transaction, the first time they are seen. Numbering them anew on each read instead
 * would reuse numbers: an older version (after a downgrade) appends an unnumbered warning and
 * drops the oldest, and the list, numbered again from the same start, would give the new
 * warning a number an application already showed — and it would never be shown.
 */
function storedNumbering(store: LocalStore): { list: Warning[]; last: number } {
  const read = numberedWarnings(store);
  if (!read.unnumbered) return read;
  return store.transaction(() => {
    const { list, last } = numberedWarnings(store);
    store.putJson('profile', WARNING_COUNTER, last);
    store.putJson('profile', WARNINGS, list);
    return { list, last };
  });
}

/**
 * Records a warning for the user under the next number; keeps the {@link MAX_WARNINGS} most
 * recent. List and counter are written in one transaction, so a number is never given twice.
 */
export function addWarning(store: LocalStore, w: NewWarning): Warning {
  return store.transaction(() => {
    const { list, last } = storedNumbering(store);
    const added: Warning = { seq: last + 1, ...w };
    list.push(added);
    store.putJson('profile', WARNING_COUNTER, added.seq);
    store.putJson('profile', WARNINGS, list.slice(-MAX_WARNINGS));
    return added;
  });
}

/** Warnings kept, oldest first (by `seq`). */
export function listWarnings(store: LocalStore): Warning[] {
  return storedNumbering(store).list;
}
