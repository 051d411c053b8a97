/**
 * `custos admin invite|code|users|devices|revoke|roles|set-retention`: administration from a profile whose user has
 * the admin role. The server knows users by id only; `invite --user NAME` keeps NAME in the
 * admin's own encrypted address book, never on the server.
 */
import {
  RETENTION_CLASSES,
  USER_ROLES,
  type IssuedCode,
  type OrgUser,
  type RetentionClass,
  type UserRole,
} from '@custos/client';
import type { CliIo } from '../cli.js';
import { optionalString, requireString, UsageError } from '../command-flags.js';
import { AddressBook, checkContactName, formatAddress } from '../address-book.js';
import { CliFailure, runSubcommands, type CommandContext, type Subcommand } from '../command-runner.js';
import { handInWindowJson, handInWindowText } from '../hand-in-text.js';
import { formatTime } from '../message-format.js';
import { writeNamesFile } from '../names-file.js';
import { PROFILE_FLAGS, PROFILE_OPTIONS_HELP, withProfile } from '../profile-access.js';

/** The class of a role no admin has given one (the server's default). */
const DEFAULT_CLASS = 'standard';

const USAGE = `Usage: custos admin invite --user NAME [--role member|officer|admin|auditor] [--retention CLASS]
       custos admin code NAME|ADDRESS
       custos admin users [--names-out FILE]
       custos admin devices [--user NAME|ADDRESS]
       custos admin revoke DEVICE [--allow-hand-in]
       custos admin roles [set-retention ROLE CLASS]
       custos admin set-retention NAME|ADDRESS CLASS|role
       (each also takes --profile DIR, --passphrase-file FILE, --json)

For a profile whose user has the admin role.
  invite                  creates a user, prints a one-time enrolment code (hand it over in person
                          or on a trusted channel) and the user's address; NAME goes into your
                          address book only
  code                    a new one-time enrolment code for an existing user: their code expired
                          unused, or they lost or had revoked their only device (same user, address
                          and role). Refused for a user with an active device (USER_HAS_DEVICE), so
                          no admin can add a device to someone unseen: they link more with 'custos
                          devices link'; if their device is lost, revoke it first ('custos admin
                          revoke DEVICE')
  users                   the organisation's users (ids, roles, retention classes — '(role)' when
                          the class is the role's; your names for them); --names-out FILE also
                          writes your names for them and the organisation's name as a names file
                          (mode 0600) for records officers'
                          'custos console export|search --names FILE' (docs/officers.md)
  devices                 the organisation's devices, or one user's
  revoke                  revokes a device (its id, or a unique prefix of it): it can no longer log
                          in (users revoke their own other devices themselves: 'custos devices
                          revoke'); --allow-hand-in lets it still upload the archive records it
                          sealed before, for the server's hand-in window (only for a device you
                          know is not lost or stolen)
  roles                   each role's retention class (${DEFAULT_CLASS} until set);
                          'set-retention ROLE CLASS' sets it: users of the role without their own
                          class follow it at once
  set-retention           gives a user their own class (it overrides the role's), or 'role' to make
                          them follow their role's class again

  --user NAME             invite: the name you will use for the new user (local only)
  --role ROLE             invite: ${USER_ROLES.join(', ')} (default member)
  --retention CLASS       invite: ${RETENTION_CLASSES.join(', ')} (default: the role's class)
${PROFILE_OPTIONS_HELP}
Classes: transitory (180 days), standard (7 years), permanent. Devices seal to buckets of
their user's class from their next key refresh; records already sealed keep their class.
`;

const FLAGS = {
  ...PROFILE_FLAGS,
  user: 'string',
  role: 'string',
  retention: 'string',
  'names-out': 'string',
  'allow-hand-in': 'boolean',
} as const;

function oneOf<T extends string>(ctx: CommandContext, flag: string, allowed: readonly T[], dflt: T): T {
  const v = optionalString(ctx.flags, flag) ?? dflt;
  return checkOneOf(`--${flag}`, v, allowed);
}

function checkOneOf<T extends string>(what: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v))
    throw new UsageError(`${what} must be one of ${allowed.join(', ')} (not '${v}')`);
  return v as T;
}

