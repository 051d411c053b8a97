/**
 * `custos admin invite|users|devices|revoke`: administration from a profile whose user has
 * the admin role. The server knows users by id only; `invite --user NAME` keeps NAME in the
 * admin's own encrypted address book, never on the server.
 */
import { RETENTION_CLASSES, USER_ROLES, type RetentionClass, type UserRole } from '@custos/client';
import type { CliIo } from '../cli.js';
import { optionalString, requireString, UsageError } from '../command-flags.js';
import { AddressBook, checkContactName, formatAddress } from '../address-book.js';
import { CliFailure, runSubcommands, type CommandContext, type Subcommand } from '../command-runner.js';
import { formatTime } from '../message-format.js';
import { PROFILE_FLAGS, PROFILE_OPTIONS_HELP, withProfile } from '../profile-access.js';

const USAGE = `Usage: custos admin invite --user NAME [--role member|officer|admin|auditor] [--retention CLASS]
       custos admin users
       custos admin devices [--user NAME|ADDRESS]
       custos admin revoke DEVICE
       (each also takes --profile DIR, --passphrase-file FILE, --json)

For a profile whose user has the admin role.
  invite    creates a user, prints a one-time enrolment code (hand it over in person or on a
            trusted channel) and the user's address; NAME goes into your address book only
  users     the organisation's users (ids, roles, retention classes; your names for them)
  devices   the organisation's devices, or one user's
  revoke    revokes a device (its id, or a unique prefix of it): it can no longer log in
            (users revoke their own other devices themselves: 'custos devices revoke')

  --user NAME             invite: the name you will use for the new user (local only)
  --role ROLE             invite: ${USER_ROLES.join(', ')} (default member)
  --retention CLASS       invite: ${RETENTION_CLASSES.join(', ')} (default standard)
${PROFILE_OPTIONS_HELP}`;

const FLAGS = { ...PROFILE_FLAGS, user: 'string', role: 'string', retention: 'string' } as const;

