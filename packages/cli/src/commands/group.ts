/**
 * `custos group create|add|remove|leave|rename|list`: groups whose state (name, members,
 * revision) travels only inside encrypted group-update messages; the server sees pairwise
 * envelopes, never the group. Every change is archived like a message.
 */
import type { CustosClient, GroupInfo, MessageEvent } from '@custos/client';
import type { CliIo } from '../cli.js';
import { UsageError } from '../command-flags.js';
import { AddressBook, formatAddress } from '../address-book.js';
import { runCommand, type CommandContext } from '../command-runner.js';
import { resolveGroup } from '../conversation-target.js';
import { PROFILE_FLAGS, PROFILE_OPTIONS_HELP, withProfile } from '../profile-access.js';

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

function groupLine(g: GroupInfo, book: AddressBook): string {
  const members = g.members.map((m) => book.label(m)).join(', ');
  return `${g.id}  "${g.name}"  ${g.members.length} members: ${members}${g.active ? '' : '  (left)'}`;
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
  ctx.result([`${what}.`, groupLine(g, book)], groupJson(g, book));
}

async function group(ctx: CommandContext): Promise<void> {
  const [sub, ...rest] = ctx.positionals;
  const needs = (n: number, what: string): void => {
    if (rest.length < n) throw new UsageError(`'group ${sub}' needs ${what}`);
  };
  await withProfile(ctx, async (client) => {
    const book = new AddressBook(client.settings);
    const members = (names: readonly string[]) => names.map((n) => book.resolve(n));
    switch (sub) {
      case 'list': {
        if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
        const groups = client.groups();
        return ctx.result(groups.length === 0 ? 'No groups.' : groups.map((g) => groupLine(g, book)), {
          groups: groups.map((g) => groupJson(g, book)),
        });
      }
      case 'create': {
        needs(2, 'a NAME and at least one MEMBER');
        const g = await client.createGroup(rest[0]!, members(rest.slice(1)));
        await client.uploadArchive().catch(() => undefined);
        return ctx.result([`Created group "${g.name}".`, groupLine(g, book)], groupJson(g, book));
      }
      case 'add':
      case 'remove': {
        needs(2, 'a GROUP and at least one MEMBER');
        const g = resolveGroup(client, rest[0]!);
        const who = members(rest.slice(1));
        return change(ctx, client, book, sub === 'add' ? 'Added' : 'Removed', g.id, () =>
          sub === 'add' ? client.addGroupMembers(g.id, who) : client.removeGroupMembers(g.id, who),
        );
      }
      case 'leave': {
        needs(1, 'a GROUP');
        if (rest.length > 1) throw new UsageError(`unexpected argument '${rest[1]}'`);
        const g = resolveGroup(client, rest[0]!);
        return change(ctx, client, book, `Left "${g.name}"`, g.id, () => client.leaveGroup(g.id));
      }
      case 'rename': {
        needs(2, 'a GROUP and the new NAME');
        if (rest.length > 2) throw new UsageError('put a NAME with spaces in quotes');
        const g = resolveGroup(client, rest[0]!);
        return change(ctx, client, book, 'Renamed', g.id, () => client.renameGroup(g.id, rest[1]!));
      }
      default:
        throw new UsageError(
          sub === undefined
            ? 'a subcommand is needed: create, add, remove, leave, rename, list'
            : `unknown subcommand '${sub}'; available: create, add, remove, leave, rename, list`,
        );
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