function onlyFlags(ctx: CommandContext, sub: string, allowed: readonly string[]): void {
  for (const f of ['user', 'role', 'retention', 'names-out', 'allow-hand-in'])
    if (ctx.flags.has(f) && !allowed.includes(f))
      throw new UsageError(`--${f} does not apply to 'admin ${sub}'`);
}

/** The lines that hand a code over: where it goes, and the command the user runs with it. */
function codeLines(name: string, role: UserRole, code: IssuedCode, server: string): string[] {
  return [
    `Enrolment code (one use, expires ${formatTime(code.expiresAt)} UTC; hand it to ${name} on a trusted channel):`,
    `  ${code.enrolmentCode}`,
    ...(role === 'officer'
      ? [
          // An officer's code enrols the console device of their officer profile (docs/officers.md §2).
          `${name} enrols the officer device of their officer profile (officers/officer-K from the ceremony) with:`,
          `  custos console enroll ${code.enrolmentCode} --profile officers/officer-K`,
        ]
      : [`${name} enrols with:`, `  custos enroll ${code.enrolmentCode} --server ${server}`]),
  ];
}

async function invite(ctx: CommandContext): Promise<void> {
  onlyFlags(ctx, 'invite', ['user', 'role', 'retention']);
  const name = checkContactName(requireString(ctx.flags, 'user'));
  const role = oneOf<UserRole>(ctx, 'role', USER_ROLES, 'member');
  const given = optionalString(ctx.flags, 'retention');
  const retentionClass =
    given === undefined ? undefined : checkOneOf<RetentionClass>('--retention', given, RETENTION_CLASSES);
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
        `Created ${role} '${name}': address ${address} (retention ${describeRetention(user)}).`,
        ...codeLines(name, role, code, server),
      ],
      {
        name,
        userId: user.userId,
        address,
        role: user.role,
        retentionClass: user.retentionClass,
        retentionSource: user.retentionSource,
        enrolmentCode: code.enrolmentCode,
        expiresAt: code.expiresAt,
        server,
      },
    );
  });
}

async function code(ctx: CommandContext): Promise<void> {
  onlyFlags(ctx, 'code', []);
  const [who] = ctx.positionals;
  if (who === undefined)
    throw new UsageError("the user is missing: give their name or address ('custos admin users' lists them)");
  await withProfile(ctx, async (client) => {
    const book = new AddressBook(client.settings);
    const peer = book.resolve(who);
    if (peer.orgId !== client.profile.orgId)
      throw new CliFailure('WRONG_ORG', `${who} is in another organisation: you administer only your own`);
    const admin = client.admin();
    // The role decides which enrol line to print; an unknown user is refused before a code exists.
    const user = (await admin.users()).find((u) => u.userId === peer.userId);
    if (user === undefined)
      throw new CliFailure(
        'USER_NOT_FOUND',
        `the server knows no user ${formatAddress(peer)}: check the address`,
      );
    const issued = await admin.issueEnrolmentCode(peer.userId);
    const name = book.label(peer);
    const server = client.profile.serverUrl;
    ctx.result(
      [
        `New enrolment code for ${user.role} ${name} (${formatAddress(peer)}).`,
        ...codeLines(name, user.role, issued, server),
      ],
      {
        userId: peer.userId,
        address: formatAddress(peer),
        role: user.role,
        enrolmentCode: issued.enrolmentCode,
        expiresAt: issued.expiresAt,
        server,
      },
    );
  });
}

