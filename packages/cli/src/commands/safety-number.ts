/**
 * `custos safety-number USER [--accept]`: the safety numbers of your sessions with USER's
 * devices (compare them in person; equal numbers mean no one sits in between), a clear
 * warning when a device's identity key changed, and accepting the new key after checking.
 */
import type { CustosClient, PeerUser, PresentedIdentity } from '@custos/client';
import type { CliIo } from '../cli.js';
import { UsageError } from '../command-flags.js';
import { AddressBook } from '../address-book.js';
import { runCommand, type CommandContext } from '../command-runner.js';
import { PROFILE_FLAGS, PROFILE_OPTIONS_HELP, withProfile } from '../profile-access.js';

/** Digits per group when a safety number is shown (as Signal: 12 groups of 5). */
const GROUP = 5;

const USAGE = `Usage: custos safety-number USER [--accept]

Shows the safety number of your session with each device of USER (a contact name or
USERID@ORGID). Read it to each other in person or on a call: the same number on both sides
means the conversation is end-to-end encrypted between you and nobody else.
When a device of USER presents a new identity key, its messages are refused and this
command shows the new safety number; after you compared it, --accept trusts the new key.

  --accept                accept the changed identity key(s) of USER's devices
${PROFILE_OPTIONS_HELP}`;

const FLAGS = { ...PROFILE_FLAGS, accept: 'boolean' } as const;

/** `12345 67890 …` */
export function groupDigits(n: string): string {
  return (n.match(new RegExp(`.{1,${GROUP}}`, 'g')) ?? []).join(' ');
}

async function changed(client: CustosClient, peer: PeerUser): Promise<PresentedIdentity[]> {
  const pending = new Set(
    client
      .pendingIdentityChanges()
      .filter((c) => c.peer.orgId === peer.orgId && c.peer.userId === peer.userId)
      .map((c) => c.deviceNumber),
  );
  if (pending.size === 0) return [];
  return (await client.presentedIdentities(peer)).filter(
    (p) => p.status === 'changed' && pending.has(p.deviceNumber),
  );
}

async function safetyNumber(ctx: CommandContext): Promise<void> {
  const [who] = ctx.positionals;
  if (who === undefined) throw new UsageError('USER is missing');
  await withProfile(ctx, async (client) => {
    const book = new AddressBook(client.settings);
    const peer = book.resolve(who);
    const label = book.label(peer);
    const current = await client.safetyNumbers(peer);
    const changes = await changed(client, peer);
    const lines: string[] = [];
    const accepted: number[] = [];
    if (current.length === 0 && changes.length === 0)
      lines.push(`No session with ${label} yet: exchange a message first, then compare safety numbers.`);
    for (const s of current) lines.push(`Device ${s.deviceId}: ${groupDigits(s.safetyNumber)}`);
    for (const c of changes) {
      if (ctx.flags.has('accept')) {
        client.acceptIdentity(peer, c.deviceNumber, c.identityKey);
        accepted.push(c.deviceNumber);
        lines.push(
          `Accepted the new identity key of ${label}'s device ${c.deviceId}: ${groupDigits(c.safetyNumber)}`,
        );
      } else
        lines.push(
          `WARNING: ${label}'s device ${c.deviceId} presents a NEW identity key; its messages are refused.`,
          `  New safety number: ${groupDigits(c.safetyNumber)}`,
          `  Compare it with ${label} in person. If it matches: custos safety-number ${who} --accept`,
        );
    }
    if (ctx.flags.has('accept') && changes.length === 0)
      lines.push(`No changed identity key of ${label} to accept.`);
    ctx.result(lines, {
      peer: label,
      safetyNumbers: current,
      changed: changes.map((c) => ({ deviceId: c.deviceId, safetyNumber: c.safetyNumber })),
      accepted,
    });
  });
}

/** Runs `custos safety-number`. */
export function runSafetyNumber(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'safety-number', usage: USAGE, flags: FLAGS, maxPositionals: 1 },
    args,
    io,
    safetyNumber,
  );
}
