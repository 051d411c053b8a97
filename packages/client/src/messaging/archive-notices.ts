/**
 * Archive notices (threat model F17) recorded per conversation, whatever content carried
 * them: a message, a delivery or read receipt, a group update or a timer change. A peer's
 * device adds its organisation's notice to everything it sends while that organisation
 * archives, so the automatic delivery receipt for a first message already tells its sender.
 *
 * Invariant: a recorded notice names the organisation of the device that sent it. The
 * content arrived over an authenticated Signal session from that device, so "my own org
 * archives this" is the peer's word; a notice naming any other organisation is a claim the
 * peer cannot make, and the content carrying it is refused (Messenger.receive). Notices
 * naming this device's own organisation are not recorded: whether it archives is known from
 * its signed policy (DeviceProfile.captureRequired).
 */
import type { LocalStore } from '../store/local-store.js';
import type { ArchiveNotice } from './content.js';
import type { PeerUser } from './peers.js';

/** Store key prefix (table `profile`) of a conversation's recorded notices. */
const NOTICES_PREFIX = 'archive-notices:';

/** A notice as recorded for a conversation, with this device's time of first learning it. */
export interface RecordedNotice extends ArchiveNotice {
  readonly at: number;
}

/** True when `notice` may come from `sender`: it names the sender's own organisation. */
export function noticeFromSender(notice: ArchiveNotice, sender: PeerUser): boolean {
  return notice.org === sender.orgId;
}

/** The notices recorded for a conversation (`dm.…` or a group id), oldest first. */
export function conversationNotices(store: LocalStore, conversationId: string): RecordedNotice[] {
  return store.getJson<RecordedNotice[]>('profile', NOTICES_PREFIX + conversationId) ?? [];
}

/**
 * Records `notice` for a conversation unless it names `ownOrg` or is already recorded;
 * resolves to true when it is new (the caller tells the user). Runs inside the caller's
 * store transaction, so a refused or rolled-back receive records nothing.
 */
export function recordNotice(
  store: LocalStore,
  conversationId: string,
  notice: ArchiveNotice,
  ownOrg: string,
  at: number,
): boolean {
  if (notice.org === ownOrg) return false;
  const list = conversationNotices(store, conversationId);
  if (list.some((n) => n.org === notice.org)) return false;
  store.putJson('profile', NOTICES_PREFIX + conversationId, [
    ...list,
    { org: notice.org, name: notice.name, at },
  ]);
  return true;
}