async function users(ctx: CommandContext): Promise<void> {
  onlyFlags(ctx, 'users', ['names-out']);
  const namesOut = optionalString(ctx.flags, 'names-out');
  await withProfile(ctx, async (client) => {
    const book = new AddressBook(client.settings);
    const list = (await client.admin().users()).map((u) => {
      const peer = { orgId: client.profile.orgId, userId: u.userId };
      return { ...u, address: formatAddress(peer), name: book.nameOf(peer) ?? null };
    });
    // Only the organisation's users the server lists, named as this admin's book names them.
    const named = list.flatMap((u) => (u.name === null ? [] : [[u.userId, u.name] as const]));
    if (namesOut !== undefined)
      writeNamesFile(namesOut, {
        org: { id: client.profile.orgId, name: client.profile.orgName },
        users: new Map(named),
      });
    ctx.result(
      [
        ...(list.length === 0
          ? ['No users.']
          : list.map(
              (u) =>
                `${u.address}  ${u.role.padEnd(7)}  ${describeRetention(u).padEnd(17)}  ${u.name ?? '-'}`,
            )),
        ...(namesOut === undefined
          ? []
          : [
              `Wrote the names of ${named.length} of ${list.length} user(s) and of ${client.profile.orgName} to ${namesOut} (mode 0600): hand it to records officers for 'custos console export --names'.`,
            ]),
      ],
      { users: list, ...(namesOut === undefined ? {} : { namesOut, namesWritten: named.length }) },
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
  onlyFlags(ctx, 'revoke', ['allow-hand-in']);
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
    // What the server granted, not what was asked: with archiveHandInDays 0 it grants no window.
    const { revokedAt, handInUntil } = await admin.revokeDevice(d.deviceId, {
      allowHandIn: ctx.flags.has('allow-hand-in'),
    });
    ctx.result(
      `Revoked device ${d.deviceId} (#${d.deviceNumber} of ${formatAddress({ orgId: client.profile.orgId, userId: d.userId })}): ${handInWindowText(handInUntil)}`,
      { deviceId: d.deviceId, revokedAt, ...handInWindowJson(handInUntil) },
    );
  });
}

/** A user's effective class, marked when it is their role's. */
function describeRetention(u: OrgUser): string {
  return u.retentionSource === 'role' ? `${u.retentionClass} (role)` : u.retentionClass;
}

async function roles(ctx: CommandContext): Promise<void> {
  onlyFlags(ctx, 'roles', []);
  const [verb, ...rest] = ctx.positionals;
  if (verb !== undefined && verb !== 'set-retention')
    throw new UsageError(`unknown 'admin roles' action '${verb}': the only one is set-retention`);
  if (verb !== undefined && rest.length !== 2)
    throw new UsageError("'admin roles set-retention' takes a ROLE and a CLASS");
  const change =
    verb === undefined
      ? undefined
      : {
          role: checkOneOf<UserRole>('ROLE', rest[0]!, USER_ROLES),
          retentionClass: checkOneOf<RetentionClass>('CLASS', rest[1]!, RETENTION_CLASSES),
        };
  await withProfile(ctx, async (client) => {
    const admin = client.admin();
    if (change !== undefined) {
      const set = await admin.setRoleRetention(change.role, change.retentionClass);
      ctx.result(
        `Role ${set.role} now has retention class ${set.retentionClass}: ${set.usersFollowing} user(s) follow it.`,
        set,
      );
      return;
    }
    const list = await admin.roles();
    ctx.result(
      list.map(
        (r) =>
          `${r.role.padEnd(7)}  ${r.retentionClass.padEnd(10)}  ${r.setAt === null ? '(default)' : `set ${formatTime(r.setAt)}`}`,
      ),
      { roles: list },
    );
  });
}

async function setRetention(ctx: CommandContext): Promise<void> {
  onlyFlags(ctx, 'set-retention', []);
  const [who, cls] = ctx.positionals;
  if (who === undefined || cls === undefined)
    throw new UsageError("'admin set-retention' takes a user (name or address) and a CLASS or 'role'");
  const retention = checkOneOf<RetentionClass | 'role'>('CLASS', cls, [...RETENTION_CLASSES, 'role']);
  await withProfile(ctx, async (client) => {
    const book = new AddressBook(client.settings);
    const peer = book.resolve(who);
    if (peer.orgId !== client.profile.orgId)
      throw new CliFailure('WRONG_ORG', `${who} is in another organisation: you administer only your own`);
    const u = await client.admin().setUserRetention(peer.userId, retention);
    ctx.result(`${book.label(peer)}: retention ${describeRetention(u)}.`, {
      ...u,
      address: formatAddress(peer),
    });
  });
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  invite: { max: 0, run: invite },
  code: { max: 1, run: code },
  users: { max: 0, run: users },
  devices: { max: 0, run: devices },
  revoke: { max: 1, run: revoke },
  roles: { max: 3, run: roles },
  'set-retention': { max: 2, run: setRetention },
};

/** Runs `custos admin …`. */
export function runAdmin(args: readonly string[], io: CliIo): Promise<number> {
  return runSubcommands({ name: 'admin', usage: USAGE, flags: FLAGS }, SUBCOMMANDS, args, io);
}
