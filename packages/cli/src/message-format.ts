/**
 * How messages and events look on the terminal and in `--json` output. Message ids are
 * shown by their first {@link SHORT_ID_LENGTH} characters (like short commit hashes);
 * commands accept any unique prefix back (resolveMessageId).
 */
import type {
  AttachmentPointer,
  GroupChangeSummary,
  MessageEvent,
  PeerUser,
  StoredMessage,
} from '@custos/client';
import type { AddressBook } from './address-book.js';
import { formatAddress } from './address-book.js';
import { CliFailure } from './command-runner.js';
import { peerText } from './terminal-text.js';

/** Characters of a message id shown to people. */
export const SHORT_ID_LENGTH = 8;
/** Shortest prefix accepted for a message id. */
export const MIN_ID_PREFIX = 4;

/** The short form of a message id. */
export function shortId(id: string): string {
  return id.slice(0, SHORT_ID_LENGTH);
}

/** `YYYY-MM-DD HH:MM` in UTC. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** `  [file: report.pdf, 12345 bytes]` for each attachment. */
function describeAttachments(list: readonly AttachmentPointer[] | undefined): string {
  return (list ?? [])
    .map((a) => `  [file: ${peerText(a.fileName ?? a.contentType)}, ${a.size} bytes]`)
    .join('');
}

/**
 * `; added …; removed …` of a group change, naming this profile's own user "you" (the
 * summary lists members by address, this user's among them), and what a removal means for them.
 */
function describeGroupChange(
  change: GroupChangeSummary | undefined,
  book: AddressBook,
  self: PeerUser | undefined,
): string {
  if (change === undefined) return '';
  const mine = self === undefined ? undefined : formatAddress(self);
  const name = (u: PeerUser): string => (formatAddress(u) === mine ? 'you' : book.label(u));
  const names = (users: readonly PeerUser[]): string => users.map(name).join(', ');
  const parts = [
    ...(change.added.length === 0 ? [] : [`added ${names(change.added)}`]),
    ...(change.removed.length === 0 ? [] : [`removed ${names(change.removed)}`]),
    ...(change.you === 'removed'
      ? ['you are no longer a member: you receive nothing more from this group']
      : []),
  ];
  return parts.map((p) => `; ${p}`).join('');
}

/** What {@link describeEvent} may know beyond the event and the address book. */
export interface EventContext {
  /** A group's local name by id. */
  readonly groupNameOf?: (id: string) => string | undefined;
  /** Who sent a stored message (an edit or delete of someone else's is shown as ignored). */
  readonly senderOf?: (messageId: string) => PeerUser | undefined;
  /** This profile's own user: group changes name it "you". */
  readonly self?: PeerUser;
}

/**
 * One line describing an event, from this device's point of view. An edit or delete of
 * someone else's message (by `context.senderOf`) is shown as the ignored attempt it is
 * (devices apply only the sender's), not as a change.
 */
export function describeEvent(e: MessageEvent, book: AddressBook, context: EventContext = {}): string {
  const groupName = (id: string): string => {
    const n = context.groupNameOf?.(id);
    return n === undefined ? id : `"${peerText(n)}"`;
  };
  const c = e.content;
  const who = e.direction === 'sent' ? 'you' : book.label(e.from);
  const to =
    e.group !== undefined
      ? `group ${groupName(e.group)}`
      : e.direction === 'sent'
        ? book.label(e.peer)
        : 'you';
  const head = `[${formatTime(c.timestamp)}] ${who} → ${to}`;
  const changed = c.kind === 'edit' ? c.edits : c.kind === 'delete' ? c.deletes : undefined;
  const owner = changed === undefined ? undefined : context.senderOf?.(changed);
  if (owner !== undefined && formatAddress(owner) !== formatAddress(e.from))
    return `${head}: tried to ${c.kind} #${shortId(changed!)}, which ${book.label(owner)} sent (ignored: only its sender may ${c.kind} it)`;
  switch (c.kind) {
    case 'message':
      return `${head}: ${peerText(c.text ?? '')}${describeAttachments(c.attachments)}${c.replyTo === undefined ? '' : `  (reply to ${shortId(c.replyTo)})`}${c.timer === undefined || c.timer === 0 ? '' : `  (disappears after ${c.timer} s)`}  #${shortId(c.id)}`;
    case 'group-update':
      return `${head}: group ${c.groupState === undefined ? 'changed' : `is now "${peerText(c.groupState.name)}" with ${c.groupState.members.length} members (revision ${c.groupState.revision})`}${describeGroupChange(e.groupChange, book, context.self)}`;
    case 'timer':
      return `${head}: disappearing messages ${c.timer === undefined || c.timer === 0 ? 'off' : `after ${c.timer} s`}`;
    case 'edit':
      return `${head}: edited #${shortId(c.edits ?? '')}: ${peerText(c.text ?? '')}`;
    case 'delete':
      return `${head}: deleted #${shortId(c.deletes ?? '')}`;
    case 'reaction':
      return c.emoji === undefined || c.emoji === ''
        ? `${head}: removed a reaction from #${shortId(c.reactsTo ?? '')}`
        : `${head}: reacted ${peerText(c.emoji)} to #${shortId(c.reactsTo ?? '')}`;
    default:
      return `${head}: ${c.kind} #${shortId(c.id)}`;
  }
}

