/**
 * `custos devices list|link|revoke|retire`: the devices of your own user, for any role, over
 * the server's own-device routes (`GET /v1/devices`, link codes, `POST /v1/devices/:id/revoke`,
 * `POST /v1/devices/retire`). Retiring uploads the device's archive queue first and refuses
 * while records remain un-uploaded, unless --force; revoking another device grants it no
 * archive hand-in window unless --allow-hand-in (docs/threat-model.md, "Revoked devices and
 * their archive queue").
 * A link code enrols a new device exactly as an administrator's enrolment code does, so the
 * new device pins the same organisation key; the identity-key fingerprints `list` prints let
 * the user check, on both devices, that the server linked the device they hold.
 */
import { createHash } from 'node:crypto';
import type { OwnDevice } from '@custos/client';
import type { CliIo } from '../cli.js';
import { optionalString, UsageError } from '../command-flags.js';
import { formatAddress } from '../address-book.js';
import { CliFailure, runCommand, type CommandContext } from '../command-runner.js';
import { handInWindowJson, handInWindowText, strandedByRetirementText } from '../hand-in-text.js';
import { formatTime } from '../message-format.js';
import { PROFILE_FLAGS, PROFILE_OPTIONS_HELP, withProfile } from '../profile-access.js';

/** Shortest and longest link-code lifetime, in seconds (the server's limits). */
const LINK_TTL_MIN_SECONDS = 60;
const LINK_TTL_MAX_SECONDS = 60 * 60;
/** The server's default link-code lifetime, in minutes (for the help text). */
const LINK_TTL_DEFAULT_MINUTES = 10;

const SUBCOMMANDS = ['list', 'link', 'revoke', 'retire'] as const;

const USAGE = `Usage: custos devices list
       custos devices link [--ttl SECONDS]
       custos devices revoke DEVICE [--allow-hand-in]
       custos devices retire [--force]

The devices of your own user (any role may use these).
  list      every device of your user: id, number, when enrolled or revoked, and the
            fingerprint of its identity key; '(this device)' marks the one you are using
  link      prints a one-time link code and the 'custos enroll' line to run on the new
            device; it becomes another device of your user and receives your messages and
            copies of what you send. Keep the code secret: whoever enrols with it first
            becomes one of your devices. Then compare 'custos devices list' on both devices:
            the new device's fingerprint must be the same on each
  revoke    revokes another of your devices (a lost phone) by id or a unique prefix of it:
            it is refused from its next request on and cannot log in. What it had not
            uploaded to the archive is then lost to the archive (your records officer sees
            the gap). A device you still hold should rather retire itself ('custos devices
            retire' there), which uploads first
  retire    revokes the device you are using (you stop using it): first uploads its archive
            queue, and refuses while records remain that it could not upload
            (ARCHIVE_NOT_UPLOADED, naming them) unless --force; it then says which records
            it strands, and your records officer sees them

  --ttl SECONDS           link: how long the code stays valid (${LINK_TTL_MIN_SECONDS}–${LINK_TTL_MAX_SECONDS}; default ${LINK_TTL_DEFAULT_MINUTES} minutes)
  --allow-hand-in         revoke: let the device still upload the archive records it sealed
                          before, for the server's hand-in window ('custos sync' on it). Only
                          when the device is in your hands and has records queued (better:
                          'custos devices retire' on it); never for a lost or stolen one:
                          whoever holds it could upload in your name until the window closes
  --force                 retire: retire even though archive records could not be uploaded
${PROFILE_OPTIONS_HELP}`;

const FLAGS = { ...PROFILE_FLAGS, ttl: 'string', force: 'boolean', 'allow-hand-in': 'boolean' } as const;

/** The fingerprint of a device identity key as `devices list` shows it: base64url SHA-256 of its 33 bytes. */
export function identityKeyFingerprint(identityKey: Uint8Array): string {
  return createHash('sha256').update(identityKey).digest('base64url');
}

/** One row of `devices list --json`. */
interface DeviceRow {
  readonly deviceId: string;
  readonly deviceNumber: number;
  readonly createdAt: number;
  readonly revokedAt: number | null;
  readonly thisDevice: boolean;
  readonly identityKey: string;
  readonly identityKeyFingerprint: string;
}

function row(d: OwnDevice): DeviceRow {
  return {
    deviceId: d.deviceId,
    deviceNumber: d.deviceNumber,
    createdAt: d.createdAt,
    revokedAt: d.revokedAt,
    thisDevice: d.current,
    identityKey: Buffer.from(d.identityKey).toString('base64url'),
    identityKeyFingerprint: identityKeyFingerprint(d.identityKey),
  };
}

function describeRow(d: DeviceRow): string {
  const state = d.revokedAt === null ? '' : `  REVOKED ${formatTime(d.revokedAt)}`;
  return (
    `  #${d.deviceNumber}  ${d.deviceId}  enrolled ${formatTime(d.createdAt)}${state}` +
    `${d.thisDevice ? '  (this device)' : ''}\n      key ${d.identityKeyFingerprint}`
  );
}

/** The --ttl value in seconds, or undefined for the server's default. */
function linkTtl(ctx: CommandContext): number | undefined {
  const v = optionalString(ctx.flags, 'ttl');
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < LINK_TTL_MIN_SECONDS || Number(v) > LINK_TTL_MAX_SECONDS)
    throw new UsageError(
      `--ttl must be a number of seconds from ${LINK_TTL_MIN_SECONDS} to ${LINK_TTL_MAX_SECONDS}`,
    );
  return Number(v);
}

