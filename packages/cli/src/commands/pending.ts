/**
 * `custos pending [--discard [--yes]]`: the sends this device keeps until the server confirms
 * them (client send outbox, docs/client.md §5), and giving up on the oldest. While one is
 * pending every later send is refused (SEND_BLOCKED) and `custos sync` sends it again; when
 * a proxy or the server keeps failing it, the user needs to see what holds the queue and to
 * let later sends go. A discarded send may be at the server already (its answer was lost):
 * the SDK records it as possibly delivered (a delivery-uncertain warning, archived with what
 * may have reached the recipient), never silently dropped — so the user is asked first, and
 * told that the recipient may have it.
 */
import type { CustosClient, MessageEvent, PendingSendInfo } from '@custos/client';
import type { CliIo } from '../cli.js';
import { UsageError } from '../command-flags.js';
import { AddressBook } from '../address-book.js';
import { CliFailure, runCommand, type CommandContext } from '../command-runner.js';
import { confirm } from '../confirm-prompt.js';
import { describeEvent, eventJson } from '../message-format.js';
import { PROFILE_FLAGS, PROFILE_OPTIONS_HELP, withProfile } from '../profile-access.js';
import { pendingSendJson, pendingSendText } from '../warning-display.js';

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
have reached the server, it is dropped with a delivery-failed warning. You are asked first.

  --discard               give up on the oldest pending send (asks first, on the terminal)
  --yes                   with --discard: do not ask
${PROFILE_OPTIONS_HELP}`;

const FLAGS = { ...PROFILE_FLAGS, discard: 'boolean', yes: 'boolean' } as const;

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
    "failing the first, 'custos pending --discard' gives up on it (recorded as possibly delivered).",
  ];
}

/** What discarding `discarded` did, for a person; `event` is the SDK's answer, `left` what is still pending. */
export function discardLines(
  discarded: PendingSendInfo,
  event: MessageEvent | undefined,
  left: readonly PendingSendInfo[],
  w: PendingWords,
): string[] {
  const lines =
    event === undefined
      ? [
          `Discarded ${pendingSendText(discarded, w.book, w.groupNameOf)}.`,
          'No try of it can have reached the server, so nobody has it: dropped, with a delivery-failed warning.',
        ]
      : [
          `Discarded ${pendingSendText(discarded, w.book, w.groupNameOf)}:`,
          `  ${describeEvent(event, w.book, { groupNameOf: w.groupNameOf })}`,
          'Recorded as possibly delivered (a delivery-uncertain warning): the server may have stored it,',
          'so the recipient may have it. Do not send it again unless they say it did not arrive.',
        ];
  lines.push(
    left.length === 0
      ? 'Nothing else is pending: later sends go again.'
      : `${left.length} more pending: later sends still wait ('custos pending' lists them).`,
  );
  return lines;
}

/** The same send, as far as a listing can tell (it carries no message id). */
function sameSend(a: PendingSendInfo, b: PendingSendInfo | undefined): boolean {
  return b !== undefined && a.conversation === b.conversation && a.kind === b.kind && a.since === b.since;
}

/** `--discard`: asks (unless --yes), then gives up on the oldest pending send. */
async function discard(ctx: CommandContext, client: CustosClient, w: PendingWords): Promise<void> {
  const [oldest] = client.pendingSends();
  if (oldest === undefined)
    return ctx.result('No pending sends: nothing to discard.', {
      discarded: null,
      possiblyDelivered: false,
      event: null,
      pendingSends: [],
    });
  if (!ctx.flags.has('yes')) {
    const yes = await confirm(
      `Discard ${pendingSendText(oldest, w.book, w.groupNameOf)}? It cannot be undone; if the server ` +
        'stored it, the recipient has it, and it is recorded as possibly delivered. [y/N] ',
      process.stdin,
      ctx.io.stderr,
      '--yes',
    );
    if (!yes) throw new CliFailure('NOT_DISCARDED', 'nothing discarded: the send stays pending');
    // Another process on this profile (a `custos chat`) may have completed it while the user
    // was asked: discarding the oldest now would give up on a send the user never saw.
    if (!sameSend(oldest, client.pendingSends()[0]))
      throw new CliFailure(
        'PENDING_CHANGED',
        "the pending sends changed while you were asked (another command sent or discarded one): nothing discarded; run 'custos pending' again",
      );
  }
  const event = await client.discardPendingSend();
  const left = client.pendingSends();
  ctx.result(discardLines(oldest, event, left, w), {
    discarded: pendingSendJson(oldest),
    possiblyDelivered: event !== undefined,
    event: event === undefined ? null : eventJson(event, w.book),
    pendingSends: left.map(pendingSendJson),
  });
}

async function pending(ctx: CommandContext): Promise<void> {
  if (ctx.flags.has('yes') && !ctx.flags.has('discard')) throw new UsageError('--yes goes with --discard');
  await withProfile(ctx, async (client) => {
    const w: PendingWords = {
      book: new AddressBook(client.settings),
      groupNameOf: (id) => client.group(id)?.name,
    };
    if (ctx.flags.has('discard')) return discard(ctx, client, w);
    const list = client.pendingSends();
    ctx.result(pendingListLines(list, w), { pendingSends: list.map(pendingSendJson) });
  });
}

/** Runs `custos pending`. */
export function runPending(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({ name: 'pending', usage: USAGE, flags: FLAGS, maxPositionals: 0 }, args, io, pending);
}
