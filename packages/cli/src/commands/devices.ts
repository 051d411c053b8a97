/**
 * `custos devices list|revoke`: the devices of your own user. An admin profile reads the
 * server's device list; any other profile learns its user's current devices from the
 * prekey-bundle route (the server has no own-devices route yet; docs/client.md §9).
 * Revoking needs the admin role on the server today.
 */
import type { CliIo } from '../cli.js';
import { UsageError } from '../command-flags.js';
import { formatAddress } from '../address-book.js';
import { CliFailure, runCommand, type CommandContext } from '../command-runner.js';
import { formatTime } from '../message-format.js';
import { PROFILE_FLAGS, PROFILE_OPTIONS_HELP, withProfile } from '../profile-access.js';

const USAGE = `Usage: custos devices list
       custos devices revoke DEVICE

The devices of your user. 'list' marks this device; 'revoke' revokes another of your
devices by id (or a unique prefix of it) so it can no longer log in — the server allows
that to administrators only for now; others ask an administrator ('custos admin revoke').

${PROFILE_OPTIONS_HELP}`;

interface Row {
  readonly deviceId: string;
  readonly deviceNumber: number;
  readonly createdAt: number | null;
  readonly revokedAt: number | null;
  readonly thisDevice: boolean;
}

async function devices(ctx: CommandContext): Promise<void> {
  const [sub, target] = ctx.positionals;
  if (sub !== 'list' && sub !== 'revoke')
    throw new UsageError(
      sub === undefined
        ? 'a subcommand is needed: list, revoke'
        : `unknown subcommand '${sub}'; available: list, revoke`,
    );
  if (sub === 'list' && target !== undefined) throw new UsageError(`unexpected argument '${target}'`);
  if (sub === 'revoke' && target === undefined)
    throw new UsageError("the DEVICE id is missing ('custos devices list' shows them)");
  await withProfile(ctx, async (client) => {
    const me = client.profile;
    const session = await client.session();
    let rows: Row[];
    if (session.role === 'admin') {
      rows = (await client.admin().devices(me.userId)).map((d) => ({
        deviceId: d.deviceId,
        deviceNumber: d.deviceNumber,
        createdAt: d.createdAt,
        revokedAt: d.revokedAt,
        thisDevice: d.deviceId === me.deviceId,
      }));
    } else {
      rows = (await client.presentedIdentities(client.me)).map((d) => ({
        deviceId: d.deviceId,
        deviceNumber: d.deviceNumber,
        createdAt: null,
        revokedAt: null,
        thisDevice: d.deviceId === me.deviceId,
      }));
    }
    if (sub === 'list') {
      return ctx.result(
        [
          `Devices of ${formatAddress(client.me)}:`,
          ...rows.map(
            (d) =>
              `  ${d.deviceId}  #${d.deviceNumber}${d.createdAt === null ? '' : `  enrolled ${formatTime(d.createdAt)}`}` +
              `${d.revokedAt === null ? '' : `  REVOKED ${formatTime(d.revokedAt)}`}${d.thisDevice ? '  (this device)' : ''}`,
          ),
        ],
        { address: formatAddress(client.me), devices: rows },
      );
    }
    const hits = rows.filter((d) => d.deviceId.startsWith(target!));
    if (hits.length !== 1)
      throw new CliFailure(
        hits.length === 0 ? 'DEVICE_NOT_FOUND' : 'DEVICE_AMBIGUOUS',
        hits.length === 0
          ? `you have no device '${target}': 'custos devices list' shows them`
          : `'${target}' matches ${hits.length} devices: give more of the id`,
      );
    const d = hits[0]!;
    if (d.thisDevice)
      throw new CliFailure(
        'REVOKE_SELF',
        'that is this device: revoke it from another device, or ask an administrator',
      );
    if (session.role !== 'admin')
      throw new CliFailure(
        'ROLE_FORBIDDEN',
        `the server lets only administrators revoke devices: ask one to run 'custos admin revoke ${d.deviceId}'`,
      );
    const at = await client.admin().revokeDevice(d.deviceId);
    ctx.result(`Revoked device ${d.deviceId} (#${d.deviceNumber}).`, { deviceId: d.deviceId, revokedAt: at });
  });
}

/** Runs `custos devices …`. */
export function runDevices(args: readonly string[], io: CliIo): Promise<number> {
  return runCommand(
    { name: 'devices', usage: USAGE, flags: PROFILE_FLAGS, maxPositionals: 2 },
    args,
    io,
    devices,
  );
}
