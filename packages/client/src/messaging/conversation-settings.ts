/**
 * Per-conversation settings and display names, kept in the encrypted store: the
 * disappearing-message timer of each conversation (set by a 'timer' control message that
 * every participant sees) and this user's own display name (sent inside content, so peers
 * learn it and the server never does).
 */
import { ClientError } from '../errors.js';
import type { LocalStore } from '../store/local-store.js';
import { MAX_SHORT, MAX_TIMER_SECONDS } from './content-parts.js';

const TIMER_PREFIX = 'timer:';
const OWN_NAME = 'display-name';

/** The disappearing-message timer of a conversation, in seconds (0 = off). */
export function conversationTimer(store: LocalStore, conversationId: string): number {
  return store.getJson<number>('profile', TIMER_PREFIX + conversationId) ?? 0;
}

/** Sets a conversation's timer (seconds, 0 = off). */
export function setConversationTimer(store: LocalStore, conversationId: string, seconds: number): void {
  store.putJson('profile', TIMER_PREFIX + conversationId, checkTimer(seconds));
}

/** CONTENT_INVALID unless `seconds` is a whole number of seconds within MAX_TIMER_SECONDS. */
export function checkTimer(seconds: number): number {
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_TIMER_SECONDS)
    throw new ClientError('CONTENT_INVALID', `a timer is 0–${MAX_TIMER_SECONDS} whole seconds`);
  return seconds;
}

/** This user's display name, if set. */
export function ownDisplayName(store: LocalStore): string | undefined {
  return store.getJson<string>('profile', OWN_NAME);
}

/** Sets this user's display name (1–MAX_SHORT bytes); it travels in every content sent after. */
export function setOwnDisplayName(store: LocalStore, name: string): void {
  if (name.trim().length === 0 || Buffer.byteLength(name) > MAX_SHORT)
    throw new ClientError('CONTENT_INVALID', `a display name is 1–${MAX_SHORT} bytes`);
  store.putJson('profile', OWN_NAME, name);
}
