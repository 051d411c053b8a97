/**
 * `custos enroll`: enrols this machine as a new device, with an administrator's one-time
 * code or a link code from another of the user's devices, or as the organisation's first
 * admin from the ceremony's admin/profile.json. The retention class comes from the server
 * (`GET /v1/session`), never from the command line. A failed enrolment removes what it
 * created, so the same command can simply be rerun.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CustosClient, isClientError, STORAGE_KEY_FILE, type StorageKeyProtection } from '@custos/client';
import { MIN_PASSPHRASE_LENGTH } from '@custos/core';
import type { CliIo } from '../cli.js';
import { optionalString, requireString, UsageError } from '../command-flags.js';
import { formatAddress } from '../address-book.js';
import { CliFailure, runCommand, type CommandContext } from '../command-runner.js';
import { PASSPHRASE_FILE_ENV, promptNewPassphrase } from '../passphrase-input.js';
import { identityKeyFingerprint } from './devices.js';
import {
  DEFAULT_PROFILE_DIR,
  hasProfile,
  passphraseFromFile,
  PROFILE_ENV,
  PROFILE_FLAGS,
  profileDir,
} from '../profile-access.js';

/** Largest admin profile file read. */
const MAX_ADMIN_PROFILE_BYTES = 64 * 1024;

const USAGE = `Usage: custos enroll CODE --server URL [--name DISPLAY] [--passphrase-file FILE | --unattended]
                     [--profile DIR] [--json]
       custos enroll --admin-profile PATH [--passphrase-file FILE | --unattended]
                     [--profile DIR] [--json]

Enrols this machine as a new device of your user. CODE is the one-time enrolment code
(ce1.…) an administrator gave you ('custos admin invite', or 'custos admin code' for a new
one), or a link code from another of your devices ('custos devices link' there); it pins
your organisation's signing key, and enrolment stops if the server presents another one.
Your retention class is the one your administrator set: the server tells the device.
With --admin-profile, enrols the organisation's first administrator from the admin/profile.json
that 'custos org create' wrote (it holds the server address and a one-time code).

  CODE                    the enrolment code
  --server URL            the Custos server, e.g. https://custos.example.org
  --admin-profile PATH    enrol the first admin from the ceremony's admin/profile.json
  --name DISPLAY          your display name: end-to-end encrypted inside your messages, so the
                          people you write to learn it; never visible to the server
  --passphrase-file FILE  the new profile's passphrase, from the file's first line
                          (default: $${PASSPHRASE_FILE_ENV}); otherwise it is asked for twice
                          on the terminal (at least ${MIN_PASSPHRASE_LENGTH} characters)
  --unattended            no passphrase: the storage key is protected by file permissions only
                          (for bots and servers of record, on an encrypted disk; docs/client.md §2)
  --profile DIR           the new profile's folder, which must not hold a profile yet
                          (default: $${PROFILE_ENV}, else ${DEFAULT_PROFILE_DIR})
  --json                  machine-readable output on stdout
  --help                  this text

Your address (USERID@ORGID) is printed at the end: give it to the people you talk to.
`;

const FLAGS = {
  ...PROFILE_FLAGS,
  server: 'string',
  name: 'string',
  'admin-profile': 'string',
  unattended: 'boolean',
} as const;

interface AdminProfile {
  readonly server: string;
  readonly orgId: string;
  readonly adminUserId: string;
  readonly enrolmentCode: string;
}

/** Reads the ceremony's admin profile (format custos-admin-profile, version 1). */
export function readAdminProfile(path: string): AdminProfile {
  let v: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    if (text.length > MAX_ADMIN_PROFILE_BYTES) throw new Error('too large');
    v = JSON.parse(text);
  } catch {
    throw new CliFailure(
      'ADMIN_PROFILE_INVALID',
      `cannot read ${path} as JSON: give the admin/profile.json that 'custos org create' wrote`,
    );
  }
  const o = v as Record<string, unknown> | null;
  const fields = ['server', 'orgId', 'adminUserId', 'enrolmentCode'] as const;
  if (
    typeof o !== 'object' ||
    o === null ||
    o.format !== 'custos-admin-profile' ||
    o.version !== 1 ||
    fields.some((f) => typeof o[f] !== 'string')
  )
    throw new CliFailure('ADMIN_PROFILE_INVALID', `${path} is not a version 1 custos-admin-profile file`);
  return o as unknown as AdminProfile;
}