/** The JSON form of an event (full ids, addresses and local names). */
export function eventJson(e: MessageEvent, book: AddressBook): Record<string, unknown> {
  const c = e.content;
  return {
    id: c.id,
    kind: c.kind,
    direction: e.direction,
    // Own content sent from another of this user's devices ('sent', from this user).
    syncCopy: e.syncCopy === true,
    from: formatAddress(e.from),
    fromName: book.nameOf(e.from) ?? null,
    peer: formatAddress(e.peer),
    peerName: book.nameOf(e.peer) ?? null,
    group: e.group ?? null,
    ...(c.attachments === undefined
      ? {}
      : {
          attachments: c.attachments.map((a) => ({
            fileName: a.fileName ?? null,
            contentType: a.contentType,
            size: a.size,
          })),
        }),
    ...(c.timer === undefined ? {} : { timer: c.timer }),
    ...(c.groupState === undefined
      ? {}
      : {
          groupState: {
            name: c.groupState.name,
            revision: c.groupState.revision,
            members: c.groupState.members.length,
          },
        }),
    ...(e.groupChange === undefined
      ? {}
      : {
          groupChange: {
            added: e.groupChange.added.map(formatAddress),
            removed: e.groupChange.removed.map(formatAddress),
            you: e.groupChange.you ?? null,
          },
        }),
    sentAt: c.timestamp,
    ...(c.text === undefined ? {} : { text: c.text }),
    ...(c.replyTo === undefined ? {} : { replyTo: c.replyTo }),
    ...(c.edits === undefined ? {} : { edits: c.edits }),
    ...(c.deletes === undefined ? {} : { deletes: c.deletes }),
    ...(c.reactsTo === undefined ? {} : { reactsTo: c.reactsTo }),
    ...(c.emoji === undefined ? {} : { emoji: c.emoji }),
    archivedBy: c.notice ?? null,
    archiveSeq: e.archiveSeq,
  };
}

/** A sender of received events that the address book has no name for, with the name they claim. */
export interface UnnamedSender {
  readonly address: string;
  readonly claimedName: string | null;
}

/**
 * The senders of received `events` the book has no name for, once each, with the display
 * name each claims (unverified), so the output can say how to name them.
 */
export function unnamedSenders(
  events: readonly MessageEvent[],
  book: AddressBook,
  contacts: readonly { readonly user: PeerUser; readonly name?: string }[],
): UnnamedSender[] {
  const out = new Map<string, UnnamedSender>();
  for (const e of events) {
    if (e.direction !== 'received' || book.nameOf(e.from) !== undefined) continue;
    const address = formatAddress(e.from);
    if (out.has(address)) continue;
    const claimed = contacts.find((c) => formatAddress(c.user) === address)?.name;
    out.set(address, { address, claimedName: claimed ?? null });
  }
  return [...out.values()];
}

/** The line that tells how to name an unnamed sender. */
export function describeUnnamed(u: UnnamedSender): string {
  const claim = u.claimedName === null ? '' : ` (calls themself "${peerText(u.claimedName)}")`;
  return `Not in your address book: ${u.address}${claim}; name them with 'custos contacts add NAME ${u.address}'.`;
}

/**
 * One line for a stored message (as it stands after edits, deletes and reactions). `self`
 * names this user "you" in messages a profile stored before sync copies were stored as sent
 * (its own messages from another device, kept as received from itself).
 */
export function describeStored(m: StoredMessage, book: AddressBook, self?: PeerUser): string {
  const own = m.direction === 'sent' || (self !== undefined && formatAddress(m.from) === formatAddress(self));
  const who = own ? 'you' : book.label(m.from);
  const body =
    m.deleted === true
      ? '(deleted)'
      : `${peerText(m.text)}${describeAttachments(m.attachments)}${m.edited === true ? ' (edited)' : ''}`;
  const reactions =
    m.reactions.length === 0 ? '' : `  [${m.reactions.map((r) => peerText(r.emoji)).join(' ')}]`;
  return `[${formatTime(m.sentAt)}] ${who}: ${body}${reactions}  #${shortId(m.id)}`;
}

/** Resolves a message id or a unique prefix of one among `messages` (one conversation's). */
export function resolveMessageId(messages: readonly StoredMessage[], text: string): string {
  const ids = messages.map((m) => m.id);
  if (ids.includes(text)) return text;
  if (text.length < MIN_ID_PREFIX)
    throw new CliFailure('MESSAGE_ID_INVALID', `give at least ${MIN_ID_PREFIX} characters of the message id`);
  const hits = ids.filter((id) => id.startsWith(text));
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1)
    throw new CliFailure(
      'MESSAGE_ID_AMBIGUOUS',
      `'${text}' matches ${hits.length} messages: give more characters`,
    );
  throw new CliFailure(
    'MESSAGE_ID_UNKNOWN',
    `no message '${text}' in this conversation: run 'custos sync' to see messages and their ids`,
  );
}

/**
 * Archive notices (F17) that `events` carried from organisations other than this user's
 * own, one line per conversation and organisation: "the conversation with … is archived by …".
 */
export function archiveNoticeLines(
  events: readonly MessageEvent[],
  book: AddressBook,
  ownOrgId: string,
  groupName: (id: string) => string | undefined,
): string[] {
  const lines = new Map<string, string>();
  for (const e of events) {
    const n = e.content.notice;
    if (n === undefined || n.org === ownOrgId) continue;
    const where = e.group === undefined ? book.label(e.peer) : `group "${groupName(e.group) ?? e.group}"`;
    lines.set(
      `${e.conversation} ${n.org}`,
      `Archive notice: your conversation with ${where} is archived by ${n.name}.`,
    );
  }
  return [...lines.values()];
}
