/**
 * `custos send`: one message (optionally with files), reply, edit, delete, reaction or
 * disappearing-timer change, to a user or a group. Every send is captured for the archive
 * in the same step (the SDK refuses to send unarchived); the queued record is uploaded
 * right after, and its receipt verified by the next `custos sync`.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { CustosClient, MessageEvent, OutgoingContent, StoredMessage } from '@custos/client';
import type { CliIo } from '../cli.js';
import { optionalString, UsageError } from '../command-flags.js';
import { AddressBook } from '../address-book.js';
import { CliFailure, runCommand, type CommandContext } from '../command-runner.js';
import {
  archiverName,
  resolveGroup,
  targetArchivedBy,
  targetLabel,
  targetMessages,
  type Target,
} from '../conversation-target.js';
import { eventJson, resolveMessageId, shortId } from '../message-format.js';
import { PROFILE_FLAGS, PROFILE_OPTIONS_HELP, withProfile } from '../profile-access.js';

/** Longest disappearing timer accepted on the command line (one year, as the SDK). */
const MAX_TIMER_SECONDS = 365 * 24 * 60 * 60;
/** Content types by file extension; anything else is application/octet-stream. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.txt': 'text/plain',
  '.pdf': 'application/pdf',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.json': 'application/json',
  '.csv': 'text/csv',
};

const USAGE = `Usage: custos send (--to USER | --group GROUP) [--attach FILE] [--reply ID] [TEXT]
       custos send (--to USER | --group GROUP) --edit ID TEXT
       custos send (--to USER | --group GROUP) --delete ID
       custos send (--to USER | --group GROUP) --react ID EMOJI   ('' removes your reaction)
       custos send (--to USER | --group GROUP) --timer SECONDS    (0 turns the timer off)

Sends to USER — a name from your address book ('custos contacts'), a unique prefix of one,
or an address USERID@ORGID — or to GROUP (its name or id, 'custos group list'). IDs are
message ids as 'custos sync' shows them (#abcd1234; a unique prefix is enough). Put '--'
before a TEXT that starts with '-'. Disappearing messages leave the devices, never the archive.

  --to USER               the recipient
  --group GROUP           a group you belong to
  --attach FILE           attach a file (encrypted with its own key; up to 23 MiB)
  --reply ID              the message answers ID
  --edit ID               replaces the text of your message ID
  --delete ID             deletes your message ID for everyone (the archive keeps it)
  --react ID              reacts to ID with EMOJI
  --timer SECONDS         sets the conversation's disappearing-message timer
${PROFILE_OPTIONS_HELP}`;

const FLAGS = {
  ...PROFILE_FLAGS,
  to: 'string',
  group: 'string',
  attach: 'string',
  reply: 'string',
  edit: 'string',
  delete: 'string',
  react: 'string',
  timer: 'string',
} as const;

/** The content (without attachments) the flags ask for; ids resolve among `messages`. */
function buildContent(ctx: CommandContext, messages: readonly StoredMessage[]): OutgoingContent {
  const actions = (['edit', 'delete', 'react', 'timer'] as const).filter((f) => ctx.flags.has(f));
  if (actions.length > 1) throw new UsageError(`give only one of --${actions.join(', --')}`);
  if (actions.length > 0 && (ctx.flags.has('reply') || ctx.flags.has('attach')))
    throw new UsageError(`--reply and --attach go with a new message, not with --${actions[0]}`);
  const [text] = ctx.positionals;
  const id = (flag: string): string => resolveMessageId(messages, optionalString(ctx.flags, flag)!);
  switch (actions[0]) {
    case 'edit':
      if (text === undefined || text === '') throw new UsageError('--edit needs the new TEXT');
      return { kind: 'edit', edits: id('edit'), text };
    case 'delete':
      if (text !== undefined) throw new UsageError('--delete takes no TEXT');
      return { kind: 'delete', deletes: id('delete') };
    case 'react':
      if (text === undefined)
        throw new UsageError("--react needs an EMOJI after the id ('' removes your reaction)");
      return { kind: 'reaction', reactsTo: id('react'), emoji: text };
    case 'timer': {
      const t = optionalString(ctx.flags, 'timer')!;
      if (!/^[0-9]+$/.test(t) || Number(t) > MAX_TIMER_SECONDS)
        throw new UsageError(`--timer must be a number of seconds from 0 to ${MAX_TIMER_SECONDS}`);
      if (text !== undefined) throw new UsageError('--timer takes no TEXT');
      return { kind: 'timer', timer: Number(t) };
    }
    default: {
      if ((text === undefined || text === '') && !ctx.flags.has('attach'))
        throw new UsageError('the message TEXT is missing');
      const reply = optionalString(ctx.flags, 'reply');
      return { kind: 'message', text: text ?? '', ...(reply === undefined ? {} : { replyTo: id('reply') }) };
    }
  }
}

