/**
 * What a command talks to: one user (a contact name, a unique prefix of one, or
 * USERID@ORGID) or a group (its id `g.…`, a unique prefix of the id, or its name).
 */
import type {
  ArchivedBy,
  CustosClient,
  GroupInfo,
  MessageEvent,
  PeerUser,
  StoredMessage,
} from '@custos/client';
import type { AddressBook } from './address-book.js';
import { CliFailure } from './command-runner.js';
import { peerText } from './terminal-text.js';

/** A conversation: a user or a group. */
export type Target =
  { readonly kind: 'user'; readonly peer: PeerUser } | { readonly kind: 'group'; readonly group: GroupInfo };

const lower = (s: string): string => s.toLocaleLowerCase();

/** Resolves a group by id, id prefix or name (ignoring case); CliFailure when none or several match. */
export function resolveGroup(client: CustosClient, text: string): GroupInfo {
  const groups = client.groups();
  const byId = groups.find((g) => g.id === text);
  if (byId !== undefined) return byId;
  const byName = groups.filter((g) => lower(g.name) === lower(text));
  const hits =
    byName.length > 0 ? byName : text.length >= 4 ? groups.filter((g) => g.id.startsWith(text)) : [];
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1)
    throw new CliFailure(
      'GROUP_AMBIGUOUS',
      `'${text}' matches several groups (${hits.map((g) => g.id).join(', ')}): give the group id`,
    );
  throw new CliFailure(
    'GROUP_UNKNOWN',
    `no group '${text}' on this device: 'custos group list' shows yours; 'custos sync' fetches new ones`,
  );
}

/** A user or, when `text` names no contact or address, a group. */
export function resolveTarget(client: CustosClient, book: AddressBook, text: string): Target {
  if (text.startsWith('g.')) return { kind: 'group', group: resolveGroup(client, text) };
  try {
    return { kind: 'user', peer: book.resolve(text) };
  } catch (userError) {
    try {
      return { kind: 'group', group: resolveGroup(client, text) };
    } catch {
      throw userError;
    }
  }
}

/** The stored messages of a conversation. */
export function targetMessages(client: CustosClient, t: Target): StoredMessage[] {
  return t.kind === 'user' ? client.messages(t.peer) : client.groupMessages(t.group.id);
}

/** True when `e` belongs to the conversation `t`. */
export function inTarget(e: MessageEvent, t: Target): boolean {
  if (t.kind === 'group') return e.group === t.group.id;
  return e.group === undefined && e.peer.orgId === t.peer.orgId && e.peer.userId === t.peer.userId;
}

/** How a conversation is named on screen. */
export function targetLabel(t: Target, book: AddressBook): string {
  return t.kind === 'user' ? book.label(t.peer) : `group "${peerText(t.group.name)}"`;
}

/**
 * The organisations that archive conversation `t` (F17): this user's own when its signed
 * policy is `required`, every org whose archive notice a received message, receipt or
 * control message carried, then (marked `serverClaim`) participants' orgs the server said archive.
 */
export function targetArchivedBy(client: CustosClient, t: Target): ArchivedBy[] {
  return client.archivedBy(t.kind === 'user' ? t.peer : t.group.id);
}

/** An archiving org as the CLI names it; on the server's word alone (a first send), it says so. */
export function archiverName(o: ArchivedBy): string {
  return o.serverClaim === true
    ? `${peerText(o.name)} (the server's word: no device of it has confirmed it yet)`
    : peerText(o.name);
}

/** The chat header's archive line: who archives the conversation, or that nobody has said so. */
export function archivedByLine(client: CustosClient, t: Target): string {
  const names = targetArchivedBy(client, t).map(archiverName);
  if (names.length > 0) return `Archived by: ${names.join(', ')}.`;
  return `Not archived so far: ${client.profile.orgName} does not archive, and no other participant's organisation has said it does.`;
}
