/**
 * `custos send`: one message, reply, edit, delete or reaction to a user. Every send is
 * captured for the archive in the same step (the SDK refuses to send unarchived); the
 * queued record is uploaded right after, and its receipt verified by the next `custos sync`.
 */
import type { CustosClient, MessageContent, PeerUser } from '@custos/client';
import type { CliIo } from '../cli.js';
import { optionalString, UsageError } from '../command-flags.js';
import { AddressBook } from '../address-book.js';
import { CliFailure, runCommand, type CommandContext } from '../command-runner.js';
import { eventJson, resolveMessageId, shortId } from '../message-format.js';
import { PROFILE_FLAGS, PROFILE_OPTIONS_HELP, withProfile } from '../profile-access.js';

const USAGE = `Usage: custos send --to USER [--reply ID] [TEXT]
       custos send --to USER --edit ID TEXT
       custos send --to USER --delete ID
       custos send --to USER --react ID EMOJI      (an empty EMOJI '' removes your reaction)
       custos send --group ID … / --attach FILE    (when groups and attachments are available)

Sends to USER: a name from your address book ('custos contacts'), a unique prefix of one,
or an address USERID@ORGID. IDs are message ids as 'custos sync' shows them (#abcd1234; a
unique prefix is enough). Put '--' before a TEXT that starts with '-'.

  --to USER               the recipient
  --reply ID              the message answers ID
  --edit ID               replaces the text of your message ID
  --delete ID             deletes your message ID for everyone (the archive keeps it)
  --react ID              reacts to ID with EMOJI
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
} as const;

type Partial = Omit<MessageContent, 'id' | 'timestamp' | 'notice'>;

/** Builds the content from the flags; the ids are resolved against the conversation with `peer`. */
export function buildContent(ctx: CommandContext, client: CustosClient, peer: PeerUser): Partial {
  const actions = (['edit', 'delete', 'react'] as const).filter((f) => ctx.flags.has(f));
  if (actions.length > 1) throw new UsageError(`give only one of --${actions.join(', --')}`);
  if (actions.length > 0 && ctx.flags.has('reply'))
    throw new UsageError(`--reply goes with a new message, not with --${actions[0]}`);
  const [text] = ctx.positionals;
  const id = (flag: string): string => resolveMessageId(client, optionalString(ctx.flags, flag)!, peer);
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
    default: {
      if (text === undefined || text === '') throw new UsageError('the message TEXT is missing');
      const reply = optionalString(ctx.flags, 'reply');
      return { kind: 'message', text, ...(reply === undefined ? {} : { replyTo: id('reply') }) };
    }
  }
}

async function send(ctx: CommandContext): Promise<void> {
  if (ctx.flags.has('group') || ctx.flags.has('attach'))
    throw new CliFailure(
      'NOT_AVAILABLE',
      'groups and attachments are not available in this build of custos yet: send to one user with --to',
    );
  const to = optionalString(ctx.flags, 'to');
  if (to === undefined) throw new UsageError('--to USER is required');
  await withProfile(ctx, async (client) => {
    const book = new AddressBook(client.settings);
    const peer = book.resolve(to);
    const content = buildContent(ctx, client, peer);
    const e = await client.send(peer, content);
    // Upload at once (best effort): `custos sync` retries and verifies the receipt.
    let uploaded = true;
    try {
      await client.uploadArchive();
    } catch {
      uploaded = false;
    }
    const what = content.kind === 'message' ? 'Sent' : `Sent ${content.kind}`;
    ctx.result(
      [
        `${what} #${shortId(e.content.id)} to ${book.label(peer)}.`,
        `Archived by ${client.profile.orgName} (record ${e.archiveSeq}${uploaded ? ', uploaded' : ', queued: uploads on the next sync'}).`,
      ],
      { ...eventJson(e, book), archiveUploaded: uploaded },
    );
  });
}

/** Runs `custos send`. */
export function runSend(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({ name: 'send', usage: USAGE, flags: FLAGS, maxPositionals: 1 }, args, io, send);
}
