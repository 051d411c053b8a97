/**
 * Received content held until an own pending send completes. An own group change (a group
 * created, a member added) and an own message are applied here only when their send
 * completes (send-completion.ts), but the server may already have delivered them: Bob
 * replies in the group Alice created, Dave writes after Alice added him, Bob's receipt or
 * reaction names Alice's message, while Alice's device still waits for its answer
 * (SEND_PENDING). Judged now, such content would be refused (unknown group, not a member)
 * or find no message to update, and the envelope would be acknowledged: lost from the device
 * and its archive while the relay holds a receipt for it.
 *
 * Such content is held here instead, decrypted, in the same transaction that marks its
 * envelope processed, and judged again — then stored and captured, once — as soon as the
 * sends it waits on are no longer pending (completed or dropped). Leaving the envelope
 * unacknowledged instead cannot work: decrypting it advanced the ratchet, which must be
 * committed (a rolled-back decrypt would make the next envelope of that session undecryptable
 * if it were decrypted first), so the envelope would not decrypt a second time; and the
 * server returns unacknowledged envelopes first, so a sync would fetch it again and again.
 *
 * A row holds plaintext content (as the message store and the outbox do): it lives in the
 * encrypted local store only, and is deleted when its content is judged again.
 */
import type { LocalStore } from '../store/local-store.js';
import { decodeJson } from '../store/json-codec.js';
import type { MessageContent } from './content.js';
import { getMessage } from './message-store.js';
import { userAddress, type PeerUser } from './peers.js';
import { pendingSends } from './send-outbox.js';

const HELD = 'held-received';

/** Received content waiting on an own pending send, with what its envelope said. */
export interface HeldContent {
  /** The row's key and order (arrival order: held content is judged again oldest first). */
  readonly ord: number;
  readonly content: MessageContent;
  readonly sender: PeerUser;
  /** The envelope's server time and the SHA-256 of its ciphertext (what the archive record names). */
  readonly serverTime: number;
  readonly hash: Uint8Array;
  /**
   * This device's time when the content arrived: a disappearing message's timer runs from it,
   * not from the release (absent in rows held before it was recorded).
   */
  readonly arrivedAt?: number;
}

/**
 * What `c` from `sender` belongs to: its conversation (the group, or the other user of a 1:1
 * conversation — `c.sync` names it in an own sync copy) and the messages it updates.
 */
function keys(c: MessageContent, sender: PeerUser): string[] {
  const peer =
    c.sync === undefined ? userAddress(sender) : userAddress({ orgId: c.sync.org, userId: c.sync.user });
  return [c.group === undefined ? `u:${peer}` : `g:${c.group}`, ...targets(c).map((id) => `m:${id}`)];
}

/**
 * True when any of `earlier` (held content) belongs to the conversation of `c` or updates a
 * message `c` updates. Such content is held behind it, whatever it is (a group update from
 * another member included), so that held content is judged and applied in arrival order:
 * released later, it would otherwise be applied after what came after it (a changed reaction
 * replaced by the one it replaced), or judged against a group state that a later update
 * already changed (a member's message refused because a later update removed them).
 */
export function waitsOnHeld(earlier: readonly HeldContent[], c: MessageContent, sender: PeerUser): boolean {
  if (earlier.length === 0) return false;
  const mine = new Set(keys(c, sender));
  return earlier.some((h) => keys(h.content, h.sender).some((k) => mine.has(k)));
}

/** The ids of the stored messages `c` updates (receipts, reactions, edits, deletes). */
function targets(c: MessageContent): string[] {
  return [...(c.receiptFor ?? []), c.edits, c.deletes, c.reactsTo].filter((id) => id !== undefined);
}

/**
 * True when `c` depends on an own send still pending: its group is one an own pending group
 * change creates or changes and, judged against the stored group, it would be refused
 * (`refusedByGroup`, asked only then), or it names a message this device has not stored and
 * is still sending. Content held for a send that is dropped is judged as it would have been.
 */
export function waitsOnPendingSend(
  store: LocalStore,
  c: MessageContent,
  refusedByGroup: () => boolean,
): boolean {
  const pending = pendingSends(store);
  if (pending.length === 0) return false;
  if (
    c.group !== undefined &&
    pending.some((p) => p.content.kind === 'group-update' && p.content.group === c.group) &&
    refusedByGroup()
  )
    return true;
  const ids = targets(c).filter((id) => getMessage(store, id) === undefined);
  return ids.length > 0 && pending.some((p) => ids.includes(p.content.id));
}

/** Holds received content (inside the caller's transaction). */
export function holdReceived(store: LocalStore, h: Omit<HeldContent, 'ord'>): void {
  // A handful of rows at most (content that arrived while an own send was pending).
  const ord = (store.list(HELD).at(-1)?.ord ?? 0) + 1;
  store.putJson(HELD, String(ord), { ...h, ord }, ord);
}

/** True while any content is held (a count: nothing decoded). */
export function holdsReceived(store: LocalStore): boolean {
  return store.count(HELD) > 0;
}

/** Every held content, oldest first. */
export function heldReceived(store: LocalStore): HeldContent[] {
  return store.list(HELD).map((r) => decodeJson<HeldContent>(r.value));
}

/** Deletes `h`'s row (inside the caller's transaction). */
export function releaseHeld(store: LocalStore, h: HeldContent): void {
  store.delete(HELD, String(h.ord));
}
