/**
 * `custos pending [--discard [--yes]]`: the sends this device keeps until the server confirms
 * them (client send outbox, docs/client.md §5), and giving up on the oldest. While one is
 * pending every later send is refused (SEND_BLOCKED) and `custos sync` sends it again; when
 * a proxy or the server keeps failing it, the user needs to see what holds the queue and to
 * let later sends go. A discarded send may be at the server already (its answer was lost):
 * the SDK records it as possibly delivered (a delivery-uncertain warning, archived with what
 * may have reached the recipient), never silently dropped — so the user is asked first, and
 * told exactly what the discard recorded: its warnings, not whether it stored the message,
 * say who may have it (a group send a member accepted is stored, yet not possibly delivered).
 */
import {
  userAddress,
  type CustosClient,
  type MessageEvent,
  type PendingSendInfo,
  type Warning,
} from '@custos/client';
import type { CliIo } from '../cli.js';
import { UsageError } from '../command-flags.js';
import { AddressBook } from '../address-book.js';
import { CliFailure, runCommand, type CommandContext } from '../command-runner.js';
import { confirm } from '../confirm-prompt.js';
import { describeEvent, eventJson } from '../message-format.js';
import { PROFILE_FLAGS, PROFILE_OPTIONS_HELP, withProfile } from '../profile-access.js';
import {
  describeWarning,
  pendingSendJson,
  pendingSendText,
  takeWarningsOf,
  warningJson,
} from '../warning-display.js';

const USAGE = `Usage: custos pending
       custos pending --discard [--yes]

Lists the sends this device keeps because the server has not confirmed them (its answer was
lost, or a proxy or the server keeps failing them), oldest first: what, to whom, since when,
and how many tries failed. While one is pending every later send is refused (SEND_BLOCKED).
'custos sync' sends it again, unchanged: the recipient gets it once. Do not send the text
again, that would be a second message.

--discard gives up on the oldest pending send, so that later sends go: use it when the
server keeps failing it. It cannot be undone. The server may have stored it before its
answer was lost, so the recipient may have it: it is recorded (and archived) as possibly
delivered, with a delivery-uncertain warning, never silently dropped. If no try of it can
have reached the server, it is dropped with a delivery-failed warning. In a group, members
the server already accepted it for have it; those after them are delivery-failed. You are
asked first. It prints the warnings the discard recorded and uploads the message's archive
record, if it stored one (best effort: the one use of the network).

  --discard               give up on the oldest pending send (asks first, on the terminal)
  --yes                   with --discard: do not ask
${PROFILE_OPTIONS_HELP}`;

const FLAGS = { ...PROFILE_FLAGS, discard: 'boolean', yes: 'boolean' } as const;

/** What `custos pending` uses of a client (the command opens the profile's; tests pass their own). */
export type PendingClient = Pick<
  CustosClient,
  'pendingSends' | 'discardPendingSend' | 'warnings' | 'settings' | 'uploadArchive' | 'profile' | 'group'
>;

/** What `custos pending` words a pending send with. */
interface PendingWords {
  readonly book: AddressBook;
  readonly groupNameOf: (id: string) => string | undefined;
}

/** The listing for a person: each pending send, oldest first, and what to do about them. */
export function pendingListLines(pending: readonly PendingSendInfo[], w: PendingWords): string[] {
  if (pending.length === 0) return ['No pending sends: nothing holds later sends back.'];
  return [
    `${pending.length} pending send(s), oldest first (every later send waits for the first):`,
    ...pending.map((p) => `  ${pendingSendText(p, w.book, w.groupNameOf)}`),
    "'custos sync' sends them again, unchanged (do not send the text again). If the server keeps",
    "failing the first, 'custos pending --discard' gives up on it (possibly delivered, or dropped).",
  ];
}

/** What a discard did, from what it recorded. */
export interface DiscardOutcome {
  readonly discarded: PendingSendInfo;
  /** The SDK's answer: the message as stored, when any recipient accepted it or may have it. */
  readonly event: MessageEvent | undefined;
  /** The warnings the discard recorded: what became of each recipient it had not finished. */
  readonly warnings: readonly Warning[];
  /** Warnings recorded before the discard and not shown yet. */
  readonly earlier: readonly Warning[];
  /** Whether its archive record was uploaded; undefined when it stored no record. */
  readonly uploaded: boolean | undefined;
  /** What is still pending after it. */
  readonly left: readonly PendingSendInfo[];
}

/**
 * True when the discard recorded the message as possibly delivered to a recipient (a
 * delivery-uncertain warning about someone other than `me`, the sender's own user address).
 * Not "it returned an event": a group send a member accepted returns one although every
 * member after it was only marked delivery-failed. Not any delivery-uncertain warning either:
 * the one about the copy to the sender's own other devices (the sync copy, sent after every
 * recipient) says nothing about the recipients, who may have accepted it for certain.
 */
export function possiblyDelivered(o: DiscardOutcome, me: string): boolean {
  return o.warnings.some((x) => x.kind === 'delivery-uncertain' && x.from !== me);
}

/** True when the copy to the sender's own other devices may or may not have arrived. */
export function ownCopyUncertain(o: DiscardOutcome, me: string): boolean {
  return o.warnings.some((x) => x.kind === 'delivery-uncertain' && x.from === me);
}

