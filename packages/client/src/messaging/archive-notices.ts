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
 *
 * Before any device of a peer's org has spoken, the server's word may stand in: the prekey
 * bundle answer names the peer org's archive policy (ServerArchiveClaim below), kept per org
 * and shown as the server's word until that org's own notice arrives.
 */
import { ClientError } from '../errors.js';
import type { LocalStore } from '../store/local-store.js';
import { obj, str, type Json } from '../transport/response-checks.js';
import type { ArchiveNotice } from './content.js';
import { MAX_SHORT } from './content-parts.js';
import type { PeerUser } from './peers.js';

/** Store key prefix (table `profile`) of a conversation's recorded notices. */
const NOTICES_PREFIX = 'archive-notices:';

/** An organisation that archives a conversation, and on whose word. */
export interface ArchivedBy {
  readonly org: string;
  readonly name: string;
  /**
   * Only the server says so (its prekey bundle answer): no device of that org has sent its
   * own notice in this conversation yet. Shown as the server's word; a peer's notice replaces it.
   */
  readonly serverClaim?: true;
}

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

/** Store key (table `profile`) of the server's archive-policy claims, by organisation. */
const CLAIMS_KEY = 'archive-policy-claims';

/**
 * The server's word on a peer organisation's archive policy, from a prekey bundle answer
 * (F17). Never verified: the sender cannot pin another org's signing key, so a signed
 * statement would prove only what the server chose to serve. Used in the safe direction
 * only: a `required` claim tells the user before the first message; a `none` claim, or none,
 * changes nothing (the peer's own notice still arrives with its first receipt).
 */
export interface ServerArchiveClaim {
  readonly org: string;
  readonly name: string;
  readonly archivePolicy: 'required' | 'none';
}

/** Reads the `org` part of a bundle answer for a user of `orgId`; undefined when absent (older servers). */
export function parseServerClaim(res: Json, orgId: string): ServerArchiveClaim | undefined {
  if (res.org === undefined) return undefined;
  const o = obj(res.org, 'prekey bundles.org');
  const name = str(o, 'name');
  const archivePolicy = str(o, 'archivePolicy');
  if ((archivePolicy !== 'required' && archivePolicy !== 'none') || Buffer.byteLength(name) > MAX_SHORT)
    throw new ClientError('SERVER_RESPONSE_INVALID', 'prekey bundles: org is malformed');
  return { org: orgId, name, archivePolicy };
}

/**
 * Keeps a `required` claim for another org (sticky: a policy never changes, and a later
 * `none` from the server cannot unsay it). Runs in the caller's store transaction.
 */
export function noteServerClaim(store: LocalStore, claim: ServerArchiveClaim, ownOrg: string): void {
  if (claim.archivePolicy !== 'required' || claim.org === ownOrg) return;
  const claims = serverClaims(store);
  if (claims.get(claim.org) === claim.name) return;
  claims.set(claim.org, claim.name);
  store.putJson('profile', CLAIMS_KEY, [...claims]);
}

/** Orgs the server said archive (org → name). */
export function serverClaims(store: LocalStore): Map<string, string> {
  return new Map(store.getJson<[string, string][]>('profile', CLAIMS_KEY) ?? []);
}
