/**
 * `custos contacts [add NAME ADDRESS | remove NAME]`: the profile's own address book. Names
 * stay in the encrypted profile and never reach the server. The listing also shows people
 * this device has exchanged messages with but has no name for.
 */
import type { CliIo } from '../cli.js';
import { UsageError } from '../command-flags.js';
import { AddressBook, formatAddress, parseAddress } from '../address-book.js';
import { CliFailure, runCommand, type CommandContext } from '../command-runner.js';
import { PROFILE_FLAGS, PROFILE_OPTIONS_HELP, withProfile } from '../profile-access.js';
import { peerText } from '../terminal-text.js';

const USAGE = `Usage: custos contacts                       list your address book
       custos contacts add NAME ADDRESS      name a user (ADDRESS is USERID@ORGID)
       custos contacts remove NAME           forget a name (messages stay)

Users are addressed as USERID@ORGID: the server stores no names, so each profile keeps its
own names, encrypted. Ask the person (their 'custos enroll' printed it) or your administrator
('custos admin invite' prints it) for an address.

${PROFILE_OPTIONS_HELP}`;

async function contacts(ctx: CommandContext): Promise<void> {
  const [sub, ...rest] = ctx.positionals;
  // Command-line mistakes are reported before the profile is opened (and a passphrase asked for).
  if (sub !== undefined && sub !== 'add' && sub !== 'remove')
    throw new UsageError(`unknown subcommand '${sub}'; available: add, remove`);
  if (sub === 'add' && rest.length !== 2) throw new UsageError('give NAME and ADDRESS');
  if (sub === 'remove' && rest.length !== 1) throw new UsageError('give one NAME');
  const [name, address] = rest as [string, string | undefined];
  const peer = address === undefined ? undefined : parseAddress(address);
  if (address !== undefined && peer === undefined)
    throw new CliFailure(
      'ADDRESS_INVALID',
      `'${address}' is not an address: it looks like USERID@ORGID (two 22-character ids)`,
    );
  await withProfile(ctx, async (client) => {
    const book = new AddressBook(client.settings);
    if (peer !== undefined) {
      const e = book.add(name, peer);
      return ctx.result(`Added ${e.name}: ${e.address}`, e);
    }
    if (sub === 'remove') {
      const e = book.remove(name);
      return ctx.result(`Removed ${e.name} (${e.address}).`, e);
    }
    const named = book.list();
    const seen = new Set(named.map((e) => e.address));
    // People this device knows (from messages and groups) without a name in the book, with
    // the display name they claim for themselves (unverified: anyone can claim any name).
    const unnamed: { address: string; claimedName: string | null }[] = [];
    const me = formatAddress(client.me);
    for (const c of client.contacts()) {
      const a = formatAddress(c.user);
      if (!seen.has(a) && a !== me) {
        seen.add(a);
        unnamed.push({ address: a, claimedName: c.name ?? null });
      }
    }
    ctx.result(
      [
        `You: ${me}`,
        ...(named.length === 0
          ? ['No contacts yet.']
          : named.map((e) => `${e.name.padEnd(20)} ${e.address}`)),
        ...unnamed.map(
          (u) =>
            `${'(no name)'.padEnd(20)} ${u.address}${u.claimedName === null ? '' : `  calls themself "${peerText(u.claimedName)}"`}`,
        ),
      ],
      { me, contacts: named, unnamed },
    );
  });
}

/** Runs `custos contacts`. */
export function runContacts(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'contacts', usage: USAGE, flags: PROFILE_FLAGS, maxPositionals: 3 },
    args,
    io,
    contacts,
  );
}