/** What a discard did, for a person: the message, who may have it and who does not, its archive record. */
export function discardLines(
  o: DiscardOutcome,
  w: PendingWords & { readonly orgName: string; readonly me: string },
): string[] {
  const what = `Discarded ${pendingSendText(o.discarded, w.book, w.groupNameOf)}`;
  const lines =
    o.event === undefined
      ? [
          `${what}.`,
          'No try of it can have reached the server, so nobody has it: dropped, with delivery-failed warnings.',
        ]
      : [
          `${what}:`,
          `  ${describeEvent(o.event, w.book, { groupNameOf: w.groupNameOf })}`,
          possiblyDelivered(o, w.me)
            ? 'Recorded as possibly delivered (a delivery-uncertain warning): the server may have stored it, so the recipient may have it. Do not send it again unless they say it did not arrive.'
            : 'Stored as sent: the server confirmed it for a recipient, who has it. The delivery-failed warnings name who does not get it (do not send it again to everyone: the others would have it twice).',
        ];
  if (o.event !== undefined && ownCopyUncertain(o, w.me))
    lines.push(
      'The copy to your own other devices may or may not have arrived (a delivery-uncertain warning about you).',
    );
  lines.push(...o.warnings.flatMap((x) => describeWarning(x, w.book).map((l) => `  ${l}`)));
  if (o.earlier.length > 0)
    lines.push(
      'Earlier warnings, not shown before:',
      ...o.earlier.flatMap((x) => describeWarning(x, w.book)),
    );
  if (o.event !== undefined && o.event.archiveSeq !== null)
    lines.push(
      `Archived by ${w.orgName} (record ${o.event.archiveSeq}${o.uploaded === true ? ', uploaded' : ', queued: uploads on the next sync'}).`,
    );
  lines.push(
    o.left.length === 0
      ? 'Nothing else is pending: later sends go again.'
      : `${o.left.length} more pending: later sends still wait ('custos pending' lists them).`,
  );
  return lines;
}

/** `--discard`: asks (unless --yes), then gives up on the oldest pending send — the one shown. */
async function discard(ctx: CommandContext, client: PendingClient, w: PendingWords): Promise<void> {
  const [oldest] = client.pendingSends();
  if (oldest === undefined)
    return ctx.result('No pending sends: nothing to discard.', {
      discarded: null,
      possiblyDelivered: false,
      ownDevicesUncertain: false,
      event: null,
      warnings: [],
      earlierWarnings: [],
      archiveUploaded: null,
      pendingSends: [],
    });
  if (!ctx.flags.has('yes')) {
    const yes = await confirm(
      `Discard ${pendingSendText(oldest, w.book, w.groupNameOf)}? It cannot be undone. If a try of it ` +
        'may have reached the server, the recipient may have it and it is recorded as possibly delivered; ' +
        'otherwise it is dropped (delivery-failed). [y/N] ',
      ctx.io.stdin ?? process.stdin,
      ctx.io.stderr,
      '--yes',
    );
    if (!yes) throw new CliFailure('NOT_DISCARDED', 'nothing discarded: the send stays pending');
  }
  // Only the send shown and asked about: should a send or sync have completed it meanwhile,
  // the SDK refuses (PENDING_CHANGED) instead of giving up on the next one.
  const {
    result: event,
    added,
    earlier,
  } = await takeWarningsOf(client, () => client.discardPendingSend(oldest.id));
  // Upload at once (best effort), as every one-shot command that stores a record does:
  // `custos sync` retries and verifies the receipt.
  let uploaded: boolean | undefined;
  if (event !== undefined && event.archiveSeq !== null)
    uploaded = await client.uploadArchive().then(
      () => true,
      () => false,
    );
  const outcome: DiscardOutcome = {
    discarded: oldest,
    event,
    warnings: added,
    earlier,
    uploaded,
    left: client.pendingSends(),
  };
  const me = userAddress(client.profile);
  ctx.result(discardLines(outcome, { ...w, orgName: client.profile.orgName, me }), {
    discarded: pendingSendJson(oldest),
    possiblyDelivered: possiblyDelivered(outcome, me),
    ownDevicesUncertain: ownCopyUncertain(outcome, me),
    event: event === undefined ? null : eventJson(event, w.book),
    warnings: added.map((x) => warningJson(x, w.book)),
    earlierWarnings: earlier.map((x) => warningJson(x, w.book)),
    archiveUploaded: uploaded ?? null,
    pendingSends: outcome.left.map(pendingSendJson),
  });
}

/** `custos pending [--discard [--yes]]` on an open client. */
async function pendingOn(ctx: CommandContext, client: PendingClient): Promise<void> {
  const w: PendingWords = {
    book: new AddressBook(client.settings),
    groupNameOf: (id) => client.group(id)?.name,
  };
  if (ctx.flags.has('discard')) return discard(ctx, client, w);
  const list = client.pendingSends();
  ctx.result(pendingListLines(list, w), { pendingSends: list.map(pendingSendJson) });
}

async function pending(ctx: CommandContext): Promise<void> {
  if (ctx.flags.has('yes') && !ctx.flags.has('discard')) throw new UsageError('--yes goes with --discard');
  await withProfile(ctx, (client) => pendingOn(ctx, client));
}

const SPEC = { name: 'pending', usage: USAGE, flags: FLAGS, maxPositionals: 0 };

/** Runs `custos pending` on `client` instead of the profile's (its unit tests). */
export function runPendingOn(args: readonly string[], io: CliIo, client: PendingClient): Promise<number> {
  return runCommand(SPEC, args, io, (ctx) => pendingOn(ctx, client));
}

/** Runs `custos pending`. */
export function runPending(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(SPEC, args, io, pending);
}