function oneOf<T extends string>(ctx: CommandContext, flag: string, allowed: readonly T[], dflt: T): T {
  const v = optionalString(ctx.flags, flag) ?? dflt;
  if (!(allowed as readonly string[]).includes(v))
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}`);
  return v as T;
}

function onlyFlags(ctx: CommandContext, sub: string, allowed: readonly string[]): void {
  for (const f of ['user', 'role', 'retention'])
    if (ctx.flags.has(f) && !allowed.includes(f))
      throw new UsageError(`--${f} does not apply to 'admin ${sub}'`);
}

async function invite(ctx: CommandContext): Promise<void> {
  onlyFlags(ctx, 'invite', ['user', 'role', 'retention']);
  const name = checkContactName(requireString(ctx.flags, 'user'));
  const role = oneOf<UserRole>(ctx, 'role', USER_ROLES, 'member');
  const retentionClass = oneOf<RetentionClass>(ctx, 'retention', RETENTION_CLASSES, 'standard');
  await withProfile(ctx, async (client) => {
    const book = new AddressBook(client.settings);
    // Refuse a taken name before the server creates a user nobody can name.
    if (book.list().some((e) => e.name.toLocaleLowerCase() === name.toLocaleLowerCase()))
      throw new CliFailure(
        'CONTACT_NAME_TAKEN',
        `the name '${name}' is already in your address book: choose another`,
      );
    const admin = client.admin();
    const user = await admin.createUser(role, retentionClass);
    const code = await admin.issueEnrolmentCode(user.userId);
    const peer = { orgId: client.profile.orgId, userId: user.userId };
    book.add(name, peer);
    const address = formatAddress(peer);
    const server = client.profile.serverUrl;
    ctx.result(
      [
        `Created ${role} '${name}': address ${address} (retention ${retentionClass}).`,
        `Enrolment code (one use, expires ${formatTime(code.expiresAt)} UTC; hand it to ${name} on a trusted channel):`,
        `  ${code.enrolmentCode}`,
        `${name} enrols with:`,
        `  custos enroll ${code.enrolmentCode} --server ${server}`,
      ],
      {
        name,
        userId: user.userId,
        address,
        role: user.role,
        retentionClass: user.retentionClass,
        enrolmentCode: code.enrolmentCode,
        expiresAt: code.expiresAt,
        server,
      },
    );
  });
}

async function users(ctx: CommandContext): Promise<void> {
  onlyFlags(ctx, 'users', []);
  await withProfile(ctx, async (client) => {
    const book = new AddressBook(client.settings);
    const list = (await client.admin().users()).map((u) => {
      const peer = { orgId: client.profile.orgId, userId: u.userId };
      return { ...u, address: formatAddress(peer), name: book.nameOf(peer) ?? null };
    });
    ctx.result(
      list.length === 0
        ? 'No users.'
        : list.map(
            (u) => `${u.address}  ${u.role.padEnd(7)}  ${u.retentionClass.padEnd(10)}  ${u.name ?? '-'}`,
          ),
      { users: list },
    );
  });
}

async function devices(ctx: CommandContext): Promise<void> {
  onlyFlags(ctx, 'devices', ['user']);
  await withProfile(ctx, async (client) => {
    const book = new AddressBook(client.settings);
    const who = optionalString(ctx.flags, 'user');
    const user = who === undefined ? undefined : book.resolve(who);
    if (user !== undefined && user.orgId !== client.profile.orgId)
      throw new CliFailure('WRONG_ORG', `${who} is in another organisation: you can list only your own`);
    const list = await client.admin().devices(user?.userId);
    const rows = list.map((d) => {
      const peer = { orgId: client.profile.orgId, userId: d.userId };
      return { ...d, address: formatAddress(peer), name: book.nameOf(peer) ?? null };
    });
    ctx.result(
      rows.length === 0
        ? 'No devices.'
        : rows.map(
            (d) =>
              `${d.deviceId}  #${d.deviceNumber}  ${d.name ?? d.address}  enrolled ${formatTime(d.createdAt)}${d.revokedAt === null ? '' : `  REVOKED ${formatTime(d.revokedAt)}`}`,
          ),
      { devices: rows },
    );
  });
}

async function revoke(ctx: CommandContext): Promise<void> {
  onlyFlags(ctx, 'revoke', []);
  const [target] = ctx.positionals;
  if (target === undefined)
    throw new UsageError("the device id is missing ('custos admin devices' lists them)");
  await withProfile(ctx, async (client) => {
    const admin = client.admin();
    const hits = (await admin.devices()).filter((d) => d.deviceId.startsWith(target));
    if (hits.length !== 1)
      throw new CliFailure(
        hits.length === 0 ? 'DEVICE_NOT_FOUND' : 'DEVICE_AMBIGUOUS',
        hits.length === 0
          ? `no device '${target}': list them with 'custos admin devices'`
          : `'${target}' matches ${hits.length} devices: give more of the id`,
      );
    const d = hits[0]!;
    if (d.deviceId === client.profile.deviceId)
      throw new CliFailure('REVOKE_SELF', 'that is this device: revoke it from another admin device');
    const at = await admin.revokeDevice(d.deviceId);
    ctx.result(
      `Revoked device ${d.deviceId} (#${d.deviceNumber} of ${formatAddress({ orgId: client.profile.orgId, userId: d.userId })}).`,
      {
        deviceId: d.deviceId,
        revokedAt: at,
      },
    );
  });
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  invite: { max: 0, run: invite },
  users: { max: 0, run: users },
  devices: { max: 0, run: devices },
  revoke: { max: 1, run: revoke },
};

/** Runs `custos admin …`. */
export function runAdmin(args: readonly string[], io: CliIo): Promise<number> {
  return runSubcommands({ name: 'admin', usage: USAGE, flags: FLAGS }, SUBCOMMANDS, args, io);
}