async function protection(ctx: CommandContext, dir: string): Promise<StorageKeyProtection> {
  if (ctx.flags.has('unattended')) {
    if (ctx.flags.has('passphrase-file'))
      throw new UsageError('give --passphrase-file or --unattended, not both');
    return { kind: 'file' };
  }
  const fromFile = passphraseFromFile(ctx);
  const passphrase =
    fromFile ?? (await promptNewPassphrase(`Profile ${dir}`, ctx.io.stderr, MIN_PASSPHRASE_LENGTH));
  if ([...passphrase.normalize('NFKC')].length < MIN_PASSPHRASE_LENGTH)
    throw new CliFailure(
      'PASSPHRASE_TOO_SHORT',
      `the passphrase needs at least ${MIN_PASSPHRASE_LENGTH} characters`,
    );
  return { kind: 'passphrase', passphrase };
}

/** Removes what a failed enrolment created in `dir` (the whole folder if it did not exist before). */
function cleanUp(dir: string, existed: boolean): void {
  if (!existed) return rmSync(dir, { recursive: true, force: true });
  for (const f of ['device.db', 'device.db-wal', 'device.db-shm', 'device.db-journal', STORAGE_KEY_FILE])
    rmSync(join(dir, f), { force: true });
}

async function enroll(ctx: CommandContext): Promise<void> {
  const dir = profileDir(ctx.flags);
  const adminPath = optionalString(ctx.flags, 'admin-profile');
  let serverUrl: string;
  let code: string;
  let expectUser: string | undefined;
  if (adminPath !== undefined) {
    if (ctx.positionals.length > 0) throw new UsageError('give CODE or --admin-profile, not both');
    const admin = readAdminProfile(adminPath);
    serverUrl = optionalString(ctx.flags, 'server') ?? admin.server;
    code = admin.enrolmentCode;
    expectUser = admin.adminUserId;
  } else {
    const [c] = ctx.positionals;
    if (c === undefined)
      throw new UsageError('the enrolment code is missing (custos enroll CODE --server URL)');
    code = c;
    serverUrl = requireString(ctx.flags, 'server');
  }
  if (hasProfile(dir))
    throw new CliFailure(
      'PROFILE_EXISTS',
      `${dir} already holds an enrolled profile: choose another folder with --profile DIR`,
    );
  const displayName = optionalString(ctx.flags, 'name');
  const keyProtection = await protection(ctx, dir);
  const existed = existsSync(dir);
  let client: CustosClient;
  try {
    ctx.note(`Enrolling with ${serverUrl} …`);
    client = await CustosClient.enrol(dir, { serverUrl, code, protection: keyProtection });
  } catch (e) {
    // PROFILE_EXISTS or PROFILE_IN_USE: another process made (or holds) the profile since the
    // check above, and nothing of this run was written. Its files are not this run's to delete.
    if (!isClientError(e, 'PROFILE_EXISTS') && !isClientError(e, 'PROFILE_IN_USE')) cleanUp(dir, existed);
    throw e;
  }
  try {
    const p = client.profile;
    if (displayName !== undefined) client.setDisplayName(displayName);
    if (expectUser !== undefined && expectUser !== p.userId)
      ctx.note(
        `warning: the server enrolled user ${p.userId}, not the admin user ${expectUser} the profile names`,
      );
    const address = formatAddress({ orgId: p.orgId, userId: p.userId });
    const status = client.archiveStatus();
    const keyFingerprint = identityKeyFingerprint(client.identityKey);
    ctx.result(
      [
        `Enrolled in "${p.orgName}" as device ${p.deviceNumber} of ${address}.`,
        `Organisation key fingerprint (pinned): ${p.pinnedFingerprint}`,
        `Device identity key: ${keyFingerprint} ('custos devices list' on your other devices shows the same)`,
        `Profile: ${dir} (${keyProtection.kind === 'file' ? 'unattended: protected by file permissions' : 'passphrase-protected'})`,
        p.captureRequired
          ? `Archiving: required by ${p.orgName}, retention class ${p.retentionClass}${status.refusedBuckets.length > 0 ? ` (${status.refusedBuckets.length} bucket keys refused)` : ''}.`
          : `Archiving: none — ${p.orgName} does not archive (its signed archive policy is none).`,
        `Your address: ${address} — give it to the people you talk to ('custos contacts add NAME ADDRESS').`,
      ],
      {
        profile: dir,
        address,
        orgId: p.orgId,
        orgName: p.orgName,
        userId: p.userId,
        deviceId: p.deviceId,
        deviceNumber: p.deviceNumber,
        identityKeyFingerprint: keyFingerprint,
        signingKeyFingerprint: p.pinnedFingerprint,
        retentionClass: p.retentionClass,
        protection: keyProtection.kind,
        refusedBuckets: status.refusedBuckets.length,
      },
    );
  } finally {
    await client.close();
  }
}

/** Runs `custos enroll`. */
export function runEnroll(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({ name: 'enroll', usage: USAGE, flags: FLAGS, maxPositionals: 1 }, args, io, enroll);
}
