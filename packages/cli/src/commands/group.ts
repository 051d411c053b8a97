/**
 * `custos group create|add|remove|leave|rename|list`: groups whose state (name, members,
 * revision) travels only inside encrypted group-update messages; the server sees pairwise
 * envelopes, never the group. Every change is archived like a message.
 */
import type { CustosClient, GroupInfo, MessageEvent, PeerUser } from '@custos/client';
import type { CliIo } from '../cli.js';
import { UsageError } from '../command-flags.js';
import { AddressBook, formatAddress } from '../address-book.js';
import { runCommand, type CommandContext } from '../command-runner.js';
import { resolveGroup } from '../conversation-target.js';
import { PROFILE_FLAGS, PROFILE_OPTIONS_HELP, withProfile } from '../profile-access.js';
import { peerText } from '../terminal-text.js';

const USAGE = `Usage: custos group create NAME MEMBER...
       custos group add GROUP MEMBER...
       custos group remove GROUP MEMBER...
       custos group leave GROUP
       custos group rename GROUP NAME
       custos group list

MEMBER is a contact name or an address USERID@ORGID; GROUP is a group's name or id (g.…).
Group names and members are end-to-end encrypted: the server never learns them.
Send to a group with 'custos send --group GROUP TEXT' or 'custos chat GROUP'.

${PROFILE_OPTIONS_HELP}`;

/** Most positionals: the subcommand, then a group and members. */
const MAX_ARGS = 1 + 1 + 1000;

function groupJson(g: GroupInfo, book: AddressBook): Record<string, unknown> {
  return {
    id: g.id,
    name: g.name,
    revision: g.revision,
    active: g.active,
    members: g.members.map((m) => ({ address: formatAddress(m), name: book.nameOf(m) ?? null })),
  };
}

/** One line for a group: id, name and members by local name (`you` for this profile's user). */
export function groupLine(g: GroupInfo, book: AddressBook, me: PeerUser): string {
  const self = formatAddress(me);
  const members = g.members.map((m) => (formatAddress(m) === self ? 'you' : book.label(m))).join(', ');
  return `${g.id}  "${peerText(g.name)}"  ${g.members.length} members: ${members}${g.active ? '' : '  (left)'}`;
}

async function change(
  ctx: CommandContext,
  client: CustosClient,
  book: AddressBook,
  what: string,
  groupId: string,
  run: () => Promise<MessageEvent>,
): Promise<void> {
  await run();
  await client.uploadArchive().catch(() => undefined);
  const g = client.group(groupId)!;
  ctx.result([`${what}.`, groupLine(g, book, client.me)], groupJson(g, book));
}

/** Subcommands, with the fewest and most arguments after the subcommand and what they are. */
const SUBCOMMANDS: Readonly<Record<string, { min: number; max: number; what: string }>> = {
  list: { min: 0, max: 0, what: 'nothing' },
  create: { min: 2, max: MAX_ARGS, what: 'a NAME and at least one MEMBER' },
  add: { min: 2, max: MAX_ARGS, what: 'a GROUP and at least one MEMBER' },
  remove: { min: 2, max: MAX_ARGS, what: 'a GROUP and at least one MEMBER' },
  leave: { min: 1, max: 1, what: 'a GROUP' },
  rename: { min: 2, max: 2, what: 'a GROUP and the new NAME' },
};

/** Checks the subcommand and its argument count (before the profile is opened and a passphrase asked for). */
function checkArguments(sub: string | undefined, rest: readonly string[]): void {
  const names = Object.keys(SUBCOMMANDS).join(', ');
  const spec = sub === undefined || !Object.hasOwn(SUBCOMMANDS, sub) ? undefined : SUBCOMMANDS[sub];
  if (spec === undefined)
    throw new UsageError(
      sub === undefined
        ? `a subcommand is needed: ${names}`
        : `unknown subcommand '${sub}'; available: ${names}`,
    );
  if (rest.length < spec.min) throw new UsageError(`'group ${sub}' needs ${spec.what}`);
  if (rest.length > spec.max)
    throw new UsageError(
      sub === 'rename' ? 'put a NAME with spaces in quotes' : `unexpected argument '${rest[spec.max]}'`,
    );
}

async function group(ctx: CommandContext): Promise<void> {
  const [sub, ...rest] = ctx.positionals;
  checkArguments(sub, rest);
  await withProfile(ctx, async (client) => {
    const book = new AddressBook(client.settings);
    const members = (names: readonly string[]) => names.map((n) => book.resolve(n));
    switch (sub) {
      case 'list': {
        const groups = client.groups();
        return ctx.result(
          groups.length === 0 ? 'No groups.' : groups.map((g) => groupLine(g, book, client.me)),
          {
            groups: groups.map((g) => groupJson(g, book)),
          },
        );
      }
      case 'create': {
        const g = await client.createGroup(rest[0]!, members(rest.slice(1)));
        await client.uploadArchive().catch(() => undefined);
        return ctx.result(
          [`Created group "${peerText(g.name)}".`, groupLine(g, book, client.me)],
          groupJson(g, book),
        );
      }
      case 'add':
      case 'remove': {
        const g = resolveGroup(client, rest[0]!);
        const who = members(rest.slice(1));
        return change(ctx, client, book, sub === 'add' ? 'Added' : 'Removed', g.id, () =>
          sub === 'add' ? client.addGroupMembers(g.id, who) : client.removeGroupMembers(g.id, who),
        );
      }
      case 'leave': {
        const g = resolveGroup(client, rest[0]!);
        return change(ctx, client, book, `Left "${peerText(g.name)}"`, g.id, () => client.leaveGroup(g.id));
      }
      case 'rename': {
        const g = resolveGroup(client, rest[0]!);
        return change(ctx, client, book, 'Renamed', g.id, () => client.renameGroup(g.id, rest[1]!));
      }
    }
  });
}

/** Runs `custos group …`. */
export function runGroup(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'group', usage: USAGE, flags: PROFILE_FLAGS, maxPositionals: MAX_ARGS },
    args,
    io,
    group,
  );
}
