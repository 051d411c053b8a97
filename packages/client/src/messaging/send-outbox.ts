/**
 * The send outbox: a message being sent, kept in the store from the moment a request may
 * carry it until every recipient has answered. A row is written in the same transaction as
 * the ratchet advance of the envelopes it names (delivery.ts), BEFORE those envelopes leave
 * the device. So whatever happens to the request — the answer is lost, the process dies —
 * the device knows which envelopes may be at the server, and sends exactly those again, under
 * the same idempotency key, until the server answers (it answers a repeat with the first
 * answer and stores nothing again: docs/relay.md). Re-encrypting instead would advance the
 * ratchet past envelopes the recipient may already hold, or, with the advance rolled back,
 * reuse its message keys: the next message would not decrypt.
 *
 * A row holds plaintext content (as the message store does): it lives in the encrypted local
 * store only, and is deleted once the message is stored and captured.
 */
import { randomBytes } from 'node:crypto';
import { decodeJson } from '../store/json-codec.js';
import type { LocalStore } from '../store/local-store.js';
import type { MessageContent } from './content.js';
import type { Conversation } from './events.js';
import type { PeerUser } from './peers.js';

const OUTBOX = 'send-outbox';

/** Bytes of a send's idempotency key (the server's SEND_KEY_BYTES). */
export const SEND_KEY_BYTES = 16;

/**
 * How long the server remembers a send's idempotency key: the server's
 * RELAY_SEND_KEY_RETENTION_MS (packages/server/src/config/messaging-defaults.ts), 24 h. A
 * request repeated later is new to the server (delivery.ts).
 */
export const SEND_KEY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** A fresh idempotency key: 16 random bytes, base64url. */
export function newSendKey(): string {
  return randomBytes(SEND_KEY_BYTES).toString('base64url');
}

/** One envelope as `PUT /v1/messages` carries it. */
export interface OutboxEnvelope {
  readonly deviceId: string;
  readonly type: number;
  /** The ciphertext, base64url. */
  readonly content: string;
}

/** One request that may have reached the server: its key and exactly the envelopes it carried. */
export interface InFlightSend {
  readonly to: PeerUser;
  readonly key: string;
  readonly envelopes: readonly OutboxEnvelope[];
  /** SHA-256 of each envelope's ciphertext (what the archive record and the relay receipt name). */
  readonly hashes: readonly Uint8Array[];
  /** This device's time when the request was kept, just before its first try left. */
  readonly sentAt: number;
  /** Failed tries so far that count toward MAX_SEND_TRIES (delivery.ts: not offline, not rate limited). */
  readonly tries?: number;
  /**
   * Tries that failed before the request left this device (the server could not be reached:
   * a refused connection, an unknown host). Shown to the user, never counted in `tries`: they
   * say nothing of an earlier try, and a server down for a while must not use the tries up.
   */
  readonly unreached?: number;
  /**
   * False while no try can have reached the relay (each failed before the request left, or
   * was answered before anything was stored): given up on, it is refused, not possibly
   * delivered. Absent while a try is under way, and in rows written before the flag: may have.
   */
  readonly reached?: boolean;
}

/** A recipient of a pending send: a user, with the content or its sync copy. */
export interface SendTarget {
  readonly to: PeerUser;
  /** True for the sync copy to this user's other devices. */
  readonly sync: boolean;
}

/** A message being sent, as the outbox keeps it. */
export interface PendingSend {
  /** The row's key and order (creation order: pending sends complete oldest first). */
  readonly ord: number;
  readonly content: MessageContent;
  readonly conv: Conversation;
  /** The padded content, and its sync copy when there is one. */
  readonly padded: Uint8Array;
  readonly syncCopy?: Uint8Array;
  /** Every recipient in order; `next` indexes the first that has not answered. */
  readonly targets: readonly SendTarget[];
  readonly next: number;
  /** Hashes of the envelopes the server accepted so far. */
  readonly hashes: readonly Uint8Array[];
  /** The server's time of the first accepted envelope. */
  readonly serverTime?: number;
  /**
   * How many recipients (not counting the sync copy to this user's own devices, always the
   * last target) the server accepted envelopes for: 0 until one of them has the message.
   */
  readonly delivered: number;
  /** This device's time when the send began. */
  readonly since: number;
  /** The request of `targets[next]` that may be at the server. */
  readonly inFlight?: InFlightSend;
}

/** A new pending send (not stored yet: the first request's transaction stores it). */
export function newPendingSend(
  store: LocalStore,
  fields: Omit<PendingSend, 'ord' | 'next' | 'hashes' | 'delivered'>,
): PendingSend {
  // The outbox holds a handful of rows at most (one per send that lost its answer).
  const last = store.list(OUTBOX).at(-1)?.ord ?? 0;
  return { ...fields, ord: last + 1, next: 0, hashes: [], delivered: 0 };
}

/** Writes `p` (inside the caller's transaction). */
export function putPendingSend(store: LocalStore, p: PendingSend): void {
  store.putJson(OUTBOX, String(p.ord), p, p.ord);
}

/** Deletes `p`'s row, if stored. */
export function deletePendingSend(store: LocalStore, p: PendingSend): void {
  store.delete(OUTBOX, String(p.ord));
}

/** `p`'s row as stored (what a failed transaction left committed), if any. */
export function storedPendingSend(store: LocalStore, p: PendingSend): PendingSend | undefined {
  const row = store.get(OUTBOX, String(p.ord));
  return row === undefined ? undefined : decodeJson<PendingSend>(row);
}

/** Every pending send, oldest first. */
export function pendingSends(store: LocalStore): PendingSend[] {
  return store.list(OUTBOX).map((r) => decodeJson<PendingSend>(r.value));
}
