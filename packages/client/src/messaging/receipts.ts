/**
 * Delivery and read receipts (docs/client.md §5). A device answers every message it
 * receives from another user with a 'delivered' receipt to the sender's devices — batched
 * per sender and conversation, sent after the envelopes are stored; `markRead` sends
 * 'read'. Receipts never get receipts, carry no sync copy, and are best effort: one lost
 * to a network failure is not retried (the message itself is already stored and archived).
 */
import type { ReceiptType } from './content-parts.js';
import type { MessageEvent } from './messenger.js';
import { userAddress, type PeerUser } from './peers.js';

/** One receipt to send: to whom, which messages, in which group (if any). */
export interface PendingReceipt {
  readonly to: PeerUser;
  readonly type: ReceiptType;
  readonly ids: string[];
  readonly group?: string;
}

/** Most ids in one receipt (the content format allows MAX_RECEIPT_IDS). */
const RECEIPT_BATCH = 500;

/** Collects delivery receipts owed for received messages until they are flushed. */
export class ReceiptQueue {
  readonly #pending = new Map<string, PendingReceipt>();

  /** Notes a received event; only a message from another user is owed a delivery receipt. */
  note(e: MessageEvent, me: PeerUser): void {
    if (e.direction !== 'received' || e.content.kind !== 'message') return;
    if (userAddress(e.from) === userAddress(me)) return;
    this.add({
      to: e.from,
      type: 'delivered',
      ids: [e.content.id],
      ...(e.group === undefined ? {} : { group: e.group }),
    });
  }

  /** Adds receipts to send (merged per recipient, type and conversation). */
  add(r: PendingReceipt): void {
    const key = `${userAddress(r.to)}\n${r.type}\n${r.group ?? ''}`;
    const had = this.#pending.get(key);
    if (had === undefined) this.#pending.set(key, { ...r, ids: [...r.ids] });
    else had.ids.push(...r.ids);
  }

  /** Takes every pending receipt, split into batches. */
  take(): PendingReceipt[] {
    const out: PendingReceipt[] = [];
    for (const r of this.#pending.values())
      for (let i = 0; i < r.ids.length; i += RECEIPT_BATCH)
        out.push({ ...r, ids: r.ids.slice(i, i + RECEIPT_BATCH) });
    this.#pending.clear();
    return out;
  }
}

/** The read receipts owed for `ids` among `messages`: one per sender (and group), never for own messages. */
export function readReceiptsFor(
  messages: readonly { id: string; from: PeerUser; group?: string }[],
  ids: readonly string[],
  me: PeerUser,
): PendingReceipt[] {
  const q = new ReceiptQueue();
  const wanted = new Set(ids);
  for (const m of messages)
    if (wanted.has(m.id) && userAddress(m.from) !== userAddress(me))
      q.add({ to: m.from, type: 'read', ids: [m.id], ...(m.group === undefined ? {} : { group: m.group }) });
  return q.take();
}