/** Why a file could not be read, by node's code: `no such file (ENOENT)`. */
const UNREADABLE_BECAUSE: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file (a folder on its path is a file)',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder',
};

/**
 * The bytes of the --attach file; ATTACHMENT_UNREADABLE saying why not (no such file, no
 * permission, not a regular file).
 */
export function readAttachment(path: string): Uint8Array {
  try {
    if (!statSync(path).isFile())
      throw new CliFailure('ATTACHMENT_UNREADABLE', `cannot read the file ${path}: it is not a regular file`);
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    if (e instanceof CliFailure) throw e;
    const code = (e as { code?: unknown } | null)?.code;
    const why =
      typeof code !== 'string'
        ? 'unknown error'
        : Object.hasOwn(UNREADABLE_BECAUSE, code)
          ? `${UNREADABLE_BECAUSE[code]} (${code})`
          : code;
    throw new CliFailure('ATTACHMENT_UNREADABLE', `cannot read the file ${path}: ${why}`);
  }
}

/** The --attach file's path and bytes. */
interface AttachmentFile {
  readonly path: string;
  readonly bytes: Uint8Array;
}

/**
 * Reads the --attach file before the profile opens. Reading a file opens and closes a
 * descriptor of it, and on POSIX systems closing any descriptor of a file drops every fcntl
 * lock this process holds on that file: were the file the profile's own database, the
 * profile's lock (one process per profile) would be gone while the store is open.
 */
function attachmentFile(ctx: CommandContext): AttachmentFile | undefined {
  const path = optionalString(ctx.flags, 'attach');
  return path === undefined ? undefined : { path, bytes: readAttachment(path) };
}

/** Uploads the attachment; resolves to the message content with its pointer. */
async function withAttachment(
  client: CustosClient,
  file: AttachmentFile | undefined,
  content: OutgoingContent,
): Promise<OutgoingContent> {
  if (file === undefined) return content;
  const { path, bytes } = file;
  const pointer = await client.attachFile(bytes, {
    contentType: CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
    fileName: basename(path),
  });
  return { ...content, attachments: [pointer] };
}

/** Sends `content` to the target (a timer change through the SDK's timer call). */
export function sendTo(client: CustosClient, t: Target, content: OutgoingContent): Promise<MessageEvent> {
  const where = t.kind === 'user' ? t.peer : t.group.id;
  if (content.kind === 'timer') return client.setDisappearingTimer(where, content.timer ?? 0);
  return t.kind === 'user' ? client.send(t.peer, content) : client.sendToGroup(t.group.id, content);
}

async function send(ctx: CommandContext): Promise<void> {
  const to = optionalString(ctx.flags, 'to');
  const group = optionalString(ctx.flags, 'group');
  if ((to === undefined) === (group === undefined)) throw new UsageError('give --to USER or --group GROUP');
  const file = attachmentFile(ctx);
  await withProfile(ctx, async (client) => {
    const book = new AddressBook(client.settings);
    const target: Target =
      group === undefined
        ? { kind: 'user', peer: book.resolve(to!) }
        : { kind: 'group', group: resolveGroup(client, group) };
    const content = await withAttachment(client, file, buildContent(ctx, targetMessages(client, target)));
    const e = await sendTo(client, target, content);
    // Upload at once (best effort): `custos sync` retries and verifies the receipt.
    let uploaded = true;
    try {
      await client.uploadArchive();
    } catch {
      uploaded = false;
    }
    const what = content.kind === 'message' ? 'Sent' : `Sent ${content.kind}`;
    // Other orgs whose archive notice this conversation has carried (F17), or that the
    // server said archive when this send fetched the recipient's bundle (a first send).
    const archivedBy = targetArchivedBy(client, target);
    const others = archivedBy.filter((o) => o.org !== client.profile.orgId).map(archiverName);
    ctx.result(
      [
        `${what} #${shortId(e.content.id)} to ${targetLabel(target, book)}.`,
        e.archiveSeq === null
          ? `Not archived by ${client.profile.orgName} (its archive policy is none).${others.length > 0 ? ` Archived by ${others.join(', ')}.` : ''}`
          : `Archived by ${client.profile.orgName} (record ${e.archiveSeq}${uploaded ? ', uploaded' : ', queued: uploads on the next sync'}).`,
      ],
      { ...eventJson(e, book), archiveUploaded: uploaded, conversationArchivedBy: archivedBy },
    );
  });
}

/** Runs `custos send`. */
export function runSend(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({ name: 'send', usage: USAGE, flags: FLAGS, maxPositionals: 1 }, args, io, send);
}