async function list(ctx: CommandContext): Promise<void> {
  await withProfile(ctx, async (client) => {
    const rows = (await client.myDevices()).map(row);
    const address = formatAddress(client.me);
    ctx.result([`Devices of ${address}:`, ...rows.map(describeRow)], { address, devices: rows });
  });
}

async function link(ctx: CommandContext, ttlSeconds: number | undefined): Promise<void> {
  await withProfile(ctx, async (client) => {
    const code = await client.linkCode(ttlSeconds === undefined ? {} : { ttlSeconds });
    const server = client.profile.serverUrl;
    const enrollCommand = `custos enroll ${code.code} --server ${server}`;
    ctx.result(
      [
        `Link code for a new device of ${formatAddress(client.me)} (one use, expires ${formatTime(code.expiresAt)} UTC;`,
        'keep it secret — whoever enrols with it first becomes one of your devices):',
        `  ${code.code}`,
        'On the new device, run:',
        `  ${enrollCommand}`,
        "Then run 'custos devices list' on both devices: the new device's key fingerprint must match.",
      ],
      { code: code.code, expiresAt: code.expiresAt, server, enrollCommand },
    );
  });
}

async function revoke(ctx: CommandContext, target: string, allowHandIn: boolean): Promise<void> {
  await withProfile(ctx, async (client) => {
    const hits = (await client.myDevices()).filter((d) => d.deviceId.startsWith(target));
    if (hits.length !== 1)
      throw new CliFailure(
        hits.length === 0 ? 'DEVICE_NOT_FOUND' : 'DEVICE_AMBIGUOUS',
        hits.length === 0
          ? `you have no device '${target}': 'custos devices list' shows them`
          : `'${target}' matches ${hits.length} of your devices: give more of the id`,
      );
    const d = hits[0]!;
    if (d.current)
      throw new CliFailure(
        'REVOKE_SELF',
        `${d.deviceId} is the device you are using: retire it ('custos devices retire', which uploads ` +
          `its archive first), revoke it from another of your devices ('custos devices revoke ${d.deviceId}' ` +
          "there), or ask an administrator ('custos admin revoke')",
      );
    if (d.revokedAt !== null)
      throw new CliFailure(
        'DEVICE_ALREADY_REVOKED',
        `device ${d.deviceId} (#${d.deviceNumber}) was already revoked on ${formatTime(d.revokedAt)} UTC`,
      );
    const { revokedAt, handInUntil } = await client.revokeMyDevice(d.deviceId, { allowHandIn });
    ctx.result(`Revoked device ${d.deviceId} (#${d.deviceNumber}): ${handInWindowText(handInUntil)}`, {
      deviceId: d.deviceId,
      deviceNumber: d.deviceNumber,
      revokedAt,
      ...handInWindowJson(handInUntil),
    });
  });
}

async function retire(ctx: CommandContext): Promise<void> {
  const force = ctx.flags.has('force');
  await withProfile(ctx, async (client) => {
    ctx.note('custos devices retire: uploading the archive queue first…');
    const r = await client.retire({ force });
    const lines = [
      `Retired this device ${client.profile.deviceId} (#${client.profile.deviceNumber}): it can no longer log in, send or receive.`,
      `Archive: ${r.uploaded} record(s) uploaded first.`,
      ...(r.stranded === undefined
        ? ['Every record this device captured was uploaded to the archive.']
        : [strandedByRetirementText(r.stranded)]),
    ];
    ctx.result(lines, {
      deviceId: client.profile.deviceId,
      revokedAt: r.revokedAt,
      uploaded: r.uploaded,
      stranded: r.stranded ?? null,
    });
  });
}

async function devices(ctx: CommandContext): Promise<void> {
  const [sub, target] = ctx.positionals;
  if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub))
    throw new UsageError(
      sub === undefined
        ? `a subcommand is needed: ${SUBCOMMANDS.join(', ')}`
        : `unknown subcommand '${sub}'; available: ${SUBCOMMANDS.join(', ')}`,
    );
  if (sub !== 'link' && ctx.flags.has('ttl'))
    throw new UsageError(`--ttl does not apply to 'devices ${sub}'`);
  if (sub !== 'retire' && ctx.flags.has('force'))
    throw new UsageError(`--force does not apply to 'devices ${sub}'`);
  if (sub !== 'revoke' && ctx.flags.has('allow-hand-in'))
    throw new UsageError(`--allow-hand-in does not apply to 'devices ${sub}'`);
  if (sub === 'revoke') {
    if (target === undefined)
      throw new UsageError("the DEVICE id is missing ('custos devices list' shows them)");
    return revoke(ctx, target, ctx.flags.has('allow-hand-in'));
  }
  if (target !== undefined) throw new UsageError(`unexpected argument '${target}'`);
  if (sub === 'retire') return retire(ctx);
  return sub === 'list' ? list(ctx) : link(ctx, linkTtl(ctx));
}

/** Runs `custos devices …`. */
export function runDevices(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand({ name: 'devices', usage: USAGE, flags: FLAGS, maxPositionals: 2 }, args, io, devices);
}
